"""What the invariant classifiers look at (seed 004's explainability analysis, with its mask bug fixed):
penultimate features and their t-SNE, Grad-CAM on the last convolution, and its overlap (IoU) with the
digit masks of the same images.

Binarising a Grad-CAM map: each map is divided by its maximum and thresholded at one half (seed 004
does not state its threshold; this one was fixed before any run). A map that is zero everywhere is
empty.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam
from torch import nn

CAM_THRESHOLD = 0.5


@torch.no_grad()
def penultimate_features(model: nn.Module, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The 64-d input of the classifier's last linear layer (``model.features``), on the CPU."""
    dev = next(model.parameters()).device
    model.eval()
    return torch.cat([model.features(images[i:i + batch].to(dev)).cpu() for i in range(0, len(images), batch)])


def tsne(features: torch.Tensor, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """Two-dimensional t-SNE embedding (scikit-learn, PCA initialisation) of (N, D) features."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, (len(features) - 1) / 3)
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features.numpy())


def knn_accuracy(features: torch.Tensor, labels: torch.Tensor, k: int = 10) -> float:
    """Leave-one-out k-nearest-neighbour accuracy of ``labels`` in feature space: how well the features
    cluster by that label (1: every neighbourhood pure; 1/classes: no structure)."""
    distances = torch.cdist(features, features)
    distances.fill_diagonal_(float("inf"))
    neighbours = labels[distances.topk(k, largest=False).indices]                     # (N, k)
    votes = F.one_hot(neighbours, int(labels.max()) + 1).sum(1)                          # (N, classes)
    return (votes.argmax(1) == labels).float().mean().item()


def gradcam(model: nn.Module, layer: nn.Module, images: torch.Tensor, targets: torch.Tensor,
            batch: int = 500) -> torch.Tensor:
    """Grad-CAM (captum's LayerGradCam, ReLU of the gradient-weighted channel sum) of ``layer`` for the
    ``targets`` logits, bilinearly upsampled to the image size: (N, H, W) on the CPU."""
    dev = next(model.parameters()).device
    model.eval()
    cam = LayerGradCam(model, layer)
    maps = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(dev).requires_grad_()
        attribution = cam.attribute(x, target=targets[i:i + batch].to(dev), relu_attributions=True)
        maps.append(F.interpolate(attribution.detach(), size=images.shape[-2:], mode="bilinear",
                                  align_corners=False)[:, 0].cpu())
    return torch.cat(maps)


def binarise_cam(maps: torch.Tensor, threshold: float = CAM_THRESHOLD) -> torch.Tensor:
    """Pixels at or above ``threshold`` × the map's maximum; all-zero maps give empty masks."""
    peak = maps.flatten(1).amax(1)[:, None, None]
    return (maps >= threshold * peak) & (peak > 0)


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image intersection over union of boolean masks (N, H, W); two empty masks agree (IoU 1)."""
    a, b = a.flatten(1).bool(), b.flatten(1).bool()
    inter, union = (a & b).sum(1).float(), (a | b).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def gradcam_iou(model, images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                layer: nn.Module | None = None) -> torch.Tensor:
    """Per-image IoU between the binarised Grad-CAM map for the true label and the digit mask
    (N, 1, H, W) of the same image. ``layer`` defaults to the classifier's last convolution."""
    maps = gradcam(model, layer if layer is not None else model.last_conv, images, labels)
    return iou(binarise_cam(maps), masks[:, 0] > 0.5)
