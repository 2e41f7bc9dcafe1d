"""voclab prepare --nsynth-fluid / --nsynth: NSynth-style notes for GANSynth, and the shipped notes."""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pytest
import soundfile as sf

from voclab import cli, data
from voclab.datasets import split_files
from voclab.errors import ConfigError, DataError
from voclab.prepare import (
    GM_ACOUSTIC_PROGRAMS,
    NSYNTH_FAMILIES,
    NSYNTH_FLUID_VAL_PROGRAMS,
    _evenly_spaced,
    note_pitch_check,
    nsynth_fluid_requirements,
    nsynth_label,
    prepare_nsynth,
    prepare_nsynth_fluid,
    render_note,
)

SR = 16000


def _have_fluidsynth() -> bool:
    try:
        nsynth_fluid_requirements()
    except DataError:
        return False
    return True


needs_fluidsynth = pytest.mark.skipif(
    not _have_fluidsynth(),
    reason="NSynth-style notes need Debian's fluid-soundfont-gm and libfluidsynth3 and PyPI's pyfluidsynth "
           "(sudo apt-get install fluid-soundfont-gm libfluidsynth3 && pip install pyfluidsynth)")


def tone(midi: float, seconds: float = 1.0, *, sr: int = SR, decay: float = 0.0, partials: int = 6) -> np.ndarray:
    """A harmonic tone at a MIDI pitch: 1/k partials, optionally decaying like a struck note."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, partials + 1) if k * f0 < 0.45 * sr)
    return (0.3 * y * np.exp(-decay * t)).astype(np.float32)


# --------------------------------------------------------------------------- requirements and tables


def test_nsynth_fluid_says_which_packages_to_install(tmp_path):
    with pytest.raises(DataError) as err:
        prepare_nsynth_fluid(tmp_path / "out", soundfont=tmp_path / "FluidR3_GM.sf2")
    message = str(err.value)
    assert f"fluid-soundfont-gm (Debian; no soundfont at {tmp_path / 'FluidR3_GM.sf2'})" in message
    assert "sudo apt-get install fluid-soundfont-gm libfluidsynth3 && pip install pyfluidsynth" in message
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_nsynth_fluid_names_pyfluidsynth_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # `import fluidsynth` now fails
    with pytest.raises(DataError, match=r"missing here: .*pyfluidsynth \(PyPI"):
        nsynth_fluid_requirements(tmp_path / "none.sf2")


def test_the_program_table_is_pitched_acoustic_gm():
    assert len(GM_ACOUSTIC_PROGRAMS) == 61
    families = {family for family, _ in GM_ACOUSTIC_PROGRAMS.values()}
    assert families == set(NSYNTH_FAMILIES) - {"synth_lead"}
    electronic_or_unpitched = {2, 4, 5, 7, 16, 17, 18, *range(26, 32), *range(33, 40), 47, 50, 51, 54, 55,
                               62, 63, *range(80, 104), *range(112, 128)}
    assert not electronic_or_unpitched & set(GM_ACOUSTIC_PROGRAMS)
    assert GM_ACOUSTIC_PROGRAMS[0] == ("keyboard", "Acoustic Grand Piano")
    assert GM_ACOUSTIC_PROGRAMS[19][0] == "organ" and GM_ACOUSTIC_PROGRAMS[73][0] == "flute"
    val_families = [GM_ACOUSTIC_PROGRAMS[p][0] for p in NSYNTH_FLUID_VAL_PROGRAMS]
    assert len(set(val_families)) == len(val_families) == 7  # one instrument from each large family


def test_nsynth_labels_follow_nsynth():
    label = nsynth_label("string", "acoustic", 40, 60, 127)
    assert label == {"note_str": "string_acoustic_040-060-127", "pitch": 60, "velocity": 127, "instrument": 40,
                     "instrument_str": "string_acoustic_040", "instrument_family": 8,
                     "instrument_family_str": "string", "instrument_source": 0, "instrument_source_str": "acoustic",
                     "sample_rate": 16000}
    assert nsynth_label("bass", "synthetic", 3, 24, 25)["instrument_family"] == 0
    assert nsynth_label("vocal", "electronic", 3, 24, 25)["instrument_source"] == 1
    with pytest.raises(DataError, match="families"):
        nsynth_label("drums", "acoustic", 0, 60, 100)


def test_limit_spreads_the_notes_evenly():
    rows = list(range(100))
    assert _evenly_spaced(rows, None) == rows
    assert _evenly_spaced(rows, 5) == [0, 25, 50, 74, 99]
    assert _evenly_spaced(rows, 500) == rows
    with pytest.raises(DataError, match="--limit"):
        _evenly_spaced(rows, 0)


# --------------------------------------------------------------------------- the validity mask


def test_pitch_check_on_tones_of_known_pitch():
    assert note_pitch_check(tone(60, 4.0), SR, 60)["verdict"] == "ok"
    assert note_pitch_check(tone(60.3, 4.0), SR, 60)["verdict"] == "ok"  # 30 cents sharp: still its key
    assert note_pitch_check(tone(61, 4.0), SR, 60)["verdict"] == "wrong pitch"  # a semitone off
    assert note_pitch_check(tone(67, 4.0), SR, 60)["verdict"] == "wrong pitch"
    octave = note_pitch_check(tone(72, 4.0), SR, 60)
    assert octave["verdict"] == "octave" and octave["cents"] == pytest.approx(1200, abs=10)
    assert note_pitch_check(tone(48, 4.0), SR, 60)["verdict"] == "octave"
    # a struck note decays long before the key is released: only its loud frames count
    check = note_pitch_check(tone(81, 4.0, decay=12.0), SR, 81)
    assert check["verdict"] == "ok" and check["f0_hz"] == pytest.approx(880, rel=0.01)
    quiet = note_pitch_check(1e-4 * tone(60, 4.0), SR, 60)
    assert quiet["verdict"] == "silent" and quiet["f0_hz"] is None and quiet["peak_dbfs"] < -60
    with pytest.raises(DataError, match="shorter than one analysis frame"):
        note_pitch_check(tone(60, 0.05), SR, 60)


# --------------------------------------------------------------------------- rendering (FluidR3)


@needs_fluidsynth
def test_render_note_depends_only_on_its_arguments():
    first = render_note(40, 60, 127)
    render_note(19, 40, 127)  # another note in between must not change the next one
    assert first.shape == (4 * SR,) and first.dtype == np.float32
    np.testing.assert_array_equal(render_note(40, 60, 127), first)
    held = np.sqrt(np.mean(first[SR:3 * SR] ** 2))
    tail = np.sqrt(np.mean(first[int(3.7 * SR):] ** 2))
    assert tail < 0.1 * held  # released at 3 s: the violin dies away in the last second
    assert 0.05 < np.abs(first).max() < 0.999
    loud, soft = render_note(0, 60, 127), render_note(0, 60, 25)
    assert np.abs(soft).max() < 0.5 * np.abs(loud).max()  # one fixed gain: velocity is heard


@needs_fluidsynth
def test_nsynth_fluid_corpus_is_masked_split_and_labelled(tmp_path):
    out = tmp_path / "nsynth"
    notes = []
    # piano, glockenspiel (its samples sound a ninth off the key), violin, contrabass (silent high up)
    summary = prepare_nsynth_fluid(out, programs=[0, 9, 40, 43], pitches=[36, 79], velocities=[127],
                                   val_instruments=[40], note=notes.append)
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["planned"] == 8
    assert counts["kept"] + counts["silent"] + counts["wrong_pitch"] == 8
    assert counts["silent"] >= 1 and counts["wrong_pitch"] >= 1
    assert {s["source"] for s in manifest["skipped"]} >= {"string_acoustic_043-079-127",
                                                          "mallet_acoustic_009-036-127"}
    assert any("silent" in s["reason"] for s in manifest["skipped"])
    assert any("wrong pitch" in s["reason"] and "cents from MIDI 36" in s["reason"] for s in manifest["skipped"])
    clips = manifest["clips"]
    assert len(clips) == counts["kept"] and manifest["layout"] == "nsynth-fluid"
    assert {"keyboard_acoustic_000-036-127", "keyboard_acoustic_000-079-127"} <= {c["name"] for c in clips}
    # the split is by instrument: the violin is the validation instrument
    val = (out / "val.txt").read_text().split()
    train = (out / "train.txt").read_text().split()
    assert val and all("string_acoustic_040" in path for path in val)
    assert not any("string_acoustic_040" in path for path in train)
    assert sorted(train + val) == sorted(c["path"] for c in clips) and summary.val == val
    assert manifest["val_instruments"] == ["string_acoustic_040"]
    assert split_files(out) == ([out / p for p in train], [out / p for p in val])  # voclab train reads it
    # examples.json: NSynth's labels for every written note, with its path and split
    examples = json.loads((out / "examples.json").read_text())
    assert sorted(examples) == sorted(c["name"] for c in clips)
    for name, label in examples.items():
        assert label["note_str"] == name and label["path"] == f"wavs/{name}.flac"
        assert label["instrument_source_str"] == "acoustic" and label["sample_rate"] == SR
        assert label["pitch"] == int(name[-7:-4]) and label["velocity"] == 127
        assert label["pitch_check"] in ("ok", "octave") and label["split"] in ("train", "val")
        info = sf.info(out / label["path"])
        assert (info.samplerate, info.channels, info.frames, info.format) == (SR, 1, 4 * SR, "FLAC")
    for clip in clips:
        assert clip["sha256"] == hashlib.sha256((out / clip["path"]).read_bytes()).hexdigest()
    # the file holds the note render_note makes (16-bit)
    y, _ = sf.read(out / "wavs" / "keyboard_acoustic_000-079-127.flac", dtype="float32")
    np.testing.assert_allclose(y, render_note(0, 79, 127), atol=1.5 / 32768)
    licences = (out / "LICENSES.md").read_text()
    assert "Frank Wen" in licences and "Permission is hereby granted" in licences
    assert summary.layout == "nsynth-fluid" and "MIT" in summary.licence
    assert any("dropped" in n for n in notes)
    # an earlier output is replaced only with force, and the build is reproducible
    with pytest.raises(DataError, match="--force"):
        prepare_nsynth_fluid(out, programs=[0], pitches=[60], velocities=[127], note=notes.append)
    prepare_nsynth_fluid(out, programs=[0, 9, 40, 43], pitches=[36, 79], velocities=[127], val_instruments=[40],
                         force=True, note=notes.append)
    assert json.loads((out / "manifest.json").read_text()) == manifest


@needs_fluidsynth
def test_nsynth_fluid_options_are_checked(tmp_path):
    with pytest.raises(DataError, match="not among the pitched acoustic GM programs"):
        prepare_nsynth_fluid(tmp_path / "a", programs=[80])
    with pytest.raises(DataError, match="velocities"):
        prepare_nsynth_fluid(tmp_path / "b", velocities=[0])
    with pytest.raises(DataError, match="MIDI keys"):
        prepare_nsynth_fluid(tmp_path / "c", pitches=[200])
    with pytest.raises(DataError, match="none is left to train on"):
        prepare_nsynth_fluid(tmp_path / "d", programs=[40], val_instruments=[40])
    with pytest.raises(DataError, match="training instrument"):  # --limit kept only a validation note
        prepare_nsynth_fluid(tmp_path / "e", programs=[0, 40], pitches=[60], velocities=[127], val_instruments=[0],
                             limit=1, note=lambda _: None)
    assert not (tmp_path / "e" / "manifest.json").exists()  # incomplete: no manifest
    with pytest.raises(DataError, match="none of the 1 note"):  # the contrabass has no MIDI 84
        prepare_nsynth_fluid(tmp_path / "f", programs=[0, 43], pitches=[84], velocities=[127], val_instruments=[0],
                             limit=2, note=lambda _: None)


@needs_fluidsynth
def test_nsynth_fluid_through_the_cli(tmp_path, capsys):
    out = tmp_path / "nsynth-fluid"
    assert cli.main(["prepare", "--nsynth-fluid", "-o", str(out), "--limit", "12"]) == 0
    printed = capsys.readouterr().out
    assert "LICENSES.md" in printed and "train" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["planned"] == 12 and manifest["sample_rate"] == SR
    families = {c["instrument_family_str"] for c in manifest["clips"]}
    assert len(families) >= 5  # --limit spreads the notes over the instruments
    assert (out / "examples.json").is_file() and (out / "train.txt").read_text()


def test_nsynth_options_are_one_source_at_a_time(tmp_path, capsys):
    assert cli.main(["prepare", "--nsynth-fluid", "--drums", "-o", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--drums and --nsynth-fluid" in err and "only one of" in err
    assert cli.main(["prepare", str(tmp_path), "--nsynth", str(tmp_path), "-o", str(tmp_path / "b")]) == 2
    assert "SRC and --nsynth DIR" in capsys.readouterr().err
    assert cli.main(["prepare", "--nsynth-fluid", "--mini-ljspeech", "-o", str(tmp_path / "c")]) == 2
    assert "--mini-ljspeech and --nsynth-fluid" in capsys.readouterr().err
    assert cli.main(["prepare", "--nsynth", str(tmp_path), "--val-clips", "3", "-o", str(tmp_path / "d")]) == 2
    assert "split by instrument" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abcd")


# --------------------------------------------------------------------------- a real NSynth layout


def fake_nsynth(root, notes):
    """An NSynth split folder: examples.json and audio/<note_str>.wav (16-bit, 16 kHz), NSynth's fields."""
    (root / "audio").mkdir(parents=True)
    examples = {}
    for index, (family, source, instrument, pitch, velocity) in enumerate(notes):
        label = nsynth_label(family, source, instrument, pitch, velocity)
        label.update({"note": index, "qualities": [0] * 10, "qualities_str": ["bright"]})
        examples[label["note_str"]] = label
        sf.write(root / "audio" / f"{label['note_str']}.wav", tone(pitch, 0.5), SR, subtype="PCM_16")
    (root / "examples.json").write_text(json.dumps(examples))
    return examples


@pytest.fixture
def nsynth_folder(tmp_path):
    notes = [(family, "acoustic", 10 + i, pitch, 100)
             for i, family in enumerate(["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed",
                                         "string", "vocal"])
             for pitch in (24, 60, 84)]
    notes += [("keyboard", "electronic", 3, 60, 100), ("synth_lead", "synthetic", 4, 60, 100),  # not acoustic
              ("guitar", "acoustic", 13, 21, 100), ("guitar", "acoustic", 13, 96, 100)]  # outside 24-84
    root = tmp_path / "nsynth-test"
    examples = fake_nsynth(root, notes)
    (root / "audio" / "vocal_acoustic_019-084-100.wav").unlink()  # listed, but its file is gone
    return root, examples


def test_nsynth_keeps_ganssynth_subset_split_by_instrument(nsynth_folder, tmp_path):
    src, examples = nsynth_folder
    out = tmp_path / "out"
    notes = []
    summary = prepare_nsynth(src, out, note=notes.append)
    manifest = json.loads((out / "manifest.json").read_text())
    kept = {c["name"] for c in manifest["clips"]}
    assert len(kept) == 29 and manifest["layout"] == "nsynth"  # 10 instruments x 3 pitches, one file missing
    assert all(examples[n]["instrument_source_str"] == "acoustic" and 24 <= examples[n]["pitch"] <= 84 for n in kept)
    assert manifest["skipped"] == [{"source": "audio/vocal_acoustic_019-084-100.wav",
                                    "reason": "listed in examples.json but missing"}]
    assert any("missing from audio/" in n for n in notes)
    assert manifest["counts"] == {"listed": 34, "acoustic_in_range": 30, "missing": 1}
    # a seeded 10 % of the 10 instruments (one) holds out all its notes
    val_instruments = {examples[n]["instrument_str"] for n in kept if n in {p[5:-5] for p in summary.val}}
    train_instruments = {examples[n]["instrument_str"] for n in kept} - val_instruments
    assert len(val_instruments) == 1 and manifest["val_instruments"] == sorted(val_instruments)
    (held_out,) = val_instruments
    assert len(summary.val) == sum(examples[n]["instrument_str"] == held_out for n in kept)
    assert len(summary.train) + len(summary.val) == 29
    assert not val_instruments & train_instruments
    # the notes are copied as FLAC, with NSynth's labels (its quality tags too) in examples.json
    labels = json.loads((out / "examples.json").read_text())
    assert sorted(labels) == sorted(kept)
    name = "guitar_acoustic_013-060-100"
    assert labels[name]["qualities_str"] == ["bright"] and labels[name]["path"] == f"wavs/{name}.flac"
    y, sr = sf.read(out / labels[name]["path"], dtype="float32")
    original, _ = sf.read(src / "audio" / f"{name}.wav", dtype="float32")
    assert sr == SR and not (out / labels[name]["path"]).is_symlink()
    np.testing.assert_array_equal(y, original)  # 16-bit in, 16-bit FLAC out: lossless
    # the same seed draws the same instruments
    again = prepare_nsynth(src, tmp_path / "again", note=notes.append)
    assert again.val == summary.val


def test_nsynth_options_and_errors(nsynth_folder, tmp_path):
    src, _ = nsynth_folder
    summary = prepare_nsynth(src, tmp_path / "a", val_instruments=["string_acoustic_018", "reed_acoustic_017"],
                             limit=12, note=lambda _: None)
    assert len(summary.train) + len(summary.val) + len(summary.skipped) == 12  # one picked is the missing file
    assert all("string_acoustic_018" in p or "reed_acoustic_017" in p for p in summary.val)
    with pytest.raises(DataError, match="not an NSynth split folder"):
        prepare_nsynth(tmp_path, tmp_path / "b")
    bad = tmp_path / "bad"
    (bad / "audio").mkdir(parents=True)
    (bad / "examples.json").write_text(json.dumps({"x": {"pitch": 60}}))
    with pytest.raises(DataError, match="is not NSynth's"):
        prepare_nsynth(bad, tmp_path / "c")
    (bad / "examples.json").write_text(json.dumps({"x": nsynth_label("bass", "synthetic", 1, 60, 100)}))
    with pytest.raises(DataError, match="no acoustic notes"):
        prepare_nsynth(bad, tmp_path / "d")


def test_nsynth_through_the_cli(nsynth_folder, tmp_path, capsys):
    src, _ = nsynth_folder
    out = tmp_path / "gansynth"
    assert cli.main(["prepare", "--nsynth", str(src), "-o", str(out)]) == 0
    assert "29 clips" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["sample_rate"] == SR
    assert cli.main(["prepare", "--nsynth", str(src), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


# --------------------------------------------------------------------------- the shipped notes (data/notes)


def test_shipped_notes_are_mit_nsynth_style_renders():
    names = data.list_clips("notes")
    assert 12 <= len(names) <= 24
    for name in names:
        info = data.clip_info(name)
        assert info["licence"] == "MIT (FluidR3_GM soundfont, Frank Wen)"
        assert (info["sample_rate"], info["n_samples"]) == (SR, 4 * SR)
        assert info["note_str"] == name and info["instrument_source_str"] == "acoustic"
        assert info["pitch_check"] == "ok" and name.endswith(f"-{info['pitch']:03d}-{info['velocity']:03d}")
        assert info["source"]["package"].startswith("fluid-soundfont-gm")


def test_load_notes_returns_audio_and_nsynth_labels():
    audio, labels = data.load_notes()
    names = data.list_clips("notes")
    assert audio.shape == (len(names), 4 * SR) and audio.dtype == np.float32
    assert [label["note_str"] for label in labels] == names
    assert {"pitch", "velocity", "instrument_str", "instrument_family_str", "instrument_source_str"} <= set(labels[0])
    for row, label in zip(audio, labels):
        y, _ = data.load_clip(label["note_str"])
        np.testing.assert_array_equal(row, y)
    pitches = {label["pitch"] for label in labels}
    instruments = {label["instrument_str"] for label in labels}
    assert len(pitches) * len(instruments) == len(labels)  # every instrument at every pitch
    half, _ = data.load_notes(sr=8000)
    assert half.shape == (len(names), 4 * 8000)
    with pytest.raises(ConfigError, match="positive"):
        data.load_notes(sr=0)


def test_load_notes_on_old_data_says_to_rebuild(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy, ignore=shutil.ignore_patterns("notes"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["clips"] = [c for c in manifest["clips"] if c["kind"] != "notes"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("VOCLAB_DATA", str(copy))
    with pytest.raises(DataError, match="no notes.*build_data.py"):
        data.load_notes()


@needs_fluidsynth
def test_shipped_notes_are_what_prepare_renders():
    audio, labels = data.load_notes()
    for row, label in list(zip(audio, labels))[::7]:
        rendered = render_note(label["instrument"], label["pitch"], label["velocity"])
        np.testing.assert_allclose(row, rendered, atol=1.5 / 32768)
