"""The bordersim dashboard: a Mesa SolaraViz app to try STCA rules month by month.

    bordersim dashboard [SCENARIO] [--port N] [--host 127.0.0.1]
    # same as: BORDERSIM_SCENARIO=SCENARIO solara run simulation/app.py --host ... --port ...

The app loads a scenario (``scenarios/protocol_2023.toml`` unless the
environment variable ``BORDERSIM_SCENARIO`` names another), runs its history
silently up to the month of its ``policy_date`` and then advances one MONTH
per Step. The controls in the sidebar are the rules in force from the policy
date on; a control left at its default keeps the scenario as it is. Changed
controls take effect at Reset (as everywhere in SolaraViz).

Every plot shows the scenario as-is (dashed grey, computed once per seed and
scale) next to the run with your rules; the second tab puts the two side by
side with totals since the policy date.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import threading
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from simulation.calendar import parse_date  # noqa: E402
from simulation.core.model import BorderModel  # noqa: E402
from simulation.data import REPO_ROOT  # noqa: E402
from simulation.experiments.run import simulate  # noqa: E402
from simulation.scenario import Scenario, load_scenario, rules_at, scenario_from_dict  # noqa: E402
from simulation.scenario.kinds import dated_value  # noqa: E402
from simulation.scenario.levers import EXCEPTIONS, ROXHAM_STATUSES  # noqa: E402

#: Environment variable naming the scenario file the dashboard starts from.
SCENARIO_ENV = "BORDERSIM_SCENARIO"
DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "protocol_2023.toml"
DEFAULT_SCALE = 0.005
DEFAULT_SEED = 1
#: Months shown before the policy date.
MONTHS_BEFORE = 24


def scenario_path() -> Path:
    return Path(os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO)


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Scenario:
    return load_scenario(path)


def base_scenario() -> Scenario:
    """The scenario the dashboard starts from (``$BORDERSIM_SCENARIO`` or protocol_2023)."""
    return _load(str(scenario_path().resolve()))


# --- levers -> scenario ----------------------------------------------------

RULE_LEVERS = ("stca_at_ports", "stca_between_ports", "return_window_days", "roxham", "between_ports_detection")


def _programmes(sc: Scenario) -> list:
    """Enabled changes that open humanitarian places on or after the policy date."""
    start = parse_date(sc.scenario.policy_date) if sc.scenario.policy_date else sc.time.first_day
    return [c for c in sc.policy.change
            if c.enabled and c.resettlement_places_per_month and parse_date(c.start) >= start]


def lever_defaults(sc: Scenario) -> dict:
    """The scenario's own values of the dashboard levers: the rules in force on its policy date.

    Humanitarian places: the monthly places of the scenario's programme starting on or after the policy
    date (the 2023 one runs 2023-10-10 .. 2024-10-10), or the places in force on that date.
    """
    day = parse_date(sc.scenario.policy_date) if sc.scenario.policy_date else sc.time.first_day
    rules = rules_at(day, sc.base_rules(), sc.rule_changes())
    out = {k: getattr(rules, k) for k in RULE_LEVERS}
    out["keep_exceptions"] = bool(rules.exceptions)
    progs = _programmes(sc)
    out["resettlement_places_per_month"] = float(progs[0].resettlement_places_per_month if progs
                                                 else rules.resettlement_places_per_month)
    out["irb_capacity_factor"] = 1.0
    out["inflow_factor"] = 1.0
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
    """The scenario with the dashboard's levers applied; a lever that is ``None`` keeps the scenario's value.

    Rule levers become one policy change named ``dashboard`` from the scenario's ``policy_date`` (last in
    the list, so it overrides the scenario's changes from then on); without a policy date they replace
    the base rules. Humanitarian places change the amount of the scenario's programme (its dates kept),
    or join the ``dashboard`` change if it has none. IRB capacity and the inflow into the US asylum pool
    (``population.pool_entry_share``, capped at 1) are multiplied from the policy date on.
    """
    defaults = lever_defaults(sc)
    wanted = {k: v for k, v in levers.items() if v is not None}
    unknown = set(wanted) - set(defaults)
    if unknown:
        raise TypeError(f"unknown lever(s) {sorted(unknown)}; allowed: {sorted(defaults)}")
    differ = {k: v for k, v in wanted.items() if v != defaults[k]}
    if not differ:
        return sc
    doc = sc.to_dict()
    start = sc.scenario.policy_date
    rules = {k: differ[k] for k in RULE_LEVERS if k in differ}
    if "keep_exceptions" in differ:
        rules["exceptions"] = list(EXCEPTIONS) if differ["keep_exceptions"] else []
    if "resettlement_places_per_month" in differ:
        places = float(differ["resettlement_places_per_month"])
        names = {c.name for c in _programmes(sc)}
        if names:
            for c in doc["policy"]["change"]:
                if c["name"] in names:
                    c["resettlement_places_per_month"] = places
        else:
            rules["resettlement_places_per_month"] = places
    if rules:
        if start:
            doc["policy"]["change"].append({
                "name": "dashboard", "from": start, "description": "rules chosen in the dashboard",
                "source": "dashboard", **rules,
            })
        else:
            doc["policy"].update(rules)
    when = start or sc.time.start
    if "irb_capacity_factor" in differ:
        doc["canada"]["irb_decisions_per_month"] = _scaled_from(
            sc.canada.irb_decisions_per_month, when, sc.time.first_day, float(differ["irb_capacity_factor"]))
    if "inflow_factor" in differ:
        doc["population"]["pool_entry_share"] = _scaled_from(
            sc.population.pool_entry_share, when, sc.time.first_day, float(differ["inflow_factor"]), cap=1.0)
    doc["scenario"]["name"] = f"{sc.name} (dashboard)"
    return scenario_from_dict(doc, origin="dashboard")


# --- the model the dashboard drives -----------------------------------------


class DashboardModel(BorderModel):
    """A :class:`BorderModel` built from keyword arguments, one MONTH per step.

    It runs the scenario's history silently up to the month of its policy date, so the first Step is
    the first month in which your rules can differ. ``None`` means "as in the scenario".
    """

    def __init__(self, stca_at_ports: bool | None = None, stca_between_ports: bool | None = None,
                 return_window_days: int | None = None, keep_exceptions: bool | None = None,
                 roxham: str | None = None, between_ports_detection: float | None = None,
                 irb_capacity_factor: float | None = None, inflow_factor: float | None = None,
                 resettlement_places_per_month: float | None = None,
                 scale: float = DEFAULT_SCALE, seed: int = DEFAULT_SEED):
        base = base_scenario()
        self.levers = dict(stca_at_ports=stca_at_ports, stca_between_ports=stca_between_ports,
                           return_window_days=return_window_days, keep_exceptions=keep_exceptions, roxham=roxham,
                           between_ports_detection=between_ports_detection, irb_capacity_factor=irb_capacity_factor,
                           inflow_factor=inflow_factor, resettlement_places_per_month=resettlement_places_per_month)
        scenario = apply_levers(base, **self.levers)
        super().__init__(scenario, seed=seed, scale=scale)
        self.base_path = str(scenario_path().resolve())
        self.policy_date = parse_date(base.scenario.policy_date) if base.scenario.policy_date else self.first_day
        self.changed = scenario is not base
        # the history up to the policy month, silently (one day per BorderModel.step)
        target = self.policy_date.replace(day=1)
        while self.running and self.date_of(self.day) < target:
            BorderModel.step(self)

    def step(self) -> None:
        """One month: days until the month closes (or the scenario ends)."""
        while self.running:
            BorderModel.step(self)
            if self.day >= self.n_days or self.date_of(self.day).day == 1:
                break

    @property
    def month(self) -> str:
        """The last month simulated ('YYYY-MM'), or '' before any."""
        frame = self.results()
        return str(frame["month"].iloc[-1]) if len(frame) else ""

    def reference(self) -> pd.DataFrame:
        """Monthly results of the scenario as-is (same seed and scale), whole horizon."""
        return reference_results(self.base_path, self.seed, self.scale)


_reference_lock = threading.Lock()


def reference_results(path: str, seed: int, scale: float) -> pd.DataFrame:
    """Monthly results of the scenario file as-is, computed once per (path, seed, scale)."""
    with _reference_lock:
        return _reference(path, seed, scale)


@functools.lru_cache(maxsize=8)
def _reference(path: str, seed: int, scale: float) -> pd.DataFrame:
    return simulate(_load(path), seed=seed, scale=scale).monthly


# --- components --------------------------------------------------------------

CROSSINGS = ("roxham_crossings", "other_irregular_crossings", "port_claims", "air_claims")
RETURNS = ("port_turnbacks", "protocol_returns", "directed_back", "ineligible")
STOCKS = ("irb_backlog", "quebec_shelter_population")
COLORS = {
    "roxham_crossings": "#d95f02", "other_irregular_crossings": "#7570b3", "port_claims": "#1b9e77",
    "air_claims": "#66a61e", "port_turnbacks": "#e7298a", "protocol_returns": "#a6761d",
    "directed_back": "#666666", "ineligible": "#1f78b4", "irb_backlog": "#1f78b4",
    "quebec_shelter_population": "#e31a1c",
}
SHORT = {
    "roxham_crossings": "Crossed at Roxham Road",
    "other_irregular_crossings": "Crossed elsewhere between ports",
    "port_claims": "Claimed at a land port",
    "air_claims": "Flew in and claimed",
    "port_turnbacks": "Turned back at a port (STCA)",
    "protocol_returns": "Returned under the Protocol",
    "directed_back": "Directed back (COVID orders)",
    "ineligible": "Returned: exception not proven",
    "irb_backlog": "IRB backlog (claims pending)",
    "quebec_shelter_population": "In Quebec shelters",
    "claims_in_canada": "Claims in Canada (from the US)",
    "resettled": "Humanitarian places used",
    "reception_cost_cad": "Reception cost (CAD)",
}
LEVER_WORDS = {
    "stca_at_ports": "STCA at land ports",
    "stca_between_ports": "STCA between ports",
    "return_window_days": "return window (days)",
    "keep_exceptions": "STCA exceptions",
    "roxham": "Roxham Road",
    "between_ports_detection": "detection between ports",
    "irb_capacity_factor": "IRB capacity ×",
    "inflow_factor": "US arrivals ×",
    "resettlement_places_per_month": "humanitarian places/month",
}
_CELL = "padding:2px 10px;border-bottom:1px solid #eee"


def _compact(x, _pos=None) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{x:,.0f}"


def _dates(months) -> list[dt.date]:
    return [dt.date(int(m[:4]), int(m[5:7]), 15) for m in months]


def _window(model: DashboardModel) -> tuple[dt.date, dt.date]:
    p = model.policy_date
    months = p.year * 12 + p.month - 1 - MONTHS_BEFORE
    first = max(dt.date(months // 12, months % 12 + 1, 1), model.first_day)
    return first, model.spec.time.last_day


def _time_plot(model: DashboardModel, columns, title: str, unit: str, live=True, reference=True,
               ymax: float | None = None):
    """A monthly plot from two years before the policy date to the end of the scenario."""
    from matplotlib.lines import Line2D

    live_df = model.results()
    ref = model.reference()
    first, last = _window(model)
    fig = Figure(figsize=(5.6, 3.5), layout="constrained")
    ax = fig.subplots()
    handles, labels = [], []
    for col in columns:
        c = COLORS.get(col)
        if reference:
            ax.plot(_dates(ref["month"]), ref[col], color="0.6" if live else c, lw=1.1 if live else 1.7,
                    ls="--" if live else "-")
        if live and len(live_df):
            ax.plot(_dates(live_df["month"]), live_df[col], color=c, lw=1.8)
        handles.append(Line2D([], [], color=c, lw=1.8))
        labels.append(SHORT[col])
    if live and reference:
        handles.append(Line2D([], [], color="0.6", ls="--", lw=1.1))
        labels.append("scenario as-is")
    ax.axvline(model.policy_date, color="0.2", lw=0.9, ls=":")
    ax.annotate(f" rules from\n {model.policy_date:%Y-%m-%d}", (model.policy_date, 1), xycoords=("data", "axes fraction"),
                va="top", fontsize=7, color="0.2")
    ax.set_xlim(first, last)
    ax.set_ylim(bottom=0, top=ymax)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.tick_params(labelsize=8)
    ax.set_ylabel(unit, fontsize=8)
    ax.grid(axis="y", color="0.9")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, loc="left", fontsize=10)
    fig.legend(handles, labels, loc="outside lower center", ncol=3 if len(handles) > 2 else 2, frameon=False, fontsize=7)
    return solara.FigureMatplotlib(fig, format="png", dpi=110)


def crossings_plot(model):
    return _time_plot(model, CROSSINGS, "Crossings and claims by route", "persons per month")


def returns_plot(model):
    return _time_plot(model, RETURNS, "Returns to the US", "persons per month")


def irb_plot(model):
    return _time_plot(model, ("irb_backlog",), "IRB backlog: claims waiting for a decision", "claims (end of month)")


def shelter_plot(model):
    return _time_plot(model, ("quebec_shelter_population",), "Claimants in Quebec shelters", "persons (end of month)")


def _fmt(x) -> str:
    return f"{x:,.0f}"


def _table(rows, header, cls) -> str:
    def cell(i, v, tag="td"):
        return f"<{tag} style='text-align:{'left' if i == 0 else 'right'};{_CELL}'>{html.escape(str(v))}</{tag}>"

    head = "".join(cell(i, h, "th") for i, h in enumerate(header))
    body = "".join(f"<tr data-measure='{key}'>" + "".join(cell(i, v) for i, v in enumerate(vals)) + "</tr>"
                   for key, vals in rows)
    return f"<table class='{cls}' style='border-collapse:collapse;font-size:13px'><tr>{head}</tr>{body}</table>"


def _box(inner: str, cls: str = ""):
    return solara.HTML(tag="div", unsafe_innerHTML=inner, classes=[cls] if cls else [],
                       style="padding:4px 12px;font-size:14px;line-height:1.45")


def _changed(model) -> str:
    defaults = lever_defaults(base_scenario())
    out = []
    for k, v in model.levers.items():
        if v is not None and v != defaults[k]:
            word = ("on" if v else "off") if isinstance(v, bool) else (f"{v:g}" if isinstance(v, float | int) else v)
            out.append(f"{LEVER_WORDS[k]} {word}")
    return ", ".join(out)


def about(model):
    """What this is and how to use it."""
    base = base_scenario()
    changed = _changed(model)
    return _box(f"""
<h3 style="margin:4px 0 6px 0">Try border rules, month by month</h3>
<p style="margin:0 0 6px 0">Simulated asylum seekers in the US decide whether to stay, claim at a land port, cross at
Roxham Road or elsewhere between ports, fly, or give up, under the Safe Third Country Agreement (STCA) rules they
believe are in force.</p>
<p style="margin:0 0 6px 0"><b>Scenario</b> <code>{html.escape(base.name)}</code>: {html.escape(base.scenario.description)}.
History runs up to {model.policy_date:%B %Y}; <b>the rules in the sidebar apply from {model.policy_date.isoformat()}</b>.</p>
<p style="margin:0 0 6px 0"><b>How to use:</b> set the rules under <i>Model Parameters</i>, press <b>RESET</b> to apply
them, then <b>STEP</b> (one month) or <b>▶</b>. Grey dashes: the scenario as-is. Tab <b>PAGE 1</b>: both side by side.</p>
<p style="margin:0;color:#555;font-size:12.5px">Counts are persons ({model.scale:.1%} of people simulated, scaled up).
Behaviour is calibrated to 2017-2022 crossings (docs/validation.md); read differences between rule sets with more confidence than levels.</p>
<p class="bordersim-rules" style="margin:6px 0 0 0"><b>Rules changed:</b> {html.escape(changed) or "none (scenario as-is)"}</p>
""")


def latest(model):
    """The figures of the last simulated month, with your rules and as-is."""
    live = model.results()
    ref = model.reference().set_index("month")
    month = model.month
    after = sum(1 for m in live["month"] if parse_date(m) >= model.policy_date.replace(day=1))
    status = (f"Last month simulated: <b class='bordersim-month'>{month}</b> "
              f"({after} month{'s' if after != 1 else ''} under the rules from {model.policy_date.isoformat()})")
    if not model.running:
        status += ". The scenario has ended: press RESET to start again."
    rows = []
    if month:
        last = live.iloc[-1]
        for col in CROSSINGS + RETURNS + STOCKS:
            r = float(ref.loc[month, col]) if month in ref.index else float("nan")
            rows.append((col, (SHORT[col], _fmt(last[col]), _fmt(r), f"{last[col] - r:+,.0f}")))
    table = _table(rows, (f"Persons in {month}", "your rules", "as-is", "difference"), "bordersim-latest")
    return _box(f"<p style='margin:4px 0 8px 0'>{status}</p>{table}")


def _panel(model, live: bool):
    ref = model.reference()
    first, _ = _window(model)
    shown = ref[[parse_date(m) >= first for m in ref["month"]]]
    res = model.results()
    ymax = 1.08 * max(float(shown[list(CROSSINGS)].to_numpy().max()),
                      float(res[list(CROSSINGS)].to_numpy().max()) if len(res) else 0.0, 1.0)
    if live:
        changed = _changed(model) or "none yet: change them in the sidebar and press RESET"
        title, note = "Your rules", f"Rules changed: {changed}."
        fig = _time_plot(model, CROSSINGS, "Your rules: crossings and claims by route", "persons per month",
                         reference=False, ymax=ymax)
    else:
        title, note = "Scenario as-is", f"<code>{html.escape(base_scenario().name)}</code>, whole run."
        fig = _time_plot(model, CROSSINGS, "As-is: crossings and claims by route", "persons per month",
                         live=False, ymax=ymax)
    return solara.Column(children=[_box(f"<h3 style='margin:4px 0'>{title}</h3><p style='margin:0'>{note}</p>"), fig])


def as_is_panel(model):
    return _panel(model, live=False)


def your_rules_panel(model):
    return _panel(model, live=True)


def totals(model):
    """Totals from the policy month to the last simulated month: as-is and with your rules."""
    live = model.results()
    ref = model.reference()
    start = model.policy_date.strftime("%Y-%m")
    month = model.month
    if not month or month < start:
        return _box("Press <b>STEP</b> to simulate months from the policy date; totals appear here.")
    lv = live[(live["month"] >= start) & (live["month"] <= month)]
    rf = ref[(ref["month"] >= start) & (ref["month"] <= month)]
    rows = []
    for col in CROSSINGS + RETURNS + ("claims_in_canada", "resettled", "reception_cost_cad"):
        rows.append((col, (SHORT[col], _fmt(rf[col].sum()), _fmt(lv[col].sum()), f"{lv[col].sum() - rf[col].sum():+,.0f}")))
    for col in STOCKS:
        rows.append((col, (SHORT[col] + f", {month}", _fmt(rf[col].iloc[-1]), _fmt(lv[col].iloc[-1]),
                           f"{lv[col].iloc[-1] - rf[col].iloc[-1]:+,.0f}")))
    table = _table(rows, (f"Total {start} to {month}", "as-is", "your rules", "difference"), "bordersim-totals")
    return _box("<h3 style='margin:4px 0'>Side by side: totals since the policy date</h3>"
                "<p style='margin:0 0 6px 0;font-size:12.5px;color:#555'>Persons (cost in CAD). One run each, same "
                "people and random draws; at this scale one simulated person stands for "
                f"{1 / model.scale:,.0f}, so small differences are noise.</p>" + table)


# --- the page ------------------------------------------------------------------


def _choices(default, values):
    return sorted(set(values) | {default})


def model_params(sc: Scenario | None = None) -> dict:
    """The sidebar controls, with the scenario's own values as defaults (shown as a value, not a bare slider)."""
    sc = sc or base_scenario()
    d = lever_defaults(sc)
    progs = _programmes(sc)
    places_when = (f"{progs[0].start[:7]} to {progs[0].until[:7]}" if progs and progs[0].until
                   else f"from {sc.scenario.policy_date or sc.time.start}")
    return {
        "stca_at_ports": {"type": "Checkbox", "value": d["stca_at_ports"],
                          "label": "STCA at land ports: claimants there are turned back to the US"},
        "stca_between_ports": {"type": "Checkbox", "value": d["stca_between_ports"],
                               "label": "STCA between ports (2023 Protocol): crossers caught within the window are returned"},
        "return_window_days": {"type": "Select", "value": int(d["return_window_days"]),
                               "values": _choices(int(d["return_window_days"]), [7, 14, 30, 60, 90]),
                               "label": "Return window: days after crossing"},
        "keep_exceptions": {"type": "Checkbox", "value": d["keep_exceptions"],
                            "label": "STCA exceptions: family in Canada, minors, visa holders, public interest"},
        "roxham": {"type": "Select", "value": d["roxham"], "values": list(ROXHAM_STATUSES),
                   "label": "Roxham Road: open crossing, closed, or official port"},
        "between_ports_detection": {"type": "Select", "value": float(d["between_ports_detection"]),
                                    "values": _choices(float(d["between_ports_detection"]), [0.1, 0.25, 0.4, 0.6, 0.8, 0.95]),
                                    "label": "Enforcement: chance a crosser between ports is caught"},
        "irb_capacity_factor": {"type": "Select", "value": 1.0, "values": [0.5, 1.0, 1.5, 2.0, 3.0],
                                "label": "IRB decisions per month, × the scenario's"},
        "inflow_factor": {"type": "Select", "value": 1.0, "values": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
                          "label": "Arrivals into the US asylum system, × the scenario's"},
        "resettlement_places_per_month": {
            "type": "Select", "value": float(d["resettlement_places_per_month"]),
            "values": _choices(float(d["resettlement_places_per_month"]), [0.0, 500.0, 1250.0, 2500.0, 5000.0]),
            "label": f"Humanitarian places per month ({places_when})"},
        "scale": DEFAULT_SCALE,
        "seed": DEFAULT_SEED,
    }


COMPONENTS = [
    (about, 0), (latest, 0), (crossings_plot, 0), (returns_plot, 0), (irb_plot, 0), (shelter_plot, 0),
    (as_is_panel, 1), (your_rules_panel, 1), (totals, 1),
]

# the reference run starts while the first model runs its history
threading.Thread(target=reference_results, args=(str(scenario_path().resolve()), DEFAULT_SEED, DEFAULT_SCALE),
                 daemon=True).start()
model = DashboardModel()
page = SolaraViz(
    model,
    components=COMPONENTS,
    model_params=model_params(),
    name="bordersim: asylum seekers' routes from the US to Canada (Safe Third Country Agreement)",
    play_interval=400,
)
