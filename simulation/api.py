"""The Python API's commands that run experiments and also write their reports (the top of the layers).

``from simulation import compare, backtest`` gives these; the other public names
come straight from the layer that defines them (see :mod:`simulation`).
"""

from __future__ import annotations

from pathlib import Path

from .experiments.ensemble import run_comparison
from .experiments.validation import run_backtest
from .present.report import build_report
from .present.validation_report import write_backtest_report


def compare(scenarios, out, reference: str | None = None, reps: int = 10, master_seed: int | None = None,
            scale: float | None = None, workers: int | None = None, executor: str = "local",
            scheduler: str | None = None, progress: bool = False, plots: bool = True):
    """Run an ensemble of several options (paths or Scenarios), summarise it and write ``report.md``.

    Resumes from what ``out`` already holds. Returns ``(summary, differences, ensemble_result)``; summary
    and differences are pandas DataFrames (also written to ``out/summary.csv`` and ``out/differences.csv``),
    or ``None`` when replications failed (``ensemble_result.failures`` says which).
    """
    summary, differences, result = run_comparison(scenarios, out, reference=reference, reps=reps,
                                                  master_seed=master_seed, scale=scale, workers=workers,
                                                  executor=executor, scheduler=scheduler, progress=progress)
    if result.failures:
        return None, None, result
    summary, differences = build_report(out, plots=plots)
    return summary, differences, result


def backtest(history, calibrations, out, reps: int = 10, scale: float | None = None, master_seed: int = 1,
             workers: int | None = None, executor: str = "local", progress: bool = False, docs: Path | None = None):
    """Run the calibrated history for each calibration, score it against observed crossings, and write the report.

    Returns the table of scores (also in ``out/scores.csv``).
    """
    bt = run_backtest(history, calibrations, out, reps=reps, scale=scale, master_seed=master_seed, workers=workers,
                      executor=executor, progress=progress)
    write_backtest_report(bt, docs)
    return bt.table
