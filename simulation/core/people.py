"""The people: every person the run will ever hold, as one numpy array per attribute.

Who arrives and when does not depend on policy (only the US inflow data and
the scenario's population settings), so the arrival schedule and every fixed
attribute are drawn once at set-up, each from its own random stream at the
person's id. Person ``i`` is therefore the same person, with the same
family, money and contacts, in every scenario run with the same seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .. import data
from ..calendar import days_between, month_end, month_key, month_starts, parse_date
from ..scenario.groups import GROUPS
from ..scenario.kinds import dated_value, group_value
from ..scenario.schema import Scenario
from .streams import Streams


class State(IntEnum):
    """Where a person is. Every person who has entered the model is in exactly one."""

    US_POOL = 0  #: in the US, deciding: an asylum case pending, or a status ending (see People.has_case)
    HIDING = 1  #: crossed between ports undetected, staying hidden through the return window
    CLAIMANT = 2  #: claim made in Canada, awaiting referral to the IRB and its decision
    PROTECTED = 3  #: accepted by the IRB
    REJECTED = 4  #: refused by the IRB
    US_GRANTED = 5  #: granted asylum in the US
    US_DENIED = 6  #: denied in the US (removed, or out of the model)
    LEFT = 7  #: gave up or went elsewhere
    DIVERTED = 8  #: would have entered the US; took a humanitarian place in Latin America instead
    NOT_REFERRED = 9  #: claim made but not referred to the IRB (found ineligible, withdrawn or abandoned)
    BARRED = 10  #: claim barred from the IRB (Bill C-12): a pre-removal risk assessment only
    NOT_ENTERED = 255  #: not yet arrived in the US


ENTERED_STATES = [s for s in State if s != State.NOT_ENTERED]


@dataclass
class People:
    """Struct of arrays; index = person id. Fixed attributes are set once; the rest change."""

    group: np.ndarray
    origin: np.ndarray  # 0: came through the US asylum system (CBP encounters); k > 0: status event k - 1
    has_case: np.ndarray  # an asylum case pending in the US (decided by US processing)
    entry_day: np.ndarray  # model day the person enters (0 for the initial stock)
    us_arrival_day: np.ndarray  # day the person arrived in the US (negative: before the run)
    family: np.ndarray  # has a family member in Canada who qualifies for the STCA exception
    unaccompanied_minor: np.ndarray
    document_holder: np.ndarray
    public_interest: np.ndarray
    household_size: np.ndarray
    money: np.ndarray
    risk_tolerance: np.ndarray
    north_taste: np.ndarray  # how much more than others this person wants to leave for Canada (utility)
    aware_at_entry: np.ndarray
    contacts: np.ndarray  # (n, k) ids of earlier persons
    # changing
    perceived_family: np.ndarray  # believes they have a qualifying family member (learns the truth at a port)
    state: np.ndarray
    aware: np.ndarray
    known_regime: np.ndarray
    next_decision: np.ndarray
    returns: np.ndarray

    def __len__(self) -> int:
        return len(self.group)

    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))




@dataclass
class ArrivalSchedule:
    """Persons entering on each day (agent units): by group through the US asylum system, and by status event."""

    counts: np.ndarray  # (n_days, n_groups) int: arrivals counted in CBP encounters
    initial: np.ndarray  # (n_groups,) int
    projected_months: list[str]
    event_counts: np.ndarray  # (n_days, n_events) int: people of each status event who consider Canada
    event_groups: np.ndarray  # (n_events,) group index of each event
    event_stay_chance: np.ndarray  # (n_events,)

    @property
    def slots(self) -> tuple[np.ndarray, np.ndarray]:
        """(group, origin) of each column of a day's arrivals: the groups, then the events."""
        n_groups = len(self.initial)
        groups = np.concatenate([np.arange(n_groups), self.event_groups]).astype(np.int8)
        origin = np.concatenate([np.zeros(n_groups), np.arange(1, len(self.event_groups) + 1)]).astype(np.int16)
        return groups, origin


def _spread(expected: np.ndarray) -> np.ndarray:
    """Whole persons per day from expected (fractional) persons per day, by cumulative rounding."""
    cum = np.floor(np.cumsum(expected, axis=0) + 1e-9)
    return np.diff(np.vstack([np.zeros((1, expected.shape[1])), cum]), axis=0).astype(np.int64)


def arrival_schedule(sc: Scenario) -> ArrivalSchedule:
    """Integer arrivals per day, deterministic (cumulative rounding, no random numbers).

    Through the US asylum system: CBP encounters in the month x pool entry share x inflow multiplier x
    scale, split by the fiscal year's nationality shares and spread evenly over the month's days.
    Status events: persons x ``population.status_event_share`` (``overstay_share`` for visa overstayers) x scale,
    on the event's day or spread evenly to its ``until``.
    """
    first, last = sc.time.first_day, sc.time.last_day
    n_days = days_between(first, last)
    months = month_starts(first, last)
    keys = [month_key(m) for m in months]
    encounters, projected = data.monthly_inflow(keys, sc.population.inflow_file)
    expected = np.zeros((n_days, len(GROUPS)))
    for m, enc in zip(months, encounters):
        d0 = (m - first).days
        n_in_month = month_end(m).day
        share = dated_value(sc.population.pool_entry_share, m)
        per_day = enc * share * sc.population.inflow_multiplier * sc.run.scale / n_in_month
        expected[d0 : d0 + n_in_month] = per_day * data.shares_for(m)[None, :]
    initial_expected = sc.population.initial_us_pool * sc.run.scale * data.shares_for(first)
    initial = np.floor(initial_expected + 0.5).astype(np.int64)
    pop = sc.population
    events = [e for e in pop.event if e.enabled]
    event_expected = np.zeros((n_days, len(events)))
    for k, e in enumerate(events):
        d0 = (parse_date(e.date) - first).days
        d1 = (parse_date(e.until) - first).days if e.until else d0
        days = np.arange(max(d0, 0), min(d1, n_days - 1) + 1)  # the part of the event inside the window
        share = pop.overstay_share if e.program == "visa_overstay" else pop.status_event_share
        event_expected[days, k] = e.persons * share * sc.run.scale / (d1 - d0 + 1)
    return ArrivalSchedule(
        counts=_spread(expected), initial=initial, projected_months=projected,
        event_counts=_spread(event_expected),
        event_groups=np.array([GROUPS.index(e.group) for e in events], dtype=np.int8),
        event_stay_chance=np.array([pop.status_stay_chance if e.stay_chance is None else e.stay_chance for e in events]),
    )


def _per_group(values: dict[str, float], default: float) -> np.ndarray:
    return np.array([group_value(values, g, default) for g in GROUPS])


def build_people(sc: Scenario, streams: Streams, schedule: ArrivalSchedule) -> People:
    pop, beh = sc.population, sc.behaviour
    n0 = int(schedule.initial.sum())
    # ids in order of entry: the initial stock, then day by day, group by group, then event by event
    slot_group, slot_origin = schedule.slots
    daily = np.hstack([schedule.counts, schedule.event_counts]).ravel()
    n_days = len(schedule.counts)
    group = np.concatenate([np.repeat(np.arange(len(GROUPS)), schedule.initial),
                            np.repeat(np.tile(slot_group, n_days), daily)]).astype(np.int8)
    origin = np.concatenate([np.zeros(n0, dtype=np.int16), np.repeat(np.tile(slot_origin, n_days), daily)])
    per_day = schedule.counts.sum(axis=1) + schedule.event_counts.sum(axis=1)
    entry_day = np.concatenate([np.zeros(n0, dtype=np.int32), np.repeat(np.arange(len(per_day), dtype=np.int32), per_day)])
    n = len(group)
    ids = np.arange(n, dtype=np.int64)

    def u(name):
        return streams.uniform("population/" + name, 0, ids)

    # the initial stock arrived in the US over the previous four years (assumption), and is numbered in
    # order of arrival, oldest first, so that US processing (oldest id first) meets the groups mixed, not
    # one nationality after another
    order = np.argsort(u("initial_order")[:n0], kind="stable")
    group[:n0] = group[:n0][order]
    us_arrival = entry_day.copy()
    us_arrival[:n0] = np.sort(-1 - np.floor(u("initial_arrival")[:n0] * 4 * 365).astype(np.int32))
    from_event = origin > 0
    us_arrival[from_event] -= int(round(pop.status_years_in_us * 365.25))
    family = u("family") < _per_group(pop.family_in_canada, 0.08)[group]
    # who believes they have a qualifying relative: most who have one know it; a few who have none think so
    belief = u("family_belief")
    perceived_family = np.where(family, belief < pop.exception_known_share, belief < pop.exception_false_belief)
    household = 1 + np.floor(np.log(u("household")) / np.log(1.0 - 1.0 / pop.mean_household_size)).astype(np.int16) \
        if pop.mean_household_size > 1 else np.ones(n, dtype=np.int16)
    money = pop.money_median_usd * np.exp(pop.money_sigma * streams.normal("population/money", 0, ids))
    risk_tol = np.exp(pop.risk_tolerance_sigma * streams.normal("population/risk_tolerance", 0, ids))
    contacts = build_contacts(group, n0, beh.contacts_per_person, beh.homophily, streams)
    return People(
        group=group,
        origin=origin,
        has_case=~from_event,
        entry_day=entry_day,
        us_arrival_day=us_arrival.astype(np.int32),
        family=family,
        unaccompanied_minor=u("unaccompanied_minor") < pop.unaccompanied_minor,
        document_holder=u("document_holder") < pop.document_holder,
        public_interest=u("public_interest") < pop.public_interest,
        household_size=household.astype(np.int16),
        money=money.astype(np.float32),
        risk_tolerance=risk_tol.astype(np.float32),
        north_taste=(beh.north_taste_sd * streams.normal("population/north_taste", 0, ids)
                     + np.where(from_event, pop.status_event_north_taste, 0.0)).astype(np.float32),
        aware_at_entry=u("aware") < beh.initial_awareness,
        contacts=contacts,
        perceived_family=perceived_family,
        state=np.full(n, State.NOT_ENTERED, dtype=np.uint8),
        aware=np.zeros(n, dtype=bool),
        known_regime=np.zeros(n, dtype=np.int16),
        next_decision=np.full(n, -1, dtype=np.int32),
        returns=np.zeros(n, dtype=np.int16),
    )


def build_contacts(group: np.ndarray, n0: int, k: int, homophily: float, streams: Streams) -> np.ndarray:
    """Each person's ``k`` contacts, among persons who entered before them (the initial stock: among itself).

    With probability ``homophily`` a contact is drawn from the same
    nationality group (communities by nationality), otherwise from anyone.
    Contacts who have since crossed still pass on what they know.
    """
    n = len(group)
    ids = np.arange(n, dtype=np.int64)
    bound = np.maximum(np.where(ids < n0, n0, ids), 1)  # draw among ids < bound
    out = np.empty((n, k), dtype=np.int32)
    # for each group, the sorted ids of its members, to draw same-group contacts by rank
    members = [np.flatnonzero(group == g) for g in range(len(GROUPS))]
    rank_bound = np.empty(n, dtype=np.int64)
    for g, m in enumerate(members):
        sel = group == g
        rank_bound[sel] = np.searchsorted(m, bound[sel], side="left")
    has_earlier = rank_bound > 0
    for j in range(k):
        same = streams.uniform(f"population/contact_same/{j}", 0, ids) < homophily
        pick = streams.uniform(f"population/contact_pick/{j}", 0, ids)
        anyone = np.minimum((pick * bound).astype(np.int64), bound - 1)
        chosen = anyone.copy()
        want = same & has_earlier
        for g, m in enumerate(members):
            sel = m[want[m]]  # the group's members who draw within it (ascending, as flatnonzero gave)
            if len(sel):
                r = np.minimum((pick[sel] * rank_bound[sel]).astype(np.int64), rank_bound[sel] - 1)
                chosen[sel] = m[r]
        out[:, j] = np.minimum(chosen, n - 1)
    return out
