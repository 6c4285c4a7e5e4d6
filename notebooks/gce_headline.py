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
# # GCE headline claim: α flips the decision, β does not
#
# **Claim** (O'Shaughnessy et al., 2020, Sec. 5): a generative causal explainer learns a latent space in
# which *sweeping the causal factors α changes the classifier's decision while sweeping the non-causal
# factors β does not*, and α carries the information flow to the classifier's output. The paper shows it
# on MNIST 3 vs 8 (K = 1, L = 7, λ = 0.05), MNIST 1/4/9 (K = 2, L = 2, λ = 0.1) and Fashion-MNIST
# t-shirt/dress/coat (K = 2, L = 4, λ = 0.05); the `dataset` parameter picks one, and the run cell below
# says which this page shows. With `k`, `l`, `lam` set, the page instead judges a reproduction's claim at its own
# Algorithm-1 selection: seed 000's (1, 9, 0.001) on MNIST 3 vs 8, which it found as good as the paper's, or seed
# 001's (2, 4, 0.04) and (2, 5, 0.07) on Fashion-MNIST, at which it saw the β sweeps change the decision too.
#
# **What this notebook does.** It trains (or loads from the model cache) the paper's CNN classifier and
# reports its accuracy; trains the GCE for each seed and shows its loss curves; draws latent sweeps
# framed in the colour of the classifier's decision and *measures* how often the decision changes along
# each latent; estimates the per-factor information flow and the per-factor ablation accuracy; and ends
# with a verdict table against the paper and, for Fashion-MNIST, seed 000 (the only per-factor numbers in a
# reproduction report: its Figure 3). The reproductions confirm the sweeps qualitatively but report no other
# per-factor numbers.
#
# **How to read the numbers.** Every number below comes from this run, whose profile, seeds and device
# are printed in the next cells. The parameters cell holds the quick `smoke` profile used by CI; the
# report shows the `paper` profile (GPU) or the `cpu` profile, executed by `python -m lib.report.runner`.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
dataset = "mnist_3_8"      # a key of lib.gce.reference.GCE_SETTINGS
seeds = [0]                # one classifier and one GCE per seed
device = "auto"
classifier_epochs = 1      # None means as in seed 000 Table 5, an epoch being one pass over the full-size split
gce_steps = 150
n_alpha = 8                # Monte-Carlo samples of the causal term during training
n_beta = 4
train_sampler = "mc"       # "qmc": the reduced-budget estimator validated by the gce_estimator pages
batch_size = None          # None: the paper's batch size and learning rate (lib.gce.reference.GCE_SETTINGS)
lr = None
k = None                   # None: the paper's K, L, λ; others must be a reproduction's selection (see above)
l = None
lam = None
flow_repetitions = 2       # below the paper's Nα × Nβ: draws of the paper's estimator averaged for I(α; Ŷ)
eval_n_alpha = 40          # Monte-Carlo samples for the reported per-factor flows
eval_n_beta = 20
sweep_rows_per_class = 3   # rows shown in the sweep figures
sweep_eval_rows = 100      # validation rows over which decision changes are counted
transition_offsets = 0     # > 0: also a fine alpha transition figure with this many offsets over -2..2
progress = True

# %%
import numpy as np
from IPython.display import display

from lib.core.data import image_splits
from lib.gce import claims, experiments, figures, reference
from lib.gce import estimators as est
from lib.report import start
from lib.report.claims import lookup

overrides = {"train_sampler": train_sampler, "batch_size": batch_size, "lr": lr, "k": k, "l": l, "lam": lam}
settings = experiments.run_settings(dataset, classifier_epochs, gce_steps, n_alpha, n_beta,
                                    **{key: value for key, value in overrides.items() if value is not None})
claim = claims.headline_key(dataset, settings["k"], settings["l"], settings["lam"])
at_papers_choice = claim == f"gce_headline/{dataset}"
paper_budget = reference.GCE_SETTINGS[dataset]["n_alpha"], reference.GCE_SETTINGS[dataset]["n_beta"]
paper = {key: value.get("paper") for key, value in reference.GCE_NUMBERS[dataset].items()}
seed000 = reference.seed000_measures(dataset)
if not at_papers_choice:  # the paper's D and seed 000's per-factor numbers are at the paper's (K, L, λ)
    paper["final_D"], seed000 = None, dict.fromkeys(seed000)
fraction, budget = claims.budget(settings, dataset)
dev, log = start(lookup(claims.CLAIMS, claim), "gce_headline", profile, seeds, device, settings,
                 budget=fraction, budget_text=budget)
data = image_splits(settings["dataset"], settings["classes"], device=dev)
log.header(data=data.note, **experiments.header_lines(data, settings, dataset))
k, n_classes = settings["k"], len(settings["classes"])

# %% [markdown]
# ## The black-box classifier
# The paper's CNN, trained with SGD (lr 0.1, momentum 0.5, step decay 0.7 per epoch, batch 64) on the
# training split, one per seed. On the reduced MNIST training set an "epoch" is the number of steps of one
# pass over the full-size split, so the learning-rate schedule and the number of updates are the paper's
# (with the per-pass schedule, the paper profile's classifiers stopped at 96.7% validation accuracy). Models
# are cached by a hash of architecture, data, hyperparameters, seed and the training code, so re-running the
# notebook reuses them. `lib.gce.experiments.headline` fits
# (or loads) the classifier and the explainer of every seed and evaluates them; the sections below show its
# results, one row per seed.

# %%
runs = experiments.headline(data, settings, seeds, (eval_n_alpha, eval_n_beta), sweep_eval_rows, progress=progress)
table = runs.table.set_index("seed")
display(table[["accuracy", "test accuracy", "classifier seconds", "GCE seconds", "cached"]].T)

# %% [markdown]
# ## Training the explainer
# Objective (minimised): −I(α; Ŷ) + λ·(SSE + KL), Adam (β = 0.5, 0.999), batches drawn with replacement,
# a fixed number of steps. The causal term is the Monte-Carlo information flow of `lib.gce.information_flow`,
# computed in one batched pass with the classifier in eval mode (the original code leaves dropout on).
# The table gives the means over the last sixteenth of the steps (the paper averages the last 500 of 8000).
# Below the paper's Nα × Nβ the training estimate of I(α; Ŷ) is biased upwards (small Nβ), so the judged value is
# then the paper's estimator applied to the final explainer (`lib.gce.estimators.paper_estimate`), as on the
# estimator pages.

# %%
fig = figures.training_curves(runs.curves)
judged_flow, flow_note = "training I(α; Ŷ)", ""
if (n_alpha, n_beta) != paper_budget:
    judged_flow = est.PAPER_ESTIMATE
    table[judged_flow] = [est.paper_estimate(*runs.models[seed], paper_budget, flow_repetitions, seed) for seed in seeds]
    flow_note = (f"the paper's estimator ({est.budget_label(paper_budget)}, mean of {flow_repetitions} draws) on the "
                 f"final explainer, trained at {est.budget_label((n_alpha, n_beta))}")
display(table[list(dict.fromkeys(["training I(α; Ŷ)", judged_flow, "D", "SSE", "KL"]))].round(3))
print(f"upper bound ln {n_classes} = {np.log(n_classes):.3f} nats; paper: I = {paper.get('final_flow')}, "
      f"D = {paper.get('final_D')}")

# %% [markdown]
# ## Latent sweeps
# Validation images are encoded (posterior mean); one latent is shifted by −3 … 3 and the result decoded.
# Each image is framed in the colour of the classifier's decision. First seed shown.

# %%
first = runs.models[seeds[0]]  # (explainer, classifier)
figs = figures.latent_sweeps(*first, data, [*range(k), k], per_class=sweep_rows_per_class,
                             title=f"sweep of {{factor}} (seed {seeds[0]})")

# %% [markdown]
# With `transition_offsets` > 0 (the paper profile for MNIST 1/4/9), a finer sweep of each α over −2 … 2
# shows where the decision switches, one row per class.

# %%
if transition_offsets:
    figs = figures.latent_sweeps(*first, data, range(k), np.linspace(-2, 2, transition_offsets), per_class=1, tile=0.32,
                                 label_every=10, title=f"fine sweep of {{factor}} (seed {seeds[0]})")

# %% [markdown]
# **Measured:** over the first validation images, the fraction of sweep rows (offsets −3 … 3) in which the
# classifier's decision changes, per latent factor and seed.

# %%
display(table.filter(regex="^change rate ").round(2))
fig = figures.factor_bars(runs.table, "change rate", "rows whose decision changes")

# %% [markdown]
# ## Information flow per factor
# For each latent i, z_i takes Nα values and all other latents Nβ values each; the plug-in estimate of
# I(z_i; Ŷ) in nats. Red marks (Fashion-MNIST only): seed 000's bar chart. The plug-in estimate is biased upwards: for a factor
# with no effect on the decision it is of the order of (M − 1)/(2·Nβ) nats (0.02 for two classes and the
# paper's Nβ = 25), so small β flows are compared with that floor, printed below, rather than with zero.

# %%
display(table.filter(regex="^flow ").round(3))
print(f"bias floor (M − 1)/(2·Nβ) at Nβ = {eval_n_beta}: {(n_classes - 1) / (2 * eval_n_beta):.4f} nats")
fig = figures.factor_bars(runs.table, "flow", "information flow [nats]", seed000["flow"], "seed 000")

# %% [markdown]
# ## Ablation
# Encode the validation set, replace one latent by a fresh N(0, 1) draw, decode, classify, and compare with
# the true labels. "original" is the classifier on the data, "re-encoded" on the reconstructions.

# %%
display(table[["original", "reencoded", *table.filter(regex="^removed ")]].round(3))
fig = figures.factor_bars(runs.table, "removed", "accuracy with factor removed", seed000["removed"], "seed 000")

# %% [markdown]
# ## Verdict
# Criteria are declared in `lib/gce/claims.py` before the runs they judge (table below): α must flip the
# decision in at least 75% of sweep rows and each β in at most 25%; α's flow must reach 90% of the paper's
# end-of-training value, and the largest β flow must stay below 10% of α's; removing α must cost at least 25
# points of accuracy and removing any β at most 5 points relative to the re-encoded data; D within 25% of the
# paper's. Where the paper gives no number (ten-class MNIST, run only by seed 002), the classifier must reach
# 97% and α's flow half of ln M, and D is reported without a verdict. At a reproduction's selection the paper's
# D (at another λ) is not compared, and for seed 001's selections the β sweep bound is reversed: seed 001 saw the
# β sweeps change the decision, so its claim holds when the largest β change rate is at least 25%. The
# explainer's metrics need a classifier above chance + 0.25 on every seed (else inconclusive). A metric is
# reproduced when the one-sided 95% interval of its mean over seeds lies on the passing side (one seed:
# inconclusive).

# %%
display(log.criteria())
log.precondition(claims.TRAINED, table["accuracy"])
acc, flow, d = (paper.get(key) for key in ("classifier_accuracy", "final_flow", "final_D"))
log.check("classifier validation accuracy", table["accuracy"], paper=acc)
log.check("α sweep: rows whose decision changes", table["α sweep: smallest change rate"],
          note="fraction of validation rows, offsets −3…3")
log.check("β sweep: largest fraction of rows whose decision changes", table["β sweep: largest change rate"])
log.check("end-of-training I(α; Ŷ) [nats]", table[judged_flow], paper=flow, note=flow_note)
log.check("largest β flow / smallest α flow", table["β leak"], reproductions=seed000["β leak"])
log.check("accuracy drop when α is removed", table["α ablation drop"], reproductions=seed000["α ablation drop"],
          note="the smallest drop over the α factors")
log.check("largest accuracy drop when a β is removed", table["largest β ablation drop"],
          reproductions=seed000["largest β ablation drop"])
if d is not None:
    log.check("data term D (SSE + KL per sample)", table["D"], paper=d)
for term in ("SSE", "KL"):  # regression-checked only: D's two terms move apart when their balance changes
    log.track(f"end-of-training {term}", table[term].tolist())
log.finish(records_dir)

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
