"""Loading the shipped data files in ``data/``, with a schema check.

Every file is a CSV whose rows each carry a non-empty ``source``. A missing
column, an empty source, a non-number where a number belongs, or an unknown
group raises :class:`DataError` naming the file and the row (1-based, counting
the header as row 1, as a spreadsheet shows it).
"""

from __future__ import annotations

import datetime as dt
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


def read_sourced_csv(path: str | Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a CSV, check its columns (``{name: 'str' | 'int' | 'float'}``) and that every row has a source."""
    path = resolve(path)
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
        converted = pd.to_numeric(df[col], errors="coerce")
        bad = converted.isna() & (df[col].str.strip() != "")
        if bad.any() or converted.isna().any():
            i = int(np.flatnonzero(bad | converted.isna())[0])
            raise DataError(path, i + 2, f"column {col!r}: {df[col].iloc[i]!r} is not a number")
        df[col] = converted.astype(int if kind == "int" else float)
    return df


def _check_groups(df: pd.DataFrame, path: Path) -> None:
    for i, g in enumerate(df["group"]):
        if g not in GROUPS:
            raise DataError(path, i + 2, f"group {g!r} is unknown; allowed: {list(GROUPS)}")


@lru_cache(maxsize=8)
def encounters_monthly(path: str = "data/us_encounters_monthly.csv") -> pd.Series:
    """CBP nationwide encounters by month (persons), indexed by 'YYYY-MM'."""
    p = resolve(path)
    df = read_sourced_csv(p, {"month": "str", "encounters": "float", "method": "str", "source": "str"})
    for i, m in enumerate(df["month"]):
        try:
            dt.date(int(m[:4]), int(m[5:7]), 1)
            assert len(m) == 7 and m[4] == "-"
        except (ValueError, AssertionError):
            raise DataError(p, i + 2, f"month {m!r} is not 'YYYY-MM'") from None
    if (df["encounters"] < 0).any():
        i = int(np.flatnonzero(df["encounters"] < 0)[0])
        raise DataError(p, i + 2, "encounters must be >= 0")
    return df.set_index("month")["encounters"].sort_index()


@lru_cache(maxsize=4)
def nationality_shares(path: str = "data/us_encounters_by_nationality.csv") -> pd.DataFrame:
    """Shares of encounters by group, one row per US fiscal year, columns = GROUPS (rows sum to 1)."""
    p = resolve(path)
    df = read_sourced_csv(p, {"fiscal_year": "int", "group": "str", "share": "float", "source": "str"})
    _check_groups(df, p)
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
    df = df[df["kind"] == "month"].copy()
    df["month"] = [f"{y:04d}-{m:02d}" for y, m in zip(df["year"], df["month"])]
    return df[["month", "province", "interceptions", "source"]].reset_index(drop=True)




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


@lru_cache(maxsize=4)
def ircc_claims(path: str = "data/ircc_claims_monthly.csv") -> pd.DataFrame:
    """IRCC asylum claims by month: columns '<office>_<region>' (office: airport, border, inland, other;
    region: quebec, rest_of_canada), indexed by 'YYYY-MM'. A month an office type does not cover is NaN."""
    p = resolve(path)
    df = read_sourced_csv(p, {"month": "str", "office_type": "str", "region": "str", "claims": "float", "source": "str"})
    for i, (office, region) in enumerate(zip(df["office_type"], df["region"])):
        if office not in ("airport", "border", "inland", "other") or region not in ("quebec", "rest_of_canada"):
            raise DataError(p, i + 2, f"office_type {office!r} / region {region!r}; allowed: airport, border, inland, "
                                      "other / quebec, rest_of_canada")
    df["column"] = df["office_type"] + "_" + df["region"]
    return df.pivot_table(index="month", columns="column", values="claims", aggfunc="sum").sort_index()


#: The exogenous claims: people the model does not follow (airports from abroad, inland claims, other offices).
EXOGENOUS_CLAIMS = ("airport_quebec", "airport_rest_of_canada", "inland_quebec", "inland_rest_of_canada")


def exogenous_claims(months: list[str], path: str, projection_months: int = 12) -> tuple[np.ndarray, list[str]]:
    """(months x 4) airport and inland claims (other offices counted as inland), in the order of
    :data:`EXOGENOUS_CLAIMS`; months past the data take the mean of the last ``projection_months`` (an assumption,
    reported as projected)."""
    wide = ircc_claims(path)
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
