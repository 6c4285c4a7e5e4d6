"""The invariant classifier of the CGN experiments: shapes, that it can learn, caching and evaluation."""
from __future__ import annotations

import pytest
import torch

from lib.cgn.classifier import InvariantClassifier, evaluate, fit_invariant_classifier, train_invariant_classifier


def test_shapes():
    model = InvariantClassifier().eval()
    x = torch.rand(5, 3, 32, 32)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 64)
    assert isinstance(model.last_conv, torch.nn.Conv2d) and model.last_conv.out_channels == 64


@pytest.mark.slow
def test_fits_a_small_separable_set_perfectly(colour_coded):
    x, y = colour_coded(200)
    torch.manual_seed(0)
    model = InvariantClassifier()
    history = train_invariant_classifier(model, x, y, epochs=8, batch_size=20, gamma=1.0, progress=False)
    assert len(history["loss"]) == 80 and history["loss"][-1] < history["loss"][0]
    assert evaluate(model, (x, y), (x, y)) == {"train": 1.0, "test": 1.0}


def test_evaluate_counts_correct_predictions():
    class Fixed(torch.nn.Module):  # predicts class 3 for every image
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float() + self.w

    x = torch.rand(8, 3, 32, 32)
    result = evaluate(Fixed(), (x, torch.tensor([3, 3, 0, 0, 0, 0, 0, 0])), (x, torch.full((8,), 3)))
    assert result == {"train": 0.25, "test": 1.0}


def test_training_is_seeded_and_cached(colour_coded, isolated_cache):
    x, y = colour_coded(64)
    first = fit_invariant_classifier(x, y, epochs=1, seed=3, progress=False)
    again = fit_invariant_classifier(x, y, epochs=1, seed=3, progress=False)
    fresh = fit_invariant_classifier(x, y, epochs=1, seed=3, progress=False, use_cache=False)
    other = fit_invariant_classifier(x, y, epochs=1, seed=4, progress=False)
    assert not first.cached and again.cached and not fresh.cached
    assert len(list(isolated_cache.glob("cgn-classifier-*.pt"))) == 2
    for a, b, c in zip(*(fit.model.state_dict().values() for fit in (first, again, fresh))):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first.model.head.weight, other.model.head.weight)
    assert first.history["loss"] == again.history["loss"] and len(first.history["loss"]) == 1
