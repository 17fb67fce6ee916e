"""Plots of one run: crossings by route, the IRB backlog, Quebec shelters.

Matplotlib with the Agg backend (no screen needed). Conventions shared with
the comparison plots: labels in words, thousands separators, dates on the
x axis, policy changes as dashed grey vertical lines named at the top.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..calendar import parse_date  # noqa: E402
from ..core.columns import label  # noqa: E402
from ..files import save_figure  # noqa: E402

ROUTE_COLUMNS = ("roxham_crossings", "other_irregular_crossings", "port_claims", "port_turnbacks", "air_claims")
ROUTE_COLORS = {
    "roxham_crossings": "#d95f02",
    "other_irregular_crossings": "#7570b3",
    "port_claims": "#1b9e77",
    "port_turnbacks": "#e7298a",
    "air_claims": "#66a61e",
}
def _number(x, _pos=None) -> str:
    """Thousands separators for large numbers, decimals for small ones (expected deaths are fractions)."""
    if abs(x) >= 100 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _compact(x, _pos=None) -> str:
    """Short tick labels for wide ranges: 250k, 3.2M, 1.5bn."""
    for threshold, size, suffix in ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(x) >= threshold:
            return f"{x / size:,.1f}".rstrip("0").rstrip(".") + suffix
    return _number(x)


THOUSANDS = FuncFormatter(_number)
COMPACT = FuncFormatter(_compact)


def month_dates(months) -> list[dt.date]:
    """Where a month's value is drawn: the 15th of the month."""
    return [parse_date(m).replace(day=15) for m in months]


def mark_changes(ax, changes, first: dt.date, last: dt.date, labels: bool = True) -> None:
    """Dashed grey lines at policy changes inside the plotted window, named at the top.

    Changes on the same day share one line and one label.
    """
    by_day: dict[dt.date, list[str]] = {}
    for c in changes:
        for when, word in ((c.start, ""), (c.until, "end of ")):
            if when is not None and first <= when <= last:
                names = by_day.setdefault(when, [])
                label = word + c.name.replace("_", " ")
                if label not in names:
                    names.append(label)
    for when, names in sorted(by_day.items()):
        ax.axvline(when, color="0.5", ls="--", lw=0.8, zorder=0)
        if labels:
            # vertical labels beside their line never collide with each other
            ax.text(when, 0.98, " / ".join(names) + " ", transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.35", va="top", ha="right", rotation=90)


def style_time_axis(ax, ylabel: str) -> None:
    ax.yaxis.set_major_formatter(COMPACT)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom=0)


def run_plots(monthly: pd.DataFrame, changes, out_dir: Path, title: str) -> list[Path]:
    """The three plots of a single run; returns the files written."""
    dates = month_dates(monthly["month"])
    first, last = dates[0].replace(day=1), dates[-1]
    written = []

    fig, ax = plt.subplots(figsize=(10, 4.8))
    for col in ROUTE_COLUMNS:
        if monthly[col].sum() > 0:
            ax.plot(dates, monthly[col], label=label(col), color=ROUTE_COLORS[col], lw=1.6)
    mark_changes(ax, changes, first, last)
    style_time_axis(ax, "persons per month")
    ax.set_title(f"Crossings and claims by route — {title}", loc="left")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3)
    written += save_figure(fig, out_dir / "crossings_by_route")

    for col, unit, name in (
        ("irb_backlog", "claims pending", "irb_backlog"),
        ("quebec_shelter_population", "persons (end of month)", "quebec_shelter"),
    ):
        fig, ax = plt.subplots(figsize=(10, 4.2))
        ax.plot(dates, monthly[col], color="#1f78b4", lw=1.8)
        if col == "quebec_shelter_population":
            ax.plot(dates, monthly["shelter_population_elsewhere"], color="#a6cee3", lw=1.4,
                    label=label("shelter_population_elsewhere"))
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08))
        mark_changes(ax, changes, first, last)
        style_time_axis(ax, unit)
        ax.set_title(f"{label(col)} — {title}", loc="left")
        written += save_figure(fig, out_dir / name)
    return written
