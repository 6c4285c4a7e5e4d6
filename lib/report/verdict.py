"""Verdict records (one small JSON file per checked metric, read by the book's scorecard) and the
regression check that CI runs on the smoke profile.

The regression check compares each checked quantity of a smoke run with a baseline measured over
several seeds (``notebooks/baselines/<notebook>.json``, written by ``python -m lib.report.regression``):
a quantity passes when it lies within ``tolerance_sds(n)`` seed-to-seed standard deviations of the
baseline mean over its n seeds, or within the floor ``TOLERANCE_FLOOR + TOLERANCE_RELATIVE * |mean|``.
Training amplifies the rounding differences of another CPU's float kernels or another thread count until a
trained quantity can move as far as with another seed (measured: on an AVX2 machine, two of the 183 checked
quantities of baselines measured on an AVX-512 one lay just beyond four standard deviations). So the band is a
prediction interval for one new seed's value, two-sided at ``REGRESSION_ALPHA``: with n seeds its half-width
is t(n − 1; 1 − α/2) · √(1 + 1/n) standard deviations, 9.4 for five seeds and 5.0 for ten. A change of
behaviour (a loss weight, a sampling step, a preprocessing step) moves the quantities further than that;
one within a seed's reach is not detectable from a few seeds.
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

from scipy import stats

BASELINES = Path(__file__).resolve().parents[2] / "notebooks" / "baselines"
BASELINE_PROFILE = "smoke"
RECORD_ENV = "REPRO_REGRESSION_RECORD"  # set by lib.report.regression: write the checked quantities to this file
REGRESSION_ALPHA = 0.001  # chance that one quantity of an unchanged notebook falls outside its band
TOLERANCE_FLOOR = 0.02
TOLERANCE_RELATIVE = 0.01


def tolerance_sds(n: int) -> float:
    """Half-width, in sample standard deviations, of the two-sided prediction interval at ``REGRESSION_ALPHA``
    for one new draw from the distribution that gave ``n`` ≥ 2 draws."""
    return float(stats.t.ppf(1 - REGRESSION_ALPHA / 2, n - 1)) * math.sqrt(1 + 1 / n)


def tolerance(values, resolution: float = 0.0) -> float:
    """Allowed distance from the baseline mean for a quantity measured ``values`` over seeds.

    ``resolution`` is the smallest step the quantity can take (1 for a count): five seeds that agree
    exactly say little about the next run of a quantity that moves in steps.
    """
    finite = [v for v in values if math.isfinite(v)]
    spread = tolerance_sds(len(finite)) * statistics.stdev(finite) if len(finite) > 1 else 0.0
    mean = statistics.fmean(finite) if finite else 0.0
    return max(spread, TOLERANCE_FLOOR + TOLERANCE_RELATIVE * abs(mean), resolution)


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


OPS = {">=": "≥", "<=": "≤", "between": "in"}
VERDICTS = ("reproduced", "not reproduced", "inconclusive")
SYMBOLS = {"reproduced": "✅", "not reproduced": "❌", "inconclusive": "❔"}
CONFIDENCE = 0.95  # one-sided level of the interval over seeds


@dataclass(frozen=True)
class Criterion:
    """What a metric must do for the claim to count as reproduced: ``op`` ``threshold`` (an absolute number;
    ``[low, high]`` for "between"). ``label`` says where the threshold comes from ("paper − 0.015"). The
    text shown with a verdict and the rule that decides it are made from the same object."""
    op: str
    threshold: float | tuple[float, float]
    label: str = ""

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"criterion op must be one of {list(OPS)}, not {self.op!r}")
        if (self.op == "between") != isinstance(self.threshold, tuple):
            raise ValueError("a 'between' criterion takes a (low, high) threshold, the others one number")

    def decide(self, low: float, high: float) -> str:
        """The verdict for a quantity known to lie in [low, high]: reproduced when the whole range meets
        the criterion, not reproduced when none of it does, inconclusive otherwise."""
        if self.op == ">=":
            meets, fails = low >= self.threshold, high < self.threshold
        elif self.op == "<=":
            meets, fails = high <= self.threshold, low > self.threshold
        else:
            lo, hi = self.threshold
            meets, fails = lo <= low and high <= hi, high < lo or low > hi
        return "reproduced" if meets else "not reproduced" if fails else "inconclusive"

    def holds(self, value: float) -> bool:
        return self.decide(value, value) == "reproduced"

    def __str__(self) -> str:
        if self.op == "between":
            rule = f"in [{_number(self.threshold[0])}, {_number(self.threshold[1])}]"
        else:
            rule = f"{OPS[self.op]} {_number(self.threshold)}"
        return f"{rule} ({self.label})" if self.label else rule

    def as_record(self) -> dict:
        return {"op": self.op, "threshold": list(self.threshold) if self.op == "between" else self.threshold}

    @classmethod
    def from_record(cls, record: dict, label: str = "") -> "Criterion":
        threshold = record["threshold"]
        return cls(record["op"], tuple(threshold) if record["op"] == "between" else float(threshold), label)


def _number(x: float) -> str:
    return f"{x:.4g}"


def at_least(threshold: float, label: str = "") -> Criterion:
    return Criterion(">=", float(threshold), label)


def at_most(threshold: float, label: str = "") -> Criterion:
    return Criterion("<=", float(threshold), label)


def between(low: float, high: float, label: str = "") -> Criterion:
    return Criterion("between", (float(low), float(high)), label)


def interval(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """One-sided ``confidence`` bounds of the mean over seeds, mean ∓ t(confidence, n − 1) · sd / √n: the
    lower bound is the one a "≥" criterion is judged on, the upper bound the one a "≤" criterion is."""
    from scipy.stats import t

    mean, sd, n = summarise(values)
    if n < 2:
        return -math.inf, math.inf
    half = float(t.ppf(confidence, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def judge(values, criterion: Criterion, *, deterministic: bool = False, seeds_needed: int = 2,
          preconditions=()) -> str:
    """The one verdict rule of the report.

    - A failed precondition (``{"passed": False}``: a model that did not train, say) → inconclusive.
    - A deterministic metric (no randomness between runs) is judged on its values as they are: reproduced
      when every value meets the criterion, not reproduced when none does.
    - A random metric needs ``seeds_needed`` (at least two) finite values; it is reproduced when the
      one-sided 95% confidence interval of the mean over seeds (``interval``) lies entirely on the passing
      side of the threshold, not reproduced when entirely on the failing side, inconclusive otherwise.
    """
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if any(not p["passed"] for p in preconditions) or not values or not all(map(math.isfinite, values)):
        return "inconclusive"
    if deterministic:
        return criterion.decide(min(values), max(values))
    if len(values) < max(2, seeds_needed):
        return "inconclusive"
    return criterion.decide(*interval(values))


def rejudge(record: dict) -> str:
    """The verdict of a stored record, from its own fields only (values, criterion, preconditions, kind)."""
    return judge(record["ours"]["values"], Criterion.from_record(record["criterion"]),
                 deterministic=record["deterministic"], seeds_needed=record["seeds_needed"],
                 preconditions=record["preconditions"])


class VerdictLog:
    """Collects the checked metrics of one claim notebook, judges them with the claim's declared criteria
    (``lib/<paper>/claims.py``) and writes them as records."""

    def __init__(self, claim, notebook: str, profile: str, seeds, device: str, settings: dict,
                 data: str = "", budget: float | None = None, budget_text: str = ""):
        self.claim = claim
        self.context = {"claim": claim.title, "claim_id": claim.key, "notebook": notebook, "profile": profile,
                        "seeds": list(seeds), "device": device, "settings": settings, "data": data,
                        "budget_fraction": budget, "budget": budget_text}
        self.records: list[dict] = []
        self.preconditions: dict[str, dict] = {}
        self.checked: dict[str, float] = {}  # regression-checked quantities: name -> value of this run
        self.resolution: dict[str, float] = {}  # name -> smallest step, where the quantity moves in steps
        self.verdict_only: set[str] = set()

    def header(self, data: str = "", **details: str) -> None:
        """Show the run header (profile, seeds, device, budget, then data and one line per ``details`` item)
        and remember ``data`` for the records."""
        from IPython.display import Markdown, display

        c = self.context
        c["data"] = data or c["data"]
        budget = ("" if c["budget_fraction"] is None else
                  f" Budget: {c['budget_fraction']:.1%} of the paper's" + (f" ({c['budget']})" if c["budget"] else "") + ".")
        lines = [f"**Run:** profile `{c['profile']}`, seeds {c['seeds']}, device {c['device']}.{budget}"]
        lines += [f"**Data:** {c['data']}."] if c["data"] else []
        lines += [f"**{name.replace('_', ' ')}:** {text}" for name, text in details.items()]
        display(Markdown("  \n".join(lines)))

    def criteria(self):
        """The claim's declared criteria as a table (for the notebook's verdict section)."""
        import pandas as pd

        rows = [{"metric": m.name, "criterion": str(m.criterion), "seeds needed": 1 if m.deterministic else max(2, m.seeds),
                 "preconditions": ", ".join(f"{p}: {self.claim.precondition(p).criterion}" for p in m.preconditions) or "–"}
                for m in self.claim.metrics]
        return pd.DataFrame(rows)

    def finish(self, records_dir: str | os.PathLike = "") -> None:
        """Check that every declared metric was judged, write the records (when the runner gave a folder)
        and show the verdict table."""
        from IPython.display import display

        missing = [m.name for m in self.claim.metrics if m.name not in {r["metric"] for r in self.records}]
        if missing:
            raise RuntimeError(f"{self.claim.key}: declared metrics never checked: {missing}")
        if records_dir:
            self.save(records_dir)
        display(self.table())

    def update_settings(self, **values) -> None:
        """Add settings known only during the run (a measured accuracy a later step depends on) to the records."""
        self.context["settings"] = {**self.context["settings"], **values}

    def precondition(self, name: str, values) -> dict:
        """Measure a declared precondition (one value per seed); it holds when every seed meets its criterion."""
        declared = self.claim.precondition(name)
        values = _floats(values)
        entry = {"name": name, "passed": bool(values) and all(declared.criterion.holds(v) for v in values),
                 "values": values, "criterion": declared.criterion.as_record(),
                 "criterion_text": str(declared.criterion)}
        self.preconditions[name] = entry
        return entry

    def check(self, metric: str, values, paper=None, reproductions: dict | None = None,
              note: str = "", check: str = "value", resolution: float = 0.0) -> dict:
        """Judge one metric, our values (one per seed), with the claim's declared criterion, and record it.

        The metric's declared preconditions must have been measured (``precondition``) before. ``check``
        says what the smoke regression check compares: the mean ("value"), only the verdict ("verdict",
        for machine-dependent numbers such as timings) or nothing ("none"); ``resolution`` is the smallest
        step of a quantity that moves in steps (see ``tolerance``).
        """
        if check not in ("value", "verdict", "none"):
            raise ValueError(f"check must be 'value', 'verdict' or 'none', not {check!r}")
        declared = self.claim.metric(metric)
        unmeasured = [p for p in declared.preconditions if p not in self.preconditions]
        if unmeasured:
            raise RuntimeError(f"{metric!r}: measure its preconditions {unmeasured} before judging it")
        values = _floats(values)
        mean, sd, n = summarise(values)
        preconditions = [self.preconditions[p] for p in declared.preconditions]
        verdict = judge(values, declared.criterion, deterministic=declared.deterministic,
                        seeds_needed=declared.seeds, preconditions=preconditions)
        low, high = interval(values) if not declared.deterministic else (min(values), max(values))
        c = self.context
        record = {**{k: v for k, v in c.items() if k not in ("budget_fraction", "budget")},
                  "metric": metric, "paper": paper, "reproductions": reproductions or {},
                  "ours": {"mean": mean, "sd": sd, "n": n, "values": values,
                           "interval": [_finite_or_none(low), _finite_or_none(high)]},
                  "criterion": declared.criterion.as_record(), "criterion_text": str(declared.criterion),
                  "deterministic": declared.deterministic, "seeds_needed": declared.seeds,
                  "preconditions": preconditions, "verdict": verdict, "note": note,
                  "provenance": {"profile": c["profile"], "seeds": c["seeds"], "device": c["device"],
                                 "budget_fraction": c["budget_fraction"], "budget": c["budget"]}}
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
            "per seed": ", ".join(f"{v:.3g}" for v in r["ours"]["values"]),
            "criterion": r["criterion_text"],
            "preconditions": ", ".join(f"{p['name']} {'✓' if p['passed'] else '✗'}" for p in r["preconditions"]) or "–",
            "verdict": f"{SYMBOLS[r['verdict']]} {r['verdict']}"} for r in self.records])

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


def _floats(values) -> list[float]:
    values = values.tolist() if hasattr(values, "tolist") else values  # NumPy arrays and scalars
    return [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no infinity


def load_records(records_dir: str | os.PathLike) -> list[dict]:
    """All records in a folder, sorted by claim then metric."""
    records = [json.loads(p.read_text()) for p in sorted(Path(records_dir).glob("*.json"))]
    return sorted(records, key=lambda r: (r["claim"], r["metric"]))
