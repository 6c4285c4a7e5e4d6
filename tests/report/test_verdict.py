"""Verdict records, criteria as data and the smoke regression check."""
from __future__ import annotations

import json

import pytest

from lib.report import verdict
from lib.report.claims import Claim, Metric
from lib.report.verdict import (Criterion, VerdictLog, at_least, at_most, between, format_value, interval, judge,
                                 load_records, rejudge, summarise)


def test_summarise():
    assert summarise([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert summarise([0.5]) == (0.5, None, 1)
    assert summarise(0.25) == (0.25, None, 1)
    with pytest.raises(ValueError):
        summarise([])


def test_check_records_values_interval_criterion_and_verdict(make_log):
    log = make_log()
    many = log.check("accuracy", [0.9, 0.8, 1.0], paper=0.95)
    one = log.check("flow", 0.3)
    assert many["ours"]["mean"] == pytest.approx(0.9)
    assert many["ours"]["sd"] == pytest.approx(0.1)
    assert many["ours"]["n"] == 3 and many["ours"]["values"] == [0.9, 0.8, 1.0]
    low, high = many["ours"]["interval"]
    assert low == pytest.approx(0.9 - 2.919986 * 0.1 / 3 ** 0.5) and high == pytest.approx(0.9 + 2.919986 * 0.1 / 3 ** 0.5)
    assert many["verdict"] == "inconclusive" and many["paper"] == 0.95  # lower bound 0.73 < 0.8
    assert many["criterion"] == {"op": ">=", "threshold": 0.8} and many["criterion_text"] == "≥ 0.8"
    assert one["ours"] == {"mean": 0.3, "sd": None, "n": 1, "values": [0.3], "interval": [None, None]}
    assert one["verdict"] == "inconclusive"  # one run of a random quantity
    assert many["claim"] == "C1 flow" and many["claim_id"] == "gce_headline/mnist_3_8"
    assert many["seeds"] == [0, 1, 2] and many["profile"] == "smoke" and many["preconditions"] == []
    assert many["deterministic"] is False and many["seeds_needed"] == 2
    assert many["provenance"] == {"profile": "smoke", "seeds": [0, 1, 2], "device": "CPU",
                                  "budget_fraction": None, "budget": ""}
    assert log.records == [many, one]
    assert all(rejudge(r) == r["verdict"] for r in log.records)


def test_only_declared_metrics_are_judged(make_log):
    with pytest.raises(KeyError, match="no metric 'undeclared'"):
        make_log().check("undeclared", [1.0, 2.0])


@pytest.mark.parametrize("values, trained, verdict_", [
    ([0.5, 0.6, 0.7], [0.9, 0.95, 0.8], "reproduced"),
    ([0.5, 0.6, 0.7], [0.9, 0.1, 0.8], "inconclusive"),    # one classifier at chance: cannot judge
    ([-0.5, -0.6, -0.7], [0.9, 0.9, 0.9], "not reproduced"),
])
def test_a_failed_precondition_makes_a_metric_inconclusive(make_log, values, trained, verdict_):
    log = make_log()
    with pytest.raises(RuntimeError, match="measure its preconditions"):
        log.check("gated", values)
    entry = log.precondition("classifier trained", trained)
    assert entry["passed"] is (min(trained) >= 0.5) and entry["criterion"] == {"op": ">=", "threshold": 0.5}
    record = log.check("gated", values)
    assert record["preconditions"] == [entry] and record["verdict"] == verdict_ and rejudge(record) == verdict_
    with pytest.raises(KeyError, match="no precondition"):
        log.precondition("undeclared", [1.0])


def test_the_interval_rule_known_answers():
    # t(0.95, 2) = 2.919986; mean 0.81, sd 0.1682: lower bound 0.527 -> a 3-seed mean of 0.81 cannot pass >= 0.75
    assert judge([0.74, 0.69, 1.0], at_least(0.75)) == "inconclusive"
    assert judge([1.0, 1.002, 1.001], at_least(1.0)) == "inconclusive"  # a tie with the threshold
    assert judge([0.9, 0.91, 0.92], at_least(0.75)) == "reproduced"
    assert judge([0.1, 0.12, 0.11], at_least(0.75)) == "not reproduced"
    assert judge([0.1, 0.12, 0.11], at_most(0.2)) == "reproduced"
    assert judge([0.5, 0.5], at_least(0.5)) == "reproduced"  # no spread: the bound is the mean; ties pass ">="
    assert judge([0.5], at_least(0.1)) == "inconclusive"     # one run of a random quantity
    assert judge([0.5], at_least(0.1), deterministic=True) == "reproduced"
    assert judge([0.5, 2.0], at_least(1.0), deterministic=True) == "inconclusive"
    assert judge([0.5, 0.6], at_least(0.1), seeds_needed=3) == "inconclusive"
    assert judge([0.5, float("nan"), 0.6], at_least(0.1)) == "inconclusive"
    assert judge([0.3, 0.31, 0.32], between(0.2, 0.4)) == "reproduced"
    assert judge([0.6, 0.61, 0.62], between(0.2, 0.4)) == "not reproduced"
    assert judge([0.1, 0.3, 0.5], between(0.2, 0.4)) == "inconclusive"


def test_interval_known_values():
    low, high = interval([1.0, 2.0, 3.0])  # mean 2, sd 1, n 3: half width 2.919986 / sqrt(3)
    assert (low, high) == (pytest.approx(2 - 1.685854, abs=1e-6), pytest.approx(2 + 1.685854, abs=1e-6))
    assert interval([1.0, 3.0]) == (pytest.approx(2 - 6.313752), pytest.approx(2 + 6.313752))  # t(0.95, 1)
    assert interval([4.0]) == (float("-inf"), float("inf"))


@pytest.mark.parametrize("criterion, low, high, expected", [
    (at_least(1.0), 1.0, 2.0, "reproduced"), (at_least(1.0), 0.5, 2.0, "inconclusive"),
    (at_least(1.0), 0.1, 0.9, "not reproduced"), (at_most(1.0), 0.1, 1.0, "reproduced"),
    (at_most(1.0), 1.5, 2.0, "not reproduced"), (between(0, 1), -1.0, -0.5, "not reproduced"),
])
def test_decide_on_a_range(criterion, low, high, expected):
    assert criterion.decide(low, high) == expected


def test_format_value():
    assert format_value(2.0, 1.0) == "2.000 ± 1.000"
    assert format_value(0.12345, None, digits=2) == "0.12"
    assert format_value(None) == "n/a"


def test_save_writes_one_json_per_metric_and_load_reads_them_sorted(make_log, tmp_path):
    claim = Claim("x", "C2 sweep", (Metric("b metric", at_least(1)), Metric("a metric", at_most(2))))
    first, second = make_log(claim), make_log(Claim("y", "C1 flow", (Metric("z metric", at_least(4)),)))
    first.check("b metric", [1, 2])
    first.check("a metric", [3])
    second.check("z metric", [4, 5, 6])
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
    log.check("accuracy", [0.5])
    log.save(tmp_path)
    log.records[0]["note"] = "second"
    log.save(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    assert load_records(tmp_path)[0]["note"] == "second"


@pytest.mark.parametrize("values, expected", [
    ([1.0, 2.0, 3.0], 36.487),           # t(2; 0.9995) = 31.599 times √(4/3), times the sd 1
    ([1.0, 2.0, 3.0, 4.0, 5.0], 14.914),  # t(4; 0.9995) = 8.610 times √1.2, times the sd √2.5
    ([0.5, 0.5, 0.5], 0.025),            # no spread: the floor 0.02 + 1 % of the mean
    ([-200.0, -200.0], 2.02),            # the floor scales with |mean|
    ([0.0, float("nan")], 0.02),         # non-finite values do not enter the spread
])
def test_tolerance_known_answers(values, expected):
    assert verdict.tolerance(values) == pytest.approx(expected, rel=1e-4)


def test_tolerance_of_a_stepped_quantity_is_at_least_one_step():
    assert verdict.tolerance([0.0] * 5, resolution=1) == 1
    assert verdict.tolerance([1.0, 2.0, 3.0], resolution=1) == pytest.approx(36.487, rel=1e-4)


def test_baseline_entry_and_compare():
    entry = verdict.baseline_entry([1.0, 2.0, 3.0])
    assert entry == {"values": [1.0, 2.0, 3.0], "mean": 2.0, "tolerance": pytest.approx(36.487, rel=1e-4)}
    assert verdict.compare(38.4, entry) is None and verdict.compare(-34.4, entry) is None
    assert "outside baseline 2 ± 36.5" in verdict.compare(38.6, entry)
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


TIMED = Claim("gce_headline", "C", (Metric("accuracy", at_least(0.8)), Metric("seconds ratio", at_least(4)),
                                    Metric("not compared", at_least(0.5))))


def checked_log(make_log) -> VerdictLog:
    log = make_log(TIMED)
    log.check("accuracy", [0.9, 0.8, 1.0])
    log.check("seconds ratio", [6.0, 6.1], check="verdict")
    log.check("not compared", [0.1], check="none")
    log.track("final loss", [2.0, 2.2], resolution=0.5)
    return log


def test_regression_check_passes_within_tolerance_and_fails_outside(make_log, baselines):
    (baselines / "gce_headline.json").write_text(json.dumps({
        "checked": {"accuracy": verdict.baseline_entry([0.88, 0.89, 0.9, 0.91, 0.92]),
                    "final loss": verdict.baseline_entry([2.0, 2.1, 2.2]),
                    "dropped quantity": verdict.baseline_entry([1.0, 1.0])},
        "verdicts": {"seconds ratio": "reproduced"}}))
    lines = checked_log(make_log).regression_check().splitlines()
    assert lines[:3] == ["✓ accuracy", "✓ final loss", "✓ seconds ratio: reproduced"]
    assert lines[3].startswith("✗ dropped quantity: in the baseline but not measured")
    assert not any("not compared" in line for line in lines)

    changed = make_log(TIMED)
    changed.check("accuracy", [0.5])
    changed.check("seconds ratio", [2.0, 2.1], check="verdict")
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
    other = make_log(TIMED, profile="cpu")
    other.check("accuracy", [0.9])
    assert "smoke profile only" in other.regression_check()


def test_a_quantity_is_checked_once_and_check_modes_are_known(make_log):
    log = make_log()
    log.check("accuracy", [0.9])
    with pytest.raises(ValueError, match="checked twice"):
        log.track("accuracy", 0.9)
    with pytest.raises(ValueError, match="check must be"):
        log.check("flow", [0.3], check="rounded")


@pytest.mark.parametrize("criterion, text", [
    (at_least(0.9, "paper − 0.015"), "≥ 0.9 (paper − 0.015)"),
    (at_most(0.25), "≤ 0.25"),
    (between(20.85, 34.75, "within 25% of paper"), "in [20.85, 34.75] (within 25% of paper)"),
])
def test_criterion_text_and_record_come_from_one_object(criterion, text):
    assert str(criterion) == text
    threshold = criterion.threshold
    record = criterion.as_record()
    assert record == {"op": criterion.op, "threshold": list(threshold) if isinstance(threshold, tuple) else threshold}
    assert Criterion.from_record(record, criterion.label) == criterion


@pytest.mark.parametrize("op, threshold", [("==", 1.0), (">", 1.0), (">=", (0.0, 1.0)), ("between", 1.0)])
def test_malformed_criteria_are_refused(op, threshold):
    with pytest.raises(ValueError):
        verdict.Criterion(op, threshold)


def test_check_takes_numpy_values(make_log):
    np = pytest.importorskip("numpy")
    record = make_log().check("accuracy", np.array([0.5, 1.5]))
    assert record["ours"]["values"] == [0.5, 1.5]
    assert make_log().check("kl", np.float64(0.5))["ours"]["values"] == [0.5]
