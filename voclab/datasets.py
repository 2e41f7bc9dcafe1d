"""Training data for the vocoders: random segments of any folder of audio, with their mels.

A GAN vocoder learns from short random crops of recordings (HiFi-GAN and MelGAN: 8192
samples, about 0.37 s at 22.05 kHz) paired with the mel spectrogram of the same crop.
:class:`AudioSegments` makes those pairs from any folder of WAV/FLAC/OGG/AIFF files;
:func:`split_files` holds a few whole clips out for validation. For fine-tuning on a
text-to-speech model's output, :func:`pair_mels` pairs every recording with the mel the
acoustic model predicted for it (teacher-forced, "ground-truth aligned"), and the
segments take their mel from there while the loss still hears the real recording.

Everything random here is a pure function of ``(seed, epoch, index)``, never of a
process-wide random state, so a resumed run (``voclab train --resume``) sees exactly the
crops the uninterrupted run would have seen, whatever ``num_workers`` is.

An unconditional model (WaveGAN) learns from audio alone: :class:`AudioSlices` gives
fixed-length slices of short clips (drum hits), with optional augmentation. A pitch-conditional
model (GANSynth) learns from labelled notes: :class:`LabelledNotes` gives each note's
spectrogram picture with its MIDI pitch, read from NSynth's ``examples.json``.

Notebook: 04_wavegan, 05_gansynth, 06_melgan, 07_hifigan (and the ``voclab train`` command).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch

from .audio import FORMATS, load
from .errors import DataError, VoclabError
from .melfiles import FOLDER_SETTINGS, check_mel_shape, read_settings
from .spectral import MelConfig, mel_spectrogram

__all__ = ["find_audio_files", "split_files", "peak_normalize", "pair_mels", "AudioSegments", "AudioSlices",
           "LabelledNotes", "note_pitches", "load_clip_for_validation", "EXAMPLES_FILE"]

#: NSynth's labels beside a prepared notes folder (``voclab prepare --nsynth-fluid`` / ``--nsynth``).
EXAMPLES_FILE = "examples.json"

#: Peak level after normalisation (HiFi-GAN's ``normalize(audio) * 0.95``).
PEAK = 0.95
#: The "epoch" whose offsets :meth:`AudioSlices.reference` uses: one training never reaches
_REFERENCE_EPOCH = 2**32 - 1


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


def _samples_at(path: Path, sample_rate: int) -> int:
    """How many samples ``path`` has once loaded at ``sample_rate`` (from its header)."""
    import soundfile as sf

    info = sf.info(str(path))
    return int(round(info.frames * sample_rate / info.samplerate))


def pair_mels(files, mels_dir: str | Path, mel: MelConfig) -> list[Path]:
    """Find the acoustic model's mel of every recording (``DIR/<stem>.npy``) and check them all.

    Fine-tuning a vocoder on the mels a text-to-speech model predicts for its own training
    sentences (teacher-forced, so they are aligned with the recordings) teaches the vocoder
    the acoustic model's small errors; HiFi-GAN's official ``--fine_tuning`` does it. Before a
    step is spent, every pair is checked:

    * the settings: ``DIR/mel_config.json`` (one :class:`MelConfig` dict for the folder) or a
      ``<stem>.json`` beside each ``.npy`` must equal the run's mel settings;
    * each file: ``(n_mels, frames)`` or ``(1, n_mels, frames)``, with as many frames as the
      recording makes at the run's hop, within one (a centred STFT makes one more).

    Notebook: 07_hifigan (``voclab train hifigan --mels DIR``).

    Parameters
    ----------
    files : list of Path
        The recordings.
    mels_dir : str or Path
        The folder of ``.npy`` mels, one per recording, with the recording's file stem.
    mel : MelConfig
        The run's mel settings.

    Returns
    -------
    mel_files : list of Path
        ``mel_files[i]`` belongs to ``files[i]``.

    Raises
    ------
    voclab.errors.DataError
        No folder, no settings, missing mels or frame counts that do not match (the message
        names the files and the counts).
    voclab.errors.MelMismatchError
        Settings that differ from the run's (the message names the fields).
    """
    mels_dir = Path(mels_dir)
    if not mels_dir.is_dir():
        raise DataError(f"No mel folder at {str(mels_dir)!r}: --mels takes the folder of .npy mels your acoustic "
                        "model wrote, one per recording, named like the recording (LJ001-0001.wav -> LJ001-0001.npy).")
    folder_settings = mels_dir / FOLDER_SETTINGS
    settings = read_settings(folder_settings) if folder_settings.is_file() else None
    if settings is not None:
        mel.require_match(settings, what=f"the mels in {mels_dir} ({FOLDER_SETTINGS})")
    hop = mel.hop_length
    mel_files, missing, unchecked, mismatched = [], [], [], []
    for path in files:
        mel_path = mels_dir / f"{Path(path).stem}.npy"
        mel_files.append(mel_path)
        if not mel_path.is_file():
            missing.append(mel_path.name)
            continue
        sidecar = mel_path.with_suffix(".json")
        if sidecar.is_file():
            mel.require_match(read_settings(sidecar), what=mel_path.name)
        elif settings is None:
            unchecked.append(mel_path.name)
        try:
            shape = np.load(mel_path, mmap_mode="r", allow_pickle=False).shape  # the header only
        except (ValueError, OSError) as err:
            raise DataError(f"{mel_path} could not be read as a numpy array ({err}).") from None
        frames = check_mel_shape(shape, mel.n_mels, mel_path.name)
        samples = _samples_at(Path(path), mel.sample_rate)
        if abs(frames - samples // hop) > 1:
            mismatched.append(f"{mel_path.name} has {frames} frames but {Path(path).name} ({samples} samples) "
                              f"makes {samples // hop} at hop {hop}")
    if missing:
        raise DataError(f"{len(missing)} of {len(files)} recordings have no mel in {mels_dir}: "
                        f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}. Each recording needs "
                        "DIR/<its stem>.npy from the acoustic model.")
    if unchecked:
        example = json.dumps(mel.to_dict())
        raise DataError(f"The mels in {mels_dir} carry no settings ({unchecked[0]} has no .json beside it and the "
                        f"folder no {FOLDER_SETTINGS}), so voclab cannot check that they match this run's. If your "
                        f"acoustic model used exactly the run's settings, write them to {folder_settings}: {example}")
    if mismatched:
        raise DataError(f"{len(mismatched)} mel(s) are not aligned with their recordings: {'; '.join(mismatched[:3])}"
                        f"{' ...' if len(mismatched) > 3 else ''}. Ground-truth-aligned mels come from "
                        "teacher-forcing the acoustic model on the same recordings, with the run's hop.")
    return mel_files


def _load_mel_file(path: Path, n_mels: int) -> np.ndarray:
    """A checked mel file as float32 ``(n_mels, frames)``."""
    log_mel = np.load(path, allow_pickle=False)
    log_mel = np.ascontiguousarray(log_mel.reshape(n_mels, -1), dtype=np.float32)
    if not np.all(np.isfinite(log_mel)):
        raise DataError(f"{path.name}: the mel contains NaN or infinite values; fix whatever made it.")
    return log_mel


def load_clip_for_validation(path: Path, mel: MelConfig, *, normalize: bool = True,
                             mel_file: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A whole validation clip and its mel, trimmed to a whole number of hops.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    path : Path
    mel : MelConfig
    normalize : bool
        Peak-normalise as the training segments are.
    mel_file : Path, optional
        The acoustic model's mel of this clip (:func:`pair_mels`); the audio is then cut or
        zero-padded to its frames.

    Returns
    -------
    audio : np.ndarray [shape=(frames * hop_length,)]
    log_mel : np.ndarray [shape=(n_mels, frames)]
    """
    y, _ = load(path, sr=mel.sample_rate)
    if normalize:
        y = peak_normalize(y)
    if mel_file is not None:
        log_mel = _load_mel_file(mel_file, mel.n_mels)
        length = log_mel.shape[1] * mel.hop_length
        return np.pad(y[:length], (0, max(0, length - len(y)))), log_mel
    frames = len(y) // mel.hop_length
    if frames < 2:
        raise DataError(
            f"validation clip {path.name} is {len(y)} samples long: shorter than two mel frames "
            f"({2 * mel.hop_length} samples). Use longer clips for validation."
        )
    y = y[: frames * mel.hop_length]
    log_mel = mel_spectrogram(y, mel)[:, :frames]
    return y, log_mel


class _AudioClips(torch.utils.data.Dataset):
    """What the training datasets share: decodable files, a memory cache, and a fallback for a bad file.

    Items are pure functions of ``(seed, epoch, index)`` (see the module docstring); an epoch has
    ``max(len(files), min_items)`` items, so that even a handful of clips fill a batch.
    """

    def __init__(self, files, sample_rate: int, length: int, *, normalize: bool, seed: int, min_items: int,
                 cache_mb: float, what: str):
        self.files = [Path(f) for f in files]
        if not self.files:
            raise DataError(f"{type(self).__name__} needs at least one audio file.")
        self.sample_rate, self._length, self._what = int(sample_rate), int(length), what
        self.normalize = normalize
        self.seed = int(seed)
        self.min_items = int(min_items)
        self.epoch = 0
        self._cache: dict[int, object] = {}
        self._cache_bytes = 0
        self._cache_limit = cache_mb * 2**20
        self._bad: set[int] = set()

    def _check_headers(self, *, warn_short: bool) -> None:
        """Skip files whose header libsndfile cannot read, with one warning naming them."""
        import soundfile as sf

        good, bad, short = [], [], []
        for path in self.files:
            try:
                info = sf.info(str(path))
                if info.frames == 0:
                    raise ValueError("no samples")
                good.append(path)
            except Exception as err:  # noqa: BLE001 - any decoder failure means "skip this file"
                bad.append(f"{path.name} ({str(err).splitlines()[0][:80]})")
                continue
            seconds = info.frames / info.samplerate
            if seconds * self.sample_rate < self._length:
                short.append((seconds, path.name))
        if bad:
            warnings.warn(
                f"skipping {len(bad)} audio file(s) that could not be decoded: {'; '.join(bad[:10])}"
                + (" ..." if len(bad) > 10 else ""),
                stacklevel=3,
            )
        if not good:
            raise DataError("None of the training files could be decoded as audio; see the warning above.")
        if short and warn_short:
            seconds, name = min(short)
            warnings.warn(
                f"{len(short)} of {len(good)} training file(s) are shorter than a {self._what} ({self._length} "
                f"samples = {self._length / self.sample_rate:.2f} s): their crops are zero-padded at the end "
                f"(shortest: {name}, {seconds:.2f} s). Much padding teaches the generator silence; use longer clips "
                f"or a smaller {self._what}_size (--set {self._what}_size=N).",
                stacklevel=3,
            )
        self.files = good

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops ``__getitem__`` returns (the loop calls it)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return max(len(self.files), self.min_items)

    def _load(self, file_index: int):
        """A whole file, peak-normalised or not (a subclass adds what goes with it)."""
        y, _ = load(self.files[file_index], sr=self.sample_rate)
        return peak_normalize(y) if self.normalize else y

    def _cached(self, file_index: int):
        if file_index in self._cache:
            return self._cache[file_index]
        loaded = self._load(file_index)
        size = sum(a.nbytes for a in (loaded if isinstance(loaded, tuple) else (loaded,)) if a is not None)
        if self._cache_bytes + size <= self._cache_limit:
            self._cache[file_index] = loaded
            self._cache_bytes += size
        return loaded

    def _decodable(self, index: int):
        """The file of item ``index``, or — when it fails to decode — the next file that does (warned once)."""
        file_index = index % len(self.files)
        for attempt in range(len(self.files)):
            candidate = (file_index + attempt) % len(self.files)
            if candidate in self._bad:
                continue
            try:
                return self._cached(candidate)
            except VoclabError as err:
                self._bad.add(candidate)
                warnings.warn(f"skipping {self.files[candidate].name}: {err}", stacklevel=3)
        raise DataError("None of the training files could be decoded as audio.")


class AudioSegments(_AudioClips):
    """Random fixed-length segments of audio files and their log-mel spectrograms.

    Item ``i`` of epoch ``e`` is a crop of file ``i % len(files)`` at an offset drawn
    from ``numpy.random.default_rng((seed, e, i))``: reproducible, and the same in every
    DataLoader worker. Files shorter than a segment are zero-padded at the end. An epoch
    has ``max(len(files), min_items)`` items, so that even a handful of clips fill a
    batch. With ``mels_dir`` (fine-tuning on an acoustic model's mels), the crop starts at
    a random mel frame and its mel is cut from the model's mel, not computed from the audio.

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
    mels_dir : str or Path, optional
        A folder of ground-truth-aligned mels, ``<stem>.npy`` per file (:func:`pair_mels`).
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
                 gain_range: tuple[float, float] | None = None, seed: int = 0, min_items: int = 1,
                 mels_dir: str | Path | None = None, cache_mb: float = 1024.0):
        if segment_size % mel.hop_length:
            raise DataError(
                f"segment_size={segment_size} is not a multiple of the mel's hop_length="
                f"{mel.hop_length}; the generator makes hop_length samples per frame. Use e.g. "
                f"{max(1, round(segment_size / mel.hop_length)) * mel.hop_length}."
            )
        super().__init__(files, mel.sample_rate, segment_size, normalize=normalize, seed=seed, min_items=min_items,
                         cache_mb=cache_mb, what="segment")
        if not self.files:
            raise DataError("AudioSegments needs at least one audio file.")
        self.mel = mel
        self.segment_size = int(segment_size)
        self.gain_range = None if gain_range is None else (float(gain_range[0]), float(gain_range[1]))
        self._check_headers(warn_short=True)
        if mels_dir is not None and self.gain_range is not None:
            raise DataError("a random gain cannot be applied to given mels (the acoustic model made them at the "
                            "recordings' level): set random_gain to null (--set random_gain=null) to fine-tune on --mels.")
        self.mel_files = None if mels_dir is None else pair_mels(self.files, mels_dir, mel)
        # the log-mel of silence, to pad given mels as the audio is zero-padded
        self._silence = mel_spectrogram(np.zeros(4 * mel.hop_length, np.float32), mel)[:, :1].astype(np.float32)

    def _load(self, file_index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """A whole file (peak-normalised or not) and its given mel (None: computed per crop)."""
        y = super()._load(file_index)
        given = None if self.mel_files is None else _load_mel_file(self.mel_files[file_index], self.mel.n_mels)
        return y, given

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # A file that passed the header check but fails to decode: warn once, use the next file.
        y, given = self._decodable(index)
        rng = np.random.default_rng((self.seed, self.epoch, index))
        T = self.segment_size
        frames = T // self.mel.hop_length
        if given is not None:
            return self._aligned_crop(y, given, frames, rng)
        if len(y) >= T:
            start = int(rng.integers(0, len(y) - T + 1))
            segment = y[start:start + T]
        else:  # zero-pad short clips at the end, as HiFi-GAN does
            segment = np.pad(y, (0, T - len(y)))
        if self.gain_range is not None:
            segment = segment * np.float32(rng.uniform(*self.gain_range))
        # center=True presets make one more frame; the generator needs exactly T // hop
        return _item(segment, mel_spectrogram(segment, self.mel)[:, :frames])

    def _aligned_crop(self, y: np.ndarray, given: np.ndarray, frames: int, rng) -> dict[str, torch.Tensor]:
        """A crop at a random frame of a given mel, and the audio those frames stand for."""
        hop = self.mel.hop_length
        start = int(rng.integers(0, given.shape[1] - frames + 1)) if given.shape[1] >= frames else 0
        log_mel = given[:, start:start + frames]  # (n_mels, <= frames)
        if log_mel.shape[1] < frames:  # a clip shorter than a segment: silence after it, in both
            log_mel = np.concatenate([log_mel, np.repeat(self._silence, frames - log_mel.shape[1], axis=1)], axis=1)
        segment = y[start * hop:(start + frames) * hop]
        return _item(np.pad(segment, (0, frames * hop - len(segment))), log_mel)


class AudioSlices(_AudioClips):
    """Fixed-length slices of audio clips, audio only: what an unconditional model (WaveGAN) learns from.

    Item ``i`` of epoch ``e`` comes from file ``i % len(files)``, read at ``sample_rate`` and
    peak-normalised: its first ``slice_len`` samples (``first_slice``, for one-shot sounds such as
    drum hits: the official ``--data_first_slice``) or a crop at a random offset, zero-padded at
    the end when the clip is shorter (``--data_pad_end``). Then, when asked, the augmentations,
    each drawn from ``numpy.random.default_rng((seed, e, i))`` like everything random here:

    * ``pitch_shift`` — resampled by a factor ``2^(s/12)``, ``s`` uniform in ``[−pitch_shift,
      pitch_shift]`` semitones: played faster and higher or slower and lower, as a sampler
      transposes a hit (its length changes with it);
    * ``time_shift`` — delayed (zeros before) or advanced (its start dropped, zeros after) by up to
      this many samples;
    * ``gain_range`` — scaled by a gain drawn uniformly from ``(low, high)``.

    Notebook: 04_wavegan.

    Parameters
    ----------
    files : list of Path
        Audio files (any rate; resampled to ``sample_rate``).
    sample_rate : int
    slice_len : int
        Samples per item.
    normalize : bool
        Peak-normalise each whole file to 0.95 (the official loader scales to 1.0).
    first_slice : bool
        Slice from the start instead of a random offset.
    gain_range : (float, float) or None
    pitch_shift : float
        Semitones (0: off).
    time_shift : int
        Samples (0: off).
    seed : int
    min_items : int
        Smallest number of items per epoch (files are cycled to reach it).
    cache_mb : float
        Keep decoded files in memory up to this many megabytes (per worker process).

    Examples
    --------
    >>> data = AudioSlices(files, 16000, 16384, first_slice=True)   # doctest: +SKIP
    >>> data[0]["audio"].shape                                      # doctest: +SKIP
    torch.Size([1, 16384])

    Returns items ``{"audio": (1, slice_len) float32}``.
    """

    def __init__(self, files, sample_rate: int, slice_len: int, *, normalize: bool = True, first_slice: bool = False,
                 gain_range: tuple[float, float] | None = None, pitch_shift: float = 0.0, time_shift: int = 0,
                 seed: int = 0, min_items: int = 1, cache_mb: float = 1024.0):
        super().__init__(files, sample_rate, slice_len, normalize=normalize, seed=seed, min_items=min_items,
                         cache_mb=cache_mb, what="slice")
        self.slice_len = int(slice_len)
        self.first_slice = bool(first_slice)
        self.gain_range = None if gain_range is None else (float(gain_range[0]), float(gain_range[1]))
        self.pitch_shift, self.time_shift = float(pitch_shift), int(time_shift)
        self._check_headers(warn_short=False)  # short one-shots are the point: padded, as the official --data_pad_end

    def _slice(self, y: np.ndarray, length: int, rng) -> np.ndarray:
        """``length`` samples of ``y`` from its start or a random offset, zero-padded at the end."""
        if len(y) > length and not self.first_slice:
            start = int(rng.integers(0, len(y) - length + 1))
            y = y[start:start + length]
        y = y[:length]
        return np.pad(y, (0, length - len(y)))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        y = self._decodable(index)
        rng = np.random.default_rng((self.seed, self.epoch, index))
        T = self.slice_len
        if self.pitch_shift > 0:
            import librosa

            ratio = 2.0 ** (rng.uniform(-self.pitch_shift, self.pitch_shift) / 12.0)  # > 1: higher and shorter
            # the slice needs ratio · T samples of the clip; a few more keep the resampler's edge outside it
            piece = self._slice(y, int(math.ceil(T * ratio)) + 64, rng)
            piece = librosa.resample(piece, orig_sr=self.sample_rate * ratio, target_sr=self.sample_rate,
                                     res_type="soxr_hq")
            segment = np.pad(piece[:T], (0, max(0, T - len(piece))))
        else:
            segment = self._slice(y, T, rng)
        if self.time_shift > 0:
            shift = int(rng.integers(-self.time_shift, self.time_shift + 1))  # > 0: later
            segment = np.roll(segment, shift)
            if shift > 0:
                segment[:shift] = 0.0
            elif shift < 0:
                segment[shift:] = 0.0
        if self.gain_range is not None:
            segment = segment * np.float32(rng.uniform(*self.gain_range))
        return {"audio": torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))[None]}  # (1, T)

    def reference(self, limit: int | None = None) -> np.ndarray:
        """Real slices to compare generated audio with (NDB): deterministic, not augmented.

        One slice per file — its start with ``first_slice``, otherwise at an offset fixed by
        the seed — for at most ``limit`` files spread evenly over the list.

        Notebook: 04_wavegan.

        Parameters
        ----------
        limit : int, optional
            Most slices to return (all files when ``None``).

        Returns
        -------
        slices : np.ndarray [shape=(n, slice_len), dtype=float32]
        """
        n = len(self.files) if limit is None else min(int(limit), len(self.files))
        picks = np.linspace(0, len(self.files) - 1, n).round().astype(int) if n else []
        out = []
        for file_index in picks:
            try:
                y = self._cached(int(file_index))
            except VoclabError:
                continue
            out.append(self._slice(y, self.slice_len, np.random.default_rng((self.seed, _REFERENCE_EPOCH, int(file_index)))))
        return np.stack(out).astype(np.float32) if out else np.zeros((0, self.slice_len), np.float32)


def note_pitches(folder: str | Path, files) -> list[int]:
    """The MIDI pitch of each note file, from the folder's NSynth labels (``examples.json``).

    ``voclab prepare --nsynth-fluid`` and ``voclab prepare --nsynth`` write ``OUT/examples.json``:
    NSynth's labels keyed by ``note_str``, each with ``"pitch"`` and the note's ``"path"``
    inside the folder (``"wavs/<note_str>.flac"``). A file is matched by that path, or else
    by its name without the extension (NSynth's own ``audio/<note_str>.wav``).

    Notebook: 05_gansynth.

    Parameters
    ----------
    folder : str or Path
        The prepared folder (with ``examples.json``).
    files : list of Path
        Note files inside it (e.g. from :func:`split_files`).

    Returns
    -------
    pitches : list of int
        One MIDI number per file.

    Raises
    ------
    voclab.errors.DataError
        No ``examples.json`` (the message says how to make one), an unreadable one, or a file
        it has no pitch for.

    Examples
    --------
    >>> note_pitches("data/nsynth_fluid", [Path("data/nsynth_fluid/wavs/x-060-127.flac")])  # doctest: +SKIP
    [60]
    """
    folder = Path(folder)
    path = folder / EXAMPLES_FILE
    if not path.is_file():
        raise DataError(
            f"{folder} has no {EXAMPLES_FILE}: a pitch-conditional model (GANSynth) learns from notes labelled with "
            "their pitch. Make such a folder with `voclab prepare --nsynth-fluid -o DIR` (notes rendered from a "
            "free SoundFont) or `voclab prepare --nsynth NSYNTH_SPLIT_DIR -o DIR`, and train on DIR.")
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"{path} cannot be read ({err}); re-run `voclab prepare --nsynth-fluid` (or --nsynth).") \
            from None
    if not isinstance(labels, dict):
        raise DataError(f"{path} is not NSynth's examples.json (one object of labels keyed by note_str); re-run "
                        "`voclab prepare --nsynth-fluid` (or --nsynth).")
    by_path, by_name = {}, {}
    for note_str, label in labels.items():
        if not isinstance(label, dict) or not isinstance(label.get("pitch"), int):
            raise DataError(f"{path}: the label of {note_str!r} has no integer \"pitch\"; re-run `voclab prepare "
                            "--nsynth-fluid` (or --nsynth).")
        if isinstance(label.get("path"), str):
            by_path[(folder / label["path"]).resolve()] = label["pitch"]
        by_name[str(note_str)] = label["pitch"]
    pitches = []
    for file in files:
        file = Path(file)
        pitch = by_path.get(file.resolve(), by_name.get(file.stem))
        if pitch is None:
            raise DataError(f"{path} has no label for {file.name}: every note needs its pitch. Re-run `voclab "
                            "prepare --nsynth-fluid` (or --nsynth), or remove the file from train.txt.")
        pitches.append(int(pitch))
    return pitches


class LabelledNotes(_AudioClips):
    """Notes with their pitch, as pictures: what a pitch-conditional model (GANSynth) learns from.

    Item ``i`` is note ``i % len(files)``: the file read at the picture's sample rate,
    peak-normalised, its first ``audio_length`` samples (zero-padded at the end when shorter),
    turned into the normalised (log-magnitude, IF) picture of :func:`voclab.specgram.to_specgram`,
    with the note's MIDI pitch. GANSynth trains on whole notes without augmentation, so an
    item depends on its file alone and pictures are cached in memory (up to ``cache_mb``; a
    course-size picture of 2 × 128 × 256 float32 is 256 KiB, a paper-size one 1 MiB).

    Notebook: 05_gansynth.

    Parameters
    ----------
    files : list of Path
        Note files (any rate; resampled).
    pitches : list of int
        The MIDI pitch of each file (:func:`note_pitches`).
    specgram : voclab.specgram.SpecgramConfig
        The picture's settings (rate, length, STFT, mel bins, normaliser).
    normalize : bool
        Peak-normalise each note to 0.95 before its picture is made.
    seed : int
        Kept for the loop's interface (items are not random).
    min_items : int
        Smallest number of items per epoch (notes are cycled to reach it).
    cache_mb : float
        Keep pictures in memory up to this many megabytes (per worker process).

    Raises
    ------
    voclab.errors.DataError
        No files, a different number of pitches, or no decodable file.

    Examples
    --------
    >>> notes = LabelledNotes(files, [60, 62], SpecgramConfig.preset("course"))   # doctest: +SKIP
    >>> notes[0]["spec"].shape, notes[0]["pitch"]                                  # doctest: +SKIP
    (torch.Size([2, 128, 256]), tensor(60))

    Returns items ``{"spec": (2, frames, bins) float32, "pitch": () int64}``.
    """

    def __init__(self, files, pitches, specgram, *, normalize: bool = True, seed: int = 0, min_items: int = 1,
                 cache_mb: float = 1024.0):
        files = [Path(f) for f in files]
        pitches = [int(p) for p in pitches]
        if len(pitches) != len(files):
            raise DataError(f"LabelledNotes needs one pitch per file: {len(files)} files, {len(pitches)} pitches.")
        super().__init__(files, specgram.sample_rate, specgram.audio_length, normalize=normalize, seed=seed,
                         min_items=min_items, cache_mb=cache_mb, what="note")
        self.specgram = specgram
        pitch_of = dict(zip(self.files, pitches))
        self._check_headers(warn_short=False)  # NSynth's notes are 4 s; a shorter one is padded with silence
        self.pitches = [pitch_of[f] for f in self.files]

    def note_audio(self, file_index: int) -> np.ndarray:
        """Note ``file_index`` as the picture sees it: ``(audio_length,)`` float32, peak-normalised, padded or cut.

        Notebook: 05_gansynth.

        Parameters
        ----------
        file_index : int

        Returns
        -------
        audio : np.ndarray [shape=(audio_length,), dtype=float32]
        """
        y = super()._load(file_index)[: self._length]
        return np.pad(y, (0, self._length - len(y))).astype(np.float32)

    def _load(self, file_index: int) -> np.ndarray:
        from .specgram import to_specgram

        return np.ascontiguousarray(to_specgram(self.note_audio(file_index), self.specgram), dtype=np.float32)

    def _decodable_index(self, index: int) -> int:
        """The file of item ``index``, or the next one that decodes (as :meth:`_decodable` picks it)."""
        for attempt in range(len(self.files)):
            candidate = (index + attempt) % len(self.files)
            if candidate not in self._bad:
                return candidate
        raise DataError("None of the training notes could be decoded as audio.")

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        spec = self._decodable(index)
        file_index = self._decodable_index(index % len(self.files))
        return {"spec": torch.from_numpy(spec), "pitch": torch.tensor(self.pitches[file_index], dtype=torch.long)}

    def reference(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Real notes to compare generated ones with (NDB), and their pitches: at most ``limit``, spread over the list.

        Notebook: 05_gansynth.

        Parameters
        ----------
        limit : int, optional
            Most notes to return (all when ``None``).

        Returns
        -------
        audio : np.ndarray [shape=(n, audio_length), dtype=float32]
        pitches : np.ndarray [shape=(n,), dtype=int64]
        """
        n = len(self.files) if limit is None else min(int(limit), len(self.files))
        picks = np.unique(np.linspace(0, len(self.files) - 1, n).round().astype(int)) if n else []
        audio, pitches = [], []
        for file_index in picks:
            try:
                audio.append(self.note_audio(int(file_index)))
            except VoclabError:
                continue
            pitches.append(self.pitches[int(file_index)])
        if not audio:
            return np.zeros((0, self._length), np.float32), np.zeros(0, np.int64)
        return np.stack(audio), np.asarray(pitches, np.int64)


def _item(segment: np.ndarray, log_mel: np.ndarray) -> dict[str, torch.Tensor]:
    return {
        "audio": torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))[None],  # (1, T)
        "mel": torch.from_numpy(np.ascontiguousarray(log_mel, dtype=np.float32)),  # (n_mels, T // hop)
    }
