"""A claim notebook's first call (style, device, verdict log), its run header and its closing table."""
from __future__ import annotations

import pytest


def test_header_shows_the_run_and_finish_saves_and_shows_the_table(make_log, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    log = make_log(budget=0.1, budget_text="800 of 8,000 steps")
    log.header(data="MNIST prefix", GCE="K = 1, L = 7", black_box="CNN")
    text = shown[0].data
    assert "profile `smoke`, seeds [0, 1, 2], device CPU. Budget: 10.0% of the paper's (800 of 8,000 steps)." in text
    assert "**Data:** MNIST prefix." in text and "**GCE:** K = 1, L = 7" in text and "**black box:** CNN" in text
    assert log.context["data"] == "MNIST prefix"
    for metric in ("accuracy", "flow", "kl", "band", "exact", "needs three"):
        log.check(metric, [0.9, 0.95, 1.0])
    with pytest.raises(RuntimeError, match=r"declared metrics never checked: \['gated'\]"):
        log.finish(tmp_path)
    assert list(tmp_path.iterdir()) == []
    log.precondition("classifier trained", [0.9, 0.9, 0.9])
    log.check("gated", [0.1, 0.2, 0.3])
    log.finish("")
    assert list(tmp_path.iterdir()) == []
    assert shown[-1]["verdict"].tolist()[:2] == ["✅ reproduced", "✅ reproduced"]
    assert shown[-1]["verdict"].tolist()[4] == "❔ inconclusive"  # exact: a deterministic 0.9 ... 1.0 straddles 1
    log.finish(tmp_path)
    assert len(list(tmp_path.iterdir())) == 7
    criteria = log.criteria()
    assert criteria["criterion"].tolist()[1] == "≥ 0.5 (paper − 0.1)"
    assert criteria["seeds needed"].tolist() == [2, 2, 2, 2, 2, 1, 3]
    assert criteria["preconditions"].tolist()[4] == "classifier trained: ≥ 0.5"


def test_start_applies_the_style_and_opens_a_log(monkeypatch, claim):
    from lib.report import start, style

    applied = []
    monkeypatch.setattr(style, "apply", lambda: applied.append(True))
    with pytest.raises(TypeError, match="takes a Claim"):
        start("a claim as text", "gce_headline", "smoke", [0], "cpu")
    dev, log = start(claim, "gce_headline", "smoke", [0, 1], "cpu", {"steps": 3}, budget=0.5)
    assert applied and dev.type == "cpu"
    assert log.context["device"].startswith("CPU") and log.context["settings"] == {"steps": 3}
    assert log.context["notebook"] == "gce_headline" and log.context["claim_id"] == claim.key
    assert log.context["budget_fraction"] == 0.5
