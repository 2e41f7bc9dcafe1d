"""Run notebooks top to bottom in a compute tier and print their wall times; it cannot hang.

The README's table of notebook times comes from this script (run on a 2-core CPU):

    python tools/time_notebooks.py --tier quick standard          # solutions/ and notebooks/
    python tools/time_notebooks.py solutions/01_phase_and_griffin_lim.ipynb --tier full

Headless reliability (issue 10: "ten headless runs of every notebook in a row finish"), through
both ways a grader runs a notebook:

    python tools/time_notebooks.py --tier quick --repeat 10 --engine nbclient
    python tools/time_notebooks.py --tier quick --repeat 10 --engine nbconvert   # jupyter nbconvert --execute

Each notebook runs in a fresh kernel, in a temporary copy of its folder, with
``VOCLAB_TIER`` set; nothing is written back. Each run happens in a child process of its own
(in its own process group) with a hard wall-clock limit (``--limit``, default 30 min): a cell
that never returns, a widget waiting for a front end that is not there, or a kernel that does
not shut down is killed with everything it started, and the table says "killed after N s at
cell K" instead of waiting. A notebook that raises shows its error in the table and the run
goes on with the next one. The machine's load average is printed with each row: on a busy
machine the times grow.

``--engine nbconvert`` runs ``jupyter nbconvert --to notebook --execute`` instead of nbclient
(on a copy, in a temporary folder). Either way, each run is also checked for waits on an idle
kernel: from the kernel's own time stamps (``record_timing``) it takes the gap between one code
cell's ``idle`` / ``execute_reply`` and the next cell's ``busy``: the time the client took to
notice that a cell had finished. It is milliseconds; a client that missed the reply (nbclient's
stand-in for an ``ipywidgets.Output`` could make it miss it, see ``voclab.display.HTMLOutput``)
waits until the cell timeout, or forever without one. A gap over ``--stall`` seconds fails the run
("waited N s on an idle kernel after cell K"), even when the run finished. After the last cell the
gap runs to the end of the run: with nbconvert it includes writing the executed notebook and
stopping the kernel (2-3 s for notebooks 01 and 02 in the quick tier). ``--repeat N`` runs
each notebook N times in a row, each in a fresh kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("nbclient", "nbconvert")
STALL_S = 10.0  # a client that takes longer than this to notice a finished cell missed the reply


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def idle_waits(notebook, end: float | None = None) -> list[tuple[int, float]]:
    """``(cell index, seconds)`` per executed code cell: how long the kernel sat idle after that cell
    before the client sent the next one (or, for the last one, before ``end``, a time.time()).

    From the time stamps nbclient records in each cell's ``metadata.execution`` (kernel clock):
    the later of ``iopub.status.idle`` and ``shell.execute_reply`` to the next cell's
    ``iopub.status.busy``.
    """
    finished: list[tuple[int, float, float | None]] = []  # (index, done, busy)
    for index, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if cell.get("cell_type") != "code" or "iopub.status.busy" not in timing:
            continue
        done = [_stamp(timing[key]) for key in ("iopub.status.idle", "shell.execute_reply") if key in timing]
        finished.append((index, max(done) if done else None, _stamp(timing["iopub.status.busy"])))
    waits = []
    for (index, done, _), following in zip(finished, finished[1:] + [None]):
        nxt = following[2] if following else end
        if done is not None and nxt is not None:
            waits.append((index, max(0.0, nxt - done)))
    return waits


def _check_waits(outcome: dict, notebook, end: float | None, stall: float) -> dict:
    waits = idle_waits(notebook, end)
    if waits:
        cell, longest = max(waits, key=lambda w: w[1])
        outcome["longest_idle_wait"] = [cell, round(longest, 2)]
        if longest > stall and "error" not in outcome:
            outcome["error"] = f"waited {longest:.0f} s on an idle kernel after cell {cell}"
    return outcome


def run_here(path: Path, tier: str, cell_timeout: int, progress: Path, keep: Path | None = None,
             stall: float = STALL_S) -> dict:
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
        _check_waits(outcome, notebook, time.time(), stall)
        if keep is not None:
            nbformat.write(notebook, keep)
        return outcome


def run_nbconvert(path: Path, tier: str, cell_timeout: int, keep: Path | None = None,
                  stall: float = STALL_S) -> dict:
    """Execute a copy of the notebook with ``jupyter nbconvert --execute`` (in this child process's group)."""
    import nbformat

    with tempfile.TemporaryDirectory() as workdir:
        copy = Path(workdir) / path.name
        shutil.copyfile(path, copy)
        command = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--output", "executed",
                   f"--ExecutePreprocessor.timeout={cell_timeout}", "--ExecutePreprocessor.kernel_name=python3",
                   str(copy)]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=workdir, env={**os.environ, "VOCLAB_TIER": tier},
                              capture_output=True, text=True, check=False)
        outcome: dict = {"seconds": time.perf_counter() - start}
        executed = Path(workdir) / "executed.ipynb"
        if done.returncode != 0 or not executed.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            outcome["error"] = f"nbconvert exited with code {done.returncode}: " + " | ".join(lines[-3:])[:300]
            return outcome
        notebook = nbformat.read(executed, as_version=4)
        _check_waits(outcome, notebook, time.time(), stall)
        if keep is not None:
            shutil.copyfile(executed, keep)
        return outcome


def run_notebook(path: Path, tier: str, cell_timeout: int, limit: int, keep: Path | None = None,
                 engine: str = "nbclient", stall: float = STALL_S) -> dict:
    """Run one notebook in a child process; kill it and all it started after ``limit`` seconds.

    Returns ``{"seconds": ..., "error": ... (if it failed), "longest_idle_wait": [cell, seconds]}``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    with tempfile.TemporaryDirectory() as scratch:
        progress, result = Path(scratch) / "cell", Path(scratch) / "result.json"
        command = [sys.executable, __file__, "--child", str(path), str(tier), str(cell_timeout), str(progress),
                   str(result), str(keep or ""), engine, str(stall)]
        start = time.perf_counter()
        child = subprocess.Popen(command, start_new_session=True)  # its own group: the kernel dies with it
        try:
            child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            unknown = "?" if engine == "nbclient" else "? (nbconvert does not say which)"
            cell = progress.read_text() if progress.exists() else unknown
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
        path, tier, cell_timeout, progress, result, keep, engine, stall = sys.argv[2:10]
        keep_path = Path(keep) if keep else None
        if engine == "nbconvert":
            outcome = run_nbconvert(Path(path), tier, int(cell_timeout), keep_path, float(stall))
        else:
            outcome = run_here(Path(path), tier, int(cell_timeout), Path(progress), keep_path, float(stall))
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
    parser.add_argument("--engine", choices=ENGINES, default="nbclient",
                        help="nbclient (default) or `jupyter nbconvert --execute`")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each notebook N times in a row, each in a fresh kernel")
    parser.add_argument("--stall", type=float, default=STALL_S, metavar="S",
                        help=f"fail a run whose client left the kernel idle for more than S s between cells "
                             f"(default {STALL_S:g})")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    paths = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb"))
    print(f"{os.cpu_count()} CPUs; 1-minute load average before each run in brackets; engine {args.engine}"
          + (f"; {args.repeat} runs of each notebook" if args.repeat > 1 else ""))
    print("| notebook | " + " | ".join(args.tier) + " |")
    print("|---|" + "---|" * len(args.tier))
    runs = failures = 0
    for path in paths:
        cells = []
        for tier in args.tier:
            outcomes, loads = [], []
            for repeat in range(args.repeat):
                loads.append(load())
                kept = None
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    suffix = f".run{repeat + 1}" if args.repeat > 1 else ""
                    kept = args.keep / f"{path.parent.name}-{path.stem}.{tier}{suffix}.ipynb"
                outcomes.append(run_notebook(path, tier, args.cell_timeout, args.limit, kept, args.engine,
                                             args.stall))
            runs += len(outcomes)
            failures += sum("error" in o for o in outcomes)
            cells.append(describe(outcomes, loads))
        label = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    if args.repeat > 1 or failures:
        print(f"{runs - failures} of {runs} runs finished without error or stall ({args.engine})")
    return 1 if failures else 0


def describe(outcomes: list[dict], loads: list[str]) -> str:
    """One table cell: the time of a single run, or every run's time and their median."""
    if len(outcomes) == 1:
        seconds = outcomes[0]["seconds"]
        cell = f"{seconds / 60:.1f} min ({seconds:.0f} s) [load {loads[0]}]"
    else:
        times = " · ".join(f"{o['seconds']:.0f}" for o in outcomes)
        median = statistics.median(o["seconds"] for o in outcomes)
        waits = [o["longest_idle_wait"] for o in outcomes if "longest_idle_wait" in o]
        cell = (f"{len(outcomes) - sum('error' in o for o in outcomes)}/{len(outcomes)} ok; "
                f"median {median:.0f} s (runs: {times} s) [load {loads[0]}–{loads[-1]}]")
        if waits:
            after, seconds = max(waits, key=lambda w: w[1])
            cell += f"; longest idle wait {seconds:.2f} s (after cell {after})"
    for number, outcome in enumerate(outcomes, 1):
        if "error" in outcome:
            cell += f" FAILED{f' (run {number})' if len(outcomes) > 1 else ''}: {outcome['error']}"
    return cell


if __name__ == "__main__":
    sys.exit(main())
