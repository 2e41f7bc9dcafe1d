"""A tiny vocoder that implements voclab's model protocol, for testing the training machinery.

A few convolutions upsample a mel by its hop; a two-layer discriminator; hinge loss plus
feature matching plus a mel L1. Small enough to train a few steps on a CPU in well
under a second, and it touches everything the real models do: weight norm (and its
removal for inference), two networks with their own optimizers and
step-based schedulers, an ``autocast`` factory, DDP-wrapped modules called twice before one
backward, and a random draw inside ``train_step`` (so resuming must restore the RNG).

Tests register it as a user registers a model of their own,
``voclab.models.register_model("toy", toy_vocoder)`` (voclab never imports a model by the name
a checkpoint gives); subprocesses do the same before they call ``voclab.cli.main``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from voclab.errors import ConfigError
from voclab.models import frozen
from voclab.spectral import MelConfig, mel_spectrogram


@dataclass
class Config:
    channels: int = 8
    segment_size: int = 2048
    batch_size: int = 2
    learning_rate: float = 2e-3
    lr_decay: float = 0.9
    lr_decay_steps: int = 2
    noise: float = 0.01
    lambda_mel: float = 1.0
    mel: Any = "hifigan"

    def __post_init__(self):
        if self.channels < 1 or self.batch_size < 1:
            raise ConfigError("toy Config: channels and batch_size must be positive.")

    @property
    def mel_config(self) -> MelConfig:
        if isinstance(self.mel, MelConfig):
            return self.mel
        return MelConfig.preset(self.mel) if isinstance(self.mel, str) else MelConfig.from_dict(self.mel)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Generator(nn.Module):
    def __init__(self, n_mels: int, channels: int, hop: int):
        super().__init__()
        self.pre = weight_norm(nn.Conv1d(n_mels, channels, 3, padding=1))
        self.up = nn.ConvTranspose1d(channels, channels, hop, stride=hop)
        self.post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))

    def forward(self, mel):  # (B, n_mels, frames) -> (B, 1, frames * hop)
        x = F.leaky_relu(self.pre(mel), 0.1)
        x = F.leaky_relu(self.up(x), 0.1)
        return torch.tanh(self.post(x))

    def remove_weight_norm(self):
        for layer in (self.pre, self.post):
            if parametrize.is_parametrized(layer, "weight"):
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)


class Discriminator(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Conv1d(1, channels, 15, stride=4, padding=7),
            nn.Conv1d(channels, 2 * channels, 15, stride=4, padding=7),
            nn.Conv1d(2 * channels, 1, 3, padding=1),
        ])

    def forward(self, audio):  # (B, 1, T) -> list of feature maps, the score last
        features, x = [], audio
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.leaky_relu(x, 0.2)
            features.append(x)
        return features


def build(cfg: Config) -> dict[str, nn.Module]:
    mel = cfg.mel_config
    return {"generator": Generator(mel.n_mels, cfg.channels, mel.hop_length),
            "discriminator": Discriminator(cfg.channels)}


def make_optimizers(modules, cfg: Config):
    optimizers = {name: torch.optim.AdamW(module.parameters(), lr=cfg.learning_rate, betas=(0.8, 0.99))
                  for name, module in modules.items()}
    schedulers = {name: torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_decay_steps, gamma=cfg.lr_decay)
                  for name, opt in optimizers.items()}
    return optimizers, schedulers


def train_step(modules, optimizers, batch, cfg: Config, *, autocast=contextlib.nullcontext):
    generator, discriminator = modules["generator"], modules["discriminator"]
    audio, mel = batch["audio"], batch["mel"]
    with autocast():
        fake = generator(mel)
        fake = fake + cfg.noise * torch.randn_like(fake)  # a random draw: resume must restore the RNG
    # D: two forwards (real, fake) before one backward, as MelGAN-style code does
    with autocast():
        real_features = discriminator(audio)
        fake_features = discriminator(fake.detach())
        loss_d = F.relu(1 - real_features[-1]).mean() + F.relu(1 + fake_features[-1]).mean()
    optimizers["discriminator"].zero_grad(set_to_none=True)
    loss_d.backward()
    optimizers["discriminator"].step()
    # G: hinge + feature matching + mel L1, through a frozen D (as the real models)
    with autocast(), frozen(discriminator):
        fake_features = discriminator(fake)
        loss_adv = -fake_features[-1].mean()
        loss_fm = sum(F.l1_loss(f, r.detach()) for f, r in zip(fake_features[:-1], real_features[:-1]))
    mel_fake = mel_spectrogram(fake.float().squeeze(1), cfg.mel_config)[..., : mel.shape[-1]]
    loss_mel = F.l1_loss(mel_fake, mel)
    loss_g = loss_adv + loss_fm + cfg.lambda_mel * loss_mel
    optimizers["generator"].zero_grad(set_to_none=True)
    loss_g.backward()
    optimizers["generator"].step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "mel_l1": loss_mel.item()}


def validation_audio(generator, mel):
    with torch.no_grad():
        return generator(mel)


def make_clips(folder: Path, n: int = 6, seconds: float = 0.3, sr: int = 22050, seed: int = 0) -> list[Path]:
    """n short harmonic clips with a little noise, clip0.wav ... (sorted order = creation order)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i in range(n):
        f0 = 110 + 40 * i
        y = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
        y = (y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
        paths.append(folder / f"clip{i}.wav")
        sf.write(paths[-1], y, sr)
    return paths
