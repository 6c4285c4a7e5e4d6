"""The information-flow estimator against a case with a known answer, and its invariants.

Known case: the decoder is the identity on z = (alpha, beta) ~ N(0, I_2) and the classifier is
logistic, p(y=1 | x) = sigmoid(3 x0 + 1.5 x1). Then I(alpha; Y) is a pair of 1-D integrals, which we
compute by Gauss-Hermite quadrature.

How far the Monte-Carlo estimate may be from the truth: the estimator is
H(mean_a p_hat(y|a)) - mean_a H(p_hat(y|a)), with p_hat(y|a) a mean over n_beta draws of beta. Plugging
an estimate into the concave entropy biases H(p_hat(y|a)) down by at most (M-1)/(2 n_beta) (the
multinomial case is the worst), so the estimate is biased *up* by at most that much. Its Monte-Carlo
standard error is about sd_a[H(p(y|a))] / sqrt(n_alpha) (the first term sits at p = 1/2, where the
entropy is flat). We accept truth - 4 SE <= estimate <= truth + bias + 4 SE.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.gce import flow_from_probs, information_flow
from lib.gce.toys import WEIGHTS, Constant, Identity, Logistic, ThreeBins, mc_bounds, quadrature_flow


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- known answer

def test_quadrature_reference_values():
    flow_alpha, _ = quadrature_flow(*WEIGHTS)
    flow_beta, _ = quadrature_flow(*reversed(WEIGHTS))
    assert flow_alpha == pytest.approx(0.2590, abs=5e-5)
    assert flow_beta == pytest.approx(0.0526, abs=5e-5)
    # more nodes change nothing: the quadrature has converged
    assert quadrature_flow(*WEIGHTS, nodes=160)[0] == pytest.approx(flow_alpha, abs=1e-9)


def test_monte_carlo_flow_matches_quadrature():
    n_alpha, n_beta = 10_000, 200
    truth, sd = quadrature_flow(*WEIGHTS)
    low, high = mc_bounds(truth, sd, n_alpha, n_beta)
    assert high - low < 0.025  # the test is tight enough to mean something
    flow = information_flow(Identity(), Logistic(WEIGHTS), k=1, l=1, n_alpha=n_alpha, n_beta=n_beta,
                            generator=seeded())
    assert flow.shape == ()
    assert low <= flow.item() <= high


def test_per_factor_flows_match_quadrature():
    n_alpha, n_beta = 10_000, 200
    flows = information_flow(Identity(), Logistic(WEIGHTS), k=1, l=1, n_alpha=n_alpha, n_beta=n_beta,
                             dims=[0, 1], generator=seeded(1))
    assert flows.shape == (2,)
    for flow, (w_kept, w_other) in zip(flows.tolist(), [WEIGHTS, WEIGHTS[::-1]]):
        truth, sd = quadrature_flow(w_kept, w_other)
        low, high = mc_bounds(truth, sd, n_alpha, n_beta)
        assert low <= flow <= high


# ----------------------------------------------------------------------------- invariants

def test_flow_is_near_zero_when_classifier_ignores_alpha():
    n_beta = 50
    flow = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, n_alpha=500, n_beta=n_beta,
                            generator=seeded())
    assert 0 <= flow.item() <= 1 / (2 * n_beta)  # only the plug-in bias is left
    per_factor = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, n_alpha=500, n_beta=n_beta,
                                  dims=[0, 1], generator=seeded())
    assert per_factor[0].item() <= 1 / (2 * n_beta)
    assert per_factor[1].item() > 0.1  # beta does carry information


def test_flow_is_zero_for_a_constant_classifier():
    # no plug-in bias here: every p_hat(y | alpha) is the same vector, so only float32 rounding is left
    flow = information_flow(Identity(), Constant(), 1, 1, n_alpha=7, n_beta=5, generator=seeded())
    assert abs(flow.item()) < 1e-6
    flows = information_flow(Identity(), Constant(), 1, 1, 7, 5, dims=[0, 1], generator=seeded())
    assert flows.abs().max().item() < 1e-6


def test_flow_never_exceeds_log_m():
    flow = information_flow(Identity(), ThreeBins(), 1, 1, n_alpha=3000, n_beta=4, generator=seeded())
    assert flow.item() <= math.log(3) + 1e-6
    assert flow.item() == pytest.approx(math.log(3), abs=0.01)  # and it gets close to the bound


@pytest.mark.parametrize("seed", range(5))
def test_flow_is_nonnegative(seed):
    torch.manual_seed(seed)
    decoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(8, 4), nn.Softmax(-1))
    with torch.no_grad():
        flow = information_flow(decoder, classifier, 1, 2, n_alpha=20, n_beta=3, generator=seeded(seed))
        flows = information_flow(decoder, classifier, 1, 2, 20, 3, dims=[0, 1, 2], generator=seeded(seed))
    assert flow.item() >= -1e-6
    assert (flows >= -1e-6).all()


@pytest.mark.parametrize("dims", [[0], [2, 0], [0, 1, 2, 3]])
def test_per_factor_shape(dims):
    decoder = nn.Linear(4, 2)
    flows = information_flow(decoder, Logistic(WEIGHTS), 2, 2, 5, 3, dims=dims, generator=seeded())
    assert flows.shape == (len(dims),)


def test_flow_is_differentiable_wrt_decoder():
    torch.manual_seed(0)
    decoder = nn.Linear(2, 2)
    loss = -information_flow(decoder, Logistic(WEIGHTS), 1, 1, 50, 10, generator=seeded())
    loss.backward()
    grad = decoder.weight.grad
    assert grad is not None
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


@pytest.mark.parametrize("start_in_training_mode", [True, False])
def test_classifier_runs_in_eval_mode_and_keeps_its_mode(start_in_training_mode):
    torch.manual_seed(0)
    linear = nn.Linear(2, 3)
    with_dropout = nn.Sequential(linear, nn.Dropout(p=0.99), nn.Softmax(-1))
    without_dropout = nn.Sequential(copy.deepcopy(linear), nn.Softmax(-1))
    with_dropout.train(start_in_training_mode)
    flow = information_flow(Identity(), with_dropout, 1, 1, 40, 8, generator=seeded(3))
    assert with_dropout.training is start_in_training_mode
    assert all(m.training is start_in_training_mode for m in with_dropout.modules())
    reference = information_flow(Identity(), without_dropout, 1, 1, 40, 8, generator=seeded(3))
    torch.testing.assert_close(flow, reference, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dims", [None, [0, 1]])
def test_chunking_gives_the_same_value(dims):
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(2, 6), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(6, 3), nn.Softmax(-1))
    whole = information_flow(decoder, classifier, 1, 1, 30, 7, dims=dims, generator=seeded(5))
    chunked = information_flow(decoder, classifier, 1, 1, 30, 7, dims=dims, generator=seeded(5), chunk=11)
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    dict(k=0, l=0, n_alpha=5, n_beta=5),                 # no latents at all
    dict(k=1, l=1, n_alpha=0, n_beta=5),
    dict(k=1, l=1, n_alpha=5, n_beta=0),
    dict(k=-1, l=2, n_alpha=5, n_beta=5),
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[2]),       # index past the last latent
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[-1]),
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[]),
    dict(k=0, l=2, n_alpha=5, n_beta=5),                 # no alpha and no dims
])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        information_flow(Identity(), Logistic(WEIGHTS), **kwargs)


def test_k_zero_is_fine_with_dims():
    flows = information_flow(Identity(), Logistic(WEIGHTS), 0, 2, 5, 5, dims=[0, 1], generator=seeded())
    assert flows.shape == (2,)


# ----------------------------------------------------------------------------- flow_from_probs

def brute_force_flow(probs: np.ndarray) -> float:
    """I(alpha; Y) with alpha uniform over the rows and p(y | alpha) the mean over the beta columns."""
    n_alpha, n_beta, n_classes = probs.shape
    p_given = [[sum(probs[a, b, y] for b in range(n_beta)) / n_beta for y in range(n_classes)]
               for a in range(n_alpha)]
    p_y = [sum(p_given[a][y] for a in range(n_alpha)) / n_alpha for y in range(n_classes)]
    entropy = lambda p: -sum(q * math.log(q) for q in p if q > 0)  # noqa: E731
    return entropy(p_y) - sum(entropy(p) for p in p_given) / n_alpha


def test_flow_from_probs_matches_brute_force():
    probs = np.array([
        [[0.9, 0.1, 0.0], [0.7, 0.2, 0.1]],
        [[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]],
        [[0.2, 0.6, 0.2], [0.0, 1.0, 0.0]],
    ])
    expected = brute_force_flow(probs)
    assert expected > 0.3  # a case where the flow is far from zero
    got = flow_from_probs(torch.tensor(probs, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_flow_from_probs_by_hand():
    # alpha decides the class outright, beta is irrelevant: I = H(Y) = log 2
    decisive = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    assert flow_from_probs(decisive).item() == pytest.approx(math.log(2), abs=1e-6)
    # beta decides the class, alpha is irrelevant: I = 0
    irrelevant = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert flow_from_probs(irrelevant).item() == pytest.approx(0.0, abs=1e-6)


def test_flow_from_probs_keeps_leading_dims():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(4, 5, 2))  # (factors, n_alpha, n_beta, M)
    got = flow_from_probs(torch.tensor(probs))
    assert got.shape == (4,)
    for i in range(4):
        assert got[i].item() == pytest.approx(brute_force_flow(probs[i]), abs=1e-6)
