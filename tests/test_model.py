"""BorderModel: people are conserved, queues stay sane, outputs are complete, and runs are reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.core.agents import AsylumSeeker
from simulation.core.model import BorderModel
from simulation.core.columns import FLOW_COLUMNS, MONTHLY_COLUMNS as COLUMNS
from simulation.files import to_csv_bytes
from simulation.calendar import month_starts
from simulation.core.people import State
from simulation.scenario import Scenario, scenario_from_dict

from tests.conftest import run_model

# a short window that still crosses the end of COVID direct-back, transfers, the Protocol and resettlement
SHORT = dict(start="2021-06", end="2023-12")


@pytest.fixture(scope="module")
def history_run():
    """The whole history scenario at scale 0.003, with checks made after every day (see the test below)."""
    from tests.conftest import small_scenario

    model = BorderModel(small_scenario("history", scale=0.003))
    problems = []
    while model.running:
        model.step()
        problems += _conservation_problems(model)
        if len(problems) > 5:
            break
    return model, problems


def _conservation_problems(model: BorderModel) -> list[str]:
    """Everyone who has entered is in exactly one state; nobody else is; the IRB backlog is not negative."""
    n = model.n_entered
    state = model.people.state
    out = []
    if sum(model.state_counts().values()) != n:
        out.append(f"day {model.day}: state counts sum to {sum(model.state_counts().values())}, entered {n}")
    if np.any(state[:n] == State.NOT_ENTERED):
        out.append(f"day {model.day}: an entered person is NOT_ENTERED")
    if np.any(state[n:] != State.NOT_ENTERED):
        out.append(f"day {model.day}: a person not yet entered has a state")
    if model.claims.irb_backlog < -1e-9:
        out.append(f"day {model.day}: IRB backlog {model.claims.irb_backlog}")
    return out


def test_people_are_conserved_every_day(history_run):
    model, problems = history_run
    assert problems == []
    assert model.day == model.n_days
    assert model.n_entered == len(model.people)  # by the last day everyone has arrived


def test_monthly_results_complete(history_run):
    model, _ = history_run
    df = model.results()
    sc = model.spec
    months = [f"{m:%Y-%m}" for m in month_starts(sc.time.first_day, sc.time.last_day)]
    assert df["month"].tolist() == months
    assert list(df.columns) == list(COLUMNS)
    assert not df.isna().any().any()
    assert (df[list(FLOW_COLUMNS)] >= 0).all().all()
    assert (df["irb_backlog"] >= 0).all()
    assert (df["scenario"] == "history").all() and (df["seed"] == 1).all()


def test_claims_in_canada_account_for_every_claimant(history_run):
    # each claim puts one person in CLAIMANT (or NOT_REFERRED, or BARRED); the IRB then moves them to PROTECTED or REJECTED
    model, _ = history_run
    df = model.results()
    state = model.people.state[: model.n_entered]
    in_canada = np.isin(state, [State.CLAIMANT, State.PROTECTED, State.REJECTED, State.NOT_REFERRED, State.BARRED]).sum()
    assert df["claims_in_canada"].sum() * model.scale == pytest.approx(in_canada)
    assert in_canada > 0


def test_claims_by_office_add_up_to_the_modelled_claims_plus_the_exogenous_ones(history_run):
    model, _ = history_run
    df = model.results()
    offices = [f"claims_{o}_{r}" for o in ("border", "airport", "inland") for r in ("quebec", "rest")]
    modelled = df["claims_in_canada"].sum()
    assert df[offices].to_numpy().sum() >= modelled - 1e-6
    # border claims come only from people the model follows: ports and interceptions
    border = df[["claims_border_quebec", "claims_border_rest"]].to_numpy().sum()
    assert border <= modelled + 1e-6 and border > 0


def test_interceptions_are_among_crossers(history_run):
    df = history_run[0].results()
    crossers = df["roxham_crossings"] + df["other_irregular_crossings"]
    assert (df["interceptions"] <= crossers + 1e-6).all()
    assert (df["interceptions_quebec"] <= df["interceptions"] + 1e-6).all()


def test_history_phases_show_in_outputs(history_run):
    df = history_run[0].results().set_index("month")
    # direct-back (2020-03-21 .. 2021-11-21): Roxham flows almost stop; nobody is directed back outside it
    per_month_before = df.loc["2019-04":"2020-02", "roxham_crossings"].mean()
    per_month_covid = df.loc["2020-04":"2021-10", "roxham_crossings"].mean()
    assert per_month_covid < 0.25 * per_month_before
    assert df.loc[:"2020-02", "directed_back"].sum() == 0
    assert df.loc["2021-12":, "directed_back"].sum() == 0
    # the Protocol returns people only from 2023-03-25
    assert df.loc[:"2023-02", "protocol_returns"].sum() == 0
    assert df.loc["2023-04":, "protocol_returns"].sum() > 0
    # humanitarian admissions only while the pathway admits (2024-01 .. 2025-12), and people diverted with them
    assert df.loc[:"2023-12", "humanitarian_pr"].sum() == 0
    assert (df.loc["2024-01":"2025-07", "humanitarian_pr"] > 0).all()
    assert df.loc["2024-01":, "diverted_upstream"].sum() > 0


def test_the_simulation_makes_no_mesa_agents_but_gives_real_views(history_run):
    model, _ = history_run
    assert len(model.agents) == 0  # a run never builds one Python object per person
    a = model.person(model.n_entered // 2)
    assert isinstance(a, AsylumSeeker) and a in model.agents
    assert a.state == State(int(model.people.state[a.person_id]))
    assert model.person(a.person_id) is a  # one view per person
    with pytest.raises(IndexError):
        model.person(model.n_entered)


def test_sampled_agents_are_a_mesa_agentset_of_views(history_run):
    model, _ = history_run
    sample = model.sample_agents(300, state=None)
    assert len(sample) == 300
    counts = sample.groupby("group").count()
    assert sum(counts.values()) == 300
    in_pool = model.sample_agents(50)
    assert all(a.state == State.US_POOL for a in in_pool)


def test_builds_with_no_arguments_and_steps():
    model = BorderModel()
    assert model.spec == Scenario()
    for _ in range(10):
        model.step()
    assert model.day == 10
    assert sum(model.state_counts().values()) == model.n_entered > 0


def test_stops_at_the_end_of_the_window():
    model = BorderModel(scenario_from_dict({"time": {"start": "2019-01", "end": "2019-02"}, "run": {"scale": 0.002}}))
    model.run()
    assert not model.running and model.day == 31 + 28
    model.step()  # a step past the end changes nothing
    assert model.day == 59 and len(model.results()) == 2


# --- reproducibility ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_runs():
    from tests.conftest import small_scenario

    def go(seed):
        return run_model(small_scenario("history", **SHORT, scale=0.003, seed=seed)).results()

    return go(1), go(1), go(2)


def test_same_seed_same_results(short_runs):
    a, b, _ = short_runs
    pd.testing.assert_frame_equal(a, b)
    assert to_csv_bytes(a) == to_csv_bytes(b)


def test_different_seed_different_results(short_runs):
    a, _, c = short_runs
    numbers = list(FLOW_COLUMNS)
    assert not np.allclose(a[numbers].to_numpy(), c[numbers].to_numpy())
    assert to_csv_bytes(a) != to_csv_bytes(c)


def test_seed_argument_overrides_scenario_seed(small):
    sc = small("history", **SHORT, scale=0.002, seed=1)
    model = BorderModel(sc, seed=5, scale=0.001)
    assert (model.seed, model.scale) == (5, 0.001)
    assert (model.spec.run.seed, model.spec.run.scale) == (5, 0.001)
    assert sc.run.seed == 1  # the scenario passed in is untouched
