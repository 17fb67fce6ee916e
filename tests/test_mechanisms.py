"""The mechanisms the policy options act on: status events, beliefs about exceptions, claims as IRCC counts
them (nothing counted twice), the humanitarian pathway, and Bill C-12's bars."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import data
from simulation.core.model import BorderModel
from simulation.core.people import State
from simulation.scenario.variants import with_values
from tests.conftest import run_model, small_scenario


@pytest.fixture(scope="module")
def late_run():
    """protocol_2023 from 2023-01 to 2026-06 at a small scale: the Protocol, the pathway and the 2025 events."""
    m = BorderModel(small_scenario("protocol_2023", start="2023-01", end="2026-06", scale=0.002))
    m.run()
    return m, m.results().set_index("month")


def test_status_event_people_enter_on_their_date_in_the_fitted_share():
    sc = small_scenario("history", start="2017-01", end="2017-12", scale=0.01)
    m = BorderModel(sc)
    m.run()
    origin = m.people.origin[: m.n_entered]
    haiti = [k for k, e in enumerate(e for e in sc.population.event if e.enabled) if e.name == "haiti_tps_2017"][0]
    n = int(np.count_nonzero(origin == haiti + 1))
    expected = 58000 * sc.population.status_event_share * sc.run.scale
    assert abs(n - expected) <= 1
    days = m.people.entry_day[: m.n_entered][origin == haiti + 1]  # spread over July and August 2017, when they turned north
    first, last = ((m.date_of(0).replace(month=mo, day=dd) - m.first_day).days for mo, dd in ((7, 1), (8, 31)))
    assert days.min() >= first and days.max() <= last and days.max() - days.min() > 40
    assert not m.people.has_case[: m.n_entered][origin > 0].any()  # they have no asylum case in the US
    everyone = int(np.count_nonzero(origin > 0))  # the Haitians and the Nigerian overstayers
    assert m.results()["status_event_arrivals"].sum() == pytest.approx(everyone / sc.run.scale)


def test_visa_overstayers_consider_canada_in_their_own_share():
    """population.overstay_share sizes the visa-overstay events, status_event_share the others (TPS here)."""
    sc = small_scenario("history", start="2017-01", end="2017-09", scale=0.01)
    sc = sc.model_copy(update={"population": sc.population.model_copy(
        update={"status_event_share": 0.2, "overstay_share": 0.6})})
    m = BorderModel(sc)
    events = [e for e in sc.population.event if e.enabled]
    count = {e.name: int(np.count_nonzero(m.people.origin == k + 1)) for k, e in enumerate(events)}
    assert abs(count["haiti_tps_2017"] - 58000 * 0.2 * 0.01) <= 1
    assert abs(count["nigeria_visa_overstays_fy2017"] - 14285 * 0.6 * 0.01) <= 1  # Jan-Sep 2017, all inside


def test_a_wish_to_go_moves_the_people_of_status_events_and_nobody_else():
    """population.status_event_north_taste raises the crossings of the 2017 Haitian TPS holders who consider Canada;
    people without a status event decide as before (same draws)."""
    def run(taste):
        sc = small_scenario("history", start="2017-01", end="2017-09", scale=0.01)
        sc = sc.model_copy(update={"population": sc.population.model_copy(
            update={"status_event_share": 0.3, "status_event_north_taste": taste})})
        m = run_model(sc)
        in_canada = np.isin(m.people.state[: m.n_entered], [State.HIDING, State.CLAIMANT, State.PROTECTED,
                                                             State.REJECTED, State.NOT_REFERRED])
        return in_canada, m.people.origin[: m.n_entered] > 0

    north0, event0 = run(0.0)
    north8, event8 = run(8.0)
    assert (event0 == event8).all()
    assert north8[event8].sum() > 2 * max(north0[event0].sum(), 1)  # those who consider Canada now go
    assert north8[~event8].sum() == pytest.approx(north0[~event0].sum(), rel=0.1)


def test_people_of_status_events_are_never_decided_by_us_asylum_processing():
    sc = small_scenario("history", start="2017-01", end="2018-12", scale=0.005)
    m = BorderModel(sc)
    m.run()
    decided = np.isin(m.people.state[: m.n_entered], [State.US_GRANTED, State.US_DENIED])
    assert not (decided & ~m.people.has_case[: m.n_entered]).any()


def test_airport_and_inland_claims_are_ircc_counts_and_include_the_modelled_ones(late_run):
    """Modelled air claimants and post-hiding claims are part of IRCC's airport and inland counts: not added twice.

    IRCC's count is owed day by day and the modelled claims are paid out of it. Where the model's own claims
    outrun the count (more post-hiding claims in Quebec than IRCC recorded inland there), the balance goes
    negative and the excess shows as claims above IRCC's: it is never hidden by shifting it elsewhere.
    """
    m, df = late_run
    months = list(df.index)  # from the model's first day, so that what is still owed is the whole balance
    observed = data.exogenous_claims(months, "data/ircc_claims_monthly.csv")[0].sum(axis=0)
    simulated = df.loc[months, ["claims_airport_quebec", "claims_airport_rest", "claims_inland_quebec",
                                "claims_inland_rest"]].to_numpy().sum(axis=0)
    owed = m._exogenous_owed / m.scale  # IRCC's claims not yet added (negative: the model's excess), in persons
    assert simulated == pytest.approx(observed - owed, rel=1e-9, abs=1e-6)
    # what is still owed is less than a day's count; an excess is the model's own claims, never IRCC's twice
    assert (owed < observed / len(months) + 1 / m.scale).all()
    assert (simulated >= observed - 1 / m.scale).all()
    assert df.loc[months, "air_claims"].sum() > 0  # ...though some of them were people the model follows


def test_border_claims_come_from_people_the_model_follows(late_run):
    _, df = late_run
    border = df[["claims_border_quebec", "claims_border_rest"]].sum(axis=1)
    assert (border <= df["claims_in_canada"] + 1e-6).all()


def test_people_with_an_exception_they_do_not_know_of_cross_between_ports_and_may_claim(late_run):
    _, df = late_run
    assert df.loc["2023-04":, "claims_with_exception_between_ports"].sum() > 0
    assert df.loc[:"2023-02", "claims_with_exception_between_ports"].sum() == 0  # before the Protocol nobody needs one


def test_the_humanitarian_pathway_diverts_arrivals_upstream_and_takes_nobody_from_the_us(late_run):
    m, df = late_run
    diverted = np.flatnonzero(m.people.state[: m.n_entered] == State.DIVERTED)
    assert len(diverted) > 0
    assert not m.people.has_case[diverted].sum() < len(diverted)  # asylum-bound arrivals only
    assert (m.people.returns[diverted] == 0).all() and (m.people.next_decision[diverted] == -1).all()  # never decided
    assert df.loc["2024-01":"2025-12", "humanitarian_pr"].sum() == pytest.approx(458.0 * 24, rel=0.01)
    assert df.loc[:"2023-12", "diverted_upstream"].sum() == 0


def test_bill_c12_bars_late_claims_after_hiding(small):
    sc = small("canada_2025_eligibility", start="2025-10", end="2026-12", scale=0.004)
    with_bar = BorderModel(sc)
    with_bar.run()
    df = with_bar.results().set_index("month")
    assert df.loc["2026-04":, "claims_barred"].sum() > 0  # the one-year bar on inland claims, at least
    assert df.loc[:"2026-02", "claims_barred"].sum() == 0
    # every person who hid past the window after royal assent is barred, none before
    barred = int(np.count_nonzero(with_bar.people.state[: with_bar.n_entered] == State.BARRED))
    assert barred == pytest.approx(df.loc["2026-04":, "hidden_past_window"].sum() * sc.run.scale)
    assert df.loc["2026-04":, "claims_barred"].sum() >= df.loc["2026-04":, "hidden_past_window"].sum()


def test_rule_news_reach_sets_how_fast_crossings_fall_after_a_change(small):
    sc = small("history", start="2019-10", end="2020-09", scale=0.005)
    falls = []
    for reach in (0.0, 1.0):
        m = BorderModel(sc.model_copy(update={"behaviour": sc.behaviour.model_copy(update={"rule_news_reach": reach})}))
        m.run()
        falls.append(m.results().set_index("month").loc["2020-04":"2020-09", "roxham_crossings"].sum())
    assert falls[1] < falls[0]  # everyone hears of the direct-back orders: fewer futile trips


def test_crossers_between_ports_are_all_intercepted_until_interception_sends_them_back():
    """Under the 2004 rules every crosser elsewhere presents to the RCMP; under direct-back most stay unseen."""
    sc = with_values(small_scenario("history", scale=0.01), {"policy.roxham_interception": 1.0})
    sc = sc.model_copy(update={"time": sc.time.model_copy(update={"start": "2019-01", "end": "2021-06"})})
    r = run_model(sc).results().set_index("month")
    crossings = r["roxham_crossings"] + r["other_irregular_crossings"]
    before = r.index < "2020-03"
    assert r.loc[before, "other_irregular_crossings"].sum() > 0
    assert (r.loc[before, "interceptions"] == crossings[before]).all()
    covid = (r.index >= "2020-04") & (r.index <= "2021-06")
    elsewhere = r.loc[covid, "other_irregular_crossings"].sum()
    assert elsewhere > 0
    missed = crossings[covid].sum() - r.loc[covid, "interceptions"].sum()
    # between_ports_detection (0.25) of the crossers elsewhere are found; the rest are not
    assert 0.5 * elsewhere < missed <= elsewhere
