"""Verdict records and the scorecard page rendered from them."""
from __future__ import annotations

import json

import pytest

from lib.report.scorecard import render
from lib.report import verdict
from lib.report.verdict import VerdictLog, format_value, load_records, summarise


def make_log(claim: str = "C1 flow") -> VerdictLog:
    return VerdictLog(claim, "notebooks/gce_headline.py", "smoke", seeds=(0, 1, 2), device="CPU",
                      settings={"steps": 10})


def test_summarise():
    assert summarise([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert summarise([0.5]) == (0.5, None, 1)
    assert summarise(0.25) == (0.25, None, 1)
    with pytest.raises(ValueError):
        summarise([])


def test_add_records_mean_sd_and_verdict():
    log = make_log()
    many = log.add("accuracy", [0.9, 0.8, 1.0], criterion=">= 0.8", passed=True, paper=0.95)
    one = log.add("flow", 0.3, criterion="> 0.5", passed=False)
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


def test_save_writes_one_json_per_metric_and_load_reads_them_sorted(tmp_path):
    first, second = make_log("C2 sweep"), make_log("C1 flow")
    first.add("b metric", [1, 2], "x", True)
    first.add("a metric", [3], "y", False)
    second.add("z metric", [4, 5, 6], "z", True)
    paths = first.save(tmp_path) + second.save(tmp_path)
    assert len(paths) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert all(p.suffix == ".json" for p in paths)
    assert json.loads(paths[0].read_text()) == first.records[0]

    loaded = load_records(tmp_path)
    assert [(r["claim"], r["metric"]) for r in loaded] == [
        ("C1 flow", "z metric"), ("C2 sweep", "a metric"), ("C2 sweep", "b metric")]
    assert loaded[0] == second.records[0]


def test_saving_again_overwrites_instead_of_duplicating(tmp_path):
    log = make_log()
    log.add("accuracy", [0.5], "c", False)
    log.save(tmp_path)
    log.records[0]["passed"] = True
    log.save(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    assert load_records(tmp_path)[0]["passed"] is True


def table_rows(page: str) -> list[str]:
    lines = page.splitlines()
    start = lines.index("|---|---|---|---|---|---|---|---|") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_render_has_one_row_per_record_and_the_count(tmp_path):
    log = make_log()
    log.add("accuracy", [0.9, 0.8, 1.0], ">= 0.8", True, paper=0.95, reproductions={"O'Shaughnessy": 0.94})
    log.add("flow | bits", [0.3], "a | b", False)  # pipes must not break the table
    log.add("kl", [1.0, 3.0], "< 5", True)
    page = render(log.records)
    rows = table_rows(page)
    assert len(rows) == 3
    assert all(row.replace("\\|", "").count("|") == 9 for row in rows)  # 8 cells each
    assert "0.900 ± 0.100" in rows[0] and "✅" in rows[0] and "O'Shaughnessy: 0.94" in rows[0]
    assert "❌" in rows[1]
    assert "2 of 3 checked metrics reproduced." in page
    assert "(executed/gce_headline.ipynb)" in rows[0]


def test_render_summarises_each_claim_page():
    log = make_log()
    log.add("accuracy", [0.9], ">= 0.8", True)
    log.add("flow", [0.3], "> 0.5", False)
    other = VerdictLog("other claim", "cgn_table3.ipynb", "cpu", [0], "cpu", {})
    other.add("test accuracy", [0.9], ">= 0.8", True)
    page = render(log.records + other.records)
    summary = [line for line in page.splitlines() if line.startswith("| Generative") or line.startswith("| Counter")]
    assert len(summary) == 2
    assert "1 of 2" in summary[0] and "partly reproduced" in summary[0]
    assert "1 of 1" in summary[1] and "✅ reproduced" in summary[1]
    assert page.index("## Generative Causal Explanations") < page.index("## Counterfactual Generative Networks")


def test_render_without_records():
    page = render([])
    assert "no records yet" in page
    assert "0 of 0 checked metrics reproduced." in page


def test_summary_names_the_run_when_one_claim_has_several_pages():
    records = []
    for output in ("cgn_table3-colored", "cgn_table3-wildlife"):
        log = VerdictLog("Table 3", "cgn_table3.ipynb", "cpu", [0], "cpu", {})
        records.append({**log.add("test accuracy", [0.9], ">= 0.8", True), "output": output})
    summary = [line for line in render(records).splitlines() if line.startswith("| Counter")]
    assert "[Table 3 (colored)](executed/cgn_table3-colored.ipynb)" in summary[0]
    assert "[Table 3 (wildlife)](executed/cgn_table3-wildlife.ipynb)" in summary[1]


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


def checked_log() -> VerdictLog:
    log = make_log()
    log.add("accuracy", [0.9, 0.8, 1.0], ">= 0.8", True)
    log.add("seconds ratio", [6.0], ">= 4", True, check="verdict")
    log.add("not compared", [0.1], "x", False, check="none")
    log.track("final loss", [2.0, 2.2], resolution=0.5)
    return log


def test_regression_check_passes_within_tolerance_and_fails_outside(baselines):
    (baselines / "gce_headline.json").write_text(json.dumps({
        "checked": {"accuracy": verdict.baseline_entry([0.88, 0.9, 0.92]),
                    "final loss": verdict.baseline_entry([2.0, 2.1, 2.2]),
                    "dropped quantity": verdict.baseline_entry([1.0, 1.0])},
        "verdicts": {"seconds ratio": "reproduced"}}))
    lines = checked_log().regression_check().splitlines()
    assert lines[:3] == ["✓ accuracy", "✓ final loss", "✓ seconds ratio: reproduced"]
    assert lines[3].startswith("✗ dropped quantity: in the baseline but not measured")
    assert not any("not compared" in line for line in lines)

    changed = make_log()
    changed.add("accuracy", [0.5], ">= 0.8", False)
    changed.add("seconds ratio", [2.0], ">= 4", False, check="verdict")
    lines = changed.regression_check().splitlines()
    assert lines[0].startswith("✗ accuracy: 0.5, outside baseline 0.9")
    assert lines[1] == "✗ seconds ratio: not reproduced, baseline reproduced"


def test_regression_check_records_for_the_baseline(baselines, monkeypatch):
    target = baselines / "run.json"
    monkeypatch.setenv(verdict.RECORD_ENV, str(target))
    text = checked_log().regression_check()
    assert text.splitlines() == ["✓ accuracy", "✓ final loss", "✓ seconds ratio: reproduced"]
    stored = json.loads(target.read_text())
    assert stored["checked"] == {"accuracy": pytest.approx(0.9), "final loss": pytest.approx(2.1)}
    assert stored["resolution"] == {"final loss": 0.5}
    assert stored["verdicts"] == {"seconds ratio": "reproduced"}


def test_regression_check_needs_a_baseline_and_the_smoke_profile(baselines):
    assert "✗ accuracy: no baseline" in checked_log().regression_check()
    other = VerdictLog("C", "gce_headline.ipynb", "cpu", [0], "CPU", {})
    other.add("accuracy", [0.9], ">= 0.8", True)
    assert "smoke profile only" in other.regression_check()


def test_a_quantity_is_checked_once_and_check_modes_are_known():
    log = make_log()
    log.add("accuracy", [0.9], ">= 0.8", True)
    with pytest.raises(ValueError, match="checked twice"):
        log.track("accuracy", 0.9)
    with pytest.raises(ValueError, match="check must be"):
        log.add("flow", [0.3], "> 0.5", False, check="rounded")
