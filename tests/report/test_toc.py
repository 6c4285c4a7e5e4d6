"""The table of contents is generated from the profiles and the executed pages, and is current."""
from __future__ import annotations

from pathlib import Path

import yaml

from lib.report import toc

REPO = Path(__file__).resolve().parents[2]


def _files(entries) -> list[str]:
    found = []
    for entry in entries:
        found += [entry["file"], *_files(entry.get("sections", []))]
    return found


def test_the_committed_toc_is_current():
    assert toc.main(["--check"]) == 0, "run `python -m lib.report.toc` (make book does)"


def test_every_executed_page_is_listed_once_and_every_entry_exists():
    listed = _files(c for part in yaml.safe_load((REPO / "_toc.yml").read_text())["parts"] for c in part["chapters"])
    assert len(listed) == len(set(listed))
    executed = {f"book/executed/{page}" for page in toc.executed_pages(REPO / "book" / "executed")}
    assert executed <= set(listed)
    assert all((REPO / f"{f}.md").is_file() or (REPO / f"{f}.ipynb").is_file() for f in listed)


def test_one_chapter_per_claim_with_its_runs_as_titled_sections(tmp_path, monkeypatch):
    profiles = {"cpu": {"gce_headline": [{"output": "gce_headline", "title": "3 vs 8"},
                                         {"output": "gce_headline-b", "title": "B"},
                                         {"output": "gce_headline-planned", "title": "never run"}],
                        "cgn_losses": {"steps": 3}},
                "paper": {"gce_headline": [{"output": "gce_headline-c", "title": "C (paper)"}]}, "smoke": {}}
    monkeypatch.setattr(toc, "load_profile", profiles.__getitem__)
    monkeypatch.setattr(toc, "BOOK", tmp_path)
    monkeypatch.setattr(toc, "available_notebooks", lambda: ["cgn_losses", "gce_headline", "labelfree_features"])
    (tmp_path / "executed").mkdir()
    for page in ("gce_headline", "gce_headline-b", "gce_headline-c", "gce_headline-sweep=1", "cgn_losses",
                 "gce_headline-b.partial", "cgn_losses-x.failed"):  # running and failed runs: no pages
        (tmp_path / "executed" / f"{page}.ipynb").touch()
    chapters = dict(toc.chapters())
    assert list(chapters) == ["gce_headline", "cgn_losses"]  # labelfree_features never ran: no chapter
    assert chapters["gce_headline"] == {"file": "book/executed/gce_headline", "sections": [
        {"file": "book/executed/gce_headline-b", "title": "B"},
        {"file": "book/executed/gce_headline-c", "title": "C (paper)"},
        {"file": "book/executed/gce_headline-sweep=1"}]}  # stored but in no profile: listed, untitled
    assert chapters["cgn_losses"] == {"file": "book/executed/cgn_losses"}
    text = toc.toc_text()
    assert yaml.safe_load(text)["parts"][0]["chapters"][1]["sections"][0]["title"] == "B"
