"""Calibration: a posterior sample of the behavioural parameters nobody can measure, by ABC-SMC (pyabc).

Approximate Bayesian computation fits the model to several observed patterns
at once (pattern-oriented modelling), up to 2023-03 only: what came after the
Additional Protocol is the test, never a target. The discrepancy between a
run and the observations adds up:

* ``quebec_monthly``: monthly RCMP interceptions in Quebec (relative errors, the measure the validation's
  ARD uses; log errors gave a month of 96 crossings the weight of a month of 4,000, and the posterior fitted
  the quiet months at the expense of the 2022 surge);
* ``ircc_quebec_monthly``: monthly IRCC claims in Quebec at border and inland
  offices (log errors), which cover the months RCMP did not publish, the COVID
  months among them;
* ``claims_by_mode``: yearly irregular and land-port claims (IRCC, Table A);
* ``nationality_mix``: the nationality mix of irregular claimants where IRCC published it;
* ``covid_2020``: interceptions in Canada from April to December 2020 (how
  fast crossings fell after the direct-back orders).

Each term is about 0 for a perfect fit. pyabc's ABC-SMC (Del Moral et al.
2012; Klinger, Rickert & Hasenauer 2018) draws the parameters from their
priors, keeps the runs whose discrepancy is under a threshold, and lowers the
threshold generation by generation (a quantile of the last generation's
discrepancies), perturbing the accepted particles with a multivariate normal
kernel: its last generation is a weighted sample of the approximate
posterior. Each particle is one run at the calibration scale with its own
seed, so the posterior carries the model's own randomness as well. The runs
go through bordersim's replication engine (:mod:`.abc_sampler`), so a
calibration gives the same sample whatever the number of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import data
from ..calendar import months_between, parse_date
from ..scenario import Scenario, scenario_from_dict
from ..scenario.variants import truncated, with_values
from ..scenario.groups import GROUPS
from .engine import Engine
from .run import simulate

#: The last month any calibration may use: later Canadian figures are the test.
CALIBRATION_END = data.CALIBRATION_END

#: What is fitted, its prior (uniform, or log-uniform), and why: each sets a pattern the data pin down.
#:   asc_roxham           level of crossings at Roxham (Quebec series)
#:   asc_port             land-port claims against irregular claims (claims by mode)
#:   awareness_*          how fast knowledge of the route spread (the growth 2017-2019, the 2022 surge)
#:   w_wait               how much the US backlog pushes people north (the 2022 surge)
#:   group_affinity.*     why Haitians, Turks and Colombians were over-represented (nationality mix)
#:   status_event_share   how many of the people losing a US status consider Canada (the 2017 Haitian wave)
#:   overstay_share       how many visa overstayers consider Canada (the 2018 Nigerian wave)
#:   status_event_north_taste  how strongly those who consider it want to go (how fast the 2017 wave rose)
#:   rule_news_reach      how fast people learn a rule change (the fall after 2020-03-21)
PRIORS: dict[str, tuple[float, float, bool]] = {  # key path: (low, high, log scale)
    "behaviour.asc_roxham": (-12.0, -4.0, False),
    "behaviour.asc_port": (-11.0, -3.0, False),
    "behaviour.awareness_contact_rate": (0.001, 0.1, True),
    "behaviour.initial_awareness": (0.002, 0.3, True),
    "behaviour.w_wait": (0.0, 1.5, False),
    "behaviour.group_affinity.haiti": (0.0, 8.0, False),
    "behaviour.group_affinity.turkey": (0.0, 8.0, False),
    "behaviour.group_affinity.colombia": (0.0, 8.0, False),
    "population.status_event_share": (0.0, 0.5, False),
    "population.overstay_share": (0.0, 1.0, False),
    "population.status_event_north_taste": (0.0, 10.0, False),
    "behaviour.rule_news_reach": (0.0, 1.0, False),
}
#: ABC-SMC settings. With ten or more parameters and a noisy simulator, pyabc's defaults (the median of the last
#: generation's discrepancies as the next threshold, a kernel of Silverman's bandwidth) let the importance weights
#: collapse onto a few particles within three generations (effective particles 100 -> 31 -> 15 -> 2 in a test
#: run, docs/calibration.md). A slower threshold (the 70th percentile) and a kernel twice as wide keep the
#: sample diverse, at the price of more generations for the same threshold.
THRESHOLD_QUANTILE = 0.7
KERNEL_SCALING = 2.0

#: The monthly Quebec level weighs double: it is the pattern the analysts' questions turn on (and the validation's
#: ARD target); the nationality mix's error hardly differs between parameter sets (0.48-0.64 over the best particles
#: of the posterior bundled before this weighting) and mostly adds a floor.
WEIGHTS = {"quebec_monthly": 2.0, "ircc_quebec_monthly": 1.0, "claims_by_mode": 0.5, "nationality_mix": 1.0,
           "covid_2020": 0.5}


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
    """The observations calibration may use (none after :data:`CALIBRATION_END`)."""

    quebec: pd.Series  # month -> RCMP interceptions in Quebec
    canada: pd.Series
    ircc_quebec: pd.Series  # month -> IRCC claims in Quebec at border and inland (incl. other) offices
    modes: pd.DataFrame  # year x {irregular, land_port}
    mix: pd.DataFrame  # period_start, period_end, group, share
    covid_2020: float  # RCMP interceptions in Canada, 2020-04 .. 2020-12


def observed() -> Observed:
    rc = data.rcmp_interceptions()
    by = {prov: rc[rc.province == prov].groupby("month")["interceptions"].sum() for prov in ("Quebec", "Canada")}
    modes = data.read_sourced_csv("data/claims_by_mode.csv", {"year": "int", "mode": "str", "claims": "float", "source": "str"})
    modes = modes.pivot_table(index="year", columns="mode", values="claims", aggfunc="sum")
    mix = data.read_sourced_csv("data/irregular_claimants_by_nationality.csv",
                                {"period_start": "str", "period_end": "str", "group": "str", "share": "float", "source": "str"})
    wide = data.ircc_claims_wide()
    ircc = (wide["border_quebec"] + wide["inland_quebec"] + wide.get("other_quebec", 0.0)).dropna()
    return Observed(quebec=by["Quebec"], canada=by["Canada"], ircc_quebec=ircc[ircc.index <= CALIBRATION_END],
                    modes=modes, mix=mix, covid_2020=COVID_2020_INTERCEPTIONS)


#: RCMP interceptions in Canada 2020-04 .. 2020-12: DERIVED, 3,302 in 2020 less 3,007 from 2020-01-01 to
#: 2020-03-19 (Public Safety binder 2020-07; domain brief); the days 2020-03-20 .. 31 are counted in it too.
COVID_2020_INTERCEPTIONS = 3302.0 - 3007.0


def _relative_error(sim: np.ndarray, obs: np.ndarray) -> float:
    return float(np.mean(np.abs(sim - obs) / np.maximum(obs, 1.0))) if len(obs) else 0.0


def _log_error(sim: np.ndarray, obs: np.ndarray) -> float:
    return float(np.mean(np.abs(np.log1p(np.maximum(sim, 0.0)) - np.log1p(obs)))) if len(obs) else 0.0


def loss_parts(monthly: pd.DataFrame, by_group: np.ndarray, obs: Observed, fit_months: list[str]) -> dict[str, float]:
    """The pattern errors over the fitted months (each about 0 when the fit is perfect)."""
    sim = monthly.set_index("month")
    fit = set(fit_months)
    months = [m for m in fit_months if m in obs.quebec.index and m in sim.index]
    quebec = _relative_error(sim.loc[months, "interceptions_quebec"].to_numpy(float), obs.quebec.reindex(months).to_numpy(float))
    months = [m for m in fit_months if m in obs.ircc_quebec.index and m in sim.index]
    sim_ircc = (sim.loc[months, "claims_border_quebec"] + sim.loc[months, "claims_inland_quebec"]).to_numpy(float)
    ircc = _log_error(sim_ircc, obs.ircc_quebec.reindex(months).to_numpy(float))
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
        for g, share in zip(rows.group, rows.share):
            mix_err.append(abs(shares[GROUPS.index(g)] - share))
    mix = float(np.mean(mix_err)) * 5 if mix_err else 0.0  # x5: a 0.1 share error weighs like a 10% level error
    covid = [m for m in months_between("2020-04", "2020-12") if m in sim.index]
    covid_err = (abs(np.log((sim.loc[covid, "interceptions"].sum() + 1) / (obs.covid_2020 + 1)))
                 if len(covid) == 9 and set(covid) <= fit else 0.0)
    return {"quebec_monthly": quebec, "ircc_quebec_monthly": ircc, "claims_by_mode": modes, "nationality_mix": mix,
            "covid_2020": float(covid_err)}


def total_loss(parts: dict[str, float]) -> float:
    return float(sum(WEIGHTS[k] * v for k, v in parts.items()))


# --- ABC-SMC ---------------------------------------------------------------------------------------


def _name(path: str) -> str:
    """pyabc's parameter name for a key path (pyabc keeps names in SQL columns: no dots)."""
    return path.replace(".", "__")


def _value(path: str, x: float) -> float:
    """A key's value from the sampled coordinate (log-uniform priors are sampled on the log10 scale)."""
    return float(10.0 ** x) if PRIORS[path][2] else float(x)


class DiscrepancyModel:
    """The model as pyabc sees it: parameters in, the pattern errors out (one run, with its own seed)."""

    def __init__(self, scenario: Scenario, fit_months: list[str], priors: dict):
        self.scenario_dict = scenario.to_dict()
        self.fit_months = fit_months
        self.priors = priors
        self.obs = observed()

    def __call__(self, params) -> dict:
        values = {path: _value(path, params[_name(path)]) for path in self.priors}
        seed = int(np.random.randint(0, 2**31 - 1))  # pyabc's sampler seeded numpy for this particle
        sc = with_values(scenario_from_dict(self.scenario_dict), values)
        run = simulate(sc, seed=seed, commit=False)
        parts = loss_parts(run.monthly, run.crossings_by_group, self.obs, self.fit_months)
        return {"discrepancy": total_loss(parts), **parts}


def _discrepancy(x: dict, x0: dict) -> float:
    return float(x["discrepancy"])


@dataclass
class CalibrationResult:
    posterior: pd.DataFrame  #: one row per particle of the last generation: key paths, weight, discrepancy
    generations: pd.DataFrame  #: threshold, runs and acceptance per generation
    best: dict[str, float]  #: the particle with the smallest discrepancy in the last generation
    fit_months: list[str]
    seconds: float
    scale: float
    population: int
    priors: dict = field(default_factory=lambda: dict(PRIORS))
    database: str = ""


def calibrate(sc: Scenario, fit: str, population: int = 48, generations: int = 5, master_seed: int = 1,
              workers: int | None = None, executor: str = "local", scheduler: str | None = None,
              priors: dict = PRIORS, database: Path | None = None, progress: bool = False) -> CalibrationResult:
    """An ABC-SMC posterior of ``priors``' parameters given the patterns observed in the ``fit`` months."""
    import pyabc

    from .abc_sampler import EngineSampler

    fit_months = parse_fit(fit)
    if fit_months[0] < sc.time.start or fit_months[-1] > sc.time.end:
        raise CalibrationError(f"--fit {fit!r} reaches outside the scenario's window {sc.time.start}..{sc.time.end}")
    if fit_months[-1] > CALIBRATION_END:
        raise CalibrationError(f"--fit {fit!r} reaches past {CALIBRATION_END}: later Canadian figures are the test of the "
                               "model, never a calibration target")
    unknown = [p for p in priors if p not in PRIORS]
    if unknown:
        raise CalibrationError(f"no prior for {unknown}; allowed: {', '.join(PRIORS)}")
    run_sc = truncated(sc, fit_months[-1])
    prior = pyabc.Distribution(**{
        _name(p): pyabc.RV("uniform", np.log10(lo) if log else lo, (np.log10(hi) - np.log10(lo)) if log else hi - lo)
        for p, (lo, hi, log) in priors.items()})
    np.random.seed(master_seed)  # pyabc's own draws in this process (kernel fits) follow the master seed
    t0 = time.perf_counter()

    def report(t, evaluated, accepted, n):
        if progress:
            print(f"generation {t}: {accepted}/{n} accepted after {evaluated} runs ({time.perf_counter() - t0:.0f} s)",
                  flush=True)

    with Engine(executor, workers, scheduler) as engine:
        abc = pyabc.ABCSMC(DiscrepancyModel(run_sc, fit_months, priors), prior, _discrepancy,
                           population_size=population, sampler=EngineSampler(engine, master_seed, progress=report),
                           transitions=pyabc.MultivariateNormalTransition(scaling=KERNEL_SCALING),
                           eps=pyabc.QuantileEpsilon(alpha=THRESHOLD_QUANTILE))
        db = f"sqlite:///{Path(database).resolve()}" if database else "sqlite://"
        abc.new(db, {"discrepancy": 0.0})
        history = abc.run(max_nr_populations=generations)
    table, weights = history.get_distribution(m=0, t=history.max_t)
    distances = history.get_weighted_distances(t=history.max_t)
    posterior = pd.DataFrame({p: [_value(p, x) for x in table[_name(p)]] for p in priors})
    posterior["weight"] = weights / weights.sum()
    posterior["discrepancy"] = distances["distance"].to_numpy()
    gens = _generations(history, population)
    best_row = posterior.loc[posterior["discrepancy"].idxmin()]
    return CalibrationResult(posterior=posterior, generations=gens, best={p: float(best_row[p]) for p in priors},
                             fit_months=fit_months, seconds=time.perf_counter() - t0, scale=sc.run.scale,
                             population=population, priors=dict(priors), database=db)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size of importance weights: how many equally weighted particles they are worth."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def generations_from_database(db: str, population: int) -> pd.DataFrame:
    """The generations table (threshold, runs, acceptance, effective particles) from a pyabc database."""
    import pyabc

    return _generations(pyabc.History(db), population)


def _generations(history, population: int) -> pd.DataFrame:
    """One row per generation of a pyabc history (the prior sample left out): threshold, runs, acceptance and the
    effective number of particles."""
    pops = history.get_all_populations()
    gens = pd.DataFrame({"generation": pops["t"], "threshold": pops["epsilon"], "runs": pops["samples"],
                         "particles": population})
    gens = gens[gens.generation >= 0].reset_index(drop=True)
    gens["acceptance"] = gens["particles"] / gens["runs"]
    gens["effective_particles"] = [effective_sample_size(history.get_distribution(m=0, t=int(t))[1]) for t in gens.generation]
    return gens


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> np.ndarray:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / np.sum(weights)
    return np.interp(qs, cum, values[order])


def posterior_summary(result: CalibrationResult) -> pd.DataFrame:
    """Per parameter: prior range, posterior median and 90% interval, and how much the data narrowed it."""
    return summarise_posterior(result.posterior, result.priors)


def summarise_posterior(posterior: pd.DataFrame, priors: dict[str, tuple[float, float, bool]] = PRIORS) -> pd.DataFrame:
    """:func:`posterior_summary` of a weighted sample (a calibration's, or a ``posterior.csv`` read back); ``best`` is
    the particle with the smallest discrepancy."""
    rows = []
    w = posterior["weight"].to_numpy()
    best = posterior.loc[posterior["discrepancy"].idxmin()]
    for p, (lo, hi, log) in priors.items():
        x = posterior[p].to_numpy()
        q05, q50, q95 = weighted_quantiles(x, w, [0.05, 0.5, 0.95])
        scale_x = np.log10 if log else (lambda v: v)
        width_post = scale_x(q95) - scale_x(q05)
        width_prior = 0.9 * (scale_x(hi) - scale_x(lo))  # the prior's own 90% interval (uniform)
        rows.append({"parameter": p, "prior_low": lo, "prior_high": hi, "log_scale": log, "best": float(best[p]),
                     "p05": q05, "p50": q50, "p95": q95, "interval_vs_prior": width_post / width_prior})
    return pd.DataFrame(rows)


def posterior_file(result: CalibrationResult) -> pd.DataFrame:
    """The file the runner reads: one row per parameter set, a column per key path, and its weight."""
    return result.posterior[list(result.priors) + ["weight", "discrepancy"]]


def calibrated_toml(result: CalibrationResult, fit: str, command: str) -> str:
    """The particle with the smallest discrepancy, as a scenario file other scenarios extend."""
    summary = posterior_summary(result).set_index("parameter")
    lines = [
        "# Behaviour fitted by 'bordersim calibrate' (ABC-SMC, pyabc; see docs/calibration.md): the particle of the",
        "# posterior sample with the smallest discrepancy. Comments: the posterior median and 90% interval.",
        f"# Reproduce: {command}",
        f"# {len(result.posterior)} particles, {len(result.generations)} generations, "
        f"{int(result.generations['runs'].sum())} runs in {result.seconds:.0f} s.",
        "",
        "[scenario]",
        'name = "calibrated"',
        'description = "Fitted behavioural parameters; the bundled scenarios extend this file"',
        f'calibrated_on = "{fit}"',
        "",
    ]
    tables: dict[str, list[str]] = {}
    for path, value in result.best.items():
        r = summary.loc[path]
        note = f"  # posterior {r.p50:.4g} [{r.p05:.4g}, {r.p95:.4g}]"
        table, key = path.rsplit(".", 1)
        tables.setdefault(table, []).append(f"{key} = {value:.6g}{note}")
    for table in sorted(tables, key=lambda t: (t.count("."), t)):
        lines += [f"[{table}]", *tables[table], ""]
    return "\n".join(lines)
