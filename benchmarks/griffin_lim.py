"""Benchmark: voclab.phase.griffin_lim against librosa.griffinlim on the same magnitude.

5 s of real speech at 22.05 kHz, n_fft 1024, hop 256, 32 iterations, momentum 0.99,
2 threads. Median wall time of several runs (one random start each) after a warm-up, for
both, measured in this run; prints both times, the speed ratio and both spectral
convergences (mean over the same runs, since the libraries draw different random starts).

    python benchmarks/griffin_lim.py [--runs 7] [--device cpu|cuda]

Target (issue 2): voclab at least 2x faster than librosa, spectral convergence within
5 % of librosa's.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import argparse
import platform
import statistics
import time

import librosa
import numpy as np
import torch

from voclab.data import load_clip
from voclab.metrics import spectral_convergence
from voclab.phase import griffin_lim
from voclab.spectral import stft

SR, N_FFT, HOP, N_ITER, MOMENTUM, SECONDS = 22050, 1024, 256, 32, 0.99, 5.0


def five_seconds_of_speech(name: str) -> np.ndarray:
    y, _ = load_clip(name, sr=SR)
    n = int(SECONDS * SR)
    while len(y) < n:  # loop a short clip rather than pad with silence
        y = np.concatenate([y, y])
    return y[:n]


def timed_runs(fn, runs: int) -> tuple[float, list]:
    """Median wall time of ``fn(seed)`` over seeds 1..runs, after a warm-up call with seed 0."""
    fn(0)  # warm-up (FFT plans, numba, caches)
    times, results = [], []
    for seed in range(1, runs + 1):
        start = time.perf_counter()
        result = fn(seed)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        results.append(result.cpu().numpy() if isinstance(result, torch.Tensor) else result)
    return statistics.median(times), results


def sc_of(y: np.ndarray, magnitude: np.ndarray) -> float:
    rebuilt = np.abs(stft(np.asarray(y, dtype=np.float32), n_fft=N_FFT, hop_length=HOP))
    return spectral_convergence(magnitude, rebuilt[:, : magnitude.shape[1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clip", default="librivox_austen_0890")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    torch.set_num_threads(2)

    y = five_seconds_of_speech(args.clip)
    magnitude = np.abs(stft(y, n_fft=N_FFT, hop_length=HOP))  # (513, 431)
    settings = dict(n_fft=N_FFT, hop_length=HOP, n_iter=N_ITER, momentum=MOMENTUM, length=len(y))

    voclab_input = torch.from_numpy(magnitude).to(args.device) if args.device == "cuda" else magnitude
    t_voclab, ys_voclab = timed_runs(lambda seed: griffin_lim(voclab_input, seed=seed, **settings), args.runs)
    t_librosa, ys_librosa = timed_runs(
        lambda seed: librosa.griffinlim(magnitude, random_state=seed, **settings), args.runs
    )
    # the random starting phases differ between the libraries: compare the mean over the seeds
    sc_voclab = statistics.mean(sc_of(y, magnitude) for y in ys_voclab)
    sc_librosa = statistics.mean(sc_of(y, magnitude) for y in ys_librosa)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), librosa {librosa.__version__}, "
          f"device {args.device}")
    print(f"input: {args.clip}, {SECONDS:.0f} s at {SR} Hz -> magnitude {magnitude.shape}; "
          f"n_fft {N_FFT}, hop {HOP}, {N_ITER} iterations, momentum {MOMENTUM}; "
          f"median time and mean spectral convergence over {args.runs} seeds")
    print(f"{'':<22}{'time (ms)':>12}{'spectral conv.':>16}")
    print(f"{'librosa.griffinlim':<22}{t_librosa * 1e3:>12.1f}{sc_librosa:>16.4f}")
    print(f"{'voclab griffin_lim':<22}{t_voclab * 1e3:>12.1f}{sc_voclab:>16.4f}")
    print(f"speed ratio (librosa / voclab): {t_librosa / t_voclab:.2f}x   target >= 2x")
    print(f"spectral convergence, voclab relative to librosa: {sc_voclab / sc_librosa - 1:+.1%}   "
          "target within 5 % (or better)")


if __name__ == "__main__":
    main()
