"""The data loaders: bad files are refused with a DataError naming the file and row; shipped files load, sourced."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from simulation import data
from simulation.data import DATA_DIR, DataError
from simulation.scenario.groups import GROUPS

SRC = "test source"

# each loader, with a good two-row file to break
ENCOUNTERS = (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-02,200,observed,{SRC}\n")
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
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-02,200,observed,  \n", 3,
         ["empty 'source'"]),
        # non-numeric value
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,lots,observed,{SRC}\n", 2,
         ["encounters", "'lots' is not a number"]),
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-02,,observed,{SRC}\n", 3,
         ["encounters", "not a number"]),
        (data.nationality_shares, f"fiscal_year,group,share,source\n2020,haiti,0.4,{SRC}\n20x0,other,0.6,{SRC}\n", 3,
         ["fiscal_year", "not a number"]),
        # unknown group
        (data.nationality_shares, f"fiscal_year,group,share,source\n2020,haiti,0.4,{SRC}\n2020,mars,0.6,{SRC}\n", 3,
         ["'mars'", "unknown", "haiti", "other"]),
        (data.grant_rates, f"group,country,rate,period,source\nother,US,0.4,FY21,{SRC}\nnarnia,CA,0.7,x,{SRC}\n", 3,
         ["'narnia'", "unknown"]),
        # values out of their domain
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-1,100,observed,{SRC}\n", 3,
         ["'2020-1'", "YYYY-MM"]),
        (data.encounters_monthly, f"month,encounters,method,source\n2020-01,-5,observed,{SRC}\n", 2, [">= 0"]),
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
        data.encounters_monthly(csv('month,encounters,method,source\n"2020-01,1,observed,x\n'))


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
    data.read_sourced_csv(path, {"source": "str"}, heldout_ok=data.is_heldout(path))  # the loader agrees


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


# --- new files: encounters through the drivers, nationality, status events, IRCC claims, IRB, PRAIDA, costs ----------


def _months(first: str, last: str) -> list[str]:
    out, y, m = [], int(first[:4]), int(first[5:])
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _driver_months():
    """The last month of the US driver series shipped in us_drivers.csv's successor file (USBP monthly series)."""
    enc = data.encounters_table()
    return enc["month"].iloc[0], enc["month"].iloc[-1]


def test_encounters_cover_every_month_through_the_last_driver_month():
    enc = data.encounters_table()
    first, last = _driver_months()
    assert first == "2016-10" and last >= "2026-07"
    assert enc["month"].tolist() == _months(first, last)  # no gap, no duplicate
    assert (enc["encounters"] > 0).all()
    observed = enc[enc["method"].str.startswith("observed")]
    assert observed["month"].min() == "2019-10" and observed["month"].max() >= "2025-11"
    # FY2024 is observed now, not the old flat spread, and sums to CBP's FY total
    fy24 = enc[(enc["month"] >= "2023-10") & (enc["month"] <= "2024-09")]
    assert fy24["method"].str.startswith("observed").all() and fy24["encounters"].nunique() == 12
    assert fy24["encounters"].sum() == 2_901_142
    fy25 = enc[(enc["month"] >= "2024-10") & (enc["month"] <= "2025-09")]
    assert fy25["encounters"].sum() == 691_906
    # derived months after the last observed one say what is derived
    late = enc[enc["month"] > observed["month"].max()]
    assert late["method"].str.startswith("DERIVED").all() and late["method"].str.contains("NOT observed").all()
    # magnitudes: nationwide encounters never exceeded ~400k a month in these years
    assert enc["encounters"].max() < 400_000


def test_encounter_methods_must_say_observed_or_derived(csv):
    path = csv(f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-02,100,guess,{SRC}\n")
    with pytest.raises(DataError, match=r"row 3: method 'guess' must start with 'observed' or 'DERIVED'"):
        data.encounters_table(path)
    path = csv(f"month,encounters,method,source\n2020-01,100,observed,{SRC}\n2020-01,100,observed,{SRC}\n")
    with pytest.raises(DataError, match="row 3: month 2020-01 appears twice"):
        data.encounters_table(path)


def test_nationality_shares_through_fy2025_and_partial_fy2026():
    raw = pd.read_csv(DATA_DIR / "us_encounters_by_nationality.csv")
    assert set(raw["fiscal_year"]) == set(range(2017, 2027))
    assert set(raw["group"]) <= set(GROUPS)
    sums = raw.groupby("fiscal_year")["share"].sum()
    assert np.allclose(sums, 1.0, atol=1e-5)
    assert (raw["share"].between(0, 1)).all()
    assert (raw.loc[raw.fiscal_year == 2026, "months_covered"] == 2).all()
    assert (raw.loc[raw.fiscal_year < 2026, "months_covered"] == 12).all()
    assert raw.loc[raw.fiscal_year == 2026, "source"].str.contains("PARTIAL").all()
    shares = data.nationality_shares()
    assert shares.loc[2024, "haiti"] > shares.loc[2025, "haiti"] > shares.loc[2026, "haiti"]  # the collapse after Jan 2025
    assert shares.loc[2025, "nigeria"] == 0.0  # CBP does not name Nigeria after FY2019


def test_months_covered_is_checked(csv):
    path = csv(f"fiscal_year,group,share,months_covered,source\n2020,haiti,0.4,12,{SRC}\n2020,other,0.6,13,{SRC}\n")
    with pytest.raises(DataError, match="row 3: months_covered '13'"):
        data.nationality_shares(path)


def test_status_events_are_model_ready():
    ev = data.status_events()
    assert set(ev["group"]) <= set(GROUPS) | {"all"}
    assert ev["source"].str.len().gt(20).all()
    # the events the model needs are there, with their dates
    def one(eid, group):
        rows = ev[(ev.event_id == eid) & (ev.group == group)]
        assert len(rows) == 1, (eid, group)
        return rows.iloc[0]
    assert one("HT-2017-0", "haiti").date == dt.date(2017, 5, 22)  # the 2017 signal
    assert one("HT-2017-1", "haiti").date == dt.date(2017, 11, 20)
    assert one("HT-2017-1", "haiti").effective_date == dt.date(2019, 7, 22)
    assert one("CHNV-2025-1", "cuba").effective_date == dt.date(2025, 4, 24)
    assert one("CHNV-2025-1", "central_america").population_scope.startswith("event total")
    assert one("VE-2025-1", "venezuela").effective_date == dt.date(2025, 4, 7)
    assert one("VE-2025-4", "venezuela").effective_date == dt.date(2025, 11, 7)
    assert one("HN-2025", "central_america").affected_population == 72_000
    assert one("HT-2025-4", "haiti").effective_date == dt.date(2026, 2, 3)
    nigeria = ev[ev.group == "nigeria"].set_index("event_id")
    assert {"NG-OVERSTAY-FY2016", "NG-OVERSTAY-FY2017", "NG-OVERSTAY-FY2018"} <= set(nigeria.index)
    assert nigeria.loc["NG-OVERSTAY-FY2018", "affected_population"] == 29_004
    # effective dates never precede the event date
    eff = ev.dropna(subset=["effective_date"])
    assert all(e >= d for d, e in zip(eff["date"], eff["effective_date"]))


def test_status_event_errors_name_file_and_row(csv):
    head = ("event_id,group,country,program,event_type,date,date_kind,effective_date,affected_population,"
            "population_scope,event,source\n")
    good = f"X-1,haiti,Haiti,TPS,signal,2017-05-22,announced,2017-07-23,100,group,something,{SRC}\n"
    assert len(data.status_events(csv(head + good))) == 1
    for bad, words in [
        (good.replace(",haiti,", ",mars,"), "group 'mars' is unknown"),
        (good.replace(",TPS,", ",asylum,"), "program 'asylum' is unknown"),
        (good.replace(",signal,", ",rumour,"), "event_type 'rumour' is unknown"),
        (good.replace("2017-05-22", "22/05/2017"), "date '22/05/2017' is not"),
        (good.replace(",100,", ",many,"), "'many' is not a number"),
    ]:
        path = csv(head + good.replace("X-1", "X-0") + bad)
        with pytest.raises(DataError) as e:
            data.status_events(path)
        assert str(e.value).startswith(f"{path}, row 3: ") and words in str(e.value), str(e.value)


def test_ircc_claims_keep_suppression_explicit_and_stop_border_at_the_protocol():
    c = data.ircc_claims()
    assert set(c["office_type"]) == {"airport", "border", "inland", "other", "total"}
    last = c.groupby("office_type")["month"].max()
    assert last["border"] == last["total"] == "2023-03"
    assert last["airport"] == last["inland"] == last["other"] == "2025-07"
    assert c["month"].min() == "2015-01"
    # every driver month is present for Quebec and the rest of Canada (airport, inland) and Canada (other)
    for ot, regions in (("airport", ("quebec", "rest_of_canada", "canada")), ("inland", ("quebec", "rest_of_canada", "canada")),
                        ("other", ("canada",))):
        for region in regions:
            months = c[(c.office_type == ot) & (c.region == region)]["month"].tolist()
            assert months == _months("2015-01", "2025-07"), (ot, region)
    assert (c["claims_high"] - c["claims_low"] == 5 * c["suppressed_cells"]).all()
    assert c["suppressed_cells"].sum() > 0
    # Roxham shows up in Quebec's border claims: 2022 Quebec border claims exceed 30,000
    q22 = c[(c.office_type == "border") & (c.region == "quebec") & c.month.str.startswith("2022")]
    assert q22["claims_low"].sum() > 30_000


def test_ircc_claims_refuse_border_rows_after_the_protocol(csv):
    head = "month,office_type,region,claims_low,claims_high,suppressed_cells,method,source\n"
    ok = f"2023-03,border,quebec,10,10,0,as published,{SRC}\n"
    path = csv(head + ok + f"2023-04,border,quebec,10,10,0,as published,{SRC}\n")
    with pytest.raises(DataError, match="row 3: border claims for 2023-04: after 2023-03"):
        data.ircc_claims(path)
    path = csv(head + ok + f"2023-03,airport,quebec,0,0,1,as published,{SRC}\n")
    with pytest.raises(DataError, match="row 3: claims_high must equal"):
        data.ircc_claims(path)


def test_irb_praida_costs_load_and_stay_before_the_protocol():
    irb = data.irb_rpd()
    outcomes = irb[~irb.series.isin(data.IRB_CAPACITY_SERIES)]
    assert outcomes["year"].max() <= 2023
    assert {"all claims", "irregular claims", "regular claims"} <= set(irb["scope"])
    pending_2019 = irb[(irb.series == "rpd_pending") & (irb.year == 2019) & (irb.month == 12) & (irb.scope == "all claims")]["value"]
    assert pending_2019.between(85_000, 90_000).all()
    praida = data.praida_new_users()
    assert praida.index[0] == "2016-01" and praida.index[-1] == "2023-03"
    assert list(praida.index) == _months("2016-01", "2023-03")
    assert praida.loc["2017-08"] > praida.loc["2017-01"]  # the 2017 surge
    costs = data.quebec_reception_costs()
    assert (costs["value"] > 0).all() and len(costs) >= 8


def test_irb_outcome_after_the_protocol_is_refused(csv):
    head = "year,month,series,scope,value,source\n"
    path = csv(head + f"2023,9,rpd_finalized,all claims,100,{SRC}\n2023,9,rpd_pending,all claims,100,{SRC}\n")
    with pytest.raises(DataError, match="row 3: rpd_pending for 2023-09 reaches past 2023-03"):
        data.irb_rpd(path)


# --- held-out data ------------------------------------------------------------------------------------------------


HELDOUT = sorted(DATA_DIR.glob("heldout_*.csv"))


def test_heldout_files_exist_and_are_named_so():
    assert {p.name for p in HELDOUT} == {"heldout_irb_rpd.csv", "heldout_rcmp_interceptions_monthly.csv"}
    assert {data.resolve(v).name for v in data.HELDOUT_FILES.values()} == {p.name for p in HELDOUT}
    for p in HELDOUT:
        assert data.is_heldout(p)


@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.name)
def test_loader_refuses_heldout_files_unless_asked_by_name(path):
    with pytest.raises(DataError, match="held-out test data"):
        data.read_sourced_csv(path, {"source": "str"})
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert raw["status"].str.startswith("HELD-OUT").all()


def test_heldout_loader_marks_its_frames():
    for name in data.HELDOUT_FILES:
        df = data.heldout(name)
        assert df.attrs["heldout"] is True and len(df) > 0
        assert df["source"].str.strip().ne("").all()
    rc = data.heldout("rcmp_interceptions")
    assert (rc["year"] >= 2024).all()
    with pytest.raises(DataError, match="no held-out file 'costs'"):
        data.heldout("costs")


def test_calibration_and_validation_code_never_name_heldout_files():
    import inspect

    from simulation.experiments import calibration, validation

    text = inspect.getsource(calibration)
    assert "heldout" not in text.lower(), "calibration must not touch held-out files"
    # validation may compare with held-out data only through data.heldout(), never by reading a heldout_ file itself
    assert not re.search(r"heldout_\w+\.csv", inspect.getsource(validation))
    # and what calibration reads stops at the protocol
    rc = data.rcmp_interceptions()
    assert rc["month"].max() <= data.CALIBRATION_END


def test_shipped_canadian_outcome_files_stop_at_the_protocol():
    raw = pd.read_csv(DATA_DIR / "rcmp_interceptions_monthly.csv")
    assert (raw["year"] * 100 + raw["month"].clip(lower=1)).max() <= 202303
    assert set(raw["kind"]) <= {"month", "year"}  # the two 'ytd_cumulative' rows were single months


def test_rcmp_corrections():
    raw = pd.read_csv(DATA_DIR / "rcmp_interceptions_monthly.csv").set_index(["year", "month", "province"])
    assert raw.loc[(2017, 1, "Canada"), "interceptions"] == 315
    assert (2017, 1, "British Columbia") not in raw.index
    assert raw.loc[(2018, 9, "Canada"), "kind"] == "month" and raw.loc[(2018, 9, "Canada"), "interceptions"] == 1601
    assert raw.loc[(2018, 11, "Canada"), "kind"] == "month" and raw.loc[(2018, 11, "Canada"), "interceptions"] == 1019
    assert raw.loc[(2022, 11, "Quebec"), "interceptions"] == 3731
    assert raw.loc[(2022, 0, "Canada"), "interceptions"] == 39_540
    assert raw.loc[(2022, 9, "Canada"), "source"].startswith("IRCC")
    # province rows never exceed the Canada row of the same month
    m = raw[raw.kind == "month"].reset_index()
    wide = m.pivot_table(index=["year", "month"], columns="province", values="interceptions")
    provinces = wide.drop(columns="Canada").sum(axis=1)
    assert (provinces[wide["Canada"].notna()] <= wide["Canada"].dropna()).all()
    # months whose IRCC table is shipped: provinces add up to Canada exactly
    for year in (2018, 2022):
        rows = wide.loc[year]
        assert (rows.drop(columns="Canada").sum(axis=1) == rows["Canada"]).all(), year
    # rows still resting on blogs say so
    blog = m[m["source"].str[:60].str.contains("canucklaw|thepopcan")]
    assert len(blog) and blog["source"].str.contains("FLAG:").all()


def test_quebec_share_of_port_claims_is_what_the_data_give():
    """canada.quebec_share_port is derived, not guessed: land-port claims less those made outside Quebec
    (border-office claims outside Quebec less the RCMP's interceptions there), pooled over the years with
    every series (2020 has no RCMP figure for Quebec)."""
    from simulation.experiments.calibration import observed
    from simulation.experiments.validation import observed_annual
    from simulation.scenario.schema import CanadaSpec

    land_port = observed().modes["land_port"]
    wide = data.ircc_claims_wide()
    border_rest = wide["border_rest_of_canada"].groupby(wide.index.str[:4].astype(int)).sum()
    rcmp = observed_annual()
    port_rest = border_rest - (rcmp["Canada"] - rcmp["Quebec"])
    years = [y for y in land_port.index if y <= 2022 and not np.isnan(port_rest.get(y, np.nan))]
    assert years == [2017, 2018, 2019, 2021, 2022]
    share = 1 - port_rest[years].sum() / land_port[years].sum()
    assert CanadaSpec().quebec_share_port == pytest.approx(share, abs=0.005)
