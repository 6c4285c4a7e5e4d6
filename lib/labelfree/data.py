"""The data of the Label-Free XAI experiments, built from lib.core.data's loaders and the generated dSprites.

ECG5000 offline is its 500-row training split only (292 normal beats); the paper used all 5,000 rows.
ECG splits are fixed permutations (seed 0), independent of the training seeds. MNIST comes from the
10,000-image prefix of the official training file available offline (``lib.core.data.image_splits``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lib.core.data import Splits, image_splits, load_ecg5000, load_split

from . import dsprites


@dataclass
class AutoencoderData:
    """Autoencoder training/validation inputs, evaluation inputs with labels, and a note on the data."""
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    test_labels: torch.Tensor
    note: str
    ranked: torch.Tensor | None = None          # claim 2: the training examples that are scored
    ranked_labels: torch.Tensor | None = None


def _per_class(labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """Indices of the first ``per_class`` examples of each class, interleaved by class (as the original)."""
    picks = [torch.nonzero(labels == c)[:per_class, 0] for c in labels.unique()]
    return torch.stack(picks, 1).flatten() if len({len(p) for p in picks}) == 1 else torch.cat(picks)


def mnist_experiment(per_class: int | None = None, n_test: int | None = None, device="cpu") -> AutoencoderData:
    """The offline MNIST prefix: autoencoder on the first 5/6 (train) and last 1/6 (validation) of the
    10,000 training images. Claim 1 (``n_test``): the first test images. Claim 2 (``per_class``): that
    many training images per class (ranked) and test images per class."""
    data = image_splits("mnist", range(10), device=device)
    (train_x, train_y), (test_x, test_y) = data.train, data.test
    if per_class is None:
        n = len(test_x) if n_test is None else n_test
        return AutoencoderData(train_x, data.val[0], test_x[:n], test_y[:n], data.note)
    ranked, tested = _per_class(train_y, per_class), _per_class(test_y, per_class)
    return AutoencoderData(train_x, data.val[0], test_x[tested], test_y[tested], data.note, train_x[ranked],
                           train_y[ranked])


def _ecg(device):
    x, y = load_ecg5000()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[order].to(device), (y[order] != 1).long().to(device)  # 0 normal, 1 abnormal


ECG_NOTE = "ECG5000: the 500-row UCR training split only (the 4,500-row test split is not available offline)"


def ecg_feature_experiment(device="cpu") -> AutoencoderData:
    """Claim 1: autoencoder on normal beats (80 % train, 20 % validation), evaluated on abnormal beats."""
    x, abnormal = _ecg(device)
    normal = x[abnormal == 0]
    cut = int(0.8 * len(normal))
    return AutoencoderData(normal[:cut], normal[cut:], x[abnormal == 1], abnormal[abnormal == 1], ECG_NOTE)


def ecg_example_experiment(n_test_per_class: int = 50, per_class: int = 100, device="cpu") -> AutoencoderData:
    """Claim 2: ``n_test_per_class`` normal and abnormal beats held out; the rest trains the autoencoder
    (80/20 train/validation); up to ``per_class`` beats per class of its training split are ranked."""
    x, labels = _ecg(device)
    test = torch.cat([torch.nonzero(labels == c)[:n_test_per_class, 0] for c in (0, 1)])
    rest = torch.ones(len(x), dtype=torch.bool, device=x.device)
    rest[test] = False
    x_rest, y_rest = x[rest], labels[rest]
    cut = int(0.8 * len(x_rest))
    ranked = _per_class(y_rest[:cut], per_class)
    return AutoencoderData(x_rest[:cut], x_rest[cut:], x[test], labels[test], ECG_NOTE, x_rest[:cut][ranked],
                           y_rest[:cut][ranked])


def feature_data(mnist_test: int, ecg_test: int | None = None, device="cpu") -> dict[str, AutoencoderData]:
    """Claim 1's data sets by name: the first ``mnist_test`` MNIST test images and the first ``ecg_test``
    abnormal beats (None: all) are explained."""
    data = {"MNIST": mnist_experiment(n_test=mnist_test, device=device), "ECG5000": ecg_feature_experiment(device)}
    if ecg_test is not None:
        ecg = data["ECG5000"]
        ecg.test, ecg.test_labels = ecg.test[:ecg_test], ecg.test_labels[:ecg_test]
    return data


def example_data(mnist_per_class: int, ecg_per_class: int, ecg_test_per_class: int,
                 device="cpu") -> dict[str, AutoencoderData]:
    """Claim 2's data sets by name (see ``mnist_experiment`` and ``ecg_example_experiment``)."""
    return {"MNIST": mnist_experiment(per_class=mnist_per_class, device=device),
            "ECG5000": ecg_example_experiment(ecg_test_per_class, ecg_per_class, device)}


def mnist_32(images: torch.Tensor) -> torch.Tensor:
    """MNIST (N, 1, 28, 28) in [0, 1] resized to 32 px (bilinear), as the public code's Resize(32)."""
    return F.interpolate(images, size=32, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def disentangle_data(config: dict, device="cpu") -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Claim 3's (training, test) images per data set of ``config`` ({"mnist" | "dsprites": {"train": size,
    "test": size, ...}}): the first MNIST training and test images at 32 px, and a seeded random split of the
    generated dSprites (uint8 in {0, 1})."""
    data = {}
    for name, c in config.items():
        if name == "mnist":
            to32 = lambda x: mnist_32(x.unsqueeze(1).float().div(255))  # noqa: E731
            data[name] = tuple(to32(load_split("mnist", split)[0][:n]).to(device)
                               for split, n in (("train", c["train"]), ("test", c["test"])))
        else:
            (train, _), (test, _) = dsprites.sample_splits(c["train"], c["test"], seed=0)
            data[name] = (train.to(device), test.to(device))
    return data


def subtrain_indices(labels: torch.Tensor, size: int = 1000) -> torch.Tensor:
    """Claim 4's explained training examples, as the public code: the first size/10 images of each class,
    interleaved by class (n-th index: the (n // 10)-th image of class n % 10)."""
    per_class = [torch.nonzero(labels == c)[:, 0] for c in range(10)]
    return torch.stack([per_class[n % 10][n // 10] for n in range(size)])


def pretext_data(n_test: int, subtrain_size: int, device="cpu", labels: bool = False) -> tuple:
    """Claim 4's MNIST splits (train: first 5/6 of the offline prefix, validation: the rest), the first
    ``n_test`` test images and the ``subtrain_size`` explained training images; with ``labels`` also the
    digits of these two."""
    data = image_splits("mnist", range(10), device=device)
    sub_idx = subtrain_indices(data.train[1].cpu(), subtrain_size).to(device)
    images = data, data.test[0][:n_test], data.train[0][sub_idx]
    return images + (data.test[1][:n_test], data.train[1][sub_idx]) if labels else images
