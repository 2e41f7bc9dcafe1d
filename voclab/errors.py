"""voclab's own exceptions: one family, each message says what to do.

Every error a learner or a user can cause with bad input is a :class:`VoclabError`,
so ``except voclab.VoclabError`` catches them all and a traceback never ends deep
inside torch or soundfile.
"""

from __future__ import annotations


class VoclabError(Exception):
    """Base class of every error voclab raises on purpose."""


class AudioFileNotFoundError(VoclabError, FileNotFoundError):
    """The audio file does not exist."""


class NotAudioError(VoclabError, ValueError):
    """The file exists but cannot be decoded as audio."""


class UnsupportedFormatError(VoclabError, ValueError):
    """The file extension names a format voclab cannot read or write."""


class EmptyAudioError(VoclabError, ValueError):
    """The audio has no samples (or too few for the requested operation)."""


class NonFiniteAudioError(VoclabError, ValueError):
    """The audio contains NaN or infinite samples."""


class ShapeError(VoclabError, ValueError):
    """An array has the wrong number of dimensions or the wrong size."""


class MelMismatchError(VoclabError, ValueError):
    """Two mel settings differ; the message names the differing fields."""


class SpecgramMismatchError(MelMismatchError):
    """Two GANSynth spectrogram settings differ (:class:`voclab.specgram.SpecgramConfig`); the
    message names the differing fields. A :class:`MelMismatchError`, so code that catches any
    settings mismatch catches both."""


class ConfigError(VoclabError, ValueError):
    """A configuration value is invalid (unknown preset, bad tier, inconsistent sizes)."""


class DataError(VoclabError, ValueError):
    """Shipped data is missing, unknown or does not match its manifest."""


class CheckpointError(VoclabError, ValueError):
    """A checkpoint is missing, damaged, foreign, or does not fit the run it is given to."""


class TrainingError(VoclabError, RuntimeError):
    """Training cannot go on (a loss became NaN, the run folder holds another run)."""


class MissingExtraError(VoclabError, ImportError):
    """An optional package is not installed; the message names the pip extra that installs it
    (e.g. ``pip install 'voclab[metrics]'`` for STOI and PESQ). An :class:`ImportError`, so code
    that already guards an optional import catches it too."""
