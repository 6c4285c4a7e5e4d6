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
# # GCE Algorithm 1: selecting (K, L, λ)
#
# **Claim** (O'Shaughnessy et al., 2020, Sec. 4 and Algorithm 1): a "principled procedure" selects the
# number of causal factors K, of non-causal factors L and the weight λ of the data term:
#
# 1. with K = 0 and λ = 0, optimise only the data term D and increase L until D *plateaus*;
# 2. repeat: increment K and decrement L (K + L fixed); increase λ until D *approaches* its step-1 value;
# 3. until the causal term C = I(α; Ŷ) *plateaus*; use (K, L, λ) from immediately before the plateau.
#
# The paper reports tuning curves (its Figs. 11 and 16) and picks (1, 7, 0.05) for MNIST 3/8 and
# (2, 4, 0.05) for Fashion-MNIST t-shirt/dress/coat. "Plateau" and "approaches" are not defined, and the
# original code has no implementation of the procedure. Seed 000 implemented it (ξ = 0.05, λ₀ = 10⁻³,
# κ = 10^0.5) and got (1, 9, 0.001) on MNIST 3/8; seed 001 (FMNIST, 3000 steps per run) found that the
# choice hinges on the approach threshold: 6% gave (2, 4, 0.04), 5% gave (2, 5, 0.07).
#
# **Definitions used here** (`lib/gce/select.py`; each a parameter below):
# * *plateau*: the relative improvement from one candidate to the next (a decrease of D, an increase of C)
#   is at most ξ (`xi`) for `window` consecutive candidates; the candidate just before is chosen;
# * *approaches*: λ runs through λ₀·κʲ (`lam0`, `kappa`, `n_lams` values) and stops at the first λ whose D
#   is within ξ (relative, from above) of the step-1 D at the same K + L;
# * D is SSE + KL per sample on the validation images, C the information flow with fixed Monte-Carlo
#   draws (`eval_n_alpha` × `eval_n_beta`); the paper's curves are end-of-training values.
#
# **What this notebook does.** It trains the whole grid of step 1 (plain VAEs, K + L = 1 … `max_total`)
# and of step 2 (GCEs with K = 1 … `k_max` at the K + L chosen by step 1, every λ of the grid), each
# with `gce_steps` steps, through the model cache; runs Algorithm 1 on these curves; draws them beside the
# paper's; recomputes the choice for several thresholds ξ *from the same trained models* (no retraining);
# applies the same definitions to the paper's published curves; and ends with a verdict table.
#
# **How to read the numbers.** The parameters cell holds the quick `smoke` profile used by CI (tiny grid,
# a few dozen steps: a regression check, not evidence); the report shows the `cpu` or `paper` profile,
# executed by `python -m lib.report.runner`. Every seed trains the whole grid again, with its own classifier:
# a choice is a random quantity, and a single seed's choice cannot tell a reproduced selection from chance
# (its verdicts are inconclusive). The `cpu` profile runs one seed because a seed cost 15 (MNIST) and 55
# (Fashion-MNIST) CPU-minutes in the stored runs: two more exceed the report's allowance of 15 CPU-minutes
# more per page. The `paper` profile (GPU) runs three. On MNIST the offline data hold only the first 10,000 training images
# (the **Data** line below says so): the VAEs and GCEs see about a sixth of the paper's training set, so
# our D values are not directly comparable with the paper's, only their trends and the choices made.

# %% tags=["parameters"]
profile = "smoke"          # name of the profile that set these parameters (recorded with the results)
records_dir = ""           # folder for verdict records; empty: not written (the runner sets it)
dataset = "mnist_3_8"      # a key of lib.gce.reference.GCE_SETTINGS
seeds = [0]                # one classifier and one grid of models per seed
device = "auto"
classifier_epochs = 1      # None means as in seed 000 Table 5, an epoch being one pass over the full-size split
gce_steps = 40             # training steps per configuration (paper 8000, seed 001 3000)
n_alpha = 8                # Monte-Carlo samples of the causal term during training
n_beta = 4
eval_n_alpha = 20          # Monte-Carlo samples for the C of each trained model
eval_n_beta = 10
max_total = 4              # step 1 tries K + L from 1 to max_total
k_max = 2                  # step 2 tries K from 1 to k_max
lam0 = 0.001               # first lambda of the geometric grid (seed 000)
kappa = 3.1623             # grid factor, 10 to the power 0.5 (seed 000)
n_lams = 3                 # lambdas per K
xi = 0.05                  # plateau and approach threshold, relative (seed 000)
window = 1                 # consecutive steps of at most xi that make a plateau
step2_total = None         # None means step 2 runs at the K + L chosen by step 1; an integer pins it
xi_values = [0.01, 0.03, 0.05, 0.06, 0.1]  # thresholds of the sensitivity table
progress = False

# %%
from IPython.display import display

from lib.core.data import image_splits
from lib.core.train import accuracy
from lib.gce import claims, experiments, figures, reference
from lib.gce import select as gs
from lib.report import start
from lib.report.claims import lookup

lams, total_dims = gs.lambda_grid(lam0, kappa, n_lams), list(range(1, max_total + 1))
settings = experiments.run_settings(dataset, classifier_epochs, gce_steps, n_alpha, n_beta, eval_n_alpha=eval_n_alpha,
                                    eval_n_beta=eval_n_beta, total_dims=total_dims, k_max=k_max, lams=lams, xi=xi,
                                    window=window, step2_total=step2_total)
paper = reference.GCE_SETTINGS[dataset]
paper_choice, paper_curves = (paper["k"], paper["l"], paper["lam"]), reference.PAPER_CURVES.get(dataset)
reproduction_choices = reference.REPRODUCTION_CHOICES.get(dataset, {})
fraction, budget = claims.budget(settings, dataset, per="configuration")
dev, log = start(lookup(claims.CLAIMS, f"gce_algorithm1/{dataset}"), "gce_algorithm1", profile, seeds, device,
                 settings, budget=fraction, budget_text=budget)
data = image_splits(settings["dataset"], settings["classes"], device=dev)
details = experiments.header_lines(data, settings, dataset)
log.header(data=data.note, Images=details["Images"],
           Grid=f"K + L = 1 … {max_total} (step 1), K = 1 … {k_max}, λ ∈ {lams}; ξ = {xi}, window {window}",
           Training=f"{gce_steps} steps of Nα × Nβ = {n_alpha} × {n_beta} per configuration, batch "
           f"{settings['batch_size']}, lr {settings['lr']} (paper: {paper['steps']} steps of {paper['n_alpha']} × "
           f"{paper['n_beta']}); C from {eval_n_alpha} × {eval_n_beta} draws", Classifier=details["Classifier"])

# %% [markdown]
# ## The classifiers, Algorithm 1 and the grid
# Per seed: the paper's CNN, as in the headline notebook (and shared with it through the model cache); then,
# step 1, a plain VAE (K = 0, only D) for every K + L of the grid. Algorithm 1 then runs on the live, memoised
# score table: it picks K + L and trains the step-2 GCEs it needs, in its own order. Finally the rest of the
# step-2 grid (every K ≤ `k_max`, every λ, at the same K + L) is trained, so that the curves can be drawn and
# the choice recomputed for other thresholds without retraining (`lib.gce.experiments.algorithm1`).

# %%
classifiers, runs, trained = experiments.algorithm1(data, settings, seeds, total_dims, lams, xi, window, k_max,
                                                    step2_total, progress)
for seed, classifier in classifiers.items():
    print(f"seed {seed}: classifier {'loaded from cache' if classifier.cached else 'trained'} "
          f"({classifier.history['seconds']:.1f} s); validation accuracy {accuracy(classifier.model, *data.val):.4f} "
          f"(paper {reference.GCE_NUMBERS[dataset]['classifier_accuracy']['paper']})")
display(trained.round(3))
print(f"{len(trained)} configurations ({sum(run.visited for run in runs.values())} visited by the algorithm), "
      f"{int((~trained['cached']).sum())} trained now; training time {trained['train s'].sum():.0f} s in all "
      f"(cached runs: time of their original training)")

# %% [markdown]
# ## The choice
# Per seed, step 2 per K: the λ at which D came within ξ of the step-1 D (or the grid's last λ), and C there;
# then the tuning curves beside the paper's.

# %%
for seed, run in runs.items():
    print(f"seed {seed}: {run.selection.summary()}")
    display(run.selection.step2_table().round(4), run.choices(paper_choice, reproduction_choices))
    fig = figures.tuning_figure(run, paper_curves)
    fig.suptitle(f"seed {seed}", y=1.01)

# %% [markdown]
# The C panel shows every trained K at the λ the approach rule picks for it, including the K beyond the
# plateau at which the algorithm stopped. In the paper's curves (grey) D falls from 40.2 to 27.1 over
# K + L = 1 … 12 on MNIST 3/8 and C is 0.675 for K = 1, 2, 3. The λ curves of the paper and ours are not at the same K + L when step 1 picks a
# different value; the paper's were presumably taken at its chosen K + L.

# %% [markdown]
# ## How the choice moves with the threshold ξ
# The same trained models, the selection recomputed for each ξ (used both for the plateaus and for the
# approach). Step 2 stays at K + L = the trained value; the column "step 1 K + L" says what step 1 alone
# would pick at that ξ (when it differs, step 2 would need models that were not trained). Beside it, the
# same definitions applied to the paper's own published curves (λ against the paper's D at its chosen
# K + L).

# %%
distinct = []
for seed, run in runs.items():
    xi_table = run.thresholds(xi_values, paper_curves)
    display(xi_table.set_index("ξ").rename_axis(f"seed {seed}, ξ"))
    distinct.append(len(xi_table[["step 1 K + L", "K", "λ"]].drop_duplicates()))
print(f"distinct (step-1 K + L, K, λ) over ξ ∈ {xi_values}, per seed: {distinct}; paper: K + L = {sum(paper_choice[:2])}")

# %% [markdown]
# Seed 001's finding concerns the approach threshold alone. Below, the plateau threshold stays at ξ and
# only the approach threshold varies: the λ chosen for each K (an asterisk: the grid ended first).

# %%
for seed, run in runs.items():
    display(run.approach_thresholds(xi_values).set_index("approach threshold").rename_axis(f"seed {seed}"))

# %% [markdown]
# ## Verdict
# Criteria are declared in `lib/gce/claims.py` before the runs (table below). Step 1: D must fall with K + L
# (Spearman ρ ≤ −0.7, a threshold the paper's own curves pass: −0.998 on MNIST 3/8 and −0.775 on
# Fashion-MNIST, where D wobbles on its plateau) and plateau within ±1 of the paper's K + L. Step 2: C must be
# flat in K as in the paper (range over K at most 5% of its mean); D must fall as λ grows at K = 1 (ρ ≤ −0.8;
# the paper's curves: −1). The selected K must equal the paper's, the selected λ lie within a factor √10 (one
# step of seed 000's grid) of the paper's, and the selection must be the same for every ξ of the sensitivity
# table. A comparison that cannot be made (no plateau inside the grid, a single K, fewer than 3 points for a
# rank correlation) is a failed precondition: inconclusive. A metric is reproduced when the one-sided 95%
# interval of its mean over seeds lies on the passing side (one seed: inconclusive).

# %%
display(log.criteria())
selections, trends = [run.selection for run in runs.values()], [run.trends() for run in runs.values()]
published, paper_total = gs.paper_trends(paper_curves), sum(paper_choice[:2])
log.precondition(claims.STEP1_POINTS, [len(total_dims)] * len(seeds))
log.precondition(claims.PLATEAU, [float(s.step1_plateau) for s in selections])
log.precondition(claims.K_VALUES, [len(s.step2) for s in selections])
log.precondition(claims.LAMBDA_POINTS, [len(lams)] * len(seeds))
log.check("step 1: Spearman ρ of D with K + L", [t["ρ(D, K + L)"] for t in trends], paper=published["ρ(D, K + L)"])
log.check("step 1: K + L at the plateau of D", [s.step1_total for s in selections], paper=paper_total,
          reproductions={name: c[0] + c[1] for name, c in reproduction_choices.items()},
          note=f"ξ = {xi}, window {window}, K + L = 1 … {max_total}")
log.check("step 2: range of C over K / mean", [t["C range / mean"] for t in trends], paper=published["C range / mean"],
          note=f"K = {[[t['k'] for t in s.step2] for s in selections]} per seed, each at its chosen λ")
log.check("step 2: Spearman ρ of D with λ (K = 1)", [t["ρ(D, λ)"] for t in trends], paper=published["ρ(D, λ)"])
log.check("selected K", [s.k for s in selections], paper=paper_choice[0],
          reproductions={name: c[0] for name, c in reproduction_choices.items()})
log.check("selected λ (weight of D)", [s.lam for s in selections], paper=paper_choice[2],
          reproductions={name: c[2] for name, c in reproduction_choices.items()})
log.check("distinct selections over ξ", distinct, reproductions=reference.REPRODUCTION_DISTINCT.get(dataset, {}),
          note=f"ξ ∈ {xi_values}; (step-1 K + L, K, λ)")
log.track("selected L", [s.l for s in selections])  # regression-checked only: K and λ are metrics above
log.finish(records_dir)

# %% [markdown]
# The regression check below is what CI compares (nbval): each checked quantity of a smoke run against
# its baseline over several seeds (`notebooks/baselines/`, tolerance rule in `lib.report.verdict`).

# %%
# NBVAL_CHECK_OUTPUT
print(log.regression_check())
