"""Loading the shipped data files in ``data/``, with a schema check.

Every file is a CSV whose rows each carry a non-empty ``source``. A missing
column, an empty source, a non-number where a number belongs, or an unknown
group raises :class:`DataError` naming the file and the row (1-based, counting
the header as row 1, as a spreadsheet shows it).

Held-out data: Canadian outcomes after the Additional Protocol (2023-03) are
the model's test, never an input or a calibration target. They live only in
files named ``heldout_*.csv``; :func:`read_sourced_csv` refuses such a file
unless asked for it by :func:`heldout`, which marks the frame it returns
(``df.attrs["heldout"] is True``). Calibration and validation code read
files through the other loaders, so they cannot pick held-out rows up.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .calendar import fiscal_year
from .scenario.groups import GROUPS

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"


class DataError(Exception):
    """A data file is malformed. The message names the file, the row and the problem."""

    def __init__(self, file, row: int | None, message: str):
        where = f"{file}, row {row}" if row is not None else str(file)
        super().__init__(f"{where}: {message}")


def resolve(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


#: Files whose names start with this hold held-out test data (Canadian outcomes after the protocol).
HELDOUT_PREFIX = "heldout_"
#: The last month of data that calibration may see for Canadian crossing/claim outcomes (the protocol took effect 2023-03-25).
CALIBRATION_END = "2023-03"


def is_heldout(path: str | Path) -> bool:
    """Whether ``path`` names a held-out file (``heldout_*.csv``)."""
    return Path(path).name.startswith(HELDOUT_PREFIX)


def read_sourced_csv(path: str | Path, columns: dict[str, str], *, heldout_ok: bool = False) -> pd.DataFrame:
    """Read a CSV, check its columns (``{name: 'str' | 'int' | 'float'}``) and that every row has a source.

    A held-out file (``heldout_*.csv``) is refused unless ``heldout_ok``: use :func:`heldout` to read one.
    """
    path = resolve(path)
    if is_heldout(path) and not heldout_ok:
        raise DataError(path, None, "held-out test data (Canadian outcomes after 2023-03): never a model input or "
                                    "calibration target; read it with simulation.data.heldout() for validation only")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(path, None, f"not a readable CSV: {e}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(path, 1, f"missing column(s) {missing}; expected {list(columns)}")
    for i, src in enumerate(df["source"]):
        if not str(src).strip():
            raise DataError(path, i + 2, "empty 'source': every value must say where it comes from")
    for col, kind in columns.items():
        if kind == "str":
            continue
        if kind == "float?":  # a number or empty
            converted = pd.to_numeric(df[col], errors="coerce")
            bad = converted.isna() & (df[col].str.strip() != "")
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(path, i + 2, f"column {col!r}: {df[col].iloc[i]!r} is not a number")
            df[col] = converted.astype(float)
            continue
        converted = pd.to_numeric(df[col], errors="coerce")
        bad = converted.isna() & (df[col].str.strip() != "")
        if bad.any() or converted.isna().any():
            i = int(np.flatnonzero(bad | converted.isna())[0])
            raise DataError(path, i + 2, f"column {col!r}: {df[col].iloc[i]!r} is not a number")
        df[col] = converted.astype(int if kind == "int" else float)
    return df


def _check_months(df: pd.DataFrame, path: Path, column: str = "month") -> None:
    for i, m in enumerate(df[column]):
        try:
            assert len(m) == 7 and m[4] == "-"
            dt.date(int(m[:4]), int(m[5:7]), 1)
        except (ValueError, AssertionError):
            raise DataError(path, i + 2, f"{column} {m!r} is not 'YYYY-MM'") from None


def _check_allowed(df: pd.DataFrame, path: Path, column: str, allowed) -> None:
    for i, v in enumerate(df[column]):
        if v not in allowed:
            raise DataError(path, i + 2, f"{column} {v!r} is unknown; allowed: {sorted(allowed)}")


def _check_nonnegative(df: pd.DataFrame, path: Path, column: str) -> None:
    bad = np.flatnonzero(df[column].fillna(0) < 0)
    if len(bad):
        raise DataError(path, int(bad[0]) + 2, f"{column} must be >= 0")


def _check_groups(df: pd.DataFrame, path: Path) -> None:
    for i, g in enumerate(df["group"]):
        if g not in GROUPS:
            raise DataError(path, i + 2, f"group {g!r} is unknown; allowed: {list(GROUPS)}")


@lru_cache(maxsize=8)
def encounters_monthly(path: str = "data/us_encounters_monthly.csv") -> pd.Series:
    """CBP nationwide encounters by month (persons), indexed by 'YYYY-MM'."""
    p = resolve(path)
    return encounters_table(path).set_index("month")["encounters"].sort_index()


def encounters_table(path: str = "data/us_encounters_monthly.csv") -> pd.DataFrame:
    """The encounters file as checked rows: month, encounters, method ('observed…' or 'DERIVED…'), source.

    Months must be unique; every method says whether the value is observed or derived."""
    p = resolve(path)
    df = read_sourced_csv(p, {"month": "str", "encounters": "float", "method": "str", "source": "str"})
    _check_months(df, p)
    _check_nonnegative(df, p, "encounters")
    for i, m in enumerate(df["method"]):
        if not m.strip().lower().startswith(("observed", "derived")):
            raise DataError(p, i + 2, f"method {m[:40]!r} must start with 'observed' or 'DERIVED'")
    dup = df["month"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(p, i + 2, f"month {df['month'].iloc[i]} appears twice")
    return df.sort_values("month").reset_index(drop=True)


@lru_cache(maxsize=4)
def nationality_shares(path: str = "data/us_encounters_by_nationality.csv") -> pd.DataFrame:
    """Shares of encounters by group, one row per US fiscal year, columns = GROUPS (rows sum to 1)."""
    p = resolve(path)
    df = read_sourced_csv(p, {"fiscal_year": "int", "group": "str", "share": "float", "source": "str"})
    _check_groups(df, p)
    if "months_covered" in df.columns:  # optional: how many months of the fiscal year the shares rest on
        months = pd.to_numeric(df["months_covered"], errors="coerce")
        bad = np.flatnonzero(months.isna() | (months < 1) | (months > 12))
        if len(bad):
            i = int(bad[0])
            raise DataError(p, i + 2, f"months_covered {df['months_covered'].iloc[i]!r} must be a whole number 1-12")
    wide = df.pivot_table(index="fiscal_year", columns="group", values="share", aggfunc="sum").reindex(columns=list(GROUPS)).fillna(0.0)
    sums = wide.sum(axis=1)
    bad = sums[(sums - 1).abs() > 0.01]
    if len(bad):
        raise DataError(p, None, f"shares for fiscal year {int(bad.index[0])} sum to {bad.iloc[0]:.3f}, not 1")
    return wide.div(sums, axis=0)


@lru_cache(maxsize=4)
def grant_rates(path: str = "data/grant_rates.csv") -> pd.DataFrame:
    """Protection rates by group: columns 'US' and 'CA'. Groups without a sourced rate take the 'other' row."""
    p = resolve(path)
    df = read_sourced_csv(p, {"group": "str", "country": "str", "rate": "float", "period": "str", "source": "str"})
    _check_groups(df, p)
    for i, (c, r) in enumerate(zip(df["country"], df["rate"])):
        if c not in ("US", "CA"):
            raise DataError(p, i + 2, f"country {c!r}; allowed: 'US', 'CA'")
        if not 0 <= r <= 1:
            raise DataError(p, i + 2, f"rate {r} must be between 0 and 1")
    out = {}
    for country in ("US", "CA"):
        rows = df[df["country"] == country].set_index("group")["rate"]
        if "other" not in rows:
            raise DataError(p, None, f"no 'other' row for {country}: needed as the fallback rate")
        out[country] = [float(rows.get(g, rows["other"])) for g in GROUPS]
    return pd.DataFrame(out, index=list(GROUPS))


@lru_cache(maxsize=4)
def rcmp_interceptions(path: str = "data/rcmp_interceptions_monthly.csv") -> pd.DataFrame:
    """Observed RCMP interceptions between ports (monthly rows only): columns month, province, interceptions, source."""
    p = resolve(path)
    df = read_sourced_csv(
        p, {"year": "int", "month": "int", "province": "str", "kind": "str", "interceptions": "float", "source": "str"}
    )
    _check_allowed(df, p, "kind", RCMP_KINDS)
    _check_allowed(df, p, "province", PROVINCES)
    _check_nonnegative(df, p, "interceptions")
    for i, (y, m, k) in enumerate(zip(df["year"], df["month"], df["kind"])):
        if not (0 <= m <= 12) or (k == "year") != (m == 0):
            raise DataError(p, i + 2, f"month {m} does not fit kind {k!r} (month 0 = the annual total, kind 'year')")
        if f"{y:04d}-{max(m, 1):02d}" > CALIBRATION_END:
            raise DataError(p, i + 2, f"{y}-{m:02d} is after {CALIBRATION_END}: Canadian interceptions after the protocol "
                                      "are held-out test data and belong in heldout_rcmp_interceptions_monthly.csv")
    df = df[df["kind"] == "month"].copy()
    df["month"] = [f"{y:04d}-{m:02d}" for y, m in zip(df["year"], df["month"])]
    return df[["month", "province", "interceptions", "source"]].reset_index(drop=True)


RCMP_KINDS = ("month", "year", "ytd_cumulative")
PROVINCES = ("Canada", "Quebec", "Ontario", "Manitoba", "Saskatchewan", "Alberta", "British Columbia", "New Brunswick",
             "Nova Scotia", "Prince Edward Island", "Newfoundland and Labrador", "Yukon", "Northwest Territories", "Nunavut",
             "Other")

# --- status events, IRCC claims, IRB, PRAIDA, Quebec costs, held-out files -------------------------------------

#: Programs and event types of data/us_status_events.csv.
STATUS_PROGRAMS = ("TPS", "parole", "visa overstay")
STATUS_EVENT_TYPES = ("signal", "shortened", "termination_announced", "court_blocks", "court_allows", "stock")
#: Group value for an event that concerns every nationality group.
ALL_GROUPS = "all"


def _parse_day_or_month(value: str, path: Path, row: int, column: str) -> dt.date | None:
    if value == "":
        return None
    try:
        if len(value) == 7:
            return dt.date(int(value[:4]), int(value[5:7]), 1)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataError(path, row, f"{column} {value!r} is not 'YYYY-MM-DD' or 'YYYY-MM'") from None


@lru_cache(maxsize=4)
def status_events(path: str = "data/us_status_events.csv") -> pd.DataFrame:
    """Dated US events that end or threaten the status of people already in the US, one row per event and model group.

    Columns include ``date`` (when the event happened, see ``date_kind``: announced, published, ruling…) and
    ``effective_date`` (when status is to end, where one is set), both as ``datetime.date`` (or None);
    ``affected_population`` is a float (NaN where the source gives none) whose scope is in ``population_scope``
    ("group" = this group alone; otherwise e.g. an event total across several groups). ``group`` is a model
    group or ``"all"``."""
    p = resolve(path)
    cols = {"event_id": "str", "group": "str", "country": "str", "program": "str", "event_type": "str", "date": "str",
            "date_kind": "str", "effective_date": "str", "affected_population": "float?", "population_scope": "str",
            "event": "str", "source": "str"}
    df = read_sourced_csv(p, cols)
    _check_allowed(df, p, "group", set(GROUPS) | {ALL_GROUPS})
    _check_allowed(df, p, "program", STATUS_PROGRAMS)
    _check_allowed(df, p, "event_type", STATUS_EVENT_TYPES)
    _check_nonnegative(df, p, "affected_population")
    for col in ("event_id", "date_kind", "event", "population_scope"):
        empty = np.flatnonzero(df[col].str.strip() == "")
        if len(empty):
            raise DataError(p, int(empty[0]) + 2, f"empty {col!r}")
    df["date"] = [_parse_day_or_month(v, p, i + 2, "date") for i, v in enumerate(df["date"])]
    if any(d is None for d in df["date"]):
        raise DataError(p, int(np.flatnonzero([d is None for d in df["date"]])[0]) + 2, "empty 'date'")
    df["effective_date"] = [_parse_day_or_month(v, p, i + 2, "effective_date") for i, v in enumerate(df["effective_date"])]
    dup = df.duplicated(["event_id", "group"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(p, i + 2, f"event {df['event_id'].iloc[i]!r} appears twice for group {df['group'].iloc[i]!r}")
    return df


OFFICE_TYPES = ("airport", "border", "inland", "other", "total")
REGIONS = ("canada", "quebec", "rest_of_canada", "not_stated")
#: Office types whose IRCC series stops at the protocol (later months would be outcomes: held out).
OUTCOME_OFFICE_TYPES = ("border", "total")


@lru_cache(maxsize=4)
def ircc_claims(path: str = "data/ircc_claims_monthly.csv") -> pd.DataFrame:
    """IRCC asylum claimants by claim office type and region, monthly, with IRCC's suppression kept explicit.

    IRCC shows 0-5 as "--" and rounds other cells to 5: ``claims_low``/``claims_high`` bound each value
    (equal where nothing was suppressed) and ``suppressed_cells`` counts the "--" cells behind it. Airport,
    inland and other offices are exogenous drivers (to 2025-07); border and total rows stop at 2023-03."""
    p = resolve(path)
    df = read_sourced_csv(p, {"month": "str", "office_type": "str", "region": "str", "claims_low": "int",
                              "claims_high": "int", "suppressed_cells": "int", "method": "str", "source": "str"})
    _check_months(df, p)
    _check_allowed(df, p, "office_type", OFFICE_TYPES)
    _check_allowed(df, p, "region", REGIONS)
    for col in ("claims_low", "suppressed_cells"):
        _check_nonnegative(df, p, col)
    bad = np.flatnonzero((df["claims_high"] < df["claims_low"])
                         | (df["claims_high"] - df["claims_low"] != 5 * df["suppressed_cells"]))
    if len(bad):
        i = int(bad[0])
        raise DataError(p, i + 2, "claims_high must equal claims_low + 5 x suppressed_cells ('--' = 0-5)")
    late = np.flatnonzero(df["office_type"].isin(OUTCOME_OFFICE_TYPES) & (df["month"] > CALIBRATION_END))
    if len(late):
        i = int(late[0])
        raise DataError(p, i + 2, f"{df['office_type'].iloc[i]} claims for {df['month'].iloc[i]}: after {CALIBRATION_END} "
                                  "these are held-out outcomes, not driver data")
    dup = df.duplicated(["month", "office_type", "region"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(p, i + 2, "month/office_type/region appears twice")
    return df


IRB_SERIES = ("rpd_referrals", "rpd_finalized", "rpd_finalized_fiscal", "rpd_pending", "rpd_accepted", "rpd_rejected",
              "rpd_abandoned", "rpd_withdrawn_other")
#: IRB series that measure decision capacity (a driver, usable at any date); the others are outcomes.
IRB_CAPACITY_SERIES = ("rpd_finalized", "rpd_finalized_fiscal")


def _irb_checks(df: pd.DataFrame, p: Path) -> None:
    _check_allowed(df, p, "series", IRB_SERIES)
    _check_nonnegative(df, p, "value")
    bad = np.flatnonzero((df["month"] < 0) | (df["month"] > 12))
    if len(bad):
        raise DataError(p, int(bad[0]) + 2, "month must be 0 (annual or partial-year total) or 1-12")


@lru_cache(maxsize=4)
def irb_rpd(path: str = "data/irb_capacity.csv") -> pd.DataFrame:
    """IRB Refugee Protection Division workload (referrals, finalizations, pending, decisions), up to 2023-03,
    plus finalizations (decision capacity, a driver) after it. Outcome rows after 2023-03 are refused: they are
    held out in heldout_irb_rpd.csv."""
    p = resolve(path)
    df = read_sourced_csv(p, {"year": "int", "month": "int", "series": "str", "scope": "str", "value": "float",
                              "source": "str"})
    _irb_checks(df, p)
    for i, (y, m, s) in enumerate(zip(df["year"], df["month"], df["series"])):
        # month 0 rows of 2023 run Jan-Sep: they reach past the protocol
        reaches = f"{y:04d}-{(9 if (m == 0 and y == 2023) else max(m, 1)):02d}" if y <= 2023 else f"{y:04d}-01"
        if s not in IRB_CAPACITY_SERIES and reaches > CALIBRATION_END:
            raise DataError(p, i + 2, f"{s} for {y}-{m:02d} reaches past {CALIBRATION_END}: an outcome after the protocol "
                                      "is held-out test data (heldout_irb_rpd.csv)")
    return df


@lru_cache(maxsize=4)
def praida_new_users(path: str = "data/praida_new_users_monthly.csv") -> pd.Series:
    """New users of PRAIDA (Quebec's reception programme for asylum seekers) by month, 2016-01 .. 2023-03."""
    p = resolve(path)
    df = read_sourced_csv(p, {"month": "str", "new_users": "int", "source": "str"})
    _check_months(df, p)
    _check_nonnegative(df, p, "new_users")
    late = np.flatnonzero(df["month"] > CALIBRATION_END)
    if len(late):
        raise DataError(p, int(late[0]) + 2, f"after {CALIBRATION_END}: shelter use after the protocol is held-out data")
    return df.set_index("month")["new_users"].sort_index()


@lru_cache(maxsize=4)
def quebec_reception_costs(path: str = "data/quebec_reception_costs.csv") -> pd.DataFrame:
    """Quebec's costs of receiving asylum seekers and federal compensation, periods up to 2022 (CAD)."""
    p = resolve(path)
    df = read_sourced_csv(p, {"period": "str", "metric": "str", "value": "float", "unit": "str", "source": "str"})
    _check_nonnegative(df, p, "value")
    for i, period in enumerate(df["period"]):
        years = [int(y) for y in re.findall(r"(?<!\d)(20\d\d)(?!\d)", period)]
        if not years:
            raise DataError(p, i + 2, f"period {period!r} names no year")
        if max(years) >= int(CALIBRATION_END[:4]):  # 2023 and later would include post-protocol months
            raise DataError(p, i + 2, f"period {period!r}: costs after the protocol are held-out data")
    return df


#: The held-out files, by short name.
HELDOUT_FILES = {
    "irb_rpd": "data/heldout_irb_rpd.csv",
    "rcmp_interceptions": "data/heldout_rcmp_interceptions_monthly.csv",
}


def heldout(name: str) -> pd.DataFrame:
    """A held-out test file (Canadian outcomes after 2023-03), for validation only; ``df.attrs['heldout']`` is True.

    Never feed these rows to a model input or a calibration target."""
    if name not in HELDOUT_FILES:
        raise DataError(name, None, f"no held-out file {name!r}; known: {sorted(HELDOUT_FILES)}")
    p = resolve(HELDOUT_FILES[name])
    if name == "irb_rpd":
        df = read_sourced_csv(p, {"year": "int", "month": "int", "series": "str", "scope": "str", "value": "float",
                                  "status": "str", "source": "str"}, heldout_ok=True)
        _irb_checks(df, p)
    else:
        df = read_sourced_csv(p, {"year": "int", "month": "int", "province": "str", "kind": "str",
                                  "interceptions": "float", "status": "str", "source": "str"}, heldout_ok=True)
        _check_allowed(df, p, "kind", RCMP_KINDS)
        _check_allowed(df, p, "province", PROVINCES)
    for i, st in enumerate(df["status"]):
        if not st.startswith("HELD-OUT"):
            raise DataError(p, i + 2, "every held-out row must say 'HELD-OUT' in its status column")
    df.attrs["heldout"] = True
    df.attrs["file"] = str(p)
    return df




def monthly_inflow(months: list[str], path: str, projection_months: int = 12) -> tuple[np.ndarray, list[str]]:
    """Encounters for each month in ``months``; months past the data take the mean of the last
    ``projection_months`` observed months (an assumption, reported in the run's notes)."""
    series = encounters_monthly(path)
    tail = float(series.iloc[-projection_months:].mean())
    values, projected = [], []
    for m in months:
        if m in series.index:
            values.append(float(series[m]))
        elif m > series.index[-1]:
            values.append(tail)
            projected.append(m)
        else:
            raise DataError(resolve(path), None, f"no encounters for month {m} (data start at {series.index[0]})")
    return np.array(values), projected


def shares_for(day: dt.date) -> np.ndarray:
    """Nationality shares for the fiscal year of ``day``; past the data, the last fiscal year's (assumption)."""
    wide = nationality_shares()
    fy = fiscal_year(day)
    fy = min(max(fy, int(wide.index.min())), int(wide.index.max()))
    return wide.loc[fy].to_numpy(dtype=float)


def ircc_claims_wide(path: str = "data/ircc_claims_monthly.csv") -> pd.DataFrame:
    """IRCC claims by month, one column per '<office>_<region>' (region: quebec, rest_of_canada; a province not
    stated counts as rest of Canada), suppressed cells ("--", 0-5) counted as 0. A month an office type does not
    cover is NaN."""
    df = ircc_claims(path)
    df = df[df["region"].isin(("quebec", "rest_of_canada", "not_stated"))]
    df = df.assign(column=df["office_type"] + "_" + df["region"].replace({"not_stated": "rest_of_canada"}))
    return df.pivot_table(index="month", columns="column", values="claims_low", aggfunc="sum").sort_index()


#: The exogenous claims: people the model does not follow (airports from abroad, inland claims, other offices).
EXOGENOUS_CLAIMS = ("airport_quebec", "airport_rest_of_canada", "inland_quebec", "inland_rest_of_canada")


def exogenous_claims(months: list[str], path: str, projection_months: int = 12) -> tuple[np.ndarray, list[str]]:
    """(months x 4) airport and inland claims (other offices counted as inland), in the order of
    :data:`EXOGENOUS_CLAIMS`; months past the data take the mean of the last ``projection_months`` (an assumption,
    reported as projected)."""
    wide = ircc_claims_wide(path)
    for col in ("other_quebec", "other_rest_of_canada"):
        if col not in wide:
            wide = wide.assign(**{col: 0.0})
    covered = wide[["airport_quebec", "airport_rest_of_canada", "inland_quebec", "inland_rest_of_canada"]].notna().any(axis=1)
    wide = wide[covered].fillna(0.0)  # a month with no row for an office and region had none to count ("--" is 0-5)
    table = pd.DataFrame({
        "airport_quebec": wide["airport_quebec"], "airport_rest_of_canada": wide["airport_rest_of_canada"],
        "inland_quebec": wide["inland_quebec"] + wide["other_quebec"],
        "inland_rest_of_canada": wide["inland_rest_of_canada"] + wide["other_rest_of_canada"],
    })
    tail = table.iloc[-projection_months:].mean().to_numpy()
    rows, projected = [], []
    for m in months:
        if m in table.index:
            rows.append(table.loc[m].to_numpy(dtype=float))
        elif m > table.index[-1]:
            rows.append(tail)
            projected.append(m)
        else:
            raise DataError(resolve(path), None, f"no airport/inland claims for month {m} (data start at {table.index[0]})")
    return np.array(rows, dtype=float).reshape(len(months), len(EXOGENOUS_CLAIMS)), projected
