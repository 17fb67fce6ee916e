"""Calibration and validation: the loss falls from a bad start, ARD is the Flee definition, bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario
from simulation.experiments.calibration import (CalibrationError, calibrate, calibrated_toml, generations_from_database,
                                                loss_parts, observed, parse_fit, posterior_summary)
from simulation.present.cli import main
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


def test_loss_parts_include_the_new_patterns():
    obs = observed()
    months = sorted(set(obs.ircc_quebec.index) & set(obs.quebec.index))[:6]  # no whole year: no yearly patterns
    monthly = pd.DataFrame({"month": months, "interceptions_quebec": obs.quebec.reindex(months).to_numpy(),
                            "claims_border_quebec": obs.ircc_quebec.reindex(months).to_numpy(),
                            "claims_inland_quebec": np.zeros(len(months))})
    parts = loss_parts(monthly, np.zeros((len(months), 10)), obs, months)
    assert parts["quebec_monthly"] == 0.0 and parts["ircc_quebec_monthly"] == 0.0
    assert set(parts) == {"quebec_monthly", "ircc_quebec_monthly", "claims_by_mode", "nationality_mix", "covid_2020"}


def test_no_calibration_target_after_march_2023(tmp_path):
    obs = observed()
    assert obs.quebec.index.max() <= "2023-03" and obs.ircc_quebec.index.max() <= "2023-03"
    sc = load_scenario(ROOT / "scenarios" / "history.toml", scale=0.002)
    with pytest.raises(CalibrationError, match="past 2023-03"):
        calibrate(sc, "2022-01:2023-06", population=2, generations=1, workers=1)


@pytest.fixture(scope="module")
def small_posterior(tmp_path_factory):
    """ABC-SMC on a short window: the threshold falls and the sample has a weight per particle."""
    sc = load_scenario(ROOT / "scenarios" / "history.toml", scale=0.002)
    priors = {"behaviour.asc_roxham": (-9.0, -4.0, False), "behaviour.initial_awareness": (0.01, 0.3, True)}
    return calibrate(sc, "2018-01:2018-12", population=6, generations=2, workers=1, priors=priors, master_seed=3,
                     database=tmp_path_factory.mktemp("abc") / "abc.db")


def test_the_generations_table_reads_back_from_the_database(small_posterior):
    """What `bordersim calibrate` reports of its generations is what its pyabc database holds."""
    again = generations_from_database(small_posterior.database, small_posterior.population)
    pd.testing.assert_frame_equal(again, small_posterior.generations)
    assert len(again) == 2 and (again["effective_particles"] <= small_posterior.population + 1e-9).all()


def test_abc_smc_narrows_the_threshold_and_weights_the_particles(small_posterior):
    r = small_posterior
    assert len(r.posterior) == 6 and r.posterior["weight"].sum() == pytest.approx(1.0)
    assert (r.generations["threshold"].diff().dropna() <= 0).all()  # each generation at most as lenient
    lo, hi, _ = r.priors["behaviour.asc_roxham"]
    assert r.posterior["behaviour.asc_roxham"].between(lo, hi).all()
    assert (r.posterior["behaviour.initial_awareness"] > 0).all()  # log-uniform prior: sampled on log10, stored as values
    text = calibrated_toml(r, "2018-01:2018-12", "bordersim calibrate ...")
    assert 'calibrated_on = "2018-01:2018-12"' in text and "asc_roxham =" in text and "posterior" in text
    table = posterior_summary(r)
    assert (table["p05"] <= table["p50"]).all() and (table["p50"] <= table["p95"]).all()


def test_abc_smc_gives_the_same_sample_whatever_the_workers(small_posterior):
    sc = load_scenario(ROOT / "scenarios" / "history.toml", scale=0.002)
    priors = {"behaviour.asc_roxham": (-9.0, -4.0, False), "behaviour.initial_awareness": (0.01, 0.3, True)}
    again = calibrate(sc, "2018-01:2018-12", population=6, generations=2, workers=2, priors=priors, master_seed=3)
    pd.testing.assert_frame_equal(again.posterior, small_posterior.posterior)


def test_calibrate_cli_rejects_a_bad_fit(tmp_path, capsys):
    code = main(["calibrate", str(ROOT / "scenarios" / "history.toml"), "--fit", "2017-01:2030-01", "--population", "2",
                 "--out", str(tmp_path / "c"), "--quiet"])
    assert code == 2
    assert "outside the scenario's window" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_backtest_with_a_rolling_origin_via_the_cli(tmp_path, capsys):
    """`bordersim backtest --origin` into a new folder: the origin is calibrated on the months before it only, its
    prediction has an interval, the report shows it; a rerun resumes (the origin is not calibrated again)."""
    out, docs = tmp_path / "bt", tmp_path / "docs" / "validation.md"
    argv = ["backtest", "--origin", "2020-03-21", "--population", "4", "--generations", "1", "--reps", "2",
            "--scale", "0.001", "--workers", "1", "--quiet", "--out", str(out), "--docs", str(docs)]
    assert main(argv) == 0
    origin = pd.read_csv(out / "origins" / "2020-03-21" / "origin.csv").iloc[0]
    assert origin.fit == "2017-01:2020-02"  # nothing from the change on
    assert origin.p05 <= origin.predicted_change <= origin.p95
    assert origin.observed_change == pytest.approx(-0.83, abs=0.05)  # IRCC claims in Quebec, data/ (not the model)
    scores = pd.read_csv(out / "scores.csv")
    assert "fitted" in set(scores.months) and (scores.ARD >= 0).all()
    checks = " ".join(pd.read_csv(out / "targets.csv").check)
    assert "ARD" in checks and "2017" in checks and "April-December 2020" in checks and "IRB pending" in checks
    assert len(pd.read_csv(out / "heldout.csv")) > 0  # the months after the Protocol, scored, never fitted
    text = docs.read_text()
    assert "Targets" in text and "held-out" in text and "2020-03-21" in text
    for name in ("interceptions_quebec", "claims_quebec", "irb_pending", "posterior_predictive"):
        assert (out / "plots" / f"{name}.png").is_file()
    stamp = (out / "origins" / "2020-03-21" / "origin.csv").stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 0
    assert (out / "origins" / "2020-03-21" / "origin.csv").stat().st_mtime_ns == stamp
    assert "observed change" not in capsys.readouterr().out
