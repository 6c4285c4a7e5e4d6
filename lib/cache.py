"""A model cache keyed by a hash of everything that fixes the weights.

The key covers the caller's spec (architecture, data fingerprint, hyperparameters, seed) and the
source code of the classes and functions that build and train the model, so editing the model or its
training loop invalidates the entry instead of silently reusing stale weights.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from pathlib import Path

import torch

ENV_VAR = "REPRO_CACHE"
_REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """``$REPRO_CACHE``, else ``.cache/models`` at the project root."""
    return Path(os.environ.get(ENV_VAR, _REPO / ".cache" / "models"))


def fingerprint(tensor: torch.Tensor) -> str:
    """A short hash of a tensor's contents (identifies a data subset)."""
    data = tensor.detach().cpu().contiguous()
    return hashlib.sha256(data.numpy().tobytes() + str(tuple(data.shape)).encode()).hexdigest()[:16]


def cache_key(spec: dict, code=()) -> str:
    """Hash of ``spec`` (JSON-able) and of the source of each object in ``code``."""
    sources = [inspect.getsource(obj) for obj in code]
    blob = json.dumps({"spec": spec, "code": sources}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_train(name: str, spec: dict, model: torch.nn.Module, train, code=(), use_cache: bool = True):
    """Load ``model``'s weights for ``spec`` from the cache, or call ``train(model) -> meta`` and store them.

    Returns ``(model, meta, hit)``; ``meta`` is whatever ``train`` returned (loss curves, wall time).
    """
    key = cache_key(spec, code)
    path = cache_dir() / f"{name}-{key}.pt"
    device = next(model.parameters()).device
    if use_cache and path.is_file():
        stored = torch.load(path, map_location=device, weights_only=False)
        model.load_state_dict(stored["state"])
        return model, stored["meta"], True
    meta = train(model)
    if use_cache:
        atomic_save({"state": model.state_dict(), "meta": meta, "spec": spec}, path)
    return model, meta, False
