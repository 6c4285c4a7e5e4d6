"""Render the book's scorecard page from the verdict records: ``python -m lib.scorecard``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .verdict import format_value, load_records

HEADER = """# Scorecard

Every checked metric of every claim notebook, generated from the verdict records in `book/records/`
by `python -m lib.scorecard` (do not edit by hand). *Ours* is the mean ± sample standard deviation over
the seeds listed; the profile and device say how the number was produced.

| claim | metric | paper | reproductions | ours | criterion | verdict | profile, seeds, device, data |
|---|---|---|---|---|---|---|---|
"""


def _cell(value) -> str:
    text = "–" if value is None or value == {} else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render(records: list[dict]) -> str:
    rows = []
    for r in records:
        page = r.get("output", Path(r["notebook"]).stem)
        reproductions = ", ".join(f"{k}: {v}" for k, v in r["reproductions"].items()) or None
        verdict = "✅ reproduced" if r["passed"] else "❌ not reproduced"
        run = f"{r['profile']}, seeds {r['seeds']}, {r['device']}" + (f"; {r['data']}" if r.get("data") else "")
        rows.append("| " + " | ".join([
            f"[{_cell(r['claim'])}](executed/{page}.ipynb)",
            _cell(r["metric"] + (f" ({r['note']})" if r["note"] else "")), _cell(r["paper"]),
            _cell(reproductions), format_value(r["ours"]["mean"], r["ours"]["sd"]),
            _cell(r["criterion"]), verdict, _cell(run)]) + " |")
    if not rows:
        rows.append("| (no records yet) | | | | | | | |")
    held = sum(r["passed"] for r in records)
    return HEADER + "\n".join(rows) + f"\n\n{held} of {len(records)} checked metrics reproduced.\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", default="book/records")
    parser.add_argument("--out", default="book/scorecard.md")
    args = parser.parse_args(argv)
    Path(args.out).write_text(render(load_records(args.records)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
