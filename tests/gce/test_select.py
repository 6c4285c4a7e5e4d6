"""Algorithm 1's selection logic on synthetic curves with known answers (no training)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib.gce import select as gs


def d_curve(total: int) -> float:
    """Step-1 D: 40 exp(-(K+L-1)/3) + 27. Relative improvements per step: 0.169, 0.146, 0.123, 0.100,
    0.080, 0.062, 0.047 (step 7 -> 8), 0.036, 0.027 (9 -> 10), 0.019, ..."""
    return 40 * math.exp(-(total - 1) / 3) + 27


LAMS = gs.lambda_grid(1e-3, 10 ** 0.5, 5)  # 0.001, 0.003162, 0.01, 0.03162, 0.1


def synthetic(c_of_k=lambda k: 0.7 * (1 - math.exp(-k))):
    """score(k, l, lam): D exceeds the step-1 D by 0.2 * 0.001 / lam (20%, 6.3%, 2%, 0.6%, 0.2%);
    C depends on K only (default 0.442, 0.605, 0.665, 0.687, ...: steps 37%, 9.9%, 3.3%, 1.2%)."""
    calls = []

    def score(k, l, lam):
        calls.append((k, l, lam))
        if k == 0:
            return math.nan, d_curve(l)
        return c_of_k(k), d_curve(k + l) * (1 + 0.2 * 1e-3 / lam)

    return score, calls


def test_lambda_grid_is_geometric_and_checked():
    assert LAMS == [0.001, 0.003162, 0.01, 0.03162, 0.1]
    assert gs.lambda_grid(1e-3, 3.1623, 5) == LAMS  # the rounded factor gives the same keys
    for bad in [(0, 2, 3), (1e-3, 1, 3), (1e-3, 2, 0)]:
        with pytest.raises(ValueError):
            gs.lambda_grid(*bad)


def test_relative_improvements_sign_follows_the_direction():
    assert gs.relative_improvements([10, 9, 9.9]) == pytest.approx([0.1, -0.1])
    assert gs.relative_improvements([10, 9, 9.9], increasing=True) == pytest.approx([-0.1, 0.1])
    assert gs.relative_improvements([5]) == []


@pytest.mark.parametrize("xi, expected", [(0.05, 6), (0.03, 8), (0.2, 0), (0.11, 3), (0.001, None)])
def test_plateau_index_on_an_exponential_decay(xi, expected):
    values = [d_curve(d) for d in range(1, 16)]
    assert gs.plateau_index(values, xi) == expected


def test_plateau_window_skips_a_single_slow_step():
    values = [10, 9, 8.9, 8, 7.9, 7.85]  # steps 10%, 1.1%, 10.1%, 1.25%, 0.63%
    assert gs.plateau_index(values, 0.05, window=1) == 1
    assert gs.plateau_index(values, 0.05, window=2) == 3
    assert gs.plateau_index(values, 0.05, window=3) is None  # a trailing run too short is no plateau
    with pytest.raises(ValueError):
        gs.plateau_index(values, 0.05, window=0)


def test_plateau_for_an_increasing_quantity_and_seed_000s_reversal():
    assert gs.plateau_index([0.5, 0.6, 0.61, 0.62], 0.05, increasing=True) == 1
    assert gs.plateau_index([0.5, 0.6, 0.61, 0.62], 0.05) == 0  # read as a decreasing quantity: no gain
    assert gs.plateau_index([5, 4, 4.5, 3], 0.0) == 1          # xi = 0: the trend reverses
    assert gs.plateau_index([0.675] * 3, 0.0, increasing=True) == 0  # flat counts as a plateau


def test_approach_index():
    assert gs.approach_index([32.6, 29.1, 28.5, 27.8], 27.5, 0.05) == 2
    assert gs.approach_index([32.6, 29.1, 28.5, 27.8], 27.5, 0.02) == 3
    assert gs.approach_index([32.6, 29.1], 27.5, 0.02) is None
    assert gs.approach_index([26.0], 27.5, 0.0) == 0  # below the target counts as there


def test_select_on_synthetic_curves_finds_the_known_answer_lazily():
    score, calls = synthetic()
    sel = gs.select(score, range(1, 16), LAMS, xi=0.05)
    # step 1: improvement 7 -> 8 is 4.7% <= 5%: K + L = 7; lambda: first excess <= 5% is 2% at 0.01;
    # C: 0.665 -> 0.687 is 3.3%: the plateau starts after K = 3.
    assert (sel.step1_total, sel.total) == (7, 7)
    assert sel.choice == (3, 4, 0.01)
    assert sel.D1 == pytest.approx(d_curve(7))
    assert sel.step1_plateau and sel.step2_plateau and sel.flags() == ""
    assert [d for d, _ in sel.step1] == list(range(1, 9))  # stops once the plateau is seen
    assert [s["k"] for s in sel.step2] == [1, 2, 3, 4]
    assert all(s["approached"] and [t[0] for t in s["tried"]] == LAMS[:3] for s in sel.step2)
    assert max(k for k, _, _ in calls) == 4 and max(lam for _, _, lam in calls) == 0.01


def test_select_thresholds_move_the_choice():
    score, _ = synthetic()
    assert gs.select(score, range(1, 16), LAMS, xi=0.03).choice == (4, 5, 0.01)      # K+L 9, C step 1.2%
    assert gs.select(score, range(1, 16), LAMS, xi=0.05, xi_approach=0.01).lam == 0.03162
    assert gs.select(score, range(1, 16), LAMS, xi=0.05, window=2).choice == (3, 4, 0.01)


def test_select_with_flat_c_keeps_the_first_k_as_the_paper():
    score, _ = synthetic(c_of_k=lambda k: 0.675)
    assert gs.select(score, range(1, 16), LAMS, xi=0.01).k == 1


def test_select_pinned_total_and_k_max():
    score, _ = synthetic()
    sel = gs.select(score, range(1, 16), LAMS, xi=0.05, total=10, k_max=2)
    assert sel.step1_total == 7 and sel.total == 10
    assert sel.D1 == pytest.approx(d_curve(10))
    assert [s["k"] for s in sel.step2] == [1, 2] and not sel.step2_plateau
    assert sel.choice == (2, 8, 0.01)  # C never plateaued within K <= 2: the last K
    assert "C: no plateau" in sel.flags()


def test_select_reports_grids_that_end_too_early():
    score, _ = synthetic()
    sel = gs.select(score, range(1, 5), LAMS[:2], xi=0.05)
    assert not sel.step1_plateau and sel.step1_total == 4
    assert not any(s["approached"] for s in sel.step2)
    assert all(s["lam"] == LAMS[1] for s in sel.step2)
    assert "D: no plateau" in sel.flags() and "λ grid ended" in sel.flags()


@pytest.mark.parametrize("kwargs", [dict(total_dims=[2, 1]), dict(total_dims=[]), dict(lams=[0.1, 0.01]),
                                    dict(lams=[0.0, 0.1])])
def test_select_rejects_bad_grids(kwargs):
    score, _ = synthetic()
    args = {"total_dims": range(1, 5), "lams": LAMS, **kwargs}
    with pytest.raises(ValueError):
        gs.select(score, args["total_dims"], args["lams"], xi=0.05)


def test_score_table_memoises_and_frozen_never_trains():
    score, calls = synthetic()
    table = gs.ScoreTable(score)
    first = gs.select(table, range(1, 16), LAMS, xi=0.05)
    n = len(calls)
    assert n == len(table.table)  # every configuration trained once
    again = gs.select(table.frozen(), range(1, 16), LAMS, xi=0.05)
    assert again.choice == first.choice and len(calls) == n
    with pytest.raises(gs.NotEvaluated):
        gs.select(table.frozen(), range(1, 16), LAMS, xi=0.03)  # needs K + L = 9, never trained


def test_paper_curves_under_our_definitions():
    mnist, fmnist = gs.PAPER_CURVES["mnist_3_8"], gs.PAPER_CURVES["fmnist_0_3_4"]
    # MNIST 3/8: a 1.5% threshold reproduces the paper's (K + L, K, lambda) = (8, 1, 0.05) ...
    assert gs.paper_curve_selection(mnist, 0.015) == {"K + L": 8, "K": 1, "λ": 0.05, "paper K + L": 8,
                                                      "paper K": 1, "paper λ": 0.05}
    # ... seed 000's 5% gives K + L = 3 and lambda = 0.01 on the same curves
    assert {k: gs.paper_curve_selection(mnist, 0.05)[k] for k in ("K + L", "λ")} == {"K + L": 3, "λ": 0.01}
    # FMNIST: no threshold picks the paper's K + L = 6 from its own D curve
    assert all(gs.paper_curve_selection(fmnist, xi)["K + L"] != 6 for xi in np.linspace(0, 0.3, 61))


def test_spearman():
    assert gs.spearman([1, 2, 3, 4], [10, 5, 2, 1]) == pytest.approx(-1.0)
    assert gs.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert gs.spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(math.sqrt(3) / 2)  # ties share a rank
    assert math.isnan(gs.spearman([1, 2], [2, 1])) and math.isnan(gs.spearman([1, 2, 3], [5, 5, 5]))


def test_data_term_is_sse_plus_kl_per_sample():
    from lib.gce.models import VAE

    torch.manual_seed(0)
    model, x = VAE(0, 2), torch.rand(7, 1, 28, 28)
    d = gs.data_term(model, x, seed=1, batch_size=3)
    assert d == pytest.approx(gs.data_term(model, x, seed=1, batch_size=7), rel=1e-5)  # batching-independent
    recon = model.decoder(model.encoder(x)[0])
    assert d > 0.5 * (recon - x).pow(2).sum().item() / len(x)  # of the order of the SSE of the posterior mean


def test_gce_scorer_trains_each_configuration_once(isolated_cache):
    from lib.gce.models import CNNClassifier

    torch.manual_seed(0)
    classifier, x = CNNClassifier(2).eval(), torch.rand(12, 1, 28, 28)
    scorer = gs.GCEScorer(classifier, x[:8], x[8:], steps=2, batch_size=4, lr=1e-3, n_alpha=2, n_beta=2,
                          eval_n_alpha=3, eval_n_beta=2, seed=0)
    table = gs.ScoreTable(scorer)
    c0, d0 = table(0, 2, 0.0)          # step 1: a plain VAE, no causal term
    c1, d1 = table(1, 1, 0.01)
    assert math.isnan(c0) and d0 > 0 and d1 > 0 and c1 >= -1e-6
    table(1, 1, 0.01)                  # memoised: no second call
    assert [(r["K"], r["cached"]) for r in scorer.runs] == [(0, False), (1, False)]
    again = gs.GCEScorer(classifier, x[:8], x[8:], 2, 4, 1e-3, 2, 2, 3, 2, seed=0)
    assert again(1, 1, 0.01) == pytest.approx((c1, d1))  # the model cache returns the same model
    assert again.runs[-1]["cached"]
    assert len(list(isolated_cache.glob("*.pt"))) == 2


def test_tuning_figure_draws_every_k_of_the_grid():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    score, _ = synthetic()
    table = gs.ScoreTable(score)
    for d in range(1, 10):
        table(0, d, 0.0)
    sel = gs.select(table, range(1, 10), LAMS, xi=0.05, k_max=5)  # stops after K = 4
    fig = gs.tuning_figure(table, sel, LAMS, range(1, 6), gs.PAPER_CURVES["mnist_3_8"], xi_approach=0.05)
    c_panel = fig.axes[1]
    assert list(c_panel.lines[0].get_xdata()) == [1, 2, 3, 4, 5]
    assert len(fig.axes[2].lines) == 5 + 1 + 1  # one line per K, the paper's, the step-1 target
    plt.close(fig)
