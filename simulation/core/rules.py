"""The Safe Third Country Agreement and the rules around it, as pure functions.

The levers these functions read are declared once, in
:mod:`simulation.scenario.levers` (:class:`RuleSet`). The outcome functions
(:func:`port_of_entry_outcome`, :func:`between_ports_outcome`) are vectorised
over persons: they take numpy boolean arrays describing each claimant and
return what happens to each one. They hold no state and draw no random
numbers; the model supplies the draws.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from ..scenario.levers import EXCEPTIONS, ROXHAM_STATUSES, RuleChange, RuleSet, rules_at  # noqa: F401 (re-exported)


class Outcome(IntEnum):
    """What happens to a person who reaches Canada by land."""

    CLAIM = 0  #: allowed to make a refugee claim (referred to the IRB)
    TURNED_BACK = 1  #: returned to the US at a port of entry under the STCA
    PROTOCOL_RETURN = 2  #: returned to the US under the 2023 Additional Protocol
    DIRECTED_BACK = 3  #: directed back to the US under the COVID-19 orders
    INELIGIBLE = 4  #: exception applies but ordinary eligibility checks fail


# --- who may claim ---------------------------------------------------------


def exception_applies(
    rules: RuleSet,
    family: np.ndarray,
    unaccompanied_minor: np.ndarray,
    document_holder: np.ndarray,
    public_interest: np.ndarray,
) -> np.ndarray:
    """Whether an STCA exception lets each person through to the eligibility checks.

    IRPR s.159.5 (a)–(d): a family member in Canada who is a citizen, permanent
    resident, protected person, accepted claimant, holder of a work or study
    permit, or an adult with a pending claim (``family``); (e) an unaccompanied
    minor; (f) holders of a valid Canadian visa, work or study permit or travel
    document, and (g) persons who need a visa for the US but not for Canada
    (``document_holder``); IRPR s.159.6: the public-interest exception (charged
    with or convicted of an offence punishable by death; ``public_interest``).
    s.159.5(h), re-entry after a refusal by the US, is not modelled. Only
    exceptions listed in ``rules.exceptions`` count. (docs/legal_basis.md)
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
    United States), unless an exception of IRPR ss.159.5-159.6 applies (IRPR
    s.159.4(1) covers ports on the land border). With an exception the claim goes through
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
    * Additional Protocol (in force 2023-03-25; SOR/2023-58 replaced the
      definition of "Agreement" in IRPR s.159.1 and added s.159.4(1.1)): a
      person who enters between ports from the US and makes a claim within
      ``return_window_days`` (14) days of entering is returned to the US unless
      an exception of ss.159.5-159.6 applies.

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


def between_ports_detection(rules: RuleSet) -> float:
    """Chance that a person who crosses between ports away from Roxham Road comes to the RCMP's notice.

    Before the Additional Protocol, and outside the COVID-19 direct-back orders,
    no rule returned a person who entered between ports and claimed (IRPR
    s.159.4 as made in 2004 covered land ports only), so crossers had no reason
    to avoid the police: they walked up to the RCMP or called it, and IRCC
    counted them among the claimants "intercepted by the RCMP" (IRCC, Asylum
    claims by year, irregular border crossers). Every such crosser is then
    intercepted. When interception means being sent back (direct-back, or the
    Protocol's 14-day rule in IRPR s.159.4(1.1)), crossers try to stay unseen,
    and only ``rules.between_ports_detection`` of them are found.
    """
    if rules.direct_back or rules.stca_between_ports:
        return rules.between_ports_detection
    return 1.0


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
