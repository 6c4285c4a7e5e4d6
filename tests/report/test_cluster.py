"""Arrays through submitit, skipping what is current, time-boxed windows (lib.report.cluster via lib.report.runner's CLI).

The local-executor tests execute the cheapest notebook, gce_cost on the smoke profile, for real (about a
minute and a half on 2 busy cores); SLURM is stood in for by fake sbatch, srun and sacct commands, so the
job array is built and "submitted" but nothing runs.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import nbformat
import pytest

import lib.report.cluster as cluster
import lib.report.runner as runner

SWEEP = ["--profile", "smoke", "gce_cost", "--sweep", "seed=-1,0,1"]  # seed -1 passes the checks, fails in NumPy


def _page(path: Path, stamp: dict | None) -> None:
    nb = nbformat.v4.new_notebook()
    if stamp:
        nb.metadata["repro"] = {"stamp": stamp}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_staleness_names_what_changed(tmp_path):
    job = runner.Job("gce_cost", "gce_cost", {"seed": 1})
    assert cluster.staleness(job, "smoke", tmp_path) == "no executed output"
    _page(tmp_path / "gce_cost.ipynb", None)
    assert cluster.staleness(job, "smoke", tmp_path) == "executed before stamps were recorded"
    _page(tmp_path / "gce_cost.ipynb", runner.job_stamp(job, "smoke"))
    assert cluster.staleness(job, "smoke", tmp_path) is None
    assert cluster.staleness(job, "cpu", tmp_path) == "changed: parameters or profile"
    assert cluster.staleness(runner.Job("gce_cost", "gce_cost", {"seed": 2}), "smoke", tmp_path) == \
        "changed: parameters or profile"
    _page(tmp_path / "gce_cost.ipynb", {**runner.job_stamp(job, "smoke"), "source": "x", "library": "y"})
    assert cluster.staleness(job, "smoke", tmp_path) == "changed: notebook source, library"


def test_library_stamp_leaves_out_the_orchestration_and_other_papers(tmp_path):
    lib = Path(runner.__file__).parents[1]
    assert all((lib / name).is_file() for name in runner.ORCHESTRATION)
    for name in (*runner.ORCHESTRATION, "gce/method.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text((lib / name).read_text())
    (tmp_path / "cgn").mkdir()
    (tmp_path / "cgn" / "model.py").write_text("x = 1\n")
    before = runner.library_hash(tmp_path)
    (tmp_path / "report" / "runner.py").write_text("# a fix to the scheduler\n")
    (tmp_path / "report" / "cluster.py").unlink()
    assert runner.library_hash.__wrapped__(tmp_path) == before
    assert runner.library_hash.__wrapped__(tmp_path, "gce") == runner.library_hash.__wrapped__(tmp_path, "gce")
    gce, cgn = runner.library_hash.__wrapped__(tmp_path, "gce"), runner.library_hash.__wrapped__(tmp_path, "cgn")
    (tmp_path / "cgn" / "model.py").write_text("x = 2\n")
    assert runner.library_hash.__wrapped__(tmp_path) != before
    assert runner.library_hash.__wrapped__(tmp_path, "cgn") != cgn  # a paper's own change counts for it ...
    assert runner.library_hash.__wrapped__(tmp_path, "gce") == gce  # ... and not for another paper
    (tmp_path / "gce" / "claims.py").write_text("CLAIMS = {}\n")  # a new claim re-judges records, stales nothing
    assert runner.library_hash.__wrapped__(tmp_path, "gce") == gce


def test_pages_stored_before_stamps_are_not_current():
    unstamped = [p for p in sorted((runner.BOOK / "executed").glob("*.ipynb"))
                 if "stamp" not in json.loads(p.read_text())["metadata"].get("repro", {})]
    if not unstamped:
        pytest.skip("every stored page carries a stamp")
    page = unstamped[0].stem
    assert cluster.staleness(runner.Job(page.split("-")[0], page, {}), "cpu", runner.BOOK / "executed") == \
        "executed before stamps were recorded"


def test_cost_table_sums_the_logged_runs(tmp_path):
    cpu, gpu = "CPU (x86_64, 1 threads of 2 cores)", "NVIDIA H100"
    log = [("a", "a", "paper", "ok", 97.4, gpu), ("a", "a-x", "paper", "ok", 150.0, gpu),
           ("a", "a-y", "paper", "failed", None, None), ("a", "a-y", "paper", "ok", 500.0, cpu),  # not on a GPU
           ("a", "a-small", "cpu", "ok", 30.0, cpu), ("a", "a-z", "smoke", "ok", 5.0, cpu),
           ("b", "b", "cpu", "ok", 200.0, cpu), ("b", "b-2", "cpu", "ok", 400.0, cpu),
           ("b", "b-3", "cpu", "ok", 50.0, gpu),  # not on a CPU
           ("c", "c", "paper", "ok", 60.0, gpu), ("c", "c", "cpu", "ok", 60.0, cpu)]  # c is not in the plan
    (tmp_path / "run_log.json").write_text(json.dumps([
        {"notebook": name, "output": f"{output}.ipynb", "profile": profile, "status": status, "seconds": seconds,
         "device": device} for name, output, profile, status, seconds, device in log]))
    jobs = [runner.Job("a", "a"), runner.Job("a", "a-x"), runner.Job("a", "a-y"), runner.Job("b", "b")]
    assert cluster.cost_table(jobs, cluster.logged_runs(tmp_path)).splitlines()[2:] == [
        "| `a` | 3 | 97 s, 2.5 min (not run: `a-y`) | 30 s (1 output) |",
        "| `b` | 1 | – | 10.0 min (2 outputs) |",
        "| all | 4 | 4.1 min (2 of 4 outputs) | 10.5 min (3 outputs) |",
        "",
        f"Devices in the run log: `paper` runs on {gpu}; `cpu` runs on {cpu}."]


def test_stored_cost_table_is_the_generated_one():
    stored = runner.BOOK / "generated" / "costs.md"
    assert stored.read_text() == cluster.cost_page(runner.BOOK / "executed"), (
        f"{stored} is stale: make book, or python -m lib.report.runner --cost-table {stored.relative_to(runner.REPO)}")


@pytest.fixture
def no_kernels(monkeypatch, tmp_path):
    """runner.execute replaced by a fake that writes a page and a record; ``calls`` lists the outputs run."""
    calls = []

    def fake_execute(job, profile, out_dir, records_dir, progress=True):
        calls.append(job.output)
        _page(Path(out_dir) / f"{job.output}.ipynb", runner.job_stamp(job, profile))
        Path(records_dir).mkdir(parents=True, exist_ok=True)
        (Path(records_dir) / f"{job.output}--m.json").write_text(json.dumps({"output": job.output}))
        return {"notebook": job.name, "output": f"{job.output}.ipynb", "profile": profile, "status": "ok",
                "seconds": 1.0, "device": "CPU (test)"}

    monkeypatch.setattr(runner, "execute", fake_execute)
    monkeypatch.setattr(runner, "device_description", lambda: "CPU (x86_64, 1 threads of 2 cores)")
    monkeypatch.setattr(runner, "BOOK", tmp_path / "book")  # the book's run log holds no runs these tests expect
    return calls


def test_time_budget_smaller_than_the_cost_runs_nothing_and_says_why(tmp_path, no_kernels, capsys):
    assert runner.main(["--profile", "smoke", "gce_cost", "--out", str(tmp_path), "--time-budget", "60"]) == 0
    out = capsys.readouterr().out
    assert "gce_cost: not started: needs ~10.0 min (default: no smoke run of gce_cost in the run log)" in out
    assert "0 of 1 job(s) run" in out and no_kernels == []

    (tmp_path / "run_log.json").write_text(json.dumps([
        {"notebook": "gce_cost", "output": "gce_cost.ipynb", "profile": "smoke", "status": "ok", "seconds": 95.0,
         "device": "CPU (x86_64, 1 threads of 2 cores)"}]))
    assert runner.main(["--profile", "smoke", "gce_cost", "--out", str(tmp_path), "--time-budget", "60"]) == 0
    assert "needs ~95 s (measured: gce_cost.ipynb, 95 s on CPU" in capsys.readouterr().out
    assert no_kernels == []


def test_time_budget_takes_jobs_in_order_and_archives_what_ran(tmp_path, no_kernels, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run_log.json").write_text(json.dumps([
        {"notebook": "gce_headline", "output": f"gce_headline-seeds=[{seed}].ipynb", "profile": "smoke",
         "status": "ok", "seconds": seconds, "device": "CPU (x86_64, 1 threads of 2 cores)"}
        for seed, seconds in ((0, 5000.0), (1, 20.0), (2, 30.0))]))
    archive = tmp_path / "window.tar.gz"
    argv = ["--profile", "smoke", "gce_headline", "--sweep", "seeds=[0],[1],[2],[3]", "--out", str(tmp_path / "out"),
            "--time-budget", "300", "--archive", str(archive)]
    assert runner.main(argv) == 0
    assert no_kernels == ["gce_headline-seeds=[1]", "gce_headline-seeds=[2]"]  # [0] and [3] do not fit
    out = capsys.readouterr().out
    assert "gce_headline-seeds=[0]: not started: needs ~83.3 min (measured: " in out
    # a new value is priced as the costliest logged run of its notebook
    assert "gce_headline-seeds=[3]: not started: needs ~83.3 min (estimated from gce_headline: " in out
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert names == {"out/run_log.json", *(f"out/{name}" for seed in (1, 2) for name in (
        f"gce_headline-seeds=[{seed}].ipynb", f"records/gce_headline-seeds=[{seed}]--m.json"))}
    logged = json.loads((tmp_path / "out" / "run_log.json").read_text())
    assert [(e["output"], e.get("executor")) for e in logged][-2:] == [("gce_headline-seeds=[1].ipynb", "pool"),
                                                                       ("gce_headline-seeds=[2].ipynb", "pool")]
    assert runner.main(argv) == 0 and "seeds=[1]: current" in capsys.readouterr().out  # skipped: current
    assert no_kernels == ["gce_headline-seeds=[1]", "gce_headline-seeds=[2]"]


@pytest.mark.parametrize("argv, message", [
    (["--executor", "local", "--time-budget", "60"], "--time-budget runs one notebook at a time"),
    (["--partition", "gpu"], "--partition and --slurm-option need --executor slurm"),
    (["--gpus", "1"], "--gpus needs --executor local or slurm"),
    (["--jobs", "0"], "--jobs must be at least 1")])
def test_conflicting_options_are_refused(argv, message, no_kernels, capsys):
    with pytest.raises(SystemExit):
        runner.main(["--profile", "smoke", "gce_cost", *argv])
    assert message in capsys.readouterr().err


def test_local_slots_give_each_job_its_own_gpus(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3,5")
    assert cluster.gpu_slots(1, None) == [(2,), (3,), (5,)]
    assert cluster.gpu_slots(1, 2) == [(2,), (3,)]
    assert cluster.gpu_slots(2, None) == [(2, 3)]
    assert cluster.gpu_slots(0, 3) == [(), (), ()]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8f3e")
    with pytest.raises(SystemExit, match="needs GPU indices"):
        cluster.gpu_slots(1, None)
    # what run_local relies on: submitit's local executor sets a job's CUDA_VISIBLE_DEVICES to its slot
    import submitit

    executor = submitit.LocalExecutor(folder=tmp_path / "logs")
    executor.update_parameters(timeout_min=1, gpus_per_node=1, visible_gpus=(5,))
    assert executor.submit(os.getenv, "CUDA_VISIBLE_DEVICES").result() == "5"


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> Path:
    """sbatch, srun and sacct stand-ins on PATH: sbatch answers job 4242 and keeps its argument; sacct says
    task 0 is pending and task 1 ran out of time."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"srun": "exit 0",
               "sbatch": f'echo "$1" >> {bin_dir}/sbatch.calls\necho "Submitted batch job 4242"',
               "sacct": 'printf "JobID|State|NodeList\\n4242_0|PENDING|None\\n4242_1|TIMEOUT|node7\\n"'}
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod((bin_dir / name).stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_slurm_job_array(tmp_path, fake_slurm, no_kernels, capsys):
    from submitit.core.utils import DelayedSubmission

    array = tmp_path / "array"
    argv = ["--profile", "smoke", "gce_cost", "--sweep", "seed=0,1", "--out", str(tmp_path / "out"),
            "--executor", "slurm", "--partition", "gpu-debug", "--timeout-min", "30", "--jobs", "2",
            "--slurm-option", "account=lab", "--array", str(array)]
    assert runner.main([*argv, "--dry-run"]) == 0
    described = capsys.readouterr().out.split("SLURM job description", 1)[1].split(":\n", 1)[1]
    assert not array.exists()
    assert runner.main([*argv, "--no-wait"]) == 0

    sbatch = (array / "logs" / "4242_submission.sh").read_text()
    assert (fake_slurm / "sbatch.calls").read_text().count("\n") == 1  # one submission: one array
    assert described.strip() == sbatch.strip()  # the dry run shows what submitit submits
    for line in ["#SBATCH --array=0-1%2", "#SBATCH --partition=gpu-debug", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --time=30", "#SBATCH --job-name=repro-smoke", "#SBATCH --account=lab",
                 f"#SBATCH --output={array}/logs/%A_%a_0_log.out",
                 f"-u -m submitit.core._submit {array}/logs"]:
        assert line in sbatch
    records = json.loads((array / "array.json").read_text())["jobs"]
    assert [(r["output"], r["id"]) for r in records] == [("gce_cost-seed=0", "4242_0"), ("gce_cost-seed=1", "4242_1")]
    for task, seed in enumerate((0, 1)):  # what each task of the array runs
        delayed = DelayedSubmission.load(array / "logs" / f"4242_{task}_submitted.pkl")
        job_dir = array / "jobs" / f"gce_cost-seed={seed}"
        assert delayed.function is cluster.run_job and delayed.args == (str(job_dir),)
        spec = json.loads((job_dir / "job.json").read_text())
        assert (spec["notebook"], spec["profile"]) == ("gce_cost", "smoke")
        assert spec["parameters"] == {**runner.load_profile("smoke")["gce_cost"], "seed": seed}

    assert runner.main(["--status", str(array)]) == 0
    status = capsys.readouterr().out
    assert "1 queued, 1 failed" in status and "SLURM: TIMEOUT" in status
    assert runner.main(["--gather", str(array)]) == 1  # the timed-out job is a failure
    assert "still queued or running" in capsys.readouterr().out
    logged = json.loads((tmp_path / "out" / "run_log.json").read_text())
    assert [(e["output"], e["status"], e["note"], e["executor"]) for e in logged] == [
        ("gce_cost-seed=1.ipynb", "failed", "SLURM: TIMEOUT", "slurm")]
    assert no_kernels == []


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The smoke sweep seed=-1,0,1 of gce_cost through submitit's local executor, two jobs at a time, into
    a book of its own; seed -1 fails in the notebook first, and the others still run."""
    data = os.environ.get("REPRO_DATA")
    if not data or not (Path(data) / "MNIST" / "raw").is_dir():
        pytest.skip("needs $REPRO_DATA with MNIST")
    tmp = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "BOOK", tmp / "book")
        mp.setenv("REPRO_CACHE", str(tmp / "cache"))
        argv = [*SWEEP, "--out", str(tmp / "book" / "executed"), "--executor", "local", "--gpus", "0",
                "--jobs", "2", "--poll", "1", "--no-progress"]
        out, err = io.StringIO(), io.StringIO()  # capsys is per test: this runs once for the module
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = runner.main([*argv, "--array", str(tmp / "first")])
        yield {"rc": rc, "out": out.getvalue(), "err": err.getvalue(), "tmp": tmp, "argv": argv}


def test_local_sweep_lands_and_regenerates_the_scorecard(local_sweep):
    book = local_sweep["tmp"] / "book"
    assert sorted(p.name for p in (book / "executed").glob("*.ipynb")) == [
        "gce_cost-seed=-1.failed.ipynb", "gce_cost-seed=0.ipynb", "gce_cost-seed=1.ipynb"]
    for seed in (0, 1):
        page = json.loads((book / "executed" / f"gce_cost-seed={seed}.ipynb").read_text())
        params = {**runner.load_profile("smoke")["gce_cost"], "seed": seed}
        job = runner.Job("gce_cost", f"gce_cost-seed={seed}", params)
        assert page["metadata"]["repro"]["stamp"] == runner.job_stamp(job, "smoke")
        assert page["metadata"]["papermill"]["output_path"] is None  # outside the repository: no path kept
        assert cluster._records_of(book / "records", f"gce_cost-seed={seed}")
    scorecard = (book / "scorecard.md").read_text()
    assert "executed/gce_cost-seed=0.ipynb" in scorecard and "executed/gce_cost-seed=1.ipynb" in scorecard
    logged = {e["output"]: e for e in json.loads((book / "executed" / "run_log.json").read_text())}
    assert {o: (e["status"], e["executor"], e["parallel_jobs"]) for o, e in logged.items()} == {
        "gce_cost-seed=-1.ipynb": ("failed", "local", 2), "gce_cost-seed=0.ipynb": ("ok", "local", 2),
        "gce_cost-seed=1.ipynb": ("ok", "local", 2)}
    tables = local_sweep["out"].split("array ")
    assert "2 done, 1 failed" in tables[-1] and "wrote" in local_sweep["out"]


def test_local_sweep_reports_the_failed_job_and_the_others_land(local_sweep):
    assert local_sweep["rc"] == 1
    assert "1 notebook run(s) failed: ['gce_cost-seed=-1.ipynb']" in local_sweep["err"]
    final = local_sweep["out"].split("array ")[-1]
    failed = next(line for line in final.splitlines() if line.startswith("gce_cost-seed=-1"))
    assert "failed" in failed and "ValueError: Seed must be between 0 and 2**32 - 1" in failed
    assert "logs/" in failed and "_0_log.{out,err}" in failed
    state = json.loads((local_sweep["tmp"] / "first" / "jobs" / "gce_cost-seed=-1" / "state.json").read_text())
    assert state["state"] == "failed" and state["gathered"]


def test_local_resubmission_runs_only_what_failed(local_sweep, capsys):
    tmp = local_sweep["tmp"]
    assert runner.main([*local_sweep["argv"], "--array", str(tmp / "second")]) == 1
    out = capsys.readouterr().out
    assert out.count("current (same source, library and parameters), skipped") == 2
    assert "gce_cost-seed=-1: to run (no executed output; the last run failed)" in out
    assert sorted(p.name for p in (tmp / "second" / "jobs").iterdir()) == ["gce_cost-seed=-1"]
    assert runner.main([*local_sweep["argv"], "--only", "gce_cost-seed=0", "gce_cost-seed=1"]) == 0
    assert "nothing to run: all 2 output(s)" in capsys.readouterr().out
    assert runner.main(["--gather", str(tmp / "first")]) == 0  # gathered already: nothing twice
    assert "gathered" not in capsys.readouterr().out
