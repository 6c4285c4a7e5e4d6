"""Execute claim notebooks with a profile through papermill: ``python -m lib.report.runner --help``.

Examples::

    python -m lib.report.runner --profile cpu                       # every notebook -> book/executed/
    python -m lib.report.runner --profile smoke gce_headline        # one notebook
    python -m lib.report.runner --profile cpu gce_headline --sweep 'seeds=[0],[1],[2]'
    python -m lib.report.runner --profile smoke gce_headline -p gce_steps 300
    python -m lib.report.runner --profile paper --jobs 3             # three notebooks at a time (one GPU)
    python -m lib.report.runner --profile paper --executor slurm --partition gpu --gpus 1   # one SLURM job array
    python -m lib.report.runner --profile paper --executor local --gpus 1   # one job per GPU of CUDA_VISIBLE_DEVICES
    python -m lib.report.runner --profile paper --time-budget 540 --archive out.tar.gz      # a 9-minute GPU window
    python -m lib.report.runner --status runs/arrays/<folder>       # an array's status table; --gather merges it
    python -m lib.report.runner --sanitise book/executed/*.ipynb    # strip machine-specific paths, run nothing
    python -m lib.report.runner --cost-table book/generated/costs.md   # the book's cost table, run nothing

A notebook is read from its jupytext ``.py`` source (the source of truth) and executed with the profile's
parameters. ``profiles/<profile>.yaml`` maps each notebook to one mapping of parameters, or to a list of
them, each with an ``output`` name (the same notebook run on several datasets, say). Every parameter of
every planned run is checked against the notebook's parameters cell before any notebook starts (see
``check_parameters``). The executed copy is written to a temporary file, stripped of machine-specific
paths and moved into place only when it succeeded; a failed run is kept as ``<output>.failed.ipynb`` and
makes the command exit non-zero. Each run's wall time and device go into ``run_log.json``; its verdict
records, stamped with the output name, replace that output's old records. Records and log are changed
under inter-process locks, so concurrent runs (``--jobs``, or two commands) cannot lose each other's.
An output whose stored page carries the job's stamp (``job_stamp``: same source, library and parameters) is
current and skipped unless ``--force``. Job arrays, time-boxed windows and cost estimates are in ``lib.report.cluster``.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import keyword
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PROFILES = REPO / "profiles"
BOOK = REPO / "book"

# Set by the runner on every run; a profile or -p setting them would be silently overridden.
RUNNER_PARAMETERS = ("profile", "records_dir")
# Names of count parameters (see check_parameters): n_*, *_n_*, *_per_class, *steps, *epochs, ...
COUNT_NAME = re.compile(r"^n_|_n_|_per_class$|(^|_)(steps|epochs|repetitions|samples|rows)$")
RECORDS_LOCK = ".records.lock"
# The end of a traceback names the cause; its start is the runner's own frames.
TRACEBACK_TAIL_CHARS = 4000


def available_notebooks() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.py"))


def load_profile(name: str) -> dict:
    path = PROFILES / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise SystemExit(f"unknown profile {name!r}; profiles: {known}")
    try:
        profile = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SystemExit(f"profile {path}: not valid YAML: {err}") from None
    if profile is None:
        return {}
    if not isinstance(profile, dict):
        raise SystemExit(f"profile {path}: must map notebook names to parameters, "
                         f"but holds a {type(profile).__name__}")
    unknown = sorted(set(profile) - set(available_notebooks()))
    if unknown:  # a misspelt notebook name would silently run that notebook with its defaults
        raise SystemExit(f"profile {path}: unknown notebook(s) {unknown}; notebooks: {available_notebooks()}")
    return profile


def parse_value(text: str):
    """Command-line values are YAML: 3 -> int, 0.5 -> float, [0, 1] -> list, abc -> str."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"value {text!r} is not valid YAML ({getattr(err, 'problem', None) or err})") from None


def split_values(text: str) -> list[str]:
    """A sweep's values, split at the commas outside brackets and quotes: '[0,1],[2]' -> ['[0,1]', '[2]']."""
    values, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:i])
            start = i + 1
    if depth or quote:
        raise ValueError(f"--sweep values {text!r}: unbalanced brackets or quotes")
    values = [v.strip() for v in values + [text[start:]]]
    if not all(values):
        raise ValueError(f"--sweep values {text!r}: an empty value")
    return values


def device_description() -> str:
    import torch

    from lib.core.device import device_name, pick_device

    return device_name(pick_device("auto")) if torch.cuda.is_available() else device_name(torch.device("cpu"))


@dataclass
class Job:
    """One execution of a notebook: its source name, the output name and the parameters."""
    name: str
    output: str
    params: dict = field(default_factory=dict)


def _literal_assignments(source: str) -> dict:
    """Names assigned at the top level of Python ``source``, with their values; parsed, never executed.

    A value that is not a literal is None: its type is unknown, so it is not checked."""
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError):
                values[node.targets[0].id] = None
    return values


@functools.lru_cache(maxsize=None)
def notebook_parameters(name: str) -> dict:
    """The defaults of the cell tagged ``parameters`` in ``notebooks/<name>.py``."""
    import jupytext

    cells = [c for c in jupytext.read(NOTEBOOKS / f"{name}.py").cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"notebooks/{name}.py: expected one cell tagged 'parameters', found {len(cells)}")
    return _literal_assignments(cells[0].source)


# Modules that decide how notebooks are run or how their records are shown, not what they compute: left out
# of the library stamp, so that a fix to the scheduler or the scorecard does not make hours of stored
# results stale. A paper's claims registry (criteria, errata, budget statements) is left out too: a stored
# page's records are re-judged when its criteria change (``lib.report.rejudge``), and ``lib.report.pages``
# marks a page whose verdicts were re-judged, so a new claim does not stale every page of its paper.
ORCHESTRATION = ("report/runner.py", "report/cluster.py", "report/scorecard.py", "report/pages.py",
                 "report/rejudge.py", "report/toc.py", "report/regression.py")
PAPERS = ("gce", "labelfree", "cgn")
REGISTRIES = tuple(f"{paper}/claims.py" for paper in PAPERS)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def paper_of(notebook: str) -> str:
    return notebook.split("_")[0]


def library_digest(sources: dict[str, bytes], paper: str | None = None) -> str:
    """The library stamp of ``sources`` (path under ``lib/`` → contents of each ``.py`` file): a hash of the
    names and contents of all but the orchestration modules and the claims registries. With ``paper``, the
    other papers' packages are left out: a paper package never imports another, so a change to one paper's
    code leaves the others' results current."""
    def counted(name: str) -> bool:
        top = name.split("/")[0]
        return (name not in ORCHESTRATION + REGISTRIES and name.endswith(".py")
                and (paper is None or top not in PAPERS or top == paper))

    return _digest(b"\0".join(f"{name}\0".encode() + sources[name] for name in sorted(sources) if counted(name)))


@functools.lru_cache(maxsize=None)
def library_hash(lib: Path = Path(__file__).resolve().parents[1], paper: str | None = None) -> str:
    """``library_digest`` of the library files (``lib/**/*.py``). Read from the files, so it works in any
    clean clone, with or without git."""
    return library_digest({path.relative_to(lib).as_posix(): path.read_bytes() for path in lib.rglob("*.py")}, paper)


def job_stamp(job: Job, profile: str) -> dict:
    """What an executed output was made from: hashes of the notebook's ``.py`` source, of the library
    (``library_hash``) and of the parameters with the profile. Stored in the page's metadata
    (``repro.stamp``) and in its run-log entry; an output whose stamp equals the job's is current."""
    parameters = json.dumps({"profile": profile, "parameters": job.params}, sort_keys=True)
    return {"source": _digest((NOTEBOOKS / f"{job.name}.py").read_bytes()), "library": library_hash(paper=paper_of(job.name)),
            "parameters": _digest(parameters.encode())}


def _known_values(notebook: str, key: str) -> tuple | None:
    """The allowed values of a data-set parameter, or None where the runner does not know them."""
    if notebook.startswith("gce_") and key in ("dataset", "datasets"):
        return tuple(_literal_assignments((REPO / "lib" / "gce" / "reference.py").read_text())["GCE_SETTINGS"])
    if notebook.startswith("cgn_") and key in ("variant", "variants"):
        # Read rather than imported: lib.cgn imports torch, seconds before a typo could be reported.
        return tuple(_literal_assignments((REPO / "lib" / "cgn" / "variants.py").read_text())["VARIANTS"])
    return None


def _kind(value) -> str | None:
    """The coarse type of a parameter value; None (not checked) for None and anything unusual."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    for kind, types in (("string", str), ("list", (list, tuple)), ("mapping", dict)):
        if isinstance(value, types):
            return kind
    return None


def check_parameters(job: Job) -> list[str]:
    """What is wrong with a job's parameters, found without running it; empty when nothing is.

    papermill pastes names and values into the notebook as code, so a name must be a Python identifier
    that the notebook's ``parameters`` cell assigns, and not one the runner sets itself. A value must be
    of the default's kind (number, bool, string, list, mapping); None, and parameters whose default is
    None or not a literal, are not type-checked. A count, named like ``n_*``, ``*_n_*``, ``*_per_class``,
    ``*steps``, ``*epochs``, ``*repetitions``, ``*samples`` or ``*rows``, whose default is a positive
    integer must be a positive integer (or None); counts whose default is 0 mean "off" when 0
    (``transition_offsets``) and are not checked. GCE ``dataset(s)`` and CGN ``variant(s)`` must be known.
    """
    defaults = notebook_parameters(job.name)
    valid = ", ".join(sorted(set(defaults) - set(RUNNER_PARAMETERS)))
    problems = []
    for key, value in job.params.items():
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            problems.append(f"{job.name}: {key!r} is not a parameter name; valid: {valid}")
        elif key in RUNNER_PARAMETERS:
            problems.append(f"{job.name}: {key} is set by the runner, not by a profile or -p")
        elif key not in defaults:
            problems.append(f"{job.name}: unknown parameter {key!r}; valid: {valid}")
        elif _kind(value) and _kind(defaults[key]) and _kind(value) != _kind(defaults[key]):
            problems.append(f"{job.name}: {key} = {value!r} is a {_kind(value)}, the notebook expects a "
                            f"{_kind(defaults[key])} (default {defaults[key]!r})")
        elif (COUNT_NAME.search(key) and type(defaults[key]) is int
              and defaults[key] > 0 and value is not None and (not isinstance(value, int) or value <= 0)):
            problems.append(f"{job.name}: {key} = {value!r}; a count must be a positive whole number")
        elif (known := _known_values(job.name, key)) is not None:
            unknown = [v for v in (value if isinstance(value, list) else [value]) if v not in known]
            if unknown:
                problems.append(f"{job.name}: {key}: unknown {unknown}; known: {', '.join(known)}")
    return problems


def profile_order(profile: dict) -> list[str]:
    """Every notebook, the profile's first in its order: the order a profile's jobs are taken in."""
    return [*profile, *(n for n in available_notebooks() if n not in profile)]


def plan(names, profile: dict, overrides: dict, sweep: str | None) -> list[Job]:
    """The runs a command asks for: each profile variant of each notebook, times each sweep value.

    Raises ValueError, listing every problem, when a parameter of any run fails ``check_parameters``."""
    values = [("", {})]
    if sweep:
        key, _, text = sweep.partition("=")
        key = key.strip()
        if not key or not text:
            raise ValueError("--sweep needs NAME=V1,V2,...")
        values = [(f"-{key}={v}", {key: parse_value(v)}) for v in split_values(text)]
    jobs = []
    for name in names:
        entry = profile.get(name)
        for variant in entry if isinstance(entry, list) else [entry or {}]:
            if not isinstance(variant, dict):
                raise ValueError(f"profile entry {name}: each variant must be a mapping of parameters, "
                                 f"not a {type(variant).__name__} ({variant!r})")
            variant = dict(variant)
            output = str(variant.pop("output", name))
            variant.pop("title", None)  # the page's entry in the table of contents (lib.report.toc), not a parameter
            for suffix, extra in values:
                jobs.append(Job(name, (output + suffix).replace("/", "_"), {**variant, **overrides, **extra}))
    problems = list(dict.fromkeys(p for job in jobs for p in check_parameters(job)))
    if problems:
        raise ValueError("bad parameters (nothing was run):\n  " + "\n  ".join(problems))
    return jobs


@contextlib.contextmanager
def _locked(lock_path: Path):
    """Hold an exclusive inter-process lock on ``lock_path`` for the ``with`` block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:  # closing the file releases the lock, also on errors
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and os.replace: readers see the old file or the new, never a part."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, as for any new file (mkstemp would give 0o600)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def provenance(name: str) -> dict:
    """What a result was computed from: the git commit of the checkout (``-dirty`` when the code it ran,
    core, report, its paper's package, its notebook or the profiles, has uncommitted changes; None outside
    a git checkout), the SHA-256 of the notebook's ``.py`` source and the hash of the library as its paper
    uses it. Written into the page's metadata, its run-log entry and each of its records."""
    def git(*args) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    paper = paper_of(name)
    code = ["lib/__init__.py", "lib/core", "lib/report", f"lib/{paper}" if paper in PAPERS else "lib",
            f"notebooks/{name}.py", "profiles"]
    if commit and git("status", "--porcelain", "--", *code):
        commit += "-dirty"
    return {"commit": commit, "notebook_sha256": hashlib.sha256((NOTEBOOKS / f"{name}.py").read_bytes()).hexdigest(),
            "library": library_hash(paper=paper_of(name))}


def _replace_records(records_dir: Path, staging: Path, output: str, page: tuple[Path, Path] | None = None,
                     source: dict | None = None) -> None:
    """Swap an output's previous verdict records for the ones its new run wrote into ``staging``.

    Records are files ``<output>--<name>.json`` and an output's old ones are found by name (``--`` never
    occurs in ``<name>``), so other pages' records are never read. ``page`` (source, target), the executed
    notebook, is moved into place after the records under the same lock, so two runs of one output
    cannot leave the page of one beside the records of the other; if the swap fails it is not moved.
    """
    new = {}
    for path in sorted(staging.glob("*.json")):  # parse all before touching anything
        record = json.loads(path.read_text())
        record["output"] = output
        if source:
            record["provenance"] = {**record.get("provenance", {}), **source}
        # one "--" per file name, between output and record, so that the output can be read back from it
        new[f"{output}--{re.sub('-{2,}', '-', path.name)}"] = json.dumps(record, indent=1)
    swap_records(records_dir, output, new, page)


def swap_records(records_dir: Path, output: str, new: dict, page: tuple[Path, Path] | None = None) -> None:
    """Under the records lock: write ``new`` (file name -> text, names ``<output>--<name>.json``), delete the
    output's other records, then move ``page`` into place (see ``_replace_records``)."""
    records_dir.mkdir(parents=True, exist_ok=True)
    with _locked(records_dir / RECORDS_LOCK):
        for name, text in new.items():
            _write_atomic(records_dir / name, text)
        for path in records_dir.glob("*--*.json"):
            if path.stem.rpartition("--")[0] == output and path.name not in new:
                path.unlink()
        if page:
            os.replace(*page)


def _append_log(log_path: Path, entry: dict) -> None:
    """Add a run's entry to the log, under an inter-process lock.

    A successful run replaces all entries of its output; a failed one replaces only earlier failures of
    it, so the entry describing the page still stored is kept next to the failure."""
    def superseded(old: dict) -> bool:
        return old["output"] == entry["output"] and (entry["status"] == "ok" or old.get("status") != "ok")

    with _locked(log_path.with_name(f".{log_path.name}.lock")):
        log = json.loads(log_path.read_text()) if log_path.is_file() else []
        _write_atomic(log_path, json.dumps([e for e in log if not superseded(e)] + [entry], indent=1))


def append_log(out_dir: Path, entry: dict, executor: str, parallel_jobs: int) -> None:
    """Log a run in ``out_dir/run_log.json``, saying how it was run: ``pool`` (this machine's processes),
    ``local`` or ``slurm`` (submitit), and how many notebooks ran at the same time."""
    _append_log(out_dir / "run_log.json", {**entry, "executor": executor, "parallel_jobs": parallel_jobs})


def regenerate_scorecard(records_dir: Path) -> Path | None:
    """Rewrite the book's scorecard and claims matrix from its records, under the records lock so that they
    never mix an output's old and new records; other record folders have no scorecard (None)."""
    if records_dir != BOOK / "records":
        return None
    from .scorecard import main as write_scorecard

    with _locked(records_dir / RECORDS_LOCK):
        write_scorecard(["--records", str(records_dir), "--book", str(BOOK)])
    return BOOK / "scorecard.md"


def _failure_text(err: BaseException) -> str:
    """The end of the traceback, then the exception's name and value in full (the notebook's, for papermill)."""
    if hasattr(err, "ename"):  # papermill's PapermillExecutionError: the failing cell's exception
        from papermill.exceptions import strip_color

        trace, summary = strip_color("\n".join(err.traceback)), f"{err.ename}: {err.evalue}"
    else:
        trace, summary = "".join(traceback.format_exception(err)), f"{type(err).__name__}: {err}"
    trace = trace.rstrip()
    if len(trace) > TRACEBACK_TAIL_CHARS:
        trace = "[...]\n" + trace[-TRACEBACK_TAIL_CHARS:]
    return trace if trace.endswith(summary) else f"{trace}\n{summary}"  # a traceback usually ends with it


# A path component ends at a separator or a character that cannot continue a name.
_END = r"(?![\w.-])"
_COMPONENTS = r"(?:/[^/\s'\"<>:]+)*"


def _path_rewrites() -> list[tuple[re.Pattern, str]]:
    """Machine-specific path prefixes and their neutral stand-ins, in the order they must be applied:
    installed packages first, as they lie in a virtual environment that may lie in the repository."""
    rewrites = [(re.compile(_COMPONENTS + r"/lib/python\d+(?:\.\d+)?/(?:site|dist)-packages" + _END),
                 "<site-packages>"),
                (re.compile(_COMPONENTS + r"/lib/python\d+\.\d+" + _END), "<python-lib>"),
                (re.compile(_COMPONENTS + r"/\.venv" + _END), "<venv>")]
    roots = {str(REPO): "<repo>", str(Path.home()): "~"}
    for variable in ("REPRO_DATA", "REPRO_CACHE"):
        if os.environ.get(variable):
            roots[str(Path(os.environ[variable]).resolve())] = f"${variable}"
    for root, placeholder in sorted(roots.items(), key=lambda item: -len(item[0])):  # nested roots: longest first
        if root != "/":
            rewrites.append((re.compile(re.escape(root) + _END), placeholder))
    rewrites.append((re.compile(r"(?:/home/[^/\s'\"<>:]+|/root)" + _END), "~"))  # other machines' homes
    return rewrites


def _portable_path(value) -> str | None:
    """A path relative to the repository; None for a path outside it, or for what is not a path."""
    if not isinstance(value, (str, os.PathLike)):
        return None
    path = Path(value)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return None


def sanitise_notebook(nb, input_path=None, output_path=None):
    """Remove what is specific to the machine that executed ``nb`` (in place; returns ``nb``).

    The injected-parameters cell loses its ``records_dir`` line and is tagged ``remove-cell`` (the book
    hides it); papermill's metadata keeps repository-relative paths only (``input_path`` and
    ``output_path`` replace the recorded ones when given); in every text output the repository, the
    virtual environment, installed packages, the home folder and the data and cache roots become
    placeholders such as ``<repo>`` and ``<site-packages>``. Nothing else changes, so outputs that nbval
    compares stay as they were apart from paths.
    """
    rewrites = _path_rewrites()

    def clean(text: str) -> str:
        for pattern, placeholder in rewrites:
            text = pattern.sub(placeholder, text)
        return text

    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.source = "\n".join(line for line in cell.source.split("\n") if not re.match(r"records_dir\s*=", line))
            if "remove-cell" not in tags:
                tags.append("remove-cell")
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = clean(output.text)
            if output.get("output_type") == "error":
                output.evalue = clean(output.evalue)
                output.traceback = [clean(line) for line in output.traceback]
            for mime in output.get("data", {}):
                if mime.startswith("text/"):
                    output.data[mime] = clean(output.data[mime])
    meta = nb.metadata.get("papermill")
    if meta is not None:
        meta.get("parameters", {}).pop("records_dir", None)
        meta["input_path"] = _portable_path(input_path or meta.get("input_path"))
        meta["output_path"] = _portable_path(output_path or meta.get("output_path"))
    return nb


def sanitise_file(path, input_path=None, output_path=None) -> None:
    """``sanitise_notebook`` on a stored notebook, rewritten atomically; its output path defaults to itself."""
    import nbformat

    path = Path(path)
    nb = sanitise_notebook(nbformat.read(path, as_version=4), input_path, output_path or path.resolve())
    _write_atomic(path, nbformat.writes(nb))


def execute(job: Job, profile: str, out_dir: Path, records_dir: Path, progress: bool = True) -> dict:
    """Execute one job; returns its run-log entry.

    Records are written to a staging folder and replace the output's old records only on success,
    so a failed or interrupted run leaves the previous results intact. Raises ValueError, before any
    kernel starts, when ``check_parameters`` finds a problem.
    """
    import jupytext
    import papermill as pm

    problems = check_parameters(job)
    if problems:
        raise ValueError("bad parameters (nothing was run):\n  " + "\n  ".join(problems))
    out_dir, records_dir = Path(out_dir), Path(records_dir)
    stamp = job_stamp(job, profile)
    notebook = jupytext.read(NOTEBOOKS / f"{job.name}.py")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = provenance(job.name)
    notebook.metadata["repro"] = {"stamp": stamp, "provenance": source}
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
        sanitise_file(partial, input_path=NOTEBOOKS / f"{job.name}.py", output_path=final)
        _replace_records(records_dir, staging, job.output, page=(partial, final), source=source)
        failed.unlink(missing_ok=True)
        ok = True
    except Exception as err:  # papermill raises on the first failing cell
        ok = False
        if partial.exists():
            os.replace(partial, failed)
        print(f"FAILED {job.output}:\n{_failure_text(err)}\n  executed copy: {failed}", file=sys.stderr)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - start
    print(f"  {job.output}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s", flush=True)
    return {"notebook": job.name, "output": final.name, "profile": profile, "parameters": job.params,
            "status": "ok" if ok else "failed", "seconds": round(seconds, 1), "device": device_description(),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "stamp": stamp,
            "provenance": source}


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
        sanitise_file(partial, input_path=NOTEBOOKS / f"{name}.py", output_path=target)
    except Exception as err:
        print(f"FAILED {name}:\n{_failure_text(err)}\n  executed copy: {partial}", file=sys.stderr)
        return False
    os.replace(partial, target)
    return True


def output_folders(out: Path | None, sweep: str | None, profile: str) -> tuple[Path, Path]:
    """The folders for executed notebooks and for records. ``out`` is resolved against the current folder,
    so ``--out book/executed`` is the book's own folder, whose records go to book/records."""
    if out:
        out_dir = Path(out).resolve()
    elif sweep:
        out_dir = REPO / "runs" / f"{profile}-{sweep.partition('=')[0].strip()}"
    else:
        out_dir = BOOK / "executed"
    return out_dir, (BOOK / "records" if out_dir == BOOK / "executed" else out_dir / "records")


def absolute_roots() -> None:
    """Make ``$REPRO_DATA``, ``$REPRO_CACHE`` and ``$REPRO_WEIGHTS`` absolute: the kernels run in notebooks/ and
    would read a relative root from there (models trained into a cache nobody looks in)."""
    for variable in ("REPRO_DATA", "REPRO_CACHE", "REPRO_WEIGHTS"):
        if os.environ.get(variable):
            os.environ[variable] = str(Path(os.environ[variable]).resolve())


def main(argv=None) -> int:
    from . import cluster

    started = time.monotonic()  # a --time-budget counts from here
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help=f"notebook names (default: all of {available_notebooks()})")
    parser.add_argument("--profile", help="smoke, cpu or paper (a file in profiles/); required to run notebooks")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override one parameter (value parsed as YAML)")
    parser.add_argument("--sweep", metavar="NAME=V1,V2,...",
                        help="run once per value (YAML; commas inside brackets or quotes do not split); "
                             "outputs go to runs/<profile>-<NAME>/ unless --out is given")
    parser.add_argument("--out", type=Path, help="folder for executed notebooks and records "
                        "(default: book/executed and book/records)")
    parser.add_argument("--only", nargs="+", metavar="OUTPUT", help="run only these outputs of the profile")
    parser.add_argument("--jobs", type=int, help="notebooks at the same time: processes of the pool (default 1), "
                        "local job slots (default: one per GPU, else 1) or the SLURM array's limit (default: none)")
    parser.add_argument("--force", action="store_true", help="also re-run outputs that are current (stored page "
                        "made from the same notebook source, library and parameters)")
    parser.add_argument("--dry-run", action="store_true", help="say what would run and its estimated cost "
                        "(and, with --executor slurm, print the sbatch file); run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    parser.add_argument("--baseline", action="store_true",
                        help="execute notebooks/<name>.ipynb in place with its own parameters cell (the smoke "
                             "profile): the stored outputs that nbval compares against; no records")
    parser.add_argument("--sanitise", nargs="+", type=Path, metavar="IPYNB",
                        help="only remove machine-specific paths from these executed notebooks, in place")
    parser.add_argument("--cost-table", type=Path, metavar="MD", help="only write the book's table of what each "
                        "notebook costs (from book/executed/run_log.json and the paper profile) to this file")
    window = parser.add_argument_group("time-boxed windows (the pool executor, one notebook at a time)")
    window.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="start a job only when its cost (its run-log wall time, else --default-cost) fits the "
                             "time left since the command started; jobs are taken in the order of the notebooks "
                             "named, else in the profile's order")
    window.add_argument("--default-cost", type=float, default=cluster.DEFAULT_COST_S, metavar="SECONDS",
                        help="cost of a job the run log knows nothing about (default %(default)s)")
    window.add_argument("--archive", type=Path, metavar="TAR_GZ", help="also write what the runs changed (pages, "
                        "records, run log, scorecard) into one archive, paths relative to the repository")
    arrays = parser.add_argument_group("submitit: a SLURM job array or local processes")
    arrays.add_argument("--executor", choices=("pool", "local", "slurm"), default="pool",
                        help="pool: this process and --jobs processes (default); local: submitit's local executor; "
                             "slurm: one SLURM job array")
    arrays.add_argument("--array", type=Path, metavar="DIR",
                        help="the array's folder: job folders, logs (default runs/arrays/<profile>-<UTC time>)")
    arrays.add_argument("--gpus", type=int, help="GPUs per job (default: 1 on SLURM; 1 locally when GPUs are "
                        "visible, each job its own, else 0)")
    arrays.add_argument("--partition", help="SLURM partition")
    arrays.add_argument("--timeout-min", type=int, default=180,
                        help="time limit of each job in minutes (default %(default)s)")
    arrays.add_argument("--slurm-option", action="append", default=[], metavar="KEY[=VALUE]",
                        help="another sbatch option, verbatim: account=mylab, qos=high, exclusive, ...")
    arrays.add_argument("--no-wait", action="store_true",
                        help="SLURM: submit and return; then --status and --gather")
    arrays.add_argument("--poll", type=float, default=30, metavar="SECONDS",
                        help="how often a waiting command looks at the jobs (default %(default)s)")
    arrays.add_argument("--status", type=Path, metavar="DIR", help="print an array's status table and exit")
    arrays.add_argument("--gather", type=Path, metavar="DIR", help="merge an array's ended jobs into the book "
                        "(or their --out), regenerate the scorecard and exit")
    args = parser.parse_args(argv)

    if args.sanitise:
        for path in args.sanitise:
            sanitise_file(path)
        return 0
    if args.cost_table:
        args.cost_table.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(args.cost_table, cluster.cost_page(BOOK / "executed"))
        print(f"wrote {args.cost_table}")
        return 0
    if args.status:
        print(cluster.format_status(args.status, cluster.status_rows(args.status)))
        return 0
    if args.gather:
        entries, scorecard = cluster.gather(args.gather)
        return cluster.report(entries, *cluster.targets(args.gather), scorecard, args.archive)
    absolute_roots()
    names = args.notebooks or available_notebooks()
    unknown = [n for n in names if n not in available_notebooks()]
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; available: {available_notebooks()}")
    for wrong, message in [
            ((args.jobs is not None and args.jobs < 1) or (args.gpus or 0) < 0,
             "--jobs must be at least 1, --gpus at least 0"),
            (args.time_budget is not None and (args.executor != "pool" or (args.jobs or 1) > 1),
             "--time-budget runs one notebook at a time in this process: not with --executor or --jobs"),
            ((args.no_wait or args.partition or args.slurm_option) and args.executor != "slurm",
             "--no-wait, --partition and --slurm-option need --executor slurm"),
            (args.gpus is not None and args.executor == "pool", "--gpus needs --executor local or slurm")]:
        if wrong:
            parser.error(message)
    if args.baseline:
        failures = [n for n in names if not execute_baseline(n, not args.no_progress)]
        return 1 if failures else 0
    if not args.profile:
        parser.error("the following arguments are required: --profile")
    try:
        profile = load_profile(args.profile)
        overrides = {}
        for key, text in args.param:
            try:
                overrides[key] = parse_value(text)
            except ValueError as err:
                raise ValueError(f"-p {key}: {err}") from None
        # the order jobs are taken in: the notebooks named, else the profile's own order
        ordered = args.notebooks or profile_order(profile)
        jobs = plan(ordered, profile, overrides, args.sweep)
    except ValueError as err:
        parser.error(str(err))
    if args.only:
        missing = set(args.only) - {job.output for job in jobs}
        if missing:
            parser.error(f"--only: no output(s) {sorted(missing)} in the plan {[job.output for job in jobs]}")
        jobs = [job for job in jobs if job.output in args.only]
    out_dir, records_dir = output_folders(args.out, args.sweep, args.profile)

    todo = cluster.pending(jobs, args.profile, out_dir, args.force)
    if args.dry_run:
        cluster.describe(args, todo, out_dir)
        return 0
    if not todo:
        print(f"nothing to run: all {len(jobs)} output(s) in {out_dir} are current (--force re-runs them)")
        return 0
    for job, reason in todo:
        print(f"  {job.output}: to run ({reason})")
    if args.executor != "pool":
        gathered = cluster.run_array(args, todo, out_dir, records_dir)
        if gathered is None:  # --no-wait: the array runs on
            return 0
        entries, scorecard = gathered
    else:
        if (args.jobs or 1) == 1:
            entries = cluster.run_in_turn(todo, args.profile, out_dir, records_dir, not args.no_progress,
                                          args.time_budget, started, args.default_cost)
        else:  # separate processes: each papermill run drives its own kernel
            with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
                entries = list(pool.map(execute, [job for job, _ in todo],
                                        *zip(*[(args.profile, out_dir, records_dir, False)] * len(todo))))
            for entry in entries:
                append_log(out_dir, entry, "pool", args.jobs)
        scorecard = regenerate_scorecard(records_dir) if entries else None
    return cluster.report(entries, out_dir, records_dir, scorecard, args.archive)


if __name__ == "__main__":
    sys.exit(main())
