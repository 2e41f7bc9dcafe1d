"""Benchmark: CPU speed of the reference vocoders' generators, as multiples of real time.

HiFi-GAN V1, V2, V3 and MelGAN turn the mel of 5 s of real speech into audio: inference
mode, weight norm removed, voclab's thread policy (``--threads N`` sets ``VOCLAB_THREADS``),
one warm-up, median of several runs. Griffin-Lim (32 iterations of voclab's fast Griffin-Lim
on the mel's pseudo-inverse) runs on the same mel as the classical baseline. Two phases: the
machine as it is ("quiet"), then with a spinning process pinned to one core ("contended");
in each, the vocoders take turns run by run. × real time = seconds of audio per second of compute.

    python benchmarks/vocoder_speed.py [--threads N] [--runs 5] [--seconds 5] [--device cpu]

The HiFi-GAN paper's figures (V100; "laptop CPU") and MelGAN's (≈52 kHz on CPU) are in
../shared/reference/vocoder-facts.md; absolute times count only from a GPU.
"""

from __future__ import annotations

import argparse
import os
import platform

from contention import quiet_and_contended


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch threads (default: voclab's policy)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--clip", default="librivox_austen_0890")
    args = parser.parse_args()
    if args.threads:
        os.environ["VOCLAB_THREADS"] = str(args.threads)

    import voclab  # noqa: F401  (first: its thread policy applies before torch starts)

    import numpy as np
    import torch

    from voclab.data import load_clip
    from voclab.models import get_model, remove_weight_norm
    from voclab.models.hifigan import Config as HiFiGANConfig
    from voclab.phase import griffin_lim
    from voclab.spectral import log_decompress, mel_spectrogram, mel_to_linear

    hifigan, melgan = get_model("hifigan"), get_model("melgan")
    candidates = [
        ("HiFi-GAN V1", hifigan, HiFiGANConfig.v1()),
        ("HiFi-GAN V2", hifigan, HiFiGANConfig.v2()),
        ("HiFi-GAN V3", hifigan, HiFiGANConfig.v3()),
        ("MelGAN", melgan, melgan.Config()),
    ]

    contenders, facts = {}, {}  # facts: name -> (params, seconds of audio, sample rate)
    for name, module, cfg in candidates:
        mel_cfg = cfg.mel_config
        y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
        y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))  # loop a short clip
        mel = torch.from_numpy(mel_spectrogram(y, mel_cfg))[None].to(args.device)  # (1, n_mels, frames)
        generator = remove_weight_norm(module.build(cfg)["generator"]).eval().to(args.device)
        with torch.inference_mode():
            audio_seconds = generator(mel).shape[-1] / mel_cfg.sample_rate

        def run(_seed, generator=generator, mel=mel):
            with torch.inference_mode():
                generator(mel)

        contenders[name] = run
        facts[name] = (sum(p.numel() for p in generator.parameters()), audio_seconds, mel_cfg.sample_rate)

    # the classical baseline on the same (HiFi-GAN) mel
    mel_cfg = HiFiGANConfig.v1().mel_config
    y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
    y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))
    magnitude = torch.from_numpy(mel_to_linear(log_decompress(mel_spectrogram(y, mel_cfg), mel_cfg), mel_cfg))
    magnitude = magnitude.to(args.device)
    contenders["Griffin-Lim (32 it.)"] = lambda seed: griffin_lim(
        magnitude, n_fft=mel_cfg.n_fft, hop_length=mel_cfg.hop_length, n_iter=32, seed=seed)
    facts["Griffin-Lim (32 it.)"] = (0, len(y) / mel_cfg.sample_rate, mel_cfg.sample_rate)

    sync = torch.cuda.synchronize if args.device == "cuda" else None
    phases = quiet_and_contended(contenders, args.runs, synchronize=sync)

    device = torch.cuda.get_device_name() if args.device == "cuda" else cpu_name()
    print(f"machine: {device}; {torch.get_num_threads()} threads (OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}); torch {torch.__version__}; {args.seconds:.0f} s of "
          f"{args.clip}; median of {args.runs} after a warm-up, the vocoders interleaved; inference mode, "
          "weight norm removed")
    (quiet_load, quiet), (busy_load, busy) = phases["quiet"], phases["contended"]
    print(f"quiet: {quiet_load}; contended: {busy_load}")
    print(f"{'vocoder':<22}{'params':>9}{'x real time':>13}{'kHz':>7}{'x real time':>13}{'kHz':>7}{'kept':>7}")
    print(f"{'':<22}{'':>9}{'quiet':>13}{'':>7}{'contended':>13}{'':>7}")
    for name, (params, audio_seconds, sr) in facts.items():
        rtf_quiet, rtf_busy = audio_seconds / quiet[name][0], audio_seconds / busy[name][0]
        param_text = f"{params / 1e6:.2f}M" if params else "-"
        print(f"{name:<22}{param_text:>9}{rtf_quiet:>13.2f}{rtf_quiet * sr / 1e3:>7.0f}"
              f"{rtf_busy:>13.2f}{rtf_busy * sr / 1e3:>7.0f}{rtf_busy / rtf_quiet:>7.0%}")


if __name__ == "__main__":
    main()
