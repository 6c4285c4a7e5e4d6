"""Each CGN figure draws from the experiments' tables and tensors: panels, rows and labels where expected."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from lib.cgn import figures
from lib.cgn.model import CGN


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def row_labels(fig) -> list[str]:
    return [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]


def test_image_grids():
    images = torch.rand(10, 3, 32, 32)
    fig = figures.image_rows({"a": images, "grey": images[:, :1]}, column_labels=list(range(10)), title="t")
    assert len(fig.axes) == 20 and row_labels(fig) == ["a", "grey"] and fig.axes[3].get_title() == "3"
    labels = torch.tensor([0, 1, 1, 3])
    fig = figures.class_examples({"set": (images[:4], labels)})
    assert len(fig.axes) == 10 and [len(ax.images) for ax in fig.axes[:4]] == [1, 1, 0, 1]  # no 2 in the set


def test_mechanism_samples_and_counterfactual_grid():
    torch.manual_seed(0)
    cgns = {"a": CGN(ngf=4), "b": CGN(ngf=4)}
    fig = figures.mechanism_samples(cgns, parts=("mask", "composite"))
    assert row_labels(fig) == ["a: mask", "a: composite", "b: mask", "b: composite"]
    fig = figures.counterfactual_grid(cgns["a"], [3, 7], n_columns=4)
    assert row_labels(fig) == ["shape 3", "shape 7"] and fig.axes[1].get_title() == "t1/b6"


def test_intact_histogram_has_one_bar_group_per_configuration():
    collapse = pd.DataFrame({"configuration": ["with", "with", "without"], "intact masks": [10, 9, 0]})
    fig = figures.intact_histogram(collapse, reference={"with": 0.75})
    ax, = fig.axes
    assert len(ax.patches) == 22 and "75%" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["with", "without"]


def test_accuracy_bars_and_ablation_curves():
    results = pd.DataFrame([{"variant": v, "data": d, "seed": s, "test": 0.5, "size": size, "no_cfs": 1}
                            for v in ("colored", "wildlife") for d in ("original", "CGN") for s in (0, 1)
                            for size in (100, 1000)])
    fig = figures.accuracy_bars(results, {"paper": {"colored": {"CGN": (99.7, 95.1)}}})
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["colored", "wildlife"]
    assert {"original", "CGN", "paper"} == {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    fig = figures.ablation_curves(results, {"colored": {10_000: 91.0}})
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].get_lines()) >= 2


def test_gradcam_examples_and_feature_tsne():
    n = 12
    maps = {name: {"maps": torch.rand(n, 32, 32), "test": torch.randn(n, 8), "cf": torch.randn(n, 8)}
            for name in ("O", "CF")}
    shown = {**maps, "images": torch.rand(n, 3, 32, 32), "masks": (torch.rand(n, 1, 32, 32) > 0.5).float(),
             "test labels": torch.arange(n) % 10, "cf labels": torch.arange(n) % 10}
    fig = figures.gradcam_examples(shown, n=5)
    assert len(fig.axes) == 4 * 5 and row_labels(fig) == ["image", "digit mask", "O Grad-CAM", "CF Grad-CAM"]
    fig = figures.feature_tsne(shown)
    assert [ax.get_title() for ax in fig.axes] == [
        "trained on original data\noriginal test images", "trained on original data\ncounterfactual images",
        "trained on CGN data\noriginal test images", "trained on CGN data\ncounterfactual images"]
