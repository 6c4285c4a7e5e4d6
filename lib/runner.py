"""Execute claim notebooks with a profile through papermill: ``python -m lib.runner --help``.

Examples::

    python -m lib.runner --profile cpu                       # every notebook -> book/executed/
    python -m lib.runner --profile smoke gce_headline        # one notebook
    python -m lib.runner --profile cpu gce_headline --sweep seeds='[0]','[1]','[2]'
    python -m lib.runner --profile smoke gce_headline -p dataset mnist_3_8

A notebook is read from its jupytext ``.py`` source (the source of truth), executed with the profile's
parameters (``profiles/<profile>.yaml``: one mapping of parameters per notebook), written to a temporary
file and moved into place only when it succeeded; a failed run is kept as ``<name>.failed.ipynb`` and
makes the command exit non-zero. Each run's wall time and device go into ``run_log.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
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


def _append_log(log_path: Path, entry: dict) -> None:
    log = json.loads(log_path.read_text()) if log_path.is_file() else []
    log = [e for e in log if e["output"] != entry["output"]] + [entry]
    tmp = log_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(log, indent=1))
    os.replace(tmp, log_path)


def _replace_records(records_dir: Path, staging: Path, notebook: str) -> None:
    """Swap a notebook's previous verdict records for the ones its new run wrote into ``staging``."""
    records_dir.mkdir(parents=True, exist_ok=True)
    for path in records_dir.glob("*.json"):
        if json.loads(path.read_text()).get("notebook") == notebook:
            path.unlink()
    for path in staging.glob("*.json"):
        os.replace(path, records_dir / path.name)


def execute(name: str, profile: str, parameters: dict, out_dir: Path, records_dir: Path,
            output_name: str | None = None, progress: bool = True) -> tuple[bool, float]:
    """Execute one notebook; returns (success, seconds).

    Records are written to a staging folder and replace the notebook's old records only on success,
    so a failed or interrupted run leaves the previous results intact.
    """
    import jupytext
    import papermill as pm

    source = NOTEBOOKS / f"{name}.py"
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".records-", dir=out_dir))
    params = {**parameters, "profile": profile, "records_dir": str(staging.resolve())}
    final = out_dir / f"{output_name or name}.ipynb"
    partial = final.with_suffix(".partial.ipynb")
    failed = final.with_suffix(".failed.ipynb")
    print(f"[{profile}] {name} -> {final.relative_to(REPO) if final.is_relative_to(REPO) else final}", flush=True)
    start = time.perf_counter()
    try:
        pm.execute_notebook(notebook, str(partial), parameters=params, kernel_name="python3",
                            cwd=str(NOTEBOOKS), progress_bar=progress, log_output=False)
        ok = True
        os.replace(partial, final)
        failed.unlink(missing_ok=True)
        _replace_records(records_dir, staging, f"{name}.ipynb")
    except Exception as err:  # papermill raises on the first failing cell
        ok = False
        if partial.exists():
            os.replace(partial, failed)
        print(f"FAILED {name}: {type(err).__name__}: {str(err)[:2000]}\n  executed copy: {failed}", file=sys.stderr)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - start
    _append_log(out_dir / "run_log.json", {
        "notebook": name, "output": final.name, "profile": profile, "parameters": parameters,
        "status": "ok" if ok else "failed", "seconds": round(seconds, 1), "device": device_description(),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    print(f"  {'ok' if ok else 'FAILED'} in {seconds:.1f} s", flush=True)
    return ok, seconds


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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    parser.add_argument("--baseline", action="store_true",
                        help="execute notebooks/<name>.ipynb in place with its own parameters cell (the smoke "
                             "profile): the stored outputs that nbval compares against; no records")
    args = parser.parse_args(argv)

    names = args.notebooks or available_notebooks()
    unknown = [n for n in names if n not in available_notebooks()]
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; available: {available_notebooks()}")
    profile = load_profile(args.profile)
    overrides = {k: parse_value(v) for k, v in args.param}

    runs = [({}, None)]
    if args.sweep:
        key, _, values = args.sweep.partition("=")
        if not key or not values:
            parser.error("--sweep needs NAME=V1,V2,...")
        runs = [({key: parse_value(v)}, f"{key}={v}") for v in values.split(",")]
    if args.out:
        out_dir, records_dir = args.out, args.out / "records"
    elif args.sweep:
        out_dir = REPO / "runs" / f"{args.profile}-{args.sweep.partition('=')[0]}"
        records_dir = out_dir / "records"
    else:
        out_dir, records_dir = BOOK / "executed", BOOK / "records"

    if args.baseline:
        failures = [n for n in names if not execute_baseline(n, not args.no_progress)]
        return 1 if failures else 0

    failures = []
    for name in names:
        for extra, suffix in runs:
            params = {**profile.get(name, {}), **overrides, **extra}
            output = f"{name}-{suffix}".replace("/", "_") if suffix else None
            run_records = records_dir / output if output else records_dir  # one folder per sweep value
            ok, _ = execute(name, args.profile, params, out_dir, run_records, output, not args.no_progress)
            if not ok:
                failures.append(output or name)
    if not args.out and not args.sweep:
        from .scorecard import main as write_scorecard

        write_scorecard(["--records", str(records_dir), "--out", str(BOOK / "scorecard.md")])
    if failures:
        print(f"{len(failures)} notebook run(s) failed: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
