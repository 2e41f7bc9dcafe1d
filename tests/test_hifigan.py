"""HiFi-GAN reference model (voclab.models.hifigan) against the paper and the official code.

The official generator is re-written here from jik876/hifi-gan's models.py with the *old*
``torch.nn.utils.weight_norm`` (the one its checkpoints were saved with), as an oracle for
the checkpoint format and the forward pass.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from voclab.errors import ConfigError, ShapeError
from voclab.models import get_model
from voclab.models import hifigan as H
from voclab.spectral import MelConfig, mel_spectrogram

CONFIG_DIR = Path(H.__file__).parent.parent / "configs"

# Generator parameter counts (80 mels). "with WN": weight norm's g (one per output channel
# of a Conv1d, one per *input* channel of a ConvTranspose1d, as weight_norm(dim=0)) counted
# too — what a training checkpoint stores; "without WN": after remove_weight_norm, the
# inference model. The course's 13.93M / 0.93M / 1.46M are the counts *without* weight norm
# rounded (V1 *with* it rounds to 13.94M); the same counts truncated give 13.92M / 0.92M /
# 1.46M, the figures usually quoted from the paper († re-check against the PDF).
PARAMS = {  # variant: (with weight norm, without weight norm, millions without, millions with)
    "v1": (13_936_130, 13_926_017, 13.93, 13.94),
    "v2": (928_514, 925_985, 0.93, 0.93),
    "v3": (1_464_322, 1_462_273, 1.46, 1.46),
}

# official config_v1.json (jik876/hifi-gan), as its train.py reads it
OFFICIAL_V1 = {
    "resblock": "1", "num_gpus": 0, "batch_size": 16, "learning_rate": 0.0002,
    "adam_b1": 0.8, "adam_b2": 0.99, "lr_decay": 0.999, "seed": 1234,
    "upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4],
    "upsample_initial_channel": 512, "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "segment_size": 8192, "num_mels": 80, "num_freq": 1025, "n_fft": 1024, "hop_size": 256,
    "win_size": 1024, "sampling_rate": 22050, "fmin": 0, "fmax": 8000, "fmax_for_loss": None,
    "num_workers": 4,
    "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1},
}
OFFICIAL_V2 = {**OFFICIAL_V1, "upsample_initial_channel": 128}


def official(**arch) -> dict:
    return {**OFFICIAL_V1, **arch}


# --------------------------------------------------------------------------- oracle


class OfficialGenerator(nn.Module):
    """The official generator's architecture with the old weight norm (keys weight_g / weight_v)."""

    def __init__(self, h: dict):
        super().__init__()
        wn = torch.nn.utils.weight_norm
        C, K = h["upsample_initial_channel"], h["resblock_kernel_sizes"]
        self.K = len(K)
        self.conv_pre = wn(nn.Conv1d(h["num_mels"], C, 7, 1, padding=3))
        self.ups = nn.ModuleList(
            wn(nn.ConvTranspose1d(C // 2**i, C // 2 ** (i + 1), k, u, padding=(k - u) // 2))
            for i, (u, k) in enumerate(zip(h["upsample_rates"], h["upsample_kernel_sizes"])))
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            ch = C // 2 ** (i + 1)
            for k, ds in zip(K, h["resblock_dilation_sizes"]):
                block = nn.Module()

                def same(d, ch=ch, k=k):
                    return wn(nn.Conv1d(ch, ch, k, 1, dilation=d, padding=(k * d - d) // 2))

                if h["resblock"] == "1":
                    block.convs1 = nn.ModuleList(same(d) for d in ds)
                    block.convs2 = nn.ModuleList(same(1) for _ in ds)
                else:
                    block.convs = nn.ModuleList(same(d) for d in ds)
                self.resblocks.append(block)
        self.conv_post = wn(nn.Conv1d(ch, 1, 7, 1, padding=3))

    @staticmethod
    def block_forward(block, x):
        if hasattr(block, "convs1"):
            for c1, c2 in zip(block.convs1, block.convs2):
                xt = c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
                x = xt + x
        else:
            for c in block.convs:
                x = c(F.leaky_relu(x, 0.1)) + x
        return x

    def forward(self, x):
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, 0.1))
            xs = None
            for j in range(self.K):
                out = self.block_forward(self.resblocks[i * self.K + j], x)
                xs = out if xs is None else xs + out
            x = xs / self.K
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def closed_form_generator_parameters(h: dict, *, weight_norm: bool) -> int:
    """Count the official generator's parameters layer by layer: weights + biases (+ weight norm's g)."""

    def conv(c_in, c_out, k, n_g):
        return c_in * c_out * k + c_out + (n_g if weight_norm else 0)

    C, n_mels = h["upsample_initial_channel"], 80
    total = conv(n_mels, C, 7, C)  # conv_pre, g per output channel
    for i, k in enumerate(h["upsample_kernel_sizes"]):
        c_in, c_out = C // 2**i, C // 2 ** (i + 1)
        total += conv(c_in, c_out, k, c_in)  # ConvTranspose1d weight (in, out, k): g per *input* channel
        for kr, ds in zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]):
            n_convs = 2 * len(ds) if h["resblock"] == "1" else len(ds)
            total += n_convs * conv(c_out, c_out, kr, c_out)
    return total + conv(C // 2 ** len(h["upsample_rates"]), 1, 7, 1)  # conv_post


def to_official_keys(sd: dict) -> dict:
    return {k.replace("parametrizations.weight.original0", "weight_g")
             .replace("parametrizations.weight.original1", "weight_v"): v for k, v in sd.items()}


# --------------------------------------------------------------------------- config


def test_presets_match_official_configs_and_files():
    assert H.Config.from_official(OFFICIAL_V1) == H.Config.v1() == H.Config()
    assert H.Config.from_official(OFFICIAL_V2) == H.Config.v2()
    cfg = H.Config.v1()
    assert cfg.mel == "hifigan" and cfg.mel_config == MelConfig.preset("hifigan")
    assert cfg.loss_mel_config == MelConfig.preset("hifigan_loss")
    assert (cfg.segment_size, cfg.batch_size, cfg.learning_rate, cfg.adam_b1, cfg.adam_b2, cfg.lr_decay,
            cfg.lambda_mel, cfg.lambda_fm) == (8192, 16, 2e-4, 0.8, 0.99, 0.999, 45.0, 2.0)
    for v in ("v1", "v2", "v3"):
        fields = json.loads((CONFIG_DIR / f"hifigan_{v}.json").read_text())
        assert fields.pop("model") == "hifigan"
        assert H.Config(**fields) == getattr(H.Config, v)()
        assert H.Config(**fields).variant == v.upper()
        assert H.Config(**json.loads(json.dumps(H.Config(**fields).to_dict()))) == H.Config(**fields)
    assert get_model("hifigan") is H


def test_from_official_other_mel_and_loss_band():
    h = official(sampling_rate=16000, hop_size=200, win_size=800, n_fft=1024, fmax=7600,
                 fmax_for_loss=8000, upsample_rates=[5, 5, 4, 2], upsample_kernel_sizes=[10, 10, 8, 4],
                 segment_size=8000)
    cfg = H.Config.from_official(h)
    assert cfg.mel_config == MelConfig.preset("hifigan").replace(
        sample_rate=16000, hop_length=200, win_length=800, fmax=7600)
    assert cfg.loss_mel_config.fmax == 8000 and cfg.variant == "custom"
    assert H.Config(**cfg.to_dict()) == cfg  # mel travels as a dict
    with pytest.raises(ConfigError, match="segment_size=8192 must be a positive multiple of hop_length=200"):
        H.Config.from_official({**h, "segment_size": 8192})
    with pytest.raises(ConfigError, match="hop_size"):
        H.Config.from_official({k: v for k, v in OFFICIAL_V1.items() if k != "hop_size"})


def test_upsampling_must_equal_hop():
    with pytest.raises(ConfigError, match=r"8\*8\*2\*4 = 512.*hop_length = 256"):
        H.Config(upsample_rates=[8, 8, 2, 4])
    with pytest.raises(ConfigError, match=r"= 256 must equal the mel hop_length = 300"):
        H.Config.from_official(official(hop_size=300, win_size=1200, n_fft=2048))
    with pytest.raises(ConfigError, match="same length"):
        H.Config(upsample_kernel_sizes=[16, 16, 4])
    with pytest.raises(ConfigError, match="same length"):
        H.Config(resblock_kernel_sizes=[3, 7])
    with pytest.raises(ConfigError, match="resblock"):
        H.Config(resblock="3")
    with pytest.raises(ConfigError, match="No mel preset"):
        H.Config(mel="hifi-gan")


# --------------------------------------------------------------------------- generator


@pytest.mark.parametrize("variant", ["v1", "v2", "v3"])
def test_generator_parameter_counts(variant):
    with_wn, without_wn, millions, millions_wn = PARAMS[variant]
    h = H.VARIANTS[variant]
    assert closed_form_generator_parameters(h, weight_norm=True) == with_wn
    assert closed_form_generator_parameters(h, weight_norm=False) == without_wn
    g = H.Generator(getattr(H.Config, variant)())
    assert H.count_parameters(g) == with_wn
    assert H.count_parameters(g.remove_weight_norm()) == without_wn
    assert round(without_wn / 1e6, 2) == millions  # 13.93M / 0.93M / 1.46M
    assert round(with_wn / 1e6, 2) == millions_wn


def test_generator_output_length_published_variants():
    torch.manual_seed(0)
    for variant, frames in (("v2", 5), ("v3", 7), ("v1", 32)):  # V1 once at 8192 samples
        g = H.Generator(getattr(H.Config, variant)())
        with torch.no_grad():
            y = g(torch.randn(2, 80, frames))
        assert y.shape == (2, 1, frames * 256)
        assert y.abs().max() <= 1
    with pytest.raises(ShapeError, match="n_mels=80"):
        g(torch.randn(80, 10))


def test_upsample_padding_gives_exact_lengths():
    for k, u in itertools.product(range(1, 21), range(1, 11)):
        p, op, trim = H.upsample_padding(k, u)
        assert p >= 0 and 0 <= op < u and trim in (0, 1)
        conv = nn.ConvTranspose1d(1, 1, k, u, padding=p, output_padding=op)
        for frames in (1, 2, 9):
            assert conv(torch.zeros(1, 1, frames)).shape[-1] - trim == frames * u, (k, u)
        if k >= u and (k - u) % 2 == 0:
            assert (p, op, trim) == ((k - u) // 2, 0, 0)  # the official padding where it works


@pytest.mark.parametrize("stages", [
    [(2, 5)], [(3, 8)], [(4, 7)], [(2, 11)],   # odd k - u
    [(4, 3)], [(5, 2)],                        # k < u
    [(1, 4)],                                  # u = 1, even k: pad one less and trim
    [(5, 10), (4, 9), (3, 4), (2, 3)],         # a 120-sample hop with mixed cases
])
def test_generator_output_length_odd_k_minus_u(stages):
    rates = [u for u, _ in stages]
    hop = math.prod(rates)
    mel = MelConfig.preset("hifigan").replace(hop_length=hop, win_length=max(hop, 64), n_fft=max(hop, 64))
    cfg = H.Config(resblock="2", upsample_rates=rates, upsample_kernel_sizes=[k for _, k in stages],
                   upsample_initial_channel=16 * 2 ** len(stages), resblock_kernel_sizes=[3],
                   resblock_dilation_sizes=[[1, 2]], mel=mel.to_dict(), segment_size=hop * 8)
    g = H.Generator(cfg)
    for frames in (1, 6):
        with torch.no_grad():
            assert g(torch.zeros(1, 80, frames)).shape == (1, 1, frames * hop)


# --------------------------------------------------------------------------- official checkpoints

SMALL = [
    official(upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8], upsample_initial_channel=32,
             resblock_kernel_sizes=[3, 7], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]]),
    official(resblock="2", upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
             upsample_initial_channel=32, resblock_kernel_sizes=[3, 5, 7],
             resblock_dilation_sizes=[[1, 2], [2, 6], [3, 12]]),
]


@pytest.mark.filterwarnings("ignore:.*weight_norm.*is deprecated:FutureWarning")
@pytest.mark.parametrize("h", SMALL, ids=["resblock1", "resblock2"])
def test_load_official_checkpoint(tmp_path, h):
    torch.manual_seed(0)
    ref = OfficialGenerator(h)
    sd = ref.state_dict()
    assert any(k.endswith("weight_g") for k in sd) and any(".convs" in k for k in sd)
    torch.save({"generator": sd}, tmp_path / "g_00000001")
    (tmp_path / "config.json").write_text(json.dumps(h))
    g, cfg, mel_cfg = H.load_official_generator(tmp_path / "g_00000001", tmp_path / "config.json")
    assert mel_cfg == MelConfig.preset("hifigan") and cfg == H.Config.from_official(h)
    assert not g.training
    mel = torch.randn(2, 80, 6)
    with torch.no_grad():
        expected = ref(mel)
        got = g(mel)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        g.remove_weight_norm()
        assert not any("parametrizations" in k for k in g.state_dict())
        torch.testing.assert_close(g(mel), expected, rtol=1e-5, atol=1e-6)
        # a file saved after remove_weight_norm (plain weight keys) loads too
        g2, _, _ = H.load_official_generator({"generator": g.state_dict()}, h, remove_weight_norm=True)
        torch.testing.assert_close(g2(mel), expected, rtol=1e-5, atol=1e-6)
        # DDP's module. prefix is dropped
        g3, _, _ = H.load_official_generator({"generator": {"module." + k: v for k, v in sd.items()}}, h)
        torch.testing.assert_close(g3(mel), expected, rtol=1e-5, atol=1e-6)


def test_load_official_checkpoint_mismatches(tmp_path):
    h = SMALL[0]
    sd = to_official_keys(H.Generator(H.Config.from_official(h)).state_dict())
    broken = {k: v for k, v in sd.items() if k != "conv_post.bias"}
    with pytest.raises(ConfigError, match=r"missing keys conv_post\.bias"):
        H.load_official_generator({"generator": broken}, h)
    with pytest.raises(ConfigError, match="unexpected keys extra.weight_g"):
        H.load_official_generator({"generator": {**sd, "extra.weight_g": torch.zeros(1)}}, h)
    with pytest.raises(ConfigError, match="no generator state dict"):
        H.load_official_generator({"mpd": {}, "msd": {}, "steps": 3}, h)
    with pytest.raises(ConfigError, match="No HiFi-GAN generator checkpoint"):
        H.load_official_generator(tmp_path / "g_missing", h)

    v1 = to_official_keys(H.Generator(H.Config.v1()).state_dict())
    assert {k.rsplit(".", 1)[-1] for k in v1} == {"weight_g", "weight_v", "bias"}
    torch.save({"generator": v1}, tmp_path / "g_v1")
    (tmp_path / "config_v2.json").write_text(json.dumps(OFFICIAL_V2))
    with pytest.raises(ConfigError) as err:
        H.load_official_generator(tmp_path / "g_v1", tmp_path / "config_v2.json")
    message = str(err.value)
    assert "(V2: " in message and "upsample_initial_channel=128" in message
    assert "conv_pre.weight_v: checkpoint (512, 80, 7) vs config (128, 80, 7)" in message
    assert "looks like V1" in message
    _, cfg, _ = H.load_official_generator(tmp_path / "g_v1", OFFICIAL_V1)
    assert cfg.variant == "V1"


# --------------------------------------------------------------------------- discriminators


def test_mpd_reflect_pads_and_folds():
    T = 997  # prime: every period needs padding
    x = torch.randn(2, 1, T)
    for p in H.MPD_PERIODS:
        d = H.DiscriminatorP(p)
        folded = d.to_2d(x)
        assert folded.shape == (2, 1, math.ceil(T / p), p)
        flat = folded.reshape(2, 1, -1)  # (B, 1, padded T)
        assert torch.equal(flat[..., :T], x)
        n_pad = -T % p
        assert flat.shape[-1] == T + n_pad and n_pad > 0
        assert torch.equal(flat[..., T:], x[..., T - 2 - torch.arange(n_pad)])  # reflection, edge excluded
        assert torch.equal(folded[0, 0, :, 1], flat[0, 0, 1::p])  # column j = samples j, j+p, …


def test_mpd_fold_exact_multiple_has_no_padding():
    x = torch.randn(1, 1, 1001)  # 7 · 11 · 13
    for p in (7, 11):
        assert H.DiscriminatorP(p).to_2d(x).shape == (1, 1, 1001 // p, p)
    with pytest.raises(ShapeError):
        H.DiscriminatorP(11).to_2d(torch.randn(1, 1, 5))


def test_discriminators_structure_and_outputs():
    torch.manual_seed(0)
    d = H.Discriminator()
    assert [m.period for m in d.mpd.discriminators] == [2, 3, 5, 7, 11]
    assert len(d.msd.discriminators) == 3 and len(d.msd.meanpools) == 2
    keys = set(d.state_dict())
    assert "mpd.discriminators.0.convs.0.parametrizations.weight.original0" in keys
    assert "msd.discriminators.0.convs.0.parametrizations.weight.original" in keys  # spectral norm
    assert "msd.discriminators.1.convs.0.parametrizations.weight.original1" in keys  # weight norm
    assert [tuple(c.weight.shape[:2]) for c in d.mpd.discriminators[0].convs] == [
        (32, 1), (128, 32), (512, 128), (1024, 512), (1024, 1024)]
    x = torch.randn(2, 1, 2048)
    with torch.no_grad():
        scores_p, fmaps_p = d.mpd(x)
        scores_s, fmaps_s = d.msd(x)
        scores, fmaps = d(x)
    assert len(scores_p) == 5 and [len(f) for f in fmaps_p] == [6] * 5
    assert len(scores_s) == 3 and [len(f) for f in fmaps_s] == [8] * 3
    assert len(scores) == 8 and [len(f) for f in fmaps] == [6] * 5 + [8] * 3
    assert all(s.ndim == 2 and s.shape[0] == 2 for s in scores)
    assert fmaps_p[0][0].shape[-1] == 2 and fmaps_p[4][0].shape[-1] == 11  # 2-D maps keep p columns
    assert [f[0].shape[-1] for f in fmaps_s] == [2048, 1025, 513]  # AvgPool1d(4, 2, padding=2)
    # parameters come in the official optim_d order: chain(msd, mpd)
    first = next(d.parameters())
    assert first is next(d.msd.parameters())
    with pytest.raises(ShapeError):
        d.mpd(torch.randn(2, 2048))


# --------------------------------------------------------------------------- losses


def test_losses_known_values():
    real = [torch.tensor([1.0, 0.0]), torch.tensor([[0.5]])]
    fake = [torch.tensor([0.0, 2.0]), torch.tensor([[-1.0]])]
    # D: [(0 + 1)/2 + (0 + 4)/2] + [0.25 + 1] = 2.5 + 1.25
    assert H.discriminator_loss(real, fake).item() == pytest.approx(3.75)
    # G: [((1 - 0)² + (1 - 2)²)/2] + [(1 - (-1))²] = 1 + 4
    assert H.generator_adversarial_loss(fake).item() == pytest.approx(5.0)
    fm_r = [[torch.zeros(2, 3), torch.ones(4)], [torch.full((5,), 2.0)]]
    fm_g = [[torch.ones(2, 3), torch.ones(4)], [torch.zeros(5)]]
    assert H.feature_matching_loss(fm_r, fm_g).item() == pytest.approx(1 + 0 + 2)
    y = 0.1 * torch.randn(2, 1, 2048)
    cfg = MelConfig.preset("hifigan_loss")
    assert H.mel_l1(y, mel_spectrogram(y.squeeze(1), cfg), cfg).item() == 0
    assert H.mel_l1(y, mel_spectrogram(y.squeeze(1), cfg) + 0.5, cfg).item() == pytest.approx(0.5)


def tiny_config(**changes):
    return H.Config(**{**dict(resblock="2", upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
                              upsample_initial_channel=32, resblock_kernel_sizes=[3],
                              resblock_dilation_sizes=[[1, 2]], segment_size=2048, batch_size=2), **changes})


def test_train_step_updates_both_networks():
    torch.manual_seed(0)
    cfg = tiny_config()
    modules = H.build(cfg)
    optimizers, schedulers = H.make_optimizers(modules, cfg)
    opt = optimizers["generator"]
    assert opt.param_groups[0]["lr"] == 2e-4 and opt.param_groups[0]["betas"] == (0.8, 0.99)
    assert isinstance(opt, torch.optim.AdamW) and schedulers["discriminator"].gamma == 0.999
    y = 0.5 * torch.sin(torch.arange(2 * 2048) * 0.07).reshape(2, 1, 2048) + 0.01 * torch.randn(2, 1, 2048)
    batch = {"audio": y, "mel": mel_spectrogram(y.squeeze(1), cfg.mel_config)}  # (2, 80, 8)
    before = {name: [p.detach().clone() for p in m.parameters()] for name, m in modules.items()}
    losses = H.train_step(modules, optimizers, batch, cfg)  # ≈ 2-5 s on 2 idle cores (the 70M-param D)
    assert set(losses) == {"d_loss", "g_loss", "mel_l1", "fm", "adv"}
    assert all(math.isfinite(v) and isinstance(v, float) for v in losses.values())
    assert losses["g_loss"] == pytest.approx(losses["adv"] + losses["fm"] + 45 * losses["mel_l1"], rel=1e-5)
    for name, m in modules.items():
        changed = [not torch.equal(a, b) for a, b in zip(before[name], m.parameters())]
        assert sum(changed) > 0.9 * len(changed), name
    bf16 = H.train_step(modules, optimizers, batch, cfg,
                        autocast=lambda: torch.autocast("cpu", dtype=torch.bfloat16))
    assert all(math.isfinite(v) for v in bf16.values())
    audio = H.validation_audio(modules["generator"], batch["mel"])
    assert audio.shape == (2, 1, 2048) and not audio.requires_grad
    with pytest.raises(ShapeError, match="frames × hop_length"):
        H.train_step(modules, optimizers, {"audio": y[..., :2000], "mel": batch["mel"]}, cfg)


# --------------------------------------------------------------------------- training details


def test_learning_rate_decays_every_official_epoch_of_steps():
    # The official ExponentialLR(0.999) steps once per epoch: 12,950 LJ Speech files / batch 16 = 809
    # steps. voclab steps a StepLR every optimizer step, so the rate depends on the step alone.
    cfg = tiny_config()
    assert cfg.lr_decay_steps == 809 == H.OFFICIAL_EPOCH_STEPS
    optimizers, schedulers = H.make_optimizers(H.build(cfg), cfg)
    rates = []
    for _ in range(2 * 809):
        rates.append(optimizers["generator"].param_groups[0]["lr"])
        optimizers["generator"].step()  # no gradients: only the schedule moves
        schedulers["generator"].step()
    assert rates[0] == rates[808] == 2e-4
    assert rates[809] == pytest.approx(2e-4 * 0.999) and rates[-1] == pytest.approx(2e-4 * 0.999)
    assert optimizers["generator"].param_groups[0]["lr"] == pytest.approx(2e-4 * 0.999**2)
    with pytest.raises(ConfigError, match="lr_decay_steps"):
        tiny_config(lr_decay_steps=0)


def test_mpd_periods_are_a_config_field():
    cfg = tiny_config(mpd_periods=[2, 3, 5, 7, 11, 17])
    discriminator = H.build(cfg)["discriminator"]
    assert [d.period for d in discriminator.mpd.discriminators] == [2, 3, 5, 7, 11, 17]
    with torch.no_grad():
        scores, fmaps = discriminator(torch.randn(1, 1, 2048))
    assert len(scores) == len(fmaps) == 6 + 3
    assert H.Config(**tiny_config(mpd_periods=[2, 3]).to_dict()).mpd_periods == [2, 3]  # JSON round trip
    assert H.Config().mpd_periods == [2, 3, 5, 7, 11]
    for bad in ([], [2, 2], [0, 3]):
        with pytest.raises(ConfigError, match="mpd_periods"):
            tiny_config(mpd_periods=bad)


def test_validation_scores_with_the_full_band_loss_mel():
    cfg = H.Config()
    assert H.validation_mel_config(cfg) == cfg.loss_mel_config == MelConfig.preset("hifigan_loss")
    assert H.validation_mel_config(cfg).fmax is None and cfg.mel_config.fmax == 8000


def bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_bf16_generator_writes_a_float32_waveform():
    torch.manual_seed(0)
    generator = H.Generator(tiny_config())
    mel = mel_spectrogram(0.3 * torch.randn(1, 8 * 256), MelConfig())  # (1, 80, 8): 2048 samples
    with torch.no_grad(), bf16_autocast():
        audio = generator(mel)
    assert audio.dtype == torch.float32
    # bf16 has 8 bits of mantissa: a bf16 tanh gave 44 distinct values in 2048 samples
    assert torch.unique(audio).numel() > 1500


def test_generator_step_computes_no_discriminator_gradients():
    # The G step passes gradients *through* D to ŷ; D's own weight gradients would only be
    # thrown away (and all-reduced under DDP). After train_step, D's .grad holds exactly the D step's.
    torch.manual_seed(0)
    cfg = tiny_config(mpd_periods=[2])
    modules = H.build(cfg)
    optimizers, _ = H.make_optimizers(modules, cfg)
    after_d_step = {}
    d_step = optimizers["discriminator"].step

    def record_then_step(*args, **kwargs):
        after_d_step.update({n: p.grad.clone() for n, p in modules["discriminator"].named_parameters()})
        return d_step(*args, **kwargs)

    optimizers["discriminator"].step = record_then_step
    y = 0.3 * torch.randn(2, 1, 2048)
    H.train_step(modules, optimizers, {"audio": y, "mel": mel_spectrogram(y.squeeze(1), cfg.mel_config)}, cfg)
    for name, p in modules["discriminator"].named_parameters():
        assert p.requires_grad, f"{name} left frozen"
        assert torch.equal(p.grad, after_d_step[name]), f"the generator step added gradients to {name}"
    assert all(p.grad is not None for p in modules["generator"].parameters())


# --------------------------------------------------------------------------- official training state


class OfficialDiscriminators(nn.Module):
    """The official MPD and MSD with the *old* torch.nn.utils hooks (keys weight_g/v, weight_orig/u/v).

    Written here from the architecture (paper and config facts), with the layer names of the
    official models.py, as an oracle for the do_ file's key layout.
    """

    def __init__(self, periods=(2, 3, 5, 7, 11)):
        super().__init__()
        wn, sn = torch.nn.utils.weight_norm, torch.nn.utils.spectral_norm

        def period_d(period):
            d = nn.Module()
            chans = [1, 32, 128, 512, 1024]
            d.convs = nn.ModuleList([wn(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0)))
                                     for a, b in zip(chans, chans[1:])] + [wn(nn.Conv2d(1024, 1024, (5, 1), padding=(2, 0)))])
            d.conv_post = wn(nn.Conv2d(1024, 1, (3, 1), padding=(1, 0)))
            d.period = period
            return d

        def scale_d(norm):
            d = nn.Module()
            layers = [(1, 128, 15, 1, 1, 7), (128, 128, 41, 2, 4, 20), (128, 256, 41, 2, 16, 20),
                      (256, 512, 41, 4, 16, 20), (512, 1024, 41, 4, 16, 20), (1024, 1024, 41, 1, 16, 20),
                      (1024, 1024, 5, 1, 1, 2)]
            d.convs = nn.ModuleList(norm(nn.Conv1d(a, b, k, s, groups=g, padding=p)) for a, b, k, s, g, p in layers)
            d.conv_post = norm(nn.Conv1d(1024, 1, 3, 1, padding=1))
            return d

        self.mpd = nn.Module()
        self.mpd.discriminators = nn.ModuleList(period_d(p) for p in periods)
        self.msd = nn.Module()
        self.msd.discriminators = nn.ModuleList([scale_d(sn), scale_d(wn), scale_d(wn)])
        self.msd.meanpools = nn.ModuleList([nn.AvgPool1d(4, 2, padding=2), nn.AvgPool1d(4, 2, padding=2)])

    def forward(self, x):  # the scores, MPD then MSD
        scores = []
        for d in self.mpd.discriminators:
            t = x.shape[-1]
            h = F.pad(x, (0, -t % d.period), "reflect").view(x.shape[0], 1, -1, d.period)
            for conv in d.convs:
                h = F.leaky_relu(conv(h), 0.1)
            scores.append(torch.flatten(d.conv_post(h), 1))
        h = x
        for i, d in enumerate(self.msd.discriminators):
            h = self.msd.meanpools[i - 1](h) if i else h
            g = h
            for conv in d.convs:
                g = F.leaky_relu(conv(g), 0.1)
            scores.append(torch.flatten(d.conv_post(g), 1))
        return scores


@pytest.mark.filterwarnings("ignore:.*is deprecated:FutureWarning")
def test_discriminator_keys_convert_both_ways_with_the_official_layout():
    torch.manual_seed(0)
    ours = H.Discriminator().eval()
    official_d = OfficialDiscriminators().eval()
    # voclab -> official: the exact key set of the old hooks (spectral norm's weight_orig/u/v included)
    for name in ("mpd", "msd"):
        converted = H.voclab_to_official_keys(getattr(ours, name).state_dict())
        expected = getattr(official_d, name).state_dict()
        assert converted.keys() == expected.keys(), name
        assert all(converted[k].shape == expected[k].shape for k in expected), name
        getattr(official_d, name).load_state_dict(converted)
    assert {"discriminators.0.convs.0.weight_orig", "discriminators.0.convs.0.weight_u",
            "discriminators.1.convs.0.weight_g"} <= set(official_d.msd.state_dict())
    x = 0.3 * torch.randn(2, 1, 3000)
    with torch.no_grad():
        ours_scores, _ = ours(x)
        for a, b in zip(ours_scores, official_d(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # official -> voclab, from an official model's own (re-initialised) weights
    torch.manual_seed(1)
    official_d = OfficialDiscriminators().eval()
    fresh = H.Discriminator().eval()
    fresh.load_state_dict({f"{n}.{k}": v for n in ("mpd", "msd")
                           for k, v in H.official_to_voclab_keys(getattr(official_d, n).state_dict()).items()})
    with torch.no_grad():
        ours_scores, _ = fresh(x)
        for a, b in zip(ours_scores, official_d(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def official_pair(tmp_path_factory):
    """An official g_/do_ pair written from voclab's own networks after 3 steps (tiny generator, MPD period 2)."""
    torch.manual_seed(0)
    cfg = tiny_config(mpd_periods=[2], batch_size=1)
    modules = H.build(cfg)
    optimizers, _ = H.make_optimizers(modules, cfg)
    y = 0.3 * torch.randn(1, 1, 2048)
    for _ in range(3):
        H.train_step(modules, optimizers, {"audio": y, "mel": mel_spectrogram(y.squeeze(1), cfg.mel_config)}, cfg)
    folder = tmp_path_factory.mktemp("official")
    files = H.save_official_checkpoint(modules, optimizers, step=5001, epoch=6, folder=folder)
    return cfg, modules, optimizers, files


def test_save_official_checkpoint_writes_the_official_names(official_pair):
    _, _, _, (g_path, do_path) = official_pair
    assert (g_path.name, do_path.name) == ("g_00005000", "do_00005000")  # the official counter: steps − 1
    g, do = torch.load(g_path, weights_only=True), torch.load(do_path, weights_only=True)
    assert set(g) == {"generator"} and set(do) == {"mpd", "msd", "optim_g", "optim_d", "steps", "epoch"}
    assert (do["steps"], do["epoch"]) == (5000, 6)
    assert "conv_pre.weight_g" in g["generator"] and "discriminators.0.convs.0.weight_orig" in do["msd"]


def test_official_pair_loads_exactly_and_continues_at_the_official_step(official_pair):
    cfg, modules, optimizers, (g_path, do_path) = official_pair
    fresh = H.build(cfg)
    fresh_optimizers, _ = H.make_optimizers(fresh, cfg)
    step, epoch = H.load_official_training_state(fresh, fresh_optimizers, cfg, g_path, do_path)
    assert (step, epoch) == (5001, 6)
    for name in modules:
        theirs, mine = modules[name].state_dict(), fresh[name].state_dict()
        assert theirs.keys() == mine.keys()
        assert all(torch.equal(theirs[k], mine[k]) for k in theirs), name
        a, b = optimizers[name].state_dict(), fresh_optimizers[name].state_dict()
        assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"]
        for index, slot in a["state"].items():
            for key in ("exp_avg", "exp_avg_sq"):
                assert torch.equal(slot[key], b["state"][index][key]), (name, index, key)
    # the generator file alone: weights only, a fresh start
    g_only = H.build(cfg)
    assert H.load_official_training_state(g_only, H.make_optimizers(g_only, cfg)[0], cfg, g_path) == (0, 0)
    # another architecture is refused, naming what differs
    wider = tiny_config(mpd_periods=[2, 3], batch_size=1)
    other = H.build(wider)
    with pytest.raises(ConfigError, match=r"mpd_periods=\[2, 3\].*missing keys mpd\.discriminators\.1"):
        H.load_official_training_state(other, H.make_optimizers(other, wider)[0], wider, g_path, do_path)
    with pytest.raises(ConfigError, match="do_XXXXXXXX"):
        H.load_official_training_state(fresh, fresh_optimizers, cfg, do_path)  # the files swapped


def test_unreadable_official_files_are_voclab_errors(tmp_path):
    from voclab.errors import CheckpointError

    bad = tmp_path / "g_00000001"
    bad.write_bytes(b"not a torch file at all")
    cfg = tiny_config()
    with pytest.raises(CheckpointError, match="not a readable generator checkpoint"):
        H.load_official_generator(bad, {**official(), "upsample_initial_channel": 32})
    modules = H.build(cfg)
    with pytest.raises(CheckpointError, match="not a readable"):
        H.load_official_training_state(modules, H.make_optimizers(modules, cfg)[0], cfg, bad)


def _official_files(tmp_path):
    """A small official-layout generator file and its config.json."""
    h = SMALL[0]
    torch.save({"generator": to_official_keys(H.Generator(H.Config.from_official(h)).state_dict())},
               tmp_path / "g_00000001")
    (tmp_path / "config.json").write_text(json.dumps(h))
    return tmp_path / "g_00000001", tmp_path / "config.json", h


@pytest.mark.parametrize("damage", ["truncated", "random", "empty", "html"])
def test_corrupt_official_generator_files_say_to_download_again(tmp_path, damage):
    from voclab.errors import CheckpointError

    g_path, config, _ = _official_files(tmp_path)
    good = g_path.read_bytes()
    bad = tmp_path / "g_02500000"
    bad.write_bytes({"truncated": good[: len(good) // 2], "random": bytes(range(256)) * 20, "empty": b"",
                     "html": b"<!DOCTYPE html><html>Google Drive can't scan this file</html>"}[damage])
    with pytest.raises(CheckpointError) as info:
        H.load_official_generator(bad, config)
    message = str(info.value)
    assert str(bad) in message and "Download it again" in message and "g_XXXXXXXX" in message
    assert "weights_only" not in message  # never torch's advice to unpickle an untrusted file


@pytest.mark.parametrize("text, expected", [
    ("{\"resblock\": \"1\",", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "JSON list"),
    ("missing", r"lacks \['upsample_rates'\]"),
    ("rates", r"upsample_rates='8,8,4' \(expected a list of int\)"),
    ("channels", r"upsample_initial_channel='32' \(expected int\)"),
    ("dilations", r"resblock_dilation_sizes=3 \(expected a list of lists of int\)"),
    ("rate", r"sampling_rate=True \(expected int\)"),
], ids=["truncated", "empty", "list", "missing", "rates", "channels", "dilations", "bool"])
def test_bad_official_config_json_is_a_config_error_naming_the_file(tmp_path, text, expected):
    g_path, _, h = _official_files(tmp_path)
    changed = {"missing": {k: v for k, v in h.items() if k != "upsample_rates"},
               "rates": {**h, "upsample_rates": "8,8,4"}, "channels": {**h, "upsample_initial_channel": "32"},
               "dilations": {**h, "resblock_dilation_sizes": 3}, "rate": {**h, "sampling_rate": True}}
    bad = tmp_path / "bad_config.json"
    bad.write_text(json.dumps(changed[text]) if text in changed else text)
    with pytest.raises(ConfigError, match=expected) as info:
        H.load_official_generator(g_path, bad)
    assert str(bad) in str(info.value) and "config_v1.json" in str(info.value)


def test_a_voclab_checkpoint_given_to_load_official_generator_says_what_it_is(tmp_path):
    from voclab.checkpoint import FORMAT
    from voclab.errors import CheckpointError

    g_path, config, h = _official_files(tmp_path)
    generator = H.Generator(H.Config.from_official(h))
    torch.save({"format": FORMAT, "model": "hifigan", "modules": {"generator": generator.state_dict()}},
               tmp_path / "best.pt")
    with pytest.raises(CheckpointError) as info:
        H.load_official_generator(tmp_path / "best.pt", config)
    message = str(info.value)
    assert "is a voclab checkpoint" in message and "load_checkpoint" in message and "voclab vocode" in message


@pytest.mark.parametrize("variant", ["v1", "v3"])
def test_receptive_field_frames_is_what_the_gradients_reach(variant):
    # the frames whose gradient reaches the audio of the middle frame, as notebook 02 measures fields
    cfg = getattr(H.Config, variant)(upsample_initial_channel=16)
    torch.manual_seed(0)
    generator = H.Generator(cfg)
    frames, t = 40, 20
    mel = torch.randn(1, 80, frames, requires_grad=True)
    audio = generator(mel)
    audio[0, 0, t * 256:(t + 1) * 256].abs().sum().backward()
    reached = torch.nonzero(mel.grad[0].abs().sum(0)).flatten()
    assert H.receptive_field_frames(cfg) == max(t - int(reached[0]), int(reached[-1]) - t) == \
        {"v1": 13, "v3": 11}[variant]
