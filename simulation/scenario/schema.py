"""The scenario schema: every table and key of a scenario file, with its default, unit and source.

A scenario file is TOML with the tables ``[scenario]``, ``[time]``,
``[policy]`` (+ ``[[policy.change]]``), ``[behaviour]`` (+
``[[behaviour.news]]``), ``[canada]``, ``[us]``, ``[population]``, ``[routes]`` and ``[run]``.
Every parameter is declared once here (or, for the policy levers, in
:mod:`simulation.scenario.levers`) with :func:`~simulation.scenario.kinds.param`;
the docs, sensitivity ranges and dashboard controls are generated from these
declarations. Numeric parameters of kind *dated* take either a number or a
table of ``"YYYY-MM" = value`` entries: a step function, each value applying
from its date until the next one (before the first date, the first value applies).
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..calendar import is_month, month_end, parse_date
from .groups import GROUPS
from .kinds import dated, param, per_group
from .levers import Group, PolicyChange, Probability, RuleChange, RuleSet, Section as _Section, rule_timeline


def _partial(info: ValidationInfo | None) -> bool:
    """Whether this is one file of an ``extends`` chain, checked alone (whole-scenario checks wait for the merge)."""
    return bool(info is not None and info.context and info.context.get("partial"))


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
        if not is_month(v):
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


class PolicySpec(RuleSet):
    """``[policy]``: the levers' values at the start (the base rules), and dated changes of them."""

    change: list[PolicyChange] = Field(default_factory=list, description="Dated changes, applied in file order.")


class NewsEvent(_Section):
    """A news shock that makes people in the US aware of the northern routes."""

    name: str = Field(description="Name of the event; a child scenario edits or drops an inherited event by this name.")
    date: str | None = Field(None, description="Day of the news ('YYYY-MM-DD').")
    groups: list[Group] = Field(default_factory=lambda: list(GROUPS),
                                description="Nationality groups the news reaches (default: all groups).")
    awareness_boost: Probability = param(0.0, "share", "assumption", "Share of the unaware in these groups who learn of the routes that day.")
    enabled: bool = Field(True, description="Set false in a child scenario to drop an inherited event.")
    source: str = Field("", description="Where the event and its date come from; say if the size of the boost is an assumption.")

    @field_validator("date")
    @classmethod
    def _date(cls, v):
        if v is not None:
            parse_date(v)
        return v


class PopulationEvent(_Section):
    """People already in the US whose status ends or is threatened on a date (TPS, parole, an expiring visa).

    ``persons`` people of ``group`` are affected; the share of them who consider Canada at all
    (``population.status_event_share``, or ``population.overstay_share`` for visa overstayers; both fitted) join
    the people deciding, on ``date`` or, with ``until``, spread evenly from ``date`` to ``until``. They have no asylum case in the US: staying is worth the
    chance of keeping a legal stay (``stay_chance``).
    """

    name: str = Field(description="Unique name; a child scenario edits or drops an inherited event by this name.")
    date: str | None = Field(None, description="Day the status loss is announced or takes effect ('YYYY-MM-DD' or 'YYYY-MM').")
    until: str | None = Field(None, description="With a stream of people (e.g. visa overstayers): the last day they arrive.")
    program: Literal["tps", "parole", "visa_overstay", "other"] = Field("other", description="The status that ends.")
    group: Group = Field("other", description="Nationality group of the people affected.")
    persons: float = param(0.0, "persons", "the event's source", "People affected (holders of the status).", ge=0)
    stay_chance: Probability | None = param(
        None, "probability", "assumption", "Chance, as they see it, of keeping a legal stay in the US "
        "(default: population.status_stay_chance).")
    enabled: bool = Field(True, description="Set false in a child scenario to drop an inherited event.")
    source: str = Field("", description="Where the event, its date and its size come from.")

    @field_validator("date", "until")
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
    asc_irregular: float = param(
        -9.5, "utility", "assumption; scenarios/history.toml carries a value fitted by 'bordersim route-share' "
        "(docs/route_share.md)", "Constant of crossing elsewhere between ports.")
    asc_air: float = param(-9.5, "utility", "assumption", "Constant of flying to Canada.")
    asc_leave: float = param(-6.5, "utility", "assumption", "Constant of giving up on the US process or going elsewhere.")
    north_taste_sd: float = param(2.0, "utility (sd)", "assumption", "Spread between people of the wish to leave for Canada (normal random effect on every route north).", ge=0)
    group_affinity: per_group() = param(
        {}, "utility", "calibrated (see scenarios/calibrated.toml); 0 where not fitted",
        "Extra wish of a nationality group to go north (diaspora, language, networks), on every route to Canada."
    )
    nest_scale: float = param(0.5, "dimensionless (0-1]", "assumption", "Nested logit scale of the routes to Canada: lower means closer substitutes; 1 is a plain logit.", gt=0, le=1)
    initial_awareness: Probability = param(0.02, "share", "assumption", "Share of people in the US aware of the northern routes at the start.")
    awareness_news_rate: float = param(0.0002, "per day", "assumption", "Daily chance an unaware person learns of the routes from the news.", ge=0)
    awareness_contact_rate: float = param(0.01, "per day", "assumption", "Daily chance of learning, times the share of one's contacts who know.", ge=0)
    rule_news_reach: Probability = param(
        0.5, "share", "fitted to the fall of crossings after 2020-03-21 (bordersim calibrate)",
        "Share of people in the US who hear of a rule change from the news on the day it takes effect.")
    rule_contact_rate: float = param(0.05, "per day", "assumption", "Daily chance of learning a new rule, times the share of contacts who know it.", ge=0)
    contacts_per_person: int = param(8, "persons", "assumption", "Contacts each person has in the social network.", ge=1, le=64)
    homophily: Probability = param(0.8, "share", "assumption", "Share of contacts of the same nationality group.")
    news: list[NewsEvent] = Field(default_factory=list, description="Dated news shocks about the routes.")


class CanadaSpec(_Section):
    irb_decisions_per_month: dated() = param(
        2000.0, "claims/month", "IRB: ~2,000 finalizations a month in 2017 (domain brief)", "IRB Refugee Protection Division decision capacity."
    )
    irb_initial_backlog: float = param(
        17338.0, "claims", "DERIVED: IRB pending 2017-12-31 (43,250) - 2017 referrals (47,425) + 2017 finalized (21,513)",
        "Claims pending at the IRB at the start.", ge=0
    )
    exogenous_claims_file: str = Field(
        "data/ircc_claims_monthly.csv",
        description="IRCC monthly claims by office type and province (relative to the repository root): the airport, "
                    "inland and other-office claims of people the model does not follow (a driver, not a target).")
    exogenous_claims_multiplier: float = param(
        1.0, "factor", "scenario lever", "Scales the airport and inland claims of people the model does not follow.", ge=0)
    referral_share: Probability = param(
        0.92, "share", "DERIVED: IRB RPD received 2019 (59,200) / IRCC claims 2019 (64,010)",
        "Share of claims that are referred to the IRB (the others are found ineligible, withdrawn or abandoned first).")
    referral_capacity_per_month: dated() = param(
        {"2017-01": 100000.0, "2022-01": 5050.0, "2023-04": 100000.0}, "claims/month",
        "DERIVED: IRB RPD received 2022 (60,600) / 12, the year IRCC's intake lagged claims by ~31,000; "
        "before 2022 intake kept up (not binding); from 2023-04 assumed not binding again",
        "Claims IRCC can complete and refer to the IRB each month (the front end of the claim process).")
    acceptance_rate: per_group(0.0, 1.0) = param(
        {}, "probability", "data/grant_rates.csv (IRB); overrides per group", "IRB acceptance rate by nationality group."
    )
    ineligibility_rate: Probability = param(0.01, "probability", "assumption", "Share of claimants with an exception who fail the eligibility checks.")
    quebec_shelter_capacity: dated() = param(
        1200.0, "beds", "PRAIDA ~1,200 beds; Lacolle site 1,000-1,200 places in 2017 (domain brief)", "Shelter places for claimants in Quebec."
    )
    quebec_overflow_capacity: dated() = param(
        0.0, "places", "assumption by period (see scenarios/history.toml)",
        "Emergency places in Quebec beyond the shelters (temporary sites, hotels); when both are full, claimants "
        "are transferred out if transfers are allowed, otherwise they find housing on their own.")
    interceptions_processed_inland_share: dated(0.0, 1.0) = param(
        0.0, "share", "DERIVED from IRCC office-type data against RCMP interceptions (see scenarios/history.toml)",
        "Share of crossers intercepted in Quebec whose claims IRCC completed at an inland office (Montreal) rather "
        "than at the border office.")
    airport_claims_quebec_share: Probability = param(
        0.4, "share", "assumption (IRCC office-type data: Quebec took 1,100 of 3,835 airport claims in 2017, "
        "11,650 of 17,115 in 2022)", "Share of air claimants from the US pool who land in Quebec.")
    assistance_per_claimant_month: dated() = param(
        700.0, "CAD/month", "assumption: Quebec last-resort assistance (~$600/month in 2017, domain brief) plus health "
        "coverage; checked against Quebec's costs in docs/validation.md",
        "Quebec's monthly cost of a claimant living in Quebec while the claim is pending (assistance, health).")
    shelter_need_share: Probability = param(0.5, "share", "assumption", "Share of land-route claimants entering Quebec who need a shelter place.")
    shelter_stay_days: float = param(113.0, "days", "IRCC CIMM: Niagara Falls hotels, average stay 113 days", "Days a claimant stays in shelter.", gt=0)
    shelter_cost_per_day: dated() = param(
        208.0, "CAD/person-day", "IRCC CIMM: Niagara Falls hotels ~$208 per person-day (2023); earlier periods in "
        "scenarios/history.toml", "Cost of a shelter place, Quebec or elsewhere.")
    quebec_share_port: Probability = param(
        0.32, "share",
        "DERIVED: land-port claims (IRCC, data/claims_by_mode.csv) less those made outside Quebec, which are IRCC's border-office "
        "claims outside Quebec (data/ircc_claims_monthly.csv) less the RCMP's interceptions outside Quebec "
        "(data/rcmp_interceptions_monthly.csv), pooled over 2017-2019 and 2021-2022 (0.49, 0.21, 0.18, 0.39, 0.19 by year; "
        "tests/test_data.py recomputes it)",
        "Share of port claimants who enter in Quebec.")
    quebec_share_irregular: Probability = param(0.5, "share", "assumption", "Share of crossers elsewhere between ports who enter in Quebec.")
    humanitarian_diversion_rate: Probability = param(
        0.5, "share", "assumption",
        "Would-be US arrivals diverted upstream per humanitarian place used (people who take a place in Latin "
        "America instead of travelling on to the US).")
    inland_over_one_year_share: Probability = param(
        0.25, "share", "assumption (no published breakdown seen)",
        "Share of inland claims made more than a year after entering Canada (barred from the IRB under the one-year bar).")
    transfer_cost: float = param(0.0, "CAD/person", "assumption (bus fares not counted)", "Cost of moving a claimant out of Quebec.", ge=0)


class USSpec(_Section):
    decisions_per_month: dated() = param(
        12500.0, "cases/month", "assumption: gives a ~4-year wait for the initial pool (TRAC report 707: over 4 years)",
        "US asylum decisions per month (courts + USCIS).",
    )
    grant_rate: per_group(0.0, 1.0) = param(
        {}, "probability", "data/grant_rates.csv (TRAC); overrides per group", "US asylum grant rate by nationality group."
    )


class PopulationSpec(_Section):
    initial_us_pool: float = param(
        600000.0, "persons", "assumption: order of the US affirmative + court asylum backlog in early 2017 (TRAC; domain brief)",
        "Asylum seekers in the US at the start.", ge=0
    )
    pool_entry_share: dated(0.0, 1.0) = param(
        0.25, "share", "assumption", "Share of CBP encounters that join the US asylum pool (others are expelled, removed or leave)."
    )
    inflow_multiplier: float = param(1.0, "factor", "scenario lever", "Scales the US inflow.", ge=0)
    inflow_file: str = Field("data/us_encounters_monthly.csv", description="Monthly CBP encounters (relative to the repository root).")
    family_in_canada: per_group(0.0, 1.0) = param(
        {"default": 0.08, "haiti": 0.15}, "share", "assumption", "Share with a family member in Canada who qualifies for the exception."
    )
    unaccompanied_minor: Probability = param(0.005, "share", "assumption", "Share who are unaccompanied minors.")
    document_holder: Probability = param(0.02, "share", "assumption", "Share holding a Canadian visa or document.")
    public_interest: Probability = param(0.0005, "share", "assumption", "Share covered by the public-interest exception.")
    mean_household_size: float = param(2.0, "persons", "assumption", "Mean household size a person travels with.", ge=1)
    money_median_usd: float = param(400.0, "USD", "assumption", "Median money available for travel.", gt=0)
    money_sigma: float = param(1.0, "log-sd", "assumption", "Spread of money (lognormal).", ge=0)
    risk_tolerance_sigma: float = param(0.5, "log-sd", "assumption", "Spread of risk tolerance (lognormal, median 1).", ge=0)
    exception_known_share: Probability = param(
        0.7, "share", "assumption", "Share of people who hold an STCA exception and know it (the others believe they have none).")
    exception_false_belief: Probability = param(
        0.02, "share", "assumption", "Share of people without an STCA exception who believe they have one (e.g. a relative "
        "who does not qualify).")
    status_event_share: Probability = param(
        0.1, "share", "fitted (bordersim calibrate) to the 2017 wave",
        "Share of the people of a status event (population.event) whose status ends (TPS, parole, other) who "
        "consider going to Canada.")
    overstay_share: Probability = param(
        0.1, "share", "fitted (bordersim calibrate) to the 2018 wave",
        "Share of the visa overstayers of a status event (program 'visa_overstay') who consider going to Canada. "
        "Separate from status_event_share because the two groups differ in who they are: TPS holders had lived "
        "in the US for years, while many overstayers obtained a US visitor visa in order to reach Canada.")
    status_event_north_taste: float = param(
        0.0, "utility", "fitted (bordersim calibrate) to the 2017 wave",
        "How much more the people of a status event who consider Canada want to go there than people in US asylum "
        "processing do: added to their wish to be in Canada. The route constants are fitted to the whole pool, most "
        "of whom never think of Canada; these people were selected as thinking of it (status_event_share).", ge=0)
    status_stay_chance: Probability = param(
        0.3, "probability", "assumption", "Chance, as they see it, that people losing a status keep a legal stay in the US.")
    status_years_in_us: float = param(
        6.0, "years", "assumption (Haitian TPS since 2010; CHNV parole since 2023)", "Years in the US of people in status events.", ge=0)
    event: list[PopulationEvent] = Field(default_factory=list, description="Dated status events (TPS, parole, visa overstays).")


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
        for i, e in enumerate(self.population.event):
            if not e.enabled:
                continue
            if e.date is None:
                raise ValueError(f"population.event[{i}] ({e.name}): 'date' is required")
            if not first <= parse_date(e.date) <= last:
                raise ValueError(f"population.event[{i}] ({e.name}): date = {e.date} is outside the window {first} .. {last}")
            if e.until is not None and parse_date(e.until) < parse_date(e.date):
                raise ValueError(f"population.event[{i}] ({e.name}): until = {e.until} is before date = {e.date}")
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
        """The rules in force at the start: the ``[policy]`` levers without the dated changes."""
        return RuleSet(**{k: getattr(self.policy, k) for k in RuleSet.model_fields})

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

    def rule_timeline(self) -> list[tuple]:
        """(first day, rules) for each period of distinct rules over the scenario's window."""
        return rule_timeline(self.base_rules(), self.rule_changes(), self.time.first_day, self.time.last_day)

    def to_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def digest(self) -> str:
        """A short hash of the resolved scenario (run settings excluded), for provenance."""
        d = self.to_dict()
        d.pop("run", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


