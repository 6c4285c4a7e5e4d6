"""Claims as data: the registry's structure and lookups."""
from __future__ import annotations

import pytest

from lib.report import claims
from lib.report.claims import Claim, Metric, lookup
from lib.report.verdict import at_least, at_most


def test_malformed_claims_are_refused():
    with pytest.raises(ValueError, match="declared twice"):
        Claim("k", "t", (Metric("m", at_least(0)), Metric("m", at_most(1))))
    with pytest.raises(ValueError, match="undeclared preconditions"):
        Claim("k", "t", (Metric("m", at_least(0), preconditions=("trained",)),))


def test_lookup_names_the_known_claims(claim):
    assert lookup((claim,), claim.key) is claim
    with pytest.raises(KeyError, match="known: \\['gce_headline/mnist_3_8'\\]"):
        lookup((claim,), "gce_headline/mnist_10")
    assert claim.metric("gated").preconditions == ("classifier trained",)
    with pytest.raises(KeyError, match="no precondition"):
        claim.precondition("GAN images carry their label")


def test_unknown_paper():
    with pytest.raises(KeyError, match="unknown paper"):
        claims.registry("imagenet")


def test_all_claims_refuses_a_key_declared_by_two_papers(monkeypatch, claim):
    class Registry:
        CLAIMS = (claim,)
    monkeypatch.setattr(claims, "registry", lambda paper: Registry)
    with pytest.raises(ValueError, match="declared twice"):
        claims.all_claims()
