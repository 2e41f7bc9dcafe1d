"""Reference vocoders: one readable file per model, trained by one shared loop (``voclab.train``).

Each model module (``voclab.models.hifigan``, ``voclab.models.melgan``, ``voclab.models.wavenet``)
keeps its whole paper in one file: a ``@dataclass`` config, the networks, the losses and
its ``train_step``. What every model shares — data, logging, validation, checkpoints,
resuming, mixed precision, ``torch.compile`` and DDP — lives in :mod:`voclab.train`, which
talks to a model module only through the functions below (a plain module protocol, no
base classes):

``Config``
    The ``@dataclass`` of the model: architecture *and* training hyper-parameters, with a
    ``mel`` field naming the :class:`~voclab.spectral.MelConfig` preset (or holding its dict)
    and a ``mel_config`` property that returns the :class:`~voclab.spectral.MelConfig`.
``build(cfg) -> dict[str, nn.Module]``
    ``{"generator": ..., "discriminator": ...}`` (any names; ``"generator"`` is required:
    it is what ``voclab vocode`` runs).
``make_optimizers(modules, cfg) -> (optimizers: dict, schedulers: dict)``
    Keyed like the modules they update. Schedulers step once per epoch, as the papers do.
``train_step(modules, optimizers, batch, cfg, *, autocast) -> dict[str, float]``
    One update of every network on ``batch = {"audio": (B, 1, T), "mel": (B, n_mels, frames)}``;
    returns the losses to log. ``autocast`` is a context-manager factory (bf16 or a no-op).
``validation_audio(generator, mel) -> audio``
    Inference for validation and ``voclab vocode``: ``(B, n_mels, frames) -> (B, 1, samples)``.

:data:`MODELS` maps the names used on the command line (``voclab train hifigan``) to
these modules; :func:`get_model` gives a clear error for an unknown name.

Notebook: 06_melgan, 07_hifigan (and 03_wavenet).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import ConfigError

#: command-line name -> module path
MODELS: dict[str, str] = {
    "hifigan": "voclab.models.hifigan",
    "melgan": "voclab.models.melgan",
    "wavenet": "voclab.models.wavenet",
}


def get_model(name: str) -> ModuleType:
    """Import and return the model module called ``name`` on the command line.

    Parameters
    ----------
    name : str
        ``"hifigan"``, ``"melgan"`` or ``"wavenet"`` (see :data:`MODELS`).

    Returns
    -------
    module : ModuleType
        The model module, with ``Config``, ``build``, ``make_optimizers``,
        ``train_step`` and ``validation_audio``.

    Raises
    ------
    voclab.errors.ConfigError
        Unknown name; the message lists the known models.
    """
    if name not in MODELS:
        raise ConfigError(f"No model {name!r}. Known models: {', '.join(sorted(MODELS))}.")
    return importlib.import_module(MODELS[name])


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
