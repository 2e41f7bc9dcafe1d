"""Timing helpers shared by the benchmarks: interleaved contenders, on a quiet CPU and a contended one.

A speed that holds only on an idle machine is not a speed: course machines are shared. Each
benchmark times its contenders twice — as the machine is, and while this module keeps one
core busy with a spinning process pinned to it (``busy_core``) — and in each phase the
contenders take turns run by run, so a change in the machine's load hits all of them alike.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time

# The spinning process: pinned to one CPU where the OS allows it, so it takes exactly one core.
_SPIN = """
import os, sys
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(sys.argv[1])})
while True:
    pass
"""


def machine_load() -> str:
    """The 1-minute load average and the CPU count, for the report ("n/a" where unknown)."""
    try:
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:
        return f"load n/a on {os.cpu_count()} CPUs"


@contextlib.contextmanager
def busy_core():
    """Keep one CPU (the first this process may use) busy with a spinning process for the block."""
    cpu = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    spinner = subprocess.Popen([sys.executable, "-c", _SPIN, str(cpu)])
    time.sleep(0.3)  # let it start spinning
    try:
        yield cpu
    finally:
        spinner.kill()
        spinner.wait()


def interleaved(contenders: dict, runs: int, *, synchronize=None) -> dict:
    """Median seconds of each contender, calling them in turn ``runs`` times after one warm-up each.

    Parameters
    ----------
    contenders : dict of name -> callable(seed)
        Each is called with the run's seed (0 for the warm-up, then 1 … runs).
    runs : int
    synchronize : callable, optional
        Called after each run before the clock stops (``torch.cuda.synchronize`` on a GPU).

    Returns
    -------
    results : dict of name -> (median_seconds, list of outputs)
    """
    for fn in contenders.values():
        fn(0)  # warm-up: FFT plans, caches, numba
    times = {name: [] for name in contenders}
    outputs = {name: [] for name in contenders}
    names = list(contenders)
    for seed in range(1, runs + 1):
        # alternate who goes first, so neither always inherits the other's warm caches
        for name in names if seed % 2 else reversed(names):
            start = time.perf_counter()
            out = contenders[name](seed)
            if synchronize is not None:
                synchronize()
            times[name].append(time.perf_counter() - start)
            outputs[name].append(out)
    return {name: (statistics.median(times[name]), outputs[name]) for name in names}


def quiet_and_contended(contenders: dict, runs: int, *, synchronize=None) -> dict:
    """:func:`interleaved` as the machine is (``"quiet"``) and with :func:`busy_core` (``"contended"``).

    Returns
    -------
    results : dict of phase -> (load description, dict of name -> (median_seconds, outputs))
    """
    phases = {}
    phases["quiet"] = (machine_load(), interleaved(contenders, runs, synchronize=synchronize))
    with busy_core() as cpu:
        results = interleaved(contenders, runs, synchronize=synchronize)
        phases["contended"] = (f"{machine_load()}, a spinning process pinned to CPU {cpu}", results)
    return phases
