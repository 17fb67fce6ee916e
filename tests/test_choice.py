"""The route decision: nested-logit draws match their probabilities; the nest makes routes substitutes."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import rules as R
from simulation.choice import Option, choice_probabilities, choose, claim_chance
from simulation.randomness import Streams

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
