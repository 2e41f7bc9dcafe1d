"""tools/time_notebooks.py, the tool behind the README's notebook times, cannot hang (issue 9)."""

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

TOOL = Path(__file__).resolve().parents[1] / "tools" / "time_notebooks.py"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def test_a_cell_that_never_returns_is_killed_and_reported(tmp_path):
    ok = _notebook(tmp_path / "ok.ipynb", "x = 1")
    stuck = _notebook(tmp_path / "stuck.ipynb", "import time", "while True:\n    time.sleep(0.1)")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(TOOL), str(ok), str(stuck), "--limit", "20"],
                          check=False, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and ".ipynb" in line]
    assert len(rows) == 2, done.stdout + done.stderr
    assert "FAILED" not in rows[0]
    assert "killed after 20 s at cell 1" in rows[1]
    assert done.returncode == 1
    assert elapsed < 90


def test_repeat_and_nbconvert_engine(tmp_path):
    ok = _notebook(tmp_path / "ok.ipynb", "x = 1", "print(x)")
    done = subprocess.run([sys.executable, str(TOOL), str(ok), "--repeat", "2", "--engine", "nbconvert",
                           "--limit", "60"], check=False, capture_output=True, text=True, timeout=300)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and ".ipynb" in line]
    assert len(rows) == 1, done.stdout + done.stderr
    assert "2/2 ok" in rows[0] and "FAILED" not in rows[0] and "longest idle wait" in rows[0]
    assert "2 of 2 runs finished without error or stall (nbconvert)" in done.stdout
    assert done.returncode == 0


def test_nbconvert_engine_reports_a_failing_cell(tmp_path):
    sys.path.insert(0, str(TOOL.parent))
    import time_notebooks

    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('on purpose')")
    outcome = time_notebooks.run_notebook(bad, "quick", cell_timeout=60, limit=60, engine="nbconvert")
    assert outcome["error"].startswith("nbconvert exited with code 1") and "ValueError" in outcome["error"]


def _timed_cell(busy: float, idle: float) -> nbformat.NotebookNode:
    def stamp(t):
        return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")

    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["execution"] = {"iopub.status.busy": stamp(busy), "iopub.execute_input": stamp(busy),
                                  "shell.execute_reply": stamp(idle - 0.001), "iopub.status.idle": stamp(idle)}
    return cell


def test_idle_waits_measure_the_gap_between_a_finished_cell_and_the_next():
    """A client that missed a cell's reply leaves the kernel idle until the cell timeout: the gap from
    the cell's idle to the next cell's busy (kernel clock) shows it, even when the run goes on."""
    sys.path.insert(0, str(TOOL.parent))
    import time_notebooks

    t0 = 1_800_000_000.0
    nb = nbformat.v4.new_notebook(cells=[
        _timed_cell(t0, t0 + 1.0),
        nbformat.v4.new_markdown_cell("text"),
        _timed_cell(t0 + 1.01, t0 + 2.0),      # noticed after 10 ms
        _timed_cell(t0 + 122.0, t0 + 123.0),   # 120 s after cell 2 finished: a missed reply
        nbformat.v4.new_code_cell("never ran"),
    ])
    waits = time_notebooks.idle_waits(nb, end=t0 + 123.5)
    assert [cell for cell, _ in waits] == [0, 2, 3]
    assert [round(w, 3) for _, w in waits] == [0.01, 120.0, 0.5]
    outcome = time_notebooks._check_waits({"seconds": 123.5}, nb, t0 + 123.5, stall=10)
    assert outcome["error"] == "waited 120 s on an idle kernel after cell 2"
    assert outcome["longest_idle_wait"] == [2, 120.0]
    assert "error" not in time_notebooks._check_waits({"seconds": 1}, nb, t0 + 123.5, stall=200)
