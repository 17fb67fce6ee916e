"""BorderModel: people in the US deciding whether and how to go to Canada, and what Canada does with them.

One step is one day. A day reads like this: today's arrivals enter the US
(asylum seekers counted at the southern border, and people whose status is
ending); on the day rules change, the news reaches a share of people; once a
week contacts spread what people know; the US decides its oldest asylum
cases; people hiding past the return window claim; the people due to
reconsider choose a route, all at once, under the rules they believe in
force; the rules actually in force decide what happens to them at a port or
between ports; claims (theirs and those of airport and inland claimants the
model does not follow) go to IRCC for referral and then to the IRB; claimants
in Quebec are sheltered; the IRB decides its oldest claims. At the end of each
month the model records a row of outputs, in persons (agents / scale).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import mesa
import numpy as np

from .. import data
from ..calendar import days_between, days_in_month, month_key, month_starts, parse_date
from ..scenario.groups import GROUPS, group_mask
from ..scenario.kinds import dated_value, group_value
from ..scenario.schema import Scenario
from . import information as info
from . import kernel
from . import rules as R
from .agents import AsylumSeeker
from .choice import Conditions, Deciders, Option, choose, utilities
from .people import ENTERED_STATES, State, arrival_schedule, build_people
from .queues import CaseQueue, ClaimPipeline
from .reception import OVERFLOW, QUEBEC, Shelters
from .recorder import MonthlyRecorder, data_collector
from .streams import Streams

WINTER_MONTHS = (12, 1, 2, 3)
MAX_WAIT_YEARS = 30.0
#: The IRCC office types and regions of claims (columns claims_<office>_<region>).
OFFICES = ("border", "airport", "inland")


def _dated_series(value, days: list[dt.date]) -> np.ndarray:
    """``[dated_value(value, day) for day in days]`` as an array, with the steps parsed once."""
    if not isinstance(value, dict):
        return np.full(len(days), dated_value(value, days[0]))
    steps = sorted((parse_date(k), float(v)) for k, v in value.items())
    starts = np.array([s.toordinal() for s, _ in steps])
    at = np.searchsorted(starts, np.array([day.toordinal() for day in days]), side="right") - 1
    return np.array([v for _, v in steps])[np.maximum(at, 0)]


@dataclass
class DecisionRecord:
    """One day's route decisions, as the model made them (kept when ``model.decision_log`` is a list)."""

    day: int
    ids: np.ndarray  #: the deciders, sorted
    aware: np.ndarray  #: what each knew of the routes when deciding
    known_regime: np.ndarray  #: the rules each believed in force (index into ``model.regimes``)
    conditions: Conditions
    choices: np.ndarray | None  #: the ``Option`` each chose
    perceived_family: np.ndarray | None = None  #: whether each believed they had a qualifying relative


class BorderModel(mesa.Model):
    """The bordersim model. Build it from a :class:`Scenario` (default: the schema defaults).

    Args:
        scenario: the resolved scenario; ``None`` gives the schema defaults.
        seed: replication seed (default: the scenario's ``run.seed``).
        scale: fraction of the real population simulated (default: ``run.scale``).
        guard_streams: fail if a random stream is read twice for one person on one day (tests).
    """

    def __init__(self, scenario: Scenario | None = None, seed: int | None = None, scale: float | None = None,
                 guard_streams: bool = False):
        sc = scenario if scenario is not None else Scenario()
        updates = {k: v for k, v in (("seed", seed), ("scale", scale)) if v is not None}
        if updates:
            sc = sc.model_copy(update={"run": sc.run.model_copy(update=updates)})
        super().__init__(rng=sc.run.seed)
        self._derive(sc)
        self.streams = Streams(self.seed, guard=guard_streams)
        self.day = 0  # index of the next day to simulate

        # people
        self.people = build_people(sc, self.streams, self.schedule)
        self._entered_by_day = np.searchsorted(self.people.entry_day, np.arange(self.n_days), side="right")
        self.n_entered = 0
        self.state_count = np.zeros(256, dtype=np.int64)
        self.status_people_in_us = 0  # persons in the US pool without an asylum case (status events)
        self._decisions_due = kernel.DecisionCalendar(self.n_days)  # day -> persons due to reconsider

        # institutions
        self.claims = ClaimPipeline(initial_backlog=sc.canada.irb_initial_backlog * self.scale)
        self.us_cases = CaseQueue()
        self.shelters = Shelters(self.n_days)
        self._hide_release: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)  # day -> (ids, in Quebec)
        self._diversion_quota = 0.0
        self._exogenous_owed = np.zeros(4)  # exogenous claims due but not yet added (see _exogenous_claims_today)
        self._shelter_carry = 0.0
        self._perceived_wait: np.ndarray | None = None  # years: US, Canada

        #: route decisions made so far (one per decider per day)
        self.decisions = 0
        #: choose routes with the fused kernel (False: the numpy reference path; the same choices)
        self.use_kernel = kernel.available()
        #: set to a list to keep a :class:`DecisionRecord` of every day's decisions (the benchmarks do)
        self.decision_log: list[DecisionRecord] | None = None
        self.recorder = MonthlyRecorder(self)
        self.datacollector = data_collector()

    def _derive(self, sc: Scenario) -> None:
        """Everything the model computes from its scenario before day 0, except the people and their state.

        Kept apart so that a run can branch: a model continued as another option from a saved state
        (:mod:`simulation.experiments.branching`) recomputes these from the option's scenario and keeps
        everything else. Only day ``d``'s entries of the per-day arrays are read on day ``d``.
        """
        self.spec = sc
        self.seed = sc.run.seed
        self.scale = sc.run.scale
        self.first_day = sc.time.first_day
        self.n_days = days_between(self.first_day, sc.time.last_day)

        # rules: the distinct regimes over the horizon, and which is in force each day
        self.rule_changes = sc.rule_changes()
        self.timeline = sc.rule_timeline()
        self.regimes: list[R.RuleSet] = [rules for _, rules in self.timeline]
        self._regime_start = [(start - self.first_day).days for start, _ in self.timeline]
        self.regime_of_day = np.zeros(self.n_days, dtype=np.int16)
        for k, start in enumerate(self._regime_start):
            self.regime_of_day[start:] = k

        # dated parameters, evaluated once per day of the run (monthly figures, in persons)
        ca = sc.canada
        days = [self.date_of(d) for d in range(self.n_days)]
        self.daily = {
            name: _dated_series(value, days)
            for name, value in (
                ("us_decisions_per_month", sc.us.decisions_per_month),
                ("irb_decisions_per_month", ca.irb_decisions_per_month),
                ("referral_capacity_per_month", ca.referral_capacity_per_month),
                ("quebec_shelter_capacity", ca.quebec_shelter_capacity),
                ("quebec_overflow_capacity", ca.quebec_overflow_capacity),
                ("shelter_cost_per_day", ca.shelter_cost_per_day),
                ("assistance_per_claimant_month", ca.assistance_per_claimant_month),
                ("interceptions_processed_inland_share", ca.interceptions_processed_inland_share),
            )
        }
        self._days_in_month = np.array([days_in_month(day) for day in days])
        self._exogenous_per_day, self.exogenous_projected_months = self._exogenous_claims(sc, days)

        # who arrives when (the people are built from it)
        self.schedule = arrival_schedule(sc)
        rates = data.grant_rates()
        self.p_us = np.array([group_value(sc.us.grant_rate, g, rates.loc[g, "US"]) for g in GROUPS])
        self.p_ca = np.array([group_value(sc.canada.acceptance_rate, g, rates.loc[g, "CA"]) for g in GROUPS])
        self.group_affinity = np.array([group_value(sc.behaviour.group_affinity, g, 0.0) for g in GROUPS])
        # what staying is worth: the US grant rate for asylum seekers, the chance of keeping a status for others
        self.stay_chance = np.concatenate([[np.nan], self.schedule.event_stay_chance])
        self._news = [(n, (parse_date(n.date) - self.first_day).days) for n in sc.behaviour.news if n.enabled]

    @staticmethod
    def _exogenous_claims(sc: Scenario, days: list[dt.date]) -> tuple[np.ndarray, list[str]]:
        """Airport and inland claims of people the model does not follow, per day (persons), and the projected months."""
        months = [month_key(m) for m in month_starts(days[0], days[-1])]
        monthly, projected = data.exogenous_claims(months, sc.canada.exogenous_claims_file)
        index = {m: i for i, m in enumerate(months)}
        rows = np.array([index[month_key(day)] for day in days])
        per_day = monthly[rows] / np.array([days_in_month(day) for day in days])[:, None]
        return per_day * sc.canada.exogenous_claims_multiplier, projected

    # --- calendar --------------------------------------------------------

    def date_of(self, d: int) -> dt.date:
        return self.first_day + dt.timedelta(days=d)

    @property
    def date(self) -> dt.date:
        """The date of the next day to simulate."""
        return self.date_of(min(self.day, self.n_days - 1))

    @property
    def rules(self) -> R.RuleSet:
        """The rules in force on the next day to simulate."""
        return self.rules_on(min(self.day, self.n_days - 1))

    def rules_on(self, d: int) -> R.RuleSet:
        """The rules in force on day ``d``."""
        return self.regimes[self.regime_of_day[d]]

    # --- the day ---------------------------------------------------------

    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        d, date = self.day, self.date_of(self.day)
        rules = self.rules_on(d)
        self._enter_arrivals(d, rules)
        self._news_shocks(d)
        self._rule_news(d)
        if d % 7 == 0:
            self._spread_information(d)
        self._us_decisions(d)
        self._update_perceived_waits(d)
        self._end_hiding(d, rules)
        self._decide(d, date, rules)
        self._exogenous_claims_today(d, rules)
        self._canada_decides(d)
        self.shelters.release(d)
        self._daily_costs(d)
        self.day += 1
        if self.day == self.n_days or self.date_of(self.day).day == 1:
            self.recorder.close_month(d)
            self.datacollector.collect(self)
        if self.day >= self.n_days:
            self.running = False

    def run(self) -> None:
        """Run to the end of the scenario."""
        while self.running:
            self.step()

    # --- arrivals --------------------------------------------------------

    def _enter_arrivals(self, d: int, rules: R.RuleSet) -> None:
        lo, hi = self.n_entered, int(self._entered_by_day[d])
        ids = np.arange(lo, hi)
        self.n_entered = hi
        diverted = self._humanitarian(d, rules, ids)
        if len(diverted):
            ids = np.setdiff1d(ids, diverted, assume_unique=True)
        if len(ids) == 0:
            return
        p = self.people
        self._move(ids, State.US_POOL)
        self.recorder.add("status_event_arrivals", int(np.count_nonzero(~p.has_case[ids])))
        # people of a status event who consider Canada know of the routes north (that is what considering means)
        p.aware[ids] = p.aware_at_entry[ids] | ~p.has_case[ids]
        self._learn_rules_from_first_contact(d, ids)
        self._schedule(d, ids)

    def _learn_rules_from_first_contact(self, d: int, ids: np.ndarray) -> None:
        """Newcomers believe the rules their first contact believes; on the first day, the rules in force.

        A contact who arrived the same day learns first (a contact always has a smaller id), so a newcomer whose
        contact is a newcomer too gets that contact's belief, not an unset one."""
        p = self.people
        if d == 0:
            p.known_regime[ids] = self.regime_of_day[d]
            return
        first = p.contacts[ids, 0]
        todo = np.ones(len(ids), dtype=bool)
        while todo.any():
            ready = todo & ~np.isin(first, ids[todo])  # the contact entered earlier, or has learnt already today
            if not ready.any():  # cannot happen (contacts have smaller ids); guard against a loop all the same
                ready = todo
            p.known_regime[ids[ready]] = p.known_regime[first[ready]]
            todo &= ~ready

    def _humanitarian(self, d: int, rules: R.RuleSet, arrivals: np.ndarray) -> np.ndarray:
        """The humanitarian pathway: places used today, and the would-be US arrivals it diverts upstream.

        The places go to people in Latin America, not to anyone in the US; a share of them
        (``canada.humanitarian_diversion_rate``) would otherwise have travelled on to the US: that many of
        today's eligible arrivals (asylum seekers of the eligible groups) never enter (state DIVERTED).
        """
        places = rules.humanitarian_pr_per_month + rules.humanitarian_work_permits_per_month
        if places <= 0:
            return arrivals[:0]
        days = self._days_in_month[d]
        self.recorder.add("humanitarian_pr", rules.humanitarian_pr_per_month / days * self.scale)
        self.recorder.add("humanitarian_work_permits", rules.humanitarian_work_permits_per_month / days * self.scale)
        self._diversion_quota += places / days * self.scale * self.spec.canada.humanitarian_diversion_rate
        p = self.people
        eligible = np.array(group_mask(rules.resettlement_groups))
        cand = arrivals[eligible[p.group[arrivals]] & p.has_case[arrivals]]
        # today's arrivals are numbered group by group: take them in a random order instead
        cand = cand[np.argsort(self.streams.uniform("resettlement", d, cand), kind="stable")]
        take = cand[: int(self._diversion_quota)]
        self._diversion_quota -= len(take)
        self._move(take, State.DIVERTED)
        self.recorder.add("diverted_upstream", len(take))
        return take

    # --- bookkeeping ----------------------------------------------------

    def _move(self, ids: np.ndarray, new_state) -> None:
        """Change the state of ``ids``, keeping the count of persons per state exact."""
        if len(ids) == 0:
            return
        p = self.people
        old = p.state[ids]
        self.state_count -= np.bincount(old, minlength=256)
        p.state[ids] = new_state
        self.state_count += np.bincount(p.state[ids], minlength=256)
        no_case = ~p.has_case[ids]
        if no_case.any():
            self.status_people_in_us += int(np.count_nonzero(no_case & (p.state[ids] == State.US_POOL))) \
                - int(np.count_nonzero(no_case & (old == State.US_POOL)))

    @property
    def pool_size(self) -> int:
        """Persons (agents) in the US with an asylum case pending."""
        return int(self.state_count[State.US_POOL]) - self.status_people_in_us

    def _schedule(self, d: int, ids: np.ndarray) -> None:
        """Set each person's next decision day and file them under it, so a day costs only its deciders."""
        if len(ids) == 0:
            return
        interval = self._interval(d, ids)
        days = d + interval
        self.people.next_decision[ids] = days
        self._decisions_due.add(ids, days)

    def _interval(self, d: int, ids: np.ndarray) -> np.ndarray:
        """Days until a person reconsiders: geometric with the scenario's mean."""
        mean = self.spec.behaviour.decision_interval_days
        if mean <= 1:
            return np.ones(len(ids), dtype=np.int32)
        u = self.streams.uniform("decision_interval", d, ids)
        return (1 + np.floor(np.log(u) / np.log(1.0 - 1.0 / mean))).astype(np.int32)

    # --- information -----------------------------------------------------

    def _rule_news(self, d: int) -> None:
        """On the day the rules change, the news reaches a share of everyone who has entered."""
        current = int(self.regime_of_day[d])
        if d > 0 and self._regime_start[current] == d:
            info.rule_news(self.people, np.arange(self.n_entered), current, self.spec.behaviour.rule_news_reach,
                           self.streams, d)

    def _spread_information(self, d: int) -> None:
        b = self.spec.behaviour
        # (in one compiled pass each: the same learners as information.spread_awareness / spread_rules)
        kernel.spread_awareness(self.people, self.n_entered, self.streams, d, 7, b.awareness_news_rate,
                                b.awareness_contact_rate)
        # everyone who has entered hears of rule changes (people in Canada pass the news on too)
        kernel.spread_rules(self.people, self.n_entered, int(self.regime_of_day[d]), self.streams, d, 7,
                            b.rule_contact_rate)

    def _news_shocks(self, d: int) -> None:
        for event, day in self._news:
            if day == d:
                pool = info.in_pool(self.people, self.n_entered)
                info.news_shock(self.people, pool, np.array(group_mask(event.groups)), event.awareness_boost, self.streams, d)

    # --- the US side -----------------------------------------------------

    def _us_capacity_per_day(self, d: int) -> float:
        return self.daily["us_decisions_per_month"][d] * self.scale * 12 / 365.25

    def _us_decisions(self, d: int) -> None:
        p = self.people
        ids = self.us_cases.serve(self._us_capacity_per_day(d), p.state, State.US_POOL, self.n_entered, p.has_case)
        if len(ids) == 0:
            return
        granted = self.streams.uniform("us_decision", d, ids) < self.p_us[p.group[ids]]
        self._move(ids, np.where(granted, State.US_GRANTED, State.US_DENIED))
        self.recorder.add("us_decisions", len(ids))

    # --- the decision ----------------------------------------------------

    def _update_perceived_waits(self, d: int) -> None:
        """Expected waits as people perceive them: what the queues imply today, smoothed over
        ``behaviour.wait_perception_days`` (people learn of waits from others' experience, not from a
        capacity figure on the day it changes)."""
        us_cap = self._us_capacity_per_day(d) * 365.25
        irb_cap = self.daily["irb_decisions_per_month"][d] * self.scale * 12
        now = np.array([
            min(self.pool_size / us_cap, MAX_WAIT_YEARS) if us_cap > 0 else MAX_WAIT_YEARS,
            min((self.claims.irb_backlog + self.claims.referral_backlog) / irb_cap, MAX_WAIT_YEARS)
            if irb_cap > 0 else MAX_WAIT_YEARS,
        ])
        if self._perceived_wait is None:
            self._perceived_wait = now
        else:
            self._perceived_wait += (now - self._perceived_wait) / max(self.spec.behaviour.wait_perception_days, 1.0)

    def _conditions(self, d: int, date: dt.date) -> Conditions:
        shelter_cap = self.daily["quebec_shelter_capacity"][d] * self.scale
        room = 0.0 if shelter_cap <= 0 else max(0.0, 1.0 - self.shelters.occupancy[QUEBEC] / shelter_cap)
        winter = self.spec.routes.winter_risk_multiplier if date.month in WINTER_MONTHS else 1.0
        return Conditions(
            wait_us_years=float(self._perceived_wait[0]),
            wait_ca_years=float(self._perceived_wait[1]),
            reception_room=room,
            death_risk_roxham=self.spec.routes.death_risk_roxham * winter,
            death_risk_irregular=self.spec.routes.death_risk_irregular * winter,
        )

    def _exceptions(self, rules: R.RuleSet, ids: np.ndarray, believed: bool = False) -> np.ndarray:
        """Whether an STCA exception applies to each of ``ids`` under ``rules``: in fact, or as they believe."""
        p = self.people
        family = p.perceived_family[ids] if believed else p.family[ids]
        return R.exception_applies(rules, family, p.unaccompanied_minor[ids], p.document_holder[ids], p.public_interest[ids])

    def _due(self, d: int) -> np.ndarray:
        """The persons who reconsider on day ``d``, sorted by id."""
        p = self.people
        # a person rescheduled or gone since this entry was made has a newer entry, or none: dropped here
        return self._decisions_due.take(d, p.state, State.US_POOL, p.next_decision)

    def choose_routes(self, d: int, ids: np.ndarray, cond: Conditions, aware: np.ndarray | None = None,
                      known_regime: np.ndarray | None = None, utilities_out: np.ndarray | None = None) -> np.ndarray:
        """The route each of ``ids`` chooses on day ``d`` (an ``Option`` per person), all at once.

        People act on the rules they *believe* are in force (``known_regime``; default: what they know now)
        and on the exceptions they believe they hold. ``aware`` and ``known_regime`` may be given to replay a
        recorded day, and ``utilities_out`` (n, 6) receives the utilities (the benchmarks do both).
        Computed by the fused kernel (:mod:`simulation.core.kernel`: the same choices and utilities) unless
        ``use_kernel`` is false; :meth:`choose_routes_numpy` is the reference it is tested against.
        """
        if self.use_kernel:
            return kernel.choose_routes(self, d, ids, cond, aware, known_regime, utilities_out)
        return self.choose_routes_numpy(d, ids, cond, aware, known_regime, utilities_out)

    def choose_routes_numpy(self, d: int, ids: np.ndarray, cond: Conditions, aware: np.ndarray | None = None,
                            known_regime: np.ndarray | None = None, utilities_out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`choose_routes` with numpy alone: :func:`choice.utilities` and :func:`choice.choose` (the reference)."""
        p = self.people
        b, routes, ca = self.spec.behaviour, self.spec.routes, self.spec.canada
        aware = p.aware[ids] if aware is None else aware
        known = p.known_regime[ids] if known_regime is None else known_regime
        group = p.group[ids]
        has_case = p.has_case[ids]
        p_stay = np.where(has_case, self.p_us[group], self.stay_chance[p.origin[ids]])
        choice = np.empty(len(ids), dtype=np.int8)
        gumbel = self.streams.gumbel("route_choice", d, ids, len(Option))
        nest_gumbel = self.streams.gumbel("route_choice/nest", d, ids, 3)
        for k in np.unique(known):
            sel = np.flatnonzero(known == k)
            believed = self.regimes[k]
            sub = ids[sel]
            needs_visa = np.array(group_mask(believed.visa_required))[group[sel]]
            deciders = Deciders(
                has_exception=self._exceptions(believed, sub, believed=True),
                has_case=has_case[sel],
                aware=aware[sel],
                can_fly=R.can_fly(believed, needs_visa, p.document_holder[sub]),
                p_us=p_stay[sel],
                p_ca=self.p_ca[group[sel]],
                money=p.money[sub].astype(float),
                risk_tolerance=p.risk_tolerance[sub].astype(float),
                household_size=p.household_size[sub].astype(float),
                north_taste=p.north_taste[sub] + self.group_affinity[group[sel]],
            )
            u = utilities(believed, deciders, cond, b, routes, ca.ineligibility_rate)
            choice[sel] = choose(u, gumbel[sel], nest_gumbel[sel], b.nest_scale)
            if utilities_out is not None:
                utilities_out[sel] = u
        return choice

    def _decide(self, d: int, date: dt.date, rules: R.RuleSet) -> None:
        ids = self._due(d)
        if len(ids) == 0:
            return
        p, ca = self.people, self.spec.canada
        cond = self._conditions(d, date)
        if self.decision_log is not None:
            record = DecisionRecord(d, ids, p.aware[ids].copy(), p.known_regime[ids].copy(), cond, None,
                                    p.perceived_family[ids].copy())
        choice = self.choose_routes(d, ids, cond)
        self.decisions += len(ids)
        if self.decision_log is not None:
            record.choices = choice.copy()
            self.decision_log.append(record)
        # ...but the rules in force decide what happens to them
        grouped, starts = kernel.group_by_option(ids, choice)  # the ids choosing each option, ascending
        chose = [grouped[starts[o]:starts[o + 1]] for o in range(len(Option))]
        stay = chose[Option.STAY]
        self._schedule(d, stay)
        leave = chose[Option.LEAVE]
        self._move(leave, State.LEFT)
        self.recorder.add("left_us_process", len(leave))
        self._at_port(d, rules, chose[Option.PORT], quebec_share=ca.quebec_share_port)
        roxham = chose[Option.ROXHAM]
        if not R.roxham_is_open(rules):
            # they find the road closed: they learn the rules in force and reconsider later
            p.known_regime[roxham] = self.regime_of_day[d]
            self._schedule(d, roxham)
            self.recorder.add("roxham_closed_turned_away", len(roxham))
        elif R.roxham_is_port(rules):
            self.recorder.add("roxham_port_arrivals", len(roxham))
            self._at_port(d, rules, roxham, quebec_share=1.0)
        else:
            self._between_ports(d, rules, roxham, rules.roxham_interception, "roxham", cond.death_risk_roxham,
                                quebec_share=1.0)
        self._between_ports(d, rules, chose[Option.IRREGULAR], R.between_ports_detection(rules),
                            "irregular", cond.death_risk_irregular, quebec_share=ca.quebec_share_irregular)
        air = chose[Option.AIR]
        needs_visa = np.array(group_mask(rules.visa_required))[p.group[air]]
        can = R.can_fly(rules, needs_visa, p.document_holder[air])
        self.recorder.add("air_claims", int(can.sum()))
        self._claim(d, air[can], "airport", self._in_quebec(d, air[can], ca.airport_claims_quebec_share))
        self._schedule(d, air[~can])  # denied boarding: back to deciding later

    def _draws(self, stream: str, d: int, ids: np.ndarray) -> np.ndarray:
        return self.streams.uniform(stream, d, ids)

    def _eligible(self, d: int, ids: np.ndarray) -> np.ndarray:
        return self.streams.uniform("eligibility", d, ids) >= self.spec.canada.ineligibility_rate

    def _in_quebec(self, d: int, ids: np.ndarray, quebec_share: float) -> np.ndarray:
        """Which of ``ids`` make their claim in Quebec."""
        if quebec_share >= 1:
            return np.ones(len(ids), dtype=bool)
        return self.streams.uniform("in_quebec", d, ids) < quebec_share

    def _at_port(self, d: int, rules: R.RuleSet, ids: np.ndarray, quebec_share: float) -> None:
        if len(ids) == 0:
            return
        out = R.port_of_entry_outcome(rules, self._exceptions(rules, ids), self._eligible(d, ids))
        claim = ids[out == R.Outcome.CLAIM]
        turned = ids[out == R.Outcome.TURNED_BACK]
        self.recorder.add("port_claims", len(claim))
        self.recorder.add("port_turnbacks", len(turned))
        self.recorder.add("ineligible", int(np.count_nonzero(out == R.Outcome.INELIGIBLE)))
        # an officer's decision settles whether one's relative qualifies
        self.people.perceived_family[turned] = self.people.family[turned]
        self._claim(d, claim, "border", self._in_quebec(d, claim, quebec_share))
        self._return_to_us(d, ids[out != R.Outcome.CLAIM])

    def _between_ports(self, d: int, rules: R.RuleSet, ids: np.ndarray, detection: float,
                       route: str, death_risk: float, quebec_share: float) -> None:
        if len(ids) == 0:
            return
        rec = self.recorder
        rec.add("roxham_crossings" if route == "roxham" else "other_irregular_crossings", len(ids))
        rec.add_by_group(self.people.group[ids])
        rec.add("deaths_expected", len(ids) * death_risk)
        if route != "roxham":
            rec.add("deaths_expected_elsewhere", len(ids) * death_risk)
        detected = self.streams.uniform("detection", d, ids) < detection
        in_quebec = self._in_quebec(d, ids, quebec_share)
        rec.add("interceptions", int(detected.sum()))
        rec.add("interceptions_quebec", int((detected & in_quebec).sum()))
        has_exception = self._exceptions(rules, ids)
        out = R.between_ports_outcome(rules, detected, has_exception, self._eligible(d, ids))
        rec.add("protocol_returns", int(np.count_nonzero(out == R.Outcome.PROTOCOL_RETURN)))
        rec.add("directed_back", int(np.count_nonzero(out == R.Outcome.DIRECTED_BACK)))
        rec.add("ineligible", int(np.count_nonzero(out == R.Outcome.INELIGIBLE)))
        claim = out == R.Outcome.CLAIM
        rec.add("claims_with_exception_between_ports", int(np.count_nonzero(claim & detected & has_exception
                                                                              & (rules.stca_between_ports or rules.direct_back))))
        self._return_to_us(d, ids[out != R.Outcome.CLAIM])
        # undetected crossers must stay hidden through the window when the Protocol covers them
        hide = claim & ~detected & rules.stca_between_ports
        hiding = ids[hide]
        if len(hiding):
            self._move(hiding, State.HIDING)
            self._hide_release[d + rules.return_window_days].append((hiding, in_quebec[hide]))
        now = claim & ~hide
        # in Quebec, IRCC completed some intercepted crossers' claims at its inland office (2017-04 .. 2018-02)
        inland_share = self.daily["interceptions_processed_inland_share"][d]
        inland = now & detected & in_quebec & (inland_share >= 1 or
                                               (inland_share > 0 and self._draws("processed_inland", d, ids) < inland_share))
        self._claim(d, ids[inland], "inland", in_quebec[inland])
        border = now & ~inland
        self._claim(d, ids[border], "border", in_quebec[border])

    def _end_hiding(self, d: int, rules: R.RuleSet) -> None:
        batches = self._hide_release.pop(d, None)
        if not batches:
            return
        ids = np.concatenate([b[0] for b in batches])
        in_quebec = np.concatenate([b[1] for b in batches])
        self.recorder.add("hidden_past_window", len(ids))
        # a claim made more than 14 days after entering between ports is barred from the IRB under Bill C-12
        self._claim(d, ids, "inland", in_quebec, barred=rules.late_between_ports_claims_barred)

    def _claim(self, d: int, ids: np.ndarray, office: str, in_quebec: np.ndarray, barred: bool = False) -> None:
        """Claims by modelled people at an IRCC ``office``: counted, then barred, not referred, or queued for the
        IRB; claimants in Quebec who need it get a place."""
        if len(ids) == 0:
            return
        ca, rec = self.spec.canada, self.recorder
        rec.add("claims_in_canada", len(ids))
        rec.add(f"claims_{office}_quebec", int(in_quebec.sum()))
        rec.add(f"claims_{office}_rest", int(len(ids) - in_quebec.sum()))
        if office in ("airport", "inland"):
            # these claims are part of IRCC's airport and inland counts: fewer people the model does not follow
            k = 0 if office == "airport" else 2
            self._exogenous_owed[k] -= in_quebec.sum()
            self._exogenous_owed[k + 1] -= len(ids) - in_quebec.sum()
        rec.add("quebec_reception_intake", int(in_quebec.sum()))
        if barred:  # no referral to the IRB: a pre-removal risk assessment only
            self._move(ids, State.BARRED)
            rec.add("claims_barred", len(ids))
            return
        referred = self.streams.uniform("referral", d, ids) < ca.referral_share
        self._move(ids[~referred], State.NOT_REFERRED)
        rec.add("claims_not_referred", int(np.count_nonzero(~referred)))
        ids, in_quebec = ids[referred], in_quebec[referred]
        self._move(ids, State.CLAIMANT)
        self.claims.enqueue(ids, in_quebec)
        need = in_quebec & (self.streams.uniform("shelter_need", d, ids) < ca.shelter_need_share)
        sheltered = ids[need]
        stays = -ca.shelter_stay_days * np.log(self.streams.uniform("shelter_stay", d, sheltered))
        self._shelter(d, stays)

    def _shelter(self, d: int, stays: np.ndarray) -> None:
        cap = self.daily["quebec_shelter_capacity"][d] * self.scale
        overflow = self.daily["quebec_overflow_capacity"][d] * self.scale
        _, _, moved, unhoused = self.shelters.admit(d, stays, cap, overflow, self.rules_on(d).transfers_out_of_quebec)
        self.recorder.add("transfers_out_of_quebec", moved)
        self.recorder.add("unhoused_quebec", unhoused)
        self.recorder.add("reception_cost_cad", moved * self.spec.canada.transfer_cost)

    def _exogenous_claims_today(self, d: int, rules: R.RuleSet) -> None:
        """Airport and inland claims of people the model does not follow: IRCC's counts, less the modelled ones.

        What IRCC counted (a driver) is owed day by day; the modelled air claimants and post-hiding inland
        claimants of the same office and region are paid out of it (see :meth:`_claim`), and what remains is
        added as claims of people the model does not follow, so no claim is counted twice.
        """
        ca, rec = self.spec.canada, self.recorder
        self._exogenous_owed += self._exogenous_per_day[d] * self.scale
        add = np.maximum(self._exogenous_owed, 0.0)
        self._exogenous_owed -= add
        names = ("claims_airport_quebec", "claims_airport_rest", "claims_inland_quebec", "claims_inland_rest")
        for name, n in zip(names, add):
            rec.add(name, n)
        barred = add[2:] * ca.inland_over_one_year_share if rules.one_year_bar else np.zeros(2)
        rec.add("claims_barred", barred.sum())
        referred = (add - np.r_[0.0, 0.0, barred]) * ca.referral_share
        rec.add("claims_not_referred", (add - np.r_[0.0, 0.0, barred]).sum() - referred.sum())
        quebec = referred[0] + referred[2]
        self.claims.add(quebec, quebec=True)
        self.claims.add(referred[1] + referred[3], quebec=False)
        rec.add("quebec_reception_intake", add[0] + add[2])
        # airport claimants landing in Quebec need a place too (expected stays: they have no random slots)
        self._shelter_carry += referred[0] * ca.shelter_need_share
        n = int(self._shelter_carry)
        if n:
            self._shelter_carry -= n
            self._shelter(d, np.full(n, ca.shelter_stay_days))

    def _return_to_us(self, d: int, ids: np.ndarray) -> None:
        """Back to the US pool; they now know the rules in force and reconsider later."""
        if len(ids) == 0:
            return
        p = self.people
        self._move(ids, State.US_POOL)
        p.returns[ids] += 1
        p.known_regime[ids] = self.regime_of_day[d]
        self._schedule(d, ids)
        self.us_cases.rejoin(ids[p.has_case[ids]])

    # --- Canada: referral and the IRB ---------------------------------------

    def _canada_decides(self, d: int) -> None:
        days = self._days_in_month[d]
        self.claims.refer(self.daily["referral_capacity_per_month"][d] * self.scale / days)
        decided, ids = self.claims.decide(self.daily["irb_decisions_per_month"][d] * self.scale / days)
        self.recorder.add("irb_decisions", decided)
        if len(ids):
            accepted = self.streams.uniform("irb_decision", d, ids) < self.p_ca[self.people.group[ids]]
            self._move(ids, np.where(accepted, State.PROTECTED, State.REJECTED))

    def _daily_costs(self, d: int) -> None:
        """Places (shelters, emergency places, other provinces) and Quebec's support of claimants living there."""
        rec = self.recorder
        rec.add("reception_cost_cad", self.shelters.person_days() * self.daily["shelter_cost_per_day"][d])
        rec.add("quebec_support_cost_cad",
                self.claims.quebec_pending * self.daily["assistance_per_claimant_month"][d] / self._days_in_month[d])

    # --- inspection ------------------------------------------------------

    def state_counts(self) -> dict[str, int]:
        """Persons (agents) in each state among those who have entered."""
        return {s.name: int(self.state_count[s]) for s in ENTERED_STATES}

    def person(self, person_id: int) -> AsylumSeeker:
        """A Mesa agent for one person: a view onto the population arrays, made on demand and kept."""
        return AsylumSeeker.view(self, person_id)

    def sample_agents(self, n: int, state: State | None = State.US_POOL) -> mesa.agent.AgentSet:
        """Mesa agents for up to ``n`` persons (in ``state``; ``None``: anyone who entered), drawn at random."""
        pool = np.arange(self.n_entered) if state is None else np.flatnonzero(self.people.state[: self.n_entered] == state)
        ids = self.rng.choice(pool, size=min(n, len(pool)), replace=False) if len(pool) else pool
        return mesa.agent.AgentSet([self.person(int(i)) for i in np.sort(ids)], random=self.random)

    def results(self):
        """Monthly outputs as a pandas DataFrame: the DataCollector's model variables, one row per month."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
