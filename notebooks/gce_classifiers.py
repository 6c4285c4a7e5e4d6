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
architectures = ["cnn", "resnet", "densenet", "inception", "mean_intensity"]  # keys of lib.gce.models.ARCHITECTURES
seeds = [0]                # one classifier and one GCE per seed and architecture
device = "auto"
classifier_epochs = 1      # epochs of the full-size split, the same for every architecture
gce_steps = 80
n_alpha = 8                # Monte-Carlo samples of the causal term during training
n_beta = 4
train_sampler = "mc"       # how the causal term is sampled in training: "mc" (the paper's) or "qmc"
eval_n_alpha = 20          # samples of the reported flows, randomised quasi-Monte Carlo
eval_n_beta = 10
sweep_eval_rows = 50       # validation rows over which decision changes and intensity correlations are measured
sweep_rows_per_class = 2   # rows shown in the sweep figures
progress = True

# %%
from IPython.display import display

from lib.core.data import image_splits
from lib.gce import OFFSETS, claims, experiments, figures, latent_sweep, reference
from lib.report import start
from lib.report.claims import lookup

numbers = reference.GCE_CLASSIFIER_NUMBERS
lams = reference.explainer_lams(architectures)
settings = experiments.run_settings("mnist_3_8", classifier_epochs, gce_steps, n_alpha, n_beta,
                                    architectures=architectures, lams=lams, train_sampler=train_sampler)
claim = lookup(claims.CLAIMS, "gce_classifiers")
fraction, budget = claims.budget(settings, "mnist_3_8")
dev, log = start(claim, "gce_classifiers", profile, seeds, device, settings, budget=fraction,
                 budget_text=f"{budget}; classifiers {settings['classifier_epochs']} of 20 epochs")
data = image_splits(settings["dataset"], settings["classes"], device=dev)
log.header(data=data.note, **experiments.header_lines(data, settings, "mnist_3_8"),
           Classifiers=f"{', '.join(architectures)}; SGD as the paper's CNN, {classifier_epochs} epochs; λ = "
                       f"{numbers['mean_intensity_lam']} for the mean-intensity classifier, as seed 002")

# %% [markdown]
# ## Classifiers and explainers
# Every classifier is trained with the paper's recipe (SGD, lr 0.1, momentum 0.5, decay 0.7 per epoch, batch
# 64); the architectures are in `lib/gce/models.py`. For each, a GCE with the paper's 3-vs-8 settings is
# trained against it, then evaluated by `lib.gce.explainer_report` on the validation split
# (`lib.gce.experiments.classifier_comparison`). Models are cached.

# %%
runs = experiments.classifier_comparison(data, settings, architectures, lams, seeds, (eval_n_alpha, eval_n_beta),
                                         sweep_eval_rows, progress=progress)
columns = ["accuracy", "I(α; Ŷ)", "β leak", "α sweep: smallest change rate", "β sweep: largest change rate",
           "α ablation drop", "largest β ablation drop", "corr(α, intensity)", "largest |corr(β, intensity)|"]
display(experiments.mean_sd(runs.table, "architecture", columns))
display(runs.table[["architecture", "seed", "classifier seconds", "GCE seconds", "cached"]].round(1))

# %% [markdown]
# ## The same measurements side by side
# Bars are means over seeds, with one standard deviation. Dashed lines mark the criteria of the verdict below.

# %%
columns_of = {  # the explainer's metrics below, as in the headline notebook: metric -> column
    "α sweep, rows whose decision changes": "α sweep: smallest change rate",
    "β sweep, largest fraction of rows whose decision changes": "β sweep: largest change rate",
    "largest β flow / α flow": "β leak",
    "accuracy drop when α is removed": "α ablation drop",
    "largest accuracy drop when a β is removed": "largest β ablation drop"}
limits = {column: claim.metric(f"cnn: {metric}").criterion.threshold for metric, column in columns_of.items()}
fig = figures.measures_by(runs.table, "architecture", columns[1:], limits)

# %% [markdown]
# ## Latent sweeps
# For each classifier (first seed), α and the β factor whose sweep changes the decision most often. Frames are
# coloured by the classifier's decision.

# %%
first = runs.table[runs.table.seed == seeds[0]]
for architecture, beta in zip(first["architecture"], first["β with the largest change rate"]):
    figs = figures.latent_sweeps(*runs.models[architecture, seeds[0]], data, [0, beta], per_class=sweep_rows_per_class,
                                 title=f"{architecture}: sweep of {{factor}} (seed {seeds[0]})")

# %% [markdown]
# ## What α encodes for the mean-intensity classifier
# Correlation between the sweep offset and the decoded image's mean intensity, per factor (rows' own means
# removed; `lib.gce.sweep_intensity_correlation`). A classifier that looks only at brightness can only be
# explained by a factor that changes brightness; seed 002 saw β₁ and β₂ change it as well. That question needs
# β sweeps that change the decoded image at all: below, per seed, the largest (over β) mean per-pixel range
# along the sweep, over the same rows (0 when the explainer decodes the same image whatever β is).

# %%
def beta_pixel_range(explainer, classifier, rows):
    betas = range(explainer.k, explainer.k + explainer.l)
    sweeps = (latent_sweep(explainer, classifier, rows, i, OFFSETS)[0] for i in betas)
    return max((images.amax(1) - images.amin(1)).mean().item() for images in sweeps)


mean_intensity = runs.table[runs.table.architecture == claims.POOR]
if len(mean_intensity):
    display(mean_intensity.set_index("seed").filter(regex="^intensity correlation ").round(2))
    fig = figures.factor_bars(mean_intensity, "intensity correlation", "corr(offset, mean intensity)")
    beta_moves = [beta_pixel_range(*runs.models[claims.POOR, seed], data.val[0][:sweep_eval_rows])
                  for seed in mean_intensity.seed]
    display(mean_intensity[["seed"]].assign(**{"β sweeps: largest mean per-pixel range": beta_moves}).round(4))

# %% [markdown]
# ## Verdict
# Criteria, declared in `lib/gce/claims.py` before the runs (table below), are those of the headline
# notebook: the classifier reaches 97% validation accuracy; α flips the decision in ≥ 75% of sweep rows and no
# β in more than 25%; the largest β flow stays below 10% of α's; removing α costs ≥ 25 points and removing
# any β ≤ 5 points. An explainer's metrics need its classifier above chance + 0.25 on every seed (else
# inconclusive: there is no room for the 25-point drop). For the mean-intensity classifier the question is
# different: its accuracy must be poor (≤ 90%), α must track brightness (|correlation| ≥ 0.8), and seed
# 002's observation that some β tracks it too is checked as |correlation| ≥ 0.5, if on every seed some β sweep
# changes the decoded image (mean per-pixel range ≥ 0.01; else inconclusive). A metric is reproduced when
# the one-sided 95% interval of its mean over seeds lies on the passing side (one seed: inconclusive).

# %%
display(log.criteria())
# Not regression-checked at the smoke profile: after 80 steps the explainer metrics span their whole range between
# seeds (notebooks/baselines/gce_classifiers.json) and an AVX2 run moved one outside five seeds' spread.
explainer_check = "none" if profile == "smoke" else "value"
for architecture, run in runs.table.groupby("architecture", sort=False):
    seen = {source: v[architecture] for source, v in numbers["accuracy"].items() if architecture in v}
    # regression-checked only: the explainer's data term settles even where the sweeps are still noise
    log.track(f"{architecture}: D = SSE + KL at the end of training", run["D"].tolist())
    log.check(f"{architecture}: validation accuracy", run["accuracy"], reproductions=seen)
    if architecture == claims.POOR:
        log.precondition(claims.BETA_MOVES, beta_moves)
        log.check(f"{architecture}: |corr(α, mean intensity)|", run["corr(α, intensity)"].abs())
        log.check(f"{architecture}: largest |corr(β, mean intensity)|", run["largest |corr(β, intensity)|"])
        log.check(f"{architecture}: α sweep, rows whose decision changes", run["α sweep: smallest change rate"])
        continue
    log.precondition(f"{architecture}: {claims.TRAINED}", run["accuracy"])
    for metric, column in columns_of.items():
        inception = architecture == "inception" and metric.startswith("β sweep")
        log.check(f"{architecture}: {metric}", run[column], check=explainer_check,
                  note="seed 001 saw β sweeps change the decision with Inception" if inception else "")
log.finish(records_dir)

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
