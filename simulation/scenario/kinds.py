"""How a parameter is declared: its unit, source and meaning, its bounds, and its kind.

Every parameter of a scenario (a policy lever or an uncertain input) is one
pydantic field declared with :func:`param`. Its *kind* is part of its type:

* plain: a number, a bool, a choice or a list;
* dated (:func:`dated`): a number or a step function ``{"YYYY-MM" = value}``;
* per group (:func:`per_group`): ``{group = value}`` with an optional ``default``.

The docs, the sensitivity analysis, the dashboard and ``extends`` merging read
the kind with :func:`kind_of` and the bounds with :func:`bounds_of`; nothing
reads it from the unit text.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic.fields import FieldInfo

from ..calendar import parse_date
from .groups import GROUPS

PLAIN, DATED, PER_GROUP = "plain", "dated", "per_group"


@dataclass(frozen=True)
class Dated:
    """Marker: a number or a step function over months, each entry within [minimum, maximum]."""

    minimum: float = 0.0
    maximum: float | None = None


@dataclass(frozen=True)
class PerGroup:
    """Marker: a value per nationality group (``default`` for the others), each within [minimum, maximum]."""

    minimum: float | None = None
    maximum: float | None = None


DatedValue = float | dict[str, float]


def _check_range(v: float, minimum: float | None, maximum: float | None, what: str = "") -> None:
    if not math.isfinite(v):
        raise ValueError(f"{what}{v} is not a finite number")
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = f"at least {minimum:g}" if minimum is not None else ""
        hi = f"at most {maximum:g}" if maximum is not None else ""
        raise ValueError(f"{what}{v} is out of range; must be {' and '.join(x for x in (lo, hi) if x)}")


def check_dated(value: DatedValue, minimum: float = 0.0, maximum: float | None = None) -> DatedValue:
    """Check a dated value: a finite number, or a non-empty table of 'YYYY-MM' = number, all within range."""
    if isinstance(value, dict):
        if not value:
            raise ValueError("a dated table needs at least one 'YYYY-MM' = value entry")
        for k, v in value.items():
            parse_date(k)
            _check_range(v, minimum, maximum)
    else:
        _check_range(value, minimum, maximum)
    return value


def check_per_group(value: dict[str, float], minimum: float | None = None, maximum: float | None = None) -> dict[str, float]:
    bad = set(value) - set(GROUPS) - {"default"}
    if bad:
        raise ValueError(f"unknown group(s) {sorted(bad)}; allowed: {list(GROUPS)} or 'default'")
    for k, v in value.items():
        _check_range(v, minimum, maximum, f"{k} = ")
    return value


def dated(minimum: float = 0.0, maximum: float | None = None) -> Any:
    """The type of a dated parameter whose values lie in [minimum, maximum]."""
    return Annotated[DatedValue, Dated(minimum, maximum), AfterValidator(lambda v: check_dated(v, minimum, maximum))]


def per_group(minimum: float | None = None, maximum: float | None = None) -> Any:
    """The type of a per-group parameter whose values lie in [minimum, maximum]."""
    return Annotated[dict[str, float], PerGroup(minimum, maximum),
                     AfterValidator(lambda v: check_per_group(v, minimum, maximum))]


def param(default, unit: str, source: str, doc: str, **bounds) -> Any:
    """A parameter with its unit and source (kept in the JSON schema, for the docs) and its bounds."""
    return Field(default, description=doc, json_schema_extra={"unit": unit, "source": source}, **bounds)


# --- reading declarations back -------------------------------------------------


def kind_of(field: FieldInfo) -> str:
    for m in field.metadata:
        if isinstance(m, Dated):
            return DATED
        if isinstance(m, PerGroup):
            return PER_GROUP
    return PLAIN


def bounds_of(field: FieldInfo) -> dict[str, float]:
    """The numeric bounds of a field (``ge``, ``gt``, ``le``, ``lt``), or of each entry of a dated or per-group one."""
    out: dict[str, float] = {}
    for m in field.metadata:
        if isinstance(m, (Dated, PerGroup)):
            if m.minimum is not None:
                out["ge"] = float(m.minimum)
            if m.maximum is not None:
                out["le"] = float(m.maximum)
        for name in ("ge", "gt", "le", "lt"):
            v = getattr(m, name, None)
            if v is not None:
                out[name] = float(v)
    return out


def unit_of(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return str(extra.get("unit", ""))


def source_of(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return str(extra.get("source", ""))


def dated_value(value: DatedValue, day: dt.date) -> float:
    """Evaluate a dated parameter on ``day``: the entry of the latest month at or before it (the first before all)."""
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


def group_value(values: dict[str, float], group: str, fallback: float) -> float:
    """A per-group parameter's value for ``group``: its own entry, else ``default``, else ``fallback``."""
    return values.get(group, values.get("default", fallback))
