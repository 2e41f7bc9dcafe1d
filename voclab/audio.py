"""Reading and writing audio files with clear errors.

Notebook: 01_phase_and_griffin_lim (every later notebook loads its clips this way).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import (
    AudioFileNotFoundError,
    EmptyAudioError,
    NonFiniteAudioError,
    NotAudioError,
    ShapeError,
    UnsupportedFormatError,
)

__all__ = ["load", "save", "resample", "check_waveform"]

#: File extensions voclab reads and writes (through libsndfile).
FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF", ".aif": "AIFF"}


def _check_format(path: Path, *, reading: bool = False) -> None:
    if reading and path.suffix.lower() in (".npy", ".npz"):  # an array, not a recording: ffmpeg would not help
        raise UnsupportedFormatError(
            f"{path.name} is a NumPy array file (a mel or another array), not audio: read it with "
            f"numpy.load({path.name!r}), or as a mel checked against a vocoder's settings with "
            "voclab.melfiles.read_mel(path, mel_config); `voclab vocode CHECKPOINT "
            f"{path.name} -o OUT` turns a mel into audio."
        )
    if path.suffix.lower() not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise UnsupportedFormatError(
            f"{path.name}: voclab reads and writes {known}; convert the file first "
            f"(e.g. `ffmpeg -i {path.name} {path.stem}.wav`)."
        )


def check_waveform(y: np.ndarray, *, name: str = "audio") -> np.ndarray:
    """Return ``y`` as a float32 array after checking it is non-empty and finite.

    Parameters
    ----------
    y : np.ndarray [shape=(..., samples)]
        Waveform(s).
    name : str
        What to call the waveform in an error message.

    Returns
    -------
    y : np.ndarray [shape=(..., samples), dtype=float32]

    Notebook: 01_phase_and_griffin_lim (every loader of the course goes through it).

    Raises
    ------
    voclab.errors.EmptyAudioError, voclab.errors.NonFiniteAudioError
    """
    y = np.asarray(y)
    if y.size == 0 or y.shape[-1] == 0:
        raise EmptyAudioError(f"{name} has no samples; pass a recording with at least one sample.")
    if not np.all(np.isfinite(y)):
        bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
        raise NonFiniteAudioError(
            f"{name} has {bad} NaN or infinite sample(s); clean it first, "
            "e.g. y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)."
        )
    return y.astype(np.float32, copy=False)


def load(path: str | Path, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Load an audio file as a float32 mono waveform.

    Stereo (or any multi-channel) audio is down-mixed to mono by averaging the channels,
    with a note. When ``sr`` is given the audio is resampled to it (librosa's
    ``soxr_hq`` resampler).

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG or AIFF file.
    sr : int, optional
        Target sample rate in Hz; ``None`` keeps the file's own rate.

    Returns
    -------
    y : np.ndarray [shape=(samples,), dtype=float32]
        The waveform, in [-1, 1] for integer files.
    sr : int
        Its sample rate.

    Raises
    ------
    voclab.errors.AudioFileNotFoundError
        The file does not exist.
    voclab.errors.UnsupportedFormatError
        The extension is not one voclab reads.
    voclab.errors.NotAudioError
        The file cannot be decoded as audio.
    voclab.errors.EmptyAudioError, voclab.errors.NonFiniteAudioError
        The audio has no samples, or NaN/Inf samples.

    Examples
    --------
    >>> y, sr = load("data/speech/arctic_a0007.flac", sr=22050)  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileNotFoundError(
            f"No audio file at {str(path)!r}. Check the path; voclab.data.list_clips() "
            "names the clips that ship with the course."
        )
    if path.is_dir():
        raise NotAudioError(f"{str(path)!r} is a folder; pass one audio file inside it.")
    _check_format(path, reading=True)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise NotAudioError(
            f"{path.name} could not be decoded as audio ({err}). Is it really a "
            f"{FORMATS[path.suffix.lower()]} file? Re-export it, e.g. with ffmpeg."
        ) from None
    if data.shape[1] > 1:
        warnings.warn(
            f"{path.name} has {data.shape[1]} channels; voclab down-mixed it to mono "
            "by averaging them.",
            stacklevel=2,
        )
    y = check_waveform(data.mean(axis=1), name=path.name)
    if sr is not None and int(sr) != file_sr:
        y = resample(y, file_sr, int(sr))
        file_sr = int(sr)
    return np.ascontiguousarray(y, dtype=np.float32), int(file_sr)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a waveform (librosa's ``soxr_hq``), returning float32.

    Parameters
    ----------
    y : np.ndarray [shape=(..., samples)]
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    y : np.ndarray [shape=(..., round(samples * target_sr / orig_sr)), dtype=float32]

    Notebook: 01_phase_and_griffin_lim (clips are resampled to 22.05 kHz).
    """
    import librosa

    if orig_sr <= 0 or target_sr <= 0:
        raise ShapeError(f"sample rates must be positive, got {orig_sr} -> {target_sr}.")
    y = check_waveform(y)
    if orig_sr == target_sr:
        return y
    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq").astype(
        np.float32
    )


def save(path: str | Path, y: np.ndarray, sr: int) -> Path:
    """Write a mono waveform to a WAV, FLAC, OGG or AIFF file (16-bit PCM where the format has it).

    The file is written to a temporary name first and renamed into place, so a crash
    never leaves half a file behind.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    path : str or Path
        Destination; the extension picks the format. Parent folders are created.
    y : np.ndarray or torch.Tensor [shape=(samples,)]
        Waveform in [-1, 1]; louder samples are clipped.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    path : Path
        The written file.

    Examples
    --------
    >>> save("out/tone.wav", np.zeros(16000, dtype=np.float32), 16000)  # doctest: +SKIP
    """
    path = Path(path)
    _check_format(path)
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ShapeError(
            f"save() writes mono audio of shape (samples,), got shape {y.shape}; "
            "save each waveform of a batch separately."
        )
    y = check_waveform(y)
    if int(sr) <= 0:
        raise ShapeError(f"sample rate must be a positive number of Hz, got {sr}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = FORMATS[path.suffix.lower()]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        sf.write(str(tmp), np.clip(y, -1.0, 1.0), int(sr), format=fmt)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
