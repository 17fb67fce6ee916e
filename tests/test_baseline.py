"""The history run still gives the yearly totals pinned in tests/baseline.json (see tests/baseline.py)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.baseline import BASELINE, FLOWS, STOCKS, current, differences


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(BASELINE.read_text())


def test_history_matches_the_baseline(expected):
    diff = differences(expected, current())
    assert diff == [], ("the history run moved from tests/baseline.json; if the change is intended, run "
                        "'.venv/bin/python -m tests.baseline --update' and say why in the commit:\n" + "\n".join(diff[:40]))


def test_the_baseline_covers_the_headline_levels(expected):
    assert set(expected["totals"]) == set(FLOWS) | set(STOCKS)
    years = expected["totals"]["claims_in_canada"]
    assert min(years) <= "2017" and max(years) >= "2024"


@pytest.mark.parametrize("factor", [0.8, 1.2, 1.0001])
def test_a_shift_in_any_level_is_caught(expected, factor):
    """The comparison itself: a 20% (or a 0.01%) shift of one yearly total is reported."""
    for column in ("roxham_crossings", "irb_backlog", "reception_cost_cad"):
        shifted = copy.deepcopy(expected)
        year = max(y for y, v in shifted["totals"][column].items() if v)
        shifted["totals"][column][year] *= factor
        assert len(differences(expected, shifted)) == 1
