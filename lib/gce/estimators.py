"""Beyond the paper: the randomised-QMC information-flow estimator against plain Monte Carlo.

Four studies, each returning tidy DataFrames: the error of both samplers on the toy case with a known answer
(``toy_study``); explainers trained with either sampler at the full or a reduced sample budget
(``budget_comparison``); on the explainers trained as in the paper, each sampler's error against a
large-sample reference and the error of the gradients training follows (``estimator_study``,
``gradient_study``); and explainers trained at the paper's length with a reduced budget, set beside the
recorded runs of the ``paper`` profile (``validation``, ``paper_profile``). A budget is (Nα, Nβ); its label is
"Nα × Nβ".
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import torch

from lib.core.data import Splits
from lib.core.train import accuracy

from .evaluation import end_of_training, explainer_report, report_columns
from .experiments import Experiment, headline
from .method import SAMPLERS, fit_classifier, fit_explainer, group_flow, information_flow
from .reference import TOY_REFERENCE_RMSE
from .toys import WEIGHTS, Identity, Logistic, quadrature_flow

QUANTITIES = ("I(α; Ŷ)", "I(β; Ŷ)")
BASELINE = "MC full"  # the variant trained as in the paper; the estimator and gradient studies use it
# The columns of ``budget_comparison``'s table that the notebook compares across variants.
COMPARED = ["I(α; Ŷ)", "I(β; Ŷ)", "largest β flow", "D", "training I(α; Ŷ)", "α sweep: smallest change rate",
            "β sweep: largest change rate", "α ablation drop", "largest β ablation drop", "GCE seconds"]

def samples(budget) -> int:
    return budget[0] * budget[1]


def budget_label(budget) -> str:
    return f"{budget[0]} × {budget[1]}"


def budget_variants(full, reduced) -> dict:
    """The three training variants: plain MC at the full budget, QMC at the reduced one and, as the control,
    plain MC at the reduced one; name -> (sampler, budget)."""
    return {BASELINE: ("mc", tuple(full)), "QMC reduced": ("qmc", tuple(reduced)), "MC reduced": ("mc", tuple(reduced))}


# ---------------------------------------------------------------------------------------------------
# The toy case (lib.gce.toys): the identity decoder and a logistic classifier, I(α; Ŷ) by quadrature.

@torch.no_grad()
def toy_estimates(sampler: str, n_alpha: int, n_beta: int, repetitions: int, seed: int = 0) -> np.ndarray:
    """``repetitions`` estimates of the toy case's I(α; Ŷ); repetition r of ``seed`` drawn from a generator
    seeded seed · repetitions + r (disjoint streams for the seeds of a study)."""
    return np.array([information_flow(Identity(), Logistic(WEIGHTS), 1, 1, n_alpha, n_beta,
                                      generator=torch.Generator().manual_seed(seed * repetitions + r),
                                      sampler=sampler).item()
                     for r in range(repetitions)])


def toy_study(budgets, repetitions: int, seeds=(0,)) -> pd.DataFrame:
    """One row per seed × sampler × budget (``budgets`` and those of ``TOY_REFERENCE_RMSE``): RMSE, bias and
    standard deviation of ``repetitions`` toy estimates around the quadrature answer. Each seed repeats the
    whole study with its own draws, so a ratio of RMSEs has one value per seed."""
    truth = quadrature_flow(*WEIGHTS)[0]
    rows = []
    for seed in seeds:
        for sampler in SAMPLERS:
            for budget in sorted(set(map(tuple, budgets)) | set(TOY_REFERENCE_RMSE), key=samples):
                estimates = toy_estimates(sampler, *budget, repetitions, seed)
                rows.append({"seed": seed, "sampler": sampler, "budget": budget_label(budget),
                             "samples": samples(budget), "RMSE": np.sqrt(np.mean((estimates - truth) ** 2)),
                             "bias": estimates.mean() - truth, "sd": estimates.std(ddof=1)})
    return pd.DataFrame(rows)


def toy_ratios(toy: pd.DataFrame) -> pd.DataFrame:
    """Per seed and budget of ``TOY_REFERENCE_RMSE``: our RMSEs (``toy_study``), their ratio QMC / MC and the
    reference notes' ratio."""
    rows = []
    for seed, study in toy.groupby("seed", sort=False):
        rmse = study.set_index(["sampler", "budget"])["RMSE"]
        for budget, notes in TOY_REFERENCE_RMSE.items():
            mc, qmc = rmse["mc", budget_label(budget)], rmse["qmc", budget_label(budget)]
            rows.append({"seed": seed, "budget": budget_label(budget), "mc": mc, "qmc": qmc, "ratio": qmc / mc,
                         "notes_ratio": round(notes["qmc"] / notes["mc"], 3)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# Explainers trained with each sampler and budget.

def budget_comparison(data: Splits, settings: dict, seeds, variants: dict, n_eval: tuple[int, int], sweep_rows: int,
                      progress: bool = True) -> Experiment:
    """Per seed, the paper's classifier and one GCE per variant (``budget_variants``: the sampler and budget of
    the causal term in training; K, L, λ, steps, batch size and learning rate from ``settings``), fitted or
    loaded from the cache and evaluated on the validation split with the same randomised-QMC draws for every
    variant of a seed (``explainer_report`` at ``n_eval`` = Nα × Nβ, generators seeded 3000 + seed). The
    models are keyed (seed, variant)."""
    rows, curves, models = [], [], {}
    for seed in seeds:
        classifier = fit_classifier(*data.train, len(settings["classes"]), settings["classifier_epochs"], seed,
                                    data.train_fraction, progress=progress)
        classifier.model.requires_grad_(False)
        classifier_accuracy = accuracy(classifier.model, *data.val)
        for name, (sampler, budget) in variants.items():
            explainer = fit_explainer(classifier.model, data.train[0], settings["k"], settings["l"], settings["lam"],
                                      settings["steps"], settings["batch_size"], settings["lr"], *budget, seed,
                                      progress=progress, sampler=sampler)
            report = explainer_report(explainer.model, classifier.model, *data.val, *n_eval, sweep_rows=sweep_rows,
                                      seed=3000 + seed)
            key = {"seed": seed, "variant": name}
            rows.append({**key, "sampler": sampler, "budget": budget_label(budget), "accuracy": classifier_accuracy,
                         **end_of_training(explainer.history), **report_columns(report, settings["k"]),
                         "GCE seconds": explainer.history["seconds"], "cached": explainer.cached})
            curves.append(pd.DataFrame({c: explainer.history[c] for c in ("causal", "sse", "kl")})
                          .rename_axis("step").reset_index().assign(**key))
            models[seed, name] = (explainer.model, classifier.model)
    return Experiment(pd.DataFrame(rows), pd.concat(curves, ignore_index=True), models)


def _baselines(models: dict):
    """(seed, explainer, classifier) of each seed's ``BASELINE`` explainer in ``budget_comparison``'s models."""
    return [(seed, *pair) for (seed, name), pair in models.items() if name == BASELINE]


def _generator(model, seed: int) -> torch.Generator:
    return torch.Generator(device=next(model.parameters()).device).manual_seed(seed)


def flow_estimate(model, classifier, quantity: str, budget, sampler: str, generator) -> torch.Tensor:
    """One estimate of a quantity of ``QUANTITIES`` for an explainer: I(α; Ŷ), or I(β; Ŷ), the joint flow
    of the non-causal factors (α resampled)."""
    d = model.k + model.l
    if quantity == QUANTITIES[0]:
        return information_flow(model.decoder, classifier, model.k, model.l, *budget, generator=generator,
                                sampler=sampler)
    return group_flow(model.decoder, classifier, d, range(model.k, d), *budget, generator=generator, sampler=sampler)


@torch.no_grad()
def estimator_study(models: dict, budgets, repetitions: int, reference_budget) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The error of both samplers on each seed's ``BASELINE`` explainer (``budget_comparison``'s models).

    The reference value of each quantity is the mean of two QMC estimates at ``reference_budget`` (seeds
    9000, 9001), half their difference its precision; each sampler then estimates it ``repetitions`` times
    at each budget (repetition r seeded 100 r + 7). Returns the references (one row per seed × quantity)
    and the errors (one row per seed × quantity × sampler × budget × repetition).
    """
    references, errors = [], []
    for seed, model, classifier in _baselines(models):
        for quantity in QUANTITIES:
            twice = [flow_estimate(model, classifier, quantity, reference_budget, "qmc", _generator(model, 9000 + r))
                     .item() for r in range(2)]
            reference = np.mean(twice)
            references.append({"seed": seed, "quantity": quantity, "reference": reference,
                               "precision": abs(twice[0] - twice[1]) / 2})
            for sampler in SAMPLERS:
                for budget in budgets:
                    for r in range(repetitions):
                        value = flow_estimate(model, classifier, quantity, budget, sampler,
                                              _generator(model, 100 * r + 7)).item()
                        errors.append({"seed": seed, "quantity": quantity, "sampler": sampler,
                                       "budget": budget_label(budget), "samples": samples(budget), "repetition": r,
                                       "error": value - reference})
    return pd.DataFrame(references), pd.DataFrame(errors)


def rmse_by_seed(errors: pd.DataFrame) -> pd.DataFrame:
    """One row per quantity × sampler × budget × seed: the RMSE over the repetitions of ``estimator_study``."""
    return (errors.groupby(["quantity", "sampler", "samples", "budget", "seed"])["error"]
            .agg(lambda e: float(np.sqrt(np.mean(np.square(e))))).rename("RMSE").reset_index())


def error_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """Per quantity and budget: each sampler's RMSE (mean over seeds), their ratio MC / QMC and the bias
    (mean error over seeds and repetitions)."""
    bias = errors.groupby(["quantity", "sampler", "samples", "budget"])["error"].mean().rename("bias")
    return (rmse_by_seed(errors).groupby(["quantity", "samples", "budget", "sampler"])["RMSE"].mean()
            .unstack("sampler").assign(**{"MC / QMC": lambda t: t["mc"] / t["qmc"]})
            .join(bias.unstack("sampler").add_prefix("bias ")))


def rmse_ratio(rmse: pd.DataFrame, numerator, denominator, quantity: str = QUANTITIES[0]) -> list[float]:
    """Per seed, the RMSE (``rmse_by_seed``) of one (sampler, budget) divided by that of another."""
    def per_seed(sampler, budget):
        part = rmse[(rmse.quantity == quantity) & (rmse.sampler == sampler) & (rmse.budget == budget_label(budget))]
        return part.set_index("seed")["RMSE"]

    return (per_seed(*numerator) / per_seed(*denominator)).tolist()


def flat_gradient(model, classifier, budget, sampler: str, generator) -> torch.Tensor:
    """The gradient of the estimated I(α; Ŷ) with respect to the decoder's weights, as one vector."""
    model.decoder.zero_grad(set_to_none=True)
    information_flow(model.decoder, classifier, model.k, model.l, *budget, generator=generator,
                     sampler=sampler).backward()
    return torch.cat([p.grad.flatten() for p in model.decoder.parameters()])


def gradient_study(models: dict, budgets, gradient_budget, repetitions: int) -> pd.DataFrame:
    """How far the gradient of each sampler's estimate is from the gradient of the true flow.

    For each seed's ``BASELINE`` explainer (``budget_comparison``'s models) the reference is the mean of two
    QMC gradients at ``gradient_budget`` (seeds 9500, 9501); each sampler's gradient is taken ``repetitions``
    times at each budget (seeds 500 + r). One row per seed × budget × sampler: the mean squared distance to
    the reference relative to its squared norm, and the mean cosine similarity with it.
    """
    rows = []
    for seed, model, classifier in _baselines(models):
        reference = torch.stack([flat_gradient(model, classifier, tuple(gradient_budget), "qmc",
                                               _generator(model, 9500 + r)) for r in range(2)]).mean(0)
        for budget in dict.fromkeys(tuple(b) for b in budgets):
            for sampler in SAMPLERS:
                grads = torch.stack([flat_gradient(model, classifier, budget, sampler, _generator(model, 500 + r))
                                     for r in range(repetitions)])
                rows.append({
                    "seed": seed, "budget": budget_label(budget), "sampler": sampler,
                    "relative MSE": ((grads - reference).pow(2).sum(1) / reference.pow(2).sum()).mean().item(),
                    "cosine": torch.nn.functional.cosine_similarity(grads, reference[None]).mean().item()})
        model.decoder.zero_grad(set_to_none=True)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# The reduced-budget estimator against the paper profile's recorded explainers.

PAPER_ESTIMATE = "I(α; Ŷ), paper's estimator"
# A validation column -> the metric of the headline page's records that measures the same quantity.
PROFILE_METRICS = {
    PAPER_ESTIMATE: "end-of-training I(α; Ŷ) [nats]",
    "D": "data term D (SSE + KL per sample)",
    "α sweep: smallest change rate": "α sweep: rows whose decision changes",
    "β sweep: largest change rate": "β sweep: largest fraction of rows whose decision changes",
    "β leak": "largest β flow / smallest α flow",
    "α ablation drop": "accuracy drop when α is removed",
    "largest β ablation drop": "largest accuracy drop when a β is removed",
}
# Settings a validation run must share with the paper-profile run it is set beside.
MATCHED = ("k", "l", "lam", "steps", "batch_size", "lr", "classifier_epochs")


def paper_profile(records, output: str) -> tuple[pd.DataFrame, dict]:
    """The ``paper``-profile run of the headline page ``output`` from its verdict records: one row per seed and
    one column per quantity of ``PROFILE_METRICS``, and the run's settings. Raises ``ValueError`` when a
    quantity has no such record."""
    mine = {r["metric"]: r for r in records if r.get("output") == output and r.get("profile") == "paper"}
    missing = [metric for metric in PROFILE_METRICS.values() if metric not in mine]
    if missing:
        raise ValueError(f"no paper-profile record of {missing} for page {output!r}: run it with the paper profile")
    first = mine[PROFILE_METRICS[PAPER_ESTIMATE]]
    table = pd.DataFrame({column: mine[metric]["ours"]["values"] for column, metric in PROFILE_METRICS.items()},
                         index=pd.Index(first["seeds"], name="seed"))
    return table, first["settings"]


def mismatched(settings: dict, profile_settings: dict) -> dict:
    """The training settings (``MATCHED``) in which a run differs from the paper-profile run: key -> (ours,
    the profile's). Empty when the comparison is like for like."""
    return {key: (settings[key], profile_settings.get(key)) for key in MATCHED
            if settings[key] != profile_settings.get(key)}


@torch.no_grad()
def paper_estimate(model, classifier, budget, repetitions: int, seed: int) -> float:
    """The mean of ``repetitions`` plain-MC estimates of I(α; Ŷ) at ``budget`` (the paper's training estimator
    at its budget; repetition r seeded 4000 + 100 seed + r): the expected value of what the paper profile's
    training curve averaged, for the final explainer."""
    return float(np.mean([information_flow(model.decoder, classifier, model.k, model.l, *budget, sampler="mc",
                                            generator=_generator(model, 4000 + 100 * seed + r)).item()
                          for r in range(repetitions)]))


def validation(data: Splits, settings: dict, seeds, samplers, n_eval: tuple[int, int], sweep_rows: int,
               paper_budget, repetitions: int, progress: bool = True) -> Experiment:
    """Per training sampler and seed, the headline page's run (``experiments.headline``: the paper's classifier,
    one GCE, the same evaluation) with the causal term sampled by ``sampler`` at ``settings``' Nα × Nβ, plus
    ``paper_estimate`` at ``paper_budget``. The table has one row per (sampler, seed); models are keyed so."""
    tables, curves, models = [], [], {}
    for sampler in samplers:
        run = headline(data, {**settings, "train_sampler": sampler}, seeds, n_eval, sweep_rows, progress)
        table = run.table.assign(sampler=sampler)
        table[PAPER_ESTIMATE] = [paper_estimate(*run.models[seed], paper_budget, repetitions, seed)
                                 for seed in table["seed"]]
        tables.append(table)
        curves.append(run.curves.assign(sampler=sampler))
        models.update({(sampler, seed): pair for seed, pair in run.models.items()})
    return Experiment(pd.concat(tables, ignore_index=True), pd.concat(curves, ignore_index=True), models)
