"""Training data for the vocoders: random segments of any folder of audio, with their mels.

A GAN vocoder learns from short random crops of recordings (HiFi-GAN and MelGAN: 8192
samples, about 0.37 s at 22.05 kHz) paired with the mel spectrogram of the same crop.
:class:`AudioSegments` makes those pairs from any folder of WAV/FLAC/OGG/AIFF files;
:func:`split_files` holds a few whole clips out for validation.

Everything random here is a pure function of ``(seed, epoch, index)``, never of a
process-wide random state, so a resumed run (``voclab train --resume``) sees exactly the
crops the uninterrupted run would have seen, whatever ``num_workers`` is.

Notebook: 06_melgan, 07_hifigan (and the ``voclab train`` command).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .audio import FORMATS, load
from .errors import DataError, VoclabError
from .spectral import MelConfig, mel_spectrogram

__all__ = ["find_audio_files", "split_files", "peak_normalize", "AudioSegments", "load_clip_for_validation"]

#: Peak level after normalisation (HiFi-GAN's ``normalize(audio) * 0.95``).
PEAK = 0.95


def find_audio_files(folder: str | Path) -> list[Path]:
    """All audio files under ``folder`` (recursively), sorted by their path inside it.

    Hidden files and folders (a leading ``.``: temporary files, ``.ipynb_checkpoints``)
    are left out.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    files : list of Path
        WAV, FLAC, OGG and AIFF files, sorted.

    Raises
    ------
    voclab.errors.DataError
        The folder does not exist, is empty, or holds no audio voclab can read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"No data folder at {str(folder)!r}. Pass a folder of audio files "
            "(or build one: `voclab prepare SRC -o OUT`, `voclab prepare --mini-ljspeech -o OUT`)."
        )
    everything = [
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    if not everything:
        raise DataError(f"The data folder {str(folder)!r} is empty: put WAV/FLAC/OGG/AIFF files in it.")
    files = sorted((p for p in everything if p.suffix.lower() in FORMATS),
                   key=lambda p: p.relative_to(folder).as_posix())
    if not files:
        suffixes = sorted({p.suffix.lower() or "(none)" for p in everything})
        raise DataError(
            f"No audio files voclab can read in {str(folder)!r} (found {len(everything)} file(s) "
            f"with extension(s) {', '.join(suffixes[:8])}). voclab reads {', '.join(sorted(FORMATS))}; "
            "convert others first, e.g. `ffmpeg -i x.mp3 x.wav`."
        )
    return files


def _read_list(folder: Path, name: str) -> list[Path]:
    files = []
    for line in (folder / name).read_text(encoding="utf-8").splitlines():
        line = line.split("|", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        path = folder / line
        if not path.is_file():
            raise DataError(
                f"{folder / name} names {line!r}, which does not exist. Re-run `voclab prepare` "
                "or fix the list."
            )
        files.append(path)
    return files


def split_files(folder: str | Path, val_clips: int = 2) -> tuple[list[Path], list[Path]]:
    """Split a data folder into training files and a few whole validation clips.

    A folder made by ``voclab prepare`` (it has ``train.txt`` and ``val.txt``) keeps the
    split written there. Any other folder: the files are sorted by path and the *last*
    ``val_clips`` are held out — the same clips on every machine and every run.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    folder : str or Path
    val_clips : int
        How many clips to hold out (0: no validation).

    Returns
    -------
    train, val : list of Path

    Raises
    ------
    voclab.errors.DataError
        Too few files to hold ``val_clips`` out and still train.
    """
    folder = Path(folder)
    if (folder / "train.txt").is_file() and (folder / "val.txt").is_file():
        train, val = _read_list(folder, "train.txt"), _read_list(folder, "val.txt")
        if not train:
            raise DataError(f"{folder / 'train.txt'} lists no files; re-run `voclab prepare`.")
        return train, val
    files = find_audio_files(folder)
    if val_clips < 0:
        raise DataError(f"val_clips must be 0 or more, got {val_clips}.")
    if len(files) <= val_clips:
        raise DataError(
            f"{str(folder)!r} has {len(files)} audio file(s): too few to hold out {val_clips} "
            f"validation clip(s) and still train. Add files or pass --val-clips {max(len(files) - 1, 0)}."
        )
    cut = len(files) - val_clips
    return files[:cut], files[cut:]


def peak_normalize(y: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Scale a waveform so that its largest absolute sample is ``peak`` (silence stays silent).

    HiFi-GAN does this to every file it loads (``normalize(audio) * 0.95``), so the
    network never sees the level of the recording, only its shape.

    Notebook: 07_hifigan.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
    peak : float

    Returns
    -------
    y : np.ndarray [shape=(samples,), dtype=float32]
    """
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if top <= 0.0:
        return y.astype(np.float32, copy=False)
    return (y * (peak / top)).astype(np.float32)


def clip_name(path: Path, root: Path | None = None) -> str:
    """A file name for a clip's outputs: its path inside ``root`` with ``/`` turned into ``_``."""
    relative = path.relative_to(root) if root is not None and path.is_relative_to(root) else Path(path.name)
    return "_".join(relative.with_suffix("").parts)


def load_clip_for_validation(path: Path, mel: MelConfig, *, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A whole validation clip and its mel, trimmed to a whole number of hops.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    path : Path
    mel : MelConfig
    normalize : bool
        Peak-normalise as the training segments are.

    Returns
    -------
    audio : np.ndarray [shape=(frames * hop_length,)]
    log_mel : np.ndarray [shape=(n_mels, frames)]
    """
    y, _ = load(path, sr=mel.sample_rate)
    if normalize:
        y = peak_normalize(y)
    frames = len(y) // mel.hop_length
    if frames < 2:
        raise DataError(
            f"validation clip {path.name} is {len(y)} samples long: shorter than two mel frames "
            f"({2 * mel.hop_length} samples). Use longer clips for validation."
        )
    y = y[: frames * mel.hop_length]
    log_mel = mel_spectrogram(y, mel)[:, :frames]
    return y, log_mel


class AudioSegments(torch.utils.data.Dataset):
    """Random fixed-length segments of audio files and their log-mel spectrograms.

    Item ``i`` of epoch ``e`` is a crop of file ``i % len(files)`` at an offset drawn
    from ``numpy.random.default_rng((seed, e, i))``: reproducible, and the same in every
    DataLoader worker. Files shorter than a segment are zero-padded at the end. An epoch
    has ``max(len(files), min_items)`` items, so that even a handful of clips fill a
    batch.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    files : list of Path
        Audio files (any rate; resampled to ``mel.sample_rate`` on loading).
    mel : MelConfig
        The run's mel settings.
    segment_size : int
        Samples per segment; a multiple of ``mel.hop_length``.
    normalize : bool
        Peak-normalise each whole file to 0.95 before cropping (HiFi-GAN; on by default).
    gain_range : (float, float) or None
        Scale each segment by a gain drawn uniformly from this range (MelGAN's data
        augmentation, (0.3, 1.0)); the mel is computed after the gain. ``None``: no gain.
    seed : int
    min_items : int
        Smallest number of items per epoch (files are cycled to reach it).
    cache_mb : float
        Keep decoded files in memory up to this many megabytes (per worker process).

    Examples
    --------
    >>> data = AudioSegments(files, MelConfig(), 8192)            # doctest: +SKIP
    >>> item = data[0]; item["audio"].shape, item["mel"].shape     # doctest: +SKIP
    (torch.Size([1, 8192]), torch.Size([80, 32]))

    Returns items ``{"audio": (1, segment_size) float32, "mel": (n_mels, segment_size // hop_length) float32}``.
    """

    def __init__(self, files, mel: MelConfig, segment_size: int, *, normalize: bool = True,
                 gain_range: tuple[float, float] | None = None, seed: int = 0, min_items: int = 1, cache_mb: float = 1024.0):
        if segment_size % mel.hop_length:
            raise DataError(
                f"segment_size={segment_size} is not a multiple of the mel's hop_length="
                f"{mel.hop_length}; the generator makes hop_length samples per frame. Use e.g. "
                f"{max(1, round(segment_size / mel.hop_length)) * mel.hop_length}."
            )
        self.files = [Path(f) for f in files]
        if not self.files:
            raise DataError("AudioSegments needs at least one audio file.")
        self.mel = mel
        self.segment_size = int(segment_size)
        self.normalize = normalize
        self.gain_range = None if gain_range is None else (float(gain_range[0]), float(gain_range[1]))
        self.seed = int(seed)
        self.min_items = int(min_items)
        self.epoch = 0
        self._cache: dict[int, np.ndarray] = {}
        self._cache_bytes = 0
        self._cache_limit = cache_mb * 2**20
        self._bad: set[int] = set()
        self._check_headers()

    def _check_headers(self) -> None:
        """Skip files whose header libsndfile cannot read, with one warning naming them."""
        import soundfile as sf

        good, bad = [], []
        for path in self.files:
            try:
                info = sf.info(str(path))
                if info.frames == 0:
                    raise ValueError("no samples")
                good.append(path)
            except Exception as err:  # noqa: BLE001 - any decoder failure means "skip this file"
                bad.append(f"{path.name} ({str(err).splitlines()[0][:80]})")
        if bad:
            warnings.warn(
                f"skipping {len(bad)} audio file(s) that could not be decoded: {'; '.join(bad[:10])}"
                + (" ..." if len(bad) > 10 else ""),
                stacklevel=3,
            )
        if not good:
            raise DataError("None of the training files could be decoded as audio; see the warning above.")
        self.files = good

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops ``__getitem__`` returns (the loop calls it)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return max(len(self.files), self.min_items)

    def _audio(self, file_index: int) -> np.ndarray:
        if file_index in self._cache:
            return self._cache[file_index]
        y, _ = load(self.files[file_index], sr=self.mel.sample_rate)
        if self.normalize:
            y = peak_normalize(y)
        if self._cache_bytes + y.nbytes <= self._cache_limit:
            self._cache[file_index] = y
            self._cache_bytes += y.nbytes
        return y

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        file_index = index % len(self.files)
        # A file that passed the header check but fails to decode: warn once, use the next file.
        for attempt in range(len(self.files)):
            candidate = (file_index + attempt) % len(self.files)
            if candidate in self._bad:
                continue
            try:
                y = self._audio(candidate)
                break
            except VoclabError as err:
                self._bad.add(candidate)
                warnings.warn(f"skipping {self.files[candidate].name}: {err}", stacklevel=2)
        else:
            raise DataError("None of the training files could be decoded as audio.")
        rng = np.random.default_rng((self.seed, self.epoch, index))
        T = self.segment_size
        if len(y) >= T:
            start = int(rng.integers(0, len(y) - T + 1))
            segment = y[start:start + T]
        else:  # zero-pad short clips at the end, as HiFi-GAN does
            segment = np.pad(y, (0, T - len(y)))
        if self.gain_range is not None:
            segment = segment * np.float32(rng.uniform(*self.gain_range))
        frames = T // self.mel.hop_length
        # center=True presets make one more frame; the generator needs exactly T // hop
        log_mel = mel_spectrogram(segment, self.mel)[:, :frames]
        return {
            "audio": torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))[None],  # (1, T)
            "mel": torch.from_numpy(np.ascontiguousarray(log_mel, dtype=np.float32)),  # (n_mels, T // hop)
        }
