"""Tests of the shoot-out measures in voclab.metrics: F0 RMSE and V/UV error, periodicity error,
instantaneous-frequency deviation, the harmonic IF error, STOI and wide-band PESQ (when installed)
and the real-time factor.

The expected values were measured with these functions (see the docstrings); the margins
leave room for float and library differences but not for a broken measure.
"""

from __future__ import annotations

import importlib.util
import sys
import time

import numpy as np
import pytest
import torch
from scipy.signal import hilbert

from voclab.data import load_clip
from voclab.errors import (
    ConfigError,
    EmptyAudioError,
    MissingExtraError,
    NonFiniteAudioError,
    ShapeError,
    VoclabError,
)
from voclab.metrics import (
    F0Result,
    RealTimeFactorResult,
    f0_rmse,
    harmonic_if_error,
    if_deviation,
    multi_resolution_stft_distance,
    optional_measures,
    periodicity_error,
    pesq_wb,
    real_time_factor,
    stoi,
)
from voclab.phase import griffin_lim
from voclab.spectral import istft, stft

SR = 16000
N_FFT, HOP = 1024, 256


def tone(f0=200.0, seconds=0.5, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return 0.5 * np.sin(2 * np.pi * f0 * t)


def harmonic(seconds=0.5, phase_turn=False, sr=SR):
    """Seven harmonics of 200 Hz; ``phase_turn`` turns every harmonic by 90° (the Hilbert rotation)."""
    t = np.arange(int(seconds * sr)) / sr
    wave = np.sin if phase_turn else np.cos
    return sum(wave(2 * np.pi * 200 * k * t) / k for k in range(1, 8))


def random_phase(y, seed=0):
    """The STFT magnitude of ``y`` with uniformly random phase, back to a waveform."""
    S = stft(y, n_fft=N_FFT, hop_length=HOP)
    phase = np.random.default_rng(seed).uniform(-np.pi, np.pi, S.shape)
    return istft(np.abs(S) * np.exp(1j * phase), n_fft=N_FFT, hop_length=HOP, length=y.size)


def griffin_lim_of(y):
    S = stft(y, n_fft=N_FFT, hop_length=HOP)
    return griffin_lim(np.abs(S), n_fft=N_FFT, hop_length=HOP, n_iter=32, length=y.size)


@pytest.fixture(scope="module")
def speech():
    y, sr = load_clip("arctic_a0007")
    assert sr == SR
    return y[: 2 * SR].astype(np.float64)


# --------------------------------------------------------------------------- f0_rmse


def test_f0_rmse_of_identical_clips_is_zero():
    result = f0_rmse(tone(), tone(), SR)
    assert isinstance(result, F0Result)
    assert result.rmse_cents == 0.0 and result.vuv_error == 0.0
    assert result.n_frames == result.n_voiced_both == result.n_voiced_reference == result.n_voiced_estimate == 16


@pytest.mark.parametrize("cents", [50, -50])
def test_f0_rmse_reads_a_detuning_in_cents(cents):
    result = f0_rmse(tone(), tone(200 * 2 ** (cents / 1200)), SR)  # measured: 50.0 and 50.7
    assert result.rmse_cents == pytest.approx(50, abs=5)
    assert result.vuv_error == 0.0


def test_f0_rmse_counts_voicing_disagreements():
    reference = tone(seconds=1.0)
    half_silent = np.where(np.arange(reference.size) < reference.size // 2, reference, 0.0)
    result = f0_rmse(reference, half_silent, SR, frame_length=1024, hop_length=256)
    # measured 30/63 = 0.476: the frames straddling the edge still hear the tone
    assert 0.44 < result.vuv_error <= 0.5
    assert result.n_voiced_reference == result.n_frames == 63
    assert result.n_voiced_both == result.n_voiced_estimate
    assert result.vuv_error == pytest.approx((result.n_frames - result.n_voiced_both) / result.n_frames)
    assert result.rmse_cents < 10  # where both are voiced the pitch agrees


def test_f0_rmse_trims_to_the_shorter_clip():
    longer = np.concatenate([tone(), np.random.default_rng(0).standard_normal(4000)])
    assert f0_rmse(tone(), longer, SR).rmse_cents == 0.0
    assert f0_rmse(tone(), longer, SR).vuv_error == 0.0


def test_f0_rmse_is_nan_when_no_frame_is_voiced_in_both():
    result = f0_rmse(tone(), np.zeros(SR // 2), SR)
    assert np.isnan(result.rmse_cents) and result.n_voiced_both == 0 and result.vuv_error == 1.0


@pytest.mark.parametrize(
    "reference, kwargs, error",
    [
        (tone(), {"sr": 0}, ConfigError),
        (tone(), {"sr": SR, "fmin": 1000, "fmax": 500}, ConfigError),
        (tone(), {"sr": SR, "fmax": 9000}, ConfigError),
        (tone(), {"sr": SR, "fmin": 10}, ConfigError),  # fewer than two periods in the frame
        (np.stack([tone(), tone()]), {"sr": SR}, ShapeError),
        (tone()[:1000], {"sr": SR}, ShapeError),
        (np.array([]), {"sr": SR}, EmptyAudioError),
        (np.where(np.arange(SR // 2) == 7, np.nan, tone()), {"sr": SR}, NonFiniteAudioError),
    ],
)
def test_pyin_measures_reject_bad_input(reference, kwargs, error):
    estimate = reference if reference.ndim == 2 else np.nan_to_num(reference)
    with pytest.raises(error):
        f0_rmse(reference, estimate, **kwargs)
    with pytest.raises(error):
        periodicity_error(reference, estimate, **kwargs)


# --------------------------------------------------------------------------- periodicity_error


def test_periodicity_error_separates_tone_from_noise():
    reference = tone()
    noise = 0.3 * np.random.default_rng(0).standard_normal(reference.size)
    half_silent = np.where(np.arange(reference.size) < reference.size // 2, reference, 0.0)
    assert periodicity_error(reference, reference, SR) == 0.0
    against_noise = periodicity_error(reference, noise, SR)  # measured 0.93
    against_half = periodicity_error(reference, half_silent, SR)
    assert against_noise > 0.8
    assert 0.2 < against_half < against_noise


# --------------------------------------------------------------------------- if_deviation


def test_if_deviation_ignores_a_constant_phase_offset_but_not_random_phase():
    reference = harmonic()
    assert if_deviation(reference, reference, SR) == 0.0
    rotated = if_deviation(reference, harmonic(phase_turn=True), SR)  # measured 0.0103
    delayed = if_deviation(reference, np.concatenate([np.zeros(HOP), reference])[: reference.size], SR)  # 0.015
    scrambled = if_deviation(reference, random_phase(reference), SR)  # measured 0.339
    griffin = if_deviation(reference, griffin_lim_of(reference), SR)  # measured 0.036
    assert rotated < 0.02 and delayed < 0.03
    assert scrambled > 0.28
    assert 0.02 < griffin < 0.1 and griffin > 2 * rotated


def test_if_deviation_of_speech_ignores_negation_and_hilbert_rotation(speech):
    assert if_deviation(speech, -speech, SR) < 1e-9
    assert if_deviation(speech, np.imag(hilbert(speech)), SR) < 0.02  # measured 0.0094


def test_if_deviation_ranks_original_griffin_lim_random_phase(speech):
    original = if_deviation(speech, speech, SR)
    griffin = if_deviation(speech, griffin_lim_of(speech), SR)  # measured 0.109
    scrambled = if_deviation(speech, random_phase(speech), SR)  # measured 0.322
    assert original == 0.0
    assert 0.07 < griffin < 0.16
    assert scrambled > 0.25 and scrambled > 2 * griffin


def test_if_deviation_keeps_the_input_kind_and_batch(speech):
    rotated = np.imag(hilbert(speech))
    batched = if_deviation(np.stack([speech, speech]), np.stack([speech, rotated]), SR)
    assert isinstance(batched, np.ndarray) and batched.shape == (2,)
    assert batched[0] == 0.0
    assert batched[1] == pytest.approx(if_deviation(speech, rotated, SR))
    as_tensor = if_deviation(torch.from_numpy(speech), torch.from_numpy(rotated), SR)
    assert isinstance(as_tensor, torch.Tensor) and float(as_tensor) == pytest.approx(batched[1])
    assert isinstance(if_deviation(speech, rotated, SR), float)


@pytest.mark.parametrize(
    "reference, estimate, kwargs, error",
    [
        (harmonic(), harmonic(), {"sr": -1}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "top_db": 0}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "hop_length": 0}, ConfigError),
        (harmonic()[:500], harmonic()[:500], {"sr": SR}, ShapeError),
        (harmonic() + 0j, harmonic(), {"sr": SR}, ShapeError),
        (np.stack([harmonic()] * 2), np.stack([harmonic()] * 3), {"sr": SR}, ShapeError),
        (np.zeros(SR // 2), harmonic(), {"sr": SR}, EmptyAudioError),
        (harmonic(), np.full(SR // 2, np.inf), {"sr": SR}, NonFiniteAudioError),
    ],
)
def test_if_deviation_rejects_bad_input(reference, estimate, kwargs, error):
    with pytest.raises(error):
        if_deviation(reference, estimate, **kwargs)


def test_magnitude_metrics_cannot_tell_what_if_deviation_can(speech):
    """The issue in one test: MR-STFT sees Griffin-Lim close to the original; IF deviation does not."""
    griffin = griffin_lim_of(speech)
    negated = -speech  # the same sound: a constant phase offset of π
    assert multi_resolution_stft_distance(speech, negated) < 1e-6
    assert if_deviation(speech, negated, SR) < 1e-9
    assert if_deviation(speech, griffin, SR) > 0.07


# --------------------------------------------------------------------------- harmonic_if_error


def test_harmonic_if_error_of_a_tone_ignores_phase_offsets_but_not_random_phase():
    reference = harmonic()
    assert harmonic_if_error(reference, reference, SR) == 0.0
    assert harmonic_if_error(reference, 0.1 * reference, SR) < 1e-12  # the level does not matter
    rotated = harmonic_if_error(reference, harmonic(phase_turn=True), SR)  # measured 0.0007
    delayed = harmonic_if_error(reference, np.concatenate([np.zeros(HOP), reference])[: reference.size], SR)  # 0.009
    griffin = harmonic_if_error(reference, griffin_lim_of(reference), SR)  # measured 0.018
    scrambled = [harmonic_if_error(reference, random_phase(reference, seed), SR) for seed in range(3)]  # 0.49-0.54
    assert rotated < 0.003 and delayed < 0.02
    assert 0.01 < griffin < 0.05
    assert min(scrambled) > 0.4


def test_harmonic_if_error_forgives_a_detuning_that_if_deviation_punishes():
    """Clean harmonics 50 cents sharp are as coherent as the original's; bin by bin their IF is far off."""
    t = np.arange(SR // 2) / SR
    sharp = sum(np.cos(2 * np.pi * 200 * 2 ** (50 / 1200) * k * t) / k for k in range(1, 8))
    assert harmonic_if_error(harmonic(), sharp, SR) < 0.003  # measured 0.0004
    assert if_deviation(harmonic(), sharp, SR) > 0.4  # measured 0.53


def test_harmonic_if_error_of_speech_ranks_original_griffin_lim_random_phase(speech):
    negated = harmonic_if_error(speech, -speech, SR)  # measured 0.0001
    rotated = harmonic_if_error(speech, np.imag(hilbert(speech)), SR)  # measured 0.0013
    delayed = harmonic_if_error(speech, np.concatenate([np.zeros(128), speech])[: speech.size], SR)  # 0.0011
    griffin = harmonic_if_error(speech, griffin_lim_of(speech), SR)  # measured 0.0075
    scrambled = harmonic_if_error(speech, random_phase(speech), SR)  # measured 0.122
    assert harmonic_if_error(speech, speech, SR) == 0.0
    assert max(negated, rotated, delayed) < 0.003
    assert 0.004 < griffin < 0.03
    assert scrambled > 0.08 and scrambled > 5 * griffin


def test_harmonic_if_error_is_nan_without_voiced_frames_or_peaks():
    assert np.isnan(harmonic_if_error(np.zeros(SR // 2), harmonic(), SR))  # nothing voiced in the reference
    assert np.isnan(harmonic_if_error(harmonic(), np.zeros(SR // 2), SR))  # no peak in the estimate


@pytest.mark.parametrize(
    "reference, estimate, kwargs, error",
    [
        (harmonic(), harmonic(), {"sr": 0}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "top_db": -3}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "fmax": SR / 2}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "hop_length": 2048, "n_fft": 1024}, ConfigError),
        (harmonic(), harmonic(), {"sr": SR, "n_fft": 0}, ConfigError),
        (harmonic()[:1500], harmonic()[:1500], {"sr": SR}, ShapeError),  # shorter than pYIN's frame
        (harmonic() + 0j, harmonic(), {"sr": SR}, ShapeError),
        (np.stack([harmonic()] * 2), np.stack([harmonic()] * 2), {"sr": SR}, ShapeError),
        (np.array([]), np.array([]), {"sr": SR}, EmptyAudioError),
        (harmonic(), np.full(SR // 2, np.nan), {"sr": SR}, NonFiniteAudioError),
    ],
)
def test_harmonic_if_error_rejects_bad_input(reference, estimate, kwargs, error):
    with pytest.raises(error):
        harmonic_if_error(reference, estimate, **kwargs)


# --------------------------------------------------------------------------- STOI and wide-band PESQ (optional)

needs_pystoi = pytest.mark.skipif(importlib.util.find_spec("pystoi") is None,
                                  reason="pystoi is not installed (pip install 'voclab[metrics]')")
needs_pesq = pytest.mark.skipif(importlib.util.find_spec("pesq") is None,
                                reason="pesq is not installed (pip install 'voclab[metrics]')")


def test_optional_measures_says_what_is_installed():
    installed = optional_measures()
    assert installed == {"stoi": importlib.util.find_spec("pystoi") is not None,
                         "pesq_wb": importlib.util.find_spec("pesq") is not None}


@pytest.mark.parametrize("measure, module", [(stoi, "pystoi"), (pesq_wb, "pesq")])
def test_a_missing_optional_measure_says_which_extra_to_install(monkeypatch, speech, measure, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes ``import module`` fail, as if it were absent
    assert optional_measures()[measure.__name__] is False
    with pytest.raises(MissingExtraError, match=r"pip install 'voclab\[metrics\]'") as info:
        measure(speech, speech, SR)
    assert isinstance(info.value, ImportError) and isinstance(info.value, VoclabError)


@needs_pystoi
def test_stoi_of_identical_and_noisy_speech(speech):
    noisy = speech + 0.05 * np.random.default_rng(0).standard_normal(speech.size)
    assert stoi(speech, speech, SR) == pytest.approx(1.0, abs=1e-6)
    assert 0.5 < stoi(speech, noisy, SR) < 0.95  # measured 0.83 (whole clip)
    assert stoi(speech, speech, SR) == pytest.approx(stoi(speech.astype(np.float32), speech, SR), abs=1e-6)


@needs_pesq
def test_pesq_wb_of_identical_and_noisy_speech(speech):
    noisy = speech + 0.05 * np.random.default_rng(0).standard_normal(speech.size)
    assert pesq_wb(speech, speech, SR) == pytest.approx(4.64, abs=0.01)
    assert 1.0 < pesq_wb(speech, noisy, SR) < 2.0  # measured 1.07 (whole clip)


@needs_pystoi
@needs_pesq
def test_stoi_and_pesq_reject_bad_input(speech):
    with pytest.raises(ShapeError):
        stoi(speech[:1000], speech[:1000], SR)
    with pytest.raises(ShapeError):
        pesq_wb(np.stack([speech] * 2), np.stack([speech] * 2), SR)
    with pytest.raises(ConfigError):
        stoi(speech, speech, 0)
    with pytest.raises(EmptyAudioError):
        pesq_wb(np.zeros(SR), np.zeros(SR), SR)


# --------------------------------------------------------------------------- real_time_factor


def test_real_time_factor_of_a_known_sleep():
    result = real_time_factor(time.sleep, 0.02, audio_seconds=1.0, repeats=3)
    assert isinstance(result, RealTimeFactorResult)
    assert len(result.seconds) == 3 and result.audio_seconds == 1.0
    assert result.x_real_time == pytest.approx(1.0 / 0.02, rel=0.3)
    assert result.x_real_time == pytest.approx(1.0 / result.median_seconds)


def test_real_time_factor_leaves_out_the_warm_up():
    calls = []

    def slow_first():
        time.sleep(0.3 if not calls else 0.01)
        calls.append(1)

    result = real_time_factor(slow_first, audio_seconds=0.5, repeats=3, warmup=1)
    assert len(calls) == 4 and len(result.seconds) == 3
    assert max(result.seconds) < 0.2
    cold = real_time_factor(lambda: time.sleep(0.01), audio_seconds=0.5, repeats=1, warmup=0)
    assert len(cold.seconds) == 1


def test_real_time_factor_sets_and_restores_threads():
    before = torch.get_num_threads()
    seen = []
    result = real_time_factor(lambda: seen.append(torch.get_num_threads()), audio_seconds=1.0, repeats=2, threads=1)
    assert seen == [1, 1, 1] and result.threads == 1
    assert torch.get_num_threads() == before

    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        real_time_factor(fails, audio_seconds=1.0, threads=1)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        ("not callable", {"audio_seconds": 1.0}),
        (time.sleep, {"audio_seconds": 0.0}),
        (time.sleep, {"audio_seconds": 1.0, "repeats": 0}),
        (time.sleep, {"audio_seconds": 1.0, "warmup": -1}),
        (time.sleep, {"audio_seconds": 1.0, "threads": 0}),
    ],
)
def test_real_time_factor_rejects_bad_settings(fn, kwargs):
    with pytest.raises(ConfigError):
        real_time_factor(fn, 0.0, **kwargs)
