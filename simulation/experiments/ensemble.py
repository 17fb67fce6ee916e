"""Ensembles: replications of several scenarios with common seeds, run on a local pool or Dask.

Replication ``i`` of every scenario uses the same seed, spawned from
``numpy.random.SeedSequence(master_seed)``; inside a run every decision reads
its own common-random-number stream (:mod:`simulation.randomness`), so the
differences between options are paired.

Each replication is written on its own, atomically, to
``OUT/reps/<scenario>-<digest>/rep-<i>.parquet`` (Parquet: typed columns,
compact, and a file is either whole or unreadable, which makes a torn or
corrupted file easy to detect). A rerun skips replications already on disk,
and recomputes any it cannot read. Each file also carries a SHA-256 of its
table in the Parquet metadata, checked on reading: Parquet has no checksum of
its own by default, and some flipped bits leave a file readable but wrong.

A full disk or a read-only output folder stops the ensemble at once (the
error reaches the command, which exits 2): every other replication would fail
the same way. Pool workers exit when their parent dies, so a parent killed
with SIGKILL leaves no orphans waiting for work.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .outputs import write_atomic, write_json
from .scenario import Scenario, scenario_from_dict


class EnsembleError(Exception):
    """A bad ensemble request (unknown reference, duplicate names, unreachable scheduler...)."""


def replication_seeds(master_seed: int, reps: int) -> list[int]:
    """One seed per replication, the same for every scenario."""
    children = np.random.SeedSequence(master_seed).spawn(reps)
    return [int(c.generate_state(1, np.uint32)[0]) for c in children]


@dataclass(frozen=True)
class Task:
    scenario_index: int
    rep: int
    seed: int
    path: str


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
    ran: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0


def rep_dir(out: Path, sc: Scenario) -> Path:
    """Where a scenario's replications live: keyed by its content, scale and master seed, so a rerun with
    another scale or seed never picks up replications that were made differently."""
    return Path(out) / "reps" / f"{sc.name}-{sc.digest()}-scale{sc.run.scale:g}-seed{sc.run.seed}"


def rep_path(out: Path, sc: Scenario, rep: int) -> Path:
    return rep_dir(out, sc) / f"rep-{rep:04d}.parquet"


CHECKSUM_KEY = b"bordersim_sha256"


def _table_digest(df: pd.DataFrame) -> bytes:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest().encode()


def encode_rep(monthly: pd.DataFrame) -> bytes:
    """Parquet bytes of a replication, with the SHA-256 of its table in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(monthly, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), CHECKSUM_KEY: _table_digest(monthly)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def read_rep(path: Path) -> pd.DataFrame | None:
    """A stored replication, or None if it is missing, unreadable or fails its checksum (then it is recomputed)."""
    try:
        import pyarrow.parquet as pq

        stored = (pq.read_schema(path).metadata or {}).get(CHECKSUM_KEY)
        df = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - any unreadable file is recomputed, whatever the reason
        return None
    return df if stored is not None and stored == _table_digest(df) else None


def run_replication(scenario_dict: dict, seed: int, scale: float, path: str) -> tuple[str, float]:
    """Run one replication and write it atomically. Runs in a worker process."""
    from .runner import simulate

    t0 = time.perf_counter()
    sc = scenario_from_dict(scenario_dict)
    monthly, _ = simulate(sc, seed=seed, scale=scale)
    monthly = monthly.assign(rep_seed=seed)
    try:
        write_atomic(Path(path), encode_rep(monthly))
    except OSError as e:
        if e.filename is None:  # a write() that fails names no file: say which
            e.filename = path
        raise
    return path, time.perf_counter() - t0


def _pending(out: Path, scenarios: list[Scenario], seeds: list[int]) -> tuple[list[Task], int]:
    tasks, done = [], 0
    for si, sc in enumerate(scenarios):
        for rep, seed in enumerate(seeds):
            path = rep_path(out, sc, rep)
            if path.exists() and read_rep(path) is not None:
                done += 1
                continue
            tasks.append(Task(si, rep, seed, str(path)))
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


def write_manifest(out: Path, scenarios: list[Scenario], reference: str, seeds: list[int], master_seed: int, scale: float) -> None:
    write_json(
        Path(out) / "comparison.json",
        {
            "reference": reference,
            "master_seed": master_seed,
            "scale": scale,
            "seeds": seeds,
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
                 workers: int | None = None, scheduler: str | None = None, progress: bool = True) -> EnsembleResult:
    """Run every (scenario, replication) not yet on disk. Failures are collected, not raised."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    out = Path(out)
    result = EnsembleResult(out=out, scenarios=scenarios, seeds=seeds)
    tasks, result.skipped = _pending(out, scenarios, seeds)
    total = len(scenarios) * len(seeds)
    dicts = [s.to_dict() for s in scenarios]
    with tqdm(total=total, initial=result.skipped, unit="rep", desc="replications", disable=not progress) as bar:
        def done(task: Task, error: str | None) -> None:
            bar.update(1)
            if error is None:
                result.ran += 1
            else:
                result.failures.append(Failure(scenarios[task.scenario_index].name, task.rep, task.seed, error))

        if executor == "dask":
            _run_dask(tasks, dicts, scale, workers, scheduler, done)
        else:
            _run_local(tasks, dicts, scale, workers, done)
    result.wall_s = time.perf_counter() - t0
    return result


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


#: Errors of the output storage: every other replication would fail the same way, so the ensemble stops.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def _storage_error(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


def _exit_with_parent(parent_pid: int) -> None:
    """Pool worker initializer: exit as soon as the parent is gone (a SIGKILLed parent would leave workers waiting)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_local(tasks, dicts, scale, workers, done) -> None:
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for t in tasks:
            try:
                run_replication(dicts[t.scenario_index], t.seed, scale, t.path)
                done(t, None)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                if _storage_error(e):
                    raise
                done(t, _error_text(e))
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_replication, dicts[t.scenario_index], t.seed, scale, t.path): t for t in tasks}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                exc = f.exception()
                if _storage_error(exc):
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise exc
                done(futures[f], None if exc is None else _error_text(exc))


def _run_dask(tasks, dicts, scale, workers, scheduler, done) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as e:  # pragma: no cover - dask is a dependency
        raise EnsembleError(f"--executor dask needs dask.distributed: {e}") from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="3s")
            except (OSError, TimeoutError) as e:
                raise EnsembleError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({e})") from None
        else:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            client = Client(cluster)
        with client:
            futures = {client.submit(run_replication, dicts[t.scenario_index], t.seed, scale, t.path, pure=False): t for t in tasks}
            for f in as_completed(list(futures)):
                t = futures[f]
                try:
                    f.result()
                    done(t, None)
                except Exception as e:  # noqa: BLE001 - report and go on with the others
                    if _storage_error(e):
                        raise
                    done(t, _error_text(e))
    finally:
        if cluster is not None:
            cluster.close()


def load_replications(out: Path, sc: Scenario, n_reps: int) -> pd.DataFrame:
    """All stored replications of one scenario, in replication order, with a ``rep`` column."""
    frames = []
    for rep in range(n_reps):
        df = read_rep(rep_path(out, sc, rep))
        if df is None:
            raise EnsembleError(f"{rep_path(out, sc, rep)}: missing, unreadable or corrupted; rerun 'bordersim compare' to complete it")
        frames.append(df.assign(rep=rep))
    return pd.concat(frames, ignore_index=True)


def save_text(path: Path, text: str) -> None:
    write_atomic(path, text.encode())
