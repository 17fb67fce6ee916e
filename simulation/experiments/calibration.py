"""Calibration: fit the behavioural parameters nobody can measure to several observed patterns at once.

Pattern-oriented: one loss adds up how far an ensemble of runs is from
(1) the monthly RCMP interceptions in Quebec (``data/rcmp_interceptions_monthly.csv``),
(2) the yearly claims by mode of entry, irregular and land ports
(``data/claims_by_mode.csv``, IRCC), and (3) the nationality mix of
irregular claimants where IRCC published it
(``data/irregular_claimants_by_nationality.csv``) — each only over the
months being fitted. The optimiser is Optuna's TPE sampler (seeded, so a
calibration is repeatable); the starting point (the schema defaults of the
fitted parameters, whatever an earlier calibration found) is the first
trial, so the best loss can only improve on it.

The uncertainty reported is the spread (10th-90th percentile) of each
parameter among the best fifth of trials: an ABC-style rejection sample
from the optimiser's history, not a formal posterior.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import data
from ..calendar import months_between, parse_date
from ..files import write_atomic
from ..scenario import Scenario, scenario_from_dict
from ..scenario.groups import GROUPS
from .engine import Engine, replication_seeds
from .run import simulate

#: What is fitted, and why: each sets a pattern the data pin down and nothing else measures.
#:   asc_roxham        level of crossings at Roxham (Quebec series)
#:   asc_port          land-port claims against irregular claims (claims by mode)
#:   awareness_*       how fast knowledge of the route spread (the growth 2017-2019, the 2022 surge)
#:   w_wait            how much the US backlog pushes people north (the 2022 surge)
#:   group_affinity.*  why Haitians, Turks and Colombians were over-represented (nationality mix)
PARAMETERS: dict[str, tuple[float, float, bool]] = {  # key path: (low, high, log scale)
    "behaviour.asc_roxham": (-12.0, -6.0, False),
    "behaviour.asc_port": (-11.0, -4.0, False),
    "behaviour.awareness_contact_rate": (0.001, 0.1, True),
    "behaviour.initial_awareness": (0.002, 0.2, True),
    "behaviour.w_wait": (0.0, 1.5, False),
    "behaviour.group_affinity.haiti": (0.0, 8.0, False),
    "behaviour.group_affinity.turkey": (0.0, 8.0, False),
    "behaviour.group_affinity.colombia": (0.0, 8.0, False),
}
WEIGHTS = {"quebec_monthly": 1.0, "claims_by_mode": 0.5, "nationality_mix": 1.0}


class CalibrationError(Exception):
    """A bad calibration request (e.g. a malformed --fit)."""


def parse_fit(spec: str) -> list[str]:
    """'2017-01:2019-12,2021-12:2022-12' -> the list of months it covers."""
    months: list[str] = []
    for part in spec.split(","):
        try:
            lo, hi = (x.strip() for x in part.split(":"))
            a, b = parse_date(lo), parse_date(hi)
        except ValueError:
            raise CalibrationError(f"--fit {spec!r}: {part!r} is not 'YYYY-MM:YYYY-MM'") from None
        if b < a:
            raise CalibrationError(f"--fit {spec!r}: {part!r} ends before it starts")
        months += months_between(lo, hi)
    return sorted(set(months))


@dataclass
class Observed:
    quebec: pd.Series  # month -> interceptions
    canada: pd.Series
    modes: pd.DataFrame  # year x {irregular, land_port}
    mix: pd.DataFrame  # period_start, period_end, group, share


def observed() -> Observed:
    rc = data.rcmp_interceptions()
    by = {prov: rc[rc.province == prov].groupby("month")["interceptions"].sum() for prov in ("Quebec", "Canada")}
    modes = data.read_sourced_csv("data/claims_by_mode.csv", {"year": "int", "mode": "str", "claims": "float", "source": "str"})
    modes = modes.pivot_table(index="year", columns="mode", values="claims", aggfunc="sum")
    mix = data.read_sourced_csv("data/irregular_claimants_by_nationality.csv",
                                {"period_start": "str", "period_end": "str", "group": "str", "share": "float", "source": "str"})
    return Observed(quebec=by["Quebec"], canada=by["Canada"], modes=modes, mix=mix)


def set_path(d: dict, path: str, value) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def get_path(sc: Scenario, path: str, default: float = 0.0) -> float:
    d = sc.to_dict()
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return float(d)


def truncated(sc: Scenario, end: str) -> Scenario:
    """The scenario run only to ``end`` (changes starting later are dropped): calibration needs no more."""
    d = sc.to_dict()
    d["time"]["end"] = min(end, d["time"]["end"])
    last = parse_date(d["time"]["end"])
    for c in d["policy"]["change"]:
        if c.get("from") and parse_date(c["from"]) > last:
            c["enabled"] = False
    for n in d["behaviour"]["news"] + d["population"]["event"]:
        if n.get("date") and parse_date(n["date"]) > last:
            n["enabled"] = False
    return scenario_from_dict(d)


def with_values(sc: Scenario, values: dict[str, float]) -> Scenario:
    d = sc.to_dict()
    for path, v in values.items():
        set_path(d, path, float(v))
    return scenario_from_dict(d)


def _run(sc_dict: dict, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    result = simulate(scenario_from_dict(sc_dict), seed=seed, commit=False)
    return result.monthly, result.crossings_by_group


def simulate_mean(sc: Scenario, seeds: list[int], engine: Engine | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Mean over seeds of the monthly outputs and of the crossings by group."""
    results: list = [None] * len(seeds)
    errors: list[str] = []

    def done(i, result, error):
        if error is not None:
            errors.append(error)
        results[i] = result

    (engine or Engine("local", workers=1)).run(_run, [(sc.to_dict(), s) for s in seeds], done)
    if errors:
        raise RuntimeError(f"a calibration run failed: {errors[0]}")
    months = results[0][0]["month"]
    numeric = sum(r[0].drop(columns=["month", "scenario", "seed"]) for r in results) / len(results)
    numeric.insert(0, "month", months)
    return numeric, sum(r[1] for r in results) / len(results)


def loss_parts(monthly: pd.DataFrame, by_group: np.ndarray, obs: Observed, fit_months: list[str]) -> dict[str, float]:
    """The three pattern losses over the fitted months (each about 0 when the fit is perfect)."""
    sim = monthly.set_index("month")
    months = [m for m in fit_months if m in obs.quebec.index and m in sim.index]
    q_obs = obs.quebec.reindex(months).to_numpy(float)
    q_sim = sim.loc[months, "interceptions_quebec"].to_numpy(float)
    quebec = float(np.mean(np.abs(np.log1p(q_sim) - np.log1p(q_obs)))) if months else 0.0
    fit = set(fit_months)
    errs = []
    for year in obs.modes.index:
        year_months = {f"{year:04d}-{m:02d}" for m in range(1, 13)}
        if not year_months <= fit or not year_months <= set(sim.index):
            continue  # only whole years inside the fitted months
        ys = sim.loc[sorted(year_months)]
        irregular = (ys.interceptions - ys.directed_back - ys.protocol_returns).sum()
        errs.append(abs(np.log((irregular + 1) / (obs.modes.loc[year, "irregular"] + 1))))
        errs.append(abs(np.log((ys.port_claims.sum() + 1) / (obs.modes.loc[year, "land_port"] + 1))))
    modes = float(np.mean(errs)) if errs else 0.0
    mix_err = []
    month_index = {m: i for i, m in enumerate(sim.index)}
    for (lo, hi), rows in obs.mix.groupby(["period_start", "period_end"]):
        period = [m for m in sim.index if lo <= m <= hi]
        inside = [m for m in period if m in fit]
        if not period or len(inside) < 0.75 * len(period):
            continue  # a published period is used when at least three quarters of it is being fitted
        counts = by_group[[month_index[m] for m in inside]].sum(axis=0)
        shares = counts / max(counts.sum(), 1e-9)
        pool_share = data.shares_for(parse_date(inside[len(inside) // 2]))
        for g, share in zip(rows.group, rows.share):
            if pool_share[GROUPS.index(g)] < 0.001:
                continue  # a group the US inflow data hardly contains cannot be fitted (e.g. Nigerians on visitor visas)
            mix_err.append(abs(shares[GROUPS.index(g)] - share))
    mix = float(np.mean(mix_err)) * 5 if mix_err else 0.0  # x5: a 0.1 share error weighs like a 10% level error
    return {"quebec_monthly": quebec, "claims_by_mode": modes, "nationality_mix": mix}


def total_loss(parts: dict[str, float]) -> float:
    return float(sum(WEIGHTS[k] * v for k, v in parts.items()))


@dataclass
class CalibrationResult:
    trials: pd.DataFrame
    best: dict[str, float]
    spread: pd.DataFrame
    start_loss: float
    best_loss: float
    seconds: float
    fit_months: list[str]
    monthly_best: pd.DataFrame


def calibrate(sc: Scenario, fit: str, trials: int = 60, seeds: int = 2, master_seed: int = 1, workers: int = 2,
              parameters: dict = PARAMETERS, progress: bool = False) -> CalibrationResult:
    """Fit ``parameters`` with Optuna TPE; trial 0 is the scenario's own values."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fit_months = parse_fit(fit)
    first, last = sc.time.start, sc.time.end
    if fit_months[0] < first or fit_months[-1] > last:
        raise CalibrationError(f"--fit {fit!r} reaches outside the scenario's window {first}..{last}")
    run_sc = truncated(sc, fit_months[-1])
    obs = observed()
    rep_seeds = replication_seeds(master_seed, seeds)
    rows: list[dict] = []
    t0 = time.perf_counter()
    engine = Engine("local", workers=workers)

    def objective(trial) -> float:
        values = {}
        for path, (lo, hi, log) in parameters.items():
            values[path] = trial.suggest_float(path, lo, hi, log=log)
        t = time.perf_counter()
        monthly, by_group = simulate_mean(with_values(run_sc, values), rep_seeds, engine)
        parts = loss_parts(monthly, by_group, obs, fit_months)
        loss = total_loss(parts)
        rows.append({"trial": trial.number, "loss": loss, **parts, **values, "seconds": time.perf_counter() - t})
        if progress:
            best = min(r["loss"] for r in rows)
            print(f"trial {trial.number:3d}  loss {loss:.4f}  best {best:.4f}", flush=True)
        return loss

    # start from the schema defaults, not from an earlier calibration, so a calibration reproduces exactly
    defaults = Scenario()
    start = {p: min(max(get_path(defaults, p), lo), hi) for p, (lo, hi, _) in parameters.items()}
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=master_seed))
    study.enqueue_trial(start)
    try:
        study.optimize(objective, n_trials=trials)
    finally:
        engine.close()
    table = pd.DataFrame(rows)
    best = {p: float(study.best_params[p]) for p in parameters}
    top = table.nsmallest(max(3, len(table) // 5), "loss")
    spread = pd.DataFrame({
        "parameter": list(parameters),
        "start": [start[p] for p in parameters],
        "best": [best[p] for p in parameters],
        "p10_top_fifth": [float(top[p].quantile(0.1)) for p in parameters],
        "p90_top_fifth": [float(top[p].quantile(0.9)) for p in parameters],
        "low": [parameters[p][0] for p in parameters],
        "high": [parameters[p][1] for p in parameters],
    })
    monthly_best, _ = simulate_mean(with_values(run_sc, best), rep_seeds)
    return CalibrationResult(trials=table, best=best, spread=spread, start_loss=float(table.loss.iloc[0]),
                             best_loss=float(table.loss.min()), seconds=time.perf_counter() - t0,
                             fit_months=fit_months, monthly_best=monthly_best)


def calibrated_toml(result: CalibrationResult, fit: str, command: str) -> str:
    """The fitted values as a scenario file other scenarios extend."""
    lines = [
        "# Behaviour fitted by 'bordersim calibrate' (Optuna TPE over an ensemble loss; see docs/validation.md).",
        f"# Reproduce: {command}",
        f"# Loss: start {result.start_loss:.4f} -> best {result.best_loss:.4f} after {len(result.trials)} trials "
        f"({result.seconds:.0f} s). Spread = 10th-90th percentile among the best fifth of trials.",
        "",
        "[scenario]",
        'name = "calibrated"',
        'description = "Fitted behavioural parameters; the bundled scenarios extend this file"',
        f'calibrated_on = "{fit}"',
        "",
        "[behaviour]",
    ]
    affinity = {}
    for _, r in result.spread.iterrows():
        path, value = r.parameter, result.best[r.parameter]
        note = f"  # spread {r.p10_top_fifth:.4g} .. {r.p90_top_fifth:.4g}"
        if path.startswith("behaviour.group_affinity."):
            affinity[path.rsplit(".", 1)[1]] = (value, note)
        else:
            lines.append(f"{path.split('.', 1)[1]} = {value:.6g}{note}")
    if affinity:
        lines += ["", "[behaviour.group_affinity]"]
        lines += [f"{g} = {v:.6g}{note}" for g, (v, note) in affinity.items()]
    return "\n".join(lines) + "\n"


def write_calibration_docs(out: Path, docs: Path) -> None:
    """A page for the docs from a calibration folder: command, runtime, loss per trial, fitted values and spread."""
    out, docs = Path(out), Path(docs)
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    params = pd.read_csv(out / "parameters.csv")
    header = [line[2:] for line in (out / "calibrated.toml").read_text().splitlines() if line.startswith("# ")]
    img = docs.parent / "img" / "calibration"
    img.mkdir(parents=True, exist_ok=True)
    stem = docs.stem
    for name in ("loss", "fit"):
        write_atomic(img / f"{stem}_{name}.png", (out / "plots" / f"{name}.png").read_bytes())
    lines = [f"# Calibration on {summary.fit}", "", "Produced by `bordersim calibrate` (do not edit by hand).", ""]
    lines += [f"- {h}" for h in header]
    lines += ["", f"{int(summary.trials)} trials in {summary.seconds:.0f} s at scale {summary.scale}; "
              f"loss {summary.start_loss:.4f} at the start (schema defaults) -> {summary.best_loss:.4f}.", "",
              "| parameter | start | fitted | spread (p10-p90, best fifth of trials) | search range |", "|---|---|---|---|---|"]
    for _, r in params.iterrows():
        lines.append(f"| `{r.parameter}` | {r.start:.4g} | {r.best:.4g} | {r.p10_top_fifth:.4g} .. {r.p90_top_fifth:.4g} "
                     f"| {r.low:.4g} .. {r.high:.4g} |")
    lines += ["", "Loss per trial (grey) and best so far (orange):", "", f"![loss](img/calibration/{stem}_loss.png)", "",
              "Best trial against the observed Quebec series (shaded: months not fitted):", "",
              f"![fit](img/calibration/{stem}_fit.png)", ""]
    write_atomic(docs, "\n".join(lines).encode())
