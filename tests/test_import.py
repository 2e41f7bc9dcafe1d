"""Vocoder files users already have: official MelGAN netG.pt and HiFi-GAN g_XXXXXXXX, read by
voclab vocode directly and converted by voclab import; and the warning for a recording sampled
below the vocoder's rate."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn
from torch.nn.utils import weight_norm as old_weight_norm

from voclab import cli
from voclab.checkpoint import (
    import_official,
    load_checkpoint,
    official_layout,
    read_official,
)
from voclab.errors import CheckpointError, ConfigError
from voclab.models import hifigan as H
from voclab.models import melgan
from voclab.vocode import BandwidthWarning, vocode

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*is deprecated:FutureWarning")


# --------------------------------------------------------------------------- the official MelGAN layout


class OfficialResnetBlock(nn.Module):
    """descriptinc/melgan-neurips' ResnetBlock, with the old weight-norm hooks (weight_g / weight_v)."""

    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(0.2), nn.ReflectionPad1d(dilation),
            old_weight_norm(nn.Conv1d(dim, dim, kernel_size=3, dilation=dilation)),
            nn.LeakyReLU(0.2), old_weight_norm(nn.Conv1d(dim, dim, kernel_size=1)),
        )
        self.shortcut = old_weight_norm(nn.Conv1d(dim, dim, kernel_size=1))

    def forward(self, x):
        return self.shortcut(x) + self.block(x)


def official_melgan(n_mels: int = 80, ngf: int = 32, n_residual_layers: int = 3, ratios=(8, 8, 2, 2)) -> nn.Module:
    """The official Generator's nn.Sequential ``model``, layer for layer, with random weights and gains."""
    mult = 2 ** len(ratios)
    layers = [nn.ReflectionPad1d(3), old_weight_norm(nn.Conv1d(n_mels, mult * ngf, kernel_size=7))]
    for r in ratios:
        layers += [nn.LeakyReLU(0.2), old_weight_norm(nn.ConvTranspose1d(
            mult * ngf, mult * ngf // 2, kernel_size=2 * r, stride=r, padding=r // 2 + r % 2, output_padding=r % 2))]
        layers += [OfficialResnetBlock(mult * ngf // 2, 3 ** j) for j in range(n_residual_layers)]
        mult //= 2
    layers += [nn.LeakyReLU(0.2), nn.ReflectionPad1d(3), old_weight_norm(nn.Conv1d(ngf, 1, kernel_size=7)), nn.Tanh()]
    net = nn.Module()
    net.model = nn.Sequential(*layers)
    net.forward = net.model.forward
    with torch.no_grad():  # gains unlike ‖v‖, so a g/v mix-up cannot pass
        for name, p in net.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(torch.empty_like(p).uniform_(0.5, 1.5))
    return net.eval()


@pytest.fixture(scope="module")
def netg(tmp_path_factory):
    """An official-layout netG.pt (the paper's melgan config) and the module that wrote it."""
    torch.manual_seed(0)
    official = official_melgan()
    path = tmp_path_factory.mktemp("melgan") / "netG.pt"
    torch.save(official.state_dict(), path)  # scripts/train.py: torch.save(netG.state_dict(), root / "netG.pt")
    return path, official


def test_official_melgan_loads_every_key_and_plays_the_same(netg):
    path, official = netg
    sd = torch.load(path, weights_only=True)
    assert {k.rsplit(".", 1)[1] for k in sd} == {"weight_g", "weight_v", "bias"}
    assert official_layout(sd) == "melgan"
    assert melgan.config_from_official(sd) == melgan.Config()  # ngf 32, ratios 8·8·2·2, 3 residual layers
    kept = melgan.load_official_generator(path, remove_weight_norm=False)
    renamed = melgan.official_to_voclab_keys(sd)
    assert set(kept.state_dict()) == set(renamed)  # every key of the file used, every weight set
    for key, value in kept.state_dict().items():
        assert torch.equal(value, renamed[key]), key
    generator = melgan.load_official_generator(path)
    assert not generator.training and not any("parametrizations" in k for k in generator.state_dict())
    mel = torch.randn(2, 80, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = official(mel)
        for ours in (generator, kept):
            assert ours(mel).shape == expected.shape == (2, 1, 12 * 256)
            assert (ours(mel) - expected).abs().max().item() <= 1e-5


def test_official_melgan_files_that_do_not_fit_are_named(netg, tmp_path):
    path, _ = netg
    sd = torch.load(path, weights_only=True)
    broken = {k: v for k, v in sd.items() if k != "model.4.shortcut.bias"}
    with pytest.raises(CheckpointError, match=r"missing \['model\.4\.shortcut\.bias'\]"):
        melgan.load_official_generator(broken)
    with pytest.raises(CheckpointError, match="official HiFi-GAN g_XXXXXXXX"):
        melgan.load_official_generator({"generator": sd})
    with pytest.raises(CheckpointError, match="No MelGAN generator file"):
        melgan.load_official_generator(tmp_path / "netG_missing.pt")
    torch.manual_seed(0)
    small = official_melgan(ngf=4, n_residual_layers=2).state_dict()
    assert melgan.config_from_official(small) == melgan.Config(ngf=4, n_residual_layers=2)
    with pytest.raises(CheckpointError, match="takes 64 mel bands"):
        melgan.config_from_official(official_melgan(n_mels=64, ngf=4, n_residual_layers=1).state_dict())


def speech_like(path, sr: int, seconds: float = 0.3):
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32), sr)
    return path


def test_vocode_reads_netg_directly_and_after_voclab_import(netg, tmp_path, capsys):
    path, _ = netg
    wav = speech_like(tmp_path / "clip.wav", 22050)
    assert cli.main(["vocode", str(path), str(wav), "-o", str(tmp_path / "direct")]) == 0
    err = capsys.readouterr().err
    assert "note: netG.pt carries no mel settings: voclab's 'melgan' MelConfig is attached" in err
    assert cli.main(["import", str(path), "-o", str(tmp_path / "melgan.pt")]) == 0
    out = capsys.readouterr().out
    assert "note: netG.pt carries no mel settings" in out and "official melgan generator" in out
    ckpt = load_checkpoint(tmp_path / "melgan.pt")
    assert (ckpt.model, ckpt.cfg, ckpt.mel.log) == ("melgan", melgan.Config(), "log10")
    assert ckpt.state["slim"] and ckpt.state["imported"]["from"] == "netG.pt"
    assert cli.main(["vocode", str(tmp_path / "melgan.pt"), str(wav), "-o", str(tmp_path / "imported")]) == 0
    direct, sr = sf.read(tmp_path / "direct" / "clip.wav")
    imported, _ = sf.read(tmp_path / "imported" / "clip.wav")
    assert sr == 22050 and len(direct) == int(22050 * 0.3) and np.abs(direct).max() > 0
    np.testing.assert_array_equal(direct, imported)
    assert cli.main(["import", str(path), "--config", str(path), "-o", str(tmp_path / "x.pt")]) == 2
    assert "takes no --config" in capsys.readouterr().err


# --------------------------------------------------------------------------- official HiFi-GAN


TINY_OFFICIAL_HIFIGAN = {
    "resblock": "2", "num_gpus": 0, "batch_size": 16, "learning_rate": 0.0002, "adam_b1": 0.8, "adam_b2": 0.99,
    "lr_decay": 0.999, "seed": 1234, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
    "upsample_initial_channel": 32, "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 2]],
    "segment_size": 8192, "num_mels": 80, "num_freq": 1025, "n_fft": 1024, "hop_size": 256, "win_size": 1024,
    "sampling_rate": 22050, "fmin": 0, "fmax": 8000, "fmax_for_loss": None, "num_workers": 4,
    "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1},
}


@pytest.fixture(scope="module")
def g_file(tmp_path_factory):
    """A tiny official g_00000009 written as jik876/hifi-gan's train.py writes it, with its config.json."""
    torch.manual_seed(0)
    cfg = H.Config.from_official(TINY_OFFICIAL_HIFIGAN)
    modules = H.build(cfg)
    optimizers, _ = H.make_optimizers(modules, cfg)
    folder = tmp_path_factory.mktemp("hifigan")
    g_path, _ = H.save_official_checkpoint(modules, optimizers, step=10, epoch=0, folder=folder)
    (folder / "config.json").write_text(json.dumps(TINY_OFFICIAL_HIFIGAN))
    return g_path, modules["generator"]


def test_vocode_reads_an_official_g_file_with_its_config_beside_it(g_file, tmp_path, capsys):
    g_path, generator = g_file
    assert g_path.name == "g_00000009" and official_layout(torch.load(g_path, weights_only=True)) == "hifigan"
    wav = speech_like(tmp_path / "clip.wav", 22050)
    assert cli.main(["vocode", str(g_path), str(wav), "-o", str(tmp_path / "direct")]) == 0
    assert "note:" not in capsys.readouterr().err  # its config.json gave the mel settings: nothing assumed
    ckpt = load_checkpoint(g_path)
    assert (ckpt.model, ckpt.step, ckpt.cfg) == ("hifigan", 10, H.Config.from_official(TINY_OFFICIAL_HIFIGAN))
    mel = torch.randn(1, 80, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.generator(mel), generator.eval()(mel), rtol=0, atol=1e-6)

    # voclab import, the config.json given from elsewhere; then vocode the result
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / g_path.name).write_bytes(g_path.read_bytes())
    (tmp_path / "v_tiny.json").write_text(json.dumps(TINY_OFFICIAL_HIFIGAN))
    assert cli.main(["import", str(lone / g_path.name), "--config", str(tmp_path / "v_tiny.json"),
                     "-o", str(tmp_path / "hifigan.pt")]) == 0
    assert "official hifigan generator" in capsys.readouterr().out
    assert cli.main(["vocode", str(tmp_path / "hifigan.pt"), str(wav), "-o", str(tmp_path / "imported")]) == 0
    np.testing.assert_array_equal(sf.read(tmp_path / "direct" / "clip.wav")[0],
                                  sf.read(tmp_path / "imported" / "clip.wav")[0])
    assert import_official(lone / g_path.name, tmp_path / "again.pt", config=tmp_path / "v_tiny.json").is_file()

    # without a config.json beside it: say what to do instead of failing
    assert cli.main(["vocode", str(lone / g_path.name), str(wav), "-o", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "put the run's config.json beside it" in err and "voclab import" in err
    with pytest.raises(CheckpointError, match="config.json"):
        read_official(lone / g_path.name)
    with pytest.raises(ConfigError, match="No HiFi-GAN config.json"):
        read_official(lone / g_path.name, config=tmp_path / "missing.json")


def test_a_file_of_neither_layout_keeps_its_error(tmp_path):
    torch.save({"something": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a voclab checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="neither an official HiFi-GAN generator"):
        read_official(tmp_path / "other.pt")


# --------------------------------------------------------------------------- bandwidth


def test_a_recording_below_the_vocoder_rate_warns_that_the_top_band_is_invented(g_file, tmp_path):
    g_path, _ = g_file
    low = speech_like(tmp_path / "low.wav", 16000)
    with pytest.warns(BandwidthWarning, match=r"16000 Hz, below the checkpoint's 22050 Hz.*invent the band "
                                              r"8000-11025 Hz"):
        (written,) = vocode(g_path, low, tmp_path / "out")
    y, sr = sf.read(written)
    assert sr == 22050 and len(y) == int(22050 * 0.3)
    full = speech_like(tmp_path / "full.wav", 22050)
    high = speech_like(tmp_path / "high.wav", 44100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BandwidthWarning)
        vocode(g_path, [full, high], tmp_path / "out")
