"""Reception of claimants: shelters in Quebec, emergency places beyond them, transfers to other provinces.

A claimant entering in Quebec who needs a place gets, in order: a shelter
place (PRAIDA and its partners), an emergency place (temporary sites, hotels;
capacity by period), or, once transfers began (2022-06-30), a place in
another province; without transfers, a claimant who finds both full has to
find housing alone (counted, not housed). Stays end on a scheduled day, so
the shelters keep counts of exits per day rather than a per-person state: a
person's stay is a side attribute of the CLAIMANT state, not a state of its own.
"""

from __future__ import annotations

import numpy as np

#: Where a place is.
QUEBEC, OVERFLOW, ELSEWHERE = 0, 1, 2


class Shelters:
    """Occupancy (agent units) of Quebec's shelters, its emergency places, and places in other provinces."""

    def __init__(self, n_days: int):
        self.occupancy = np.zeros(3)
        self._exits = np.zeros((n_days + 1, 3))

    def admit(self, day: int, stays_days: np.ndarray, capacity_quebec: float, capacity_overflow: float,
              transfers_allowed: bool) -> tuple[int, int, int, int]:
        """Place claimants who need it; return (in shelters, in emergency places, transferred, unhoused)."""
        n = len(stays_days)
        if n == 0:
            return 0, 0, 0, 0
        room_q = max(int(capacity_quebec - self.occupancy[QUEBEC]), 0)
        room_o = max(int(capacity_overflow - self.occupancy[OVERFLOW]), 0)
        in_q = min(n, room_q)
        in_o = min(n - in_q, room_o)
        moved = n - in_q - in_o if transfers_allowed else 0
        housed = in_q + in_o + moved
        where = np.full(housed, ELSEWHERE)
        where[:in_q] = QUEBEC
        where[in_q : in_q + in_o] = OVERFLOW
        exits = np.minimum(day + np.maximum(np.rint(stays_days[:housed]).astype(np.int64), 1), len(self._exits) - 1)
        np.add.at(self._exits, (exits, where), 1.0)
        self.occupancy += np.bincount(where, minlength=3)
        return in_q, in_o, moved, n - housed

    def release(self, day: int) -> None:
        self.occupancy -= self._exits[day]
        self._exits[day] = 0.0

    def person_days(self) -> float:
        """Person-days of places provided today (all locations)."""
        return float(self.occupancy.sum())
