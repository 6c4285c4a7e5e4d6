"""Every figure draws from the tables the experiments return (made-up numbers here)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lib.gce import estimators as est  # noqa: E402
from lib.gce import figures, reference  # noqa: E402
from lib.gce import select as gs  # noqa: E402
from lib.gce.toys import tuning_score  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def table() -> pd.DataFrame:
    """Two seeds × two penalty weights, K = 1, L = 2, with the columns the figures read."""
    rng = np.random.default_rng(0)
    factors = [f"{quantity} {name}" for quantity in ("flow", "removed") for name in ("α1", "β1", "β2")]
    rows = [{"seed": s, "γ": g, **{column: rng.random() for column in factors}, "I(α; Ŷ)": rng.random(),
             "D": rng.random()} for s in (0, 1) for g in (0.0, 1.0)]
    return pd.DataFrame(rows)


def curves(penalised: bool) -> pd.DataFrame:
    frames = [pd.DataFrame({"step": range(20), "causal": np.linspace(0, 0.6, 20), "sse": 40.0, "kl": 4.0,
                            **({"beta_flow": 0.01} if penalised and g else {}), "seed": s, "γ": g})
              for s in (0, 1) for g in (0.0, 1.0)]
    return pd.concat(frames, ignore_index=True)


def test_sweep_figures(tiny, tiny_splits):
    fig = figures.sweep_figure(torch.rand(2, 3, 28, 28), torch.tensor([[0, 1, 1], [0, 0, 1]]), [-1, 0, 1], ["a", "b"])
    assert len(fig.axes) == 6
    figs = figures.latent_sweeps(tiny.model, tiny.classifier, tiny_splits, [0, 2], per_class=2, title="{factor}")
    assert [f._suptitle.get_text() for f in figs] == ["α1", "β2"]
    assert len(figs[0].axes) == 2 * 2 * 7  # two rows of each class, seven offsets


@pytest.mark.parametrize("penalised, hue, panels", [(False, "seed", 2), (True, "γ", 3)])
def test_training_curves_add_the_beta_flow_where_it_was_penalised(penalised, hue, panels):
    assert len(figures.training_curves(curves(penalised), hue=hue).axes) == panels


def test_factor_bars(table):
    fig = figures.factor_bars(table, "flow", "flow", reference=[0.5, None, 0.1], ref_label="seed 000")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["α1", "β1", "β2"]
    assert len(figures.factor_bars_by(table, "removed", "γ", "accuracy").axes[0].patches) == 2 * 3


def test_against_measures_by_and_cost(table):
    assert len(figures.against(table, "γ", ["I(α; Ŷ)", "D"]).axes) == 2
    assert len(figures.measures_by(table, "γ", ["I(α; Ŷ)", "D"], {"D": 0.5}).axes) == 2
    cost = pd.DataFrame({"GCE / VAE": [6.0], "seed 000 GCE / VAE": [6.4]}, index=["mnist_3_8"])
    assert figures.cost_ratios(cost).axes[0].get_yscale() == "log"


# Algorithm 1 and the QMC study

LAMS = gs.lambda_grid(1e-3, 10 ** 0.5, 5)


def test_tuning_figure_draws_every_k_of_the_grid():
    score, _ = tuning_score()
    run = gs.tune(score, range(1, 10), LAMS, xi=0.05, k_max=5)  # the algorithm stops after K = 4
    fig = figures.tuning_figure(run, reference.PAPER_CURVES["mnist_3_8"])
    c_panel = fig.axes[1]
    assert list(c_panel.lines[0].get_xdata()) == [1, 2, 3, 4, 5]
    assert len(fig.axes[2].lines) == 5 + 1 + 1  # one line per K, the paper's, the step-1 target
    assert len(figures.tuning_figure(run).axes[2].lines) == 5 + 1  # without the paper's curves


def test_estimator_error_figure_draws_each_sampler_and_seed():
    toy = pd.DataFrame({"sampler": ["mc", "mc", "qmc", "qmc"], "samples": [8, 2500] * 2,
                        "RMSE": [0.1, 0.02, 0.05, 0.003]})
    rmse = pd.DataFrame([{"quantity": q, "sampler": s, "samples": n, "seed": seed, "RMSE": 0.1 / n}
                         for q in est.QUANTITIES for s in ("mc", "qmc") for n in (8, 32) for seed in (0, 1)])
    fig = figures.estimator_error_figure(toy, rmse)
    toy_panel, alpha_panel, _ = fig.axes
    assert len(toy_panel.lines) == 2 and len(toy_panel.collections) == 1  # one line per sampler, the notes' marks
    assert sorted(toy_panel.collections[0].get_offsets()[:, 0].tolist()) == [250, 250, 2500, 2500]
    assert len(alpha_panel.lines) == 2 * 2  # samplers × seeds
    assert [t.get_text() for t in alpha_panel.get_legend().get_texts()] == ["mc", "qmc"]  # one entry per sampler
