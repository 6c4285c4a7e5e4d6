"""Trained generators kept in the repository: publishing a cache entry in half precision, loading it before
the cache, and the repository's manifest against its files."""
from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch

from lib.cgn import gan, stored
from lib.cgn import training as T

FITS = {"cgn": lambda data: T.fit_cgn("colored", *data, steps=3, seed=2, ngf=4, batch_size=4, progress=False),
        "cgn-gan": lambda data: gan.fit_gan(*data, steps=3, seed=2, progress=False)}


@pytest.mark.slow
@pytest.mark.parametrize("name", FITS)
def test_published_entry_is_loaded_before_the_cache(name, tiny_variant, isolated_cache, tmp_path, monkeypatch):
    trained = FITS[name](tiny_variant)
    cache_file, = isolated_cache.glob(f"{name}-*.pt")
    record = stored.publish(cache_file, "a tiny test model")
    published = stored.weights_dir() / cache_file.name
    assert record["sha256"] == hashlib.sha256(published.read_bytes()).hexdigest()
    assert record["steps"] == 3 and record["spec"]["seed"] == 2 and record["what"] == "a tiny test model"
    assert json.loads((stored.weights_dir() / stored.MANIFEST).read_text()) == {cache_file.name: record}
    kept = torch.load(published, weights_only=True)["state"]
    assert {t.dtype for t in kept.values() if t.is_floating_point()} == {torch.float16}

    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "empty"))  # nothing to load but the published file
    loaded = FITS[name](tiny_variant)
    assert loaded.cached and not (tmp_path / "empty").exists()
    for (key, a), b in zip(trained.model.state_dict().items(), loaded.model.state_dict().values()):
        assert b.dtype == a.dtype and torch.equal(a.half().to(a.dtype) if a.is_floating_point() else a, b), key
    for key, curve in trained.history.items():
        if isinstance(curve, list) and curve and isinstance(curve[0], float):
            assert loaded.history[key] == pytest.approx(curve, rel=1e-6, nan_ok=True), key
        else:
            assert loaded.history[key] == curve, key


@pytest.mark.slow
def test_a_changed_setting_is_not_served_by_a_published_entry(tiny_variant, isolated_cache):
    FITS["cgn"](tiny_variant)
    stored.publish(next(isolated_cache.glob("cgn-*.pt")))
    other = T.fit_cgn("colored", *tiny_variant, steps=3, seed=3, ngf=4, batch_size=4, progress=False)
    assert not other.cached


def test_the_repositorys_manifest_lists_exactly_its_files_with_their_hashes():
    folder = stored._REPO / "weights" / "cgn"
    files = sorted(p.name for p in folder.glob("*.pt")) if folder.is_dir() else []
    manifest = json.loads((folder / stored.MANIFEST).read_text()) if files else {}
    assert sorted(manifest) == files
    for name, record in manifest.items():
        data = (folder / name).read_bytes()
        assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["bytes"] == len(data), name
        assert math.isfinite(record["training seconds"]) and record["steps"] == record["spec"]["steps"], name
