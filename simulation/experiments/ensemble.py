"""Ensembles: replications of several scenarios with common seeds, stored so that a rerun resumes.

Replication ``i`` of every scenario uses the same seed
(:func:`~simulation.experiments.engine.replication_seeds`); inside a run every
decision reads its own common-random-number stream
(:mod:`simulation.core.streams`), so the differences between options are
paired. Replications run on the engine of :mod:`simulation.experiments.engine`
(a local pool or Dask) and are stored one file each
(:mod:`simulation.experiments.storage`); a rerun skips those on disk and
recomputes any it cannot read. A full disk or a read-only output folder
stops the ensemble at once (the error reaches the command, which exits 2).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..files import claim_output_dir, mark_folder, to_csv_bytes, write_atomic, write_json
from ..scenario import Scenario, scenario_from_dict
from ..scenario.variants import with_values
from .engine import EnsembleError, replication_seeds, run_jobs
from .posterior import digest as posterior_digest
from .posterior import draws, load_posterior, parameters
from .run import as_scenario, simulate
from .storage import encode_rep, read_rep, rep_path
from .summary import convergence, summarise


@dataclass(frozen=True)
class Task:
    scenario_index: int
    rep: int
    seed: int
    path: str
    values: dict | None = None  # the replication's parameter set, from a posterior


@dataclass
class Failure:
    scenario: str
    rep: int
    seed: int
    error: str


@dataclass
class EnsembleResult:
    out: Path
    scenarios: list[Scenario]
    seeds: list[int]
    parameter_sets: list[dict] | None = None
    ran: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0


def run_replication(scenario_dict: dict, seed: int, scale: float, path: str, values: dict | None = None) -> tuple[str, float]:
    """Run one replication (with ``values`` set, a posterior's parameter set) and write it atomically. In a worker."""
    t0 = time.perf_counter()
    sc = scenario_from_dict(scenario_dict)
    if values:
        sc = with_values(sc, {k: v for k, v in values.items() if k != "row"}, origin="posterior")
    result = simulate(sc, seed=seed, scale=scale, commit=False)
    monthly = result.monthly.assign(rep_seed=seed)
    try:
        write_atomic(Path(path), encode_rep(monthly))
    except OSError as e:
        if e.filename is None:  # a write() that fails names no file: say which
            e.filename = path
        raise
    return path, time.perf_counter() - t0


def _pending(out: Path, scenarios: list[Scenario], seeds: list[int], sets: list[dict] | None = None,
             tag: str = "") -> tuple[list[Task], int]:
    tasks, done = [], 0
    for si, sc in enumerate(scenarios):
        for rep, seed in enumerate(seeds):
            path = rep_path(out, sc, rep, tag)
            if path.exists() and read_rep(path) is not None:
                done += 1
                continue
            tasks.append(Task(si, rep, seed, str(path), sets[rep] if sets else None))
    return tasks, done


def check_names(scenarios: list[Scenario], reference: str | None) -> str:
    if not scenarios:
        raise EnsembleError("no scenarios given; name at least one scenario file")
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EnsembleError(f"two scenarios share the name {dup[0]!r}; names must be unique (set [scenario] name)")
    if reference is None:
        return names[0]
    if reference not in names:
        raise EnsembleError(f"--reference {reference!r} is not one of the scenarios compared; allowed: {', '.join(names)}")
    return reference


def write_manifest(out: Path, scenarios: list[Scenario], reference: str, seeds: list[int], master_seed: int,
                   scale: float, posterior: dict | None = None) -> None:
    """comparison.json: what was compared, with which seeds and (with a posterior) which parameter sets."""
    write_json(
        Path(out) / "comparison.json",
        {
            "reference": reference,
            "master_seed": master_seed,
            "scale": scale,
            "seeds": seeds,
            "posterior": posterior,
            "scenarios": [{"name": s.name, "digest": s.digest(), "resolved": s.to_dict()} for s in scenarios],
        },
    )


def read_manifest(out: Path) -> dict:
    path = Path(out) / "comparison.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EnsembleError(f"{out}: no comparison.json here; run 'bordersim compare ... --out {out}' first") from None
    except ValueError as e:
        raise EnsembleError(f"{path}: unreadable ({e}); rerun 'bordersim compare'") from None


def run_ensemble(scenarios: list[Scenario], out: Path, seeds: list[int], scale: float, executor: str = "local",
                 workers: int | None = None, scheduler: str | None = None, progress: bool = True,
                 parameter_sets: list[dict] | None = None, posterior_tag: str = "") -> EnsembleResult:
    """Run every (scenario, replication) not yet on disk. Failures are collected, not raised.

    With ``parameter_sets`` (one per replication, from a posterior), replication ``i`` of every scenario uses set ``i``.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    out = Path(out)
    result = EnsembleResult(out=out, scenarios=scenarios, seeds=seeds, parameter_sets=parameter_sets)
    tasks, result.skipped = _pending(out, scenarios, seeds, parameter_sets, posterior_tag)
    dicts = [s.to_dict() for s in scenarios]
    with tqdm(total=len(scenarios) * len(seeds), initial=result.skipped, unit="rep", desc="replications",
              disable=not progress) as bar:
        def done(i: int, _, error: str | None) -> None:
            bar.update(1)
            t = tasks[i]
            if error is None:
                result.ran += 1
            else:
                result.failures.append(Failure(scenarios[t.scenario_index].name, t.rep, t.seed, error))

        jobs = [(dicts[t.scenario_index], t.seed, scale, t.path, t.values) for t in tasks]
        run_jobs(run_replication, jobs, done, executor=executor, workers=workers, scheduler=scheduler)
    result.wall_s = time.perf_counter() - t0
    return result


def load_replications(out: Path, sc: Scenario, n_reps: int, posterior_tag: str = "") -> pd.DataFrame:
    """All stored replications of one scenario, in replication order, with a ``rep`` column."""
    frames = []
    for rep in range(n_reps):
        df = read_rep(rep_path(out, sc, rep, posterior_tag))
        if df is None:
            raise EnsembleError(f"{rep_path(out, sc, rep, posterior_tag)}: missing, unreadable or corrupted; "
                                "rerun 'bordersim compare' to complete it")
        frames.append(df.assign(rep=rep))
    return pd.concat(frames, ignore_index=True)



def summarise_folder(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict, list[Scenario], dict]:
    """(summary, differences, manifest, scenarios, replications by scenario) from a comparison folder;
    also writes ``summary.csv`` and ``differences.csv`` there."""
    out = Path(out)
    manifest = read_manifest(out)
    scenarios = [scenario_from_dict(s["resolved"]) for s in manifest["scenarios"]]
    n = len(manifest["seeds"])
    post = manifest.get("posterior") or {}
    per_scenario = {s.name: load_replications(out, s, n, post.get("digest", "")) for s in scenarios}
    summary, differences = summarise(per_scenario, scenarios, manifest["reference"], post.get("sets"))
    write_atomic(out / "summary.csv", to_csv_bytes(summary))
    write_atomic(out / "differences.csv", to_csv_bytes(differences))
    write_atomic(out / "convergence.csv", to_csv_bytes(convergence(per_scenario, scenarios, manifest["reference"])))
    return summary, differences, manifest, scenarios, per_scenario


def run_comparison(scenarios, out, reference: str | None = None, reps: int = 10, master_seed: int | None = None,
                   scale: float | None = None, workers: int | None = None, executor: str = "local",
                   scheduler: str | None = None, progress: bool = False, posterior=None):
    """Run an ensemble of several options and summarise it; resumes from what ``out`` already holds.

    ``posterior``: a posterior file (or its DataFrame): replication ``i`` of every option then uses parameter set
    ``i``, resampled by weight from the master seed. Returns ``(summary, differences, ensemble_result)``; summary
    and differences are ``None`` when replications failed. Writes ``out/comparison.json``, ``out/reps/``,
    ``summary.csv`` and ``differences.csv``.
    """
    scs = [as_scenario(s) for s in scenarios]
    reference = check_names(scs, reference)
    master_seed = scs[0].run.seed if master_seed is None else master_seed
    scale = scs[0].run.scale if scale is None else scale
    scs = [s.model_copy(update={"run": s.run.model_copy(update={"scale": scale, "seed": master_seed})}) for s in scs]
    seeds = replication_seeds(master_seed, reps)
    post, sets, tag = None, None, ""
    if posterior is not None:
        table = posterior if isinstance(posterior, pd.DataFrame) else load_posterior(posterior)
        tag = posterior_digest(table)
        sets = draws(table, master_seed, reps)
        post = {"file": table.attrs.get("file", ""), "digest": tag, "parameters": parameters(table), "sets": sets}
        for sc in scs:  # every key must be one the scenario knows, with an allowed value: fail before running
            with_values(sc, {k: v for k, v in sets[0].items() if k != "row"}, origin=f"--posterior {post['file']}")
    out = claim_output_dir(Path(out), "compare")
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, scs, reference, seeds, master_seed, scale, post)
    mark_folder(out, "compare", ["comparison.json", "reps", "summary.csv", "differences.csv", "convergence.csv", "report.md",
                                 "report.html", "plots"])
    result = run_ensemble(scs, out, seeds, scale, executor=executor, workers=workers, scheduler=scheduler,
                          progress=progress, parameter_sets=sets, posterior_tag=tag)
    if result.failures:
        return None, None, result
    summary, differences, *_ = summarise_folder(out)
    return summary, differences, result
