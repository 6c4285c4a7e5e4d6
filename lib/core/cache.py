"""A model cache keyed by a hash of everything that fixes the weights.

The key (``cache_key``) covers exactly: the caller's spec (architecture, data fingerprint,
hyperparameters, seed: whatever the caller puts in it, serialised as sorted JSON, non-JSON values by
``str``), the source code of the classes, functions and modules passed as ``code``, and torch's
major.minor release (``2.14`` for ``2.14.1+cu130``: a patch release or another build of the same
release, CPU or CUDA, shares the entries). Editing the model or its training loop, or moving to another
torch release, invalidates the entry instead of silently reusing stale weights. The device is not in
the key unless the caller puts it in the spec.

Every file is read with ``torch.load(weights_only=True)``, which accepts tensors and plain containers
(dicts, lists, tuples, str, int, float, bool, None) and refuses anything else instead of running its
code. A file that cannot be read is reported, moved aside and rebuilt (``load_stored``).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

ENV_VAR = "REPRO_CACHE"
WEIGHTS_VAR = "REPRO_WEIGHTS"
_REPO = Path(__file__).resolve().parents[2]


class CorruptCacheWarning(UserWarning):
    """A cache file or checkpoint could not be read; it was moved aside and is rebuilt."""


def cache_dir() -> Path:
    """``$REPRO_CACHE``, else ``.cache/models`` at the project root."""
    return Path(os.environ.get(ENV_VAR, _REPO / ".cache" / "models"))


def weights_dir() -> Path:
    """``$REPRO_WEIGHTS``, else ``weights`` at the project root: trained models kept in the repository, one
    folder per paper (``lib.core.stored``)."""
    return Path(os.environ.get(WEIGHTS_VAR, _REPO / "weights"))


def load_published(entry: str, model: torch.nn.Module) -> dict | None:
    """Fill ``model`` (float32, on its device) from the published file ``<entry>.pt`` in any paper's folder
    of ``weights_dir()`` and return its training history with the cache's types (curves as lists); None when
    none is published."""
    found = sorted(weights_dir().glob(f"*/{entry}.pt"))
    if not found:
        return None
    stored = load_stored(found[0], ("state", "meta"), map_location=next(model.parameters()).device)
    if stored is None:
        return None
    model.load_state_dict(stored["state"])  # copy_ casts half to the model's float32
    return {name: value.tolist() if torch.is_tensor(value) else value for name, value in stored["meta"].items()}


def fingerprint(tensor: torch.Tensor) -> str:
    """A short hash of a tensor's contents (identifies a data subset)."""
    data = tensor.detach().cpu().contiguous()
    return hashlib.sha256(data.numpy().tobytes() + str(tuple(data.shape)).encode()).hexdigest()[:16]


def torch_release() -> str:
    """torch's major.minor release, the part of its version that enters the cache key."""
    return ".".join(str(torch.__version__).split("+")[0].split(".")[:2])


def cache_key(spec: dict, code=()) -> str:
    """Hash of ``spec`` (JSON-able), of the source of each object in ``code`` and of ``torch_release()``."""
    sources = [inspect.getsource(obj) for obj in code]
    blob = json.dumps({"spec": spec, "code": sources, "torch": torch_release()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def storable(obj):
    """``obj`` with NumPy arrays and scalars turned into lists and Python numbers, through nested dicts,
    lists and tuples, so that ``torch.load(weights_only=True)`` accepts it."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {key: storable(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [storable(value) for value in obj]
    if isinstance(obj, tuple):
        return tuple(storable(value) for value in obj)
    return obj


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file.

    The temporary file is read back with ``weights_only=True`` first, so nothing is stored that a later
    load would refuse (a TypeError names the path and what was refused).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
        try:
            torch.load(tmp, map_location="cpu", weights_only=True)
        except Exception as err:
            raise TypeError(f"{path} would not load with weights_only=True (store tensors and plain "
                            f"containers only): {err}") from err
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_stored(path: Path, keys=(), map_location=None) -> dict | None:
    """The dict stored at ``path``, read with ``weights_only=True``; None when there is no file.

    A file that cannot be read (truncated, garbage, refused by ``weights_only``) or is not a dict with all
    of ``keys`` is corrupt: a ``CorruptCacheWarning`` names it and the error, it is renamed to
    ``<name>.corrupt-<timestamp>`` in its folder (kept for inspection, never read again) and None is
    returned, so the caller rebuilds it as on a miss.
    """
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location=map_location, weights_only=True)
        missing = [key for key in keys if key not in stored] if isinstance(stored, dict) else ["(not a dict)"]
        if missing:
            raise ValueError(f"missing entries {missing}")
    except Exception as err:
        aside = path.with_name(f"{path.name}.corrupt-{datetime.now():%Y%m%dT%H%M%S.%f}")
        try:
            os.replace(path, aside)
            where = f"moved to {aside}"
        except OSError as move_error:  # e.g. another process moved or replaced it meanwhile
            where = f"not moved ({move_error})"
        warnings.warn(f"corrupt cache file {path} ({type(err).__name__}: {err}); {where}; rebuilding it",
                      CorruptCacheWarning, stacklevel=2)
        return None
    return stored


def load_or_train(name: str, spec: dict, model: torch.nn.Module, train, code=(), use_cache: bool = True):
    """Load ``model``'s weights for ``spec`` from the repository's published weights or the cache, or call
    ``train(model) -> meta`` and store them in the cache.

    Returns ``(model, meta, hit)``; ``meta`` is whatever ``train`` returned (loss curves, wall time), with
    NumPy values made plain (``storable``) so that a hit returns the same types as a miss. A corrupt
    entry is moved aside and the model retrained (``load_stored``).
    """
    key = cache_key(spec, code)
    published = load_published(f"{name}-{key}", model) if use_cache else None
    if published is not None:
        return model, published, True
    path = cache_dir() / f"{name}-{key}.pt"
    device = next(model.parameters()).device
    stored = load_stored(path, ("state", "meta"), map_location=device) if use_cache else None
    if stored is not None:
        model.load_state_dict(stored["state"])
        return model, stored["meta"], True
    meta = storable(train(model))
    if use_cache:
        # The spec as the key saw it (non-JSON values as strings): plain types only.
        plain_spec = json.loads(json.dumps(spec, default=str))
        atomic_save({"state": model.state_dict(), "meta": meta, "spec": plain_spec}, path)
    return model, meta, False
