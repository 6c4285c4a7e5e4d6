"""CGN mechanisms, composer, shuffler, discriminators and counterfactual data, against known answers."""
from __future__ import annotations

import pytest
import torch

from lib.cgn.model import (CGN, ConvDiscriminator, LinearDiscriminator, UpsampledConv2d, compose, counterfactual_dataset,
                           shuffle)


def test_composer_returns_foreground_or_background():
    f, b = torch.rand(2, 4, 3, 32, 32).unbind(0)
    assert torch.equal(compose(torch.ones(4, 1, 32, 32), f, b), f)
    assert torch.equal(compose(torch.zeros(4, 1, 32, 32), f, b), b)
    half = compose(torch.full((4, 1, 32, 32), 0.5), f, b)
    assert torch.allclose(half, (f + b) / 2)


def test_shuffler_preserves_the_colour_histogram_of_a_tile():
    # A crop of the 2x2 tiling of an image is a cyclic shift of it: the same multiset of pixels.
    images = torch.rand(5, 3, 32, 32)
    out = shuffle(images, torch.Generator().manual_seed(1))
    assert out.shape == images.shape
    assert torch.equal(out.flatten(2).sort(-1).values, images.flatten(2).sort(-1).values)
    assert not torch.equal(out, images)  # (almost surely) moved


def test_cgn_outputs_and_counterfactual_dataset():
    torch.manual_seed(0)
    cgn = CGN(ngf=4)
    out = cgn.sample(torch.arange(10), torch.arange(10), torch.arange(10))
    assert out["mask"].shape == (10, 1, 32, 32) and out["composite"].shape == (10, 3, 32, 32)
    assert out["mask"].min() >= 1e-4 and out["mask"].max() <= 0.9999
    for key in ("foreground", "background", "composite"):
        assert 0 <= out[key].min() and out[key].max() <= 1
    x, y = counterfactual_dataset(cgn, 250, no_cfs=2, seed=3, batch=50)
    assert x.shape == (250, 3, 32, 32) and y.shape == (250,) and 0 <= y.min() and y.max() <= 9
    assert torch.equal(y[:50], y[50:100])  # one set of masks (and labels) per batch, no_cfs draws each
    x2, y2 = counterfactual_dataset(cgn, 250, no_cfs=2, seed=3, batch=50)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(counterfactual_dataset(cgn, 250, no_cfs=2, seed=4, batch=50)[1], y)


@pytest.mark.parametrize("discriminator", [LinearDiscriminator, ConvDiscriminator])
def test_discriminators_give_one_logit_and_see_the_label(discriminator):
    torch.manual_seed(0)
    disc = discriminator().eval()
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    scores = disc(images, torch.tensor([0, 1, 2, 3]))
    assert scores.shape == (4,)
    assert not torch.allclose(scores, disc(images, torch.tensor([4, 5, 6, 7])))


@pytest.mark.parametrize("c_in, c_out, bias, size", [(5, 3, False, (6, 7)), (4, 1, True, (8, 8))])
def test_upsampled_conv_is_upsampling_then_a_3x3_convolution(c_in, c_out, bias, size):
    # Known answer: the layer it replaces, with the same weights, in values and in gradients (float64).
    torch.manual_seed(0)
    fused = UpsampledConv2d(c_in, c_out, bias=bias).double()
    plain = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2),
                                torch.nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)).double()
    plain[1].load_state_dict(fused.state_dict())
    x = torch.randn(3, c_in, *size, dtype=torch.float64, requires_grad=True)
    out, ref = fused(x), plain(x)
    assert out.shape == (3, c_out, 2 * size[0], 2 * size[1])
    assert torch.allclose(out, ref, rtol=0, atol=1e-12)
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, fused.weight), g)
    refs = torch.autograd.grad(ref, (x, plain[1].weight), g)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-12) for a, b in zip(grads, refs))
