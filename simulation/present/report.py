"""Summaries, plots and ``report.md`` from the replications stored in a comparison folder.

Everything here reads only what ``bordersim compare`` stored, so ``bordersim
report DIR`` rebuilds the same files without rerunning anything.
"""

from __future__ import annotations

import platform
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from .. import __version__
from ..calendar import month_key, parse_date, shift_month
from ..core.columns import HEADLINE, OUTCOME_BY_NAME
from ..experiments.ensemble import run_comparison, summarise_folder
from ..experiments.run import git_commit
from ..experiments.summary import windows
from ..files import write_atomic
from ..scenario import RuleChange, Scenario
from .compare_plots import outcome_bars, overview, route_shares, timeseries_plots


def compare(scenarios, out, reference: str | None = None, reps: int = 10, master_seed: int | None = None,
            scale: float | None = None, workers: int | None = None, executor: str = "local",
            scheduler: str | None = None, progress: bool = False, plots: bool = True, posterior=None,
            branch: bool = True):
    """Run an ensemble of several options (paths or Scenarios), summarise it and write ``report.md``.

    Resumes from what ``out`` already holds; ``branch=False`` runs every option from day 0 (the same results,
    see ``run_ensemble``). Returns ``(summary, differences, ensemble_result)``; summary
    and differences are pandas DataFrames (also written to ``out/summary.csv`` and ``out/differences.csv``),
    or ``None`` when replications failed (``ensemble_result.failures`` says which).
    """
    summary, differences, result = run_comparison(scenarios, out, reference=reference, reps=reps,
                                                  master_seed=master_seed, scale=scale, workers=workers,
                                                  executor=executor, scheduler=scheduler, progress=progress,
                                                  posterior=posterior, branch=branch)
    if result.failures:
        return None, None, result
    summary, differences = build_report(out, plots=plots)
    return summary, differences, result


def build_report(out: Path, plots: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write summary.csv, differences.csv, plots/ and report.md in ``out``; return (summary, differences)."""
    out = Path(out)
    summary, differences, manifest, scenarios, per_scenario = summarise_folder(out)
    reference = manifest["reference"]
    ref = next(s for s in scenarios if s.name == reference)
    start = _plot_start(ref)
    changes = _changes_to_mark(scenarios, start, ref.scenario.policy_date)
    diverge = windows(ref)["after_change"][0] if "after_change" in windows(ref) else None
    focus = "after_change" if "after_change" in windows(ref) else "whole_horizon"
    if plots:
        pdir = out / "plots"
        timeseries_plots(per_scenario, changes, start, pdir, diverge)
        outcome_bars(summary, focus, pdir)
        route_shares(per_scenario, windows(ref)[focus][0], pdir)
        overview(per_scenario, changes, start, pdir, diverge)
    write_atomic(out / "report.md", report_text(manifest, scenarios, reference, summary, differences, focus, plots).encode())
    return summary, differences


def _plot_start(sc: Scenario) -> str:
    """Plots show two years before the policy date (or the whole run)."""
    if not sc.scenario.policy_date:
        return sc.time.start
    return max(shift_month(month_key(parse_date(sc.scenario.policy_date)), -24), sc.time.start)


def _changes_to_mark(scenarios: list[Scenario], start_month: str, policy_date: str | None):
    """Rule changes to draw: those in the plotted window, with every change starting on the policy date
    (where the options differ) drawn as one line named 'options start'."""
    seen, out = set(), []
    first = parse_date(start_month)
    diverge = parse_date(policy_date) if policy_date else None
    if diverge:
        out.append(RuleChange(name="options_start", start=diverge))
    for sc in scenarios:
        for c in sc.rule_changes():
            key = (c.name, c.start, c.until)
            if c.start == diverge and c.until is None:
                continue
            if key not in seen and (c.start >= first or (c.until and c.until >= first)):
                seen.add(key)
                out.append(c)
    return out


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"


def report_text(manifest, scenarios, reference, summary, differences, window, plots) -> str:
    lines = ["# bordersim comparison report", ""]
    lines += [f"Reference option: **{reference}**. Window for the tables: **{window.replace('_', ' ')}** "
              f"({_window_span(scenarios, reference, window)}). {len(manifest['seeds'])} replications per option "
              f"at scale {manifest['scale']} (results scaled back to persons).", ""]
    lines += ["## Options compared", "", "| option | description | scenario digest |", "|---|---|---|"]
    for s in scenarios:
        lines.append(f"| {s.name} | {s.scenario.description} | `{s.digest()}` |")
    lines += ["", "## Headline outcomes", "", "Mean over replications, with the 5th-95th percentile range in brackets.", ""]
    head = [OUTCOME_BY_NAME[m] for m in HEADLINE]
    lines.append("| option | " + " | ".join(f"{m.label} ({m.unit})" for m in head) + " |")
    lines.append("|---" * (len(head) + 1) + "|")
    for s in scenarios:
        cells = []
        for m in head:
            r = summary[(summary.scenario == s.name) & (summary.metric == m.name) & (summary.window == window)].iloc[0]
            cells.append(f"{_fmt(r['mean'])} [{_fmt(r['p05'])}, {_fmt(r['p95'])}]")
        lines.append(f"| {s.name} | " + " | ".join(cells) + " |")
    lines += ["", f"## Differences from {reference} (paired by replication)", "",
              "Each option minus the reference, replication by replication (same seeds, common random numbers). "
              "The last column says how much wider the 90% interval would be with independent seeds.", "",
              "| option | metric | mean difference | 90% interval | width ratio, independent / paired |", "|---|---|---|---|---|"]
    for _, r in differences[(differences.window == window) & differences.metric.isin(HEADLINE)].iterrows():
        ratio = r["width_ratio_unpaired_to_paired"]
        lines.append(f"| {r['scenario']} | {OUTCOME_BY_NAME[r['metric']].label} | {_fmt(r['mean'])} | "
                     f"[{_fmt(r['p05'])}, {_fmt(r['p95'])}] | {_ratio(ratio)} |")
    if plots:
        lines += ["", "## Plots", ""]
        for name, title in (("overview", "Overview"), ("outcomes", "Outcomes by option"), ("route_shares", "Routes taken"),
                            ("timeseries_irregular_crossings", "Irregular crossings"), ("timeseries_returns", "Returns"),
                            ("timeseries_irb_backlog_end", "IRB backlog"), ("timeseries_quebec_shelter_peak", "Quebec shelters"),
                            ("timeseries_deaths_expected", "Expected deaths")):
            lines += [f"### {title}", "", f"![{title}](plots/{name}.png)", ""]
    lines += ["## What this can and cannot say", "",
              "The behavioural parameters are assumptions until calibrated against observed crossings; read differences "
              "between options (paired, same people and same luck) with more confidence than levels. Expected deaths "
              "are a risk-weighted count, not a forecast of events.", "",
              "## Provenance", "",
              f"- bordersim {__version__}, Mesa {mesa.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
              f"Python {platform.python_version()}",
              f"- git commit: {git_commit() or 'unknown'}",
              f"- master seed {manifest['master_seed']}; replication seeds: {', '.join(map(str, manifest['seeds']))}",
              "- scenario digests: " + ", ".join(f"{s['name']} `{s['digest']}`" for s in manifest["scenarios"]), ""]
    return "\n".join(lines)


def _ratio(x: float) -> str:
    if np.isinf(x):
        return "paired differences identical"
    return "n/a" if not np.isfinite(x) else f"{x:.1f}"


def _window_span(scenarios, reference, window) -> str:
    ref = next(s for s in scenarios if s.name == reference)
    lo, hi = windows(ref)[window]
    return f"{lo} to {hi}"
