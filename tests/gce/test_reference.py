"""The paper's settings and seed 000's numbers in the form the headline verdict uses."""
from __future__ import annotations

import pytest

from lib.gce import reference


def test_settings_and_numbers_cover_the_same_data_sets():
    assert set(reference.GCE_SETTINGS) == set(reference.GCE_NUMBERS)
    for name, s in reference.GCE_SETTINGS.items():
        flow = reference.GCE_NUMBERS[name].get("factor_flow", {}).get("seed 000")
        assert flow is None or len(flow) == s["k"] + s["l"]


def test_seed000_measures():
    got = reference.seed000_measures("mnist_3_8")
    assert got["flow"] == [0.68] + [0.02] * 7 and got["removed"] == [0.52] + [0.97] * 7
    assert got["β leak"] == {"seed 000": pytest.approx(round(0.02 / 0.68, 3))}
    assert got["α ablation drop"] == {"seed 000": 0.45} and got["largest β ablation drop"] == {"seed 000": 0.0}
    partial = reference.seed000_measures("fmnist_0_3_4")  # β flows not read off the chart: no leak ratio
    assert partial["β leak"] == {} and partial["α ablation drop"] == {"seed 000": 0.12}
    assert reference.seed000_measures("mnist_10") == {"flow": None, "removed": None, "β leak": {},
                                                      "α ablation drop": {}, "largest β ablation drop": {}}
