"""Calibration and validation: the loss falls from a bad start, ARD is the Flee definition, bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario
from simulation.experiments.calibration import CalibrationError, calibrate, calibrated_toml, loss_parts, observed, parse_fit
from simulation.present.cli import main
from simulation.present.validation_report import backtest as run_backtest
from simulation.experiments.validation import ard, mape

ROOT = Path(__file__).resolve().parent.parent


def test_ard_on_a_hand_made_example():
    # month 1: both locations observed -> (|110-100| + |5-10|) / (100+10); month 2: only the first -> |150-200| / 200
    obs = pd.DataFrame({"a": [100.0, 200.0], "b": [10.0, np.nan]}, index=["m1", "m2"])
    sim = pd.DataFrame({"a": [110.0, 150.0], "b": [5.0, 99.0]}, index=["m1", "m2"])
    assert ard(sim, obs) == pytest.approx((15 / 110 + 50 / 200) / 2)
    assert ard(obs, obs) == 0.0


def test_ard_guards_against_zero_observed_totals():
    obs = pd.DataFrame({"a": [0.0]}, index=["m"])
    assert ard(pd.DataFrame({"a": [3.0]}, index=["m"]), obs) == 3.0  # divided by at least 1, as Flee does


def test_mape_skips_zero_observations():
    assert mape(pd.Series([110.0, 5.0]), pd.Series([100.0, 0.0])) == pytest.approx(0.1)


@pytest.mark.parametrize("spec, months", [("2017-01:2017-03", 3), ("2017-01:2017-12,2017-06:2018-01", 13)])
def test_parse_fit(spec, months):
    assert len(parse_fit(spec)) == months


@pytest.mark.parametrize("spec", ["2017-01", "2017-13:2018-01", "2018-01:2017-01", "x:y"])
def test_parse_fit_rejects_bad_specs(spec):
    with pytest.raises(CalibrationError, match="--fit"):
        parse_fit(spec)


def test_loss_is_zero_for_the_observed_series_itself():
    obs = observed()
    months = sorted(obs.quebec.index)
    monthly = pd.DataFrame({"month": months, "interceptions_quebec": obs.quebec.reindex(months).to_numpy()})
    parts = loss_parts(monthly, np.zeros((len(months), 10)), obs, ["2019-01", "2019-02"])
    assert parts["quebec_monthly"] == 0.0


def test_calibration_lowers_the_loss_from_a_bad_start():
    sc = load_scenario(ROOT / "scenarios" / "history.toml", scale=0.003)
    # the start is the schema default (-9.0); the range allows far better values for the 2018-2019 level
    params = {"behaviour.asc_roxham": (-9.0, -5.0, False)}
    result = calibrate(sc, "2018-01:2019-12", trials=5, seeds=1, workers=1, parameters=params)
    assert result.trials["behaviour.asc_roxham"].iloc[0] == -9.0
    assert result.trials.loss.iloc[0] == result.start_loss
    assert result.best_loss < result.start_loss
    assert result.best["behaviour.asc_roxham"] > -9.0
    text = calibrated_toml(result, "2018-01:2019-12", "bordersim calibrate ...")
    assert 'calibrated_on = "2018-01:2019-12"' in text and "asc_roxham =" in text


def test_calibrate_cli_rejects_a_bad_fit(tmp_path, capsys):
    code = main(["calibrate", str(ROOT / "scenarios" / "history.toml"), "--fit", "2017-01:2030-01", "--trials", "1",
                 "--out", str(tmp_path / "c"), "--quiet"])
    assert code == 2
    assert "outside the scenario's window" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_backtest_writes_scores_and_report(tmp_path):
    cal = tmp_path / "cal.toml"
    cal.write_text('[scenario]\nname = "calibrated"\ncalibrated_on = "2017-01:2019-12"\n\n[behaviour]\nasc_roxham = -9.0\n')
    table = run_backtest(ROOT / "scenarios" / "history.toml", [cal], tmp_path / "bt", reps=2, scale=0.002, workers=1,
                         docs=tmp_path / "docs" / "validation.md")
    assert set(table.months) >= {"fitted", "held_out", "held_out_covid_2020-03_2021-11", "held_out_2022_surge"}
    assert (table.ARD >= 0).all()
    text = (tmp_path / "docs" / "validation.md").read_text()
    assert "ARD" in text and "held out" in text
    assert (tmp_path / "bt" / "plots" / "backtest_cal.png").stat().st_size > 5000
