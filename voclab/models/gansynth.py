"""GANSynth (Engel et al., ICLR 2019): a progressive GAN that paints spectrograms of notes, one pitch at a time.

WaveGAN draws the waveform itself; GANSynth draws a *picture* of it — two channels, the log
magnitude and the instantaneous frequency (IF, the time derivative of the unwrapped phase) of
an STFT, 128 frames × 1024 frequency bins for 4 s of a note at 16 kHz (the "H" presets of
:mod:`voclab.specgram`; with mel-scaled bins, "H-mel", the paper's best model) — and a
fixed inverse turns the picture into audio. Because an STFT frame spans many periods of a
note, a steady tone is a steady horizontal line of constant IF, easy for a convolution to
make; a waveform's phase has to be right at every sample.

The network is the progressive GAN of Karras et al. (ICLR 2018), conditioned on pitch:

* **Progressive growing.** Training starts at 2 × 16 pixels and doubles both axes six times
  (7 resolutions, to 128 × 1024). Each new resolution is *faded in*: for 800 k images the
  generator's picture is ``α · new + (1 − α) · upsample(previous)`` with α rising from 0 to 1,
  and the discriminator's input path blends the same way; then 800 k images at the new size
  with α = 1 (:func:`stage_at`). Real pictures are box-downsampled to the current size and
  blended with the same α (:func:`blend_real`).
* **Generator.** ``concat(z ~ N(0, I)^256, one-hot pitch)`` (61 pitches, MIDI 24–84) →
  pixel norm → a (2, 16) convolution of the zero-padded 1 × 1 input (in effect a dense layer
  to 2 × 16 × 256) → a 3 × 3 convolution; each further block: nearest-neighbour × 2 and two
  3 × 3 convolutions; every convolution is followed by LeakyReLU(0.2) and **pixel norm**
  (:func:`pixel_norm`: each pixel's channel vector scaled to unit RMS). A 1 × 1 "to RGB"
  convolution with tanh turns a block's features into the 2-channel picture.
* **Discriminator.** The mirror image: a 1 × 1 "from RGB" convolution, then per block two
  3 × 3 convolutions and 2 × 2 average pooling (LeakyReLU, no normalisation); at 2 × 16 the
  **minibatch standard deviation** (:func:`minibatch_stddev`: the mean over all features of
  their standard deviation across the batch, appended as one constant channel, so the critic
  can see a batch that lacks variety), a 3 × 3 and a (2, 16) convolution to 256 features; from
  those one score and, AC-GAN style, 61 pitch logits.
* **Equalised learning rate** (:class:`EqualizedConv2d`, :class:`EqualizedLinear`): weights
  are stored as N(0, 1) and multiplied at run time by He's constant ``sqrt(2 / fan_in)``
  (``sqrt(1 / fan_in)`` in the output layers: "to RGB", the score, the pitch logits), so
  Adam, which normalises each weight's step, moves every layer at the same relative speed.
* **Channels** ``min(4096 / 2^b, 256)`` for block b = 1 … 7: 256, 256, 256, 256, 128, 64, 32
  (:func:`num_filters`; the discriminator's last convolution has ``num_filters(0)`` = 256).
* **Training** (:func:`train_step`): WGAN-GP (λ = 10, :func:`progressive_gradient_penalty`)
  plus a drift term ``0.001 · E[D(x)²]`` that keeps the critic's scores near zero, plus the
  pitch classifier's cross-entropy weighted 10 (the paper's config,
  ``configs/mel_prog_hires.py``; the library's default weight is 1); Adam 8e-4 (library
  default 4e-4), β = (0, 0.99), batch 8, one critic update per generator update; an
  exponential moving average of the generator's weights (decay 0.999) is the generator one
  listens to.

At the paper's size the generator has **7,311,246** parameters and the discriminator
**6,831,230** (:func:`count_parameters` on the networks built here; ``tests/test_gansynth.py``
counts the same from the official layer list).

Faithful to the official TensorFlow code (``magenta/models/gansynth/lib``: ``networks.py``,
``layers.py``, ``network_functions.py``, ``model.py``, ``train_util.py``): the layers, their
order (LeakyReLU then pixel norm), the He gains, the zero-padded first convolution, the
whole-batch minibatch deviation (``sqrt(var + 1e-6)``, population variance), the losses and
their weights — the gradient penalty measured, as there, on the full-size picture in the data's
own units (:func:`progressive_gradient_penalty`) — the stage schedule, the generator's EMA.
Where this file differs:

* the official networks always work at the final 128 × 1024: the generator upsamples its
  picture to full size and the discriminator box-downsamples it again. Here both work at the
  current stage's size and :func:`generate_specgram` upsamples at the end. Nearest-neighbour
  upsampling followed by box downsampling by the same factor is the identity, so the scores
  are the same, without the cost of full-size pictures in the early stages (the penalty,
  whose gradient the official code takes at full size, is rescaled to the same number);
* the official code trains each stage as a new TensorFlow graph and does not restore Adam's
  moments across stages; here :func:`train_step` clears them where a stage (a stable or a
  fade-in period) begins (``reset_adam_per_stage``), so training resumes mid-stage from the
  counter of images seen, which the generator keeps as a buffer (it is in every checkpoint);
* the official session runs the generator update before the critic update of each step
  (tf-gan's sequential hooks); here the critic goes first, as in :mod:`~voclab.models.wavegan`;
  over a run this is the same alternation;
* the pitch classifier of the critic learns from real notes only, as in the official code
  (the generator is pushed to make notes it classifies as their pitch); AC-GAN's paper also
  trains it on generated ones.

The model follows the protocol of :mod:`voclab.models` with ``KIND = "pitched"``: a
*latent* here is the noise and one uniform number that picks the pitch from the training
pitch histogram (:func:`sample_latents`, :func:`pitches_from_draws`), so a seed fixes a note
and its pitch, and ``validation_audio(generator, z)`` works as for WaveGAN; ``pitch=`` asks
for a pitch instead (``voclab generate --pitch 60``). :mod:`voclab.train` feeds it the notes
of a folder with NSynth's labels (:class:`voclab.datasets.LabelledNotes`) and calls
:func:`set_pitch_histogram` with their pitches before the first step. The histogram travels in the generator (a buffer, set by
:func:`set_pitch_histogram`), so generating needs no training data. Batches are
``{"spec": (B, 2, frames, bins), "pitch": (B,)}``: normalised pictures and MIDI pitches.

Notebook: 05_gansynth.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError, ShapeError
from . import frozen
from .wavegan import discriminator_loss, generator_loss, gradient_penalty

__all__ = [
    "KIND",
    "Config",
    "Discriminator",
    "EqualizedConv2d",
    "EqualizedLinear",
    "Generator",
    "batches_per_step",
    "blend_real",
    "build",
    "build_generator",
    "count_parameters",
    "generate_specgram",
    "latent_pitches",
    "make_optimizers",
    "minibatch_stddev",
    "num_filters",
    "pitches_from_draws",
    "pixel_norm",
    "progressive_gradient_penalty",
    "sample_latents",
    "sample_pitches",
    "set_pitch_histogram",
    "stage_at",
    "train_step",
    "update_ema",
    "validation_audio",
]

#: What :mod:`voclab.train` and :mod:`voclab.checkpoint` read: latents and a pitch in, audio out, no mel.
KIND = "pitched"

#: Slope of every LeakyReLU (TensorFlow's ``tf.nn.leaky_relu`` default, which the official code uses).
LRELU_SLOPE = 0.2

#: Channels of the picture: log magnitude and instantaneous frequency.
SPEC_CHANNELS = 2


# --------------------------------------------------------------------------- config


@dataclass
class Config:
    """GANSynth's architecture, schedule, training and validation settings (the paper's, by default).

    Notebook: 05_gansynth.

    Parameters
    ----------
    specgram : str or dict
        The :mod:`voclab.specgram` preset of the pictures (``"H-mel"``: the paper's best,
        128 frames × 1024 mel bins) or its settings; its shape must be :attr:`final_shape`
        (:meth:`specgram_config` checks it, as ``voclab train`` does before any work;
        :func:`validation_audio`'s inverse refuses another).
    sample_rate : int
        Rate of the notes (16000).
    slice_len : int
        Samples per note (64000: 4 s at 16 kHz), the specgram's ``audio_length``; what validation compares
        generated audio with.
    latent_dim : int
        Size of the noise ``z ~ N(0, I)`` (256).
    pitch_min, pitch_max : int
        MIDI range of the pitch classes (24 … 84: 61 classes, the NSynth subset of the paper).
    start_shape : tuple of int
        (frames, bins) of the first resolution ((2, 16); the official low-resolution "L"
        pictures, 256 × 512, start at (4, 8)).
    num_resolutions : int
        Resolutions, each twice the previous along both axes (7: 2 × 16 … 128 × 1024). A course
        config stops earlier, with a smaller picture.
    fmap_base, fmap_decay, fmap_max : float, float, int
        Channels of block b: ``min(fmap_base / 2^(b · fmap_decay), fmap_max)`` (4096, 1, 256).
    kernel_size : int
        Of the hidden convolutions (3).
    gp_lambda : float
        Weight of WGAN-GP's gradient penalty (10).
    normaliser_slopes : tuple of float
        Slopes of the pictures' normaliser, (log magnitude, IF): the official prespecified
        (0.0661371661726, 0.8), those of :mod:`voclab.specgram`'s presets. The penalty is
        measured in de-normalised units, as the official code measures it
        (:func:`progressive_gradient_penalty`).
    drift_weight : float
        Weight of ``E[D(x)²]`` over real pictures (0.001).
    ac_weight : float
        Weight of the pitch classifier's cross-entropy in both networks' losses (10, the paper's
        config; the official library's default is 1).
    learning_rate : float
        Adam's rate for both networks (8e-4, the paper's config; the library's default is 4e-4).
    betas : tuple of float
        Adam's betas ((0, 0.99)).
    batch_size : int
        Real pictures per step, and generated ones (8).
    ema_decay : float
        Decay of the moving average of the generator's weights that is listened to (0.999); 0: none.
    stable_images, fade_images : int
        Images seen in each stable stage and in each fade-in (800 000 each).
    total_images : int
        Images of the whole run (11 000 000: the last resolution trains on after its fade-in).
    reset_adam_per_stage : bool
        Start Adam afresh where each stable or fade-in period begins, as the official code does.
    preview_n : int
        Fixed latents (seeds 0 … preview_n − 1) whose audio each validation writes.
    ndb_samples : int
        Generated notes scored with NDB at each validation.
    ndb_bins : int
        k of NDB (50).

    Raises
    ------
    voclab.errors.ConfigError
        A size, weight or range out of bounds.

    Examples
    --------
    >>> cfg = Config()
    >>> cfg.final_shape, cfg.n_pitches, cfg.channels
    ((128, 1024), 61, [256, 256, 256, 256, 128, 64, 32])
    """

    specgram: str | dict = "H-mel"
    sample_rate: int = 16000
    slice_len: int = 64000
    latent_dim: int = 256
    pitch_min: int = 24
    pitch_max: int = 84
    start_shape: tuple[int, int] = (2, 16)
    num_resolutions: int = 7
    fmap_base: float = 4096.0
    fmap_decay: float = 1.0
    fmap_max: int = 256
    kernel_size: int = 3
    gp_lambda: float = 10.0
    normaliser_slopes: tuple[float, float] = (0.0661371661726, 0.8)
    drift_weight: float = 0.001
    ac_weight: float = 10.0
    learning_rate: float = 8e-4
    betas: tuple[float, float] = (0.0, 0.99)
    batch_size: int = 8
    ema_decay: float = 0.999
    stable_images: int = 800_000
    fade_images: int = 800_000
    total_images: int = 11_000_000
    reset_adam_per_stage: bool = True
    preview_n: int = 8
    ndb_samples: int = 1000
    ndb_bins: int = 50

    def __post_init__(self):
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives lists
        self.start_shape = tuple(int(s) for s in self.start_shape)
        self.normaliser_slopes = tuple(float(a) for a in self.normaliser_slopes)
        problems = []
        for name in ("sample_rate", "slice_len", "latent_dim", "num_resolutions", "fmap_max", "kernel_size",
                     "batch_size", "stable_images", "total_images", "preview_n", "ndb_samples"):
            if not getattr(self, name) >= 1:
                problems.append(f"{name} must be at least 1 (got {getattr(self, name)})")
        if len(self.start_shape) != 2 or min(self.start_shape) < 1:
            problems.append(f"start_shape must be two positive sizes (frames, bins), got {self.start_shape}")
        if self.pitch_max < self.pitch_min:
            problems.append(f"pitch_max ({self.pitch_max}) must not be below pitch_min ({self.pitch_min})")
        if self.kernel_size % 2 == 0:
            problems.append(f"kernel_size must be odd (same padding), got {self.kernel_size}")
        if self.fmap_base <= 0 or self.fmap_decay < 0:
            problems.append("fmap_base must be positive and fmap_decay >= 0")
        if self.fade_images < 0:
            problems.append(f"fade_images must be >= 0 (got {self.fade_images})")
        if self.learning_rate <= 0 or min(self.gp_lambda, self.drift_weight, self.ac_weight) < 0:
            problems.append("learning_rate must be positive and gp_lambda, drift_weight, ac_weight >= 0")
        if len(self.normaliser_slopes) != 2 or not all(a > 0 for a in self.normaliser_slopes):
            problems.append(f"normaliser_slopes must be two positive numbers, got {self.normaliser_slopes}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas must be two numbers in [0, 1), got {self.betas}")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"ema_decay must lie in [0, 1) (got {self.ema_decay}; 0 turns the average off)")
        if self.ndb_bins < 2:
            problems.append(f"ndb_bins must be at least 2 (got {self.ndb_bins})")
        if not isinstance(self.specgram, (str, dict)):
            problems.append(f"specgram must be a preset name or a dict of settings, got {type(self.specgram).__name__}")
        if problems:
            raise ConfigError("Invalid GANSynth Config: " + "; ".join(problems) + ".")

    @property
    def n_pitches(self) -> int:
        """Pitch classes: ``pitch_max − pitch_min + 1`` (61)."""
        return self.pitch_max - self.pitch_min + 1

    @property
    def channels(self) -> list[int]:
        """Channels of each resolution, coarsest first (:func:`num_filters` of blocks 1 … num_resolutions)."""
        return [num_filters(b, self.fmap_base, self.fmap_decay, self.fmap_max)
                for b in range(1, self.num_resolutions + 1)]

    def shape_at(self, stage: int) -> tuple[int, int]:
        """(frames, bins) of the pictures at resolution ``stage`` (0: :attr:`start_shape`)."""
        if not 0 <= stage < self.num_resolutions:
            raise ConfigError(f"stage must be in 0 … {self.num_resolutions - 1}, got {stage}.")
        return self.start_shape[0] * 2 ** stage, self.start_shape[1] * 2 ** stage

    @property
    def final_shape(self) -> tuple[int, int]:
        """(frames, bins) of the finished model's pictures ((128, 1024))."""
        return self.shape_at(self.num_resolutions - 1)

    def specgram_config(self):
        """The :class:`~voclab.specgram.SpecgramConfig` of :attr:`specgram`, checked against :attr:`final_shape`.

        The networks are built from ``start_shape`` and ``num_resolutions`` alone, so a preset
        of another shape would only fail at the first real picture; :mod:`voclab.train` and
        ``voclab generate`` ask here first. (``Config()`` itself accepts any pair, so the
        networks can be tried at toy sizes.)

        Notebook: 05_gansynth.

        Returns
        -------
        specgram : voclab.specgram.SpecgramConfig

        Raises
        ------
        voclab.errors.ConfigError
            An unknown preset or field, or a picture of another shape than
            ``start_shape × 2^(num_resolutions − 1)``.

        Examples
        --------
        >>> Config().specgram_config().shape
        (2, 128, 1024)
        >>> Config(specgram="course", start_shape=(8, 16), num_resolutions=5, slice_len=16000).specgram_config().shape
        (2, 128, 256)
        """
        # imported here: the networks do not need the specgram module
        from ..specgram import SpecgramConfig

        specgram = SpecgramConfig.resolve(self.specgram)
        if tuple(specgram.shape[1:]) != self.final_shape:
            name = repr(self.specgram) if isinstance(self.specgram, str) else "the specgram settings"
            raise ConfigError(
                f"specgram {name} makes pictures of {specgram.shape[1]} frames x {specgram.shape[2]} bins, but "
                f"start_shape {self.start_shape} x 2^(num_resolutions - 1 = {self.num_resolutions - 1}) is "
                f"{self.final_shape[0]} x {self.final_shape[1]}: change start_shape or num_resolutions (or the "
                "specgram) so the two agree.")
        if specgram.audio_length != self.slice_len or specgram.sample_rate != self.sample_rate:
            raise ConfigError(
                f"specgram {'settings' if isinstance(self.specgram, dict) else repr(self.specgram)} are "
                f"{specgram.audio_length} samples at {specgram.sample_rate} Hz, but slice_len is {self.slice_len} "
                f"and sample_rate {self.sample_rate}: set them to the specgram's (--set slice_len="
                f"{specgram.audio_length} --set sample_rate={specgram.sample_rate}).")
        return specgram

    def to_dict(self) -> dict:
        """The fields as plain JSON types."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        out["start_shape"] = list(self.start_shape)
        out["normaliser_slopes"] = list(self.normaliser_slopes)
        return out


def num_filters(block_id: int, fmap_base: float = 4096.0, fmap_decay: float = 1.0, fmap_max: int = 256) -> int:
    """Channels of progressive block ``block_id``: ``min(fmap_base / 2^(block_id · fmap_decay), fmap_max)``.

    Blocks count from 1 (the 2 × 16 block) as in the official code; the discriminator's last
    convolution uses ``block_id = 0``. From block 5 on, the channels halve as the picture
    doubles along both axes, so those blocks cost the same (pixels × channels²).

    Notebook: 05_gansynth.

    Parameters
    ----------
    block_id : int
    fmap_base, fmap_decay, fmap_max : float, float, int

    Returns
    -------
    channels : int

    Examples
    --------
    >>> [num_filters(b) for b in range(8)]
    [256, 256, 256, 256, 256, 128, 64, 32]
    """
    return int(min(fmap_base / math.pow(2.0, block_id * fmap_decay), fmap_max))


# --------------------------------------------------------------------------- the schedule


def _phase_and_alpha(images_seen: int, cfg: Config) -> tuple[int, float]:
    """The official training stage id (even: stable, odd: fade-in; at most 2·R − 2) and the fade-in α."""
    if images_seen < 0:
        raise ConfigError(f"images_seen must be >= 0, got {images_seen}.")
    last = cfg.num_resolutions - 1
    period = cfg.stable_images + cfg.fade_images
    grown, into = divmod(int(images_seen), period)  # resolutions finished growing, images into this period
    if grown >= last:
        return 2 * last, 1.0
    if into < cfg.stable_images:
        return 2 * grown, 1.0
    return 2 * grown + 1, (into - cfg.stable_images) / cfg.fade_images


def stage_at(images_seen: int, cfg: Config) -> tuple[int, float]:
    """Where training stands after ``images_seen`` images: the resolution and its fade-in weight α.

    The schedule of ProGAN and GANSynth: ``stable_images`` at the first resolution, then for
    each further one ``fade_images`` fading it in (α rising linearly from 0) and
    ``stable_images`` at it (α = 1); the last resolution then trains on to the end. A pure
    function of the counter, so a run resumed mid-stage continues where it was. The official
    ``compute_progress`` gives ``progress = stage − 1 + α`` during a fade-in and ``stage``
    when stable.

    Notebook: 05_gansynth.

    Parameters
    ----------
    images_seen : int
        Real pictures trained on so far (the step count × the batch size).
    cfg : Config

    Returns
    -------
    stage : int
        The newest resolution in use, 0 … num_resolutions − 1.
    alpha : float
        Its weight in [0, 1]: 1 when stable, rising during its fade-in (always 1 at stage 0).

    Raises
    ------
    voclab.errors.ConfigError
        A negative count.

    Examples
    --------
    >>> cfg = Config()
    >>> stage_at(0, cfg), stage_at(800_000, cfg), stage_at(1_200_000, cfg), stage_at(1_600_000, cfg)
    ((0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0))
    >>> stage_at(9_200_000, cfg), stage_at(11_000_000, cfg)     # halfway into the last fade-in; the end
    ((6, 0.5), (6, 1.0))
    """
    phase, alpha = _phase_and_alpha(images_seen, cfg)
    return (phase + 1) // 2, alpha


def blend_real(spec: torch.Tensor, stage: int, alpha: float | torch.Tensor, cfg: Config) -> torch.Tensor:
    """Real pictures as the discriminator sees them at a stage: box-downsampled, and faded like the fakes.

    At resolution ``stage`` the full picture is averaged over ``2^(R − 1 − stage)`` squares
    (the official ``downscale``: average pooling). During a fade-in the generator's picture is
    ``α · new + (1 − α) · upsample(coarser)``, so the real one is blended the same way,
    ``α · x_stage + (1 − α) · upsample(x_{stage − 1})`` (the official ``blend_images``, at the
    current size instead of the full one: the same numbers, see the module's notes).

    Notebook: 05_gansynth.

    Parameters
    ----------
    spec : torch.Tensor [shape=(batch, 2, frames, bins)]
        Normalised pictures at :attr:`Config.final_shape`.
    stage : int
    alpha : float or torch.Tensor [shape=()]
    cfg : Config

    Returns
    -------
    real : torch.Tensor [shape=(batch, 2, *cfg.shape_at(stage))]

    Raises
    ------
    voclab.errors.ShapeError
        ``spec`` is not (batch, 2, *final_shape).

    Examples
    --------
    >>> cfg = Config(start_shape=(2, 4), num_resolutions=3)
    >>> blend_real(torch.ones(1, 2, 8, 16), 1, 0.5, cfg).shape
    torch.Size([1, 2, 4, 8])
    """
    if spec.ndim != 4 or spec.shape[1:] != (SPEC_CHANNELS, *cfg.final_shape):
        raise ShapeError(f"real pictures must be (batch, 2, {cfg.final_shape[0]}, {cfg.final_shape[1]}), "
                         f"got {tuple(spec.shape)}.")
    factor = 2 ** (cfg.num_resolutions - 1 - stage)
    current = F.avg_pool2d(spec, factor) if factor > 1 else spec  # (B, 2, *shape_at(stage))
    if stage == 0:
        return current
    coarser = _upsample(F.avg_pool2d(current, 2))  # (B, 2, *shape_at(stage)): the previous stage's picture
    return torch.lerp(coarser, current, torch.as_tensor(alpha, dtype=current.dtype, device=current.device))


# --------------------------------------------------------------------------- layers


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each pixel's vector of channels to unit root mean square: ``x / sqrt(mean_c x² + eps)``.

    ProGAN's replacement for batch norm in the generator: no statistics across the batch,
    and no layer's activations can grow without bound in the tug of war with the critic.

    Notebook: 05_gansynth.

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, channels, height, width)]
    eps : float
        1e-8, as official.

    Returns
    -------
    normalised : torch.Tensor [shape=(batch, channels, height, width)]

    Examples
    --------
    >>> pixel_norm(torch.tensor([[[[3.0]], [[4.0]]]])).flatten()
    tensor([0.8485, 1.1314])
    """
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor) -> torch.Tensor:
    """Append one channel holding the batch's mean standard deviation: how varied the batch is.

    For each feature (channel and pixel) its standard deviation across the batch,
    ``sqrt(var + 1e-6)`` with the population variance, averaged over all features into one
    number, appended to every pixel as an extra channel. A generator that makes the same
    picture for every latent gives a batch of deviation ≈ 0, which the critic can then tell
    from real batches. As in the official GANSynth code, the whole batch is one group.

    Notebook: 05_gansynth.

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, channels, height, width)]

    Returns
    -------
    x_and_stddev : torch.Tensor [shape=(batch, channels + 1, height, width)]

    Examples
    --------
    >>> minibatch_stddev(torch.zeros(4, 3, 2, 16)).shape
    torch.Size([4, 4, 2, 16])
    """
    stddev = torch.sqrt(x.float().var(dim=0, unbiased=False) + 1e-6).mean()  # ()
    return torch.cat([x, stddev.to(x.dtype).expand(x.shape[0], 1, *x.shape[2:])], dim=1)


def _upsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upsampling along both axes (the official ``upscale``)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def _he_scale(fan_in: int, slope: float) -> float:
    """He's constant ``sqrt(2 / ((1 + slope²) · fan_in))`` (official ``he_initializer_scale``)."""
    return math.sqrt(2.0 / ((1.0 + slope ** 2) * fan_in))


class EqualizedConv2d(nn.Module):
    """A convolution with ProGAN's equalised learning rate: N(0, 1) weights scaled by He's constant at run time.

    The weight ``w`` is stored as N(0, 1) and the layer computes ``conv(x, c · w) + b`` with
    ``c = sqrt(2 / ((1 + slope²) · fan_in))`` and ``fan_in = in_channels · kh · kw``. The
    layer starts as a He-initialised one, but Adam sees weights all of the same scale, so its
    normalised steps change every layer by the same fraction. ``slope = 0`` (gain √2) before a
    LeakyReLU, as the official hidden layers; ``slope = 1`` (gain 1) for the "to RGB" outputs.

    Notebook: 05_gansynth.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of int
    padding : {"same", "valid"}
        "same": odd kernels keep the size; "valid": no padding.
    slope : float
        0 or 1 as above.

    Examples
    --------
    >>> conv = EqualizedConv2d(8, 4, 3)
    >>> conv(torch.zeros(1, 8, 2, 16)).shape, round(conv.scale, 4)
    (torch.Size([1, 4, 2, 16]), 0.1667)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 padding: str = "same", slope: float = 0.0):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if padding not in ("same", "valid"):
            raise ConfigError(f"padding must be 'same' or 'valid', got {padding!r}.")
        if padding == "same" and (kh % 2 == 0 or kw % 2 == 0):
            raise ConfigError(f"'same' padding needs odd kernels, got {(kh, kw)}.")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kh, kw))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = _he_scale(in_channels * kh * kw, slope)
        self.padding = (kh // 2, kw // 2) if padding == "same" else (0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, kh, kw = self.weight.shape
        return (f"{in_channels}, {out_channels}, kernel_size=({kh}, {kw}), padding={self.padding}, "
                f"scale={self.scale:.4g}")


class EqualizedLinear(nn.Module):
    """A dense layer with the equalised learning rate (see :class:`EqualizedConv2d`).

    Notebook: 05_gansynth.

    Parameters
    ----------
    in_features, out_features : int
    slope : float
        1 (gain 1) for the critic's score and pitch logits, as official.

    Examples
    --------
    >>> EqualizedLinear(256, 61)(torch.zeros(3, 256)).shape
    torch.Size([3, 61])
    """

    def __init__(self, in_features: int, out_features: int, slope: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = _he_scale(in_features, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LRELU_SLOPE)


# --------------------------------------------------------------------------- generator


class _FirstGeneratorBlock(nn.Module):
    """(B, latent + pitches) → (B, C, *start_shape): pixel norm, the (h, w) conv of the zero-padded
    1 × 1 input, a 3 × 3 conv; each conv followed by LeakyReLU and pixel norm."""

    def __init__(self, in_features: int, channels: int, start_shape: tuple[int, int], kernel_size: int):
        super().__init__()
        self.start_shape = start_shape
        self.conv0 = EqualizedConv2d(in_features, channels, start_shape, padding="valid")
        self.conv1 = EqualizedConv2d(channels, channels, kernel_size)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        h, w = self.start_shape
        x = pixel_norm(latent[:, :, None, None])  # (B, latent + pitches, 1, 1)
        # the official trick: pad the 1 × 1 picture to (2h − 1) × (2w − 1) with zeros, then a valid (h, w)
        # convolution gives h × w pixels, each a different slice of the kernel times the latent
        x = F.pad(x, (w - 1, w - 1, h - 1, h - 1))  # (B, latent + pitches, 2h − 1, 2w − 1)
        x = pixel_norm(_lrelu(self.conv0(x)))  # (B, C, h, w)
        return pixel_norm(_lrelu(self.conv1(x)))  # (B, C, h, w)


class _GeneratorBlock(nn.Module):
    """(B, C_in, H, W) → (B, C, 2H, 2W): nearest × 2, two 3 × 3 convs, each with LeakyReLU and pixel norm."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, channels, kernel_size)
        self.conv1 = EqualizedConv2d(channels, channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(_lrelu(self.conv0(_upsample(x))))
        return pixel_norm(_lrelu(self.conv1(x)))


class Generator(nn.Module):
    """Noise and pitch → a normalised (log-magnitude, IF) picture at the current stage.

    ``forward(noise, pitch, stage, alpha)``: the blocks up to ``stage``; the newest block's
    "to RGB" picture (1 × 1 conv, tanh) is blended with the previous block's, upsampled:
    ``lerp(upsample(rgb_{stage−1}), rgb_stage, α)``. Every block has its "to RGB" from the
    start (as the official final-stage graph does). Besides its weights the generator keeps
    buffers (saved in checkpoints): ``images_seen`` (the training counter), ``stage`` and
    ``alpha`` (where it was trained last, what it generates at by default) and
    ``pitch_counts`` (the training pitch histogram, for drawing pitches). At the paper's
    size: 7,311,246 parameters.

    Notebook: 05_gansynth.

    Parameters
    ----------
    latent_dim : int
    pitch_min, n_pitches : int
        MIDI number of class 0, and the number of classes.
    start_shape : tuple of int
    num_resolutions : int
    fmap_base, fmap_decay, fmap_max : float, float, int
    kernel_size : int
    specgram : str or dict
        The picture's :mod:`voclab.specgram` settings (kept for :func:`validation_audio`).

    Examples
    --------
    >>> G = Generator(latent_dim=8, start_shape=(2, 4), num_resolutions=3, fmap_base=64, fmap_max=16)
    >>> G(torch.zeros(3, 8), torch.tensor([24, 60, 84]), stage=2, alpha=1.0).shape
    torch.Size([3, 2, 8, 16])
    """

    def __init__(self, latent_dim: int = 256, pitch_min: int = 24, n_pitches: int = 61,
                 start_shape: tuple[int, int] = (2, 16), num_resolutions: int = 7, fmap_base: float = 4096.0,
                 fmap_decay: float = 1.0, fmap_max: int = 256, kernel_size: int = 3, specgram: str | dict = "H-mel"):
        super().__init__()
        self.latent_dim, self.pitch_min, self.n_pitches = latent_dim, pitch_min, n_pitches
        self.start_shape, self.num_resolutions, self.specgram = tuple(start_shape), num_resolutions, specgram
        channels = [num_filters(b, fmap_base, fmap_decay, fmap_max) for b in range(1, num_resolutions + 1)]
        self.blocks = nn.ModuleList(
            [_FirstGeneratorBlock(latent_dim + n_pitches, channels[0], self.start_shape, kernel_size)]
            + [_GeneratorBlock(c_in, c, kernel_size) for c_in, c in itertools.pairwise(channels)]
        )
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, SPEC_CHANNELS, 1, slope=1.0) for c in channels)
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("stage", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))
        self.register_buffer("pitch_counts", torch.ones(n_pitches))

    def pitch_classes(self, pitch: torch.Tensor, error: type[Exception] = ConfigError) -> torch.Tensor:
        """MIDI pitches ``(B,)`` → class indices ``(B,)``; ``error`` for a pitch out of the model's range."""
        pitch = torch.as_tensor(pitch)
        if pitch.ndim != 1 or pitch.dtype.is_floating_point:
            raise ShapeError(f"pitches are one integer MIDI number per example, shape (batch,), "
                             f"got {tuple(pitch.shape)} of {pitch.dtype}.")
        classes = pitch.long() - self.pitch_min
        if classes.numel() and (int(classes.min()) < 0 or int(classes.max()) >= self.n_pitches):
            bad = int(pitch[(classes < 0) | (classes >= self.n_pitches)][0])
            raise error(f"pitch {bad} is outside this model's MIDI range {self.pitch_min}–"
                        f"{self.pitch_min + self.n_pitches - 1} (pitch_min … pitch_max of its Config).")
        return classes

    def forward(self, noise: torch.Tensor, pitch: torch.Tensor, stage: int | None = None,
                alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        pitch = torch.as_tensor(pitch)
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim or pitch.shape != noise.shape[:1]:
            raise ShapeError(f"the generator takes noise (batch, {self.latent_dim}) and one pitch per example, "
                             f"got {tuple(noise.shape)} and {tuple(pitch.shape)}.")
        stage = int(self.stage) if stage is None else int(stage)
        alpha = self.alpha if alpha is None else alpha
        if not 0 <= stage < self.num_resolutions:
            raise ConfigError(f"stage must be in 0 … {self.num_resolutions - 1}, got {stage}.")
        one_hot = F.one_hot(self.pitch_classes(pitch).to(noise.device), self.n_pitches).to(noise.dtype)
        x = torch.cat([noise, one_hot], dim=1)  # (B, latent + pitches)
        previous = None
        for block in self.blocks[: stage + 1]:
            previous, x = x, block(x)  # (B, C_i, *shape_at(i))
        # the picture in float32 (tanh's range), even under bf16 autocast
        with torch.autocast(x.device.type, enabled=False):
            new = torch.tanh(self.to_rgb[stage](x.float()))  # (B, 2, *shape_at(stage))
            if stage == 0:
                return new
            old = _upsample(torch.tanh(self.to_rgb[stage - 1](previous.float())))  # (B, 2, *shape_at(stage))
            return torch.lerp(old, new, torch.as_tensor(alpha, dtype=new.dtype, device=new.device))


# --------------------------------------------------------------------------- discriminator


class _DiscriminatorBlock(nn.Module):
    """(B, C, H, W) → (B, C_out, H/2, W/2): two 3 × 3 convs with LeakyReLU, then 2 × 2 average pooling."""

    def __init__(self, channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(channels, channels, kernel_size)
        self.conv1 = EqualizedConv2d(channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(_lrelu(self.conv1(_lrelu(self.conv0(x)))), 2)


class Discriminator(nn.Module):
    """A picture → a critic score and 61 pitch logits (AC-GAN): ``(B, 2, H, W) → (B,), (B, 61)``.

    ``forward(spec, stage, alpha)``: "from RGB" (1 × 1 conv, LeakyReLU) at the stage's size,
    the blocks down to 2 × 16 — the first one faded in: ``lerp(from_rgb(avg_pool(spec)),
    block(from_rgb(spec)), α)`` — then :func:`minibatch_stddev`, a 3 × 3 conv, a valid
    (2, 16) conv to ``num_filters(0)`` features, and two linear heads: the score and the
    pitch logits. At the paper's size: 6,831,230 parameters.

    Notebook: 05_gansynth.

    Parameters
    ----------
    n_pitches : int
    start_shape : tuple of int
    num_resolutions : int
    fmap_base, fmap_decay, fmap_max : float, float, int
    kernel_size : int

    Examples
    --------
    >>> D = Discriminator(start_shape=(2, 4), num_resolutions=3, fmap_base=64, fmap_max=16)
    >>> score, logits = D(torch.zeros(3, 2, 4, 8), stage=1, alpha=0.5)
    >>> score.shape, logits.shape
    (torch.Size([3]), torch.Size([3, 61]))
    """

    def __init__(self, n_pitches: int = 61, start_shape: tuple[int, int] = (2, 16), num_resolutions: int = 7,
                 fmap_base: float = 4096.0, fmap_decay: float = 1.0, fmap_max: int = 256, kernel_size: int = 3):
        super().__init__()
        self.start_shape, self.num_resolutions = tuple(start_shape), num_resolutions
        channels = [num_filters(b, fmap_base, fmap_decay, fmap_max) for b in range(1, num_resolutions + 1)]
        last = num_filters(0, fmap_base, fmap_decay, fmap_max)
        self.from_rgb = nn.ModuleList(EqualizedConv2d(SPEC_CHANNELS, c, 1) for c in channels)
        # blocks[i − 1] takes resolution i down to i − 1; the final layers below take resolution 0
        self.blocks = nn.ModuleList(
            _DiscriminatorBlock(c, c_out, kernel_size) for c_out, c in itertools.pairwise(channels)
        )
        self.conv0 = EqualizedConv2d(channels[0] + 1, channels[0], kernel_size)
        self.conv1 = EqualizedConv2d(channels[0], last, self.start_shape, padding="valid")
        self.score = EqualizedLinear(last, 1)
        self.classifier = EqualizedLinear(last, n_pitches)

    def forward(self, spec: torch.Tensor, stage: int, alpha: float | torch.Tensor = 1.0
                ) -> tuple[torch.Tensor, torch.Tensor]:
        stage = int(stage)
        if not 0 <= stage < self.num_resolutions:
            raise ConfigError(f"stage must be in 0 … {self.num_resolutions - 1}, got {stage}.")
        shape = (SPEC_CHANNELS, self.start_shape[0] * 2 ** stage, self.start_shape[1] * 2 ** stage)
        if spec.ndim != 4 or spec.shape[1:] != shape:
            raise ShapeError(f"at stage {stage} the discriminator takes pictures of shape (batch, {shape[0]}, "
                             f"{shape[1]}, {shape[2]}), got {tuple(spec.shape)}.")
        x = _lrelu(self.from_rgb[stage](spec))  # (B, C_stage, H, W)
        for i in range(stage, 0, -1):
            x = self.blocks[i - 1](x)  # (B, C_{i−1}, H_{i−1}, W_{i−1})
            if i == stage:  # the newest block fades in over the coarser path
                skip = _lrelu(self.from_rgb[stage - 1](F.avg_pool2d(spec, 2)))
                x = torch.lerp(skip, x, torch.as_tensor(alpha, dtype=x.dtype, device=x.device))
        x = _lrelu(self.conv0(minibatch_stddev(x)))  # (B, C_0, *start_shape)
        features = _lrelu(self.conv1(x)).flatten(1)  # (B, num_filters(0))
        return self.score(features)[:, 0], self.classifier(features)  # (B,), (B, n_pitches)


# --------------------------------------------------------------------------- latents and pitches


def sample_latents(cfg: Config, n: int, *, generator: torch.Generator | None = None,
                   device: str | torch.device = "cpu") -> torch.Tensor:
    """``n`` latents: the noise ``z ~ N(0, I)^latent_dim`` and, in the last column, a pitch draw ``u ~ U(0, 1)``.

    A GANSynth note is decided by its noise *and* its pitch. The official trainer draws the
    pitch labels of its fakes from the training set's pitch histogram; here the draw is a
    uniform number carried with the noise, turned into a pitch by the histogram the generator
    keeps (:func:`pitches_from_draws`, inverse CDF). So a seed fixes the whole note, and
    training, previews and ``voclab generate`` draw from the same place.

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : Config
    n : int
    generator : torch.Generator, optional
        A CPU generator (a seed); the global random stream when ``None``.
    device : str or torch.device
        Where the latents go (drawn on the CPU, so a seed gives the same latents everywhere).

    Returns
    -------
    latents : torch.Tensor [shape=(n, latent_dim + 1), dtype=float32]

    Examples
    --------
    >>> z = sample_latents(Config(), 4, generator=torch.Generator().manual_seed(0))
    >>> z.shape, bool(((z[:, -1] >= 0) & (z[:, -1] < 1)).all())
    (torch.Size([4, 257]), True)
    """
    noise = torch.randn(n, cfg.latent_dim, generator=generator)
    draws = torch.rand(n, 1, generator=generator)
    return torch.cat([noise, draws], dim=1).to(device)


def _histogram(histogram: Any, n_pitches: int) -> torch.Tensor:
    """Counts per pitch class as a float tensor; uniform when ``None``."""
    if histogram is None:
        return torch.ones(n_pitches)
    counts = torch.as_tensor(histogram, dtype=torch.float32).flatten()
    if counts.numel() != n_pitches or bool((counts < 0).any()) or float(counts.sum()) <= 0:
        raise ConfigError(f"a pitch histogram holds {n_pitches} non-negative counts (one per pitch class, "
                          f"lowest pitch first), not all zero; got {counts.numel()} values.")
    return counts


def pitches_from_draws(draws: torch.Tensor, histogram: Any, cfg: Config) -> torch.Tensor:
    """Uniform draws → MIDI pitches distributed as a histogram (inverse-CDF sampling).

    Class ``i`` is picked when ``u`` falls in ``[cdf_{i−1}, cdf_i)``, an interval as wide as
    its share of the counts; a pitch with no notes is never picked.

    Notebook: 05_gansynth.

    Parameters
    ----------
    draws : torch.Tensor [shape=(n,)]
        Numbers in [0, 1).
    histogram : array-like [shape=(n_pitches,)] or None
        Counts per pitch class (class 0 = ``pitch_min``); ``None``: all pitches equally likely.
    cfg : Config

    Returns
    -------
    pitch : torch.Tensor [shape=(n,), dtype=int64]
        MIDI numbers.

    Raises
    ------
    voclab.errors.ConfigError
        A histogram of the wrong length, with negative counts, or empty.

    Examples
    --------
    >>> cfg = Config(pitch_min=60, pitch_max=62)
    >>> pitches_from_draws(torch.tensor([0.0, 0.3, 0.5, 0.99]), [1, 0, 1], cfg)
    tensor([60, 60, 62, 62])
    """
    return _draws_to_pitches(draws, _histogram(histogram, cfg.n_pitches), cfg.pitch_min)


def _draws_to_pitches(draws: torch.Tensor, counts: torch.Tensor, pitch_min: int) -> torch.Tensor:
    """Inverse CDF of checked counts: ``(n,)`` draws in [0, 1) → ``(n,)`` MIDI pitches."""
    counts = counts.to(device=draws.device, dtype=torch.float32)
    cdf = torch.cumsum(counts, 0) / counts.sum()  # (n_pitches,)
    classes = torch.searchsorted(cdf, draws.float().contiguous(), right=True).clamp(max=len(counts) - 1)
    return classes + pitch_min


def sample_pitches(cfg: Config, n: int, histogram: Any = None, *, generator: torch.Generator | None = None,
                   device: str | torch.device = "cpu") -> torch.Tensor:
    """``n`` MIDI pitches drawn from a histogram (the training set's: what the official trainer gives its fakes).

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : Config
    n : int
    histogram : array-like [shape=(n_pitches,)] or None
        Counts per pitch class; ``None``: uniform. A trained generator keeps its training
        histogram as ``generator.pitch_counts``.
    generator : torch.Generator, optional
        A CPU generator (a seed).
    device : str or torch.device

    Returns
    -------
    pitch : torch.Tensor [shape=(n,), dtype=int64]

    Examples
    --------
    >>> sample_pitches(Config(), 3, generator=torch.Generator().manual_seed(0)).tolist()
    [54, 70, 29]
    """
    return pitches_from_draws(torch.rand(n, generator=generator), histogram, cfg).to(device)


def set_pitch_histogram(modules: dict[str, nn.Module], pitches: Any, cfg: Config) -> torch.Tensor:
    """Store the training set's pitch histogram in the generator (and its moving average).

    Called once before training with the pitch of every training note; the counts then
    travel in checkpoints, so generating later needs no training data.

    Notebook: 05_gansynth.

    Parameters
    ----------
    modules : dict
        From :func:`build` (or ``{"generator": G}``).
    pitches : array-like [shape=(n_notes,)]
        MIDI pitch of each training note.
    cfg : Config

    Returns
    -------
    counts : torch.Tensor [shape=(n_pitches,)]

    Raises
    ------
    voclab.errors.DataError
        No notes, or a note outside ``pitch_min … pitch_max``.

    Examples
    --------
    >>> cfg = Config(pitch_min=60, pitch_max=62)
    >>> set_pitch_histogram({"generator": build_generator(cfg)}, [60, 60, 62], cfg)
    tensor([2., 0., 1.])
    """
    pitches = torch.as_tensor(pitches).long().flatten()
    if pitches.numel() == 0:
        raise DataError("set_pitch_histogram needs the pitches of the training notes; got none.")
    classes = _unwrap(modules["generator"]).pitch_classes(pitches, error=DataError)
    counts = torch.bincount(classes, minlength=cfg.n_pitches).float()
    for name in ("generator", "generator_ema"):
        if name in modules:
            _unwrap(modules[name]).pitch_counts.copy_(counts)
    return counts


# --------------------------------------------------------------------------- the penalty


def progressive_gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                                 fake: torch.Tensor, stage: int, cfg: Config, *, alpha: torch.Tensor | None = None,
                                 autocast: Callable[[], Any] = contextlib.nullcontext) -> torch.Tensor:
    """WGAN-GP's penalty as the official code measures it: on the full-size, de-normalised picture.

    The official critic takes the full 128 × 1024 picture in the data's own units (log
    magnitude, IF), normalises it (``slope · x + offset`` per channel) and box-downsamples it
    by ``s = 2^(R − 1 − stage)``; tf-gan differentiates with respect to that input. Here the
    critic takes the normalised picture at the stage's size, and the chain rule relates the
    two: each pixel's gradient is spread over ``s²`` full-size pixels at ``1/s²`` each and
    multiplied by the slope, so the official norm is ``‖slope ⊙ ∇D‖ / s``. The penalty is
    taken of the critic ``D(slope ⊙ y) / s`` in the units ``y = x / slope``: exactly the
    official number (offsets cancel between real and fake). At stage 0 of the paper's model
    (s = 64) the critic may thus be 64 / 0.8 = 80 times steeper in IF, and 64 / 0.0661 ≈ 968
    times in log magnitude, on the small normalised picture than a plain penalty would let it.

    Notebook: 05_gansynth.

    Parameters
    ----------
    critic : callable
        ``(B, 2, H, W) → (B,)`` scores at the stage's size, normalised input.
    real, fake : torch.Tensor [shape=(B, 2, H, W)]
        Normalised pictures at the stage's size.
    stage : int
    cfg : Config
        For ``num_resolutions`` and ``normaliser_slopes``.
    alpha : torch.Tensor [shape=(B,)], optional
        Interpolation weights (drawn from U(0, 1) when ``None``).
    autocast : callable
        As in :func:`~voclab.models.wavegan.gradient_penalty`.

    Returns
    -------
    penalty : torch.Tensor [shape=()]
        ``mean_b (‖∇ D(x̂_b)‖ − 1)²`` in the official units, without λ.

    Raises
    ------
    voclab.errors.ShapeError
        ``real`` and ``fake`` differ in shape.

    Examples
    --------
    >>> cfg = Config(start_shape=(1, 1), num_resolutions=2, normaliser_slopes=(0.5, 0.5))
    >>> critic = lambda x: x.sum(dim=(1, 2, 3))          # gradient 1 at each of the 2 pixels
    >>> progressive_gradient_penalty(critic, torch.zeros(3, 2, 1, 1), torch.ones(3, 2, 1, 1), 0, cfg)
    tensor(0.4179)

    (s = 2 and slope 0.5: each pixel's official gradient is 1/4, the norm √2/4, the penalty (√2/4 − 1)².)
    """
    shrink = 2 ** (cfg.num_resolutions - 1 - stage)
    slopes = torch.tensor(cfg.normaliser_slopes, dtype=real.dtype, device=real.device).view(1, SPEC_CHANNELS, 1, 1)
    return gradient_penalty(lambda y: critic(y * slopes) / shrink, real / slopes, fake / slopes, alpha=alpha,
                            autocast=autocast)


# --------------------------------------------------------------------------- protocol


def build_generator(cfg: Config) -> Generator:
    """The generator alone (what ``voclab generate`` loads: the discriminator is not built).

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    generator : Generator
    """
    return Generator(cfg.latent_dim, cfg.pitch_min, cfg.n_pitches, cfg.start_shape, cfg.num_resolutions,
                     cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max, cfg.kernel_size, cfg.specgram)


def build(cfg: Config) -> dict[str, nn.Module]:
    """The networks: ``{"generator", "discriminator"}`` and, if ``ema_decay > 0``, ``"generator_ema"``.

    ``generator_ema`` starts as a frozen copy of the generator and follows it by
    :func:`update_ema`; it is the one to listen to (:func:`voclab.checkpoint.load_checkpoint`
    picks it once the run is ``1 / (1 − ema_decay)`` steps old).

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    modules : dict of str to nn.Module
    """
    generator = build_generator(cfg)
    modules = {
        "generator": generator,
        "discriminator": Discriminator(cfg.n_pitches, cfg.start_shape, cfg.num_resolutions, cfg.fmap_base,
                                       cfg.fmap_decay, cfg.fmap_max, cfg.kernel_size),
    }
    if cfg.ema_decay > 0:
        modules["generator_ema"] = copy.deepcopy(generator).requires_grad_(False)
    return modules


def make_optimizers(modules: dict[str, nn.Module], cfg: Config) -> tuple[dict, dict]:
    """Adam (lr 8e-4, betas (0, 0.99)) for the generator and the discriminator; no scheduler.

    Notebook: 05_gansynth.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    cfg : Config

    Returns
    -------
    optimizers : dict
        ``{"generator": Adam, "discriminator": Adam}``.
    schedulers : dict
        Empty.
    """
    optimizers = {
        name: torch.optim.Adam(modules[name].parameters(), lr=cfg.learning_rate, betas=cfg.betas)
        for name in ("generator", "discriminator")
    }
    return optimizers, {}


def batches_per_step(cfg: Config) -> int:
    """Real batches one :func:`train_step` takes: one (one critic update per generator update).

    Notebook: 05_gansynth.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    k : int
    """
    return 1


def _unwrap(net: nn.Module) -> nn.Module:
    """The module inside ``torch.compile`` and DDP wrappers."""
    net = getattr(net, "_orig_mod", net)
    return getattr(net, "module", net)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema ← decay · ema + (1 − decay) · model`` for every weight; buffers are copied.

    The official ``tf.train.ExponentialMovingAverage(decay=0.999)`` after each generator
    update: the average of about the last 1000 generators, smoother than any one of them.
    The buffers (counter, stage, α, pitch histogram) are copied, so the average generates at
    the stage the generator was trained at.

    Notebook: 05_gansynth.

    Parameters
    ----------
    ema, model : nn.Module
        The same architecture (``model`` may be wrapped by DDP or ``torch.compile``).
    decay : float

    Returns
    -------
    None
        ``ema`` is changed in place.
    """
    model = _unwrap(model)
    for average, current in zip(ema.parameters(), model.parameters(), strict=True):
        average.lerp_(current.detach(), 1.0 - decay)
    for kept, current in zip(ema.buffers(), model.buffers(), strict=True):
        kept.copy_(current)


def train_step(modules: dict[str, nn.Module], optimizers: dict, batch: dict, cfg: Config, *,
               autocast: Callable[[], Any] = contextlib.nullcontext,
               images_seen: int | None = None) -> dict[str, float]:
    """One critic update, one generator update and the moving average, at the stage the image counter says.

    1. :func:`stage_at` of the generator's ``images_seen`` counter (or the ``images_seen``
       given) gives the stage and α; where a stable or fade-in period begins, Adam's moments
       are cleared (``reset_adam_per_stage``, as the official per-stage graphs start Adam anew).
    2. Critic: real pictures through :func:`blend_real`; fakes ``G(z, pitch)`` with pitches
       drawn from the generator's histogram; loss ``mean D(G(z)) − mean D(x) + λ · GP +
       0.001 · mean D(x)² + 10 · CE(pitch logits of x, pitch of x)``, with the penalty in the
       official units (:func:`progressive_gradient_penalty`).
    3. Generator, through the critic inside :func:`~voclab.models.frozen`: ``−mean D(G(z)) +
       10 · CE(pitch logits of G(z), the pitch asked for)``, with new latents.
    4. :func:`update_ema` of ``generator_ema``; the counter grows by the batch size (times the
       number of DDP processes), and both generators record the stage and α just trained.

    Notebook: 05_gansynth.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    optimizers : dict
        From :func:`make_optimizers`.
    batch : dict
        ``{"spec": (B, 2, frames, bins) normalised pictures at cfg.final_shape, "pitch": (B,) MIDI}``.
    cfg : Config
    autocast : callable
        Context-manager factory around the forward passes (bf16 or a no-op); the pictures,
        losses and the penalty are computed in float32.
    images_seen : int, optional
        Train as if this many images had been seen (and set the counter from it); the
        generator's counter when ``None``.

    Returns
    -------
    losses : dict of str to float
        ``loss_d``, ``wasserstein`` (mean D(x) − mean D(G(z))), ``gradient_penalty`` (before ×λ, official units),
        ``drift`` (mean D(x)², before ×0.001), ``ac_real`` (the critic's pitch cross-entropy on
        real notes), ``loss_g``, ``ac_fake`` (on generated notes), ``stage``, ``alpha``.

    Raises
    ------
    voclab.errors.ShapeError
        A batch without ``spec`` and ``pitch`` of the shapes above.
    voclab.errors.DataError
        A real note's pitch outside ``pitch_min … pitch_max``.
    """
    generator, discriminator = modules["generator"], modules["discriminator"]
    opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
    raw_generator = _unwrap(generator)
    if "spec" not in batch or "pitch" not in batch:
        raise ShapeError(f"a GANSynth step takes {{'spec': (B, 2, frames, bins), 'pitch': (B,)}}, got the keys "
                         f"{sorted(batch)}.")
    spec, pitch = batch["spec"], batch["pitch"]
    batch_size = spec.shape[0]
    if pitch.shape != (batch_size,):
        raise ShapeError(f"batch['pitch'] holds one MIDI pitch per picture: shape ({batch_size},), "
                         f"got {tuple(pitch.shape)}.")
    real_classes = raw_generator.pitch_classes(pitch, error=DataError).to(spec.device)  # (B,)

    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    step_images = batch_size * (torch.distributed.get_world_size() if distributed else 1)
    seen = int(raw_generator.images_seen) if images_seen is None else int(images_seen)
    stage, alpha = stage_at(seen, cfg)
    if cfg.reset_adam_per_stage and seen > 0 and \
            _phase_and_alpha(seen, cfg)[0] != _phase_and_alpha(max(seen - step_images, 0), cfg)[0]:
        for optimizer in (opt_g, opt_d):
            optimizer.state.clear()  # Adam starts afresh: moments and step count
    alpha_t = torch.tensor(alpha, device=spec.device)
    real = blend_real(spec.float(), stage, alpha_t, cfg)  # (B, 2, *shape_at(stage))

    def fakes(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        latents = sample_latents(cfg, n, device=spec.device)  # (n, latent_dim + 1)
        fake_pitch = _draws_to_pitches(latents[:, -1], raw_generator.pitch_counts, cfg.pitch_min)  # (n,)
        return generator(latents[:, :-1], fake_pitch, stage, alpha_t), fake_pitch - cfg.pitch_min

    # critic update
    with torch.no_grad(), autocast():
        fake, _ = fakes(batch_size)  # (B, 2, H, W)
    with autocast():
        real_scores, real_logits = discriminator(real, stage, alpha_t)  # (B,), (B, n_pitches)
        fake_scores, _ = discriminator(fake, stage, alpha_t)
    wasserstein_loss = discriminator_loss(real_scores, fake_scores)
    # torch.compile's autograd has no double backward: the penalty runs the critic uncompiled
    critic = getattr(discriminator, "_orig_mod", discriminator)
    penalty = progressive_gradient_penalty(lambda x: critic(x, stage, alpha_t)[0], real, fake, stage, cfg,
                                           autocast=autocast)
    drift = real_scores.float().pow(2).mean()
    ac_real = F.cross_entropy(real_logits.float(), real_classes)
    loss_d = wasserstein_loss + cfg.gp_lambda * penalty + cfg.drift_weight * drift + cfg.ac_weight * ac_real
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    # generator update, through the updated critic (whose weights it does not update)
    with autocast(), frozen(discriminator):
        fake, fake_classes = fakes(batch_size)
        fake_scores, fake_logits = discriminator(fake, stage, alpha_t)
    ac_fake = F.cross_entropy(fake_logits.float(), fake_classes)
    loss_g = generator_loss(fake_scores) + cfg.ac_weight * ac_fake
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()

    with torch.no_grad():
        raw_generator.images_seen.fill_(seen + step_images)
        raw_generator.stage.fill_(stage)
        raw_generator.alpha.fill_(alpha)
    if "generator_ema" in modules and cfg.ema_decay > 0:
        update_ema(modules["generator_ema"], raw_generator, cfg.ema_decay)
    return {
        "loss_d": loss_d.item(), "wasserstein": -wasserstein_loss.item(), "gradient_penalty": penalty.item(),
        "drift": drift.item(), "ac_real": ac_real.item(), "loss_g": loss_g.item(), "ac_fake": ac_fake.item(),
        "stage": float(stage), "alpha": float(alpha),
    }


def _noise_and_pitch(generator: Generator, z: torch.Tensor, pitch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Split latents into noise and pitch: the pitch given, or the last column's draw through the histogram."""
    latent_dim = generator.latent_dim
    if z.ndim != 2 or z.shape[1] not in (latent_dim, latent_dim + 1):
        raise ShapeError(f"latents are (batch, {latent_dim + 1}) from sample_latents (noise and a pitch draw), or "
                         f"(batch, {latent_dim}) noise with pitch=..., got {tuple(z.shape)}.")
    if pitch is None:
        if z.shape[1] == latent_dim:
            raise ShapeError(f"noise of {latent_dim} values carries no pitch draw: pass pitch=..., or latents from "
                             "sample_latents.")
        pitch = _draws_to_pitches(z[:, -1], generator.pitch_counts, generator.pitch_min)
    pitch = torch.as_tensor(pitch, device=z.device)
    if pitch.ndim == 0:
        pitch = pitch.expand(len(z))  # one pitch for all
    return z[:, :latent_dim], pitch


def latent_pitches(generator: Generator, z: torch.Tensor) -> torch.Tensor:
    """The MIDI pitch each latent plays at: its last column's draw through the generator's pitch histogram.

    What :func:`validation_audio` does with ``pitch=None``; ``voclab generate`` records these
    pitches in ``seeds.json``.

    Notebook: 05_gansynth.

    Parameters
    ----------
    generator : Generator
        Its ``pitch_counts`` (the training histogram) decide.
    z : torch.Tensor [shape=(B, latent_dim + 1)]
        From :func:`sample_latents`.

    Returns
    -------
    pitch : torch.Tensor [shape=(B,), dtype=int64]

    Raises
    ------
    voclab.errors.ShapeError
        Latents without the pitch draw.

    Examples
    --------
    >>> G = Generator(latent_dim=8, pitch_min=60, n_pitches=3, start_shape=(2, 4), num_resolutions=1)
    >>> latent_pitches(G, torch.tensor([[0.0] * 8 + [0.1], [0.0] * 8 + [0.9]])).tolist()
    [60, 62]
    """
    return _noise_and_pitch(_unwrap(generator), z, None)[1]


@torch.no_grad()
def generate_specgram(generator: Generator, z: torch.Tensor, pitch: Any = None, *, stage: int | None = None,
                      alpha: float | None = None) -> torch.Tensor:
    """Normalised pictures at full size: ``(B, latent_dim + 1) → (B, 2, frames, bins)``.

    The generator makes the picture at its stage (by default the one it was last trained at)
    and nearest-neighbour upsampling brings it to :attr:`Config.final_shape`, as the official
    generator's output always is.

    Notebook: 05_gansynth.

    Parameters
    ----------
    generator : Generator
        Preferably the moving average (``modules["generator_ema"]``).
    z : torch.Tensor [shape=(B, latent_dim + 1) or (B, latent_dim)]
        From :func:`sample_latents`; plain noise needs ``pitch``.
    pitch : int or torch.Tensor [shape=(B,)], optional
        MIDI pitches (one for all, or one each); from each latent's draw and the generator's
        pitch histogram when ``None``.
    stage : int, optional
        The resolution to generate at; the generator's ``stage`` buffer when ``None``.
    alpha : float, optional
        Its fade-in weight; the generator's ``alpha`` buffer when ``None``.

    Returns
    -------
    spec : torch.Tensor [shape=(B, 2, frames, bins)]
        In [−1, 1], float32.

    Raises
    ------
    voclab.errors.ShapeError
        Latents of the wrong width, or noise without a pitch.
    voclab.errors.ConfigError
        A pitch outside the model's range, or a stage it does not have.

    Examples
    --------
    >>> G = Generator(latent_dim=8, start_shape=(2, 4), num_resolutions=3, fmap_base=64, fmap_max=16)
    >>> generate_specgram(G, torch.zeros(2, 9), pitch=60, stage=0).shape
    torch.Size([2, 2, 8, 16])
    """
    noise, pitch = _noise_and_pitch(generator, z, pitch)
    stage = int(generator.stage) if stage is None else int(stage)
    spec = generator(noise, pitch, stage, alpha)  # (B, 2, *shape_at(stage))
    return _upsample(spec.float(), 2 ** (generator.num_resolutions - 1 - stage))


def validation_audio(generator: Generator, z: torch.Tensor, pitch: Any = None) -> torch.Tensor:
    """Generate notes for validation and ``voclab generate``: latents → audio ``(B, 1, samples)``.

    :func:`generate_specgram`, then the inverse of the generator's :mod:`voclab.specgram`
    preset (de-normalise, IF → phase by a cumulative sum, inverse STFT; through the mel
    matrix's normalised transpose for a mel preset).

    Notebook: 05_gansynth.

    Parameters
    ----------
    generator : Generator
    z : torch.Tensor [shape=(B, latent_dim + 1)]
        From :func:`sample_latents`.
    pitch : int or torch.Tensor [shape=(B,)], optional
        MIDI pitches; drawn from the latents and the generator's histogram when ``None``.

    Returns
    -------
    audio : torch.Tensor [shape=(B, 1, samples)]
    """
    from ..specgram import SpecgramConfig, from_specgram  # only audio needs it

    spec = generate_specgram(generator, z, pitch)  # (B, 2, frames, bins)
    audio = from_specgram(spec, SpecgramConfig.resolve(generator.specgram))
    return torch.as_tensor(audio).reshape(len(z), 1, -1)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (the paper's size: G 7,311,246, D 6,831,230).

    Notebook: 05_gansynth.

    Parameters
    ----------
    module : nn.Module

    Returns
    -------
    n : int

    Examples
    --------
    >>> with torch.device("meta"):
    ...     count_parameters(Generator()), count_parameters(Discriminator())
    (7311246, 6831230)
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
