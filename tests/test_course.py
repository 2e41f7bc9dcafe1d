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
    monkeypatch.setattr(course.subprocess, "Popen", lambda *a, **k: launched.append((a, k)))
    folder = tmp_path / "my course"
    assert cli.main(["course", str(folder), "--no-launch"]) == 0
    assert len(SHIPPED) == 8
    assert sorted(p.name for p in folder.glob("*.ipynb")) == SHIPPED
    for name in SHIPPED:
        assert (folder / name).read_bytes() == (REPO / "notebooks" / name).read_bytes()
    assert "8 notebook(s) copied, 0 updated, 0 up to date" in capsys.readouterr().out
    assert not launched
    assert cli.main(["course", str(folder), "--no-launch"]) == 0
    assert "0 notebook(s) copied, 0 updated, 8 up to date, 0 new version(s)" in capsys.readouterr().out


def test_the_default_folder_and_jupyterlab_started_there(tmp_path, monkeypatch, capsys):
    calls = []

    class FakeJupyterLab:
        def __init__(self, command, cwd):
            calls.append((command, cwd))

        def wait(self):
            return 0

    monkeypatch.setattr(course.subprocess, "Popen", FakeJupyterLab)
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
    (folder / "02_two.ipynb").write_bytes(_notebook("my answers"))
    (shipped / "02_two.ipynb").write_bytes(_notebook("02 version 2"))
    assert course.copy_course(folder, shipped).beside == ["02_two.ipynb"]
    os.replace(folder / "02_two.new.ipynb", folder / "02_two.ipynb")
    result = course.copy_course(folder, shipped)
    assert result.unchanged == ["01_one.ipynb", "02_two.ipynb"] and not result.beside
    assert not (folder / "02_two.new.ipynb").exists()


def _update_a_worked_notebook(tmp_path, shipped) -> Path:
    """Copy the course, put the learner's answers into 01, ship a version 2 of 01: its .new appears."""
    folder = tmp_path / "course"
    course.copy_course(folder, shipped)
    (folder / "01_one.ipynb").write_bytes(_notebook("my answers"))
    (shipped / "01_one.ipynb").write_bytes(_notebook("01 version 2"))
    assert course.copy_course(folder, shipped).beside == ["01_one.ipynb"]
    assert (folder / "01_one.new.ipynb").read_bytes() == _notebook("01 version 2")
    return folder


def test_a_new_version_the_learner_deleted_is_not_written_again(tmp_path, shipped):
    folder = _update_a_worked_notebook(tmp_path, shipped)
    (folder / "01_one.new.ipynb").unlink()
    for _ in range(2):
        result = course.copy_course(folder, shipped)
        assert result.unchanged == ["01_one.ipynb", "02_two.ipynb"] and not result.beside
        assert not (folder / "01_one.new.ipynb").exists()
    assert (folder / "01_one.ipynb").read_bytes() == _notebook("my answers")
    # the course changes again: the new version is offered again, once
    (shipped / "01_one.ipynb").write_bytes(_notebook("01 version 3"))
    assert course.copy_course(folder, shipped).beside == ["01_one.ipynb"]
    assert (folder / "01_one.new.ipynb").read_bytes() == _notebook("01 version 3")
    assert (folder / "01_one.ipynb").read_bytes() == _notebook("my answers")


def test_a_new_version_adopted_with_the_learners_answers_is_not_offered_again(tmp_path, shipped):
    folder = _update_a_worked_notebook(tmp_path, shipped)
    (folder / "01_one.new.ipynb").write_bytes(_notebook("01 version 2 with my answers moved in"))
    os.replace(folder / "01_one.new.ipynb", folder / "01_one.ipynb")
    for _ in range(2):
        result = course.copy_course(folder, shipped)
        assert result.unchanged == ["01_one.ipynb", "02_two.ipynb"] and not (result.beside or result.updated)
        assert not (folder / "01_one.new.ipynb").exists()
    assert (folder / "01_one.ipynb").read_bytes() == _notebook("01 version 2 with my answers moved in")


def test_a_notebook_the_learner_never_changed_is_updated_in_place(tmp_path, shipped):
    folder = tmp_path / "course"
    course.copy_course(folder, shipped)
    (folder / "01_one.ipynb").write_bytes(_notebook("my answers"))
    for name in ("01_one.ipynb", "02_two.ipynb"):
        (shipped / name).write_bytes(_notebook(f"{name} version 2"))
    result = course.copy_course(folder, shipped)
    assert (result.updated, result.beside, result.unchanged) == (["02_two.ipynb"], ["01_one.ipynb"], [])
    assert (folder / "02_two.ipynb").read_bytes() == _notebook("02_two.ipynb version 2")
    assert not (folder / "02_two.new.ipynb").exists()
    assert (folder / "01_one.ipynb").read_bytes() == _notebook("my answers")
    assert "updated 02_two.ipynb to its new version (you had not changed it)" in result.lines()
    assert "1 updated" in result.lines()[-1]
    # the update is recorded: the next run is quiet, and version 3 replaces it in place again
    assert course.copy_course(folder, shipped).unchanged == ["01_one.ipynb", "02_two.ipynb"]
    (shipped / "02_two.ipynb").write_bytes(_notebook("02 version 3"))
    assert course.copy_course(folder, shipped).updated == ["02_two.ipynb"]
    assert (folder / "02_two.ipynb").read_bytes() == _notebook("02 version 3")
    assert sorted(p.name for p in folder.iterdir()) == [course.RECORD, "01_one.ipynb", "01_one.new.ipynb",
                                                        "02_two.ipynb"]


def test_only_the_numbered_notebooks_of_the_source_are_copied(tmp_path, shipped):
    (shipped / "Untitled.ipynb").write_bytes(_notebook("a scratch notebook"))
    (shipped / "01_one.new.ipynb").write_bytes(_notebook("a stray .new file"))
    folder = tmp_path / "course"
    assert course.copy_course(folder, shipped).copied == ["01_one.ipynb", "02_two.ipynb"]
    assert sorted(p.name for p in folder.glob("*.ipynb")) == ["01_one.ipynb", "02_two.ipynb"]


@pytest.mark.parametrize("damaged", ["{not json", '{"copied": "x"}', "[1, 2]", '{"copied": {"01_one.ipynb": 3}}',
                                     '{"copied": null}'])
def test_a_damaged_record_is_a_one_line_config_error(tmp_path, shipped, capsys, damaged):
    folder = tmp_path / "course"
    course.copy_course(folder, shipped)
    (folder / course.RECORD).write_text(damaged)
    with pytest.raises(ConfigError, match=r"delete .*\.voclab-course\.json and run voclab course again"):
        course.copy_course(folder, shipped)
    assert cli.main(["course", str(folder), "--no-launch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voclab: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "getppid") or sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_while_jupyterlab_runs_is_left_to_it_and_the_handler_comes_back(tmp_path):
    """The child stands in for JupyterLab: it sends Ctrl-C's SIGINT to voclab course's process, then exits."""
    import signal

    received = []

    def handler(signum, frame):
        received.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        child = [sys.executable, "-c", "import os, signal; os.kill(os.getppid(), signal.SIGINT); raise SystemExit(3)"]
        assert course._wait_ignoring_ctrl_c(child, cwd=tmp_path) == 3
        assert received == []
        assert signal.getsignal(signal.SIGINT) is handler
        # a child started by it does not inherit the ignored signal (JupyterLab's kernels rely on SIGINT)
        probe = "import signal; raise SystemExit(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
        assert course._wait_ignoring_ctrl_c([sys.executable, "-c", probe], cwd=tmp_path) == 0
    finally:
        signal.signal(signal.SIGINT, previous)


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


# --------------------------------------------------------------------------------------
# the "Run on Colab" cell of the learner notebooks, with Colab simulated (never the network)
# --------------------------------------------------------------------------------------


def _tool():
    spec = importlib.util.spec_from_file_location("make_learner_notebooks_for_course",
                                                  REPO / "tools" / "make_learner_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def _colab_cell(name: str) -> tuple[int, str, list[dict]]:
    cells = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
    (index,) = [i for i, cell in enumerate(cells) if cell["id"] == TOOL.COLAB_CELL_ID]
    return index, "".join(cells[index]["source"]), cells


@pytest.fixture
def pip_calls(monkeypatch):
    """subprocess.run replaced by a recorder: the cell's pip call is seen, never run."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append((command, kwargs)))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    for name in [n for n in os.environ if n.startswith("COLAB_")]:
        monkeypatch.delenv(name)
    return calls


@pytest.mark.parametrize("name", SHIPPED)
def test_every_learner_notebook_starts_with_the_colab_cell_before_voclab_is_imported(name):
    index, _source, cells = _colab_cell(name)
    code = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"]
    assert code[0] == index, "the Colab cell is the first code cell"
    assert "import voclab" in "".join(cells[code[1]]["source"])
    assert all(cell["cell_type"] == "markdown" for cell in cells[:index])
    solution = json.loads((REPO / "solutions" / name).read_text(encoding="utf-8"))
    assert TOOL.COLAB_CELL_ID not in {cell.get("id") for cell in solution["cells"]}, "solutions stay clean"
    assert TOOL.COLAB_INSTALL_URL not in json.dumps(solution)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_colab_cell_does_nothing_on_a_local_install(name, pip_calls):
    exec(compile(_colab_cell(name)[1], name, "exec"), {})  # noqa: S102 - the notebook's own cell
    assert pip_calls == []


@pytest.mark.parametrize("detected_by", ["google.colab module", "COLAB_RELEASE_TAG"])
def test_on_colab_the_cell_pip_installs_voclab_from_its_url_and_keeps_colabs_torch(detected_by, pip_calls,
                                                                                  monkeypatch):
    if detected_by == "COLAB_RELEASE_TAG":
        monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-simulated")
    else:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    for name in SHIPPED:
        exec(compile(_colab_cell(name)[1], name, "exec"), {})  # noqa: S102 - the notebook's own cell
    assert len(pip_calls) == len(SHIPPED)
    for command, kwargs in pip_calls:
        assert command == [sys.executable, "-m", "pip", "install", "-q",
                           f"voclab[pretrained] @ {TOOL.COLAB_INSTALL_URL}"]
        assert kwargs == {"check": True}
    assert TOOL.COLAB_INSTALL_URL.startswith("git+https://github.com/") and TOOL.COLAB_INSTALL_URL.count("/") == 4
    flat = " ".join(pip_calls[0][0])
    assert "torch" not in flat and "--upgrade" not in flat and "-U" not in pip_calls[0][0]


def test_the_tools_check_catches_a_missing_colab_cell_and_one_in_a_solution(tmp_path):
    import shutil

    root = tmp_path / "repo"
    for folder in ("solutions", "notebooks"):
        (root / folder).mkdir(parents=True)
        shutil.copy(REPO / folder / SHIPPED[0], root / folder / SHIPPED[0])
    assert TOOL.check(root) == []
    learner = root / "notebooks" / SHIPPED[0]
    nb = json.loads(learner.read_text(encoding="utf-8"))
    nb["cells"] = [cell for cell in nb["cells"] if cell["id"] != TOOL.COLAB_CELL_ID]
    learner.write_text(json.dumps(nb), encoding="utf-8")
    assert any("cells committed" in problem for problem in TOOL.check(root))
    solution = root / "solutions" / SHIPPED[0]
    nb = json.loads(solution.read_text(encoding="utf-8"))
    nb["cells"].insert(1, TOOL.colab_cell())
    solution.write_text(json.dumps(nb), encoding="utf-8")
    assert any("carries the Colab install cell" in problem for problem in TOOL.check(root))


# --------------------------------------------------------------------------------------
# answer keys: in the solutions only
# --------------------------------------------------------------------------------------

ANSWERS_HEADING = "### Answers (solutions only)"


def _cells(folder: str, name: str) -> list[dict]:
    return json.loads((REPO / folder / name).read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_solution_answers_its_questions_in_cells_the_learner_never_gets(name):
    cells = _cells("solutions", name)
    text = ["".join(cell["source"]) for cell in cells]
    (questions,) = [i for i, source in enumerate(text) if "## Questions" in source]
    keys = [i for i, source in enumerate(text) if ANSWERS_HEADING in source]
    for i in keys:
        assert cells[i]["cell_type"] == "markdown" and i > questions
        assert "solution-only" in cells[i]["metadata"].get("tags", []), f"{name}, cell {i}: tag it solution-only"
    inline = "<!-- BEGIN SOLUTION -->" in text[questions]  # 04 and 05 answer inside the Questions cell
    assert keys or inline, f"{name}: no answers to its Questions"
    learner = "".join("".join(cell["source"]) for cell in _cells("notebooks", name))
    assert ANSWERS_HEADING not in learner
    for i in keys:  # not one line of the key reaches the learner notebook
        leaked = [line for line in text[i].splitlines()[1:] if len(line.strip()) >= 20 and line.strip() in learner]
        assert not leaked, f"{name}: answer lines in the learner notebook: {leaked[:3]}"


def test_the_tool_drops_an_answer_cell(tmp_path):
    key = {"cell_type": "markdown", "id": "key", "metadata": {"tags": ["solution-only"]},
           "source": ANSWERS_HEADING + "\n\n1. Because the frames overlap."}
    questions = {"cell_type": "markdown", "id": "q", "metadata": {}, "source": "## Questions\n1. Why?"}
    solution = {"cells": [questions, key], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    learner = TOOL.make_learner(solution, "01_demo")
    assert [cell["id"] for cell in learner["cells"]] == ["q"]
