"""Exercise checks of notebook 02, dilated convolutions and receptive fields.

The learner writes causal padding (``causal_pad``), a stack of dilated causal
convolutions (``DilatedCausalStack``), the receptive-field formula
(``receptive_field``) and a receptive field measured with gradients
(``empirical_receptive_field``), which must agree with the formula.

The stack is checked as the modules of notebooks 03, 06 and 07: the ``run`` function builds
the learner's module and voclab's (:func:`~voclab.checks.build_alike`), gives the learner's
voclab's weights (:func:`~voclab.checks.load_weights_by_use`: by name, or else by the order
in which the two ``forward`` methods use the convolutions), feeds both the same input and
compares the outputs and the number of trainable numbers. So the convolutions may be
created in any order and named in any way.

The measured field has two cases where the notebook's "random, float64" matters: a ReLU
block without biases (at a zero input every ReLU sits at its kink, where its gradient is 0)
and two convs with faint outer taps (their gradient, 9e-48, is 0 in float32). A measurement
with a zero input or in float32 comes out too small there, and is told why.

The references are :mod:`voclab.receptive_field`'s own functions.

Notebook: 02_dilated_convolutions.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .. import receptive_field as rf
from . import Case, Exercise, build_alike, load_weights_by_use, register

NOTEBOOK = "02_dilated_convolutions"

#: float32 convolutions: sums in another order are fine
_MODULE_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
_EXACT = dict(rtol=0, atol=0)


def _randn(*shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# =========================================================================== exercise 1: causal_pad


def _pad_variant(where):
    def wrong(x, kernel_size, dilation=1):
        k, d = kernel_size, dilation
        p = (k - 1) * d
        if where == "replicate":
            return F.pad(x, (p, 0), mode="replicate")
        pad = {"right": (0, p), "same": (p // 2, p - p // 2), "both": (p, p),
               "no dilation": (k - 1, 0), "k*d": (k * d, 0)}[where]
        return F.pad(x, pad)
    return wrong


def _pad_cases():
    return [
        Case("2 clips of 3 channels, 10 samples, kernel 3, dilation 2 (4 zeros)", (_randn(2, 3, 10, seed=1), 3, 2)),
        Case("kernel 2, dilation 1 (WaveNet's first layer: one zero)", (_randn(1, 1, 8, seed=2), 2, 1)),
        Case("kernel 2, dilation 8 (dilation given by keyword)", (_randn(1, 2, 12, seed=3), 2), dict(dilation=8)),
        Case("kernel 1 (a 1×1 conv needs no padding)", (_randn(1, 4, 5, seed=4), 1, 1)),
        Case("kernel 5, dilation 3, a signal shorter than the padding", (_randn(1, 1, 6, seed=5), 5, 3)),
        Case("float64, one sample", (_randn(1, 1, 1, seed=6, dtype=torch.float64), 3, 4)),
    ]


def _pad_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a larger batch, an even kernel above 2, an
    extreme dilation, the default dilation and a non-contiguous input.

    Every public input passes the dilation; the call without it catches a function whose
    ``dilation`` default was changed or dropped.
    """
    return [
        Case("a batch of 4 × 5 channels × 7 samples, kernel 4, dilation 3 (9 zeros)",
             (_randn(4, 5, 7, seed=51), 4, 3)),
        Case("the dilation left at its default (kernel 3: 2 zeros)", (_randn(2, 1, 5, seed=52), 3)),
        Case("kernel 2, dilation 512, a 3-sample signal (512 zeros)", (_randn(1, 2, 3, seed=53), 2, 512)),
        Case("a non-contiguous input (a transposed view), kernel 3, dilation 2",
             (_randn(2, 9, 3, seed=54).transpose(1, 2), 3, 2)),
    ]


register(Exercise(
    name="causal_pad",
    notebook=NOTEBOOK,
    reference=rf.causal_pad,
    cases=_pad_cases,
    hidden_cases=_pad_hidden_cases,
    reference_name="voclab.receptive_field.causal_pad",
    hint="A conv with kernel k and dilation d spans (k − 1)·d + 1 samples: put (k − 1)·d zeros on the left, "
         "none on the right: F.pad(x, ((kernel_size − 1) * dilation, 0)).",
    compare=_EXACT,
    mistakes=[
        (_pad_variant("right"),
         "you padded on the right: then output t sees inputs t … t + (k−1)·d, the future. Causal padding goes on the left"),
        (_pad_variant("same"),
         ("you split the padding between both sides ('same' padding): output t then sees (k−1)·d/2 samples of the "
          "future. Put all (k−1)·d zeros on the left")),
        (_pad_variant("both"),
         "you padded both sides with (k−1)·d: the output grows by (k−1)·d and sees the future; pad the left side only"),
        (_pad_variant("no dilation"),
         ("you padded k − 1 zeros: that is right for dilation 1 only. A dilated conv spans (k−1)·d + 1 samples, "
          "so it needs (k−1)·d zeros")),
        (_pad_variant("k*d"),
         "you padded k·d zeros, d too many: the conv spans (k−1)·d + 1 samples, so (k−1)·d zeros keep the length"),
        (_pad_variant("replicate"),
         "you repeated the first sample (replicate); the past before the signal is silence: pad with zeros"),
    ],
))


# =========================================================================== exercise 2: DilatedCausalStack


def _run_stack(build, channels, kernel_size, dilations, *, x):
    """Build ``build(channels, kernel_size, dilations)``, give it voclab's weights, run it on ``x``."""
    module, reference = build_alike(build, rf.DilatedCausalStack, channels, kernel_size, dilations)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__} — a class whose instances are modules")
    load_weights_by_use(module, reference, x)
    with torch.no_grad():
        y = module(x)
    return {"output": y, "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad)}


class _StackVariant(nn.Module):
    """A wrong stack: the reference with one ingredient changed."""

    def __init__(self, channels, kernel_size, dilations, *, padding="causal", dilate=True,
                 activation=torch.tanh, where="after"):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d if dilate else 1)
                                   for d in dilations)
        self.padding, self.activation, self.where = padding, activation, where

    def forward(self, x):
        for conv in self.convs:
            k, d = conv.kernel_size[0], conv.dilation[0]
            p = (k - 1) * d
            pad = {"causal": (p, 0), "future": (0, p), "same": (p // 2, p - p // 2), "no dilation": (k - 1, 0)}
            if self.where == "before":
                x = self.activation(x)
            x = conv(F.pad(x, pad[self.padding]))
            if self.where == "after":
                x = self.activation(x)
        return self.activation(x) if self.where == "end" else x


def _stack_variant(**changes):
    def build(channels, kernel_size, dilations):
        return _StackVariant(channels, kernel_size, dilations, **changes)
    return build


def _stack_cases():
    return [
        Case("4 channels, kernel 2, dilations (1, 2, 4, 8) — WaveNet's pattern, 40 samples",
             (4, 2, [1, 2, 4, 8]), dict(x=_randn(2, 4, 40, seed=11))),
        Case("3 channels, kernel 3, dilations (1, 3, 9)", (3, 3, [1, 3, 9]), dict(x=_randn(1, 3, 30, seed=12))),
        Case("2 channels, kernel 5, dilations (2, 4), 12 samples (shorter than the receptive field)",
             (2, 5, [2, 4]), dict(x=_randn(1, 2, 12, seed=13))),
        Case("2 channels, kernel 2, a single layer with dilation 1", (2, 2, [1]), dict(x=_randn(1, 2, 6, seed=14))),
        Case("1 channel, kernel 3, four layers of dilation 1", (1, 3, [1, 1, 1, 1]), dict(x=_randn(3, 1, 20, seed=15))),
    ]


def _stack_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): kernel 1, an even kernel above 2, a deeper
    stack, a batch of 4, a single input sample and dilations given as a tuple.

    Kernel 1 catches a stack that pads inside ``nn.Conv1d`` (``padding=(k − 1)·d``) and cuts the
    end off with ``[..., :-padding]``: every public kernel is 2 or more, and with kernel 1 the
    cut ``[..., :-0]`` leaves nothing.
    """
    return [
        Case("2 channels, kernel 1 (1×1 convs: no padding at all), dilations (1, 2)",
             (2, 1, [1, 2]), dict(x=_randn(2, 2, 9, seed=55))),
        Case("8 channels, kernel 2, dilations 1 … 64, a batch of 4, 100 samples",
             (8, 2, [1, 2, 4, 8, 16, 32, 64]), dict(x=_randn(4, 8, 100, seed=56))),
        Case("3 channels, kernel 4, dilations (3, 1) as a tuple, a single input sample",
             (3, 4, (3, 1)), dict(x=_randn(1, 3, 1, seed=57))),
    ]


register(Exercise(
    name="DilatedCausalStack",
    notebook=NOTEBOOK,
    reference=rf.DilatedCausalStack,
    cases=_stack_cases,
    hidden_cases=_stack_hidden_cases,
    run=_run_stack,
    reference_name="voclab.receptive_field.DilatedCausalStack",
    hint="__init__: self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d) for d in "
         "dilations) (no padding of their own). forward: for each conv, x = torch.tanh(conv(causal_pad(x, k, d))).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_stack_variant(padding="same"),
         ("centred ('same') padding: output t then sees the future. Causal padding puts all (k−1)·d zeros on the "
          "left (causal_pad)")),
        (_stack_variant(padding="future"),
         "the padding is on the right: output t sees inputs t … t + (k−1)·d, the future; pad on the left (causal_pad)"),
        (_stack_variant(padding="no dilation"),
         "the padding ignores the dilation: each layer needs (k−1)·d zeros — pass the conv's dilation to causal_pad"),
        (_stack_variant(dilate=False),
         "every conv has dilation 1: create the i-th conv with dilation=dilations[i] (nn.Conv1d(..., dilation=d))"),
        (_stack_variant(activation=lambda x: x),
         "no activation: apply torch.tanh after every conv (without it the stack is one long linear filter)"),
        (_stack_variant(activation=torch.relu),
         "ReLU instead of tanh: this stack applies torch.tanh after every conv"),
        (_stack_variant(where="before"),
         "tanh before each conv; the stack applies it after each conv: x = torch.tanh(conv(causal_pad(x, k, d)))"),
        (_stack_variant(where="end"),
         "tanh only once, at the end; apply it after every conv"),
    ],
))


# =========================================================================== exercise 3: receptive_field


def _rf_cases():
    return [
        Case("kernel 2, dilations (1, 2, 4, 8)", (2, [1, 2, 4, 8])),
        Case("kernel 3, r9y9's 24 layers in 4 stacks (1 … 32, four times)", (3, rf.wavenet_dilations(24, 4))),
        Case("kernel 2, five layers of dilation 1", (2, (1, 1, 1, 1, 1))),
        Case("kernel 7, HiFi-GAN's ResBlock1 path (dilations 1, 1, 3, 1, 5, 1)", (7, [1, 1, 3, 1, 5, 1])),
        Case("one kernel per layer: MelGAN's residual stack (k 3, 1, 3, 1, 3, 1; d 1, 1, 3, 1, 9, 1)",
             ([3, 1, 3, 1, 3, 1], [1, 1, 3, 1, 9, 1])),
        Case("no layers at all (a sample sees itself)", (3, [])),
    ]


def _first_kernel_only(kernel_size, dilations):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return rf.receptive_field(k, dilations)


def _rf_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other kernels and depths than the public ones."""
    return [
        Case("kernel 5, one layer of dilation 2", (5, [2])),
        Case("kernel 2, ten layers of dilation 1", (2, [1] * 10)),
        Case("one kernel per layer (2 and 3), dilations 4 and 5", ([2, 3], [4, 5])),
        Case("kernel 1 (a 1×1 conv sees nothing more), dilations 7, 7", (1, (7, 7))),
    ]


register(Exercise(
    name="receptive_field",
    notebook=NOTEBOOK,
    reference=rf.receptive_field,
    cases=_rf_cases,
    hidden_cases=_rf_hidden_cases,
    reference_name="voclab.receptive_field.receptive_field",
    hint="Each layer widens the field by (k − 1)·d; the output sample itself counts once: "
         "1 + Σ (k_i − 1)·d_i. With one int kernel_size, every layer has that kernel.",
    compare=_EXACT,
    mistakes=[
        (lambda k, d: rf.receptive_field(k, d) - 1,
         "one too few: (k − 1)·Σd counts the gaps between the samples; add 1 for the sample itself"),
        (lambda k, d: k * sum(d) + 1,
         "you used k·d per layer; a conv with kernel k and dilation d spans (k − 1)·d + 1 samples: add (k − 1)·d per layer"),
        (lambda k, d: (k - 1) * len(d) + 1,
         "the dilations are missing: each layer adds (k − 1)·d, not k − 1"),
        (lambda k, d: sum((k - 1) * di + 1 for di in d),
         ("you added up each layer's own span (k − 1)·d + 1; consecutive spans share a sample: add (k − 1)·d per "
          "layer, and 1 once")),
        (lambda k, d: (k - 1) * max(d) + 1,
         "you counted only the largest dilation; every layer widens the field: 1 + Σ (k − 1)·d"),
        (_first_kernel_only,
         "you used the first kernel size for every layer; when kernel_size is a list, layer i has kernel_size[i]"),
    ],
))


# =========================================================================== exercise 4: empirical_receptive_field


def _empirical(module, length, in_channels):
    """voclab's measurement, as a plain (first, last) tuple."""
    return tuple(rf.empirical_receptive_field(module, length, in_channels))


def _measure(module, length, in_channels, *, where="middle", result="offsets", inputs="random",
             dtype=torch.float64):
    """The gradient measurement with one thing changed: where it looks, what it returns, or what
    it feeds (zeros instead of random samples, float32 instead of float64)."""
    make = torch.randn if inputs == "random" else torch.zeros
    x = make(1, in_channels, length, dtype=dtype, requires_grad=True)
    y = copy.deepcopy(module).to(dtype)(x)
    t = y.shape[-1] // 2 if where == "middle" else y.shape[-1] - 1
    y[0, :, t].sum().backward()
    touched = torch.nonzero(x.grad[0].abs().sum(0)).flatten()
    first, last = int(touched[0]), int(touched[-1])
    if result == "indices":
        return first, last
    if result == "reversed":
        return t - last, t - first
    return first - t, last - t


def _melgan_stack(channels):
    from ..models import melgan

    return nn.Sequential(*(melgan.ResnetBlock(channels, dilation=3 ** j) for j in range(3)))


class _ReluResidual(nn.Module):
    """``x + conv₂(ReLU(conv₁(x)))`` with centred convs and no biases (a case of notebook 02).

    At ``x = 0`` every ReLU sits at its kink, where torch's gradient is 0: only the identity
    reaches the output, and a zero input measures a field of one sample. A random input
    switches on about half of the 32 hidden channels at every position, enough for each
    path to get through.
    """

    def __init__(self, channels=2, hidden=32, kernel_size=3, dilation=2):
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.conv1 = nn.Conv1d(channels, hidden, kernel_size, dilation=dilation, padding=padding, bias=False)
        self.conv2 = nn.Conv1d(hidden, channels, kernel_size, dilation=dilation, padding=padding, bias=False)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))


#: the taps of each conv of the faint stack: the product of two outer taps, 9e-48, lies below
#: float32's smallest number (1.4e-45) and far above float64's; two centre taps give 1e-36, a
#: normal float32, so a float32 measurement sees the middle of the field and misses its ends
_FAINT_TAPS = (3e-24, 1e-18, 3e-24)


def _faint_stack():
    """Two centred convs (kernel 3, dilation 4, no bias) whose outer taps are faint (a case of notebook 02)."""
    convs = [nn.Conv1d(1, 1, 3, dilation=4, padding=4, bias=False) for _ in range(2)]
    with torch.no_grad():
        for conv in convs:
            conv.weight.copy_(torch.tensor(_FAINT_TAPS).view(1, 1, 3))
    return nn.Sequential(*convs)


def _empirical_cases():
    from ..models import hifigan

    with torch.random.fork_rng():  # seeded weights, the learner's random state untouched
        torch.manual_seed(21)
        causal_k2 = rf.DilatedCausalStack(2, 2, [1, 2, 4, 8])
        causal_k3 = rf.DilatedCausalStack(1, 3, [1, 3, 9])
        resblock = hifigan.ResBlock1(2, 3, [1, 3, 5])
        melgan_stack = _melgan_stack(1)
        single = nn.Conv1d(1, 1, 3, dilation=4, padding=4)
        relu_block = _ReluResidual()
        faint = _faint_stack()  # its weights are set, but creating a conv draws random numbers too
    return [
        Case("a causal stack, 2 channels, kernel 2, dilations (1, 2, 4, 8), 64 samples", (causal_k2, 64, 2)),
        Case("a causal stack, 1 channel, kernel 3, dilations (1, 3, 9), 128 samples", (causal_k3, 128, 1)),
        Case("HiFi-GAN's ResBlock1 (k=3, dilations 1, 3, 5; centred padding), 101 samples", (resblock, 101, 2)),
        Case("MelGAN's residual stack (dilations 1, 3, 9; reflection padding), 100 samples", (melgan_stack, 100, 1)),
        Case("one centred conv, kernel 3, dilation 4: a field with gaps (only −4, 0 and 4 reach)", (single, 33, 1)),
        Case("a residual block x + conv(ReLU(conv(x))) without biases (k 3, d 2; a ReLU's gradient at 0 is 0)",
             (relu_block, 41, 2)),
        Case("two centred convs (k 3, d 4) with faint outer taps, 3e-24 beside 1e-18: the outermost inputs reach "
             "the output with a gradient of 9e-48", (faint, 49, 1)),
    ]


class _TwoBranches(nn.Module):
    """Two output channels that see differently far (a hidden case of notebook 02).

    Output channel 0 is a centred conv (kernel 3, dilation 1) of input channel 0: a field of
    ±1. Output channel 1 is a centred conv (kernel 3, dilation 5) of input channels 1 and 2: a
    field of ±5. The module's field is their union, ±5, and is found only by summing the
    output over its channels and the gradient over the input's channels.
    """

    def __init__(self):
        super().__init__()
        self.narrow = nn.Conv1d(1, 1, 3, padding=1)
        self.wide = nn.Conv1d(2, 1, 3, dilation=5, padding=5)

    def forward(self, x):  # (B, 3, T) -> (B, 2, T)
        return torch.cat([self.narrow(x[:, :1]), self.wide(x[:, 1:])], dim=1)


def _empirical_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a conv whose output is shorter than its
    input, output and input channels that see differently far, 1×1 convs and a deeper stack.

    The unpadded conv (40 samples in, 16 out) catches ``t = length // 2`` in place of
    ``y.shape[-1] // 2``: every public module keeps the length, and here sample 20 of the
    output does not exist. (Nudging the middle *input* sample and watching which outputs move,
    right wherever the field fits inside the output, reports (8, 20) there: of the outputs that
    sample reaches only 0, 4, 8 and 12 exist.) The two-branch module catches a measurement of output channel 0
    alone (``y[0, 0, t]``) or of input channel 0 alone (``x.grad[0, 0]``): either finds
    (−1, 1) instead of (−5, 5).
    """
    with torch.random.fork_rng():  # seeded weights, the learner's random state untouched
        torch.manual_seed(22)
        unpadded = nn.Conv1d(1, 1, 7, dilation=4)
        branches = _TwoBranches()
        pointwise = rf.DilatedCausalStack(2, 1, [1, 2])
        deep = rf.DilatedCausalStack(4, 3, [1, 2, 4, 8, 16, 32])
    return [
        Case("an unpadded conv, kernel 7, dilation 4: 40 samples in, 16 out", (unpadded, 40, 1)),
        Case("two output channels of fields ±1 (from input channel 0) and ±5 (from input channels 1, 2)",
             (branches, 33, 3)),
        Case("two 1×1 convs (kernel 1): a field of one sample", (pointwise, 16, 2)),
        Case("a causal stack, 4 channels, kernel 3, dilations 1 … 32, 300 samples", (deep, 300, 4)),
    ]


_ZERO_INPUT = ("the field comes out too small: with a zero input every ReLU sits at its kink, where its gradient "
               "is exactly 0, so the samples behind it seem not to reach the output. Feed a random input, "
               "torch.randn(1, in_channels, length, dtype=torch.float64), to a float64 copy of the module")
_FLOAT32 = ("the field comes out too small: in float32 a tiny gradient (here 9e-48, through the faint outer taps) "
            "rounds to 0. Measure in float64: a float64 copy of the module, copy.deepcopy(module).double(), "
            "fed a random float64 input")


register(Exercise(
    name="empirical_receptive_field",
    notebook=NOTEBOOK,
    reference=_empirical,
    cases=_empirical_cases,
    hidden_cases=_empirical_hidden_cases,
    reference_name="voclab.receptive_field.empirical_receptive_field",
    hint="x = torch.randn(1, in_channels, length, dtype=torch.float64, requires_grad=True); y = "
         "copy.deepcopy(module).double()(x) (a float64 copy: the caller's module stays as it was); "
         "t = y.shape[-1] // 2; y[0, :, t].sum().backward(); the non-zero entries of x.grad[0].abs().sum(0) are the "
         "inputs that reach output t: return (first − t, last − t).",
    compare=_EXACT,
    mistakes=[
        (lambda m, n, c: _measure(m, n, c, where="end"),
         ("you measured the last output sample: for a centred stack the padding hides the right half of its field. "
          "Measure the one in the middle, t = y.shape[-1] // 2")),
        (lambda m, n, c: _measure(m, n, c, result="indices"),
         "you returned input indices; return offsets relative to the output sample t: (first − t, last − t)"),
        (lambda m, n, c: _measure(m, n, c, result="reversed"),
         ("you returned t − index (how far *after* the input the output comes); return index − t, so a causal "
          "field is (−(RF − 1), 0)")),
        # the first match names the mistake: float32 before zeros-in-float32, which both lose the faint taps
        (lambda m, n, c: _measure(m, n, c, inputs="zeros"), _ZERO_INPUT),
        (lambda m, n, c: _measure(m, n, c, dtype=torch.float32), _FLOAT32),
        (lambda m, n, c: _measure(m, n, c, inputs="zeros", dtype=torch.float32), _ZERO_INPUT),
    ],
))
