"""Observed series drawn beside the simulated ones, each marked as fitted or held out.

Every observed series the plots know is one :class:`ObservedSeries` in
:data:`OBSERVED`: its name, its words, where it comes from, how to load it
(monthly values indexed by ``'YYYY-MM'``, ``None`` when its data file is not
there) and which simulated columns it is comparable with. To plug in another
series, add one entry with :func:`register` (the IRCC claims at border offices
below are read from ``data/ircc_claims_monthly.csv`` this way); every history plot
and every comparison plot of a matching outcome then draws it
(:func:`simulation.present.plots.observed_plot`), with months the calibration
used (``[scenario] calibrated_on``) drawn as filled dots and months held out
as open ones. This module draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..calendar import parse_date


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


def _ircc(column: str) -> Callable[[], pd.Series]:
    """IRCC claims by office type and region (data/ircc_claims_monthly.csv), up to the end of the calibration data."""

    def load() -> pd.Series | None:
        from .. import data
        from ..experiments.validation import CALIBRATION_END

        wide = data.ircc_claims_wide()
        if column not in wide:
            return None
        s = wide[column]
        return s[s.index <= CALIBRATION_END].dropna()

    return load


OBSERVED: list[ObservedSeries] = [
    ObservedSeries("rcmp_quebec", "RCMP interceptions between ports, Quebec", "interceptions, Quebec", "RCMP, data/rcmp_interceptions_monthly.csv",
                   _rcmp("quebec"), ("interceptions_quebec",)),
    ObservedSeries("rcmp_rest_of_canada", "RCMP interceptions between ports, rest of Canada", "interceptions,\nrest of Canada",
                   "RCMP, data/rcmp_interceptions_monthly.csv", _rcmp("rest_of_canada"), ("interceptions",),
                   ("interceptions_quebec",)),
    ObservedSeries("ircc_border_quebec", "IRCC claims at border offices, Quebec", "border claims, Quebec",
                   "IRCC, data/ircc_claims_monthly.csv", _ircc("border_quebec"), ("claims_border_quebec",)),
    ObservedSeries("ircc_border_rest", "IRCC claims at border offices, rest of Canada", "border claims,\nrest of Canada",
                   "IRCC, data/ircc_claims_monthly.csv", _ircc("border_rest_of_canada"), ("claims_border_rest",)),
    ObservedSeries("rcmp_canada", "RCMP interceptions between ports, Canada", "interceptions, Canada", "RCMP, data/rcmp_interceptions_monthly.csv",
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
    """A heading for several observed series: what their labels share before the last comma
    ('RCMP interceptions between ports'), or 'Observed series' when they differ."""
    heads = {s.label.rsplit(",", 1)[0] for s in series}
    return heads.pop() if len(heads) == 1 else "Observed series"


