"""Model configs: which model a name means, its typed config, and the shipped config files.

Every reference vocoder keeps its hyper-parameters in one ``@dataclass Config`` in its own
file (``voclab/models/hifigan.py`` ...). This module turns what a user types into such a
config, and is the one place that does:

* :func:`resolve_model` — ``"hifigan"`` (or a model registered with
  :func:`voclab.models.register_model`) to the model module, checked against the protocol of
  :mod:`voclab.models`; a name is never imported;
* :func:`load_config` — a config shipped in ``voclab/configs/`` (by name) or any JSON file,
  plus ``--set key=value`` overrides, checked by :func:`validate_config` and the model's ``Config``;
* :func:`validate_config`, :func:`resolve_device` — every value checked before any work starts,
  each error naming the field and what it may be;
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
import math
import re
import types
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ConfigError
from .spectral import MelConfig

if typing.TYPE_CHECKING:
    import torch

__all__ = [
    "PROTOCOL",
    "CONFIG_DIR",
    "resolve_model",
    "build_config",
    "load_config",
    "config_names",
    "mel_config_of",
    "config_to_dict",
    "validate_config",
    "resolve_device",
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


# ---------------------------------------------------------------- checking values before any work


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple))  # JSON has no tuples, Python users write either


_POSITIVE_INT = (lambda v: _is_int(v) and v >= 1, "a positive integer (>= 1)")
_COUNT = (lambda v: _is_int(v) and v >= 0, "an integer >= 0")
_POSITIVE = (lambda v: _is_number(v) and v > 0, "a positive number (> 0)")
_WEIGHT = (lambda v: _is_number(v) and v >= 0, "a number >= 0")
_DECAY = (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]")
_FRACTION = (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)")
_SIZES = (lambda v: _is_list(v) and len(v) > 0 and all(_POSITIVE_INT[0](x) for x in v),
          "a non-empty list of positive integers")

#: The ranges of the fields the models share, by name (a model's own ``Config`` checks how
#: its fields fit together, e.g. ``prod(upsample_rates) == hop_length``).
RANGES: dict[str, tuple] = {
    **dict.fromkeys(
        ("batch_size", "segment_size", "channels", "upsample_initial_channel", "ngf", "ndf", "n_layers_D",
         "downsamp_factor", "num_D", "layers", "stacks", "residual_channels", "gate_channels", "skip_channels",
         "kernel_size", "n_mixtures", "lr_decay_steps", "lr_anneal_interval",
         "slice_len", "sample_rate", "latent_dim", "dim", "kernel_len", "post_filter_len", "n_critic", "preview_n",
         "ndb_samples"), _POSITIVE_INT),
    **dict.fromkeys(("n_residual_layers", "cin_channels", "gin_channels", "n_speakers", "phase_shuffle",
                     "time_shift"), _COUNT),
    **dict.fromkeys(("learning_rate", "adam_eps"), _POSITIVE),
    **dict.fromkeys(("lambda_mel", "lambda_fm", "lambda_feat", "noise", "gp_lambda", "pitch_shift"), _WEIGHT),
    "ndb_bins": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    **dict.fromkeys(("lr_decay", "lr_anneal_rate"), _DECAY),
    **dict.fromkeys(("adam_b1", "adam_b2", "ema_decay"), _FRACTION),
    **dict.fromkeys(("upsample_rates", "upsample_kernel_sizes", "resblock_kernel_sizes", "mpd_periods", "ratios"),
                    _SIZES),
    "upsample_scales": (lambda v: _is_list(v) and all(_POSITIVE_INT[0](x) for x in v), "a list of positive integers"),
    "resblock_dilation_sizes": (
        lambda v: _is_list(v) and len(v) > 0 and all(_SIZES[0](x) for x in v),
        "a non-empty list of non-empty lists of positive integers, one list per resblock kernel"),
    "betas": (lambda v: _is_list(v) and len(v) == 2 and all(_FRACTION[0](x) for x in v),
              "two numbers in [0, 1), e.g. [0.8, 0.99]"),
}


def _type_hints(config_class) -> dict:
    try:
        return typing.get_type_hints(config_class)
    except Exception:  # noqa: BLE001 - an annotation that does not evaluate: leave it to the Config
        return {f.name: f.type for f in dataclasses.fields(config_class) if not isinstance(f.type, str)}


def _fits(value, hint) -> bool:
    """Whether a JSON-like value has the type a dataclass field is annotated with."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    if hint is float:
        return _is_number(value)
    if hint is str:
        return isinstance(value, str)
    if hint in (list, tuple) or origin in (list, tuple):
        if not _is_list(value):
            return False
        args = tuple(arg for arg in args if arg is not Ellipsis)
        if origin is tuple and len(args) == len(value) > 1:
            return all(map(_fits, value, args))
        return not args or all(_fits(item, args[0]) for item in value)
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _describe(hint) -> str:
    """What a type annotation asks for, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    words = {type(None): "null", bool: "true or false", int: "an integer", float: "a finite number",
             str: "a string", dict: "a JSON object"}
    if hint in words:
        return words[hint]
    if hint in (list, tuple) or origin in (list, tuple):
        items = {int: "integers", float: "numbers", str: "strings"}.get(args[0] if args else None)
        return "a list" + (f" of {items}" if items else "")
    return getattr(hint, "__name__", str(hint))


def _problems(config_class, values: dict) -> list[str]:
    """What is wrong with these field values: their types (the annotations), then their ranges (:data:`RANGES`)."""
    hints = _type_hints(config_class)
    problems = []
    for name, value in values.items():
        hint = hints.get(name, Any)
        if not _fits(value, hint):
            problems.append(f"{name} must be {_describe(hint)} (got {value!r})")
        elif name in RANGES and value is not None and not RANGES[name][0](value):
            problems.append(f"{name} must be {RANGES[name][1]} (got {value!r})")
    return problems


def _raise_problems(model_name: str, problems: list[str]) -> None:
    if problems:
        raise ConfigError(f"Invalid config for {model_name!r}: " + "; ".join(problems)
                          + ". Fix it in the config file or with --set KEY=VALUE.")


def validate_config(model_name: str, cfg):
    """Check every field of a model config: its type (the ``Config`` annotation) and its range.

    :func:`build_config` (so :func:`load_config` and every checkpoint) and
    :func:`voclab.train.train` call it, so a bad value stops a run before any data is read
    or any network built, with a message that names the field and what it may be — not a
    ``ZeroDivisionError`` in the data loader or an optimizer's ``ValueError`` minutes later.
    Sizes, counts and channels are positive integers, learning rates positive numbers,
    Adam's betas lie in [0, 1), the lists of upsampling rates and resblock kernels are
    not empty (:data:`RANGES`); the model's ``Config`` checks how its fields fit together.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    model_name : str
        The model's name (see :func:`resolve_model`).
    cfg : the model's Config

    Returns
    -------
    cfg : the same config

    Raises
    ------
    voclab.errors.ConfigError
        A config of another model, or values of the wrong type or out of range (all of
        them in one message).

    Examples
    --------
    >>> cfg = load_config("hifigan", "hifigan_v1")
    >>> cfg.batch_size = 0
    >>> validate_config("hifigan", cfg)
    Traceback (most recent call last):
    ...
    voclab.errors.ConfigError: Invalid config for 'hifigan': batch_size must be a positive integer (>= 1) (got 0). Fix it in the config file or with --set KEY=VALUE.
    """
    module = resolve_model(model_name)
    if not isinstance(cfg, module.Config):
        raise ConfigError(f"The config given is a {type(cfg).__module__}.{type(cfg).__name__}, not the Config of "
                          f"{model_name!r}: make it with voclab.config.load_config({model_name!r}, ...).")
    _raise_problems(model_name, _problems(type(cfg), _values(cfg)))
    return cfg


def _values(cfg) -> dict:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def resolve_device(device) -> torch.device:
    """The torch device for ``--device``, checked: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    device : str or torch.device

    Returns
    -------
    device : torch.device

    Raises
    ------
    voclab.errors.ConfigError
        Another name, or a device this machine does not have (a GPU on a CPU-only torch).
    """
    import torch

    text = str(device)
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", text):
        raise ConfigError(f"device (--device) must be 'cpu', 'cuda', 'cuda:N' (the N-th GPU) or 'mps' "
                          f"(got {text!r}).")
    device = torch.device(text)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {text} asks for a GPU but torch {torch.__version__} sees none (no GPU here, "
                              "or a CPU-only build of torch). Use --device cpu.")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(f"--device {text}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps needs Apple silicon and a torch built with MPS; use --device cpu.")
    return device


def build_config(module: ModuleType, model_name: str, fields: dict):
    """``module.Config(**fields)``, with a clear error for unknown or invalid fields (:func:`validate_config`).

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
    # types and ranges first: the Config's own checks would stumble on "two" for an integer
    _raise_problems(model_name, _problems(module.Config, fields))
    try:
        cfg = module.Config(**fields)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"Invalid config for {model_name!r}: {err}") from None
    _raise_problems(model_name, _problems(module.Config, _values(cfg)))  # as the Config left them
    return cfg


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
        if _type_hints(module.Config).get(top) is str and not isinstance(value, str):
            value = text.strip()  # --set resblock=2 means the string "2", not the JSON number
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
