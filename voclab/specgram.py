"""GANSynth's image of a note: log-magnitude and instantaneous frequency, framed as the official code frames it.

A GAN that paints spectrograms must also paint their phase, and raw STFT phase is a bad
thing to paint: it wraps around every 2π and, for a steady tone, spins a little further
in every frame, so a clean harmonic looks like noise. Engel et al. (GANSynth, ICLR 2019)
paint the *instantaneous frequency* (IF) instead: unwrap the phase along time and take
its finite difference. A steady harmonic then has a constant IF along its row — a
smooth, learnable stripe — and the running sum of the IF gives the phase back exactly.
Their best model paints a mel-frequency version of both channels ("IF-Mel + H").

This module reproduces the representation of the official code
(magenta/models/gansynth/lib/specgrams_helper.py and spectral_ops.py, read at commit
526d3eb), in PyTorch:

* **Framing.** A 64000-sample note is padded with ``left_pad`` = 3072 zeros, *all at
  the front*, so that frames of ``n_fft`` = 2048 every ``hop_length`` = 512 samples
  (periodic Hann window, no centring) give exactly 128 frames ending on the last
  sample. Of the 1025 FFT bins the DC bin is dropped and the Nyquist bin kept, leaving
  1024: an image of 128 × 1024 (preset ``"H"``; ``"L"`` is n_fft 1024, hop 256:
  256 × 512).
* **Channels.** ``log(|S| + 1e-6)`` and ``IF = [phase₀, wrap(Δphase)] / π`` — frame 0
  keeps its raw phase, so ``cumsum(IF · π)`` is the unwrapped phase. Each channel is
  normalised with fixed constants, ``0.0661371661726 · log-mag + 0.113718730221`` and
  ``0.8 · IF``, and clipped to [−1, 1], as the official ``SpecgramsPrespecifiedNormalizer``.
* **Inverse.** Exponentiate, ``cumsum`` the IF back to a phase, re-insert the dropped
  bin as zeros, inverse FFT, window with ``w / Σ w²`` (the steady-state overlap-add
  normaliser of ``tf.signal.inverse_stft_window_fn``) and cut the padding off. The
  left edge, where fewer frames overlap, falls inside the padding; the last
  ``n_fft − hop_length`` samples do not, and come back attenuated (the official comment:
  "this causes edge effects in the tail"). NSynth notes are released at 3 s, so the
  tail is nearly silent.
* **Mel-IF** (``mel_bins`` set): the magnitude becomes log *power* through a mel
  matrix, ``log(|S|² · M + 1e-6)``; the phase is unwrapped, mapped through the same
  matrix and differenced again. Going back uses the official "normalised transpose"
  ``Mᵀ · diag(1 / colsum(M Mᵀ))``, not a pseudo-inverse, and the mel phase of a band is
  a weighted sum of its bins' phases, which no matrix can split again. So mel-IF is a
  space to *generate in*, not a lossless code. The official matrix widens bands
  narrower than 1.5 bins through numpy views of one edge array, so each widening moves
  the next band's centre up: the lowest 852 of the 1024 bands end up 5.86 Hz (0.75 bin)
  apart up to 5 kHz — the bottom of GANSynth's "mel" axis is linear (see :func:`mel_matrix`).

Measured round trips (``from_specgram(to_specgram(y))``, float32; SNR over the whole
clip; LSD = :func:`voclab.metrics.log_spectral_distance` between the images' own
magnitudes, :func:`round_trip_figures`)::

    11 FluidR3 notes (shipped, 4 s)   "H"      SNR 47.4 – 85.9 dB (median 59.5)  LSD 0.12 – 0.34 dB
                                      "H-mel"  SNR −1.8 – 16.5 dB (median 4.4)   LSD 8.8 – 11.1 dB (median 10.0)
      the same, Nyquist dropped instead of DC  SNR 59.5 – 106.7 dB (median 102.1)
    40 mini_nsynth 1 s notes          "course" SNR 38.9 – 96.9 dB (median 69.4) at MIDI ≥ 36,
                                               21.8 – 36.6 dB (median 30.1) below

The IF itself is lossless: the linear round trip is limited by the dropped DC bin
(it carries the clips' small DC offsets and, at the course's 31.25 Hz bins, part of a
low fundamental; keeping DC and dropping Nyquist instead gives about 100 dB) and, for
a note still sounding at the end, by the attenuated tail (the vocal note: 59.5 dB
either way). Reproduce the table with::

    python -m voclab.specgram

Notebook: 05_gansynth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import (
    ConfigError,
    EmptyAudioError,
    NonFiniteAudioError,
    ShapeError,
    SpecgramMismatchError,
)
from .spectral import _Settings, as_input_kind, as_tensor

__all__ = [
    "SpecgramConfig",
    "SPECGRAM_PRESETS",
    "instantaneous_frequency",
    "phase_from_if",
    "specgram_stft",
    "specgram_istft",
    "mel_matrix",
    "mel_inverse_matrix",
    "linear_to_mel",
    "mel_to_linear",
    "normalise",
    "denormalise",
    "to_specgram",
    "from_specgram",
    "round_trip_figures",
]

_DROPPED_BINS = ("dc", "nyquist")
_INT_FIELDS = ("sample_rate", "n_fft", "hop_length", "audio_length", "frames", "left_pad")
_FLOAT_FIELDS = ("mel_fmin", "mel_fmax", "log_eps", "mag_scale", "mag_offset", "if_scale", "if_offset")


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SpecgramConfig(_Settings):
    """Every setting that decides what a GANSynth spectrogram image looks like.

    The default is the official "H" representation (Engel et al. 2019; magenta's
    gansynth ``SpecgramsHelper`` with ``overlap=0.75``, ``discard_dc=True`` and
    ``SpecgramsPrespecifiedNormalizer``): 4 s at 16 kHz → an image of shape
    ``(2, 128, 1024)``. Presets are in :data:`SPECGRAM_PRESETS` and
    :meth:`SpecgramConfig.preset`. Two configs compare with :meth:`diff`;
    :meth:`require_match` raises :class:`voclab.errors.SpecgramMismatchError` (a kind of the error of
    every "made with other spectral settings" mistake in voclab) naming the fields.

    Notebook: 05_gansynth.

    Attributes
    ----------
    sample_rate : int
        Audio sample rate in Hz.
    n_fft : int
        FFT size = window length (a power of two); the image has ``n_fft // 2`` bins.
    hop_length : int
        Samples between frames; must divide ``n_fft`` at least twice (official: n_fft / 4).
    audio_length : int
        Samples per clip (NSynth: 64000).
    frames : int
        Frames per image, a power of two.
    left_pad : int
        Zeros put in front of the clip; must equal ``hop_length * (frames - 1) + n_fft -
        audio_length`` so the last frame ends on the last sample (official: 3072).
    dropped_bin : {"dc", "nyquist"}
        Which of the ``n_fft // 2 + 1`` bins is dropped (official: ``"dc"``).
    ifreq : bool
        Channel 1 is the instantaneous frequency (``True``) or the wrapped phase / π.
    mel_bins : int or None
        ``None``: linear frequency. Otherwise the number of mel bands (a power of two,
        at most ``n_fft // 2``; official "IF-Mel": as many as bins).
    mel_fmin, mel_fmax : float
        Mel range in Hz (official: 0 to ``sample_rate / 2``).
    log_eps : float
        Added before each logarithm (official 1e-6).
    mag_scale, mag_offset, if_scale, if_offset : float
        The normaliser: ``clip(scale · x + offset, -1, 1)`` per channel. Official values:
        0.0661371661726, 0.113718730221, 0.8, 0.0 (the same for linear and mel images).

    Examples
    --------
    >>> SpecgramConfig.preset("H").diff(SpecgramConfig.preset("H-mel"))
    {'mel_bins': (None, 1024)}
    """

    sample_rate: int = 16000
    n_fft: int = 2048
    hop_length: int = 512
    audio_length: int = 64000
    frames: int = 128
    left_pad: int = 3072
    dropped_bin: str = "dc"
    ifreq: bool = True
    mel_bins: int | None = None
    mel_fmin: float = 0.0
    mel_fmax: float = 8000.0
    log_eps: float = 1e-6
    mag_scale: float = 0.0661371661726
    mag_offset: float = 0.113718730221
    if_scale: float = 0.8
    if_offset: float = 0.0

    _config_key = "specgram"
    _noun = "spectrogram"
    _mismatch_error = SpecgramMismatchError
    _mismatch_advice = ("A generator trained on one image of sound paints nonsense in another: recompute "
                        "the image with the expected SpecgramConfig (voclab.specgram.to_specgram(y, cfg)).")

    def __post_init__(self):
        problems = []
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                problems.append(f"{name} must be an integer (got {value!r})")
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                problems.append(f"{name} must be a number (got {value!r})")
        if not isinstance(self.ifreq, bool):
            problems.append(f"ifreq must be True or False (got {self.ifreq!r})")
        if self.mel_bins is not None and (
            isinstance(self.mel_bins, bool) or not isinstance(self.mel_bins, (int, np.integer))
        ):
            problems.append(f"mel_bins must be None or an integer (got {self.mel_bins!r})")
        if problems:  # the checks below need numbers
            raise ConfigError("Invalid SpecgramConfig: " + "; ".join(problems) + ".")

        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive (got {self.sample_rate})")
        if not (_is_power_of_two(self.n_fft) and self.n_fft >= 4):
            problems.append(f"n_fft must be a power of two, at least 4 (got {self.n_fft})")
        if self.hop_length <= 0 or self.n_fft % self.hop_length or self.n_fft // self.hop_length < 2:
            problems.append(
                f"hop_length={self.hop_length} must divide n_fft={self.n_fft} at least twice "
                f"(the official overlap of 0.75 is hop_length = n_fft / 4 = {self.n_fft // 4})"
            )
        if self.audio_length <= 0:
            problems.append(f"audio_length must be positive (got {self.audio_length})")
        if not (_is_power_of_two(self.frames) and self.frames >= 2):
            problems.append(f"frames must be a power of two, at least 2 (got {self.frames})")
        if not problems:
            needed = self.hop_length * (self.frames - 1) + self.n_fft - self.audio_length
            if needed < 0:
                fewest = 1 + math.ceil((self.audio_length - self.n_fft) / self.hop_length)
                problems.append(
                    f"{self.frames} frames of hop {self.hop_length} cover only "
                    f"{self.audio_length + needed} of {self.audio_length} samples; use "
                    f"frames={1 << (fewest - 1).bit_length()} (the next power of two) or a "
                    "shorter audio_length"
                )
            elif self.left_pad != needed:
                problems.append(
                    f"left_pad must be hop_length * (frames - 1) + n_fft - audio_length = "
                    f"{needed} so the last frame ends on the last sample (got {self.left_pad})"
                )
        if self.dropped_bin not in _DROPPED_BINS:
            problems.append(f"dropped_bin must be one of {_DROPPED_BINS} (got {self.dropped_bin!r})")
        if self.mel_bins is not None:
            if not (_is_power_of_two(self.mel_bins) and self.mel_bins <= self.n_fft // 2):
                problems.append(
                    f"mel_bins must be None or a power of two up to n_fft // 2 = {self.n_fft // 2} "
                    f"(got {self.mel_bins})"
                )
            if not self.ifreq:
                problems.append("mel_bins needs ifreq=True: the mel phase is built from the unwrapped phase")
        if not 0 <= self.mel_fmin < self.mel_fmax <= self.sample_rate / 2:
            problems.append(
                f"need 0 <= mel_fmin < mel_fmax <= sample_rate/2, got mel_fmin={self.mel_fmin}, "
                f"mel_fmax={self.mel_fmax}, sample_rate/2={self.sample_rate / 2}"
            )
        if self.log_eps <= 0:
            problems.append(f"log_eps must be positive (got {self.log_eps})")
        if self.mag_scale <= 0 or self.if_scale <= 0:
            problems.append(
                f"mag_scale and if_scale must be positive (got {self.mag_scale}, {self.if_scale})"
            )
        if problems:
            raise ConfigError("Invalid SpecgramConfig: " + "; ".join(problems) + ".")

    # -- derived sizes

    @property
    def bins(self) -> int:
        """Linear frequency bins kept: ``n_fft // 2`` (one of the ``n_fft // 2 + 1`` is dropped)."""
        return self.n_fft // 2

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one image: ``(2, frames, mel_bins or bins)``."""
        return (2, self.frames, self.mel_bins or self.bins)

    @property
    def duration(self) -> float:
        """Seconds per clip."""
        return self.audio_length / self.sample_rate


#: The representations of the GANSynth paper, and a small one for CPU training.
#: Image shapes (channels, frames, bins): "H", "H-mel", "H-phase" (2, 128, 1024);
#: "L" (2, 256, 512); "course" (2, 128, 256) for 1 s at 16 kHz.
SPECGRAM_PRESETS: dict[str, SpecgramConfig] = {
    # Official high frequency resolution: n_fft 2048, hop 512, 4 s → 128 × 1024, linear IF.
    "H": SpecgramConfig(),
    # The paper's best, "IF-Mel + H": 1024 mel bands over 0-8 kHz, log power and mel IF.
    "H-mel": SpecgramConfig(mel_bins=1024),
    # "Phase + H": wrapped phase / π in channel 1 instead of the IF (the paper's ablation).
    "H-phase": SpecgramConfig(ifreq=False),
    # Official low frequency resolution: n_fft 1024, hop 256 → 256 × 512.
    "L": SpecgramConfig(n_fft=1024, hop_length=256, frames=256, left_pad=2304),
    # 1 s at 16 kHz (voclab.data.mini_nsynth(duration=1.0)), n_fft 512, hop 128 → 128 × 256:
    # "H" in miniature (same frames, 31.25 Hz bins), a quarter of its pixels, for a CPU.
    "course": SpecgramConfig(n_fft=512, hop_length=128, audio_length=16000, frames=128, left_pad=768),
}
SpecgramConfig._presets = SPECGRAM_PRESETS  # the presets are SpecgramConfigs, so the table comes after the class


# --------------------------------------------------------------------------- helpers


def _real(t: torch.Tensor) -> torch.Tensor:
    """float64 stays float64; every other real dtype computes in float32."""
    return t if t.dtype in (torch.float32, torch.float64) else t.to(torch.float32)


def _complex_dtype(real: torch.dtype) -> torch.dtype:
    return torch.complex128 if real == torch.float64 else torch.complex64


def _real_of(complex_dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if complex_dtype == torch.complex128 else torch.float32


@functools.lru_cache(maxsize=16)
def _windows(n_fft: int, hop_length: int, dtype: torch.dtype, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The analysis window and the synthesis window of the official framing."""
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)  # tf.signal.hann_window
    # tf.signal.inverse_stft_window_fn: divide by Σ w² over the frames that overlap a
    # sample in the steady state (1.5 for Hann at hop n_fft / 4), not by the true envelope,
    # so the edges come back attenuated instead of amplified.
    overlap_sum = (window**2).reshape(n_fft // hop_length, hop_length).sum(dim=0)
    synthesis = window / overlap_sum.repeat(n_fft // hop_length)
    return window.to(dtype=dtype, device=device), synthesis.to(dtype=dtype, device=device)


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """(batch, frames, n_fft) → (batch, (frames - 1) * hop + n_fft), hop dividing n_fft."""
    batch, n_frames, n_fft = frames.shape
    overlap = n_fft // hop
    out = frames.new_zeros(batch, (n_frames + overlap - 1) * hop)
    pieces = frames.reshape(batch, n_frames, overlap, hop)
    for k in range(overlap):  # piece k of every frame lands k hops after the frame's start
        out[:, k * hop : (k + n_frames) * hop] += pieces[:, :, k, :].reshape(batch, n_frames * hop)
    return out


def _check_image(t: torch.Tensor, cfg: SpecgramConfig, bins: int, what: str) -> None:
    expected = (2, cfg.frames, bins)
    if t.ndim < 3 or tuple(t.shape[-3:]) != expected:
        raise ShapeError(
            f"{what} expects images of shape (..., 2, frames, bins) = (..., {expected[0]}, "
            f"{expected[1]}, {expected[2]}) for this SpecgramConfig, got {tuple(t.shape)}. "
            "Was it made with another config (or is it transposed)?"
        )
    if t.is_complex():
        raise ShapeError(f"{what} takes a real (channels, frames, bins) image, not a complex STFT.")


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (np.exp(mel / 1127.0) - 1.0)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log(1.0 + hz / 700.0)


# --------------------------------------------------------------------------- phase ↔ IF


def instantaneous_frequency(phase, time_axis: int = -2):
    """Instantaneous frequency: the phase's step from frame to frame, wrapped, in units of π.

    For a steady sinusoid the STFT phase of its bin advances by the same angle every hop,
    but the raw phase wraps around at ±π and looks random. Unwrapping along time and
    differencing gives that constant advance — the *instantaneous frequency* of
    GANSynth (Engel et al. 2019), a smooth stripe a convolutional generator can paint.
    Frame 0 keeps its raw phase, so :func:`phase_from_if` (a running sum) inverts this
    exactly. Same values as the official ``spectral_ops.instantaneous_frequency``
    (``use_unwrap=True``): there, ``diff(unwrap(phase))``; here, the difference wrapped
    into [−π, π] directly (numpy's unwrap rule: a step of exactly ±π keeps its sign),
    which is the same number without the rounding of a long running sum.

    Notebook: 05_gansynth.

    Parameters
    ----------
    phase : np.ndarray or torch.Tensor [shape=(..., frames, bins)]
        Phase in radians (wrapped or not).
    time_axis : int
        The frame axis (official layout: ``-2``, frames before bins).

    Returns
    -------
    ifreq : same kind [shape=(..., frames, bins)]
        ``[phase[0], wrap(phase[1] - phase[0]), …] / π``; every value after frame 0 in
        [−1, 1].

    Raises
    ------
    voclab.errors.ShapeError
        A complex input, or no frame axis.

    Examples
    --------
    >>> phase = np.array([[3.0], [-3.0], [-0.5]])          # 3 frames, 1 bin
    >>> np.round(instantaneous_frequency(phase) * np.pi, 4)  # 3 → −3 is a step of +0.2832
    array([[3.    ],
           [0.2832],
           [2.5   ]])
    """
    t, to_numpy = as_tensor(phase)
    if t.is_complex():
        raise ShapeError("instantaneous_frequency() takes a phase in radians, not a complex STFT; use angle().")
    if t.ndim == 0 or not -t.ndim <= time_axis < t.ndim:
        raise ShapeError(f"time_axis={time_axis} is not an axis of an array of shape {tuple(t.shape)}.")
    t = _real(t)
    step = torch.diff(t, dim=time_axis)
    wrapped = torch.remainder(step + math.pi, 2 * math.pi) - math.pi
    # numpy.unwrap and the official unwrap map a positive step of exactly π to +π, not −π
    wrapped = torch.where((wrapped == -math.pi) & (step > 0), torch.full_like(wrapped, math.pi), wrapped)
    first = t.narrow(time_axis, 0, 1)
    out = torch.cat([first, wrapped], dim=time_axis) / math.pi
    return as_input_kind(out, to_numpy)


def phase_from_if(ifreq, time_axis: int = -2):
    """The phase whose instantaneous frequency is ``ifreq``: a running sum of ``ifreq · π``.

    The exact inverse of :func:`instantaneous_frequency`: it returns the *unwrapped*
    phase, equal to the original phase modulo 2π (``np.unwrap(phase, axis=time_axis)``
    up to rounding). GANSynth's decoder does this before the inverse STFT; an error in
    one frame's IF shifts the phase of every later frame of that bin.

    Notebook: 05_gansynth.

    Parameters
    ----------
    ifreq : np.ndarray or torch.Tensor [shape=(..., frames, bins)]
        Instantaneous frequency in units of π (frame 0: the initial phase / π).
    time_axis : int
        The frame axis.

    Returns
    -------
    phase : same kind [shape=(..., frames, bins)]
        Unwrapped phase in radians.

    Raises
    ------
    voclab.errors.ShapeError
        A complex input, or no frame axis.

    Examples
    --------
    >>> phase = np.array([[3.0], [-3.0], [-0.5]])
    >>> np.round(phase_from_if(instantaneous_frequency(phase)), 4)   # = np.unwrap(phase, axis=0)
    array([[3.    ],
           [3.2832],
           [5.7832]])
    """
    t, to_numpy = as_tensor(ifreq)
    if t.is_complex():
        raise ShapeError("phase_from_if() takes a real instantaneous frequency, not a complex array.")
    if t.ndim == 0 or not -t.ndim <= time_axis < t.ndim:
        raise ShapeError(f"time_axis={time_axis} is not an axis of an array of shape {tuple(t.shape)}.")
    out = torch.cumsum(_real(t) * math.pi, dim=time_axis)
    return as_input_kind(out, to_numpy)


# --------------------------------------------------------------------------- framing


def specgram_stft(y, cfg: SpecgramConfig = SpecgramConfig()):
    """Complex STFT with GANSynth's framing: front padding, periodic Hann, no centring, one bin dropped.

    ``cfg.left_pad`` zeros go in front of the clip (none at the end), frames of
    ``n_fft`` samples every ``hop_length`` are windowed and Fourier transformed, and of
    the ``n_fft // 2 + 1`` bins the DC bin (official) or the Nyquist bin is dropped, so
    bins and frames are both powers of two. Bin ``k`` of the result is frequency
    ``(k + 1) · sample_rate / n_fft`` when DC is dropped, ``k · sample_rate / n_fft``
    when Nyquist is.

    Notebook: 05_gansynth.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., audio_length)]
        Real waveform(s) at ``cfg.sample_rate``, exactly ``cfg.audio_length`` samples.
    cfg : SpecgramConfig

    Returns
    -------
    S : complex, same kind [shape=(..., frames, bins)]
        complex64 for float32 input, complex128 for float64.

    Raises
    ------
    voclab.errors.ShapeError
        Another length than ``cfg.audio_length``, or a complex input.
    voclab.errors.NonFiniteAudioError
        NaN or infinite samples.

    Examples
    --------
    >>> specgram_stft(np.zeros(64000, dtype=np.float32)).shape
    (128, 1024)
    """
    t, to_numpy = as_tensor(y)
    return as_input_kind(_stft(t, cfg, "specgram_stft()"), to_numpy)


def _stft(t: torch.Tensor, cfg: SpecgramConfig, what: str) -> torch.Tensor:
    if t.is_complex():
        raise ShapeError(f"{what} takes a real waveform; you passed a complex array.")
    if t.ndim == 0 or t.shape[-1] == 0:
        raise EmptyAudioError(f"{what} needs a waveform of shape (..., samples) with samples.")
    if t.shape[-1] != cfg.audio_length:
        raise ShapeError(
            f"this SpecgramConfig frames clips of exactly audio_length={cfg.audio_length} samples "
            f"({cfg.duration:g} s at {cfg.sample_rate} Hz); got {t.shape[-1]}. Crop or zero-pad "
            "the clip, or use a config with another audio_length."
        )
    t = _real(t)
    if not torch.isfinite(t).all():
        raise NonFiniteAudioError("the waveform contains NaN or infinite samples.")
    batch_shape = t.shape[:-1]
    flat = torch.nn.functional.pad(t.reshape(-1, cfg.audio_length), (cfg.left_pad, 0))
    window, _ = _windows(cfg.n_fft, cfg.hop_length, flat.dtype, str(flat.device))
    framed = flat.unfold(-1, cfg.n_fft, cfg.hop_length)  # (batch, frames, n_fft)
    S = torch.fft.rfft(framed * window, dim=-1)  # (batch, frames, n_fft // 2 + 1)
    S = S[..., 1:] if cfg.dropped_bin == "dc" else S[..., :-1]
    return S.reshape(*batch_shape, cfg.frames, cfg.bins)


def specgram_istft(S, cfg: SpecgramConfig = SpecgramConfig()):
    """Inverse of :func:`specgram_stft`, as the official ``stfts_to_waves``.

    Re-insert the dropped bin as zeros, inverse FFT each frame, multiply by the
    synthesis window ``w / Σ w²`` (the steady-state sum, as
    ``tf.signal.inverse_stft_window_fn``), overlap-add and cut ``left_pad`` samples off
    the front. Exact where ``n_fft / hop_length`` frames overlap; the last
    ``n_fft - hop_length`` samples have fewer frames and come back attenuated, never
    amplified (the official code accepts this tail error; a generated spectrogram
    cannot blow up there).

    Notebook: 05_gansynth.

    Parameters
    ----------
    S : complex np.ndarray or torch.Tensor [shape=(..., frames, bins)]
    cfg : SpecgramConfig

    Returns
    -------
    y : real, same kind [shape=(..., audio_length)]

    Raises
    ------
    voclab.errors.ShapeError
        A real input, or a shape other than ``(..., cfg.frames, cfg.bins)``.

    Examples
    --------
    >>> t = np.arange(64000) / 16000
    >>> y = (0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(64000)).astype(np.float32)
    >>> y_hat = specgram_istft(specgram_stft(y))
    >>> bool(np.abs(y_hat - y)[:-1536].max() < 1e-5)   # all but the tail
    True
    """
    t, to_numpy = as_tensor(S)
    return as_input_kind(_istft(t, cfg), to_numpy)


def _istft(t: torch.Tensor, cfg: SpecgramConfig) -> torch.Tensor:
    if not t.is_complex():
        raise ShapeError(
            "specgram_istft() takes a complex STFT; for a (log-magnitude, IF) image use from_specgram()."
        )
    if t.ndim < 2 or tuple(t.shape[-2:]) != (cfg.frames, cfg.bins):
        raise ShapeError(
            f"expected an STFT of shape (..., frames={cfg.frames}, bins={cfg.bins}), got "
            f"{tuple(t.shape)}. Is it transposed (bins, frames), or made with another config?"
        )
    batch_shape = t.shape[:-2]
    flat = t.reshape(-1, cfg.frames, cfg.bins)
    zero_bin = (1, 0) if cfg.dropped_bin == "dc" else (0, 1)
    flat = torch.nn.functional.pad(flat, zero_bin)  # (batch, frames, n_fft // 2 + 1)
    _, synthesis = _windows(cfg.n_fft, cfg.hop_length, _real_of(flat.dtype), str(flat.device))
    framed = torch.fft.irfft(flat, n=cfg.n_fft, dim=-1) * synthesis
    y = _overlap_add(framed, cfg.hop_length)[:, cfg.left_pad :]
    return y.reshape(*batch_shape, cfg.audio_length)


# --------------------------------------------------------------------------- mel


@functools.lru_cache(maxsize=8)
def _mel_matrix_np(n_bins: int, n_mels: int, sample_rate: int, fmin: float, fmax: float) -> np.ndarray:
    nyquist = sample_rate / 2.0
    # The official grid: n_bins points from 0 to Nyquist, row 0 (called "DC") zeroed. With
    # the DC bin already dropped from the image, row k stands for bin frequency
    # (k + 1) · sr / n_fft but is weighted as if it were k · nyquist / (n_bins − 1).
    bin_hz = np.linspace(0.0, nyquist, n_bins)[1:, None]
    edges = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2)
    widest_narrow_band = 1.5 * nyquist / n_bins  # 1.5 bins (official freq_th)
    for i in range(n_mels):
        # Band i spans edges[i] .. edges[i + 2] around edges[i + 1]. A band narrower than
        # 1.5 bins is widened symmetrically in mel. The official loop writes the new edges
        # through numpy *views* of one edge array, so widening band i also moves band
        # (i - 1)'s centre and band (i + 1)'s centre: the low bands end up spaced by the
        # minimum width. Reproduced on purpose: it is the matrix GANSynth was trained with.
        centre_hz = _mel_to_hz(edges[i + 1])
        if _mel_to_hz(edges[i + 2]) - _mel_to_hz(edges[i]) < widest_narrow_band:
            ratio = 0.5 * widest_narrow_band / (centre_hz + 700.0)
            half_width = 1127.0 * np.log(ratio + np.sqrt(1.0 + ratio**2))
            centre = edges[i + 1]
            edges[i], edges[i + 2] = centre - half_width, centre + half_width
    lower, centre, upper = (_mel_to_hz(edges[k : k + n_mels])[None, :] for k in range(3))
    rising = (bin_hz - lower) / (centre - lower)
    falling = (upper - bin_hz) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (n_bins - 1, n_mels)
    return np.concatenate([np.zeros((1, n_mels)), weights], axis=0)  # (n_bins, n_mels)


@functools.lru_cache(maxsize=8)
def _mel_inverse_np(n_bins: int, n_mels: int, sample_rate: int, fmin: float, fmax: float) -> np.ndarray:
    m = _mel_matrix_np(n_bins, n_mels, sample_rate, fmin, fmax)  # (bins, mels)
    column_sums = (m @ m.T).sum(axis=0)  # (bins,)
    scale = np.where(np.abs(column_sums) > 1e-8, 1.0 / np.where(column_sums == 0, 1.0, column_sums), column_sums)
    return m.T * scale[None, :]  # Mᵀ · diag(scale): (mels, bins)


def _mel_key(cfg: SpecgramConfig) -> tuple:
    if cfg.mel_bins is None:
        raise ConfigError("this SpecgramConfig is linear (mel_bins=None); use SpecgramConfig.preset('H-mel').")
    return (cfg.bins, int(cfg.mel_bins), int(cfg.sample_rate), float(cfg.mel_fmin), float(cfg.mel_fmax))


def mel_matrix(cfg: SpecgramConfig = SPECGRAM_PRESETS["H-mel"]) -> np.ndarray:
    """GANSynth's linear-to-mel matrix ``M``: HTK mel triangles with a minimum width of 1.5 bins.

    A port of the official ``spectral_ops.linear_to_mel_weight_matrix`` (an adaptation
    of ``tf.signal.linear_to_mel_weight_matrix``): ``mel_bins`` triangles, evenly spaced
    on the HTK mel scale ``1127 ln(1 + f / 700)`` between ``mel_fmin`` and ``mel_fmax``,
    peak 1, no area normalisation. Bands narrower than 1.5 bins are widened, which the
    official code does by writing through numpy views of one edge array, so each
    widening also moves the neighbouring bands' centres (reproduced, bit for bit).
    For "H-mel" the result is far from a mel scale at the bottom: 852 of the 1024 bands
    are widened and their centres climb in equal steps of 5.86 Hz (0.75 bin) up to
    5 kHz; only the top 172 bands follow the mel spacing. Row 0 is zero (the official
    grid treats the first kept bin as DC), and so is the last row (the top edge).

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : SpecgramConfig
        A mel config (``mel_bins`` set); default ``"H-mel"``.

    Returns
    -------
    M : np.ndarray [shape=(bins, mel_bins), dtype=float64]
        ``mel = linear @ M`` on (..., frames, bins) arrays.

    Raises
    ------
    voclab.errors.ConfigError
        ``cfg.mel_bins`` is None.

    Examples
    --------
    >>> mel_matrix().shape
    (1024, 1024)
    """
    return _mel_matrix_np(*_mel_key(cfg)).copy()


def mel_inverse_matrix(cfg: SpecgramConfig = SPECGRAM_PRESETS["H-mel"]) -> np.ndarray:
    """The official way back from mel: ``Mᵀ · diag(1 / colsum(M Mᵀ))``, not a pseudo-inverse.

    Each linear bin gets the bands that cover it, weighted by their triangles and divided
    by how much the bands around it overlap (``colsum(M Mᵀ)``; a zero sum is left at
    zero). Cheap, non-negative and smooth, but ``M @ mel_inverse_matrix`` is not the
    identity: the round trip through mel is lossy even before the phase is considered.

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : SpecgramConfig
        A mel config (``mel_bins`` set).

    Returns
    -------
    M_inv : np.ndarray [shape=(mel_bins, bins), dtype=float64]
        ``linear ≈ mel @ M_inv``.

    Raises
    ------
    voclab.errors.ConfigError
        ``cfg.mel_bins`` is None.

    Examples
    --------
    >>> bool((mel_inverse_matrix() >= 0).all())
    True
    """
    return _mel_inverse_np(*_mel_key(cfg)).copy()


def _on(matrix: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(matrix).to(device=like.device, dtype=like.dtype)


def linear_to_mel(spec, cfg: SpecgramConfig = SPECGRAM_PRESETS["H-mel"]):
    """Turn a raw (log-magnitude, IF) image into GANSynth's (log mel power, mel IF) image.

    As the official ``specgrams_to_melspecgrams``: the power ``exp(2 · log-mag)`` goes
    through the mel matrix and back into a log, ``log(|S|² @ M + log_eps)``; the IF is
    summed back into the unwrapped phase, mapped through the same matrix (a weighted
    average of the bins' running phases) and differenced again with
    :func:`instantaneous_frequency`.

    Notebook: 05_gansynth.

    Parameters
    ----------
    spec : np.ndarray or torch.Tensor [shape=(..., 2, frames, bins)]
        *Unnormalised* log-magnitude and IF (see :func:`denormalise`).
    cfg : SpecgramConfig
        A mel config (``mel_bins`` set).

    Returns
    -------
    mel_spec : same kind [shape=(..., 2, frames, mel_bins)]
        Unnormalised log mel power and mel IF.

    Raises
    ------
    voclab.errors.ConfigError
        ``cfg.mel_bins`` is None.
    voclab.errors.ShapeError
        ``spec`` is not ``(..., 2, frames, bins)``.

    Examples
    --------
    >>> cfg = SpecgramConfig.preset("H-mel")
    >>> linear_to_mel(np.zeros((2, 128, 1024), dtype=np.float32), cfg).shape
    (2, 128, 1024)
    """
    key = _mel_key(cfg)
    t, to_numpy = as_tensor(spec)
    _check_image(t, cfg, cfg.bins, "linear_to_mel()")
    t = _real(t)
    m = _on(_mel_matrix_np(*key), t)
    log_magnitude, ifreq = t[..., 0, :, :], t[..., 1, :, :]
    log_mel_power = torch.log(torch.exp(2.0 * log_magnitude) @ m + cfg.log_eps)
    mel_ifreq = instantaneous_frequency(phase_from_if(ifreq) @ m)
    return as_input_kind(torch.stack([log_mel_power, mel_ifreq], dim=-3), to_numpy)


def mel_to_linear(mel_spec, cfg: SpecgramConfig = SPECGRAM_PRESETS["H-mel"]):
    """Back from (log mel power, mel IF) to (log-magnitude, IF), as the official ``melspecgrams_to_specgrams``.

    The mel power and the running mel phase go through :func:`mel_inverse_matrix`;
    the magnitude is ``0.5 · log(power + log_eps)`` and the phase is differenced into an
    IF again. Lossy (see the module's measured figures): the mel phase of a band is a
    blend of its bins' phases, and a wrapped mel phase step mapped back is no longer a
    whole number of turns.

    Notebook: 05_gansynth.

    Parameters
    ----------
    mel_spec : np.ndarray or torch.Tensor [shape=(..., 2, frames, mel_bins)]
        Unnormalised log mel power and mel IF.
    cfg : SpecgramConfig
        A mel config (``mel_bins`` set).

    Returns
    -------
    spec : same kind [shape=(..., 2, frames, bins)]
        Unnormalised log-magnitude and IF.

    Raises
    ------
    voclab.errors.ConfigError
        ``cfg.mel_bins`` is None.
    voclab.errors.ShapeError
        ``mel_spec`` is not ``(..., 2, frames, mel_bins)``.

    Examples
    --------
    >>> cfg = SpecgramConfig.preset("H-mel")
    >>> mel_to_linear(np.zeros((2, 128, 1024), dtype=np.float32), cfg).shape
    (2, 128, 1024)
    """
    key = _mel_key(cfg)
    t, to_numpy = as_tensor(mel_spec)
    _check_image(t, cfg, int(cfg.mel_bins), "mel_to_linear()")
    t = _real(t)
    m_inv = _on(_mel_inverse_np(*key), t)
    log_mel_power, mel_ifreq = t[..., 0, :, :], t[..., 1, :, :]
    log_magnitude = 0.5 * torch.log(torch.exp(log_mel_power) @ m_inv + cfg.log_eps)
    ifreq = instantaneous_frequency(phase_from_if(mel_ifreq) @ m_inv)
    return as_input_kind(torch.stack([log_magnitude, ifreq], dim=-3), to_numpy)


# --------------------------------------------------------------------------- normaliser


def normalise(spec, cfg: SpecgramConfig = SpecgramConfig()):
    """Scale both channels into [−1, 1], the range of the generator's tanh, and clip.

    ``clip(mag_scale · channel0 + mag_offset, −1, 1)`` and
    ``clip(if_scale · channel1 + if_offset, −1, 1)``, as the official
    ``SpecgramsPrespecifiedNormalizer`` (fixed constants, the same for linear and mel
    images). With the official constants a log-magnitude of ``log(1e-6)`` (silence)
    maps to −0.80 and the clip starts at a magnitude of about 6.6·10⁵.

    Notebook: 05_gansynth.

    Parameters
    ----------
    spec : np.ndarray or torch.Tensor [shape=(..., 2, frames, bins)]
    cfg : SpecgramConfig

    Returns
    -------
    normalised : same kind [shape=(..., 2, frames, bins)], values in [−1, 1]

    Examples
    --------
    >>> image = np.zeros((2, 1, 1)); image[0] = np.log(1e-6); image[1] = 1.0
    >>> np.round(normalise(image)[:, 0, 0], 3)
    array([-0.8,  0.8])
    """
    t, to_numpy = as_tensor(spec)
    if t.ndim < 3 or t.shape[-3] != 2:
        raise ShapeError(f"normalise() expects (..., 2, frames, bins), got {tuple(t.shape)}.")
    t = _real(t)
    scale = t.new_tensor([cfg.mag_scale, cfg.if_scale]).reshape(2, 1, 1)
    offset = t.new_tensor([cfg.mag_offset, cfg.if_offset]).reshape(2, 1, 1)
    return as_input_kind((t * scale + offset).clamp(-1.0, 1.0), to_numpy)


def denormalise(normalised, cfg: SpecgramConfig = SpecgramConfig()):
    """Undo :func:`normalise` (except its clipping): ``(x − offset) / scale`` per channel.

    Notebook: 05_gansynth.

    Parameters
    ----------
    normalised : np.ndarray or torch.Tensor [shape=(..., 2, frames, bins)]
        E.g. a generator's tanh output.
    cfg : SpecgramConfig

    Returns
    -------
    spec : same kind [shape=(..., 2, frames, bins)]
        Log-magnitude (or log mel power) and IF (or phase / π).

    Examples
    --------
    >>> image = np.array([-0.8, 0.8]).reshape(2, 1, 1)
    >>> np.round(denormalise(image)[:, 0, 0], 3)
    array([-13.816,   1.   ])
    """
    t, to_numpy = as_tensor(normalised)
    if t.ndim < 3 or t.shape[-3] != 2:
        raise ShapeError(f"denormalise() expects (..., 2, frames, bins), got {tuple(t.shape)}.")
    t = _real(t)
    scale = t.new_tensor([cfg.mag_scale, cfg.if_scale]).reshape(2, 1, 1)
    offset = t.new_tensor([cfg.mag_offset, cfg.if_offset]).reshape(2, 1, 1)
    return as_input_kind((t - offset) / scale, to_numpy)


# --------------------------------------------------------------------------- audio ↔ image


def to_specgram(y, cfg: SpecgramConfig = SpecgramConfig()):
    """Audio → GANSynth image: normalised log-magnitude and IF (or their mel versions).

    :func:`specgram_stft`, then ``log(|S| + log_eps)`` and :func:`instantaneous_frequency`
    of the phase (or phase / π when ``cfg.ifreq`` is False), then :func:`linear_to_mel`
    when ``cfg.mel_bins`` is set, then :func:`normalise` (clipped to [−1, 1]) — the
    official ``waves_to_specgrams`` / ``waves_to_melspecgrams`` followed by the
    discriminator's normaliser.

    Notebook: 05_gansynth.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., audio_length)]
        Waveform(s) at ``cfg.sample_rate``.
    cfg : SpecgramConfig

    Returns
    -------
    image : same kind [shape=(..., 2, frames, bins)] (``bins`` = ``mel_bins`` for mel)
        Channel 0: normalised log-magnitude (mel: log power); channel 1: normalised IF.

    Raises
    ------
    voclab.errors.ShapeError
        Another length than ``cfg.audio_length``.

    Examples
    --------
    >>> y = np.zeros(64000, dtype=np.float32)
    >>> image = to_specgram(y, SpecgramConfig.preset("H"))
    >>> image.shape, round(float(image[0].max()), 3)
    ((2, 128, 1024), -0.8)
    """
    t, to_numpy = as_tensor(y)
    S = _stft(t, cfg, "to_specgram()")
    phase = S.angle()
    channel1 = instantaneous_frequency(phase) if cfg.ifreq else phase / math.pi
    spec = torch.stack([torch.log(S.abs() + cfg.log_eps), channel1], dim=-3)
    if cfg.mel_bins is not None:
        spec = linear_to_mel(spec, cfg)
    return as_input_kind(normalise(spec, cfg), to_numpy)


def from_specgram(image, cfg: SpecgramConfig = SpecgramConfig()):
    """GANSynth image → audio: the exact inverse of :func:`to_specgram` for a linear image.

    :func:`denormalise`, :func:`mel_to_linear` for a mel image, ``exp`` of the
    log-magnitude, :func:`phase_from_if` (or ``π ·`` channel 1), then
    :func:`specgram_istft`. For a linear image of real audio this gives the audio back
    up to float error and the attenuated tail (see the module's figures); for a mel
    image, or a generated one, it gives *an* audio whose image is close.

    Notebook: 05_gansynth.

    Parameters
    ----------
    image : np.ndarray or torch.Tensor [shape=(..., 2, frames, bins)]
        Normalised (e.g. a generator's tanh output); ``bins`` = ``mel_bins`` for mel.
    cfg : SpecgramConfig

    Returns
    -------
    y : same kind [shape=(..., audio_length)]

    Raises
    ------
    voclab.errors.ShapeError
        The image does not have the config's shape.

    Examples
    --------
    >>> t = np.arange(64000) / 16000
    >>> y = (0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(64000)).astype(np.float32)
    >>> y_hat = from_specgram(to_specgram(y))
    >>> bool(np.abs(y_hat - y)[:-1536].max() < 1e-5)   # all but the tail
    True
    """
    t, to_numpy = as_tensor(image)
    _check_image(t, cfg, cfg.shape[-1], "from_specgram()")
    spec = denormalise(_real(t), cfg)
    if cfg.mel_bins is not None:
        spec = mel_to_linear(spec, cfg)
    log_magnitude, channel1 = spec[..., 0, :, :], spec[..., 1, :, :]
    phase = phase_from_if(channel1) if cfg.ifreq else channel1 * math.pi
    S = torch.polar(torch.exp(log_magnitude), phase)
    return as_input_kind(_istft(S, cfg), to_numpy)


# --------------------------------------------------------------------------- measuring


def round_trip_figures(y, cfg: SpecgramConfig = SpecgramConfig()) -> dict[str, float]:
    """How much of a clip survives ``from_specgram(to_specgram(y))``: SNR and log-spectral distance.

    SNR is ``10 log10(Σ y² / Σ (y − ŷ)²)`` over the whole clip; LSD is
    :func:`voclab.metrics.log_spectral_distance` (magnitude floor 1e-5) between
    ``|specgram_stft|`` of both — the image's own frames and bins. The linear image
    should give tens of dB of SNR and an LSD well under 1 dB; the mel image gives an SNR
    near 0 dB — its phase is not the original — and an LSD of several dB.

    Notebook: 05_gansynth.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(audio_length,)]
        One clip.
    cfg : SpecgramConfig

    Returns
    -------
    figures : dict
        ``{"snr_db": float, "lsd_db": float}``.

    Raises
    ------
    voclab.errors.EmptyAudioError
        A silent clip (its SNR is undefined).

    Examples
    --------
    >>> t = np.arange(64000) / 16000
    >>> y = (0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(64000)).astype(np.float32)
    >>> round(round_trip_figures(y)["snr_db"])
    80
    """
    from .metrics import log_spectral_distance

    t, _ = as_tensor(y)
    if t.ndim != 1:
        raise ShapeError(f"round_trip_figures() takes one clip of shape (samples,), got {tuple(t.shape)}.")
    t = _real(t)
    energy = float(t.double().square().sum())
    if energy == 0.0:
        raise EmptyAudioError("round_trip_figures() needs a clip that is not silent.")
    y_hat = from_specgram(to_specgram(t, cfg), cfg)
    error = float((t.double() - y_hat.double()).square().sum())
    snr = math.inf if error == 0.0 else 10.0 * math.log10(energy / error)
    # log_spectral_distance wants (..., freq, frames)
    magnitudes = [_stft(x, cfg.replace(mel_bins=None), "round_trip_figures()").abs().T for x in (t, y_hat)]
    return {"snr_db": snr, "lsd_db": float(log_spectral_distance(*magnitudes))}


def _summary(label: str, rows: list[tuple[float, float]]) -> str:
    snr, lsd = np.array(rows).T
    return (
        f"{label}: SNR {snr.min():.1f} – {snr.max():.1f} dB (median {np.median(snr):.1f}); "
        f"LSD {lsd.min():.2f} – {lsd.max():.2f} dB (median {np.median(lsd):.2f})"
    )


def _main() -> None:
    """Print the round-trip figures of the module docstring (``python -m voclab.specgram``)."""
    from .data import clip_info, list_clips, load_clip, mini_nsynth

    notes = [
        name for name in list_clips("instrument")
        if clip_info(name)["collection"].startswith("FluidR3")  # the NSynth-style 4 s renders
    ]
    for preset in ("H", "H-mel"):
        cfg = SpecgramConfig.preset(preset)
        rows = []
        for name in notes:
            audio, _ = load_clip(name)
            figures = round_trip_figures(audio, cfg)
            rows.append((figures["snr_db"], figures["lsd_db"]))
            print(f"{preset:6s} {name:34s} SNR {figures['snr_db']:6.1f} dB  LSD {figures['lsd_db']:6.2f} dB")
        print(_summary(f"{preset} on {len(rows)} FluidR3 notes", rows))
    print(_summary("H, DC kept and Nyquist dropped", [
        tuple(round_trip_figures(load_clip(name)[0], SpecgramConfig(dropped_bin="nyquist")).values())
        for name in notes
    ]))
    cfg = SpecgramConfig.preset("course")
    dataset = mini_nsynth(40, seed=0, duration=cfg.duration)
    rows = {True: [], False: []}
    for note in dataset:
        rows[note.pitch >= 36].append(tuple(round_trip_figures(note.audio, cfg).values()))
    print(_summary(f"course on {len(rows[True])} mini_nsynth notes at MIDI >= 36", rows[True]))
    print(_summary(f"course on {len(rows[False])} mini_nsynth notes below MIDI 36", rows[False]))


if __name__ == "__main__":
    _main()
