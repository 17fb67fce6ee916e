"""The ``bordersim`` command.

    bordersim run SCENARIO --out DIR [--seed N] [--scale X] [--quiet]
    bordersim compare SCENARIO... --out DIR [--reference NAME] [--reps N] [--posterior FILE] [--workers N] [--executor local|dask]
    bordersim report DIR
    bordersim calibrate SCENARIO --fit 2017-01:2023-03 --out DIR [--population N] [--generations N] [--docs FILE]
    bordersim route-share SCENARIO [--reps N] [--docs FILE]
    bordersim backtest --out DIR [--posterior FILE] [--origin DATE|all] [--reps N] [--scale X] [--docs FILE]
    bordersim validate SCENARIO
    bordersim list [--dir scenarios]
    bordersim sensitivity SCENARIO --method morris|sobol --params 'behaviour.*' --samples N --out DIR [--scale X] [--workers N]
    bordersim discover OPTION --reference SCENARIO --out DIR [--params 'behaviour.*'] [--samples N] [--cut 0.5]
    bordersim dashboard [SCENARIO] [--port N] [--host 127.0.0.1]

Bad input (a scenario file, an argument, a data file) gives one clear line on
stderr and exit code 2, with no traceback and nothing written.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
from pathlib import Path

from ..data import REPO_ROOT, DataError
from ..experiments.calibration import CalibrationError
from ..experiments.engine import EnsembleError
from ..files import OutputError
from ..scenario import ScenarioError

EXIT_BAD_INPUT = 2
#: Fewer simulated persons than this give counts too coarse to mean anything (each stands for 1/scale persons).
MIN_PERSONS = 1000


class BadInput(Exception):
    """A bad command-line argument."""


def _positive_fraction(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale {text!r} is not a number; allowed: 0 < scale <= 1") from None
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"--scale {x} is out of range; allowed: 0 < scale <= 1")
    return x


def _seed(text: str) -> int:
    try:
        x = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed {text!r} is not a whole number; allowed: an integer >= 0") from None
    if x < 0:
        raise argparse.ArgumentTypeError(f"--seed {x} is negative; allowed: an integer >= 0 (at most {2**32 - 1})")
    if x > 2**32 - 1:  # seeds are 32-bit (they reach numpy.random.seed through pyabc) and part of folder names
        raise argparse.ArgumentTypeError(f"--seed {text} is out of range; allowed: an integer >= 0 (at most {2**32 - 1})")
    return x


def _positive_int(flag: str):
    def parse(text: str) -> int:
        try:
            x = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a whole number; allowed: an integer >= 1") from None
        if x < 1:
            raise argparse.ArgumentTypeError(f"{flag} {x} is out of range; allowed: an integer >= 1")
        return x

    return parse


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="bordersim", description="Asylum-seeker flows across the Canada-US border under STCA options.")
    parser.add_argument("--version", action="version", version=f"bordersim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario and write monthly.csv, run.json and plots/")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (created; replaced only when the run completes); required unless --save-state")
    run.add_argument("--seed", type=_seed, default=None, help="replication seed (default: the scenario's run.seed)")
    run.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated, 0 < scale <= 1")
    run.add_argument("--until", default=None, metavar="DATE",
                     help="with --save-state: stop before this day ('YYYY-MM[-DD]') and save the model's state there")
    run.add_argument("--save-state", type=Path, default=None, metavar="FILE",
                     help="save the model's whole state (at --until, or at the end) to FILE, to run what-ifs from it")
    run.add_argument("--from-state", type=Path, default=None, metavar="FILE",
                     help="continue from a state saved with --save-state, as this scenario (which must not differ from "
                          "the saved one before the state's day); seed and scale are the state's")
    run.add_argument("--no-plots", action="store_true", help="skip the plots")
    run.add_argument("--force", action="store_true", help="rerun even if --out already holds this run")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--allow-tiny", action="store_true", help=f"run even if the scale simulates fewer than {MIN_PERSONS:,} persons")

    cmp_ = sub.add_parser("compare", help="run an ensemble of several options and compare them (resumable)")
    cmp_.add_argument("scenarios", type=Path, nargs="+", help="scenario files (TOML)")
    cmp_.add_argument("--out", type=Path, required=True, help="output folder (replications, summary, plots, report)")
    cmp_.add_argument("--reference", default=None, help="name of the option the others are compared with (default: the first)")
    cmp_.add_argument("--reps", type=_positive_int("--reps"), default=10, help="replications per option (default 10)")
    cmp_.add_argument("--seed", type=_seed, default=None, help="master seed (default: the first scenario's run.seed)")
    cmp_.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated")
    cmp_.add_argument("--workers", type=_positive_int("--workers"), default=None, help="parallel workers (default: all cores)")
    cmp_.add_argument("--executor", choices=("local", "dask"), default="local", help="local process pool or dask.distributed")
    cmp_.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:8786); default: a LocalCluster")
    cmp_.add_argument("--posterior", type=Path, default=None,
                      help="posterior.csv from 'bordersim calibrate': replication i of every option uses parameter set i "
                           "(resampled by weight), so intervals carry the parameters' uncertainty as well as chance")
    cmp_.add_argument("--no-plots", action="store_true", help="skip the plots")
    cmp_.add_argument("--no-branch", action="store_true",
                      help="run every option from the start (default: options that share their beginning simulate it "
                           "once per replication and continue from a snapshot; the same results)")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.add_argument("--allow-tiny", action="store_true", help=f"run even if the scale simulates fewer than {MIN_PERSONS:,} persons")

    rep = sub.add_parser("report", help="rebuild summary, plots and report.md from a comparison folder, without rerunning")
    rep.add_argument("out", type=Path, help="folder written by 'bordersim compare'")
    rep.add_argument("--no-plots", action="store_true", help="rebuild the tables and report.md only")

    cal = sub.add_parser("calibrate", help="a posterior sample of the behavioural parameters (ABC-SMC), up to 2023-03 only")
    cal.add_argument("scenario", type=Path, help="scenario to calibrate (normally scenarios/history.toml)")
    cal.add_argument("--fit", default="2017-01:2023-03", help="months to fit, 'YYYY-MM:YYYY-MM,...' (none after 2023-03)")
    cal.add_argument("--out", type=Path, required=True, help="output folder")
    cal.add_argument("--population", type=_positive_int("--population"), default=48,
                     help="particles per ABC-SMC generation (default 48)")
    cal.add_argument("--generations", type=_positive_int("--generations"), default=5,
                     help="ABC-SMC generations after the prior sample (default 5)")
    cal.add_argument("--seed", type=_seed, default=1, help="master seed of the sampler and the runs (default 1)")
    cal.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated")
    cal.add_argument("--workers", type=_positive_int("--workers"), default=None, help="parallel workers (default: all cores)")
    cal.add_argument("--executor", choices=("local", "dask"), default="local", help="local process pool or dask.distributed")
    cal.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:8786); default: a LocalCluster")
    cal.add_argument("--docs", type=Path, default=None, help="also write the page for the docs here (docs/calibration.md)")
    cal.add_argument("--quiet", action="store_true", help="no per-generation progress")

    rs = sub.add_parser("route-share", help="fit the constant of the route elsewhere between ports to the share of "
                                            "interceptions outside Quebec (RCMP, before 2023)")
    rs.add_argument("scenario", type=Path, help="scenario to fit (normally scenarios/history.toml)")
    rs.add_argument("--reps", type=_positive_int("--reps"), default=4, help="replications per value tried (default 4)")
    rs.add_argument("--seed", type=_seed, default=1, help="master seed of the replications (default 1)")
    rs.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated")
    rs.add_argument("--workers", type=_positive_int("--workers"), default=None, help="parallel workers (default: all cores)")
    rs.add_argument("--docs", type=Path, default=None, help="also write the page for the docs here (docs/route_share.md)")
    rs.add_argument("--quiet", action="store_true", help="no line per value tried")

    bt = sub.add_parser("backtest", help="score the calibrated history against what was observed (targets, held-out "
                                         "outcomes) and run rolling-origin backtests")
    bt.add_argument("--scenario", type=Path, default=REPO_ROOT / "scenarios" / "history.toml",
                    help="the history scenario to run (default scenarios/history.toml)")
    bt.add_argument("--posterior", type=Path, default=None,
                    help="posterior.csv: replication i uses parameter set i (default: the calibrated point only)")
    bt.add_argument("--origin", action="append", default=None, metavar="DATE",
                    help="also a rolling-origin backtest: calibrate before DATE only and predict the change "
                         "(2020-03-21, 2021-11-21, 2022-06-30, or all; repeatable)")
    bt.add_argument("--population", type=_positive_int("--population"), default=32,
                    help="ABC-SMC particles for a rolling-origin calibration (default 32)")
    bt.add_argument("--generations", type=_positive_int("--generations"), default=3,
                    help="ABC-SMC generations for a rolling-origin calibration (default 3)")
    bt.add_argument("--out", type=Path, required=True, help="output folder")
    bt.add_argument("--reps", type=_positive_int("--reps"), default=10, help="replications (default 10)")
    bt.add_argument("--seed", type=_seed, default=1, help="master seed of the replications (default 1)")
    bt.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated")
    bt.add_argument("--workers", type=_positive_int("--workers"), default=None, help="parallel workers (default: all cores)")
    bt.add_argument("--docs", type=Path, default=None, help="also write the report here (e.g. docs/validation.md)")
    bt.add_argument("--quiet", action="store_true", help="no progress bar")

    val = sub.add_parser("validate", help="check a scenario file and print the resolved scenario")
    val.add_argument("scenario", type=Path, help="scenario file (TOML)")

    lst = sub.add_parser("list", help="list scenario files with their descriptions")
    lst.add_argument("--dir", type=Path, default=REPO_ROOT / "scenarios", help="folder of scenario files")

    dash = sub.add_parser("dashboard", help="start the interactive dashboard (a web page driving the model) in a local web server")
    dash.add_argument("scenario", type=Path, nargs="?", default=None,
                      help="scenario file (TOML) to start from (default: scenarios/protocol_2023.toml)")
    dash.add_argument("--port", type=_positive_int("--port"), default=8765, help="port to listen on (default 8765)")
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    _add_sensitivity_parsers(sub)
    return parser


def persons_simulated(scenario) -> int:
    """How many persons a run of ``scenario`` at its scale simulates (the initial pool and every arrival)."""
    from ..core.people import arrival_schedule

    schedule = arrival_schedule(scenario)
    return int(schedule.initial.sum() + schedule.counts.sum())


def _check_size(scenarios, allow_tiny: bool) -> None:
    """Refuse a scale at which a run simulates fewer than MIN_PERSONS persons (unless --allow-tiny)."""
    if allow_tiny:
        return
    for sc in scenarios:
        n = persons_simulated(sc)
        if n < MIN_PERSONS:
            least = sc.run.scale * MIN_PERSONS / n if n else None
            if least:
                step = 10 ** (math.floor(math.log10(least)) - 1)
                least = math.ceil(least / step - 1e-9) * step  # up, to two figures: enough persons
            hint = f"; use --scale {least:.2g} or more" if least and least <= 1 else ""
            raise BadInput(f"--scale {sc.run.scale:g} simulates {n:,} persons for {sc.name}, fewer than {MIN_PERSONS:,}: "
                           f"each would stand for {1 / sc.run.scale:,.0f} real people and the counts would mean "
                           f"nothing{hint} (or pass --allow-tiny)")


def _did_you_mean(error: ScenarioError) -> str:
    """' Did you mean scenarios/protocol_2023.toml?' for a scenario file that is not there, or ''."""
    import difflib

    path = Path(error.file)
    if "file not found" not in str(error) or path.exists():
        return ""
    folders = [path.parent] if path.parent.is_dir() else []
    folders.append(REPO_ROOT / "scenarios")
    candidates = {}
    for folder in folders:
        for f in sorted(folder.glob("*.toml")):
            rel = os.path.relpath(f)
            candidates.setdefault(f.stem, f if rel.startswith("..") else rel)
    close = difflib.get_close_matches(path.stem, list(candidates), n=1, cutoff=0.6)
    return f". Did you mean {candidates[close[0]]}?" if close else ""


def _port_free(host: str, port: int) -> bool:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True  # the server will say what is wrong with the address
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError:
            return False
    return True


def cmd_run(args) -> int:
    from tqdm import tqdm

    from ..calendar import days_between
    from ..experiments.run import is_complete, simulate, write_run
    from ..files import claim_output_dir, staged_directory
    from ..scenario import load_scenario
    from .plots import run_plots

    state = None
    if args.from_state is not None:
        from ..experiments.branching import BranchError, Snapshot

        try:
            state = Snapshot.load(args.from_state)
        except BranchError as e:
            raise BadInput(str(e)) from None
        for flag, given, saved in (("--seed", args.seed, state.scenario.run.seed), ("--scale", args.scale, state.scenario.run.scale)):
            if given is not None and given != saved:
                raise BadInput(f"{flag} {given} differs from the saved state's ({saved}); leave it out")
        scenario = load_scenario(args.scenario, seed=state.scenario.run.seed, scale=state.scenario.run.scale)
    else:
        scenario = load_scenario(args.scenario, seed=args.seed, scale=args.scale)
    if args.until is not None and args.save_state is None:
        raise BadInput("--until goes with --save-state")
    if args.save_state is not None:
        return _save_state(args, scenario, state)
    if args.out is None:
        raise BadInput("--out is required (unless --save-state)")
    seed, scale = scenario.run.seed, scenario.run.scale
    _check_size([scenario], args.allow_tiny)
    claim_output_dir(args.out, "run")  # refuses a file, or a folder with files bordersim did not write
    if not args.force and is_complete(args.out, scenario, seed, scale):
        print(f"{args.out}: already holds this run ({scenario.name}, seed {seed}, scale {scale}); use --force to rerun")
        return 0
    claim_output_dir(args.out, "run", replace=True, force=args.force)  # another run there: only with --force
    n_days = days_between(scenario.time.first_day, scenario.time.last_day)
    with tqdm(total=n_days, unit="day", desc=scenario.name, disable=args.quiet, leave=False) as bar:
        def progress(done):
            if done % 30 == 0 or done == n_days:
                bar.update(done - bar.n)

        result = _simulate_from(scenario, state, progress)
    with staged_directory(args.out, "run") as stage:
        write_run(result, stage)
        if not args.no_plots:
            run_plots(result.monthly, scenario, stage / "plots")
    print(f"{scenario.name}: wrote {args.out}/monthly.csv, run.json" + ("" if args.no_plots else ", plots/"))
    return 0


def _simulate_from(scenario, state, progress=None, until=None):
    from ..experiments.branching import BranchError
    from ..experiments.run import simulate

    try:
        return simulate(scenario, start=state, progress=progress, until=until, commit=until is None)
    except BranchError as e:
        raise BadInput(str(e)) from None


def _save_state(args, scenario, state) -> int:
    """``run --save-state``: simulate to --until (or the end) and save the model's state there."""
    from ..calendar import parse_date
    from ..experiments.branching import Snapshot

    until = args.until
    if until is not None:
        try:
            day = parse_date(until)
        except ValueError as e:
            raise BadInput(f"--until: {e}") from None
        if not scenario.time.first_day < day <= scenario.time.last_day:
            raise BadInput(f"--until {until} is outside the scenario's window {scenario.time.start}..{scenario.time.end}")
    result = _simulate_from(scenario, state, until=until or scenario.time.last_day.isoformat())
    snap = Snapshot(result.model)
    snap.save(args.save_state)
    print(f"{scenario.name}: saved the state at {snap.date} (day {snap.day}, {snap.nbytes() / 1e6:.0f} MB) to "
          f"{args.save_state}; continue with 'bordersim run SCENARIO --from-state {args.save_state} --out DIR'")
    return 0


def cmd_compare(args) -> int:
    from .report import compare
    from ..scenario import load_scenario

    scenarios = [load_scenario(p) for p in args.scenarios]
    for path, sc in zip(args.scenarios, scenarios):
        _check_runnable(sc, path, args.scale)
    if args.scheduler and args.executor != "dask":
        raise BadInput("--scheduler goes with --executor dask")
    if args.scale is not None:
        _check_size([s.model_copy(update={"run": s.run.model_copy(update={"scale": args.scale})}) for s in scenarios],
                    args.allow_tiny)
    else:
        _check_size([s.model_copy(update={"run": s.run.model_copy(update={"scale": scenarios[0].run.scale})})
                     for s in scenarios], args.allow_tiny)
    summary, _, result = compare(
        scenarios, args.out, reference=args.reference, reps=args.reps, master_seed=args.seed, scale=args.scale,
        workers=args.workers, executor=args.executor, scheduler=args.scheduler, progress=not args.quiet,
        plots=not args.no_plots, posterior=args.posterior, branch=not args.no_branch,
    )
    print(f"{result.ran} replications run, {result.skipped} already on disk, {len(result.failures)} failed "
          f"({result.wall_s:.1f} s)")
    for f in result.failures:
        print(f"bordersim: replication failed: scenario {f.scenario}, replication {f.rep}, seed {f.seed}: {f.error}", file=sys.stderr)
    if result.failures:
        print("bordersim: no summary written; rerun the same command to retry the failed replications", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/summary.csv, differences.csv, report.md" + ("" if args.no_plots else ", plots/"))
    from ..experiments.summary import MIN_REPS, MIN_REPS_FOR_INTERVAL

    if args.reps < MIN_REPS:
        enough = "no intervals will be shown" if args.reps < MIN_REPS_FOR_INTERVAL else "its 90% intervals are not settled"
        print(f"bordersim: warning: {args.reps} replications: {enough}; use --reps {MIN_REPS} or more for results "
              "you mean to quote (see the report's section on replications)", file=sys.stderr)
    return 0


def _check_runnable(sc, origin, scale: float | None = None) -> None:
    """Before an ensemble: the scenario fits in memory at ``scale`` and its data cover its window, so that a bad
    scenario or data file is bad input (exit 2) here, not a replication failing in every worker (exit 1)."""
    from .. import data
    from ..calendar import month_key, month_starts
    from ..scenario.loading import check_size

    check_size(sc, origin, scale)
    data.monthly_inflow([month_key(m) for m in month_starts(sc.time.first_day, sc.time.last_day)], sc.population.inflow_file)


def cmd_report(args) -> int:
    from ..files import claim_existing_dir
    from .report import build_report

    claim_existing_dir(args.out, "compare")  # a folder 'bordersim compare' wrote, and nothing else there
    build_report(args.out, plots=not args.no_plots)
    print(f"rebuilt {args.out}/summary.csv, differences.csv, report.md" + ("" if args.no_plots else ", plots/"))
    return 0


def cmd_calibrate(args) -> int:
    import shlex

    from ..experiments.calibration import calibrate
    from ..files import claim_output_dir, claim_output_file, staged_directory
    from ..scenario import load_scenario
    from .calibration_report import write_calibration, write_calibration_docs

    sc = load_scenario(args.scenario, seed=args.seed, scale=args.scale)
    claim_output_dir(args.out, "calibrate", replace=True, force=True)  # a calibration folder is always rewritten whole
    if args.docs:
        claim_output_file(args.docs, "--docs", "Produced by `bordersim calibrate`")
    with staged_directory(args.out, "calibrate") as stage:
        result = calibrate(sc, args.fit, population=args.population, generations=args.generations,
                           master_seed=args.seed, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                           database=stage / "abc.db", progress=not args.quiet)
        command = shlex.join(["bordersim", "calibrate", str(args.scenario), "--fit", args.fit,
                              "--population", str(args.population), "--generations", str(args.generations),
                              "--seed", str(args.seed), "--scale", str(sc.run.scale), "--out", str(args.out)])
        write_calibration(result, stage, args.fit, command)
    if args.docs:
        write_calibration_docs(args.out, args.docs)
    print(f"{len(result.posterior)} particles after {len(result.generations)} generations, "
          f"{int(result.generations['runs'].sum())} runs ({result.seconds:.0f} s); wrote {args.out}/posterior.csv, "
          "posterior_summary.csv, generations.csv, calibrated.toml, abc.db, plots/")
    return 0


def cmd_route_share(args) -> int:
    import shlex

    from ..experiments.route_share import fit_route_share, markdown
    from ..files import claim_output_file, write_atomic
    from ..scenario import load_scenario

    sc = load_scenario(args.scenario, seed=args.seed, scale=args.scale)
    if args.docs:
        claim_output_file(args.docs, "--docs", "Produced by `bordersim route-share`")

    def progress(value, share, target):
        if not args.quiet:
            print(f"  asc_irregular {value:8.3f}: {share:6.2%} outside Quebec (observed {target:.2%})", flush=True)

    fit = fit_route_share(sc, reps=args.reps, master_seed=args.seed, scale=args.scale, workers=args.workers,
                          progress=progress)
    print(f"behaviour.asc_irregular = {fit.value:.3f}  # observed share outside Quebec {fit.observed:.2%}, "
          f"{', '.join(map(str, fit.years))}")
    if args.docs:
        command = shlex.join(["bordersim", "route-share", str(args.scenario), "--reps", str(args.reps),
                              "--seed", str(args.seed), "--scale", f"{fit.scale:g}", "--docs", str(args.docs)])
        write_atomic(Path(args.docs), markdown(fit, command).encode())
        print(f"wrote {args.docs}")
    return 0


def cmd_backtest(args) -> int:
    from ..experiments.validation import ORIGINS, run_backtest, run_origin
    from ..files import claim_output_file
    from ..scenario import load_scenario
    from .validation_report import write_backtest_report

    if args.posterior is not None and not Path(args.posterior).is_file():
        raise BadInput(f"--posterior {args.posterior}: file not found (bordersim calibrate writes posterior.csv)")
    if args.docs:
        claim_output_file(args.docs, "--docs", "Produced by `bordersim backtest`")
    _check_runnable(load_scenario(args.scenario, scale=args.scale), args.scenario)
    origins = list(ORIGINS) if args.origin == ["all"] else (args.origin or [])
    for origin in origins:
        if origin not in ORIGINS:
            raise BadInput(f"--origin {origin}: allowed: {', '.join(ORIGINS)} or all")
    if origins:  # the origins' folders go inside the backtest's own: claim and mark it before writing them
        from ..files import claim_output_dir, mark_folder

        claim_output_dir(Path(args.out), "backtest")
        (Path(args.out) / "origins").mkdir(parents=True, exist_ok=True)
        mark_folder(Path(args.out), "backtest", entries=["origins"])
    folders = []
    for origin in origins:  # each one: calibrate on the months before it, then predict it
        folder = Path(args.out) / "origins" / origin
        if not (folder / "origin.csv").is_file():
            ob = run_origin(args.scenario, origin, folder, population=args.population, generations=args.generations,
                            reps=args.reps, scale=args.scale, master_seed=args.seed, workers=args.workers,
                            progress=not args.quiet)
            r = ob.table.iloc[0]
            print(f"{origin} ({r.change}): observed change {r.observed_change:+.0%}, predicted {r.predicted_change:+.0%} "
                  f"[{r.p05:+.0%}, {r.p95:+.0%}]")
        folders.append(folder)
    bt = run_backtest(args.scenario, args.out, reps=args.reps, scale=args.scale, master_seed=args.seed,
                      workers=args.workers, progress=not args.quiet, posterior=args.posterior)
    found = sorted(p.parent for p in (Path(args.out) / "origins").glob("*/origin.csv"))
    write_backtest_report(bt, args.docs, origins=found)
    print(bt.targets[["check", "observed", "simulated", "target", "met"]].to_string(
        index=False, float_format=lambda x: f"{x:,.2f}"))
    print(f"wrote {args.out}/targets.csv, scores.csv, annual.csv, checks.csv, heldout.csv, validation.md, plots/"
          + (f" and {args.docs}" if args.docs else ""))
    return 0


def cmd_validate(args) -> int:
    import tomli_w

    from ..scenario import load_scenario

    sc = load_scenario(args.scenario)
    doc = sc.to_dict()
    print(f"# {args.scenario}: valid. Resolved scenario '{sc.name}' (digest {sc.digest()}):\n")
    print(tomli_w.dumps(_drop_none(doc)))
    print("# Rules in force, by period:")
    previous = None
    for start, rules in sc.rule_timeline():
        values = rules.values()
        diff = {k: v for k, v in values.items() if previous is None or v != previous[k]}
        print(f"#   from {start}: " + ", ".join(f"{k}={v}" for k, v in diff.items()))
        previous = values
    return 0


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def cmd_list(args) -> int:
    from ..scenario import load_scenario

    folder = args.dir
    if not folder.is_dir():
        raise BadInput(f"--dir {folder}: not a folder")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise BadInput(f"--dir {folder}: no .toml scenario files")
    width = max(len(f.name) for f in files)
    for f in files:
        sc = load_scenario(f)
        print(f"{f.name:<{width}}  {sc.time.start}..{sc.time.end}  {sc.scenario.description}")
    return 0


def cmd_dashboard(args) -> int:
    import os
    import subprocess

    from ..scenario import load_scenario

    env = dict(os.environ)
    if args.scenario is not None:
        load_scenario(args.scenario)  # a bad file fails here, with the usual one-line message
        env["BORDERSIM_SCENARIO"] = str(args.scenario.resolve())  # read by simulation/app.py
    if not _port_free(args.host, args.port):
        raise BadInput(f"--port {args.port}: already in use on {args.host} (another dashboard or server is listening); "
                       "stop it or choose another --port")
    app = Path(__file__).with_name("app.py")
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", args.host, "--port", str(args.port), "--production"]
    print(f"bordersim: dashboard on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.run(cmd, env=env).returncode
    except KeyboardInterrupt:  # Ctrl-C reaches the server too, which stops
        print("bordersim: dashboard stopped", file=sys.stderr)
        return 0


def _add_sensitivity_parsers(sub) -> None:
    """The 'sensitivity' and 'discover' subcommands (simulation.experiments.sensitivity, .discovery)."""
    from ..experiments.sensitivity import OUTCOMES

    sen = sub.add_parser("sensitivity", help="which uncertain parameters drive each outcome (Morris or Sobol, resumable)")
    sen.add_argument("scenario", type=Path, help="scenario file (TOML)")
    sen.add_argument("--method", choices=("morris", "sobol"), default="morris", help="Morris screening or Sobol indices")
    sen.add_argument("--samples", type=_positive_int("--samples"), default=4,
                     help="Morris: trajectories (runs = N x (parameters + 1)); Sobol: base sample, a power of 2 "
                          "(runs = N x (parameters + 2)); default 4")
    _add_space_arguments(sen)
    sen.add_argument("--outcomes", default=",".join(OUTCOMES),
                     help="comma-separated summary outcomes, names from OUTCOMES in simulation.core.columns "
                          "(default: %(default)s)")

    dis = sub.add_parser("discover", help="scenario discovery: where does an option fail against a reference? (LHS + PRIM)")
    dis.add_argument("scenario", type=Path, help="the option (TOML), e.g. scenarios/protocol_2023.toml")
    dis.add_argument("--reference", type=Path, required=True, help="the reference scenario file, e.g. scenarios/no_protocol.toml")
    dis.add_argument("--samples", type=_positive_int("--samples"), default=64, help="Latin hypercube points (default 64)")
    dis.add_argument("--metric", default="irregular_crossings",
                     help="the summary outcome the option is judged by, a name from OUTCOMES in simulation.core.columns "
                          "(default irregular_crossings)")
    dis.add_argument("--cut", type=_fraction("--cut"), default=0.5,
                     help="a case of interest: the option cuts the metric by less than this share (default 0.5)")
    dis.add_argument("--min-coverage", type=_fraction("--min-coverage"), default=0.5,
                     help="the box reported is the densest with at least this coverage (default 0.5)")
    _add_space_arguments(dis)


def _fraction(flag: str):
    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a number; allowed: 0 < x < 1") from None
        if not 0 < x < 1:
            raise argparse.ArgumentTypeError(f"{flag} {x} is out of range; allowed: 0 < x < 1")
        return x

    return parse


def _add_space_arguments(p) -> None:
    """Arguments shared by 'sensitivity' and 'discover': the parameters, the runs, the executor."""
    p.add_argument("--params", action="append", default=None, metavar="PATTERN",
                   help="glob over key paths, e.g. 'behaviour.*' or 'canada.irb_*' (repeat or comma-separate; default behaviour.*)")
    p.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI", dest="ranges",
                   help="set a parameter's range by hand (default: its value +-50%%, within the schema's bounds)")
    p.add_argument("--out", type=Path, required=True, help="output folder (replications, tables, plots; resumable)")
    p.add_argument("--window", default="after_change", help="summary window (default after_change: from the policy date)")
    p.add_argument("--reps", type=_positive_int("--reps"), default=1, help="replications per sample point, same seeds for all (default 1)")
    p.add_argument("--seed", type=_seed, default=None, help="master seed of the sampler and the replications (default: run.seed)")
    p.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated")
    p.add_argument("--workers", type=_positive_int("--workers"), default=None, help="parallel workers (default: all cores)")
    p.add_argument("--executor", choices=("local", "dask"), default="local", help="local process pool or dask.distributed")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:8786); default: a LocalCluster")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _space_options(args) -> dict:
    from ..experiments.sensitivity import parse_range

    if args.scheduler and args.executor != "dask":
        raise BadInput("--scheduler goes with --executor dask")
    patterns = [p.strip() for arg in (args.params or ["behaviour.*"]) for p in arg.split(",") if p.strip()]
    return dict(patterns=patterns, ranges=[parse_range(r) for r in args.ranges], window=args.window, scale=args.scale,
                reps=args.reps, seed=args.seed, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                progress=not args.quiet)


def _report_failures(result) -> int:
    print(f"{result.ran} replications run, {result.skipped} already on disk, {len(result.failures)} failed "
          f"({result.wall_s:.1f} s)")
    for f in result.failures:
        print(f"bordersim: replication failed: scenario {f.scenario}, replication {f.rep}, seed {f.seed}: {f.error}", file=sys.stderr)
    if result.failures:
        print("bordersim: no results written; rerun the same command to retry the failed replications", file=sys.stderr)
        return 1
    return 0


def cmd_sensitivity(args) -> int:
    from ..experiments.sensitivity import run_sensitivity, top_table
    from ..scenario import load_scenario
    from .sensitivity_plots import plot_sensitivity

    scenario = load_scenario(args.scenario)
    _check_runnable(scenario, args.scenario, args.scale)
    outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()]
    res = run_sensitivity(scenario, args.out, method=args.method, samples=args.samples, outcomes=outcomes, **_space_options(args))
    if _report_failures(res.ensemble):
        return 1
    if not args.no_plots:
        plot_sensitivity(res)
    print(top_table(res.indices, args.method))
    print(f"wrote {args.out}/indices.csv, outcomes.csv, samples.csv" + ("" if args.no_plots else ", plots/"))
    return 0


def cmd_discover(args) -> int:
    from ..experiments.discovery import describe, run_discovery
    from ..scenario import load_scenario
    from .sensitivity_plots import plot_discovery_result

    option, reference = load_scenario(args.scenario), load_scenario(args.reference)
    _check_runnable(option, args.scenario, args.scale)
    _check_runnable(reference, args.reference, args.scale)
    res = run_discovery(option, reference, args.out, samples=args.samples, metric=args.metric, cut=args.cut,
                        min_coverage=args.min_coverage, **_space_options(args))
    if _report_failures(res.ensemble):
        return 1
    if not args.no_plots:
        plot_discovery_result(res)
    print(describe(res))
    box = "" if res.box is None else ", box.csv"
    print(f"wrote {args.out}/samples.csv, trajectory.csv{box}, box.json" + ("" if args.no_plots or res.box is None else ", plots/"))
    return 0


COMMANDS = {"dashboard": cmd_dashboard, "run": cmd_run, "compare": cmd_compare, "report": cmd_report, "calibrate": cmd_calibrate,
            "route-share": cmd_route_share,
            "backtest": cmd_backtest, "validate": cmd_validate, "list": cmd_list,
            "sensitivity": cmd_sensitivity, "discover": cmd_discover}


#: OSError numbers that mean a path given on the command line or in a scenario file cannot be used as it is
_PATH_ERRORS = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP)


def _tolerant_output() -> None:
    """Let messages show any path, even one whose bytes are not UTF-8 (Python hands them over as surrogates,
    which a strict UTF-8 stdout refuses to print: a traceback after the work was done)."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _error(message: str) -> None:
    """One line on stderr, whatever the message holds: a path with a newline, a tab or bytes that are not
    UTF-8 is shown escaped (as Python writes it in a string), so the message stays one line."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    print(f"bordersim: error: {shown}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    _tolerant_output()
    args = build_parser().parse_args(argv)  # argparse itself exits 2 on bad arguments
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # the reader went away (`bordersim validate ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ScenarioError as e:
        _error(f"{e}{_did_you_mean(e)}")
        return EXIT_BAD_INPUT
    except (DataError, BadInput, EnsembleError, CalibrationError, OutputError) as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    except PermissionError as e:
        _error(f"cannot write {e.filename}: permission denied")
        return EXIT_BAD_INPUT
    except OSError as e:
        if e.errno == 28:  # ENOSPC
            _error(f"no space left on device writing {e.filename or ''}; earlier results are untouched")
            return EXIT_BAD_INPUT
        if e.errno in (30, 122):  # EROFS (a read-only file system), EDQUOT (disk quota exceeded)
            _error(f"cannot write {e.filename or ''}: {e.strerror}; earlier results are untouched")
            return EXIT_BAD_INPUT
        if e.errno in _PATH_ERRORS:  # a path the user gave that cannot be used (a file name too long, a file where a folder must be...)
            where = f"{e.filename}: " if e.filename else ""
            _error(f"{where}{e.strerror}")
            return EXIT_BAD_INPUT
        raise
    except KeyboardInterrupt:
        print("bordersim: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
