"""The networks' shapes and sizes: the public code's autoencoders (about 87k and 249k parameters), the
pretext classifier and the Burgess VAE on 32 and 64 px images."""
from __future__ import annotations

import pytest
import torch

from lib.labelfree import models


def parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mnist_autoencoder_reconstructs_images_through_four_latents():
    model = models.mnist_autoencoder().eval()
    x = torch.rand(3, 1, 28, 28)
    assert model.encoder(x).shape == (3, 4) and model(x).shape == x.shape
    assert 0 <= model(x).min() and model(x).max() <= 1  # sigmoid output
    assert parameters(model) == 87_125 and parameters(model.encoder) == 43_428


def test_ecg_autoencoder_reconstructs_sequences_through_its_embedding():
    model = models.ecg_autoencoder()
    x = torch.randn(2, 140, 1)
    assert model.encoder(x).shape == (2, 64) and model(x).shape == x.shape
    assert parameters(model) == 249_473


def test_pretext_classifier_shares_the_mnist_encoder():
    model = models.PretextClassifier()
    assert isinstance(model.encoder, models.MnistEncoder) and model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert parameters(model) == parameters(model.encoder) + 4 * 10 + 10


@pytest.mark.parametrize("size, latent_dim", [(32, 3), (64, 6)])
def test_disentangled_vae_shapes(size, latent_dim):
    model = models.DisentangledVAE(size, latent_dim)
    x = torch.rand(2, 1, size, size)
    logits, mu, logvar, z = model(x, torch.Generator().manual_seed(0))
    assert logits.shape == x.shape and mu.shape == logvar.shape == z.shape == (2, latent_dim)
    torch.testing.assert_close(model.encoder.mu(x), mu)
    again = model(x, torch.Generator().manual_seed(0))[3]
    assert torch.equal(z, again)  # the reparameterisation noise follows the generator
