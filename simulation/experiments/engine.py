"""The replication engine: run many independent jobs on a local process pool or on Dask, and their seeds.

Every command that runs replications (``compare``, ``calibrate``, ``backtest``,
``sensitivity``, ``discover``) hands its jobs to :func:`run_jobs`. A job is a
top-level function and its arguments; results come back through a callback in
the order jobs finish. A job that fails is reported, not raised, and the
others go on, except when the output storage fails (disk full, read-only,
permission denied): every other job would fail the same way, so the engine
stops at once and raises. Pool workers exit when their parent dies, so a
parent killed with SIGKILL leaves no orphans waiting for work.

Seeds: replication ``i`` of every scenario uses the same seed, spawned from
``numpy.random.SeedSequence(master_seed)``, whatever the executor or the
number of workers.
"""

from __future__ import annotations

import errno
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable

import numpy as np

EXECUTORS = ("local", "dask")


class EnsembleError(Exception):
    """A bad request for replications (unknown reference, duplicate names, unreachable scheduler...)."""


def replication_seeds(master_seed: int, reps: int) -> list[int]:
    """One seed per replication, the same for every scenario."""
    children = np.random.SeedSequence(master_seed).spawn(reps)
    return [int(c.generate_state(1, np.uint32)[0]) for c in children]


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


#: Errors of the output storage: every other job would fail the same way, so the engine stops.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def storage_error(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


def _exit_with_parent(parent_pid: int) -> None:
    """Pool worker initializer: exit as soon as the parent is gone (a SIGKILLed parent would leave workers waiting)."""

    def watch() -> None:
        # every 50 ms: a replication at a small scale takes a fraction of a second, and an orphan that kept going
        # for half a second could finish and write the rest of a killed comparison (seen in CI)
        while os.getppid() == parent_pid:
            time.sleep(0.05)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


Done = Callable[[int, object, "str | None"], None]


class Engine:
    """A local process pool or a Dask client, kept open across batches of jobs (calibration runs many batches).

    >>> with Engine("local", workers=1) as engine:
    ...     engine.run(pow, [(2, 3), (3, 2)], lambda i, result, error: print(i, result, error))
    0 8 None
    1 9 None
    """

    def __init__(self, executor: str = "local", workers: int | None = None, scheduler: str | None = None):
        if executor not in EXECUTORS:
            raise EnsembleError(f"executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
        if scheduler and executor != "dask":
            raise EnsembleError("--scheduler goes with --executor dask")
        self.executor, self.workers, self.scheduler = executor, workers or os.cpu_count() or 1, scheduler
        self._pool = self._client = self._cluster = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(wait=exc_type is None)

    def close(self, wait: bool = True) -> None:
        """Stop the workers; ``wait=False`` (after an error) does not wait for running jobs."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def run(self, fn: Callable, jobs: list[tuple], done: Done) -> None:
        """Run ``fn(*job)`` for every job; call ``done(index, result, error)`` as each finishes (error: None or a message)."""
        if not jobs:
            return
        if self.executor == "dask":
            self._run_dask(fn, jobs, done)
        elif self.workers == 1 or len(jobs) == 1 and self._pool is None:
            self._run_here(fn, jobs, done)
        else:
            self._run_pool(fn, jobs, done)

    @staticmethod
    def _run_here(fn, jobs, done) -> None:
        for i, job in enumerate(jobs):
            try:
                result = fn(*job)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                if storage_error(e):
                    raise
                done(i, None, error_text(e))
            else:
                done(i, result, None)

    def _run_pool(self, fn, jobs, done) -> None:
        import multiprocessing as mp

        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_exit_with_parent, initargs=(os.getpid(),))
        futures = {self._pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                exc = f.exception()
                if storage_error(exc):
                    for other in pending:
                        other.cancel()
                    raise exc
                done(futures[f], None if exc is not None else f.result(), None if exc is None else error_text(exc))

    def _connect(self):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as e:  # pragma: no cover - dask is a dependency
            raise EnsembleError(f"--executor dask needs dask.distributed: {e}") from None
        if self.scheduler:
            try:
                self._client = Client(self.scheduler, timeout="3s")
            except (OSError, TimeoutError) as e:
                raise EnsembleError(f"--scheduler {self.scheduler}: cannot reach a Dask scheduler there ({e})") from None
        else:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=":0")
            self._client = Client(self._cluster)
        return self._client

    def _run_dask(self, fn, jobs, done) -> None:
        from dask.distributed import as_completed

        client = self._client or self._connect()
        futures = {client.submit(fn, *job, pure=False): i for i, job in enumerate(jobs)}
        for f in as_completed(list(futures)):
            i = futures[f]
            try:
                result = f.result()
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                if storage_error(e):
                    raise
                done(i, None, error_text(e))
            else:
                done(i, result, None)


def run_jobs(fn: Callable, jobs: list[tuple], done: Done, executor: str = "local", workers: int | None = None,
             scheduler: str | None = None) -> None:
    """One batch of jobs on a fresh :class:`Engine`."""
    with Engine(executor, workers, scheduler) as engine:
        engine.run(fn, jobs, done)
