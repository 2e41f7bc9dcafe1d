"""Repository-wide pytest set-up: the quick tier, and a wall-time table per notebook.

Tests run in the quick tier (MISSION: every notebook in at most 2 minutes on 2 CPU
cores). nbval runs each notebook cell by cell; the table at the end adds the cells of
each notebook up, so CI prints the wall time of every notebook and of the whole run.
"""

import os
import time
from collections import defaultdict

import pytest

os.environ.setdefault("VOCLAB_TIER", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")

_notebook_seconds: dict[str, float] = defaultdict(float)
_session_start = time.perf_counter()
_waits: list[tuple[str, float, float]] = []  # (what, seconds waited, limit in seconds)


@pytest.fixture(scope="session")
def record_wait():
    """``record_wait(what, seconds, limit_s)``: the summary lists every wait a test recorded.

    The browser tests wait for JupyterLab, Run All and redraws; on a busy machine those waits are
    what grows, so CI prints each one against its limit, passed or not.
    """

    def record(what: str, seconds: float, limit_s: float) -> None:
        _waits.append((what, seconds, limit_s))

    return record


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    total = time.perf_counter() - _session_start
    write = terminalreporter.write_line
    if _notebook_seconds:
        terminalreporter.section("notebook wall times (tier: %s)" % os.environ.get("VOCLAB_TIER"))
        for path, seconds in sorted(_notebook_seconds.items()):
            flag = "" if seconds <= 120 else "   <-- over the 2-minute quick-tier budget"
            write(f"{path:<55} {seconds:7.1f} s{flag}")
    if _waits:
        terminalreporter.section("waits")
        for what, seconds, limit_s in _waits:
            flag = "   <-- hit its limit" if seconds >= limit_s else ""
            write(f"{what:<55} {seconds:7.1f} s of {limit_s:.0f} s{flag}")
    write(f"whole test run: {total:.1f} s")
collect_ignore_glob = ["tests/fixtures/*"]
