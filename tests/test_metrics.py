"""Tests of voclab.metrics: spectral convergence, log-spectral distance, log-mel L1, MR-STFT, NDB."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voclab.errors import ConfigError, EmptyAudioError, NonFiniteAudioError, ShapeError
from voclab.metrics import (
    PWG_RESOLUTIONS,
    NDBResult,
    log_mel_l1,
    log_spectral_distance,
    multi_resolution_stft_distance,
    ndb,
    ndb_features,
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


# --------------------------------------------------------------------------- NDB


def hits(n, seed, kind="low", length=4096, sr=16000):
    """Drum-like test clips: decaying low tones with some noise ("low"), or bright noise bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / sr
    out = np.empty((n, length))
    for i in range(n):
        decay = rng.uniform(5, 60)
        if kind == "low":
            f = rng.uniform(50, 400)
            y = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
            y = y + rng.uniform(0, 0.2) * rng.standard_normal(length)
        else:
            y = np.diff(rng.standard_normal(length + 1))  # white noise tilted to the top octaves
        out[i] = rng.uniform(0.3, 1.0) * np.exp(-decay * t) * y
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ndb_same_distribution_finds_few_bins(seed):
    # two independent draws of one distribution: only chance differences (about 0.05 k)
    result = ndb(hits(300, 10 + seed), hits(300, 100 + seed), k=20, seed=seed)
    assert isinstance(result, NDBResult)
    assert result.bins <= 0.1 * result.k
    assert result.real_proportions.sum() == pytest.approx(1.0)
    assert result.generated_proportions.sum() == pytest.approx(1.0)


def test_ndb_same_distribution_at_gansynths_k():
    # k = 50 over 450 clips each, the size of the drum corpus: chance alone gives about 0.05 k
    result = ndb(hits(450, 20), hits(450, 21), k=50)
    assert result.bins <= 0.1 * result.k


def test_ndb_disjoint_distributions_find_about_k_bins():
    # measured over five draws: 16-20 of 20 bins (a bin holding one or two real clips
    # cannot reach significance even when no generated clip falls in it)
    result = ndb(hits(300, 1), hits(300, 2, kind="high"), k=20)
    assert result.bins >= 0.75 * result.k
    # the bright bursts pile up in a few bins; most real bins get none of them
    assert (result.generated_proportions == 0).sum() >= 10


def test_ndb_mode_collapse_finds_many_bins():
    real = hits(300, 3)
    collapsed = np.repeat(real[7:8], 300, axis=0)  # every generated clip is one real clip
    result = ndb(real, collapsed, k=20)
    assert result.bins >= 0.85 * result.k
    assert result.generated_proportions.max() == 1.0
    assert result.significant[result.generated_proportions.argmax()]


def test_ndb_result_fields_and_normalized():
    result = ndb(hits(60, 4), hits(40, 5), k=5)
    assert result.k == 5 and result.n_real == 60 and result.n_generated == 40
    for field in (result.real_proportions, result.generated_proportions, result.z, result.p_values):
        assert field.shape == (5,)
    assert result.significant.dtype == bool and result.significant.shape == (5,)
    assert result.bins == int(result.significant.sum())
    assert result.normalized == result.bins / 5
    assert "NDBResult(bins=" in repr(result)
    with pytest.raises(AttributeError):  # frozen
        result.bins = 0


def test_ndb_z_test_is_the_pooled_two_proportion_test():
    real, generated = hits(60, 6), hits(90, 7, kind="high")
    result = ndb(real, generated, k=6)
    nr, ng = 60, 90
    pooled = (result.real_proportions * nr + result.generated_proportions * ng) / (nr + ng)
    z = (result.generated_proportions - result.real_proportions) / np.sqrt(pooled * (1 - pooled) * (1 / nr + 1 / ng))
    np.testing.assert_allclose(result.z, z)
    from scipy.stats import norm

    np.testing.assert_allclose(result.p_values, 2 * norm.sf(np.abs(z)), rtol=1e-9)
    np.testing.assert_array_equal(result.significant, result.p_values < 0.05)


def test_ndb_is_deterministic_for_a_seed_and_accepts_every_input_kind():
    real, generated = hits(80, 8), hits(80, 9)
    first = ndb(real, generated, k=8, seed=3)
    again = ndb(torch.from_numpy(real).float(), [g for g in generated.astype(np.float32)], k=8, seed=3)
    np.testing.assert_allclose(first.real_proportions, again.real_proportions)
    np.testing.assert_allclose(first.generated_proportions, again.generated_proportions)
    assert first.bins == again.bins
    with_grad = torch.from_numpy(real).requires_grad_()
    assert ndb(with_grad, generated, k=8, seed=3).bins == first.bins
    # the seed only moves the k-means partition
    other = [ndb(real, generated, k=8, seed=s).real_proportions for s in range(4)]
    assert any(not np.allclose(other[0], o) for o in other[1:])


def test_ndb_features_are_the_documented_log_spectrum():
    clips = hits(3, 10)
    features = ndb_features(clips)
    assert features.shape == (3, 513 * 9)  # 1024-point window, hop 512, 4096 samples: 9 frames
    from voclab.spectral import stft

    expected = np.log(np.abs(stft(clips.astype(np.float32), n_fft=1024, hop_length=512)) + 1e-3)
    np.testing.assert_allclose(features, expected.reshape(3, -1), rtol=1e-5, atol=1e-5)
    assert ndb_features(clips, sample_rate=44100).shape[1] == 1025 * 5  # 2048-point window at 44.1 kHz


def test_ndb_too_few_real_clips_says_what_to_do():
    with pytest.raises(ConfigError, match=r"30 real clips are too few for k=50.*lower k to at most 15"):
        ndb(hits(30, 0), hits(30, 1), k=50)
    with pytest.raises(ConfigError, match="k must be an integer of at least 2"):
        ndb(hits(30, 0), hits(30, 1), k=1)


def test_ndb_bad_inputs_get_clear_errors():
    real = hits(20, 0)
    with pytest.raises(ShapeError, match="real clips have 4096 samples and generated clips 2048"):
        ndb(real, hits(20, 1, length=2048), k=5)
    with pytest.raises(ShapeError, match=r"differ in length .*generated\[1\] has 4000"):
        ndb(real, [real[0], real[1][:4000]], k=5)
    with pytest.raises(ShapeError, match=r"shape \(n_clips, samples\).*x\[None\]"):
        ndb(real, real[0], k=5)
    with pytest.raises(ShapeError, match="shorter than one analysis window"):
        ndb(hits(20, 0, length=512), hits(20, 1, length=512), k=5)
    broken = hits(20, 1)
    broken[3, 100] = np.nan
    with pytest.raises(NonFiniteAudioError, match=r"generated\[3\] contains NaN"):
        ndb(real, broken, k=5)
    with pytest.raises(EmptyAudioError):
        ndb(real, [], k=5)
    with pytest.raises(ConfigError, match="significance"):
        ndb(real, real, k=5, significance=1.5)
