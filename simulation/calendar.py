"""Dates and months: the one place bordersim does calendar arithmetic.

Scenario files name days as ``'YYYY-MM-DD'`` and months as ``'YYYY-MM'``;
outputs are keyed by month. Every layer (scenario, model, experiments,
plots) uses these helpers instead of its own month arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_month(text: str) -> bool:
    """Whether ``text`` looks like ``'YYYY-MM'``."""
    return bool(_MONTH.match(text))


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


def month_key(day: dt.date) -> str:
    """'YYYY-MM' of the month containing ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after the month of ``day`` (``n`` may be negative)."""
    k = day.year * 12 + day.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    """Last day of the month containing ``day``."""
    return add_months(day, 1) - dt.timedelta(days=1)


def days_in_month(day: dt.date) -> int:
    return month_end(day).day


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every month from the month of ``first`` to the month of ``last``, inclusive."""
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def months_between(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from ``first`` to ``last`` inclusive."""
    return [month_key(m) for m in month_starts(parse_date(first), parse_date(last))]


def shift_month(month: str, n: int) -> str:
    """The month ``n`` months after ``month`` ('YYYY-MM')."""
    return month_key(add_months(parse_date(month), n))


def days_between(first: dt.date, last: dt.date) -> int:
    """Days from ``first`` to ``last``, both included."""
    return (last - first).days + 1


def fiscal_year(day: dt.date) -> int:
    """US fiscal year (October to September) containing ``day``."""
    return day.year + 1 if day.month >= 10 else day.year
