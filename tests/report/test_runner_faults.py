"""The runner under faults: concurrent writers, corrupt records, failing notebooks, machine paths.

No kernel starts here: papermill is replaced by fakes that write what a run would write.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

import lib.report.runner as runner

MACHINE_MARKERS = (str(runner.REPO), "/.venv", "/home/", "/root/", "/site-packages")


def _stage(folder: Path, names, size: int = 1) -> Path:
    """A staging folder as a notebook leaves it: one JSON record per name (``size`` bytes of padding)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.json").write_text(json.dumps({"metric": name, "padding": "x" * size}))
    return folder


def _records_of(records_dir: Path, output: str) -> list[str]:
    return sorted(p.name for p in records_dir.glob(f"{output}--*.json"))


def _append_many(log_path: str, worker: int, count: int) -> None:
    for i in range(count):
        runner._append_log(Path(log_path), {"output": f"w{worker}-{i}.ipynb", "status": "ok"})


def _swap_many(records_dir: str, output: str, rounds: int, start) -> None:
    start.wait()
    for i in range(rounds):
        staging = _stage(Path(records_dir).parent / f"staging-{output}-{i}", "abcde", size=200_000)
        runner._replace_records(Path(records_dir), staging, output)


def _run_all(processes) -> None:
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=300)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]


def test_concurrent_log_appends_keep_every_entry(tmp_path):
    log = tmp_path / "run_log.json"
    workers, count = 8, 50
    _run_all([multiprocessing.Process(target=_append_many, args=(str(log), w, count)) for w in range(workers)])
    outputs = [e["output"] for e in json.loads(log.read_text())]
    assert len(outputs) == len(set(outputs)) == workers * count


def test_concurrent_swaps_of_different_outputs_keep_all_records(tmp_path):
    records = tmp_path / "records"
    start = multiprocessing.Barrier(2)
    _run_all([multiprocessing.Process(target=_swap_many, args=(str(records), output, 15, start))
              for output in ("page_a", "page_b")])
    for output in ("page_a", "page_b"):
        assert _records_of(records, output) == [f"{output}--{n}.json" for n in "abcde"]


def test_corrupt_unrelated_record_neither_deletes_nor_skips(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "other--x.json").write_text('{"output": "other", "val')  # truncated by a crash
    (records / "page--a.json").write_text('{"output": "page", "metric": "old a"}')
    (records / "page--b.json").write_text('{"output": "page", "metric": "old b"}')
    (records / "page-2--a.json").write_text('{"output": "page-2"}')  # a longer output sharing the prefix
    runner._replace_records(records, _stage(tmp_path / "staging", ["a", "c"]), "page")
    assert _records_of(records, "page") == ["page--a.json", "page--c.json"]  # b was not produced again
    assert json.loads((records / "page--a.json").read_text()) == {"metric": "a", "padding": "x", "output": "page"}
    assert (records / "other--x.json").read_text() == '{"output": "other", "val'
    assert (records / "page-2--a.json").is_file()


def test_records_carry_the_provenance_of_their_run(tmp_path):
    records = tmp_path / "records"
    source = runner.provenance("gce_cost")
    runner._replace_records(records, _stage(tmp_path / "staging", ["a"]), "page", source=source)
    assert json.loads((records / "page--a.json").read_text())["provenance"] == source
    expected = hashlib.sha256((runner.NOTEBOOKS / "gce_cost.py").read_bytes()).hexdigest()
    assert source["notebook_sha256"] == expected
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=runner.REPO, capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout: the commit, marked when the code has uncommitted changes
        assert source["commit"].removesuffix("-dirty") == head.stdout.strip()
    else:
        assert source["commit"] is None


def test_failed_swap_leaves_page_and_records_as_they_were(tmp_path):
    records, staging = tmp_path / "records", _stage(tmp_path / "staging", ["a"])
    (staging / "b.json").write_text("{not json")
    records.mkdir()
    (records / "page--a.json").write_text('{"output": "page", "metric": "old"}')
    page, partial = tmp_path / "page.ipynb", tmp_path / "page.partial.ipynb"
    page.write_text("old page")
    partial.write_text("new page")
    with pytest.raises(json.JSONDecodeError):
        runner._replace_records(records, staging, "page", page=(partial, page))
    assert page.read_text() == "old page"
    assert json.loads((records / "page--a.json").read_text())["metric"] == "old"


def test_failed_run_keeps_the_ok_log_entry(tmp_path):
    log = tmp_path / "run_log.json"
    runner._append_log(log, {"output": "p.ipynb", "status": "ok", "seconds": 1})
    runner._append_log(log, {"output": "p.ipynb", "status": "failed", "seconds": 2})
    runner._append_log(log, {"output": "p.ipynb", "status": "failed", "seconds": 3})
    assert [(e["status"], e["seconds"]) for e in json.loads(log.read_text())] == [("ok", 1), ("failed", 3)]
    runner._append_log(log, {"output": "p.ipynb", "status": "ok", "seconds": 4})
    assert [(e["status"], e["seconds"]) for e in json.loads(log.read_text())] == [("ok", 4)]


def _first_plain_code_cell(nb):
    return next(cell for cell in nb.cells if cell.cell_type == "code" and not cell.metadata.get("tags"))


def _executed_notebook(nb, parameters: dict, output_path: str):
    """What papermill would store: the injected cell, its metadata and outputs naming this machine's paths."""
    from papermill.execute import prepare_notebook_metadata
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    loaded = load_notebook_node(nb)
    nb = prepare_notebook_metadata(parameterize_notebook(loaded, parameters) if parameters else loaded, nb,
                                   output_path, False)
    code = _first_plain_code_cell(nb)
    venv = runner.REPO / ".venv" / "lib" / "python3.11" / "site-packages"
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=f"{venv}/tqdm/auto.py:21: TqdmWarning: no widgets\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": f"PosixPath('{runner.REPO}/data/x')",
                                                     "text/html": f"<td>{Path.home()}/.cache/models</td>",
                                                     "image/png": "iVBORw0KGgo="}),
        nbformat.v4.new_output("error", ename="DatasetError", evalue=f"missing {runner.REPO}/data/MNIST",
                               traceback=['File "/opt/torch/.venv/lib/python3.12/site-packages/torch/x.py"',
                                          f'File "/home/someone/{runner.REPO.name}/lib/data.py", line 3']),
    ]
    return nb


def _assert_portable(text: str) -> None:
    for marker in MACHINE_MARKERS:
        assert marker not in text, f"{marker!r} left in the notebook"


def test_sanitiser_removes_machine_paths_and_hides_the_injected_cell(tmp_path):
    import jupytext

    source = jupytext.read(runner.NOTEBOOKS / "gce_cost.py")
    _first_plain_code_cell(source).source += "\n# NBVAL_CHECK_OUTPUT"
    nb = _executed_notebook(source, {"profile": "smoke", "records_dir": str(tmp_path / ".records-x"),
                                     "timing_steps": 2}, str(runner.BOOK / "executed" / "p.partial.ipynb"))
    path = tmp_path / "p.ipynb"
    nbformat.write(runner.sanitise_notebook(nb, output_path=runner.BOOK / "executed" / "p.ipynb"), path)

    text = path.read_text()
    _assert_portable(text)
    assert ".records-x" not in text
    stored = nbformat.read(path, as_version=4)
    injected = next(c for c in stored.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in injected.metadata.tags and "timing_steps = 2" in injected.source
    assert "records_dir" not in injected.source and "records_dir" not in stored.metadata.papermill.parameters
    assert stored.metadata.papermill.output_path == "book/executed/p.ipynb"
    assert stored.metadata.papermill.input_path is None
    outputs = next(c for c in stored.cells if "NBVAL_CHECK_OUTPUT" in c.source).outputs
    assert outputs[0].text == "<site-packages>/tqdm/auto.py:21: TqdmWarning: no widgets\n"
    assert outputs[1].data == {"text/plain": "PosixPath('<repo>/data/x')", "text/html": "<td>~/.cache/models</td>",
                               "image/png": "iVBORw0KGgo="}
    assert outputs[2].traceback[1] == f'File "~/{runner.REPO.name}/lib/data.py", line 3'
    before = json.loads(path.read_text())
    runner.main(["--sanitise", str(path)])  # again, from the command line: nothing left to change
    before["metadata"]["papermill"]["output_path"] = None  # but a file outside the repository keeps no path
    assert json.loads(path.read_text()) == before


def test_stored_executed_notebooks_hold_no_machine_paths():
    stored = sorted((runner.BOOK / "executed").glob("*.ipynb")) + [runner.BOOK / "executed" / "run_log.json"]
    for path in stored:
        if path.is_file():
            _assert_portable(path.read_text())


@pytest.fixture
def fake_runs(monkeypatch):
    """Replace papermill by a fake; ``calls`` counts its runs, ``fail`` makes the next run raise."""
    state = {"calls": 0, "fail": None}

    def fake_execute(nb, output_path, parameters=None, **kwargs):
        state["calls"] += 1
        nbformat.write(_executed_notebook(nb, parameters, output_path), output_path)
        if state["fail"]:
            raise state["fail"]
        if parameters:  # a baseline run has none, and writes no records
            _stage(Path(parameters["records_dir"]), ["metric-one", "metric-two"])
        return nb

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setattr(runner, "device_description", lambda: "test device")
    return state


def test_execute_stores_a_sanitised_page_with_its_records(tmp_path, fake_runs):
    out, records = tmp_path / "out", tmp_path / "records"
    entry = runner.execute(runner.Job("gce_cost", "gce_cost", {"timing_steps": 3}), "smoke", out, records, False)
    assert entry["status"] == "ok" and fake_runs["calls"] == 1
    _assert_portable((out / "gce_cost.ipynb").read_text())
    assert str(tmp_path) not in (out / "gce_cost.ipynb").read_text() + json.dumps(entry)
    assert _records_of(records, "gce_cost") == ["gce_cost--metric-one.json", "gce_cost--metric-two.json"]
    assert sorted(p.name for p in out.iterdir()) == ["gce_cost.ipynb"]  # no staging or partial left
    (tmp_path / "plain").write_text("")
    assert (out / "gce_cost.ipynb").stat().st_mode == (tmp_path / "plain").stat().st_mode  # not 0600


def test_failed_run_reports_the_whole_exception_and_keeps_the_stored_page(tmp_path, fake_runs, capsys):
    out, records = tmp_path / "out", tmp_path / "records"
    job = runner.Job("gce_cost", "gce_cost", {})
    runner.execute(job, "smoke", out, records, False)
    good = (out / "gce_cost.ipynb").read_text()
    evalue = "expected " + ", ".join(f"<root>/MNIST/raw/file-{i}" for i in range(300)) + " (set REPRO_DATA)"
    frames = [f"frame {i}\n" + "y" * 100 for i in range(100)]
    fake_runs["fail"] = PapermillExecutionError(5, 3, "load()", "DatasetError", evalue, frames)
    entry = runner.execute(job, "smoke", out, records, False)
    assert entry["status"] == "failed"
    assert (out / "gce_cost.ipynb").read_text() == good and (out / "gce_cost.failed.ipynb").is_file()
    assert len(_records_of(records, "gce_cost")) == 2
    stderr = capsys.readouterr().err
    assert f"DatasetError: {evalue}" in stderr  # name and value in full
    assert "frame 99" in stderr and "frame 0\n" not in stderr  # the traceback's tail, not its head


def test_failure_text_of_an_ordinary_exception_keeps_its_end():
    try:
        raise RuntimeError("start " + "z" * 6000 + " the cause")
    except RuntimeError as err:
        text = runner._failure_text(err)
    assert text.endswith(" the cause") and text.splitlines()[-1].startswith("RuntimeError: start ")


@pytest.mark.parametrize("params", [{"nosuch": 1}, {"x=1;import os": 1}, {"timing_steps": -5},
                                    {"datasets": ["mnist_3_8", "nosuch"]}])
def test_execute_refuses_bad_parameters_before_papermill(tmp_path, fake_runs, params):
    with pytest.raises(ValueError, match="nothing was run"):
        runner.execute(runner.Job("gce_cost", "gce_cost", params), "smoke", tmp_path, tmp_path / "records", False)
    assert fake_runs["calls"] == 0
    assert not os.listdir(tmp_path)


def test_baseline_is_sanitised_and_keeps_checked_outputs(tmp_path, fake_runs, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    source = runner.NOTEBOOKS / "gce_cost.py"
    (tmp_path / "notebooks" / source.name).write_text(source.read_text())
    monkeypatch.setattr(runner, "REPO", tmp_path)
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "notebooks")
    assert runner.execute_baseline("gce_cost", progress=False)
    stored = nbformat.read(tmp_path / "notebooks" / "gce_cost.ipynb", as_version=4)
    assert str(tmp_path) not in json.dumps(stored)
    assert stored.metadata.papermill.input_path == "notebooks/gce_cost.py"
    assert stored.metadata.papermill.output_path == "notebooks/gce_cost.ipynb"
    checked = [c for c in stored.cells if "NBVAL_CHECK_OUTPUT" in c.source]
    assert checked and all(not c.outputs for c in checked)  # the fake gave them none; none were added
    assert _first_plain_code_cell(stored).outputs[0].text.startswith("<site-packages>/tqdm/auto.py:21:")


def test_failure_text_names_a_short_exception_once():
    err = PapermillExecutionError(1, 1, "x", "KeyError", "'a'", ["Traceback", "\x1b[0;31mKeyError\x1b[0m: 'a'"])
    assert runner._failure_text(err) == "Traceback\nKeyError: 'a'"
