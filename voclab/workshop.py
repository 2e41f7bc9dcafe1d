"""The 90-minute workshop path: trimmed learner notebooks and the plan that goes with them.

A workshop is not the course cut short: in 90 minutes a participant can read, listen and write a
handful of functions, not train vocoders. The path below takes the core of four notebooks -- the
phase problem and Griffin-Lim (01), dilated convolutions and receptive fields (02), HiFi-GAN's
building blocks and losses (07) and the shoot-out's blind listening test (08) -- in the ``quick``
compute tier, so that no cell keeps anyone waiting.

What the path leaves out is marked on the solution notebooks (the single source), in each cell's
metadata tags, which ``tools/make_learner_notebooks.py`` carries to the learner notebooks:

* :data:`SKIP_TAG` (``workshop-skip``): the cell is left out of the workshop's notebook (a
  section the path skips; nothing kept depends on it);
* :data:`LATER_TAG` (``workshop-later``): an exercise cell that stays but is not done live: the
  participant runs it as it is, its stub makes ``voclab.check`` hand the rest of the notebook
  voclab's reference (the course's "a stuck participant goes on"), and a note above it says so.

:func:`write_workshop` (``voclab workshop -o DIR``) writes the trimmed notebooks of
:data:`WORKSHOP_PATH` in order and a ``README.md`` with the plan: which sections, which
exercises live, later or left out, the tier and the minutes of each stop. The minutes are a plan
of the participant's time (reading, listening, writing); the compute time of each trimmed
notebook is measured by ``tests/test_workshop.py`` against :attr:`Stop.compute_budget_s`.

Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions, 07_hifigan, 08_shootout (the path).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, DataError
from .files import write_atomic

__all__ = [
    "LATER_TAG",
    "SKIP_TAG",
    "WORKSHOP_PATH",
    "WORKSHOP_TIER",
    "Stop",
    "default_notebooks_dir",
    "plan_markdown",
    "stop_plan",
    "trim_notebook",
    "write_workshop",
]

#: Cell tag: the cell is left out of the workshop's trimmed notebook.
SKIP_TAG = "workshop-skip"
#: Cell tag: an exercise kept in the trimmed notebook but not done live (its stub hands on the reference).
LATER_TAG = "workshop-later"
#: The compute tier the workshop runs in (``VOCLAB_TIER``).
WORKSHOP_TIER = "quick"

_CHECK_CALL = re.compile(r"voclab\.check\(\s*[\"']([A-Za-z_]\w*)[\"']")
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*$", re.MULTILINE)
# Headings every notebook ends with, not sections of its story.
_NOT_SECTIONS = ("Questions", "Further reading")


@dataclass(frozen=True)
class Stop:
    """One notebook of the workshop path.

    Parameters
    ----------
    notebook : str
        The notebook's file stem, e.g. ``"01_phase_and_griffin_lim"``.
    minutes : int
        Planned minutes of the participant's time at this stop: reading, listening and the live
        exercises (a plan, not a measurement; the stops add up to 90).
    focus : str
        One line: what the participant takes away from this stop.
    compute_budget_s : float
        The longest the trimmed notebook may take to run top to bottom in the workshop's tier on
        a 2-core CPU, in seconds; ``tests/test_workshop.py`` runs it and holds it to this.
    """

    notebook: str
    minutes: int
    focus: str
    compute_budget_s: float


#: The 90-minute path, in order. Compute budgets: the trimmed notebooks took 7.3, 5.8, 29.6 and
#: 63.0 s (kernel start included) on an otherwise idle 2-core CPU (nbclient, quick tier, 2026-11-30,
#: as tests/test_workshop.py runs them); the budgets leave 1.9-5 times that for a busy CI machine
#: (08's 120 s is the thinnest: CI measured 62-66 s), and none passes the quick tier's 2 minutes.
WORKSHOP_PATH: tuple[Stop, ...] = (
    Stop("01_phase_and_griffin_lim", 30,
         "a magnitude alone does not make a sound: hear zero and random phase, write Griffin-Lim",
         30.0),
    Stop("02_dilated_convolutions", 20,
         "how far back a vocoder looks: causal padding, a dilated stack and its receptive field",
         30.0),
    Stop("07_hifigan", 25,
         "HiFi-GAN's pieces: the multi-receptive-field block, the period fold, the LSGAN losses",
         90.0),
    Stop("08_shootout", 15,
         "judge vocoders by ear: the contestants side by side, the measures, the blind listening test",
         120.0),
)


def default_notebooks_dir() -> Path:
    """The learner notebooks voclab ships: ``voclab/_notebooks`` of a wheel, else the clone's ``notebooks/``.

    Returns
    -------
    path : pathlib.Path
        The folder, e.g. ``/home/ada/voclab/notebooks``.

    Raises
    ------
    voclab.errors.DataError
        If the folder is not there (neither a wheel with its notebooks nor a clone).

    Examples
    --------
    >>> default_notebooks_dir().name
    'notebooks'
    """
    from .course import learner_notebooks_dir

    folder = learner_notebooks_dir()
    if not folder.is_dir():
        raise DataError(
            f"The course's learner notebooks are not at {folder}: voclab is installed without its clone. "
            "Run from a clone (git clone ... && pip install -e .) or pass --notebooks DIR."
        )
    return folder


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell: dict) -> list[str]:
    return [tag for tag in cell.get("metadata", {}).get("tags", []) if isinstance(tag, str)]


def _exercises(cell: dict) -> list[str]:
    """Exercise names a code cell checks (``voclab.check("name", ...)``), in order."""
    return _CHECK_CALL.findall(_source(cell)) if cell.get("cell_type") == "code" else []


def _note_cell(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {"tags": ["workshop-note"]}, "source": text}


def trim_notebook(nb: dict, stop: Stop, position: int = 1) -> dict:
    """Return the workshop version of a learner notebook: skipped cells out, notes in.

    The idea: the single-source solution notebook says, in its cells' tags, what a workshop leaves
    out (:data:`SKIP_TAG`) and which exercises wait for later (:data:`LATER_TAG`); the learner
    notebook carries the tags, and this function applies them. It adds a note at the top (stop
    ``position`` of the path, its minutes, focus and tier) and one above each later exercise.
    Cell sources and ids of the kept cells are unchanged.

    Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions, 07_hifigan, 08_shootout.

    Parameters
    ----------
    nb : dict
        A learner notebook as plain JSON (nbformat 4).
    stop : Stop
        Its stop of the path.
    position : int
        Its place in the path, from 1.

    Returns
    -------
    trimmed : dict
        A new notebook; ``nb`` is not changed.

    Raises
    ------
    voclab.errors.ConfigError
        If a cell carries both tags, or :data:`LATER_TAG` sits on a cell that checks no exercise.

    Examples
    --------
    >>> nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    ...     {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "## 1 · Kept"},
    ...     {"cell_type": "markdown", "id": "b", "metadata": {"tags": ["workshop-skip"]}, "source": "## 2 · Out"}]}
    >>> [cell["id"] for cell in trim_notebook(nb, WORKSHOP_PATH[0])["cells"]]
    ['workshop-intro', 'a']
    """
    trimmed = copy.deepcopy(nb)
    intro = (f"> **Workshop, stop {position} of {len(WORKSHOP_PATH)}: about {stop.minutes} minutes.** "
             f"{stop.focus[0].upper()}{stop.focus[1:]}. Tier `{WORKSHOP_TIER}`. Sections the workshop "
             "skips are left out of this copy (the full notebook has them); exercises marked *later* "
             "are not done live: run their cell as it is and the notebook goes on with voclab's reference.")
    cells = [_note_cell("workshop-intro", intro)]
    for index, cell in enumerate(trimmed["cells"]):
        tags = _tags(cell)
        if SKIP_TAG in tags and LATER_TAG in tags:
            raise ConfigError(f"{stop.notebook}, cell {index}: tagged both {SKIP_TAG!r} and {LATER_TAG!r}; "
                              "keep one (skip leaves the cell out, later keeps the exercise as given).")
        if SKIP_TAG in tags:
            continue
        if LATER_TAG in tags:
            names = _exercises(cell)
            if not names:
                raise ConfigError(f"{stop.notebook}, cell {index}: {LATER_TAG!r} marks exercises, but this "
                                  "cell checks none (no voclab.check call); use it on an exercise cell.")
            cells.append(_note_cell(
                f"workshop-later-{index}",
                f"> **Workshop: {', '.join(f'`{n}`' for n in names)} later.** Run the next cell as it is; "
                "the check says *not done yet* and the notebook goes on with voclab's reference. "
                "Come back to it after the workshop."))
        cells.append(cell)
    trimmed["cells"] = cells
    return trimmed


def stop_plan(nb: dict) -> dict:
    """What a stop covers: sections kept and skipped, exercises live, later and left out.

    Read from the tags of a learner notebook (see :func:`trim_notebook`); a section is a ``##``
    heading of a markdown cell, an exercise a ``voclab.check("name", ...)`` call.

    Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions, 07_hifigan, 08_shootout.

    Parameters
    ----------
    nb : dict
        A learner notebook (untrimmed) as plain JSON.

    Returns
    -------
    plan : dict
        ``{"sections": [...], "skipped_sections": [...], "live": [...], "later": [...],
        "left_out": [...]}``: headings and exercise names in notebook order.

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["workshop-later"]},
    ...                  "source": 'f = voclab.check("f", f)'}]}
    >>> stop_plan(nb)["later"]
    ['f']
    """
    plan = {"sections": [], "skipped_sections": [], "live": [], "later": [], "left_out": []}
    for cell in nb.get("cells", []):
        tags = _tags(cell)
        if cell.get("cell_type") == "markdown":
            for level, title in _HEADING.findall(_source(cell)):
                if level == "##" and title not in _NOT_SECTIONS:
                    plan["skipped_sections" if SKIP_TAG in tags else "sections"].append(title)
        key = "left_out" if SKIP_TAG in tags else "later" if LATER_TAG in tags else "live"
        plan[key].extend(_exercises(cell))
    return plan


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "—"


def plan_markdown(notebooks: dict[str, dict]) -> str:
    """The workshop's README: the plan of every stop of :data:`WORKSHOP_PATH`, as Markdown.

    Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions, 07_hifigan, 08_shootout.

    Parameters
    ----------
    notebooks : dict
        ``{notebook stem: learner notebook as plain JSON}`` for every stop (untrimmed: the skipped
        sections are listed too).

    Returns
    -------
    text : str
        The README, ending in a newline.

    Examples
    --------
    >>> text = plan_markdown({s.notebook: {"cells": []} for s in WORKSHOP_PATH})
    >>> text.splitlines()[0]
    '# The 90-minute voclab workshop'
    """
    total = sum(stop.minutes for stop in WORKSHOP_PATH)
    lines = [
        "# The 90-minute voclab workshop",
        "",
        (f"{len(WORKSHOP_PATH)} notebooks in this order, {total} minutes of your time, compute tier "
        f"`{WORKSHOP_TIER}` (set `VOCLAB_TIER={WORKSHOP_TIER}` before starting JupyterLab, e.g. "
        f"`VOCLAB_TIER={WORKSHOP_TIER} jupyter lab`). Exercises **live** are written during the workshop; "
        "**later** ones stay in the notebook but are run as given (the check hands on voclab's "
        "reference); **left out** ones are in the full notebook only."),
        "",
        "| # | notebook | minutes | compute budget (quick, 2 CPU cores) | live | later | left out |",
        "|---|---|---|---|---|---|---|",
    ]
    plans = {stop.notebook: stop_plan(notebooks[stop.notebook]) for stop in WORKSHOP_PATH}
    for position, stop in enumerate(WORKSHOP_PATH, 1):
        plan = plans[stop.notebook]
        lines.append(f"| {position} | `{stop.notebook}.ipynb` | {stop.minutes} | ≤ {stop.compute_budget_s:.0f} s | "
                     f"{_names(plan['live'])} | {_names(plan['later'])} | {_names(plan['left_out'])} |")
    for position, stop in enumerate(WORKSHOP_PATH, 1):
        plan = plans[stop.notebook]
        lines += ["", f"## {position} · `{stop.notebook}` — {stop.minutes} minutes", "", f"{stop.focus[0].upper()}{stop.focus[1:]}.", ""]
        lines.append("- sections: " + ("; ".join(plan["sections"]) or "—"))
        lines.append("- skipped sections: " + ("; ".join(plan["skipped_sections"]) or "—"))
    lines += ["", ("The full notebooks (`notebooks/` of the course) have every section and exercise; "
              "after the workshop, go on there.")]
    return "\n".join(lines) + "\n"


def _read(path: Path) -> dict:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a readable notebook ({exc}); regenerate the learner notebooks "
                        "with `python tools/make_learner_notebooks.py`.") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise DataError(f"{path} is not an nbformat 4 notebook; regenerate it with "
                        "`python tools/make_learner_notebooks.py`.")
    return nb


def write_workshop(out_dir, notebooks_dir=None, *, force: bool = False) -> list[Path]:
    """Write the workshop: the trimmed notebooks of :data:`WORKSHOP_PATH` and its ``README.md``.

    ``voclab workshop -o DIR`` calls this. The notebooks keep their course names (their numbers
    give the order); the README gives the plan (see :func:`plan_markdown`).

    Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions, 07_hifigan, 08_shootout.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The folder to write into (created if missing).
    notebooks_dir : str or pathlib.Path, optional
        Where the learner notebooks are; default :func:`default_notebooks_dir`.
    force : bool
        Overwrite workshop files already in ``out_dir`` (a participant's edits included).

    Returns
    -------
    written : list of pathlib.Path
        The notebooks in path order, then the README.

    Raises
    ------
    voclab.errors.DataError
        If a notebook of the path is missing or unreadable.
    voclab.errors.ConfigError
        If ``out_dir`` already holds one of the files and ``force`` is False, or a tag is misused.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     names = [path.name for path in write_workshop(folder)]
    >>> names[-1]
    'README.md'
    """
    source = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    out = Path(out_dir)
    if out.resolve() == source.resolve():
        raise ConfigError(f"{out} is the folder of the learner notebooks the workshop is cut from: the trimmed "
                          "notebooks would replace them. Choose another folder, e.g. -o workshop.")
    notebooks = {}
    for stop in WORKSHOP_PATH:
        path = source / f"{stop.notebook}.ipynb"
        if not path.is_file():
            raise DataError(f"{path} is missing: the workshop needs the learner notebook {stop.notebook}. "
                            "Pass --notebooks DIR with the course's learner notebooks.")
        notebooks[stop.notebook] = _read(path)
    targets = [out / f"{stop.notebook}.ipynb" for stop in WORKSHOP_PATH] + [out / "README.md"]
    existing = [path.name for path in targets if path.exists()]
    if existing and not force:
        raise ConfigError(f"{out} already holds {', '.join(existing)}; nothing was written, so no work is "
                          "lost. Choose another folder, or pass --force to overwrite them.")
    trimmed = [trim_notebook(notebooks[stop.notebook], stop, position)
               for position, stop in enumerate(WORKSHOP_PATH, 1)]
    out.mkdir(parents=True, exist_ok=True)
    for path, nb in zip(targets, trimmed):
        write_atomic(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    write_atomic(targets[-1], plan_markdown(notebooks))
    return targets
