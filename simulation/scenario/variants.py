"""Variants of a resolved scenario: values set by key path, and the same scenario on a shorter window.

Calibration, validation, sensitivity and comparisons with a posterior all make
variants this way, so every variant is validated like a scenario file.
"""

from __future__ import annotations

from ..calendar import parse_date
from .loading import scenario_from_dict
from .schema import Scenario


def set_path(d: dict, path: str, value) -> None:
    """``d["a"]["b"]["c"] = value`` for ``path`` 'a.b.c' (creating the tables on the way)."""
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def get_path(sc: Scenario, path: str, default: float = 0.0) -> float:
    """The number at ``path`` in ``sc`` ('behaviour.group_affinity.haiti'), or ``default`` where it is not set."""
    d = sc.to_dict()
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return float(d)


def with_values(sc: Scenario, values: dict[str, float], origin: str = "<variant>") -> Scenario:
    """``sc`` with each key path in ``values`` set to its value (validated)."""
    d = sc.to_dict()
    for path, v in values.items():
        set_path(d, path, float(v))
    return scenario_from_dict(d, origin)


def truncated(sc: Scenario, end: str) -> Scenario:
    """``sc`` run only to the month ``end``: changes, news and status events that start later are dropped."""
    d = sc.to_dict()
    d["time"]["end"] = min(end, d["time"]["end"])
    last = parse_date(d["time"]["end"])
    for c in d["policy"]["change"]:
        if c.get("from") and parse_date(c["from"]) > last:
            c["enabled"] = False
    for n in d["behaviour"]["news"] + d["population"]["event"]:
        if n.get("date") and parse_date(n["date"]) > last:
            n["enabled"] = False
    return scenario_from_dict(d)
