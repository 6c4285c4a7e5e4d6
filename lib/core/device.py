"""Where tensors live: the device a run picks and the name it is reported by."""
from __future__ import annotations

import os
import platform

import torch


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available. On CUDA, TF32 matrix products are allowed (speed)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return device


def device_name(device: torch.device) -> str:
    """Human-readable name of the device a result was computed on."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads of {os.cpu_count()} cores)"
