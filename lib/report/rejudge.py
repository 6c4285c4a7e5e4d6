"""Re-judge stored verdict records against the claims registries: ``python -m lib.report.rejudge [--paper P]``.

Each record keeps its measured values (``ours.values``) and precondition values; its criterion, kind
(deterministic, seeds needed), precondition outcomes and verdict are set from the paper's
``lib/<paper>/claims.py``. A record whose verdict or criterion changes keeps what it said before under
``rejudged`` (the first time only), with the reason: criteria revised after the run are not
pre-registered, and the scorecard says so. ``--check`` writes nothing and exits 1 if a record would change.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from .claims import PAPERS, all_claims, registry
from .verdict import _finite_or_none, interval, rejudge

REASON = "criteria declared in the claims registry after this run"


def paper_of(record: dict) -> str:
    return record["output"].split("_")[0]


def updated(record: dict, claims) -> dict:
    """The record re-judged with its claim's declared criteria (a new dict)."""
    try:
        metric = claims[record["claim_id"]].metric(record["metric"])
    except KeyError as err:
        raise KeyError(f"{record['output']}: {err.args[0]}") from None
    claim = claims[record["claim_id"]]
    stored = {p["name"]: p for p in record.get("preconditions", [])}
    preconditions = []
    for name in metric.preconditions:
        declared = claim.precondition(name)
        entry = stored.get(name, {"name": name, "values": [], "source": "not recorded by this run"})
        values = [float(v) for v in entry["values"]]
        preconditions.append({**entry, "values": values,
                              "passed": bool(values) and all(declared.criterion.holds(v) for v in values),
                              "criterion": declared.criterion.as_record(),
                              "criterion_text": str(declared.criterion)})
    new = {k: v for k, v in record.items() if k != "passed"}
    values = record["ours"]["values"]
    low, high = (min(values), max(values)) if metric.deterministic else interval(values)
    new.update(criterion=metric.criterion.as_record(), criterion_text=str(metric.criterion),
               deterministic=metric.deterministic, seeds_needed=metric.seeds, preconditions=preconditions,
               ours={**record["ours"], "interval": [_finite_or_none(low), _finite_or_none(high)]})
    new["verdict"] = rejudge(new)
    if "rejudged" not in record and (new["verdict"] != record["verdict"] or new["criterion"] != record["criterion"]):
        new["rejudged"] = {"date": dt.date.today().isoformat(), "reason": REASON,
                           "previous": {"verdict": record["verdict"],
                                        "criterion": record.get("criterion_text", record["criterion"])}}
    return new


def write_json(path: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="book/records")
    parser.add_argument("--paper", choices=list(PAPERS))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any record would change")
    args = parser.parse_args(argv)
    claims = all_claims() if args.paper is None else {c.key: c for c in registry(args.paper).CLAIMS}
    changed, counts = [], {}
    for path in sorted(Path(args.records).glob("*.json")):
        record = json.loads(path.read_text())
        if args.paper and paper_of(record) != args.paper:
            continue
        new = updated(record, claims)
        counts[new["verdict"]] = counts.get(new["verdict"], 0) + 1
        if new != record:
            changed.append(path.name)
            if not args.check:
                write_json(path, new)
    print(f"{sum(counts.values())} records: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    print(f"{len(changed)} {'would change' if args.check else 'changed'}" +
          "".join(f"\n  {name}" for name in changed[:50]))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
