"""The ``bordersim`` command.

    bordersim run SCENARIO --out DIR [--seed N] [--scale X] [--quiet]
    bordersim compare SCENARIO... --out DIR [--reference NAME] [--reps N] [--workers N] [--executor local|dask]
    bordersim report DIR
    bordersim validate SCENARIO
    bordersim list [--dir scenarios]

Bad input (a scenario file, an argument, a data file) gives one clear line on
stderr and exit code 2, with no traceback and nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import REPO_ROOT, DataError
from .ensemble import EnsembleError
from .scenario import ScenarioError

EXIT_BAD_INPUT = 2


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
        raise argparse.ArgumentTypeError(f"--seed {x} is negative; allowed: an integer >= 0")
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
    parser = argparse.ArgumentParser(prog="bordersim", description="Asylum-seeker flows across the Canada-US border under STCA options.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario and write monthly.csv, run.json and plots/")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    run.add_argument("--out", type=Path, required=True, help="output folder (created; replaced only when the run completes)")
    run.add_argument("--seed", type=_seed, default=None, help="replication seed (default: the scenario's run.seed)")
    run.add_argument("--scale", type=_positive_fraction, default=None, help="fraction of the population simulated, 0 < scale <= 1")
    run.add_argument("--no-plots", action="store_true", help="skip the plots")
    run.add_argument("--force", action="store_true", help="rerun even if --out already holds this run")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

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
    cmp_.add_argument("--no-plots", action="store_true", help="skip the plots")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="rebuild summary, plots and report.md from a comparison folder, without rerunning")
    rep.add_argument("out", type=Path, help="folder written by 'bordersim compare'")
    rep.add_argument("--no-plots", action="store_true")

    val = sub.add_parser("validate", help="check a scenario file and print the resolved scenario")
    val.add_argument("scenario", type=Path)

    lst = sub.add_parser("list", help="list scenario files with their descriptions")
    lst.add_argument("--dir", type=Path, default=REPO_ROOT / "scenarios", help="folder of scenario files")
    return parser


def cmd_run(args) -> int:
    from tqdm import tqdm

    from .runner import is_complete, run_to_folder
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario, seed=args.seed, scale=args.scale)
    seed, scale = scenario.run.seed, scenario.run.scale
    if not args.force and is_complete(args.out, scenario, seed, scale):
        print(f"{args.out}: already holds this run ({scenario.name}, seed {seed}, scale {scale}); use --force to rerun")
        return 0
    from .population import days_between

    n_days = days_between(scenario.time.first_day, scenario.time.last_day)
    with tqdm(total=n_days, unit="day", desc=scenario.name, disable=args.quiet, leave=False) as bar:
        def progress(done):
            if done % 30 == 0 or done == n_days:
                bar.update(done - bar.n)

        out = run_to_folder(scenario, args.out, progress=progress, plots=not args.no_plots)
    print(f"{scenario.name}: wrote {out}/monthly.csv, run.json" + ("" if args.no_plots else ", plots/"))
    return 0


def cmd_compare(args) -> int:
    from .runner import compare
    from .scenario import load_scenario

    scenarios = [load_scenario(p) for p in args.scenarios]
    if args.scheduler and args.executor != "dask":
        raise BadInput("--scheduler goes with --executor dask")
    summary, _, result = compare(
        scenarios, args.out, reference=args.reference, reps=args.reps, master_seed=args.seed, scale=args.scale,
        workers=args.workers, executor=args.executor, scheduler=args.scheduler, progress=not args.quiet,
        plots=not args.no_plots,
    )
    print(f"{result.ran} replications run, {result.skipped} already on disk, {len(result.failures)} failed "
          f"({result.wall_s:.1f} s)")
    for f in result.failures:
        print(f"bordersim: replication failed: scenario {f.scenario}, replication {f.rep}, seed {f.seed}: {f.error}", file=sys.stderr)
    if result.failures:
        print("bordersim: no summary written; rerun the same command to retry the failed replications", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/summary.csv, differences.csv, report.md" + ("" if args.no_plots else ", plots/"))
    return 0


def cmd_report(args) -> int:
    from .report import build_report

    build_report(args.out, plots=not args.no_plots)
    print(f"rebuilt {args.out}/summary.csv, differences.csv, report.md" + ("" if args.no_plots else ", plots/"))
    return 0


def cmd_validate(args) -> int:
    import tomli_w

    from .model import BorderModel
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    doc = sc.to_dict()
    print(f"# {args.scenario}: valid. Resolved scenario '{sc.name}' (digest {sc.digest()}):\n")
    print(tomli_w.dumps(_drop_none(doc)))
    model = BorderModel(sc, scale=1e-6)  # tiny: only the rule timeline is needed
    print("# Rules in force, by period:")
    for k, rules in enumerate(model.regimes):
        start = model.date_of(int((model.regime_of_day == k).argmax()))
        diff = {f: getattr(rules, f) for f in vars(rules) if k == 0 or getattr(rules, f) != getattr(model.regimes[k - 1], f)}
        print(f"#   from {start}: " + ", ".join(f"{f}={v}" for f, v in diff.items()))
    return 0


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def cmd_list(args) -> int:
    from .scenario import load_scenario

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


COMMANDS = {"run": cmd_run, "compare": cmd_compare, "report": cmd_report, "validate": cmd_validate, "list": cmd_list}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse itself exits 2 on bad arguments
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, DataError, BadInput, EnsembleError) as e:
        print(f"bordersim: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PermissionError as e:
        print(f"bordersim: error: cannot write {e.filename}: permission denied", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        if e.errno == 28:  # ENOSPC
            print(f"bordersim: error: no space left on device writing {e.filename or ''}; earlier results are untouched", file=sys.stderr)
            return EXIT_BAD_INPUT
        raise
    except KeyboardInterrupt:
        print("bordersim: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
