"""Label-free feature importance against closed forms, and the random draws of GradientShap.

For a linear encoder f(x) = W x the explained function is g_x(x̃) = ⟨W x, W x̃⟩ with f(x) held fixed,
so its gradient in x̃ is Wᵀ W x everywhere. Hence, exactly: Saliency = |Wᵀ W x|; Integrated Gradients
and GradientShap (no noise, one baseline b; the function is linear, so the random path points do not
matter) = (x − b) ⊙ Wᵀ W x. Each row must use its own f(x): the inputs below are distinct, so pairing a
row with another row's representation changes the answer.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from lib.labelfree.features import (abs_gradient_shap, feature_importance, gradient_shap, integrated_gradients,
                                    label_free_gradient_shap, unit_saliency)


def linear_encoder(in_shape=(1, 4, 5), latent=3, seed=0):
    torch.manual_seed(seed)
    flat = int(torch.tensor(in_shape).prod())
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(flat, latent, bias=False))
    return encoder, encoder[1].weight.detach()


def closed_form_gradient(weight, x):
    flat = x.flatten(1)
    return (flat @ weight.T @ weight).reshape(x.shape)  # rows: Wᵀ W x


@pytest.fixture
def setup(float64):
    """A linear encoder, inputs and the closed-form gradient, in double precision for exact comparisons."""
    encoder, weight = linear_encoder()
    x = torch.randn(6, 1, 4, 5)
    return encoder, weight, x, closed_form_gradient(weight, x)


def test_saliency_is_abs_gradient(setup):
    encoder, _, x, gradient = setup
    torch.testing.assert_close(feature_importance(encoder, x, "saliency"), gradient.abs())


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_shap"])
def test_path_methods_on_linear_encoder(setup, method):
    encoder, _, x, gradient = setup
    baseline = torch.full((1, 1, 4, 5), 0.3)
    expected = (x - baseline) * gradient
    kwargs = {"n_samples": 7} if method == "gradient_shap" else {"n_steps": 5}
    torch.testing.assert_close(feature_importance(encoder, x, method, baseline, **kwargs), expected)
    per_example = torch.cat([feature_importance(encoder, x[i:i + 1], method, baseline, **kwargs)
                             for i in range(len(x))])
    torch.testing.assert_close(per_example, expected)


def test_original_pairing_defect_changes_gradient_shap_only(setup):
    encoder, _, x, gradient = setup
    expected = x * gradient  # zero baseline
    wrong = feature_importance(encoder, x, "gradient_shap", n_samples=5, pairing="original")
    assert not torch.allclose(wrong, expected, atol=1e-3)
    # Integrated Gradients tiles its inputs with repeat, as the original tiles f(x): unaffected.
    torch.testing.assert_close(feature_importance(encoder, x, "integrated_gradients", pairing="original"), expected)


def test_errors(setup):
    encoder, _, x, _ = setup
    with pytest.raises(ValueError, match="unknown method"):
        feature_importance(encoder, x, "deeplift")
    with pytest.raises(ValueError, match="do not match"):
        feature_importance(encoder, x, "integrated_gradients", torch.zeros(2, 1, 4, 5))
    with pytest.raises(ValueError, match="non-empty batch"):
        feature_importance(encoder, x[0, 0, 0], "saliency")
    with pytest.raises(ValueError, match="no baselines"):
        feature_importance(encoder, x, "saliency", torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match="representations"):
        feature_importance(lambda t: t.sum(), x, "saliency")


# ----------------------------------------------------------------------------- random draws follow the seed

def global_rng_states():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()


def assert_same_states(a, b):
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and torch.equal(a[2], b[2])


@pytest.mark.usefixtures("float64")
def test_gradient_shap_follows_its_seed_whatever_ran_before(nonlinear, scramble_global_rngs):
    encoder, x, baselines = nonlinear
    kwargs = {"n_samples": 4, "stdevs": 0.1}
    scramble_global_rngs(1)
    first = feature_importance(encoder, x, "gradient_shap", baselines, seed=3, **kwargs)
    scramble_global_rngs(2)
    before = global_rng_states()
    second = feature_importance(encoder, x, "gradient_shap", baselines, seed=3, **kwargs)
    assert torch.equal(first, second)
    assert_same_states(global_rng_states(), before)  # the caller's streams are left as they were
    other = feature_importance(encoder, x, "gradient_shap", baselines, seed=4, **kwargs)
    assert not torch.allclose(first, other)


@pytest.mark.usefixtures("float64")
def test_abs_gradient_shap_is_the_absolute_label_free_gradient_shap(nonlinear):
    encoder, x, _ = nonlinear
    expected = feature_importance(encoder, x, "gradient_shap", n_samples=3, seed=2).abs()
    assert torch.equal(abs_gradient_shap(encoder, x, gs_samples=3, seed=2), expected)


# ----------------------------------------------------------------------------- claim 3's differentiable GradientShap

def test_gradient_shap_of_a_linear_function_is_weight_times_input():
    w = torch.randn(1, 1, 5, 5)
    x = torch.rand(3, 1, 5, 5)
    attr = gradient_shap(lambda t: (t * w).flatten(1).sum(1), x, n_samples=4)
    assert torch.allclose(attr, w * x, atol=1e-6)


def test_gradient_shap_completeness_for_a_quadratic():
    # f(t) = sum t^2 is exact under IG: the expectation over alpha of 2 alpha x * x sums to f(x) - f(0)
    x = torch.rand(2, 1, 4, 4)
    attr = gradient_shap(lambda t: t.pow(2).flatten(1).sum(1), x, n_samples=20_000,
                             generator=torch.Generator().manual_seed(0))
    assert torch.allclose(attr.flatten(1).sum(1), x.pow(2).flatten(1).sum(1), rtol=0.02)


def test_label_free_attribution_pairs_each_input_with_its_own_representation():
    # a linear encoder f(x) = W x: g_x(x~) = <W x, W x~> is linear in x~, so GradientShap = (W^T W x) * x
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 2, bias=False))
    x = torch.rand(4, 1, 3, 3)
    attr = label_free_gradient_shap(enc, x, n_samples=3)
    w = enc[1].weight
    expected = ((x.flatten(1) @ w.T) @ w).view_as(x) * x
    assert torch.allclose(attr, expected, atol=1e-6)


def test_unit_saliency_of_a_linear_encoder():
    # mu_j(x) = <w_j, x>: GradientShap_j = w_j * x exactly, so saliency = |mu_j(x) w_j * x|
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 2, bias=False)
    enc = lambda t: lin(t.flatten(1))  # noqa: E731
    x = torch.rand(3, 1, 4, 4)
    sal = unit_saliency(enc, x, batch_size=2)
    w = lin.weight.view(1, 2, 4, 4)
    assert torch.allclose(sal, (enc(x)[:, :, None, None] * w * x).abs().detach(), atol=1e-6)


def test_integrated_gradients_is_exact_for_linear_and_quadratic_functions():
    w, x = torch.randn(1, 1, 5, 5), torch.rand(3, 1, 5, 5)
    torch.testing.assert_close(integrated_gradients(lambda t: (t * w).flatten(1).sum(1), x, n_steps=3), w * x)
    # f(t) = sum t^2: the midpoint rule integrates 2 alpha x * x exactly, so IG = x^2 (completeness)
    torch.testing.assert_close(integrated_gradients(lambda t: t.pow(2).flatten(1).sum(1), x, n_steps=2), x.pow(2))


def test_unit_saliency_with_integrated_gradients_of_a_linear_encoder():
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 2, bias=False)
    enc = lambda t: lin(t.flatten(1))  # noqa: E731
    x = torch.rand(3, 1, 4, 4)
    sal = unit_saliency(enc, x, n_samples=2, method="integrated_gradients")
    w = lin.weight.view(1, 2, 4, 4)
    assert torch.allclose(sal, (enc(x)[:, :, None, None] * w * x).abs().detach(), atol=1e-6)
    with pytest.raises(ValueError, match="unknown method"):
        unit_saliency(enc, x, method="saliency")
