"""The ``bordersim`` command end to end, run from the repository root as a user would."""

from __future__ import annotations

import json
import re
import os
import stat
import tomllib

import pandas as pd
import pytest

from simulation.present.cli import main
from simulation.data import REPO_ROOT
from simulation.scenario import load_scenario

REQUIRED_COLUMNS = [
    "month", "scenario", "seed", "roxham_crossings", "other_irregular_crossings", "port_claims", "port_turnbacks",
    "air_claims", "protocol_returns", "claims_in_canada", "irb_decisions", "irb_backlog", "irb_wait_months",
    "quebec_shelter_population", "transfers_out_of_quebec", "reception_cost_cad", "us_backlog", "humanitarian_pr",
    "deaths_expected", "interceptions", "interceptions_quebec",
]
BUNDLED = sorted((REPO_ROOT / "scenarios").glob("*.toml"))
RUN = ["run", "scenarios/history.toml", "--scale", "0.002", "--quiet"]


@pytest.fixture
def at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)


@pytest.fixture(scope="module")
def history_out(tmp_path_factory):
    """One CLI run of the history scenario, shared by the checks on what it wrote."""
    out = tmp_path_factory.mktemp("cli") / "h"
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)  # relative scenario path, as in the README
    try:
        code = main(RUN + ["--out", str(out)])
    finally:
        os.chdir(cwd)
    return code, out


def test_run_succeeds(history_out):
    code, out = history_out
    assert code == 0
    assert {"monthly.csv", "plots", "run.json"} <= {p.name for p in out.iterdir()}
    # no staging folders left beside it
    assert [p.name for p in out.parent.iterdir()] == ["h"]


def test_monthly_csv(history_out):
    df = pd.read_csv(history_out[1] / "monthly.csv")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    assert missing == []
    window = load_scenario(REPO_ROOT / "scenarios" / "history.toml").time  # the history's months, whatever they are
    months = pd.period_range(window.start, window.end, freq="M").strftime("%Y-%m").tolist()
    assert df["month"].tolist() == months
    assert (df["scenario"] == "history").all() and (df["seed"] == 1).all()
    assert not df.isna().any().any()


def test_run_json_provenance(history_out):
    meta = json.loads((history_out[1] / "run.json").read_text())
    assert meta["seed"] == 1
    assert meta["scale"] == 0.002
    assert meta["scenario_name"] == "history"
    assert meta["scenario"]["scenario"]["name"] == "history"
    assert meta["scenario"]["run"] == {"seed": 1, "scale": 0.002}
    assert meta["scenario_digest"]


def test_plots_written(history_out):
    pngs = sorted((history_out[1] / "plots").glob("*.png"))
    assert len(pngs) >= 3
    for png in pngs:
        assert png.stat().st_size > 1000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_second_identical_run_is_skipped(history_out, at_repo_root, capsys):
    _, out = history_out
    files = [out / "monthly.csv", out / "run.json"]
    before = [f.stat().st_mtime_ns for f in files]
    capsys.readouterr()
    assert main(RUN + ["--out", str(out)]) == 0
    assert "already holds this run" in capsys.readouterr().out
    assert [f.stat().st_mtime_ns for f in files] == before


def test_list_prints_every_bundled_scenario(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == len(BUNDLED)
    for path in BUNDLED:
        assert path.name in out


def test_validate_prints_the_resolved_scenario(at_repo_root, capsys):
    assert main(["validate", "scenarios/suspend_stca.toml"]) == 0
    out = capsys.readouterr().out
    # the printout is itself a valid, fully resolved scenario file (the notes are TOML comments)
    doc = tomllib.loads(out)
    assert doc["scenario"]["name"] == "suspend_stca"
    assert "extends" not in doc["scenario"]
    protocol = load_scenario(REPO_ROOT / "scenarios" / "protocol_2023.toml").time
    assert doc["time"] == {"start": protocol.start, "end": protocol.end}  # inherited from protocol_2023
    names = [c["name"] for c in doc["policy"]["change"]]
    assert "covid_direct_back" in names and "suspend_stca_2023" in names  # inherited from history, and its own
    # and the timeline of rules in force
    assert "Rules in force" in out
    assert "from 2023-03-25: stca_at_ports=False" in out


def test_list_of_an_empty_folder_is_bad_input(tmp_path, capsys):
    assert main(["list", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bordersim: error:") and "no .toml" in err


def test_outputs_follow_the_umask(tmp_path, at_repo_root):
    old = os.umask(0o022)
    try:
        assert main(RUN + ["--out", str(tmp_path / "h"), "--no-plots"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "h").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "h" / "monthly.csv").stat().st_mode) == 0o644


def test_version(capsys):
    from simulation import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"bordersim {__version__}"


def test_a_misspelt_scenario_gets_a_suggestion_and_a_pointer_to_list(at_repo_root, capsys):
    assert main(["validate", "scenarios/protcol_2023.toml"]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "bordersim list" in err
    assert "Did you mean scenarios/protocol_2023.toml?" in err and len(err.strip().splitlines()) == 1


def test_a_scale_too_small_to_mean_anything_is_refused(tmp_path, at_repo_root, capsys):
    out = tmp_path / "tiny"
    assert main(["run", "scenarios/history.toml", "--scale", "0.0000001", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "simulates 0 persons" in err and "--allow-tiny" in err and not out.exists()
    assert main(["compare", "scenarios/no_protocol.toml", "scenarios/protocol_2023.toml", "--scale", "0.0001",
                 "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "for no_protocol, fewer than 1,000" in err and re.search(r"use --scale 0\.000\d+ or more", err)


def test_a_tiny_run_with_allow_tiny_runs_quietly(tmp_path, at_repo_root, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no matplotlib warning leaks out of an empty run
        code = main(["run", "scenarios/history.toml", "--scale", "0.0000001", "--out", str(tmp_path / "t"),
                     "--allow-tiny", "--quiet"])
    assert code == 0 and (tmp_path / "t" / "plots" / "crossings_by_route.png").is_file()


def test_counts_are_written_as_whole_numbers(history_out):
    """At scale 0.002 every simulated person is 500 persons: counts are whole and written without decimals
    (expected deaths, which are fractions, keep their 4 decimals)."""
    text = (history_out[1] / "monthly.csv").read_text().splitlines()
    header = text[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in text[1:]]
    for col in ("roxham_crossings", "port_claims", "claims_in_canada", "quebec_shelter_population"):
        assert all("." not in r[col] for r in rows), col
    assert any("." in r["deaths_expected"] for r in rows)
    # a column is written with decimals only if one of its values is not whole
    for col in header[3:]:
        values = [r[col] for r in rows]
        if any("." in v for v in values):
            assert any(not v.endswith(".0000") for v in values), col


def test_the_csv_rule_for_numbers():
    """One CSV writer: whole-number columns as integers (up to floating-point noise), others keep their decimals."""
    import numpy as np

    from simulation.files import to_csv_bytes

    df = pd.DataFrame({"persons": [7 / 0.005, 200.0], "mean": [1.5, 2.0], "gap": [np.nan, 3.0], "tiny": [1e-5, 2e-5],
                       "name": ["a", "b"]})
    assert to_csv_bytes(df).decode().splitlines() == ["persons,mean,gap,tiny,name", "1400,1.5000,,0.0000,a",
                                                      "200,2.0000,3,0.0000,b"]
    assert to_csv_bytes(df, float_format="%.6g").decode().splitlines()[1] == "1400,1.5,,1e-05,a"


def test_a_reader_that_stops_early_is_not_an_error():
    """`bordersim validate ... | head -1`: the pipe closes under the command; no traceback, as with Unix tools."""
    import subprocess
    import sys

    done = subprocess.run(f"'{sys.executable}' -m simulation.present.cli validate scenarios/protocol_2023.toml | head -1",
                          shell=True, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.stdout.startswith("# scenarios/protocol_2023.toml: valid")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
