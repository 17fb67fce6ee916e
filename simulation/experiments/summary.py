"""Summaries of an ensemble: outcome metrics per window, their quantiles, and paired differences.

An *outcome* (declared in :mod:`simulation.core.columns`) reduces one replication's monthly rows over a *window* to a number
(a sum for flows, the last value for backlogs, the maximum for the shelter
peak). ``summary`` gives, per scenario, metric and window, the mean and the
5th, 50th and 95th percentiles over replications. ``differences`` gives the
same for option minus reference, paired replication by replication (both
used the same seed), and, for comparison, the interval one would get from
independent seeds (replication i of the option against replication i+1 of
the reference, which share no seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..calendar import month_key, parse_date, shift_month
from ..core.columns import OUTCOMES
from ..scenario import Scenario

QUANTILES = (0.05, 0.5, 0.95)


def windows(sc: Scenario) -> dict[str, tuple[str, str]]:
    """Named month windows ('YYYY-MM' inclusive): the whole horizon, and after the policy date if any."""
    out = {"whole_horizon": (sc.time.start, sc.time.end)}
    if sc.scenario.policy_date:
        first = month_key(parse_date(sc.scenario.policy_date))
        out["first_12_months"] = (first, min(shift_month(first, 11), sc.time.end))
        out["after_change"] = (first, sc.time.end)
    return out


def options_take_effect(scenarios: list[Scenario], reference: str) -> str | None:
    """The day a comparison's options start to differ from the reference: the earliest policy date among the options
    (the reference's when no option has one). Options that change the rules in 2026 compared with a reference whose
    own policy date is 2023 are summed from 2026, not from 2023."""
    dates = [s.scenario.policy_date for s in scenarios if s.name != reference and s.scenario.policy_date]
    if dates:
        return min(dates, key=parse_date)
    return next(s for s in scenarios if s.name == reference).scenario.policy_date


def comparison_windows(scenarios: list[Scenario], reference: str) -> dict[str, tuple[str, str]]:
    """The windows of a comparison: those of the reference, dated from the day the options take effect."""
    ref = next(s for s in scenarios if s.name == reference)
    date = options_take_effect(scenarios, reference)
    return windows(ref.model_copy(update={"scenario": ref.scenario.model_copy(update={"policy_date": date})}))


def metric_values(monthly: pd.DataFrame, window: tuple[str, str]) -> dict[str, np.ndarray]:
    """Every metric for every replication in ``monthly`` (which has a ``rep`` column), over ``window``."""
    lo, hi = window
    sub = monthly[(monthly["month"] >= lo) & (monthly["month"] <= hi)].sort_values(["rep", "month"])
    out = {}
    for m in OUTCOMES:
        series = sub[list(m.columns)].sum(axis=1)
        g = series.groupby(sub["rep"], sort=True)
        out[m.name] = {"sum": g.sum, "last": g.last, "max": g.max}[m.how]().to_numpy(dtype=float)
    return out


def _stats(values: np.ndarray) -> dict:
    q = np.quantile(values, QUANTILES) if len(values) else [np.nan] * 3
    return {"mean": float(np.mean(values)) if len(values) else np.nan, "p05": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}


#: Below this many replications an interval is not reported as one (``bordersim compare`` warns below MIN_REPS).
MIN_REPS_FOR_INTERVAL = 3
#: The number of replications a comparison should have for its 90% intervals to settle (see docs/validation.md).
MIN_REPS = 20


def split_spread(values: np.ndarray, sets: list[dict] | None) -> dict:
    """How much of the spread across replications comes from the parameters, and how much from chance.

    With a posterior, replication ``i`` ran parameter set ``i`` with its own seed. A linear fit of the outcome on
    the parameters explains part of its variance (adjusted R^2, ``parameter_share``); what it leaves is chance:
    ``p05_chance``/``p95_chance`` is the median +- 1.645 residual standard deviations. Without a posterior the
    whole spread is chance. Too few replications for the fit: NaN.
    """
    n = len(values)
    if not sets:
        st = _stats(values)
        return {"parameter_share": 0.0, "p05_chance": st["p05"], "p95_chance": st["p95"]}
    keys = [k for k in sets[0] if k != "row"]
    X = np.array([[s[k] for k in keys] for s in sets], dtype=float)[:n]
    k = X.shape[1]
    if n < k + 3 or np.ptp(values) == 0:
        nan = float("nan")
        return {"parameter_share": nan if np.ptp(values) else 0.0, "p05_chance": nan, "p95_chance": nan}
    X = np.column_stack([np.ones(n), (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)])
    coef, *_ = np.linalg.lstsq(X, values, rcond=None)
    resid = values - X @ coef
    ss_res, ss_tot = float(resid @ resid), float(((values - values.mean()) ** 2).sum())
    adj = 1.0 - (ss_res / (n - k - 1)) / (ss_tot / (n - 1))
    sd = np.sqrt(ss_res / (n - k - 1))
    mid = float(np.median(values))
    return {"parameter_share": float(np.clip(adj, 0.0, 1.0)), "p05_chance": mid - 1.645 * sd, "p95_chance": mid + 1.645 * sd}


def summarise(per_scenario: dict[str, pd.DataFrame], scenarios: list[Scenario], reference: str,
              sets: list[dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, differences) tables from each scenario's replications (``sets``: their parameter sets, if any)."""
    wins = comparison_windows(scenarios, reference)
    values = {s.name: {w: metric_values(per_scenario[s.name], span) for w, span in wins.items()} for s in scenarios}
    rows, diffs = [], []
    for s in scenarios:
        for w in wins:
            for m in OUTCOMES:
                v = values[s.name][w][m.name]
                rows.append({"scenario": s.name, "metric": m.name, "window": w, "unit": m.unit, **_stats(v),
                             **split_spread(v, sets), "reps": len(v)})
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
                # the change relative to the same replication's reference: never below -100%, unlike a difference
                # divided by the reference's mean (replications differ, the more so with a posterior)
                rel = v[r > 0] / r[r > 0] - 1.0
                rel_p05, rel_p95 = (np.percentile(rel, [5, 95]) if len(rel) else (np.nan, np.nan))
                diffs.append({
                    "scenario": s.name, "reference": reference, "metric": m.name, "window": w, "unit": m.unit, **st,
                    **split_spread(paired, sets), "reps": len(paired),
                    "p05_unpaired": su["p05"], "p95_unpaired": su["p95"],
                    "width_ratio_unpaired_to_paired": ratio,
                    "p05_relative": rel_p05, "p95_relative": rel_p95,
                })
    diff_columns = ["scenario", "reference", "metric", "window", "unit", "mean", "p05", "p50", "p95",
                    "parameter_share", "p05_chance", "p95_chance", "reps",
                    "p05_unpaired", "p95_unpaired", "width_ratio_unpaired_to_paired", "p05_relative", "p95_relative"]
    return pd.DataFrame(rows), pd.DataFrame(diffs, columns=diff_columns)


def monthly_quantiles(monthly: pd.DataFrame, columns) -> pd.DataFrame:
    """Per month: median and 5-95% band over replications, for each column."""
    g = monthly.groupby("month", sort=True)[list(columns)]
    return pd.concat({"p05": g.quantile(0.05), "p50": g.quantile(0.5), "p95": g.quantile(0.95)}, axis=1)


def convergence(per_scenario: dict[str, pd.DataFrame], scenarios: list[Scenario], reference: str,
                metrics=("irregular_crossings", "returns", "claims_in_canada", "irb_backlog_end")) -> pd.DataFrame:
    """How the 90% interval of each paired difference settles as replications are added: its width with the
    first k replications, for growing k, relative to its width with all of them."""
    wins = comparison_windows(scenarios, reference)
    window = "after_change" if "after_change" in wins else "whole_horizon"
    values = {s.name: metric_values(per_scenario[s.name], wins[window]) for s in scenarios}
    n = len(values[reference][metrics[0]])
    steps = sorted({k for k in (3, 5, 10, 20, 50, 100, 200, 500) if k < n} | {n})
    rows = []
    for s in scenarios:
        if s.name == reference:
            continue
        for m in metrics:
            diff = values[s.name][m] - values[reference][m]
            full = np.quantile(diff, 0.95) - np.quantile(diff, 0.05)
            for k in steps:
                if k < MIN_REPS_FOR_INTERVAL:
                    continue
                w = np.quantile(diff[:k], 0.95) - np.quantile(diff[:k], 0.05)
                rows.append({"scenario": s.name, "metric": m, "window": window, "reps": k, "width": float(w),
                             "width_vs_all": float(w / full) if full > 0 else np.nan})
    return pd.DataFrame(rows, columns=["scenario", "metric", "window", "reps", "width", "width_vs_all"])
