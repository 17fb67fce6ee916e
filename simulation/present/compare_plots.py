"""Plots comparing options: time series with bands, outcome bars with intervals, route shares, overview.

Each scenario keeps one colour in every plot (bundled options have fixed
colours; others get one from their name). Medians are lines, 5-95% bands are
shaded, the policy date is a dashed grey line, numbers have thousands
separators, and every axis says its unit.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.columns import HEADLINE, OUTCOME_BY_NAME, monthly_unit  # noqa: E402
from ..files import save_figure  # noqa: E402
from .plots import COMPACT, mark_changes, month_dates, style_time_axis  # noqa: E402

FIXED_COLOURS = {
    "history": "#333333",
    "no_protocol": "#1b9e77",
    "protocol_2023": "#d95f02",
    "protocol_without_resettlement": "#7570b3",
    "suspend_stca": "#e7298a",
    "roxham_designated_port": "#66a61e",
    "protocol_enforcement_surge": "#e6ab02",
    "protocol_irb_capacity_doubled": "#a6761d",
}
_FALLBACK = plt.get_cmap("tab20").colors


def colour(name: str) -> str:
    return FIXED_COLOURS.get(name) or matplotlib.colors.to_hex(_FALLBACK[zlib.crc32(name.encode()) % len(_FALLBACK)])


#: The outcomes drawn month by month.
TIMESERIES = ("irregular_crossings", "roxham_crossings", "other_irregular_crossings", "port_claims", "returns",
              "claims_in_canada", "deaths_expected", "irb_backlog_end", "quebec_shelter_peak", "reception_cost", "us_backlog_end")


def series(key: str) -> tuple[str, str, tuple[str, ...]]:
    """(label, unit, columns summed) of the monthly series behind an outcome."""
    o = OUTCOME_BY_NAME[key]
    return o.label, monthly_unit(o), o.columns


def _series_frame(monthly: pd.DataFrame, columns) -> pd.DataFrame:
    v = monthly[list(columns)].sum(axis=1)
    g = v.groupby(monthly["month"], sort=True)
    return pd.DataFrame({"p05": g.quantile(0.05), "p50": g.quantile(0.5), "p95": g.quantile(0.95)})


def _plot_band(ax, monthly_by_scenario, columns, start_month, changes, labels=True, diverge_month=None):
    """Median lines and 90% bands; before ``diverge_month`` all options are identical (common random
    numbers), so that stretch is drawn once, in grey."""
    for i, (name, monthly) in enumerate(monthly_by_scenario.items()):
        q = _series_frame(monthly[monthly["month"] >= start_month], columns)
        if diverge_month:
            if i == 0:
                shared = q[q.index <= diverge_month]
                d = month_dates(shared.index)
                ax.fill_between(d, shared["p05"], shared["p95"], color="0.5", alpha=0.18, lw=0)
                ax.plot(d, shared["p50"], color="0.35", lw=1.6, label="all options (identical before the change)")
            q = q[q.index >= diverge_month]
        dates = month_dates(q.index)
        c = colour(name)
        ax.fill_between(dates, q["p05"], q["p95"], color=c, alpha=0.18, lw=0)
        ax.plot(dates, q["p50"], color=c, lw=1.6, label=name.replace("_", " "))
    dates = month_dates(sorted(next(iter(monthly_by_scenario.values()))["month"].unique()))
    dates = [d for d in dates if d.strftime("%Y-%m") >= start_month]
    mark_changes(ax, changes, dates[0].replace(day=1), dates[-1], labels=labels)


def timeseries_plots(monthly_by_scenario: dict[str, pd.DataFrame], changes, start_month: str, out_dir: Path,
                     diverge_month: str | None = None) -> list[Path]:
    written = []
    for key in TIMESERIES:
        title, unit, cols = series(key)
        fig, ax = plt.subplots(figsize=(10, 4.6))
        _plot_band(ax, monthly_by_scenario, cols, start_month, changes, diverge_month=diverge_month)
        style_time_axis(ax, unit)
        ax.set_title(f"{title}: median and 90% band over replications", loc="left", fontsize=11)
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3)
        written += save_figure(fig, out_dir / f"timeseries_{key}")
    return written


def outcome_bars(summary: pd.DataFrame, window: str, out_dir: Path, metrics=HEADLINE) -> list[Path]:
    """Cumulative outcomes per option, with 90% intervals, ordered within each panel."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, metric in zip(axes.ravel(), metrics):
        m = OUTCOME_BY_NAME[metric]
        rows = summary[(summary["metric"] == metric) & (summary["window"] == window)].sort_values("mean")
        y = np.arange(len(rows))
        err = np.vstack([rows["mean"] - rows["p05"], rows["p95"] - rows["mean"]]).clip(min=0)
        ax.barh(y, rows["mean"], xerr=err, color=[colour(n) for n in rows["scenario"]], capsize=3, error_kw={"lw": 1})
        ax.set_yticks(y, [n.replace("_", " ") for n in rows["scenario"]], fontsize=8)
        ax.xaxis.set_major_formatter(COMPACT)
        ax.set_title(m.label, fontsize=9, loc="left")
        ax.set_xlabel(m.unit, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="0.9")
    fig.suptitle(f"Outcomes by option ({window.replace('_', ' ')}): mean, bars show the 90% interval", x=0.01, ha="left")
    fig.tight_layout()
    return save_figure(fig, out_dir / "outcomes")


ROUTES = (("roxham_crossings", "Roxham Road", "#d95f02"), ("other_irregular_crossings", "elsewhere between ports", "#7570b3"),
          ("port_claims", "claim at a land port", "#1b9e77"), ("port_turnbacks", "turned back at a port", "#e7298a"),
          ("air_claims", "flew in", "#66a61e"))


def route_shares(monthly_by_scenario: dict[str, pd.DataFrame], start_month: str, out_dir: Path) -> list[Path]:
    """How those who moved towards Canada went, per option (share of all attempts, mean over replications)."""
    names = list(monthly_by_scenario)
    shares = []
    for name in names:
        df = monthly_by_scenario[name]
        tot = df[df["month"] >= start_month][[c for c, _, _ in ROUTES]].sum()
        shares.append(tot / max(tot.sum(), 1e-9))
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.6))
    left = np.zeros(len(names))
    for col, label, c in ROUTES:
        vals = np.array([s[col] for s in shares])
        ax.barh(names, vals, left=left, color=c, label=label)
        for i, v in enumerate(vals):
            if v > 0.06:
                ax.text(left[i] + v / 2, i, f"{v:.0%}", ha="center", va="center", fontsize=8, color="white")
        left += vals
    ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=9)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(f"share of people who went towards Canada, {start_month} on")
    ax.set_title("Routes taken, by option", loc="left")
    ax.legend(frameon=False, fontsize=8, ncol=5, loc="upper left", bbox_to_anchor=(0, -0.18 - 0.1 / max(len(names), 1)))
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, out_dir / "route_shares")


def overview(monthly_by_scenario: dict[str, pd.DataFrame], changes, start_month: str, out_dir: Path,
             diverge_month: str | None = None) -> list[Path]:
    """One page: the six headline outcomes over time, one colour per option."""
    fig, axes = plt.subplots(3, 2, figsize=(13, 11), sharex=True)
    for i, (ax, key) in enumerate(zip(axes.ravel(), HEADLINE)):
        title, unit, cols = series(key)
        _plot_band(ax, monthly_by_scenario, cols, start_month, changes, labels=i == 0, diverge_month=diverge_month)
        style_time_axis(ax, unit)
        ax.set_title(title, loc="left", fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=9)
    fig.suptitle("Options compared: median and 90% band over replications", x=0.01, ha="left", fontsize=13)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return save_figure(fig, out_dir / "overview")
