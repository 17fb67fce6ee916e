"""What a run reports: every output column, declared once, and the outcomes summaries are made of.

Each :class:`Column` of ``monthly.csv`` is declared here with its label, unit,
whether it is a flow (summed over the month's days) or a stock (read on the
month's last day), and how a window of months reduces it in a summary. The
recorder, the Mesa DataCollector, the summaries, the plots, the report and the
dashboard all read these declarations. To add a column, declare it here and
count it in the model (``self.recorder.add(name, n)`` for a flow, a line in
:meth:`simulation.core.recorder.MonthlyRecorder.close_month` for a stock).

An :class:`Outcome` is what summaries and comparisons report: one column over
a window (``irb_backlog_end`` is the last ``irb_backlog``), or the sum of
several (``irregular_crossings``).
"""

from __future__ import annotations

from dataclasses import dataclass

FLOW, STOCK = "flow", "stock"
SUM, LAST, MAX = "sum", "last", "max"


@dataclass(frozen=True)
class Column:
    name: str
    label: str  #: words for plots and reports
    unit: str
    kind: str  #: FLOW (summed over the month) or STOCK (read on the month's last day)
    short: str = ""  #: a short label for narrow places (the dashboard's tables)
    outcome: str | None = None  #: name of the summary outcome made of this column alone, if any
    how: str = SUM  #: how a window of months reduces the column in that outcome: SUM, LAST or MAX
    doc: str = ""  #: what exactly is counted (for the README and the ODD); the label when empty


COLUMNS: tuple[Column, ...] = (
    # flows
    Column("roxham_crossings", "Crossings at Roxham Road", "persons", FLOW, "Roxham", "roxham_crossings",
           doc='people who crossed at Roxham Road between ports, detected or not (0 when Roxham is a designated port)'),
    Column("other_irregular_crossings", "Crossings elsewhere between ports", "persons", FLOW, "elsewhere",
           "other_irregular_crossings",
           doc='people who crossed between ports elsewhere'),
    Column("port_claims", "Claims at land ports", "persons", FLOW, "port claims", "port_claims",
           doc='claims made at land ports of entry (Roxham included when it is a designated port)'),
    Column("port_turnbacks", "Turned back at land ports (STCA)", "persons", FLOW, "turned back at ports",
           doc='people turned back at a land port under the STCA'),
    Column("roxham_port_arrivals", "Arrivals at a Roxham port of entry", "persons", FLOW,
           doc='arrivals at Roxham Road when it is a designated port, whatever the outcome'),
    Column("roxham_closed_turned_away", "Found Roxham Road closed and went back", "persons", FLOW,
           doc='people who went to Roxham Road believing it open, found it closed and went back to the US'),
    Column("air_claims", "Claims after flying in", "persons", FLOW, "by air", "air_claims",
           doc='claims by people from the US pool who flew to Canada (part of the airport claims)'),
    Column("protocol_returns", "Returned under the 2023 Protocol", "persons", FLOW, "Protocol returns", "protocol_returns",
           doc='people returned to the US under the 2023 Additional Protocol'),
    Column("directed_back", "Directed back (COVID-19 orders)", "persons", FLOW, "directed back",
           doc='people directed back to the US under the COVID-19 orders'),
    Column("ineligible", "Found ineligible after an exception", "persons", FLOW, "ineligible",
           doc='people with an STCA exception who failed the eligibility checks and were returned'),
    Column("hidden_past_window", "Claims after hiding past the return window", "persons", FLOW,
           doc="people who hid in Canada past the Protocol's return window and then claimed (or were barred)"),
    Column("claims_in_canada", "Claims in Canada (from the US)", "persons", FLOW, "claims", "claims_in_canada",
           doc='claims made in Canada by people the model follows (ports, between ports, after hiding, air)'),
    Column("claims_border_quebec", "Claims at border offices, Quebec (IRCC office type)", "persons", FLOW, "border claims, Quebec",
           doc='all claims counted at border offices in Quebec (IRCC office type): land-port claims and intercepted crossers'),
    Column("claims_border_rest", "Claims at border offices, rest of Canada", "persons", FLOW, "border claims, elsewhere",
           doc='the same in the rest of Canada'),
    Column("claims_airport_quebec", "Claims at airports, Quebec", "persons", FLOW, "airport claims, Quebec",
           doc="all airport claims in Quebec: IRCC's count (a driver) including the modelled air claimants landing there"),
    Column("claims_airport_rest", "Claims at airports, rest of Canada", "persons", FLOW, "airport claims, elsewhere",
           doc='the same in the rest of Canada'),
    Column("claims_inland_quebec", "Claims at inland offices, Quebec", "persons", FLOW, "inland claims, Quebec",
           doc="all inland and other-office claims in Quebec: IRCC's count (a driver) including modelled claims after hiding and, in 2017-04 .. 2018-02, intercepted crossers IRCC processed inland"),
    Column("claims_inland_rest", "Claims at inland offices, rest of Canada", "persons", FLOW, "inland claims, elsewhere",
           doc='the same in the rest of Canada'),
    Column("claims_with_exception_between_ports", "Crossers between ports allowed to claim under an STCA exception",
           "persons", FLOW, "exceptions between ports",
           doc='intercepted crossers allowed to claim because an STCA exception applies (under the Protocol or direct-back)'),
    Column("claims_not_referred", "Claims not referred to the IRB (ineligible, withdrawn, abandoned)", "persons", FLOW,
           doc='claims not referred to the IRB: found ineligible, withdrawn or abandoned (canada.referral_share)'),
    Column("claims_barred", "Claims barred from the IRB (Bill C-12; risk assessment only)", "persons", FLOW,
           "barred claims", "claims_barred",
           doc='claims barred from the IRB by Bill C-12 (one-year bar, 14-day rule): a pre-removal risk assessment only'),
    Column("interceptions", "RCMP interceptions between ports", "persons", FLOW, "interceptions", "interceptions",
           doc='crossers between ports detected by the RCMP/CBSA, Roxham and elsewhere'),
    Column("interceptions_quebec", "RCMP interceptions between ports, Quebec", "persons", FLOW,
           doc='the same, in Quebec'),
    Column("irb_decisions", "IRB decisions", "claims", FLOW,
           doc='IRB decisions, on all referred claims'),
    Column("transfers_out_of_quebec", "Transfers out of Quebec", "persons", FLOW, "transfers", "transfers_out_of_quebec",
           doc="claimants given a place in another province because Quebec's shelters and emergency places were full"),
    Column("unhoused_quebec", "Claimants in Quebec who found no place (housed themselves)", "persons", FLOW,
           doc='claimants in Quebec who needed a place and found none (before transfers began): they housed themselves'),
    Column("quebec_reception_intake", "Claimants arriving in Quebec (reception intake; compare PRAIDA)", "persons", FLOW,
           doc="claims made in Quebec (all office types): the intake of Quebec's reception system (compare PRAIDA's new users)"),
    Column("reception_cost_cad", "Cost of shelter places (CAD)", "CAD", FLOW, "shelter cost", "reception_cost",
           doc='places (shelters, emergency places, other provinces) x cost per person-day, plus transfers x transfer cost, in CAD'),
    Column("quebec_support_cost_cad", "Quebec's support of claimants living there (CAD)", "CAD", FLOW,
           "Quebec support cost", "quebec_support_cost",
           doc="claimants in Quebec with a claim pending x Quebec's monthly cost per claimant (assistance, health), in CAD"),
    Column("humanitarian_pr", "Humanitarian pathway: permanent-residence admissions", "persons", FLOW,
           "humanitarian PR", "humanitarian_pr",
           doc='permanent-residence admissions on the humanitarian pathway (people in Latin America)'),
    Column("humanitarian_work_permits", "Humanitarian pathway: work permits", "persons", FLOW, "humanitarian work permits",
           "humanitarian_work_permits",
           doc='work permits on the humanitarian labour pathways (people in Latin America)'),
    Column("diverted_upstream", "Would-be US arrivals diverted by the humanitarian pathway", "persons", FLOW,
           doc='would-be US arrivals who took a humanitarian place instead of travelling on to the US'),
    Column("status_event_arrivals", "People losing a US status who consider Canada (TPS, parole, overstays)", "persons",
           FLOW, "status losses",
           doc='people whose US status ends (TPS, parole, visa) who consider Canada, entering the model'),
    Column("deaths_expected", "Expected deaths crossing", "persons", FLOW, "expected deaths", "deaths_expected",
           doc='expected deaths while crossing between ports: a risk-weighted count, not simulated deaths'),
    Column("deaths_expected_elsewhere", "Expected deaths crossing elsewhere between ports", "persons", FLOW,
           doc='the part of deaths_expected from crossings elsewhere than Roxham Road'),
    Column("left_us_process", "Left the US process (gave up or went elsewhere)", "persons", FLOW,
           doc='people who gave up on the US process or went elsewhere'),
    Column("us_decisions", "US asylum decisions", "cases", FLOW,
           doc='US asylum decisions on people the model follows'),
    # stocks
    Column("irb_backlog", "IRB backlog (claims pending)", "claims", STOCK, "IRB backlog", "irb_backlog_end", LAST,
           doc='claims referred to the IRB and not yet decided, at the end of the month (all claimants)'),
    Column("referral_backlog", "Claims made, not yet referred to the IRB", "claims", STOCK, "awaiting referral",
           doc="claims made but not yet referred to the IRB (IRCC's front end), at the end of the month"),
    Column("quebec_claimants", "Claimants in Quebec with a claim pending", "persons", STOCK, "claimants in Quebec",
           doc='claimants living in Quebec whose claim is pending (made in Quebec, not yet decided)'),
    Column("irb_wait_months", "IRB expected wait (months)", "months", STOCK, "IRB wait", "irb_wait_end", LAST,
           doc="irb_backlog divided by the IRB's monthly decisions in force (capped at 360)"),
    Column("quebec_shelter_population", "People in Quebec shelters", "persons", STOCK, "Quebec shelters",
           "quebec_shelter_peak", MAX,
           doc="people in Quebec's shelters at the end of the month"),
    Column("quebec_overflow_population", "People in Quebec's emergency places (temporary sites, hotels)", "persons",
           STOCK, "emergency places",
           doc="people in Quebec's emergency places (temporary sites, hotels) at the end of the month"),
    Column("shelter_population_elsewhere", "People sheltered in other provinces", "persons", STOCK, "shelters elsewhere",
           doc='people given a place in other provinces after a transfer'),
    Column("hiding_population", "People hiding in Canada through the return window", "persons", STOCK,
           doc="people hiding in Canada through the Protocol's return window at the end of the month"),
    Column("us_backlog", "US asylum backlog (modelled pool)", "persons", STOCK, "US backlog", "us_backlog_end", LAST,
           doc='people in the modelled US asylum pool with a case pending (not the whole US backlog)'),
    Column("status_people_in_us", "People losing a US status, still deciding in the US", "persons", STOCK,
           doc='people of status events still in the US and deciding'),
    Column("us_wait_months", "US expected wait (months)", "months", STOCK,
           doc="us_backlog divided by the US's monthly decisions in force (capped at 360)"),
)
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
FLOW_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == FLOW)
STOCK_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == STOCK)
COUNT_COLUMNS = FLOW_COLUMNS + STOCK_COLUMNS
#: The columns of monthly.csv, in order.
KEY_COLUMNS = ("month", "scenario", "seed")
MONTHLY_COLUMNS = KEY_COLUMNS + COUNT_COLUMNS


@dataclass(frozen=True)
class Outcome:
    """A summary outcome: ``columns`` added up month by month, then reduced over a window by ``how``."""

    name: str
    label: str
    unit: str
    columns: tuple[str, ...]
    how: str


#: Outcomes made of several columns.
COMBINED = (
    Outcome("irregular_crossings", "Irregular crossings (Roxham and elsewhere)", "persons",
            ("roxham_crossings", "other_irregular_crossings"), SUM),
    Outcome("returns", "Returned to the US (turned back, Protocol, direct-back)", "persons",
            ("port_turnbacks", "protocol_returns", "directed_back"), SUM),
)
_SUFFIX = {SUM: "", LAST: ", end of window", MAX: ", peak"}
#: Every summary outcome, in the order of summary tables: the combined ones, then one per column that has one.
OUTCOMES: tuple[Outcome, ...] = COMBINED + tuple(
    Outcome(c.outcome, c.label + _SUFFIX[c.how], c.unit, (c.name,), c.how) for c in COLUMNS if c.outcome)
OUTCOME_BY_NAME = {o.name: o for o in OUTCOMES}
#: The headline outcomes of the overview figure and the report table.
HEADLINE = ("irregular_crossings", "returns", "claims_in_canada", "deaths_expected", "irb_backlog_end", "reception_cost")


def label(name: str) -> str:
    """Words for a column or an outcome."""
    if name in COLUMN_BY_NAME:
        return COLUMN_BY_NAME[name].label
    return OUTCOME_BY_NAME[name].label


def monthly_unit(outcome: Outcome) -> str:
    """The unit of an outcome's monthly series: 'persons per month' for flows, the plain unit for stocks."""
    flow = COLUMN_BY_NAME[outcome.columns[0]].kind == FLOW
    return f"{outcome.unit} per month" if flow else outcome.unit
