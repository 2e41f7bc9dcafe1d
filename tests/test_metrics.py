"""Tests of voclab.metrics: spectral convergence, log-spectral distance, log-mel L1, MR-STFT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voclab.errors import ShapeError
from voclab.metrics import (
    PWG_RESOLUTIONS,
    log_mel_l1,
    log_spectral_distance,
    multi_resolution_stft_distance,
    spectral_convergence,
)
from voclab.spectral import MelConfig


@pytest.fixture
def magnitude():
    return np.random.default_rng(0).uniform(0.1, 2.0, size=(65, 20)).astype(np.float32)


def speechlike(n=8192, sr=22050, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 40))
    return (0.2 * y / np.abs(y).max() + 0.05 * rng.standard_normal(n)).astype(np.float32)


# --------------------------------------------------------------------------- spectral convergence


def test_spectral_convergence_known_values(magnitude):
    assert spectral_convergence(magnitude, magnitude) == 0.0
    assert spectral_convergence(magnitude, 0.5 * magnitude) == pytest.approx(0.5, rel=1e-6)
    assert spectral_convergence(magnitude, 1.5 * magnitude) == pytest.approx(0.5, rel=1e-6)
    assert spectral_convergence(magnitude, np.zeros_like(magnitude)) == pytest.approx(1.0)
    assert isinstance(spectral_convergence(magnitude, magnitude), float)


def test_spectral_convergence_matches_its_formula(magnitude):
    other = np.random.default_rng(1).uniform(0, 2, size=magnitude.shape)
    expected = np.linalg.norm(magnitude - other) / np.linalg.norm(magnitude)
    assert spectral_convergence(magnitude, other) == pytest.approx(expected, rel=1e-6)


def test_spectral_convergence_of_silence_is_finite():
    zeros = np.zeros((10, 5))
    assert spectral_convergence(zeros, zeros) == 0.0


def test_spectral_convergence_batched(magnitude):
    reference = np.stack([magnitude, magnitude, magnitude])  # (3, F, T)
    estimate = reference * np.array([1.0, 0.5, 0.0], dtype=np.float32)[:, None, None]
    sc = spectral_convergence(reference, estimate)
    assert isinstance(sc, np.ndarray) and sc.shape == (3,)
    np.testing.assert_allclose(sc, [0.0, 0.5, 1.0], atol=1e-6)
    sc4 = spectral_convergence(reference.reshape(1, 3, *magnitude.shape), estimate.reshape(1, 3, *magnitude.shape))
    assert sc4.shape == (1, 3)


def test_spectral_convergence_errors(magnitude):
    with pytest.raises(ShapeError, match="must match"):
        spectral_convergence(magnitude, magnitude[:, :-1])
    with pytest.raises(ShapeError, match="abs"):
        spectral_convergence(magnitude.astype(np.complex64), magnitude.astype(np.complex64))
    with pytest.raises(ShapeError):
        spectral_convergence(magnitude[0], magnitude[0])  # 1-D


def test_spectral_convergence_torch(magnitude):
    ref = torch.from_numpy(magnitude)
    sc = spectral_convergence(ref, 0.5 * ref)
    assert isinstance(sc, torch.Tensor) and sc.ndim == 0
    assert float(sc) == pytest.approx(0.5, rel=1e-6)


# --------------------------------------------------------------------------- log-spectral distance


def test_log_spectral_distance_known_values(magnitude):
    assert log_spectral_distance(magnitude, magnitude) == 0.0
    six_db = 20 * np.log10(2)
    assert six_db == pytest.approx(6.0206, abs=1e-4)
    assert log_spectral_distance(magnitude, 2 * magnitude) == pytest.approx(six_db, rel=1e-5)
    assert log_spectral_distance(magnitude, 0.5 * magnitude) == pytest.approx(six_db, rel=1e-5)


def test_log_spectral_distance_floor():
    silence = np.zeros((10, 4))
    tiny = np.full((10, 4), 1e-9)
    assert log_spectral_distance(silence, tiny) == 0.0  # both below the floor
    assert log_spectral_distance(silence, np.full((10, 4), 1e-4)) == pytest.approx(20.0, rel=1e-6)


def test_log_spectral_distance_batched_and_torch(magnitude):
    ref = np.stack([magnitude, magnitude])
    est = np.stack([magnitude, 2 * magnitude])
    lsd = log_spectral_distance(ref, est)
    assert lsd.shape == (2,)
    np.testing.assert_allclose(lsd, [0.0, 20 * np.log10(2)], atol=1e-4)
    lsd_t = log_spectral_distance(torch.from_numpy(ref), torch.from_numpy(est))
    assert isinstance(lsd_t, torch.Tensor)
    np.testing.assert_allclose(lsd_t.numpy(), lsd, atol=1e-6)
    with pytest.raises(ShapeError):
        log_spectral_distance(magnitude, magnitude.T)


# --------------------------------------------------------------------------- log-mel L1


def test_log_mel_l1_equal_is_zero():
    y = speechlike()
    assert log_mel_l1(y, y) == 0.0
    assert isinstance(log_mel_l1(y, y), float)


def test_log_mel_l1_factor_two_is_ln_two():
    y = speechlike()
    # the mel of y is far above the 1e-5 floor, so doubling y adds ln 2 to every log-mel value
    distance = log_mel_l1(y, 2 * y)
    assert distance == pytest.approx(np.log(2), abs=1e-3)
    assert log_mel_l1(y, 0.5 * y, MelConfig.preset("hifigan_loss")) == pytest.approx(np.log(2), abs=1e-3)
    assert log_mel_l1(y, 2 * y, MelConfig.preset("melgan")) == pytest.approx(np.log10(2), abs=1e-3)


def test_log_mel_l1_trims_to_the_shorter():
    y = speechlike()
    assert log_mel_l1(y, y[:6000]) == pytest.approx(0.0, abs=1e-6)
    assert log_mel_l1(y[:6000], np.concatenate([y, y])) == pytest.approx(0.0, abs=1e-6)
    assert log_mel_l1(y[:6000], 2 * y) == pytest.approx(np.log(2), abs=1e-3)


def test_log_mel_l1_batched_and_torch():
    y = np.stack([speechlike(seed=0), speechlike(seed=1)])
    l1 = log_mel_l1(y, y * np.array([[1.0], [2.0]], dtype=np.float32))
    assert l1.shape == (2,)
    np.testing.assert_allclose(l1, [0.0, np.log(2)], atol=1e-3)
    l1_t = log_mel_l1(torch.from_numpy(y[0]), torch.from_numpy(2 * y[0]))
    assert isinstance(l1_t, torch.Tensor) and l1_t.ndim == 0
    assert float(l1_t) == pytest.approx(np.log(2), abs=1e-3)


def test_log_mel_l1_grows_with_noise():
    y = speechlike()
    noise = np.random.default_rng(5).standard_normal(len(y)).astype(np.float32)
    distances = [log_mel_l1(y, y + level * noise) for level in (0.001, 0.01, 0.1)]
    assert 0 < distances[0] < distances[1] < distances[2]


# --------------------------------------------------------------------------- multi-resolution STFT


def test_mr_stft_equal_is_zero():
    y = speechlike()
    assert multi_resolution_stft_distance(y, y) == pytest.approx(0.0, abs=1e-7)
    assert isinstance(multi_resolution_stft_distance(y, y), float)
    assert len(PWG_RESOLUTIONS) == 3


def test_mr_stft_grows_with_noise():
    y = speechlike()
    noise = np.random.default_rng(6).standard_normal(len(y)).astype(np.float32)
    distances = [multi_resolution_stft_distance(y, y + level * noise) for level in (0.001, 0.01, 0.1, 1.0)]
    assert distances[0] > 0
    assert all(a < b for a, b in zip(distances, distances[1:]))


def test_mr_stft_trims_batches_and_torch():
    y = speechlike()
    assert multi_resolution_stft_distance(y, np.concatenate([y, y])) == pytest.approx(0.0, abs=1e-7)
    batch = np.stack([y, y])
    noisy = np.stack([y, y + 0.1 * np.random.default_rng(7).standard_normal(len(y)).astype(np.float32)])
    distance = multi_resolution_stft_distance(batch, noisy)
    assert distance.shape == (2,)
    assert distance[0] == pytest.approx(0.0, abs=1e-7) and distance[1] > 0.1
    distance_t = multi_resolution_stft_distance(torch.from_numpy(batch), torch.from_numpy(noisy))
    assert isinstance(distance_t, torch.Tensor)
    np.testing.assert_allclose(distance_t.numpy(), distance, rtol=1e-5, atol=1e-7)


def test_mr_stft_custom_resolutions():
    y = speechlike()
    noisy = y + 0.05 * np.random.default_rng(8).standard_normal(len(y)).astype(np.float32)
    one = multi_resolution_stft_distance(y, noisy, resolutions=[(512, 128, 512)])
    assert one > 0
