"""Running scenarios: one run to an outputs folder (``monthly.csv``, ``run.json``, ``plots/``)."""

from __future__ import annotations

import platform
import subprocess
import time
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from . import __version__
from .data import REPO_ROOT
from .model import BorderModel
from .outputs import staged_directory, to_csv_bytes, write_atomic, write_json
from .plots import run_plots
from .scenario import Scenario


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def simulate(scenario: Scenario, seed: int | None = None, scale: float | None = None, progress=None) -> tuple[pd.DataFrame, BorderModel]:
    """Run the model to the end; ``progress`` (optional) is called with the number of days done."""
    model = BorderModel(scenario, seed=seed, scale=scale)
    while model.running:
        model.step()
        if progress is not None:
            progress(model.day)
    return model.results(), model


def provenance(model: BorderModel, wall_s: float) -> dict:
    sc = model.spec
    return {
        "scenario": sc.to_dict(),
        "scenario_name": sc.name,
        "scenario_digest": sc.digest(),
        "seed": model.seed,
        "scale": model.scale,
        "persons_simulated": int(len(model.people)),
        "inflow_projected_months": model.schedule.projected_months,
        "rule_regimes": [
            {"from": str(model.date_of(int(np.argmax(model.regime_of_day == k)))), "rules": vars(r) | {}}
            for k, r in enumerate(model.regimes)
        ],
        "bordersim_version": __version__,
        "mesa_version": mesa.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "git_commit": git_commit(),
        "wall_time_s": round(wall_s, 3),
    }


def run_to_folder(scenario: Scenario, out: Path, seed: int | None = None, scale: float | None = None,
                  progress=None, plots: bool = True) -> Path:
    """Run and write ``out/``; the folder appears only when complete."""
    t0 = time.perf_counter()
    monthly, model = simulate(scenario, seed, scale, progress)
    wall = time.perf_counter() - t0
    with staged_directory(out) as stage:
        write_atomic(stage / "monthly.csv", to_csv_bytes(monthly))
        if plots:
            run_plots(monthly, model.rule_changes, stage / "plots", scenario.name)
        write_json(stage / "run.json", provenance(model, wall))
    return Path(out)


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


# --- the Python API --------------------------------------------------------


def _as_scenario(s, seed=None, scale=None) -> Scenario:
    from .scenario import load_scenario

    if isinstance(s, Scenario):
        updates = {k: v for k, v in (("seed", seed), ("scale", scale)) if v is not None}
        return s.model_copy(update={"run": s.run.model_copy(update=updates)}) if updates else s
    return load_scenario(s, seed=seed, scale=scale)


def run_scenario(scenario, seed: int | None = None, scale: float | None = None) -> pd.DataFrame:
    """Run one scenario (a path or a :class:`Scenario`) once; return its monthly outputs."""
    monthly, _ = simulate(_as_scenario(scenario, seed, scale))
    return monthly


def compare(scenarios, out, reference: str | None = None, reps: int = 10, master_seed: int | None = None,
            scale: float | None = None, workers: int | None = None, executor: str = "local",
            scheduler: str | None = None, progress: bool = False, plots: bool = True):
    """Run an ensemble of several options and summarise it; resumes from what ``out`` already holds.

    Returns ``(summary, differences, ensemble_result)``; summary and differences are pandas DataFrames
    (also written to ``out/summary.csv`` and ``out/differences.csv``).
    """
    from .ensemble import check_names, replication_seeds, run_ensemble, write_manifest
    from .report import build_report

    scs = [_as_scenario(s) for s in scenarios]
    reference = check_names(scs, reference)
    master_seed = scs[0].run.seed if master_seed is None else master_seed
    scale = scs[0].run.scale if scale is None else scale
    scs = [s.model_copy(update={"run": s.run.model_copy(update={"scale": scale, "seed": master_seed})}) for s in scs]
    seeds = replication_seeds(master_seed, reps)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, scs, reference, seeds, master_seed, scale)
    result = run_ensemble(scs, out, seeds, scale, executor=executor, workers=workers, scheduler=scheduler, progress=progress)
    if result.failures:
        return None, None, result
    summary, differences = build_report(out, plots=plots)
    return summary, differences, result
