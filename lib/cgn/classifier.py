"""The invariant classifier of the CGN paper's MNIST experiments, its training (Adadelta, StepLR) and its
accuracies."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import Fit, accuracy, seed_everything, shuffled_batches, train_loop

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


def train_invariant_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                               batch_size: int = 64, lr: float = 1.0, gamma: float = 0.7, seed: int = 0,
                               progress: bool = True) -> dict:
    """Adadelta on mini-batches of ``(x, y)`` (on the model's device), reshuffled every epoch with a generator
    seeded by ``seed``, lr × gamma per epoch; returns the per-step "loss" curve."""
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be positive")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.Adadelta(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=gamma)
    epoch_steps, batch = shuffled_batches(len(x), batch_size, gen)
    model.train()

    def step(i):
        idx = batch(i)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    history = train_loop(step, epochs * epoch_steps, epoch_steps=epoch_steps,
                         on_epoch=lambda epoch, history: sched.step(), desc="invariant classifier", progress=progress)
    model.eval()
    return history


def fit_invariant_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 10, seed: int = 0,
                             batch_size: int = 64, progress: bool = True, use_cache: bool = True) -> Fit:
    """An invariant classifier trained on ``images`` (N, 3, 32, 32) in [0, 1] and ``labels`` (on the device to
    train on) with the original schedule, or loaded from the model cache."""
    seed_everything(seed)
    model = InvariantClassifier().to(images.device)
    x, y = images.float(), labels.long()
    spec = {"model": "cgn-invariant-classifier", "data": fingerprint(images), "labels": fingerprint(labels),
            **PAPER_SCHEDULE, "epochs": epochs, "batch_size": batch_size, "seed": seed}
    model, history, hit = load_or_train(
        "cgn-classifier", spec, model,
        lambda m: train_invariant_classifier(m, x, y, epochs=epochs, batch_size=batch_size, lr=PAPER_SCHEDULE["lr"],
                                             gamma=PAPER_SCHEDULE["gamma"], seed=seed, progress=progress),
        code=(InvariantClassifier, train_invariant_classifier, shuffled_batches, train_loop), use_cache=use_cache)
    return Fit(model.eval(), history, hit)


def evaluate(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
             test: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Train and test accuracy (fractions) of ``model``; the data are moved to its device."""
    dev = next(model.parameters()).device
    return {name: accuracy(model, x.to(dev, torch.float32), y.to(dev)) for name, (x, y) in
            (("train", train), ("test", test))}
