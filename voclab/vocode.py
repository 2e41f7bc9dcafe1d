"""Turn mels (or recordings) into audio with a trained checkpoint: ``voclab vocode``.

The top complaint about neural vocoders is a mel made with other settings than the
vocoder was trained on: the result is noise, and nothing says why. So every mel that
comes with its settings is checked against the checkpoint's :class:`MelConfig` and
refused with the differing fields named; a mel of the wrong shape is refused with the
expected ``(n_mels, frames)``.

Inputs
------
``*.wav/.flac/.ogg/.aiff``
    A recording: resampled to the checkpoint's rate, its mel computed with the
    checkpoint's settings (analysis-synthesis: the output has the input's length).
``*.npz``
    Arrays ``mel`` ``(n_mels, frames)`` and ``mel_config`` (a JSON string of
    ``MelConfig.to_dict()``); :func:`save_mel` writes one.
``*.npy``
    A bare ``(n_mels, frames)`` array, with its settings in a sidecar ``<name>.json``
    (a ``MelConfig`` dict). Without a sidecar it is accepted when its band count fits,
    with a warning that its settings could not be checked.

A recording at a lower sample rate than the checkpoint's has nothing above half its rate;
the vocoder fills that band with what it learned, so :func:`vocode` warns
(:class:`BandwidthWarning`). Official generator files are vocoded too (an official HiFi-GAN
``g_XXXXXXXX`` with its ``config.json`` beside it, an official MelGAN ``netG.pt``; see
:func:`voclab.checkpoint.read_official`); what voclab had to assume about one is printed as a
note on stderr.

An unconditional model (WaveGAN) has no mel to start from: :func:`generate` (``voclab
generate``) samples it, and :func:`vocode` refuses it — as :func:`generate` refuses a vocoder —
with the command to use instead. A pitched note model (GANSynth) is sampled the same way, at
one pitch (``--pitch 60``) or at the pitches its seeds draw from the training histogram.

Notebook: 04_wavegan, 05_gansynth, 07_hifigan, 08_shootout.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .audio import FORMATS, load, resample, save
from .checkpoint import CHUNK_FRAMES, Checkpoint, check_chunk_frames, load_checkpoint
from .config import resolve_device
from .errors import AudioFileNotFoundError, CheckpointError, ConfigError, UnsupportedFormatError
from .melfiles import MEL_FORMATS, read_mel, save_mel
from .spectral import mel_spectrogram

# read_mel and save_mel live in voclab.melfiles; they are part of vocoding, so they are here too
__all__ = ["vocode", "generate", "read_mel", "save_mel", "prepare_for_inference", "check_output_folder",
           "SEEDS_FILE", "BandwidthWarning"]

#: What :func:`generate` writes beside the WAVs: the checkpoint, and the seed of every clip.
SEEDS_FILE = "seeds.json"


class BandwidthWarning(UserWarning):
    """A recording has a lower sample rate than the vocoder: the band above half its rate will be invented.

    Resampling 16 kHz speech to a 22.05 kHz vocoder's rate adds no content above 8 kHz; the
    vocoder, trained on full-band audio, fills the band between the recording's and its own
    Nyquist frequency with whatever its training suggests (the pretrained HiFi-GAN V1 was heard
    doing so). Low-pass the result at the recording's Nyquist frequency, or use a vocoder
    trained at the recording's rate.

    Notebook: 07_hifigan, 08_shootout.
    """


def prepare_for_inference(checkpoint: Checkpoint) -> Checkpoint:
    """Fold the generator's weight norm into plain weights (same output up to rounding, faster).

    The generator's own ``remove_weight_norm`` method is used when it has one, then its model
    module's function, else :func:`voclab.models.remove_weight_norm` (MelGAN's generator, an
    official ``netG.pt`` included, goes that way).

    Weight norm (``w = g · v / ‖v‖``) helps training; at inference time the product can
    be folded into plain weights once.

    Notebook: 07_hifigan.

    Parameters
    ----------
    checkpoint : Checkpoint

    Returns
    -------
    checkpoint : Checkpoint
        The same object, its generator changed in place.
    """
    from .models import remove_weight_norm  # any model: both weight-norm forms, spectral norm left alone

    generator = checkpoint.generator
    if callable(getattr(generator, "remove_weight_norm", None)):
        generator.remove_weight_norm()
    elif callable(getattr(checkpoint.module, "remove_weight_norm", None)):
        checkpoint.module.remove_weight_norm(generator)
    else:
        remove_weight_norm(generator)
    generator.eval()
    return checkpoint


def check_output_folder(out_dir: str | Path) -> Path:
    """Make sure WAVs can be written to ``out_dir``, before any work is done.

    An existing folder must take a new file (one is created and removed again); a folder
    that does not exist yet is not created here (an input refused later leaves nothing
    behind), but the nearest existing folder above it must be a folder that takes one.

    Notebook: 07_hifigan.

    Parameters
    ----------
    out_dir : str or Path

    Returns
    -------
    out_dir : Path

    Raises
    ------
    voclab.errors.ConfigError
        ``out_dir`` (or a folder above it) is a file, or cannot be written to.
    """
    out_dir = Path(out_dir)
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == out_dir else f" (so {out_dir} cannot be created)"
        raise ConfigError(f"The output folder {existing} is a file{where}: pass a folder with -o, e.g. "
                          f"-o {existing.with_suffix('')}_vocoded.")
    try:  # permissions, a read-only file system, a full disk: one empty file tells them all
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".voclab-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"Cannot write to {existing} ({err.strerror or err}): choose another output folder "
                          "with -o, or change its permissions.") from None
    return out_dir


def vocode(checkpoint: str | Path | Checkpoint, inputs, out_dir: str | Path, *, device: str = "cpu",
           chunk_frames: int | None = CHUNK_FRAMES) -> list[Path]:
    """Vocode recordings and mel files with a checkpoint; write ``OUT_DIR/<name>.wav``.

    The output folder and every input are checked before anything is loaded or generated,
    so a bad argument stops the command before it has done half the work. Long inputs are
    vocoded in chunks of ``chunk_frames`` mel frames (see :meth:`Checkpoint.vocode`): the
    memory stays bounded and the audio is that of one pass (max |difference| ≤ 6e-8).

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    checkpoint : str, Path or Checkpoint
        A checkpoint file (a slim one too), a run folder (latest checkpoint), ``RUN_DIR/best``,
        ``pretrained:NAME``, an official HiFi-GAN ``g_XXXXXXXX`` (with ``config.json`` beside
        it) or MelGAN ``netG.pt``, or a loaded one.
    inputs : str, Path, or sequence of str or Path
        Audio files and ``.npz``/``.npy`` mels (one path alone is one input). A recording
        sampled below the checkpoint's rate is vocoded with a :class:`BandwidthWarning`.
    out_dir : str or Path
    device : {"cpu", "cuda", "cuda:N", "mps"}
    chunk_frames : int or None
        Mel frames per pass of the generator (default 1024: 11.9 s at 22.05 kHz); ``None``:
        each input in one pass.

    Returns
    -------
    paths : list of Path
        The written WAV files, in input order.

    Raises
    ------
    voclab.errors.MelMismatchError, voclab.errors.ShapeError, voclab.errors.UnsupportedFormatError,
    voclab.errors.AudioFileNotFoundError, voclab.errors.CheckpointError, voclab.errors.ConfigError
    """
    device = resolve_device(device)  # 'tpu', 'cuda' without a GPU: one clear error before any work
    # one path is one input: iterating over a str would vocode its characters
    inputs = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
    if not inputs:
        raise AudioFileNotFoundError("Nothing to vocode: pass audio files or .npz/.npy mels.")
    check_chunk_frames(chunk_frames)
    out_dir = check_output_folder(out_dir)
    stems: dict[str, Path] = {}
    for path in inputs:
        if path.stem in stems:
            raise ConfigError(f"{stems[path.stem]} and {path} would both write {out_dir / (path.stem + '.wav')}; rename one.")
        stems[path.stem] = path
        if path.suffix.lower() not in FORMATS and path.suffix.lower() not in MEL_FORMATS:
            raise UnsupportedFormatError(
                f"{path.name}: vocode reads audio ({', '.join(sorted(FORMATS))}) or mels (.npz, .npy)."
            )
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, device=device)
    if ckpt.kind != "vocoder":
        what = "an unconditional" if ckpt.kind == "unconditional" else "a pitch-conditional (pitched)"
        made = "random latents" if ckpt.kind == "unconditional" else "random latents and a pitch"
        raise CheckpointError(
            f"{ckpt.path} is {what} {ckpt.model}: it makes audio from {made}, not from mel "
            f"spectrograms, so it cannot vocode. Sample it instead: voclab generate {ckpt.path} -n 16 -o OUT_DIR."
        )
    note = (ckpt.state.get("imported") or {}).get("note")
    if note:  # e.g. the mel settings voclab attached to an official MelGAN file that carries none
        print(f"voclab: note: {note}", file=sys.stderr)
    prepare_for_inference(ckpt)
    mel_cfg = ckpt.mel

    jobs = []  # (name, log_mel, length to trim/pad to or None)
    for path in inputs:
        if path.suffix.lower() in MEL_FORMATS:
            jobs.append((path.stem, read_mel(path, mel_cfg), None))
        else:
            y, sr_in = load(path)
            if sr_in < mel_cfg.sample_rate:
                warnings.warn(BandwidthWarning(
                    f"{path.name} is sampled at {sr_in} Hz, below the checkpoint's {mel_cfg.sample_rate} Hz: it holds "
                    f"nothing above {sr_in / 2:g} Hz, and the vocoder will invent the band {sr_in / 2:g}-"
                    f"{mel_cfg.sample_rate / 2:g} Hz. Low-pass the output at {sr_in / 2:g} Hz, or vocode with a "
                    f"model trained at {sr_in} Hz."), stacklevel=2)
            if sr_in != mel_cfg.sample_rate:
                y = resample(y, sr_in, mel_cfg.sample_rate)
            log_mel = mel_spectrogram(y, mel_cfg)
            frames = max(1, len(y) // mel_cfg.hop_length)
            jobs.append((path.stem, np.asarray(log_mel[:, :frames], dtype=np.float32), len(y)))

    written = []
    for name, log_mel, length in jobs:
        audio = ckpt.vocode(log_mel, chunk_frames=chunk_frames)  # (frames * hop,)
        if length is not None:  # analysis-synthesis: give back as many samples as came in
            audio = audio[:length] if len(audio) >= length else np.pad(audio, (0, length - len(audio)))
        written.append(save(out_dir / f"{name}.wav", np.clip(audio, -1.0, 1.0), mel_cfg.sample_rate))
    return written


def generate(checkpoint: str | Path | Checkpoint, n: int, out_dir: str | Path, *, seed: int | None = None,
             pitch: int | None = None, device: str = "cpu") -> list[Path]:
    """Sample an unconditional model (WaveGAN) or a pitched one (GANSynth): ``n`` WAVs and a ``seeds.json`` in ``out_dir``.

    Clip ``i`` is made from the latent of seed ``seed + i`` (:func:`voclab.checkpoint.latents_from_seeds`,
    from the model's own latent distribution), at the checkpoint's sample rate and slice length:
    ``OUT_DIR/<model>_<seed>.wav``. ``seeds.json`` records the checkpoint, its step, the rate, the
    length, the latent distribution and each file's seed, so any clip can be made again
    (``--seed`` with that seed, ``-n 1``). A run's validation previews are seeds 0, 1, …:
    ``--seed 0`` writes them again. Without ``seed`` a random one is drawn (and recorded).
    The output folder and the arguments are checked before the checkpoint is loaded.

    A pitched model's notes are ``OUT_DIR/<model>_<seed>_pitch_<MIDI>.wav``: all at ``pitch``,
    or, without it, each at the pitch its seed draws from the training pitch histogram the
    checkpoint carries; ``seeds.json`` records each clip's pitch and the model's range, and
    ``--seed S --pitch P`` makes one again. A pitch outside the model's range is refused
    with the range.

    Notebook: 04_wavegan, 05_gansynth.

    Parameters
    ----------
    checkpoint : str, Path or Checkpoint
        A checkpoint file (a slim one too), a run folder (latest checkpoint), ``RUN_DIR/best``,
        or a loaded one.
    n : int
        Clips to make.
    out_dir : str or Path
    seed : int, optional
        Seed of the first clip (>= 0).
    pitch : int, optional
        A MIDI pitch for a pitched model (within its ``pitch_min``-``pitch_max``); an unconditional
        model refuses it.
    device : {"cpu", "cuda", "cuda:N", "mps"}

    Returns
    -------
    paths : list of Path
        The WAV files, in seed order.

    Raises
    ------
    voclab.errors.CheckpointError
        A vocoder checkpoint (use ``voclab vocode``), or an unreadable one.
    voclab.errors.ConfigError
        ``n`` < 1, a negative seed, a pitch for an unconditional model or outside a pitched model's
        range, an output folder that cannot be written to.
    """
    device = resolve_device(device)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"-n is the number of clips to make: a whole number of at least 1 (got {n!r}).")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ConfigError(f"--seed must be a whole number >= 0 (got {seed!r}).")
    out_dir = check_output_folder(out_dir)
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, device=device)
    if ckpt.kind == "vocoder":
        raise CheckpointError(
            f"{ckpt.path} is a {ckpt.model} vocoder: it turns mel spectrograms into audio and cannot make audio from "
            f"nothing. Vocode with it instead: voclab vocode {ckpt.path} RECORDING.wav -o {out_dir}."
        )
    if seed is None:
        seed = secrets.randbelow(2**31)
    pitched = ckpt.kind == "pitched"
    pitches = ckpt.pitches(n, seed=int(seed), pitch=pitch) if pitched else None  # checks the range first
    audio = ckpt.generate(n, seed=int(seed), pitch=pitch)  # (n, slice_len)
    written = []
    for i, clip in enumerate(audio):
        name = f"{ckpt.model}_{seed + i:08d}" + (f"_pitch_{int(pitches[i]):03d}" if pitched else "")
        written.append(save(out_dir / f"{name}.wav", np.clip(clip, -1.0, 1.0), ckpt.sample_rate))
    cfg = ckpt.cfg
    record = {
        "checkpoint": str(ckpt.path), "model": ckpt.model, "step": ckpt.step, "sample_rate": ckpt.sample_rate,
        "samples": int(audio.shape[1]), "latent": {"dim": getattr(cfg, "latent_dim", None),
                                                   "distribution": getattr(cfg, "latent_distribution", None)},
        "clips": [{"file": path.name, "seed": seed + i, **({"pitch": int(pitches[i])} if pitched else {})}
                  for i, path in enumerate(written)],
    }
    if pitched:
        record["pitch"] = pitch  # None: each seed drew its own from the training histogram
        record["pitch_range"] = list(ckpt.pitch_range)
    tmp = out_dir / f".{SEEDS_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / SEEDS_FILE)
    return written
