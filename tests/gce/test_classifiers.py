"""The classifiers of GCE's architecture claim and the sweep-intensity correlation."""
from __future__ import annotations

import pytest
import torch

from lib.gce.classifiers import ARCHITECTURES, MeanIntensity, build_classifier
from lib.gce import fit_classifier, sweep_intensity_correlation
from lib.core.train import accuracy


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_returns_probabilities_and_has_gradients(architecture):
    torch.manual_seed(0)
    model = build_classifier(architecture, 3).eval()
    x = torch.rand(5, 1, 28, 28, requires_grad=True)
    probs = model(x)
    assert probs.shape == (5, 3)
    assert torch.allclose(probs.sum(-1), torch.ones(5), atol=1e-6)
    assert torch.allclose(probs, model.logits(x).softmax(-1))
    probs[:, 0].sum().backward()  # GCE needs gradients with respect to the (decoded) input
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_classifier("vgg", 2)


def test_mean_intensity_classifier_sees_only_the_mean():
    torch.manual_seed(0)
    model = MeanIntensity(2)
    x = torch.rand(4, 1, 28, 28)
    shuffled = x.flatten(1)[:, torch.randperm(784)].reshape_as(x)  # same mean, other image
    assert torch.allclose(model(x), model(shuffled))


def test_fit_classifier_learns_brightness_with_the_mean_intensity_model(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path))
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (512,), generator=gen)
    x = torch.rand(512, 1, 28, 28, generator=gen) * 0.5 + 0.4 * y[:, None, None, None]  # class 1 is brighter
    model, _, hit = fit_classifier(x, y, 2, epochs=20, seed=0, architecture="mean_intensity", progress=False)
    assert not hit and accuracy(model, x, y) == 1.0
    _, _, hit = fit_classifier(x, y, 2, epochs=20, seed=0, architecture="mean_intensity", progress=False)
    assert hit  # cached under its own key
    _, _, hit = fit_classifier(x, y, 2, epochs=20, seed=0, architecture="resnet", progress=False)
    assert not hit  # another architecture never reuses it


def test_sweep_intensity_correlation_known_cases():
    offsets = torch.linspace(-3, 3, 7)
    rows = torch.tensor([0.1, 0.5, 0.9])[:, None]  # rows differ in brightness: must not matter
    linear = (rows + 0.02 * offsets)[..., None, None].expand(3, 7, 4, 4)
    assert sweep_intensity_correlation(linear, offsets) == pytest.approx(1.0)
    assert sweep_intensity_correlation(1 - linear, offsets) == pytest.approx(-1.0)
    flat = rows[..., None, None].expand(3, 7, 4, 4)
    assert sweep_intensity_correlation(flat, offsets) == 0.0
    noise = torch.rand(400, 7, 4, 4, generator=torch.Generator().manual_seed(0))
    assert abs(sweep_intensity_correlation(noise, offsets)) < 0.05
    with pytest.raises(ValueError):
        sweep_intensity_correlation(linear[:, :3], offsets)
