"""Benchmark: voclab.phase.griffin_lim against librosa.griffinlim on the same magnitude.

5 s of real speech at 22.05 kHz, n_fft 1024, hop 256, 32 iterations, momentum 0.99, with
voclab's default thread policy (``voclab.threads``; ``--threads N`` sets ``VOCLAB_THREADS``).
Two phases: the machine as it is ("quiet"), then with a spinning process pinned to one core
("contended"). In each, the two libraries take turns run by run (one random start each, after
a warm-up); prints the median times, the speed ratio and both spectral convergences (mean over
the same seeds, since the libraries draw different random starts).

    python benchmarks/griffin_lim.py [--runs 7] [--threads N] [--device cpu|cuda]

Targets (issues 2 and 9): voclab at least 2x faster than librosa quiet and 1.5x contended,
spectral convergence within 5 % of librosa's.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

from contention import quiet_and_contended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch threads (default: voclab's policy)")
    parser.add_argument("--clip", default="librivox_austen_0890")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.threads:
        os.environ["VOCLAB_THREADS"] = str(args.threads)

    import voclab  # noqa: F401  (first: its thread policy applies before torch starts)

    import librosa
    import numpy as np
    import torch

    from voclab.data import load_clip
    from voclab.metrics import spectral_convergence
    from voclab.phase import griffin_lim
    from voclab.spectral import stft

    sr, n_fft, hop, n_iter, momentum, seconds = 22050, 1024, 256, 32, 0.99, 5.0
    y, _ = load_clip(args.clip, sr=sr)
    y = np.resize(y, int(seconds * sr))  # loop a short clip rather than pad with silence
    magnitude = np.abs(stft(y, n_fft=n_fft, hop_length=hop))  # (513, 431)
    settings = dict(n_fft=n_fft, hop_length=hop, n_iter=n_iter, momentum=momentum, length=len(y))
    voclab_input = torch.from_numpy(magnitude).to(args.device) if args.device == "cuda" else magnitude

    def voclab_gl(seed):
        out = griffin_lim(voclab_input, seed=seed, **settings)
        return out.cpu().numpy() if isinstance(out, torch.Tensor) else out

    contenders = {"librosa.griffinlim": lambda seed: librosa.griffinlim(magnitude, random_state=seed, **settings),
                  "voclab griffin_lim": voclab_gl}
    sync = torch.cuda.synchronize if args.device == "cuda" else None
    phases = quiet_and_contended(contenders, args.runs, synchronize=sync)

    def sc_of(audio):
        rebuilt = np.abs(stft(np.asarray(audio, dtype=np.float32), n_fft=n_fft, hop_length=hop))
        return spectral_convergence(magnitude, rebuilt[:, : magnitude.shape[1]])

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}), librosa {librosa.__version__}, device {args.device}")
    print(f"input: {args.clip}, {seconds:.0f} s at {sr} Hz -> magnitude {magnitude.shape}; n_fft {n_fft}, "
          f"hop {hop}, {n_iter} iterations, momentum {momentum}; median time and mean spectral "
          f"convergence over {args.runs} seeds, the two interleaved")
    for phase, (load, results) in phases.items():
        print(f"\n{phase} ({load})")
        print(f"{'':<22}{'time (ms)':>12}{'spectral conv.':>16}")
        scs = {}
        for name, (median, outputs) in results.items():
            scs[name] = statistics.mean(sc_of(out) for out in outputs)
            print(f"{name:<22}{median * 1e3:>12.1f}{scs[name]:>16.4f}")
        ratio = results["librosa.griffinlim"][0] / results["voclab griffin_lim"][0]
        target = 2.0 if phase == "quiet" else 1.5
        print(f"speed ratio (librosa / voclab): {ratio:.2f}x   target >= {target}x")
        print(f"spectral convergence, voclab relative to librosa: "
              f"{scs['voclab griffin_lim'] / scs['librosa.griffinlim'] - 1:+.1%}   target within 5 % (or better)")


if __name__ == "__main__":
    main()
