"""Measure the smoke regression baselines: ``python -m lib.report.regression [notebook ...] [--seeds N] [--jobs J]``.

Each notebook runs with its own (smoke) parameters once per seed 0 … N−1; every run writes the
quantities its checked cell compares (``VerdictLog.regression_check``). Their per-seed values, mean and
tolerance go to ``notebooks/baselines/<notebook>.json``, and the seed-0 run, executed in place as
``notebooks/<notebook>.ipynb``, is the stored output that nbval compares with. This is what
``make baselines`` runs.

``--reference`` re-executes only the seed-0 run (nbval's reference) and compares its quantities with the
seed-0 values stored in the baseline, which stays as it is: after a change that should not alter any
number (a refactoring), every quantity must come out identical on the machine that measured the baseline.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from .runner import NOTEBOOKS, REPO, available_notebooks, execute_baseline, notebook_parameters
from .verdict import (BASELINES, RECORD_ENV, REGRESSION_ALPHA, TOLERANCE_FLOOR, TOLERANCE_RELATIVE, baseline_entry,
                      tolerance_sds)


def seed_parameter(name: str) -> str:
    """``seeds`` (a list) or ``seed`` (one value): how the notebook's parameters cell takes its seed."""
    defaults = notebook_parameters(name)
    for key, default in (("seeds", [0]), ("seed", 0)):
        if defaults.get(key) == default:
            return key
    raise ValueError(f"{name}: no `seeds = [0]` or `seed = 0` in the parameters cell")


def run_seed(name: str, seed: int, folder: Path) -> Path:
    """Execute one seed of a notebook, recording its checked quantities; seed 0 becomes nbval's reference."""
    import jupytext
    import papermill as pm

    record = folder / f"{name}-{seed}.json"
    os.environ[RECORD_ENV] = str(record)
    try:
        if seed == 0:  # the notebook's own parameters, executed in place
            if not execute_baseline(name, progress=False):
                raise RuntimeError(f"{name}: baseline run failed")
        else:
            key = seed_parameter(name)
            pm.execute_notebook(jupytext.read(NOTEBOOKS / f"{name}.py"), str(folder / f"{name}-{seed}.ipynb"),
                                parameters={key: [seed] if key == "seeds" else seed}, kernel_name="python3",
                                cwd=str(NOTEBOOKS), progress_bar=False)
    finally:
        del os.environ[RECORD_ENV]
    if not record.is_file():
        raise RuntimeError(f"{name}, seed {seed}: the checked cell wrote no quantities (no regression_check call?)")
    return record


def rule(n: int) -> str:
    """The tolerance rule of a baseline over ``n`` seeds, in words (stored with it)."""
    return (f"|value − mean| ≤ max(k × sd over seeds, {TOLERANCE_FLOOR:g} + {TOLERANCE_RELATIVE:g} × |mean|, one "
            f"step of a stepped quantity); k = t(n − 1; 1 − α/2) · √(1 + 1/n) = {tolerance_sds(n):.2f} for n = {n}, "
            f"α = {REGRESSION_ALPHA:g}: a prediction interval for one new seed")


def write_baseline(name: str, records: list[Path]) -> Path:
    """Combine the per-seed records of one notebook into its baseline file."""
    runs = [json.loads(p.read_text()) for p in records]
    names = list(runs[0]["checked"])
    if any(list(run["checked"]) != names for run in runs):
        raise ValueError(f"{name}: seeds measured different quantities")
    verdicts = runs[0]["verdicts"]
    unstable = [m for m in verdicts if len({run["verdicts"][m] for run in runs}) > 1]
    if unstable:
        raise ValueError(f"{name}: verdict-only checks {unstable} differ between seeds: not a regression check")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    import torch

    baseline = {
        "notebook": name, "seeds": len(runs),
        "rule": rule(len(runs)),
        "measured": {"date": dt.date.today().isoformat(), "commit": commit.stdout.strip(),
                     "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
                     "threads": torch.get_num_threads()},
        "checked": {m: baseline_entry([run["checked"][m] for run in runs], runs[0].get("resolution", {}).get(m, 0.0))
                    for m in names},
        "verdicts": verdicts}
    BASELINES.mkdir(parents=True, exist_ok=True)
    path = BASELINES / f"{name}.json"
    path.write_text(json.dumps(baseline, indent=1, ensure_ascii=False) + "\n")
    return path


def compare_reference(name: str, record: Path) -> list[str]:
    """Lines comparing a seed-0 run's quantities with the baseline's stored seed-0 values: "=" identical,
    "~" within tolerance but different, "✗" outside the tolerance or missing."""
    run = json.loads(record.read_text())
    baseline = json.loads((BASELINES / f"{name}.json").read_text())
    lines = []
    for metric, entry in baseline["checked"].items():
        if metric not in run["checked"]:
            lines.append(f"✗ {metric}: not measured")
            continue
        value, stored = run["checked"][metric], entry["values"][0]
        if value == stored or (math.isnan(value) and math.isnan(stored)):
            mark = "="
        else:
            mark = "~" if entry["tolerance"] is not None and abs(value - stored) <= entry["tolerance"] else "✗"
        lines.append(f"{mark} {metric}" + ("" if mark == "=" else f": {value!r}, seed 0 stored {stored!r}"))
    lines += [f"✗ {metric}: not in the baseline" for metric in run["checked"] if metric not in baseline["checked"]]
    for metric, verdict in baseline["verdicts"].items():
        got = run["verdicts"].get(metric)
        lines.append(f"{'=' if got == verdict else '✗'} {metric}: {got}" + ("" if got == verdict else f", stored {verdict}"))
    return lines


def reference_runs(names: list[str], jobs: int) -> int:
    """Re-execute the seed-0 runs and compare them with the stored baselines (``--reference``)."""
    worst = 0
    with tempfile.TemporaryDirectory(prefix="reference-") as tmp, \
            concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        futures = {name: pool.submit(run_seed, name, 0, Path(tmp)) for name in names}
        for name in names:
            try:
                lines = compare_reference(name, futures[name].result())
            except Exception as err:
                print(f"FAILED {name}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
                worst = 2
                continue
            same = sum(line.startswith("=") for line in lines)
            print(f"{name}: {same} of {len(lines)} identical", *[f"  {line}" for line in lines if line[0] != "="],
                  sep="\n", flush=True)
            worst = max(worst, 1 if any(line.startswith("✗") for line in lines) else 0)
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 … N−1 per notebook (default 5)")
    parser.add_argument("--jobs", type=int, default=2, help="notebook runs at the same time (default 2)")
    parser.add_argument("--reference", action="store_true",
                        help="re-execute only the seed-0 runs (nbval's references) and compare them with the baselines")
    args = parser.parse_args(argv)
    names = args.notebooks or available_notebooks()
    unknown = sorted(set(names) - set(available_notebooks()))
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; available: {available_notebooks()}")
    if args.seeds < 2 or args.jobs < 1:
        parser.error("--seeds needs at least 2 (a spread), --jobs at least 1")
    for name in names:  # fail before any compute
        seed_parameter(name)
        if args.reference and not (BASELINES / f"{name}.json").is_file():
            parser.error(f"{name}: no baseline to compare with; measure it with --seeds")
    if args.reference:
        return reference_runs(names, args.jobs)
    with tempfile.TemporaryDirectory(prefix="baselines-") as tmp:
        folder = Path(tmp)
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            futures = {(name, seed): pool.submit(run_seed, name, seed, folder)
                       for name in names for seed in range(args.seeds)}
            failed = []
            for name in names:
                try:
                    records = [futures[name, seed].result() for seed in range(args.seeds)]
                    print(f"{name}: {write_baseline(name, records).relative_to(REPO)}", flush=True)
                except Exception as err:  # one notebook's failure must not lose the others' baselines
                    failed.append(name)
                    print(f"FAILED {name}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
    if failed:
        print(f"{len(failed)} baseline(s) failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
