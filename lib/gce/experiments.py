"""The experiments of the GCE claim notebooks. Each fits (or loads from the cache) one classifier and one
explainer per seed and variant, evaluates them on the validation split, and returns an ``Experiment``: a tidy
table with one row per run and one column per quantity, the training curves, and the models."""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from lib.core.data import Splits
from lib.core.train import accuracy, seed_everything, train_classifier
from lib.report.verdict import format_value

from .evaluation import (OFFSETS, data_term, end_of_training, explainer_report, factor_names, latent_sweep,
                         report_columns, sweep_intensity_correlation)
from .method import epoch_steps, fit_classifier, fit_explainer, information_flow, train_gce
from .models import VAE, CNNClassifier
from .reference import GCE_COST_SEED000, GCE_SETTINGS
from .select import tune


class Experiment(NamedTuple):
    """``table``: one row per run (seed, variant), one column per quantity; ``curves``: one row per run and
    training step (causal term, SSE, KL, and the β flow where it is penalised); ``models``: each run's
    (explainer, classifier), by the run's key (its seed, or its (variant, seed) pair)."""
    table: pd.DataFrame
    curves: pd.DataFrame
    models: dict


def run_settings(dataset: str, classifier_epochs: int | None, steps: int, n_alpha: int, n_beta: int,
                 **extra) -> dict:
    """The paper's settings for ``dataset`` (a key of ``reference.GCE_SETTINGS``) with a run's own training
    length and sample counts; ``classifier_epochs`` None keeps the paper's."""
    paper = GCE_SETTINGS[dataset]
    return {**paper, "classifier_epochs": classifier_epochs or paper["classifier_epochs"], "steps": steps,
            "n_alpha": n_alpha, "n_beta": n_beta, **extra}


def header_lines(data: Splits, settings: dict, dataset: str) -> dict:
    """The run header's lines (``log.header``'s details) on the images and on the training, with the paper's
    settings alongside."""
    s, paper = settings, GCE_SETTINGS[dataset]
    return {"Images": f"train {len(data.train[0]):,}, validation {len(data.val[0]):,}, test {len(data.test[0]):,} "
                      f"images of classes {data.class_names}",
            "GCE": f"K = {s['k']}, L = {s['l']}, λ = {s['lam']}, {s['steps']} steps, batch {s['batch_size']}, "
                   f"lr {s['lr']}, Nα × Nβ = {s['n_alpha']} × {s['n_beta']} (paper: {paper['n_alpha']} × "
                   f"{paper['n_beta']}, {paper['steps']} steps)",
            "Classifier": f"{s['classifier_epochs']} epochs (paper: {paper['classifier_epochs']})"}



def explain(data: Splits, settings: dict, seed: int, n_eval: tuple[int, int], sweep_rows: int, report_seed: int,
            sampler: str = "qmc", report_seeds: dict | None = None, architecture: str = "cnn",
            lam: float | None = None, beta_penalty: float = 0.0, progress: bool = True):
    """One run: fit (or load) the classifier and the explainer for ``seed`` with ``settings`` (whose
    ``train_sampler``, "mc" by default, samples the causal term in training), and evaluate them with
    ``explainer_report`` (``n_eval`` = Nα × Nβ by ``sampler``, generators seeded from ``report_seed``).
    Returns (one row of quantities, the training curves, (explainer, classifier))."""
    classifier = fit_classifier(*data.train, len(settings["classes"]), settings["classifier_epochs"], seed,
                                data.train_fraction, progress=progress, architecture=architecture)
    explainer = fit_explainer(classifier.model, data.train[0], settings["k"], settings["l"],
                              settings["lam"] if lam is None else lam, settings["steps"], settings["batch_size"],
                              settings["lr"], settings["n_alpha"], settings["n_beta"], seed, progress=progress,
                              beta_penalty=beta_penalty, sampler=settings.get("train_sampler", "mc"))
    report = explainer_report(explainer.model, classifier.model, *data.val, *n_eval, sweep_rows=sweep_rows,
                              seed=report_seed, sampler=sampler, seeds=report_seeds)
    row = {"accuracy": accuracy(classifier.model, *data.val), **end_of_training(explainer.history),
           **report_columns(report, settings["k"]), "classifier seconds": classifier.history["seconds"],
           "GCE seconds": explainer.history["seconds"], "cached": classifier.cached and explainer.cached}
    curves = pd.DataFrame({name: explainer.history[name] for name in ("causal", "sse", "kl", "beta_flow")
                           if name in explainer.history}).rename_axis("step").reset_index()
    return row, curves, (explainer.model, classifier.model)


def _collect(runs) -> Experiment:
    """An ``Experiment`` from (run key as a dict, ``explain``'s result) pairs."""
    rows, curves, models = [], [], {}
    for key, (row, curve, pair) in runs:
        rows.append({**key, **row})
        curves.append(curve.assign(**key))
        values = tuple(key.values())
        models[values[0] if len(values) == 1 else values] = pair
    return Experiment(pd.DataFrame(rows), pd.concat(curves, ignore_index=True), models)


def headline(data: Splits, settings: dict, seeds, n_eval: tuple[int, int], sweep_rows: int,
             progress: bool = True) -> Experiment:
    """The headline claim: one classifier and one GCE per seed. Per-factor flows by plain Monte Carlo as in
    the paper (generator seeded 1000 + seed), ablation with a generator seeded 2000 + seed; test accuracy too."""
    def run(seed):
        row, curves, pair = explain(data, settings, seed, n_eval, sweep_rows, report_seed=1000 + seed, sampler="mc",
                                    report_seeds={"factor_flows": 1000 + seed, "ablation": 2000 + seed},
                                    progress=progress)
        return {**row, "test accuracy": accuracy(pair[1], *data.test)}, curves, pair

    return _collect(({"seed": seed}, run(seed)) for seed in seeds)


def beta_penalty(data: Splits, settings: dict, seeds, gammas, n_eval: tuple[int, int], sweep_rows: int,
                 progress: bool = True) -> Experiment:
    """One GCE per seed and β-flow penalty weight γ (γ = 0: the paper's objective), all of a seed against the
    same classifier and evaluated with the same randomised-QMC draws (generators seeded 3000 + seed)."""
    return _collect(({"seed": seed, "γ": gamma},
                     explain(data, settings, seed, n_eval, sweep_rows, report_seed=3000 + seed, beta_penalty=gamma,
                             progress=progress))
                    for seed in seeds for gamma in gammas)


def classifier_comparison(data: Splits, settings: dict, architectures, lams: dict, seeds, n_eval: tuple[int, int],
                          sweep_rows: int, progress: bool = True) -> Experiment:
    """One classifier of each architecture and one GCE against it (λ from ``lams``) per seed, evaluated with
    randomised QMC (generators seeded 1000 + seed); for every factor also the correlation between the sweep
    offset and the decoded image's mean intensity, over the first ``sweep_rows`` validation images."""
    k, names = settings["k"], factor_names(settings["k"], settings["l"])

    def run(architecture, seed):
        row, curves, (explainer, classifier) = explain(data, settings, seed, n_eval, sweep_rows,
                                                       report_seed=1000 + seed, architecture=architecture,
                                                       lam=lams[architecture], progress=progress)
        rows = data.val[0][:sweep_rows]
        correlation = np.array([sweep_intensity_correlation(latent_sweep(explainer, classifier, rows, i, OFFSETS)[0],
                                                            OFFSETS) for i in range(len(names))])
        row.update({f"intensity correlation {name}": value for name, value in zip(names, correlation)})
        row.update({"corr(α, intensity)": correlation[0],
                    "largest |corr(β, intensity)|": np.abs(correlation[k:]).max()})
        return row, curves, (explainer, classifier)

    return _collect(({"architecture": architecture, "seed": seed}, run(architecture, seed))
                    for architecture in architectures for seed in seeds)


def mean_sd(table: pd.DataFrame, by: str, columns) -> pd.DataFrame:
    """"mean ± sd" over the runs of each value of ``by`` (rows) for each of ``columns``; the mean alone where
    there is one run."""
    groups = table.groupby(by, sort=False)[list(columns)]
    means, sds = groups.mean(), groups.std()
    return pd.DataFrame({c: [format_value(m, None if np.isnan(sd) else sd) for m, sd in zip(means[c], sds[c])]
                         for c in columns}, index=means.index)


def _seconds_per_step(run, warmup: int, steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds per step; ``run(n)`` trains n steps and returns its wall time."""
    if warmup:
        run(warmup)
    cpu_start = time.process_time()
    wall = run(steps)
    return wall / steps, (time.process_time() - cpu_start) / steps


def cost(splits: dict, seed: int, warmup_steps: int, timing_steps: int, classifier_timing_steps: int,
         repeats: int = 1) -> pd.DataFrame:
    """Time per step of the classifier's, the plain VAE's and the GCE's training with the paper's settings, for
    each data set (``splits``: a key of ``reference.GCE_SETTINGS`` -> its ``Splits``), scaled to the paper's
    numbers of steps, and the ratios against seed 000's Table 1. One row per data set and repetition.

    Each repetition times the three trainings again on the same models (after one warm-up), so the
    repetitions differ only by the machine's timing noise. The ratios use CPU time on a CPU (other jobs on a
    shared machine inflate it less than wall time) and wall time on a GPU (asynchronous: CPU time means
    nothing there); the ``clock`` column says which.
    """
    rows = []
    for name, data in splits.items():
        s, paper = GCE_SETTINGS[name], GCE_COST_SEED000[name]
        x, y = data.train
        clock = 0 if x.device.type == "cuda" else 1
        seed_everything(seed)
        classifier = CNNClassifier(len(s["classes"])).to(x.device)

        def trainer(causal):
            model = VAE(s["k"], s["l"]).to(x.device)
            return lambda n: train_gce(model, classifier, x, s["lam"], n, s["batch_size"], s["lr"], s["n_alpha"],
                                       s["n_beta"], seed=seed, causal=causal, progress=False)["seconds"]

        def classify(n):
            return train_classifier(classifier, x, y, epochs=1, steps_per_epoch=n, seed=seed, progress=False)["seconds"]

        clf_steps = s["classifier_epochs"] * epoch_steps(len(x), data.train_fraction)
        # the classifier first: the GCE trainings freeze it
        clf_times = [_seconds_per_step(classify, warmup_steps if r == 0 else 0, classifier_timing_steps)
                     for r in range(repeats)]
        vae, gce = trainer(False), trainer(True)
        for repetition, clf_step in enumerate(clf_times):
            warmup = warmup_steps if repetition == 0 else 0
            vae_step = _seconds_per_step(vae, warmup, timing_steps)
            gce_step = _seconds_per_step(gce, warmup, timing_steps)
            rows.append({"data set": name, "repetition": repetition, "classifier s/step": clf_step[0],
                         "VAE s/step": vae_step[0], "GCE s/step": gce_step[0], "classifier CPU s/step": clf_step[1],
                         "VAE CPU s/step": vae_step[1], "GCE CPU s/step": gce_step[1],
                         "classifier min": clf_step[0] * clf_steps / 60, "VAE min": vae_step[0] * s["steps"] / 60,
                         "GCE min": gce_step[0] * s["steps"] / 60, "GCE / VAE": gce_step[clock] / vae_step[clock],
                         "GCE / classifier": gce_step[clock] * s["steps"] / (clf_step[clock] * clf_steps),
                         "seed 000 GCE / VAE": paper["gce"] / paper["vae"],
                         "seed 000 GCE / classifier": paper["gce"] / paper["classifier"],
                         "clock": ("wall", "CPU")[clock]})
    return pd.DataFrame(rows)


class GCEScorer:
    """``score(k, l, lam) -> (C, D)`` by training (or loading) a GCE with ``lib.gce.fit_explainer``.

    K = 0 is step 1's model: a plain VAE with L latents (only D; C is nan). C is the information flow
    I(α; Ŷ) estimated with ``eval_n_alpha`` × ``eval_n_beta`` fixed draws; D is :func:`lib.gce.evaluation.data_term` on
    ``x_eval`` (held-out images). Each call is logged in ``runs`` with its training time and cache hit.
    """

    def __init__(self, classifier, x_train, x_eval, steps: int, batch_size: int, lr: float, n_alpha: int,
                 n_beta: int, eval_n_alpha: int, eval_n_beta: int, seed: int, progress: bool = False):
        self.classifier, self.x_train, self.x_eval = classifier, x_train, x_eval
        self.train_args = dict(steps=steps, batch_size=batch_size, lr=lr, n_alpha=n_alpha, n_beta=n_beta,
                               seed=seed, progress=progress)
        self.eval_n_alpha, self.eval_n_beta, self.seed = eval_n_alpha, eval_n_beta, seed
        self.runs: list[dict] = []

    def __call__(self, k: int, l: int, lam: float) -> tuple[float, float]:
        causal = k > 0
        fit = fit_explainer(self.classifier, self.x_train, k, l, lam if causal else 0.0, causal=causal,
                            **self.train_args)
        c = math.nan
        if causal:
            gen = torch.Generator(device=self.x_train.device).manual_seed(3000 + self.seed)
            with torch.no_grad():
                c = information_flow(fit.model.decoder, self.classifier, k, l, self.eval_n_alpha, self.eval_n_beta,
                                     generator=gen).item()
        d = data_term(fit.model, self.x_eval, seed=4000 + self.seed)
        self.runs.append({"K": k, "L": l, "λ": lam if causal else 0.0, "C": c, "D": d,
                          "train s": fit.history["seconds"], "cached": fit.cached})
        return c, d

    def table(self) -> pd.DataFrame:
        """The configurations scored so far, one row each, in the order they were asked for."""
        return pd.DataFrame(self.runs)


def algorithm1(data: Splits, settings: dict, seeds, total_dims, lams, xi: float, window: int, k_max: int | None,
               total: int | None, progress: bool = False) -> tuple[dict, dict, pd.DataFrame]:
    """Algorithm 1 (``select.tune``) once per seed, each with its own classifier and grid of models (trained
    or loaded from the cache, ``settings`` giving their training). Returns the classifiers' fits and the
    ``TuningRun`` by seed, and one row per configuration scored (``GCEScorer.table`` with a seed column)."""
    classifiers, runs, tables = {}, {}, []
    for seed in seeds:
        classifiers[seed] = fit_classifier(*data.train, len(settings["classes"]), settings["classifier_epochs"], seed,
                                           data.train_fraction, progress=progress)
        scorer = GCEScorer(classifiers[seed].model, data.train[0], data.val[0], settings["steps"],
                           settings["batch_size"], settings["lr"], settings["n_alpha"], settings["n_beta"],
                           settings["eval_n_alpha"], settings["eval_n_beta"], seed, progress=progress)
        runs[seed] = tune(scorer, total_dims, lams, xi, window, k_max=k_max, total=total)
        tables.append(scorer.table().assign(seed=seed))
    return classifiers, runs, pd.concat(tables, ignore_index=True)

