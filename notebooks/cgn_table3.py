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
# # CGN Table 3: counterfactual training data make classifiers robust to the spurious cue
#
# **Claim** (Sauer & Geiger, 2021, Sec. 4.2, Table 3): on the three MNIST variants, whose colour or
# texture follows the label in training and is random at test time, a classifier trained on the original
# data (or on images of a conditional GAN trained on them) learns the cue: near-perfect training accuracy,
# test accuracy near chance on double-colored and wildlife MNIST and about 36% on colored MNIST. Trained on
# counterfactual images of a CGN, labelled by their shape, it keeps most of its test accuracy: 95.1%, 89.0%
# and 85.7% in the paper; seed 004 found 92.3%, 86.5% and 81.4% and also trained on original + GAN data
# (41.5%, 10.0%, 11.1%) and on original + CGN data (95.9%, 85.5%, 62.8%).
#
# **What this notebook does.** For every variant and seed it trains (or loads from the model cache) the GAN
# baseline and the CGN on the biased training split, draws the five training sets (original, GAN, CGN,
# original + GAN, original + CGN), trains the invariant classifier of the original code on each (Adadelta,
# lr 1, ×0.7 per epoch, batch 64) and measures its accuracy on its own training set and on the test set with
# random cues.
# The CGN is the one of the claim-1 notebooks (same settings, same cache entry); the GAN is seed 004's
# baseline (DCGAN-style conditional generator, the original's linear discriminator, BCE).
#
# **How to read the numbers.** Every number comes from this run (profile, seeds, device and budget printed
# below).
# "train" is the accuracy on the classifier's own training set (as the original code prints it); "real
# train" is the accuracy on the real biased training images, which shows whether generated data carried
# the label at all. Data: our MNIST training file has 10,000 images (a prefix of the official 60,000; the
# original uses 50,000), the test split is the official test set with colours or textures drawn once from
# a fixed seed. The `smoke` profile (CI) uses tiny step counts and data; its verdicts are regression checks.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters
records_dir = ""           # folder for verdict records; empty: not written
variants = ["colored", "double_colored", "wildlife"]
seeds = [0]                # one GAN, one CGN and five classifiers per seed and variant
device = "auto"
cgn_steps = 30             # CGN training steps, as the claim-1 notebook (paper about 46875)
cgn_ngf = 32               # CGN base width (paper 32)
gan_steps = 40             # GAN training steps (paper as the CGN)
generator_seed = None      # the GAN and CGN of this one seed serve every seed (None: each seed its own)
n_original = 1000          # original training images (at most 10000 here; the paper 50000)
n_generated = 1000         # GAN and CGN images per training set (paper 50000)
classifier_epochs = 1      # paper 10
n_test = 1000              # test images evaluated (at most 10000)
progress = True

# %%
import numpy as np
from IPython.display import display

from lib.cgn import STYLE_SUBSTITUTE, claims, experiments, figures, reference
from lib.report import start
from lib.report.claims import lookup

numbers = reference.CGN_TABLE3["table"]
settings = {"cgn_steps": cgn_steps, "cgn_ngf": cgn_ngf, "gan_steps": gan_steps, "n_original": n_original,
            "n_generated": n_generated, "classifier_epochs": classifier_epochs, "n_test": n_test,
            "generator_seed": generator_seed}
budget, budget_text = claims.budget_fraction(settings)
dev, log = start(lookup(claims.CLAIMS, claims.key("cgn_table3", variants)), "cgn_table3", profile, seeds, device,
                 settings, budget=budget, budget_text=budget_text)
log.header(data=f"MNIST training file with 10,000 images (a prefix of the official 60,000: reduced training set); "
                f"first {n_original:,} used as original data; test: first {n_test:,} of the official test split, "
                f"random cues drawn once (seeded)",
           Generators=f"CGN {cgn_steps} steps, base width {cgn_ngf} (paper: about 46,875 steps, width 32), style "
                      f"loss: {STYLE_SUBSTITUTE}; GAN {gan_steps} steps.",
           Classifier_data_and_schedule=f"{n_original:,} original and {n_generated:,} generated images per set "
                                        f"(paper: 50,000), {classifier_epochs} epochs (paper: 10).")

# %% [markdown]
# ## Training and evaluation
# One GAN, one CGN and five classifiers per variant and seed; all are cached, so re-running the notebook
# (or another notebook with the same settings) reuses them.

# %%
results, examples = experiments.robustness(
    variants, seeds, dev, n_original=n_original, n_generated=n_generated, cgn_steps=cgn_steps, cgn_ngf=cgn_ngf,
    gan_steps=gan_steps, epochs=classifier_epochs, n_test=n_test, generator_seed=generator_seed, progress=progress)
display(results.round(3))

# %% [markdown]
# ## What the classifiers were trained on
# The first image of each class in each training set (first seed). Original and GAN images carry the
# class's colour or texture; counterfactual images combine a shape with another class's colour or texture.

# %%
for variant, sets in examples.items():
    fig = figures.class_examples(sets, title=f"{variant.replace('_', '-')} MNIST: training sets (seed {seeds[0]})")

# %% [markdown]
# ## Table 3
# Accuracy in percent, mean ± sd over seeds, beside the paper's and seed 004's (train / test).

# %%
display(experiments.table3(results, numbers))

# %%
fig = figures.accuracy_bars(results, numbers)

# %% [markdown]
# ## Verdict
# The criteria are declared in `lib/cgn/claims.py` (table below; accuracies in percent). Trained on
# original, GAN or original + GAN data the classifier's test accuracy stays at most 50% on colored and at most 20% on
# double-colored and wildlife MNIST (the cue, not the shape, was learnt); trained on CGN data the test
# accuracy is within 10 points of the paper's and at least 25 points above the original data's (per seed);
# original + CGN data is also at least 25 points above the original data's. Preconditions: the
# original-data classifier trained (at least twice chance on the real training images), and the GAN's
# images carry the label (a classifier trained on them reaches 90% on the real biased training images, as
# the paper's GAN row implies); where one fails, its row is inconclusive. A metric is reproduced when the
# one-sided 95% interval of its mean over seeds lies on the passing side; one seed is inconclusive.

# %%
display(log.criteria())
paper, seed004 = numbers["paper"], numbers["seed 004"]
for variant in variants:
    name = variant.replace("_", "-")
    original, cgn = (experiments.per_seed(results, "test", 100, variant=variant, data=d) for d in ("original", "CGN"))
    real_train = {d: experiments.per_seed(results, "real train", 100, variant=variant, data=d)
                  for d in ("original", "GAN")}
    log.precondition(claims.original_trained(variant), real_train["original"])
    log.precondition(claims.gan_carries_label(variant), real_train["GAN"])
    log.track(f"{name}: GAN data, accuracy on the real training images [%]", real_train["GAN"])
    for data in ("original", "GAN", "original + GAN"):
        log.check(f"{name}: {data} data, test accuracy [%]",
                  experiments.per_seed(results, "test", 100, variant=variant, data=data),
                  paper=paper[variant].get(data, (None, None))[1],
                  reproductions={"seed 004": seed004[variant][data][1]})
    log.check(f"{name}: CGN data, test accuracy [%]", cgn, paper=paper[variant]["CGN"][1], reproductions={
        "seed 004": seed004[variant]["CGN"][1],
        "seed 004, 5 seeds": reference.CGN_TABLE3["cgn_test_5_seeds"]["seed 004"][variant][0]})
    log.check(f"{name}: CGN minus original data, test accuracy [points]", np.subtract(cgn, original).tolist(),
              paper=round(paper[variant]["CGN"][1] - paper[variant]["original"][1], 1),
              reproductions={"seed 004": round(seed004[variant]["CGN"][1] - seed004[variant]["original"][1], 1)})
    both = experiments.per_seed(results, "test", 100, variant=variant, data="original + CGN")
    log.check(f"{name}: original + CGN minus original data, test accuracy [points]",
              np.subtract(both, original).tolist(), reproductions={
                  "seed 004": round(seed004[variant]["original + CGN"][1] - seed004[variant]["original"][1], 1)})
log.finish(records_dir)

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
