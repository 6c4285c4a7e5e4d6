"""Data splits of the Label-Free XAI experiments (claims 1 and 2), built from lib.core.data's loaders.

ECG5000 offline is its 500-row training split only (292 normal beats); the paper used all 5,000 rows.
Splits are fixed permutations (seed 0), independent of the training seeds.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lib.core.data import image_splits, load_ecg5000


@dataclass
class Experiment:
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


def mnist_experiment(per_class: int | None = None, n_test: int | None = None, device="cpu") -> Experiment:
    """The offline MNIST prefix: autoencoder on the first 5/6 (train) and last 1/6 (validation) of the
    10,000 training images. Claim 1 (``n_test``): the first test images. Claim 2 (``per_class``): that
    many training images per class (ranked) and test images per class."""
    data = image_splits("mnist", range(10), device=device)
    (train_x, train_y), (test_x, test_y) = data.train, data.test
    if per_class is None:
        n = len(test_x) if n_test is None else n_test
        return Experiment(train_x, data.val[0], test_x[:n], test_y[:n], data.note)
    ranked, tested = _per_class(train_y, per_class), _per_class(test_y, per_class)
    return Experiment(train_x, data.val[0], test_x[tested], test_y[tested], data.note, train_x[ranked],
                      train_y[ranked])


def _ecg(device):
    x, y = load_ecg5000()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[order].to(device), (y[order] != 1).long().to(device)  # 0 normal, 1 abnormal


ECG_NOTE = "ECG5000: the 500-row UCR training split only (the 4,500-row test split is not available offline)"


def ecg_feature_experiment(device="cpu") -> Experiment:
    """Claim 1: autoencoder on normal beats (80 % train, 20 % validation), evaluated on abnormal beats."""
    x, abnormal = _ecg(device)
    normal = x[abnormal == 0]
    cut = int(0.8 * len(normal))
    return Experiment(normal[:cut], normal[cut:], x[abnormal == 1], abnormal[abnormal == 1], ECG_NOTE)


def ecg_example_experiment(n_test_per_class: int = 50, per_class: int = 100, device="cpu") -> Experiment:
    """Claim 2: ``n_test_per_class`` normal and abnormal beats held out; the rest trains the autoencoder
    (80/20 train/validation); up to ``per_class`` beats per class of its training split are ranked."""
    x, labels = _ecg(device)
    test = torch.cat([torch.nonzero(labels == c)[:n_test_per_class, 0] for c in (0, 1)])
    rest = torch.ones(len(x), dtype=torch.bool, device=x.device)
    rest[test] = False
    x_rest, y_rest = x[rest], labels[rest]
    cut = int(0.8 * len(x_rest))
    ranked = _per_class(y_rest[:cut], per_class)
    return Experiment(x_rest[:cut], x_rest[cut:], x[test], labels[test], ECG_NOTE, x_rest[:cut][ranked],
                      y_rest[:cut][ranked])
