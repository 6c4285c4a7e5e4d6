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
# # CGN claim 1: the mechanisms are learned separately and recombine into counterfactuals
#
# **Claim** (Sauer & Geiger, 2021, Sec. 4.1, MNIST part): a counterfactual generative network trained on
# a biased MNIST variant learns a *shape* mechanism (the digit's mask), a *texture* mechanism (the
# digit's colour or texture) and a *background* mechanism, each controlled by its own label, so that
# giving them different labels yields high-quality counterfactual images that never occur in the data.
# The paper shows this qualitatively (image grids). Reproduction 004 confirmed the grids with the authors'
# code but found that the digit masks often **collapse** (a blob in a bright frame); with its extra *edge
# loss* (mean mask value within 3 pixels of the border) all ten digit masks survived in 75% of 20
# colored-MNIST runs, and in none without it.
#
# **What this notebook does.** For each variant (colored, double-colored, wildlife MNIST) it trains (or
# loads from the model cache) a CGN, shows what each mechanism produces and a grid of counterfactuals,
# and *measures* the two things the grids are meant to show: (1) whether each digit's mask is intact
# (plausible area, empty border, recognised as that digit by a shape classifier trained on real digits)
# and (2) whether texture and background obey their own labels (a nearest-colour "cue classifier" fitted
# on the real training images; definitions in `lib/cgn/quality.py`). It then repeats the training over
# several seeds with and without the edge loss and counts intact masks, seed 004's collapse experiment.
#
# **How to read the numbers.** Every number comes from this run, whose profile, seeds, step counts,
# device and budget (a fraction of the paper's CGN training) are printed below. The parameters cell holds
# the quick `smoke` profile used by CI (a few dozen training steps: the images are noise and the verdicts
# are regression checks only); the report shows the `cpu` profile (far fewer steps than the paper's ~47k:
# see the run cell) and the `paper` profile is for a GPU.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
seeds = [0]                # one CGN per variant and seed
device = "auto"
progress = True
variants = ["colored", "double_colored", "wildlife"]
cgn_steps = 30             # training steps per CGN (paper: 15 epochs, about 47k steps of batch 16)
ngf = 32                   # base width of the mechanisms (paper 32)
generator_seed = None      # the CGN of this one seed serves every seed (None: each seed its own)
collapse_seeds = [0]       # seed 004 used 20 runs; the study runs on colored MNIST, on pages that include it
collapse_steps = 10
n_per_class = 50           # masks sampled per digit for the intact check
shape_epochs = 1           # epochs of the shape classifier on real binarised digits
n_cue = 500                # counterfactuals for the cue-control accuracy

# %%
from IPython.display import display

from lib.cgn import PAPER_STEPS, STYLE_SUBSTITUTE, claims, counterfactual_mnist, experiments, figures, reference
from lib.report import start
from lib.report.claims import lookup

collapse_variant = claims.COLLAPSE_VARIANT
study_collapse = collapse_variant in variants
if study_collapse and not collapse_seeds:
    raise ValueError(f"a page with {collapse_variant} MNIST runs seed 004's collapse study: give collapse_seeds")
settings = {"cgn_steps": cgn_steps, "ngf": ngf, "collapse_steps": collapse_steps,
            "collapse_seeds": list(collapse_seeds), "n_per_class": n_per_class, "generator_seed": generator_seed}
budget, budget_text = claims.budget_fraction(settings)
dev, log = start(lookup(claims.CLAIMS, claims.key("cgn_counterfactuals", variants)), "cgn_counterfactuals", profile,
                 seeds, device, settings, budget=budget, budget_text=budget_text)
log.header(data="MNIST training file with 10,000 images (a prefix of the official 60,000: reduced training set) "
                "for the biased training splits; official test split for the randomised test splits",
           CGN=f"{cgn_steps} steps of batch 16 per variant (paper: {PAPER_STEPS:,}), base width {ngf} (paper 32), "
               "losses: least-squares GAN, mask entropy, seed 004's edge loss (weight 1) and a "
               f"{STYLE_SUBSTITUTE}.",
           Collapse_study=(f"{collapse_variant}, seeds {collapse_seeds}, {collapse_steps} steps each, with and "
                           "without the edge loss." if study_collapse
                           else f"not on this page (it runs on {collapse_variant} MNIST)."))

# %% [markdown]
# ## The data
# Top: the biased training split, where the colour or texture follows the label. Bottom: the test split,
# where it is drawn at random (once, from a fixed seed). Colored MNIST uses ten class colours of our
# choosing (the original downloads a pre-made file); double-colored MNIST the original's colour lists;
# wildlife MNIST the original's texture images.

# %%
for variant in variants:
    fig = figures.class_examples({split: counterfactual_mnist(variant, split) for split in ("train", "test")},
                                 title=f"{variant} MNIST: first image of each digit")

# %% [markdown]
# ## Training
# One CGN per variant and seed, with the original configs' loss weights and initialisation (mask-entropy
# weight 0.1 / 0.3 / 0.3; linear discriminator for colored and double-colored, convolutional for wildlife).

# %%
runs = experiments.cgn_runs(variants, seeds, dev, steps=cgn_steps, ngf=ngf, generator_seed=generator_seed,
                            progress=progress)
training = experiments.training_summary(runs)
display(training.round(3))

# %% [markdown]
# ## What each mechanism produces
# For each digit class (columns), one sample of the mask m (white = digit), the shuffled foreground texture
# f, the shuffled background b and the composite m·f + (1 − m)·b; all three mechanisms get the same label.
# First seed shown.

# %%
for variant in variants:
    fig = figures.mechanism_samples({variant: runs[variant, experiments.ALL_LOSSES, seeds[0]].model},
                                    title=f"{variant}: mechanisms (seed {seeds[0]})")

# %% [markdown]
# ## Counterfactuals
# Each row keeps one mask (one sample of the shape mechanism for that digit); column j gives the texture
# mechanism label j and the background mechanism label j + 5 (mod 10). In the training data none of these
# combinations occur except where the labels agree with the shape.

# %%
for variant in variants:
    fig = figures.counterfactual_grid(runs[variant, experiments.ALL_LOSSES, seeds[0]].model, range(10), seed=1,
                                      title=f"{variant}: counterfactuals (t = texture label, b = background label)")

# %% [markdown]
# ## Measured: intact masks and cue control
# A shape classifier trained only on real binarised digits judges the masks; its test accuracy on real
# digits is printed first. Per variant and seed: the number of digit classes (of 10) whose masks are
# intact, the classifier's mean accuracy on the masks, and the cue accuracies of counterfactual samples
# (texture and background labels drawn independently of the shape label).

# %%
classifier, classifier_acc = experiments.shape_classifier(dev, epochs=shape_epochs, progress=progress)
print(f"shape classifier: {classifier_acc:.3f} accuracy on the binarised MNIST test digits")
log.update_settings(shape_classifier_test_accuracy=round(classifier_acc, 4))
quality = experiments.mask_quality(runs, classifier, n_per_class).merge(experiments.cue_accuracies(runs, n_cue))
display(quality.round(3))

# %% [markdown]
# ## Mask collapse with and without the edge loss
# Seed 004's experiment: train the same CGN on colored MNIST from several seeds, with and without the
# edge loss, and count the intact digit masks of each run (on the pages that include colored MNIST).

# %%
if study_collapse:
    collapse = experiments.collapse_study(collapse_variant, collapse_seeds, dev, classifier, steps=collapse_steps,
                                         ngf=ngf, n_per_class=n_per_class, progress=progress)
    display(collapse.round(3))
    seed004 = reference.CGN_NUMBERS["collapse"]
    fig = figures.intact_histogram(collapse, reference={"with": seed004["with_edge"],
                                                        "without": seed004["without_edge"]})

# %% [markdown]
# ## Verdict
# The criteria are declared in `lib/cgn/claims.py` (table below). High-quality counterfactuals (claim 1)
# need intact masks for every digit — at least 9 of 10 per variant — and mechanisms that obey their own
# labels: texture and background cue accuracies of at least 0.9 on counterfactual samples (chance is
# 0.1). The mask counts need a shape classifier that recognises real digits. The collapse experiment is
# compared with seed 004 run by run: with the edge loss at least half of the runs keep all ten masks, and a
# quarter of the runs more than without it (per seed, the same seed with and without). A metric is
# reproduced when the one-sided 95% interval of its mean over seeds lies on the passing side; one seed
# is inconclusive.

# %%
display(log.criteria())
log.precondition(claims.SHAPE_CLASSIFIER.name, classifier_acc)
for variant in variants:
    rows = quality[quality.variant == variant]
    log.check(f"{variant}: intact digit masks (of 10)", rows["intact masks"].tolist(), paper=10,
              note="paper: qualitative grids with all digits",
              resolution=1 / len(seeds))  # a count: the mean over seeds moves in steps
    log.check(f"{variant}: texture cue accuracy of counterfactuals", rows["texture cue accuracy"].tolist())
    if variant != "colored":
        log.check(f"{variant}: background cue accuracy of counterfactuals", rows["background cue accuracy"].tolist())
if study_collapse:
    with_edge, more = experiments.edge_loss_runs(collapse)
    note = (f"one value per run (1: all ten masks intact), {len(collapse_seeds)} runs of {collapse_steps} steps "
            "each way")
    log.check(f"{collapse_variant}: runs with all 10 masks intact, with edge loss", with_edge,
              reproductions={"seed 004": seed004["with_edge"]}, note=note, resolution=1 / len(collapse_seeds))
    log.check(f"{collapse_variant}: runs with all 10 masks intact, with minus without edge loss", more,
              reproductions={"seed 004": seed004["with_edge"] - seed004["without_edge"]}, note=note,
              resolution=1 / len(collapse_seeds))
for variant in variants:  # regression-checked only: training curves and masks move with any change to the CGN
    for loss in experiments.LOSS_COLUMNS:
        log.track(f"{variant}: final {loss} loss", training.loc[training.variant == variant, loss].tolist())
    log.track(f"{variant}: mean mask value", quality.loc[quality.variant == variant, "μ_mask"].tolist())
log.track("shape classifier test accuracy", classifier_acc)
log.finish(records_dir)

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
