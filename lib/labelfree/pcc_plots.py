"""Figures of the claim 3 and claim 4 notebooks: PCC against β, unit saliency maps, PCC matrices."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

KIND_NAMES = {"beta": "β-VAE", "tc": "β-TC-VAE"}


def pcc_vs_beta(tables: dict, title: str = "", reference=None, ref_label: str = ""):
    """One panel per table (e.g. per dataset): mean ± sd over seeds of the unit-saliency PCC against β.

    ``reference`` maps a panel name to a (low, high) band drawn in grey (a reproduction's range).
    """
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.4), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        for i, (kind, part) in enumerate(table.groupby("kind", sort=False)):
            stats = part.groupby("beta")["pcc"].agg(["mean", "std"]).fillna(0.0)
            ax.errorbar(stats.index + 0.12 * (i - 0.5), stats["mean"], yerr=stats["std"], marker="o",
                        capsize=3, label=KIND_NAMES.get(kind, kind))
        if reference and name in reference:
            ax.axhspan(*reference[name], color="grey", alpha=0.2, label=ref_label)
        ax.set(title=name, xlabel="β", ylabel="mean off-diagonal PCC", xticks=sorted(table["beta"].unique()))
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def unit_saliency_grid(images, saliency, title: str = ""):
    """Rows: examples; columns: the image, then each latent unit's saliency map (own colour scale per row)."""
    n, d = saliency.shape[:2]
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
        axes[0, j + 1].set_title(f"unit {j + 1}", fontsize=8)
    axes[0, 0].set_title("image", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def pcc_matrices(panels: dict, labels):
    """Lower-triangular heatmaps, one per panel: {title: (mean matrix, sd matrix)} annotated mean ± sd."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    mask = np.triu(np.ones((len(labels), len(labels)), dtype=bool))
    for ax, (title, (mean, sd)) in zip(axes[0], panels.items()):
        text = np.vectorize(lambda m, s: f"{m:.2f}\n±{s:.2f}")(mean, sd)
        sns.heatmap(mean, mask=mask, annot=text, fmt="", vmin=0, vmax=1, cmap="viridis", ax=ax,
                    xticklabels=labels, yticklabels=labels, cbar=False, annot_kws={"fontsize": 8})
        ax.set_title(title)
    fig.tight_layout()
    return fig
