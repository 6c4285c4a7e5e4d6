"""GCE's claims registry: the criteria of every checked metric (``CLAIMS``, one ``Claim`` per claim page), the
rows of the claims matrix (``ROWS``), what a reader of each stored page must know that the page itself gets
wrong or omits (``ERRATA``), and a run's training budget as a fraction of the paper's (``budget``,
``cost_budget``). Criteria are fixed here before the runs they judge; thresholds are absolute numbers.
"""
from __future__ import annotations

import math

from lib.report.claims import Claim, Metric, Precondition, Row
from lib.report.verdict import Criterion, at_least, at_most, between

from . import reference

HEADLINE_DATASETS = ("mnist_3_8", "mnist_1_4_9", "fmnist_0_3_4", "mnist_10")
ALGORITHM1_DATASETS = ("mnist_3_8", "mnist_1_4_9", "fmnist_0_3_4")
PENALTY_DATASETS = ("mnist_3_8", "fmnist_0_3_4")
ARCHITECTURES = ("cnn", "resnet", "densenet", "inception")  # explained like the paper's CNN
POOR = "mean_intensity"  # seed 002's deliberately poor classifier
JUDGED_GAMMA = 1.0  # the β-penalty weight judged against γ = 0
KAPPA = 10 ** 0.5  # the λ grid factor of Algorithm 1 (seed 000's κ)
# Step 1 needs D to fall with K + L. The paper's own curves (reference.PAPER_CURVES) have Spearman ρ = −0.998
# (MNIST 3/8, Fig. 11) and −0.775 (Fashion-MNIST, Fig. 16, where D wobbles on its plateau): −0.7 passes both.
STEP1_RHO = -0.7


def above_chance(dataset: str) -> Criterion:
    """A classifier worth explaining: validation accuracy at least chance + 0.25 (room for the 25-point drop
    that removing α must cause)."""
    return at_least(1 / len(reference.GCE_SETTINGS[dataset]["classes"]) + 0.25, "chance + 0.25")


def bias_floor(dataset: str) -> float:
    """(M − 1)/(2·Nβ) at the paper's Nβ: the plain-MC plug-in bias of a flow that is zero, in nats. A flow
    below it cannot be told from zero by the paper's estimator."""
    s = reference.GCE_SETTINGS[dataset]
    return (len(s["classes"]) - 1) / (2 * s["n_beta"])


TRAINED = "classifier above chance (validation accuracy)"
# A β that changes no pixel cannot carry brightness: the question "does β leak it" needs β sweeps that move the
# decoded image (measured as the largest, over β, mean per-pixel range along the sweep; pixels lie in [0, 1]).
BETA_MOVES = f"{POOR}: β sweeps change the decoded image (largest mean per-pixel range)"


def _headline(dataset: str, selection: tuple | None = None) -> Claim:
    """The paper's claim at its (K, L, λ), or, with ``selection`` (source, (K, L, λ)) from
    ``reference.REPRODUCTION_CHOICES``, that reproduction's claim at its own Algorithm-1 selection: seed 000 says
    its explainer is as good as the paper's (the paper's criteria but D, whose paper value is at another λ);
    seed 001 says the α sweep is right but the β sweeps change the decision too (the β sweep bound reversed)."""
    numbers = reference.GCE_NUMBERS[dataset]
    acc, flow, d = (numbers.get(key, {}).get("paper") for key in ("classifier_accuracy", "final_flow", "final_D"))
    m = len(reference.GCE_SETTINGS[dataset]["classes"])
    guard = (TRAINED,)
    beta_sweep = at_most(0.25)
    if selection and selection[0].startswith("seed 001"):
        beta_sweep = at_least(0.25, "seed 001: β sweeps change the decision too")
    metrics = [
        Metric("classifier validation accuracy",
               at_least(0.97) if acc is None else at_least(acc - 0.015, "paper − 0.015")),
        Metric("α sweep: rows whose decision changes", at_least(0.75), guard),
        Metric("β sweep: largest fraction of rows whose decision changes", beta_sweep, guard),
        Metric("end-of-training I(α; Ŷ) [nats]",
               at_least(0.5 * math.log(m), "0.5 × ln M") if flow is None else at_least(0.9 * flow, "0.9 × paper"),
               guard),
        Metric("largest β flow / smallest α flow", at_most(0.10), guard),
        Metric("accuracy drop when α is removed", at_least(0.25), guard),
        Metric("largest accuracy drop when a β is removed", at_most(0.05), guard)]
    if d is not None and selection is None:
        metrics.append(Metric("data term D (SSE + KL per sample)", between(0.75 * d, 1.25 * d, "paper ± 25%"), guard))
    if selection is None:
        key, title = f"gce_headline/{dataset}", f"GCE {dataset}: α flips the decision, β does not"
    else:
        (source, (k, l, lam)) = selection
        key = _selection_key(dataset, k, l, lam)
        title = f"GCE {dataset} at the Algorithm-1 selection of {source}: (K, L, λ) = ({k}, {l}, {lam})"
    return Claim(key, title, tuple(metrics), (Precondition(TRAINED, above_chance(dataset)),))


def _selection_key(dataset: str, k: int, l: int, lam: float) -> str:
    return f"gce_headline/{dataset}/K{k}_L{l}_lam{lam:g}"


def headline_key(dataset: str, k: int, l: int, lam: float) -> str:
    """The claim that a headline run at (K, L, λ) judges: the paper's at its own choice, a reproduction's at that
    reproduction's selection. A ValueError (before any compute) for any other (K, L, λ): no claim was declared."""
    s = reference.GCE_SETTINGS[dataset]
    if (k, l, lam) == (s["k"], s["l"], s["lam"]):
        return f"gce_headline/{dataset}"
    selections = reference.REPRODUCTION_CHOICES.get(dataset, {})
    if (k, l, lam) in selections.values():
        return _selection_key(dataset, k, l, lam)
    raise ValueError(f"{dataset}: no claim is declared for (K, L, λ) = ({k}, {l}, {lam}); declared: the paper's "
                     f"({s['k']}, {s['l']}, {s['lam']}) and the reproductions' {selections}")


def _classifiers() -> Claim:
    metrics, preconditions = [], []
    for a in ARCHITECTURES:
        guard = (f"{a}: {TRAINED}",)
        preconditions.append(Precondition(guard[0], above_chance("mnist_3_8")))
        metrics += [
            Metric(f"{a}: validation accuracy", at_least(0.97)),
            Metric(f"{a}: α sweep, rows whose decision changes", at_least(0.75), guard),
            Metric(f"{a}: β sweep, largest fraction of rows whose decision changes", at_most(0.25), guard),
            Metric(f"{a}: largest β flow / α flow", at_most(0.10), guard),
            Metric(f"{a}: accuracy drop when α is removed", at_least(0.25), guard),
            Metric(f"{a}: largest accuracy drop when a β is removed", at_most(0.05), guard)]
    metrics += [  # the poor classifier is explained if α tracks brightness, its only input
        Metric(f"{POOR}: validation accuracy", at_most(0.90, "deliberately poor")),
        Metric(f"{POOR}: |corr(α, mean intensity)|", at_least(0.8)),
        Metric(f"{POOR}: largest |corr(β, mean intensity)|", at_least(0.5, "seed 002: β₁, β₂ leak brightness"),
               (BETA_MOVES,)),
        Metric(f"{POOR}: α sweep, rows whose decision changes", at_least(0.75))]
    preconditions.append(Precondition(BETA_MOVES, at_least(0.01, "1% of the pixel range")))
    return Claim("gce_classifiers", "GCE explains any classifier with gradients and probabilities (MNIST 3 vs 8)",
                 tuple(metrics), tuple(preconditions))


STEP1_POINTS, PLATEAU, K_VALUES, LAMBDA_POINTS = ("step 1: K + L values tried", "step 1: D plateaus inside the grid",
                                                  "step 2: K values compared", "step 2: λ values tried")


def _algorithm1(dataset: str) -> Claim:
    s = reference.GCE_SETTINGS[dataset]
    k, total, lam = s["k"], s["k"] + s["l"], s["lam"]
    preconditions = (Precondition(STEP1_POINTS, at_least(3, "a rank correlation needs 3 points")),
                     Precondition(PLATEAU, at_least(1, "1 = yes")),
                     Precondition(K_VALUES, at_least(2, "a range needs 2 K")),
                     Precondition(LAMBDA_POINTS, at_least(3, "a rank correlation needs 3 points")))
    metrics = (
        Metric("step 1: Spearman ρ of D with K + L",
               at_most(STEP1_RHO, "the paper's curves pass: −0.998 (MNIST 3/8), −0.775 (Fashion-MNIST)"),
               (STEP1_POINTS,)),
        Metric("step 1: K + L at the plateau of D", between(total - 1, total + 1, "paper ± 1"), (PLATEAU,)),
        Metric("step 2: range of C over K / mean", at_most(0.05), (K_VALUES,)),
        Metric("step 2: Spearman ρ of D with λ (K = 1)", at_most(-0.8, "the paper's curves: −1"), (LAMBDA_POINTS,)),
        Metric("selected K", between(k, k, "= paper")),
        Metric("selected λ (weight of D)", between(lam / KAPPA, lam * KAPPA, "within a factor √10 of the paper's")),
        Metric("distinct selections over ξ", at_most(1, "one selection for every ξ")))
    return Claim(f"gce_algorithm1/{dataset}", f"GCE {dataset}: Algorithm 1 selects (K, L, λ)", metrics, preconditions)


LEAKAGE = "β leakage to remove: largest β flow at γ = 0 [nats]"


def _beta_penalty(dataset: str) -> Claim:
    g, floor = JUDGED_GAMMA, bias_floor(dataset)
    leak = (LEAKAGE,)
    metrics = (
        Metric(f"largest β flow at γ = {g} [nats]", at_most(floor, "paper's plain-MC bias bound"), leak),
        Metric(f"largest β flow, γ = {g} − 0.5 × γ = 0 [nats]", at_most(0, "at least halved"), leak),
        Metric(f"β sweep: change in largest change rate, γ = {g} − γ = 0", at_most(0, "does not go up")),
        Metric(f"change in largest β ablation drop, γ = {g} − γ = 0", at_most(0, "does not go up")),
        Metric(f"I(α; Ŷ) ratio, γ = {g} / γ = 0", at_least(0.95)),
        Metric(f"D ratio, γ = {g} / γ = 0", at_most(1.05)))
    return Claim(f"gce_beta_penalty/{dataset}",
                 f"GCE beyond the paper ({dataset}): a β-flow penalty removes β leakage without hurting D", metrics,
                 (Precondition(LEAKAGE, at_least(floor, "paper's plain-MC bias bound")),))


TOY_BUDGETS = tuple(f"{a} × {b}" for a, b in reference.TOY_REFERENCE_RMSE)


def _qmc(dataset: str) -> Claim:
    metrics = tuple(Metric(f"toy: RMSE ratio QMC / MC at {b}", at_most(0.5)) for b in TOY_BUDGETS) + (
        Metric("trained GCE: RMSE ratio QMC / MC of I(α; Ŷ) at the full budget", at_most(0.5)),
        Metric("trained GCE: RMSE of QMC at the reduced budget / MC at the full budget", at_most(1)),
        Metric("training: I(α; Ŷ), QMC reduced − MC full [nats]", between(-0.03, 0.03)),
        Metric("training: D ratio, QMC reduced / MC full", between(0.95, 1.05)),
        Metric("training: largest β flow, QMC reduced − MC full [nats]", at_most(0.02)),
        Metric("training: β sweep largest change rate, QMC reduced − MC full", at_most(0.05)),
        # The control: plain MC at the reduced budget must miss the I(α; Ŷ) tolerance that QMC is held to.
        Metric("training control: I(α; Ŷ), MC reduced − MC full [nats]", at_most(-0.03, "misses QMC's ± 0.03")))
    return Claim(f"gce_qmc/{dataset}",
                 f"GCE beyond the paper ({dataset}): QMC information flow is as good at 5–10× fewer samples", metrics)


ESTIMATOR_DATASETS = ("mnist_3_8", "fmnist_0_3_4")
REDUCED, CONTROL = "QMC reduced", "MC reduced (control)"
# Tolerances of the reduced-budget explainers against the paper profile's (the mean over its three seeds). The
# paper profile's own seed-to-seed SDs on these data sets: 0.001 nats (I), 0.7% of D, up to 0.02 in change
# rates and ablation drops, 0.003 in the leak ratio.
VALIDATION = (
    ("I(α; Ŷ) by the paper's estimator − paper profile [nats]", between(-0.03, 0.03, "± 0.03, as gce_qmc")),
    ("D ratio to the paper profile", between(0.98, 1.02)),
    ("α sweep change rate − paper profile", between(-0.05, 0.05)),
    ("β sweep largest change rate − paper profile", at_most(0.05)),
    ("largest β flow / smallest α flow − paper profile", at_most(0.03)),
    ("accuracy drop when α is removed − paper profile", between(-0.05, 0.05)),
    ("largest β ablation drop − paper profile", at_most(0.02)))


LIKE_FOR_LIKE = "training settings as the paper profile's (1 = yes)"


def _estimator(dataset: str) -> Claim:
    guard = (TRAINED, LIKE_FOR_LIKE)
    metrics = tuple(Metric(f"{REDUCED}: {name}", criterion, guard) for name, criterion in VALIDATION) + (
        # The control: plain MC at the same budget must miss where QMC is held, on I(α; Ŷ) or on β leakage.
        Metric(f"{CONTROL}: I(α; Ŷ) by the paper's estimator − paper profile [nats]",
               at_most(-0.03, "misses QMC's ± 0.03"), guard),
        Metric(f"{CONTROL}: largest β flow / smallest α flow − paper profile", at_least(0.03, "misses QMC's 0.03"),
               guard))
    return Claim(f"gce_estimator/{dataset}", f"GCE beyond the paper ({dataset}): QMC at a reduced budget trains "
                 "the explainers of the paper's estimator", metrics,
                 (Precondition(TRAINED, above_chance(dataset)), Precondition(LIKE_FOR_LIKE, at_least(1, "1 = yes"))))


COST = Claim("gce_cost", "GCE cost: the causal term dominates training time", (
    Metric("smallest GCE / VAE time ratio over data sets", at_least(4, "seed 000: 4.7–6.4")),))

SELECTIONS = tuple((d, choice) for d, by_source in reference.REPRODUCTION_CHOICES.items() for choice in by_source.items())
CLAIMS = (*(_headline(d) for d in HEADLINE_DATASETS), *(_headline(d, choice) for d, choice in SELECTIONS), _classifiers(), *(_algorithm1(d) for d in ALGORITHM1_DATASETS),
          COST, *(_beta_penalty(d) for d in PENALTY_DATASETS), _qmc("mnist_3_8"),
          *(_estimator(d) for d in ESTIMATOR_DATASETS))


def budget(settings: dict, dataset: str, per: str = "explainer") -> tuple[float, str]:
    """GCE training steps per explainer (or Algorithm 1 configuration) over the paper's 8,000, and what that
    counts; the sample counts of the causal term are named beside."""
    paper = reference.GCE_SETTINGS[dataset]
    n_alpha, n_beta = settings.get("mc_budget") or (settings["n_alpha"], settings["n_beta"])
    return settings["steps"] / paper["steps"], (f"{settings['steps']:,} of {paper['steps']:,} GCE steps per {per}; "
                                                f"Nα × Nβ {n_alpha} × {n_beta} of {paper['n_alpha']} × {paper['n_beta']}")


def cost_budget(settings: dict) -> tuple[float, str]:
    """The GCE steps timed per data set over the paper's 8,000 (the cost notebook scales them up)."""
    timed = settings["timing_steps"] * settings.get("repeats", 1)
    return timed / 8000, f"{timed} of 8,000 GCE steps timed per data set, scaled to 8,000"


ROWS = (
    Row("gce", "α flips the classifier's decision and β does not; information flow and ablation separate them "
        "(MNIST 3 vs 8)", "paper Sec. 5", {"paper": "✓", "000": "✓", "001": "✓", "002": "✓"},
        ("gce_headline/mnist_3_8",)),
    Row("gce", "the same on MNIST 1/4/9", "paper Sec. 5", {"paper": "✓", "000": "✓"}, ("gce_headline/mnist_1_4_9",)),
    Row("gce", "the same on Fashion-MNIST t-shirt/dress/coat", "paper Sec. 5",
        {"paper": "✓", "000": "✓", "001": "✓", "002": "✓"}, ("gce_headline/fmnist_0_3_4",)),
    Row("gce", "the explainer at seed 000's own Algorithm-1 selection on MNIST 3 vs 8, (K, L, λ) = (1, 9, 0.001), "
        "separates α and β as the paper's does", "seed 000 Sec. 6.1, Fig. 8", {"000": "✓"},
        (_selection_key("mnist_3_8", 1, 9, 0.001),)),
    Row("gce", "at seed 001's Algorithm-1 selections on Fashion-MNIST, (2, 4, 0.04) and (2, 5, 0.07), the α sweep "
        "changes the decision and the β sweeps do too", "seed 001 Sec. 4.2, Figs. 4–5", {"001": "✓"},
        (_selection_key("fmnist_0_3_4", 2, 4, 0.04), _selection_key("fmnist_0_3_4", 2, 5, 0.07))),
    Row("gce", "Algorithm 1 selects (K, L, λ) = (1, 7, 0.05) on MNIST 3 vs 8", "paper Sec. 4, Alg. 1, Fig. 11",
        {"paper": "✓", "000": "◐"}, ("gce_algorithm1/mnist_3_8",)),
    Row("gce", "Algorithm 1 selects (K, L, λ) = (2, 4, 0.05) on Fashion-MNIST", "paper Sec. 4, Alg. 1, Fig. 16",
        {"paper": "✓", "001": "◐"}, ("gce_algorithm1/fmnist_0_3_4",)),
    Row("gce", "GCE explains any classifier with gradients and probabilities (ResNet-, DenseNet-, Inception-style; "
        "a mean-intensity classifier)", "paper; seeds 001 Sec. 4.1, 002 Sec. 3.4", {"paper": "✓", "001": "✗", "002": "◐"},
        ("gce_classifiers",)),
    Row("gce", "all ten MNIST digits with K = 3, L = 7, λ = 0.1", "seed 002 Sec. 3.2", {"002": "✓"},
        ("gce_headline/mnist_10",)),
    Row("gce", "the causal term makes GCE training 5–30× slower than a plain VAE", "seed 000 Table 1", {"000": "✓"},
        ("gce_cost",)),
    Row("gce", "a term that minimises β's causal influence (proposed as future work)", "seed 002 Sec. 4.5",
        {"002": "·"}, tuple(f"gce_beta_penalty/{d}" for d in PENALTY_DATASETS)),
    Row("gce", "a quasi-Monte-Carlo information-flow estimator is as good at 5–10× fewer samples",
        "this report (a toy-case hint in the reference notes)", {}, ("gce_qmc/mnist_3_8",)),
    Row("gce", "at the paper's training length, QMC at a reduced sample budget trains the explainers that plain MC "
        "at the paper's budget trains; plain MC at the reduced budget does not", "this report (issue 14)", {},
        tuple(f"gce_estimator/{d}" for d in ESTIMATOR_DATASETS)),
    Row("gce", "GCE on CIFAR-10 gives artefacts, not human-interpretable explanations", "seeds 001 Sec. 4.3, 002 Sec. 3.5",
        {"001": "✗", "002": "✗"}, offline="no CIFAR-10 in the offline data"),
    Row("gce", "GCE on a text classifier (LSTM on SST) does not separate causal factors", "seed 000 Sec. 6.2",
        {"000": "✗"}, offline="no SST data or GloVe embeddings offline"),
)


_NOT_IN_SEED000 = ("The per-factor reference numbers this page credits to seed 000 (the red marks of the flow and "
                   "ablation charts and the seed-000 column of its verdict table: {numbers}) are not in seed 000's "
                   "report, whose only per-factor figure is Fashion-MNIST's (its Figure 3); the reference notes "
                   "trace them to bar charts in the repository of seed 000's authors, which we could not check. "
                   "They are no longer used.")
_OLD_RULE = ("Its verdicts were judged on the mean over seeds; the verdicts that count are the re-judged ones "
             "(one-sided 95% interval over seeds, preconditions) in the claims table.")
_PAPER_PAGE = ("This page ran an older `gce_headline.py` (its code cells differ from the current notebook's); its "
               "per-seed values are re-judged from its records with the current criteria. " + _OLD_RULE)
_FMNIST_SETTINGS = ("Its explainers trained with batch 64 and learning rate 5e-4, the original code's defaults, "
                    "labelled as the paper's settings; seed 000's Table 4 gives batch 32 and learning rate 1e-4 for "
                    "Fashion-MNIST (the reference notes attribute these to the paper). The notebook now uses 32 and 1e-4.")

ERRATA = {
    "gce_headline": " ".join([_PAPER_PAGE, _NOT_IN_SEED000.format(numbers="largest β / α flow 0.029, α ablation "
                                                                           "drop 0.45, β ablation drop 0.0")]),
    "gce_headline-mnist_1_4_9": " ".join([
        _PAPER_PAGE, _NOT_IN_SEED000.format(numbers="largest β / α flow 0.092, α ablation drop 0.28, β ablation "
                                                    "drop 0.0"),
        "The ratio 0.092 was also computed wrongly: the largest β flow over the *first* α flow (0.045 / 0.49); "
        "the metric's definition, over the smallest α flow, gives 0.113 from the same numbers.",
        "The α sweep passed on its mean although two of three seeds (0.74, 0.69) are below 0.75."]),
    "gce_headline-fmnist_0_3_4": " ".join([_PAPER_PAGE, _FMNIST_SETTINGS]),
    "gce_headline-mnist_10": _OLD_RULE,
    "gce_beta_penalty": " ".join([
        "Its main criterion (largest β flow ≤ max(half its γ = 0 value, the bias bound)) could not fail: without "
        "the penalty the largest β flow was already far below the bias bound (MNIST 3/8 has no β leakage to "
        "remove). The removal metrics now need leakage at γ = 0 (a precondition) and are inconclusive here; the "
        "second removal metric (the flow at least halved, seed by seed) is new and has no record on this page.",
        "The text says neither the β sweep change rate nor the β ablation drop goes up, but the ablation criterion "
        "allowed +0.01; both are now ≤ 0. The β sweep change rate went up with the penalty on both seeds.",
        "Two seeds; the profile now runs three.", _OLD_RULE]),
}
