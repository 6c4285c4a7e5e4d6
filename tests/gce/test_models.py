"""The explainer's VAE and the black-box classifiers of GCE's architecture claim."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lib.gce.models import ARCHITECTURES, VAE, CNNClassifier, MeanIntensity, build_classifier


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


def _paper_cnn(model, x):
    """The paper's CNN in its own order (ReLU, then max-pool), on ``model``'s weights, in contiguous layout."""
    conv1, conv2, fc1, fc2 = (model.body[i] for i in (0, 2, 7, 10))
    w = lambda layer: layer.weight.contiguous()  # noqa: E731
    h = torch.relu(F.conv2d(x, w(conv1), conv1.bias))
    h = F.max_pool2d(torch.relu(F.conv2d(h, w(conv2), conv2.bias)), 2).flatten(1)
    return F.linear(torch.relu(F.linear(h, fc1.weight, fc1.bias)), fc2.weight, fc2.bias).softmax(-1)


def test_cnn_is_the_papers_function_with_its_gradient():
    """Pooling before the ReLU, in-place ReLUs and channels-last weights leave values and input gradients."""
    torch.manual_seed(0)
    model = CNNClassifier(3).eval()
    assert model.body[2].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(6, 1, 28, 28, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    probs, ref = model(x), _paper_cnn(model, x_ref)
    torch.testing.assert_close(probs, ref, rtol=1e-5, atol=1e-6)
    probs[:, 1].sum().backward()
    ref[:, 1].sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-6)


def test_vae_in_channels_last_computes_what_a_contiguous_copy_computes():
    torch.manual_seed(0)
    vae = VAE(1, 3)
    contiguous = copy.deepcopy(vae).to(memory_format=torch.contiguous_format)
    assert vae.decoder.net[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert contiguous.decoder.net[3].weight.is_contiguous()
    x = torch.rand(5, 1, 28, 28)
    recon, mu, _ = vae(x, torch.Generator().manual_seed(2))
    recon_ref, mu_ref, _ = contiguous(x, torch.Generator().manual_seed(2))
    torch.testing.assert_close(mu, mu_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(recon, recon_ref, rtol=1e-5, atol=1e-6)
