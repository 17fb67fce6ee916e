"""The fused decision kernel: a day's route choices in one compiled pass over the deciders.

:meth:`BorderModel.choose_routes` used to build the choice from numpy passes: nine
Gumbel draws per decider (an ``(n, 9)`` array of uint64 then floats), an ``(n, 6)``
utility matrix built column by column with boolean-mask copies, ``column_stack``, a
masked log-sum-exp and two ``argmax`` passes; about forty full passes over the day's
deciders and as many temporaries. Here each decider is handled once, in registers:
read the person's attributes, compute the six utilities (the very formula of
:func:`simulation.core.choice.utilities`, operation for operation, so every utility
is the same double), draw the nest's three Gumbels and, only when the person goes
north, the four routes' Gumbels, and choose.

Why numba: the per-person work branches (which options are open, which regime the
person believes, whether the route draws are needed at all) and numpy can express
it only with masks over whole arrays, i.e. the passes and temporaries above. A
compiled loop is the only way to do it in one pass; numba is a well-kept compiler
that needs no toolchain at install time.

Common random numbers are unchanged: a draw is the SplitMix64 hash of the stream's
key, the day and the person's slot (``id * 6 + option``, ``id * 3 + nest``), exactly
as :meth:`Streams.gumbel` computes it; whoever else decides, a person reads the
same bits. Draws that are not needed are simply not computed (they never influenced
a choice: ``route_choice`` slots 0 and 5, and the route slots of people who stay or
leave).

Exactness. The integer hash, the uniforms and the utilities are bit-identical to
the numpy path. ``log`` and ``exp`` are not: numpy uses its own SIMD functions
(AVX-512 on this machine), numba the C library's, and the two differ in the last
bit for ~0.4 % of logs and ~5 % of exps, so a Gumbel draw or an inclusive value may
differ by ~1e-15. Such a difference can change a choice only if the two best
options are within it of each other. The kernel therefore checks every decision's
margin (best minus second best, at the nest and among the routes); a decision whose
margin is below :data:`TIE_MARGIN` (1e-9, a million times the largest difference)
is recomputed with numpy's own functions (:func:`reference_choices`, on those
deciders only: their draws do not depend on who else decides). Choices are hence
the numpy path's, always; in practice the fallback runs for about one decider in a
billion.

float32: money, risk tolerance and the taste are stored as float32 (as before);
the arithmetic is float64, which costs nothing in a scalar loop whose time is
spent in ``log``/``exp`` and the hash, and keeps every utility the same double.
"""

from __future__ import annotations

import numpy as np

from . import rules as R
from ..scenario.groups import group_mask
from .choice import Conditions, Deciders, Option, choose, claim_chance, utilities

try:  # numba is a dependency; without it (an odd install) the numpy path is used
    import numba
except ImportError:  # pragma: no cover
    numba = None

#: a decision whose best and second-best values are closer than this is recomputed with numpy's log/exp
TIE_MARGIN = 1e-9
_ROUTES = (Option.PORT, Option.ROXHAM, Option.IRREGULAR, Option.AIR)
_GOLDEN = 0x9E3779B97F4A7C15


def available() -> bool:
    return numba is not None


# --- the compiled kernel ------------------------------------------------------------

if numba is not None:
    _M1 = np.uint64(0xBF58476D1CE4E5B9)
    _M2 = np.uint64(0x94D049BB133111EB)
    _G = np.uint64(_GOLDEN)
    _U30, _U27, _U31, _U12 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(12)
    _U6, _U3 = np.uint64(6), np.uint64(3)
    _TO_UNIT = 1.0 / float(1 << 52)

    @numba.njit(inline="always")
    def _uniform(slot, key):
        z = slot * _G + key
        z ^= z >> _U30
        z *= _M1
        z ^= z >> _U27
        z *= _M2
        z ^= z >> _U31
        return (float(z >> _U12) + 0.5) * _TO_UNIT

    @numba.njit(inline="always")
    def _gumbel(slot, key):
        return -np.log(-np.log(_uniform(slot, key)))

    #: deciders gathered per chunk: the gather loop has independent loads only, so the memory
    #: system fetches many persons' records at once; the compute loop then reads them from L1
    _CHUNK = 256

    @numba.njit(cache=True, nogil=True)
    def _decide(ids, by_id, person, origin, aware_src, known_src, perceived_family,
                p_us, p_ca, affinity, stay_chance,
                exc_mask, needs_visa, claim, roxham_open, hides,
                asc, cost, risk, w_protection, wait_us, wait_ca, reception, w_return, w_hiding, asc_leave, lam,
                key_route, key_nest, tie, choice, util, want_util, flagged):
        n = ids.shape[0]
        n_flagged = 0
        ninf = -np.inf
        log4 = np.log(4.0)
        inv_lam = 1.0 / lam
        v = np.empty(4)
        x = np.empty(4)
        rec = np.empty(_CHUNK, dtype=person.dtype)
        aw = np.empty(_CHUNK, dtype=np.bool_)
        kn = np.empty(_CHUNK, dtype=np.int64)
        pf = np.empty(_CHUNK, dtype=np.bool_)
        for c0 in range(0, n, _CHUNK):
            c1 = min(n, c0 + _CHUNK)
            for i in range(c0, c1):
                pid = ids[i]
                j = pid if by_id else i
                rec[i - c0] = person[pid]
                aw[i - c0] = aware_src[j]
                kn[i - c0] = known_src[j]
                pf[i - c0] = perceived_family[pid]
            for i in range(c0, c1):
                pid = ids[i]
                r0 = rec[i - c0]
                g = r0.group
                k = kn[i - c0]
                aware = aw[i - c0]
                flags = r0.flags
                hc = (flags & 1) != 0
                doc = (flags & 4) != 0
                # believed exceptions, under the exceptions the person believes exist
                exc = ((exc_mask[k, 0] and pf[i - c0]) or (exc_mask[k, 1] and (flags & 2) != 0)
                       or (exc_mask[k, 2] and doc) or (exc_mask[k, 3] and (flags & 8) != 0))
                e = 1 if exc else 0
                fly = (not needs_visa[k, g]) or doc
                # choice.utilities, operation for operation (so every utility is the same double)
                p_stay = p_us[g] if hc else stay_chance[origin[pid]]
                stay = w_protection * p_stay - wait_us * (1.0 if hc else 0.0)
                canada = w_protection * p_ca[g] - wait_ca + reception
                returned = stay - w_return
                hh = 1.0 + 0.25 * (float(r0.household) - 1.0)
                t = float(r0.taste) + affinity[g]
                m = float(r0.money)
                rt = float(r0.risk_tolerance)
                # for the choice alone, one division each (within ulps of the utilities' own arithmetic, far
                # inside the tie margin); the utilities themselves, when asked for, operation for operation
                per_m = hh / m
                per_rt = hh / rt
                mx = ninf
                n_open = 0
                for r in range(4):
                    if (r < 3 and aware and (r != 1 or roxham_open[k])) or (r == 3 and fly):
                        p = claim[k, r, e]
                        val = asc[r] + p * (canada + t) + (1.0 - p) * returned
                        if want_util:
                            val -= cost[r] * hh / m
                            val -= risk[r] * hh / rt
                        else:
                            val -= cost[r] * per_m
                            val -= risk[r] * per_rt
                        if r == 2 and hides[k]:
                            val -= w_hiding * (1.0 - (1.0 if exc else 0.0))
                        v[r] = val
                        x[r] = val * inv_lam  # within an ulp of val / lam: far inside the tie margin
                        if x[r] > mx:
                            mx = x[r]
                        n_open += 1
                    else:
                        v[r] = ninf
                        x[r] = ninf
                if want_util:
                    util[i, 0] = stay
                    for r in range(4):
                        util[i, 1 + r] = v[r]
                    util[i, 5] = asc_leave
                # the nest: stay, lam * logsumexp(V / lam), leave; each plus its own Gumbel draw. A draw g is
                # computed (two logs) only when it may matter: g <= c whenever u <= 1 - exp(-c) (as
                # exp(-y) >= 1 - y), so an option whose bound plus c stays below the best by the tie margin
                # is left out after one exp (1e-15 guards the rounding of that threshold)
                base = np.uint64(pid) * _U3
                a0 = stay + _gumbel(base, key_nest)
                best, second, nest = a0, ninf, 0
                u2 = _uniform(base + np.uint64(2), key_nest)
                c2 = a0 - asc_leave - tie
                if not (c2 > 0.0 and u2 <= 1.0 - np.exp(-c2) - 1e-15):
                    a2 = asc_leave - np.log(-np.log(u2))
                    if a2 > best:
                        best, second, nest = a2, best, 2
                    else:
                        second = a2
                if n_open > 0:
                    # the inclusive value is at most lam * (max + log(number open)) <= lam * (max + log 4)
                    ivmax = lam * (mx + log4)
                    c1 = best - ivmax - tie
                    u1 = _uniform(base + np.uint64(1), key_nest)
                    if not (c1 > 0.0 and u1 <= 1.0 - np.exp(-c1) - 1e-15):
                        g1 = -np.log(-np.log(u1))
                        if ivmax + g1 > best - tie:
                            s = np.exp(x[0] - mx)
                            for r in range(1, 4):
                                s += np.exp(x[r] - mx)
                            a1 = lam * (mx + np.log(s)) + g1
                            if a1 > best:
                                best, second, nest = a1, best, 1
                            elif a1 > second:
                                second = a1
                close = best - second < tie
                if nest == 0:
                    choice[i] = 0
                elif nest == 2:
                    choice[i] = 5
                else:
                    base = np.uint64(pid) * _U6
                    best, second = ninf, ninf
                    pick = 0
                    for r in range(4):
                        if v[r] > ninf:
                            y = x[r] + _gumbel(base + np.uint64(r + 1), key_route)
                            if y > best:
                                second, best, pick = best, y, r
                            elif y > second:
                                second = y
                    choice[i] = pick + 1
                    if best - second < tie:
                        close = True
                if close:
                    flagged[n_flagged] = i
                    n_flagged += 1
        return n_flagged

    @numba.njit(cache=True, nogil=True)
    def _group_by_option(ids, choice, n_options):
        """Ids grouped by option, ascending within each (as ``ids[choice == o]`` for each o), and the group starts."""
        counts = np.zeros(n_options + 1, dtype=np.int64)
        for i in range(choice.shape[0]):
            counts[choice[i] + 1] += 1
        for o in range(n_options):
            counts[o + 1] += counts[o]
        out = np.empty_like(ids)
        fill = counts[:n_options].copy()
        for i in range(choice.shape[0]):
            o = choice[i]
            out[fill[o]] = ids[i]
            fill[o] += 1
        return out, counts


# --- the per-model tables -------------------------------------------------------------


class _Tables:
    """What the kernel needs of the rule regimes a model's people may believe (built once per regime list)."""

    def __init__(self, model):
        regimes = model.regimes
        ca = model.spec.canada
        k = len(regimes)
        self.regimes = regimes
        self.exc_mask = np.zeros((k, 4), dtype=np.bool_)
        self.needs_visa = np.zeros((k, len(model.p_us)), dtype=np.bool_)
        self.claim = np.zeros((k, 4, 2))
        self.roxham_open = np.zeros(k, dtype=np.bool_)
        self.hides = np.zeros(k, dtype=np.bool_)
        for i, rules in enumerate(regimes):
            for j, name in enumerate(("family", "unaccompanied_minor", "document_holder", "public_interest")):
                self.exc_mask[i, j] = name in rules.exceptions
            self.needs_visa[i] = np.array(group_mask(rules.visa_required), dtype=bool)
            for r, option in enumerate(_ROUTES):
                # the claim chance for a person without and with an exception: choice.claim_chance itself
                self.claim[i, r] = claim_chance(rules, option, np.array([False, True]), ca.ineligibility_rate)
            self.roxham_open[i] = R.roxham_is_open(rules)
            self.hides[i] = rules.stca_between_ports
        self.p_ca = np.ascontiguousarray(model.p_ca, dtype=np.float64)
        self.p_us = np.ascontiguousarray(model.p_us, dtype=np.float64)
        self.affinity = np.ascontiguousarray(model.group_affinity, dtype=np.float64)
        self.stay_chance = np.ascontiguousarray(model.stay_chance, dtype=np.float64)


#: a person's fixed attributes the choice reads, packed in 16 bytes (one cache line holds four persons)
PERSON = np.dtype([("money", "<f4"), ("risk_tolerance", "<f4"), ("taste", "<f4"), ("household", "<i2"),
                   ("group", "i1"), ("flags", "u1")])
_HAS_CASE, _MINOR, _DOCUMENT, _PUBLIC = 1, 2, 4, 8


def person_records(model) -> np.ndarray:
    """The people's fixed attributes as :data:`PERSON` records (made once per model, then kept)."""
    p = model.people
    rec = getattr(model, "_kernel_people", None)
    if rec is not None and len(rec) == len(p) and getattr(model, "_kernel_people_of", None) is p:
        return rec
    rec = np.empty(len(p), dtype=PERSON)
    rec["money"], rec["risk_tolerance"], rec["taste"] = p.money, p.risk_tolerance, p.north_taste
    rec["household"], rec["group"] = p.household_size, p.group
    rec["flags"] = (p.has_case * _HAS_CASE | p.unaccompanied_minor * _MINOR | p.document_holder * _DOCUMENT
                    | p.public_interest * _PUBLIC)
    model._kernel_people, model._kernel_people_of = rec, p
    return rec


def tables(model) -> _Tables:
    t = getattr(model, "_kernel_tables", None)
    if t is None or t.regimes is not model.regimes:
        t = model._kernel_tables = _Tables(model)
    return t


def _step_key(streams, name: str, step: int) -> np.uint64:
    salt = ((int(step) + 1) * _GOLDEN) & 0xFFFFFFFFFFFFFFFF
    return streams._step_key(name, salt)


# --- the entry points -------------------------------------------------------------------


def choose_routes(model, d: int, ids: np.ndarray, cond: Conditions, aware: np.ndarray | None = None,
                  known_regime: np.ndarray | None = None, utilities_out: np.ndarray | None = None) -> np.ndarray:
    """:meth:`BorderModel.choose_routes` through the kernel: the same choices, the same utilities."""
    p = model.people
    b, routes = model.spec.behaviour, model.spec.routes
    t = tables(model)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n = len(ids)
    streams = model.streams
    if streams._drawn is not None:  # guard mode: the draws count as read, as with Streams.gumbel
        streams._check_fresh("route_choice", d, ids)
        streams._check_fresh("route_choice/nest", d, ids)
    by_id = aware is None
    if by_id != (known_regime is None):
        aware = p.aware[ids] if aware is None else aware
        known_regime = p.known_regime[ids] if known_regime is None else known_regime
        by_id = False
    aware_src = p.aware if by_id else np.ascontiguousarray(aware, dtype=np.bool_)
    known_src = p.known_regime if by_id else np.ascontiguousarray(known_regime, dtype=p.known_regime.dtype)
    asc = np.array([b.asc_port, b.asc_roxham, b.asc_irregular, b.asc_air])
    cost = np.array([b.w_cost * c for c in (routes.cost_port_usd, routes.cost_roxham_usd, routes.cost_irregular_usd,
                                            routes.cost_air_usd)])
    risk = np.array([b.w_risk * (r * 1000.0) for r in (0.0, cond.death_risk_roxham, cond.death_risk_irregular, 0.0)])
    choice = np.empty(n, dtype=np.int8)
    want = utilities_out is not None
    util = utilities_out if want else np.empty((0, 6))
    flagged = np.empty(n, dtype=np.int64)
    n_flagged = _decide(
        ids, by_id, person_records(model), p.origin, aware_src, known_src, p.perceived_family,
        t.p_us, t.p_ca, t.affinity, t.stay_chance, t.exc_mask, t.needs_visa, t.claim, t.roxham_open, t.hides,
        asc, cost, risk, b.w_protection, b.w_wait * cond.wait_us_years, b.w_wait * cond.wait_ca_years,
        b.w_reception * cond.reception_room, b.w_return, b.w_hiding, b.asc_leave, b.nest_scale,
        _step_key(streams, "route_choice", d), _step_key(streams, "route_choice/nest", d), TIE_MARGIN,
        choice, util, want, flagged)
    model.kernel_ties = getattr(model, "kernel_ties", 0) + n_flagged
    if n_flagged:
        sel = flagged[:n_flagged]
        a = aware_src[ids[sel]] if by_id else aware_src[sel]
        k = known_src[ids[sel]] if by_id else known_src[sel]
        choice[sel] = reference_choices(model, d, ids[sel], cond, a, k)
    return choice


def reference_choices(model, d: int, ids: np.ndarray, cond: Conditions, aware: np.ndarray, known_regime: np.ndarray,
                      utilities_out: np.ndarray | None = None) -> np.ndarray:
    """The numpy path (:func:`choice.utilities` and :func:`choice.choose`, numpy's log and exp), for any deciders.

    The draws are read without the stream guard: on the kernel's fallback they were counted already.
    """
    p = model.people
    b, routes, ca = model.spec.behaviour, model.spec.routes, model.spec.canada
    group = p.group[ids]
    has_case = p.has_case[ids]
    p_stay = np.where(has_case, model.p_us[group], model.stay_chance[p.origin[ids]])
    choice = np.empty(len(ids), dtype=np.int8)
    gumbel = _gumbels(model.streams, "route_choice", d, ids, len(Option))
    nest_gumbel = _gumbels(model.streams, "route_choice/nest", d, ids, 3)
    for k in np.unique(known_regime):
        sel = np.flatnonzero(known_regime == k)
        believed = model.regimes[k]
        sub = ids[sel]
        needs_visa = np.array(group_mask(believed.visa_required))[group[sel]]
        deciders = Deciders(
            has_exception=model._exceptions(believed, sub, believed=True),
            has_case=has_case[sel],
            aware=aware[sel],
            can_fly=R.can_fly(believed, needs_visa, p.document_holder[sub]),
            p_us=p_stay[sel],
            p_ca=model.p_ca[group[sel]],
            money=p.money[sub].astype(float),
            risk_tolerance=p.risk_tolerance[sub].astype(float),
            household_size=p.household_size[sub].astype(float),
            north_taste=p.north_taste[sub] + model.group_affinity[group[sel]],
        )
        u = utilities(believed, deciders, cond, b, routes, ca.ineligibility_rate)
        choice[sel] = choose(u, gumbel[sel], nest_gumbel[sel], b.nest_scale)
        if utilities_out is not None:
            utilities_out[sel] = u
    return choice


def _gumbels(streams, name: str, step: int, ids: np.ndarray, n_options: int) -> np.ndarray:
    """:meth:`Streams.gumbel` without the guard (the same bits, the same numpy logs)."""
    ids = np.asarray(ids, dtype=np.uint64)
    slots = ids[:, None] * np.uint64(n_options) + np.arange(n_options, dtype=np.uint64)[None, :]
    g = streams._unit(name, step, slots)
    return -np.log(-np.log(g))


def group_by_option(ids: np.ndarray, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(grouped ids, starts)``: the ids choosing option ``o`` are ``grouped[starts[o]:starts[o + 1]]``, ascending."""
    if numba is None:  # pragma: no cover
        order = np.argsort(choice, kind="stable")
        starts = np.searchsorted(choice[order], np.arange(len(Option) + 1))
        return ids[order], starts
    return _group_by_option(np.ascontiguousarray(ids), np.ascontiguousarray(choice), len(Option))


# --- the weekly spread of information ------------------------------------------------------

if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _spread(n_entered, state, pool_state, only_pool, values, target, contacts, table, key, learned, drawn, record):
        """Who learns: among persons ``i < n_entered`` (in the pool, if ``only_pool``) whose ``values[i] != target``,
        those whose draw is below ``table[number of contacts with values == target]``. Nobody's value changes
        here (the caller sets them after), so everyone's count is taken on the same state.

        Who knows is first packed into a bitset (one bit per person: 450 KB for 3.6 million, which stays in
        the core's cache), so the eight random reads per person hit the cache rather than memory."""
        n_words = (n_entered + 63) >> 6
        knows = np.zeros(max(n_words, 1), dtype=np.uint64)
        for i in range(n_entered):
            if values[i] == target:
                knows[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
        n_learned = 0
        n_drawn = 0
        k = contacts.shape[1]
        for i in range(n_entered):
            if only_pool and state[i] != pool_state:
                continue
            if (knows[i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
                continue
            c = 0
            for j in range(k):
                q = contacts[i, j]
                c += (knows[q >> 6] >> np.uint64(q & 63)) & np.uint64(1)
            p = table[c]
            if p > 0:
                if record:
                    drawn[n_drawn] = i
                    n_drawn += 1
                if _uniform(np.uint64(i), key) < p:
                    learned[n_learned] = i
                    n_learned += 1
        return n_learned, n_drawn


def _learn_table(k: int, base_rate: float, contact_rate: float, dt_days: int) -> np.ndarray:
    """:func:`information._learn_chance`'s table (the same doubles)."""
    share = np.arange(k + 1) / k
    hazard = base_rate + contact_rate * share if base_rate else contact_rate * share
    return 1.0 - np.exp(-hazard * dt_days)


def _spread_call(people, n_entered, only_pool, values, target, table, streams, name, day) -> np.ndarray:
    from .people import State

    guard = streams._drawn is not None
    learned = np.empty(n_entered, dtype=np.int64)
    drawn = np.empty(n_entered if guard else 0, dtype=np.int64)
    n_learned, n_drawn = _spread(n_entered, people.state, np.uint8(State.US_POOL), only_pool, values, target,
                                 people.contacts, table, _step_key(streams, name, day), learned, drawn, guard)
    if guard:
        streams._check_fresh(name, day, drawn[:n_drawn])
    return learned[:n_learned]


def spread_awareness(people, n_entered: int, streams, day: int, dt_days: int, news_rate: float,
                     contact_rate: float) -> int:
    """:func:`information.spread_awareness` over the pool (``in_pool``) in one pass: the same learners."""
    table = _learn_table(people.contacts.shape[1], news_rate, contact_rate, dt_days)
    learn = _spread_call(people, n_entered, True, people.aware.view(np.uint8), np.uint8(1), table, streams,
                         "awareness", day)
    people.aware[learn] = True
    return len(learn)


def spread_rules(people, n_entered: int, current: int, streams, day: int, dt_days: int, contact_rate: float) -> int:
    """:func:`information.spread_rules` over everyone who entered, in one pass: the same learners."""
    table = _learn_table(people.contacts.shape[1], 0.0, contact_rate, dt_days)
    known = people.known_regime
    learn = _spread_call(people, n_entered, False, known, known.dtype.type(current), table, streams,
                         "rule_knowledge", day)
    known[learn] = current
    return len(learn)


# --- the decision calendar -------------------------------------------------------------------

if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _file(ids, days, start, head, tail, store, nxt, fill, free, n_free):
        """File ``ids[i]`` under ``days[i]`` from ``i = start``; returns (where it stopped, free blocks left)."""
        block = store.shape[1]
        n_days = head.shape[0]
        for i in range(start, ids.shape[0]):
            day = days[i]
            if day < 0 or day >= n_days:
                continue  # past the horizon: never due
            b = tail[day]
            if b < 0 or fill[b] == block:
                if n_free == 0:
                    return i, n_free
                n_free -= 1
                nb = free[n_free]
                nxt[nb] = -1
                fill[nb] = 0
                if b < 0:
                    head[day] = nb
                else:
                    nxt[b] = nb
                tail[day] = nb
                b = nb
            store[b, fill[b]] = ids[i]
            fill[b] += 1
        return ids.shape[0], n_free

    @numba.njit(cache=True, nogil=True)
    def _take(day, head, tail, store, nxt, fill, free, n_free, state, pool_state, next_decision, bits):
        """The ids filed under ``day`` still due that day (in the pool, not rescheduled), ascending; frees the
        day's blocks. Sorted by marking each id in a bitmap of all persons (``bits``, left all zero) and reading
        the marked words in order: O(entries + persons / 64), a counting sort; the check of who is still due
        is made in that ascending order, where the reads of state and next decision day are near each other."""
        n = 0
        lo, hi = bits.shape[0], -1
        b = head[day]
        while b >= 0:
            for j in range(fill[b]):
                pid = store[b, j]
                w = pid >> 6
                bits[w] |= np.uint64(1) << np.uint64(pid & 63)
                if w < lo:
                    lo = w
                if w > hi:
                    hi = w
                n += 1
            free[n_free] = b
            n_free += 1
            b = nxt[b]
        head[day] = -1
        tail[day] = -1
        out = np.empty(n, dtype=np.int64)
        k = 0
        for w in range(lo, hi + 1):
            word = bits[w]
            if word:
                bits[w] = 0
                for j in range(64):
                    if word & (np.uint64(1) << np.uint64(j)):
                        pid = (w << 6) + j
                        if state[pid] == pool_state and next_decision[pid] == day:
                            out[k] = pid
                            k += 1
        return out[:k], n_free


class DecisionCalendar:
    """Who reconsiders on which day: for each day a chain of fixed-size blocks of person ids.

    Filing n persons is one compiled pass (no sort, no Python per day); taking a day's
    deciders walks its blocks, drops the entries gone stale (the person left the pool or
    was rescheduled since), and frees the blocks for reuse. Memory: one slot per filed
    entry plus at most one part-filled block per pending day.
    """

    BLOCK = 512

    def __init__(self, n_days: int, blocks: int = 64):
        self.head = np.full(n_days + 1, -1, dtype=np.int32)
        self.tail = np.full(n_days + 1, -1, dtype=np.int32)
        self.store = np.zeros((blocks, self.BLOCK), dtype=np.int64)
        self.next = np.full(blocks, -1, dtype=np.int32)
        self.fill = np.zeros(blocks, dtype=np.int32)
        self.free = np.arange(blocks - 1, -1, -1, dtype=np.int32)
        self.n_free = blocks

    def _grow(self) -> None:
        old = len(self.next)
        new = 2 * old
        store = np.zeros((new, self.BLOCK), dtype=np.int64)
        store[:old] = self.store
        self.store = store
        self.next = np.concatenate([self.next, np.full(new - old, -1, dtype=np.int32)])
        self.fill = np.concatenate([self.fill, np.zeros(new - old, dtype=np.int32)])
        free = np.empty(new, dtype=np.int32)
        free[: self.n_free] = self.free[: self.n_free]
        free[self.n_free : self.n_free + new - old] = np.arange(new - 1, old - 1, -1, dtype=np.int32)
        self.free = free
        self.n_free += new - old

    def add(self, ids: np.ndarray, days: np.ndarray) -> None:
        """File each of ``ids`` under its day in ``days``."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        days = np.ascontiguousarray(days, dtype=np.int64)
        i = 0
        while True:
            i, self.n_free = _file(ids, days, i, self.head, self.tail, self.store, self.next, self.fill, self.free,
                                   self.n_free)
            if i >= len(ids):
                return
            self._grow()

    def take(self, day: int, state: np.ndarray, pool_state: int, next_decision: np.ndarray) -> np.ndarray:
        """The persons filed under ``day`` who are still in the pool and due that day, ascending (each once)."""
        if day >= len(self.head) or self.head[day] < 0:
            return np.empty(0, dtype=np.int64)
        bits = getattr(self, "_bits", None)
        if bits is None or len(bits) * 64 < len(state):
            bits = self._bits = np.zeros((len(state) + 63) // 64, dtype=np.uint64)
        out, self.n_free = _take(day, self.head, self.tail, self.store, self.next, self.fill, self.free, self.n_free,
                                 state, np.uint8(pool_state), next_decision, bits)
        return out
