"""Dilated causal convolutions and their receptive fields.

A neural vocoder that works on raw samples must see far enough into the past: one pitch
period of a 100 Hz voice is 220.5 samples at 22.05 kHz. WaveNet (van den Oord et al. 2016)
gets there with *dilated causal* convolutions: each layer looks at its input with gaps of
``d`` samples, and the dilations double from layer to layer, so the receptive field grows
exponentially with depth while the cost grows linearly. A stack of convolutions with kernel
sizes ``k_i`` and dilations ``d_i`` sees

    RF = 1 + sum_i (k_i - 1) * d_i   samples,

which is ``(k - 1) * sum(d) + 1`` when every layer has the same kernel.

The weights do not grow with the dilation: a convolution from ``C`` to ``C`` channels has
``C * C * k + C`` parameters whatever its ``d``, so dilation widens the field for free; the
same field from plain (undilated) layers, or from one wide kernel, costs about a hundred, or
about fifty, times the parameters (:func:`conv_stack_parameters` counts them).

This module holds the pieces notebook 02 builds: causal padding, a causal convolution, a
dilated causal stack, the formula, the parameter count of a stack, a receptive field
*measured* with gradients (which must agree with the formula), the receptive fields of
published vocoders, and the classic WaveNet diagram.

Notebook: 02_dilated_convolutions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError, ShapeError, VoclabError

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "CausalConv1d",
    "DilatedCausalStack",
    "ReceptiveField",
    "causal_pad",
    "conv_stack_parameters",
    "empirical_receptive_field",
    "plot_receptive_field",
    "receptive_field",
    "wavenet_dilations",
]


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


def _layers(kernel_size, dilations) -> list[tuple[int, int]]:
    """(kernel, dilation) per layer, validated; ``kernel_size`` is one int or one per layer."""
    if isinstance(dilations, (int, np.integer)):
        raise ConfigError(
            f"dilations must be a list with one dilation per layer, got the single number {dilations!r}: "
            f"write [{dilations}] for one layer."
        )
    dilations = [_positive_int(d, "every dilation") for d in dilations]
    if isinstance(kernel_size, (int, np.integer)) and not isinstance(kernel_size, bool):
        kernels = [_positive_int(kernel_size, "kernel_size")] * len(dilations)
    else:
        kernels = [_positive_int(k, "every kernel size") for k in kernel_size]
        if len(kernels) != len(dilations):
            raise ConfigError(
                f"{len(kernels)} kernel sizes for {len(dilations)} dilations: give one kernel size per "
                f"layer, or a single int for all of them."
            )
    return list(zip(kernels, dilations))


# ====================================================================== causal convolutions


def causal_pad(x: torch.Tensor, kernel_size: int, dilation: int = 1) -> torch.Tensor:
    """Left-pad a signal with zeros so that a convolution keeps its length and never sees the future.

    A convolution with kernel ``k`` and dilation ``d`` spans ``(k - 1) * d + 1`` input
    samples. Without padding its output is ``(k - 1) * d`` samples shorter than its input.
    Putting all of those zeros on the *left* makes output sample ``t`` depend on input
    samples ``t - (k - 1) d, ..., t - d, t`` only: the convolution is *causal*, as WaveNet
    needs to generate audio one sample after the other (van den Oord et al. 2016, Fig. 2).

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, channels, time)]
    kernel_size : int
        The kernel size ``k`` of the convolution that follows.
    dilation : int
        Its dilation ``d``.

    Returns
    -------
    padded : torch.Tensor [shape=(batch, channels, time + (kernel_size - 1) * dilation)]
        ``(k - 1) * d`` zeros, then ``x``.

    Raises
    ------
    voclab.errors.ShapeError
        If ``x`` is not a 3-D tensor.
    voclab.errors.ConfigError
        If ``kernel_size`` or ``dilation`` is not a positive integer.

    Examples
    --------
    >>> causal_pad(torch.ones(1, 1, 3), kernel_size=2, dilation=2)
    tensor([[[0., 0., 1., 1., 1.]]])
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ShapeError(
            f"causal_pad expects a torch tensor of shape (batch, channels, time), got {shape}; "
            f"add the missing axes with x[None, None] (or x[:, None] for a batch)."
        )
    k, d = _positive_int(kernel_size, "kernel_size"), _positive_int(dilation, "dilation")
    return F.pad(x, ((k - 1) * d, 0))


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution whose output sample ``t`` sees inputs up to ``t`` only, at the same length.

    An ``nn.Conv1d`` without padding of its own; :func:`causal_pad` adds ``(k - 1) * d``
    zeros on the left in :meth:`forward`. Its weights are created exactly as ``nn.Conv1d``'s.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
    dilation : int
    bias : bool

    Examples
    --------
    >>> conv = CausalConv1d(1, 1, kernel_size=3, dilation=4)
    >>> conv(torch.zeros(1, 1, 100)).shape
    torch.Size([1, 1, 100])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1,
                 bias: bool = True):
        super().__init__(in_channels, out_channels, _positive_int(kernel_size, "kernel_size"),
                         dilation=_positive_int(dilation, "dilation"), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in, T) -> (B, out, T)
        return super().forward(causal_pad(x, self.kernel_size[0], self.dilation[0]))


class DilatedCausalStack(nn.Module):
    """A stack of dilated causal convolutions: ``x <- activation(conv_d(x))`` for each dilation ``d``.

    The skeleton of WaveNet without its gates, residuals and skips (which change what the
    network computes, not what it can see): every layer is a :class:`CausalConv1d` from
    ``channels`` to ``channels`` with the same kernel, and dilations such as 1, 2, 4, ...
    make the receptive field :func:`receptive_field` grow exponentially with depth.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    channels : int
        Channels of every layer (input and output).
    kernel_size : int
        Kernel size of every layer (2 in the WaveNet paper, 3 in r9y9's recipes).
    dilations : sequence of int
        One dilation per layer, e.g. ``[1, 2, 4, 8]`` or :func:`wavenet_dilations`.
    activation : callable
        Applied after every convolution (default ``torch.tanh``); an ``nn.Module`` works too.

    Attributes
    ----------
    convs : nn.ModuleList of CausalConv1d
        The layers, created in the order of ``dilations``.

    Examples
    --------
    >>> stack = DilatedCausalStack(4, 2, [1, 2, 4, 8])
    >>> stack(torch.zeros(1, 4, 50)).shape, stack.receptive_field
    (torch.Size([1, 4, 50]), 16)
    """

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int],
                 activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh):
        super().__init__()
        self.kernel_size = _positive_int(kernel_size, "kernel_size")
        self.dilations = [d for _, d in _layers(self.kernel_size, dilations)]
        if not self.dilations:
            raise ConfigError("DilatedCausalStack needs at least one dilation, e.g. [1, 2, 4, 8].")
        channels = _positive_int(channels, "channels")
        self.convs = nn.ModuleList(CausalConv1d(channels, channels, self.kernel_size, d) for d in self.dilations)
        self.activation = activation

    @property
    def receptive_field(self) -> int:
        """How many input samples reach one output sample: ``(k - 1) * sum(dilations) + 1``."""
        return receptive_field(self.kernel_size, self.dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, channels, T) -> (B, channels, T)
        for conv in self.convs:
            x = self.activation(conv(x))
        return x


# ====================================================================== the formula


def receptive_field(kernel_size: int | Sequence[int], dilations: Sequence[int]) -> int:
    """The receptive field of a stack of convolutions, in samples: ``1 + sum_i (k_i - 1) * d_i``.

    One convolution with kernel ``k`` and dilation ``d`` spans ``(k - 1) * d + 1`` samples;
    each further layer widens the span by its own ``(k_i - 1) * d_i``. With one kernel for
    all layers this is ``(k - 1) * sum(d) + 1``: WaveNet's dilations 1, 2, ..., 512 with
    ``k = 2`` give 1024 samples per block (van den Oord et al. 2016). It is the same for
    causal and centred ("same") padding: padding moves the span, it does not widen it.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    kernel_size : int or sequence of int
        The kernel size of every layer, or one per layer (e.g. 3 for a dilated conv
        followed by 1 for a 1x1 conv, as in MelGAN's residual blocks).
    dilations : sequence of int
        One dilation per layer, *all* the layers in order (repeated blocks included, see
        :func:`wavenet_dilations`).

    Returns
    -------
    samples : int
        1 for an empty stack (a sample sees itself).

    Raises
    ------
    voclab.errors.ConfigError
        A kernel size or dilation that is not a positive integer, or per-layer kernel sizes
        whose count differs from the dilations'.

    Examples
    --------
    >>> receptive_field(2, [2 ** i for i in range(10)] * 3)      # the WaveNet paper's example
    3070
    >>> receptive_field([3, 1] * 3, [1, 1, 3, 1, 9, 1])          # MelGAN's residual stack
    27
    """
    return 1 + sum((k - 1) * d for k, d in _layers(kernel_size, dilations))


def wavenet_dilations(layers: int, stacks: int, base: int = 2) -> list[int]:
    """WaveNet's dilations: ``base ** (i % (layers // stacks))`` for layer ``i``, i.e. 1, 2, 4, ... per stack.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    layers : int
        Total number of dilated layers (30 in Tacotron 2's WaveNet, 24 in r9y9's MoL recipe).
    stacks : int
        How many times the doubling restarts from 1 (3 and 4 there); must divide ``layers``.
    base : int
        The growth factor (2: doubling; MelGAN's residual stacks grow by 3).

    Returns
    -------
    dilations : list of int [length=layers]

    Raises
    ------
    voclab.errors.ConfigError
        If ``stacks`` does not divide ``layers`` or a value is not a positive integer.

    Examples
    --------
    >>> wavenet_dilations(6, 2)
    [1, 2, 4, 1, 2, 4]
    """
    layers, stacks = _positive_int(layers, "layers"), _positive_int(stacks, "stacks")
    base = _positive_int(base, "base")
    if layers % stacks:
        raise ConfigError(f"{layers} layers cannot be split into {stacks} equal stacks; "
                          f"pick a number of stacks that divides {layers}.")
    per_stack = layers // stacks
    return [base ** (i % per_stack) for i in range(layers)]


# ====================================================================== what a field costs


def conv_stack_parameters(channels: int, kernel_sizes: Sequence[int], *, bias: bool = True) -> int:
    """The number of parameters of a stack of ``channels -> channels`` convolutions, one per kernel size.

    A 1-D convolution from ``C`` to ``C`` channels with kernel ``k`` holds a ``C x C x k``
    weight and ``C`` biases: ``C * C * k + C`` parameters. The dilation does not appear: it
    spreads the same ``k`` taps over ``(k - 1) * d + 1`` samples. That is WaveNet's bargain
    (van den Oord et al. 2016): thirty kernel-2 layers with dilations 1, 2, ..., 512 (three
    times) see 3070 samples; undilated kernel-2 layers need 3069 layers for the same field,
    and a single convolution needs a kernel of 3070 taps. This function counts the three.

    It counts exactly the layers of :class:`DilatedCausalStack` (one ``nn.Conv1d(C, C, k)``
    per layer, weights and biases) and nothing else: a real WaveNet layer adds its gate
    (the dilated conv has ``2 C`` outputs), a 1x1 residual and a 1x1 skip convolution, a
    cost *per layer* that does not depend on the dilation either.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    channels : int
        ``C``: the input and output channels of every layer.
    kernel_sizes : sequence of int
        One kernel size per layer: ``[2] * 30`` for thirty kernel-2 layers.
    bias : bool
        Whether every layer has a bias (``nn.Conv1d``'s default, and the stack's).

    Returns
    -------
    parameters : int
        ``sum_i (C * C * k_i + C)``; equals ``sum(p.numel() for p in stack.parameters())``
        of the stack built with these sizes (tests/test_receptive_field.py builds it).

    Raises
    ------
    voclab.errors.ConfigError
        A single number instead of a list, or a size that is not a positive integer.

    Examples
    --------
    >>> conv_stack_parameters(128, [2] * 30)            # dilated: 1..512, three times, RF 3070
    986880
    >>> conv_stack_parameters(128, [2] * 3069)          # plain kernel-2 layers, RF 3070
    100957824
    >>> conv_stack_parameters(128, [3070])              # one convolution, RF 3070
    50299008
    """
    if isinstance(kernel_sizes, (int, np.integer)):
        raise ConfigError(
            f"kernel_sizes must be a list with one kernel size per layer, got the single number "
            f"{kernel_sizes!r}: write [{kernel_sizes}] for one layer, or [{kernel_sizes}] * n for n."
        )
    c = _positive_int(channels, "channels")
    kernels = [_positive_int(k, "every kernel size") for k in kernel_sizes]
    return sum(c * c * k + (c if bias else 0) for k in kernels)


# ====================================================================== the measurement


class ReceptiveField(NamedTuple):
    """A measured receptive field: input offsets ``first ... last`` relative to the output sample.

    ``(-15, 0)`` is a causal field of 16 samples; ``(-12, 12)`` a centred one of 25.
    """

    first: int
    last: int

    @property
    def size(self) -> int:
        """Samples from the first to the last one that reach the output (gaps included)."""
        return self.last - self.first + 1


def _first_conv_channels(module) -> int:
    if isinstance(module, nn.Module):
        for layer in module.modules():
            if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d)):
                return layer.in_channels
    raise ConfigError(
        "empirical_receptive_field cannot tell how many input channels the module takes "
        "(it has no nn.Conv1d): pass in_channels=..."
    )


def _influence(module, in_channels: int, length: int, trials: int, seed: int, dtype) -> np.ndarray:
    """Sum over ``trials`` random inputs of |d output[t] / d input| for t = the middle output sample."""
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(length, dtype=torch.float64)
    for _ in range(trials):
        x = torch.randn(1, in_channels, length, generator=generator, dtype=dtype).requires_grad_(True)
        y = module(x)
        if not isinstance(y, torch.Tensor) or y.ndim != 3:
            raise ShapeError(
                "empirical_receptive_field needs a module that maps (batch, channels, time) to "
                f"(batch, channels, time); it returned {type(y).__name__}"
                + (f" of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else "") + "."
            )
        y[0, :, y.shape[-1] // 2].sum().backward()
        total += x.grad[0].abs().sum(0).double()
    return total.numpy()


def empirical_receptive_field(module: nn.Module | Callable, length: int | None = None,
                              in_channels: int | None = None, *, trials: int = 3,
                              seed: int = 0) -> ReceptiveField:
    """Measure which input samples can change one output sample, with gradients.

    The output sample ``t`` in the middle of the output is differentiated with respect to
    the whole input; every input sample with a non-zero gradient reaches it. Random inputs
    (``trials`` of them, in float64 on a copy of the module) keep the gradient from vanishing
    by accident (a ReLU at zero, a cancellation); a weight that is exactly zero still hides
    its paths, so measure a freshly initialised module. The result must agree with
    :func:`receptive_field` -- for causal stacks and centred ones alike.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    module : nn.Module or callable
        Maps ``(1, in_channels, length)`` to ``(1, channels, length')``. It is not changed.
    length : int, optional
        Input length. By default it starts at 64 and doubles until the field lies inside
        the input without touching either end (up to 2**20 samples).
    in_channels : int, optional
        Default: the ``in_channels`` of the module's first convolution.
    trials : int
        Random inputs whose gradients are added up.
    seed : int
        Seeds the random inputs.

    Returns
    -------
    ReceptiveField
        ``(first, last)``: offsets of the first and last input sample that reach output
        sample ``t``, relative to input sample ``t``; ``.size`` is ``last - first + 1``.

    Raises
    ------
    voclab.errors.ConfigError
        ``in_channels`` cannot be found, or the field is wider than 2**20 samples.
    voclab.errors.ShapeError
        The module does not return a (batch, channels, time) tensor.
    voclab.errors.VoclabError
        No input sample reaches the output (all weights zero?).

    Examples
    --------
    >>> empirical_receptive_field(DilatedCausalStack(2, 2, [1, 2, 4, 8]))
    ReceptiveField(first=-15, last=0)
    """
    if in_channels is None:
        in_channels = _first_conv_channels(module)
    in_channels = _positive_int(in_channels, "in_channels")
    trials = _positive_int(trials, "trials")
    dtype = torch.float32
    if isinstance(module, nn.Module):  # float64 on a copy: no underflow, the caller's module untouched
        module, dtype = copy.deepcopy(module).double().eval(), torch.float64
    lengths = [_positive_int(length, "length")] if length is not None else [2 ** n for n in range(6, 21)]
    for n in lengths:
        influence = _influence(module, in_channels, n, trials, seed, dtype)
        touched = np.flatnonzero(influence)
        if touched.size == 0:
            raise VoclabError("No input sample changes the output: are all the module's weights zero, "
                              "or every ReLU on the way switched off (negative biases)? Measure a freshly "
                              "initialised module.")
        if length is not None or (touched[0] > 0 and touched[-1] < n - 1):
            with torch.no_grad():
                out_length = module(torch.zeros(1, in_channels, n, dtype=dtype)).shape[-1]
            t = out_length // 2
            return ReceptiveField(int(touched[0]) - t, int(touched[-1]) - t)
    raise ConfigError(f"the receptive field is wider than {lengths[-1]} samples: pass a length.")


# ====================================================================== published vocoders


@dataclass(frozen=True)
class Architecture:
    """The layer structure of a published network, as far as its receptive field is concerned.

    Notebook: 02_dilated_convolutions.

    Attributes
    ----------
    name : str
        A short label for tables: the configuration it is, not more (a paper's *example*
        pattern is labelled as one, a kernel size taken from a reimplementation says so).
    kernel_sizes, dilations : tuple of int
        One entry per convolution on the path from input to output, in order.
    causal : bool
        Whether it sees only the past (WaveNet) or both sides (the GAN vocoders' blocks).
    source : str
        Where the numbers come from, and what the source does not say.
    build : callable
        ``build() -> nn.Module``: the real layer structure with 1 channel (fast to measure).
    sample_rate : float or None
        The rate (Hz) at which these layers run in the source, or ``None`` where none
        applies (the WaveNet paper's example pattern is not one trained model's).
    """

    name: str
    kernel_sizes: tuple[int, ...]
    dilations: tuple[int, ...]
    causal: bool
    source: str
    build: Callable[[], nn.Module]
    sample_rate: float | None = None

    @property
    def receptive_field(self) -> int:
        """Samples, by the formula."""
        return receptive_field(self.kernel_sizes, self.dilations)

    def milliseconds(self, sample_rate: float | None = None) -> float:
        """The receptive field in milliseconds at ``sample_rate`` Hz (default: its own rate)."""
        rate = self.sample_rate if sample_rate is None else sample_rate
        if rate is None:
            raise ConfigError(f"{self.name} has no sample rate of its own: pass sample_rate=...")
        return 1000.0 * self.receptive_field / rate


def _wavenet(kernel_size: int, layers: int, stacks: int, name: str, source: str,
             sample_rate: float | None) -> Architecture:
    dilations = tuple(wavenet_dilations(layers, stacks))
    return Architecture(name, (kernel_size,) * layers, dilations, True, source,
                        lambda: DilatedCausalStack(1, kernel_size, dilations), sample_rate)


def _hifigan_resblock1(kernel_size: int) -> Architecture:
    def build():
        from .models import hifigan

        return hifigan.ResBlock1(1, kernel_size, [1, 3, 5])

    return Architecture(f"HiFi-GAN ResBlock1, k={kernel_size}", (kernel_size,) * 6, (1, 1, 3, 1, 5, 1),
                        False, "jik876/hifi-gan: per dilation 1, 3, 5 a dilated conv, then a dilation-1 "
                        "conv; 22050 Hz is the rate of the last MRF (after all the upsampling)", build,
                        22050.0)


def _melgan_residual_stack() -> Architecture:
    def build():
        from .models import melgan

        return nn.Sequential(*(melgan.ResnetBlock(1, dilation=3 ** j) for j in range(3)))

    return Architecture("MelGAN residual stack", (3, 1) * 3, (1, 1, 3, 1, 9, 1), False,
                        "descriptinc/melgan-neurips: blocks with dilations 1, 3, 9 (conv k3, then conv "
                        "k1); 22050 Hz is the rate of the last stack (after all the upsampling)", build,
                        22050.0)


#: The receptive fields of the course's vocoders, each labelled as the configuration it is
#: (reference/vocoder-facts.md and the papers; ``source`` says what a source does not state).
ARCHITECTURES: dict[str, Architecture] = {
    "wavenet_paper_example": _wavenet(
        2, 30, 3, "WaveNet paper's example pattern (k=2, 1…512 × 3)",
        "van den Oord et al. 2016: the dilations are doubled up to a limit and repeated, 'e.g.' "
        "1, 2, …, 512 three times, with 2-tap convolutions (1024 samples per block); an example, "
        "not the configuration of the paper's trained models, which the paper does not give",
        None),
    "tacotron2_layout_k3": _wavenet(
        3, 30, 3, "30-layer k=3 WaveNet (Tacotron 2's layers/cycles, r9y9's k)",
        "Shen et al. 2018: 30 layers in 3 dilation cycles, dilation 2^(i mod 10), 16-bit samples "
        "at 24 kHz; the paper states no kernel size: k=3 is r9y9/wavenet_vocoder's (and most "
        "reimplementations')", 24000.0),
    "r9y9_mol": _wavenet(3, 24, 4, "r9y9 MoL WaveNet (24 layers, 4 stacks, k=3)",
                         "r9y9/wavenet_vocoder, mixture-of-logistics recipe, 22050 Hz", 22050.0),
    "hifigan_resblock1_k3": _hifigan_resblock1(3),
    "hifigan_resblock1_k7": _hifigan_resblock1(7),
    "hifigan_resblock1_k11": _hifigan_resblock1(11),
    "melgan_residual_stack": _melgan_residual_stack(),
}


# ====================================================================== the diagram


def _tap_offsets(kernel_size: int, dilation: int, causal: bool) -> list[int]:
    shift = (kernel_size - 1) * dilation if causal else (kernel_size - 1) * dilation // 2
    return [j * dilation - shift for j in range(kernel_size)]


def plot_receptive_field(kernel_size: int | Sequence[int], dilations: Sequence[int], ax=None, *,
                         causal: bool = True, sample_rate: float | None = None, max_layers: int = 5,
                         max_samples: int = 80):
    """Draw the receptive field of a stack: WaveNet's diagram of dots, or per-layer spans for deep stacks.

    The full diagram (van den Oord et al. 2016, Fig. 3) has one row of dots per layer,
    the input at the bottom and one output sample at the top; the dots and lines that reach
    that output are highlighted: the cone of its receptive field. Stacks deeper than
    ``max_layers`` or wider than ``max_samples`` are drawn compactly: one bar per layer from
    the first to the last input sample that reaches the output through the layers so far.

    Notebook: 02_dilated_convolutions.

    Parameters
    ----------
    kernel_size : int or sequence of int
        One kernel size for all layers, or one per layer.
    dilations : sequence of int
        One per layer.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    causal : bool
        Causal (left) padding, or centred ("same") padding.
    sample_rate : float, optional
        Also give the size in milliseconds at this rate (Hz) in the title.
    max_layers, max_samples : int
        Limits of the full diagram.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> ax = plot_receptive_field(2, [1, 2, 4, 8], sample_rate=16000)
    >>> ax.get_title()
    'k=2, dilations 1,2,4,8: receptive field 16 samples = 1.00 ms at 16 kHz'
    """
    import matplotlib.pyplot as plt

    layers = _layers(kernel_size, dilations)
    rf = receptive_field([k for k, _ in layers], [d for _, d in layers])
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.6 * min(len(layers), max_layers) + 1.8))
    kernels = {k for k, _ in layers}
    label = f"k={kernels.pop()}" if len(kernels) == 1 else "k=" + ",".join(str(k) for k, _ in layers)
    title = f"{label}, dilations {','.join(str(d) for _, d in layers)}: receptive field {rf} samples"
    if len(title) > 80:
        title = f"{len(layers)} layers: receptive field {rf} samples"
    if sample_rate:
        title += f" = {1000 * rf / sample_rate:.2f} ms at {sample_rate / 1000:g} kHz"
    if len(layers) <= max_layers and rf <= max_samples:
        _draw_cone(ax, layers, causal)
    else:
        _draw_spans(ax, layers, causal)
    ax.set_title(title)
    return ax


def _draw_cone(ax, layers, causal: bool) -> None:
    n = len(layers)
    active = [set() for _ in range(n + 1)]  # per row (0 = the input): the samples that reach the output
    active[n] = {0}
    edges = []
    for row in range(n, 0, -1):
        k, d = layers[row - 1]
        for t in active[row]:
            for offset in _tap_offsets(k, d, causal):
                active[row - 1].add(t + offset)
                edges.append((t, t + offset, row))
    first, last = min(active[0]), max(active[0])
    positions = np.arange(first - 2, max(last, 0) + 3)  # a little past the cone: causal means nothing right of 0
    for t, source, row in edges:
        ax.plot([t, source], [row, row - 1], color="C1", lw=1.2, zorder=1)
    for row in range(n + 1):
        ax.scatter(positions, np.full(len(positions), row), s=14, color="0.8", zorder=2)
        on = sorted(active[row])
        ax.scatter(on, np.full(len(on), row), s=30, color="C1" if row < n else "C3", zorder=3)
    mixed = len({k for k, _ in layers}) > 1
    names = ["input"] + [f"layer {i + 1}: d={d}" + (f", k={k}" if mixed else "") for i, (k, d) in enumerate(layers)]
    ax.set_yticks(range(n + 1), names)
    ax.set_xlim(positions[0] - 1, positions[-1] + 1)
    ax.set_ylim(-0.8, n + 0.5)
    ax.annotate("", xy=(first, -0.55), xytext=(last, -0.55), arrowprops={"arrowstyle": "<->", "color": "C1"})
    ax.set_xlabel(f"input sample, relative to the output sample (red): the {last - first + 1} highlighted "
                  f"inputs reach it")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_spans(ax, layers, causal: bool) -> None:
    reach = 0
    for row, (k, d) in enumerate(layers, start=1):
        reach += (k - 1) * d
        first = -reach if causal else -(reach // 2)
        ax.barh(row, reach + 1, left=first - 0.5, height=0.7, color="C1" if k > 1 else "C0", alpha=0.8)
    ax.invert_yaxis()
    n = len(layers)
    step = max(1, n // 12)
    ticks = list(range(1, n + 1, step))
    ax.set_yticks(ticks, [f"layer {i}: d={layers[i - 1][1]}" for i in ticks])
    ax.axvline(0, color="C3", lw=1)
    ax.set_xlabel("input samples that reach the output sample (at 0) through the layers so far")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
