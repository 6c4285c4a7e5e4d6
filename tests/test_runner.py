"""The notebook runner's command line: bad arguments fail early and clearly. No notebook is executed."""
from __future__ import annotations

import subprocess
import sys

import pytest

import lib.runner as runner


@pytest.fixture(autouse=True)
def never_execute(monkeypatch):
    """Every test here must stop before a notebook runs; fail loudly if one would."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a notebook was about to be executed")
    monkeypatch.setattr(runner, "execute", forbidden)


def known_profiles() -> list[str]:
    return sorted(p.stem for p in runner.PROFILES.glob("*.yaml"))


def test_there_are_profiles_and_notebooks():
    assert "smoke" in known_profiles()
    assert runner.available_notebooks()  # otherwise the tests below prove little


def test_unknown_profile_names_the_profiles():
    with pytest.raises(SystemExit) as err:
        runner.main(["--profile", "nonexistent"])
    message = str(err.value.code)
    assert "nonexistent" in message
    for name in known_profiles():
        assert name in message


def test_unknown_profile_from_the_command_line():
    result = subprocess.run([sys.executable, "-m", "lib.runner", "--profile", "nonexistent"],
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
