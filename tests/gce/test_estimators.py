"""The QMC-versus-MC studies: the toy study against its quadrature answer, the error tables on made-up
errors with known RMSEs, and the studies on tiny untrained explainers (shapes, seeding, side effects)."""
from __future__ import annotations


import pandas as pd
import pytest
import torch

from lib.gce import estimators as est
from lib.gce import group_flow, information_flow
from lib.gce.models import VAE, CNNClassifier
from lib.gce.toys import WEIGHTS, Identity, Logistic, quadrature_flow

FULL, REDUCED = (4, 2), (2, 2)


@pytest.fixture
def models() -> dict:
    """``budget_comparison``'s models for seeds 0 and 1: untrained K = 1, L = 1 explainers, one untrained
    classifier per seed."""
    torch.manual_seed(0)
    out = {}
    for seed in (0, 1):
        classifier = CNNClassifier(2).eval().requires_grad_(False)
        for name in est.budget_variants(FULL, REDUCED):
            out[seed, name] = (VAE(1, 1).eval(), classifier)
    return out


def test_budgets_and_variants():
    assert est.samples((25, 10)) == 250 and est.budget_label([25, 10]) == "25 × 10"
    assert est.budget_variants([8, 4], [4, 2]) == {"MC full": ("mc", (8, 4)), "QMC reduced": ("qmc", (4, 2)),
                                                    "MC reduced": ("mc", (4, 2))}


def test_toy_estimates_are_seeded_by_repetition(seeded):
    got = est.toy_estimates("qmc", 8, 4, repetitions=3)
    with torch.no_grad():
        expected = information_flow(Identity(), Logistic(WEIGHTS), 1, 1, 8, 4, generator=seeded(2),
                                    sampler="qmc").item()
    assert got.shape == (3,) and got[2] == expected


def test_toy_study_adds_the_reference_budgets_and_measures_around_the_truth():
    toy = est.toy_study([(4, 2)], repetitions=5)
    assert toy[["seed", "sampler", "budget"]].values.tolist() == [[0, s, b] for s in ("mc", "qmc")
                                                                 for b in ("4 × 2", "25 × 10", "100 × 25")]
    n = 5  # RMSE² = bias² + variance (the variance with divisor n)
    assert (toy["RMSE"] ** 2).tolist() == pytest.approx((toy["bias"] ** 2 + toy["sd"] ** 2 * (n - 1) / n).tolist())
    truth = quadrature_flow(*WEIGHTS)[0]
    big = toy[toy.budget == "100 × 25"].set_index("sampler")["RMSE"]
    assert big["qmc"] < big["mc"] < 0.1 * truth  # both close at 2,500 samples, QMC closer


def test_toy_study_repeats_per_seed_with_disjoint_draws():
    toy = est.toy_study([], repetitions=3, seeds=[0, 1])
    assert toy["seed"].tolist() == [0] * 4 + [1] * 4
    first, second = (toy[toy.seed == s].set_index(["sampler", "budget"])["RMSE"] for s in (0, 1))
    assert (first != second).all()
    assert est.toy_estimates("mc", 4, 2, 3, seed=1)[0] == est.toy_estimates("mc", 4, 2, 4)[3]  # seed · reps + r


def test_toy_ratios():
    toy = pd.DataFrame({"seed": [0] * 4 + [1] * 4, "sampler": ["mc", "qmc"] * 4,
                        "budget": (["100 × 25"] * 2 + ["25 × 10"] * 2) * 2,
                        "RMSE": [0.02, 0.004, 0.05, 0.01, 0.02, 0.01, 0.05, 0.01]})
    ratios = est.toy_ratios(toy)
    assert ratios[["seed", "budget"]].values.tolist() == [[0, "100 × 25"], [0, "25 × 10"], [1, "100 × 25"],
                                                          [1, "25 × 10"]]
    assert ratios["ratio"].tolist() == pytest.approx([0.2, 0.2, 0.5, 0.2])
    assert ratios["notes_ratio"].tolist() == [0.136, 0.326] * 2  # 0.003 / 0.022 and 0.015 / 0.046


def made_up_errors() -> pd.DataFrame:
    """Errors ±e per (seed, sampler, budget), so the RMSE is e: MC 0.2 / 0.1, QMC 0.05 / 0.02 at 2 × 2 / 4 × 2,
    seed 1 twice seed 0."""
    rows = []
    for seed, scale in ((0, 1.0), (1, 2.0)):
        for sampler, by_budget in (("mc", {REDUCED: 0.2, FULL: 0.1}), ("qmc", {REDUCED: 0.05, FULL: 0.02})):
            for budget, e in by_budget.items():
                for r, sign in enumerate((1, -1)):
                    rows.append({"seed": seed, "quantity": est.QUANTITIES[0], "sampler": sampler,
                                 "budget": est.budget_label(budget), "samples": est.samples(budget), "repetition": r,
                                 "error": sign * e * scale})
    return pd.DataFrame(rows)


def test_rmse_tables_and_ratios():
    errors = made_up_errors()
    rmse = est.rmse_by_seed(errors)
    assert len(rmse) == 2 * 2 * 2
    one = rmse[(rmse.seed == 1) & (rmse.sampler == "mc") & (rmse.budget == "4 × 2")]["RMSE"]
    assert one.item() == pytest.approx(0.2)
    assert est.rmse_ratio(rmse, ("qmc", FULL), ("mc", FULL)) == pytest.approx([0.2, 0.2])
    assert est.rmse_ratio(rmse, ("qmc", REDUCED), ("mc", FULL)) == pytest.approx([0.5, 0.5])
    summary = est.error_summary(errors)
    row = summary.loc[(est.QUANTITIES[0], 8, "4 × 2")]
    assert row["mc"] == pytest.approx(0.15) and row["MC / QMC"] == pytest.approx(5.0)
    assert row["bias mc"] == pytest.approx(0.0)  # the ± errors cancel


def test_flow_estimate_is_the_alpha_or_the_beta_flow(tiny, seeded):
    model, classifier = tiny.model.eval(), tiny.classifier.eval()  # K = 1, L = 2
    with torch.no_grad():
        alpha = est.flow_estimate(model, classifier, "I(α; Ŷ)", (3, 2), "qmc", seeded(5))
        beta = est.flow_estimate(model, classifier, "I(β; Ŷ)", (3, 2), "mc", seeded(5))
        assert alpha == information_flow(model.decoder, classifier, 1, 2, 3, 2, generator=seeded(5), sampler="qmc")
        assert beta == group_flow(model.decoder, classifier, 3, [1, 2], 3, 2, generator=seeded(5), sampler="mc")


@pytest.mark.slow
def test_estimator_and_gradient_studies_use_each_seeds_baseline(models, seeded):
    references, errors = est.estimator_study(models, [REDUCED, FULL], repetitions=2, reference_budget=(6, 3))
    assert references[["seed", "quantity"]].values.tolist() == [[s, q] for s in (0, 1) for q in est.QUANTITIES]
    assert len(errors) == 2 * 2 * 2 * 2 * 2  # seeds × quantities × samplers × budgets × repetitions
    again = est.estimator_study(models, [REDUCED, FULL], repetitions=2, reference_budget=(6, 3))[1]
    pd.testing.assert_frame_equal(errors, again)  # every draw is seeded
    explainer, classifier = models[0, est.BASELINE]
    with torch.no_grad():
        first = est.flow_estimate(explainer, classifier, est.QUANTITIES[1], REDUCED, "mc", seeded(7))
    reference = references.set_index(["seed", "quantity"])["reference"][0, est.QUANTITIES[1]]
    assert errors.query("seed == 0 and sampler == 'mc' and budget == '2 × 2' and repetition == 0")["error"].iloc[1] \
        == pytest.approx(first.item() - reference)  # row 0 is I(α; Ŷ), row 1 I(β; Ŷ)
    gradients = est.gradient_study(models, [REDUCED, FULL, REDUCED], gradient_budget=(6, 3), repetitions=2)
    assert gradients[["seed", "budget", "sampler"]].values.tolist() == [
        [s, b, m] for s in (0, 1) for b in ("2 × 2", "4 × 2") for m in ("mc", "qmc")]
    assert gradients["cosine"].between(-1 - 1e-6, 1 + 1e-6).all() and (gradients["relative MSE"] >= 0).all()
    assert all(p.grad is None for explainer, _ in models.values() for p in explainer.decoder.parameters())


@pytest.mark.slow
def test_budget_comparison_trains_each_variant_once_and_evaluates_it(isolated_cache, tiny_splits):
    data = tiny_splits
    settings = {"classes": [0, 1], "classifier_epochs": 1, "k": 1, "l": 1, "lam": 0.05, "steps": 2, "batch_size": 4,
                "lr": 1e-3}
    variants = est.budget_variants(FULL, REDUCED)
    first = est.budget_comparison(data, settings, [0], variants, n_eval=(3, 2), sweep_rows=4, progress=False)
    table = first.table
    assert table[["seed", "variant", "sampler", "budget", "cached"]].values.tolist() == [
        [0, "MC full", "mc", "4 × 2", False], [0, "QMC reduced", "qmc", "2 × 2", False],
        [0, "MC reduced", "mc", "2 × 2", False]]
    assert set(est.COMPARED) <= set(table.columns)
    assert first.curves.groupby("variant", sort=False).size().to_dict() == dict.fromkeys(variants, 2)  # 2 steps each
    assert list(first.models) == [(0, name) for name in variants]
    assert not any(p.requires_grad for p in first.models[0, est.BASELINE][1].parameters())
    again = est.budget_comparison(data, settings, [0], variants, n_eval=(3, 2), sweep_rows=4, progress=False)
    assert again.table["cached"].all()
    pd.testing.assert_frame_equal(again.table.drop(columns="cached"), table.drop(columns="cached"))


def _records(output="gce_headline", profile="paper", drop=None):
    """Made-up verdict records of a headline page: metric i has the values [i, i + 1] for seeds 3 and 4."""
    settings = {"k": 1, "l": 1, "steps": 8}
    return [{"output": output, "profile": profile, "metric": metric, "seeds": [3, 4], "settings": settings,
             "ours": {"values": [float(i), float(i) + 1]}}
            for i, metric in enumerate(est.PROFILE_METRICS.values()) if metric != drop]


def test_paper_profile_reads_the_paper_runs_of_the_page():
    others = _records(profile="cpu") + _records(output="gce_headline-fmnist_0_3_4")
    table, settings = est.paper_profile(others + _records(), "gce_headline")
    assert list(table.index) == [3, 4] and list(table.columns) == list(est.PROFILE_METRICS)
    assert table.loc[4].tolist() == [float(i) + 1 for i in range(len(est.PROFILE_METRICS))]
    assert settings == {"k": 1, "l": 1, "steps": 8}


def test_paper_profile_refuses_a_page_without_a_paper_run():
    with pytest.raises(ValueError, match="no paper-profile record"):
        est.paper_profile(_records(profile="cpu"), "gce_headline")
    with pytest.raises(ValueError, match="data term D"):
        est.paper_profile(_records(drop="data term D (SSE + KL per sample)"), "gce_headline")


def test_mismatched_names_the_settings_that_differ():
    ours = dict.fromkeys(est.MATCHED, 1)
    assert est.mismatched(ours, dict(ours)) == {}
    assert est.mismatched(ours, {**ours, "lr": 2, "steps": 3}) == {"steps": (1, 3), "lr": (1, 2)}


class _ToyExplainer(torch.nn.Module):
    """The toy case as an explainer: the identity decoder on (α, β), K = L = 1."""
    k, l = 1, 1

    def __init__(self):
        super().__init__()
        self.decoder = Identity()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # where the generators' device comes from


def test_paper_estimate_is_the_plain_mc_flow_around_the_known_answer():
    model, classifier = _ToyExplainer(), Logistic(WEIGHTS)
    got = est.paper_estimate(model, classifier, (100, 25), repetitions=40, seed=1)
    # the plug-in bias at Nβ = 25 is a few hundredths of a nat at most (the notes' RMSE at 100 × 25: 0.022)
    assert got == pytest.approx(quadrature_flow(*WEIGHTS)[0], abs=0.03)
    with torch.no_grad():  # repetition r of seed s is drawn from 4000 + 100 s + r
        first = information_flow(model.decoder, classifier, 1, 1, 8, 4, sampler="mc",
                                 generator=torch.Generator().manual_seed(4100)).item()
    assert est.paper_estimate(model, classifier, (8, 4), repetitions=1, seed=1) == first


@pytest.mark.slow
def test_validation_trains_one_explainer_per_sampler_and_adds_the_paper_estimate(isolated_cache, tiny_splits):
    settings = {"classes": [0, 1], "classifier_epochs": 1, "k": 1, "l": 1, "lam": 0.05, "steps": 2, "batch_size": 4,
                "lr": 1e-3, "n_alpha": 2, "n_beta": 2}
    run = est.validation(tiny_splits, settings, [0, 1], ["qmc", "mc"], n_eval=(3, 2), sweep_rows=4,
                         paper_budget=(4, 2), repetitions=2, progress=False)
    assert run.table[["sampler", "seed"]].values.tolist() == [["qmc", 0], ["qmc", 1], ["mc", 0], ["mc", 1]]
    assert set(est.PROFILE_METRICS) <= set(run.table.columns)
    assert list(run.models) == [("qmc", 0), ("qmc", 1), ("mc", 0), ("mc", 1)]
    qmc, mc = run.models["qmc", 0][0], run.models["mc", 0][0]
    assert run.models["qmc", 0][1] is not None and not torch.equal(qmc.decoder.net[0].weight, mc.decoder.net[0].weight)
    estimate = est.paper_estimate(*run.models["mc", 1], (4, 2), 2, seed=1)
    assert run.table.iloc[3][est.PAPER_ESTIMATE] == estimate
