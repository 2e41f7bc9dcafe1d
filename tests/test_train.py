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
from train_helpers import (
    QUIET,
    REPO,
    TOY_VOCLAB,
    data_fixture,  # noqa: F401 (the fixture data)
    every_step_command,
    kill_during_training,
    run_voclab,
    subprocess_env,
    toy_fixture,  # noqa: F401 (the fixture toy)
    train_rows,
)

import voclab
from voclab import cli
from voclab import config as config_module
from voclab.checkpoint import (
    FORMAT,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint,
    resolve_checkpoint,
    save_atomic,
)
from voclab.datasets import AudioSegments, find_audio_files, pair_mels, split_files
from voclab.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    MelMismatchError,
    ShapeError,
    TrainingError,
    VoclabError,
)
from voclab.models import get_model, register_model
from voclab.spectral import MelConfig, mel_spectrogram
from voclab.config import load_config
from voclab.train import train

SR = 22050


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
    monkeypatch.setattr(config_module, "CONFIG_DIR", tmp_path)
    assert load_config(toy, "toy_small").channels == 2
    assert config_module.config_names("toy") == ["toy_small"]
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
    from voclab.models import model_kind

    model = json.loads(path.read_text())["model"]
    cfg = load_config(model, path.stem)
    if model_kind(get_model(model)) == "pitched":  # GANSynth: pictures of notes, whose shape the networks make
        assert cfg.specgram_config().shape == (2, *cfg.final_shape)
    if model_kind(get_model(model)) in ("unconditional", "pitched"):  # no mel; a rate and a slice length instead
        assert cfg.sample_rate > 0 and cfg.slice_len > 0
        return
    assert config_module.mel_config_of(cfg).hop_length > 0
    assert cfg.segment_size % config_module.mel_config_of(cfg).hop_length == 0


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
    with pytest.warns(UserWarning, match=r"1 of 3 training file\(s\) are shorter than a segment \(2048 samples = "
                      r"0\.09 s\).*shortest: short\.wav, 0\.02 s"):
        data = AudioSegments(paths + [short], mel, 2048, seed=3)
    item = data[2]  # the short clip: zero-padded at the end, peak 0.95
    assert item["audio"].shape == (1, 2048) and item["mel"].shape == (80, 8)
    assert torch.allclose(item["audio"][0, :500], torch.full((500,), 0.95), atol=1e-4)
    assert torch.count_nonzero(item["audio"][0, 500:]) == 0
    first = data[0]["audio"]
    assert torch.equal(first, data[0]["audio"])  # same (seed, epoch, index): same crop
    data.set_epoch(1)
    assert not torch.equal(first, data[0]["audio"])  # a new epoch: a new crop
    with pytest.warns(UserWarning, match="shorter than a segment"):
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
    # schedulers step once per optimizer step: lr = 2e-3 * 0.9 ** (step // lr_decay_steps), lr_decay_steps = 2
    assert [r["lr"]["generator"] for r in rows] == pytest.approx([2e-3 * 0.9, 2e-3 * 0.9**2, 2e-3 * 0.9**3])
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


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")  # no optimizer step here
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


def test_learning_rate_depends_on_the_step_not_on_the_size_of_the_folder(toy, tmp_path):
    # An "epoch" of 6 clips is one or two steps: a per-epoch decay collapsed the rate on small folders.
    make_clips(tmp_path / "small", n=6)
    make_clips(tmp_path / "large", n=40, seconds=0.1)
    rates = {}
    for name in ("small", "large"):
        run = tmp_path / f"run_{name}"
        train(toy, load_config(toy, None, ["lr_decay_steps=3"]), tmp_path / name, run, steps=7, log_every=1,
              val_every=100, **QUIET)
        rows = train_rows(run)
        rates[name] = [row["lr"]["generator"] for row in rows]
        assert [row["epoch"] for row in rows][-1] == (3 if name == "small" else 0)  # 2 steps/epoch vs 19
    expected = [2e-3 * 0.9 ** (step // 3) for step in range(1, 8)]
    assert rates["small"] == rates["large"] == pytest.approx(expected)


def test_a_checkpoint_of_the_per_epoch_schedule_resumes_at_the_rate_of_its_step(toy, data, tmp_path):
    run = tmp_path / "run"
    cfg = load_config(toy, None, ["lr_decay_steps=2"])
    train(toy, cfg, data, run, steps=5, ckpt_every=5, **QUIET)
    path = run / "checkpoints" / "step_00000005.pt"
    state = torch.load(path, weights_only=True)
    del state["train"]["schedule"]  # what an earlier voclab wrote: ExponentialLR states, stepped per epoch
    for name, optimizer in state["optimizers"].items():
        state["schedulers"][name] = {"gamma": 0.9, "base_lrs": [2e-3], "last_epoch": 2, "_step_count": 3,
                                     "_get_lr_called_within_step": False, "_last_lr": [2e-3 * 0.9**2]}
        optimizer["param_groups"][0]["lr"] = 2e-3 * 0.9**2
    save_atomic(state, path)
    with pytest.warns(UserWarning, match="stepped once per epoch"):
        train(toy, None, data, run, steps=7, resume=True, log_every=1, **QUIET)
    assert [r["lr"]["generator"] for r in train_rows(run)][-2:] == pytest.approx([2e-3 * 0.9**3, 2e-3 * 0.9**3])


def test_validation_scores_with_the_models_validation_mel(toy, data, tmp_path, monkeypatch):
    import toy_vocoder

    full_band = MelConfig.preset("hifigan_loss")
    monkeypatch.setattr(toy_vocoder, "validation_mel_config", lambda cfg: full_band, raising=False)
    run = tmp_path / "run"
    train(toy, None, data, run, steps=2, val_every=2, **QUIET)
    logged = train_rows(run, "val")[-1]["clips"]["clip4"]
    reference, _ = sf.read(run / "samples" / "reference" / "clip4.wav", dtype="float32")
    made, _ = sf.read(run / "samples" / "step_000002" / "clip4.wav", dtype="float32")
    with_full_band = float(voclab.metrics.log_mel_l1(reference, made, full_band))
    with_input_mel = float(voclab.metrics.log_mel_l1(reference, made, MelConfig()))
    assert abs(with_full_band - with_input_mel) > 0.05  # the two mels tell apart here
    assert logged == pytest.approx(with_full_band, abs=0.02)  # (the WAV files are 16-bit)


def test_vocoding_a_checkpoint_never_imports_the_training_loop(toy, data, tmp_path):
    # vocode -> checkpoint -> config -> models: every import goes down, none up into voclab.train
    run = tmp_path / "run"
    train(toy, None, data, run, steps=1, **QUIET)
    code = ("import sys, voclab.vocode, voclab.models, tests.toy_vocoder as toy; "
            "voclab.models.register_model('toy', toy); "
            f"voclab.vocode.vocode({str(run)!r}, [{str(data / 'clip0.wav')!r}], {str(tmp_path / 'out')!r}); "
            "print(sorted(m for m in sys.modules if m in ('voclab.train', 'voclab.datasets')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]" and (tmp_path / "out" / "clip0.wav").is_file()


# --------------------------------------------------------------------------- fine-tuning on an acoustic model's mels


def write_gta_mels(clips: list[Path], folder: Path, mel: MelConfig, *, offset: float = 0.25,
                   settings: bool = True) -> None:
    """Mels "from an acoustic model": the recordings' own mels, shifted so that they can be told apart."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in clips:
        y, _ = sf.read(path, dtype="float32")
        np.save(folder / f"{path.stem}.npy", (mel_spectrogram(y, mel) + offset).astype(np.float32))
    if settings:
        (folder / "mel_config.json").write_text(json.dumps(mel.to_dict()))


def test_segments_take_the_given_mels_and_the_recordings_as_they_are(tmp_path):
    clips = make_clips(tmp_path / "data", n=3, seconds=0.3)
    mel = MelConfig()
    write_gta_mels(clips, tmp_path / "mels", mel)
    data = AudioSegments(clips, mel, 2048, normalize=False, seed=1, mels_dir=tmp_path / "mels")
    given = np.load(tmp_path / "mels" / "clip1.npy")
    recording, _ = sf.read(clips[1], dtype="float32")
    for epoch in range(4):
        data.set_epoch(epoch)
        item = data[1]
        assert item["audio"].shape == (1, 2048) and item["mel"].shape == (80, 8)
        starts = [s for s in range(given.shape[1] - 7) if np.array_equal(given[:, s:s + 8], item["mel"].numpy())]
        assert starts, "the mel is not a crop of the given mel"
        start = starts[0] * 256  # the audio those frames stand for, not peak-normalised
        assert np.array_equal(item["audio"][0].numpy(), recording[start:start + 2048])
    short = AudioSegments(clips, mel, 8192, normalize=False, mels_dir=tmp_path / "mels")[0]  # 0.3 s < 8192 samples
    silence = mel_spectrogram(np.zeros(1024, np.float32), mel)[:, 0]
    assert np.allclose(short["mel"][:, -1].numpy(), silence) and torch.count_nonzero(short["audio"][0, -512:]) == 0


def test_given_mels_are_checked_before_training(tmp_path):
    clips = make_clips(tmp_path / "data", n=3, seconds=0.3)
    mel = MelConfig()
    folder = tmp_path / "mels"
    write_gta_mels(clips, folder, mel)
    assert [p.name for p in pair_mels(clips, folder, mel)] == ["clip0.npy", "clip1.npy", "clip2.npy"]
    np.save(folder / "clip1.npy", np.zeros((80, 40), np.float32))  # the clip makes 25 frames
    with pytest.raises(DataError, match=r"clip1\.npy has 40 frames but clip1\.wav \(6615 samples\) makes 25"):
        pair_mels(clips, folder, mel)
    np.save(folder / "clip1.npy", np.zeros((1, 80, 26), np.float32))  # (1, n_mels, frames), one frame more: fine
    pair_mels(clips, folder, mel)
    np.save(folder / "clip1.npy", np.zeros((26, 80), np.float32))
    with pytest.raises(ShapeError, match="transposed"):
        pair_mels(clips, folder, mel)
    (folder / "clip1.npy").unlink()
    with pytest.raises(DataError, match=r"1 of 3 recordings have no mel .*clip1\.npy"):
        pair_mels(clips, folder, mel)
    write_gta_mels(clips, folder, mel)
    with pytest.raises(MelMismatchError, match="fmax"):
        pair_mels(clips, folder, MelConfig.preset("hifigan_loss"))
    (folder / "mel_config.json").unlink()
    with pytest.raises(DataError, match="carry no settings.*mel_config.json"):
        pair_mels(clips, folder, mel)
    (folder / "clip0.json").write_text(json.dumps(mel.to_dict()))  # per-file sidecars work too
    (folder / "clip1.json").write_text(json.dumps(mel.to_dict()))
    (folder / "clip2.json").write_text(json.dumps(mel.replace(hop_length=200, n_fft=800, win_length=800).to_dict()))
    with pytest.raises(MelMismatchError, match="clip2.npy.*hop_length"):
        pair_mels(clips, folder, mel)
    with pytest.raises(DataError, match="No mel folder"):
        pair_mels(clips, tmp_path / "nowhere", mel)
    with pytest.raises(DataError, match="random_gain"):
        AudioSegments(clips, MelConfig.preset("melgan"), 2048, gain_range=(0.3, 1.0), mels_dir=folder)


@pytest.mark.filterwarnings("ignore:.*is deprecated:FutureWarning")
def test_official_pair_and_gta_mels_fine_tune_through_the_cli(data, tmp_path):
    # HiFi-GAN's official fine-tuning recipe: continue an official run on an acoustic model's mels
    from voclab.models import hifigan

    tiny = ["upsample_initial_channel=16", "segment_size=2048", "batch_size=2", "resblock_kernel_sizes=[3]",
            "resblock_dilation_sizes=[[1,3,5]]", "mpd_periods=[2]"]
    cfg = load_config("hifigan", "hifigan_v1", tiny)
    torch.manual_seed(0)
    modules = hifigan.build(cfg)
    optimizers, _ = hifigan.make_optimizers(modules, cfg)
    g_path, do_path = hifigan.save_official_checkpoint(modules, optimizers, step=1620, epoch=2,
                                                       folder=tmp_path / "official")
    write_gta_mels(sorted(data.glob("*.wav")), tmp_path / "gta", cfg.mel_config)
    run = tmp_path / "run"
    command = ["train", "hifigan", "--config", "hifigan_v1", "--data", str(data),
               "--out", str(run), "--init-official", str(g_path), str(do_path), "--mels", str(tmp_path / "gta"),
               "--steps", "1622", "--val-every", "2", "--log-every", "1", "--no-tensorboard"]
    for item in tiny:
        command += ["--set", item]
    result = run_voclab(*command, threads=2)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = train_rows(run)
    assert [r["step"] for r in rows] == [1621, 1622]  # on from the official step (do_ 'steps' 1619, + 1)
    assert rows[0]["lr"]["generator"] == pytest.approx(2e-4 * 0.999 ** (1621 // 809))
    start = next(r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if r.get("event") == "start")
    assert start["init_official"] == [str(g_path), str(do_path)] and start["mels_dir"] == str(tmp_path / "gta")
    assert start["validation_mel"]["fmax"] is None  # HiFi-GAN validates on its full-band loss mel
    state = read_checkpoint(run)
    assert state["step"] == 1622 and state["train"]["normalize"] is False  # the recordings as the TTS model saw them
    # a mismatched mel folder is refused before a step is spent, naming the file and the frame counts
    np.save(tmp_path / "gta" / "clip0.npy", np.zeros((80, 3), np.float32))
    refused = run_voclab(*command[:command.index("--out") + 1], str(tmp_path / "run2"),
                     *command[command.index("--out") + 2:], threads=2)
    assert refused.returncode == 2
    assert "clip0.npy has 3 frames but clip0.wav" in refused.stderr and "Traceback" not in refused.stderr
    shutil.rmtree(run)  # its checkpoint holds full-size MSD discriminators


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
    command = every_step_command("toy", data, run, keep_last=2)
    last_step = kill_during_training([*TOY_VOCLAB, *command, "--steps", "100000"], run, checkpoints=1,
                                     settle_s=0.7, limit_s=120)
    found = list_checkpoints(run / "checkpoints")
    for step, path in found:
        state = torch.load(path, weights_only=True)
        assert state["format"] == FORMAT and state["step"] == step
    latest = resolve_checkpoint(run)
    assert latest == found[-1][1] and not latest.name.startswith(".")
    # whatever temporary file the kill left is never taken for a checkpoint, and resume cleans it
    (run / "checkpoints" / f".step_{last_step + 1:08d}.pt.killed.tmp").write_bytes(b"half a file")
    assert resolve_checkpoint(run) == latest
    resumed = run_voclab(*command, "--steps", str(last_step + 2), "--resume", launcher=TOY_VOCLAB, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    steps = [r["step"] for r in train_rows(run)]
    assert steps == list(range(1, last_step + 3)), "the log continues at the checkpoint's step + 1"
    assert read_checkpoint(run)["step"] == last_step + 2
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_ctrl_c_finishes_the_step_and_saves(data, tmp_path):
    run = tmp_path / "run"
    command = TOY_VOCLAB + ["train", "toy", "--data", str(data), "--out", str(run),
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
    register_model("toy", "toy_vocoder")
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
    command = ["train", "hifigan", "--config", "hifigan_v1",
               "--data", str(data), "--out", str(run), "--steps", "3", "--val-every", "3",
               "--log-every", "1", "--no-tensorboard"]
    for item in tiny:
        command += ["--set", item]
    result = run_voclab(*command, threads=2)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["step"] for r in train_rows(run)] == [1, 2, 3]
    ckpt = load_checkpoint(run)
    assert ckpt.model == "hifigan" and ckpt.step == 3 and ckpt.mel == MelConfig.preset("hifigan")
    assert (run / "samples" / "step_000003" / "clip4.wav").exists()
    shutil.rmtree(run)  # its checkpoint holds the paper-sized discriminators: ~0.85 GB


def test_voclab_errors_are_voclab_errors():
    for error in (CheckpointError, TrainingError):
        assert issubclass(error, VoclabError)


@pytest.mark.parametrize("module_name", ["train", "config", "checkpoint", "datasets", "melfiles", "vocode", "prepare"])
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
