"""The scorecard page rendered from verdict records."""
from __future__ import annotations

from lib.report import verdict
from lib.report.scorecard import render
from lib.report.verdict import VerdictLog, at_least, at_most


def table_rows(page: str) -> list[str]:
    lines = page.splitlines()
    start = lines.index("|---|---|---|---|---|---|---|---|") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_render_has_one_row_per_record_and_the_count(make_log, tmp_path):
    log = make_log()
    log.check("accuracy", [0.9, 0.8, 1.0], at_least(0.8), paper=0.95, reproductions={"O'Shaughnessy": 0.94})
    log.check("flow | bits", [0.3], at_least(0.5, "a | b"))  # pipes must not break the table
    log.check("kl", [1.0, 3.0], at_most(5))
    page = render(log.records)
    rows = table_rows(page)
    assert len(rows) == 3
    assert all(row.replace("\\|", "").count("|") == 9 for row in rows)  # 8 cells each
    assert "0.900 ± 0.100" in rows[0] and "✅" in rows[0] and "O'Shaughnessy: 0.94" in rows[0]
    assert "❌" in rows[1]
    assert "2 of 3 checked metrics reproduced." in page
    assert "(executed/gce_headline.ipynb)" in rows[0]


def test_render_summarises_each_claim_page(make_log):
    log = make_log()
    log.check("accuracy", [0.9], at_least(0.8))
    log.check("flow", [0.3], at_least(0.5))
    other = VerdictLog("other claim", "cgn_table3.ipynb", "cpu", [0], "cpu", {})
    other.check("test accuracy", [0.9], at_least(0.8))
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
        records.append({**log.check("test accuracy", [0.9], at_least(0.8)), "output": output})
    summary = [line for line in render(records).splitlines() if line.startswith("| Counter")]
    assert "[Table 3 (colored)](executed/cgn_table3-colored.ipynb)" in summary[0]
    assert "[Table 3 (wildlife)](executed/cgn_table3-wildlife.ipynb)" in summary[1]


def test_old_records_with_a_text_criterion_still_render(make_log):
    record = make_log().check("m", [1.0], at_least(0.5))
    old = {**record, "criterion": "> 0.5"}
    del old["criterion_text"]
    assert verdict.criterion_text(old) == "> 0.5"
    assert "> 0.5" in render([old])
