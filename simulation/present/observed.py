"""Observed series drawn beside the simulated ones, each marked as fitted or held out.

Every observed series the plots know is one :class:`ObservedSeries` in
:data:`OBSERVED`: its name, its words, where it comes from, how to load it
(monthly values indexed by ``'YYYY-MM'``, ``None`` when its data file is not
there) and which simulated columns it is comparable with. To plug in another
series (IRCC's monthly claims by office type, when ``data/ircc_claims_monthly.csv``
and its columns exist), add one entry with :func:`register`; every history plot
and every comparison plot of a matching outcome then draws it, with months
the calibration used (``[scenario] calibrated_on``) drawn as filled dots and
months held out as open ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..calendar import parse_date
from ..files import save_figure
from .plots import draw_markers, frame_months, month_dates, plt, style_time_axis, title


@dataclass(frozen=True)
class ObservedSeries:
    """A monthly observed series and the simulated series it is comparable with."""

    name: str
    label: str  #: words for legends and titles
    short: str  #: the part that tells it from the others of its group, e.g. 'Quebec'
    source: str  #: the data file (and publisher)
    load: Callable[[], pd.Series | None]  #: monthly values, index 'YYYY-MM'; None if the data are not there
    columns: tuple[str, ...]  #: simulated columns added up ...
    minus: tuple[str, ...] = ()  #: ... minus these
    outcome: str | None = None  #: the summary outcome (simulation.core.columns) it can be drawn on, if any

    def simulated(self, monthly: pd.DataFrame) -> pd.Series:
        v = monthly[list(self.columns)].sum(axis=1)
        if self.minus:
            v = v - monthly[list(self.minus)].sum(axis=1)
        return v


def _rcmp(column: str | None) -> Callable[[], pd.Series]:
    def load() -> pd.Series:
        from ..experiments.validation import observed_locations

        obs = observed_locations()
        if column is None:  # Canada: both parts observed
            return (obs["quebec"] + obs["rest_of_canada"]).dropna()
        return obs[column].dropna()

    return load


OBSERVED: list[ObservedSeries] = [
    ObservedSeries("rcmp_quebec", "RCMP interceptions between ports, Quebec", "Quebec", "RCMP, data/rcmp_interceptions_monthly.csv",
                   _rcmp("quebec"), ("interceptions_quebec",)),
    ObservedSeries("rcmp_rest_of_canada", "RCMP interceptions between ports, rest of Canada", "rest of Canada",
                   "RCMP, data/rcmp_interceptions_monthly.csv", _rcmp("rest_of_canada"), ("interceptions",),
                   ("interceptions_quebec",)),
    ObservedSeries("rcmp_canada", "RCMP interceptions between ports, Canada", "Canada", "RCMP, data/rcmp_interceptions_monthly.csv",
                   _rcmp(None), ("interceptions",), outcome="interceptions"),
]


def register(series: ObservedSeries) -> None:
    """Add an observed series (replacing one of the same name)."""
    OBSERVED[:] = [s for s in OBSERVED if s.name != series.name] + [series]


def available(monthly_columns=None, outcome: str | None = None) -> list[tuple[ObservedSeries, pd.Series]]:
    """The observed series whose data are there (and whose simulated columns exist), with their values.

    ``outcome``: only those drawn on that summary outcome. Without it: those with no outcome (the detailed
    ones, e.g. Quebec and the rest of Canada), for history plots.
    """
    out = []
    for s in OBSERVED:
        if (s.outcome != outcome) if outcome is not None else s.outcome is not None:
            continue
        if monthly_columns is not None and not set(s.columns + s.minus) <= set(monthly_columns):
            continue
        try:
            values = s.load()
        except FileNotFoundError:
            values = None
        if values is not None and len(values):
            out.append((s, values))
    return out


def fitted_months(scenario) -> set[str]:
    """The months the scenario's behaviour was fitted to (``[scenario] calibrated_on``); empty if none."""
    fit = getattr(scenario.scenario, "calibrated_on", None)
    if not fit:
        return set()
    from ..experiments.calibration import parse_fit

    return set(parse_fit(fit))


def draw_observed(ax, values: pd.Series, fitted: set[str], first: str, last: str, colour: str = "#000000",
                  label: str = "observed") -> None:
    """Observed months as dots: filled if the calibration used them, open if held out."""
    v = values[(values.index >= first) & (values.index <= last)]
    if not len(v):
        return
    used = [m in fitted for m in v.index]
    d = month_dates(v.index)
    fit_x = [x for x, u in zip(d, used) if u]
    out_x = [x for x, u in zip(d, used) if not u]
    if fit_x:
        ax.scatter(fit_x, [y for y, u in zip(v.values, used) if u], s=16, color=colour, zorder=4,
                   label=f"{label}, month used in the fit")
    if out_x:
        ax.scatter(out_x, [y for y, u in zip(v.values, used) if not u], s=16, facecolor="white", edgecolor=colour,
                   lw=1.1, zorder=4, label=f"{label}, held out (not used in the fit)" if fitted else label)


def fit_words(fit: str | None) -> str:
    """'2017-01:2019-12,2021-12:2022-12' -> 'Jan 2017 to Dec 2019 and Dec 2021 to Dec 2022'."""
    if not fit:
        return ""
    spans = []
    for part in fit.split(","):
        lo, _, hi = part.strip().partition(":")
        spans.append(f"{parse_date(lo):%b %Y} to {parse_date(hi or lo):%b %Y}")
    return " and ".join(spans)


def common_label(series) -> str:
    """The words the series' labels share ('RCMP interceptions between ports'), or a generic heading."""
    heads = {s.label[: -len(s.short)].rstrip(", ") if s.label.endswith(s.short) else s.label for s in series}
    return heads.pop() if len(heads) == 1 else "Observed series"


def observed_figure(panels, markers, path: Path, heading: str, subtitle: str, fitted: set[str], months: list[str],
                    band: bool = False) -> list[Path]:
    """Panels of (series, observed values, simulated frame with p05/p50/p95 by month) drawn one above the other."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.9 * len(panels) + 1.0), sharex=True, squeeze=False)
    for ax, (s, values, q) in zip(axes[:, 0], panels):
        d = month_dates(q.index)
        if band:
            ax.fill_between(d, q["p05"], q["p95"], color="#0072B2", alpha=0.18, lw=0, label="simulated, 5–95% band")
        ax.plot(d, q["p50"], color="#0072B2", lw=1.6, label="simulated, median" if band else "simulated")
        draw_observed(ax, values, fitted, months[0], months[-1], label=f"observed ({s.source.split(',')[0]})")
        frame_months(ax, months)
        style_time_axis(ax, f"{s.short}\npersons per month")
    handles, labels = [], []
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.07 if len(panels) > 1 else 0.12, 1, 1))
    last = parse_date(months[-1]).replace(day=28)
    rows = draw_markers(axes[0, 0], [m for m in markers if m.day <= last])
    for ax in axes[1:, 0]:
        draw_markers(ax, markers, how="lines")
    title(axes[0, 0], heading, subtitle, rows)
    return save_figure(fig, path)


def observed_plot(monthly: pd.DataFrame, scenario, markers, path: Path, name: str) -> list[Path]:
    """One panel per observed series: the simulated run (line) and the observations (dots); nothing if none overlap."""
    months = list(monthly["month"])
    series = [(s, v) for s, v in available(monthly.columns)
              if ((v.index >= months[0]) & (v.index <= months[-1])).any()]
    if not series:
        return []
    fitted = fitted_months(scenario)
    obs_last = max(v.index.max() for _, v in series)
    shown = [m for m in months if m <= max(obs_last, months[0])]
    sim = monthly.set_index("month")
    panels = [(s, v, pd.DataFrame({"p50": s.simulated(sim).reindex(shown)})) for s, v in series]
    fit = getattr(scenario.scenario, "calibrated_on", None)
    sub = (f"One run. Filled dots: months the behaviour was fitted to ({fit_words(fit)}); open dots: held out. "
           if fit else "One run. The behaviour was not fitted to these observations. ") + \
        "Gaps: months nobody published."
    return observed_figure(panels, markers, path, f"{common_label([s for s, _ in series])}: observed and simulated, {name}",
                           sub, fitted, shown)
