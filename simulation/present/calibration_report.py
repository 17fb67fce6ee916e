"""A calibration, written up: the posterior sample, its marginals and pairs, and what the data pin down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.calibration import CalibrationResult, calibrated_toml, posterior_file, posterior_summary
from ..files import save_figure, to_csv_bytes, write_atomic
from .plots import plt

#: How narrow the 90% posterior interval must be, against the prior's, to say the data pin a parameter down.
PINNED, INFORMED = 0.35, 0.75


def verdict(ratio: float) -> str:
    if ratio <= PINNED:
        return "pinned down"
    if ratio <= INFORMED:
        return "narrowed"
    return "not identified (posterior ~ prior)"


def write_calibration(result: CalibrationResult, folder: Path, fit: str, command: str) -> None:
    """posterior.csv, posterior_summary.csv, generations.csv, calibrated.toml and plots/ in ``folder``."""
    folder = Path(folder)
    summary = posterior_summary(result).assign(verdict=lambda d: d["interval_vs_prior"].map(verdict))
    write_atomic(folder / "posterior.csv", to_csv_bytes(posterior_file(result), float_format="%.8g"))
    write_atomic(folder / "posterior_summary.csv", to_csv_bytes(summary, float_format="%.6g"))
    write_atomic(folder / "generations.csv", to_csv_bytes(result.generations, float_format="%.6g"))
    write_atomic(folder / "calibrated.toml", calibrated_toml(result, fit, command).encode())
    marginals_plot(result, folder / "plots" / "marginals")
    pairs_plot(result, folder / "plots" / "pairs")


def _coordinate(result: CalibrationResult, p: str) -> np.ndarray:
    x = result.posterior[p].to_numpy(float)
    return np.log10(x) if result.priors[p][2] else x


def _prior_span(result: CalibrationResult, p: str) -> tuple[float, float]:
    lo, hi, log = result.priors[p]
    return (np.log10(lo), np.log10(hi)) if log else (lo, hi)


def _short(p: str) -> str:
    return p.split(".", 1)[1].replace("group_affinity.", "affinity ")


def marginals_plot(result: CalibrationResult, path: Path) -> list[Path]:
    """One panel per parameter: the weighted posterior histogram over the whole prior range."""
    params = list(result.priors)
    cols = 4
    rows = int(np.ceil(len(params) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows))
    w = result.posterior["weight"].to_numpy()
    summary = posterior_summary(result).set_index("parameter")
    for ax, p in zip(axes.ravel(), params):
        lo, hi = _prior_span(result, p)
        ax.hist(_coordinate(result, p), bins=np.linspace(lo, hi, 21), weights=w, color="#0072B2", alpha=0.8)
        ax.axhline(1 / 20, color="0.4", ls="--", lw=0.9)
        ax.set_xlim(lo, hi)
        ax.set_title(f"{_short(p)}\n{verdict(summary.loc[p, 'interval_vs_prior'])}", fontsize=8, loc="left")
        ax.set_xlabel("log10 of value" if result.priors[p][2] else "value", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
    for ax in axes.ravel()[len(params):]:
        ax.axis("off")
    fig.suptitle(f"Posterior marginals ({len(result.posterior)} weighted particles; dashed line: the flat prior)",
                 x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def pairs_plot(result: CalibrationResult, path: Path) -> list[Path]:
    """Every pair of parameters: the particles, sized by weight, over the prior box."""
    params = list(result.priors)
    k = len(params)
    fig, axes = plt.subplots(k, k, figsize=(1.35 * k, 1.35 * k))
    w = result.posterior["weight"].to_numpy()
    size = 4 + 40 * w / max(w.max(), 1e-12)
    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == j:
                lo, hi = _prior_span(result, pi)
                ax.hist(_coordinate(result, pi), bins=np.linspace(lo, hi, 15), weights=w, color="#0072B2")
                ax.set_xlim(lo, hi)
            elif i > j:
                ax.scatter(_coordinate(result, pj), _coordinate(result, pi), s=size, color="#D55E00", alpha=0.6, lw=0)
                ax.set_xlim(*_prior_span(result, pj))
                ax.set_ylim(*_prior_span(result, pi))
            else:
                ax.axis("off")
            if i == k - 1:
                ax.set_xlabel(_short(pj), fontsize=6, rotation=35, ha="right")
            if j == 0:
                ax.set_ylabel(_short(pi), fontsize=6, rotation=0, ha="right", va="center")
    fig.suptitle("Posterior pairs (each axis spans the prior; log10 scale where the prior is log-uniform)",
                 x=0.01, ha="left", fontsize=10)
    fig.subplots_adjust(left=0.16, bottom=0.14, wspace=0.05, hspace=0.05)
    return save_figure(fig, path)


def summary_table(summary: pd.DataFrame) -> list[str]:
    """Markdown rows: prior, posterior median and 90% interval, narrowing and verdict, per parameter."""
    lines = ["| parameter | prior | best particle | posterior median [90%] | 90% interval / prior's | what the data say |",
             "|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        prior = f"{'log-uniform' if r.log_scale else 'uniform'} {r.prior_low:g} .. {r.prior_high:g}"
        lines.append(f"| `{r.parameter}` | {prior} | {r.best:.3g} | {r.p50:.3g} [{r.p05:.3g}, {r.p95:.3g}] | "
                     f"{r.interval_vs_prior:.2f} | {verdict(r.interval_vs_prior)} |")
    return lines


def write_calibration_docs(folder: Path, docs: Path) -> None:
    """docs/calibration.md from a calibration folder: what was fitted, the posterior, what the data pin down."""
    folder, docs = Path(folder), Path(docs)
    summary = pd.read_csv(folder / "posterior_summary.csv")
    gens = pd.read_csv(folder / "generations.csv")
    posterior = pd.read_csv(folder / "posterior.csv")
    header = [line[2:] for line in (folder / "calibrated.toml").read_text().splitlines() if line.startswith("# ")]
    img = docs.parent / "img" / "calibration"
    img.mkdir(parents=True, exist_ok=True)
    for name in ("marginals", "pairs"):
        write_atomic(img / f"{name}.png", (folder / "plots" / f"{name}.png").read_bytes())
    fit = next((line.split('"')[1] for line in (folder / "calibrated.toml").read_text().splitlines()
                if line.startswith("calibrated_on")), "")
    ww = summary.set_index("parameter").loc["behaviour.w_wait"] if "behaviour.w_wait" in set(summary.parameter) else None
    lines = ["# Calibration: a posterior sample of the behaviour", "",
             "Produced by `bordersim calibrate` (do not edit by hand). Method: approximate Bayesian computation by "
             "sequential Monte Carlo (ABC-SMC, pyabc; the runs go through bordersim's replication engine, so the "
             "sample is the same whatever the number of workers). Each particle is one run of "
             f"`scenarios/history.toml` with its own seed, fitted on **{fit}** only: nothing after 2023-03 (the "
             "Additional Protocol and after) was used.", ""]
    lines += [f"- {h}" for h in header]
    lines += ["", "The discrepancy adds the errors of five observed patterns (each about 0 for a perfect fit; "
              "`simulation/experiments/calibration.py`): monthly RCMP interceptions in Quebec (relative errors, the "
              "validation's measure, weighted double); monthly IRCC claims "
              "in Quebec at border and inland offices (which cover the months RCMP did not publish, the COVID months "
              "among them); yearly irregular and land-port claims; the nationality mix of irregular claimants; and "
              "interceptions in Canada from April to December 2020.", "",
              "## Generations", "",
              "Each generation keeps the runs whose discrepancy is under the threshold; the effective number of "
              "particles (Kish) says how many equally weighted particles the importance weights are worth: a low "
              "number means the posterior sample is coarse (its intervals rest on few distinct parameter sets).", "",
              "| generation | threshold | runs | particles | acceptance | effective particles |", "|---|---|---|---|---|---|"]
    lines += [f"| {int(r.generation)} | {r.threshold:.3f} | {int(r.runs)} | {int(r.particles)} | {r.acceptance:.0%} | "
              f"{r.get('effective_particles', float('nan')):.0f} |" for _, r in gens.iterrows()]
    lines += ["", "## The posterior, parameter by parameter", "",
              f"{len(posterior)} weighted particles. The last columns compare the width of the 90% posterior interval "
              f"with the prior's: at most {PINNED} the data pin the parameter down, up to {INFORMED} they narrow it, "
              "above that the posterior is about the prior (the data cannot identify it).", ""]
    lines += summary_table(summary)
    lines += ["", "![Posterior marginals](img/calibration/marginals.png)", "",
              "Pairs show which parameters trade off against each other (a ridge: the data fix a combination, not each "
              "one):", "", "![Posterior pairs](img/calibration/pairs.png)", ""]
    if ww is not None:
        lines += ["## Do long US waits push people north? (`behaviour.w_wait`)", "",
                  f"Posterior median {ww.p50:.3g}, 90% interval [{ww.p05:.3g}, {ww.p95:.3g}] on a prior of "
                  f"{ww.prior_low:g} .. {ww.prior_high:g}: the interval is {ww.interval_vs_prior:.0%} of the prior's "
                  f"({verdict(ww.interval_vs_prior)}). The data vary in the US wait over time (the modelled US backlog "
                  "grows from 2021) but the surge of 2022 is also explained by awareness and the reopening, so the two "
                  "trade off. Every comparison run with `--posterior` carries this uncertainty, and "
                  "`bordersim sensitivity` treats `behaviour.w_wait` as an uncertain parameter.", ""]
    lines += ["## Posterior-predictive checks", "",
              "`bordersim backtest --posterior` runs the history with one parameter set per replication and checks "
              "each observed pattern (monthly interceptions, claims by office type and province, IRB pending, reception "
              "intake) against the simulated bands: see [validation.md](validation.md#posterior-predictive-checks-in-sample).", ""]
    write_atomic(docs, "\n".join(lines).encode())
