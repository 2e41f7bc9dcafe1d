"""Benchmark: CPU speed of the reference vocoders' generators, as multiples of real time.

HiFi-GAN V1, V2, V3 and MelGAN turn the mel of 5 s of real speech into audio: inference
mode, weight norm removed, fixed threads, one warm-up, median of several runs. Griffin-Lim
(32 iterations of voclab's fast Griffin-Lim on the mel's pseudo-inverse) runs on the same
mel as the classical baseline. × real time = seconds of audio per second of compute.

    python benchmarks/vocoder_speed.py [--threads 2] [--runs 5] [--seconds 5] [--device cpu]

The HiFi-GAN paper's figures (V100; "laptop CPU") and MelGAN's (≈52 kHz on CPU) are in
../shared/reference/vocoder-facts.md; absolute times count only from a GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_seconds(fn, runs: int, device: str) -> float:
    import torch

    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--clip", default="librivox_austen_0890")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import numpy as np
    import torch

    from voclab.data import load_clip
    from voclab.models import get_model, remove_weight_norm
    from voclab.models.hifigan import Config as HiFiGANConfig
    from voclab.phase import griffin_lim
    from voclab.spectral import log_decompress, mel_spectrogram, mel_to_linear

    torch.set_num_threads(args.threads)
    hifigan, melgan = get_model("hifigan"), get_model("melgan")
    candidates = [
        ("HiFi-GAN V1", hifigan, HiFiGANConfig.v1()),
        ("HiFi-GAN V2", hifigan, HiFiGANConfig.v2()),
        ("HiFi-GAN V3", hifigan, HiFiGANConfig.v3()),
        ("MelGAN", melgan, melgan.Config()),
    ]

    rows = []
    for name, module, cfg in candidates:
        mel_cfg = cfg.mel_config
        y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
        y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))  # loop a short clip
        mel = torch.from_numpy(mel_spectrogram(y, mel_cfg))[None].to(args.device)  # (1, n_mels, frames)
        generator = remove_weight_norm(module.build(cfg)["generator"]).eval().to(args.device)
        params = sum(p.numel() for p in generator.parameters())
        with torch.inference_mode():
            seconds = median_seconds(lambda: generator(mel), args.runs, args.device)
            audio_seconds = generator(mel).shape[-1] / mel_cfg.sample_rate
        rows.append((name, params, seconds, audio_seconds, mel_cfg.sample_rate))

    # the classical baseline on the same (HiFi-GAN) mel
    mel_cfg = HiFiGANConfig.v1().mel_config
    y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
    y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))
    magnitude = mel_to_linear(log_decompress(mel_spectrogram(y, mel_cfg), mel_cfg), mel_cfg)
    magnitude = torch.from_numpy(magnitude).to(args.device)
    seconds = median_seconds(lambda: griffin_lim(magnitude, n_fft=mel_cfg.n_fft, hop_length=mel_cfg.hop_length,
                                                 n_iter=32), args.runs, args.device)
    rows.append(("Griffin-Lim (32 it.)", 0, seconds, len(y) / mel_cfg.sample_rate, mel_cfg.sample_rate))

    device = torch.cuda.get_device_name() if args.device == "cuda" else cpu_name()
    print(f"machine: {device}; {args.threads} threads; torch {torch.__version__}; "
          f"{args.seconds:.0f} s of {args.clip}; median of {args.runs} after a warm-up; "
          "inference mode, weight norm removed")
    print(f"{'vocoder':<22}{'params':>10}{'ms per run':>12}{'x real time':>13}{'kHz':>9}")
    for name, params, seconds, audio_seconds, sr in rows:
        rtf = audio_seconds / seconds
        param_text = f"{params / 1e6:.2f}M" if params else "-"
        print(f"{name:<22}{param_text:>10}{seconds * 1e3:>12.1f}{rtf:>13.2f}{rtf * sr / 1e3:>9.0f}")


if __name__ == "__main__":
    main()
