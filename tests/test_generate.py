"""`voclab train wavegan` from the command line, killed and resumed exactly; `voclab generate`; the wrong
checkpoint given to `generate` or `vocode` is refused with the command to use instead.

Issue 11 §1 (training, --resume, voclab generate). A WaveGAN of d = 2 on 2048-sample slices keeps
each step to a fraction of a second on 2 CPU cores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from test_wavegan import write_hits
from train_helpers import (
    VOCLAB,
    every_step_command,
    kill_during_training,
    run_voclab,
    train_steps,
    vocoder_run_fixture,  # noqa: F401 (the fixture vocoder_run)
)

from voclab import cli
from voclab.checkpoint import load_checkpoint, read_checkpoint
from voclab.errors import CheckpointError, ConfigError
from voclab.vocode import SEEDS_FILE, generate, vocode

TINY = ["--set", "dim=2", "--set", "slice_len=2048", "--set", "batch_size=2", "--set", "n_critic=2",
        "--set", "preview_n=2", "--set", "ndb_samples=16", "--set", "ndb_bins=4"]


@pytest.fixture(scope="module")
def wavegan_run(tmp_path_factory):
    """A tiny WaveGAN trained from the command line, killed with SIGKILL mid-run, then resumed."""
    root = tmp_path_factory.mktemp("wavegan_cli")
    data = write_hits(root / "hits")
    run = root / "run"
    command = every_step_command("wavegan", data, run, "--config", "wavegan_small", *TINY)
    killed_at = kill_during_training([*VOCLAB, *command, "--steps", "100000"], run, checkpoints=2, settle_s=0.3)
    resumed = run_voclab(*command, "--steps", str(killed_at + 2), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight = run_voclab(*[a if a != str(run) else str(root / "straight") for a in command],
                      "--steps", str(killed_at + 2))
    assert straight.returncode == 0, straight.stderr[-3000:]
    return {"root": root, "data": data, "run": run, "straight": root / "straight", "killed_at": killed_at,
            "resumed": resumed}


def test_kill_minus_9_then_resume_continues_exactly(wavegan_run):
    run, killed_at = wavegan_run["run"], wavegan_run["killed_at"]
    assert train_steps(run) == list(range(1, killed_at + 3)), "the log continues at the checkpoint's step + 1"
    assert "done: step" in wavegan_run["resumed"].stdout and "best validation NDB" in wavegan_run["resumed"].stdout
    final = f"step_{killed_at + 2:08d}.pt"
    a = torch.load(run / "checkpoints" / final, weights_only=True)
    b = torch.load(wavegan_run["straight"] / "checkpoints" / final, weights_only=True)
    for name in a["modules"]:  # the killed-and-resumed run ends where an uninterrupted one does, bit for bit
        for key, value in a["modules"][name].items():
            assert torch.equal(value, b["modules"][name][key]), f"{name}.{key} differs after kill -9 and --resume"
    for name in a["optimizers"]:
        for index, slot in a["optimizers"][name]["state"].items():
            for key, value in slot.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizers"][name]["state"][index][key]))
    assert a["mel"] is None and a["config"]["sample_rate"] == 16000 and a["config"]["slice_len"] == 2048


def test_generate_writes_n_clips_of_the_checkpoints_rate_and_length(wavegan_run, tmp_path):
    out = tmp_path / "made"
    result = run_voclab("generate", str(wavegan_run["run"]), "-n", "5", "-o", str(out), "--seed", "7")
    assert result.returncode == 0, result.stderr
    wavs = sorted(out.glob("*.wav"))
    assert [p.name for p in wavs] == [f"wavegan_{s:08d}.wav" for s in range(7, 12)]
    for path in wavs:
        audio, sr = sf.read(path, dtype="float32")
        assert sr == 16000 and audio.shape == (2048,) and np.isfinite(audio).all()
    seeds = json.loads((out / SEEDS_FILE).read_text())
    assert [c["seed"] for c in seeds["clips"]] == list(range(7, 12)) and seeds["samples"] == 2048
    assert seeds["latent"] == {"dim": 100, "distribution": "uniform"} and seeds["sample_rate"] == 16000
    # one clip again from its seed alone; and the last validation's previews are seeds 0 and 1
    again = generate(wavegan_run["run"], 1, tmp_path / "again", seed=9)[0]
    np.testing.assert_array_equal(sf.read(again)[0], sf.read(out / "wavegan_00000009.wav")[0])
    previews = wavegan_run["run"] / "samples" / f"step_{wavegan_run['killed_at'] + 2:06d}"
    first = generate(wavegan_run["run"], 2, tmp_path / "previews", seed=0)
    for i, path in enumerate(first):
        np.testing.assert_allclose(sf.read(path)[0], sf.read(previews / f"seed_{i:04d}.wav")[0], atol=1e-4)


def test_generate_without_a_seed_records_the_one_it_drew(wavegan_run, tmp_path):
    assert cli.main(["generate", str(wavegan_run["run"]), "-n", "2", "-o", str(tmp_path / "out")]) == 0
    seeds = json.loads((tmp_path / "out" / SEEDS_FILE).read_text())
    first = seeds["clips"][0]["seed"]
    assert [c["seed"] for c in seeds["clips"]] == [first, first + 1]
    assert (tmp_path / "out" / seeds["clips"][1]["file"]).is_file()


def test_the_wrong_checkpoint_names_the_command_to_use(wavegan_run, vocoder_run, tmp_path, capsys):
    code = cli.main(["generate", str(vocoder_run), "-n", "2", "-o", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("voclab: ") and err.count("\n") == 1
    assert "vocoder" in err and "voclab vocode" in err and not (tmp_path / "g").exists()
    hit = next(wavegan_run["data"].glob("*.wav"))
    code = cli.main(["vocode", str(wavegan_run["run"]), str(hit), "-o", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2 and "unconditional" in err and "voclab generate" in err and not (tmp_path / "v").exists()
    code = cli.main(["generate", str(wavegan_run["run"]), "-n", "2", "-o", str(tmp_path / "p"), "--pitch", "60"])
    err = capsys.readouterr().err
    assert code == 2 and "unconditional" in err and "--pitch" in err
    # the same refusals in Python
    with pytest.raises(CheckpointError, match="voclab generate"):
        load_checkpoint(wavegan_run["run"]).vocode(np.zeros((80, 4), np.float32))
    with pytest.raises(CheckpointError, match="voclab vocode"):
        load_checkpoint(vocoder_run).generate(2)
    with pytest.raises(CheckpointError, match="voclab generate"):
        vocode(wavegan_run["run"], [hit], tmp_path / "v")


def test_generate_checks_its_arguments_before_loading(wavegan_run, tmp_path, capsys):
    for args, words in ((["-n", "0"], "at least 1"), (["--seed", "-1"], ">= 0")):
        code = cli.main(["generate", str(wavegan_run["run"]), "-o", str(tmp_path / "x"), *args])
        assert code == 2 and words in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    code = cli.main(["generate", str(wavegan_run["run"]), "-o", str(tmp_path / "file")])
    assert code == 2 and "is a file" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="at least 1"):
        generate(wavegan_run["run"], 0, tmp_path / "y")
    code = cli.main(["generate", str(tmp_path / "nothing"), "-o", str(tmp_path / "z")])
    assert code == 2 and "No checkpoint" in capsys.readouterr().err


def test_generate_reads_a_slim_checkpoint(wavegan_run, tmp_path):
    assert cli.main(["slim", str(wavegan_run["run"]), "-o", str(tmp_path / "g.pt")]) == 0
    slim = read_checkpoint(tmp_path / "g.pt", generator_only=True)
    assert slim["mel"] is None and set(slim["modules"]) == {"generator"}
    made = generate(tmp_path / "g.pt", 1, tmp_path / "out", seed=3)[0]
    full = generate(wavegan_run["run"], 1, tmp_path / "full", seed=3)[0]
    np.testing.assert_array_equal(sf.read(made)[0], sf.read(full)[0])
