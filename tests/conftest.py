"""Shared helpers: small, short scenarios built from the bundled files, and a cache of bundled runs.

Runs are kept small (scale 0.002-0.005 of the real population) so the whole
suite stays well under a minute and a half on two cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.data import REPO_ROOT
from simulation.core.model import BorderModel
from simulation.scenario import load_scenario
from simulation.scenario.schema import TimeSpec

SCENARIO_DIR = REPO_ROOT / "scenarios"

#: Scale for the directional checks on bundled scenarios: the smallest at which
#: they held for every seed tried (1-3 at 0.003 and 0.005); two seeds are pooled.
SCENARIO_SCALE = 0.005
SCENARIO_SEEDS = (1, 2)


def small_scenario(name: str = "history", *, start: str | None = None, end: str | None = None,
                   scale: float = 0.003, seed: int = 1):
    """A bundled scenario at a small scale, optionally on a shorter window.

    The window is narrowed with ``model_copy`` (no re-validation), so changes
    dated before ``start`` still shape the rules in force, as in the full run.
    """
    sc = load_scenario(SCENARIO_DIR / f"{name}.toml", seed=seed, scale=scale)
    if start or end:
        sc = sc.model_copy(update={"time": TimeSpec(start=start or sc.time.start, end=end or sc.time.end)})
    return sc


def run_model(scenario) -> BorderModel:
    model = BorderModel(scenario)
    model.run()
    return model


@pytest.fixture
def small():
    """``small(name, start=, end=, scale=, seed=)`` -> a small Scenario (see :func:`small_scenario`)."""
    return small_scenario


@pytest.fixture(scope="session")
def bundled_results():
    """``get(name, seed)`` -> monthly results of a bundled scenario at SCENARIO_SCALE, computed once per session."""
    cache: dict = {}

    def get(name: str, seed: int = 1, scale: float = SCENARIO_SCALE):
        key = (name, seed, scale)
        if key not in cache:
            cache[key] = run_model(small_scenario(name, scale=scale, seed=seed)).results()
        return cache[key]

    return get


@pytest.fixture
def write_toml(tmp_path):
    """``write_toml(name, text)`` -> path of a scenario file written in tmp_path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


SHORT_PROTOCOL = """
[scenario]
name = "short_protocol"
description = "test: the 2023 Protocol on a short window"
policy_date = "2023-03-25"

[time]
start = "2022-11"
end = "2023-08"

[[policy.change]]
name = "additional_protocol_2023"
from = "2023-03-25"
stca_between_ports = true
"""
SHORT_NO_PROTOCOL = """
[scenario]
name = "short_no_protocol"
extends = "short_protocol.toml"

[[policy.change]]
name = "additional_protocol_2023"
enabled = false
"""


@pytest.fixture(scope="module")
def short_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A Protocol option and its no-Protocol reference on a 10-month window (a run takes ~0.2 s of CPU)."""
    d = tmp_path_factory.mktemp("short")
    (d / "short_protocol.toml").write_text(SHORT_PROTOCOL)
    (d / "short_no_protocol.toml").write_text(SHORT_NO_PROTOCOL)
    return d / "short_protocol.toml", d / "short_no_protocol.toml"


def pytest_configure(config):
    """Compile the numba kernels once, into their on-disk cache, before any test or xdist worker starts. In a fresh
    clone the cache is empty, and every worker and every process of every pool would otherwise compile them at the
    same time (about 5 s of CPU each)."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    from simulation.experiments.run import simulate
    from simulation.scenario.variants import truncated

    simulate(truncated(load_scenario(REPO_ROOT / "scenarios" / "history.toml", scale=0.001), "2017-02"))
