"""Directional checks on the bundled options, at a small scale, pooling two seeds.

Only directions and large ratios are asserted, never model outputs: each
check held with margin for every seed tried at scales 0.003 and 0.005.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.core.columns import COUNT_COLUMNS
from simulation.scenario import load_scenario, scenario_from_dict
from simulation.scenario.schema import TimeSpec

from tests.conftest import SCENARIO_DIR, SCENARIO_SEEDS, run_model, small_scenario

AFTER = ("2023-04", "2025-12")  # whole months under the options (they start 2023-03-25)
BEFORE_END = "2023-02"  # last whole month before any option differs


def total(get, name: str, column: str, months=AFTER) -> float:
    """A column summed over ``months`` and over the pooled seeds."""
    out = 0.0
    for seed in SCENARIO_SEEDS:
        df = get(name, seed).set_index("month")
        out += df.loc[months[0] : months[1], column].sum()
    return out


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_scenario_loads(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert sc.scenario.extends is None  # resolved
    assert sc.scenario.description  # each option says what it is


def test_protocol_cuts_roxham_crossings_by_more_than_80_percent(bundled_results):
    with_protocol = total(bundled_results, "protocol_2023", "roxham_crossings")
    without = total(bundled_results, "no_protocol", "roxham_crossings")
    assert without > 0
    assert with_protocol < 0.2 * without


def test_protocol_returns_only_under_the_protocol(bundled_results):
    assert total(bundled_results, "protocol_2023", "protocol_returns") > 0
    assert total(bundled_results, "protocol_2023", "protocol_returns", ("2017-01", BEFORE_END)) == 0
    assert total(bundled_results, "no_protocol", "protocol_returns", ("2017-01", "2025-12")) == 0


@pytest.mark.parametrize("column", ["other_irregular_crossings", "deaths_expected_elsewhere"])
def test_protocol_displaces_crossers_to_riskier_routes(bundled_results, column):
    assert total(bundled_results, "protocol_2023", column) > total(bundled_results, "no_protocol", column)


def test_suspending_the_stca_moves_crossers_from_roxham_to_ports(bundled_results):
    assert total(bundled_results, "suspend_stca", "port_claims") > 2 * total(bundled_results, "no_protocol", "port_claims")
    assert total(bundled_results, "suspend_stca", "roxham_crossings") < total(bundled_results, "no_protocol", "roxham_crossings")
    # with the STCA suspended nobody is turned back at a port
    assert total(bundled_results, "suspend_stca", "port_turnbacks") == 0


def test_roxham_as_a_designated_port(bundled_results):
    # nobody crosses "between ports" at Roxham any more: they arrive at a port and the STCA applies
    assert total(bundled_results, "roxham_designated_port", "roxham_crossings") == 0
    assert total(bundled_results, "roxham_designated_port", "roxham_port_arrivals") > 0
    assert total(bundled_results, "roxham_designated_port", "port_turnbacks") > total(bundled_results, "no_protocol", "port_turnbacks")


@pytest.mark.parametrize("option", ["protocol_2023", "suspend_stca", "roxham_designated_port"])
def test_common_random_numbers_make_options_identical_before_they_differ(bundled_results, option):
    a = bundled_results("no_protocol", SCENARIO_SEEDS[0]).set_index("month").loc[:BEFORE_END, list(COUNT_COLUMNS)]
    b = bundled_results(option, SCENARIO_SEEDS[0]).set_index("month").loc[:BEFORE_END, list(COUNT_COLUMNS)]
    assert len(a) == 74  # 2017-01 .. 2023-02
    pd.testing.assert_frame_equal(a, b)
    # ... and they do differ afterwards
    after_a = bundled_results("no_protocol", SCENARIO_SEEDS[0]).set_index("month").loc[AFTER[0]:, list(COUNT_COLUMNS)]
    after_b = bundled_results(option, SCENARIO_SEEDS[0]).set_index("month").loc[AFTER[0]:, list(COUNT_COLUMNS)]
    assert not np.allclose(after_a.to_numpy(), after_b.to_numpy())


def test_closed_roxham_is_not_crossed():
    sc = small_scenario("no_protocol", scale=0.005)
    raw = sc.to_dict()
    raw["policy"]["change"].append({"name": "close_roxham", "from": "2023-03-25", "roxham": "closed"})
    sc = scenario_from_dict(raw).model_copy(update={"time": TimeSpec(start="2022-06", end="2023-09")})
    df = run_model(sc).results().set_index("month")
    assert df.loc["2022-06":BEFORE_END, "roxham_crossings"].sum() > 0  # it was in use
    assert df.loc["2023-04":, "roxham_crossings"].sum() == 0


# --- the options analysts discuss today (from 2025-09 on), on a short window ------------------------------------

LATE = dict(start="2025-01", end="2026-12", scale=0.005)


@pytest.fixture(scope="module")
def late_results():
    cache: dict = {}

    def get(name: str) -> pd.DataFrame:
        if name not in cache:
            cache[name] = run_model(small_scenario(name, **LATE)).results().set_index("month")
        return cache[name]

    return get


@pytest.mark.parametrize("option, first_change", [("terminate_stca", "2026-02"), ("stca_struck_down", "2025-09"),
                                                  ("canada_2025_eligibility", "2026-03")])
def test_late_options_match_what_happened_until_they_start(late_results, option, first_change):
    before = late_results("protocol_2023").loc[: "2025-08" if first_change == "2025-09" else "2025-12", list(COUNT_COLUMNS)]
    pd.testing.assert_frame_equal(before, late_results(option).loc[before.index, list(COUNT_COLUMNS)])


@pytest.mark.parametrize("option, start", [("terminate_stca", "2026-02"), ("stca_struck_down", "2025-09")])
def test_without_the_stca_claimants_go_to_ports_and_nobody_is_turned_back(late_results, option, start):
    base, alt = late_results("protocol_2023").loc[start:], late_results(option).loc[start:]
    assert alt["port_turnbacks"].sum() == 0 and alt["protocol_returns"].sum() == 0
    assert alt["port_claims"].sum() > base["port_claims"].sum()


def test_bill_c12_bars_claims_that_were_referred_before(late_results):
    base, alt = late_results("protocol_2023").loc["2026-04":], late_results("canada_2025_eligibility").loc["2026-04":]
    assert alt["claims_barred"].sum() > 0 and base["claims_barred"].sum() == 0
    assert alt["irb_backlog"].iloc[-1] < base["irb_backlog"].iloc[-1]
