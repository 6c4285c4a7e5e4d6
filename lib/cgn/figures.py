"""Figures of the CGN notebooks: images of the data and of the mechanisms, counterfactual grids, the mask
collapse study, Table 3 and the ablation, Grad-CAM maps and t-SNE of classifier features. Colours come from
the report's palette (``lib.report.style``, applied by ``lib.report.start``)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from lib.report.style import colours

from .explain import binarise_cam, tsne
from .model import compose


def _as_rgb(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, H, W, 3) numpy; one channel is shown in grey."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.permute(0, 2, 3, 1).numpy()


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def image_rows(rows: dict[str, torch.Tensor], column_labels=None, title: str = "", tile: float = 0.8):
    """One row of images per entry of ``rows`` (name -> (N, C, H, W) in [0, 1]), the name on the left."""
    names = list(rows)
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(names), n, figsize=(tile * n + 1.2, tile * len(names) + 0.5), squeeze=False)
    for r, name in enumerate(names):
        for c, image in enumerate(_as_rgb(rows[name])):
            ax = axes[r, c]
            ax.imshow(image, interpolation="nearest")
            _bare(ax)
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
            if r == 0 and column_labels is not None:
                ax.set_title(str(column_labels[c]), fontsize=8)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95), pad=0.3)
    return fig


def class_examples(sets: dict[str, tuple[torch.Tensor, torch.Tensor]], title: str = ""):
    """One row per data set (name -> (images, labels)), the first image of each class in it (blank where
    the set has none)."""
    fig, axes = plt.subplots(len(sets), 10, figsize=(7.5, 0.8 * len(sets) + 0.4), squeeze=False)
    for row, (name, (x, y)) in enumerate(sets.items()):
        for k in range(10):
            ax = axes[row, k]
            found = torch.nonzero(y == k)
            if len(found):
                ax.imshow(_as_rgb(x[found[0, 0]][None])[0])
            _bare(ax)
            if k == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if row == 0:
                ax.set_title(str(k), fontsize=8)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout()
    return fig


def mechanism_samples(cgns: dict, parts=("mask", "foreground", "background", "composite"), title: str = ""):
    """Per CGN (name -> model) one row per entry of ``parts``: for each digit class (columns) one sample, all
    three mechanisms given that label (noise seeded with 0)."""
    rows = {}
    for name, cgn in cgns.items():
        device = cgn.label_embedding.weight.device
        y = torch.arange(10, device=device)
        out = cgn.sample(y, y, y, generator=torch.Generator(device=device).manual_seed(0))
        rows.update({f"{name}: {part}": out[part] for part in parts})
    return image_rows(rows, column_labels=list(range(10)), title=title)


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


def intact_histogram(collapse: pd.DataFrame, reference: dict[str, float] | None = None):
    """Share of runs by number of intact digit masks (0-10), one bar group per configuration of a collapse
    study (``experiments.collapse_study``; seed 004 Fig. 7), with seed 004's shares of runs with all ten."""
    fig, ax = plt.subplots(figsize=(7, 3))
    groups = collapse.groupby("configuration", sort=False)["intact masks"]
    width = 0.8 / groups.ngroups
    for i, (name, values) in enumerate(groups):
        share = np.bincount(values.to_numpy(dtype=int), minlength=11) / max(1, len(values))
        ax.bar(np.arange(11) + (i - (groups.ngroups - 1) / 2) * width, share, width, label=name)
    if reference:
        text = "; ".join(f"{k}: {v:.0%} of runs with all 10 intact" for k, v in reference.items())
        ax.set_title(f"seed 004: {text}", fontsize=9)
    ax.set(xlabel="digit masks intact (of 10)", ylabel="share of runs", xticks=range(11))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_bars(results: pd.DataFrame, published: dict, column: str = "test", ylabel: str = "test accuracy [%]"):
    """Grouped bars: one group per variant, one bar per training set (mean over seeds, sd error bars, seeds
    as dots) and the published test accuracies as marks; ``published[source][variant][data]`` is a (train,
    test) pair in percent."""
    variants = list(dict.fromkeys(results["variant"]))
    settings = list(dict.fromkeys(results["data"]))
    palette = colours(len(settings))
    width = 0.8 / len(settings)
    markers = dict(zip(published, ("_", "x", "+")))
    fig, ax = plt.subplots(figsize=(2.2 + 2.2 * len(variants), 3.6))
    for j, setting in enumerate(settings):
        xs = np.arange(len(variants)) + (j - (len(settings) - 1) / 2) * width
        values = [100 * results[(results.variant == v) & (results.data == setting)][column].to_numpy() for v in variants]
        sd = [v.std(ddof=1) if len(v) > 1 else 0 for v in values]
        ax.bar(xs, [v.mean() for v in values], width, yerr=sd, capsize=3, color=palette[j], label=setting, alpha=0.85)
        for x, v in zip(xs, values):
            ax.scatter(np.full(len(v), x), v, color="black", s=8, zorder=3)
        for source, numbers in published.items():
            ref = [numbers.get(v, {}).get(setting, (np.nan, np.nan))[1] for v in variants]
            ax.scatter(xs, ref, marker=markers[source], s=120, color="crimson", zorder=4,
                       label=source if j == 0 else None)
    ax.set_xticks(np.arange(len(variants)), [v.replace("_", "-") for v in variants])
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def ablation_curves(results: pd.DataFrame, paper: dict):
    """Test accuracy [%] against the number of counterfactual images (one per mask; log scale), one line per
    variant: mean over seeds with sd error bars, seeds as dots, the paper's points as crosses."""
    results = results[results.no_cfs == 1]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    groups = results.groupby("variant", sort=False)
    for colour, (variant, part) in zip(colours(groups.ngroups), groups):
        stats = (100 * part.groupby("size")["test"].agg(["mean", "std"])).fillna(0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], color=colour, marker="o", capsize=3,
                    label=f"{variant.replace('_', '-')} (ours)")
        ax.scatter(part["size"], 100 * part["test"], color=colour, s=8, alpha=0.6)
        ref = paper.get(variant, {})
        ax.plot(list(ref), list(ref.values()), color=colour, ls="--", marker="x", label="paper")
    ax.set_xscale("log")
    ax.set_xlabel("counterfactual training images")
    ax.set_ylabel("test accuracy [%]")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def gradcam_examples(shown: dict, n: int = 10, title: str = ""):
    """Columns: the first ``n`` test images; rows: the image, its digit mask and the Grad-CAM map of each
    classifier (with the binarised map's outline). ``shown`` is one variant's entry of
    ``experiments.explanations``."""
    images, masks = shown["images"][:n], shown["masks"][:n]
    cams = {f"{name} Grad-CAM": shown[name]["maps"][:n] for name in ("O", "CF")}
    rows = 2 + len(cams)
    fig, axes = plt.subplots(rows, len(images), figsize=(0.9 * len(images) + 1.2, 0.95 * rows + 0.3), squeeze=False)
    for c in range(len(images)):
        axes[0, c].imshow(_as_rgb(images[c:c + 1])[0])
        axes[1, c].imshow(masks[c, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        for r, maps in enumerate(cams.values(), start=2):
            axes[r, c].imshow(maps[c].numpy(), cmap="magma")
            axes[r, c].contour(binarise_cam(maps[c:c + 1])[0].numpy(), levels=[0.5], colors="cyan", linewidths=0.6)
    for r, name in enumerate(["image", "digit mask", *cams]):
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    for ax in axes.flat:
        _bare(ax)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout()
    return fig


def feature_tsne(shown: dict, title: str = ""):
    """t-SNE of the penultimate features, coloured by the digit's shape class. Rows: the classifier (trained on
    original or on CGN data); columns: the inputs (original test images with random cues, or CGN
    counterfactuals). ``shown`` is one variant's entry of ``experiments.explanations``."""
    panels = {}
    for name, trained_on in (("O", "trained on original data"), ("CF", "trained on CGN data")):
        panels[trained_on, "original test images"] = (tsne(shown[name]["test"]), shown["test labels"])
        panels[trained_on, "counterfactual images"] = (tsne(shown[name]["cf"]), shown["cf labels"])
    rows = list(dict.fromkeys(r for r, _ in panels))
    cols = list(dict.fromkeys(c for _, c in panels))
    palette = np.array(colours(10))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.2 * len(cols) + 0.8, 3.0 * len(rows)), squeeze=False)
    for (row, col), (xy, labels) in panels.items():
        ax = axes[rows.index(row), cols.index(col)]
        ax.scatter(xy[:, 0], xy[:, 1], c=palette[np.asarray(labels)], s=4)
        _bare(ax)
        ax.set_title(f"{row}\n{col}", fontsize=8)
    handles = [plt.Line2D([], [], marker="o", ls="", color=palette[k], label=str(k)) for k in range(10)]
    fig.legend(handles=handles, loc="center right", fontsize=7, title="shape", title_fontsize=7)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    return fig
