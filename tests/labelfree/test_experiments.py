"""The claims' experiment loops on tiny inputs: what their tidy tables hold, and that the random draws of the
latent-shift curves follow their seed only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lib.core.data import Splits
from lib.labelfree import experiments, reference
from lib.labelfree.data import AutoencoderData
from lib.labelfree.training import TASKS


@pytest.mark.usefixtures("float64")
def test_consistency_curves_follow_their_seed_whatever_ran_before(nonlinear, scramble_global_rngs):
    encoder, x, _ = nonlinear
    baseline = torch.zeros(1, 1, 4, 5)
    curves = []
    for state in (1, 2):
        scramble_global_rngs(state)
        curves.append(experiments.consistency_curves(encoder, x, baseline, [0.25, 0.5], batch_size=3, seed=0,
                                                     n_steps=4, n_samples=3))
    assert curves[0].equals(curves[1])
    assert len(curves[0]) == len(experiments.CURVE_METHODS) * 2 * 2  # methods × fractions × batches


@pytest.fixture
def mnist_like():
    """A tiny MNIST-shaped claim-2 experiment: 40 training, 10 validation, 4 test and 10 ranked images."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(54, 1, 28, 28, generator=gen)
    labels = torch.arange(54) % 2
    return {"MNIST": AutoencoderData(x[:40], x[40:50], x[50:], labels[50:], "random images", x[:10], labels[:10])}


def test_autoencoders_and_their_latent_shift_curves(mnist_like):
    fits, training = experiments.autoencoders(mnist_like, [0], {"MNIST": 1}, progress=False)
    assert list(fits) == [("MNIST", 0)] and training["cache"].tolist() == ["trained"]
    assert training.loc[0, "TracIn checkpoints (epochs)"] == [1]  # claim 1's default: every 10 epochs
    e = mnist_like["MNIST"]
    mean_loss = ((e.train.mean(0) - e.val) ** 2).mean().item()
    assert training.loc[0, "best validation loss / the mean training input's"] == pytest.approx(
        fits["MNIST", 0].history["best_val_loss"] / mean_loss)
    curves = experiments.latent_shift_curves(fits, mnist_like, [0.5, 1.0], ig_steps=2, gs_samples=2)
    assert list(curves.columns) == ["method", "fraction", "batch", "shift", "data", "seed"]
    assert len(curves) == len(experiments.CURVE_METHODS) * 2 and (curves["shift"] >= 0).all()
    header = experiments.describe_autoencoders(mnist_like, {"MNIST": 1}, claim=1)
    assert "explained 4 examples in batches of 200; at most 1 epochs (1 steps of 300)" in header["MNIST"]


def test_autoencoders_pass_each_data_sets_patience(mnist_like, monkeypatch):
    seen = []
    real = experiments.fit_autoencoder
    monkeypatch.setattr(experiments, "fit_autoencoder", lambda *a, **k: seen.append(k["patience"]) or real(*a, **k))
    experiments.autoencoders(mnist_like, [0], {"MNIST": 1}, progress=False)
    experiments.autoencoders(mnist_like, [0], {"MNIST": 1}, patience={"MNIST": 3}, progress=False)
    assert seen == [10, 3]  # the paper's 10 unless the data set's own is given


@pytest.mark.slow
def test_similarity_rates_of_every_method(mnist_like):
    run = experiments.similarity_rates(mnist_like, [0], {"MNIST": 2}, {"MNIST": 1}, [0.5, 1.0], extra_dampings=[0.1],
                                       simplex_epochs=3, progress=False)
    assert run.training.loc[0, "TracIn checkpoints (epochs)"] == [1, 2]
    assert set(run.rates["method"]) == {"Influence Functions", "Influence Functions (λ = 0.1)", "TracIn", "DKNN",
                                        "SimplEx"}
    assert len(run.rates) == 5 * 2 and run.rates["similarity"].between(0, 1).all()
    at_all = run.rates[run.rates["fraction"] == 1.0]["similarity"]
    np.testing.assert_allclose(at_all, 0.5)  # every method scores the class prior at M = 100 %
    assert len(run.seconds) == 4 and (run.seconds["seconds"] >= 0).all()


@pytest.mark.slow
def test_beta_sweep_has_one_row_per_model():
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(20, 1, 32, 32, generator=gen) < 0.3).float()
    data, config = {"d": (images[:16], images[16:])}, {"d": {"latent_dim": 2, "epochs": 1, "batch_size": 8}}
    table = experiments.beta_sweep(data, config, ["beta"], [1, 2], [0], tv_weights=(0.0, 0.5), gs_samples=2,
                                   progress=False)
    assert list(table.columns) == experiments.SWEEP_COLUMNS and len(table) == 4
    assert table["tv_weight"].tolist() == [0.0, 0.0, 0.5, 0.5] and table["beta"].tolist() == [1, 2, 1, 2]
    assert table["active"].between(0, 2).all() and (table["attr_tv"] > 0).all()
    assert table["loss_fall"].notna().all()
    np.testing.assert_allclose(table["rec_ratio"], table["rec"] / experiments.mean_image_bce(images[:16]))
    assert table.attrs["examples"]["d", 0.5, "beta", 2, 0].shape == (4, 2, 32, 32)
    empty = experiments.beta_sweep(data, config, ["beta"], [1], [0], tv_weights=())
    assert empty.empty and list(empty.columns) == experiments.SWEEP_COLUMNS


def test_mean_image_bce_by_hand():
    images = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).view(2, 1, 1, 2)  # mean image (1, 0.5)
    assert experiments.mean_image_bce(images) == pytest.approx(np.log(2), rel=1e-5)  # only the 0.5 pixel costs


def test_loss_fall_compares_the_last_two_tenths_of_training():
    losses = [10.0] * 80 + [2.2] * 10 + [2.0] * 10
    assert experiments.loss_fall(losses) == pytest.approx(0.1)
    assert experiments.loss_fall([3.0, 3.0]) == 0 and experiments.loss_fall([5.0]) == 0


def test_sweep_config_and_its_header():
    config = experiments.sweep_config(["dsprites"], reference.LABELFREE_CLAIM3, mnist=(1, 2, 3, 4),
                                      dsprites=(10, 5, 1, 8))
    assert config == {"dsprites": {"train": 10, "test": 5, "epochs": 1, "batch_size": 8, "latent_dim": 6}}
    text = experiments.describe_sweep(config, reference.LABELFREE_CLAIM3)["dsprites"]
    assert text.startswith("10 training and 5 test images") and "batch 500)" in text


@pytest.mark.slow
def test_pretext_correlations_pair_every_task(blobs):
    x, y = blobs
    splits = Splits((x[:100], y[:100]), (x[100:110], y[100:110]), (x[110:], y[110:]), [str(d) for d in range(10)], "")
    run = experiments.pretext_correlations(splits, x[110:114], x[:10], [0], list(TASKS), epochs=1, batch_size=50,
                                           gs_samples=2)
    assert run.pccs.groupby("variant", sort=False).size().to_dict() == {
        "saliency": 6, "examples": 6, "examples, raw 0–255 pixels": 6}
    assert run.pccs["pcc"].between(-1, 1).all()
    assert run.training["task"].tolist() == list(TASKS.values())
    assert run.training["test accuracy"].notna().tolist() == [False, False, False, True]
    ratios = run.training["best validation loss / the mean training image's"]
    assert ratios.notna().tolist() == [True, True, True, False] and (ratios[:3] > 0).all()
    assert run.maps.shape == (4, 4, 28, 28) and (run.maps >= 0).all()


def test_mask_variant_curves_cover_every_masking(mnist_like):
    fits, _ = experiments.autoencoders(mnist_like, [0], {"MNIST": 1}, progress=False)
    curves = experiments.mask_variant_curves(fits, mnist_like["MNIST"], [0.5, 1.0], ig_steps=2, gs_samples=2)
    assert list(curves["variant"].unique()) == list(experiments.MASKINGS)
    assert len(curves) == len(experiments.MASKINGS) * 4 * 2 and (curves["shift"] >= 0).all()
    # the hard mask with the black baseline is claim 1's check: the same shifts as its curves
    claim1 = experiments.latent_shift_curves(fits, mnist_like, [0.5, 1.0], ig_steps=2, gs_samples=2)
    hard = curves[curves["variant"] == "hard mask, zero baseline"].set_index(["method", "fraction"])["shift"]
    same = claim1[claim1["method"].isin(hard.index.get_level_values(0))].set_index(["method", "fraction"])["shift"]
    pd.testing.assert_series_equal(hard.sort_index(), same.sort_index())


def test_top_example_agreement_by_hand():
    # two tasks, three test images; sub_y gives the digits of four training examples
    tops = {(0, "R"): torch.tensor([0, 1, 2]), (0, "C"): torch.tensor([0, 3, 1])}
    sub_y, test_y = torch.tensor([5, 7, 7, 5]), torch.tensor([5, 7, 5])
    pairs, right = experiments.top_example_agreement(tops, test_y, sub_y, ["R", "C"])
    # same example on image 0 only; digits R 5, 7, 7 and C 5, 5, 7: the same on images 0 and 2
    assert pairs.to_dict("records") == [{"seed": 0, "pair": "R-C", "same example": pytest.approx(1 / 3),
                                         "same digit": pytest.approx(2 / 3)}]
    # R: digits 5, 7, 7 against 5, 7, 5 -> 2/3; C: 5, 5, 7 -> 1/3
    assert right["right digit"].tolist() == [pytest.approx(2 / 3), pytest.approx(1 / 3)]
