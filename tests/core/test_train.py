"""lib.core.train: the one training loop (curves, epochs, early stopping, checkpoint and resume), the
classifier trainer written on it, and EarlyStopping on a known sequence of validation losses."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lib.core.train import EarlyStopping, accuracy, shuffled_batches, train_classifier, train_loop


class Regression:
    """A linear model fitted to y = 2x + 1 by SGD on batches drawn from a generator and torch's global
    random stream (both must be restored on resume); ``step`` fails once at step ``fail_at``."""

    def __init__(self, fail_at: int | None = None):
        torch.manual_seed(0)
        self.model = nn.Linear(1, 1)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.gen = torch.Generator().manual_seed(1)
        self.x = torch.linspace(-1, 1, 64)[:, None]
        self.fail_at = fail_at

    def step(self, i):
        if i == self.fail_at:
            self.fail_at = None
            raise KeyboardInterrupt
        idx = torch.randint(64, (8,), generator=self.gen)
        x = self.x[idx] + 0.01 * torch.randn(8, 1)  # global stream
        loss = F.mse_loss(self.model(x), 2 * x + 1)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach(), "weight": self.model.weight.detach()[0, 0]}

    def run(self, steps, **kwargs):
        return train_loop(self.step, steps, resumable={"model": self.model, "opt": self.opt},
                          generators=[self.gen], progress=False, **kwargs)


def test_loop_records_one_value_per_step_and_learns():
    history = Regression().run(200)
    assert history["steps"] == 200 and len(history["loss"]) == 200 and len(history["weight"]) == 200
    assert history["seconds"] > 0
    assert history["loss"][-1] < 1e-3 < history["loss"][0]
    assert history["weight"][-1] == pytest.approx(2.0, abs=0.05)


def test_on_epoch_runs_at_each_epoch_end_and_can_stop_training():
    seen = []

    def on_epoch(epoch, history):
        seen.append((epoch, len(history["loss"])))  # the epoch's curves are already in the history
        history.setdefault("epoch_mark", []).append(epoch)
        return epoch == 2

    history = Regression().run(100, epoch_steps=10, on_epoch=on_epoch)
    assert seen == [(0, 10), (1, 20), (2, 30)]
    assert history["steps"] == 30 and len(history["loss"]) == 30 and history["epoch_mark"] == [0, 1, 2]


def test_an_interrupted_run_resumes_from_its_checkpoint_exactly(tmp_path):
    whole = Regression()
    expected = whole.run(25)
    checkpoint = tmp_path / "run.ckpt"
    interrupted = Regression(fail_at=17)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(25, checkpoint=checkpoint, checkpoint_every=5)
    assert checkpoint.is_file()
    resumed = Regression()  # a new process: fresh model, optimiser and generators
    history = resumed.run(25, checkpoint=checkpoint, checkpoint_every=5)
    assert history["loss"] == expected["loss"] and history["steps"] == 25
    assert torch.equal(resumed.model.weight, whole.model.weight)
    assert torch.equal(resumed.model.bias, whole.model.bias)


def test_a_checkpoint_of_a_longer_run_is_not_resumed(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    Regression().run(20, checkpoint=checkpoint, checkpoint_every=5)
    assert Regression().run(10, checkpoint=checkpoint, checkpoint_every=5)["loss"] == Regression().run(10)["loss"]


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"steps": 5, "epoch_steps": 0}, {"steps": 5, "checkpoint_every": 0}])
def test_loop_refuses_non_positive_counts(kwargs):
    with pytest.raises(ValueError):
        train_loop(lambda i: {}, progress=False, **kwargs)


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (4, 8)])
def test_shuffled_batches_draw_one_permutation_per_epoch(n, batch_size):
    # the batches of the per-epoch loops they replaced: randperm(n).split(batch_size), epoch after epoch
    steps, batch = shuffled_batches(n, batch_size, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    expected = [idx for _ in range(3) for idx in torch.randperm(n, generator=gen).split(batch_size)]
    assert steps == len(expected) // 3
    assert all(torch.equal(batch(i), idx) for i, idx in enumerate(expected))


class Brightness(nn.Module):
    """Tells bright from dark images by their mean pixel: a classifier with a known solution."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 2)

    def logits(self, x):
        return self.linear(x.mean((1, 2, 3))[:, None] * 4 - 2)

    forward = logits


def test_train_classifier_separates_bright_from_dark_with_the_paper_schedule():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (512,), generator=gen)
    images = torch.where(labels[:, None, None, None] == 0, 0.7, 0.0) + 0.3 * torch.rand(512, 1, 4, 4, generator=gen)
    torch.manual_seed(0)
    model = Brightness()
    history = train_classifier(model, images[:256], labels[:256], epochs=3, seed=0, progress=False)
    assert len(history["loss"]) == 3 * (256 // 64) == history["steps"]
    assert history["loss"][-1] < history["loss"][0] and not model.training
    assert accuracy(model, images[256:], labels[256:]) > 0.95


def test_stops_after_patience_and_restores_the_best_weights():
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2)
    stops = []
    for epoch, loss in enumerate([3.0, 2.0, 2.5, 2.6, 1.0]):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # the weights tell which epoch they come from
        stops.append(stopper.step(loss, model, epoch))
        if stops[-1]:
            break
    assert stops == [False, False, False, True]  # two epochs without improvement after epoch 2
    assert stopper.best == 2.0 and stopper.best_epoch == 2
    stopper.restore(model)
    assert model.weight.item() == 1.0 and not model.training
