"""voclab export nbgrader|otter (issue 14 §2): the format of all eight notebooks, the real tools on notebook 01.

The format tests check every exported notebook against what the tools document: nbgrader's
cell metadata (schema 3, validated by nbgrader's own reader when it is installed) and
otter-assign's raw-cell blocks. The real-tool tests take one cheap notebook (01, quick tier)
through ``nbgrader generate_assignment`` + ``autograde`` and ``otter assign`` + ``otter run``
(otter's grading without Docker) with two submissions: all exercises solved (full marks) and
only the first one solved (its point, zero for the rest); tests/test_export_course.py runs the tools on
all eight. The ``test`` extra installs the tools, so CI runs them; they skip without them
(``pip install -e '.[instructor]'``).
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from voclab import export
from voclab.checks import EXERCISES, SPEC_MODULES, get_exercise
from voclab.cli import main
from voclab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STEMS = sorted(p.stem for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
#: the notebook the real tools run, the quickest in the quick tier (README: 10 s)
CHEAP = "01_phase_and_griffin_lim"
#: the exercise the partly done submission solves (its notebook's first)
FIRST = "split_stft"
BIN = Path(sys.executable).parent


def registered(stem: str) -> set[str]:
    """The exercises voclab's checks register for a notebook."""
    for module in SPEC_MODULES:
        importlib.import_module(module)
    return {e.name for e in EXERCISES.values() if e.notebook == stem}


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_eight_notebooks_are_exported():
    assert len(STEMS) == 8


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    out = tmp_path_factory.mktemp("nbgrader")
    assert main(["export", "nbgrader", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def otter_course(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter")
    assert main(["export", "otter", "-o", str(out)]) == 0
    return out


# --------------------------------------------------------------------------------------
# nbgrader's format, all eight
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_nbgrader_format(nbgrader_course, stem):
    path = nbgrader_course / "source" / stem / f"{stem}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    meta = [c["metadata"].get("nbgrader") for c in cells]
    ids = [m["grade_id"] for m in meta if m]
    assert len(ids) == len(set(ids)), "grade ids must be unique in a notebook"
    tested = []
    for i, (cell, m) in enumerate(zip(cells, meta)):
        if not m:
            continue
        assert m["schema_version"] == 3 and re.fullmatch(r"[\w-]+", m["grade_id"])
        if m["solution"]:
            # a solution cell: editable, not graded itself, its solution block and its check line
            assert m["grade"] is False and m["locked"] is False and cell["cell_type"] == "code"
            text = source(cell)
            assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text
            names = [n for n, _ in export.exercise_cells({"cells": [cell]})[0].exercises]
            assert m["grade_id"] == "solution-" + "-".join(names)
            following = [cells[i + 1 + k]["metadata"]["nbgrader"] for k in range(len(names))]
            assert [f["grade_id"] for f in following] == [f"test-{n}" for n in names]
        else:
            # an autograder test: graded, locked, points, calls voclab's check of its exercise
            assert m["grade"] is True and m["locked"] is True and m["points"] == 1 and m["task"] is False
            name = m["grade_id"].removeprefix("test-")
            text = source(cell)
            assert f"voclab.export.assert_passed({name!r}, {name})\n### BEGIN HIDDEN TESTS\n" in text
            # the hidden inputs only inside nbgrader's hidden-test block, which the release leaves out
            hidden_call = f"voclab.export.assert_passed({name!r}, {name}, hidden=True)"
            assert text.count(hidden_call) == 1
            assert text.index("### BEGIN HIDDEN TESTS") < text.index(hidden_call) < text.index("### END HIDDEN TESTS")
            tested.append(name)
    assert sorted(tested) == sorted(registered(stem))
    # what the learner notebook leaves out stays out: no solution-only cell, no answer key
    everything = json.dumps(nb)
    assert "solution-only" not in everything and "<!-- BEGIN SOLUTION" not in everything
    assert len([c for c in cells if c["cell_type"] == "markdown"]) == len(
        [c for c in json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
         if c["cell_type"] == "markdown"])


def test_nbgrader_metadata_validates_with_nbgrader(nbgrader_course):
    nbgraderformat = pytest.importorskip("nbgrader.nbgraderformat")
    for stem in STEMS:
        text = (nbgrader_course / "source" / stem / f"{stem}.ipynb").read_text(encoding="utf-8")
        nbgraderformat.reads(text, as_version=4)  # raises ValidationError on a bad cell


def test_nbgrader_config_sets_voclabs_stub(nbgrader_course):
    from traitlets.config.loader import PyFileConfigLoader

    from voclab.checks import is_stub

    config = PyFileConfigLoader("nbgrader_config.py", path=str(nbgrader_course)).load_config()
    stub = config.ClearSolutions.code_stub["python"]
    (statement,) = ast.parse(stub).body  # one line: raise NotImplementedError("...")
    assert isinstance(statement, ast.Raise) and statement.exc.func.id == "NotImplementedError"
    message = statement.exc.args[0].value
    assert is_stub(NotImplementedError(message)), "voclab.check must read nbgrader's stub as 'not done yet'"
    assert config.CourseDirectory.course_id == "voclab" and config.ExecutePreprocessor.timeout == 600


# --------------------------------------------------------------------------------------
# otter-assign's format, all eight
# --------------------------------------------------------------------------------------


def otter_blocks(cells: list[dict]) -> list[dict]:
    """Parse the question blocks as otter assign does: raw boundary cells, YAML configs."""
    questions, current, inside = [], None, None
    for cell in cells:
        text = source(cell)
        first = text.splitlines()[0] if text else ""
        boundary = re.fullmatch(r"#\s+(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS)\s*", first, flags=re.IGNORECASE)
        if cell["cell_type"] == "raw" and boundary:
            kind, block = boundary.group(1).upper(), boundary.group(2).upper()
            if kind == "BEGIN" and block == "QUESTION":
                assert current is None, "questions cannot nest"
                current = {"config": yaml.safe_load("\n".join(text.splitlines()[1:])), "cells": {}}
            elif kind == "BEGIN":
                assert current is not None and inside is None
                inside = block
                current["cells"][block] = []
            elif block == "QUESTION":
                assert inside is None
                questions.append(current)
                current = None
            else:
                assert inside == block
                inside = None
        elif inside:
            current["cells"][inside].append(cell)
        elif current is not None:
            current.setdefault("prompt", []).append(cell)
    assert current is None and inside is None, "every block must be closed"
    return questions


@pytest.mark.parametrize("stem", STEMS)
def test_otter_format(otter_course, stem):
    nb = json.loads((otter_course / stem / f"{stem}.ipynb").read_text(encoding="utf-8"))
    first = nb["cells"][0]
    assert first["cell_type"] == "raw" and source(first).startswith("# ASSIGNMENT CONFIG\n")
    config = yaml.safe_load(source(first))
    assert config["name"] == stem and config["run_tests"] is False
    questions = otter_blocks(nb["cells"][1:])
    names = [q["config"]["name"] for q in questions]
    assert sorted(names) == sorted(registered(stem)) and len(set(names)) == len(names)
    for question in questions:
        name = question["config"]["name"]
        assert question["config"]["points"] == 1
        assert [c["cell_type"] for c in question["prompt"]] == ["markdown"]
        tests = question["cells"]["TESTS"]
        assert [c["cell_type"] for c in tests] == ["code", "code"]
        public, hidden = source(tests[0]), source(tests[1])
        assert f"voclab.export.assert_passed({name!r}, {name})" in public and "hidden=True" not in public
        assert "hidden" not in public.splitlines()[0].lower(), "otter would hide the public test"
        # otter hides a test whose first line is a comment holding the word "hidden"
        assert hidden.splitlines()[0] == "# HIDDEN"
        assert f"voclab.export.assert_passed({name!r}, {name}, hidden=True)" in hidden
        for cell in question["cells"].get("SOLUTION", []):
            text = source(cell)
            assert "### BEGIN SOLUTION" not in text
            assert Counter(line.strip() for line in text.splitlines())["# BEGIN SOLUTION NO PROMPT"] >= 1
            prompts = re.findall(r'""" # BEGIN PROMPT\n\s*(.*)\n\s*""" # END PROMPT', text)
            assert prompts and all(re.fullmatch(r'raise NotImplementedError\("Exercise \S+: your code here"\)', p)
                                   for p in prompts)
    solved = [q for q in questions if "SOLUTION" in q["cells"]]
    # every exercise cell is one solution block; a cell with two exercises gives one of them
    cells = export.exercise_cells(json.loads((SOLUTIONS / f"{stem}.ipynb").read_text()))
    assert len(solved) == len(cells)
    assert "<!-- BEGIN SOLUTION" not in json.dumps(nb) and "solution-only" not in json.dumps(nb)


def test_otter_gives_learners_the_learner_notebooks_cells(otter_course):
    solutions = pytest.importorskip("otter.assign.solutions")
    for stem in STEMS:
        nb = json.loads((otter_course / stem / f"{stem}.ipynb").read_text(encoding="utf-8"))
        learner = {source(c).strip() for c in json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
                   if c["cell_type"] == "code"}
        answers = [q["cells"]["SOLUTION"][0] for q in otter_blocks(nb["cells"][1:]) if "SOLUTION" in q["cells"]]
        assert answers
        for cell in answers:
            # what otter assign writes into the student notebook: its own solution removal
            student = "\n".join(solutions.replace_solutions(source(cell).split("\n"), "python"))
            assert student.strip() in learner, f"{stem}: otter's student cell differs from notebooks/:\n{student}"


# --------------------------------------------------------------------------------------
# the test every exported exercise runs, and bad input
# --------------------------------------------------------------------------------------


def test_assert_passed_refuses_the_reference_and_wrong_answers():
    reference = get_exercise("receptive_field").reference
    with pytest.raises(AssertionError, match="receptive_field: not passed -- the notebook holds voclab's reference"):
        export.assert_passed("receptive_field", reference)

    def own(kernel_size, dilations):
        kernels = [kernel_size] * len(dilations) if isinstance(kernel_size, int) else list(kernel_size)
        return 1 + sum((k - 1) * d for k, d in zip(kernels, dilations))

    assert export.assert_passed("receptive_field", own) is None  # otter's doctest expects no output

    def off_by_one(kernel_size, dilations):
        return own(kernel_size, dilations) - 1

    with pytest.raises(AssertionError, match="receptive_field: failed"):
        export.assert_passed("receptive_field", off_by_one)
    with pytest.raises(ConfigError):
        export.assert_passed("receptive_feild", own)


def test_bad_input_is_one_voclab_line(tmp_path, capsys):
    assert main(["export", "otter", "-o", str(tmp_path / "o"), "--solutions", str(tmp_path)]) == 2
    assert "no solution notebooks" in capsys.readouterr().err
    assert main(["export", "nbgrader", "-o", str(tmp_path / "n"), "--notebook", "09"]) == 2
    assert "no solution notebook 09" in capsys.readouterr().err
    assert main(["export", "nbgrader", "-o", str(tmp_path / "n"), "--points", "0"]) == 2
    assert "points per exercise must be a positive number" in capsys.readouterr().err
    assert main(["export", "nbgrader", "-o", str(tmp_path / "n"), "--points", "inf"]) == 2
    assert "points per exercise must be a positive number, got inf" in capsys.readouterr().err
    assert main(["export", "otter", "-o", str(tmp_path / "twice"), "--notebook", "02"]) == 0
    capsys.readouterr()
    assert main(["export", "otter", "-o", str(tmp_path / "twice"), "--notebook", "02"]) == 2
    assert "already exist(s); nothing was written" in capsys.readouterr().err
    assert main(["export", "otter", "-o", str(tmp_path / "twice"), "--notebook", "02", "--force"]) == 0
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    for tool in ("nbgrader", "otter"):  # an OSError is one voclab line too, not a traceback
        assert main(["export", tool, "-o", str(a_file), "--notebook", "01"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("voclab: ") and err.count("\n") == 1 and str(a_file) in err
    broken = tmp_path / "solutions"
    broken.mkdir()
    nb = json.loads((SOLUTIONS / "02_dilated_convolutions.ipynb").read_text())
    for cell in nb["cells"]:
        cell["source"] = source(cell).replace('causal_pad = voclab.check("causal_pad", causal_pad)', "")
    (broken / "02_dilated_convolutions.ipynb").write_text(json.dumps(nb))
    (tmp_path / "tools").symlink_to(ROOT / "tools")
    with pytest.raises(ConfigError, match="has a solution block but no"):
        export.export_otter(tmp_path / "o", solutions_dir=broken)


# --------------------------------------------------------------------------------------
# the real tools, on one cheap notebook
# --------------------------------------------------------------------------------------


def run_tools(*commands: tuple[list[str], Path]) -> None:
    """Run the tools' commands ``(args, cwd)`` side by side (the quick tier); each must succeed."""
    env = dict(os.environ, VOCLAB_TIER="quick")
    running = [(args, subprocess.Popen([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
               for args, cwd in commands]
    for args, process in running:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{' '.join(args)} failed:\n{output[-5000:]}"


def first_exercise_done(stub_nb: dict, solved_nb: dict, is_first) -> dict:
    """The stub notebook with its first exercise cell taken from the solved one."""
    first = next(c for c in solved_nb["cells"] if is_first(c))
    nb = json.loads(json.dumps(stub_nb))
    for cell in nb["cells"]:
        if is_first(cell):
            cell["source"] = first["source"]
    return nb


#: passes spectral_convergence's public inputs and fails its hidden very quiet pair (an eps shows)
EPS_ANSWER = """def spectral_convergence(reference_magnitude, estimated_magnitude):
    return float(np.linalg.norm(reference_magnitude - estimated_magnitude)
                 / (np.linalg.norm(reference_magnitude) + 1e-8))


spectral_convergence = voclab.check("spectral_convergence", spectral_convergence)
"""
HIDDEN_ONLY = "spectral_convergence"


def with_eps_answer(solved_nb: dict) -> dict:
    """The solved notebook with spectral_convergence's cell replaced by :data:`EPS_ANSWER`."""
    nb = json.loads(json.dumps(solved_nb))
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "code" and f'voclab.check("{HIDDEN_ONLY}"' in source(c)
               and "assert_passed" not in source(c)]
    cell["source"] = EPS_ANSWER
    return nb


def test_nbgrader_generate_and_autograde(tmp_path):
    pytest.importorskip("nbgrader")
    course = tmp_path / "course"
    export.export_nbgrader(course, notebooks=[CHEAP])
    run_tools((["nbgrader", "generate_assignment", CHEAP], course))
    release = json.loads((course / "release" / CHEAP / f"{CHEAP}.ipynb").read_text())
    source_nb = json.loads((course / "source" / CHEAP / f"{CHEAP}.ipynb").read_text())
    released = "".join(source(c) for c in release["cells"])
    assert "### BEGIN SOLUTION" not in released and released.count(export.NBGRADER_CODE_STUB) >= len(registered(CHEAP))
    assert "hidden=True" not in released and "HIDDEN TESTS" not in released  # learners never see them

    def is_first(cell):
        return cell["metadata"].get("nbgrader", {}).get("grade_id") == f"solution-{FIRST}"

    submissions = {"solved": source_nb, "first_only": first_exercise_done(release, source_nb, is_first),
                   "public_only": with_eps_answer(source_nb)}
    for student, nb in submissions.items():
        target = course / "submitted" / student / CHEAP / f"{CHEAP}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(nb))
    run_tools((["nbgrader", "autograde", CHEAP, "--create"], course))

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: {g.name: g.score for g in gradebook.find_submission(CHEAP, student).notebooks[0].grades}
                  for student in submissions}
    assert scores["solved"] == {f"test-{n}": 1.0 for n in registered(CHEAP)}
    assert scores["first_only"] == {f"test-{n}": float(n == FIRST) for n in registered(CHEAP)}
    # the hidden-test block counts: public inputs passed, hidden failed -> the exercise's test fails
    assert scores["public_only"] == {f"test-{n}": float(n != HIDDEN_ONLY) for n in registered(CHEAP)}


def test_otter_assign_and_run(tmp_path):
    pytest.importorskip("otter")
    (master,) = export.export_otter(tmp_path / "otter", notebooks=[CHEAP])
    run_tools((["otter", "assign", master.name, "dist"], master.parent))
    dist = master.parent / "dist"
    student = json.loads((dist / "student" / master.name).read_text())
    solved = json.loads((dist / "autograder" / master.name).read_text())
    text = "".join(source(c) for c in student["cells"])
    assert "BEGIN SOLUTION" not in text and "BEGIN PROMPT" not in text
    assert f'raise NotImplementedError("Exercise {FIRST}: your code here")' in text
    assert "hidden=True" not in text
    public_tests = "".join(p.read_text() for p in (dist / "student" / "tests").glob("*.py"))
    assert "assert_passed" in public_tests and "hidden=True" not in public_tests  # learners never see them
    (autograder,) = (dist / "autograder").glob("*.zip")

    def is_first(cell):
        return cell["cell_type"] == "code" and f'voclab.check("{FIRST}"' in source(cell)

    submissions = {"solved": solved, "first_only": first_exercise_done(student, solved, is_first),
                   "public_only": with_eps_answer(solved)}
    for name, nb in submissions.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / master.name).write_text(json.dumps(nb))
    # otter run: otter's grading of one submission without Docker (otter grade needs Docker);
    # side by side
    run_tools(*[(["otter", "run", "--no-logo", "-a", str(autograder), "-o", str(tmp_path / name), master.name],
                 tmp_path / name) for name in submissions])
    scores = {}
    for name in submissions:
        results = json.loads((tmp_path / name / "results.json").read_text())
        scores[name] = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
    assert scores["solved"] == {n: 1.0 for n in registered(CHEAP)}
    assert scores["first_only"] == {n: float(n == FIRST) for n in registered(CHEAP)}
    print("otter, public inputs passed and hidden failed:", scores["public_only"])
    # otter splits a question's point between its public and its hidden test
    assert scores["public_only"] == {n: 0.5 if n == HIDDEN_ONLY else 1.0 for n in registered(CHEAP)}
