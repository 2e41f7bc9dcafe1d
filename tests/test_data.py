"""voclab.data: the shipped clips, the mini-NSynth, and the test signals' known answers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks, freqz, hilbert

from voclab import data
from voclab.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parent.parent
CLIPS = data.list_clips()


# ------------------------------------------------------------------ shipped clips


def test_manifest_matches_files():
    assert data.verify_data() == []


def test_every_kind_is_shipped():
    speech, instrument = data.list_clips("speech"), data.list_clips("instrument")
    drums = data.list_clips("drums")
    assert "arctic_a0007" in speech and "arctic_a0009" in speech
    assert len(instrument) >= 10
    assert len(drums) == 30
    assert sorted(speech + instrument + drums + data.list_clips("notes")) == CLIPS


def test_shipped_data_stays_small():
    total = sum(p.stat().st_size for p in data.data_dir().rglob("*") if p.is_file())
    assert total < 5e6, f"data/ holds {total / 1e6:.2f} MB; the course keeps it under 5 MB"


@pytest.mark.parametrize("name", CLIPS)
def test_every_clip_loads_as_its_manifest_says(name):
    info = data.clip_info(name)
    y, sr = data.load_clip(name)
    assert y.dtype == np.float32 and y.ndim == 1
    assert np.all(np.isfinite(y)) and 0 < np.abs(y).max() <= 1
    assert sr == info["sample_rate"] and y.size == info["n_samples"]
    assert info["duration_s"] == pytest.approx(y.size / sr, abs=1e-3)
    assert info["licence"] and info["source"]["package"]
    if info["kind"] == "speech":
        assert info["transcript"]
    if "pitch" in info:
        assert 24 <= info["pitch"] <= 84 and info["velocity"] in data.VELOCITIES


def test_load_clip_resamples():
    y, sr = data.load_clip("arctic_a0007", sr=8000)
    assert sr == 8000 and y.size == data.clip_info("arctic_a0007")["n_samples"] // 2


def test_licenses_has_a_line_for_each_file():
    lines = (data.data_dir() / "LICENSES.md").read_text(encoding="utf-8").splitlines()
    for name in CLIPS:
        path = data.clip_info(name)["path"]
        assert any(line.startswith(f"| `{path}` |") for line in lines), path


def test_unknown_clip_names_the_valid_ones():
    with pytest.raises(DataError) as err:
        data.load_clip("arctic_a007")
    message = str(err.value)
    assert "Did you mean 'arctic_a0007'" in message
    assert all(name in message for name in CLIPS)
    with pytest.raises(DataError):
        data.clip_info("nope")
    with pytest.raises(DataError, match="kind"):
        data.list_clips("piano")


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy)
    monkeypatch.setenv("VOCLAB_DATA", str(copy))
    assert data.data_dir() == copy.resolve()
    return copy


def test_verify_data_reports_a_tampered_file(data_copy):
    path = data_copy / data.clip_info("arctic_a0009")["path"]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    problems = data.verify_data()
    assert len(problems) == 1
    assert "checksum" in problems[0] and "arctic_a0009" in problems[0]


def test_verify_data_reports_missing_and_extra_files(data_copy):
    (data_copy / data.clip_info("goforward")["path"]).unlink()
    (data_copy / "speech" / "stray.wav").write_bytes(b"RIFF")
    problems = "\n".join(data.verify_data())
    assert "missing file: speech/goforward.flac" in problems
    assert "extra file: speech/stray.wav" in problems
    with pytest.raises(Exception, match="goforward"):
        data.load_clip("goforward")


def test_missing_manifest_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="build_data.py"):
        data.list_clips()
    assert len(data.verify_data()) == 1


# ------------------------------------------------------------------ drum hits


def test_drum_hits_are_cc0_or_mit_16k_one_shots():
    names = data.list_clips("drums")
    licences = {data.clip_info(name)["licence"] for name in names}
    assert licences == {"CC0-1.0", "MIT (FluidR3_GM soundfont, Frank Wen)"}
    sources = {data.clip_info(name)["source"]["package"].split()[0] for name in names}
    assert sources == {"sonic-pi-samples", "fluid-soundfont-gm"}
    kits = {data.clip_info(name).get("kit") for name in names} - {None}
    assert len(kits) == 8  # every GM kit family
    for name in names:
        info = data.clip_info(name)
        assert info["sample_rate"] == 16000 and info["n_samples"] <= 16384
        y, _ = data.load_clip(name)
        assert np.abs(y).max() == pytest.approx(0.9, abs=1e-3)
        # onset-aligned: the hit is within 40 dB of its peak by 2 ms (32 samples) in
        assert np.flatnonzero(np.abs(y) >= 0.9 * 10 ** (-40 / 20))[0] <= 33, name


def test_load_drums_pads_to_the_slice():
    hits, names = data.load_drums()
    assert hits.shape == (30, 16384) and hits.dtype == np.float32
    assert names == data.list_clips("drums")
    np.testing.assert_allclose(np.abs(hits).max(axis=1), 0.9, atol=1e-3)
    for row, name in zip(hits, names):
        n = data.clip_info(name)["n_samples"]
        y, _ = data.load_clip(name)
        np.testing.assert_array_equal(row[:n], y)
        assert not row[n:].any()  # zero-padded after the hit


def test_load_drums_other_lengths_and_rates():
    longest = max(data.clip_info(name)["n_samples"] for name in data.list_clips("drums"))
    hits, _ = data.load_drums(slice_len=None)
    assert hits.shape == (30, longest)
    short, names = data.load_drums(slice_len=2048)
    assert short.shape == (30, 2048)
    cut = [i for i, name in enumerate(names) if data.clip_info(name)["n_samples"] > 2048]
    assert cut and np.all(np.abs(short[cut, -1]) < 1e-3)  # faded out where it is cut
    hits8k, _ = data.load_drums(sr=8000, slice_len=8192)
    assert hits8k.shape == (30, 8192)
    with pytest.raises(ConfigError, match="positive"):
        data.load_drums(slice_len=0)


def test_load_drums_on_old_data_says_to_rebuild(tmp_path, monkeypatch):
    import json

    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy, ignore=shutil.ignore_patterns("drums"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["clips"] = [c for c in manifest["clips"] if c["kind"] != "drums"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("VOCLAB_DATA", str(copy))
    with pytest.raises(DataError, match="no drum hits.*build_data.py"):
        data.load_drums()


def test_verify_data_sees_a_stray_drum_file(data_copy):
    (data_copy / "drums" / "stray.flac").write_bytes(b"fLaC")
    assert "extra file: drums/stray.flac is not in the manifest" in data.verify_data()


def test_build_data_check_passes():
    result = subprocess.run(
        [sys.executable, "tools/build_data.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ mini-NSynth


def lowest_partial_hz(y: np.ndarray, sr: int) -> float:
    """Frequency of the lowest spectral peak within 20 dB of the strongest (the fundamental)."""
    segment = y[int(0.05 * sr) : int(0.5 * sr)]  # the loud early part, before any vibrato
    n_fft = 1 << 15
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size), n_fft))
    peaks, _ = find_peaks(spectrum, height=0.1 * spectrum.max())
    return peaks[0] * sr / n_fft


def test_mini_nsynth_is_deterministic_and_lazy():
    a, b = data.mini_nsynth(12, seed=5), data.mini_nsynth(12, seed=5)
    assert a.labels == b.labels
    late = b[7].audio  # asking for notes in another order changes nothing
    assert np.array_equal(a.stack(), b.stack())
    assert a[7].audio.tobytes() == late.tobytes()
    c = data.mini_nsynth(12, seed=6)
    assert c.labels != a.labels


def test_mini_nsynth_labels_are_nsynth_like():
    ds = data.mini_nsynth(60, seed=2, pitches=range(30, 80))
    labels = ds.labels
    assert len(ds) == len(labels) == 60
    assert len({label["name"] for label in labels}) == 60
    for label in labels:
        assert label["family"] in data.FAMILIES and label["source"] == "synthetic"
        assert 30 <= label["pitch"] < 80 and label["velocity"] in data.VELOCITIES
        numbers = f"{label['instrument']:03d}-{label['pitch']:03d}-{label['velocity']:03d}"
        expected = f"{label['family']}_synthetic_{numbers}"
        assert label["name"] == expected
        assert re.fullmatch(r"[A-G]#?-?\d", label["note_name"])
    note = ds[3]
    assert (note.pitch, note.velocity, note.family, note.name) == tuple(
        labels[3][k] for k in ("pitch", "velocity", "family", "name")
    )
    assert isinstance(ds[-1], data.Note) and len(ds[2:5]) == 3
    with pytest.raises(IndexError):
        ds[60]


def test_mini_nsynth_audio_is_clean_and_velocity_sets_the_peak():
    ds = data.mini_nsynth(44, seed=4, duration=1.0)
    audio = ds.stack()
    assert audio.shape == (44, 16000) and audio.dtype == np.float32
    assert np.all(np.isfinite(audio))
    peaks = np.abs(audio).max(axis=1)
    expected = [0.95 * (label["velocity"] / 127) ** 0.7 for label in ds.labels]
    np.testing.assert_allclose(peaks, expected, rtol=1e-5)
    assert np.all(np.abs(audio[:, -1]) < 1e-3)  # faded out: no click at the end


def test_mini_nsynth_pitch_is_the_label():
    ds = data.mini_nsynth(66, seed=7, families=data.HARMONIC_FAMILIES)
    for i, label in enumerate(ds.labels):
        f0 = lowest_partial_hz(ds[i].audio, ds.sample_rate)
        error = 12 * np.log2(f0 / label["frequency_hz"])
        assert abs(error) < 1.0, f"{label['name']}: {f0:.1f} Hz is {error:+.2f} semitones off"


def test_mini_nsynth_is_fast():
    ds = data.mini_nsynth(200, seed=0)
    start = time.perf_counter()
    ds.stack()
    assert time.perf_counter() - start < 10.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"families": ["kazoo"]}, "unknown families"),
        ({"pitches": [130]}, "0-127"),
        ({"pitches": [100], "sample_rate": 4000}, "too high"),
        ({"n_notes": 10**6}, "distinct labels"),
    ],
)
def test_mini_nsynth_rejects_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        data.mini_nsynth(**{"n_notes": 5, **kwargs})


# ------------------------------------------------------------------ test signals


def instantaneous_hz(y: np.ndarray, sr: int) -> np.ndarray:
    return np.diff(np.unwrap(np.angle(hilbert(y)))) * sr / (2 * np.pi)


@pytest.mark.parametrize("method", ["log", "linear"])
def test_chirp_instantaneous_frequency(method):
    sr, duration, f0, f1 = 16000, 2.0, 100.0, 4000.0
    y = data.chirp(duration, sr, f0, f1, method=method)
    assert y.shape == (32000,) and y.dtype == np.float32
    freq = instantaneous_hz(y.astype(np.float64), sr)
    for fraction in (0.05, 0.95):  # near the start and the end, away from Hilbert edge effects
        t = fraction * duration
        known = (
            f0 * (f1 / f0) ** (t / duration) if method == "log" else f0 + (f1 - f0) * t / duration
        )
        measured = np.median(freq[int(t * sr) - 50 : int(t * sr) + 50])
        assert measured == pytest.approx(known, rel=0.02)
    with pytest.raises(ConfigError, match="alias"):
        data.chirp(1.0, sr, 100, 9000)
    with pytest.raises(ConfigError):
        data.chirp(1.0, sr, 100, 1000, method="cubic")


def test_harmonic_stack_peaks_at_multiples_of_f0():
    sr, f0 = 16000, 250.0
    y = data.harmonic_stack(f0, sr, 1.0, 8)
    assert np.abs(y).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(y))  # 1 s long: bins are 1 Hz apart
    top = np.sort(np.argsort(spectrum)[-8:])
    np.testing.assert_array_equal(top, f0 * np.arange(1, 9))
    ratios = spectrum[top] / spectrum[top[0]]
    np.testing.assert_allclose(ratios, 1 / np.arange(1, 9), rtol=1e-3)  # default amplitudes 1/k
    with pytest.raises(ConfigError, match="at most 31 harmonics"):
        data.harmonic_stack(f0, sr, 1.0, 40)


def test_source_filter_speech_has_its_f0_and_formants():
    import librosa

    sr = 16000
    y, f0 = data.source_filter_speech(sr=sr, duration=2.0, return_f0=True)
    assert y.shape == f0.shape == (32000,) and y.dtype == np.float32
    assert np.abs(y).max() == pytest.approx(0.9, abs=1e-6)
    assert np.array_equal(y, data.source_filter_speech(seed=0))
    assert f0[0] == pytest.approx(120, rel=0.01) and f0[16000] == pytest.approx(180, rel=0.01)
    assert f0[-1] == pytest.approx(100, rel=0.01)
    # The waveform's own pitch follows the returned contour.
    track = librosa.yin(
        y, fmin=60, fmax=400, sr=sr, frame_length=1024, hop_length=256, center=False
    )
    centres = np.arange(track.size) * 256 + 512
    assert np.median(np.abs(12 * np.log2(track / f0[centres]))) < 0.3
    # An LPC envelope of the waveform peaks near each formant.
    a = librosa.lpc(y.astype(np.float64), order=12)
    freqs, response = freqz([1.0], a, worN=4096, fs=sr)
    peaks, _ = find_peaks(20 * np.log10(np.abs(response)))
    for formant, _bandwidth in ((700, 80), (1220, 90), (2600, 120)):
        assert np.min(np.abs(freqs[peaks] - formant)) < 0.12 * formant, (formant, freqs[peaks])
