"""The yardstick of every benchmark here: a float32 matmul, timed in the same run as the steps it judges, so
that a step's GFLOP/s reads as a share of what these cores reach on dense arithmetic."""
from __future__ import annotations

import torch


def matmul(device, n: int = 1024):
    """A (n x n) @ (n x n) float32 product on ``device`` and its FLOPs."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return (lambda: a @ b), 2 * n ** 3
