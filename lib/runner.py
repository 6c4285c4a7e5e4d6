"""Execute claim notebooks with a profile through papermill: ``python -m lib.runner --help``.

Examples::

    python -m lib.runner --profile cpu                       # every notebook -> book/executed/
    python -m lib.runner --profile smoke gce_headline        # one notebook
    python -m lib.runner --profile cpu gce_headline --sweep 'seeds=[0],[1],[2]'
    python -m lib.runner --profile smoke gce_headline -p gce_steps 300
    python -m lib.runner --profile paper --jobs 3             # three notebooks at a time (one GPU)

A notebook is read from its jupytext ``.py`` source (the source of truth) and executed with the profile's
parameters. ``profiles/<profile>.yaml`` maps each notebook to one mapping of parameters, or to a list of
them, each with an ``output`` name (the same notebook run on several datasets, say). The executed copy is
written to a temporary file and moved into place only when it succeeded; a failed run is kept as
``<output>.failed.ipynb`` and makes the command exit non-zero. Each run's wall time and device go into
``run_log.json``; its verdict records, stamped with the output name, replace that output's old records.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
PROFILES = REPO / "profiles"
BOOK = REPO / "book"


def available_notebooks() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.py"))


def load_profile(name: str) -> dict:
    path = PROFILES / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise SystemExit(f"unknown profile {name!r}; profiles: {known}")
    return yaml.safe_load(path.read_text()) or {}


def parse_value(text: str):
    """Command-line values are YAML: 3 -> int, 0.5 -> float, [0, 1] -> list, abc -> str."""
    return yaml.safe_load(text)


def device_description() -> str:
    import torch

    from .train import device_name, pick_device

    return device_name(pick_device("auto")) if torch.cuda.is_available() else device_name(torch.device("cpu"))


@dataclass
class Job:
    """One execution of a notebook: its source name, the output name and the parameters."""
    name: str
    output: str
    params: dict = field(default_factory=dict)


def plan(names, profile: dict, overrides: dict, sweep: str | None) -> list[Job]:
    """The runs a command asks for: each profile variant of each notebook, times each sweep value."""
    values = [("", {})]
    if sweep:
        key, _, text = sweep.partition("=")
        if not key or not text:
            raise ValueError("--sweep needs NAME=V1,V2,...")
        values = [(f"-{key}={v}", {key: parse_value(v)}) for v in text.split(",")]
    jobs = []
    for name in names:
        entry = profile.get(name, {})
        for variant in entry if isinstance(entry, list) else [entry]:
            variant = dict(variant)
            output = variant.pop("output", name)
            for suffix, extra in values:
                jobs.append(Job(name, (output + suffix).replace("/", "_"), {**variant, **overrides, **extra}))
    return jobs


def _replace_records(records_dir: Path, staging: Path, output: str) -> None:
    """Swap an output's previous verdict records for the ones its new run wrote into ``staging``."""
    records_dir.mkdir(parents=True, exist_ok=True)
    for path in records_dir.glob("*.json"):
        if json.loads(path.read_text()).get("output") == output:
            path.unlink()
    for path in staging.glob("*.json"):
        record = json.loads(path.read_text())
        record["output"] = output
        target = records_dir / f"{output}--{path.name}"
        target.write_text(json.dumps(record, indent=1))
        path.unlink()


def execute(job: Job, profile: str, out_dir: Path, records_dir: Path, progress: bool = True) -> dict:
    """Execute one job; returns its run-log entry.

    Records are written to a staging folder and replace the output's old records only on success,
    so a failed or interrupted run leaves the previous results intact.
    """
    import jupytext
    import papermill as pm

    notebook = jupytext.read(NOTEBOOKS / f"{job.name}.py")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".records-", dir=out_dir))
    params = {**job.params, "profile": profile, "records_dir": str(staging.resolve())}
    final = out_dir / f"{job.output}.ipynb"
    partial = final.with_suffix(".partial.ipynb")
    failed = final.with_suffix(".failed.ipynb")
    print(f"[{profile}] {job.name} -> {final}", flush=True)
    start = time.perf_counter()
    try:
        pm.execute_notebook(notebook, str(partial), parameters=params, kernel_name="python3",
                            cwd=str(NOTEBOOKS), progress_bar=progress, log_output=False)
        ok = True
        os.replace(partial, final)
        failed.unlink(missing_ok=True)
        _replace_records(records_dir, staging, job.output)
    except Exception as err:  # papermill raises on the first failing cell
        ok = False
        if partial.exists():
            os.replace(partial, failed)
        print(f"FAILED {job.output}: {type(err).__name__}: {str(err)[:2000]}\n  executed copy: {failed}",
              file=sys.stderr)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - start
    print(f"  {job.output}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s", flush=True)
    return {"notebook": job.name, "output": final.name, "profile": profile, "parameters": job.params,
            "status": "ok" if ok else "failed", "seconds": round(seconds, 1), "device": device_description(),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def _append_log(log_path: Path, entry: dict) -> None:
    log = json.loads(log_path.read_text()) if log_path.is_file() else []
    log = [e for e in log if e["output"] != entry["output"]] + [entry]
    tmp = log_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(log, indent=1))
    os.replace(tmp, log_path)


def execute_baseline(name: str, progress: bool = True) -> bool:
    """Execute the paired notebook with its own parameters into notebooks/<name>.ipynb (nbval's reference)."""
    import jupytext
    import papermill as pm

    target = NOTEBOOKS / f"{name}.ipynb"
    partial = target.with_suffix(".partial.ipynb")
    print(f"[baseline] {name} -> {target.relative_to(REPO)}", flush=True)
    try:
        pm.execute_notebook(jupytext.read(NOTEBOOKS / f"{name}.py"), str(partial), kernel_name="python3",
                            cwd=str(NOTEBOOKS), progress_bar=progress)
    except Exception as err:
        print(f"FAILED {name}: {type(err).__name__}: {str(err)[:2000]}\n  executed copy: {partial}", file=sys.stderr)
        return False
    os.replace(partial, target)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help=f"notebook names (default: all of {available_notebooks()})")
    parser.add_argument("--profile", required=True, help="smoke, cpu or paper (a file in profiles/)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override one parameter (value parsed as YAML)")
    parser.add_argument("--sweep", metavar="NAME=V1,V2,...",
                        help="run once per value; outputs go to runs/<profile>-<NAME>/ unless --out is given")
    parser.add_argument("--out", type=Path, help="folder for executed notebooks and records "
                        "(default: book/executed and book/records)")
    parser.add_argument("--only", nargs="+", metavar="OUTPUT", help="run only these outputs of the profile")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed at the same time")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    parser.add_argument("--baseline", action="store_true",
                        help="execute notebooks/<name>.ipynb in place with its own parameters cell (the smoke "
                             "profile): the stored outputs that nbval compares against; no records")
    args = parser.parse_args(argv)

    names = args.notebooks or available_notebooks()
    unknown = [n for n in names if n not in available_notebooks()]
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; available: {available_notebooks()}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.baseline:
        failures = [n for n in names if not execute_baseline(n, not args.no_progress)]
        return 1 if failures else 0
    try:
        jobs = plan(names, load_profile(args.profile), {k: parse_value(v) for k, v in args.param}, args.sweep)
    except ValueError as err:
        parser.error(str(err))
    if args.only:
        missing = set(args.only) - {job.output for job in jobs}
        if missing:
            parser.error(f"--only: no output(s) {sorted(missing)} in the plan {[job.output for job in jobs]}")
        jobs = [job for job in jobs if job.output in args.only]
    if args.out:
        out_dir = args.out
    elif args.sweep:
        out_dir = REPO / "runs" / f"{args.profile}-{args.sweep.partition('=')[0]}"
    else:
        out_dir = BOOK / "executed"
    records_dir = BOOK / "records" if out_dir == BOOK / "executed" else out_dir / "records"

    run = lambda job: execute(job, args.profile, out_dir, records_dir, not args.no_progress)  # noqa: E731
    if args.jobs == 1:
        entries = [run(job) for job in jobs]
    else:  # separate processes: each papermill run drives its own kernel
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            entries = list(pool.map(execute, jobs, *zip(*[(args.profile, out_dir, records_dir, False)] * len(jobs))))
    for entry in entries:
        _append_log(out_dir / "run_log.json", {**entry, "parallel_jobs": args.jobs})
    if records_dir == BOOK / "records":
        from .scorecard import main as write_scorecard

        write_scorecard(["--records", str(records_dir), "--out", str(BOOK / "scorecard.md")])
    failures = [e["output"] for e in entries if e["status"] != "ok"]
    if failures:
        print(f"{len(failures)} notebook run(s) failed: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
