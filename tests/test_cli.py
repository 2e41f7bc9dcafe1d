"""The `voclab` command: doctor reports versions, device, widgets and data, and fails on bad data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voclab import cli
from voclab.data import data_dir

REPO = Path(__file__).resolve().parent.parent


def test_doctor_reports_everything_and_passes(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for expected in ("torch", "librosa", "device:", "JupyterLab widget extension: installed",
                     "matches its manifest", "tier:"):
        assert expected in out


def test_doctor_fails_when_data_does_not_match_its_manifest(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    victim = next((copy / "speech").glob("*.flac"))
    victim.write_bytes(victim.read_bytes()[:-100])  # a truncated file
    monkeypatch.setenv("VOCLAB_DATA", str(copy))
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "does NOT match" in out and victim.name in out


def test_doctor_reports_a_bad_tier(monkeypatch, capsys):
    monkeypatch.setenv("VOCLAB_TIER", "turbo")
    assert cli.main(["doctor"]) == 1
    assert "VOCLAB_TIER='turbo'" in capsys.readouterr().out


def test_console_script_runs():
    exe = shutil.which("voclab")
    if exe is None:
        pytest.skip("the `voclab` console script is not installed (pip install -e .)")
    result = subprocess.run([exe, "doctor"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_command_exits_with_usage():
    result = subprocess.run([sys.executable, "-m", "voclab", "fly"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr
