"""Counting what happens: the day's counts, added into the month, closed into one row per month.

Flows are summed over the month's days; stocks are read on the month's last
day (see :mod:`simulation.core.columns`). Everything is in persons: agent
counts divided by the scale. Each closed month is collected by the model's
Mesa ``DataCollector``, whose model variables are the rows of ``monthly.csv``.
"""

from __future__ import annotations

from functools import partial

import mesa
import numpy as np

from ..calendar import month_key
from ..scenario.groups import GROUPS
from .columns import FLOW_COLUMNS, MONTHLY_COLUMNS
from .people import State
from .reception import ELSEWHERE, OVERFLOW, QUEBEC


def _last(column: str, model) -> float | str | int:
    return model.recorder.last[column]


def data_collector() -> mesa.DataCollector:
    """A DataCollector with one model reporter per column of ``monthly.csv``, read from the month just closed."""
    return mesa.DataCollector(model_reporters={c: partial(_last, c) for c in MONTHLY_COLUMNS})


class MonthlyRecorder:
    """Accumulates the day's counts into the current month and closes months into rows."""

    def __init__(self, model):
        self.model = model
        self.last: dict = {}
        self._acc = dict.fromkeys(FLOW_COLUMNS, 0.0)
        self._groups = np.zeros(len(GROUPS))
        #: irregular crossings (persons) by month and nationality group, one array per closed month
        self.crossings_by_group: list[np.ndarray] = []

    def add(self, key: str, value: float) -> None:
        self._acc[key] += value

    def add_by_group(self, groups: np.ndarray) -> None:
        """Count irregular crossers by nationality group (for the nationality-mix pattern)."""
        self._groups += np.bincount(groups, minlength=len(self._groups))

    def close_month(self, d: int) -> dict:
        """Close the month whose last simulated day is ``d``; return its row."""
        m = self.model
        s = m.scale
        row = {"month": month_key(m.date_of(d)), "scenario": m.spec.name, "seed": m.seed}
        for k in FLOW_COLUMNS:
            row[k] = self._acc[k] / s
        irb_cap = m.daily["irb_decisions_per_month"][d]
        us_cap = m.daily["us_decisions_per_month"][d]
        row["irb_backlog"] = m.claims.irb_backlog / s
        row["referral_backlog"] = m.claims.referral_backlog / s
        row["quebec_claimants"] = m.claims.quebec_pending / s
        row["irb_wait_months"] = min(row["irb_backlog"] / irb_cap, 360.0) if irb_cap > 0 else 360.0
        row["quebec_shelter_population"] = m.shelters.occupancy[QUEBEC] / s
        row["quebec_overflow_population"] = m.shelters.occupancy[OVERFLOW] / s
        row["shelter_population_elsewhere"] = m.shelters.occupancy[ELSEWHERE] / s
        row["hiding_population"] = m.state_count[State.HIDING] / s
        row["us_backlog"] = m.pool_size / s
        row["status_people_in_us"] = m.status_people_in_us / s
        row["us_wait_months"] = min(row["us_backlog"] / us_cap, 360.0) if us_cap > 0 else 360.0
        self.last = row
        self._acc = dict.fromkeys(FLOW_COLUMNS, 0.0)
        self.crossings_by_group.append(self._groups / s)
        self._groups = np.zeros(len(GROUPS))
        return row
