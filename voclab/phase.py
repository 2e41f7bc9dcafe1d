"""The phase problem: recovering a waveform from an STFT magnitude alone.

A spectrogram keeps ``|S|`` and drops the phase. Not every complex array is the STFT
of some signal: neighbouring frames overlap, so their phases must agree. Griffin-Lim
(Griffin & Lim 1984) alternates two projections — impose the known magnitude, then
make the array *consistent* (the STFT of a real signal, by iSTFT then STFT) — and
each step cannot increase the distance to the set of consistent spectrograms with the
right magnitude. Perraudin, Balazs & Søndergaard (2013) add a momentum term ("fast
Griffin-Lim") that converges much faster; ``momentum=0.99`` is librosa's default.

Notebook: 01_phase_and_griffin_lim.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

from .errors import ConfigError, ShapeError
from .spectral import FramedSTFT, as_input_kind, as_tensor, frame_settings
from .threads import limit_threads, threads_for

__all__ = ["griffin_lim", "inconsistency", "initial_phase"]


def initial_phase(shape, *, init="random", seed: int = 0, dtype=torch.float32, device="cpu"):
    """Starting phase for Griffin-Lim, in radians.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    shape : tuple [shape=(..., freq, frames)]
        Shape of the magnitude.
    init : {"random", "zeros"} or array
        Uniform random phase in [0, 2π) drawn from a generator seeded with ``seed``
        (the same on CPU and GPU), all zeros, or an explicit phase array. A random phase
        is drawn for the whole batch at once, so item ``i`` of a batch gets another phase
        than the same magnitude alone; pass an array to control it per item.
    seed : int
        Seed for ``init="random"``.

    Returns
    -------
    phase : torch.Tensor [shape=shape]
    """
    if isinstance(init, str):
        if init == "zeros":
            return torch.zeros(shape, dtype=dtype, device=device)
        if init == "random":
            generator = torch.Generator().manual_seed(int(seed))
            phase = torch.rand(shape, generator=generator, dtype=dtype) * (2 * np.pi)
            return phase.to(device)
        raise ConfigError(f"init={init!r}: use 'random', 'zeros' or an array of phases.")
    phase, _ = as_tensor(init)
    if phase.is_complex():
        raise ConfigError("init must be a phase in radians (real), not a complex array.")
    try:
        return phase.to(device=device, dtype=dtype).expand(shape)
    except RuntimeError:
        raise ShapeError(
            f"init phase has shape {tuple(phase.shape)}, the magnitude {tuple(shape)}."
        ) from None


def griffin_lim(
    magnitude,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_iter: int = 32,
    momentum: float = 0.99,
    init="random",
    seed: int = 0,
    length: int | None = None,
    center: bool = True,
    return_convergence: bool = False,
):
    """Waveform(s) whose STFT magnitude approximates ``magnitude`` (fast Griffin-Lim).

    Starting from a phase ``φ₀``, each iteration does::

        x      = istft(|S| · e^{iφ})            # impose the magnitude, back to a signal
        C      = stft(x)                         # the nearest consistent spectrogram
        T      = C − momentum / (1 + momentum) · C_previous
        e^{iφ} = T / |T|                         # keep only its phase

    With ``momentum=0`` this is the original algorithm of Griffin & Lim (1984); with
    ``momentum=0.99`` it is the fast Griffin-Lim of Perraudin et al. (2013), the same
    update as ``librosa.griffinlim``. The STFT uses a periodic Hann window and
    ``center=True`` as :func:`voclab.spectral.stft`.

    Notebook: 01_phase_and_griffin_lim (exercises ``griffin_lim`` and ``fast_griffin_lim``).

    Parameters
    ----------
    magnitude : np.ndarray or torch.Tensor [shape=(..., 1 + n_fft // 2, frames)]
        Non-negative STFT magnitude(s); leading axes are a batch. A CUDA tensor is
        processed on its GPU.
    n_fft : int, optional
        Default ``2 * (freq - 1)``.
    hop_length : int, optional
        Default ``win_length // 4``.
    win_length : int, optional
        Default ``n_fft``.
    n_iter : int
        Number of iterations (0 returns the signal made with the initial phase).
    momentum : float
        ≥ 0. Values above 1 are allowed but can diverge (a warning says so).
    init : {"random", "zeros"} or array [shape=(..., freq, frames)]
        Initial phase; see :func:`initial_phase`.
    seed : int
        Seed of the random initial phase: the same seed gives the same result.
    length : int, optional
        Number of output samples.
    center : bool
        Frame convention of the STFT that made ``magnitude``.
    return_convergence : bool
        Also return the spectral convergence ``‖|S| − |STFT(x_i)|‖ / ‖|S|‖`` of the
        estimate after each iteration ``i = 0 … n_iter``.

    Returns
    -------
    y : np.ndarray or torch.Tensor [shape=(..., samples)]
        Same kind (numpy or torch) as ``magnitude``.
    convergence : np.ndarray [shape=(n_iter + 1, ...)], only with ``return_convergence``

    Examples
    --------
    >>> from voclab.spectral import stft
    >>> y = np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)
    >>> mag = np.abs(stft(y, n_fft=512, hop_length=128))
    >>> y_hat = griffin_lim(mag, n_fft=512, hop_length=128, n_iter=32, length=len(y))
    >>> y_hat.shape
    (16000,)
    """
    S, to_numpy = as_tensor(magnitude)
    if S.is_complex():
        raise ShapeError(
            "griffin_lim() takes a magnitude (real, non-negative); you passed a complex "
            "STFT. Use np.abs(S) first."
        )
    if S.ndim < 2:
        raise ShapeError(f"magnitude must have shape (..., freq, frames), got {tuple(S.shape)}.")
    if S.dtype not in (torch.float32, torch.float64):
        S = S.float()
    if torch.any(S < 0):
        raise ShapeError("magnitude has negative values; pass |S| (np.abs of an STFT).")
    if not bool(torch.isfinite(S).all()):
        raise ShapeError("magnitude has NaN or infinite values; clean it first.")
    if n_iter < 0:
        raise ConfigError(f"n_iter must be >= 0, got {n_iter}.")
    if momentum < 0:
        raise ConfigError(f"momentum must be >= 0, got {momentum}.")
    if momentum > 1:
        warnings.warn(f"momentum={momentum} > 1 can make Griffin-Lim diverge.", stacklevel=2)

    n_fft, hop_length, win_length = frame_settings(tuple(S.shape), n_fft, hop_length, win_length)
    framed = FramedSTFT(n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                        center=center, dtype=S.dtype, device=S.device)
    batch_shape = S.shape[:-2]
    phase = initial_phase(tuple(S.shape), init=init, seed=seed, dtype=S.dtype, device=S.device)
    # work in (batch, frames, freq): the layout FramedSTFT computes in, so no transposes per round
    target = S.reshape(-1, *S.shape[-2:]).transpose(1, 2).contiguous()  # (batch, frames, freq)
    phase = phase.reshape(-1, *S.shape[-2:]).transpose(1, 2)  # (batch, frames, freq)
    norm = torch.linalg.vector_norm(target, dim=(-2, -1)).clamp(min=1e-12)
    history = []

    # a few seconds of audio is too little work per call to share among threads (voclab.threads)
    few_threads = limit_threads(threads_for(S.numel())) if S.device.type == "cpu" else contextlib.nullcontext()
    with torch.inference_mode(), few_threads:
        angles = torch.polar(torch.ones_like(target), phase)  # e^{iφ}
        rebuilt = torch.zeros_like(angles)
        keep = momentum / (1 + momentum)
        for _ in range(n_iter):
            previous = rebuilt
            rebuilt = framed.forward(framed.inverse(target * angles))  # nearest consistent STFT
            if return_convergence:
                history.append(_convergence(target, rebuilt, norm))
            # T / |T|, and 0 where T is exactly 0 (silence) instead of NaN
            angles = torch.sgn(rebuilt - keep * previous if momentum else rebuilt)
        y = framed.inverse(target * angles)  # (batch, samples)
        if return_convergence:
            history.append(_convergence(target, framed.forward(y), norm))
        if length is not None:
            y = y[:, :length] if y.shape[-1] >= length else torch.nn.functional.pad(y, (0, length - y.shape[-1]))
    y = y.reshape(*batch_shape, y.shape[-1])  # (..., samples)
    y = as_input_kind(y, to_numpy)
    if return_convergence:
        return y, np.stack(history).reshape(n_iter + 1, *batch_shape)
    return y


def inconsistency(
    spectrogram,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    length: int | None = None,
    center: bool = True,
):
    """How far a complex spectrogram is from being the STFT of any signal.

    Frames overlap, so the STFT of a signal is redundant: neighbouring frames share samples
    and their coefficients must agree. A complex array ``X`` that is the STFT of some signal
    is called *consistent*. Any other array — a magnitude with a made-up phase, or with the
    phase of another signal — has no signal behind it. The inverse STFT still returns one
    (the least-squares signal, Griffin & Lim 1984), but the STFT of that signal is another
    array, ``C = stft(istft(X))``: the consistent array nearest ``X``. This function measures
    the gap as the relative Frobenius distance, in the same form as spectral convergence::

        inconsistency(X) = ‖ stft(istft(X)) − X ‖_F / ‖ X ‖_F

    It is 0 for the STFT of a signal (about 1e-7 in float32: rounding), and the spectral
    convergence of ``istft(X)`` against ``|X|`` is never larger (``||a| − |b|| ≤ |a − b|``
    for every coefficient), so a phase that gives a large inconsistency cannot give back the
    magnitude it was paired with. Griffin & Lim (1984) prove that their algorithm never
    increases the distance between ``X_n = |S| e^{iφ_n}`` and the STFT of ``istft(X_n)``:
    ``inconsistency(X_n)`` does not grow from one round to the next. (Their proof sums over
    the full two-sided spectrum; the one-sided sum here counts the 0 Hz and Nyquist bins
    half as much as the others, and ``tests/test_phase.py`` finds it non-increasing too.)

    Notebook: 01_phase_and_griffin_lim (exercise ``inconsistency``).

    Parameters
    ----------
    spectrogram : complex np.ndarray or torch.Tensor [shape=(..., 1 + n_fft // 2, frames)]
        Leading axes are a batch.
    n_fft : int, optional
        Default ``2 * (freq - 1)``.
    hop_length : int, optional
        Default ``win_length // 4``.
    win_length : int, optional
        Default ``n_fft``.
    length : int, optional
        Number of samples of the signals the spectrogram is compared with. With
        ``center=True``, ``frames`` frames come from any signal of ``(frames - 1) * hop_length``
        to ``frames * hop_length - 1`` samples; the default is the longest, so that the STFT
        of any signal with this many frames is consistent. (``istft`` without ``length``
        returns the shortest, and drops the end of the signal that the last frame still holds.)
        With ``center=False`` the frames decide the signal and ``length`` is only checked.
    center : bool
        Frame convention of the STFT (:func:`voclab.spectral.stft`, periodic Hann window,
        zero padding).

    Returns
    -------
    inconsistency : float, or np.ndarray [shape=(...)] for a batch, or a torch.Tensor for a tensor
        0 for an all-zero spectrogram.

    Raises
    ------
    voclab.errors.ShapeError
        A real array (a magnitude), NaN or Inf, ``freq`` that does not fit ``n_fft``, or a
        ``length`` that gives another number of frames.

    Examples
    --------
    >>> from voclab.spectral import stft
    >>> y = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
    >>> S = stft(y, n_fft=512, hop_length=128)
    >>> inconsistency(S, length=len(y)) < 1e-5
    True
    >>> random_phase = np.exp(2j * np.pi * np.random.default_rng(1).random(S.shape))
    >>> round(inconsistency(np.abs(S) * random_phase, length=len(y)), 1)
    0.9
    """
    X, to_numpy = as_tensor(spectrogram)
    if not X.is_complex():
        raise ShapeError(
            "inconsistency() takes a complex spectrogram; you passed a real array. A magnitude "
            "alone is neither consistent nor not: pair it with a phase first, "
            "voclab.spectral.polar(magnitude, phase)."
        )
    if X.ndim < 2:
        raise ShapeError(f"the spectrogram must have shape (..., freq, frames), got {tuple(X.shape)}.")
    if not bool(torch.isfinite(torch.view_as_real(X)).all()):
        raise ShapeError("the spectrogram has NaN or infinite values; clean it first.")
    n_fft, hop_length, win_length = frame_settings(tuple(X.shape), n_fft, hop_length, win_length)
    n_frames = X.shape[-1]
    longest = n_frames * hop_length - 1 if center else (n_frames - 1) * hop_length + n_fft
    length = longest if length is None else int(length)
    frames_of_length = 1 + length // hop_length if center else 1 + (length - n_fft) // hop_length
    if length <= 0 or frames_of_length != n_frames:
        shortest = (n_frames - 1) * hop_length if center else (n_frames - 1) * hop_length + n_fft
        raise ShapeError(
            f"a signal of length={length} samples has {max(frames_of_length, 0)} frames with "
            f"hop_length={hop_length}, this spectrogram {n_frames}: pass the length of the signal "
            f"it was made from ({shortest} to {longest} samples give {n_frames} frames)."
        )
    dtype = torch.float64 if X.dtype == torch.complex128 else torch.float32
    X = X.to(torch.complex128 if dtype == torch.float64 else torch.complex64)
    # frames without centring: the least-squares signal before the centre padding is cut off
    framed = FramedSTFT(n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                        center=False, dtype=dtype, device=X.device)
    batch_shape = X.shape[:-2]
    flat = X.reshape(-1, *X.shape[-2:]).transpose(1, 2)  # (batch, frames, freq)
    with torch.inference_mode():
        y = framed.inverse(flat)  # (batch, (frames - 1) * hop + n_fft): padding included
        if center:  # the padding of a centred STFT is zeros: only `length` samples are free
            keep = torch.zeros(y.shape[-1], dtype=dtype, device=y.device)
            keep[n_fft // 2: n_fft // 2 + length] = 1
            y = y * keep
        rebuilt = framed.forward(y)  # (batch, frames, freq): the nearest consistent array
        error = torch.linalg.vector_norm(rebuilt - flat, dim=(-2, -1))
        norm = torch.linalg.vector_norm(flat, dim=(-2, -1)).clamp(min=1e-30)
        value = (error / norm).reshape(batch_shape)  # (...)
    if to_numpy:
        value = value.cpu().numpy()
        return float(value) if value.ndim == 0 else value
    return value


def _convergence(S: torch.Tensor, rebuilt: torch.Tensor, norm: torch.Tensor) -> np.ndarray:
    error = torch.linalg.vector_norm(S - rebuilt.abs(), dim=(-2, -1))
    return (error / norm).cpu().numpy()
