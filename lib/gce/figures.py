"""Figures shared by the claim notebooks."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

sns.set_theme(style="whitegrid", context="notebook")


def class_colours(n_classes: int):
    return sns.color_palette("colorblind", n_classes)


def sweep_figure(images, decisions, offsets, class_names, title: str = "", tile: float = 0.9,
                 label_every: int = 1):
    """Grid of sweep images (rows x offsets), each framed in the colour of the classifier's decision."""
    images = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    decisions = np.asarray(decisions.detach().cpu() if hasattr(decisions, "detach") else decisions)
    rows, cols = decisions.shape
    colours = class_colours(len(class_names))
    fig, axes = plt.subplots(rows, cols, figsize=(tile * cols, tile * rows + 0.6), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colours[decisions[r, c]])
                spine.set_linewidth(3 * min(1.0, tile / 0.9) + 0.5)
            if r == rows - 1 and c % label_every == 0:
                ax.set_xlabel(f"{offsets[c]:+.1f}", fontsize=8)
    handles = [plt.Line2D([], [], color=colours[i], lw=4, label=name) for i, name in enumerate(class_names)]
    fig.legend(handles=handles, loc="upper right", ncol=len(class_names), fontsize=8, frameon=False)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def loss_curves(histories: dict, smooth: int = 50):
    """Causal term and data term (SSE + KL) per step, one line per seed, moving-average smoothed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for label, h in histories.items():
        data = np.asarray(h["sse"]) + np.asarray(h["kl"])
        for ax, curve in zip(axes, (np.asarray(h["causal"]), data)):
            window = max(1, min(smooth, len(curve) // 5))
            ax.plot(np.convolve(curve, np.ones(window) / window, mode="valid"), label=label, lw=1.2)
    axes[0].set(title="causal term I(α; Ŷ) [nats]", xlabel="step")
    axes[1].set(title="data term D = SSE + KL per sample", xlabel="step", yscale="log")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def factor_bars(values: np.ndarray, names, ylabel: str, reference=None, ref_label: str = "paper"):
    """Bars of a per-latent quantity: mean over seeds with sd error bars, seeds as dots, reference marks.

    ``values`` is (seeds, factors); ``reference`` (optional) one value per factor or None entries.
    """
    values = np.asarray(values, dtype=float)
    x = np.arange(values.shape[1])
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(x), 3.2))
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else None
    ax.bar(x, values.mean(axis=0), yerr=sd, capsize=3, color=sns.color_palette("colorblind")[0], alpha=0.8)
    for row in values:
        ax.scatter(x, row, color="black", s=10, zorder=3)
    if reference is not None:
        ref = np.array([np.nan if r is None else r for r in reference], dtype=float)
        ax.scatter(x, ref, marker="_", s=400, color="crimson", zorder=4, label=ref_label)
        ax.legend(fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig
