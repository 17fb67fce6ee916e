"""Plots comparing options: paired differences, time series with bands, outcomes, routes, shelters, observed.

Every figure lists the options in one order (the reference first, marked
"(reference)"), gives each option its colour from :mod:`.style`, says in its
subtitle how many replications it summarises and what the bands are, and
marks policy changes with dated labels in words (:func:`.plots.draw_markers`).
Medians are lines, 5–95% bands are shaded; the months before the options
differ are drawn once, in grey (all options are identical there: same
people, same random draws).

How a series is drawn depends on what it is (:data:`SHOWN_AS`): monthly by
default; returns by quarter (monthly returns are too sparse to read);
expected deaths as a cumulative risk index (reference = 100), never as
fractional persons.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..calendar import parse_date, shift_month
from ..experiments.summary import MIN_REPS, MIN_REPS_FOR_INTERVAL
from ..core.columns import COLUMN_BY_NAME, HEADLINE, OUTCOME_BY_NAME, OUTCOMES, monthly_unit
from ..files import save_figure
from .observed import available, common_label
from .plots import (ROUTE_COLUMNS, Marker, draw_markers, draw_observed, figure_frame, frame_months, marker_key,
                    month_dates, observed_figure, plt, shelter_plot, style_time_axis, title)
from .style import ROUTE_COLOURS, SHARED_GREY, AxisFormat, dash, option_label, percent, signed

#: How an outcome's series is drawn over time, when not month by month.
SHOWN_AS = {"returns": "quarter", "deaths_expected": "risk_index"}
#: The caveat printed on every figure of expected deaths.
RISK_CAVEAT = ("Risk index: crossings between ports weighted by an assumed risk per crossing (higher in winter), "
               "the reference's total = 100.\nIt ranks exposure to danger; it is not a count or a forecast of deaths.")


@dataclass
class Ensemble:
    """What the comparison figures draw: each option's replications, in display order, and how to mark them."""

    per_scenario: dict[str, pd.DataFrame]  #: option -> monthly rows of all its replications (column ``rep``)
    reference: str
    n_reps: int
    scale: float
    start_month: str  #: first month drawn
    diverge_month: str | None  #: first month the options may differ
    markers: list[Marker] = field(default_factory=list)
    colours: dict[str, str] = field(default_factory=dict)
    fitted: set[str] = field(default_factory=set)  #: months the behaviour was fitted to
    window_text: str = ""  #: the summary window in words, e.g. "25 Mar 2023 to Dec 2025"
    posterior: bool = False  #: each replication drew its parameter set from a posterior

    @property
    def names(self) -> list[str]:
        return list(self.per_scenario)

    def label(self, name: str) -> str:
        return option_label(name, self.reference)

    def quantiles(self, name: str, outcome: str, how: str, start: str) -> pd.DataFrame:
        """5th, 50th and 95th percentiles over replications of an outcome's series (computed once per figure set)."""
        key = (name, outcome, how, start)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            df = self.per_scenario[name]
            cache[key] = _quantiles(series_values(df[df["month"] >= start], OUTCOME_BY_NAME[outcome].columns, how))
        return cache[key]

    def note(self, what: str = "bands") -> str:
        """The line every ensemble figure carries: how many replications, at what scale, and what the bands are.

        ``what``: "bands" (median lines, 5-95% bands), "intervals" (paired differences), "bars" (levels),
        "pooled" (shares over all replications).
        """
        n = self.n_reps
        head = f"{n} replication{'s' if n != 1 else ''} per option at {self.scale:.1%} of people (counts scaled up)"
        if n < MIN_REPS_FOR_INTERVAL:
            return head + ": a single run, no interval can be drawn; do not quote."
        tail = {
            "bands": "Lines: median; bands: 5th–95th percentile over replications",
            "intervals": "Dots: mean; lines: 5th–95th percentile of the paired differences",
            "bars": "Bars: mean; whiskers: 5th–95th percentile over replications",
            "pooled": "Shares over all replications",
            "medians": "Medians over replications",
        }[what]
        warn = " Too few replications to trust the intervals." if n < MIN_REPS else ""
        cover = "" if what == "pooled" else (" (fitted parameters drawn from the posterior, and random draws)"
                                             if self.posterior else " (random draws only, not parameter uncertainty)")
        return f"{head}. {tail}{cover}.{warn}"


def series_values(monthly: pd.DataFrame, columns, how: str = "month") -> pd.DataFrame:
    """Periods x replications: the columns added up, by month, by quarter, or accumulated over months."""
    v = monthly[list(columns)].sum(axis=1)
    frame = pd.DataFrame({"rep": monthly["rep"], "month": monthly["month"], "v": v})
    if how == "quarter":
        m = frame["month"]
        frame["month"] = m.str[:5] + ((m.str[5:7].astype(int) - 1) // 3 * 3 + 1).map("{:02d}".format)
    grouped = frame.groupby(["month", "rep"], sort=True)["v"]
    wide = grouped.sum().unstack("rep")
    if how == "quarter":  # a quarter is drawn only if all its months are there
        wide = wide[grouped.size().unstack("rep").min(axis=1) == 3]
    if how in ("cumulative", "risk_index"):
        wide = wide.cumsum()
    return wide


def _quantiles(wide: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"p05": wide.quantile(0.05, axis=1), "p50": wide.quantile(0.5, axis=1),
                         "p95": wide.quantile(0.95, axis=1)})


def _period_dates(index, how: str):
    if how == "quarter":
        return [parse_date(m).replace(day=1) + pd.Timedelta(days=45) for m in index]
    return month_dates(index)


def draw_outcome(ax, ens: Ensemble, outcome: str, legend: bool = True) -> str:
    """Median lines and bands of one outcome for every option; returns the y-axis label."""
    o = OUTCOME_BY_NAME[outcome]
    how = SHOWN_AS.get(outcome, "month")
    start = ens.diverge_month if how == "risk_index" and ens.diverge_month else ens.start_month
    scale_by = 1.0
    if how == "risk_index":
        total = float(ens.quantiles(ens.reference, outcome, how, start)["p50"].iloc[-1])
        scale_by = 100.0 / total if total > 0 else 1.0
    for i, name in enumerate(ens.names):
        q = ens.quantiles(name, outcome, how, start) * scale_by
        if ens.diverge_month and how != "risk_index":
            cut = ens.diverge_month if how == "month" else _quarter_of(ens.diverge_month)
            if i == 0:
                shared = q[q.index <= cut]
                d = _period_dates(shared.index, how)
                if ens.n_reps >= MIN_REPS_FOR_INTERVAL:
                    ax.fill_between(d, shared["p05"], shared["p95"], color=SHARED_GREY, alpha=0.18, lw=0)
                ax.plot(d, shared["p50"], color=SHARED_GREY, lw=1.6, marker="o" if how == "quarter" else None, ms=3,
                        label="all options (identical before they take effect)")
            q = q[q.index >= cut]
        d = _period_dates(q.index, how)
        c = ens.colours[name]
        if ens.n_reps >= MIN_REPS_FOR_INTERVAL:
            ax.fill_between(d, q["p05"], q["p95"], color=c, alpha=0.14, lw=0)
        ref = name == ens.reference
        ax.plot(d, q["p50"], color=c, lw=2.4 if ref else 1.6, ls=dash(name, ens.names),
                marker="o" if how == "quarter" else None, ms=3, label=ens.label(name), zorder=3 if ref else 2)
    for s, values in available(outcome=outcome):
        first, last = ens.start_month, max(df["month"].max() for df in ens.per_scenario.values())
        draw_observed(ax, values, ens.fitted, first, last, label=f"observed ({s.source.split(',')[0]})")
    frame_months(ax, sorted(ens.per_scenario[ens.reference]["month"].unique()))
    ax.set_xlim(left=parse_date(shift_month(start, -3) if how == "risk_index" and start != ens.start_month
                                else ens.start_month))
    if how == "quarter":
        return f"{o.unit} per quarter"
    if how == "risk_index":
        return "risk index (reference total = 100)"
    unit = monthly_unit(o)
    return {"CAD per month": "dollars (CAD) per month", "months": "months"}.get(unit, unit)


def _quarter_of(month: str) -> str:
    m = int(month[5:7])
    return f"{month[:5]}{(m - 1) // 3 * 3 + 1:02d}"


def _money(outcome: str) -> bool:
    return OUTCOME_BY_NAME[outcome].unit == "CAD"


def outcome_title(outcome: str) -> str:
    """Words for an outcome drawn over time (a backlog's series, not its value at the end of a window)."""
    how = SHOWN_AS.get(outcome)
    o = OUTCOME_BY_NAME[outcome]
    if how == "quarter":
        return f"{o.label}, by quarter"
    if how == "risk_index":
        return "Risk of death crossing between ports, accumulated since the options took effect"
    return COLUMN_BY_NAME[o.columns[0]].label if len(o.columns) == 1 else o.label


def summary_title(outcome: str) -> str:
    """Words for an outcome summarised over a window."""
    return "Risk of death crossing between ports" if SHOWN_AS.get(outcome) == "risk_index" else \
        OUTCOME_BY_NAME[outcome].label


def timeseries_plot(ens: Ensemble, outcome: str, out_dir: Path) -> list[Path]:
    """One outcome over time, every option; file ``timeseries_<outcome>``."""
    risk = SHOWN_AS.get(outcome) == "risk_index"
    fig, ax = plt.subplots(figsize=(10, 5.2 if risk else 4.8))
    ylabel = draw_outcome(ax, ens, outcome)
    style_time_axis(ax, ylabel, money=_money(outcome))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3)
    if risk:
        ax.text(0, -0.27, RISK_CAVEAT, transform=ax.transAxes, fontsize=8.5, color="0.15", va="top",
                bbox={"facecolor": "#fff4d6", "edgecolor": "#E69F00", "boxstyle": "round,pad=0.4"})
    fig.tight_layout()
    rows = draw_markers(ax, ens.markers)
    title(ax, outcome_title(outcome), ens.note(), rows)
    return save_figure(fig, out_dir / f"timeseries_{outcome}")


def overview(ens: Ensemble, out_dir: Path, metrics=HEADLINE) -> list[Path]:
    """One page: the headline outcomes over time, one colour per option, policy changes numbered."""
    n = len(metrics)
    nrows = -(-n // 2)
    fig, axes = plt.subplots(nrows, 2, figsize=(13, 3.3 * nrows + 2.6), sharex=True, squeeze=False)
    for ax, key in zip(axes.ravel(), metrics):
        ylabel = draw_outcome(ax, ens, key)
        style_time_axis(ax, ylabel, money=_money(key))
        ax.set_title(outcome_title(key), loc="left", fontsize=10, pad=14)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    h = fig.get_figheight()
    fig.legend(handles, labels, loc="lower left", ncol=4, frameon=False, fontsize=9, bbox_to_anchor=(0.01, 0.95 / h))
    figure_frame(fig, "Options compared: headline outcomes over time", ens.note(), footer_in=1.35)
    for ax in axes.ravel()[:n]:
        draw_markers(ax, ens.markers, how="numbers")
    marker_key(fig, ens.markers, y=0.5 / h)
    if "deaths_expected" in metrics:
        fig.text(0.1 / fig.get_figwidth(), 0.08 / h, RISK_CAVEAT.replace("\n", " "), fontsize=8, color="0.15",
                 ha="left", va="bottom")
    return save_figure(fig, out_dir / "overview")


def differences_plot(differences: pd.DataFrame, summary: pd.DataFrame, ens: Ensemble, window: str, out_dir: Path,
                     metrics=HEADLINE) -> list[Path]:
    """Each option minus the reference, paired replication by replication: mean and 5–95% interval per outcome.

    The words beside each point are those of the report: the change in the outcome's unit and in percent of
    the reference's mean. Expected deaths are shown as the change of the risk index (reference = 100).
    """
    options = [n for n in ens.names if n != ens.reference]
    n = len(metrics)
    nrows = -(-n // 3)
    fig, axes = plt.subplots(nrows, 3, figsize=(14, (0.45 * len(options) + 1.4) * nrows + 1.4), squeeze=False,
                             sharey=True)
    y = np.arange(len(options))[::-1]
    for i, (ax, metric) in enumerate(zip(axes.ravel(), metrics)):
        d = differences[(differences.metric == metric) & (differences.window == window)].set_index("scenario")
        ref_mean = float(summary[(summary.metric == metric) & (summary.window == window)
                                 & (summary.scenario == ens.reference)]["mean"].iloc[0])
        index = SHOWN_AS.get(metric) == "risk_index"
        k = (100.0 / ref_mean if ref_mean else np.nan) if index else 1.0
        for yi, name in zip(y, options):
            r = d.loc[name]
            c = ens.colours[name]
            ends = [r["p05"] * k, r["p95"] * k]
            if index and np.isfinite(r.get("p05_relative", np.nan)) and np.isfinite(r.get("p95_relative", np.nan)):
                ends = [100.0 * r["p05_relative"], 100.0 * r["p95_relative"]]  # paired ratios: never below -100
            if ens.n_reps >= MIN_REPS_FOR_INTERVAL:
                ax.plot(ends, [yi, yi], color=c, lw=2.4, solid_capstyle="butt")
            ax.plot([r["mean"] * k], [yi], "o", color=c, ms=6.5, mec="white", mew=0.8, zorder=3)
            rel = r["mean"] / ref_mean if ref_mean else np.nan
            words = percent(rel) if index else f"{signed(r['mean'], OUTCOME_BY_NAME[metric].unit)} ({percent(rel)})"
            ax.annotate(words, (1.0, yi), xycoords=("axes fraction", "data"), xytext=(4, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=8, color="0.2", annotation_clip=False)
        ax.axvline(0, color="0.2", lw=0.9)
        ax.set_yticks(y, [ens.label(o) for o in options], fontsize=8.5)
        ax.tick_params(axis="y", length=0, labelleft=i % 3 == 0)
        ax.set_ylim(-0.7, len(options) - 0.3)
        ax.xaxis.set_major_formatter(AxisFormat(money=_money(metric)))
        o = OUTCOME_BY_NAME[metric]
        unit = "points of the risk index (reference = 100)" if index else {"CAD": "dollars (CAD)"}.get(o.unit, o.unit)
        ax.set_xlabel(f"option minus reference, {unit}", fontsize=8)
        ax.set_title(summary_title(metric), loc="left", fontsize=9.5)
        ax.grid(axis="x", color="0.92")
        ax.spines[["top", "right", "left"]].set_visible(False)
        lo, hi = ax.get_xlim()
        ax.set_xlim(min(lo, 0), max(hi, 0))
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    figure_frame(fig, f"Difference from {ens.label(ens.reference)}, {ens.window_text}",
                 "Each replication of an option minus the replication of the reference with the same seed (same people, "
                 "same random draws); beside each dot, the mean difference and its percent of the reference's mean.\n"
                 + ens.note("intervals"))
    fig.subplots_adjust(wspace=0.45)
    return save_figure(fig, out_dir / "differences")


def outcome_bars(summary: pd.DataFrame, ens: Ensemble, window: str, out_dir: Path, metrics=HEADLINE) -> list[Path]:
    """Each option's level of the headline outcomes, reference on top, with 5–95% intervals."""
    names = ens.names
    n = len(metrics)
    nrows = -(-n // 3)
    fig, axes = plt.subplots(nrows, 3, figsize=(14, (0.4 * len(names) + 1.3) * nrows + 1.2), squeeze=False, sharey=True)
    y = np.arange(len(names))[::-1]
    for i, (ax, metric) in enumerate(zip(axes.ravel(), metrics)):
        m = OUTCOME_BY_NAME[metric]
        rows = summary[(summary.metric == metric) & (summary.window == window)].set_index("scenario").loc[names]
        k = 1.0
        index = SHOWN_AS.get(metric) == "risk_index"
        if index:
            ref = float(rows.loc[ens.reference, "mean"])
            k = 100.0 / ref if ref else 1.0
        err = np.vstack([rows["mean"] - rows["p05"], rows["p95"] - rows["mean"]]).clip(min=0) * k
        ax.barh(y, rows["mean"] * k, xerr=err if ens.n_reps >= MIN_REPS_FOR_INTERVAL else None, capsize=3, error_kw={"lw": 1},
                color=[ens.colours[n_] for n_ in names], height=0.7)
        ax.set_yticks(y, [ens.label(n_) for n_ in names], fontsize=8.5)
        ax.tick_params(axis="y", length=0, labelleft=i % 3 == 0)
        ax.xaxis.set_major_formatter(AxisFormat(money=_money(metric)))
        ax.set_title(summary_title(metric), loc="left", fontsize=9.5)
        ax.set_xlabel("risk index (reference = 100)" if index else {"CAD": "dollars (CAD)"}.get(m.unit, m.unit),
                      fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="0.92")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    figure_frame(fig, f"Outcomes by option, {ens.window_text}",
                 "Flows are totals over the period; backlogs are at its end. " + ens.note("bars"))
    return save_figure(fig, out_dir / "outcomes")


def route_shares(ens: Ensemble, start_month: str, out_dir: Path) -> list[Path]:
    """How those who moved towards Canada went, per option (share of all attempts, over all replications)."""
    names = ens.names
    shares = []
    for name in names:
        df = ens.per_scenario[name]
        tot = df[df["month"] >= start_month][list(ROUTE_COLUMNS)].sum()
        shares.append(tot / max(tot.sum(), 1e-9))
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(names) + 2.0))
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for col in ROUTE_COLUMNS:
        vals = np.array([s[col] for s in shares])
        c = ROUTE_COLOURS[col]
        ax.barh(y, vals, left=left, color=c, label=COLUMN_BY_NAME[col].label, height=0.7)
        for i, v in enumerate(vals):
            if v > 0.06:
                dark = sum(int(c[k:k + 2], 16) for k in (1, 3, 5)) < 3 * 150
                ax.text(left[i] + v / 2, y[i], f"{v:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        left += vals
    ax.set_yticks(y, [ens.label(n) for n in names], fontsize=9)
    ax.set_xlim(0, 1)
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of people who went towards Canada")
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.16 - 0.25 / len(names)))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    title(ax, f"Routes taken, by option, {ens.window_text}", ens.note("pooled"))
    return save_figure(fig, out_dir / "route_shares")


def shelters(ens: Ensemble, capacity: list[float], out_dir: Path) -> list[Path]:
    """Quebec plus elsewhere, with transfers, one panel per option (see :func:`.plots.shelter_plot`)."""
    return shelter_plot(ens.per_scenario, ens.markers, ens.start_month, out_dir / "shelters",
                        "People in shelters: Quebec and elsewhere (stacked), with transfers out of Quebec",
                        ens.note("medians"),
                        capacity=capacity, colours_of=ens.colours, reference=ens.reference)


def observed_plot(ens: Ensemble, out_dir: Path) -> list[Path]:
    """The history the options share beside every observed series (those not tied to a summary outcome: the
    outcome ones are drawn on that outcome's own figures); nothing if no observed month is drawn."""
    ref = ens.per_scenario[ens.reference]
    months = sorted(ref["month"].unique())
    end = ens.diverge_month or months[-1]
    series = [(s, v) for s, v in available(ref.columns) if ((v.index >= months[0]) & (v.index <= end)).any()]
    if not series:
        return []
    shown = [m for m in months if m <= end]
    panels = []
    for s, values in series:
        wide = ref[ref["month"] <= end].assign(v=lambda f, s=s: s.simulated(f)).pivot_table(
            index="month", columns="rep", values="v", aggfunc="sum")
        panels.append((s, values, _quantiles(wide)))
    fit = ("Filled dots: months the behaviour was fitted to; open dots: held out." if ens.fitted
           else "The behaviour was not fitted to these observations.")
    head = common_label([s for s, _ in series])
    return observed_figure(panels, ens.markers, out_dir / "observed",
                           (f"{head}: observed, and simulated" if head != "Observed series" else "Observed and simulated")
                           + " up to the options",
                           f"{fit} Gaps: months nobody published. " + ens.note(), ens.fitted, shown,
                           band=ens.n_reps >= MIN_REPS_FOR_INTERVAL)


def all_outcomes(ens: Ensemble, out_dir: Path) -> list[Path]:
    """Every outcome declared in simulation.core.columns, small multiples (an outcome declared there appears here)."""
    keys = [o.name for o in OUTCOMES]
    ncols = 4
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(16, 2.7 * nrows + 2.0), sharex=True, squeeze=False)
    for i, (ax, key) in enumerate(zip(axes.ravel(), keys)):
        ylabel = draw_outcome(ax, ens, key)
        style_time_axis(ax, "", money=_money(key))
        ax.set_title(textwrap.fill(outcome_title(key), 46) + f"\n({ylabel})", loc="left", fontsize=8.5)
        ax.tick_params(labelsize=7.5)
        ax.xaxis.set_tick_params(labelbottom=i + ncols >= len(keys))  # years under the lowest panel of each column
    for ax in axes.ravel()[len(keys):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes.ravel()[: len(keys)]:
        for hd, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(hd)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower left", ncol=4, frameon=False, fontsize=9, bbox_to_anchor=(0.005, 0.0))
    figure_frame(fig, "Every outcome over time",
                 ens.note() + " Thin grey lines: policy changes (named in the other figures).", footer_in=0.6)
    for ax in axes.ravel()[: len(keys)]:
        draw_markers(ax, ens.markers, how="lines")
    return save_figure(fig, out_dir / "all_outcomes")
