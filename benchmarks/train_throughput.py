"""Benchmark: training throughput of HiFi-GAN V1 (steps/s and seconds of audio per second).

The paper's setting: batch 16 × 8192-sample segments, one discriminator and one generator
update per step (voclab.models.hifigan.train_step). fp32 and bf16 autocast are measured in
the same run, so the bf16 speed-up is a ratio against a baseline measured here. Random
audio is enough: the cost does not depend on content.

    python benchmarks/train_throughput.py --device cuda            # the figure that counts
    python benchmarks/train_throughput.py --device cpu --batch-size 2 --steps 2   # a smoke run

Record GPU figures, with this command line, in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--segment", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per precision")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (cpu only)")
    args = parser.parse_args()

    import torch

    from voclab.models import hifigan
    from voclab.spectral import mel_spectrogram

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: use --device cpu (with a small --batch-size) for a smoke run")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = hifigan.Config.v1(segment_size=args.segment, batch_size=args.batch_size)
    audio = 0.5 * torch.rand(args.batch_size, 1, args.segment, device=args.device) - 0.25
    mel = mel_spectrogram(audio.squeeze(1), cfg.mel_config)  # (batch, 80, segment // 256)
    batch = {"audio": audio, "mel": mel}

    results = {}
    for precision in ("fp32", "bf16"):
        modules = {name: m.to(args.device).train() for name, m in hifigan.build(cfg).items()}
        optimizers, _ = hifigan.make_optimizers(modules, cfg)
        autocast = (functools.partial(torch.autocast, device_type=args.device, dtype=torch.bfloat16)
                    if precision == "bf16" else contextlib.nullcontext)
        times = []
        for step in range(args.warmup + args.steps):
            if args.device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            hifigan.train_step(modules, optimizers, batch, cfg, autocast=autocast)
            if args.device == "cuda":
                torch.cuda.synchronize()
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
        results[precision] = statistics.median(times)

    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {args.threads} threads"
    audio_per_step = args.batch_size * args.segment / cfg.mel_config.sample_rate
    print(f"HiFi-GAN V1 training on {device}; torch {torch.__version__}; batch {args.batch_size} × "
          f"{args.segment} samples ({audio_per_step:.2f} s of audio per step); median of {args.steps} "
          f"steps after {args.warmup} warm-up")
    print(f"{'precision':<10}{'s/step':>10}{'steps/s':>10}{'audio s/s':>12}")
    for precision, seconds in results.items():
        print(f"{precision:<10}{seconds:>10.3f}{1 / seconds:>10.2f}{audio_per_step / seconds:>12.1f}")
    print(f"bf16 speed-up over fp32: {results['fp32'] / results['bf16']:.2f}x")


if __name__ == "__main__":
    main()
