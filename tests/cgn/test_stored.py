"""Trained generators kept in the repository: fit_cgn and fit_gan load a published entry before the cache and
train again when a setting differs (the storing itself: tests/core/test_stored.py)."""
from __future__ import annotations

import pytest
import torch

from lib.cgn import gan
from lib.cgn import training as T
from lib.core import stored

FITS = {"cgn": lambda data: T.fit_cgn("colored", *data, steps=3, seed=2, ngf=4, batch_size=4, progress=False),
        "cgn-gan": lambda data: gan.fit_gan(*data, steps=3, seed=2, progress=False)}


@pytest.mark.slow
@pytest.mark.parametrize("name", FITS)
def test_published_entry_is_loaded_before_the_cache(name, tiny_variant, isolated_cache, tmp_path, monkeypatch):
    trained = FITS[name](tiny_variant)
    cache_file, = isolated_cache.glob(f"{name}-*.pt")
    stored.publish("cgn", cache_file, "a tiny test model")
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
    stored.publish("cgn", next(isolated_cache.glob("cgn-*.pt")))
    other = T.fit_cgn("colored", *tiny_variant, steps=3, seed=3, ngf=4, batch_size=4, progress=False)
    assert not other.cached
