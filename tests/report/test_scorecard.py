"""The generated pages: scorecard, per-paper tables and the claims matrix."""
from __future__ import annotations

from lib.report.claims import Row
from lib.report.scorecard import aggregate, matrix, matrix_figure, paper_page, render


def records_of(make_log, output="gce_headline"):
    log = make_log()
    log.check("accuracy", [0.9, 0.91, 0.92], paper=0.95, reproductions={"O'Shaughnessy": 0.94})
    log.check("flow", [0.1, 0.12, 0.11])
    log.check("kl", [1.0])
    return [{**r, "output": output} for r in log.records]


def table_rows(page: str, header_start: str = "| metric |") -> list[str]:
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start)) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_render_groups_metrics_by_claim_and_counts_the_three_verdicts(make_log):
    records = records_of(make_log)
    page = render(records, {"gce_headline": "older notebook"})
    assert "**3 checked metrics:** 1 reproduced, 1 not reproduced, 1 inconclusive; 0 re-judged" in page
    assert "one-sided 95% confidence" in page
    rows = table_rows(page)
    assert len(rows) == 3
    assert all(row.replace("\\|", "").count("|") == 11 for row in rows)  # 10 cells each
    assert "0.9, 0.91, 0.92" in rows[0] and "✅ reproduced" in rows[0] and "O'Shaughnessy: 0.94" in rows[0]
    assert "❌ not reproduced" in rows[1] and "❔ inconclusive" in rows[2]
    assert "[smoke, –](executed/gce_headline.ipynb)" in rows[0]
    summary = table_rows(page, "| paper | claim page |")
    assert len(summary) == 1 and "⚠ older notebook" in summary[0] and "1✅ 1❌ 1❔" in summary[0] and "◐" in summary[0]
    assert "### C1 flow" in page and "`gce_headline/mnist_3_8`" in page


def test_a_rejudged_record_says_what_it_was(make_log):
    record = {**records_of(make_log)[1], "rejudged": {"previous": {"verdict": "reproduced", "criterion": "> 0"}}}
    assert "❌ not reproduced (⚠ re-judged; was reproduced)" in render([record])


def test_render_without_records():
    assert "no records yet" in render([])


def test_aggregate():
    assert aggregate([{"verdict": "reproduced"}] * 2) == "✅"
    assert aggregate([{"verdict": "inconclusive"}]) == "❔"
    assert aggregate([{"verdict": "reproduced"}, {"verdict": "not reproduced"}]) == "◐"
    assert aggregate([]) == ""


def test_paper_page_holds_only_that_papers_claims(make_log):
    records = records_of(make_log) + records_of(make_log, "cgn_table3-colored")
    page = paper_page("gce", records)
    assert len(table_rows(page)) == 3 and "cgn_table3" not in page
    assert "no records yet" in paper_page("labelfree", records)


def test_paper_page_puts_the_metrics_at_the_papers_budget_first(make_log):
    def at(fraction, output):
        return [{**r, "provenance": {**r["provenance"], "budget_fraction": fraction}} for r in records_of(make_log, output)]

    page = paper_page("gce", at(0.1, "gce_headline-short") + at(1.0, "gce_headline"))
    assert page.index("### At the paper's budget") < page.index("gce_headline.ipynb")
    assert page.index("gce_headline.ipynb") < page.index("### Below the paper's budget") < page.index("short.ipynb")
    assert "###" not in paper_page("gce", at(0.1, "gce_headline"))  # one kind of budget: no headings


def test_matrix_has_a_row_per_claim_with_the_sources_and_our_pages(make_log, tmp_path):
    rows = [Row("gce", "α flips the decision", "paper", {"paper": "✓", "000": "✓", "001": "◐"},
                claims=("gce_headline/mnist_3_8",)),
            Row("gce", "a figure we cannot redo", "seed 001", {"001": "✓"}, offline="needs CelebA"),
            Row("cgn", "not yet run", "paper", {"paper": "✓"}, claims=("cgn_table3/colored",))]
    table = matrix(rows, records_of(make_log))
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| claim | source | paper | 000 | 001 | 002 | 003 | 004 | ours |")
    assert lines[1] == "| α flips the decision | paper | ✓ | ✓ | ◐ |  |  |  | [◐ smoke –](executed/gce_headline.ipynb) |"
    assert lines[2].endswith("| not run: needs CelebA |")
    assert any(line.endswith("| not run yet |") for line in lines)
    path = tmp_path / "matrix.png"
    matrix_figure(rows, records_of(make_log), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
