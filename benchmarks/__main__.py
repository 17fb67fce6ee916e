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

FULL = dict(scales=(0.01, 0.1, 1.0), naive_scale=0.01, naive_days=61, ensemble_scale=0.02, ensemble_reps=20,
            ensemble_scenarios=ENSEMBLE_SCENARIOS)
#: --smoke: tiny scales and one simulated year, all workloads in this process (peak RSS is then cumulative)
SMOKE = dict(scales=(0.002, 0.006), naive_scale=0.002, naive_days=14, naive_start="2017-06-01", end="2017-12",
             ensemble_scale=0.001, ensemble_reps=1, ensemble_scenarios=ENSEMBLE_SCENARIOS[:2])


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


def run_one(spec: dict) -> list[dict]:
    kind = spec.pop("kind")
    if kind == "history":
        return [work_history(**spec)]
    if kind == "naive":
        return work_naive(**spec)
    if kind == "ensemble":
        return [work_ensemble(**spec)]
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
    if full:
        targets = []
        big = next((r for r in hist if r["scale"] == 1.0), None)
        if big:
            targets.append(f"scale 1.0 <= 60 s: {'PASS' if big['wall_s'] <= 60 else 'FAIL'}")
            targets.append(f"<= 4 GB: {'PASS' if big['peak_rss_mb'] <= 4096 else 'FAIL'}")
            targets.append(f">= 30x naive: {'PASS' if big['ratio_vs_naive'] >= 30 else 'FAIL'}")
        if e is not None:
            targets.append(f"exponent <= 1.1: {'PASS' if e <= 1.1 else 'FAIL'}")
        if len(ens) >= 2:
            targets.append(f"ensemble >= 1.7x: {'PASS' if w1['wall_s'] / wn['wall_s'] >= 1.7 else 'FAIL'}")
        s["targets"] = "; ".join(targets)
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny scales, a few seconds per workload (for the tests)")
    ap.add_argument("--out", type=Path, default=None, help=f"folder for the table (default {RESULTS})")
    ap.add_argument("--scales", type=lambda t: tuple(float(x) for x in t.split(",")), default=None,
                    help="history scales, comma-separated (default 0.01,0.1,1.0)")
    ap.add_argument("--ensemble-scale", type=float, default=None, help="scale of the ensemble runs (default 0.02)")
    ap.add_argument("--ensemble-reps", type=int, default=None, help="replications per option (default 20)")
    ap.add_argument("--workers", type=int, default=None, help="workers of the parallel ensemble (default: all cores)")
    ap.add_argument("--no-ensemble", action="store_true", help="skip the ensemble workloads")
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
    specs += [{"kind": "history", "scale": s} | ({"end": cfg["end"]} if "end" in cfg else {}) for s in cfg["scales"]]
    if not args.no_ensemble:
        for w in sorted({1, workers}):
            specs.append({"kind": "ensemble", "scale": cfg["ensemble_scale"], "reps": cfg["ensemble_reps"], "workers": w,
                          "scenarios": list(cfg["ensemble_scenarios"])})  # whole runs: workers re-validate the dates
    rows: list[dict] = []
    for spec in specs:
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
            w.writerow([r["workload"], r["persons"], r["agent_steps"], f"{r['agent_steps_per_s']:.1f}", f"{r['wall_s']:.3f}",
                        f"{r['cpu_s']:.3f}", f"{r['peak_rss_mb']:.1f}", f"{r['ratio_vs_naive']:.2f}", r["notes"]])
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
