"""The claims' metrics against hand computations: latent shift, similarity rate, saliency correlations, and
the per-seed verdict quantities computed from the experiments' tidy tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lib.labelfree import evaluation as ev


@pytest.mark.usefixtures("float64")
def test_latent_shift_masks_top_features_to_baseline():
    # f(x) = sum of the first two features: masking (to 0) the top-k by |score| removes known amounts.
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    encoder[1].weight.data = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])            # (N=1, 4 steps, 1 channel)
    scores = torch.tensor([[[0.0], [5.0], [1.0], [0.5]]])       # ranking: step 1, then 2, then 3
    shifts = ev.latent_shift(encoder, x, scores, [0.25, 0.5, 1.0], torch.zeros(1, 4, 1), channel_dim=-1)
    # masking step 1 removes 2 -> shift 4; steps 1,2: still 4; all: remove 1 + 2 -> 9
    torch.testing.assert_close(shifts, torch.tensor([[4.0], [4.0], [9.0]]))
    with pytest.raises(ValueError, match="shape"):
        ev.latent_shift(encoder, x, scores[:, :2], [0.5], torch.zeros(1, 4, 1), channel_dim=-1)


@pytest.mark.usefixtures("float64")
def test_similarity_rate_by_hand():
    scores = torch.tensor([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    train_labels = torch.tensor([0, 0, 1, 1])
    test_labels = torch.tensor([0, 0])
    # test 0 ranks 0,1,2,3 -> labels 0,0,1,1; test 1 ranks 3,2,1,0 -> 1,1,0,0
    rates = ev.similarity_rate(scores, train_labels, test_labels, [0.25, 0.5, 1.0])
    torch.testing.assert_close(rates, torch.tensor([0.5, 0.5, 0.5]), check_dtype=False)
    rates = ev.similarity_rate(scores[:1], train_labels, test_labels[:1], [0.5, 0.75])
    torch.testing.assert_close(rates, torch.tensor([1.0, 2 / 3]), check_dtype=False)


# ----------------------------------------------------------------------------- claim 1's verdict quantities

STRENGTH = {ev.IG: 4.0, ev.GS: 3.0, ev.GS_ORIGINAL: 2.0, ev.SALIENCY: 2.5, ev.RANDOM: 1.0}
RISE = {0.05: 0.5, 0.1: 0.8, 0.2: 0.9, 1.0: 1.0}


@pytest.fixture
def curves():
    """Shifts = strength(method) × rise(fraction) × (1 + seed), two test batches around that mean."""
    rows = [{"data": "A", "seed": seed, "method": method, "fraction": f, "batch": batch,
             "shift": strength * rise * (1 + seed) + (0.01 if batch else -0.01)}
            for seed in (0, 1) for method, strength in STRENGTH.items() for f, rise in RISE.items() for batch in (0, 1)]
    return pd.DataFrame(rows)


def test_feature_checks_by_hand(curves):
    training = pd.DataFrame({"data": ["A", "A"], "seed": [0, 1], "best validation loss": [0.1, 0.2]})
    checks = ev.feature_checks(curves, training, list(RISE))
    assert checks["seed"].tolist() == [0, 1] and set(checks["data"]) == {"A"}
    np.testing.assert_allclose(checks["beats random"], 2.5)        # the weakest method, Saliency, over Random
    np.testing.assert_allclose(checks["IG best"], 4 / 3)           # IG over the better of GradientShap and Saliency
    np.testing.assert_allclose(checks["IG reached"], 0.9)          # rise at 20 % over the largest rise
    assert checks["best validation loss"].tolist() == [0.1, 0.2]
    np.testing.assert_allclose(checks[f"latent shift of {ev.IG} at M = 10 %"], [3.2, 6.4])
    assert list(checks.columns[2:5]) == ["beats random", "IG best", "IG reached"]


def test_by_fraction_and_pairing_ablation(curves):
    table = ev.by_fraction(curves, "shift")
    assert list(table.columns) == ["5 %", "10 %", "20 %", "100 %"]
    assert table.loc[("A", ev.IG), "100 %"] == pytest.approx(4.0 * 1.5)  # mean over seeds of 4 and 8
    ablation = ev.pairing_ablation(curves, list(RISE))
    assert ablation.index.get_level_values("fraction").tolist() == [0.05, 0.1, 0.2]
    np.testing.assert_allclose(ablation["correct / original"], 1.5)


# ----------------------------------------------------------------------------- claim 2's verdict quantities

def test_example_checks_by_hand():
    first = {"DKNN": 0.9, "SimplEx": 0.8, "Influence Functions": 0.5, "TracIn": 0.6,
             "Influence Functions (λ = 0.001)": 1.0}
    rows = [{"data": name, "seed": seed, "method": method, "fraction": f, "similarity": value if f == 0.05 else 0.1}
            for name in ("B", "A") for seed in (0, 1) for method, value in first.items() for f in (0.05, 1.0)]
    checks = ev.example_checks(pd.DataFrame(rows), [0.05, 1.0])
    assert checks["data"].tolist() == ["B", "B", "A", "A"]             # in order of appearance
    np.testing.assert_allclose(checks["gap"], 0.8 - 0.6)               # SimplEx minus TracIn; the variant is ignored
    np.testing.assert_allclose(checks["drop"], 0.5 - 0.1)              # Influence Functions falls least
    np.testing.assert_allclose(checks["rise"], 0.1 - 0.5)              # two points: the smallest fall, negated


def test_example_checks_find_a_rise_inside_the_curve():
    # Every method ends lower than it starts, but SimplEx rises from 5 % to 20 % on seed 1 (the endpoint
    # drop cannot see it).
    curve = {0.05: 0.6, 0.2: 0.5, 1.0: 0.1}
    rows = [{"data": "A", "seed": seed, "method": method, "fraction": f,
             "similarity": 0.8 if (seed, method, f) == (1, "SimplEx", 0.2) else value}
            for seed in (0, 1) for method in ev.LOSS_BASED + ev.REPRESENTATION_BASED for f, value in curve.items()]
    checks = ev.example_checks(pd.DataFrame(rows), list(curve))
    np.testing.assert_allclose(checks["drop"], [0.5, 0.5])
    np.testing.assert_allclose(checks["rise"], [-0.1, 0.2])


# ----------------------------------------------------------------------------- claims 3 and 4: correlations

def test_offdiagonal_pcc_matches_numpy():
    rng = np.random.default_rng(0)
    maps = rng.random((7, 4, 5, 5))
    maps[:, 1] += 2 * maps[:, 0]
    corr = np.corrcoef(maps.swapaxes(0, 1).reshape(4, -1))
    assert ev.offdiagonal_pcc(maps) == pytest.approx((corr.sum() - 4) / 12, abs=1e-12)
    same = np.repeat(maps[:, :1], 3, axis=1)
    assert ev.offdiagonal_pcc(same) == pytest.approx(1.0)


def test_unit_kl_of_known_posteriors():
    class Posterior(nn.Module):  # unit 0: N(0, 1) (collapsed); unit 1: N(1, 1): KL 1/2
        def forward(self, x):
            mu = torch.stack([torch.zeros(len(x)), torch.ones(len(x))], 1)
            return mu, torch.zeros_like(mu)

    model = nn.Module()
    model.encoder = Posterior()
    np.testing.assert_allclose(ev.unit_kl(model, torch.zeros(5, 1, 2, 2), batch_size=2), [0.0, 0.5])


def test_sweep_readiness_takes_the_worst_model_per_seed():
    table = pd.DataFrame({"seed": [0, 0, 1, 1], "rec_ratio": [0.5, 0.7, 1.1, 0.2], "active": [3, 1, 2, 3],
                          "loss_fall": [0.001, 0.03, -0.01, 0.004]})
    ready = ev.sweep_readiness(table)
    assert ready["worst reconstruction loss / the mean training image's"].tolist() == [0.7, 1.1]
    assert ready["fewest active latent units"].tolist() == [1, 2]
    assert ready["largest relative fall of the training loss over its last tenth"].tolist() == [0.03, 0.004]


def test_pcc_fall_is_low_minus_high_per_kind_and_seed():
    table = pd.DataFrame({"kind": ["beta"] * 4 + ["tc"] * 4, "beta": [1, 10] * 4, "seed": [0, 0, 1, 1] * 2,
                          "pcc": [0.5, 0.2, 0.4, 0.4, 0.1, 0.3, 0.6, 0.5]})
    falls = ev.pcc_fall(table, 1, 10)
    np.testing.assert_allclose(falls.loc["beta"], [0.3, 0.0])
    np.testing.assert_allclose(falls.loc["tc"], [-0.2, 0.1])


def test_pcc_matrix_matches_numpy_corrcoef_on_flattened_arrays():
    rng = np.random.default_rng(0)
    a = rng.random((5, 1, 4, 4))
    b = 0.5 * a + rng.random((5, 1, 4, 4))
    c = torch.tensor(-a)
    m = ev.pcc_matrix([a, b, c])
    assert m[0, 1] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=1e-12)
    assert m[0, 2] == pytest.approx(-1.0) and np.allclose(np.diag(m), 1.0)


def test_pair_values_reads_the_lower_triangle_in_task_order():
    m = np.arange(16.0).reshape(4, 4)
    pairs = ev.pair_values([m, m + 1], ["R", "D", "I", "C"])
    assert list(pairs) == ["R-D", "R-I", "R-C", "D-I", "D-C", "I-C"]
    assert pairs["R-C"] == [3.0, 4.0] and pairs["I-C"] == [11.0, 12.0]


SALIENCY = {"R-D": 0.4, "R-I": 0.3, "R-C": 0.5, "D-I": 0.3, "D-C": 0.4, "I-C": 0.3}
EXAMPLES = {"R-D": 0.2, "R-I": 0.1, "R-C": 0.05, "D-I": 0.15, "D-C": 0.05, "I-C": 0.1}


def test_pretext_checks_by_hand():
    # seed s adds 0.1·s to every PCC; Table 4 holds seed 0's values
    pccs = pd.DataFrame([{"seed": seed, "variant": variant, "pair": pair, "pcc": value + 0.1 * seed}
                         for seed in (0, 1) for variant, values in (("saliency", SALIENCY), ("examples", EXAMPLES))
                         for pair, value in values.items()])
    table4 = {"saliency": {p: (v, 0.01) for p, v in SALIENCY.items()},
              "examples": {p: (v, 0.01) for p, v in EXAMPLES.items()}}
    assert ev.pairs_of(pccs, "examples")["R-D"] == pytest.approx([0.2, 0.3])
    checks = ev.pretext_checks(pccs, table4)
    assert checks.index.tolist() == [0, 1]
    np.testing.assert_allclose(checks["saliency mean"], [2.2 / 6, 2.2 / 6 + 0.1])
    np.testing.assert_allclose(checks["examples gap"], [0.0, 0.1], atol=1e-12)
    np.testing.assert_allclose(checks["saliency: C − RDI"], 0.4 - 1 / 3)
    np.testing.assert_allclose(checks["examples: RDI − C"], 0.15 - 0.2 / 3)
    assert ev.table4_contrasts(table4) == {"saliency: C − RDI": round(0.4 - 1 / 3, 3),
                                           "examples: RDI − C": round(0.15 - 0.2 / 3, 3)}
    comparison = ev.table4_comparison(pccs, table4)
    assert comparison.loc[("saliency", "R-D"), "ours (mean ± sd)"] == f"0.45 ± {np.std([0.4, 0.5], ddof=1):.2f}"
    assert comparison.loc[("examples", "I-C"), "seed 003 Table 4"] == "0.10 ± 0.01"


def test_pretext_readiness_takes_the_worst_autoencoder_and_the_classifier():
    training = pd.DataFrame({"seed": [0] * 4 + [1] * 4, "task": ["R", "D", "I", "C"] * 2,
                             "best validation loss / the mean training image's": [0.5, 0.9, 0.7, np.nan] * 2,
                             "test accuracy": [np.nan] * 3 + [0.92] + [np.nan] * 3 + [0.11]})
    ready = ev.pretext_readiness(training)
    assert ready.index.tolist() == [0, 1]
    assert ready["worst best validation loss / the mean training image's"].tolist() == [0.9, 0.9]
    assert ready["test accuracy"].tolist() == [0.92, 0.11]


@pytest.mark.usefixtures("float64")
def test_inverted_divides_one_minus_x_by_each_examples_max():
    x = torch.tensor([[[0.0, 0.5, 1.0]], [[0.0, 0.25, 0.5]]])
    assert torch.equal(ev.inverted(x), torch.tensor([[[1.0, 0.5, 0.0]], [[2.0, 1.5, 1.0]]]))


def test_soft_latent_shift_keeps_part_of_each_hidden_feature():
    # f(x) = x_0 + x_1; x = (0.5, 1, 0, 0), max 1; hiding x_1 with the soft mask keeps m = 1 - x_1 = 0 of it,
    # hiding x_0 keeps m = 0.5: x~_0 = 0.5 * 0.5 + 0.5 * baseline
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    encoder[1].weight.data = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    x = torch.tensor([[[0.5], [1.0], [0.0], [0.0]]])
    scores = torch.tensor([[[1.0], [5.0], [0.0], [0.0]]])       # ranking: step 1, then step 0
    baseline = torch.full((1, 4, 1), 0.2)
    shifts = ev.latent_shift(encoder, x, scores, [0.25, 0.5], baseline, channel_dim=-1, soft=True)
    # M = 25 %: x~_1 = 0 * 1 + 1 * 0.2 -> f falls by 0.8; M = 50 %: also x~_0 = 0.25 + 0.1 -> falls by 0.15 more
    torch.testing.assert_close(shifts, torch.tensor([[0.8 ** 2], [0.95 ** 2]]))


def test_mask_variant_checks_are_feature_checks_per_variant(curves):
    training = pd.DataFrame({"data": ["A", "A"], "seed": [0, 1], "best validation loss": [0.1, 0.2]})
    both = pd.concat([curves.drop(columns="data").assign(variant=v) for v in ("soft", "hard")])
    checks = ev.mask_variant_checks(both, training, list(RISE))
    assert checks["variant"].tolist() == ["soft", "soft", "hard", "hard"]
    np.testing.assert_allclose(checks["IG best"], 4 / 3)
    single = ev.feature_checks(curves, training, list(RISE))
    np.testing.assert_allclose(checks.loc[checks["variant"] == "hard", "beats random"], single["beats random"])
