"""The book's generated pages, from the verdict records, the claims registries and the executed pages:
``python -m lib.report.scorecard`` writes

- ``book/scorecard.md``: the verdict rule, a summary row per claim page (with its status: current or run
  with an older notebook or library) and every checked metric grouped by claim;
- ``book/generated/claims-matrix.md`` and ``claims-matrix.png``: the claims at a glance (every claim of the
  three papers and every extra experiment of the five reproductions; the landing page includes both);
- ``book/generated/<paper>-claims.md``: a paper's checked metrics, per claim, for its chapter page;
- ``book/generated/verdict-rule.md``: the verdict rule, as the landing page states it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from .claims import FINDINGS, PAPERS, SOURCES, Row
from .verdict import CONFIDENCE, SYMBOLS, format_value, load_records

RULE = f"""**How a verdict is reached.** Each checked metric has a criterion declared before the run, as data, in
its paper's claims registry (`lib/<paper>/claims.py`): a direction and an absolute threshold, the
preconditions it needs (a model that trained, a generator whose images carry their label) and the number of
seeds. The verdict follows one rule everywhere:
*inconclusive* when a precondition failed or fewer seeds ran than the metric needs (a single run of a random
quantity is always inconclusive); otherwise *reproduced* when the one-sided {CONFIDENCE:.0%} confidence
interval of the mean over seeds (Student's t) lies entirely on the passing side of the threshold, *not
reproduced* when it lies entirely on the failing side, and *inconclusive* when it straddles the threshold.
A deterministic metric is judged on its values. A verdict under the `cpu` profile is evidence about that
budget only: the budget column gives it as a fraction of the paper's."""

HEADER = f"""# Scorecard

Generated from the verdict records in `book/records/` by `python -m lib.report.scorecard` (do not edit by
hand). *Ours* is the mean ± sample standard deviation over the seeds run; *interval* is the one-sided
{CONFIDENCE:.0%} bound the verdict uses. ⚠ marks a page executed from an older version of its notebook
(its code is not today's) and records whose criterion was declared after they ran (*re-judged*).

{RULE}
"""

STATUS = {"current": "current", "older library": "older library", "older notebook": "⚠ older notebook"}
COLOURS = {"✓": "#4daf4a", "✅": "#4daf4a", "✗": "#e41a1c", "❌": "#e41a1c", "◐": "#ff9f1c", "❔": "#b0b0b0",
           "·": "#ffffff", "": "#ffffff"}


def _cell(value) -> str:
    text = "–" if value is None or value == {} else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _page(record: dict) -> str:
    return record["output"]


def _paper(page: str) -> str:
    return page.split("_")[0]


def _budget(record: dict) -> str:
    fraction = record.get("provenance", {}).get("budget_fraction")
    return "–" if fraction is None else f"{fraction:.1%}" if fraction < 0.1 else f"{fraction:.0%}"


def _count(records: list[dict]) -> dict[str, int]:
    return {v: sum(r["verdict"] == v for r in records) for v in SYMBOLS}


def aggregate(records: list[dict]) -> str:
    """One symbol for a group of metrics: ✅/❌/❔ when all share that verdict, ◐ for a mixture."""
    counts = _count(records)
    if not records:
        return ""
    for verdict, n in counts.items():
        if n == len(records):
            return SYMBOLS[verdict]
    return "◐"


def _counts_text(records: list[dict]) -> str:
    counts = _count(records)
    return " ".join(f"{n}{SYMBOLS[v]}" for v, n in counts.items() if n)


def page_statuses(book: Path) -> dict[str, str]:
    from .pages import status

    pages = {}
    for page in sorted((book / "executed").glob("*.ipynb")):
        if not page.name.endswith((".partial.ipynb", ".failed.ipynb")):
            pages[page.stem] = status(page, nbformat.read(page, as_version=4))
    return pages


def _values(record: dict) -> str:
    return ", ".join(f"{v:.3g}" for v in record["ours"]["values"])


def _interval(record: dict) -> str:
    low, high = record["ours"].get("interval") or (None, None)
    op = record["criterion"]["op"]
    shown = {">=": [low], "<=": [high]}.get(op, [low, high])
    return "–" if any(x is None for x in shown) else ", ".join(f"{x:.3g}" for x in shown)


def _preconditions(record: dict) -> str:
    return "; ".join(f"{p['name']} {'✓' if p['passed'] else '✗'}" for p in record.get("preconditions", [])) or "–"


def _verdict(record: dict) -> str:
    text = f"{SYMBOLS[record['verdict']]} {record['verdict']}"
    if "rejudged" in record:
        text += f" (⚠ re-judged; was {record['rejudged']['previous']['verdict']})"
    return text


def detail_table(records: list[dict], link_prefix: str = "executed/") -> str:
    rows = ["| metric | paper | reproductions | ours (per seed) | mean ± sd | interval | criterion | preconditions "
            "| verdict | page |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        reproductions = ", ".join(f"{k}: {v}" for k, v in r["reproductions"].items()) or None
        rows.append("| " + " | ".join([
            _cell(r["metric"] + (f" ({r['note']})" if r.get("note") else "")), _cell(r["paper"]), _cell(reproductions),
            _values(r), format_value(r["ours"]["mean"], r["ours"]["sd"]), _interval(r), _cell(r["criterion_text"]),
            _cell(_preconditions(r)), _verdict(r),
            f"[{r['profile']}, {_budget(r)}]({link_prefix}{_page(r)}.ipynb)"]) + " |")
    return "\n".join(rows)


def by_claim(records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["claim_id"], []).append(r)
    return groups


def _summary(records: list[dict], statuses: dict[str, str]) -> str:
    pages: dict[str, list[dict]] = {}
    for r in records:
        pages.setdefault(_page(r), []).append(r)
    rows = ["| paper | claim page | profile, seeds | budget | page | verdicts | overall |", "|---|---|---|---|---|---|---|"]
    order = list(PAPERS)
    for page, group in sorted(pages.items(), key=lambda item: (order.index(_paper(item[0])), item[0])):
        first = group[0]
        rows.append(f"| {PAPERS[_paper(page)]} | [{_cell(first['claim'])}](executed/{page}.ipynb) | "
                    f"{first['profile']}, {len(first['seeds'])} | {_budget(first)} | "
                    f"{STATUS.get(statuses.get(page, ''), '–')} | {_counts_text(group)} | {aggregate(group)} |")
    return "\n".join(rows)


def render(records: list[dict], statuses: dict[str, str] | None = None) -> str:
    statuses = statuses or {}
    counts = _count(records)
    total = ", ".join(f"{n} {v}" for v, n in counts.items())
    if not records:
        return HEADER + "\n(no records yet)\n"
    rejudged = sum("rejudged" in r for r in records)
    parts = [HEADER, f"\n**{len(records)} checked metrics:** {total}; {rejudged} re-judged after their run.\n",
             "\n## Summary by claim page\n\n", _summary(records, statuses), "\n"]
    for paper, title in PAPERS.items():
        group = [r for r in records if _paper(_page(r)) == paper]
        if group:
            parts.append(f"\n## {title}\n")
            for claim_id, claim_records in by_claim(group).items():
                parts.append(f"\n### {_cell(claim_records[0]['claim'])}\n\n`{claim_id}`: {_counts_text(claim_records)}\n\n"
                             + detail_table(claim_records) + "\n")
    return "".join(parts)


BUDGET_SECTIONS = ("At the paper's budget", "Below the paper's budget: evidence about that budget only")


def _at_paper_budget(record: dict) -> bool:
    return (record.get("provenance", {}).get("budget_fraction") or 0) >= 1


def paper_page(paper: str, records: list[dict]) -> str:
    """A paper's checked metrics by claim, for inclusion in its chapter page (links relative to book/): those
    at the paper's budget first, then those below it (a missing budget counts as below), each under its
    heading when the paper has both."""
    group = [r for r in records if _paper(_page(r)) == paper]
    parts = [f"% Generated by `python -m lib.report.scorecard` from book/records/; do not edit by hand.\n"]
    sections = [[r for r in group if _at_paper_budget(r)], [r for r in group if not _at_paper_budget(r)]]
    for heading, section in zip(BUDGET_SECTIONS, sections):
        if all(sections):
            parts.append(f"\n### {heading}\n")
        for claim_id, claim_records in by_claim(section).items():
            parts.append(f"\n**{_cell(claim_records[0]['claim'])}** (`{claim_id}`: {_counts_text(claim_records)})"
                         "\n\n" + detail_table(claim_records) + "\n")
    return "".join(parts) if group else parts[0] + "\n(no records yet)\n"


def _ours(row: Row, records: list[dict]) -> list[tuple[str, str, str]]:
    """(symbol, text, page) per page that judges ``row``."""
    pages: dict[str, list[dict]] = {}
    for r in records:
        if r["claim_id"] in row.claims:
            pages.setdefault(_page(r), []).append(r)
    return [(aggregate(group), f"{group[0]['profile']} {_budget(group[0])}", page) for page, group in sorted(pages.items())]


def matrix(rows: list[Row], records: list[dict]) -> str:
    """The claims matrix as a markdown table (links relative to book/)."""
    legend = ", ".join(f"{symbol} {text}" for symbol, text in FINDINGS.items())
    out = ["% Generated by `python -m lib.report.scorecard` from lib/<paper>/claims.py and book/records/; do not edit.\n",
           f"Columns: what the paper and each reproduction (seeds 000–004) found ({legend}); *ours*: the verdict of "
           "each of our pages that judge the claim (✅ all metrics reproduced, ❌ none, ❔ all inconclusive, "
           "◐ a mixture), with its profile and budget as a fraction of the paper's.\n"]
    for paper, title in PAPERS.items():
        out += [f"\n**{title}**\n", "| claim | source | " + " | ".join(SOURCES) + " | ours |",
                "|---|---|" + "---|" * len(SOURCES) + "---|"]
        for row in (r for r in rows if r.paper == paper):
            ours = _ours(row, records)
            cell = ("not run: " + row.offline if row.offline else
                    "; ".join(f"[{symbol} {text}](executed/{page}.ipynb)" for symbol, text, page in ours) or "not run yet")
            out.append(f"| {_cell(row.text)} | {row.source} | " +
                       " | ".join(row.found.get(source, "") for source in SOURCES) + f" | {cell} |")
    return "\n".join(out) + "\n"


def matrix_figure(rows: list[Row], records: list[dict], path: Path) -> None:
    """The claims matrix as a grid of coloured cells (one symbol per source; ours: the mixture over pages)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import style

    style.apply()
    columns = [*SOURCES, "ours"]
    height = 0.32 * len(rows) + 1.2
    fig, ax = plt.subplots(figsize=(11, height))
    for y, row in enumerate(rows):
        ours = [symbol for symbol, _, _ in _ours(row, records)]
        symbols = [row.found.get(source, "") for source in SOURCES]
        symbols.append("" if row.offline or not ours else ours[0] if len(set(ours)) == 1 else "◐")
        for x, symbol in enumerate(symbols):
            ax.add_patch(plt.Rectangle((x, y), 0.95, 0.9, color=COLOURS.get(symbol, "#ffffff"), ec="#dddddd"))
        if row.offline or not ours:
            ax.text(len(SOURCES) + 0.47, y + 0.45, "offline" if row.offline else "not run", ha="center", va="center",
                    fontsize=7, color="#777777")
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([x + 0.47 for x in range(len(columns))], columns)
    ax.xaxis.tick_top()
    ax.set_yticks([y + 0.45 for y in range(len(rows))],
                  [f"{row.paper}: {row.text[:70]}" for row in rows], fontsize=7)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[s]) for s in ("✓", "✗", "◐", "❔")]
    ax.legend(handles, ["reproduced / shown", "not reproduced", "partly / mixed", "inconclusive"],
              loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=4, frameon=False, fontsize=8)
    fig.savefig(path)
    plt.close(fig)


def texts(records: list[dict], book: Path) -> dict[Path, str]:
    """The generated markdown pages (path -> text), from the records, the registries and the pages."""
    from .claims import all_rows

    generated = book / "generated"
    out = {book / "scorecard.md": render(records, page_statuses(book)),
           generated / "verdict-rule.md": RULE + "\n", generated / "claims-matrix.md": matrix(all_rows(), records)}
    out.update({generated / f"{paper}-claims.md": paper_page(paper, records) for paper in PAPERS})
    return out


def main(argv=None) -> None:
    from .claims import all_rows

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="book/records")
    parser.add_argument("--book", default="book")
    args = parser.parse_args(argv)
    book = Path(args.book)
    records = load_records(args.records)
    (book / "generated").mkdir(exist_ok=True)
    for path, text in texts(records, book).items():
        path.write_text(text)
    matrix_figure(all_rows(), records, book / "generated" / "claims-matrix.png")
    print(f"wrote {book / 'scorecard.md'}, the claims matrix (table and figure), the verdict rule and "
          f"{len(PAPERS)} paper tables in {book / 'generated'}")


if __name__ == "__main__":
    main()
