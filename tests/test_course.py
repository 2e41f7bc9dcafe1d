"""`voclab course`: the learner's own copy of the notebooks, never overwritten by an update."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voclab import cli, course
from voclab.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


def _notebook(text: str) -> bytes:
    cell = {"cell_type": "markdown", "id": "c0", "metadata": {}, "source": [text]}
    return (json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}) + "\n").encode()


@pytest.fixture
def shipped(tmp_path):
    """A stand-in for the shipped notebooks: two small notebooks the test can 'update'."""
    source = tmp_path / "shipped"
    source.mkdir()
    for name in ("01_one.ipynb", "02_two.ipynb"):
        (source / name).write_bytes(_notebook(f"{name} version 1"))
    return source


def test_the_cli_copies_all_eight_learner_notebooks_and_does_not_launch(tmp_path, monkeypatch, capsys):
    launched = []
    monkeypatch.setattr(course.subprocess, "call", lambda *a, **k: launched.append((a, k)) or 0)
    folder = tmp_path / "my course"
    assert cli.main(["course", str(folder), "--no-launch"]) == 0
    assert len(SHIPPED) == 8
    assert sorted(p.name for p in folder.glob("*.ipynb")) == SHIPPED
    for name in SHIPPED:
        assert (folder / name).read_bytes() == (REPO / "notebooks" / name).read_bytes()
    assert "8 notebook(s) copied, 0 up to date" in capsys.readouterr().out
    assert not launched
    assert cli.main(["course", str(folder), "--no-launch"]) == 0
    assert "0 notebook(s) copied, 8 up to date, 0 new version(s)" in capsys.readouterr().out


def test_the_default_folder_and_jupyterlab_started_there(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(course.subprocess, "call", lambda command, cwd: calls.append((command, cwd)) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["course", "--allow-root"]) == 0
    assert sorted(p.name for p in (tmp_path / "voclab-course").glob("*.ipynb")) == SHIPPED
    ((command, cwd),) = calls
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={(tmp_path / 'voclab-course').resolve()}" in command
    assert command[-1] == "--allow-root"
    assert Path(cwd) == Path("voclab-course")
    assert "starting JupyterLab in voclab-course" in capsys.readouterr().out


def test_an_update_never_overwrites_the_learners_work(tmp_path, shipped):
    folder = tmp_path / "course"
    assert course.copy_course(folder, shipped).copied == ["01_one.ipynb", "02_two.ipynb"]
    worked = _notebook("my answers")
    (folder / "01_one.ipynb").write_bytes(worked)

    # nothing shipped changed: the learner's edits stay, and no .new file appears
    result = course.copy_course(folder, shipped)
    assert result.unchanged == ["01_one.ipynb", "02_two.ipynb"] and not result.beside
    assert not list(folder.glob("*.new.ipynb"))

    # an update changes notebook 01 and adds notebook 03
    (shipped / "01_one.ipynb").write_bytes(_notebook("01 version 2"))
    (shipped / "03_three.ipynb").write_bytes(_notebook("03 version 1"))
    result = course.copy_course(folder, shipped)
    assert (result.copied, result.beside, result.unchanged) == (["03_three.ipynb"], ["01_one.ipynb"], ["02_two.ipynb"])
    assert (folder / "01_one.ipynb").read_bytes() == worked
    assert (folder / "01_one.new.ipynb").read_bytes() == _notebook("01 version 2")
    assert any(line.startswith("new version of 01_one.ipynb beside yours: 01_one.new.ipynb") for line in result.lines())

    # a second update replaces voclab's own untouched .new file ...
    (shipped / "01_one.ipynb").write_bytes(_notebook("01 version 3"))
    assert course.copy_course(folder, shipped).beside == ["01_one.ipynb"]
    assert (folder / "01_one.new.ipynb").read_bytes() == _notebook("01 version 3")
    # ... but not one the learner has edited: it is kept and reported
    (folder / "01_one.new.ipynb").write_bytes(_notebook("answers moved into the new version"))
    (shipped / "01_one.ipynb").write_bytes(_notebook("01 version 4"))
    result = course.copy_course(folder, shipped)
    assert result.kept == ["01_one.ipynb"] and not result.beside
    assert (folder / "01_one.new.ipynb").read_bytes() == _notebook("answers moved into the new version")
    assert (folder / "01_one.ipynb").read_bytes() == worked
    assert "01_one.new.ipynb has your edits" in "\n".join(result.lines())


def test_a_learner_who_adopts_the_new_version_is_up_to_date(tmp_path, shipped):
    folder = tmp_path / "course"
    course.copy_course(folder, shipped)
    (shipped / "02_two.ipynb").write_bytes(_notebook("02 version 2"))
    course.copy_course(folder, shipped)
    os.replace(folder / "02_two.new.ipynb", folder / "02_two.ipynb")
    result = course.copy_course(folder, shipped)
    assert result.unchanged == ["01_one.ipynb", "02_two.ipynb"] and not result.beside
    assert not (folder / "02_two.new.ipynb").exists()


def test_without_a_record_a_differing_file_is_kept_and_the_shipped_one_goes_beside(tmp_path, shipped):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "01_one.ipynb").write_bytes(_notebook("copied by hand, then worked on"))
    (folder / "02_two.ipynb").write_bytes((shipped / "02_two.ipynb").read_bytes())
    result = course.copy_course(folder, shipped)
    assert (result.beside, result.unchanged) == (["01_one.ipynb"], ["02_two.ipynb"])
    assert (folder / "01_one.ipynb").read_bytes() == _notebook("copied by hand, then worked on")


def test_bad_folders_and_sources_are_voclab_errors(tmp_path, shipped, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(ConfigError, match="is a file"):
        course.copy_course(a_file, shipped)
    with pytest.raises(ConfigError, match="where the shipped notebooks live"):
        course.copy_course(shipped, shipped)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="No learner notebooks"):
        course.copy_course(tmp_path / "course", empty)
    folder = tmp_path / "course"
    course.copy_course(folder, shipped)
    (folder / course.RECORD).write_text("{not json")
    with pytest.raises(DataError, match="delete it and run voclab course again"):
        course.copy_course(folder, shipped)
    assert cli.main(["course", str(a_file), "--no-launch"]) == 2
    assert capsys.readouterr().err.startswith("voclab: ")


def test_a_wheel_install_carries_the_learner_notebooks(tmp_path):
    """``pip install .`` (not ``-e``): ``voclab course`` copies the notebooks the wheel carries."""
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run([*pip, "wheel", str(REPO), "--no-deps", *isolation, "-w", str(tmp_path / "wheel")],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("voclab-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr[-2000:]
    code = ("import voclab.course as c, voclab.cli as cli; print(c.learner_notebooks_dir()); "
            "raise SystemExit(cli.main(['course', 'mine', '--no-launch']))")
    env = dict(os.environ, PYTHONPATH=str(target))  # ahead of the editable install of this checkout
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert Path(run.stdout.splitlines()[0]) == target / "voclab" / "_notebooks"
    assert sorted(p.name for p in (tmp_path / "mine").glob("*.ipynb")) == SHIPPED
    for name in SHIPPED:
        assert (tmp_path / "mine" / name).read_bytes() == (REPO / "notebooks" / name).read_bytes()
