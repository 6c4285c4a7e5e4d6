"""VAE losses, TC estimator, GradientShap, saliency PCC and the TV prior against known answers."""
import math

import numpy as np
import pytest
import torch

from lib.labelfree import vae


def test_kl_matches_the_closed_form_and_monte_carlo():
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[math.log(0.25), math.log(2.0)]])
    by_hand = sum(0.5 * (m ** 2 + v - 1 - math.log(v)) for m, v in [(0.5, 0.25), (-1.0, 2.0)])
    assert vae.kl_normal(mu, logvar).item() == pytest.approx(by_hand, rel=1e-6)
    gen = torch.Generator().manual_seed(0)
    z = mu + torch.randn((200_000, 2), generator=gen) * (0.5 * logvar).exp()
    zeros = torch.zeros_like(z)
    mc = (vae.log_density_gaussian(z, mu, logvar) - vae.log_density_gaussian(z, zeros, zeros)).sum(1).mean()
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
    mi, tc, dw_kl = vae.kl_decomposition(z, mu, logvar)
    r = rho / (1 + 0.3 ** 2)
    assert tc.item() == pytest.approx(-0.5 * math.log(1 - r ** 2), abs=0.06)
    # the three parts add up to log q(z|x) - log p(z)
    zeros = torch.zeros_like(z)
    total = (vae.log_density_gaussian(z, mu, logvar) - vae.log_density_gaussian(z, zeros, zeros)).sum(1).mean()
    assert (mi + tc + dw_kl).item() == pytest.approx(total.item(), abs=1e-4)


def test_tc_separates_independent_from_correlated_codes():
    tc = [vae.kl_decomposition(*_codes(rho, seed=1))[1].item() for rho in (0.0, 0.5, 0.99)]
    assert tc[0] < 0.05 < tc[1] < tc[2]


def test_gradient_shap_of_a_linear_function_is_weight_times_input():
    w = torch.randn(1, 1, 5, 5)
    x = torch.rand(3, 1, 5, 5)
    attr = vae.gradient_shap(lambda t: (t * w).flatten(1).sum(1), x, n_samples=4)
    assert torch.allclose(attr, w * x, atol=1e-6)


def test_gradient_shap_completeness_for_a_quadratic():
    # f(t) = sum t^2 is exact under IG: the expectation over alpha of 2 alpha x * x sums to f(x) - f(0)
    x = torch.rand(2, 1, 4, 4)
    attr = vae.gradient_shap(lambda t: t.pow(2).flatten(1).sum(1), x, n_samples=20_000,
                             generator=torch.Generator().manual_seed(0))
    assert torch.allclose(attr.flatten(1).sum(1), x.pow(2).flatten(1).sum(1), rtol=0.02)


def test_label_free_attribution_pairs_each_input_with_its_own_representation():
    # a linear encoder f(x) = W x: g_x(x~) = <W x, W x~> is linear in x~, so GradientShap = (W^T W x) * x
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 2, bias=False))
    x = torch.rand(4, 1, 3, 3)
    attr = vae.label_free_gradient_shap(enc, x, n_samples=3)
    w = enc[1].weight
    expected = ((x.flatten(1) @ w.T) @ w).view_as(x) * x
    assert torch.allclose(attr, expected, atol=1e-6)


def test_tv_prior_is_zero_on_constant_maps_and_known_on_a_step():
    assert vae.total_variation(torch.full((2, 3, 8, 8), 0.7)).item() == 0
    step = torch.zeros(1, 1, 4, 4)
    step[..., 2:] = 1.0  # one vertical edge of height 4: 4 horizontal differences of 1
    assert vae.total_variation(step).item() == 4


def test_tv_prior_is_differentiable_unlike_captum_attributions():
    from captum.attr import GradientShap

    torch.manual_seed(0)
    model = vae.VAE(32, 3)
    x = torch.rand(2, 1, 32, 32)
    ours = vae.total_variation(vae.label_free_gradient_shap(model.encoder.mu, x, 2, create_graph=True))
    ours.backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    reference = model.encoder.mu(x).repeat(2, 1)
    theirs = GradientShap(lambda t: (reference * model.encoder.mu(t)).sum(-1)).attribute(
        x, torch.zeros(1, 1, 32, 32), n_samples=2)
    assert not vae.total_variation(theirs).requires_grad  # a prior built on it cannot train anything


def test_offdiagonal_pcc_matches_numpy():
    rng = np.random.default_rng(0)
    maps = rng.random((7, 4, 5, 5))
    maps[:, 1] += 2 * maps[:, 0]
    corr = np.corrcoef(maps.swapaxes(0, 1).reshape(4, -1))
    assert vae.offdiagonal_pcc(maps) == pytest.approx((corr.sum() - 4) / 12, abs=1e-12)
    same = np.repeat(maps[:, :1], 3, axis=1)
    assert vae.offdiagonal_pcc(same) == pytest.approx(1.0)


def test_unit_saliency_of_a_linear_encoder():
    # mu_j(x) = <w_j, x>: GradientShap_j = w_j * x exactly, so saliency = |mu_j(x) w_j * x|
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 2, bias=False)
    enc = lambda t: lin(t.flatten(1))  # noqa: E731
    x = torch.rand(3, 1, 4, 4)
    sal = vae.unit_saliency(enc, x, batch_size=2)
    w = lin.weight.view(1, 2, 4, 4)
    assert torch.allclose(sal, (enc(x)[:, :, None, None] * w * x).abs().detach(), atol=1e-6)


@pytest.mark.parametrize("kind", vae.KINDS)
def test_training_is_seeded_cached_and_lowers_the_loss(kind, isolated_cache):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 1, 32, 32, generator=gen) < 0.2).float()
    model, hist, hit = vae.fit_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False)
    again, _, hit2 = vae.fit_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False)
    assert not hit and hit2
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert np.mean(hist["loss"][-4:]) < np.mean(hist["loss"][:4])
    fresh, _, _ = vae.fit_vae(x, kind, 5.0, 3, epochs=4, batch_size=16, seed=1, progress=False, use_cache=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))


def test_tv_prior_lowers_the_total_variation_of_attributions(isolated_cache):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(48, 1, 32, 32, generator=gen) < 0.3).float()
    tv = {}
    for weight in (0.0, 1.0):
        model, _, _ = vae.fit_vae(x, "beta", 1.0, 3, epochs=6, batch_size=16, seed=0, tv_weight=weight,
                                  progress=False)
        attr = vae.label_free_gradient_shap(model.encoder.mu, x, 4, torch.Generator().manual_seed(1))
        tv[weight] = vae.total_variation(attr).item()
    assert tv[1.0] < 0.5 * tv[0.0]
