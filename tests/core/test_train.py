"""lib.core.train.EarlyStopping on a known sequence of validation losses."""
from __future__ import annotations

import torch
from torch import nn

from lib.core.train import EarlyStopping


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
