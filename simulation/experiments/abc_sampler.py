"""pyabc's particles, simulated on bordersim's replication engine, the same whatever the workers.

pyabc (ABC-SMC) asks its sampler for ``n`` accepted particles; each particle
comes from ``simulate_one()``, which draws parameters from the current
proposal, runs the model and decides acceptance. :class:`EngineSampler` runs
``simulate_one`` in batches on an :class:`~simulation.experiments.engine.Engine`
(a local process pool or Dask): each job seeds numpy's and Python's global
generators from its own ``SeedSequence`` child before calling it, and the
particles are taken in job order, not in the order jobs finish, so a
calibration gives the same posterior with 1 worker, 2 workers or a Dask cluster.
"""

from __future__ import annotations

import random

import cloudpickle
import numpy as np
from pyabc.sampler import Sampler

from .engine import Engine

_FUNCTIONS: dict[int, object] = {}  # in a worker: the unpickled simulate_one of each generation


def _particle(blob: bytes, key: int, seed: int):
    """Run one pyabc particle with its own seed (in a worker process)."""
    fn = _FUNCTIONS.get(key)
    if fn is None:
        _FUNCTIONS.clear()
        fn = _FUNCTIONS[key] = cloudpickle.loads(blob)
    np.random.seed(seed)
    random.seed(seed)
    return fn()


class EngineSampler(Sampler):
    """A pyabc sampler on a bordersim :class:`Engine`; deterministic given ``seed``."""

    def __init__(self, engine: Engine, seed: int, min_batch: int = 8, progress=None):
        super().__init__()
        self.engine, self.seed, self.min_batch = engine, int(seed), min_batch
        self.progress = progress
        self._calls = 0
        self._acceptance = 0.5  # a first guess, updated from each generation

    def __getstate__(self):
        # pyabc's simulate_one refers back to the sampler: what travels to the workers must not carry the pool
        state = dict(self.__dict__)
        state["engine"] = state["progress"] = None
        return state

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        blob = cloudpickle.dumps(simulate_one)
        key = self._calls
        self._calls += 1
        sample = self._create_empty_sample()
        root = np.random.SeedSequence([self.seed, key])
        evaluated = accepted = batch_no = 0
        while accepted < n and evaluated < max_eval:
            # enough jobs for the missing particles at the last acceptance rate (not the worker count: determinism);
            # pyabc's first sample from the prior accepts every particle
            rate = 1.0 if all_accepted else max(self._acceptance, 0.02)
            size = int(min(max(np.ceil((n - accepted) / rate * (1.0 if all_accepted else 1.2)), self.min_batch),
                           max_eval - evaluated if np.isfinite(max_eval) else 10**9))
            seeds = [int(c.generate_state(1, np.uint32)[0]) for c in root.spawn(size)]
            results: list = [None] * size
            errors: list[str] = []

            def done(i, particle, error, results=results, errors=errors):
                if error is not None:
                    errors.append(error)
                results[i] = particle

            self.engine.run(_particle, [(blob, key, s) for s in seeds], done)
            if errors:
                raise RuntimeError(f"a calibration run failed: {errors[0]}")
            batch_no += 1
            for particle in results:  # in job order
                if accepted >= n:
                    break
                sample.append(particle)
                evaluated += 1
                accepted += bool(particle.accepted)
            if self.progress is not None:
                self.progress(t, evaluated, accepted, n)
        if not all_accepted:
            self._acceptance = max(accepted / max(evaluated, 1), 0.02)
        self.nr_evaluations_ = evaluated
        if sample.n_accepted < n:
            sample.ok = False
        return sample
