"""Export the course to the grading tools universities run: ``voclab export nbgrader|otter``.

The solution notebooks ``solutions/NN_name.ipynb`` stay the single source. Each exercise of
the course is a code cell with the solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (nbgrader's own markers) that ends with
``name = voclab.check("name", name)``. The export turns each notebook into the format a
grading tool reads, with voclab's check of every exercise as its autograder test:

* **nbgrader** (:func:`export_nbgrader`): a course folder ``DIR/nbgrader_config.py`` +
  ``DIR/source/<notebook>/<notebook>.ipynb`` (one assignment per notebook). The exercise cell
  becomes a *solution cell* (``metadata.nbgrader.solution``), and after it comes one locked
  *autograder test cell* per exercise (``grade: true``, ``points``) that calls
  :func:`assert_passed` on the public inputs and, inside nbgrader's ``### BEGIN HIDDEN TESTS``
  block, on the hidden ones; the cell's points need both. ``nbgrader_config.py`` sets
  ``VOCLAB_TIER=quick`` unless you set it. ``nbgrader generate_assignment`` replaces each solution block by
  the stub of ``nbgrader_config.py`` (``raise NotImplementedError("Exercise: your code
  here")``, which ``voclab.check`` reads as "not done yet"); ``nbgrader autograde`` runs the
  submission and gives each test cell its points when it does not raise.
* **otter-grader** (:func:`export_otter`): ``DIR/<notebook>/<notebook>.ipynb`` in the
  otter-assign format -- a raw ``# ASSIGNMENT CONFIG`` cell, then per exercise a question
  (raw ``# BEGIN QUESTION`` with its name and points, a prompt, the exercise cell between
  raw ``# BEGIN SOLUTION`` / ``# END SOLUTION`` cells, a public test cell and a ``# HIDDEN``
  one (the hidden inputs; otter gives each half the question's points) between
  ``# BEGIN TESTS`` / ``# END TESTS``, ``# END QUESTION``). Inside the cell the solution block
  is fenced for otter (``# BEGIN SOLUTION NO PROMPT`` ... ``# END SOLUTION``) and followed by
  the learner's stub as an otter prompt (a triple-quoted string between ``# BEGIN PROMPT`` and
  ``# END PROMPT``), so
  ``otter assign`` gives learners the same stub line as ``notebooks/``. A cell with two
  exercises (notebooks 04 and 05) gives the second exercise a question of its own with a
  prompt and its tests only. Grade with ``VOCLAB_TIER=quick otter run``, which runs the
  autograder in the instructor's environment, where voclab is installed; ``otter grade``
  builds a Docker image from the autograder zip, whose ``environment.yml`` holds otter's
  packages, not voclab or torch: add them to the assignment's ``requirements`` first.

Both exports leave out what the learner notebooks leave out (cells tagged ``solution-only``;
the answers of the "Questions" between ``<!-- BEGIN SOLUTION -->`` / ``<!-- END SOLUTION -->``
become ``*(Your answer here.)*``), using the very transformation of
``tools/make_learner_notebooks.py``: the answer keys stay in ``solutions/``.

A test passes when the learner's own function (not the reference ``voclab.check`` hands back
when the exercise is not done or failed) passes voclab's check again at grading time, so a
stub scores zero and a correct answer full marks; the failure message is the check's verdict.

Notebook: every exercise notebook (01-08); the instructor's side of them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import ConfigError
from .files import write_atomic

__all__ = [
    "EXERCISE_CHECK",
    "NBGRADER_CODE_STUB",
    "ExerciseCell",
    "assert_passed",
    "default_solutions_dir",
    "exercise_cells",
    "export_nbgrader",
    "export_otter",
    "nbgrader_notebook",
    "otter_notebook",
]

#: The last line of every exercise cell: ``var = voclab.check("name", fn)``.
EXERCISE_CHECK = re.compile(
    r"""^(?P<var>\w+)[ \t]*=[ \t]*voclab\.check\([ \t]*["'](?P<name>\w+)["'][ \t]*,[ \t]*(?P<fn>\w+)""",
    re.MULTILINE,
)

#: What ``nbgrader generate_assignment`` puts in place of a solution block (one stub for every
#: exercise: nbgrader has no per-cell stub). ``voclab.check`` reads it as "not done yet".
NBGRADER_CODE_STUB = 'raise NotImplementedError("Exercise: your code here")'

#: nbgrader's cell-metadata schema version (nbgrader 0.9).
NBGRADER_SCHEMA_VERSION = 3

_SOLUTION_ONLY_TAG = "solution-only"
_LEARNER_TOOL = Path("tools") / "make_learner_notebooks.py"


@dataclass(frozen=True)
class ExerciseCell:
    """An exercise cell of a solution notebook.

    Attributes
    ----------
    index : int
        Its position among the notebook's cells (0-based, as in the JSON file).
    exercises : tuple of (str, str)
        ``(exercise name, variable the check's result is bound to)``, in the cell's order;
        two for a cell that checks two functions.
    """

    index: int
    exercises: tuple[tuple[str, str], ...]


def default_solutions_dir() -> Path:
    """The checkout's ``solutions/`` folder (next to the ``voclab`` package of an editable install).

    Returns
    -------
    Path
        ``<checkout>/solutions``; it may not exist (a wheel install carries no solutions).

    Examples
    --------
    >>> default_solutions_dir().name
    'solutions'
    """
    return Path(__file__).resolve().parents[1] / "solutions"


def _learner_tool() -> ModuleType:
    """Load ``tools/make_learner_notebooks.py`` of the checkout voclab is installed from (never a file
    beside a folder the user named: ``--solutions`` may point anywhere)."""
    path = default_solutions_dir().parent / _LEARNER_TOOL
    if not path.is_file():
        raise ConfigError(f"{path} not found: the export uses the learner-notebook transformation of "
                          "the course checkout; run it from a clone of the course (pip install -e .).")
    name = "voclab_make_learner_notebooks"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(loaded.__file__).resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def exercise_cells(nb: dict) -> list[ExerciseCell]:
    """Find the exercise cells of a solution notebook: code cells with a solution block and a check.

    Parameters
    ----------
    nb : dict
        A solution notebook as plain JSON (nbformat 4), sources as strings or lists of lines.

    Returns
    -------
    list of ExerciseCell
        In notebook order.

    Raises
    ------
    ConfigError
        When a cell has a ``### BEGIN SOLUTION`` block but no ``voclab.check`` line: it could
        not be graded (add the check line, or move the block out of the exercise).

    Examples
    --------
    >>> cell = {"cell_type": "code", "metadata": {}, "source": "def f(x):\\n    ### BEGIN SOLUTION\\n"
    ...         "    return x\\n    ### END SOLUTION\\n\\n\\nf = voclab.check(\\"f\\", f)\\n"}
    >>> exercise_cells({"cells": [cell]})
    [ExerciseCell(index=0, exercises=(('f', 'f'),))]
    """
    found = []
    for index, cell in enumerate(nb["cells"]):
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") != "code" or "### BEGIN SOLUTION" not in source:
            continue
        checks = tuple((m.group("name"), m.group("var")) for m in EXERCISE_CHECK.finditer(source))
        if not checks:
            raise ConfigError(f"cell {index} has a solution block but no `name = voclab.check(\"name\", name)` "
                              "line: the export grades an exercise through its check; add the line.")
        found.append(ExerciseCell(index, checks))
    return found


def assert_passed(name: str, value: Callable, *, hidden: bool = False) -> None:
    """Fail (``AssertionError``) unless ``value`` is the learner's own ``name`` and passes its check.

    This is the autograder test of every exported exercise. ``voclab.check`` hands back
    voclab's reference when the learner's function is not done or fails, so a test that only
    ran the check again on the variable would pass every stub; this one first refuses the
    reference (``ReferenceFunction``, or the reference class of a module exercise), then runs
    :func:`voclab.checks.check_exercise` on the learner's function again, since the learner
    may have removed the check line or redefined the function after it. With ``hidden=True``
    it checks the exercise's hidden inputs instead (``Exercise.hidden_cases``, the inputs
    ``voclab grade`` adds), so passing the public checks is not the whole grade: the exports
    put that call where learners do not see it (nbgrader's hidden-test block, otter's hidden
    test).

    Notebook: every exercise notebook (01-08), in the exported nbgrader and otter notebooks.

    Parameters
    ----------
    name : str
        The exercise name, e.g. ``"causal_pad"``.
    value : callable
        What the notebook's variable holds after the exercise cell.
    hidden : bool
        Check the hidden inputs rather than the public ones.

    Raises
    ------
    AssertionError
        With the check's verdict (``not done``, or what is wrong and on which input).
    ConfigError
        For an unknown exercise name.

    Examples
    --------
    >>> from voclab.checks import get_exercise
    >>> assert_passed("receptive_field", get_exercise("receptive_field").reference)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: receptive_field: not passed -- the notebook holds voclab's reference ...
    """
    from .checks import ReferenceFunction, check_exercise, get_exercise

    exercise = get_exercise(name)
    if isinstance(value, ReferenceFunction) or value is exercise.reference:
        raise AssertionError(f"{name}: not passed -- the notebook holds voclab's reference "
                             f"({exercise.reference_name}), which voclab.check returns when your "
                             f"{name} is not done yet or fails its check; run the exercise cell for its verdict.")
    if not hidden:
        result = check_exercise(name, value)
        assert result.status == "passed", f"{name}: {result.status} -- {result.message}"
    elif exercise.hidden_cases is not None:
        result = check_exercise(name, value, hidden=True)
        assert result.status == "passed", f"{name}: hidden inputs {result.status} -- {result.message}"


# --------------------------------------------------------------------------------------
# the shared part: learner-side text, cell builders
# --------------------------------------------------------------------------------------


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else (source or "")


def _tags(cell: dict) -> list[str]:
    return [t for t in cell.get("metadata", {}).get("tags", []) if isinstance(t, str)]


def _code(source: str, metadata: dict | None = None) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": metadata or {}, "outputs": [],
            "source": source}


def _markdown(source: str, metadata: dict | None = None) -> dict:
    return {"cell_type": "markdown", "metadata": metadata or {}, "source": source}


def _raw(source: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": source}


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def _test_source(name: str, variable: str, notebook: str, points: float, tool: str) -> str:
    """The public test of an exercise; nbgrader's cell carries the hidden test in its hidden-test block."""
    # otter marks a test hidden when its first line is a comment that contains the word "hidden":
    # this comment must never say it
    source = (f"# voclab autograder test ({tool}): exercise {name} of {notebook}, {_points(points)}\n"
              "import voclab.export\n"
              f"voclab.export.assert_passed({name!r}, {variable})\n")
    if tool == "nbgrader":  # generate_assignment removes the block; autograde puts it back
        source += (f"### BEGIN HIDDEN TESTS\nvoclab.export.assert_passed({name!r}, {variable}, hidden=True)\n"
                   "### END HIDDEN TESTS\n")
    return source


def _otter_hidden_test(name: str, variable: str) -> str:
    """otter's hidden test of an exercise: its first line marks it hidden, so ``otter assign`` keeps it
    out of the learner's copy and the autograder runs it."""
    return (f"# HIDDEN\n# voclab autograder test: the hidden inputs of {name}\n"
            "import voclab.export\n"
            f"voclab.export.assert_passed({name!r}, {variable}, hidden=True)\n")


def _prepared(nb: dict, notebook: str, tool: ModuleType) -> tuple[list[dict], dict[int, ExerciseCell]]:
    """The solution notebook's cells, cleaned, without ``solution-only`` cells and with the
    Questions' answers replaced (keys: the *original* index of each exercise cell)."""
    clean = tool.clean_notebook(nb, notebook)
    by_index = {cell.index: cell for cell in exercise_cells(clean)}
    cells = []
    for index, cell in enumerate(clean["cells"]):
        if _SOLUTION_ONLY_TAG in _tags(cell):
            continue
        if cell["cell_type"] != "code":
            cell["source"] = tool.transform_markdown(cell["source"], notebook, index)
        cell["_index"] = index
        cells.append(cell)
    return cells, by_index


def _finish(nb: dict, cells: list[dict], notebook: str, tool: ModuleType) -> dict:
    out = copy.deepcopy(nb)
    for position, cell in enumerate(cells):
        cell.pop("_index", None)
        cell.setdefault("id", tool.cell_id(f"{notebook}-export", position))
    out["cells"] = cells
    out["nbformat"], out["nbformat_minor"] = 4, 5
    out.setdefault("metadata", {}).pop("widgets", None)
    return out


def _notebooks(solutions_dir: Path | str | None, only: Sequence[str] | None) -> list[Path]:
    solutions_dir = Path(solutions_dir) if solutions_dir is not None else default_solutions_dir()
    paths = sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise ConfigError(f"no solution notebooks (NN_name.ipynb) in {solutions_dir}: pass --solutions DIR, "
                          "the course checkout's solutions/ folder.")
    if only:
        wanted = {str(n).zfill(2) if str(n).isdigit() else str(n) for n in only}
        chosen = [p for p in paths if p.stem[:2] in wanted or p.stem in wanted]
        missing = sorted(wanted - {p.stem[:2] for p in chosen} - {p.stem for p in chosen})
        if missing:
            raise ConfigError(f"no solution notebook {', '.join(missing)} in {solutions_dir} "
                              f"(there are {', '.join(p.stem for p in paths)}).")
        paths = chosen
    return paths


def _write(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def _refuse_to_overwrite(targets: list[Path], force: bool) -> None:
    """An instructor edits the exported files (points, config): never replace them unasked."""
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''} already exist(s); "
                          "nothing was written, so no edit of yours is lost. Export into another folder, or "
                          "pass --force to overwrite them.")


def _check_points(points: float) -> None:
    if not isinstance(points, (int, float)) or isinstance(points, bool) or not (points > 0 and math.isfinite(points)):
        raise ConfigError(f"points per exercise must be a positive number, got {points!r}.")


# --------------------------------------------------------------------------------------
# nbgrader
# --------------------------------------------------------------------------------------

NBGRADER_CONFIG = '''\
"""nbgrader configuration of the voclab course (written by `voclab export nbgrader`)."""

c = get_config()  # noqa: F821 (nbgrader defines it)

import os

c.CourseDirectory.course_id = "voclab"
# the exercises and their checks are the same in every tier; the quick tier runs the rest of each
# notebook in at most 2 minutes instead of up to 11 (set VOCLAB_TIER yourself to grade another)
os.environ.setdefault("VOCLAB_TIER", "quick")
# the solution blocks become voclab's "not done yet" stub, so voclab.check says so
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# a notebook may train a small model for minutes on a CPU; a cell may take that long
c.ExecutePreprocessor.timeout = {timeout}
'''


def nbgrader_notebook(nb: dict, notebook: str, *, points: float = 1, tool: ModuleType | None = None) -> dict:
    """One solution notebook in nbgrader's source format.

    Each exercise cell becomes an nbgrader *solution* cell (``grade_id`` ``solution-<names>``,
    editable), followed by one locked *autograder test* cell per exercise (``grade_id``
    ``test-<name>``, ``points``) that runs :func:`assert_passed` on the public inputs and, in
    its hidden-test block, on the hidden ones. Other cells keep their
    source; ``solution-only`` cells are dropped and the Questions' answers cleared, as in
    the learner notebook.

    Notebook: every exercise notebook (01-08).

    Parameters
    ----------
    nb : dict
        The solution notebook as plain JSON (nbformat 4).
    notebook : str
        Its name, e.g. ``"02_dilated_convolutions"`` (messages and cell ids).
    points : float
        Points of each exercise's test cell.
    tool : module, optional
        ``tools/make_learner_notebooks.py`` loaded (see :func:`export_nbgrader`); by default
        the checkout's.

    Returns
    -------
    dict
        The nbgrader source notebook (nbformat 4.5).

    Examples
    --------
    >>> import json
    >>> nb = json.load(open(default_solutions_dir() / "02_dilated_convolutions.ipynb"))
    >>> out = nbgrader_notebook(nb, "02_dilated_convolutions")
    >>> [c["metadata"]["nbgrader"]["grade_id"] for c in out["cells"] if "nbgrader" in c["metadata"]][:2]
    ['solution-causal_pad', 'test-causal_pad']
    """
    _check_points(points)
    tool = tool or _learner_tool()
    cells, exercises = _prepared(nb, notebook, tool)
    out = []
    for cell in cells:
        found = exercises.get(cell["_index"]) if cell["cell_type"] == "code" else None
        if found is None:
            out.append(cell)
            continue
        names = [name for name, _ in found.exercises]
        cell["metadata"]["nbgrader"] = {
            "grade": False, "grade_id": "solution-" + "-".join(names), "locked": False,
            "schema_version": NBGRADER_SCHEMA_VERSION, "solution": True, "task": False,
        }
        out.append(cell)
        for name, variable in found.exercises:
            out.append(_code(_test_source(name, variable, notebook, points, "nbgrader"), {"nbgrader": {
                "grade": True, "grade_id": f"test-{name}", "locked": True, "points": points,
                "schema_version": NBGRADER_SCHEMA_VERSION, "solution": False, "task": False,
            }}))
    return _finish(nb, out, notebook, tool)


def export_nbgrader(out_dir: Path | str, *, solutions_dir: Path | str | None = None,
                    notebooks: Sequence[str] | None = None, points: float = 1,
                    cell_timeout: int = 600, force: bool = False) -> list[Path]:
    """Write the course as an nbgrader course folder: ``voclab export nbgrader -o DIR``.

    Layout: ``DIR/nbgrader_config.py`` and ``DIR/source/<notebook>/<notebook>.ipynb``, one
    assignment per notebook (see :func:`nbgrader_notebook`). Then, in ``DIR``::

        nbgrader generate_assignment 02_dilated_convolutions   # release/ : the learners' copy
        nbgrader autograde 02_dilated_convolutions             # submitted/<student>/...

    Notebook: every exercise notebook (01-08).

    Parameters
    ----------
    out_dir : path
        The course folder (created).
    solutions_dir : path, optional
        The solution notebooks; by default the checkout's ``solutions/``.
    notebooks : sequence of str, optional
        Only these notebooks, by number (``"02"``) or name; by default all.
    points : float
        Points per exercise.
    cell_timeout : int
        Seconds a cell may run when nbgrader executes a submission
        (``ExecutePreprocessor.timeout``).
    force : bool
        Overwrite ``nbgrader_config.py`` and the source notebooks when they exist; without it
        an existing one is a ConfigError and nothing is written.

    Returns
    -------
    list of Path
        The files written, ``nbgrader_config.py`` first.

    Raises
    ------
    ConfigError
        No solution notebooks, an unknown notebook, points not positive, an exercise cell
        without its check line, or a file that exists without ``force``.

    Examples
    --------
    >>> import tempfile
    >>> files = export_nbgrader(tempfile.mkdtemp(), notebooks=["02"])
    >>> [p.name for p in files]
    ['nbgrader_config.py', '02_dilated_convolutions.ipynb']
    """
    _check_points(points)
    paths = _notebooks(solutions_dir, notebooks)
    tool = _learner_tool()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "nbgrader_config.py"
    targets = [out_dir / "source" / path.stem / path.name for path in paths]
    _refuse_to_overwrite([config, *targets], force)
    notebooks = [nbgrader_notebook(tool.read_notebook(path), path.stem, points=points, tool=tool) for path in paths]
    write_atomic(config, NBGRADER_CONFIG.format(stub=NBGRADER_CODE_STUB, timeout=int(cell_timeout)))
    for target, nb in zip(targets, notebooks):
        _write(target, nb)
    return [config, *targets]


# --------------------------------------------------------------------------------------
# otter-grader
# --------------------------------------------------------------------------------------


def _otter_solution(source: str, notebook: str, index: int, tool: ModuleType) -> str:
    """Fence each ``### BEGIN SOLUTION`` block for otter, with the learner's stub as its prompt."""
    lines = source.splitlines(keepends=True)
    blocks = tool.find_code_blocks(lines, notebook, index)
    out, position = [], 0
    for block in blocks:
        out.extend(lines[position:block.begin])
        name = tool.enclosing_def(lines, block.begin, block.indent) or tool.DEFAULT_NAME
        indent = block.indent
        out.append(f"{indent}# BEGIN SOLUTION NO PROMPT\n")
        out.extend(lines[block.begin + 1:block.end])
        out.append(f"{indent}# END SOLUTION\n")
        out.append(f'{indent}""" # BEGIN PROMPT\n')
        out.append(indent + tool.STUB.format(name=name) + "\n")
        out.append(f'{indent}""" # END PROMPT\n')
        position = block.end + 1
    out.extend(lines[position:])
    return "".join(out)


def _otter_config(notebook: str) -> str:
    return (f"# ASSIGNMENT CONFIG\n"
            f"name: {notebook}\n"
            "# executing the solutions at assign time needs voclab and the notebook's run time\n"
            "run_tests: false\n"
            "export_cell: false\n"
            "check_all_cell: false\n"
            "generate: true\n"
            "tests:\n"
            "  files: true\n")


def otter_notebook(nb: dict, notebook: str, *, points: float = 1, tool: ModuleType | None = None) -> dict:
    """One solution notebook in otter-assign's format (otter-grader 7's; checked with 7.0.0).

    A raw ``# ASSIGNMENT CONFIG`` cell comes first (``run_tests: false``, no export cell,
    ``generate: true`` for the autograder zip). Each exercise is a question named after it
    (``points``): a raw ``# BEGIN QUESTION`` cell, a markdown prompt, the exercise cell between
    ``# BEGIN SOLUTION`` / ``# END SOLUTION`` raw cells (see :func:`_otter_solution`), two test
    cells that run :func:`assert_passed` -- the public inputs, and the hidden ones in a ``# HIDDEN``
    test that ``otter assign`` keeps out of the learner's copy -- between ``# BEGIN TESTS`` /
    ``# END TESTS``, and
    ``# END QUESTION``. The second exercise of a two-exercise cell gets a question with its
    prompt and test only.

    Notebook: every exercise notebook (01-08).

    Parameters
    ----------
    nb : dict
        The solution notebook as plain JSON (nbformat 4).
    notebook : str
        Its name, e.g. ``"02_dilated_convolutions"``.
    points : float
        Points of each question.
    tool : module, optional
        ``tools/make_learner_notebooks.py`` loaded; by default the checkout's.

    Returns
    -------
    dict
        The otter master notebook (nbformat 4.5).

    Examples
    --------
    >>> import json
    >>> nb = json.load(open(default_solutions_dir() / "02_dilated_convolutions.ipynb"))
    >>> out = otter_notebook(nb, "02_dilated_convolutions")
    >>> out["cells"][0]["source"].splitlines()[:2]
    ['# ASSIGNMENT CONFIG', 'name: 02_dilated_convolutions']
    """
    _check_points(points)
    tool = tool or _learner_tool()
    cells, exercises = _prepared(nb, notebook, tool)
    out = [_raw(_otter_config(notebook))]
    for cell in cells:
        found = exercises.get(cell["_index"]) if cell["cell_type"] == "code" else None
        if found is None:
            out.append(cell)
            continue
        for position, (name, variable) in enumerate(found.exercises):
            out.append(_raw(f"# BEGIN QUESTION\nname: {name}\npoints: {points:g}\n"))
            if position == 0:
                out.append(_markdown(f"**Exercise `{name}`** ({_points(points)}). Write it in the cell "
                                     f"below; the `voclab.check` line at its end says where it stands."))
                out.append(_raw("# BEGIN SOLUTION"))
                cell["source"] = _otter_solution(cell["source"], notebook, cell["_index"], tool)
                out.append(cell)
                out.append(_raw("# END SOLUTION"))
            else:
                out.append(_markdown(f"**Exercise `{name}`** ({_points(points)}) is in the cell above, "
                                     f"with `{found.exercises[0][0]}`."))
            out.append(_raw("# BEGIN TESTS"))
            out.append(_code(_test_source(name, variable, notebook, points, "otter")))
            out.append(_code(_otter_hidden_test(name, variable)))
            out.append(_raw("# END TESTS"))
            out.append(_raw("# END QUESTION"))
    return _finish(nb, out, notebook, tool)


def export_otter(out_dir: Path | str, *, solutions_dir: Path | str | None = None,
                 notebooks: Sequence[str] | None = None, points: float = 1, force: bool = False) -> list[Path]:
    """Write the course as otter-assign master notebooks: ``voclab export otter -o DIR``.

    Layout: ``DIR/<notebook>/<notebook>.ipynb`` (see :func:`otter_notebook`). Then::

        cd DIR/02_dilated_convolutions
        otter assign 02_dilated_convolutions.ipynb dist     # dist/student, dist/autograder (zip)
        otter run -a dist/autograder/*.zip SUBMISSION.ipynb  # grade one, without Docker
        otter grade -a dist/autograder/*.zip SUBMISSIONS/     # grade many, in Docker

    Notebook: every exercise notebook (01-08).

    Parameters
    ----------
    out_dir : path
        Where the notebooks go (created).
    solutions_dir : path, optional
        The solution notebooks; by default the checkout's ``solutions/``.
    notebooks : sequence of str, optional
        Only these notebooks, by number (``"02"``) or name; by default all.
    points : float
        Points per exercise (question).
    force : bool
        Overwrite master notebooks that exist; without it an existing one is a ConfigError and
        nothing is written.

    Returns
    -------
    list of Path
        The notebooks written.

    Raises
    ------
    ConfigError
        No solution notebooks, an unknown notebook, points not positive, an exercise cell
        without its check line, or a file that exists without ``force``.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in export_otter(tempfile.mkdtemp(), notebooks=["02"])]
    ['02_dilated_convolutions.ipynb']
    """
    _check_points(points)
    paths = _notebooks(solutions_dir, notebooks)
    tool = _learner_tool()
    targets = [Path(out_dir) / path.stem / path.name for path in paths]
    _refuse_to_overwrite(targets, force)
    notebooks = [otter_notebook(tool.read_notebook(path), path.stem, points=points, tool=tool) for path in paths]
    for target, nb in zip(targets, notebooks):
        _write(target, nb)
    return targets
