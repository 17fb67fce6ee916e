"""Plots of a sensitivity analysis: the indices of each parameter for each outcome, with their intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from ..core.columns import OUTCOME_BY_NAME
from ..experiments.discovery import DiscoveryResult
from ..experiments.sensitivity import Parameter, SensitivityResult
from ..files import save_figure
from .plots import plt
from .style import OKABE_ITO, AxisFormat


def plot_sensitivity(result: SensitivityResult) -> list[Path]:
    """One figure per outcome in ``result.out/plots``."""
    written = []
    for outcome in result.outcomes:
        written += plot_indices(result.indices, result.method, outcome, result.params, result.out / "plots" / outcome,
                                result.subtitle)
    return written


def _label(key: str, params: list[Parameter]) -> str:
    p = next((q for q in params if q.key == key), None)
    text = key
    if p is not None and p.kind != "factor":
        text += f"  [{p.low:.4g} .. {p.high:.4g}]"
    return text


def plot_indices(indices: pd.DataFrame, method: str, outcome: str, params: list[Parameter], path: Path, subtitle: str) -> list[Path]:
    """Horizontal bars with 95% confidence intervals, most influential parameter on top; PNG and SVG."""
    m = OUTCOME_BY_NAME[outcome]
    wide = indices[indices["outcome"] == outcome].pivot_table(index="parameter", columns="index", values="value", dropna=False)
    order_key = "mu_star" if method == "morris" else "ST"
    wide = wide.sort_values(order_key, ascending=True, na_position="first")
    y = np.arange(len(wide))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(wide) + 2.2))
    if method == "morris":
        ax.barh(y, wide["mu_star"], xerr=wide["mu_star_conf"].fillna(0), color=OKABE_ITO["vermillion"], capsize=2,
                error_kw={"lw": 0.8}, label="μ*: mean |elementary effect|, bar: 95% CI")
        ax.plot(wide["sigma"], y, "D", mfc="none", mec="0.25", ms=4, label="σ: spread of the effects (interactions, non-linearity)")
        ax.set_xlabel(f"change in {m.unit} over the parameter's range")
        ax.xaxis.set_major_formatter(AxisFormat(money=m.unit == "CAD"))
        ax.set_xlim(left=0)
    else:
        h = 0.38
        ax.barh(y + h / 2, wide["ST"], height=h, xerr=wide["ST_conf"].fillna(0), color=OKABE_ITO["blue"], capsize=2,
                error_kw={"lw": 0.8}, label="ST: total effect, bar: 95% CI")
        ax.barh(y - h / 2, wide["S1"], height=h, xerr=wide["S1_conf"].fillna(0), color=OKABE_ITO["sky_blue"], capsize=2,
                error_kw={"lw": 0.8}, label="S1: first-order effect, bar: 95% CI")
        ax.set_xlabel("share of the outcome's variance")
        ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(y, [_label(k, params) for k in wide.index], fontsize=8)
    if wide[order_key].isna().all() or (method == "morris" and not wide["mu_star"].any()):
        ax.text(0.5, 0.5, "the outcome did not vary across the sample", transform=ax.transAxes, ha="center", color="0.4")
    ax.set_title(f"{m.label}: {'Morris screening' if method == 'morris' else 'Sobol indices'}\n{subtitle}",
                 loc="left", fontsize=10)
    ax.grid(axis="x", color="0.9")
    ax.spines[["top", "right"]].set_visible(False)
    height = fig.get_figheight()
    fig.legend(*ax.get_legend_handles_labels(), frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0.01, 0.0))
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1))
    return save_figure(fig, path)


def plot_discovery_result(result: DiscoveryResult) -> None:
    """The discovery figure in ``result.out/plots`` (nothing when no box was found)."""
    if result.box is not None:
        plot_discovery(result.table, result.trajectory, result.box, result.params, result.limits, result.out / "plots",
                       result.title, result.cut)


def plot_discovery(table, boxes, box, params, limits, out_dir: Path, title: str, cut: float = 0.5) -> None:
    """The peeling trajectory (coverage against density) and the cases on the box's two best-supported restrictions."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    ax = axes[0]
    lows, highs = np.array([p.low for p in params]), np.array([p.high for p in params])
    nres = [int(np.sum((b.low > lows) | (b.high < highs))) for b in boxes]
    sc = ax.scatter([b.coverage for b in boxes], [b.density for b in boxes], c=nres, cmap="viridis", s=18)
    ax.plot([b.coverage for b in boxes], [b.density for b in boxes], color="0.7", lw=0.8, zorder=0)
    ax.scatter([box.coverage], [box.density], s=120, facecolors="none", edgecolors=OKABE_ITO["vermillion"], lw=2, label="box reported")
    fig.colorbar(sc, ax=ax, label="parameters restricted")
    ax.set_xlabel("coverage (share of all cases inside the box)")
    ax.set_ylabel("density (share of the box that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title("PRIM peeling trajectory", loc="left", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    ax = axes[1]
    names = list(limits.parameter[:2]) if len(limits) >= 2 else [params[0].key, params[0].key]
    xi, yi = (next(j for j, p in enumerate(params) if p.key == n) for n in names)
    case = table["case"].to_numpy()
    ax.scatter(table[names[0]][~case], table[names[1]][~case], s=14, color="0.65", label=f"cut by {cut:.0%} or more")
    ax.scatter(table[names[0]][case], table[names[1]][case], s=18, color=OKABE_ITO["vermillion"], label=f"not cut by {cut:.0%} (case)")
    ax.add_patch(Rectangle((box.low[xi], box.low[yi]), box.high[xi] - box.low[xi], box.high[yi] - box.low[yi],
                           fill=False, ec=OKABE_ITO["vermillion"], lw=1.5, ls="--", label="PRIM box"))
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Sample points on the box's two best-supported restrictions", loc="left", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=3)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    save_figure(fig, out_dir / "discovery")
