"""voclab.threads: the thread policy that keeps voclab fast on a shared CPU (issue 9)."""

import os
import subprocess
import sys

import pytest
import torch

from voclab import threads
from voclab.errors import ConfigError


def _fresh_python(code: str, **env) -> str:
    """Run ``code`` in a new interpreter (thread settings are fixed when torch loads)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "VOCLAB_THREADS")}
    clean.update(env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_voclab_first_sets_passive_waits_and_leaves_a_cpu_free():
    out = _fresh_python(
        "import os, voclab, torch; "
        "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads(), voclab.threads.available_cpus())"
    )
    policy, threads_now, cpus = out.split()
    assert policy == "PASSIVE"
    assert int(threads_now) == max(1, int(cpus) - 1)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_available_cpus_follows_the_affinity_mask_not_the_core_count():
    out = _fresh_python(
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "import voclab, torch; print(voclab.threads.available_cpus(), torch.get_num_threads())"
    )
    assert out.split() == ["1", "1"]


def test_cgroup_quota_caps_the_cpus(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads._cgroup_cpu_limit(str(tmp_path)) == pytest.approx(1.5)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_cpu_limit(str(tmp_path)) is None


def test_user_settings_win():
    cpus = str(threads.available_cpus())  # torch caps a thread count from the environment at the cores
    assert _fresh_python("import voclab, torch; print(torch.get_num_threads())", VOCLAB_THREADS=cpus) == cpus
    assert _fresh_python("import voclab, torch; print(torch.get_num_threads())", OMP_NUM_THREADS=cpus) == cpus
    assert _fresh_python("import voclab, os; print(os.environ['OMP_WAIT_POLICY'])", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_a_bad_thread_count_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("VOCLAB_THREADS", "two")
    with pytest.raises(ConfigError, match="VOCLAB_THREADS='two'.*positive whole number"):
        threads.default_threads()


def test_small_work_gets_one_thread_and_the_count_comes_back():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert threads.threads_for(10_000) == 1
        assert threads.threads_for(5 * threads.ELEMENTS_PER_THREAD) == 2
        with threads.limit_threads(1) as used:
            assert used == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_griffin_lim_restores_the_thread_count():
    import numpy as np

    from voclab.phase import griffin_lim

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        griffin_lim(np.ones((65, 20), dtype=np.float32), n_iter=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
