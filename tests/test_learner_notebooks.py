"""One source of truth: the learner notebooks are generated from the solution notebooks.

The first tests look at the real repository (committed notebooks/ equal what
tools/make_learner_notebooks.py generates from solutions/, nothing leaks, no outputs);
the others test the transformation on small notebooks built in a temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
TOOL_PATH = ROOT / "tools" / "make_learner_notebooks.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_learner_notebooks", TOOL_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LEARNERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
needs_solutions = pytest.mark.skipif(not SOLUTIONS, reason="solutions/ holds no notebook yet")


# --------------------------------------------------------------------------------------
# the real repository
# --------------------------------------------------------------------------------------


@needs_solutions
def test_committed_learner_notebooks_equal_generated():
    problems = tool.check(ROOT)
    assert not problems, "\n".join(problems)


_CODE_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")
_MD_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->(.*?)<!--\s*END SOLUTION\s*-->", re.S)


def _secret_lines(solution: dict) -> set[str]:
    """Solution-only lines of a solution notebook (an independent, simple parser)."""
    inside_lines, outside_lines = set(), set()
    for cell in solution["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            inside_lines.update(line.strip() for line in source.splitlines())
            continue
        if cell["cell_type"] == "code":
            inside = False
            for line in source.splitlines():
                marker = _CODE_MARKER.match(line)
                if marker:
                    inside = marker.group(1) == "BEGIN"
                    continue
                (inside_lines if inside else outside_lines).add(line.strip())
        else:
            for answer in _MD_BLOCK.findall(source):
                inside_lines.update(line.strip() for line in answer.splitlines())
            outside_lines.update(line.strip() for line in _MD_BLOCK.sub("", source).splitlines())
    return {line for line in inside_lines if len(line) >= 12 and line not in outside_lines}


@needs_solutions
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_no_solution_leaks_into_learner_notebook(solution):
    learner = ROOT / "notebooks" / solution.name
    assert learner.exists(), f"{learner.relative_to(ROOT)} is missing: run python tools/make_learner_notebooks.py"
    text = learner.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    secret = _secret_lines(json.loads(solution.read_text(encoding="utf-8")))
    leaked = []
    for index, cell in enumerate(json.loads(text)["cells"]):
        for line in "".join(cell["source"]).splitlines():
            if line.strip() in secret:
                leaked.append(f"cell {index}: {line.strip()}")
    assert not leaked, f"{learner.name} leaks solution lines:\n" + "\n".join(leaked)


@pytest.mark.parametrize("path", SOLUTIONS + LEARNERS, ids=[f"{p.parent.name}/{p.stem}" for p in SOLUTIONS + LEARNERS])
def test_committed_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, cell in enumerate(nb["cells"]) if cell.get("outputs") or cell.get("execution_count") is not None]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run python tools/make_learner_notebooks.py --strip"


#: The widest code line a notebook may have: JupyterLab cuts longer ones at the cell's edge
#: (it does not wrap code), so the end of the line is hidden.
MAX_CODE_LINE = 99


@pytest.mark.parametrize("path", SOLUTIONS + LEARNERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_code_lines_fit_the_cell(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    long = [f"cell {i}: {len(line)} characters: {line.strip()[:60]}…"
            for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"{path.name}: {len(long)} code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)


def test_every_learner_notebook_has_a_solution_source():
    orphans = [p.name for p in LEARNERS if not (ROOT / "solutions" / p.name).exists()]
    assert not orphans, f"learner notebooks without a solution source: {orphans}"


# --------------------------------------------------------------------------------------
# the transformation, on small notebooks
# --------------------------------------------------------------------------------------

GL_CELL = '''import numpy as np

def griffin_lim(
    magnitude, n_iter=32
) -> np.ndarray:
    """Docstring stays."""
    angles = np.ones_like(magnitude)
    ### BEGIN SOLUTION
    for _ in range(n_iter):
        angles = np.exp(1j * np.angle(magnitude * angles))
    ### END SOLUTION
    return angles

griffin_lim = voclab.check("griffin_lim", griffin_lim)'''


def _repo(tmp_path: Path, *cells, name="01_demo") -> Path:
    (tmp_path / "solutions").mkdir(parents=True, exist_ok=True)
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    nb = new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, tmp_path / "solutions" / f"{name}.ipynb")
    return tmp_path


def _learner_sources(root: Path, name="01_demo") -> list[str]:
    nb = nbformat.read(root / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    return [cell.source for cell in nb.cells]


def test_block_becomes_stub_at_marker_indentation_named_after_enclosing_def(tmp_path):
    root = _repo(tmp_path, new_code_cell(GL_CELL))
    tool.write_all(root)
    (source,) = _learner_sources(root)
    assert '    raise NotImplementedError("Exercise griffin_lim: your code here")\n' in source
    assert "np.angle" not in source and "for _ in range" not in source
    assert '"""Docstring stays."""' in source and "    return angles" in source
    assert "SOLUTION" not in source
    compile(source, "cell", "exec")  # still valid Python


def test_nested_and_multiple_blocks(tmp_path):
    cell = new_code_cell(
        "class Block:\n"
        "    def forward(self, x):\n"
        "        if x is not None:\n"
        "            ### BEGIN SOLUTION\n"
        "            y = x * 2 + self.secret_offset\n"
        "            ### END SOLUTION\n"
        "        return y\n"
        "\n"
        "def helper(a):\n"
        "\tdef inner(b):\n"
        "\t\treturn b\n"
        "\t### BEGIN SOLUTION\n"
        "\treturn inner(a) + 1234567\n"
        "\t### END SOLUTION\n"
    )
    root = _repo(tmp_path, cell)
    tool.write_all(root)
    (source,) = _learner_sources(root)
    assert '            raise NotImplementedError("Exercise Block.forward: ' in source  # a method: with its class
    assert '\traise NotImplementedError("Exercise helper: ' in source  # not `inner`, which ended before
    compile(source, "cell", "exec")


def test_a_method_is_named_with_its_class(tmp_path):
    """The stub of a module exercise names the class ("Exercise forward" would name every module)."""
    cell = new_code_cell(
        "class ConditionUpsampler(nn.Module):\n"
        "    def __init__(self, upsample_scales):\n"
        "        super().__init__()\n"
        "        ### BEGIN SOLUTION\n"
        "        self.up_layers = make_the_layers(upsample_scales)\n"
        "        ### END SOLUTION\n"
        "\n"
        "    @torch.no_grad()\n"
        "    def forward(self, c):\n"
        "        def helper(h):\n"
        "            ### BEGIN SOLUTION\n"
        "            return smooth_the_frames(h)\n"
        "            ### END SOLUTION\n"
        "        ### BEGIN SOLUTION\n"
        "        return helper(c.unsqueeze(1)).squeeze(1)\n"
        "        ### END SOLUTION\n"
    )
    root = _repo(tmp_path, cell)
    tool.write_all(root)
    (source,) = _learner_sources(root)
    assert '        raise NotImplementedError("Exercise ConditionUpsampler.__init__: your code here")' in source
    assert '        raise NotImplementedError("Exercise ConditionUpsampler.forward: your code here")' in source
    assert '            raise NotImplementedError("Exercise helper: ' in source  # a function inside a method: its own name
    compile(source, "cell", "exec")


def test_name_falls_back_to_exercise_tag_then_generic(tmp_path):
    tagged = new_code_cell("%matplotlib inline\n### BEGIN SOLUTION\nanswer = compute_the_answer(42)\n### END SOLUTION",
                           metadata={"tags": ["exercise:receptive_field"]})
    plain = new_code_cell("### BEGIN SOLUTION\nanswer = compute_the_answer(43)\n### END SOLUTION\n")
    root = _repo(tmp_path, tagged, plain)
    tool.write_all(root)
    first, second = _learner_sources(root)
    assert first == '%matplotlib inline\nraise NotImplementedError("Exercise receptive_field: your code here")'
    assert second == 'raise NotImplementedError("Exercise this exercise: your code here")\n'


@pytest.mark.parametrize("source, words", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "no matching END"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "cannot nest"),
    ("x = 1  ### BEGIN SOLUTION\n", "not one"),
])
def test_unmatched_marker_is_an_error_naming_notebook_and_cell(tmp_path, source, words):
    root = _repo(tmp_path, new_markdown_cell("# Intro"), new_code_cell(source))
    with pytest.raises(tool.NotebookError) as info:
        tool.write_all(root)
    assert "01_demo, cell 1" in str(info.value) and words in str(info.value)
    problems = tool.check(root)
    assert any("01_demo" in p and "cell 1" in p for p in problems)
    assert tool.main(["--root", str(root)]) == 2


def test_markdown_answers_are_replaced(tmp_path):
    md = new_markdown_cell(
        "**Question.** Why does zero phase sound metallic?\n\n"
        "<!-- BEGIN SOLUTION -->\nBecause every frame starts in phase: a buzz at the hop rate.\n<!-- END SOLUTION -->\n\n"
        "And random phase? <!-- BEGIN SOLUTION -->It sounds noisy and smeared.<!-- END SOLUTION -->"
    )
    root = _repo(tmp_path, md)
    tool.write_all(root)
    (source,) = _learner_sources(root)
    assert source == (
        "**Question.** Why does zero phase sound metallic?\n\n*(Your answer here.)*\n\n"
        "And random phase? *(Your answer here.)*"
    )
    bad = _repo(tmp_path / "bad", new_markdown_cell("<!-- BEGIN SOLUTION -->oops"))
    with pytest.raises(tool.NotebookError, match="cell 0"):
        tool.write_all(bad)


def test_solution_only_cells_are_dropped_and_outputs_cleared(tmp_path):
    shown = new_code_cell("print('hello')", execution_count=3,
                          outputs=[nbformat.v4.new_output("stream", text="hello\n")])
    hidden = new_code_cell("assert secret_function() == 42", metadata={"tags": ["solution-only"]})
    root = _repo(tmp_path, shown, hidden, new_markdown_cell("end"))
    tool.write_all(root)
    nb = nbformat.read(root / "notebooks" / "01_demo.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == ["print('hello')", "end"]
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None


def test_output_is_deterministic_and_canonical(tmp_path):
    root = _repo(tmp_path, new_markdown_cell("# T"), new_code_cell(GL_CELL))
    first = tool.generate(root)
    second = tool.generate(root)
    assert first == second
    tool.write_all(root)
    path = root / "notebooks" / "01_demo.ipynb"
    data = path.read_bytes()
    assert data.endswith(b"}\n") and b'\n "cells": [\n  {\n' in data  # indent=1, trailing newline
    assert tool.write_all(root) == []  # nothing to rewrite
    assert path.read_bytes() == data
    nb = json.loads(data)
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5
    solution = json.loads((root / "solutions" / "01_demo.ipynb").read_text())
    assert [c["id"] for c in nb["cells"]] == [c["id"] for c in solution["cells"]]  # stable ids


def test_cells_without_ids_get_stable_ones(tmp_path):
    root = _repo(tmp_path, new_code_cell("x = 1"))
    path = root / "solutions" / "01_demo.ipynb"
    raw = json.loads(path.read_text())
    raw["nbformat_minor"] = 4
    del raw["cells"][0]["id"]
    path.write_text(json.dumps(raw))
    a = tool.generate(root)
    b = tool.generate(root)
    assert a == b
    (text,) = a.values()
    assert json.loads(text)["cells"][0]["id"] == tool.cell_id("01_demo", 0)


def test_check_detects_a_stale_learner_notebook(tmp_path):
    root = _repo(tmp_path, new_markdown_cell("# T"), new_code_cell(GL_CELL))
    tool.write_all(root)
    assert tool.check(root) == []
    # the solution changes, the learner notebook is not regenerated
    path = root / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("Docstring stays.", "A new docstring.")
    nbformat.write(nb, path)
    problems = tool.check(root)
    assert any("notebooks/01_demo.ipynb: out of date" in p for p in problems)
    assert any("cell 1" in p and "source" in p for p in problems)
    assert tool.main(["--check", "--root", str(root)]) == 1
    tool.write_all(root)
    assert tool.main(["--check", "--root", str(root)]) == 0


def test_check_reports_outputs_orphans_and_leaks(tmp_path):
    root = _repo(tmp_path, new_code_cell(GL_CELL))
    tool.write_all(root)
    # a learner notebook with no solution
    nbformat.write(new_notebook(), root / "notebooks" / "02_orphan.ipynb")
    # outputs in a solution
    path = root / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].execution_count = 1
    nbformat.write(nb, path)
    # a hand-edited learner notebook that holds a solution line
    learner = root / "notebooks" / "01_demo.ipynb"
    ln = json.loads(learner.read_text())
    ln["cells"][0]["source"].append("\n        angles = np.exp(1j * np.angle(magnitude * angles))\n")
    learner.write_text(json.dumps(ln))
    problems = "\n".join(tool.check(root))
    assert "02_orphan.ipynb: no solution source" in problems
    assert "solutions/01_demo.ipynb, cell 0: has an execution count" in problems
    assert "solution line leaked" in problems
    # --strip cleans the solution in place
    assert tool.main(["--strip", "--root", str(root)]) == 0
    assert nbformat.read(path, as_version=4).cells[0].execution_count is None


def test_command_line_runs(tmp_path):
    root = _repo(tmp_path, new_code_cell(GL_CELL))
    run = subprocess.run([sys.executable, str(TOOL_PATH), "--root", str(root)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, str(TOOL_PATH), "--check", "--root", str(root)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stdout
