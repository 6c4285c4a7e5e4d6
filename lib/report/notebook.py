"""The first call of every claim notebook: figure style, device and the verdict log, in one line."""
from __future__ import annotations

import torch

from lib.core.device import device_name, pick_device

from . import style
from .verdict import VerdictLog


def start(claim: str, notebook: str, profile: str, seeds, device: str = "auto",
          settings: dict | None = None) -> tuple[torch.device, VerdictLog]:
    """Apply the report's figure style, pick the device and open the claim's verdict log.

    ``notebook`` is the notebook's name (``gce_headline``): its regression baseline is looked up by it."""
    style.apply()
    dev = pick_device(device)
    return dev, VerdictLog(claim, notebook, profile, seeds, device_name(dev), settings or {})
