"""voclab prepare: any folder, LJSpeech's layout, and the offline mini-LJSpeech, into a training folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf

from voclab import cli
from voclab.datasets import split_files
from voclab.errors import DataError
from voclab.prepare import ASTERISK_SOUNDS, prepare, prepare_mini_ljspeech


def tone(seconds: float, sr: int, freq: float = 220.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "src"
    (src / "speaker_a").mkdir(parents=True)
    (src / "speaker_b").mkdir()
    sf.write(src / "speaker_a" / "one.wav", tone(0.5, 16000), 16000)
    sf.write(src / "speaker_a" / "two.flac", tone(0.4, 44100, channels=2), 44100)  # stereo, 44.1 kHz
    sf.write(src / "speaker_b" / "one.wav", tone(0.3, 22050), 22050)  # same name, other folder
    sf.write(src / "speaker_b" / "three.ogg", tone(0.3, 22050), 22050)
    (src / "speaker_b" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nothing here")
    (src / "notes.txt").write_text("not audio")
    return src


def test_folder_becomes_mono_flac_at_one_rate(folder, tmp_path):
    out = tmp_path / "out"
    notes = []
    warnings.simplefilter("error")  # notes, not warnings
    summary = prepare(folder, out, sample_rate=22050, val_clips=1, note=notes.append)
    names = sorted(p.name for p in (out / "wavs").iterdir())
    assert names == ["speaker_a_one.flac", "speaker_a_two.flac", "speaker_b_one.flac", "speaker_b_three.flac"]
    for path in (out / "wavs").iterdir():
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.format) == (22050, 1, "FLAC")
    assert sf.info(out / "wavs" / "speaker_a_one.flac").frames == 11025  # 0.5 s resampled
    assert len(summary.skipped) == 1 and "broken.wav" in summary.skipped[0]["source"]
    assert any("broken.wav" in note for note in notes)
    assert "1 file(s) had several channels: averaged to mono" in notes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "voclab-prepared/1" and manifest["layout"] == "folder"
    for clip in manifest["clips"]:
        assert clip["sha256"] == hashlib.sha256((out / clip["path"]).read_bytes()).hexdigest()
    assert (out / "val.txt").read_text() == "wavs/speaker_b_three.flac\n"
    assert len((out / "train.txt").read_text().splitlines()) == 3
    # voclab train uses this split
    train_files, val_files = split_files(out, val_clips=5)
    assert [p.name for p in val_files] == ["speaker_b_three.flac"] and len(train_files) == 3


def test_ljspeech_layout_keeps_transcripts(tmp_path):
    src = tmp_path / "LJSpeech-1.1"
    (src / "wavs").mkdir(parents=True)
    rows = [("LJ001-0001", 'Printing, in the only sense "with which" we are', "Printing, in the only sense with which"),
            ("LJ001-0002", "in being comparatively modern.", "in being comparatively modern."),
            ("LJ001-0003", "For although the Chinese took", "For although the Chinese took"),
            ("LJ001-0004", "missing file", "missing file")]
    for clip_id, _, _ in rows[:3]:
        sf.write(src / "wavs" / f"{clip_id}.wav", tone(0.3, 22050), 22050)
    (src / "metadata.csv").write_text("".join("|".join(r) + "\n" for r in rows), encoding="utf-8")
    (src / "wavs" / "unlisted.wav").write_bytes(b"")  # not in metadata.csv: ignored
    summary = prepare(src, tmp_path / "out", val_clips=1, note=lambda _: None)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["layout"] == "ljspeech" and summary.layout == "ljspeech"
    clips = {c["name"]: c for c in manifest["clips"]}
    assert sorted(clips) == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert clips["LJ001-0001"]["text"] == 'Printing, in the only sense "with which" we are'
    assert clips["LJ001-0001"]["normalized_text"] == "Printing, in the only sense with which"
    assert manifest["skipped"] == [{"source": "wavs/LJ001-0004.wav", "reason": "listed in metadata.csv but missing"}]


def test_prepare_never_overwrites_foreign_files(folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        prepare(folder, out, note=lambda _: None)
    with pytest.raises(DataError, match="did not write"):
        prepare(folder, out, force=True, note=lambda _: None)
    assert (out / "mine.txt").read_text() == "keep me"
    again = tmp_path / "again"
    prepare(folder, again, note=lambda _: None)
    with pytest.raises(DataError, match="--force"):
        prepare(folder, again, note=lambda _: None)
    prepare(folder, again, force=True, sample_rate=16000, note=lambda _: None)
    assert json.loads((again / "manifest.json").read_text())["sample_rate"] == 16000


def test_prepare_errors(tmp_path):
    with pytest.raises(DataError, match="No folder"):
        prepare(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="No audio files"):
        prepare(tmp_path / "texts", tmp_path / "out")


def test_mini_ljspeech_says_which_packages_to_install(tmp_path, capsys):
    with pytest.raises(DataError, match="apt-get install asterisk-core-sounds-en-g722 asterisk-core-sounds-en ffmpeg"):
        prepare_mini_ljspeech(tmp_path / "out", sounds_dir=tmp_path / "no_sounds")
    assert cli.main(["prepare", str(tmp_path), "--mini-ljspeech", "-o", str(tmp_path / "out2")]) == 2
    assert "either a source folder" in capsys.readouterr().err
    assert cli.main(["prepare", "-o", str(tmp_path / "out3")]) == 2
    assert "either a source folder" in capsys.readouterr().err


@pytest.mark.skipif(not (ASTERISK_SOUNDS.is_dir() and shutil.which("ffmpeg")),
                    reason="mini-LJSpeech needs Debian's asterisk-core-sounds-en-g722 and ffmpeg "
                           "(apt-get install asterisk-core-sounds-en-g722 asterisk-core-sounds-en ffmpeg)")
def test_mini_ljspeech_is_built_with_licence_and_transcripts(tmp_path, capsys):
    out = tmp_path / "mini"
    assert cli.main(["prepare", "--mini-ljspeech", "-o", str(out), "--limit", "24", "--val-clips", "2"]) == 0
    printed = capsys.readouterr().out
    assert "CC-BY-SA-3.0" in printed and "do not commit" in printed
    assert "CC-BY-SA-3.0" in (out / "LICENSE.txt").read_text()
    assert (out / ".gitignore").read_text().splitlines()[-1] == "*"  # never committed, wherever it is
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layout"] == "mini-ljspeech" and manifest["licence"] == "CC-BY-SA-3.0"
    assert len(manifest["clips"]) == 24 and manifest["sample_rate"] == 22050
    assert sum(1 for c in manifest["clips"] if c.get("text")) >= 20  # transcripts where available
    assert not any(c["source"].startswith("silence/") for c in manifest["clips"])
    assert {s["source"] for s in manifest["skipped"]} >= {"beep.g722"}  # a tone, not speech
    info = sf.info(out / manifest["clips"][0]["path"])
    assert (info.samplerate, info.channels) == (22050, 1)


# --------------------------------------------------------------------------- the drum corpus (WaveGAN)

from voclab.prepare import (  # noqa: E402  (the drum part of this file)
    DRUM_APT_PACKAGES,
    GM_DRUM_KITS,
    GM_PERCUSSION,
    _split_by_source,
    drum_requirements,
    prepare_drums,
    shape_hit,
    sonic_pi_licences,
)


def _have_drum_packages() -> bool:
    try:
        drum_requirements()
    except DataError:
        return False
    return True


def _cli_has_drums() -> bool:
    import inspect

    return '"--drums"' in inspect.getsource(cli.build_parser)


DRUM_PACKAGES_MISSING = ("the drum corpus needs Debian's sonic-pi-samples, fluid-soundfont-gm and libfluidsynth3 and "
                         "PyPI's pyfluidsynth (apt-get install sonic-pi-samples fluid-soundfont-gm libfluidsynth3 && "
                         "pip install pyfluidsynth)")


def test_drums_say_which_packages_to_install(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as err:
        prepare_drums(tmp_path / "out", samples_dir=empty, soundfont=empty / "FluidR3_GM.sf2")
    message = str(err.value)
    assert "sonic-pi-samples (Debian; no *.flac under" in message
    assert "fluid-soundfont-gm (Debian; no soundfont at" in message
    assert "sudo apt-get install sonic-pi-samples fluid-soundfont-gm libfluidsynth3" in message
    assert "pip install 'voclab[drums]'" in message and "pyfluidsynth" in message
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_drums_name_pyfluidsynth_when_it_is_missing(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # `import fluidsynth` now fails
    with pytest.raises(DataError, match=r"missing here: .*pyfluidsynth \(PyPI"):
        drum_requirements(tmp_path, tmp_path / "none.sf2")
    assert set(DRUM_APT_PACKAGES) == {"sonic-pi-samples", "fluid-soundfont-gm", "libfluidsynth3"}


def test_sonic_pi_licences_follow_the_copyright_file(tmp_path):
    copyright_file = tmp_path / "copyright"
    copyright_file.write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2016 Samuel Aaron <samaaron@gmail.com>\nLicense: MIT\n\n"
        "Files:\n etc/doc/*\n etc/samples/bd_two.flac\nCopyright:\n 2016 Someone\nLicense: CC-BY-SA-4.0\n\n"
        "Files: etc/samples/bd_one.flac\nCopyright: 2013 A. Drummer\n"
        "Source: http://freesound.org/people/x/sounds/1/\nLicense: CC0\n\n"
        "License: CC0\n Statement of Purpose\n .\n text\n"
    )
    licences = sonic_pi_licences(copyright_file)
    assert licences["bd_one"] == {"licence": "CC0", "copyright": "2013 A. Drummer",
                                  "source": "http://freesound.org/people/x/sounds/1/"}
    assert licences["bd_two"]["licence"] == "CC-BY-SA-4.0" and licences["bd_two"]["copyright"] == "2016 Someone"
    assert licences["*"]["licence"] == "MIT"  # every other sample
    (tmp_path / "bad").write_text("Files: etc/samples/x.flac\nLicense: CC0\n")
    with pytest.raises(DataError, match="Files: \\*"):
        sonic_pi_licences(tmp_path / "bad")


def test_shape_hit_aligns_the_onset_and_fits_the_slice():
    sr = 16000
    hit = np.zeros(3000, dtype=np.float32)
    hit[1000:1400] = np.hanning(400) * np.sin(np.arange(400))  # a hit starting at sample 1000
    y, audible = shape_hit(hit, sr, 2048)
    assert y.shape == (2048,) and not y[600:].any()
    first = np.flatnonzero(np.abs(y) >= np.abs(y).max() * 0.01)[0]
    assert 32 <= first <= 40  # 2 ms of lead-in before the first sample within 40 dB of the peak
    assert 0 < audible <= 440
    long = np.ones(5000, dtype=np.float32)
    cut, audible = shape_hit(long, sr, 2048)
    assert cut.shape == (2048,) and cut[-1] == 0.0 and cut[-801] == 1.0  # 50 ms fade-out at the cut
    assert audible < 2048
    trimmed, _ = shape_hit(np.concatenate([long[:100], 1e-5 * long]), sr, None, trim_tail_db=-60)
    assert trimmed.size == 100 and trimmed[-1] == 0.0
    silent, audible = shape_hit(np.zeros(10), sr, 64)
    assert silent.shape == (64,) and audible == 0


def test_drum_split_is_seeded_and_per_source():
    clips = [{"source": "a"} for _ in range(90)] + [{"source": "b"} for _ in range(10)]
    _split_by_source(clips, None, seed=0)
    val = [c["source"] for c in clips if c["split"] == "val"]
    assert len(val) == 10 and val.count("a") == 9 and val.count("b") == 1
    again = [{"source": c["source"]} for c in clips]
    _split_by_source(again, None, seed=0)
    assert [c["split"] for c in again] == [c["split"] for c in clips]
    _split_by_source(again, 4, seed=0)
    assert sum(c["split"] == "val" for c in again) == 4
    with pytest.raises(DataError, match="--val-clips 100"):
        _split_by_source(again, 100, seed=0)


def test_gm_tables():
    assert sorted(GM_PERCUSSION) == list(range(35, 82))
    assert GM_PERCUSSION[36] == "Bass Drum 1" and GM_PERCUSSION[81] == "Open Triangle"
    assert list(GM_DRUM_KITS.values()) == ["Standard", "Room", "Power", "Electronic", "TR-808", "Jazz", "Brush",
                                           "Orchestra"]


@pytest.mark.skipif(not _have_drum_packages(), reason=DRUM_PACKAGES_MISSING)
def test_drum_corpus_is_built_end_to_end(tmp_path):
    out = tmp_path / "drums"
    notes = []
    summary = prepare_drums(out, note=notes.append)
    manifest = json.loads((out / "manifest.json").read_text())
    clips = manifest["clips"]
    by_source = {}
    for clip in clips:
        by_source.setdefault(clip["source"], []).append(clip)
    # about 450 hits: every sonic-pi one-shot, 8 kits x 47 keys less the silent ones
    assert 440 <= len(clips) <= 500
    renders = by_source["fluid-soundfont-gm"]
    assert len(renders) + manifest["silent_dropped"] == 8 * 47
    assert {c["kit"] for c in renders} == set(GM_DRUM_KITS.values())
    assert all(c["licence"] == "MIT" for c in renders)
    sonic = by_source["sonic-pi-samples"]
    assert {c["licence"] for c in sonic} == {"CC0-1.0", "MIT"}
    assert sum(c["licence"] == "CC0-1.0" for c in sonic) > sum(c["licence"] == "MIT" for c in sonic)
    assert not any("drum_roll" in c["name"] for c in sonic)
    assert manifest["counts"] == {
        f"{source} {licence}": sum(1 for c in clips if (c["source"], c["licence"]) == (source, licence))
        for source, licence in {(c["source"], c["licence"]) for c in clips}}
    # every hit: a 16 kHz mono 16-bit WAV of exactly one slice, peak 0.9, as the manifest says
    for clip in clips[::7]:
        path = out / clip["path"]
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16384, "PCM_16")
        y, _ = sf.read(path, dtype="float32")
        assert np.abs(y).max() == pytest.approx(0.9, abs=1e-3)
        assert clip["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert 0 < clip["hit_seconds"] <= 1.024 and clip["seconds"] == 1.024
    # the split: disjoint, complete, both sources in validation
    train = (out / "train.txt").read_text().split()
    val = (out / "val.txt").read_text().split()
    assert sorted(train + val) == sorted(c["path"] for c in clips) and not set(train) & set(val)
    assert len(val) == round(0.1 * len(clips)) and len(summary.val) == len(val)
    assert {c["source"] for c in clips if c["split"] == "val"} == {"sonic-pi-samples", "fluid-soundfont-gm"}
    split_files(out)  # voclab train reads this folder
    # licences: every file named, the CC0 and MIT texts and the FluidR3 notice carried along
    licences = (out / "LICENSES.md").read_text()
    assert all(f"`{c['path']}`" in licences for c in sonic)
    assert "Statement of Purpose" in licences and "Permission is hereby granted" in licences
    assert "Frank Wen" in licences
    assert summary.layout == "drums" and "LICENSES.md" in summary.licence
    assert any("silent render(s) dropped" in n for n in notes)
    # an earlier output is replaced only with force, and the build is reproducible
    with pytest.raises(DataError, match="--force"):
        prepare_drums(out, note=notes.append)
    prepare_drums(out, force=True, note=notes.append)
    assert json.loads((out / "manifest.json").read_text()) == manifest


@pytest.mark.skipif(not _have_drum_packages(), reason=DRUM_PACKAGES_MISSING)
def test_drum_corpus_options(tmp_path):
    out = tmp_path / "short"
    summary = prepare_drums(out, slice_len=4096, val_clips=3, kits={25: "TR-808", 99: "Nothing"},
                            keys=range(35, 45), note=lambda _: None)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["slice_len"] == 4096 and len(summary.val) == 3
    assert sf.info(out / manifest["clips"][0]["path"]).frames == 4096
    assert any("no Nothing kit" in s["reason"] for s in manifest["skipped"])
    with pytest.raises(DataError, match="slice-len"):
        prepare_drums(tmp_path / "x", slice_len=10)


@pytest.mark.skipif(not _have_drum_packages(), reason=DRUM_PACKAGES_MISSING)
@pytest.mark.skipif(not _cli_has_drums(), reason="voclab/cli.py has no `prepare --drums` option yet")
def test_drum_corpus_through_the_cli(tmp_path, capsys):
    out = tmp_path / "drums"
    assert cli.main(["prepare", "--drums", "-o", str(out), "--slice-len", "8192"]) == 0
    printed = capsys.readouterr().out
    assert "LICENSES.md" in printed and "train" in printed
    assert json.loads((out / "manifest.json").read_text())["slice_len"] == 8192
    assert cli.main(["prepare", str(tmp_path), "--drums", "-o", str(tmp_path / "x")]) == 2
    assert "--drums" in capsys.readouterr().err
