"""Extensions beyond the GCE paper: the randomised-QMC information-flow sampler and the beta-flow penalty.

Known answers come from the toy case of test_information_flow.py: the decoder is the identity on
z = (alpha, beta) ~ N(0, I_2) and p(y=1 | x) = sigmoid(3 x0 + 1.5 x1), so I(alpha; Y) = 0.2590 nats and
I(beta; Y) = 0.0526 nats (Gauss-Hermite quadrature). The reference notes measured RMSEs over 200
repetitions of 0.022 (100 x 25) and 0.046 (25 x 10) for plain Monte Carlo, 0.003 and 0.015 for QMC.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import entr, expit
from test_information_flow import WEIGHTS, Constant, Identity, Logistic, ThreeBins, mc_bounds, quadrature_flow
from torch import nn

from lib import gce
from lib.gce import (SAMPLERS, explainer_report, fit_explainer, group_flow, information_flow, latent_samples,
                     train_gce)
from lib.gce.models import VAE, CNNClassifier


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def toy_errors(sampler: str, n_alpha: int, n_beta: int, repetitions: int = 200) -> np.ndarray:
    truth, _ = quadrature_flow(*WEIGHTS)
    with torch.no_grad():
        estimates = [information_flow(Identity(), Logistic(WEIGHTS), 1, 1, n_alpha, n_beta, generator=seeded(r),
                                      sampler=sampler).item() for r in range(repetitions)]
    return np.array(estimates) - truth


def rmse(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(errors ** 2)))


# ----------------------------------------------------------------------------- QMC: known answers

@pytest.mark.parametrize("n_alpha, n_beta, mc_hint, qmc_hint", [(100, 25, 0.022, 0.003), (25, 10, 0.046, 0.015)])
def test_qmc_rmse_is_far_below_mc_on_the_toy_case(n_alpha, n_beta, mc_hint, qmc_hint):
    mc, qmc = rmse(toy_errors("mc", n_alpha, n_beta)), rmse(toy_errors("qmc", n_alpha, n_beta))
    assert mc == pytest.approx(mc_hint, rel=0.25)     # the reference notes' numbers, 200 repetitions
    assert qmc == pytest.approx(qmc_hint, rel=0.35)
    assert qmc < 0.4 * mc


def test_qmc_is_nearly_unbiased():
    truth, _ = quadrature_flow(*WEIGHTS)
    errors = toy_errors("qmc", 100, 25, repetitions=200)
    se = errors.std(ddof=1) / math.sqrt(len(errors))
    # the plug-in bias is upwards and below the plain-MC bound; QMC leaves only a fraction of it
    assert -4 * se <= errors.mean() <= 0.25 * (1 / (2 * 25)) + 4 * se
    assert errors.std(ddof=1) < 0.006


def test_qmc_flow_matches_quadrature_with_many_samples():
    n_alpha, n_beta = 4096, 128
    truth, sd = quadrature_flow(*WEIGHTS)
    low, high = mc_bounds(truth, sd, n_alpha, n_beta)  # the plain-MC acceptance band
    flow = information_flow(Identity(), Logistic(WEIGHTS), 1, 1, n_alpha, n_beta, generator=seeded(), sampler="qmc")
    assert flow.shape == ()
    assert low <= flow.item() <= high
    assert flow.item() == pytest.approx(truth, abs=2e-3)  # and much closer than that band


def test_qmc_per_factor_flows_match_quadrature():
    flows = information_flow(Identity(), Logistic(WEIGHTS), 1, 1, 1000, 100, dims=[0, 1], generator=seeded(1),
                             sampler="qmc")
    assert flows.shape == (2,)
    for flow, (w_kept, w_other) in zip(flows.tolist(), [WEIGHTS, WEIGHTS[::-1]]):
        assert flow == pytest.approx(quadrature_flow(w_kept, w_other)[0], abs=3e-3)


# ----------------------------------------------------------------------------- QMC: invariants

def test_qmc_flow_is_near_zero_when_classifier_ignores_alpha():
    n_beta = 50
    kwargs = dict(n_alpha=500, n_beta=n_beta, generator=seeded(), sampler="qmc")
    flow = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, **kwargs)
    assert 0 <= flow.item() <= 1 / (2 * n_beta)
    per_factor = information_flow(Identity(), Logistic((0.0, 1.5)), 1, 1, dims=[0, 1], **kwargs)
    assert per_factor[0].item() <= 1 / (2 * n_beta)
    assert per_factor[1].item() > 0.1


def test_qmc_flow_is_zero_for_a_constant_classifier():
    assert abs(information_flow(Identity(), Constant(), 1, 1, 7, 5, generator=seeded(), sampler="qmc").item()) < 1e-6
    flows = information_flow(Identity(), Constant(), 1, 1, 7, 5, dims=[0, 1], generator=seeded(), sampler="qmc")
    assert flows.abs().max().item() < 1e-6


def test_qmc_flow_never_exceeds_log_m():
    flow = information_flow(Identity(), ThreeBins(), 1, 1, n_alpha=3000, n_beta=4, generator=seeded(), sampler="qmc")
    assert flow.item() <= math.log(3) + 1e-6
    assert flow.item() == pytest.approx(math.log(3), abs=0.01)


@pytest.mark.parametrize("seed", range(3))
def test_qmc_flow_is_nonnegative(seed):
    torch.manual_seed(seed)
    decoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(8, 4), nn.Softmax(-1))
    with torch.no_grad():
        flow = information_flow(decoder, classifier, 1, 2, 20, 3, generator=seeded(seed), sampler="qmc")
        flows = information_flow(decoder, classifier, 1, 2, 20, 3, dims=[0, 1, 2], generator=seeded(seed),
                                 sampler="qmc")
    assert flow.item() >= -1e-6
    assert (flows >= -1e-6).all()


@pytest.mark.parametrize("dims", [[0], [2, 0], [0, 1, 2, 3]])
def test_qmc_per_factor_shape(dims):
    flows = information_flow(nn.Linear(4, 2), Logistic(WEIGHTS), 2, 2, 5, 3, dims=dims, generator=seeded(),
                             sampler="qmc")
    assert flows.shape == (len(dims),)


def test_qmc_flow_is_differentiable_wrt_decoder():
    torch.manual_seed(0)
    decoder = nn.Linear(2, 2)
    (-information_flow(decoder, Logistic(WEIGHTS), 1, 1, 50, 10, generator=seeded(), sampler="qmc")).backward()
    grad = decoder.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_qmc_is_seeded_and_chunking_changes_nothing():
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(3, 6), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(6, 3), nn.Softmax(-1))
    run = lambda seed, chunk=None, dims=None: information_flow(  # noqa: E731
        decoder, classifier, 1, 2, 30, 7, dims=dims, generator=seeded(seed), chunk=chunk, sampler="qmc")
    torch.testing.assert_close(run(5), run(5), rtol=0, atol=0)
    assert not torch.equal(run(5), run(6))
    torch.testing.assert_close(run(5, chunk=11), run(5), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(run(5, chunk=11, dims=[0, 2]), run(5, dims=[0, 2]), rtol=1e-5, atol=1e-6)


def test_qmc_keeps_the_classifier_mode():
    classifier = nn.Sequential(nn.Linear(2, 3), nn.Dropout(p=0.99), nn.Softmax(-1)).train()
    a = information_flow(Identity(), classifier, 1, 1, 40, 8, generator=seeded(3), sampler="qmc")
    b = information_flow(Identity(), classifier, 1, 1, 40, 8, generator=seeded(3), sampler="qmc")
    assert classifier.training
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # dropout was off inside the estimate


@pytest.mark.parametrize("sampler", ["", "MC", "sobol", None])
def test_unknown_sampler_raises(sampler):
    with pytest.raises(ValueError):
        information_flow(Identity(), Logistic(WEIGHTS), 1, 1, 5, 5, sampler=sampler)


def test_plain_mc_draws_are_unchanged():
    """The default sampler draws exactly as before the QMC option existed (cached models and baselines rely on it)."""
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(5, 7), nn.Tanh())
    classifier = nn.Sequential(nn.Linear(7, 3), nn.Softmax(-1))
    gen = seeded(4)
    alpha = torch.randn(13, 1, 2, generator=gen).expand(13, 6, 2)
    z = torch.cat([alpha, torch.randn(13, 6, 3, generator=gen)], dim=-1)
    expected = gce.flow_from_probs(classifier(decoder(z.reshape(-1, 5))).reshape(13, 6, 3))
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, generator=seeded(4)), expected)
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, generator=seeded(4), sampler="mc"),
                               expected)
    gen = seeded(4)
    dims = torch.tensor([0, 3])
    fixed = torch.randn(2, 13, 1, 1, generator=gen)
    z = torch.where(torch.nn.functional.one_hot(dims, 5).bool()[:, None, None, :], fixed,
                    torch.randn(2, 13, 6, 5, generator=gen))
    expected = gce.flow_from_probs(classifier(decoder(z.reshape(-1, 5))).reshape(2, 13, 6, 3))
    torch.testing.assert_close(information_flow(decoder, classifier, 2, 3, 13, 6, dims=[0, 3], generator=seeded(4)),
                               expected)


# ----------------------------------------------------------------------------- latent_samples

def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + torch.erf(z.double() / math.sqrt(2)))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_latent_samples_hold_the_fixed_latents(sampler):
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
def test_latent_samples_are_standard_normal(sampler, tol):
    """Means and standard deviations within tol plain-MC standard errors of 0 and 1 (QMC: far closer)."""
    z = latent_samples(torch.tensor([[True, False, False]]), 512, 64, sampler, seeded())[0]
    for values in (z[:, 0, 0], z[..., 1:].reshape(-1)):       # the 512 fixed values, the 65,536 free ones
        se = 1 / math.sqrt(len(values))
        assert abs(values.mean().item()) < tol * se
        assert abs(values.std().item() - 1) < tol * se


def test_qmc_fixed_values_are_stratified():
    """The first 2^m points of a scrambled Sobol sequence put one point in each interval [i/2^m, (i+1)/2^m)."""
    mask = torch.tensor([[True, False], [False, True]])
    z = latent_samples(mask, 64, 3, "qmc", seeded(2))
    for g in range(2):
        u = normal_cdf(z[g, :, 0, g])
        assert torch.equal(torch.sort((u * 64).floor().long()).values, torch.arange(64))


def test_qmc_free_values_are_one_set_rotated_per_fixed_value():
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
def test_group_flow_matches_quadrature(sampler):
    kwargs = dict(n_fixed=4000, n_free=200, generator=seeded(7), sampler=sampler)
    beta = group_flow(Identity(), Logistic(WEIGHTS), 2, [1], **kwargs)
    alpha = group_flow(Identity(), Logistic(WEIGHTS), 2, [0], **kwargs)
    tol = 0.004 if sampler == "qmc" else 0.012
    assert beta.shape == ()
    assert beta.item() == pytest.approx(quadrature_flow(*WEIGHTS[::-1])[0], abs=tol)   # 0.0526
    assert alpha.item() == pytest.approx(quadrature_flow(*WEIGHTS)[0], abs=tol)        # 0.2590
    everything = group_flow(Identity(), Logistic(WEIGHTS), 2, [0, 1], 4000, 1, generator=seeded(7), sampler=sampler)
    assert everything.item() == pytest.approx(joint_flow_of_everything(), abs=tol)


def test_group_flow_of_beta_bounds_every_beta_factor():
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


def test_group_flow_gradient_has_the_right_sign():
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


# ----------------------------------------------------------------------------- training with the penalty

@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return VAE(1, 2), CNNClassifier(2), torch.rand(16, 1, 28, 28), torch.randint(0, 2, (16,))


def run_gce(model, classifier, x, steps=3, **kwargs):
    torch.manual_seed(1)
    return train_gce(model, classifier, x, lam=0.1, steps=steps, batch_size=4, lr=1e-3, n_alpha=3, n_beta=2,
                     seed=0, progress=False, **kwargs)


def twin_of(model: VAE) -> VAE:
    twin = VAE(model.k, model.l)
    twin.load_state_dict(model.state_dict())
    return twin


def test_zero_penalty_is_the_plain_objective(tiny):
    model, classifier, x, _ = tiny
    twin = twin_of(model)
    plain = run_gce(model, classifier, x)
    zero = run_gce(twin, classifier, x, beta_penalty=0.0, sampler="mc")
    assert set(zero) == {"causal", "sse", "kl", "seconds"}
    for name in ("causal", "sse", "kl"):
        assert zero[name] == plain[name]


def test_penalty_records_its_curve_and_keeps_the_random_stream(tiny):
    model, classifier, x, _ = tiny
    twin = twin_of(model)
    plain = run_gce(model, classifier, x)
    penalised = run_gce(twin, classifier, x, beta_penalty=2.0)
    assert set(penalised) == {"causal", "sse", "kl", "seconds", "beta_flow"}
    assert len(penalised["beta_flow"]) == 3
    assert all(math.isfinite(v) and v >= -1e-6 for v in penalised["beta_flow"])
    # the penalty draws from its own generator: the first step sees the same batch and alpha draws
    assert penalised["causal"][0] == pytest.approx(plain["causal"][0], abs=1e-7)
    assert penalised["sse"][0] == pytest.approx(plain["sse"][0], rel=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))  # it does act


def test_qmc_training_runs_and_is_reproducible(tiny):
    model, classifier, x, _ = tiny
    twin = twin_of(model)
    a = run_gce(model, classifier, x, sampler="qmc", beta_penalty=1.0)
    b = run_gce(twin, classifier, x, sampler="qmc", beta_penalty=1.0)
    assert a["causal"] == pytest.approx(b["causal"], abs=1e-6)
    assert all(math.isfinite(v) for v in a["causal"] + a["beta_flow"])


@pytest.mark.parametrize("kwargs", [dict(beta_penalty=-0.1), dict(beta_penalty=1.0, causal=False),
                                    dict(sampler="quasi")])
def test_train_gce_rejects_bad_options(tiny, kwargs):
    model, classifier, x, _ = tiny
    with pytest.raises(ValueError):
        run_gce(model, classifier, x, **kwargs)


def test_penalty_needs_a_beta():
    with pytest.raises(ValueError):
        run_gce(VAE(2, 0), CNNClassifier(2), torch.rand(8, 1, 28, 28), beta_penalty=1.0)


# ----------------------------------------------------------------------------- cache keys and the report

PLAIN_SPEC_KEYS = {"k", "l", "lam", "steps", "batch_size", "lr", "n_alpha", "n_beta", "seed", "causal", "x",
                   "classifier"}


def stored_specs(folder) -> list[dict]:
    return [torch.load(p, weights_only=False)["spec"] for p in sorted(folder.glob("gce-*.pt"))]


def test_fit_explainer_keys_change_only_for_new_options(isolated_cache, tiny):
    _, classifier, x, _ = tiny

    def fit(**kw):
        return fit_explainer(classifier, x, 1, 1, 0.1, 1, 4, 1e-3, 2, 2, seed=0, progress=False, **kw)

    assert fit()[2] is False
    assert fit(beta_penalty=0.0, sampler="mc")[2] is True          # the defaults are the plain GCE
    assert fit(beta_penalty=1)[2] is False
    assert fit(beta_penalty=1.0)[2] is True                         # 1 and 1.0 are the same model
    _, meta, hit = fit(sampler="qmc")
    assert hit is False and "beta_flow" not in meta
    specs = stored_specs(isolated_cache)
    assert len(specs) == 3
    assert sorted(json.dumps(sorted(set(s) - PLAIN_SPEC_KEYS)) for s in specs) == sorted(
        [json.dumps([]), json.dumps(["beta_penalty"]), json.dumps(["sampler"])])


def test_explainer_report(tiny):
    model, classifier, x, y = tiny
    report = explainer_report(model, classifier, x, y, 6, 4, sweep_rows=5, seed=1)
    assert set(report) == {"alpha_flow", "beta_flow", "factor_flows", "change_rate", "original", "reencoded",
                           "removed"}
    assert len(report["factor_flows"]) == len(report["change_rate"]) == len(report["removed"]) == 3
    for value in [report["alpha_flow"], report["beta_flow"], *report["factor_flows"]]:
        assert -1e-6 <= value <= math.log(2) + 1e-6
    assert all(0 <= v <= 1 for v in report["change_rate"])
    again = explainer_report(model, classifier, x, y, 6, 4, sweep_rows=5, seed=1)
    assert again == report                                          # seeded: common random numbers
