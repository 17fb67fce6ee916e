"""The bordersim dashboard: try border rules month by month, and compare two options, in a web page (Solara).

    bordersim dashboard [SCENARIO] [--port N] [--host 127.0.0.1]
    # same as: BORDERSIM_SCENARIO=SCENARIO solara run simulation/present/app.py --host ... --port ...

What it shows, and the promises it keeps so that it cannot mislead:

* **one run per browser session**: every tab (and every reload) gets its own
  model and its own settings (Solara's per-session state); nothing is built
  when the module loads;
* **a changed rule takes effect at once**: the run is rebuilt with the new
  rules (from the start, with the same people and random draws, so it is the
  same run as before up to the rule date) up to the month on screen; while it
  is rebuilt a banner says so and STEP and PLAY are blocked;
* the controls are **derived from the lever declarations** of
  :class:`~simulation.scenario.levers.RuleSet` (a bool is a checkbox, a
  choice a select, a list a multi-select, a probability a percent slider, a
  bounded number an input with its unit; the label is the declaration's
  description); :data:`LEVERS` and :data:`FACTORS` only name which appear;
* values in human units: months as "Mar 2023", shares as percents, numbers
  rounded for people (:mod:`.style`), labels from :mod:`simulation.core.columns`;
* tabs with names; developer settings (scale, playing speed) folded away;
* a tab to compare **any two scenarios of the folder** (the bundled ones by
  default) with a chosen seed and number of replications, paired by seed as
  ``bordersim compare`` does; every view can be **exported** (CSV and PNG).

The model runs through :func:`simulation.experiments.run.simulate` only:
``simulate(scenario, until=...)`` to the rule date, then
``simulate(model=..., until=next month)`` for each STEP.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import os
import threading
import time
import typing
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from simulation.calendar import parse_date, shift_month  # noqa: E402
from simulation.core.columns import COLUMN_BY_NAME, HEADLINE, OUTCOME_BY_NAME  # noqa: E402
from simulation.data import REPO_ROOT  # noqa: E402
from simulation.experiments.engine import replication_seeds  # noqa: E402
from simulation.experiments.run import simulate  # noqa: E402
from simulation.experiments.summary import MIN_REPS, MIN_REPS_FOR_INTERVAL, summarise  # noqa: E402
from simulation.files import to_csv_bytes  # noqa: E402
from simulation.scenario import Scenario, load_scenario, rules_at, scenario_from_dict  # noqa: E402
from simulation.scenario.kinds import bounds_of, dated_value, kind_of, DATED, unit_of  # noqa: E402
from simulation.scenario.levers import RuleSet  # noqa: E402

from simulation.present.plots import Marker, day_label, draw_markers, month_dates, style_time_axis  # noqa: E402
from simulation.present.style import ROUTE_COLOURS, SHARED_GREY, colours, number, option_label, option_order, share, signed  # noqa: E402

#: Environment variables: the scenario the dashboard starts from, and the scale it runs at (developers).
SCENARIO_ENV = "BORDERSIM_SCENARIO"
SCALE_ENV = "BORDERSIM_DASHBOARD_SCALE"
DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "protocol_2023.toml"
DEFAULT_SCALE = 0.005
DEFAULT_SEED = 1
SCALES = (0.001, 0.002, 0.005, 0.01, 0.02)
SEEDS = tuple(range(1, 21))
REPLICATIONS = (1, 3, 5, 10, 20)
#: Months shown before the rule date.
MONTHS_BEFORE = 24

#: The policy levers the dashboard offers (everything else about them is read from RuleSet's declarations).
LEVERS = ("stca_at_ports", "stca_between_ports", "return_window_days", "exceptions", "roxham",
          "between_ports_detection", "humanitarian_pr_per_month", "humanitarian_work_permits_per_month",
          "late_between_ports_claims_barred", "one_year_bar")
#: Dated scenario parameters offered as a multiplier from the rule date on (section.field), with the multipliers.
FACTORS = ("canada.irb_decisions_per_month", "population.pool_entry_share")
FACTOR_CHOICES = (0.5, 1.0, 1.5, 2.0, 3.0)
#: Shown in the tables, in this order (labels from simulation.core.columns).
ROUTES = ("roxham_crossings", "other_irregular_crossings", "port_claims", "air_claims")
RETURNS = ("port_turnbacks", "protocol_returns", "directed_back", "ineligible")
STOCKS = ("irb_backlog", "quebec_shelter_population", "shelter_population_elsewhere")
OTHER_FLOWS = ("claims_in_canada", "transfers_out_of_quebec", "humanitarian_pr", "reception_cost_cad")


def scenario_path() -> Path:
    return Path(os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO).resolve()


def default_scale() -> float:
    try:
        return float(os.environ.get(SCALE_ENV) or DEFAULT_SCALE)
    except ValueError:
        return DEFAULT_SCALE


@functools.lru_cache(maxsize=32)
def _load(path: str) -> Scenario:
    return load_scenario(path)


def base_scenario() -> Scenario:
    """The scenario the dashboard starts from (``$BORDERSIM_SCENARIO`` or protocol_2023)."""
    return _load(str(scenario_path()))


def scenario_files() -> dict[str, Path]:
    """The scenarios of the starting scenario's folder that have a rule date (the options), by name, in display order."""
    out = {}
    for p in sorted(scenario_path().parent.glob("*.toml")):
        try:
            sc = _load(str(p.resolve()))
        except Exception:  # noqa: BLE001 - a broken file in the folder is simply not offered
            continue
        if sc.scenario.policy_date and sc.name not in out:
            out[sc.name] = p.resolve()
    return {n: out[n] for n in option_order(out)}


def policy_day(sc: Scenario) -> dt.date:
    return parse_date(sc.scenario.policy_date) if sc.scenario.policy_date else sc.time.first_day


# --- controls, from the declarations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """A dashboard control derived from a declared parameter."""

    name: str
    kind: str  #: checkbox | select | multiselect | percent | integer | number | factor
    label: str
    unit: str = ""
    options: tuple = ()
    low: float | None = None
    high: float | None = None

    @property
    def short(self) -> str:
        """The label up to its first bracket or full stop, for the 'rules changed' line."""
        text = self.label.removesuffix(", × the scenario's")
        for stop in (" (", ".", ":", ";"):
            text = text.split(stop)[0]
        return text

    def words(self, value) -> str:
        """A value in human units: on/off, 25%, 14 days, × 2, a list in words."""
        if self.kind == "checkbox":
            return "on" if value else "off"
        if self.kind == "percent":
            return share(value)
        if self.kind == "factor":
            return f"× {value:g}"
        if self.kind == "multiselect":
            return ", ".join(v.replace("_", " ") for v in value) or "none"
        if self.kind in ("integer", "number"):
            return f"{value:,g} {self.unit}".strip()
        return str(value).replace("_", " ")


def _words(value) -> str:
    """An identifier in words: 'designated_port' -> 'designated port'."""
    return str(value).replace("_", " ")


def _field(path: str):
    if "." in path:
        section, name = path.split(".")
        return Scenario.model_fields[section].annotation.model_fields[name]
    return RuleSet.model_fields[path]


def control_of(name: str) -> Control:
    """The control of a lever (a RuleSet field) or a factor (a dated 'section.field'), from its declaration."""
    f = _field(name)
    label = _words((f.description or name).rstrip("."))
    unit = unit_of(f)
    if "." in name:
        if kind_of(f) != DATED:
            raise TypeError(f"{name}: only dated parameters can be offered as a multiplier")
        return Control(name, "factor", f"{label}, × the scenario's", unit, FACTOR_CHOICES)
    ann = f.annotation
    origin = typing.get_origin(ann)
    if ann is bool:
        return Control(name, "checkbox", label, unit)
    if origin is typing.Literal:
        return Control(name, "select", label, unit, typing.get_args(ann))
    if origin is tuple:
        (item, *_) = typing.get_args(ann)
        return Control(name, "multiselect", label, unit, typing.get_args(item))
    b = bounds_of(f)
    if ann is float and b.get("ge") == 0.0 and b.get("le") == 1.0:
        return Control(name, "percent", label, unit, low=0.0, high=1.0)
    return Control(name, "integer" if ann is int else "number", label, unit, low=b.get("ge", b.get("gt")),
                   high=b.get("le", b.get("lt")))


CONTROLS = {n: control_of(n) for n in LEVERS + FACTORS}


def _programmes(sc: Scenario, lever: str) -> list:
    """Enabled changes that set an amount lever (a number) on or after the rule date: the scenario's programmes
    (the humanitarian pathway runs 2024-01 .. 2026-01). The dashboard changes their amount and keeps their dates."""
    if CONTROLS[lever].kind not in ("integer", "number"):
        return []
    start = policy_day(sc)
    return [c for c in sc.policy.change
            if c.enabled and getattr(c, lever, None) is not None and parse_date(c.start) >= start]


def lever_defaults(sc: Scenario) -> dict:
    """The scenario's own values of the dashboard's controls: the rules in force on its rule date, or, for an
    amount the scenario sets in a programme starting on or after that date, the programme's amount. Factors: 1."""
    rules = rules_at(policy_day(sc), sc.base_rules(), sc.rule_changes())
    out = {k: getattr(rules, k) for k in LEVERS}
    for k in LEVERS:
        progs = _programmes(sc, k)
        if progs:
            out[k] = getattr(progs[0], k)
    out.update({k: 1.0 for k in FACTORS})
    return out


def _scaled_from(value, start: str, first_day: dt.date, factor: float, cap: float | None = None):
    """A dated parameter multiplied by ``factor`` from ``start`` on (unchanged before)."""
    if factor == 1.0:
        return value
    d0 = parse_date(start)
    table = value if isinstance(value, dict) else {first_day.isoformat()[:7]: float(value)}

    def f(x):
        x = x * factor
        return min(x, cap) if cap is not None else x

    out = {k: float(v) for k, v in table.items() if parse_date(k) < d0}
    if not out:
        out[first_day.isoformat()[:7]] = dated_value(table, first_day)
    out[start] = f(dated_value(table, d0))
    out.update({k: f(float(v)) for k, v in table.items() if parse_date(k) > d0})
    return out


def apply_levers(sc: Scenario, **levers) -> Scenario:
    """The scenario with the dashboard's controls applied; a control that is ``None`` or at its default keeps it.

    Levers become one policy change named ``dashboard`` from the rule date (last in the list, so it overrides
    the scenario's changes from then on). An amount the scenario sets in a programme starting on or after the
    rule date (humanitarian admissions) changes the programme's amount, its dates kept. Factors multiply a dated
    parameter from the rule date on (capped at its declared maximum).
    """
    defaults = lever_defaults(sc)
    wanted = {k: v for k, v in levers.items() if v is not None}
    unknown = set(wanted) - set(defaults)
    if unknown:
        raise TypeError(f"unknown lever(s) {sorted(unknown)}; allowed: {sorted(defaults)}")
    differ = {k: v for k, v in wanted.items() if _differs(v, defaults[k])}
    if not differ:
        return sc
    doc = sc.to_dict()
    start = sc.scenario.policy_date or sc.time.start
    rules = {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in differ.items() if k in LEVERS}
    for k in [k for k in rules if _programmes(sc, k)]:
        value = rules.pop(k)
        names = {c.name for c in _programmes(sc, k)}
        for c in doc["policy"]["change"]:
            if c["name"] in names:
                c[k] = value
    if rules:
        doc["policy"]["change"].append({"name": "dashboard", "from": start, "label": "Your rules",
                                        "description": "rules chosen in the dashboard", "source": "dashboard", **rules})
    for path in FACTORS:
        if path in differ:
            section, name = path.split(".")
            cap = bounds_of(_field(path)).get("le")
            doc[section][name] = _scaled_from(getattr(getattr(sc, section), name), start, sc.time.first_day,
                                              float(differ[path]), cap=cap)
    doc["scenario"]["name"] = f"{sc.name} (dashboard)"
    return scenario_from_dict(doc, origin="dashboard")


def _differs(a, b) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return sorted(a) != sorted(b)
    return a != b


def changed_words(sc: Scenario, chosen: dict) -> str:
    """'STCA applies between ports: off; IRB Refugee Protection Division decision capacity: × 3', or ''."""
    defaults = lever_defaults(sc)
    return "; ".join(f"{CONTROLS[k].short}: {CONTROLS[k].words(v)}" for k, v in chosen.items()
                     if v is not None and _differs(v, defaults[k]))


# --- runs -------------------------------------------------------------------------------------------------------


_reference_lock = threading.Lock()


def reference_results(path: str, seed: int, scale: float) -> pd.DataFrame:
    """Monthly results of a scenario file as it is, computed once per (path, seed, scale) and shared (read-only)."""
    with _reference_lock:
        return _reference(path, seed, scale)


@functools.lru_cache(maxsize=16)
def _reference(path: str, seed: int, scale: float) -> pd.DataFrame:
    return simulate(_load(path), seed=seed, scale=scale, commit=False).monthly


@dataclass(frozen=True, eq=False)
class Run:
    """One session's run with its rules, as shown (a new object after every change, so the page redraws)."""

    model: object
    monthly: pd.DataFrame
    reference: pd.DataFrame
    chosen: dict
    seed: int
    scale: float

    @property
    def month(self) -> str:
        return str(self.monthly["month"].iloc[-1]) if len(self.monthly) else ""

    @property
    def ended(self) -> bool:
        m = self.model
        return m.day >= m.n_days or not m.running


def _next_month_start(month: str) -> dt.date:
    return parse_date(shift_month(month, 1))


def build_run(chosen: dict, seed: int, scale: float, month: str | None = None) -> Run:
    """The run with the chosen rules up to the end of ``month`` (default: the month before the rule date)."""
    base = base_scenario()
    sc = apply_levers(base, **chosen)
    first = policy_day(base).replace(day=1)
    result = simulate(sc, seed=seed, scale=scale, until=first, commit=False)
    if month and parse_date(month) >= first:
        result = simulate(model=result.model, until=_next_month_start(month), commit=False)
    ref = reference_results(str(scenario_path()), seed, scale)
    return Run(result.model, result.monthly, ref, dict(chosen), seed, scale)


def step_run(run: Run) -> Run:
    """One month more (nothing if the scenario has ended)."""
    if run.ended:
        return run
    result = simulate(model=run.model, until=_next_month_start(shift_month(run.month, 1)), commit=False)
    return replace(run, monthly=result.monthly)


# --- per-session state (Solara keeps one value per browser session) ---------------------------------------------

chosen_rules = solara.reactive(lever_defaults(base_scenario()))  # control name -> value
seed_value = solara.reactive(DEFAULT_SEED)
scale_value = solara.reactive(default_scale())
current = solara.reactive(None)  # Run
playing = solara.reactive(False)
play_seconds = solara.reactive(0.4)
busy_lock = threading.Lock()

compare_a = solara.reactive(None)
compare_b = solara.reactive(None)
compare_seed = solara.reactive(DEFAULT_SEED)
compare_reps = solara.reactive(1)
compare_progress = solara.reactive("")


@solara.lab.task(prefer_threaded=True)
def rebuild(chosen: dict, seed: int, scale: float, month: str | None):
    """Rebuild the session's run with these rules, up to ``month``; the page shows a banner meanwhile."""
    run = build_run(chosen, seed, scale, month)
    if rebuild.is_current():
        current.value = run
    return run.month


@solara.lab.task(prefer_threaded=True)
def play():
    while playing.value and play.is_current():
        run = current.value
        if run is None or run.ended:
            break
        with busy_lock:
            current.value = step_run(run)
        time.sleep(play_seconds.value)
    playing.value = False


def _start(month: str | None = None) -> None:
    playing.value = False
    rebuild(dict(chosen_rules.value), seed_value.value, scale_value.value, month)


def set_control(name: str, value) -> None:
    chosen_rules.value = {**chosen_rules.value, name: value}
    run = current.value
    _start(run.month if run is not None else None)


def do_step() -> None:
    run = current.value
    if run is None or rebuild.pending or playing.value:
        return
    with busy_lock:
        current.value = step_run(run)


def do_reset() -> None:
    _start(None)


# --- drawing ----------------------------------------------------------------------------------------------------


def _figure(width: float = 4.6, height: float = 3.3) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _window(run: Run) -> tuple[dt.date, dt.date]:
    base = base_scenario()
    first = max(parse_date(shift_month(policy_day(base).strftime("%Y-%m"), -MONTHS_BEFORE)), base.time.first_day)
    return first, base.time.last_day


def _panel(ax, run: Run, columns, how: str = "month", stacked: bool = False):
    """Your rules (solid) and the scenario as it is (dashed grey), one line per column."""
    from matplotlib.lines import Line2D

    first, last = _window(run)
    policy = policy_day(base_scenario())
    start = policy.strftime("%Y-%m")
    handles = []
    for frame, live in ((run.reference, False), (run.monthly, True)):
        f = frame[frame["month"] >= first.strftime("%Y-%m")]
        if how == "cumulative":
            f = f[f["month"] >= start]
        d = month_dates(f["month"])
        for col in columns:
            v = f[col].cumsum() if how == "cumulative" else f[col]
            colour = ROUTE_COLOURS.get(col, {"irb_backlog": "#000000", "protocol_returns": "#0072B2",
                                             "port_turnbacks": "#999933", "directed_back": SHARED_GREY,
                                             "ineligible": "#CC79A7", "quebec_shelter_population": "#0072B2",
                                             "shelter_population_elsewhere": "#56B4E9"}.get(col, "#000000"))
            if live:
                ax.plot(d, v, color=colour, lw=1.9)
            else:
                ax.plot(d, v, color=SHARED_GREY if len(columns) == 1 else colour, lw=1.0, ls="--", alpha=0.8)
            if live:
                handles.append(Line2D([], [], color=colour, lw=1.9, label=COLUMN_BY_NAME[col].short or
                                      COLUMN_BY_NAME[col].label))
    handles.append(Line2D([], [], color=SHARED_GREY, lw=1.0, ls="--", label="scenario as it is"))
    ax.set_xlim(first, last)
    return handles


def month_plots(run: Run) -> list[tuple[str, Figure]]:
    """The four plots of the month-by-month tab: (title, figure)."""
    policy = policy_day(base_scenario())
    marker = [Marker(policy, "Your rules take effect")]
    specs = [
        ("Crossings and claims by route", ROUTES, "month", "persons per month"),
        (f"Returned to the US since {day_label(policy)} (running total)", RETURNS[:3], "cumulative", "persons"),
        (COLUMN_BY_NAME["irb_backlog"].label, ("irb_backlog",), "month", "claims, end of month"),
        ("People in shelters: Quebec, and elsewhere after a transfer", ("quebec_shelter_population",
                                                                        "shelter_population_elsewhere"),
         "month", "persons, end of month"),
    ]
    out = []
    for heading, cols, how, unit in specs:
        fig = _figure()
        ax = fig.subplots()
        handles = _panel(ax, run, cols, how)
        style_time_axis(ax, unit)
        ax.tick_params(labelsize=8)
        ax.yaxis.label.set_size(8.5)
        fig.legend(handles=handles, loc="lower left", ncol=3, frameon=False, fontsize=7.5, bbox_to_anchor=(0.0, 0.0))
        fig.tight_layout(rect=(0, 0.14, 1, 1))
        draw_markers(ax, marker)
        ax.set_title(heading, loc="left", fontsize=9.5, pad=18)
        out.append((heading, fig))
    return out


def month_png(run: Run) -> bytes:
    """The month-by-month plots in one PNG (for export)."""
    import matplotlib.image as mpimg

    images = [mpimg.imread(io.BytesIO(png_bytes(f)), format="png") for _, f in month_plots(run)]
    fig = _figure(11.5, 7.6)
    for i, img in enumerate(images):
        ax = fig.add_subplot(2, 2, i + 1)
        ax.imshow(img)
        ax.axis("off")
    fig.suptitle(f"bordersim: {base_scenario().name}, your rules ({changed_words(base_scenario(), run.chosen) or 'as is'}), "
                 f"up to {_month_words(run.month)}; seed {run.seed}, {run.scale:.1%} of people", fontsize=9, x=0.01,
                 ha="left")
    fig.tight_layout()
    return png_bytes(fig, dpi=110)


def month_csv(run: Run) -> bytes:
    """The monthly rows shown: your rules and the scenario as it is, side by side, from the first month drawn."""
    first = _window(run)[0].strftime("%Y-%m")
    live = run.monthly[run.monthly["month"] >= first].assign(run="your rules")
    ref = run.reference[run.reference["month"] >= first].assign(run="scenario as it is")
    return to_csv_bytes(pd.concat([live, ref], ignore_index=True)[["run", *run.monthly.columns]])


def _month_words(month: str) -> str:
    return f"{parse_date(month):%b %Y}" if month else ""


# --- components -----------------------------------------------------------------------------------------------


def _table(rows, header, cls: str):
    def cell(i, v, tag="td"):
        align = "left" if i == 0 else "right"
        return f"<{tag} style='text-align:{align};padding:3px 8px;border-bottom:1px solid #eee'>{html.escape(str(v))}</{tag}>"

    head = "".join(cell(i, h, "th") for i, h in enumerate(header))
    body = "".join(f"<tr data-measure='{key}'>" + "".join(cell(i, v) for i, v in enumerate(vals)) + "</tr>"
                   for key, vals in rows)
    return solara.HTML(tag="div", unsafe_innerHTML=f"<table class='{cls}' style='border-collapse:collapse;font-size:13px;"
                                                   f"width:100%;max-width:720px'><tr>{head}</tr>{body}</table>",
                       style="overflow-x:auto;max-width:100%")


def _label(col: str) -> str:
    return COLUMN_BY_NAME[col].label


@solara.component
def Banner():
    run = current.value
    base = base_scenario()
    if rebuild.error:
        solara.Error(f"The run failed: {rebuild.exception}", classes=["bordersim-banner"])
    elif rebuild.pending and run is None:
        solara.Info(f"Preparing: running {base.name} from {_month_words(base.time.start)} up to the rule date "
                    f"({day_label(policy_day(base))}), with the same people for every rule you try…",
                    classes=["bordersim-banner", "bordersim-preparing"])
    elif rebuild.pending:
        solara.Warning(f"Changes pending: re-running with your rules up to {_month_words(run.month)} (same people, "
                       "same random draws). STEP and PLAY wait until it is done.",
                       classes=["bordersim-banner", "bordersim-pending"])
    elif run is not None and run.ended:
        solara.Info(f"The scenario ends in {_month_words(run.month)}. RESET goes back to the rule date.",
                    classes=["bordersim-banner"])


def Text(markup: str, classes: tuple = (), style: str = ""):
    """A paragraph of text with **bold**, *italic* and `code` (rendered here: no Markdown engine, no web fonts)."""
    import re

    t = html.escape(markup)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"\*(.+?)\*", r"<i>\1</i>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return solara.HTML(tag="div", unsafe_innerHTML=t.replace("\n\n", "<br><br>"), classes=list(classes),
                       style="font-size:14px;line-height:1.45;margin:4px 0;" + style)


@solara.component
def ControlView(c: Control, value, blocked: bool):
    """One control: its label (the declaration's description) above the input, the unit beside it."""
    on = functools.partial(set_control, c.name)
    with solara.Column(gap="0px", classes=["bordersim-control", f"bordersim-control-{c.name.replace('.', '-')}"],
                       style="margin-bottom:10px"):
        if c.kind == "checkbox":
            solara.Checkbox(label=c.label, value=bool(value), on_value=on, disabled=blocked)
            return
        label = c.label + (f": {share(value)}" if c.kind == "percent" else "")
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(label), classes=["bordersim-control-label"],
                    style="font-size:13px;color:#444;line-height:1.3")
        if c.kind == "select":
            words = {_words(o): o for o in c.options}
            solara.Select(label="", values=list(words), value=_words(value), on_value=lambda v: on(words[v]), dense=True,
                          disabled=blocked)
        elif c.kind == "multiselect":
            words = {_words(o): o for o in c.options}
            solara.SelectMultiple("", values=[_words(v) for v in value], all_values=list(words),
                                  on_value=lambda v: on(tuple(words[x] for x in words if x in v)), dense=True,
                                  disabled=blocked)
        elif c.kind == "percent":
            solara.SliderInt("", value=int(round(100 * value)), min=0, max=100, step=5, on_value=lambda v: on(v / 100),
                             thumb_label=False, disabled=blocked)
        elif c.kind == "factor":
            solara.Select(label="", values=[f"× {x:g}" for x in c.options], value=f"× {value:g}",
                          on_value=lambda v: on(float(v[2:])), dense=True, disabled=blocked)
        elif c.kind == "integer":
            solara.InputInt("", value=int(value), on_value=lambda v: on(_clamp(v, c)), dense=True, suffix=c.unit,
                            disabled=blocked)
        else:
            solara.InputFloat("", value=float(value), on_value=lambda v: on(_clamp(v, c)), dense=True, suffix=c.unit,
                              disabled=blocked)


@solara.component
def Controls():
    base = base_scenario()
    chosen = chosen_rules.value
    Text(f"**Your rules from {day_label(policy_day(base))}**\n\nEach change re-runs the months shown, at once.")
    for name in LEVERS + FACTORS:
        ControlView(CONTROLS[name], chosen[name], False)
    Text("**Run**")
    solara.Select(label="Seed (which random draws)", values=list(SEEDS), value=seed_value.value,
                  on_value=lambda v: (seed_value.set(v), _start(current.value.month if current.value else None)),
                  dense=True)
    with solara.Details("Developer settings"):
        solara.Select(label="Scale: share of people simulated", values=[f"{s:.1%}" for s in SCALES],
                      value=f"{scale_value.value:.1%}",
                      on_value=lambda v: (scale_value.set(_scale_of(v)), _start(None)), dense=True)
        solara.Select(label="Seconds between months when playing", values=[0.1, 0.4, 1.0, 2.0],
                      value=play_seconds.value, on_value=play_seconds.set, dense=True)


def _clamp(v, c: Control):
    if v is None:
        return v
    if c.low is not None:
        v = max(v, type(v)(c.low))
    if c.high is not None:
        v = min(v, type(v)(c.high))
    return v


def _scale_of(text: str) -> float:
    return next(s for s in SCALES if f"{s:.1%}" == text)


@solara.component
def Buttons():
    run = current.value
    waiting = run is None or rebuild.pending
    with solara.Row(gap="8px", style="flex-wrap:wrap;align-items:center"):
        solara.Button("Step", icon_name="mdi-skip-next", on_click=do_step, color="primary",
                      disabled=waiting or playing.value or (run is not None and run.ended), classes=["bordersim-step"])
        if playing.value:
            solara.Button("Pause", icon_name="mdi-pause", on_click=lambda: playing.set(False), classes=["bordersim-play"])
        else:
            solara.Button("Play", icon_name="mdi-play", disabled=waiting or (run is not None and run.ended),
                          on_click=lambda: (playing.set(True), play()), classes=["bordersim-play"])
        solara.Button("Reset", icon_name="mdi-restore", on_click=do_reset, disabled=run is None and rebuild.pending,
                      classes=["bordersim-reset"])
        if run is not None:
            policy = policy_day(base_scenario())
            after = sum(1 for m in run.monthly["month"] if m >= policy.strftime("%Y-%m"))
            solara.HTML(tag="span", unsafe_innerHTML=(
                f"Simulated up to <b class='bordersim-month' data-month='{run.month}'>{_month_words(run.month)}</b> "
                f"({after} month{'s' if after != 1 else ''} under your rules)"), style="margin-left:8px;font-size:14px")


@solara.component
def MonthByMonth():
    run = current.value
    if run is None:
        return solara.Text("")
    base = base_scenario()
    changed = changed_words(base, run.chosen)
    solara.HTML(tag="p", unsafe_innerHTML=(
        f"<b>Rules changed:</b> <span class='bordersim-rules'>{html.escape(changed) or 'none (the scenario as it is)'}"
        "</span>"), style="margin:4px 0 8px 0")
    ref = run.reference.set_index("month")
    last = run.monthly.iloc[-1]
    rows = []
    for col in ROUTES + RETURNS + STOCKS:
        unit = COLUMN_BY_NAME[col].unit
        r = float(ref.loc[run.month, col]) if run.month in ref.index else float("nan")
        rows.append((col, (_label(col), number(last[col], unit), number(r, unit), signed(last[col] - r, unit, 3))))
    _table(rows, (f"In {_month_words(run.month)}", "your rules", "as it is", "difference"), "bordersim-latest")
    with solara.Div(classes=["bordersim-plots"], style="display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));"
                                                    "gap:8px;width:100%"):
        for heading, fig in month_plots(run):
            solara.Image(png_bytes(fig), width="100%", classes=["bordersim-plot"])
    with solara.Row(gap="8px", style="flex-wrap:wrap"):
        solara.FileDownload(lambda: month_csv(run), filename=f"bordersim-{base.name}-{run.month}.csv",
                            label="Download CSV (months shown)", mime_type="text/csv")
        solara.FileDownload(lambda: month_png(run), filename=f"bordersim-{base.name}-{run.month}.png",
                            label="Download PNG (these plots)", mime_type="image/png")


@solara.component
def Totals():
    run = current.value
    if run is None:
        return solara.Text("")
    policy = policy_day(base_scenario())
    start = policy.strftime("%Y-%m")
    if run.month < start:
        return solara.Info("Press STEP to simulate months under your rules; totals since the rule date appear here.")
    lv = run.monthly[(run.monthly["month"] >= start) & (run.monthly["month"] <= run.month)]
    rf = run.reference[(run.reference["month"] >= start) & (run.reference["month"] <= run.month)]
    rows = []
    for col in ROUTES + RETURNS + OTHER_FLOWS:
        unit = COLUMN_BY_NAME[col].unit
        a, b = float(rf[col].sum()), float(lv[col].sum())
        rows.append((col, (_label(col), number(a, unit), number(b, unit), signed(b - a, unit, 3))))
    for col in STOCKS:
        unit = COLUMN_BY_NAME[col].unit
        a, b = float(rf[col].iloc[-1]), float(lv[col].iloc[-1])
        rows.append((col, (f"{_label(col)}, end of {_month_words(run.month)}", number(a, unit), number(b, unit),
                           signed(b - a, unit, 3))))
    Text(f"**Totals from {_month_words(start)} to {_month_words(run.month)}**: the scenario as it is and "
                    f"with your rules. One run each, same people and random draws; at this scale one simulated person "
                    f"stands for {1 / run.scale:,.0f}, so small differences are noise. For numbers to quote, use "
                    "*Compare two options* with several replications, or `bordersim compare`.")
    _table(rows, (f"{_month_words(start)} to {_month_words(run.month)}", "as it is", "your rules", "difference"),
           "bordersim-totals")
    csv = to_csv_bytes(pd.DataFrame([(k, *v) for k, v in rows], columns=["measure", "label", "as_it_is", "your_rules",
                                                                          "difference"]))
    solara.FileDownload(csv, filename=f"bordersim-totals-{run.month}.csv", label="Download CSV (this table)",
                        mime_type="text/csv")


# --- compare two options ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    names: list[str]
    reference: str
    per_scenario: dict
    summary: pd.DataFrame
    differences: pd.DataFrame
    scenarios: list
    reps: int
    seed: int
    scale: float


@solara.lab.task(prefer_threaded=True)
def run_compare(a: str, b: str, seed: int, reps: int, scale: float):
    files = scenario_files()
    scs = [_load(str(files[a])), _load(str(files[b]))]
    seeds = replication_seeds(seed, reps)
    per = {}
    total, done = 2 * reps, 0
    for sc in scs:
        frames = []
        for r, s in enumerate(seeds):
            compare_progress.value = f"Running {done + 1} of {total} (option {option_label(sc.name)}, replication {r + 1})…"
            frames.append(simulate(sc, seed=s, scale=scale, commit=False).monthly.assign(rep=r))
            done += 1
            if not run_compare.is_current():
                return None
        per[sc.name] = pd.concat(frames, ignore_index=True)
    summary, differences = summarise(per, scs, a)
    compare_progress.value = ""
    return Comparison([a, b], a, per, summary, differences, scs, reps, seed, scale)


def _change(c: Comparison, metric: str, window: str):
    from simulation.present.report import Change

    d = c.differences[(c.differences.metric == metric) & (c.differences.window == window)
                      & (c.differences.scenario == c.names[1])].iloc[0]
    ref = c.summary[(c.summary.metric == metric) & (c.summary.window == window) & (c.summary.scenario == c.reference)].iloc[0]
    return Change(metric, float(d["mean"]), float(d["p05"]), float(d["p95"]), float(ref["mean"]), c.reps)


def compare_figure(c: Comparison) -> Figure:
    from simulation.present.compare_plots import Ensemble, draw_outcome, outcome_title
    from simulation.present.plots import policy_markers

    ref = c.scenarios[0]
    start = max(shift_month(policy_day(ref).strftime("%Y-%m"), -MONTHS_BEFORE), ref.time.start)
    diverge = policy_day(ref).strftime("%Y-%m") if ref.scenario.policy_date else None
    markers = policy_markers(c.scenarios, parse_date(start), ref.time.last_day, policy_day(ref))
    ens = Ensemble(c.per_scenario, c.reference, c.reps, c.scale, start, diverge, markers, colours(c.names))
    metrics = ("irregular_crossings", "claims_in_canada", "irb_backlog_end", "reception_cost")
    fig = _figure(11, 6.6)
    axes = fig.subplots(2, 2, sharex=True)
    for ax, m in zip(axes.ravel(), metrics):
        ylabel = draw_outcome(ax, ens, m)
        style_time_axis(ax, ylabel, money=OUTCOME_BY_NAME[m].unit == "CAD")
        ax.set_title(outcome_title(m), loc="left", fontsize=9.5)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower left", ncol=3, frameon=False, fontsize=8)
    fig.suptitle(ens.note(), x=0.01, ha="left", fontsize=8.5, color="0.3")
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    for ax in axes.ravel():
        draw_markers(ax, [m for m in markers if m.text == "Options take effect"], how="lines")
    return fig


def compare_csv(c: Comparison) -> bytes:
    s = c.summary.assign(table="levels")
    d = c.differences.assign(table=f"{c.names[1]} minus {c.reference}, paired by seed")
    cols = ["table", "scenario", "metric", "window", "unit", "mean", "p05", "p50", "p95"]
    return to_csv_bytes(pd.concat([s[cols], d[cols]], ignore_index=True))


@solara.component
def CompareTab():
    files = scenario_files()
    names = list(files)
    if compare_a.value not in names:
        compare_a.value = "no_protocol" if "no_protocol" in names else names[0]
    if compare_b.value not in names:
        compare_b.value = base_scenario().name if base_scenario().name in names else names[-1]
    scale = scale_value.value
    Text("Pick two scenarios: each runs from its start to its end with the same seeds (replication *k* of "
                    "both follows the same people with the same random draws), and the second is compared with the "
                    "first, as `bordersim compare` does.")
    labels = {option_label(n): n for n in names}
    with solara.Row(gap="12px", style="flex-wrap:wrap"):
        solara.Select(label="Reference", values=list(labels), value=option_label(compare_a.value),
                      on_value=lambda v: compare_a.set(labels[v]), style="min-width:220px", classes=["bordersim-compare-a"])
        solara.Select(label="Compared with the reference", values=list(labels), value=option_label(compare_b.value),
                      on_value=lambda v: compare_b.set(labels[v]), style="min-width:220px", classes=["bordersim-compare-b"])
        solara.Select(label="Seed", values=list(SEEDS), value=compare_seed.value, on_value=compare_seed.set,
                      style="max-width:110px")
        solara.Select(label="Replications", values=list(REPLICATIONS), value=compare_reps.value,
                      on_value=compare_reps.set, style="max-width:130px", classes=["bordersim-compare-reps"])
    same = compare_a.value == compare_b.value
    with solara.Row(gap="8px", style="align-items:center;flex-wrap:wrap"):
        solara.Button("Run the comparison", color="primary", disabled=same or run_compare.pending,
                      on_click=lambda: run_compare(compare_a.value, compare_b.value, compare_seed.value,
                                                   compare_reps.value, scale),
                      classes=["bordersim-compare-run"])
        solara.Text(f"{2 * compare_reps.value} runs at {scale:.1%} of people" + (": pick two different scenarios"
                                                                                  if same else ""))
    if run_compare.pending:
        solara.ProgressLinear(True)
        solara.Text(compare_progress.value or "Starting…")
        return
    if run_compare.error:
        solara.Error(f"The comparison failed: {run_compare.exception}")
        return
    c = run_compare.value
    if c is None:
        return
    from simulation.present.report import interval_name

    ref = c.scenarios[0]
    window = "after_change" if ref.scenario.policy_date else "whole_horizon"
    lo, hi = c.per_scenario[c.reference]["month"].min(), c.per_scenario[c.reference]["month"].max()
    if window == "after_change":
        lo = policy_day(ref).strftime("%Y-%m")
    if c.reps < MIN_REPS_FOR_INTERVAL:
        solara.Warning(f"{'One replication' if c.reps == 1 else f'{c.reps} replications'}: no intervals. Every "
                       "number below comes from so few runs that another seed could change it a lot; do not quote it.",
                       classes=["bordersim-compare-banner"])
    elif c.reps < MIN_REPS:
        solara.Warning(f"Too few replications to trust: {c.reps}. The intervals have not settled; use {MIN_REPS} or more before "
                       "quoting any number.", classes=["bordersim-compare-banner"])
    words = "; ".join(_change(c, m, window).words() for m in HEADLINE)
    Text(f"**{option_label(c.names[1])}** against **{option_label(c.reference)}**, "
                    f"{_month_words(lo)} to {_month_words(hi)}, {c.reps} replication{'s' if c.reps != 1 else ''} "
                    f"(seed {c.seed}): {words}.")
    rows = []
    for m in HEADLINE:
        ch = _change(c, m, window)
        main, sub = ch.cell()
        rows.append((m, (OUTCOME_BY_NAME[m].label if m != "deaths_expected" else "Risk of death crossing (index)",
                         main, sub or "—")))
    _table(rows, ("Outcome", f"{option_label(c.names[1])} minus {option_label(c.reference)}", interval_name(c.reps)),
           "bordersim-compare")
    fig = compare_figure(c)
    png = png_bytes(fig)
    solara.Image(png, width="100%", classes=["bordersim-plot", "bordersim-compare-plot"])
    with solara.Row(gap="8px", style="flex-wrap:wrap"):
        solara.FileDownload(compare_csv(c), filename=f"bordersim-{c.names[1]}-vs-{c.reference}.csv",
                            label="Download CSV (levels and differences)", mime_type="text/csv")
        solara.FileDownload(png, filename=f"bordersim-{c.names[1]}-vs-{c.reference}.png", label="Download PNG (plot)",
                            mime_type="image/png")


@solara.component
def About():
    base = base_scenario()
    fit = base.scenario.calibrated_on
    Text(f"""
**What this is.** Simulated asylum seekers in the US decide each month whether to stay, claim at a land port, cross at
Roxham Road or elsewhere between ports, fly, or give up, under the Safe Third Country Agreement (STCA) rules they believe
are in force. The scenario here is **{option_label(base.name)}** (`{base.name}`): {base.scenario.description}.

**How to use it.** Set the rules in the sidebar: they apply from {day_label(policy_day(base))}. A change re-runs the months
shown at once (a banner says so meanwhile). STEP adds one month, PLAY keeps adding, RESET goes back to the rule date.
Dashed grey lines: the scenario as it is, with the same people and random draws.

**How far to trust it.** {"The behavioural parameters were fitted to observed crossings (" + fit + "); the other parameters are assumptions." if fit else "The behavioural parameters are assumptions."}
Read differences between rule sets with more confidence than levels. One run at a small scale is noisy: for numbers to
quote, compare options with 10 or more replications (`bordersim compare`).

Built with Mesa (the model) and Solara (this page).
""")


CSS = """
.v-application .v-navigation-drawer { width: 320px !important; }
.bordersim-plot img, img.bordersim-plot { max-width: 100%; height: auto; margin: 0 !important; box-sizing: border-box; }
.bordersim-plots > * { min-width: 0; }
.v-main__wrap > div { max-width: 100%; }
/* Solara's "This website runs on Solara" badge floats over the content in a corner: the About tab says it instead */
div:has(> b > a[href="https://solara.dev"]) { display: none !important; }
"""


@solara.component
def Page():
    solara.use_effect(lambda: (_start(None) if current.value is None and not rebuild.pending else None), [])
    solara.Title("bordersim dashboard")
    solara.Style(CSS)
    with solara.AppBarTitle():
        solara.Text("bordersim: asylum seekers' routes from the US to Canada")
    with solara.Sidebar():
        Controls()
    with solara.Column(style="padding:8px 12px;max-width:100%"):
        Banner()
        Buttons()
        with solara.lab.Tabs(lazy=True):
            with solara.lab.Tab("Month by month"):
                MonthByMonth()
            with solara.lab.Tab("Totals since the rule date"):
                Totals()
            with solara.lab.Tab("Compare two options"):
                CompareTab()
            with solara.lab.Tab("About"):
                About()
