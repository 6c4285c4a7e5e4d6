"""Fixtures of the report's tests: a small declared claim and verdict logs of it."""
from __future__ import annotations

import pytest

from lib.report.claims import Claim, Metric, Precondition
from lib.report.verdict import VerdictLog, at_least, at_most, between

CLAIM = Claim("gce_headline/mnist_3_8", "C1 flow", (
    Metric("accuracy", at_least(0.8)),
    Metric("flow", at_least(0.5, "paper − 0.1")),
    Metric("kl", at_most(5)),
    Metric("band", between(0.0, 1.0)),
    Metric("gated", at_least(0.0), preconditions=("classifier trained",)),
    Metric("exact", at_least(1.0), deterministic=True),
    Metric("needs three", at_least(0.0), seeds=3),
), (Precondition("classifier trained", at_least(0.5)),))


@pytest.fixture
def claim() -> Claim:
    return CLAIM


@pytest.fixture
def make_log():
    """A factory of verdict logs of a smoke run of gce_headline over three seeds."""
    def make(claim: Claim = CLAIM, **context) -> VerdictLog:
        return VerdictLog(claim, "notebooks/gce_headline.py", context.pop("profile", "smoke"),
                          seeds=(0, 1, 2), device="CPU", settings={"steps": 10}, **context)
    return make
