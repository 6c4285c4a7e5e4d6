"""GCE training, latent sweeps, ablation and the classifier's training loop, on tiny inputs."""
from __future__ import annotations

import math

import pytest
import torch

from lib.gce import ablation_accuracy, decision_change_rate, latent_sweep, train_gce
from lib.gce.models import VAE, CNNClassifier
from lib.core.train import accuracy, train_classifier


@pytest.fixture
def tiny():
    """An untrained VAE with K=1, L=1, an untrained 2-class CNN and 16 random images with labels."""
    torch.manual_seed(0)
    x = torch.rand(16, 1, 28, 28)
    y = torch.randint(0, 2, (16,))
    return VAE(1, 1), CNNClassifier(2), x, y


def run_gce(model, classifier, x, causal=True, steps=3):
    torch.manual_seed(1)  # the VAE's reparameterisation noise comes from the global generator
    return train_gce(model, classifier, x, lam=0.1, steps=steps, batch_size=4, lr=1e-3, n_alpha=3,
                     n_beta=2, seed=0, causal=causal, progress=False)


def test_train_gce_returns_finite_curves_and_is_reproducible(tiny):
    model, classifier, x, _ = tiny
    twin = VAE(1, 1)
    twin.load_state_dict(model.state_dict())
    out = run_gce(model, classifier, x)
    assert set(out) == {"causal", "sse", "kl", "seconds"}
    for name in ("causal", "sse", "kl"):
        assert len(out[name]) == 3
        assert all(math.isfinite(v) for v in out[name])
    assert all(v >= -1e-6 for v in out["causal"])  # an information flow
    assert all(v > 0 for v in out["sse"])
    assert out["seconds"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(twin.parameters(), model.parameters()))
    assert all(p.grad is None for p in classifier.parameters())  # the classifier is frozen

    again = run_gce(twin, classifier, x)  # same seeds, same start: same curves
    assert again["causal"] == pytest.approx(out["causal"], abs=1e-5)
    assert again["sse"] == pytest.approx(out["sse"], rel=1e-5)


def test_non_causal_training_has_a_zero_causal_curve(tiny):
    model, classifier, x, _ = tiny
    out = run_gce(model, classifier, x, causal=False)
    assert out["causal"] == [0.0, 0.0, 0.0]
    assert all(math.isfinite(v) and v > 0 for v in out["sse"])


@pytest.mark.parametrize("steps", [0, -1])
def test_train_gce_rejects_no_steps(tiny, steps):
    model, classifier, x, _ = tiny
    with pytest.raises(ValueError):
        run_gce(model, classifier, x, steps=steps)


def test_latent_sweep_shapes_and_the_zero_offset(tiny):
    model, classifier, x, _ = tiny
    offsets = [-2.0, 0.0, 2.0]
    images, decisions = latent_sweep(model, classifier, x[:5], dim=1, offsets=offsets)
    assert images.shape == (5, 3, 28, 28)
    assert decisions.shape == (5, 3)
    assert decisions.min() >= 0 and decisions.max() <= 1
    with torch.no_grad():  # the decoded posterior mean, with the offset added to latent 1 only
        mu = model.encoder(x[:5])[0]
        for j, offset in enumerate(offsets):
            expected = model.decoder(mu + torch.tensor([0.0, offset]))
            torch.testing.assert_close(images[:, j], expected[:, 0])
    assert not torch.allclose(images[:, 0], images[:, 2])  # the offsets do change the images


@pytest.mark.parametrize("dim", [-1, 2])
def test_latent_sweep_rejects_bad_dim(tiny, dim):
    model, classifier, x, _ = tiny
    with pytest.raises(ValueError):
        latent_sweep(model, classifier, x[:2], dim=dim, offsets=[0.0])


def test_decision_change_rate_by_hand():
    decisions = torch.tensor([
        [0, 0, 0, 0],  # constant
        [0, 1, 0, 0],  # changes
        [1, 1, 1, 1],  # constant
        [2, 2, 2, 0],  # changes, only at the end
    ])
    assert decision_change_rate(decisions) == 0.5
    assert decision_change_rate(decisions[[0, 2]]) == 0.0
    assert decision_change_rate(decisions[[1, 3]]) == 1.0


def test_ablation_accuracy(tiny):
    model, classifier, x, y = tiny
    out = ablation_accuracy(model, classifier, x, y, generator=torch.Generator().manual_seed(0), batch_size=5)
    assert set(out) == {"original", "reencoded", "removed"}
    assert len(out["removed"]) == model.k + model.l
    for value in [out["original"], out["reencoded"], *out["removed"]]:
        assert 0.0 <= value <= 1.0
    assert out["original"] == pytest.approx(accuracy(classifier, x, y))


def test_train_classifier_separates_bright_from_dark():
    torch.manual_seed(0)

    def images(n):
        labels = torch.randint(0, 2, (n,))
        base = torch.where(labels[:, None, None, None] == 0, 0.7, 0.0)  # class 0 is bright
        return base + 0.3 * torch.rand(n, 1, 28, 28), labels

    x, y = images(256)
    x_test, y_test = images(200)
    model = CNNClassifier(2)
    assert accuracy(model, x_test, y_test) < 0.9  # untrained, it cannot tell them apart
    out = train_classifier(model, x, y, epochs=2, seed=0, progress=False)
    assert len(out["loss"]) == 2 * (256 // 64)
    assert out["loss"][-1] < out["loss"][0]
    assert not model.training
    assert accuracy(model, x_test, y_test) > 0.95
