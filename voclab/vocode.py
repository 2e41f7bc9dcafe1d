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

Notebook: 07_hifigan, 08_shootout.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .audio import FORMATS, load, save
from .checkpoint import Checkpoint, load_checkpoint
from .errors import (
    AudioFileNotFoundError,
    ConfigError,
    NonFiniteAudioError,
    ShapeError,
    UnsupportedFormatError,
)
from .spectral import MelConfig, mel_spectrogram

__all__ = ["vocode", "read_mel", "save_mel", "prepare_for_inference"]

MEL_FORMATS = (".npz", ".npy")


def save_mel(path: str | Path, mel, cfg: MelConfig) -> Path:
    """Write a mel and its settings to a ``.npz`` that ``voclab vocode`` checks on reading.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path
        Destination (``.npz``).
    mel : array [shape=(n_mels, frames)]
        A log-mel made with ``cfg``.
    cfg : MelConfig

    Returns
    -------
    path : Path
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise UnsupportedFormatError(f"save_mel writes .npz files (with the settings inside), not {path.suffix!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    array = mel.detach().cpu().numpy() if isinstance(mel, torch.Tensor) else np.asarray(mel)
    np.savez(path, mel=array.astype(np.float32), mel_config=np.array(json.dumps(cfg.to_dict())))
    return path


def _check_shape(mel: np.ndarray, expected: MelConfig, name: str) -> np.ndarray:
    n_mels = expected.n_mels
    if mel.ndim == 3 and mel.shape[0] == 1:
        mel = mel[0]
    if mel.ndim != 2:
        raise ShapeError(
            f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {mel.shape}."
        )
    if mel.shape[0] != n_mels:
        if mel.shape[1] == n_mels:
            raise ShapeError(
                f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {mel.shape}: it looks "
                "transposed (frames, n_mels); save mel.T instead."
            )
        raise ShapeError(
            f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {mel.shape}: this checkpoint "
            f"was trained on {n_mels}-band mels; recompute the mel with its MelConfig."
        )
    if mel.shape[1] < 1:
        raise ShapeError(f"{name}: the mel has no frames (shape {mel.shape}).")
    if not np.all(np.isfinite(mel)):
        raise NonFiniteAudioError(f"{name}: the mel contains NaN or infinite values; fix whatever made it.")
    return np.ascontiguousarray(mel, dtype=np.float32)


def _settings(values, source: str) -> MelConfig:
    try:
        return MelConfig.from_dict(dict(values))
    except (ConfigError, TypeError, ValueError) as err:
        raise ConfigError(f"{source} does not hold valid MelConfig settings ({err}).") from None


def read_mel(path: str | Path, expected: MelConfig) -> np.ndarray:
    """Read a mel file (``.npz`` or ``.npy`` [+ ``.json``]) and check it against ``expected``.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path
    expected : MelConfig
        The checkpoint's mel settings.

    Returns
    -------
    mel : np.ndarray [shape=(n_mels, frames), dtype=float32]

    Raises
    ------
    voclab.errors.MelMismatchError
        The mel's settings differ from ``expected`` (the message names the fields).
    voclab.errors.ShapeError
        Wrong number of bands, transposed, or not 2-D.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileNotFoundError(f"No mel file at {str(path)!r}.")
    settings = None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "mel" not in archive:
                    raise ShapeError(f"{path.name} has no array named 'mel' (it has {sorted(archive.files)}).")
                mel = archive["mel"]
                if "mel_config" in archive:
                    settings = _settings(json.loads(str(archive["mel_config"])), f"{path.name}'s mel_config")
        else:
            mel = np.load(path, allow_pickle=False)
            sidecar = path.with_suffix(".json")
            if sidecar.is_file():
                try:
                    values = json.loads(sidecar.read_text(encoding="utf-8"))
                except ValueError as err:
                    raise ConfigError(f"{sidecar.name} is not valid JSON ({err}).") from None
                settings = _settings(values, sidecar.name)
    except (ValueError, OSError) as err:
        if isinstance(err, (ShapeError, ConfigError)):
            raise
        raise UnsupportedFormatError(f"{path.name} could not be read as a numpy mel ({err}).") from None
    if settings is not None:
        expected.require_match(settings, what=f"{path.name}")
    mel = _check_shape(np.asarray(mel), expected, path.name)
    if settings is None:
        warnings.warn(
            f"{path.name} carries no mel settings, so they could not be checked against the checkpoint's "
            "(only its band count was). Save mels with voclab.vocode.save_mel(path, mel, cfg) or add a "
            f"{path.with_suffix('.json').name} sidecar.",
            stacklevel=2,
        )
    return mel


def prepare_for_inference(checkpoint: Checkpoint) -> Checkpoint:
    """Remove weight norm from the generator when its model offers it (same output, faster).

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
    generator = checkpoint.generator
    if callable(getattr(generator, "remove_weight_norm", None)):
        generator.remove_weight_norm()
    elif callable(getattr(checkpoint.module, "remove_weight_norm", None)):
        checkpoint.module.remove_weight_norm(generator)
    generator.eval()
    return checkpoint


def vocode(checkpoint: str | Path | Checkpoint, inputs, out_dir: str | Path, *, device: str = "cpu") -> list[Path]:
    """Vocode recordings and mel files with a checkpoint; write ``OUT_DIR/<name>.wav``.

    Every input is read and checked before anything is generated, so a bad input
    stops the command before it has done half the work.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    checkpoint : str, Path or Checkpoint
        A checkpoint file, a run folder (latest checkpoint), ``RUN_DIR/best``, or a loaded one.
    inputs : sequence of str or Path
        Audio files and ``.npz``/``.npy`` mels.
    out_dir : str or Path
    device : {"cpu", "cuda"}

    Returns
    -------
    paths : list of Path
        The written WAV files, in input order.

    Raises
    ------
    voclab.errors.MelMismatchError, voclab.errors.ShapeError, voclab.errors.UnsupportedFormatError,
    voclab.errors.AudioFileNotFoundError, voclab.errors.CheckpointError
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda asks for a GPU but torch sees none here; use --device cpu.")
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise AudioFileNotFoundError("Nothing to vocode: pass audio files or .npz/.npy mels.")
    out_dir = Path(out_dir)
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
    prepare_for_inference(ckpt)
    mel_cfg = ckpt.mel

    jobs = []  # (name, log_mel, length to trim/pad to or None)
    for path in inputs:
        if path.suffix.lower() in MEL_FORMATS:
            jobs.append((path.stem, read_mel(path, mel_cfg), None))
        else:
            y, _ = load(path, sr=mel_cfg.sample_rate)
            log_mel = mel_spectrogram(y, mel_cfg)
            frames = max(1, len(y) // mel_cfg.hop_length)
            jobs.append((path.stem, np.asarray(log_mel[:, :frames], dtype=np.float32), len(y)))

    written = []
    for name, log_mel, length in jobs:
        audio = ckpt.vocode(log_mel)  # (frames * hop,)
        if length is not None:  # analysis-synthesis: give back as many samples as came in
            audio = audio[:length] if len(audio) >= length else np.pad(audio, (0, length - len(audio)))
        written.append(save(out_dir / f"{name}.wav", np.clip(audio, -1.0, 1.0), mel_cfg.sample_rate))
    return written
