"""The CGN claims registry: every page of every profile maps to a declared claim, every stored record names a
declared metric and re-judges to its stored verdict, and the matrix rows and errata point at real things."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.cgn import claims as C
from lib.report.claims import FINDINGS, SOURCES, lookup
from lib.report.runner import load_profile, notebook_parameters, plan
from lib.report.verdict import rejudge

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("cgn_counterfactuals", "cgn_losses", "cgn_table3", "cgn_ablation", "cgn_explain")
KEYS = {c.key for c in C.CLAIMS}


def claim_key(job) -> str:
    params = {**notebook_parameters(job.name), **job.params}
    if job.name == "cgn_losses":
        return f"cgn_losses/{params['variant']}"
    return C.key(job.name, params["variants"])


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_page_of_every_profile_has_a_declared_claim(profile):
    for job in plan(NOTEBOOKS, load_profile(profile), {}, None):
        assert claim_key(job) in KEYS, (profile, job.output)


def test_key_is_one_variant_or_all_three():
    assert C.key("cgn_table3", ["wildlife", "colored", "double_colored"]) == "cgn_table3"
    assert C.key("cgn_table3", ["wildlife"]) == "cgn_table3/wildlife"
    with pytest.raises(ValueError, match="one variant or all three"):
        C.key("cgn_table3", ["colored", "wildlife"])


def stored_records() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((REPO / "book" / "records").glob("cgn_*.json"))]


def test_every_stored_record_names_a_declared_metric_and_rejudges_to_its_verdict():
    records = stored_records()
    assert records
    for record in records:
        metric = lookup(C.CLAIMS, record["claim_id"]).metric(record["metric"])
        assert [p["name"] for p in record["preconditions"]] == list(metric.preconditions), record["metric"]
        if "recovered" in record["provenance"]:  # values read back from a stored page must say from where
            assert all(p["source"] and p["values"] for p in record["preconditions"])
        assert record["criterion"] == metric.criterion.as_record() and rejudge(record) == record["verdict"]
        assert 0 < record["provenance"]["budget_fraction"] <= 1   # 1: the paper's 46,875 CGN steps


def test_thresholds_are_constants_of_the_registry():
    table3 = lookup(C.CLAIMS, "cgn_table3/double_colored")
    assert table3.metric("double-colored: CGN data, test accuracy [%]").criterion.threshold == 89.0 - 10
    gan = table3.metric("double-colored: GAN data, test accuracy [%]")
    assert gan.preconditions == (C.gan_carries_label("double_colored"),)
    assert table3.precondition(gan.preconditions[0]).criterion.threshold == 90
    losses = lookup(C.CLAIMS, "cgn_losses/colored")
    assert {m.name.split(": ")[0] for m in losses.metrics} == {*C.CONFIGURATIONS, "all losses"}


def test_the_smoke_ablation_claim_has_no_metric_at_the_papers_sizes():
    assert not [m for m in lookup(C.CLAIMS, "cgn_ablation").metrics if "10,000 images" in m.name]
    assert lookup(C.CLAIMS, "cgn_ablation/wildlife").metric("wildlife: test accuracy at 10,000 images [%]")


def test_budget_fraction_counts_cgn_steps():
    fraction, text = C.budget_fraction({"cgn_steps": 1200, "gan_steps": 3000, "classifier_epochs": 3})
    assert fraction == 1200 / 46_875
    assert text.startswith("1,200 of 46,875 CGN steps; GAN 3,000") and "classifier 3 of 10 epochs" in text
    assert "seed" not in text
    assert "the generators of seed 0 serve every seed" in C.budget_fraction({"cgn_steps": 1, "generator_seed": 0})[1]


def test_rows_point_at_declared_claims_or_say_why_not():
    assert C.ROWS[0].text.startswith("Claim 1, MNIST")
    for row in C.ROWS:
        assert row.paper == "cgn" and row.source in SOURCES
        assert set(row.found) <= {"paper", "004"} and set(row.found.values()) <= set(FINDINGS)
        assert set(row.claims) <= KEYS and bool(row.claims) != bool(row.offline), row.text


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_ablation_pages_check_the_papers_size_exactly_where_declared(profile):
    for job in plan(["cgn_ablation"], load_profile(profile), {}, None):
        params = {**notebook_parameters(job.name), **job.params}
        declared = any("10,000 images" in m.name for m in lookup(C.CLAIMS, claim_key(job)).metrics)
        assert declared == (10_000 in params["sizes"]), job.output
