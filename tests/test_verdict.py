"""Verdict records and the scorecard page rendered from them."""
from __future__ import annotations

import json

import pytest

from lib.scorecard import render
from lib.verdict import VerdictLog, format_value, load_records, summarise


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
