"""Seeding, accuracy, early stopping and the training loop."""
from __future__ import annotations

import contextlib
import copy
import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); returns a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def global_rngs_seeded(seed: int):
    """Run a block with Python's, NumPy's and torch's global generators (CPU, and CUDA when in use) seeded
    from ``seed``, and restore their previous states afterwards.

    For library code that draws from the global generators (captum's GradientShap: NumPy for its path
    points and baseline choice, torch for its noise): its draws then follow ``seed`` alone, whatever ran
    before, and the caller's own random streams are left as they were.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    # Only CUDA devices already in use are forked and seeded: seeding an uninitialised CUDA would queue a
    # seed that outlives the block.
    cuda = torch.cuda.is_initialized()
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if cuda else []):
        random.seed(seed)
        np.random.seed(seed)
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2000) -> float:
    """Fraction of ``x`` whose arg-max class is ``y`` (model in eval mode)."""
    was_training = model.training
    model.eval()
    correct = sum((model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))
    model.train(was_training)
    return correct / len(x)


def train_classifier(model, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int = 64,
                     lr: float = 0.1, momentum: float = 0.5, gamma: float = 0.7, seed: int = 0,
                     steps_per_epoch: int | None = None, progress: bool = True) -> dict:
    """SGD with momentum and a per-epoch StepLR decay, as in the GCE code. Returns the loss curve.

    An epoch is ``steps_per_epoch`` optimizer steps (default: one pass over ``x``). On a reduced
    training set, passing the step count of one epoch of the full set keeps the paper's schedule.
    """
    steps_per_epoch = steps_per_epoch or -(-len(x) // batch_size)
    if epochs < 1 or batch_size < 1 or steps_per_epoch < 1:
        raise ValueError("epochs, batch_size and steps_per_epoch must be positive")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=gamma)
    model.train()
    losses = []
    start = time.perf_counter()
    # Batches walk through reshuffled passes over x, independently of where epochs end.
    order = torch.cat([torch.randperm(len(x), device=x.device, generator=gen)
                       for _ in range(-(-epochs * steps_per_epoch * batch_size // len(x)))])
    with tqdm(total=epochs * steps_per_epoch, desc="classifier", disable=not progress, mininterval=2) as bar:
        for step in range(epochs * steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            loss = F.cross_entropy(model.logits(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
            bar.update()
            if (step + 1) % steps_per_epoch == 0:
                sched.step()
    model.eval()
    return {"loss": torch.stack(losses).cpu().tolist(), "seconds": time.perf_counter() - start}


class EarlyStopping:
    """Keeps the weights of the epoch with the lowest validation loss and says when to stop: after
    ``patience`` epochs without improvement. ``restore`` loads the best weights back."""

    def __init__(self, patience: int):
        self.patience, self.waiting = patience, 0
        self.best, self.best_epoch, self.best_state = float("inf"), None, None

    def step(self, val_loss: float, model, epoch: int) -> bool:
        """Record epoch ``epoch`` (0-based); True when training should stop."""
        if val_loss < self.best:
            self.best, self.best_epoch, self.waiting = val_loss, epoch + 1, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.waiting += 1
        return self.waiting >= self.patience

    def restore(self, model):
        model.load_state_dict(self.best_state)
        return model.eval()
