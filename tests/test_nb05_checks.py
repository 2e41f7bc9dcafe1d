"""Notebook 05's exercise checks: each named mistake, written as a learner would write it, gets
its own message; correct alternatives pass; the learner notebook's stub is "not done"."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from voclab.checks import check_exercise, get_exercise
from voclab.specgram import instantaneous_frequency, mel_inverse_matrix, mel_matrix, phase_from_if

NAMES = ["instantaneous_frequency", "phase_from_if", "specgram_to_mel", "mel_to_specgram", "pixel_norm",
         "fade_in"]


def stub(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"Exercise {name}: your code here")
    return fn


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_stub_is_not_done(name):
    exercise = get_exercise(name)
    assert exercise.notebook == "05_gansynth"
    assert check_exercise(name, exercise.reference).status == "passed"
    assert check_exercise(name, stub(name)).status == "not done"


def assert_named(name, fn, words):
    result = check_exercise(name, fn)
    assert result.status == "failed", result.message
    assert words in result.message, result.message


# --------------------------------------------------------------------------- instantaneous_frequency


def if_unwrap(phase, time_axis=-2):
    """The official way: unwrap along time, then difference; frame 0 kept."""
    step = np.diff(np.unwrap(phase, axis=time_axis), axis=time_axis)
    first = np.take(phase, [0], axis=time_axis)
    return np.concatenate([first, step], axis=time_axis) / np.pi


def if_wrap_steps(phase, time_axis=-2):
    """Another correct way: wrap each step into [−π, π) with the angle of a complex ratio."""
    z = np.exp(1j * np.moveaxis(phase, time_axis, 0))
    step = np.angle(z[1:] * np.conj(z[:-1]))
    return np.moveaxis(np.concatenate([np.moveaxis(phase, time_axis, 0)[:1], step]) / np.pi, 0,
                       time_axis)


@pytest.mark.parametrize("fn", [if_unwrap, if_wrap_steps])
def test_if_correct_versions_pass(fn):
    result = check_exercise("instantaneous_frequency", fn)
    assert result.status == "passed", result.message


def if_along_bins(phase, time_axis=-2):
    step = np.diff(np.unwrap(phase, axis=-1), axis=-1)
    return np.concatenate([np.take(phase, [0], axis=-1), step], axis=-1) / np.pi


@pytest.mark.parametrize("fn, words", [
    (if_along_bins, "along frequency"),
    (lambda phase, time_axis=-2: if_unwrap(phase, time_axis) * np.pi, "π times too large"),
    (lambda phase, time_axis=-2: np.diff(np.unwrap(phase, axis=time_axis), axis=time_axis) / np.pi,
     "frame 0 is missing"),
    (lambda phase, time_axis=-2: np.concatenate(
        [np.take(phase, [0], axis=time_axis), np.diff(phase, axis=time_axis)], axis=time_axis) / np.pi,
     "without unwrapping"),
])
def test_if_mistakes_are_named(fn, words):
    assert_named("instantaneous_frequency", fn, words)


# --------------------------------------------------------------------------- phase_from_if


def test_phase_from_if_cumsum_passes_and_inverts():
    def fn(ifreq, time_axis=-2):
        return np.cumsum(ifreq * np.pi, axis=time_axis)
    assert check_exercise("phase_from_if", fn).status == "passed"
    phase = np.random.default_rng(0).uniform(-np.pi, np.pi, (9, 5))
    np.testing.assert_allclose(fn(instantaneous_frequency(phase)), np.unwrap(phase, axis=0), atol=1e-9)


@pytest.mark.parametrize("fn, words", [
    (lambda ifreq, time_axis=-2: np.cumsum(ifreq, axis=time_axis), "π times too small"),
    (lambda ifreq, time_axis=-2: np.cumsum(ifreq * np.pi, axis=-1 if time_axis == -2 else -2),
     "summed along frequency"),
    (lambda ifreq, time_axis=-2: np.angle(np.exp(1j * np.cumsum(ifreq * np.pi, axis=time_axis))),
     "wrapped the result"),
])
def test_phase_from_if_mistakes_are_named(fn, words):
    assert_named("phase_from_if", fn, words)


# --------------------------------------------------------------------------- mel conversions


def l2m(spec, cfg, *, power=True, eps=True, via_phase=True):
    m = mel_matrix(cfg)
    log_mag, ifreq = spec[..., 0, :, :], spec[..., 1, :, :]
    energy = np.exp(2 * log_mag) if power else np.exp(log_mag)
    with np.errstate(divide="ignore"):
        log_mel = np.log(energy @ m + (cfg.log_eps if eps else 0.0))
    mel_if = instantaneous_frequency(phase_from_if(ifreq) @ m) if via_phase else ifreq @ m
    return np.stack([log_mel, mel_if], axis=-3)


def m2l(mel_spec, cfg, *, matrix="official", half=True):
    m_inv = {"official": mel_inverse_matrix(cfg), "pinv": np.linalg.pinv(mel_matrix(cfg)),
             "transpose": mel_matrix(cfg).T}[matrix]
    log_mel, mel_if = mel_spec[..., 0, :, :], mel_spec[..., 1, :, :]
    power = np.abs(np.exp(log_mel) @ m_inv)
    log_mag = (0.5 if half else 1.0) * np.log(power + cfg.log_eps)
    return np.stack([log_mag, instantaneous_frequency(phase_from_if(mel_if) @ m_inv)], axis=-3)


def test_mel_conversions_written_out_pass():
    assert check_exercise("specgram_to_mel", l2m).status == "passed"
    assert check_exercise("mel_to_specgram", m2l).status == "passed"


@pytest.mark.parametrize("changes, words", [
    (dict(power=False), "as a magnitude"),
    (dict(via_phase=False), "averaged by the matrix"),
    (dict(eps=False), "no log epsilon"),
])
def test_specgram_to_mel_mistakes_are_named(changes, words):
    assert_named("specgram_to_mel", lambda spec, cfg: l2m(spec, cfg, **changes), words)


@pytest.mark.parametrize("changes, words", [
    (dict(half=False), "twice the log-magnitude"),
    (dict(matrix="pinv"), "pseudo-inverse"),
    (dict(matrix="transpose"), "plain transpose"),
])
def test_mel_to_specgram_mistakes_are_named(changes, words):
    assert_named("mel_to_specgram", lambda mel_spec, cfg: m2l(mel_spec, cfg, **changes), words)


# --------------------------------------------------------------------------- pixel_norm, fade_in


def test_pixel_norm_written_out_passes():
    def fn(x, eps=1e-8):
        return x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + eps)
    assert check_exercise("pixel_norm", fn).status == "passed"


@pytest.mark.parametrize("fn, words", [
    (lambda x, eps=1e-8: x / torch.sqrt((x ** 2).mean(dim=(2, 3), keepdim=True) + eps), "over the pixels"),
    (lambda x, eps=1e-8: F.normalize(x, dim=1), "√C times too small"),
    (lambda x, eps=1e-8: x / torch.sqrt((x ** 2).mean(dim=0, keepdim=True) + eps), "across the batch"),
])
def test_pixel_norm_mistakes_are_named(fn, words):
    assert_named("pixel_norm", fn, words)


def test_fade_in_written_out_passes():
    def fn(previous, new, alpha):
        up = previous.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
        return (1 - alpha) * up + alpha * new
    assert check_exercise("fade_in", fn).status == "passed"


@pytest.mark.parametrize("fn, words", [
    (lambda p, n, a: a * F.interpolate(p, scale_factor=2) + (1 - a) * n, "weighs the wrong picture"),
    (lambda p, n, a: (1 - a) * F.interpolate(p, scale_factor=2, mode="bilinear") + a * n, "bilinear"),
    (lambda p, n, a: (1 - a) * F.interpolate(p, scale_factor=(1, 2)) + a * n, "shape"),
])
def test_fade_in_mistakes_are_named(fn, words):
    assert_named("fade_in", fn, words)
