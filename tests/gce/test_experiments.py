"""The notebooks' experiments on tiny data: one row per run with the columns the verdicts read, curves per run
and step, the models by run key; the run settings and header; the cost timings."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from lib.gce import experiments, reference
from lib.gce import select as gs
from lib.gce.models import CNNClassifier

TINY = dict(classifier_epochs=1, steps=2, n_alpha=2, n_beta=2)


@pytest.fixture
def settings() -> dict:
    """The MNIST 3 vs 8 settings with two training steps and 2 x 2 samples."""
    return experiments.run_settings("mnist_3_8", **TINY)


def test_run_settings_keep_the_papers_unless_overridden():
    paper = reference.GCE_SETTINGS["fmnist_0_3_4"]
    s = experiments.run_settings("fmnist_0_3_4", None, 10, 3, 2, gammas=[0.0, 1.0])
    assert s == {**paper, "steps": 10, "n_alpha": 3, "n_beta": 2, "gammas": [0.0, 1.0]}
    assert experiments.run_settings("fmnist_0_3_4", 4, 10, 3, 2)["classifier_epochs"] == 4


def test_header_lines(tiny_splits, settings):
    lines = experiments.header_lines(tiny_splits, settings, "mnist_3_8")
    assert set(lines) == {"Images", "GCE", "Classifier"}
    assert "train 64, validation 16, test 16" in lines["Images"]
    assert "Nα × Nβ = 2 × 2 (paper: 100 × 25, 8000 steps)" in lines["GCE"]
    assert lines["Classifier"] == "1 epochs (paper: 20)"


def test_mean_sd():
    table = pd.DataFrame({"γ": [0.0, 0.0, 1.0], "D": [1.0, 3.0, 2.5], "I": [0.5, 0.7, 0.25]})
    got = experiments.mean_sd(table, "γ", ["D", "I"])
    assert got.loc[0.0].tolist() == ["2.000 ± 1.414", "0.600 ± 0.141"]
    assert got.loc[1.0].tolist() == ["2.500", "0.250"]  # one run: no spread


def check_experiment(result, keys: list[str], runs: int, factors: int = 8):
    table = result.table
    assert list(table.columns[:len(keys)]) == keys and len(table) == runs
    assert not table[keys].duplicated().any()
    for column in ("accuracy", "D", "training I(α; Ŷ)", "I(α; Ŷ)", "α sweep: smallest change rate",
                   "largest β ablation drop", "GCE seconds"):
        assert np.isfinite(table[column].astype(float)).all(), column
    assert "β leak" in table  # not finite where an untrained explainer's α carries no flow at all
    assert len(table.filter(regex="^flow ").columns) == factors
    assert len(result.curves) == runs * 2 and set(keys) <= set(result.curves.columns)
    assert len(result.models) == runs


@pytest.mark.slow
def test_headline_has_one_row_per_seed(tiny_splits, settings):
    result = experiments.headline(tiny_splits, settings, [0, 1], (4, 2), sweep_rows=5, progress=False)
    check_experiment(result, ["seed"], 2)
    assert set(result.models) == {0, 1} and "test accuracy" in result.table
    again = experiments.headline(tiny_splits, settings, [1], (4, 2), sweep_rows=5, progress=False)
    assert again.table["cached"].all()  # every model came from the cache
    assert again.table.drop(columns=["cached", "classifier seconds", "GCE seconds"]).iloc[0].equals(
        result.table.drop(columns=["cached", "classifier seconds", "GCE seconds"]).iloc[1])


@pytest.mark.slow
def test_beta_penalty_pairs_every_seed_with_every_weight(tiny_splits, settings):
    result = experiments.beta_penalty(tiny_splits, settings, [0], [0.0, 2.0], (4, 2), sweep_rows=5, progress=False)
    check_experiment(result, ["seed", "γ"], 2)
    assert set(result.models) == {(0, 0.0), (0, 2.0)}
    penalised = result.curves[result.curves["γ"] == 2.0]
    assert penalised["beta_flow"].notna().all() and result.curves[result.curves["γ"] == 0.0]["beta_flow"].isna().all()
    assert result.table["original"].nunique() == 1  # both weights explain the same classifier


@pytest.mark.slow
def test_classifier_comparison_adds_the_intensity_correlations(tiny_splits, settings):
    result = experiments.classifier_comparison(tiny_splits, settings, ["mean_intensity", "cnn"],
                                               {"mean_intensity": 0.001, "cnn": 0.05}, [0], (4, 2), sweep_rows=5,
                                               progress=False)
    check_experiment(result, ["architecture", "seed"], 2)
    correlations = result.table.filter(regex="^intensity correlation ")
    assert correlations.shape == (2, 8) and (correlations.abs() <= 1).all().all()
    assert (result.table["corr(α, intensity)"] == correlations["intensity correlation α1"]).all()
    assert (result.table["largest |corr(β, intensity)|"] == correlations.iloc[:, 1:].abs().max(axis=1)).all()


@pytest.mark.slow
def test_cost_times_every_training_and_takes_ratios_per_repetition(tiny_splits):
    cost = experiments.cost({"mnist_3_8": tiny_splits}, 0, warmup_steps=1, timing_steps=1, classifier_timing_steps=2,
                            repeats=2)
    assert cost[["data set", "repetition"]].values.tolist() == [["mnist_3_8", 0], ["mnist_3_8", 1]]
    row = cost.iloc[1]
    assert row["clock"] == "CPU" and (row.drop(["clock", "data set"]) > 0).all()
    assert row["GCE / VAE"] == pytest.approx(row["GCE CPU s/step"] / row["VAE CPU s/step"])
    assert row["seed 000 GCE / VAE"] == pytest.approx((34 * 60 + 25) / (5 * 60 + 24))


@pytest.mark.slow
def test_gce_scorer_trains_each_configuration_once(isolated_cache):
    torch.manual_seed(0)
    classifier, x = CNNClassifier(2).eval(), torch.rand(12, 1, 28, 28)
    scorer = experiments.GCEScorer(classifier, x[:8], x[8:], steps=2, batch_size=4, lr=1e-3, n_alpha=2, n_beta=2,
                          eval_n_alpha=3, eval_n_beta=2, seed=0)
    table = gs.ScoreTable(scorer)
    c0, d0 = table(0, 2, 0.0)          # step 1: a plain VAE, no causal term
    c1, d1 = table(1, 1, 0.01)
    assert math.isnan(c0) and d0 > 0 and d1 > 0 and c1 >= -1e-6
    table(1, 1, 0.01)                  # memoised: no second call
    assert [(r["K"], r["cached"]) for r in scorer.runs] == [(0, False), (1, False)]
    assert scorer.table()[["K", "cached"]].values.tolist() == [[0, False], [1, False]]
    again = experiments.GCEScorer(classifier, x[:8], x[8:], 2, 4, 1e-3, 2, 2, 3, 2, seed=0)
    assert again(1, 1, 0.01) == pytest.approx((c1, d1))  # the model cache returns the same model
    assert again.runs[-1]["cached"]
    assert len(list(isolated_cache.glob("*.pt"))) == 2


@pytest.mark.slow
def test_algorithm1_tunes_once_per_seed(tiny_splits):
    settings = {"classes": [0, 1], "classifier_epochs": 1, "steps": 2, "batch_size": 4, "lr": 1e-3, "n_alpha": 2,
                "n_beta": 2, "eval_n_alpha": 3, "eval_n_beta": 2}
    classifiers, runs, trained = experiments.algorithm1(tiny_splits, settings, [0, 1], [1, 2], [0.01, 0.1], xi=0.05,
                                                        window=1, k_max=1, total=None)
    assert list(classifiers) == list(runs) == [0, 1]
    assert all(isinstance(run, gs.TuningRun) for run in runs.values())
    assert trained["seed"].tolist() == [0] * (len(trained) // 2) + [1] * (len(trained) // 2)
    assert trained.groupby("seed")["K"].apply(list).tolist()[0] == trained.groupby("seed")["K"].apply(list).tolist()[1]
