"""The reference: the same route decision written the naive way, one Mesa agent at a time.

bordersim decides for all of a day's deciders at once (:meth:`BorderModel._decide`,
:mod:`simulation.core.choice`). This module writes the same decision rule the way an
agent-based model usually is: a :class:`NaiveAsylumSeeker` (a ``mesa.Agent``)
whose ``step()`` runs once per agent per tick (``model.agents.shuffle_do("step")``)
and, when the person is due to reconsider, computes that person's utilities for
the six options in plain Python (``math``) and picks the best with the person's
own Gumbel draws, read from the same :class:`simulation.core.streams.Streams` slots
as the fast model (the same common random numbers). So on the same inputs it must
make exactly the same choices; :func:`check_same_choices` says whether it does.

The workload is recorded from a real :class:`BorderModel` run
(:func:`record_workload`): for each day of a window, who decided, what each
decider knew (awareness, the rules they believed in force) and the day's
conditions, and what bordersim chose for them. The naive model replays those
days; only the agent-step loop is timed (:attr:`NaiveModel.step_seconds`), which
leaves the replay bookkeeping out and so favours the naive reference.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import mesa
import numpy as np

from simulation.core import rules as R
from simulation.core.choice import Conditions, Option
from simulation.core.model import BorderModel, DecisionRecord as DayRecord
from simulation.core.streams import Streams
from simulation.experiments.run import simulate
from simulation.scenario.groups import GROUPS

N_OPTIONS = len(Option)
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / float(1 << 52)


def _mix_int(z: int) -> int:
    """The SplitMix64 finaliser of simulation.core.streams, on a Python int."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)
NORTH = (Option.PORT, Option.ROXHAM, Option.IRREGULAR, Option.AIR)


# --- recording the workload from a real run --------------------------------------


def record_workload(scenario, first_day: int, n_days: int) -> BorderModel:
    """Run ``scenario`` up to the end of the window ``[first_day, first_day + n_days)``; the model's
    ``records`` are the :class:`DayRecord` of each day of decisions in the window (its decision log)."""
    start = simulate(scenario, until=first_day_date(scenario, first_day), commit=False)
    log: list[DayRecord] = []
    model = simulate(model=start.model, until=first_day_date(scenario, first_day + n_days), decision_log=log,
                     commit=False).model
    model.records = log
    return model


def first_day_date(scenario, day: int):
    return scenario.time.first_day + dt.timedelta(days=day)


# --- the naive agent ----------------------------------------------------------


class NaiveAsylumSeeker(mesa.Agent):
    """One person, deciding alone: utilities of the six options in plain Python, then the nested-logit draw."""

    def __init__(self, model: NaiveModel, person_id: int):
        super().__init__(model)
        p, i = model.people, int(person_id)
        self.person_id = i
        self.group = int(p.group[i])
        self.family = bool(p.family[i])
        self.unaccompanied_minor = bool(p.unaccompanied_minor[i])
        self.document_holder = bool(p.document_holder[i])
        self.public_interest = bool(p.public_interest[i])
        self.household_size = float(p.household_size[i])
        self.money = float(p.money[i])
        self.risk_tolerance = float(p.risk_tolerance[i])
        self.north_taste = float(p.north_taste[i]) + float(model.group_affinity[self.group])
        # what staying is worth: the US grant rate with an asylum case, the chance of keeping a status without one
        self.has_case = bool(p.has_case[i])
        self.p_us = float(model.p_us[self.group]) if self.has_case else float(model.stay_chance[int(p.origin[i])])
        self.p_ca = float(model.p_ca[self.group])
        # what the person knows, and when they reconsider (set by the replayed workload)
        self.aware = False
        self.known_regime = 0
        self.next_decision = -1
        self.choice: int | None = None
        self.last_utilities: list[float] | None = None

    def step(self) -> None:
        m = self.model
        if self.next_decision != m.day:
            return
        self.choice = self.decide(m.day, m.conditions)
        m.evaluations += 1

    # the decision rule, one person at a time (mirrors simulation.core.choice.utilities and choose)

    def has_exception(self, rules: R.RuleSet) -> bool:
        """As the person believes it: a qualifying relative as they perceive it (learnt at a port), the rest as is."""
        believed = {"family": bool(self.model.people.perceived_family[self.person_id])}
        return any(believed.get(name, getattr(self, name)) for name in rules.exceptions)

    def can_fly(self, rules: R.RuleSet) -> bool:
        return GROUPS[self.group] not in rules.visa_required or self.document_holder

    def claim_chance(self, rules: R.RuleSet, option: Option, exception: bool, ineligibility_rate: float) -> float:
        exc = float(exception) * (1.0 - ineligibility_rate)
        if option == Option.PORT or (option == Option.ROXHAM and R.roxham_is_port(rules)):
            return exc if rules.stca_at_ports else 1.0
        if option in (Option.ROXHAM, Option.IRREGULAR):
            detect = rules.roxham_interception if option == Option.ROXHAM else rules.between_ports_detection
            if rules.direct_back or rules.stca_between_ports:
                return 1.0 - detect * (1.0 - exc)
        return 1.0

    def utilities(self, rules: R.RuleSet, c: Conditions) -> list[float]:
        m = self.model
        b, routes, inel = m.behaviour, m.routes, m.ineligibility_rate
        exception = self.has_exception(rules)
        stay = b.w_protection * self.p_us - b.w_wait * c.wait_us_years * float(self.has_case)
        canada = b.w_protection * self.p_ca - b.w_wait * c.wait_ca_years + b.w_reception * c.reception_room
        returned = stay - b.w_return
        hh = 1.0 + 0.25 * (self.household_size - 1.0)

        def route(option: Option, asc: float, cost: float, risk: float, hides: bool) -> float:
            p = self.claim_chance(rules, option, exception, inel)
            value = asc + p * (canada + self.north_taste) + (1.0 - p) * returned
            value -= b.w_cost * cost * hh / self.money
            value -= b.w_risk * (risk * 1000.0) * hh / self.risk_tolerance
            if hides:
                value -= b.w_hiding * (1.0 - float(exception))
            return value

        u = [-math.inf] * N_OPTIONS
        u[Option.STAY] = stay
        u[Option.LEAVE] = b.asc_leave
        if self.aware:
            u[Option.PORT] = route(Option.PORT, b.asc_port, routes.cost_port_usd, 0.0, False)
            if R.roxham_is_open(rules):
                u[Option.ROXHAM] = route(Option.ROXHAM, b.asc_roxham, routes.cost_roxham_usd, c.death_risk_roxham, False)
            # as choice.utilities: only the Protocol makes crossers hide (under direct-back they claim at once)
            u[Option.IRREGULAR] = route(Option.IRREGULAR, b.asc_irregular, routes.cost_irregular_usd,
                                        c.death_risk_irregular, rules.stca_between_ports)
        if self.can_fly(rules):
            u[Option.AIR] = route(Option.AIR, b.asc_air, routes.cost_air_usd, 0.0, False)
        return u

    def decide(self, day: int, c: Conditions) -> int:
        m = self.model
        u = self.last_utilities = self.utilities(m.regimes[self.known_regime], c)
        # this person's own random slots: the same draws bordersim reads for them
        g, gn = m.gumbels(day, self.person_id)
        lam = m.behaviour.nest_scale
        scaled = [u[o] / lam for o in NORTH]
        top_north = max(scaled)
        if math.isfinite(top_north):
            iv = lam * (top_north + math.log(sum(math.exp(x - top_north) for x in scaled)))
        else:
            iv = -math.inf
        nest = [u[Option.STAY] + gn[0], iv + gn[1], u[Option.LEAVE] + gn[2]]
        best = max(range(3), key=nest.__getitem__)  # the first of equal maxima, as numpy's argmax
        if best == 0:
            return int(Option.STAY)
        if best == 2:
            return int(Option.LEAVE)
        r = max(range(len(NORTH)), key=lambda j: scaled[j] + g[NORTH[j]])
        return int(NORTH[r])


class NaiveModel(mesa.Model):
    """Replays recorded days with one NaiveAsylumSeeker per person who decides in them."""

    def __init__(self, source: BorderModel, records: list[DayRecord]):
        super().__init__(rng=source.seed)
        sc = source.spec
        self.people = source.people
        self.streams = Streams(source.seed)
        self.regimes = source.regimes
        self.behaviour, self.routes = sc.behaviour, sc.routes
        self.ineligibility_rate = sc.canada.ineligibility_rate
        self.p_us, self.p_ca, self.stay_chance = source.p_us, source.p_ca, source.stay_chance
        self.group_affinity = getattr(source, "group_affinity", np.zeros(len(GROUPS)))
        self.records = records
        self.person_ids = np.unique(np.concatenate([r.ids for r in records])) if records else np.empty(0, np.int64)
        created = NaiveAsylumSeeker.create_agents(self, len(self.person_ids), person_id=self.person_ids)
        self.by_id = {a.person_id: a for a in created}
        self.day = -1
        self.conditions: Conditions | None = None
        self.evaluations = 0
        self.step_seconds = 0.0
        self.step_cpu_seconds = 0.0
        self._next = 0
        self._step_keys: dict = {}
        self.day_utilities: list[np.ndarray] = []  # filled by run_naive: each replayed day's utility vectors

    def step(self) -> None:
        if self._next >= len(self.records):
            self.running = False
            return
        rec = self.records[self._next]
        self._next += 1
        # replay: what each decider knew, and that they are due today (not timed)
        self.day, self.conditions = rec.day, rec.conditions
        restore_beliefs(self.people, rec)
        for pid, aware, known in zip(rec.ids.tolist(), rec.aware.tolist(), rec.known_regime.tolist()):
            a = self.by_id[pid]
            a.aware, a.known_regime, a.next_decision, a.choice = aware, known, rec.day, None
        t0, c0 = time.perf_counter(), time.process_time()
        self.agents.shuffle_do("step")  # the naive tick: every agent's step, one at a time
        self.step_seconds += time.perf_counter() - t0
        self.step_cpu_seconds += time.process_time() - c0

    def uniforms(self, name: str, day: int, person_id: int, n_options: int) -> list[float]:
        """One person's uniform draws for a decision, in plain Python: Streams.uniform at slots id * n + option."""
        key = self._step_keys.get((name, day))
        if key is None:
            salt = ((day + 1) * _GOLDEN) & _MASK
            key = self._step_keys[(name, day)] = _mix_int(int(self.streams._key(name)) ^ salt)
        return [((_mix_int(((person_id * n_options + option) * _GOLDEN + key) & _MASK) >> 12) + 0.5) * _TO_UNIT
                for option in range(n_options)]

    def gumbels(self, day: int, person_id: int) -> tuple[list[float], list[float]]:
        """The person's route and nest Gumbel draws: the same bits as Streams.gumbel, then -log(-log(u)).

        The logs go through numpy (one call for the person's nine draws) because ``math.log`` may
        differ from numpy's vectorised log in the last bit, and then the draws would not be the
        very same numbers bordersim uses.
        """
        u = self.uniforms("route_choice", day, person_id, N_OPTIONS) + self.uniforms("route_choice/nest", day, person_id, 3)
        g = (-np.log(-np.log(np.array(u)))).tolist()
        return g[:N_OPTIONS], g[N_OPTIONS:]

    def choices(self, rec: DayRecord) -> np.ndarray:
        return np.array([self.by_id[pid].choice for pid in rec.ids.tolist()], dtype=np.int8)


def run_naive(source: BorderModel, records: list[DayRecord]) -> tuple[NaiveModel, list[np.ndarray]]:
    """Replay every recorded day with the naive agents; returns the model and each day's choices."""
    naive = NaiveModel(source, records)
    out = []
    for rec in records:
        naive.step()
        out.append(naive.choices(rec))
        naive.day_utilities.append(np.array([naive.by_id[pid].last_utilities for pid in rec.ids.tolist()]))
    return naive, out


# --- the batched kernel on the same workload --------------------------------------


def restore_beliefs(people, rec: DayRecord) -> None:
    """Beliefs about one's relatives as on the recorded day (a turn-back at a port since may have changed them)."""
    if rec.perceived_family is not None:
        people.perceived_family[rec.ids] = rec.perceived_family


def fast_choices(source: BorderModel, rec: DayRecord, with_utilities: bool = False):
    """bordersim's batched choice for one recorded day (:meth:`BorderModel.choose_routes`, as the run made it).

    With ``with_utilities``, returns ``(choices, utility matrix)``.
    """
    util = np.empty((len(rec.ids), N_OPTIONS)) if with_utilities else None
    restore_beliefs(source.people, rec)
    choice = source.choose_routes(rec.day, rec.ids, rec.conditions, rec.aware, rec.known_regime, utilities_out=util)
    return (choice, util) if with_utilities else choice


def check_same_choices(source: BorderModel, records: list[DayRecord]) -> dict:
    """Naive per-agent choices vs bordersim's on the recorded days: counts of decisions and mismatches.

    Also compares the utilities themselves (a stricter test than the choices, which most
    differences in a utility would not flip): ``utility_mismatches`` counts the entries of
    the naive agents' utility vectors that are not the very same double as bordersim's.
    """
    model, naive = run_naive(source, records)
    n = sum(len(r.ids) for r in records)
    mismatches = sum(int(np.count_nonzero(c != r.choices)) for c, r in zip(naive, records))
    kernel = utility = 0
    for rec, u_naive in zip(records, model.day_utilities):
        fast, u_fast = fast_choices(source, rec, with_utilities=True)
        kernel += int(np.count_nonzero(fast != rec.choices))
        utility += int(np.count_nonzero(~((u_naive == u_fast) | (np.isneginf(u_naive) & np.isneginf(u_fast)))))
    return {"decisions": n, "days": len(records), "naive_mismatches": mismatches, "kernel_mismatches": kernel,
            "utility_mismatches": utility,
            "choices": np.bincount(np.concatenate([r.choices for r in records]).astype(np.int64) if records else
                                   np.empty(0, np.int64), minlength=N_OPTIONS).tolist()}
