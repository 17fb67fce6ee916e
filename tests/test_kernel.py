"""The compiled hot paths make exactly the numpy path's choices: the decision kernel, the weekly spread, the calendar."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulation.core import information as info
from simulation.core import kernel
from simulation.core.choice import Option
from simulation.core.model import BorderModel
from simulation.experiments.run import simulate
from simulation.files import to_csv_bytes

pytestmark = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A small history run across the 2023 Protocol, with every day's decisions recorded (replayed on the
    state at the end of the run: some beliefs changed since, so the replay is compared path with path)."""
    from tests.conftest import small_scenario

    sc = small_scenario("history", start="2022-12", end="2023-06", scale=0.01)
    log: list = []
    model = simulate(sc, decision_log=log, keep_model=True, commit=False).model
    return model, log


def test_kernel_makes_the_numpy_choices_with_the_same_utilities(recorded):
    model, log = recorded
    n = 0
    regimes = set()
    for rec in log:
        u_k = np.empty((len(rec.ids), len(Option)))
        u_n = np.empty_like(u_k)
        c_k = kernel.choose_routes(model, rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime, u_k)
        c_n = model.choose_routes_numpy(rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime, u_n)
        assert np.array_equal(c_k, c_n), rec.day
        # every utility the very same double (-inf where the option is closed)
        assert np.array_equal(u_k, u_n)
        n += len(rec.ids)
        regimes |= set(np.unique(rec.known_regime).tolist())
    assert n > 10_000 and len(regimes) >= 2  # not vacuous: thousands of decisions, people believing two rule sets
    assert len(np.unique(np.concatenate([r.choices for r in log]))) >= 4


def test_the_kernel_reads_the_persons_own_draws_whoever_else_decides(recorded):
    """Common random numbers: a subset of the day's deciders chooses exactly as within the whole day."""
    model, log = recorded
    rec = max(log, key=lambda r: len(r.ids))
    whole = kernel.choose_routes(model, rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime)
    pick = np.arange(0, len(rec.ids), 3)
    part = kernel.choose_routes(model, rec.day, rec.ids[pick], rec.conditions, rec.aware[pick], rec.known_regime[pick])
    assert np.array_equal(part, whole[pick])


def test_near_ties_fall_back_to_numpys_log_and_exp(recorded, monkeypatch):
    """With a tie margin so wide that every decision is 'close', each is recomputed by the numpy path."""
    model, log = recorded
    monkeypatch.setattr(kernel, "TIE_MARGIN", np.inf)
    before = model.kernel_ties
    for rec in log[:20]:
        c = kernel.choose_routes(model, rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime)
        assert np.array_equal(c, model.choose_routes_numpy(rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime))
    assert model.kernel_ties - before == sum(len(r.ids) for r in log[:20])


def test_a_run_with_the_kernel_equals_a_run_with_the_numpy_path(small):
    sc = small("protocol_2023", start="2022-10", end="2023-09", scale=0.004, seed=5)
    fast = BorderModel(sc)
    slow = BorderModel(sc)
    slow.use_kernel = False
    fast.run()
    slow.run()
    assert to_csv_bytes(fast.results()) == to_csv_bytes(slow.results())
    assert fast.decisions == slow.decisions > 0


def test_grouping_by_option_is_the_boolean_masks():
    rng = np.random.default_rng(1)
    ids = np.sort(rng.choice(10_000, 3_000, replace=False))
    choice = rng.integers(0, len(Option), len(ids)).astype(np.int8)
    grouped, starts = kernel.group_by_option(ids, choice)
    for o in Option:
        assert np.array_equal(grouped[starts[o]:starts[o + 1]], ids[choice == o])


def test_weekly_spread_learners_are_those_of_the_numpy_functions(recorded):
    model, _ = recorded
    for fn in ("awareness", "rules"):
        a, b = copy.deepcopy(model.people), copy.deepcopy(model.people)
        n = model.n_entered
        if fn == "awareness":
            a.aware[: n // 2] = False  # many unaware, so that many learn
            b.aware[: n // 2] = False
            pool = info.in_pool(a, n)
            got_a = info.spread_awareness(a, pool, model.streams, 700, 7, 0.001, 0.3)
            got_b = kernel.spread_awareness(b, n, model.streams, 700, 7, 0.001, 0.3)
            assert np.array_equal(a.aware, b.aware)
        else:
            current = int(a.known_regime.max())
            a.known_regime[: n // 2] = 0
            b.known_regime[: n // 2] = 0
            got_a = info.spread_rules(a, np.arange(n), current, model.streams, 700, 7, 0.2)
            got_b = kernel.spread_rules(b, n, current, model.streams, 700, 7, 0.2)
            assert np.array_equal(a.known_regime, b.known_regime)
        assert got_a == got_b > 10


def test_the_calendar_gives_each_days_due_persons_sorted_once():
    rng = np.random.default_rng(3)
    n_people, n_days = 5_000, 400
    cal = kernel.DecisionCalendar(n_days, blocks=2)  # grows as it fills
    state = np.zeros(n_people, dtype=np.uint8)
    next_decision = np.full(n_people, -1, dtype=np.int32)
    reference: dict[int, set] = {}
    for day in range(n_days):
        got = cal.take(day, state, 0, next_decision)
        assert np.array_equal(got, np.array(sorted(reference.pop(day, set())), dtype=np.int64)), day
        # file some persons (each at most once at a time, as the model does), some leave the pool
        free = np.flatnonzero((next_decision < day) & (state == 0))
        ids = np.sort(rng.choice(free, min(len(free), 40), replace=False))
        days = day + 1 + rng.geometric(1 / 30, len(ids))
        next_decision[ids] = days
        cal.add(ids, days)
        for i, d in zip(ids.tolist(), days.tolist()):
            if d < n_days:
                reference.setdefault(d, set()).add(i)
        gone = rng.choice(n_people, 5)
        state[gone] = 7
        for s in reference.values():
            s.difference_update(gone.tolist())
