"""Page status banners: a page made from an older notebook or library says so."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import nbformat
import pytest

from lib.report import pages, runner


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A book with one notebook source and a page made from it by the current library."""
    notebooks, executed = tmp_path / "notebooks", tmp_path / "book" / "executed"
    notebooks.mkdir()
    executed.mkdir(parents=True)
    source = notebooks / "gce_qmc.py"
    source.write_text("# %%\nprint(1)\n")
    monkeypatch.setattr(pages, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(pages, "library_hash", lambda paper: "lib-now")
    monkeypatch.setattr(pages, "errata", lambda page: "The seed-000 reference shown is wrong." if "1_4_9" in page.stem else "")
    monkeypatch.setattr(pages, "registry", lambda paper: SimpleNamespace(ERRATA={}))
    for name in ("gce_qmc", "gce_qmc-mnist_1_4_9"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("print(1)")])
        nb.metadata["repro"] = {"provenance": {"commit": "abcdef123", "library": "lib-now",
                                               "notebook_sha256": hashlib.sha256(source.read_bytes()).hexdigest()}}
        nbformat.write(nb, executed / f"{name}.ipynb")
    return tmp_path


def test_status_follows_the_source_and_the_library(book, monkeypatch):
    page = book / "book" / "executed" / "gce_qmc.ipynb"
    assert pages.status(page) == "current"
    monkeypatch.setattr(pages, "library_hash", lambda paper: "lib-later")
    assert pages.status(page) == "older library"
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(2)\n")
    assert pages.status(page) == "older notebook"


def test_a_page_whose_records_were_rejudged_says_so(book):
    root, page = book / "book", book / "book" / "executed" / "gce_qmc.ipynb"
    (root / "records").mkdir()
    record = root / "records" / "gce_qmc--flow.json"
    record.write_text('{"verdict": "reproduced"}')
    (root / "records" / "gce_qmc-mnist_1_4_9--flow.json").write_text('{"rejudged": {"reason": "other page"}}')
    assert pages.status(page) == "current"  # another page's record does not count
    record.write_text('{"verdict": "inconclusive", "rejudged": {"previous": {"verdict": "reproduced"}}}')
    assert pages.status(page) == "criteria revised"
    assert pages.mark(root) == ["gce_qmc-mnist_1_4_9.ipynb", "gce_qmc.ipynb"]
    assert "verdict table below is the one it printed" in nbformat.read(page, as_version=4).cells[1].source


def test_a_changed_notebook_fails_the_check_until_its_pages_are_marked(book):
    root = book / "book"
    assert pages.problems(root) == [] and pages.mark(root) == []
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(2)\n")
    assert len(pages.problems(root)) == 2 and "older notebook, banner missing" in pages.problems(root)[0]
    assert len(pages.mark(root)) == 2
    assert pages.problems(root) == [] and pages.mark(root) == []  # idempotent
    nb = nbformat.read(root / "executed" / "gce_qmc-mnist_1_4_9.ipynb", as_version=4)
    banner = nb.cells[1]
    assert nb.cells[0].source == "# Title" and pages.BANNER_TAG in banner.metadata["tags"]
    assert "older version of `notebooks/gce_qmc.py` (as in commit `abcdef1`)" in banner.source
    assert "Errata" in banner.source and "seed-000 reference shown is wrong" in banner.source


def test_a_banner_on_a_current_page_is_a_problem_and_is_removed(book):
    root = book / "book"
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(2)\n")
    pages.mark(root)
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(1)\n")  # the notebook is back: pages current again
    assert "banner on a current page" in pages.problems(root)[0]
    pages.mark(root)
    nb = nbformat.read(root / "executed" / "gce_qmc.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == ["# Title", "print(1)"]


def test_an_erratum_must_name_a_stored_page_that_is_not_current(book, monkeypatch):
    """Only a banner shows an erratum: one for a missing or a current page is dead."""
    root = book / "book"
    registries = {"gce": SimpleNamespace(ERRATA={"gce_qmc": "Its control was not tested.", "gce_gone": "Old."})}
    monkeypatch.setattr(pages, "registry", lambda paper: registries.get(paper, SimpleNamespace()))
    assert pages.problems(root) == ["gce_qmc: an erratum in lib/gce/claims.py for a page that is current",
                                    "gce_gone: an erratum in lib/gce/claims.py for a page that is not stored"]
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(2)\n")
    pages.mark(root)
    assert pages.problems(root) == ["gce_gone: an erratum in lib/gce/claims.py for a page that is not stored"]


def test_the_default_book_is_the_runners_when_called(book, monkeypatch):
    """Not the one at import: a test that points the runner at a scratch book must not stay pointed there."""
    (book / "notebooks" / "gce_qmc.py").write_text("# %%\nprint(2)\n")
    monkeypatch.setattr(runner, "BOOK", book / "book")
    assert len(pages.problems()) == 2 and len(pages.mark()) == 2
