"""The Safe Third Country Agreement and the rules around it, as pure functions.

A :class:`RuleSet` is the law in force on one day. A scenario is a base rule
set plus dated, named changes (:class:`RuleChange`); :func:`rules_at` resolves
the rule set for a date, in the manner of dated parameters in
OpenFisca/PolicyEngine: a change applies from its ``start`` date, and, if it has
an ``until`` date, the previous value returns on that day.

The outcome functions (:func:`port_of_entry_outcome`,
:func:`between_ports_outcome`) are vectorised over persons: they take numpy
boolean arrays describing each claimant and return what happens to each one.
They hold no state and draw no random numbers; the model supplies the draws.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

#: The four exceptions of IRPR s.159.5, by the names scenario files use.
EXCEPTIONS = ("family", "unaccompanied_minor", "document_holder", "public_interest")

#: What can happen at Roxham Road.
ROXHAM_STATUSES = ("open", "closed", "designated_port")


class Outcome(IntEnum):
    """What happens to a person who reaches Canada by land."""

    CLAIM = 0  #: allowed to make a refugee claim (referred to the IRB)
    TURNED_BACK = 1  #: returned to the US at a port of entry under the STCA
    PROTOCOL_RETURN = 2  #: returned to the US under the 2023 Additional Protocol
    DIRECTED_BACK = 3  #: directed back to the US under the COVID-19 orders
    INELIGIBLE = 4  #: exception applies but ordinary eligibility checks fail


@dataclass(frozen=True)
class RuleSet:
    """The rules in force on one day. Every field is a policy lever.

    Defaults are the 2004 regime (STCA at land ports only, Roxham an open
    crossing, all four exceptions).
    """

    #: STCA applies at land ports of entry (IRPA s.101(1)(e); IRPR s.159.3, in force 2004-12-29).
    stca_at_ports: bool = True
    #: STCA applies between ports (Additional Protocol, in force 2023-03-25; IRPR s.159.1 as amended).
    stca_between_ports: bool = False
    #: Days after crossing within which a between-ports claimant is returned (Protocol: 14).
    return_window_days: int = 14
    #: Which IRPR s.159.5 exceptions exist.
    exceptions: tuple[str, ...] = EXCEPTIONS
    #: Roxham Road: an open crossing between ports, closed (physically barred), or a designated port.
    roxham: str = "open"
    #: All irregular crossers intercepted are directed back to the US (Quarantine Act orders, 2020-03-21 .. 2021-11-21).
    direct_back: bool = False
    #: Probability that a person crossing between ports away from Roxham is detected by the RCMP/CBSA.
    between_ports_detection: float = 0.25
    #: Probability that a person crossing at Roxham Road is intercepted by the RCMP.
    roxham_interception: float = 0.99
    #: Nationality groups that need a visa (or eTA they cannot get) to fly to Canada.
    visa_required: tuple[str, ...] = ()
    #: Humanitarian places per month for people still in Latin America (2023 commitment: 15,000 in a year).
    resettlement_places_per_month: float = 0.0
    #: Nationality groups eligible for those places.
    resettlement_groups: tuple[str, ...] = ()
    #: Quebec may transfer claimants to other provinces when its shelters are full (from 2022-06-30).
    transfers_out_of_quebec: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.exceptions) - set(EXCEPTIONS)
        if unknown:
            raise ValueError(f"unknown exceptions {sorted(unknown)}; allowed: {list(EXCEPTIONS)}")
        if self.roxham not in ROXHAM_STATUSES:
            raise ValueError(f"roxham={self.roxham!r}; allowed: {list(ROXHAM_STATUSES)}")

    def replace(self, **changes) -> RuleSet:
        return dataclasses.replace(self, **changes)


RULE_FIELDS = tuple(f.name for f in dataclasses.fields(RuleSet))


@dataclass(frozen=True)
class RuleChange:
    """A named, dated override of some rule fields.

    ``start`` is the first day the change applies; ``until`` (exclusive), if
    set, is the first day the previous values apply again.
    """

    name: str
    start: dt.date
    until: dt.date | None = None
    values: dict = field(default_factory=dict)
    description: str = ""
    source: str = ""

    def in_force(self, day: dt.date) -> bool:
        return self.start <= day and (self.until is None or day < self.until)


def rules_at(day: dt.date, base: RuleSet, changes: tuple[RuleChange, ...] | list[RuleChange]) -> RuleSet:
    """The rule set in force on ``day``: the base, overlaid by every change in force, in file order.

    A bounded change (with ``until``) restores the earlier value on its end
    date because it simply stops being overlaid; the baseline is never mutated.
    """
    values: dict = {}
    for change in changes:
        if change.in_force(day):
            values.update(change.values)
    return base.replace(**values) if values else base


def change_dates(changes) -> list[dt.date]:
    """Every date on which the rules may change (starts and ends of changes), sorted."""
    dates = {c.start for c in changes} | {c.until for c in changes if c.until is not None}
    return sorted(dates)


# --- who may claim ---------------------------------------------------------


def exception_applies(
    rules: RuleSet,
    family: np.ndarray,
    unaccompanied_minor: np.ndarray,
    document_holder: np.ndarray,
    public_interest: np.ndarray,
) -> np.ndarray:
    """Whether an STCA exception lets each person through to the eligibility checks.

    IRPR s.159.5: (a)–(e) a family member in Canada who is a citizen, permanent
    resident, protected person, accepted claimant, holder of a work or study
    permit, or an adult with a pending claim; (e) an unaccompanied minor; (f)
    holders of a valid Canadian visa, work or study permit or travel document,
    or persons who need a visa for the US but not for Canada; (g)–(h) the
    public-interest exception (e.g. charged with or convicted of an offence
    punishable by death). Only exceptions listed in ``rules.exceptions`` count.
    """
    out = np.zeros(np.shape(family), dtype=bool)
    if "family" in rules.exceptions:
        out |= family
    if "unaccompanied_minor" in rules.exceptions:
        out |= unaccompanied_minor
    if "document_holder" in rules.exceptions:
        out |= document_holder
    if "public_interest" in rules.exceptions:
        out |= public_interest
    return out


def port_of_entry_outcome(rules: RuleSet, has_exception: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Outcome for persons who ask for asylum at a Canadian land port of entry.

    IRPA s.101(1)(e): a claim is ineligible if the claimant came directly or
    indirectly from a country designated by the regulations (IRPR s.159.3: the
    United States), unless an exception of IRPR s.159.5 applies (IRPR s.159.4
    covers ports on the land border). With an exception the claim goes through
    the ordinary eligibility checks of IRPA s.101(1) (criminality, security);
    ``eligible`` carries their result.
    """
    has_exception = np.asarray(has_exception, dtype=bool)
    out = np.full(has_exception.shape, Outcome.CLAIM, dtype=np.int8)
    if rules.stca_at_ports:
        out[~has_exception] = Outcome.TURNED_BACK
        out[has_exception & ~np.asarray(eligible, dtype=bool)] = Outcome.INELIGIBLE
    return out


def between_ports_outcome(
    rules: RuleSet,
    detected_within_window: np.ndarray,
    has_exception: np.ndarray,
    eligible: np.ndarray,
) -> np.ndarray:
    """Outcome for persons who enter Canada between ports and are (or are not) detected.

    * 2004–2023 ("the loophole"): the STCA covered only ports (IRPR s.159.4 as
      made in 2004), so a person intercepted between ports could claim.
    * COVID-19 (Minimum Healthcare Orders under the Quarantine Act,
      2020-03-21 .. 2021-11-21): irregular crossers intercepted were directed
      back to the US; the few exceptions are approximated by the STCA ones.
    * Additional Protocol (in force 2023-03-25; IRPR s.159.1 "port of entry"
      amended and s.159.4 extended): a person who crosses between ports and
      makes a claim within ``return_window_days`` (14) days of crossing is
      returned to the US unless an exception of s.159.5 applies.

    ``detected_within_window`` is whether the person is detected (or claims)
    within the return window; persons who stay hidden past it make an inland
    claim that the Protocol does not cover.
    """
    detected = np.asarray(detected_within_window, dtype=bool)
    has_exception = np.asarray(has_exception, dtype=bool)
    out = np.full(detected.shape, Outcome.CLAIM, dtype=np.int8)
    if rules.direct_back:
        out[detected & ~has_exception] = Outcome.DIRECTED_BACK
    elif rules.stca_between_ports:
        out[detected & ~has_exception] = Outcome.PROTOCOL_RETURN
    else:
        return out
    out[detected & has_exception & ~np.asarray(eligible, dtype=bool)] = Outcome.INELIGIBLE
    return out


def roxham_is_port(rules: RuleSet) -> bool:
    """Whether Roxham Road is a designated port of entry (then port-of-entry rules apply there)."""
    return rules.roxham == "designated_port"


def roxham_is_open(rules: RuleSet) -> bool:
    """Whether people can cross at Roxham Road at all."""
    return rules.roxham != "closed"


def can_fly(rules: RuleSet, group_needs_visa: np.ndarray, holds_canadian_visa: np.ndarray) -> np.ndarray:
    """Whether each person can board a flight to Canada.

    Air travel needs a visa or an eTA (IRPR s.7.1); the STCA does not apply at
    airports to persons not in transit after removal from the US (IRPR s.159.4
    covers land ports only), so air claimants claim as anyone else.
    E.g. Mexicans: visa lifted 2016-12-01, reimposed 2024-02-29.
    """
    return ~np.asarray(group_needs_visa, dtype=bool) | np.asarray(holds_canadian_visa, dtype=bool)
