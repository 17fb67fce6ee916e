"""Common random numbers: a draw depends only on (seed, decision name, step, slot)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.core.model import BorderModel
from simulation.core.streams import _GOLDEN, STREAMS, StreamError, Streams, _mix

N = 100_000
MASK = (1 << 64) - 1


def test_same_slot_same_draw_whoever_else_asks():
    s = Streams(7)
    alone = s.uniform("route_choice", 10, np.array([5]))[0]
    assert s.uniform("route_choice", 10, np.array([1, 5, 9]))[1] == alone
    assert s.uniform("route_choice", 10, np.arange(1000))[5] == alone
    assert s.uniform("route_choice", 10, np.array([5, 3]))[0] == alone


def test_draws_do_not_depend_on_other_streams_used_before():
    fresh = Streams(3).uniform("detection", 4, np.arange(50))
    busy = Streams(3)
    busy.uniform("route_choice", 4, np.arange(10_000))
    busy.uniform("detection", 5, np.arange(10))
    assert np.array_equal(busy.uniform("detection", 4, np.arange(50)), fresh)


@pytest.mark.parametrize(
    "other",
    [
        dict(seed=1, name="news_shock", step=0),  # another decision
        dict(seed=1, name="awareness", step=1),  # another day
        dict(seed=2, name="awareness", step=0),  # another replication
    ],
)
def test_different_name_step_or_seed_gives_different_draws(other):
    ids = np.arange(1000)
    base = Streams(1).uniform("awareness", 0, ids)
    alt = Streams(other["seed"]).uniform(other["name"], other["step"], ids)
    assert np.count_nonzero(base == alt) == 0
    # and not merely shifted copies of each other
    assert abs(np.corrcoef(base, alt)[0, 1]) < 0.1


def test_uniform_is_inside_open_interval_with_right_moments():
    u = Streams(11).uniform("detection", 3, np.arange(N))
    assert ((u > 0) & (u < 1)).all()
    # mean 1/2 (sd of the mean 0.0009), variance 1/12
    assert abs(u.mean() - 0.5) < 0.005
    assert abs(u.var() - 1 / 12) < 0.002
    # roughly flat: every tenth holds ~10% (binomial sd ~0.1%)
    counts = np.histogram(u, bins=10, range=(0, 1))[0] / N
    assert np.all(np.abs(counts - 0.1) < 0.006)


def test_consecutive_slots_and_steps_are_uncorrelated():
    s = Streams(5)
    u = s.uniform("detection", 0, np.arange(N))
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.02
    assert abs(np.corrcoef(u, s.uniform("detection", 1, np.arange(N)))[0, 1]) < 0.02


def test_normal_moments():
    z = Streams(2).normal("population/money", 0, np.arange(N))
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 0.02
    assert abs(z.var() - 1) < 0.03


def test_gumbel_shape_and_moments():
    s = Streams(9)
    ids = np.arange(N // 5)
    g = s.gumbel("route_choice", 12, ids, 5)
    assert g.shape == (len(ids), 5)
    # standard Gumbel: mean = Euler's gamma, variance = pi^2 / 6
    assert abs(g.mean() - np.euler_gamma) < 0.02
    assert abs(g.var() - np.pi**2 / 6) < 0.05
    # option j of person i reads slot i * n_options + j of the uniform stream
    u = s.uniform("route_choice", 12, ids[:3, None] * 5 + np.arange(5)[None, :])
    assert np.allclose(g[:3], -np.log(-np.log(u)))


def test_gumbel_argmax_reproduces_logit_probabilities():
    # utilities + Gumbel draws, argmax, is a multinomial logit draw
    u = np.tile([0.0, 1.0, -0.5, -np.inf], (N, 1))
    chosen = np.argmax(u + Streams(4).gumbel("route_choice", 0, np.arange(N), 4), axis=1)
    freq = np.bincount(chosen, minlength=4) / N
    e = np.exp(u[0] - u[0].max())
    assert np.allclose(freq, e / e.sum(), atol=0.01)
    assert freq[3] == 0  # an unavailable option is never chosen


def _slot_drawing_all_ones(streams: Streams, name: str, step: int) -> int:
    """The slot whose raw draw is 2**64 - 1, by inverting the SplitMix64 finaliser (a bijection)."""
    m1, m2, golden = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, int(_GOLDEN)
    z = MASK
    z ^= (z >> 31) ^ (z >> 62)
    z = (z * pow(m2, -1, 1 << 64)) & MASK
    z ^= (z >> 27) ^ (z >> 54)
    z = (z * pow(m1, -1, 1 << 64)) & MASK
    z ^= (z >> 30) ^ (z >> 60)
    salt = ((step + 1) * golden) & MASK
    step_key = int(_mix(np.array([int(streams._key(name)) ^ salt], dtype=np.uint64))[0])
    return ((z - step_key) * pow(golden, -1, 1 << 64)) & MASK


def test_inverse_finaliser_finds_the_all_ones_draw():
    # checks the construction used by the next test, so that test can only fail for its own reason
    s = Streams(1)
    slot = np.array([_slot_drawing_all_ones(s, "route_choice", 0)], dtype=np.uint64)
    assert s.bits("route_choice", 0, slot)[0] == MASK


def test_uniform_never_reaches_one_even_at_the_largest_draw():
    s = Streams(1)
    slot = np.array([_slot_drawing_all_ones(s, "route_choice", 0)], dtype=np.uint64)
    assert s.uniform("route_choice", 0, slot)[0] < 1.0


# --- the registry of streams ------------------------------------------------------------------


def test_an_unregistered_stream_is_an_error():
    with pytest.raises(StreamError, match="not registered"):
        Streams(1).uniform("in_qeubec", 0, np.arange(3))
    Streams(1).uniform("population/contact_pick/7", 0, np.arange(3))  # a numbered member of a family
    with pytest.raises(StreamError):
        Streams(1).uniform("population/contact_pick/x", 0, np.arange(3))


def test_every_registered_stream_says_what_it_is_for():
    assert all(len(purpose.split()) >= 3 for purpose in STREAMS.values())


def test_the_guard_catches_a_stream_read_twice_for_one_person_on_one_day():
    s = Streams(1, guard=True)
    s.uniform("detection", 5, np.array([1, 2, 3]))
    s.uniform("detection", 5, np.array([4, 5]))  # others, same day: fine
    s.uniform("detection", 6, np.array([1, 2]))  # same people, another day: fine
    with pytest.raises(StreamError, match="read twice"):
        s.uniform("detection", 5, np.array([9, 3]))
    with pytest.raises(StreamError, match="read twice"):
        s.gumbel("route_choice", 1, np.array([7, 7]), 6)


@pytest.mark.parametrize("name", ["history", "suspend_stca", "roxham_designated_port"])
def test_no_stream_is_read_twice_for_a_person_on_a_day_in_a_whole_run(name, small):
    """Every draw of a run is fresh: two decisions never share one random number (Starsim's guard)."""
    model = BorderModel(small(name, scale=0.001), guard_streams=True)
    model.run()  # raises StreamError on any repeated (stream, day, person)
    assert model.decisions > 0
