"""What people in the US know: the northern routes, and which rules are in force.

Awareness of the routes spreads through each person's contacts (people of
the same nationality first, see :func:`population.build_contacts`) and from
the news. Knowledge of the rules is kept as the index of the rule regime a
person believes is in force: on the day the rules change, a share of people
hear of it in the news (``behaviour.rule_news_reach``, fitted to the fall of
crossings after the 2020 direct-back orders); the others learn from contacts
who know, or by being turned back or returned.
"""

from __future__ import annotations

import numpy as np

from .people import People, State
from .streams import Streams



def contact_counts(people: People, ids: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """For each person in ``ids``, how many of their contacts have ``flag`` true (uint8).

    The hot spot of the weekly spread: one gather of ``k`` bytes per person. Done as
    ``take`` on the flags' bytes and, for the usual eight contacts, one multiply that adds
    the eight 0/1 bytes of a row read as a 64-bit word (the sum lands in the top byte);
    ``count / k`` is then exactly what ``flag[contacts[ids]].mean(axis=1)`` gives.
    """
    rows = np.take(people.contacts, ids, axis=0)
    got = np.take(np.asarray(flag, dtype=bool).view(np.uint8), rows)
    if got.shape[1] == 8:
        return ((got.view(np.uint64)[:, 0] * _BYTE_SUM) >> _TOP_BYTE).astype(np.uint8)
    return got.sum(axis=1, dtype=np.uint8)


_BYTE_SUM = np.uint64(0x0101010101010101)
_TOP_BYTE = np.uint64(56)


def _learn_chance(counts: np.ndarray, k: int, base_rate: float, contact_rate: float, dt_days: int) -> np.ndarray:
    """``1 - exp(-(base + contact_rate * count / k) * dt)`` per person, from a table over the k + 1 counts.

    The table is computed by the same vectorised expression as the per-person one, so each
    entry is the same double as before; only the exp of every person is saved.
    """
    share = np.arange(k + 1) / k
    hazard = base_rate + contact_rate * share if base_rate else contact_rate * share
    table = 1.0 - np.exp(-hazard * dt_days)
    return table[counts]


def _drop_zero_chances(ids: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave out persons whose chance is zero: every draw is > 0, so they could not learn, and since
    each person's draw is read at their own slot, leaving them out changes nobody else's."""
    keep = p > 0
    return (ids, p) if keep.all() else (ids[keep], p[keep])


def spread_awareness(people: People, pool: np.ndarray, streams: Streams, day: int, dt_days: int,
                     news_rate: float, contact_rate: float) -> int:
    """Unaware people in the pool learn of the routes; returns how many learned."""
    unaware = pool[~people.aware[pool]]
    if len(unaware) == 0:
        return 0
    p = _learn_chance(contact_counts(people, unaware, people.aware), people.contacts.shape[1], news_rate,
                      contact_rate, dt_days)
    unaware, p = _drop_zero_chances(unaware, p)
    learn = unaware[streams.uniform("awareness", day, unaware) < p]
    people.aware[learn] = True
    return len(learn)


def news_shock(people: People, pool: np.ndarray, groups: np.ndarray, boost: float, streams: Streams, day: int) -> int:
    """A news event: a share ``boost`` of the unaware in ``groups`` learn of the routes."""
    cand = pool[~people.aware[pool] & groups[people.group[pool]]]
    learn = cand[streams.uniform("news_shock", day, cand) < boost]
    people.aware[learn] = True
    return len(learn)


def rule_news(people: People, ids: np.ndarray, current: int, reach: float, streams: Streams, day: int) -> int:
    """The news of a rule change on the day it takes effect: a share ``reach`` of ``ids`` learn the rules now in force."""
    behind = ids[people.known_regime[ids] != current]
    learn = behind[streams.uniform("rule_news", day, behind) < reach]
    people.known_regime[learn] = current
    return len(learn)


def spread_rules(people: People, pool: np.ndarray, current: int, streams: Streams, day: int, dt_days: int,
                 contact_rate: float) -> int:
    """People who believe an older regime is in force may learn the current one from contacts who know it."""
    behind = pool[people.known_regime[pool] != current]
    if len(behind) == 0:
        return 0
    knows = people.known_regime == current
    p = _learn_chance(contact_counts(people, behind, knows), people.contacts.shape[1], 0.0, contact_rate, dt_days)
    behind, p = _drop_zero_chances(behind, p)
    learn = behind[streams.uniform("rule_knowledge", day, behind) < p]
    people.known_regime[learn] = current
    return len(learn)


def in_pool(people: People, n_entered: int) -> np.ndarray:
    return np.flatnonzero(people.state[:n_entered] == State.US_POOL)
