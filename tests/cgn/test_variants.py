"""The CGN MNIST variants: the cue follows the label in training and not at test time, the test set is
fixed, errors are clear, the binarised digits are the images' masks. Built from the synthetic MNIST (and
the real textures when available)."""
from __future__ import annotations

import pytest
import torch

from lib.cgn import variants as V
from lib.cgn.variants import binarised_digits, counterfactual_mnist
from lib.core.data import DatasetError


def nearest(colours: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    return torch.cdist(colours, palette).argmin(1)


def stroke_colour(images: torch.Tensor) -> torch.Tensor:
    """Colour of the brightest pixel of each image (the stroke of a colored digit on black)."""
    flat = images.flatten(2)
    return flat.gather(2, flat.sum(1, keepdim=True).argmax(2, keepdim=True).expand(-1, 3, 1)).squeeze(2)


def test_colored_follows_label_in_train_only(mnist_root):
    x, y = counterfactual_mnist("colored", "train", mnist_root)
    assert x.shape == (300, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= x.min() and x.max() <= 1
    assert (nearest(stroke_colour(x), V.COLORED_CLASS_COLOURS) == y).float().mean() > 0.9
    x_test, y_test = counterfactual_mnist("colored", "test", mnist_root)
    assert (nearest(stroke_colour(x_test), V.COLORED_CLASS_COLOURS) == y_test).float().mean() < 0.3


def test_double_colored_colours_of_class_k(mnist_root):
    x, y = counterfactual_mnist("double_colored", "train", mnist_root)
    corner = x[:, :, 0, 0]           # background
    stroke = x[:, :, 8, 14]          # inside every synthetic digit (rows 7..12, columns 9..20 after resize)
    assert (nearest(corner, V.DOUBLE_BACKGROUND) == y).all()
    assert (nearest(stroke, V.DOUBLE_OBJECT) == y).all()
    assert torch.allclose(corner, V.DOUBLE_BACKGROUND[y], atol=0.06)
    assert torch.equal(V.DOUBLE_OBJECT[0], V.DOUBLE_BACKGROUND[4])  # digit 0 gets yellow
    x_test, y_test = counterfactual_mnist("double_colored", "test", mnist_root)
    assert (nearest(x_test[:, :, 0, 0], V.DOUBLE_BACKGROUND) == y_test).float().mean() < 0.3


def test_test_set_identical_across_calls_and_builds(mnist_root):
    a = counterfactual_mnist("double_colored", "test", mnist_root)
    V._cached_uint8.cache_clear()    # second call reads the file cache
    b = counterfactual_mnist("double_colored", "test", mnist_root)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    fresh, _ = V.build_variant("double_colored", "test", mnist_root)   # no cache at all: same up to 8-bit levels
    assert (fresh - a[0]).abs().max() <= 0.5 / 255 + 1e-6


def test_wildlife_textures_follow_label(mnist_with_textures):
    x, y = counterfactual_mnist("wildlife", "train", mnist_with_textures)
    x_test, y_test = counterfactual_mnist("wildlife", "test", mnist_with_textures)
    # Nearest-centroid on the mean background colour (corner 4x4 patch), centroids from the training split.
    feat = lambda images: images[:, :, :4, :4].mean((2, 3))  # noqa: E731
    centroids = torch.stack([feat(x)[y == k].mean(0) for k in range(10)])
    assert (nearest(feat(x), centroids) == y).float().mean() > 0.6
    assert (nearest(feat(x_test), centroids) == y_test).float().mean() < 0.35


def test_unknown_variant_split_and_missing_textures(mnist_root):
    with pytest.raises(DatasetError, match="unknown MNIST variant"):
        counterfactual_mnist("striped", "train", mnist_root)
    with pytest.raises(DatasetError, match="unknown split"):
        counterfactual_mnist("colored", "val", mnist_root)
    with pytest.raises(DatasetError, match="texture images"):
        counterfactual_mnist("wildlife", "train", mnist_root)


def test_random_crops_take_the_right_window():
    textures = torch.arange(2 * 3 * 40 * 40, dtype=torch.float32).view(2, 3, 40, 40)
    which = torch.tensor([1, 0, 1])
    crops = V.random_crops(textures, which, torch.Generator().manual_seed(0), size=8)
    for crop, k in zip(crops, which):
        top, left = [int(v) for v in torch.nonzero(textures[k, 0] == crop[0, 0, 0])[0]]
        assert torch.equal(crop, textures[k, :, top:top + 8, left:left + 8])


@pytest.mark.parametrize("variant", ["colored", "double_colored"])
def test_binarised_digits_are_the_masks_of_the_variant_images(mnist_root, variant):
    images, labels = counterfactual_mnist(variant, "test")
    masks, mask_labels = binarised_digits("test")
    assert masks.shape == (300, 1, 32, 32) and set(masks.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(labels, mask_labels)
    # Each image has one colour on its digit and one off it: with the masks of the same digits, the colour
    # spread within each part is zero (up to 8-bit rounding).
    for part in (masks, 1 - masks):
        mean = (images * part).sum((2, 3), keepdim=True) / part.sum((2, 3), keepdim=True)
        assert ((images - mean).abs() * part).amax() < 0.01
