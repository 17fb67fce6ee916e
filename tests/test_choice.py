"""The route decision: nested-logit draws match their probabilities; the nest makes routes substitutes."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.core import rules as R
from simulation.core.choice import Option, choice_probabilities, choose, claim_chance
from simulation.core.streams import Streams

N = 200_000


def draw(u_row, nest_scale, seed=3):
    u = np.tile(u_row, (N, 1))
    s = Streams(seed)
    ids = np.arange(N)
    return choose(u, s.gumbel("route_choice", 0, ids, 6), s.gumbel("route_choice/nest", 0, ids, 3), nest_scale)


@pytest.mark.parametrize("nest_scale", [1.0, 0.5, 0.2])
def test_draws_match_nested_logit_probabilities(nest_scale):
    u_row = np.array([0.0, -1.0, -0.5, -2.0, -np.inf, -1.5])
    freq = np.bincount(draw(u_row, nest_scale), minlength=6) / N
    expected = choice_probabilities(u_row[None, :], nest_scale)[0]
    assert np.allclose(freq, expected, atol=0.005)
    assert freq[Option.AIR] == 0


def test_scale_one_is_the_plain_logit():
    u_row = np.array([0.3, -1.0, -0.5, -2.0, 0.1, -1.5])
    e = np.exp(u_row - u_row.max())
    assert np.allclose(choice_probabilities(u_row[None, :], 1.0)[0], e / e.sum())


def test_closing_a_route_sends_more_people_to_other_routes_when_they_are_close_substitutes():
    before = np.array([0.0, -3.0, -1.0, -1.5, -np.inf, -2.0])
    after = before.copy()
    after[Option.ROXHAM] = -np.inf
    gain = {}
    for lam in (1.0, 0.3):
        p0, p1 = (choice_probabilities(x[None, :], lam)[0] for x in (before, after))
        gain[lam] = (p1[Option.IRREGULAR] - p0[Option.IRREGULAR]) / p0[Option.ROXHAM]
    assert gain[0.3] > gain[1.0]


def test_no_north_route_means_stay_or_leave():
    u_row = np.array([0.0, -np.inf, -np.inf, -np.inf, -np.inf, -1.0])
    chosen = draw(u_row, 0.5)
    assert set(np.unique(chosen)) <= {Option.STAY, Option.LEAVE}


@pytest.mark.parametrize(
    "rules, option, exc, expected",
    [
        (R.RuleSet(), Option.PORT, [True, False], [0.99, 0.0]),
        (R.RuleSet(stca_at_ports=False), Option.PORT, [False], [1.0]),
        (R.RuleSet(), Option.ROXHAM, [False], [1.0]),
        (R.RuleSet(stca_between_ports=True, roxham_interception=0.99), Option.ROXHAM, [False], [0.01]),
        (R.RuleSet(stca_between_ports=True, between_ports_detection=0.5), Option.IRREGULAR, [False], [0.5]),
        (R.RuleSet(roxham="designated_port"), Option.ROXHAM, [False, True], [0.0, 0.99]),
        (R.RuleSet(direct_back=True, roxham_interception=1.0), Option.ROXHAM, [False], [0.0]),
    ],
)
def test_claim_chance(rules, option, exc, expected):
    got = claim_chance(rules, option, np.array(exc), ineligibility_rate=0.01)
    assert np.allclose(got, expected)


def test_a_strong_wish_to_go_north_does_not_make_a_sure_turnback_attractive():
    """A person with no STCA exception is turned back at a port; however much they want to be in Canada,
    the trip gains them nothing, so its utility stays below staying (it was the cause of repeated futile
    trips before the taste was weighted by the chance of claiming)."""

    from simulation.core.choice import Conditions, Deciders, utilities
    from simulation.scenario import Scenario

    sc = Scenario()
    n = 4
    d = Deciders(has_exception=np.array([False, False, True, True]), has_case=np.ones(n, bool), aware=np.ones(n, bool),
                 can_fly=np.zeros(n, bool),
                 p_us=np.full(n, 0.3), p_ca=np.full(n, 0.7), money=np.full(n, 500.0), risk_tolerance=np.ones(n),
                 household_size=np.ones(n), north_taste=np.array([0.0, 20.0, 0.0, 20.0]))
    c = Conditions(wait_us_years=4.0, wait_ca_years=2.0, reception_room=1.0, death_risk_roxham=0.0,
                   death_risk_irregular=0.0)
    u = utilities(R.RuleSet(stca_between_ports=True, roxham_interception=1.0), d, c, sc.behaviour, sc.routes, 0.0)
    assert u[1, Option.PORT] < u[1, Option.STAY]  # huge taste, no exception: still not worth a futile trip
    assert u[1, Option.PORT] == pytest.approx(u[0, Option.PORT])  # the taste does not enter at all
    assert u[3, Option.PORT] > u[2, Option.PORT] + 10  # with an exception, the taste counts in full
