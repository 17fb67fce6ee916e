"""The comparison report: ``report.md`` and a self-contained ``report.html``, plus its plots, from a comparison folder.

Everything here reads only what ``bordersim compare`` stored, so ``bordersim
report DIR`` rebuilds the same files without rerunning anything.

The report leads with the answer: for each option, in words, how each headline
outcome changes against the reference (absolute and percent, with its
interval), over which dates and from how many replications. Then the
differences as one table (options x outcomes), for the whole period after the
options take effect and for their first 12 months; then the levels; then the
figures; then what the numbers can and cannot say; provenance and digests go
to an appendix. Numbers are rounded for people (:mod:`.style`). With fewer
than ``MIN_REPS`` replications (:mod:`simulation.experiments.summary`) a banner says the
intervals cannot be trusted; with one, there are none.

What an interval covers is named in the report (:func:`interval_covers`):
today the replications differ only by their seed; a ``differences`` table
that carries an ``interval_source`` column (e.g. parameter uncertainty, when
it is added) is reported source by source.
"""

from __future__ import annotations

import base64
import html
import platform
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..calendar import month_key, parse_date, shift_month
from ..core.columns import HEADLINE, OUTCOME_BY_NAME
from ..experiments.ensemble import run_comparison, summarise_folder
from ..experiments.run import git_commit
from ..experiments.summary import MIN_REPS, MIN_REPS_FOR_INTERVAL, comparison_windows, options_take_effect
from ..files import write_atomic
from ..scenario import Scenario
from .style import colours, number, option_label, option_order, percent, signed

#: Figures of the report, in order: (file stem, title, what it shows). Time series of the headline outcomes are
#: added after ``overview``; a figure that was not drawn (e.g. ``observed`` without observed months) is left out.
FIGURES = (
    ("differences", "Differences from the reference", "Each option minus the reference, paired by replication."),
    ("overview", "Headline outcomes over time", "Median and 5–95% band over replications."),
    ("outcomes", "Outcomes by option", "The levels behind the differences."),
    ("route_shares", "Routes taken", "How the people who went towards Canada went."),
    ("shelters", "Shelters: Quebec and elsewhere, with transfers", "One panel per option."),
    ("observed", "The simulated history beside the observations", "Observed series, fitted or held out."),
    ("all_outcomes", "Every outcome over time", "Every outcome the model reports, small multiples."),
)


#: Every figure of a comparison, in the report's order.
FIGURE_NAMES = ("differences", "overview", *(f"timeseries_{m}" for m in HEADLINE), "outcomes", "route_shares",
                "shelters", "observed", "all_outcomes")


def compare(scenarios, out, reference: str | None = None, reps: int = 10, master_seed: int | None = None,
            scale: float | None = None, workers: int | None = None, executor: str = "local",
            scheduler: str | None = None, progress: bool = False, plots=True, posterior=None,
            branch: bool = True):
    """Run an ensemble of several options (paths or Scenarios), summarise it and write the report.

    Resumes from what ``out`` already holds; ``branch=False`` runs every option from day 0 (the same results,
    see ``run_ensemble``). Returns ``(summary, differences, ensemble_result)``; summary
    and differences are pandas DataFrames (also written to ``out/summary.csv`` and ``out/differences.csv``),
    or ``None`` when replications failed (``ensemble_result.failures`` says which). ``plots``: True (every
    figure), False (none) or the names of the figures to draw (see :data:`FIGURE_NAMES`). ``posterior``: a
    posterior file: replication ``i`` then uses parameter set ``i`` (see ``run_comparison``).
    """
    summary, differences, result = run_comparison(scenarios, out, reference=reference, reps=reps,
                                                  master_seed=master_seed, scale=scale, workers=workers,
                                                  executor=executor, scheduler=scheduler, progress=progress,
                                                  posterior=posterior, branch=branch)
    if result.failures:
        return None, None, result
    summary, differences = build_report(out, plots=plots)
    return summary, differences, result


# --- what the report is about -------------------------------------------------------------------------


@dataclass
class Comparison:
    """A comparison folder, read back: options in display order, the reference, windows, replications."""

    out: Path
    manifest: dict
    scenarios: list[Scenario]  #: in display order (reference first)
    reference: str
    summary: pd.DataFrame
    differences: pd.DataFrame
    per_scenario: dict[str, pd.DataFrame]
    windows: dict[str, tuple[str, str]]
    focus: str  #: the window the report leads with

    @property
    def n_reps(self) -> int:
        return len(self.manifest["seeds"])

    @property
    def scale(self) -> float:
        return float(self.manifest["scale"])

    @cached_property
    def ref(self) -> Scenario:
        """The reference, its policy date moved to the day the options take effect (what windows, plots and words
        are dated from)."""
        ref = next(s for s in self.scenarios if s.name == self.reference)
        date = options_take_effect(self.scenarios, self.reference)
        return ref.model_copy(update={"scenario": ref.scenario.model_copy(update={"policy_date": date})})

    def label(self, name: str) -> str:
        return option_label(name, self.reference)

    def window_text(self, window: str) -> str:
        lo, hi = self.windows[window]
        return f"{_month_words(lo)} to {_month_words(hi)}"


def read_comparison(out: Path) -> Comparison:
    summary, differences, manifest, scenarios, per_scenario = summarise_folder(Path(out))
    reference = manifest["reference"]
    order = option_order([s.name for s in scenarios], reference)
    scenarios = sorted(scenarios, key=lambda s: order.index(s.name))
    ref = next(s for s in scenarios if s.name == reference)
    wins = comparison_windows(scenarios, reference)
    focus = "after_change" if "after_change" in wins else "whole_horizon"
    return Comparison(Path(out), manifest, scenarios, reference, summary, differences,
                      {n: per_scenario[n] for n in order}, wins, focus)


def _month_words(month: str) -> str:
    return f"{parse_date(month):%b %Y}"


def _plot_start(sc: Scenario) -> str:
    """Plots show two years before the policy date (or the whole run)."""
    if not sc.scenario.policy_date:
        return sc.time.start
    return max(shift_month(month_key(parse_date(sc.scenario.policy_date)), -24), sc.time.start)


def build_report(out: Path, plots=True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write summary.csv, differences.csv, plots/, report.md and report.html in ``out``; return (summary, differences).

    ``plots``: True (every figure), False (none), or the names of the figures to draw (:data:`FIGURE_NAMES`); the
    report embeds the figures drawn.
    """
    from .compare_plots import (Ensemble, all_outcomes, differences_plot, observed_plot, outcome_bars, overview,
                                route_shares, shelters, timeseries_plot)
    from .observed import fitted_months
    from .plots import _capacity, policy_markers

    c = read_comparison(out)
    wanted = set(FIGURE_NAMES) if plots is True else set(plots or ())
    unknown = wanted - set(FIGURE_NAMES)
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; allowed: {', '.join(FIGURE_NAMES)}")
    drawn: list[str] = []
    if wanted:
        ref = c.ref
        start = _plot_start(ref)
        diverge = c.windows["after_change"][0] if "after_change" in c.windows else None
        last = ref.time.last_day
        markers = policy_markers(c.scenarios, parse_date(start), last,
                                 parse_date(ref.scenario.policy_date) if ref.scenario.policy_date else None)
        ens = Ensemble(c.per_scenario, c.reference, c.n_reps, c.scale, start, diverge, markers,
                       colours([s.name for s in c.scenarios]), fitted_months(ref), c.window_text(c.focus),
                       posterior=bool(c.manifest.get("posterior")))
        pdir = c.out / "plots"
        months = sorted(c.per_scenario[c.reference]["month"].unique())
        draw = {
            "differences": lambda: differences_plot(c.differences, c.summary, ens, c.focus, pdir),
            "overview": lambda: overview(ens, pdir),
            **{f"timeseries_{key}": (lambda key=key: timeseries_plot(ens, key, pdir)) for key in HEADLINE},
            "outcomes": lambda: outcome_bars(c.summary, ens, c.focus, pdir),
            "route_shares": lambda: route_shares(ens, c.windows[c.focus][0], pdir),
            "shelters": lambda: shelters(ens, _capacity(ref, [m for m in months if m >= start]), pdir),
            "observed": lambda: observed_plot(ens, pdir),
            "all_outcomes": lambda: all_outcomes(ens, pdir),
        }
        for name in FIGURE_NAMES:
            if name in wanted and draw[name]():
                drawn.append(name)
    doc = report_doc(c, drawn)
    write_atomic(c.out / "report.md", doc.markdown().encode())
    write_atomic(c.out / "report.html", doc.html(c.out).encode())
    return c.summary, c.differences


# --- numbers in words ------------------------------------------------------------------------------------


def interval_covers(differences: pd.DataFrame, n_reps: int, posterior: dict | None = None) -> str:
    """What the intervals cover, in words: random draws only (every replication has the same parameters, only the
    seed differs), or, with a posterior (``comparison.json``'s ``posterior``), the parameters' uncertainty too.
    A ``differences`` table with an ``interval_source`` column (a source per row) is reported source by source."""
    if "interval_source" in differences.columns:
        return "; ".join(sorted(set(differences["interval_source"].astype(str))))
    if posterior:
        where = f" ({posterior['file']})" if posterior.get("file") else ""
        return (f"the uncertainty in {len(posterior.get('parameters', []))} fitted parameters (a parameter set drawn "
                f"from the posterior{where} for each replication) and random draws ({n_reps} seeds)")
    return f"random draws only ({n_reps} seeds; the parameters are held fixed)"


def interval_name(n_reps: int) -> str:
    if n_reps < MIN_REPS_FOR_INTERVAL:
        return f"no interval (fewer than {MIN_REPS_FOR_INTERVAL} replications)"
    return f"5th–95th percentile of {n_reps} paired replications"


def _row(table: pd.DataFrame, name: str, metric: str, window: str) -> pd.Series:
    return table[(table.scenario == name) & (table.metric == metric) & (table.window == window)].iloc[0]


def _is_index(metric: str) -> bool:
    from .compare_plots import SHOWN_AS

    return SHOWN_AS.get(metric) == "risk_index"


@dataclass
class Change:
    """One option's change in one outcome against the reference, over one window."""

    metric: str
    mean: float
    lo: float
    hi: float
    ref_mean: float
    n_reps: int
    rel_lo: float = float("nan")  # 5th and 95th percentile of option / reference - 1, replication by replication
    rel_hi: float = float("nan")

    @property
    def unit(self) -> str:
        return OUTCOME_BY_NAME[self.metric].unit

    @property
    def rel(self) -> float:
        return self.mean / self.ref_mean if self.ref_mean else float("nan")

    @property
    def clear(self) -> bool:
        """Whether the interval excludes no change (with one replication, nothing is clear)."""
        return self.n_reps >= MIN_REPS_FOR_INTERVAL and (self.lo > 0 or self.hi < 0)

    @property
    def digits(self) -> int:
        """Significant figures: 2, or more when the interval's ends would otherwise read the same."""
        d = 2
        while d < 4 and self.n_reps >= MIN_REPS_FOR_INTERVAL and signed(self.lo, self.unit, d) == signed(self.hi, self.unit, d) \
                and self.lo != self.hi:
            d += 1
        return d

    def absolute(self) -> str:
        return signed(self.mean, self.unit, self.digits)

    def relative(self) -> str:
        return percent(self.rel)

    def interval(self) -> str:
        if self.n_reps < MIN_REPS_FOR_INTERVAL:
            return "no interval"
        if _is_index(self.metric):  # paired ratios: a risk cannot fall by more than 100%
            if np.isfinite(self.rel_lo) and np.isfinite(self.rel_hi):
                return f"{percent(self.rel_lo)} to {percent(self.rel_hi)}"
            return f"{percent(self.lo / self.ref_mean)} to {percent(self.hi / self.ref_mean)}" if self.ref_mean else "n/a"
        return f"{signed(self.lo, self.unit, self.digits)} to {signed(self.hi, self.unit, self.digits)}"

    def words(self) -> str:
        """'irregular crossings (...) 62% lower (−41,000; interval −45,000 to −37,000)'."""
        o = OUTCOME_BY_NAME[self.metric]
        index = _is_index(self.metric)
        what = "the risk of death crossing between ports" if index else _lower_first(o.label)
        detail = [] if index else [self.absolute()]
        if self.n_reps >= MIN_REPS_FOR_INTERVAL:
            detail.append(f"interval {self.interval()}")
        if not np.isfinite(self.rel):
            head, detail = f"{what} {self.absolute()}", detail[1:] if not index else detail
        elif self.n_reps >= MIN_REPS_FOR_INTERVAL and not self.clear:
            head, detail = f"{what}: no clear change", [self.relative()] + detail
        elif self.mean == 0:
            head = f"{what} unchanged"
        else:
            head = f"{what} **{percent(abs(self.rel)).lstrip('+')} {'lower' if self.mean < 0 else 'higher'}**"
        return head + (f" ({'; '.join(detail)})" if detail else "")

    def cell(self) -> tuple[str, str]:
        """(main, interval) for a table cell: '−41,000 (−62%)', '−45,000 to −37,000'."""
        main = f"{self.relative()} (index {100 + 100 * self.rel:.0f})" if _is_index(self.metric) else \
            f"{self.absolute()} ({self.relative()})"
        return main, (self.interval() if self.n_reps >= MIN_REPS_FOR_INTERVAL else "")


def change(c: Comparison, name: str, metric: str, window: str) -> Change:
    d = _row(c.differences, name, metric, window)
    ref = _row(c.summary, c.reference, metric, window)
    return Change(metric, float(d["mean"]), float(d["p05"]), float(d["p95"]), float(ref["mean"]), c.n_reps,
                  float(d.get("p05_relative", np.nan)), float(d.get("p95_relative", np.nan)))


# --- the document ---------------------------------------------------------------------------------------------


class Doc:
    """A report as blocks, written out as Markdown or as one self-contained HTML page (images embedded)."""

    def __init__(self):
        self.blocks: list[tuple] = []

    def h(self, level: int, text: str):
        self.blocks.append(("h", level, text))

    def p(self, text: str, cls: str = ""):
        self.blocks.append(("p", text, cls))

    def banner(self, text: str):
        self.blocks.append(("banner", text))

    def ul(self, items: list[str]):
        self.blocks.append(("ul", items))

    def table(self, header: list[str], rows: list[list], note: str = "", numbers: bool = True):
        self.blocks.append(("table", header, rows, note, numbers))

    def figure(self, stem: str, caption: str):
        self.blocks.append(("figure", stem, caption))

    # Markdown
    def markdown(self) -> str:
        out: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                out += ["#" * b[1] + " " + b[2], ""]
            elif kind == "p":
                out += [b[1], ""]
            elif kind == "banner":
                out += ["> ⚠ " + b[1], ""]
            elif kind == "ul":
                out += [f"- {i}" for i in b[1]] + [""]
            elif kind == "table":
                _, header, rows, note, numbers = b
                out.append("| " + " | ".join(header) + " |")
                out.append("|" + "|".join(["---"] + ["--:" if numbers else "---"] * (len(header) - 1)) + "|")
                for r in rows:
                    out.append("| " + " | ".join(_md_cell(x) for x in r) + " |")
                out.append("")
                if note:
                    out += [note, ""]
            elif kind == "figure":
                out += [f"![{b[2]}](plots/{b[1]}.png)", "", f"*{b[2]}*", ""]
        return "\n".join(out)

    # HTML
    def html(self, folder: Path) -> str:
        body: list[str] = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                body.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
            elif kind == "p":
                body.append(f"<p class='{b[2]}'>{_inline(b[1])}</p>" if b[2] else f"<p>{_inline(b[1])}</p>")
            elif kind == "banner":
                body.append(f"<div class='banner' role='alert'>⚠ {_inline(b[1])}</div>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b[1]) + "</ul>")
            elif kind == "table":
                _, header, rows, note, numbers = b
                head = "".join(f"<th>{_inline(h)}</th>" for h in header)
                trs = "".join("<tr>" + "".join(f"<td>{_html_cell(x)}</td>" for x in r) + "</tr>" for r in rows)
                body.append(f"<div class='scroll'><table class='{'numbers' if numbers else 'text'}'><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table></div>")
                if note:
                    body.append(f"<p class='note'>{_inline(note)}</p>")
            elif kind == "figure":
                png = Path(folder) / "plots" / f"{b[1]}.png"
                src = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode() if png.exists() else ""
                body.append(f"<figure><img src='{src}' alt='{html.escape(b[2])}'><figcaption>{_inline(b[2])}"
                            "</figcaption></figure>")
        title = next((b[2] for b in self.blocks if b[0] == "h" and b[1] == 1), "bordersim report")
        return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
                f"<style>{_CSS}</style></head><body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px;line-height:1.5}
h1{font-size:1.7em;margin:.2em 0 .4em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.banner{background:#fff4d6;border-left:5px solid #E69F00;padding:10px 14px;margin:14px 0}
table{border-collapse:collapse;font-size:.9em;margin:8px 0}th,td{padding:5px 10px;border-bottom:1px solid #e5e5e5;vertical-align:top}
th{text-align:left;background:#f6f6f6}table.numbers td{text-align:right;white-space:nowrap}
table td:first-child{text-align:left;white-space:normal}td small{color:#555}.scroll{overflow-x:auto}.note{color:#555;font-size:.9em}
figure{margin:18px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;font-size:.9em}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""


def _inline(text: str) -> str:
    t = html.escape(str(text))
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<i>\1</i>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"\[(.+?)\]\((.+?)\)", r"<a href='\2'>\1</a>", t)


def _md_cell(x) -> str:
    if isinstance(x, tuple):
        main, sub = x
        return f"{main}<br><small>{sub}</small>" if sub else main
    return str(x).replace("|", "\\|")


def _html_cell(x) -> str:
    if isinstance(x, tuple):
        main, sub = x
        return _inline(main) + (f"<br><small>{_inline(sub)}</small>" if sub else "")
    return _inline(x)


def _outcome_header(metric: str) -> str:
    if _is_index(metric):
        return "Risk of death crossing (index)"
    o = OUTCOME_BY_NAME[metric]
    return o.label if o.unit in ("persons", "CAD") or f"({o.unit}" in o.label else f"{o.label} ({o.unit})"


def _lower_first(text: str) -> str:
    """'Irregular crossings' -> 'irregular crossings'; 'IRB backlog' stays."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def report_doc(c: Comparison, plots=()) -> Doc:
    """The report of a comparison; ``plots``: the figures drawn (names), embedded in this order."""
    doc = Doc()
    n = c.n_reps
    options = [s.name for s in c.scenarios if s.name != c.reference]
    doc.h(1, f"Options compared with {c.label(c.reference).replace(' (reference)', '')}")
    if n < MIN_REPS_FOR_INTERVAL:
        doc.banner(f"**{'One replication' if n == 1 else f'{n} replications'}: no intervals.** Every number below "
                   "comes from so few runs that another seed could change it a lot; nothing here can be quoted. "
                   f"Rerun with `--reps {MIN_REPS}` or more.")
    elif n < MIN_REPS:
        doc.banner(f"**Too few replications to trust.** This comparison has {n} replications per option; its "
                   f"intervals have not settled and may be far too narrow. Rerun with `--reps {MIN_REPS}` or more "
                   "before quoting any number (see *Replications* below).")
    lo, hi = c.windows[c.focus]
    policy = c.ref.scenario.policy_date
    when = (f"from {_month_words(lo)} (the options take effect on {_day_words(policy)}) to {_month_words(hi)}"
            if c.focus == "after_change" and policy else f"{_month_words(lo)} to {_month_words(hi)}")
    doc.p(f"Reference: **{c.label(c.reference).replace(' (reference)', '')}** (`{c.reference}`). Period: **{when}**. "
          f"**{n} replication{'s' if n != 1 else ''}** per option, paired by seed (replication *k* of every option "
          f"follows the same people with the same random draws), at {c.scale:.1%} of the real population with "
          f"counts scaled up to persons. Intervals: {interval_name(n)}; they cover "
          f"{interval_covers(c.differences, n, c.manifest.get('posterior'))}.")

    doc.h(2, "In short")
    items = []
    for name in options:
        parts = [change(c, name, m, c.focus).words() for m in HEADLINE]
        items.append(f"**{c.label(name)}** against the reference, {c.window_text(c.focus)}: " + "; ".join(parts) + ".")
    doc.ul(items)
    doc.p("Percentages are of the reference's mean." + (" \"No clear change\": the interval includes no change."
                                                        if n >= MIN_REPS_FOR_INTERVAL else
                                                        " With so few replications nothing is compared with the noise."),
          "note")

    for window, heading in ((c.focus, f"Differences from the reference, {c.window_text(c.focus)}"),
                            ("first_12_months", f"The first 12 months, {c.window_text('first_12_months')}"
                             if "first_12_months" in c.windows else "")):
        if window not in c.windows:
            continue
        doc.h(2, heading)
        rows = [[c.label(name)] + [change(c, name, m, window).cell() for m in HEADLINE] for name in options]
        doc.table(["Option minus reference"] + [_outcome_header(m) for m in HEADLINE], rows,
                  f"Mean of the paired differences, percent of the reference's mean in brackets"
                  + (f"; under it, the {interval_name(n)}." if n >= MIN_REPS_FOR_INTERVAL else "."))

    doc.h(2, f"Levels, {c.window_text(c.focus)}")
    rows = []
    for s in c.scenarios:
        cells = [c.label(s.name)]
        for m in HEADLINE:
            r = _row(c.summary, s.name, m, c.focus)
            unit = OUTCOME_BY_NAME[m].unit
            if _is_index(m):
                ref = float(_row(c.summary, c.reference, m, c.focus)["mean"])
                k = 100.0 / ref if ref else float("nan")
                main = f"{r['mean'] * k:.0f}"
                sub = f"{r['p05'] * k:.0f} to {r['p95'] * k:.0f}" if n >= MIN_REPS_FOR_INTERVAL else ""
            else:
                main = number(r["mean"], unit)
                sub = f"{number(r['p05'], unit)} to {number(r['p95'], unit)}" if n >= MIN_REPS_FOR_INTERVAL else ""
            cells.append((main, sub))
        rows.append(cells)
    doc.table(["Option"] + [_outcome_header(m) for m in HEADLINE], rows,
              "Mean over replications" + (", and under it the 5th–95th percentile" if n >= MIN_REPS_FOR_INTERVAL else "")
              + ". Flows are totals over the period, backlogs are at its end. The risk index is 100 for the reference.")

    if plots:
        from .compare_plots import outcome_title

        doc.h(2, "Figures")
        words = {stem: (heading, what) for stem, heading, what in FIGURES}
        for stem in [n for n in FIGURE_NAMES if n in plots]:
            heading, what = words.get(stem) or (outcome_title(stem.removeprefix("timeseries_")), "")
            doc.h(3, heading)
            doc.figure(stem, what or heading)

    doc.h(2, "What this can and cannot say")
    fit = c.ref.scenario.calibrated_on
    doc.ul([
        (f"The behavioural parameters that nothing measures directly were fitted to observed crossings on the months "
         f"{fit} (`scenarios/calibrated.toml`; see `docs/validation.md` for how well the model tracks months it was "
         "not fitted to). Every other parameter is an assumption." if fit else
         "The behavioural parameters of these scenarios were not fitted to observed crossings: they are assumptions."),
        "Read the differences between options (same people, same random draws) with more confidence than the levels; "
        "the levels are not forecasts.",
        f"The intervals cover {interval_covers(c.differences, n, c.manifest.get('posterior'))}."
        + ("" if c.manifest.get("posterior") else " They leave out the uncertainty in the parameters, which is "
           "larger: `bordersim compare --posterior` draws a fitted parameter set for each replication."),
        "The risk of death is an index of exposure to danger (crossings between ports weighted by an assumed risk "
        "per crossing, higher in winter), 100 for the reference. It is not a count or a forecast of deaths: quote "
        "it as a percent change, never as a number of people.",
    ])

    doc.h(2, "Replications")
    settled = _convergence_rows(c)
    doc.p(f"This comparison has {n} replication{'s' if n != 1 else ''} per option. An interval needs at least "
          f"{MIN_REPS_FOR_INTERVAL}; it takes about {MIN_REPS} for a 90% interval to settle (docs/validation.md). "
          + ("How the interval of each difference narrowed or widened as replications were added, relative to its "
             "width with all of them (1.0 = settled):" if settled else ""))
    if settled:
        doc.table(*settled)

    doc.h(2, "Appendix: options, provenance and files")
    doc.table(["Option", "Scenario file name", "Description", "Digest"],
              [[c.label(s.name), f"`{s.name}`", s.scenario.description, f"`{s.digest()}`"] for s in c.scenarios],
              numbers=False)
    import mesa

    win_rows = [[w.replace("_", " "), f"{a} to {b}"] for w, (a, b) in c.windows.items()]
    doc.table(["Window (summary.csv)", "Months"], win_rows, numbers=False)
    doc.ul([
        f"bordersim {__version__}, Mesa {mesa.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"Python {platform.python_version()}; git commit {git_commit() or 'unknown'}",
        f"master seed {c.manifest['master_seed']}; replication seeds {', '.join(map(str, c.manifest['seeds']))}; "
        f"scale {c.scale:g}",
        "`summary.csv`: every outcome, option and window (mean, 5th, 50th, 95th percentile); `differences.csv`: the "
        "paired differences, with the unpaired interval for comparison; `reps/`: every replication; "
        "`comparison.json`: the resolved scenarios.",
        f"Rebuild this report (and its figures) from the stored replications with `bordersim report {c.out.name}`.",
    ])
    return doc


def _convergence_rows(c: Comparison):
    """(header, rows) of convergence.csv for the first option, or None: interval width with the first k replications,
    relative to all of them."""
    path = c.out / "convergence.csv"
    if not path.exists():
        return None
    conv = pd.read_csv(path)
    options = [s.name for s in c.scenarios if s.name != c.reference]
    conv = conv[conv["scenario"] == options[0]] if options else conv.iloc[0:0]
    if conv.empty or conv["reps"].nunique() < 2:
        return None
    steps = sorted(conv["reps"].unique())
    rows = []
    for metric, g in conv.groupby("metric", sort=False):
        by = g.set_index("reps")["width_vs_all"]
        rows.append([OUTCOME_BY_NAME[metric].label] + [f"{by.get(k, float('nan')):.2f}" for k in steps])
    return ([f"{c.label(options[0])} minus the reference"] + [f"{k} replications" for k in steps], rows)


def _day_words(day: str) -> str:
    d = parse_date(day)
    return f"{d.day} {d:%b %Y}"
