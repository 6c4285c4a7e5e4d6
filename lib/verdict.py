"""Verdict records: one small JSON file per checked metric, read by the book's scorecard."""
from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
from pathlib import Path


def summarise(values) -> tuple[float, float | None, int]:
    """Mean, sample standard deviation (None for one value) and count."""
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if not values:
        raise ValueError("no values to summarise")
    sd = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), sd, len(values)


def format_value(mean: float | None, sd: float | None = None, digits: int = 3) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")


class VerdictLog:
    """Collects the checked metrics of one claim notebook and writes them as records."""

    def __init__(self, claim: str, notebook: str, profile: str, seeds, device: str, settings: dict,
                 data: str = ""):
        self.context = {"claim": claim, "notebook": notebook, "profile": profile, "seeds": list(seeds),
                        "device": device, "settings": settings, "data": data}
        self.records: list[dict] = []

    def add(self, metric: str, values, criterion: str, passed: bool, paper=None,
            reproductions: dict | None = None, note: str = "") -> dict:
        """Record one metric: our values (one per seed), the criterion and whether it holds."""
        mean, sd, n = summarise(values)
        record = {**self.context, "metric": metric, "paper": paper, "reproductions": reproductions or {},
                  "ours": {"mean": mean, "sd": sd, "n": n, "values": [float(v) for v in
                           (values if isinstance(values, (list, tuple)) else [values])]},
                  "criterion": criterion, "passed": bool(passed),
                  "verdict": "reproduced" if passed else "not reproduced", "note": note}
        self.records.append(record)
        return record

    def table(self):
        """The records as a pandas DataFrame, for display in the notebook."""
        import pandas as pd

        return pd.DataFrame([{
            "metric": r["metric"], "paper": r["paper"],
            "reproductions": ", ".join(f"{k}: {v}" for k, v in r["reproductions"].items()),
            "ours": format_value(r["ours"]["mean"], r["ours"]["sd"]),
            "criterion": r["criterion"], "verdict": r["verdict"]} for r in self.records])

    def save(self, records_dir: str | os.PathLike) -> list[Path]:
        """Write one JSON file per record into ``records_dir`` (atomically); returns the paths."""
        folder = Path(records_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for record in self.records:
            name = f"{record['claim']}--{record['metric']}".lower().replace("α", "alpha").replace("β", "beta")
            slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")
            path = folder / f"{slug}.json"
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle, indent=1)
            os.replace(tmp, path)
            paths.append(path)
        return paths


def load_records(records_dir: str | os.PathLike) -> list[dict]:
    """All records in a folder, sorted by claim then metric."""
    records = [json.loads(p.read_text()) for p in sorted(Path(records_dir).glob("*.json"))]
    return sorted(records, key=lambda r: (r["claim"], r["metric"]))
