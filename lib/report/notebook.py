"""The first call of every claim notebook: figure style, device and the verdict log, in one line."""
from __future__ import annotations

import torch

from lib.core.device import device_name, pick_device

from . import style
from .claims import Claim
from .verdict import VerdictLog


def start(claim: Claim, notebook: str, profile: str, seeds, device: str = "auto", settings: dict | None = None,
          budget: float | None = None, budget_text: str = "") -> tuple[torch.device, VerdictLog]:
    """Apply the report's figure style, pick the device and open the verdict log of ``claim`` (from the
    paper's claims registry, whose criteria judge every checked metric).

    ``notebook`` is the notebook's name (``gce_headline``): its regression baseline is looked up by it.
    ``budget`` is the run's training budget as a fraction of the paper's, ``budget_text`` what it counts."""
    if not isinstance(claim, Claim):
        raise TypeError(f"start() takes a Claim from lib/<paper>/claims.py, not {type(claim).__name__}")
    style.apply()
    dev = pick_device(device)
    return dev, VerdictLog(claim, notebook, profile, seeds, device_name(dev), settings or {},
                           budget=budget, budget_text=budget_text)
