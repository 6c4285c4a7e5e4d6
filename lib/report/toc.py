"""Write the book's table of contents from the profiles: ``python -m lib.report.toc [--check]``.

One chapter per claim notebook, in the order the ``cpu`` profile lists them within each paper; its
executed runs (``book/executed/<output>.ipynb``, the outputs the profiles declare, ``cpu`` first, and any
other stored output of that notebook) follow as sections titled by the profile's ``title``. A page is
listed only when it has been executed, and every executed page is listed, so the table of contents can
neither point at a missing page nor leave a stored one out. ``--check`` exits 1 when ``_toc.yml`` is not
what this would write (the test suite runs it).
"""
from __future__ import annotations

import argparse
import sys

from .runner import BOOK, REPO, available_notebooks, load_profile
from .scorecard import PAPERS

TOC = REPO / "_toc.yml"
PROFILE_ORDER = ("cpu", "paper", "smoke")
RESULTS = ("book/scorecard", "book/runs", "book/performance")
ABOUT = ("book/reproduce", "book/deviations")


def planned_outputs() -> dict[str, list[tuple[str, str]]]:
    """notebook -> its (output, title) pairs over the profiles, first mention first."""
    outputs: dict[str, dict[str, str]] = {}
    for profile in PROFILE_ORDER:
        for name, entry in load_profile(profile).items():
            for variant in entry if isinstance(entry, list) else [entry or {}]:
                output = str(variant.get("output", name))
                titles = outputs.setdefault(name, {})
                if not titles.get(output):
                    titles[output] = variant.get("title", "")
    return {name: list(titles.items()) for name, titles in outputs.items()}


def executed_pages(folder) -> set[str]:
    """The outputs with a page in ``folder``; a run in progress (``.partial``) or failed (``.failed``) has none."""
    return {p.stem for p in folder.glob("*.ipynb") if not p.name.endswith((".partial.ipynb", ".failed.ipynb"))}


def chapters() -> list[dict]:
    """One entry per claim notebook with an executed page: its first page, the others as sections."""
    planned, executed = planned_outputs(), executed_pages(BOOK / "executed")
    entries = []
    for name in [*planned, *(n for n in available_notebooks() if n not in planned)]:
        runs = [(o, t) for o, t in planned.get(name, []) if o in executed]
        runs += [(o, "") for o in sorted(executed) if (o == name or o.startswith(f"{name}-"))
                 and o not in dict(runs)]
        if not runs:
            continue
        pages = [{"file": f"book/executed/{output}", **({"title": f"{title}"} if title else {})}
                 for output, title in runs]
        # The chapter shows the notebook's own heading; a run's title only names it among its siblings.
        chapter = {"file": pages[0]["file"], **({"sections": pages[1:]} if len(pages) > 1 else {})}
        entries.append((name, chapter))
    return entries


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toc_text() -> str:
    lines = ["# Table of contents of the report (Jupyter Book 1.x), written by `python -m lib.report.toc`",
             "# from profiles/*.yaml and book/executed/: edit those, not this file.",
             "format: jb-book", "root: book/index", "parts:"]
    found = chapters()
    for prefix, caption in PAPERS.items():
        lines += [f"  - caption: {caption}", "    chapters:", f"      - file: book/{prefix}"]
        for name, chapter in found:
            if name.split("_")[0] != prefix:
                continue
            lines.append(f"      - file: {chapter['file']}")
            if "sections" in chapter:
                lines.append("        sections:")
                for page in chapter["sections"]:
                    lines.append(f"          - file: {page['file']}")
                    if "title" in page:
                        lines.append(f"            title: {_quoted(page['title'])}")
    for caption, files in (("Results", RESULTS), ("About", ABOUT)):
        lines += [f"  - caption: {caption}", "    chapters:", *[f"      - file: {f}" for f in files]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if _toc.yml is not current; write nothing")
    args = parser.parse_args(argv)
    text = toc_text()
    if args.check:
        current = TOC.is_file() and TOC.read_text() == text
        print("_toc.yml is current" if current else "_toc.yml is stale: run `python -m lib.report.toc`")
        return 0 if current else 1
    TOC.write_text(text)
    print(f"wrote {TOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
