"""Label-Free XAI's claims registry: every run of a profile and every stored record finds its declared criteria,
the criteria decide the cases the issue raised (a tie, a curve that rises inside), and the budgets count epochs."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from lib.labelfree import claims, reference
from lib.report.claims import FINDINGS, SOURCES, lookup
from lib.report.runner import BOOK, NOTEBOOKS, load_profile, notebook_parameters, plan
from lib.report.verdict import judge, rejudge

NOTEBOOK_NAMES = sorted(p.stem for p in NOTEBOOKS.glob("labelfree_*.py"))
KEYS = {c.key for c in claims.CLAIMS}


def records():
    return [json.loads(p.read_text()) for p in sorted((BOOK / "records").glob("labelfree_*.json"))]


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_run_of_a_profile_has_its_claim(profile):
    jobs = plan(NOTEBOOK_NAMES, load_profile(profile), {}, None)
    assert {job.name for job in jobs} == set(NOTEBOOK_NAMES)
    for job in jobs:
        assert job.name in KEYS, job.output
        if job.name == "labelfree_disentangle":  # the run's own subset of its saliency method's full sweep
            p = {**notebook_parameters(job.name), **job.params}
            claim = claims.disentangle_claim(p["datasets"], p["kinds"], p["betas"], p["tv_lambdas"],
                                             p["saliency_method"], p["prior_betas"])
            assert claim.key == job.output.replace("-", "/")
            full = lookup(claims.CLAIMS, claim.key)
            assert {m.name for m in claim.metrics} <= {m.name for m in full.metrics}
            assert all(m == full.metric(m.name) for m in claim.metrics)


def test_every_stored_record_names_declared_criteria_and_rejudges_to_its_verdict():
    stored = records()
    assert stored
    for record in stored:
        claim = lookup(claims.CLAIMS, record["claim_id"])
        assert record["claim_id"] == record["output"].replace("-", "/") and record["claim"] == claim.title
        metric = claim.metric(record["metric"])
        assert record["criterion"] == metric.criterion.as_record()
        assert [p["name"] for p in record["preconditions"]] == list(metric.preconditions)
        if "recovered" in record["provenance"]:  # values read back from a stored page must say from where
            assert all(p["source"] for p in record["preconditions"])
        assert rejudge(record) == record["verdict"]
        assert 0 < record["provenance"]["budget_fraction"] <= 1 and record["provenance"]["budget"]


def test_a_tie_is_not_a_win_even_on_every_seed():
    ig_best = lookup(claims.CLAIMS, "labelfree_features").metric(claims.IG_BEST.format("ECG5000"))
    assert judge([1.0, 1.0, 1.0], ig_best.criterion) == "not reproduced"
    # the stored ECG5000 values, one seed at 1.0000: the interval over seeds straddles the threshold
    assert judge([1.003134299645506, 1.0000177638580396, 1.001190742225585], ig_best.criterion) == "inconclusive"
    gap = lookup(claims.CLAIMS, "labelfree_examples").metric(claims.GAP.format("MNIST"))
    assert judge([0.0, 0.0, 0.0], gap.criterion) == "not reproduced"


def test_a_rise_inside_the_curve_fails_the_claim_that_similarity_decreases():
    rise = lookup(claims.CLAIMS, "labelfree_examples").metric(claims.RISE.format("ECG5000")).criterion
    assert judge([0.176, 0.15, 0.2], rise) == "not reproduced"
    assert judge([-0.01, -0.02, -0.015], rise) == "reproduced"


def test_a_failed_precondition_makes_every_claim_3_verdict_inconclusive():
    claim = claims.disentangle_claim(["mnist"], ["beta"], [1, 10], [0.1])
    assert [m.name for m in claim.metrics] == [
        "mnist β-VAE: PCC(β=1) − PCC(β=10)", "mnist: mean PCC over β and kinds",
        "MNIST β-VAE with TV prior λ=0.1: PCC(β=1) − PCC(β=10)"]
    assert all(len(m.preconditions) == 3 and m.seeds == claims.SEEDS for m in claim.metrics)
    levelled = claim.precondition(claims.LEVELLED.format("mnist")).criterion
    failed = [{"name": "levelled off", "passed": levelled.holds(0.05)}]
    assert judge([-0.1, -0.2, -0.15], claim.metrics[0].criterion, preconditions=failed) == "inconclusive"
    with pytest.raises(ValueError, match="outside seed 003's grid"):
        claims.disentangle_claim(tv_lambdas=[0.2])
    for betas, prior_betas in (([1, 5], None), ([1, 10], [5, 10])):
        with pytest.raises(ValueError, match="do not span"):
            claims.disentangle_claim(betas=betas, prior_betas=prior_betas)


def test_claim_3_with_integrated_gradients_has_its_own_key_and_no_published_level():
    ig = claims.disentangle_claim(["mnist"], ["beta"], [1, 10], [], "integrated_gradients")
    assert ig.key == "labelfree_disentangle/ig" and [m.name for m in ig.metrics] == ["mnist β-VAE: PCC(β=1) − PCC(β=10)"]
    with pytest.raises(ValueError, match="unknown saliency method"):
        claims.disentangle_claim(method="saliency")


def test_seed_003s_extras_judge_what_they_say():
    masks = lookup(claims.CLAIMS, "labelfree_masks")
    assert len(masks.metrics) == len(claims.MASK_VARIANTS) * len(claims.MASK_METRICS)
    flat = masks.metric(claims.MASK_TREND.format("soft mask", "IG shift at M = 20 % / largest IG shift"))
    assert judge([0.2, 0.21, 0.19], flat.criterion) == "not reproduced"  # a linear rise is not steep-then-flat
    top = lookup(claims.CLAIMS, "labelfree_top_examples")
    assert judge([0.9, 0.92, 0.88], top.metric(claims.TOP_CLASS).criterion) == "not reproduced"
    assert judge([0.01, 0.02, 0.015], top.metric(claims.TOP_SAME).criterion) == "reproduced"


def test_budgets_count_steps_against_the_papers():
    # 3 epochs of 7 examples in batches of 2 = 3 * 4 = 12 steps; the paper's 5 epochs of 10 in batches of 5 = 10
    assert claims.step_budget({"toy": (3, 7, 2, 5, 10, 5)}) == (
        1.2, "toy: 12 of the paper's 10 steps (3 epochs of 7 examples; paper 5 of 10)")
    train = lambda n: SimpleNamespace(train=torch.zeros(n, 1))  # noqa: E731
    # MNIST 100 epochs of 600 at batch 300 (200 steps) against 100 of 60,000 (20,000 steps): 1 %;
    # ECG 150 epochs of 2,335 at batch 20 (117 a epoch): the paper's own steps
    fraction, text = claims.autoencoder_budget({"MNIST": 100, "ECG5000": 150}, {"MNIST": train(600),
                                                                              "ECG5000": train(2_335)})
    assert fraction == 0.01 and text.endswith("ECG5000: 17,550 of the paper's 17,550 steps (150 epochs of 2,335 "
                                              "examples; paper 150 of 2,335), at most")
    config = {"mnist": {"epochs": 100, "train": 10_000, "batch_size": 300},
              "dsprites": {"epochs": 1, "train": 737_280, "batch_size": 500}}
    assert claims.vae_budget(config)[0] == 1 / 100                       # dSprites: 1 of 100 epochs
    assert claims.vae_budget({"mnist": config["mnist"]})[0] == 34 * 100 / 20_000   # a sixth of the images
    paper = reference.LABELFREE_CLAIM4
    assert claims.pretext_budget(paper["epochs"], paper["train_examples"], paper["batch_size"])[0] == 1.0


def test_rows_point_at_what_exists():
    assert [row.paper for row in claims.ROWS] == ["labelfree"] * len(claims.ROWS)
    for row in claims.ROWS:
        assert set(row.found) <= set(SOURCES) and set(row.found.values()) <= set(FINDINGS)
        assert set(row.claims) <= KEYS and not (row.claims and row.offline)
    assert KEYS <= {key for row in claims.ROWS for key in row.claims}  # every claim page is in the matrix
