"""Benchmark: training throughput of HiFi-GAN (steps/s and seconds of audio per second).

The paper's setting: batch 16 × 8192-sample segments, one discriminator and one generator
update per step (voclab.models.hifigan.train_step). Three variants are timed in the same
run, interleaved step by step so that a busy machine slows them alike:

* ``fp32`` — the step as voclab runs it: in the generator step the discriminator is
  ``frozen`` (its weights need no gradients there; under DDP none are all-reduced either);
* ``fp32, D not frozen`` — the baseline: the generator step also computes the gradients of
  the discriminator's ~70 M weights, which the next discriminator step throws away;
* ``bf16`` — the first variant under bf16 autocast.

Random audio is enough: the cost does not depend on content.

    python benchmarks/train_throughput.py --device cuda            # the figures that count
    python benchmarks/train_throughput.py --device cpu --batch-size 2 --steps 5   # a CPU ratio

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
    parser.add_argument("--variant", default="v1", choices=["v1", "v2", "v3"], help="the generator (v1)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--segment", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (cpu only)")
    parser.add_argument("--no-bf16", action="store_true", help="time fp32 only (CPUs without fast bf16)")
    args = parser.parse_args()

    import torch

    from voclab.models import hifigan
    from voclab.spectral import mel_spectrogram

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: use --device cpu (with a small --batch-size) for a CPU ratio")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = getattr(hifigan.Config, args.variant)(segment_size=args.segment, batch_size=args.batch_size)
    audio = 0.5 * torch.rand(args.batch_size, 1, args.segment, device=args.device) - 0.25
    mel = mel_spectrogram(audio.squeeze(1), cfg.mel_config)  # (batch, 80, segment // 256)
    batch = {"audio": audio, "mel": mel}

    def not_frozen(network):
        return contextlib.nullcontext(network)

    bf16 = functools.partial(torch.autocast, device_type=args.device, dtype=torch.bfloat16)
    variants = {"fp32": (contextlib.nullcontext, hifigan.frozen),
                "fp32, D not frozen": (contextlib.nullcontext, not_frozen)}
    if not args.no_bf16:
        variants["bf16"] = (bf16, hifigan.frozen)
    runs = {}
    for name in variants:
        modules = {key: m.to(args.device).train() for key, m in hifigan.build(cfg).items()}
        runs[name] = (modules, hifigan.make_optimizers(modules, cfg)[0])

    frozen = hifigan.frozen
    times = {name: [] for name in variants}
    try:
        for step in range(args.warmup + args.steps):
            for name, (autocast, freeze) in variants.items():  # interleaved: one step of each in turn
                hifigan.frozen = freeze  # what train_step calls around the discriminator in the G step
                modules, optimizers = runs[name]
                if args.device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                hifigan.train_step(modules, optimizers, batch, cfg, autocast=autocast)
                if args.device == "cuda":
                    torch.cuda.synchronize()
                if step >= args.warmup:
                    times[name].append(time.perf_counter() - start)
    finally:
        hifigan.frozen = frozen
    results = {name: statistics.median(t) for name, t in times.items()}

    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {args.threads} threads"
    audio_per_step = args.batch_size * args.segment / cfg.mel_config.sample_rate
    print(f"HiFi-GAN {args.variant.upper()} training on {device}; torch {torch.__version__}; batch "
          f"{args.batch_size} × {args.segment} samples ({audio_per_step:.2f} s of audio per step); median of "
          f"{args.steps} interleaved steps after {args.warmup} warm-up")
    print(f"{'variant':<22}{'s/step':>10}{'steps/s':>10}{'audio s/s':>12}")
    for name, seconds in results.items():
        print(f"{name:<22}{seconds:>10.3f}{1 / seconds:>10.2f}{audio_per_step / seconds:>12.1f}")
    print(f"frozen D in the generator step: {results['fp32, D not frozen'] / results['fp32']:.2f}x the speed "
          "of the step that also computes D's gradients")
    if "bf16" in results:
        print(f"bf16 speed-up over fp32: {results['fp32'] / results['bf16']:.2f}x")


if __name__ == "__main__":
    main()
