"""Run notebooks top to bottom in a compute tier and print their wall times; it cannot hang.

The README's table of notebook times comes from this script (run on a 2-core CPU):

    python tools/time_notebooks.py --tier quick standard          # solutions/ and notebooks/
    python tools/time_notebooks.py solutions/01_phase_and_griffin_lim.ipynb --tier full

Each notebook runs in a fresh kernel, in a temporary copy of its folder, with
``VOCLAB_TIER`` set; nothing is written back. Each run happens in a child process of its own
(in its own process group) with a hard wall-clock limit (``--limit``, default 30 min): a cell
that never returns, a widget waiting for a front end that is not there, or a kernel that does
not shut down is killed with everything it started, and the table says "killed after N s at
cell K" instead of waiting. A notebook that raises shows its error in the table and the run
goes on with the next one. The machine's load average is printed with each row: on a busy
machine the times grow.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_here(path: Path, tier: str, cell_timeout: int, progress: Path, keep: Path | None = None) -> dict:
    """Execute the notebook in this process (the child), writing the index of the running cell to ``progress``;
    with ``keep``, save the executed notebook (outputs and all) there."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["VOCLAB_TIER"] = tier  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as workdir:
        client = NotebookClient(notebook, timeout=cell_timeout, kernel_name="python3", shutdown_kernel="immediate",
                                resources={"metadata": {"path": workdir}})
        client.on_cell_execute = lambda cell, cell_index: progress.write_text(str(cell_index))
        start = time.perf_counter()
        try:
            client.execute()
            outcome = {"seconds": time.perf_counter() - start}
        except Exception as err:  # noqa: BLE001 - reported in the table, the run goes on
            outcome = {"seconds": time.perf_counter() - start, "error": f"{type(err).__name__}: {str(err)[:200]}"}
        if keep is not None:
            nbformat.write(notebook, keep)
        return outcome


def run_notebook(path: Path, tier: str, cell_timeout: int, limit: int, keep: Path | None = None) -> dict:
    """Run one notebook in a child process; kill it and all it started after ``limit`` seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        progress, result = Path(scratch) / "cell", Path(scratch) / "result.json"
        command = [sys.executable, __file__, "--child", str(path), str(tier), str(cell_timeout), str(progress),
                   str(result), str(keep or "")]
        start = time.perf_counter()
        child = subprocess.Popen(command, start_new_session=True)  # its own group: the kernel dies with it
        try:
            child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            cell = progress.read_text() if progress.exists() else "?"
            return {"seconds": time.perf_counter() - start, "error": f"killed after {limit} s at cell {cell}"}
        finally:
            kill_group(child.pid)
        if result.exists():
            return json.loads(result.read_text())
        return {"seconds": time.perf_counter() - start, "error": f"the runner exited with code {child.returncode}"}


def kill_group(pgid: int) -> None:
    """Kill whatever the child left behind in its process group (a kernel that outlived it)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        path, tier, cell_timeout, progress, result, keep = sys.argv[2:8]
        outcome = run_here(Path(path), tier, int(cell_timeout), Path(progress), Path(keep) if keep else None)
        Path(result).write_text(json.dumps(outcome))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook in solutions/ and notebooks/")
    parser.add_argument("--tier", nargs="+", default=["quick"], choices=["quick", "standard", "full"])
    parser.add_argument("--cell-timeout", type=int, default=900, help="seconds one cell may take")
    parser.add_argument("--limit", type=int, default=1800, help="seconds one notebook may take in all")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="save each executed notebook (with its outputs) in DIR as NAME.TIER.ipynb")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb"))
    print(f"{os.cpu_count()} CPUs; 1-minute load average before each run in brackets")
    print("| notebook | " + " | ".join(args.tier) + " |")
    print("|---|" + "---|" * len(args.tier))
    failed = False
    for path in paths:
        cells = []
        for tier in args.tier:
            before = load()
            kept = None
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = args.keep / f"{path.parent.name}-{path.stem}.{tier}.ipynb"
            outcome = run_notebook(path, tier, args.cell_timeout, args.limit, kept)
            seconds = outcome["seconds"]
            cell = f"{seconds / 60:.1f} min ({seconds:.0f} s) [load {before}]"
            if "error" in outcome:
                failed = True
                cell += f" FAILED: {outcome['error']}"
            cells.append(cell)
        label = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
