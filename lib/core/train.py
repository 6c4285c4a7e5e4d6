"""Seeding, accuracy, early stopping and the training loop."""
from __future__ import annotations

import contextlib
import copy
import random
import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cache import atomic_save, load_stored


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


class Fit(NamedTuple):
    """What every cached trainer (``fit_<thing>``) returns: the model in eval mode, its training history
    (``train_loop``'s curves, wall time and whatever the trainer added) and whether it came from the cache."""
    model: torch.nn.Module
    history: dict
    cached: bool


def _flush(history: dict, pending: list[dict]) -> None:
    """Move buffered per-step losses (device tensors) into the history's lists: one transfer, not one per step."""
    if pending:
        names = list(pending[0])
        values = torch.stack([torch.stack([p[n] for n in names]) for p in pending]).cpu().T.tolist()
        for name, column in zip(names, values):
            history.setdefault(name, []).extend(column)
        pending.clear()


def train_loop(step, steps: int, *, epoch_steps: int | None = None, on_epoch=None, checkpoint=None,
               resumable: dict | None = None, generators=(), checkpoint_every: int = 500, desc: str = "train",
               progress: bool = True) -> dict:
    """The one training loop of the library: calls ``step(i)`` for the optimiser updates i = 0 … steps − 1.

    ``step`` does one update and returns its losses as a dict of scalar tensors; they become the history's
    per-step curves (moved off the device once per epoch or checkpoint, not every step). Every
    ``epoch_steps`` steps ``on_epoch(epoch, history)`` runs (validation, learning-rate schedules, early
    stopping: it may add per-epoch curves to ``history``) and a True return ends training. With a
    ``checkpoint`` path, the ``resumable`` objects (modules, optimisers: anything with ``state_dict``), the
    random ``generators``, torch's global random state and the history are written atomically every
    ``checkpoint_every`` steps and at the end, and a later call resumes from there, so an interrupted run
    continues exactly. Returns the history with ``seconds`` (wall time) and ``steps`` (updates done).
    """
    if steps < 1 or (epoch_steps is not None and epoch_steps < 1) or checkpoint_every < 1:
        raise ValueError("steps, epoch_steps and checkpoint_every must be positive")
    resumable = resumable or {}
    history, start, seconds = {}, 0, 0.0
    if checkpoint is not None:
        state = load_stored(checkpoint, ("states", "generators", "rng", "cuda_rng", "history", "step", "seconds"),
                            map_location="cpu")  # RNG states must be CPU tensors; load_state_dict moves the rest
        if state is not None and state["step"] <= steps:
            for name, obj in resumable.items():
                obj.load_state_dict(state["states"][name])
            for gen, gen_state in zip(generators, state["generators"]):
                gen.set_state(gen_state)
            torch.set_rng_state(state["rng"])
            if state["cuda_rng"] is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state(state["cuda_rng"])
            history, start, seconds = state["history"], state["step"], state["seconds"]

    def save(done: int) -> None:
        atomic_save({"states": {name: obj.state_dict() for name, obj in resumable.items()},
                     "generators": [gen.get_state() for gen in generators], "rng": torch.get_rng_state(),
                     "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None,
                     "history": history, "step": done, "seconds": seconds + time.perf_counter() - begin},
                    checkpoint)

    begin, pending, done = time.perf_counter(), [], start
    with tqdm(total=steps, initial=start, desc=desc, disable=not progress, mininterval=2) as bar:
        for i in range(start, steps):
            pending.append(step(i))
            done = i + 1
            bar.update()
            end_of_epoch = epoch_steps is not None and done % epoch_steps == 0
            if end_of_epoch or (checkpoint is not None and done % checkpoint_every == 0):
                _flush(history, pending)
            if checkpoint is not None and done % checkpoint_every == 0:
                save(done)
            if end_of_epoch and on_epoch is not None and on_epoch(done // epoch_steps - 1, history):
                break
    _flush(history, pending)
    if checkpoint is not None and done % checkpoint_every != 0:
        save(done)
    return {**history, "seconds": seconds + time.perf_counter() - begin, "steps": done}


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator):
    """(steps per epoch, ``batch(i)``): the indices of step i's batch, from a permutation of range(n) drawn
    from ``generator`` at the first step of each epoch (the draws of the per-epoch loops it replaced)."""
    steps = -(-n // batch_size)
    order = None

    def batch(i: int) -> torch.Tensor:
        nonlocal order
        if i % steps == 0:
            order = torch.randperm(n, device=generator.device, generator=generator)
        start = i % steps * batch_size
        return order[start:start + batch_size]

    return steps, batch


def train_classifier(model, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int = 64,
                     lr: float = 0.1, momentum: float = 0.5, gamma: float = 0.7, seed: int = 0,
                     steps_per_epoch: int | None = None, progress: bool = True) -> dict:
    """Cross-entropy with SGD and momentum and a per-epoch StepLR decay, as in the GCE code; returns
    ``train_loop``'s history (per-step ``loss``).

    An epoch is ``steps_per_epoch`` optimizer steps (default: one pass over ``x``). On a reduced
    training set, passing the step count of one epoch of the full set keeps the paper's schedule.
    """
    steps_per_epoch = steps_per_epoch or -(-len(x) // batch_size)
    if epochs < 1 or batch_size < 1 or steps_per_epoch < 1:
        raise ValueError("epochs, batch_size and steps_per_epoch must be positive")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=gamma)
    # Batches walk through reshuffled passes over x, independently of where epochs end.
    order = torch.cat([torch.randperm(len(x), device=x.device, generator=gen)
                       for _ in range(-(-epochs * steps_per_epoch * batch_size // len(x)))])

    def step(i):
        idx = order[i * batch_size:(i + 1) * batch_size]
        loss = F.cross_entropy(model.logits(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    model.train()
    history = train_loop(step, epochs * steps_per_epoch, epoch_steps=steps_per_epoch,
                         on_epoch=lambda epoch, history: sched.step(), desc="classifier", progress=progress)
    model.eval()
    return history


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
