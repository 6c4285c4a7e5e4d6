"""Label-free example importance against brute force and closed forms.

Influence functions: on a tiny autoencoder whose reconstruction is linear in the encoder's parameters
(linear encoder and decoder, MSE loss) the Gauss-Newton matrix *is* the Hessian, so our Woodbury solve
must equal gᵀ(H + λI)⁻¹gⁿ with H the exact Hessian from torch.func.hessian and a dense solve.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, hessian

from lib.labelfree import dknn, influence_functions, per_example_gradients, similarity_rate, simplex, tracin
from lib.labelfree.examples import influence_scores
from test_labelfree_features import float64  # noqa: F401  (autouse fixture: exact checks in double precision)


class TinyAutoencoder(nn.Module):
    def __init__(self, linear: bool = True, n_in: int = 6, latent: int = 2):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Linear(n_in, latent)) if linear else \
            nn.Sequential(nn.Linear(n_in, 5), nn.Tanh(), nn.Linear(5, latent))
        self.decoder = nn.Linear(latent, n_in)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def loop_gradients(model, inputs, loss=F.mse_loss):
    rows = []
    for x in inputs:
        value = loss(model(x[None]), x[None])
        rows.append(torch.cat([g.flatten() for g in torch.autograd.grad(value, list(model.encoder.parameters()))]))
    return torch.stack(rows)


def test_per_example_gradients_match_a_loop():
    model = TinyAutoencoder(linear=False)
    x = torch.randn(7, 6)
    for loss in (F.mse_loss, F.l1_loss):
        torch.testing.assert_close(per_example_gradients(model, x, loss, chunk_size=3), loop_gradients(model, x, loss))


def test_influence_equals_exact_damped_hessian_inverse():
    model = TinyAutoencoder(linear=True)
    train, test = torch.randn(9, 6), torch.randn(4, 6)
    params = {k: v.detach() for k, v in model.encoder.named_parameters()}
    shapes = [(k, v.shape, v.numel()) for k, v in params.items()]

    def mean_loss(flat):
        p, i = {}, 0
        for k, shape, n in shapes:
            p[k], i = flat[i:i + n].reshape(shape), i + n
        return F.mse_loss(model.decoder(functional_call(model.encoder, p, (train,))), train)

    flat = torch.cat([v.flatten() for v in params.values()])
    damping = 0.05
    h = hessian(mean_loss)(flat) + damping * torch.eye(len(flat))
    expected = loop_gradients(model, test) @ torch.linalg.solve(h, loop_gradients(model, train).T)
    got = influence_functions(model, train, test, damping=damping, curvature="gauss_newton")
    torch.testing.assert_close(got, expected)
    # The empirical-Fisher variant solves exactly against its own curvature (dense check).
    g_train, g_test = loop_gradients(model, train), loop_gradients(model, test)
    fisher = g_train.T @ g_train / len(train) + damping * torch.eye(len(flat))
    torch.testing.assert_close(influence_functions(model, train, test, damping=damping, curvature="fisher"),
                               g_test @ torch.linalg.solve(fisher, g_train.T))


def test_influence_errors():
    model = TinyAutoencoder()
    x = torch.randn(3, 6)
    with pytest.raises(ValueError, match="mse_loss only"):
        influence_functions(model, x, x, loss=F.l1_loss)
    with pytest.raises(ValueError, match="damping"):
        influence_scores(x, x, x, 3, 0.0)


def test_tracin_sums_checkpoint_dot_products():
    model = TinyAutoencoder(linear=False)
    train, test = torch.randn(5, 6), torch.randn(3, 6)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    second = {k: v + 0.1 for k, v in first.items()}
    expected = loop_gradients(model, test) @ loop_gradients(model, train).T
    model.load_state_dict(second)
    expected = 0.5 * (expected + loop_gradients(model, test) @ loop_gradients(model, train).T)
    torch.testing.assert_close(tracin(model, [first, second], train, test, lr=0.5), expected)
    with pytest.raises(ValueError, match="checkpoint"):
        tracin(model, [], train, test)


def test_dknn_closed_form():
    train = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    test = torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(dknn(train, test), torch.tensor([[1.0, 1 / 18]]))
    with pytest.raises(ValueError):
        dknn(train, torch.zeros(1, 3))


def test_simplex_recovers_a_convex_combination():
    train = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    test = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # training points 1 and 2 exactly
    weights = simplex(train, test, epochs=1500, lr=0.05)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    assert (weights @ train - test).norm() < 0.05
    assert weights.argmax(1).tolist() == [1, 2]


def test_similarity_rate_by_hand():
    scores = torch.tensor([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    train_labels = torch.tensor([0, 0, 1, 1])
    test_labels = torch.tensor([0, 0])
    # test 0 ranks 0,1,2,3 -> labels 0,0,1,1; test 1 ranks 3,2,1,0 -> 1,1,0,0
    rates = similarity_rate(scores, train_labels, test_labels, [0.25, 0.5, 1.0])
    torch.testing.assert_close(rates, torch.tensor([0.5, 0.5, 0.5]), check_dtype=False)
    rates = similarity_rate(scores[:1], train_labels, test_labels[:1], [0.5, 0.75])
    torch.testing.assert_close(rates, torch.tensor([1.0, 2 / 3]), check_dtype=False)


def test_training_keeps_best_validation_weights_and_persists_checkpoints(isolated_cache):
    from lib.labelfree.nets import fit_autoencoder, gaussian_noise, trained_autoencoder

    torch.set_default_dtype(torch.float32)
    gen = torch.Generator().manual_seed(0)
    train, val = torch.rand(64, 1, 28, 28, generator=gen), torch.rand(32, 1, 28, 28, generator=gen)
    model, record, hit = trained_autoencoder("mnist", train, val, seed=0, epochs=3, batch_size=16, patience=5,
                                             checkpoint_every=2, progress=False)
    assert not hit and record["checkpoint_epochs"] == [1, 3] and len(record["checkpoints"]) == 2
    assert record["best_val_loss"] == min(record["val_loss"])
    # The restored weights give the best validation loss again (same fixed validation noise).
    with torch.no_grad():
        noisy = gaussian_noise(0.3)(val, torch.Generator().manual_seed(0 + 1))
        assert F.mse_loss(model(noisy), val).item() == pytest.approx(record["best_val_loss"], rel=1e-5)
    # A reloaded model comes with its checkpoints, so TracIn gives the same, non-zero scores.
    again, record2, hit2 = trained_autoencoder("mnist", train, val, seed=0, epochs=3, batch_size=16, patience=5,
                                               checkpoint_every=2, progress=False)
    assert hit2
    first = tracin(model, record["checkpoints"], train[:4], val[:3])
    torch.testing.assert_close(tracin(again, record2["checkpoints"], train[:4], val[:3]), first)
    assert first.abs().max() > 0
    with pytest.raises(ValueError):
        fit_autoencoder(model, train, val, epochs=0)


def test_influence_scores_for_several_dampings_match_single_solves():
    gen = torch.Generator().manual_seed(1)
    g_test, g_train, factors = (torch.randn(n, 7, generator=gen) for n in (3, 4, 5))
    many = influence_scores(g_test, g_train, factors, 5, [0.01, 1.0])
    for lam, got in zip([0.01, 1.0], many):
        dense = factors.T @ factors / 5 + lam * torch.eye(7)
        torch.testing.assert_close(got, g_test @ torch.linalg.solve(dense, g_train.T))
        torch.testing.assert_close(influence_scores(g_test, g_train, factors, 5, lam), got)
