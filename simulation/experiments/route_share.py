"""The constant of the route elsewhere between ports, fitted to where the RCMP intercepted people.

Roxham Road is in Quebec, so every interception the RCMP made outside Quebec
was a crossing elsewhere between ports. The ABC discrepancy
(:mod:`.calibration`) fits Quebec's series and leaves ``asc_irregular`` at
its assumed value; the RCMP's annual totals for Canada and Quebec pin down the
one number that route needs: the share of interceptions made outside Quebec
before the Additional Protocol (3.5% pooled over 2017-2019, 2021 and 2022).

The share rises with ``asc_irregular``. With the same seeds for every value
tried (common random numbers) it does so almost monotonically, so a
bisection finds the constant at which the simulated share, pooled over the
same years and the replications, equals the observed one. Only Canadian
observations up to :data:`~simulation.data.CALIBRATION_END` are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import data
from ..scenario import Scenario, scenario_from_dict
from ..scenario.variants import truncated, with_values
from .calibration import CalibrationError
from .engine import Engine, replication_seeds
from .run import run_scenario
from .validation import observed_annual

KEY = "behaviour.asc_irregular"
#: Where the bisection looks: the prior range of the other route constants (calibration.PRIORS).
BRACKET = (-12.0, -4.0)


class RouteShareError(CalibrationError):
    """The observed share lies outside what the bracket of the constant can reach."""


@dataclass
class RouteFit:
    value: float  #: the fitted asc_irregular
    observed: float  #: the observed share of interceptions outside Quebec
    years: list[int]
    tries: pd.DataFrame  #: asc_irregular, share_outside_quebec, one row per value tried (in order)
    by_year: pd.DataFrame  #: year, observed and simulated interceptions in Canada and Quebec, at the fitted value
    seeds: list[int]
    scale: float


def observed_years() -> pd.DataFrame:
    """RCMP annual interceptions in Canada and Quebec, for the years before 2023 that publish both."""
    wide = observed_annual()
    last = int(data.CALIBRATION_END[:4])
    return wide[(wide.index < last)].dropna()[["Canada", "Quebec"]]


def share_outside_quebec(canada: float, quebec: float) -> float:
    return (canada - quebec) / canada


def _annual(sc_dict: dict, value: float, seed: int, scale: float, end: str) -> pd.DataFrame:
    """One replication up to ``end`` with the constant at ``value``: interceptions in Canada and Quebec per year."""
    sc = truncated(with_values(scenario_from_dict(sc_dict), {KEY: value}), end)
    m = run_scenario(sc, seed=seed, scale=scale)
    m["year"] = m["month"].str[:4].astype(int)
    return m.groupby("year")[["interceptions", "interceptions_quebec"]].sum()


def simulated_years(engine: Engine, sc: Scenario, value: float, seeds: list[int], scale: float,
                    years: list[int]) -> pd.DataFrame:
    """Simulated interceptions in Canada and Quebec per year, summed over the replications."""
    jobs = [(sc.to_dict(), value, s, scale, data.CALIBRATION_END) for s in seeds]
    out: list[pd.DataFrame | None] = [None] * len(jobs)

    def done(i, result, error):
        if error:
            raise RuntimeError(f"replication {i} failed: {error}")
        out[i] = result

    engine.run(_annual, jobs, done)
    total = sum(out[1:], out[0])
    return total.reindex(years).rename(columns={"interceptions": "Canada", "interceptions_quebec": "Quebec"})


def fit_route_share(sc: Scenario, reps: int = 4, master_seed: int = 1, scale: float | None = None,
                    tolerance: float = 0.02, workers: int | None = None, progress=None) -> RouteFit:
    """Bisect ``asc_irregular`` until the bracket is narrower than ``tolerance``."""
    obs = observed_years()
    years = [int(y) for y in obs.index]
    target = share_outside_quebec(obs["Canada"].sum(), obs["Quebec"].sum())
    seeds = replication_seeds(master_seed, reps)
    scale = sc.run.scale if scale is None else scale
    tries: list[tuple[float, float]] = []
    with Engine("local", workers) as engine:
        def share(value: float) -> float:
            sim = simulated_years(engine, sc, value, seeds, scale, years)
            s = share_outside_quebec(sim["Canada"].sum(), sim["Quebec"].sum())
            tries.append((value, s))
            if progress:
                progress(value, s, target)
            return s

        lo, hi = BRACKET
        s_lo, s_hi = share(lo), share(hi)
        if not s_lo <= target <= s_hi:
            raise RouteShareError(f"{KEY}: the observed share outside Quebec ({target:.2%}) is outside the simulated "
                                  f"range {s_lo:.2%} .. {s_hi:.2%} for {lo} .. {hi}")
        while hi - lo > tolerance:
            mid = 0.5 * (lo + hi)
            if share(mid) < target:
                lo = mid
            else:
                hi = mid
        value = round(0.5 * (lo + hi), 3)
        sim = simulated_years(engine, sc, value, seeds, scale, years)
    by_year = pd.DataFrame({"year": years, "observed_canada": obs["Canada"].to_numpy(),
                            "observed_quebec": obs["Quebec"].to_numpy(),
                            "simulated_canada": sim["Canada"].to_numpy() / reps,
                            "simulated_quebec": sim["Quebec"].to_numpy() / reps})
    return RouteFit(value=value, observed=target, years=years,
                    tries=pd.DataFrame(tries, columns=["asc_irregular", "share_outside_quebec"]),
                    by_year=by_year, seeds=seeds, scale=scale)


def markdown(fit: RouteFit, command: str) -> str:
    """The page for the docs (docs/route_share.md)."""
    b = fit.by_year.copy()
    b["observed_share"] = share_outside_quebec(b.observed_canada, b.observed_quebec)
    b["simulated_share"] = share_outside_quebec(b.simulated_canada, b.simulated_quebec)
    rows = ["| year | observed Canada | observed outside Quebec | share | simulated Canada | simulated outside Quebec "
            "| share |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in b.itertuples():
        rows.append(f"| {r.year} | {r.observed_canada:,.0f} | {r.observed_canada - r.observed_quebec:,.0f} "
                    f"| {r.observed_share:.1%} | {r.simulated_canada:,.0f} | {r.simulated_canada - r.simulated_quebec:,.0f} "
                    f"| {r.simulated_share:.1%} |")
    first, last = b.iloc[0], b.iloc[-1]
    sim_share = share_outside_quebec(b["simulated_canada"].sum(), b["simulated_quebec"].sum())
    tries = ", ".join(f"{v:.3f} → {s:.2%}" for v, s in fit.tries.itertuples(index=False))
    return "\n".join([
        "# The route elsewhere between ports: its constant, fitted to where the RCMP intercepted people",
        "",
        f"Produced by `bordersim route-share` (`{command}`). Do not edit by hand.",
        "",
        "Roxham Road is in Quebec, so every interception outside Quebec was a crossing elsewhere between ports. "
        "The ABC calibration ([calibration.md](calibration.md)) fits Quebec and leaves `behaviour.asc_irregular` "
        "alone; this command fits it to the share of the RCMP's interceptions made outside Quebec, pooled over the "
        f"years before 2023 for which both annual totals are published ({', '.join(map(str, fit.years))}), with "
        "the rest of the scenario as it is. `scenarios/history.toml` carries the value.",
        "",
        f"* observed share outside Quebec: **{fit.observed:.2%}**; simulated at the fitted value: **{sim_share:.2%}** "
        f"({len(fit.seeds)} replications, scale {fit.scale:g});",
        f"* fitted `behaviour.asc_irregular` = **{fit.value:.3f}** (bisection over {BRACKET[0]:g} .. {BRACKET[1]:g}: {tries}).",
        "",
        "Per year (simulated: mean of the replications):",
        "",
        *rows,
        "",
        f"The observed share fell from {first.observed_share:.1%} in {first.year:.0f} to {last.observed_share:.1%} in "
        f"{last.year:.0f} (Roxham Road became the route everyone knew); the model has one constant for the route and "
        "no knowledge of routes one by one, so it matches the pooled share and spreads it more evenly over the years: "
        "too few crossers elsewhere in 2017, too many in 2022.",
        "",
    ])
