"""Tests of voclab.phase: Griffin-Lim and fast Griffin-Lim.

The reference loops below are written from the algorithm's description with numpy's FFT
(their own STFT/iSTFT: periodic Hann, centred frames with zero padding, weighted
overlap-add), not with voclab's code. Griffin-Lim in float32 is chaotic over many
iterations (rounding differences grow), so exact comparisons run in float64.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from voclab.errors import ConfigError, ShapeError, VoclabError
from voclab.phase import griffin_lim, inconsistency, initial_phase
from voclab.spectral import istft, stft

N_FFT, HOP = 512, 128
SR = 16000


# --------------------------------------------------------------------------- signals


def harmonic(seconds=0.5, f0=200.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 15))
    return (0.2 * y).astype(np.float32)


def chirp(seconds=0.5, sr=SR, f_start=100.0, f_end=6400.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * (f_start * t + 0.5 * (f_end - f_start) / seconds * t**2))).astype(
        np.float32
    )


def magnitude_of(y, n_fft=N_FFT, hop=HOP):
    return np.abs(stft(y, n_fft=n_fft, hop_length=hop))


def sc(target, y, n_fft=N_FFT, hop=HOP):
    """Spectral convergence of a waveform against a target magnitude."""
    estimate = np.abs(np_stft(np.asarray(y, dtype=np.float64), n_fft, hop))
    return np.linalg.norm(target - estimate) / np.linalg.norm(target)


# --------------------------------------------------------------------------- numpy reference


def _window(n_fft):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann


def np_stft(y, n_fft=N_FFT, hop=HOP):
    padded = np.pad(y, (n_fft // 2, n_fft // 2))
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[t * hop : t * hop + n_fft] for t in range(n_frames)]) * _window(n_fft)
    return np.fft.rfft(frames, axis=1).T  # (freq, frames)


def np_istft(S, n_fft=N_FFT, hop=HOP):
    window = _window(n_fft)
    n_frames = S.shape[1]
    total = n_fft + hop * (n_frames - 1)
    signal = np.zeros(total)
    envelope = np.zeros(total)
    frames = np.fft.irfft(S.T, n=n_fft, axis=1) * window
    for t in range(n_frames):
        signal[t * hop : t * hop + n_fft] += frames[t]
        envelope[t * hop : t * hop + n_fft] += window**2
    signal = signal / np.where(envelope > 1e-11, envelope, 1.0)
    return signal[n_fft // 2 : total - n_fft // 2]


def np_griffin_lim(magnitude, init_phase, n_iter, momentum=0.0):
    """Griffin & Lim (1984); with momentum, the fast update of Perraudin et al. (2013):
    T_n = C_n - momentum / (1 + momentum) * C_{n-1}, C_0 = 0, phase of T_n kept."""
    angles = np.exp(1j * init_phase)
    previous = np.zeros_like(angles)
    for _ in range(n_iter):
        rebuilt = np_stft(np_istft(magnitude * angles))
        update = rebuilt - momentum / (1 + momentum) * previous
        previous = rebuilt
        angles = update / (np.abs(update) + 1e-300)
    return np_istft(magnitude * angles)


def test_numpy_reference_stft_agrees_with_librosa():
    y = harmonic().astype(np.float64)
    np.testing.assert_allclose(np_stft(y), librosa.stft(y, n_fft=N_FFT, hop_length=HOP), atol=1e-9)
    np.testing.assert_allclose(np_istft(np_stft(y)), y[: HOP * (np_stft(y).shape[1] - 1)], atol=1e-12)


# --------------------------------------------------------------------------- basics


def test_length_and_kind_numpy():
    y = harmonic()
    mag = magnitude_of(y)
    out = griffin_lim(mag, n_iter=4, length=len(y))
    assert isinstance(out, np.ndarray)
    assert out.shape == y.shape and out.dtype == np.float32
    # without length: hop * (frames - 1) samples, as an iSTFT with centred frames
    assert griffin_lim(mag, n_iter=2).shape == (HOP * (mag.shape[1] - 1),)
    assert griffin_lim(mag, n_iter=2, length=1234).shape == (1234,)


def test_length_and_kind_torch():
    y = harmonic()
    mag = torch.from_numpy(magnitude_of(y))
    out = griffin_lim(mag, n_iter=4, length=len(y))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (len(y),) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), griffin_lim(mag.numpy(), n_iter=4, length=len(y)), atol=1e-6)


def test_deterministic_for_a_seed_and_different_for_another():
    mag = magnitude_of(harmonic())
    a = griffin_lim(mag, n_iter=8, seed=3)
    b = griffin_lim(mag, n_iter=8, seed=3)
    c = griffin_lim(mag, n_iter=8, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-2


def test_initial_phase():
    shape = (5, 7)
    random = initial_phase(shape, seed=1)
    assert random.shape == shape and random.dtype == torch.float32
    assert (random >= 0).all() and (random < 2 * np.pi).all()
    assert torch.equal(random, initial_phase(shape, seed=1))
    assert not torch.equal(random, initial_phase(shape, seed=2))
    assert torch.equal(initial_phase(shape, init="zeros"), torch.zeros(shape))
    explicit = np.linspace(0, 1, 35).reshape(shape)
    np.testing.assert_allclose(initial_phase(shape, init=explicit, dtype=torch.float64).numpy(), explicit)
    with pytest.raises(ConfigError):
        initial_phase(shape, init="bad")
    with pytest.raises(ConfigError):
        initial_phase(shape, init=np.ones(shape, dtype=np.complex64))
    with pytest.raises(ShapeError):
        initial_phase(shape, init=np.ones((3, 3)))


# --------------------------------------------------------------------------- against the algorithm


@pytest.mark.parametrize("n_iter", [1, 16])
def test_momentum_zero_is_plain_griffin_lim(n_iter):
    y = harmonic(0.25).astype(np.float64)
    mag = np.abs(np_stft(y))
    init = np.random.default_rng(0).uniform(0, 2 * np.pi, mag.shape)
    ours = griffin_lim(mag, n_iter=n_iter, momentum=0.0, init=init)
    ref = np_griffin_lim(mag, init, n_iter, momentum=0.0)
    assert ours.dtype == np.float64 and ours.shape == ref.shape
    assert np.abs(ours - ref).max() / np.abs(ref).max() < 1e-5


@pytest.mark.parametrize("n_iter", [1, 2, 16])
def test_momentum_is_the_perraudin_update(n_iter):
    y = harmonic(0.25).astype(np.float64)
    mag = np.abs(np_stft(y))
    init = np.random.default_rng(1).uniform(0, 2 * np.pi, mag.shape)
    ours = griffin_lim(mag, n_iter=n_iter, momentum=0.99, init=init)
    ref = np_griffin_lim(mag, init, n_iter, momentum=0.99)
    assert np.abs(ours - ref).max() / np.abs(ref).max() < 1e-5
    if n_iter > 1:  # and the momentum really changes the result
        plain = np_griffin_lim(mag, init, n_iter, momentum=0.0)
        assert np.abs(ours - plain).max() / np.abs(plain).max() > 1e-2


def test_float32_follows_the_reference_for_a_few_iterations():
    y = harmonic(0.25)
    mag = magnitude_of(y)
    init = np.random.default_rng(2).uniform(0, 2 * np.pi, mag.shape)
    ours = griffin_lim(mag, n_iter=4, init=init.astype(np.float32))
    ref = np_griffin_lim(mag.astype(np.float64), init, 4, momentum=0.99)
    assert np.abs(ours - ref).max() / np.abs(ref).max() < 1e-4


def test_n_iter_zero_uses_the_initial_phase():
    mag = magnitude_of(harmonic())
    init = np.random.default_rng(5).uniform(0, 2 * np.pi, mag.shape).astype(np.float32)
    out, convergence = griffin_lim(mag, n_iter=0, init=init, return_convergence=True)
    expected = istft(mag * np.exp(1j * init).astype(np.complex64), hop_length=HOP)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert convergence.shape == (1,)
    assert 0 < convergence[0] < 1.5


# --------------------------------------------------------------------------- convergence


def test_convergence_history():
    mag = magnitude_of(harmonic())
    n_iter = 20
    y, convergence = griffin_lim(mag, n_iter=n_iter, momentum=0.0, return_convergence=True, length=8000)
    assert y.shape == (8000,)
    assert convergence.shape == (n_iter + 1,)
    assert np.isfinite(convergence).all()
    assert convergence[-1] < 0.5 * convergence[0]
    # plain Griffin-Lim never increases the distance ||S| - |STFT(x)|| (Griffin & Lim 1984)
    assert np.all(np.diff(convergence) <= 1e-5)
    # the last entry is the returned estimate's own spectral convergence
    assert convergence[-1] == pytest.approx(sc(mag, griffin_lim(mag, n_iter=n_iter, momentum=0.0)), rel=1e-3)


def test_fast_griffin_lim_beats_plain_after_32_iterations():
    mag = magnitude_of(harmonic())
    _, plain = griffin_lim(mag, n_iter=32, momentum=0.0, return_convergence=True)
    _, fast = griffin_lim(mag, n_iter=32, momentum=0.99, return_convergence=True)
    assert fast.shape == plain.shape == (33,)
    assert fast[0] == plain[0]  # same start
    assert fast[-1] < fast[0]  # decreases overall (not monotonically)
    assert fast[-1] < 0.75 * plain[-1]  # measured: 0.08 vs 0.17


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectral_convergence_after_100_iterations_on_a_chirp(seed):
    # measured on this chirp: fast GL 0.039-0.052, plain GL 0.063-0.117 after 100 iterations
    mag = magnitude_of(chirp())
    _, fast = griffin_lim(mag, n_iter=100, seed=seed, return_convergence=True)
    assert fast[-1] < 0.08
    _, plain = griffin_lim(mag, n_iter=100, momentum=0.0, seed=seed, return_convergence=True)
    assert plain[-1] < 0.15
    assert fast[-1] < plain[-1]


# --------------------------------------------------------------------------- batches and dtypes


@pytest.mark.parametrize("init", ["zeros", "explicit"])
def test_batched_equals_per_item(init):
    mags = np.stack([magnitude_of(harmonic()), magnitude_of(chirp())])  # (2, F, T)
    phases = np.random.default_rng(6).uniform(0, 2 * np.pi, mags.shape).astype(np.float32)
    batch_init = phases if init == "explicit" else "zeros"
    out, convergence = griffin_lim(mags, n_iter=8, init=batch_init, return_convergence=True)
    assert out.shape == (2, HOP * (mags.shape[-1] - 1))
    assert convergence.shape == (9, 2)
    for i in range(2):
        item_init = phases[i] if init == "explicit" else "zeros"
        single, single_convergence = griffin_lim(mags[i], n_iter=8, init=item_init, return_convergence=True)
        np.testing.assert_allclose(out[i], single, atol=1e-4 * np.abs(single).max())
        np.testing.assert_allclose(convergence[:, i], single_convergence, rtol=1e-3)


def test_batched_random_init_is_deterministic():
    mags = np.stack([magnitude_of(harmonic())] * 2)
    a = griffin_lim(torch.from_numpy(mags), n_iter=4, seed=7)
    b = griffin_lim(torch.from_numpy(mags), n_iter=4, seed=7)
    assert a.shape == (2, HOP * (mags.shape[-1] - 1))
    assert torch.equal(a, b)


def test_float64():
    mag = magnitude_of(harmonic()).astype(np.float64)
    out, convergence = griffin_lim(mag, n_iter=8, return_convergence=True)
    assert out.dtype == np.float64
    assert np.isfinite(convergence).all()
    out_t = griffin_lim(torch.from_numpy(mag), n_iter=2)
    assert out_t.dtype == torch.float64


def test_all_zero_magnitude_gives_silence():
    mag = np.zeros((N_FFT // 2 + 1, 20), dtype=np.float32)
    out, convergence = griffin_lim(mag, n_iter=5, return_convergence=True)
    assert np.isfinite(out).all() and np.all(out == 0)
    assert np.isfinite(convergence).all()


# --------------------------------------------------------------------------- errors


def test_bad_magnitudes():
    mag = magnitude_of(harmonic())
    with pytest.raises(ShapeError, match="complex"):
        griffin_lim(stft(harmonic(), n_fft=N_FFT, hop_length=HOP))
    negative = mag.copy()
    negative[3, 3] = -1.0
    with pytest.raises(ShapeError, match="negative"):
        griffin_lim(negative)
    for bad in (np.nan, np.inf):
        broken = mag.copy()
        broken[3, 3] = bad
        with pytest.raises(ShapeError, match="NaN"):
            griffin_lim(broken)
    with pytest.raises(ShapeError):
        griffin_lim(mag[0])  # 1-D


def test_wrong_n_fft_and_transposed():
    mag = magnitude_of(harmonic())
    with pytest.raises(ShapeError, match="n_fft=1024"):
        griffin_lim(mag, n_fft=1024)
    with pytest.raises(ShapeError, match="transposed"):
        griffin_lim(mag.T.copy(), n_fft=N_FFT)
    with pytest.raises(VoclabError):
        griffin_lim(mag, n_fft=N_FFT // 2)


def test_bad_settings():
    mag = magnitude_of(harmonic())
    with pytest.raises(ConfigError, match="init"):
        griffin_lim(mag, init="bad")
    with pytest.raises(ShapeError):
        griffin_lim(mag, init=np.zeros((3, 3)))
    with pytest.raises(ConfigError, match="n_iter"):
        griffin_lim(mag, n_iter=-1)
    with pytest.raises(ConfigError, match="momentum"):
        griffin_lim(mag, momentum=-0.5)
    with pytest.warns(UserWarning, match="diverge"):
        griffin_lim(mag, n_iter=1, momentum=1.5)


# --------------------------------------------------------------------------- against librosa


@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_same_result_as_librosa_from_the_same_start(momentum):
    mag = magnitude_of(harmonic()).astype(np.float64)
    ours = griffin_lim(mag, n_iter=32, momentum=momentum, init="zeros")
    theirs = librosa.griffinlim(mag, n_iter=32, hop_length=HOP, n_fft=N_FFT, momentum=momentum, init=None)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-5
    assert sc(mag, ours) == pytest.approx(sc(mag, theirs), rel=1e-3)


@pytest.mark.parametrize("signal", [harmonic, chirp])
def test_spectral_convergence_as_good_as_librosa(signal, momentum=0.99):
    """Random starts differ (different generators) and one start is a noisy sample, so the
    mean spectral convergence over 8 seeds is compared, not samples. (From the same start
    the two agree to float precision: test_same_result_as_librosa_from_the_same_start.)"""
    mag = magnitude_of(signal())
    seeds = range(8)
    ours = np.mean([sc(mag, griffin_lim(mag, n_iter=32, momentum=momentum, seed=s)) for s in seeds])
    theirs = np.mean([
        sc(mag, librosa.griffinlim(mag, n_iter=32, hop_length=HOP, n_fft=N_FFT, momentum=momentum,
                                   random_state=s))
        for s in seeds
    ])
    # measured: fast GL 0.089 vs 0.090 (harmonic), 0.079 vs 0.076 (chirp); within 4 % for plain GL too
    assert abs(ours - theirs) <= 0.1 * theirs


# --------------------------------------------------------------------------- inconsistency


def two_sided_stft_matrix(n_samples, n_fft, hop, center):
    """The STFT as a matrix (two-sided DFT, periodic Hann, zero padding), built column by column."""
    window = _window(n_fft)

    def analyse(x):
        padded = np.pad(x, (n_fft // 2, n_fft // 2)) if center else x
        n_frames = 1 + (len(padded) - n_fft) // hop
        frames = np.stack([padded[t * hop : t * hop + n_fft] for t in range(n_frames)]) * window
        return np.fft.fft(frames, axis=1).T  # (n_fft, frames)

    return np.stack([analyse(e).ravel() for e in np.eye(n_samples)], axis=1)  # (n_fft * frames, samples)


def least_squares_inconsistency(X, n_fft, hop, length, center):
    """‖C − X‖ / ‖X‖ with C the one-sided part of A x, x the real least-squares solution of A x ≈ X."""
    A = two_sided_stft_matrix(length, n_fft, hop, center)
    full = np.concatenate([X, np.conj(X[-2:0:-1])], axis=0)  # (n_fft, frames): the two-sided spectrum
    x, *_ = np.linalg.lstsq(np.concatenate([A.real, A.imag]),
                            np.concatenate([full.real.ravel(), full.imag.ravel()]), rcond=None)
    C = (A @ x).reshape(full.shape)[: n_fft // 2 + 1]
    return np.linalg.norm(C - X) / np.linalg.norm(X)


def random_spectrogram(n_fft, n_frames, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_fft // 2 + 1, n_frames)) + 1j * rng.standard_normal((n_fft // 2 + 1, n_frames))


@pytest.mark.parametrize("center,length", [(True, 39), (True, 37), (True, 36), (False, 52)])
def test_inconsistency_is_the_least_squares_distance_to_the_consistent_arrays(center, length):
    """Against the STFT written as a matrix and numpy's least squares (not voclab's iSTFT)."""
    n_fft, hop, n_frames = 16, 4, 10
    X = random_spectrogram(n_fft, n_frames, seed=length)
    expected = least_squares_inconsistency(X, n_fft, hop, length, center)
    assert 0.3 < expected < 1
    assert inconsistency(X, n_fft=n_fft, hop_length=hop, length=length, center=center) == pytest.approx(
        expected, rel=1e-9)


@pytest.mark.parametrize("n", [8000, 8000 - 37, 8064])
def test_the_stft_of_a_signal_is_consistent(n):
    y = harmonic()[:n] if n <= 8000 else np.pad(harmonic(), (0, n - 8000))
    S = stft(y, n_fft=N_FFT, hop_length=HOP)
    assert inconsistency(S, length=n) < 1e-6  # float32 rounding
    assert inconsistency(S) < 1e-6  # the default: the longest signal with this many frames
    assert inconsistency(stft(y.astype(np.float64), n_fft=N_FFT, hop_length=HOP), length=n) < 1e-13
    if n % HOP:  # istft without length keeps (frames - 1) * hop samples: the end is lost
        rebuilt = stft(istft(S, hop_length=HOP), n_fft=N_FFT, hop_length=HOP)
        assert np.linalg.norm(rebuilt - S) / np.linalg.norm(S) > 1e-3


def test_inconsistency_is_the_round_trip_through_voclabs_istft_and_stft():
    y = chirp()
    S = stft(y, n_fft=N_FFT, hop_length=HOP)
    X = np.abs(S) * np.exp(1j * np.angle(stft(harmonic(), n_fft=N_FFT, hop_length=HOP)))
    C = stft(istft(X, hop_length=HOP, length=len(y)), n_fft=N_FFT, hop_length=HOP)
    assert inconsistency(X, length=len(y)) == pytest.approx(np.linalg.norm(C - X) / np.linalg.norm(X), rel=1e-5)


def test_a_made_up_phase_is_far_from_consistent_and_bounds_the_spectral_convergence():
    y = harmonic()
    magnitude = magnitude_of(y)
    for phase in (np.random.default_rng(0).uniform(-np.pi, np.pi, magnitude.shape),
                  np.angle(stft(chirp(), n_fft=N_FFT, hop_length=HOP))):
        X = magnitude * np.exp(1j * phase)
        value = inconsistency(X, length=len(y))
        assert value > 0.4  # measured: 0.87 (random phase) and 0.70 (the chirp's phase)
        heard = istft(X, hop_length=HOP, length=len(y))
        assert sc(magnitude, heard) <= value + 1e-6  # ||a| − |b|| ≤ |a − b|, coefficient by coefficient


def test_less_overlap_is_less_redundancy():
    """With a hop of n_fft / 2 each sample is in 2 frames instead of 4: fewer constraints."""
    y = harmonic()
    X = {}
    for hop in (N_FFT // 2, N_FFT // 4):
        magnitude = magnitude_of(y, hop=hop)
        X[hop] = inconsistency(magnitude * np.exp(1j * np.random.default_rng(1).uniform(-np.pi, np.pi, magnitude.shape)),
                               hop_length=hop, length=len(y))
    assert X[N_FFT // 2] < X[N_FFT // 4]


def test_griffin_lim_never_increases_the_inconsistency():
    """Griffin & Lim (1984): with X_n = |S| e^{iφ_n}, ‖stft(istft(X_n)) − X_n‖ does not grow."""
    y = chirp().astype(np.float64)
    magnitude = magnitude_of(y)
    X = magnitude * np.exp(1j * np.random.default_rng(2).uniform(-np.pi, np.pi, magnitude.shape))
    values = []
    for _ in range(40):
        values.append(inconsistency(X, length=len(y)))
        rebuilt = stft(istft(X, hop_length=HOP, length=len(y)), n_fft=N_FFT, hop_length=HOP)
        X = magnitude * np.exp(1j * np.angle(rebuilt))
    assert np.all(np.diff(values) <= 1e-12)
    assert values[-1] < 0.5 * values[0]


def test_inconsistency_batches_kinds_and_dtypes():
    Xs = np.stack([stft(harmonic(), n_fft=N_FFT, hop_length=HOP),
                   magnitude_of(chirp()) * np.exp(1j * np.random.default_rng(3).uniform(-np.pi, np.pi,
                                                                                          magnitude_of(chirp()).shape))])
    batch = inconsistency(Xs, length=8000)
    assert isinstance(batch, np.ndarray) and batch.shape == (2,)
    np.testing.assert_allclose(batch, [inconsistency(X, length=8000) for X in Xs], rtol=1e-5, atol=1e-7)
    single = inconsistency(Xs[1], length=8000)
    assert isinstance(single, float)
    as_tensor = inconsistency(torch.from_numpy(Xs[1]), length=8000)
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.float64
    assert float(as_tensor) == pytest.approx(single, rel=1e-6)
    assert inconsistency(np.zeros((N_FFT // 2 + 1, 9), dtype=np.complex64)) == 0.0


def test_inconsistency_errors():
    y = harmonic()
    S = stft(y, n_fft=N_FFT, hop_length=HOP)
    with pytest.raises(ShapeError, match="polar"):
        inconsistency(np.abs(S))
    with pytest.raises(ShapeError, match="length=4000"):
        inconsistency(S, length=4000)  # half the signal: another number of frames
    with pytest.raises(ShapeError, match="transposed"):
        inconsistency(S.T.copy(), n_fft=N_FFT)
    broken = S.copy()
    broken[3, 3] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        inconsistency(broken)
    with pytest.raises(ShapeError):
        inconsistency(S[:, 0])


# --------------------------------------------------------------------------- GPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    mag = torch.from_numpy(magnitude_of(harmonic()))
    for dtype, tolerance in ((torch.float64, 1e-6), (torch.float32, 1e-3)):
        cpu = griffin_lim(mag.to(dtype), n_iter=8 if dtype == torch.float32 else 32, seed=0)
        gpu, convergence = griffin_lim(
            mag.to(dtype).cuda(), n_iter=8 if dtype == torch.float32 else 32, seed=0, return_convergence=True
        )
        assert gpu.is_cuda and gpu.dtype == dtype
        assert isinstance(convergence, np.ndarray)
        assert (gpu.cpu() - cpu).abs().max() / cpu.abs().max() < tolerance
