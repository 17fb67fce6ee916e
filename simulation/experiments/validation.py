"""Out-of-sample validation: the calibrated history against observed RCMP interceptions.

Error measures, each over a set of months:

* ARD, the averaged relative difference of Suleimenova, Bell & Groen (2017,
  Sci. Rep. 7:13377), as Flee computes it: for each month, the sum over
  locations of |simulated - observed| divided by the observed total of that
  month (at least 1), then the mean over months. Locations here are Quebec
  and the rest of Canada, where both are observed.
* MAPE: mean of |simulated - observed| / observed over months with observed > 0 (Quebec).
* Annual totals: relative error of the simulated yearly total against the published yearly figure.

The months are split into *fitted* (those the calibration used) and *held
out* (observed but not fitted); the second are the honest test. The plots and
the page of the docs are drawn by :mod:`simulation.present.validation_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import data
from ..files import claim_output_dir, mark_folder, to_csv_bytes, write_atomic
from ..scenario import load_scenario, scenario_from_dict
from .calibration import parse_fit, set_path
from .engine import EnsembleError, replication_seeds
from .ensemble import load_replications, run_ensemble


def ard(sim: pd.DataFrame, obs: pd.DataFrame) -> float:
    """Averaged relative difference: rows are months, columns locations; NaN in ``obs`` = not observed."""
    sim, obs = sim.reindex_like(obs), obs
    rows = obs.dropna(how="all").index
    if len(rows) == 0:
        return float("nan")
    err = []
    for t in rows:
        o = obs.loc[t]
        seen = o.notna()
        err.append(np.abs(sim.loc[t, seen] - o[seen]).sum() / max(o[seen].sum(), 1.0))
    return float(np.mean(err))


def mape(sim: pd.Series, obs: pd.Series) -> float:
    ok = obs.notna() & (obs > 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(np.abs(sim[ok] - obs[ok]) / obs[ok]))


def observed_locations() -> pd.DataFrame:
    """Observed monthly interceptions: columns 'quebec' and 'rest_of_canada' (NaN where not published)."""
    rc = data.rcmp_interceptions()
    q = rc[rc.province == "Quebec"].groupby("month")["interceptions"].sum()
    c = rc[rc.province == "Canada"].groupby("month")["interceptions"].sum()
    df = pd.DataFrame({"quebec": q, "canada": c}).sort_index()
    df["rest_of_canada"] = df["canada"] - df["quebec"]
    return df[["quebec", "rest_of_canada"]]


def observed_annual() -> pd.DataFrame:
    raw = data.read_sourced_csv("data/rcmp_interceptions_monthly.csv", {
        "year": "int", "month": "int", "province": "str", "kind": "str", "interceptions": "float", "source": "str"})
    yr = raw[(raw.kind == "year") & raw.province.isin(["Quebec", "Canada"])]
    return yr.pivot_table(index="year", columns="province", values="interceptions", aggfunc="first")


def scores(sim_monthly: pd.DataFrame, fit: str, end: str = "2023-03") -> pd.DataFrame:
    """Error measures on fitted and held-out months; ``sim_monthly`` has month, interceptions, interceptions_quebec."""
    s = sim_monthly.set_index("month")
    obs = observed_locations()
    obs = obs[obs.index <= end]
    sim = pd.DataFrame({"quebec": s["interceptions_quebec"],
                        "rest_of_canada": s["interceptions"] - s["interceptions_quebec"]}).reindex(obs.index)
    fitted = set(parse_fit(fit))
    rows = []
    for label, months in (("fitted", [m for m in obs.index if m in fitted]),
                          ("held_out", [m for m in obs.index if m not in fitted]),
                          ("held_out_covid_2020-03_2021-11", [m for m in obs.index if "2020-03" <= m <= "2021-11" and m not in fitted]),
                          ("held_out_2022_surge", [m for m in obs.index if "2022-01" <= m <= "2022-12" and m not in fitted])):
        if not months:
            continue
        rows.append({"months": label, "n_months": len(months), "ARD": ard(sim.loc[months], obs.loc[months]),
                     "MAPE_quebec": mape(sim.loc[months, "quebec"], obs.loc[months, "quebec"])})
    return pd.DataFrame(rows)


def annual_errors(sim_monthly: pd.DataFrame, fit: str) -> pd.DataFrame:
    s = sim_monthly.set_index("month")
    fitted = set(parse_fit(fit))
    out = []
    for year, row in observed_annual().iterrows():
        months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
        if not set(months) <= set(s.index):
            continue
        for prov, col in (("Quebec", "interceptions_quebec"), ("Canada", "interceptions")):
            if pd.notna(row.get(prov)):
                sim_total = float(s.loc[months, col].sum())
                out.append({"year": year, "province": prov, "observed": float(row[prov]), "simulated": sim_total,
                            "relative_error": sim_total / row[prov] - 1,
                            "months_fitted": sum(m in fitted for m in months)})
    return pd.DataFrame(out)


def calibration_variant(history, calibration_path: Path):
    """The history scenario with the behaviour fitted in ``calibration_path`` (its fitted keys only)."""
    import tomllib

    with open(calibration_path, "rb") as f:
        raw = tomllib.load(f)
    d = history.to_dict()

    def walk(prefix, node):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(prefix + [k], v)
            else:
                set_path(d, ".".join(prefix + [k]), v)

    walk(["behaviour"], raw.get("behaviour", {}))
    cal = load_scenario(calibration_path)
    d["scenario"]["name"] = f"history-{Path(calibration_path).stem}"
    d["scenario"]["calibrated_on"] = cal.scenario.calibrated_on
    return scenario_from_dict(d, str(calibration_path))


@dataclass
class Section:
    """The backtest of one calibration."""

    calibration: Path
    fit: str
    scores: pd.DataFrame
    annual: pd.DataFrame
    replications: pd.DataFrame
    changes: tuple


@dataclass
class Backtest:
    history_path: Path
    out: Path
    reps: int
    scale: float
    master_seed: int
    sections: list[Section]
    table: pd.DataFrame


def run_backtest(history_path: Path, calibrations: list[Path], out: Path, reps: int = 10, scale: float | None = None,
                 master_seed: int = 1, workers: int | None = None, executor: str = "local",
                 progress: bool = False) -> Backtest:
    """Run the calibrated history for each calibration and score it against the observed series.

    Writes ``scores.csv`` and ``annual.csv`` (and the replications) in ``out``.
    """
    out = claim_output_dir(Path(out), "backtest")
    history = load_scenario(history_path, scale=scale)
    scale = history.run.scale
    seeds = replication_seeds(master_seed, reps)
    all_scores, all_annual, sections = [], [], []
    for cal in calibrations:
        sc = calibration_variant(history, Path(cal))
        sc = sc.model_copy(update={"run": sc.run.model_copy(update={"seed": master_seed, "scale": scale})})
        fit = sc.scenario.calibrated_on
        if not fit:
            raise EnsembleError(f"{cal}: no [scenario] calibrated_on; write it with 'bordersim calibrate'")
        result = run_ensemble([sc], out, seeds, scale, executor=executor, workers=workers, progress=progress)
        if result.failures:
            f = result.failures[0]
            raise RuntimeError(f"replication {f.rep} (seed {f.seed}) failed: {f.error}")
        reps_df = load_replications(out, sc, reps)
        median = reps_df.groupby("month")[["interceptions", "interceptions_quebec"]].median().reset_index()
        sc_scores = scores(median, fit).assign(calibration=Path(cal).name, fit=fit)
        per_rep = [scores(g, fit) for _, g in reps_df.groupby("rep")]
        stacked = pd.concat(per_rep)
        spread = stacked.groupby("months")["ARD"].quantile([0.05, 0.95]).unstack()
        sc_scores["ARD_p05_reps"] = sc_scores["months"].map(spread[0.05])
        sc_scores["ARD_p95_reps"] = sc_scores["months"].map(spread[0.95])
        annual = annual_errors(median, fit).assign(calibration=Path(cal).name)
        all_scores.append(sc_scores)
        all_annual.append(annual)
        sections.append(Section(Path(cal), fit, sc_scores, annual, reps_df, sc.rule_changes()))
    table = pd.concat(all_scores, ignore_index=True)
    write_atomic(out / "scores.csv", to_csv_bytes(table))
    write_atomic(out / "annual.csv", to_csv_bytes(pd.concat(all_annual, ignore_index=True)))
    mark_folder(out, "backtest")
    return Backtest(Path(history_path), out, reps, scale, master_seed, sections, table)


