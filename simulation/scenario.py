"""Scenario files: the pydantic schema, ``extends`` inheritance, and dated values.

A scenario file is TOML with the tables ``[scenario]``, ``[time]``,
``[policy]`` (+ ``[[policy.change]]``), ``[behaviour]`` (+
``[[behaviour.news]]``), ``[canada]``, ``[us]``, ``[population]``, ``[routes]`` and ``[run]``.
Every parameter has a default, a unit and a source (or the word
"assumption"), kept in the schema below so the docs are generated from it.

A file may ``extends = "other.toml"``: tables merge key by key, and the lists
of named tables (``policy.change``, ``behaviour.news``) merge by ``name``, so
an option states only what differs, e.g. ``enabled = false`` to drop a change.

Numeric parameters marked *dated* take either a number or a table of
``"YYYY-MM" = value`` entries: a step function, each value applying from its
date until the next one (before the first date, the first value applies).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .groups import GROUPS, WESTERN_HEMISPHERE
from .rules import EXCEPTIONS, RuleChange, RuleSet


class ScenarioError(Exception):
    """A scenario file is wrong. The message names the file, the key, the value and what is allowed."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


# --- helpers ---------------------------------------------------------------


def param(default, unit: str, source: str, doc: str, **kw):
    """A parameter with its unit and source, kept in the JSON schema for the docs."""
    return Field(default, description=doc, json_schema_extra={"unit": unit, "source": source}, **kw)


_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: Any) -> dt.date:
    """'YYYY-MM' (first of the month), 'YYYY-MM-DD' or a TOML date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            if _MONTH.match(value):
                return dt.date(int(value[:4]), int(value[5:7]), 1)
            if _DAY.match(value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"not a date: {value!r}; use 'YYYY-MM' or 'YYYY-MM-DD'")


def month_end(month_start: dt.date) -> dt.date:
    """Last day of the month that starts on ``month_start``."""
    nxt = dt.date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


Dated = float | dict[str, float]


def dated_value(value: Dated, day: dt.date) -> float:
    """Evaluate a dated parameter on ``day``."""
    if not isinstance(value, dict):
        return float(value)
    steps = sorted((parse_date(k), float(v)) for k, v in value.items())
    current = steps[0][1]
    for start, v in steps:
        if start <= day:
            current = v
        else:
            break
    return current


def _check_dated(value: Dated, minimum: float = 0.0, maximum: float | None = None) -> Dated:
    values = value.values() if isinstance(value, dict) else [value]
    if isinstance(value, dict):
        if not value:
            raise ValueError("a dated table needs at least one 'YYYY-MM' = value entry")
        for k in value:
            parse_date(k)
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"{v} is not a finite number")
        if v < minimum or (maximum is not None and v > maximum):
            hi = f" and at most {maximum}" if maximum is not None else ""
            raise ValueError(f"{v} is out of range; must be at least {minimum}{hi}")
    return value


def _check_western(groups):
    bad = [g for g in groups if g not in WESTERN_HEMISPHERE]
    if bad:
        raise ValueError(f"{bad} are not Western Hemisphere groups; allowed: {list(WESTERN_HEMISPHERE)}")
    return groups


class _Section(BaseModel):
    # strict: a TOML string "yes" is not a bool and "14" is not a number (ints are still fine as floats)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False)


def _per_group(value: dict[str, float]) -> dict[str, float]:
    bad = set(value) - set(GROUPS) - {"default"}
    if bad:
        raise ValueError(f"unknown group(s) {sorted(bad)}; allowed: {list(GROUPS)} or 'default'")
    return value


# --- sections --------------------------------------------------------------


class ScenarioMeta(_Section):
    name: str = Field("unnamed", description="Short name used in results and plots.")
    description: str = Field("", description="One line saying what this scenario is.")
    extends: str | None = Field(None, description="Path (relative to this file) of the scenario this one builds on.")
    policy_date: str | None = Field(
        None, description="Date the options being compared start to differ ('YYYY-MM-DD'); summaries use it."
    )
    calibrated_on: str | None = Field(
        None, description="Months the behaviour was fitted to ('YYYY-MM:YYYY-MM,...'), written by 'bordersim calibrate'."
    )

    @field_validator("policy_date")
    @classmethod
    def _date(cls, v):
        if v is not None:
            parse_date(v)
        return v


class TimeSpec(_Section):
    start: str = Field("2017-01", description="First month simulated ('YYYY-MM').")
    end: str = Field("2024-12", description="Last month simulated ('YYYY-MM'), inclusive.")

    @field_validator("start", "end")
    @classmethod
    def _month(cls, v):
        if not _MONTH.match(v):
            raise ValueError(f"{v!r} is not a month; use 'YYYY-MM'")
        parse_date(v)
        return v

    @model_validator(mode="after")
    def _order(self, info: ValidationInfo):
        if _partial(info):
            return self
        if parse_date(self.end) < parse_date(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def first_day(self) -> dt.date:
        return parse_date(self.start)

    @property
    def last_day(self) -> dt.date:
        return month_end(parse_date(self.end))


Exception_ = Literal["family", "unaccompanied_minor", "document_holder", "public_interest"]
Group = Literal[GROUPS]  # type: ignore[valid-type]
Roxham = Literal["open", "closed", "designated_port"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class RuleFields(_Section):
    """The policy levers. Mirrors :class:`simulation.rules.RuleSet`."""

    stca_at_ports: bool = param(True, "bool", "IRPA s.101(1)(e); IRPR s.159.3-159.4 (in force 2004-12-29)",
                                "STCA applies at land ports of entry.")
    stca_between_ports: bool = param(False, "bool", "Additional Protocol, in force 2023-03-25",
                                     "STCA applies between ports (claims within the return window).")
    return_window_days: int = param(14, "days", "Additional Protocol (2023): 14 days",
                                    "Days after crossing within which a between-ports claimant is returned.", ge=1, le=3650)
    exceptions: list[Exception_] = param(list(EXCEPTIONS), "list", "IRPR s.159.5",
                                         "STCA exceptions that exist: family, unaccompanied_minor, document_holder, public_interest.")
    roxham: Roxham = param("open", "status", "domain brief", "Roxham Road: open crossing, closed, or designated_port.")
    direct_back: bool = param(False, "bool", "Quarantine Act orders 2020-03-21 .. 2021-11-21 (Public Safety binder 2020-07)",
                              "Intercepted irregular crossers are directed back to the US.")
    between_ports_detection: Probability = param(
        0.25, "probability", "assumption", "Chance a crosser away from Roxham is detected (within the return window)."
    )
    roxham_interception: Probability = param(
        0.99, "probability", "RCMP intercepted nearly all Roxham crossers (domain brief); 0.99 is an assumption",
        "Chance a Roxham crosser is intercepted by the RCMP."
    )
    visa_required: list[Group] = param(
        [g for g in GROUPS if g != "mexico"], "list of groups",
        "IRPR Schedule 1 visa list; Mexico visa-free 2016-12-01 .. 2024-02-29",
        "Groups that need a Canadian visa to fly to Canada."
    )
    resettlement_places_per_month: float = param(
        0.0, "persons/month", "2023 commitment: 15,000 places over a year (IRCC 2023-03-24)",
        "Humanitarian places for Western Hemisphere migrants still in Latin America.", ge=0.0
    )
    resettlement_groups: list[Group] = param(
        ["haiti", "venezuela", "colombia"], "list of groups", "IRCC 2023-10-10: Colombians, Haitians, Venezuelans",
        "Groups eligible for the humanitarian places."
    )
    transfers_out_of_quebec: bool = param(
        False, "bool", "IRCC CIMM 2024: transfers from 2022-06-30", "Claimants may be moved to other provinces when Quebec's shelters are full."
    )

    @field_validator("resettlement_groups")
    @classmethod
    def _western(cls, v):
        return _check_western(v)


class PolicyChange(_Section):
    """A named, dated change of some policy levers."""

    name: str = Field(description="Unique name; a child scenario replaces or disables a change by this name.")
    start: str | None = Field(None, alias="from", description="First day the change applies ('YYYY-MM-DD' or 'YYYY-MM').")
    until: str | None = Field(None, description="First day the earlier values apply again (optional).")
    enabled: bool = Field(True, description="Set false in a child scenario to drop an inherited change.")
    description: str = ""
    source: str = ""
    # the levers, all optional
    stca_at_ports: bool | None = None
    stca_between_ports: bool | None = None
    return_window_days: int | None = Field(None, ge=1, le=3650)
    exceptions: list[Exception_] | None = None
    roxham: Roxham | None = None
    direct_back: bool | None = None
    between_ports_detection: Probability | None = None
    roxham_interception: Probability | None = None
    visa_required: list[Group] | None = None
    resettlement_places_per_month: float | None = Field(None, ge=0.0)
    resettlement_groups: list[Group] | None = None
    transfers_out_of_quebec: bool | None = None

    @field_validator("start", "until")
    @classmethod
    def _date(cls, v):
        if v is not None:
            parse_date(v)
        return v

    @field_validator("resettlement_groups")
    @classmethod
    def _western(cls, v):
        return v if v is None else _check_western(v)

    def values(self) -> dict:
        skip = {"name", "start", "until", "enabled", "description", "source"}
        out = {}
        for k, v in self.model_dump(exclude_none=True).items():
            if k not in skip:
                out[k] = tuple(v) if isinstance(v, list) else v
        return out


class PolicySpec(RuleFields):
    change: list[PolicyChange] = Field(default_factory=list, description="Dated changes, applied in file order.")


class NewsEvent(_Section):
    """A news shock that makes people in the US aware of the northern routes."""

    name: str
    date: str | None = Field(None, description="Day of the news ('YYYY-MM-DD').")
    groups: list[Group] = Field(default_factory=lambda: list(GROUPS))
    awareness_boost: Probability = param(0.0, "share", "assumption", "Share of the unaware in these groups who learn of the routes that day.")
    enabled: bool = True
    source: str = ""

    @field_validator("date")
    @classmethod
    def _date(cls, v):
        if v is not None:
            parse_date(v)
        return v


class BehaviourSpec(_Section):
    """How people in the US decide, and how information spreads. All assumptions until calibrated."""

    wait_perception_days: float = param(180.0, "days", "assumption",
                                        "Time over which people's perception of the expected waits follows the queues.", ge=1)
    decision_interval_days: float = param(30.0, "days", "assumption", "Mean days between a person's reconsiderations.", gt=0)
    w_protection: float = param(3.0, "utility per unit probability", "assumption", "Weight of the chance of protection.")
    w_wait: float = param(0.4, "utility per year", "assumption", "Disutility of each year of waiting for a decision.")
    w_cost: float = param(1.0, "utility per (cost / money)", "assumption", "Disutility of travel cost relative to the person's money.")
    w_risk: float = param(0.5, "utility per 1/1,000 death risk", "assumption", "Disutility of physical risk, divided by risk tolerance.")
    w_return: float = param(2.5, "utility", "assumption", "Disutility of being returned to the US.")
    w_hiding: float = param(0.5, "utility", "assumption", "Disutility of hiding in Canada through the return window.")
    w_reception: float = param(0.5, "utility", "assumption", "Value of reception in Canada (shelter, benefits, work permit) when shelters have room.")
    asc_port: float = param(-7.0, "utility", "assumption", "Constant of claiming at an official land port (higher than Roxham: entering between ports is an offence, IRPA s.18).")
    asc_roxham: float = param(-9.0, "utility", "assumption", "Constant of crossing at Roxham Road.")
    asc_irregular: float = param(-9.5, "utility", "assumption", "Constant of crossing elsewhere between ports.")
    asc_air: float = param(-9.5, "utility", "assumption", "Constant of flying to Canada.")
    asc_leave: float = param(-6.5, "utility", "assumption", "Constant of giving up on the US process or going elsewhere.")
    north_taste_sd: float = param(2.0, "utility (sd)", "assumption", "Spread between people of the wish to leave for Canada (normal random effect on every route north).", ge=0)
    group_affinity: dict[str, float] = param(
        {}, "utility by group", "calibrated (see scenarios/calibrated.toml); 0 where not fitted",
        "Extra wish of a nationality group to go north (diaspora, language, networks), on every route to Canada."
    )
    nest_scale: float = param(0.5, "dimensionless (0-1]", "assumption", "Nested logit scale of the routes to Canada: lower means closer substitutes; 1 is a plain logit.", gt=0, le=1)
    initial_awareness: Probability = param(0.02, "share", "assumption", "Share of people in the US aware of the northern routes at the start.")
    awareness_news_rate: float = param(0.0002, "per day", "assumption", "Daily chance an unaware person learns of the routes from the news.", ge=0)
    awareness_contact_rate: float = param(0.01, "per day", "assumption", "Daily chance of learning, times the share of one's contacts who know.", ge=0)
    rule_news_rate: float = param(0.03, "per day", "assumption", "Daily chance of learning of a new rule from the news, in the 60 days after it starts.", ge=0)
    rule_contact_rate: float = param(0.05, "per day", "assumption", "Daily chance of learning a new rule, times the share of contacts who know it.", ge=0)
    contacts_per_person: int = param(8, "persons", "assumption", "Contacts each person has in the social network.", ge=1, le=64)
    homophily: Probability = param(0.8, "share", "assumption", "Share of contacts of the same nationality group.")
    news: list[NewsEvent] = Field(default_factory=list, description="Dated news shocks about the routes.")


    @field_validator("group_affinity")
    @classmethod
    def _affinity_groups(cls, v):
        return _per_group(v)


class CanadaSpec(_Section):
    irb_decisions_per_month: Dated = param(
        2000.0, "claims/month (dated)", "IRB: ~2,000 finalizations a month in 2017 (domain brief)", "IRB Refugee Protection Division decision capacity."
    )
    irb_initial_backlog: float = param(
        17338.0, "claims", "DERIVED: IRB pending 2017-12-31 (43,250) - 2017 referrals (47,425) + 2017 finalized (21,513)",
        "Claims pending at the IRB at the start.", ge=0
    )
    background_claims_per_month: Dated = param(
        1780.0, "claims/month (dated)", "IRCC transition binder 2024 Table A: airport + inland claims / 12",
        "Claims made in Canada by people not modelled (airports from abroad, inland); they share the IRB queue.",
    )
    acceptance_rate: dict[str, float] = param(
        {}, "probability by group", "data/grant_rates.csv (IRB); overrides per group", "IRB acceptance rate by nationality group."
    )
    ineligibility_rate: Probability = param(0.01, "probability", "assumption", "Share of claimants with an exception who fail the eligibility checks.")
    quebec_shelter_capacity: Dated = param(
        1200.0, "beds (dated)", "PRAIDA ~1,200 beds; Lacolle site 1,000-1,200 places in 2017 (domain brief)", "Shelter places for claimants in Quebec."
    )
    shelter_need_share: Probability = param(0.5, "share", "assumption", "Share of land-route claimants entering Quebec who need a shelter place.")
    shelter_stay_days: float = param(113.0, "days", "IRCC CIMM: Niagara Falls hotels, average stay 113 days", "Days a claimant stays in shelter.", gt=0)
    shelter_cost_per_day: float = param(208.0, "CAD/person-day", "IRCC CIMM: Niagara Falls hotels ~$208 per person-day", "Cost of a shelter place, Quebec or elsewhere.", ge=0)
    quebec_share_port: Probability = param(0.6, "share", "assumption (Lacolle is the busiest land port)", "Share of port claimants who enter in Quebec.")
    quebec_share_irregular: Probability = param(0.5, "share", "assumption", "Share of crossers elsewhere between ports who enter in Quebec.")
    resettlement_displacement: Probability = param(
        0.5, "share", "assumption", "Share of humanitarian places taken by people who would otherwise have entered the US pool."
    )
    transfer_cost: float = param(0.0, "CAD/person", "assumption (bus fares not counted)", "Cost of moving a claimant out of Quebec.", ge=0)

    @field_validator("irb_decisions_per_month", "background_claims_per_month", "quebec_shelter_capacity")
    @classmethod
    def _nonneg(cls, v):
        return _check_dated(v)

    @field_validator("acceptance_rate")
    @classmethod
    def _groups(cls, v):
        for k, x in _per_group(v).items():
            if not 0 <= x <= 1:
                raise ValueError(f"acceptance_rate.{k} = {x} must be between 0 and 1")
        return v


class USSpec(_Section):
    decisions_per_month: Dated = param(
        12500.0, "cases/month (dated)", "assumption: gives a ~4-year wait for the initial pool (TRAC report 707: over 4 years)",
        "US asylum decisions per month (courts + USCIS).",
    )
    grant_rate: dict[str, float] = param(
        {}, "probability by group", "data/grant_rates.csv (TRAC); overrides per group", "US asylum grant rate by nationality group."
    )

    @field_validator("decisions_per_month")
    @classmethod
    def _nonneg(cls, v):
        return _check_dated(v)

    @field_validator("grant_rate")
    @classmethod
    def _groups(cls, v):
        for k, x in _per_group(v).items():
            if not 0 <= x <= 1:
                raise ValueError(f"grant_rate.{k} = {x} must be between 0 and 1")
        return v


class PopulationSpec(_Section):
    initial_us_pool: float = param(
        600000.0, "persons", "assumption: order of the US affirmative + court asylum backlog in early 2017 (TRAC; domain brief)",
        "Asylum seekers in the US at the start.", ge=0
    )
    pool_entry_share: Dated = param(
        0.25, "share (dated)", "assumption", "Share of CBP encounters that join the US asylum pool (others are expelled, removed or leave)."
    )
    inflow_multiplier: float = param(1.0, "factor", "scenario lever", "Scales the US inflow.", ge=0)
    inflow_file: str = Field("data/us_encounters_monthly.csv", description="Monthly CBP encounters (relative to the repository root).")
    family_in_canada: dict[str, float] = param(
        {"default": 0.08, "haiti": 0.15}, "share by group", "assumption", "Share with a family member in Canada who qualifies for the exception."
    )
    unaccompanied_minor: Probability = param(0.005, "share", "assumption", "Share who are unaccompanied minors.")
    document_holder: Probability = param(0.02, "share", "assumption", "Share holding a Canadian visa or document.")
    public_interest: Probability = param(0.0005, "share", "assumption", "Share covered by the public-interest exception.")
    mean_household_size: float = param(2.0, "persons", "assumption", "Mean household size a person travels with.", ge=1)
    money_median_usd: float = param(400.0, "USD", "assumption", "Median money available for travel.", gt=0)
    money_sigma: float = param(1.0, "log-sd", "assumption", "Spread of money (lognormal).", ge=0)
    risk_tolerance_sigma: float = param(0.5, "log-sd", "assumption", "Spread of risk tolerance (lognormal, median 1).", ge=0)

    @field_validator("pool_entry_share")
    @classmethod
    def _share(cls, v):
        return _check_dated(v, 0.0, 1.0)

    @field_validator("family_in_canada")
    @classmethod
    def _groups(cls, v):
        for k, x in _per_group(v).items():
            if not 0 <= x <= 1:
                raise ValueError(f"family_in_canada.{k} = {x} must be between 0 and 1")
        return v


class RoutesSpec(_Section):
    """Costs and risks of each route."""

    cost_port_usd: float = param(150.0, "USD", "assumption: bus New York-Plattsburgh plus taxi (~US$60, domain brief)", "Travel cost to a land port.", ge=0)
    cost_roxham_usd: float = param(150.0, "USD", "assumption: bus to Plattsburgh plus taxi US$50-75 (domain brief)", "Travel cost to Roxham Road.", ge=0)
    cost_irregular_usd: float = param(1000.0, "USD", "assumption: smuggler fees", "Travel cost of a crossing elsewhere.", ge=0)
    cost_air_usd: float = param(400.0, "USD", "assumption", "Flight to Canada.", ge=0)
    death_risk_roxham: Probability = param(1e-5, "probability per crossing", "assumption", "Death risk at Roxham Road.")
    death_risk_irregular: Probability = param(2e-4, "probability per crossing", "assumption", "Death risk crossing elsewhere, outside winter.")
    winter_risk_multiplier: float = param(5.0, "factor", "assumption (deaths by cold, e.g. Emerson 2022)", "Risk multiplier December-March.", ge=1)


class RunSpec(_Section):
    seed: int = Field(1, description="Master seed.", ge=0)
    scale: float = Field(0.02, description="Fraction of the real population simulated; outputs are scaled back to persons.", gt=0, le=1)


class Scenario(_Section):
    scenario: ScenarioMeta = Field(default_factory=ScenarioMeta)
    time: TimeSpec = Field(default_factory=TimeSpec)
    policy: PolicySpec = Field(default_factory=PolicySpec)
    behaviour: BehaviourSpec = Field(default_factory=BehaviourSpec)
    canada: CanadaSpec = Field(default_factory=CanadaSpec)
    us: USSpec = Field(default_factory=USSpec)
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    routes: RoutesSpec = Field(default_factory=RoutesSpec)
    run: RunSpec = Field(default_factory=RunSpec)

    @model_validator(mode="after")
    def _dates_in_window(self, info: ValidationInfo):
        """Checks that need the whole scenario: made on the resolved scenario, not on each file of a chain."""
        if _partial(info):
            return self
        first, last = self.time.first_day, self.time.last_day
        names = set()
        for i, c in enumerate(self.policy.change):
            if c.name in names:
                raise ValueError(f"policy.change[{i}]: two changes named {c.name!r}; names must be unique")
            names.add(c.name)
            if not c.enabled:
                continue
            if c.start is None:
                raise ValueError(f"policy.change[{i}] ({c.name}): 'from' is required")
            start = parse_date(c.start)
            if not first <= start <= last:
                raise ValueError(f"policy.change[{i}] ({c.name}): from = {c.start} is outside the window {first} .. {last}")
            if c.until is not None and parse_date(c.until) <= start:
                raise ValueError(f"policy.change[{i}] ({c.name}): until = {c.until} must be after from = {c.start}")
        for i, n in enumerate(self.behaviour.news):
            if n.enabled and n.date is None:
                raise ValueError(f"behaviour.news[{i}] ({n.name}): 'date' is required")
            if n.enabled and not first <= parse_date(n.date) <= last:
                raise ValueError(f"behaviour.news[{i}] ({n.name}): date = {n.date} is outside the window {first} .. {last}")
        return self

    # --- conveniences -----------------------------------------------------

    @property
    def name(self) -> str:
        return self.scenario.name

    def base_rules(self) -> RuleSet:
        fields = self.policy.model_dump(exclude={"change"})
        return RuleSet(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    def rule_changes(self) -> tuple[RuleChange, ...]:
        out = []
        for c in self.policy.change:
            if c.enabled:
                out.append(
                    RuleChange(
                        name=c.name,
                        start=parse_date(c.start),
                        until=parse_date(c.until) if c.until else None,
                        values=c.values(),
                        description=c.description,
                        source=c.source,
                    )
                )
        return tuple(out)

    def to_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def digest(self) -> str:
        """A short hash of the resolved scenario (run settings excluded), for provenance."""
        d = self.to_dict()
        d.pop("run", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


# --- loading ---------------------------------------------------------------

_NAMED_LISTS = {("policy", "change"), ("behaviour", "news")}


def _merge(parent: dict, child: dict, path: tuple = ()) -> dict:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        here = path + (key,)
        if here in _NAMED_LISTS and isinstance(value, list) and isinstance(out.get(key), list):
            merged = {item.get("name"): item for item in out[key] if isinstance(item, dict)}
            order = list(merged)
            for item in value:
                name = item.get("name") if isinstance(item, dict) else None
                if name in merged:
                    merged[name] = {**merged[name], **item}
                else:
                    merged[name] = item
                    order.append(name)
            out[key] = [merged[n] for n in order]
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("acceptance_rate", "grant_rate", "group_affinity"):
            out[key] = _merge(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(path, "", f"not valid TOML: {e}") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read: {e.strerror}") from None


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed at a location in the schema (for 'unknown key' messages)."""
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return []
        model = nxt
    return [(f.alias or n) for n, f in model.model_fields.items()]


def _format_error(path: Path, err: ValidationError) -> ScenarioError:
    e = err.errors()[0]
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (p.startswith("function-") or p in ("float", "dict[str,float]"))))
    key = ".".join(str(p) for p in loc if not isinstance(p, int)) or ""
    # show list indices as key[i]
    parts = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    key = ".".join(parts)
    value = e.get("input")
    if e["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return ScenarioError(path, key, f"unknown key; allowed here: {', '.join(allowed)}")
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "literal_error" and "expected" in (e.get("ctx") or {}):
        msg = f"must be one of {e['ctx']['expected']}"
    if isinstance(value, dict) and len(str(value)) > 200:
        return ScenarioError(path, key, msg)
    return ScenarioError(path, key, f"{value!r} is not allowed: {msg}" if "input" in e and not isinstance(value, dict) else msg)


def _partial(info: ValidationInfo | None) -> bool:
    return bool(info is not None and info.context and info.context.get("partial"))


def _validate(path: Path, raw: dict, partial: bool = False) -> Scenario:
    try:
        return Scenario.model_validate(raw, context={"partial": partial})
    except ValidationError as err:
        raise _format_error(path, err) from None


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(chain[-1], "scenario.extends", f"cycle in extends: {cycle}")
    raw = _read_toml(path)
    # each file's own keys and types are checked alone, so errors name the right file; checks that need
    # the whole scenario (required dates, the time window) run once the chain is merged
    _validate(path, raw, partial=True)
    parent_name = raw.get("scenario", {}).get("extends")
    if parent_name is None:
        return raw
    parent_path = (path.parent / parent_name).resolve()
    if not parent_path.is_file():
        raise ScenarioError(path, "scenario.extends", f"{parent_name!r} does not exist (looked for {parent_path})")
    parent = _resolve(parent_path, (*chain, path))
    parent.setdefault("scenario", {}).pop("extends", None)
    merged = _merge(parent, raw)
    # a child always names itself; it does not inherit the parent's name or description
    merged["scenario"]["name"] = raw.get("scenario", {}).get("name", path.stem)
    merged["scenario"]["description"] = raw.get("scenario", {}).get("description", "")
    return merged


def load_scenario(path: str | Path, **run_overrides) -> Scenario:
    """Read a scenario file, resolve ``extends``, validate, and apply ``--seed``/``--scale`` overrides."""
    path = Path(path)
    raw = _resolve(path, ())
    raw.setdefault("scenario", {}).setdefault("name", path.stem)
    raw["scenario"]["extends"] = None
    overrides = {k: v for k, v in run_overrides.items() if v is not None}
    if overrides:
        raw.setdefault("run", {}).update(overrides)
    scenario = _validate(path, raw)
    return scenario


def scenario_from_dict(raw: dict, origin: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dict (for notebooks and tests)."""
    return _validate(Path(origin), raw)
