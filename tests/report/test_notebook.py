"""A claim notebook's first call (style, device, verdict log), its run header and its closing table."""
from __future__ import annotations

from lib.report import at_least


def test_header_shows_the_run_and_finish_saves_and_shows_the_table(make_log, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    log = make_log()
    log.header(data="MNIST prefix", GCE="K = 1, L = 7", black_box="CNN")
    text = shown[0].data
    assert "profile `smoke`, seeds [0, 1, 2], device CPU" in text
    assert "**Data:** MNIST prefix." in text and "**GCE:** K = 1, L = 7" in text and "**black box:** CNN" in text
    assert log.context["data"] == "MNIST prefix"
    log.check("accuracy", [0.9], at_least(0.8))
    log.finish("")
    assert list(tmp_path.iterdir()) == [] and shown[-1]["verdict"].tolist() == ["reproduced"]
    log.finish(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1


def test_start_applies_the_style_and_opens_a_log(monkeypatch):
    from lib.report import start, style

    applied = []
    monkeypatch.setattr(style, "apply", lambda: applied.append(True))
    dev, log = start("claim", "gce_headline", "smoke", [0, 1], "cpu", {"steps": 3})
    assert applied and dev.type == "cpu"
    assert log.context["device"].startswith("CPU") and log.context["settings"] == {"steps": 3}
    assert log.context["notebook"] == "gce_headline"
