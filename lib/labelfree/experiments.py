"""The claim notebooks' experiments: loops over data sets, seeds and variants that train (or load) the
models, explain them and return tidy DataFrames (one row per data set × seed × variant × ..., one column per
quantity)."""
from __future__ import annotations

from itertools import combinations
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from lib.core.train import accuracy

from .claims import AE_RATIO
from .data import AutoencoderData
from .evaluation import inverted, latent_shift, offdiagonal_pcc, pair_values, pcc_matrix, similarity_rate, unit_kl
from .examples import dknn_scores, example_importance
from .features import abs_gradient_shap, feature_importance, label_free_gradient_shap, unit_saliency
from .training import TASKS, fit_autoencoder, fit_disentangled_vae, fit_pretext_encoder, total_variation

# Claims 1 and 2, per data set: the autoencoder and its training batch; claim 1's explained batch and the
# dimension that holds a feature's channels; claim 2's label-free loss, curvature and chunk (examples per
# vectorised gradient call: torch.func has no batching rule for the CPU LSTM kernel and falls back to a
# loop that holds every example's graph, about 85 MB per ECG example).
AUTOENCODERS = {
    "MNIST": {"kind": "mnist", "batch_size": 300, "eval_batch": 200, "channel_dim": 1, "loss": F.mse_loss,
              "curvature": "gauss_newton", "chunk": 250},
    "ECG5000": {"kind": "ecg", "batch_size": 20, "eval_batch": 50, "channel_dim": -1, "loss": F.l1_loss,
                "curvature": "fisher", "chunk": 10},
}

# Curves of the claim-1 check: name -> (method, pairing); "Random" ranks features at random.
CURVE_METHODS = {"Integrated Gradients": ("integrated_gradients", "correct"),
                 "GradientShap": ("gradient_shap", "correct"),
                 "GradientShap (original pairing)": ("gradient_shap", "original"),
                 "Saliency": ("saliency", "correct"),
                 "Random": (None, None)}


def autoencoders(data: dict[str, AutoencoderData], seeds, epochs: dict, checkpoint_every: dict | None = None, *,
                 patience: dict | None = None, progress: bool = True) -> tuple[dict, pd.DataFrame]:
    """One autoencoder per data set and seed (``AUTOENCODERS``), trained or loaded from the cache.

    Returns ({(data set, seed): Fit}, a training summary with one row per data set and seed, with the best
    validation loss over that of the mean training input: at 1 or above the autoencoder learned nothing about
    its inputs). ``epochs``, ``checkpoint_every`` (TracIn checkpoints; default every 10 epochs) and ``patience``
    (early stopping; default the paper's 10 epochs) map data set names to values.
    """
    fits, rows = {}, []
    for name, e in data.items():
        s = AUTOENCODERS[name]
        every = (checkpoint_every or {}).get(name, 10)
        wait = (patience or {}).get(name, 10)
        mean_input = mean_input_loss(e.train, e.val, s["loss"])
        for seed in seeds:
            fit = fit_autoencoder(s["kind"], e.train, e.val, seed, epochs[name], s["batch_size"], patience=wait,
                                  checkpoint_every=every, progress=progress)
            fits[name, seed] = fit
            h = fit.history
            rows.append({"data": name, "seed": seed, "cache": "loaded" if fit.cached else "trained",
                         "epochs run": h["epochs_run"], "best epoch": h["best_epoch"],
                         "best validation loss": round(h["best_val_loss"], 4),
                         AE_RATIO: h["best_val_loss"] / mean_input,
                         "TracIn checkpoints (epochs)": h["checkpoint_epochs"], "training s": round(h["seconds"], 1)})
    return fits, pd.DataFrame(rows)


def mean_input_loss(train_x: torch.Tensor, val_x: torch.Tensor, loss) -> float:
    """The validation loss of a model that outputs the mean training input whatever it is given."""
    return loss(train_x.float().mean(0, keepdim=True).expand_as(val_x), val_x.float()).item()


def describe_autoencoders(data: dict[str, AutoencoderData], epochs: dict, claim: int,
                          checkpoint_every: dict | None = None) -> dict:
    """One line per data set for the run header of claim 1 or 2 (the data notes go to the header's data line)."""
    lines = {}
    for name, e in data.items():
        batch = AUTOENCODERS[name]["batch_size"]
        steps = f"at most {epochs[name]} epochs ({epochs[name] * -(-len(e.train) // batch):,} steps of {batch})"
        text = f"autoencoder train {len(e.train):,} / validation {len(e.val):,}"
        if claim == 1:
            text += (f", explained {len(e.test):,} examples in batches of {AUTOENCODERS[name]['eval_batch']}; "
                     f"{steps}")
        else:
            text += (f"; ranked N = {len(e.ranked):,} training examples for M = {len(e.test):,} test examples; "
                     f"{steps}, a TracIn checkpoint every {checkpoint_every[name]}")
        lines[name] = text
    return lines


def sweep_config(datasets, reference: dict, **sizes) -> dict:
    """Claim 3's settings per data set in ``datasets``: ``sizes`` maps a data set to (training images, test
    images, epochs, batch size); the latent dimension is the paper's (``reference.LABELFREE_CLAIM3``)."""
    return {name: {**dict(zip(("train", "test", "epochs", "batch_size"), size)),
                   "latent_dim": reference["latent_dim"][name]} for name, size in sizes.items() if name in datasets}


def describe_sweep(config: dict, reference: dict) -> dict:
    """One line per data set for the run header of claim 3: our sizes beside the paper's (``reference``:
    ``reference.LABELFREE_CLAIM3``)."""
    return {name: f"{c['train']:,} training and {c['test']:,} test images, {c['epochs']} epochs, batch "
                  f"{c['batch_size']}, latent dimension {c['latent_dim']} (paper: {reference['epochs']} epochs of the "
                  f"full training set, batch {reference['batch_size'][name]})." for name, c in config.items()}


# ----------------------------------------------------------------------------- claim 1

def consistency_curves(encoder: nn.Module, inputs: torch.Tensor, baseline, fractions, channel_dim: int = 1,
                       batch_size: int = 200, seed: int = 0, n_steps: int = 50, n_samples: int = 5,
                       methods=tuple(CURVE_METHODS), soft: bool = False) -> pd.DataFrame:
    """Latent shift per method, masked fraction and test batch (the paper's error bands are over batches).

    Returns a DataFrame with columns method, fraction, batch and shift (mean over the batch's examples).
    Attributions use ``baseline`` too (IG, GradientShap), as in the public code; ``baseline`` is a tensor
    or a function (batch, generator) -> tensor for input-dependent baselines; ``soft`` as ``latent_shift``.
    """
    encoder.eval()
    gen = torch.Generator(device=inputs.device).manual_seed(seed)
    rows = []
    for batch, start in enumerate(range(0, len(inputs), batch_size)):
        x = inputs[start:start + batch_size]
        fill = baseline(x, gen) if callable(baseline) else baseline
        for name in methods:
            method, pairing = CURVE_METHODS[name]
            if method is None:
                scores = torch.rand(x.shape, generator=gen, device=x.device)
            else:
                kwargs = {"n_steps": n_steps} if method == "integrated_gradients" else \
                    {"n_samples": n_samples} if method == "gradient_shap" else {}
                scores = feature_importance(encoder, x, method, None if method == "saliency" else fill,
                                            pairing, seed=seed + batch, **kwargs)
            shifts = latent_shift(encoder, x, scores, fractions, fill, channel_dim, soft).mean(1)
            rows += [{"method": name, "fraction": f, "batch": batch, "shift": s.item()}
                     for f, s in zip(fractions, shifts)]
    return pd.DataFrame(rows)


def masking_baseline(name: str, experiment: AutoencoderData) -> torch.Tensor:
    """What masked features are replaced by: black pixels (MNIST) or the mean training beat (ECG5000)."""
    if name == "MNIST":
        return torch.zeros(1, *experiment.test.shape[1:], device=experiment.test.device)
    return experiment.train.mean(0, keepdim=True)


def latent_shift_curves(fits: dict, data: dict[str, AutoencoderData], fractions, ig_steps: int = 50,
                        gs_samples: int = 5) -> pd.DataFrame:
    """``consistency_curves`` of every autoencoder of ``autoencoders``: one row per data set, seed, method,
    fraction and test batch."""
    curves = []
    for (name, seed), fit in fits.items():
        s, e = AUTOENCODERS[name], data[name]
        frame = consistency_curves(fit.model.encoder, e.test, masking_baseline(name, e), fractions, s["channel_dim"],
                                   s["eval_batch"], seed, ig_steps, gs_samples)
        curves.append(frame.assign(data=name, seed=seed))
    return pd.concat(curves, ignore_index=True)


# Seed 003's App. B.2 on MNIST: variant -> (soft mask, baseline of a batch x given a generator).
MASKINGS = {
    "hard mask, zero baseline": (False, lambda x, gen: torch.zeros_like(x[:1])),
    "soft mask": (True, lambda x, gen: torch.zeros_like(x[:1])),
    "soft mask, baseline (3)": (True, lambda x, gen: inverted(x)),
    "soft mask, baseline (4)": (True, lambda x, gen: torch.randn(x.shape, generator=gen, device=x.device) * inverted(x)),
}


def mask_variant_curves(fits: dict, data: AutoencoderData, fractions, ig_steps: int = 50,
                        gs_samples: int = 5) -> pd.DataFrame:
    """``consistency_curves`` of the MNIST autoencoders ``fits`` ({(name, seed): Fit}) under each of
    ``MASKINGS`` (the baseline also that of IG and GradientShap): one row per variant, seed, method,
    fraction and test batch."""
    methods = ("Integrated Gradients", "GradientShap", "Saliency", "Random")
    curves = []
    for (name, seed), fit in fits.items():
        for variant, (soft, baseline) in MASKINGS.items():
            frame = consistency_curves(fit.model.encoder, data.test, baseline, fractions, 1,
                                       AUTOENCODERS[name]["eval_batch"], seed, ig_steps, gs_samples, methods, soft)
            curves.append(frame.assign(variant=variant, seed=seed))
    return pd.concat(curves, ignore_index=True)


# ----------------------------------------------------------------------------- claim 2

class SimilarityRun(NamedTuple):
    """Claim 2's results: similarity rates (data, seed, method, fraction, similarity), scoring times (data,
    seed, method, seconds) and the autoencoders' training summary."""
    rates: pd.DataFrame
    seconds: pd.DataFrame
    training: pd.DataFrame


def similarity_rates(data: dict[str, AutoencoderData], seeds, epochs: dict, checkpoint_every: dict, fractions,
                     damping: float = 1.0, extra_dampings=(), simplex_epochs: int = 1000,
                     progress: bool = True) -> SimilarityRun:
    """Per data set and seed: the autoencoder (with TracIn checkpoints), the four methods' scores of its
    ranked training examples for its test examples (``example_importance``) and their similarity rates."""
    fits, training = autoencoders(data, seeds, epochs, checkpoint_every, progress=progress)
    rates, seconds = [], []
    for (name, seed), fit in fits.items():
        s, e = AUTOENCODERS[name], data[name]
        scores, times = example_importance(fit.model, fit.history["checkpoints"], e.ranked, e.test, s["loss"],
                                           s["curvature"], damping, extra_dampings, simplex_epochs=simplex_epochs,
                                           chunk_size=s["chunk"])
        for method, matrix in scores.items():
            rate = similarity_rate(matrix, e.ranked_labels, e.test_labels, fractions)
            rates += [{"data": name, "seed": seed, "method": method, "fraction": f, "similarity": r.item()}
                      for f, r in zip(fractions, rate)]
        seconds += [{"data": name, "seed": seed, "method": method, "seconds": t} for method, t in times.items()]
    return SimilarityRun(pd.DataFrame(rates), pd.DataFrame(seconds), training)


# ----------------------------------------------------------------------------- claim 3

SWEEP_COLUMNS = ["data", "tv_weight", "kind", "beta", "seed", "pcc", "rec", "rec_ratio", "kl", "attr_tv", "active",
                 "loss_fall", "seconds", "cached"]


def mean_image_bce(x: torch.Tensor) -> float:
    """The Bernoulli reconstruction loss (nats per image) of outputting the mean of the images ``x`` for each."""
    x = x.float()
    logits = torch.logit(x.mean(0, keepdim=True), eps=1e-6).expand_as(x)
    return (F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)).item()


def loss_fall(losses) -> float:
    """How much the training loss still fell at the end: the mean over the second-to-last tenth of the steps
    minus the mean over the last tenth, relative to the latter (near 0 once training has levelled off)."""
    tail = max(1, len(losses) // 10)
    last, before = np.mean(losses[-tail:]), np.mean(losses[-2 * tail:-tail] if len(losses) > tail else losses)
    return float((before - last) / abs(last))


def beta_sweep(data: dict, config: dict, kinds, betas, seeds, tv_weights=(0.0,), tv_samples: int = 1,
               gs_samples: int = 5, progress: bool = True, saliency_method: str = "gradient_shap",
               ig_steps: int = 50) -> pd.DataFrame:
    """Train one VAE per data set, prior weight, kind, β and seed and measure it: one row per model.

    ``data`` maps a data set to its (training, test) images, ``config`` to its ``latent_dim``, ``epochs`` and
    ``batch_size``. Columns: data, tv_weight, kind, beta, seed, pcc (mean off-diagonal PCC of the per-unit
    saliency maps on the test images, from ``saliency_method``: GradientShap with ``gs_samples`` draws or
    Integrated Gradients with ``ig_steps`` steps), rec and kl (means over the last tenth of training steps),
    rec_ratio (rec over ``mean_image_bce`` of the training images: at 1 or above the VAE learned nothing about
    them), attr_tv
    (total variation per test image of the label-free GradientShap attributions, what the prior
    penalises), active (units with KL > 0.01 nats on the test images), loss_fall (``loss_fall`` of the
    training loss), seconds (training time), cached;
    plus the per-unit saliency maps of the first 8 test images in ``.attrs["examples"]``, keyed by (data,
    tv_weight, kind, beta, seed).
    """
    rows, examples = [], {}
    for name, (x_train, x_test) in data.items():
        c = config[name]
        mean_image = mean_image_bce(x_train)
        for tv_weight in tv_weights:
            for kind in kinds:
                for beta in betas:
                    for seed in seeds:
                        model, hist, hit = fit_disentangled_vae(x_train, kind, beta, c["latent_dim"], c["epochs"],
                                                                c["batch_size"], seed, tv_weight, tv_samples, progress)
                        saliency = unit_saliency(
                            model.encoder.mu, x_test, gs_samples if saliency_method == "gradient_shap" else ig_steps,
                            generator=torch.Generator(device=x_test.device).manual_seed(seed), method=saliency_method)
                        gen = torch.Generator(device=x_test.device).manual_seed(seed)
                        attr_tv = sum(total_variation(label_free_gradient_shap(model.encoder.mu, batch.float(),
                                                                               gs_samples, gen)).item()
                                      for batch in torch.split(x_test, 500)) / len(x_test)
                        tail = max(1, len(hist["loss"]) // 10)
                        rec = float(np.mean(hist["rec"][-tail:]))
                        rows.append({"data": name, "tv_weight": tv_weight, "kind": kind, "beta": beta, "seed": seed,
                                     "pcc": offdiagonal_pcc(saliency), "rec": rec, "rec_ratio": rec / mean_image,
                                     "kl": float(np.mean(hist["kl"][-tail:])), "attr_tv": attr_tv,
                                     "active": int((unit_kl(model, x_test) > 0.01).sum()),
                                     "loss_fall": loss_fall(hist["loss"]), "seconds": hist["seconds"], "cached": hit})
                        examples[name, tv_weight, kind, beta, seed] = saliency[:8].cpu().numpy()
    table = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    table.attrs["examples"] = examples
    return table


# ----------------------------------------------------------------------------- claim 4

class PretextRun(NamedTuple):
    """Claim 4's results: the PCC between every pair of tasks (seed, variant, pair, pcc), the encoders'
    training summary (seed, task, ...; the autoencoders' best validation loss over the mean training image's,
    the classifier's test accuracy) and the first seed's saliency maps
    of the first four test images (image, task, height, width)."""
    pccs: pd.DataFrame
    training: pd.DataFrame
    maps: np.ndarray


def pretext_encoders(data, seeds, tasks, epochs: int, batch_size: int = 300, patience: int = 10,
                     progress: bool = True) -> tuple[dict, pd.DataFrame]:
    """The four pretext tasks' models per seed (``data`` the MNIST ``Splits``), trained or loaded from the
    cache: ({(seed, task): Fit}, a training summary with the autoencoders' best validation loss over the mean
    training image's and the classifier's test accuracy)."""
    fits, training = {}, []
    mean_image = mean_input_loss(data.train[0], data.val[0], F.mse_loss)  # the autoencoders' targets: clean images
    for seed in seeds:
        for task in tasks:
            fit = fits[seed, task] = fit_pretext_encoder(task, data.train, data.val, seed, epochs, batch_size,
                                                         patience, progress)
            training.append({"seed": seed, "task": TASKS[task], "cached": fit.cached,
                             "epochs run": len(fit.history["val_loss"]),
                             "best validation loss": fit.history["best_val_loss"], "seconds": fit.history["seconds"],
                             "best validation loss / the mean training image's":
                                 np.nan if task == "C" else fit.history["best_val_loss"] / mean_image,
                             "test accuracy": accuracy(fit.model, *data.test) if task == "C" else np.nan})
    return fits, pd.DataFrame(training)


def pretext_correlations(data, test_x: torch.Tensor, sub_x: torch.Tensor, seeds, tasks, epochs: int,
                         batch_size: int = 300, patience: int = 10, gs_samples: int = 5, raw_dknn: bool = True,
                         progress: bool = True) -> PretextRun:
    """Per seed: the encoders of the four pretext tasks (``pretext_encoders``), their |GradientShap|
    saliency maps of ``test_x`` and DKNN scores of ``sub_x``, and the PCC between the tasks' maps
    ("saliency"), scores ("examples") and, with ``raw_dknn``, scores of raw 0–255 pixels."""
    fits, training = pretext_encoders(data, seeds, tasks, epochs, batch_size, patience, progress)
    pccs, shown = [], None
    for seed in seeds:
        variants = {"saliency": [], "examples": []} | ({"examples, raw 0–255 pixels": []} if raw_dknn else {})
        for task in tasks:
            encoder = fits[seed, task].model.encoder
            variants["saliency"].append(abs_gradient_shap(encoder, test_x, gs_samples, seed=seed))
            variants["examples"].append(dknn_scores(encoder, test_x, sub_x))
            if raw_dknn:
                variants["examples, raw 0–255 pixels"].append(dknn_scores(encoder, test_x, sub_x, scale=255.0))
        for variant, values in variants.items():
            pairs = pair_values([pcc_matrix(values)], tasks)
            pccs += [{"seed": seed, "variant": variant, "pair": pair, "pcc": v[0]} for pair, v in pairs.items()]
        if shown is None:
            shown = np.stack([m[:4].cpu().numpy()[:, 0] for m in variants["saliency"]], 1)
    return PretextRun(pd.DataFrame(pccs), training, shown)


def top_examples(fits: dict, test_x: torch.Tensor, sub_x: torch.Tensor) -> dict:
    """The index (into ``sub_x``) of each test image's top DKNN example, per (seed, task) of ``fits``."""
    return {key: dknn_scores(fit.model.encoder, test_x, sub_x).argmax(1) for key, fit in fits.items()}


def top_example_agreement(tops: dict, test_y: torch.Tensor, sub_y: torch.Tensor,
                          tasks) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed 003's Table 10 in numbers from ``top_examples``: per seed and task pair, the shares of test images
    whose top examples of the two tasks are the same example (``same example``) or show the same digit
    (``same digit``); per seed and task, the share whose top example shows the test image's digit
    (``right digit``)."""
    seeds = sorted({seed for seed, _ in tops})
    pairs = [{"seed": seed, "pair": f"{a}-{b}",
              "same example": (tops[seed, a] == tops[seed, b]).float().mean().item(),
              "same digit": (sub_y[tops[seed, a]] == sub_y[tops[seed, b]]).float().mean().item()}
             for seed in seeds for a, b in combinations(tasks, 2)]
    right = [{"seed": seed, "task": task, "right digit": (sub_y[tops[seed, task]] == test_y).float().mean().item()}
             for seed in seeds for task in tasks]
    return pd.DataFrame(pairs), pd.DataFrame(right)
