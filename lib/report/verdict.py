"""Verdict records (one small JSON file per checked metric, read by the book's scorecard) and the
regression check that CI runs on the smoke profile.

The regression check compares each checked quantity of a smoke run with a baseline measured over
several seeds (``notebooks/baselines/<notebook>.json``, written by ``python -m lib.report.regression``):
a quantity passes when it lies within ``TOLERANCE_SDS`` seed-to-seed standard deviations of the
baseline mean, or within the floor ``TOLERANCE_FLOOR + TOLERANCE_RELATIVE * |mean|``. Another CPU's
float kernels or another thread count perturb training much less than another seed does, so the
seed-to-seed spread bounds them, while a change of behaviour (a loss weight, a sampling step, a
preprocessing step) moves the quantities further than that.
"""
from __future__ import annotations

import json
import math
import os
import re
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASELINES = Path(__file__).resolve().parents[2] / "notebooks" / "baselines"
BASELINE_PROFILE = "smoke"
RECORD_ENV = "REPRO_REGRESSION_RECORD"  # set by lib.report.regression: write the checked quantities to this file
TOLERANCE_SDS = 4.0
TOLERANCE_FLOOR = 0.02
TOLERANCE_RELATIVE = 0.01


def tolerance(values, resolution: float = 0.0) -> float:
    """Allowed distance from the baseline mean for a quantity measured ``values`` over seeds.

    ``resolution`` is the smallest step the quantity can take (1 for a count): five seeds that agree
    exactly say little about the next run of a quantity that moves in steps.
    """
    finite = [v for v in values if math.isfinite(v)]
    sd = statistics.stdev(finite) if len(finite) > 1 else 0.0
    mean = statistics.fmean(finite) if finite else 0.0
    return max(TOLERANCE_SDS * sd, TOLERANCE_FLOOR + TOLERANCE_RELATIVE * abs(mean), resolution)


def baseline_entry(values, resolution: float = 0.0) -> dict:
    """What the baseline file stores for one quantity: the per-seed values, their mean and the tolerance.

    A quantity that is not finite for some seed (NaN where a variant has no such cue) must be
    non-finite for every seed; it is then checked for staying non-finite.
    """
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v)]
    if finite and len(finite) < len(values):
        raise ValueError(f"values finite for some seeds only: {values}")
    return {"values": values, "mean": statistics.fmean(finite) if finite else None,
            "tolerance": tolerance(values, resolution) if finite else None}


def compare(value: float, entry: dict | None) -> str | None:
    """None when ``value`` agrees with the baseline ``entry``; otherwise why not."""
    if entry is None:
        return "no baseline (run `make baselines`)"
    if entry["mean"] is None:
        return None if not math.isfinite(value) else f"{value:.4g}, baseline not finite"
    if math.isfinite(value) and abs(value - entry["mean"]) <= entry["tolerance"]:
        return None
    seeds = len(entry["values"])
    return (f"{value:.4g}, outside baseline {entry['mean']:.4g} ± {entry['tolerance']:.3g} "
            f"({seeds} seeds: {', '.join(f'{v:.4g}' for v in entry['values'])})")


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


OPS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "between": "in"}


@dataclass(frozen=True)
class Criterion:
    """A verdict's rule as data: the mean over seeds ``op`` ``threshold`` (an absolute number; ``[low, high]``
    for "between"). ``label`` says where the threshold comes from ("paper − 0.015"); the text shown with a
    verdict and the test that decides it are made from the same object, so they cannot drift apart."""
    op: str
    threshold: float | tuple[float, float]
    label: str = ""

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"criterion op must be one of {list(OPS)}, not {self.op!r}")
        if (self.op == "between") != isinstance(self.threshold, tuple):
            raise ValueError("a 'between' criterion takes a (low, high) threshold, the others one number")

    def passes(self, values) -> bool:
        mean = summarise(values)[0]
        if self.op == ">=":
            return mean >= self.threshold
        if self.op == ">":
            return mean > self.threshold
        if self.op == "<=":
            return mean <= self.threshold
        if self.op == "<":
            return mean < self.threshold
        low, high = self.threshold
        return low <= mean <= high

    def __str__(self) -> str:
        if self.op == "between":
            rule = f"in [{_number(self.threshold[0])}, {_number(self.threshold[1])}]"
        else:
            rule = f"{OPS[self.op]} {_number(self.threshold)}"
        return f"{rule} ({self.label})" if self.label else rule

    def as_record(self) -> dict:
        return {"op": self.op, "threshold": list(self.threshold) if self.op == "between" else self.threshold}


def _number(x: float) -> str:
    return f"{x:.4g}"


def at_least(threshold: float, label: str = "") -> Criterion:
    return Criterion(">=", float(threshold), label)


def at_most(threshold: float, label: str = "") -> Criterion:
    return Criterion("<=", float(threshold), label)


def above(threshold: float, label: str = "") -> Criterion:
    return Criterion(">", float(threshold), label)


def below(threshold: float, label: str = "") -> Criterion:
    return Criterion("<", float(threshold), label)


def between(low: float, high: float, label: str = "") -> Criterion:
    return Criterion("between", (float(low), float(high)), label)


class VerdictLog:
    """Collects the checked metrics of one claim notebook and writes them as records."""

    def __init__(self, claim: str, notebook: str, profile: str, seeds, device: str, settings: dict,
                 data: str = ""):
        self.context = {"claim": claim, "notebook": notebook, "profile": profile, "seeds": list(seeds),
                        "device": device, "settings": settings, "data": data}
        self.records: list[dict] = []
        self.checked: dict[str, float] = {}  # regression-checked quantities: name -> value of this run
        self.resolution: dict[str, float] = {}  # name -> smallest step, where the quantity moves in steps
        self.verdict_only: set[str] = set()

    def header(self, data: str = "", **details: str) -> None:
        """Show the run header (profile, seeds, device, then data and one line per ``details`` item) and
        remember ``data`` for the records."""
        from IPython.display import Markdown, display

        c = self.context
        c["data"] = data or c["data"]
        lines = [f"**Run:** profile `{c['profile']}`, seeds {c['seeds']}, device {c['device']}."]
        lines += [f"**Data:** {c['data']}."] if c["data"] else []
        lines += [f"**{name.replace('_', ' ')}:** {text}" for name, text in details.items()]
        display(Markdown("  \n".join(lines)))

    def finish(self, records_dir: str | os.PathLike = "") -> None:
        """Write the records (when the runner gave a folder) and show the verdict table."""
        from IPython.display import display

        if records_dir:
            self.save(records_dir)
        display(self.table())

    def update_settings(self, **values) -> None:
        """Add settings known only during the run (a measured accuracy a later step depends on) to the records."""
        self.context["settings"] = {**self.context["settings"], **values}

    def check(self, metric: str, values, criterion: Criterion, paper=None, reproductions: dict | None = None,
              note: str = "", check: str = "value", resolution: float = 0.0) -> dict:
        """Judge one metric: our values (one per seed) against ``criterion``, and record it.

        ``check`` says what the smoke regression check compares: the mean ("value"), only the verdict
        ("verdict", for machine-dependent numbers such as timings) or nothing ("none"); ``resolution`` is
        the smallest step of a quantity that moves in steps (see ``tolerance``).
        """
        if check not in ("value", "verdict", "none"):
            raise ValueError(f"check must be 'value', 'verdict' or 'none', not {check!r}")
        values = values.tolist() if hasattr(values, "tolist") else values  # NumPy arrays and scalars
        values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
        mean, sd, n = summarise(values)
        passed = criterion.passes(values)
        record = {**self.context, "metric": metric, "paper": paper, "reproductions": reproductions or {},
                  "ours": {"mean": mean, "sd": sd, "n": n, "values": values},
                  "criterion": criterion.as_record(), "criterion_text": str(criterion), "passed": bool(passed),
                  "verdict": "reproduced" if passed else "not reproduced", "note": note}
        self.records.append(record)
        if check == "value":
            self.track(metric, mean, resolution)
        elif check == "verdict":
            self.verdict_only.add(metric)
        return record

    def track(self, name: str, value, resolution: float = 0.0) -> None:
        """Add a quantity that is regression-checked but carries no verdict (a final loss, an accuracy)."""
        if name in self.checked:
            raise ValueError(f"quantity {name!r} is checked twice")
        self.checked[name] = summarise(value)[0]
        if resolution:
            self.resolution[name] = resolution

    def regression_check(self) -> str:
        """One stable line per checked quantity: ✓ within the smoke baseline's tolerance, ✗ with numbers.

        Under ``lib.report.regression`` (``$REPRO_REGRESSION_RECORD`` set) it writes this run's quantities for
        the baseline instead and reports every quantity as within (it is one of the baseline's samples).
        """
        if self.context["profile"] != BASELINE_PROFILE:
            return f"regression baselines exist for the {BASELINE_PROFILE} profile only (this run: {self.context['profile']})"
        name = Path(self.context["notebook"]).stem
        verdicts = {r["metric"]: r["verdict"] for r in self.records if r["metric"] in self.verdict_only}
        record_to = os.environ.get(RECORD_ENV)
        if record_to:
            Path(record_to).write_text(json.dumps({"checked": self.checked, "resolution": self.resolution,
                                                   "verdicts": verdicts}))
            return "\n".join([f"✓ {metric}" for metric in self.checked] +
                             [f"✓ {metric}: {verdict}" for metric, verdict in verdicts.items()])
        path = BASELINES / f"{name}.json"
        baseline = json.loads(path.read_text()) if path.is_file() else {"checked": {}, "verdicts": {}}
        lines = []
        for metric, value in self.checked.items():
            problem = compare(value, baseline["checked"].get(metric))
            lines.append(f"✓ {metric}" if problem is None else f"✗ {metric}: {problem}")
        for metric, verdict in verdicts.items():
            expected = baseline["verdicts"].get(metric)
            lines.append(f"✓ {metric}: {verdict}" if verdict == expected
                         else f"✗ {metric}: {verdict}, baseline {expected}")
        missing = set(baseline["checked"]) - set(self.checked)
        lines += [f"✗ {metric}: in the baseline but not measured" for metric in sorted(missing)]
        return "\n".join(lines)

    def table(self):
        """The records as a pandas DataFrame, for display in the notebook."""
        import pandas as pd

        return pd.DataFrame([{
            "metric": r["metric"], "paper": r["paper"],
            "reproductions": ", ".join(f"{k}: {v}" for k, v in r["reproductions"].items()),
            "ours": format_value(r["ours"]["mean"], r["ours"]["sd"]),
            "criterion": criterion_text(r), "verdict": r["verdict"]} for r in self.records])

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


def criterion_text(record: dict) -> str:
    """The criterion as shown to readers; records written before criteria were data hold only the text."""
    return record.get("criterion_text", record["criterion"])


def load_records(records_dir: str | os.PathLike) -> list[dict]:
    """All records in a folder, sorted by claim then metric."""
    records = [json.loads(p.read_text()) for p in sorted(Path(records_dir).glob("*.json"))]
    return sorted(records, key=lambda r: (r["claim"], r["metric"]))
