"""Headless runs finish: real kernels, real notebooks, nbclient and ``jupyter nbconvert --execute``.

A headless client (nbclient, behind nbconvert, papermill and nbgrader) plays the front end of every
``ipywidgets.Output`` it sees: for each output it sends the widget's new state to the kernel on the
shell socket, while it waits on that same socket for the cell's ``execute_reply``. With pyzmq's
asyncio sockets that send can swallow the wake-up of the wait: the reply sits in the socket, the
kernel is idle, and the client waits until the cell timeout, or forever (nbconvert's default).
Measured here on a notebook of 30 such cells: 2 to 4 cells stalled in every run. The notebooks
redraw their widgets into ``voclab.display.HTMLOutput`` (an ``ipywidgets.HTML``) instead, which
no client stands in for.

The tests below run through ``tools/time_notebooks.py``: each run in a child process with a hard
wall-clock limit (a hang fails the test instead of blocking CI), and each run checked from the
kernel's own time stamps for a client that left the kernel idle between cells (a stall that a
cell timeout would otherwise turn into a slow but "passing" run).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import time_notebooks

NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb")) + sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_NOTEBOOKS = [REPO / "solutions" / "01_phase_and_griffin_lim.ipynb",
                    REPO / "solutions" / "02_dilated_convolutions.ipynb"]
STALL_S = 5.0  # the client noticed every finished cell within this (measured: milliseconds)

# ipywidgets that create an Output widget: Output itself, and interact/interactive, which draw into one
OUTPUT_WIDGET = re.compile(r"\b(?:widgets|ipywidgets)\s*\.\s*(?:Output|interact(?:ive)?(?:_manual)?)\b"
                           r"|^\s*from\s+ipywidgets\s+import\s+.*\b(?:Output|interact(?:ive)?)\b|@interact\b",
                           re.MULTILINE)

# The redraw pattern of the notebooks' widget cells: clear_output(wait=True), then a figure,
# printed text and an <audio> player drawn inside the block; plus a slider, as in the notebooks.
_SETUP = """\
%matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display

import voclab.display
from voclab.display import audio_html

# two players of 2 s at 22.05 kHz, as notebook 01's widget shows in the standard tier: ~240 kB of HTML
# per redraw. The stall needs large outputs: with 0.5 s players it did not show in 180 cells.
tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(44100) / 22050)
"""
_WIDGET_CELL = """\
slider = widgets.IntSlider(value={i} % 5 + 1, min=1, max=5)
out = voclab.display.HTMLOutput()


def redraw(change=None):
    out.clear_output(wait=True)
    with out:
        fig, ax = plt.subplots(figsize=(3, 1.5))
        ax.plot(np.arange(10) ** slider.value)
        plt.show()
        plt.close(fig)
        print("cell {i}, power", slider.value)
        display(HTML(audio_html(tone, 22050) + audio_html(tone[::-1], 22050)))
        display(HTML("<i>listen for the ring</i>"))  # nbclient re-sent all of the above for this one


slider.observe(redraw, names="value")
redraw()
display(widgets.VBox([slider, out]))
"""


def _widget_notebook(path: Path, cells: int) -> Path:
    sources = [_SETUP] + [_WIDGET_CELL.format(i=i) for i in range(cells)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _widget_states(path: Path) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    return list(nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values())


def test_no_notebook_draws_into_an_output_widget():
    """Static and instant: every notebook's widgets redraw into HTMLOutput, none into an Output."""
    found = []
    for path in NOTEBOOKS:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code" and OUTPUT_WIDGET.search(cell.source):
                line = next(line for line in cell.source.splitlines() if OUTPUT_WIDGET.search(line))
                found.append(f"{path.relative_to(REPO)} cell {index}: {line.strip()}")
    assert not found, ("headless runs can hang on an ipywidgets Output (see this module's docstring); "
                       "use voclab.display.HTMLOutput() instead:\n" + "\n".join(found))


def test_the_pattern_check_sees_output_widgets():
    for source in ("out = widgets.Output()", "w = ipywidgets.interact(f, x=1)", "from ipywidgets import interact",
                   "@interact\ndef f(x=1): pass", "out = widgets.Output(layout={'border': '1px'})"):
        assert OUTPUT_WIDGET.search(source), source
    for source in ("out = voclab.display.HTMLOutput()", "widgets.IntSlider()", "output = widgets.HTML()"):
        assert not OUTPUT_WIDGET.search(source), source


@pytest.mark.parametrize("engine", time_notebooks.ENGINES)
def test_many_widget_redraws_never_leave_the_kernel_waiting(tmp_path, engine):
    """30 widget cells of the notebooks' pattern in one run: with an Output widget 2-4 of them stalled
    per run; with HTMLOutput none may, and each view holds its figure, text and player."""
    notebook = _widget_notebook(tmp_path / "widgets.ipynb", cells=30)
    kept = tmp_path / "executed.ipynb"
    outcome = time_notebooks.run_notebook(notebook, "quick", cell_timeout=60, limit=150, keep=kept, engine=engine,
                                          stall=STALL_S)
    assert "error" not in outcome, outcome
    cell, longest = outcome["longest_idle_wait"]
    assert longest < STALL_S, f"the client waited {longest:.1f} s on an idle kernel after cell {cell}"
    views = [s["state"]["value"] for s in _widget_states(kept) if s["model_name"] == "HTMLModel"]
    assert len(views) == 30
    for i, view in enumerate(sorted(views, key=lambda v: int(re.search(r"cell (\d+),", v).group(1)))):
        assert view.count('<img src="data:image/png;base64,') == 1, view[:300]
        assert view.count("<audio") == 2 and f"cell {i}, power {i % 5 + 1}" in view
    assert not [s for s in _widget_states(kept) if s["model_name"] == "OutputModel"]


@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_widget_notebooks_run_headless(tmp_path, path):
    """The notebooks with widgets, run by nbclient in the quick tier: they finish, the client never
    waits on an idle kernel, and each widget's view holds a figure and a player."""
    kept = tmp_path / "executed.ipynb"
    outcome = time_notebooks.run_notebook(path, "quick", cell_timeout=120, limit=300, keep=kept, stall=STALL_S)
    assert "error" not in outcome, outcome
    cell, longest = outcome["longest_idle_wait"]
    assert longest < STALL_S, f"the client waited {longest:.1f} s on an idle kernel after cell {cell}"
    views = [s["state"]["value"] for s in _widget_states(kept) if s["model_name"] == "HTMLModel"
             and "<audio" in s["state"]["value"]]
    assert views, "no widget view with a player: " + json.dumps([s["model_name"] for s in _widget_states(kept)])
    assert all('<img src="data:image/png;base64,' in view for view in views)
