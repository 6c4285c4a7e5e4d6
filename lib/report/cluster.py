"""Beyond one machine's process pool: skip what is current, fit runs into a time-boxed window, and run a
profile's jobs through submitit, as one SLURM job array or as local processes (one per GPU).

Used by ``python -m lib.report.runner`` (``--executor``, ``--time-budget``, ``--status``, ``--gather``; see its
``--help``). An *array* is a folder, by default ``runs/arrays/<profile>-<UTC time>``::

    array.json        the executor and its parameters, the target folders, each job's scheduler id and log
    logs/             submitit's folder: each job's <id>_0_log.out and .err, the sbatch file, pickles
    jobs/<output>/    one job: job.json (what it runs), state.json (queued, running, done or failed, wall
                      time) and what the runner writes for it: the executed notebook and records/, or
                      <output>.failed.ipynb

Each job runs ``run_job(<its folder>)``, which executes the notebook into that folder only, so no job
touches the book. ``gather`` then moves each ended job's page and records into the target folders with
the runner's locked swap, appends its run-log entry under the log's lock and regenerates the scorecard.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shlex
import shutil
import socket
import sys
import tarfile
import time
from pathlib import Path

from . import runner

STATES = ("queued", "running", "done", "failed")
# sacct states after which a job will never record its own end; any other (PREEMPTED: requeued) may still run
SLURM_ENDED = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "TIMEOUT"}
DEFAULT_COST_S = 600.0
STAMP_PARTS = {"source": "notebook source", "library": "library", "parameters": "parameters or profile"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path):
    return json.loads(Path(path).read_text())


def _write_json(path: Path, data) -> None:
    runner._write_atomic(path, json.dumps(data, indent=1))


def _wall(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _records_of(records_dir: Path, output: str) -> list[Path]:
    """An output's records, matched by name as the runner does (a glob would read '[' in a sweep value)."""
    return sorted(p for p in records_dir.glob("*--*.json") if p.stem.rpartition("--")[0] == output)


# --- what is current -------------------------------------------------------------------------------------

def staleness(job: runner.Job, profile: str, out_dir: Path) -> str | None:
    """Why ``job`` must run, or None when its executed output in ``out_dir`` carries the job's stamp."""
    page = out_dir / f"{job.output}.ipynb"
    if not page.is_file():
        return "no executed output" + ("; the last run failed" if page.with_suffix(".failed.ipynb").is_file() else "")
    stored = _read_json(page).get("metadata", {}).get("repro", {}).get("stamp")
    if not stored:
        return "executed before stamps were recorded"
    stamp = runner.job_stamp(job, profile)
    changed = [text for part, text in STAMP_PARTS.items() if stored.get(part) != stamp[part]]
    return "changed: " + ", ".join(changed) if changed else None


def pending(jobs: list[runner.Job], profile: str, out_dir: Path, force: bool) -> list[tuple[runner.Job, str]]:
    """The jobs to run, each with the reason, in the given order; says which are skipped as current."""
    todo = []
    for job in jobs:
        reason = "forced" if force else staleness(job, profile, out_dir)
        if reason:
            todo.append((job, reason))
        else:
            print(f"  {job.output}: current (same source, library and parameters), skipped; --force re-runs it")
    return todo


# --- cost estimates and time-boxed windows ---------------------------------------------------------------

def device_class(description: str) -> str:
    return "cpu" if description.startswith("CPU") else "gpu"


def logged_runs(*folders: Path) -> list[dict]:
    """The successful runs in the run logs of these folders, each log read once."""
    entries = []
    for folder in dict.fromkeys(Path(f).resolve() for f in folders):
        if (folder / "run_log.json").is_file():
            entries += [e for e in _read_json(folder / "run_log.json") if e.get("status") == "ok" and e.get("seconds")]
    return entries


def estimate(job: runner.Job, profile: str, device: str, runs: list[dict], default: float) -> tuple[float, str]:
    """Expected wall seconds of ``job`` on a ``device`` ("cpu" or "gpu") and where the number comes from:
    the output's own logged run with this profile, else the longest logged run of the same notebook with
    this profile (runs on the same kind of device preferred), else ``default``."""
    for kind, matches in (("measured", lambda e: e["output"] == f"{job.output}.ipynb"),
                          (f"estimated from {job.name}", lambda e: e.get("notebook") == job.name)):
        found = [e for e in runs if e.get("profile") == profile and matches(e)]
        if found:
            alike = [e for e in found if device_class(e.get("device") or "") == device] or found
            run = max(alike, key=lambda e: e["seconds"])
            return run["seconds"], f"{kind}: {run['output']}, {_wall(run['seconds'])} on {run['device']}"
    return default, f"default: no {profile} run of {job.name} in the run log"


def _total(seconds: list[float]) -> str:
    return f"{_wall(sum(seconds))} ({len(seconds)} output{'' if len(seconds) == 1 else 's'})" if seconds else "–"


def cost_table(jobs: list[runner.Job], runs: list[dict]) -> str:
    """A markdown table of what each notebook costs: its outputs in ``jobs`` (the paper profile's plan), the
    wall time of each that ``runs`` holds for the paper profile on a GPU, and the summed wall times of the
    notebook's cpu-profile runs on a CPU; a last row totals them, and a line names the devices."""
    outputs: dict[str, list[str]] = {}
    for job in jobs:
        outputs.setdefault(job.name, []).append(job.output)
    planned = {f"{output}.ipynb" for names in outputs.values() for output in names}
    gpu = {e["output"]: e for e in runs if e.get("profile") == "paper" and e["output"] in planned
           and device_class(e.get("device") or "") == "gpu"}
    cpu = [e for e in runs if e.get("profile") == "cpu" and e.get("notebook") in outputs
           and device_class(e.get("device") or "") == "cpu"]
    lines = ["| notebook | `paper` outputs | `paper` on a GPU | `cpu` profile on a CPU (all its outputs) |",
             "|---|---|---|---|"]
    for name, names in outputs.items():
        timed = [_wall(gpu[f"{o}.ipynb"]["seconds"]) for o in names if f"{o}.ipynb" in gpu]
        missing = [f"`{o}`" for o in names if f"{o}.ipynb" not in gpu]
        on_gpu = ", ".join(timed) + (f" (not run: {', '.join(missing)})" if missing else "") if timed else "–"
        lines.append(f"| `{name}` | {len(names)} | {on_gpu} | "
                     f"{_total([e['seconds'] for e in cpu if e['notebook'] == name])} |")
    gpu_seconds = [e["seconds"] for e in gpu.values()]
    on_gpu = f"{_wall(sum(gpu_seconds))} ({len(gpu)} of {len(planned)} outputs)" if gpu else "–"
    lines.append(f"| all | {len(planned)} | {on_gpu} | {_total([e['seconds'] for e in cpu])} |")
    devices = [f"`{profile}` runs on {', '.join(sorted({e['device'] for e in found})) or 'none'}"
               for profile, found in (("paper", gpu.values()), ("cpu", cpu))]
    return "\n".join(lines) + f"\n\nDevices in the run log: {'; '.join(devices)}.\n"


def cost_page(log_folder: Path) -> str:
    """What ``python -m lib.report.runner --cost-table`` writes: the cost table of the paper profile's plan from the
    run log in ``log_folder``, under a line saying how it was made."""
    profile = runner.load_profile("paper")
    jobs = runner.plan(runner.profile_order(profile), profile, {}, None)
    return ("% Generated by `python -m lib.report.runner --cost-table book/generated/costs.md` (part of `make book`) "
            "from book/executed/run_log.json and profiles/paper.yaml; do not edit by hand.\n\n"
            + cost_table(jobs, logged_runs(log_folder)))


def run_in_turn(todo, profile: str, out_dir: Path, records_dir: Path, progress: bool,
                budget: float | None = None, started: float = 0.0, default_cost: float = DEFAULT_COST_S) -> list[dict]:
    """Execute jobs one after another in this process, logging each as soon as it ends. With ``budget``
    (seconds since ``started``, a ``time.monotonic()`` value) a job starts only when its estimated cost
    fits the time left; one that does not is named with its cost and the next is considered."""
    if budget is not None:
        runs = logged_runs(out_dir, runner.BOOK / "executed")
        device = device_class(runner.device_description())
    entries, late = [], []
    for job, _ in todo:
        if budget is not None:
            cost, source = estimate(job, profile, device, runs, default_cost)
            left = budget - (time.monotonic() - started)
            if cost > left:
                print(f"  {job.output}: not started: needs ~{_wall(cost)} ({source}); {_wall(max(left, 0))} "
                      f"of the {_wall(budget)} budget left", flush=True)
                late.append(job.output)
                continue
            print(f"  {job.output}: starting, ~{_wall(cost)} ({source}); {_wall(left)} left", flush=True)
        entry = runner.execute(job, profile, out_dir, records_dir, progress)
        runner.append_log(out_dir, entry, "pool", 1)
        entries.append(entry)
    if budget is not None:
        print(f"time budget {_wall(budget)}: {len(entries)} of {len(todo)} job(s) run in "
              f"{_wall(time.monotonic() - started)}; not started: {late or 'none'}")
    return entries


def write_archive(path: Path, entries: list[dict], out_dir: Path, records_dir: Path, scorecard: Path | None) -> None:
    """One .tar.gz of what the runs changed: the new pages and their records, the run log and the
    scorecard, with paths relative to the repository (else to the output folder's parent)."""
    files = []
    for entry in entries:
        if entry["status"] == "ok":
            files += [out_dir / entry["output"], *_records_of(records_dir, Path(entry["output"]).stem)]
    files += [out_dir / "run_log.json"] + ([scorecard] if scorecard else [])
    base = runner.REPO if out_dir.is_relative_to(runner.REPO) else out_dir.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for file in files:
            tar.add(file, arcname=file.relative_to(base).as_posix())
    print(f"archive {path}: {len(files)} file(s); unpack with: tar -xzf {path} -C {base}")


# --- arrays ----------------------------------------------------------------------------------------------

def _visible_gpus() -> list[int]:
    """GPU indices a local job may be given: $CUDA_VISIBLE_DEVICES, else every GPU torch sees."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        import torch

        return list(range(torch.cuda.device_count()))
    try:
        return [int(i) for i in visible.split(",") if i.strip()]
    except ValueError:
        raise SystemExit(f"CUDA_VISIBLE_DEVICES={visible!r}: the local executor needs GPU indices, "
                         "not UUIDs") from None


def job_gpus(args) -> int:
    """GPUs per job: --gpus, else 1 on SLURM and locally when GPUs are visible, else 0."""
    if args.gpus is not None:
        return args.gpus
    return 1 if args.executor == "slurm" or _visible_gpus() else 0


def gpu_slots(gpus: int, parallel: int | None) -> list[tuple[int, ...]]:
    """The GPUs of each local job slot: ``gpus`` each, from the visible GPUs, as many slots as they fill
    (at most ``parallel``); without GPUs ``parallel`` (default 1) slots with none."""
    if not gpus:
        return [()] * (parallel or 1)
    ids = _visible_gpus()
    slots = [tuple(ids[i:i + gpus]) for i in range(0, len(ids) - gpus + 1, gpus)]
    if not slots:
        raise SystemExit(f"--gpus {gpus}: {len(ids)} GPU(s) visible ({ids}); set CUDA_VISIBLE_DEVICES or --gpus 0")
    return slots[:parallel] if parallel else slots


def slurm_parameters(args) -> dict:
    """submitit's SlurmExecutor parameters for the array: job name, partition, time limit, GPUs per job,
    how many run at a time (--jobs) and the --slurm-option flags, passed to sbatch verbatim."""
    options = {}
    for option in args.slurm_option:
        key, sep, value = option.partition("=")
        options[key.strip().lstrip("-")] = value if sep else True
    parameters = {"job_name": f"repro-{args.profile}", "partition": args.partition, "time": args.timeout_min,
                  "gpus_per_node": job_gpus(args) or None, "array_parallelism": args.jobs,
                  "additional_parameters": options or None}
    return {key: value for key, value in parameters.items() if value is not None}


def sbatch_text(parameters: dict, logs: Path, count: int) -> str:
    """The sbatch file submitit writes for ``count`` jobs, rendered without submitting. submitit's renderer
    is internal: tests/report/test_cluster.py checks that it matches what a submission writes."""
    from submitit.slurm.slurm import _make_sbatch_string

    logs = logs.absolute()
    command = f"{shlex.quote(sys.executable)} -u -m submitit.core._submit {shlex.quote(str(logs))}"
    return _make_sbatch_string(command=command, folder=logs, map_count=count if count > 1 else None, **parameters)


def default_array_folder(profile: str) -> Path:
    return runner.REPO / "runs" / "arrays" / f"{profile}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}"


def new_array(folder: Path, todo, profile: str, out_dir: Path, records_dir: Path, executor: str,
              parallel_jobs: int, parameters: dict) -> None:
    """Write an array's folder: a folder per job with what it runs and its state (queued), and array.json."""
    if (folder / "array.json").exists():
        raise SystemExit(f"{folder} already holds an array; give another --array, or none")
    for job, reason in todo:
        (folder / "jobs" / job.output).mkdir(parents=True, exist_ok=True)
        _write_json(folder / "jobs" / job.output / "job.json", {"notebook": job.name, "output": job.output,
                    "parameters": job.params, "profile": profile, "reason": reason})
        _write_json(folder / "jobs" / job.output / "state.json", {"state": "queued", "queued": _now()})
    _write_json(folder / "array.json", {
        "executor": executor, "profile": profile, "created": _now(), "out_dir": str(out_dir),
        "records_dir": str(records_dir), "parallel_jobs": parallel_jobs, "parameters": parameters,
        "jobs": [{"output": job.output, "id": None, "log": None} for job, _ in todo]})


def run_job(job_dir: str) -> dict:
    """What each array job runs: the runner's ``execute`` into the job's own folder, its state recorded
    around it. Raises when the notebook failed, so that the scheduler counts the job as failed too."""
    folder = Path(job_dir)
    spec = _read_json(folder / "job.json")
    started = {"state": "running", "started": _now(), "host": socket.gethostname()}
    _write_json(folder / "state.json", started)  # a fresh state: a re-run job is gathered again
    try:
        entry = runner.execute(runner.Job(spec["notebook"], spec["output"], spec["parameters"]), spec["profile"],
                               folder, folder / "records", progress=False)
    except BaseException as err:
        _write_json(folder / "state.json", {**started, "state": "failed", "note": f"{type(err).__name__}: {err}"})
        raise
    ok = entry["status"] == "ok"
    note = "" if ok else _error_of(folder / f"{spec['output']}.failed.ipynb")
    _write_json(folder / "state.json", {**started, "state": "done" if ok else "failed", "seconds": entry["seconds"],
                                        "entry": entry, "note": note})
    if not ok:
        raise RuntimeError(f"{spec['output']} failed: the notebook's error is above; executed copy in {folder}")
    return entry


def _error_of(failed: Path) -> str:
    """The exception a failed executed notebook ended with, for the status table."""
    if failed.is_file():
        for cell in _read_json(failed)["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output['ename']}: {output['evalue']}"[:200]
    return "failed before the notebook ran: see the .err log"


def _register(folder: Path, array: dict, record: dict, job) -> None:
    """Note a submitted job's scheduler id and logs in array.json."""
    log = Path(job.paths.stdout).relative_to(folder).with_suffix("").as_posix()
    record.update(id=job.job_id, log=f"{log}.{{out,err}}")
    _write_json(folder / "array.json", array)


def submit_slurm(folder: Path, parameters: dict) -> dict:
    """Submit the array's jobs as one SLURM job array; returns submitit's jobs by id."""
    import submitit

    array = _read_json(folder / "array.json")
    executor = submitit.SlurmExecutor(folder=folder / "logs")
    executor.update_parameters(**parameters)
    handles = executor.map_array(run_job, [str(folder / "jobs" / record["output"]) for record in array["jobs"]])
    for record, job in zip(array["jobs"], handles):
        _register(folder, array, record, job)
    print(f"submitted {len(handles)} job(s) to SLURM; sbatch file: {handles[0].paths.submission_file}", flush=True)
    return {job.job_id: job for job in handles}


def run_local(folder: Path, slots: list[tuple[int, ...]], timeout_min: int, poll: float) -> dict:
    """Run the array's jobs with submitit's local executor, one per slot at a time (a slot's GPUs are the
    job's CUDA_VISIBLE_DEVICES), printing the status table as it changes; returns submitit's jobs by id."""
    import submitit

    array = _read_json(folder / "array.json")
    executor = submitit.LocalExecutor(folder=folder / "logs")
    queue, running, handles = list(array["jobs"]), [None] * len(slots), {}

    def launch() -> None:
        for i, gpus in enumerate(slots):
            if queue and (running[i] is None or running[i].done()):
                record = queue.pop(0)
                executor.update_parameters(timeout_min=timeout_min, gpus_per_node=len(gpus), visible_gpus=gpus)
                running[i] = executor.submit(run_job, str(folder / "jobs" / record["output"]))
                handles[running[i].job_id] = running[i]
                _register(folder, array, record, running[i])

    wait(folder, poll, handles, launch)
    return handles


def _ended(executor: str, folder: Path, job_id: str, handles: dict) -> str | None:
    """How a job ended according to its scheduler, for a job that may have ended without recording it
    (killed, timed out); None while it may still run."""
    job = handles.get(job_id)
    if executor == "slurm":
        import submitit

        state = (job or submitit.SlurmJob(folder=folder / "logs", job_id=job_id)).state
        return f"SLURM: {state}" if state.split(" ")[0] in SLURM_ENDED else None
    if job is not None:
        return "its process ended" if job.done() else None
    try:  # another command's local job: its id is the controller's process id
        os.kill(int(job_id), 0)
    except ProcessLookupError:
        return "its process ended"
    except PermissionError:
        pass
    return None


def status_rows(folder: Path, handles: dict | None = None) -> list[dict]:
    """One row per job: output, state (queued, running, done, failed), wall seconds, job id, logs, note."""
    array = _read_json(folder / "array.json")
    rows = []
    for record in array["jobs"]:
        # the scheduler is asked before the state is read: a job that ends in between has recorded it
        ended = record["id"] and _ended(array["executor"], folder, record["id"], handles or {})
        state = _read_json(folder / "jobs" / record["output"] / "state.json")
        row = {"output": record["output"], "state": state["state"], "id": record["id"] or "",
               "log": record["log"] or "", "note": state.get("note", ""), "seconds": state.get("seconds")}
        if state["state"] in ("queued", "running") and ended:
            row.update(state="failed", note=ended)
        if row["seconds"] is None and "started" in state:
            started = dt.datetime.fromisoformat(state["started"])
            row["seconds"] = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
        rows.append(row)
    return rows


def format_status(folder: Path, rows: list[dict]) -> str:
    counts = ", ".join(f"{n} {state}" for state in STATES if (n := sum(r["state"] == state for r in rows)))
    table = [("output", "state", "wall", "job id", "log", "note")]
    table += [(r["output"], r["state"], _wall(r["seconds"]), r["id"], r["log"], r["note"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    return "\n".join([f"array {folder}: {counts} ({_now()})", *lines])


def wait(folder: Path, poll: float, handles: dict, launch=None) -> list[dict]:
    """Print the status table whenever a job's state changes, until every job has ended; ``launch()``,
    called before each look, starts queued jobs as slots free up (the local executor)."""
    shown = None
    while True:
        if launch:
            launch()
        rows = status_rows(folder, handles)
        if [r["state"] for r in rows] != shown:
            shown = [r["state"] for r in rows]
            print(format_status(folder, rows), flush=True)
        if all(r["state"] in ("done", "failed") for r in rows):
            return rows
        time.sleep(poll)


def targets(folder: Path) -> tuple[Path, Path]:
    """The folders an array's pages and records are gathered into."""
    array = _read_json(folder / "array.json")
    return Path(array["out_dir"]), Path(array["records_dir"])


def _land(job_dir: Path, output: str, out_dir: Path, records_dir: Path) -> None:
    """Move a finished job's page and records into the target folders with the runner's locked swap."""
    new = {p.name: p.read_text() for p in _records_of(job_dir / "records", output)}
    for text in new.values():
        json.loads(text)  # a corrupt record stops the swap before anything changes
    final = out_dir / f"{output}.ipynb"
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / f".{final.name}.{secrets.token_hex(6)}.tmp"  # beside the target: the swap is one rename
    shutil.copyfile(job_dir / final.name, page)
    try:
        runner.sanitise_file(page, output_path=final)
        runner.swap_records(records_dir, output, new, page=(page, final))
    finally:
        page.unlink(missing_ok=True)
    (out_dir / f"{output}.failed.ipynb").unlink(missing_ok=True)


def gather(folder: Path, handles: dict | None = None) -> tuple[list[dict], Path | None]:
    """Merge the array's ended, not yet gathered jobs into their target folders: pages and records of the
    done ones, the executed copy of failed ones as ``<output>.failed.ipynb``, every one's run-log entry;
    then regenerate the scorecard. Returns the entries and the scorecard (None when not rewritten).
    Jobs still queued or running are left for a later gather."""
    array = _read_json(folder / "array.json")
    out_dir, records_dir = targets(folder)
    entries, rows = [], status_rows(folder, handles)
    for row in rows:
        job_dir = folder / "jobs" / row["output"]
        state, spec = _read_json(job_dir / "state.json"), _read_json(job_dir / "job.json")
        if state.get("gathered") or row["state"] not in ("done", "failed"):
            continue
        if row["state"] == "done":
            _land(job_dir, row["output"], out_dir, records_dir)
        elif (job_dir / f"{row['output']}.failed.ipynb").is_file():
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(job_dir / f"{row['output']}.failed.ipynb", out_dir / f"{row['output']}.failed.ipynb")
        entry = state.get("entry") or {
            "notebook": spec["notebook"], "output": f"{row['output']}.ipynb", "profile": spec["profile"],
            "parameters": spec["parameters"], "status": "failed", "seconds": None, "device": None,
            "finished": _now(), "note": row["note"]}
        runner.append_log(out_dir, entry, array["executor"], array["parallel_jobs"])
        _write_json(job_dir / "state.json", {**state, "state": row["state"], "note": row["note"], "gathered": _now()})
        entries.append(entry)
        print(f"  gathered {row['output']}: {entry['status']}")
    waiting = [row["output"] for row in rows if row["state"] in ("queued", "running")]
    if waiting:
        print(f"{len(waiting)} job(s) still queued or running, left for a later --gather {folder}: {waiting}")
    ok = any(entry["status"] == "ok" for entry in entries)
    return entries, runner.regenerate_scorecard(records_dir) if ok else None


def run_array(args, todo, out_dir: Path, records_dir: Path) -> tuple[list[dict], Path | None] | None:
    """Run the jobs through submitit (``args.executor``: local or slurm), wait for them while printing their
    status, and gather them; None when ``--no-wait`` left a SLURM array running."""
    folder = (args.array or default_array_folder(args.profile)).resolve()
    hint = f"status: python -m lib.report.runner --status {folder}\nmerge ended jobs: python -m lib.report.runner --gather {folder}"
    try:
        if args.executor == "slurm":
            parameters = slurm_parameters(args)
            new_array(folder, todo, args.profile, out_dir, records_dir, "slurm", 1, parameters)
            handles = submit_slurm(folder, parameters)
            if args.no_wait:
                print(hint)
                return None
            wait(folder, args.poll, handles)
        else:
            slots = gpu_slots(job_gpus(args), args.jobs)
            new_array(folder, todo, args.profile, out_dir, records_dir, "local", len(slots),
                      {"timeout_min": args.timeout_min, "gpu_slots": slots})
            handles = run_local(folder, slots, args.timeout_min, args.poll)
    except KeyboardInterrupt:
        raise SystemExit(f"interrupted: jobs already started run on, the others will not start\n{hint}") from None
    return gather(folder, handles)


def describe(args, todo, out_dir: Path) -> None:
    """Print each job to run with its estimated cost and, for SLURM, the sbatch file; runs nothing."""
    if args.executor == "pool":
        device = device_class(runner.device_description())
    else:
        device = "gpu" if job_gpus(args) else "cpu"
    runs, total = logged_runs(out_dir, runner.BOOK / "executed"), 0.0
    for job, reason in todo:
        cost, source = estimate(job, args.profile, device, runs, args.default_cost)
        total += cost
        print(f"  {job.output}: to run ({reason}); ~{_wall(cost)} ({source})")
    print(f"{len(todo)} job(s) to run: ~{total / 3600:.2f} {device.upper()}-hours in all (executor {args.executor})")
    if args.executor == "slurm" and todo:
        folder = (args.array or default_array_folder(args.profile)).resolve()
        text = sbatch_text(slurm_parameters(args), folder / "logs", len(todo))
        print(f"SLURM job description ({folder / 'logs'}):\n{text}")


def report(entries: list[dict], out_dir: Path, records_dir: Path, scorecard: Path | None, archive: Path | None) -> int:
    """Write the archive if asked for and say what failed; the command's exit status."""
    if archive and entries:
        write_archive(archive, entries, out_dir, records_dir, scorecard)
    failures = [entry["output"] for entry in entries if entry["status"] != "ok"]
    if failures:
        print(f"{len(failures)} notebook run(s) failed: {failures}; the same command again runs only what "
              "failed or changed", file=sys.stderr)
        return 1
    return 0
