"""The method: the information-flow estimator (plain and randomised quasi-Monte Carlo) against cases with a
known answer and its invariants, the latent samples and group flows behind it, GCE training with and
without the β-flow penalty, and the cached trainers.

Known answers come from the toy case of ``lib.gce.toys``: the decoder is the identity on z = (α, β) ~ N(0, I_2)
and p(y=1 | x) = sigmoid(3 x0 + 1.5 x1), so I(α; Y) = 0.2590 nats and I(β; Y) = 0.0526 nats (Gauss-Hermite
quadrature). A plain Monte-Carlo estimate must lie within ``mc_bounds`` (truth − 4 SE, truth + plug-in bias
+ 4 SE). The reference notes measured RMSEs over 200 repetitions of 0.022 (100 x 25) and 0.046 (25 x 10) for
plain Monte Carlo, 0.003 and 0.015 for QMC.
"""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import entr, expit
from torch import nn

from lib.core.train import accuracy
from lib.gce import (SAMPLERS, fit_classifier, fit_explainer, flow_from_probs, group_flow, information_flow,
                     latent_samples)
from lib.gce.models import VAE, CNNClassifier
from lib.gce.toys import WEIGHTS, Constant, Identity, Logistic, ThreeBins, mc_bounds, quadrature_flow

# ----------------------------------------------------------------------------- known answer


def test_quadrature_reference_values():
    flow_alpha, _ = quadrature_flow(*WEIGHTS)
    flow_beta, _ = quadrature_flow(*reversed(WEIGHTS))
    assert flow_alpha == pytest.approx(0.2590, abs=5e-5)
    assert flow_beta == pytest.approx(0.0526, abs=5e-5)
    # more nodes change nothing: the quadrature has converged
    assert quadrature_flow(*WEIGHTS, nodes=160)[0] == pytest.approx(flow_alpha, abs=1e-9)


def test_monte_carlo_flow_matches_quadrature(seeded):
    n_alpha, n_beta = 10_000, 200
    truth, sd = quadrature_flow(*WEIGHTS)
    low, high = mc_bounds(truth, sd, n_alpha, n_beta)
    assert high - low < 0.025  # the test is tight enough to mean something
    flow = information_flow(Identity(), Logistic(WEIGHTS), k=1, l=1, n_alpha=n_alpha, n_beta=n_beta,
                            generator=seeded())
    assert flow.shape == ()
    assert low <= flow.item() <= high


def test_per_factor_flows_match_quadrature(seeded):
    n_alpha, n_beta = 10_000, 200
    flows = information_flow(Identity(), Logistic(WEIGHTS), k=1, l=1, n_alpha=n_alpha, n_beta=n_beta,
                             dims=[0, 1], generator=seeded(1))
    assert flows.shape == (2,)
    for flow, (w_kept, w_other) in zip(flows.tolist(), [WEIGHTS, WEIGHTS[::-1]]):
        truth, sd = quadrature_flow(w_kept, w_other)
        low, high = mc_bounds(truth, sd, n_alpha, n_beta)
        assert low <= flow <= high


def toy_errors(sampler: str, n_alpha: int, n_beta: int, repetitions: int = 200) -> np.ndarray:
    truth, _ = quadrature_flow(*WEIGHTS)
    with torch.no_grad():
        estimates = [information_flow(Identity(), Logistic(WEIGHTS), 1, 1, n_alpha, n_beta,
                                      generator=torch.Generator().manual_seed(r), sampler=sampler).item()
                     for r in range(repetitions)]
    return np.array(estimates) - truth


def rmse(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(errors ** 2)))


@pytest.mark.parametrize("n_alpha, n_beta, mc_hint, qmc_hint", [(100, 25, 0.022, 0.003), (25, 10, 0.046, 0.015)])
def test_qmc_rmse_is_far_below_mc_on_the_toy_case(n_alpha, n_beta, mc_hint, qmc_hint):
    mc, qmc = rmse(toy_errors("mc", n_alpha, n_beta)), rmse(toy_errors("qmc", n_alpha, n_beta))
    assert mc == pytest.approx(mc_hint, rel=0.25)     # the reference notes' numbers, 200 repetitions
    assert qmc == pytest.approx(qmc_hint, rel=0.35)
    assert qmc < 0.4 * mc


def test_qmc_is_nearly_unbiased():
    errors = toy_errors("qmc", 100, 25, repetitions=200)
    se = errors.std(ddof=1) / math.sqrt(len(errors))
    # the plug-in bias is upwards and below the plain-MC bound; QMC leaves only a fraction of it
    assert -4 * se <= errors.mean() <= 0.25 * (1 / (2 * 25)) + 4 * se
    assert errors.std(ddof=1) < 0.006


def test_qmc_flow_matches_quadrature_with_many_samples(seeded):
    n_alpha, n_beta = 4096, 128
    truth, sd = quadrature_flow(*WEIGHTS)
    low, high = mc_bounds(truth, sd, n_alpha, n_beta)  # the plain-MC acceptance band
    flow = information_flow(Identity(), Logistic(WEIGHTS), 1, 1, n_alpha, n_beta, generator=seeded(), sampler="qmc")
    assert flow.shape == ()
    assert low <= flow.item() <= high
    assert flow.item() == pytest.approx(truth, abs=2e-3)  # and much closer than that band


def test_qmc_per_factor_flows_match_quadrature(seeded):
    flows = information_flow(Identity(), Logistic(WEIGHTS), 1, 1, 1000, 100, dims=[0, 1], generator=seeded(1),
                             sampler="qmc")
    assert flows.shape == (2,)
    for flow, (w_kept, w_other) in zip(flows.tolist(), [WEIGHTS, WEIGHTS[::-1]]):
        assert flow == pytest.approx(quadrature_flow(w_kept, w_other)[0], abs=3e-3)


# ----------------------------------------------------------------------------- invariants, both samplers

@pytest.mark.parametrize("sampler", SAMPLERS)
def test_flow_is_near_zero_when_classifier_ignores_alpha(seeded, sampler):
    n_beta = 50
    kwargs = dict(n_alpha=500, n_beta=n_beta, generator=seeded(), sampler=sampler)
    flow = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, **kwargs)
    assert 0 <= flow.item() <= 1 / (2 * n_beta)  # only the plug-in bias is left
    kwargs["generator"] = seeded()
    per_factor = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, dims=[0, 1], **kwargs)
    assert per_factor[0].item() <= 1 / (2 * n_beta)
    assert per_factor[1].item() > 0.1  # beta does carry information


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_flow_is_zero_for_a_constant_classifier(seeded, sampler):
    # no plug-in bias here: every p_hat(y | alpha) is the same vector, so only float32 rounding is left
    flow = information_flow(Identity(), Constant(), 1, 1, n_alpha=7, n_beta=5, generator=seeded(), sampler=sampler)
    assert abs(flow.item()) < 1e-6
    flows = information_flow(Identity(), Constant(), 1, 1, 7, 5, dims=[0, 1], generator=seeded(), sampler=sampler)
    assert flows.abs().max().item() < 1e-6


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_flow_never_exceeds_log_m(seeded, sampler):
    flow = information_flow(Identity(), ThreeBins(), 1, 1, n_alpha=3000, n_beta=4, generator=seeded(), sampler=sampler)
    assert flow.item() <= math.log(3) + 1e-6
    assert flow.item() == pytest.approx(math.log(3), abs=0.01)  # and it gets close to the bound


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("seed", range(5))
def test_flow_is_nonnegative(seeded, seed, sampler):
    torch.manual_seed(seed)
    decoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(8, 4), nn.Softmax(-1))
    with torch.no_grad():
        flow = information_flow(decoder, classifier, 1, 2, n_alpha=20, n_beta=3, generator=seeded(seed),
                                sampler=sampler)
        flows = information_flow(decoder, classifier, 1, 2, 20, 3, dims=[0, 1, 2], generator=seeded(seed),
                                 sampler=sampler)
    assert flow.item() >= -1e-6
    assert (flows >= -1e-6).all()


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dims", [[0], [2, 0], [0, 1, 2, 3]])
def test_per_factor_shape(seeded, dims, sampler):
    flows = information_flow(nn.Linear(4, 2), Logistic(WEIGHTS), 2, 2, 5, 3, dims=dims, generator=seeded(),
                             sampler=sampler)
    assert flows.shape == (len(dims),)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_flow_is_differentiable_wrt_decoder(seeded, sampler):
    torch.manual_seed(0)
    decoder = nn.Linear(2, 2)
    loss = -information_flow(decoder, Logistic(WEIGHTS), 1, 1, 50, 10, generator=seeded(), sampler=sampler)
    loss.backward()
    grad = decoder.weight.grad
    assert grad is not None
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("start_in_training_mode", [True, False])
def test_classifier_runs_in_eval_mode_and_keeps_its_mode(seeded, start_in_training_mode, sampler):
    torch.manual_seed(0)
    linear = nn.Linear(2, 3)
    with_dropout = nn.Sequential(linear, nn.Dropout(p=0.99), nn.Softmax(-1))
    without_dropout = nn.Sequential(copy.deepcopy(linear), nn.Softmax(-1))
    with_dropout.train(start_in_training_mode)
    flow = information_flow(Identity(), with_dropout, 1, 1, 40, 8, generator=seeded(3), sampler=sampler)
    assert with_dropout.training is start_in_training_mode
    assert all(m.training is start_in_training_mode for m in with_dropout.modules())
    reference = information_flow(Identity(), without_dropout, 1, 1, 40, 8, generator=seeded(3), sampler=sampler)
    torch.testing.assert_close(flow, reference, rtol=0, atol=1e-7)  # dropout was off inside the estimate


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dims", [None, [0, 2]])
def test_chunking_gives_the_same_value(seeded, dims, sampler):
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(3, 6), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(6, 3), nn.Softmax(-1))
    run = lambda chunk: information_flow(decoder, classifier, 1, 2, 30, 7, dims=dims, generator=seeded(5),  # noqa: E731
                                         chunk=chunk, sampler=sampler)
    torch.testing.assert_close(run(11), run(None), rtol=1e-5, atol=1e-6)


def test_qmc_is_seeded(seeded):
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(3, 6), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(6, 3), nn.Softmax(-1))
    run = lambda seed: information_flow(decoder, classifier, 1, 2, 30, 7, generator=seeded(seed),  # noqa: E731
                                        sampler="qmc")
    torch.testing.assert_close(run(5), run(5), rtol=0, atol=0)
    assert not torch.equal(run(5), run(6))


@pytest.mark.parametrize("kwargs", [
    dict(k=0, l=0, n_alpha=5, n_beta=5),                 # no latents at all
    dict(k=1, l=1, n_alpha=0, n_beta=5),
    dict(k=1, l=1, n_alpha=5, n_beta=0),
    dict(k=-1, l=2, n_alpha=5, n_beta=5),
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[2]),       # index past the last latent
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[-1]),
    dict(k=1, l=1, n_alpha=5, n_beta=5, dims=[]),
    dict(k=0, l=2, n_alpha=5, n_beta=5),                 # no alpha and no dims
    *(dict(k=1, l=1, n_alpha=5, n_beta=5, sampler=sampler) for sampler in ["", "MC", "sobol", None]),
])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        information_flow(Identity(), Logistic(WEIGHTS), **kwargs)


def test_k_zero_is_fine_with_dims(seeded):
    flows = information_flow(Identity(), Logistic(WEIGHTS), 0, 2, 5, 5, dims=[0, 1], generator=seeded())
    assert flows.shape == (2,)


def test_plain_mc_draws_are_unchanged(seeded):
    """The default sampler draws exactly as before the QMC option existed (cached models and baselines rely on it)."""
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(5, 7), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(7, 3), nn.Softmax(-1))
    gen = seeded(4)
    alpha = torch.randn(13, 1, 2, generator=gen).expand(13, 6, 2)
    z = torch.cat([alpha, torch.randn(13, 6, 3, generator=gen)], dim=-1)
    expected = flow_from_probs(classifier(decoder(z.reshape(-1, 5))).reshape(13, 6, 3))
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, generator=seeded(4)), expected)
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, generator=seeded(4), sampler="mc"),
                               expected)
    gen = seeded(4)
    dims = torch.tensor([0, 3])
    fixed = torch.randn(2, 13, 1, 1, generator=gen)
    z = torch.where(torch.nn.functional.one_hot(dims, 5).bool()[:, None, None, :], fixed,
                    torch.randn(2, 13, 6, 5, generator=gen))
    expected = flow_from_probs(classifier(decoder(z.reshape(-1, 5))).reshape(2, 13, 6, 3))
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, dims=[0, 3], generator=seeded(4)),
                               expected)


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


# ----------------------------------------------------------------------------- latent_samples

def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(z.double() / math.sqrt(2)))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_latent_samples_hold_the_fixed_latents(seeded, sampler):
    mask = torch.tensor([[True, False, False, True], [False, True, True, False]])
    z = latent_samples(mask, 6, 5, sampler, seeded())
    assert z.shape == (2, 6, 5, 4)
    for g in range(2):
        held = z[g][..., mask[g]]
        assert torch.equal(held, held[:, :1].expand_as(held))       # constant along the free axis
        free = z[g][..., ~mask[g]]
        assert (free.std(dim=1) > 0).all()                           # the others vary
        assert len(torch.unique(held[:, 0, 0])) == 6                 # distinct fixed values


@pytest.mark.parametrize("sampler, tol", [("mc", 4.0), ("qmc", 0.5)])
def test_latent_samples_are_standard_normal(seeded, sampler, tol):
    """Means and standard deviations within tol plain-MC standard errors of 0 and 1 (QMC: far closer)."""
    z = latent_samples(torch.tensor([[True, False, False]]), 512, 64, sampler, seeded())[0]
    for values in (z[:, 0, 0], z[..., 1:].reshape(-1)):       # the 512 fixed values, the 65,536 free ones
        se = 1 / math.sqrt(len(values))
        assert abs(values.mean().item()) < tol * se
        assert abs(values.std().item() - 1) < tol * se


def test_qmc_fixed_values_are_stratified(seeded):
    """The first 2^m points of a scrambled Sobol sequence put one point in each interval [i/2^m, (i+1)/2^m)."""
    mask = torch.tensor([[True, False], [False, True]])
    z = latent_samples(mask, 64, 3, "qmc", seeded(2))
    for g in range(2):
        u = normal_cdf(z[g, :, 0, g])
        assert torch.equal(torch.sort((u * 64).floor().long()).values, torch.arange(64))


def test_qmc_free_values_are_one_set_rotated_per_fixed_value(seeded):
    mask = torch.tensor([[True, False, False]])
    u = normal_cdf(latent_samples(mask, 10, 8, "qmc", seeded(3))[0][..., 1:])      # (10, 8, 2)
    shift = (u - u[:1]) % 1.0                                   # each row minus the first row, modulo 1
    gap = (shift - shift[:, :1]).abs()
    assert torch.minimum(gap, 1 - gap).max() < 1e-6             # the same shift (on the circle) for a whole row
    assert len(torch.unique((shift[:, 0, 0] * 1e6).round())) == 10  # and a different shift per row


def test_latent_samples_reject_unequal_groups():
    with pytest.raises(ValueError):
        latent_samples(torch.tensor([[True, True, False], [True, False, False]]), 3, 3, "qmc")


# ----------------------------------------------------------------------------- group_flow

def joint_flow_of_everything() -> float:
    """I(z; Y) = H(Y) - E H(p(y | z)) for the toy case, by two-dimensional quadrature."""
    x, w = hermegauss(80)
    w = w / w.sum()
    p = expit(WEIGHTS[0] * x[:, None] + WEIGHTS[1] * x[None, :])
    h = lambda q: entr(q) + entr(1 - q)  # noqa: E731
    weights = w[:, None] * w[None, :]
    return float(h((weights * p).sum()) - (weights * h(p)).sum())


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_group_flow_matches_quadrature(seeded, sampler):
    kwargs = dict(n_fixed=4000, n_free=200, sampler=sampler)
    beta = group_flow(Identity(), Logistic(WEIGHTS), 2, [1], generator=seeded(7), **kwargs)
    alpha = group_flow(Identity(), Logistic(WEIGHTS), 2, [0], generator=seeded(7), **kwargs)
    tol = 0.004 if sampler == "qmc" else 0.012
    assert beta.shape == ()
    assert beta.item() == pytest.approx(quadrature_flow(*WEIGHTS[::-1])[0], abs=tol)   # 0.0526
    assert alpha.item() == pytest.approx(quadrature_flow(*WEIGHTS)[0], abs=tol)        # 0.2590
    everything = group_flow(Identity(), Logistic(WEIGHTS), 2, [0, 1], 4000, 1, generator=seeded(7), sampler=sampler)
    assert everything.item() == pytest.approx(joint_flow_of_everything(), abs=tol)


def test_group_flow_of_beta_bounds_every_beta_factor(seeded):
    """With independent latents I(beta; Y) >= I(beta_j; Y) (chain rule); checked on a random network."""
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(6, 3), nn.Softmax(-1))
    with torch.no_grad():
        classifier[0].weight.mul_(4)  # a sharper classifier: flows of 0.03 to 0.15 nats
        joint = group_flow(decoder, classifier, 4, [1, 2, 3], 400, 50, generator=seeded(), sampler="qmc")
        single = information_flow(decoder, classifier, 1, 3, 400, 50, dims=[1, 2, 3], generator=seeded(),
                                  sampler="qmc")
    assert single.min().item() > 0.02
    assert joint.item() >= single.max().item() + 0.05  # here the betas add up


def test_group_flow_gradient_has_the_right_sign(seeded):
    """x0 = alpha + b * beta with p(y=1|x) = sigmoid(3 x0): I(beta; Y) grows with |b|."""
    decoder = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        decoder.weight.copy_(torch.tensor([[1.0, 0.5]]))
    flow = group_flow(decoder, Logistic((3.0,)), 2, [1], 200, 50, generator=seeded(), sampler="qmc")
    flow.backward()
    assert flow.item() > 0.01
    assert decoder.weight.grad[0, 1] > 0


@pytest.mark.parametrize("fixed", [[], [2], [-1]])
def test_group_flow_rejects_bad_indices(fixed):
    with pytest.raises(ValueError):
        group_flow(Identity(), Logistic(WEIGHTS), 2, fixed, 5, 5)


# ----------------------------------------------------------------------------- training

def test_train_gce_returns_finite_curves_and_is_reproducible(tiny, run_gce):
    twin = copy.deepcopy(tiny.model)
    out = run_gce(tiny.model, tiny.classifier, tiny.x)
    assert set(out) == {"causal", "sse", "kl", "seconds", "steps"}
    for name in ("causal", "sse", "kl"):
        assert len(out[name]) == 3
        assert all(math.isfinite(v) for v in out[name])
    assert all(v >= -1e-6 for v in out["causal"])  # an information flow
    assert all(v > 0 for v in out["sse"])
    assert out["seconds"] > 0 and out["steps"] == 3
    assert any(not torch.equal(a, b) for a, b in zip(twin.parameters(), tiny.model.parameters()))
    assert all(p.grad is None for p in tiny.classifier.parameters())  # the classifier is frozen

    again = run_gce(twin, tiny.classifier, tiny.x)  # same seeds, same start: same curves
    assert again["causal"] == pytest.approx(out["causal"], abs=1e-5)
    assert again["sse"] == pytest.approx(out["sse"], rel=1e-5)


def test_the_faster_layout_trains_on_the_same_losses(tiny, run_gce):
    """Channels-last networks (the library's layout) and contiguous copies give the same loss values on the same
    draws: the first step's exactly up to rounding, the next ones within rounding carried by three updates."""
    flat = [copy.deepcopy(m).to(memory_format=torch.contiguous_format) for m in (tiny.model, tiny.classifier)]
    assert not flat[0].decoder.net[3].weight.is_contiguous(memory_format=torch.channels_last)
    fast, slow = run_gce(tiny.model, tiny.classifier, tiny.x), run_gce(*flat, tiny.x)
    for name in ("causal", "sse", "kl"):
        assert fast[name][0] == pytest.approx(slow[name][0], rel=1e-5, abs=1e-6)
        assert fast[name] == pytest.approx(slow[name], rel=1e-4, abs=1e-5)


def test_non_causal_training_has_a_zero_causal_curve(tiny, run_gce):
    out = run_gce(tiny.model, tiny.classifier, tiny.x, causal=False)
    assert out["causal"] == [0.0, 0.0, 0.0]
    assert all(math.isfinite(v) and v > 0 for v in out["sse"])


@pytest.mark.parametrize("kwargs", [dict(steps=0), dict(steps=-1), dict(beta_penalty=-0.1),
                                    dict(beta_penalty=1.0, causal=False), dict(sampler="quasi")])
def test_train_gce_rejects_bad_options(tiny, run_gce, kwargs):
    with pytest.raises(ValueError):
        run_gce(tiny.model, tiny.classifier, tiny.x, **kwargs)


def test_penalty_needs_a_beta(run_gce):
    with pytest.raises(ValueError):
        run_gce(VAE(2, 0), CNNClassifier(2), torch.rand(8, 1, 28, 28), beta_penalty=1.0)


def test_zero_penalty_is_the_plain_objective(tiny, run_gce):
    twin = copy.deepcopy(tiny.model)
    plain = run_gce(tiny.model, tiny.classifier, tiny.x)
    zero = run_gce(twin, tiny.classifier, tiny.x, beta_penalty=0.0, sampler="mc")
    assert set(zero) == {"causal", "sse", "kl", "seconds", "steps"}
    for name in ("causal", "sse", "kl"):
        assert zero[name] == plain[name]


def test_penalty_records_its_curve_and_keeps_the_random_stream(tiny, run_gce):
    twin = copy.deepcopy(tiny.model)
    plain = run_gce(tiny.model, tiny.classifier, tiny.x)
    penalised = run_gce(twin, tiny.classifier, tiny.x, beta_penalty=2.0)
    assert set(penalised) == {"causal", "sse", "kl", "seconds", "steps", "beta_flow"}
    assert len(penalised["beta_flow"]) == 3
    assert all(math.isfinite(v) and v >= -1e-6 for v in penalised["beta_flow"])
    # the penalty draws from its own generator: the first step sees the same batch and alpha draws
    assert penalised["causal"][0] == pytest.approx(plain["causal"][0], abs=1e-7)
    assert penalised["sse"][0] == pytest.approx(plain["sse"][0], rel=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(tiny.model.parameters(), twin.parameters()))  # it does act


def test_qmc_training_runs_and_is_reproducible(tiny, run_gce):
    twin = copy.deepcopy(tiny.model)
    a = run_gce(tiny.model, tiny.classifier, tiny.x, sampler="qmc", beta_penalty=1.0)
    b = run_gce(twin, tiny.classifier, tiny.x, sampler="qmc", beta_penalty=1.0)
    assert a["causal"] == pytest.approx(b["causal"], abs=1e-6)
    assert all(math.isfinite(v) for v in a["causal"] + a["beta_flow"])


# ----------------------------------------------------------------------------- the cached trainers

PLAIN_SPEC_KEYS = {"k", "l", "lam", "steps", "batch_size", "lr", "n_alpha", "n_beta", "seed", "causal", "x",
                   "classifier"}


def test_fit_explainer_keys_change_only_for_new_options(isolated_cache, tiny):
    def fit(**kw):
        return fit_explainer(tiny.classifier, tiny.x, 1, 1, 0.1, 1, 4, 1e-3, 2, 2, seed=0, progress=False, **kw)

    first = fit()
    assert first.cached is False and not first.model.training and len(first.history["causal"]) == 1
    assert fit(beta_penalty=0.0, sampler="mc").cached is True       # the defaults are the plain GCE
    assert fit(beta_penalty=1).cached is False
    assert fit(beta_penalty=1.0).cached is True                      # 1 and 1.0 are the same model
    qmc = fit(sampler="qmc")
    assert qmc.cached is False and "beta_flow" not in qmc.history
    specs = [torch.load(p, weights_only=False)["spec"] for p in sorted(isolated_cache.glob("gce-*.pt"))]
    assert len(specs) == 3
    assert sorted(json.dumps(sorted(set(s) - PLAIN_SPEC_KEYS)) for s in specs) == sorted(
        [json.dumps([]), json.dumps(["beta_penalty"]), json.dumps(["sampler"])])


def test_fit_classifier_trains_the_cnn_to_separate_bright_from_dark():
    torch.manual_seed(0)

    def images(n):
        labels = torch.randint(0, 2, (n,))
        base = torch.where(labels[:, None, None, None] == 0, 0.7, 0.0)  # class 0 is bright
        return base + 0.3 * torch.rand(n, 1, 28, 28), labels

    x, y = images(256)
    x_test, y_test = images(200)
    assert accuracy(CNNClassifier(2), x_test, y_test) < 0.9  # untrained, it cannot tell them apart
    fit = fit_classifier(x, y, 2, epochs=2, seed=0, progress=False)
    assert len(fit.history["loss"]) == 2 * (256 // 64)
    assert fit.history["loss"][-1] < fit.history["loss"][0]
    assert not fit.model.training and not fit.cached
    assert accuracy(fit.model, x_test, y_test) > 0.95


@pytest.mark.slow
def test_fit_classifier_caches_each_architecture_under_its_own_key(isolated_cache):
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (512,), generator=gen)
    x = torch.rand(512, 1, 28, 28, generator=gen) * 0.5 + 0.4 * y[:, None, None, None]  # class 1 is brighter
    fit = fit_classifier(x, y, 2, epochs=20, seed=0, architecture="mean_intensity", progress=False)
    assert not fit.cached and accuracy(fit.model, x, y) == 1.0   # it learns brightness
    assert fit_classifier(x, y, 2, epochs=20, seed=0, architecture="mean_intensity", progress=False).cached
    # Another architecture on the same data and settings never reuses a stored model (one step of each).
    small = dict(epochs=1, seed=0, progress=False)
    assert not fit_classifier(x[:64], y[:64], 2, architecture="mean_intensity", **small).cached
    assert not fit_classifier(x[:64], y[:64], 2, architecture="resnet", **small).cached
    assert len(list(isolated_cache.glob("classifier-*.pt"))) == 3
