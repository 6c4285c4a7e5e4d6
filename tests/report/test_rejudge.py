"""Re-judging stored records against the registry."""
from __future__ import annotations

import json

import pytest

from lib.report import rejudge
from lib.report.claims import Claim, Metric, Precondition
from lib.report.verdict import at_least


def stored(make_log):
    """Records as an old run wrote them: a text criterion, a "passed" flag, no kind or preconditions."""
    log = make_log()
    new = log.check("accuracy", [0.9, 0.91, 0.92])
    old = {k: v for k, v in new.items() if k not in ("deterministic", "seeds_needed", "preconditions")}
    return {**old, "output": "gce_headline", "criterion": "> 0.95", "criterion_text": "> 0.95", "passed": True,
            "verdict": "reproduced"}


def test_updated_takes_the_registrys_criterion_and_keeps_the_old_verdict(make_log, claim):
    record = stored(make_log)
    new = rejudge.updated(record, {claim.key: claim})
    assert new["criterion"] == {"op": ">=", "threshold": 0.8} and new["verdict"] == "reproduced"
    assert new["rejudged"]["previous"] == {"verdict": "reproduced", "criterion": "> 0.95"}
    assert "passed" not in new and new["ours"]["values"] == record["ours"]["values"]
    assert rejudge.updated(new, {claim.key: claim}) == new  # idempotent


def test_preconditions_are_judged_from_their_stored_values(make_log):
    gated = Claim("gce_headline/mnist_3_8", "C1 flow", (Metric("accuracy", at_least(0.8), ("trained",)),),
                  (Precondition("trained", at_least(0.5)),))
    record = stored(make_log)
    missing = rejudge.updated(record, {gated.key: gated})
    assert missing["preconditions"][0]["values"] == [] and missing["verdict"] == "inconclusive"
    record["preconditions"] = [{"name": "trained", "values": [0.9, 0.1, 0.9], "source": "page output"}]
    at_chance = rejudge.updated(record, {gated.key: gated})
    assert at_chance["preconditions"][0]["passed"] is False and at_chance["verdict"] == "inconclusive"
    assert at_chance["preconditions"][0]["source"] == "page output"


def test_an_undeclared_metric_is_an_error(make_log, claim):
    record = {**stored(make_log), "metric": "gone"}
    with pytest.raises(KeyError, match="gce_headline: .*no metric 'gone'"):
        rejudge.updated(record, {claim.key: claim})


def test_main_check_reports_without_writing(make_log, claim, tmp_path, monkeypatch, capsys):
    path = tmp_path / "gce_headline--accuracy.json"
    path.write_text(json.dumps(stored(make_log)))
    monkeypatch.setattr(rejudge, "all_claims", lambda: {claim.key: claim})
    assert rejudge.main(["--records", str(tmp_path), "--check"]) == 1
    assert json.loads(path.read_text())["criterion"] == "> 0.95"
    assert rejudge.main(["--records", str(tmp_path)]) == 0
    assert json.loads(path.read_text())["criterion"] == {"op": ">=", "threshold": 0.8}
    assert rejudge.main(["--records", str(tmp_path), "--check"]) == 0
    assert "1 records: 1 reproduced" in capsys.readouterr().out
