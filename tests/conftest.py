"""Shared fixtures for the unit tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


@pytest.fixture
def real_data_root() -> Path:
    """The folder named by ``$REPRO_DATA``; the test is skipped when it is unset or lacks MNIST."""
    value = os.environ.get("REPRO_DATA")
    if not value:
        pytest.skip("REPRO_DATA is not set")
    root = Path(value)
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"{root} has no MNIST/raw folder")
    return root


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Point the model cache (``$REPRO_CACHE``) and the stored weights (``$REPRO_WEIGHTS``) at empty temporary
    folders: for every test, so that no test reads a model trained elsewhere or writes into the real cache or
    the repository's weights. Ask for it to get the cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("REPRO_CACHE", str(folder))
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "weights"))
    return folder


class RunsCode:
    """An object whose unpickling runs code: it creates the file ``marker``, as a planted cache file could."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


@pytest.fixture
def plant_code(tmp_path):
    """``plant(path)`` writes at ``path`` a torch file that runs code when loaded without ``weights_only``;
    returns the marker file that code would create."""
    marker = tmp_path / "planted-code-ran"

    def plant(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": RunsCode(marker), "meta": {}}, path)
        return marker

    return plant
