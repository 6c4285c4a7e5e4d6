"""Render the book's scorecard page from the verdict records: ``python -m lib.report.scorecard``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .verdict import criterion_text, format_value, load_records

HEADER = """# Scorecard

Every checked metric of every claim notebook, generated from the verdict records in `book/records/`
by `python -m lib.report.scorecard` (do not edit by hand). *Ours* is the mean ± sample standard deviation over
the seeds listed; the profile and device say how the number was produced. A claim page counts as
reproduced when all its checked metrics are; the pages themselves say what a partial result means.
"""

PAPERS = {"gce": "Generative Causal Explanations", "labelfree": "Label-Free Explainability",
          "cgn": "Counterfactual Generative Networks (MNIST)"}

DETAIL_HEADER = """| claim | metric | paper | reproductions | ours | criterion | verdict | profile, seeds, device, data |
|---|---|---|---|---|---|---|---|
"""


def _cell(value) -> str:
    text = "–" if value is None or value == {} else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _page(record: dict) -> str:
    return record.get("output", Path(record["notebook"]).stem)


def _paper(record: dict) -> str:
    return PAPERS.get(_page(record).split("_")[0], "Other")


def _detail_row(r: dict) -> str:
    reproductions = ", ".join(f"{k}: {v}" for k, v in r["reproductions"].items()) or None
    verdict = "✅ reproduced" if r["passed"] else "❌ not reproduced"
    run = f"{r['profile']}, seeds {r['seeds']}, {r['device']}" + (f"; {r['data']}" if r.get("data") else "")
    return "| " + " | ".join([
        f"[{_cell(r['claim'])}](executed/{_page(r)}.ipynb)",
        _cell(r["metric"] + (f" ({r['note']})" if r["note"] else "")), _cell(r["paper"]),
        _cell(reproductions), format_value(r["ours"]["mean"], r["ours"]["sd"]),
        _cell(criterion_text(r)), verdict, _cell(run)]) + " |"


def _summary(records: list[dict]) -> str:
    """One row per claim page: how many of its metrics hold."""
    pages: dict[str, list[dict]] = {}
    for r in records:
        pages.setdefault(_page(r), []).append(r)
    claims = [group[0]["claim"] for group in pages.values()]
    rows = ["| paper | claim page | profile | metrics reproduced | verdict |", "|---|---|---|---|---|"]
    order = [*PAPERS.values(), "Other"]
    for page, group in sorted(pages.items(), key=lambda item: (order.index(_paper(item[1][0])), item[0])):
        held = sum(r["passed"] for r in group)
        verdict = ("✅ reproduced" if held == len(group) else "❌ not reproduced" if held == 0
                   else "◐ partly reproduced")
        title = group[0]["claim"]
        if claims.count(title) > 1 and "-" in page:  # one notebook run on several variants: name the run
            title += f" ({page.split('-', 1)[1]})"
        rows.append(f"| {_paper(group[0])} | [{_cell(title)}](executed/{page}.ipynb) | "
                    f"{group[0]['profile']} | {held} of {len(group)} | {verdict} |")
    return "\n".join(rows)


def render(records: list[dict]) -> str:
    if not records:
        return HEADER + "\n(no records yet)\n\n0 of 0 checked metrics reproduced.\n"
    held = sum(r["passed"] for r in records)
    parts = [HEADER, "\n## Summary by claim page\n\n", _summary(records),
             f"\n\n{held} of {len(records)} checked metrics reproduced.\n"]
    for paper in [*PAPERS.values(), "Other"]:
        group = [r for r in records if _paper(r) == paper]
        if group:
            parts.append(f"\n## {paper}\n\n" + DETAIL_HEADER + "\n".join(_detail_row(r) for r in group) + "\n")
    return "".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", default="book/records")
    parser.add_argument("--out", default="book/scorecard.md")
    args = parser.parse_args(argv)
    Path(args.out).write_text(render(load_records(args.records)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
