"""Tests of voclab.audio: loading and saving audio with clear, typed errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from voclab import audio
from voclab.errors import (
    AudioFileNotFoundError,
    EmptyAudioError,
    NonFiniteAudioError,
    NotAudioError,
    ShapeError,
    UnsupportedFormatError,
    VoclabError,
)

SR = 16000
PCM16_STEP = 1.0 / 32768


def tone(freq=440.0, seconds=0.5, sr=SR, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(y, sr):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spectrum)]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_save_load_round_trip(tmp_path, ext):
    y = tone()
    path = audio.save(tmp_path / f"tone{ext}", y, SR)
    assert path == tmp_path / f"tone{ext}"
    assert path.exists()
    loaded, sr = audio.load(path)
    assert sr == SR
    assert isinstance(sr, int)
    assert loaded.dtype == np.float32
    assert loaded.ndim == 1
    assert loaded.shape == y.shape
    # 16-bit PCM: at most one quantisation step of error
    np.testing.assert_allclose(loaded, y, atol=PCM16_STEP * 1.01)


def test_save_accepts_torch_and_single_row(tmp_path):
    y = tone()
    audio.save(tmp_path / "a.wav", torch.from_numpy(y), SR)
    audio.save(tmp_path / "b.wav", y[None, :], SR)  # (1, samples) is mono
    for name in ("a.wav", "b.wav"):
        loaded, sr = audio.load(tmp_path / name)
        assert sr == SR and loaded.shape == y.shape
        np.testing.assert_allclose(loaded, y, atol=PCM16_STEP * 1.01)


def test_save_clips_loud_samples_and_creates_folders(tmp_path):
    y = np.array([0.0, 2.0, -3.0, 0.5], dtype=np.float32)
    path = audio.save(tmp_path / "deep" / "er" / "loud.wav", y, SR)
    loaded, _ = audio.load(path)
    assert np.abs(loaded).max() <= 1.0
    np.testing.assert_allclose(loaded, [0.0, 1.0, -1.0, 0.5], atol=PCM16_STEP * 1.01)


def test_load_keeps_float_wav_exactly(tmp_path):
    y = tone(amplitude=0.3)
    sf.write(tmp_path / "f.wav", y, SR, subtype="FLOAT")
    loaded, sr = audio.load(tmp_path / "f.wav")
    assert sr == SR
    np.testing.assert_array_equal(loaded, y)


def test_upper_case_extension(tmp_path):
    audio.save(tmp_path / "LOUD.WAV", tone(), SR)
    loaded, sr = audio.load(tmp_path / "LOUD.WAV")
    assert sr == SR and loaded.shape == (SR // 2,)


def test_load_accepts_str_path(tmp_path):
    sf.write(tmp_path / "s.wav", tone(), SR)
    loaded, sr = audio.load(str(tmp_path / "s.wav"))
    assert sr == SR and loaded.shape == (SR // 2,)


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("target", [8000, 22050, 24000])
def test_load_resamples_and_keeps_pitch(tmp_path, target):
    y = tone(440.0, seconds=1.0)
    sf.write(tmp_path / "t.wav", y, SR, subtype="FLOAT")
    loaded, sr = audio.load(tmp_path / "t.wav", sr=target)
    assert sr == target
    assert loaded.dtype == np.float32 and loaded.ndim == 1
    assert abs(len(loaded) - len(y) * target / SR) <= 1
    assert peak_frequency(loaded, target) == pytest.approx(440.0, abs=2.0)


def test_load_same_rate_is_untouched(tmp_path):
    y = tone(amplitude=0.3)
    sf.write(tmp_path / "t.wav", y, SR, subtype="FLOAT")
    loaded, sr = audio.load(tmp_path / "t.wav", sr=SR)
    assert sr == SR
    np.testing.assert_array_equal(loaded, y)


def test_resample_rejects_bad_rates():
    with pytest.raises(ShapeError):
        audio.resample(tone(), 0, 16000)
    with pytest.raises(ShapeError):
        audio.resample(tone(), 16000, -1)


# --------------------------------------------------------------------------- stereo


def test_stereo_is_down_mixed_with_a_warning(tmp_path):
    left = tone(440.0, amplitude=0.4)
    right = tone(660.0, amplitude=0.2)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    with pytest.warns(UserWarning, match=r"2 channels.*mono"):
        loaded, sr = audio.load(tmp_path / "st.wav")
    assert sr == SR and loaded.ndim == 1 and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, (left + right) / 2, atol=1e-6)


def test_mono_load_does_not_warn(tmp_path):
    sf.write(tmp_path / "m.wav", tone(), SR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio.load(tmp_path / "m.wav")


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="No audio file") as info:
        audio.load(tmp_path / "nope.wav")
    assert "nope.wav" in str(info.value)
    assert isinstance(info.value, VoclabError)
    assert isinstance(info.value, FileNotFoundError)  # plain except FileNotFoundError still works


def test_folder(tmp_path):
    folder = tmp_path / "clips.wav"
    folder.mkdir()
    with pytest.raises(NotAudioError, match="folder"):
        audio.load(folder)
    with pytest.raises(NotAudioError, match="folder"):
        audio.load(tmp_path)


def test_text_file_renamed_wav(tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("these are not samples\n" * 20)
    with pytest.raises(NotAudioError, match=r"notes\.wav could not be decoded") as info:
        audio.load(fake)
    assert "WAV" in str(info.value)  # says which format it expected


def test_empty_wav(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(EmptyAudioError, match="no samples") as info:
        audio.load(tmp_path / "empty.wav")
    assert "empty.wav" in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    y = tone()
    y[100] = bad
    y[200] = bad
    sf.write(tmp_path / "bad.wav", y, SR, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError, match="2 NaN or infinite") as info:
        audio.load(tmp_path / "bad.wav")
    assert "nan_to_num" in str(info.value)  # says how to fix it


@pytest.mark.parametrize("ext", [".mp3", ".xyz"])
def test_unknown_extension_on_load(tmp_path, ext):
    path = tmp_path / f"clip{ext}"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(UnsupportedFormatError) as info:
        audio.load(path)
    message = str(info.value)
    assert ".wav" in message and ".flac" in message  # lists what works
    assert "ffmpeg" in message  # and how to convert


@pytest.mark.parametrize("ext", [".npy", ".npz"])
def test_numpy_file_on_load_points_to_numpy_and_read_mel(tmp_path, ext):
    path = tmp_path / f"mel{ext}"
    np.save(path, np.zeros((80, 4), np.float32)) if ext == ".npy" else np.savez(path, mel=np.zeros((80, 4)))
    with pytest.raises(UnsupportedFormatError) as info:
        audio.load(path)
    message = str(info.value)
    assert "ffmpeg" not in message  # converting an array with ffmpeg cannot work
    assert "numpy.load" in message and "voclab.melfiles.read_mel" in message and "voclab vocode" in message


@pytest.mark.parametrize("ext", [".mp3", ".xyz"])
def test_unknown_extension_on_save(tmp_path, ext):
    path = tmp_path / f"clip{ext}"
    with pytest.raises(UnsupportedFormatError, match=r"\.wav"):
        audio.save(path, tone(), SR)
    assert list(tmp_path.iterdir()) == []


def test_all_errors_are_voclab_errors():
    for cls in (AudioFileNotFoundError, NotAudioError, UnsupportedFormatError, EmptyAudioError,
                NonFiniteAudioError, ShapeError):
        assert issubclass(cls, VoclabError)


@pytest.mark.parametrize("shape", [(2, 100), (3, 2, 100), (100, 2)])
def test_save_rejects_a_batch(tmp_path, shape):
    with pytest.raises(ShapeError, match="mono") as info:
        audio.save(tmp_path / "batch.wav", np.zeros(shape, dtype=np.float32), SR)
    assert "separately" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_empty_non_finite_and_bad_rate(tmp_path):
    with pytest.raises(EmptyAudioError):
        audio.save(tmp_path / "e.wav", np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(NonFiniteAudioError):
        audio.save(tmp_path / "n.wav", np.array([0.0, np.nan], dtype=np.float32), SR)
    with pytest.raises(ShapeError, match="sample rate"):
        audio.save(tmp_path / "r.wav", tone(), 0)
    assert list(tmp_path.iterdir()) == []


def test_check_waveform():
    out = audio.check_waveform(np.arange(4, dtype=np.float64))
    assert out.dtype == np.float32
    with pytest.raises(EmptyAudioError):
        audio.check_waveform(np.zeros((3, 0)))
    with pytest.raises(NonFiniteAudioError, match="clip"):
        audio.check_waveform(np.array([np.inf]), name="clip")


# --------------------------------------------------------------------------- atomic save


def test_save_leaves_no_temp_file(tmp_path):
    audio.save(tmp_path / "a.wav", tone(), SR)
    audio.save(tmp_path / "a.wav", tone(220.0), SR)  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_save_replaces_an_existing_file_on_success(tmp_path):
    path = tmp_path / "a.wav"
    audio.save(path, tone(440.0), SR)
    audio.save(path, tone(220.0, seconds=0.25), SR)
    loaded, _ = audio.load(path)
    assert len(loaded) == SR // 4
    assert peak_frequency(loaded, SR) == pytest.approx(220.0, abs=5.0)


def test_bad_input_keeps_the_existing_file(tmp_path):
    path = tmp_path / "a.wav"
    audio.save(path, tone(), SR)
    before = path.read_bytes()
    with pytest.raises(NonFiniteAudioError):
        audio.save(path, np.full(100, np.nan, dtype=np.float32), SR)
    with pytest.raises(ShapeError):
        audio.save(path, np.zeros((2, 100), dtype=np.float32), SR)
    assert path.read_bytes() == before


def _failing_write(real_write):
    """A soundfile.write that writes part of the file, then fails (a full disk, a crash)."""

    def write(file, data, samplerate, **kwargs):
        real_write(file, data[:10], samplerate, **kwargs)
        raise RuntimeError("simulated failure while writing")

    return write


def test_failed_write_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    audio.save(path, tone(), SR)
    before = path.read_bytes()
    monkeypatch.setattr(audio.sf, "write", _failing_write(sf.write))
    with pytest.raises(RuntimeError, match="simulated"):
        audio.save(path, tone(220.0), SR)
    assert path.read_bytes() == before


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    audio.save(path, tone(), SR)
    monkeypatch.setattr(audio.sf, "write", _failing_write(sf.write))
    with pytest.raises(RuntimeError, match="simulated"):
        audio.save(path, tone(220.0), SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
