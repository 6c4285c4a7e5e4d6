"""Each figure draws from the experiments' tidy tables: panels, lines and annotations where expected."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from lib.labelfree import figures


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_metric_curves_draw_one_panel_per_data_set_and_one_line_per_method():
    frame = pd.DataFrame([{"data": name, "method": method, "fraction": f, "seed": seed, "shift": f * (seed + 1)}
                          for name in ("MNIST", "ECG5000") for method in ("IG", "Random", "Saliency")
                          for f in (0.1, 0.5) for seed in (0, 1)])
    fig = figures.metric_curves(frame, "shift", "latent shift", "masking", methods=["IG", "Random"])
    assert [ax.get_title() for ax in fig.axes] == ["MNIST: masking", "ECG5000: masking"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["IG", "Random"]
    assert fig.axes[0].get_xlabel() == "% of features masked"


def test_pcc_vs_beta_panels_and_reference_band():
    table = pd.DataFrame([{"data": name, "tv_weight": 0.0, "kind": kind, "beta": beta, "seed": seed, "pcc": 0.1 * beta}
                          for name in ("mnist", "dsprites") for kind in ("beta", "tc") for beta in (1, 5)
                          for seed in (0, 1)])
    fig = figures.pcc_vs_beta(table, "data", "title", reference={"mnist": (0.0, 0.2)}, ref_label="band",
                              panel="{} panel")
    assert [ax.get_title() for ax in fig.axes] == ["mnist panel", "dsprites panel"]
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"β-VAE", "β-TC-VAE", "band"}


def test_unit_saliency_grids():
    images, maps = np.random.rand(2, 1, 5, 5), np.random.rand(2, 3, 5, 5)
    fig = figures.unit_saliency_grid(images, maps, "t", column=["R", "D", "I"])
    assert len(fig.axes) == 2 * 4 and fig.axes[1].get_title() == "R"
    table = pd.DataFrame({"beta": [1, 5]})
    table.attrs["examples"] = {("d", 0.0, "tc", beta, 0): maps for beta in (1, 5)}
    figs = figures.unit_saliency_examples(table, {"d": (None, torch.rand(2, 1, 5, 5))}, "tc", seed=0, n=2)
    assert len(figs) == 2 and figs[1]._suptitle.get_text() == "d, β-TC-VAE, β = 5, seed 0"


def test_pcc_matrices_annotate_mean_and_sd_below_the_diagonal():
    pccs = pd.DataFrame([{"seed": seed, "variant": "saliency", "pair": pair, "pcc": value + 0.1 * seed}
                         for seed in (0, 1) for pair, value in (("R-D", 0.4), ("R-C", 0.2), ("D-C", 0.3))])
    fig = figures.pcc_matrices(pccs, ["R", "D", "C"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.45\n±0.05", "0.25\n±0.05", "0.35\n±0.05"]  # rows D, C: (D, R), (C, R), (C, D)
