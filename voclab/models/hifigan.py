"""HiFi-GAN: a mel-to-waveform GAN with multi-period and multi-scale discriminators.

Kong, Kim & Bae, "HiFi-GAN: Generative Adversarial Networks for Efficient and High
Fidelity Speech Synthesis", NeurIPS 2020; official code jik876/hifi-gan (``models.py``,
``train.py``, ``config_v1.json`` … ``config_v3.json``). The whole paper is in this file:

* :class:`Config` — architecture and training hyper-parameters, presets V1/V2/V3 and
  :meth:`Config.from_official` for the official ``config.json``;
* :class:`Generator` — conv → (LeakyReLU → transposed conv → MRF) per stage → conv → tanh;
* :class:`MultiPeriodDiscriminator` and :class:`MultiScaleDiscriminator`, joined in
  :class:`Discriminator`;
* the losses (LSGAN, feature matching, mel L1) and :func:`train_step`, the update of
  the official ``train.py``;
* :func:`load_official_generator` for the published ``g_02500000`` checkpoints.

Module names are the official ones (``conv_pre``, ``ups``, ``resblocks``, ``convs1`` …),
so an official state dict loads key for key. Weight norm is
``torch.nn.utils.parametrizations.weight_norm``: its ``original0`` / ``original1`` are the
official ``weight_g`` / ``weight_v`` under another name (:func:`official_to_voclab_keys`).

Two facts worth knowing when you read the official code. Its ``init_weights`` (normal
with std 0.01) runs *after* ``weight_norm`` and changes a tensor that weight norm
recomputes at every forward, so it has no effect: the effective initialisation is
PyTorch's default, which this file keeps. And its ``feature_loss`` already multiplies by
2; here :func:`feature_matching_loss` is the plain sum and ``Config.lambda_fm = 2``
weights it in :func:`train_step`.

Notebook: 07_hifigan.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm
from torch.nn.utils.parametrize import is_parametrized, remove_parametrizations

from .._torchfile import load_tensors
from ..errors import CheckpointError, ConfigError, ShapeError
from ..spectral import MelConfig, mel_spectrogram
from . import frozen

__all__ = [
    "Config", "VARIANTS", "Generator", "ResBlock1", "ResBlock2", "upsample_padding",
    "DiscriminatorP", "MultiPeriodDiscriminator", "DiscriminatorS",
    "MultiScaleDiscriminator", "Discriminator", "discriminator_loss",
    "generator_adversarial_loss", "feature_matching_loss", "mel_l1", "build", "build_generator",
    "make_optimizers", "train_step", "validation_audio", "validation_mel_config", "receptive_field_frames",
    "load_official_generator",
    "load_official_training_state", "save_official_checkpoint", "official_to_voclab_keys",
    "voclab_to_official_keys", "count_parameters",
]

LRELU_SLOPE = 0.1
MPD_PERIODS = (2, 3, 5, 7, 11)
#: Optimizer steps per epoch of the official run: LJ Speech's training.txt lists 12,950 files,
#: batches of 16 with drop_last give 809. The official ExponentialLR decays once per epoch.
OFFICIAL_EPOCH_STEPS = 12_950 // 16

# --------------------------------------------------------------------------- config

#: The three published generators (paper Table 1; official config_v1/v2/v3.json).
VARIANTS: dict[str, dict[str, Any]] = {
    "v1": dict(resblock="1", upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
               upsample_initial_channel=512, resblock_kernel_sizes=[3, 7, 11],
               resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]]),
    "v2": dict(resblock="1", upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
               upsample_initial_channel=128, resblock_kernel_sizes=[3, 7, 11],
               resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]]),
    "v3": dict(resblock="2", upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
               upsample_initial_channel=256, resblock_kernel_sizes=[3, 5, 7],
               resblock_dilation_sizes=[[1, 2], [2, 6], [3, 12]]),
}
_ARCH_FIELDS = tuple(VARIANTS["v1"])

# official config.json key -> MelConfig field
_OFFICIAL_MEL_KEYS = {"sampling_rate": "sample_rate", "n_fft": "n_fft", "hop_size": "hop_length",
                      "win_size": "win_length", "num_mels": "n_mels", "fmin": "fmin", "fmax": "fmax"}
_OFFICIAL_TRAIN_KEYS = ("segment_size", "batch_size", "learning_rate", "adam_b1", "adam_b2",
                        "lr_decay", "seed")
# keys of the official config.json that only concern its own launcher
_OFFICIAL_IGNORED = {"num_gpus", "num_workers", "dist_config", "num_freq"}


# the types of the official config.json's values (JSON: "int" excludes true/false)
_OFFICIAL_TYPES = {
    "resblock": "'1' or '2'", "upsample_rates": "a list of int", "upsample_kernel_sizes": "a list of int",
    "upsample_initial_channel": "int", "resblock_kernel_sizes": "a list of int",
    "resblock_dilation_sizes": "a list of lists of int", "num_mels": "int", "n_fft": "int", "hop_size": "int",
    "win_size": "int", "sampling_rate": "int", "fmin": "number", "fmax": "number or null",
    "fmax_for_loss": "number or null", "segment_size": "int", "batch_size": "int", "learning_rate": "number",
    "adam_b1": "number", "adam_b2": "number", "lr_decay": "number", "seed": "int",
}


def _has_type(value, expected: str) -> bool:
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def int_list(v):
        return isinstance(v, list) and all(is_int(x) for x in v)

    return {"'1' or '2'": lambda v: str(v) in ("1", "2") and not isinstance(v, bool),
            "a list of int": int_list,
            "a list of lists of int": lambda v: isinstance(v, list) and all(int_list(x) for x in v),
            "int": is_int, "number": is_number,
            "number or null": lambda v: v is None or is_number(v)}[expected](value)


@dataclass
class Config:
    """HiFi-GAN's hyper-parameters: generator, training and mel settings (default: V1).

    Field names follow the official ``config.json``; the mel settings travel as
    ``mel`` (a :data:`~voclab.spectral.MEL_PRESETS` name or a ``MelConfig.to_dict()``)
    and ``fmax_for_loss``. Everything is JSON-friendly, so ``Config(**json_fields)``
    rebuilds a config file.

    Notebook: 07_hifigan.

    Parameters
    ----------
    resblock : {"1", "2"}
        ResBlock1 (pairs of dilated + plain convs) or ResBlock2 (dilated convs only).
    upsample_rates, upsample_kernel_sizes : list of int
        Stride ``u`` and kernel ``k`` of each transposed conv; ``prod(upsample_rates)``
        must equal the mel ``hop_length`` (one frame becomes ``hop_length`` samples).
    upsample_initial_channel : int
        Channels after ``conv_pre``; halved by every upsampling stage.
    resblock_kernel_sizes : list of int
        One residual block per kernel size in every stage's MRF.
    resblock_dilation_sizes : list of list of int
        Dilations of each block (3 for ResBlock1, 2 for ResBlock2).
    segment_size, batch_size : int
        Training clips of ``segment_size`` samples (a multiple of the hop).
    learning_rate, adam_b1, adam_b2, lr_decay : float
        AdamW for both networks; the rate is multiplied by ``lr_decay`` every
        ``lr_decay_steps`` optimizer steps.
    lr_decay_steps : int
        The decay period in steps (809: one epoch of the official LJ Speech run, whose
        scheduler steps once per epoch). A period in steps keeps the schedule independent of
        the size of your data folder: on 6 clips an "epoch" is a single step, and a per-epoch
        decay of 0.999 would divide the rate by 10²² over 50 k steps.
    mpd_periods : list of int
        Periods of the multi-period discriminator (2, 3, 5, 7, 11). Primes keep the periods
        from sharing folds; at 44.1 or 48 kHz some users add longer ones.
    lambda_mel, lambda_fm : float
        Weights of the mel L1 (45) and feature-matching (2) terms of the generator loss.
    mel : str or dict
        Input mel: a preset name (``"hifigan"``) or the dict of a :class:`MelConfig`.
    fmax_for_loss : float or None
        ``fmax`` of the loss mel (the input mel's other settings); ``None`` = full band,
        so the default loss mel is ``MelConfig.preset("hifigan_loss")``.
    seed : int
        The official configs' seed (1234).

    Raises
    ------
    voclab.errors.ConfigError
        Inconsistent sizes, e.g. ``prod(upsample_rates) != hop_length``.

    Examples
    --------
    >>> cfg = Config.v3()
    >>> cfg.upsample_rates, cfg.mel_config.hop_length
    ([8, 8, 4], 256)
    """

    resblock: str = "1"
    upsample_rates: list = field(default_factory=lambda: [8, 8, 2, 2])
    upsample_kernel_sizes: list = field(default_factory=lambda: [16, 16, 4, 4])
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: list = field(default_factory=lambda: [3, 7, 11])
    resblock_dilation_sizes: list = field(default_factory=lambda: [[1, 3, 5], [1, 3, 5], [1, 3, 5]])
    segment_size: int = 8192
    batch_size: int = 16
    learning_rate: float = 2e-4
    adam_b1: float = 0.8
    adam_b2: float = 0.99
    lr_decay: float = 0.999
    lr_decay_steps: int = OFFICIAL_EPOCH_STEPS
    lambda_mel: float = 45.0
    lambda_fm: float = 2.0
    mel: Any = "hifigan"
    fmax_for_loss: float | None = None
    mpd_periods: list = field(default_factory=lambda: list(MPD_PERIODS))
    seed: int = 1234

    def __post_init__(self):
        # JSON gives lists, Python users may give tuples: keep one form so configs compare equal
        self.resblock = str(self.resblock)
        self.upsample_rates = [int(u) for u in self.upsample_rates]
        self.upsample_kernel_sizes = [int(k) for k in self.upsample_kernel_sizes]
        self.resblock_kernel_sizes = [int(k) for k in self.resblock_kernel_sizes]
        self.resblock_dilation_sizes = [[int(d) for d in ds] for ds in self.resblock_dilation_sizes]
        self.mpd_periods = [int(p) for p in self.mpd_periods]
        if isinstance(self.mel, MelConfig):
            self.mel = self.mel.to_dict()
        problems = []
        if self.resblock not in ("1", "2"):
            problems.append(f"resblock must be '1' or '2' (got {self.resblock!r})")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            problems.append(f"upsample_rates {self.upsample_rates} and upsample_kernel_sizes "
                            f"{self.upsample_kernel_sizes} must have the same length")
        if not self.upsample_rates or min(self.upsample_rates + self.upsample_kernel_sizes) < 1:
            problems.append("need at least one upsampling stage, with rates and kernels >= 1")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            problems.append(f"resblock_kernel_sizes {self.resblock_kernel_sizes} and "
                            f"resblock_dilation_sizes {self.resblock_dilation_sizes} must have "
                            "the same length")
        n_dil = 3 if self.resblock == "1" else 2
        if any(len(ds) != n_dil for ds in self.resblock_dilation_sizes):
            problems.append(f"ResBlock{self.resblock} takes {n_dil} dilations per block, got "
                            f"{self.resblock_dilation_sizes}")
        if self.upsample_initial_channel % 2 ** len(self.upsample_rates):
            problems.append(f"upsample_initial_channel={self.upsample_initial_channel} must be "
                            f"divisible by 2**{len(self.upsample_rates)} (halved at each stage)")
        mel = self.mel_config  # raises ConfigError for an unknown preset or field
        hop = mel.hop_length
        if math.prod(self.upsample_rates) != hop:
            problems.append(
                f"prod(upsample_rates) = {'*'.join(map(str, self.upsample_rates))} = "
                f"{math.prod(self.upsample_rates)} must equal the mel hop_length = {hop}: "
                "each mel frame becomes hop_length samples")
        if self.segment_size <= 0 or self.segment_size % hop:
            problems.append(f"segment_size={self.segment_size} must be a positive multiple of "
                            f"hop_length={hop}")
        if not self.mpd_periods or min(self.mpd_periods) < 1 or len(set(self.mpd_periods)) != len(self.mpd_periods):
            problems.append(f"mpd_periods must be distinct positive integers, got {self.mpd_periods}")
        if not 0 < self.lr_decay <= 1 or self.lr_decay_steps < 1:
            problems.append(f"lr_decay must lie in (0, 1] and lr_decay_steps be at least 1 step "
                            f"(got {self.lr_decay}, {self.lr_decay_steps})")
        if self.fmax_for_loss is not None and not 0 <= mel.fmin < self.fmax_for_loss <= mel.sample_rate / 2:
            problems.append(f"fmax_for_loss={self.fmax_for_loss} must lie in (fmin, sample_rate/2]")
        if problems:
            raise ConfigError("Invalid HiFi-GAN Config: " + "; ".join(problems) + ".")

    # -- presets and the official format

    @classmethod
    def v1(cls, **changes) -> Config:
        """V1: 512 channels, ResBlock1 — the best quality (13.93M generator parameters)."""
        return cls(**{**copy.deepcopy(VARIANTS["v1"]), **changes})

    @classmethod
    def v2(cls, **changes) -> Config:
        """V2: V1 with 128 channels — 15× fewer parameters (0.93M)."""
        return cls(**{**copy.deepcopy(VARIANTS["v2"]), **changes})

    @classmethod
    def v3(cls, **changes) -> Config:
        """V3: ResBlock2 and three stages (8, 8, 4) — the fastest (1.46M)."""
        return cls(**{**copy.deepcopy(VARIANTS["v3"]), **changes})

    @classmethod
    def from_official(cls, h: dict) -> Config:
        """Map an official ``config.json`` (jik876/hifi-gan) onto a :class:`Config`.

        ``num_mels``, ``n_fft``, ``hop_size``, ``win_size``, ``sampling_rate``, ``fmin``
        and ``fmax`` become the input :class:`MelConfig` (stored by name when it is a
        preset); ``fmax_for_loss`` sets the loss mel. Launcher keys (``num_gpus``,
        ``num_workers``, ``dist_config``, ``num_freq``) are ignored; other unknown keys
        give a warning.

        Notebook: 07_hifigan.

        Parameters
        ----------
        h : dict
            The parsed ``config.json``.

        Returns
        -------
        cfg : Config

        Raises
        ------
        voclab.errors.ConfigError
            A required key is missing, or the values are inconsistent.
        """
        required = set(_ARCH_FIELDS) | set(_OFFICIAL_MEL_KEYS) | {"fmax_for_loss"}
        missing = sorted(required - set(h))
        if missing:
            raise ConfigError(f"This official HiFi-GAN config.json lacks {missing}; compare "
                              "with config_v1.json of jik876/hifi-gan.")
        wrong = [f"{key}={h[key]!r} (expected {expected})" for key, expected in _OFFICIAL_TYPES.items()
                 if key in h and not _has_type(h[key], expected)]
        if wrong:
            raise ConfigError(f"This official HiFi-GAN config.json has values of the wrong type: {'; '.join(wrong)}; "
                              "compare with config_v1.json of jik876/hifi-gan.")
        known = required | set(_OFFICIAL_TRAIN_KEYS) | _OFFICIAL_IGNORED
        unknown = sorted(set(h) - known)
        if unknown:
            warnings.warn(f"HiFi-GAN config.json keys {unknown} are not used by voclab.", stacklevel=2)
        mel = MelConfig.preset("hifigan").replace(
            **{ours: h[theirs] for theirs, ours in _OFFICIAL_MEL_KEYS.items()})
        mel_field = "hifigan" if mel == MelConfig.preset("hifigan") else mel.to_dict()
        return cls(**{k: h[k] for k in _ARCH_FIELDS}, **{k: h[k] for k in _OFFICIAL_TRAIN_KEYS if k in h},
                   mel=mel_field, fmax_for_loss=h["fmax_for_loss"])

    def to_dict(self) -> dict:
        """The fields as a JSON-friendly dict (``Config(**cfg.to_dict()) == cfg``)."""
        return dataclasses.asdict(self)

    @property
    def mel_config(self) -> MelConfig:
        """The input mel settings (what the generator is fed)."""
        return MelConfig.resolve(self.mel)

    @property
    def loss_mel_config(self) -> MelConfig:
        """The mel of the L1 loss: the input mel with ``fmax = fmax_for_loss``."""
        return self.mel_config.replace(fmax=self.fmax_for_loss)

    @property
    def variant(self) -> str:
        """``"V1"``, ``"V2"``, ``"V3"`` when the generator is a published one, else ``"custom"``."""
        for name, arch in VARIANTS.items():
            if all(getattr(self, k) == v for k, v in arch.items()):
                return name.upper()
        return "custom"


# --------------------------------------------------------------------------- generator


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of a stride-1 conv: ``(k - 1) * d // 2``."""
    return (kernel_size - 1) * dilation // 2


def upsample_padding(kernel_size: int, stride: int) -> tuple[int, int, int]:
    """``(padding, output_padding, trim)`` that make a transposed conv exactly ``stride``× longer.

    A ``ConvTranspose1d`` maps ``L`` to ``(L - 1) u - 2p + k + op`` samples. The official
    ``p = (k - u) // 2`` gives ``L u`` only when ``k - u`` is even and non-negative (all
    published configs). Here ``p = max(0, ceil((k - u) / 2))`` and ``op = 2p - (k - u)``,
    which is 0 or 1 for ``k >= u`` and ``u - k`` for ``k < u``; torch needs
    ``op < u``, so in the one case where that fails (``u = 1`` with even ``k``) we pad
    one sample less, ``p - 1``, and trim the one extra sample at the end instead.

    Notebook: 07_hifigan.

    Parameters
    ----------
    kernel_size, stride : int
        ``k`` and ``u``.

    Returns
    -------
    padding, output_padding, trim : int

    Examples
    --------
    >>> upsample_padding(16, 8), upsample_padding(5, 2), upsample_padding(3, 4), upsample_padding(4, 1)
    ((4, 0, 0), (2, 1, 0), (0, 1, 0), (1, 0, 1))
    """
    k, u = kernel_size, stride
    p = max(0, -(-(k - u) // 2))
    op = 2 * p - (k - u)
    return (p, op, 0) if op < u else (p - 1, 0, 1)


def _same_conv(channels: int, kernel_size: int, dilation: int) -> nn.Conv1d:
    """Weight-normed dilated Conv1d that keeps the length."""
    return weight_norm(nn.Conv1d(channels, channels, kernel_size, dilation=dilation,
                                 padding=get_padding(kernel_size, dilation)))


class ResBlock1(nn.Module):
    """Three (LeakyReLU → dilated conv → LeakyReLU → conv) residual units; RF 25/73/121 for k=3/7/11."""

    def __init__(self, channels: int, kernel_size: int, dilation: list[int]):
        super().__init__()
        self.convs1 = nn.ModuleList(_same_conv(channels, kernel_size, d) for d in dilation)
        self.convs2 = nn.ModuleList(_same_conv(channels, kernel_size, 1) for _ in dilation)

    def forward(self, x):  # (B, C, T) -> (B, C, T)
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """Two (LeakyReLU → dilated conv) residual units (V3)."""

    def __init__(self, channels: int, kernel_size: int, dilation: list[int]):
        super().__init__()
        self.convs = nn.ModuleList(_same_conv(channels, kernel_size, d) for d in dilation)

    def forward(self, x):  # (B, C, T) -> (B, C, T)
        for c in self.convs:
            x = x + c(F.leaky_relu(x, LRELU_SLOPE))
        return x


class Generator(nn.Module):
    """HiFi-GAN generator: log-mel ``(B, n_mels, frames)`` → waveform ``(B, 1, frames·hop)``.

    ``conv_pre`` (k7) → per stage: LeakyReLU(0.1) → transposed conv (stride ``u``,
    channels halved) → multi-receptive-field fusion (MRF: the *mean* of one residual
    block per kernel size) → LeakyReLU (torch's default slope 0.01, as the official
    code) → ``conv_post`` (k7, one channel) → tanh. All convs are weight-normed.

    Notebook: 07_hifigan.

    Parameters
    ----------
    cfg : Config

    Examples
    --------
    >>> g = Generator(Config.v2())
    >>> g(torch.zeros(1, 80, 10)).shape
    torch.Size([1, 1, 2560])
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.n_mels = cfg.mel_config.n_mels
        self.num_kernels = len(cfg.resblock_kernel_sizes)
        self.upsample_rates = list(cfg.upsample_rates)
        ch = cfg.upsample_initial_channel
        self.conv_pre = weight_norm(nn.Conv1d(self.n_mels, ch, 7, padding=3))
        self.ups = nn.ModuleList()
        self.trims = []
        for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
            p, op, trim = upsample_padding(k, u)
            self.ups.append(weight_norm(nn.ConvTranspose1d(
                ch // 2**i, ch // 2 ** (i + 1), k, u, padding=p, output_padding=op)))
            self.trims.append(trim)
        Block = ResBlock1 if cfg.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList(
            Block(ch // 2 ** (i + 1), k, d)
            for i in range(len(self.ups))
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes))
        self.conv_post = weight_norm(nn.Conv1d(ch // 2 ** len(self.ups), 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ShapeError(f"The generator takes a mel of shape (batch, n_mels={self.n_mels}, frames), got "
                             f"{tuple(mel.shape)}. Add a batch axis with mel[None] or check the mel settings.")
        x = self.conv_pre(mel)  # (B, C, frames)
        for i, (up, trim) in enumerate(zip(self.ups, self.trims)):
            x = up(F.leaky_relu(x, LRELU_SLOPE))  # (B, C / 2^(i+1), frames · u_1 ⋯ u_i)
            if trim:
                x = x[..., :-trim]
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels  # MRF: mean of the blocks
        x = F.leaky_relu(x)  # slope 0.01 here, as the official code
        # The waveform's last layer in float32 even under bf16 autocast: bf16 keeps 8 bits of
        # mantissa, so a bf16 tanh output takes only a few hundred distinct values.
        with torch.autocast(x.device.type, enabled=False):
            return torch.tanh(self.conv_post(x.float()))  # (B, 1, frames · hop)

    def remove_weight_norm(self) -> Generator:
        """Fold every weight norm into a plain ``weight`` (for inference; same outputs, faster)."""
        for module in self.modules():
            if is_parametrized(module, "weight"):
                remove_parametrizations(module, "weight", leave_parametrized=True)
        return self


# --------------------------------------------------------------------------- discriminators


class DiscriminatorP(nn.Module):
    """One period discriminator: the waveform folded to a ``(T/p, p)`` image, Conv2d (5, 1) down its columns."""

    def __init__(self, period: int):
        super().__init__()
        self.period = period
        chans = [1, 32, 128, 512, 1024]
        strided = [nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0)) for a, b in itertools.pairwise(chans)]
        self.convs = nn.ModuleList(
            weight_norm(c) for c in strided + [nn.Conv2d(1024, 1024, (5, 1), 1, padding=(2, 0))])
        self.conv_post = weight_norm(nn.Conv2d(1024, 1, (3, 1), 1, padding=(1, 0)))

    def to_2d(self, x: torch.Tensor) -> torch.Tensor:
        """Reflect-pad ``(B, 1, T)`` at the end to a multiple of ``p``; fold to ``(B, 1, ceil(T/p), p)``."""
        b, c, t = x.shape
        n_pad = -t % self.period
        if n_pad and t <= n_pad:
            raise ShapeError(f"{t} samples are too few for period {self.period}; pass at least {n_pad + 1}.")
        x = F.pad(x, (0, n_pad), mode="reflect")  # (B, 1, T + n_pad)
        # (B, 1, T/p, p): column j holds samples j, j+p, j+2p, …
        return x.view(b, c, (t + n_pad) // self.period, self.period)

    def forward(self, x):
        fmap = []
        x = self.to_2d(x)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap  # scores (B, frames · p)


class DiscriminatorS(nn.Module):
    """One scale discriminator (MelGAN's): grouped strided Conv1d stack."""

    def __init__(self, use_spectral_norm: bool = False):
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        # (in, out, kernel, stride, groups); padding keeps 'same' before striding
        layers = [(1, 128, 15, 1, 1), (128, 128, 41, 2, 4), (128, 256, 41, 2, 16), (256, 512, 41, 4, 16),
                  (512, 1024, 41, 4, 16), (1024, 1024, 41, 1, 16), (1024, 1024, 5, 1, 1)]
        self.convs = nn.ModuleList(norm(nn.Conv1d(a, b, k, s, groups=g, padding=get_padding(k)))
                                   for a, b, k, s, g in layers)
        self.conv_post = norm(nn.Conv1d(1024, 1, 3, 1, padding=1))

    def forward(self, x):
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


def _check_waveform(x: torch.Tensor, who: str):
    if x.ndim != 3 or x.shape[1] != 1:
        raise ShapeError(f"{who} takes waveforms of shape (batch, 1, samples), got {tuple(x.shape)}.")


class MultiPeriodDiscriminator(nn.Module):
    """Five :class:`DiscriminatorP` with periods 2, 3, 5, 7, 11 (primes: little overlap).

    Notebook: 07_hifigan.

    Returns
    -------
    scores : list of 5 tensors [shape=(B, n)]
    fmaps : list of 5 lists of 6 feature maps (5 convs + conv_post)
    """

    def __init__(self, periods=MPD_PERIODS):
        super().__init__()
        self.discriminators = nn.ModuleList(DiscriminatorP(p) for p in periods)

    def forward(self, x):
        _check_waveform(x, "MultiPeriodDiscriminator")
        scores, fmaps = zip(*(d(x) for d in self.discriminators))
        return list(scores), list(fmaps)


class MultiScaleDiscriminator(nn.Module):
    """Three :class:`DiscriminatorS` on the raw, ×2 and ×4 average-pooled waveform; the first spectral-normed.

    Notebook: 07_hifigan.

    Returns
    -------
    scores : list of 3 tensors [shape=(B, n)]
    fmaps : list of 3 lists of 8 feature maps (7 convs + conv_post)
    """

    def __init__(self):
        super().__init__()
        self.discriminators = nn.ModuleList(
            [DiscriminatorS(use_spectral_norm=True), DiscriminatorS(), DiscriminatorS()])
        self.meanpools = nn.ModuleList([nn.AvgPool1d(4, 2, padding=2), nn.AvgPool1d(4, 2, padding=2)])

    def forward(self, x):
        _check_waveform(x, "MultiScaleDiscriminator")
        scores, fmaps = [], []
        for i, d in enumerate(self.discriminators):
            if i:
                x = self.meanpools[i - 1](x)  # (B, 1, T / 2^i + 1)
            s, f = d(x)
            scores.append(s)
            fmaps.append(f)
        return scores, fmaps


class Discriminator(nn.Module):
    """MPD and MSD together: ``x (B, 1, T) -> (8 score tensors, 8 lists of feature maps)``, MPD first.

    ``msd`` is registered before ``mpd`` so that ``parameters()`` come in the order of the
    official ``optim_d`` (``chain(msd, mpd)``); the attribute names match the official
    ``do_`` checkpoint's ``'mpd'`` and ``'msd'`` entries.

    Notebook: 07_hifigan.

    Parameters
    ----------
    periods : sequence of int
        The MPD's periods (``Config.mpd_periods``; the paper's 2, 3, 5, 7, 11).
    """

    def __init__(self, periods=MPD_PERIODS):
        super().__init__()
        self.msd = MultiScaleDiscriminator()
        self.mpd = MultiPeriodDiscriminator(periods)

    def forward(self, x):
        scores_p, fmaps_p = self.mpd(x)
        scores_s, fmaps_s = self.msd(x)
        return scores_p + scores_s, fmaps_p + fmaps_s


# --------------------------------------------------------------------------- losses


def discriminator_loss(real_scores, fake_scores) -> torch.Tensor:
    """LSGAN discriminator loss ``Σ_k mean((1 - D_k(x))²) + mean(D_k(G(s))²)``: real → 1, fake → 0.

    Notebook: 07_hifigan.

    Parameters
    ----------
    real_scores, fake_scores : list of torch.Tensor
        One score tensor per sub-discriminator.

    Returns
    -------
    loss : torch.Tensor [shape=()]

    Examples
    --------
    >>> discriminator_loss([torch.tensor([1.0, 0.0])], [torch.tensor([0.0, 2.0])])
    tensor(2.5000)
    """
    return sum(torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2)
               for r, f in zip(real_scores, fake_scores))


def generator_adversarial_loss(fake_scores) -> torch.Tensor:
    """LSGAN generator loss ``Σ_k mean((1 - D_k(G(s)))²)``: fool every sub-discriminator.

    Notebook: 07_hifigan.

    Examples
    --------
    >>> generator_adversarial_loss([torch.tensor([1.0, 0.0]), torch.tensor([3.0])])
    tensor(4.5000)
    """
    return sum(torch.mean((1 - f.float()) ** 2) for f in fake_scores)


def feature_matching_loss(real_fmaps, fake_fmaps) -> torch.Tensor:
    """Feature matching ``Σ_k Σ_l mean|D_k^l(x) - D_k^l(G(s))|`` — unweighted.

    :func:`train_step` multiplies it by ``Config.lambda_fm = 2``; the official
    ``feature_loss`` returns the sum already multiplied by 2.

    Notebook: 07_hifigan.

    Examples
    --------
    >>> feature_matching_loss([[torch.zeros(2), torch.ones(3)]], [[torch.ones(2), torch.ones(3)]])
    tensor(1.)
    """
    return sum(torch.mean(torch.abs(r.float() - g.float()))
               for rs, gs in zip(real_fmaps, fake_fmaps) for r, g in zip(rs, gs))


def mel_l1(y_hat: torch.Tensor, y_mel: torch.Tensor, mel_cfg: MelConfig) -> torch.Tensor:
    """Mean absolute difference between the log-mel of ``y_hat`` and a target log-mel (unweighted).

    HiFi-GAN's loss mel is full band (``MelConfig.preset("hifigan_loss")``).

    Notebook: 07_hifigan.

    Parameters
    ----------
    y_hat : torch.Tensor [shape=(B, 1, T)]
        Generated waveform (gradients flow through the mel).
    y_mel : torch.Tensor [shape=(B, n_mels, frames)]
        Target log-mel, made with ``mel_cfg``.
    mel_cfg : MelConfig

    Returns
    -------
    loss : torch.Tensor [shape=()]
    """
    return F.l1_loss(mel_spectrogram(y_hat.squeeze(1).float(), mel_cfg), y_mel)


# --------------------------------------------------------------------------- protocol


def build(cfg: Config) -> dict[str, nn.Module]:
    """``{"generator": Generator(cfg), "discriminator": Discriminator(cfg.mpd_periods)}``."""
    return {"generator": Generator(cfg), "discriminator": Discriminator(cfg.mpd_periods)}


def build_generator(cfg: Config) -> Generator:
    """The generator alone, for vocoding: no discriminators (70 M weights) built and thrown away."""
    return Generator(cfg)


def make_optimizers(modules: dict, cfg: Config):
    """AdamW (lr 2e-4, β = (0.8, 0.99)) for each network, decayed by 0.999 every 809 steps.

    The official ``train.py`` steps an ``ExponentialLR(gamma=lr_decay)`` once per epoch, 809
    steps on LJ Speech. Here a ``StepLR(step_size=lr_decay_steps, gamma=lr_decay)``, stepped
    once per optimizer step by the loop, gives the same rate at every step on LJ Speech —
    and on any other folder, whatever its size.

    Notebook: 07_hifigan.

    Returns
    -------
    optimizers, schedulers : dict
        Keyed ``"generator"`` and ``"discriminator"``.
    """
    optimizers = {name: torch.optim.AdamW(modules[name].parameters(), cfg.learning_rate,
                                          betas=(cfg.adam_b1, cfg.adam_b2))
                  for name in ("generator", "discriminator")}
    schedulers = {name: torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_decay_steps, gamma=cfg.lr_decay)
                  for name, opt in optimizers.items()}
    return optimizers, schedulers


def train_step(modules, optimizers, batch, cfg: Config, *,
               autocast: Callable[[], Any] = contextlib.nullcontext) -> dict[str, float]:
    """One HiFi-GAN update, as the official ``train.py``: discriminator step, then generator step.

    1. ``ŷ = G(mel)``; target and generated log-mels with the full-band loss mel.
    2. D: ``discriminator_loss(D(y), D(ŷ.detach()))`` → backward → AdamW step.
    3. G (against the updated D): ``adv + 2·fm + 45·mel_l1`` → backward → AdamW step.

    Real and detached fake go through D in one batched call (one forward per update, as
    DDP wants); in the G step the real features are computed without gradients — they
    do not depend on G, so G's gradients are those of the official code — and D runs
    :func:`~voclab.models.frozen`: gradients flow through it to ``ŷ`` but are not computed
    (nor, under DDP, all-reduced) for its own weights, which this step does not update.
    (Spectral norm's power iteration therefore runs once per D call rather than once per input.)

    Notebook: 07_hifigan.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    optimizers : dict
        From :func:`make_optimizers`.
    batch : dict
        ``{"audio": (B, 1, T), "mel": (B, n_mels, T / hop)}``.
    cfg : Config
    autocast : callable
        Context-manager factory for the networks' forward passes (bf16 or a no-op);
        the generator's last layer, the mels and the losses are computed in float32.

    Returns
    -------
    losses : dict of float
        ``d_loss``; ``g_loss = adv + fm + lambda_mel · mel_l1``; ``mel_l1`` (unweighted,
        the official "Mel-Spec. Error"); ``fm`` (weighted by ``lambda_fm``); ``adv``.
    """
    G, D = modules["generator"], modules["discriminator"]
    opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
    y, mel = batch["audio"], batch["mel"]
    _check_waveform(y, "train_step's batch['audio']")
    loss_mel_cfg = cfg.loss_mel_config

    with autocast():
        y_hat = G(mel)  # (B, 1, frames · hop)
    if y_hat.shape[-1] != y.shape[-1]:
        raise ShapeError(f"The generator made {y_hat.shape[-1]} samples from {mel.shape[-1]} frames but the "
                         f"audio has {y.shape[-1]}: audio segments must be frames × hop_length samples.")
    y_hat = y_hat.float()
    with torch.no_grad():
        y_mel = mel_spectrogram(y.squeeze(1), loss_mel_cfg)  # (B, n_mels, frames), full band

    # discriminator: real and detached fake in one batched call
    opt_d.zero_grad()
    with autocast():
        scores, _ = D(torch.cat([y, y_hat.detach()]))  # each (2B, n)
    d_loss = discriminator_loss([s[: len(y)] for s in scores], [s[len(y):] for s in scores])
    d_loss.backward()
    opt_d.step()

    # generator, against the discriminator just updated
    opt_g.zero_grad()
    mel_loss = mel_l1(y_hat, y_mel, loss_mel_cfg)
    with autocast():
        with torch.no_grad():
            _, real_fmaps = D(y)
        with frozen(D):
            fake_scores, fake_fmaps = D(y_hat)
    adv = generator_adversarial_loss(fake_scores)
    fm = cfg.lambda_fm * feature_matching_loss(real_fmaps, fake_fmaps)
    g_loss = adv + fm + cfg.lambda_mel * mel_loss
    g_loss.backward()
    opt_g.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "mel_l1": mel_loss.item(),
            "fm": fm.item(), "adv": adv.item()}


@torch.no_grad()
def validation_audio(generator: nn.Module, mel: torch.Tensor) -> torch.Tensor:
    """Vocode: ``(B, n_mels, frames) -> (B, 1, frames · hop)`` without gradients.

    Notebook: 07_hifigan.
    """
    return generator(mel)


def receptive_field_frames(cfg: Config) -> int:
    """Mel frames on each side of a frame that can change its audio: the generator's reach.

    Followed back from the ``hop`` output samples of frame 0 through every layer, as an
    interval of positions: ``conv_post`` and ``conv_pre`` (k7) widen it by 3, each MRF by
    its widest residual block (``(k − 1)/2 · d`` per dilated conv, plus ``(k − 1)/2`` per
    plain conv of a ResBlock1), and a transposed conv (stride ``u``, kernel ``k``, padding
    ``p``) maps output samples ``a … b`` to inputs ``⌈(a + p − k + 1)/u⌉ … ⌊(b + p)/u⌋``.
    V1 and V2: 13 frames (150 ms at 22.05 kHz); V3: 11. So a long mel vocoded in chunks
    with this many frames of context on each side gives the audio of the whole mel
    (``Checkpoint.vocode(chunk_frames=...)``); a test checks the figure against gradients.

    Notebook: 07_hifigan (receptive fields: 02_dilated_convolutions).

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    frames : int
    """
    def block_reach(k: int, dilations: list) -> int:  # one residual block, in samples of its stage
        half = (k - 1) // 2
        return sum(half * d + (half if cfg.resblock == "1" else 0) for d in dilations)

    hop = math.prod(cfg.upsample_rates)
    first, last = -3, hop - 1 + 3  # the samples of frame 0, widened by conv_post
    stages = list(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes))
    for u, k in reversed(stages):
        mrf = max(block_reach(k2, ds) for k2, ds in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes))
        first, last = first - mrf, last + mrf
        p, _, _ = upsample_padding(k, u)
        first, last = -((k - 1 - p - first) // u), (last + p) // u  # ceil and floor
    first, last = first - 3, last + 3  # conv_pre
    return max(-first, last)


def validation_mel_config(cfg: Config) -> MelConfig:
    """The mel validation scores with: the full-band loss mel, as the official ``train.py``.

    Its validation "mel-spec error" compares mels up to ``fmax_for_loss`` (full band), so a
    generator that hisses above 8 kHz scores worse, and voclab's numbers compare with the
    official curve (≈ 0.26 at 0.4 M steps on LJ Speech, 0.215 at 2.4 M).

    Notebook: 07_hifigan.
    """
    return cfg.loss_mel_config


def count_parameters(module: nn.Module) -> int:
    """Number of trainable numbers in ``module`` (with weight norm: ``g`` and ``v`` both count).

    Notebook: 07_hifigan.

    Examples
    --------
    >>> count_parameters(Generator(Config.v2()))
    928514
    """
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- official checkpoints


#: The official code uses the old ``torch.nn.utils`` hooks; voclab their parametrization
#: successors, which hold the same tensors under other names (official leaf -> voclab's).
_WEIGHT_NORM_KEYS = {"weight_g": "parametrizations.weight.original0",  # the gains g
                     "weight_v": "parametrizations.weight.original1"}  # the directions v
_SPECTRAL_NORM_KEYS = {"weight_orig": "parametrizations.weight.original",  # the raw weight
                       "weight_u": "parametrizations.weight.0._u",  # power-iteration vectors
                       "weight_v": "parametrizations.weight.0._v"}
_TO_OFFICIAL = {ours: theirs for table in (_WEIGHT_NORM_KEYS, _SPECTRAL_NORM_KEYS) for theirs, ours in table.items()}


def official_to_voclab_keys(state_dict: dict) -> dict:
    """Rename the official code's weight-norm and spectral-norm keys to voclab's parametrization keys.

    The official code uses the old ``torch.nn.utils`` hooks; voclab uses
    ``torch.nn.utils.parametrizations``, which hold the same tensors under other names.
    Weight norm: ``X.weight_g`` → ``X.parametrizations.weight.original0``, ``X.weight_v`` →
    ``X.parametrizations.weight.original1``. Spectral norm (the MSD's first discriminator),
    recognised by its ``X.weight_orig``: ``weight_orig`` → ``parametrizations.weight.original``,
    ``weight_u`` / ``weight_v`` → ``parametrizations.weight.0._u`` / ``._v`` — its ``weight_v``
    is a power-iteration vector, not weight norm's direction. A DDP ``module.`` prefix is dropped.

    Notebook: 07_hifigan.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        An official state dict (the generator, or a ``do_`` file's ``'mpd'`` / ``'msd'``).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The same tensors under voclab's keys.
    """
    state_dict = {key.removeprefix("module."): value for key, value in state_dict.items()}
    spectral = {key[: -len("weight_orig")] for key in state_dict if key.endswith("weight_orig")}
    out = {}
    for key, value in state_dict.items():
        head, _, leaf = key.rpartition(".")
        head = head + "." if head else ""
        table = _SPECTRAL_NORM_KEYS if head in spectral else _WEIGHT_NORM_KEYS
        out[head + table.get(leaf, leaf)] = value
    return out


def voclab_to_official_keys(state_dict: dict) -> dict:
    """The inverse of :func:`official_to_voclab_keys`: voclab's keys as the official code names them.

    Notebook: 07_hifigan.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor

    Returns
    -------
    state_dict : dict of str to torch.Tensor
    """
    return {_official_name(key): value for key, value in state_dict.items()}


def _official_name(key: str) -> str:
    for ours, theirs in _TO_OFFICIAL.items():
        if key.endswith("." + ours) or key == ours:
            return key[: -len(ours)] + theirs
    return key


def _describe_checkpoint(sd: dict) -> str:
    """What generator a (voclab-keyed) state dict looks like, from its shapes."""
    pre = sd.get("conv_pre.parametrizations.weight.original1", sd.get("conv_pre.weight"))
    if pre is None or pre.ndim != 3:
        return "no conv_pre weights: is it a HiFi-GAN generator checkpoint?"
    n_ups = len({k.split(".")[1] for k in sd if k.startswith("ups.")})
    block = "1" if any(".convs1." in k for k in sd) else "2"
    looks = next((name.upper() for name, arch in VARIANTS.items()
                  if arch["upsample_initial_channel"] == pre.shape[0] and arch["resblock"] == block
                  and len(arch["upsample_rates"]) == n_ups), None)
    return (f"upsample_initial_channel={pre.shape[0]}, resblock='{block}', {n_ups} upsampling stages, "
            f"{pre.shape[1]} mel channels" + (f" (looks like {looks})" if looks else ""))


def _mismatches(expected: dict, sd: dict) -> list[str]:
    """Missing keys, unexpected keys and shape mismatches, in official key names (a few of each)."""

    def some(items: list[str], n: int = 4) -> str:
        return "; ".join(items[:n]) + (f" … ({len(items)} in all)" if len(items) > n else "")

    missing = sorted(_official_name(k) for k in set(expected) - set(sd))
    unexpected = sorted(_official_name(k) for k in set(sd) - set(expected))
    shapes = [f"{_official_name(k)}: checkpoint {tuple(sd[k].shape)} vs config {tuple(v.shape)}"
              for k, v in expected.items() if k in sd and sd[k].shape != v.shape]
    return ([f"missing keys {some(missing)}"] if missing else []) + \
        ([f"unexpected keys {some(unexpected)}"] if unexpected else []) + \
        ([f"shape mismatches {some(shapes, 3)}"] if shapes else [])


_CONFIG_ADVICE = ("Use the config.json that was published with the checkpoint (jik876/hifi-gan ships "
                  "config_v1.json, config_v2.json and config_v3.json; download it again if it was changed).")


def _load_json_or_dict(source, what: str) -> dict:
    """An official config.json (or the dict itself), or a ConfigError that names the file and the problem."""
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"No {what} at {path}. {_CONFIG_ADVICE}")
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file, so not the {what}. {_CONFIG_ADVICE}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}), so not "
                          f"the {what}. {_CONFIG_ADVICE}") from None
    if not isinstance(h, dict):
        raise ConfigError(f"{path} holds a JSON {type(h).__name__}, not the object of the {what}. {_CONFIG_ADVICE}")
    return h


def load_official_generator(checkpoint, config, *, remove_weight_norm: bool = False):
    """Load a generator checkpoint of the official implementation (jik876/hifi-gan).

    Notebook: 07_hifigan.

    Parameters
    ----------
    checkpoint : str, Path or dict
        A ``g_XXXXXXXX`` file (``{'generator': state_dict}``, read with
        ``torch.load(weights_only=True, map_location="cpu")``) or the loaded dict; a bare
        state dict is accepted too. Keys are the official ones (``weight_g`` / ``weight_v``;
        a DDP ``module.`` prefix is dropped; plain ``weight`` keys of a generator whose
        weight norm was removed also load).
    config : str, Path or dict
        The official ``config.json`` that goes with it (see :meth:`Config.from_official`).
    remove_weight_norm : bool
        Fold the weight norm away for inference.

    Returns
    -------
    generator : Generator
        In eval mode, on the CPU.
    cfg : Config
    mel_cfg : MelConfig
        The mel the generator expects: feed it mels made with these settings only.

    Raises
    ------
    voclab.errors.ConfigError
        A missing file, a checkpoint without generator weights, or weights that do not
        fit the config (the message names the keys and shapes, the variant the config
        describes and what the checkpoint looks like).
    """
    h = _load_json_or_dict(config, "HiFi-GAN config.json")
    try:
        cfg = Config.from_official(h)
    except ConfigError as err:
        if isinstance(config, dict):
            raise
        raise ConfigError(f"{config}: {err} {_CONFIG_ADVICE}") from None
    generator = Generator(cfg)
    _load_official_generator_weights(generator, cfg, checkpoint, "this config.json")
    generator.eval()
    if remove_weight_norm:
        generator.remove_weight_norm()
    return generator, cfg, cfg.mel_config


_DOWNLOAD_ADVICE = ("Download it again (the official checkpoints are linked from jik876/hifi-gan's README; "
                    "check that the file's size matches) — the file expected is the generator g_XXXXXXXX "
                    "(or do_XXXXXXXX for the discriminators), with the config.json of the same release.")


def _read_official_file(source, what: str) -> dict:
    """``torch.load`` an official checkpoint file safely (``weights_only``), or pass a loaded dict through."""
    if isinstance(source, dict):
        content = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"No HiFi-GAN {what} at {path}.")
        content = load_tensors(path, what=f"{what} of the official HiFi-GAN", advice=_DOWNLOAD_ADVICE)
        if not isinstance(content, dict):
            raise CheckpointError(f"{path} holds a {type(content).__name__}, not the dict of an official {what}. "
                                  f"{_DOWNLOAD_ADVICE}")
    if str(content.get("format", "")).startswith("voclab-checkpoint"):
        where = f"{source}" if not isinstance(source, dict) else "This"
        raise CheckpointError(
            f"{where} is a voclab checkpoint ({content['format']}), not an official jik876/hifi-gan file: load it "
            "with voclab.checkpoint.load_checkpoint(path), vocode with `voclab vocode CHECKPOINT INPUT -o OUT`, "
            "or continue its training with `voclab train hifigan --out RUN_DIR --resume`.")
    return content


def _load_official_generator_weights(generator: Generator, cfg: Config, checkpoint, against: str, *,
                                     training: bool = False) -> None:
    """Load an official ``g_`` file (or its dict) into ``generator``, or say exactly why it does not fit."""
    content = _read_official_file(checkpoint, "generator checkpoint (g_XXXXXXXX)")
    sd = content.get("generator", content)
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ConfigError("This checkpoint holds no generator state dict (expected {'generator': "
                          "state_dict}, the official g_XXXXXXXX file; do_XXXXXXXX files hold the "
                          "discriminators).")
    sd = official_to_voclab_keys(sd)
    if not any(k.endswith("original0") for k in sd):  # weight norm already removed in the file
        if training:
            raise ConfigError("This generator checkpoint has its weight norm folded away (an export for "
                              "inference); training needs the g_XXXXXXXX file that train.py wrote.")
        generator.remove_weight_norm()
    problems = _mismatches(generator.state_dict(), sd)
    if problems:
        arch = ", ".join(f"{k}={getattr(cfg, k)}"
                         for k in ("resblock", "upsample_rates", "upsample_initial_channel"))
        raise ConfigError(
            f"The checkpoint does not fit the generator of {against} ({cfg.variant}: {arch}): "
            f"{'; '.join(problems)}. The checkpoint has {_describe_checkpoint(sd)}. "
            "Use the config that was trained with this checkpoint.")
    generator.load_state_dict(sd)


def _load_official_optimizer(optimizer: torch.optim.Optimizer, state: dict, network: nn.Module, what: str) -> None:
    """Load an official AdamW state, after checking that its moments fit the network's weights in order."""
    weights = list(network.parameters())
    try:
        indices = [i for group in state["param_groups"] for i in group["params"]]
        shapes = [tuple(state["state"][i]["exp_avg"].shape) if i in state["state"] else None for i in indices]
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"the do_ file's {what} is not an AdamW state dict ({err!r} missing).") from None
    expected = [tuple(w.shape) for w in weights]
    if len(shapes) != len(expected) or any(s is not None and s != e for s, e in zip(shapes, expected)):
        raise CheckpointError(
            f"the do_ file's {what} holds moments for {len(shapes)} tensors that do not fit the "
            f"{len(expected)} weights of this run's network; was it written for another architecture?")
    optimizer.load_state_dict(state)


def load_official_training_state(modules: dict, optimizers: dict, cfg: Config, generator_file,
                                  discriminator_file=None) -> tuple[int, int]:
    """Continue training from an official run: load its ``g_`` + ``do_`` pair into voclab's networks.

    The official ``train.py`` writes two files every 5000 steps: ``g_XXXXXXXX``
    (``{'generator': state_dict}``) and ``do_XXXXXXXX`` (``{'mpd', 'msd', 'optim_g', 'optim_d',
    'steps', 'epoch'}``). Both load here exactly: the keys are renamed
    (:func:`official_to_voclab_keys`, spectral norm included), the AdamW moments go to the
    same weights (voclab's discriminator lists the MSD's weights before the MPD's, as the
    official ``chain(msd, mpd)``), and the step is the one the official code would resume
    at, ``steps + 1``. Without a ``do_`` file the generator alone is loaded, and the
    discriminators and optimizers start fresh at step 0 (fine-tuning from a published ``g_``).

    Notebook: 07_hifigan (``voclab train hifigan --init-official g_... do_...``).

    Parameters
    ----------
    modules : dict
        From :func:`build`, for the run's config (the architecture must be the checkpoint's).
    optimizers : dict
        From :func:`make_optimizers`.
    cfg : Config
        The run's config (named in the message when the weights do not fit).
    generator_file : str or Path
        The official ``g_XXXXXXXX``.
    discriminator_file : str or Path, optional
        The official ``do_XXXXXXXX`` of the same step.

    Returns
    -------
    step, epoch : int
        Where training continues (0, 0 without a ``do_`` file).

    Raises
    ------
    voclab.errors.ConfigError, voclab.errors.CheckpointError
        A file is missing, unreadable, not of the official layout, or does not fit the run's
        networks (the message names the keys and shapes).
    """
    generator, discriminator = modules["generator"], modules["discriminator"]
    _load_official_generator_weights(generator, cfg, generator_file, "this run's config", training=True)
    if discriminator_file is None:
        return 0, 0
    content = _read_official_file(discriminator_file, "discriminator checkpoint (do_XXXXXXXX)")
    missing = [key for key in ("mpd", "msd", "optim_g", "optim_d", "steps", "epoch") if key not in content]
    if missing:
        raise CheckpointError(f"{discriminator_file} lacks {missing}: an official do_XXXXXXXX file holds 'mpd', "
                              "'msd', 'optim_g', 'optim_d', 'steps' and 'epoch'.")
    sd = {f"{name}.{key}": value for name in ("mpd", "msd") for key, value in official_to_voclab_keys(content[name]).items()}
    problems = _mismatches(discriminator.state_dict(), sd)
    if problems:
        periods = [d.period for d in discriminator.mpd.discriminators]
        raise ConfigError(f"The do_ file's discriminators do not fit this run's (mpd_periods={periods}): "
                          f"{'; '.join(problems)}.")
    discriminator.load_state_dict(sd)
    _load_official_optimizer(optimizers["generator"], content["optim_g"], generator, "optim_g")
    _load_official_optimizer(optimizers["discriminator"], content["optim_d"], discriminator, "optim_d")
    return int(content["steps"]) + 1, int(content["epoch"])


def save_official_checkpoint(modules: dict, optimizers: dict, step: int, epoch: int, folder) -> tuple[Path, Path]:
    """Write voclab's HiFi-GAN as the official code's ``g_XXXXXXXX`` and ``do_XXXXXXXX`` pair.

    The inverse of :func:`load_official_training_state`: official key names (weight norm's
    ``weight_g`` / ``weight_v``, spectral norm's ``weight_orig`` / ``weight_u`` / ``weight_v``),
    ``'steps' = step − 1`` (the official counter at its save after ``step`` updates) and the
    file names it would use. Other tools that read official checkpoints read these.

    Notebook: 07_hifigan.

    Parameters
    ----------
    modules, optimizers : dict
        The run's networks and optimizers (:func:`build`, :func:`make_optimizers`).
    step : int
        Optimizer steps done (at least 1).
    epoch : int
    folder : str or Path

    Returns
    -------
    generator_file, discriminator_file : Path
    """
    if step < 1:
        raise ConfigError(f"an official checkpoint is written after at least one step (got step={step}).")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    discriminator = modules["discriminator"]
    g_path, do_path = folder / f"g_{step - 1:08d}", folder / f"do_{step - 1:08d}"
    torch.save({"generator": voclab_to_official_keys(modules["generator"].state_dict())}, g_path)
    torch.save({"mpd": voclab_to_official_keys(discriminator.mpd.state_dict()),
                "msd": voclab_to_official_keys(discriminator.msd.state_dict()),
                "optim_g": optimizers["generator"].state_dict(), "optim_d": optimizers["discriminator"].state_dict(),
                "steps": step - 1, "epoch": epoch}, do_path)
    return g_path, do_path
