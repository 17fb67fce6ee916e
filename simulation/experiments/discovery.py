"""Scenario discovery: where in the space of uncertain parameters does an option fail?

The question asked by default: *when does the option (the 2023 Protocol) fail to
cut irregular crossings by half, compared with the reference (no Protocol)?*

1. Sample the parameters chosen with ``--params`` (ranges as in
   :mod:`simulation.sensitivity`) by Latin hypercube (SALib).
2. Run each sample point twice, as a variant of the option and of the
   reference (``<option>-d0007``, ``<reference>-d0007``), with the same
   replication seeds (common random numbers), through :mod:`simulation.ensemble`
   (atomic, resumable, local pool or Dask).
3. Classify: a point is a *case of interest* when
   ``option > (1 - cut) × reference`` for the metric over the window (by
   default: irregular crossings after the policy date; ``cut`` 0.5).
4. Find a box of parameter limits where the cases concentrate with PRIM
   (Friedman & Fisher 1999), peeling only: repeatedly remove the ``alpha``
   share of points at the low or high end of one parameter, whichever raises
   the share of cases in the box most, until the box holds fewer than
   ``min_mass`` of the points. Every box on that peeling trajectory has a
   *coverage* (share of all cases that are inside it) and a *density* (share
   of the points inside it that are cases). The box reported is the densest
   one whose coverage is at least ``min_coverage`` (ties: the larger one).
5. For each parameter the box restricts, a quasi-p-value (Bryant & Lempert
   2010): the binomial chance of finding as many cases as the box holds if
   that restriction were lifted and the box had the density it would then
   have. A restriction with a quasi-p-value above 0.05 is weakly supported:
   with few sample points PRIM also peels on noise.

This is written out here (about 80 lines) rather than taken from
``ema_workbench``, which would bring in scikit-learn, statsmodels, seaborn and
platypus; pasting and the box-significance tests of the workbench are left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import claim_output_dir, mark_folder, write_atomic, write_json
from .engine import replication_seeds
from .ensemble import EnsembleResult, run_ensemble
from .run import as_scenario
from .sensitivity import (
    Parameter,
    SensitivityError,
    applied_values,
    check_outcomes,
    csv_bytes,
    make_variants,
    outcome_values,
    problem,
    select_parameters,
    window_span,
)


# --- PRIM --------------------------------------------------------------------


@dataclass
class Box:
    step: int
    low: np.ndarray
    high: np.ndarray
    coverage: float
    density: float
    mass: float
    n: int


def _box(step, low, high, inside, y) -> Box:
    total = y.sum()
    return Box(step, low.copy(), high.copy(), float(y[inside].sum() / total) if total else 0.0,
               float(y[inside].mean()) if inside.any() else 0.0, float(inside.mean()), int(inside.sum()))


def prim_peel(X: np.ndarray, y: np.ndarray, low=None, high=None, alpha: float = 0.05, min_mass: float = 0.05) -> list[Box]:
    """The PRIM peeling trajectory: boxes from the whole space to one holding about ``min_mass`` of the points."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=bool)
    n, k = X.shape
    low = X.min(axis=0) if low is None else np.array(low, dtype=float)
    high = X.max(axis=0) if high is None else np.array(high, dtype=float)
    inside = np.ones(n, dtype=bool)
    boxes = [_box(0, low, high, inside, y)]
    min_n = max(int(np.ceil(min_mass * n)), 1)
    while inside.sum() > min_n:
        best = None
        for j in range(k):
            xj = X[inside, j]
            for side in ("low", "high"):
                cut = np.quantile(xj, alpha if side == "low" else 1 - alpha)
                drop = (X[:, j] < cut) if side == "low" else (X[:, j] > cut)
                if not (drop & inside).any():  # ties at the quantile: peel the extreme value itself
                    drop = (X[:, j] <= cut) if side == "low" else (X[:, j] >= cut)
                keep = inside & ~drop
                removed = int(inside.sum() - keep.sum())
                if removed == 0 or keep.sum() < min_n:
                    continue
                score = (y[keep].mean(), -removed)
                if best is None or score > best[0]:
                    best = (score, j, side, keep)
        if best is None:
            break
        _, j, side, keep = best
        inside = keep
        if side == "low":
            low[j] = X[inside, j].min()
        else:
            high[j] = X[inside, j].max()
        boxes.append(_box(len(boxes), low, high, inside, y))
    return boxes


def choose_box(boxes: list[Box], min_coverage: float = 0.5) -> Box:
    """The densest box whose coverage is at least ``min_coverage`` (ties: the larger coverage)."""
    ok = [b for b in boxes if b.coverage >= min_coverage] or boxes[:1]
    return max(ok, key=lambda b: (round(b.density, 12), b.coverage))


# --- the run -----------------------------------------------------------------


@dataclass
class DiscoveryResult:
    out: Path
    table: pd.DataFrame | None
    box: Box | None
    limits: pd.DataFrame | None
    trajectory: list[Box] = field(default_factory=list)
    ensemble: EnsembleResult | None = None
    params: list = field(default_factory=list)
    title: str = ""
    cut: float = 0.5


def run_discovery(option, reference, out, patterns=("behaviour.*",), samples: int = 64, ranges=(),
                  metric: str = "irregular_crossings", cut: float = 0.5, window: str = "after_change",
                  scale: float | None = None, reps: int = 1, seed: int | None = None, min_coverage: float = 0.5,
                  alpha: float = 0.05, min_mass: float = 0.05, workers: int | None = None, executor: str = "local",
                  scheduler: str | None = None, progress: bool = False) -> DiscoveryResult:
    """Latin-hypercube sample, paired runs of option and reference, classification, PRIM box; files in ``out``.

    The plot is drawn by :func:`simulation.present.sensitivity_plots.plot_discovery`.
    """
    from SALib.sample import latin

    if not 0 < cut < 1:
        raise SensitivityError(f"--cut {cut}: allowed: 0 < cut < 1 (0.5 asks for a cut by half)")
    if samples < 2:
        raise SensitivityError(f"--samples {samples}: allowed: at least 2")
    opt, ref = as_scenario(option), as_scenario(reference)
    if opt.name == ref.name:
        raise SensitivityError(f"the option and the reference are both named {opt.name!r}; names must differ")
    (metric,) = check_outcomes([metric])
    span = window_span(opt, window)
    params = select_parameters(opt, patterns, ranges)
    seed = opt.run.seed if seed is None else seed
    scale = opt.run.scale if scale is None else scale
    X = applied_values(params, latin.sample(problem(params), samples, seed=seed))
    opt_v = make_variants(opt, params, X, "d", seed, scale)
    ref_v = make_variants(ref, params, X, "d", seed, scale)
    seeds = replication_seeds(seed, reps)
    out = claim_output_dir(Path(out), "discover")
    write_json(out / "discovery.json", {
        "option": opt.name, "reference": ref.name, "option_digest": opt.digest(), "reference_digest": ref.digest(),
        "metric": metric, "cut": cut, "window": window, "window_months": list(span), "samples": samples,
        "master_seed": seed, "seeds": seeds, "scale": scale, "reps": reps,
        "prim": {"alpha": alpha, "min_mass": min_mass, "min_coverage": min_coverage},
        "parameters": [asdict(p) for p in params],
    })
    mark_folder(out, "discover", ["discovery.json", "samples.csv", "trajectory.csv", "box.csv", "box.json", "reps", "plots"])
    result = run_ensemble([v for pair in zip(opt_v, ref_v) for v in pair], out, seeds, scale, executor=executor,
                          workers=workers, scheduler=scheduler, progress=progress)
    if result.failures:
        return DiscoveryResult(out, None, None, None, ensemble=result)
    y_opt = outcome_values(out, opt_v, reps, span, [metric])[metric].to_numpy()
    y_ref = outcome_values(out, ref_v, reps, span, [metric])[metric].to_numpy()
    fails = y_opt > (1 - cut) * y_ref
    table = pd.DataFrame(X, columns=[p.key for p in params])
    table.insert(0, "sample", [f"d{i:04d}" for i in range(samples)])
    table[f"{metric}_{opt.name}"] = y_opt
    table[f"{metric}_{ref.name}"] = y_ref
    with np.errstate(divide="ignore", invalid="ignore"):
        table["reduction"] = np.where(y_ref > 0, 1 - y_opt / y_ref, np.nan)
    table["case"] = fails
    write_atomic(out / "samples.csv", csv_bytes(table))
    lows, highs = [p.low for p in params], [p.high for p in params]
    boxes = prim_peel(X, fails, lows, highs, alpha, min_mass) if fails.any() else []
    box = choose_box(boxes, min_coverage) if boxes else None
    write_atomic(out / "trajectory.csv", csv_bytes(pd.DataFrame(
        [{"step": b.step, "coverage": b.coverage, "density": b.density, "mass": b.mass, "n": b.n,
          "restricted": int(np.sum((b.low > np.array(lows)) | (b.high < np.array(highs))))} for b in boxes],
        columns=["step", "coverage", "density", "mass", "n", "restricted"])))
    limits = box_limits(box, params, X, fails) if box is not None else None
    if limits is not None:
        write_atomic(out / "box.csv", csv_bytes(limits))
    summary = {"cases": int(fails.sum()), "points": int(samples), "base_rate": float(fails.mean()),
               "box": None if box is None else {"step": box.step, "coverage": box.coverage, "density": box.density,
                                                "mass": box.mass, "n": box.n}}
    write_json(out / "box.json", summary)
    title = f"{opt.name} vs {ref.name}: {metric} not cut by {cut:.0%} ({window.replace('_', ' ')})"
    return DiscoveryResult(out, table, box, limits, boxes, result, params, title, cut)


def _inside(X: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((X >= low) & (X <= high), axis=1)


def quasi_p_value(X: np.ndarray, y: np.ndarray, box: Box, j: int, lows, highs) -> float:
    """Chance of the box's count of cases at the density the box would have without its restriction on ``j``."""
    from scipy.stats import binom

    inside = _inside(X, box.low, box.high)
    low, high = box.low.copy(), box.high.copy()
    low[j], high[j] = lows[j], highs[j]
    wider = _inside(X, low, high)
    return float(binom.sf(int(y[inside].sum()) - 1, int(inside.sum()), float(y[wider].mean())))


def box_limits(box: Box, params: list[Parameter], X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The box, one row per parameter: its limits, the range sampled, whether restricted, and the quasi-p-value."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=bool)
    lows, highs = [p.low for p in params], [p.high for p in params]
    rows = []
    for j, p in enumerate(params):
        restricted = bool(box.low[j] > p.low or box.high[j] < p.high)
        rows.append({"parameter": p.key, "range_low": p.low, "range_high": p.high,
                     "box_low": float(box.low[j]), "box_high": float(box.high[j]), "restricted": restricted,
                     "qp": quasi_p_value(X, y, box, j, lows, highs) if restricted else np.nan})
    df = pd.DataFrame(rows)
    # restricted parameters first, the best supported (lowest quasi-p-value) on top
    return df.sort_values(["restricted", "qp"], ascending=[False, True], kind="stable", na_position="last") \
        .reset_index(drop=True)


def describe(result: DiscoveryResult) -> str:
    """The box in words, for the terminal."""
    t = result.table
    n_cases = int(t["case"].sum())
    lines = [f"{n_cases} of {len(t)} sample points are cases of interest ({n_cases / len(t):.0%})"]
    if result.box is None:
        lines.append("no box: no case of interest to describe")
        return "\n".join(lines)
    b = result.box
    lines.append(f"PRIM box (peeling step {b.step}): coverage {b.coverage:.0%}, density {b.density:.0%}, "
                 f"mass {b.mass:.0%} ({b.n} points)")
    restricted = result.limits[result.limits.restricted]
    if restricted.empty:
        lines.append("  no parameter is restricted: the cases are spread over the whole space sampled")
    for _, r in restricted.iterrows():
        lines.append(f"  {r.parameter}: {r.box_low:.4g} .. {r.box_high:.4g}   (sampled {r.range_low:.4g} .. {r.range_high:.4g}; "
                     f"quasi-p {r.qp:.2g}{'' if r.qp <= 0.05 else ', weak'})")
    return "\n".join(lines)
