"""The regression baseline: key yearly totals of the history run at a fixed seed and scale.

    .venv/bin/python -m tests.baseline            # compare with tests/baseline.json, print the differences
    .venv/bin/python -m tests.baseline --update   # rewrite tests/baseline.json (after an intended change), print the diff

``tests/test_baseline.py`` runs the same comparison. Counts are persons
(agents divided by the scale), so every flow total is a whole number of
agents times 1/scale: any change of behaviour moves a total by at least one
agent. Totals are compared with a relative tolerance of 1e-9, which only
absorbs the last bits of float sums (the order of additions is fixed; the
tolerance is there so that a change of pandas' summation algorithm is not
mistaken for a change of the model). Write in your commit message why the
baseline changed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
SCENARIO = "scenarios/history.toml"
SEED, SCALE = 1, 0.005
RELATIVE_TOLERANCE = 1e-9
#: flows: summed over each calendar year
FLOWS = ("roxham_crossings", "other_irregular_crossings", "port_claims", "port_turnbacks", "air_claims",
         "protocol_returns", "directed_back", "hidden_past_window", "claims_in_canada", "interceptions",
         "interceptions_quebec", "irb_decisions", "transfers_out_of_quebec", "reception_cost_cad", "humanitarian_pr",
         "deaths_expected", "left_us_process", "us_decisions")
#: stocks: read at the end of each calendar year
STOCKS = ("irb_backlog", "quebec_shelter_population", "shelter_population_elsewhere", "us_backlog")


def current() -> dict:
    """The yearly totals of the history run now."""
    from simulation.data import REPO_ROOT
    from simulation.experiments.run import simulate

    monthly = simulate(REPO_ROOT / SCENARIO, seed=SEED, scale=SCALE, commit=False).monthly
    monthly = monthly.assign(year=monthly["month"].str[:4])
    by_year = monthly.groupby("year", sort=True)
    totals = {c: {y: float(v) for y, v in by_year[c].sum().items()} for c in FLOWS}
    totals |= {c: {y: float(v) for y, v in by_year[c].last().items()} for c in STOCKS}
    return {"scenario": SCENARIO, "seed": SEED, "scale": SCALE, "totals": totals}


def differences(expected: dict, got: dict, tolerance: float = RELATIVE_TOLERANCE) -> list[str]:
    """Lines describing every total that differs (beyond ``tolerance``), appeared or disappeared."""
    out = []
    for key in ("scenario", "seed", "scale"):
        if expected.get(key) != got.get(key):
            out.append(f"{key}: {expected.get(key)!r} -> {got.get(key)!r}")
    e, g = expected.get("totals", {}), got.get("totals", {})
    for column in sorted(set(e) | set(g)):
        years = sorted(set(e.get(column, {})) | set(g.get(column, {})))
        for year in years:
            a, b = e.get(column, {}).get(year), g.get(column, {}).get(year)
            if a is None or b is None:
                out.append(f"{column} {year}: {a} -> {b}")
            elif not math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-9):
                change = f" ({(b - a) / a:+.1%})" if a else ""
                out.append(f"{column} {year}: {a:,.4f} -> {b:,.4f}{change}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.baseline", description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite tests/baseline.json with the current totals")
    args = parser.parse_args(argv)
    got = current()
    expected = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    diff = differences(expected, got)
    print("\n".join(diff) if diff else "no differences from tests/baseline.json")
    if args.update:
        BASELINE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {BASELINE.relative_to(HERE.parent)} ({len(diff)} lines changed)")
        return 0
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
