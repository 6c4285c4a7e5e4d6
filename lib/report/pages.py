"""Is each executed page current? ``python -m lib.report.pages [--check]``.

A page records what it was made from (``metadata.repro.provenance``, written by the runner): the SHA-256 of
its notebook's source and the library hash. Compared with the checkout, a page is

- **current**: same notebook source and library;
- **older library**: same notebook source, the library has changed since (numbers may differ on a re-run);
- **older notebook**: the notebook's source has changed since: the code shown on the page is not today's;
- **criteria revised**: same notebook source and library, but criteria of its claim were revised after the run
  (a record of the page carries ``rejudged``): the page's own verdict table is not the scorecard's.

Every page that is not current opens with a banner saying so, with the paper registry's ``ERRATA`` for the
page (what a reader of the stored page must know). ``python -m lib.report.pages`` writes the banners;
``--check`` changes nothing and fails when a banner is missing, out of date or on a current page, or when an
erratum names a page that is not stored (the book's tests run it), so a notebook cannot change without its
pages being re-run or marked.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import nbformat

from .claims import PAPERS, registry
from . import runner
from .runner import NOTEBOOKS, library_hash, paper_of

BANNER_TAG = "repro-status"
STATUSES = ("current", "criteria revised", "older library", "older notebook")


def notebook_of(page: Path) -> str:
    return page.stem.split("-")[0]


def provenance_of(nb) -> dict:
    return nb.metadata.get("repro", {}).get("provenance", {})


def status(page: Path, nb=None) -> str:
    nb = nb or nbformat.read(page, as_version=4)
    source = NOTEBOOKS / f"{notebook_of(page)}.py"
    made_from = provenance_of(nb)
    if made_from.get("notebook_sha256") != hashlib.sha256(source.read_bytes()).hexdigest():
        return "older notebook"
    if made_from.get("library") != library_hash(paper=paper_of(notebook_of(page))):
        return "older library"
    records = (page.parent.parent / "records").glob(f"{page.stem}--*.json")
    return "criteria revised" if any("rejudged" in json.loads(path.read_text()) for path in records) else "current"


def errata(page: Path) -> str:
    paper = notebook_of(page).split("_")[0]
    return getattr(registry(paper), "ERRATA", {}).get(page.stem, "") if paper in PAPERS else ""


def banner(page: Path, nb) -> str | None:
    """The banner the page should open with (None for a current page)."""
    state = status(page, nb)
    if state == "current":
        return None
    made_from = provenance_of(nb)
    commit = (made_from.get("commit") or "an unknown commit")[:7]
    if state == "older notebook":
        text = (f"This page was executed from an older version of `notebooks/{notebook_of(page)}.py` (as in commit "
                f"`{commit}`); the code shown below is that version's, not the current one. Its verdict records "
                "were re-judged with the current criteria: the {doc}`../scorecard` has them.")
    elif state == "criteria revised":
        text = ("Criteria of this page's claim were revised after it ran: the verdict table below is the one it "
                "printed; its records were re-judged with the current criteria, and the {doc}`../scorecard` has them.")
    else:
        text = (f"This page was executed with an older library (as in commit `{commit}`); a re-run with the current "
                "library may give other numbers.")
    notes = errata(page)
    return f"```{{warning}}\n{text}\n```" + (f"\n\n```{{admonition}} Errata\n:class: caution\n{notes}\n```" if notes else "")


def _banner_cells(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if BANNER_TAG in cell.metadata.get("tags", [])]


def _pages(book: Path):
    """(page, notebook, the banner it should have, the banners it has) for every executed page."""
    for page in sorted((book / "executed").glob("*.ipynb")):
        if not page.name.endswith((".partial.ipynb", ".failed.ipynb")):
            nb = nbformat.read(page, as_version=4)
            yield page, nb, banner(page, nb), [nb.cells[i].source for i in _banner_cells(nb)]


def problems(book: Path | None = None) -> list[str]:
    """Pages whose banner is missing, stale or misplaced, and errata for pages that are not stored (``book``:
    the runner's book folder when it is called, not when this module was first imported)."""
    book = book or runner.BOOK
    found = [f"{page.name}: {status(page, nb)}, banner " + ("missing or out of date" if want else "on a current page")
             for page, nb, want, have in _pages(book) if have != ([want] if want else [])]
    # An erratum shows only in a banner: one for a page that is not stored or is current (re-run since, no
    # banner) is shown nowhere, so remove it.
    for paper in PAPERS:
        for stem in getattr(registry(paper), "ERRATA", {}):
            page = book / "executed" / f"{stem}.ipynb"
            state = status(page) if page.is_file() else "not stored"
            if state in ("current", "not stored"):
                found.append(f"{stem}: an erratum in lib/{paper}/claims.py for a page that is {state}")
    return found


def mark(book: Path | None = None) -> list[str]:
    """Write each page's banner (after its title cell); returns the pages changed."""
    book = book or runner.BOOK
    changed = []
    for page, nb, want, have in _pages(book):
        if have == ([want] if want else []):
            continue
        nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in _banner_cells(nb)]
        if want:
            cell = nbformat.v4.new_markdown_cell(want)
            cell.metadata["tags"] = [BANNER_TAG]
            nb.cells.insert(1, cell)
        nbformat.write(nb, page)
        changed.append(page.name)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page's banner is wrong")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or "every page's status banner is right")
        return 1 if found else 0
    changed = mark()
    print(f"{len(changed)} page banners written" + "".join(f"\n  {name}" for name in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
