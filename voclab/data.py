"""The course's data: shipped clips, a seeded mini-NSynth, and test signals with known answers.

Everything here works offline. Three kinds of audio:

* **Shipped clips** in ``data/`` (real speech, real instruments, thirty drum hits and twenty
  NSynth-style notes, small and permissively licensed; see ``data/LICENSES.md``), described
  by ``data/manifest.json`` and rebuilt by ``python tools/build_data.py``: :func:`list_clips`,
  :func:`clip_info`, :func:`load_clip`, :func:`load_drums`, :func:`load_notes`, :func:`verify_data`.
* **A procedural mini-NSynth** (:func:`mini_nsynth`): hundreds of labelled 4 s notes made by
  classic synthesis methods, bit-identical for a seed, generated lazily note by note.
* **Test signals** whose answer is known in advance (:func:`chirp`, :func:`harmonic_stack`,
  :func:`source_filter_speech`), for checking an STFT, a pitch tracker or a vocoder.

Notebook: every notebook loads its audio from here; 01_phase_and_griffin_lim introduces it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter
from scipy.special import j1

from .audio import load
from .errors import AudioFileNotFoundError, ConfigError, DataError

__all__ = [
    "data_dir",
    "list_clips",
    "clip_info",
    "load_clip",
    "load_drums",
    "load_notes",
    "verify_data",
    "chirp",
    "harmonic_stack",
    "source_filter_speech",
    "mini_nsynth",
    "MiniNSynth",
    "Note",
    "FAMILIES",
    "HARMONIC_FAMILIES",
    "VELOCITIES",
    "midi_to_hz",
]

#: The kinds of clip shipped in ``data/`` (one sub-folder each).
KINDS = ("speech", "instrument", "drums", "notes")
MANIFEST = "manifest.json"
LICENSES = "LICENSES.md"
_REBUILD_HINT = "Rebuild it with `python tools/build_data.py` (from a checkout of the course)."


# --------------------------------------------------------------------------------------
# Shipped clips
# --------------------------------------------------------------------------------------


def data_dir() -> Path:
    """Return the folder that holds the shipped clips.

    That is ``voclab/_data`` in an installed wheel (``pip install .``), else the ``data/``
    folder of the source checkout next to the ``voclab`` package (an editable install),
    unless the environment variable ``VOCLAB_DATA`` names another folder (useful for tests,
    or for an install that keeps its data elsewhere).

    Notebook: 01_phase_and_griffin_lim.

    Returns
    -------
    path : Path
        An absolute path; it is not checked to exist (see :func:`verify_data`).

    Examples
    --------
    >>> data_dir().name  # doctest: +SKIP
    'data'
    """
    override = os.environ.get("VOCLAB_DATA", "").strip()
    if override:
        return Path(override).expanduser().resolve()
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / MANIFEST).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "data"


def _read_manifest() -> dict:
    path = data_dir() / MANIFEST
    if not path.is_file():
        raise DataError(f"No clip manifest at {path}. {_REBUILD_HINT}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}). {_REBUILD_HINT}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("clips"), list):
        raise DataError(f"{path} has no list of 'clips'. {_REBUILD_HINT}")
    return manifest


def _clips() -> dict[str, dict]:
    return {clip["name"]: clip for clip in _read_manifest()["clips"]}


def _unknown_clip(name: str, known: Iterable[str]) -> DataError:
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DataError(f"No shipped clip is called {name!r}.{hint} Valid names: {', '.join(known)}.")


def list_clips(kind: str | None = None) -> list[str]:
    """Name the clips shipped in ``data/``.

    Notebook: 01_phase_and_griffin_lim (and 06_melgan, 08_vocoder_shootout for speech).

    Parameters
    ----------
    kind : {None, "speech", "instrument", "drums", "notes"}
        Only clips of this kind; ``None`` lists them all.

    Returns
    -------
    names : list of str
        Sorted clip names, each accepted by :func:`load_clip` and :func:`clip_info`.

    Raises
    ------
    voclab.errors.DataError
        ``kind`` is not one of the kinds, or the manifest is missing.

    Examples
    --------
    >>> list_clips("speech")[:2]  # doctest: +SKIP
    ['arctic_a0007', 'arctic_a0009']
    """
    if kind is not None and kind not in KINDS:
        raise DataError(f"kind={kind!r} is not a kind of clip; use one of {KINDS} or None.")
    return sorted(name for name, clip in _clips().items() if kind in (None, clip["kind"]))


def clip_info(name: str) -> dict:
    """Return what the manifest says about one clip.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    name : str
        A name from :func:`list_clips`.

    Returns
    -------
    info : dict
        A copy of the manifest entry: ``name``, ``path`` (relative to :func:`data_dir`),
        ``kind``, ``sample_rate``, ``n_samples``, ``duration_s``, ``sha256``, ``source``,
        ``licence``, and where known ``transcript``, ``speaker``, ``pitch``, ``velocity``,
        ``family``.

    Raises
    ------
    voclab.errors.DataError
        No clip has that name; the message lists the valid names.
    """
    clips = _clips()
    if name not in clips:
        raise _unknown_clip(name, clips)
    return dict(clips[name])


def load_clip(name: str, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Load a shipped clip as a float32 mono waveform.

    Notebook: 01_phase_and_griffin_lim (speech for Griffin-Lim), 03_wavenet (a clip to
    overfit), 06_melgan and 08_vocoder_shootout (mel-to-audio on real speech).

    Parameters
    ----------
    name : str
        A name from :func:`list_clips`, e.g. ``"arctic_a0007"``.
    sr : int, optional
        Resample to this rate in Hz; ``None`` keeps the clip's own rate (16 kHz for
        speech, see :func:`clip_info`).

    Returns
    -------
    y : np.ndarray [shape=(samples,), dtype=float32]
        The waveform, peak-normalised when shipped (see the manifest).
    sr : int
        Its sample rate.

    Raises
    ------
    voclab.errors.DataError
        No clip has that name; the message lists the valid names and a close match.
    voclab.errors.AudioFileNotFoundError
        The manifest names the clip but its file is gone.

    Examples
    --------
    >>> y, sr = load_clip("arctic_a0007")  # doctest: +SKIP
    >>> y.shape, sr  # doctest: +SKIP
    ((64000,), 16000)
    """
    info = clip_info(name)
    path = data_dir() / info["path"]
    if not path.is_file():
        raise AudioFileNotFoundError(
            f"Clip {name!r} should be at {path} but is not. {_REBUILD_HINT}"
        )
    return load(path, sr=sr)


def load_drums(sr: int = 16000, slice_len: int | None = 16384) -> tuple[np.ndarray, list[str]]:
    """Load the thirty shipped drum hits as one array of equal-length slices.

    WaveGAN (Donahue et al. 2019) learns from slices of 16384 samples (about 1 s at
    16 kHz); the shipped hits are one-shots cut to what each needs (0.03-1.02 s), so each is
    zero-padded at the end to ``slice_len`` (or cut there, with a 50 ms fade-out, when
    ``slice_len`` is shorter than the hit). Every hit starts at its onset and peaks at 0.9.
    Half are CC0 recordings from Sonic Pi, half General MIDI percussion rendered from the
    FluidR3_GM soundfont (MIT); ``clip_info(name)`` tells each one's source and licence.
    The full corpus of about 470 hits is built by ``voclab prepare --drums``.

    Notebook: 04_wavegan (training a small WaveGAN; NDB; nearest neighbours).

    Parameters
    ----------
    sr : int
        Sample rate in Hz (the hits are shipped at 16 kHz; another rate resamples them).
    slice_len : int or None
        Samples per hit; ``None`` pads to the longest hit.

    Returns
    -------
    hits : np.ndarray [shape=(30, slice_len), dtype=float32]
        One hit per row, in the order of ``names``.
    names : list of str
        The clip names (``list_clips("drums")``), sorted.

    Raises
    ------
    voclab.errors.ConfigError
        A non-positive ``sr`` or ``slice_len``.
    voclab.errors.DataError
        The manifest lists no drum hits (an old ``data/``); rebuild it.

    Examples
    --------
    >>> hits, names = load_drums()  # doctest: +SKIP
    >>> hits.shape, names[0]  # doctest: +SKIP
    ((30, 16384), 'fluidr3_brush_038_acoustic_snare')
    """
    if int(sr) <= 0 or (slice_len is not None and int(slice_len) <= 0):
        raise ConfigError(f"sr and slice_len must be positive, got sr={sr}, slice_len={slice_len}.")
    names = list_clips("drums")
    if not names:
        raise DataError(f"{data_dir() / MANIFEST} lists no drum hits. {_REBUILD_HINT}")
    waves = [load_clip(name, sr=int(sr))[0] for name in names]
    length = max(w.size for w in waves) if slice_len is None else int(slice_len)
    hits = np.zeros((len(waves), length), dtype=np.float32)
    fade = min(int(round(0.05 * sr)), length)
    ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
    for row, wave in zip(hits, waves):
        if wave.size > length:
            row[:] = wave[:length]
            row[-fade:] *= ramp
        else:
            row[: wave.size] = wave
    return hits, names


#: The labels :func:`load_notes` returns for each note: NSynth's, and the General MIDI program.
NOTE_LABELS = ("note_str", "pitch", "velocity", "instrument", "instrument_str", "instrument_family",
               "instrument_family_str", "instrument_source", "instrument_source_str", "gm_program", "gm_name")


def load_notes(sr: int = 16000) -> tuple[np.ndarray, list[dict]]:
    """Load the twenty shipped NSynth-style notes, with their labels.

    GANSynth (Engel et al., ICLR 2019) learns from NSynth's acoustic notes: 4 s at 16 kHz,
    the key held for 3 s and then released, labelled with a MIDI pitch. The shipped notes
    are four FluidR3_GM instruments (MIT) — acoustic grand piano, nylon guitar, cello and
    French horn — each at MIDI 48, 55, 60, 67 and 72, velocity 127, rendered by
    ``voclab.prepare.render_note`` exactly as ``voclab prepare --nsynth-fluid`` renders its
    corpus (about 7000 such notes), and named like NSynth's notes
    (``keyboard_acoustic_000-060-127``). They are not normalised: one fixed gain, as in
    the corpus. Enough for a quick look at pitch conditioning, too few to train a GAN.

    Notebook: 05_gansynth (the quick tier; pitch accuracy of real notes).

    Parameters
    ----------
    sr : int
        Sample rate in Hz (the notes are shipped at 16 kHz; another rate resamples them).

    Returns
    -------
    audio : np.ndarray [shape=(20, 4 * sr), dtype=float32]
        One note per row, in the order of ``labels``.
    labels : list of dict
        Per note, sorted by name: NSynth's ``note_str``, ``pitch``, ``velocity``,
        ``instrument``, ``instrument_str``, ``instrument_family``, ``instrument_family_str``,
        ``instrument_source``, ``instrument_source_str``, and ``gm_program``, ``gm_name``.

    Raises
    ------
    voclab.errors.ConfigError
        A non-positive ``sr``.
    voclab.errors.DataError
        The manifest lists no notes (an old ``data/``); rebuild it.

    Examples
    --------
    >>> audio, labels = load_notes()  # doctest: +SKIP
    >>> audio.shape, labels[0]["note_str"], labels[0]["pitch"]  # doctest: +SKIP
    ((20, 64000), 'brass_acoustic_060-048-127', 48)
    """
    if int(sr) != sr or sr <= 0:
        raise ConfigError(f"sr must be a positive number of Hz, got {sr!r}.")
    names = list_clips("notes")
    if not names:
        raise DataError(f"{data_dir() / MANIFEST} lists no notes. {_REBUILD_HINT}")
    waves = [load_clip(name, sr=int(sr))[0] for name in names]
    length = max(wave.size for wave in waves)
    audio = np.zeros((len(waves), length), dtype=np.float32)
    for row, wave in zip(audio, waves):
        row[: wave.size] = wave
    labels = []
    for name in names:
        info = clip_info(name)
        labels.append({key: info[key] for key in NOTE_LABELS})
    return audio, labels


def _sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB blocks: the checksum of shipped, prepared and pretrained files."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_clip(root: Path, clip: dict) -> list[str]:
    import soundfile as sf

    path = root / clip["path"]
    if not path.is_file():
        return [f"missing file: {clip['path']} (clip {clip['name']!r})"]
    if _sha256(path) != clip["sha256"]:
        return [f"checksum mismatch: {clip['path']} differs from the manifest's sha256"]
    try:
        header = sf.info(str(path))
    except Exception as err:  # a file with the right checksum should decode; say so if not
        return [f"unreadable audio: {clip['path']} ({err})"]
    if header.samplerate != clip["sample_rate"] or header.frames != clip["n_samples"]:
        return [
            f"header mismatch: {clip['path']} is {header.frames} samples at "
            f"{header.samplerate} Hz, the manifest says {clip['n_samples']} at "
            f"{clip['sample_rate']} Hz"
        ]
    return []


def verify_data() -> list[str]:
    """Check ``data/`` against its manifest, without changing anything.

    Looks for missing files, checksum (sha256) mismatches, headers that disagree with the
    manifest, files in the clip folders that the manifest does not name, and clips that
    ``LICENSES.md`` does not mention. Used by ``voclab doctor`` and the test suite.

    Notebook: 01_phase_and_griffin_lim (the set-up cell).

    Returns
    -------
    problems : list of str
        One plain sentence per problem; empty when everything is in order.

    Examples
    --------
    >>> verify_data()  # doctest: +SKIP
    []
    """
    root = data_dir()
    try:
        clips = _read_manifest()["clips"]
    except DataError as err:
        return [str(err)]
    problems: list[str] = []
    for clip in clips:
        problems += _check_clip(root, clip)
    problems += _extra_files(root, {clip["path"] for clip in clips})
    problems += _unlicensed(root, [clip["path"] for clip in clips])
    return problems


def _extra_files(root: Path, known: set[str]) -> list[str]:
    extra = []
    for kind in KINDS:
        folder = root / kind
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and not path.name.startswith(".") and rel not in known:
                    extra.append(f"extra file: {rel} is not in the manifest")
    return extra


def _unlicensed(root: Path, paths: list[str]) -> list[str]:
    licences = root / LICENSES
    if not licences.is_file():
        return [f"missing file: {LICENSES} (every shipped clip needs its licence line)"]
    text = licences.read_text(encoding="utf-8")
    return [
        f"no licence line: {path} is not mentioned in {LICENSES}"
        for path in paths
        if path not in text
    ]


# --------------------------------------------------------------------------------------
# Test signals with known answers
# --------------------------------------------------------------------------------------


def _check_rate_and_duration(sr: float, duration: float) -> int:
    if not sr > 0 or not duration > 0:
        raise ConfigError(f"sr and duration must be positive, got sr={sr}, duration={duration}.")
    n = int(round(duration * sr))
    if n < 1:
        raise ConfigError(f"duration={duration} s at sr={sr} Hz is shorter than one sample.")
    return n


def _check_below_nyquist(freqs: Iterable[float], sr: float, what: str) -> None:
    for f in freqs:
        if not 0 <= f < sr / 2:
            raise ConfigError(
                f"{what} {f:g} Hz must lie in [0, sr/2) = [0, {sr / 2:g}) Hz; above sr/2 it "
                "would alias. Lower the frequency or raise sr."
            )


def chirp(duration: float, sr: int, f0: float, f1: float, method: str = "log") -> np.ndarray:
    """A sine sweep whose instantaneous frequency is known at every sample.

    With ``T = duration`` and ``t`` in seconds, the instantaneous frequency is

    * ``"linear"``: ``f(t) = f0 + (f1 - f0) t / T``
    * ``"log"`` (exponential): ``f(t) = f0 (f1 / f0) ** (t / T)``, equal time per octave,

    and the waveform is ``sin(2π ∫ f)``, starting at phase 0.

    Notebook: 01_phase_and_griffin_lim (what an STFT sees), 05_gansynth_instantaneous_frequency
    (the IF of a chirp is this known ``f(t)``).

    Parameters
    ----------
    duration : float
        Length in seconds.
    sr : int
        Sample rate in Hz.
    f0, f1 : float
        Start and end frequency in Hz, below ``sr / 2`` (and above 0 for ``"log"``).
    method : {"log", "linear"}

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Unit-amplitude sweep.

    Raises
    ------
    voclab.errors.ConfigError
        A frequency at or above Nyquist, a non-positive frequency for ``"log"``, or an
        unknown method.

    Examples
    --------
    >>> y = chirp(1.0, 16000, 100, 4000)
    >>> y.shape, y.dtype
    ((16000,), dtype('float32'))
    """
    n = _check_rate_and_duration(sr, duration)
    _check_below_nyquist((f0, f1), sr, "chirp frequency")
    t = np.arange(n) / sr
    if method == "linear":
        phase = f0 * t + (f1 - f0) * t**2 / (2 * duration)
    elif method == "log":
        if f0 <= 0 or f1 <= 0:
            raise ConfigError(
                "a log chirp needs f0 > 0 and f1 > 0; use method='linear' to start at 0 Hz."
            )
        if f0 == f1:
            phase = f0 * t
        else:
            k = math.log(f1 / f0)  # the frequency's growth rate, per duration
            phase = f0 * duration / k * np.expm1(k * t / duration)
    else:
        raise ConfigError(f"method={method!r} is not a chirp method; use 'log' or 'linear'.")
    return np.sin(2 * np.pi * phase).astype(np.float32)


def harmonic_stack(
    f0: float,
    sr: int,
    duration: float,
    n_harmonics: int,
    amplitudes: Sequence[float] | None = None,
) -> np.ndarray:
    """A sum of harmonics ``k * f0`` (k = 1..n_harmonics): a spectrum with known peaks.

    ``y(t) = Σ_k a_k sin(2π k f0 t) / Σ_k |a_k|``, so ``|y| <= 1`` always.

    Notebook: 01_phase_and_griffin_lim (harmonics in a spectrogram),
    05_gansynth_instantaneous_frequency (constant IF per harmonic).

    Parameters
    ----------
    f0 : float
        Fundamental frequency in Hz.
    sr : int
        Sample rate in Hz.
    duration : float
        Length in seconds.
    n_harmonics : int
        How many harmonics; the highest, ``n_harmonics * f0``, must be below ``sr / 2``.
    amplitudes : sequence of float, optional
        One amplitude per harmonic; default ``1 / k`` (a band-limited sawtooth).

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]

    Raises
    ------
    voclab.errors.ConfigError
        A harmonic at or above Nyquist (the message says how many fit), or amplitudes of
        the wrong length or all zero.

    Examples
    --------
    >>> y = harmonic_stack(220.0, 16000, 0.5, 10)
    >>> float(abs(y).max()) <= 1.0
    True
    """
    n = _check_rate_and_duration(sr, duration)
    if int(n_harmonics) < 1 or f0 <= 0:
        raise ConfigError(
            f"need f0 > 0 and n_harmonics >= 1, got f0={f0}, n_harmonics={n_harmonics}."
        )
    n_harmonics = int(n_harmonics)
    if n_harmonics * f0 >= sr / 2:
        fits = math.ceil(sr / 2 / f0) - 1
        raise ConfigError(
            f"harmonic {n_harmonics} of {f0:g} Hz is at {n_harmonics * f0:g} Hz, at or above "
            f"sr/2 = {sr / 2:g} Hz; at most {fits} harmonics fit (or raise sr)."
        )
    k = np.arange(1, n_harmonics + 1)
    amps = 1.0 / k if amplitudes is None else np.asarray(amplitudes, dtype=np.float64)
    if amps.shape != (n_harmonics,) or not np.any(amps):
        raise ConfigError(
            f"amplitudes must be {n_harmonics} numbers, not all zero; got shape {amps.shape}."
        )
    t = np.arange(n) / sr
    y = np.zeros(n)
    for harmonic, amp in zip(k, amps, strict=True):
        if amp:
            y += amp * np.sin(2 * np.pi * harmonic * f0 * t)
    return (y / np.abs(amps).sum()).astype(np.float32)


# Rosenberg-style glottal pulse: the flow opens over _OPEN and closes over _CLOSE of a period.
# These values give H1 - H2 of about 4 dB at the source, typical of a modal (relaxed) voice.
_OPEN, _CLOSE = 0.45, 0.20


def _glottal_derivative(phase_frac: np.ndarray) -> np.ndarray:
    """Derivative of a Rosenberg glottal flow pulse, as a function of phase in [0, 1).

    The flow rises as a half cosine, falls as a quarter cosine and then stays shut; its
    derivative (the flow as radiated from the lips) ends each open phase with a sharp
    negative step, the glottal closure that excites the vocal tract.
    """
    u = phase_frac
    rise = 0.5 * np.pi / _OPEN * np.sin(np.pi * u / _OPEN)
    fall = -np.pi / (2 * _CLOSE) * np.sin(np.pi * (u - _OPEN) / (2 * _CLOSE))
    return np.where(u < _OPEN, rise, np.where(u < _OPEN + _CLOSE, fall, 0.0))


def _resonator(x: np.ndarray, freq: float, bandwidth: float, sr: float) -> np.ndarray:
    """Klatt's two-pole resonator: a formant at ``freq`` Hz, unity gain at 0 Hz."""
    r = math.exp(-math.pi * bandwidth / sr)
    b1 = 2 * r * math.cos(2 * math.pi * freq / sr)
    b2 = -r * r
    return lfilter([1.0 - b1 - b2], [1.0, -b1, -b2], x)


def _formant_filter(
    x: np.ndarray, formants: Iterable[tuple[float, float]], sr: float
) -> np.ndarray:
    for freq, bandwidth in formants:  # a cascade, as in a serial formant synthesiser
        x = _resonator(x, freq, bandwidth, sr)
    return x


def source_filter_speech(
    sr: int = 16000,
    duration: float = 2.0,
    f0_contour: Sequence[float] = (120, 180, 100),
    formants: Sequence[tuple[float, float]] = ((700, 80), (1220, 90), (2600, 120)),
    seed: int = 0,
    *,
    return_f0: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """A speech-like vowel from the source-filter model, with a known f0 and known formants.

    A train of glottal pulses (Rosenberg shape, differentiated for lip radiation) follows
    the f0 contour, picks up a little breath noise, and passes through a cascade of
    two-pole formant resonators. Its spectrum has harmonics at ``k * f0(t)`` under an
    envelope that peaks near each formant frequency: the textbook picture of a vowel.

    Notebook: 01_phase_and_griffin_lim (a clean "voice" to invert), 03_wavenet and
    06_melgan (a conditioning signal whose pitch is known).

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    duration : float
        Length in seconds.
    f0_contour : sequence of float
        Fundamental frequency in Hz at evenly spaced times from start to end, linearly
        interpolated in between (one value: a monotone).
    formants : sequence of (frequency, bandwidth) in Hz
        Default: an /a/-like vowel (700, 1220, 2600 Hz).
    seed : int
        Seeds the breath noise and the slight pitch jitter; same seed, same waveform.
    return_f0 : bool
        Also return the f0 used at every sample.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Peak-normalised to 0.9.
    f0 : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Only with ``return_f0=True``: the instantaneous f0 in Hz (contour plus jitter).

    Raises
    ------
    voclab.errors.ConfigError
        An empty or non-positive f0 contour, or a frequency at or above ``sr / 2``.

    Examples
    --------
    >>> y, f0 = source_filter_speech(return_f0=True)
    >>> y.shape == f0.shape == (32000,)
    True
    """
    n = _check_rate_and_duration(sr, duration)
    contour = np.asarray(f0_contour, dtype=np.float64).reshape(-1)
    if contour.size == 0 or np.any(contour <= 0):
        raise ConfigError(
            f"f0_contour needs at least one positive frequency, got {tuple(f0_contour)}."
        )
    _check_below_nyquist(contour, sr, "f0")
    _check_below_nyquist([f for f, _ in formants], sr, "formant")
    rng = np.random.default_rng(seed)
    knots = np.linspace(0, n - 1, contour.size) if contour.size > 1 else np.array([0.0])
    f0 = np.interp(np.arange(n), knots, contour)
    f0 = f0 * (1 + 0.004 * _smooth_noise(rng, n, sr, 30.0))  # ±0.4 % jitter: less robotic
    phase = np.cumsum(f0) / sr
    source = _glottal_derivative(phase % 1.0)
    source += 0.02 * np.abs(source).max() * _breath(rng, n)
    y = _formant_filter(source, formants, sr)
    y = (0.9 * y / np.abs(y).max()).astype(np.float32)
    return (y, f0.astype(np.float32)) if return_f0 else y


def _breath(rng: np.random.Generator, n: int) -> np.ndarray:
    """White noise with its lowest frequencies removed (a first difference), for aspiration."""
    return lfilter([0.5, -0.5], [1.0], rng.standard_normal(n))


def _smooth_noise(rng: np.random.Generator, n: int, sr: float, cutoff_hz: float) -> np.ndarray:
    """Gaussian noise low-passed at ``cutoff_hz`` and scaled to unit peak."""
    a = math.exp(-2 * math.pi * cutoff_hz / sr)
    x = lfilter([1 - a], [1, -a], lfilter([1 - a], [1, -a], rng.standard_normal(n)))
    return x / max(np.abs(x).max(), 1e-12)


# --------------------------------------------------------------------------------------
# Mini-NSynth: synthesis voices
# --------------------------------------------------------------------------------------

#: NSynth's eleven instrument families (in NSynth's own id order), each with the
#: synthesis method that plays it here.
FAMILIES = {
    "bass": "plucked",  # Karplus-Strong, dark and short
    "brass": "fm",  # Chowning's brass: 1:1 FM whose index follows the loudness
    "flute": "additive",  # few harmonics, breath noise, delayed vibrato
    "guitar": "plucked",  # Karplus-Strong, bright, plucked at a chosen point
    "keyboard": "fm",  # electric piano: decaying FM index and amplitude
    "mallet": "modal",  # decaying inharmonic bar modes
    "organ": "additive",  # drawbar harmonics, flat sustain
    "reed": "subtractive",  # band-limited square through a low-pass filter
    "string": "additive",  # saw-like spectrum, slow bow attack, vibrato
    "synth_lead": "subtractive",  # detuned saws through a resonant filter sweep
    "vocal": "formant",  # glottal pulses through vowel formants
}
#: Families whose partials are harmonic, so their pitch is the fundamental's (all but mallet).
HARMONIC_FAMILIES = tuple(f for f in FAMILIES if FAMILIES[f] != "modal")
#: NSynth's five velocities.
VELOCITIES = (25, 50, 75, 100, 127)
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(pitch: float) -> float:
    """Frequency in Hz of a MIDI pitch (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def _note_name(pitch: int) -> str:
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _time(n: int, sr: float) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sr


def _envelope(n, sr, note_off, attack, release, decay=0.0, sustain=1.0):
    """Attack (linear), decay towards ``sustain`` (exponential), hold, then release.

    ``decay`` and ``release`` are T60 times: the time to fall by 60 dB.
    """
    t = _time(n, sr)
    env = np.minimum(t / max(attack, 1e-4), 1.0)
    if decay > 0:
        env *= sustain + (1 - sustain) * _t60_decay(np.maximum(t - attack, 0.0), decay)
    return env * _release(t, note_off, release)


def _t60_decay(t: np.ndarray, t60: float) -> np.ndarray:
    """``10 ** (-3 t / t60)``: falls by 60 dB in ``t60`` seconds (exp is faster than power)."""
    return np.exp(t * (-3 * math.log(10) / t60))


def _release(t: np.ndarray, note_off: float, t60: float) -> np.ndarray:
    env = np.ones_like(t)
    held = np.searchsorted(t, note_off)  # only the samples after note-off need work
    env[held:] = _t60_decay(t[held:] - note_off, t60)
    return env


def _vibrato_phase(f0, n, sr, rate=0.0, cents=0.0, delay=0.3, detune_cents=0.0):
    """Phase in cycles (float64) of a tone at ``f0``, its vibrato fading in after ``delay`` s."""
    t = _time(n, sr)
    if cents == 0:
        return f0 * 2.0 ** (detune_cents / 1200) * t
    fade_in = np.clip((t - delay) / 0.3, 0, 1).astype(np.float32)
    wobble = np.sin(np.float32(2 * np.pi * rate) * t.astype(np.float32))
    cents_t = detune_cents + np.float32(cents) * fade_in * wobble
    freq = f0 * np.exp2(cents_t / np.float32(1200))
    return np.cumsum(freq, dtype=np.float64) / sr


def _additive(phase: np.ndarray, amps: np.ndarray) -> np.ndarray:
    """Sum of harmonics ``a_k sin(2π k φ)``; float32 sines (vectorised, several times faster)."""
    frac = (phase % 1.0).astype(np.float32)
    y = np.zeros(phase.shape, dtype=np.float32)
    for k, amp in enumerate(amps, start=1):
        if amp:
            y += np.float32(amp) * np.sin(np.float32(2 * np.pi * k) * frac)
    return y


def _below_nyquist(f0: float, sr: float, count: int) -> np.ndarray:
    """1 for harmonics k = 1..count safely below Nyquist (vibrato included), else 0."""
    k = np.arange(1, count + 1, dtype=np.float64)
    return (k * f0 * 1.03 < 0.45 * sr).astype(np.float64)


def _polyblep(t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """PolyBLEP correction that removes most aliasing from a naive sawtooth's jump."""
    out = np.zeros_like(t)
    start = t < dt
    x = t[start] / dt[start]
    out[start] = 2 * x - x * x - 1
    end = t > 1 - dt
    x = (t[end] - 1) / dt[end]
    out[end] = x * x + 2 * x + 1
    return out


def _saw(phase: np.ndarray) -> np.ndarray:
    """Band-limited (polyBLEP) sawtooth from a phase in cycles."""
    dt = np.gradient(phase)  # cycles per sample = f / sr
    t = phase % 1.0
    return 2 * t - 1 - _polyblep(t, dt)


def _square(phase: np.ndarray) -> np.ndarray:
    # A square is the difference of two saws half a period apart (odd harmonics only).
    return 0.5 * (_saw(phase) - _saw(phase + 0.5))


def _swept_lowpass(x: np.ndarray, cutoff: np.ndarray, q: float, sr: float, block: int = 512):
    """Resonant 2-pole low-pass (RBJ cookbook) whose cutoff changes every ``block`` samples.

    A time-varying filter cannot be one ``lfilter`` call; filtering short blocks while
    carrying the filter state across them is cheap and smooth enough for a slow sweep.
    """
    y = np.empty_like(x)
    state = np.zeros(2)
    for start in range(0, x.size, block):
        w0 = 2 * np.pi * min(cutoff[start], 0.45 * sr) / sr
        alpha, cos_w0 = math.sin(w0) / (2 * q), math.cos(w0)
        b = np.array([(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]) / (1 + alpha)
        a = np.array([1.0, -2 * cos_w0 / (1 + alpha), (1 - alpha) / (1 + alpha)])
        y[start : start + block], state = lfilter(b, a, x[start : start + block], zi=state)
    return y


def _feedback_comb(x: np.ndarray, delay: int, taps: np.ndarray) -> np.ndarray:
    """``y[n] = x[n] + Σ_j taps[j] * y[n - delay - j]``: the Karplus-Strong string loop.

    ``lfilter`` runs over every coefficient of its (mostly zero) denominator, so it is
    slow for long delays; there we compute ``delay`` samples at a time instead, since a
    whole block depends only on earlier blocks.
    """
    if delay < 64:
        a = np.zeros(delay + taps.size)
        a[0] = 1.0
        a[delay:] -= taps
        return lfilter([1.0], a, x)
    pad = delay + taps.size - 1
    y = np.concatenate([np.zeros(pad), x])
    for start in range(pad, y.size, delay):
        stop = min(start + delay, y.size)
        for j, tap in enumerate(taps):
            y[start:stop] += tap * y[start - delay - j : stop - delay - j]
    return y[pad:]


def _voice_plucked(f0, n, sr, vel, p, rng, note_off):
    """Karplus-Strong: a plucked shape circulating in a tuned, lossy delay loop."""
    period = sr / f0
    x = np.zeros(n)
    burst = _pluck_excitation(int(round(period)), vel, p, rng)[:n]
    x[: burst.size] = burst
    # Loop filter: a 3-tap low-pass (delay 1) times a linear interpolator (delay frac),
    # so the loop's total delay is floor(period) + frac = period, and the note is in tune.
    whole = int(math.floor(period))
    frac = period - whole
    s = min(p["loss"], _max_loss(f0, sr, p["t60"]))
    gain = 10 ** (-3 * period / (p["t60"] * sr))  # per trip round the loop
    taps = gain * np.convolve([s, 1 - 2 * s, s], [1 - frac, frac])
    y = _feedback_comb(x, whole - 1, taps)
    return y * _release(_time(n, sr), note_off, 0.25)


def _pluck_excitation(length, vel, p, rng):
    """One period of initial string shape: a triangle peaked at the plucking point, plus noise.

    The triangle gives harmonics falling as ``sin(k π pos) / k**2`` (a clear fundamental,
    with notches set by where the string is plucked); low-passed noise adds the pick's
    brightness, more of it for harder plucks.
    """
    u = np.arange(length) / length
    pos = p["pluck_position"]
    shape = np.where(u < pos, u / pos, (1 - u) / (1 - pos))
    smooth = p["dark"] * (1.0 - 0.5 * vel)  # soft plucks are duller
    noise = lfilter([1 - smooth], [1, -smooth], rng.standard_normal(length))
    shape = shape + p["noise"] * (0.3 + 0.7 * vel) * noise / np.abs(noise).max()
    return shape - shape.mean()  # no DC: it would circulate in the loop forever


def _max_loss(f0: float, sr: float, t60: float) -> float:
    """Largest loop low-pass strength that still lets the fundamental ring for ``t60`` s.

    The loop filter ``[s, 1-2s, s]`` has gain ``1 - 2s(1 - cos w0)`` at the fundamental;
    high notes go round the loop more often per second, so they need a smaller ``s``.
    """
    per_trip = 10 ** (-3 / (t60 * f0))
    return (1 - per_trip) / (2 * (1 - math.cos(2 * math.pi * f0 / sr)))


def _voice_fm(f0, n, sr, vel, p, rng, note_off):
    """Two-operator FM: ``sin(2π φ + I(t) cos(2π r φ))``, harmonic for an integer ratio r.

    A cosine modulator (rather than a sine) keeps the fundamental the strongest partial
    for indices up to about 2.5; with a sine it vanishes near I = 1.84.
    """
    phase = _vibrato_phase(f0, n, sr, p["vibrato_rate"], p["vibrato_cents"])
    t = _time(n, sr)
    if p["kind"] == "brass":  # brightness follows loudness: the index tracks the envelope
        env = _envelope(n, sr, note_off, p["attack"], 0.2, decay=0.4, sustain=0.8)
        index = p["index"] * (0.4 + 0.6 * vel) * env
    else:  # electric piano: a bright strike that mellows while the note dies away
        env = _envelope(n, sr, note_off, 0.003, 0.4, decay=p["t60"], sustain=0.0)
        index = p["index"] * (0.3 + 0.7 * vel) * (0.15 + 0.85 * np.exp(-t / p["index_decay"]))
    frac = (phase % 1.0).astype(np.float32)  # float32 sines are several times faster
    two_pi = np.float32(2 * np.pi)
    modulator = np.cos(two_pi * ((np.float32(p["ratio"]) * frac) % 1))
    y = np.sin(two_pi * frac + index.astype(np.float32) * modulator)
    if p["ratio"] == 1:  # the sideband at f0 - f0 = 0 Hz is a DC offset of J1(I): remove it
        y = y - j1(index)
    return env * y


def _voice_additive(f0, n, sr, vel, p, rng, note_off):
    """Additive synthesis: a fixed recipe of harmonics under an ADSR envelope."""
    phase = _vibrato_phase(f0, n, sr, p["vibrato_rate"], p["vibrato_cents"], p["vibrato_delay"])
    amps = np.asarray(p["amps"]) * _below_nyquist(f0, sr, len(p["amps"]))
    amps = amps * np.arange(1, amps.size + 1) ** (-(1 - vel) * 0.8)  # soft notes are darker
    y = _additive(phase, amps).astype(np.float64)
    if p["breath"]:  # flute: a little band-passed noise that follows the note
        noise = lfilter([1, 0, -1], [1, -1.6, 0.8], rng.standard_normal(n))
        y += p["breath"] * noise / np.abs(noise).max() * np.abs(amps).sum()
    if p["tremolo"]:
        y *= 1 + p["tremolo"] * np.sin(2 * np.pi * 6.5 * _time(n, sr))
    return y * _envelope(n, sr, note_off, p["attack"], p["release"])


def _voice_subtractive(f0, n, sr, vel, p, rng, note_off):
    """Subtractive synthesis: a bright oscillator, then a resonant low-pass sweeping down."""
    if p["wave"] == "saw":  # two saws detuned by a few cents make the classic lead
        y = sum(
            _saw(_vibrato_phase(f0, n, sr, 5.0, p["vibrato_cents"], 0.4, c))
            for c in (-p["detune"], p["detune"])
        )
    else:
        y = _square(_vibrato_phase(f0, n, sr, 5.0, p["vibrato_cents"], 0.4))
    t = _time(n, sr)
    sweep = p["sweep"] * (0.3 + 0.7 * vel) * np.exp(-t / p["sweep_time"])
    cutoff = f0 * (p["cutoff"] + sweep)
    y = _swept_lowpass(y, cutoff, p["q"], sr)
    return y * _envelope(
        n, sr, note_off, p["attack"], p["release"], decay=1.5, sustain=p["sustain"]
    )


# Frequency ratios of bar modes: a tuned marimba bar, a vibraphone bar, a glockenspiel.
_BAR_MODES = ((1.0, 3.99, 10.65), (1.0, 4.0, 9.97), (1.0, 2.71, 5.15, 8.43))


def _voice_modal(f0, n, sr, vel, p, rng, note_off):
    """Modal synthesis: a few decaying sinusoids at a struck bar's inharmonic modes."""
    t = _time(n, sr)
    t32 = t.astype(np.float32)
    y = np.zeros(n)
    for k, ratio in enumerate(_BAR_MODES[p["bar"]]):
        freq = f0 * ratio
        if freq >= 0.45 * sr:
            continue
        amp = (p["hardness"] * (0.5 + 0.5 * vel)) ** k  # hard, loud strikes ring higher modes
        t60 = p["t60"] / ratio**0.8  # higher modes die sooner
        sine = np.sin(np.float32(2 * np.pi) * ((freq * t) % 1.0).astype(np.float32))
        y += amp * _t60_decay(t32, t60) * sine
    y *= 1 - np.exp(-t / 0.0015)  # the mallet's contact time softens the very start
    if p["tremolo"]:  # a vibraphone's motor
        y *= 1 + p["tremolo"] * np.sin(2 * np.pi * 5.0 * t)
    return y * _release(t, note_off, 0.5)


# Vowel formants (Hz), adult male averages in the style of Peterson & Barney.
_VOWELS = {
    "a": ((730, 90), (1090, 110), (2440, 160)),
    "e": ((530, 60), (1840, 100), (2480, 160)),
    "i": ((270, 60), (2290, 100), (3010, 160)),
    "o": ((570, 70), (840, 80), (2410, 160)),
    "u": ((300, 60), (870, 80), (2240, 160)),
}


def _voice_formant(f0, n, sr, vel, p, rng, note_off):
    """A sung vowel: the glottal source of :func:`source_filter_speech` at a fixed pitch."""
    phase = _vibrato_phase(f0, n, sr, p["vibrato_rate"], p["vibrato_cents"], 0.4)
    source = _glottal_derivative(phase % 1.0)
    source += 0.02 * (1.5 - vel) * np.abs(source).max() * _breath(rng, n)
    y = _formant_filter(source, _tuned_formants(p["vowel"], p["scale"], f0, sr), sr)
    return y * _envelope(n, sr, note_off, p["attack"], 0.3)


def _tuned_formants(vowel: str, scale: float, f0: float, sr: float) -> list[tuple[float, float]]:
    """A vowel's formants, scaled for the voice, with F1 kept above the fundamental.

    Sopranos do this ("formant tuning"): a high note's fundamental would otherwise lie
    above F1, on the resonator's falling slope, and lose most of its energy.
    """
    tuned = []
    for i, (freq, bandwidth) in enumerate(_VOWELS[vowel]):
        freq = max(freq * scale, 1.15 * f0 + 300 * i)  # keep the formants in order too
        tuned.append((min(freq, 0.45 * sr), bandwidth))
    return tuned


_VOICES = {
    "plucked": _voice_plucked,
    "fm": _voice_fm,
    "additive": _voice_additive,
    "subtractive": _voice_subtractive,
    "modal": _voice_modal,
    "formant": _voice_formant,
}


def _instrument_params(family: str, rng: np.random.Generator) -> dict:
    """Draw one instrument's timbre: fixed for the instrument, shared by all its notes."""
    u = rng.uniform
    if family in ("guitar", "bass"):
        bass = family == "bass"
        return {
            "dark": u(0.5, 0.8) if bass else u(0.1, 0.5),
            "loss": u(0.15, 0.25) if bass else u(0.02, 0.12),
            "t60": u(1.2, 2.5) if bass else u(2.0, 5.0),
            "pluck_position": u(0.15, 0.3) if bass else u(0.08, 0.25),
            "noise": u(0.1, 0.3) if bass else u(0.2, 0.6),
        }
    if family == "brass":
        return {
            "kind": "brass",
            "ratio": 1.0,
            "index": u(1.5, 2.5),
            "attack": u(0.03, 0.09),
            "vibrato_rate": u(4.5, 6.0),
            "vibrato_cents": u(0.0, 15.0),
        }
    if family == "keyboard":
        return {
            "kind": "epiano",
            "ratio": float(rng.choice([1.0, 2.0])),
            "index": u(1.0, 2.5),
            "index_decay": u(0.1, 0.6),
            "t60": u(2.5, 6.0),
            "vibrato_rate": 0.0,
            "vibrato_cents": 0.0,
        }
    if family == "organ":
        drawbars = np.zeros(8)
        drawbars[[0, 1, 2, 3, 5, 7]] = [1.0, *u(0.0, 0.8, size=5)]  # 8', 4', 2 2/3', 2', 1 1/3', 1'
        return {
            "amps": drawbars,
            "attack": 0.01,
            "release": 0.08,
            "breath": 0.0,
            "tremolo": float(rng.choice([0.0, 0.08])),
            "vibrato_rate": 0.0,
            "vibrato_cents": 0.0,
            "vibrato_delay": 0.0,
        }
    if family == "flute":
        amps = [1.0, u(0.2, 0.5), u(0.05, 0.3), u(0.02, 0.15), u(0.0, 0.08), u(0.0, 0.04)]
        return {
            "amps": amps,
            "attack": u(0.06, 0.12),
            "release": 0.15,
            "breath": u(0.01, 0.04),
            "tremolo": 0.0,
            "vibrato_rate": u(4.5, 5.5),
            "vibrato_cents": u(8.0, 20.0),
            "vibrato_delay": u(0.2, 0.5),
        }
    if family == "string":
        k = np.arange(1, 41)
        body = 1 + 0.5 * np.sin(k * u(0.2, 0.6) + u(0, 2 * np.pi))  # resonances of the body
        return {
            "amps": body / k,
            "attack": u(0.1, 0.3),
            "release": 0.3,
            "breath": 0.0,
            "tremolo": 0.0,
            "vibrato_rate": u(5.5, 6.5),
            "vibrato_cents": u(10.0, 25.0),
            "vibrato_delay": u(0.15, 0.4),
        }
    if family in ("reed", "synth_lead"):
        lead = family == "synth_lead"
        return {
            "wave": "saw" if lead else "square",
            "detune": u(3.0, 9.0),
            "q": u(2.0, 6.0) if lead else u(0.7, 1.4),
            "cutoff": u(1.5, 3.0) if lead else u(3.0, 6.0),
            "sweep": u(6.0, 20.0) if lead else u(0.0, 3.0),
            "sweep_time": u(0.1, 0.8),
            "attack": u(0.005, 0.03) if lead else u(0.03, 0.08),
            "release": u(0.1, 0.3),
            "sustain": u(0.6, 1.0),
            "vibrato_cents": 0.0 if lead else u(0.0, 10.0),
        }
    if family == "mallet":
        return {
            "bar": int(rng.integers(len(_BAR_MODES))),
            "hardness": u(0.2, 0.6),
            "t60": u(0.8, 3.0),
            "tremolo": float(rng.choice([0.0, 0.3])),
        }
    if family == "vocal":
        return {
            "vowel": str(rng.choice(sorted(_VOWELS))),
            "scale": float(rng.choice([1.0, 1.17])),
            "attack": u(0.05, 0.12),
            "vibrato_rate": u(5.0, 6.0),
            "vibrato_cents": u(10.0, 35.0),
        }
    raise ConfigError(f"no synthesis recipe for family {family!r}")  # unreachable for FAMILIES


_FAMILY_ID = {family: i for i, family in enumerate(FAMILIES)}


def _render_note(label: dict, seed: int, sr: int, n: int, note_off: float) -> np.ndarray:
    """Synthesise one note from its label; the same label and seed give the same samples."""
    family, instrument = label["family"], label["instrument"]
    timbre_rng = np.random.default_rng([seed, _FAMILY_ID[family], instrument, 7])
    params = _instrument_params(family, timbre_rng)
    note_rng = np.random.default_rng(
        [seed, _FAMILY_ID[family], instrument, label["pitch"], label["velocity"]]
    )
    vel = label["velocity"] / 127
    y = _VOICES[FAMILIES[family]](label["frequency_hz"], n, sr, vel, params, note_rng, note_off)
    y = np.asarray(y, dtype=np.float64)
    fade = min(n, int(0.01 * sr))  # 10 ms fade-out: no click when the clip is cut
    y[n - fade :] *= np.linspace(1.0, 0.0, fade)
    peak = np.abs(y).max()
    if not np.isfinite(peak) or peak == 0:
        raise DataError(
            f"mini-NSynth made a silent or non-finite note for {label['name']}; please report it."
        )
    loudness = 0.95 * vel**0.7  # louder for higher velocity, never above 0.95
    return (y * (loudness / peak)).astype(np.float32)


# --------------------------------------------------------------------------------------
# Mini-NSynth: the dataset
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Note:
    """One mini-NSynth note: its audio and its NSynth-style labels.

    Attributes
    ----------
    audio : np.ndarray [shape=(samples,), dtype=float32]
        Peak at most 0.95; louder for higher velocity.
    pitch : int
        MIDI pitch (60 = middle C).
    velocity : int
        One of 25, 50, 75, 100, 127.
    family : str
        An NSynth family, e.g. ``"guitar"``.
    name : str
        NSynth's ``note_str``: ``family_source_instrument-pitch-velocity``,
        e.g. ``"guitar_synthetic_002-060-100"``.
    source : str
        Always ``"synthetic"``.
    instrument : int
        Which instrument of its family (same instrument, same timbre).
    sample_rate : int
        In Hz.
    """

    audio: np.ndarray
    pitch: int
    velocity: int
    family: str
    name: str
    source: str = "synthetic"
    instrument: int = 0
    sample_rate: int = 16000


class MiniNSynth(Sequence):
    """A seeded, procedurally synthesised stand-in for NSynth; build it with :func:`mini_nsynth`.

    Behaves like a read-only list of :class:`Note`. Labels are drawn when the dataset is
    made; audio is synthesised only when a note is indexed, so ``len(ds)``, ``ds.labels``
    and ``ds[i]`` are all cheap. Each note's audio depends only on the seed and its label,
    so ``ds[i]`` is bit-identical every time it is asked for.

    Notebook: 05_gansynth_instantaneous_frequency (pitch-conditioned notes),
    04_wavegan_phase_shuffle (short training set).

    Attributes
    ----------
    labels : list of dict
        Per note: ``index``, ``name``, ``pitch``, ``velocity``, ``family``, ``source``,
        ``instrument``, ``synthesis`` (the method), ``note_name`` (e.g. ``"C4"``),
        ``frequency_hz``.
    sample_rate : int
    n_samples : int
        Samples per note.
    seed : int
    """

    def __init__(self, labels: list[dict], *, seed: int, sample_rate: int, duration: float):
        self._labels = labels
        self.seed = seed
        self.sample_rate = sample_rate
        self.duration = duration
        self.n_samples = int(round(duration * sample_rate))
        self.note_off = 0.75 * duration  # NSynth: held for 3 s of 4, then released

    @property
    def labels(self) -> list[dict]:
        return [dict(label) for label in self._labels]

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"note {index} is out of range for a MiniNSynth of {len(self)} notes")
        label = self._labels[index % len(self)]
        audio = _render_note(label, self.seed, self.sample_rate, self.n_samples, self.note_off)
        return Note(
            audio,
            label["pitch"],
            label["velocity"],
            label["family"],
            label["name"],
            label["source"],
            label["instrument"],
            self.sample_rate,
        )

    def stack(self, indices: Iterable[int] | None = None) -> np.ndarray:
        """Synthesise several notes into one array.

        Parameters
        ----------
        indices : iterable of int, optional
            Which notes; default all of them, in order.

        Returns
        -------
        audio : np.ndarray [shape=(n, samples), dtype=float32]
        """
        indices = range(len(self)) if indices is None else list(indices)
        out = np.empty((len(indices), self.n_samples), dtype=np.float32)
        for row, index in enumerate(indices):
            out[row] = self[index].audio
        return out

    def __repr__(self) -> str:
        families = sorted({label["family"] for label in self._labels})
        return (
            f"MiniNSynth({len(self)} notes, {self.duration:g} s at {self.sample_rate} Hz, "
            f"seed={self.seed}, families={families})"
        )


def mini_nsynth(
    n_notes: int = 300,
    *,
    seed: int = 0,
    sample_rate: int = 16000,
    duration: float = 4.0,
    families: Iterable[str] | None = None,
    pitches: Iterable[int] = range(24, 85),
    n_instruments: int = 4,
) -> MiniNSynth:
    """A seeded mini-NSynth: labelled single notes from classic synthesis methods.

    Like NSynth, each note is held for the first three quarters of ``duration`` (3 s of
    4 s) and then released, and is labelled with a MIDI pitch, one of NSynth's five
    velocities, an instrument family and an instrument. Unlike NSynth, every note is
    synthesised on the fly, so nothing is downloaded, and any number of notes up to the
    number of distinct labels can be drawn. The families and their methods are in
    :data:`FAMILIES`: Karplus-Strong plucks (guitar, bass), two-operator FM (brass,
    keyboard), additive (organ, flute, string), subtractive (reed, synth_lead), modal
    (mallet) and formant (vocal).

    Notebook: 05_gansynth_instantaneous_frequency (pitch-conditioned generation, IF of
    harmonic notes), 04_wavegan_phase_shuffle (a small training set).

    Parameters
    ----------
    n_notes : int
        How many notes, all with distinct labels.
    seed : int
        Same seed, same labels and bit-identical audio.
    sample_rate : int
        In Hz (NSynth: 16000).
    duration : float
        Seconds per note (NSynth: 4.0).
    families : iterable of str, optional
        A subset of :data:`FAMILIES`; default all eleven.
    pitches : iterable of int
        MIDI pitches to draw from (NSynth's full range is 21-108; the default 24-84 keeps
        every family sounding sensible).
    n_instruments : int
        Instruments per family; all notes of one instrument share its timbre.

    Returns
    -------
    dataset : MiniNSynth
        A sequence of :class:`Note`: ``ds[i].audio`` has shape ``(round(duration *
        sample_rate),)``; ``ds.stack()`` has shape ``(n_notes, samples)``.

    Raises
    ------
    voclab.errors.ConfigError
        An unknown family, a pitch outside 0-127 or too high for the sample rate, or more
        notes than there are distinct labels.

    Examples
    --------
    >>> ds = mini_nsynth(20, seed=1, families=["guitar", "flute"])
    >>> len(ds), ds[0].audio.shape
    (20, (64000,))
    >>> ds.labels[0]["family"] in ("guitar", "flute")
    True
    """
    _check_rate_and_duration(sample_rate, duration)
    if int(seed) != seed or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}.")
    families = _check_families(families)
    pitches = _check_pitches(pitches, sample_rate)
    if int(n_instruments) < 1:
        raise ConfigError(f"n_instruments must be at least 1, got {n_instruments}.")
    shape = (len(families), int(n_instruments), len(pitches), len(VELOCITIES))
    total = int(np.prod(shape))
    if not 0 <= int(n_notes) <= total:
        raise ConfigError(
            f"n_notes={n_notes}: there are only {total} distinct labels for these families, "
            "pitches and instruments; ask for fewer notes or widen them."
        )
    rng = np.random.default_rng(seed)
    picks = rng.choice(total, size=int(n_notes), replace=False)
    labels = [
        _label(i, families, pitches, np.unravel_index(pick, shape)) for i, pick in enumerate(picks)
    ]
    return MiniNSynth(
        labels, seed=int(seed), sample_rate=int(sample_rate), duration=float(duration)
    )


def _label(index: int, families: list[str], pitches: list[int], where) -> dict:
    f, instrument, p, v = (int(w) for w in where)
    family, pitch, velocity = families[f], pitches[p], VELOCITIES[v]
    return {
        "index": index,
        "name": f"{family}_synthetic_{instrument:03d}-{pitch:03d}-{velocity:03d}",
        "pitch": pitch,
        "velocity": velocity,
        "family": family,
        "source": "synthetic",
        "instrument": instrument,
        "synthesis": FAMILIES[family],
        "note_name": _note_name(pitch),
        "frequency_hz": midi_to_hz(pitch),
    }


def _check_families(families: Iterable[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    families = [families] if isinstance(families, str) else list(families)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ConfigError(
            f"unknown families {unknown or '(none given)'}; choose from {', '.join(FAMILIES)}."
        )
    return sorted(set(families), key=list(FAMILIES).index)


def _check_pitches(pitches: Iterable[int], sr: int) -> list[int]:
    pitches = sorted({int(p) for p in pitches})
    if not pitches or pitches[0] < 0 or pitches[-1] > 127:
        raise ConfigError(
            f"pitches must be MIDI numbers in 0-127, got {pitches[:3]}...{pitches[-3:]}."
        )
    if midi_to_hz(pitches[-1]) >= 0.4 * sr:
        raise ConfigError(
            f"pitch {pitches[-1]} ({midi_to_hz(pitches[-1]):.0f} Hz) is too high for "
            f"sample_rate={sr}; keep pitches below {0.4 * sr:.0f} Hz or raise the rate."
        )
    return pitches
