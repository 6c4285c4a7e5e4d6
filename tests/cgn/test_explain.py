"""Explainability helpers: IoU and binarisation by hand, k-NN purity, Grad-CAM on a model whose evidence
lies in a known region, shapes on the invariant classifier."""
from __future__ import annotations

import torch
from torch import nn

from lib.cgn import explain
from lib.cgn.classifier import InvariantClassifier


def test_iou_hand_computed():
    a = torch.tensor([[[1, 1], [0, 0]], [[0, 0], [0, 0]], [[1, 0], [0, 1]], [[0, 0], [0, 0]]]).bool()
    b = torch.tensor([[[1, 0], [1, 0]], [[0, 0], [0, 0]], [[1, 0], [0, 1]], [[0, 1], [0, 0]]]).bool()
    assert torch.allclose(explain.iou(a, b), torch.tensor([1 / 3, 1.0, 1.0, 0.0]))


def test_binarise_cam_relative_to_each_maximum():
    maps = torch.tensor([[[0.0, 1.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], [[3.0, 0.1], [0.0, 1.4]]])
    expected = torch.tensor([[[0, 0], [1, 1]], [[0, 0], [0, 0]], [[1, 0], [0, 0]]]).bool()
    assert torch.equal(explain.binarise_cam(maps), expected)


def test_knn_accuracy_pure_and_adversarial_neighbourhoods():
    clusters = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [10.0, 10.0], [10.1, 10.0], [10.0, 10.1]])
    assert explain.knn_accuracy(clusters, torch.tensor([0, 0, 0, 1, 1, 1]), k=2) == 1.0
    pairs = torch.tensor([[0.0], [0.1], [10.0], [10.1]])  # each point's only near neighbour has the other label
    assert explain.knn_accuracy(pairs, torch.tensor([0, 1, 0, 1]), k=1) == 0.0


def region_model() -> tuple[nn.Module, nn.Module]:
    """A model whose evidence is wherever the image is non-zero: a bias-free positive stride-4 convolution
    (the Grad-CAM layer, 8 × 8 map), ReLU, global average pooling, positive linear head."""
    conv = nn.Conv2d(3, 4, 4, stride=4, bias=False)
    head = nn.Linear(4, 10)
    with torch.no_grad():
        conv.weight.uniform_(0.1, 1.0)
        head.weight.uniform_(0.1, 1.0)
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head), conv


def test_gradcam_finds_the_region_that_holds_the_evidence():
    torch.manual_seed(0)
    model, layer = region_model()
    images = torch.zeros(6, 3, 32, 32)
    images[:, :, :16, :16] = torch.rand(6, 3, 16, 16) + 0.5   # evidence only in the top-left quadrant
    region = torch.zeros(6, 32, 32, dtype=torch.bool)
    region[:, :16, :16] = True
    cam = explain.binarise_cam(explain.gradcam(model, layer, images, torch.arange(6)))
    assert explain.iou(cam, region).min() > 0.85
    assert explain.iou(cam, ~region).max() < 0.05
    masks = region[:, None].float()
    assert explain.gradcam_iou(model, images, torch.arange(6), masks, layer=layer).min() > 0.85


def test_shapes_on_the_invariant_classifier():
    torch.manual_seed(0)
    model = InvariantClassifier().eval()
    images, labels = torch.rand(7, 3, 32, 32), torch.arange(7)
    features = explain.penultimate_features(model, images, batch=3)
    assert features.shape == (7, 64) and torch.allclose(features, model.features(images).detach(), atol=1e-6)
    maps = explain.gradcam(model, model.last_conv, images, labels, batch=4)
    assert maps.shape == (7, 32, 32) and maps.min() >= 0
    scores = explain.gradcam_iou(model, images, labels, torch.ones(7, 1, 32, 32))
    assert scores.shape == (7,) and ((scores >= 0) & (scores <= 1)).all()
    assert explain.tsne(features, perplexity=2.0).shape == (7, 2)
