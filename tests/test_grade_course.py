"""``voclab grade`` on all eight notebooks through the CLI (issue 14 §1), with the solved and half-done submissions.

For every notebook two submissions are fabricated from the course's own files: ``solved`` (the learner
notebook with each exercise cell taken from the solution notebook, as a learner who did everything
hands it in) and ``half`` (only every other exercise cell solved, the rest left as the stub). All 16 are
graded in one ``voclab grade --jobs 2`` call in the quick tier. A solved exercise must be graded
*passed* -- its public and its hidden inputs -- and a stub *not done*, with no note on any submission
(nothing edited outside the exercises, no course file touched, no time limit hit). The trimmed-notebook
cases (a function that raises, a hang, forbidden code, bad files) are in tests/test_grade.py.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from voclab.cli import main
from voclab.grade import course_notebooks

ROOT = Path(__file__).resolve().parents[1]
COURSE = course_notebooks(ROOT / "notebooks")


def _kernel_or_skip():
    if "python3" not in pytest.importorskip("jupyter_client.kernelspec").find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel installed")


def _solved_cells(stem: str, every_other: bool) -> set[str]:
    """The exercise cells a submission solves: all of them, or the 1st, 3rd, 5th... in notebook order."""
    cells = sorted(COURSE[stem]["exercise_cells"],
                   key=list(COURSE[stem]["cells"]).index)
    return set(cells[::2] if every_other else cells)


def _submission(stem: str, solved: set[str]):
    learner = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    solution = {c.get("id"): c.source for c in nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", 4).cells}
    for cell in learner.cells:
        if cell.get("id") in solved:
            cell.source = solution[cell.id]
    return learner


def _expected(stem: str, solved: set[str]) -> dict[str, str]:
    where = COURSE[stem]["exercise_cell"]
    return {exercise: "passed" if where[exercise] in solved else "not done" for exercise in COURSE[stem]["exercises"]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _kernel_or_skip()
    tmp = tmp_path_factory.mktemp("grade-course")
    subs = tmp / "submissions"
    subs.mkdir()
    expected = {}
    for stem in COURSE:
        number = stem[:2]
        for kind, every_other in (("solved", False), ("half", True)):
            solved = _solved_cells(stem, every_other)
            nbformat.write(_submission(stem, solved), subs / f"{kind}_{number}.ipynb")
            expected[f"{kind}_{number}"] = (stem, _expected(stem, solved))
    report = tmp / "report"
    start = time.monotonic()
    code = main(["grade", *sorted(str(p) for p in subs.iterdir()), "--jobs", "2", "--tier", "quick",
                 "-o", str(report)])
    seconds = time.monotonic() - start
    with open(report / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return code, rows, expected, report, seconds


def test_there_are_eight_notebooks_with_exercises():
    assert len(COURSE) == 8 and all(len(info["exercises"]) >= 2 for info in COURSE.values())


def test_every_notebook_is_graded_as_submitted(graded):
    code, rows, expected, report, seconds = graded
    assert code == 0 and set(rows) == set(expected)
    for student, (stem, grades) in expected.items():
        row = rows[student]
        assert row["notebook"] == stem, student
        assert {e: row[e] for e in grades} == grades, f"{student}: {row['notes']}"
        assert row["notes"] == "", f"{student}: {row['notes']}"
        assert row["passed"] == f"{sum(g == 'passed' for g in grades.values())}/{len(grades)}"
    markdown = (report / "grades.md").read_text(encoding="utf-8")
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == list(COURSE)  # a table each
    with open(report / "grades_long.csv", newline="", encoding="utf-8") as handle:
        long = list(csv.DictReader(handle))
    assert len(long) == 2 * sum(len(info["exercises"]) for info in COURSE.values())
    print(f"graded 16 submissions of 8 notebooks with --jobs 2 in {seconds:.0f} s; per submission (s):")
    for student in sorted(rows):
        print(f"  {student}: {rows[student]['seconds']}")


def test_solved_exercises_pass_their_hidden_inputs_too(graded):
    _, _, expected, report, _ = graded
    for student, (stem, grades) in expected.items():
        feedback = (report / "feedback" / f"{student}.md").read_text(encoding="utf-8")
        for exercise, grade in grades.items():
            assert f"## {exercise}: {grade}" in feedback
        if student.startswith("solved"):
            assert "Hidden inputs: failed" not in feedback and "Hidden inputs: passed (" in feedback
