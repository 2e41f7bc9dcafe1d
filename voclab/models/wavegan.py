"""WaveGAN (Donahue, McAuley & Puckette, ICLR 2019): a GAN that makes raw audio in one parallel pass.

DCGAN flattened to one dimension: a latent ``z ~ U(−1, 1)^100`` goes through a dense layer to
16 positions × 16·d channels, then five transposed convolutions (kernel 25, stride 4) each make
the signal 4× longer and halve the channels, down to 16384 samples of one channel (about 1 s at
16 kHz); ReLU between the layers, tanh at the end. The discriminator mirrors it: five strided
convolutions (kernel 25, stride 4, LeakyReLU 0.2) down to 16 × 16·d, then one dense layer to a
score. Nothing is conditioned on anything: the model learns the *distribution* of a folder of
short sounds (spoken digits, drum hits) and samples new ones.

Two ideas of the paper live here:

* **Phase shuffle** (:class:`PhaseShuffle`, :func:`phase_shuffle`): transposed convolutions
  leave a periodic pattern in the audio (kernel 25 over stride 4: 6 or 7 taps per output
  sample), so the discriminator could tell fakes by their phase alone. After each of its first
  four layers the feature maps are shifted by a random ``k ∈ [−n, n]`` samples (n = 2),
  reflect-padded on one side and cropped back to their length. As in the official code, *one*
  shift is drawn per call and shared by the whole batch; ``per_example=True`` draws one per
  example, as some ports do — a different regulariser, kept under its own name.
* **WGAN-GP** (Gulrajani et al. 2017): the discriminator is a critic with unbounded scores,
  trained 5 times per generator update on ``D(G(z)) − D(x) + λ·(‖∇D(x̂)‖ − 1)²`` with
  ``x̂`` a random point between a real and a fake example and λ = 10
  (:func:`gradient_penalty`, :func:`discriminator_loss`, :func:`generator_loss`); Adam 1e-4,
  β = (0.5, 0.9), batch 64.

Faithful to the official TensorFlow code (``chrisdonahue/wavegan``, ``wavegan.py`` and
``train_wavegan.py``): the same layers, widths and "same" paddings (TF pads 10 samples before
and 11 after a stride-4 kernel of 25; this file does exactly that), Glorot-uniform weights and
zero biases as TF's layers start, ``upsample="zeros"`` (transposed convolution, the paper's) or
``"nn"`` (nearest-neighbour ×4, then a convolution), the optional 512-tap post-processing filter
after the tanh, optional batch norm (off, as in the paper), and the longer slices of the
official repo's later versions (32768 and 65536 samples: one more layer in each network).
At the paper's size (d = 64, 16384 samples) the generator has **19,065,345** parameters and the
discriminator **17,427,969**. Where this file differs:

* slices of 1024–8192 samples (for CPU runs) keep the five layers and start from
  ``slice_len / 1024`` positions instead of 16 (the official code accepts 16384, 32768, 65536);
* phase shuffle runs only while the discriminator is in training mode (``D.train()``), like
  dropout, which its author likens it to: the official code only ever runs the discriminator
  to train it, so there it always shuffles — in its critic steps *and* its generator step,
  as here; ``D.eval()`` gives the unshuffled critic (to probe it, as notebook 04 does);
* each critic step takes a fresh batch of real audio from the shared loop (the official
  input pipeline does the same: one ``sess.run`` per critic update, each dequeues a batch).

The model follows the protocol of :mod:`voclab.models` for an *unconditional* model
(``KIND = "unconditional"``): :func:`validation_audio` turns latents, not mels, into audio;
:func:`sample_latents` is the one place latents are drawn (training, previews and
``voclab generate`` all use it: a preview drawn from another distribution than the training
latents is a bug a popular port has); :func:`batches_per_step` asks the loop for
``n_critic`` real batches per step.

Notebook: 04_wavegan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from . import frozen

__all__ = [
    "KIND",
    "SLICE_LENGTHS",
    "Config",
    "Discriminator",
    "Generator",
    "PhaseShuffle",
    "UpsampleLayer",
    "batches_per_step",
    "build",
    "build_generator",
    "count_parameters",
    "discriminator_loss",
    "gradient_penalty",
    "generator_loss",
    "layout",
    "make_optimizers",
    "phase_shuffle",
    "sample_latents",
    "shift_with_reflection",
    "train_step",
    "validation_audio",
]

#: What :mod:`voclab.train` and :mod:`voclab.checkpoint` read: latents in, audio out, no mel.
KIND = "unconditional"

#: Slice lengths this file builds: the official 16384, 32768, 65536, and shorter ones for CPUs.
SLICE_LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768, 65536)

#: Stride of every layer (the last generator layer of a 32768-sample model uses 2).
STRIDE = 4

#: Latent distributions :func:`sample_latents` knows: the paper's U(−1, 1), and N(0, 1).
LATENT_DISTRIBUTIONS = ("uniform", "normal")


# --------------------------------------------------------------------------- config


@dataclass
class Config:
    """WaveGAN's architecture, training and validation settings (the paper's, by default).

    Notebook: 04_wavegan.

    Parameters
    ----------
    slice_len : int
        Samples per example, one of :data:`SLICE_LENGTHS` (16384: about 1 s at 16 kHz).
    sample_rate : int
        Rate the training clips are read at and the audio is written at (16000).
    latent_dim : int
        Size of the latent ``z`` (100).
    latent_distribution : {"uniform", "normal"}
        ``"uniform"``: z ~ U(−1, 1), the paper's; ``"normal"``: z ~ N(0, 1).
    dim : int
        Model size d (64): the widest layers have 16·d channels (32·d for 32768 and 65536 samples).
    kernel_len : int
        Kernel of every convolution (25).
    upsample : {"zeros", "nn"}
        ``"zeros"``: transposed convolutions (the paper's); ``"nn"``: nearest-neighbour
        upsampling then a convolution (no checkerboard pattern; the same parameter count).
    use_batchnorm : bool
        Batch norm after the dense layer and each hidden layer of both networks (off, as in the paper).
    post_filter : bool
        A learned FIR filter after the generator's tanh (the official ``--wavegan_genr_pp``; off).
    post_filter_len : int
        Its taps (512).
    phase_shuffle : int
        Radius n of phase shuffle (2); 0 turns it off.
    phase_shuffle_per_example : bool
        Draw one shift per example instead of one per call shared by the batch (the official way).
    n_critic : int
        Critic updates per generator update (5); each takes its own batch of real audio.
    gp_lambda : float
        Weight λ of the gradient penalty (10).
    batch_size : int
        Examples per critic update and per generator update (64).
    learning_rate : float
        Adam learning rate of both networks (1e-4).
    betas : tuple of float
        Adam betas (0.5, 0.9).
    first_slice : bool
        Take each clip from its start (the official ``--data_first_slice``, for one-shot sounds)
        rather than at a random offset; clips shorter than ``slice_len`` are zero-padded at the end.
    random_gain : tuple of float or None
        Augmentation: scale each example by a gain drawn uniformly from this range; ``None``: off.
    pitch_shift : float
        Augmentation: resample each example by up to ± this many semitones (faster and higher,
        or slower and lower, as a sampler plays a drum hit); 0: off.
    time_shift : int
        Augmentation: delay or advance each example by up to this many samples (zero-filled); 0: off.
    preview_n : int
        Fixed latents (seeds 0 … preview_n − 1) whose audio each validation writes.
    ndb_samples : int
        Generated examples (seeds 0 … ndb_samples − 1), and at most as many real ones, scored
        with NDB at each validation.
    ndb_bins : int
        k of NDB (50); fewer when the training folder has fewer than ten clips a bin.

    Raises
    ------
    voclab.errors.ConfigError
        A slice length this file cannot build, an unknown upsampling or latent distribution,
        or a size out of range.

    Examples
    --------
    >>> Config().slice_len, Config().dim, Config().n_critic
    (16384, 64, 5)
    """

    slice_len: int = 16384
    sample_rate: int = 16000
    latent_dim: int = 100
    latent_distribution: str = "uniform"
    dim: int = 64
    kernel_len: int = 25
    upsample: str = "zeros"
    use_batchnorm: bool = False
    post_filter: bool = False
    post_filter_len: int = 512
    phase_shuffle: int = 2
    phase_shuffle_per_example: bool = False
    n_critic: int = 5
    gp_lambda: float = 10.0
    batch_size: int = 64
    learning_rate: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    first_slice: bool = False
    random_gain: tuple[float, float] | None = None
    pitch_shift: float = 0.0
    time_shift: int = 0
    preview_n: int = 8
    ndb_samples: int = 1000
    ndb_bins: int = 50

    def __post_init__(self):
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives a list
        if self.random_gain is not None:
            self.random_gain = tuple(float(g) for g in self.random_gain)
        problems = []
        if self.slice_len not in SLICE_LENGTHS:
            problems.append(f"slice_len must be one of {', '.join(map(str, SLICE_LENGTHS))} (got {self.slice_len}); "
                            "16384 · 2^k with k from −4 to 2")
        if self.upsample not in ("zeros", "nn"):
            problems.append(f"upsample must be 'zeros' (transposed convolution) or 'nn' (nearest neighbour + "
                            f"convolution), got {self.upsample!r}")
        if self.latent_distribution not in LATENT_DISTRIBUTIONS:
            problems.append(f"latent_distribution must be 'uniform' (U(-1, 1), the paper's) or 'normal' (N(0, 1)), "
                            f"got {self.latent_distribution!r}")
        for name in ("sample_rate", "latent_dim", "dim", "kernel_len", "post_filter_len", "n_critic", "batch_size",
                     "preview_n", "ndb_samples"):
            if not getattr(self, name) >= 1:
                problems.append(f"{name} must be at least 1 (got {getattr(self, name)})")
        if self.ndb_bins < 2:
            problems.append(f"ndb_bins must be at least 2 (got {self.ndb_bins})")
        if self.phase_shuffle < 0 or self.time_shift < 0 or self.pitch_shift < 0:
            problems.append("phase_shuffle, time_shift and pitch_shift must be >= 0")
        if self.learning_rate <= 0 or self.gp_lambda < 0:
            problems.append("learning_rate must be positive and gp_lambda >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.random_gain is not None and not (
                len(self.random_gain) == 2 and 0 < self.random_gain[0] <= self.random_gain[1]):
            problems.append(f"random_gain must be (low, high) with 0 < low <= high, or null; got {self.random_gain}")
        if problems:
            raise ConfigError("Invalid WaveGAN Config: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict:
        """The fields as plain JSON types (what ``voclab/configs/wavegan.json`` holds)."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        if self.random_gain is not None:
            out["random_gain"] = list(self.random_gain)
        return out


def layout(slice_len: int, dim: int) -> tuple[int, list[int], list[int]]:
    """The generator's shapes for a slice length: start length, channels, strides.

    The dense layer makes ``start`` positions of ``channels[0]`` channels; layer i upsamples
    by ``strides[i]`` to ``channels[i + 1]`` channels; the last has 1. The discriminator walks
    the same list backwards. Official: 16384 → 16 × 16d, strides 4,4,4,4,4; 32768 → 16 × 32d,
    strides 4,4,4,4,4,2; 65536 → 16 × 32d, strides 4,4,4,4,4,4. Shorter slices (voclab's, for
    CPUs) keep the paper's five layers and start from ``slice_len / 1024`` positions.

    Notebook: 04_wavegan.

    Parameters
    ----------
    slice_len : int
        One of :data:`SLICE_LENGTHS`.
    dim : int
        Model size d.

    Returns
    -------
    start : int
        Positions after the dense layer.
    channels : list of int
        ``len(strides) + 1`` entries, from the dense layer's to the output's (1).
    strides : list of int

    Raises
    ------
    voclab.errors.ConfigError
        A slice length not in :data:`SLICE_LENGTHS`.

    Examples
    --------
    >>> layout(16384, 64)
    (16, [1024, 512, 256, 128, 64, 1], [4, 4, 4, 4, 4])
    >>> layout(32768, 64)[1:]
    ([2048, 1024, 512, 256, 128, 64, 1], [4, 4, 4, 4, 4, 2])
    """
    if slice_len not in SLICE_LENGTHS:
        raise ConfigError(f"slice_len must be one of {', '.join(map(str, SLICE_LENGTHS))}, got {slice_len}.")
    if slice_len <= 16384:
        return slice_len // 1024, [dim * m for m in (16, 8, 4, 2, 1)] + [1], [STRIDE] * 5
    last = 2 if slice_len == 32768 else 4
    return 16, [dim * m for m in (32, 16, 8, 4, 2, 1)] + [1], [STRIDE] * 5 + [last]


def _same_padding(kernel_len: int, stride: int) -> tuple[int, int]:
    """TF's "same" padding of a strided convolution whose input length is a multiple of the stride:
    ``kernel − stride`` zeros in all, the smaller half before (25, 4 → 10 before, 11 after)."""
    total = max(kernel_len - stride, 0)
    return total // 2, total - total // 2


def _init_like_tf(module: nn.Module) -> None:
    """TF's layer defaults: Glorot-uniform weights, zero biases (batch norm keeps 1 and 0)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


# --------------------------------------------------------------------------- generator


class UpsampleLayer(nn.Module):
    """One generator layer: ``(B, C_in, T) → (B, C_out, stride · T)``, exactly ``stride`` times longer.

    ``"zeros"``: a transposed convolution (it inserts ``stride − 1`` zeros between the samples
    and convolves), cropped as TF's ``padding="same"`` crops it: the full output has
    ``stride·(T − 1) + kernel`` samples, of which TF keeps ``stride·T`` starting at sample
    ``(kernel − stride) // 2``. ``"nn"``: each sample repeated ``stride`` times, then a
    "same" convolution.

    Notebook: 04_wavegan.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_len : int
        25 in the paper.
    stride : int
        4 (2 for the last layer of a 32768-sample generator).
    upsample : {"zeros", "nn"}

    Examples
    --------
    >>> UpsampleLayer(8, 4, 25, 4)(torch.zeros(2, 8, 16)).shape
    torch.Size([2, 4, 64])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_len: int = 25, stride: int = STRIDE,
                 upsample: str = "zeros"):
        super().__init__()
        self.stride, self.upsample = stride, upsample
        if upsample == "zeros":
            before, _ = _same_padding(kernel_len, stride)
            self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_len, stride=stride, padding=before)
        elif upsample == "nn":
            self.conv = nn.Conv1d(in_channels, out_channels, kernel_len, padding=(kernel_len - 1) // 2)
            self.pad_right = (kernel_len - 1) % 2  # "same": an even kernel takes its extra zero after
        else:
            raise ConfigError(f"upsample must be 'zeros' or 'nn', got {upsample!r}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1] * self.stride
        if self.upsample == "nn":
            x = F.interpolate(x, scale_factor=self.stride, mode="nearest")  # (B, C_in, stride · T)
            if self.pad_right:
                x = F.pad(x, (0, self.pad_right))
        # a transposed conv with TF's crop keeps one sample too many when kernel − stride is odd
        return self.conv(x)[..., :length]  # (B, C_out, stride · T)


class Generator(nn.Module):
    """Latent → waveform: ``(B, latent_dim) → (B, 1, slice_len)`` in one parallel pass.

    dense(latent_dim → start · 16d) → reshape to (16d, start) → [batch norm] → ReLU; then per
    layer an :class:`UpsampleLayer` (kernel 25, stride 4) halving the channels → [batch norm]
    → ReLU, the last to one channel → tanh; then, if asked, the post-processing FIR filter
    (no bias, "same" padding). At the paper's size: 19,065,345 parameters.

    Notebook: 04_wavegan.

    Parameters
    ----------
    latent_dim : int
        100.
    dim : int
        Model size d (64).
    slice_len : int
        16384 (see :func:`layout`).
    kernel_len : int
        25.
    upsample : {"zeros", "nn"}
    use_batchnorm : bool
    post_filter_len : int
        Taps of the post-processing filter; 0: none.

    Examples
    --------
    >>> G = Generator(dim=2, slice_len=4096)
    >>> G(torch.zeros(3, 100)).shape
    torch.Size([3, 1, 4096])
    """

    def __init__(self, latent_dim: int = 100, dim: int = 64, slice_len: int = 16384, kernel_len: int = 25,
                 upsample: str = "zeros", use_batchnorm: bool = False, post_filter_len: int = 0):
        super().__init__()
        self.latent_dim, self.slice_len = latent_dim, slice_len
        self.start, channels, strides = layout(slice_len, dim)
        norm = nn.BatchNorm1d if use_batchnorm else None
        self.z_project = nn.Linear(latent_dim, self.start * channels[0])
        # TF's batch norm: moving averages with momentum 0.99 (PyTorch's 0.01), eps 1e-3
        self.z_norm = norm(channels[0], eps=1e-3, momentum=0.01) if norm else nn.Identity()
        self.upconvs = nn.ModuleList(
            UpsampleLayer(c_in, c_out, kernel_len, stride, upsample)
            for c_in, c_out, stride in zip(channels[:-1], channels[1:], strides)
        )
        self.norms = nn.ModuleList(
            norm(c, eps=1e-3, momentum=0.01) if norm else nn.Identity() for c in channels[1:-1]
        )
        self.post_filter = nn.Conv1d(1, 1, post_filter_len, bias=False) if post_filter_len else None
        _init_like_tf(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"the generator takes latents of shape (batch, latent_dim={self.latent_dim}), "
                             f"got {tuple(z.shape)}. Draw them with voclab.models.wavegan.sample_latents(cfg, n).")
        x = self.z_project(z)  # (B, start · 16d)
        x = x.view(len(z), self.start, -1).transpose(1, 2)  # (B, 16d, start): TF reshapes to (B, start, 16d)
        x = F.relu(self.z_norm(x))
        for i, layer in enumerate(self.upconvs):
            if i < len(self.norms):
                x = F.relu(self.norms[i](layer(x)))  # (B, C_i, T_i · stride_i)
            else:
                # the last layer, the tanh and the filter in float32, even under bf16 autocast
                with torch.autocast(x.device.type, enabled=False):
                    x = torch.tanh(layer(x.float()))  # (B, 1, slice_len)
        if self.post_filter is not None:
            with torch.autocast(x.device.type, enabled=False):
                before, after = _same_padding(self.post_filter.kernel_size[0], 1)
                x = self.post_filter(F.pad(x, (before, after)))  # (B, 1, slice_len)
        return x


# --------------------------------------------------------------------------- phase shuffle


def shift_with_reflection(x: torch.Tensor, shift: int | torch.Tensor) -> torch.Tensor:
    """Shift each signal by ``shift`` samples along the last axis, reflecting at the edge; same length.

    ``shift > 0`` moves the signal later: the first ``shift`` samples become the mirror image of
    the samples after the edge (``x[shift], …, x[1]``), and the last ``shift`` samples fall off.
    ``shift < 0`` moves it earlier, mirrored at the end. This is the official ``apply_phaseshuffle``
    for a given shift: reflect-pad by ``|shift|`` on one side, crop back to the length.

    Notebook: 04_wavegan.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, C, T)]
    shift : int or torch.Tensor [shape=(B,)]
        One shift for all, or one per example; ``|shift| < T``.

    Returns
    -------
    shifted : torch.Tensor [shape=(B, C, T)]

    Examples
    --------
    >>> shift_with_reflection(torch.arange(6.).view(1, 1, 6), 2)
    tensor([[[2., 1., 0., 1., 2., 3.]]])
    >>> shift_with_reflection(torch.arange(6.).view(1, 1, 6), -2)
    tensor([[[2., 3., 4., 5., 4., 3.]]])
    """
    length = x.shape[-1]
    if isinstance(shift, torch.Tensor) and shift.ndim == 1:
        reach = int(shift.abs().max()) if shift.numel() else 0
        return _gather_shift(x, shift, reach) if reach else x
    shift = int(shift)
    if shift == 0:
        return x
    if shift > 0:
        return F.pad(x, (shift, 0), mode="reflect")[..., :length]  # (B, C, T)
    return F.pad(x, (0, -shift), mode="reflect")[..., -shift:]  # (B, C, T)


def _gather_shift(x: torch.Tensor, shifts: torch.Tensor, reach: int) -> torch.Tensor:
    """Shift example b by ``shifts[b]`` (``|shifts| <= reach``), reflecting: tensors only, no Python ints
    taken from them (what ``torch.compile`` can trace without breaking its graph)."""
    padded = F.pad(x, (reach, reach), mode="reflect")  # (B, C, T + 2·reach)
    # example b reads padded[b, :, reach − shift_b : reach − shift_b + T]
    starts = (reach - shifts.to(x.device)).view(-1, 1, 1)  # (B, 1, 1)
    index = starts + torch.arange(x.shape[-1], device=x.device).view(1, 1, -1)  # (B, 1, T)
    return torch.gather(padded, 2, index.expand(-1, x.shape[1], -1))  # (B, C, T)


def phase_shuffle(x: torch.Tensor, n: int = 2, *, per_example: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Phase shuffle: shift feature maps by a random ``k ∈ [−n, n]`` samples, reflecting at the edge.

    As the official code does, one ``k`` (uniform over the ``2n + 1`` integers) is drawn per call
    and the whole batch moves together; ``per_example=True`` draws one per example instead (what
    some ports do: a different regulariser). Real, fake and interpolated batches each go through
    the discriminator separately, so each draws its own shifts; so does each of its four layers.
    The draw uses the CPU random stream (``torch.randint``), which checkpoints save.

    Notebook: 04_wavegan.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, C, T)]
        Feature maps, ``T > n``.
    n : int
        The radius (2); 0 returns ``x``.
    per_example : bool
    generator : torch.Generator, optional
        Draw from this CPU generator instead of the global stream.

    Returns
    -------
    shuffled : torch.Tensor [shape=(B, C, T)]

    Raises
    ------
    voclab.errors.ShapeError
        ``x`` is not (B, C, T), or is not longer than ``n`` (reflection needs ``n`` samples).
    """
    if n == 0:
        return x
    if x.ndim != 3:
        raise ShapeError(f"phase_shuffle takes feature maps of shape (batch, channels, time), got {tuple(x.shape)}.")
    if x.shape[-1] <= n:
        raise ShapeError(f"phase shuffle by up to {n} samples needs more than {n} samples to reflect, "
                         f"got {x.shape[-1]}.")
    draws = torch.randint(-n, n + 1, (x.shape[0] if per_example else 1,), generator=generator)  # (B,) or (1,)
    if per_example or torch.compiler.is_compiling():
        return _gather_shift(x, draws.expand(x.shape[0]), n)  # (B, C, T)
    return shift_with_reflection(x, int(draws))  # one shift for the batch: a slice, no gather


class PhaseShuffle(nn.Module):
    """:func:`phase_shuffle` as a layer: shuffles in training mode only, like dropout.

    Notebook: 04_wavegan.

    Parameters
    ----------
    n : int
        Radius (2); 0: the identity.
    per_example : bool
        One shift per example instead of one per call.
    """

    def __init__(self, n: int = 2, per_example: bool = False):
        super().__init__()
        self.n, self.per_example = int(n), bool(per_example)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.n == 0:
            return x
        return phase_shuffle(x, self.n, per_example=self.per_example)  # (B, C, T)

    def extra_repr(self) -> str:
        return f"n={self.n}, per_example={self.per_example}"


# --------------------------------------------------------------------------- discriminator


class Discriminator(nn.Module):
    """Waveform → one unbounded score per example: ``(B, 1, slice_len) → (B,)``.

    Per layer: a strided convolution (kernel 25, stride 4, TF's "same" padding) → [batch norm,
    not on the first] → LeakyReLU(0.2) → :class:`PhaseShuffle` (after the first four layers
    only); then flatten and dense → 1. At the paper's size: 17,427,969 parameters.

    Notebook: 04_wavegan.

    Parameters
    ----------
    dim : int
        Model size d (64).
    slice_len : int
    kernel_len : int
    phase_shuffle : int
        Radius n (2); 0: none.
    per_example : bool
        Phase shuffle's per-example variant.
    use_batchnorm : bool

    Examples
    --------
    >>> D = Discriminator(dim=2, slice_len=4096)
    >>> D(torch.zeros(3, 1, 4096)).shape
    torch.Size([3])
    """

    def __init__(self, dim: int = 64, slice_len: int = 16384, kernel_len: int = 25, phase_shuffle: int = 2,
                 per_example: bool = False, use_batchnorm: bool = False):
        super().__init__()
        self.slice_len = slice_len
        start, channels, strides = layout(slice_len, dim)
        channels, strides = channels[::-1], strides[::-1]  # 1 → d → 2d → …
        self.pads = [_same_padding(kernel_len, s) for s in strides]
        self.downconvs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, kernel_len, stride=s) for c_in, c_out, s in zip(channels[:-1], channels[1:], strides)
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(c, eps=1e-3, momentum=0.01) if use_batchnorm and i > 0 else nn.Identity()
            for i, c in enumerate(channels[1:])
        )
        self.shuffles = nn.ModuleList(PhaseShuffle(phase_shuffle, per_example) for _ in range(4))
        self.output = nn.Linear(start * channels[-1], 1)
        _init_like_tf(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != 1 or x.shape[-1] != self.slice_len:
            raise ShapeError(f"the discriminator takes audio of shape (batch, 1, {self.slice_len}), "
                             f"got {tuple(x.shape)}.")
        for i, conv in enumerate(self.downconvs):
            x = F.leaky_relu(self.norms[i](conv(F.pad(x, self.pads[i]))), 0.2)  # (B, C_i, T / 4^(i+1))
            if i < len(self.shuffles):
                x = self.shuffles[i](x)
        # flatten as TF does, time-major: (B, start, 16d) → (B, start · 16d)
        return self.output(x.transpose(1, 2).reshape(len(x), -1))[:, 0]  # (B,)


# --------------------------------------------------------------------------- losses


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's Wasserstein loss, without the penalty: ``mean D(G(z)) − mean D(x)``.

    Minimising it pushes the scores of real audio up and those of generated audio down; its
    negative is the critic's estimate of the Wasserstein distance. :func:`train_step` adds
    ``gp_lambda ·`` :func:`gradient_penalty`. Computed in float32.

    Notebook: 04_wavegan.

    Parameters
    ----------
    real_scores, fake_scores : torch.Tensor [shape=(B,)]

    Returns
    -------
    loss : torch.Tensor [shape=()]

    Examples
    --------
    >>> discriminator_loss(torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 1.0]))
    tensor(-3.)
    """
    return fake_scores.float().mean() - real_scores.float().mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's Wasserstein loss: ``−mean D(G(z))`` (raise the critic's score of its audio).

    Notebook: 04_wavegan.

    Parameters
    ----------
    fake_scores : torch.Tensor [shape=(B,)]

    Returns
    -------
    loss : torch.Tensor [shape=()]

    Examples
    --------
    >>> generator_loss(torch.tensor([-1.0, 3.0]))
    tensor(-1.)
    """
    return -fake_scores.float().mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, *,
                     alpha: torch.Tensor | None = None,
                     autocast: Callable[[], Any] = contextlib.nullcontext) -> torch.Tensor:
    """WGAN-GP's penalty: ``mean_b (‖∇_x̂ D(x̂_b)‖₂ − 1)²`` at random points between real and fake.

    A 1-Lipschitz critic has gradients of norm at most 1; WGAN-GP (Gulrajani et al. 2017) asks
    for norm 1 along the lines between real and generated examples. Each example ``b`` gets its
    own weight ``α_b ~ U(0, 1)`` and its own point ``x̂_b = x_b + α_b (G(z)_b − x_b)``; the norm
    is taken per example over all its samples (not over the whole batch); the gradient is
    computed with ``create_graph=True``, so the penalty is differentiable with respect to the
    critic's weights — without it the penalty would be a constant and train nothing. Both
    inputs are detached: the penalty is part of the critic's loss only. Multiply by λ (10).

    Notebook: 04_wavegan.

    Parameters
    ----------
    critic : callable
        ``(B, 1, T) → (B,)`` scores (the discriminator; in training mode it phase-shuffles
        the interpolates too, with their own draw, as the official code does).
    real, fake : torch.Tensor [shape=(B, 1, T)]
    alpha : torch.Tensor [shape=(B,)], optional
        The interpolation weights; drawn from U(0, 1) (the global random stream) when ``None``.
    autocast : callable
        Context-manager factory around the critic's forward (bf16 or a no-op); the norm and the
        penalty are computed in float32.

    Returns
    -------
    penalty : torch.Tensor [shape=()]
        Without λ.

    Raises
    ------
    voclab.errors.ShapeError
        ``real`` and ``fake`` differ in shape, or ``alpha`` is not one weight per example.

    Examples
    --------
    >>> w = torch.full((1, 1, 4), 0.25)                       # a linear critic: its gradient is w everywhere
    >>> critic = lambda x: (x * w).sum(dim=(1, 2))
    >>> gradient_penalty(critic, torch.zeros(2, 1, 4), torch.ones(2, 1, 4))   # (‖w‖ − 1)² = (0.5 − 1)²
    tensor(0.2500)
    """
    if real.shape != fake.shape:
        raise ShapeError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}.")
    real, fake = real.detach(), fake.detach()
    batch = real.shape[0]
    if alpha is None:
        alpha = torch.rand(batch, device=real.device, dtype=torch.float32)
    if alpha.shape != (batch,):
        raise ShapeError(f"alpha holds one interpolation weight per example: shape ({batch},), got {tuple(alpha.shape)}.")
    weight = alpha.to(real.dtype).view(batch, *([1] * (real.ndim - 1)))  # (B, 1, 1): one weight per example
    interpolates = (real + weight * (fake - real)).requires_grad_(True)  # (B, 1, T)
    with autocast():
        scores = critic(interpolates)  # (B,)
    # the examples do not interact in the critic, so d(Σ scores)/dx̂_b is the gradient of D(x̂_b) alone
    (gradients,) = torch.autograd.grad(scores.float().sum(), interpolates, create_graph=True)
    norms = gradients.float().flatten(1).norm(2, dim=1)  # (B,): one norm per example
    return ((norms - 1.0) ** 2).mean()


# --------------------------------------------------------------------------- protocol


def sample_latents(cfg: Config, n: int, *, generator: torch.Generator | None = None,
                   device: str | torch.device = "cpu") -> torch.Tensor:
    """``n`` latents from the model's distribution: U(−1, 1)^latent_dim (the paper's) or N(0, 1).

    Training, validation previews and ``voclab generate`` all draw here, so previews always
    come from the distribution the generator was trained on.

    Notebook: 04_wavegan.

    Parameters
    ----------
    cfg : Config
    n : int
    generator : torch.Generator, optional
        A CPU generator (a seed); the global random stream when ``None``.
    device : str or torch.device
        Where the latents go (they are drawn on the CPU, so a seed gives the same latents everywhere).

    Returns
    -------
    z : torch.Tensor [shape=(n, latent_dim), dtype=float32]

    Examples
    --------
    >>> z = sample_latents(Config(), 4, generator=torch.Generator().manual_seed(0))
    >>> z.shape, bool(z.abs().max() <= 1)
    (torch.Size([4, 100]), True)
    """
    if cfg.latent_distribution == "uniform":
        z = torch.rand(n, cfg.latent_dim, generator=generator) * 2.0 - 1.0
    else:
        z = torch.randn(n, cfg.latent_dim, generator=generator)
    return z.to(device)


def build_generator(cfg: Config) -> Generator:
    """The generator alone (what ``voclab generate`` loads: the discriminator is not built).

    Notebook: 04_wavegan.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    generator : Generator
    """
    return Generator(cfg.latent_dim, cfg.dim, cfg.slice_len, cfg.kernel_len, cfg.upsample, cfg.use_batchnorm,
                     cfg.post_filter_len if cfg.post_filter else 0)


def build(cfg: Config) -> dict[str, nn.Module]:
    """The paper's networks for a config: ``{"generator": ..., "discriminator": ...}``.

    Notebook: 04_wavegan.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    modules : dict of str to nn.Module
    """
    return {
        "generator": build_generator(cfg),
        "discriminator": Discriminator(cfg.dim, cfg.slice_len, cfg.kernel_len, cfg.phase_shuffle,
                                       cfg.phase_shuffle_per_example, cfg.use_batchnorm),
    }


def make_optimizers(modules: dict[str, nn.Module], cfg: Config) -> tuple[dict, dict]:
    """Adam (lr 1e-4, betas (0.5, 0.9)) for each network, as the official WGAN-GP setting; no scheduler.

    Notebook: 04_wavegan.

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
    """Real batches one :func:`train_step` takes: one per critic update (``n_critic``, 5).

    Notebook: 04_wavegan.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    k : int
    """
    return cfg.n_critic


def train_step(modules: dict[str, nn.Module], optimizers: dict, batch: dict, cfg: Config, *,
               autocast: Callable[[], Any] = contextlib.nullcontext) -> dict[str, float]:
    """``n_critic`` critic updates, then one generator update: one step of the official loop.

    Critic update ``i`` takes real batch ``i`` and a fresh ``G(z)`` (no gradient to G); its loss is
    ``mean D(G(z)) − mean D(x) + λ · gradient_penalty``, with real, fake and interpolated audio
    going through the critic separately (so each draws its own phase shuffle, as in the
    official graph). The generator update draws new latents and minimises ``−mean D(G(z))``
    through the critic, which keeps phase-shuffling and runs :func:`~voclab.models.frozen`
    (no gradients, or DDP traffic, for its weights).

    Notebook: 04_wavegan.

    Parameters
    ----------
    modules : dict
        From :func:`build`.
    optimizers : dict
        From :func:`make_optimizers`.
    batch : dict
        ``{"audio": (n_critic · B, 1, slice_len)}``: the loop stacks the ``n_critic`` batches
        (:func:`batches_per_step`).
    cfg : Config
    autocast : callable
        Context-manager factory wrapping the forward passes (bf16 or a no-op); the generator's
        last layer, the scores' losses and the penalty are computed in float32.

    Returns
    -------
    losses : dict of str to float
        ``loss_d`` (critic loss with the penalty), ``wasserstein`` (mean D(x) − mean D(G(z)), the
        critic's distance estimate), ``gradient_penalty`` (before ×λ) — each the mean over the
        critic updates — and ``loss_g``.

    Raises
    ------
    voclab.errors.ShapeError
        ``batch["audio"]`` is not ``n_critic`` batches of ``(1, slice_len)`` examples.
    """
    generator, discriminator = modules["generator"], modules["discriminator"]
    opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
    audio = batch["audio"]  # (n_critic · B, 1, T)
    if audio.ndim != 3 or audio.shape[1:] != (1, cfg.slice_len) or len(audio) % cfg.n_critic:
        raise ShapeError(f"a WaveGAN step takes n_critic={cfg.n_critic} batches of (1, {cfg.slice_len}) examples "
                         f"stacked, got {tuple(audio.shape)}.")
    reals = audio.view(cfg.n_critic, -1, 1, cfg.slice_len)  # (n_critic, B, 1, T)
    batch_size = reals.shape[1]

    sums = {"loss_d": 0.0, "wasserstein": 0.0, "gradient_penalty": 0.0}
    for real in reals:
        # critic update
        z = sample_latents(cfg, batch_size, device=audio.device)  # (B, latent_dim)
        with torch.no_grad(), autocast():
            fake = generator(z)  # (B, 1, T)
        with autocast():
            real_scores, fake_scores = discriminator(real), discriminator(fake)  # (B,), (B,)
        wasserstein_loss = discriminator_loss(real_scores, fake_scores)
        # torch.compile's autograd has no double backward: the penalty runs the critic uncompiled
        penalty = gradient_penalty(getattr(discriminator, "_orig_mod", discriminator), real, fake, autocast=autocast)
        loss_d = wasserstein_loss + cfg.gp_lambda * penalty
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        sums["loss_d"] += loss_d.item()
        sums["wasserstein"] -= wasserstein_loss.item()
        sums["gradient_penalty"] += penalty.item()

    # generator update, through the updated critic (whose weights it does not update)
    z = sample_latents(cfg, batch_size, device=audio.device)
    with autocast(), frozen(discriminator):
        fake_scores = discriminator(generator(z))  # (B,)
    loss_g = generator_loss(fake_scores)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {**{key: value / cfg.n_critic for key, value in sums.items()}, "loss_g": loss_g.item()}


def validation_audio(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Generate for validation and ``voclab generate``: ``(B, latent_dim) → (B, 1, slice_len)``.

    Notebook: 04_wavegan.

    Parameters
    ----------
    generator : Generator
    z : torch.Tensor [shape=(B, latent_dim)]
        From :func:`sample_latents`.

    Returns
    -------
    audio : torch.Tensor [shape=(B, 1, slice_len)]
        In [−1, 1] (without the post-processing filter, which is unbounded).
    """
    with torch.no_grad():
        return generator(z)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (the paper's size: G 19,065,345, D 17,427,969).

    Notebook: 04_wavegan.

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
    (19065345, 17427969)
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
