"""Verdict records, criteria as data and the smoke regression check."""
from __future__ import annotations

import json

import pytest

from lib.report import verdict
from lib.report.verdict import VerdictLog, above, at_least, at_most, below, between, format_value, load_records, summarise


def test_summarise():
    assert summarise([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert summarise([0.5]) == (0.5, None, 1)
    assert summarise(0.25) == (0.25, None, 1)
    with pytest.raises(ValueError):
        summarise([])


def test_check_records_mean_sd_and_verdict(make_log):
    log = make_log()
    many = log.check("accuracy", [0.9, 0.8, 1.0], at_least(0.8), paper=0.95)
    one = log.check("flow", 0.3, at_least(0.5))
    assert many["ours"]["mean"] == pytest.approx(0.9)
    assert many["ours"]["sd"] == pytest.approx(0.1)
    assert many["ours"]["n"] == 3 and many["ours"]["values"] == [0.9, 0.8, 1.0]
    assert many["verdict"] == "reproduced" and many["paper"] == 0.95
    assert one["ours"] == {"mean": 0.3, "sd": None, "n": 1, "values": [0.3]}
    assert one["verdict"] == "not reproduced" and one["passed"] is False
    assert many["claim"] == "C1 flow" and many["seeds"] == [0, 1, 2] and many["profile"] == "smoke"
    assert log.records == [many, one]


def test_format_value():
    assert format_value(2.0, 1.0) == "2.000 ± 1.000"
    assert format_value(0.12345, None, digits=2) == "0.12"
    assert format_value(None) == "n/a"


def test_save_writes_one_json_per_metric_and_load_reads_them_sorted(make_log, tmp_path):
    first, second = make_log("C2 sweep"), make_log("C1 flow")
    first.check("b metric", [1, 2], at_least(1))
    first.check("a metric", [3], at_most(2))
    second.check("z metric", [4, 5, 6], at_least(4))
    paths = first.save(tmp_path) + second.save(tmp_path)
    assert len(paths) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert all(p.suffix == ".json" for p in paths)
    assert json.loads(paths[0].read_text()) == first.records[0]

    loaded = load_records(tmp_path)
    assert [(r["claim"], r["metric"]) for r in loaded] == [
        ("C1 flow", "z metric"), ("C2 sweep", "a metric"), ("C2 sweep", "b metric")]
    assert loaded[0] == second.records[0]


def test_saving_again_overwrites_instead_of_duplicating(make_log, tmp_path):
    log = make_log()
    log.check("accuracy", [0.5], at_least(0.8))
    log.save(tmp_path)
    log.records[0]["passed"] = True
    log.save(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    assert load_records(tmp_path)[0]["passed"] is True


@pytest.mark.parametrize("values, expected", [
    ([1.0, 2.0, 3.0], 4.0),              # 4 seed-to-seed sd
    ([0.5, 0.5, 0.5], 0.025),            # no spread: the floor 0.02 + 1 % of the mean
    ([-200.0, -200.0], 2.02),            # the floor scales with |mean|
    ([0.0, float("nan")], 0.02),         # non-finite values do not enter the spread
])


def test_tolerance_known_answers(values, expected):
    assert verdict.tolerance(values) == pytest.approx(expected)


def test_tolerance_of_a_stepped_quantity_is_at_least_one_step():
    assert verdict.tolerance([0.0] * 5, resolution=1) == 1
    assert verdict.tolerance([1.0, 2.0, 3.0], resolution=1) == pytest.approx(4.0)


def test_baseline_entry_and_compare():
    entry = verdict.baseline_entry([1.0, 2.0, 3.0])
    assert entry == {"values": [1.0, 2.0, 3.0], "mean": 2.0, "tolerance": pytest.approx(4.0)}
    assert verdict.compare(5.9, entry) is None and verdict.compare(-1.9, entry) is None
    assert "outside baseline 2 ± 4" in verdict.compare(6.1, entry)
    assert verdict.compare(float("nan"), entry) is not None
    assert "no baseline" in verdict.compare(1.0, None)
    never_finite = verdict.baseline_entry([float("nan")] * 3)
    assert never_finite["mean"] is None
    assert verdict.compare(float("nan"), never_finite) is None and verdict.compare(0.0, never_finite) is not None
    with pytest.raises(ValueError, match="finite for some seeds only"):
        verdict.baseline_entry([1.0, float("nan")])


@pytest.fixture


def baselines(tmp_path, monkeypatch):
    """An empty baseline folder in place of notebooks/baselines/, with no record file requested."""
    monkeypatch.setattr(verdict, "BASELINES", tmp_path)
    monkeypatch.delenv(verdict.RECORD_ENV, raising=False)
    return tmp_path


def checked_log(make_log) -> VerdictLog:
    log = make_log()
    log.check("accuracy", [0.9, 0.8, 1.0], at_least(0.8))
    log.check("seconds ratio", [6.0], at_least(4), check="verdict")
    log.check("not compared", [0.1], at_least(0.5), check="none")
    log.track("final loss", [2.0, 2.2], resolution=0.5)
    return log


def test_regression_check_passes_within_tolerance_and_fails_outside(make_log, baselines):
    (baselines / "gce_headline.json").write_text(json.dumps({
        "checked": {"accuracy": verdict.baseline_entry([0.88, 0.9, 0.92]),
                    "final loss": verdict.baseline_entry([2.0, 2.1, 2.2]),
                    "dropped quantity": verdict.baseline_entry([1.0, 1.0])},
        "verdicts": {"seconds ratio": "reproduced"}}))
    lines = checked_log(make_log).regression_check().splitlines()
    assert lines[:3] == ["✓ accuracy", "✓ final loss", "✓ seconds ratio: reproduced"]
    assert lines[3].startswith("✗ dropped quantity: in the baseline but not measured")
    assert not any("not compared" in line for line in lines)

    changed = make_log()
    changed.check("accuracy", [0.5], at_least(0.8))
    changed.check("seconds ratio", [2.0], at_least(4), check="verdict")
    lines = changed.regression_check().splitlines()
    assert lines[0].startswith("✗ accuracy: 0.5, outside baseline 0.9")
    assert lines[1] == "✗ seconds ratio: not reproduced, baseline reproduced"


def test_regression_check_records_for_the_baseline(make_log, baselines, monkeypatch):
    target = baselines / "run.json"
    monkeypatch.setenv(verdict.RECORD_ENV, str(target))
    text = checked_log(make_log).regression_check()
    assert text.splitlines() == ["✓ accuracy", "✓ final loss", "✓ seconds ratio: reproduced"]
    stored = json.loads(target.read_text())
    assert stored["checked"] == {"accuracy": pytest.approx(0.9), "final loss": pytest.approx(2.1)}
    assert stored["resolution"] == {"final loss": 0.5}
    assert stored["verdicts"] == {"seconds ratio": "reproduced"}


def test_regression_check_needs_a_baseline_and_the_smoke_profile(make_log, baselines):
    assert "✗ accuracy: no baseline" in checked_log(make_log).regression_check()
    other = VerdictLog("C", "gce_headline.ipynb", "cpu", [0], "CPU", {})
    other.check("accuracy", [0.9], at_least(0.8))
    assert "smoke profile only" in other.regression_check()


def test_a_quantity_is_checked_once_and_check_modes_are_known(make_log):
    log = make_log()
    log.check("accuracy", [0.9], at_least(0.8))
    with pytest.raises(ValueError, match="checked twice"):
        log.track("accuracy", 0.9)
    with pytest.raises(ValueError, match="check must be"):
        log.check("flow", [0.3], at_least(0.5), check="rounded")


@pytest.mark.parametrize("criterion, values, passes, text", [
    (at_least(0.75), [0.74, 0.69, 1.0], True, "≥ 0.75"),        # the mean (0.81) decides
    (at_least(0.75), [0.7, 0.8], True, "≥ 0.75"),               # equality passes
    (at_least(0.9, "paper − 0.015"), [0.8], False, "≥ 0.9 (paper − 0.015)"),
    (at_most(0.25), [0.2, 0.4], False, "≤ 0.25"),
    (at_most(0.25), 0.25, True, "≤ 0.25"),
    (between(20.85, 34.75, "within 25% of paper"), [27.8], True, "in [20.85, 34.75] (within 25% of paper)"),
    (between(0.0, 1.0), [1.5, 0.6], False, "in [0, 1]"),
    (above(0.0), [0.0], False, "> 0"),                          # strict: a tie fails
    (above(0.0), [-0.1, 0.3], True, "> 0"),
    (below(1.0), [1.0], False, "< 1"),
    (below(1.0), [0.5, 1.2], True, "< 1"),
])


def test_criterion_text_and_test_come_from_one_object(make_log, criterion, values, passes, text):
    assert criterion.passes(values) is passes
    assert str(criterion) == text
    record = make_log().check("m", values, criterion)
    assert record["passed"] is passes and record["criterion_text"] == text
    assert record["verdict"] == ("reproduced" if passes else "not reproduced")
    threshold = criterion.threshold
    assert record["criterion"] == {"op": criterion.op,
                                   "threshold": list(threshold) if isinstance(threshold, tuple) else threshold}


@pytest.mark.parametrize("op, threshold", [("==", 1.0), (">=", (0.0, 1.0)), ("between", 1.0)])


def test_malformed_criteria_are_refused(op, threshold):
    with pytest.raises(ValueError):
        verdict.Criterion(op, threshold)


def test_check_takes_numpy_values(make_log):
    np = pytest.importorskip("numpy")
    record = make_log().check("m", np.array([0.5, 1.5]), at_least(1.0))
    assert record["ours"]["values"] == [0.5, 1.5] and record["passed"]
    assert make_log().check("one", np.float64(0.5), at_most(1.0))["ours"]["values"] == [0.5]
