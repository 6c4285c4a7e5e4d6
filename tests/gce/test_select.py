"""Algorithm 1's selection logic on synthetic curves with known answers (``lib.gce.toys.tuning_score``: no
training), the grid run around it and its tables, and the verdict helpers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.gce import reference
from lib.gce import select as gs
from lib.gce.toys import tuning_d_curve, tuning_score


LAMS = gs.lambda_grid(1e-3, 10 ** 0.5, 5)  # 0.001, 0.003162, 0.01, 0.03162, 0.1


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
    values = [tuning_d_curve(d) for d in range(1, 16)]
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
    score, calls = tuning_score()
    sel = gs.select(score, range(1, 16), LAMS, xi=0.05)
    # step 1: improvement 7 -> 8 is 4.7% <= 5%: K + L = 7; lambda: first excess <= 5% is 2% at 0.01;
    # C: 0.665 -> 0.687 is 3.3%: the plateau starts after K = 3.
    assert (sel.step1_total, sel.total) == (7, 7)
    assert sel.choice == (3, 4, 0.01)
    assert sel.D1 == pytest.approx(tuning_d_curve(7))
    assert sel.step1_plateau and sel.step2_plateau and sel.flags() == ""
    assert [d for d, _ in sel.step1] == list(range(1, 9))  # stops once the plateau is seen
    assert [s["k"] for s in sel.step2] == [1, 2, 3, 4]
    assert all(s["approached"] and [t[0] for t in s["tried"]] == LAMS[:3] for s in sel.step2)
    assert max(k for k, _, _ in calls) == 4 and max(lam for _, _, lam in calls) == 0.01


def test_select_thresholds_move_the_choice():
    score, _ = tuning_score()
    assert gs.select(score, range(1, 16), LAMS, xi=0.03).choice == (4, 5, 0.01)      # K+L 9, C step 1.2%
    assert gs.select(score, range(1, 16), LAMS, xi=0.05, xi_approach=0.01).lam == 0.03162
    assert gs.select(score, range(1, 16), LAMS, xi=0.05, window=2).choice == (3, 4, 0.01)


def test_select_with_flat_c_keeps_the_first_k_as_the_paper():
    score, _ = tuning_score(c_of_k=lambda k: 0.675)
    assert gs.select(score, range(1, 16), LAMS, xi=0.01).k == 1


def test_select_pinned_total_and_k_max():
    score, _ = tuning_score()
    sel = gs.select(score, range(1, 16), LAMS, xi=0.05, total=10, k_max=2)
    assert sel.step1_total == 7 and sel.total == 10
    assert sel.D1 == pytest.approx(tuning_d_curve(10))
    assert [s["k"] for s in sel.step2] == [1, 2] and not sel.step2_plateau
    assert sel.choice == (2, 8, 0.01)  # C never plateaued within K <= 2: the last K
    assert "C: no plateau" in sel.flags()


def test_select_reports_grids_that_end_too_early():
    score, _ = tuning_score()
    sel = gs.select(score, range(1, 5), LAMS[:2], xi=0.05)
    assert not sel.step1_plateau and sel.step1_total == 4
    assert not any(s["approached"] for s in sel.step2)
    assert all(s["lam"] == LAMS[1] for s in sel.step2)
    assert "D: no plateau" in sel.flags() and "λ grid ended" in sel.flags()


@pytest.mark.parametrize("kwargs", [dict(total_dims=[2, 1]), dict(total_dims=[]), dict(lams=[0.1, 0.01]),
                                    dict(lams=[0.0, 0.1])])
def test_select_rejects_bad_grids(kwargs):
    score, _ = tuning_score()
    args = {"total_dims": range(1, 5), "lams": LAMS, **kwargs}
    with pytest.raises(ValueError):
        gs.select(score, args["total_dims"], args["lams"], xi=0.05)


def test_score_table_memoises_and_frozen_never_trains():
    score, calls = tuning_score()
    table = gs.ScoreTable(score)
    first = gs.select(table, range(1, 16), LAMS, xi=0.05)
    n = len(calls)
    assert n == len(table.table)  # every configuration trained once
    again = gs.select(table.frozen(), range(1, 16), LAMS, xi=0.05)
    assert again.choice == first.choice and len(calls) == n
    with pytest.raises(gs.NotEvaluated):
        gs.select(table.frozen(), range(1, 16), LAMS, xi=0.03)  # needs K + L = 9, never trained


def test_paper_curves_under_our_definitions():
    mnist, fmnist = reference.PAPER_CURVES["mnist_3_8"], reference.PAPER_CURVES["fmnist_0_3_4"]
    # MNIST 3/8: a 1.5% threshold reproduces the paper's (K + L, K, lambda) = (8, 1, 0.05) ...
    assert gs.paper_curve_selection(mnist, 0.015) == {"K + L": 8, "K": 1, "λ": 0.05, "paper K + L": 8,
                                                      "paper K": 1, "paper λ": 0.05}
    # ... seed 000's 5% gives K + L = 3 and lambda = 0.01 on the same curves
    assert {k: gs.paper_curve_selection(mnist, 0.05)[k] for k in ("K + L", "λ")} == {"K + L": 3, "λ": 0.01}
    # FMNIST: no threshold picks the paper's K + L = 6 from its own D curve
    assert all(gs.paper_curve_selection(fmnist, xi)["K + L"] != 6 for xi in np.linspace(0, 0.3, 61))


def test_tune_trains_the_rest_of_the_step2_grid_after_the_algorithm():
    score, calls = tuning_score()
    run = gs.tune(score, range(1, 10), LAMS, xi=0.05, k_max=5)
    assert run.selection.choice == (3, 4, 0.01) and run.k_values == [1, 2, 3, 4, 5]
    assert run.visited == 9 + 4 * 3  # every step-1 K + L, then K = 1 ... 4 with lambda up to 0.01
    assert len(run.table.table) == len(calls) == 9 + 5 * len(LAMS)  # the whole grid, each configuration once
    with pytest.raises(gs.NotEvaluated):
        run.table(1, 7, 0.01)  # lookup-only: step 2 ran at K + L = 7 only


def test_tune_with_a_pinned_total():
    score, _ = tuning_score()
    run = gs.tune(score, range(1, 5), LAMS, xi=0.05, k_max=2, total=10)
    assert (run.selection.step1_total, run.selection.total, run.k_values) == (4, 10, [1, 2])
    assert run.table(0, 10, 0.0)[1] == pytest.approx(tuning_d_curve(10))


def test_threshold_tables_recompute_the_choice_without_training():
    score, calls = tuning_score()
    run = gs.tune(score, range(1, 16), LAMS, xi=0.05, k_max=5)
    n = len(calls)
    table = run.thresholds([0.03, 0.05], reference.PAPER_CURVES["mnist_3_8"])
    assert table["step 1 K + L"].tolist() == [9, 7]  # what step 1 alone would pick
    # step 2 stays at K + L = 7; at 3% the C plateau starts one K later (3.3% > 3%)
    assert table[["K", "L", "λ"]].values.tolist() == [[4, 3, 0.01], [3, 4, 0.01]]
    assert table["paper curves: K + L"].tolist() == [6, 3] and "paper curves: paper K" not in table
    approach = run.approach_thresholds([0.001, 0.01, 0.05])
    assert approach["λ at K = 1"].tolist() == ["0.1*", "0.03162", "0.01"]  # *: the grid ended first
    assert approach["selected (K, L, λ)"].tolist() == ["(3, 4, 0.1)", "(3, 4, 0.03162)", "(3, 4, 0.01)"]
    assert len(calls) == n
    choices = run.choices((1, 7, 0.05), {"seed 000": (1, 9, 0.001)})
    assert choices.loc["ours"].tolist() == [3, 4, 0.01] and choices.loc["seed 000", "L"] == 9


def test_selection_summary_and_step2_table():
    score, _ = tuning_score()
    sel = gs.select(score, range(1, 16), LAMS, xi=0.05)
    assert sel.summary() == ("step 1 chose K + L = 7; step 2 ran at K + L = 7 (target D = "
                             f"{tuning_d_curve(7):.2f}). Plateaus and approaches all inside the grid.")
    table = sel.step2_table()
    assert table.index.tolist() == [1, 2, 3, 4] and table["L"].tolist() == [6, 5, 4, 3]
    assert table["D / step-1 D − 1"].tolist() == pytest.approx([0.02] * 4)  # 0.2 * 0.001 / 0.01
    short = gs.select(score, range(1, 5), LAMS[:2], xi=0.05)
    assert short.flags() in short.summary()


def test_trends_of_our_curves_and_of_the_papers():
    score, _ = tuning_score()
    trends = gs.tune(score, range(1, 10), LAMS, xi=0.05, k_max=5).trends()
    assert trends["ρ(D, K + L)"] == pytest.approx(-1.0) and trends["ρ(D, λ)"] == pytest.approx(-1.0)
    c = [0.7 * (1 - math.exp(-k)) for k in range(1, 5)]  # the K step 2 visited, each at its chosen lambda
    assert trends["C range / mean"] == pytest.approx((max(c) - min(c)) / np.mean(c))
    paper = gs.paper_trends(reference.PAPER_CURVES["mnist_3_8"])
    assert paper == {"ρ(D, K + L)": -0.998, "C range / mean": 0.0, "ρ(D, λ)": -1.0}
    assert gs.paper_trends(None) == dict.fromkeys(paper)


def test_spearman():
    assert gs.spearman([1, 2, 3, 4], [10, 5, 2, 1]) == pytest.approx(-1.0)
    assert gs.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert gs.spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(math.sqrt(3) / 2)  # ties share a rank
    assert math.isnan(gs.spearman([1, 2], [2, 1])) and math.isnan(gs.spearman([1, 2, 3], [5, 5, 5]))
