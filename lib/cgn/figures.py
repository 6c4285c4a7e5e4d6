"""Figures of the CGN notebooks: image grids of the mechanisms, counterfactual grids, mask statistics."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .model import compose


def _as_rgb(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, H, W, 3) numpy; one channel is shown in grey."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.permute(0, 2, 3, 1).numpy()


def image_rows(rows: dict[str, torch.Tensor], column_labels=None, title: str = "", tile: float = 0.8):
    """One row of images per entry of ``rows`` (name -> (N, C, H, W) in [0, 1]), the name on the left."""
    names = list(rows)
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(names), n, figsize=(tile * n + 1.2, tile * len(names) + 0.5), squeeze=False)
    for r, name in enumerate(names):
        for c, image in enumerate(_as_rgb(rows[name])):
            ax = axes[r, c]
            ax.imshow(image, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
            if r == 0 and column_labels is not None:
                ax.set_title(str(column_labels[c]), fontsize=8)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95), pad=0.3)
    return fig


def counterfactual_grid(cgn, shapes, n_columns: int = 10, seed: int = 0, title: str = ""):
    """Rows: one shape class each (same mask along the row); columns: texture class j and background class
    (j + 5) mod 10, so every image of a row is a counterfactual of the row's digit."""
    device = cgn.label_embedding.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    textures = torch.arange(n_columns, device=device) % 10
    rows = {}
    for k in shapes:
        noise = torch.randn(1, cgn.latent_size, generator=gen, device=device).expand(n_columns, -1)
        y = torch.full((n_columns,), k, device=device)
        with torch.no_grad():
            cgn.eval()
            mask = cgn.mask(cgn._input(noise, y))
            out = cgn.sample(y, textures, (textures + 5) % 10, generator=gen)
        rows[f"shape {k}"] = compose(mask, out["foreground"], out["background"])
    labels = [f"t{j % 10}/b{(j + 5) % 10}" for j in range(n_columns)]
    return image_rows(rows, labels, title)


def intact_histogram(counts: dict[str, list[int]], reference: dict[str, float] | None = None):
    """Share of runs by number of intact digit masks (0-10), one bar group per condition (seed 004 Fig. 7)."""
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / len(counts)
    for i, (name, values) in enumerate(counts.items()):
        share = np.bincount(np.asarray(values, dtype=int), minlength=11) / max(1, len(values))
        ax.bar(np.arange(11) + (i - (len(counts) - 1) / 2) * width, share, width, label=name)
    if reference:
        text = "; ".join(f"{k}: {v:.0%} of runs with all 10 intact" for k, v in reference.items())
        ax.set_title(f"seed 004: {text}", fontsize=9)
    ax.set(xlabel="digit masks intact (of 10)", ylabel="share of runs", xticks=range(11))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
