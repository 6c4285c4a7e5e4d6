"""Out-of-distribution robustness on the MNIST variants (the paper's Table 3 and its ablation): build the
training sets (original, GAN, CGN, original + CGN), train an invariant classifier on each and measure its
accuracy on its own training set and on the test set whose colour or texture is random.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from lib.core.data import counterfactual_mnist
from lib.core.train import accuracy
from lib.core.device import pick_device
from .classifier import evaluate, train_invariant_classifier
from .gan import gan_dataset, train_gan
from .model import counterfactual_dataset
from .training import train_cgn

DATA_SETTINGS = ("original", "GAN", "CGN", "original + CGN")


def real_split(variant: str, split: str, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images (all if None) of a variant's split."""
    images, labels = counterfactual_mnist(variant, split)
    return images[:n], labels[:n]


def counterfactual_set(variant: str, seed: int, *, n_images: int, cgn_steps: int, cgn_ngf: int, device="auto",
                       progress: bool = True):
    """The variant's CGN for ``seed`` (from the cache when any notebook trained it with these settings) and
    ``n_images`` of its counterfactuals (one per mask, drawn with the seed), on the CPU."""
    cgn = train_cgn(variant, steps=cgn_steps, seed=seed, device=device, ngf=cgn_ngf, progress=progress)
    return cgn, tuple(t.cpu() for t in counterfactual_dataset(cgn, n_images, seed=seed))


def training_sets(variant: str, seed: int, *, n_original: int, n_generated: int, cgn_steps: int, cgn_ngf: int,
                  gan_steps: int, device="auto", progress: bool = True) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The four training sets of Table 3 for one seed (GAN and CGN trained with that seed), on the CPU:
    the classifier moves them to its device."""
    dev = pick_device(device)
    original = real_split(variant, "train", n_original)
    generator, _ = train_gan(variant, steps=gan_steps, seed=seed, device=dev, progress=progress)
    gan = tuple(t.cpu() for t in gan_dataset(generator, n_generated, seed=seed))
    _, counterfactual = counterfactual_set(variant, seed, n_images=n_generated, cgn_steps=cgn_steps, cgn_ngf=cgn_ngf,
                                           device=dev, progress=progress)
    both = tuple(torch.cat(pair) for pair in zip(original, counterfactual))
    return {"original": original, "GAN": gan, "CGN": counterfactual, "original + CGN": both}


def robustness_row(sets: dict, test: tuple, real_train: tuple, *, epochs: int, seed: int, device="auto",
                   progress: bool = True) -> list[dict]:
    """Per training set: accuracy on its own training data, on the real (biased) training split and on
    the test split with random cues (fractions)."""
    rows = []
    for name, (x, y) in sets.items():
        model, meta = train_invariant_classifier(x, y, epochs=epochs, seed=seed, device=device, progress=progress)
        scores = evaluate(model, (x, y), test)
        dev = next(model.parameters()).device
        rows.append({"data": name, "seed": seed, "train": scores["train"], "test": scores["test"],
                     "real train": accuracy(model, real_train[0].to(dev), real_train[1].to(dev)),
                     "images": len(x), "classifier seconds": meta["seconds"], "cached": meta["cache_hit"]})
    return rows


def example_grid(sets: dict, title: str = ""):
    """One row per training set, the first image of each class in it."""
    fig, axes = plt.subplots(len(sets), 10, figsize=(7.5, 0.8 * len(sets) + 0.4), squeeze=False)
    for row, (name, (x, y)) in enumerate(sets.items()):
        for k in range(10):
            ax = axes[row, k]
            found = torch.nonzero(y == k)
            if len(found):
                ax.imshow(x[found[0, 0]].permute(1, 2, 0).clamp(0, 1).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if row == 0:
                ax.set_title(str(k), fontsize=8)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout()
    return fig


def summary(results: pd.DataFrame, columns=("train", "test")) -> pd.DataFrame:
    """Mean ± sd (over seeds) in percent per variant and data setting."""
    grouped = results.groupby(["variant", "data"], sort=False)[list(columns)]
    mean, sd = grouped.mean() * 100, grouped.std(ddof=1).fillna(0) * 100
    return mean.round(1).astype(str) + " ± " + sd.round(1).astype(str)


def accuracy_bars(results: pd.DataFrame, reference: dict, column: str = "test", ylabel: str = "test accuracy [%]"):
    """Grouped bars: one group per variant, one bar per data setting (mean over seeds, sd error bars,
    seeds as dots) and the reference numbers as marks; ``reference[source][variant][data]`` in percent."""
    variants = list(dict.fromkeys(results["variant"]))
    settings = list(dict.fromkeys(results["data"]))
    colours = sns.color_palette("colorblind", len(settings))
    width = 0.8 / len(settings)
    markers = dict(zip(reference, ("_", "x", "+")))
    fig, ax = plt.subplots(figsize=(2.2 + 2.2 * len(variants), 3.6))
    for j, setting in enumerate(settings):
        xs = np.arange(len(variants)) + (j - (len(settings) - 1) / 2) * width
        values = [100 * results[(results.variant == v) & (results.data == setting)][column].to_numpy() for v in variants]
        sd = [v.std(ddof=1) if len(v) > 1 else 0 for v in values]
        ax.bar(xs, [v.mean() for v in values], width, yerr=sd, capsize=3, color=colours[j], label=setting, alpha=0.85)
        for x, v in zip(xs, values):
            ax.scatter(np.full(len(v), x), v, color="black", s=8, zorder=3)
        for source, numbers in reference.items():
            ref = [numbers.get(v, {}).get(setting, np.nan) for v in variants]
            ax.scatter(xs, ref, marker=markers[source], s=120, color="crimson", zorder=4,
                       label=source if j == 0 else None)
    ax.set_xticks(np.arange(len(variants)), [v.replace("_", "-") for v in variants])
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def ablation_rows(cgn, test: tuple, *, sizes, ratios, epochs: int, seed: int, device="auto",
                  progress: bool = True) -> list[dict]:
    """Test accuracy of classifiers trained on ``size`` counterfactual images for each size (with one
    counterfactual per mask) and for each ``no_cfs`` ratio at the largest size. The sets of one ratio are
    nested: each is a prefix of the largest, drawn once with the seed."""
    rows = []
    largest = max(sizes)
    for ratio in ratios:
        images, labels = (t.cpu() for t in counterfactual_dataset(cgn, largest, no_cfs=ratio, seed=seed))
        for size in (sizes if ratio == 1 else [largest]):
            x, y = images[:size], labels[:size]
            model, meta = train_invariant_classifier(x, y, epochs=epochs, seed=seed, device=device, progress=progress)
            scores = evaluate(model, (x, y), test)
            rows.append({"size": size, "no_cfs": ratio, "seed": seed, **scores, "classifier seconds": meta["seconds"]})
    return rows


def ablation_curves(results: pd.DataFrame, paper: dict):
    """Test accuracy [%] against the number of counterfactual images (log scale), one line per variant:
    mean over seeds with sd error bars, seeds as dots, the paper's points as crosses."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    colours = sns.color_palette("colorblind", 3)
    for colour, (variant, part) in zip(colours, results.groupby("variant", sort=False)):
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
