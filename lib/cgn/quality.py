"""Measures of a CGN's samples: are the digit masks intact, and do texture and background follow their
own labels?

Cue control. A counterfactual is only useful if each mechanism obeys its own label. We measure it with a
nearest-centroid "cue classifier" fitted on the *real* training images: per class, the mean colour of
the digit pixels (foreground) and of the other pixels (background), using the binarised digit as the
mask. A generated foreground (background) is assigned the class of the nearest centroid of its mean
colour; the cue accuracy is how often that class is the label given to the texture (background)
mechanism. On colored MNIST every background is black, so only the foreground cue is defined.

Intact masks.
A mask of digit k counts as *intact* when, over ``n`` masks sampled for class k,
- its mean value (the digit's area) lies in [AREA_MIN, AREA_MAX]: real binarised MNIST digits on 32×32
  cover 0.11–0.24 of the image per class (see ``real_mask_statistics``), an empty mask is 0 and a full or
  inverted one is above one half;
- its mean value in the 3-pixel border band is at most BORDER_MAX: real digits leave the band nearly
  empty (below 0.02), while the collapse seed 004 describes (a dark blob in a bright frame) fills it;
- when a shape classifier trained on real binarised digits is given, it recognises at least
  ACCURACY_MIN of the masks as digit k (a mask may have plausible statistics and still draw another digit).
"""
from __future__ import annotations

import torch
from torch import nn

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import Fit, seed_everything, train_classifier, train_loop

from .losses import border_band
from .variants import binarised_digits, counterfactual_mnist

AREA_MIN, AREA_MAX = 0.03, 0.5
BORDER_MAX = 0.1
ACCURACY_MIN = 0.5


def mask_area_and_border(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per mask (N, 1, H, W): mean value, and mean value over the border band's pixels."""
    band = border_band(masks.shape[-1], device=masks.device)
    return masks.mean((1, 2, 3)), (masks * band).sum((1, 2, 3)) / band.sum()


def real_mask_statistics(root=None) -> dict[str, torch.Tensor]:
    """Per-class mean area and border value of real binarised training digits (the reference ranges)."""
    digits, labels = binarised_digits("train", root)
    area, border = mask_area_and_border(digits)
    return {"area": torch.stack([area[labels == k].mean() for k in range(10)]),
            "border": torch.stack([border[labels == k].mean() for k in range(10)])}


class ShapeClassifier(nn.Module):
    """Small CNN on one-channel 32×32 shapes: Conv(32)-ReLU-Pool-Conv(64)-ReLU-Pool-Linear(128)-Linear(10)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), nn.Linear(128, 10))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).softmax(-1)


def fit_shape_classifier(digits: torch.Tensor, labels: torch.Tensor, *, epochs: int = 3, seed: int = 0,
                         progress: bool = True) -> Fit:
    """A ShapeClassifier trained on real binarised digits (``binarised_digits``, on the device to train on)
    with the SGD schedule of ``lib.core.train.train_classifier``, or loaded from the cache.

    It never sees generated data, so its accuracy on generated masks measures whether they look like
    the digit they were asked for.
    """
    seed_everything(seed)
    model = ShapeClassifier().to(digits.device)
    spec = {"x": fingerprint(digits), "y": fingerprint(labels), "epochs": epochs, "seed": seed}
    model, history, hit = load_or_train(
        "shape-classifier", spec, model,
        lambda m: train_classifier(m, digits, labels, epochs, seed=seed, progress=progress),
        code=(ShapeClassifier, train_classifier, train_loop))
    return Fit(model.eval(), history, hit)


@torch.no_grad()
def shape_accuracy(classifier: nn.Module, digits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``digits`` (one batch) that ``classifier`` assigns to their label."""
    return (classifier.eval()(digits).argmax(-1) == labels).float().mean().item()


@torch.no_grad()
def class_masks(cgn, n_per_class: int = 100, seed: int = 0) -> torch.Tensor:
    """(10, n, 1, 32, 32) masks sampled for each digit class with seeded noise."""
    device = cgn.label_embedding.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    y = torch.arange(10, device=device).repeat_interleave(n_per_class)
    masks = cgn.sample(y, y, y, generator=gen)["mask"]
    return masks.view(10, n_per_class, *masks.shape[1:])


@torch.no_grad()
def mask_intact(masks: torch.Tensor, classifier=None) -> dict[str, torch.Tensor]:
    """Per digit class of masks (10, n, 1, H, W) (``class_masks``): "area", "border", "accuracy" (NaN
    without a classifier) and "intact" (bool), each (10,) on the CPU.

    The criteria and their justification are in the module docstring.
    """
    area, border = mask_area_and_border(masks.flatten(0, 1))
    area, border = area.view(10, -1).mean(1), border.view(10, -1).mean(1)
    intact = (area >= AREA_MIN) & (area <= AREA_MAX) & (border <= BORDER_MAX)
    accuracy = torch.full((10,), float("nan"), device=area.device)
    if classifier is not None:
        classifier.eval()
        predicted = classifier(masks.flatten(0, 1)).argmax(-1).view(10, -1)
        accuracy = (predicted == torch.arange(10, device=area.device)[:, None]).float().mean(1)
        intact &= accuracy >= ACCURACY_MIN
    return {"area": area.cpu(), "border": border.cpu(), "accuracy": accuracy.cpu(), "intact": intact.cpu()}


def cue_centroids(variant: str) -> dict[str, torch.Tensor]:
    """Per-class mean RGB of the digit pixels ("foreground") and the other pixels ("background") of the
    real training split, (10, 3) each; "background" is absent for colored MNIST (always black)."""
    images, labels = counterfactual_mnist(variant, "train")
    digits, digit_labels = binarised_digits("train")
    if not torch.equal(labels, digit_labels):
        raise RuntimeError("the variant's training split is not in the order of the MNIST training file")
    fg = (images * digits).sum((2, 3)) / digits.sum((2, 3)).clamp_min(1)
    bg = (images * (1 - digits)).sum((2, 3)) / (1 - digits).sum((2, 3)).clamp_min(1)
    centroids = {"foreground": torch.stack([fg[labels == k].mean(0) for k in range(10)])}
    if variant != "colored":
        centroids["background"] = torch.stack([bg[labels == k].mean(0) for k in range(10)])
    return centroids


def cue_accuracy(images: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor) -> float:
    """Fraction of images (N, 3, H, W) whose mean colour is nearest to the centroid of their label."""
    colours = images.mean((2, 3)).cpu()
    return (torch.cdist(colours, centroids).argmin(1) == labels.cpu()).float().mean().item()


@torch.no_grad()
def cue_control(cgn, centroids: dict[str, torch.Tensor], n: int, seed: int = 0) -> dict[str, float]:
    """Texture and background cue accuracies (``cue_accuracy``) of ``n`` samples whose shape, texture and
    background labels are drawn independently (noise and labels seeded with 100 + ``seed``, apart from the
    masks' seed); the background's is NaN where the variant has no background cue."""
    device = cgn.label_embedding.weight.device
    gen = torch.Generator(device=device).manual_seed(100 + seed)
    labels = [torch.randint(10, (n,), generator=gen, device=device) for _ in range(3)]
    out = cgn.sample(*labels, generator=gen)
    return {"texture cue accuracy": cue_accuracy(out["foreground"], labels[1], centroids["foreground"]),
            "background cue accuracy": (cue_accuracy(out["background"], labels[2], centroids["background"])
                                        if "background" in centroids else float("nan"))}
