"""The trainers and objectives: corruptions, the shared pieces of the loops, early stopping and TracIn
checkpoints, the cached trainers, the VAE losses, the TC estimator and the TV prior."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.labelfree import models, training
from lib.labelfree.examples import tracin
from lib.labelfree.features import label_free_gradient_shap


def test_bernoulli_mask_drops_the_expected_share_of_pixels():
    x = torch.ones(200, 1, 28, 28)
    masked = training.bernoulli_mask(0.2)(x, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert (masked == 0).float().mean().item() == pytest.approx(0.2, abs=0.005)


def test_epoch_mean_weights_batches_by_size():
    assert training.epoch_mean([1.0, 2.0, 4.0], 7, 3) == pytest.approx((3 * 1 + 3 * 2 + 1 * 4) / 7)


def test_early_stopping_restores_the_best_epoch():
    # validation losses 3, 1, 2, 2, ...: patience 2 stops after epoch 4 and restores epoch 2's weights
    model = torch.nn.Linear(1, 1)
    losses, weights = iter([3.0, 1.0, 2.0, 2.0, 2.0]), []

    def step(i):
        with torch.no_grad():
            model.weight += 1.0
        return {"loss": torch.tensor(float(i))}

    def validate():
        weights.append(model.weight.item())
        return next(losses), {"seen": len(weights)}

    history = training.train_early_stopped(model, step, n=4, batch_size=2, epochs=10, patience=2, validate=validate,
                                           progress=False)
    assert history["epochs_run"] == 4 and history["best_epoch"] == 2 and history["best_val_loss"] == 1.0
    assert history["train_loss"] == [0.5, 2.5, 4.5, 6.5] and history["seen"] == [1, 2, 3, 4]
    assert model.weight.item() == weights[1] and not model.training
    with pytest.raises(ValueError):
        training.train_early_stopped(model, step, 4, 2, epochs=0, patience=1, validate=validate)


@pytest.mark.slow
def test_autoencoder_keeps_best_validation_weights_and_persists_checkpoints(isolated_cache):
    gen = torch.Generator().manual_seed(0)
    train, val = torch.rand(64, 1, 28, 28, generator=gen), torch.rand(32, 1, 28, 28, generator=gen)
    model, history, hit = training.fit_autoencoder("mnist", train, val, seed=0, epochs=3, batch_size=16, patience=5,
                                                   checkpoint_every=2, progress=False)
    assert not hit and history["checkpoint_epochs"] == [1, 3] and len(history["checkpoints"]) == 2
    assert len(list(isolated_cache.glob("labelfree-mnist-ae-*.pt"))) == 1  # weights and checkpoints, one file
    assert history["best_val_loss"] == min(history["val_loss"])
    # The restored weights give the best validation loss again (same fixed validation noise).
    with torch.no_grad():
        noisy = training.gaussian_noise(0.3)(val, torch.Generator().manual_seed(0 + 1))
        assert F.mse_loss(model(noisy), val).item() == pytest.approx(history["best_val_loss"], rel=1e-5)
    # A reloaded model comes with its checkpoints, so TracIn gives the same, non-zero scores.
    again, history2, hit2 = training.fit_autoencoder("mnist", train, val, seed=0, epochs=3, batch_size=16,
                                                     patience=5, checkpoint_every=2, progress=False)
    assert hit2
    first = tracin(model, history["checkpoints"], train[:4], val[:3])
    torch.testing.assert_close(tracin(again, history2["checkpoints"], train[:4], val[:3]), first)
    assert first.abs().max() > 0
    with pytest.raises(ValueError):
        training.train_autoencoder(model, train, val, epochs=0)


@pytest.mark.slow
@pytest.mark.parametrize("task", list(training.TASKS))
def test_pretext_encoders_train_cache_and_improve(task, blobs):
    x, y = blobs
    train, val = (x[:100], y[:100]), (x[100:], y[100:])
    model, history, hit = training.fit_pretext_encoder(task, train, val, seed=0, epochs=6, batch_size=20,
                                                       progress=False)
    model2, _, hit2 = training.fit_pretext_encoder(task, train, val, seed=0, epochs=6, batch_size=20, progress=False)
    assert not hit and hit2 and "checkpoints" not in history
    enc, enc2 = model.encoder, model2.encoder
    assert enc(x[:2]).shape == (2, 4) and model(x[:2]).shape == ((2, 10) if task == "C" else (2, 1, 28, 28))
    assert min(history["val_loss"]) < history["val_loss"][0]
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), enc2.state_dict().values()))


# ----------------------------------------------------------------------------- VAE objectives

def test_kl_matches_the_closed_form_and_monte_carlo():
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[math.log(0.25), math.log(2.0)]])
    by_hand = sum(0.5 * (m ** 2 + v - 1 - math.log(v)) for m, v in [(0.5, 0.25), (-1.0, 2.0)])
    assert training.kl_normal(mu, logvar).item() == pytest.approx(by_hand, rel=1e-6)
    gen = torch.Generator().manual_seed(0)
    z = mu + torch.randn((200_000, 2), generator=gen) * (0.5 * logvar).exp()
    zeros = torch.zeros_like(z)
    mc = (training.log_density_gaussian(z, mu, logvar) - training.log_density_gaussian(z, zeros, zeros)).sum(1).mean()
    assert mc.item() == pytest.approx(by_hand, abs=0.01)


def _codes(rho, n=2000, sd=0.3, seed=0):
    """Posteriors N(m_n, sd^2 I) around means drawn from a 2-D Gaussian with correlation rho."""
    gen = torch.Generator().manual_seed(seed)
    cov = torch.tensor([[1.0, rho], [rho, 1.0]])
    mu = torch.randn((n, 2), generator=gen) @ torch.linalg.cholesky(cov).T
    logvar = torch.full_like(mu, math.log(sd ** 2))
    z = mu + sd * torch.randn(mu.shape, generator=gen)
    return z, mu, logvar


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_total_correlation_of_gaussian_codes(rho):
    # q(z) = N(0, C + sd^2 I): TC = -1/2 log(1 - r^2) with r = rho / (1 + sd^2)
    z, mu, logvar = _codes(rho)
    mi, tc, dw_kl = training.kl_decomposition(z, mu, logvar)
    r = rho / (1 + 0.3 ** 2)
    assert tc.item() == pytest.approx(-0.5 * math.log(1 - r ** 2), abs=0.06)
    # the three parts add up to log q(z|x) - log p(z)
    zeros = torch.zeros_like(z)
    log_ratio = training.log_density_gaussian(z, mu, logvar) - training.log_density_gaussian(z, zeros, zeros)
    total = log_ratio.sum(1).mean()
    assert (mi + tc + dw_kl).item() == pytest.approx(total.item(), abs=1e-4)


def test_tc_separates_independent_from_correlated_codes():
    tc = [training.kl_decomposition(*_codes(rho, seed=1))[1].item() for rho in (0.0, 0.5, 0.99)]
    assert tc[0] < 0.05 < tc[1] < tc[2]


def test_tv_prior_is_zero_on_constant_maps_and_known_on_a_step():
    assert training.total_variation(torch.full((2, 3, 8, 8), 0.7)).item() == 0
    step = torch.zeros(1, 1, 4, 4)
    step[..., 2:] = 1.0  # one vertical edge of height 4: 4 horizontal differences of 1
    assert training.total_variation(step).item() == 4


def test_tv_prior_is_differentiable_unlike_captum_attributions():
    from captum.attr import GradientShap

    torch.manual_seed(0)
    model = models.DisentangledVAE(32, 3)
    x = torch.rand(2, 1, 32, 32)
    ours = training.total_variation(label_free_gradient_shap(model.encoder.mu, x, 2, create_graph=True))
    ours.backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    reference = model.encoder.mu(x).repeat(2, 1)
    theirs = GradientShap(lambda t: (reference * model.encoder.mu(t)).sum(-1)).attribute(
        x, torch.zeros(1, 1, 32, 32), n_samples=2)
    assert not training.total_variation(theirs).requires_grad  # a prior built on it cannot train anything


# ----------------------------------------------------------------------------- VAE training

@pytest.mark.slow
@pytest.mark.parametrize("kind", training.KINDS)
def test_vae_training_is_seeded_cached_and_lowers_the_loss(kind, isolated_cache):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 1, 32, 32, generator=gen) < 0.2).float()
    model, hist, hit = training.fit_disentangled_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False)
    again, _, hit2 = training.fit_disentangled_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False)
    assert not hit and hit2 and len(list(isolated_cache.glob(f"labelfree-vae-{kind}-*.pt"))) == 1
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert np.mean(hist["loss"][-4:]) < np.mean(hist["loss"][:4])
    assert len(hist["rec"]) == len(hist["kl"]) == len(hist["tv"]) == hist["steps"] == 16
    fresh, _, _ = training.fit_disentangled_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False,
                                                use_cache=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))


@pytest.mark.slow
def test_tv_prior_lowers_the_total_variation_of_attributions():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(48, 1, 32, 32, generator=gen) < 0.3).float()
    tv = {}
    for weight in (0.0, 1.0):
        model, _, _ = training.fit_disentangled_vae(x, "beta", 1.0, 3, epochs=6, batch_size=16, seed=0,
                                                    tv_weight=weight, progress=False)
        attr = label_free_gradient_shap(model.encoder.mu, x, 4, torch.Generator().manual_seed(1))
        tv[weight] = training.total_variation(attr).item()
    assert tv[1.0] < 0.5 * tv[0.0]
