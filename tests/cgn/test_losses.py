"""The CGN's losses against known values: edge loss, mask entropy, Gram-matrix style loss, LSGAN."""
from __future__ import annotations

import pytest
import torch

from lib.cgn import losses as L


def test_edge_loss_of_border_band_masks():
    band = L.border_band(32, 3)
    assert band.sum() == 32 * 32 - 26 * 26
    assert L.edge_loss(band.expand(2, 1, 32, 32)).item() == pytest.approx(348 / 1024)
    assert L.edge_loss((1 - band).expand(2, 1, 32, 32)).item() == 0


def test_binary_entropy_known_values():
    assert L.binary_entropy(torch.full((3, 1, 4, 4), 0.5)).item() == pytest.approx(1.0)
    assert L.binary_entropy(torch.full((3, 1, 4, 4), 1e-4)).item() < 0.002


def test_gram_loss_zero_for_identical_images_only():
    net = L.StyleNet()
    x = torch.rand(4, 3, 32, 32) * torch.tensor([1.0, 0.4, 0.0])[:, None, None]  # a reddish texture
    weights = (0.05, 0.1, 0.01, 0.0)
    assert L.style_loss(net, x, x, weights).item() == 0
    assert L.style_loss(net, x, x.flip(1), weights).item() > 0
    # Gram matrices ignore where a texture is: a cyclic shift costs (almost) nothing
    shifted = x.roll(8, dims=3)
    assert L.style_loss(net, shifted, x, weights) < 0.2 * L.style_loss(net, x.flip(1), x, weights)
    assert torch.allclose(L.gram_matrix(torch.ones(1, 2, 2, 2)), torch.full((1, 2, 2), 0.5))


def test_lsgan_losses_are_zero_at_their_targets():
    ones, zeros = torch.ones(5), torch.zeros(5)
    assert L.lsgan_generator_loss(ones).item() == 0 and L.lsgan_generator_loss(zeros).item() == 1
    assert L.lsgan_discriminator_loss(ones, zeros).item() == 0
    assert L.lsgan_discriminator_loss(zeros, ones).item() == 1
