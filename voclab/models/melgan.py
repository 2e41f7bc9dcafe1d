"""MelGAN (Kumar et al., NeurIPS 2019): a fully convolutional mel-to-waveform GAN in one file.

The generator upsamples an 80-band log-mel spectrogram by 8·8·2·2 = 256 (the mel hop)
with transposed convolutions, each followed by a residual stack of dilated convolutions
(dilations 1, 3, 9: a receptive field of 27 samples per stack). Three copies of one
discriminator judge the waveform at 1×, ½× and ¼× the sample rate; they are trained with
the hinge loss, and the generator with the hinge adversarial term plus feature matching
(L1 between the discriminators' feature maps of real and generated audio). No mel loss:
MelGAN learns from the discriminators alone.

Faithful to the paper and to the official implementation (``descriptinc/melgan-neurips``,
``mel2wav/modules.py`` and ``scripts/train.py``), with the same module layout, so an
official state dict loads into :class:`Generator` and :class:`Discriminator` once its old
weight-norm keys (``weight_g``/``weight_v``) are renamed (:func:`official_to_voclab_keys`;
:func:`load_official_generator` reads an official ``netG.pt``). Two places where this file differs from the official code,
neither of which changes the paper's model:

- the ``k5`` layer of each discriminator takes the channels that really reach it; the
  official code passes the channels of the layer *before* (equal only once the 1024-channel
  cap is reached, as it is in the paper's setting; smaller configs crash there);
- the official code initialises every conv ``weight`` with N(0, 0.02), but under weight norm
  that tensor is recomputed from ``weight_g`` and ``weight_v`` at each forward, so the init
  has no effect: both networks start from PyTorch's default init, here as there.

The model follows the protocol of :mod:`voclab.models` (``Config``, ``build``,
``make_optimizers``, ``train_step``, ``validation_audio``, ``count_parameters``).

Notebook: 06_melgan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .._torchfile import load_tensors
from ..errors import CheckpointError, ConfigError, ShapeError
from ..spectral import MelConfig, mel_spectrogram
from . import frozen
from . import remove_weight_norm as _remove_weight_norm

__all__ = [
    "Config",
    "Discriminator",
    "Generator",
    "NLayerDiscriminator",
    "ResnetBlock",
    "build",
    "config_from_official",
    "count_parameters",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "load_official_generator",
    "make_optimizers",
    "official_to_voclab_keys",
    "train_step",
    "validation_audio",
]

#: widest discriminator layer (``min(nf * stride, 1024)`` in the official code)
D_MAX_CHANNELS = 1024


# --------------------------------------------------------------------------- config


@dataclass
class Config:
    """MelGAN's architecture and training hyper-parameters (the paper's, by default).

    Notebook: 06_melgan.

    Parameters
    ----------
    ratios : list of int
        Upsampling factor of each generator stage; their product must equal the mel hop
        (8·8·2·2 = 256).
    ngf : int
        Generator width: the first conv has ``ngf * 2 ** len(ratios)`` channels (512) and
        each stage halves them, down to ``ngf`` (32).
    n_residual_layers : int
        Residual blocks per stage, with dilations ``3 ** j`` (1, 3, 9).
    ndf : int
        Channels of each discriminator's first layer (16); a multiple of 4, because the
        strided layers use ``groups = in_channels // 4``.
    n_layers_D : int
        Grouped strided conv layers per discriminator (4).
    downsamp_factor : int
        Stride of those layers (4); their kernel is ``10 * stride + 1`` (41).
    num_D : int
        Discriminators, at sample rates ÷1, ÷2, ÷4, … (3).
    segment_size : int
        Samples per training clip (8192); a multiple of the mel hop.
    batch_size : int
        Clips per batch (16).
    learning_rate : float
        Adam learning rate of both networks (1e-4).
    betas : tuple of float
        Adam betas (0.5, 0.9).
    lambda_feat : float
        Weight of the feature-matching loss (10).
    random_gain : tuple of float or None
        Each training clip is scaled by a gain drawn uniformly from this range, (0.3, 1.0) as in
        the official data loader (after peak normalisation to 0.95), so the generator meets
        quiet speech too. ``None`` turns it off.
    mel : str or dict or MelConfig
        A :data:`~voclab.spectral.MEL_PRESETS` name (``"melgan"``: 22050 Hz, 1024/256/1024,
        80 mels, 0–11025 Hz, log10 with floor 1e-5) or a :class:`MelConfig` dict.

    Raises
    ------
    voclab.errors.ConfigError
        ``prod(ratios)`` differs from the mel hop, or a size is out of range.

    Examples
    --------
    >>> Config().mel_config.hop_length
    256
    """

    ratios: list[int] = field(default_factory=lambda: [8, 8, 2, 2])
    ngf: int = 32
    n_residual_layers: int = 3
    ndf: int = 16
    n_layers_D: int = 4
    downsamp_factor: int = 4
    num_D: int = 3
    segment_size: int = 8192
    batch_size: int = 16
    learning_rate: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    lambda_feat: float = 10.0
    random_gain: tuple[float, float] | None = (0.3, 1.0)
    mel: Any = "melgan"

    def __post_init__(self):
        self.ratios = [int(r) for r in self.ratios]
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives a list
        if self.random_gain is not None:
            self.random_gain = tuple(float(g) for g in self.random_gain)
        mel = self.mel_config  # raises ConfigError for an unknown preset or field
        problems = []
        if not self.ratios or any(r < 2 for r in self.ratios):
            problems.append(f"ratios must be integers >= 2, got {self.ratios}")
        elif math.prod(self.ratios) != mel.hop_length:
            problems.append(
                f"prod(ratios) = {'·'.join(map(str, self.ratios))} = {math.prod(self.ratios)} "
                f"but the mel hop_length is {mel.hop_length}: the generator must turn each "
                "mel frame into exactly hop_length samples"
            )
        if self.ngf < 1 or self.n_residual_layers < 0:
            problems.append("ngf must be >= 1 and n_residual_layers >= 0")
        if self.ndf < 4 or self.ndf % 4:
            problems.append(f"ndf must be a positive multiple of 4 (groups = ndf // 4), got {self.ndf}")
        if self.n_layers_D < 1 or self.num_D < 1 or self.downsamp_factor < 1:
            problems.append("n_layers_D, num_D and downsamp_factor must be >= 1")
        if self.random_gain is not None and not (
                len(self.random_gain) == 2 and 0 < self.random_gain[0] <= self.random_gain[1]):
            problems.append(f"random_gain must be (low, high) with 0 < low <= high, or null; got {self.random_gain}")
        if self.segment_size <= 0 or self.segment_size % mel.hop_length:
            problems.append(
                f"segment_size={self.segment_size} must be a positive multiple of the mel "
                f"hop_length={mel.hop_length}"
            )
        if self.batch_size < 1 or self.learning_rate <= 0 or self.lambda_feat < 0:
            problems.append("batch_size and learning_rate must be positive, lambda_feat >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas must be two numbers in [0, 1), got {self.betas}")
        if problems:
            raise ConfigError("Invalid MelGAN Config: " + "; ".join(problems) + ".")

    @property
    def mel_config(self) -> MelConfig:
        """The :class:`MelConfig` named (or held) by ``mel``."""
        return MelConfig.resolve(self.mel)

    def to_dict(self) -> dict:
        """The fields as plain JSON types (what ``voclab/configs/melgan.json`` holds)."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        if self.random_gain is not None:
            out["random_gain"] = list(self.random_gain)
        if isinstance(self.mel, MelConfig):
            out["mel"] = self.mel.to_dict()
        return out


# --------------------------------------------------------------------------- generator


class ResnetBlock(nn.Module):
    """``x ↦ shortcut(x) + conv1×1(lrelu(conv3_d(reflect_pad_d(lrelu(x)))))``, length kept.

    The shortcut is a learned weight-normalised 1×1 conv, as in the official code.

    Notebook: 06_melgan.

    Parameters
    ----------
    dim : int
        Channels in and out.
    dilation : int
        Dilation of the k=3 conv (1, 3 or 9); the input is reflect-padded by it.
    """

    def __init__(self, dim: int, dilation: int = 1):
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.ReflectionPad1d(dilation),
            weight_norm(nn.Conv1d(dim, dim, kernel_size=3, dilation=dilation)),
            nn.LeakyReLU(0.2),
            weight_norm(nn.Conv1d(dim, dim, kernel_size=1)),
        )
        self.shortcut = weight_norm(nn.Conv1d(dim, dim, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)  # (B, dim, T)


class Generator(nn.Module):
    """Log-mel → waveform: ``(B, n_mels, frames) → (B, 1, frames * prod(ratios))``.

    reflect-pad 3 → WN conv(n_mels → ngf·2^len(ratios), k7); for each ratio r: LeakyReLU(0.2)
    → WN transposed conv (k=2r, stride r, padding r//2 + r%2, output_padding r%2) halving
    the channels → ``n_residual_layers`` :class:`ResnetBlock` (dilations 1, 3, 9);
    LeakyReLU(0.2) → reflect-pad 3 → WN conv(ngf → 1, k7) → tanh. The transposed convs'
    sizes make every stage exactly r times longer, so the output has ``frames * hop`` samples.

    Notebook: 06_melgan.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input (80).
    ngf : int
        Width of the last stage (32); the first conv has ``ngf * 2 ** len(ratios)`` channels.
    ratios : list of int
        Upsampling factors ([8, 8, 2, 2]).
    n_residual_layers : int
        Residual blocks per stage (3).

    Examples
    --------
    >>> G = Generator(80, 32, [8, 8, 2, 2], 3)
    >>> G(torch.zeros(1, 80, 10)).shape
    torch.Size([1, 1, 2560])
    """

    def __init__(self, n_mels: int = 80, ngf: int = 32, ratios=(8, 8, 2, 2),
                 n_residual_layers: int = 3):
        super().__init__()
        self.n_mels = n_mels
        self.hop_length = math.prod(ratios)
        channels = ngf * 2 ** len(ratios)  # 512
        layers = [
            nn.ReflectionPad1d(3),
            weight_norm(nn.Conv1d(n_mels, channels, kernel_size=7)),
        ]
        for r in ratios:
            layers += [
                nn.LeakyReLU(0.2),
                weight_norm(nn.ConvTranspose1d(
                    channels, channels // 2, kernel_size=2 * r, stride=r,
                    padding=r // 2 + r % 2, output_padding=r % 2,
                )),
            ]
            channels //= 2
            layers += [ResnetBlock(channels, dilation=3 ** j) for j in range(n_residual_layers)]
        layers += [
            nn.LeakyReLU(0.2),
            nn.ReflectionPad1d(3),
            weight_norm(nn.Conv1d(channels, 1, kernel_size=7)),
            nn.Tanh(),
        ]
        self.model = nn.Sequential(*layers)  # the official name and order: checkpoints load

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.ndim != 3 or mel.shape[1] != self.n_mels:
            raise ShapeError(
                f"the generator takes a mel of shape (batch, n_mels={self.n_mels}, frames), "
                f"got {tuple(mel.shape)}. Add a batch axis with mel[None], or transpose (frames, n_mels)."
            )
        if mel.shape[-1] < 4:
            raise ShapeError(
                f"the generator needs at least 4 mel frames (its first conv reflect-pads by 3), "
                f"got {mel.shape[-1]}."
            )
        x = self.model[:-2](mel)  # (B, ngf, frames * hop + 6): reflect-padded for the last conv
        # The last conv and tanh in float32 even under bf16 autocast: bf16 keeps 8 bits of
        # mantissa, and a bf16 waveform takes only a few hundred distinct values.
        with torch.autocast(x.device.type, enabled=False):
            return self.model[-2:](x.float())  # (B, 1, frames * hop)


# --------------------------------------------------------------------------- discriminator


class NLayerDiscriminator(nn.Module):
    """One MelGAN discriminator: waveform → list of feature maps, the score map last.

    layer_0: reflect-pad 7 → WN conv(1 → ndf, k15) → LeakyReLU(0.2);
    layer_1…n: WN conv(k = 10·s + 1, stride s, groups = in_ch // 4), channels ×s capped at
    1024 (16 → 64 → 256 → 1024 → 1024 with the defaults) → LeakyReLU(0.2);
    layer_n+1: WN conv(k5) to min(2·ch, 1024) → LeakyReLU(0.2); layer_n+2: WN conv(k3 → 1).
    The grouped convs keep the 1024-wide layers cheap: each output sees 4 input channels.

    Notebook: 06_melgan.

    Parameters
    ----------
    ndf : int
        Channels of the first layer (16).
    n_layers : int
        Strided layers (4); the output list has ``n_layers + 3`` maps.
    downsampling_factor : int
        Stride of the strided layers (4).

    Examples
    --------
    >>> outs = NLayerDiscriminator(16, 4, 4)(torch.zeros(1, 1, 8192))
    >>> [tuple(o.shape[1:]) for o in outs]
    [(16, 8192), (64, 2048), (256, 512), (1024, 128), (1024, 32), (1024, 32), (1, 32)]
    """

    def __init__(self, ndf: int = 16, n_layers: int = 4, downsampling_factor: int = 4):
        super().__init__()
        model = nn.ModuleDict()
        model["layer_0"] = nn.Sequential(
            nn.ReflectionPad1d(7),
            weight_norm(nn.Conv1d(1, ndf, kernel_size=15)),
            nn.LeakyReLU(0.2),
        )
        nf, stride = ndf, downsampling_factor
        for n in range(1, n_layers + 1):
            nf_prev, nf = nf, min(nf * stride, D_MAX_CHANNELS)
            model[f"layer_{n}"] = nn.Sequential(
                weight_norm(nn.Conv1d(
                    nf_prev, nf, kernel_size=stride * 10 + 1, stride=stride,
                    padding=stride * 5, groups=nf_prev // 4,
                )),
                nn.LeakyReLU(0.2),
            )
        nf_prev, nf = nf, min(nf * 2, D_MAX_CHANNELS)
        model[f"layer_{n_layers + 1}"] = nn.Sequential(
            weight_norm(nn.Conv1d(nf_prev, nf, kernel_size=5, padding=2)),
            nn.LeakyReLU(0.2),
        )
        model[f"layer_{n_layers + 2}"] = weight_norm(nn.Conv1d(nf, 1, kernel_size=3, padding=1))
        self.model = model

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for layer in self.model.values():
            x = layer(x)  # (B, C_l, T / stride^l)
            outputs.append(x)
        return outputs  # n_layers + 3 maps; outputs[-1] is the score, (B, 1, T / stride^n)


class Discriminator(nn.Module):
    """Multi-scale discriminator: ``num_D`` :class:`NLayerDiscriminator` at T, T/2, T/4, ….

    Between scales the waveform is smoothed and halved by
    ``AvgPool1d(4, stride=2, padding=1, count_include_pad=False)``.

    Notebook: 06_melgan.

    Parameters
    ----------
    num_D, ndf, n_layers, downsampling_factor : int
        As in :class:`Config` (3, 16, 4, 4).

    The forward pass maps audio ``(B, 1, T)`` to a list [length num_D] of lists
    [length n_layers + 3]: ``outputs[i][j]`` is feature map j of scale i, of shape
    ``(B, C_j, T / 2^i / stride^j)``, and ``outputs[i][-1]`` is the score map.
    """

    def __init__(self, num_D: int = 3, ndf: int = 16, n_layers: int = 4, downsampling_factor: int = 4):
        super().__init__()
        self.model = nn.ModuleDict(
            {f"disc_{i}": NLayerDiscriminator(ndf, n_layers, downsampling_factor) for i in range(num_D)}
        )
        self.downsample = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        if x.ndim != 3 or x.shape[1] != 1:
            raise ShapeError(f"the discriminator takes audio of shape (batch, 1, samples), got {tuple(x.shape)}.")
        outputs = []
        for i, disc in enumerate(self.model.values()):
            if i > 0:
                x = self.downsample(x)  # (B, 1, T / 2^i)
            outputs.append(disc(x))
        return outputs


# --------------------------------------------------------------------------- losses


def discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge loss of the discriminators: ``Σ_scales mean(relu(1 − D(x))) + mean(relu(1 + D(G(s))))``.

    Summed over the scales, averaged over batch and time within each, as in the official
    ``train.py``. Scores beyond the margins (real ≥ 1, fake ≤ −1) give no gradient.

    Notebook: 06_melgan.

    Parameters
    ----------
    real, fake : list of list of torch.Tensor
        :class:`Discriminator` outputs for real and generated audio; only ``[-1]`` is used.

    Returns
    -------
    loss : torch.Tensor [shape=()]

    Examples
    --------
    >>> discriminator_loss([[torch.tensor([0.5, 2.0])]], [[torch.tensor([-2.0, 0.0])]])
    tensor(0.7500)
    """
    loss = 0.0
    for scale_real, scale_fake in zip(real, fake):  # in float32: a bf16 sum near 6 moves in steps of 1/32
        loss = loss + F.relu(1 - scale_real[-1].float()).mean() + F.relu(1 + scale_fake[-1].float()).mean()
    return loss


def generator_adversarial_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge adversarial loss of the generator: ``Σ_scales −mean(D(G(s)))``.

    Notebook: 06_melgan.

    Parameters
    ----------
    fake : list of list of torch.Tensor
        :class:`Discriminator` outputs for generated audio; only ``[-1]`` is used.

    Returns
    -------
    loss : torch.Tensor [shape=()]
    """
    loss = 0.0
    for scale in fake:
        loss = loss - scale[-1].float().mean()
    return loss


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]], *,
                          n_layers_D: int = 4) -> torch.Tensor:
    """L1 between the discriminators' feature maps of real and generated audio.

    ``Σ_i Σ_{j < last} w · mean|D_i^j(x) − D_i^j(G(s))|`` with the official weight
    ``w = (4 / (n_layers_D + 1)) · (1 / num_D)`` for every map (0.8 / 3 with the defaults).
    Each scale has ``n_layers_D + 2`` feature maps (the score is left out), so the weights
    of one scale add up to 4.8, not 4: the official constant, kept as it is. The real
    features are targets (detached). ``train_step`` multiplies this by ``lambda_feat`` (10).

    Notebook: 06_melgan.

    Parameters
    ----------
    real, fake : list [length num_D] of list of torch.Tensor
        :class:`Discriminator` outputs.
    n_layers_D : int
        Strided layers per discriminator (sets ``w``).

    Returns
    -------
    loss : torch.Tensor [shape=()]

    Examples
    --------
    >>> r = [[torch.zeros(2), torch.zeros(3)]]
    >>> f = [[torch.ones(2), torch.zeros(3)]]
    >>> feature_matching_loss(r, f, n_layers_D=3)   # one map, |1 - 0| = 1, w = 4/4 · 1/1
    tensor(1.)
    """
    weight = (4.0 / (n_layers_D + 1)) * (1.0 / len(real))
    loss = 0.0
    for scale_real, scale_fake in zip(real, fake):
        for feat_real, feat_fake in zip(scale_real[:-1], scale_fake[:-1]):
            loss = loss + weight * F.l1_loss(feat_fake.float(), feat_real.detach().float())
    return loss


# --------------------------------------------------------------------------- protocol


def build(cfg: Config) -> dict[str, nn.Module]:
    """The paper's networks for a config: ``{"generator": ..., "discriminator": ...}``.

    Notebook: 06_melgan.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    modules : dict of str to nn.Module
    """
    return {
        "generator": Generator(cfg.mel_config.n_mels, cfg.ngf, cfg.ratios, cfg.n_residual_layers),
        "discriminator": Discriminator(cfg.num_D, cfg.ndf, cfg.n_layers_D, cfg.downsamp_factor),
    }


def make_optimizers(modules: dict[str, nn.Module], cfg: Config) -> tuple[dict, dict]:
    """Adam (lr 1e-4, betas (0.5, 0.9)) for each network; MelGAN uses no scheduler.

    Notebook: 06_melgan.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    cfg : Config
        Gives ``learning_rate`` and ``betas``.

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


def train_step(modules: dict[str, nn.Module], optimizers: dict, batch: dict, cfg: Config, *,
               autocast: Callable[[], Any] = contextlib.nullcontext) -> dict[str, float]:
    """One discriminator update, then one generator update, as in the official ``train.py``.

    D step: hinge loss on ``D(x)`` and ``D(G(s).detach())`` (one forward of the
    concatenated batch; the discriminators have no batch statistics, so this equals two
    forwards). G step: ``−D(G(s)) + lambda_feat · feature matching`` with the *updated*
    discriminator on fake audio and, as targets, the real features computed in the D step,
    before the D update (the official code reuses them too); the discriminator runs
    :func:`~voclab.models.frozen`, so no gradients are computed (or all-reduced) for its
    weights in the G step. The mel L1 between ``s`` and the mel of ``G(s)`` is
    computed without gradient, for logging only.

    Notebook: 06_melgan.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    optimizers : dict
        From :func:`make_optimizers`.
    batch : dict
        ``{"audio": (B, 1, T), "mel": (B, n_mels, T // hop)}``.
    cfg : Config
    autocast : callable
        Context-manager factory wrapping the forward passes (bf16 or a no-op); the
        generator's last layer and the losses are computed in float32.

    Returns
    -------
    losses : dict of str to float
        ``loss_d``, ``loss_g`` (total), ``loss_adv``, ``loss_fm`` (before ×``lambda_feat``) and ``mel_l1``.

    Raises
    ------
    voclab.errors.ShapeError
        The generated audio is not as long as ``batch["audio"]``.
    """
    generator, discriminator = modules["generator"], modules["discriminator"]
    opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
    audio, mel = batch["audio"], batch["mel"]  # (B, 1, T), (B, n_mels, frames)

    with autocast():
        fake = generator(mel)  # (B, 1, frames * hop)
    if fake.shape != audio.shape:
        raise ShapeError(
            f"the generator made {tuple(fake.shape)} from a mel of {mel.shape[-1]} frames but the "
            f"audio is {tuple(audio.shape)}; segments must hold frames × hop_length "
            f"({cfg.mel_config.hop_length}) samples, with the mel made by mel_spectrogram(audio, cfg.mel_config)."
        )

    # discriminator step
    with autocast():
        both = discriminator(torch.cat([audio, fake.detach()]))  # scales × layers × (2B, C, T')
    d_real = [[f[: len(audio)] for f in scale] for scale in both]
    d_fake = [[f[len(audio):] for f in scale] for scale in both]
    loss_d = discriminator_loss(d_real, d_fake)  # float32, outside autocast
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    # generator step, against the updated discriminator (whose weights it does not update)
    with autocast(), frozen(discriminator):
        d_fake = discriminator(fake)
    loss_adv = generator_adversarial_loss(d_fake)
    loss_fm = feature_matching_loss(d_real, d_fake, n_layers_D=cfg.n_layers_D)
    loss_g = loss_adv + cfg.lambda_feat * loss_fm
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()

    with torch.no_grad():
        mel_fake = mel_spectrogram(fake.detach().float().squeeze(1), cfg.mel_config)  # (B, n_mels, frames)
        mel_l1 = F.l1_loss(mel_fake, mel.float())
    return {
        "loss_d": loss_d.item(),
        "loss_g": loss_g.item(),
        "loss_adv": loss_adv.item(),
        "loss_fm": loss_fm.item(),
        "mel_l1": mel_l1.item(),
    }


def validation_audio(generator: nn.Module, mel: torch.Tensor) -> torch.Tensor:
    """Vocode for validation and ``voclab vocode``: ``(B, n_mels, frames) → (B, 1, frames * hop)``.

    Notebook: 06_melgan.

    Parameters
    ----------
    generator : Generator
    mel : torch.Tensor [shape=(B, n_mels, frames)]
        Log-mel made with the model's :class:`MelConfig`.

    Returns
    -------
    audio : torch.Tensor [shape=(B, 1, frames * hop)], in [-1, 1]
    """
    with torch.no_grad():
        return generator(mel)


def count_parameters(module: nn.Module, *, weight_norm_gains: bool = False) -> int:
    """Number of trainable parameters, counted as the papers count them (by default).

    Weight norm stores each conv weight as a direction ``v`` (the weight's shape) and a gain
    ``g`` (one per output channel; per *input* channel of a transposed conv). The papers'
    figures count the network without the gains — the network that runs once weight norm is
    removed: 4,260,257 for MelGAN's generator ("4.26M"); with the gains it has 4,266,050.

    Notebook: 06_melgan.

    Parameters
    ----------
    module : nn.Module
    weight_norm_gains : bool
        Also count the gains ``g`` (``weight_g``, ``parametrizations.weight.original0``).

    Returns
    -------
    n : int
    """
    total = 0
    for name, p in module.named_parameters():
        is_gain = name.endswith(("parametrizations.weight.original0", "weight_g"))
        if p.requires_grad and (weight_norm_gains or not is_gain):
            total += p.numel()
    return total


# --------------------------------------------------------------------------- official checkpoints


#: The official code's old ``torch.nn.utils.weight_norm`` hooks store each conv's weight as
#: ``weight_g`` / ``weight_v``; voclab's parametrizations hold the same tensors under these names.
_OFFICIAL_LEAVES = {"weight_g": "parametrizations.weight.original0",  # the gains g
                    "weight_v": "parametrizations.weight.original1"}  # the directions v

_NETG_ADVICE = ("The file expected is the generator state dict that descriptinc/melgan-neurips' scripts/train.py "
                "saves as netG.pt (or best_netG.pt), or its models/linda_johnson.pt / multi_speaker.pt.")


def official_to_voclab_keys(state_dict: dict) -> dict:
    """Rename an official MelGAN generator's weight-norm keys to voclab's parametrization keys.

    voclab's :class:`Generator` is the official ``nn.Sequential`` module for module (the same
    indices ``model.0`` … ``model.N``, the same ``block.k`` / ``shortcut`` inside each
    :class:`ResnetBlock`), so only the leaf names differ: ``X.weight_g`` →
    ``X.parametrizations.weight.original0`` and ``X.weight_v`` →
    ``X.parametrizations.weight.original1``; biases keep their names. A DDP ``module.`` prefix
    is dropped.

    Notebook: 06_melgan.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        The official generator's state dict (``netG.pt``).

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The same tensors under voclab's keys.

    Examples
    --------
    >>> list(official_to_voclab_keys({"model.1.weight_g": torch.ones(1, 1, 1)}))
    ['model.1.parametrizations.weight.original0']
    """
    out = {}
    for key, value in state_dict.items():
        head, _, leaf = key.removeprefix("module.").rpartition(".")
        out[f"{head}.{_OFFICIAL_LEAVES.get(leaf, leaf)}" if head else leaf] = value
    return out


def _direction(sd: dict, index: int) -> torch.Tensor | None:
    """The weight (direction ``v``) of the top-level layer ``model.<index>``, in voclab's keys."""
    return sd.get(f"model.{index}.parametrizations.weight.original1")


def config_from_official(state_dict: dict) -> Config:
    """The :class:`Config` of an official MelGAN generator, read from its weights' shapes.

    The official ``Generator(n_mel_channels, ngf, n_residual_layers)`` saves no config in
    ``netG.pt`` (it lies in the run's ``args.yml``), but its shapes tell it: the first conv is
    ``(ngf · 2^len(ratios), n_mels, 7)``, each transposed conv ``(C, C / 2, 2r)`` for ratio
    ``r``, the last conv ``(1, ngf, 7)``, and every :class:`ResnetBlock` has a ``shortcut``.
    The published generators (``ngf`` 32, ratios 8·8·2·2, 3 residual layers) give
    ``Config()``. The mel is voclab's ``"melgan"`` preset, the official ``Audio2Mel``
    settings (22050 Hz, hop 256, 80 mels, 0–11025 Hz, log10 with floor 1e-5).

    Notebook: 06_melgan.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        Official keys (``weight_g`` / ``weight_v``) or voclab's (:func:`official_to_voclab_keys`).

    Returns
    -------
    cfg : Config

    Raises
    ------
    voclab.errors.CheckpointError
        The weights are not those of an official MelGAN generator (the message says what is
        missing), or it takes another number of mel bands than the preset's 80.

    Examples
    --------
    >>> config_from_official(Generator().state_dict()) == Config()
    True
    """
    sd = official_to_voclab_keys(state_dict)
    top = sorted({int(key.split(".")[1]) for key in sd
                  if key.startswith("model.") and key.split(".")[1].isdigit() and _direction(sd, int(key.split(".")[1])) is not None})
    blocks = {key.split(".")[1] for key in sd if key.startswith("model.") and ".shortcut." in key}
    if len(top) < 3 or any(_direction(sd, i).ndim != 3 for i in top):
        raise CheckpointError(f"These weights are not an official MelGAN generator's (expected weight-normed convs "
                              f"model.N.weight_g / weight_v, the first at model.1; found {len(top)} top-level convs). "
                              + _NETG_ADVICE)
    first, ups, last = _direction(sd, top[0]), [_direction(sd, i) for i in top[1:-1]], _direction(sd, top[-1])
    ngf, n_mels = int(last.shape[1]), int(first.shape[1])
    ratios = [int(w.shape[2]) // 2 for w in ups]
    if len(blocks) % max(len(ratios), 1):
        raise CheckpointError(f"These weights have {len(blocks)} residual blocks for {len(ratios)} upsampling stages; "
                              f"an official MelGAN generator has the same number in each stage. " + _NETG_ADVICE)
    preset = MelConfig.preset("melgan")
    if n_mels != preset.n_mels:
        raise CheckpointError(f"This MelGAN generator takes {n_mels} mel bands; voclab's 'melgan' mel settings (the "
                              f"official Audio2Mel's) have {preset.n_mels}, so its mel settings are unknown.")
    try:
        return Config(ngf=ngf, ratios=ratios, n_residual_layers=len(blocks) // len(ratios), mel="melgan")
    except ConfigError as err:
        raise CheckpointError(f"These weights do not describe a MelGAN voclab can build ({err}). "
                              + _NETG_ADVICE) from None


def load_official_generator(path, device: str | torch.device = "cpu", *,
                            remove_weight_norm: bool = True) -> Generator:
    """Load an official MelGAN generator (descriptinc/melgan-neurips ``netG.pt``) into voclab's :class:`Generator`.

    The official ``scripts/train.py`` saves the generator's bare state dict, with the old
    weight-norm keys ``model.N.weight_g`` / ``weight_v``. Its architecture is read from the
    shapes (:func:`config_from_official`), the keys are renamed
    (:func:`official_to_voclab_keys`), and the weights are loaded strictly: every tensor of
    the file is used and every weight of the generator is set, or the message names the keys
    that differ. Weight norm is then folded into plain weights (same output to float
    rounding): kept, it recomputes ``g · v / ‖v‖`` for every conv at every forward, which
    slows the official code's inference and voclab's alike — voclab's paper-size generator on
    200 frames (2.3 s of audio), one CPU thread, best of 5: 0.395 s with weight norm, 0.297 s
    without (measured with ``time.perf_counter``; the outputs were identical).

    Notebook: 06_melgan.

    Parameters
    ----------
    path : str, Path or dict
        The ``netG.pt`` file (read with ``torch.load(weights_only=True)``: no pickled code
        runs), or its loaded state dict.
    device : str or torch.device
    remove_weight_norm : bool
        Fold weight norm away (default). Keep it (``False``) to train on, or to save the
        weights in a voclab checkpoint, whose generator is built with weight norm.

    Returns
    -------
    generator : Generator
        In eval mode, on ``device``; its architecture is :func:`config_from_official` of the file.

    Raises
    ------
    voclab.errors.CheckpointError
        No such file, an unreadable one, a voclab or HiFi-GAN checkpoint, or weights that are
        not an official MelGAN generator's (the message names the differing keys).

    Examples
    --------
    >>> generator = load_official_generator("logs/netG.pt")                  # doctest: +SKIP
    >>> audio = generator(torch.from_numpy(log_mel)[None])                  # doctest: +SKIP
    """
    if isinstance(path, dict):
        content = path
    else:
        if not Path(path).is_file():
            raise CheckpointError(f"No MelGAN generator file at {path}. " + _NETG_ADVICE)
        content = load_tensors(path, what="official MelGAN generator (netG.pt)", advice=_NETG_ADVICE)
    if not isinstance(content, dict) or "format" in content or "generator" in content:
        what = ("a voclab checkpoint: load it with voclab.checkpoint.load_checkpoint" if isinstance(content, dict)
                and "format" in content else "an official HiFi-GAN g_XXXXXXXX: load it with "
                "voclab.models.hifigan.load_official_generator" if isinstance(content, dict)
                else f"a {type(content).__name__}, not a state dict")
        raise CheckpointError(f"{path if not isinstance(path, dict) else 'This'} is {what}. " + _NETG_ADVICE)
    cfg = config_from_official(content)
    sd = official_to_voclab_keys(content)
    generator = Generator(cfg.mel_config.n_mels, cfg.ngf, cfg.ratios, cfg.n_residual_layers)
    expected = generator.state_dict()
    missing, unexpected = sorted(set(expected) - set(sd)), sorted(set(sd) - set(expected))
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
              if k in sd and sd[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise CheckpointError(
            f"The file does not fit an official MelGAN generator (ngf={cfg.ngf}, ratios={cfg.ratios}, "
            f"n_residual_layers={cfg.n_residual_layers}): missing {missing[:4]}, unexpected {unexpected[:4]}, "
            f"shapes {shapes[:3]}. " + _NETG_ADVICE)
    generator.load_state_dict(sd, strict=True)
    generator.eval()
    if remove_weight_norm:
        _remove_weight_norm(generator)
    return generator.to(device)
