"""The invariant classifier of the CGN experiments: shapes, that it can learn, caching and evaluation."""
from __future__ import annotations

import torch

from lib.cgn.classifier import InvariantClassifier, evaluate, fit, train_invariant_classifier


def colour_coded(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy images whose class is told by the colour of a large square (linearly separable)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    palette = torch.tensor([[0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1],
                            [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    images = 0.1 * torch.rand(n, 3, 32, 32, generator=gen)
    images[:, :, 4:28, 4:28] += palette[labels][:, :, None, None]
    return images.clamp(0, 1), labels


def test_shapes():
    model = InvariantClassifier().eval()
    x = torch.rand(5, 3, 32, 32)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 64)
    assert isinstance(model.last_conv, torch.nn.Conv2d) and model.last_conv.out_channels == 64


def test_fits_a_small_separable_set_perfectly():
    x, y = colour_coded(200)
    torch.manual_seed(0)
    model = InvariantClassifier()
    meta = fit(model, x, y, epochs=8, batch_size=20, gamma=1.0, progress=False)
    assert len(meta["loss"]) == 80 and meta["loss"][-1] < meta["loss"][0]
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


def test_training_is_seeded_and_cached(isolated_cache):
    x, y = colour_coded(64)
    first, meta = train_invariant_classifier(x, y, epochs=1, seed=3, device="cpu", progress=False)
    again, meta_again = train_invariant_classifier(x, y, epochs=1, seed=3, device="cpu", progress=False)
    fresh, _ = train_invariant_classifier(x, y, epochs=1, seed=3, device="cpu", progress=False, use_cache=False)
    other, _ = train_invariant_classifier(x, y, epochs=1, seed=4, device="cpu", progress=False)
    assert not meta["cache_hit"] and meta_again["cache_hit"]
    assert len(list(isolated_cache.glob("cgn-classifier-*.pt"))) == 2
    for a, b, c, d in zip(first.state_dict().values(), again.state_dict().values(), fresh.state_dict().values(),
                          other.state_dict().values()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(first.head.weight, other.head.weight)
