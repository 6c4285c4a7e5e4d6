"""The report builds without a single warning, and every notebook's jupytext pair is in sync.

The book test builds the real book (``_config.yml`` and ``_toc.yml`` at the repository root) with
``-W -n --keep-going``, writing into a temporary folder so the working tree's ``_build/`` is untouched.
It renders the executed notebooks in ``book/executed/``; nothing is executed during the build.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
BUILD_TIMEOUT_S = 600

# Files that lib.report.runner writes and the book needs; without them the build cannot succeed.
EXECUTED_INPUTS = ["book/executed/gce_headline.ipynb", "book/executed/run_log.json"]
# Pages whose HTML must exist after the build (relative to the HTML root).
EXPECTED_PAGES = ["book/index.html", "book/executed/gce_headline.html", "book/scorecard.html"]


def _jupyter_book() -> str:
    """The jupyter-book script of the running interpreter's environment (else the one on PATH)."""
    candidate = Path(sys.executable).parent / "jupyter-book"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.skip("jupyter-book is not installed (pip install '.[book]')")
    return found


def test_book_builds_without_warnings(tmp_path):
    missing = [p for p in EXECUTED_INPUTS if not (REPO / p).is_file()]
    if missing:
        pytest.skip(f"executed notebook outputs missing: {missing}; create them with "
                    "`python -m lib.report.runner --profile smoke` (or cpu/paper)")
    if not (REPO / "book" / "scorecard.md").is_file():
        pytest.skip("book/scorecard.md missing; generate it with `python -m lib.report.scorecard`")

    cmd = [_jupyter_book(), "build", str(REPO), "-W", "-n", "--keep-going", "--path-output", str(tmp_path)]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, (
        f"jupyter-book build failed (exit {result.returncode}); warnings and errors:\n"
        + "\n".join(warnings or log.splitlines()[-40:]))

    html = tmp_path / "_build" / "html"
    absent = [page for page in EXPECTED_PAGES if not (html / page).is_file()]
    assert not absent, f"pages missing from {html}: {absent}"


def _cells(notebook) -> list[tuple[str, str]]:
    """(cell type, source) of every cell, leaving out outputs, metadata and papermill's injected cell."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells
            if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])]


def _sources() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.py"))


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.stem)
def test_jupytext_pair_in_sync(source: Path):
    jupytext = pytest.importorskip("jupytext")
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), (
        f"notebook {source.stem}: {paired.relative_to(REPO)} is missing; create it with "
        f"`jupytext --to ipynb {source.relative_to(REPO)}` or `make baselines`")

    from_py = _cells(jupytext.read(source))
    from_ipynb = _cells(jupytext.read(paired))
    if from_py == from_ipynb:
        return
    detail = f"{len(from_py)} cells in the .py, {len(from_ipynb)} in the .ipynb"
    for i, (a, b) in enumerate(zip(from_py, from_ipynb)):
        if a[0] != b[0]:
            detail = f"cell {i} is a {a[0]} cell in the .py but a {b[0]} cell in the .ipynb"
            break
        if a[1] != b[1]:
            lines_py, lines_nb = a[1].splitlines(), b[1].splitlines()
            j = next((j for j, (x, y) in enumerate(zip(lines_py, lines_nb)) if x != y),
                     min(len(lines_py), len(lines_nb)))
            first = lambda lines: repr(lines[j][:100]) if j < len(lines) else "(no line)"  # noqa: E731
            detail = (f"cell {i} ({a[0]}), line {j + 1}: .py has {first(lines_py)}, "
                      f".ipynb has {first(lines_nb)}")
            break
    pytest.fail(f"notebook {source.stem} is out of sync with its pair "
                f"({source.name} vs {paired.name}): {detail}. Regenerate the .ipynb from the .py "
                f"(`make baselines`, or `jupytext --update --to ipynb {source.relative_to(REPO)}`, which keeps the outputs).")


def test_there_are_notebooks_to_check():
    assert _sources(), f"no jupytext sources (*.py) in {NOTEBOOKS}"
