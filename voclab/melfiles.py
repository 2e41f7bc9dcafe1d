"""Mels on disk, with the settings they were made with: ``.npz``, or ``.npy`` with a ``.json``.

A vocoder fed a mel made with other settings makes noise, and nothing in the array says
why. So voclab writes a mel together with its :class:`~voclab.spectral.MelConfig`
(:func:`save_mel`) and checks the settings whenever it reads one (:func:`read_mel`):
``voclab vocode`` for inference, ``voclab train --mels DIR`` for fine-tuning on the mels of
an acoustic model. Formats:

``*.npz``
    Arrays ``mel`` ``(n_mels, frames)`` and ``mel_config`` (a JSON string of
    ``MelConfig.to_dict()``); :func:`save_mel` writes one.
``*.npy``
    A bare ``(n_mels, frames)`` (or ``(1, n_mels, frames)``) array, with its settings in a
    sidecar ``<name>.json`` (a ``MelConfig`` dict) or, for a whole folder, in
    ``mel_config.json`` beside it.

Notebook: 07_hifigan, 08_shootout.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import AudioFileNotFoundError, ConfigError, NonFiniteAudioError, ShapeError, UnsupportedFormatError
from .spectral import MelConfig

__all__ = ["MEL_FORMATS", "FOLDER_SETTINGS", "save_mel", "read_mel", "read_settings", "check_mel_shape"]

MEL_FORMATS = (".npz", ".npy")
#: The settings file of a folder of ``.npy`` mels (``voclab train --mels DIR``).
FOLDER_SETTINGS = "mel_config.json"


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


def check_mel_shape(shape: tuple, n_mels: int, name: str) -> int:
    """Check that an array of ``shape`` is a mel with ``n_mels`` bands; return its number of frames.

    ``(n_mels, frames)`` and ``(1, n_mels, frames)`` (what acoustic models often save) are
    mels; a transposed ``(frames, n_mels)`` array is refused with the fix.

    Notebook: 07_hifigan.

    Parameters
    ----------
    shape : tuple of int
    n_mels : int
        The band count the vocoder expects.
    name : str
        The file, for the message.

    Returns
    -------
    frames : int

    Raises
    ------
    voclab.errors.ShapeError
    """
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 2:
        raise ShapeError(f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {tuple(shape)}.")
    if shape[0] != n_mels:
        if shape[1] == n_mels:
            raise ShapeError(
                f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {tuple(shape)}: it looks "
                "transposed (frames, n_mels); save mel.T instead."
            )
        raise ShapeError(
            f"{name}: expected a mel of shape (n_mels={n_mels}, frames), got {tuple(shape)}: this vocoder "
            f"takes {n_mels}-band mels; recompute the mel with its MelConfig."
        )
    if shape[1] < 1:
        raise ShapeError(f"{name}: the mel has no frames (shape {tuple(shape)}).")
    return int(shape[1])


def read_settings(path: str | Path) -> MelConfig:
    """The :class:`MelConfig` in a JSON file (a ``.npy`` mel's sidecar, or a folder's ``mel_config.json``).

    Notebook: 07_hifigan.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    settings : MelConfig

    Raises
    ------
    voclab.errors.ConfigError
        Not valid JSON, or not the fields of a MelConfig.
    """
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return MelConfig.from_dict(dict(values))
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise ConfigError(f"{path.name} does not hold valid MelConfig settings ({err}).") from None
        raise ConfigError(f"{path.name} is not valid JSON ({err}).") from None
    except TypeError as err:
        raise ConfigError(f"{path.name} does not hold valid MelConfig settings ({err}).") from None


def read_mel(path: str | Path, expected: MelConfig, *, settings: MelConfig | None = None) -> np.ndarray:
    """Read a mel file (``.npz``, or ``.npy`` [+ ``.json``]) and check it against ``expected``.

    The mel's own settings (inside the ``.npz``, or the ``.npy``'s sidecar ``.json``) must
    match ``expected``; a bare ``.npy`` is read with a warning that its settings could not be
    checked, unless ``settings`` says what they are (a folder's ``mel_config.json``).

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path
    expected : MelConfig
        The vocoder's mel settings.
    settings : MelConfig, optional
        The settings of a ``.npy`` that has no sidecar of its own.

    Returns
    -------
    mel : np.ndarray [shape=(n_mels, frames), dtype=float32]

    Raises
    ------
    voclab.errors.MelMismatchError
        The mel's settings differ from ``expected`` (the message names the fields).
    voclab.errors.ShapeError
        Wrong number of bands, transposed, or not 2-D.
    voclab.errors.NonFiniteAudioError
        NaN or infinite values.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileNotFoundError(f"No mel file at {str(path)!r}.")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "mel" not in archive:
                    raise ShapeError(f"{path.name} has no array named 'mel' (it has {sorted(archive.files)}).")
                mel = archive["mel"]
                if "mel_config" in archive:
                    try:
                        settings = MelConfig.from_dict(dict(json.loads(str(archive["mel_config"]))))
                    except (ValueError, TypeError) as err:
                        raise ConfigError(f"{path.name}'s mel_config does not hold valid MelConfig settings "
                                          f"({err}).") from None
        else:
            mel = np.load(path, allow_pickle=False)
            sidecar = path.with_suffix(".json")
            if sidecar.is_file():
                settings = read_settings(sidecar)
    except (ValueError, OSError) as err:
        if isinstance(err, (ShapeError, ConfigError)):
            raise
        raise UnsupportedFormatError(f"{path.name} could not be read as a numpy mel ({err}).") from None
    if settings is not None:
        expected.require_match(settings, what=f"{path.name}")
    check_mel_shape(np.shape(mel), expected.n_mels, path.name)
    mel = np.asarray(mel, dtype=np.float32).reshape(expected.n_mels, -1)
    if not np.all(np.isfinite(mel)):
        raise NonFiniteAudioError(f"{path.name}: the mel contains NaN or infinite values; fix whatever made it.")
    if settings is None:
        warnings.warn(
            f"{path.name} carries no mel settings, so they could not be checked against the checkpoint's "
            "(only its band count was). Save mels with voclab.vocode.save_mel(path, mel, cfg) or add a "
            f"{path.with_suffix('.json').name} sidecar.",
            stacklevel=2,
        )
    return np.ascontiguousarray(mel)
