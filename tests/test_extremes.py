"""Extreme but legal inputs: the run finishes, persons are conserved, nothing is negative or NaN, and the
outputs say what happened (a capped IRB wait, Quebec shelters over capacity, people turned back...).

Each case is the bundled protocol_2023 option with one extreme setting, run from 2022-09 to 2023-12 (the
Protocol starts on 2023-03-25) at scale 0.002, with every change dated before 2022-09 still shaping the
rules in force (the window is narrowed after validation, as in tests/conftest.py).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulation.data import REPO_ROOT
from simulation.scenario.groups import GROUPS
from simulation.core.model import BorderModel
from simulation.core.columns import COUNT_COLUMNS
from simulation.core.people import State
from simulation.scenario import load_scenario, scenario_from_dict
from simulation.scenario.schema import TimeSpec

START, END, SCALE = "2022-09", "2023-12", 0.002
BASE = load_scenario(REPO_ROOT / "scenarios" / "protocol_2023.toml").to_dict()


def scenario(modify=None, scale: float = SCALE, seed: int = 1):
    raw = copy.deepcopy(BASE)
    if modify is not None:
        modify(raw)
    sc = scenario_from_dict(raw)
    return sc.model_copy(update={"time": TimeSpec(start=START, end=END),
                                 "run": sc.run.model_copy(update={"scale": scale, "seed": seed})})


def change(raw: dict, name: str, **values) -> None:
    """Set values on the named [[policy.change]] of ``raw``."""
    (c,) = [c for c in raw["policy"]["change"] if c["name"] == name]
    c.update(values)


def eager(raw: dict) -> None:
    """More people aware of the routes and keener on crossing between ports, so every route is tried."""
    raw["behaviour"].update(initial_awareness=0.3, asc_irregular=-6.0)


def run_checked(sc) -> tuple[BorderModel, object]:
    """Run day by day; at each month end: persons conserved, no negative stock, states valid. Then no NaN, no negatives."""
    m = BorderModel(sc)
    while m.running:
        m.step()
        if m.day == m.n_days or m.date_of(m.day).day == 1:
            counts = m.state_counts()
            assert sum(counts.values()) == m.n_entered, counts
            assert m.claims.irb_backlog >= -1e-9 and (m.shelters.occupancy >= -1e-9).all()
            assert (m.people.state[m.n_entered:] == State.NOT_ENTERED).all()
    res = m.results()
    values = res[list(COUNT_COLUMNS)].to_numpy(dtype=float)
    assert len(res) == 16 and np.isfinite(values).all() and (values >= 0).all()
    return m, res


def after(res, month: str = "2023-03"):
    return res[res.month >= month]


def test_zero_irb_capacity_caps_and_reports_the_wait():
    m, res = run_checked(scenario(lambda r: r["canada"].update(irb_decisions_per_month=0.0)))
    assert (res.irb_decisions == 0).all()
    assert (res.irb_wait_months == 360).all()  # the cap, reported as such: no division by zero
    assert (np.diff(res.irb_backlog) > 0).all()  # claims and background claims pile up
    assert m.state_counts()["PROTECTED"] == m.state_counts()["REJECTED"] == 0


@pytest.mark.parametrize("transfers", [True, False])
def test_zero_shelter_capacity(transfers):
    def modify(raw):
        raw["canada"]["quebec_shelter_capacity"] = 0.0
        raw["canada"]["quebec_overflow_capacity"] = 0.0
        change(raw, "transfers_out_of_quebec", enabled=transfers)

    _, res = run_checked(scenario(modify))
    assert res.claims_in_canada.sum() > 0
    if transfers:  # everyone who needs a place is moved out of Quebec
        assert res.quebec_shelter_population.max() == 0
        assert res.transfers_out_of_quebec.sum() > 0 and res.shelter_population_elsewhere.max() > 0
    else:  # no shelter, no emergency place, no transfers: claimants house themselves, and the output shows it
        assert res.quebec_shelter_population.max() == 0 and res.unhoused_quebec.sum() > 0
        assert res.transfers_out_of_quebec.sum() == 0 and res.shelter_population_elsewhere.max() == 0
    assert res.reception_cost_cad.sum() > 0 or not transfers


def test_ten_times_the_inflow():
    m1, res1 = run_checked(scenario())
    m10, res10 = run_checked(scenario(lambda r: r["population"].update(inflow_multiplier=10.0)))
    initial = int(np.count_nonzero(m1.people.us_arrival_day < 0))
    assert initial == int(np.count_nonzero(m10.people.us_arrival_day < 0))  # the stock at the start is the same
    ratio = (m10.n_entered - initial) / (m1.n_entered - initial)
    assert 8 <= ratio <= 12
    assert res10.claims_in_canada.sum() > 3 * res1.claims_in_canada.sum()
    assert res10.us_backlog.iloc[-1] > res1.us_backlog.iloc[-1]


@pytest.mark.parametrize("days", [30, 3650])
def test_return_window_of_a_month_and_of_ten_years(days):
    def modify(raw):
        eager(raw)
        change(raw, "additional_protocol_2023", return_window_days=days)

    m, res = run_checked(scenario(modify))
    assert after(res).other_irregular_crossings.sum() > 0
    hiding = m.state_counts()["HIDING"]
    if days == 30:  # the first hidden claims come a month after the Protocol starts (2023-03-25 + 30 days)
        first = res[res.hidden_past_window > 0].month.min()
        assert first == "2023-04" and res[res.month <= "2023-03"].hidden_past_window.sum() == 0
    else:  # nobody outlasts a ten-year window within the run: they are all still hiding at the end
        assert res.hidden_past_window.sum() == 0 and hiding > 0


def test_the_hiding_stock_is_reported():
    def modify(raw):
        eager(raw)
        change(raw, "additional_protocol_2023", return_window_days=3650)

    m, res = run_checked(scenario(modify))
    assert m.state_counts()["HIDING"] > 0
    assert any("hiding" in c for c in res.columns)


def test_all_exceptions_off():
    def modify(raw):
        eager(raw)
        raw["policy"]["exceptions"] = []

    _, res = run_checked(scenario(modify))
    assert res.ineligible.sum() == 0  # the eligibility checks follow an exception, and there is none
    assert after(res, "2023-04").port_claims.sum() == 0  # STCA at ports with no exception: everyone turned back
    assert after(res, "2023-04").protocol_returns.sum() > 0  # no exception: every crosser caught is returned


def test_every_option_blocked():
    """Roxham closed, STCA at ports and between ports, certain detection, a visa for every group, no exceptions."""
    def modify(raw):
        eager(raw)
        # keen on the ports too, so that some try them whatever the fitted port constant
        raw["behaviour"].update(asc_port=-3.0)
        raw["policy"].update(roxham="closed", stca_at_ports=True, stca_between_ports=True, between_ports_detection=1.0,
                             roxham_interception=1.0, visa_required=list(GROUPS), exceptions=[])
        for name in ("covid_direct_back", "mexico_visa_2024"):
            change(raw, name, enabled=False)

    m, res = run_checked(scenario(modify))
    assert res.roxham_crossings.sum() == 0 and res.port_claims.sum() == 0 and res.hidden_past_window.sum() == 0
    # the only way in left is to fly with a Canadian visa or document (IRPR s.7.1): every claim is an air claim
    assert res.claims_in_canada.sum() == res.air_claims.sum()
    # a crosser between ports is always detected and, with no exception, always returned
    assert res.other_irregular_crossings.sum() == res.protocol_returns.sum() + res.directed_back.sum()
    assert res.port_turnbacks.sum() > 0  # what happened to those who tried is in the outputs
    assert m.state_counts()["HIDING"] == 0


def test_nobody_at_all():
    def modify(raw):
        raw["population"].update(initial_us_pool=0.0, inflow_multiplier=0.0)
        raw["canada"].update(irb_initial_backlog=0.0, exogenous_claims_multiplier=0.0)
        for c in raw["policy"]["change"]:
            c["enabled"] = c["enabled"] and "humanitarian_pr_per_month" not in c

    m, res = run_checked(scenario(modify))
    assert m.n_entered == 0 and len(m.people) == 0
    assert (res[list(COUNT_COLUMNS)] == 0).all().all()


def test_a_tiny_scale_still_runs():
    """Scale 1e-5 keeps a handful of agents: the run still finishes with valid outputs."""
    m, res = run_checked(scenario(scale=1e-5))
    assert m.n_entered >= 0 and res.us_backlog.iloc[-1] >= 0
