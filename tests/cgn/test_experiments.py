"""The CGN experiments: the tidy tables and the verdict helpers on hand-made results, and every experiment
end to end on the synthetic MNIST with tiny models."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from lib.cgn import experiments as E
from lib.core.train import Fit


def test_per_seed_filters_sorts_by_seed_and_scales():
    results = pd.DataFrame({"variant": ["a", "a", "b", "a"], "seed": [2, 0, 0, 1], "test": [0.3, 0.1, 0.9, 0.2]})
    assert E.per_seed(results, "test", variant="a") == [0.1, 0.2, 0.3]
    assert E.per_seed(results, "test", 100, variant="b") == [90.0]


def test_edge_loss_runs_are_per_seed_indicators_and_differences():
    collapse = pd.DataFrame({"configuration": ["with edge loss"] * 3 + ["without edge loss"] * 3,
                             "seed": [2, 0, 1, 0, 1, 2], "intact masks": [10, 9, 10, 10, 0, 3]})
    with_edge, more = E.edge_loss_runs(collapse)
    assert with_edge == [0.0, 1.0, 1.0]  # seeds 0, 1, 2
    assert more == [-1.0, 1.0, 1.0]      # seed 0 kept all ten masks only without the edge loss


def ablation_results(**changes) -> pd.DataFrame:
    """Two seeds of "all losses" and of "no edge"; ``changes`` sets the latter's columns (one value or two)."""
    rows = [{"configuration": name, "seed": seed, "intact masks": 10, "shape accuracy on masks": 0.9,
             "μ_mask": 0.2, "classifier test accuracy": 0.8} for name in (E.ALL_LOSSES, "no edge") for seed in (0, 1)]
    results = pd.DataFrame(rows)
    for column, value in changes.items():
        results.loc[results.configuration == "no edge", column] = value
    return results


def test_loss_changes_are_per_seed_drops_against_all_losses():
    changes = E.loss_changes(ablation_results(**{"classifier test accuracy": [0.7, 0.85], "intact masks": [8, 10],
                                                 "shape accuracy on masks": [0.6, 0.9]}), "no edge")
    assert changes["test accuracy"] == pytest.approx([0.1, -0.05])
    assert changes["broken masks"] == [2, 0] and changes["shape accuracy"] == pytest.approx([0.3, 0.0])


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # the style term is NaN throughout: switched off
def test_training_summary_reads_the_loss_curves():
    history = {"adversarial": [9.0] * 18 + [1.0, 3.0], "discriminator": [0.5] * 20, "mask_entropy": [0.1] * 20,
               "style": [math.nan] * 20, "edge": [0.0] * 20, "seconds": 4.0, "steps": 20}
    table = E.training_summary({("colored", E.ALL_LOSSES, 0): Fit(None, history, True)})
    row = table.iloc[0]
    assert (row["variant"], row["configuration"], row["seed"], row["cached"]) == ("colored", E.ALL_LOSSES, 0, True)
    assert row["adversarial"] == 2.0 and row["seconds per step"] == 0.2 and math.isnan(row["style"])
    assert list(table.columns[-5:]) == list(E.LOSS_COLUMNS)


def test_table3_and_ablation_tables():
    results = pd.DataFrame({"variant": ["colored"] * 2, "data": ["CGN"] * 2, "seed": [0, 1], "train": [0.9, 1.0],
                            "test": [0.5, 0.7], "real train": [0.2, 0.2]})
    table = E.table3(results, {"paper": {"colored": {"CGN": (99.7, 95.1)}}, "other": {}})
    assert table.loc[("colored", "CGN")].tolist() == ["95.0 ± 7.1", "60.0 ± 14.1", "20.0 ± 0.0", "99.7 / 95.1", "–"]
    runs = pd.DataFrame({"variant": ["colored"] * 3, "size": [100, 100, 200], "no_cfs": [1, 1, 1], "seed": [0, 1, 0],
                         "test": [0.5, 0.7, 0.9]})
    by_size = E.ablation_by_size(runs, {"colored": {200: 91.0}})
    assert by_size["mean"].tolist() == [60.0, 90.0] and by_size["paper"].iloc[1] == 91.0
    assert math.isnan(by_size["paper"].iloc[0])


TINY = dict(cgn_steps=2, cgn_ngf=4, progress=False)


@pytest.mark.slow
def test_generator_seed_trains_one_generator_for_every_seed(mnist_root, monkeypatch):
    cpu, trained = torch.device("cpu"), []
    for name in ("fit_cgn", "fit_gan"):
        real = getattr(E, name)
        monkeypatch.setattr(E, name, lambda *a, _f=real, _n=name, **k: trained.append((_n, k["seed"])) or _f(*a, **k))
    sets = [E.training_sets("colored", seed, cpu, n_original=20, n_generated=20, gan_steps=2, generator_seed=0, **TINY)
            for seed in (1, 2)]
    assert trained == [("fit_gan", 0), ("fit_cgn", 0)] * 2
    assert not torch.equal(sets[0]["CGN"][0], sets[1]["CGN"][0])  # each seed draws its own images
    runs = E.cgn_runs(["colored"], [1, 2], cpu, steps=2, ngf=4, generator_seed=0, progress=False)
    assert trained[4:] == [("fit_cgn", 0)] * 2 and all(fit.cached for fit in runs.values())


@pytest.mark.slow
def test_every_experiment_runs_end_to_end(mnist_root):
    cpu = torch.device("cpu")
    results, examples = E.robustness(["colored"], [0], cpu, n_original=40, n_generated=40, gan_steps=2, epochs=1,
                                     n_test=50, **TINY)
    assert results["data"].tolist() == ["original", "GAN", "CGN", "original + GAN", "original + CGN"]
    assert results["images"].tolist() == [40, 40, 40, 80, 80] and results[["train", "test"]].le(1).all().all()
    assert set(examples["colored"]) == set(results["data"]) and len(examples["colored"]["original"][0]) == 10

    ablation = E.ablation(["colored"], [0], cpu, sizes=[20, 40], ratios=[1, 2], epochs=1, n_test=50, **TINY)
    assert list(zip(ablation["size"], ablation["no_cfs"])) == [(20, 1), (40, 1), (40, 2)]

    explained, shown = E.explanations(["colored"], [0], cpu, n_original=40, n_generated=40, epochs=1, n_explain=30,
                                      **TINY)
    assert explained["classifier"].tolist() == ["O", "CF"] and explained["Grad-CAM IoU"].between(0, 1).all()
    assert shown["colored"]["O"]["maps"].shape == (30, 32, 32) and shown["colored"]["masks"].shape == (30, 1, 32, 32)

    runs = E.cgn_runs(["colored"], [0], cpu, steps=2, ngf=4, progress=False)
    assert next(iter(runs.values())).cached  # the CGN of the experiments above
    classifier, accuracy = E.shape_classifier(cpu, epochs=1, progress=False)
    quality = (E.mask_quality(runs, classifier, 5).merge(E.cue_accuracies(runs, 20))
               .merge(E.downstream_accuracy(runs, 30, epochs=1, progress=False)))
    assert len(quality) == 1 and 0 <= accuracy <= 1 and 0 <= quality["intact masks"].iloc[0] <= 10
    assert {"μ_mask", "texture cue accuracy", "classifier test accuracy"} <= set(quality.columns)
    collapse = E.collapse_study("colored", [0, 1], cpu, classifier, steps=2, ngf=4, n_per_class=5, progress=False)
    assert collapse["configuration"].tolist() == ["with edge loss"] * 2 + ["without edge loss"] * 2


def _collapse_tool():
    """tools/collapse_study.py as a module (tools/ is not a package)."""
    path = Path(__file__).resolve().parents[2] / "tools" / "collapse_study.py"
    spec = importlib.util.spec_from_file_location("collapse_study", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("per_step, runs, workers, left, cap, expected", [
    (0.01, 40, 20, 400, 46875, 20000),   # 2 rounds of 0.01 s steps in 400 s: 20,000
    (0.01, 40, 40, 400, 46875, 40000),
    (0.001, 40, 40, 400, 46875, 46875),  # capped at the paper's length
    (0.01, 40, 20, 9, 46875, 0),         # not even 500 steps fit
])
def test_steps_that_fit_share_the_runs_over_the_workers(per_step, runs, workers, left, cap, expected):
    assert _collapse_tool().steps_that_fit(per_step, runs, workers, left, cap) == expected


def test_the_collapse_command_refuses_a_page_at_another_width_before_any_compute(capsys):
    with pytest.raises(SystemExit):
        _collapse_tool().main(["--device", "cpu", "--ngf", "4"])
    assert "width 32" in capsys.readouterr().err


@pytest.mark.slow
def test_the_gpu_collapse_command_dry_run_fills_the_cache_the_page_reads(mnist_root, isolated_cache, tmp_path):
    """The prepared GPU command on a CPU (issue 13): 2 runs x 50 steps trained in two worker processes land in
    the cache under the keys of the page's collapse study."""
    timing = tmp_path / "timing.json"
    subprocess.run([sys.executable, str(Path(_collapse_tool().__file__)), "--device", "cpu", "--seeds", "1",
                    "--steps", "50", "--min-steps", "50", "--multiple", "50", "--ngf", "4", "--workers", "2",
                    "--probe-steps", "2", "--no-page", "--report", str(timing)],
                   check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    report = json.loads(timing.read_text())
    assert report["steps"] == 50 and [run["cached"] for run in report["trained"]] == [False, False]
    runs = E.cgn_runs(["colored"], [0], torch.device("cpu"), steps=50, ngf=4, configurations=E.EDGE_CONFIGURATIONS,
                      progress=False)
    assert [fit.cached for fit in runs.values()] == [True, True]
