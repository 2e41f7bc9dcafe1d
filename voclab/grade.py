"""Grade submitted learner notebooks: ``voclab grade SUBMISSION.ipynb... -o REPORT_DIR``.

An instructor collects the learners' notebooks and runs them all headless, each in a kernel of
its own, in a temporary folder of its own (the notebook is copied there; the course tree is never
written), with ``VOCLAB_TIER`` set and time limits per cell and per notebook. Every
``voclab.check`` call of a run appends what it found to a grading log (grading mode, see
:data:`voclab.checks.GRADE_LOG_ENV`): passed, not done or failed with the diagnosis and hint,
and, once the public inputs pass, the exercise's **hidden inputs** (``Exercise.hidden_cases``:
other sizes and edge cases the learner notebook never shows). A public pass with a hidden
failure is graded *partial*.

What can go wrong with one submission is reported and never stops the others:

* **bad input** -- not a notebook, an empty file, a notebook of another week (or of none): a
  one-line ``voclab: ...`` row in the report, nothing runs;
* **forbidden code** -- a cell the learner wrote or changed that imports ``subprocess``,
  ``shutil``, ``socket``, ``ctypes``, ``multiprocessing``, ``signal``, ``pty`` or ``importlib``,
  calls ``__import__``, one of the :data:`FORBIDDEN_CALLS` of ``os`` (``os.system``,
  ``os.remove``...) or a ``.unlink()`` / ``.rmdir()`` / ``.rmtree()`` method, or runs a shell
  command (``!cmd``, ``%%bash``, ``%system``): the notebook is not run at all, every exercise is
  an *error* and the report names the cell and the reason. A static scan, simple on purpose: it
  catches what a learner writes by accident or on a dare, not a determined attacker (who should
  be graded in a container);
* **a crash or a hang** -- a cell over ``cell_timeout`` or the notebook over ``timeout``: the
  kernel is killed, the exercises checked before count, those not reached are *error*; a kernel
  that dies is reported with the cell it died in;
* **deleted files** -- the files of the course's data folder and of the course's learner
  notebooks are listed (size, modification time) before and after each run; any that vanished
  or changed are named;
* **edits outside the exercise cells** -- each code cell of the learner notebook that holds no
  exercise stub is compared with the submission's cell of the same id: changed and deleted cells
  are named (added cells too, as information).

The report: ``REPORT_DIR/grades.csv`` and ``grades.md`` (one row per student, one column per
exercise: ``passed``, ``partial``, ``failed``, ``not done``, ``error``; in the Markdown one table
per notebook), ``grades_long.csv`` (one row per student and exercise) and
``REPORT_DIR/feedback/<student>.md`` with each verdict, diagnosis and hint. The student's name is
the submission's file stem.

Notebook: none -- the instructor's side of every exercise notebook (01-08).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, VoclabError
from .tiers import TIERS

__all__ = [
    "FORBIDDEN_CALLS",
    "FORBIDDEN_MODULES",
    "GRADES",
    "GradeReport",
    "Submission",
    "course_notebooks",
    "forbidden_code",
    "grade",
    "identify_notebook",
]

#: The grade of one exercise, in the report's words.
GRADES = ("passed", "partial", "failed", "not done", "error")

#: Modules a cell the learner wrote may not import: they run programs, delete trees, open sockets,
#: call C or change the signal handlers the checks' time limit relies on.
FORBIDDEN_MODULES = ("subprocess", "shutil", "socket", "ctypes", "multiprocessing", "signal", "pty", "importlib")

#: Functions of ``os`` a cell the learner wrote may not call (run programs, delete or move files,
#: kill processes, leave the kernel).
FORBIDDEN_CALLS = ("system", "popen", "remove", "unlink", "rmdir", "removedirs", "rename", "replace", "kill",
                   "killpg", "fork", "_exit", "execv", "execve", "execl", "execlp", "execvp", "spawnl", "spawnv",
                   "posix_spawn", "truncate")

#: Methods that delete whatever they are called on (``pathlib.Path.unlink``, ``shutil.rmtree``).
_DELETING_METHODS = ("unlink", "rmdir", "rmtree")
_SHELL = re.compile(r"^\s*(!|%%(bash|sh|script|system)\b|%(system|sx)\b)")
_MAGIC = re.compile(r"^\s*[%!]")
_STUB = 'NotImplementedError("Exercise '
_CHECK_CALL = re.compile(r"""voclab\.check\(\s*["'](\w+)["']""")

#: Default limits, in seconds: every learner notebook takes at most 2 minutes in the quick tier.
DEFAULT_TIMEOUT = 900.0
DEFAULT_CELL_TIMEOUT = 300.0


@dataclass
class Submission:
    """What grading one submitted notebook found.

    Attributes
    ----------
    student : str
        The file stem of the submission.
    path : Path
        The submitted file.
    notebook : str
        The course notebook it is a copy of (``"01_phase_and_griffin_lim"``), or "" when it
        could not be identified.
    grades : dict
        Exercise name -> one of :data:`GRADES`, in the notebook's order.
    records : dict
        Exercise name -> the grading log's record (see :func:`voclab.checks.record_grade`), or
        ``{"note": ...}`` for an exercise whose check never reported.
    notes : list of str
        Everything else the instructor should know: a one-line ``voclab: ...`` error for bad
        input, forbidden code, a time limit, a crash, changed course files, edited cells.
    seconds : float
        Wall time of the run (0 when nothing ran).
    """

    student: str
    path: Path
    notebook: str = ""
    grades: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class GradeReport:
    """The result of :func:`grade`: one :class:`Submission` per file and where the report went.

    Attributes
    ----------
    submissions : list of Submission
    csv_path, markdown_path : Path
        ``REPORT_DIR/grades.csv`` (one row per submission, a column per exercise of every
        notebook graded) and ``REPORT_DIR/grades.md`` (one table per notebook).
    feedback_dir : Path
        ``REPORT_DIR/feedback``, one ``<student>.md`` per submission.
    long_csv_path : Path
        ``REPORT_DIR/grades_long.csv``: one row per student and exercise (student, notebook,
        exercise, grade, hidden_inputs), for a spreadsheet's pivot table or a gradebook import
        when several weeks are graded at once.
    """

    submissions: list[Submission]
    csv_path: Path
    markdown_path: Path
    feedback_dir: Path
    long_csv_path: Path


def _default_course_dir() -> Path:
    from .course import learner_notebooks_dir

    return learner_notebooks_dir()


def course_notebooks(course_dir: str | os.PathLike | None = None) -> dict[str, dict]:
    """The learner notebooks of the course, read once: name -> what grading needs of each.

    Notebook: none (``voclab grade``).

    Parameters
    ----------
    course_dir : path, optional
        The folder of learner notebooks ``NN_name.ipynb``; default: the course's ``notebooks/``.

    Returns
    -------
    dict
        ``{"01_phase_and_griffin_lim": {"path": Path, "cells": {id: source}, "exercise_cells":
        {id, ...}, "exercises": [name, ...], "exercise_cell": {name: id}}, ...}`` -- the code
        cells by id, the ids of the cells holding an exercise stub, and the exercises in the
        order their ``voclab.check`` calls appear.

    Raises
    ------
    voclab.errors.ConfigError
        If the folder holds no learner notebook.

    Examples
    --------
    >>> course_notebooks()["02_dilated_convolutions"]["exercises"][:2]  # doctest: +SKIP
    ['causal_pad', 'DilatedCausalStack']
    """
    import nbformat

    folder = Path(course_dir) if course_dir is not None else _default_course_dir()
    found = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells, stubs, exercises, where = {}, set(), [], {}
        for cell in nb.cells:
            if cell.cell_type != "code" or "id" not in cell:
                continue
            cells[cell.id] = cell.source
            if _STUB in cell.source:
                stubs.add(cell.id)
            for name in _CHECK_CALL.findall(cell.source):
                if name not in where:
                    exercises.append(name)
                    where[name] = cell.id
        found[path.stem] = {"path": path, "cells": cells, "exercise_cells": stubs, "exercises": exercises,
                            "exercise_cell": where}
    if not found:
        raise ConfigError(f"{folder} holds no learner notebook (NN_name.ipynb): pass the course's notebooks/ "
                          "folder with --course.")
    return found


def _notebook_named(notebook: str, course: dict[str, dict]) -> str:
    names = [name for name in course if name == notebook or name.split("_", 1)[0] == notebook.zfill(2)]
    if not names:
        raise ConfigError(f"--notebook {notebook}: the course has no such notebook "
                          f"(it has {', '.join(n.split('_', 1)[0] for n in course)}).")
    return names[0]


def identify_notebook(nb, course: dict[str, dict], notebook: str | None = None) -> str:
    """The course notebook a submission is a copy of, by its code cells' ids.

    Notebook: none (``voclab grade``).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The submission.
    course : dict
        :func:`course_notebooks`.
    notebook : str, optional
        The expected notebook, by number (``"04"``) or name: the submission must be that one.

    Returns
    -------
    str
        The notebook's name, e.g. ``"04_wavegan"``: the one whose code cell ids the submission
        holds most of (at least half of them).

    Raises
    ------
    voclab.errors.ConfigError
        If ``notebook`` names no course notebook, the submission matches none, or it matches
        another week than ``notebook``.

    Examples
    --------
    >>> identify_notebook(nbformat.read("alice.ipynb", 4), course_notebooks(), "01")  # doctest: +SKIP
    '01_phase_and_griffin_lim'
    """
    expected = _notebook_named(notebook, course) if notebook is not None else None
    ids = {cell.get("id") for cell in nb.cells if cell.get("cell_type") == "code"}
    shares = {name: len(ids & set(info["cells"])) / max(len(info["cells"]), 1) for name, info in course.items()}
    best = max(shares, key=shares.get)
    if shares[best] < 0.5:
        raise ConfigError("its cells match none of the course's notebooks (by cell id): submit the learner "
                          "notebook itself, saved from JupyterLab, not a new notebook or an export.")
    if expected is not None and best != expected:
        raise ConfigError(f"it is notebook {best}, not {expected}: the wrong week was submitted.")
    return best


def _code_without_magics(source: str) -> str:
    return "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())


def forbidden_code(source: str) -> list[str]:
    """What a cell's code does that a graded cell may not (see the module docstring); [] if nothing.

    Notebook: none (``voclab grade``).

    Parameters
    ----------
    source : str
        The code of one cell (IPython magics allowed).

    Returns
    -------
    list of str
        One phrase per finding, e.g. ``"imports subprocess"``, ``"calls os.system"``,
        ``"runs a shell command (!rm -rf data)"``. Code that does not parse is not scanned: it
        fails when it runs.

    Examples
    --------
    >>> forbidden_code("import shutil\\nshutil.rmtree('data')")
    ['imports shutil', 'calls .rmtree()']
    >>> forbidden_code("import numpy as np\\nx = np.zeros(3)")
    []
    """
    found = [f"runs a shell command ({line.strip()[:40]})" for line in source.splitlines() if _SHELL.match(line)]
    try:
        tree = ast.parse(_code_without_magics(source))
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            if node.module == "os":
                modules += [f"os.{alias.name}" for alias in node.names]
        for module in modules:
            if module.split(".")[0] in FORBIDDEN_MODULES or module.startswith("os.") and module[3:] in FORBIDDEN_CALLS:
                found.append(f"imports {module}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "__import__":
                found.append("calls __import__")
            elif isinstance(func, ast.Attribute):
                owner = func.value
                if isinstance(owner, ast.Name) and owner.id == "os" and func.attr in FORBIDDEN_CALLS:
                    found.append(f"calls os.{func.attr}")
                elif func.attr in _DELETING_METHODS:
                    found.append(f"calls .{func.attr}()")
    return list(dict.fromkeys(found))


def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _cell_changes(nb, info: dict) -> tuple[list[str], list[str], list[str]]:
    """(changed, deleted, added) cell ids: the learner notebook's non-exercise code cells against the submission's."""
    submitted = {cell.get("id"): cell.source for cell in nb.cells if cell.get("cell_type") == "code"}
    changed, deleted = [], []
    for cell_id, source in info["cells"].items():
        if cell_id in info["exercise_cells"]:
            continue
        if cell_id not in submitted:
            deleted.append(cell_id)
        elif _normalised(submitted[cell_id]) != _normalised(source):
            changed.append(cell_id)
    added = [cell_id for cell_id in submitted if cell_id not in info["cells"]]
    return changed, deleted, added


def _snapshot(folders: list[Path]) -> dict[str, tuple[int, int]]:
    files = {}
    for folder in folders:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file():
                    stat = path.stat()
                    files[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return files


def _read_submission(path: Path):
    import nbformat

    if not path.is_file():
        raise ConfigError(f"{path} does not exist or is not a file.")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path.name} is empty: the notebook was not saved, or the upload failed.")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 (nbformat raises JSON, validation, key and encoding errors alike)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path.name} is not a Jupyter notebook ({first[:120]}).") from None


def _run(nb, workdir: Path, log: Path, tier: str, timeout: float, cell_timeout: float,
         threads: int | None) -> tuple[str, int | None]:
    """Execute ``nb`` in place in a fresh kernel; return (what stopped it or "", the cell index it stopped at)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    deadline = time.monotonic() + timeout
    current = [None]

    def limit(_cell):
        return max(min(cell_timeout, deadline - time.monotonic()), 0.1)

    def started(cell, cell_index):
        current[0] = cell_index

    env = dict(os.environ, VOCLAB_TIER=tier, MPLBACKEND="Agg")
    env["VOCLAB_GRADE_LOG"] = str(log)
    if threads is not None:
        env["VOCLAB_THREADS"] = str(threads)
    client = NotebookClient(nb, kernel_name="python3", timeout_func=limit, allow_errors=True,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(workdir)}},
                            on_cell_start=started)
    try:
        client.execute(env=env, cwd=str(workdir))
    except CellTimeoutError:
        if time.monotonic() >= deadline - 0.5:
            return f"over the notebook's time limit ({timeout:g} s): the kernel was killed", current[0]
        return f"a cell ran past the cell time limit ({cell_timeout:g} s): the kernel was killed", current[0]
    except DeadKernelError:
        return "the kernel died (a crash, or the code ended the process)", current[0]
    return "", None


def _cell_error(nb, cell_id: str) -> str:
    for cell in nb.cells:
        if cell.get("id") == cell_id:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output.get('ename', 'Error')}: {str(output.get('evalue', '')).strip()[:200]}"
    return ""


def _grade_of(record: dict) -> str:
    status = record["status"]
    if status == "passed":
        hidden = record.get("hidden")
        return "partial" if hidden and hidden["status"] != "passed" else "passed"
    return status if status in GRADES else "error"


def _grade_one(path: Path, course: dict, notebook: str | None, tier: str, timeout: float,
               cell_timeout: float, watched: list[Path], threads: int | None) -> Submission:
    submission = Submission(path.stem, path)
    try:
        nb = _read_submission(path)
        name = identify_notebook(nb, course, notebook)
    except VoclabError as err:
        submission.notes.append(f"voclab: {err}")
        return submission
    info = course[name]
    submission.notebook = name
    changed, deleted, added = _cell_changes(nb, info)
    if changed:
        submission.notes.append(f"edited outside its exercise cells: {', '.join(changed)}")
    if deleted:
        submission.notes.append(f"deleted cells of the course: {', '.join(deleted)}")
    if added:
        submission.notes.append(f"added cells (information): {', '.join(added)}")
    learner_written = [cell for cell in nb.cells if cell.get("cell_type") == "code"
                       and _normalised(cell.source) != _normalised(info["cells"].get(cell.get("id"), ""))]
    forbidden = [f"cell {cell.get('id')} {what}" for cell in learner_written for what in forbidden_code(cell.source)]
    if forbidden:
        submission.notes.append(f"forbidden code, not run: {'; '.join(forbidden)}")
        for exercise in info["exercises"]:
            submission.grades[exercise] = "error"
            submission.records[exercise] = {"note": "not run: the notebook holds forbidden code"}
        return submission
    before = _snapshot(watched)
    with tempfile.TemporaryDirectory(prefix="voclab-grade-") as tmp:
        workdir, log = Path(tmp) / "work", Path(tmp) / "grade.jsonl"
        workdir.mkdir()
        shutil.copyfile(path, workdir / path.name)
        start = time.monotonic()
        stopped, stop_index = _run(nb, workdir, log, tier, timeout, cell_timeout, threads)
        submission.seconds = time.monotonic() - start
        records = {}
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    records[record["exercise"]] = record  # a check run twice: the last one counts
    after = _snapshot(watched)
    gone = sorted(set(before) - set(after))
    altered = sorted(p for p in before if p in after and before[p] != after[p])
    if gone or altered:
        submission.notes.append("deleted or changed course files: " + ", ".join(gone + altered))
    if stopped:
        stop_id = nb.cells[stop_index].get("id") if stop_index is not None else "?"
        submission.notes.append(f"{stopped} (cell {stop_id})")
    index_of = {cell.get("id"): k for k, cell in enumerate(nb.cells)}
    for exercise in info["exercises"]:
        if exercise in records:
            submission.records[exercise] = records[exercise]
            submission.grades[exercise] = _grade_of(records[exercise])
            continue
        cell_id = info["exercise_cell"][exercise]
        error = _cell_error(nb, cell_id)
        if error:
            note = f"its cell raised {error}"
        elif stopped and index_of.get(cell_id, len(nb.cells)) >= (stop_index or 0):
            note = "not reached: " + stopped
        elif cell_id not in index_of:
            note = "its cell was deleted"
        else:
            note = "voclab.check was never called: was its line removed?"
        submission.records[exercise] = {"note": note}
        submission.grades[exercise] = "error"
    return submission


def _grade_safely(path: Path, *args) -> Submission:
    """:func:`_grade_one`, with anything unforeseen (a kernel that never starts...) a note, not the end of the run."""
    try:
        return _grade_one(path, *args)
    except Exception as exc:  # noqa: BLE001 (one submission's failure must not stop the others)
        submission = Submission(path.stem, path)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        submission.notes.append(f"voclab: grading stopped: {type(exc).__name__}: {first}")
        return submission


def _write_reports(submissions: list[Submission], course: dict, out: Path, tier: str) -> GradeReport:
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    exercises = [e for name in course if any(s.notebook == name for s in submissions) for e in course[name]["exercises"]]
    header = ["student", "notebook", *exercises, "passed", "seconds", "notes"]
    rows = []
    for s in submissions:
        done = sum(grade == "passed" for grade in s.grades.values())
        rows.append([s.student, s.notebook, *(s.grades.get(e, "") for e in exercises),
                     f"{done}/{len(s.grades)}" if s.grades else "", f"{s.seconds:.1f}", " | ".join(s.notes)])
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    long_path = out / "grades_long.csv"
    with open(long_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "exercise", "grade", "hidden_inputs"])
        for s in submissions:
            for exercise, grade in s.grades.items():
                hidden = (s.records.get(exercise, {}).get("hidden") or {}).get("status", "")
                writer.writerow([s.student, s.notebook, exercise, grade, hidden])
    lines = ["# Grades", "",
             (f"Tier `{tier}`. passed: public and hidden inputs passed; partial: the public inputs passed, hidden "
              "inputs failed; failed: a public input failed; not done: the stub is still there; error: the check "
              "never reported (see the notes)."), ""]
    # one table per notebook, with its own exercises: a course of several weeks stays readable
    for name in course:
        graded = [s for s in submissions if s.notebook == name]
        if not graded:
            continue
        columns = ["student", *course[name]["exercises"], "passed", "seconds"]
        lines += [f"## {name}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for s in graded:
            done = sum(grade == "passed" for grade in s.grades.values())
            cells = [s.student, *(s.grades.get(e, "") for e in course[name]["exercises"]),
                     f"{done}/{len(s.grades)}", f"{s.seconds:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    ungraded = [s.student for s in submissions if not s.notebook]
    if ungraded:
        lines += ["## Not graded", "", ", ".join(ungraded) + ": see the notes.", ""]
    notes = [(s.student, note) for s in submissions for note in s.notes]
    if notes:
        lines += ["## Notes", ""] + [f"- **{student}**: {note}" for student, note in notes]
    markdown_path = out / "grades.md"
    markdown_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for s in submissions:
        (feedback / f"{s.student}.md").write_text(_feedback(s, course), encoding="utf-8")
    return GradeReport(submissions, csv_path, markdown_path, feedback, long_path)


def _without_label(message: str) -> str:
    from .checks import STATUS_LABELS

    for label in STATUS_LABELS.values():
        if message.startswith(label + " "):
            return message[len(label) + 1:]
    return message


def _feedback(s: Submission, course: dict) -> str:
    lines = [f"# Feedback for {s.student}", ""]
    if s.notebook:
        lines += [f"Notebook: {s.notebook} ({s.path.name}).", ""]
    for note in s.notes:
        lines.append(f"- {note}")
    if s.notes:
        lines.append("")
    for exercise, grade in s.grades.items():
        record = s.records.get(exercise, {})
        lines += [f"## {exercise}: {grade}", ""]
        if "note" in record:
            lines += [record["note"], ""]
            continue
        lines += ["```", _without_label(record["message"]), "```", ""]
        if record["status"] == "failed" and record.get("hint") and "Hint:" not in record["message"]:
            lines += [f"Hint: {record['hint']}", ""]
        hidden = record.get("hidden")
        if hidden:
            if hidden["status"] == "passed":
                lines += [f"Hidden inputs: passed ({hidden['n_cases']}).", ""]
            else:
                first = _without_label(hidden["message"]).splitlines()[0]
                lines += [f"Hidden inputs: {hidden['status']} — {first}",
                          ("(These inputs are not in your notebook: test your function on other sizes and "
                           "edge cases.)"), ""]
                if record.get("hint"):
                    lines += [f"Hint: {record['hint']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def grade(submissions, out_dir, *, notebook: str | None = None, tier: str = "quick",
          timeout: float = DEFAULT_TIMEOUT, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
          course_dir: str | os.PathLike | None = None, jobs: int = 1, progress=None) -> GradeReport:
    """Run every submitted notebook headless, check its exercises, write the report.

    The module docstring says what is checked and reported. Each submission runs in a fresh
    ``python3`` kernel in a temporary folder holding a copy of the notebook, with
    ``VOCLAB_TIER=tier``, ``MPLBACKEND=Agg`` and the grading log set; ``jobs`` of them at a time.

    Notebook: none -- the instructor's side of every exercise notebook (01-08).

    Parameters
    ----------
    submissions : sequence of path
        The submitted ``.ipynb`` files; the student's name is each file's stem.
    out_dir : path
        REPORT_DIR: ``grades.csv``, ``grades.md`` and ``feedback/<student>.md`` are written there.
    notebook : str, optional
        The notebook every submission must be (``"04"`` or ``"04_wavegan"``); by default each
        is identified by its cell ids.
    tier : str
        ``VOCLAB_TIER`` of the runs (``"quick"``: the exercises and their checks are the same in
        every tier, the rest of the notebook does the least work).
    timeout, cell_timeout : float
        Seconds one notebook and one cell may run before the kernel is killed.
    course_dir : path, optional
        The learner notebooks to compare with; default: the course's ``notebooks/``.
    jobs : int
        How many submissions run at once. With more than one, each kernel gets
        ``VOCLAB_THREADS`` = the available CPUs // ``jobs`` (unless you set ``VOCLAB_THREADS``),
        so that the runs do not fight over the cores; a course file changed while several ran
        is reported on each of them. The report keeps the order of ``submissions``.
    progress : callable, optional
        Called with each :class:`Submission` once it is graded (the CLI prints a line), in the
        order they finish.

    Returns
    -------
    GradeReport

    Raises
    ------
    voclab.errors.ConfigError
        For a bad tier or limit, no submissions, or two submissions with the same file stem
        (one student name). A bad *submission* raises nothing: it is a row of the report.

    Examples
    --------
    >>> report = grade(["alice.ipynb", "bob.ipynb"], "report", notebook="01")  # doctest: +SKIP
    >>> report.submissions[0].grades  # doctest: +SKIP
    {'split_stft': 'passed', 'spectral_convergence': 'partial', ...}
    """
    if tier not in TIERS:
        raise ConfigError(f"--tier {tier!r} is not a tier: use one of {', '.join(TIERS)}.")
    if not (timeout > 0 and cell_timeout > 0):
        raise ConfigError("--timeout and --cell-timeout must be positive numbers of seconds.")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ConfigError(f"--jobs {jobs}: give a whole number of submissions to run at once, 1 or more.")
    paths = [Path(p) for p in submissions]
    if not paths:
        raise ConfigError("no submissions: pass the learners' .ipynb files.")
    stems = [p.stem for p in paths]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise ConfigError(f"two submissions are named {', '.join(twice)}: the file stem is the student's name, "
                          "rename one of them.")
    course = course_notebooks(course_dir)
    if notebook is not None:
        _notebook_named(notebook, course)  # a bad --notebook stops here, before anything runs
    from .data import data_dir

    watched = [data_dir(), Path(course_dir) if course_dir is not None else _default_course_dir()]
    threads = None
    if jobs > 1 and not os.environ.get("VOCLAB_THREADS"):
        from .threads import available_cpus

        threads = max(1, available_cpus() // jobs)
    # threads, not processes: each run's work is in its kernel; this process only waits on it
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running = {pool.submit(_grade_safely, path, course, notebook, tier, timeout, cell_timeout, watched, threads): k
                   for k, path in enumerate(paths)}
        graded: list[Submission | None] = [None] * len(paths)
        for done in as_completed(running):
            graded[running[done]] = submission = done.result()
            if progress is not None:
                progress(submission)
    return _write_reports(graded, course, Path(out_dir), tier)
