"""The STCA rules as pure functions: who is returned, who may claim, and which rules are in force when.

Each table row is one person (or one day) and the outcome the law gives
(IRPA s.101(1)(e), IRPR ss.159.1-159.7, the 2023 Additional Protocol, the
2020-21 Quarantine Act orders; see /work/shared/domain.md).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulation.core import rules as R
from simulation.data import REPO_ROOT
from simulation.core.rules import EXCEPTIONS, Outcome, RuleChange, RuleSet, rules_at
from simulation.scenario.levers import change_dates
from simulation.scenario import load_scenario

CLAIM, TURNED_BACK, PROTOCOL_RETURN, DIRECTED_BACK, INELIGIBLE = (
    Outcome.CLAIM, Outcome.TURNED_BACK, Outcome.PROTOCOL_RETURN, Outcome.DIRECTED_BACK, Outcome.INELIGIBLE)

LOOPHOLE = RuleSet()  # 2004-2023: STCA at land ports only
PROTOCOL = RuleSet(stca_between_ports=True)  # from 2023-03-25
COVID = RuleSet(direct_back=True)  # 2020-03-21 .. 2021-11-21
SUSPENDED = RuleSet(stca_at_ports=False)  # option: STCA suspended
NO_EXCEPTIONS = RuleSet(exceptions=())


def one(fn, rules, *flags):
    """Apply a vectorised rule function to a single person."""
    return fn(rules, *(np.array([f]) for f in flags))[0]


# --- at a land port of entry --------------------------------------------------


@pytest.mark.parametrize(
    "rules, has_exception, eligible, expected",
    [
        # STCA at ports: returned to the US unless an exception applies
        (LOOPHOLE, False, True, TURNED_BACK),
        (LOOPHOLE, False, False, TURNED_BACK),
        (LOOPHOLE, True, True, CLAIM),
        # an exception only opens the door to the ordinary eligibility checks
        (LOOPHOLE, True, False, INELIGIBLE),
        # the Protocol changes nothing at ports
        (PROTOCOL, False, True, TURNED_BACK),
        (PROTOCOL, True, True, CLAIM),
        # STCA suspended: everyone may claim at a port (no exception route, so no INELIGIBLE outcome)
        (SUSPENDED, False, True, CLAIM),
        (SUSPENDED, True, False, CLAIM),
    ],
)
def test_port_of_entry_outcome(rules, has_exception, eligible, expected):
    assert one(R.port_of_entry_outcome, rules, has_exception, eligible) == expected


def test_port_of_entry_outcome_is_vectorised_per_person():
    exc = np.array([False, True, True, False])
    eli = np.array([True, True, False, False])
    out = R.port_of_entry_outcome(LOOPHOLE, exc, eli)
    assert out.tolist() == [TURNED_BACK, CLAIM, INELIGIBLE, TURNED_BACK]
    assert out.shape == exc.shape


# --- between ports ----------------------------------------------------------------


@pytest.mark.parametrize(
    "rules, detected, has_exception, eligible, expected",
    [
        # the "loophole": intercepted between ports, anyone may claim
        (LOOPHOLE, True, False, True, CLAIM),
        (LOOPHOLE, False, False, True, CLAIM),
        (LOOPHOLE, True, True, False, CLAIM),
        # Protocol: detected (or claiming) within the return window -> returned ...
        (PROTOCOL, True, False, True, PROTOCOL_RETURN),
        (PROTOCOL, True, False, False, PROTOCOL_RETURN),
        # ... unless an exception applies, then the eligibility checks decide
        (PROTOCOL, True, True, True, CLAIM),
        (PROTOCOL, True, True, False, INELIGIBLE),
        # outside the window (hidden for 14 days): an inland claim the Protocol does not cover
        (PROTOCOL, False, False, True, CLAIM),
        (PROTOCOL, False, True, False, CLAIM),
        # COVID orders: intercepted crossers directed back, with the exceptions
        (COVID, True, False, True, DIRECTED_BACK),
        (COVID, True, True, True, CLAIM),
        (COVID, True, True, False, INELIGIBLE),
        (COVID, False, False, True, CLAIM),
        # direct-back takes precedence if both are in force
        (RuleSet(direct_back=True, stca_between_ports=True), True, False, True, DIRECTED_BACK),
        # with no exceptions in law, the person with a family member is returned too
        (RuleSet(stca_between_ports=True, exceptions=()), True, False, True, PROTOCOL_RETURN),
    ],
)
def test_between_ports_outcome(rules, detected, has_exception, eligible, expected):
    assert one(R.between_ports_outcome, rules, detected, has_exception, eligible) == expected


def test_return_window_decides_protocol_return():
    # the same four persons, two detected within the window, two not
    detected = np.array([True, False, True, False])
    exc = np.zeros(4, bool)
    out = R.between_ports_outcome(PROTOCOL, detected, exc, np.ones(4, bool))
    assert out.tolist() == [PROTOCOL_RETURN, CLAIM, PROTOCOL_RETURN, CLAIM]


# --- the exceptions ---------------------------------------------------------------


def _person_with(exception: str) -> dict:
    flags = dict.fromkeys(EXCEPTIONS, np.array([False]))
    flags[exception] = np.array([True])
    return flags


@pytest.mark.parametrize("exception", EXCEPTIONS)
def test_each_exception_counts_only_when_in_force(exception):
    person = _person_with(exception)
    assert R.exception_applies(RuleSet(), **person)[0]
    # turned off on its own: this person has no way through any more
    others = tuple(e for e in EXCEPTIONS if e != exception)
    assert not R.exception_applies(RuleSet(exceptions=others), **person)[0]
    # turned on on its own: it is enough
    assert R.exception_applies(RuleSet(exceptions=(exception,)), **person)[0]


@pytest.mark.parametrize("exception", EXCEPTIONS)
def test_other_exceptions_do_not_help(exception):
    others = [e for e in EXCEPTIONS if e != exception]
    person = _person_with(others[0])
    assert not R.exception_applies(RuleSet(exceptions=(exception,)), **person)[0]


@pytest.mark.parametrize("exception", EXCEPTIONS)
def test_exception_turned_off_means_turned_back_at_port(exception):
    person = _person_with(exception)
    rules = RuleSet(exceptions=tuple(e for e in EXCEPTIONS if e != exception))
    has = R.exception_applies(rules, **person)
    assert R.port_of_entry_outcome(rules, has, np.array([True]))[0] == TURNED_BACK
    has = R.exception_applies(RuleSet(), **person)
    assert R.port_of_entry_outcome(RuleSet(), has, np.array([True]))[0] == CLAIM


def test_no_exceptions_in_force():
    flags = {e: np.ones(3, bool) for e in EXCEPTIONS}
    assert not R.exception_applies(NO_EXCEPTIONS, **flags).any()


# --- flying, Roxham status ------------------------------------------------------------


@pytest.mark.parametrize(
    "needs_visa, holds_visa, expected",
    [(False, False, True), (False, True, True), (True, True, True), (True, False, False)],
)
def test_can_fly(needs_visa, holds_visa, expected):
    assert R.can_fly(RuleSet(), np.array([needs_visa]), np.array([holds_visa]))[0] == expected


@pytest.mark.parametrize(
    "status, is_port, is_open",
    [("open", False, True), ("closed", False, False), ("designated_port", True, True)],
)
def test_roxham_status(status, is_port, is_open):
    rules = RuleSet(roxham=status)
    assert R.roxham_is_port(rules) is is_port
    assert R.roxham_is_open(rules) is is_open


# --- RuleSet validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"exceptions": ("family", "bribe")}, ["bribe", "unaccompanied_minor", "public_interest"]),
        ({"roxham": "shut"}, ["shut", "open", "closed", "designated_port"]),
    ],
)
def test_ruleset_rejects_bad_values(kwargs, words):
    with pytest.raises(ValueError) as e:
        RuleSet(**kwargs)
    for w in words:
        assert w in str(e.value)


def test_ruleset_replace_validates_too():
    with pytest.raises(ValueError):
        RuleSet().replace(roxham="shut")


# --- dated changes ----------------------------------------------------------------------

D = dt.date
COVID_CHANGE = RuleChange("covid", D(2020, 3, 21), D(2021, 11, 21), {"direct_back": True})
PROTOCOL_CHANGE = RuleChange("protocol", D(2023, 3, 25), None, {"stca_between_ports": True})


@pytest.mark.parametrize(
    "day, direct_back, between_ports",
    [
        (D(2020, 3, 20), False, False),  # day before the orders
        (D(2020, 3, 21), True, False),  # first day in force
        (D(2021, 11, 20), True, False),  # last day in force
        (D(2021, 11, 21), False, False),  # `until` is exclusive: the old value is back
        (D(2023, 3, 24), False, False),
        (D(2023, 3, 25), False, True),  # the Protocol, open-ended
        (D(2030, 1, 1), False, True),
    ],
)
def test_rules_at_dated_changes(day, direct_back, between_ports):
    rules = rules_at(day, RuleSet(), [COVID_CHANGE, PROTOCOL_CHANGE])
    assert rules.direct_back is direct_back
    assert rules.stca_between_ports is between_ports


def test_bounded_change_restores_the_value_of_an_earlier_change_not_the_base():
    closed = RuleChange("closed", D(2019, 1, 1), None, {"roxham": "closed"})
    port = RuleChange("port", D(2020, 1, 1), D(2021, 1, 1), {"roxham": "designated_port"})
    changes = [closed, port]
    assert rules_at(D(2018, 6, 1), RuleSet(), changes).roxham == "open"
    assert rules_at(D(2020, 6, 1), RuleSet(), changes).roxham == "designated_port"
    assert rules_at(D(2021, 1, 1), RuleSet(), changes).roxham == "closed"


def test_overlapping_changes_apply_in_file_order():
    early_start = RuleChange("a", D(2020, 1, 1), None, {"between_ports_detection": 0.9})
    late_start = RuleChange("b", D(2022, 1, 1), None, {"between_ports_detection": 0.1})
    day = D(2023, 1, 1)
    # both in force: the one listed last wins, whatever its start date
    assert rules_at(day, RuleSet(), [early_start, late_start]).between_ports_detection == 0.1
    assert rules_at(day, RuleSet(), [late_start, early_start]).between_ports_detection == 0.9


def test_rules_at_never_mutates_the_base():
    base = RuleSet()
    rules_at(D(2024, 1, 1), base, [PROTOCOL_CHANGE])
    assert base == RuleSet()
    assert rules_at(D(2024, 1, 1), base, []) is base


def test_change_dates_sorted_and_unique():
    again = RuleChange("again", D(2021, 11, 21), None, {"roxham": "closed"})
    assert change_dates([PROTOCOL_CHANGE, COVID_CHANGE, again]) == [D(2020, 3, 21), D(2021, 11, 21), D(2023, 3, 25)]


# --- the bundled real timeline ------------------------------------------------------------


@pytest.fixture(scope="module")
def history():
    sc = load_scenario(REPO_ROOT / "scenarios" / "history.toml")
    return lambda day: rules_at(day, sc.base_rules(), sc.rule_changes())


@pytest.mark.parametrize(
    "day, field, expected",
    [
        (D(2017, 1, 1), "stca_at_ports", True),
        (D(2017, 1, 1), "stca_between_ports", False),
        (D(2020, 3, 20), "direct_back", False),
        (D(2020, 3, 21), "direct_back", True),
        (D(2021, 11, 20), "direct_back", True),
        (D(2021, 11, 21), "direct_back", False),
        (D(2022, 6, 29), "transfers_out_of_quebec", False),
        (D(2022, 6, 30), "transfers_out_of_quebec", True),
        (D(2023, 3, 24), "stca_between_ports", False),
        (D(2023, 3, 25), "stca_between_ports", True),
        (D(2023, 3, 25), "return_window_days", 14),
        (D(2023, 12, 31), "humanitarian_pr_per_month", 0.0),
        (D(2024, 1, 1), "humanitarian_pr_per_month", 458.0),  # 11,000 over two years
        (D(2024, 1, 1), "humanitarian_work_permits_per_month", 167.0),
        (D(2025, 7, 31), "humanitarian_pr_per_month", 458.0),
    ],
)
def test_history_timeline(history, day, field, expected):
    assert getattr(history(day), field) == expected


@pytest.mark.parametrize("day, needs_visa", [(D(2024, 2, 28), False), (D(2024, 2, 29), True)])
def test_history_mexico_visa(history, day, needs_visa):
    assert ("mexico" in history(day).visa_required) is needs_visa
    # every other group needs a visa throughout
    assert "haiti" in history(day).visa_required


@pytest.mark.parametrize("rules, expected", [
    (LOOPHOLE, 1.0),  # nothing to fear from the RCMP: crossers present themselves
    (SUSPENDED, 1.0),
    (COVID, COVID.between_ports_detection),  # interception means being directed back: crossers hide
    (PROTOCOL, PROTOCOL.between_ports_detection),  # ... or being returned within 14 days
    (RuleSet(stca_between_ports=True, between_ports_detection=0.6), 0.6),
])
def test_crossers_away_from_roxham_are_intercepted_unless_interception_sends_them_back(rules, expected):
    assert R.between_ports_detection(rules) == expected
