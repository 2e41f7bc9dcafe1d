"""Exercise checks of notebook 03, WaveNet.

The learner builds the pieces of a mel-conditioned WaveNet: 8-bit μ-law companding
(``mu_law_encode``, ``mu_law_decode``), the gated residual block (``ResidualBlock``), the
upsampling of mel frames to one conditioning vector per sample, with the edge frames
repeated as context (``ConditionUpsampler``), drawing a class with a temperature
(``sample_categorical``), the length of each layer's cache (``cache_length``) and the cached
("fast") generation of Paine et al. 2016 (``generate_cached``), which must give exactly the
samples of the naive algorithm.

The gated residual block is checked as the modules of notebooks 02, 06 and 07: the ``run``
function builds the learner's module and voclab's (:func:`~voclab.checks.build_alike`),
gives the learner's voclab's weights (:func:`~voclab.checks.load_weights_by_use`), feeds
both the same input and compares the outputs and the number of trainable numbers, so the
layers may be created in any order. Their names must be voclab's (the notebook loads
weights trained with the learner's modules into voclab's ``WaveNet`` by name): the check
says which names differ, and the weights then load by name. The conditioning upsampler
keeps its own weights: they are not random but the moving average the learner sets up,
and that initialisation is part of what is checked.

Sampling is checked by its statistics, so any correct sampler passes: the frequencies of
many draws, the shape and dtype of one draw, and whether two draws from equally seeded
``generator`` objects agree. Cached generation is compared with ``WaveNet.generate`` in
float64 on several small models: the samples must be identical. On every one of these cases
voclab's cached and naive (``cached=False``) algorithms give the same samples
(tests/test_nb03_checks.py), so the learner's function is held to the naive algorithm's
samples; the cached one is the reference only because it is also what an unfinished
exercise falls back to, and the notebook generates seconds of audio with it. The naive
algorithm gives these samples too, only slower: an :class:`~voclab.checks.Audit` then checks
that the work per sample (the floating-point operations of every convolution and matrix
product, :func:`~voclab.checks.counting_work`) does not grow from 16 to 32 samples.

The references are :mod:`voclab.models.wavenet`'s own code: ``mu_law_encode``,
``mu_law_decode``, ``ResidualBlock``, ``ConditionUpsampler``, ``sample_categorical``,
``cache_length`` and ``WaveNet.generate``.

Notebook: 03_wavenet.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models import wavenet
from . import Audit, Case, Exercise, build_alike, counting_work, load_weights_by_use, register

NOTEBOOK = "03_wavenet"

#: float32 convolutions: sums in another order are fine
_MODULE_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
#: sampling frequencies of 20 000 draws: a standard error of at most 0.0035 per class
_FREQUENCY_TOLERANCE = dict(rtol=0, atol=0.02)
_DRAWS = 20_000
_HALF_SQRT = math.sqrt(0.5)  # the residual scale of every block


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _require_names(module: nn.Module, reference: nn.Module, what: str) -> None:
    """Raise a ValueError naming the parameters whose names differ from voclab's."""
    mine, theirs = set(module.state_dict()), set(reference.state_dict())
    if mine != theirs:
        missing, extra = sorted(theirs - mine), sorted(mine - theirs)
        parts = ([f"missing {', '.join(missing[:4])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:4])}"] if extra else [])
        raise ValueError(f"the parameter names differ from voclab's {what} ({'; '.join(parts)}): "
                         "name the submodules as the exercise says")


# =========================================================================== exercise 1: μ-law


def _mu_law_values(mu: int, n: int, seed: int) -> np.ndarray:
    """Audio values inside μ-law bins, away from the rounding boundaries: the classes do not
    depend on float32 or float64 arithmetic, while a rounding mistake moves about half of them."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, mu + 1, n)
    position = rng.uniform(-0.4, 0.4, n)  # within the bin, in units of one companded step
    companded = np.clip((classes + position) * 2 / mu - 1, -1, 1)
    return np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu


def _encode_cases():
    return [
        Case("2000 values spread over all 256 classes (numpy float64)", (_mu_law_values(255, 2000, seed=1),)),
        Case("the edges: −1, 0 and 1", (np.array([-1.0, 0.0, 1.0]),)),
        Case("quiet audio, |x| < 0.01 (where μ-law spends its classes)", (0.01 * _mu_law_values(255, 500, seed=2),)),
        Case("a torch float32 tensor of shape (2, 300)",
             (torch.from_numpy(_mu_law_values(255, 600, seed=3).reshape(2, 300)).float(),)),
        Case("μ = 15 (4-bit μ-law)", (_mu_law_values(15, 400, seed=4),), dict(mu=15)),
    ]


def _encode_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a numpy float32 array, a 0-d array, a torch float64
    tensor and 10-bit μ-law; the public inputs are numpy float64, torch float32 and μ ≤ 255. Classes above
    255 catch an encoder that takes "8 bits" literally: a uint8 result, or a clamp at 255."""
    return [
        Case("a numpy float32 array of shape (3, 40)",
             (_mu_law_values(255, 120, seed=21).astype(np.float32).reshape(3, 40),)),
        Case("one sample: the 0-d array 0.0, silence", (np.array(0.0),)),
        Case("a torch float64 tensor of shape (4, 25), μ = 63 (6-bit μ-law)",
             (torch.from_numpy(_mu_law_values(63, 100, seed=22).reshape(4, 25)),), dict(mu=63)),
        Case("μ = 1023 (10-bit μ-law): classes above 255, a torch float32 tensor",
             (torch.from_numpy(_mu_law_values(1023, 1000, seed=23)).float(),), dict(mu=1023)),
    ]


def _encode_variant(*, rounding="round", log="log1p", scale="mu", sign=True):
    def wrong(x, mu=255):
        lib = torch if isinstance(x, torch.Tensor) else np
        x64 = x.double() if lib is torch else np.asarray(x, dtype=np.float64)
        magnitude = lib.abs(x64)
        signed = lib.sign(x64) if sign else 1.0  # without it, F(−x) = F(x): negative audio lands above 128
        if log == "log1p":
            companded = signed * lib.log1p(mu * magnitude) / math.log1p(mu)
        elif log == "log_mu":
            companded = signed * lib.log1p(mu * magnitude) / math.log(mu)
        else:  # "no_companding"
            companded = x64
        levels = mu + 1 if scale == "mu_plus_1" else mu
        shifted = (companded + 1) / 2 * levels
        q = {"round": lib.floor(shifted + 0.5), "floor": lib.floor(shifted),
             "ceil": lib.ceil(shifted)}[rounding]
        return q.long() if lib is torch else q.astype(np.int64)
    return wrong


register(Exercise(
    name="mu_law_encode",
    notebook=NOTEBOOK,
    reference=wavenet.mu_law_encode,
    cases=_encode_cases,
    hidden_cases=_encode_hidden_cases,
    reference_name="voclab.models.wavenet.mu_law_encode",
    hint="F = sign(x)·ln(1 + μ|x|) / ln(1 + μ) (np.log1p / torch.log1p), then q = floor((F + 1) / 2 · μ + 0.5) "
         "as int64 — numpy in, numpy out; torch in, torch out.",
    compare=dict(rtol=0, atol=0),
    mistakes=[
        (_encode_variant(rounding="floor"),
         ("about half of the classes are one too low: floor((F + 1) / 2 · μ) truncates; add 0.5 before the floor "
          "to round to the nearest class")),
        (_encode_variant(rounding="ceil"),
         "about half of the classes are one too high: ceil rounds up; round to the nearest, floor(… + 0.5)"),
        (_encode_variant(scale="mu_plus_1"),
         ("you scaled by μ + 1 = 256: x = 1 then lands on class 256, outside 0 … 255. (F + 1) / 2 lies in [0, 1]; "
          "multiply it by μ")),
        (_encode_variant(log="log_mu"),
         ("you divided by ln(μ) instead of ln(1 + μ): F(1) must be exactly 1, so the denominator is the numerator "
          "at |x| = 1, ln(1 + μ) (np.log1p(mu))")),
        (_encode_variant(log="no_companding"),
         ("the classes are evenly spaced in x: that is linear 8-bit quantisation. Compand first, "
          "F = sign(x)·ln(1 + μ|x|) / ln(1 + μ), then quantise F")),
        (_encode_variant(sign=False),
         ("the sign is lost: ln(1 + μ|x|) / ln(1 + μ) is the same for x and −x, so negative samples land in the "
          "upper classes. Multiply by sign(x), F = sign(x)·ln(1 + μ|x|) / ln(1 + μ): x < 0 then gives classes "
          "below 128")),
    ],
))


def _decode_cases():
    return [
        Case("every class 0 … 255 (numpy int64)", (np.arange(256),)),
        Case("the edges and silence: classes 0, 128, 255", (np.array([0, 128, 255]),)),
        Case("a torch int64 tensor of shape (2, 50)", (torch.randint(0, 256, (2, 50), generator=torch.Generator().manual_seed(5)),)),
        Case("μ = 15 (4-bit μ-law), classes 0 … 15", (np.arange(16),), dict(mu=15)),
    ]


def _decode_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a 0-d array (the notebook decodes single classes so),
    numpy int32 classes of three dimensions and 10-bit μ-law as a torch tensor; the public inputs are 1-D or
    2-D int64 and μ ≤ 255. The 0-d class catches a decoder that iterates over its input (`for v in q`)."""
    rng = np.random.default_rng(24)
    return [
        Case("one class: the 0-d array 128, silence", (np.array(128),)),
        Case("numpy int32 classes of shape (3, 5, 2)", (rng.integers(0, 256, (3, 5, 2)).astype(np.int32),)),
        Case("μ = 1023 (10-bit μ-law): every class 0 … 1023 as a torch tensor", (torch.arange(1024),),
             dict(mu=1023)),
    ]


def _decode_variant(*, expand=True, shift=True, minus_one=True, sign=True):
    def wrong(q, mu=255):
        lib = torch if isinstance(q, torch.Tensor) else np
        q64 = q.double() if lib is torch else np.asarray(q, dtype=np.float64)
        y = 2 * q64 / mu - 1 if shift else q64 / mu
        if expand:
            y = (lib.sign(y) if sign else 1.0) * ((1 + mu) ** lib.abs(y) - (1 if minus_one else 0)) / mu
        return y.float() if lib is torch else y.astype(np.float32)
    return wrong


def _decode_returns_classes(as_float=False):
    """A decoder that hands the classes back (as they are, or as floats) instead of audio."""
    def wrong(q, mu=255):
        if not as_float:
            return q
        return q.float() if isinstance(q, torch.Tensor) else np.asarray(q).astype(np.float32)
    return wrong


_DECODE_CLASSES = ("you returned the classes 0 … μ themselves; decoding turns them into audio in [−1, 1]: "
                   "y = 2q / μ − 1, then x = sign(y)·((1 + μ)^|y| − 1) / μ")


register(Exercise(
    name="mu_law_decode",
    notebook=NOTEBOOK,
    reference=wavenet.mu_law_decode,
    cases=_decode_cases,
    hidden_cases=_decode_hidden_cases,
    reference_name="voclab.models.wavenet.mu_law_decode",
    hint="Undo the quantisation, y = 2q / μ − 1, then the companding, x = sign(y)·((1 + μ)^|y| − 1) / μ; "
         "return float32 of the input's kind.",
    mistakes=[
        (_decode_variant(expand=False),
         ("you undid the quantisation but not the companding: 2q / μ − 1 is F(x), not x. Expand it: "
          "x = sign(y)·((1 + μ)^|y| − 1) / μ")),
        (_decode_variant(shift=False),
         "q / μ lies in [0, 1]; the companded value lies in [−1, 1]: y = 2q / μ − 1"),
        (_decode_variant(minus_one=False),
         ("the − 1 of the expansion is missing: x = sign(y)·((1 + μ)^|y| − 1) / μ, so that class 128 "
          "(y ≈ 0) decodes to ≈ 0")),
        (_decode_variant(sign=False),
         ("the sign is lost: every decoded sample is ≥ 0. Classes below 128 are negative audio: "
          "x = sign(y)·((1 + μ)^|y| − 1) / μ")),
        (_decode_returns_classes(), _DECODE_CLASSES),
        (_decode_returns_classes(as_float=True), _DECODE_CLASSES),
    ],
))


# =========================================================================== exercise 2: ResidualBlock


def _run_block(build, residual, gate, skip, kernel_size, dilation, cin=0, gin=0, *, x, c=None, g=None):
    """Build the block, give it voclab's weights, run it on (x, c, g); outputs and the parameter count."""
    module, reference = build_alike(build, wavenet.ResidualBlock, residual, gate, skip, kernel_size, dilation,
                                    cin, gin)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__} — a class whose instances are modules")
    if not isinstance(module, _BlockVariant):  # the listed mistakes are judged by their output
        _require_names(module, reference, "ResidualBlock")
    load_weights_by_use(module, reference, x, c, g)
    with torch.no_grad():
        result = module(x, c, g)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("forward must return two tensors, (out, skip)")
    out, skip_out = result
    return {"out": out, "skip": skip_out, "parameters": _count(module)}


class _BlockVariant(nn.Module):
    """A wrong ResidualBlock: the reference with one ingredient changed."""

    def __init__(self, residual, gate, skip, kernel_size, dilation, cin=0, gin=0, *, padding="causal",
                 scale=_HALF_SQRT, gate_order="tanh_first", split="halves", skip_from="z", residual_add=True,
                 conditioning=("c", "g")):
        super().__init__()
        self.conv = nn.Conv1d(residual, gate, kernel_size, dilation=dilation)
        self.conv1x1c = nn.Conv1d(cin, gate, 1, bias=False) if cin else None
        self.conv1x1g = nn.Conv1d(gin, gate, 1, bias=False) if gin else None
        self.conv1x1_out = nn.Conv1d(gate // 2, residual, 1)
        self.conv1x1_skip = nn.Conv1d(gate // 2, skip, 1)
        self.pad = (kernel_size - 1) * dilation
        self.padding, self.scale, self.gate_order, self.split = padding, scale, gate_order, split
        self.skip_from, self.residual_add, self.conditioning = skip_from, residual_add, conditioning

    def forward(self, x, c=None, g=None):
        if self.padding == "causal":
            h = F.pad(x, (self.pad, 0))
        elif self.padding == "centred":
            h = F.pad(x, (self.pad // 2, self.pad - self.pad // 2))
        else:  # "right": the future
            h = F.pad(x, (0, self.pad))
        a = self.conv(h)
        if c is not None and "c" in self.conditioning:  # (): tanh(W_f x)·σ(W_g x), without V·c
            a = a + self.conv1x1c(c)
        if g is not None and "g" in self.conditioning:
            a = a + self.conv1x1g(g)
        first, second = a.chunk(2, dim=1) if self.split == "halves" else (a[:, 0::2], a[:, 1::2])
        if self.gate_order == "tanh_first":
            z = torch.tanh(first) * torch.sigmoid(second)
        elif self.gate_order == "sigmoid_first":
            z = torch.sigmoid(first) * torch.tanh(second)
        else:  # "tanh_only": no gate
            z = torch.tanh(first)
        out = self.conv1x1_out(z) + (x if self.residual_add else 0)
        out = out * self.scale
        skip = self.conv1x1_skip(z if self.skip_from == "z" else out)
        return out, skip


def _block_variant(**changes):
    def build(residual, gate, skip, kernel_size, dilation, cin=0, gin=0):
        if changes.get("skip_from") == "out" and gate // 2 != residual:
            raise ValueError("this mistake needs gate_channels // 2 == residual_channels")
        return _BlockVariant(residual, gate, skip, kernel_size, dilation, cin, gin, **changes)
    return build


def _block_cases():
    return [
        Case("8 residual, 16 gate, 6 skip channels, kernel 3, dilation 2, a mel of 5 bands, 40 samples",
             (8, 16, 6, 3, 2, 5), dict(x=_randn(2, 8, 40, seed=1), c=_randn(2, 5, 40, seed=2))),
        Case("no conditioning (cin_channels=0), kernel 2 as in the paper, dilation 4",
             (4, 8, 4, 2, 4), dict(x=_randn(1, 4, 30, seed=3))),
        Case("a mel and a speaker vector g of shape (B, 3, 1)", (6, 12, 6, 3, 1, 4, 3),
             dict(x=_randn(2, 6, 25, seed=4), c=_randn(2, 4, 25, seed=5), g=_randn(2, 3, 1, seed=6))),
        Case("dilation 8: 12 samples, shorter than the block's context of 17", (4, 8, 4, 3, 8, 2),
             dict(x=_randn(1, 4, 12, seed=7), c=_randn(1, 2, 12, seed=8))),
        Case("16 residual, 32 gate, 16 skip channels, dilation 16, 100 samples", (16, 32, 16, 3, 16, 80),
             dict(x=_randn(1, 16, 100, seed=9), c=_randn(1, 80, 100, seed=10))),
    ]


def _block_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): gate channels other than twice the residual ones,
    kernel 1, a speaker vector without a mel, a single sample. Every public block has gate = 2 · residual,
    so 1×1 convs sized from residual_channels instead of gate_channels // 2 pass them and fail the first
    case; kernel 1 pads nothing, so a padded conv cropped with [..., :-pad] returns no samples at all."""
    return [
        Case("5 residual, 6 gate, 7 skip channels (z has 3), kernel 3, dilation 2, a mel of 4 bands",
             (5, 6, 7, 3, 2, 4), dict(x=_randn(2, 5, 21, seed=21), c=_randn(2, 4, 21, seed=22))),
        Case("kernel 1 (no padding at all), no conditioning, 20 samples", (4, 8, 3, 1, 1),
             dict(x=_randn(1, 4, 20, seed=23))),
        Case("a speaker vector g without a mel (cin 0, gin 4), a batch of 3", (6, 12, 5, 3, 4, 0, 4),
             dict(x=_randn(3, 6, 17, seed=24), g=_randn(3, 4, 1, seed=25))),
        Case("a single sample (T = 1), dilation 32", (4, 8, 4, 2, 32, 3),
             dict(x=_randn(2, 4, 1, seed=26), c=_randn(2, 3, 1, seed=27))),
    ]


register(Exercise(
    name="GatedResidualBlock",
    notebook=NOTEBOOK,
    reference=wavenet.ResidualBlock,
    cases=_block_cases,
    hidden_cases=_block_hidden_cases,
    run=_run_block,
    reference_name="voclab.models.wavenet.ResidualBlock",
    hint="__init__: conv (dilated, padding=0), conv1x1c, conv1x1g (bias=False, only if cin/gin > 0), conv1x1_out, "
         "conv1x1_skip, with these names. forward: a = conv(F.pad(x, ((k−1)·d, 0))) + conv1x1c(c) + conv1x1g(g); "
         "z = tanh(first half)·σ(second half); return (conv1x1_out(z) + x)·√0.5, conv1x1_skip(z).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_block_variant(padding="centred"),
         ("the padding is split between both sides, so output t sees samples after t: WaveNet is causal — pad "
          "(k−1)·dilation zeros on the left only, F.pad(x, ((k − 1) * dilation, 0))")),
        (_block_variant(padding="right"),
         "you padded on the right: output t then sees the future. Pad on the left, F.pad(x, ((k − 1) * dilation, 0))"),
        (_block_variant(scale=1.0),
         "the residual sum is not scaled: out = (conv1x1_out(z) + x) · √0.5, which keeps its variance from growing layer by layer"),
        (_block_variant(gate_order="sigmoid_first"),
         "tanh and sigmoid are swapped: the first half of the channels goes through tanh, the second through the sigmoid"),
        (_block_variant(gate_order="tanh_only"),
         "there is no gate: z = tanh(a_tanh) · σ(a_sigmoid), the second half of the channels decides how much passes"),
        (_block_variant(split="interleaved"),
         ("you split the channels even/odd; WaveNet splits them into halves, a.chunk(2, dim=1): channels "
          "0 … gate/2 − 1 for tanh, the rest for the sigmoid")),
        (_block_variant(skip_from="out"),
         "the skip output is taken after the residual sum; it comes from the gate: skip = conv1x1_skip(z)"),
        (_block_variant(residual_add=False),
         "the residual connection is missing: out = (conv1x1_out(z) + x) · √0.5"),
        (_block_variant(conditioning=()),
         ("the conditioning is missing: without V·c the block ignores the mel and can only babble. Add it to "
          "the dilated conv's output before the gate, a = conv(…) + conv1x1c(c) (and + conv1x1g(g) when g is given)")),
        (_block_variant(conditioning=("c",)),
         ("the global conditioning is missing: add conv1x1g(g) (one vector per clip, broadcast over time) to the "
          "dilated conv's output too, a = conv(…) + conv1x1c(c) + conv1x1g(g)")),
    ],
))


# =========================================================================== exercise 3: ConditionUpsampler


def _run_upsampler(build, upsample_scales, *, c):
    """Build the upsampler and run it on ``c`` with its own weights (their initialisation is checked too)."""
    module = build(upsample_scales)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__} — a class whose instances are modules")
    if not isinstance(module, _UpsamplerVariant):
        _require_names(module, wavenet.ConditionUpsampler(upsample_scales), "ConditionUpsampler")
    with torch.no_grad():
        return {"output": module(c), "parameters": _count(module)}


class _UpsamplerVariant(nn.Module):
    """A wrong ConditionUpsampler (with the defaults, a right one)."""

    def __init__(self, upsample_scales, *, stretch="repeat_interleave", smooth=True, init="mean", band_kernel=1,
                 activation=None, reverse=False, pad="replicate", pad_frames=None, crop=True):
        super().__init__()
        self.scales = list(upsample_scales)[::-1] if reverse else list(upsample_scales)
        self.up_layers = nn.ModuleList()
        for s in self.scales:
            conv = nn.Conv2d(1, 1, (band_kernel, 2 * s + 1), padding=(band_kernel // 2, s), bias=False)
            if init == "mean":
                nn.init.constant_(conv.weight, 1.0 / (band_kernel * (2 * s + 1)))
            self.up_layers.append(conv)
        self.stretch, self.smooth, self.activation = stretch, smooth, activation
        enough = wavenet.ConditionUpsampler(upsample_scales).pad_frames
        self.pad, self.crop = pad, crop
        self.pad_frames = enough + pad_frames if pad_frames is not None else enough

    def forward(self, c):
        pad = self.pad_frames if self.pad != "none" else 0
        h = F.pad(c, (pad, pad), mode=self.pad) if pad else c
        h = h.unsqueeze(1)
        for s, conv in zip(self.scales, self.up_layers):
            if self.stretch == "repeat_interleave":
                h = h.repeat_interleave(s, dim=-1)
            elif self.stretch == "tile":
                h = h.repeat(1, 1, 1, s)
            else:  # "linear"
                h = F.interpolate(h, scale_factor=(1, s), mode="bilinear", align_corners=False)
            if self.smooth:
                h = conv(h)
            if self.activation is not None:
                h = self.activation(h)
        crop = pad * math.prod(self.scales) if self.crop else 0
        return h[:, 0, :, crop:h.shape[-1] - crop]


def _upsampler_variant(**changes):
    def build(upsample_scales):
        return _UpsamplerVariant(upsample_scales, **changes)
    return build


def _upsampler_cases():
    return [
        Case("scales [4, 4, 4, 4] (hop 256), 80 bands, 3 frames", ([4, 4, 4, 4],), dict(c=_randn(1, 80, 3, seed=11))),
        Case("scales [2, 3] (hop 6), a batch of 2, 5 bands, 7 frames", ([2, 3],), dict(c=_randn(2, 5, 7, seed=12))),
        Case("one scale [5], a single frame", ([5],), dict(c=_randn(1, 4, 1, seed=13))),
        Case("scales [3, 2, 4] on a mel in [0, 1] (r9y9's normalised dB), 6 frames", ([3, 2, 4],),
             dict(c=torch.rand(1, 10, 6, generator=torch.Generator().manual_seed(14)))),
        Case("scales [2, 2] on a constant mel, 4 frames: it must come out constant, edges included", ([2, 2],),
             {"c": torch.full((1, 3, 4), 0.5)}),
    ]


def _upsampler_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other scales (a large one first, six stages), one mel
    band and a batch of 3 than the public ones."""
    return [
        Case("scales [8, 2] (hop 16), a batch of 3, 2 bands, 4 frames", ([8, 2],), dict(c=_randn(3, 2, 4, seed=31))),
        Case("a single mel band, scales [3, 3], a batch of 2, 5 frames", ([3, 3],), dict(c=_randn(2, 1, 5, seed=32))),
        Case("six stages [2, 2, 2, 2, 2, 2] (hop 64), 2 frames", ([2] * 6,), dict(c=_randn(1, 4, 2, seed=33))),
    ]


register(Exercise(
    name="ConditionUpsampler",
    notebook=NOTEBOOK,
    reference=wavenet.ConditionUpsampler,
    cases=_upsampler_cases,
    hidden_cases=_upsampler_hidden_cases,
    run=_run_upsampler,
    reference_name="voclab.models.wavenet.ConditionUpsampler",
    hint="__init__: self.up_layers = ModuleList of Conv2d(1, 1, (1, 2s + 1), padding=(0, s), bias=False), each weight "
         "filled with 1 / (2s + 1); P = ceil(reach / hop) context frames, reach = Σ s_i · (product of the later "
         "scales). forward: F.pad(c, (P, P), mode='replicate'), unsqueeze(1), per scale "
         "h = conv(h.repeat_interleave(s, dim=-1)), squeeze(1), then drop P · hop samples at each end.",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_upsampler_variant(pad="none"),
         ("the first and last samples fade towards zero: the smoothing convs pad with zeros. Repeat the edge "
          "frames as context before upsampling, F.pad(c, (P, P), mode='replicate'), and crop P · hop samples "
          "from each end after")),
        (_upsampler_variant(pad="constant"),
         ("you padded with frames of zeros: the edges still fade towards zero. Repeat the edge frames, "
          "F.pad(c, (P, P), mode='replicate')")),
        (_upsampler_variant(crop=False),
         ("the output is P · hop samples too long at each end: after upsampling, crop the samples of the "
          "context frames, h[..., P · hop : -P · hop]")),
        (_upsampler_variant(pad_frames=-1),
         ("one context frame too few: the edges still fade over the last samples. The smoothing reaches "
          "Σ s_i · (product of the later scales) samples past the edge (340 for [4, 4, 4, 4]); pad "
          "P = ceil(reach / hop) frames")),
        (_upsampler_variant(pad="reflect"),
         ("you mirrored the frames next to the edge (mode='reflect'); repeat the edge frame itself, "
          "mode='replicate', so that a constant mel stays constant up to its edges")),
        (_upsampler_variant(smooth=False),
         ("you only repeated the frames: the output is a staircase. After each stretch, smooth with the layer's "
          "Conv2d(1, 1, (1, 2s + 1), padding=(0, s))")),
        (_upsampler_variant(init="default"),
         ("the smoothing convs keep PyTorch's random initialisation: fill each weight with 1 / (2s + 1) "
          "(nn.init.constant_), a moving average, so an untrained upsampler already interpolates")),
        (_upsampler_variant(stretch="tile"),
         ("you tiled the whole sequence s times (.repeat); each frame must be repeated s times in place, "
          "h.repeat_interleave(s, dim=-1): frame 0, frame 0, …, frame 1, frame 1, …")),
        (_upsampler_variant(stretch="linear"),
         ("you interpolated linearly; r9y9's stretch is nearest-neighbour, h.repeat_interleave(s, dim=-1), "
          "and the smoothing conv does the interpolating")),
        (_upsampler_variant(band_kernel=3),
         "your smoothing kernel also spans neighbouring mel bands; it is (1, 2s + 1): each band is smoothed on its own, along time"),
        (_upsampler_variant(activation=nn.LeakyReLU(0.4)),
         "there is an activation after the convs; r9y9's upsampler (and voclab's) has none: stretch, conv, next scale"),
        (_upsampler_variant(reverse=True),
         "you applied the scales in reverse order; apply them in the order given (the smoothing widths 2s + 1 follow the scales)"),
    ],
))


# =========================================================================== exercise 4: sample_categorical


def _run_sampler(fn, logits, temperature):
    """What any correct sampler gets right: shape and dtype, frequencies, and use of ``generator``."""
    batch = len(logits)
    one = fn(logits, temperature, torch.Generator().manual_seed(0))
    many = fn(logits.repeat(_DRAWS, 1), temperature, torch.Generator().manual_seed(1))
    classes = torch.as_tensor(many).reshape(_DRAWS, batch).long()
    frequencies = F.one_hot(classes, logits.shape[-1]).double().mean(dim=0)  # (B, C)
    torch.manual_seed(123)  # a sampler that ignores `generator` draws from here ...
    first = fn(logits, temperature, torch.Generator().manual_seed(7))
    torch.manual_seed(456)  # ... and from here: it gives other classes
    second = fn(logits, temperature, torch.Generator().manual_seed(7))
    return {"draw": torch.zeros_like(torch.as_tensor(one)), "frequencies": frequencies,
            "same generator, same draws": bool(torch.equal(torch.as_tensor(first), torch.as_tensor(second)))}


def _logits(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def _sampler_cases():
    peaked = torch.log_softmax(-0.5 * ((torch.arange(256.0) - 140) / 6) ** 2, dim=0)  # a bump around class 140
    return [
        Case("two rows of 5 logits, temperature 1", (_logits([0.0, 1.0, 2.0, 0.5, -1.0], [2.0, 2.0, 0.0, 0.0, 1.0]), 1.0)),
        Case("temperature 0.5 (sharper)", (_logits([0.0, 1.0, 2.0, 0.5, -1.0]), 0.5)),
        Case("temperature 2 (flatter)", (_logits([0.0, 1.0, 2.0, 0.5, -1.0], [3.0, 0.0, 0.0, 0.0, 0.0]), 2.0)),
        Case("256 μ-law classes, a bump around class 140, temperature 1.3", (peaked[None], 1.3)),
        Case("temperature 0: always the most likely class", (_logits([0.0, 1.0, 2.0, 0.5, -1.0], [1.0, 0.0, 0.0, 4.0, 1.0]), 0.0)),
    ]


def _sampler_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): logits far from 0, float64 logits (what the float64
    models of generate_cached's check produce) and a batch of 4 two-class rows. The public logits are small,
    so a hand-made softmax, exp(logits / T) / sum, passes them; at logits around +100 its exp overflows
    float32 and around −120 it underflows to 0, and torch.multinomial refuses the NaN probabilities."""
    return [
        Case("large logits, around +100 and −120 (a softmax must subtract the row's maximum)",
             (_logits([100.0, 99.0, 98.5, 97.0, 90.0], [-120.0, -121.0, -119.0, -123.0, -120.5]), 1.0)),
        Case("float64 logits, one row of 3 classes, temperature 0.25",
             (torch.tensor([[0.0, 0.3, -0.2]], dtype=torch.float64), 0.25)),
        Case("a batch of 4 rows of 2 classes (coins of several biases), temperature 3",
             (_logits([0.0, 0.0], [2.0, -1.0], [-4.0, 3.0], [6.0, 0.0]), 3.0)),
    ]


def _sampler_variant(kind):
    def wrong(logits, temperature=1.0, generator=None):
        if kind == "times":
            probs = torch.softmax(logits * temperature, dim=-1)
        elif kind == "ignores_temperature":
            probs = torch.softmax(logits, dim=-1)
        elif kind == "dim0":
            probs = torch.softmax(logits / temperature, dim=0)
        elif kind == "greedy":
            return logits.argmax(dim=-1)
        elif kind == "global_rng":
            if temperature == 0:
                return logits.argmax(dim=-1)
            return torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1).squeeze(-1)
        if temperature == 0:
            return logits.argmax(dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return wrong


register(Exercise(
    name="sample_categorical",
    notebook=NOTEBOOK,
    reference=wavenet.sample_categorical,
    cases=_sampler_cases,
    hidden_cases=_sampler_hidden_cases,
    run=_run_sampler,
    reference_name="voclab.models.wavenet.sample_categorical",
    hint="temperature 0: logits.argmax(dim=-1). Otherwise probs = torch.softmax(logits / temperature, dim=-1), then "
         "torch.multinomial(probs, 1, generator=generator).squeeze(-1) — int64 of shape (B,).",
    compare=_FREQUENCY_TOLERANCE,
    mistakes=[
        (_sampler_variant("times"),
         "you multiplied the logits by the temperature; divide them: softmax(logits / temperature) — a high temperature flattens"),
        (_sampler_variant("ignores_temperature"),
         "the temperature has no effect: divide the logits by it before the softmax"),
        (_sampler_variant("dim0"),
         "the softmax runs over the batch (dim=0); each row is one distribution over the classes: dim=-1"),
        (_sampler_variant("greedy"),
         "you always take the most likely class; that is temperature 0 only — otherwise draw at random from the softmax"),
        (_sampler_variant("global_rng"),
         ("two draws with equally seeded generators differ: pass generator=generator to torch.multinomial, "
          "so that a seeded generation can be repeated (and the cached and naive ones draw the same numbers)")),
    ],
))


# =========================================================================== exercise 5: cache_length


def _cache_cases():
    return [
        Case("kernel 3, dilation 4", (3, 4)),
        Case("kernel 2, dilation 1 (the paper's first layer)", (2, 1)),
        Case("kernel 2, dilation 512 (the paper's last layer of a block)", (2, 512)),
        Case("kernel 3, dilation 16 (the course network's widest layer)", (3, 16)),
        Case("kernel 5, dilation 1", (5, 1)),
    ]


def _cache_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other kernels and dilations than the public ones."""
    return [
        Case("kernel 4, dilation 3", (4, 3)),
        Case("kernel 7, dilation 2", (7, 2)),
        Case("kernel 2, dilation 1024", (2, 1024)),
        Case("kernel 1, dilation 8 (a 1×1 conv remembers nothing)", (1, 8)),
    ]


register(Exercise(
    name="cache_length",
    notebook=NOTEBOOK,
    reference=wavenet.cache_length,
    cases=_cache_cases,
    hidden_cases=_cache_hidden_cases,
    reference_name="voclab.models.wavenet.cache_length",
    hint=("the layer's output at t reads its inputs at t, t − d, …, t − (k − 1)·d; the input at t arrives with "
          "the step, the older taps must be remembered: how far back is the oldest?"),
    compare={"rtol": 0, "atol": 0},
    mistakes=[
        (lambda kernel_size, dilation: dilation,
         ("that is Paine et al.'s queue for kernel 2; with k taps d apart, the oldest lies (k − 1)·d steps back")),
        (lambda kernel_size, dilation: (kernel_size - 1) * dilation + 1,
         ("one too many: you counted the newest input, which arrives with the step and needs no memory. "
          "Count only the past inputs")),
        (lambda kernel_size, dilation: kernel_size * dilation,
         "the taps are t, t − d, …, t − (k − 1)·d: the oldest lies (k − 1)·d steps back, not k·d"),
        (lambda kernel_size, dilation: kernel_size - 1,
         "the dilation is missing: the k taps lie d steps apart, not next to each other"),
        (lambda kernel_size, dilation: (kernel_size - 1) * (dilation - 1),
         "one step per tap too few: the taps t − d, …, t − (k − 1)·d are d steps apart, so the oldest is (k − 1)·d back"),
    ],
))


# =========================================================================== exercise 6: generate_cached


def _generate(model, c=None, length=None, temperature=1.0, generator=None):
    """``WaveNet.generate``, cached: on every case its samples are the naive algorithm's (the tests check
    it), and as the stand-in for an unfinished exercise it is as fast as the learner's should be."""
    return model.generate(c, length=length, temperature=temperature, cached=True, generator=generator)


def _run_generation(fn, model, c=None, length=None, temperature=1.0, *, seed=0):
    with torch.no_grad():
        return fn(model, c=c, length=length, temperature=temperature,
                  generator=torch.Generator().manual_seed(seed))


WEIGHT_GAIN = 4.0


def _small_model(*, layers=4, stacks=2, kernel_size=3, mel_bands=0, scales=(4, 4), seed=0, channels=6):
    hop = math.prod(scales)
    mel = {"n_mels": mel_bands or 80, "hop_length": hop, "n_fft": 4 * hop, "win_length": 4 * hop}
    cfg = wavenet.Config(output="mulaw", layers=layers, stacks=stacks, kernel_size=kernel_size,
                         residual_channels=channels, gate_channels=2 * channels, skip_channels=channels,
                         cin_channels=mel_bands, upsample_scales=list(scales), mel=mel, segment_size=hop, ema_decay=0)
    torch.manual_seed(seed)
    model = wavenet.WaveNet(cfg).double()
    with torch.no_grad():  # larger weights than at initialisation: every sample then depends on the past and the mel
        for name, parameter in model.named_parameters():
            if name.endswith("weight") and not name.startswith("upsample_net"):
                parameter.mul_(WEIGHT_GAIN)
    return model


def _generation_cases():
    return [
        Case("unconditional, 4 layers (dilations 1, 2, 1, 2), 40 samples", (_small_model(seed=1),),
             dict(length=40, seed=1)),
        Case("mel-conditioned (5 bands, hop 16), 4 frames → 64 samples", (_small_model(mel_bands=5, seed=2),),
             dict(c=_randn(1, 5, 4, seed=3).double(), seed=2)),
        Case("a batch of 2 mels, temperature 0.7, only 50 of the 64 samples",
             (_small_model(mel_bands=5, seed=4),), dict(c=_randn(2, 5, 4, seed=5).double(), length=50,
                                                         temperature=0.7, seed=3)),
        Case("kernel 2 as in the paper, 8 layers in 2 stacks (receptive field 31), 90 samples",
             (_small_model(layers=8, stacks=2, kernel_size=2, seed=6),), dict(length=90, seed=4)),
        Case("temperature 0 (the most likely class every step), with a mel", (_small_model(mel_bands=3, seed=7),),
             dict(c=_randn(1, 3, 3, seed=8).double(), temperature=0.0, seed=5)),
    ]


def _generation_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): the paper's extreme dilations (1 … 512, caches of
    up to 513 inputs), a batch of 3 mels with another hop (6) and a temperature above 1, and a single sample;
    the public models have hop 16, at most 2 mels and dilations up to 8. On each, voclab's cached and naive
    algorithms give identical samples (torch.equal of generate(cached=True) and generate(cached=False))."""
    return [
        Case("kernel 2, 10 layers in one stack (dilations 1 … 512, as in the paper), 24 samples",
             (_small_model(layers=10, stacks=1, kernel_size=2, seed=21),), dict(length=24, seed=6)),
        Case("a batch of 3 mels, 2 frames of hop 6 (scales [2, 3]), temperature 1.5",
             (_small_model(mel_bands=4, scales=(2, 3), seed=22),),
             dict(c=_randn(3, 4, 2, seed=23).double(), temperature=1.5, seed=7)),
        Case("a single sample (length 1), with a mel", (_small_model(mel_bands=2, seed=24),),
             dict(c=_randn(1, 2, 1, seed=25).double(), length=1, seed=8)),
    ]


#: The caching probe generates this many samples, then twice as many: both within its receptive
#: field of 64, where the naive algorithm's window (and so its work per sample) still grows.
_PROBE_SAMPLES = 16


def _caching_audit(fn):
    """Say so when ``fn``'s work per sample grows from N to 2N samples: it recomputes the past."""
    model = _small_model(layers=6, stacks=1, kernel_size=2, mel_bands=3, channels=4, seed=9)  # dilations 1 … 32
    c = _randn(1, 3, 2, seed=10).double()  # 2 frames of hop 16: 32 samples
    per_sample = []
    for n in (_PROBE_SAMPLES, 2 * _PROBE_SAMPLES):
        with counting_work(model) as work:
            _run_generation(fn, model, c, length=n)
        per_sample.append(work["flops"] / n)  # every conv and product, through the layers or their weights
    growth = per_sample[1] / per_sample[0] if per_sample[0] else 1.0
    if growth > 1.25:  # cached: ≈ 0.94 (the upsampling is done once per call); naive: ≈ 1.94
        return (f"your generate_cached recomputes the whole past at each step: the work per sample grew ×{growth:.1f} "
                f"from {_PROBE_SAMPLES} to {2 * _PROBE_SAMPLES} samples; keep a queue per layer of its last "
                "(k − 1)·dilation + 1 inputs and compute one new column per layer and step")
    return None


_CACHING = Audit(f"the caching probe: {_PROBE_SAMPLES} and {2 * _PROBE_SAMPLES} samples of a 6-layer model, "
                 "counting the operations of its convolutions", _caching_audit)


def _naive_generation(model, c=None, length=None, temperature=1.0, generator=None):
    """The naive algorithm: the right samples, with the network rerun on the receptive field for each."""
    return model.generate(c, length=length, temperature=temperature, cached=False, generator=generator)


def _cached_variant(*, skip_scale=True, condition_shift=0, push_after=False, start="silence",
                    residual_scale=_HALF_SQRT, pass_temperature=True, taps="oldest_first"):
    """A wrong cached generation: the solution with one ingredient changed."""

    def wrong(model, c=None, length=None, temperature=1.0, generator=None):
        cfg = model.cfg
        like = model.first_conv.weight
        c_up = model.upsample_net(c.to(like.dtype)) if c is not None else None
        batch = len(c) if c is not None else 1
        length = length or c_up.shape[-1]
        buffers = [torch.zeros(batch, cfg.residual_channels, layer.context, dtype=like.dtype) for layer in model.layers]
        q = torch.full((batch,), int(wavenet.mu_law_encode(np.float64(0.0))) if start == "silence" else 0)
        drawn = []
        for t in range(length):
            h = model.first_conv(F.one_hot(q, cfg.quantize_channels).to(like.dtype)[:, :, None])  # (B, R, 1)
            skips = 0
            for i, layer in enumerate(model.layers):
                if not push_after:
                    buffers[i] = torch.cat([buffers[i][:, :, 1:], h], dim=-1)
                window = buffers[i] if taps == "oldest_first" else buffers[i].flip(-1)
                a = layer.conv(window)
                if c_up is not None:
                    a = a + layer.conv1x1c(c_up[:, :, max(t - condition_shift, 0)][:, :, None])
                if push_after:
                    buffers[i] = torch.cat([buffers[i][:, :, 1:], h], dim=-1)
                a_tanh, a_sigmoid = a.chunk(2, dim=1)
                z = torch.tanh(a_tanh) * torch.sigmoid(a_sigmoid)
                skips = skips + layer.conv1x1_skip(z)
                h = (layer.conv1x1_out(z) + h) * residual_scale
            if skip_scale:
                skips = skips * math.sqrt(1.0 / len(model.layers))
            logits = model.last_conv_layers(skips)[:, :, 0]
            q = wavenet.sample_categorical(logits, temperature if pass_temperature else 1.0, generator)
            drawn.append(q)
        return wavenet.mu_law_decode(torch.stack(drawn, dim=1))

    return wrong


def _generation_without_dilation(model, c=None, length=None, temperature=1.0, generator=None):
    """A wrong cached generation whose cache ignores the dilation (notebook 03).

    Each layer keeps only its last ``k`` inputs and convolves them as if they were
    consecutive, instead of the ``k`` inputs ``d`` steps apart that its dilated conv reads:
    right for the layers of dilation 1 only. Kept apart from the ``_cached_variant`` family.
    """
    cfg, dtype = model.cfg, model.first_conv.weight.dtype
    c_up = model.upsample_net(c.to(dtype)) if c is not None else None
    batch = len(c) if c is not None else 1
    length = length or c_up.shape[-1]
    buffers = [torch.zeros(batch, cfg.residual_channels, layer.conv.kernel_size[0], dtype=dtype)
               for layer in model.layers]  # k inputs per layer, whatever the dilation
    sample = torch.full((batch,), int(wavenet.mu_law_encode(np.float64(0.0))))
    drawn = []
    for t in range(length):
        h = model.first_conv(F.one_hot(sample, cfg.quantize_channels).to(dtype)[:, :, None])
        skips = 0
        for i, layer in enumerate(model.layers):
            buffers[i] = torch.cat([buffers[i][:, :, 1:], h], dim=-1)
            a = F.conv1d(buffers[i], layer.conv.weight, layer.conv.bias)  # taps 1 apart, not d
            if c_up is not None:
                a = a + layer.conv1x1c(c_up[:, :, t:t + 1])
            a_tanh, a_sigmoid = a.chunk(2, dim=1)
            z = torch.tanh(a_tanh) * torch.sigmoid(a_sigmoid)
            skips = skips + layer.conv1x1_skip(z)
            h = (layer.conv1x1_out(z) + h) * _HALF_SQRT
        logits = model.last_conv_layers(skips * math.sqrt(1.0 / len(model.layers)))[:, :, 0]
        sample = wavenet.sample_categorical(logits, temperature, generator)
        drawn.append(sample)
    return wavenet.mu_law_decode(torch.stack(drawn, dim=1))


def _generated_classes(as_float=False):
    """A generation that returns the drawn μ-law classes (0 … 255) instead of decoding them to audio."""

    def wrong(model, c=None, length=None, temperature=1.0, generator=None):
        audio = model.generate(c, length=length, temperature=temperature, cached=True, generator=generator)
        classes = wavenet.mu_law_encode(audio)  # exact: the decoded values sit in the middle of their bins
        return classes.float() if as_float else classes
    return wrong


_CLASSES_NOT_AUDIO = ("you returned the μ-law classes (0 … 255), not audio: generation returns samples in [−1, 1] "
                      "— decode the drawn classes, mu_law_decode(torch.stack(drawn, dim=1))")


register(Exercise(
    name="generate_cached",
    notebook=NOTEBOOK,
    reference=_generate,
    cases=_generation_cases,
    hidden_cases=_generation_hidden_cases,
    run=_run_generation,
    reference_name="voclab.models.wavenet.WaveNet.generate",
    hint="Per layer a buffer of its last (k−1)·dilation + 1 inputs (zeros at first). Each step: h = first_conv(one-hot "
         "of the last sample); per layer push h into its buffer, a = conv(buffer) + conv1x1c(c[:, :, t]), gate, "
         "skips += conv1x1_skip(z), h = (conv1x1_out(z) + h)·√0.5; logits = last_conv_layers(skips·√(1/L)); draw.",
    compare=dict(rtol=0, atol=0),
    audit=_CACHING,
    mistakes=[
        (_naive_generation, "recomputes the whole past at each step"),
        (_cached_variant(push_after=True),
         ("each layer used its buffer before the new input was pushed in: it saw samples t − 1 and earlier. "
          "Push h first, then run the conv on the buffer")),
        (_cached_variant(taps="newest_first"),
         ("the buffer is read newest first: the conv's taps are ordered oldest to newest, buffer[..., 0] the "
          "oldest input, buffer[..., -1] the newest")),
        (_cached_variant(condition_shift=1),
         "the mel is one sample late: output t uses the upsampled conditioning at t, c_up[:, :, t]"),
        (_cached_variant(skip_scale=False),
         "the sum of the skips is not scaled: multiply it by √(1 / layers) before last_conv_layers, as forward does"),
        (_cached_variant(residual_scale=1.0),
         "the residual sum is not scaled: h = (conv1x1_out(z) + h) · √0.5, as in the block's forward"),
        (_cached_variant(start="class_0"),
         ("the first input is class 0 (x = −1, full scale); generation starts from silence, the class "
          "mu_law_encode(0) = 128")),
        (_cached_variant(pass_temperature=False),
         "the temperature is not passed on: sample_categorical(logits, temperature, generator)"),
        (_generation_without_dilation,
         ("each layer's cache ignores the dilation: it convolves the last k inputs as if they were consecutive, "
          "but a layer of dilation d reads inputs d steps apart. Keep its last (k − 1)·d + 1 inputs and take "
          "every d-th, buffer[:, :, ::d] (oldest first)")),
        (_generated_classes(), _CLASSES_NOT_AUDIO),
        (_generated_classes(as_float=True), _CLASSES_NOT_AUDIO),
    ],
))
