"""The route decision: a nested logit over six options, for all deciders at once.

Utility of each option for each decider (arrays of shape ``(n, 6)``):

* stay in the US: ``w_protection * p_us - w_wait * wait_us`` for people with an asylum case,
  ``w_protection * stay_chance`` for people whose status is ending (TPS, parole);
* a route to Canada: its constant, plus the chance the person believes they
  may claim times the value of a Canadian claim (protection, wait, reception)
  and of the person's own wish to be in Canada (a random effect, so some
  people want to go far more than others: a mixed logit),
  plus the chance of being returned times the value of staying less the cost
  of being returned, less travel cost relative to money, less physical risk
  relative to risk tolerance, less the cost of hiding where the person
  believes the Protocol forces it;
* give up or go elsewhere: a constant.

Unavailable options (route unknown, Roxham closed, no visa to fly) get
``-inf``.

The four routes to Canada form one nest ("go north") beside "stay" and
"leave": someone set on leaving the US for Canada who finds one route closed
looks first at the other routes, not back at staying (the substitution the
Public Safety memo and the Canadian Council for Refugees feared in 2023).
``nest_scale`` (0 < λ ≤ 1) sets how close substitutes the routes are; λ = 1
is the plain multinomial logit. The draw is exact and uses common random
numbers: the nest is the best of (stay, λ·logsumexp(V/λ), leave) plus a
Gumbel draw each, the route the best of V/λ plus a Gumbel draw each, all
read from the person's own random slots.
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


N_OPTIONS = len(Option)
NORTH = np.array([Option.PORT, Option.ROXHAM, Option.IRREGULAR, Option.AIR])


@dataclass
class Deciders:
    """What the choice needs to know about each decider (one entry per person)."""

    has_exception: np.ndarray  # as the person believes it, under the exceptions the person believes exist
    has_case: np.ndarray  # an asylum case pending in the US (otherwise: a status ending; staying means no wait)
    aware: np.ndarray
    can_fly: np.ndarray
    p_us: np.ndarray  # chance of protection by staying: the US grant rate, or the chance of keeping a status
    p_ca: np.ndarray
    money: np.ndarray
    risk_tolerance: np.ndarray
    household_size: np.ndarray
    north_taste: np.ndarray


@dataclass
class Conditions:
    """Conditions on the day, the same for every decider."""

    wait_us_years: float
    wait_ca_years: float
    reception_room: float  # 1 when Quebec shelters have room, falling to 0 when full
    death_risk_roxham: float
    death_risk_irregular: float


def claim_chance(rules: R.RuleSet, option: Option, has_exception: np.ndarray, ineligibility_rate: float) -> np.ndarray:
    """The chance a person may claim after taking ``option``, under ``rules`` (as the person believes them)."""
    exc = has_exception.astype(float) * (1.0 - ineligibility_rate)
    if option == Option.PORT or (option == Option.ROXHAM and R.roxham_is_port(rules)):
        return exc if rules.stca_at_ports else np.ones_like(exc)
    if option in (Option.ROXHAM, Option.IRREGULAR):
        detect = rules.roxham_interception if option == Option.ROXHAM else R.between_ports_detection(rules)
        if rules.direct_back or rules.stca_between_ports:
            return 1.0 - detect * (1.0 - exc)
        return np.ones_like(exc)
    return np.ones_like(exc)


def utilities(rules: R.RuleSet, d: Deciders, c: Conditions, b, routes, ineligibility_rate: float) -> np.ndarray:
    """Utility matrix ``(n, N_OPTIONS)``; ``b`` is the behaviour spec, ``routes`` the routes spec."""
    n = len(d.aware)
    u = np.full((n, N_OPTIONS), -np.inf)
    stay = b.w_protection * d.p_us - b.w_wait * c.wait_us_years * d.has_case
    canada = b.w_protection * d.p_ca - b.w_wait * c.wait_ca_years + b.w_reception * c.reception_room
    returned = stay - b.w_return
    hh = 1.0 + 0.25 * (d.household_size - 1.0)  # households carry more cost and feel risk more
    u[:, Option.STAY] = stay
    u[:, Option.LEAVE] = b.asc_leave

    def route(option: Option, asc: float, cost: float, risk: float, hides: bool) -> np.ndarray:
        p = claim_chance(rules, option, d.has_exception, ineligibility_rate)
        # the wish to be in Canada pays off only if the person may stay and claim: nobody gains from a trip
        # that ends in being turned back, so the taste is weighted by the chance of claiming
        value = asc + p * (canada + d.north_taste) + (1.0 - p) * returned
        value -= b.w_cost * cost * hh / d.money
        value -= b.w_risk * (risk * 1000.0) * hh / d.risk_tolerance
        if hides:
            value -= b.w_hiding * (1.0 - d.has_exception)
        return value

    aware = d.aware
    believes_must_hide = rules.stca_between_ports  # under direct-back, undetected crossers claim at once
    u[aware, Option.PORT] = route(Option.PORT, b.asc_port, routes.cost_port_usd, 0.0, False)[aware]
    if R.roxham_is_open(rules):
        u[aware, Option.ROXHAM] = route(Option.ROXHAM, b.asc_roxham, routes.cost_roxham_usd, c.death_risk_roxham, False)[aware]
    u[aware, Option.IRREGULAR] = route(
        Option.IRREGULAR, b.asc_irregular, routes.cost_irregular_usd, c.death_risk_irregular, believes_must_hide
    )[aware]
    fly = d.can_fly
    u[fly, Option.AIR] = route(Option.AIR, b.asc_air, routes.cost_air_usd, 0.0, False)[fly]
    return u


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp; -inf where every entry is -inf."""
    m = np.max(x, axis=1)
    out = np.full(len(x), -np.inf)
    ok = np.isfinite(m)
    out[ok] = m[ok] + np.log(np.exp(x[ok] - m[ok, None]).sum(axis=1))
    return out


def inclusive_value(u: np.ndarray, nest_scale: float) -> np.ndarray:
    """Value of the 'go north' nest: λ·logsumexp(V_routes/λ)."""
    return nest_scale * _logsumexp(u[:, NORTH] / nest_scale)


def choose(u: np.ndarray, route_gumbel: np.ndarray, nest_gumbel: np.ndarray, nest_scale: float = 1.0) -> np.ndarray:
    """A nested-logit draw: the nest (stay / north / leave), then the route within 'north'.

    ``route_gumbel`` is ``(n, N_OPTIONS)``, ``nest_gumbel`` is ``(n, 3)``.
    """
    top = np.column_stack([u[:, Option.STAY], inclusive_value(u, nest_scale), u[:, Option.LEAVE]]) + nest_gumbel
    nest = np.argmax(top, axis=1)
    route = NORTH[np.argmax(u[:, NORTH] / nest_scale + route_gumbel[:, NORTH], axis=1)]
    return np.where(nest == 0, Option.STAY, np.where(nest == 2, Option.LEAVE, route)).astype(np.int8)


def choice_probabilities(u: np.ndarray, nest_scale: float = 1.0) -> np.ndarray:
    """Probabilities of the nested logit (for tests and diagnostics)."""
    iv = inclusive_value(u, nest_scale)
    top = np.column_stack([u[:, Option.STAY], iv, u[:, Option.LEAVE]])
    p_top = np.exp(top - _logsumexp(top)[:, None])
    within = np.zeros_like(u)
    routes = u[:, NORTH] / nest_scale
    ok = np.isfinite(iv)
    within[np.ix_(ok, NORTH)] = np.exp(routes[ok] - _logsumexp(routes[ok])[:, None])
    out = within * p_top[:, [1]]
    out[:, Option.STAY] = p_top[:, 0]
    out[:, Option.LEAVE] = p_top[:, 2]
    return out
