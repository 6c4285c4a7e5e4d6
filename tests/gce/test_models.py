"""The explainer's VAE and the black-box classifiers of GCE's architecture claim."""
from __future__ import annotations

import pytest
import torch

from lib.gce.models import ARCHITECTURES, VAE, MeanIntensity, build_classifier


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


def test_vae_reconstructs_images_from_k_plus_l_latents_with_seeded_noise():
    torch.manual_seed(0)
    vae = VAE(2, 3)
    x = torch.rand(4, 1, 28, 28)
    recon, mu, logvar = vae(x, torch.Generator().manual_seed(1))
    assert recon.shape == x.shape and mu.shape == logvar.shape == (4, 5)
    assert ((recon >= 0) & (recon <= 1)).all()  # a sigmoid output, as the images
    torch.testing.assert_close(vae(x, torch.Generator().manual_seed(1))[0], recon)
