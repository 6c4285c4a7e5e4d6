"""Fixtures of the report's tests."""
from __future__ import annotations

import pytest

from lib.report.verdict import VerdictLog


@pytest.fixture
def make_log():
    """A factory of verdict logs of a smoke run of gce_headline over three seeds."""
    def make(claim: str = "C1 flow") -> VerdictLog:
        return VerdictLog(claim, "notebooks/gce_headline.py", "smoke", seeds=(0, 1, 2), device="CPU",
                          settings={"steps": 10})
    return make
