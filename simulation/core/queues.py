"""First-in, first-out decision queues: claims in Canada (IRCC's referral, then the IRB) and US asylum processing.

Both work in agent units (persons × scale). Capacity is a rate; fractional
capacity carries over from day to day, so a queue with 0.3 decisions a day
decides one case every three or four days, as it should.
"""

from __future__ import annotations

import numpy as np


class ClaimPipeline:
    """A claim's way through Canada: IRCC completes and refers it, then the IRB decides it, first in, first out.

    Claims line up on one axis in the order they are made: modelled claimants each get a position, the
    claims of people the model does not follow (airport and inland claims) only move the axis. Two
    cumulative counters run along it: claims *referred* to the IRB (IRCC's front end, with its own
    capacity) and claims *decided* by the IRB. A claimant is referred once ``referred`` passes its
    position and decided once ``decided`` does. Claims made in Quebec are kept as intervals of the
    axis, so the number of claimants in Quebec with a claim pending is known at any time.
    """

    def __init__(self, initial_backlog: float = 0.0, max_claims: int = 1024):
        # the initial IRB backlog: already referred, not in Quebec's count (its location is not known)
        self.arrived = self.referred = float(initial_backlog)
        self.decided = 0.0
        self._ids = np.empty(max_claims, dtype=np.int64)
        self._pos = np.empty(max_claims, dtype=np.float64)
        self._n = self._head = 0
        self._quebec: list[tuple[float, float]] = []  # (start, end] of claims made in Quebec, in order
        self._quebec_arrived = 0.0
        self._quebec_decided = 0.0
        self._quebec_head = 0
        self._quebec_mark = 0.0  # how far along the current Quebec interval decisions have counted

    @property
    def irb_backlog(self) -> float:
        """Claims referred to the IRB and not yet decided."""
        return self.referred - self.decided

    @property
    def referral_backlog(self) -> float:
        """Claims made and not yet referred."""
        return self.arrived - self.referred

    @property
    def quebec_pending(self) -> float:
        """Claims made in Quebec and not yet decided (claimants living in Quebec, as a first approximation)."""
        return max(self._quebec_arrived - self._quebec_decided, 0.0)  # never below 0 through rounding

    def add(self, n: float, quebec: bool = False) -> None:
        """``n`` claims of people the model does not follow."""
        if n > 0:
            self._mark_quebec(n, quebec)
            self.arrived += float(n)

    def enqueue(self, ids: np.ndarray, quebec: np.ndarray | None = None) -> None:
        """Modelled claimants, in the order given (``quebec``: which of them claimed in Quebec)."""
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
        if quebec is not None:
            # runs of consecutive Quebec claimants become intervals
            q = np.flatnonzero(quebec)
            if len(q):
                cuts = np.flatnonzero(np.diff(q) > 1) + 1
                for run in np.split(q, cuts):
                    self._quebec.append((self.arrived + run[0], self.arrived + run[-1] + 1))
                    self._quebec_arrived += len(run)
        self.arrived += k

    def _mark_quebec(self, n: float, quebec: bool) -> None:
        if quebec:
            self._quebec.append((self.arrived, self.arrived + n))
            self._quebec_arrived += n

    def refer(self, capacity: float) -> float:
        """IRCC refers up to ``capacity`` claims to the IRB; returns how many."""
        n = min(max(capacity, 0.0), self.referral_backlog)
        self.referred += n
        return n

    def decide(self, capacity: float) -> tuple[float, np.ndarray]:
        """The IRB decides up to ``capacity`` referred claims; return (claims decided, ids of modelled claimants decided)."""
        n = min(max(capacity, 0.0), self.irb_backlog)
        self.decided += n
        end = self._head + int(np.searchsorted(self._pos[self._head : self._n], self.decided + 1e-9, side="right"))
        ids = self._ids[self._head : end].copy()
        self._head = end
        # Quebec claims whose interval the decided counter has passed (a partial interval counts in part)
        while self._quebec_head < len(self._quebec):
            lo, hi = self._quebec[self._quebec_head]
            if self.decided >= hi:
                self._quebec_decided += hi - max(lo, self._quebec_mark)
                self._quebec_mark = hi
                self._quebec_head += 1
                continue
            if self.decided > lo:
                done = self.decided - max(lo, self._quebec_mark)
                self._quebec_decided += done
                self._quebec_mark = self.decided
            break
        return n, ids

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
        """Persons with a case who are back in the US (returned from Canada)."""
        late = ids[ids < self.pointer]
        if len(late):
            self._overdue = np.concatenate([self._overdue, late])

    def serve(self, capacity: float, state: np.ndarray, pool_state: int, n_entered: int,
              has_case: np.ndarray | None = None) -> np.ndarray:
        """Ids to decide today: up to ``capacity`` (with carry) of the oldest persons still in the pool
        (``state == pool_state``) who have a case (``has_case``, default: all). Only the part of ``state``
        at the pointer is read."""
        self._carry += max(capacity, 0.0)
        want = int(self._carry)
        if want == 0:
            return np.empty(0, dtype=np.int64)
        taken = []
        if len(self._overdue):
            still = self._overdue[state[self._overdue] == pool_state]  # rejoin() takes only persons with a case
            taken.append(still[:want])
            self._overdue = still[want:]
            want -= len(taken[0])
        chunk = max(4 * want, 256)
        while want > 0 and self.pointer < n_entered:
            stop = min(self.pointer + chunk, n_entered)
            waiting = state[self.pointer : stop] == pool_state
            if has_case is not None:
                waiting &= has_case[self.pointer : stop]
            ids = self.pointer + np.flatnonzero(waiting)
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
