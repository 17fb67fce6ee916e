"""What people in the US know: the northern routes, and which rules are in force.

Awareness of the routes spreads through each person's contacts (people of
the same nationality first, see :func:`population.build_contacts`) and from
the news. Knowledge of the rules is kept as the index of the rule regime a
person believes is in force: when the rules change, nobody knows on the first
day; people learn from the news (in the 60 days after a change), from
contacts who already know, or by being returned.
"""

from __future__ import annotations

import numpy as np

from .population import People, State
from .randomness import Streams

RULE_NEWS_DAYS = 60


def share_of_contacts(people: People, ids: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """For each person in ``ids``, the share of their contacts for whom ``flag`` is true."""
    return flag[people.contacts[ids]].mean(axis=1)


def spread_awareness(people: People, pool: np.ndarray, streams: Streams, day: int, dt_days: int,
                     news_rate: float, contact_rate: float) -> int:
    """Unaware people in the pool learn of the routes; returns how many learned."""
    unaware = pool[~people.aware[pool]]
    if len(unaware) == 0:
        return 0
    hazard = news_rate + contact_rate * share_of_contacts(people, unaware, people.aware)
    p = 1.0 - np.exp(-hazard * dt_days)
    learn = unaware[streams.uniform("awareness", day, unaware) < p]
    people.aware[learn] = True
    return len(learn)


def news_shock(people: People, pool: np.ndarray, groups: np.ndarray, boost: float, streams: Streams, day: int) -> int:
    """A news event: a share ``boost`` of the unaware in ``groups`` learn of the routes."""
    cand = pool[~people.aware[pool] & groups[people.group[pool]]]
    learn = cand[streams.uniform("news_shock", day, cand) < boost]
    people.aware[learn] = True
    return len(learn)


def spread_rules(people: People, pool: np.ndarray, current: int, days_since_change: int, streams: Streams,
                 day: int, dt_days: int, news_rate: float, contact_rate: float) -> int:
    """People who believe an older regime is in force may learn the current one."""
    behind = pool[people.known_regime[pool] != current]
    if len(behind) == 0:
        return 0
    knows = people.known_regime == current
    hazard = contact_rate * share_of_contacts(people, behind, knows)
    if days_since_change < RULE_NEWS_DAYS:
        hazard = hazard + news_rate
    p = 1.0 - np.exp(-hazard * dt_days)
    learn = behind[streams.uniform("rule_knowledge", day, behind) < p]
    people.known_regime[learn] = current
    return len(learn)


def in_pool(people: People, n_entered: int) -> np.ndarray:
    return np.flatnonzero(people.state[:n_entered] == State.US_POOL)
