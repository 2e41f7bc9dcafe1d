"""Exercise checks of notebook 05, GANSynth and instantaneous frequency.

The learner writes the instantaneous frequency of a phase image and its inverse, GANSynth's
mel-IF conversion both ways, pixel norm and the progressive fade-in of the generator's
pictures. The references are :mod:`voclab.specgram`'s and :mod:`voclab.models.gansynth`'s own
functions.

* ``instantaneous_frequency`` and ``phase_from_if`` take numpy phase images ``(..., frames,
  bins)``; the cases include phases that wrap (steps past ±π), a frame axis other than −2
  and a batch axis, so a difference along frequency, a missing ÷π or ×π, a dropped frame 0
  and a difference without the wrap are each told apart and named.
* ``specgram_to_mel`` and ``mel_to_specgram`` (references :func:`voclab.specgram.linear_to_mel`
  and :func:`~voclab.specgram.mel_to_linear`; notebook 01 has its own ``mel_to_linear``) are
  checked on small course-sized images (``SpecgramConfig.preset("course")`` with 64 or 128
  mel bands); the named mistakes are the
  magnitude taken through the matrix instead of the power, the IF averaged directly instead
  of the running phase, a missing log epsilon and a pseudo-inverse instead of the official
  normalised transpose.
* ``pixel_norm`` and ``fade_in`` take torch tensors ``(batch, channels, height, width)``.

Every exercise also has hidden inputs (``hidden_cases``, run only by ``voclab grade``): other
sizes, axes and configs, and inputs that tell apart a wrong answer the public ones let through
(frame 0 wrapped or clipped, a hard-coded log epsilon).

Notebook: 05_gansynth.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from .. import specgram
from ..models import gansynth
from . import Case, Exercise, register

NOTEBOOK = "05_gansynth"

_TOLERANCE = dict(rtol=1e-5, atol=1e-6)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# =========================================================================== exercise 1: instantaneous_frequency


def _wrap(x):
    return np.mod(x + np.pi, 2 * np.pi) - np.pi


def _phase_of_tones(frames: int, bins: int, seed: int) -> np.ndarray:
    """Wrapped phases that advance by a steady step per bin (a tone), plus a little jitter."""
    rng = _rng(seed)
    steps = rng.uniform(-3.0, 3.0, bins)                          # radians per frame
    start = rng.uniform(-np.pi, np.pi, bins)
    unwrapped = start + np.arange(frames)[:, None] * steps + 0.05 * rng.standard_normal((frames, bins))
    return _wrap(unwrapped)


def _if_cases():
    return [
        Case("a 3-frame, 1-bin phase that wraps from 3.0 to −3.0 (a step of +0.28 rad)",
             (np.array([[3.0], [-3.0], [-0.5]]),)),
        Case("16 frames × 8 bins of steady tones (wrapped phases)", (_phase_of_tones(16, 8, 1),)),
        Case("a batch of 2 images, 12 frames × 6 bins", (np.stack([_phase_of_tones(12, 6, 2),
                                                                   _phase_of_tones(12, 6, 3)]),)),
        Case("time_axis=-1: an image of 6 bins × 10 frames (frames last)",
             (_phase_of_tones(10, 6, 4).T,), dict(time_axis=-1)),
    ]


def _if_along_frequency(phase, time_axis=-2):
    other = -1 if time_axis == -2 else -2
    return specgram.instantaneous_frequency(phase, time_axis=other)


def _if_no_pi(phase, time_axis=-2):
    return specgram.instantaneous_frequency(phase, time_axis=time_axis) * np.pi


def _if_frame0_dropped(phase, time_axis=-2):
    step = _wrap(np.diff(phase, axis=time_axis))
    return step / np.pi


def _if_frame0_zero(phase, time_axis=-2):
    step = _wrap(np.diff(phase, axis=time_axis))
    zero = np.zeros_like(np.take(phase, [0], axis=time_axis))
    return np.concatenate([zero, step], axis=time_axis) / np.pi


def _if_no_unwrap(phase, time_axis=-2):
    step = np.diff(phase, axis=time_axis)
    first = np.take(phase, [0], axis=time_axis)
    return np.concatenate([first, step], axis=time_axis) / np.pi


def _unwrapped_climb(frames: int, bins: int, seed: int) -> np.ndarray:
    """An unwrapped phase: every bin starts at 10 rad and climbs by 0.5 to 3 rad a frame (< π: no wrap)."""
    steps = _rng(seed).uniform(0.5, 3.0, (frames - 1, bins))
    return 10.0 + np.concatenate([np.zeros((1, bins)), np.cumsum(steps, axis=0)])


def _if_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a single frame, a positive time_axis and an
    unwrapped phase whose frame 0 lies beyond ±π. The last catches wrapping frame 0 with the steps
    (``wrap(np.diff(phase, prepend=0)) / π``), which the wrapped public phases cannot tell apart."""
    return [
        Case("a single frame, 5 bins (only frame 0's phase / π)", (_rng(8).uniform(-np.pi, np.pi, (1, 5)),)),
        Case("time_axis=1: a batch of 3 images, 9 frames × 4 bins (the frame axis by its positive index)",
             (np.stack([_phase_of_tones(9, 4, s) for s in (9, 10, 11)]),), dict(time_axis=1)),
        Case("an unwrapped phase from 10 rad up (frame 0 stays 10/π: do not wrap it)", (_unwrapped_climb(8, 3, 12),)),
    ]


register(Exercise(
    name="instantaneous_frequency",
    notebook=NOTEBOOK,
    reference=specgram.instantaneous_frequency,
    cases=_if_cases,
    hidden_cases=_if_hidden_cases,
    reference_name="voclab.specgram.instantaneous_frequency",
    hint="step = np.diff(np.unwrap(phase, axis=time_axis), axis=time_axis); put frame 0's own phase "
         "in front (np.take(phase, [0], axis=time_axis)) and divide everything by π.",
    compare=_TOLERANCE,
    mistakes=[
        (_if_along_frequency,
         "you differenced along frequency (from bin to bin); the instantaneous frequency is the "
         "phase's step from frame to frame: the difference along time_axis"),
        (_if_no_pi,
         "the values are π times too large: GANSynth keeps the IF in units of π (÷π), so that "
         "every step lies in [−1, 1]"),
        (_if_frame0_dropped,
         "frame 0 is missing: np.diff gives one frame fewer; put frame 0's own phase (÷π) in "
         "front, so phase_from_if can start the running sum from it"),
        (_if_frame0_zero,
         "frame 0 is zero: keep frame 0's own phase (÷π) there — without it the inverse starts "
         "every bin at phase 0"),
        (_if_no_unwrap,
         "some steps lie outside [−π, π]: the phase was differenced without unwrapping. A jump "
         "from +3.0 to −3.0 is a step of +0.28 rad, not −6.0: unwrap first (or wrap each step)"),
    ],
))


# =========================================================================== exercise 2: phase_from_if


def _phase_from_if_cases():
    return [
        Case("a 3-frame, 1-bin IF [3/π, 0.09, 0.8]",
             (np.array([[3.0 / np.pi], [0.0901], [0.7958]]),)),
        Case("16 frames × 8 bins (the IF of steady tones)",
             (specgram.instantaneous_frequency(_phase_of_tones(16, 8, 5)),)),
        Case("a batch of 2 images, 12 frames × 6 bins",
             (_rng(6).uniform(-1, 1, (2, 12, 6)),)),
        Case("time_axis=-1: an image (6 bins, 10 frames)", (_rng(7).uniform(-1, 1, (6, 10)),),
             dict(time_axis=-1)),
    ]


def _pf_no_pi(ifreq, time_axis=-2):
    return specgram.phase_from_if(ifreq, time_axis=time_axis) / np.pi


def _pf_along_frequency(ifreq, time_axis=-2):
    other = -1 if time_axis == -2 else -2
    return specgram.phase_from_if(ifreq, time_axis=other)


def _pf_from_zero(ifreq, time_axis=-2):
    phase = specgram.phase_from_if(ifreq, time_axis=time_axis)
    return phase - np.take(phase, [0], axis=time_axis)


def _pf_wrapped(ifreq, time_axis=-2):
    return _wrap(specgram.phase_from_if(ifreq, time_axis=time_axis))


def _phase_from_if_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a single frame, a positive time_axis and an IF
    whose frame 0 (an initial phase of 10 rad, / π) lies beyond 1. The last catches an IF clipped
    into [−1, 1] before the sum, which the public IFs (all within [−1, 1]) cannot tell apart."""
    return [
        Case("a single frame, 5 bins (the initial phase only)", (_rng(13).uniform(-1, 1, (1, 5)),)),
        Case("time_axis=1: a batch of 3, 9 frames × 4 bins (the frame axis by its positive index)",
             (_rng(14).uniform(-1, 1, (3, 9, 4)),), dict(time_axis=1)),
        Case("the IF of a phase that starts at 10 rad (frame 0 = 10/π, beyond 1: do not clip it)",
             (specgram.instantaneous_frequency(_unwrapped_climb(8, 3, 15)),)),
    ]


register(Exercise(
    name="phase_from_if",
    notebook=NOTEBOOK,
    reference=specgram.phase_from_if,
    cases=_phase_from_if_cases,
    hidden_cases=_phase_from_if_hidden_cases,
    reference_name="voclab.specgram.phase_from_if",
    hint="np.cumsum(ifreq * np.pi, axis=time_axis): a running sum along time, in radians.",
    compare=_TOLERANCE,
    mistakes=[
        (_pf_no_pi,
         "the phase is π times too small: the IF is in units of π, multiply by π before summing"),
        (_pf_along_frequency,
         "you summed along frequency; the phase is the running sum of the IF along time "
         "(time_axis)"),
        (_pf_from_zero,
         "every bin starts at phase 0: frame 0 of the IF holds the initial phase / π — include it "
         "in the running sum (np.cumsum, not a sum of frames 1, 2, …)"),
        (_pf_wrapped,
         "you wrapped the result into [−π, π]: that is the same phase modulo 2π, but the reference "
         "(and np.unwrap) gives the unwrapped running sum — leave it unwrapped"),
    ],
))


# =========================================================================== exercises 3-4: specgram_to_mel, mel_to_specgram


def _mel_config(mel_bins: int, linear: specgram.SpecgramConfig | None = None, **changes) -> specgram.SpecgramConfig:
    """``linear`` (default: the course preset) with ``mel_bins`` bands and any other ``changes``."""
    linear = specgram.SpecgramConfig.preset("course") if linear is None else linear
    return dataclasses.replace(linear, mel_bins=mel_bins, **changes)


def _tiny_linear_config() -> specgram.SpecgramConfig:
    """A config far from every preset: n_fft 128 (64 bins), 16 frames of hop 32, 512 samples."""
    return specgram.SpecgramConfig(n_fft=128, hop_length=32, audio_length=512, frames=16, left_pad=96)


def _linear_image(seed: int, batch: tuple = (), cfg: specgram.SpecgramConfig | None = None) -> np.ndarray:
    """An unnormalised (log-magnitude, IF) image of ``cfg`` (default: the course preset,
    (…, 2, 128, 256)): a decaying note of 5 harmonics."""
    cfg = specgram.SpecgramConfig.preset("course") if cfg is None else cfg
    rng = _rng(seed)
    t = np.arange(cfg.audio_length) / cfg.sample_rate
    clips = []
    for _ in range(int(np.prod(batch)) if batch else 1):
        f0 = rng.uniform(110, 880)
        y = sum(rng.uniform(0.1, 0.5) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6))
                for k in range(1, 6)) * np.exp(-t * rng.uniform(0.5, 3))
        clips.append(y.astype(np.float64))
    image = specgram.denormalise(specgram.to_specgram(np.stack(clips), cfg), cfg)
    return image.reshape(*batch, *image.shape[-3:]) if batch else image[0]


def _mel_cases():
    return [
        Case("a decaying harmonic note, course preset with 128 mel bands",
             (_linear_image(11), _mel_config(128))),
        Case("another note, 64 mel bands", (_linear_image(12), _mel_config(64))),
        Case("a batch of 2 notes, 128 mel bands", (_linear_image(13, (2,)), _mel_config(128))),
    ]


def _mel_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a log_eps other than the official 1e-6, a small
    config far from the presets (64 bins, 16 frames) with 32 and with 64 bands, and two batch axes.
    The first catches a hard-coded ``+ 1e-6`` where the contract says ``cfg.log_eps`` (every public
    config has log_eps = 1e-6)."""
    tiny = _tiny_linear_config()
    return [
        Case("log_eps = 1e-3 (not the official 1e-6: use cfg.log_eps), 128 mel bands",
             (_linear_image(14), _mel_config(128, log_eps=1e-3))),
        Case("a small config: 64 bins, 16 frames, 32 mel bands", (_linear_image(15, (), tiny), _mel_config(32, tiny))),
        Case("two batch axes (2 × 2 notes), small config with as many mel bands as bins (64)",
             (_linear_image(16, (2, 2), tiny), _mel_config(64, tiny))),
    ]


def _mel_image(seed: int, batch: tuple, cfg: specgram.SpecgramConfig) -> np.ndarray:
    """The mel image of ``cfg`` of a note made with cfg's linear settings (mel_bins=None)."""
    linear = dataclasses.replace(cfg, mel_bins=None)
    return specgram.linear_to_mel(_linear_image(seed, batch, linear), cfg)


def _mel_to_specgram_cases():
    return [
        Case("the 128-band mel image of a decaying harmonic note",
             (_mel_image(21, (), _mel_config(128)), _mel_config(128))),
        Case("a 64-band mel image", (_mel_image(22, (), _mel_config(64)), _mel_config(64))),
        Case("a batch of 2 mel images, 128 bands", (_mel_image(23, (2,), _mel_config(128)), _mel_config(128))),
    ]


def _mel_to_specgram_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a log_eps other than the official 1e-6, a small
    config far from the presets (64 bins, 16 frames) with 32 and with 64 bands, and two batch axes.
    The first catches a hard-coded ``+ 1e-6`` where the contract says ``cfg.log_eps`` (every public
    config has log_eps = 1e-6)."""
    tiny = _tiny_linear_config()
    eps_config = _mel_config(128, log_eps=1e-3)
    return [
        Case("log_eps = 1e-3 (not the official 1e-6: use cfg.log_eps), a 128-band mel image",
             (_mel_image(24, (), eps_config), eps_config)),
        Case("a small config: 64 bins, 16 frames, a 32-band mel image",
             (_mel_image(25, (), _mel_config(32, tiny)), _mel_config(32, tiny))),
        Case("two batch axes (2 × 2 mel images), small config with as many mel bands as bins (64)",
             (_mel_image(26, (2, 2), _mel_config(64, tiny)), _mel_config(64, tiny))),
    ]


def _stack(a, b):
    return np.stack([a, b], axis=-3)


def _l2m_magnitude(spec, cfg):
    m = specgram.mel_matrix(cfg)
    mel = specgram.linear_to_mel(spec, cfg)
    return _stack(np.log(np.exp(spec[..., 0, :, :]) @ m + cfg.log_eps), mel[..., 1, :, :])


def _l2m_if_direct(spec, cfg):
    m = specgram.mel_matrix(cfg)
    mel = specgram.linear_to_mel(spec, cfg)
    return _stack(mel[..., 0, :, :], spec[..., 1, :, :] @ m)


def _l2m_no_eps(spec, cfg):
    m = specgram.mel_matrix(cfg)
    mel = specgram.linear_to_mel(spec, cfg)
    with np.errstate(divide="ignore"):
        return _stack(np.log(np.exp(2 * spec[..., 0, :, :]) @ m), mel[..., 1, :, :])


register(Exercise(
    name="specgram_to_mel",
    notebook=NOTEBOOK,
    reference=specgram.linear_to_mel,
    cases=_mel_cases,
    hidden_cases=_mel_hidden_cases,
    reference_name="voclab.specgram.linear_to_mel",
    hint="M = mel_matrix(cfg); channel 0: np.log(np.exp(2 * log_mag) @ M + cfg.log_eps); channel 1: "
         "instantaneous_frequency(phase_from_if(ifreq) @ M); stack them on axis −3.",
    compare=dict(rtol=1e-5, atol=1e-5),
    mistakes=[
        (_l2m_magnitude,
         "channel 0 went through the matrix as a magnitude: GANSynth's mel image is a log *power* "
         "— exp(2 · log-magnitude) @ M, then the log"),
        (_l2m_if_direct,
         "channel 1 is the linear IF averaged by the matrix: average the running phases "
         "(phase_from_if(ifreq) @ M), then take the IF of that again (instantaneous_frequency)"),
        (_l2m_no_eps,
         "no log epsilon: silent bands give log(0) = −∞; add cfg.log_eps inside the log"),
    ],
))


def _m2l_no_half(mel_spec, cfg):
    m_inv = specgram.mel_inverse_matrix(cfg)
    lin = specgram.mel_to_linear(mel_spec, cfg)
    return _stack(np.log(np.exp(mel_spec[..., 0, :, :]) @ m_inv + cfg.log_eps), lin[..., 1, :, :])


def _m2l_pinv(mel_spec, cfg):
    m_pinv = np.linalg.pinv(specgram.mel_matrix(cfg))
    log_magnitude = 0.5 * np.log(np.abs(np.exp(mel_spec[..., 0, :, :]) @ m_pinv) + cfg.log_eps)
    ifreq = specgram.instantaneous_frequency(specgram.phase_from_if(mel_spec[..., 1, :, :]) @ m_pinv)
    return _stack(log_magnitude, ifreq)


def _m2l_transpose(mel_spec, cfg):
    m_t = specgram.mel_matrix(cfg).T
    log_magnitude = 0.5 * np.log(np.exp(mel_spec[..., 0, :, :]) @ m_t + cfg.log_eps)
    ifreq = specgram.instantaneous_frequency(specgram.phase_from_if(mel_spec[..., 1, :, :]) @ m_t)
    return _stack(log_magnitude, ifreq)


register(Exercise(
    name="mel_to_specgram",
    notebook=NOTEBOOK,
    reference=specgram.mel_to_linear,
    cases=_mel_to_specgram_cases,
    hidden_cases=_mel_to_specgram_hidden_cases,
    reference_name="voclab.specgram.mel_to_linear",
    hint="M_inv = mel_inverse_matrix(cfg); channel 0: 0.5 * np.log(np.exp(log_mel_power) @ M_inv + "
         "cfg.log_eps); channel 1: instantaneous_frequency(phase_from_if(mel_if) @ M_inv).",
    compare=dict(rtol=1e-5, atol=1e-5),
    mistakes=[
        (_m2l_no_half,
         "channel 0 is twice the log-magnitude: the mel image holds a log power, and "
         "log |S| = 0.5 · log |S|² — multiply by 0.5"),
        (_m2l_pinv,
         "that is the pseudo-inverse of M; GANSynth's way back is its normalised transpose, "
         "mel_inverse_matrix(cfg) (non-negative, no ringing)"),
        (_m2l_transpose,
         "that is the plain transpose Mᵀ; the official inverse divides each column by how much the "
         "bands overlap there: mel_inverse_matrix(cfg)"),
    ],
))


# =========================================================================== exercise 5: pixel_norm


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _pixel_norm(x, eps=1e-8):
    return gansynth.pixel_norm(x, eps)


def _pixel_norm_cases():
    return [
        Case("a batch of 2, 16 channels, 2 × 16 pixels", (_randn(2, 16, 2, 16, seed=31),)),
        Case("one pixel, channels (3, 4): RMS 3.54", (torch.tensor([[[[3.0]], [[4.0]]]]),)),
        Case("large activations (×1000), 8 channels, 4 × 8 pixels",
             (_randn(3, 8, 4, 8, seed=32, scale=1000.0),)),
        Case("an all-zero picture (eps keeps it finite)", (torch.zeros(1, 4, 2, 3),)),
    ]


def _pixel_norm_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other shapes and scales than the public ones."""
    return [
        Case("latent vectors: a batch of 4, 32 channels, 1 × 1 pixels", (_randn(4, 32, 1, 1, seed=41),)),
        Case("one channel (every pixel becomes ±1)", (_randn(2, 1, 3, 3, seed=42),)),
        Case("tiny activations (×1e-3), 6 channels, 2 × 5 pixels", (_randn(1, 6, 2, 5, seed=43, scale=1e-3),)),
    ]


register(Exercise(
    name="pixel_norm",
    notebook=NOTEBOOK,
    reference=_pixel_norm,
    cases=_pixel_norm_cases,
    hidden_cases=_pixel_norm_hidden_cases,
    reference_name="voclab.models.gansynth.pixel_norm",
    hint="x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps): the mean over the channel "
         "axis (1), one RMS per pixel.",
    compare=dict(rtol=1e-5, atol=1e-6),
    mistakes=[
        (lambda x, eps=1e-8: x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + eps),
         "you normalised each channel over the pixels (dim=(2, 3)); pixel norm scales each "
         "pixel's vector of channels: the mean over dim=1"),
        (lambda x, eps=1e-8: x * torch.rsqrt(x.pow(2).sum(dim=1, keepdim=True) + eps),
         "you divided by the L2 norm (a sum over channels): the result is √C times too small. "
         "Pixel norm uses the root *mean* square: x.pow(2).mean(dim=1)"),
        (lambda x, eps=1e-8: x * torch.rsqrt(x.pow(2).mean(dim=0, keepdim=True) + eps),
         "you normalised across the batch (dim=0): pixel norm uses no batch statistics, only each "
         "pixel's own channels (dim=1)"),
    ],
))


# =========================================================================== exercise 6: fade_in


def _fade_in(previous, new, alpha):
    return torch.lerp(gansynth._upsample(previous), new, torch.as_tensor(alpha, dtype=new.dtype))


def _fade_pair(batch: int, height: int, width: int, seed: int, dtype=torch.float32) -> tuple:
    """A previous picture (batch, 2, height, width) and a new one twice its size, both in tanh's range."""
    return (torch.tanh(_randn(batch, 2, height, width, seed=seed)).to(dtype),
            torch.tanh(_randn(batch, 2, 2 * height, 2 * width, seed=seed + 1)).to(dtype))


def _fade_cases():
    return [
        Case("α = 0: only the upsampled previous picture (2 × 16 → 4 × 32)", (*_fade_pair(1, 2, 16, 41), 0.0)),
        Case("α = 0.3, a batch of 2 (4 × 8 → 8 × 16)", (*_fade_pair(2, 4, 8, 43), 0.3)),
        Case("α = 1: only the new picture", (*_fade_pair(1, 2, 4, 45), 1.0)),
        Case("α = 0.75 as a 0-dim tensor", (*_fade_pair(3, 1, 2, 47), torch.tensor(0.75))),
    ]


def _fade_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): the smallest picture (1 × 1), odd sizes in
    float64, and a course-sized stage (16 × 32 → 32 × 64)."""
    return [
        Case("α = 0.5, a batch of 4 pictures of 1 × 1 → 2 × 2", (*_fade_pair(4, 1, 1, 51), 0.5)),
        Case("float64 pictures, α = 0.9, odd sizes 3 × 5 → 6 × 10",
             (*_fade_pair(2, 3, 5, 53, dtype=torch.float64), 0.9)),
        Case("α = 0.2, a batch of 2, 16 × 32 → 32 × 64 (the course generator's second stage)",
             (*_fade_pair(2, 16, 32, 55), 0.2)),
    ]


def _fade_swapped(previous, new, alpha):
    return _fade_in(previous, new, 1 - torch.as_tensor(alpha))


def _fade_bilinear(previous, new, alpha):
    up = F.interpolate(previous, scale_factor=2, mode="bilinear", align_corners=False)
    return torch.lerp(up, new, torch.as_tensor(alpha, dtype=new.dtype))


def _fade_zeros(previous, new, alpha):
    up = torch.zeros_like(new)
    up[..., ::2, ::2] = previous
    return torch.lerp(up, new, torch.as_tensor(alpha, dtype=new.dtype))


register(Exercise(
    name="fade_in",
    notebook=NOTEBOOK,
    reference=_fade_in,
    cases=_fade_cases,
    hidden_cases=_fade_hidden_cases,
    reference_name="lerp(upsample(previous), new, α) as in voclab.models.gansynth.Generator",
    hint="up = F.interpolate(previous, scale_factor=2, mode='nearest'); return (1 − α) · up + α · new "
         "(torch.lerp(up, new, alpha)).",
    compare=dict(rtol=1e-5, atol=1e-6),
    mistakes=[
        (_fade_swapped,
         "α weighs the wrong picture: at α = 0 the new block is not yet visible — "
         "(1 − α) · upsample(previous) + α · new"),
        (_fade_bilinear,
         "bilinear upsampling; ProGAN and GANSynth upsample by nearest neighbour (each pixel "
         "repeated 2 × 2), as the generator's own blocks do"),
        (_fade_zeros,
         "you spread the previous picture's pixels with zeros between them; upsample by repeating "
         "each pixel 2 × 2 (nearest neighbour)"),
    ],
))
