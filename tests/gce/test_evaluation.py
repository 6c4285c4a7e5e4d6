"""Evaluating an explainer: latent sweeps, decision changes, ablation, the sweep-intensity correlation, the
explainer report and the columns and training means the notebooks judge."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib.core.train import accuracy
from lib.gce import (ablation_accuracy, decision_change_rate, end_of_training, explainer_report, factor_names,
                     latent_sweep, report_columns, rows_per_class, sweep_intensity_correlation)
from lib.gce.evaluation import data_term
from lib.gce.models import VAE


def test_factor_names_and_rows_per_class():
    assert factor_names(2, 3) == ["α1", "α2", "β1", "β2", "β3"]
    y = torch.tensor([1, 0, 1, 2, 0, 1, 2])
    assert rows_per_class(y, 2).tolist() == [1, 4, 0, 2, 3, 6]
    assert rows_per_class(y, 1).tolist() == [1, 0, 3]


def test_latent_sweep_shapes_and_the_zero_offset(tiny):
    offsets = [-2.0, 0.0, 2.0]
    images, decisions = latent_sweep(tiny.model, tiny.classifier, tiny.x[:5], dim=1, offsets=offsets)
    assert images.shape == (5, 3, 28, 28)
    assert decisions.shape == (5, 3)
    assert decisions.min() >= 0 and decisions.max() <= 1
    with torch.no_grad():  # the decoded posterior mean, with the offset added to latent 1 only
        mu = tiny.model.encoder(tiny.x[:5])[0]
        for j, offset in enumerate(offsets):
            expected = tiny.model.decoder(mu + torch.tensor([0.0, offset, 0.0]))
            torch.testing.assert_close(images[:, j], expected[:, 0])
    assert not torch.allclose(images[:, 0], images[:, 2])  # the offsets do change the images


@pytest.mark.parametrize("dim", [-1, 3])
def test_latent_sweep_rejects_bad_dim(tiny, dim):
    with pytest.raises(ValueError):
        latent_sweep(tiny.model, tiny.classifier, tiny.x[:2], dim=dim, offsets=[0.0])


def test_decision_change_rate_by_hand():
    decisions = torch.tensor([
        [0, 0, 0, 0],  # constant
        [0, 1, 0, 0],  # changes
        [1, 1, 1, 1],  # constant
        [2, 2, 2, 0],  # changes, only at the end
    ])
    assert decision_change_rate(decisions) == 0.5
    assert decision_change_rate(decisions[[0, 2]]) == 0.0
    assert decision_change_rate(decisions[[1, 3]]) == 1.0


def test_ablation_accuracy(tiny, seeded):
    out = ablation_accuracy(tiny.model, tiny.classifier, tiny.x, tiny.y, generator=seeded(), batch_size=5)
    assert set(out) == {"original", "reencoded", "removed"}
    assert len(out["removed"]) == tiny.model.k + tiny.model.l
    for value in [out["original"], out["reencoded"], *out["removed"]]:
        assert 0.0 <= value <= 1.0
    assert out["original"] == pytest.approx(accuracy(tiny.classifier, tiny.x, tiny.y))


def test_sweep_intensity_correlation_known_cases():
    offsets = torch.linspace(-3, 3, 7)
    rows = torch.tensor([0.1, 0.5, 0.9])[:, None]  # rows differ in brightness: must not matter
    linear = (rows + 0.02 * offsets)[..., None, None].expand(3, 7, 4, 4)
    assert sweep_intensity_correlation(linear, offsets) == pytest.approx(1.0)
    assert sweep_intensity_correlation(1 - linear, offsets) == pytest.approx(-1.0)
    flat = rows[..., None, None].expand(3, 7, 4, 4)
    assert sweep_intensity_correlation(flat, offsets) == 0.0
    noise = torch.rand(400, 7, 4, 4, generator=torch.Generator().manual_seed(0))
    assert abs(sweep_intensity_correlation(noise, offsets)) < 0.05
    with pytest.raises(ValueError):
        sweep_intensity_correlation(linear[:, :3], offsets)


def test_explainer_report(tiny):
    report = explainer_report(tiny.model, tiny.classifier, tiny.x, tiny.y, 6, 4, sweep_rows=5, seed=1)
    assert set(report) == {"alpha_flow", "beta_flow", "factor_flows", "change_rate", "original", "reencoded",
                           "removed"}
    assert len(report["factor_flows"]) == len(report["change_rate"]) == len(report["removed"]) == 3
    for value in [report["alpha_flow"], report["beta_flow"], *report["factor_flows"]]:
        assert -1e-6 <= value <= math.log(2) + 1e-6
    assert all(0 <= v <= 1 for v in report["change_rate"])
    again = explainer_report(tiny.model, tiny.classifier, tiny.x, tiny.y, 6, 4, sweep_rows=5, seed=1)
    assert again == report                                          # seeded: common random numbers


def test_explainer_report_seeds_each_estimate_by_name(tiny):
    def report(**kw):
        return explainer_report(tiny.model, tiny.classifier, tiny.x, tiny.y, 6, 4, sweep_rows=5, sampler="mc", **kw)

    default, moved = report(seed=1), report(seed=1, seeds={"factor_flows": 5})
    assert moved["factor_flows"] == report(seed=3)["factor_flows"]  # by default the flows' seed is seed + 2
    assert moved["factor_flows"] != default["factor_flows"]
    assert {key: moved[key] for key in ("alpha_flow", "beta_flow", "removed")} == {
        key: default[key] for key in ("alpha_flow", "beta_flow", "removed")}


def test_report_columns_by_hand():
    report = {"alpha_flow": 0.5, "beta_flow": 0.1, "factor_flows": [0.6, 0.3, 0.02, 0.05],
              "change_rate": [0.9, 0.8, 0.1, 0.2], "original": 0.99, "reencoded": 0.9,
              "removed": [0.5, 0.7, 0.88, 0.86]}
    row = report_columns(report, k=2)
    assert [c for c in row if c.startswith("flow ")] == ["flow α1", "flow α2", "flow β1", "flow β2"]
    assert row["change rate β2"] == 0.2 and row["removed α1"] == 0.5
    assert row["α sweep: smallest change rate"] == 0.8 and row["β sweep: largest change rate"] == 0.2
    assert row["largest β flow"] == 0.05
    assert row["β leak"] == pytest.approx(0.05 / 0.3, rel=1e-6)  # in float32
    assert row["α ablation drop"] == pytest.approx(0.9 - 0.7)
    assert row["largest β ablation drop"] == pytest.approx(0.9 - 0.86)
    assert (row["β with the largest flow"], row["β with the largest change rate"]) == (3, 3)



@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("beta_flows, leak", [([0.02, 0.05], np.inf), ([0.0, 0.0], np.nan)])
def test_report_columns_alpha_without_flow(beta_flows, leak):
    """An untrained explainer's α carries no flow: the leak is infinite (undefined without β flow), no warning."""
    report = {"alpha_flow": 0.0, "beta_flow": 0.05, "factor_flows": [0.0, *beta_flows], "change_rate": [0.0] * 3,
              "original": 0.99, "reencoded": 0.9, "removed": [0.9] * 3}
    np.testing.assert_equal(report_columns(report, k=1)["β leak"], leak)

def test_end_of_training_averages_the_last_sixteenth():
    steps = 64
    history = {"causal": list(np.linspace(0, 1, steps)), "sse": [10.0] * 60 + [2.0] * 4, "kl": [1.0] * steps}
    out = end_of_training(history)
    assert out["training I(α; Ŷ)"] == pytest.approx(np.mean(history["causal"][-4:]))
    assert (out["SSE"], out["KL"], out["D"]) == (2.0, 1.0, 3.0)
    assert end_of_training({"causal": [1.0, 3.0], "sse": [1.0, 2.0], "kl": [0.0, 0.0]})["D"] == 2.0  # one step at least


def test_data_term_is_sse_plus_kl_per_sample():
    torch.manual_seed(0)
    model, x = VAE(0, 2), torch.rand(7, 1, 28, 28)
    d = data_term(model, x, seed=1, batch_size=3)
    assert d == pytest.approx(data_term(model, x, seed=1, batch_size=7), rel=1e-5)  # batching-independent
    recon = model.decoder(model.encoder(x)[0])
    assert d > 0.5 * (recon - x).pow(2).sum().item() / len(x)  # of the order of the SSE of the posterior mean
