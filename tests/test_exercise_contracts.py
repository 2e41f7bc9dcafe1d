"""What every exercise of every notebook promises, tested once for all of them.

- the exercises registered for a notebook are exactly the ones its solution notebook checks
  with ``voclab.check("name", ...)``;
- voclab's reference passes its own check, on several inputs;
- each mistake an exercise lists is recognised, with its message.

What differs between exercises (how a stub of a class looks, what a correct solution
written differently is, what the references stand for) stays in ``test_nbNN_checks.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from voclab import checks
from voclab.checks import check_exercise, get_exercise

SOLUTIONS = sorted((Path(__file__).resolve().parents[1] / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"""voclab\.check\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")

checks._load_specs()  # every notebook's spec module
# the course's exercises only: test_checks.py registers toys of its own
NAMES = sorted(name for name, exercise in checks.EXERCISES.items() if exercise.notebook in {p.stem for p in SOLUTIONS})
MISTAKES = [(name, index) for name in NAMES for index in range(len(get_exercise(name).mistakes))]


def checked_in(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {name for cell in cells if cell["cell_type"] == "code" for name in CHECK_CALL.findall("".join(cell["source"]))}


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_registered_exercises_are_the_ones_the_notebook_checks(notebook):
    registered = {name for name, exercise in checks.EXERCISES.items() if exercise.notebook == notebook.stem}
    assert registered == checked_in(notebook)


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_own_check(name):
    result = check_exercise(name, get_exercise(name).reference)
    assert result.status == "passed", result.message
    assert result.n_cases >= 3


@pytest.mark.parametrize("name,index", MISTAKES, ids=[f"{n}-{i}" for n, i in MISTAKES])
def test_each_listed_mistake_is_recognised(name, index):
    wrong, message = get_exercise(name).mistakes[index]
    result = check_exercise(name, wrong)
    assert result.status == "failed"
    assert message in result.message, result.message


def test_every_exercise_lists_at_least_one_mistake():
    assert [name for name in NAMES if not get_exercise(name).mistakes] == []
