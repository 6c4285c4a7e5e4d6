"""The model cache: keys, hits and misses, atomic writes, and the REPRO_CACHE folder."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import lib.core.cache
from lib.core.cache import CorruptCacheWarning, atomic_save, cache_dir, cache_key, fingerprint, load_or_train


def train_step_a(model):
    return model


def train_step_b(model):
    return model * 2


SPEC = {"epochs": 3, "lr": 0.1, "seed": 0}


# ----------------------------------------------------------------------------- keys

def test_cache_key_is_stable():
    assert cache_key(SPEC, code=(train_step_a,)) == cache_key(dict(SPEC), code=(train_step_a,))
    # the order in which the spec was written does not matter
    assert cache_key({"seed": 0, "lr": 0.1, "epochs": 3}) == cache_key(SPEC)


@pytest.mark.parametrize("change", [{"epochs": 4}, {"seed": 1}, {"extra": None}])
def test_cache_key_changes_with_the_spec(change):
    assert cache_key({**SPEC, **change}) != cache_key(SPEC)


def test_cache_key_changes_with_the_code():
    assert cache_key(SPEC, code=(train_step_a,)) != cache_key(SPEC, code=(train_step_b,))
    assert cache_key(SPEC, code=(train_step_a,)) != cache_key(SPEC)
    assert cache_key(SPEC, code=(nn.Linear,)) != cache_key(SPEC, code=(nn.Conv2d,))


def test_cache_key_changes_with_the_torch_release(monkeypatch):
    keys = {}
    for version in ("2.3.1", "2.4.0", "2.4.1+cu121"):
        monkeypatch.setattr(lib.core.cache.torch, "__version__", version)
        keys[version] = cache_key(SPEC, code=(train_step_a,))
    assert keys["2.3.1"] != keys["2.4.0"]
    assert keys["2.4.0"] == keys["2.4.1+cu121"]  # major.minor only: patch releases and builds share entries


def test_fingerprint_tells_tensors_apart():
    x = torch.arange(6.0)
    assert fingerprint(x) == fingerprint(x.clone())
    assert fingerprint(x) != fingerprint(x + 1)
    assert fingerprint(x) != fingerprint(x.view(2, 3))  # same bytes, other shape


# ----------------------------------------------------------------------------- load_or_train

class Counter:
    """A training function that sets the weights to a known value and counts its calls."""

    def __init__(self, value: float = 0.5):
        self.calls = 0
        self.value = value

    def __call__(self, model):
        self.calls += 1
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(self.value)
        return {"loss": [1.0, 0.5], "call": self.calls}


def fresh_model():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def test_cache_dir_honours_repro_cache(isolated_cache):
    assert cache_dir() == isolated_cache


def test_trains_once_then_hits(isolated_cache):
    train = Counter()
    model, meta, hit = load_or_train("toy", SPEC, fresh_model(), train, code=(Counter,))
    assert (train.calls, hit) == (1, False)
    assert [p.name for p in isolated_cache.iterdir()] == [f"toy-{cache_key(SPEC, (Counter,))}.pt"]

    again, meta_again, hit_again = load_or_train("toy", SPEC, fresh_model(), train, code=(Counter,))
    assert (train.calls, hit_again) == (1, True)
    assert meta_again == meta == {"loss": [1.0, 0.5], "call": 1}
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (again.weight == 0.5).all()  # the stored weights, not the fresh initialisation


def test_a_different_spec_misses(isolated_cache):
    train = Counter()
    load_or_train("toy", SPEC, fresh_model(), train)
    _, _, hit = load_or_train("toy", {**SPEC, "seed": 1}, fresh_model(), train)
    assert (train.calls, hit) == (2, False)
    assert len(list(isolated_cache.iterdir())) == 2


def test_use_cache_false_neither_reads_nor_writes(isolated_cache):
    train = Counter()
    load_or_train("toy", SPEC, fresh_model(), train, use_cache=False)
    assert not isolated_cache.exists() or not any(isolated_cache.iterdir())
    load_or_train("toy", SPEC, fresh_model(), train)
    _, _, hit = load_or_train("toy", SPEC, fresh_model(), train, use_cache=False)
    assert (train.calls, hit) == (3, False)


def test_crash_while_saving_leaves_no_file(isolated_cache, monkeypatch):
    real_save = torch.save

    def crashing_save(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise RuntimeError("disk full")

    monkeypatch.setattr(lib.core.cache.torch, "save", crashing_save)
    train = Counter()
    with pytest.raises(RuntimeError, match="disk full"):
        load_or_train("toy", SPEC, fresh_model(), train)
    assert isolated_cache.is_dir()  # the folder was made, but nothing was left in it
    assert list(isolated_cache.iterdir()) == []

    # the next run does not mistake anything for a cached model: it trains and stores properly
    monkeypatch.setattr(lib.core.cache.torch, "save", real_save)
    _, _, hit = load_or_train("toy", SPEC, fresh_model(), train)
    assert (train.calls, hit) == (2, False)
    assert [p.suffix for p in isolated_cache.iterdir()] == [".pt"]


# ----------------------------------------------------------------------------- unsafe and corrupt files

def _entry(folder):
    return folder / f"toy-{cache_key(SPEC, (Counter,))}.pt"


def _truncate(path, plant_code):
    path.write_bytes(path.read_bytes()[:200])


def _garbage(path, plant_code):
    path.write_bytes(b"this is not a torch file")


def _not_an_entry(path, plant_code):
    torch.save({"weights": torch.zeros(2)}, path)  # loads, but has no "state" or "meta"


def _planted_code(path, plant_code):
    return plant_code(path)


@pytest.mark.parametrize("corrupt", [_truncate, _garbage, _not_an_entry, _planted_code])
def test_corrupt_entry_warns_is_moved_aside_and_retrained(isolated_cache, plant_code, corrupt):
    train = Counter()
    load_or_train("toy", SPEC, fresh_model(), train, code=(Counter,))
    path = _entry(isolated_cache)
    marker = corrupt(path, plant_code)
    bad_bytes = path.read_bytes()

    with pytest.warns(CorruptCacheWarning, match=re.escape(str(path))):
        model, meta, hit = load_or_train("toy", SPEC, fresh_model(), train, code=(Counter,))
    assert marker is None or not marker.exists()  # the planted code never ran
    assert (train.calls, hit, meta["call"]) == (2, False, 2) and (model.weight == 0.5).all()
    aside = list(isolated_cache.glob(f"{path.name}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bad_bytes  # kept for inspection, under another name
    # the retrained model was stored: the next run hits
    _, meta, hit = load_or_train("toy", SPEC, fresh_model(), train, code=(Counter,))
    assert (train.calls, hit, meta["call"]) == (2, True, 2)


def test_numpy_meta_is_stored_as_plain_types(isolated_cache):
    def train(model):
        return {"curve": np.array([1.0, 0.5]), "best": np.float32(0.25), "epochs": np.int64(2)}

    _, meta, _ = load_or_train("toy", SPEC, fresh_model(), train)
    _, meta_again, hit = load_or_train("toy", SPEC, fresh_model(), train)
    assert hit and meta == meta_again == {"curve": [1.0, 0.5], "best": 0.25, "epochs": 2}
    assert type(meta_again["best"]) is float and type(meta_again["epochs"]) is int


def test_atomic_save_refuses_what_weights_only_would_refuse(tmp_path):
    path = tmp_path / "entry.pt"
    with pytest.raises(TypeError, match="weights_only"):
        atomic_save({"state": {}, "meta": Counter()}, path)
    assert list(tmp_path.iterdir()) == []
