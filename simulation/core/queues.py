"""First-in, first-out decision queues: the IRB in Canada and US asylum processing.

Both work in agent units (persons × scale). Capacity is a rate; fractional
capacity carries over from day to day, so a queue with 0.3 decisions a day
decides one case every three or four days, as it should.
"""

from __future__ import annotations

import numpy as np


class ClaimQueue:
    """The IRB queue: modelled claimants plus background claims, served in order of arrival.

    Each modelled claimant gets a position on the cumulative arrivals axis;
    background claims (people the model does not follow) only move that axis.
    A claimant is decided once cumulative decisions pass its position.
    """

    def __init__(self, initial_backlog: float = 0.0, max_claims: int = 1024):
        self.arrived = float(initial_backlog)
        self.served = 0.0
        self._ids = np.empty(max_claims, dtype=np.int64)
        self._pos = np.empty(max_claims, dtype=np.float64)
        self._n = 0
        self._head = 0

    @property
    def backlog(self) -> float:
        return self.arrived - self.served

    def add_background(self, n: float) -> None:
        self.arrived += float(n)

    def enqueue(self, ids: np.ndarray) -> None:
        k = len(ids)
        if k == 0:
            return
        if self._n + k > len(self._ids):
            size = max(2 * len(self._ids), self._n + k)
            self._ids = np.resize(self._ids, size)
            self._pos = np.resize(self._pos, size)
        self._ids[self._n : self._n + k] = ids
        self._pos[self._n : self._n + k] = self.arrived + np.arange(1, k + 1)
        self._n += k
        self.arrived += k

    def serve(self, capacity: float) -> tuple[float, np.ndarray]:
        """Decide up to ``capacity`` claims; return (claims decided, ids of modelled claimants decided)."""
        decided = min(max(capacity, 0.0), self.backlog)
        self.served += decided
        end = self._head + int(np.searchsorted(self._pos[self._head : self._n], self.served + 1e-9, side="right"))
        ids = self._ids[self._head : end].copy()
        self._head = end
        return decided, ids

    def pending_ids(self) -> np.ndarray:
        return self._ids[self._head : self._n]


class CaseQueue:
    """US asylum processing: persons decided oldest first, by person id (ids are in order of entry).

    People who leave the pool (to Canada, or giving up) leave holes that are
    skipped. A person returned to the US keeps their place; if their turn
    passed while they were away, they are decided first on their return.
    """

    def __init__(self):
        self.pointer = 0
        self._carry = 0.0
        self._overdue = np.empty(0, dtype=np.int64)

    def rejoin(self, ids: np.ndarray) -> None:
        late = ids[ids < self.pointer]
        if len(late):
            self._overdue = np.concatenate([self._overdue, late])

    def serve(self, capacity: float, state: np.ndarray, pool_state: int, n_entered: int) -> np.ndarray:
        """Ids to decide today: up to ``capacity`` (with carry) of the oldest persons still in the pool
        (``state == pool_state``). Only the part of ``state`` at the pointer is read."""
        self._carry += max(capacity, 0.0)
        want = int(self._carry)
        if want == 0:
            return np.empty(0, dtype=np.int64)
        taken = []
        if len(self._overdue):
            still = self._overdue[state[self._overdue] == pool_state]
            taken.append(still[:want])
            self._overdue = still[want:]
            want -= len(taken[0])
        chunk = max(4 * want, 256)
        while want > 0 and self.pointer < n_entered:
            stop = min(self.pointer + chunk, n_entered)
            ids = self.pointer + np.flatnonzero(state[self.pointer : stop] == pool_state)
            if len(ids) > want:
                ids = ids[:want]
                self.pointer = int(ids[-1]) + 1
            else:
                self.pointer = stop
            taken.append(ids)
            want -= len(ids)
        out = np.concatenate(taken) if taken else np.empty(0, dtype=np.int64)
        self._carry -= len(out)
        if want > 0:  # the pool is empty: unused capacity does not pile up
            self._carry = min(self._carry, 1.0)
        return out
