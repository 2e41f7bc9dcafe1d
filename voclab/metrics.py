"""Distances between spectrograms and between waveforms, for listening tests that have numbers.

Notebook: 01_phase_and_griffin_lim (spectral convergence, log-spectral distance);
06 and 07 (log-mel L1, multi-resolution STFT distance); 08 (the shoot-out).
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import ShapeError
from .spectral import MelConfig, as_tensor, mel_spectrogram, stft

__all__ = [
    "spectral_convergence",
    "log_spectral_distance",
    "log_mel_l1",
    "multi_resolution_stft_distance",
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
