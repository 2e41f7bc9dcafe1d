"""Tests of voclab.specgram: GANSynth's (log-magnitude, IF) image, its framing, its mel version, its config.

Thresholds on round trips are the figures measured with ``python -m voclab.specgram``
(see the module docstring) less a margin of a few dB.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from voclab import specgram as sg
from voclab.data import load_clip, mini_nsynth
from voclab.errors import (
    ConfigError,
    MelMismatchError,
    NonFiniteAudioError,
    ShapeError,
    SpecgramMismatchError,
    VoclabError,
)
from voclab.specgram import (
    SPECGRAM_PRESETS,
    SpecgramConfig,
    from_specgram,
    instantaneous_frequency,
    phase_from_if,
    round_trip_figures,
    specgram_istft,
    specgram_stft,
    to_specgram,
)

H = SpecgramConfig.preset("H")
H_MEL = SpecgramConfig.preset("H-mel")


def fluid_note(name: str) -> np.ndarray:
    audio, sr = load_clip(name)
    assert sr == 16000 and audio.shape == (64000,)
    return audio.astype(np.float32)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    return 10 * math.log10((reference**2).sum() / ((reference - estimate) ** 2).sum())


def wrap(phase: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * phase))


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "name, shape",
    [
        ("H", (2, 128, 1024)),
        ("H-mel", (2, 128, 1024)),
        ("H-phase", (2, 128, 1024)),
        ("L", (2, 256, 512)),
        ("course", (2, 128, 256)),
    ],
)
def test_presets_give_the_documented_shapes(name, shape):
    cfg = SpecgramConfig.preset(name)
    assert cfg.shape == shape
    image = to_specgram(np.zeros(cfg.audio_length, dtype=np.float32), cfg)
    assert image.shape == shape
    assert from_specgram(image, cfg).shape == (cfg.audio_length,)


def test_h_is_the_official_representation():
    assert (H.sample_rate, H.audio_length, H.n_fft, H.hop_length) == (16000, 64000, 2048, 512)
    assert (H.frames, H.bins, H.left_pad, H.dropped_bin, H.ifreq) == (128, 1024, 3072, "dc", True)
    # magenta/models/gansynth/lib/model.py flags of the prespecified normaliser
    assert (H.mag_scale, H.mag_offset, H.if_scale, H.if_offset) == (0.0661371661726, 0.113718730221, 0.8, 0.0)
    assert H.log_eps == 1e-6
    assert H_MEL.diff(H) == {"mel_bins": (1024, None)}
    assert (H_MEL.mel_fmin, H_MEL.mel_fmax) == (0.0, 8000.0)
    assert SpecgramConfig.preset("L").left_pad == 2304
    course = SpecgramConfig.preset("course")
    assert (course.duration, course.n_fft, course.hop_length) == (1.0, 512, 128)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="course"):
        SpecgramConfig.preset("HQ")


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(left_pad=0), ["left_pad", "3072"]),
        (dict(frames=100, left_pad=0), ["frames", "power of two"]),
        (dict(frames=64), ["frames=128"]),
        (dict(n_fft=2000), ["n_fft", "power of two"]),
        (dict(hop_length=300), ["hop_length", "divide"]),
        (dict(dropped_bin="both"), ["dropped_bin"]),
        (dict(mel_bins=1000), ["mel_bins"]),
        (dict(mel_bins=1024, ifreq=False), ["ifreq"]),
        (dict(mel_fmax=9000.0), ["mel_fmax"]),
        (dict(sample_rate=16000.0), ["sample_rate", "integer"]),
        (dict(ifreq=1), ["ifreq"]),
        (dict(mag_scale=0.0), ["mag_scale"]),
    ],
)
def test_invalid_configs_raise_config_errors_naming_the_field(changes, words):
    with pytest.raises(ConfigError) as info:
        H.replace(**changes)
    for word in words:
        assert word in str(info.value)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        H.frames = 64


@pytest.mark.parametrize("name", list(SPECGRAM_PRESETS))
def test_to_dict_from_dict_round_trip_through_json(name):
    cfg = SpecgramConfig.preset(name)
    again = SpecgramConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert SpecgramConfig.resolve(name) == SpecgramConfig.resolve(cfg.to_dict()) == cfg


def test_from_dict_names_unknown_fields():
    with pytest.raises(ConfigError, match="overlap"):
        SpecgramConfig.from_dict({**H.to_dict(), "overlap": 0.75})
    with pytest.raises(ConfigError):
        SpecgramConfig.resolve(3)


def test_require_match_names_every_differing_field():
    H.require_match(SpecgramConfig())  # equal: no error
    with pytest.raises(SpecgramMismatchError) as info:
        H.require_match(SpecgramConfig.preset("L"), what="the checkpoint's images")
    message = str(info.value)
    assert isinstance(info.value, VoclabError)
    assert "the checkpoint's images" in message
    for field in ("n_fft", "hop_length", "frames", "left_pad"):
        assert field in message
    assert "mel_bins" not in message and "sample_rate" not in message
    with pytest.raises(MelMismatchError, match="mel_bins: expected None, got 1024"):
        H.require_match(H_MEL)


# --------------------------------------------------------------------------- phase ↔ IF


@pytest.mark.parametrize("shape, axis", [((7,), 0), ((10, 20), 0), ((10, 20), 1), ((10, 20, 3), 2), ((5, 10, 20), -2)])
def test_instantaneous_frequency_matches_the_official_definition(shape, axis):
    # The official test's numpy reference: concat(unwrap(p)[0], diff(unwrap(p))) / π.
    phase = np.pi * (2 * np.random.default_rng(0).random(shape) - 1)
    unwrapped = np.unwrap(phase, axis=axis)
    first = np.take(unwrapped, [0], axis=axis)
    expected = np.concatenate([first, np.diff(unwrapped, axis=axis)], axis=axis) / np.pi
    ours = instantaneous_frequency(phase, time_axis=axis)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -2])
def test_phase_from_if_inverts_instantaneous_frequency(axis):
    phase = np.pi * (2 * np.random.default_rng(1).random((128, 64)) - 1)
    rebuilt = phase_from_if(instantaneous_frequency(phase, time_axis=axis), time_axis=axis)
    np.testing.assert_allclose(rebuilt, np.unwrap(phase, axis=axis), rtol=0, atol=1e-11)
    np.testing.assert_allclose(wrap(rebuilt - phase), 0.0, atol=1e-11)


def test_instantaneous_frequency_inverts_phase_from_if():
    ifreq = 2 * np.random.default_rng(2).random((3, 128, 32)) - 1  # steps inside (−π, π)
    np.testing.assert_allclose(instantaneous_frequency(phase_from_if(ifreq)), ifreq, rtol=0, atol=1e-12)


def test_float32_torch_round_trip_of_phase_is_close():
    phase = torch.rand(2, 128, 1024, generator=torch.Generator().manual_seed(3)) * 2 * math.pi - math.pi
    rebuilt = phase_from_if(instantaneous_frequency(phase))
    assert isinstance(rebuilt, torch.Tensor) and rebuilt.dtype == torch.float32
    error = torch.remainder(rebuilt - phase + math.pi, 2 * math.pi) - math.pi
    assert error.abs().max() < 1e-4


def test_a_step_of_exactly_pi_keeps_its_sign_like_numpy_unwrap():
    phase = np.array([[0.0, 0.0], [np.pi, -np.pi]])  # 2 frames, 2 bins
    np.testing.assert_array_equal(instantaneous_frequency(phase), [[0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_array_equal(phase_from_if(instantaneous_frequency(phase)), np.unwrap(phase, axis=0))


def test_a_steady_tone_is_a_constant_if_stripe():
    # 1010 Hz advances 2π · 1010 · 512 / 16000 = 2π · 32.32 per hop: IF = 0.64 after wrapping.
    t = np.arange(64000) / 16000
    image = to_specgram(np.sin(2 * np.pi * 1010 * t).astype(np.float64), H.replace(if_scale=1.0))
    column = round(1010 / 7.8125) - 1  # bin 129 is column 128: DC is dropped
    assert np.argmax(image[0, 64]) == column
    steady = image[1, 8:120, column - 1 : column + 2]  # the tone's bin and its neighbours
    np.testing.assert_allclose(steady, 0.64, atol=1e-6)


def test_if_functions_reject_complex_input_and_bad_axes():
    with pytest.raises(ShapeError, match="complex"):
        instantaneous_frequency(np.ones((4, 4), dtype=complex))
    with pytest.raises(ShapeError, match="time_axis"):
        phase_from_if(np.ones((4, 4)), time_axis=2)


# --------------------------------------------------------------------------- framing


def test_tone_at_a_bin_frequency_lands_in_the_right_column():
    t = np.arange(64000) / 16000
    tone = np.sin(2 * np.pi * 10 * 16000 / 2048 * t)  # exactly bin 10
    assert np.argmax(np.abs(specgram_stft(tone, H))[64]) == 9  # DC dropped: bin k is column k - 1
    assert np.argmax(np.abs(specgram_stft(tone, H.replace(dropped_bin="nyquist")))[64]) == 10


def test_nyquist_is_kept_and_dc_is_dropped():
    n = np.arange(64000)
    alternating = 0.1 * (-1.0) ** n  # a tone at exactly Nyquist
    S = np.abs(specgram_stft(alternating, H))
    assert S[64, -1] == pytest.approx(0.1 * 2048 / 2, rel=1e-9)  # Σ w = n_fft / 2
    constant = np.full(64000, 0.1)
    S = np.abs(specgram_stft(constant, H))
    # No column holds the DC bin (0.1 · 1024); only the Hann leakage into bin 1 is left.
    assert S[64, 0] == pytest.approx(0.1 * 2048 / 4, rel=1e-9)
    assert S[64, 1:].max() < 1e-9
    S_nyquist_dropped = np.abs(specgram_stft(constant, H.replace(dropped_bin="nyquist")))
    assert S_nyquist_dropped[64, 0] == pytest.approx(0.1 * 2048 / 2, rel=1e-9)


def test_a_dc_offset_comes_back_at_a_third():
    # Without the DC bin a frame loses its mean: (c·w − c/2) · w / 1.5, overlap-added over
    # four frames (Σ w² = 1.5, Σ w = 2), leaves c · (1.5 − 1) / 1.5 = c / 3.
    y_hat = from_specgram(to_specgram(np.full(64000, 0.3), H), H)
    np.testing.assert_allclose(y_hat[2048:-2048], 0.1, atol=1e-6)  # away from the step at 0 and the tail


def test_padding_is_all_at_the_front_and_the_last_frame_ends_on_the_last_sample():
    first = np.zeros(64000)
    first[0] = 1.0  # sample 3072 of the padded signal: inside frames 3, 4 and 5 only
    energy = np.abs(specgram_stft(first, H)).sum(axis=-1)
    assert np.all(energy[[3, 4, 5]] > 1e-3)
    assert np.all(energy[[0, 1, 2]] == 0) and np.all(energy[6:] == 0)  # frame 6 starts on it: w[0] = 0
    last = np.zeros(64000)
    last[-1] = 1.0
    energy = np.abs(specgram_stft(last, H)).sum(axis=-1)
    assert energy[-1] > 0 and np.all(energy[:-1] == 0)


def test_framing_checks_its_input():
    with pytest.raises(ShapeError, match="audio_length=64000"):
        to_specgram(np.zeros(16000), H)
    with pytest.raises(NonFiniteAudioError):
        specgram_stft(np.full(64000, np.nan), H)
    with pytest.raises(ShapeError, match="complex"):
        specgram_istft(np.zeros((128, 1024)), H)
    with pytest.raises(ShapeError, match="transposed"):
        specgram_istft(np.zeros((1024, 128), dtype=complex), H)
    with pytest.raises(ShapeError, match="2, 128, 1024"):
        from_specgram(np.zeros((2, 1024, 128)), H)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "name, measured",  # SNR measured with `python -m voclab.specgram`
    [
        ("guitar_acoustic_024-060-100", 67.7),
        ("flute_acoustic_073-077-075", 47.4),
        ("vocal_acoustic_052-060-100", 59.5),
    ],
)
def test_linear_round_trip_on_fluidr3_notes_is_near_exact(name, measured):
    y = fluid_note(name)
    y_hat = from_specgram(to_specgram(y, H), H)
    assert y_hat.shape == y.shape and y_hat.dtype == np.float32
    assert snr_db(y, y_hat) > measured - 3.0


@pytest.mark.parametrize("name", ["guitar_acoustic_024-060-100", "flute_acoustic_073-077-075"])
def test_the_dropped_dc_bin_is_what_limits_the_linear_round_trip(name):
    # Same notes, Nyquist dropped instead of DC: measured 93.3 and 102.9 dB.
    y = fluid_note(name)
    cfg = H.replace(dropped_bin="nyquist")
    assert snr_db(y, from_specgram(to_specgram(y, cfg), cfg)) > 85.0


def test_raw_phase_round_trip_is_as_exact_as_if():
    y = fluid_note("guitar_acoustic_024-060-100")
    phase_cfg = SpecgramConfig.preset("H-phase")
    image = to_specgram(y, phase_cfg)
    np.testing.assert_allclose(image[1], np.angle(specgram_stft(y, H)) / np.pi * 0.8, atol=1e-6)
    assert abs(snr_db(y, from_specgram(image, phase_cfg)) - snr_db(y, from_specgram(to_specgram(y, H), H))) < 0.5


def test_all_but_the_tail_comes_back_to_float_precision():
    t = np.arange(64000) / 16000
    note = (0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(64000)).astype(np.float32)
    y_hat = from_specgram(to_specgram(note, H), H)
    tail = H.n_fft - H.hop_length
    assert np.abs(y_hat - note)[:-tail].max() < 1e-5
    assert np.abs(y_hat - note)[-tail:].max() > 1e-5  # the tail is attenuated, as official


def test_normalised_image_is_clipped_to_plus_minus_one():
    y = fluid_note("brass_acoustic_056-062-127") * 1e5  # |S| far above exp((1 - 0.1137) / 0.0661) ≈ 6.6e5
    image = to_specgram(y, H)
    assert image.min() >= -1 and image.max() == 1.0
    silence = to_specgram(np.zeros(64000, dtype=np.float32), H)
    assert silence[0].max() == pytest.approx(math.log(1e-6) * H.mag_scale + H.mag_offset)


@pytest.mark.parametrize(
    "name, measured_snr, measured_lsd",  # measured with `python -m voclab.specgram`
    [("guitar_acoustic_024-060-100", 7.3, 8.93), ("flute_acoustic_073-077-075", -1.1, 10.32)],
)
def test_mel_if_round_trip_is_lossy_within_the_measured_band(name, measured_snr, measured_lsd):
    y = fluid_note(name)
    mel = round_trip_figures(y, H_MEL)
    linear = round_trip_figures(y, H)
    assert mel["snr_db"] == pytest.approx(measured_snr, abs=0.5)
    assert mel["lsd_db"] == pytest.approx(measured_lsd, abs=0.1)
    assert -5.0 < mel["snr_db"] < 20.0 and 7.0 < mel["lsd_db"] < 13.0  # the plausible band
    assert mel["lsd_db"] > 20 * linear["lsd_db"]


def test_course_preset_round_trip_on_a_mini_nsynth_note():
    cfg = SpecgramConfig.preset("course")
    note = mini_nsynth(40, seed=0, duration=cfg.duration)[2]  # an organ note at MIDI 60
    assert note.pitch == 60 and note.audio.shape == (16000,)
    image = to_specgram(note.audio, cfg)
    assert image.shape == (2, 128, 256)
    assert snr_db(note.audio, from_specgram(image, cfg)) > 65.0  # measured 69.4


# --------------------------------------------------------------------------- kinds and batches


def test_batched_torch_matches_numpy_one_by_one():
    notes = np.stack([fluid_note("guitar_acoustic_024-060-100"), fluid_note("reed_acoustic_065-058-100")])
    batch = torch.from_numpy(notes).reshape(2, 1, 64000)  # two leading batch axes
    for cfg in (H, H_MEL):
        images = to_specgram(batch, cfg)
        assert isinstance(images, torch.Tensor) and images.shape == (2, 1, 2, 128, 1024)
        audio = from_specgram(images, cfg)
        assert isinstance(audio, torch.Tensor) and audio.shape == (2, 1, 64000)
        for i in range(2):
            image = to_specgram(notes[i], cfg)
            assert isinstance(image, np.ndarray) and image.dtype == np.float32
            np.testing.assert_allclose(images[i, 0].numpy(), image, atol=1e-5)
            np.testing.assert_allclose(audio[i, 0].numpy(), from_specgram(image, cfg), atol=1e-5)


def test_float64_stays_float64():
    y = fluid_note("guitar_acoustic_024-060-100").astype(np.float64)
    image = to_specgram(y, H)
    assert image.dtype == np.float64 and from_specgram(image, H).dtype == np.float64
    assert specgram_stft(y, H).dtype == np.complex128


# --------------------------------------------------------------------------- mel matrix


def test_mel_matrix_is_the_official_one():
    M = sg.mel_matrix(H_MEL)
    assert M.shape == (1024, 1024) and M.dtype == np.float64
    # Sum and support of magenta's linear_to_mel_weight_matrix(1024, 1024, 16000, 0, 8000),
    # computed once with the official function (commit 526d3eb); ours was identical bit for bit.
    assert M.sum() == pytest.approx(1021.0981806433961, rel=1e-12)
    assert (M > 0).sum() == 2042
    assert M.min() == 0 and M.max() <= 1
    assert not M[0].any() and not M[-1].any()  # the grid's "DC" row and the top edge


def test_official_mel_bands_are_linear_below_5_khz():
    # The widened bands' centres climb 1.5 bins / 2 = 5.86 Hz a band (see mel_matrix's docstring).
    M = sg.mel_matrix(H_MEL)
    grid_hz = np.linspace(0, 8000, 1024)  # the official grid the triangles are evaluated on
    centroids = (M * grid_hz[:, None]).sum(axis=0) / np.maximum(M.sum(axis=0), 1e-12)
    steps = np.diff(centroids)
    assert steps[10:840].mean() == pytest.approx(1.5 * 8000 / 1024 / 2, abs=0.01)
    assert steps[860:1000].min() > 13.0  # above 5 kHz the mel spacing takes over


def test_mel_inverse_is_the_normalised_transpose_not_a_pseudo_inverse():
    M = sg.mel_matrix(H_MEL)
    column_sums = (M @ M.T).sum(axis=0)
    scale = np.divide(1.0, column_sums, out=np.zeros_like(column_sums), where=column_sums > 1e-8)
    M_inv = sg.mel_inverse_matrix(H_MEL)
    np.testing.assert_allclose(M_inv, M.T * scale[None, :], rtol=1e-12, atol=0)
    assert M_inv.shape == (1024, 1024) and M_inv.min() >= 0
    assert not np.allclose(M @ M_inv, np.eye(1024), atol=1e-3)


def test_mel_functions_need_a_mel_config():
    with pytest.raises(ConfigError, match="H-mel"):
        sg.mel_matrix(H)
    with pytest.raises(ShapeError):
        sg.linear_to_mel(np.zeros((2, 128, 512)), H_MEL)
