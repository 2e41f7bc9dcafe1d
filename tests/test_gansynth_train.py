"""`voclab train gansynth` from the command line: labelled notes in, killed with SIGKILL and resumed mid-stage
(the image counter, the stage and α go on where they were), `voclab generate --pitch`, and the refusals: a folder
without NSynth labels, a pitch outside the model's range, other spectrogram settings on resume, the wrong kind of
checkpoint given to `generate` or `vocode`.

A GANSynth of 8 channels on 64 × 64 pictures (8 kHz, 2048-sample notes, n_fft 128) grown over 3 resolutions from
16 × 16, batch 2, keeps a step to a few hundredths of a second on one core.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from train_helpers import (
    VOCLAB,
    every_step_command,
    kill_during_training,
    run_voclab,
    train_rows,
    train_steps,
    vocoder_run_fixture,  # noqa: F401 (the fixture vocoder_run)
)

from voclab import cli
from voclab.checkpoint import list_checkpoints, load_checkpoint
from voclab.config import load_config
from voclab.datasets import LabelledNotes, note_pitches
from voclab.errors import CheckpointError, ConfigError, DataError, MelMismatchError
from voclab.models import gansynth as GS
from voclab.specgram import SpecgramConfig
from voclab.train import train
from voclab.vocode import SEEDS_FILE, generate

SAMPLE_RATE, NOTE_LEN = 8000, 2048
SPECGRAM = {"sample_rate": SAMPLE_RATE, "n_fft": 128, "hop_length": 32, "audio_length": NOTE_LEN, "frames": 64,
            "left_pad": 96, "mel_fmax": 4000.0}
PITCHES = [55, 57, 60, 60, 64, 67]
BATCH = 2
#: 8 images (4 steps) per stable stage and per fade-in: a kill lands inside a stage as often as not
TINY = ["--set", "specgram=" + json.dumps(SPECGRAM), "--set", f"sample_rate={SAMPLE_RATE}", "--set",
        f"slice_len={NOTE_LEN}", "--set", "start_shape=[16,16]", "--set", "num_resolutions=3", "--set", "fmap_base=32",
        "--set", "fmap_max=8", "--set", "latent_dim=8", "--set", f"batch_size={BATCH}", "--set", "stable_images=8",
        "--set", "fade_images=8", "--set", "pitch_min=48", "--set", "pitch_max=72", "--set", "preview_n=2",
        "--set", "ndb_samples=8", "--set", "ndb_bins=4"]


def write_notes(folder: Path, *, labels: bool = True) -> Path:
    """Decaying sine notes at PITCHES, laid out as `voclab prepare --nsynth-fluid` lays out its folder."""
    (folder / "wavs").mkdir(parents=True)
    t = np.arange(NOTE_LEN) / SAMPLE_RATE
    examples, lines = {}, []
    for i, pitch in enumerate(PITCHES):
        note_str = f"keyboard_synthetic_{i:03d}-{pitch:03d}-100"
        y = 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t) * np.exp(-3 * t)
        sf.write(folder / "wavs" / f"{note_str}.wav", y.astype(np.float32), SAMPLE_RATE)
        examples[note_str] = {"note_str": note_str, "pitch": pitch, "path": f"wavs/{note_str}.wav", "split": "train"}
        lines.append(f"wavs/{note_str}.wav\n")
    if labels:
        (folder / "examples.json").write_text(json.dumps(examples))
    (folder / "train.txt").write_text("".join(lines))
    (folder / "val.txt").write_text("")
    return folder


def tiny_cfg(*more: str):
    values = [v for v in TINY if v != "--set"]
    return load_config("gansynth", "gansynth_small", [*values, *more])


@pytest.fixture(scope="module")
def gansynth_run(tmp_path_factory):
    """A tiny GANSynth trained from the command line, killed with SIGKILL mid-run, then resumed."""
    root = tmp_path_factory.mktemp("gansynth_cli")
    data = write_notes(root / "notes")
    run = root / "run"
    command = every_step_command("gansynth", data, run, "--config", "gansynth_small", *TINY)
    killed_at = kill_during_training([*VOCLAB, *command, "--steps", "100000"], run, checkpoints=3, settle_s=0.2)
    resumed = run_voclab(*command, "--steps", str(killed_at + 6), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return {"root": root, "data": data, "run": run, "killed_at": killed_at, "resumed": resumed}


def test_kill_minus_9_then_resume_continues_the_stage_and_the_image_count(gansynth_run):
    run, killed_at = gansynth_run["run"], gansynth_run["killed_at"]
    assert train_steps(run) == list(range(1, killed_at + 7)), "the log continues at the checkpoint's step + 1"
    cfg = tiny_cfg()
    for row in train_rows(run):  # step s trained on the images after (s - 1) · batch: before and after the kill
        stage, alpha = GS.stage_at((row["step"] - 1) * BATCH, cfg)
        assert (row["losses"]["stage"], row["losses"]["alpha"]) == (stage, pytest.approx(alpha)), row["step"]
    final = torch.load(run / "checkpoints" / f"step_{killed_at + 6:08d}.pt", weights_only=True)
    for name in ("generator", "generator_ema"):
        weights = final["modules"][name]
        assert int(weights["images_seen"]) == (killed_at + 6) * BATCH
        expected = torch.bincount(torch.tensor(PITCHES) - 48, minlength=25).float()
        assert torch.equal(weights["pitch_counts"], expected), "the training histogram travels in the checkpoint"
    assert final["mel"] is None and final["specgram"] == SpecgramConfig.from_dict(SPECGRAM).to_dict()
    assert "done: step" in gansynth_run["resumed"].stdout


def test_generate_at_a_pitch_and_at_the_seeds_own_pitches(gansynth_run, tmp_path, capsys):
    run = gansynth_run["run"]
    assert cli.main(["generate", str(run), "--pitch", "60", "-n", "2", "-o", str(tmp_path / "c4"), "--seed", "3"]) == 0
    wavs = sorted((tmp_path / "c4").glob("*.wav"))
    assert [p.name for p in wavs] == ["gansynth_00000003_pitch_060.wav", "gansynth_00000004_pitch_060.wav"]
    for path in wavs:
        audio, sr = sf.read(path, dtype="float32")
        assert sr == SAMPLE_RATE and audio.shape == (NOTE_LEN,) and np.isfinite(audio).all()
    seeds = json.loads((tmp_path / "c4" / SEEDS_FILE).read_text())
    assert [c["pitch"] for c in seeds["clips"]] == [60, 60] and seeds["pitch_range"] == [48, 72]
    # without --pitch each seed draws its pitch from the training histogram: only pitches the notes have
    drawn = generate(run, 6, tmp_path / "drawn", seed=0)
    seeds = json.loads((tmp_path / "drawn" / SEEDS_FILE).read_text())
    pitches = [c["pitch"] for c in seeds["clips"]]
    assert set(pitches) <= set(PITCHES) and [p.name for p in drawn] == [
        f"gansynth_{s:08d}_pitch_{p:03d}.wav" for s, p in enumerate(pitches)]
    ckpt = load_checkpoint(run)
    np.testing.assert_array_equal(ckpt.generate(1, seed=2)[0], ckpt.generate(1, seed=2, pitch=pitches[2])[0])
    # a pitch the model has no class for is refused with its range, before anything is written
    code = cli.main(["generate", str(run), "--pitch", "10", "-n", "2", "-o", str(tmp_path / "low")])
    err = capsys.readouterr().err
    assert code == 2 and "48-72" in err and "--pitch 10" in err and not list((tmp_path / "low").glob("*.wav"))


def test_the_wrong_checkpoint_is_refused_with_the_command_to_use(gansynth_run, vocoder_run, tmp_path, capsys):
    code = cli.main(["generate", str(vocoder_run), "--pitch", "60", "-n", "2", "-o", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code == 2 and "vocoder" in err and "voclab vocode" in err
    note = next((gansynth_run["data"] / "wavs").glob("*.wav"))
    code = cli.main(["vocode", str(gansynth_run["run"]), str(note), "-o", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2 and "pitch" in err and "voclab generate" in err and not (tmp_path / "v").exists()
    with pytest.raises(CheckpointError, match="voclab generate"):
        load_checkpoint(gansynth_run["run"]).vocode(np.zeros((80, 4), np.float32))


def test_resume_refuses_other_spectrogram_settings(gansynth_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(gansynth_run["run"], run, ignore=shutil.ignore_patterns(".lock"))
    latest = list_checkpoints(run / "checkpoints")[-1][1]
    state = torch.load(latest, weights_only=True)
    state["specgram"] = {**state["specgram"], "mag_scale": 0.1}  # the run's pictures were made otherwise
    torch.save(state, latest)
    with pytest.raises(MelMismatchError, match="mag_scale"):
        train("gansynth", None, gansynth_run["data"], run, resume=True, steps=10_000,
              tensorboard=False, progress=False)


def test_mid_stage_resume_in_python_and_validation_on_the_moving_average(tmp_path):
    data = write_notes(tmp_path / "notes")
    cfg = tiny_cfg("ema_decay=0.5")  # the average is listened to from step 1 / (1 - 0.5) = 2 on
    kwargs = {"tensorboard": False, "progress": False, "val_every": 3, "ckpt_every": 3, "log_every": 1}
    first = train("gansynth", cfg, data, tmp_path / "run", steps=3, **kwargs)  # 6 images: inside the 2nd period
    assert GS.stage_at(6, cfg) == (0, 1.0) and GS.stage_at(10, cfg) == (1, pytest.approx(0.25))
    assert int(first.modules["generator"].images_seen) == 6
    resumed = train("gansynth", None, data, tmp_path / "run", steps=6, resume=True, **kwargs)
    assert int(resumed.modules["generator"].images_seen) == 12
    rows = train_rows(tmp_path / "run")
    assert [(r["step"], r["losses"]["stage"], r["losses"]["alpha"]) for r in rows if r["step"] > 3] == [
        (4, 0.0, 1.0), (5, 1.0, 0.0), (6, 1.0, 0.25)]
    vals = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    vals = [row for row in vals if row["type"] == "val"]
    assert [row["weights"] for row in vals] == ["generator_ema", "generator_ema"]
    assert all(0.0 <= row["pitch_accuracy"] <= 1.0 and "ndb" in row for row in vals)
    previews = sorted(p.name for p in (tmp_path / "run" / "samples" / "step_000006").glob("*.wav"))
    assert previews == ["seed_0000_pitch_055.wav", "seed_0001_pitch_067.wav"]  # the sweep's ends
    # the previews are what `voclab generate --seed 0 --pitch 55` writes (the same weights); a batch of one
    # rounds otherwise than the previews' batch of two, and the IF's running sum carries that along the note
    made = generate(tmp_path / "run", 1, tmp_path / "again", seed=0, pitch=55)[0]
    difference = np.abs(sf.read(made)[0] - sf.read(tmp_path / "run" / "samples" / "step_000006" /
                                                   "seed_0000_pitch_055.wav")[0])
    assert difference.mean() < 1e-4 and difference.max() < 0.02, (difference.mean(), difference.max())


def test_labelled_notes_and_the_folder_without_labels(tmp_path):
    data = write_notes(tmp_path / "notes")
    files = sorted((data / "wavs").glob("*.wav"))
    pitches = note_pitches(data, files)
    assert pitches == PITCHES
    notes = LabelledNotes(files, pitches, SpecgramConfig.from_dict(SPECGRAM), min_items=8)
    assert len(notes) == 8 and notes[7]["spec"].shape == (2, 64, 64) and int(notes[7]["pitch"]) == PITCHES[1]
    assert float(notes[0]["spec"].abs().max()) <= 1.0
    bare = write_notes(tmp_path / "bare", labels=False)
    with pytest.raises(DataError, match="voclab prepare --nsynth-fluid"):
        train("gansynth", tiny_cfg(), bare, tmp_path / "run", steps=1, tensorboard=False, progress=False)


def test_the_config_names_both_shapes_when_they_differ(tmp_path):
    small = load_config("gansynth", "gansynth_small")
    assert small.specgram_config().shape == (2, 128, 256) and small.final_shape == (128, 256)
    assert load_config("gansynth", "gansynth").specgram_config().shape == (2, 128, 1024)
    with pytest.raises(ConfigError, match=r"128 frames x 256 bins.*64 x 128"):
        train("gansynth", load_config("gansynth", "gansynth_small", ["num_resolutions=4"]), tmp_path, tmp_path / "r",
              steps=1, tensorboard=False, progress=False)
