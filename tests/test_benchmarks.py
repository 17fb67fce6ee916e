"""The benchmarks: the naive per-agent reference makes bordersim's choices, and the smoke run gives a full table.

No timing is asserted here (timings belong to ``python -m benchmarks``, see docs/performance.md).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.naive import check_same_choices, record_workload, run_naive
from simulation.data import REPO_ROOT
from simulation.calendar import parse_date

from tests.conftest import small_scenario


def _window(sc, start: str, n_days: int):
    first = (parse_date(start) - sc.time.first_day).days
    return record_workload(sc, first, n_days)


@pytest.mark.parametrize("name, start, window", [
    ("history", "2023-03-11", "2023-03-11"),  # across the 2023 Protocol: deciders believe either rule set
    ("history", "2020-03-10", "2020-03-10"),  # across the COVID direct-back orders
    ("roxham_designated_port", "2023-03-11", "2023-03-11"),  # Roxham as a port: the other claim-chance branch
])
def test_naive_agents_choose_as_bordersim(name, start, window):
    sc = small_scenario(name, start=start[:7], end="2023-12" if start.startswith("2023") else "2020-12", scale=0.004)
    model = _window(sc, window, 28)
    records = model.records
    check = check_same_choices(model, records)
    assert check["decisions"] > 500 and check["days"] > 20
    assert check["naive_mismatches"] == 0
    assert check["utility_mismatches"] == 0  # every utility the very same double, not only the choices
    assert check["kernel_mismatches"] == 0
    # not a vacuous check: people who believe different rules, and more than one choice made
    assert len(np.unique(np.concatenate([r.known_regime for r in records]))) >= 2
    assert sum(c > 0 for c in check["choices"]) >= 2


def test_naive_agents_are_mesa_agents_stepped_each_tick():
    model = _window(small_scenario("history", start="2017-01", end="2017-12", scale=0.002), "2017-06-01", 5)
    naive, choices = run_naive(model, model.records)
    assert len(naive.agents) == len(naive.person_ids) > 0
    assert naive.evaluations == sum(len(r.ids) for r in model.records)
    assert all(np.array_equal(c, r.choices) for c, r in zip(choices, model.records))


def test_smoke_benchmark_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "smoke.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    names = [r["workload"] for r in rows]
    assert names[0].startswith("naive reference") and names[1].startswith("bordersim batched choice")
    assert sum(n.startswith("bordersim history") for n in names) >= 2
    assert any(n.startswith("compare") and n.endswith("1 worker") for n in names)
    assert any(n.startswith("compare") and n.endswith("workers") for n in names)
    assert any("branching" in n for n in names) and any("--no-branch" in n for n in names)
    assert any(n.startswith("decision kernel") for n in names) and any(n.startswith("numpy reference") for n in names)
    for r in rows:
        counted = ("persons", "agent_steps", "agent_steps_per_s", "ratio_vs_naive")
        for col in ("wall_s", "peak_rss_mb") + (() if "branch" in r["workload"] else counted):
            assert float(r[col]) > 0, (r["workload"], col, r[col])
    assert float(rows[0]["ratio_vs_naive"]) == pytest.approx(1.0)
    md = (tmp_path / "smoke.md").read_text()
    assert "| workload |" in md and "AMD" in md or "cores" in md
    info = json.loads((tmp_path / "smoke.json").read_text())
    assert info["check"]["naive_mismatches"] == 0 and info["check"]["kernel_mismatches"] == 0
    assert info["check"]["utility_mismatches"] == 0
    assert info["check"]["decisions"] > 0
    assert "| branching vs --no-branch" in md and "| kernel vs numpy reference" in md  # the ratios table
    assert "results byte-identical: yes" in json.dumps(info["summary"])
    for key in ("cpu", "cores", "ram_gb", "python", "numpy"):
        assert info["machine"][key]
