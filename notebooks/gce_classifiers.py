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
# # GCE explains any classifier with gradients and probabilities (MNIST 3 vs 8)
#
# **Claim.** GCE needs nothing of the classifier but its class probabilities and their gradients with
# respect to the input, so it should explain any such classifier. Reproduction 001 tried three modern
# architectures (small ResNet-, DenseNet- and Inception-style networks, its appendix A.1): all reached about
# 100% accuracy on 3 vs 8, and the explanations held for ResNet and DenseNet, but with Inception the β sweeps
# also changed the decision. Reproduction 002 built a deliberately poor classifier, a linear layer on the
# image's **mean pixel intensity** (52.8% test accuracy), and found that GCE's α encodes brightness, which
# is the right explanation, but that β₁ and β₂ seemed to carry brightness too.
#
# **What we measure.** For each classifier, several seeds: its accuracy; the explainer's information flow
# I(α; Ŷ) and the per-factor flows (β leakage = largest β flow / α flow); the fraction of sweep rows whose
# decision changes, per factor; the accuracy lost when a factor is replaced by noise; and, for every factor,
# the correlation between the sweep offset and the decoded image's mean intensity (the poor classifier's only
# input). Both reproductions judged by eye; these are the first numbers for the claim.
#
# **How to read the numbers.** Every number comes from this run, whose profile, seeds and device are printed
# below. The parameters cell holds the quick `smoke` profile used by CI; the report shows the `cpu` or
# `paper` profile, executed by `python -m lib.report.runner`. MNIST's training split here is a 10,000-image prefix
# of the official 60,000 (the offline copy): every number is for that reduced training set.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
architectures = ["cnn", "resnet", "densenet", "inception", "mean_intensity"]  # keys of lib.gce.classifiers.ARCHITECTURES
seeds = [0]                # one classifier and one GCE per seed and architecture
device = "auto"
classifier_epochs = 1      # epochs of the full-size split, the same for every architecture
gce_steps = 80
n_alpha = 8                # Monte-Carlo samples of the causal term during training
n_beta = 4
eval_n_alpha = 20          # samples of the reported flows, randomised quasi-Monte Carlo
eval_n_beta = 10
sweep_eval_rows = 50       # validation rows over which decision changes and intensity correlations are measured
sweep_rows_per_class = 2   # rows shown in the sweep figures
progress = True

# %%
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from IPython.display import Markdown, display

from lib import gce
from lib.gce import figures as plots, reference
from lib.core.data import image_splits
from lib.core.train import accuracy
from lib.core.device import device_name, pick_device
from lib.report.verdict import VerdictLog, format_value

paper_settings = reference.GCE_SETTINGS["mnist_3_8"]
numbers = reference.GCE_CLASSIFIER_NUMBERS
k, l = paper_settings["k"], paper_settings["l"]
lams = {a: numbers["mean_intensity_lam"] if a == "mean_intensity" else paper_settings["lam"] for a in architectures}
settings = {**paper_settings, "classifier_epochs": classifier_epochs, "steps": gce_steps, "n_alpha": n_alpha,
            "n_beta": n_beta, "architectures": architectures, "lams": lams}
dev = pick_device(device)
data = image_splits(paper_settings["dataset"], paper_settings["classes"], device=dev)
n_classes = len(paper_settings["classes"])
factor_names = [f"α{i + 1}" for i in range(k)] + [f"β{i + 1}" for i in range(l)]
offsets = np.arange(-3, 4)
display(Markdown(
    f"**Run:** profile `{profile}`, seeds {seeds}, device {device_name(dev)}.  \n"
    f"**Data:** {data.note}; train {len(data.train[0]):,}, validation {len(data.val[0]):,} images of classes "
    f"{data.class_names}.  \n**GCE:** K = {k}, L = {l}, λ = {paper_settings['lam']} "
    f"({numbers['mean_intensity_lam']} for the mean-intensity classifier, as seed 002), {gce_steps} steps, "
    f"Nα × Nβ = {n_alpha} × {n_beta} (paper: {paper_settings['n_alpha']} × {paper_settings['n_beta']}, "
    f"{paper_settings['steps']} steps).  \n**Classifiers:** {', '.join(architectures)}; SGD as the paper's CNN, "
    f"{classifier_epochs} epochs."))

# %% [markdown]
# ## Classifiers and explainers
# Every classifier is trained with the paper's recipe (SGD, lr 0.1, momentum 0.5, decay 0.7 per epoch, batch
# 64); the architectures are in `lib/classifiers.py`. For each, a GCE with the paper's 3-vs-8 settings is
# trained against it, then evaluated by `lib.gce.explainer_report` on the validation split. Models are cached.

# %%
runs = []
sweeps = {}
for architecture in architectures:
    for seed in seeds:
        classifier, meta, _ = gce.fit_classifier(*data.train, n_classes, classifier_epochs, seed,
                                                 data.train_fraction, progress=progress, architecture=architecture)
        explainer, history, _ = gce.fit_explainer(
            classifier, data.train[0], k, l, lams[architecture], gce_steps, paper_settings["batch_size"],
            paper_settings["lr"], n_alpha, n_beta, seed, progress=progress)
        report = gce.explainer_report(explainer, classifier, *data.val, eval_n_alpha, eval_n_beta,
                                      sweep_rows=sweep_eval_rows, offsets=offsets, seed=1000 + seed)
        rows = data.val[0][:sweep_eval_rows]
        correlation = [gce.sweep_intensity_correlation(gce.latent_sweep(explainer, classifier, rows, d, offsets)[0],
                                                       offsets) for d in range(k + l)]
        flows = np.array(report["factor_flows"])
        removed = np.array(report["removed"])
        runs.append({
            "architecture": architecture, "seed": seed, "accuracy": accuracy(classifier, *data.val),
            "classifier seconds": meta["seconds"], "GCE seconds": history["seconds"],
            "training D": np.mean(np.add(history["sse"], history["kl"])[-max(1, gce_steps // 16):]),
            "I(α; Ŷ)": report["alpha_flow"], "β leak": flows[k:].max() / flows[:k].min(),
            "α flips": min(report["change_rate"][:k]), "largest β flips": max(report["change_rate"][k:]),
            "α removal drop": report["reencoded"] - removed[:k].max(),
            "largest β removal drop": report["reencoded"] - removed[k:].min(),
            "corr(α, intensity)": correlation[0], "largest |corr(β, intensity)|": np.abs(correlation[k:]).max(),
            "factor_flows": flows, "change_rate": report["change_rate"], "correlation": correlation})
        if seed == seeds[0]:
            sweeps[architecture] = (explainer, classifier)
results = pd.DataFrame(runs)
columns = ["accuracy", "I(α; Ŷ)", "β leak", "α flips", "largest β flips", "α removal drop",
           "largest β removal drop", "corr(α, intensity)", "largest |corr(β, intensity)|"]
summary = results.groupby("architecture", sort=False)[columns].agg(["mean", "std"])
display(pd.DataFrame({c: [format_value(summary.loc[a, (c, "mean")], summary.loc[a, (c, "std")]
                                       if len(seeds) > 1 else None) for a in architectures]
                      for c in columns}, index=architectures))
display(results[["architecture", "seed", "classifier seconds", "GCE seconds"]].round(1))

# %% [markdown]
# ## The same measurements side by side
# Bars are means over seeds, with one standard deviation. Dashed lines mark the criteria of the verdict below.

# %%
long = results.melt(id_vars=["architecture", "seed"], value_vars=columns[1:], var_name="measure")
grid = sns.catplot(long, x="architecture", y="value", col="measure", col_wrap=4, kind="bar", errorbar="sd",
                   sharey=False, height=2.6, aspect=1.2, color="tab:blue")
grid.set_xticklabels(rotation=40, ha="right")
limits = {"β leak": 0.10, "α flips": 0.75, "largest β flips": 0.25, "α removal drop": 0.25,
          "largest β removal drop": 0.05}
for measure, ax in grid.axes_dict.items():
    if measure in limits:
        ax.axhline(limits[measure], ls="--", color="k", lw=0.8)

# %% [markdown]
# ## Latent sweeps
# For each classifier (first seed), α and the β factor whose sweep changes the decision most often. Frames are
# coloured by the classifier's decision.

# %%
shown = torch.cat([torch.nonzero(data.val[1] == c)[:sweep_rows_per_class, 0] for c in range(n_classes)])
first = results[results.seed == seeds[0]].set_index("architecture")
for architecture, (explainer, classifier) in sweeps.items():
    worst_beta = k + int(np.argmax(first.loc[architecture, "change_rate"][k:]))
    for dim in (0, worst_beta):
        images, decisions = gce.latent_sweep(explainer, classifier, data.val[0][shown], dim, offsets)
        plots.sweep_figure(images, decisions, offsets, data.class_names,
                           title=f"{architecture}: sweep of {factor_names[dim]} (seed {seeds[0]})")

# %% [markdown]
# ## What α encodes for the mean-intensity classifier
# Correlation between the sweep offset and the decoded image's mean intensity, per factor (rows' own means
# removed; `lib.gce.sweep_intensity_correlation`). A classifier that looks only at brightness can only be
# explained by a factor that changes brightness; seed 002 saw β₁ and β₂ change it as well.

# %%
correlations = np.array([r["correlation"] for r in runs if r["architecture"] == "mean_intensity"])
if len(correlations):
    display(pd.DataFrame(correlations, columns=factor_names,
                         index=[f"seed {s}" for s in seeds]).round(2).rename_axis("mean intensity"))
    plots.factor_bars(correlations, factor_names, "corr(offset, mean intensity)")

# %% [markdown]
# ## Verdict
# Criteria, fixed before running, are those of the headline notebook: the classifier reaches 97% validation
# accuracy; α flips the decision in ≥ 75% of sweep rows and no β in more than 25%; the largest β flow stays
# below 10% of α's; removing α costs ≥ 25 points and removing any β ≤ 5 points. For the mean-intensity
# classifier the question is different: its accuracy must be poor (≤ 90%), α must track brightness
# (|correlation| ≥ 0.8), and seed 002's observation that some β tracks it too is checked as |correlation| ≥ 0.5.

# %%
log = VerdictLog("GCE explains any classifier with gradients and probabilities (MNIST 3 vs 8)",
                 "gce_classifiers.ipynb", profile, seeds, device_name(dev), settings, data=data.note)
for architecture, group in results.groupby("architecture", sort=False):
    value = lambda column: group[column].tolist()  # noqa: E731
    mean = lambda column: group[column].mean()  # noqa: E731
    seen = {source: v[architecture] for source, v in numbers["accuracy"].items() if architecture in v}
    # regression-checked only: the explainer's data term settles even where the sweeps are still noise
    log.track(f"{architecture}: D = SSE + KL at the end of training", value("training D"))
    if architecture == "mean_intensity":
        log.add(f"{architecture}: validation accuracy", value("accuracy"), "≤ 0.90 (deliberately poor)",
                mean("accuracy") <= 0.90, reproductions=seen)
        log.add(f"{architecture}: |corr(α, mean intensity)|", np.abs(value("corr(α, intensity)")).tolist(), "≥ 0.8",
                np.abs(value("corr(α, intensity)")).mean() >= 0.8)
        log.add(f"{architecture}: largest |corr(β, mean intensity)|", value("largest |corr(β, intensity)|"),
                "≥ 0.5 (seed 002: β₁, β₂ leak brightness)", mean("largest |corr(β, intensity)|") >= 0.5)
        log.add(f"{architecture}: α sweep, rows whose decision changes", value("α flips"), "≥ 0.75",
                mean("α flips") >= 0.75)
        continue
    log.add(f"{architecture}: validation accuracy", value("accuracy"), "≥ 0.97", mean("accuracy") >= 0.97,
            reproductions=seen)
    # Not regression-checked: after 80 smoke steps these explainer metrics span their whole range between
    # seeds (notebooks/baselines/gce_classifiers.json) and an AVX2 run moved one outside five seeds' spread.
    explainer_check = "none" if profile == "smoke" else "value"
    log.add(f"{architecture}: α sweep, rows whose decision changes", value("α flips"), "≥ 0.75",
            mean("α flips") >= 0.75, check=explainer_check)
    log.add(f"{architecture}: β sweep, largest fraction of rows whose decision changes", value("largest β flips"),
            "≤ 0.25", mean("largest β flips") <= 0.25,
            note="seed 001 saw β sweeps change the decision with Inception" if architecture == "inception" else "",
            check=explainer_check)
    log.add(f"{architecture}: largest β flow / α flow", value("β leak"), "≤ 0.10", mean("β leak") <= 0.10,
            check=explainer_check)
    log.add(f"{architecture}: accuracy drop when α is removed", value("α removal drop"), "≥ 0.25",
            mean("α removal drop") >= 0.25, check=explainer_check)
    log.add(f"{architecture}: largest accuracy drop when a β is removed", value("largest β removal drop"), "≤ 0.05",
            mean("largest β removal drop") <= 0.05, check=explainer_check)
if records_dir:
    log.save(records_dir)
display(log.table())

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
