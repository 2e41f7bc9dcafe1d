"""The real grading tools on all eight exported notebooks (issue 14 §2), half of each notebook solved.

``voclab export nbgrader`` and ``voclab export otter`` write the whole course through the CLI; then
nbgrader (``generate_assignment`` + ``autograde``) and otter (``assign`` + ``run``, otter's grading
without Docker) grade one submission per notebook in the quick tier, the two tools side by side (one
per core). The nbgrader submission solves the 1st, 3rd, 5th... exercise cell of each notebook and
leaves the others as the released stub; the otter submission solves the complementary cells. So every
exercise of the course is seen once scoring full marks when solved and once scoring zero when left
undone, by a real tool. tests/test_export.py does the same on notebook 01 with a fully solved
submission, and checks the exported format.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from voclab import export
from voclab.cli import main

ROOT = Path(__file__).resolve().parents[1]
STEMS = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
BIN = Path(sys.executable).parent
STUDENT = "half"


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def exercise_groups(stem: str) -> list[tuple[str, ...]]:
    """The exercise cells of a solution notebook, in order, each as the names it checks."""
    nb = json.loads((ROOT / "solutions" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return [tuple(name for name, _ in cell.exercises) for cell in export.exercise_cells(nb)]


def solved_groups(stem: str, tool: str) -> list[tuple[str, ...]]:
    """nbgrader's submission solves the even-numbered exercise cells (0, 2, ...), otter's the odd ones."""
    return exercise_groups(stem)[0 if tool == "nbgrader" else 1::2]


def expected_scores(stem: str, tool: str) -> dict[str, float]:
    solved = {name for group in solved_groups(stem, tool) for name in group}
    prefix = "test-" if tool == "nbgrader" else ""
    return {prefix + name: float(name in solved) for group in exercise_groups(stem) for name in group}


def with_cells_from(stub_nb: dict, solved_nb: dict, key, keys: set) -> dict:
    """The stub notebook with the cells whose ``key(cell)`` is in ``keys`` taken from the solved one."""
    solved = {key(c): c["source"] for c in solved_nb["cells"] if key(c) in keys}
    assert set(solved) == keys, f"cells not found in the solved notebook: {keys - set(solved)}"
    nb = json.loads(json.dumps(stub_nb))
    replaced = set()
    for cell in nb["cells"]:
        if key(cell) in keys:
            cell["source"] = solved[key(cell)]
            replaced.add(key(cell))
    assert replaced == keys, f"cells not found in the stub notebook: {keys - replaced}"
    return nb


def nbgrader_key(cell: dict):
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def otter_key(cell: dict):
    """An exercise cell of otter's student or autograder notebook: the names its voclab.check calls check."""
    if cell["cell_type"] != "code":
        return None
    return tuple(m.group("name") for m in export.EXERCISE_CHECK.finditer(source(cell))) or None


def run_in_turn(commands: list[tuple[list[str], Path]]) -> None:
    env = dict(os.environ, VOCLAB_TIER="quick")
    for args, cwd in commands:
        done = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, text=True, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-5000:]}"


def nbgrader_commands(course: Path, stage: str) -> list[tuple[list[str], Path]]:
    if stage == "release":
        return [(["nbgrader", "generate_assignment", stem], course) for stem in STEMS]
    for stem in STEMS:
        release = json.loads((course / "release" / stem / f"{stem}.ipynb").read_text(encoding="utf-8"))
        source_nb = json.loads((course / "source" / stem / f"{stem}.ipynb").read_text(encoding="utf-8"))
        keys = {"solution-" + "-".join(group) for group in solved_groups(stem, "nbgrader")}
        target = course / "submitted" / STUDENT / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(with_cells_from(release, source_nb, nbgrader_key, keys)), encoding="utf-8")
    return [(["nbgrader", "autograde", stem, "--create"], course) for stem in STEMS]


def otter_commands(root: Path, stage: str) -> list[tuple[list[str], Path]]:
    if stage == "release":
        return [(["otter", "assign", f"{stem}.ipynb", "dist"], root / stem) for stem in STEMS]
    commands = []
    for stem in STEMS:
        dist = root / stem / "dist"
        student = json.loads((dist / "student" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        solved = json.loads((dist / "autograder" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        (autograder,) = (dist / "autograder").glob("*.zip")
        folder = root / "submitted" / stem
        folder.mkdir(parents=True)
        nb = with_cells_from(student, solved, otter_key, set(solved_groups(stem, "otter")))
        (folder / f"{stem}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
        commands.append((["otter", "run", "--no-logo", "-a", str(autograder), "-o", str(folder), f"{stem}.ipynb"],
                         folder))
    return commands


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    pytest.importorskip("nbgrader")
    pytest.importorskip("otter")
    tmp = tmp_path_factory.mktemp("export-course")
    nbgrader_course, otter_root = tmp / "nbgrader", tmp / "otter"
    assert main(["export", "nbgrader", "-o", str(nbgrader_course)]) == 0
    assert main(["export", "otter", "-o", str(otter_root)]) == 0
    for stage in ("release", "grade"):
        with ThreadPoolExecutor(2) as pool:  # the two tools side by side, one per core
            for running in [pool.submit(run_in_turn, nbgrader_commands(nbgrader_course, stage)),
                            pool.submit(run_in_turn, otter_commands(otter_root, stage))]:
                running.result()
    from nbgrader.api import Gradebook

    scores = {"nbgrader": {}, "otter": {}}
    with Gradebook(f"sqlite:///{nbgrader_course / 'gradebook.db'}") as gradebook:
        for stem in STEMS:
            notebook = gradebook.find_submission(stem, STUDENT).notebooks[0]
            scores["nbgrader"][stem] = {g.name: g.score for g in notebook.grades}
    for stem in STEMS:
        results = json.loads((otter_root / "submitted" / stem / "results.json").read_text(encoding="utf-8"))
        scores["otter"][stem] = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
    return scores


@pytest.mark.parametrize("tool", ["nbgrader", "otter"])
@pytest.mark.parametrize("stem", STEMS)
def test_solved_exercises_score_and_stubs_score_zero(graded, tool, stem):
    assert graded[tool][stem] == expected_scores(stem, tool)


def test_the_two_submissions_together_solve_every_exercise_once():
    for stem in STEMS:
        groups = exercise_groups(stem)
        assert len(groups) >= 2 and re.fullmatch(r"\d\d_\w+", stem)
        assert sorted(solved_groups(stem, "nbgrader") + solved_groups(stem, "otter")) == sorted(groups)
