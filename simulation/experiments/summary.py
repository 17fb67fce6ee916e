"""Summaries of an ensemble: outcome metrics per window, their quantiles, and paired differences.

A *metric* reduces one replication's monthly rows over a *window* to a number
(a sum for flows, the last value for backlogs, the maximum for the shelter
peak). ``summary`` gives, per scenario, metric and window, the mean and the
5th, 50th and 95th percentiles over replications. ``differences`` gives the
same for option minus reference, paired replication by replication (both
used the same seed), and, for comparison, the interval one would get from
independent seeds (replication i of the option against replication i+1 of
the reference, which share no seed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scenario import Scenario, parse_date


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    columns: tuple[str, ...]
    how: str  # "sum", "last" or "max"


METRICS: tuple[Metric, ...] = (
    Metric("irregular_crossings", "Irregular crossings (Roxham and elsewhere)", "persons", ("roxham_crossings", "other_irregular_crossings"), "sum"),
    Metric("roxham_crossings", "Crossings at Roxham Road", "persons", ("roxham_crossings",), "sum"),
    Metric("other_irregular_crossings", "Crossings elsewhere between ports", "persons", ("other_irregular_crossings",), "sum"),
    Metric("port_claims", "Claims at land ports", "persons", ("port_claims",), "sum"),
    Metric("air_claims", "Claims after flying in", "persons", ("air_claims",), "sum"),
    Metric("returns", "Returned to the US (turned back, Protocol, direct-back)", "persons",
           ("port_turnbacks", "protocol_returns", "directed_back"), "sum"),
    Metric("protocol_returns", "Returned under the Protocol", "persons", ("protocol_returns",), "sum"),
    Metric("claims_in_canada", "Claims in Canada (from the US)", "persons", ("claims_in_canada",), "sum"),
    Metric("irb_backlog_end", "IRB backlog at the end", "claims", ("irb_backlog",), "last"),
    Metric("irb_wait_end", "IRB expected wait at the end", "months", ("irb_wait_months",), "last"),
    Metric("quebec_shelter_peak", "Peak population in Quebec shelters", "persons", ("quebec_shelter_population",), "max"),
    Metric("reception_cost", "Reception cost", "CAD", ("reception_cost_cad",), "sum"),
    Metric("deaths_expected", "Expected deaths crossing", "persons", ("deaths_expected",), "sum"),
    Metric("us_backlog_end", "US asylum backlog at the end (modelled pool)", "persons", ("us_backlog",), "last"),
    Metric("resettled", "Humanitarian places used", "persons", ("resettled",), "sum"),
    Metric("interceptions", "RCMP interceptions between ports", "persons", ("interceptions",), "sum"),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}
#: The headline metrics of the overview figure and the report table.
HEADLINE = ("irregular_crossings", "returns", "claims_in_canada", "deaths_expected", "irb_backlog_end", "reception_cost")

QUANTILES = (0.05, 0.5, 0.95)


def windows(sc: Scenario) -> dict[str, tuple[str, str]]:
    """Named month windows ('YYYY-MM' inclusive): the whole horizon, and after the policy date if any."""
    out = {"whole_horizon": (sc.time.start, sc.time.end)}
    if sc.scenario.policy_date:
        start = parse_date(sc.scenario.policy_date)
        first = f"{start.year:04d}-{start.month:02d}"
        end12 = dt.date(start.year + (start.month + 10) // 12, (start.month + 10) % 12 + 1, 1)
        out["first_12_months"] = (first, min(f"{end12.year:04d}-{end12.month:02d}", sc.time.end))
        out["after_change"] = (first, sc.time.end)
    return out


def metric_values(monthly: pd.DataFrame, window: tuple[str, str]) -> dict[str, np.ndarray]:
    """Every metric for every replication in ``monthly`` (which has a ``rep`` column), over ``window``."""
    lo, hi = window
    sub = monthly[(monthly["month"] >= lo) & (monthly["month"] <= hi)].sort_values(["rep", "month"])
    out = {}
    for m in METRICS:
        series = sub[list(m.columns)].sum(axis=1)
        g = series.groupby(sub["rep"], sort=True)
        out[m.name] = {"sum": g.sum, "last": g.last, "max": g.max}[m.how]().to_numpy(dtype=float)
    return out


def _stats(values: np.ndarray) -> dict:
    q = np.quantile(values, QUANTILES) if len(values) else [np.nan] * 3
    return {"mean": float(np.mean(values)) if len(values) else np.nan, "p05": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}


def summarise(per_scenario: dict[str, pd.DataFrame], scenarios: list[Scenario], reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, differences) tables from each scenario's replications."""
    ref_sc = next(s for s in scenarios if s.name == reference)
    wins = windows(ref_sc)
    values = {s.name: {w: metric_values(per_scenario[s.name], span) for w, span in wins.items()} for s in scenarios}
    rows, diffs = [], []
    for s in scenarios:
        for w in wins:
            for m in METRICS:
                v = values[s.name][w][m.name]
                rows.append({"scenario": s.name, "metric": m.name, "window": w, "unit": m.unit, **_stats(v)})
                if s.name == reference:
                    continue
                r = values[reference][w][m.name]
                paired = v - r
                unpaired = v - np.roll(r, -1) if len(r) > 1 else paired
                st, su = _stats(paired), _stats(unpaired)
                width, width_unpaired = st["p95"] - st["p05"], su["p95"] - su["p05"]
                if width > 0:
                    ratio = width_unpaired / width
                else:  # every replication gave the same difference: pairing removed all the noise there was
                    ratio = np.inf if width_unpaired > 0 else np.nan
                diffs.append({
                    "scenario": s.name, "reference": reference, "metric": m.name, "window": w, "unit": m.unit, **st,
                    "p05_unpaired": su["p05"], "p95_unpaired": su["p95"],
                    "width_ratio_unpaired_to_paired": ratio,
                })
    diff_columns = ["scenario", "reference", "metric", "window", "unit", "mean", "p05", "p50", "p95",
                    "p05_unpaired", "p95_unpaired", "width_ratio_unpaired_to_paired"]
    return pd.DataFrame(rows), pd.DataFrame(diffs, columns=diff_columns)


def monthly_quantiles(monthly: pd.DataFrame, columns) -> pd.DataFrame:
    """Per month: median and 5-95% band over replications, for each column."""
    g = monthly.groupby("month", sort=True)[list(columns)]
    return pd.concat({"p05": g.quantile(0.05), "p50": g.quantile(0.5), "p95": g.quantile(0.95)}, axis=1)
