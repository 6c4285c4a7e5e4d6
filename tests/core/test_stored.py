"""Trained models kept in the repository: publishing a cache entry in half precision into a paper's folder,
``load_or_train`` serving it before the cache, and each folder's manifest against its files."""
from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from torch import nn

from lib.core import stored
from lib.core.cache import load_or_train, weights_dir

SPEC = {"width": 3, "seed": 0}


def _fit(spec=SPEC):
    """A tiny model 'trained' by setting its weights from the seed, with a loss curve and a wall time."""
    def train(model):
        torch.manual_seed(spec["seed"])
        with torch.no_grad():
            model.weight.normal_()
        return {"loss": [0.5, 0.25, 0.125], "seconds": 2.0, "steps": 3}
    return load_or_train("tiny", spec, nn.Linear(spec["width"], 2), train)


def test_a_published_entry_is_served_before_the_cache_in_half_precision(isolated_cache):
    model, meta, hit = _fit()
    assert not hit
    cache_file, = isolated_cache.glob("tiny-*.pt")
    record = stored.publish("paper", cache_file, "a tiny test model")
    published = weights_dir() / "paper" / cache_file.name
    assert record["sha256"] == hashlib.sha256(published.read_bytes()).hexdigest()
    assert record["steps"] == 3 and record["training seconds"] == 2.0 and record["what"] == "a tiny test model"
    assert json.loads((published.parent / stored.MANIFEST).read_text()) == {cache_file.name: record}
    kept = torch.load(published, weights_only=True)["state"]
    assert {t.dtype for t in kept.values()} == {torch.float16}

    cache_file.unlink()  # nothing left to load but the published file
    loaded, loaded_meta, hit = _fit()
    assert hit and not any(isolated_cache.glob("tiny-*.pt"))
    assert torch.equal(loaded.weight, model.weight.half().float()) and loaded.weight.dtype == torch.float32
    assert loaded_meta == meta


def test_a_changed_setting_is_not_served_by_a_published_entry(isolated_cache):
    _fit()
    stored.publish("paper", next(isolated_cache.glob("tiny-*.pt")))
    assert not _fit({**SPEC, "seed": 1})[2]


def test_the_repositorys_manifests_list_exactly_their_files_with_their_hashes():
    folders = [p for p in (stored._REPO / "weights").iterdir() if p.is_dir()]
    assert folders, "the repository keeps trained weights"
    for folder in folders:
        manifest = json.loads((folder / stored.MANIFEST).read_text())
        assert sorted(manifest) == sorted(p.name for p in folder.glob("*.pt")), folder
        for name, record in manifest.items():
            data = (folder / name).read_bytes()
            assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["bytes"] == len(data), name
            assert math.isfinite(record["training seconds"]), name
            assert record["steps"] == record["spec"].get("steps", record["steps"]), name


def test_full_precision_keeps_float32(isolated_cache):
    model, _, _ = _fit()
    stored.publish("paper", next(isolated_cache.glob("tiny-*.pt")), half=False)
    kept = torch.load(next((weights_dir() / "paper").glob("tiny-*.pt")), weights_only=True)["state"]
    assert torch.equal(kept["weight"], model.weight)


@pytest.fixture
def tool():
    """tools/publish_models.py as a module (tools/ is not a package)."""
    import importlib.util
    from lib.report.runner import REPO
    spec = importlib.util.spec_from_file_location("publish_models", REPO / "tools" / "publish_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_command_run_again_finds_its_private_cache_and_another_command_does_not(tool, tmp_path):
    def cache(*argv):
        return tool.private_cache(tmp_path, tool.argparse.Namespace(**dict(argv)))

    one = cache(("kind", "gce"), ("args", ["mnist_3_8", "qmc", "8000"]), ("lr", 5e-4), ("work", "a"))
    assert one == cache(("kind", "gce"), ("args", ["mnist_3_8", "qmc", "8000"]), ("lr", 5e-4), ("work", "b"))
    assert one != cache(("kind", "gce"), ("args", ["mnist_3_8", "mc", "8000"]), ("lr", 5e-4), ("work", "a"))
    assert one.parent == tmp_path and one.name.startswith("gce-")


@pytest.mark.parametrize("half, expected", [(True, {"gce-1.pt": True, "classifier-1.pt": False}),
                                             (False, {"gce-1.pt": False, "classifier-1.pt": False})])
def test_classifiers_are_never_halved(tool, half, expected):
    """An explainer's cache key fingerprints its classifier's weights: a halved classifier would orphan it."""
    assert {name: tool.halved(half)(name) for name in expected} == expected


@pytest.mark.slow
def test_a_page_publishes_what_it_trained_and_a_second_run_trains_nothing(tool, isolated_cache, real_data_root,
                                                                          tmp_path, monkeypatch):
    """tools/publish_models.py page: one seed of a smoke page trains into a private cache and is published in
    float32; run again, it is served every model and publishes nothing. --work is relative to where the command
    runs (the page's kernel runs elsewhere)."""
    monkeypatch.chdir(tmp_path)
    argv = ["page", "labelfree_pretext", "--profile", "smoke", "-p", "seeds", "[1]", "--work", "work"]
    tool.main(argv)
    manifest = json.loads((weights_dir() / "labelfree" / stored.MANIFEST).read_text())
    assert sorted(name.split("-")[2] for name in manifest) == ["C", "D", "I", "R"]   # the four pretext tasks
    assert all("labelfree_pretext page (smoke profile, seeds = [1])" in r["what"] for r in manifest.values())
    kept = torch.load(weights_dir() / "labelfree" / next(iter(manifest)), weights_only=True)["state"]
    assert {t.dtype for t in kept.values() if t.is_floating_point()} == {torch.float32}
    tool.main(argv)
    assert json.loads((weights_dir() / "labelfree" / stored.MANIFEST).read_text()) == manifest
    assert not any((tmp_path / "work").iterdir())   # private caches and scratch pages are removed
