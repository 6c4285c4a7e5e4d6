"""Fixtures shared by the GCE tests: seeded generators, a tiny untrained explainer and classifier with random
images, tiny data splits, and a few steps of GCE training."""
from __future__ import annotations

from typing import NamedTuple

import pytest
import torch

from lib.core.data import Splits
from lib.gce import train_gce
from lib.gce.models import VAE, CNNClassifier


class Tiny(NamedTuple):
    model: VAE
    classifier: CNNClassifier
    x: torch.Tensor
    y: torch.Tensor


@pytest.fixture
def seeded():
    """``seeded(seed=0)``: a fresh CPU generator seeded with ``seed``."""
    return lambda seed=0: torch.Generator().manual_seed(seed)


@pytest.fixture
def tiny() -> Tiny:
    """An untrained explainer with K = 1, L = 2, an untrained 2-class CNN and 16 random images with labels."""
    torch.manual_seed(0)
    return Tiny(VAE(1, 2), CNNClassifier(2), torch.rand(16, 1, 28, 28), torch.randint(0, 2, (16,)))


@pytest.fixture
def run_gce():
    """``run_gce(model, classifier, x, steps=3, **options)``: a few steps of ``train_gce`` with tiny settings."""
    def run(model, classifier, x, steps=3, **options):
        return train_gce(model, classifier, x, lam=0.1, steps=steps, batch_size=4, lr=1e-3, n_alpha=3, n_beta=2,
                         seed=0, progress=False, **options)
    return run


@pytest.fixture
def tiny_splits() -> Splits:
    """Two classes of random images told apart by brightness (class 1 brighter): 64 to train on, 16 each to
    validate and test."""
    gen = torch.Generator().manual_seed(0)

    def split(n):
        y = torch.randint(0, 2, (n,), generator=gen)
        return torch.rand(n, 1, 28, 28, generator=gen) * 0.5 + 0.4 * y[:, None, None, None], y

    return Splits(split(64), split(16), split(16), class_names=["dark", "bright"], note="random images")
