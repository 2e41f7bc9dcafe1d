"""WaveNet: an autoregressive vocoder, one sample at a time, conditioned on a mel spectrogram.

van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016; the mel-conditioned
vocoder of r9y9/wavenet_vocoder (``wavenet_vocoder/wavenet.py``, ``modules.py``,
``mixture.py``, ``egs/mol`` and ``egs/mulaw256`` recipes), whose names this file keeps;
fast generation after Paine et al., "Fast Wavenet Generation Algorithm", 2016. The whole
model is in this file:

* :func:`mu_law_encode` / :func:`mu_law_decode` — 8-bit μ-law companding (μ = 255);
* :class:`ResidualBlock` — dilated causal conv → ``tanh(a)·σ(b)`` gate (+ 1×1 projections of
  the upsampled mel and of a speaker embedding) → 1×1 to the residual stream and to the skips;
* :class:`ConditionUpsampler` — mel frames → one conditioning vector per sample
  (nearest-neighbour stretch + a smoothing conv per scale, ``prod(scales) = hop``, with the
  edge frames repeated as context so that no window edge fades);
* :func:`cache_length` — the past inputs each layer's cache keeps in fast generation;
* :class:`WaveNet` — 1×1 input conv, the stack of blocks (dilation ``2 ** (i mod layers/stacks)``),
  summed skips × √(1/layers) → ReLU → 1×1 → ReLU → 1×1 → logits; teacher-forced
  :meth:`WaveNet.forward` and autoregressive :meth:`WaveNet.generate`, naive or cached;
* the two output distributions: a 256-way softmax over μ-law classes (``output="mulaw"``,
  :func:`sample_categorical`, cross-entropy) and a discretized mixture of logistics over
  16-bit audio (``output="mol"``, :func:`discretized_mix_logistic_loss`,
  :func:`sample_from_discretized_mix_logistics`);
* the training protocol of :mod:`voclab.models` (:func:`build`, :func:`make_optimizers`,
  :func:`train_step`, :func:`validation_audio`): Adam, the recipes' step decay of the
  learning rate, and an exponential moving average of the weights.

Where this file differs from r9y9/wavenet_vocoder (none of it changes the model the
paper describes): the convolutions are plain ``nn.Conv1d`` with PyTorch's initialisation
(r9y9 wraps them in weight norm with a Kaiming-normal start) and there is no dropout
(the recipes set it to 0); the recipes' ``conv_in`` over ±2 mel frames (``cin_pad=2``)
before the upsampler is left out, so the mel goes straight to :class:`ConditionUpsampler`,
which repeats the edge frames as context and crops it after upsampling (r9y9's
``UpsampleNetwork`` with ``cin_pad`` crops the same way; in the recipes' default
``ConvInUpsampleNetwork`` the ``conv_in`` consumes the context frames, so the zero-padded
smoothing convs fade over the first and last ``reach`` samples of every window);
their pre-emphasis and global gain of the audio are left to the data; the output at time
``t`` predicts sample ``t`` from samples ``< t`` and the mel at ``t`` (r9y9 aligns the mel
with the input sample, one sample earlier); and the mixture's edge bins are the first and
last 16-bit bins (PixelCNN++'s ``±0.999`` test is that for 8-bit audio).

Notebook: 03_wavenet.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ..spectral import MelConfig

__all__ = [
    "ConditionUpsampler",
    "Config",
    "ResidualBlock",
    "WaveNet",
    "build",
    "cache_length",
    "count_parameters",
    "discretized_mix_logistic_loss",
    "make_optimizers",
    "mu_law_decode",
    "mu_law_encode",
    "negative_log_likelihood",
    "receptive_field",
    "sample_categorical",
    "sample_from_discretized_mix_logistics",
    "teacher_forcing",
    "train_step",
    "update_ema",
    "validation_audio",
]

OUTPUTS = ("mol", "mulaw")
#: classes of the output distribution when ``quantize_channels`` is not given
DEFAULT_QUANTIZE = {"mol": 65536, "mulaw": 256}

# --------------------------------------------------------------------------- μ-law


def _check_mu(mu) -> int:
    if isinstance(mu, bool) or not isinstance(mu, (int, np.integer)) or mu < 1:
        raise ConfigError(f"mu must be a positive integer (255 for 8-bit μ-law), got {mu!r}.")
    return int(mu)


def mu_law_encode(x, mu: int = 255):
    """Compand audio with the μ-law and quantize it to ``mu + 1`` classes.

    ``F(x) = sign(x) · ln(1 + μ|x|) / ln(1 + μ)`` spends the classes where speech lives,
    near zero: with μ = 255 the two classes around silence decode 0.00017 apart, the two
    at full scale 0.043 apart (ITU-T G.711; the WaveNet paper, section 2.2). Then ``q = floor((F(x) + 1) / 2 · μ + 0.5)``: ``[-1, 1]``
    onto the integers ``0 … μ``, silence onto ``round(μ/2)`` (128 for μ = 255).

    The convention differs from r9y9/wavenet_vocoder's: it quantises with nnmnkwii's
    ``mulaw_quantize``, which truncates ``(F(x) + 1) / 2 · μ`` to an integer, so silence is
    class 127 there (its recipes start generation and pad with ``mulaw_quantize(0, 255)``)
    and only ``x = 1`` reaches class 255. voclab rounds to the nearest level: silence is 128,
    and a μ-law checkpoint is not interchangeable between the two.

    Notebook: 03_wavenet.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor [shape=(...)]
        Float audio in ``[-1, 1]``; values outside are clipped first. Computed in the
        input's float dtype (float64 for integer input).
    mu : int
        255 for 8-bit μ-law (256 classes).

    Returns
    -------
    q : np.ndarray or torch.Tensor [shape=(...), dtype=int64]
        Classes in ``[0, mu]``, the same type (and device) as ``x``.

    Raises
    ------
    voclab.errors.ConfigError
        ``mu`` is not a positive integer.

    See Also
    --------
    mu_law_decode

    Examples
    --------
    >>> mu_law_encode(np.array([-1.0, 0.0, 1.0]))
    array([  0, 128, 255])
    """
    mu = _check_mu(mu)
    if isinstance(x, torch.Tensor):
        x = x.clamp(-1.0, 1.0) if x.is_floating_point() else x.double().clamp(-1.0, 1.0)
        companded = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
        return torch.floor((companded + 1) / 2 * mu + 0.5).long()
    x = np.asarray(x)
    x = np.clip(x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.floor((companded + 1) / 2 * mu + 0.5).astype(np.int64)


def mu_law_decode(q, mu: int = 255):
    """Map μ-law classes back to float audio: the inverse of :func:`mu_law_encode` up to quantisation.

    ``y = 2q/μ − 1`` undoes the quantisation, then ``x = sign(y) · ((1 + μ)^|y| − 1) / μ``
    undoes the companding. ``decode(encode(x))`` differs from ``x`` by at most half a step
    of the class ``x`` fell into (the steps grow with the amplitude).

    Notebook: 03_wavenet.

    Parameters
    ----------
    q : np.ndarray or torch.Tensor [shape=(...)]
        Integer classes in ``[0, mu]`` (float arrays of whole numbers are accepted).
    mu : int
        255 for 8-bit μ-law.

    Returns
    -------
    x : np.ndarray or torch.Tensor [shape=(...), dtype=float32]
        Audio in ``[-1, 1]``, the same type (and device) as ``q``; computed in float64.

    Raises
    ------
    voclab.errors.ConfigError
        ``mu`` is not a positive integer.

    See Also
    --------
    mu_law_encode

    Examples
    --------
    >>> mu_law_decode(np.array([0, 128, 255]))
    array([-1.000000e+00,  8.621159e-05,  1.000000e+00], dtype=float32)
    """
    mu = _check_mu(mu)
    if isinstance(q, torch.Tensor):
        y = 2 * q.double() / mu - 1
        return (torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu).float()
    y = 2 * np.asarray(q, dtype=np.float64) / mu - 1
    return (np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu).astype(np.float32)


# --------------------------------------------------------------------------- config


def receptive_field(layers: int, stacks: int, kernel_size: int) -> int:
    """Samples of the past one output of a WaveNet sees: ``(k − 1) · Σ dilations + 1``.

    Layer ``i`` has dilation ``2 ** (i mod (layers / stacks))``: each stack doubles the
    dilation from 1 up, so one stack of ``n`` layers covers ``(k − 1)(2^n − 1) + 1`` samples
    and every further stack adds ``(k − 1)(2^n − 1)``.

    Notebook: 02_dilated_convolutions, 03_wavenet.

    Parameters
    ----------
    layers, stacks, kernel_size : int
        ``layers`` must be a multiple of ``stacks``.

    Returns
    -------
    samples : int

    Raises
    ------
    voclab.errors.ConfigError
        ``layers`` is not a positive multiple of ``stacks``.

    Examples
    --------
    >>> receptive_field(30, 3, 2), receptive_field(30, 3, 3), receptive_field(24, 4, 3)
    (3070, 6139, 505)
    """
    if layers < 1 or stacks < 1 or layers % stacks:
        raise ConfigError(f"layers={layers} must be a positive multiple of stacks={stacks}.")
    per_stack = layers // stacks
    return (kernel_size - 1) * sum(2 ** (i % per_stack) for i in range(layers)) + 1


def cache_length(kernel_size: int, dilation: int) -> int:
    """Past inputs one layer must remember to generate the next sample: ``(k − 1) · dilation``.

    The layer's output at ``t`` reads its inputs at ``t, t − d, …, t − (k − 1)·d``. The
    newest one arrives with the step; the others were computed in earlier steps, and the
    oldest of them lies ``(k − 1)·d`` steps back, so a queue of the last ``(k − 1)·d``
    inputs holds every tap (Paine et al.'s queue of ``d`` inputs is the case ``k = 2``).
    Summed over the layers, the caches hold ``receptive_field − 1`` inputs.

    Notebook: 03_wavenet.

    Parameters
    ----------
    kernel_size, dilation : int
        Positive.

    Returns
    -------
    n : int

    Raises
    ------
    voclab.errors.ConfigError
        A kernel size or dilation below 1.

    Examples
    --------
    >>> cache_length(2, 512), cache_length(3, 512), cache_length(3, 1)
    (512, 1024, 2)
    """
    if min(kernel_size, dilation) < 1:
        raise ConfigError(f"kernel_size and dilation must be positive, got {kernel_size} and {dilation}.")
    return (int(kernel_size) - 1) * int(dilation)


@dataclass
class Config:
    """WaveNet's architecture and training hyper-parameters (default: r9y9's 16-bit MoL recipe).

    The defaults are ``egs/mol/conf/mol_wavenet.json`` of r9y9/wavenet_vocoder: 24 layers
    in 4 stacks (dilations 1 … 32, a receptive field of 505 samples, 23 ms at 22.05 kHz;
    the mel carries the longer context), 128 residual, 256 gate and 128 skip channels,
    a 10-component discretized mixture of logistics over 16-bit audio, 80-band mels
    (125–7600 Hz) upsampled ×4×4×4×4 = 256, Adam at 1e-3 halved every 200k steps,
    EMA 0.9999, batches of 8 × 10240 samples: about 3.67M parameters.
    ``Config(output="mulaw")`` gives a 256-way softmax over μ-law classes with one-hot input.

    Notebook: 03_wavenet.

    Parameters
    ----------
    layers, stacks : int
        Residual blocks, and how many times the dilations restart at 1.
    residual_channels, gate_channels, skip_channels : int
        Width of the residual stream, of the gate's input (split in two halves: tanh and
        sigmoid, so it must be even) and of the skip connections.
    kernel_size : int
        Taps of each dilated causal conv (2 in the paper, 3 in r9y9's recipes).
    output : {"mol", "mulaw"}
        ``"mol"``: scalar input, ``3 · n_mixtures`` outputs (mixture logits, means, log
        scales). ``"mulaw"``: one-hot input and a softmax over ``quantize_channels`` classes.
    quantize_channels : int, optional
        Classes of the output: 65536 (16-bit) for ``"mol"``, 256 (μ = 255) for ``"mulaw"``
        by default.
    n_mixtures : int
        Logistic components of ``"mol"`` (10).
    log_scale_min : float
        Floor of the logistics' log scales (-16.0 in the recipe that uses these channel
        sizes; PixelCNN++'s 8-bit default is -7).
    cin_channels : int
        Mel bands of the local conditioning (80); 0 for an unconditional WaveNet.
    upsample_scales : list of int
        Upsampling factors of :class:`ConditionUpsampler`; their product must equal the
        mel ``hop_length``.
    gin_channels, n_speakers : int
        Global conditioning: a learned ``n_speakers × gin_channels`` embedding (both 0: none).
    mel : str or dict or MelConfig
        The input mel: a preset name (``"wavenet"``: r9y9's 125–7600 Hz, dB normalised to
        [0, 1]) or a :class:`~voclab.spectral.MelConfig` dict.
    learning_rate : float
        Adam's initial learning rate (1e-3).
    betas : tuple of float
        Adam betas (PyTorch's defaults, which the recipes use).
    adam_eps : float
    lr_anneal_rate, lr_anneal_interval : float, int
        The learning rate is multiplied by ``lr_anneal_rate`` every ``lr_anneal_interval``
        optimizer steps (0.5 every 200000).
    ema_decay : float
        Decay of the exponential moving average of the weights (0.9999); 0 turns it off.
    batch_size, segment_size : int
        Training batches of ``batch_size`` clips of ``segment_size`` samples (a multiple of
        the hop).
    seed : int
        Default seed of a training run.

    Raises
    ------
    voclab.errors.ConfigError
        Inconsistent sizes, e.g. ``prod(upsample_scales) != hop_length``.

    Examples
    --------
    >>> cfg = Config()
    >>> cfg.receptive_field, cfg.out_channels, cfg.quantize_channels
    (505, 30, 65536)
    >>> Config(output="mulaw").out_channels
    256
    """

    layers: int = 24
    stacks: int = 4
    residual_channels: int = 128
    gate_channels: int = 256
    skip_channels: int = 128
    kernel_size: int = 3
    output: str = "mol"
    quantize_channels: int | None = None
    n_mixtures: int = 10
    log_scale_min: float = -16.0
    cin_channels: int = 80
    upsample_scales: list = field(default_factory=lambda: [4, 4, 4, 4])
    gin_channels: int = 0
    n_speakers: int = 0
    mel: Any = "wavenet"
    learning_rate: float = 1e-3
    betas: tuple = (0.9, 0.999)
    adam_eps: float = 1e-8
    lr_anneal_rate: float = 0.5
    lr_anneal_interval: int = 200_000
    ema_decay: float = 0.9999
    batch_size: int = 8
    segment_size: int = 10240
    seed: int = 1234

    def __post_init__(self):
        self.upsample_scales = [int(s) for s in self.upsample_scales]
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives a list
        if isinstance(self.mel, MelConfig):
            self.mel = self.mel.to_dict()
        problems = []
        if self.output not in OUTPUTS:
            problems.append(f"output must be 'mol' or 'mulaw' (got {self.output!r})")
        elif self.quantize_channels is None:
            self.quantize_channels = DEFAULT_QUANTIZE[self.output]
        if self.quantize_channels is not None and self.quantize_channels < 2:
            problems.append(f"quantize_channels must be at least 2 (got {self.quantize_channels})")
        if self.layers < 1 or self.stacks < 1 or self.layers % self.stacks:
            problems.append(f"layers={self.layers} must be a positive multiple of stacks={self.stacks}")
        if self.gate_channels < 2 or self.gate_channels % 2:
            problems.append(f"gate_channels={self.gate_channels} must be even: half go through tanh, "
                            "half through the sigmoid")
        if min(self.residual_channels, self.skip_channels) < 1:
            problems.append("residual_channels and skip_channels must be positive")
        if self.kernel_size < 2:
            problems.append(f"kernel_size must be at least 2 (got {self.kernel_size}): with 1 tap "
                            "a layer sees only the previous sample")
        if self.n_mixtures < 1:
            problems.append(f"n_mixtures must be positive (got {self.n_mixtures})")
        if (self.gin_channels > 0) != (self.n_speakers > 0):
            problems.append(f"gin_channels={self.gin_channels} and n_speakers={self.n_speakers}: "
                            "speaker conditioning needs both (or neither)")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"ema_decay must lie in [0, 1) (got {self.ema_decay}; 0 turns the EMA off)")
        if not 0 < self.lr_anneal_rate <= 1 or self.lr_anneal_interval < 1:
            problems.append("lr_anneal_rate must lie in (0, 1] and lr_anneal_interval be at least 1 step")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas must be two numbers in [0, 1) (got {self.betas})")
        mel = self.mel_config  # raises ConfigError for an unknown preset or field
        hop = mel.hop_length
        if self.cin_channels < 0:
            problems.append(f"cin_channels must be >= 0 (got {self.cin_channels})")
        elif self.cin_channels > 0:
            if self.cin_channels != mel.n_mels:
                problems.append(f"cin_channels={self.cin_channels} must equal the mel's n_mels={mel.n_mels}")
            if not self.upsample_scales or min(self.upsample_scales) < 1:
                problems.append(f"upsample_scales must be positive integers (got {self.upsample_scales})")
            elif math.prod(self.upsample_scales) != hop:
                problems.append(
                    f"prod(upsample_scales) = {'*'.join(map(str, self.upsample_scales))} = "
                    f"{math.prod(self.upsample_scales)} must equal the mel hop_length = {hop}: "
                    "each mel frame conditions hop_length samples")
        if self.segment_size <= 0 or self.segment_size % hop:
            problems.append(f"segment_size={self.segment_size} must be a positive multiple of hop_length={hop}")
        if problems:
            raise ConfigError("Invalid WaveNet Config: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly dict (``Config(**cfg.to_dict()) == cfg``)."""
        return dataclasses.asdict(self)

    @property
    def mel_config(self) -> MelConfig:
        """The input mel settings (what :meth:`WaveNet.forward` and :meth:`WaveNet.generate` are fed)."""
        return MelConfig.resolve(self.mel)

    @property
    def dilations(self) -> list[int]:
        """Dilation of each layer: ``2 ** (i mod (layers / stacks))``."""
        per_stack = self.layers // self.stacks
        return [2 ** (i % per_stack) for i in range(self.layers)]

    @property
    def receptive_field(self) -> int:
        """Samples of the past one output sees (:func:`receptive_field`)."""
        return receptive_field(self.layers, self.stacks, self.kernel_size)

    @property
    def in_channels(self) -> int:
        """Channels of the input: one-hot classes (``"mulaw"``) or one scalar sample (``"mol"``)."""
        return self.quantize_channels if self.output == "mulaw" else 1

    @property
    def out_channels(self) -> int:
        """Channels of the output: class logits (``"mulaw"``) or ``3 · n_mixtures`` (``"mol"``)."""
        return self.quantize_channels if self.output == "mulaw" else 3 * self.n_mixtures

    @property
    def mu(self) -> int:
        """μ of the μ-law (``quantize_channels − 1``)."""
        return self.quantize_channels - 1


# --------------------------------------------------------------------------- networks


def _pointwise(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A 1×1 ``conv`` applied to one time step ``x (B, C_in)`` -> ``(B, C_out)``."""
    return F.linear(x, conv.weight[:, :, 0], conv.bias)


class ResidualBlock(nn.Module):
    """One WaveNet layer: dilated causal conv, gated activation, residual and skip outputs.

    ``a = conv(x) [+ conv1x1c(c)] [+ conv1x1g(g)]``, split along channels into halves
    ``a_tanh, a_sigmoid``; ``z = tanh(a_tanh) · σ(a_sigmoid)`` (the gate of PixelCNN,
    van den Oord et al. 2016); ``skip = conv1x1_skip(z)``;
    ``out = (conv1x1_out(z) + x) · √0.5`` (the √0.5 keeps the residual stream's variance
    from growing layer by layer). The conv is made causal by padding ``(k − 1) · dilation``
    zeros on the left only: output ``t`` sees inputs ``t − (k−1)·dilation … t``.

    Notebook: 03_wavenet.

    Parameters
    ----------
    residual_channels, gate_channels, skip_channels : int
        ``gate_channels`` must be even.
    kernel_size, dilation : int
    cin_channels, gin_channels : int
        Channels of the local (upsampled mel) and global (speaker) conditioning; 0: none.

    Examples
    --------
    >>> block = ResidualBlock(8, 16, 4, kernel_size=3, dilation=2, cin_channels=5)
    >>> out, skip = block(torch.randn(2, 8, 50), torch.randn(2, 5, 50))
    >>> out.shape, skip.shape
    (torch.Size([2, 8, 50]), torch.Size([2, 4, 50]))
    """

    def __init__(self, residual_channels: int, gate_channels: int, skip_channels: int, kernel_size: int,
                 dilation: int, cin_channels: int = 0, gin_channels: int = 0):
        super().__init__()
        if gate_channels % 2:
            raise ConfigError(f"gate_channels={gate_channels} must be even: half tanh, half sigmoid.")
        self.kernel_size, self.dilation = int(kernel_size), int(dilation)
        self.conv = nn.Conv1d(residual_channels, gate_channels, kernel_size, dilation=dilation, padding=0)
        self.conv1x1c = nn.Conv1d(cin_channels, gate_channels, 1, bias=False) if cin_channels > 0 else None
        self.conv1x1g = nn.Conv1d(gin_channels, gate_channels, 1, bias=False) if gin_channels > 0 else None
        self.conv1x1_out = nn.Conv1d(gate_channels // 2, residual_channels, 1)
        self.conv1x1_skip = nn.Conv1d(gate_channels // 2, skip_channels, 1)

    @property
    def context(self) -> int:
        """Inputs one output depends on: ``(k − 1) · dilation + 1``, :func:`cache_length` and the newest."""
        return cache_length(self.kernel_size, self.dilation) + 1

    def _check_conditioning(self, c, g) -> None:
        if c is not None and self.conv1x1c is None:
            raise ShapeError("This ResidualBlock has no local conditioning (cin_channels=0): pass c=None.")
        if g is not None and self.conv1x1g is None:
            raise ShapeError("This ResidualBlock has no global conditioning (gin_channels=0): pass g=None.")

    @staticmethod
    def _gate(a: torch.Tensor) -> torch.Tensor:
        """``tanh`` of the first half of the channels times ``σ`` of the second half."""
        a_tanh, a_sigmoid = a.chunk(2, dim=1)
        return torch.tanh(a_tanh) * torch.sigmoid(a_sigmoid)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None,
                g: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block on a whole sequence (teacher forcing).

        Parameters
        ----------
        x : torch.Tensor [shape=(B, residual_channels, T)]
        c : torch.Tensor [shape=(B, cin_channels, T)], optional
            Local conditioning, already upsampled to one vector per sample.
        g : torch.Tensor [shape=(B, gin_channels, 1)], optional
            Global conditioning, broadcast over time.

        Returns
        -------
        out : torch.Tensor [shape=(B, residual_channels, T)]
        skip : torch.Tensor [shape=(B, skip_channels, T)]
        """
        a = self.conv(F.pad(x, ((self.kernel_size - 1) * self.dilation, 0)))  # (B, gate, T)
        cond = self.conditioning(c, g)
        if cond is not None:
            a = a + cond
        z = self._gate(a)  # (B, gate / 2, T)
        return (self.conv1x1_out(z) + x) * math.sqrt(0.5), self.conv1x1_skip(z)

    def conditioning(self, c: torch.Tensor | None = None, g: torch.Tensor | None = None) -> torch.Tensor | None:
        """What the mel and the speaker add to the gate's input: ``conv1x1c(c) + conv1x1g(g)``.

        It does not depend on the generated samples, so cached generation computes it for
        many time steps at once, outside the sample-by-sample loop.

        Parameters
        ----------
        c : torch.Tensor [shape=(B, cin_channels, T)], optional
        g : torch.Tensor [shape=(B, gin_channels, 1)], optional

        Returns
        -------
        cond : torch.Tensor [shape=(B, gate_channels, T or 1)] or None
            None when the block has no conditioning.
        """
        self._check_conditioning(c, g)
        cond = self.conv1x1c(c) if c is not None else None
        if g is not None:
            cond = self.conv1x1g(g) if cond is None else cond + self.conv1x1g(g)
        return cond

    def step_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The block's weights laid out for :meth:`step`, prepared once per generation.

        Returns
        -------
        taps_weight : torch.Tensor [shape=(residual_channels · kernel_size, gate_channels)]
            The dilated conv as one matrix over its ``k`` taps.
        out_skip_weight : torch.Tensor [shape=(gate_channels / 2, residual_channels + skip_channels)]
            The residual and skip 1×1 convs side by side: one product instead of two.
        out_skip_bias : torch.Tensor [shape=(residual_channels + skip_channels,)]
        """
        taps_weight = self.conv.weight.reshape(self.conv.out_channels, -1).t().contiguous()
        out_skip_weight = torch.cat([self.conv1x1_out.weight[:, :, 0], self.conv1x1_skip.weight[:, :, 0]]).t().contiguous()
        return taps_weight, out_skip_weight, torch.cat([self.conv1x1_out.bias, self.conv1x1_skip.bias])

    def step(self, window: torch.Tensor, gate_bias: torch.Tensor, weights) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's output at the newest sample only, from the last :attr:`context` inputs.

        What cached generation calls once per sample: the dilated conv needs only the
        ``k`` taps ``x[t − (k−1)·d], …, x[t − d], x[t]`` of the window, so one step costs
        two small matrix products whatever the dilation. Equals the last column of
        :meth:`forward` on the same inputs.

        Parameters
        ----------
        window : torch.Tensor [shape=(B, residual_channels, context)]
            The block's inputs at ``t − context + 1 … t`` (zeros before the start).
        gate_bias : torch.Tensor [shape=(B, gate_channels)]
            What is added to the taps' product at ``t``: the conv's bias plus
            :meth:`conditioning` at ``t``.
        weights : tuple
            :meth:`step_weights`.

        Returns
        -------
        out : torch.Tensor [shape=(B, residual_channels)]
        skip : torch.Tensor [shape=(B, skip_channels)]
        """
        if window.shape[-1] != self.context:
            raise ShapeError(f"ResidualBlock.step needs the last {self.context} inputs, got {window.shape[-1]}.")
        taps_weight, out_skip_weight, out_skip_bias = weights
        taps = window[:, :, :: self.dilation].reshape(len(window), -1)  # (B, residual · k), the conv's order
        z = self._gate(torch.addmm(gate_bias, taps, taps_weight))  # (B, gate / 2)
        out_skip = torch.addmm(out_skip_bias, z, out_skip_weight)  # (B, residual + skip)
        residual = window.shape[1]
        return (out_skip[:, :residual] + window[:, :, -1]) * math.sqrt(0.5), out_skip[:, residual:]


class ConditionUpsampler(nn.Module):
    """Stretch mel frames to the sample rate: nearest-neighbour repeat, then smooth, per scale.

    For each scale ``s``: repeat every frame ``s`` times along time, then a
    ``Conv2d(1, 1, (1, 2s + 1))`` over time (each band on its own, same weights for all
    bands), initialised to the moving average ``1 / (2s + 1)`` and learned. r9y9's
    ``UpsampleNetwork`` (Stretch2d + Conv2d, no bias, no activation). After all scales one
    frame covers ``prod(scales)`` samples, which must be the hop.

    Together the smoothing convs reach :attr:`reach` samples past a frame's edge
    (``Σ_i s_i · prod(s_j, j > i)``: 340 for ``[4, 4, 4, 4]``). Their zero padding would make
    the first and last :attr:`reach` samples of every window fade towards zero, so
    :meth:`forward` first repeats the edge frames :attr:`pad_frames` times on each side
    (``F.pad(..., mode="replicate")``, as r9y9's ``evaluate.py`` pads a mel for its
    ``cin_pad``) and crops ``pad_frames · hop`` samples from each end afterwards (as r9y9's
    ``UpsampleNetwork`` crops its ``indent``). Padding adds no parameter: checkpoints load
    as they are.

    Notebook: 03_wavenet.

    Parameters
    ----------
    upsample_scales : list of int
    pad_frames : int, optional
        Context frames repeated at each edge. By default the fewest that cover the
        reach, ``ceil(reach / hop)`` (2 for ``[4, 4, 4, 4]``); more change nothing; 0 gives
        the unpadded upsampler whose edges fade.

    Raises
    ------
    voclab.errors.ConfigError
        A scale below 1 or a negative ``pad_frames``.

    Examples
    --------
    >>> up = ConditionUpsampler([4, 4])
    >>> up(torch.randn(2, 80, 10)).shape, up.reach, up.pad_frames
    (torch.Size([2, 80, 160]), 20, 2)
    >>> torch.allclose(up(torch.ones(1, 3, 5)), torch.ones(1, 3, 80))  # no edge fades
    True
    """

    def __init__(self, upsample_scales, pad_frames: int | None = None):
        super().__init__()
        self.upsample_scales = [int(s) for s in upsample_scales]
        if not self.upsample_scales or min(self.upsample_scales) < 1:
            raise ConfigError(f"upsample_scales must be positive integers, got {upsample_scales}.")
        if pad_frames is not None and (isinstance(pad_frames, bool) or int(pad_frames) != pad_frames
                                       or pad_frames < 0):
            raise ConfigError(f"pad_frames must be a whole number >= 0 (or None: enough to cover the "
                              f"smoothing's reach), got {pad_frames!r}.")
        self.pad_frames = -(-self.reach // self.hop) if pad_frames is None else int(pad_frames)
        self.up_layers = nn.ModuleList()
        for s in self.upsample_scales:
            conv = nn.Conv2d(1, 1, (1, 2 * s + 1), padding=(0, s), bias=False)
            nn.init.constant_(conv.weight, 1.0 / (2 * s + 1))
            self.up_layers.append(conv)

    @property
    def hop(self) -> int:
        """Samples per frame after upsampling: ``prod(upsample_scales)``."""
        return math.prod(self.upsample_scales)

    @property
    def reach(self) -> int:
        """Output samples the smoothing convs reach past a frame's edge: ``Σ_i s_i · prod(s_j, j > i)``."""
        return sum(s * math.prod(self.upsample_scales[i + 1:]) for i, s in enumerate(self.upsample_scales))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames) -> (B, n_mels, frames · prod(scales))``.

        Parameters
        ----------
        c : torch.Tensor [shape=(B, n_mels, frames)]

        Returns
        -------
        c_up : torch.Tensor [shape=(B, n_mels, frames · hop)]
        """
        if c.ndim != 3 or c.shape[-1] < 1:
            raise ShapeError(f"ConditionUpsampler takes a mel of shape (B, n_mels, frames ≥ 1), got {tuple(c.shape)}.")
        pad = self.pad_frames
        h = F.pad(c, (pad, pad), mode="replicate") if pad else c  # the edge frames, repeated: context
        h = h.unsqueeze(1)  # (B, 1, n_mels, frames + 2·pad): bands are the conv's "height"
        for s, conv in zip(self.upsample_scales, self.up_layers):
            h = conv(h.repeat_interleave(s, dim=-1))  # stretch ×s, then smooth over 2s + 1 samples
        crop = pad * self.hop
        return h[:, 0, :, crop:h.shape[-1] - crop]  # the context's samples cut off again


class WaveNet(nn.Module):
    """The WaveNet vocoder: logits of every sample given the samples before it and the mel.

    ``first_conv`` (1×1) lifts the previous sample — one-hot μ-law class or scalar — to
    ``residual_channels``; :attr:`layers` are :class:`ResidualBlock` with dilations
    ``2 ** (i mod (layers / stacks))``; their skip outputs are summed, scaled by
    ``√(1 / layers)`` and go through ``last_conv_layers`` (ReLU → 1×1 → ReLU → 1×1).
    :attr:`upsample_net` turns the mel into one conditioning vector per sample and
    :attr:`embed_speakers` gives the speaker's vector.

    Training is teacher-forced (:meth:`forward`: all outputs in one parallel pass, the
    true previous samples as input); generation is autoregressive (:meth:`generate`: one
    sample at a time, each fed back as the next input).

    Notebook: 03_wavenet.

    Parameters
    ----------
    cfg : Config

    Examples
    --------
    >>> cfg = Config(output="mulaw", layers=4, stacks=2, residual_channels=8, gate_channels=16,
    ...              skip_channels=8, cin_channels=0, segment_size=256)
    >>> model = WaveNet(cfg)
    >>> model(torch.zeros(1, 256, 100)).shape
    torch.Size([1, 256, 100])
    >>> model.generate(length=20).shape
    torch.Size([1, 20])
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.first_conv = nn.Conv1d(cfg.in_channels, cfg.residual_channels, 1)
        self.layers = nn.ModuleList(
            ResidualBlock(cfg.residual_channels, cfg.gate_channels, cfg.skip_channels, cfg.kernel_size,
                          dilation, cin_channels=cfg.cin_channels, gin_channels=cfg.gin_channels)
            for dilation in cfg.dilations)
        self.last_conv_layers = nn.Sequential(
            nn.ReLU(), nn.Conv1d(cfg.skip_channels, cfg.skip_channels, 1),
            nn.ReLU(), nn.Conv1d(cfg.skip_channels, cfg.out_channels, 1))
        self.upsample_net = ConditionUpsampler(cfg.upsample_scales) if cfg.cin_channels > 0 else None
        self.embed_speakers = nn.Embedding(cfg.n_speakers, cfg.gin_channels) if cfg.n_speakers > 0 else None

    @property
    def receptive_field(self) -> int:
        """Samples of the past one output sees: ``(k − 1) · Σ dilations + 1``."""
        return self.cfg.receptive_field

    # -- inputs

    def _zero_sample(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        """The input before the first sample: silence, as a one-hot class or a scalar. (B, in_channels)."""
        x = torch.zeros(batch, self.cfg.in_channels, dtype=like.dtype, device=like.device)
        if self.cfg.output == "mulaw":
            x[:, int(mu_law_encode(np.float64(0.0), self.cfg.mu))] = 1
        return x

    def _upsampled_mel(self, c: torch.Tensor | None, batch: int, samples: int | None) -> torch.Tensor | None:
        """Check the mel and upsample it to one vector per sample: (B, cin, frames · hop)."""
        cfg = self.cfg
        if self.upsample_net is None:
            if c is not None:
                raise ShapeError("This WaveNet is unconditional (cin_channels=0): pass c=None.")
            return None
        if c is None:
            raise ShapeError(f"This WaveNet is conditioned on a mel: pass c of shape (B, {cfg.cin_channels}, frames).")
        if c.ndim != 3 or c.shape[1] != cfg.cin_channels or c.shape[0] != batch:
            hint = " (it looks transposed: frames before bands)" if c.ndim == 3 and c.shape[2] == cfg.cin_channels else ""
            raise ShapeError(f"The mel c must have shape (B={batch}, n_mels={cfg.cin_channels}, frames), "
                             f"got {tuple(c.shape)}{hint}.")
        hop = math.prod(cfg.upsample_scales)  # not upsample_net.hop: any upsampler with these scales fits
        if samples is not None and c.shape[-1] * hop != samples:
            raise ShapeError(f"The mel has {c.shape[-1]} frames × hop {hop} = {c.shape[-1] * hop} samples, but x has "
                             f"{samples}: give frames = T / {hop} (crop the audio to a multiple of the hop).")
        return self.upsample_net(c.to(self.first_conv.weight.dtype))

    def _speaker_vectors(self, g: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """Speaker ids (B,) -> embeddings (B, gin, 1), or None."""
        cfg = self.cfg
        if self.embed_speakers is None:
            if g is not None:
                raise ShapeError("This WaveNet has no speaker conditioning (n_speakers=0): pass g=None.")
            return None
        if g is None:
            raise ShapeError(f"This WaveNet is conditioned on a speaker: pass g, int64 ids (B,) in [0, {cfg.n_speakers}).")
        g = torch.as_tensor(g, device=self.first_conv.weight.device)
        if g.ndim != 1 or len(g) != batch or g.is_floating_point():
            raise ShapeError(f"g must hold one integer speaker id per item, shape ({batch},); got {tuple(g.shape)} "
                             f"{g.dtype}.")
        if g.min() < 0 or g.max() >= cfg.n_speakers:
            raise ShapeError(f"speaker ids must lie in [0, {cfg.n_speakers}); got {g.tolist()}.")
        return self.embed_speakers(g.long()).unsqueeze(-1)  # (B, gin, 1)

    def _logits(self, x: torch.Tensor, c_up: torch.Tensor | None, g_vec: torch.Tensor | None) -> torch.Tensor:
        """The network proper, on checked inputs: (B, in, T) -> (B, out, T)."""
        h = self.first_conv(x)  # (B, residual, T)
        skips = 0
        for layer in self.layers:
            h, skip = layer(h, c_up, g_vec)
            skips = skips + skip  # (B, skip, T)
        h = self.last_conv_layers[:-1](skips * math.sqrt(1.0 / len(self.layers)))  # ReLU → 1×1 → ReLU
        # The output layer in float32 even under bf16 autocast: bf16 mixture means would take
        # only 256 values in [-1, 1], far coarser than the 16-bit audio they model.
        with torch.autocast(h.device.type, enabled=False):
            return self.last_conv_layers[-1](h.to(torch.promote_types(h.dtype, torch.float32)))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, g: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits: the distribution of every sample given the true samples before it.

        Notebook: 03_wavenet.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, in_channels, T)]
            The *previous* samples (:func:`teacher_forcing` shifts the audio right by one):
            one-hot μ-law classes ``(B, quantize_channels, T)`` for ``"mulaw"``, the audio
            ``(B, 1, T)`` for ``"mol"``.
        c : torch.Tensor [shape=(B, cin_channels, frames)], optional
            The mel, with ``frames · hop == T`` (upsampled inside).
        g : torch.Tensor [shape=(B,), dtype=int64], optional
            Speaker ids.

        Returns
        -------
        logits : torch.Tensor [shape=(B, out_channels, T)]
            Class logits (``"mulaw"``) or mixture parameters (``"mol"``); output ``t``
            depends on ``x[..., t − receptive_field + 1 … t]`` and on the mel.

        Raises
        ------
        voclab.errors.ShapeError
            Wrong input channels, a missing or extra conditioning, or a mel whose
            ``frames · hop`` is not ``T`` (the message names both).
        """
        cfg = self.cfg
        if x.ndim != 3 or x.shape[1] != cfg.in_channels:
            what = (f"one-hot μ-law classes (B, {cfg.in_channels}, T): "
                    f"F.one_hot(classes, {cfg.in_channels}).transpose(1, 2).float()"
                    if cfg.output == "mulaw" else "the audio as (B, 1, T)")
            raise ShapeError(f"WaveNet(output={cfg.output!r}) takes {what}; got x of shape {tuple(x.shape)}.")
        c_up = self._upsampled_mel(c, len(x), x.shape[-1])
        return self._logits(x, c_up, self._speaker_vectors(g, len(x)))

    # -- generation

    def _draw(self, logits: torch.Tensor, temperature: float, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample one step from logits (B, out): (the sample to keep (B,), the next input (B, in))."""
        cfg = self.cfg
        if cfg.output == "mulaw":
            classes = sample_categorical(logits, temperature, generator)
            return classes, F.one_hot(classes, cfg.quantize_channels).to(logits.dtype)
        value = sample_from_discretized_mix_logistics(
            logits[:, :, None], num_classes=cfg.quantize_channels, log_scale_min=cfg.log_scale_min,
            temperature=temperature, generator=generator)[:, 0]
        return value, value[:, None]

    @torch.no_grad()
    def generate(self, c: torch.Tensor | None = None, g: torch.Tensor | None = None, length: int | None = None, *,
                 temperature: float = 1.0, cached: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """Autoregressive sampling: draw sample ``t`` from the model, feed it back, repeat.

        Starts from silence (the class ``mu_law_encode(0)`` or the value 0). The naive
        algorithm (``cached=False``) recomputes the network on the last
        :attr:`receptive_field` inputs for every new sample: ``O(receptive_field · layers)``
        per sample. The cached one (Paine et al. 2016) keeps, per layer, a buffer of its
        last ``(k − 1) · dilation + 1`` inputs — the only values its next output needs —
        and computes one new column per layer (:meth:`ResidualBlock.step`): ``O(layers)``.
        Both draw the same random numbers in the same order, so with the same
        ``generator`` they give the same samples: their logits agree to rounding
        (about 1e-13 in float64, ``model.double()``; the two compute the same sums in
        another order), and a sample could differ only if a random draw fell that close to
        a decision boundary.

        Notebook: 03_wavenet.

        Parameters
        ----------
        c : torch.Tensor [shape=(B, cin_channels, frames)], optional
            The mel (required when ``cin_channels > 0``).
        g : torch.Tensor [shape=(B,), dtype=int64], optional
            Speaker ids (required when ``n_speakers > 0``).
        length : int, optional
            Samples to generate; default (and at most) ``frames · hop`` when ``c`` is
            given; required for an unconditional model.
        temperature : float
            ``"mulaw"``: the logits are divided by it. ``"mol"``: the mixture logits are
            divided by it and the logistics' scales multiplied by it. 1 samples the model;
            lower is more conservative; 0 takes the most likely class (or component and its
            mean) and draws no random numbers.
        cached : bool
            Fast (True) or naive (False) generation.
        generator : torch.Generator, optional
            Random source (on the model's device); default: torch's global one.

        Returns
        -------
        audio : torch.Tensor [shape=(B, length), dtype=float32]
            In ``[-1, 1]``: decoded μ-law classes, or samples of the mixture on the
            ``quantize_channels``-level grid.

        Raises
        ------
        voclab.errors.ShapeError
            A missing or malformed mel or speaker id, or a length the mel does not cover.
        voclab.errors.ConfigError
            A negative temperature.

        Examples
        --------
        >>> model = WaveNet(Config(output="mulaw", layers=2, stacks=1, residual_channels=4,
        ...                        gate_channels=8, skip_channels=4, cin_channels=0, segment_size=256)).double()
        >>> a = model.generate(length=50, cached=True, generator=torch.Generator().manual_seed(0))
        >>> b = model.generate(length=50, cached=False, generator=torch.Generator().manual_seed(0))
        >>> torch.equal(a, b)
        True
        """
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0 (got {temperature}).")
        batch = len(c) if c is not None else (len(g) if g is not None else 1)
        like = self.first_conv.weight
        c_up = self._upsampled_mel(c, batch, None)
        g_vec = self._speaker_vectors(g, batch)
        available = c_up.shape[-1] if c_up is not None else None
        if length is None:
            if available is None:
                raise ShapeError("An unconditional WaveNet needs length=… (samples to generate).")
            length = available
        if length < 1 or (available is not None and length > available):
            raise ShapeError(f"length={length} must lie in [1, {available}] (frames × hop of the mel)."
                             if available is not None else f"length must be at least 1 (got {length}).")
        run = self._generate_cached if cached else self._generate_naive
        with torch.inference_mode():  # less bookkeeping per small op than no_grad: the loops are thousands of them
            drawn = run(c_up, g_vec, batch, length, temperature, generator, like)
        drawn = drawn.clone()  # an ordinary tensor again, usable anywhere (inference tensors are not)
        if self.cfg.output == "mulaw":
            return mu_law_decode(drawn, self.cfg.mu)
        return drawn.float()

    def _generate_naive(self, c_up, g_vec, batch, length, temperature, generator, like) -> torch.Tensor:
        inputs = torch.zeros(batch, self.cfg.in_channels, length, dtype=like.dtype, device=like.device)
        inputs[:, :, 0] = self._zero_sample(batch, like)
        drawn = []
        for t in range(length):
            start = max(0, t - self.receptive_field + 1)  # the window output t depends on
            window_c = c_up[:, :, start:t + 1] if c_up is not None else None
            logits = self._logits(inputs[:, :, start:t + 1], window_c, g_vec)[:, :, -1]  # (B, out)
            sample, next_input = self._draw(logits, temperature, generator)
            drawn.append(sample)
            if t + 1 < length:
                inputs[:, :, t + 1] = next_input
        return torch.stack(drawn, dim=1)  # (B, length)

    def _generate_cached(self, c_up, g_vec, batch, length, temperature, generator, like) -> torch.Tensor:
        # Per layer, a ring buffer of its last `context` inputs (zeros before the start: the causal
        # padding of forward()). It is stored twice over, so the newest `context` inputs are always
        # one contiguous slice [t+1 : t+1+context] (mod context) and nothing is shifted or copied.
        buffers = [torch.zeros(batch, self.cfg.residual_channels, 2 * layer.context, dtype=like.dtype,
                               device=like.device) for layer in self.layers]
        weights = [layer.step_weights() for layer in self.layers]
        scale = math.sqrt(1.0 / len(self.layers))
        chunk = 4096  # the conditioning does not depend on the samples: compute it for this many steps at once
        x = self._zero_sample(batch, like)  # (B, in)
        drawn = []
        for t in range(length):
            if t % chunk == 0:
                c_chunk = c_up[:, :, t:t + chunk] if c_up is not None else None
                gate_biases = []
                for layer in self.layers:
                    cond = layer.conditioning(c_chunk, g_vec)  # (B, gate, chunk or 1) or None
                    bias = layer.conv.bias[None, :, None] + (0 if cond is None else cond)
                    gate_biases.append(bias.expand(batch, -1, -1).permute(2, 0, 1).contiguous())  # (chunk or 1, B, gate)
            h = _pointwise(self.first_conv, x)  # (B, residual)
            skips = 0
            for layer, buffer, gate_bias, w in zip(self.layers, buffers, gate_biases, weights):
                n = layer.context
                slot = t % n
                buffer[:, :, slot] = h
                buffer[:, :, slot + n] = h
                at_t = gate_bias[t % chunk if len(gate_bias) > 1 else 0]  # (B, gate)
                h, skip = layer.step(buffer[:, :, slot + 1:slot + 1 + n], at_t, w)  # inputs t-n+1 … t
                skips = skips + skip
            logits = self.last_conv_layers((skips * scale)[:, :, None])[:, :, 0]  # (B, out)
            sample, x = self._draw(logits, temperature, generator)
            drawn.append(sample)
        return torch.stack(drawn, dim=1)


# --------------------------------------------------------------------------- output distributions


def sample_categorical(logits: torch.Tensor, temperature: float = 1.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one class per row from ``softmax(logits / temperature)``.

    Temperature reshapes the distribution without retraining: below 1 it sharpens it
    (safer, duller samples), above 1 it flattens it; 0 takes the most likely class and
    draws no random number. One ``torch.multinomial`` call per batch.

    Notebook: 03_wavenet.

    Parameters
    ----------
    logits : torch.Tensor [shape=(B, C)]
    temperature : float
        ``>= 0``.
    generator : torch.Generator, optional

    Returns
    -------
    classes : torch.Tensor [shape=(B,), dtype=int64]

    Raises
    ------
    voclab.errors.ShapeError, voclab.errors.ConfigError
        Logits that are not 2-D; a negative temperature.

    Examples
    --------
    >>> sample_categorical(torch.tensor([[0.0, 5.0, 1.0]]), temperature=0)
    tensor([1])
    """
    if logits.ndim != 2:
        raise ShapeError(f"sample_categorical takes logits of shape (B, C), got {tuple(logits.shape)}.")
    if temperature < 0:
        raise ConfigError(f"temperature must be >= 0 (got {temperature}).")
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _mixture_parameters(y_hat: torch.Tensor, log_scale_min: float):
    """Split (B, 3M, T) into logits, means and clamped log scales, each (B, M, T)."""
    if y_hat.ndim != 3 or y_hat.shape[1] % 3:
        raise ShapeError(f"mixture parameters must have shape (B, 3·n_mixtures, T), got {tuple(y_hat.shape)}.")
    logit_probs, means, log_scales = y_hat.chunk(3, dim=1)
    return logit_probs, means, log_scales.clamp(min=log_scale_min)


def discretized_mix_logistic_loss(y_hat: torch.Tensor, y: torch.Tensor, *, num_classes: int = 65536,
                                  log_scale_min: float = -16.0, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood of audio under a discretized mixture of logistics (PixelCNN++).

    Each sample is a mixture of ``M`` logistic distributions (weights ``softmax(logits)``,
    means ``μ_i``, scales ``s_i = exp(log_scale_i)``), integrated over the sample's bin of
    width ``2 / (num_classes − 1)``: ``P(y) = Σ_i π_i [σ((y + b − μ_i)/s_i) − σ((y − b − μ_i)/s_i)]``
    with ``b`` half a bin. The first bin takes all the mass below it and the last all the
    mass above (the waveform is clipped to ``[-1, 1]``); where a bin's probability is
    below 1e-5 the density at its centre times the bin width stands in, for numerical
    safety (Salimans et al. 2017; r9y9's ``mixture.py``).

    Notebook: 03_wavenet.

    Parameters
    ----------
    y_hat : torch.Tensor [shape=(B, 3 · M, T)]
        Mixture logits, means, log scales (in this order along channels).
    y : torch.Tensor [shape=(B, T) or (B, 1, T)]
        Target audio in ``[-1, 1]``.
    num_classes : int
        Levels of the audio (65536 for 16-bit).
    log_scale_min : float
        Floor of the log scales.
    reduction : {"mean", "none"}
        Mean over batch and time (nats per sample), or per sample ``(B, T)``.

    Returns
    -------
    nll : torch.Tensor [shape=() or (B, T)]

    Raises
    ------
    voclab.errors.ShapeError
        ``y_hat`` not ``(B, 3M, T)`` or ``y`` of another length.
    """
    logit_probs, means, log_scales = _mixture_parameters(y_hat, log_scale_min)
    if y.ndim == 3:
        y = y[:, 0]
    if y.shape != (y_hat.shape[0], y_hat.shape[2]):
        raise ShapeError(f"target audio of shape {tuple(y.shape)} does not match the mixture parameters "
                         f"{tuple(y_hat.shape)}: expected ({y_hat.shape[0]}, {y_hat.shape[2]}).")
    if reduction not in ("mean", "none"):
        raise ConfigError(f"reduction must be 'mean' or 'none' (got {reduction!r}).")
    half_bin = 1.0 / (num_classes - 1)
    y = y.unsqueeze(1)  # (B, 1, T): broadcast over the components
    centered = y - means
    inv_scale = torch.exp(-log_scales)
    plus_in = inv_scale * (centered + half_bin)
    min_in = inv_scale * (centered - half_bin)
    log_cdf_plus = plus_in - F.softplus(plus_in)  # log σ(plus_in): everything below the first bin's top
    log_one_minus_cdf_min = -F.softplus(min_in)  # log(1 − σ(min_in)): everything above the last bin's bottom
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    mid_in = inv_scale * centered
    log_pdf_mid = mid_in - log_scales - 2 * F.softplus(mid_in)  # log density at the bin centre
    log_prob_bin = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp(min=1e-12)),
                               log_pdf_mid - math.log((num_classes - 1) / 2))
    log_probs = torch.where(y <= -1 + half_bin, log_cdf_plus,
                            torch.where(y >= 1 - half_bin, log_one_minus_cdf_min, log_prob_bin))
    nll = -torch.logsumexp(log_probs + F.log_softmax(logit_probs, dim=1), dim=1)  # (B, T)
    return nll.mean() if reduction == "mean" else nll


def sample_from_discretized_mix_logistics(y_hat: torch.Tensor, *, num_classes: int = 65536,
                                          log_scale_min: float = -16.0, temperature: float = 1.0,
                                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw audio from a discretized mixture of logistics: pick a component, then a value.

    The component comes from :func:`sample_categorical` on the mixture logits; the value
    from the inverse CDF of its logistic, ``μ + s · (ln u − ln(1 − u))`` with ``u`` uniform
    in ``(1e-5, 1 − 1e-5)`` (as r9y9), clipped to ``[-1, 1]`` and rounded to the nearest of
    the ``num_classes`` levels: an exact draw from the discretized distribution that
    :func:`discretized_mix_logistic_loss` trains. Temperature divides the mixture logits
    and multiplies the scales; 0 gives the mean of the most likely component.

    Notebook: 03_wavenet.

    Parameters
    ----------
    y_hat : torch.Tensor [shape=(B, 3 · M, T)]
    num_classes : int
    log_scale_min : float
    temperature : float
    generator : torch.Generator, optional

    Returns
    -------
    audio : torch.Tensor [shape=(B, T)]
        In the dtype of ``y_hat``.
    """
    logit_probs, means, log_scales = _mixture_parameters(y_hat, log_scale_min)
    batch, n_mix, steps = logit_probs.shape
    component = sample_categorical(logit_probs.transpose(1, 2).reshape(-1, n_mix), temperature, generator)
    component = component.view(batch, 1, steps)  # (B, 1, T)
    mean = means.gather(1, component)[:, 0]  # (B, T)
    x = mean
    if temperature > 0:
        u = torch.rand(batch, steps, generator=generator, dtype=y_hat.dtype, device=y_hat.device)
        u = u * (1 - 2e-5) + 1e-5
        scale = torch.exp(log_scales.gather(1, component)[:, 0]) * temperature
        x = mean + scale * (torch.log(u) - torch.log1p(-u))
    levels = num_classes - 1
    return torch.round((x.clamp(-1.0, 1.0) + 1) / 2 * levels) * (2.0 / levels) - 1


# --------------------------------------------------------------------------- training


def teacher_forcing(audio: torch.Tensor, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's input (the audio shifted right by one sample) and its target.

    Output ``t`` must predict sample ``t`` from samples ``< t``: the input at ``t`` is
    sample ``t − 1``, with silence before the first. For ``"mulaw"`` both are μ-law
    classes (input one-hot), for ``"mol"`` both are the audio itself.

    Notebook: 03_wavenet.

    Parameters
    ----------
    audio : torch.Tensor [shape=(B, 1, T) or (B, T)]
        In ``[-1, 1]``.
    cfg : Config

    Returns
    -------
    inputs : torch.Tensor [shape=(B, in_channels, T)]
        In the audio's dtype.
    targets : torch.Tensor [shape=(B, T)]
        int64 classes (``"mulaw"``) or the audio (``"mol"``).
    """
    if audio.ndim == 3:
        if audio.shape[1] != 1:
            raise ShapeError(f"WaveNet trains on mono audio (B, 1, T), got {tuple(audio.shape)}.")
        audio = audio[:, 0]
    if audio.ndim != 2:
        raise ShapeError(f"audio must have shape (B, 1, T) or (B, T), got {tuple(audio.shape)}.")
    if cfg.output == "mulaw":
        targets = mu_law_encode(audio, cfg.mu)  # (B, T)
        silence = int(mu_law_encode(np.float64(0.0), cfg.mu))
        previous = F.pad(targets[:, :-1], (1, 0), value=silence)
        inputs = F.one_hot(previous, cfg.quantize_channels).transpose(1, 2).to(audio.dtype)  # (B, Q, T)
        return inputs, targets
    return F.pad(audio[:, :-1], (1, 0))[:, None], audio  # (B, 1, T), (B, T)


def negative_log_likelihood(y_hat: torch.Tensor, targets: torch.Tensor, cfg: Config) -> torch.Tensor:
    """The training loss in nats per sample: cross-entropy (``"mulaw"``) or the mixture NLL (``"mol"``).

    Notebook: 03_wavenet.

    Parameters
    ----------
    y_hat : torch.Tensor [shape=(B, out_channels, T)]
        :meth:`WaveNet.forward`'s output (bfloat16 or float16 is computed in float32 here).
    targets : torch.Tensor [shape=(B, T)]
        From :func:`teacher_forcing`.
    cfg : Config

    Returns
    -------
    loss : torch.Tensor [shape=()]
    """
    y_hat = y_hat.to(torch.promote_types(y_hat.dtype, torch.float32))
    if cfg.output == "mulaw":
        return F.cross_entropy(y_hat, targets)
    return discretized_mix_logistic_loss(y_hat, targets.to(y_hat.dtype), num_classes=cfg.quantize_channels,
                                         log_scale_min=cfg.log_scale_min)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """Move every weight of ``ema`` towards ``model``'s: ``ema ← decay · ema + (1 − decay) · model``.

    With decay 0.9999 the average spans about the last 10000 steps: r9y9's recipes
    synthesise with these averaged weights, which sound cleaner than the last step's.

    Notebook: 03_wavenet.

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
    for average, current in zip(ema.parameters(), model.parameters(), strict=True):
        average.lerp_(current.detach(), 1.0 - decay)


def build(cfg: Config) -> dict[str, nn.Module]:
    """``{"generator": WaveNet(cfg)}``, plus ``"generator_ema"`` (a frozen copy) when ``cfg.ema_decay > 0``.

    Notebook: 03_wavenet.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    modules : dict of str to nn.Module
    """
    generator = WaveNet(cfg)
    modules = {"generator": generator}
    if cfg.ema_decay > 0:
        modules["generator_ema"] = copy.deepcopy(generator).requires_grad_(False)
    return modules


def make_optimizers(modules: dict, cfg: Config):
    """Adam for the generator; no per-epoch scheduler (the step decay lives in :func:`train_step`).

    Notebook: 03_wavenet.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    cfg : Config

    Returns
    -------
    optimizers, schedulers : dict
        ``{"generator": Adam}`` and ``{}``.
    """
    adam = torch.optim.Adam(modules["generator"].parameters(), cfg.learning_rate, betas=cfg.betas, eps=cfg.adam_eps)
    return {"generator": adam}, {}


def _steps_taken(optimizer: torch.optim.Optimizer) -> int:
    """Updates Adam has made (its own per-parameter counter, saved with its state)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "step" in state:
                return int(state["step"])
    return 0


def train_step(modules, optimizers, batch, cfg: Config, *,
               autocast: Callable[[], Any] = contextlib.nullcontext) -> dict[str, float]:
    """One teacher-forced update: predict every sample of the batch from the ones before it.

    1. :func:`teacher_forcing`: input = audio shifted right by one sample;
    2. logits ``= G(input, mel[, speaker])``; loss :func:`negative_log_likelihood`;
    3. Adam step at ``learning_rate · lr_anneal_rate ** (steps // lr_anneal_interval)``;
    4. :func:`update_ema` of ``modules["generator_ema"]`` when there is one.

    Notebook: 03_wavenet.

    Parameters
    ----------
    modules : dict
        From :func:`build` (``"generator_ema"`` is optional).
    optimizers : dict
        From :func:`make_optimizers`.
    batch : dict
        ``{"audio": (B, 1, T), "mel": (B, n_mels, T / hop)}``, plus ``"speaker"`` (B,) ids
        for a multi-speaker config.
    cfg : Config
    autocast : callable
        Context-manager factory for the forward pass (bf16 or a no-op); the loss is in float32.

    Returns
    -------
    losses : dict of float
        ``loss``: nats per sample; ``lr``: the learning rate of this step.
    """
    G, opt = modules["generator"], optimizers["generator"]
    if cfg.n_speakers > 0 and "speaker" not in batch:
        raise ConfigError(f"this WaveNet has n_speakers={cfg.n_speakers}: each batch needs 'speaker' ids (B,).")
    inputs, targets = teacher_forcing(batch["audio"], cfg)
    with autocast():
        y_hat = G(inputs, c=batch["mel"] if cfg.cin_channels > 0 else None, g=batch.get("speaker"))
    loss = negative_log_likelihood(y_hat, targets, cfg)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    lr = cfg.learning_rate * cfg.lr_anneal_rate ** (_steps_taken(opt) // cfg.lr_anneal_interval)
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    if "generator_ema" in modules and cfg.ema_decay > 0:
        update_ema(modules["generator_ema"], G, cfg.ema_decay)
    return {"loss": loss.item(), "lr": lr}


@torch.no_grad()
def validation_audio(generator: WaveNet, mel: torch.Tensor) -> torch.Tensor:
    """Vocode by cached autoregressive generation: ``(B, n_mels, frames) -> (B, 1, frames · hop)``.

    One sample at a time: minutes for seconds of audio on a CPU (see
    ``benchmarks/wavenet_generation.py``).

    Notebook: 03_wavenet, 08_shootout.

    Parameters
    ----------
    generator : WaveNet
    mel : torch.Tensor [shape=(B, n_mels, frames)]

    Returns
    -------
    audio : torch.Tensor [shape=(B, 1, frames · hop)]
    """
    return generator.generate(c=mel, cached=True)[:, None]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable numbers in ``module`` (frozen ones, like an EMA copy's, too).

    Notebook: 03_wavenet.

    Parameters
    ----------
    module : nn.Module

    Returns
    -------
    n : int

    Examples
    --------
    >>> count_parameters(WaveNet(Config()))
    3670210
    """
    return sum(p.numel() for p in module.parameters())
