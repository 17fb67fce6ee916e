"""Plots of one run, and the helpers every plot shares: dates, policy markers, axes, titles.

Matplotlib with the Agg backend (no screen needed). Conventions of every
bordersim figure:

* words, not identifiers, in titles, legends and axes (labels from
  :mod:`simulation.core.columns`, option names and colours from :mod:`.style`);
* one number format per axis (:class:`~.style.AxisFormat`), dates on the x axis;
* policy changes as thin grey lines with a dated label in plain words
  ("Additional Protocol, 25 Mar 2023"), written horizontally *above* the
  plotting area, in as many rows as it takes for no two labels to overlap
  (:func:`draw_markers`), so no label sits on the data;
* observed series beside the simulated ones where there are any (:mod:`.observed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from ..calendar import parse_date  # noqa: E402
from ..core.columns import COLUMN_BY_NAME, label  # noqa: E402
from ..files import save_figure  # noqa: E402
from .observed import available, common_label, fit_words, fitted_months  # noqa: E402
from .style import ROUTE_COLOURS, AxisFormat  # noqa: E402

#: The routes drawn in route figures, in this order (colours in :data:`.style.ROUTE_COLOURS`).
ROUTE_COLUMNS = tuple(ROUTE_COLOURS)
MARKER_FONT = 7.5  #: points
_ROW = 1.45 * MARKER_FONT  #: height of a row of marker labels, points
_GAP = 6.0  #: points between two labels on one row


def month_dates(months) -> list[dt.date]:
    """Where a month's value is drawn: the 15th of the month."""
    return [parse_date(m).replace(day=15) for m in months]


def day_label(day: dt.date) -> str:
    """'25 Mar 2023'."""
    return f"{day.day} {day:%b %Y}"


# --- policy markers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """A dated policy change to mark on a time axis."""

    day: dt.date
    text: str  #: plain words, without the date

    @property
    def label(self) -> str:
        return f"{self.text}, {day_label(self.day)}"


def short_label(change) -> str:
    """The plain-language name of a change: its ``label``, else its description up to the first colon or
    bracket (at most about 40 characters), else its name in words."""
    text = getattr(change, "label", None)
    if text:
        return text
    desc = (getattr(change, "description", "") or "").strip()
    if desc:
        for stop in (":", ";", " (", " - ", ". "):
            desc = desc.split(stop)[0]
        if len(desc) > 42:
            desc = desc[:40].rsplit(" ", 1)[0] + "…"
        return desc[0].upper() + desc[1:]
    return change.name.replace("_", " ").capitalize()


def change_labels(scenario) -> dict[str, str]:
    """Each enabled policy change of a scenario, by name, with its plain-language label."""
    return {c.name: short_label(c) for c in scenario.policy.change if c.enabled}


def policy_markers(scenarios, first: dt.date, last: dt.date, diverge: dt.date | None = None) -> list[Marker]:
    """The markers to draw between ``first`` and ``last`` for one scenario or several options.

    Each change gives a marker on its start ("Additional Protocol, 25 Mar 2023") and, if it ends, one on its
    end ("COVID-19 direct-backs end, 21 Nov 2021"). With several options, every change that starts on
    ``diverge`` (the day the options start to differ) is one marker, "Options take effect", and a later change
    that only some options have says so.
    """
    scenarios = list(scenarios) if isinstance(scenarios, (list, tuple)) else [scenarios]
    several = len(scenarios) > 1
    seen: dict[tuple, int] = {}
    markers: list[Marker] = []
    if several and diverge and first <= diverge <= last:
        markers.append(Marker(diverge, "Options take effect"))
    for sc in scenarios:
        for c in sc.policy.change:
            if not c.enabled:
                continue
            start, until = parse_date(c.start), parse_date(c.until) if c.until else None
            if several and start == diverge:
                continue
            seen[(c.name, start, until, short_label(c))] = seen.get((c.name, start, until, short_label(c)), 0) + 1
    for (name, start, until, text), n in seen.items():
        partly = " (some options)" if several and n < len(scenarios) else ""
        for day, words in ((start, text + partly), (until, f"{text} end{partly}")):
            if day is not None and first <= day <= last:
                markers.append(Marker(day, words))
    # one marker per day: changes on the same day share a line and a label
    by_day: dict[dt.date, list[str]] = {}
    for m in markers:
        if m.text not in by_day.setdefault(m.day, []):
            by_day[m.day].append(m.text)
    return [Marker(day, "; ".join(texts)) for day, texts in sorted(by_day.items())]


def markers_from_changes(changes, labels: dict[str, str], first: dt.date, last: dt.date) -> list[Marker]:
    """Markers for rule changes (:class:`~simulation.scenario.RuleChange`), named from ``labels`` where given."""
    out = []
    for c in changes:
        text = labels.get(c.name) or short_label(c)
        for day, words in ((c.start, text), (c.until, f"{text} end")):
            if day is not None and first <= day <= last:
                out.append(Marker(day, words))
    return sorted(set(out), key=lambda m: (m.day, m.text))


def draw_markers(ax, markers: list[Marker], how: str = "labels", numbers_from: int = 1) -> int:
    """Grey lines at the markers' days, and their labels above the plotting area; returns the rows of labels used.

    ``how="labels"``: the dated label in words, horizontal, above the plotting area (never on the data). A
    label starts at its line, or, where it would run past the right edge, ends at the edge; each line rises
    to its own label, and labels are stacked in rows so that no two overlap and no line crosses a label
    (a label sits above every label whose line it spans). ``how="numbers"``: the marker's number in
    ``markers`` above its line (the figure carries the key, :func:`marker_key`). ``how="lines"``: lines only.

    Call it once the axes have their final size (after ``tight_layout`` or with a fixed layout).
    """
    x0, x1 = ax.get_xlim()
    shown = [(k, m) for k, m in enumerate(markers) if x0 <= mdates.date2num(m.day) <= x1]
    for _, m in shown:
        ax.axvline(m.day, color="0.55", ls="-", lw=0.7, zorder=0.5)
    if how == "lines" or not shown:
        return 0
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    if how == "numbers":
        for k, m in shown:
            ax.annotate(str(numbers_from + k), (mdates.date2num(m.day), 1.0), xycoords=trans, xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=MARKER_FONT, color="0.25",
                        fontweight="bold", annotation_clip=False)
        return 1
    rows, offsets = layout_labels(ax, [m for _, m in shown])
    px_per_pt = fig.dpi / 72.0
    height = max(ax.get_window_extent(renderer).height, 1)
    for (_, m), row, dx in zip(shown, rows, offsets):
        x = mdates.date2num(m.day)
        rise = (row * _ROW + 3) * px_per_pt / height
        ax.plot([x, x], [1.0, 1.0 + rise + 0.2 * MARKER_FONT * px_per_pt / height], transform=trans, color="0.55",
                lw=0.7, clip_on=False, zorder=0.5)
        ax.annotate(m.label, (x, 1.0), xycoords=trans, xytext=(dx / px_per_pt, row * _ROW + 3), textcoords="offset points",
                    ha="left", va="bottom", fontsize=MARKER_FONT, color="0.25", annotation_clip=False)
    return max(rows) + 1


def layout_labels(ax, markers: list[Marker]) -> tuple[list[int], list[float]]:
    """Rows and horizontal offsets (pixels from the line to the label's left end) of marker labels.

    A label starts at its line, or, for the last few markers, ends at it (so that no label runs off the right
    edge). A label's row is one above the highest row of the labels whose lines it spans, so lines never cross
    labels, and labels that would overlap on one row are moved up. Of the ways to choose which markers' labels
    end at their line, the one with the fewest rows is kept.
    """
    renderer = ax.figure.canvas.get_renderer()
    gap = _GAP * ax.figure.dpi / 72.0
    box = ax.get_window_extent(renderer)
    xs = [ax.transData.transform((mdates.date2num(m.day), 0))[0] for m in markers]
    widths = []
    for m in markers:
        t = ax.text(0, 0, m.label, fontsize=MARKER_FONT)
        # text is measured at the figure's dpi; saved at another, hinting makes it up to a few percent wider
        widths.append(1.08 * t.get_window_extent(renderer).width + 3)
        t.remove()
    n = len(markers)
    order = sorted(range(n), key=lambda i: xs[i])
    best = None
    for k in range(n, -1, -1):  # the markers from the k-th (left to right) on have labels ending at their line
        right_aligned = set(order[k:])
        offsets = [-(widths[i] + 2.0) if i in right_aligned else 2.0 for i in range(n)]
        rows = _rows(xs, widths, offsets, gap)
        if rows is None:
            continue
        spans = [(xs[i] + offsets[i], xs[i] + offsets[i] + widths[i]) for i in range(n)]
        overflow = sum(max(0.0, b - box.x1) + max(0.0, box.x0 - a) for a, b in spans)
        score = (overflow > 1.0, max(rows, default=0), overflow)
        if best is None or score < best[0]:
            best = (score, rows, offsets)
    if best is None:  # cannot happen with labels that start at their line; kept for safety
        return list(range(n)), [2.0] * n
    return best[1], best[2]


def _rows(xs, widths, offsets, gap) -> list[int] | None:
    """Rows of labels at these offsets, or None if two labels span each other's line (no rows would do)."""
    n = len(xs)

    def span(i):
        return xs[i] + offsets[i], xs[i] + offsets[i] + widths[i]

    def covers(i, j):
        a, b = span(i)
        return i != j and a - gap <= xs[j] <= b + gap

    if any(covers(i, j) and covers(j, i) for i in range(n) for j in range(i + 1, n)):
        return None
    rows = [0] * n
    for _ in range(4 * n + 4):
        changed = False
        for i in range(n):
            need = max([rows[j] + 1 for j in range(n) if covers(i, j)], default=0)
            if need > rows[i]:
                rows[i], changed = need, True
        for i in range(n):
            for j in range(i + 1, n):
                (a, b), (c, d) = span(i), span(j)
                if rows[i] == rows[j] and not (b + gap <= c or d + gap <= a):
                    rows[j if xs[j] <= xs[i] else i] += 1
                    changed = True
        if not changed:
            return rows
    return None


def marker_key(fig, markers: list[Marker], y: float = 0.0, numbers_from: int = 1) -> None:
    """The key of numbered markers, under a figure: 'Policy changes: 1 Options take effect, 25 Mar 2023 ...'."""
    if markers:
        nb = "\u00a0"  # each entry stays on one line: the wrapping breaks only between entries
        text = "    ".join(f"{numbers_from + i}{nb}{nb}{m.label}".replace(" ", nb) for i, m in enumerate(markers))
        fig.text(0.01, y, wrap_text("Policy changes:  " + text, fig.get_figwidth(), MARKER_FONT + 0.5),
                 fontsize=MARKER_FONT + 0.5, color="0.25", ha="left", va="bottom")


def wrap_text(text: str, width_in: float, fontsize: float) -> str:
    """Text broken into lines that fit ``width_in`` inches at ``fontsize`` points (each paragraph on its own)."""
    import textwrap

    chars = max(20, int(width_in * 72 / (0.52 * fontsize)))
    return "\n".join(textwrap.fill(p, chars) for p in text.split("\n"))


def title(ax, text: str, subtitle: str | None = None, rows: int = 0, size: float = 11) -> None:
    """A left-aligned title (and a smaller subtitle under it, wrapped to the axes' width) above ``rows`` rows of
    marker labels."""
    pad = 6 + rows * _ROW + (3 if rows else 0)
    if subtitle:
        width = ax.get_position().width * ax.figure.get_figwidth()
        sub = wrap_text(subtitle, width, size - 2)
        ax.annotate(sub, (0, 1), xycoords="axes fraction", xytext=(0, pad), textcoords="offset points",
                    ha="left", va="bottom", fontsize=size - 2, color="0.3", annotation_clip=False)
        pad += (size - 2) * 1.25 * (sub.count("\n") + 1) + 2
    ax.set_title(text, loc="left", fontsize=size, pad=pad)


def figure_frame(fig, heading: str, subtitle: str = "", footer_in: float = 0.0, header_extra_in: float = 0.0):
    """Lay out a figure of several panels: a heading and a wrapped subtitle at the top, ``footer_in`` inches
    left free at the bottom (legend, key), the panels in between (``tight_layout``)."""
    w, h = fig.get_figwidth(), fig.get_figheight()
    sub = wrap_text(subtitle, w - 0.3, 9) if subtitle else ""
    lines = sub.count("\n") + 1 if sub else 0
    header = 0.42 + 0.17 * lines + header_extra_in
    fig.text(0.1 / w, 1 - 0.12 / h, heading, fontsize=13, ha="left", va="top")
    if sub:
        fig.text(0.1 / w, 1 - 0.4 / h, sub, fontsize=9, color="0.3", ha="left", va="top", linespacing=1.3)
    fig.tight_layout(rect=(0, footer_in / h, 1, 1 - header / h))


def style_time_axis(ax, ylabel: str, money: bool = False, bottom: float | None = 0) -> None:
    """Years on the x axis, one number format on the y axis, light grid, no box."""
    ax.yaxis.set_major_formatter(AxisFormat(money=money))
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="0.9")
    ax.spines[["top", "right"]].set_visible(False)
    if bottom is not None:
        ax.set_ylim(bottom=bottom)
    if bottom is not None and ax.get_ylim()[1] < bottom + 1:  # an all-zero series: a readable axis, no fractions
        ax.set_ylim(bottom, bottom + 1)


def frame_months(ax, months) -> None:
    """x limits from the first day of the first month to the end of the last."""
    d = [parse_date(m) for m in months]
    last = d[-1]
    ax.set_xlim(d[0], (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1))


# --- one run ---------------------------------------------------------------------------------------------


def run_plots(monthly: pd.DataFrame, scenario, out_dir: Path, title_text: str | None = None) -> list[Path]:
    """The plots of a single run; returns the files written.

    ``crossings_by_route``, ``irb_backlog``, ``shelters`` (Quebec and elsewhere, with transfers) and, when
    the run covers observed months, ``observed`` (simulated against the observed series, fitted or held out).
    """
    name = title_text or scenario.name
    months = list(monthly["month"])
    first, last = parse_date(months[0]), parse_date(months[-1]).replace(day=28)
    markers = policy_markers(scenario, first, last)
    dates = month_dates(months)
    written = []

    fig, ax = plt.subplots(figsize=(10, 4.6))
    for col, c in ROUTE_COLOURS.items():
        if monthly[col].sum() > 0:
            ax.plot(dates, monthly[col], label=label(col), color=c, lw=1.6)
    frame_months(ax, months)
    style_time_axis(ax, "persons per month")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3)
    else:
        ax.text(0.5, 0.5, "nobody went towards Canada in this run", transform=ax.transAxes, ha="center", color="0.4")
    fig.tight_layout()
    rows = draw_markers(ax, markers)
    title(ax, f"Crossings and claims by route: {name}", _run_subtitle(monthly, scenario), rows)
    written += save_figure(fig, out_dir / "crossings_by_route")

    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.plot(dates, monthly["irb_backlog"], color="#000000", lw=1.8)
    frame_months(ax, months)
    style_time_axis(ax, f"{COLUMN_BY_NAME['irb_backlog'].unit}, end of month")
    fig.tight_layout()
    rows = draw_markers(ax, markers)
    title(ax, f"{label('irb_backlog')}: {name}", _run_subtitle(monthly, scenario), rows)
    written += save_figure(fig, out_dir / "irb_backlog")

    written += shelter_plot({scenario.name: monthly.assign(rep=0)}, markers, months[0], out_dir / "shelters",
                            f"People in shelters, Quebec and elsewhere: {name}", _run_subtitle(monthly, scenario),
                            capacity=_capacity(scenario, months))
    written += observed_plot(monthly, scenario, markers, out_dir / "observed", name)
    return written


def _run_subtitle(monthly: pd.DataFrame, scenario) -> str:
    return f"One run, seed {scenario.run.seed}, {scenario.run.scale:.1%} of people simulated (counts scaled up to persons)"


def _capacity(scenario, months) -> list[float]:
    from ..scenario.kinds import dated_value

    return [dated_value(scenario.canada.quebec_shelter_capacity, parse_date(m)) for m in months]


#: The layers of the shelters figure, bottom to top (those the run reports), how each is drawn, and in words.
SHELTER_LAYERS = ("quebec_shelter_population", "quebec_overflow_population", "shelter_population_elsewhere")
SHELTER_STYLE = {"quebec_shelter_population": (0.85, None), "quebec_overflow_population": (0.55, ".."),
                 "shelter_population_elsewhere": (0.3, "///")}
SHELTER_WORDS = {"quebec_shelter_population": "in Quebec's shelters",
                 "quebec_overflow_population": "in Quebec's emergency places",
                 "shelter_population_elsewhere": "in another province, after a transfer"}


def shelter_plot(monthly_by_option: dict[str, pd.DataFrame], markers, start_month: str, path: Path, heading: str,
                 subtitle: str, capacity: list[float] | None = None, colours_of: dict | None = None,
                 reference: str | None = None) -> list[Path]:
    """People in shelters as Quebec plus elsewhere (stacked medians), with transfers out of Quebec below.

    One column of panels per option (small multiples, same scales), so the Quebec part sitting at its cap
    does not hide the transfers and the people sheltered elsewhere.
    """
    from .style import option_label

    names = list(monthly_by_option)
    n = len(names)
    ncols = min(n, 4)
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(2 * nrows, ncols, figsize=(4.0 * ncols if n > 1 else 10, 4.2 * nrows + (2.2 if n > 1 else 0.4)),
                             gridspec_kw={"height_ratios": [3, 1] * nrows}, squeeze=False)
    axes = []
    for i in range(nrows * ncols):
        r, c = divmod(i, ncols)
        ax, ax2 = grid[2 * r, c], grid[2 * r + 1, c]
        if i >= n:
            ax.set_visible(False)
            ax2.set_visible(False)
            continue
        name = names[i]
        df = monthly_by_option[name]
        df = df[df["month"] >= start_month]
        layers = [c for c in SHELTER_LAYERS if c in df.columns]
        med = df.groupby("month", sort=True)[[*layers, "transfers_out_of_quebec"]].median()
        d = month_dates(med.index)
        colour = (colours_of or {}).get(name, "#0072B2")
        bottom = np.zeros(len(med))
        for col in layers:
            alpha, hatch = SHELTER_STYLE[col]
            ax.fill_between(d, bottom, bottom + med[col].to_numpy(), facecolor=colour, alpha=alpha, hatch=hatch,
                            edgecolor="white", lw=0)
            bottom = bottom + med[col].to_numpy()
        if capacity is not None:
            cap = np.asarray(capacity[-len(med):], dtype=float)
            ax.step(d[-len(cap):], cap, where="mid", color="#E69F00", ls="--", lw=1.2)
        ax2.bar(d, med["transfers_out_of_quebec"], width=25, color=colour, alpha=0.7, lw=0)
        frame_months(ax, list(med.index))
        frame_months(ax2, list(med.index))
        style_time_axis(ax, "persons, end of month" if c == 0 else "")
        style_time_axis(ax2, "transfers\nper month" if c == 0 else "")
        ax.tick_params(labelbottom=False)
        if n > 1:
            ax.set_title(option_label(name, reference), loc="left", fontsize=9.5)
        axes.append((ax, ax2))
    ymax = max(a.get_ylim()[1] for a, _ in axes)
    ymax2 = max(b.get_ylim()[1] for _, b in axes)
    for a, b in axes:
        a.set_ylim(0, ymax)
        b.set_ylim(0, ymax2)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ink = "0.35" if n > 1 else (colours_of or {}).get(names[0], "#0072B2")  # the legend explains fills, not options
    present = [c for c in SHELTER_LAYERS if c in monthly_by_option[names[0]].columns]
    handles = [Patch(facecolor=ink, alpha=SHELTER_STYLE[c][0], hatch=SHELTER_STYLE[c][1], edgecolor="white",
                     label=SHELTER_WORDS[c]) for c in present]
    handles.append(Patch(facecolor=ink, alpha=0.7, label="transferred out of Quebec in the month (lower panel)"))
    if capacity is not None:
        handles.insert(2, Line2D([], [], color="#E69F00", ls="--", lw=1.2, label="Quebec shelter places"))
    legend_at = 0.5 if n > 1 else 0.05
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, legend_at / fig.get_figheight()),
               ncol=4, frameon=False, fontsize=8)
    if n > 1:
        for ax, _ in axes:
            ax.set_title(ax.get_title(loc="left"), loc="left", fontsize=9.5, pad=14)
        figure_frame(fig, heading, subtitle, footer_in=0.85)
        marker_key(fig, markers, y=0.05 / fig.get_figheight())
        for ax, ax2 in axes:
            draw_markers(ax, markers, how="numbers")
            draw_markers(ax2, markers, how="lines")
    else:
        fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
        rows = draw_markers(axes[0][0], markers)
        draw_markers(axes[0][1], markers, how="lines")
        title(axes[0][0], heading, subtitle, rows)
    return save_figure(fig, path)


# --- observed series beside simulated ones (the series themselves: simulation.present.observed) -----------


def draw_observed(ax, values: pd.Series, fitted: set[str], first: str, last: str, colour: str = "#000000",
                  label: str = "observed") -> None:
    """Observed months as dots: filled if the calibration used them, open if held out."""
    v = values[(values.index >= first) & (values.index <= last)]
    if not len(v):
        return
    used = [m in fitted for m in v.index]
    d = month_dates(v.index)
    fit_x = [x for x, u in zip(d, used) if u]
    out_x = [x for x, u in zip(d, used) if not u]
    if fit_x:
        ax.scatter(fit_x, [y for y, u in zip(v.values, used) if u], s=16, color=colour, zorder=4,
                   label=f"{label}, month used in the fit")
    if out_x:
        ax.scatter(out_x, [y for y, u in zip(v.values, used) if not u], s=16, facecolor="white", edgecolor=colour,
                   lw=1.1, zorder=4, label=f"{label}, held out (not used in the fit)" if fitted else label)


def observed_figure(panels, markers, path: Path, heading: str, subtitle: str, fitted: set[str], months: list[str],
                    band: bool = False) -> list[Path]:
    """Panels of (series, observed values, simulated frame with p05/p50/p95 by month) drawn one above the other."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.9 * len(panels) + 1.0), sharex=True, squeeze=False)
    for ax, (s, values, q) in zip(axes[:, 0], panels):
        d = month_dates(q.index)
        if band:
            ax.fill_between(d, q["p05"], q["p95"], color="#0072B2", alpha=0.18, lw=0, label="simulated, 5–95% band")
        ax.plot(d, q["p50"], color="#0072B2", lw=1.6, label="simulated, median" if band else "simulated")
        draw_observed(ax, values, fitted, months[0], months[-1], label=f"observed ({s.source.split(',')[0]})")
        frame_months(ax, months)
        style_time_axis(ax, f"{s.short}\nper month")
    handles, labels = [], []
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.07 if len(panels) > 1 else 0.12, 1, 1))
    last = parse_date(months[-1]).replace(day=28)
    rows = draw_markers(axes[0, 0], [m for m in markers if m.day <= last])
    for ax in axes[1:, 0]:
        draw_markers(ax, markers, how="lines")
    title(axes[0, 0], heading, subtitle, rows)
    return save_figure(fig, path)


def observed_plot(monthly: pd.DataFrame, scenario, markers, path: Path, name: str) -> list[Path]:
    """One panel per observed series: the simulated run (line) and the observations (dots); nothing if none overlap."""
    months = list(monthly["month"])
    series = [(s, v) for s, v in available(monthly.columns)
              if ((v.index >= months[0]) & (v.index <= months[-1])).any()]
    if not series:
        return []
    fitted = fitted_months(scenario)
    obs_last = max(v.index.max() for _, v in series)
    shown = [m for m in months if m <= max(obs_last, months[0])]
    sim = monthly.set_index("month")
    panels = [(s, v, pd.DataFrame({"p50": s.simulated(sim).reindex(shown)})) for s, v in series]
    fit = getattr(scenario.scenario, "calibrated_on", None)
    sub = (f"One run. Filled dots: months the behaviour was fitted to ({fit_words(fit)}); open dots: held out. "
           if fit else "One run. The behaviour was not fitted to these observations. ") + \
        "Gaps: months nobody published."
    head = common_label([s for s, _ in series])
    return observed_figure(panels, markers, path, (f"{head}: observed" if head != "Observed series" else "Observed")
                           + f" and simulated, {name}", sub, fitted, shown)
