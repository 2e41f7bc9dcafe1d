"""tools/time_notebooks.py, the tool behind the README's notebook times, cannot hang (issue 9)."""

import subprocess
import sys
import time
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
                          capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and ".ipynb" in line]
    assert len(rows) == 2, done.stdout + done.stderr
    assert "FAILED" not in rows[0]
    assert "killed after 20 s at cell 1" in rows[1]
    assert done.returncode == 1
    assert elapsed < 90
