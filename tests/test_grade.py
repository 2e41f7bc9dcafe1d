"""``voclab grade`` end to end: fabricated submissions of a trimmed notebook 01, graded through the CLI.

The course here is notebook 01's learner notebook cut to its set-up and its first three exercises
(split_stft, spectral_convergence, inconsistency), so that each submission runs in a few seconds, and
notebook 02 unchanged (a submission of the wrong week). The submissions: all stubs, all correct (the
solution notebook's cells), two mistakes (the power instead of the magnitude: failed; an eps in the
denominator of the spectral convergence: public inputs pass, the hidden quiet pair fails: partial), a
function that raises and a cell that raises, a cell that loops forever (killed at the cell time limit),
a cell edited outside the exercises, forbidden code, an empty file, a file that is not a notebook and a
notebook of another week.
"""

from __future__ import annotations

import csv
import importlib
import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from voclab import checks
from voclab.cli import main
from voclab.grade import forbidden_code

ROOT = Path(__file__).resolve().parents[1]
NB01 = "01_phase_and_griffin_lim"
NB02 = "02_dilated_convolutions"
SETUP, SPLIT, SC, INCONSISTENCY = "ad1e5e43", "e6536d32", "f497065d", "55491caf"
KEPT = {"colab-install", SETUP, SPLIT, SC, INCONSISTENCY}
EXERCISES = ["split_stft", "spectral_convergence", "inconsistency"]


def _kernel_or_skip():
    if "python3" not in pytest.importorskip("jupyter_client.kernelspec").find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel installed")


def _with_cell(nb, cell_id, source):
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.get("id") == cell_id:
            cell.source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the fabricated submissions once; return (exit code, rows by student, report folder, seconds)."""
    _kernel_or_skip()
    tmp = tmp_path_factory.mktemp("grade")
    course = tmp / "course"
    course.mkdir()
    learner = nbformat.read(ROOT / "notebooks" / f"{NB01}.ipynb", as_version=4)
    learner.cells = [c for c in learner.cells if c.cell_type == "markdown" or c.get("id") in KEPT]
    nbformat.write(learner, course / f"{NB01}.ipynb")
    shutil.copy(ROOT / "notebooks" / f"{NB02}.ipynb", course / f"{NB02}.ipynb")
    solution = {c.get("id"): c.source for c in nbformat.read(ROOT / "solutions" / f"{NB01}.ipynb", 4).cells}

    correct = learner
    for cell_id in (SPLIT, SC, INCONSISTENCY):
        correct = _with_cell(correct, cell_id, solution[cell_id])
    subs = tmp / "submissions"
    subs.mkdir()
    check = {name: f'\n\n{name} = voclab.check("{name}", {name})' for name in EXERCISES}
    wrong = _with_cell(correct, SPLIT, "def split_stft(S):\n    return np.abs(S) ** 2, np.angle(S)" + check["split_stft"])
    wrong = _with_cell(wrong, SC, "def spectral_convergence(reference_magnitude, estimated_magnitude):\n"
                                  "    return float(np.linalg.norm(reference_magnitude - estimated_magnitude)\n"
                                  "                 / (np.linalg.norm(reference_magnitude) + 1e-8))"
                       + check["spectral_convergence"])
    raises = _with_cell(correct, INCONSISTENCY, "def inconsistency(X, *, n_fft, hop_length, length):\n"
                                                "    raise ValueError('my bug')" + check["inconsistency"])
    raises = _with_cell(raises, SPLIT, solution[SPLIT].replace("split_stft = voclab.check",
                                                               "raise RuntimeError('oops')\nsplit_stft = voclab.check"))
    loops = _with_cell(learner, SC, "while True:\n    pass")
    edited = _with_cell(learner, SETUP, learner.cells[[c.get("id") for c in learner.cells].index(SETUP)].source
                        + "\nSR = 16000  # mine")
    forbidden = _with_cell(correct, INCONSISTENCY, "import subprocess\n" + solution[INCONSISTENCY])
    for name, nb in [("stubs", learner), ("correct", correct), ("wrong", wrong), ("raises", raises),
                     ("loops", loops), ("edited", edited), ("forbidden", forbidden)]:
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "empty.ipynb").write_bytes(b"")
    (subs / "notes.ipynb").write_text("my answers: 42\n")
    shutil.copy(ROOT / "notebooks" / f"{NB02}.ipynb", subs / "week2.ipynb")
    report = tmp / "report"
    start = time.monotonic()
    code = main(["grade", *sorted(str(p) for p in subs.iterdir()), "--notebook", "01", "--course", str(course),
                 "--timeout", "120", "--cell-timeout", "20", "--tier", "quick", "-o", str(report)])
    seconds = time.monotonic() - start
    with open(report / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return code, rows, report, seconds


EXPECTED = {
    "stubs": ["not done", "not done", "not done"],
    "correct": ["passed", "passed", "passed"],
    "wrong": ["failed", "partial", "passed"],
    "raises": ["error", "passed", "failed"],
    "loops": ["not done", "error", "error"],
    "edited": ["not done", "not done", "not done"],
    "forbidden": ["error", "error", "error"],
    "empty": ["", "", ""],
    "notes": ["", "", ""],
    "week2": ["", "", ""],
}


def test_the_table_of_grades(graded):
    code, rows, report, seconds = graded
    assert code == 0
    assert set(rows) == set(EXPECTED)
    table = {student: [row[e] for e in EXERCISES] for student, row in rows.items()}
    assert table == EXPECTED
    assert rows["correct"]["passed"] == "3/3" and rows["wrong"]["passed"] == "1/3"
    markdown = (report / "grades.md").read_text()
    assert markdown.count(f"## {NB01}\n\n| student | split_stft | spectral_convergence | inconsistency | passed |") == 1
    assert markdown.count("| correct | passed | passed | passed | 3/3 |") == 1
    assert "## Not graded\n\nempty, notes, week2: see the notes." in markdown
    with open(report / "grades_long.csv", newline="", encoding="utf-8") as handle:
        long = list(csv.DictReader(handle))
    assert len(long) == 7 * len(EXERCISES)  # the seven submissions that ran, never the three refused
    assert {"student": "wrong", "notebook": NB01, "exercise": "spectral_convergence", "grade": "partial",
            "hidden_inputs": "failed"} in long
    print(f"graded 10 submissions (7 runs, one killed at 20 s) in {seconds:.1f} s")


def test_each_problem_is_named_in_the_notes(graded):
    _, rows, _, _ = graded
    assert rows["correct"]["notes"] == "" and rows["stubs"]["notes"] == ""
    assert "edited outside its exercise cells: " + SETUP in rows["edited"]["notes"]
    assert "cell time limit (20 s)" in rows["loops"]["notes"] and SC in rows["loops"]["notes"]
    assert f"forbidden code, not run: cell {INCONSISTENCY} imports subprocess" in rows["forbidden"]["notes"]
    assert float(rows["forbidden"]["seconds"]) == 0.0
    assert rows["empty"]["notes"].startswith("voclab: empty.ipynb is empty")
    assert rows["notes"]["notes"].startswith("voclab: notes.ipynb is not a Jupyter notebook")
    assert rows["week2"]["notes"] == (f"voclab: it is notebook {NB02}, not {NB01}: the wrong week was submitted.")
    for row in rows.values():  # one line each
        assert "\n" not in row["notes"]


def test_feedback_gives_each_diagnosis_and_hint(graded):
    _, _, report, _ = graded
    wrong = (report / "feedback" / "wrong.md").read_text()
    assert "## split_stft: failed" in wrong and "you returned the power |S|², not the magnitude |S|" in wrong
    assert "## spectral_convergence: partial" in wrong
    assert "Hidden inputs: failed — spectral_convergence: values differ" in wrong
    assert "a very quiet pair" in wrong and "Hint: np.linalg.norm of a 2-D array" in wrong
    raises = (report / "feedback" / "raises.md").read_text()
    assert "## split_stft: error\n\nits cell raised RuntimeError: oops" in raises
    assert "raised ValueError" in raises and "my bug" in raises
    correct = (report / "feedback" / "correct.md").read_text()
    assert "Hidden inputs: passed (3)." in correct
    assert "✅" not in correct and "PASSED ✓" not in correct  # the status is the heading's word
    loops = (report / "feedback" / "loops.md").read_text()
    assert "## inconsistency: error\n\nnot reached: a cell ran past the cell time limit" in loops


def test_the_course_tree_is_not_written(graded):
    _, rows, _, _ = graded
    assert not any("course files" in row["notes"] for row in rows.values())
    assert not list((ROOT / "notebooks").glob("*.jsonl")) and not list(ROOT.glob("*.jsonl"))


def test_forbidden_code_scan():
    assert forbidden_code("import shutil\nshutil.rmtree('data')") == ["imports shutil", "calls .rmtree()"]
    assert forbidden_code("import os\nos.system('rm -rf /')") == ["calls os.system"]
    assert forbidden_code("from os import remove") == ["imports os.remove"]
    assert forbidden_code("!rm -rf data\nx = 1") == ["runs a shell command (!rm -rf data)"]
    assert forbidden_code("from pathlib import Path\nPath('a.wav').unlink()") == ["calls .unlink()"]
    assert forbidden_code("%matplotlib inline\nimport numpy as np\nnp.abs(np.zeros(3))") == []
    assert forbidden_code("def f(:\n") == []  # does not parse: it fails when it runs


def test_two_students_of_one_name_and_an_unknown_notebook_are_refused(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "kim.ipynb").write_text("{}")
    assert main(["grade", str(tmp_path / "a" / "kim.ipynb"), str(tmp_path / "b" / "kim.ipynb"), "-o",
                 str(tmp_path / "r")]) == 2
    assert "two submissions are named kim" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "a" / "kim.ipynb"), "--notebook", "42", "-o", str(tmp_path / "r")]) == 2
    assert "voclab: --notebook 42: the course has no such notebook (it has 01, 02" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "a" / "kim.ipynb"), "--jobs", "0", "-o", str(tmp_path / "r")]) == 2
    assert "voclab: --jobs 0: give a whole number of submissions to run at once" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("number", range(1, 9))
def test_every_exercise_has_hidden_inputs_that_its_reference_passes(number):
    module = importlib.import_module(f"voclab.checks.nb{number:02d}")
    exercises = [e for e in checks.EXERCISES.values() if e.notebook == module.NOTEBOOK]
    assert len(exercises) >= 2
    assert [e.name for e in exercises if e.hidden_cases is None] == []
    for exercise in exercises:
        result = checks.check_exercise(exercise.name, exercise.reference, hidden=True)
        assert result.status == "passed", result.message
        public = {c.description for c in exercise.cases()}
        assert not public & {c.description for c in exercise.hidden_cases()}


def test_grading_mode_records_public_and_hidden_results(tmp_path, monkeypatch, capsys):
    import json

    import numpy as np

    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(checks.GRADE_LOG_ENV, str(log))

    def spectral_convergence(reference_magnitude, estimated_magnitude):
        return float(np.linalg.norm(reference_magnitude - estimated_magnitude)
                     / (np.linalg.norm(reference_magnitude) + 1e-8))

    checks.check("spectral_convergence", spectral_convergence)
    assert capsys.readouterr().out.startswith("PASSED ✓ spectral_convergence: public checks passed")
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["status"] == "passed" and record["hidden"]["status"] == "failed"
    assert record["hidden"]["case"] == 1 and record["notebook"] == NB01
