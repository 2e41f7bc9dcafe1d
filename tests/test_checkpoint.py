"""voclab.checkpoint: a full disk, foreign and corrupt files, generator-only (slim) checkpoints, chunked vocoding."""

from __future__ import annotations

import errno
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import toy_vocoder
from toy_vocoder import make_clips

import voclab
from voclab import cli
from voclab.checkpoint import FORMAT, load_checkpoint, read_checkpoint, rng_state, save_atomic
from voclab.errors import CheckpointError, ConfigError
from voclab.models import MODELS, register_model
from voclab.models import hifigan as H
from voclab.spectral import mel_spectrogram
from voclab.train import train

# V1's layers (kernels, dilations, upsampling: a reach of 13 frames) with 16 channels instead of 512
TINY_V1 = dict(upsample_initial_channel=16, segment_size=2048, batch_size=2)


def hifigan_checkpoint(path: Path, *, bulk_bytes: int = 4_000_000, step: int = 3) -> Path:
    """A HiFi-GAN checkpoint laid out as `voclab train` writes it: a tiny generator, and a
    discriminator and Adam moments that stand in for the full-size ones (the bulk of the file)."""
    torch.manual_seed(0)
    cfg = H.Config.v1(**TINY_V1)
    generator = H.Generator(cfg)
    bulk = torch.randn(bulk_bytes // 4 // 3)
    state = {
        "format": FORMAT, "voclab_version": voclab.__version__, "model": "hifigan", "config": cfg.to_dict(),
        "mel": cfg.mel_config.to_dict(), "step": step, "epoch": 0, "epoch_step": step,
        "modules": {"generator": generator.state_dict(), "discriminator": {"mpd.weight": bulk}},
        "optimizers": {"discriminator": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": bulk.clone(),
                                                       "exp_avg_sq": bulk.clone()}},
                                         "param_groups": [{"lr": 2e-4, "params": [0]}]}},
        "schedulers": {}, "rng": rng_state(), "best_val": None, "train": {"seed": 0},
    }
    return save_atomic(state, path)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return hifigan_checkpoint(tmp_path_factory.mktemp("ckpt") / "step_00000003.pt")


@pytest.fixture(scope="module")
def speech_mel():
    """1.6 s of shipped speech (CMU ARCTIC a0007) as a mel at HiFi-GAN's settings: 140 frames."""
    from voclab.data import load_clip

    y, _ = load_clip("arctic_a0007", sr=22050)
    return mel_spectrogram(y, H.Config.v1().mel_config)[:, 60:200].astype(np.float32)


# --------------------------------------------------------------------------- a full disk (item 5)


class _FullDisk(io.FileIO):
    """A file on a disk that fills after `room` bytes."""

    room = 10_000

    def write(self, data):
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("when", ["write", "fsync"])
def test_full_disk_while_saving_is_one_checkpoint_error(tmp_path, monkeypatch, when):
    path = save_atomic({"format": FORMAT, "x": torch.ones(3)}, tmp_path / "step_00000001.pt")
    if when == "write":  # torch.save itself: torch re-raises it as "unexpected pos" while handling it
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: _FullDisk(fd, "wb"))
    else:  # the data fit in the page cache and the disk filled on the way out
        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(10**9, 10**9 - 12_345_678,
                                                                                       12_345_678))
    with pytest.raises(CheckpointError) as info:
        save_atomic({"format": FORMAT, "x": torch.zeros(500_000)}, path)  # 2 MB of tensors
    monkeypatch.undo()
    message = str(info.value)
    assert "No space left" in message and str(path) in message
    assert "needs about 2.0 MB" in message and "12.3 MB are free" in message  # what it needed, what is free
    assert "previous file there is unchanged" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # one error, not two tracebacks
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(3))  # the last checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000001.pt"]  # and no temporary is left


def test_other_save_failures_are_not_called_a_full_disk(tmp_path, monkeypatch):
    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="Input/output error"):
        save_atomic({"x": torch.zeros(3)}, tmp_path / "a.pt")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- unreadable and foreign files (item 9)


def test_random_bytes_empty_files_and_web_pages_are_named_for_what_they_are(tmp_path):
    cases = {
        "random.pt": (np.random.default_rng(0).bytes(5000), "not a PyTorch checkpoint"),
        "empty.pt": (b"", "empty (0 bytes)"),
        "page.pt": (b"<!DOCTYPE html><html><title>Google Drive</title></html>", "web page (HTML)"),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(tmp_path / name)
        message = str(info.value)
        assert expected in message and str(tmp_path / name) in message
        assert "pickled" not in message and "weights_only" not in message  # not torch's guess, nor its advice
    assert "corrupt" in str(pytest.raises(CheckpointError, read_checkpoint, tmp_path / "random.pt").value)


def test_official_hifigan_files_given_to_load_checkpoint_point_to_load_official_generator(tmp_path):
    generator = H.Generator(H.Config.v1(**TINY_V1))
    torch.save({"generator": H.voclab_to_official_keys(generator.state_dict())}, tmp_path / "g_02500000")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "g_02500000")
    assert "load_official_generator" in str(info.value) and "--init-official" in str(info.value)
    torch.save({"mpd": {}, "msd": {}, "optim_g": {}, "optim_d": {}, "steps": 1, "epoch": 0}, tmp_path / "do_02500000")
    with pytest.raises(CheckpointError, match="discriminator checkpoint .do_XXXXXXXX"):
        load_checkpoint(tmp_path / "do_02500000")


# --------------------------------------------------------------------------- generator-only checkpoints (item 10)


def test_slim_checkpoint_vocodes_identically_and_is_much_smaller(full, tmp_path, speech_mel):
    from voclab.checkpoint import slim_checkpoint

    slim = slim_checkpoint(full, tmp_path / "slim.pt")
    assert slim.stat().st_size < full.stat().st_size / 5
    state = read_checkpoint(slim, generator_only=True)
    assert set(state["modules"]) == {"generator"} and "optimizers" not in state
    assert state["slim"] == {"from": full.name, "weights": "generator"}
    assert (state["model"], state["step"], state["config"]) == ("hifigan", 3, read_checkpoint(full)["config"])
    a, b = load_checkpoint(full), load_checkpoint(slim)
    assert b.mel == a.mel and b.step == a.step
    assert np.array_equal(a.vocode(speech_mel[:, :40]), b.vocode(speech_mel[:, :40]))
    assert [p.name for p in tmp_path.iterdir()] == ["slim.pt"]  # written atomically: no temporary left


def test_cli_slim_then_vocode(full, tmp_path, capsys):
    t = np.arange(4096) / 22050
    sf.write(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050)
    assert cli.main(["slim", str(full), "-o", str(tmp_path / "g.pt")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'g.pt'}: ")
    for name, checkpoint in (("slim", tmp_path / "g.pt"), ("full", full)):
        assert cli.main(["vocode", str(checkpoint), str(tmp_path / "tone.wav"), "-o", str(tmp_path / name)]) == 0
    assert np.array_equal(sf.read(tmp_path / "slim" / "tone.wav")[0], sf.read(tmp_path / "full" / "tone.wav")[0])
    assert cli.main(["slim", str(full), "-o", str(tmp_path)]) == 2  # a folder is not a file name
    assert "is a folder" in capsys.readouterr().err


def test_resume_from_a_slim_checkpoint_is_refused_clearly(tmp_path):
    from voclab.checkpoint import slim_checkpoint

    register_model("toy", toy_vocoder)
    try:
        make_clips(tmp_path / "data", n=3)
        train("toy", None, tmp_path / "data", tmp_path / "run", steps=1, tensorboard=False, progress=False)
        latest = tmp_path / "run" / "checkpoints" / "step_00000001.pt"
        slim_checkpoint(latest, latest)  # slimmed in place, in the run folder
        assert load_checkpoint(tmp_path / "run").step == 1  # still vocodes
        with pytest.raises(CheckpointError) as info:
            train("toy", None, tmp_path / "data", tmp_path / "run", steps=2, resume=True, tensorboard=False,
                  progress=False)
    finally:
        MODELS.pop("toy", None)
    message = str(info.value)
    assert "generator-only" in message and "voclab slim" in message and "Resume from the full checkpoint" in message


def test_vocoding_maps_the_checkpoint_instead_of_reading_it(full, monkeypatch):
    import voclab._torchfile as torchfile

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("mmap"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torchfile.torch, "load", spy)
    load_checkpoint(full)
    assert calls == [True]  # the discriminator's and Adam's tensors are never read from disk


# --------------------------------------------------------------------------- chunked vocoding (item 4)


def test_chunked_vocoding_equals_one_pass_on_shipped_speech(full, speech_mel, monkeypatch):
    ckpt = load_checkpoint(full)
    assert ckpt.context_frames == 13  # V1's reach: 150 ms at 22.05 kHz
    whole = ckpt.vocode(speech_mel, chunk_frames=None)
    assert whole.shape == (speech_mel.shape[1] * 256,)
    for chunk in (64, 139):  # 64 leaves a short last chunk; 139 a last chunk of one frame
        chunked = ckpt.vocode(speech_mel, chunk_frames=chunk)
        assert chunked.shape == whole.shape
        assert np.abs(chunked - whole).max() < 1e-5  # float rounding only (measured ≤ 6e-8)
    batch = np.stack([speech_mel[:, :50], speech_mel[:, -50:]])
    np.testing.assert_allclose(ckpt.vocode(batch, chunk_frames=20), ckpt.vocode(batch, chunk_frames=None), atol=1e-5)
    # the overlap is what makes it exact: without it every chunk boundary clicks
    monkeypatch.setattr(H, "receptive_field_frames", lambda cfg: 0)
    assert np.abs(ckpt.vocode(speech_mel, chunk_frames=64) - whole).max() > 1e-3


def test_long_mels_are_chunked_by_default(full, monkeypatch):
    from voclab.checkpoint import CHUNK_FRAMES, Checkpoint

    frames = []

    def generate(self, mel):  # what the generator is given; silence of the right length back
        frames.append(mel.shape[-1])
        return np.zeros((mel.shape[0], mel.shape[-1] * 256), np.float32)

    monkeypatch.setattr(Checkpoint, "_generate", generate)
    ckpt = load_checkpoint(full)
    audio = ckpt.vocode(np.full((80, 2 * CHUNK_FRAMES + 10), -5.0, np.float32))
    assert len(audio) == (2 * CHUNK_FRAMES + 10) * 256
    # memory bounded by the chunk, not the input: 1024 frames plus 13 of context on each inner side
    assert frames == [CHUNK_FRAMES + 13, CHUNK_FRAMES + 13 + 10, 10 + 13]
    frames.clear()
    ckpt.vocode(np.full((80, CHUNK_FRAMES), -5.0, np.float32))
    assert frames == [CHUNK_FRAMES]  # one pass when it fits
    with pytest.raises(ConfigError, match="chunk_frames"):
        ckpt.vocode(np.zeros((80, 3), np.float32), chunk_frames=0)


def test_vocode_chunk_frames_end_to_end(full, tmp_path):
    from voclab.vocode import vocode

    y = np.random.default_rng(0).normal(0, 0.1, 22050).astype(np.float32)
    sf.write(tmp_path / "noise.wav", y, 22050, subtype="FLOAT")
    (a,) = vocode(full, tmp_path / "noise.wav", tmp_path / "a", chunk_frames=16)
    (b,) = vocode(full, tmp_path / "noise.wav", tmp_path / "b", chunk_frames=None)
    np.testing.assert_allclose(sf.read(a)[0], sf.read(b)[0], atol=1e-4)  # through 16-bit WAV
