"""Short-time Fourier transforms and mel spectrograms, with mel settings as a typed object.

A magnitude spectrogram throws the phase away (notebook 01); a mel spectrogram also
throws away frequency detail. Every vocoder of the course maps a mel back to audio,
and each project computes its mel a little differently (see the table in
:data:`MEL_PRESETS`). A vocoder fed mels made with other settings produces noise, so
voclab keeps the settings in one frozen dataclass, :class:`MelConfig`, that travels
with every checkpoint and can say by name which fields differ from another.

All functions take numpy arrays or torch tensors and return the same kind (numpy in,
numpy out), on the tensor's device. Leading axes are batch axes.

Notebook: 01_phase_and_griffin_lim.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from .errors import ConfigError, EmptyAudioError, MelMismatchError, ShapeError

__all__ = [
    "stft",
    "istft",
    "FramedSTFT",
    "frame_settings",
    "magnitude_phase",
    "polar",
    "MelConfig",
    "MEL_PRESETS",
    "mel_filterbank",
    "mel_spectrogram",
    "log_compress",
    "log_decompress",
    "mel_to_linear",
]


# --------------------------------------------------------------------------- helpers


def as_tensor(x: Any) -> tuple[torch.Tensor, bool]:
    """Return ``(tensor, came_from_numpy)`` for a numpy array, tensor or nested list."""
    if isinstance(x, torch.Tensor):
        return x, False
    array = np.asarray(x)
    if array.dtype == np.float16 or array.dtype.kind in "iub":
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array)), True


def as_input_kind(x: torch.Tensor, to_numpy: bool):
    """Give ``x`` back as the kind the caller passed in (numpy or torch)."""
    return x.detach().cpu().numpy() if to_numpy else x


@functools.lru_cache(maxsize=32)
def _window(kind: str, win_length: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    if kind != "hann":
        raise ConfigError(f"window={kind!r} is not supported; voclab uses 'hann'.")
    # periodic Hann, as librosa's get_window('hann', n, fftbins=True)
    return torch.hann_window(win_length, periodic=True, dtype=dtype, device=device)


def _real_dtype(t: torch.Tensor) -> torch.dtype:
    if t.is_complex():
        return torch.float64 if t.dtype == torch.complex128 else torch.float32
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


# --------------------------------------------------------------------------- STFT


def stft(
    y,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
):
    """Short-time Fourier transform of one or many waveforms.

    The waveform is cut into frames of ``win_length`` samples every ``hop_length``
    samples, each frame is multiplied by a Hann window and Fourier transformed. With
    ``center=True`` frame ``t`` is centred on sample ``t * hop_length`` (the signal is
    padded by ``n_fft // 2`` on both sides), as in ``librosa.stft``.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., samples)]
        Real waveform(s).
    n_fft : int
        FFT size; the result has ``1 + n_fft // 2`` frequency bins.
    hop_length : int, optional
        Samples between frames; default ``win_length // 4``.
    win_length : int, optional
        Window length; default ``n_fft``.
    window : str
        Only ``"hann"`` (periodic) is supported.
    center : bool
        Pad so that frames are centred on multiples of ``hop_length``.
    pad_mode : str
        ``"constant"`` (zeros, librosa's default) or ``"reflect"``.

    Returns
    -------
    S : complex np.ndarray or torch.Tensor [shape=(..., 1 + n_fft // 2, frames)]
        complex64 for float32 input, complex128 for float64 input.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> stft(y, n_fft=1024, hop_length=256).shape
    (513, 87)
    """
    win_length = win_length or n_fft
    hop_length = hop_length or win_length // 4
    t, to_numpy = as_tensor(y)
    if t.is_complex():
        raise ShapeError("stft() takes a real waveform; you passed a complex array (already an STFT?).")
    if t.ndim == 0 or t.shape[-1] == 0:
        raise EmptyAudioError("stft() needs a waveform with samples, got an empty array.")
    if center and pad_mode == "reflect" and t.shape[-1] <= n_fft // 2:
        raise EmptyAudioError(
            f"a waveform of {t.shape[-1]} samples is too short to reflect-pad by n_fft // 2 = "
            f"{n_fft // 2}; pass at least {n_fft // 2 + 1} samples or use pad_mode='constant'."
        )
    if not center and t.shape[-1] < n_fft:
        raise ShapeError(
            f"a waveform of {t.shape[-1]} samples is shorter than n_fft={n_fft}; "
            "pad it or use center=True."
        )
    t = t.to(_real_dtype(t))
    batch_shape = t.shape[:-1]
    flat = t.reshape(-1, t.shape[-1])  # (batch, samples)
    win = _window(window, win_length, flat.dtype, str(flat.device))
    S = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=win,
        center=center,
        pad_mode=pad_mode,
        return_complex=True,
    )  # (batch, freq, frames)
    S = S.reshape(*batch_shape, S.shape[-2], S.shape[-1])  # (..., freq, frames)
    return as_input_kind(S, to_numpy)


def frame_settings(shape: tuple, n_fft: int | None, hop_length: int | None,
                   win_length: int | None) -> tuple[int, int, int]:
    """Fill in the defaults of an STFT's settings from a spectrogram's shape, and check them.

    ``n_fft`` defaults to ``2 * (freq - 1)``, ``win_length`` to ``n_fft`` and ``hop_length``
    to ``win_length // 4``, as in librosa.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    shape : tuple [shape=(..., freq, frames)]
        Shape of the (complex or magnitude) spectrogram.
    n_fft, hop_length, win_length : int or None

    Returns
    -------
    n_fft, hop_length, win_length : int

    Raises
    ------
    voclab.errors.ShapeError
        ``freq`` is not ``1 + n_fft // 2`` (a transposed array, or another n_fft).
    """
    n_fft = n_fft or 2 * (shape[-2] - 1)
    if shape[-2] != n_fft // 2 + 1:
        raise ShapeError(
            f"n_fft={n_fft} gives {n_fft // 2 + 1} frequency bins but this spectrogram has "
            f"{shape[-2]} (shape {shape}). Is it transposed (frames, freq)?"
        )
    win_length = win_length or n_fft
    return n_fft, hop_length or win_length // 4, win_length


def istft(
    S,
    *,
    hop_length: int | None = None,
    n_fft: int | None = None,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    length: int | None = None,
):
    """Inverse STFT by weighted overlap-add (the least-squares inverse of :func:`stft`).

    ``istft(stft(y))`` gives ``y`` back (up to float error) for the same settings.
    For an arbitrary complex array that is *not* the STFT of any signal (for example
    a magnitude with a made-up phase), it returns the signal whose STFT is closest in
    the least-squares sense (Griffin & Lim 1984) — the step Griffin-Lim iterates.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    S : complex np.ndarray or torch.Tensor [shape=(..., 1 + n_fft // 2, frames)]
    hop_length, n_fft, win_length, window, center
        As in :func:`stft`; ``n_fft`` defaults to ``2 * (freq - 1)``.
    length : int, optional
        Trim or zero-pad the output to exactly this many samples.

    Returns
    -------
    y : np.ndarray or torch.Tensor [shape=(..., samples)]
        Real waveform(s).

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    >>> np.allclose(istft(stft(y, n_fft=512), length=4096), y, atol=1e-5)
    True
    """
    t, to_numpy = as_tensor(S)
    if not t.is_complex():
        raise ShapeError(
            "istft() takes a complex STFT; you passed a real array. Combine magnitude "
            "and phase first: voclab.spectral.polar(magnitude, phase)."
        )
    if t.ndim < 2:
        raise ShapeError(f"istft() needs shape (..., freq, frames), got {tuple(t.shape)}.")
    n_fft, hop_length, win_length = frame_settings(tuple(t.shape), n_fft, hop_length, win_length)
    batch_shape = t.shape[:-2]
    flat = t.reshape(-1, t.shape[-2], t.shape[-1])  # (batch, freq, frames)
    win = _window(window, win_length, _real_dtype(flat), str(flat.device))
    y = torch.istft(
        flat,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=win,
        center=center,
        length=length,
    )  # (batch, samples)
    y = y.reshape(*batch_shape, y.shape[-1])  # (..., samples)
    return as_input_kind(y, to_numpy)


class FramedSTFT:
    """An STFT/iSTFT pair for one setting, in the (batch, frames, freq) layout, for inner loops.

    Same transform as :func:`stft` / :func:`istft` with ``pad_mode="constant"`` (tested to
    agree), but the window, its overlap-added square and the framing are set up once and
    frames stay on the last-but-one axis, so an iterative algorithm such as Griffin-Lim
    does no transposes and no per-call set-up. Overlap-add is a few strided additions
    when ``hop_length`` divides ``n_fft`` (the usual case), ``torch.nn.functional.fold``
    otherwise.

    Notebook: 01_phase_and_griffin_lim (the engine under :func:`voclab.phase.griffin_lim`).

    Parameters
    ----------
    n_fft, hop_length, win_length : int
        As in :func:`stft`.
    center : bool
        Frames centred on multiples of ``hop_length`` (zero padding of ``n_fft // 2``).
    dtype : torch.dtype
        Real dtype of the signals (float32 or float64).
    device : str or torch.device

    Examples
    --------
    >>> framed = FramedSTFT(n_fft=1024, hop_length=256, win_length=1024, center=True,
    ...                     dtype=torch.float32, device="cpu")
    >>> S = framed.forward(torch.zeros(2, 22050))     # (batch, frames, freq)
    >>> S.shape, framed.inverse(S).shape
    (torch.Size([2, 87, 513]), torch.Size([2, 22016]))
    """

    def __init__(self, *, n_fft: int, hop_length: int, win_length: int, center: bool,
                 dtype: torch.dtype, device):
        window = _window("hann", win_length, dtype, str(device))
        left = (n_fft - win_length) // 2  # torch.stft centres a short window in the frame
        self.window = torch.nn.functional.pad(window, (left, n_fft - win_length - left))
        self.n_fft, self.hop_length, self.center = n_fft, hop_length, center
        self._envelopes: dict[int, torch.Tensor] = {}

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(batch, samples) real → (batch, frames, 1 + n_fft // 2) complex."""
        if self.center:
            y = torch.nn.functional.pad(y, (self.n_fft // 2, self.n_fft // 2))
        frames = y.unfold(-1, self.n_fft, self.hop_length)  # (batch, frames, n_fft)
        return torch.fft.rfft(frames * self.window, dim=-1)

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        batch, n_frames, n_fft = frames.shape
        hop = self.hop_length
        if n_fft % hop == 0:
            overlap = n_fft // hop
            out = frames.new_zeros(batch, (n_frames + overlap - 1) * hop)
            pieces = frames.reshape(batch, n_frames, overlap, hop)  # (batch, frames, overlap, hop)
            for k in range(overlap):  # piece k of every frame lands k hops after the frame start
                out[:, k * hop:(k + n_frames) * hop] += pieces[:, :, k, :].reshape(batch, n_frames * hop)
            return out
        length = (n_frames - 1) * hop + n_fft
        folded = torch.nn.functional.fold(frames.transpose(1, 2), (1, length), (1, n_fft), stride=(1, hop))
        return folded.reshape(batch, length)

    def inverse(self, S: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 1 + n_fft // 2) complex → (batch, samples) real, least squares."""
        n_frames = S.shape[-2]
        if n_frames not in self._envelopes:  # Σ window², the normaliser of weighted overlap-add
            envelope = self._overlap_add((self.window**2).expand(1, n_frames, -1))
            self._envelopes[n_frames] = envelope.clamp(min=1e-11)
        y = self._overlap_add(torch.fft.irfft(S, n=self.n_fft, dim=-1) * self.window)
        y = y / self._envelopes[n_frames]
        if self.center:
            y = y[:, self.n_fft // 2 : y.shape[-1] - self.n_fft // 2]
        return y


def magnitude_phase(S):
    """Split a complex STFT into its magnitude and its phase (in radians, in (-π, π]).

    ``S = magnitude * exp(1j * phase)``; the magnitude is what a spectrogram shows,
    the phase is what it throws away.

    Notebook: 01_phase_and_griffin_lim (exercise ``split_stft``).

    Parameters
    ----------
    S : complex np.ndarray or torch.Tensor [shape=(..., freq, frames)]

    Returns
    -------
    magnitude : real array [shape=(..., freq, frames)], non-negative
    phase : real array [shape=(..., freq, frames)], radians

    Examples
    --------
    >>> mag, phase = magnitude_phase(np.array([[1j, -2.0]]))
    >>> mag, phase
    (array([[1., 2.]]), array([[1.57079633, 3.14159265]]))
    """
    if isinstance(S, torch.Tensor):
        return S.abs(), S.angle()
    S = np.asarray(S)
    return np.abs(S), np.angle(S)


def polar(magnitude, phase):
    """Combine a magnitude and a phase into a complex STFT: ``magnitude * exp(1j * phase)``.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    magnitude, phase : real arrays [shape=(..., freq, frames)] (broadcastable)

    Returns
    -------
    S : complex array [shape=(..., freq, frames)]
    """
    if isinstance(magnitude, torch.Tensor) or isinstance(phase, torch.Tensor):
        return torch.polar(torch.as_tensor(magnitude), torch.as_tensor(phase))
    magnitude = np.asarray(magnitude)
    phase = np.asarray(phase)
    return magnitude * np.exp(1j * phase).astype(np.result_type(magnitude.dtype, np.complex64))


# --------------------------------------------------------------------------- mel settings

_LOG_KINDS = ("ln", "log10", "db_norm")


class _Settings:
    """Presets, dicts and named differences for a frozen dataclass of spectral settings.

    :class:`MelConfig` and :class:`voclab.specgram.SpecgramConfig` are looked up, stored and
    compared the same way; only the words of their messages, their preset table and their
    mismatch error differ, so each sets these class attributes (plain assignments, not
    annotations, so that they do not become dataclass fields):

    * ``_config_key``: the key of a model config that holds the settings (``"mel"``);
    * ``_noun``: what the settings make, as messages name it (``"mel"``, ``"spectrogram"``);
    * ``_presets``: the preset table, attached after the table is built from the class;
    * ``_mismatch_error``: the error :meth:`require_match` raises;
    * ``_mismatch_advice``: the sentence that ends that error and says what to do.

    Notebook: 01_phase_and_griffin_lim (mels); 05_gansynth (GANSynth images).
    """

    _config_key: ClassVar[str]
    _noun: ClassVar[str]
    _presets: ClassVar[dict[str, Any]]
    _mismatch_error: ClassVar[type[MelMismatchError]]
    _mismatch_advice: ClassVar[str]

    # -- construction and comparison

    @classmethod
    def preset(cls, name: str):
        """Return the named preset of the class's table (:data:`MEL_PRESETS`,
        :data:`voclab.specgram.SPECGRAM_PRESETS`).

        Raises
        ------
        voclab.errors.ConfigError
            No preset of that name; the message lists the known ones.
        """
        try:
            return cls._presets[name]
        except KeyError:
            raise ConfigError(
                f"No {cls._config_key} preset {name!r}. Known presets: {', '.join(cls._presets)}."
            ) from None

    @classmethod
    def from_dict(cls, values: dict):
        """Rebuild a config from :meth:`to_dict` output (e.g. stored in a checkpoint).

        Raises
        ------
        voclab.errors.ConfigError
            A key that is not a field; the message lists the fields.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown {cls.__name__} field(s) {unknown}; known fields are {sorted(known)}."
            )
        return cls(**values)

    @classmethod
    def resolve(cls, value):
        """The config a model config's field (``mel``, ``specgram``) stands for: a preset name, a dict
        or a config of this class.

        Raises
        ------
        voclab.errors.ConfigError
            An unknown preset or field, or a value of another type.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.preset(value)
        if isinstance(value, dict):
            return cls.from_dict(value)
        raise ConfigError(
            f"{cls._config_key} must be a preset name or a {cls.__name__} dict, got {value!r}."
        )

    def to_dict(self) -> dict:
        """The fields as a plain dict (JSON- and ``torch.load(weights_only=True)``-safe)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with some fields changed, e.g. ``cfg.replace(fmax=None)``; checked like a new config."""
        return dataclasses.replace(self, **changes)

    def diff(self, other) -> dict[str, tuple[Any, Any]]:
        """The fields whose values differ, as ``{field: (self's value, other's value)}``, in field order."""
        return {
            f.name: (getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        }

    def require_match(self, other, *, what: str | None = None) -> None:
        """Raise the class's mismatch error naming the fields where ``other`` differs.

        ``self`` is what is expected (e.g. the checkpoint's config), ``other`` what was given;
        ``what`` names the thing that was made with ``other`` (default ``"this mel"`` or
        ``"this spectrogram"``).

        Raises
        ------
        voclab.errors.MelMismatchError
            :class:`~voclab.errors.MelMismatchError` for a :class:`MelConfig`,
            :class:`~voclab.errors.SpecgramMismatchError` (a kind of it) for a
            :class:`~voclab.specgram.SpecgramConfig`.
        """
        differences = self.diff(other)
        if differences:
            lines = ", ".join(f"{k}: expected {a!r}, got {b!r}" for k, (a, b) in differences.items())
            raise self._mismatch_error(
                f"{what or 'this ' + self._noun} was made with other {self._noun} settings ({lines}). "
                + self._mismatch_advice
            )


@dataclass(frozen=True)
class MelConfig(_Settings):
    """Every setting that decides what a mel spectrogram looks like.

    The default is the HiFi-GAN convention (Kong et al. 2020, jik876/hifi-gan), the mel
    most text-to-speech models emit. Presets for other projects are in
    :data:`MEL_PRESETS` and :meth:`MelConfig.preset`. Two configs compare with
    :meth:`diff`, which names the differing fields; :meth:`require_match` raises
    :class:`voclab.errors.MelMismatchError` when they differ.

    Notebook: 01_phase_and_griffin_lim (mel → linear inversion); 06 and 07 (vocoders).

    Attributes
    ----------
    sample_rate : int
        Audio sample rate in Hz.
    n_fft, hop_length, win_length : int
        STFT size, hop and Hann window length in samples.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest filter frequency in Hz; ``fmax=None`` means ``sample_rate / 2``.
    mel_scale : {"slaney", "htk"}
        The mel formula (librosa's ``htk`` flag).
    mel_norm : {"slaney", None}
        ``"slaney"`` divides each triangle by its width (equal area); ``None`` leaves peak 1.
    log : {"ln", "log10", "db_norm"}
        ``ln(max(x, log_floor))`` (HiFi-GAN), ``log10(max(x, log_floor))`` (MelGAN), or
        r9y9's decibels normalised to [0, 1]: ``clip((20 log10(max(x, log_floor)) -
        ref_level_db - min_level_db) / -min_level_db, 0, 1)``.
    log_floor : float
        Clamp applied before the logarithm.
    magnitude_eps : float
        The magnitude is ``sqrt(re² + im² + magnitude_eps)`` (HiFi-GAN adds 1e-9).
    center : bool
        ``False``: reflect-pad ``(n_fft - hop_length) // 2`` samples on both sides and
        frame without centring (HiFi-GAN, MelGAN), giving ``samples // hop_length``
        frames. ``True``: pad ``n_fft // 2`` on both sides (librosa-style).
    pad_mode : str
        Padding mode (``"reflect"`` or ``"constant"``).
    ref_level_db, min_level_db : float
        Only for ``log="db_norm"``.

    Examples
    --------
    >>> MelConfig.preset("hifigan").diff(MelConfig.preset("melgan"))
    {'fmax': (8000.0, 11025.0), 'log': ('ln', 'log10'), 'magnitude_eps': (1e-09, 0.0)}
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    log: str = "ln"
    log_floor: float = 1e-5
    magnitude_eps: float = 1e-9
    center: bool = False
    pad_mode: str = "reflect"
    ref_level_db: float = 20.0
    min_level_db: float = -100.0

    _config_key = "mel"
    _noun = "mel"
    _mismatch_error = MelMismatchError
    _mismatch_advice = ("A vocoder fed mismatched mels produces noise: recompute the mel with the "
                        "expected MelConfig (voclab.spectral.mel_spectrogram(y, cfg)).")

    def __post_init__(self):
        problems = []
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive (got {self.sample_rate})")
        if self.hop_length <= 0 or self.win_length <= 0 or self.n_fft <= 0:
            problems.append("n_fft, hop_length and win_length must be positive")
        if self.win_length > self.n_fft:
            problems.append(f"win_length={self.win_length} cannot exceed n_fft={self.n_fft}")
        if self.n_mels <= 0:
            problems.append(f"n_mels must be positive (got {self.n_mels})")
        top = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            problems.append(
                f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                f"fmax={self.fmax}, sample_rate/2={self.sample_rate / 2}"
            )
        if self.mel_scale not in ("slaney", "htk"):
            problems.append(f"mel_scale must be 'slaney' or 'htk' (got {self.mel_scale!r})")
        if self.mel_norm not in ("slaney", None):
            problems.append(f"mel_norm must be 'slaney' or None (got {self.mel_norm!r})")
        if self.log not in _LOG_KINDS:
            problems.append(f"log must be one of {_LOG_KINDS} (got {self.log!r})")
        if self.log_floor <= 0:
            problems.append("log_floor must be positive")
        if problems:
            raise ConfigError("Invalid MelConfig: " + "; ".join(problems) + ".")

    @property
    def top_frequency(self) -> float:
        """``fmax``, or the Nyquist frequency when ``fmax`` is None."""
        return self.sample_rate / 2 if self.fmax is None else float(self.fmax)

    def n_frames(self, n_samples: int) -> int:
        """How many mel frames :func:`mel_spectrogram` makes from ``n_samples`` samples."""
        if self.center:
            return 1 + n_samples // self.hop_length
        padded = n_samples + 2 * ((self.n_fft - self.hop_length) // 2)
        return 1 + (padded - self.n_fft) // self.hop_length


#: Mel conventions of the projects the course meets. Normalisation with dataset
#: statistics (the ParallelWaveGAN toolkit standardises each band) happens after
#: this step and is not part of the preset.
MEL_PRESETS: dict[str, MelConfig] = {
    # jik876/hifi-gan config_v1.json: the input mel stops at 8 kHz.
    "hifigan": MelConfig(),
    # HiFi-GAN's loss mel is full band (fmax = Nyquist).
    "hifigan_loss": MelConfig(fmax=None),
    # descriptinc/melgan-neurips: full band, log10, plain magnitude.
    "melgan": MelConfig(fmax=11025.0, log="log10", magnitude_eps=0.0),
    # kan-bayashi/ParallelWaveGAN: 80-7600 Hz, log10 with floor 1e-10, centred frames.
    "pwg": MelConfig(
        fmin=80.0, fmax=7600.0, log="log10", log_floor=1e-10, magnitude_eps=0.0,
        center=True,
    ),
    # r9y9/wavenet_vocoder MoL recipe: 125-7600 Hz, dB normalised to [0, 1].
    "wavenet": MelConfig(
        fmin=125.0, fmax=7600.0, log="db_norm", magnitude_eps=0.0, center=True,
    ),
    # Vocos: 24 kHz, 100 HTK bands without area normalisation, ln with floor 1e-7.
    "vocos": MelConfig(
        sample_rate=24000, n_mels=100, fmax=12000.0, mel_scale="htk", mel_norm=None,
        log_floor=1e-7, magnitude_eps=0.0, center=True,
    ),
}
MelConfig._presets = MEL_PRESETS  # the presets are MelConfigs, so the table comes after the class


@functools.lru_cache(maxsize=16)
def _mel_basis_np(cfg: MelConfig) -> np.ndarray:
    import librosa

    return librosa.filters.mel(
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        n_mels=cfg.n_mels,
        fmin=cfg.fmin,
        fmax=cfg.top_frequency,
        htk=cfg.mel_scale == "htk",
        norm=cfg.mel_norm,
    ).astype(np.float64)


def mel_filterbank(cfg: MelConfig = MelConfig()) -> np.ndarray:
    """The mel filterbank matrix of a config (librosa's triangles).

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    cfg : MelConfig

    Returns
    -------
    basis : np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
        ``mel = basis @ magnitude``.
    """
    return _mel_basis_np(cfg).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _mel_pinv_np(cfg: MelConfig) -> np.ndarray:
    return np.linalg.pinv(_mel_basis_np(cfg))


def _on(matrix: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(matrix).to(device=like.device, dtype=_real_dtype(like))


def log_compress(mel, cfg: MelConfig = MelConfig()):
    """Apply the config's logarithm to a mel magnitude (see :class:`MelConfig`'s ``log``).

    Notebook: 01_phase_and_griffin_lim (undoing it before the mel pseudo-inverse).

    Parameters
    ----------
    mel : array [shape=(..., n_mels, frames)], non-negative
    cfg : MelConfig

    Returns
    -------
    log_mel : array [shape=(..., n_mels, frames)]
    """
    t, to_numpy = as_tensor(mel)
    t = t.clamp(min=cfg.log_floor)
    if cfg.log == "ln":
        out = torch.log(t)
    elif cfg.log == "log10":
        out = torch.log10(t)
    else:  # db_norm
        db = 20 * torch.log10(t) - cfg.ref_level_db
        out = ((db - cfg.min_level_db) / -cfg.min_level_db).clamp(0.0, 1.0)
    return as_input_kind(out, to_numpy)


def log_decompress(log_mel, cfg: MelConfig = MelConfig()):
    """Undo :func:`log_compress` (values at the floor stay at the floor).

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    log_mel : array [shape=(..., n_mels, frames)]
    cfg : MelConfig

    Returns
    -------
    mel : array [shape=(..., n_mels, frames)], non-negative
    """
    t, to_numpy = as_tensor(log_mel)
    if cfg.log == "ln":
        out = torch.exp(t)
    elif cfg.log == "log10":
        out = torch.pow(10.0, t)
    else:
        db = t * -cfg.min_level_db + cfg.min_level_db + cfg.ref_level_db
        out = torch.pow(10.0, db / 20)
    return as_input_kind(out, to_numpy)


def mel_spectrogram(y, cfg: MelConfig = MelConfig(), *, log: bool = True):
    """Mel spectrogram of waveform(s), exactly as the config's project computes it.

    magnitude STFT (``sqrt(re² + im² + magnitude_eps)``) → mel filterbank → logarithm.
    With the default config this matches HiFi-GAN's ``mel_spectrogram``: reflect padding
    of ``(n_fft - hop) / 2`` on both sides, ``center=False``, Slaney mel, 0–8000 Hz,
    ``ln(clamp(x, 1e-5))``. (HiFi-GAN also peak-normalises waveforms to 0.95 when it
    loads them; that is a data-loading step, not part of the mel.)

    Notebook: 01_phase_and_griffin_lim; 06_melgan and 07_hifigan.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(..., samples)]
        Waveform(s) at ``cfg.sample_rate``.
    cfg : MelConfig
        The mel settings (default: HiFi-GAN's).
    log : bool
        Apply the config's logarithm (default) or return the mel magnitude.

    Returns
    -------
    mel : np.ndarray or torch.Tensor [shape=(..., n_mels, frames)]
        ``frames = cfg.n_frames(samples)``.

    Raises
    ------
    voclab.errors.EmptyAudioError
        The waveform is too short for one frame.

    Examples
    --------
    >>> y = np.zeros(22050, dtype=np.float32)
    >>> mel_spectrogram(y).shape
    (80, 86)
    """
    t, to_numpy = as_tensor(y)
    if t.ndim == 0:
        raise ShapeError("mel_spectrogram() needs a waveform of shape (..., samples).")
    if t.is_complex():
        raise ShapeError("mel_spectrogram() takes a real waveform, not an STFT.")
    t = t.to(_real_dtype(t))
    n = t.shape[-1]
    pad = (cfg.n_fft - cfg.hop_length) // 2
    reflect_pad = cfg.n_fft // 2 if cfg.center else pad  # reflect padding needs more samples than that
    shortest = max(1 if cfg.center else cfg.hop_length, reflect_pad + 1 if cfg.pad_mode == "reflect" else 1)
    if n < shortest:
        raise EmptyAudioError(
            f"a waveform of {n} samples is too short for this mel (n_fft={cfg.n_fft}, "
            f"hop_length={cfg.hop_length}, center={cfg.center}); pass at least {shortest} samples."
        )
    if not cfg.center:
        batch_shape = t.shape[:-1]
        flat = t.reshape(-1, 1, n)  # (batch, 1, samples): F.pad's reflect wants 3-D
        flat = torch.nn.functional.pad(flat, (pad, pad), mode=cfg.pad_mode)
        t = flat.reshape(*batch_shape, flat.shape[-1])  # (..., padded samples)
    S = stft(
        t,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        center=cfg.center,
        pad_mode=cfg.pad_mode,
    )  # (..., freq, frames)
    magnitude = torch.sqrt(S.real.square() + S.imag.square() + cfg.magnitude_eps)
    mel = _on(_mel_basis_np(cfg), magnitude) @ magnitude  # (..., n_mels, frames)
    if log:
        mel = log_compress(mel, cfg)
    return as_input_kind(mel, to_numpy)


def mel_to_linear(mel, cfg: MelConfig = MelConfig()):
    """Estimate a linear-frequency magnitude from a mel magnitude with the pseudo-inverse.

    The mel filterbank ``M`` (``n_mels × n_freq``) has far fewer rows than columns, so
    ``M x = mel`` has infinitely many solutions; the Moore-Penrose pseudo-inverse picks
    the one with the smallest energy, and negative values (which a magnitude cannot
    have) are set to zero. The result is smooth across frequency — harmonics above a
    few hundred Hz are blurred — which is one reason Griffin-Lim from mels sounds worse
    than from linear magnitudes (MelGAN paper: MOS 1.57).

    Notebook: 01_phase_and_griffin_lim (exercise ``mel_to_linear``).

    Parameters
    ----------
    mel : np.ndarray or torch.Tensor [shape=(..., n_mels, frames)]
        Mel *magnitude* (undo the log first with :func:`log_decompress`).
    cfg : MelConfig

    Returns
    -------
    magnitude : np.ndarray or torch.Tensor [shape=(..., 1 + n_fft // 2, frames)]

    Examples
    --------
    >>> cfg = MelConfig()
    >>> mel = np.ones((80, 10), dtype=np.float32)
    >>> mel_to_linear(mel, cfg).shape
    (513, 10)
    """
    t, to_numpy = as_tensor(mel)
    if t.ndim < 2 or t.shape[-2] != cfg.n_mels:
        raise ShapeError(
            f"expected a mel of shape (..., n_mels={cfg.n_mels}, frames), got "
            f"{tuple(t.shape)}. Is it transposed, or made with another n_mels?"
        )
    linear = (_on(_mel_pinv_np(cfg), t) @ t.to(_real_dtype(t))).clamp(min=0.0)
    return as_input_kind(linear, to_numpy)
