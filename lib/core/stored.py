"""Trained models kept in the repository (``weights/<paper>/``), so that readers, later runs and the book's
pages load them instead of training for hours.

A stored file is a model cache entry (``lib.core.cache``) with its floating-point tensors rounded once to half
precision (loading gives float32 again; ``--full-precision`` keeps them, for a model whose weights other cache
keys fingerprint, such as a GCE classifier) and its loss curves as float32 tensors; its name is the cache entry's,
so it carries the cache key (spec, training code and torch release). ``load_or_train`` looks there before the
cache: a stored file serves exactly the settings and code that trained it. Each paper's ``manifest.json`` says
per file what it holds (the spec), the training steps and seconds, the machine it was published on (the one
that trained it: a cache entry stays on its machine), the commit it was published from and the file's SHA-256.

Publish a finished cache entry: ``python -m lib.core.stored PAPER .cache/models/<name>-<key>.pt --what "..."``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from .cache import atomic_save, load_stored, weights_dir

_REPO = Path(__file__).resolve().parents[2]
MANIFEST = "manifest.json"


def _curves_as_tensors(meta: dict) -> dict:
    return {name: torch.tensor(value, dtype=torch.float32)
            if isinstance(value, list) and value and all(isinstance(v, float) for v in value) else value
            for name, value in meta.items()}


def _machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.is_file() else []
    return f"{names[0] if names else platform.processor()}, {len(names) or os.cpu_count()} cores"


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True).stdout.strip()


def _commit() -> str:
    return _git("rev-parse", "HEAD") + (" (uncommitted changes in lib/)" if _git("status", "--porcelain", "lib") else "")


def publish(paper: str, cache_file: Path, what: str = "", half: bool = True) -> dict:
    """Store the cache entry ``cache_file`` in half precision (``half``) in ``paper``'s folder of ``weights_dir()``
    and record it in that folder's manifest, with ``what`` in words (the spec names data by fingerprint only);
    returns its manifest entry."""
    cache_file = Path(cache_file)
    entry = load_stored(cache_file, ("state", "meta", "spec"))
    if entry is None:
        raise FileNotFoundError(f"{cache_file}: no readable cache entry")
    state = {name: t.half() if half and t.is_floating_point() else t for name, t in entry["state"].items()}
    folder = weights_dir() / paper
    target = folder / cache_file.name
    atomic_save({"state": state, "meta": _curves_as_tensors(entry["meta"])}, target)
    record = {"what": what, "spec": entry["spec"], "steps": entry["meta"].get("steps"),
              "training seconds": round(entry["meta"].get("seconds", float("nan")), 1), "machine": _machine(),
              "torch": torch.__version__, "published from commit": _commit(),
              "sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "bytes": target.stat().st_size}
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest[target.name] = record
    manifest_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=1, ensure_ascii=False) + "\n")
    return record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paper", help="the paper's folder under weights/ (cgn, gce, labelfree)")
    parser.add_argument("cache_files", nargs="+", type=Path, help="finished cache entries (<cache>/<name>-<key>.pt)")
    parser.add_argument("--what", default="", help="what the files hold, in words (e.g. the variant)")
    parser.add_argument("--full-precision", action="store_true", help="keep float32 (weights that keys fingerprint)")
    args = parser.parse_args(argv)
    for cache_file in args.cache_files:
        record = publish(args.paper, cache_file, args.what, half=not args.full_precision)
        print(f"{cache_file.name}: {record['bytes'] / 1e6:.1f} MB, {record['steps']} steps, "
              f"{record['training seconds']} s, {record['spec']}")


if __name__ == "__main__":
    main()
