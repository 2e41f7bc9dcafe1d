"""Tests of notebook 01's exercise specifications (voclab/checks/nb01.py).

The conceptual mistakes of the phase and Griffin-Lim exercises are named, not answered with a
bare "values differ": each is written here as a learner would write it (not as the spec lists
it), and the check must say what the concept is and what to do. Correct solutions written
differently from the reference still pass.
(That every reference passes and every listed mistake is recognised is tested for all
notebooks at once in test_exercise_contracts.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from voclab.checks import check_exercise
from voclab.spectral import istft, stft

# --------------------------------------------------------------------------- conceptual mistakes, as learners write them


def _phase_in_zero_two_pi(S):
    phase = np.arctan2(S.imag, S.real)
    return np.hypot(S.real, S.imag), np.where(phase < 0, phase + 2 * np.pi, phase)


def _gl_without_the_magnitude(magnitude, *, n_fft, hop_length, n_iter, init_phase):
    """Round trips of the spectrogram: |C| is the previous round's, |S| is never imposed again."""
    C = magnitude * np.exp(1j * init_phase)
    for _ in range(n_iter):
        rebuilt = stft(istft(C, n_fft=n_fft, hop_length=hop_length), n_fft=n_fft, hop_length=hop_length)
        C = np.abs(rebuilt) * np.exp(1j * np.angle(rebuilt))
    return istft(C, n_fft=n_fft, hop_length=hop_length)


def _fgl_starting_from_the_initial_spectrogram(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
    X = magnitude * np.exp(1j * init_phase)
    previous = X                                                   # C_0 = X_0 instead of 0
    for _ in range(n_iter):
        C = stft(istft(X, n_fft=n_fft, hop_length=hop_length), n_fft=n_fft, hop_length=hop_length)
        T = C - momentum / (1 + momentum) * previous
        X = magnitude * np.exp(1j * np.angle(T))
        previous = C
    return istft(X, n_fft=n_fft, hop_length=hop_length)


def _fgl_momentum_on_the_phasor(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
    phasor = np.exp(1j * init_phase)
    for _ in range(n_iter):
        C = stft(istft(magnitude * phasor, n_fft=n_fft, hop_length=hop_length), n_fft=n_fft, hop_length=hop_length)
        T = C - momentum / (1 + momentum) * phasor                 # the previous phase factor instead of C_{n-1}
        phasor = T / (np.abs(T) + 1e-16)
    return istft(magnitude * phasor, n_fft=n_fft, hop_length=hop_length)


def _inconsistency_without_length(X, *, n_fft, hop_length, length):
    """istft's default length: (frames − 1) · hop samples, the end of the signal is lost."""
    y = istft(X, n_fft=n_fft, hop_length=hop_length)
    return float(np.linalg.norm(stft(y, n_fft=n_fft, hop_length=hop_length) - X) / np.linalg.norm(X))


def _inconsistency_of_the_magnitudes(X, *, n_fft, hop_length, length):
    """The spectral convergence of exercise 2, reused: it cannot see the phase."""
    C = stft(istft(X, n_fft=n_fft, hop_length=hop_length, length=length), n_fft=n_fft, hop_length=hop_length)
    reference, estimate = np.abs(X), np.abs(C)
    return float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))


def _inconsistency_as_a_difference_of_norms(X, *, n_fft, hop_length, length):
    C = stft(istft(X, n_fft=n_fft, hop_length=hop_length, length=length), n_fft=n_fft, hop_length=hop_length)
    return abs(float(np.linalg.norm(C)) - float(np.linalg.norm(X))) / float(np.linalg.norm(X))


@pytest.mark.parametrize("name,wrong,says", [
    ("split_stft", _phase_in_zero_two_pi, "wrap to (−π, π] (np.angle does)"),
    ("inconsistency", _inconsistency_without_length, "you left out length= in istft"),
    ("inconsistency", _inconsistency_of_the_magnitudes, "consistency is about the complex array, phase included"),
    ("inconsistency", _inconsistency_as_a_difference_of_norms, "take the norm of the difference, ‖C − X‖"),
    ("griffin_lim", _gl_without_the_magnitude, "impose the known magnitude every round"),
    ("fast_griffin_lim", _fgl_starting_from_the_initial_spectrogram, "C_0 = 0"),
    ("fast_griffin_lim", _fgl_momentum_on_the_phasor, "the previous consistent STFT C_{n−1}"),
], ids=["phase-in-0-2pi", "inconsistency-without-length", "inconsistency-of-magnitudes",
        "inconsistency-difference-of-norms", "gl-never-imposes-the-magnitude", "fgl-C0-is-X0",
        "fgl-momentum-on-the-phasor"])
def test_a_conceptual_mistake_is_named(name, wrong, says):
    result = check_exercise(name, wrong)
    assert result.status == "failed"
    assert says in result.message, result.message
    assert "values differ" not in result.message


# --------------------------------------------------------------------------- other correct solutions pass


def _other_split(S):
    return np.hypot(S.real, S.imag), np.arctan2(S.imag, S.real)


def _other_griffin_lim(magnitude, *, n_fft, hop_length, n_iter, init_phase):
    """Iterates on the phase itself rather than on the phase factor."""
    phase = init_phase
    for _ in range(n_iter):
        y = istft(magnitude * np.exp(1j * phase), n_fft=n_fft, hop_length=hop_length)
        phase = np.angle(stft(y, n_fft=n_fft, hop_length=hop_length))
    return istft(magnitude * np.exp(1j * phase), n_fft=n_fft, hop_length=hop_length)


def _other_fast_griffin_lim(magnitude, *, n_fft, hop_length, n_iter, init_phase, momentum=0.99):
    """The new phase from np.angle(T), the first round without a momentum term at all."""
    alpha = momentum / (1 + momentum)
    X, previous = magnitude * np.exp(1j * init_phase), None
    for _ in range(n_iter):
        C = stft(istft(X, n_fft=n_fft, hop_length=hop_length), n_fft=n_fft, hop_length=hop_length)
        T = C if previous is None else C - alpha * previous
        X = magnitude * np.exp(1j * np.angle(T))  # where T = 0 the magnitude is 0 too
        previous = C
    return istft(X, n_fft=n_fft, hop_length=hop_length)


def _other_inconsistency(X, *, n_fft, hop_length, length):
    """Energies summed by hand, square root at the end; the array as float64 first."""
    X = X.astype(np.complex128)
    y = istft(X, n_fft=n_fft, hop_length=hop_length, length=length)
    C = stft(y, n_fft=n_fft, hop_length=hop_length)
    return float(np.sqrt(np.sum(np.abs(C - X) ** 2) / np.sum(np.abs(X) ** 2)))


@pytest.mark.parametrize("name,solution", [
    ("split_stft", _other_split),
    ("inconsistency", _other_inconsistency),
    ("griffin_lim", _other_griffin_lim),
    ("fast_griffin_lim", _other_fast_griffin_lim),
])
def test_a_correct_solution_written_differently_passes(name, solution):
    result = check_exercise(name, solution)
    assert result.status == "passed", result.message


# --------------------------------------------------------------------------- the stub


def test_the_inconsistency_stub_is_not_done_and_hands_on_the_reference():
    def inconsistency(X, *, n_fft, hop_length, length):
        raise NotImplementedError("Exercise inconsistency: replace this line with your code")

    result = check_exercise("inconsistency", inconsistency)
    assert result.status == "not done"
    assert "voclab.phase.inconsistency" in result.message
    S = stft(np.sin(np.arange(3000) / 5).astype(np.float32), n_fft=256, hop_length=64)
    assert result.use(S, n_fft=256, hop_length=64, length=3000) < 1e-5
