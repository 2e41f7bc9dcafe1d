"""How many CPU threads voclab's PyTorch work uses, decided in one place.

Course machines are rarely idle: a lab server runs other students' notebooks, a laptop runs a
browser. PyTorch's default is one OpenMP thread per physical core, and idle OpenMP threads *spin*
while they wait for each other. When another process holds one of those cores, every parallel
region waits for the descheduled thread while the others burn the CPU: measured on a 2-core
machine with both cores busy, Griffin-Lim took 3712 ms with 2 threads against 298 ms with 1 (and
863 ms for librosa). So, on ``import voclab``:

1. ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep), if the environment does not say otherwise
   and PyTorch has not started yet — OpenMP reads it once, when PyTorch loads. Import voclab
   before torch (the notebooks do) for it to take effect.
2. The intra-op thread count is the number of CPUs this process may use (its CPU affinity and its
   cgroup CPU quota, not the machine's core count) minus one, kept for the notebook server, the
   browser or whatever else shares the machine; at least one. On a 2-core machine that is one
   thread: ``benchmarks/griffin_lim.py`` and ``benchmarks/vocoder_speed.py`` measure it quiet and
   with a busy process pinned to one core.
3. Small per-call work (Griffin-Lim on a few seconds of audio) runs on fewer threads still
   (:func:`threads_for`): starting and joining threads costs more than it saves.

``VOCLAB_THREADS=N`` sets the thread count; ``OMP_NUM_THREADS`` set by you is respected; with
PyTorch already imported, voclab only lowers a count above the CPUs the process may use.

Notebook: all (the setting every notebook relies on); measured in ``benchmarks/``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys

__all__ = ["available_cpus", "configure", "default_threads", "limit_threads", "threads_for"]

#: Elements of per-call work that justify one more thread (measured with Griffin-Lim, whose
#: per-iteration work is a few element-wise passes and an FFT over ``freq * frames`` bins: on a
#: 2-core machine a second thread paid off only from about a million bins, ≈ 25 s of audio).
ELEMENTS_PER_THREAD = 1_000_000


def _cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup v2 (``cpu.max``) or v1 (``cfs_quota_us``) quota, if any."""
    candidates = [
        (f"{root}/cpu.max", None),
        (f"{root}/cpu/cpu.cfs_quota_us", f"{root}/cpu/cpu.cfs_period_us"),
    ]
    for quota_file, period_file in candidates:
        try:
            with open(quota_file, encoding="ascii") as f:
                fields = f.read().split()
            if period_file is not None:
                with open(period_file, encoding="ascii") as f:
                    fields.append(f.read().strip())
        except (OSError, ValueError):
            continue
        if len(fields) >= 2 and fields[0] not in ("max", "-1"):
            try:
                quota, period = float(fields[0]), float(fields[1])
            except ValueError:
                continue
            if quota > 0 and period > 0:
                return quota / period
    return None


def available_cpus() -> int:
    """Number of CPUs this process may run on: its affinity mask and cgroup quota, not ``os.cpu_count()``.

    In a container limited to 2 CPUs on a 64-core host, ``os.cpu_count()`` says 64; this says 2.

    Returns
    -------
    cpus : int
        At least 1.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_limit()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def default_threads() -> int:
    """The intra-op thread count voclab uses: ``VOCLAB_THREADS``, else ``OMP_NUM_THREADS``, else available CPUs − 1.

    Returns
    -------
    threads : int
        At least 1.

    Raises
    ------
    voclab.errors.ConfigError
        ``VOCLAB_THREADS`` is not a positive integer.
    """
    from .errors import ConfigError

    for name in ("VOCLAB_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                threads = int(value)
            except ValueError:
                threads = 0
            if threads < 1:
                raise ConfigError(f"{name}={value!r}: set it to a positive whole number of threads, e.g. {name}=1.")
            return threads
    return max(1, available_cpus() - 1)


def configure() -> int:
    """Apply voclab's thread policy (the module docstring says why); called once by ``import voclab``.

    Returns
    -------
    threads : int
        The intra-op thread count now in force (or that PyTorch will start with).
    """
    threads = default_threads()
    torch = sys.modules.get("torch")
    if torch is None:
        # OpenMP and PyTorch read these once, when they load: set them while there is time
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        return threads
    if os.environ.get("VOCLAB_THREADS"):
        torch.set_num_threads(threads)
    elif torch.get_num_threads() > available_cpus():
        torch.set_num_threads(available_cpus())  # never more threads than CPUs we may use
    return torch.get_num_threads()


@contextlib.contextmanager
def limit_threads(threads: int):
    """Run the block with at most ``threads`` intra-op threads, then restore the count.

    Parameters
    ----------
    threads : int
        Upper bound (the current count is kept if it is lower).

    Examples
    --------
    >>> import torch
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    """
    import torch

    before = torch.get_num_threads()
    wanted = max(1, min(int(threads), before))
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if wanted != before:
            torch.set_num_threads(before)


def threads_for(elements: int) -> int:
    """Threads worth using for per-call work of ``elements`` elements: one per :data:`ELEMENTS_PER_THREAD`.

    Parameters
    ----------
    elements : int
        Size of the work done per call, e.g. ``magnitude.numel()`` for Griffin-Lim.

    Returns
    -------
    threads : int
        Between 1 and the current intra-op thread count.
    """
    import torch

    return max(1, min(torch.get_num_threads(), int(elements) // ELEMENTS_PER_THREAD))
