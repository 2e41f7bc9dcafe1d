"""What `voclab vocode` costs when a checkpoint is mostly discriminators and Adam states.

A HiFi-GAN run with a tiny generator still writes 850 MB checkpoints: full-size MPD + MSD
(70.7 M weights) and both AdamW states. `voclab vocode` maps the file (torch.load(mmap=True))
and reads only the generator; `voclab slim` writes the generator alone. This script builds
such a checkpoint, slims it, and vocodes 4 s of shipped speech from both in fresh processes,
printing wall time and peak RSS (the file stays in the page cache: warm-cache figures).

    python benchmarks/checkpoint_reading.py
    python benchmarks/checkpoint_reading.py --checkout /tmp/old   # another voclab (git worktree)

Notebook: 07_hifigan.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile as sf
import torch

import voclab
from voclab.checkpoint import FORMAT, rng_state, save_atomic
from voclab.data import load_clip
from voclab.models import hifigan as H

REPO = Path(__file__).resolve().parent.parent

# a child process: run `voclab ARGS...`, then print its wall time and peak RSS as JSON. The peak is
# /proc's VmHWM (this process image only): getrusage's ru_maxrss would count the parent's peak too,
# which a forked child inherits on Linux.
CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from voclab.cli import main
code = main(sys.argv[1:])
seconds = time.perf_counter() - start
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "peak_rss_mb": peak / 1024}))
"""


def big_checkpoint(path: Path) -> Path:
    """A tiny HiFi-GAN generator with full-size discriminators and both AdamW states, as `voclab train` saves it."""
    cfg = H.Config(resblock="2", upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
                   upsample_initial_channel=32, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 2]],
                   segment_size=2048, batch_size=2)
    torch.manual_seed(0)
    modules = H.build(cfg)
    optimizers, schedulers = H.make_optimizers(modules, cfg)
    for name, net in modules.items():  # one zero-gradient step: AdamW allocates both moments of every weight
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        optimizers[name].step()
    state = {"format": FORMAT, "voclab_version": voclab.__version__, "model": "hifigan", "config": cfg.to_dict(),
             "mel": cfg.mel_config.to_dict(), "step": 1, "epoch": 0, "epoch_step": 1,
             "modules": {k: v.state_dict() for k, v in modules.items()},
             "optimizers": {k: v.state_dict() for k, v in optimizers.items()},
             "schedulers": {k: v.state_dict() for k, v in schedulers.items()}, "rng": rng_state(),
             "best_val": None, "train": {"seed": 0}}
    return save_atomic(state, path)


def run(checkout: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    # cwd: `python -c` puts the working folder first on sys.path, before PYTHONPATH's checkout
    result = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=tempfile.gettempdir(),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO, help="the voclab to time (default: this one)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each; the last is printed (2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        full = big_checkpoint(tmp / "full.pt")
        y, sr = load_clip("arctic_a0007")
        sf.write(tmp / "speech.wav", y, sr)
        rows = [("full checkpoint", full)]
        slim = run(REPO, "slim", str(full), "-o", str(tmp / "slim.pt"))  # always this voclab's slim
        if slim["code"] == 0:
            rows.append(("slim checkpoint", tmp / "slim.pt"))
        print(f"voclab at {args.checkout}; {len(y) / sr:.1f} s of speech; torch {torch.__version__}")
        for label, checkpoint in rows:
            for _ in range(args.runs):
                figures = run(args.checkout, "vocode", str(checkpoint), str(tmp / "speech.wav"), "-o", str(tmp / "out"))
            print(f"{label:<16} {checkpoint.stat().st_size / 1e6:8.1f} MB   vocode {figures['seconds']:5.2f} s   "
                  f"peak RSS {figures['peak_rss_mb']:6.0f} MB")


if __name__ == "__main__":
    main()
