"""The scenario runner: common random numbers, determinism across executors, resume, failures, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import compare, load_scenario
from simulation.present.cli import main
from simulation.experiments.engine import replication_seeds
from simulation.experiments.storage import read_rep, rep_path

ROOT = Path(__file__).resolve().parent.parent
NO_PROTOCOL = ROOT / "scenarios" / "no_protocol.toml"
PROTOCOL = ROOT / "scenarios" / "protocol_2023.toml"
SCALE = 0.0015
REPS, SEED = 6, 3
CLI_ARGS = [str(NO_PROTOCOL), str(PROTOCOL), "--reps", str(REPS), "--seed", str(SEED), "--scale", str(SCALE),
            "--quiet", "--no-plots"]


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    """One small two-option ensemble, shared by the tests that only read it (and as the uninterrupted run)."""
    out = tmp_path_factory.mktemp("pair")
    summary, differences, result = compare([NO_PROTOCOL, PROTOCOL], out, reference="no_protocol", reps=REPS,
                                           master_seed=SEED, scale=SCALE, workers=2, plots=False)
    assert not result.failures
    return out, summary, differences


def test_seeds_come_from_seedsequence_and_are_shared():
    seeds = replication_seeds(11, 5)
    assert seeds == replication_seeds(11, 5)
    assert len(set(seeds)) == 5
    assert seeds[0] == int(np.random.SeedSequence(11).spawn(5)[0].generate_state(1, np.uint32)[0])


def test_options_identical_before_the_policy_date(pair_run):
    out, *_ = pair_run
    a, b = load_scenario(NO_PROTOCOL), load_scenario(PROTOCOL)
    for rep in range(REPS):
        ra = read_rep(rep_path(out, a.model_copy(update={"run": a.run.model_copy(update={"scale": SCALE, "seed": SEED})}), rep))
        rb = read_rep(rep_path(out, b.model_copy(update={"run": b.run.model_copy(update={"scale": SCALE, "seed": SEED})}), rep))
        before_a = ra[ra.month < "2023-03"].drop(columns="scenario").reset_index(drop=True)
        before_b = rb[rb.month < "2023-03"].drop(columns="scenario").reset_index(drop=True)
        assert before_a.to_csv().encode() == before_b.to_csv().encode()
        after_a, after_b = ra[ra.month >= "2023-04"], rb[rb.month >= "2023-04"]
        assert after_a.roxham_crossings.sum() != after_b.roxham_crossings.sum()


def test_summary_and_differences_are_tidy(pair_run):
    _, summary, differences = pair_run
    assert list(summary.columns[:4]) == ["scenario", "metric", "window", "unit"]
    assert {"mean", "p05", "p50", "p95"} <= set(summary.columns)
    assert (summary.p05 <= summary.p50 + 1e-9).all() and (summary.p50 <= summary.p95 + 1e-9).all()
    assert set(differences.scenario) == {"protocol_2023"}
    for metric in ("irregular_crossings", "returns", "claims_in_canada", "irb_backlog_end", "quebec_shelter_peak",
                   "reception_cost", "deaths_expected", "us_backlog_end", "humanitarian_pr"):
        assert metric in set(summary.metric)
    assert {"whole_horizon", "first_12_months", "after_change"} == set(summary.window)


def test_differences_are_paired_per_replication(pair_run):
    out, summary, differences = pair_run
    reps = {}
    for path in sorted((out / "reps").glob("*/rep-*.parquet")):
        reps.setdefault(path.parent.name.split("-")[0], []).append(pd.read_parquet(path))  # <name>-<digest>-...
    after = lambda df: df[df.month >= "2023-03"]  # noqa: E731
    paired = [after(p).roxham_crossings.sum() - after(n).roxham_crossings.sum()
              for n, p in zip(reps["no_protocol"], reps["protocol_2023"])]
    row = differences[(differences.metric == "roxham_crossings") & (differences.window == "after_change")].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(paired))
    assert row["p05"] == pytest.approx(np.quantile(paired, 0.05))


def test_report_is_written(pair_run):
    """The report's content and its figures are checked in test_report.py (on a shorter comparison)."""
    out, *_ = pair_run
    text = (out / "report.md").read_text()
    assert "no_protocol" in text and "protocol_2023" in text and "replication seeds" in text
    assert (out / "report.html").is_file() and not (out / "plots").exists()


def test_report_rebuilds_the_same_summary_without_rerunning(pair_run, tmp_path):
    out, *_ = pair_run
    before = (out / "summary.csv").read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in (out / "reps").glob("*/*.parquet")}
    assert main(["report", str(out), "--no-plots"]) == 0
    assert (out / "summary.csv").read_bytes() == before
    assert stamps == {p: p.stat().st_mtime_ns for p in (out / "reps").glob("*/*.parquet")}


def test_paired_interval_much_narrower_for_a_targeted_option(tmp_path):
    """Common random numbers: when an option changes the path of few people (here: the Protocol without
    the humanitarian places, against the Protocol with them), the paired difference's 90% interval is
    far narrower than with independent seeds. The factors are printed for the record."""
    _, diffs, _ = compare([PROTOCOL, ROOT / "scenarios" / "protocol_without_resettlement.toml"], tmp_path, reps=REPS,
                          master_seed=SEED, scale=SCALE, workers=2, plots=False)
    after = diffs[diffs.window == "after_change"].set_index("metric")
    for metric in ("irregular_crossings", "claims_in_canada", "reception_cost"):
        ratio = after.loc[metric, "width_ratio_unpaired_to_paired"]
        print(f"\n{metric}: interval width ratio independent/paired = {ratio:.1f}")
        assert ratio >= 3.0


def test_pairing_never_hurts_much_when_an_option_changes_nearly_everyone(pair_run):
    """Against no_protocol the Protocol changes most crossers' paths, so pairing gains little on crossings
    (their difference is dominated by the reference's own spread). It must not be worse than independent
    seeds by more than sampling noise allows; on the whole horizon the shared years before the change help."""
    _, _, diffs = pair_run
    whole = diffs[diffs.window == "whole_horizon"].width_ratio_unpaired_to_paired.dropna()
    print("\nwhole-horizon width ratios independent/paired:", whole.round(2).tolist())
    assert whole.median() > 1.0


def test_same_summary_whatever_the_workers_and_executor(tmp_path):
    runs = {}
    for label, kw in (("w1", {"workers": 1}), ("w2", {"workers": 2}), ("dask", {"workers": 2, "executor": "dask"})):
        compare([NO_PROTOCOL, PROTOCOL], tmp_path / label, reps=1, master_seed=9, scale=0.001, plots=False, **kw)
        runs[label] = (tmp_path / label / "summary.csv").read_bytes()
    assert runs["w1"] == runs["w2"] == runs["dask"]


def test_resume_after_lost_and_corrupted_replications(pair_run, tmp_path):
    full, *_ = pair_run
    part = tmp_path / "part"
    shutil.copytree(full, part)
    files = sorted((part / "reps").glob("*/*.parquet"))
    files[0].unlink()  # lost
    files[3].write_bytes(b"PAR1 torn write")  # corrupted
    (part / "summary.csv").unlink()
    _, _, result = compare([NO_PROTOCOL, PROTOCOL], part, reps=REPS, master_seed=SEED, scale=SCALE, workers=1, plots=False)
    assert result.ran == 2 and result.skipped == 2 * REPS - 2
    assert (part / "summary.csv").read_bytes() == (full / "summary.csv").read_bytes()


# Killing the parent or a worker mid-run is covered in tests/test_faults.py.


def test_a_failed_replication_is_reported_and_the_others_finish(tmp_path, monkeypatch, capsys):
    import simulation.experiments.ensemble as ens

    real = ens.run_replication
    bad_seed = replication_seeds(2, 2)[1]

    def flaky(scenario_dict, seed, scale, path, **kw):  # kw: start= when the option branches from a snapshot
        if seed == bad_seed and scenario_dict["scenario"]["name"] == "protocol_2023":
            raise RuntimeError("injected failure")
        return real(scenario_dict, seed, scale, path, **kw)

    monkeypatch.setattr(ens, "run_replication", flaky)
    code = main(["compare", str(NO_PROTOCOL), str(PROTOCOL), "--reps", "2", "--seed", "2", "--scale", "0.001",
                 "--workers", "1", "--quiet", "--no-plots", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"scenario protocol_2023, replication 1, seed {bad_seed}" in err and "injected failure" in err
    assert len(list((tmp_path / "o" / "reps").glob("*/*.parquet"))) == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--reference", "nope"], "--reference 'nope' is not one of the scenarios compared"),
        (["--reps", "0"], "--reps 0 is out of range"),
        (["--workers", "x"], "--workers 'x' is not a whole number"),
    ],
)
def test_bad_compare_arguments_exit_2(tmp_path, capsys, extra, message):
    args = ["compare", str(NO_PROTOCOL), str(PROTOCOL), "--out", str(tmp_path / "o"), "--quiet"] + extra
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "summary.csv").exists()


def test_empty_scenario_list_and_duplicate_names_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert main(["compare", str(PROTOCOL), str(PROTOCOL), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "two scenarios share the name 'protocol_2023'" in capsys.readouterr().err


def test_unreachable_scheduler_exits_2(tmp_path, capsys):
    code = main(["compare", str(PROTOCOL), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--reps", "1",
                 "--scale", "0.001", "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    assert "cannot reach a Dask scheduler" in capsys.readouterr().err
