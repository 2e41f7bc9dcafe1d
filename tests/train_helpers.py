"""What the training tests share: the toy model, its clips and a run of it, ``voclab`` in a subprocess,
the log, and a run killed with SIGKILL in the middle of writing a checkpoint.

tests/test_train.py, tests/test_train_reliability.py, tests/test_generate.py and
tests/test_gansynth_train.py import from here. A test module that wants the ``toy`` and ``data`` fixtures
imports ``toy_fixture`` and ``data_fixture``: pytest finds them in its namespace under their fixture names,
and a test's ``toy`` or ``data`` argument shadows no import.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import toy_vocoder
from toy_vocoder import make_clips

from voclab.checkpoint import list_checkpoints
from voclab.models import MODELS, register_model
from voclab.train import train

REPO = Path(__file__).resolve().parents[1]
#: ``train(...)`` without TensorBoard or a progress bar
QUIET = {"tensorboard": False, "progress": False}
#: ``voclab`` in a subprocess
VOCLAB = [sys.executable, "-m", "voclab"]
#: ``voclab`` in a subprocess, with the toy model registered the way a user registers their own
#: (voclab never imports a model by the name a checkpoint gives)
TOY_VOCLAB = [sys.executable, "-c", ("import sys, toy_vocoder, voclab.models, voclab.cli; "
                                     "voclab.models.register_model('toy', toy_vocoder); "
                                     "sys.exit(voclab.cli.main(sys.argv[1:]))")]


@pytest.fixture(name="toy")
def toy_fixture():
    """The name ``"toy"``, registered as tests/toy_vocoder.py for the test and unregistered after it."""
    register_model("toy", toy_vocoder)
    yield "toy"
    MODELS.pop("toy", None)


@pytest.fixture(name="data")
def data_fixture(tmp_path):
    """A folder of six 0.3 s harmonic clips at 22050 Hz (tests/toy_vocoder.py ``make_clips``)."""
    make_clips(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture(name="vocoder_run")
def vocoder_run_fixture(tmp_path):
    """The run folder of a toy vocoder trained one step on four clips: the wrong checkpoint for ``generate``."""
    register_model("toy", toy_vocoder)
    try:
        make_clips(tmp_path / "speech", n=4)
        train("toy", None, tmp_path / "speech", tmp_path / "toy_run", steps=1, **QUIET)
        yield tmp_path / "toy_run"
    finally:
        MODELS.pop("toy", None)


def subprocess_env(threads: int = 1) -> dict:
    """The environment of a ``voclab`` subprocess: the repository and tests/ importable, ``threads`` threads.

    VOCLAB_THREADS as well as OMP_NUM_THREADS, so that a killed, a resumed and a straight run add up
    their floats alike whatever the caller's environment says.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(REPO / "tests"), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = str(threads)
    env["VOCLAB_THREADS"] = str(threads)
    return env


def run_voclab(*args: str, launcher: list[str] = VOCLAB, threads: int = 1,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``voclab ARGS`` (or ``launcher ARGS``) to its end in the repository, its output captured as text."""
    return subprocess.run([*launcher, *args], cwd=REPO, env=subprocess_env(threads), capture_output=True,
                          text=True, timeout=timeout)


def train_rows(run: Path, kind: str = "train") -> list[dict]:
    """The rows of ``run/log.jsonl`` of one type (``"train"``, ``"val"``)."""
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [row for row in rows if row["type"] == kind]


def train_steps(run: Path) -> list[int]:
    """The steps of ``run``'s training rows, in the order they were logged."""
    return [row["step"] for row in train_rows(run)]


def every_step_command(model: str, data: Path, run: Path, *more: str, keep_last: int = 1000) -> list[str]:
    """``train MODEL MORE`` arguments that log and checkpoint every step and never validate.

    Every step then writes a checkpoint, so a kill lands during one as often as not.
    """
    return ["train", model, *more, "--data", str(data), "--out", str(run), "--ckpt-every", "1",
            "--keep-last", str(keep_last), "--log-every", "1", "--val-every", "1000000", "--no-tensorboard"]


def kill_during_training(command: list[str], run: Path, *, checkpoints: int, settle_s: float,
                         limit_s: float = 180) -> int:
    """Start ``command`` (a whole argv), SIGKILL it once ``run`` holds ``checkpoints`` checkpoints and
    ``settle_s`` more seconds have passed, and return the step of the last checkpoint it left.

    With a checkpoint every step (:func:`every_step_command`) the kill lands while one is written.
    """
    process = subprocess.Popen(command, cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + limit_s
        while len(list_checkpoints(run / "checkpoints")) < checkpoints:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, f"no {checkpoints} checkpoints within {limit_s:.0f} s"
            time.sleep(0.05)
        time.sleep(settle_s)  # a few more steps, each writing a checkpoint
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    found = list_checkpoints(run / "checkpoints")
    assert found, "the checkpoint seen before the kill is gone"
    return found[-1][0]
