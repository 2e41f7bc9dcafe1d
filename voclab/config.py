"""Model configs: which model a name means, its typed config, and the shipped config files.

Every reference vocoder keeps its hyper-parameters in one ``@dataclass Config`` in its own
file (``voclab/models/hifigan.py`` ...). This module turns what a user types into such a
config, and is the one place that does:

* :func:`resolve_model` — ``"hifigan"`` (or a model registered with
  :func:`voclab.models.register_model`) to the model module, checked against the protocol of
  :mod:`voclab.models`; a name is never imported;
* :func:`load_config` — a config shipped in ``voclab/configs/`` (by name) or any JSON file,
  plus ``--set key=value`` overrides, checked by the model's ``Config``;
* :func:`build_config`, :func:`config_to_dict` — a config from and to plain JSON values (what
  ``config.json`` and every checkpoint carry), and :func:`mel_config_of`, its mel settings.

It sits below both the training loop (:mod:`voclab.train`) and the checkpoint reader
(:mod:`voclab.checkpoint`): vocoding a checkpoint reads a config without importing the
training code.

Notebook: 06_melgan, 07_hifigan (the command-line trainer and ``voclab vocode``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ConfigError
from .spectral import MelConfig

__all__ = [
    "PROTOCOL",
    "CONFIG_DIR",
    "resolve_model",
    "build_config",
    "load_config",
    "config_names",
    "mel_config_of",
    "config_to_dict",
]

#: What :func:`voclab.train.train` needs from a model module (see :mod:`voclab.models`).
PROTOCOL = ("Config", "build", "make_optimizers", "train_step", "validation_audio")

#: Where the shipped configs live (installed with the package: pyproject's package-data).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"



def resolve_model(name: str) -> ModuleType:
    """The model module for a name used on the command line, in a config file or in a checkpoint.

    A name from :data:`voclab.models.MODELS`: voclab's own (``"hifigan"``, ``"melgan"``,
    ``"wavenet"``) or one given to :func:`voclab.models.register_model`. A name is looked
    up, never imported: a checkpoint's ``model`` entry must not run the code of a package
    that happens to carry that name.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    name : str

    Returns
    -------
    module : ModuleType

    Raises
    ------
    voclab.errors.ConfigError
        Unknown name (the message lists the known models), or a module that lacks part
        of the protocol.
    """
    from .models import get_model

    module = get_model(name)
    missing = [attribute for attribute in PROTOCOL if not hasattr(module, attribute)]
    if missing:
        raise ConfigError(
            f"{name!r} is not a voclab model module: it lacks {', '.join(missing)} "
            "(see the protocol in voclab.models)."
        )
    return module


def _field_names(config_class) -> list[str]:
    return [f.name for f in dataclasses.fields(config_class)]


def _unknown_keys_message(model_name: str, unknown: list[str], known: list[str]) -> str:
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hints.append(f"{key!r} -> did you mean {close[0]!r}?")
    return (
        f"Unknown config key(s) {', '.join(map(repr, unknown))} for model {model_name!r}. "
        + (" ".join(hints) + " " if hints else "")
        + f"Its fields are: {', '.join(known)}."
    )


def build_config(module: ModuleType, model_name: str, fields: dict):
    """``module.Config(**fields)``, with a clear error for unknown or invalid fields.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    module : ModuleType
        A model module.
    model_name : str
        Its name, for messages.
    fields : dict
        Config fields (missing ones take the dataclass defaults).

    Returns
    -------
    cfg : the model's Config

    Raises
    ------
    voclab.errors.ConfigError
    """
    known = _field_names(module.Config)
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ConfigError(_unknown_keys_message(model_name, unknown, known))
    try:
        return module.Config(**fields)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"Invalid config for {model_name!r}: {err}") from None


def config_names(model_name: str | None = None) -> list[str]:
    """Names of the configs shipped in ``voclab/configs/`` (for one model, or all).

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    model_name : str, optional

    Returns
    -------
    names : list of str
    """
    names = []
    for path in sorted(CONFIG_DIR.glob("*.json")):
        if model_name is not None:
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("model") != model_name:
                    continue
            except (ValueError, AttributeError):
                continue
        names.append(path.stem)
    return names


def _config_file(model_name: str, name_or_file: str | Path) -> Path:
    candidate = Path(name_or_file)
    if candidate.is_file():
        return candidate
    looks_like_path = candidate.suffix == ".json" or len(candidate.parts) > 1
    if not looks_like_path and (CONFIG_DIR / f"{candidate.name}.json").is_file():
        return CONFIG_DIR / f"{candidate.name}.json"
    shipped = config_names(model_name) or config_names()
    raise ConfigError(
        f"No config {str(name_or_file)!r}: not a file, and not a config shipped with voclab. "
        f"Shipped configs for {model_name!r}: {', '.join(shipped) or '(none)'}."
    )


def _parse_value(text: str):
    """JSON if it parses (``3``, ``1e-4``, ``[8, 8, 2, 2]``, ``true``, ``null``), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _default_of(config_class, name: str):
    for f in dataclasses.fields(config_class):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    return None


def _apply_override(module: ModuleType, model_name: str, fields: dict, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set expects key=value (e.g. --set batch_size=8), got {item!r}.")
    key, _, text = item.partition("=")
    key, value = key.strip(), _parse_value(text.strip())
    known = _field_names(module.Config)
    top, _, sub = key.partition(".")
    if top not in known:
        raise ConfigError(_unknown_keys_message(model_name, [top], known))
    if not sub:
        fields[top] = value
        return
    # a dotted key changes one entry of a dict-valued field, e.g. --set mel.fmax=null
    base = fields.get(top, _default_of(module.Config, top))
    if top == "mel":
        mel = base if isinstance(base, MelConfig) else (
            MelConfig.preset(base) if isinstance(base, str) else MelConfig.from_dict(dict(base)))
        base = mel.to_dict()
        if sub not in base:
            raise ConfigError(f"MelConfig has no field {sub!r}; its fields are: {', '.join(base)}.")
    elif not isinstance(base, dict):
        raise ConfigError(f"{top!r} is not a dict, so {key!r} cannot set a part of it; use --set {top}=VALUE.")
    fields[top] = {**dict(base), sub: value}


def load_config(model_name: str, name_or_file: str | Path | None = None, overrides=()):
    """Load a model's config: shipped name or JSON path, then ``key=value`` overrides.

    The JSON file is one object with ``"model"`` (which must name ``model_name``) and
    the fields of the model's ``Config``; keys starting with ``_`` are notes and are
    ignored (JSON has no comments). An override's value is read as JSON when it
    parses (``8``, ``2e-4``, ``[8,8,4]``, ``null``), else as a string; ``mel.fmax=null``
    changes one field of the mel settings.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    model_name : str
        ``"hifigan"``, ``"melgan"``, ``"wavenet"`` or a registered model (see :func:`resolve_model`).
    name_or_file : str or Path, optional
        A shipped config name (``"hifigan_v1"``: ``voclab/configs/hifigan_v1.json``) or a
        path to a JSON file; ``None`` for the ``Config`` defaults.
    overrides : sequence of str
        ``"key=value"`` items (the command line's ``--set``).

    Returns
    -------
    cfg : the model's Config

    Raises
    ------
    voclab.errors.ConfigError
        Unknown config name, unreadable JSON, a file for another model, an unknown key
        (the message lists the fields), or values the model's ``Config`` rejects.

    Examples
    --------
    >>> cfg = load_config("hifigan", "hifigan_v1", ["batch_size=8"])   # doctest: +SKIP
    """
    module = resolve_model(model_name)
    fields: dict[str, Any] = {}
    if name_or_file is not None:
        path = _config_file(model_name, name_or_file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ConfigError(f"{path} is not valid JSON ({err}).") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold one JSON object of config fields, not {type(data).__name__}.")
        if "model" not in data:
            raise ConfigError(f'{path} has no "model" entry; add "model": "{model_name}".')
        names = {model_name, module.__name__, module.__name__.rsplit(".", 1)[-1]}
        if data["model"] not in names:
            raise ConfigError(
                f"{path} is a config for model {data['model']!r}, not {model_name!r}: "
                f"run `voclab train {data['model']} --config {name_or_file}`, or pick a config for "
                f"{model_name!r} ({', '.join(config_names(model_name)) or 'none shipped'})."
            )
        fields = {k: v for k, v in data.items() if k != "model" and not k.startswith("_")}
    for item in overrides:
        _apply_override(module, model_name, fields, item)
    return build_config(module, model_name, fields)


def mel_config_of(cfg) -> MelConfig:
    """The :class:`MelConfig` of a model config (its ``mel`` field: preset name, dict or MelConfig).

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    cfg : a model's Config

    Returns
    -------
    mel : MelConfig
    """
    return MelConfig.resolve(getattr(cfg, "mel", None))


def config_to_dict(cfg) -> dict:
    """A model config as plain JSON values (lists, not tuples): what config.json and checkpoints hold.

    ``build_config(module, name, config_to_dict(cfg)) == cfg`` for every model config.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    cfg : a model's Config

    Returns
    -------
    values : dict
    """
    values = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    return json.loads(json.dumps(values))
