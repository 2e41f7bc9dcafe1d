"""voclab vocode: recordings and mels in, WAVs out; mismatched or misshapen mels refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
import toy_vocoder
from torch.nn.utils import parametrize
from toy_vocoder import make_clips

from voclab import cli
from voclab.checkpoint import load_checkpoint
from voclab.errors import (
    ConfigError,
    MelMismatchError,
    NonFiniteAudioError,
    ShapeError,
    UnsupportedFormatError,
)
from voclab.models import MODELS, register_model
from voclab.spectral import MelConfig, mel_spectrogram
from voclab.train import train
from voclab.vocode import read_mel, save_mel, vocode

HIFIGAN_MEL = MelConfig.preset("hifigan")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A toy checkpoint trained 2 steps on HiFi-GAN's mel (the toy model stays registered)."""
    root = tmp_path_factory.mktemp("vocode")
    register_model("toy", toy_vocoder)
    try:
        make_clips(root / "data", n=4)
        train("toy", None, root / "data", root / "run", steps=2, tensorboard=False, progress=False)
        yield root / "run"
    finally:
        MODELS.pop("toy", None)


@pytest.fixture
def mel_of_speechlike():
    t = np.arange(22050 // 2) / 22050
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return y


def test_audio_in_wav_out_of_the_same_length(run, tmp_path):
    t = np.arange(8000) / 16000  # 0.5 s at 16 kHz: resampled to the checkpoint's 22050 Hz
    sf.write(tmp_path / "low.wav", (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000)
    sf.write(tmp_path / "odd.flac", np.zeros(5000, dtype=np.float32) + 0.01, 22050)  # not a multiple of the hop
    written = vocode(run, [tmp_path / "low.wav", tmp_path / "odd.flac"], tmp_path / "out")
    assert [p.name for p in written] == ["low.wav", "odd.wav"]
    y, sr = sf.read(written[0])
    assert sr == 22050 and len(y) == 11025
    assert len(sf.read(written[1])[0]) == 5000


def test_npz_with_matching_settings_is_vocoded(run, tmp_path, mel_of_speechlike):
    mel = mel_spectrogram(mel_of_speechlike, HIFIGAN_MEL)
    save_mel(tmp_path / "utt.npz", mel, HIFIGAN_MEL)
    (out,) = vocode(run, [tmp_path / "utt.npz"], tmp_path / "out")
    assert len(sf.read(out)[0]) == mel.shape[1] * 256


def test_mel_made_with_other_settings_is_refused_by_field(run, tmp_path, mel_of_speechlike):
    melgan = MelConfig.preset("melgan")
    save_mel(tmp_path / "melgan.npz", mel_spectrogram(mel_of_speechlike, melgan), melgan)
    with pytest.raises(MelMismatchError) as info:
        vocode(run, [tmp_path / "melgan.npz"], tmp_path / "out")
    message = str(info.value)
    assert "fmax: expected 8000.0, got 11025.0" in message and "log: expected 'ln', got 'log10'" in message
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_wrong_band_count_and_transposed_mels(run, tmp_path):
    np.save(tmp_path / "bands.npy", np.zeros((64, 20), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"expected a mel of shape \(n_mels=80, frames\), got \(64, 20\)"):
        vocode(run, [tmp_path / "bands.npy"], tmp_path / "out")
    np.save(tmp_path / "transposed.npy", np.zeros((20, 80), dtype=np.float32))
    with pytest.raises(ShapeError, match="transposed"):
        read_mel(tmp_path / "transposed.npy", HIFIGAN_MEL)
    np.save(tmp_path / "nan.npy", np.full((80, 4), np.nan, dtype=np.float32))
    with pytest.raises(NonFiniteAudioError):
        read_mel(tmp_path / "nan.npy", HIFIGAN_MEL)


def test_bare_npy_is_accepted_with_a_warning_and_a_sidecar_is_checked(run, tmp_path):
    np.save(tmp_path / "bare.npy", np.full((80, 7), -5.0, dtype=np.float32))
    with pytest.warns(UserWarning, match="could not be checked"):
        (out,) = vocode(run, [tmp_path / "bare.npy"], tmp_path / "out")
    assert len(sf.read(out)[0]) == 7 * 256
    np.save(tmp_path / "side.npy", np.full((80, 3), -5.0, dtype=np.float32))
    (tmp_path / "side.json").write_text(json.dumps(MelConfig.preset("hifigan_loss").to_dict()))
    with pytest.raises(MelMismatchError, match="fmax: expected 8000.0, got None"):
        read_mel(tmp_path / "side.npy", HIFIGAN_MEL)
    (tmp_path / "side.json").write_text(json.dumps(HIFIGAN_MEL.to_dict()))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checked mel gives no warning
        assert read_mel(tmp_path / "side.npy", HIFIGAN_MEL).shape == (80, 3)


def test_inputs_are_checked_before_loading_anything(run, tmp_path):
    (tmp_path / "a.txt").write_text("hi")
    with pytest.raises(UnsupportedFormatError, match="a.txt"):
        vocode(run, [tmp_path / "a.txt"], tmp_path / "out")
    np.save(tmp_path / "x.npy", np.zeros((80, 2), dtype=np.float32))
    sf.write(tmp_path / "x.wav", np.zeros(2048, dtype=np.float32), 22050)
    with pytest.raises(ConfigError, match="would both write"):
        vocode(run, [tmp_path / "x.npy", tmp_path / "x.wav"], tmp_path / "out")
    with pytest.raises(ConfigError, match=r"device \(--device\) must be 'cpu', 'cuda'"):
        vocode(run, [tmp_path / "x.wav"], tmp_path / "out", device="tpu")


def test_output_folder_is_checked_before_anything_is_loaded(run, tmp_path, monkeypatch, capsys):
    import errno
    import tempfile

    import voclab.vocode as vocode_module

    def no_loading(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the output folder was checked")

    monkeypatch.setattr(vocode_module, "load_checkpoint", no_loading)
    sf.write(tmp_path / "x.wav", np.zeros(2048, dtype=np.float32), 22050)
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ConfigError, match="is a file"):
        vocode(run, [tmp_path / "x.wav"], tmp_path / "taken")
    with pytest.raises(ConfigError, match="taken is a file .so .*sub cannot be created"):
        vocode(run, [tmp_path / "x.wav"], tmp_path / "taken" / "sub")

    def read_only(*args, **kwargs):  # what a read-only folder (or file system) answers
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ConfigError, match=r"Cannot write to .*\(Permission denied\)"):
        vocode(run, [tmp_path / "x.wav"], tmp_path / "out")
    monkeypatch.undo()
    assert not (tmp_path / "out").exists()
    # the command: one line, exit code 2, nothing generated
    assert cli.main(["vocode", str(run), str(tmp_path / "x.wav"), "-o", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voclab: The output folder") and err.count("\n") == 1


def test_one_path_is_one_input(run, tmp_path):
    sf.write(tmp_path / "x.flac", np.zeros(2048, dtype=np.float32), 22050)
    assert vocode(run, str(tmp_path / "x.flac"), tmp_path / "a") == [tmp_path / "a" / "x.wav"]
    assert vocode(run, tmp_path / "x.flac", tmp_path / "b") == [tmp_path / "b" / "x.wav"]


def test_weight_norm_is_removed_for_inference_without_changing_the_output(run, tmp_path):
    from voclab.vocode import prepare_for_inference

    ckpt = load_checkpoint(run)
    mel = torch.randn(1, 80, 6)
    before = ckpt.module.validation_audio(ckpt.generator, mel)
    assert parametrize.is_parametrized(ckpt.generator.pre)
    prepare_for_inference(ckpt)
    assert not parametrize.is_parametrized(ckpt.generator.pre)
    torch.testing.assert_close(ckpt.module.validation_audio(ckpt.generator, mel), before, atol=1e-5, rtol=1e-4)


def test_cli_vocode(run, tmp_path, capsys, mel_of_speechlike):
    sf.write(tmp_path / "speech.wav", mel_of_speechlike, 22050)
    assert cli.main(["vocode", str(run / "checkpoints" / "best.pt"), str(tmp_path / "speech.wav"),
                     "-o", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "speech.wav")
    melgan = MelConfig.preset("melgan")
    save_mel(tmp_path / "m.npz", mel_spectrogram(mel_of_speechlike, melgan), melgan)
    assert cli.main(["vocode", str(run), str(tmp_path / "m.npz"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voclab: m.npz was made with other mel settings") and err.count("\n") == 1
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert cli.main(["vocode", str(tmp_path / "junk.pt"), str(tmp_path / "speech.wav"), "-o", str(tmp_path)]) == 2
    assert "not a readable voclab checkpoint" in capsys.readouterr().err


def test_inference_folds_a_melgan_generators_weight_norm():
    """MelGAN's generator has no remove_weight_norm of its own: vocoding folds it with voclab's generic one."""
    from types import SimpleNamespace

    from voclab.models import melgan
    from voclab.vocode import prepare_for_inference

    torch.manual_seed(0)
    generator = melgan.Generator(n_mels=80, ngf=4, ratios=(4, 4), n_residual_layers=1).eval()
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        before = generator(mel)
    assert any(parametrize.is_parametrized(m) for m in generator.modules())
    prepare_for_inference(SimpleNamespace(generator=generator, module=melgan))
    assert not any(parametrize.is_parametrized(m) for m in generator.modules())
    with torch.no_grad():
        torch.testing.assert_close(generator(mel), before, rtol=1e-5, atol=1e-6)
