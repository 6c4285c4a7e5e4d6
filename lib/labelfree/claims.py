"""Label-Free XAI's claims as data: the criteria of every checked metric (``CLAIMS``, one ``Claim`` per claim
notebook), the rows of the claims matrix (``ROWS``: the paper's claims and reproduction 003's extra
experiments), what a reader of each stored page must know (``ERRATA``) and each notebook's training budget
as a fraction of the paper's.

Metric and precondition names are templates filled with a data set's name, so the notebooks write exactly
the names declared here. A strict claim ("beats", "ahead", "falls") uses the margin ``TIE`` past its point of
equality: a ratio that rounds to 1.000 at three decimals is a tie, not a win, even on every seed.
"""
from __future__ import annotations

from lib.report.claims import Claim, Metric, Precondition, Row
from lib.report.verdict import at_least, at_most, between

from . import reference

SEEDS = 3      # seeds a verdict needs: the cpu profile runs three (seed 003 ran five)
TIE = 0.001    # a difference below this counts as a tie
KIND_NAMES = {"beta": "β-VAE", "tc": "β-TC-VAE"}

# A model that reconstructs its validation inputs no better than their training mean learned nothing an
# explanation of it could be about.
AE_RATIO = "best validation loss / the mean training input's"
TRAINED = "{}: " + AE_RATIO
NO_WORSE_THAN_THE_MEAN = at_most(1, "no worse than reconstructing every input as the mean training input")

# ----------------------------------------------------------------------------- claim 1: feature importance

BEATS_RANDOM = "{}: smallest shift ratio method / random at M = 5, 10 %"
IG_BEST = "{}: IG mean shift over M ≤ 20 % / best other method"
IG_REACHED = "{}: IG shift at M = 20 % / largest IG shift"
AUTOENCODER_DATA = ("MNIST", "ECG5000")


def _features() -> Claim:
    metrics = []
    for name in AUTOENCODER_DATA:
        needs = (TRAINED.format(name),)
        metrics += [
            Metric(BEATS_RANDOM.format(name), at_least(1 + TIE, "every method ahead of random"), needs, SEEDS),
            Metric(IG_BEST.format(name), at_least(1 + TIE, "IG ahead of the best other method; 1.000 is a tie"),
                   needs, SEEDS),
            Metric(IG_REACHED.format(name), at_least(0.5, "half the largest shift; a linear rise reaches 0.2"),
                   needs, SEEDS)]
    return Claim("labelfree_features", "Label-Free XAI claim 1: label-free feature importance", tuple(metrics),
                 tuple(Precondition(TRAINED.format(n), NO_WORSE_THAN_THE_MEAN) for n in AUTOENCODER_DATA))


# ----------------------------------------------------------------------------- claim 2: example importance

GAP = "{}: worst representation-based − best loss-based similarity at M = 5 %"
DROP = "{}: smallest drop of similarity from M = 5 % to 100 %"
RISE = "{}: largest rise of similarity between consecutive M"


def _examples() -> Claim:
    metrics = []
    for name in AUTOENCODER_DATA:
        needs = (TRAINED.format(name),)
        metrics += [
            Metric(GAP.format(name), at_least(TIE, "representation-based ahead; 0 is a tie"), needs, SEEDS),
            Metric(DROP.format(name), at_least(TIE, "every method lower at M = 100 % than at 5 %"), needs, SEEDS),
            Metric(RISE.format(name), at_most(0, "no method's rate rises from one M to the next"), needs, SEEDS)]
    return Claim("labelfree_examples", "Label-Free XAI claim 2: label-free example importance", tuple(metrics),
                 tuple(Precondition(TRAINED.format(n), NO_WORSE_THAN_THE_MEAN) for n in AUTOENCODER_DATA))


# ----------------------------------------------------------------------------- claim 3: disentangled VAEs

CLAIM3 = reference.LABELFREE_CLAIM3
LOW_BETA, HIGH_BETA = CLAIM3["betas"][0], CLAIM3["betas"][-1]
FALL = "{} {}: PCC(β=" + str(LOW_BETA) + ") − PCC(β=" + str(HIGH_BETA) + ")"
LEVEL = "{}: mean PCC over β and kinds"
PRIOR = "MNIST {} with TV prior λ={}: PCC(β=" + str(LOW_BETA) + ") − PCC(β=" + str(HIGH_BETA) + ")"
PRIOR_SET = "MNIST with TV prior λ={}"
# Preconditions of a set of VAEs (a data set, or MNIST with one prior weight), per seed over its models:
# each reconstructs better than the mean image; the unit-saliency PCC correlates the maps of different units,
# so two units must carry information; and β acts through the optimum it sets, so training must have
# levelled off.
VAE_TRAINED = "{}: worst reconstruction loss / the mean training image's"
ACTIVE = "{}: fewest active latent units"
LEVELLED = "{}: largest relative fall of the training loss over its last tenth"
VAE_READY = {VAE_TRAINED: NO_WORSE_THAN_THE_MEAN,
             ACTIVE: at_least(2, "two units to correlate (KL > 0.01 nats)"),
             LEVELLED: at_most(0.01, "the loss fell by at most 1 % over the last tenth of training")}


METHOD_KEYS = {"gradient_shap": "labelfree_disentangle", "integrated_gradients": "labelfree_disentangle/ig"}


def disentangle_claim(datasets=("mnist", "dsprites"), kinds=tuple(KIND_NAMES), betas=CLAIM3["betas"],
                      tv_lambdas=CLAIM3["tv_lambdas"], method="gradient_shap", prior_betas=None) -> Claim:
    """Claim 3's criteria for a run over ``datasets``, ``kinds``, ``betas`` (the paper's first and last) and
    prior weights ``tv_lambdas`` (of seed 003's grid), with saliency maps from ``method`` (GradientShap as
    the paper, or Integrated Gradients as seed 003's App. D.1, whose claim has no published level to
    compare with); ``CLAIMS`` holds the full sweeps'. ``prior_betas``: the prior sweep's β (default ``betas``)."""
    for grid in (betas, betas if prior_betas is None else prior_betas):
        if (grid[0], grid[-1]) != (LOW_BETA, HIGH_BETA):
            raise ValueError(f"the verdicts compare β = {LOW_BETA} with β = {HIGH_BETA}; betas {grid} do not span them")
    if set(tv_lambdas) - set(CLAIM3["tv_lambdas"]):
        raise ValueError(f"prior weights {tv_lambdas} outside seed 003's grid {CLAIM3['tv_lambdas']}")
    if method not in METHOD_KEYS:
        raise ValueError(f"unknown saliency method {method!r}; choose from {list(METHOD_KEYS)}")
    metrics, sets = [], []
    for name in datasets:
        sets.append(name)
        needs = tuple(p.format(name) for p in VAE_READY)
        metrics += [Metric(FALL.format(name, KIND_NAMES[kind]), at_most(0.05, "does not fall by more than 0.05"),
                           needs, SEEDS) for kind in kinds]
        if method == "gradient_shap":
            lo, hi = CLAIM3["pcc_range"]["another reproduction"][name]
            metrics.append(Metric(LEVEL.format(name), between(lo - 0.05, hi + 0.05,
                                                              "another reproduction's range ± 0.05"), needs, SEEDS))
    for lam in tv_lambdas:
        sets.append(PRIOR_SET.format(lam))
        needs = tuple(p.format(PRIOR_SET.format(lam)) for p in VAE_READY)
        fall = at_least(0.05, "falls by at least 0.05, as seed 003 reports")
        metrics += [Metric(PRIOR.format(KIND_NAMES[kind], lam), fall, needs, SEEDS) for kind in kinds]
    title = "Label-free claim 3: unit saliency PCC does not fall with β" + \
        ("" if method == "gradient_shap" else ", with Integrated Gradients (seed 003 App. D.1)")
    return Claim(METHOD_KEYS[method], title, tuple(metrics),
                 tuple(Precondition(p.format(s), c) for s in sets for p, c in VAE_READY.items()))


# ----------------------------------------------------------------------------- claim 4: pretext tasks

PRETEXT_TRAINED = "autoencoders R, D, I: worst best validation loss / the mean training image's"
CLASSIFIER = "classifier C: test accuracy"
TABLE4_GAP = "{}: mean |ours − seed 003 Table 4| over pairs"
PAIRS_MEAN = "{}: mean PCC over the six task pairs"
SALIENCY_C = "saliency: mean PCC with C − mean PCC among R, D, I"
EXAMPLES_RDI = "examples: mean PCC among R, D, I − mean PCC with C"


def _pretext() -> Claim:
    needs = (PRETEXT_TRAINED, CLASSIFIER)
    return Claim("labelfree_pretext", "Label-free claim 4: pretext tasks give different explanations", (
        Metric(PAIRS_MEAN.format("saliency"), at_most(0.6, "moderate correlation at most"), needs, SEEDS),
        Metric(TABLE4_GAP.format("saliency"), at_most(0.1, "within 0.1 of Table 4"), needs, SEEDS),
        Metric(PAIRS_MEAN.format("examples"), at_most(0.3, "weak correlation at most"), needs, SEEDS),
        Metric(TABLE4_GAP.format("examples"), at_most(0.05, "within 0.05 of Table 4"), needs, SEEDS),
        Metric(SALIENCY_C, between(-0.1, 0.1, "|·| ≤ 0.1: C like the others"), needs, SEEDS),
        Metric(EXAMPLES_RDI, at_least(TIE, "label-free tasks agree more among themselves; 0 is a tie"), needs, SEEDS)),
        (Precondition(PRETEXT_TRAINED, NO_WORSE_THAN_THE_MEAN),
         Precondition(CLASSIFIER, at_least(0.5, "five times chance (0.1)"))))


# ----------------------------------------------------------------------------- seed 003's extras

# App. B.2: claim 1's trends on MNIST with a soft mask (a hidden pixel keeps (1 − x_i)/max x of itself) and
# input-dependent baselines (eq. 3 and, with Gaussian noise, eq. 4); seed 003 found the trends gone.
MASK_VARIANTS = ("soft mask", "soft mask, baseline (3)", "soft mask, baseline (4)")
MASK_TREND = "{}: {}"
# claim 1's three quantities (columns of ``evaluation.feature_checks``) -> metric, criterion
MASK_METRICS = {
    "beats random": ("smallest shift ratio method / random at M = 5, 10 %",
                     at_least(1 + TIE, "every method ahead of random")),
    "IG best": ("IG mean shift over M ≤ 20 % / best other method",
                at_least(1 + TIE, "IG ahead of the best other method; 1.000 is a tie")),
    "IG reached": ("IG shift at M = 20 % / largest IG shift",
                   at_least(0.5, "half the largest shift; a linear rise reaches 0.2"))}


def _masks() -> Claim:
    needs = (TRAINED.format("MNIST"),)
    metrics = tuple(Metric(MASK_TREND.format(variant, name), criterion, needs, SEEDS)
                    for variant in MASK_VARIANTS for name, criterion in MASK_METRICS.values())
    return Claim("labelfree_masks", "Seed 003 App. B.2: claim 1's trends with a soft mask and input-dependent "
                 "baselines (MNIST)", metrics, (Precondition(TRAINED.format("MNIST"), NO_WORSE_THAN_THE_MEAN),))


# App. E.1 (Table 10): the paper says the top examples of the four pretext tasks are rarely alike; seed 003
# saw mostly the right digit on top whatever the task. Measured per run on the top-1 DKNN example of each
# test image among claim 4's explained training examples, over the six task pairs.
TOP_SAME = "top-1 example: share of test images where two tasks pick the same example (mean over pairs)"
TOP_CLASS = "top-1 example: share of test images where two tasks pick examples of the same digit (mean over pairs)"
TOP_LABEL = "top-1 example: lowest share, over the tasks, of test images whose top example has their digit"


def _top_examples() -> Claim:
    needs = (PRETEXT_TRAINED, CLASSIFIER)
    different = "the tasks' top examples differ on most test images"
    return Claim("labelfree_top_examples", "Seed 003 App. E.1: the pretext tasks' top examples differ", (
        Metric(TOP_SAME, at_most(0.5, different), needs, SEEDS),
        Metric(TOP_CLASS, at_most(0.5, different), needs, SEEDS),
        Metric(TOP_LABEL, at_least(0.5, "seed 003's observation: mostly the right digit"), needs, SEEDS)),
        (Precondition(PRETEXT_TRAINED, NO_WORSE_THAN_THE_MEAN),
         Precondition(CLASSIFIER, at_least(0.5, "five times chance (0.1)"))))


CLAIMS = (_features(), _examples(), disentangle_claim(), disentangle_claim(method="integrated_gradients"), _pretext(),
          _masks(), _top_examples())


# ----------------------------------------------------------------------------- training budgets

def step_budget(runs: dict, note: str = "") -> tuple[float, str]:
    """The smallest share, over ``runs`` ({name: (epochs, training examples, batch, the paper's epochs, training
    examples, batch)}), of the paper's optimisation steps (epochs × batches an epoch), and a line with both counts."""
    shares, parts = [], []
    for name, (epochs, examples, batch, paper_epochs, paper_examples, paper_batch) in runs.items():
        ours, paper = epochs * -(-examples // batch), paper_epochs * -(-paper_examples // paper_batch)
        shares.append(ours / paper)
        parts.append(f"{name}: {ours:,} of the paper's {paper:,} steps ({epochs} epochs of {examples:,} examples; "
                     f"paper {paper_epochs} of {paper_examples:,})")
    return min(shares), "; ".join(parts) + note


def autoencoder_budget(epochs: dict, data: dict) -> tuple[float, str]:
    """Claims 1 and 2: the autoencoders' steps at most (early stopping may end either run sooner), per data set
    of ``data`` ({name: AutoencoderData}), as a share of the paper's."""
    paper = reference.LABELFREE_CLAIMS_1_2
    return step_budget({name: (epochs[name], len(e.train), paper["batch_size"][name], paper["epochs"][name],
                               paper["train_examples"][name], paper["batch_size"][name]) for name, e in data.items()},
                       ", at most")


def vae_budget(config: dict) -> tuple[float, str]:
    """Claim 3: the VAEs' steps per data set of ``config`` (``experiments.sweep_config``) as a share of the paper's."""
    return step_budget({name: (c["epochs"], c["train"], c["batch_size"], CLAIM3["epochs"],
                               CLAIM3["train_examples"][name], CLAIM3["batch_size"][name]) for name, c in config.items()})


def pretext_budget(epochs: int, examples: int, batch_size: int) -> tuple[float, str]:
    """Claim 4: each encoder's steps at most (early stopping) as a share of the paper's."""
    paper = reference.LABELFREE_CLAIM4
    return step_budget({"MNIST": (epochs, examples, batch_size, paper["epochs"], paper["train_examples"],
                                  paper["batch_size"])}, ", at most")


# ----------------------------------------------------------------------------- the claims matrix

TINY = "Tiny ImageNet is not available offline"
ROWS = (
    Row("labelfree", "Claim 1: label-free feature importance finds the features the representation depends on "
        "(MNIST, ECG5000: steep rise then flat, every method beats random, IG best)", "paper Sec. 4.1",
        {"paper": "✓", "003": "✓"}, ("labelfree_features",)),
    Row("labelfree", "Claim 1 on CIFAR-10 (SimCLR, ResNet-18)", "paper Sec. 4.1", {"paper": "✓", "003": "◐"},
        offline="neither CIFAR-10 nor the SimCLR weights are available offline"),
    Row("labelfree", "Claim 2: label-free example importance finds related training examples (MNIST, ECG5000: the "
        "similarity rate falls with M; DKNN and SimplEx beat Influence Functions and TracIn)", "paper Sec. 4.1",
        {"paper": "✓", "003": "✓"}, ("labelfree_examples",)),
    Row("labelfree", "Claim 2 on CIFAR-10", "paper Sec. 4.1", {"paper": "✓", "003": "✓"},
        offline="neither CIFAR-10 nor the SimCLR weights are available offline"),
    Row("labelfree", "Claim 4: pretext tasks give different explanations (saliency PCC moderate, example PCC weak, "
        "classification apart for examples)", "paper Sec. 4.2", {"paper": "✓", "003": "✓"}, ("labelfree_pretext",)),
    Row("labelfree", "Claim 3: the unit saliency maps of β-VAE and β-TC-VAE stay correlated as β grows (MNIST, "
        "dSprites)", "paper Sec. 4.3", {"paper": "✓", "003": "✓"}, ("labelfree_disentangle",)),
    Row("labelfree", "Seed 003: claim 1 on Tiny ImageNet", "seed 003 Sec. 4.2", {"003": "✓"}, offline=TINY),
    Row("labelfree", "Seed 003: claim 1 on a citation graph (Cora, variational graph autoencoder)", "seed 003 Sec. 4.2",
        {"003": "✗"}, offline="Cora is not available offline"),
    Row("labelfree", "Seed 003: claim 2 on Tiny ImageNet", "seed 003 Sec. 4.2", {"003": "✓"}, offline=TINY),
    Row("labelfree", "Seed 003: claim 2 on news texts (AGNews, GRU autoencoder)", "seed 003 Sec. 4.2", {"003": "✓"},
        offline="AGNews is not available offline"),
    Row("labelfree", "Seed 003: with a total-variation attribution prior the unit saliency PCC falls as β grows "
        "(MNIST)", "seed 003 Sec. 4.2", {"003": "✓"}, ("labelfree_disentangle",)),
    Row("labelfree", "Seed 003: claim 1's trends with a softer mask and input-dependent baselines (MNIST)",
        "seed 003 App. B.2", {"003": "✗"}, ("labelfree_masks",)),
    Row("labelfree", "Seed 003: claim 3 with Integrated Gradients instead of GradientShap", "seed 003 App. D.1",
        {"003": "✓"}, ("labelfree_disentangle/ig",)),
    Row("labelfree", "Claim 4's figures: the top examples of the pretext tasks differ (seed 003, Table 10: unconfirmed, "
        "mostly the right digit whatever the task)", "seed 003 App. E.1", {"003": "✗"}, ("labelfree_top_examples",)),
    Row("labelfree", "Seed 003: label-free feature importance of the attribution-prior VAEs (latent shift, Table 8)",
        "seed 003 App. D.5", {"003": "✓"}),
)


# ----------------------------------------------------------------------------- what the stored pages get wrong

# Every Label-Free page was re-executed under these criteria; a page that goes stale gets its entry here.
ERRATA: dict[str, str] = {}
