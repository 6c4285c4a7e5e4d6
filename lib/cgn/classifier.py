"""The invariant classifier of the CGN paper's MNIST experiments and its training (Adadelta, StepLR)."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import accuracy, seed_everything
from lib.core.device import pick_device

# The original code's schedule: Adadelta with lr 1.0, the rate times 0.7 after every epoch, batch 64.
PAPER_SCHEDULE = {"epochs": 10, "batch_size": 64, "lr": 1.0, "gamma": 0.7}


class InvariantClassifier(nn.Module):
    """BN → Conv5×5(32) → ReLU → MaxPool(3, s2) → Conv(32) → ReLU → Conv s2(64) → ReLU → Conv(64) → ReLU
    → AvgPool(7) → Linear(10), on 3 × 32 × 32 images; ``forward`` returns logits.

    As in the original, the 7 × 7 average pool on the 8 × 8 map of the last convolution reads its top-left
    7 × 7 corner only. ReLUs are not in-place so that hooks on ``last_conv`` (Grad-CAM) see its output.
    """

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.last_conv = nn.Conv2d(64, 64, 3, padding=1)
        self.features = nn.Sequential(
            nn.BatchNorm2d(3),
            nn.Conv2d(3, 32, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            self.last_conv, nn.ReLU(),
            nn.AvgPool2d(7), nn.Flatten(),
        )
        self.head = nn.Linear(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int = 64, lr: float = 1.0,
        gamma: float = 0.7, seed: int = 0, progress: bool = True) -> dict:
    """Adadelta on shuffled mini-batches of ``(x, y)`` (already on the model's device), lr × gamma per epoch."""
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be positive")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.Adadelta(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=gamma)
    steps = -(-len(x) // batch_size)
    losses = []
    start = time.perf_counter()
    model.train()
    with tqdm(total=epochs * steps, desc="invariant classifier", disable=not progress, mininterval=2) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(x), device=x.device, generator=gen)
            for idx in order.split(batch_size):
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
                bar.update()
            sched.step()
    model.eval()
    return {"loss": torch.stack(losses).cpu().tolist(), "seconds": time.perf_counter() - start}


def train_invariant_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 10, seed: int = 0,
                               device="auto", progress: bool = True, batch_size: int = 64,
                               use_cache: bool = True) -> tuple[InvariantClassifier, dict]:
    """Train (or load from the model cache) an invariant classifier on ``images`` (N, 3, 32, 32) in [0, 1].

    Returns ``(model, meta)``; ``meta`` holds the loss curve, wall time and whether the cache was hit.
    """
    dev = pick_device(device)
    seed_everything(seed)
    model = InvariantClassifier().to(dev)
    x, y = images.to(dev, torch.float32), labels.to(dev, torch.long)
    spec = {"model": "cgn-invariant-classifier", "data": fingerprint(images), "labels": fingerprint(labels),
            **PAPER_SCHEDULE, "epochs": epochs, "batch_size": batch_size, "seed": seed}
    model, meta, hit = load_or_train(
        "cgn-classifier", spec, model,
        lambda m: fit(m, x, y, epochs, batch_size, PAPER_SCHEDULE["lr"], PAPER_SCHEDULE["gamma"], seed, progress),
        code=(InvariantClassifier, fit), use_cache=use_cache)
    model.eval()
    return model, {**meta, "cache_hit": hit}


def evaluate(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
             test: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Train and test accuracy (fractions) of ``model``; the data are moved to its device."""
    dev = next(model.parameters()).device
    return {name: accuracy(model, x.to(dev, torch.float32), y.to(dev)) for name, (x, y) in
            (("train", train), ("test", test))}
