"""Global sensitivity analysis of a scenario's uncertain parameters: Morris screening and Sobol indices (SALib).

Which parameters are varied, and over what range (the *range rule*):

* a numeric key of the sections ``policy``, ``behaviour``, ``canada``, ``us``,
  ``population`` and ``routes`` (``scenario``, ``time`` and ``run`` are not
  parameters), chosen with glob patterns over key paths (``behaviour.*``,
  ``canada.irb_*``);
* range: the value in the resolved scenario ±50% (``RELATIVE_RANGE``), then
  clipped to the schema's bounds (``ge``/``le``; probabilities therefore stay in
  [0, 1]); where the schema demands ``> bound`` (``gt``) and the range reaches
  it, the range stops half-way between the bound and the value;
* whole numbers (``contacts_per_person``, ``return_window_days``) take the
  range rounded outwards and each sampled value is rounded to the nearest
  whole number;
* a *dated* parameter given as a ``"YYYY-MM" = value`` table is varied by one
  factor in [0.5, 1.5] that multiplies every entry (shares are capped at 1);
  its key gets the suffix ``*factor`` in the outputs;
* keys whose value is 0 (no scale to take ±50% of), booleans, lists, texts and
  tables by group are left out; ``--range KEY=LO:HI`` sets any numeric key's
  range by hand (and brings in a key whose value is 0);
* only the base values are varied: a ``[[policy.change]]`` that sets the same
  lever later still overrides it from its date.

Each sample point is a scenario variant (:func:`simulation.scenario.scenario_from_dict`
on the modified dict) named ``<name>-s0007``, run as replications through
:mod:`simulation.ensemble`: written atomically under
``OUT/reps/<name>-s0007-<digest>/``, skipped on a rerun, on a local process pool
or Dask. Every sample point uses the same replication seeds (common random
numbers), so differences between points come from the parameters, not the draws.

The outcome of a sample point is a :mod:`simulation.summary` metric over the
scenario's ``after_change`` window (from ``scenario.policy_date`` to the end),
averaged over its replications.
"""

from __future__ import annotations

import copy
import fnmatch
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.columns import OUTCOME_BY_NAME
from ..files import claim_output_dir, mark_folder, write_atomic, write_json
from ..scenario import Scenario, ScenarioError, scenario_from_dict
from ..scenario.kinds import DATED, PER_GROUP, bounds_of, kind_of, unit_of
from .engine import EnsembleError, replication_seeds
from .ensemble import EnsembleResult, load_replications, run_ensemble
from .run import as_scenario
from .summary import metric_values, windows

#: The headline outcomes analysed by default (names of :data:`simulation.summary.METRICS`).
OUTCOMES = ("irregular_crossings", "returns", "deaths_expected", "irb_backlog_end", "reception_cost")
#: Half-width of the default range, relative to the scenario's value.
RELATIVE_RANGE = 0.5
#: Sections whose numeric keys are parameters.
SECTIONS = ("policy", "behaviour", "canada", "us", "population", "routes")
METHODS = ("morris", "sobol")
INDEX_NAMES = {"morris": ("mu_star", "mu_star_conf", "sigma", "mu"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}
FACTOR_SUFFIX = "*factor"


class SensitivityError(EnsembleError):
    """A bad sensitivity or discovery request (a pattern matching nothing, a bad range, an unknown outcome...)."""


@dataclass(frozen=True)
class Parameter:
    """One uncertain parameter and the range it is sampled over."""

    key: str  #: key path, e.g. ``behaviour.w_protection`` (``canada.irb_decisions_per_month*factor`` for a dated table)
    low: float
    high: float
    value: float  #: the scenario's value (1 for a factor)
    kind: str  #: "float", "int" or "factor"
    unit: str  #: the key's unit in the schema (for a factor: the unit of the entries it multiplies)
    rule: str  #: how the range was set, in words
    cap: float | None = None  #: for a factor: the largest value an entry may take (the declared bound)

    @property
    def path(self) -> tuple[str, str]:
        section, name = self.key.removesuffix(FACTOR_SUFFIX).split(".", 1)
        return section, name


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV with 10 significant digits (parameters such as death risks are far below 0.0001), the same bytes every time."""
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode()


# --- the parameter space ---------------------------------------------------


def _range_for(value: float, bounds: dict[str, float], whole: bool) -> tuple[float, float, str]:
    lo, hi = value - RELATIVE_RANGE * abs(value), value + RELATIVE_RANGE * abs(value)
    rule = f"value ±{RELATIVE_RANGE:.0%}"
    clipped = []
    if "ge" in bounds and lo < bounds["ge"]:
        lo = bounds["ge"]
        clipped.append(f">= {bounds['ge']:g}")
    if "gt" in bounds and lo <= bounds["gt"]:
        lo = (bounds["gt"] + value) / 2
        clipped.append(f"> {bounds['gt']:g}")
    if "le" in bounds and hi > bounds["le"]:
        hi = bounds["le"]
        clipped.append(f"<= {bounds['le']:g}")
    if "lt" in bounds and hi >= bounds["lt"]:
        hi = (bounds["lt"] + value) / 2
        clipped.append(f"< {bounds['lt']:g}")
    if whole:
        lo, hi = math.floor(lo), math.ceil(hi)
        lo = max(lo, math.ceil(bounds.get("ge", lo)), math.floor(bounds.get("gt", lo - 1)) + 1)
        hi = min(hi, math.floor(bounds.get("le", hi)), math.ceil(bounds.get("lt", hi + 1)) - 1)
        rule += ", whole numbers"
    if clipped:
        rule += ", clipped to " + " and ".join(clipped)
    return float(f"{lo:.12g}"), float(f"{hi:.12g}"), rule


def parameter_space(scenario: Scenario) -> tuple[list[Parameter], dict[str, str]]:
    """Every numeric parameter of ``scenario`` with its range, and the keys left out with the reason."""
    params, skipped = [], {}
    for section in SECTIONS:
        spec = getattr(scenario, section)
        for name, field in type(spec).model_fields.items():
            key = f"{section}.{field.alias or name}"
            value = getattr(spec, name)
            unit, kind, bounds = unit_of(field), kind_of(field), bounds_of(field)
            if kind == PER_GROUP:
                skipped[key] = "a table by group, not one number"
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
                skipped[key] = "not a number"
                continue
            if kind == DATED and isinstance(value, dict):
                cap = bounds.get("le")
                params.append(Parameter(key + FACTOR_SUFFIX, 1 - RELATIVE_RANGE, 1 + RELATIVE_RANGE, 1.0, "factor", unit,
                                        f"factor 1 ±{RELATIVE_RANGE:.0%} on every dated entry" +
                                        (f", entries capped at {cap:g}" if cap is not None else ""), cap))
                continue
            if value == 0:
                skipped[key] = "value is 0, so ±50% gives no range; set one with --range KEY=LO:HI"
                continue
            whole = field.annotation is int
            lo, hi, rule = _range_for(float(value), bounds, whole)
            if not lo < hi:
                skipped[key] = f"no room between its bounds ({lo:g} .. {hi:g})"
                continue
            params.append(Parameter(key, lo, hi, float(value), "int" if whole else "float", unit, rule))
    return params, skipped


def parse_range(text: str) -> tuple[str, float, float]:
    """``KEY=LO:HI`` -> (key, lo, hi)."""
    try:
        key, span = text.split("=", 1)
        lo_s, hi_s = span.split(":", 1)
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise SensitivityError(f"--range {text!r}: use KEY=LO:HI, e.g. behaviour.w_cost=0.5:2") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise SensitivityError(f"--range {text!r}: need finite LO < HI")
    return key.strip(), lo, hi


def select_parameters(scenario: Scenario, patterns, ranges=()) -> list[Parameter]:
    """The parameters whose key matches one of ``patterns`` (globs), with ``ranges`` ((key, lo, hi)) set by hand."""
    params, skipped = parameter_space(scenario)
    by_key = {p.key: p for p in params}
    numeric_zero = {k for k, why in skipped.items() if why.startswith("value is 0")}
    manual = {}
    for key, lo, hi in ranges:
        if key in by_key:
            p = by_key[key]
            manual[key] = Parameter(key, lo, hi, p.value, p.kind, p.unit, "set with --range", p.cap)
        elif key in numeric_zero:
            section, name = key.split(".", 1)
            field = type(getattr(scenario, section)).model_fields[name]
            kind = "int" if field.annotation is int else "float"
            manual[key] = Parameter(key, lo, hi, 0.0, kind, unit_of(field), "set with --range")
        else:
            allowed = "a numeric key such as behaviour.w_cost" + (f" ({skipped[key]})" if key in skipped else "")
            raise SensitivityError(f"--range {key}: not a parameter that can be varied; allowed: {allowed}")
    chosen: list[Parameter] = []
    for pattern in patterns:
        hits = [k for k in [*by_key, *manual] if fnmatch.fnmatchcase(k, pattern)]
        if not hits:
            left_out = sorted(k for k in skipped if fnmatch.fnmatchcase(k, pattern))
            why = f"; left out: {', '.join(f'{k} ({skipped[k]})' for k in left_out[:4])}" if left_out else ""
            raise SensitivityError(f"--params {pattern!r} matches no numeric parameter{why}; "
                                   f"allowed: glob patterns over keys such as behaviour.*, canada.irb_*")
        for k in hits:
            if all(p.key != k for p in chosen):
                chosen.append(manual.get(k) or by_key[k])
    for key in manual:  # a --range key is varied even if no pattern names it
        if all(p.key != key for p in chosen):
            chosen.append(manual[key])
    return chosen


def problem(params: list[Parameter]) -> dict:
    """The SALib problem definition."""
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": [[p.low, p.high] for p in params]}


def applied_values(params: list[Parameter], X: np.ndarray) -> np.ndarray:
    """The values actually used: whole-number parameters rounded."""
    X = np.array(X, dtype=float)
    for j, p in enumerate(params):
        if p.kind == "int":
            X[:, j] = np.rint(X[:, j])
    return X


def apply(raw: dict, params: list[Parameter], values) -> dict:
    """A copy of the scenario dict ``raw`` with each parameter set to its value."""
    out = copy.deepcopy(raw)
    for p, v in zip(params, values):
        section, name = p.path
        table = out.setdefault(section, {})
        if p.kind == "factor":
            cap = math.inf if p.cap is None else p.cap
            table[name] = {k: min(float(x) * float(v), cap) for k, x in table[name].items()}
        elif p.kind == "int":
            table[name] = int(round(float(v)))
        else:
            table[name] = float(v)
    return out


def make_variants(base: Scenario, params: list[Parameter], X: np.ndarray, tag: str = "s",
                  seed: int | None = None, scale: float | None = None) -> list[Scenario]:
    """One validated scenario per row of ``X``, named ``<name>-<tag>NNNN``, with the given run seed and scale."""
    raw = base.to_dict()
    if seed is not None:
        raw["run"]["seed"] = seed
    if scale is not None:
        raw["run"]["scale"] = scale
    out = []
    for i, row in enumerate(X):
        d = apply(raw, params, row)
        d["scenario"]["name"] = f"{base.name}-{tag}{i:04d}"
        try:
            out.append(scenario_from_dict(d, origin=f"sample {d['scenario']['name']}"))
        except ScenarioError as e:
            raise SensitivityError(f"{e} (a parameter range reaches a value the schema does not allow: check --range)") from None
    return out


# --- outcomes ----------------------------------------------------------------


def check_outcomes(outcomes) -> tuple[str, ...]:
    outcomes = tuple(outcomes)
    bad = [o for o in outcomes if o not in OUTCOME_BY_NAME]
    if bad or not outcomes:
        raise SensitivityError(f"--outcomes {','.join(bad) or '(none)'}: unknown; allowed: {', '.join(OUTCOME_BY_NAME)}")
    return outcomes


def window_span(scenario: Scenario, window: str) -> tuple[str, str]:
    wins = windows(scenario)
    if window not in wins:
        raise SensitivityError(f"--window {window!r}: not a window of {scenario.name} "
                               f"(the after_change windows need scenario.policy_date); allowed: {', '.join(wins)}")
    return wins[window]


def outcome_values(out: Path, variants: list[Scenario], n_reps: int, span: tuple[str, str], outcomes) -> pd.DataFrame:
    """One row per variant: each outcome over ``span``, the mean over its replications."""
    rows = []
    for sc in variants:
        vals = metric_values(load_replications(out, sc, n_reps), span)
        rows.append({o: float(np.mean(vals[o])) for o in outcomes})
    return pd.DataFrame(rows, columns=list(outcomes))


# --- the analysis ------------------------------------------------------------


def sample(method: str, params: list[Parameter], n: int, seed: int, levels: int = 4) -> np.ndarray:
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    prob = problem(params)
    if method == "morris":
        return morris_sample.sample(prob, n, num_levels=levels, seed=seed)
    return sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)


def analyse(method: str, params: list[Parameter], X: np.ndarray, Y: pd.DataFrame, seed: int, levels: int = 4) -> pd.DataFrame:
    """Tidy indices: outcome, parameter, index, value. An outcome that never varies gets 0 (Morris) or NaN (Sobol)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    prob = problem(params)
    rows = []
    for outcome in Y.columns:
        y = Y[outcome].to_numpy(dtype=float)
        constant = bool(np.ptp(y) == 0)
        if method == "morris":
            res = {k: np.zeros(len(params)) for k in INDEX_NAMES["morris"]} if constant else \
                morris_analyze.analyze(prob, X, y, num_levels=levels, seed=seed)
        else:
            res = {k: np.full(len(params), np.nan) for k in INDEX_NAMES["sobol"]} if constant else \
                sobol_analyze.analyze(prob, y, calc_second_order=False, seed=seed)
        for j, p in enumerate(params):
            for name in INDEX_NAMES[method]:
                rows.append({"outcome": outcome, "parameter": p.key, "index": name, "value": float(np.asarray(res[name])[j])})
    return pd.DataFrame(rows, columns=["outcome", "parameter", "index", "value"])


@dataclass
class SensitivityResult:
    out: Path
    indices: pd.DataFrame | None
    samples: pd.DataFrame
    ensemble: EnsembleResult
    method: str = "morris"
    params: list = field(default_factory=list)
    outcomes: tuple = ()
    subtitle: str = ""


def run_sensitivity(scenario, out, method: str = "morris", patterns=("behaviour.*",), samples: int = 4,
                    ranges=(), outcomes=OUTCOMES, window: str = "after_change", scale: float | None = None,
                    reps: int = 1, seed: int | None = None, levels: int = 4, workers: int | None = None,
                    executor: str = "local", scheduler: str | None = None, progress: bool = False) -> SensitivityResult:
    """Sample the parameters, run every sample point (resumable), and write the indices to ``out``.

    ``scenario`` is a path or a :class:`Scenario`. Returns a :class:`SensitivityResult`;
    its ``indices`` is None when replications failed (``ensemble.failures`` says which).
    The plots are drawn by :func:`simulation.present.sensitivity_plots.plot_sensitivity`.
    """
    if method not in METHODS:
        raise SensitivityError(f"--method {method!r}: allowed: {', '.join(METHODS)}")
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        raise SensitivityError(f"--samples {samples}: Sobol sampling needs a power of 2 (2, 4, 8, 16...)")
    if method == "morris" and samples < 2:
        raise SensitivityError(f"--samples {samples}: Morris needs at least 2 trajectories for a spread and an interval")
    base = as_scenario(scenario)
    outcomes = check_outcomes(outcomes)
    span = window_span(base, window)
    params = select_parameters(base, patterns, ranges)
    seed = base.run.seed if seed is None else seed
    scale = base.run.scale if scale is None else scale
    X = sample(method, params, samples, seed, levels)
    used = applied_values(params, X)
    variants = make_variants(base, params, used, "s", seed, scale)
    seeds = replication_seeds(seed, reps)
    out = claim_output_dir(Path(out), "sensitivity")
    table = pd.DataFrame(used, columns=[p.key for p in params])
    table.insert(0, "sample", [v.name for v in variants])
    write_json(out / "sensitivity.json", {
        "method": method, "samples": samples, "levels": levels if method == "morris" else None,
        "scenario": base.name, "scenario_digest": base.digest(), "window": window, "window_months": list(span),
        "outcomes": list(outcomes), "master_seed": seed, "seeds": seeds, "scale": scale, "reps": reps,
        "parameters": [asdict(p) for p in params], "sample_points": len(variants),
    })
    write_atomic(out / "samples.csv", csv_bytes(table))
    mark_folder(out, "sensitivity", ["sensitivity.json", "samples.csv", "outcomes.csv", "indices.csv", "reps", "plots"])
    result = run_ensemble(variants, out, seeds, scale, executor=executor, workers=workers, scheduler=scheduler, progress=progress)
    subtitle = f"{base.name}, {window.replace('_', ' ')} {span[0]}..{span[1]}, {len(variants)} runs"
    if result.failures:
        return SensitivityResult(out, None, table, result, method, params, outcomes, subtitle)
    Y = outcome_values(out, variants, reps, span, outcomes)
    write_atomic(out / "outcomes.csv", csv_bytes(pd.concat([table, Y], axis=1)))
    indices = analyse(method, params, X, Y, seed, levels)
    write_atomic(out / "indices.csv", csv_bytes(indices))
    return SensitivityResult(out, indices, table, result, method, params, outcomes, subtitle)


def top_table(indices: pd.DataFrame, method: str, n: int = 5) -> str:
    """A few lines per outcome: the parameters that matter most (for the terminal)."""
    key, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    lines = []
    wide = indices.pivot_table(index=["outcome", "parameter"], columns="index", values="value", dropna=False)
    for outcome in dict.fromkeys(indices["outcome"]):
        rows = wide.loc[outcome].sort_values(key, ascending=False).head(n)
        unit = OUTCOME_BY_NAME[outcome].unit
        parts = [f"{p} {_fmt(r[key])} ±{_fmt(r[conf])}" for p, r in rows.iterrows()]
        lines.append(f"{outcome} ({key}{', ' + unit if method == 'morris' else ''}): " + "; ".join(parts))
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "nan"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
