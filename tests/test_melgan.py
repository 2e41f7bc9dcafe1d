"""Tests of the MelGAN reference model (voclab.models.melgan) against the paper and official code."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from voclab.errors import ConfigError, ShapeError
from voclab.models import get_model, melgan
from voclab.spectral import MelConfig, mel_spectrogram

CONFIG_JSON = Path(melgan.__file__).parents[1] / "configs" / "melgan.json"


@pytest.fixture(scope="module")
def paper_modules():
    torch.manual_seed(0)
    return melgan.build(melgan.Config())


def tiny_config(**changes) -> melgan.Config:
    fields = {"ngf": 8, "ndf": 4, "n_layers_D": 2, "segment_size": 2048, "batch_size": 2}
    fields.update(changes)
    return melgan.Config(**fields)


# --------------------------------------------------------------------------- config


def test_json_config_is_the_paper_default():
    fields = json.loads(CONFIG_JSON.read_text())
    assert fields.pop("model") == "melgan"
    cfg = melgan.Config(**fields)
    assert cfg == melgan.Config()
    assert cfg.to_dict() == fields
    assert cfg.mel_config == MelConfig.preset("melgan")
    assert (cfg.ratios, cfg.ngf, cfg.betas, cfg.lambda_feat) == ([8, 8, 2, 2], 32, (0.5, 0.9), 10.0)
    assert get_model("melgan") is melgan


def test_ratios_must_multiply_to_the_hop():
    with pytest.raises(ConfigError, match=r"prod\(ratios\) = 8·8·2 = 128 .* hop_length is 256"):
        melgan.Config(ratios=[8, 8, 2])
    other_hop = MelConfig.preset("melgan").replace(hop_length=200).to_dict()
    with pytest.raises(ConfigError, match=r"= 256 but the mel hop_length is 200"):
        melgan.Config(mel=other_hop)
    assert melgan.Config(ratios=[8, 8, 4]).ratios == [8, 8, 4]  # any factorisation of 256 works


@pytest.mark.parametrize("changes", [
    {"ndf": 6}, {"ratios": [256, 1]}, {"segment_size": 8000}, {"betas": (0.5, 1.0)},
    {"mel": "no-such-preset"},
])
def test_invalid_configs_raise_config_error(changes):
    with pytest.raises(ConfigError):
        melgan.Config(**changes)


# --------------------------------------------------------------------------- generator


def generator_parameters_closed_form(n_mels=80, ngf=32, ratios=(8, 8, 2, 2), n_res=3, gains=False):
    """Count the generator from the paper's description, independently of the module."""
    def conv(c_in, c_out, k, gain_channels):
        return c_in * c_out * k + c_out + (gain_channels if gains else 0)

    c = ngf * 2 ** len(ratios)
    total = conv(n_mels, c, 7, c)
    for r in ratios:
        total += conv(c, c // 2, 2 * r, c)  # transposed conv: weight (c_in, c_out, k), g per c_in
        c //= 2
        total += n_res * (conv(c, c, 3, c) + 2 * conv(c, c, 1, c))  # k3 dilated, k1, 1×1 shortcut
    return total + conv(c, 1, 7, 1)


def test_generator_has_the_papers_4_26M_parameters(paper_modules):
    G = paper_modules["generator"]
    # The paper's "4.26M" counts the network without weight norm's gains g.
    assert melgan.count_parameters(G) == generator_parameters_closed_form() == 4_260_257
    assert melgan.count_parameters(G, weight_norm_gains=True) == \
        generator_parameters_closed_form(gains=True) == 4_266_050
    assert sum(p.numel() for p in G.parameters()) == 4_266_050
    assert round(4_260_257 / 1e6, 2) == 4.26 and round(4_266_050 / 1e6, 2) == 4.27
    assert G.model[1].weight.shape == (512, 80, 7)  # first conv: ngf · 2^len(ratios) = 512 channels


@pytest.mark.parametrize("frames", [4, 5, 17, 40])
def test_generator_output_is_frames_times_hop(paper_modules, frames):
    with torch.no_grad():
        audio = paper_modules["generator"](torch.randn(1, 80, frames))
    assert audio.shape == (1, 1, frames * 256)
    assert audio.abs().max() <= 1  # tanh


def test_odd_ratios_keep_lengths_exact():
    G = melgan.Generator(n_mels=8, ngf=2, ratios=[3, 5], n_residual_layers=1)
    with torch.no_grad():
        assert G(torch.randn(1, 8, 7)).shape == (1, 1, 7 * 15)


def test_generator_refuses_bad_mels(paper_modules):
    G = paper_modules["generator"]
    with pytest.raises(ShapeError, match="n_mels=80"):
        G(torch.randn(80, 10))
    with pytest.raises(ShapeError, match="n_mels=80"):
        G(torch.randn(1, 10, 80))
    with pytest.raises(ShapeError, match="at least 4"):
        G(torch.randn(1, 80, 3))


def test_residual_stack_receptive_field_is_27():
    torch.manual_seed(0)
    stack = torch.nn.Sequential(*[melgan.ResnetBlock(4, dilation=3 ** j) for j in range(3)])
    x = torch.randn(1, 4, 101, requires_grad=True)
    stack(x)[0, :, 50].sum().backward()
    touched = (x.grad.abs().sum(1)[0] > 0).nonzero().flatten()
    assert (touched.min().item(), touched.max().item()) == (50 - 13, 50 + 13)  # (3-1)·(1+3+9) + 1 = 27


def test_official_checkpoint_layout_loads(paper_modules):
    """An official state dict (old-style weight_g / weight_v keys, same module names) loads."""
    expected = {
        "generator": ["model.1.weight_v", "model.3.weight_g", "model.4.block.2.weight_v",
                      "model.4.shortcut.weight_v", "model.24.weight_v", "model.24.bias"],
        "discriminator": ["model.disc_0.model.layer_0.1.weight_v", "model.disc_2.model.layer_4.0.weight_g",
                          "model.disc_1.model.layer_5.0.weight_v", "model.disc_2.model.layer_6.weight_v"],
    }
    for name, module in paper_modules.items():
        official = {
            k.replace("parametrizations.weight.original0", "weight_g")
             .replace("parametrizations.weight.original1", "weight_v"): v
            for k, v in module.state_dict().items()
        }
        assert set(expected[name]) <= set(official)
        fresh = melgan.build(melgan.Config())[name]
        fresh.load_state_dict(official)
        assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), module.state_dict().values()))


# --------------------------------------------------------------------------- discriminator


def test_discriminator_scales_and_feature_maps(paper_modules):
    D = paper_modules["discriminator"]
    x = torch.randn(1, 1, 2048)
    with torch.no_grad():
        outputs = D(x)
    assert len(outputs) == 3 and all(len(scale) == 4 + 3 for scale in outputs)
    channels = [f.shape[1] for f in outputs[0]]
    assert channels == [16, 64, 256, 1024, 1024, 1024, 1]
    for i, scale in enumerate(outputs):
        T = 2048 // 2 ** i
        assert [f.shape[-1] for f in scale] == [T, T // 4, T // 16, T // 64, T // 256, T // 256, T // 256]
    assert melgan.count_parameters(D) == 3 * 5_637_953 == 16_913_859
    assert melgan.count_parameters(D, weight_norm_gains=True) == 16_924_086


def test_downsampling_between_scales(paper_modules):
    D = paper_modules["discriminator"]
    x = torch.randn(1, 1, 1024)
    pooled = D.downsample(x)
    assert pooled.shape == (1, 1, 512)
    # AvgPool1d(4, stride 2, padding 1, count_include_pad=False): the padded zero is not averaged
    assert torch.allclose(pooled[0, 0, 0], x[0, 0, :3].mean())
    assert torch.allclose(pooled[0, 0, 1], x[0, 0, 1:5].mean())
    with torch.no_grad():
        outputs = D(x)
        scale_2 = D.model.disc_2(F.avg_pool1d(pooled, 4, 2, 1, count_include_pad=False))
    assert all(torch.allclose(a, b) for a, b in zip(outputs[2], scale_2))


def test_grouped_strided_convs_as_in_the_paper(paper_modules):
    disc = paper_modules["discriminator"].model.disc_0
    convs = [disc.model[f"layer_{n}"][0] for n in range(1, 5)]
    assert [c.groups for c in convs] == [4, 16, 64, 256]  # in_channels // 4
    assert [(c.in_channels, c.out_channels) for c in convs] == [(16, 64), (64, 256), (256, 1024), (1024, 1024)]
    assert all((c.kernel_size, c.stride, c.padding) == ((41,), (4,), (20,)) for c in convs)
    assert all(c.weight.shape[1] == 4 for c in convs)  # each output channel sees 4 input channels
    # layer_1 has 4 groups of 4 input → 16 output channels: changing input channels 0-3
    # (group 0) changes output channels 0-15 and no others
    conv = convs[0]
    x = torch.randn(1, 16, 256)
    y = x.clone()
    y[:, :4] += 1
    with torch.no_grad():
        changed = (conv(x) - conv(y)).abs().amax(dim=(0, 2)) > 0
    assert changed.nonzero().flatten().tolist() == list(range(16))


# --------------------------------------------------------------------------- losses


def scores(*values):
    return [[torch.zeros(1), torch.tensor(v)] for v in values]  # one dummy feature map, then the score


def test_hinge_losses_known_values():
    real = scores([0.5, 2.0], [1.0, -1.0])
    fake = scores([-2.0, 0.0], [0.5, -0.5])
    # scale 0: mean(relu(1 - [0.5, 2])) = 0.25, mean(relu(1 + [-2, 0])) = 0.5
    # scale 1: mean(relu(1 - [1, -1])) = 1.0, mean(relu(1 + [0.5, -0.5])) = 1.0
    assert melgan.discriminator_loss(real, fake).item() == pytest.approx(2.75)
    assert melgan.generator_adversarial_loss(fake).item() == pytest.approx(-(-1.0 + 0.0))


def test_feature_matching_official_weighting():
    torch.manual_seed(0)
    n_layers_D, num_D = 4, 3
    real = [[torch.randn(2, 3, 5) for _ in range(n_layers_D + 3)] for _ in range(num_D)]
    fake = [[f + 0.5 for f in scale] for scale in real]
    fake[0][-1] += 100.0  # the score is not a feature: ignored
    loss = melgan.feature_matching_loss(real, fake, n_layers_D=n_layers_D)
    # (4 / (n_layers_D + 1)) · (1 / num_D) per map, n_layers_D + 2 maps per scale, each |0.5|
    assert loss.item() == pytest.approx(num_D * (n_layers_D + 2) * 0.8 / 3 * 0.5)
    fake_leaf = [[f.clone().requires_grad_() for f in scale] for scale in fake]
    real_leaf = [[f.clone().requires_grad_() for f in scale] for scale in real]
    melgan.feature_matching_loss(real_leaf, fake_leaf).backward()
    assert real_leaf[0][0].grad is None and fake_leaf[0][0].grad is not None  # targets detached


# --------------------------------------------------------------------------- training


def fake_batch(cfg, n=2):
    t = torch.arange(cfg.segment_size) / cfg.mel_config.sample_rate
    audio = 0.5 * torch.sin(2 * math.pi * 220 * t * torch.arange(1, n + 1)[:, None])[:, None]  # (B, 1, T)
    mel = mel_spectrogram(audio.squeeze(1), cfg.mel_config)  # (B, n_mels, T // hop)
    return {"audio": audio, "mel": mel}


def test_train_step_updates_both_networks():
    torch.manual_seed(0)
    cfg = tiny_config()
    modules = melgan.build(cfg)
    optimizers, schedulers = melgan.make_optimizers(modules, cfg)
    assert schedulers == {}
    assert optimizers["generator"].defaults["lr"] == 1e-4
    assert optimizers["discriminator"].defaults["betas"] == (0.5, 0.9)
    before = {k: [p.detach().clone() for p in m.parameters()] for k, m in modules.items()}
    entered = []

    @contextlib.contextmanager
    def autocast():
        entered.append(1)
        yield

    batch = fake_batch(cfg)
    losses = melgan.train_step(modules, optimizers, batch, cfg, autocast=autocast)
    assert set(losses) == {"loss_d", "loss_g", "loss_adv", "loss_fm", "mel_l1"}
    assert all(math.isfinite(v) for v in losses.values())
    assert losses["loss_g"] == pytest.approx(losses["loss_adv"] + 10 * losses["loss_fm"], rel=1e-5)
    assert losses["loss_d"] == pytest.approx(2 * cfg.num_D, abs=0.5)  # scores near 0 at the start
    assert losses["mel_l1"] > 0 and entered
    for name, module in modules.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], module.parameters())), name
    losses_2 = melgan.train_step(modules, optimizers, batch, cfg)
    assert all(math.isfinite(v) for v in losses_2.values())


def bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def is_bf16_number(value: float) -> bool:
    return float(torch.tensor(value).bfloat16()) == value


def test_train_step_bf16_autocast_keeps_the_waveform_and_the_losses_in_float32():
    torch.manual_seed(0)
    cfg = tiny_config(num_D=2)
    modules = melgan.build(cfg)
    optimizers, _ = melgan.make_optimizers(modules, cfg)
    batch = fake_batch(cfg)
    losses = [melgan.train_step(modules, optimizers, batch, cfg, autocast=bf16_autocast) for _ in range(3)]
    assert all(math.isfinite(v) for row in losses for v in row.values())
    # A loss summed in bf16 near 4 moves in steps of 1/64 (the hinge loss printed exactly 6.0):
    # float32 losses are (almost never) bf16 numbers.
    for key in ("loss_d", "loss_g", "loss_fm"):
        assert not all(is_bf16_number(row[key]) for row in losses), f"{key} looks computed in bf16"
    with torch.no_grad(), bf16_autocast():
        audio = modules["generator"](batch["mel"])
    assert audio.dtype == torch.float32
    assert torch.unique(audio).numel() > 0.5 * audio.numel()  # a bf16 tanh gave 44 values in 2048 samples
    scores = [[torch.randn(2, 1, 8).bfloat16()]]
    assert melgan.discriminator_loss(scores, scores).dtype == torch.float32
    assert melgan.generator_adversarial_loss(scores).dtype == torch.float32
    assert melgan.feature_matching_loss([[s, s] for s in scores[0]], [[s, s] for s in scores[0]]).dtype == torch.float32


def test_generator_step_computes_no_discriminator_gradients():
    torch.manual_seed(0)
    cfg = tiny_config(num_D=2)
    modules = melgan.build(cfg)
    optimizers, _ = melgan.make_optimizers(modules, cfg)
    after_d_step = {}
    d_step = optimizers["discriminator"].step

    def record_then_step(*args, **kwargs):
        after_d_step.update({n: p.grad.clone() for n, p in modules["discriminator"].named_parameters()})
        return d_step(*args, **kwargs)

    optimizers["discriminator"].step = record_then_step
    melgan.train_step(modules, optimizers, fake_batch(cfg), cfg)
    for name, p in modules["discriminator"].named_parameters():
        assert p.requires_grad and torch.equal(p.grad, after_d_step[name]), name


def test_train_step_refuses_misaligned_audio():
    cfg = tiny_config()
    modules = melgan.build(cfg)
    optimizers, _ = melgan.make_optimizers(modules, cfg)
    batch = fake_batch(cfg)
    batch["audio"] = batch["audio"][..., :-100]
    with pytest.raises(ShapeError, match="hop_length"):
        melgan.train_step(modules, optimizers, batch, cfg)


def test_validation_audio():
    cfg = tiny_config()
    G = melgan.build(cfg)["generator"]
    audio = melgan.validation_audio(G, fake_batch(cfg)["mel"])
    assert audio.shape == (2, 1, cfg.segment_size) and not audio.requires_grad


def test_remove_weight_norm_on_a_deep_copy_leaves_the_original_working():
    # parametrized modules of a deep copy share their class with the original's; folding the
    # copy's weight norm must not delete the original's `weight`
    import copy

    from voclab.models import remove_weight_norm

    torch.manual_seed(0)
    generator = melgan.Generator(ngf=8)
    mel = torch.randn(1, 80, 6)
    with torch.no_grad():
        before = generator(mel)
        folded = remove_weight_norm(copy.deepcopy(generator))
        assert torch.allclose(generator(mel), before)
        assert torch.allclose(folded(mel), before, atol=1e-5)
    assert not any(hasattr(m, "parametrizations") for m in folded.modules())
