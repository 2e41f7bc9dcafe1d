"""Training that cannot go quietly wrong: resume from the saved config, one trainer per run
folder, model names from voclab's registry only, and every config value checked up front.

Issue 9, §3 items 1, 2, 3 and 7. The toy vocoder (tests/toy_vocoder.py) keeps each test to
a few seconds on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import toy_vocoder
from train_helpers import (
    QUIET,
    REPO,
    TOY_VOCLAB,
    data_fixture,  # noqa: F401 (the fixture data)
    subprocess_env,
    toy_fixture,  # noqa: F401 (the fixture toy)
    train_rows,
)

from voclab import cli
from voclab.checkpoint import FORMAT, load_checkpoint, read_checkpoint
from voclab.config import load_config, resolve_model
from voclab.errors import CheckpointError, ConfigError, TrainingError
from voclab.models import MODELS, register_model
from voclab.spectral import MelConfig
from voclab.train import train


# --------------------------------------------------------------------------- 1. --resume before the first checkpoint


def test_resume_before_the_first_checkpoint_keeps_the_saved_config(toy, data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "toy", "--data", str(data), "--out", str(run), "--no-tensorboard", "--log-every", "1"]
    assert cli.main(args + ["--steps", "2", "--set", "channels=4", "--batch-size", "3"]) == 0
    shutil.rmtree(run / "checkpoints")  # what a kill -9 before the first checkpoint leaves
    capsys.readouterr()
    assert cli.main(args + ["--steps", "2", "--resume"]) == 0
    state = read_checkpoint(run)
    assert (state["step"], state["config"]["channels"], state["config"]["batch_size"]) == (2, 4, 3)
    out = capsys.readouterr().out
    assert "no checkpoint" in out and "config.json" in out  # it says what it does
    assert json.loads((run / "config.json").read_text())["channels"] == 4  # not overwritten with defaults
    assert [r["step"] for r in train_rows(run)] == [1, 2]  # the killed run's rows went with its steps


def test_resume_before_the_first_checkpoint_keeps_the_runs_target(toy, data, tmp_path):
    run = tmp_path / "run"
    train(toy, load_config(toy, None, ["channels=4"]), data, run, steps=2, **QUIET)
    shutil.rmtree(run / "checkpoints")
    summary = train(toy, None, data, run, resume=True, **QUIET)  # README's recovery command: no --steps
    assert summary.step == 2 and read_checkpoint(run)["config"]["channels"] == 4


def test_resume_with_nothing_to_resume_says_what_to_run(toy, data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "toy", "--data", str(data), "--out", str(run), "--steps", "1", "--resume"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "without --resume" in err and err.count("\n") == 1
    assert not (run / "checkpoints").exists() and not (run / "config.json").exists()
    # a run folder of another model is not resumed with this one
    run.mkdir(exist_ok=True)
    (run / "config.json").write_text(json.dumps({"model": "melgan", "batch_size": 2}))
    assert cli.main(args) == 2
    assert "'melgan' run" in capsys.readouterr().err
    assert not (run / "checkpoints").exists()


# --------------------------------------------------------------------------- 2. one trainer per run folder


def test_a_second_trainer_is_refused_and_a_killed_one_blocks_nobody(toy, data, tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen(
        TOY_VOCLAB + ["train", "toy", "--data", str(data), "--out", str(run), "--steps", "100000",
                      "--ckpt-every", "100000", "--val-every", "100000", "--log-every", "1", "--no-tensorboard"],
        cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while f'"pid": {first.pid},' not in ((run / ".lock").read_text() if (run / ".lock").exists() else ""):
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "the first trainer took no lock within 2 minutes"
            time.sleep(0.05)
        with pytest.raises(TrainingError) as refused:
            train(toy, None, data, run, steps=2, **QUIET)
        message = str(refused.value)
        assert f"pid {first.pid}" in message and socket.gethostname() in message and "since" in message
        code = cli.main(["train", "toy", "--data", str(data), "--out", str(run), "--steps", "2", "--resume"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("voclab: ") and err.count("\n") == 1 and f"pid {first.pid}" in err
        assert first.poll() is None  # the first trainer goes on, untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert f'"pid": {first.pid},' in (run / ".lock").read_text()  # the killed trainer's lock file is still there
    assert train(toy, None, data, run, steps=1, **QUIET).step == 1  # ... and blocks nobody


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl")
def test_the_lock_is_released_when_a_run_ends_or_fails(toy, data, tmp_path):
    import fcntl

    run = tmp_path / "run"
    train(toy, None, data, run, steps=1, **QUIET)
    with pytest.raises(TrainingError, match="--resume"):  # a refusal after the lock was taken ...
        train(toy, None, data, run, steps=2, **QUIET)
    with open(run / ".lock", "a+") as lock:  # ... releases it too
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- 3. model names from the registry only


def make_evil_package(folder: Path) -> Path:
    """A package whose import leaves a marker file; returns the marker's path."""
    marker = folder / "imported"
    (folder / "evil").mkdir()
    (folder / "evil" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (folder / "evil" / "model.py").write_text("")
    return marker


def save_evil_checkpoint(path: Path) -> Path:
    torch.save({"format": FORMAT, "model": "evil.model", "config": {}, "mel": MelConfig.preset("hifigan").to_dict(),
                "step": 1, "epoch": 0, "modules": {"generator": {}}}, path)
    return path


def test_a_checkpoint_never_imports_the_module_it_names(tmp_path, monkeypatch):
    marker = make_evil_package(tmp_path)
    checkpoint = save_evil_checkpoint(tmp_path / "step_00000001.pt")
    monkeypatch.syspath_prepend(str(tmp_path))  # as a notebook's working folder is
    with pytest.raises((CheckpointError, ConfigError)) as refused:
        load_checkpoint(checkpoint)
    assert not marker.exists(), "loading a checkpoint imported the module it names"
    message = str(refused.value)
    assert "'evil.model'" in message and "hifigan, melgan, wavegan, wavenet" in message and "register_model" in message
    with pytest.raises(ConfigError, match="Known models"):
        load_config("evil.model")
    assert not marker.exists()
    monkeypatch.delitem(sys.modules, "evil", raising=False)


def test_voclab_vocode_never_imports_the_module_a_checkpoint_names(tmp_path):
    marker = make_evil_package(tmp_path)
    save_evil_checkpoint(tmp_path / "evil.pt")
    sf.write(tmp_path / "in.wav", np.zeros(2048, np.float32), 22050)
    env = subprocess_env()
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-m", "voclab", "vocode", "evil.pt", "in.wav", "-o", "out"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert not marker.exists(), "voclab vocode imported the module a checkpoint names"
    assert result.returncode == 2 and "Known models" in result.stderr and "Traceback" not in result.stderr


def test_own_models_are_registered_in_python():
    import json as not_a_model

    with pytest.raises(ConfigError, match="register_model"):
        resolve_model("toy2")
    try:
        assert register_model("toy2", toy_vocoder) is toy_vocoder
        assert resolve_model("toy2") is toy_vocoder
        register_model("toy2", toy_vocoder)  # the same module again: fine
        with pytest.raises(ConfigError, match="already"):
            register_model("hifigan", toy_vocoder)
        with pytest.raises(ConfigError, match="lacks Config"):
            register_model("json", not_a_model)
        assert "json" not in MODELS
    finally:
        MODELS.pop("toy2", None)


# --------------------------------------------------------------------------- 7. every value checked before any work


def read_only_folder(path: Path):
    """Make ``path`` unwritable; return how to undo it, or None when this cannot be done here.

    Root ignores permissions, so as root the folder is made immutable (chattr +i) as well.
    """
    path.mkdir()
    os.chmod(path, 0o555)
    immutable = getattr(os, "geteuid", lambda: 1)() == 0 and shutil.which("chattr") is not None \
        and subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode == 0

    def undo():
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        os.chmod(path, 0o755)

    try:
        (path / "probe").touch()
    except OSError:
        return undo
    (path / "probe").unlink()
    undo()
    return None


BAD_VALUES = [  # (model, arguments, the field the message must name)
    ("hifigan", ["--batch-size", "0"], "batch_size"),
    ("toy", ["--batch-size", "0"], "batch_size"),
    ("toy", ["--batch-size", "-2"], "batch_size"),
    ("toy", ["--set", "batch_size=two"], "batch_size"),
    ("toy", ["--set", "channels=2.5"], "channels"),
    ("toy", ["--set", "learning_rate=-1"], "learning_rate"),
    ("toy", ["--set", "learning_rate=NaN"], "learning_rate"),
    ("toy", ["--device", "tpu"], "device"),
    ("toy", ["--device", "cuda:x"], "device"),
    ("toy", ["--steps", "0"], "steps"),
    ("toy", ["--steps", "-5"], "steps"),
    ("toy", ["--out", "FILE"], "--out"),
    ("toy", ["--out", "READ_ONLY"], "--out"),
    ("hifigan", ["--set", "upsample_initial_channel=0"], "upsample_initial_channel"),
    ("hifigan", ["--set", "resblock_kernel_sizes=[]", "--set", "resblock_dilation_sizes=[]"], "resblock_kernel_sizes"),
    ("hifigan", ["--set", "adam_b1=1"], "adam_b1"),
    ("melgan", ["--set", "num_D=0"], "num_D"),
]


@pytest.mark.parametrize("model, extra, field", BAD_VALUES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_values_are_one_clear_error_before_any_work(toy, data, tmp_path, capsys, model, extra, field):
    run = tmp_path / "run"
    extra = list(extra)
    if "FILE" in extra:
        run.write_text("not a folder")
        extra[extra.index("FILE")] = str(run)
    undo = None
    if "READ_ONLY" in extra:
        undo = read_only_folder(run)
        if undo is None:
            pytest.skip("cannot make a folder read-only here")
        extra[extra.index("READ_ONLY")] = str(run)
    small = ["--set", "segment_size=2048", "--batch-size", "2"] if model != "toy" else []
    try:
        code = cli.main(["train", model, "--data", str(data), "--out", str(run), "--steps", "1", "--no-tensorboard",
                         *small, *extra])
    finally:
        if undo is not None:
            undo()
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("voclab: ") and err.count("\n") == 1, err
    assert field in err.split("voclab: ", 1)[1], err
    assert not run.is_dir() or not any(run.iterdir()), "the run folder was written to"


def test_a_config_object_given_to_train_is_checked_too(toy, data, tmp_path):
    cfg = load_config(toy)
    cfg.learning_rate = -1.0  # set after the Config was made: train() checks it again
    with pytest.raises(ConfigError, match="learning_rate"):
        train(toy, cfg, data, tmp_path / "run", steps=1, **QUIET)
    assert not (tmp_path / "run").exists()
