"""Measures of a CGN's samples: the intact-mask criteria, cue accuracies, the shape classifier and the
real-digit reference statistics."""
from __future__ import annotations

import math

import torch
from torch import nn

from lib.cgn import losses as L
from lib.cgn import quality as Q
from lib.cgn.model import CGN
from lib.cgn.variants import binarised_digits


def per_class(mask: torch.Tensor, n: int = 4) -> torch.Tensor:
    """The same (32, 32) mask ``n`` times for every digit class: (10, n, 1, 32, 32)."""
    return mask.expand(10, n, 1, 32, 32)


def test_mask_intact_criteria():
    band = L.border_band(32, 3)
    digit = torch.zeros(32, 32)
    digit[8:24, 12:20] = 1                       # area 0.125, nothing at the border
    assert Q.mask_intact(per_class(digit))["intact"].all()
    for broken in (band, 1 - digit, torch.zeros(32, 32), torch.ones(32, 32)):  # frame, inverted, empty, full
        assert not Q.mask_intact(per_class(broken))["intact"].any()
    # with a classifier that always says 3, only digit 3 is intact
    always_three = lambda x: nn.functional.one_hot(torch.full((len(x),), 3), 10).float()  # noqa: E731
    always_three.eval = lambda: None
    result = Q.mask_intact(per_class(digit), classifier=always_three)
    assert result["intact"].tolist() == [k == 3 for k in range(10)]
    assert result["accuracy"].tolist() == [float(k == 3) for k in range(10)]


def test_class_masks_and_cue_control_of_a_cgn():
    torch.manual_seed(0)
    cgn = CGN(ngf=4)
    masks = Q.class_masks(cgn, 6, seed=2)
    assert masks.shape == (10, 6, 1, 32, 32) and torch.equal(masks, Q.class_masks(cgn, 6, seed=2))
    centroids = {"foreground": torch.rand(10, 3)}
    cues = Q.cue_control(cgn, centroids, 50, seed=1)
    assert 0 <= cues["texture cue accuracy"] <= 1 and math.isnan(cues["background cue accuracy"])
    assert cues["texture cue accuracy"] == Q.cue_control(cgn, centroids, 50, seed=1)["texture cue accuracy"]


def test_cue_accuracy_nearest_colour():
    centroids = torch.eye(3)                                    # three classes: red, green, blue
    labels = torch.tensor([0, 1, 2, 2])
    images = centroids[labels][:, :, None, None].expand(-1, -1, 8, 8) * 0.8  # darker, still nearest
    assert Q.cue_accuracy(images, labels, centroids) == 1.0
    assert Q.cue_accuracy(images, torch.tensor([1, 2, 0, 0]), centroids) == 0.0


def test_cue_centroids_and_real_mask_statistics(mnist_root):
    centroids = Q.cue_centroids("double_colored")
    assert set(centroids) == {"foreground", "background"} and centroids["background"].shape == (10, 3)
    assert set(Q.cue_centroids("colored")) == {"foreground"}  # colored MNIST has a black background
    stats = Q.real_mask_statistics()
    # Synthetic digit k is a (6 + k) x 12 square of a 28 x 28 image, resized to 32 x 32.
    assert torch.all(stats["area"][1:] > stats["area"][:-1]) and torch.all(stats["border"] == 0)


def test_shape_classifier_is_cached(mnist_root):
    digits, labels = binarised_digits("train")
    first = Q.fit_shape_classifier(digits, labels, epochs=1, progress=False)
    again = Q.fit_shape_classifier(digits, labels, epochs=1, progress=False)
    assert not first.cached and again.cached and len(first.history["loss"]) == 5  # 300 digits, batch 64
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_shape_accuracy_counts_the_arg_max():
    model = Q.ShapeClassifier()
    with torch.no_grad():
        model.body[-1].weight.zero_()
        model.body[-1].bias.copy_(torch.arange(10.0))  # always class 9
    assert Q.shape_accuracy(model, torch.rand(4, 1, 32, 32), torch.tensor([9, 9, 9, 1])) == 0.75
