"""Fixtures shared by the CGN tests: a small synthetic MNIST, tiny stand-in data for the trainers and a
step counter that can interrupt training."""
from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.cgn import variants
from lib.core.cache import CorruptCacheWarning

N_DIGITS = 300
REAL_DATA = os.environ.get("REPRO_DATA", "")  # read before a test points $REPRO_DATA at the synthetic MNIST


def write_mnist(root: Path, n: int = N_DIGITS) -> None:
    """Synthetic digits (a filled square whose height depends on the label) as gzip IDX files."""
    rng = np.random.default_rng(0)
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for images_stem, labels_stem in (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                     ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        for i, k in enumerate(labels):
            images[i, 6:12 + k, 8:20] = 255
        for stem, array in ((images_stem, images), (labels_stem, labels)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
            (folder / (stem + ".gz")).write_bytes(gzip.compress(header + array.tobytes()))


@pytest.fixture
def mnist_root(tmp_path, monkeypatch) -> Path:
    """A data root with the synthetic MNIST, also set as ``$REPRO_DATA`` (the loaders' default)."""
    root = tmp_path / "data"
    write_mnist(root)
    monkeypatch.setenv("REPRO_DATA", str(root))
    variants._cached_uint8.cache_clear()
    yield root
    variants._cached_uint8.cache_clear()


@pytest.fixture
def mnist_with_textures(mnist_root) -> Path:
    """The synthetic MNIST root with the real texture images (wildlife MNIST); skipped without them."""
    real = Path(REAL_DATA) / "textures"
    if not (real / "object").is_dir():
        pytest.skip("REPRO_DATA has no textures/ folder")
    (mnist_root / "textures").symlink_to(real.resolve())
    return mnist_root


@pytest.fixture
def tiny_variant() -> tuple[torch.Tensor, torch.Tensor]:
    """A stand-in for a variant's training split: 40 random images in [0, 1], labels 0..9."""
    gen = torch.Generator().manual_seed(0)
    return torch.rand(40, 3, 32, 32, generator=gen), torch.arange(40) % 10


@pytest.fixture
def colour_coded():
    """``make(n)``: noisy images whose class is told by the colour of a large square (linearly separable)."""
    palette = torch.tensor([[0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1],
                            [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])

    def make(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % 10
        images = 0.1 * torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
        images[:, :, 4:28, 4:28] += palette[labels][:, :, None, None]
        return images.clamp(0, 1), labels

    return make


@pytest.fixture
def count_calls(monkeypatch):
    """``count(owner, name, fail_at=None)`` wraps ``owner.name`` to count its calls and raise
    KeyboardInterrupt at call number ``fail_at``; returns the counter ``{"n", "fail_at"}`` (update it to
    count on)."""
    def count(owner, name: str, fail_at: int | None = None) -> dict:
        calls, original = {"n": 0, "fail_at": fail_at}, getattr(owner, name)

        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == calls["fail_at"]:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)
        return calls

    return count


@pytest.fixture(params=["truncated", "planted code"])
def corrupted(request, plant_code):
    """``corrupted(checkpoint, train)`` damages a checkpoint (truncates it, or replaces it by a file that runs
    code when loaded unsafely), calls ``train()`` and checks that it warned, moved the file aside and never
    ran the planted code; returns what ``train`` returned."""
    def run(checkpoint: Path, train):
        if request.param == "planted code":
            marker = plant_code(checkpoint)
        else:
            marker = checkpoint.with_name("no-code-ran")
            checkpoint.write_bytes(checkpoint.read_bytes()[:64])
        with pytest.warns(CorruptCacheWarning, match=re.escape(str(checkpoint))):
            result = train()
        assert not marker.exists()
        assert len(list(checkpoint.parent.glob(f"{checkpoint.name}.corrupt-*"))) == 1
        return result

    return run
