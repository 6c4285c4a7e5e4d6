"""Toy problems with known answers, shared by the tests, the notebooks and the benchmarks.

Information flow: the decoder is the identity (``Identity``) on z = (alpha, beta) ~ N(0, I_2) and the
classifier logistic (``Logistic``), p(y = 1 | x) = sigmoid(w . x) with ``WEIGHTS`` = (3, 1.5), so that
I(alpha; Y) reduces to one-dimensional integrals (``quadrature_flow``: 0.2590 nats, 0.0526 for beta).
``Constant`` (nothing flows) and ``ThreeBins`` (ln 3 flows) are the extremes; ``mc_bounds`` says how far a
Monte-Carlo estimate may stray from a known flow.

Algorithm 1: ``tuning_score`` scores (K, L, λ) with analytic curves, so the choice is known.
"""
from __future__ import annotations

import math

import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import entr, expit
from torch import nn

WEIGHTS = (3.0, 1.5)


class Identity(nn.Module):
    """The identity map, with one dummy parameter (information_flow reads the device from it)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return z


class Logistic(nn.Module):
    """p(y=1 | x) = sigmoid(w . x), returned as (n, 2) probabilities."""

    def __init__(self, weights):
        super().__init__()
        self.register_buffer("w", torch.tensor(weights, dtype=torch.float32))

    def forward(self, x):
        p1 = torch.sigmoid(x @ self.w)
        return torch.stack([1 - p1, p1], dim=-1)


class Constant(nn.Module):
    """The same three-class probabilities (0.25, 0.25, 0.5) for every input: no information flows."""

    def forward(self, x):
        return x.new_tensor([0.25, 0.25, 0.5]).expand(len(x), 3)


class ThreeBins(nn.Module):
    """A sharp 3-class classifier on x0: thresholds at the N(0, 1) terciles, so classes are equiprobable."""

    def forward(self, x):
        t = 0.4307
        scores = torch.stack([-x[:, 0] - t, torch.zeros_like(x[:, 0]), x[:, 0] - t], dim=-1)
        return (1000 * scores).softmax(-1)


def quadrature_flow(w_kept: float, w_resampled: float, nodes: int = 80) -> tuple[float, float]:
    """I(z_kept; Y) for p(y=1|z) = sigmoid(w_kept z_kept + w_resampled z_other), z ~ N(0, I_2).

    Returns the flow and sd over z_kept of H(p(y | z_kept)), which sets the Monte-Carlo error.
    """
    x, w = hermegauss(nodes)
    w = w / w.sum()  # weights of the standard normal
    binary_entropy = lambda p: entr(p) + entr(1 - p)  # noqa: E731
    p_given = (expit(w_kept * x[:, None] + w_resampled * x[None, :]) * w[None, :]).sum(axis=1)
    h_given = binary_entropy(p_given)
    mean_h = (w * h_given).sum()
    flow = binary_entropy((w * p_given).sum()) - mean_h
    sd = math.sqrt((w * (h_given - mean_h) ** 2).sum())
    return float(flow), sd


def mc_bounds(truth: float, sd: float, n_alpha: int, n_beta: int, n_classes: int = 2) -> tuple[float, float]:
    """The interval an ``n_alpha`` x ``n_beta`` estimate of the flow ``truth`` must fall in.

    The standard error is ``sd`` / sqrt(n_alpha) (``sd`` from ``quadrature_flow``); the plug-in entropy of
    an n_beta-sample mean adds an upward bias of at most (M - 1) / (2 n_beta). Allowed: 4 standard errors
    below the truth, the bias plus 4 standard errors above.
    """
    se = sd / math.sqrt(n_alpha)
    return truth - 4 * se, truth + (n_classes - 1) / (2 * n_beta) + 4 * se


def tuning_d_curve(total: int) -> float:
    """Step-1 D of ``tuning_score``: 40 exp(-(K+L-1)/3) + 27. Relative improvements per step: 0.169, 0.146,
    0.123, 0.100, 0.080, 0.062, 0.047 (step 7 -> 8), 0.036, 0.027 (9 -> 10), 0.019, ..."""
    return 40 * math.exp(-(total - 1) / 3) + 27


def tuning_score(c_of_k=lambda k: 0.7 * (1 - math.exp(-k))):
    """``(score, calls)``: ``score(k, l, lam) -> (C, D)`` from analytic curves, and the list of its calls.

    K = 0 is step 1 (C is nan, D = ``tuning_d_curve(L)``). Otherwise D exceeds the step-1 D at the same
    K + L by 0.2 * 0.001 / lam (20%, 6.3%, 2%, 0.6%, 0.2% on the grid 0.001 … 0.1 with factor √10), and C
    depends on K only (default 0.442, 0.605, 0.665, 0.687, ...: steps of 37%, 9.9%, 3.3%, 1.2%).
    """
    calls = []

    def score(k, l, lam):
        calls.append((k, l, lam))
        if k == 0:
            return math.nan, tuning_d_curve(l)
        return c_of_k(k), tuning_d_curve(k + l) * (1 + 0.2 * 1e-3 / lam)

    return score, calls
