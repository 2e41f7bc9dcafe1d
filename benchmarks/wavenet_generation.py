"""Benchmark: WaveNet generation speed, naive vs cached, in samples per second.

For each shipped WaveNet config (untrained weights: speed does not depend on them):

* **cached** — ``model.generate(mel, cached=True)``: one column per layer per sample
  (Paine et al. 2016), timed over ``--samples`` samples after a warm-up; best of ``--runs``.
* **naive** — ``model.generate(mel, cached=False)`` recomputes the network on the last
  ``receptive_field`` samples for every new one. Its steady-state cost per sample is one
  forward over a receptive field; this is timed as ``model(x, mel)`` on a window of the
  receptive field rounded up to whole mel frames (512 samples for ``wavenet``, 6144 for
  ``wavenet_mulaw``), best of ``--runs``. (Timing the naive loop itself past the
  receptive field takes minutes per sample count; ``--naive-loop N`` does it for N samples
  after the first receptive field, as a cross-check.)
* **identical** — cached and naive give the same samples: both run in float64 from the
  same seed for ``--check-samples`` samples and are compared exactly.

× real time = samples per second / sample rate (22050 Hz).

    python benchmarks/wavenet_generation.py [--threads 1] [--samples 2000] [--batch 1] [--device cpu]

The facts file (../shared/reference/vocoder-facts.md) quotes the HiFi-GAN paper's WaveNet
figure (0.07 kHz on a V100 †) and Fast Wavenet's ≈20× speed-up; times here are this machine's.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import time

from vocoder_speed import cpu_name


def best_seconds(fn, runs: int, device: str) -> float:
    """The fastest of ``runs`` calls: on a shared machine the other processes only ever add time."""
    import torch

    times = []
    for _ in range(runs):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=2000, help="samples per cached run")
    parser.add_argument("--batch", type=int, default=1, help="sequences generated together")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check-samples", type=int, default=100, help="samples compared, naive vs cached")
    parser.add_argument("--naive-loop", type=int, default=0, metavar="N",
                        help="also time the naive loop for N samples past the receptive field (slow)")
    parser.add_argument("--configs", nargs="+", default=["wavenet", "wavenet_mulaw"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import torch

    from voclab.models.wavenet import WaveNet, count_parameters
    from voclab.config import load_config

    torch.set_num_threads(args.threads)
    rows = []
    for name in args.configs:
        cfg = load_config("wavenet", name)
        hop, sr = cfg.mel_config.hop_length, cfg.mel_config.sample_rate
        torch.manual_seed(0)
        model = WaveNet(cfg).eval().to(args.device)
        rf = model.receptive_field
        with torch.inference_mode():
            # cached: warm up, then the best of several runs over --samples samples
            mel = torch.rand(args.batch, cfg.cin_channels, math.ceil(args.samples / hop), device=args.device)
            model.generate(mel, length=min(100, args.samples))
            cached = best_seconds(functools.partial(model.generate, mel, length=args.samples), args.runs,
                                  args.device)
            cached_rate = args.batch * args.samples / cached

            # naive, steady state: one forward over the receptive field per sample
            frames = math.ceil(rf / hop)
            window = torch.zeros(args.batch, cfg.in_channels, frames * hop, device=args.device)
            window_mel = torch.rand(args.batch, cfg.cin_channels, frames, device=args.device)
            model(window, window_mel)
            naive = best_seconds(functools.partial(model, window, window_mel), args.runs, args.device)
            naive_rate = args.batch / naive

            loop_rate = None
            if args.naive_loop:
                long_mel = torch.rand(args.batch, cfg.cin_channels, math.ceil((rf + args.naive_loop) / hop),
                                      device=args.device)
                start = time.perf_counter()
                model.generate(long_mel, length=rf, cached=False)
                ramp = time.perf_counter() - start
                start = time.perf_counter()
                model.generate(long_mel, length=rf + args.naive_loop, cached=False)
                loop_rate = args.batch * args.naive_loop / (time.perf_counter() - start - ramp)

        # identical samples: float64, same seed, naive vs cached
        double = WaveNet(cfg).double().to(args.device)
        double.load_state_dict(model.state_dict())
        check_mel = torch.rand(1, cfg.cin_channels, math.ceil(args.check_samples / hop), dtype=torch.float64,
                               device=args.device)
        draws = [double.generate(check_mel, length=args.check_samples, cached=cached_flag,
                                 generator=torch.Generator(args.device).manual_seed(1))
                 for cached_flag in (True, False)]
        identical = torch.equal(*draws)
        rows.append((name, count_parameters(model), rf, cached_rate, naive_rate, loop_rate, sr, identical))

    device = torch.cuda.get_device_name() if args.device == "cuda" else cpu_name()
    print(f"machine: {device}; {args.threads} thread(s); torch {torch.__version__}; batch {args.batch}; "
          f"cached: best of {args.runs} runs of {args.samples} samples; naive: one forward over the "
          f"receptive field per sample, best of {args.runs}")
    header = f"{'config':<15}{'params':>8}{'RF':>6}{'cached/s':>11}{'naive/s':>10}{'speed-up':>10}{'x real time':>13}"
    print(header + ("  naive loop/s" if args.naive_loop else "") + "  identical (float64)")
    for name, params, rf, cached_rate, naive_rate, loop_rate, sr, identical in rows:
        line = (f"{name:<15}{params / 1e6:>7.2f}M{rf:>6}{cached_rate:>11.1f}{naive_rate:>10.2f}"
                f"{cached_rate / naive_rate:>9.0f}x{cached_rate / sr:>13.4f}")
        if args.naive_loop:
            line += f"{loop_rate:>14.2f}"
        print(line + f"  {'yes' if identical else 'NO'} ({args.check_samples} samples)")


if __name__ == "__main__":
    main()
