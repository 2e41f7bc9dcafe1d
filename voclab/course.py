"""A learner's own working copy of the course: ``voclab course [DIR]``.

The learner notebooks in a checkout's ``notebooks/`` are tracked files. Work in them and
JupyterLab's autosave writes your code and outputs into the clone, so the next ``git pull``
conflicts. ``voclab course`` copies the learner notebooks into a folder of your own (default
``./voclab-course``) and starts JupyterLab there; the checkout stays clean.

Updates never overwrite your work. Run ``voclab course`` again after an update: a notebook
you do not have yet is copied; one you never changed is replaced by its new version; one you
changed gets the new version *beside* it as ``NN_name.new.ipynb`` (with a printed line), once,
for you to compare and move your answers over. What was handed out is recorded in the folder's
``.voclab-course.json`` (the SHA-256 of the shipped version each notebook last got), so a
notebook stays quiet until the course changes it again, however much you have written in it.

The notebooks come from the checkout's ``notebooks/`` (an editable install) or from the
copy a wheel carries as ``voclab/_notebooks`` (``pip install .``), as the clips in
:mod:`voclab.data` do.

Notebook: every notebook; README "Set up and start".
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, DataError
from .files import write_atomic

__all__ = ["DEFAULT_DIR", "RECORD", "CourseCopy", "copy_course", "launch_jupyterlab", "learner_notebooks_dir"]

#: Where ``voclab course`` puts the copy when no folder is named (relative to the current folder).
DEFAULT_DIR = "voclab-course"
#: The file in the course folder that records which shipped version each notebook last got (copied or beside).
RECORD = ".voclab-course.json"
_NEW_SUFFIX = ".new.ipynb"
#: The shipped learner notebooks, ``NN_name.ipynb`` (not a stray ``Untitled.ipynb``).
_PATTERN = "[0-9][0-9]_*.ipynb"


def learner_notebooks_dir() -> Path:
    """Return the folder that holds the shipped learner notebooks.

    That is ``voclab/_notebooks`` in an installed wheel, else the ``notebooks/`` folder of
    the source checkout next to the ``voclab`` package (an editable install) — the same
    rule as :func:`voclab.data.data_dir`.

    Notebook: every notebook (``voclab course`` copies them).

    Returns
    -------
    path : Path
        An absolute path; :func:`copy_course` checks that it holds notebooks.

    Examples
    --------
    >>> learner_notebooks_dir().name  # doctest: +SKIP
    'notebooks'
    """
    packaged = Path(__file__).resolve().parent / "_notebooks"
    if any(packaged.glob(_PATTERN)):
        return packaged
    return Path(__file__).resolve().parent.parent / "notebooks"


@dataclass
class CourseCopy:
    """What :func:`copy_course` did, notebook by notebook (file names, sorted).

    Attributes
    ----------
    folder : Path
        The learner's course folder.
    copied : list of str
        Notebooks the folder did not have, now copied.
    updated : list of str
        Notebooks the learner never changed, replaced by their new shipped version.
    unchanged : list of str
        Notebooks whose shipped version is the one the learner already got (the learner's file untouched).
    beside : list of str
        Notebooks the learner changed that have a new shipped version, written beside theirs as
        ``NN_name.new.ipynb``.
    kept : list of str
        ``NN_name.new.ipynb`` files the learner has edited since voclab wrote them: kept as they
        are, so the newest version was not written (see :meth:`lines`).
    """

    folder: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    beside: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per notebook that changed or needs the learner's attention, then a summary line."""
        out = [f"updated {name} to its new version (you had not changed it)" for name in self.updated]
        out += [f"new version of {name} beside yours: {_new_name(name)} (yours is untouched; compare and "
                "move your answers over, then delete the one you do not keep)" for name in self.beside]
        out += [f"{_new_name(name)} has your edits, so the newest version of {name} was not written: "
                f"rename it, then run voclab course again" for name in self.kept]
        out.append(f"{self.folder}: {len(self.copied)} notebook(s) copied, {len(self.updated)} updated, "
                   f"{len(self.unchanged)} up to date, {len(self.beside)} new version(s) beside yours")
        return out


def _new_name(name: str) -> str:
    """``"01_phase_and_griffin_lim.ipynb"`` -> ``"01_phase_and_griffin_lim.new.ipynb"``."""
    return name[: -len(".ipynb")] + _NEW_SUFFIX


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(folder: Path) -> dict[str, str]:
    """The record's ``{notebook name: SHA-256 of the shipped version it last got}``; empty if there is none."""
    path = folder / RECORD
    if not path.is_file():
        return {}
    fix = (f"delete {path} and run voclab course again (your notebooks are kept; "
           "those that differ from the shipped ones get a .new.ipynb beside them)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid JSON ({err}): {fix}.") from None
    copied = record.get("copied", {}) if isinstance(record, dict) else None
    if not isinstance(copied, dict) or not all(isinstance(v, str) for v in copied.values()):
        raise ConfigError(f"{path} is not a voclab course record: {fix}.")
    return dict(copied)


def copy_course(folder: str | os.PathLike = DEFAULT_DIR, source: str | os.PathLike | None = None) -> CourseCopy:
    """Copy the learner notebooks into ``folder`` without ever overwriting the learner's work.

    The idea: the shipped notebooks are tracked files of the course; the learner's answers
    belong in a folder of their own. The record ``folder/.voclab-course.json`` holds, per
    notebook, the SHA-256 of the shipped version the learner last got. For each shipped
    notebook ``NN_name.ipynb``:

    * not in ``folder`` yet: copied;
    * the shipped version is the recorded one (or the learner's file is byte-identical to
      it): left alone, however much the learner changed it;
    * a new shipped version, and the learner's file is still the recorded version (never
      changed): replaced by the new version, atomically;
    * a new shipped version, and the learner changed the file: the new version is written
      beside it as ``NN_name.new.ipynb`` and recorded, so the next run is quiet until the
      course changes again. An earlier ``.new.ipynb`` is replaced only while it is still the
      recorded version; one the learner edited is kept and reported.

    Notebook: every notebook (README, "Set up and start").

    Parameters
    ----------
    folder : str or path-like
        The learner's course folder (created, with its parents, if missing). Default
        ``./voclab-course``.
    source : str or path-like, optional
        Where the shipped learner notebooks are; default :func:`learner_notebooks_dir`.

    Returns
    -------
    result : CourseCopy
        Which notebooks were copied, updated, left alone, or written beside the learner's;
        ``result.lines()`` says it in words.

    Raises
    ------
    voclab.errors.ConfigError
        If ``folder`` is an existing file or the source folder itself, or the record file is
        damaged (the message says to delete it).
    voclab.errors.DataError
        If the source holds no ``NN_name.ipynb`` notebook.

    Examples
    --------
    >>> result = copy_course("voclab-course")  # doctest: +SKIP
    >>> print("\\n".join(result.lines()))  # doctest: +SKIP
    voclab-course: 8 notebook(s) copied, 0 updated, 0 up to date, 0 new version(s) beside yours
    """
    folder = Path(folder).expanduser()
    source = Path(source).expanduser() if source is not None else learner_notebooks_dir()
    shipped = sorted(p for p in source.glob(_PATTERN) if not p.name.endswith(_NEW_SUFFIX))
    if not shipped:
        raise DataError(f"No learner notebooks in {source}: reinstall voclab (pip install -e . in a checkout of "
                        "the course, or pip install voclab), or run from a checkout whose notebooks/ is intact.")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file: name a folder for your course copy (default ./{DEFAULT_DIR}).")
    if folder.is_dir() and folder.resolve() == source.resolve():
        raise ConfigError(f"{folder} is where the shipped notebooks live: name a folder of your own, "
                          f"e.g. voclab course ~/{DEFAULT_DIR}.")
    folder.mkdir(parents=True, exist_ok=True)
    record = _read_record(folder)
    result = CourseCopy(folder=folder)
    for path in shipped:
        name, data = path.name, path.read_bytes()
        digest, recorded, mine = _sha256(data), record.get(name), folder / name
        if not mine.exists():
            write_atomic(mine, data)
            record[name] = digest
            result.copied.append(name)
            continue
        current = _sha256(mine.read_bytes())
        if digest in (recorded, current):
            record[name] = digest
            result.unchanged.append(name)
            continue
        if current == recorded:  # the learner never changed it: nothing of theirs to lose
            write_atomic(mine, data)
            record[name] = digest
            result.updated.append(name)
            continue
        beside = folder / _new_name(name)
        if beside.exists() and _sha256(beside.read_bytes()) not in (digest, recorded):
            result.kept.append(name)
            continue
        write_atomic(beside, data)
        record[name] = digest
        result.beside.append(name)
    write_atomic(folder / RECORD, (json.dumps({"copied": record}, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return result


def launch_jupyterlab(folder: str | os.PathLike, allow_root: bool = False) -> int:
    """Start JupyterLab in ``folder`` (this Python's ``jupyterlab``) and wait until it stops.

    Notebook: every notebook (``voclab course`` opens them).

    Parameters
    ----------
    folder : str or path-like
        The course folder: JupyterLab's root and working folder, so the notebooks' ``runs/``
        land there too.
    allow_root : bool
        Pass ``--allow-root`` (JupyterLab refuses to start as root without it: a container, a
        lab image).

    Returns
    -------
    returncode : int
        JupyterLab's exit status (0 after a normal shutdown).

    Examples
    --------
    >>> launch_jupyterlab("voclab-course")  # doctest: +SKIP
    0
    """
    folder = Path(folder)
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder.resolve()}"]
    return _wait_ignoring_ctrl_c(command + (["--allow-root"] if allow_root else []), cwd=folder)


def _wait_ignoring_ctrl_c(command: list[str], cwd: Path) -> int:
    """Run ``command`` and wait for it, with Ctrl-C left to the child; return its exit status.

    Ctrl-C reaches every process of the terminal's foreground group. JupyterLab handles it
    itself (it asks to confirm the shutdown), so this process ignores it while waiting
    instead of dying with a ``KeyboardInterrupt`` traceback. The child is started before the
    handler changes, so it does not inherit the ignored signal; the old handler comes back after.
    """
    child = subprocess.Popen(command, cwd=cwd)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
