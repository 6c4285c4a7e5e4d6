"""The notebook runner's command line: bad arguments fail early and clearly. No notebook is executed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lib.report.runner as runner


@pytest.fixture(autouse=True)
def never_execute(monkeypatch):
    """Every test here must stop before a notebook runs; fail loudly if one would."""
    import papermill

    def forbidden(*args, **kwargs):
        raise AssertionError("a notebook was about to be executed")
    monkeypatch.setattr(runner, "execute", forbidden)
    monkeypatch.setattr(papermill, "execute_notebook", forbidden)


def known_profiles() -> list[str]:
    return sorted(p.stem for p in runner.PROFILES.glob("*.yaml"))


def test_there_are_profiles_and_notebooks():
    assert "smoke" in known_profiles()
    assert runner.available_notebooks()  # otherwise the tests below prove little



def test_relative_roots_are_made_absolute_before_a_kernel_starts_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPRO_DATA", "data")
    monkeypatch.setenv("REPRO_CACHE", "work/cache")
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path.resolve() / "w"))
    runner.absolute_roots()
    assert [runner.os.environ[v] for v in ("REPRO_DATA", "REPRO_CACHE", "REPRO_WEIGHTS")] == [
        str(tmp_path.resolve() / "data"), str(tmp_path.resolve() / "work" / "cache"), str(tmp_path.resolve() / "w")]


def test_a_baseline_needs_no_profile(monkeypatch):
    """--baseline runs the notebook's own parameters (smoke): no --profile asked for."""
    ran = []
    monkeypatch.setattr(runner, "execute_baseline", lambda name, progress: ran.append(name) or True)
    assert runner.main(["labelfree_features", "--baseline"]) == 0 and ran == ["labelfree_features"]
    with pytest.raises(SystemExit):
        runner.main(["labelfree_features"])

def test_unknown_profile_names_the_profiles():
    with pytest.raises(SystemExit) as err:
        runner.main(["--profile", "nonexistent"])
    message = str(err.value.code)
    assert "nonexistent" in message
    for name in known_profiles():
        assert name in message


def test_unknown_profile_from_the_command_line():
    result = subprocess.run([sys.executable, "-m", "lib.report.runner", "--profile", "nonexistent"],
                            cwd=runner.REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unknown profile 'nonexistent'" in result.stderr
    assert all(name in result.stderr for name in known_profiles())


def test_unknown_notebook_names_the_notebooks(capsys):
    with pytest.raises(SystemExit) as err:
        runner.main(["--profile", "smoke", "no_such_notebook"])
    assert err.value.code == 2  # argparse's usage error
    stderr = capsys.readouterr().err
    assert "no_such_notebook" in stderr
    for name in runner.available_notebooks():
        assert name in stderr


def test_malformed_sweep_is_rejected(capsys):
    with pytest.raises(SystemExit) as err:
        runner.main(["--profile", "smoke", "--sweep", "seeds"])
    assert err.value.code == 2
    assert "--sweep needs NAME=V1,V2" in capsys.readouterr().err


def test_profile_is_required(capsys):
    with pytest.raises(SystemExit) as err:
        runner.main([])
    assert err.value.code == 2
    assert "--profile" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("3", 3), ("0.5", 0.5), ("[0, 1]", [0, 1]), ("abc", "abc"),
                                         ("true", True)])
def test_parameter_values_are_yaml(text, value):
    assert runner.parse_value(text) == value


def test_every_parameter_of_every_notebook_is_seen_by_papermill():
    """papermill silently ignores parameter lines it cannot parse (an '=' in a comment, say)."""
    import jupytext
    from papermill.translators import PythonTranslator

    for source in runner.NOTEBOOKS.glob("*.py"):
        cells = [c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1, f"{source.name}: expected one parameters cell"
        assigned = {line.split("=")[0].strip() for line in cells[0].source.splitlines()
                    if line and not line.startswith("#")}
        parsed = {p.name for p in PythonTranslator.inspect(cells[0])}
        assert parsed == assigned, f"{source.name}: papermill cannot parse {sorted(assigned - parsed)}"


def test_smoke_profile_matches_the_notebook_defaults():
    """nbval compares against notebooks/*.ipynb, executed with each notebook's own defaults; the smoke
    profile must describe that same run, or `make smoke` and CI would check different things."""
    import ast

    import jupytext

    profile = runner.load_profile("smoke")
    for name, entry in profile.items():
        cell = next(c for c in jupytext.read(runner.NOTEBOOKS / f"{name}.py").cells
                    if "parameters" in c.metadata.get("tags", []))
        defaults = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body
                    if isinstance(node, ast.Assign)}
        for variant in entry if isinstance(entry, list) else [entry]:
            for key, value in variant.items():
                if key != "output":
                    assert key in defaults, f"{name}: smoke sets {key}, which is not a parameter"
                    assert defaults[key] == value, f"{name}: smoke {key} = {value!r}, default {defaults[key]!r}"


def _usage_error(argv, capsys) -> str:
    """main(argv) must stop with argparse's usage error (exit 2) before any run; returns its message."""
    with pytest.raises(SystemExit) as err:
        runner.main(argv)
    assert err.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("name, expected", [("nosuch", "unknown parameter 'nosuch'"),
                                            ("x=1;import os", "'x=1;import os' is not a parameter name"),
                                            ("import", "'import' is not a parameter name")])
def test_bad_parameter_names_are_refused_before_any_run(name, expected, capsys):
    message = _usage_error(["--profile", "smoke", "gce_cost", "-p", name, "1"], capsys)
    assert "nothing was run" in message and f"gce_cost: {expected}" in message
    assert "valid: classifier_timing_steps, datasets, device, " in message and "timing_steps, warmup_steps" in message


def test_parameters_the_runner_sets_are_refused(capsys):
    message = _usage_error(["--profile", "smoke", "gce_cost", "-p", "records_dir", "/tmp/x"], capsys)
    assert "gce_cost: records_dir is set by the runner" in message


@pytest.mark.parametrize("notebook, name, value, expected", [
    ("gce_headline", "gce_steps", "-5", "gce_steps = -5; a count must be a positive whole number"),
    ("gce_headline", "n_alpha", "0", "n_alpha = 0; a count must be a positive whole number"),
    ("gce_headline", "gce_steps", "1.5", "gce_steps = 1.5; a count"),
    ("gce_headline", "gce_steps", "abc", "gce_steps = 'abc' is a string, the notebook expects a number"),
    ("gce_headline", "seeds", "zero", "seeds = 'zero' is a string, the notebook expects a list"),
    ("gce_headline", "dataset", "mnist_3_9", "dataset: unknown ['mnist_3_9']; known: mnist_3_8, mnist_1_4_9"),
    ("gce_cost", "datasets", "[mnist_3_8, nosuch]", "datasets: unknown ['nosuch']"),
    ("cgn_losses", "variant", "coloured", "variant: unknown ['coloured']; known: colored, double_colored, wildlife"),
    ("cgn_table3", "variants", "[wildlife, zoo]", "variants: unknown ['zoo']"),
])
def test_bad_parameter_values_are_refused_before_any_run(notebook, name, value, expected, capsys):
    assert expected in _usage_error(["--profile", "smoke", notebook, "-p", name, value], capsys)


@pytest.mark.parametrize("notebook, name, value", [
    ("gce_headline", "transition_offsets", 0),  # default 0 means "off": not a positive count
    ("gce_headline", "classifier_epochs", None),  # None: the paper's epochs
    ("gce_headline", "gce_steps", 300), ("gce_qmc", "mc_budget", [8, 4]), ("cgn_losses", "variant", "wildlife"),
])
def test_good_parameter_values_pass(notebook, name, value):
    assert runner.check_parameters(runner.Job(notebook, notebook, {name: value})) == []


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_profile_passes_the_parameter_checks(profile):
    assert runner.plan(runner.available_notebooks(), runner.load_profile(profile), {}, None)


def test_a_bad_profile_key_is_refused_for_every_job():
    profile = {"gce_headline": [{"output": "a"}, {"output": "b", "os.system('x')": 1}]}
    with pytest.raises(ValueError, match=r"gce_headline: \"os.system\('x'\)\" is not a parameter name"):
        runner.plan(["gce_headline"], profile, {}, None)


def test_profile_with_bad_yaml_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PROFILES", tmp_path)
    (tmp_path / "broken.yaml").write_text("gce_cost:\n  seeds: [0\n")
    with pytest.raises(SystemExit, match="broken.yaml: not valid YAML"):
        runner.load_profile("broken")


def test_profile_that_is_not_a_mapping_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PROFILES", tmp_path)
    (tmp_path / "listed.yaml").write_text("- gce_cost\n- gce_headline\n")
    with pytest.raises(SystemExit, match="listed.yaml: must map notebook names to parameters, but holds a list"):
        runner.load_profile("listed")


def test_profile_with_an_unknown_notebook_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PROFILES", tmp_path)
    (tmp_path / "typo.yaml").write_text("gce_headlines:\n  seeds: [0]\n")
    with pytest.raises(SystemExit, match=r"typo.yaml: unknown notebook\(s\) \['gce_headlines'\]"):
        runner.load_profile("typo")


@pytest.mark.parametrize("entry", [[{"output": "a"}, "gce_steps=3"], 5])
def test_variant_that_is_not_a_mapping_is_refused(entry):
    with pytest.raises(ValueError, match="profile entry gce_headline: each variant must be a mapping"):
        runner.plan(["gce_headline"], {"gce_headline": entry}, {}, None)


def test_sweep_values_may_be_lists():
    jobs = runner.plan(["gce_headline"], {}, {}, "seeds=[0,1],[2], [3, 4]")
    assert [job.params["seeds"] for job in jobs] == [[0, 1], [2], [3, 4]]
    assert [job.output for job in jobs] == ["gce_headline-seeds=[0,1]", "gce_headline-seeds=[2]",
                                            "gce_headline-seeds=[3, 4]"]


@pytest.mark.parametrize("text, values", [("a,'b,c',\"d,e\"", ["a", "'b,c'", '"d,e"']),
                                          ("{x: 1, y: 2},[1]", ["{x: 1, y: 2}", "[1]"]), ("7", ["7"])])
def test_sweep_values_split_at_top_level_commas(text, values):
    assert runner.split_values(text) == values


@pytest.mark.parametrize("sweep, expected", [("seeds=[0,1],[2", "'[0,1],[2': unbalanced"),
                                             ("seeds=[0],,[1]", "an empty value"),
                                             ("seeds=[0],'a'b", "value \"'a'b\" is not valid YAML")])
def test_bad_sweep_values_are_named(sweep, expected, capsys):
    assert expected in _usage_error(["--profile", "smoke", "gce_headline", "--sweep", sweep], capsys)


def test_bad_yaml_in_a_parameter_value_is_named(capsys):
    assert "-p seeds: value '[0' is not valid YAML" in _usage_error(
        ["--profile", "smoke", "gce_headline", "-p", "seeds", "[0"], capsys)


@pytest.mark.parametrize("cwd, out", [("", "book/executed"), ("book", "executed"), ("book", "../book/executed/")])
def test_relative_out_to_the_book_folder_is_the_book(cwd, out, monkeypatch):
    monkeypatch.chdir(runner.REPO / cwd)
    assert runner.output_folders(Path(out), None, "smoke") == (runner.BOOK / "executed", runner.BOOK / "records")


def test_other_out_folders_keep_their_records(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.output_folders(Path("elsewhere"), "seeds=[0]", "cpu") == (tmp_path / "elsewhere",
                                                                            tmp_path / "elsewhere" / "records")
    assert runner.output_folders(None, "seeds=[0]", "cpu")[0] == runner.REPO / "runs" / "cpu-seeds"
    assert runner.output_folders(None, None, "cpu") == (runner.BOOK / "executed", runner.BOOK / "records")
