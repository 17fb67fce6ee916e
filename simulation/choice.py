"""The route decision: a multinomial logit over six options, for all deciders at once.

Utility of each option for each decider (arrays of shape ``(n, 6)``):

* stay in US processing: ``w_protection * p_us - w_wait * wait_us``;
* a route to Canada: its constant, plus the chance the person believes they
  may claim times the value of a Canadian claim (protection, wait, reception),
  plus the chance of being returned times the value of staying less the cost
  of being returned, less travel cost relative to money, less physical risk
  relative to risk tolerance, less the cost of hiding where the person
  believes the Protocol forces it;
* give up or go elsewhere: a constant.

Unavailable options (route unknown, Roxham closed, no visa to fly) get
``-inf``. The choice adds a Gumbel draw per person and option from the
person's own random slot and takes the best.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import rules as R


class Option(IntEnum):
    STAY = 0
    PORT = 1
    ROXHAM = 2
    IRREGULAR = 3
    AIR = 4
    LEAVE = 5


OPTION_LABELS = {
    Option.STAY: "stay in US processing",
    Option.PORT: "claim at a land port",
    Option.ROXHAM: "cross at Roxham Road",
    Option.IRREGULAR: "cross elsewhere between ports",
    Option.AIR: "fly to Canada",
    Option.LEAVE: "give up or go elsewhere",
}
N_OPTIONS = len(Option)


@dataclass
class Deciders:
    """What the choice needs to know about each decider (one entry per person)."""

    has_exception: np.ndarray  # under the exceptions the person believes exist
    aware: np.ndarray
    can_fly: np.ndarray
    p_us: np.ndarray
    p_ca: np.ndarray
    money: np.ndarray
    risk_tolerance: np.ndarray
    household_size: np.ndarray


@dataclass
class Conditions:
    """Conditions on the day, the same for every decider."""

    wait_us_years: float
    wait_ca_years: float
    reception_room: float  # 1 when Quebec shelters have room, falling to 0 when full
    death_risk_roxham: float
    death_risk_irregular: float


def claim_chance(rules: R.RuleSet, option: Option, has_exception: np.ndarray, eligible_rate: float) -> np.ndarray:
    """The chance a person may claim after taking ``option``, under ``rules`` (as the person believes them)."""
    exc = has_exception.astype(float) * (1.0 - eligible_rate)
    if option == Option.PORT or (option == Option.ROXHAM and R.roxham_is_port(rules)):
        return exc if rules.stca_at_ports else np.ones_like(exc)
    if option in (Option.ROXHAM, Option.IRREGULAR):
        detect = rules.roxham_interception if option == Option.ROXHAM else rules.between_ports_detection
        if rules.direct_back or rules.stca_between_ports:
            return 1.0 - detect * (1.0 - exc)
        return np.ones_like(exc)
    return np.ones_like(exc)


def utilities(rules: R.RuleSet, d: Deciders, c: Conditions, b, routes, eligible_rate: float) -> np.ndarray:
    """Utility matrix ``(n, N_OPTIONS)``; ``b`` is the behaviour spec, ``routes`` the routes spec."""
    n = len(d.aware)
    u = np.full((n, N_OPTIONS), -np.inf)
    stay = b.w_protection * d.p_us - b.w_wait * c.wait_us_years
    canada = b.w_protection * d.p_ca - b.w_wait * c.wait_ca_years + b.w_reception * c.reception_room
    returned = stay - b.w_return
    hh = 1.0 + 0.25 * (d.household_size - 1.0)  # households carry more cost and feel risk more
    u[:, Option.STAY] = stay
    u[:, Option.LEAVE] = b.asc_leave

    def route(option: Option, asc: float, cost: float, risk: float, hides: bool) -> np.ndarray:
        p = claim_chance(rules, option, d.has_exception, eligible_rate)
        value = asc + p * canada + (1.0 - p) * returned
        value -= b.w_cost * cost * hh / d.money
        value -= b.w_risk * (risk * 1000.0) * hh / d.risk_tolerance
        if hides:
            value -= b.w_hiding * (1.0 - d.has_exception)
        return value

    aware = d.aware
    believes_must_hide = rules.stca_between_ports or rules.direct_back
    u[aware, Option.PORT] = route(Option.PORT, b.asc_port, routes.cost_port_usd, 0.0, False)[aware]
    if R.roxham_is_open(rules):
        u[aware, Option.ROXHAM] = route(Option.ROXHAM, b.asc_roxham, routes.cost_roxham_usd, c.death_risk_roxham, False)[aware]
    u[aware, Option.IRREGULAR] = route(
        Option.IRREGULAR, b.asc_irregular, routes.cost_irregular_usd, c.death_risk_irregular, believes_must_hide
    )[aware]
    fly = d.can_fly
    u[fly, Option.AIR] = route(Option.AIR, b.asc_air, routes.cost_air_usd, 0.0, False)[fly]
    return u


def choose(u: np.ndarray, gumbel: np.ndarray) -> np.ndarray:
    """The option with the highest utility plus its Gumbel draw (a multinomial logit draw)."""
    return np.argmax(u + gumbel, axis=1).astype(np.int8)


def logit_probabilities(u: np.ndarray) -> np.ndarray:
    """Choice probabilities of the logit (for tests and diagnostics)."""
    m = np.max(u, axis=1, keepdims=True)
    e = np.exp(u - m)
    return e / e.sum(axis=1, keepdims=True)
