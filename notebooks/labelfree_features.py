# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Label-Free XAI, claim 1: label-free feature importance finds what the representation depends on
#
# **Claim** (Crabbé & van der Schaar, 2022, Sec. 4.1): explaining an encoder f at x through the scalar
# g_x(x̃) = ⟨f(x), f(x̃)⟩ gives feature importances that matter for the representation. Masking the
# features ranked most important (replacing them by a baseline) moves the representation much further
# than masking random features; the *latent shift* ‖f(x) − f(masked x)‖² rises steeply for the first few
# percent of masked features, then flattens. Reproduction 003 confirmed this on MNIST and ECG5000 and found
# Integrated Gradients (IG) the best of the three attribution methods (CIFAR-10 is not available offline).
#
# **What this notebook does.** For each seed it trains (or loads from the model cache) the paper's MNIST
# denoising autoencoder (noise σ = 0.3) and ECG5000 LSTM autoencoder, with early stopping on a validation
# split. It computes label-free Saliency, IG (50 steps) and GradientShap (5 samples) with captum through
# `lib.labelfree.feature_importance`, masks the top M = 5, 10, 20, 50, 80, 100 % of the features
# (pixels or time steps; MNIST baseline: zeros, ECG: the mean training sequence) and measures the latent
# shift, beside a random ranking. It also reruns GradientShap with the public code's pairing defect (the
# perturbed copies of an example paired with other examples' representations) to show what that changes.
#
# **How to read the numbers.** Curves are means over test batches (and seeds) with ±1 sd bands. The
# verdict table compares with the claim's qualitative statements: the paper and seed 003 give curves,
# not numbers. The parameters cell holds the `smoke` profile used by CI; the report shows the `cpu`
# profile, executed by `python -m lib.report.runner`.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
seeds = [0]                # one MNIST and one ECG autoencoder per seed
device = "auto"
progress = True
mnist_epochs = 1           # paper: 100 with early stopping (patience 10)
mnist_test = 400           # test images explained (paper: all 10000)
ecg_epochs = 2             # paper: 150 with early stopping
ecg_test = 100             # abnormal beats explained (None: all 208 available offline)
ig_steps = 50
gs_samples = 5
fractions = [0.05, 0.1, 0.2, 0.5, 0.8, 1.0]

# %%
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from lib.labelfree.features import consistency_curves
from lib.labelfree.nets import trained_autoencoder
from lib.labelfree.plots import metric_curves
from lib.labelfree.splits import ecg_feature_experiment, mnist_experiment
from lib.core.device import device_name, pick_device
from lib.report.verdict import VerdictLog

dev = pick_device(device)
experiments = {"MNIST": mnist_experiment(n_test=mnist_test, device=dev), "ECG5000": ecg_feature_experiment(device=dev)}
if ecg_test is not None:
    ecg = experiments["ECG5000"]
    ecg.test, ecg.test_labels = ecg.test[:ecg_test], ecg.test_labels[:ecg_test]
settings = {"MNIST": dict(kind="mnist", epochs=mnist_epochs, batch_size=300, eval_batch=200, channel_dim=1),
            "ECG5000": dict(kind="ecg", epochs=ecg_epochs, batch_size=20, eval_batch=50, channel_dim=-1)}
display(Markdown(
    f"**Run:** profile `{profile}`, seeds {seeds}, device {device_name(dev)}.  \n" + "  \n".join(
        f"**{name}:** {e.note}; autoencoder train {len(e.train):,} / validation {len(e.val):,}, explained "
        f"{len(e.test):,} examples in batches of {settings[name]['eval_batch']}; at most "
        f"{settings[name]['epochs']} epochs" for name, e in experiments.items())))

# %% [markdown]
# ## Autoencoders
# Adam (lr 1e-3, weight decay 1e-5), batch 300 (MNIST, MSE on denoised inputs) or 20 (ECG, L1), early
# stopping with patience 10 on the validation split (the public code watched the test set), best
# validation weights kept. Models are cached by a hash of architecture, data, hyperparameters, seed and code.

# %%
models, summary = {}, []
for name, e in experiments.items():
    s = settings[name]
    for seed in seeds:
        model, record, hit = trained_autoencoder(s["kind"], e.train, e.val, seed, s["epochs"], s["batch_size"],
                                                 progress=progress)
        models[name, seed] = model
        summary.append({"data": name, "seed": seed, "cache": "loaded" if hit else "trained",
                        "epochs run": record["epochs_run"], "best epoch": record["best_epoch"],
                        "best validation loss": round(record["best_val_loss"], 4),
                        "training s": round(record["seconds"], 1)})
display(pd.DataFrame(summary))

# %% [markdown]
# ## Latent shift against the share of masked features
# Per test batch, the mean latent shift; the baseline fills the masked features and is also the
# attribution baseline of IG and GradientShap.

# %%
baselines = {"MNIST": torch.zeros(1, 1, 28, 28, device=dev),
             "ECG5000": experiments["ECG5000"].train.mean(0, keepdim=True)}
curves = []
for (name, seed), model in models.items():
    s = settings[name]
    frame = consistency_curves(model.encoder, experiments[name].test, baselines[name], fractions, s["channel_dim"],
                               s["eval_batch"], seed, ig_steps, gs_samples)
    curves.append(frame.assign(data=name, seed=seed))
curves = pd.concat(curves, ignore_index=True)
main_methods = ["Integrated Gradients", "GradientShap", "Saliency", "Random"]
for name in experiments:
    part = curves[(curves.data == name) & curves.method.isin(main_methods)]
    fig = metric_curves(part, "shift", "latent shift ‖f(x) − f(x̃)‖²", f"{name}: masking the most important features")

# %%
per_seed = curves.groupby(["data", "method", "fraction", "seed"])["shift"].mean()   # mean over batches
table = per_seed.groupby(["data", "method", "fraction"]).mean().unstack("fraction")
table.columns = [f"{100 * f:g} %" for f in table.columns]
display(table.round(4))

# %% [markdown]
# ## Ablation: the public code's GradientShap pairing
# The original wrapper tiles the batch's representations with `repeat` while captum's NoiseTunnel
# expands the inputs with `repeat_interleave`, so the k-th noisy copy of example i is compared with the
# representation of example (i·n + k) mod N. The correct pairing passes f(x) through captum's
# `additional_forward_args`. Integrated Gradients expands its inputs with `repeat` and is not affected.

# %%
for name in experiments:
    part = curves[(curves.data == name) & curves.method.str.startswith("GradientShap")]
    fig = metric_curves(part, "shift", "latent shift ‖f(x) − f(x̃)‖²", f"{name}: GradientShap pairing")
small = [f for f in fractions if f <= 0.2]
ablation = (per_seed.unstack("method")[["GradientShap", "GradientShap (original pairing)"]]
            .query("fraction in @small").groupby(["data", "fraction"]).mean())
ablation["correct / original"] = ablation["GradientShap"] / ablation["GradientShap (original pairing)"]
display(ablation.round(4))

# %% [markdown]
# ## Verdict
# Criteria fixed before running, per dataset, each value one per seed (means over all explained examples):
# 1. *every attribution method beats random at small M*: the smallest ratio, over IG, GradientShap and
#    Saliency and M = 5 % and 10 %, of the method's shift to the random ranking's must exceed 1;
# 2. *IG is best* (seed 003): IG's mean shift over M ≤ 20 % divided by the best other method's must be ≥ 1;
# 3. *steep, then flat*: with 20 % of the features masked, IG must reach at least half of its largest
#    shift over all M (a linear rise would reach a fifth).

# %%
log = VerdictLog("Label-Free XAI claim 1: label-free feature importance", "labelfree_features.ipynb", profile,
                 seeds, device_name(dev), {"settings": {k: {**v} for k, v in settings.items()}, "ig_steps": ig_steps,
                                           "gs_samples": gs_samples, "fractions": fractions},
                 data="; ".join(e.note for e in experiments.values()))
for name in experiments:
    s = per_seed.loc[name].unstack("method")            # rows (fraction, seed), columns methods
    methods = ["Integrated Gradients", "GradientShap", "Saliency"]
    early = s.loc[[0.05, 0.1]]
    beats = (early[methods].div(early["Random"], axis=0)).groupby("seed").min().min(axis=1)
    log.add(f"{name}: smallest shift ratio method / random at M = 5, 10 %", beats.tolist(), "> 1",
            beats.mean() > 1, paper="> 1 (curves)", reproductions={"seed 003": "> 1 (curves)"})
    low = s.loc[small].groupby("seed").mean()
    ig_best = low["Integrated Gradients"] / low[["GradientShap", "Saliency"]].max(axis=1)
    log.add(f"{name}: IG mean shift over M ≤ 20 % / best other method", ig_best.tolist(), "≥ 1",
            ig_best.mean() >= 1, reproductions={"seed 003": "IG best (curves)"})
    ig = s["Integrated Gradients"].unstack("fraction")
    reached = ig[0.2] / ig.max(axis=1)
    log.add(f"{name}: IG shift at M = 20 % / largest IG shift", reached.tolist(), "≥ 0.5", reached.mean() >= 0.5,
            paper="steep rise, then flat", reproductions={"seed 003": "steep rise, then flat"})
    # regression-checked only: the autoencoder's fit and each method's shift at M = 10 %
    log.track(f"{name}: best validation loss", [r["best validation loss"] for r in summary if r["data"] == name])
    for method in s.columns:
        log.track(f"{name}: latent shift of {method} at M = 10 %", s.loc[0.1, method].tolist())
if records_dir:
    log.save(records_dir)
display(log.table())

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
