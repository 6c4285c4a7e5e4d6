"""lib.core.device: the device a run asks for and the name it is reported by."""
from __future__ import annotations

import os

import torch

from lib.core.device import device_name, pick_device


def test_cpu_is_picked_when_asked_and_auto_follows_cuda():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cpu_name_says_threads_and_cores():
    name = device_name(torch.device("cpu"))
    assert name.startswith("CPU (") and f"{torch.get_num_threads()} threads of {os.cpu_count()} cores" in name
