"""voclab.checkpoint.save_generator: a notebook's generator becomes a checkpoint the shoot-out finds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from voclab.checkpoint import load_checkpoint, save_generator
from voclab.errors import CheckpointError
from voclab.models import hifigan, melgan
from voclab.shootout import find_runs


def small_v2():
    return hifigan.Config.v2(upsample_initial_channel=16, segment_size=2048)


def test_voclab_names_load_by_name_and_vocode_the_same(tmp_path):
    torch.manual_seed(0)
    generator = hifigan.Generator(small_v2())
    mel = torch.randn(1, 80, 6)
    path = save_generator(generator, "hifigan", small_v2(), tmp_path / "nb07" / "checkpoints" / "best.pt", step=40)
    checkpoint = load_checkpoint(path)
    assert checkpoint.step == 40 and checkpoint.model == "hifigan" and checkpoint.mel == small_v2().mel_config
    with torch.no_grad():
        assert torch.allclose(checkpoint.generator(mel), generator.eval()(mel), atol=1e-5)
    assert [s.label for s in find_runs(tmp_path)] == ["your run nb07 (hifigan) · 40 steps"]


def test_other_names_are_paired_by_use(tmp_path):
    """A learner's MelGAN built as a bare nn.Sequential (notebook 06) has other state-dict keys."""
    cfg = melgan.Config(ngf=8)
    torch.manual_seed(1)
    voclab_layout = melgan.build(cfg)["generator"]
    learner = nn.Sequential(*voclab_layout.model)          # keys "0.…" instead of "model.0.…"
    mel = torch.randn(1, 80, 5)
    path = save_generator(learner, "melgan", cfg, tmp_path / "g.pt", step=3, example_mel=mel)
    with torch.no_grad():
        assert torch.allclose(load_checkpoint(path).generator(mel), learner(mel), atol=1e-5)
    with pytest.raises(CheckpointError, match="example_mel"):
        save_generator(learner, "melgan", cfg, tmp_path / "h.pt", step=3)


def test_a_generator_of_another_size_is_refused_not_written(tmp_path):
    generator = hifigan.Generator(small_v2())
    bigger = hifigan.Config.v2(upsample_initial_channel=32, segment_size=2048)
    with pytest.raises(CheckpointError):
        save_generator(generator, "hifigan", bigger, tmp_path / "x.pt", step=1, example_mel=torch.randn(1, 80, 4))
    assert not (tmp_path / "x.pt").exists()
