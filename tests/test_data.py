"""The data loaders: bad files are refused with a DataError naming the file and row; shipped files load, sourced."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simulation import data
from simulation.data import DATA_DIR, DataError
from simulation.scenario.groups import GROUPS

SRC = "test source"

# each loader, with a good two-row file to break
ENCOUNTERS = (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,obs,{SRC}\n2020-02,200,obs,{SRC}\n")
SHARES = (data.nationality_shares, f"fiscal_year,group,share,source\n2020,haiti,0.4,{SRC}\n2020,other,0.6,{SRC}\n")
RATES = (data.grant_rates, f"group,country,rate,period,source\nother,US,0.4,FY21,{SRC}\nother,CA,0.7,2017-22,{SRC}\n")


@pytest.fixture
def csv(tmp_path):
    """Write a CSV under a unique name (the loaders cache by path) and return its path as a string."""
    count = iter(range(1000))

    def write(text: str, name: str = "bad") -> str:
        path = tmp_path / f"{name}_{next(count)}.csv"
        path.write_text(text)
        return str(path)

    return write


@pytest.mark.parametrize("loader, good", [ENCOUNTERS, SHARES, RATES], ids=["encounters", "shares", "rates"])
def test_good_test_files_load(csv, loader, good):
    assert len(loader(csv(good))) > 0  # so the failures below are due to the one thing broken


@pytest.mark.parametrize(
    "loader, text, row, words",
    [
        # missing column: reported on the header row
        (data.encounters_monthly, f"month,encounters,source\n2020-01,100,{SRC}\n", 1, ["missing column", "method"]),
        (data.grant_rates, f"group,country,rate,source\nother,US,0.4,{SRC}\n", 1, ["missing column", "period"]),
        # empty source (row 3 = the second data row, counting the header as row 1)
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,obs,{SRC}\n2020-02,200,obs,  \n", 3,
         ["empty 'source'"]),
        # non-numeric value
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,lots,obs,{SRC}\n", 2,
         ["encounters", "'lots' is not a number"]),
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,obs,{SRC}\n2020-02,,obs,{SRC}\n", 3,
         ["encounters", "not a number"]),
        (data.nationality_shares, f"fiscal_year,group,share,source\n2020,haiti,0.4,{SRC}\n20x0,other,0.6,{SRC}\n", 3,
         ["fiscal_year", "not a number"]),
        # unknown group
        (data.nationality_shares, f"fiscal_year,group,share,source\n2020,haiti,0.4,{SRC}\n2020,mars,0.6,{SRC}\n", 3,
         ["'mars'", "unknown", "haiti", "other"]),
        (data.grant_rates, f"group,country,rate,period,source\nother,US,0.4,FY21,{SRC}\nnarnia,CA,0.7,x,{SRC}\n", 3,
         ["'narnia'", "unknown"]),
        # values out of their domain
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,obs,{SRC}\n2020-1,100,obs,{SRC}\n", 3,
         ["'2020-1'", "YYYY-MM"]),
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,-5,obs,{SRC}\n", 2, [">= 0"]),
        (data.grant_rates, f"group,country,rate,period,source\nother,US,1.4,FY21,{SRC}\nother,CA,0.7,x,{SRC}\n", 2,
         ["rate 1.4", "between 0 and 1"]),
        (data.grant_rates, f"group,country,rate,period,source\nother,US,0.4,FY21,{SRC}\nother,UK,0.7,x,{SRC}\n", 3,
         ["'UK'", "'US', 'CA'"]),
    ],
    ids=["missing_column", "missing_column_rates", "empty_source", "non_numeric", "empty_number", "non_numeric_year",
         "unknown_group", "unknown_group_rates", "bad_month", "negative", "rate_above_1", "unknown_country"],
)
def test_bad_file_names_file_and_row(csv, loader, text, row, words):
    path = csv(text)
    with pytest.raises(DataError) as e:
        loader(path)
    message = str(e.value)
    assert message.startswith(f"{path}, row {row}: "), message
    for word in words:
        assert word in message


def test_shares_not_summing_to_one_name_the_file_and_year(csv):
    path = csv(f"fiscal_year,group,share,source\n2019,haiti,0.5,{SRC}\n2019,other,0.5,{SRC}\n"
               f"2020,haiti,0.4,{SRC}\n2020,other,0.5,{SRC}\n")
    with pytest.raises(DataError) as e:
        data.nationality_shares(path)
    message = str(e.value)
    assert message.startswith(path)
    assert "fiscal year 2020" in message and "0.900" in message


def test_rates_without_fallback_row(csv):
    with pytest.raises(DataError, match="no 'other' row for CA"):
        data.grant_rates(csv(f"group,country,rate,period,source\nother,US,0.4,FY21,{SRC}\nhaiti,CA,0.3,x,{SRC}\n"))


def test_missing_and_unreadable_files(tmp_path, csv):
    with pytest.raises(DataError, match="file not found"):
        data.encounters_monthly(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="not a readable CSV"):
        data.encounters_monthly(csv('month,encounters,method,source\n"2020-01,1,obs,x\n'))


def test_inflow_months_before_the_data_are_refused_and_after_are_projected(csv):
    path = csv(ENCOUNTERS[1])
    with pytest.raises(DataError, match="no encounters for month 2019-12"):
        data.monthly_inflow(["2019-12"], path)
    values, projected = data.monthly_inflow(["2020-02", "2020-03"], path, projection_months=2)
    assert values.tolist() == [200.0, 150.0] and projected == ["2020-03"]


# --- the shipped files ----------------------------------------------------------------------

SHIPPED = sorted(DATA_DIR.glob("*.csv"))


def test_all_expected_data_files_are_shipped():
    names = {p.name for p in SHIPPED}
    assert {"us_encounters_monthly.csv", "us_encounters_by_nationality.csv", "grant_rates.csv",
            "rcmp_interceptions_monthly.csv"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_row_has_a_source(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert "source" in df.columns and len(df) > 0
    empty = df.index[df["source"].str.strip() == ""].tolist()
    assert empty == [], f"rows without a source: {[i + 2 for i in empty]}"
    data.read_sourced_csv(path, {"source": "str"})  # the loader agrees


def test_shipped_loaders():
    enc = data.encounters_monthly()
    assert (enc >= 0).all() and enc.index.is_monotonic_increasing and enc.index.is_unique
    assert enc.index[0] <= "2017-01"  # covers the start of every bundled scenario

    shares = data.nationality_shares()
    assert list(shares.columns) == list(GROUPS)
    assert np.allclose(shares.sum(axis=1), 1.0)
    assert (shares >= 0).all().all()
    assert np.isclose(data.shares_for(dt.date(2035, 1, 1)).sum(), 1.0)  # past the data: last year's

    rates = data.grant_rates()
    assert list(rates.index) == list(GROUPS) and list(rates.columns) == ["US", "CA"]
    assert ((rates >= 0) & (rates <= 1)).all().all()

    rcmp = data.rcmp_interceptions()
    assert (rcmp["interceptions"] >= 0).all() and (rcmp["source"].str.strip() != "").all()
    assert rcmp["month"].str.match(r"^\d{4}-\d{2}$").all()


def test_fiscal_year():
    assert data.fiscal_year(dt.date(2022, 9, 30)) == 2022
    assert data.fiscal_year(dt.date(2022, 10, 1)) == 2023
