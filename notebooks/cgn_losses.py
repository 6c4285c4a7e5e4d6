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
# # CGN claim 2: every loss is needed (an MNIST loss ablation)
#
# **Claim** (Sauer & Geiger, 2021, Sec. 4.1 and Table 2): the CGN's inductive biases — here its losses —
# are all required; without one of them the mechanisms no longer separate shape, texture and background.
# The paper and reproduction 004 show this on ImageNet only (Inception score and mean mask value μ_mask
# when a loss is switched off), which cannot run offline. **Nobody has run the MNIST counterpart**; this
# notebook does, so there are no published numbers to compare with — the verdict is whether switching a
# loss off measurably hurts.
#
# **What this notebook does.** On one MNIST variant it trains (or loads from the cache) a CGN with all
# losses — least-squares adversarial loss, mask entropy, Gram style loss (random-net substitute for VGG16)
# and seed 004's edge loss — and one CGN per loss with that loss switched off, and measures for each:
# the mask statistics (mean mask value μ_mask, mask entropy, border value, intact digit masks), the
# quality of the shapes (accuracy of a shape classifier trained on real binarised digits on the generated
# masks), whether texture and background obey their own labels (cue accuracies, `lib/cgn/quality.py`),
# and the downstream test accuracy of the invariant classifier (`lib.cgn.train_invariant_classifier`)
# trained on counterfactuals of each CGN and tested on the variant's randomised test split.
#
# **How to read the numbers.** Every number comes from this run (profile, seeds, steps and device printed
# below). The `smoke` parameters below train for a few dozen steps: images are noise and the verdicts are
# regression checks. The report shows the `cpu` profile (far fewer steps than the paper's ~47k: say so
# wherever a number is used).

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
variant = "colored"        # colored, double_colored or wildlife
seeds = [0]                # one CGN per configuration and seed
device = "auto"
progress = True
cgn_steps = 10             # training steps per CGN (paper: 15 epochs, about 47k steps of batch 16)
ngf = 32                   # base width of the mechanisms (paper 32)
ablations = ["mask_entropy", "style", "edge", "adversarial"]
n_per_class = 50           # masks sampled per digit for the mask statistics
shape_epochs = 1           # epochs of the shape classifier on real binarised digits
n_cue = 500                # counterfactuals for the cue-control accuracy
n_counterfactuals = 1000   # training images of each invariant classifier (paper 50k)
classifier_epochs = 1      # epochs of each invariant classifier (paper 10)

# %%
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from lib.cgn import reference
from lib.cgn import (PAPER_STEPS, counterfactual_dataset, counterfactual_mnist, cue_accuracy, cue_centroids,
                     default_losses, evaluate, mask_intact, shape_classifier, train_cgn, train_invariant_classifier)
from lib.cgn import figures
from lib.cgn.losses import binary_entropy
from lib.cgn.quality import class_masks
from lib.core.device import device_name, pick_device
from lib.report.verdict import VerdictLog

dev = pick_device(device)
data_note = (f"{variant} MNIST; training split from the MNIST training file with 10,000 images (a prefix of the "
             "official 60,000: reduced training set); randomised test split from the official test set")
configs = {"all losses": {}, **{f"no {name.replace('_', ' ')}": {name: 0.0} for name in ablations}}
display(Markdown(
    f"**Run:** profile `{profile}`, variant `{variant}`, seeds {seeds}, device {device_name(dev)}.  \n"
    f"**CGN:** {cgn_steps} steps of batch 16 (paper: {PAPER_STEPS:,}), base width {ngf}; default loss weights "
    f"{default_losses(variant)}.  \n**Configurations:** {list(configs)}.  \n"
    f"**Invariant classifier:** {n_counterfactuals:,} counterfactuals (paper 50,000), {classifier_epochs} epochs "
    f"(paper 10).  \n**Data:** {data_note}."))

# %% [markdown]
# ## Training the CGNs
# The same seed for every configuration, so the runs differ only in the loss that is switched off.

# %%
cgns = {}
for name, override in configs.items():
    for seed in seeds:
        cgns[name, seed] = train_cgn(variant, steps=cgn_steps, seed=seed, device=dev, ngf=ngf, losses=override,
                                     progress=progress)
        print(f"{name}, seed {seed}: {'loaded from cache' if cgns[name, seed].meta['cache_hit'] else 'trained'} "
              f"in {cgns[name, seed].meta['seconds']:.0f} s")

# %% [markdown]
# ## What the mechanisms produce without each loss
# Per configuration (first seed): one mask and one composite per digit class, all mechanisms given the
# same label.

# %%
rows = {}
for name in configs:
    gen = torch.Generator(device=dev).manual_seed(0)
    y = torch.arange(10, device=dev)
    out = cgns[name, seeds[0]].sample(y, y, y, generator=gen)
    rows[f"{name}: mask"], rows[f"{name}: image"] = out["mask"], out["composite"]
fig = figures.image_rows(rows, column_labels=list(range(10)), title=f"{variant}: loss ablation (seed {seeds[0]})")

# %% [markdown]
# ## Measured
# Mask statistics over `n_per_class` masks per digit; shape accuracy of the real-digit classifier on the
# masks; cue accuracies on counterfactual samples; and the test accuracy of an invariant classifier trained
# on each CGN's counterfactual data set (labels = shape class).

# %%
classifier, classifier_acc = shape_classifier(epochs=shape_epochs, device=dev, progress=progress)
print(f"shape classifier: {classifier_acc:.3f} accuracy on the binarised MNIST test digits")
centroids = cue_centroids(variant)
test = counterfactual_mnist(variant, "test")

results = []
for (name, seed), cgn in cgns.items():
    masks = mask_intact(cgn, n_per_class, seed=seed, classifier=classifier)
    entropy = binary_entropy(class_masks(cgn, n_per_class, seed)).item()
    gen = torch.Generator(device=dev).manual_seed(100 + seed)
    labels = [torch.randint(10, (n_cue,), generator=gen, device=dev) for _ in range(3)]
    out = cgn.sample(*labels, generator=gen)
    x_cf, y_cf = counterfactual_dataset(cgn, n_counterfactuals, seed=seed)
    model, _ = train_invariant_classifier(x_cf, y_cf, epochs=classifier_epochs, seed=seed, device=dev,
                                          progress=progress)
    accuracy = evaluate(model, (x_cf, y_cf), test)
    results.append({
        "configuration": name, "seed": seed, "μ_mask": masks["area"].mean().item(), "mask entropy [bits]": entropy,
        "border value": masks["border"].mean().item(), "intact masks": int(masks["intact"].sum()),
        "shape accuracy on masks": masks["accuracy"].mean().item(),
        "texture cue accuracy": cue_accuracy(out["foreground"], labels[1], centroids["foreground"]),
        "background cue accuracy": (cue_accuracy(out["background"], labels[2], centroids["background"])
                                    if "background" in centroids else np.nan),
        "classifier train accuracy": accuracy["train"], "classifier test accuracy": accuracy["test"]})
results = pd.DataFrame(results)
summary = results.drop(columns="seed").groupby("configuration", sort=False).mean()
display(summary.round(3))

# %% [markdown]
# ## Verdict
# Criteria were fixed before running. Switching a loss off *degrades* the CGN when, relative to the CGN
# with all losses (means over seeds), the invariant classifier's test accuracy falls by at least 5 points,
# or at least two more digit masks are broken, or the shape accuracy on the masks falls by at least 0.1.
# The claim holds for a loss when switching it off degrades the CGN; the paper (ImageNet) and seed 004
# (ImageNet-mini) found this for every loss, on MNIST nobody has measured it.

# %%
log = VerdictLog(f"CGN claim 2: every loss is needed ({variant} MNIST)", "cgn_losses.ipynb", profile, seeds,
                 device_name(dev), {"variant": variant, "cgn_steps": cgn_steps, "ngf": ngf,
                                    "n_counterfactuals": n_counterfactuals, "classifier_epochs": classifier_epochs,
                                    "n_per_class": n_per_class,
                                    "shape_classifier_test_accuracy": round(classifier_acc, 4)}, data=data_note)
full = summary.loc["all losses"]
per_seed = results.set_index(["configuration", "seed"])
for name in list(configs)[1:]:
    drops = {"test accuracy": full["classifier test accuracy"] - summary.loc[name, "classifier test accuracy"],
             "intact masks": full["intact masks"] - summary.loc[name, "intact masks"],
             "shape accuracy": full["shape accuracy on masks"] - summary.loc[name, "shape accuracy on masks"]}
    degraded = drops["test accuracy"] >= 0.05 or drops["intact masks"] >= 2 or drops["shape accuracy"] >= 0.1
    log.add(f"{name}: drop in invariant-classifier test accuracy",
            [per_seed.loc[("all losses", s), "classifier test accuracy"]
             - per_seed.loc[(name, s), "classifier test accuracy"] for s in seeds],
            "degraded: test accuracy −0.05, or 2 more broken masks, or shape accuracy −0.1", degraded,
            note=f"broken masks {drops['intact masks']:+.1f}, shape accuracy {-drops['shape accuracy']:+.2f}, "
                 f"μ_mask {summary.loc[name, 'μ_mask']:.2f} (all losses {full['μ_mask']:.2f})")
paper_test = reference.CGN_TABLE3["table"]["paper"][variant]["CGN"][1] / 100
log.add("all losses: invariant-classifier test accuracy",
        results.loc[results.configuration == "all losses", "classifier test accuracy"].tolist(),
        "≥ 0.5 (chance 0.1): the reference run teaches shape", full["classifier test accuracy"] >= 0.5, paper=paper_test,
        note="the configuration the others are compared with; the paper's number is for 50k counterfactuals of a "
             "fully trained CGN and 10 classifier epochs")
if records_dir:
    log.save(records_dir)
display(log.table())

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
