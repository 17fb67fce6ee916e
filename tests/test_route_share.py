"""The constant of the route elsewhere between ports, fitted to the share of interceptions made outside Quebec."""

from __future__ import annotations

import pandas as pd
import pytest

from simulation.data import REPO_ROOT
from simulation.experiments import route_share as RS
from simulation.experiments.engine import Engine
from simulation.present.cli import main
from simulation.scenario import load_scenario

HISTORY = REPO_ROOT / "scenarios" / "history.toml"


def test_the_observed_share_is_pooled_from_the_rcmp_annual_totals_before_2023():
    raw = pd.read_csv(REPO_ROOT / "data" / "rcmp_interceptions_monthly.csv")
    yr = raw[raw.kind == "year"].pivot_table(index="year", columns="province", values="interceptions")
    both = yr[["Canada", "Quebec"]].dropna()
    both = both[both.index < 2023]
    assert list(RS.observed_years().index) == list(both.index) == [2017, 2018, 2019, 2021, 2022]
    share = (both.Canada - both.Quebec).sum() / both.Canada.sum()
    assert share == pytest.approx(0.0353, abs=5e-4)


def test_the_shipped_constant_reproduces_the_observed_share():
    """history.toml's asc_irregular, run as the fit ran it (scale 0.05), lands near the observed share."""
    sc = load_scenario(HISTORY)
    obs = RS.observed_years()
    target = RS.share_outside_quebec(obs.Canada.sum(), obs.Quebec.sum())
    with Engine("local", 2) as engine:
        sim = RS.simulated_years(engine, sc, sc.behaviour.asc_irregular, [11, 12], 0.05, list(obs.index))
    share = RS.share_outside_quebec(sim.Canada.sum(), sim.Quebec.sum())
    # a change of 0.25 in the constant moves the share by about a third
    assert 0.75 * target < share < 1.33 * target


def test_the_bisection_brackets_the_observed_share_whatever_the_workers():
    sc = load_scenario(HISTORY)
    fit = RS.fit_route_share(sc, reps=1, scale=0.01, tolerance=1.0, workers=2)
    alone = RS.fit_route_share(sc, reps=1, scale=0.01, tolerance=1.0, workers=1)
    assert alone.value == fit.value
    pd.testing.assert_frame_equal(alone.tries, fit.tries)
    tried = fit.tries
    below = tried[tried.share_outside_quebec < fit.observed].asc_irregular
    above = tried[tried.share_outside_quebec >= fit.observed].asc_irregular
    # the share rises with the constant, and the answer sits between the last values on either side
    assert below.max() <= fit.value <= above.min()
    assert above.min() - below.max() <= 1.0
    assert fit.tries.sort_values("asc_irregular").share_outside_quebec.is_monotonic_increasing


def test_route_share_cli_refuses_a_docs_file_it_did_not_write(tmp_path, capsys):
    page = tmp_path / "notes.md"
    page.write_text("my own notes\n")
    assert main(["route-share", str(HISTORY), "--reps", "1", "--scale", "0.01", "--docs", str(page)]) == 2
    assert "notes.md" in capsys.readouterr().err
    assert page.read_text() == "my own notes\n"


def test_route_share_cli_names_a_missing_scenario(tmp_path, capsys):
    assert main(["route-share", str(tmp_path / "nope.toml"), "--reps", "1"]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_route_share_says_when_the_bracket_cannot_reach_the_observed_share(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(RS, "BRACKET", (-12.0, -11.5))  # far too unattractive: almost nobody crosses elsewhere
    page = tmp_path / "route.md"
    assert main(["route-share", str(HISTORY), "--reps", "1", "--scale", "0.01", "--workers", "1", "--quiet",
                 "--docs", str(page)]) == 2
    err = capsys.readouterr().err
    assert "behaviour.asc_irregular" in err and "3.53%" in err and "-12.0 .. -11.5" in err
    assert not page.exists()
