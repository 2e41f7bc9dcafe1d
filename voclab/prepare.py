"""Turn audio into a training folder for ``voclab train``: ``voclab prepare``.

Three sources, one result — ``OUT/wavs/*.flac`` (mono, one sample rate), ``OUT/train.txt``
and ``OUT/val.txt`` (one path per line; ``voclab train`` uses this split) and
``OUT/manifest.json`` (every clip with its source, duration, sha256 and transcript):

* any folder of audio (searched recursively; files that do not decode are skipped with a note);
* LJSpeech's layout (``metadata.csv`` + ``wavs/``), detected automatically, transcripts kept;
* ``--mini-ljspeech``: an offline stand-in for LJSpeech — one professional female voice
  reading about 550 short prompts (about 25 minutes), built on this machine from the
  Debian packages of the Asterisk telephony prompts (CC-BY-SA-3.0: never commit it).

Downloads of real datasets (with checksums) are not part of this module (yet).

Notebook: 06_melgan, 07_hifigan (the data of a full-tier run).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .audio import FORMATS, load, save
from .errors import DataError, VoclabError

__all__ = ["prepare", "prepare_mini_ljspeech", "PrepareSummary", "MINI_LJSPEECH_LICENCE"]

FORMAT = "voclab-prepared/1"
#: What ``voclab prepare`` writes in OUT (and may replace with ``--force``).
OWN_ENTRIES = {"wavs", "train.txt", "val.txt", "manifest.json", "LICENSE.txt", ".gitignore"}

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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_dataset(out: Path, items: list[dict], *, sample_rate: int, val_clips: int, layout: str,
                   source: str, skipped: list[dict], note: Callable[[str], None], started: float,
                   licence: str | None = None, extra: dict | None = None) -> PrepareSummary:
    """Convert ``items`` (``name``, ``load_from``, ``source``, optional ``text``...) to FLAC; write lists."""
    wavs = out / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    clips = []
    downmixed = 0
    for item in items:
        try:
            with warnings.catch_warnings(record=True) as caught:  # down-mixing is the point here: count it
                warnings.simplefilter("always")
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
        raise DataError(f"None of the {len(items)} file(s) could be decoded as audio; nothing was written to {out}.")
    if len(clips) <= val_clips:
        raise DataError(f"only {len(clips)} clip(s): too few to hold out {val_clips} for validation; "
                        f"pass --val-clips {max(len(clips) - 1, 0)}.")
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
