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

from lib.labelfree.examples import (dknn, dknn_scores, example_importance, influence_functions, influence_scores,
                                    per_example_gradients, simplex, tracin)

pytestmark = pytest.mark.usefixtures("float64")  # exact comparisons in double precision


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


@pytest.mark.slow
def test_simplex_recovers_a_convex_combination():
    train = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    test = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # training points 1 and 2 exactly
    weights = simplex(train, test, epochs=1500, lr=0.05)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    assert (weights @ train - test).norm() < 0.05
    assert weights.argmax(1).tolist() == [1, 2]


def test_influence_scores_for_several_dampings_match_single_solves():
    gen = torch.Generator().manual_seed(1)
    g_test, g_train, factors = (torch.randn(n, 7, generator=gen) for n in (3, 4, 5))
    many = influence_scores(g_test, g_train, factors, 5, [0.01, 1.0])
    for lam, got in zip([0.01, 1.0], many):
        dense = factors.T @ factors / 5 + lam * torch.eye(7)
        torch.testing.assert_close(got, g_test @ torch.linalg.solve(dense, g_train.T))
        torch.testing.assert_close(influence_scores(g_test, g_train, factors, 5, lam), got)


def test_dknn_scale_reproduces_raw_pixels():
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    test, sub = torch.rand(3, 1, 4, 4), torch.rand(5, 1, 4, 4)
    scores = dknn_scores(enc, test, sub)
    raw = dknn_scores(enc, test, sub, scale=255.0)
    h_test, h_sub = enc(test * 255), enc(sub * 255)
    assert torch.allclose(raw, 1 / torch.cdist(h_test, h_sub).square(), rtol=1e-4)
    assert not torch.allclose(raw, scores)


def test_example_importance_scores_every_method_and_damping():
    model = TinyAutoencoder(linear=True)
    train, test = torch.randn(9, 6), torch.randn(4, 6)
    checkpoint = {k: v.clone() for k, v in model.state_dict().items()}
    scores, seconds = example_importance(model, [checkpoint], train, test, damping=0.5, extra_dampings=[0.05],
                                         simplex_epochs=5)
    assert list(scores) == ["Influence Functions", "Influence Functions (λ = 0.05)", "TracIn", "DKNN", "SimplEx"]
    assert set(seconds) == set(scores) - {"Influence Functions (λ = 0.05)"}
    assert all(s.shape == (4, 9) for s in scores.values())
    torch.testing.assert_close(scores["Influence Functions (λ = 0.05)"],
                               influence_functions(model, train, test, damping=0.05))
    torch.testing.assert_close(scores["TracIn"], tracin(model, [checkpoint], train, test))
