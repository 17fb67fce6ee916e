"""Run the benchmarks and write the table: ``python -m benchmarks [--smoke] [--out DIR]``.

Each workload runs in its own Python process (``python -m benchmarks --one SPEC``),
which prints one JSON line; the parent gathers them into a table. Timings on a
shared machine are noisy: compare ratios measured in the same run, and repeat.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
HISTORY = ROOT / "scenarios" / "history.toml"
#: the six options compared by the ensemble workload (the bundled options, reference first)
ENSEMBLE_SCENARIOS = ("no_protocol", "protocol_2023", "protocol_without_resettlement", "suspend_stca",
                      "roxham_designated_port", "protocol_enforcement_surge")
NAIVE_WINDOW_START = "2023-03-01"  # the window replays the days around the 2023 Protocol (people believe either rule)

COLUMNS = ("workload", "persons", "agent_steps", "agent_steps_per_s", "wall_s", "cpu_s", "peak_rss_mb", "ratio_vs_naive",
           "notes")

#: the 2023 options (the Makefile's OPTIONS: every bundled option that differs from 2023-03-25 on)
OPTIONS_2023 = ("no_protocol", "protocol_2023", "protocol_without_resettlement", "suspend_stca", "roxham_designated_port",
                "protocol_enforcement_surge", "protocol_irb_capacity_doubled")
#: the options that differ from 2025-07 on (their reference, the Protocol as it is, first)
OPTIONS_2025 = ("protocol_2023", "stca_struck_down", "terminate_stca", "canada_2025_eligibility")

FULL = dict(scales=(0.005, 0.1, 1.0), naive_scale=0.01, naive_days=61, ensemble_scale=0.02, ensemble_reps=4,
            ensemble_scenarios=ENSEMBLE_SCENARIOS,
            kernel=dict(scale=1.0, start="2024-06-01", n_days=7),
            commits=dict(scales=[0.005, 0.1, 1.0]),
            branching=[dict(label="2023 options", scenarios=list(OPTIONS_2023), reps=4, scale=0.1),
                       dict(label="options differing from 2025-07 on", scenarios=list(OPTIONS_2025), reps=4, scale=0.1)],
            reps_growth=dict(scenarios=list(OPTIONS_2023), reps=(2, 6), scale=0.1, target_reps=200))
#: --smoke: tiny scales and one simulated year, all workloads in this process (peak RSS is then cumulative)
SMOKE = dict(scales=(0.002, 0.006), naive_scale=0.002, naive_days=14, naive_start="2017-06-01", end="2017-12",
             ensemble_scale=0.001, ensemble_reps=1, ensemble_scenarios=ENSEMBLE_SCENARIOS[:2],
             kernel=dict(scale=0.002, start="2017-06-01", n_days=7),
             branching=[dict(label="smoke", scenarios=["no_protocol", "protocol_2023"], reps=1, scale=0.001)])


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its largest waited-for child), in MB (Linux: ru_maxrss in kB)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU time of this process (and of its waited-for children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    t = own.ru_utime + own.ru_stime
    if children:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        t += ch.ru_utime + ch.ru_stime
    return t


# --- the workloads (run inside a fresh process) ----------------------------------------


def _history(scale: float, seed: int, end: str | None = None):
    from simulation.scenario import load_scenario
    from simulation.scenario.schema import TimeSpec

    sc = load_scenario(HISTORY, seed=seed, scale=scale)
    if end:  # a shorter run (smoke): narrowed without re-validation, as tests/conftest.py does
        sc = sc.model_copy(update={"time": TimeSpec(start=sc.time.start, end=end)})
    return sc


def work_history(scale: float, seed: int = 1, end: str | None = None) -> dict:
    """The whole history scenario at ``scale`` (to ``end``, default 2024-12): build the people and run."""
    from simulation.experiments.run import simulate

    sc = _history(scale, seed, end)
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(sc, keep_model=True, commit=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    model = result.model
    n = len(model.people)
    peak_pool = int(round(result.monthly["us_backlog"].max() * scale))  # at month ends, in agents
    return {
        "workload": f"bordersim history {sc.time.start}..{sc.time.end}, scale {scale:g}",
        "persons": n, "agent_steps": model.decisions, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(),
        "notes": (f"{model.n_days} days; initial pool {int(model.schedule.initial.sum()):,}, "
                  f"peak pool {peak_pool:,} agents (month ends); People {model.people.nbytes() / n:.0f} B/person"),
        "scale": scale, "bytes_per_person": model.people.nbytes() / n, "peak_pool": peak_pool,
        "initial_pool": int(model.schedule.initial.sum()),
    }


def work_naive(scale: float, n_days: int, seed: int = 1, start: str = NAIVE_WINDOW_START) -> list[dict]:
    """The naive reference and the batched kernel on the same recorded deciders; plus the same-choices check."""
    from simulation.calendar import parse_date

    from .naive import check_same_choices, fast_choices, record_workload, run_naive

    sc = _history(scale, seed)
    first = (parse_date(start) - sc.time.first_day).days
    source = record_workload(sc, first, n_days)
    records = source.records
    window = f"{start} + {n_days} days of history, scale {scale:g}"

    t0 = time.perf_counter()
    naive, _ = run_naive(source, records)
    naive_total = time.perf_counter() - t0
    naive_cpu = naive.step_cpu_seconds
    ticks = len(records)
    decisions = naive.evaluations
    rows = [{
        "workload": f"naive reference: Mesa Agent.step per agent ({window})",
        "persons": len(naive.agents), "agent_steps": decisions, "wall_s": naive.step_seconds, "cpu_s": naive_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "notes": (f"{ticks} ticks x {len(naive.agents):,} agents = {ticks * len(naive.agents):,} Agent.step calls; "
                  f"wall is the step loop only ({naive_total:.1f} s with replay)"),
    }]
    # bordersim's batched choice on the same deciders (best of 3: it is short)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for rec in records:
            fast_choices(source, rec)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    rows.append({
        "workload": f"bordersim batched choice, same deciders ({window})",
        "persons": len(naive.agents), "agent_steps": decisions, "wall_s": best, "cpu_s": best_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "notes": "gumbel draws + utilities + nested-logit choose per day, as BorderModel._decide; best of 3",
    })
    check = check_same_choices(source, records)
    rows[0]["check"] = check
    return rows


def work_ensemble(scale: float, reps: int, workers: int, scenarios: tuple[str, ...], seed: int = 1,
                  end: str | None = None) -> dict:
    """``bordersim compare`` of ``scenarios`` x ``reps`` at ``scale`` with ``workers`` processes (no plots)."""
    from simulation.present.report import compare
    from simulation.experiments.run import simulate
    from simulation.scenario import load_scenario
    from simulation.scenario.schema import TimeSpec

    paths = [load_scenario(ROOT / "scenarios" / f"{s}.toml") for s in scenarios]
    if end:  # smoke: a shorter run
        paths = [p.model_copy(update={"time": TimeSpec(start=p.time.start, end=end)}) for p in paths]
    out = Path(tempfile.mkdtemp(prefix="bordersim-bench-ensemble-"))
    try:
        t0, c0 = time.perf_counter(), cpu_seconds(children=True)
        _, _, result = compare(paths, out, reps=reps, master_seed=seed, scale=scale, workers=workers, plots=False)
        wall, cpu = time.perf_counter() - t0, cpu_seconds(children=True) - c0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if result.failures:
        raise RuntimeError(f"ensemble failures: {result.failures[:3]}")
    # agent-steps: counted on replication 0 of each option (not timed), times the replications
    steps, persons = 0, 0
    for p in paths:
        m = simulate(p, seed=seed, scale=scale, keep_model=True, commit=False).model
        steps += m.decisions
        persons = max(persons, len(m.people))
    n_runs = len(paths) * reps
    return {
        "workload": f"compare {len(paths)} options x {reps} reps, scale {scale:g}, {workers} worker{'s' if workers > 1 else ''}",
        "persons": persons, "agent_steps": steps * reps, "wall_s": wall, "cpu_s": cpu,
        "peak_rss_mb": max(peak_rss_mb(), peak_rss_mb(children=True)),
        "notes": (f"{n_runs} runs, {n_runs / wall:.2f} runs/s (replications {result.wall_s:.1f} s, "
                  f"report {wall - result.wall_s:.1f} s); {cpu / wall:.2f} cores busy on average (CPU s / wall s); "
                  f"agent-steps from rep 0 of each option x reps; RSS of the largest process"),
        "workers": workers, "runs": n_runs, "replications_wall_s": result.wall_s,
    }


def work_kernel(scale: float, start: str, n_days: int, seed: int = 1) -> list[dict]:
    """Decisions per second of the fused kernel and of the numpy reference on the same recorded deciders.

    The deciders are those of ``n_days`` days of the history run at ``scale`` from ``start`` (at scale 1.0:
    the 1:1 history's deciders, among ~3.6 M persons). CPU time (process time) is what is compared: on a
    shared machine it is less noisy than wall time; both are reported.
    """
    from simulation.calendar import parse_date
    from simulation.core import kernel

    from .naive import record_workload

    sc = _history(scale, seed)
    t0 = time.perf_counter()
    model = record_workload(sc, (parse_date(start) - sc.time.first_day).days, n_days)
    setup = time.perf_counter() - t0
    records = model.records
    decisions = sum(len(r.ids) for r in records)
    window = f"{n_days} days from {start} of the history at scale {scale:g}: {decisions:,} decisions among {len(model.people):,} persons"

    def timed(fn, repeat):
        best_wall, best_cpu = float("inf"), float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = [fn(model, r.day, r.ids, r.conditions, r.aware, r.known_regime) for r in records]
            best_wall, best_cpu = min(best_wall, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
        return out, best_wall, best_cpu

    ties0 = getattr(model, "kernel_ties", 0)
    fast, kw, kc = timed(kernel.choose_routes, 5)
    ties = (getattr(model, "kernel_ties", 0) - ties0) // 5
    ref, nw, nc = timed(type(model).choose_routes_numpy, 2)
    same = all(np.array_equal(a, b) for a, b in zip(fast, ref))
    rows = [
        {"workload": f"decision kernel (numba, fused): {window}", "persons": len(model.people), "agent_steps": decisions,
         "wall_s": kw, "cpu_s": kc, "peak_rss_mb": peak_rss_mb(),
         "notes": (f"{decisions / kc / 1e6:.1f} M decisions/s of CPU ({decisions / kw / 1e6:.1f} M/s wall); best of 5; "
                   f"{ties} near-ties recomputed with numpy; choices identical to the numpy path: {'yes' if same else 'NO'}; "
                   f"recording the workload took {setup:.0f} s")},
        {"workload": f"numpy reference (choice.utilities + choose, today's path): {window}", "persons": len(model.people),
         "agent_steps": decisions, "wall_s": nw, "cpu_s": nc, "peak_rss_mb": peak_rss_mb(),
         "notes": f"{decisions / nc / 1e6:.2f} M decisions/s of CPU; best of 2"},
    ]
    rows[0]["ratios"] = [{"what": f"kernel vs numpy reference, decisions/s (CPU), scale {scale:g}", "ratio": nc / kc,
                          "detail": f"{decisions / kc / 1e6:.1f} vs {decisions / nc / 1e6:.2f} M/s; same choices: {same}"}]
    rows[0]["kernel_rate"] = decisions / kc
    rows[0]["kernel_scale"] = scale
    rows[0]["kernel_same"] = same
    return rows


def _tree_of(commit: str) -> Path:
    """The repository at ``commit``, extracted (git archive) into a temporary folder."""
    tree = Path(tempfile.mkdtemp(prefix=f"bordersim-{commit[:8]}-"))
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


_RUN_IN_TREE = """
import hashlib, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import simulation
assert simulation.__file__.startswith(sys.argv[1]), simulation.__file__
from simulation.experiments.run import simulate
from simulation.files import to_csv_bytes
from simulation.scenario import load_scenario
sc = load_scenario(sys.argv[1] + "/scenarios/" + sys.argv[2] + ".toml", seed=int(sys.argv[4]), scale=float(sys.argv[3]))
if sys.argv[5] != "-":
    from simulation.scenario.schema import TimeSpec
    sc = sc.model_copy(update={"time": TimeSpec(start=sc.time.start, end=sys.argv[5])})
t0, c0 = time.perf_counter(), time.process_time()
r = simulate(sc, keep_model=True, commit=False)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "persons": len(r.model.people),
                  "decisions": int(r.model.decisions), "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sha": hashlib.sha256(to_csv_bytes(r.monthly)).hexdigest()[:16]}))
"""


def work_commits(old: str, scales: list[float], scenario: str = "history", seed: int = 1, end: str | None = None,
                 repeat: int = 1) -> list[dict]:
    """The same history runs with the code of commit ``old`` and with this tree, alternately, in fresh processes."""
    trees = {"old": _tree_of(old), "new": ROOT}
    rows = []
    try:
        for scale in scales:
            got: dict[str, list[dict]] = {"old": [], "new": []}
            for _ in range(repeat):
                for label in ("old", "new"):
                    done = subprocess.run([sys.executable, "-c", _RUN_IN_TREE, str(trees[label]), scenario, str(scale),
                                           str(seed), end or "-"], capture_output=True, text=True, cwd=trees[label])
                    if done.returncode != 0:
                        raise RuntimeError(f"{label} tree failed:\n{done.stderr[-3000:]}")
                    got[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            best = {k: min(v, key=lambda r: r["cpu"]) for k, v in got.items()}
            same = len({r["sha"] for v in got.values() for r in v}) == 1
            for label in ("old", "new"):
                r = best[label]
                name = old[:7] if label == "old" else "this tree"
                rows.append({"workload": f"{scenario} {'to ' + end if end else ''} scale {scale:g}, commit {name}".replace("  ", " "),
                             "persons": r["persons"], "agent_steps": r["decisions"], "wall_s": r["wall"], "cpu_s": r["cpu"],
                             "peak_rss_mb": r["rss"],
                             "notes": f"fresh process (model set-up included); monthly.csv sha256 {r['sha']}"})
            rows[-1]["ratios"] = [{"what": f"{scenario} scale {scale:g}: commit {old[:7]} vs this tree (CPU)",
                                   "ratio": best["old"]["cpu"] / best["new"]["cpu"],
                                   "detail": (f"{best['old']['cpu']:.1f} vs {best['new']['cpu']:.1f} s CPU, "
                                              f"{best['old']['wall']:.1f} vs {best['new']['wall']:.1f} s wall; "
                                              f"monthly.csv identical: {'yes' if same else 'NO'}")}]
            rows[-1]["history_scale"] = scale
    finally:
        shutil.rmtree(trees["old"], ignore_errors=True)
    return rows


def work_branching(label: str, scenarios: list[str], reps: int, scale: float, workers: int, seed: int = 1,
                   end: str | None = None, modes: tuple = (False, True)) -> list[dict]:
    """``compare`` of ``scenarios`` with branching (the default) and with --no-branch: wall time and results."""
    from simulation.experiments.ensemble import run_comparison
    from simulation.scenario import load_scenario
    from simulation.scenario.schema import TimeSpec

    scs = [load_scenario(ROOT / "scenarios" / f"{s}.toml") for s in scenarios]
    if end:
        scs = [s.model_copy(update={"time": TimeSpec(start=s.time.start, end=end)}) for s in scs]
    rows, outs = [], {}
    for branch in modes:
        out = Path(tempfile.mkdtemp(prefix="bordersim-bench-branch-"))
        t0, c0 = time.perf_counter(), cpu_seconds(children=True)
        _, _, result = run_comparison(scs, out, reps=reps, master_seed=seed, scale=scale, workers=workers, branch=branch)
        wall, cpu = time.perf_counter() - t0, cpu_seconds(children=True) - c0
        if result.failures:
            raise RuntimeError(f"failures: {result.failures[:3]}")
        outs[branch] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "reps").rglob("*.parquet"))}
        outs[branch]["summary.csv"] = (out / "summary.csv").read_bytes()
        shutil.rmtree(out, ignore_errors=True)
        n = len(scs) * reps
        rows.append({"workload": f"compare {label}: {len(scs)} options x {reps} reps, scale {scale:g}, {workers} workers, "
                                 f"{'branching' if branch else '--no-branch'}",
                     "persons": 0, "agent_steps": 0, "wall_s": wall, "cpu_s": cpu,
                     "peak_rss_mb": max(peak_rss_mb(), peak_rss_mb(children=True)),
                     "notes": f"{n} runs, {n / wall:.2f} runs/s; {cpu / wall:.2f} cores busy on average"})
    if len(modes) < 2:
        rows[-1]["growth_reps"], rows[-1]["growth_label"], rows[-1]["runs"] = reps, label, len(scs) * reps
        rows[-1]["options"] = len(scs)
        return rows
    same = outs[True] == outs[False]
    rows[-1]["ratios"] = [{"what": f"branching vs --no-branch, {label} ({len(scs)} options x {reps} reps, scale {scale:g})",
                           "ratio": rows[0]["wall_s"] / rows[1]["wall_s"],
                           "detail": (f"{rows[0]['wall_s']:.0f} vs {rows[1]['wall_s']:.0f} s wall, {rows[0]['cpu_s']:.0f} vs "
                                      f"{rows[1]['cpu_s']:.0f} s CPU; every replication file and summary.csv byte-identical: "
                                      f"{'yes' if same else 'NO'}")}]
    rows[-1]["branch_label"], rows[-1]["branch_same"] = label, same
    rows[-1]["branch_ratio"] = rows[0]["wall_s"] / rows[1]["wall_s"]
    rows[-1]["branch_cpu_ratio"] = rows[0]["cpu_s"] / rows[1]["cpu_s"]
    rows[-1]["runs"], rows[-1]["options"] = len(scs) * reps, len(scs)
    return rows


def work_posterior(scenarios: list[str], reps: int, scale: float, workers: int, posterior: str, seed: int = 1) -> list[dict]:
    """``compare`` of ``scenarios`` with a posterior (a parameter set per replication) and without: wall time."""
    from simulation.experiments.ensemble import run_comparison
    from simulation.scenario import load_scenario

    scs = [load_scenario(ROOT / "scenarios" / f"{s}.toml") for s in scenarios]
    rows = []
    for post in (None, ROOT / posterior):
        out = Path(tempfile.mkdtemp(prefix="bordersim-bench-posterior-"))
        t0, c0 = time.perf_counter(), cpu_seconds(children=True)
        _, _, result = run_comparison(scs, out, reps=reps, master_seed=seed, scale=scale, workers=workers, posterior=post)
        wall, cpu = time.perf_counter() - t0, cpu_seconds(children=True) - c0
        shutil.rmtree(out, ignore_errors=True)
        if result.failures:
            raise RuntimeError(f"failures: {result.failures[:3]}")
        rows.append({"workload": f"compare {len(scs)} options x {reps} reps, scale {scale:g}, {workers} workers, "
                                 + ("with the posterior" if post else "without a posterior"),
                     "persons": 0, "agent_steps": 0, "wall_s": wall, "cpu_s": cpu,
                     "peak_rss_mb": max(peak_rss_mb(), peak_rss_mb(children=True)),
                     "notes": f"{len(scs) * reps} runs; {cpu / wall:.2f} cores busy on average"})
    rows[-1]["ratios"] = [{"what": f"with the posterior vs without ({len(scs)} options x {reps} reps, scale {scale:g}); "
                                   "target <= 1.2",
                           "ratio": rows[1]["wall_s"] / rows[0]["wall_s"],
                           "detail": f"{rows[1]['wall_s']:.0f} vs {rows[0]['wall_s']:.0f} s wall, {rows[1]['cpu_s']:.0f} vs "
                                     f"{rows[0]['cpu_s']:.0f} s CPU"}]
    return rows


def _previous_commit() -> str:
    """The commit this work started from: where HEAD left main (else HEAD's parent)."""
    for cmd in (["git", "merge-base", "HEAD", "main"], ["git", "rev-parse", "HEAD~1"]):
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        if done.returncode == 0 and done.stdout.strip() and done.stdout.strip() != head:
            return done.stdout.strip()
    raise RuntimeError("no previous commit to compare with; pass --old COMMIT")


def run_one(spec: dict) -> list[dict]:
    kind = spec.pop("kind")
    if kind == "history":
        return [work_history(**spec)]
    if kind == "naive":
        return work_naive(**spec)
    if kind == "ensemble":
        return [work_ensemble(**spec)]
    if kind == "kernel":
        return work_kernel(**spec)
    if kind == "commits":
        return work_commits(**spec)
    if kind == "branching":
        return work_branching(**spec)
    if kind == "posterior":
        return work_posterior(**spec)
    raise ValueError(f"unknown workload {kind!r}")


# --- the parent: run each workload in its own process -----------------------------------


def in_subprocess(spec: dict) -> list[dict]:
    cmd = [sys.executable, "-m", "benchmarks", "--one", json.dumps(spec)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"workload {spec} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)["rows"]


def machine() -> dict:
    import mesa

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "git_commit": commit,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def fit_exponent(persons: list[float], wall: list[float]) -> float | None:
    """Slope of log(wall) on log(persons): 1 is linear growth."""
    if len(persons) < 2:
        return None
    return float(np.polyfit(np.log(persons), np.log(wall), 1)[0])


def _fmt(v, nd=1):
    if v == 0:
        return "–"  # not counted (the branching rows do not count persons or decisions)
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown(rows: list[dict], info: dict, summary: dict) -> str:
    head = ["workload", "persons", "agent-steps", "agent-steps/s", "wall s", "CPU s", "peak RSS MB", "× naive", "notes"]
    out = ["# bordersim benchmarks", "",
           f"Measured {info['date']} on {info['host']}: {info['cpu']}, {info['cores']} cores "
           f"({info['cores_usable']} usable), {info['ram_gb']} GB RAM; Python {info['python']}, numpy {info['numpy']}, "
           f"Mesa {info['mesa']}; commit {info['git_commit']} (plus uncommitted changes, if any). "
           f"Load average {info['load_average_at_start']} at start, {info.get('load_average_at_end')} at end "
           "(a shared machine: timings are noisy; ratios within one run are what to compare). "
           "CPU s is this workload's own CPU time (with its worker processes): on a busy machine wall s is larger "
           "because the workload waited for a core.", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join([
            r["workload"], _fmt(r["persons"]), _fmt(r["agent_steps"]), _fmt(r["agent_steps_per_s"], 0),
            _fmt(r["wall_s"], 2), _fmt(r["cpu_s"], 2), _fmt(r["peak_rss_mb"], 0), _fmt(r["ratio_vs_naive"], 1), r["notes"]]) + " |")
    ratios = [x for r in rows for x in r.get("ratios", [])]
    if ratios:
        out += ["", "## Ratios (each measured within this run)", "", "| comparison | ratio | detail |", "|---|---|---|"]
        out += [f"| {x['what']} | {x['ratio']:.2f}x | {x['detail']} |" for x in ratios]
    out += ["", "## Summary", ""]
    for k, v in summary.items():
        out.append(f"- {k}: {v}")
    return "\n".join(out) + "\n"


def summarise(rows: list[dict], check: dict | None, full: bool) -> dict:
    s: dict = {}
    hist = [r for r in rows if "scale" in r]
    if check is not None:
        ok = check["naive_mismatches"] == 0 and check["kernel_mismatches"] == 0 and check["utility_mismatches"] == 0
        s["naive == bordersim choices"] = (f"{'yes' if ok else 'NO'}: {check['decisions']:,} decisions on {check['days']} days, "
                                           f"{check['naive_mismatches']} naive and {check['kernel_mismatches']} kernel "
                                           f"choice mismatches, {check['utility_mismatches']} utilities not the same double; "
                                           f"choices by option (stay, port, Roxham, irregular, air, leave) {check['choices']}")
    e = fit_exponent([r["persons"] for r in hist], [r["wall_s"] for r in hist])
    if e is not None:
        s["cost growth"] = (f"log(wall) ~ {e:.2f} log(persons) over scales "
                            + ", ".join(f"{r['scale']:g}" for r in hist))
        if len(hist) >= 3:
            e2 = fit_exponent([r["persons"] for r in hist[-2:]], [r["wall_s"] for r in hist[-2:]])
            s["cost growth"] += f"; between the two largest: {e2:.2f}"
    for r in hist:
        if r["scale"] == 1.0:
            s["scale 1.0"] = (f"{r['persons']:,} persons (initial pool {r['initial_pool']:,}, peak pool {r['peak_pool']:,}), "
                              f"{r['wall_s']:.1f} s wall ({r['cpu_s']:.1f} s CPU), {r['peak_rss_mb'] / 1024:.2f} GB peak RSS, "
                              f"{r['bytes_per_person']:.0f} B/person in People")
    ens = {r["workers"]: r for r in rows if "workers" in r}
    if len(ens) >= 2:
        w1, wn = ens[min(ens)], ens[max(ens)]
        s["ensemble speed-up"] = (f"{w1['wall_s'] / wn['wall_s']:.2f}x with {wn['workers']} workers vs 1 "
                                  f"(replications alone: {w1['replications_wall_s'] / wn['replications_wall_s']:.2f}x); "
                                  f"cores busy on average {w1['cpu_s'] / w1['wall_s']:.2f} with 1 worker, "
                                  f"{wn['cpu_s'] / wn['wall_s']:.2f} with {wn['workers']} (less than 1 and "
                                  f"{wn['workers']} means other processes had part of the cores)")
    best = max((r["ratio_vs_naive"] for r in hist), default=None)
    if best is not None:
        s["per agent-step vs naive"] = (", ".join(f"{r['ratio_vs_naive']:.0f}x at scale {r['scale']:g}" for r in hist)
                                        + " (whole model, all its work, vs the naive decision alone)")
    kern = next((r for r in rows if "kernel_rate" in r), None)
    if kern is not None:
        s["decision kernel"] = (f"{kern['kernel_rate'] / 1e6:.1f} M decisions/s of CPU on the deciders of the history at "
                                f"scale {kern['kernel_scale']:g}; same choices as the numpy path: "
                                f"{'yes' if kern['kernel_same'] else 'NO'}")
    branch = {r["branch_label"]: r for r in rows if "branch_label" in r}
    for label, r in branch.items():
        s[f"branching, {label}"] = (f"{r['branch_ratio']:.2f}x faster than --no-branch (wall; {r['branch_cpu_ratio']:.2f}x "
                                    f"in CPU), results byte-identical: {'yes' if r['branch_same'] else 'NO'}")
    growth = sorted((r for r in rows if "growth_reps" in r), key=lambda r: r["growth_reps"])
    projected = None
    if len(growth) >= 2:
        a, b = growth[0], growth[-1]
        per_rep = (b["wall_s"] - a["wall_s"]) / (b["growth_reps"] - a["growth_reps"])
        target_reps = 200
        projected = a["wall_s"] + (target_reps - a["growth_reps"]) * per_rep
        s["cost growth with replications"] = (
            f"{a['growth_reps']} reps {a['wall_s']:.0f} s, {b['growth_reps']} reps {b['wall_s']:.0f} s wall: "
            f"{per_rep:.1f} s per replication of all {b.get('options', len(OPTIONS_2023))} options (linear in replications: every replication is "
            f"one independent job); {target_reps} replications projected at {projected / 60:.1f} min")
    if full:
        targets = []
        if kern is not None:
            targets.append(f"kernel >= 10 M decisions/s: {'PASS' if kern['kernel_rate'] >= 10e6 else 'FAIL'} "
                           f"({kern['kernel_rate'] / 1e6:.1f} M/s)")
        big = next((r for r in hist if r["scale"] == 1.0), None)
        if big:
            targets.append(f"1:1 history <= 20 s: {'PASS' if big['wall_s'] <= 20 else 'FAIL'} ({big['wall_s']:.1f} s wall, "
                           f"{big['cpu_s']:.1f} s CPU)")
            targets.append(f"<= 4 GB: {'PASS' if big['peak_rss_mb'] <= 4096 else 'FAIL'} ({big['peak_rss_mb'] / 1024:.2f} GB)")
        two = [r for r in hist if r["scale"] in (0.1, 1.0)]
        if len(two) == 2:
            e2 = fit_exponent([r["persons"] for r in two], [r["wall_s"] for r in two])
            targets.append(f"exponent 0.1..1.0 <= 1.05: {'PASS' if e2 <= 1.05 else 'FAIL'} ({e2:.2f})")
        late = branch.get("options differing from 2025-07 on")
        if late:
            ok = late["branch_ratio"] >= 2.5 and late["branch_same"]
            targets.append(f"branching >= 2.5x for options from 2025-07 on, identical: {'PASS' if ok else 'FAIL'} "
                           f"({late['branch_ratio']:.2f}x)")
        if projected is not None:
            targets.append(f"7 options x 200 reps at 0.1 <= 10 min: {'PASS' if projected <= 600 else 'FAIL'} "
                           f"(projected {projected / 60:.1f} min)")
        s["targets"] = "; ".join(targets)
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny scales, a few seconds per workload (for the tests)")
    ap.add_argument("--out", type=Path, default=None, help=f"folder for the table (default {RESULTS})")
    ap.add_argument("--scales", type=lambda t: tuple(float(x) for x in t.split(",")), default=None,
                    help="history scales, comma-separated (default 0.005,0.1,1.0)")
    ap.add_argument("--ensemble-scale", type=float, default=None, help="scale of the ensemble runs (default 0.02)")
    ap.add_argument("--ensemble-reps", type=int, default=None, help="replications per option (default 4)")
    ap.add_argument("--workers", type=int, default=None, help="workers of the parallel ensemble (default: all cores)")
    ap.add_argument("--no-ensemble", action="store_true", help="skip the ensemble workloads")
    ap.add_argument("--old", default=None, help="commit to compare this tree with (default: where this branch left main)")
    ap.add_argument("--no-commits", action="store_true", help="skip the old-commit-against-this-tree workloads")
    ap.add_argument("--no-branching", action="store_true", help="skip the branching and replication-growth workloads")
    ap.add_argument("--posterior-ratio", type=int, default=None, metavar="REPS",
                    help="only the posterior workload: the 7 options of 2023 x REPS with scenarios/posterior.csv and without")
    ap.add_argument("--rows", type=Path, default=None,
                    help="rebuild the tables from the rows of an interrupted run (a *.partial.json) without running")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one workload, print JSON
    args = ap.parse_args(argv)

    if args.one is not None:
        rows = run_one(json.loads(args.one))
        print(json.dumps({"rows": rows}))
        return 0

    cfg = dict(SMOKE if args.smoke else FULL)
    if args.scales:
        cfg["scales"] = args.scales
    if args.ensemble_scale:
        cfg["ensemble_scale"] = args.ensemble_scale
    if args.ensemble_reps:
        cfg["ensemble_reps"] = args.ensemble_reps
    workers = args.workers or os.cpu_count() or 1
    out = args.out or RESULTS
    name = "smoke" if args.smoke else "benchmark"

    info = machine()
    specs = [{"kind": "naive", "scale": cfg["naive_scale"], "n_days": cfg["naive_days"]}
             | ({"start": cfg["naive_start"]} if "naive_start" in cfg else {})]
    if "kernel" in cfg:
        specs.append({"kind": "kernel"} | cfg["kernel"])
    specs += [{"kind": "history", "scale": s} | ({"end": cfg["end"]} if "end" in cfg else {}) for s in cfg["scales"]]
    if "commits" in cfg and not args.no_commits:
        specs.append({"kind": "commits", "old": args.old or _previous_commit()} | cfg["commits"])
    for b in [] if args.no_branching else cfg.get("branching", []):
        specs.append({"kind": "branching", "workers": workers} | b)
    if "reps_growth" in cfg and not args.no_branching:
        g = cfg["reps_growth"]
        for reps in g["reps"]:
            specs.append({"kind": "branching", "label": f"replications growth ({reps} reps)", "scenarios": g["scenarios"],
                          "reps": reps, "scale": g["scale"], "workers": workers, "modes": [True]})
    if not args.no_ensemble:
        for w in sorted({1, workers}):
            specs.append({"kind": "ensemble", "scale": cfg["ensemble_scale"], "reps": cfg["ensemble_reps"], "workers": w,
                          "scenarios": list(cfg["ensemble_scenarios"])})  # whole runs: workers re-validate the dates
    if args.posterior_ratio:
        specs = [{"kind": "posterior", "scenarios": list(ENSEMBLE_SCENARIOS) + ["protocol_irb_capacity_doubled"],
                  "reps": args.posterior_ratio,
                  "scale": cfg["ensemble_scale"], "workers": workers, "posterior": "scenarios/posterior.csv"}]
        name = "posterior"
    rows: list[dict] = json.loads(args.rows.read_text()) if args.rows else []
    for spec in [] if args.rows else specs:
        print(f"running {spec} ...", file=sys.stderr, flush=True)
        rows += run_one(dict(spec)) if args.smoke else in_subprocess(dict(spec))
        out.mkdir(parents=True, exist_ok=True)  # rows so far, in case a later workload is interrupted
        (out / f"{name}.partial.json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    naive_rate = None
    check = None
    for r in rows:
        r["agent_steps_per_s"] = r["agent_steps"] / r["wall_s"] if r["wall_s"] > 0 else float("nan")
        if r["workload"].startswith("naive reference"):
            naive_rate, check = r["agent_steps_per_s"], r.pop("check", None)
    for r in rows:
        r["ratio_vs_naive"] = r["agent_steps_per_s"] / naive_rate if naive_rate else float("nan")
    summary = summarise(rows, check, full=not args.smoke)

    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r["workload"], r["persons"], r["agent_steps"], f"{r['agent_steps_per_s']:.1f}", f"{r['wall_s']:.6f}",
                        f"{r['cpu_s']:.6f}", f"{r['peak_rss_mb']:.1f}", f"{r['ratio_vs_naive']:.2f}", r["notes"]])
    md = markdown(rows, info, summary)
    (out / f"{name}.md").write_text(md)
    (out / f"{name}.json").write_text(json.dumps({"machine": info, "rows": rows, "check": check, "summary": summary},
                                                 indent=2, default=str) + "\n")
    (out / f"{name}.partial.json").unlink(missing_ok=True)
    print(md)
    print(f"wrote {out / (name + '.csv')}, {name}.md, {name}.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
