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
