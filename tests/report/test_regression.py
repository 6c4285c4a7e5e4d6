"""Measuring the smoke regression baselines (lib.report.regression) without running notebooks."""
from __future__ import annotations

import json

import pytest

from lib.report import regression, verdict
from lib.report.runner import available_notebooks


@pytest.mark.parametrize("name", available_notebooks())
def test_every_notebook_takes_its_seed_from_the_parameters_cell(name):
    assert regression.seed_parameter(name) in ("seeds", "seed")


def write_runs(folder, runs):
    paths = []
    for i, run in enumerate(runs):
        paths.append(folder / f"run-{i}.json")
        paths[-1].write_text(json.dumps(run))
    return paths


@pytest.fixture
def baselines(tmp_path, monkeypatch):
    folder = tmp_path / "baselines"
    monkeypatch.setattr(regression, "BASELINES", folder)
    return folder


def test_write_baseline_combines_seeds(tmp_path, baselines):
    runs = [{"checked": {"a": a, "b": 1.0, "c": 0.0}, "resolution": {"c": 1}, "verdicts": {"t": "reproduced"}}
            for a in (1.0, 2.0, 3.0)]
    path = regression.write_baseline("nb", write_runs(tmp_path, runs))
    stored = json.loads(path.read_text())
    assert path == baselines / "nb.json" and stored["seeds"] == 3
    assert stored["checked"]["a"] == verdict.baseline_entry([1.0, 2.0, 3.0])
    assert stored["checked"]["b"]["tolerance"] == pytest.approx(0.03)
    assert stored["checked"]["c"]["tolerance"] == 1
    assert stored["verdicts"] == {"t": "reproduced"}


@pytest.mark.parametrize("runs, message", [
    ([{"checked": {"a": 1.0}, "verdicts": {}}, {"checked": {"b": 1.0}, "verdicts": {}}], "different quantities"),
    ([{"checked": {}, "verdicts": {"t": v}} for v in ("reproduced", "not reproduced")], "differ between seeds"),
])
def test_write_baseline_refuses_inconsistent_seeds(tmp_path, baselines, runs, message):
    with pytest.raises(ValueError, match=message):
        regression.write_baseline("nb", write_runs(tmp_path, runs))
    assert not baselines.exists()


def test_bad_arguments_fail_before_any_run(capsys):
    with pytest.raises(SystemExit):
        regression.main(["no_such_notebook"])
    with pytest.raises(SystemExit):
        regression.main(["gce_cost", "--seeds", "1"])
    assert "unknown notebook" in capsys.readouterr().err
