"""Monthly outputs of a run, and writing them to disk atomically.

Flows (crossings, claims, decisions, cost, expected deaths) are summed over
the month's days; stocks (backlogs, shelter population) are read on the
month's last day. Everything is in persons: agent counts divided by the scale.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .groups import GROUPS
from .population import State


#: Monthly flow columns (summed over the month), in output order.
FLOW_COLUMNS = (
    "roxham_crossings",
    "other_irregular_crossings",
    "port_claims",
    "port_turnbacks",
    "roxham_port_arrivals",
    "roxham_closed_turned_away",
    "air_claims",
    "protocol_returns",
    "directed_back",
    "ineligible",
    "hidden_past_window",
    "claims_in_canada",
    "interceptions",
    "interceptions_quebec",
    "irb_decisions",
    "transfers_out_of_quebec",
    "reception_cost_cad",
    "resettled",
    "deaths_expected",
    "deaths_expected_elsewhere",
    "left_us_process",
    "us_decisions",
)
#: Stock columns (end of month).
STOCK_COLUMNS = (
    "irb_backlog",
    "irb_wait_months",
    "quebec_shelter_population",
    "shelter_population_elsewhere",
    "hiding_population",
    "us_backlog",
    "us_wait_months",
)
COUNT_COLUMNS = FLOW_COLUMNS + STOCK_COLUMNS
COLUMNS = ("month", "scenario", "seed") + COUNT_COLUMNS

#: Words for plots and reports.
LABELS = {
    "roxham_crossings": "Crossings at Roxham Road",
    "other_irregular_crossings": "Crossings elsewhere between ports",
    "port_claims": "Claims at land ports",
    "port_turnbacks": "Turned back at land ports (STCA)",
    "roxham_port_arrivals": "Arrivals at a Roxham port of entry",
    "roxham_closed_turned_away": "Found Roxham Road closed and went back",
    "air_claims": "Claims after flying in",
    "protocol_returns": "Returned under the 2023 Protocol",
    "directed_back": "Directed back (COVID-19 orders)",
    "ineligible": "Found ineligible after an exception",
    "hidden_past_window": "Claims after hiding past the return window",
    "claims_in_canada": "Claims in Canada (from the US)",
    "interceptions": "RCMP interceptions between ports",
    "interceptions_quebec": "RCMP interceptions between ports, Quebec",
    "irb_decisions": "IRB decisions",
    "transfers_out_of_quebec": "Transfers out of Quebec",
    "reception_cost_cad": "Reception cost (CAD)",
    "resettled": "Humanitarian places used",
    "deaths_expected": "Expected deaths crossing",
    "deaths_expected_elsewhere": "Expected deaths crossing elsewhere between ports",
    "left_us_process": "Left the US process (gave up or went elsewhere)",
    "us_decisions": "US asylum decisions",
    "irb_backlog": "IRB backlog (claims pending)",
    "irb_wait_months": "IRB expected wait (months)",
    "quebec_shelter_population": "People in Quebec shelters",
    "shelter_population_elsewhere": "People sheltered in other provinces",
    "hiding_population": "People hiding in Canada through the return window",
    "us_backlog": "US asylum backlog (modelled pool)",
    "us_wait_months": "US expected wait (months)",
}


class MonthlyRecorder:
    """Accumulates the day's counts into the current month and closes months into rows."""

    def __init__(self, model):
        self.model = model
        self.rows: list[dict] = []
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

    def close_month(self, d: int, date) -> None:
        """Close the month whose last simulated day is ``d`` (on ``date``)."""
        m = self.model
        s = m.scale
        row = {"month": f"{date.year:04d}-{date.month:02d}", "scenario": m.spec.name, "seed": m.seed}
        for k in FLOW_COLUMNS:
            row[k] = self._acc[k] / s
        irb_cap = m.daily["irb_decisions_per_month"][d]
        us_cap = m.daily["us_decisions_per_month"][d]
        row["irb_backlog"] = m.irb.backlog / s
        row["irb_wait_months"] = min(row["irb_backlog"] / irb_cap, 360.0) if irb_cap > 0 else 360.0
        row["quebec_shelter_population"] = m.shelters.occupancy[0] / s
        row["shelter_population_elsewhere"] = m.shelters.occupancy[1] / s
        row["hiding_population"] = m.state_count[State.HIDING] / s
        row["us_backlog"] = m.pool_size / s
        row["us_wait_months"] = min(row["us_backlog"] / us_cap, 360.0) if us_cap > 0 else 360.0
        self.rows.append(row)
        self.last = row
        self._acc = dict.fromkeys(FLOW_COLUMNS, 0.0)
        self.crossings_by_group.append(self._groups / s)
        self._groups = np.zeros(len(GROUPS))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(COLUMNS))


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV with a fixed float format, so the same run gives the same bytes."""
    return df.to_csv(index=False, float_format="%.4f", lineterminator="\n").encode()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: bytes) -> None:
    """Write a file via a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not e.filename:
            e.filename = str(path)  # so the message names the file, whatever failed
        raise


def write_json(path: Path, obj) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


@contextmanager
def staged_directory(out: Path):
    """Build an output folder under a temporary name beside it and move it into place only on success.

    A run that fails leaves no partial folder; an existing folder is replaced
    only once the new one is complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    os.chmod(stage, 0o777 & ~_umask())
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, out)
