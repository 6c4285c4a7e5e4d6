"""Fixtures shared by the Label-Free XAI tests."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn


@pytest.fixture
def float64():
    """Exact comparisons in double precision; the global default is restored afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def scramble_global_rngs():
    """``scramble(state)`` leaves Python's, NumPy's and torch's global generators in a state set by
    ``state``, as whatever ran before an attribution (training, a cache load) would."""
    def scramble(state: int) -> None:
        random.seed(state)
        np.random.seed(state)
        torch.manual_seed(state)
        np.random.uniform(size=state + 1)
        torch.rand(state + 1)

    return scramble


@pytest.fixture
def nonlinear():
    """A non-linear encoder, inputs and several baselines: GradientShap's path points (NumPy), baseline
    choice (NumPy) and noise (torch) all change its result."""
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(20, 8), nn.Tanh(), nn.Linear(8, 3))
    return encoder, torch.randn(6, 1, 4, 5), torch.randn(6, 1, 4, 5)


@pytest.fixture
def blobs():
    """120 MNIST-sized images whose brightness follows their label (0-9): a learnable task for every
    pretext; (images, labels)."""
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 10
    x = (torch.rand(120, 1, 28, 28, generator=gen) * 0.2 + (y.view(-1, 1, 1, 1) / 10.0)).clamp(0, 1)
    return x, y
