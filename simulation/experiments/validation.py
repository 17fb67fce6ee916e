"""Validation: the calibrated history against what was observed, fitted and held out, and rolling-origin backtests.

Error measures, each over a set of months:

* ARD, the averaged relative difference of Suleimenova, Bell & Groen (2017,
  Sci. Rep. 7:13377), as Flee computes it: for each month, the sum over
  locations of |simulated - observed| divided by the observed total of that
  month (at least 1), then the mean over months. Locations here are Quebec
  and the rest of Canada, where both are observed.
* MAPE: mean of |simulated - observed| / observed over months with observed > 0 (Quebec).
* Annual totals: relative error of the simulated yearly total against the published yearly figure.

The months are split into *fitted* (those the calibration used) and *held
out* (observed but not fitted); the second are the honest test. The pattern
targets (:func:`targets`) check levels the model must reproduce; the held-out
scores (:func:`heldout_scores`) compare it with Canadian outcomes after the
Protocol, which nothing was fitted to (``data.heldout``). A rolling-origin
backtest (:func:`run_origin`) calibrates on the months before a policy change
only and predicts the change. The plots and the page of the docs are drawn by
:mod:`simulation.present.validation_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import data
from ..files import claim_output_dir, mark_folder, to_csv_bytes, write_atomic
from ..calendar import month_key, parse_date, shift_month
from ..scenario import load_scenario
from ..scenario.variants import truncated
from .calibration import CALIBRATION_END, CalibrationResult, calibrate, parse_fit
from .engine import EnsembleError, replication_seeds
from .ensemble import load_replications, run_ensemble
from .posterior import digest as posterior_digest
from .posterior import draws, load_posterior


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


#: Targets the history must meet (issue "Who crosses, and what Canada does with them").
ARD_TARGET = 0.25
ANNUAL_TARGET = 0.20
COVID_FACTOR = 2.0
IRB_TARGET = 0.20


def _band(values: np.ndarray) -> tuple[float, float, float]:
    """(median, 5th, 95th percentile); NaN for no values (a window the run does not cover)."""
    if len(values) == 0:
        return (float("nan"),) * 3
    q = np.quantile(values, [0.05, 0.5, 0.95])
    return float(q[1]), float(q[0]), float(q[2])


def targets(reps: pd.DataFrame, fit: str) -> pd.DataFrame:
    """The pattern targets, each with the observed figure, the simulated median and 5-95% range over
    replications, the error of the median, the target and whether it is met."""
    rows = []
    obs_loc = observed_locations()
    fitted = [m for m in parse_fit(fit) if m <= CALIBRATION_END]
    per_rep = []
    for _, g in reps.groupby("rep"):
        s = g.set_index("month")
        sim = pd.DataFrame({"quebec": s["interceptions_quebec"], "rest_of_canada": s["interceptions"] - s["interceptions_quebec"]})
        months = [m for m in obs_loc.index if m in fitted and m in sim.index]
        per_rep.append(ard(sim.loc[months], obs_loc.loc[months]))
    med = reps.groupby("month")[["interceptions", "interceptions_quebec"]].median()
    sim = pd.DataFrame({"quebec": med["interceptions_quebec"], "rest_of_canada": med["interceptions"] - med["interceptions_quebec"]})
    months = [m for m in obs_loc.index if m in fitted and m in sim.index]
    if months:
        a = ard(sim.loc[months], obs_loc.loc[months])
        p50, p05, p95 = _band(np.array(per_rep))
        rows.append({"check": f"ARD of monthly interceptions, Quebec and rest of Canada, {len(months)} fitted months",
                     "observed": np.nan, "simulated": a, "p05": p05, "p95": p95, "error": a,
                     "target": f"<= {ARD_TARGET}", "met": a <= ARD_TARGET})
    annual = observed_annual()
    for year in (2017, 2018):
        for prov, col in (("Canada", "interceptions"), ("Quebec", "interceptions_quebec")):
            if year not in annual.index or pd.isna(annual.loc[year].get(prov)):
                continue
            obs = float(annual.loc[year, prov])
            year_rows = reps[reps.month.str.startswith(str(year))]
            if year_rows.month.nunique() < 12:
                continue  # the run does not cover the whole year
            totals = year_rows.groupby("rep")[col].sum().to_numpy()
            p50, p05, p95 = _band(totals)
            err = p50 / obs - 1
            rows.append({"check": f"{year} interceptions, {prov}", "observed": obs, "simulated": p50, "p05": p05,
                         "p95": p95, "error": err, "target": f"within {ANNUAL_TARGET:.0%}", "met": abs(err) <= ANNUAL_TARGET})
    from .calibration import COVID_2020_INTERCEPTIONS

    covid_rows = reps[(reps.month >= "2020-04") & (reps.month <= "2020-12")]
    covid = covid_rows.groupby("rep")["interceptions"].sum().to_numpy()
    p50, p05, p95 = _band(covid)
    ratio = p50 / COVID_2020_INTERCEPTIONS
    if covid_rows.month.nunique() == 9:
        rows.append({"check": "interceptions April-December 2020 (direct-back), Canada", "observed": COVID_2020_INTERCEPTIONS,
                     "simulated": p50, "p05": p05, "p95": p95, "error": ratio - 1,
                     "target": f"within x{COVID_FACTOR:g}", "met": 1 / COVID_FACTOR <= ratio <= COVID_FACTOR})
    for month, obs in irb_pending_observed().items():
        values = reps[reps.month == month].groupby("rep")["irb_backlog"].last().to_numpy()
        if not len(values):
            continue
        p50, p05, p95 = _band(values)
        err = p50 / obs - 1
        rows.append({"check": f"IRB pending claims, end of {month[:4]}", "observed": obs, "simulated": p50, "p05": p05,
                     "p95": p95, "error": err, "target": f"within {IRB_TARGET:.0%}", "met": abs(err) <= IRB_TARGET})
    return pd.DataFrame(rows, columns=["check", "observed", "simulated", "p05", "p95", "error", "target", "met"])


def irb_pending_observed() -> dict[str, float]:
    """IRB RPD pending claims (all claims) at the 2019-2022 year-ends, by month 'YYYY-12'."""
    irb = data.irb_rpd()
    pending = irb[(irb.series == "rpd_pending") & (irb.month == 12)]
    if "scope" in pending:
        pending = pending[pending["scope"].str.contains("all", case=False, na=True)]
    out = {}
    for _, r in pending.iterrows():
        if 2019 <= r.year <= 2022:
            out.setdefault(f"{int(r.year):04d}-12", float(r.value))
    return dict(sorted(out.items()))


def checks(reps: pd.DataFrame) -> pd.DataFrame:
    """Comparisons with no target: reception intake in Quebec against PRAIDA's new users, Quebec's costs."""
    rows = []
    praida = data.praida_new_users()
    for year in range(2017, 2023):
        obs = float(praida[praida.index.str.startswith(str(year))].sum())
        year_rows = reps[reps.month.str.startswith(str(year))]
        if year_rows.month.nunique() < 12:
            continue
        sim = year_rows.groupby("rep")["quebec_reception_intake"].sum().to_numpy()
        p50, p05, p95 = _band(sim)
        rows.append({"check": f"{year}: claims made in Quebec (model) and PRAIDA's new users (observed)",
                     "observed": obs, "simulated": p50, "p05": p05, "p95": p95, "ratio": p50 / obs if obs else np.nan})
    costs = data.quebec_reception_costs()
    total = costs[costs.period.str.startswith("2021+2022")]
    if len(total):
        obs = float(total.value.iloc[0])
        two = reps[reps.month.str[:4].isin(["2021", "2022"])]
        sim = two.groupby("rep")["quebec_support_cost_cad"].sum().to_numpy()
        p50, p05, p95 = _band(sim)
        if two.month.nunique() == 24:
            rows.append({"check": "2021+2022: Quebec's support of claimants (model) and Quebec's costs (observed)",
                         "observed": obs, "simulated": p50, "p05": p05, "p95": p95, "ratio": p50 / obs})
    return pd.DataFrame(rows, columns=["check", "observed", "simulated", "p05", "p95", "ratio"])


def heldout_scores(reps: pd.DataFrame) -> pd.DataFrame:
    """The model against Canadian outcomes after the Protocol (held out: never fitted, read only here)."""
    rows = []
    rc = data.heldout("rcmp_interceptions")
    q = rc[(rc.province == "Quebec") & (rc.kind == "month")]
    if len(q):
        obs = pd.Series(q.interceptions.to_numpy(float), index=[f"{y:04d}-{m:02d}" for y, m in zip(q.year, q.month)])
        obs = obs[obs.index.isin(reps.month.unique())]
        if len(obs):
            med = reps.groupby("month")["interceptions_quebec"].median()
            sim = pd.DataFrame({"quebec": med.reindex(obs.index)})
            a = ard(sim, pd.DataFrame({"quebec": obs}))
            rows.append({"check": f"monthly RCMP interceptions in Quebec, {obs.index[0]}..{obs.index[-1]} (ARD)",
                         "observed": float(obs.sum()), "simulated": float(sim.quebec.sum()), "score": a})
    irb = data.heldout("irb_rpd")
    pend = irb[irb.series == "rpd_pending"]
    for _, r in pend.iterrows():
        month = f"{int(r.year):04d}-{int(r.month):02d}"
        values = reps[reps.month == month].groupby("rep")["irb_backlog"].last().to_numpy()
        if len(values):
            p50, p05, p95 = _band(values)
            rows.append({"check": f"IRB pending claims, {month}", "observed": float(r.value), "simulated": p50,
                         "p05": p05, "p95": p95, "score": p50 / float(r.value) - 1})
    return pd.DataFrame(rows, columns=["check", "observed", "simulated", "p05", "p95", "score"])


@dataclass
class Backtest:
    history_path: Path
    out: Path
    reps: int
    scale: float
    master_seed: int
    fit: str
    replications: pd.DataFrame
    scores: pd.DataFrame
    annual: pd.DataFrame
    targets: pd.DataFrame
    checks: pd.DataFrame
    heldout: pd.DataFrame
    changes: tuple
    posterior: str = ""
    origins: list = None


def run_backtest(history_path: Path, out: Path, reps: int = 10, scale: float | None = None, master_seed: int = 1,
                 workers: int | None = None, executor: str = "local", progress: bool = False,
                 posterior: Path | None = None) -> Backtest:
    """Run the calibrated history (with ``posterior``: one parameter set per replication) and score it.

    Writes the replications, ``scores.csv``, ``annual.csv``, ``targets.csv``, ``checks.csv`` and ``heldout.csv`` in ``out``.
    """
    out = claim_output_dir(Path(out), "backtest")
    history = load_scenario(history_path, scale=scale)
    scale = history.run.scale
    sc = history.model_copy(update={"run": history.run.model_copy(update={"seed": master_seed, "scale": scale})})
    fit = sc.scenario.calibrated_on
    if not fit:
        raise EnsembleError(f"{history_path}: its behaviour has no [scenario] calibrated_on; write it with 'bordersim calibrate'")
    seeds = replication_seeds(master_seed, reps)
    sets, tag = None, ""
    if posterior is not None:
        table = load_posterior(posterior)
        sets, tag = draws(table, master_seed, reps), posterior_digest(table)
    result = run_ensemble([sc], out, seeds, scale, executor=executor, workers=workers, progress=progress,
                          parameter_sets=sets, posterior_tag=tag)
    if result.failures:
        f = result.failures[0]
        raise RuntimeError(f"replication {f.rep} (seed {f.seed}) failed: {f.error}")
    reps_df = load_replications(out, sc, reps, tag)
    median = reps_df.groupby("month")[["interceptions", "interceptions_quebec"]].median().reset_index()
    sc_scores = scores(median, fit)
    per_rep = pd.concat([scores(g, fit) for _, g in reps_df.groupby("rep")])
    spread = per_rep.groupby("months")["ARD"].quantile([0.05, 0.95]).unstack()
    sc_scores["ARD_p05_reps"] = sc_scores["months"].map(spread[0.05])
    sc_scores["ARD_p95_reps"] = sc_scores["months"].map(spread[0.95])
    bt = Backtest(Path(history_path), out, reps, scale, master_seed, fit, reps_df, sc_scores, annual_errors(median, fit),
                  targets(reps_df, fit), checks(reps_df), heldout_scores(reps_df), sc.rule_changes(), str(posterior or ""))
    for name, table in (("scores", bt.scores), ("annual", bt.annual), ("targets", bt.targets), ("checks", bt.checks),
                        ("heldout", bt.heldout)):
        write_atomic(out / f"{name}.csv", to_csv_bytes(table, float_format="%.6g"))
    mark_folder(out, "backtest")
    return bt


# --- rolling-origin backtests: calibrate before a change, predict it ------------------------------------

#: The dated changes before 2023-03 that a backtest can predict: what is observed, and its source.
ORIGINS = {
    "2020-03-21": ("COVID-19 direct-back orders", "ircc_quebec",
                   "IRCC claims in Quebec at border and inland offices (data/ircc_claims_monthly.csv)"),
    "2021-11-21": ("the reopening of the border to irregular crossers", "ircc_quebec",
                   "IRCC claims in Quebec at border and inland offices (data/ircc_claims_monthly.csv)"),
    "2022-06-30": ("transfers of claimants out of Quebec", "praida",
                   "PRAIDA's new users, Quebec's reception intake (data/praida_new_users_monthly.csv)"),
}
#: Months compared on each side of an origin.
WINDOW_MONTHS = 6


def _windows(origin: str) -> tuple[list[str], list[str]]:
    """The months before the origin's month and from the month after it (the origin month is split: left out)."""
    month = month_key(parse_date(origin))
    before = [shift_month(month, -k) for k in range(WINDOW_MONTHS, 0, -1)]
    after = [shift_month(month, k) for k in range(1, WINDOW_MONTHS + 1)]
    return before, after


def observed_series(kind: str) -> pd.Series:
    if kind == "praida":
        return data.praida_new_users().astype(float)
    wide = data.ircc_claims_wide()
    s = wide["border_quebec"] + wide["inland_quebec"] + wide.get("other_quebec", 0.0)
    return s[s.index <= CALIBRATION_END].dropna()


def simulated_series(reps: pd.DataFrame, kind: str) -> pd.DataFrame:
    """month x rep of the simulated counterpart of an observed series."""
    col = reps["quebec_reception_intake"] if kind == "praida" else reps["claims_border_quebec"] + reps["claims_inland_quebec"]
    return reps.assign(value=col).pivot_table(index="month", columns="rep", values="value")


@dataclass
class OriginBacktest:
    origin: str
    change: str
    observed_name: str
    fit: str
    calibration: CalibrationResult
    replications: pd.DataFrame
    table: pd.DataFrame  # one row: observed and predicted change with intervals, verdict


def run_origin(history_path: Path, origin: str, out: Path, population: int = 32, generations: int = 3, reps: int = 20,
               scale: float | None = None, master_seed: int = 1, workers: int | None = None, executor: str = "local",
               progress: bool = False) -> OriginBacktest:
    """Calibrate on the months before ``origin`` only, then predict the change it brought, with intervals from the
    posterior (a parameter set per replication) and from the seeds."""
    if origin not in ORIGINS:
        raise EnsembleError(f"--origin {origin}: allowed: {', '.join(ORIGINS)}")
    change, kind, source = ORIGINS[origin]
    out = claim_output_dir(Path(out), "backtest")
    history = load_scenario(history_path, scale=scale)
    before, after = _windows(origin)
    fit = f"{history.time.start}:{before[-1]}"
    cal = calibrate(history, fit, population=population, generations=generations, master_seed=master_seed,
                    workers=workers, executor=executor, database=None, progress=progress)
    post = cal.posterior
    post.attrs["file"] = f"calibration on {fit}"
    sc = truncated(history, after[-1])
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"seed": master_seed, "scale": history.run.scale})})
    seeds = replication_seeds(master_seed, reps)
    sets, tag = draws(post, master_seed, reps), posterior_digest(post)
    result = run_ensemble([sc], out, seeds, sc.run.scale, executor=executor, workers=workers, progress=progress,
                          parameter_sets=sets, posterior_tag=tag)
    if result.failures:
        raise RuntimeError(f"replication failed: {result.failures[0].error}")
    reps_df = load_replications(out, sc, reps, tag)
    sim = simulated_series(reps_df, kind)
    obs = observed_series(kind)
    obs_change = obs.reindex(after).mean() / obs.reindex(before).mean() - 1
    pred = (sim.reindex(after).mean() / sim.reindex(before).mean() - 1).to_numpy()
    p50, p05, p95 = _band(pred)
    table = pd.DataFrame([{
        "origin": origin, "change": change, "observed_series": source, "fit": fit,
        "before": f"{before[0]}..{before[-1]}", "after": f"{after[0]}..{after[-1]}",
        "observed_before": obs.reindex(before).mean(), "observed_after": obs.reindex(after).mean(),
        "observed_change": obs_change, "predicted_change": p50, "p05": p05, "p95": p95,
        "inside_90": bool(p05 <= obs_change <= p95), "reps": reps, "particles": len(post),
    }])
    write_atomic(out / "origin.csv", to_csv_bytes(table, float_format="%.6g"))
    write_atomic(out / "posterior.csv", to_csv_bytes(post, float_format="%.8g"))
    mark_folder(out, "backtest")
    return OriginBacktest(origin, change, source, fit, cal, reps_df, table)
