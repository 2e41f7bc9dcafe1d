"""Tests of notebook 03's exercise specifications (voclab/checks/nb03.py).

For every exercise: a stub that raises NotImplementedError is "not done" (and the
reference is handed back), and a correct solution written differently from the reference
passes too, whatever the order in which it creates its layers. Modules with other parameter
names are refused with a message that names them, and a sampler that ignores its generator is caught.
(That every reference passes and every listed mistake is recognised is tested for all
notebooks at once in test_exercise_contracts.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from voclab.checks import check_exercise, get_exercise, nb03
from voclab.models import wavenet

EXERCISES = [
    "mu_law_encode",
    "mu_law_decode",
    "GatedResidualBlock",
    "ConditionUpsampler",
    "sample_categorical",
    "cache_length",
    "generate_cached",
]


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your code")


class _StubModule(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError("Exercise __init__: replace this line with your code")


@pytest.mark.parametrize("name", EXERCISES)
def test_stub_is_not_done_and_hands_back_the_reference(name):
    is_module = name in ("GatedResidualBlock", "ConditionUpsampler")
    result = check_exercise(name, _StubModule if is_module else _stub)
    assert result.status == "not done", result.message
    assert "not done yet" in result.message
    if is_module:
        assert result.use is get_exercise(name).reference  # a class comes back as itself
    else:
        case = get_exercise(name).cases()[0]
        if name == "generate_cached":
            assert result.use(*case.args, length=8, generator=torch.Generator().manual_seed(0)).shape == (1, 8)
        else:
            assert result.use(*case.args, **case.kwargs) is not None


# --------------------------------------------------------------------------- the references are WaveNet's


def test_mu_law_classes_round_trip_and_the_error_stays_within_a_step():
    q = np.arange(256)
    np.testing.assert_array_equal(wavenet.mu_law_encode(wavenet.mu_law_decode(q)), q)
    x = np.linspace(-1, 1, 10001)
    classes = wavenet.mu_law_encode(x)
    assert classes.min() == 0 and classes.max() == 255 and wavenet.mu_law_encode(np.array(0.0)) == 128
    steps = np.diff(wavenet.mu_law_decode(q).astype(np.float64))
    larger_neighbour_step = np.maximum(steps[np.clip(classes, 0, 254)], steps[np.clip(classes - 1, 0, 254)])
    assert np.all(np.abs(wavenet.mu_law_decode(classes) - x) <= larger_neighbour_step)


def test_the_cases_keep_mu_law_values_away_from_rounding_boundaries():
    """float32 and float64 give the same classes on the bin-interior values the check uses."""
    x = nb03._mu_law_values(255, 5000, seed=0)
    np.testing.assert_array_equal(wavenet.mu_law_encode(x), wavenet.mu_law_encode(x.astype(np.float32)))
    assert np.mean(nb03._encode_variant(rounding="floor")(x) != wavenet.mu_law_encode(x)) > 0.3


def test_the_generation_cases_are_long_enough_to_use_the_whole_buffer():
    for case in get_exercise("generate_cached").cases():
        model = case.args[0]
        c = case.kwargs.get("c")
        length = case.kwargs.get("length") or c.shape[-1] * model.upsample_net.hop
        assert length > max(layer.context for layer in model.layers)
        assert model.first_conv.weight.dtype == torch.float64


@pytest.mark.parametrize("index", range(len(get_exercise("generate_cached").cases())))
def test_on_every_case_the_reference_gives_the_naive_algorithms_samples(index):
    """The check compares with generate(cached=True): here it equals generate(cached=False) exactly."""
    case = get_exercise("generate_cached").cases()[index]
    def generate(cached):
        return lambda model, **kwargs: model.generate(cached=cached, **kwargs)

    runs = [nb03._run_generation(generate(cached), *case.args, **case.kwargs) for cached in (True, False)]
    assert torch.equal(*runs)


# --------------------------------------------------------------------------- names and generators


class _RenamedBlock(nn.Module):
    """The right computation under other names: refused, since the notebook loads weights by name."""

    def __init__(self, residual, gate, skip, kernel_size, dilation, cin=0, gin=0):
        super().__init__()
        self.dilated = nn.Conv1d(residual, gate, kernel_size, dilation=dilation)
        self.cond = nn.Conv1d(cin, gate, 1, bias=False) if cin else None
        self.speaker = nn.Conv1d(gin, gate, 1, bias=False) if gin else None
        self.out = nn.Conv1d(gate // 2, residual, 1)
        self.skip = nn.Conv1d(gate // 2, skip, 1)

    def forward(self, x, c=None, g=None):
        k, d = self.dilated.kernel_size[0], self.dilated.dilation[0]
        a = self.dilated(F.pad(x, ((k - 1) * d, 0)))
        a = a + (self.cond(c) if c is not None else 0) + (self.speaker(g) if g is not None else 0)
        z = torch.tanh(a[:, : a.shape[1] // 2]) * torch.sigmoid(a[:, a.shape[1] // 2:])
        return (self.out(z) + x) * math.sqrt(0.5), self.skip(z)


def test_a_block_with_other_parameter_names_is_refused_with_the_names():
    result = check_exercise("GatedResidualBlock", _RenamedBlock)
    assert result.status == "failed"
    assert "parameter names differ" in result.message and "conv.weight" in result.message


def test_a_conditioning_bias_is_refused_by_name():
    class WithBias(_OtherBlock):
        def __init__(self, residual, gate, skip, kernel_size, dilation, cin=0, gin=0):
            super().__init__(residual, gate, skip, kernel_size, dilation, cin, gin)
            if cin:
                self.conv1x1c = nn.Conv1d(cin, gate, 1)

    result = check_exercise("GatedResidualBlock", WithBias)
    assert result.status == "failed" and "unexpected conv1x1c.bias" in result.message


def test_a_block_that_is_not_a_module_says_so():
    result = check_exercise("GatedResidualBlock", lambda *args: None)
    assert result.status == "failed" and "nn.Module" in result.message


def test_another_sampler_that_ignores_the_generator_is_told_so():
    def gumbel_without_generator(logits, temperature=1.0, generator=None):
        if temperature == 0:
            return logits.argmax(dim=-1)
        noise = -torch.log(-torch.log(torch.rand(logits.shape)))
        return (logits / temperature + noise).argmax(dim=-1)

    result = check_exercise("sample_categorical", gumbel_without_generator)
    assert result.status == "failed"
    assert "pass generator=generator" in result.message


# --------------------------------------------------------------------------- other correct solutions pass


def _other_encode(x, mu=255):
    if isinstance(x, torch.Tensor):
        return torch.from_numpy(_other_encode(x.numpy(), mu))
    companded = np.sign(x) * np.log(1 + mu * np.abs(x)) / np.log(1 + mu)  # log instead of log1p
    return np.rint((companded + 1) * mu / 2).astype(np.int64)             # rint: ties never happen here


def _other_decode(q, mu=255):
    if isinstance(q, torch.Tensor):
        return torch.from_numpy(_other_decode(q.numpy(), mu))
    y = np.asarray(q, dtype=np.float32) / mu * 2 - 1
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


class _OtherBlock(nn.Module):
    """Written differently: padding by slicing a padded conv, torch.split, gate as a product of modules."""

    def __init__(self, residual, gate, skip, kernel_size, dilation, cin=0, gin=0):
        super().__init__()
        self.conv = nn.Conv1d(residual, gate, kernel_size, dilation=dilation, padding=(kernel_size - 1) * dilation)
        self.conv1x1c = nn.Conv1d(cin, gate, 1, bias=False) if cin else None
        self.conv1x1g = nn.Conv1d(gin, gate, 1, bias=False) if gin else None
        self.conv1x1_out = nn.Conv1d(gate // 2, residual, 1)
        self.conv1x1_skip = nn.Conv1d(gate // 2, skip, 1)
        self.half = gate // 2

    def forward(self, x, c=None, g=None):
        a = self.conv(x)[..., : x.shape[-1]]  # both sides padded, the future cut off
        for conv, h in ((self.conv1x1c, c), (self.conv1x1g, g)):
            if h is not None:
                a = a + conv(h)
        a_tanh, a_sigmoid = torch.split(a, self.half, dim=1)
        z = a_tanh.tanh() * a_sigmoid.sigmoid()
        return (x + self.conv1x1_out(z)) / math.sqrt(2), self.conv1x1_skip(z)


class _OtherUpsampler(nn.Module):
    """Written differently: F.interpolate(mode="nearest") as the stretch, weights set by fill_, and a
    generous four context frames at each edge, repeated by torch.cat (more than the reach needs)."""

    CONTEXT = 4

    def __init__(self, upsample_scales):
        super().__init__()
        self.scales = tuple(upsample_scales)
        self.up_layers = nn.ModuleList(nn.Conv2d(1, 1, (1, 2 * s + 1), padding=(0, s), bias=False) for s in self.scales)
        with torch.no_grad():
            for s, conv in zip(self.scales, self.up_layers):
                conv.weight.fill_(1.0 / (2 * s + 1))

    def forward(self, c):
        n = self.CONTEXT
        h = torch.cat([c[..., :1]] * n + [c] + [c[..., -1:]] * n, dim=-1)[:, None]
        for s, conv in zip(self.scales, self.up_layers):
            h = conv(F.interpolate(h, scale_factor=(1, s), mode="nearest"))
        crop = n * math.prod(self.scales)
        return h[:, 0, :, crop:-crop]


def _other_cache_length(kernel_size, dilation):
    """Written differently: the distance from the newest tap to the oldest, counted tap by tap."""
    taps = [t * dilation for t in range(kernel_size)]
    return max(taps) - min(taps)


def _other_sampler(logits, temperature=1.0, generator=None):
    """Inverse-CDF sampling with one uniform per row: another algorithm, the same distribution."""
    if temperature == 0:
        return torch.argmax(logits, dim=1)
    cdf = torch.softmax(logits / temperature, dim=1).cumsum(dim=1)
    u = torch.rand(len(logits), 1, generator=generator, dtype=cdf.dtype)
    return (cdf < u).sum(dim=1).clamp(max=logits.shape[1] - 1)


def _queue_generation(*, dilated=True, decode=True):
    """Written differently: queues of the k dilated taps per layer (Paine et al.), F.linear on (B, C) vectors.

    With ``dilated=False`` the taps are the last k inputs (a cache that ignores the dilation); with
    ``decode=False`` the drawn classes are returned instead of audio: two conceptual mistakes."""

    @torch.no_grad()
    def generate(model, c=None, length=None, temperature=1.0, generator=None):
        return _queue_generate(model, c, length, temperature, generator, dilated=dilated, decode=decode)
    return generate


def _queue_generate(model, c, length, temperature, generator, *, dilated, decode):
    cfg = model.cfg
    c_up = model.upsample_net(c) if c is not None else None
    batch = 1 if c is None else len(c)
    length = length if length is not None else c_up.shape[-1]
    history = [[torch.zeros(batch, cfg.residual_channels, dtype=torch.float64)] * layer.context for layer in model.layers]
    previous = torch.full((batch,), 128)
    out = []
    for t in range(length):
        x = F.one_hot(previous, cfg.quantize_channels).double()
        h = F.linear(x, model.first_conv.weight[:, :, 0], model.first_conv.bias)
        skips = torch.zeros(batch, cfg.skip_channels, dtype=torch.float64)
        for layer, past in zip(model.layers, history):
            past.append(h)
            del past[0]
            d = layer.conv.dilation[0]
            taps = torch.stack(past[::d] if dilated else past[-layer.conv.kernel_size[0]:], dim=-1)  # (B, R, k)
            a = torch.einsum("brk,grk->bg", taps, layer.conv.weight) + layer.conv.bias
            if c_up is not None:
                a = a + c_up[:, :, t] @ layer.conv1x1c.weight[:, :, 0].T
            gate = a.shape[1] // 2
            z = torch.tanh(a[:, :gate]) * torch.sigmoid(a[:, gate:])
            skips += F.linear(z, layer.conv1x1_skip.weight[:, :, 0], layer.conv1x1_skip.bias)
            h = (F.linear(z, layer.conv1x1_out.weight[:, :, 0], layer.conv1x1_out.bias) + h) * math.sqrt(0.5)
        logits = model.last_conv_layers((skips / math.sqrt(len(model.layers)))[:, :, None])[:, :, 0]
        previous = wavenet.sample_categorical(logits, temperature, generator)
        out.append(previous)
    classes = torch.stack(out, dim=1)
    return wavenet.mu_law_decode(classes) if decode else classes


_other_generate_cached = _queue_generation()


@pytest.mark.parametrize("name,solution", [
    ("mu_law_encode", _other_encode),
    ("mu_law_decode", _other_decode),
    ("GatedResidualBlock", _OtherBlock),
    ("ConditionUpsampler", _OtherUpsampler),
    ("sample_categorical", _other_sampler),
    ("cache_length", _other_cache_length),
    ("generate_cached", _other_generate_cached),
])
def test_a_correct_solution_written_differently_passes(name, solution):
    result = check_exercise(name, solution)
    assert result.status == "passed", result.message
    assert result.use is solution


# --------------------------------------------------------------------------- conceptual mistakes, as learners write them


def _encode_without_sign(x, mu=255):
    if isinstance(x, torch.Tensor):
        return torch.from_numpy(_encode_without_sign(x.numpy(), mu))
    companded = np.log(1 + mu * np.abs(x)) / np.log(1 + mu)  # sign(x) forgotten
    return np.floor((companded + 1) / 2 * mu + 0.5).astype(np.int64)


def _decode_without_sign(q, mu=255):
    y = 2 * np.asarray(q, dtype=np.float64) / mu - 1
    return (np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)  # sign(y) forgotten


def _decode_to_float_classes(q, mu=255):
    return q.float() if isinstance(q, torch.Tensor) else np.float32(q)


class _BlockWithoutConditioning(_OtherBlock):
    """Creates conv1x1c and conv1x1g but forgets to use them: tanh(W_f x)·σ(W_g x)."""

    def forward(self, x, c=None, g=None):
        a = self.conv(x)[..., : x.shape[-1]]
        a_tanh, a_sigmoid = torch.split(a, self.half, dim=1)
        z = a_tanh.tanh() * a_sigmoid.sigmoid()
        return (x + self.conv1x1_out(z)) / math.sqrt(2), self.conv1x1_skip(z)


class _UpsamplerWithoutContext(_OtherUpsampler):
    """The upsampler before issue 10: no context frames, so the zero-padded convs fade at the edges."""

    CONTEXT = 0

    def forward(self, c):
        h = c[:, None]
        for s, conv in zip(self.scales, self.up_layers):
            h = conv(F.interpolate(h, scale_factor=(1, s), mode="nearest"))
        return h[:, 0]


@pytest.mark.parametrize("name,wrong,says", [
    ("mu_law_encode", _encode_without_sign, "Multiply by sign(x)"),
    ("mu_law_decode", _decode_without_sign, "the sign is lost"),
    ("mu_law_decode", _decode_to_float_classes, "decoding turns them into audio in [−1, 1]"),
    ("GatedResidualBlock", _BlockWithoutConditioning, "the conditioning is missing"),
    ("ConditionUpsampler", _UpsamplerWithoutContext, "fade towards zero"),
    ("cache_length", lambda kernel_size, dilation: (kernel_size - 1) * dilation + 1, "you counted the newest input"),
    ("cache_length", lambda kernel_size, dilation: dilation, "Paine et al.'s queue for kernel 2"),
    ("generate_cached", _queue_generation(dilated=False), "cache ignores the dilation"),
    ("generate_cached", _queue_generation(decode=False), "not audio: generation returns samples in [−1, 1]"),
], ids=["encode-without-sign", "decode-without-sign", "decode-returns-classes", "block-without-conditioning",
        "upsampler-without-context", "cache-counts-the-newest-input", "cache-of-kernel-2",
        "cache-ignores-dilation", "generation-returns-classes"])
def test_a_conceptual_mistake_is_named(name, wrong, says):
    result = check_exercise(name, wrong)
    assert result.status == "failed"
    assert says in result.message, result.message
    assert "values differ" not in result.message


def test_an_encoder_that_returns_floats_is_told_to_cast():
    result = check_exercise("mu_law_encode", lambda x, mu=255: wavenet.mu_law_encode(x, mu) * 1.0)
    assert result.status == "failed" and "integers" in result.message


def test_a_block_that_creates_the_skip_conv_first_passes():
    """voclab's names in another order of creation: the weights load by name."""

    class SkipFirst(_OtherBlock):
        def __init__(self, residual, gate, skip, kernel_size, dilation, cin=0, gin=0):
            super().__init__(residual, gate, skip, kernel_size, dilation, cin, gin)
            del self.conv1x1_out, self.conv1x1_skip
            self.conv1x1_skip = nn.Conv1d(gate // 2, skip, 1)
            self.conv1x1_out = nn.Conv1d(gate // 2, residual, 1)

    result = check_exercise("GatedResidualBlock", SkipFirst)
    assert result.status == "passed", result.message
