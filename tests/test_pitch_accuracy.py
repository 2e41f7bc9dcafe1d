"""voclab.metrics.pitch_accuracy: pYIN's f0 against the MIDI pitch each clip was meant to have."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voclab import data
from voclab.errors import ConfigError, EmptyAudioError, NonFiniteAudioError, ShapeError
from voclab.metrics import PITCH_MIN_VOICED, PitchAccuracyResult, pitch_accuracy

SR = 16000
PITCHES = [24, 36, 48, 60, 72, 84]


def note(midi: float, seconds: float = 1.0, *, decay: float = 2.0, sr: int = SR) -> np.ndarray:
    """A decaying harmonic note (1/k partials below 0.45 sr), like a plucked or struck string."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    y = sum(np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, 9) if k * f0 < 0.45 * sr)
    return (0.4 * y * np.exp(-decay * t)).astype(np.float32)


def test_notes_at_their_pitch_are_all_correct():
    clips = np.stack([note(m) for m in PITCHES])
    result = pitch_accuracy(clips, PITCHES, SR)
    assert isinstance(result, PitchAccuracyResult)
    assert result.accuracy == 1.0 and result.correct.all() and result.n == len(PITCHES)
    assert np.abs(result.cents).max() <= 13  # the quarter-semitone grid
    np.testing.assert_allclose(result.f0_hz, 440.0 * 2 ** ((np.array(PITCHES) - 69) / 12), rtol=0.01)
    assert (result.voiced_fraction > 0.5).all()
    np.testing.assert_array_equal(result.midi, PITCHES)
    assert "accuracy=1.000" in repr(result) and "6/6" in repr(result)


def test_a_semitone_off_is_wrong():
    clips = np.stack([note(m + 1) for m in PITCHES])
    result = pitch_accuracy(clips, PITCHES, SR)
    assert result.accuracy == 0.0
    np.testing.assert_allclose(result.cents, 100, atol=13)
    flat = pitch_accuracy(note(60 - 1), 60, SR)
    assert flat.accuracy == 0.0 and flat.cents[0] == pytest.approx(-100, abs=13)


def test_the_tolerance_is_in_cents():
    quarter = note(60.3)  # 30 cents sharp
    assert pitch_accuracy(quarter, 60, SR).accuracy == 1.0
    assert pitch_accuracy(quarter, 60, SR, cents=20).accuracy == 0.0


def test_noise_and_silence_are_not_notes():
    rng = np.random.default_rng(0)
    white = 0.3 * rng.standard_normal(SR)
    brown = np.cumsum(rng.standard_normal(SR))
    brown = 0.5 * brown / np.abs(brown).max()
    clips = np.stack([white, brown, np.zeros(SR)]).astype(np.float32)
    for target in (24, 60, 84):
        result = pitch_accuracy(clips, target, SR)
        assert result.accuracy == 0.0
        assert (result.voiced_fraction < PITCH_MIN_VOICED).all()
    assert np.isnan(pitch_accuracy(np.zeros(SR), 60, SR).f0_hz[0])


def test_octave_errors_count_as_wrong():
    result = pitch_accuracy(np.stack([note(72), note(48)]), [60, 60], SR)
    assert result.accuracy == 0.0
    np.testing.assert_allclose(result.cents, [1200, -1200], atol=13)


def test_batches_in_every_form_give_one_answer():
    clips = [note(60), note(61), note(67)]
    targets = [60, 60, 67]
    expected = [True, False, True]
    assert pitch_accuracy(np.stack(clips), targets, SR).correct.tolist() == expected
    assert pitch_accuracy(clips, targets, SR).correct.tolist() == expected
    assert pitch_accuracy(torch.from_numpy(np.stack(clips)), torch.tensor(targets), SR).correct.tolist() == expected
    assert pitch_accuracy(np.stack(clips).astype(np.float64), np.array(targets), SR).accuracy == pytest.approx(2 / 3)
    one = pitch_accuracy(note(67), 67, SR)  # one clip, one target
    assert one.n == 1 and one.accuracy == 1.0


def test_other_sample_rates():
    sr = 22050
    result = pitch_accuracy(np.stack([note(45, sr=sr), note(81, sr=sr)]), [45, 81], sr)
    assert result.accuracy == 1.0


def test_bad_input_is_a_voclab_error():
    clip = note(60)
    with pytest.raises(ShapeError, match="shape"):
        pitch_accuracy(clip[None, None], 60, SR)
    with pytest.raises(ShapeError, match="one MIDI pitch per clip"):
        pitch_accuracy(np.stack([clip, clip]), [60, 61, 62], SR)
    with pytest.raises(ShapeError, match="one length"):
        pitch_accuracy([clip, clip[:8000]], 60, SR)
    with pytest.raises(ShapeError, match="shorter than one analysis frame"):
        pitch_accuracy(clip[:1000], 60, SR)
    with pytest.raises(ShapeError, match="real samples"):
        pitch_accuracy(clip.astype(np.complex64), 60, SR)
    bad = clip.copy()
    bad[5] = np.nan
    with pytest.raises(NonFiniteAudioError, match="clip 1"):
        pitch_accuracy(np.stack([clip, bad]), 60, SR)
    with pytest.raises(EmptyAudioError):
        pitch_accuracy([], 60, SR)
    with pytest.raises(EmptyAudioError):
        pitch_accuracy(np.zeros((0, SR)), 60, SR)
    with pytest.raises(ConfigError, match="sr"):
        pitch_accuracy(clip, 60, 0)
    with pytest.raises(ConfigError, match="cents"):
        pitch_accuracy(clip, 60, SR, cents=0)
    with pytest.raises(ConfigError, match="0-127"):
        pitch_accuracy(clip, 130, SR)
    with pytest.raises(ConfigError, match="too high"):
        pitch_accuracy(clip, 120, SR)


def test_the_shipped_notes_score_one():
    audio, labels = data.load_notes()
    result = pitch_accuracy(audio, [label["pitch"] for label in labels], SR)
    assert result.accuracy == 1.0, [label["note_str"] for label, ok in zip(labels, result.correct) if not ok]
