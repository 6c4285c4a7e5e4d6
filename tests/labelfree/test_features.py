"""Label-free feature importance against closed forms, and the latent-shift metric.

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

from lib.labelfree import feature_importance, latent_shift
from lib.labelfree.features import consistency_curves



@pytest.fixture(autouse=True)
def float64():
    """Exact comparisons in double precision; the global default is restored afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def linear_encoder(in_shape=(1, 4, 5), latent=3, seed=0):
    torch.manual_seed(seed)
    flat = int(torch.tensor(in_shape).prod())
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(flat, latent, bias=False))
    return encoder, encoder[1].weight.detach()


def closed_form_gradient(weight, x):
    flat = x.flatten(1)
    return (flat @ weight.T @ weight).reshape(x.shape)  # rows: Wᵀ W x


@pytest.fixture
def setup():
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


def test_latent_shift_masks_top_features_to_baseline():
    # f(x) = sum of the first two features: masking (to 0) the top-k by |score| removes known amounts.
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    encoder[1].weight.data = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])            # (N=1, 4 steps, 1 channel)
    scores = torch.tensor([[[0.0], [5.0], [1.0], [0.5]]])       # ranking: step 1, then 2, then 3
    shifts = latent_shift(encoder, x, scores, [0.25, 0.5, 1.0], torch.zeros(1, 4, 1), channel_dim=-1)
    # masking step 1 removes 2 -> shift 4; steps 1,2: still 4; all: remove 1 + 2 -> 9
    torch.testing.assert_close(shifts, torch.tensor([[4.0], [4.0], [9.0]]))
    with pytest.raises(ValueError, match="shape"):
        latent_shift(encoder, x, scores[:, :2], [0.5], torch.zeros(1, 4, 1), channel_dim=-1)


def test_ecg5000_loader(tmp_path):
    from lib.core.data import DatasetError, load_ecg5000

    folder = tmp_path / "ECG5000"
    folder.mkdir()
    rows = [[0.5] * 140 + [1], [-1.0] * 140 + [3]]
    (folder / "ECG5000_TRAIN.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))
    x, y = load_ecg5000(tmp_path)
    assert x.shape == (2, 140, 1) and x.dtype == torch.float32 and y.tolist() == [1, 3]
    assert x[1, 7, 0] == -1.0
    with pytest.raises(DatasetError, match="ECG5000_TRAIN.csv"):
        load_ecg5000(tmp_path / "missing")


# ----------------------------------------------------------------------------- random draws follow the seed

def scramble_global_rngs(state: int):
    """Leave Python's, NumPy's and torch's global generators in a state set by ``state``, as whatever ran
    before an attribution (training, a cache load) would."""
    random.seed(state)
    np.random.seed(state)
    torch.manual_seed(state)
    np.random.uniform(size=state + 1)
    torch.rand(state + 1)


def global_rng_states():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()


def assert_same_states(a, b):
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and torch.equal(a[2], b[2])


@pytest.fixture
def nonlinear():
    """A non-linear encoder, several baselines and input noise: GradientShap's path points (NumPy), baseline
    choice (NumPy) and noise (torch) all change its result."""
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(20, 8), nn.Tanh(), nn.Linear(8, 3))
    return encoder, torch.randn(6, 1, 4, 5), torch.randn(6, 1, 4, 5)


def test_gradient_shap_follows_its_seed_whatever_ran_before(nonlinear):
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


def test_consistency_curves_follow_their_seed_whatever_ran_before(nonlinear):
    encoder, x, _ = nonlinear
    baseline = torch.zeros(1, 1, 4, 5)
    curves = []
    for state in (1, 2):
        scramble_global_rngs(state)
        curves.append(consistency_curves(encoder, x, baseline, [0.25, 0.5], batch_size=3, seed=0, n_steps=4,
                                         n_samples=3))
    assert curves[0].equals(curves[1])
