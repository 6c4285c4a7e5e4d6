"""Figures of the Label-Free XAI notebooks: claim 1's and 2's curves against the share of features or
examples, claim 3's PCC against β and unit saliency maps, claim 4's PCC matrices. The style is the report's
(``lib.report.start`` applies it); categorical colours come from ``lib.report.style.colours``."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from lib.report.style import colours

from .claims import KIND_NAMES


def metric_curves(frame, y: str, ylabel: str, title: str, methods=None, x: str = "fraction", by: str = "data"):
    """One panel per value of ``by`` (a data set): mean of ``y`` against the fraction (in %), one line per
    method (``methods``, default all), band = ±1 sd over the rows (test batches × seeds for latent shifts,
    seeds for similarity rates). Panel titles are "<panel>: ``title``"."""
    if methods is not None:
        frame = frame[frame["method"].isin(methods)]
    frame = frame.assign(percent=100 * frame[x])
    names = list(frame[by].unique())
    hue_order = list(frame["method"].unique())
    cols = min(len(names), 3)
    fig, axes = plt.subplots(-(-len(names) // cols), cols, figsize=(5.5 * cols, 3.6 * -(-len(names) // cols)),
                             squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        sns.lineplot(data=frame[frame[by] == name], x="percent", y=y, hue="method", style="method",
                     hue_order=hue_order, style_order=hue_order, markers=True, dashes=False, errorbar="sd",
                     palette=colours(len(hue_order)), ax=ax)
        ax.set(xlabel="% of features masked" if y == "shift" else "% of training examples selected",
               ylabel=ylabel, title=f"{name}: {title}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pcc_vs_beta(table, by: str = "data", title: str = "", reference=None, ref_label: str = "",
                panel: str = "{}"):
    """One panel per value of ``by``: mean ± sd over seeds of the unit-saliency PCC against β, one line per
    kind. ``panel`` formats the panel titles; ``reference`` maps a panel's value to a (low, high) band
    drawn in grey (a reproduction's range)."""
    groups = list(table.groupby(by, sort=False))
    kinds = list(table["kind"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, (value, part) in zip(axes[0], groups):
        for i, kind in enumerate(kinds):
            stats = part[part["kind"] == kind].groupby("beta")["pcc"].agg(["mean", "std"]).fillna(0.0)
            ax.errorbar(stats.index + 0.12 * (i - 0.5), stats["mean"], yerr=stats["std"], marker="o",
                        capsize=3, color=colours(len(kinds))[i], label=KIND_NAMES.get(kind, kind))
        if reference and value in reference:
            ax.axhspan(*reference[value], color="grey", alpha=0.2, label=ref_label)
        ax.set(title=panel.format(value), xlabel="β", ylabel="mean off-diagonal PCC",
               xticks=sorted(table["beta"].unique()))
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def unit_saliency_grid(images, saliency, title: str = "", column: str = "unit {}"):
    """Rows: examples; columns: the image, then each map of ``saliency`` (N, d, H, W) (own colour scale per
    row). ``column`` formats the map columns' titles from 1, 2, ... (or pass a list of titles)."""
    n, d = saliency.shape[:2]
    titles = column if isinstance(column, (list, tuple)) else [column.format(j + 1) for j in range(d)]
    fig, axes = plt.subplots(n, d + 1, figsize=(1.3 * (d + 1), 1.3 * n), squeeze=False)
    for r in range(n):
        axes[r, 0].imshow(np.asarray(images[r]).squeeze(), cmap="gray")
        top = saliency[r].max() or 1.0
        for j in range(d):
            axes[r, j + 1].imshow(saliency[r, j], cmap="magma", vmin=0, vmax=top)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for j in range(d):
        axes[0, j + 1].set_title(titles[j], fontsize=8)
    axes[0, 0].set_title("image", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def unit_saliency_examples(table, data: dict, kind: str, seed: int, n: int = 4) -> list:
    """Claim 3: for each data set, ``unit_saliency_grid`` of the first ``n`` test images of the ``kind`` VAEs
    without prior at the smallest and the largest β (maps from ``beta_sweep``'s ``.attrs["examples"]``)."""
    betas = sorted(table["beta"].unique())
    figs = []
    for name, (_, test) in data.items():
        for beta in (betas[0], betas[-1]):
            maps = table.attrs["examples"][name, 0.0, kind, beta, seed][:n]
            figs.append(unit_saliency_grid(test[:n].float().cpu().numpy(), maps,
                                           f"{name}, {KIND_NAMES[kind]}, β = {beta}, seed {seed}"))
    return figs


def pcc_matrices(pccs, tasks):
    """Lower-triangular heatmaps of the PCC between tasks, one per variant of the tidy table (seed, variant,
    pair, pcc), annotated mean ± sd over seeds."""
    variants = list(pccs["variant"].unique())
    fig, axes = plt.subplots(1, len(variants), figsize=(4.2 * len(variants), 3.6), squeeze=False)
    mask = np.triu(np.ones((len(tasks), len(tasks)), dtype=bool))
    for ax, variant in zip(axes[0], variants):
        mean, sd = np.eye(len(tasks)), np.zeros((len(tasks), len(tasks)))
        for pair, values in pccs[pccs["variant"] == variant].groupby("pair", sort=False)["pcc"]:
            a, b = (tasks.index(t) for t in pair.split("-"))
            mean[b, a], sd[b, a] = np.mean(values), np.std(values)
        text = np.vectorize(lambda m, s: f"{m:.2f}\n±{s:.2f}")(mean, sd)
        sns.heatmap(mean, mask=mask, annot=text, fmt="", vmin=0, vmax=1, cmap="viridis", ax=ax,
                    xticklabels=tasks, yticklabels=tasks, cbar=False, annot_kws={"fontsize": 8})
        ax.set_title(variant)
    fig.tight_layout()
    return fig


def top_example_grid(test_x, sub_x, tops: dict, seed: int, tasks, n: int = 6):
    """Seed 003's Fig. 18: rows are test images; columns the image, then its top DKNN example for each
    pretext task (``tops`` from ``experiments.top_examples``, run ``seed``)."""
    fig, axes = plt.subplots(n, len(tasks) + 1, figsize=(1.3 * (len(tasks) + 1), 1.3 * n), squeeze=False)
    for r in range(n):
        axes[r, 0].imshow(test_x[r].squeeze().cpu().numpy(), cmap="gray")
        for j, task in enumerate(tasks):
            axes[r, j + 1].imshow(sub_x[tops[seed, task][r]].squeeze().cpu().numpy(), cmap="gray")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for j, title in enumerate(["test image"] + [f"top, {task}" for task in tasks]):
        axes[0, j].set_title(title, fontsize=8)
    fig.suptitle(f"Top DKNN example per pretext task, run {seed}", fontsize=9)
    fig.tight_layout()
    return fig
