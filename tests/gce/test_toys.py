"""The toy problems themselves: what each toy model computes, the quadrature and the Monte-Carlo bounds, and
the analytic tuning curves (the estimator is tested against them in test_method.py and test_select.py)."""
from __future__ import annotations

import math

import pytest
import torch

from lib.gce import toys


def test_identity_passes_its_input_through_and_has_a_parameter():
    z = torch.randn(5, 3)
    assert torch.equal(toys.Identity()(z), z)
    assert len(list(toys.Identity().parameters())) == 1  # information_flow reads the device from it


def test_logistic_gives_sigmoid_probabilities():
    x = torch.tensor([[0.0, 0.0], [1.0, -2.0], [2.0, 1.0]])
    probs = toys.Logistic(toys.WEIGHTS)(x)
    assert probs.shape == (3, 2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    torch.testing.assert_close(probs[:, 1], torch.sigmoid(3.0 * x[:, 0] + 1.5 * x[:, 1]))


def test_constant_ignores_its_input():
    probs = toys.Constant()(torch.randn(4, 2))
    assert torch.equal(probs, torch.tensor([[0.25, 0.25, 0.5]]).expand(4, 3))


def test_three_bins_splits_the_normal_into_equiprobable_thirds():
    x = torch.stack([torch.tensor([-1.0, -0.3, 0.3, 1.0]), torch.zeros(4)], dim=-1)
    assert toys.ThreeBins()(x).argmax(-1).tolist() == [0, 1, 1, 2]
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(toys.ThreeBins()(z).argmax(-1), minlength=3) / len(z)
    torch.testing.assert_close(shares, torch.full((3,), 1 / 3), atol=0.005, rtol=0)


@pytest.mark.parametrize("w_kept, w_resampled", [(3.0, 1.5), (1.5, 3.0), (0.5, 0.0)])
def test_quadrature_flow_is_between_zero_and_log_2(w_kept, w_resampled):
    flow, sd = toys.quadrature_flow(w_kept, w_resampled)
    assert 0 < flow < math.log(2) and sd > 0


def test_quadrature_flow_is_zero_without_weight_on_the_kept_latent():
    flow, sd = toys.quadrature_flow(0.0, 2.0)
    assert flow == pytest.approx(0.0, abs=1e-12) and sd == pytest.approx(0.0, abs=1e-12)


def test_mc_bounds_widen_with_fewer_samples_and_hold_the_plug_in_bias():
    low, high = toys.mc_bounds(0.3, 0.2, n_alpha=100, n_beta=10)
    assert (low, high) == pytest.approx((0.3 - 0.08, 0.3 + 0.05 + 0.08))
    wide = toys.mc_bounds(0.3, 0.2, n_alpha=25, n_beta=10, n_classes=3)
    assert wide[0] < low and wide[1] - 0.3 == pytest.approx(2 / 20 + 0.16)


def test_tuning_score_follows_its_curves_and_logs_its_calls():
    score, calls = toys.tuning_score(c_of_k=lambda k: 0.5 + k)
    c0, d0 = score(0, 4, 0.0)
    assert math.isnan(c0) and d0 == toys.tuning_d_curve(4) == pytest.approx(40 * math.exp(-1) + 27)
    assert score(2, 2, 0.01) == pytest.approx((2.5, toys.tuning_d_curve(4) * 1.02))
    assert calls == [(0, 4, 0.0), (2, 2, 0.01)]
