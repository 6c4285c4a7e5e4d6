"""Claim 4: encoders trained on different pretext tasks, and how much their explanations agree.

Four encoders with the same architecture (``nets.MnistEncoder``, latent dimension 4) are trained on MNIST
for reconstruction (R), denoising (D, Gaussian noise σ 0.3), inpainting (I, each pixel dropped with
probability 0.2) and classification (C, the encoder followed by Linear(4, 10)). Their label-free
|GradientShap| saliency maps and their DKNN example importances are compared by Pearson correlation.

The public code feeds DKNN raw 0–255 pixels while the encoders were trained on [0, 1] images; here every
input is in [0, 1] (``dknn_scores(..., scale=255)`` reproduces the defect). Its classifier applies cross-entropy to softmax
outputs; ours to logits.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import EarlyStopping, seed_everything
from .examples import dknn, representations
from .features import feature_importance
from .nets import Autoencoder, MnistDecoder, MnistEncoder, fit_autoencoder, gaussian_noise, mnist_autoencoder

TASKS = {"R": "reconstruction", "D": "denoising", "I": "inpainting", "C": "classification"}


def identity(x, generator):
    return x


def bernoulli_mask(p: float):
    """The inpainting pretext: each pixel set to 0 with probability ``p``."""
    return lambda x, generator: x * (torch.rand(x.shape, generator=generator, device=x.device) >= p)


CORRUPTIONS = {"R": lambda: identity, "D": lambda: gaussian_noise(0.3), "I": lambda: bernoulli_mask(0.2)}


class Classifier(nn.Module):
    """The pretext classifier: the autoencoders' encoder, then Linear(latent, 10) logits."""

    def __init__(self, latent_dim: int = 4, n_classes: int = 10):
        super().__init__()
        self.encoder = MnistEncoder(latent_dim)
        self.head = nn.Linear(latent_dim, n_classes)

    def forward(self, x):
        return self.head(self.encoder(x))


def fit_classifier(model, train, val, epochs: int, batch_size: int, patience: int, seed: int = 0,
                   progress: bool = True) -> dict:
    """Adam (lr 1e-3, weight decay 1e-5), cross-entropy, early stopping on the validation loss (best restored)."""
    (x, y), (val_x, val_y) = train, val
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    record = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    stopper = EarlyStopping(patience)
    start = time.perf_counter()
    for epoch in tqdm(range(epochs), desc="classifier", disable=not progress, mininterval=2):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(x), device=x.device, generator=gen).split(batch_size):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            logits = model(val_x)
            val = F.cross_entropy(logits, val_y).item()
        record["train_loss"].append(total / len(x))
        record["val_loss"].append(val)
        record["val_accuracy"].append((logits.argmax(-1) == val_y).float().mean().item())
        if stopper.step(val, model, epoch):
            break
    stopper.restore(model)
    record.update(best_epoch=stopper.best_epoch, best_val_loss=stopper.best, seconds=time.perf_counter() - start)
    return record


def pretext_encoder(task: str, train, val, seed: int, epochs: int, batch_size: int = 300, patience: int = 10,
                    progress: bool = True):
    """The encoder trained on ``task`` (a key of TASKS), from the model cache when possible.

    ``train`` and ``val`` are (images in [0, 1], labels); labels are used by the classifier only.
    Returns (the trained model in eval mode, whose ``encoder`` is explained; training record; cache hit).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    # One seed per task and run: tasks of a run start from different weights and batch orders, as in the
    # public code (one generator for all models); a shared seed would make the encoders alike by construction.
    seed = len(TASKS) * seed + list(TASKS).index(task)
    seed_everything(seed)
    spec = {"task": task, "train": fingerprint(train[0]), "val": fingerprint(val[0]), "seed": seed,
            "epochs": epochs, "batch_size": batch_size, "patience": patience}
    if task == "C":
        model = Classifier().to(train[0].device)
        code = (MnistEncoder, Classifier, fit_classifier)
        fit = lambda m: fit_classifier(m, train, val, epochs, batch_size, patience, seed, progress)  # noqa: E731
    else:
        model = mnist_autoencoder().to(train[0].device)
        code = (MnistEncoder, MnistDecoder, Autoencoder, fit_autoencoder, identity, gaussian_noise, bernoulli_mask)
        fit = lambda m: fit_autoencoder(m, train[0], val[0], F.mse_loss, CORRUPTIONS[task](),  # noqa: E731
                                        epochs, batch_size, patience, checkpoint_every=epochs, seed=seed,
                                        progress=progress)
    model, record, hit = load_or_train(f"labelfree-pretext-{task}", spec, model, fit, code)
    record = {k: v for k, v in record.items() if k != "checkpoints"}
    return model.eval(), record, hit


def subtrain_indices(labels: torch.Tensor, size: int = 1000) -> torch.Tensor:
    """The public code's explained training examples: the first size/10 images of each class, interleaved
    by class (n-th index: the (n // 10)-th image of class n % 10)."""
    per_class = [torch.nonzero(labels == c)[:, 0] for c in range(10)]
    return torch.stack([per_class[n % 10][n // 10] for n in range(size)])


def saliency(encoder, x, gs_samples: int = 5, seed: int = 0) -> torch.Tensor:
    """|label-free GradientShap| (zero baseline) of the images ``x``, shaped like ``x``; ``seed`` fixes
    GradientShap's random path points."""
    return feature_importance(encoder, x, "gradient_shap", n_samples=gs_samples, seed=seed).abs()


@torch.no_grad()
def dknn_scores(encoder, test_x, sub_x, scale: float = 1.0) -> torch.Tensor:
    """DKNN scores (test × explained training examples) of images multiplied by ``scale``.

    ``scale`` 255 reproduces the public code, which gave DKNN raw 0–255 pixels.
    """
    return dknn(representations(encoder, sub_x * scale), representations(encoder, test_x * scale))


def pcc_matrix(arrays) -> np.ndarray:
    """Pearson correlation between each pair of arrays, each flattened into one vector (float64)."""
    return np.corrcoef(np.stack([np.asarray(a.detach().cpu() if hasattr(a, "detach") else a,
                                            dtype=np.float64).ravel() for a in arrays]))


def pair_values(matrices: list[np.ndarray], tasks) -> dict[str, list[float]]:
    """{"R-D": [per-run values], ...} for every pair of tasks (lower triangle, in the order of ``tasks``)."""
    return {f"{a}-{b}": [float(m[i, j]) for m in matrices]
            for i, a in enumerate(tasks) for j, b in enumerate(tasks) if i < j}
