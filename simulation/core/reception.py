"""Reception of claimants: shelter places in Quebec, transfers to other provinces, cost.

Stays end on a scheduled day, so the shelter keeps counts of exits per day
rather than a per-person state; a person's shelter stay is a side attribute
of the CLAIMANT state, not a state of its own.
"""

from __future__ import annotations

import numpy as np

QUEBEC, ELSEWHERE = 0, 1


class Shelters:
    """Shelter occupancy (agent units) in Quebec and in other provinces."""

    def __init__(self, n_days: int):
        self.occupancy = np.zeros(2)
        self._exits = np.zeros((n_days + 1, 2))

    def admit(self, day: int, stays_days: np.ndarray, capacity_quebec: float, transfers_allowed: bool) -> tuple[int, int]:
        """Admit claimants entering in Quebec who need a place; return (housed in Quebec, transferred out).

        While Quebec has room they stay; when it is full they are transferred
        if transfers are allowed, otherwise Quebec houses them over capacity.
        """
        n = len(stays_days)
        if n == 0:
            return 0, 0
        room = max(int(capacity_quebec - self.occupancy[QUEBEC]), 0)
        in_quebec = n if not transfers_allowed else min(n, room)
        exits = np.minimum(day + np.maximum(np.rint(stays_days).astype(np.int64), 1), len(self._exits) - 1)
        where = np.where(np.arange(n) < in_quebec, QUEBEC, ELSEWHERE)
        np.add.at(self._exits, (exits, where), 1.0)
        self.occupancy[QUEBEC] += in_quebec
        self.occupancy[ELSEWHERE] += n - in_quebec
        return in_quebec, n - in_quebec

    def release(self, day: int) -> None:
        self.occupancy -= self._exits[day]
        self._exits[day] = 0.0

    def person_days(self) -> float:
        """Person-days of shelter provided today (both locations)."""
        return float(self.occupancy.sum())
