"""The backtest, drawn and written up: observed against simulated, fitted against held-out months.

Takes a :class:`~simulation.experiments.validation.Backtest` and writes its
plots and ``validation.md`` (and, with ``docs``, a copy for the documentation).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .. import data
from ..calendar import add_months, parse_date
from ..experiments.calibration import parse_fit
from ..experiments.validation import Backtest, observed_locations, run_backtest
from ..files import save_figure, write_atomic
from .plots import change_labels, draw_markers, frame_months, markers_from_changes, month_dates, plt, style_time_axis, title


def backtest(history, calibrations, out, reps: int = 10, scale: float | None = None, master_seed: int = 1,
             workers: int | None = None, executor: str = "local", progress: bool = False, docs: Path | None = None):
    """Run the calibrated history for each calibration, score it against observed crossings, and write the report.

    Returns the table of scores (also in ``out/scores.csv``).
    """
    bt = run_backtest(history, calibrations, out, reps=reps, scale=scale, master_seed=master_seed, workers=workers,
                      executor=executor, progress=progress)
    write_backtest_report(bt, docs)
    return bt.table


def write_backtest_report(bt: Backtest, docs: Path | None = None) -> None:
    """Plots and ``validation.md`` in the backtest folder; with ``docs``, the page and its images there too."""
    from ..scenario import load_scenario

    labels = change_labels(load_scenario(bt.history_path))
    for s in bt.sections:
        backtest_plot(s.replications, s.fit, s.changes, bt.out / "plots" / f"backtest_{s.calibration.stem}",
                      f"behaviour fitted on {s.fit}", labels=labels)
    text = validation_markdown(bt)
    write_atomic(bt.out / "validation.md", text.encode())
    if docs is not None:
        # the docs carry their own copy of the plots: results/ is not part of the repository
        docs = Path(docs)
        img = docs.parent / "img" / "validation"
        img.mkdir(parents=True, exist_ok=True)
        for png in sorted((bt.out / "plots").glob("backtest_*.png")):
            write_atomic(img / png.name, png.read_bytes())
        write_atomic(docs, text.replace("](plots/", f"]({_rel(img, docs.parent)}/").encode())


def _month_start(month: str, offset: int = 0):
    return add_months(parse_date(month), offset)


def _runs(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive months grouped into (first, last) runs."""
    out: list[tuple[str, str]] = []
    for m in months:
        if out and _month_start(out[-1][1], 1) == _month_start(m):
            out[-1] = (out[-1][0], m)
        else:
            out.append((m, m))
    return out


def backtest_plot(reps: pd.DataFrame, fit: str, changes, out: Path, title_text: str, end: str = "2023-12",
                  labels: dict[str, str] | None = None) -> list[Path]:
    """Observed Quebec interceptions (dots) against the simulated median and 90% band; held-out months shaded.

    ``changes``: the rule changes to mark (or a Scenario, whose changes and labels are used).
    """
    if hasattr(changes, "rule_changes"):
        labels, changes = change_labels(changes), changes.rule_changes()
    reps = reps[reps.month <= end]
    g = reps.groupby("month")["interceptions_quebec"]
    q = pd.DataFrame({"p05": g.quantile(0.05), "p50": g.quantile(0.5), "p95": g.quantile(0.95)})
    dates = month_dates(q.index)
    obs = observed_locations()["quebec"].dropna()
    obs = obs[obs.index <= end]
    fitted = set(parse_fit(fit))
    n_reps = reps["rep"].nunique() if "rep" in reps else 1
    fig, ax = plt.subplots(figsize=(11, 4.8))
    for lo, hi in _runs([m for m in q.index if m not in fitted]):
        ax.axvspan(_month_start(lo), _month_start(hi, offset=1), color="#fde0c5", lw=0, zorder=0)
    if n_reps > 1:
        ax.fill_between(dates, q.p05, q.p95, color="#0072B2", alpha=0.2, lw=0, label="simulated, 5–95% band")
    ax.plot(dates, q.p50, color="#0072B2", lw=1.8, label="simulated median" if n_reps > 1 else "simulated")
    ax.scatter(month_dates(obs.index), obs.values, color="black", s=14, zorder=3, label="observed (RCMP)")
    ax.fill_between([], [], [], color="#fde0c5", label="held out from the fit")
    frame_months(ax, list(q.index))
    style_time_axis(ax, "persons intercepted per month")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.08), ncol=4)
    fig.tight_layout()
    rows = draw_markers(ax, markers_from_changes(changes, labels or {}, dates[0].replace(day=1), dates[-1]))
    sub = f"{title_text}; {n_reps} replication{'s' if n_reps != 1 else ''}" + (
        ", band: 5th–95th percentile over replications" if n_reps > 1 else "")
    title(ax, "RCMP interceptions between ports, Quebec: observed and simulated", sub, rows)
    return save_figure(fig, out)


def _rel(target: Path, start: Path) -> str:
    return os.path.relpath(Path(target).resolve(), Path(start).resolve())


#: Known reasons for a poor fit in a year, shown when that year's error is large.
KNOWN_MISSES = {
    2017: "the summer wave of Haitians after the TPS signal came largely from TPS holders, who are not in the "
          "asylum pool the model builds from CBP encounters.",
    2018: "many crossers (Nigerians) came on US visitor visas and are likewise outside the pool.",
    2020: "the months before the direct-back orders weigh on the year; the model's January-March 2020 runs "
          "higher than the data.",
    2022: "the model reproduces the surge after the reopening but its level depends on the awareness parameters.",
}


def _shown(path) -> str:
    """A path as a reader should see it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(data.REPO_ROOT))
    except ValueError:
        return str(path)


def validation_markdown(bt: Backtest) -> str:
    sections = [(s.calibration, s.fit, s.scores, s.annual) for s in bt.sections]
    history_path, reps, scale, master_seed, out = bt.history_path, bt.reps, bt.scale, bt.master_seed, bt.out
    lines = ["# Validation against observed crossings", "",
             "Produced by `bordersim backtest` (do not edit by hand): "
             f"`bordersim backtest --scenario {_shown(history_path)} --reps {reps} --scale {scale} --seed {master_seed} --out {_shown(out)}`.",
             "",
             "Observed: RCMP interceptions between ports, monthly, Quebec and the rest of Canada "
             "(`data/rcmp_interceptions_monthly.csv`; gaps are real gaps, nothing is interpolated). "
             "Simulated: the median over replications of the calibrated history. ARD is the averaged relative "
             "difference of Suleimenova et al. (2017) over the locations observed each month; MAPE is on Quebec. "
             "*Fitted* months are those the calibration used; *held out* months were not used to fit anything.", ""]
    for cal, fit, sc_scores, annual in sections:
        lines += [f"## Behaviour from `{_shown(cal)}` (fitted on {fit})", "",
                  "| months | n | ARD (median run) | ARD 5-95% over replications | MAPE Quebec |", "|---|---|---|---|---|"]
        for _, r in sc_scores.iterrows():
            lines.append(f"| {r['months'].replace('_', ' ')} | {r.n_months} | {r.ARD:.2f} | "
                         f"{r.ARD_p05_reps:.2f} - {r.ARD_p95_reps:.2f} | {r.MAPE_quebec:.0%} |")
        if len(annual):
            lines += ["", "Annual totals:", "", "| year | province | observed | simulated | error | months fitted |",
                      "|---|---|---|---|---|---|"]
            for _, r in annual.iterrows():
                lines.append(f"| {r.year} | {r.province} | {r.observed:,.0f} | {r.simulated:,.0f} | "
                             f"{r.relative_error:+.0%} | {r.months_fitted} |")
        lines += ["", f"![Observed and simulated, {fit}](plots/backtest_{cal.stem}.png)", ""]
    lines += ["## Where the model misses, and why", "",
              "Years whose simulated total is off by more than 20% under the first calibration above, with the "
              "reason where one is known:", ""]
    first_annual = sections[0][3] if sections else pd.DataFrame()
    for year in sorted(set(first_annual.year)) if len(first_annual) else []:
        rows = first_annual[first_annual.year == year]
        worst = rows.loc[rows.relative_error.abs().idxmax()]
        if abs(worst.relative_error) > 0.2:
            reason = KNOWN_MISSES.get(int(year), "no explanation yet.")
            lines.append(f"- {year} ({worst.province}, {worst.relative_error:+.0%}): {reason}")
    lines += ["", "Always: the observed monthly series has gaps (Quebec 2020-04 .. 2021-09 among them), so the "
              "COVID direct-back period is scored on the few months published; nothing is interpolated.", ""]
    return "\n".join(lines)


def loss_plot(trials: pd.DataFrame, path: Path) -> list[Path]:
    """A calibration's loss per trial, and the best so far."""
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(trials.trial, trials.loss, "o", ms=3, color="0.6", label="trial")
    ax.plot(trials.trial, trials.loss.cummin(), color="#d95f02", lw=2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("loss (sum of pattern errors)")
    ax.set_title("Calibration: loss per trial", loc="left")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)
