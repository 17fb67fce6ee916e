"""One run of the model: the single entry point every command uses, and its result object.

:func:`simulate` builds a :class:`~simulation.core.model.BorderModel` from a
scenario (or continues one), steps it to the end (or to ``until``) and returns
a :class:`RunResult`: the monthly rows, irregular crossings by nationality
group, the rules in force period by period, and provenance. ``bordersim run``,
``compare``, ``calibrate``, ``backtest``, ``sensitivity``, ``discover``, the
dashboard and the benchmarks all run the model through it.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..calendar import parse_date
from ..core.model import BorderModel
from ..data import REPO_ROOT
from ..files import to_csv_bytes, write_atomic, write_json
from ..scenario import Scenario, load_scenario


@dataclass
class RunResult:
    """What one run produced."""

    monthly: pd.DataFrame  #: one row per month (the columns of simulation.core.columns)
    crossings_by_group: np.ndarray  #: irregular crossings (persons), months x nationality groups
    timeline: list  #: (first day, RuleSet) for each period of distinct rules
    provenance: dict = field(default_factory=dict)  #: scenario, seed, scale, versions, commit, wall time
    model: BorderModel | None = None  #: the model itself, to continue it or look inside (``keep_model=True``)


def git_commit() -> str | None:
    """The repository's commit, if bordersim runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def as_scenario(s, seed: int | None = None, scale: float | None = None) -> Scenario:
    """A :class:`Scenario` from a scenario or a path, with ``seed``/``scale`` overridden where given."""
    if isinstance(s, Scenario):
        updates = {k: v for k, v in (("seed", seed), ("scale", scale)) if v is not None}
        return s.model_copy(update={"run": s.run.model_copy(update=updates)}) if updates else s
    return load_scenario(s, seed=seed, scale=scale)


def simulate(scenario=None, seed: int | None = None, scale: float | None = None, *, until: str | dt.date | None = None,
             model: BorderModel | None = None, progress=None, keep_model: bool = False,
             decision_log: list | None = None, commit: bool = True) -> RunResult:
    """Run the model and return a :class:`RunResult`.

    Args:
        scenario: a :class:`Scenario` or a scenario file (default: the schema defaults).
        seed, scale: override the scenario's ``run.seed`` and ``run.scale``.
        until: stop before this day (a date or 'YYYY-MM[-DD]'; default: the scenario's end). The result keeps
            the model (as with ``keep_model``) so it can be continued.
        model: continue this model instead of building one (``scenario``, ``seed``, ``scale`` are then ignored).
        progress: called with the number of days done, every day.
        decision_log: a list that receives a :class:`~simulation.core.model.DecisionRecord` per day of decisions.
        commit: record the git commit in the provenance (a subprocess; the replication workers skip it).
    """
    t0 = time.perf_counter()
    if model is None:
        sc = Scenario() if scenario is None else as_scenario(scenario, seed, scale)
        model = BorderModel(sc)
    if decision_log is not None:
        model.decision_log = decision_log
    stop = model.n_days if until is None else min(model.n_days, (parse_date(until) - model.first_day).days)
    while model.running and model.day < stop:
        model.step()
        if progress is not None:
            progress(model.day)
    wall = time.perf_counter() - t0
    result = RunResult(
        monthly=model.results(),
        crossings_by_group=np.array(model.recorder.crossings_by_group).reshape(-1, len(model.group_affinity)),
        timeline=list(model.timeline),
        provenance=provenance(model, wall, commit),
        model=model if (keep_model or until is not None) else None,
    )
    return result


def provenance(model: BorderModel, wall_s: float, commit: bool = True) -> dict:
    """Where a run's numbers come from: the resolved scenario, seed, scale, versions, commit and time."""
    import mesa

    sc = model.spec
    return {
        "scenario": sc.to_dict(),
        "scenario_name": sc.name,
        "scenario_digest": sc.digest(),
        "seed": model.seed,
        "scale": model.scale,
        "persons_simulated": int(len(model.people)),
        "decisions": int(model.decisions),
        "inflow_projected_months": model.schedule.projected_months,
        "exogenous_claims_projected_months": model.exogenous_projected_months,
        "rule_regimes": [{"from": str(start), "rules": rules.values()} for start, rules in model.timeline],
        "bordersim_version": __version__,
        "mesa_version": mesa.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "git_commit": git_commit() if commit else None,
        "wall_time_s": round(wall_s, 3),
    }


def run_scenario(scenario, seed: int | None = None, scale: float | None = None) -> pd.DataFrame:
    """Run one scenario (a path or a :class:`Scenario`) once; return its monthly outputs."""
    return simulate(scenario, seed, scale).monthly


# --- a run's folder -------------------------------------------------------------------


def write_run(result: RunResult, folder: Path) -> None:
    """Write ``monthly.csv`` and ``run.json`` into ``folder``."""
    write_atomic(Path(folder) / "monthly.csv", to_csv_bytes(result.monthly))
    write_json(Path(folder) / "run.json", result.provenance)


def is_complete(out: Path, scenario: Scenario, seed: int, scale: float) -> bool:
    """Whether ``out`` already holds a finished run of this scenario, seed and scale."""
    import json

    try:
        meta = json.loads((Path(out) / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        meta.get("scenario_digest") == scenario.digest()
        and meta.get("seed") == seed
        and meta.get("scale") == scale
        and (Path(out) / "monthly.csv").is_file()
    )
