"""The experiments of the CGN notebooks: loops over variants, loss configurations and seeds that train (or
load from the model cache) the generators and classifiers and return tidy tables, one row per
variant × configuration × seed (× training set …), one column per quantity.

Data go to the ``device`` given (the notebook's); the trainers take the device from their tensors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from lib.core.train import Fit, accuracy

from .classifier import evaluate, fit_invariant_classifier
from .explain import binarise_cam, gradcam, iou, knn_accuracy, penultimate_features
from .gan import fit_gan, gan_dataset
from .losses import binary_entropy
from .model import counterfactual_dataset
from .quality import class_masks, cue_centroids, cue_control, fit_shape_classifier, mask_intact, shape_accuracy
from .training import fit_cgn
from .variants import binarised_digits, counterfactual_mnist

ALL_LOSSES = "all losses"
LOSS_COLUMNS = ("adversarial", "discriminator", "mask_entropy", "style", "edge")
EDGE_CONFIGURATIONS = {"with edge loss": {"edge": 1.0}, "without edge loss": {"edge": 0.0}}


def variant_split(variant: str, split: str, device, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images (all if None) of a variant's split and their labels, on ``device``."""
    images, labels = counterfactual_mnist(variant, split)
    return images[:n].to(device), labels[:n].to(device)


def per_seed(results: pd.DataFrame, column: str, scale: float = 1.0, **where) -> list[float]:
    """``scale`` × ``column`` of the rows whose columns equal ``where``, one value per seed in seed order."""
    picked = results
    for key, value in where.items():
        picked = picked[picked[key] == value]
    return (scale * picked.sort_values("seed")[column]).tolist()


def trained_cgn(variant: str, seed: int, device, *, steps: int, ngf: int, losses: dict | None = None,
                progress: bool = True) -> Fit:
    """The variant's CGN for ``seed``, trained on its biased training split on ``device``; from the cache when
    any notebook trained it with these settings."""
    images, labels = variant_split(variant, "train", device)
    return fit_cgn(variant, images, labels, steps=steps, seed=seed, ngf=ngf, losses=losses, progress=progress)


def _trained_from(seed: int, generator_seed: int | None) -> int:
    """The seed a run's generators are trained from: its own, or the ``generator_seed`` every run shares."""
    return seed if generator_seed is None else generator_seed


def cgn_runs(variants, seeds, device, *, steps: int, ngf: int, configurations: dict | None = None,
             generator_seed: int | None = None, progress: bool = True) -> dict[tuple[str, str, int], Fit]:
    """One CGN per variant, loss configuration (name → loss weight overrides; default: all losses) and
    seed, keyed ``(variant, configuration, seed)``.

    With ``generator_seed`` every seed's entry is the CGN trained from that one seed (a paper-length CGN costs
    hours on a CPU); the seed then draws only what is sampled from it. The same holds in ``robustness``,
    ``ablation`` and ``explanations``."""
    configurations = configurations or {ALL_LOSSES: {}}
    return {(variant, name, seed): trained_cgn(variant, _trained_from(seed, generator_seed), device, steps=steps,
                                               ngf=ngf, losses=losses, progress=progress)
            for variant in variants for name, losses in configurations.items() for seed in seeds}


def _keys(key: tuple[str, str, int]) -> dict:
    return dict(zip(("variant", "configuration", "seed"), key))


def training_summary(runs: dict) -> pd.DataFrame:
    """Per CGN run: whether it came from the cache, wall seconds per step and each loss term's mean over the
    last tenth of the steps (NaN-aware: the style term is NaN while switched off)."""
    rows = []
    for key, fit in runs.items():
        history = fit.history
        tail = max(1, history["steps"] // 10)
        rows.append({**_keys(key), "cached": fit.cached, "seconds per step": history["seconds"] / history["steps"],
                     **{loss: np.nanmean(history[loss][-tail:]) for loss in LOSS_COLUMNS}})
    return pd.DataFrame(rows)


def shape_classifier(device, *, epochs: int, seed: int = 0, progress: bool = True) -> tuple[torch.nn.Module, float]:
    """The shape classifier trained on real binarised training digits (cached) and its accuracy on the
    binarised test digits."""
    digits, labels = (t.to(device) for t in binarised_digits("train"))
    model = fit_shape_classifier(digits, labels, epochs=epochs, seed=seed, progress=progress).model
    test_digits, test_labels = (t.to(device) for t in binarised_digits("test"))
    return model, shape_accuracy(model, test_digits, test_labels)


def mask_quality(runs: dict, classifier, n_per_class: int) -> pd.DataFrame:
    """Per CGN run, over ``n_per_class`` masks per digit sampled with the run's seed: intact digit masks
    (``quality.mask_intact``) and which, the shape classifier's accuracy on them, mean mask value μ_mask,
    mask entropy and mean value in the border band."""
    rows = []
    for key, fit in runs.items():
        masks = class_masks(fit.model, n_per_class, key[2])
        stats = mask_intact(masks, classifier)
        rows.append({**_keys(key), "intact masks": int(stats["intact"].sum()),
                     "intact digits": " ".join(str(k) for k in range(10) if stats["intact"][k]) or "none",
                     "shape accuracy on masks": stats["accuracy"].mean().item(), "μ_mask": stats["area"].mean().item(),
                     "mask entropy [bits]": binary_entropy(masks).item(), "border value": stats["border"].mean().item()})
    return pd.DataFrame(rows)


def cue_accuracies(runs: dict, n: int) -> pd.DataFrame:
    """Per CGN run: texture and background cue accuracies of ``n`` samples (``quality.cue_control``), against
    the cue centroids of the run's variant."""
    centroids = {variant: cue_centroids(variant) for variant in dict.fromkeys(key[0] for key in runs)}
    return pd.DataFrame([{**_keys(key), **cue_control(fit.model, centroids[key[0]], n, key[2])}
                         for key, fit in runs.items()])


def downstream_accuracy(runs: dict, n_images: int, *, epochs: int, progress: bool = True) -> pd.DataFrame:
    """Per CGN run: train and test accuracy of an invariant classifier trained on ``n_images`` of the run's
    counterfactuals (labelled by shape), tested on the variant's randomised test split."""
    tests = {variant: counterfactual_mnist(variant, "test") for variant in dict.fromkeys(key[0] for key in runs)}
    rows = []
    for key, fit in runs.items():
        x, y = counterfactual_dataset(fit.model, n_images, seed=key[2])
        model = fit_invariant_classifier(x, y, epochs=epochs, seed=key[2], progress=progress).model
        scores = evaluate(model, (x, y), tests[key[0]])
        rows.append({**_keys(key), "classifier train accuracy": scores["train"],
                     "classifier test accuracy": scores["test"]})
    return pd.DataFrame(rows)


def collapse_study(variant: str, seeds, device, classifier, *, steps: int, ngf: int, n_per_class: int,
                   progress: bool = True) -> pd.DataFrame:
    """Seed 004's mask-collapse experiment: the variant's CGN trained from each seed with and without the
    edge loss, and its mask quality (``mask_quality``)."""
    runs = cgn_runs([variant], seeds, device, steps=steps, ngf=ngf, configurations=EDGE_CONFIGURATIONS,
                    progress=progress)
    return mask_quality(runs, classifier, n_per_class)


def edge_loss_runs(collapse: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Seed 004's collapse measure on a collapse study, per seed: 1 where the run with the edge loss keeps all
    ten digit masks intact (else 0), and that minus the same for the run without it."""
    whole = {name: (part.sort_values("seed")["intact masks"].to_numpy() == 10).astype(float)
             for name, part in collapse.groupby("configuration", sort=False)}
    with_edge, without = (whole[name] for name in EDGE_CONFIGURATIONS)
    return with_edge.tolist(), (with_edge - without).tolist()


def loss_changes(results: pd.DataFrame, configuration: str, reference: str = ALL_LOSSES) -> dict[str, list[float]]:
    """What switching losses off (``configuration``) changes, per seed, relative to ``reference``: the drop
    in invariant-classifier test accuracy, the number of digit masks broken in addition and the drop in the
    shape classifier's accuracy on the masks (positive: worse without)."""
    def drop(column: str) -> list[float]:
        return np.subtract(per_seed(results, column, configuration=reference),
                           per_seed(results, column, configuration=configuration)).tolist()

    return {"test accuracy": drop("classifier test accuracy"), "broken masks": drop("intact masks"),
            "shape accuracy": drop("shape accuracy on masks")}


def _class_examples(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first image of each class present, on the CPU (what the training-set figure shows)."""
    first = torch.stack([torch.nonzero(y == k)[0, 0] for k in range(10) if (y == k).any()])
    return x[first].cpu(), y[first].cpu()


def training_sets(variant: str, seed: int, device, *, n_original: int, n_generated: int, cgn_steps: int,
                  cgn_ngf: int, gan_steps: int, generator_seed: int | None = None,
                  progress: bool = True) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The five training sets of Table 3 for one seed, on ``device`` (the paper's three and seed 004's original +
    GAN and original + CGN): GAN and CGN trained with that seed (or with ``generator_seed``), their images drawn
    with it."""
    original = variant_split(variant, "train", device, n_original)
    images, labels = variant_split(variant, "train", device)
    trained_with = _trained_from(seed, generator_seed)
    generator = fit_gan(images, labels, steps=gan_steps, seed=trained_with, progress=progress).model
    gan = gan_dataset(generator, n_generated, seed=seed)
    cgn = fit_cgn(variant, images, labels, steps=cgn_steps, seed=trained_with, ngf=cgn_ngf, progress=progress).model
    counterfactual = counterfactual_dataset(cgn, n_generated, seed=seed)
    joined = lambda extra: tuple(torch.cat(pair) for pair in zip(original, extra))  # noqa: E731
    return {"original": original, "GAN": gan, "CGN": counterfactual, "original + GAN": joined(gan),
            "original + CGN": joined(counterfactual)}


def robustness(variants, seeds, device, *, n_original: int, n_generated: int, cgn_steps: int, cgn_ngf: int,
               gan_steps: int, epochs: int, n_test: int, generator_seed: int | None = None,
               progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Table 3: per variant, seed and training set, an invariant classifier's accuracy on its own training
    data ("train"), on the real biased training images ("real train") and on the test split with random
    cues ("test"), fractions. Also returns, per variant, the first image of each class of each training set
    (first seed)."""
    rows, examples = [], {}
    for variant in variants:
        test = variant_split(variant, "test", device, n_test)
        real_train = variant_split(variant, "train", device, n_test)
        for seed in seeds:
            sets = training_sets(variant, seed, device, n_original=n_original, n_generated=n_generated,
                                 cgn_steps=cgn_steps, cgn_ngf=cgn_ngf, gan_steps=gan_steps,
                                 generator_seed=generator_seed, progress=progress)
            if variant not in examples:
                examples[variant] = {name: _class_examples(*data) for name, data in sets.items()}
            for name, (x, y) in sets.items():
                fit = fit_invariant_classifier(x, y, epochs=epochs, seed=seed, progress=progress)
                scores = evaluate(fit.model, (x, y), test)
                rows.append({"variant": variant, "data": name, "seed": seed, "train": scores["train"],
                             "test": scores["test"], "real train": accuracy(fit.model, *real_train), "images": len(x),
                             "classifier seconds": fit.history["seconds"], "cached": fit.cached})
    return pd.DataFrame(rows), examples


def table3(results: pd.DataFrame, published: dict) -> pd.DataFrame:
    """Train, test and real-train accuracy in percent, mean ± sd over seeds per variant and training set,
    beside the published (train / test) numbers, ``published[source][variant][data]``."""
    grouped = results.groupby(["variant", "data"], sort=False)[["train", "test", "real train"]]
    mean, sd = grouped.mean() * 100, grouped.std(ddof=1).fillna(0) * 100
    table = mean.round(1).astype(str) + " ± " + sd.round(1).astype(str)
    for source, numbers in published.items():
        table[source] = [" / ".join(f"{v:.1f}" for v in numbers.get(variant, {}).get(data, ())) or "–"
                         for variant, data in table.index]
    return table


def ablation(variants, seeds, device, *, cgn_steps: int, cgn_ngf: int, sizes, ratios, epochs: int, n_test: int,
             ratio_size: int | None = None, generator_seed: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Per variant, seed, ``no_cfs`` ratio and size: accuracy of an invariant classifier trained on ``size``
    counterfactual images of the variant's CGN, every size at ratio 1 and ``ratio_size`` (default: the largest)
    at every ratio. The sets of one ratio are nested: each is a prefix of the largest, drawn once with the seed."""
    rows, largest = [], max(sizes)
    ratio_size = largest if ratio_size is None else ratio_size
    for variant in variants:
        test = variant_split(variant, "test", device, n_test)
        for seed in seeds:
            cgn = trained_cgn(variant, _trained_from(seed, generator_seed), device, steps=cgn_steps, ngf=cgn_ngf,
                              progress=progress).model
            for ratio in ratios:
                images, labels = counterfactual_dataset(cgn, largest if ratio == 1 else ratio_size, no_cfs=ratio,
                                                        seed=seed)
                for size in (sizes if ratio == 1 else [ratio_size]):
                    x, y = images[:size], labels[:size]
                    fit = fit_invariant_classifier(x, y, epochs=epochs, seed=seed, progress=progress)
                    rows.append({"variant": variant, "size": size, "no_cfs": ratio, "seed": seed,
                                 **evaluate(fit.model, (x, y), test), "classifier seconds": fit.history["seconds"]})
    return pd.DataFrame(rows)


def ablation_by_size(results: pd.DataFrame, paper: dict) -> pd.DataFrame:
    """Test accuracy [%] by variant and number of counterfactual images (one per mask): mean and sd over
    seeds, beside the paper's ``paper[variant][size]`` where it has that size."""
    by_size = results[results.no_cfs == 1]
    table = (100 * by_size.groupby(["variant", "size"], sort=False)["test"].agg(["mean", "std"])).round(1)
    table["paper"] = [paper[v].get(s, np.nan) for v, s in table.index]
    return table


def explanations(variants, seeds, device, *, cgn_steps: int, cgn_ngf: int, n_original: int, n_generated: int,
                 epochs: int, n_explain: int, generator_seed: int | None = None,
                 progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Per variant, seed and classifier (trained on original data, "O", or on CGN counterfactuals, "CF", as
    in Table 3): test accuracy on the first ``n_explain`` test images, mean IoU of the binarised Grad-CAM
    maps with the digit masks of the same images, and 10-NN purity of the penultimate features by shape (on
    the test images and on ``n_explain`` counterfactuals with independent shape, texture and background
    labels) and by cue (on the counterfactuals). Also returns, per variant (first seed), the images, masks,
    labels, maps and features the figures show."""
    masks, mask_labels = (t[:n_explain] for t in binarised_digits("test"))
    rows, shown = [], {}
    for variant in variants:
        images, labels = (t[:n_explain] for t in counterfactual_mnist(variant, "test"))
        if not torch.equal(labels, mask_labels):
            raise RuntimeError("the digit masks are not those of the variant's test images")
        for seed in seeds:
            cgn = trained_cgn(variant, _trained_from(seed, generator_seed), device, steps=cgn_steps, ngf=cgn_ngf,
                              progress=progress).model
            sets = {"O": variant_split(variant, "train", device, n_original),
                    "CF": counterfactual_dataset(cgn, n_generated, seed=seed)}
            gen = torch.Generator(device=device).manual_seed(5000 + seed)
            cues = [torch.randint(10, (n_explain,), generator=gen, device=device) for _ in range(3)]
            counterfactuals = cgn.sample(*cues, generator=gen)["composite"].cpu()
            shape, texture, background = (c.cpu() for c in cues)
            for name, (x, y) in sets.items():
                model = fit_invariant_classifier(x, y, epochs=epochs, seed=seed, progress=progress).model
                maps = gradcam(model, model.last_conv, images, labels)
                on_test, on_cf = penultimate_features(model, images), penultimate_features(model, counterfactuals)
                rows.append({"variant": variant, "seed": seed, "classifier": name,
                             "test accuracy": accuracy(model, images.to(device), labels.to(device)),
                             "Grad-CAM IoU": iou(binarise_cam(maps), masks[:, 0] > 0.5).mean().item(),
                             "shape purity, test": knn_accuracy(on_test, labels),
                             "shape purity, CF": knn_accuracy(on_cf, shape),
                             "cue purity, CF": max(knn_accuracy(on_cf, texture), knn_accuracy(on_cf, background))})
                if seed == seeds[0]:
                    shown.setdefault(variant, {})[name] = {"maps": maps, "test": on_test, "cf": on_cf}
            if seed == seeds[0]:
                shown[variant].update({"images": images, "masks": masks, "test labels": labels, "cf labels": shape})
    return pd.DataFrame(rows), shown
