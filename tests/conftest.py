"""Shared fixtures for the unit tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


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


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Point the model cache (``$REPRO_CACHE``) at an empty temporary folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("REPRO_CACHE", str(folder))
    return folder
