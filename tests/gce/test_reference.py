"""The paper's settings and the reproductions' numbers, with their sources."""
from __future__ import annotations


from lib.gce import reference


def test_settings_and_numbers_cover_the_same_data_sets():
    assert set(reference.GCE_SETTINGS) == set(reference.GCE_NUMBERS)
    for name, s in reference.GCE_SETTINGS.items():
        flow = reference.GCE_NUMBERS[name].get("factor_flow", {}).get("seed 000")
        assert flow is None or len(flow) == s["k"] + s["l"]


def test_seed000_measures_only_for_fashion_mnist():
    """Seed 000's report has per-factor numbers only for Fashion-MNIST (its Figure 3)."""
    partial = reference.seed000_measures("fmnist_0_3_4")  # β flows not read off the chart: no leak ratio
    assert partial["β leak"] == {} and partial["α ablation drop"] == {"seed 000": 0.12}
    assert partial["largest β ablation drop"] == {"seed 000": 0.08}
    for dataset in ("mnist_3_8", "mnist_1_4_9", "mnist_10"):
        assert reference.seed000_measures(dataset) == {"flow": None, "removed": None, "β leak": {},
                                                       "α ablation drop": {}, "largest β ablation drop": {}}


def test_sources_of_settings_and_reproduction_numbers():
    fmnist = reference.GCE_SETTINGS["fmnist_0_3_4"]
    assert (fmnist["batch_size"], fmnist["lr"]) == (32, 1e-4)  # seed 000 Table 4
    assert reference.GCE_CLASSIFIER_NUMBERS["accuracy"]["seed 001"]["inception"] == 0.99  # seed 001 Sec. 4.1.1
