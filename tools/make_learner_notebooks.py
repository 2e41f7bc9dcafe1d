#!/usr/bin/env python
"""Generate the learner notebooks from the solution notebooks (one source of truth).

The solution notebooks ``solutions/NN_name.ipynb`` are the only notebooks anyone edits.
This tool writes ``notebooks/NN_name.ipynb`` from each of them:

* In code cells, every block between the nbgrader markers ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` (marker lines included, which may be indented) becomes one stub
  line at the marker's indentation::

      raise NotImplementedError("Exercise griffin_lim: your code here")

  The name is the nearest ``def`` enclosing the block in that cell, with its class in
  front for a method (``Exercise ConditionUpsampler.forward``: the class is what the
  learner checks, and ``forward`` alone names every module); without a ``def``, the
  enclosing class, else the cell's exercise tag (``exercise:NAME`` in the cell's tags, or
  ``metadata.exercise``), else ``this exercise``. ``voclab.check`` recognises this message
  (and only this one) as "not done yet".
* In markdown (and raw) cells, ``<!-- BEGIN SOLUTION --> ... <!-- END SOLUTION -->``
  becomes ``*(Your answer here.)*``.
* Cells tagged ``solution-only`` are dropped.
* Outputs, execution counts, execution timings and saved widget state are cleared.
* A "Run on Colab" install cell (id ``colab-install``) goes before the first code cell that
  imports voclab. On Colab (``google.colab`` imported, or a ``COLAB_*`` variable set) it runs
  ``pip install "voclab[pretrained] @ COLAB_INSTALL_URL"``, which keeps Colab's own CUDA build
  of PyTorch (it satisfies voclab's range, so pip leaves it); anywhere else it does nothing.
  The solution notebooks never carry it.

The output is deterministic: the same solution notebook always gives the byte-identical
learner notebook (nbformat 4.5, JSON with ``indent=1`` and sorted keys, a trailing newline,
cell ids kept from the solution or derived from the notebook name and cell index).

Usage::

    python tools/make_learner_notebooks.py           # (re)write every notebooks/NN_name.ipynb
    python tools/make_learner_notebooks.py --check   # exit 1 if anything is stale, leaks or has outputs
    python tools/make_learner_notebooks.py --strip   # clear outputs in solutions/ in place

``--check`` is what CI runs (and ``tests/test_learner_notebooks.py``): it fails when a
committed learner notebook differs from what would be generated (naming the notebook and
the cell; a missing or stale Colab cell included), when a learner notebook has no solution
source, when a solution line leaks into a learner notebook, when a solution notebook carries
the Colab cell, or when any committed notebook carries outputs or execution counts.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import io
import json
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS_DIR = "solutions"
LEARNER_DIR = "notebooks"

STUB = 'raise NotImplementedError("Exercise {name}: your code here")'
ANSWER = "*(Your answer here.)*"
SOLUTION_ONLY_TAG = "solution-only"
DEFAULT_NAME = "this exercise"
#: Where the Colab cell installs voclab from (pip's "name @ URL" form): the course's public
#: repository. Set it here when the course is published, then regenerate the learner notebooks.
COLAB_INSTALL_URL = "git+https://github.com/OWNER/voclab"
COLAB_CELL_ID = "colab-install"
COLAB_CELL = '''\
# Run on Colab: this cell installs voclab there (Colab's own PyTorch is kept).
# On your own install it does nothing.
import os
import sys

if "google.colab" in sys.modules or any(name.startswith("COLAB_") for name in os.environ):
    import importlib
    import subprocess

    REQUIREMENT = "voclab[pretrained] @ {url}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REQUIREMENT], check=True)
    importlib.invalidate_caches()  # so that `import voclab` below finds the new package
'''
_IMPORTS_VOCLAB = re.compile(r"^[ \t]*(import|from)[ \t]+voclab\b", re.MULTILINE)
#: Solution lines shorter than this (after stripping) are too generic to count as a leak.
MIN_LEAK_LEN = 12

_BEGIN_CODE = re.compile(r"^([ \t]*)#+[ \t]*BEGIN SOLUTION[ \t]*$")
_END_CODE = re.compile(r"^([ \t]*)#+[ \t]*END SOLUTION[ \t]*$")
_MD_MARKER = re.compile(r"<!--\s*(BEGIN|END) SOLUTION\s*-->")
_ANY_MARKER = re.compile(r"(BEGIN|END) SOLUTION")
_MAGIC = re.compile(r"^[ \t]*[%!]|\?[ \t]*$")
_DEF_LINE = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)")
_EXERCISE_TAG = re.compile(r"^exercise[:=](.+)$")
# Cell metadata that only records a run, never content.
_TRANSIENT_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
_TRANSIENT_NB_METADATA = ("widgets",)


class NotebookError(Exception):
    """A solution notebook cannot be turned into a learner notebook (e.g. an unmatched marker).

    The message names the notebook and the cell index (0-based, as in the JSON file).
    """

    def __init__(self, notebook: str, cell: int | None, message: str):
        self.notebook = notebook
        self.cell = cell
        where = notebook if cell is None else f"{notebook}, cell {cell}"
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------------------
# reading and writing notebooks
# --------------------------------------------------------------------------------------


def read_notebook(path: Path) -> dict:
    """Read a notebook file as plain JSON (nbformat 4 required).

    Plain JSON rather than ``nbformat.read`` so that nothing (like a random cell id) is
    added on reading: the transformation must be deterministic.
    """
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NotebookError(path.name, None, f"not valid JSON ({exc})") from None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise NotebookError(path.name, None, "not an nbformat 4 notebook")
    return nb


def _join(source) -> str:
    return "".join(source) if isinstance(source, list) else (source or "")


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _multiline_fields(nb: dict) -> dict:
    """Split multi-line strings into lists of lines, as nbformat writes them."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell["source"] = _split(_join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _split(_join(out["text"]))
            for key, value in (out.get("data") or {}).items():
                if isinstance(value, (str, list)) and not key.endswith("json"):
                    out["data"][key] = _split(_join(value))
    return nb


def dumps_notebook(nb: dict) -> str:
    """Serialise a notebook canonically: sorted keys, ``indent=1``, lines as lists, final newline."""
    text = json.dumps(
        _multiline_fields(nb), indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False
    )
    return text + "\n"


def write_notebook(path: Path, nb: dict) -> bool:
    """Write ``nb`` canonically to ``path``; return True if the file changed."""
    path = Path(path)
    text = dumps_notebook(nb)
    if path.exists() and path.read_bytes() == text.encode("utf-8"):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return True


def cell_id(notebook: str, index: int) -> str:
    """A stable id for a cell that has none: derived from the notebook name and cell index."""
    return hashlib.sha1(f"{notebook}:{index}".encode()).hexdigest()[:12]


def clean_notebook(nb: dict, notebook: str) -> dict:
    """Return a copy of ``nb`` without outputs, execution counts, timings or widget state.

    Cells without an id get a stable one (see :func:`cell_id`), and the notebook is
    declared nbformat 4.5 (the version that has cell ids).
    """
    nb = copy.deepcopy(nb)
    nb["nbformat"] = 4
    nb["nbformat_minor"] = max(int(nb.get("nbformat_minor", 5)), 5)
    meta = nb.setdefault("metadata", {})
    for key in _TRANSIENT_NB_METADATA:
        meta.pop(key, None)
    for index, cell in enumerate(nb["cells"]):
        cell["source"] = _join(cell.get("source", ""))
        cell.setdefault("metadata", {})
        for key in _TRANSIENT_CELL_METADATA:
            cell["metadata"].pop(key, None)
        if not cell.get("id"):
            cell["id"] = cell_id(notebook, index)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def output_problems(nb: dict, notebook: str) -> list[str]:
    """Describe every cell of ``nb`` that carries outputs or an execution count."""
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("outputs"):
            problems.append(f"{notebook}, cell {index}: has outputs (run `--strip` / clear outputs)")
        if cell.get("execution_count") is not None:
            problems.append(f"{notebook}, cell {index}: has an execution count (clear outputs)")
    return problems


# --------------------------------------------------------------------------------------
# the transformation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A solution block in a code cell: lines ``begin``..``end`` (0-based, markers included)."""

    begin: int
    end: int
    indent: str


def _tags(cell: dict) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)]


def exercise_tag(cell: dict) -> str | None:
    """The exercise name a cell declares: tag ``exercise:NAME`` or ``metadata.exercise``."""
    for tag in _tags(cell):
        match = _EXERCISE_TAG.match(tag)
        if match:
            return match.group(1).strip()
    name = cell.get("metadata", {}).get("exercise")
    return name if isinstance(name, str) and name else None


def find_code_blocks(lines: list[str], notebook: str, index: int) -> list[Block]:
    """Locate the solution blocks of a code cell; raise :class:`NotebookError` if malformed."""
    blocks, open_at, indent = [], None, ""
    for number, line in enumerate(lines):
        text = line.rstrip("\r\n")
        begin, end = _BEGIN_CODE.match(text), _END_CODE.match(text)
        if begin:
            if open_at is not None:
                raise NotebookError(
                    notebook, index,
                    f"BEGIN SOLUTION on line {number + 1} inside the block opened on line "
                    f"{open_at + 1} (blocks cannot nest; close it with ### END SOLUTION)",
                )
            open_at, indent = number, begin.group(1)
        elif end:
            if open_at is None:
                raise NotebookError(
                    notebook, index, f"END SOLUTION on line {number + 1} without a BEGIN SOLUTION"
                )
            blocks.append(Block(open_at, number, indent))
            open_at = None
        elif _ANY_MARKER.search(text):
            raise NotebookError(
                notebook, index,
                f"line {number + 1} mentions a solution marker but is not one: write "
                "`### BEGIN SOLUTION` / `### END SOLUTION` alone on their lines",
            )
    if open_at is not None:
        raise NotebookError(
            notebook, index, f"BEGIN SOLUTION on line {open_at + 1} has no matching END SOLUTION"
        )
    return blocks


def _mask_magics(lines: list[str]) -> str:
    """IPython magics / shell escapes are not Python: blank them so tokenize can run."""
    return "".join("\n" if _MAGIC.search(line.rstrip("\r\n")) else line for line in lines)


def _logical_lines(source: str) -> list[tuple[int, int, list[str]]]:
    """(first row 1-based, column, first three tokens) of each logical line of ``source``."""
    skip = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    result, current = [], None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        if tok.type == tokenize.NEWLINE:
            current = None
            continue
        if current is None:
            current = (tok.start[0], tok.start[1], [])
            result.append(current)
        if len(current[2]) < 3:
            current[2].append(tok.string)
    return result


def enclosing_def(lines: list[str], begin: int, indent: str) -> str | None:
    """Name of the nearest ``def`` enclosing line ``begin`` (0-based) indented by ``indent``.

    A method is named with its class, ``"ConditionUpsampler.forward"`` (when the statement
    right around the ``def`` is a ``class``); a block directly in a class body by the class;
    None when neither encloses it.
    """
    width = len(indent)
    try:
        logical = _logical_lines(_mask_magics(lines))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        logical = []
        for number, line in enumerate(lines):
            stripped = line.strip()
            if stripped and not stripped.startswith(("#", ")", "]", "}")):
                col = len(line) - len(line.lstrip(" \t"))
                match = _DEF_LINE.match(line)
                toks = [match.group(2), match.group(3)] if match else [stripped.split()[0]]
                logical.append((number + 1, col, toks))
    threshold, function = width, None
    for row, col, toks in reversed(logical):
        if row > begin or col >= threshold:
            continue
        toks = toks[1:] if toks[:1] == ["async"] else toks
        if toks[:1] == ["class"] and len(toks) > 1:
            return f"{toks[1]}.{function}" if function else toks[1]
        if function:  # the statement around the def is not a class: the def's own name
            return function
        if toks[:1] == ["def"] and len(toks) > 1:
            function = toks[1]
        threshold = col
        if threshold == 0:
            break
    return function


def transform_code(source: str, notebook: str, index: int, fallback: str) -> str:
    """Replace every solution block of a code cell's source by its stub line."""
    lines = _split(source)
    blocks = find_code_blocks(lines, notebook, index)
    if not blocks:
        return source
    out, position = [], 0
    for block in blocks:
        out.extend(lines[position:block.begin])
        name = enclosing_def(lines, block.begin, block.indent) or fallback
        newline = "\n" if lines[block.end].endswith("\n") else ""
        out.append(block.indent + STUB.format(name=name) + newline)
        position = block.end + 1
    out.extend(lines[position:])
    return "".join(out)


def transform_markdown(source: str, notebook: str, index: int) -> str:
    """Replace each ``<!-- BEGIN SOLUTION -->…<!-- END SOLUTION -->`` answer by a placeholder."""
    pieces, position, open_at = [], 0, None
    for match in _MD_MARKER.finditer(source):
        kind = match.group(1)
        if kind == "BEGIN":
            if open_at is not None:
                raise NotebookError(notebook, index, "<!-- BEGIN SOLUTION --> inside another answer block")
            pieces.append(source[position:match.start()])
            open_at = match.start()
        else:
            if open_at is None:
                raise NotebookError(notebook, index, "<!-- END SOLUTION --> without <!-- BEGIN SOLUTION -->")
            pieces.append(ANSWER)
            open_at = None
        position = match.end()
    if open_at is not None:
        raise NotebookError(notebook, index, "<!-- BEGIN SOLUTION --> has no matching <!-- END SOLUTION -->")
    pieces.append(source[position:])
    result = "".join(pieces)
    if _ANY_MARKER.search(result):
        raise NotebookError(
            notebook, index,
            "mentions a solution marker that is not `<!-- BEGIN SOLUTION -->` / `<!-- END SOLUTION -->`",
        )
    return result


def make_learner(nb: dict, notebook: str) -> dict:
    """Return the learner version of solution notebook ``nb`` (named ``notebook`` in messages).

    Parameters
    ----------
    nb : dict
        The solution notebook as plain JSON (nbformat 4).
    notebook : str
        Its name (e.g. ``"01_phase_and_griffin_lim"``), used in error messages and cell ids.

    Returns
    -------
    learner : dict
        A new notebook: solution blocks replaced by stubs, answers by placeholders,
        ``solution-only`` cells dropped, outputs cleared, the Colab install cell before the
        first code cell that imports voclab (none if no cell does).

    Raises
    ------
    NotebookError
        On an unmatched or nested marker, naming the notebook and the cell index.
    """
    solution = clean_notebook(nb, notebook)
    cells = []
    for index, cell in enumerate(solution["cells"]):
        kind = cell.get("cell_type")
        if kind == "code":
            fallback = exercise_tag(cell) or DEFAULT_NAME
            new_source = transform_code(cell["source"], notebook, index, fallback)
        else:
            new_source = transform_markdown(cell["source"], notebook, index)
        if SOLUTION_ONLY_TAG in _tags(cell):
            continue  # validated above, dropped here
        cell = dict(cell, source=new_source)
        cells.append(cell)
    first_import = next((i for i, c in enumerate(cells)
                         if c.get("cell_type") == "code" and _IMPORTS_VOCLAB.search(c["source"])), None)
    if first_import is not None:
        cells.insert(first_import, colab_cell())
    solution["cells"] = cells
    if _ANY_MARKER.search(json.dumps(solution, ensure_ascii=False)):
        raise NotebookError(notebook, None, "a solution marker survives outside the cells' sources")
    return solution


def colab_cell() -> dict:
    """The "Run on Colab" install cell: pip-installs voclab from ``COLAB_INSTALL_URL`` on Colab only."""
    return {"cell_type": "code", "execution_count": None, "id": COLAB_CELL_ID, "metadata": {}, "outputs": [],
            "source": COLAB_CELL.replace("{url}", COLAB_INSTALL_URL)}


# --------------------------------------------------------------------------------------
# leak scan
# --------------------------------------------------------------------------------------


def solution_lines(nb: dict, notebook: str) -> tuple[set[str], set[str]]:
    """Split the stripped source lines of a solution notebook into (secret, public).

    Secret lines are those inside solution blocks, markdown answers and ``solution-only``
    cells; public lines are all the others.
    """
    secret, public = set(), set()
    for index, cell in enumerate(nb["cells"]):
        source = _join(cell.get("source", ""))
        lines = _split(source)
        if SOLUTION_ONLY_TAG in _tags(cell):
            secret.update(line.strip() for line in lines)
            continue
        inside = [False] * len(lines)
        if cell.get("cell_type") == "code":
            for block in find_code_blocks(lines, notebook, index):
                for number in range(block.begin, block.end + 1):
                    inside[number] = True
        else:
            open_at = None
            for match in _MD_MARKER.finditer(source):
                if match.group(1) == "BEGIN":
                    open_at = match.end()
                elif open_at is not None:
                    secret.update(line.strip() for line in source[open_at:match.start()].splitlines())
                    open_at = None
            public.update(line.strip() for line in transform_markdown(source, notebook, index).splitlines())
            continue
        for flag, line in zip(inside, lines):
            (secret if flag else public).add(line.strip())
    return secret, public


def find_leaks(solution_nb: dict, learner_nb: dict, notebook: str) -> list[str]:
    """Lines of the learner notebook that appear only inside solutions of ``solution_nb``."""
    secret, public = solution_lines(solution_nb, notebook)
    secret = {line for line in secret if len(line) >= MIN_LEAK_LEN and line not in public}
    leaks = []
    for index, cell in enumerate(learner_nb.get("cells", [])):
        for line in _join(cell.get("source", "")).splitlines():
            if line.strip() in secret:
                leaks.append(f"{notebook}, cell {index}: solution line leaked: {line.strip()!r}")
    return leaks


# --------------------------------------------------------------------------------------
# the whole repository
# --------------------------------------------------------------------------------------


def solution_paths(root: Path) -> list[Path]:
    return sorted((Path(root) / SOLUTIONS_DIR).glob("*.ipynb"))


def learner_path(root: Path, solution: Path) -> Path:
    return Path(root) / LEARNER_DIR / solution.name


def generate(root: Path = ROOT) -> dict[Path, str]:
    """Return ``{learner notebook path: canonical text}`` for every solution notebook."""
    result = {}
    for path in solution_paths(root):
        learner = make_learner(read_notebook(path), path.stem)
        result[learner_path(root, path)] = dumps_notebook(learner)
    return result


def write_all(root: Path = ROOT) -> list[Path]:
    """Write every learner notebook; return those that changed."""
    changed = []
    for path, text in generate(root).items():
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            changed.append(path)
    return changed


def strip_solutions(root: Path = ROOT) -> list[Path]:
    """Clear outputs/execution counts in ``solutions/`` in place; return the files changed."""
    changed = []
    for path in solution_paths(root):
        if write_notebook(path, clean_notebook(read_notebook(path), path.stem)):
            changed.append(path)
    return changed


def _describe_difference(name: str, expected: dict, committed: dict) -> list[str]:
    """Say which cells of a committed learner notebook differ from the generated one."""
    lines = []
    exp_cells, com_cells = expected.get("cells", []), committed.get("cells", [])
    if len(exp_cells) != len(com_cells):
        lines.append(f"{name}: {len(com_cells)} cells committed, {len(exp_cells)} expected")
    shown = 0
    for index, (exp, com) in enumerate(zip(exp_cells, com_cells)):
        fields = [key for key in sorted(set(exp) | set(com))
                  if key != "source" and exp.get(key) != com.get(key)]
        exp_src, com_src = _join(exp.get("source", "")), _join(com.get("source", ""))
        if exp_src != com_src:
            fields.insert(0, "source")
        if not fields:
            continue
        shown += 1
        if shown > 5:
            lines.append(f"{name}: ... more cells differ")
            break
        lines.append(f"{name}, cell {index} (id {exp.get('id')}): {', '.join(fields)} differ")
        if exp_src != com_src:
            diff = list(difflib.unified_diff(
                com_src.splitlines(), exp_src.splitlines(), "committed", "generated", lineterm="", n=1))
            lines.extend("    " + d for d in diff[2:14])
    if not lines:
        if expected.get("metadata") != committed.get("metadata"):
            lines.append(f"{name}: notebook metadata differs")
        else:
            lines.append(f"{name}: formatting differs (JSON layout, keys or nbformat version)")
    return lines


def check(root: Path = ROOT) -> list[str]:
    """Return every problem ``--check`` reports (an empty list means all is in order).

    Problems: a committed learner notebook missing or different from the generated one,
    a learner notebook without a solution source, a solution line leaking into a learner
    notebook, a malformed marker, or outputs/execution counts in any committed notebook.
    """
    root = Path(root)
    problems: list[str] = []
    solutions = {p.name: p for p in solution_paths(root)}
    for name in sorted(p.name for p in (root / LEARNER_DIR).glob("*.ipynb")):
        if name not in solutions:
            problems.append(f"{LEARNER_DIR}/{name}: no solution source {SOLUTIONS_DIR}/{name} "
                            "(learner notebooks are generated; edit the solution and run the tool)")
    for directory in (SOLUTIONS_DIR, LEARNER_DIR):
        for path in sorted((root / directory).glob("*.ipynb")):
            try:
                problems.extend(output_problems(read_notebook(path), f"{directory}/{path.name}"))
            except NotebookError as exc:
                problems.append(f"{directory}/{exc}")
    for name, path in solutions.items():
        target = learner_path(root, path)
        label = f"{LEARNER_DIR}/{name}"
        try:
            solution_nb = read_notebook(path)
            expected = make_learner(solution_nb, path.stem)
        except NotebookError as exc:
            problems.append(f"{SOLUTIONS_DIR}/{exc}")
            continue
        if any(cell.get("id") == COLAB_CELL_ID for cell in solution_nb["cells"]):
            problems.append(f"{SOLUTIONS_DIR}/{name}: carries the Colab install cell (id {COLAB_CELL_ID}); "
                            "only learner notebooks do: delete it from the solution")
        if not target.exists():
            problems.append(f"{label}: missing (run `python tools/make_learner_notebooks.py`)")
            continue
        text = target.read_bytes()
        try:
            committed = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{label}: not valid JSON ({exc})")
            continue
        problems.extend(find_leaks(solution_nb, committed, label))
        if _ANY_MARKER.search(text.decode("utf-8")):
            problems.append(f"{label}: contains a solution marker")
        if text != dumps_notebook(expected).encode("utf-8"):
            problems.append(f"{label}: out of date with {SOLUTIONS_DIR}/{name} "
                            "(run `python tools/make_learner_notebooks.py`)")
            problems.extend("  " + line for line in _describe_difference(label, expected, committed))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="report stale, leaking or output-carrying notebooks; exit 1 if any")
    mode.add_argument("--strip", action="store_true", help="clear outputs in solutions/ in place")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this repo)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.root)
            if problems:
                print("\n".join(problems))
                print(f"\n{sum(not p.startswith(' ') for p in problems)} problem(s) found.")
                return 1
            print(f"ok: {len(solution_paths(args.root))} learner notebook(s) up to date, no outputs, no leaks")
            return 0
        if args.strip:
            changed = strip_solutions(args.root)
            for path in changed:
                print(f"stripped {path.relative_to(args.root)}")
            print(f"{len(changed)} solution notebook(s) changed")
            return 0
        changed = write_all(args.root)
        for path in changed:
            print(f"wrote {path.relative_to(args.root)}")
        print(f"{len(changed)} learner notebook(s) written, "
              f"{len(solution_paths(args.root)) - len(changed)} already up to date")
        return 0
    except NotebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
