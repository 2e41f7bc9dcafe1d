"""Tests of the WaveNet reference model (voclab.models.wavenet): μ-law, blocks, generation, losses, training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from toy_vocoder import make_clips

from voclab import cli
from voclab.checkpoint import load_checkpoint
from voclab.errors import ConfigError, ShapeError
from voclab.models import get_model, wavenet
from voclab.models.wavenet import (
    ConditionUpsampler,
    Config,
    ResidualBlock,
    WaveNet,
    discretized_mix_logistic_loss,
    mu_law_decode,
    mu_law_encode,
    sample_categorical,
    sample_from_discretized_mix_logistics,
)
from voclab.spectral import MelConfig
from voclab.config import build_config, load_config
from voclab.train import train
from voclab.vocode import save_mel

CONFIGS = Path(wavenet.__file__).parents[1] / "configs"
#: a small mel (5 bands, hop 16) so that tiny models run in milliseconds
SMALL_MEL = MelConfig.preset("wavenet").replace(n_mels=5, n_fft=64, win_length=64, hop_length=16).to_dict()


def tiny(**changes) -> Config:
    fields = {"layers": 6, "stacks": 2, "residual_channels": 8, "gate_channels": 16, "skip_channels": 8,
              "cin_channels": 5, "upsample_scales": [4, 4], "mel": SMALL_MEL, "segment_size": 256, "batch_size": 2}
    return Config(**{**fields, **changes})


# --------------------------------------------------------------------------- μ-law


def test_mu_law_known_values_and_types():
    x = np.array([-1.0, -0.5, 0.0, 1e-4, 0.5, 1.0])
    q = mu_law_encode(x)
    assert q.dtype == np.int64 and q.tolist() == [0, 16, 128, 128, 239, 255]
    qt = mu_law_encode(torch.from_numpy(x))
    assert isinstance(qt, torch.Tensor) and qt.dtype == torch.int64 and qt.tolist() == q.tolist()
    assert mu_law_encode(np.array([-3.0, 2.0])).tolist() == [0, 255]  # clipped
    decoded = mu_law_decode(torch.tensor([0, 255]))
    assert decoded.dtype == torch.float32 and decoded.tolist() == [-1.0, 1.0]
    assert mu_law_decode(np.array([0, 255])).dtype == np.float32


def test_silence_is_class_128_by_rounding_where_truncation_gives_127():
    """voclab rounds; nnmnkwii's mulaw_quantize (r9y9's recipes) truncates (F + 1) / 2 · μ."""
    assert int(mu_law_encode(np.float64(0.0))) == 128
    assert int(np.floor((0.0 + 1) / 2 * 255)) == 127  # the truncating convention's silence
    x = np.linspace(-1, 1, 10001)
    companded = np.sign(x) * np.log1p(255 * np.abs(x)) / np.log1p(255)
    truncated = ((companded + 1) / 2 * 255).astype(np.int64)
    assert np.all((mu_law_encode(x) - truncated) >= 0) and np.all((mu_law_encode(x) - truncated) <= 1)


@pytest.mark.parametrize("mu", [255, 15])
def test_mu_law_round_trips(mu):
    q = np.arange(mu + 1)
    assert np.array_equal(mu_law_encode(mu_law_decode(q, mu), mu), q)  # every class survives decode → encode
    x = np.linspace(-1, 1, 20001)
    levels = mu_law_decode(q, mu).astype(np.float64)
    decoded = mu_law_decode(mu_law_encode(x, mu), mu)
    # x comes back as one of the two levels around it (rounding happens in the companded domain)
    above = np.clip(np.searchsorted(levels, x), 1, mu)
    assert np.all(np.isclose(decoded, levels[above - 1]) | np.isclose(decoded, levels[above]))
    assert np.all(np.diff(levels) > 0) and np.diff(levels)[mu // 2] < np.diff(levels)[-1]  # finer near 0


def test_mu_law_refuses_a_bad_mu():
    with pytest.raises(ConfigError, match="mu must be a positive integer"):
        mu_law_encode(np.zeros(3), mu=255.0)


# --------------------------------------------------------------------------- config


def test_shipped_configs_are_the_r9y9_recipes():
    mol = json.loads((CONFIGS / "wavenet.json").read_text())
    assert mol.pop("model") == "wavenet" and "mol_wavenet.json" in mol.pop("_source")
    cfg = Config(**mol)
    assert cfg == Config() and cfg.to_dict() == {**mol, "betas": (0.9, 0.999)}
    assert (cfg.layers, cfg.stacks, cfg.residual_channels, cfg.gate_channels, cfg.skip_channels) == (24, 4, 128, 256, 128)
    assert (cfg.output, cfg.quantize_channels, cfg.out_channels, cfg.receptive_field) == ("mol", 65536, 30, 505)
    assert cfg.mel_config == MelConfig.preset("wavenet") and get_model("wavenet") is wavenet
    mulaw = load_config("wavenet", "wavenet_mulaw")
    assert (mulaw.output, mulaw.quantize_channels, mulaw.layers, mulaw.stacks) == ("mulaw", 256, 30, 3)
    assert (mulaw.in_channels, mulaw.out_channels, mulaw.receptive_field) == (256, 256, 6139)
    assert Config(**mulaw.to_dict()) == mulaw


def test_receptive_field_formula():
    assert wavenet.receptive_field(30, 3, 2) == 3070  # the paper's 1, 2, …, 512 × 3 with k = 2
    assert wavenet.receptive_field(30, 3, 3) == 6139  # 30 layers in Tacotron 2's layout with r9y9's k = 3
    assert Config(layers=24, stacks=4).dilations == [1, 2, 4, 8, 16, 32] * 4


def test_upsample_scales_must_multiply_to_the_hop():
    with pytest.raises(ConfigError, match=r"prod\(upsample_scales\) = 4\*4\*4 = 64 must equal the mel hop_length = 256"):
        Config(upsample_scales=[4, 4, 4])
    Config(upsample_scales=[16, 16])  # any factorisation works
    Config(cin_channels=0, upsample_scales=[3])  # unconditional: no upsampler, no constraint


@pytest.mark.parametrize("changes, message", [
    ({"output": "softmax"}, "output must be"),
    ({"gate_channels": 255}, "must be even"),
    ({"layers": 10, "stacks": 4}, "multiple of stacks"),
    ({"cin_channels": 40}, "must equal the mel's n_mels=80"),
    ({"gin_channels": 16}, "needs both"),
    ({"kernel_size": 1}, "kernel_size must be at least 2"),
    ({"segment_size": 1000}, "multiple of hop_length=256"),
    ({"ema_decay": 1.0}, "ema_decay"),
    ({"mel": "no-such-preset"}, "No mel preset"),
])
def test_invalid_configs_say_what_is_wrong(changes, message):
    with pytest.raises(ConfigError, match=message):
        Config(**changes)
    with pytest.raises(ConfigError, match="Unknown config key.*'layerz' -> did you mean 'layers'"):
        build_config(wavenet, "wavenet", {"layerz": 3})


def test_default_model_has_the_recipes_parameter_count():
    cfg = Config()
    R, G, S, C, k, L = 128, 256, 128, 80, 3, 24
    per_layer = (R * G * k + G) + C * G + (G // 2 * R + R) + (G // 2 * S + S)
    closed_form = (1 * R + R) + L * per_layer + (S * S + S) + (S * 30 + 30) + sum(2 * s + 1 for s in cfg.upsample_scales)
    model = WaveNet(cfg)
    assert wavenet.count_parameters(model) == closed_form == 3_670_210  # "≈3.7M" of the recipe
    assert [name for name, _ in model.layers[0].named_children()] == ["conv", "conv1x1c", "conv1x1_out", "conv1x1_skip"]
    assert model.layers[5].conv.dilation == (32,) and model.layers[6].conv.dilation == (1,)


# --------------------------------------------------------------------------- blocks


def test_residual_block_matches_its_formula_and_is_causal():
    torch.manual_seed(0)
    block = ResidualBlock(4, 6, 3, kernel_size=3, dilation=2, cin_channels=2, gin_channels=5)
    x, c, g = torch.randn(2, 4, 20, requires_grad=True), torch.randn(2, 2, 20), torch.randn(2, 5, 1)
    out, skip = block(x, c, g)
    # by hand: left-pad (k-1)·d zeros, conv, add projections, gate, 1×1s
    a = F.conv1d(F.pad(x, (4, 0)), block.conv.weight, block.conv.bias, dilation=2)
    a = a + F.conv1d(c, block.conv1x1c.weight) + F.conv1d(g, block.conv1x1g.weight)
    z = torch.tanh(a[:, :3]) * torch.sigmoid(a[:, 3:])
    assert torch.allclose(skip, block.conv1x1_skip(z), atol=1e-6)
    assert torch.allclose(out, (block.conv1x1_out(z) + x) * math.sqrt(0.5), atol=1e-6)
    out[0, :, 10].sum().backward()
    seen = (x.grad[0].abs().sum(0) > 0).nonzero().flatten().tolist()
    assert seen == [6, 8, 10]  # taps t-4, t-2, t: nothing from the future
    # one step from the last (k-1)·d+1 inputs equals forward's column
    cond = block.conditioning(c, g)
    step_out, step_skip = block.step(x[:, :, 6:11].detach(), block.conv.bias + cond[:, :, 10], block.step_weights())
    assert torch.allclose(step_out, out[:, :, 10], atol=1e-6) and torch.allclose(step_skip, skip[:, :, 10], atol=1e-6)


def test_residual_block_refuses_conditioning_it_does_not_have():
    block = ResidualBlock(4, 6, 3, kernel_size=2, dilation=1)
    with pytest.raises(ShapeError, match="no local conditioning"):
        block(torch.zeros(1, 4, 5), torch.zeros(1, 2, 5))
    with pytest.raises(ConfigError, match="even"):
        ResidualBlock(4, 5, 3, kernel_size=2, dilation=1)


def test_condition_upsampler_stretches_and_smooths():
    up = ConditionUpsampler([2, 3])
    assert all(torch.allclose(conv.weight, torch.full_like(conv.weight, 1 / (2 * s + 1)))
               for s, conv in zip([2, 3], up.up_layers))
    c = torch.randn(2, 7, 9)
    out = up(c)
    assert out.shape == (2, 7, 54)
    # by hand: the edge frames repeated twice, then per scale a nearest-neighbour stretch and a
    # centred moving average with zero padding, then the context's 2 · 6 samples cut off at each end
    h = torch.cat([c[..., :1], c[..., :1], c, c[..., -1:], c[..., -1:]], dim=-1)
    for s in (2, 3):
        h = h.repeat_interleave(s, dim=-1)
        h = F.avg_pool1d(F.pad(h, (s, s)), 2 * s + 1, stride=1)
    assert torch.allclose(out, h[..., 12:-12], atol=1e-6)
    flat = up(torch.ones(1, 7, 9))
    assert torch.allclose(flat, torch.ones(1, 7, 54))  # the average keeps a constant, up to the edges


@pytest.mark.parametrize("scales", [[4, 4, 4, 4], [2, 3], [5], [3, 2, 4], [1, 1, 2], [16, 16]])
def test_condition_upsampler_pads_just_enough_context(scales):
    up, unpadded = ConditionUpsampler(scales), ConditionUpsampler(scales, pad_frames=0)
    hop = math.prod(scales)
    assert up.pad_frames == math.ceil(up.reach / hop)
    # the reach is what zero padding fades: a constant mel loses exactly `reach` samples at each end
    faded = unpadded(torch.ones(1, 1, 6))[0, 0] < 1 - 1e-6
    assert faded.sum() == 2 * up.reach and faded[:up.reach].all() and faded[-up.reach:].all()
    # padded, the edges are those of a mel with its edge frames repeated far beyond the reach
    c = torch.randn(1, 4, 5, dtype=torch.float64)
    up, unpadded = up.double(), unpadded.double()
    far = unpadded(F.pad(c, (8, 8), mode="replicate"))[..., 8 * hop:-8 * hop]
    assert torch.allclose(up(c), far, atol=1e-12)
    assert torch.allclose(ConditionUpsampler(scales, pad_frames=up.pad_frames + 3).double()(c), far, atol=1e-12)
    # inside, away from the edges, padding changes nothing
    inner = slice(up.reach, -up.reach)
    assert torch.allclose(up(c)[..., inner], unpadded(c)[..., inner], atol=1e-12)


def test_condition_upsampler_padding_adds_no_parameters_and_old_weights_load():
    padded, unpadded = ConditionUpsampler([4, 4, 4, 4]), ConditionUpsampler([4, 4, 4, 4], pad_frames=0)
    assert padded.state_dict().keys() == unpadded.state_dict().keys()
    padded.load_state_dict(unpadded.state_dict())
    with pytest.raises(ConfigError, match="pad_frames"):
        ConditionUpsampler([4, 4], pad_frames=-1)
    with pytest.raises(ShapeError, match="frames ≥ 1"):
        ConditionUpsampler([4, 4])(torch.zeros(1, 80, 0))


def test_cache_length_is_the_oldest_tap():
    assert [wavenet.cache_length(2, d) for d in (1, 2, 512)] == [1, 2, 512]  # Paine et al.: a queue of d
    assert wavenet.cache_length(3, 16) == 32
    cfg = Config(output="mulaw", layers=10, stacks=2, cin_channels=0, segment_size=256)
    assert sum(wavenet.cache_length(cfg.kernel_size, d) for d in cfg.dilations) == cfg.receptive_field - 1
    assert all(layer.context == wavenet.cache_length(layer.kernel_size, layer.dilation) + 1
               for layer in WaveNet(cfg).layers)
    with pytest.raises(ConfigError, match="positive"):
        wavenet.cache_length(0, 1)


# --------------------------------------------------------------------------- the network


@pytest.mark.parametrize("output", ["mulaw", "mol"])
def test_forward_shapes_and_receptive_field(output):
    torch.manual_seed(0)
    cfg = tiny(output=output, cin_channels=0)
    model = WaveNet(cfg)
    T = 60
    x = torch.randn(1, cfg.in_channels, T, requires_grad=True)
    y = model(x)
    assert y.shape == (1, cfg.out_channels, T)
    y[0, :, 50].sum().backward()
    seen = (x.grad[0].abs().sum(0) > 0).nonzero().flatten()
    assert (seen.min().item(), seen.max().item()) == (50 - model.receptive_field + 1, 50)
    assert model.receptive_field == 2 * (1 + 2 + 4) * 2 + 1 == 29


def test_forward_refuses_bad_inputs_with_clear_messages():
    cfg = tiny(output="mulaw", gin_channels=3, n_speakers=2)
    model = WaveNet(cfg)
    x, c, g = torch.zeros(2, 256, 64), torch.zeros(2, 5, 4), torch.tensor([0, 1])
    assert model(x, c, g).shape == (2, 256, 64)
    with pytest.raises(ShapeError, match="one-hot"):
        model(torch.zeros(2, 1, 64), c, g)
    with pytest.raises(ShapeError, match=r"5 frames × hop 16 = 80 samples, but x has 64"):
        model(x, torch.zeros(2, 5, 5), g)
    with pytest.raises(ShapeError, match="conditioned on a mel"):
        model(x, None, g)
    with pytest.raises(ShapeError, match="looks transposed"):
        model(x, torch.zeros(2, 4, 5), g)
    with pytest.raises(ShapeError, match=r"speaker ids must lie in \[0, 2\)"):
        model(x, c, torch.tensor([0, 2]))
    with pytest.raises(ShapeError, match="conditioned on a speaker"):
        model(x, c)


def generation_case(output):
    torch.manual_seed(1)
    cfg = tiny(output=output, gin_channels=3, n_speakers=2)
    model = WaveNet(cfg).double()
    return model, torch.randn(2, 5, 5, dtype=torch.float64), torch.tensor([1, 0])


@pytest.mark.parametrize("output", ["mulaw", "mol"])
def test_cached_generation_gives_the_naive_samples(output):
    model, c, g = generation_case(output)
    cached = model.generate(c, g, temperature=1.0, cached=True, generator=torch.Generator().manual_seed(3))
    naive = model.generate(c, g, temperature=1.0, cached=False, generator=torch.Generator().manual_seed(3))
    assert cached.shape == (2, 80) and cached.dtype == torch.float32
    assert torch.equal(cached, naive)
    assert cached.abs().max() <= 1 and len(torch.unique(cached)) > 20  # real draws, not a constant
    again = model.generate(c, g, generator=torch.Generator().manual_seed(4))
    assert not torch.equal(again, cached)  # the generator drives the draws


@pytest.mark.parametrize("output", ["mulaw", "mol"])
def test_generation_follows_the_teacher_forced_network(output):
    """With temperature 0 each generated sample is the mode of forward() on the samples before it."""
    torch.manual_seed(1)
    # 8-bit mixture levels: the float32 audio that generate returns is then far from any rounding edge
    cfg = tiny(output=output, quantize_channels=256)
    model = WaveNet(cfg).double()
    with torch.no_grad():  # larger weights than the initial ones: a lively sequence, not a fixed point
        for p in model.parameters():
            p.mul_(4)
    c = torch.randn(2, 5, 5, dtype=torch.float64)
    audio = model.generate(c, temperature=0, length=70)  # (2, 70) of the 80 samples the mel covers
    inputs, targets = wavenet.teacher_forcing(F.pad(audio, (0, 10))[:, None].double(), cfg)
    with torch.no_grad():
        logits = model(inputs.double(), c)[..., :70]  # causal: the 10 padded samples change nothing before
    if output == "mulaw":
        assert torch.equal(logits.argmax(1), targets[:, :70])
    else:
        modes = sample_from_discretized_mix_logistics(logits, num_classes=256, log_scale_min=cfg.log_scale_min,
                                                      temperature=0)
        assert torch.equal(modes.float(), audio)
    assert min(len(torch.unique(a)) for a in audio) >= 10


def test_generation_arguments_are_checked():
    model, c, g = generation_case("mulaw")
    assert model.generate(c, g, length=7).shape == (2, 7)
    with pytest.raises(ShapeError, match=r"length=81 must lie in \[1, 80\]"):
        model.generate(c, g, length=81)
    with pytest.raises(ConfigError, match="temperature"):
        model.generate(c, g, temperature=-1)
    unconditional = WaveNet(tiny(cin_channels=0, output="mulaw"))
    with pytest.raises(ShapeError, match="needs length"):
        unconditional.generate()
    assert unconditional.generate(length=5).shape == (1, 5)


# --------------------------------------------------------------------------- output distributions


def test_sample_categorical_follows_softmax_and_temperature():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.7]])).repeat(20000, 1)
    draws = sample_categorical(logits, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=3) / len(draws)
    assert torch.allclose(freq, torch.tensor([0.1, 0.2, 0.7]), atol=0.015)
    cold = sample_categorical(logits, temperature=0.5, generator=torch.Generator().manual_seed(0))
    expected = torch.tensor([0.01, 0.04, 0.49]) / 0.54  # p^(1/T), renormalised
    assert torch.allclose(torch.bincount(cold, minlength=3) / len(cold), expected, atol=0.015)
    assert sample_categorical(logits[:2], temperature=0).tolist() == [2, 2]


def mixture(batch=1, steps=1, means=(-0.3, 0.45), log_scales=(-2.0, -1.5), weights=(0.3, 0.7)):
    parts = [torch.log(torch.tensor(weights)), torch.tensor(means), torch.tensor(log_scales)]
    return torch.cat(parts).double()[None, :, None].repeat(batch, 1, steps)


def test_mixture_probabilities_sum_to_one_over_all_bins():
    Q = 16
    bins = torch.linspace(-1, 1, Q, dtype=torch.float64)
    nll = discretized_mix_logistic_loss(mixture(steps=Q), bins[None], num_classes=Q, reduction="none")
    p = torch.exp(-nll[0])
    assert torch.isclose(p.sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-9)
    # one bin by hand: Σ_i π_i [σ((y + b − μ_i)/s_i) − σ((y − b − μ_i)/s_i)]
    y, b = bins[5], 1 / (Q - 1)
    by_hand = sum(w * (torch.sigmoid((y + b - m) / math.exp(s)) - torch.sigmoid((y - b - m) / math.exp(s)))
                  for w, m, s in zip((0.3, 0.7), (-0.3, 0.45), (-2.0, -1.5)))
    assert torch.isclose(p[5], by_hand, rtol=1e-9)


def test_mixture_samples_follow_the_loss_distribution():
    Q = 16
    bins = torch.linspace(-1, 1, Q, dtype=torch.float64)
    p = torch.exp(-discretized_mix_logistic_loss(mixture(steps=Q), bins[None], num_classes=Q, reduction="none"))[0]
    draws = sample_from_discretized_mix_logistics(mixture(batch=20000), num_classes=Q,
                                                  generator=torch.Generator().manual_seed(0))[:, 0]
    index = torch.round((draws + 1) / 2 * (Q - 1)).long()
    assert torch.allclose(bins[index], draws, atol=1e-12)  # on the grid
    freq = torch.bincount(index, minlength=Q).double() / len(index)
    assert torch.allclose(freq, p, atol=0.012)
    mode = sample_from_discretized_mix_logistics(mixture(), num_classes=Q, temperature=0)
    assert torch.isclose(mode[0, 0], bins[torch.argmin((bins - 0.45).abs())])  # the heavier component's mean


def test_mixture_loss_shape_errors():
    with pytest.raises(ShapeError, match=r"\(B, 3·n_mixtures, T\)"):
        discretized_mix_logistic_loss(torch.zeros(1, 4, 5), torch.zeros(1, 5))
    with pytest.raises(ShapeError, match="does not match"):
        discretized_mix_logistic_loss(torch.zeros(1, 6, 5), torch.zeros(1, 4))


# --------------------------------------------------------------------------- training


def fixed_batch(cfg, batch=2):
    t = torch.arange(cfg.segment_size) / 22050
    audio = 0.5 * torch.sin(2 * math.pi * torch.tensor([[220.0], [330.0]])[:batch] * t)[:, None]
    frames = cfg.segment_size // cfg.mel_config.hop_length
    return {"audio": audio, "mel": torch.randn(batch, cfg.cin_channels, frames)}


def test_teacher_forcing_shifts_by_one_sample():
    cfg = tiny(output="mulaw")
    audio = torch.tensor([[[0.0, 0.5, -0.5, 1.0]]])
    inputs, targets = wavenet.teacher_forcing(audio, cfg)
    assert targets.tolist() == [mu_law_encode(np.array([0.0, 0.5, -0.5, 1.0])).tolist()]
    assert inputs.argmax(1).tolist() == [[128] + targets[0, :-1].tolist()]  # silence, then the samples before
    mol_inputs, mol_targets = wavenet.teacher_forcing(audio, tiny())
    assert mol_inputs.tolist() == [[[0.0, 0.0, 0.5, -0.5]]] and torch.equal(mol_targets, audio[:, 0])


@pytest.mark.parametrize("output", ["mulaw", "mol"])
def test_train_step_learns_and_keeps_an_ema(output):
    torch.manual_seed(0)
    cfg = tiny(output=output, ema_decay=0.9, learning_rate=1e-2, lr_anneal_interval=25)
    modules = wavenet.build(cfg)
    assert set(modules) == {"generator", "generator_ema"}
    assert not any(p.requires_grad for p in modules["generator_ema"].parameters())
    optimizers, schedulers = wavenet.make_optimizers(modules, cfg)
    assert schedulers == {}
    batch = fixed_batch(cfg)
    before = [p.detach().clone() for p in modules["generator_ema"].parameters()]
    first = wavenet.train_step(modules, optimizers, batch, cfg)
    # EMA: 0.9 · initial + 0.1 · the weights after one step
    for b, e, p in zip(before, modules["generator_ema"].parameters(), modules["generator"].parameters()):
        assert torch.allclose(e, 0.9 * b + 0.1 * p, atol=1e-6)
    rows = [wavenet.train_step(modules, optimizers, batch, cfg) for _ in range(39)]
    assert rows[-1]["loss"] < first["loss"] - 0.5, (first, rows[-1])
    assert [r["lr"] for r in (first, rows[23], rows[24])] == [1e-2, 1e-2, 5e-3]  # halved after 25 steps


TINY_SET = ["layers=4", "stacks=2", "residual_channels=8", "gate_channels=16", "skip_channels=8",
            "segment_size=1024", "batch_size=2"]


def test_trains_and_vocodes_through_the_command_line(tmp_path, capsys):
    make_clips(tmp_path / "data", n=4, seconds=0.2)
    args = ["train", "wavenet", "--config", "wavenet_mulaw", "--data", str(tmp_path / "data"), "--out",
            str(tmp_path / "run"), "--steps", "2", "--val-every", "2", "--val-clips", "1", "--no-tensorboard"]
    for item in TINY_SET:
        args += ["--set", item]
    assert cli.main(args) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    val = [row for row in rows if row["type"] == "val"]
    assert len(val) == 1 and math.isfinite(val[0]["log_mel_l1"])
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.model == "wavenet" and ckpt.cfg.output == "mulaw" and ckpt.mel == MelConfig.preset("wavenet")
    assert set(ckpt.state["modules"]) == {"generator", "generator_ema"}
    mel = np.random.default_rng(0).random((80, 3)).astype(np.float32)
    save_mel(tmp_path / "in.npz", mel, ckpt.mel)
    assert cli.main(["vocode", str(tmp_path / "run"), str(tmp_path / "in.npz"), "-o", str(tmp_path / "out")]) == 0
    audio, sr = sf.read(tmp_path / "out" / "in.wav")
    assert sr == 22050 and audio.shape == (3 * 256,) and np.abs(audio).max() > 0


def test_resume_is_exact_with_the_step_decay_and_the_ema(tmp_path):
    make_clips(tmp_path / "data", n=4, seconds=0.1)
    cfg = load_config("wavenet", "wavenet", TINY_SET + ["lr_anneal_interval=2", "ema_decay=0.5"])
    quiet = {"tensorboard": False, "progress": False, "val_clips": 1, "val_every": 100, "log_every": 1}
    straight = train("wavenet", cfg, tmp_path / "data", tmp_path / "a", steps=3, **quiet)
    train("wavenet", cfg, tmp_path / "data", tmp_path / "b", steps=2, **quiet)
    resumed = train("wavenet", None, tmp_path / "data", tmp_path / "b", steps=3, resume=True, **quiet)
    assert resumed.losses == straight.losses
    for name in ("generator", "generator_ema"):
        a, b = straight.modules[name].state_dict(), resumed.modules[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_public_functions_are_documented():
    import inspect
    import re

    for name in wavenet.__all__:
        obj = getattr(wavenet, name)
        doc = inspect.getdoc(obj) or ""
        assert "Notebook:" in doc, f"wavenet.{name} does not name its notebook"
        if inspect.isfunction(obj):
            for section in ("Parameters", "Returns"):
                assert re.search(rf"^{section}\n-+\s*$", doc, re.MULTILINE), f"wavenet.{name}: no {section}"


def test_checkpoints_vocode_with_the_moving_average_once_it_has_settled(tmp_path):
    make_clips(tmp_path / "data", n=4, seconds=0.1)
    quiet = {"tensorboard": False, "progress": False, "val_clips": 1, "val_every": 100, "log_every": 1}
    for decay, expected in [(0.5, "generator_ema"), (0.9, "generator")]:  # 3 steps: >= 1/(1-0.5), < 1/(1-0.9)
        cfg = load_config("wavenet", "wavenet", TINY_SET + [f"ema_decay={decay}"])
        run = tmp_path / f"run_{decay}"
        train("wavenet", cfg, tmp_path / "data", run, steps=3, **quiet)
        ckpt = load_checkpoint(run)
        saved = ckpt.state["modules"][expected]
        assert all(torch.equal(v, saved[k]) for k, v in ckpt.generator.state_dict().items())
        other = ckpt.state["modules"]["generator" if expected == "generator_ema" else "generator_ema"]
        assert not all(torch.equal(v, other[k]) for k, v in ckpt.generator.state_dict().items())
