"""The shared training machinery: configs, data, the loop, checkpoints, resume, kill -9, DDP.

A toy vocoder (tests/toy_vocoder.py) implements the model protocol, so these tests do not
wait for the real models and run in seconds on 2 CPU cores.
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
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from toy_vocoder import make_clips

import voclab
from voclab import cli
from voclab import train as train_module
from voclab.checkpoint import (
    FORMAT,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint,
    resolve_checkpoint,
    save_atomic,
)
from voclab.datasets import AudioSegments, find_audio_files, split_files
from voclab.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    TrainingError,
    VoclabError,
)
from voclab.models import MODELS, get_model
from voclab.spectral import MelConfig, mel_spectrogram
from voclab.train import load_config, train

REPO = Path(__file__).resolve().parents[1]
SR = 22050
#: the toy model by module path, for subprocesses (they do not see the monkeypatched MODELS)
TOY_PATH = "tests.toy_vocoder"
QUIET = {"tensorboard": False, "progress": False}


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(MODELS, "toy", "toy_vocoder")
    return "toy"


@pytest.fixture
def data(tmp_path):
    make_clips(tmp_path / "data")
    return tmp_path / "data"


def train_rows(run: Path, kind: str = "train") -> list[dict]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [row for row in rows if row["type"] == kind]


def subprocess_env(threads: int = 1) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = str(threads)
    return env


# --------------------------------------------------------------------------- configs


def test_load_config_from_file_with_overrides(toy, tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps({"model": "toy", "_note": "ignored", "channels": 4, "mel": "hifigan"}))
    cfg = load_config(toy, path, ["batch_size=3", "learning_rate=1e-3", "mel.fmax=null", "noise=0"])
    assert (cfg.channels, cfg.batch_size, cfg.learning_rate, cfg.noise) == (4, 3, 1e-3, 0)
    assert isinstance(cfg.mel, dict) and cfg.mel["fmax"] is None  # the rest of the preset kept
    assert MelConfig.from_dict(cfg.mel).diff(MelConfig.preset("hifigan")) == {"fmax": (None, 8000.0)}
    assert load_config(toy, path, ["mel=melgan"]).mel == "melgan"  # not JSON: a string


def test_named_config_is_found_in_the_package_folder(toy, tmp_path, monkeypatch):
    (tmp_path / "toy_small.json").write_text(json.dumps({"model": "toy", "channels": 2}))
    monkeypatch.setattr(train_module, "CONFIG_DIR", tmp_path)
    assert load_config(toy, "toy_small").channels == 2
    assert train_module.config_names("toy") == ["toy_small"]
    with pytest.raises(ConfigError, match="toy_small"):  # the message lists what is shipped
        load_config(toy, "toy_big")


def test_unknown_key_lists_the_fields(toy):
    with pytest.raises(ConfigError) as info:
        load_config(toy, None, ["chanels=3"])
    message = str(info.value)
    assert "'chanels'" in message and "did you mean 'channels'" in message
    for name in ("channels", "segment_size", "batch_size", "mel"):
        assert name in message


def test_config_errors_say_what_to_do(toy, tmp_path):
    with pytest.raises(ConfigError, match="key=value"):
        load_config(toy, None, ["channels"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model": "melgan", "ngf": 32}))
    with pytest.raises(ConfigError, match="for model 'melgan', not 'toy'"):
        load_config(toy, other)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(toy, bad)
    with pytest.raises(ConfigError, match="no \"model\""):
        (tmp_path / "nomodel.json").write_text("{}")
        load_config(toy, tmp_path / "nomodel.json")
    with pytest.raises(ConfigError, match="MelConfig has no field"):
        load_config(toy, None, ["mel.fmaxx=1"])
    with pytest.raises(ConfigError, match="No model"):
        load_config("wavegan9000")


@pytest.mark.parametrize("path", sorted((REPO / "voclab" / "configs").glob("*.json")), ids=lambda p: p.name)
def test_shipped_configs_load_with_their_model(path):
    model = json.loads(path.read_text())["model"]
    cfg = load_config(model, path.stem)
    assert train_module.mel_config_of(cfg).hop_length > 0
    assert cfg.segment_size % train_module.mel_config_of(cfg).hop_length == 0


def test_configs_are_package_data():
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "configs/*.json" in pyproject["tool"]["setuptools"]["package-data"]["voclab"]


# --------------------------------------------------------------------------- data


def test_data_folder_errors(tmp_path):
    with pytest.raises(DataError, match="No data folder"):
        find_audio_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        find_audio_files(tmp_path / "empty")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    (tmp_path / "notes" / "b.mp3").write_bytes(b"ID3")
    with pytest.raises(DataError, match=r"No audio files .* \.mp3"):
        find_audio_files(tmp_path / "notes")


def test_split_is_deterministic_and_recursive(tmp_path):
    make_clips(tmp_path / "d" / "b", n=2)
    make_clips(tmp_path / "d" / "a", n=3)
    (tmp_path / "d" / ".hidden.wav").write_bytes(b"")
    train_files, val_files = split_files(tmp_path / "d", val_clips=2)
    names = [p.relative_to(tmp_path / "d").as_posix() for p in train_files + val_files]
    assert names == ["a/clip0.wav", "a/clip1.wav", "a/clip2.wav", "b/clip0.wav", "b/clip1.wav"]
    assert [p.name for p in val_files] == ["clip0.wav", "clip1.wav"] and val_files[0].parent.name == "b"
    with pytest.raises(DataError, match="too few"):
        split_files(tmp_path / "d", val_clips=5)


def test_segments_crop_pad_normalise_and_are_reproducible(tmp_path):
    paths = make_clips(tmp_path, n=2, seconds=0.3)
    short = tmp_path / "short.wav"
    sf.write(short, 0.1 * np.ones(500, dtype=np.float32), SR)
    mel = MelConfig()
    data = AudioSegments(paths + [short], mel, 2048, seed=3)
    item = data[2]  # the short clip: zero-padded at the end, peak 0.95
    assert item["audio"].shape == (1, 2048) and item["mel"].shape == (80, 8)
    assert torch.allclose(item["audio"][0, :500], torch.full((500,), 0.95), atol=1e-4)
    assert torch.count_nonzero(item["audio"][0, 500:]) == 0
    first = data[0]["audio"]
    assert torch.equal(first, data[0]["audio"])  # same (seed, epoch, index): same crop
    data.set_epoch(1)
    assert not torch.equal(first, data[0]["audio"])  # a new epoch: a new crop
    again = AudioSegments(paths + [short], mel, 2048, seed=3)
    again.set_epoch(1)
    assert torch.equal(again[0]["audio"], data[0]["audio"])
    with pytest.raises(DataError, match="multiple of the mel's hop_length"):
        AudioSegments(paths, mel, 2000)


def test_melgan_random_gain_scales_audio_and_mel_together(tmp_path):
    paths = make_clips(tmp_path, n=1, seconds=0.3)
    mel = MelConfig.preset("melgan")
    plain = AudioSegments(paths, mel, 2048, seed=3)
    gained = AudioSegments(paths, mel, 2048, seed=3, gain_range=(0.3, 1.0))
    gains = []
    for epoch in range(8):
        plain.set_epoch(epoch)
        gained.set_epoch(epoch)
        a, b = plain[0], gained[0]
        gain = float(b["audio"].abs().max() / a["audio"].abs().max())
        assert torch.allclose(b["audio"], gain * a["audio"], atol=1e-6)  # the same crop, scaled
        expected_mel = mel_spectrogram(b["audio"][0].numpy(), mel)[:, :8]
        assert np.allclose(b["mel"].numpy(), expected_mel, atol=1e-5)  # the mel of the scaled clip
        gains.append(gain)
    assert all(0.3 <= g <= 1.0 for g in gains) and max(gains) - min(gains) > 0.1
    assert get_model("melgan").Config().random_gain == (0.3, 1.0)


def test_a_broken_file_costs_a_warning_not_the_run(toy, tmp_path):
    make_clips(tmp_path / "data", n=5)
    (tmp_path / "data" / "clip9.wav").write_bytes(b"RIFF0000WAVEnot really audio")  # sorted last: a val clip
    (tmp_path / "data" / "clip3.wav").write_bytes(b"RIFF0000WAVEnot really audio")  # a training file
    with pytest.warns(UserWarning) as caught:
        summary = train(toy, None, tmp_path / "data", tmp_path / "run", steps=2, **QUIET)
    messages = " ".join(str(w.message) for w in caught)
    assert "clip9.wav" in messages and "clip3.wav" in messages
    assert summary.step == 2 and [r["clips"] for r in train_rows(tmp_path / "run", "val")][-1].keys() == {"clip4"}


def test_undecodable_file_is_skipped_with_one_warning(tmp_path):
    paths = make_clips(tmp_path, n=2)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEnot really audio")
    with pytest.warns(UserWarning, match="broken.wav"):
        data = AudioSegments(paths + [broken], MelConfig(), 2048)
    assert broken not in data.files and len(data.files) == 2


# --------------------------------------------------------------------------- the loop


def test_training_writes_log_samples_and_checkpoints(toy, data, tmp_path):
    run = tmp_path / "run"
    summary = train(toy, None, data, run, steps=6, log_every=2, val_every=3, ckpt_every=2, keep_last=2,
                    progress=False)
    assert summary.step == 6 and summary.epoch == 3  # 4 training files, batch 2: 2 steps per epoch
    assert summary.checkpoint == run / "checkpoints" / "step_00000006.pt"
    assert isinstance(summary.generator, torch.nn.Module) and summary.best_val is not None
    rows = train_rows(run)
    assert [r["step"] for r in rows] == [2, 4, 6]
    for row in rows:
        assert set(row) >= {"step", "time", "epoch", "losses", "lr", "steps_per_s"}
        assert set(row["losses"]) == {"loss_d", "loss_g", "mel_l1"}
    # schedulers step once per epoch: lr = 2e-3 * 0.9 ** epoch
    assert rows[-1]["lr"]["generator"] == pytest.approx(2e-3 * 0.9**3)
    val = train_rows(run, "val")
    assert [r["step"] for r in val] == [3, 6]
    assert set(val[0]["clips"]) == {"clip4", "clip5"}  # the last two names, held out whole
    for step in (3, 6):
        for clip in ("clip4", "clip5"):
            y, sr = sf.read(run / "samples" / f"step_{step:06d}" / f"{clip}.wav")
            assert sr == SR and len(y) == (int(0.3 * SR) // 256) * 256
    assert (run / "samples" / "reference" / "clip4.wav").exists()
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["best.pt", "step_00000004.pt", "step_00000006.pt"]  # keep_last=2, plus best
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert best["best_val"] == pytest.approx(min(r["log_mel_l1"] for r in val))
    assert (run / "tensorboard").is_dir()  # TensorBoard is installed in the test environment
    assert json.loads((run / "config.json").read_text())["model"] == "toy"


def test_checkpoint_contents_load_with_weights_only(toy, data, tmp_path):
    run = tmp_path / "run"
    train(toy, load_config(toy, None, ["mel=melgan"]), data, run, steps=2, **QUIET)
    state = torch.load(run / "checkpoints" / "step_00000002.pt", weights_only=True)
    assert state["format"] == FORMAT == "voclab-checkpoint/1"
    assert state["voclab_version"] == voclab.__version__
    assert state["model"] == "toy" and state["config"]["mel"] == "melgan"
    assert MelConfig.from_dict(state["mel"]) == MelConfig.preset("melgan")
    assert (state["step"], state["epoch"]) == (2, 1)
    assert set(state["modules"]) == {"generator", "discriminator"}
    assert set(state["optimizers"]) == set(state["schedulers"]) == {"generator", "discriminator"}
    assert set(state["rng"]) >= {"torch", "numpy", "python"}
    for net in state["modules"].values():
        assert not [k for k in net if k.startswith(("module.", "_orig_mod."))]
    ckpt = load_checkpoint(run)  # a run folder means its latest checkpoint
    assert ckpt.step == 2 and ckpt.mel == MelConfig.preset("melgan") and not ckpt.generator.training
    assert ckpt.vocode(np.zeros((80, 5), dtype=np.float32)).shape == (5 * 256,)


def test_resume_is_bitwise_exact(toy, data, tmp_path):
    common = dict(log_every=1, val_every=2, ckpt_every=100, **QUIET)
    train(toy, None, data, tmp_path / "straight", steps=6, **common)
    train(toy, None, data, tmp_path / "split", steps=3, **common)  # stops mid-epoch (2 steps per epoch)
    summary = train(toy, None, data, tmp_path / "split", steps=6, resume=True, **common)
    assert summary.step == 6
    a = torch.load(tmp_path / "straight" / "checkpoints" / "step_00000006.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoints" / "step_00000006.pt", weights_only=True)
    for name in a["modules"]:
        for key, value in a["modules"][name].items():
            assert torch.equal(value, b["modules"][name][key]), f"{name}.{key} differs after resuming"
    for name in a["optimizers"]:
        for index, slot in a["optimizers"][name]["state"].items():
            for key, value in slot.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizers"][name]["state"][index][key]))
    assert a["schedulers"] == b["schedulers"] and (a["epoch"], a["epoch_step"]) == (b["epoch"], b["epoch_step"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    rows = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if r["type"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]
    resumed_at = next(i for i, r in enumerate(rows) if r.get("event") == "resume")
    assert rows[resumed_at]["step"] == 3
    assert next(r for r in rows[resumed_at:] if r["type"] == "train")["step"] == 4
    # the per-step losses agree too
    straight = {r["step"]: r["losses"] for r in train_rows(tmp_path / "straight")}
    assert {r["step"]: r["losses"] for r in train_rows(tmp_path / "split")} == straight


def test_a_run_folder_is_never_overwritten(toy, data, tmp_path, capsys):
    train(toy, None, data, tmp_path / "run", steps=1, **QUIET)
    with pytest.raises(TrainingError, match="--resume"):
        train(toy, None, data, tmp_path / "run", steps=2, **QUIET)
    with pytest.raises(ConfigError, match="channels: run has 8, given 4"):
        train(toy, load_config(toy, None, ["channels=4"]), data, tmp_path / "run", steps=2, resume=True, **QUIET)
    # resuming with no steps goes to the run's target; already there: nothing to do
    assert train(toy, None, data, tmp_path / "run", resume=True, **QUIET).step == 1


def test_diverging_loss_stops_with_a_clear_error(toy, data, tmp_path, monkeypatch):
    import toy_vocoder

    monkeypatch.setattr(toy_vocoder, "train_step", lambda *a, **k: {"loss_g": float("nan")})
    with pytest.raises(TrainingError, match="loss_g became nan at step 1"):
        train(toy, None, data, tmp_path / "run", steps=3, **QUIET)


def test_compiled_and_bf16_modules_save_plain_keys(toy, data, tmp_path):
    # the "eager" backend wraps like inductor (an OptimizedModule with _orig_mod) but needs no compiler
    with pytest.warns(UserWarning, match="--compile is meant for CUDA"):
        summary = train(toy, None, data, tmp_path / "run", steps=2, compile="eager", bf16=True, **QUIET)
    state = torch.load(summary.checkpoint, weights_only=True)
    assert not [k for net in state["modules"].values() for k in net if "_orig_mod" in k or k.startswith("module.")]
    assert not hasattr(summary.generator, "_orig_mod")


# --------------------------------------------------------------------------- checkpoints


def test_atomic_save_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = save_atomic({"format": FORMAT, "x": torch.ones(3)}, tmp_path / "step_00000001.pt")

    def explode(obj, f):
        f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({"x": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000001.pt"]  # no temporary left behind


def test_damaged_and_foreign_checkpoints_are_refused(tmp_path):
    good = tmp_path / "step_00000001.pt"
    torch.save({"format": FORMAT}, good)
    damaged = tmp_path / "step_00000002.pt"
    damaged.write_bytes(good.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="damaged or truncated.*step_00000001.pt"):
        read_checkpoint(damaged)
    official = tmp_path / "g_02500000"
    torch.save({"generator": {"conv_pre.weight_g": torch.ones(1)}}, official)
    with pytest.raises(CheckpointError, match="official jik876/hifi-gan"):
        read_checkpoint(official)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": FORMAT, "evil": Path("x")}, pickled)
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        read_checkpoint(pickled)
    newer = tmp_path / "newer.pt"
    torch.save({"format": "voclab-checkpoint/9"}, newer)
    with pytest.raises(CheckpointError, match="voclab-checkpoint/9"):
        read_checkpoint(newer)
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(CheckpointError, match="No checkpoints"):
        resolve_checkpoint(tmp_path / "empty_run")
    with pytest.raises(CheckpointError, match="best.pt"):
        resolve_checkpoint(tmp_path / "best")


def test_kill_minus_9_leaves_a_loadable_checkpoint_and_resume_continues(data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "voclab", "train", TOY_PATH, "--data", str(data), "--out", str(run),
               "--ckpt-every", "1", "--keep-last", "2", "--log-every", "1", "--val-every", "1000000",
               "--no-tensorboard"]
    process = subprocess.Popen(command + ["--steps", "100000"], cwd=REPO, env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list_checkpoints(run / "checkpoints"):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 2 minutes"
            time.sleep(0.05)
        time.sleep(0.7)  # a few more steps, each writing a checkpoint: the kill lands during one
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    found = list_checkpoints(run / "checkpoints")
    assert found, "the checkpoint seen before the kill is gone"
    for step, path in found:
        state = torch.load(path, weights_only=True)
        assert state["format"] == FORMAT and state["step"] == step
    latest = resolve_checkpoint(run)
    assert latest == found[-1][1] and not latest.name.startswith(".")
    last_step = found[-1][0]
    # whatever temporary file the kill left is never taken for a checkpoint, and resume cleans it
    (run / "checkpoints" / f".step_{last_step + 1:08d}.pt.killed.tmp").write_bytes(b"half a file")
    assert resolve_checkpoint(run) == latest
    resumed = subprocess.run(command + ["--steps", str(last_step + 2), "--resume"], cwd=REPO,
                             env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    steps = [r["step"] for r in train_rows(run)]
    assert steps == list(range(1, last_step + 3)), "the log continues at the checkpoint's step + 1"
    assert read_checkpoint(run)["step"] == last_step + 2
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_ctrl_c_finishes_the_step_and_saves(data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "voclab", "train", TOY_PATH, "--data", str(data), "--out", str(run),
               "--steps", "100000", "--ckpt-every", "100000", "--log-every", "1", "--val-every", "1000000",
               "--no-tensorboard"]
    process = subprocess.Popen(command, cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ((run / "log.jsonl").exists() and train_rows(run)):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "interrupted: stopped after step" in out
    state = read_checkpoint(run)
    assert state["step"] == train_rows(run)[-1]["step"] >= 1  # saved at the step it stopped


# --------------------------------------------------------------------------- DDP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, data: str, out: str, results: str) -> None:
    # what torchrun sets for each process
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    MODELS["toy"] = "toy_vocoder"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = train("toy", load_config("toy", None, ["batch_size=4"]), data, out, steps=3, log_every=1,
                        val_every=100, ckpt_every=100, **QUIET)
    torch.save({"step": summary.step, "modules": {k: m.state_dict() for k, m in summary.modules.items()}},
               Path(results) / f"rank{rank}.pt")


def test_ddp_two_cpu_processes_agree_and_count_optimizer_steps(data, tmp_path):
    import torch.multiprocessing as mp

    results = tmp_path / "results"
    results.mkdir()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(data), str(tmp_path / "run"), str(results)),
             nprocs=2, join=True)
    ranks = [torch.load(results / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["step"] == ranks[1]["step"] == 3  # optimizer steps, not steps × world size
    for name, params in ranks[0]["modules"].items():
        for key, value in params.items():
            assert torch.equal(value, ranks[1]["modules"][name][key]), f"ranks disagree on {name}.{key}"
    state = torch.load(tmp_path / "run" / "checkpoints" / "step_00000003.pt", weights_only=True)
    assert state["step"] == 3 and state["train"]["world_size"] == 2 and len(state["rng_ranks"]) == 2
    for name, params in state["modules"].items():
        assert not [k for k in params if k.startswith("module.")]
        assert params.keys() == ranks[0]["modules"][name].keys()
        assert all(torch.equal(value, ranks[0]["modules"][name][key]) for key, value in params.items())
    assert [r["step"] for r in train_rows(tmp_path / "run")] == [1, 2, 3]  # rank 0 alone logs


# --------------------------------------------------------------------------- the command line


def test_cli_errors_are_one_line_with_exit_code_2(toy, data, tmp_path, capsys):
    code = cli.main(["train", "toy", "--set", "chanels=3", "--data", str(data), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("voclab: Unknown config key") and err.count("\n") == 1
    code = cli.main(["train", "toy", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"),
                     "--steps", "1"])
    assert code == 2 and "No data folder" in capsys.readouterr().err


def test_cli_trains_and_resumes(toy, data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "toy", "--data", str(data), "--out", str(run), "--no-tensorboard", "--log-every", "1"]
    assert cli.main(args + ["--steps", "2", "--batch-size", "2", "--set", "channels=4"]) == 0
    assert "done: step 2" in capsys.readouterr().out
    assert cli.main(args + ["--steps", "3", "--resume"]) == 0  # the saved config, no --config needed
    assert read_checkpoint(run)["config"]["channels"] == 4
    assert cli.main(args + ["--steps", "4", "--resume", "--batch-size", "4"]) == 2
    assert "keeps its saved config" in capsys.readouterr().err


@pytest.mark.skipif(not (REPO / "voclab" / "models" / "hifigan.py").exists(), reason="no HiFi-GAN model yet")
def test_tiny_hifigan_trains_three_steps_through_the_cli(data, tmp_path):
    run = tmp_path / "hifigan"
    # a small generator (the discriminators keep the paper's size: they dominate the time)
    tiny = ["upsample_initial_channel=16", "segment_size=2048", "batch_size=2",
            "resblock_kernel_sizes=[3]", "resblock_dilation_sizes=[[1,3,5]]"]
    command = [sys.executable, "-m", "voclab", "train", "hifigan", "--config", "hifigan_v1",
               "--data", str(data), "--out", str(run), "--steps", "3", "--val-every", "3",
               "--log-every", "1", "--no-tensorboard"]
    for item in tiny:
        command += ["--set", item]
    result = subprocess.run(command, cwd=REPO, env=subprocess_env(threads=2), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["step"] for r in train_rows(run)] == [1, 2, 3]
    ckpt = load_checkpoint(run)
    assert ckpt.model == "hifigan" and ckpt.step == 3 and ckpt.mel == MelConfig.preset("hifigan")
    assert (run / "samples" / "step_000003" / "clip4.wav").exists()
    shutil.rmtree(run)  # its checkpoint holds the paper-sized discriminators: ~0.85 GB


def test_voclab_errors_are_voclab_errors():
    for error in (CheckpointError, TrainingError):
        assert issubclass(error, VoclabError)


@pytest.mark.parametrize("module_name", ["train", "checkpoint", "datasets", "vocode", "prepare"])
def test_public_functions_are_documented(module_name):
    import importlib
    import inspect
    import re

    module = importlib.import_module(f"voclab.{module_name}")
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # constants
        doc = inspect.getdoc(obj) or ""
        assert "Notebook:" in doc, f"voclab.{module_name}.{name} does not name its notebook"
        if inspect.isfunction(obj):
            sections = ["Returns"] + (["Parameters"] if inspect.signature(obj).parameters else [])
            for section in sections:
                assert re.search(rf"^{section}\n-+\s*$", doc, re.MULTILINE), f"{module_name}.{name}: no {section}"
