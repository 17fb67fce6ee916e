"""Sensitivity analysis (Morris, Sobol) and scenario discovery (LHS + PRIM): ranges, variants, runs, resume, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.present.cli import main
from simulation.data import REPO_ROOT
from simulation.experiments.discovery import choose_box, prim_peel
from simulation.experiments.engine import replication_seeds
from simulation.experiments.storage import read_rep, rep_path
from simulation.present.sensitivity_plots import plot_sensitivity
from simulation.scenario import load_scenario, scenario_from_dict
from simulation.experiments.sensitivity import (
    INDEX_NAMES,
    Parameter,
    SensitivityError,
    _range_for,
    analyse,
    apply,
    make_variants,
    parameter_space,
    parse_range,
    run_sensitivity,
    select_parameters,
)

PROTOCOL = REPO_ROOT / "scenarios" / "protocol_2023.toml"

SCALE = "0.002"


@pytest.fixture(scope="module")
def protocol():
    return load_scenario(PROTOCOL)


# --- the range rule ----------------------------------------------------------


def test_ranges_follow_the_rule_and_the_schema():
    sc = scenario_from_dict({"behaviour": {"w_protection": 3.0, "asc_roxham": -9.0, "homophily": 0.8, "nest_scale": 0.5,
                                           "contacts_per_person": 8}, "policy": {"humanitarian_pr_per_month": 0.0},
                             "canada": {"irb_decisions_per_month": {"2017-01": 2000.0}}})
    params, skipped = parameter_space(sc)
    by = {p.key: p for p in params}
    assert (by["behaviour.w_protection"].low, by["behaviour.w_protection"].high) == (1.5, 4.5)  # 3 +- 50%
    assert (by["behaviour.asc_roxham"].low, by["behaviour.asc_roxham"].high) == (-13.5, -4.5)  # negative values too
    assert (by["behaviour.homophily"].low, by["behaviour.homophily"].high) == (0.4, 1.0)  # probability: clipped at 1
    assert "clipped to <= 1" in by["behaviour.homophily"].rule
    assert (by["behaviour.nest_scale"].low, by["behaviour.nest_scale"].high) == (0.25, 0.75)
    assert by["behaviour.contacts_per_person"].kind == "int" and (by["behaviour.contacts_per_person"].low,
                                                                   by["behaviour.contacts_per_person"].high) == (4, 12)
    assert by["canada.irb_decisions_per_month*factor"].kind == "factor"  # a dated table: one factor on every entry
    assert "value is 0" in skipped["policy.humanitarian_pr_per_month"]
    assert "table by group" in skipped["canada.acceptance_rate"]
    assert "not a number" in skipped["policy.stca_at_ports"]
    assert not any(k.startswith(("run.", "time.", "scenario.")) for k in by)


def test_every_derived_range_is_legal_at_both_ends(protocol):
    """All parameters at their lower ends, then all at their upper ends: both scenarios validate."""
    params, _ = parameter_space(protocol)
    X = np.array([[p.low for p in params], [p.high for p in params]])
    low, high = make_variants(protocol, params, X)
    assert low.behaviour.homophily == 0.4 and high.behaviour.homophily == 1.0
    assert high.population.pool_entry_share != protocol.population.pool_entry_share


@pytest.mark.parametrize("value, bounds, whole, expected", [
    (0.1, {"gt": 0.08}, False, (0.09, 0.15)),  # a strict bound: stop half-way between it and the value
    (0.9, {"ge": 0.0, "le": 1.0}, False, (0.45, 1.0)),
    (0.9, {"lt": 1.0}, False, (0.45, 0.95)),
    (3, {"ge": 1, "le": 4}, True, (1, 4)),
    (-2.0, {}, False, (-3.0, -1.0)),
])
def test_range_rule_cases(value, bounds, whole, expected):
    lo, hi, _ = _range_for(value, bounds, whole)
    assert (lo, hi) == pytest.approx(expected)


def test_glob_patterns_and_manual_ranges(protocol):
    keys = [p.key for p in select_parameters(protocol, ["behaviour.w_*"])]
    assert keys == ["behaviour.w_protection", "behaviour.w_wait", "behaviour.w_cost", "behaviour.w_risk",
                    "behaviour.w_return", "behaviour.w_hiding", "behaviour.w_reception"]
    both = [p.key for p in select_parameters(protocol, ["canada.irb_*", "behaviour.nest_scale", "canada.irb_*"])]
    assert both == ["canada.irb_decisions_per_month*factor", "canada.irb_initial_backlog", "behaviour.nest_scale"]
    manual = select_parameters(protocol, ["behaviour.w_cost"], [parse_range("behaviour.w_cost=0.1:0.2"),
                                                                  parse_range("policy.humanitarian_pr_per_month=0:2000")])
    assert [(p.key, p.low, p.high) for p in manual] == [("behaviour.w_cost", 0.1, 0.2),
                                                        ("policy.humanitarian_pr_per_month", 0.0, 2000.0)]
    with pytest.raises(SensitivityError, match="matches no numeric parameter"):
        select_parameters(protocol, ["behavior.*"])
    with pytest.raises(SensitivityError, match="value is 0"):
        select_parameters(protocol, ["policy.humanitarian_pr_per_month"])
    with pytest.raises(SensitivityError, match="not a parameter that can be varied"):
        select_parameters(protocol, ["behaviour.w_cost"], [("policy.roxham", 0, 1)])
    for bad in ("behaviour.w_cost", "behaviour.w_cost=1", "behaviour.w_cost=2:1", "x=a:b", "x=nan:1"):
        with pytest.raises(SensitivityError):
            parse_range(bad)


def test_variants_apply_values_round_whole_numbers_and_scale_dated_tables():
    sc = scenario_from_dict({"scenario": {"name": "v"}, "canada": {"irb_decisions_per_month": {"2017-01": 2000, "2020-01": 1000}},
                             "population": {"pool_entry_share": {"2017-01": 0.8, "2021-01": 0.5}}})
    params = select_parameters(sc, ["behaviour.contacts_per_person", "canada.irb_decisions_per_month*", "population.pool_entry_*"])
    (v,) = make_variants(sc, params, np.array([[6.6, 1.5, 1.5]]), seed=4, scale=0.01)
    assert v.name == "v-s0000" and v.run.seed == 4 and v.run.scale == 0.01
    assert v.behaviour.contacts_per_person == 7
    assert v.canada.irb_decisions_per_month == {"2017-01": 3000.0, "2020-01": 1500.0}
    assert v.population.pool_entry_share == {"2017-01": 1.0, "2021-01": 0.75}  # a share is capped at 1
    raw = sc.to_dict()
    assert apply(raw, params, [4, 1, 1])["canada"] == raw["canada"]  # the dict given is not changed


# --- runs ----------------------------------------------------------------------


def _stored_seeds(out: Path) -> dict[str, list[int]]:
    return {d.name: sorted({int(s) for f in d.glob("*.parquet") for s in pd.read_parquet(f).rep_seed}) for d in (out / "reps").iterdir()}


def test_morris_via_the_cli_is_tidy_plotted_paired_and_resumable(short_pair, tmp_path, capsys):
    option, _ = short_pair
    out = tmp_path / "morris"
    args = ["sensitivity", str(option), "--method", "morris", "--params", "behaviour.asc_roxham,behaviour.w_protection",
            "--params", "behaviour.contacts_per_person", "--samples", "2", "--scale", SCALE, "--workers", "1",
            "--seed", "5", "--outcomes", "irregular_crossings,deaths_expected", "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "8 replications run, 0 already on disk, 0 failed" in printed and "irregular_crossings (mu_star, persons)" in printed
    idx = pd.read_csv(out / "indices.csv")
    assert list(idx.columns) == ["outcome", "parameter", "index", "value"]
    assert set(idx["index"]) == set(INDEX_NAMES["morris"])
    assert set(idx.outcome) == {"irregular_crossings", "deaths_expected"}
    assert len(idx) == 2 * 3 * 4 and np.isfinite(idx.value).all()
    ir = idx[(idx.outcome == "irregular_crossings") & (idx["index"] == "mu_star")].set_index("parameter").value
    assert ir["behaviour.asc_roxham"] > 0  # the Roxham constant moves Roxham crossings
    for outcome in set(idx.outcome):
        assert (out / "plots" / f"{outcome}.png").stat().st_size > 5000
    # the same replication seed at every sample point: common random numbers
    seeds = _stored_seeds(out)
    assert len(seeds) == 8 and all(s == replication_seeds(5, 1) for s in seeds.values())
    # a rerun runs nothing and writes the same indices
    before = (out / "indices.csv").read_bytes()
    assert main(args) == 0
    assert "0 replications run, 8 already on disk" in capsys.readouterr().out
    assert (out / "indices.csv").read_bytes() == before


def test_the_default_outcomes_are_the_headline_ones():
    from simulation.present.cli import build_parser
    from simulation.experiments.sensitivity import OUTCOMES

    args = build_parser().parse_args(["sensitivity", "x.toml", "--out", "o"])
    assert args.outcomes.split(",") == list(OUTCOMES) == ["irregular_crossings", "returns", "deaths_expected",
                                                         "irb_backlog_end", "reception_cost"]


def test_sobol_indices_with_intervals(short_pair, tmp_path):
    option, _ = short_pair
    """Sobol indices with their intervals; an outcome that never varies (no resettlement here) gets NaN, not an error."""
    option, _ = short_pair
    res = run_sensitivity(option, tmp_path / "sobol", method="sobol", patterns=["behaviour.asc_roxham", "behaviour.asc_irregular"],
                          samples=2, outcomes=["irregular_crossings", "deaths_expected", "humanitarian_pr"], scale=float(SCALE),
                          seed=2, workers=1)
    plot_sensitivity(res)
    assert not res.ensemble.failures and res.ensemble.ran == 2 * (2 + 2)
    wide = res.indices.pivot_table(index=["outcome", "parameter"], columns="index", values="value", dropna=False)
    assert set(wide.columns) == {"S1", "S1_conf", "ST", "ST_conf"}
    varied = wide.drop(index="humanitarian_pr")
    assert (varied["ST_conf"] >= 0).all() and (varied["S1_conf"] >= 0).all() and np.isfinite(varied.to_numpy()).all()
    assert wide.loc["humanitarian_pr"].isna().all().all()
    for outcome in ("deaths_expected", "humanitarian_pr"):
        assert (tmp_path / "sobol" / "plots" / f"{outcome}.png").is_file()
    assert res.samples["sample"].str.fullmatch(r"short_protocol-s\d{4}").all()


def test_morris_of_a_constant_outcome_is_zero():
    params = [Parameter("behaviour.w_cost", 0.5, 1.5, 1.0, "float", "", ""), Parameter("behaviour.w_risk", 0.25, 0.75, 0.5, "float", "", "")]
    X = np.array([[0.5, 0.25], [1.5, 0.25], [1.5, 0.75], [0.5, 0.75], [0.5, 0.25], [0.5, 0.75]])
    idx = analyse("morris", params, X, pd.DataFrame({"humanitarian_pr": np.full(6, 12.0)}), seed=1)
    assert (idx.value == 0).all() and len(idx) == 2 * 4


@pytest.mark.parametrize("extra, message", [
    (["--method", "sobol", "--samples", "3"], "needs a power of 2"),
    (["--samples", "1"], "Morris needs at least 2 trajectories"),
    (["--params", "nope.*"], "--params 'nope.*' matches no numeric parameter"),
    (["--range", "behaviour.nest_scale=0.5:1.5"], "behaviour.nest_scale"),
    (["--range", "behaviour.nest_scale=0.5"], "use KEY=LO:HI"),
    (["--outcomes", "irregular_crossings,happiness"], "--outcomes happiness: unknown"),
    (["--window", "first_week"], "--window 'first_week': not a window"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler goes with --executor dask"),
])
def test_bad_sensitivity_requests_exit_2_and_run_nothing(short_pair, tmp_path, capsys, extra, message):
    option, _ = short_pair
    out = tmp_path / "o"
    code = main(["sensitivity", str(option), "--samples", "2", "--scale", SCALE, "--out", str(out), "--quiet",
                 "--params", "behaviour.nest_scale", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (out / "reps").exists()


def test_a_scenario_without_policy_date_needs_another_window(tmp_path, capsys):
    path = tmp_path / "plain.toml"
    path.write_text('[scenario]\nname = "plain"\n[time]\nstart = "2017-01"\nend = "2017-04"\n')
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "allowed: whole_horizon" in capsys.readouterr().err
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--quiet", "--window", "whole_horizon",
                 "--params", "behaviour.w_cost", "--samples", "2", "--scale", "0.001", "--workers", "1", "--no-plots"]) == 0


# --- scenario discovery ------------------------------------------------------


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(400, 3))
    y = (X[:, 0] > 0.6) & (X[:, 1] < 0.5)
    boxes = prim_peel(X, y, [0, 0, 0], [1, 1, 1], alpha=0.05, min_mass=0.05)
    assert boxes[0].coverage == 1 and boxes[0].density == pytest.approx(y.mean())
    assert all(b.mass >= 0.05 for b in boxes) and [b.step for b in boxes] == list(range(len(boxes)))
    box = choose_box(boxes, min_coverage=0.8)
    assert box.density > 0.95 and box.coverage >= 0.8
    assert 0.55 < box.low[0] < 0.65 and 0.45 < box.high[1] < 0.55
    assert box.low[2] < 0.1 and box.high[2] > 0.9  # the irrelevant parameter is (nearly) left alone


def test_prim_with_ties_and_discrete_values():
    X = np.repeat(np.arange(10.0), 10)[:, None]
    y = X[:, 0] >= 7
    box = choose_box(prim_peel(X, y, min_mass=0.1), 0.9)
    assert box.density == 1.0 and box.coverage == 1.0 and box.low[0] == 7


def test_discover_via_the_cli(short_pair, tmp_path, capsys):
    option, reference = short_pair
    out = tmp_path / "disc"
    args = ["discover", str(option), "--reference", str(reference), "--params", "behaviour.asc_irregular,behaviour.asc_roxham",
            "--range", "behaviour.asc_roxham=-14:-2", "--samples", "6", "--cut", "0.9", "--scale", SCALE, "--seed", "7",
            "--workers", "1", "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "samples.csv")
    assert len(table) == 6 and "sample points are cases of interest" in printed
    opt, ref = table["irregular_crossings_short_protocol"], table["irregular_crossings_short_no_protocol"]
    assert (table["case"] == (opt > 0.1 * ref)).all()
    assert table["behaviour.asc_roxham"].between(-14, -2).all()
    # option and reference of a sample point share the parameters and the replication seed
    seeds = _stored_seeds(out)
    assert len(seeds) == 12 and len({tuple(s) for s in seeds.values()}) == 1
    if table["case"].any():
        box = pd.read_csv(out / "box.csv")
        assert list(box.columns) == ["parameter", "range_low", "range_high", "box_low", "box_high", "restricted", "qp"]
        assert box.qp[box.restricted].between(0, 1).all() and box.qp[~box.restricted].isna().all()
        assert (box.box_low >= box.range_low - 1e-9).all() and (box.box_high <= box.range_high + 1e-9).all()
        assert "PRIM box" in printed and "coverage" in printed and (out / "plots" / "discovery.png").is_file()
    assert main(args) == 0 and "0 replications run, 12 already on disk" in capsys.readouterr().out


def test_bad_discovery_requests_exit_2(short_pair, tmp_path, capsys):
    option, reference = short_pair
    base = ["discover", str(option), "--out", str(tmp_path / "o"), "--quiet", "--samples", "2"]
    assert main(base + ["--reference", str(option)]) == 2
    assert "both named 'short_protocol'" in capsys.readouterr().err
    assert main(base + ["--reference", str(reference), "--metric", "joy"]) == 2
    assert "unknown; allowed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(base + ["--reference", str(reference), "--cut", "1.5"])
    assert e.value.code == 2 and "--cut 1.5 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "o" / "reps").exists()


def test_discovery_names_and_digests_are_distinct(short_pair):
    """Variant names carry the sample number; the digest changes with the parameters, so nothing collides on disk."""
    option, reference = (load_scenario(p) for p in short_pair)
    params = select_parameters(option, ["behaviour.w_cost"])
    opt = make_variants(option, params, np.array([[0.5], [1.5]]), "d")
    ref = make_variants(reference, params, np.array([[0.5], [1.5]]), "d")
    names = [v.name for v in opt + ref]
    assert names == ["short_protocol-d0000", "short_protocol-d0001", "short_no_protocol-d0000", "short_no_protocol-d0001"]
    assert len({rep_path(Path("o"), v, 0) for v in opt + ref}) == 4
    assert math.isclose(opt[1].behaviour.w_cost, 1.5) and read_rep(Path("/nonexistent.parquet")) is None
