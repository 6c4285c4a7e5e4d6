"""The stored evidence: every verdict record can be re-judged from its own fields, agrees with the claims
registries, and every page that is not current says so; the hand-written book pages type no measured number."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RECORDS = sorted((REPO / "book" / "records").glob("*.json"))
# The public record format (issue 12): what anyone needs to re-judge a verdict from the record alone.
FIELDS = {"claim", "claim_id", "output", "metric", "ours", "criterion", "verdict", "preconditions",
          "deterministic", "seeds_needed", "provenance", "profile", "seeds", "device"}
PROVENANCE = {"commit", "notebook_sha256", "profile", "seeds", "device", "budget_fraction"}


def _records() -> list[dict]:
    return [{**json.loads(path.read_text()), "_file": path.name} for path in RECORDS]


def test_there_are_records():
    assert RECORDS, "no verdict records in book/records"


def test_every_record_has_the_public_format_and_rejudges_to_its_verdict():
    from lib.report.verdict import VERDICTS, rejudge

    wrong = []
    for r in _records():
        missing = FIELDS - set(r) or PROVENANCE - set(r["provenance"])
        if missing:
            wrong.append(f"{r['_file']}: missing {sorted(missing)}")
        elif r["verdict"] not in VERDICTS or rejudge(r) != r["verdict"]:
            wrong.append(f"{r['_file']}: stored {r['verdict']!r}, re-judged {rejudge(r)!r}")
        elif r["criterion"]["op"] not in (">=", "<=", "between") or not all(
                isinstance(v, (int, float)) for v in r["ours"]["values"]) or not all(
                {"name", "passed"} <= set(p) for p in r["preconditions"]):
            wrong.append(f"{r['_file']}: malformed criterion, values or preconditions")
    assert not wrong, f"{len(wrong)} records:\n" + "\n".join(wrong[:20])


def test_every_record_agrees_with_its_papers_claims_registry():
    from lib.report.claims import all_claims
    from lib.report.rejudge import updated

    claims = all_claims()
    stale = [r["_file"] for r in _records()
             if updated({k: v for k, v in r.items() if k != "_file"}, claims) != {k: v for k, v in r.items() if k != "_file"}]
    assert not stale, (f"{len(stale)} records differ from the registries' criteria; re-judge them with "
                       f"`python -m lib.report.rejudge` (it keeps their previous verdicts):\n" + "\n".join(stale[:20]))


def test_every_page_that_is_not_current_says_so():
    from lib.report.pages import problems

    found = problems()
    assert not found, ("pages whose status banner is wrong (re-run them or mark them with `python -m lib.report.pages`) "
                       "or errata without a page:\n" + "\n".join(found))


# A measured number: a decimal, a percentage or a ± spread. Settings, published numbers and declared
# thresholds are literals in these files; any other such number in a hand-written page was typed by hand.
NUMBER = re.compile(r"(?<![\w.`/-])(\d+(?:,\d{3})*\.\d+|\d+(?:\.\d+)?\s?%|±\s?\d+(?:\.\d+)?)")
LITERAL = re.compile(r"(?<![\w.])-?\d+(?:_\d{3})*(?:\.\d+)?(?:e-?\d+)?")
HAND_WRITTEN = ["index", "gce", "labelfree", "cgn", "deviations", "reproduce", "runs"]  # performance, scorecard: generated


def _allowed_numbers() -> set[float]:
    sources = [*REPO.glob("lib/*/reference.py"), *REPO.glob("lib/*/claims.py"), *REPO.glob("profiles/*.yaml")]
    values = set()
    for path in sources:
        for token in LITERAL.findall(path.read_text()):
            x = float(token.replace("_", ""))
            values |= {round(x, 6), round(abs(x), 6), round(100 * abs(x), 6)}
    return values


def _prose(text: str) -> str:
    """The page without code, math, roles' targets and link targets (where numbers are not measurements)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$[^$]*\$", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


@pytest.mark.parametrize("page", HAND_WRITTEN)
def test_hand_written_pages_type_no_measured_number(page):
    path = REPO / "book" / f"{page}.md"
    allowed = _allowed_numbers()
    typed = []
    for number in NUMBER.findall(_prose(path.read_text())):
        x = float(re.sub(r"[±%,\s]", "", number))
        if round(x, 6) not in allowed:
            typed.append(number)
    assert not typed, (f"book/{page}.md types numbers that are neither settings nor published numbers nor "
                       f"declared thresholds: {typed[:30]}; glue them from an executed notebook or generate the table")


def test_generated_pages_are_current():
    from lib.report.scorecard import texts
    from lib.report.verdict import load_records

    stale = [str(path.relative_to(REPO)) for path, text in texts(load_records(REPO / "book" / "records"), REPO / "book").items()
             if not path.is_file() or path.read_text() != text]
    assert not stale, f"generated pages out of date: {stale}; run `python -m lib.report.scorecard` (make book does)"
