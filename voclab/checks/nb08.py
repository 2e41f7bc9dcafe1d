"""Exercise checks of notebook 08, the vocoder shoot-out.

The learner writes the measures the shoot-out ranks vocoders with:

* ``f0_rmse_from_tracks`` — the F0 error in cents over the frames voiced in *both* pitch
  tracks, and the voiced/unvoiced error over all frames (the arithmetic of
  :func:`voclab.metrics.f0_rmse` after its pYIN calls); the named mistakes are frames voiced
  in one track only (NaN), an error in Hz, the mean absolute error, and a V/UV error counted
  over voiced frames only.
* ``times_real_time`` — audio seconds per second of computing (the arithmetic of
  :func:`voclab.metrics.real_time_factor`, with the audio's duration read from the output).
  It is checked against a scripted vocoder on a fake clock: the check replaces
  ``time.perf_counter`` (and ``time.time``, ``time.monotonic``) while it runs, and each call
  of the vocoder advances the clock by a planned cost — the first call, which pays for lazy
  set-up, costs far more — so that no warm-up, one timed run, the mean instead of the
  median, samples instead of seconds and threads left changed each give their own number.
* ``harmonic_if_error`` and ``aggregate_scores`` — the phase-aware measure and the listening
  test's statistics, against :func:`voclab.metrics.harmonic_if_error` and
  :func:`voclab.listening.aggregate_scores`.

Notebook: 08_shootout.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from . import Case, Exercise, register

NOTEBOOK = "08_shootout"


# =========================================================================== exercise: f0_rmse_from_tracks


def _f0_from_tracks(f0_ref, voiced_ref, f0_est, voiced_est):
    both = voiced_ref & voiced_est
    if both.any():
        cents = 1200 * np.log2(f0_est[both] / f0_ref[both])
        rmse = float(np.sqrt(np.mean(cents ** 2)))
    else:
        rmse = float("nan")
    return rmse, float(np.mean(voiced_ref != voiced_est))


def _tracks(seed: int, frames: int, *, pitch: float = 180.0):
    """Two pYIN-like tracks: f0 in Hz where voiced, NaN where not (as librosa.pyin returns them)."""
    rng = np.random.default_rng(seed)
    f0_ref = pitch * 2 ** (rng.normal(0, 2, frames) / 12)
    f0_est = f0_ref * 2 ** (rng.normal(0, 40, frames) / 1200)        # about 40 cents off
    voiced_ref = rng.random(frames) < 0.7
    voiced_est = voiced_ref ^ (rng.random(frames) < 0.2)              # a fifth of the decisions flipped
    return (np.where(voiced_ref, f0_ref, np.nan), voiced_ref, np.where(voiced_est, f0_est, np.nan), voiced_est)


def _f0_cases():
    f0_ref, voiced_ref, _, _ = _tracks(3, 12)
    return [
        Case("40 frames of speech-like tracks, a fifth of the voicing decisions differ", _tracks(1, 40)),
        Case("a track against itself", _tracks(2, 25)[:2] * 2),
        Case("an estimate one semitone sharp wherever both are voiced",
             (f0_ref, voiced_ref, f0_ref * 2 ** (1 / 12), voiced_ref)),
        Case("no frame voiced in both (F0 error undefined: NaN; V/UV error still counted)",
             (f0_ref, voiced_ref, np.full(12, np.nan), np.zeros(12, bool))),
    ]


def _f0_hz(f0_ref, voiced_ref, f0_est, voiced_est):
    both = voiced_ref & voiced_est
    rmse = float(np.sqrt(np.mean((f0_est[both] - f0_ref[both]) ** 2))) if both.any() else float("nan")
    return rmse, float(np.mean(voiced_ref != voiced_est))


def _f0_mean_abs(f0_ref, voiced_ref, f0_est, voiced_est):
    both = voiced_ref & voiced_est
    rmse = float(np.mean(np.abs(1200 * np.log2(f0_est[both] / f0_ref[both])))) if both.any() else float("nan")
    return rmse, float(np.mean(voiced_ref != voiced_est))


def _f0_reference_voiced(f0_ref, voiced_ref, f0_est, voiced_est):
    cents = 1200 * np.log2(f0_est[voiced_ref] / f0_ref[voiced_ref])
    return float(np.sqrt(np.mean(cents ** 2))), float(np.mean(voiced_ref != voiced_est))


def _f0_vuv_over_voiced(f0_ref, voiced_ref, f0_est, voiced_est):
    rmse, _ = _f0_from_tracks(f0_ref, voiced_ref, f0_est, voiced_est)
    either = voiced_ref | voiced_est
    return rmse, float(np.mean((voiced_ref != voiced_est)[either])) if either.any() else 0.0


def _f0_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other lengths and pitches than the public ones."""
    return [
        Case("200 frames of a low voice (90 Hz)", _tracks(5, 200, pitch=90.0)),
        Case("3 frames", _tracks(6, 3)),
        Case("60 frames of a high voice (400 Hz)", _tracks(7, 60, pitch=400.0)),
    ]


register(Exercise(
    name="f0_rmse_from_tracks",
    notebook=NOTEBOOK,
    reference=_f0_from_tracks,
    cases=_f0_cases,
    hidden_cases=_f0_hidden_cases,
    reference_name="voclab.metrics.f0_rmse (after its two pYIN calls)",
    hint="both = voiced_ref & voiced_est; cents = 1200·log2(f0_est[both] / f0_ref[both]); "
         "rmse = sqrt(mean(cents²)) (NaN when no frame is voiced in both); vuv = mean(voiced_ref != voiced_est) "
         "over every frame; return (rmse, vuv) as floats.",
    compare=dict(rtol=1e-6, atol=1e-6),
    mistakes=[
        (_f0_hz, ("that is the error in Hz; measure it in cents, 1200·log2(f0_est / f0_ref), so that a "
                  "semitone is 100 cents for a bass and a soprano alike")),
        (_f0_mean_abs, ("that is the mean absolute error; the RMS (sqrt of the mean of the squares) is asked, "
                        "which weighs the large errors — the octave jumps — more")),
        (_f0_reference_voiced, ("you compared every frame the reference calls voiced: where the estimate is "
                                "unvoiced its f0 is NaN. Use the frames voiced in both (voiced_ref & voiced_est); "
                                "the V/UV error counts the others")),
        (_f0_vuv_over_voiced, ("the V/UV error is the share of *all* frames whose decisions differ, "
                               "mean(voiced_ref != voiced_est), not of the voiced ones only")),
    ],
))


# =========================================================================== exercise: times_real_time


def _times_real_time(fn, *args, sr, repeats=5, warmup=1, threads=None):
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            fn(*args)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            audio = fn(*args)
            seconds.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return (np.shape(audio)[-1] / sr) / statistics.median(seconds)


class _ScriptedClock:
    """A clock that moves only when the scripted vocoder runs: call k costs ``costs[k]`` seconds."""

    def __init__(self, costs):
        self.now, self.costs, self.calls, self.threads_seen = 1000.0, list(costs), 0, []

    def __call__(self) -> float:
        return self.now

    def vocoder(self, output_shape, n_inputs: int = 1):
        """A vocoder that takes ``n_inputs`` arguments and returns zeros of ``output_shape``."""
        def vocode(*inputs):
            if len(inputs) != n_inputs:  # fn(args) instead of fn(*args) passes one tuple
                raise TypeError(f"the vocoder takes {n_inputs} inputs and was called with {len(inputs)}: "
                                "call fn(*args)")
            self.now += self.costs[min(self.calls, len(self.costs) - 1)]
            self.calls += 1
            self.threads_seen.append(torch.get_num_threads())
            return np.zeros(output_shape, dtype=np.float32)
        return vocode


_CLOCKS = ("perf_counter", "time", "monotonic")


def _run_timed(fn, costs, output_shape, n_inputs=1, **kwargs):
    """Run the learner's function on the scripted vocoder under the fake clock: its answer, the
    threads torch had during the timed calls, and the threads it has afterwards. The vocoder returns
    zeros of ``output_shape`` and takes ``n_inputs`` arguments (a mel, then a speaker's number)."""
    clock = _ScriptedClock(costs)
    saved = {name: getattr(time, name) for name in _CLOCKS}
    threads_before = torch.get_num_threads()
    try:
        for name in _CLOCKS:
            setattr(time, name, clock)
        inputs = (np.zeros((80, 4), np.float32), 7)[:n_inputs]
        value = fn(clock.vocoder(output_shape, n_inputs), *inputs, **kwargs)
    finally:
        for name, original in saved.items():
            setattr(time, name, original)
        threads_after = torch.get_num_threads()
        torch.set_num_threads(threads_before)
    during = sorted(set(clock.threads_seen[-kwargs.get("repeats", 5):]))
    return {"times real time": float(value), "threads while timing": during, "threads afterwards": threads_after}


def _timed_cases():
    # the first call costs 3 s (lazy set-up); the timed calls 0.1, 0.1, 0.3, 0.3, 0.1 s: median 0.1
    costs = [3.0, 0.1, 0.1, 0.3, 0.3, 0.1, 0.5]
    single = 1 if torch.get_num_threads() > 1 else 2
    return [
        Case("1 s of audio at 22.05 kHz; first call 3 s, then 0.1, 0.1, 0.3, 0.3, 0.1 s",
             (costs, 22050), dict(sr=22050)),
        Case("2 s at 16 kHz, warmup=2, repeats=3: calls of 3, 0.1, 0.1, 0.3, 0.3 s",
             (costs, 32000), dict(sr=16000, warmup=2, repeats=3)),
        Case(f"threads={single}: set while timing, restored afterwards", (costs, 22050),
             dict(sr=22050, threads=single)),
    ]


def _timed_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): an even number of timed calls, an output with a
    batch axis, no warm-up and a vocoder of two inputs. They catch the upper middle value
    ``sorted(seconds)[repeats // 2]`` taken for the median (the public repeats are 5 and 3), the
    duration read as ``len(output)`` (the public outputs are 1-D) and ``fn(args)`` for ``fn(*args)``."""
    # after the 3 s first call, timed calls of 0.2, 0.5, 0.1, 0.3 s: the median is 0.25 s, the upper
    # middle value 0.3 s, and without the warm-up the median would be 0.35 s (no other mistake's number)
    costs = [3.0, 0.2, 0.5, 0.1, 0.3, 0.4]
    return [
        Case("1 s at 22.05 kHz, repeats=4: timed calls of 0.2, 0.5, 0.1, 0.3 s (median 0.25 s)",
             (costs, 22050), dict(sr=22050, repeats=4)),
        Case("an output of shape (1, 24000) at 24 kHz, warmup=0, repeats=1: the one timed call is the 3 s first",
             (costs, (1, 24000)), dict(sr=24000, warmup=0, repeats=1)),
        Case("a vocoder of two inputs (a mel and a speaker), 0.5 s at 16 kHz, warmup=3, repeats=2",
             (costs, 8000, 2), dict(sr=16000, warmup=3, repeats=2)),
    ]


def _no_warmup(fn, *args, sr, repeats=5, warmup=1, threads=None):
    return _times_real_time(fn, *args, sr=sr, repeats=repeats, warmup=0, threads=threads)


def _one_run(fn, *args, sr, repeats=5, warmup=1, threads=None):
    start = time.perf_counter()
    audio = fn(*args)
    return (np.shape(audio)[-1] / sr) / (time.perf_counter() - start)


def _mean_time(fn, *args, sr, repeats=5, warmup=1, threads=None):
    for _ in range(warmup):
        fn(*args)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        audio = fn(*args)
        seconds.append(time.perf_counter() - start)
    return (np.shape(audio)[-1] / sr) / (sum(seconds) / len(seconds))


def _samples(fn, *args, sr, repeats=5, warmup=1, threads=None):
    return _times_real_time(fn, *args, sr=sr, repeats=repeats, warmup=warmup, threads=threads) * sr


def _threads_kept(fn, *args, sr, repeats=5, warmup=1, threads=None):
    if threads is not None:
        torch.set_num_threads(threads)
    return _times_real_time(fn, *args, sr=sr, repeats=repeats, warmup=warmup)


register(Exercise(
    name="times_real_time",
    notebook=NOTEBOOK,
    reference=_times_real_time,
    cases=_timed_cases,
    hidden_cases=_timed_hidden_cases,
    run=_run_timed,
    reference_name="voclab.metrics.real_time_factor",
    hint="Set the threads (remember the old number); call fn(*args) `warmup` times untimed; time `repeats` "
         "calls with time.perf_counter(); restore the threads (try/finally); audio seconds = "
         "output.shape[-1] / sr; return audio seconds / the median time.",
    compare=dict(rtol=1e-6, atol=1e-9),
    mistakes=[
        (_no_warmup, ("the first call is in your timing: it pays for lazy set-up (allocations, caches, "
                      "kernel selection) once. Call fn `warmup` times before you start the clock")),
        (_one_run, ("you timed one call, the very first: it includes the set-up, and one run says nothing of the "
                    "spread. Warm up, then take the median of `repeats` timed calls")),
        (_mean_time, ("you took the mean of the timed calls; one call slowed by the rest of the machine moves "
                      "the mean — take the median (statistics.median)")),
        (_samples, ("you divided samples by seconds: the answer is audio *seconds* per second, so divide the "
                    "output's length by sr first")),
        (_threads_kept, ("the threads stay changed after your function returns: remember "
                         "torch.get_num_threads() before, and set it back in a `finally:`")),
    ],
))


# =========================================================================== exercise: aggregate_scores


def _aggregate_reference(rows, *, reference="original", post_screen=True):
    from ..listening import aggregate_scores

    return aggregate_scores(rows, reference=reference, post_screen=post_screen)


def _rows(scores_by_rater: dict, trials: int = 4) -> list[dict]:
    """CSV-like rows: ``{rater: {system: [score per trial]}}``."""
    return [{"rater": rater, "trial": f"clip {k}", "letter": "ABCDEFG"[i], "system": system,
             "score": float(scores[k]), "timestamp": "2026-11-30T00:00:00Z"}
            for rater, systems in scores_by_rater.items()
            for i, (system, scores) in enumerate(systems.items()) for k in range(trials)]


def _aggregate_cases():
    careful = {"original": [100, 95, 100, 92], "hifigan": [80, 71, 90, 77], "griffin-lim": [20, 35, 15, 28]}
    second = {"original": [98, 100, 91, 100], "hifigan": [66, 84, 72, 90], "griffin-lim": [30, 22, 41, 18]}
    careless = {"original": [60, 100, 45, 100], "hifigan": [100, 90, 95, 99], "griffin-lim": [50, 60, 55, 70]}
    return [
        Case("two careful raters, three systems, four trials", (_rows({"ada": careful, "bo": second}),)),
        Case("a third rater scores the hidden reference below 90 in 2 of 4 trials: excluded",
             (_rows({"ada": careful, "bo": second, "cy": careless}),)),
        Case("the same three raters with post_screen=False: all counted",
             (_rows({"ada": careful, "bo": second, "cy": careless}),), dict(post_screen=False)),
        Case("one trial, one rater: n = 1, the interval is NaN", (_rows({"ada": careful}, trials=1),)),
        Case("the hidden reference named 'hidden ref'",
             (_rows({"ada": {"hidden ref": [95, 100, 100, 70], "v1": [60, 70, 80, 90]}}),),
             dict(reference="hidden ref")),
    ]


def _aggregate_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): the post-screen's edges -- exactly 15 % of misses
    (kept), scores of exactly 90 (not misses), one miss in 7 trials (kept) and in 6 (dropped) -- five
    systems and raters with different numbers of trials. They catch ``>=`` for "more than 15 %", ``<= 90``
    for "below 90" and dropping a rater for any miss (the public raters miss in none of their trials or
    in a quarter or more)."""
    rng = np.random.default_rng(14)

    def scores(trials, low, high):
        return [int(v) for v in rng.integers(low, high + 1, trials)]

    def careful(trials, systems=("hifigan", "griffin-lim")):
        ranges = {"hifigan": (60, 95), "griffin-lim": (10, 45), "melgan": (40, 80), "wavenet": (50, 90)}
        return {"original": scores(trials, 95, 100), **{name: scores(trials, *ranges[name]) for name in systems}}

    three_misses = careful(20)
    three_misses["original"][2] = three_misses["original"][9] = three_misses["original"][15] = 85
    at_ninety = careful(4)
    at_ninety["original"] = [90, 90, 100, 90]
    five = ("hifigan", "griffin-lim", "melgan", "wavenet")
    once_in_seven, once_in_six = careful(7, five), careful(6, five)
    once_in_seven["original"][3] = once_in_six["original"][0] = 70
    return [
        Case("20 trials each; one rater below 90 on the hidden reference in 3 of them (exactly 15 %: kept)",
             (_rows({"di": three_misses}, trials=20) + _rows({"ed": careful(20)}, trials=20),)),
        Case("a rater whose hidden-reference scores are 90, 90, 100, 90 (not below 90: kept)",
             (_rows({"fe": at_ninety, "gu": careful(4)}),)),
        Case("five systems; a miss in 1 of 7 trials (14 %: kept) and in 1 of 6 (17 %: dropped)",
             (_rows({"hal": once_in_seven}, trials=7) + _rows({"ivo": once_in_six}, trials=6)
              + _rows({"jo": careful(5, five)}, trials=5),)),
    ]


def _aggregate_variant(*, screen=True, ddof=1, z=None, share=0.15, error=True):
    def aggregate(rows, *, reference="original", post_screen=True):
        from scipy.stats import t

        rows = list(rows)
        if post_screen and screen:
            drop = set()
            for rater in {row["rater"] for row in rows}:
                misses = [float(row["score"]) < 90 for row in rows
                          if row["rater"] == rater and row["system"] == reference]
                if sum(misses) > share * len(misses):
                    drop.add(rater)
            rows = [row for row in rows if row["rater"] not in drop]
        by_system = {}
        for row in rows:
            by_system.setdefault(row["system"], []).append(float(row["score"]))
        result = {}
        for system, values in by_system.items():
            n = len(values)
            quantile = z if z is not None else (t.ppf(0.975, n - 1) if n > 1 else np.nan)
            spread = np.std(values, ddof=ddof) / (np.sqrt(n) if error else 1.0)
            result[system] = {"mean": float(np.mean(values)), "ci95": float(quantile * spread) if n > 1 else np.nan,
                              "n": n}
        return result
    return aggregate


register(Exercise(
    name="aggregate_scores",
    notebook=NOTEBOOK,
    reference=_aggregate_reference,
    cases=_aggregate_cases,
    hidden_cases=_aggregate_hidden_cases,
    reference_name="voclab.listening.aggregate_scores",
    hint="Post-screen: drop a rater whose hidden-reference scores are < 90 in more than 15 % of their trials; "
         "then per system mean, ci95 = t.ppf(0.975, n − 1) · std(ddof=1) / sqrt(n) (NaN for n = 1) and n.",
    compare=dict(rtol=1e-6, atol=1e-9),
    mistakes=[
        (_aggregate_variant(screen=False), ("no rater was excluded: post-screen first — a rater who scores the "
                                            "hidden reference below 90 in more than 15 % of their trials is dropped")),
        (_aggregate_variant(ddof=0), ("np.std's default divides by n; the sample standard deviation divides by "
                                      "n − 1: np.std(scores, ddof=1)")),
        (_aggregate_variant(z=1.959963984540054), ("1.96 is the normal distribution's quantile; with a handful of "
                                                   "scores use Student's t: scipy.stats.t.ppf(0.975, n − 1)")),
        (_aggregate_variant(error=False), ("that is the spread of the scores, not of their mean: divide the standard "
                                           "deviation by sqrt(n) (the standard error) before the t quantile")),
    ],
))


# =========================================================================== exercise: peak_if_spread


def _peak_if_spread(spec, hop_length, n_bins, top_db):
    from ..metrics import _peak_if_spread as reference

    return reference(spec, hop_length, n_bins, top_db)


def _spectrogram(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    from ..spectral import stft

    return stft(signal, n_fft=n_fft, hop_length=hop)


def _spread_cases():
    sr, rng = 8000, np.random.default_rng(8)
    t = np.arange(4096) / sr
    harmonic = sum(np.cos(2 * np.pi * 210 * k * t + k) / k for k in range(1, 9))
    noise = rng.standard_normal(t.size)
    return [
        Case("a harmonic tone (210 Hz, 8 partials), n_fft 256, hop 16, 48 bins, top_db 40",
             (_spectrogram(harmonic, 256, 16), 16, 48, 40.0)),
        Case("white noise, n_fft 256, hop 32, 100 bins, top_db 30", (_spectrogram(noise, 256, 32), 32, 100, 30.0)),
        Case("the tone plus noise at −20 dB, n_fft 512, hop 64, 120 bins, top_db 25",
             (_spectrogram(harmonic + 0.1 * noise, 512, 64), 64, 120, 25.0)),
    ]


def _plateau_spectrum():
    """Two frames of 9 bins (n_fft 16) with random phases; the later frame's magnitudes have a plateau
    (bins 3 and 4 both 5) and a peak at bin 6."""
    rng = np.random.default_rng(9)
    magnitude = np.array([[0.4, 1.0, 0.7, 2.0, 0.5, 1.5, 0.8, 0.3, 0.1],
                          [0.5, 1.0, 2.0, 5.0, 5.0, 1.0, 3.0, 1.0, 0.2]]).T
    return magnitude * np.exp(1j * rng.uniform(-np.pi, np.pi, magnitude.shape))


def _spread_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a frame whose loudest bin lies above the analysed
    bins, a hand-made plateau of two equal bins in a single frame pair, and every bin up to the Nyquist
    one's neighbour with no overlap between frames. They catch the top_db floor measured from the
    loudest *analysed* bin and a peak test that is strict on both sides or lenient on both (it must be
    louder than the left, at least as loud as the right): each of the three gives the public inputs'
    numbers (checked with check_exercise), since there the analysed band holds the loudest bin or one at
    most 3.4 dB below it, and no two neighbours are equal."""
    sr, rng = 8000, np.random.default_rng(10)
    t = np.arange(2048) / sr
    # partials at 200 Hz · k, 16 + 4k dB below a 3 kHz tone in amplitude (the loudest analysed bin lies
    # 20 dB below the frame's loudest): the tone is above the 40 analysed bins (1250 Hz)
    quiet = sum(10 ** (-(16 + 4 * k) / 20) * np.cos(2 * np.pi * 200 * k * t + k) for k in range(1, 7))
    loud_above = np.cos(2 * np.pi * 3000 * t) + quiet + 1e-3 * rng.standard_normal(t.size)
    return [
        Case("quiet partials below 1250 Hz and a louder 3 kHz tone above the 40 bins, n_fft 256, hop 32, top_db 30",
             (_spectrogram(loud_above, 256, 32), 32, 40, 30.0)),
        Case("one frame pair, 9 bins with a plateau (bins 3 and 4 equal), n_bins 8, top_db 20",
             (_plateau_spectrum(), 4, 8, 20.0)),
        Case("white noise, n_fft 128, hop 128 (no overlap), n_bins 64 (every bin below Nyquist), top_db 80",
             (_spectrogram(rng.standard_normal(1024), 128, 128), 128, 64, 80.0)),
    ]


def _spread_variant(*, wrap=True, half=True, floor=True, weighted=True, later=True):
    def spread_of(spec, hop_length, n_bins, top_db):
        n_fft = 2 * (spec.shape[0] - 1)
        bins = np.arange(spec.shape[0])[:, None]
        phase = np.angle(spec)
        step = np.angle(np.exp(1j * (phase[:, 1:] - phase[:, :-1])))
        leftover = step - 2 * np.pi * bins * hop_length / n_fft
        if wrap:
            leftover = np.angle(np.exp(1j * leftover))
        frequency = bins + leftover * n_fft / (2 * np.pi * hop_length)
        magnitude = np.abs(spec[:, 1:] if later else spec[:, :-1])
        centre = magnitude[1:n_bins]
        peak = (centre > magnitude[: n_bins - 1]) & (centre >= magnitude[2: n_bins + 1])
        if floor:
            peak &= centre >= magnitude.max(axis=0) * 10 ** (-top_db / 20)
        spread = np.abs(frequency[2: n_bins + 1] - frequency[: n_bins - 1]) / (2 if half else 1)
        weight = (centre if weighted else 1.0) * peak
        return (weight * spread).sum(axis=0), weight.sum(axis=0)
    return spread_of


register(Exercise(
    name="peak_if_spread",
    notebook=NOTEBOOK,
    reference=_peak_if_spread,
    cases=_spread_cases,
    hidden_cases=_spread_hidden_cases,
    reference_name="voclab.metrics.harmonic_if_error (its per-frame step)",
    hint="step = wrapped phase difference along time; leftover = wrap(step − 2π·bin·hop/n_fft); IF in bins = "
         "bin + leftover·n_fft/(2π·hop); magnitude = |spec[:, 1:]|; peaks among bins 1 … n_bins − 1 louder than "
         "the left and at least as loud as the right neighbour and within top_db of the frame's loudest; "
         "spread = |IF[p+1] − IF[p−1]| / 2; return (Σ |S[p]|·spread, Σ |S[p]|) per frame.",
    compare=dict(rtol=1e-6, atol=1e-8),
    mistakes=[
        (_spread_variant(wrap=False), ("the left-over phase step must be wrapped again into [−π, π] after "
                                       "subtracting the bin's own advance, or the IF lands bins away")),
        (_spread_variant(half=False), ("the spread is half the distance between the neighbours' IFs: "
                                       "|IF[p+1] − IF[p−1]| / 2")),
        (_spread_variant(floor=False), ("keep only peaks within top_db of the frame's loudest bin: "
                                        "|S[p]| >= max(|S|) · 10**(−top_db / 20)")),
        (_spread_variant(weighted=False), ("weigh each peak by its magnitude |S[p]| (a loud partial counts more "
                                           "than a faint one), in the sum and in the total weight")),
        (_spread_variant(later=False), ("the IF of frame t is the step from frame t to t + 1, so take the "
                                        "magnitude of the later frame: |spec[:, 1:]|")),
    ],
))
