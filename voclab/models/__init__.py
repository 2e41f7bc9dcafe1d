"""Reference vocoders: one readable file per model, trained by one shared loop (``voclab.train``).

Each model module (``voclab.models.hifigan``, ``voclab.models.melgan``, ``voclab.models.wavenet``,
the unconditional ``voclab.models.wavegan`` and the pitch-conditional ``voclab.models.gansynth``)
keeps its whole paper in one file: a
``@dataclass`` config, the networks, the losses and its ``train_step``. What every model shares — data, logging, validation, checkpoints,
resuming, mixed precision, ``torch.compile`` and DDP — lives in :mod:`voclab.train`, which
talks to a model module only through the functions below (a plain module protocol, no
base classes):

``Config``
    The ``@dataclass`` of the model: architecture *and* training hyper-parameters, with (for a
    vocoder) a ``mel`` field naming the :class:`~voclab.spectral.MelConfig` preset (or holding its dict)
    and a ``mel_config`` property that returns the :class:`~voclab.spectral.MelConfig`.
``build(cfg) -> dict[str, nn.Module]``
    ``{"generator": ..., "discriminator": ...}`` (any names; ``"generator"`` is required:
    it is what ``voclab vocode`` runs).
``make_optimizers(modules, cfg) -> (optimizers: dict, schedulers: dict)``
    Keyed like the modules they update. The loop steps every scheduler once per optimizer
    step, so a schedule is a function of the step alone — never of the size of the data
    folder (HiFi-GAN's per-epoch decay is a ``StepLR`` whose period is the official epoch).
``train_step(modules, optimizers, batch, cfg, *, autocast) -> dict[str, float]``
    One update of every network on ``batch = {"audio": (B, 1, T), "mel": (B, n_mels, frames)}``;
    returns the losses to log. ``autocast`` is a context-manager factory (bf16 or a no-op);
    losses and the generator's last layer stay in float32 under it. A GAN's generator step
    runs its discriminator inside :func:`frozen`.
``validation_audio(generator, mel) -> audio``
    Inference for validation and ``voclab vocode``: ``(B, n_mels, frames) -> (B, 1, samples)``.
``validation_mel_config(cfg) -> MelConfig`` (optional)
    The mel with which validation scores the generated audio (log-mel L1); the input mel
    when a model does not say otherwise. HiFi-GAN's is its full-band loss mel.
``KIND`` (optional, default ``"vocoder"``)
    What the model turns into audio, and so what the loop feeds it and how it validates it:

    ``"vocoder"``
        mel → audio, as above.
    ``"unconditional"``
        a random latent → audio (WaveGAN). Its ``Config`` has ``sample_rate``, ``slice_len``,
        ``preview_n``, ``ndb_samples`` and ``ndb_bins`` fields and no mel; batches are
        ``{"audio": (B, 1, slice_len)}`` slices of the training clips
        (:class:`voclab.datasets.AudioSlices`); ``validation_audio(generator, z)`` maps
        latents ``(B, latent_dim)`` to audio; and the module has
        ``sample_latents(cfg, n, *, generator=None, device="cpu")``, the one place its latents
        are drawn. Validation writes the audio of fixed latents (seeds ``0 … preview_n − 1``,
        the ones ``voclab generate --seed 0`` uses) and scores the distribution with NDB
        (:func:`voclab.metrics.ndb`, lower is better), which ``best.pt`` follows. ``voclab
        generate`` samples such a model; ``voclab vocode`` refuses it.
    ``"pitched"``
        a random latent and a MIDI pitch → a note (GANSynth), drawn as a picture and turned
        into audio by a fixed inverse. Everything ``"unconditional"`` asks for, plus: a
        ``specgram`` field (a :mod:`voclab.specgram` preset name or its dict; its
        resolved :class:`~voclab.specgram.SpecgramConfig` is saved in every checkpoint, and a
        resumed run must match it), ``pitch_min`` and ``pitch_max`` (the MIDI range);
        batches are ``{"spec": (B, 2, frames, bins) normalised pictures, "pitch": (B,) MIDI}``
        (:class:`voclab.datasets.LabelledNotes`, from a folder with NSynth's ``examples.json``:
        ``voclab prepare --nsynth-fluid``); the module has ``set_pitch_histogram(modules,
        pitches, cfg)``, which the loop calls with the training notes' pitches before the first
        step (a resumed run keeps the histogram its checkpoint carries); latents are
        ``(B, latent_dim + 1)``, the last column a uniform draw the generator maps to a pitch
        through that histogram, and ``validation_audio(generator, z, pitch=None)`` takes a
        pitch (one for all, or one each) instead. Validation writes fixed seeds over a sweep
        of the training pitches, and scores NDB against the training notes and pitch
        accuracy (:func:`voclab.metrics.pitch_accuracy`) of notes asked for at the
        training pitches. ``voclab generate --pitch MIDI`` makes notes at one pitch.
``batches_per_step(cfg) -> int`` (optional, default 1)
    Real batches one ``train_step`` consumes; the loop stacks them, so ``batch["audio"]`` is
    ``(k · B, 1, T)``. WaveGAN's five critic updates each take a fresh batch.

:data:`MODELS` maps the names used on the command line (``voclab train hifigan``) to
these modules; :func:`get_model` gives a clear error for an unknown name. A model of your
own joins them with :func:`register_model`, in Python: a name in a checkpoint or a config
file is only ever looked up here, never imported (a checkpoint beside a package of the same
name would otherwise run that package's code).

Notebook: 06_melgan, 07_hifigan (and 03_wavenet, 04_wavegan, 05_gansynth).
"""

from __future__ import annotations

import contextlib
import importlib
from types import ModuleType

from ..errors import ConfigError

#: command-line name -> module path (voclab's own, imported when first used) or a registered module
MODELS: dict[str, str | ModuleType] = {
    "gansynth": "voclab.models.gansynth",
    "hifigan": "voclab.models.hifigan",
    "melgan": "voclab.models.melgan",
    "wavegan": "voclab.models.wavegan",
    "wavenet": "voclab.models.wavenet",
}


#: The kinds of model the loop knows (see ``KIND`` in the protocol above).
KINDS = ("vocoder", "unconditional", "pitched")


def model_kind(module: ModuleType) -> str:
    """What a model module turns into audio: ``"vocoder"`` (mels), ``"unconditional"`` (latents) or ``"pitched"`` (latents and a pitch).

    Read from the module's ``KIND`` (``"vocoder"`` when it has none); :mod:`voclab.train`,
    :mod:`voclab.checkpoint` and the commands dispatch on it, never on a model's name.

    Notebook: 04_wavegan, 05_gansynth, 06_melgan.

    Parameters
    ----------
    module : ModuleType
        A model module.

    Returns
    -------
    kind : str

    Raises
    ------
    voclab.errors.ConfigError
        A ``KIND`` the loop does not know.
    """
    kind = getattr(module, "KIND", "vocoder")
    if kind not in KINDS:
        raise ConfigError(f"{module.__name__}.KIND is {kind!r}; voclab knows {', '.join(map(repr, KINDS))} "
                          "(see the protocol in voclab.models).")
    return kind


def get_model(name: str) -> ModuleType:
    """Import and return the model module called ``name`` on the command line.

    Only names in :data:`MODELS` are known: voclab's own and those given to
    :func:`register_model`.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    name : str
        ``"gansynth"``, ``"hifigan"``, ``"melgan"``, ``"wavegan"`` or ``"wavenet"`` (see :data:`MODELS`).

    Returns
    -------
    module : ModuleType
        The model module, with ``Config``, ``build``, ``make_optimizers``,
        ``train_step`` and ``validation_audio``.

    Raises
    ------
    voclab.errors.ConfigError
        Unknown name; the message lists the known models and how to register one.
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(
            f"No model {name!r}. Known models: {', '.join(sorted(MODELS))}. A model of your own must be "
            "registered first, in Python: voclab.models.register_model(name, module)."
        )
    entry = MODELS[name]
    return entry if isinstance(entry, ModuleType) else importlib.import_module(entry)


def register_model(name: str, module: ModuleType | str, *, replace: bool = False) -> ModuleType:
    """Make a model module of your own known by ``name`` (to :func:`voclab.train.train`, checkpoints, ``vocode``).

    Model names are looked up in :data:`MODELS` only, never imported: a checkpoint's
    ``model`` entry is data, and importing whatever it names would run the code of any
    package of that name on the import path (a notebook's working folder is on it). So a
    model that is not voclab's own is registered explicitly, in the process that trains
    or loads it; for the command line, a small script does it::

        import sys, voclab.cli, voclab.models, myvocoder
        voclab.models.register_model("myvocoder", myvocoder)
        sys.exit(voclab.cli.main())     # python train_mine.py train myvocoder --data ... --out ...

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    name : str
        The name used by ``train(name, ...)``, ``voclab train NAME`` and saved in checkpoints.
    module : ModuleType or str
        The module (or its import path, imported now) with the protocol of :mod:`voclab.models`.
    replace : bool
        Allow ``name`` to point to another module than the one registered under it.

    Returns
    -------
    module : ModuleType

    Raises
    ------
    voclab.errors.ConfigError
        An empty name, a name already taken by another module, or a module that lacks
        part of the protocol.

    Examples
    --------
    >>> import voclab.models, myvocoder                       # doctest: +SKIP
    >>> voclab.models.register_model("myvocoder", myvocoder)  # doctest: +SKIP
    """
    from ..config import PROTOCOL

    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"register_model needs a non-empty name (got {name!r}).")
    if isinstance(module, str):
        module = importlib.import_module(module)  # the caller names it: an explicit import
    current = MODELS.get(name)
    if current is not None and not replace:
        current_name = current if isinstance(current, str) else current.__name__
        if current_name != module.__name__:
            raise ConfigError(f"The model name {name!r} is already registered for {current_name}; pick another "
                              "name, or pass replace=True.")
    missing = [attribute for attribute in PROTOCOL if not hasattr(module, attribute)]
    if missing:
        raise ConfigError(f"{module.__name__} is not a voclab model module: it lacks {', '.join(missing)} "
                          "(see the protocol in voclab.models).")
    MODELS[name] = module
    return module


def remove_weight_norm(module):
    """Fold weight normalisation into plain weights, in place, for inference.

    Weight norm (Salimans & Kingma 2016) writes each weight as ``g · v / ‖v‖``: it helps
    GAN training and costs time at inference. Works on both the
    ``torch.nn.utils.parametrizations.weight_norm`` and the older
    ``torch.nn.utils.weight_norm`` forms; spectral norm is left alone.

    Notebook: 06_melgan, 07_hifigan (speed measurements).

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    module : torch.nn.Module
        The same module, for chaining.
    """
    import torch
    from torch.nn.utils import parametrize

    for child in module.modules():
        parametrizations = getattr(child, "parametrizations", None)
        if parametrizations is not None and "weight" in parametrizations:
            kinds = {type(p).__name__ for p in parametrizations["weight"]}
            if kinds == {"_WeightNorm"}:
                # A deep copy shares its parametrized class with the original, and removal deletes
                # the `weight` property from that class: give this module a class of its own first.
                shared = type(child)
                own = {k: v for k, v in vars(shared).items() if k not in ("__dict__", "__weakref__")}
                child.__class__ = type(shared.__name__, shared.__bases__, own)
                parametrize.remove_parametrizations(child, "weight", leave_parametrized=True)
        for hook in list(getattr(child, "_forward_pre_hooks", {}).values()):
            if type(hook).__name__ == "WeightNorm":
                torch.nn.utils.remove_weight_norm(child)
                break
    return module


@contextlib.contextmanager
def frozen(network):
    """Run a network without computing (or, under DDP, synchronising) gradients for its weights.

    In a GAN's generator step the discriminator only passes gradients back to the generated
    audio: its own weights are not updated in that step. With ``requires_grad`` off, autograd
    skips the gradients of its weights (a third of a backward pass through it), and under
    DDP ``no_sync`` keeps the wrapper from expecting — and all-reducing — gradients that are
    never used (about 70 M numbers per step for HiFi-GAN's discriminators). Gradients still
    flow *through* the network to its inputs.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    network : torch.nn.Module
        A plain module or one wrapped by DDP / ``torch.compile``.

    Returns
    -------
    context : a context manager yielding ``network``

    Examples
    --------
    >>> with frozen(discriminator):                           # doctest: +SKIP
    ...     fake_scores = discriminator(y_hat)                # gradients reach y_hat, not D's weights
    """
    weights = [p for p in network.parameters() if p.requires_grad]
    no_sync = getattr(network, "no_sync", None)  # DDP (through a compile wrapper, too)
    if no_sync is None and hasattr(network, "_orig_mod"):
        no_sync = getattr(network._orig_mod, "no_sync", None)
    for p in weights:
        p.requires_grad_(False)
    try:
        with no_sync() if no_sync is not None else contextlib.nullcontext():
            yield network
    finally:
        for p in weights:
            p.requires_grad_(True)
