"""The policy levers, declared once, and how dated changes of them resolve to the rules in force.

:class:`RuleSet` is the law in force on one day; each of its fields is a
policy lever, declared here with its type, bounds, unit, source and meaning.
Everything else is derived from this declaration: the ``[policy]`` table of a
scenario file, the fields a dated ``[[policy.change]]`` may set
(:data:`PolicyChange`), the docs tables, the sensitivity ranges and the
dashboard controls. To add a lever, add a field here and use it in the pure
function of :mod:`simulation.core.rules` that it changes.

A scenario is a base rule set plus named, dated changes (:class:`RuleChange`);
:func:`rules_at` resolves the rules for a day in the manner of dated parameters
in OpenFisca/PolicyEngine: a change applies from its ``start`` date and, if it
has an ``until`` date, the earlier value returns on that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, field_validator

from ..calendar import parse_date
from .groups import GROUPS, WESTERN_HEMISPHERE
from .kinds import param

#: The exceptions of IRPR s.159.5 (family, unaccompanied minor, document holder) and s.159.6 (public interest),
#: by the names scenario files use.
EXCEPTIONS = ("family", "unaccompanied_minor", "document_holder", "public_interest")
#: What can happen at Roxham Road.
ROXHAM_STATUSES = ("open", "closed", "designated_port")

Exception_ = Literal["family", "unaccompanied_minor", "document_holder", "public_interest"]
Group = Literal[GROUPS]  # type: ignore[valid-type]
Roxham = Literal["open", "closed", "designated_port"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    """A table of a scenario file: unknown keys are errors, and types are strict
    (a TOML string "yes" is not a bool and "14" is not a number; ints are still fine as floats)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False)


def _western(groups):
    bad = [g for g in groups if g not in WESTERN_HEMISPHERE]
    if bad:
        raise ValueError(f"{bad} are not Western Hemisphere groups; allowed: {list(WESTERN_HEMISPHERE)}")
    return groups


# lists in TOML, tuples in the model (a rule set is hashable); a string is still not a list
_Exceptions = Annotated[tuple[Exception_, ...], Field(strict=False)]
_Groups = Annotated[tuple[Group, ...], Field(strict=False)]
_WesternGroups = Annotated[tuple[Group, ...], Field(strict=False), AfterValidator(_western)]


class RuleSet(Section):
    """The rules in force on one day. Every field is a policy lever.

    Defaults are the 2004 regime (STCA at land ports only, Roxham an open
    crossing, all four exceptions).
    """

    model_config = ConfigDict(frozen=True)

    stca_at_ports: bool = param(
        True, "bool", "IRPA s.101(1)(e); IRPR ss.159.3-159.4 (in force 2004-12-29)",
        "STCA applies at land ports of entry.")
    stca_between_ports: bool = param(
        False, "bool", "Additional Protocol, in force 2023-03-25: SOR/2023-58 (IRPR s.159.1 'Agreement', s.159.4(1.1))",
        "STCA applies between ports (claims within the return window).")
    return_window_days: int = param(
        14, "days", "Additional Protocol (2023): 14 days (IRPR s.159.4(1.1), added by SOR/2023-58 s.3)",
        "Days after crossing within which a between-ports claimant is returned.", ge=1, le=3650)
    exceptions: _Exceptions = param(
        EXCEPTIONS, "list", "IRPR s.159.5 (family, minor, document holder); s.159.6 (public interest)",
        "STCA exceptions that exist: family, unaccompanied_minor, document_holder, public_interest.")
    roxham: Roxham = param("open", "status", "domain brief", "Roxham Road: open crossing, closed, or designated_port.")
    direct_back: bool = param(
        False, "bool", "Quarantine Act orders 2020-03-21 .. 2021-11-21 (Public Safety binder 2020-07)",
        "Intercepted irregular crossers are directed back to the US.")
    between_ports_detection: Probability = param(
        0.25, "probability", "assumption",
        "Chance a crosser away from Roxham is detected (within the return window) when interception sends people "
        "back (direct-back, Protocol); under the 2004 rules crossers present themselves.")
    roxham_interception: Probability = param(
        0.99, "probability", "RCMP intercepted nearly all Roxham crossers (domain brief); 0.99 is an assumption",
        "Chance a Roxham crosser is intercepted by the RCMP.")
    visa_required: _Groups = param(
        tuple(g for g in GROUPS if g != "mexico"), "list of groups",
        "IRPR Schedule 1 visa list; Mexico visa-free 2016-12-01 .. 2024-02-29",
        "Groups that need a Canadian visa to fly to Canada.")
    humanitarian_pr_per_month: float = param(
        0.0, "persons/month", "2023 commitment: up to 11,000 permanent-residence places (IRCC 2023-10-10; "
        "admissions from 2024, IRCC committee briefing 2024-02-07)",
        "Permanent-residence admissions on the humanitarian pathway for people in Latin America, per month.", ge=0.0)
    humanitarian_work_permits_per_month: float = param(
        0.0, "persons/month", "2023 commitment: ~4,000 through labour pathways (IRCC committee briefing 2024-02-07)",
        "Work permits on the labour pathways for people in Latin America, per month.", ge=0.0)
    resettlement_groups: _WesternGroups = param(
        ("haiti", "venezuela", "colombia"), "list of groups", "IRCC 2023-10-10: Colombians, Haitians, Venezuelans",
        "Groups eligible for the humanitarian places.")
    transfers_out_of_quebec: bool = param(
        False, "bool", "IRCC CIMM 2024: transfers from 2022-06-30",
        "Claimants may be moved to other provinces when Quebec's shelters are full.")
    late_between_ports_claims_barred: bool = param(
        False, "bool", "Bill C-12 (royal assent 2026-03-26), for claims made on or after 2025-06-03: a person who "
        "entered between ports from the US and claims more than 14 days later is not referred to the IRB",
        "Claims made after hiding past the return window are not referred to the IRB (pre-removal risk assessment only).")
    one_year_bar: bool = param(
        False, "bool", "Bill C-12 (royal assent 2026-03-26), for claims made on or after 2025-06-03: claims made more "
        "than one year after entry (entries after 2020-06-24) are not referred to the IRB",
        "Inland claims made more than a year after entering Canada are not referred to the IRB.")

    def replace(self, **changes) -> RuleSet:
        """A copy with some levers changed, validated like a scenario file's values."""
        return type(self).model_validate({**dict(self), **changes})

    def values(self) -> dict:
        """The levers as plain Python values (lists for tuples), for provenance files."""
        return self.model_dump(mode="json")


#: The names of the levers, in declaration order.
LEVERS: tuple[str, ...] = tuple(RuleSet.model_fields)


class _ChangeBase(Section):
    """A named, dated change of some policy levers."""

    name: str = Field(description="Unique name; a child scenario replaces or disables a change by this name.")
    start: str | None = Field(None, alias="from", description="First day the change applies ('YYYY-MM-DD' or 'YYYY-MM').")
    until: str | None = Field(None, description="First day the earlier values apply again (optional).")
    enabled: bool = Field(True, description="Set false in a child scenario to drop an inherited change.")
    label: str = Field("", description="A short name in plain words for the plots' markers, e.g. 'Additional Protocol' "
                                        "(the plots add the date; default: the description up to its first colon or "
                                        "bracket).")
    description: str = Field("", description="What the change is, in words.")
    source: str = Field("", description="Where the change and its date come from.")

    @field_validator("start", "until")
    @classmethod
    def _date(cls, v):
        if v is not None:
            parse_date(v)
        return v

    def values(self) -> dict:
        """The levers this change sets."""
        return {k: getattr(self, k) for k in LEVERS if getattr(self, k) is not None}


def _declared_type(f):
    """A field's type with its constraints (bounds, validators), as declared."""
    return Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation


#: A ``[[policy.change]]`` table: the change's name and dates, and any lever of :class:`RuleSet`, each optional.
PolicyChange = create_model(
    "PolicyChange",
    __base__=_ChangeBase,
    __doc__=_ChangeBase.__doc__,
    **{name: (Optional[_declared_type(f)], None) for name, f in RuleSet.model_fields.items()},
)


@dataclass(frozen=True)
class RuleChange:
    """A named, dated override of some levers.

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


def rules_at(day: dt.date, base: RuleSet, changes) -> RuleSet:
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
    return sorted({c.start for c in changes} | {c.until for c in changes if c.until is not None})


def rule_timeline(base: RuleSet, changes, first: dt.date, last: dt.date) -> list[tuple[dt.date, RuleSet]]:
    """The distinct rule sets in force from ``first`` to ``last``: (first day, rules) for each period."""
    out = [(first, rules_at(first, base, changes))]
    for day in change_dates(changes):
        if first < day <= last:
            rules = rules_at(day, base, changes)
            if rules != out[-1][1]:
                out.append((day, rules))
    return out
