"""Run notebooks top to bottom in a compute tier and print their wall times.

The README's table of notebook times comes from this script (run on a 2-core CPU):

    python tools/time_notebooks.py --tier quick standard          # solutions/ and notebooks/
    python tools/time_notebooks.py solutions/01_phase_and_griffin_lim.ipynb --tier full

Each notebook runs in a fresh kernel, in a temporary copy of its folder, with
``VOCLAB_TIER`` set; nothing is written back. A notebook that raises stops the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run_notebook(path: Path, tier: str, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    previous = os.environ.get("VOCLAB_TIER")
    os.environ["VOCLAB_TIER"] = tier  # the kernel inherits the environment
    try:
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": workdir}}).execute()
            return time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("VOCLAB_TIER", None)
        else:
            os.environ["VOCLAB_TIER"] = previous


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook in solutions/ and notebooks/")
    parser.add_argument("--tier", nargs="+", default=["quick"], choices=["quick", "standard", "full"])
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb"))
    print(f"| notebook | " + " | ".join(args.tier) + " |")
    print("|---|" + "---|" * len(args.tier))
    for path in paths:
        times = [run_notebook(path, tier, args.timeout) for tier in args.tier]
        label = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"| {label} | " + " | ".join(f"{t / 60:.1f} min ({t:.0f} s)" for t in times) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
