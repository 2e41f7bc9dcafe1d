"""Distances between spectrograms and between waveforms, for listening tests that have numbers.

Notebook: 01_phase_and_griffin_lim (spectral convergence, log-spectral distance);
06 and 07 (log-mel L1, multi-resolution STFT distance); 08 (the shoot-out);
04_wavegan and 05 (NDB, a distance between two *sets* of clips); 05_gansynth (pitch accuracy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ConfigError, EmptyAudioError, NonFiniteAudioError, ShapeError
from .spectral import MelConfig, as_tensor, mel_spectrogram, stft

__all__ = [
    "spectral_convergence",
    "log_spectral_distance",
    "log_mel_l1",
    "multi_resolution_stft_distance",
    "ndb",
    "ndb_features",
    "NDBResult",
    "pitch_accuracy",
    "PitchAccuracyResult",
]


def _pair(reference, estimate, what: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
    ref, to_numpy = as_tensor(reference)
    est, _ = as_tensor(estimate)
    if ref.is_complex() or est.is_complex():
        raise ShapeError(f"{what} compares real arrays; take np.abs() of complex STFTs first.")
    if ref.shape != est.shape:
        raise ShapeError(
            f"{what}: the reference has shape {tuple(ref.shape)} and the estimate "
            f"{tuple(est.shape)}; they must match (trim the longer one)."
        )
    dtype = torch.float64 if torch.float64 in (ref.dtype, est.dtype) else torch.float32
    return ref.to(dtype), est.to(device=ref.device, dtype=dtype), to_numpy


def _out(value: torch.Tensor, to_numpy: bool):
    if to_numpy:
        value = value.detach().cpu().numpy()
        return float(value) if value.ndim == 0 else value
    return value


def spectral_convergence(reference_magnitude, estimated_magnitude):
    """Spectral convergence: the relative Frobenius error of a magnitude spectrogram.

    ``SC = ‖ |S| − |Ŝ| ‖_F / ‖ |S| ‖_F`` — 0 is perfect, 1 is as far as silence.
    Used to follow Griffin-Lim (Griffin & Lim 1984) and as half of the
    multi-resolution STFT loss of Parallel WaveGAN (Yamamoto et al. 2020).

    Notebook: 01_phase_and_griffin_lim (exercise ``spectral_convergence``).

    Parameters
    ----------
    reference_magnitude, estimated_magnitude : real arrays [shape=(..., freq, frames)]

    Returns
    -------
    sc : float, or array [shape=(...)] for batched input

    Examples
    --------
    >>> S = np.ones((4, 3))
    >>> spectral_convergence(S, 0.5 * S)
    0.5
    """
    ref, est, to_numpy = _pair(reference_magnitude, estimated_magnitude, "spectral_convergence")
    if ref.ndim < 2:
        raise ShapeError(f"expected shape (..., freq, frames), got {tuple(ref.shape)}.")
    error = torch.linalg.vector_norm(ref - est, dim=(-2, -1))
    norm = torch.linalg.vector_norm(ref, dim=(-2, -1)).clamp(min=1e-12)
    return _out(error / norm, to_numpy)


def log_spectral_distance(reference_magnitude, estimated_magnitude, *, floor: float = 1e-5):
    """Log-spectral distance in dB: RMS over frequency of the dB difference, averaged over frames.

    ``LSD = mean_t sqrt( mean_f (20 log10 |S| − 20 log10 |Ŝ|)² )`` with magnitudes
    clamped at ``floor`` so silence does not dominate.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    reference_magnitude, estimated_magnitude : real arrays [shape=(..., freq, frames)]
    floor : float
        Magnitude floor before the logarithm.

    Returns
    -------
    lsd : float (dB), or array [shape=(...)]
    """
    ref, est, to_numpy = _pair(reference_magnitude, estimated_magnitude, "log_spectral_distance")
    difference = 20 * (torch.log10(ref.clamp(min=floor)) - torch.log10(est.clamp(min=floor)))
    per_frame = difference.square().mean(dim=-2).sqrt()  # (..., frames)
    return _out(per_frame.mean(dim=-1), to_numpy)


def _trim_pair(reference, estimate):
    ref, to_numpy = as_tensor(reference)
    est, _ = as_tensor(estimate)
    n = min(ref.shape[-1], est.shape[-1])
    return ref[..., :n], est[..., :n].to(ref.device), to_numpy


def log_mel_l1(reference_audio, estimated_audio, cfg: MelConfig = MelConfig()):
    """Mean absolute difference of log-mel spectrograms: HiFi-GAN's validation number.

    Both waveforms are trimmed to the shorter length, turned into log mels with ``cfg``
    and compared with an L1 (mean absolute) distance. HiFi-GAN's official V1 reaches
    about 0.23 on LJ Speech validation after 1.2M steps (with its full-band loss mel).

    Notebook: 07_hifigan (also 01, 06 and 08).

    Parameters
    ----------
    reference_audio, estimated_audio : arrays [shape=(..., samples)]
        At ``cfg.sample_rate``.
    cfg : MelConfig
        Mel settings (default HiFi-GAN's input mel; its loss mel is ``MelConfig.preset("hifigan_loss")``).

    Returns
    -------
    l1 : float, or array [shape=(...)]
    """
    ref, est, to_numpy = _trim_pair(reference_audio, estimated_audio)
    difference = (mel_spectrogram(ref, cfg) - mel_spectrogram(est, cfg)).abs()
    return _out(difference.mean(dim=(-2, -1)), to_numpy)


#: Parallel WaveGAN's three resolutions: (n_fft, hop_length, win_length).
PWG_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def multi_resolution_stft_distance(
    reference_audio, estimated_audio, *, resolutions=PWG_RESOLUTIONS, floor: float = 1e-7
):
    """Multi-resolution STFT distance (Yamamoto et al. 2020, Parallel WaveGAN).

    For each resolution: spectral convergence plus the mean absolute difference of log
    magnitudes; the result is the average over resolutions. Several window lengths keep
    a waveform from matching at one time-frequency trade-off only.

    Notebook: 08_shootout (also 06 and 07).

    Parameters
    ----------
    reference_audio, estimated_audio : arrays [shape=(..., samples)]
        Trimmed to the shorter length.
    resolutions : sequence of (n_fft, hop_length, win_length)
        Default: Parallel WaveGAN's.
    floor : float
        Magnitude floor before the logarithm.

    Returns
    -------
    distance : float, or array [shape=(...)]
    """
    ref, est, to_numpy = _trim_pair(reference_audio, estimated_audio)
    total = 0.0
    for n_fft, hop, win in resolutions:
        ref_mag = stft(ref, n_fft=n_fft, hop_length=hop, win_length=win).abs()
        est_mag = stft(est, n_fft=n_fft, hop_length=hop, win_length=win).abs()
        total = total + spectral_convergence(ref_mag, est_mag)
        log_difference = torch.log(ref_mag.clamp(min=floor)) - torch.log(est_mag.clamp(min=floor))
        total = total + log_difference.abs().mean(dim=(-2, -1))
    return _out(total / len(resolutions), to_numpy)


# --------------------------------------------------------------------------- NDB

#: NDB's log-spectral feature: log(|STFT| + NDB_FLOOR). A full-scale sine peaks at about
#: 256 in a 1024-point Hann-windowed STFT, so the floor sits about 108 dB below it: quiet
#: tails count, but the exact zeros of a padded clip do not dominate the distances.
NDB_FLOOR = 1e-3
#: Real clips per bin that :func:`ndb` asks for at least (otherwise a bin's proportion is
#: too coarse for the test to mean anything).
NDB_MIN_PER_BIN = 2


@dataclass(frozen=True, eq=False)
class NDBResult:
    """What :func:`ndb` found: how many of ``k`` bins the generated clips fill differently.

    Notebook: 04_wavegan (and 05, validation of unconditional models).

    Attributes
    ----------
    bins : int
        The number of statistically different bins (NDB).
    k : int
        The number of bins (k-means clusters of the real clips).
    real_proportions, generated_proportions : np.ndarray [shape=(k,), dtype=float64]
        The share of real / generated clips that falls in each bin (each sums to 1).
    significant : np.ndarray [shape=(k,), dtype=bool]
        The bins whose two proportions differ at the significance level.
    z : np.ndarray [shape=(k,), dtype=float64]
        The two-proportion z statistic per bin (generated minus real).
    p_values : np.ndarray [shape=(k,), dtype=float64]
        Two-sided p-values.
    n_real, n_generated : int
    significance : float
    """

    bins: int
    k: int
    real_proportions: np.ndarray
    generated_proportions: np.ndarray
    significant: np.ndarray
    z: np.ndarray
    p_values: np.ndarray
    n_real: int
    n_generated: int
    significance: float = 0.05

    @property
    def normalized(self) -> float:
        """``bins / k``: 0 for a perfect match, 1 when every bin differs."""
        return self.bins / self.k

    def __repr__(self) -> str:
        return (
            f"NDBResult(bins={self.bins}, k={self.k}, normalized={self.normalized:.3f}, "
            f"n_real={self.n_real}, n_generated={self.n_generated}, significance={self.significance})"
        )


def _clip_batch(clips, what: str) -> np.ndarray:
    """(n, samples) float64 from an array, a tensor, or a list of equal-length 1-D clips."""
    if isinstance(clips, torch.Tensor):
        clips = clips.detach().cpu().to(torch.float64).numpy()
    elif isinstance(clips, (list, tuple)):
        if not clips:
            raise EmptyAudioError(f"ndb: {what} is an empty list; give at least one clip.")
        rows = []
        for index, clip in enumerate(clips):
            if isinstance(clip, torch.Tensor):
                clip = clip.detach().cpu().to(torch.float64).numpy()
            clip = np.asarray(clip)
            if clip.ndim != 1:
                raise ShapeError(
                    f"ndb: {what}[{index}] has shape {clip.shape}; each clip in a list must be "
                    "1-D (mono samples)."
                )
            if rows and clip.shape != rows[0].shape:
                raise ShapeError(
                    f"ndb: the clips of {what} differ in length ({what}[0] has {rows[0].size} "
                    f"samples, {what}[{index}] has {clip.size}); trim or pad them to one length."
                )
            rows.append(clip)
        clips = np.stack(rows)
    array = np.asarray(clips)
    if array.dtype.kind not in "fiu" and array.dtype != bool:
        raise ShapeError(f"ndb: {what} must hold real audio samples, got dtype {array.dtype}.")
    if array.ndim != 2:
        hint = (" For one clip, pass a batch of one: x[None]." if array.ndim == 1 else "")
        raise ShapeError(
            f"ndb: {what} must have shape (n_clips, samples), got {array.shape}.{hint}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise EmptyAudioError(f"ndb: {what} has shape {array.shape}: no clips or no samples.")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise NonFiniteAudioError(
            f"ndb: {what}[{bad}] contains NaN or Inf samples; a diverged generator makes these — "
            "drop or fix those clips first."
        )
    return array


def _ndb_n_fft(sample_rate: int) -> int:
    """The power of two nearest to 64 ms (1024 at 16 kHz)."""
    return 2 ** max(4, round(math.log2(0.064 * sample_rate)))


def ndb_features(clips, *, sample_rate: int = 16000) -> np.ndarray:
    """The log-spectral feature vector :func:`ndb` clusters: one row per clip.

    ``log(|STFT| + 1e-3)`` with a periodic Hann window of about 64 ms (1024 samples at
    16 kHz), hop half a window, centred frames, flattened over (frequency, frame).

    Notebook: 04_wavegan.

    Parameters
    ----------
    clips : array or tensor [shape=(n_clips, samples)] or list of 1-D arrays
    sample_rate : int
        In Hz; sets the window length.

    Returns
    -------
    features : np.ndarray [shape=(n_clips, (n_fft // 2 + 1) * frames), dtype=float32]
    """
    return _ndb_features(_clip_batch(clips, "clips"), sample_rate)


def _ndb_features(batch: np.ndarray, sample_rate: int) -> np.ndarray:
    n_fft = _ndb_n_fft(sample_rate)
    if batch.shape[1] < n_fft:
        raise ShapeError(
            f"ndb: clips of {batch.shape[1]} samples are shorter than one analysis window "
            f"({n_fft} samples, 64 ms at {sample_rate} Hz); use longer clips or check sample_rate."
        )
    rows = []
    for start in range(0, batch.shape[0], 64):  # bounded memory for long or many clips
        chunk = torch.from_numpy(batch[start : start + 64].astype(np.float32))
        magnitude = stft(chunk, n_fft=n_fft, hop_length=n_fft // 2).abs()
        rows.append(torch.log(magnitude + NDB_FLOOR).flatten(1).numpy())
    return np.concatenate(rows)


def _squared_distances(x: np.ndarray, x_sq: np.ndarray, centers: np.ndarray) -> np.ndarray:
    d2 = x_sq[:, None] - 2.0 * (x @ centers.T) + np.einsum("kd,kd->k", centers, centers)[None, :]
    return np.maximum(d2, 0.0)


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, *, n_init: int = 3,
            max_iter: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; the best of ``n_init`` runs (lowest inertia)."""
    x_sq = np.einsum("nd,nd->n", x, x)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        # k-means++ (Arthur & Vassilvitskii 2007): each new centre drawn in proportion to D²
        centers = np.empty((k, x.shape[1]), dtype=x.dtype)
        centers[0] = x[rng.integers(len(x))]
        closest = _squared_distances(x, x_sq, centers[:1])[:, 0]
        for j in range(1, k):
            total = closest.sum()
            pick = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
            centers[j] = x[pick]
            closest = np.minimum(closest, _squared_distances(x, x_sq, centers[j : j + 1])[:, 0])
        labels = None
        for _ in range(max_iter):
            d2 = _squared_distances(x, x_sq, centers)
            new_labels = d2.argmin(axis=1)
            if labels is not None and np.array_equal(new_labels, labels):
                break
            labels = new_labels
            one_hot = np.zeros((k, len(x)), dtype=x.dtype)
            one_hot[labels, np.arange(len(x))] = 1.0
            counts = one_hot.sum(axis=1)
            filled = counts > 0
            centers[filled] = (one_hot[filled] @ x) / counts[filled, None]
            if not filled.all():  # an empty cluster takes the points farthest from their centre
                far = np.argsort(-d2[np.arange(len(x)), labels], kind="stable")
                centers[~filled] = x[far[: int((~filled).sum())]]
        inertia = float(_squared_distances(x, x_sq, centers).min(axis=1).sum())
        if inertia < best_inertia:
            best, best_inertia = centers.copy(), inertia
    return best


def ndb(real, generated, k: int = 50, *, sample_rate: int = 16000, seed: int = 0,
        significance: float = 0.05) -> NDBResult:
    """The number of statistically different bins (NDB) between real and generated clips.

    A GAN can make clips that each sound plausible yet cover only part of the data: a few
    kinds of drum hit, over and over (mode collapse). A per-clip distance cannot see that;
    NDB (Richardson & Weiss, "On GANs and GMMs", NeurIPS 2018) compares the two *sets*.
    The real clips are split into ``k`` bins by k-means; each generated clip goes to the
    bin of its nearest centroid. If the generator matched the data, each bin would hold
    about the same share of generated clips as of real ones. Per bin, a two-proportion
    z-test (pooled proportion, two-sided) asks whether the shares differ at the level
    ``significance``; NDB is the number of bins where they do. GANSynth (Engel et al.,
    ICLR 2019) reports NDB in its comparison of audio GANs (its Table 1).

    The feature is voclab's: ``log(|STFT| + 1e-3)`` with a periodic Hann window of about
    64 ms (1024 samples at 16 kHz), hop half a window, centred frames, flattened over
    (frequency, frame) — see :func:`ndb_features`. k-means is Lloyd's algorithm with
    k-means++ seeding, best of 3 starts, all drawn from ``seed``.

    Two things to keep in mind when reading it: with the same distribution on both sides
    about ``significance · k`` bins still come out "different" by chance (more when the
    real clips are few, since the bins were fitted to them), so compare NDB between
    models, not with 0; and a generator that copies the training clips scores perfectly —
    NDB measures coverage, not novelty (check nearest neighbours for that).

    Notebook: 04_wavegan (validation of a WaveGAN; mode collapse made visible), also
    05_gansynth.

    Parameters
    ----------
    real : array or tensor [shape=(n_real, samples)], or list of 1-D arrays
        The real (training) clips, all the same length. At least ``2 · k`` of them.
    generated : array or tensor [shape=(n_generated, samples)], or list of 1-D arrays
        Clips from the model, the same length as the real ones.
    k : int
        Number of bins (k-means clusters).
    sample_rate : int
        In Hz; sets the analysis window (about 64 ms).
    seed : int
        Seeds k-means: the same inputs and seed give the same result.
    significance : float
        The test's level (0.05).

    Returns
    -------
    result : NDBResult
        ``.bins`` (the NDB), ``.k``, ``.normalized`` (= bins / k), per-bin
        ``.real_proportions``, ``.generated_proportions``, ``.significant``, ``.z`` and
        ``.p_values``.

    Raises
    ------
    voclab.errors.ConfigError
        ``k`` < 2, or fewer than ``2 · k`` real clips (the message says which ``k`` fits).
    voclab.errors.ShapeError
        Not ``(n_clips, samples)``; real and generated (or clips in a list) of different
        lengths; clips shorter than one analysis window.
    voclab.errors.NonFiniteAudioError
        NaN or Inf samples.

    Examples
    --------
    Decaying tones of random pitch as the "real" set; another draw of the same kind, and
    a generator that collapsed onto one clip:

    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(4096) / 16000
    >>> def tones(n):
    ...     return np.sin(2 * np.pi * rng.uniform(100, 4000, (n, 1)) * t) * np.exp(-20 * t)
    >>> real = tones(200)
    >>> ndb(real, tones(200), k=10).bins
    0
    >>> collapsed = ndb(real, np.repeat(real[:1], 200, axis=0), k=10)
    >>> collapsed.bins, collapsed.normalized
    (10, 1.0)
    """
    if int(k) != k or k < 2:
        raise ConfigError(f"ndb: k must be an integer of at least 2 bins, got {k!r}.")
    k = int(k)
    if not 0 < significance < 1:
        raise ConfigError(f"ndb: significance must lie in (0, 1), got {significance}.")
    if int(sample_rate) <= 0:
        raise ConfigError(f"ndb: sample_rate must be a positive number of Hz, got {sample_rate}.")
    real_batch = _clip_batch(real, "real")
    generated_batch = _clip_batch(generated, "generated")
    if real_batch.shape[1] != generated_batch.shape[1]:
        raise ShapeError(
            f"ndb: real clips have {real_batch.shape[1]} samples and generated clips "
            f"{generated_batch.shape[1]}; compare clips of one length (trim or pad them)."
        )
    n_real, n_generated = len(real_batch), len(generated_batch)
    if n_real < NDB_MIN_PER_BIN * k:
        fits = n_real // NDB_MIN_PER_BIN
        advice = (f"lower k to at most {fits}" if fits >= 2 else "give more real clips")
        raise ConfigError(
            f"ndb: {n_real} real clips are too few for k={k} bins (it needs at least "
            f"{NDB_MIN_PER_BIN} per bin, {NDB_MIN_PER_BIN * k} in all): {advice}, or give "
            f"at least {NDB_MIN_PER_BIN * k} real clips."
        )
    features = _ndb_features(np.concatenate([real_batch, generated_batch]), int(sample_rate))
    features = features.astype(np.float64)
    real_features, generated_features = features[:n_real], features[n_real:]
    centers = _kmeans(real_features, k, np.random.default_rng(seed))

    def counts(x: np.ndarray) -> np.ndarray:
        x_sq = np.einsum("nd,nd->n", x, x)
        return np.bincount(_squared_distances(x, x_sq, centers).argmin(axis=1), minlength=k)

    real_counts, generated_counts = counts(real_features), counts(generated_features)
    p_real = real_counts / n_real
    p_generated = generated_counts / n_generated
    pooled = (real_counts + generated_counts) / (n_real + n_generated)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_real + 1 / n_generated))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p_generated - p_real) / np.where(se > 0, se, 1.0), 0.0)
    p_values = np.array([math.erfc(abs(value) / math.sqrt(2)) for value in z])
    significant = p_values < significance
    return NDBResult(
        bins=int(significant.sum()),
        k=k,
        real_proportions=p_real,
        generated_proportions=p_generated,
        significant=significant,
        z=z,
        p_values=p_values,
        n_real=n_real,
        n_generated=n_generated,
        significance=float(significance),
    )


# --------------------------------------------------------------------------- pitch accuracy

#: pYIN's pitch grid in :func:`pitch_accuracy`, in semitones: a quarter semitone. librosa's
#: default (0.1) made pYIN 7x slower on a 4 s note (0.64 s against 0.09 s, measured here);
#: the grid starts on a MIDI pitch, so integer targets lie on it.
PITCH_RESOLUTION = 0.25
#: A clip counts as pitched when pYIN calls at least this share of its frames voiced. FluidR3
#: notes (4 s, released at 3 s) had 14 % or more (603 notes of the ``voclab prepare
#: --nsynth-fluid`` corpus; the least: high, fast-decaying notes); brown noise 3 %, white
#: noise and silence 0 % (measured).
PITCH_MIN_VOICED = 0.1


@dataclass(frozen=True, eq=False)
class PitchAccuracyResult:
    """What :func:`pitch_accuracy` found: which clips sound at the pitch they were asked for.

    Notebook: 05_gansynth.

    Attributes
    ----------
    accuracy : float
        The share of clips whose pitch is right, 0 to 1.
    correct : np.ndarray [shape=(n,), dtype=bool]
        Per clip: pitched, and its f0 within ``cents_tolerance`` of the target.
    f0_hz : np.ndarray [shape=(n,), dtype=float64]
        Median f0 over the voiced frames (NaN where none is voiced).
    cents : np.ndarray [shape=(n,), dtype=float64]
        ``1200 · log2(f0 / target)`` (NaN where none is voiced).
    voiced_fraction : np.ndarray [shape=(n,), dtype=float64]
        The share of frames pYIN calls voiced.
    midi : np.ndarray [shape=(n,), dtype=float64]
        The target MIDI pitches.
    cents_tolerance : float
    """

    accuracy: float
    correct: np.ndarray
    f0_hz: np.ndarray
    cents: np.ndarray
    voiced_fraction: np.ndarray
    midi: np.ndarray
    cents_tolerance: float = 50.0

    @property
    def n(self) -> int:
        """The number of clips."""
        return int(self.correct.size)

    def __repr__(self) -> str:
        return (f"PitchAccuracyResult(accuracy={self.accuracy:.3f}, correct={int(self.correct.sum())}/{self.n}, "
                f"cents_tolerance={self.cents_tolerance:g})")


def _pitch_batch(audio) -> np.ndarray:
    """(n, samples) float32 from one clip or a batch (array, tensor or list of equal-length clips)."""
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().to(torch.float32).numpy()
    elif isinstance(audio, (list, tuple)):
        if not audio:
            raise EmptyAudioError("pitch_accuracy: audio is an empty list; give at least one clip.")
        rows = [np.asarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a) for a in audio]
        if any(r.ndim != 1 for r in rows) or len({r.size for r in rows}) != 1:
            raise ShapeError("pitch_accuracy: a list of clips must hold 1-D clips of one length; "
                             f"got shapes {sorted({r.shape for r in rows})}. Trim or pad them to one length.")
        audio = np.stack(rows)
    array = np.asarray(audio)
    if array.dtype.kind not in "fiu":
        raise ShapeError(f"pitch_accuracy: audio must hold real samples, got dtype {array.dtype}.")
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ShapeError(f"pitch_accuracy: audio must have shape (n_clips, samples) or (samples,), got {array.shape}.")
    if array.size == 0:
        raise EmptyAudioError(f"pitch_accuracy: audio has shape {array.shape}: no clips or no samples.")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise NonFiniteAudioError(f"pitch_accuracy: clip {bad} contains NaN or Inf samples; drop or fix it first.")
    return array.astype(np.float32, copy=False)


def pitch_accuracy(audio, midi, sr: int = 16000, *, cents: float = 50.0) -> PitchAccuracyResult:
    """The share of clips that sound at the MIDI pitch they were meant to have.

    A pitch-conditional generator (GANSynth) is asked for a note at pitch p; does it play
    p? GANSynth (Engel et al., ICLR 2019) reports "pitch accuracy" (PA) in its Table 1,
    measured with a pitch *classifier*, a network that names each generated note's pitch.
    This is the same idea with signal processing instead of a network: pYIN (Mauch &
    Dixon, ICASSP 2014; ``librosa.pyin``) tracks f0 frame by frame and says which frames
    are voiced; a clip's f0 is the median over its voiced frames, and the clip is correct
    when at least 10 % of its frames are voiced (:data:`PITCH_MIN_VOICED`; noise is not a
    note) and that f0 lies within ``cents`` of the target (50: the nearest semitone). The
    numbers are therefore not the paper's: a classifier also judges timbre-dependent cues,
    and pYIN can mistake a note for its octave (a weak fundamental) where a listener would
    not.

    pYIN searches one octave either side of the targets' range, on a grid of a quarter
    semitone (:data:`PITCH_RESOLUTION`), with frames of about 128 ms (2048 samples at
    16 kHz); f0 values, and so ``cents``, come in steps of 25 cents. It costs about 0.14 s
    per 4 s clip on one core when the targets span MIDI 24-84 (measured). Real notes
    score below 1: every 12th note of the ``voclab prepare --nsynth-fluid`` corpus (603)
    scored 0.983, its misses mostly low guitar and high organ notes that pYIN hears an
    octave off.

    Notebook: 05_gansynth (generated notes against their pitch labels; the real notes'
    own score is the ceiling).

    Parameters
    ----------
    audio : array or tensor [shape=(n_clips, samples)] or [shape=(samples,)], or list of 1-D arrays
        The clips (one clip: a batch of one).
    midi : int, float or array [shape=(n_clips,)]
        The target MIDI pitch of each clip (one number: all clips).
    sr : int
        Sample rate in Hz.
    cents : float
        Tolerance: how far from the target a clip's f0 may lie.

    Returns
    -------
    result : PitchAccuracyResult
        ``.accuracy`` (the fraction), per clip ``.correct``, ``.f0_hz``, ``.cents``,
        ``.voiced_fraction`` and ``.midi``.

    Raises
    ------
    voclab.errors.ConfigError
        A non-positive ``sr`` or ``cents``; a target outside MIDI 0-127 or too high for ``sr``.
    voclab.errors.ShapeError
        Not (n_clips, samples); ``midi`` of another length than the batch; clips shorter
        than one analysis frame.
    voclab.errors.EmptyAudioError, voclab.errors.NonFiniteAudioError
        No samples; NaN or Inf samples.

    Examples
    --------
    Two tones at their targets, one a semitone sharp, and noise:

    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> def tone(m):
    ...     return 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * t)
    >>> noise = 0.3 * np.random.default_rng(0).standard_normal(sr)
    >>> result = pitch_accuracy(np.stack([tone(60), tone(67), tone(61), noise]), [60, 67, 60, 60], sr)
    >>> result.accuracy, result.correct.tolist()
    (0.5, [True, True, False, False])
    >>> [round(c) for c in result.cents[:3]]
    [0, 0, 100]
    """
    import librosa

    from .data import midi_to_hz

    if int(sr) != sr or sr <= 0:
        raise ConfigError(f"pitch_accuracy: sr must be a positive number of Hz, got {sr!r}.")
    if not cents > 0:
        raise ConfigError(f"pitch_accuracy: cents must be a positive tolerance, got {cents!r}.")
    sr = int(sr)
    batch = _pitch_batch(audio)
    targets = np.asarray(midi, dtype=np.float64)
    if targets.ndim == 0:
        targets = np.full(batch.shape[0], float(targets))
    if targets.shape != (batch.shape[0],):
        raise ShapeError(f"pitch_accuracy: {batch.shape[0]} clip(s) but midi has shape {targets.shape}; "
                         "give one MIDI pitch per clip, or one for all.")
    if not np.isfinite(targets).all() or targets.min() < 0 or targets.max() > 127:
        raise ConfigError(f"pitch_accuracy: MIDI pitches must lie in 0-127, got {targets.min()}..{targets.max()}.")
    frame = 2 ** int(math.ceil(math.log2(0.128 * sr)))
    if batch.shape[1] < frame:
        raise ShapeError(f"pitch_accuracy: clips of {batch.shape[1]} samples are shorter than one analysis frame "
                         f"({frame} samples, about 128 ms at {sr} Hz); give longer clips or check sr.")
    fmin = max(midi_to_hz(math.floor(targets.min()) - 12), 2 * sr / (frame - 1))
    fmax = min(midi_to_hz(math.ceil(targets.max()) + 12), 0.45 * sr)
    if midi_to_hz(targets.max()) >= fmax:
        raise ConfigError(f"pitch_accuracy: MIDI {targets.max():g} ({midi_to_hz(targets.max()):.0f} Hz) is too high "
                          f"to measure at sr={sr}; keep targets below {0.45 * sr:.0f} Hz.")
    f0_hz = np.full(batch.shape[0], np.nan)
    voiced_fraction = np.zeros(batch.shape[0])
    for index, clip in enumerate(batch):
        f0, voiced, _ = librosa.pyin(clip, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame,
                                     resolution=PITCH_RESOLUTION)
        voiced_fraction[index] = float(voiced.mean())
        if voiced.any():
            f0_hz[index] = float(np.median(f0[voiced]))
    with np.errstate(invalid="ignore"):
        # pYIN's f0 lies on its grid: round off float error, so 50 cents stays 50 (not 50.000000001)
        deviation = np.round(1200 * np.log2(f0_hz / (440.0 * 2.0 ** ((targets - 69) / 12))), 6)
        correct = (voiced_fraction >= PITCH_MIN_VOICED) & (np.abs(deviation) <= cents)
    return PitchAccuracyResult(accuracy=float(correct.mean()), correct=correct, f0_hz=f0_hz, cents=deviation,
                               voiced_fraction=voiced_fraction, midi=targets, cents_tolerance=float(cents))
