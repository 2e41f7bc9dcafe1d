"""Exercise checks of notebook 01, the phase problem and Griffin-Lim.

Each reference has the learner's signature and calls voclab's implementation; each
exercise has inputs with edge cases, a hint and the mistakes learners actually make.

Notebook: 01_phase_and_griffin_lim.
"""

from __future__ import annotations

import numpy as np

from .. import metrics, phase, spectral
from . import Case, Exercise, register

NOTEBOOK = "01_phase_and_griffin_lim"


# --------------------------------------------------------------------------- inputs

def _tone(sr=8000, seconds=0.25, f0=220.0, n_harmonics=5, silence=0.0) -> np.ndarray:
    """A harmonic tone, optionally after `silence` seconds of digital zeros."""
    t = np.arange(int(sr * seconds)) / sr
    y = sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, n_harmonics + 1))
    y = np.concatenate([np.zeros(int(sr * silence)), 0.3 * y])
    return y.astype(np.float32)


def _chirp(sr=8000, seconds=0.2, f0=200.0, f1=2000.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds)))).astype(np.float32)


def _magnitude(y, n_fft, hop) -> np.ndarray:
    return np.abs(spectral.stft(y, n_fft=n_fft, hop_length=hop))


def _start_phase(shape, seed) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, shape)


# --------------------------------------------------------------------------- exercise 1: split_stft

def _split_stft(S):
    return spectral.magnitude_phase(np.asarray(S))


def _split_cases():
    hand_made = np.array([[1 + 0j, -2 + 0j, 1j], [-1j, 0j, 3 - 4j]], dtype=np.complex128)
    return [
        Case("the STFT of a 0.2 s chirp, n_fft 256", (spectral.stft(_chirp(), n_fft=256, hop_length=64),)),
        Case("a hand-made 2×3 array with 0, negative reals and ±1j", (hand_made,)),
        Case("a single frame (n_fft 512)", (spectral.stft(_tone(seconds=0.01), n_fft=512, hop_length=128)[:, :1],)),
    ]


def _split_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other sizes, the third quadrant and faint values.

    The faint coefficients (about 1e-9, complex64) catch an eps added to S or to its real part
    before the angle is taken, which the public inputs let through: np.angle(S + 1e-12) passes
    them and is 0.006 rad off here (1e-14: 6e-5 rad, still over the tolerance).
    """
    rng = np.random.default_rng(31)
    faint = 1e-9 * (rng.standard_normal((9, 4)) + 1j * rng.standard_normal((9, 4)))
    return [
        Case("the STFT of 301 samples of float64 noise (complex128), n_fft 64, hop 16",
             (spectral.stft(rng.standard_normal(301), n_fft=64, hop_length=16),)),
        Case("one row: the unit circle at every multiple of π/4 from −3π/4 to π",
             (np.exp(1j * np.pi * np.arange(-3, 5) / 4)[None, :],)),
        Case("faint coefficients, about 1e-9 (complex64): their phase is as defined as any",
             (faint.astype(np.complex64),)),
    ]


register(Exercise(
    name="split_stft",
    notebook=NOTEBOOK,
    reference=_split_stft,
    cases=_split_cases,
    hidden_cases=_split_hidden_cases,
    reference_name="voclab.spectral.magnitude_phase",
    hint="np.abs(S) is the magnitude and np.angle(S) the phase, in radians; return them as a tuple.",
    compare=dict(rtol=1e-5, atol=1e-6),
    mistakes=[
        (lambda S: (np.abs(S) ** 2, np.angle(S)), "you returned the power |S|², not the magnitude |S|"),
        (lambda S: (np.real(S), np.imag(S)), "real and imaginary parts are not magnitude and phase"),
        (lambda S: (np.abs(S), np.angle(S, deg=True)), "your phase is in degrees; the course uses radians"),
        (lambda S: (np.angle(S), np.abs(S)), "magnitude and phase are swapped: return (magnitude, phase)"),
        (lambda S: (np.abs(S), np.angle(S) % (2 * np.pi)),
         "your phase lies in [0, 2π); the course's phase lies in (−π, π]: wrap to (−π, π] (np.angle does)"),
    ],
))


# --------------------------------------------------------------------------- exercise 2: spectral_convergence

def _spectral_convergence(reference_magnitude, estimated_magnitude):
    return float(metrics.spectral_convergence(reference_magnitude, estimated_magnitude))


def _sc_cases():
    rng = np.random.default_rng(2)
    reference = rng.uniform(0, 1, (65, 20))
    noisy = np.abs(reference + 0.1 * rng.standard_normal(reference.shape))
    speechy = _magnitude(_tone(), 256, 64)
    return [
        Case("a magnitude and a noisy copy", (reference, noisy)),
        Case("identical magnitudes (SC must be 0)", (reference, reference.copy())),
        Case("an all-zero estimate (SC must be 1)", (reference, np.zeros_like(reference))),
        Case("float32 magnitudes of a tone, estimate at half the level", (speechy, 0.5 * speechy)),
    ]


def _sc_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other shapes than the public 2-D ones."""
    rng = np.random.default_rng(12)
    frames = rng.uniform(0, 1, (33, 10))
    return [
        Case("a very quiet pair, magnitudes about 1e-10 (SC is scale-free: no eps may show)",
             (1e-10 * frames, 1e-10 * np.abs(frames + 0.2 * rng.standard_normal(frames.shape)))),
        Case("1 × 1 magnitudes: 2 against 1 (SC 0.5)", (np.array([[2.0]]), np.array([[1.0]]))),
        Case("an estimate twice as loud (SC 1)", (frames, 2 * frames)),
    ]


register(Exercise(
    name="spectral_convergence",
    notebook=NOTEBOOK,
    reference=_spectral_convergence,
    cases=_sc_cases,
    hidden_cases=_sc_hidden_cases,
    reference_name="voclab.metrics.spectral_convergence",
    hint="np.linalg.norm of a 2-D array is the Frobenius norm: divide the norm of the difference "
         "by the norm of the reference (not the estimate), and return a float.",
    compare=dict(rtol=1e-5, atol=1e-7),
    mistakes=[
        (lambda r, e: float(np.linalg.norm(r - e) / np.linalg.norm(e)),
         "you divided by the norm of the estimate; SC divides by the norm of the reference"),
        (lambda r, e: float(np.linalg.norm(r - e) ** 2 / np.linalg.norm(r) ** 2),
         "you squared the norms: SC is a ratio of norms, not of energies"),
        (lambda r, e: float(np.linalg.norm(r - e)),
         "you forgot to divide by the norm of the reference magnitude"),
        (lambda r, e: float(np.mean(np.abs(r - e)) / np.mean(np.abs(r))),
         "you used mean absolute values; SC uses Frobenius (root-sum-square) norms"),
    ],
))


# --------------------------------------------------------------------------- exercise 3: inconsistency

def _inconsistency(X, *, n_fft, hop_length, length):
    return phase.inconsistency(X, n_fft=n_fft, hop_length=hop_length, length=length)


def _with_phase(magnitude, phase_of):
    return magnitude * np.exp(1j * phase_of)


def _inconsistency_cases():
    tone = _tone()                                   # 2000 samples: not a whole number of hops
    S = spectral.stft(tone, n_fft=256, hop_length=64)
    random_phase = _start_phase(S.shape, 6)
    other = np.angle(spectral.stft(_chirp(seconds=0.25), n_fft=256, hop_length=64))
    half_overlap = _magnitude(tone, 256, 128)
    atom = np.zeros((257, 12), dtype=np.complex128)
    atom[40, 5] = 1.0
    settings = {"n_fft": 256, "hop_length": 64, "length": len(tone)}
    return [
        Case("the STFT of a 0.25 s tone of 2000 samples (consistent: 0 up to rounding)", (S,), settings),
        Case("the tone's magnitude with a random phase", (_with_phase(np.abs(S), random_phase),), settings),
        Case("the tone's magnitude with the phase of a chirp (another signal)", (_with_phase(np.abs(S), other),),
             settings),
        Case("random phase with hop = n_fft / 2 (each sample in 2 frames, not 4)",
             (_with_phase(half_overlap, _start_phase(half_overlap.shape, 7)),),
             {"n_fft": 256, "hop_length": 128, "length": len(tone)}),
        Case("a single nonzero coefficient (complex128), n_fft 512, hop 128, 1408 samples", (atom,),
             {"n_fft": 512, "hop_length": 128, "length": 1408}),
    ]


def _inconsistency_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other frame settings, a hop that does not
    divide n_fft, a single frame and a faint array.

    The faint array (coefficients about 1e-9) catches an eps added to ‖X‖, which the public
    inputs let through: the inconsistency is scale-free, and dividing by ‖X‖ + 1e-8 gives 0.64
    here instead of 0.87 (‖X‖ + 1e-10: 0.865).
    """
    rng = np.random.default_rng(32)

    def gaussian(n_fft, frames):
        shape = (1 + n_fft // 2, frames)
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    chirp = _magnitude(_chirp(seconds=0.2), 256, 100)          # 1600 samples: 17 frames
    return [
        Case("complex Gaussian coefficients (complex128), n_fft 128, hop 32, 1001 samples", (gaussian(128, 32),),
             {"n_fft": 128, "hop_length": 32, "length": 1001}),
        Case("a chirp's magnitude with a random phase, hop 100 (not a divisor of n_fft 256)",
             (_with_phase(chirp, _start_phase(chirp.shape, 33)),), {"n_fft": 256, "hop_length": 100, "length": 1600}),
        Case("a single frame, n_fft 64, hop 16, 10 samples", (gaussian(64, 1),),
             {"n_fft": 64, "hop_length": 16, "length": 10}),
        Case("a faint array: coefficients about 1e-9, n_fft 64, hop 16, 200 samples", (1e-9 * gaussian(64, 13),),
             {"n_fft": 64, "hop_length": 16, "length": 200}),
    ]


def _round_trip(X, n_fft, hop_length, length=None):
    y = spectral.istft(X, n_fft=n_fft, hop_length=hop_length, length=length)
    return spectral.stft(y, n_fft=n_fft, hop_length=hop_length)


register(Exercise(
    name="inconsistency",
    notebook=NOTEBOOK,
    reference=_inconsistency,
    cases=_inconsistency_cases,
    hidden_cases=_inconsistency_hidden_cases,
    reference_name="voclab.phase.inconsistency",
    hint="C = stft(istft(X, n_fft=n_fft, hop_length=hop_length, length=length), n_fft=n_fft, "
         "hop_length=hop_length); return np.linalg.norm(C − X) / np.linalg.norm(X) as a float — the "
         "norm of the complex difference, divided by the norm of X.",
    compare={"rtol": 1e-4, "atol": 1e-5},
    mistakes=[
        (lambda X, *, n_fft, hop_length, length:
         float(np.linalg.norm(_round_trip(X, n_fft, hop_length) - X) / np.linalg.norm(X)),
         ("you left out length= in istft: without it the iSTFT returns (frames − 1) · hop_length samples and "
          "drops the end of the signal that the last frame still holds, so even a real STFT looks inconsistent")),
        (lambda X, *, n_fft, hop_length, length:
         float(np.linalg.norm(np.abs(_round_trip(X, n_fft, hop_length, length)) - np.abs(X)) / np.linalg.norm(X)),
         ("you compared magnitudes only (that is the spectral convergence of the round trip); consistency is "
          "about the complex array, phase included: take the norm of the complex difference C − X")),
        (lambda X, *, n_fft, hop_length, length:
         float((np.linalg.norm(X) - np.linalg.norm(_round_trip(X, n_fft, hop_length, length))) / np.linalg.norm(X)),
         "you took the difference of the norms, ‖X‖ − ‖C‖; take the norm of the difference, ‖C − X‖"),
        (lambda X, *, n_fft, hop_length, length:
         float(np.linalg.norm(_round_trip(X, n_fft, hop_length, length) - X)
               / np.linalg.norm(_round_trip(X, n_fft, hop_length, length))),
         "you divided by the norm of the round trip C; divide by the norm of X, the array being measured"),
        (lambda X, *, n_fft, hop_length, length:
         float(np.linalg.norm(_round_trip(X, n_fft, hop_length, length) - X) ** 2 / np.linalg.norm(X) ** 2),
         "you squared the norms: the inconsistency is a ratio of norms, not of energies"),
        (lambda X, *, n_fft, hop_length, length:
         float(np.linalg.norm(_round_trip(X, n_fft, hop_length, length) - X)),
         "you forgot to divide by the norm of X"),
    ],
))


# --------------------------------------------------------------------------- exercises 4-5: Griffin-Lim

def _griffin_lim(magnitude, *, n_fft, hop_length, n_iter, init_phase):
    return phase.griffin_lim(magnitude, n_fft=n_fft, hop_length=hop_length, n_iter=n_iter,
                             momentum=0.0, init=init_phase)


def _fast_griffin_lim(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
    return phase.griffin_lim(magnitude, n_fft=n_fft, hop_length=hop_length, n_iter=n_iter,
                             momentum=momentum, init=init_phase)


def _gl_case(description, y, n_fft, hop, n_iter, seed, **extra):
    magnitude = _magnitude(y, n_fft, hop)
    kwargs = dict(n_fft=n_fft, hop_length=hop, n_iter=n_iter,
                  init_phase=_start_phase(magnitude.shape, seed), **extra)
    return Case(description, (magnitude,), kwargs)


def _gl_cases():
    return [
        _gl_case("a 0.25 s harmonic tone at 8 kHz, n_fft 256, hop 64, 8 rounds", _tone(), 256, 64, 8, 0),
        _gl_case("the same tone with n_iter=0 (only the initial phase)", _tone(), 256, 64, 0, 1),
        _gl_case("a tone after 0.1 s of digital silence (STFT exactly 0 there), 5 rounds",
                 _tone(silence=0.1), 256, 64, 5, 2),
        _gl_case("a chirp, n_fft 512, hop 128, 3 rounds", _chirp(), 512, 128, 3, 3),
    ]


def _fast_gl_cases():
    return [
        _gl_case("a 0.25 s harmonic tone, 8 rounds, momentum 0.99", _tone(), 256, 64, 8, 0, momentum=0.99),
        _gl_case("momentum 0 (must equal plain Griffin-Lim), 4 rounds", _tone(), 256, 64, 4, 1, momentum=0.0),
        _gl_case("momentum 0.5, a chirp, n_fft 512, hop 128, 3 rounds", _chirp(), 512, 128, 3, 3, momentum=0.5),
        _gl_case("a tone after 0.1 s of digital silence (T exactly 0 there), 5 rounds",
                 _tone(silence=0.1), 256, 64, 5, 2, momentum=0.99),
        _gl_case("n_iter=1 with the default momentum", _tone(), 256, 64, 1, 4),
    ]


def _noise(samples, seed) -> np.ndarray:
    """float64 white noise: its magnitude has no harmonic structure to converge to."""
    return 0.3 * np.random.default_rng(seed).standard_normal(samples)


def _gl_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other frame settings (a hop that does not
    divide n_fft, two frames only), a float64 magnitude and other seeds."""
    return [
        _gl_case("the float64 magnitude of noise, n_fft 128, hop 32, 6 rounds", _noise(1000, 34), 128, 32, 6, 35),
        _gl_case("a chirp, hop 100 (not a divisor of n_fft 256), 3 rounds", _chirp(), 256, 100, 3, 36),
        _gl_case("two frames only, n_fft 64, hop 16, 4 rounds", _tone(seconds=0.002), 64, 16, 4, 37),
    ]


def _fast_gl_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other momenta (0.3, 0.9), frame settings (a hop
    that does not divide n_fft, two frames only), a float64 magnitude and other seeds."""
    return [
        _gl_case("momentum 0.3, the float64 magnitude of noise, n_fft 128, hop 32, 6 rounds",
                 _noise(1000, 38), 128, 32, 6, 39, momentum=0.3),
        _gl_case("the default momentum, a chirp, hop 100 (not a divisor of n_fft 256), 4 rounds",
                 _chirp(), 256, 100, 4, 40),
        _gl_case("momentum 0.9, two frames only, n_fft 64, hop 16, 3 rounds", _tone(seconds=0.002), 64, 16, 3, 41,
                 momentum=0.9),
    ]


def _off_by_one(reference, delta):
    def wrong(magnitude, *, n_iter, **kwargs):
        return reference(magnitude, n_iter=max(n_iter + delta, 0), **kwargs)
    return wrong


def _momentum_variant(update, *, start="zeros"):
    """Fast Griffin-Lim with a wrong momentum update ``update(rebuilt, previous, momentum)``,
    or with C_0 = ``start``: ``"zeros"`` (right) or ``"initial"``, the initial spectrogram X_0."""
    def wrong(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
        settings = dict(n_fft=n_fft, hop_length=hop_length)
        angles = np.exp(1j * init_phase)
        previous = magnitude * angles if start == "initial" else np.zeros_like(angles)
        for _ in range(n_iter):
            rebuilt = spectral.stft(spectral.istft(magnitude * angles, **settings), **settings)
            accelerated, previous = update(rebuilt, previous, momentum)
            angles = accelerated / (np.abs(accelerated) + 1e-16)
        return spectral.istft(magnitude * angles, **settings)
    return wrong


def _momentum_on_phasor(*, consistent=False):
    """Fast Griffin-Lim whose momentum term uses a unit phasor instead of C_{n−1}: the phase factor
    of the previous round (the initial one at first), or with ``consistent`` the phase of C_{n−1}."""
    def wrong(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
        settings = dict(n_fft=n_fft, hop_length=hop_length)
        angles = np.exp(1j * init_phase)
        previous = np.zeros_like(angles)
        for _ in range(n_iter):
            rebuilt = spectral.stft(spectral.istft(magnitude * angles, **settings), **settings)
            accelerated = rebuilt - momentum / (1 + momentum) * (previous if consistent else angles)
            previous = np.exp(1j * np.angle(rebuilt))
            angles = accelerated / (np.abs(accelerated) + 1e-16)
        return spectral.istft(magnitude * angles, **settings)
    return wrong


def _magnitude_never_imposed(*, at_the_end=False):
    """Griffin-Lim that iterates C ← stft(istft(C)) from C = |S|·e^{iφ₀} and never puts |S| back
    (with ``at_the_end``, only once after the loop). stft∘istft is a projection, so every round
    after the first changes nothing: the output is the initial phase's (or the first round's)."""
    def wrong(magnitude, *, n_fft, hop_length, n_iter, init_phase):
        settings = dict(n_fft=n_fft, hop_length=hop_length)
        spec = magnitude * np.exp(1j * init_phase)
        for _ in range(n_iter):
            spec = spectral.stft(spectral.istft(spec, **settings), **settings)
        if at_the_end:
            spec = magnitude * np.exp(1j * np.angle(spec))
        return spectral.istft(spec, **settings)
    return wrong


_NEVER_IMPOSED = ("the known magnitude is never imposed again: C ← stft(istft(C)) keeps the magnitude C already has, "
                  "so after the first round nothing changes. The core idea of Griffin-Lim is to impose the known "
                  "magnitude every round: keep only the phase φ of stft(y), then y = istft(magnitude · e^{iφ})")

_GL_HINT = ("each round: y = istft(magnitude · e^{iφ}); φ = the angle of stft(y). After the loop, "
            "return istft(magnitude · e^{iφ}) built with the final phase — and never divide by |stft(y)| "
            "where it is 0.")

register(Exercise(
    name="griffin_lim",
    notebook=NOTEBOOK,
    reference=_griffin_lim,
    cases=_gl_cases,
    hidden_cases=_gl_hidden_cases,
    reference_name="voclab.phase.griffin_lim (momentum=0)",
    hint=_GL_HINT,
    compare=dict(rtol=1e-3, atol=1e-4),
    mistakes=[
        (_off_by_one(_griffin_lim, -1), "one round too few: does your loop run exactly n_iter times?"),
        (_off_by_one(_griffin_lim, +1), "one round too many: does your loop run exactly n_iter times?"),
        (_magnitude_never_imposed(), _NEVER_IMPOSED),
        (_magnitude_never_imposed(at_the_end=True), _NEVER_IMPOSED),
    ],
))

register(Exercise(
    name="fast_griffin_lim",
    notebook=NOTEBOOK,
    reference=_fast_griffin_lim,
    cases=_fast_gl_cases,
    hidden_cases=_fast_gl_hidden_cases,
    reference_name="voclab.phase.griffin_lim",
    hint="T = C_n − momentum/(1 + momentum) · C_{n−1}, where C_{n−1} is the previous round's "
         "consistent STFT (not T) and C_0 = 0; the new phase factor is T / (|T| + a tiny number).",
    compare=dict(rtol=1e-3, atol=1e-4),
    mistakes=[
        (_momentum_variant(lambda c, p, m: (c + m / (1 + m) * p, c)),
         "the momentum term has the wrong sign: subtract momentum/(1+momentum) · C_{n−1}"),
        (_momentum_variant(lambda c, p, m: (c - m * p, c)),
         "you subtracted momentum · C_{n−1}; Perraudin's update uses momentum/(1 + momentum)"),
        (_momentum_variant(lambda c, p, m: (c - m / (1 + m) * p, c - m / (1 + m) * p)),
         "you kept T as the previous value; the momentum term uses the previous consistent STFT C_{n−1}"),
        (_momentum_variant(lambda c, p, m: (c - m / (1 + m) * p, c), start="initial"),
         ("you started with C_0 = X_0, the initial spectrogram |S|·e^{iφ₀}; the momentum has no previous round "
          "to extrapolate from at first: C_0 = 0 (previous = np.zeros_like(...)), so round 1 is plain Griffin-Lim")),
        (_momentum_on_phasor(),
         ("the momentum term uses the previous unit phase factor; it uses the previous consistent STFT C_{n−1} = "
          "stft(istft(...)) of the last round, magnitude and all: keep `previous = rebuilt`")),
        (_momentum_on_phasor(consistent=True),
         ("the momentum term uses the phase of C_{n−1} only (a unit phasor); it uses C_{n−1} itself, magnitude "
          "and all: keep `previous = rebuilt`")),
        (_off_by_one(_fast_griffin_lim, -1), "one round too few: does your loop run exactly n_iter times?"),
        (_off_by_one(_fast_griffin_lim, +1), "one round too many: does your loop run exactly n_iter times?"),
    ],
))


# --------------------------------------------------------------------------- exercise 6: mel_to_linear

def _mel_to_linear(mel, mel_basis):
    pseudo_inverse = np.linalg.pinv(np.asarray(mel_basis, dtype=np.float64))
    return np.maximum(pseudo_inverse @ np.asarray(mel, dtype=np.float64), 0.0)


def _mel_cases():
    small = spectral.MelConfig(sample_rate=8000, n_fft=256, hop_length=64, win_length=256,
                               n_mels=20, fmax=4000.0)
    hifigan = spectral.MelConfig()
    tone_mel = spectral.mel_spectrogram(_tone(sr=22050), hifigan, log=False)
    return [
        Case("20 bands at 8 kHz, a random mel", (np.random.default_rng(5).uniform(0, 1, (20, 12)),
                                                 spectral.mel_filterbank(small))),
        Case("HiFi-GAN's 80 bands, the mel of a tone", (tone_mel, spectral.mel_filterbank(hifigan))),
        Case("a silent mel (all zeros), one frame", (np.zeros((80, 1), np.float32), spectral.mel_filterbank(hifigan))),
    ]


def _mel_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other filterbanks (128 bands, 40 bands at 16 kHz),
    float64 arrays and a loud mel."""
    rng = np.random.default_rng(42)
    wide = spectral.MelConfig(n_mels=128)
    speech_rate = spectral.MelConfig(sample_rate=16000, n_fft=512, hop_length=128, win_length=512,
                                     n_mels=40, fmax=8000.0)
    return [
        Case("128 bands (MelConfig(n_mels=128)), a random mel of 5 frames",
             (rng.uniform(0, 1, (128, 5)).astype(np.float32), spectral.mel_filterbank(wide))),
        Case("40 bands at 16 kHz, n_fft 512, float64, 3 frames",
             (rng.uniform(0, 1, (40, 3)), spectral.mel_filterbank(speech_rate).astype(np.float64))),
        Case("HiFi-GAN's 80 bands, a loud mel (values up to 1000), 2 frames",
             (rng.uniform(0, 1000, (80, 2)).astype(np.float32), spectral.mel_filterbank(spectral.MelConfig()))),
    ]


register(Exercise(
    name="mel_to_linear",
    notebook=NOTEBOOK,
    reference=_mel_to_linear,
    cases=_mel_cases,
    hidden_cases=_mel_hidden_cases,
    reference_name="voclab.spectral.mel_to_linear",
    hint="np.linalg.pinv(mel_basis) has shape (n_freq, n_mels); multiply it with the mel, then "
         "set negative values to 0 with np.maximum(..., 0).",
    compare=dict(rtol=1e-3, atol=1e-5),
    mistakes=[
        (lambda mel, basis: np.linalg.pinv(np.asarray(basis, np.float64)) @ mel,
         "some values are negative: a magnitude cannot be, clip them with np.maximum(..., 0)"),
        (lambda mel, basis: np.maximum(np.asarray(basis).T @ mel, 0.0),
         "you used the transpose of the filterbank; the transpose is not an inverse — use np.linalg.pinv"),
    ],
))
