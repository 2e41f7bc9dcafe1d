"""The shared training loop of every reference vocoder: plain PyTorch, readable top to bottom.

A model file (``voclab/models/hifigan.py``, ``melgan.py``) holds its paper: a config, the
networks, the losses and one ``train_step``. Everything the models share lives here:

1. **Configs** (:func:`load_config`): a JSON file shipped in ``voclab/configs/`` (by name)
   or anywhere (by path), plus ``--set key=value`` overrides, checked by the model's own
   ``Config`` dataclass.
2. **Data** (:mod:`voclab.datasets`): random segments of any folder of audio and their
   mels, made with the run's :class:`~voclab.spectral.MelConfig`; a few whole clips held out.
3. **The loop** (:func:`train`): ``train_step`` on each batch, schedulers stepped once per
   epoch, a one-line progress display, ``RUN_DIR/log.jsonl`` (and TensorBoard when it is
   installed), validation (log-mel L1 and audio samples) and atomic checkpoints
   (:mod:`voclab.checkpoint`) from which ``--resume`` continues bit for bit.
4. **GPUs**: bf16 autocast (``--bf16``), ``torch.compile`` (``--compile``, for CUDA) and
   DDP when started by ``torchrun`` (one process per GPU; the step counter counts
   optimizer steps, the same number on every rank).

Layout of a run folder::

    RUN_DIR/config.json                  the model config and the mel settings of the run
    RUN_DIR/log.jsonl                    one JSON object per line: train, val and event rows
    RUN_DIR/checkpoints/step_00001234.pt the last --keep-last ones, plus best.pt
    RUN_DIR/samples/reference/<clip>.wav the held-out clips as the model should make them
    RUN_DIR/samples/step_001234/<clip>.wav what the generator made from their mels
    RUN_DIR/tensorboard/                 scalars, audio and mel images (if TensorBoard imports)

Notebook: 06_melgan, 07_hifigan (notebooks call :func:`train`; a GPU uses ``voclab train``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import json
import math
import os
import random
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from . import __version__
from .audio import save
from .checkpoint import (
    BEST,
    CHECKPOINT_DIR,
    FORMAT,
    link_atomic,
    list_checkpoints,
    prune_checkpoints,
    read_checkpoint,
    remove_stale_temporaries,
    rng_state,
    save_atomic,
    set_rng_state,
    unwrap,
)
from .datasets import AudioSegments, clip_name, load_clip_for_validation, split_files
from .errors import CheckpointError, ConfigError, TrainingError, VoclabError
from .metrics import log_mel_l1
from .spectral import MelConfig, mel_spectrogram

__all__ = [
    "load_config",
    "config_names",
    "resolve_model",
    "build_config",
    "mel_config_of",
    "train",
    "RunSummary",
]

#: What :func:`train` needs from a model module (see :mod:`voclab.models`).
PROTOCOL = ("Config", "build", "make_optimizers", "train_step", "validation_audio")

#: Where the shipped configs live (installed with the package: pyproject's package-data).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


# ======================================================================================
# 1. Models and configs
# ======================================================================================


def resolve_model(name: str) -> ModuleType:
    """The model module for a name used on the command line.

    A name from :data:`voclab.models.MODELS` (``"hifigan"``, ``"melgan"``), or the dotted
    import path of your own module that implements the same protocol
    (``voclab train mypackage.myvocoder ...``).

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
        Unknown name, or a module that lacks part of the protocol.
    """
    from .models import MODELS, get_model

    if name not in MODELS and "." in name:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(
                f"No model {name!r}: it is not one of {', '.join(sorted(MODELS))} and importing it "
                f"failed ({err})."
            ) from None
    else:
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
        ``"hifigan"``, ``"melgan"`` or a module path (see :func:`resolve_model`).
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
    value = getattr(cfg, "mel", None)
    if isinstance(value, MelConfig):
        return value
    if isinstance(value, str):
        return MelConfig.preset(value)
    if isinstance(value, dict):
        return MelConfig.from_dict(dict(value))
    raise ConfigError(
        f"the config's mel must be a preset name, a MelConfig dict or a MelConfig, got {value!r}."
    )


def config_to_dict(cfg) -> dict:
    """The config as plain JSON types (lists, not tuples): for config.json and checkpoints."""
    values = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    return json.loads(json.dumps(values))


# ======================================================================================
# 2. Devices and DDP
# ======================================================================================


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we called init_process_group, so we destroy it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _setup_device(device: str | torch.device) -> tuple[_Dist, torch.device]:
    """The device, and DDP when torchrun set RANK/WORLD_SIZE/LOCAL_RANK."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {device} asks for a GPU but torch {torch.__version__} sees none "
            "(no GPU here, or a CPU-only build of torch). Use --device cpu."
        )
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device must be 'cpu' or 'cuda' (got {str(device)!r}).")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Dist(), device
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if device.type == "cuda":
        # one process per GPU: LOCAL_RANK picks this process's GPU
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
        owns = True
    return _Dist(rank=rank, world_size=world_size, local_rank=local_rank, owns_group=owns), device


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _to_cpu(value):
    """A copy of nested dicts/lists with every tensor on the CPU (a checkpoint must load anywhere)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


# ======================================================================================
# 3. Logging: progress line, log.jsonl, TensorBoard
# ======================================================================================


class _Progress:
    """One line redrawn in place (terminal or notebook); whole lines when output is a log file."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        stream_is_live = getattr(sys.stdout, "isatty", lambda: False)()
        self.live = enabled and (stream_is_live or "ipykernel" in sys.modules)
        self.width = 0

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        if self.live:
            sys.stdout.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A message on its own line, leaving the progress line below it."""
        if not self.enabled:
            return
        if self.live and self.width:
            sys.stdout.write("\r" + " " * self.width + "\r")
            self.width = 0
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        if self.enabled and self.live and self.width:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.width = 0


class _JsonlLog:
    """``RUN_DIR/log.jsonl``: one JSON object per line, flushed at once (a crash loses nothing)."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        self.dropped = 0
        if resume_step is not None and path.exists():
            self._truncate_after(resume_step)
        self.file = open(path, "a", encoding="utf-8")

    def _truncate_after(self, step: int) -> None:
        # rows written after the checkpoint describe training that the resumed run redoes
        kept, dropped = [], 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line cut short by a kill
                dropped += 1
                continue
            if row.get("type") in ("train", "val") and row.get("step", 0) > step:
                dropped += 1
                continue
            kept.append(line)
        if dropped:
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
            os.replace(tmp, self.path)
        self.dropped = dropped

    def write(self, row: dict) -> None:
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _tensorboard(log_dir: Path, purge_step: int | None):
    """A SummaryWriter, or None when TensorBoard is not installed (skipped silently)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.utils.tensorboard import SummaryWriter
        return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)
    except Exception:  # noqa: BLE001 - TensorBoard is optional
        return None


def _mel_image(log_mel: np.ndarray) -> np.ndarray:
    """(n_mels, frames) log-mel -> (n_mels, frames) image in [0, 1], low frequencies at the bottom."""
    lo, hi = float(log_mel.min()), float(log_mel.max())
    return ((log_mel - lo) / max(hi - lo, 1e-8))[::-1].copy()


# ======================================================================================
# 4. Validation
# ======================================================================================


def _validate(module, generator, clips, mel: MelConfig, device: torch.device, step: int,
              samples_dir: Path, writer) -> dict:
    """Vocode each held-out clip from its mel; log-mel L1 against the real clip; save the audio."""
    was_training = generator.training
    generator.eval()
    per_clip = {}
    # fork_rng: validation must not move the training random stream (resume exactness)
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        for name, reference, log_mel in clips:
            mel_tensor = torch.from_numpy(log_mel)[None].to(device)  # (1, n_mels, frames)
            made = module.validation_audio(generator, mel_tensor)  # (1, 1, frames * hop)
            made = made.float().reshape(-1).cpu().numpy()
            per_clip[name] = float(log_mel_l1(reference, made, mel))
            save(samples_dir / f"step_{step:06d}" / f"{name}.wav", np.clip(made, -1, 1), mel.sample_rate)
            if writer is not None:
                writer.add_audio(f"val/{name}", torch.from_numpy(np.clip(made, -1, 1))[None], step,
                                 sample_rate=mel.sample_rate)
                made_mel = mel_spectrogram(made, mel)
                writer.add_image(f"val_mel/{name}", _mel_image(made_mel), step, dataformats="HW")
    generator.train(was_training)
    return per_clip


# ======================================================================================
# 5. The loop
# ======================================================================================


@dataclass
class RunSummary:
    """What :func:`train` returns: where the run is, how it went, and the trained networks.

    Notebook: 06_melgan, 07_hifigan.

    Attributes
    ----------
    run_dir : Path
    step, epoch : int
        Global optimizer step and epoch reached.
    losses : dict
        Mean of each loss over the last logging window.
    val : float or None
        Last validation log-mel L1 (mean over the held-out clips).
    best_val : float or None
    checkpoint : Path or None
        The last checkpoint written.
    seconds : float
        Wall time of this call.
    steps_per_second : float
    modules : dict of str to nn.Module
        The trained networks, unwrapped (no DDP / compile), on the training device.
    """

    run_dir: Path
    step: int
    epoch: int
    losses: dict
    val: float | None
    best_val: float | None
    checkpoint: Path | None
    seconds: float
    steps_per_second: float
    modules: dict = field(repr=False, default_factory=dict)

    @property
    def generator(self) -> torch.nn.Module:
        """The trained generator (``modules["generator"]``)."""
        return self.modules["generator"]


def _check_resume_config(module, model_name, cfg, state: dict, path: Path):
    saved = build_config(module, model_name, dict(state["config"]))
    if cfg is None:
        return saved
    ours, theirs = config_to_dict(cfg), config_to_dict(saved)
    different = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if different:
        detail = ", ".join(f"{k}: run has {theirs.get(k)!r}, given {ours.get(k)!r}" for k in different)
        raise ConfigError(
            f"--resume continues {path.parent.parent} with its saved config, but the config given differs "
            f"({detail}). Drop --config/--set to use the saved one, or start a new run with another --out."
        )
    return cfg


def train(
    model_name: str,
    cfg,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    steps: int | None = None,
    device: str = "cpu",
    resume: bool = False,
    bf16: bool = False,
    compile: bool | str = False,
    log_every: int = 10,
    val_every: int = 1000,
    ckpt_every: int = 5000,
    keep_last: int = 3,
    seed: int | None = None,
    num_workers: int | None = None,
    val_clips: int = 2,
    normalize: bool = True,
    tensorboard: bool = True,
    progress: bool = True,
) -> RunSummary:
    """Train a reference vocoder on a folder of audio; resumable, DDP-aware.

    Runs ``model.train_step`` until the global optimizer step reaches ``steps``. Every
    ``log_every`` steps a row goes to ``RUN_DIR/log.jsonl`` (and TensorBoard); every
    ``val_every`` steps (and at the end) the held-out clips are vocoded from their mels,
    scored with log-mel L1 and written to ``RUN_DIR/samples/``; every ``ckpt_every``
    steps (and at the end, and after Ctrl-C) a checkpoint is written atomically.
    Schedulers step once per epoch (one pass over the training files).

    Launched by ``torchrun`` (``WORLD_SIZE`` > 1) it runs DDP: each process trains on
    ``cfg.batch_size // world_size`` segments per step (``batch_size`` stays the global
    batch, as in HiFi-GAN's official code), only rank 0 logs, validates and saves, and
    ``step`` counts optimizer steps — the same number on every rank. The run folder must
    be shared by the processes (one machine).

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    model_name : str
        ``"hifigan"``, ``"melgan"`` or a module path (:func:`resolve_model`).
    cfg : the model's Config or None
        From :func:`load_config`. ``None``: the model's defaults, or the saved config when
        resuming. A resumed run refuses a config that differs from its saved one.
    data_dir : str or Path
        A folder of audio (searched recursively), or one made by ``voclab prepare``
        (its ``train.txt``/``val.txt`` split is used).
    out_dir : str or Path
        The run folder (created). It must not hold checkpoints unless ``resume``.
    steps : int, optional
        Train until the global step reaches this number (a total, not "this many more").
        ``None`` when resuming: the target of the original run.
    device : {"cpu", "cuda"}
    resume : bool
        Continue from the latest checkpoint in ``out_dir`` (a new run if there is none):
        same step, weights, optimizer and scheduler states, random states and data order.
    bf16 : bool
        Run the forward passes under ``torch.autocast(dtype=torch.bfloat16)`` (GPU speed-up).
    compile : bool or str
        ``torch.compile`` the networks (meant for CUDA; on CPU it needs a C compiler and
        compiles for minutes). A string picks a backend (``"eager"``, for tests).
    log_every, val_every, ckpt_every : int
        Intervals in steps.
    keep_last : int
        Step checkpoints kept (``best.pt`` is kept as well).
    seed : int, optional
        Seeds the initial weights, the data order and the crops; default: the config's
        ``seed`` field when it has one (HiFi-GAN's 1234), else 0.
    num_workers : int, optional
        DataLoader worker processes; default 0 on the CPU (the cores train), up to 4 per
        GPU (loading and mels in parallel with the GPU). The crops do not depend on it.
    val_clips : int
        Whole clips held out for validation (ignored for a ``voclab prepare`` folder).
    normalize : bool
        Peak-normalise each file to 0.95 (HiFi-GAN's data loading).
    tensorboard : bool
        Also write TensorBoard events (when it imports).
    progress : bool
        Show the progress line.

    Returns
    -------
    summary : RunSummary

    Raises
    ------
    voclab.errors.ConfigError, voclab.errors.DataError, voclab.errors.CheckpointError,
    voclab.errors.TrainingError

    Examples
    --------
    >>> cfg = load_config("hifigan", "hifigan_v2", ["batch_size=4"])         # doctest: +SKIP
    >>> run = train("hifigan", cfg, "data/speech", "runs/v2", steps=200)     # doctest: +SKIP
    >>> run.generator                                                        # doctest: +SKIP
    """
    module = resolve_model(model_name)
    dist_info, device = _setup_device(device)
    try:
        return _train(module, model_name, cfg, Path(data_dir), Path(out_dir), dist_info, device,
                      steps=steps, resume=resume, bf16=bf16, compile=compile, log_every=log_every,
                      val_every=val_every, ckpt_every=ckpt_every, keep_last=keep_last, seed=seed,
                      num_workers=num_workers, val_clips=val_clips, normalize=normalize,
                      tensorboard=tensorboard, progress=progress)
    finally:
        if dist_info.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(module, model_name, cfg, data_dir: Path, out_dir: Path, dist_info: _Dist, device: torch.device, *,
           steps, resume, bf16, compile, log_every, val_every, ckpt_every, keep_last, seed, num_workers,
           val_clips, normalize, tensorboard, progress) -> RunSummary:
    started = time.perf_counter()
    is_main = dist_info.is_main
    ckpt_dir = out_dir / CHECKPOINT_DIR
    for name, value in (("log_every", log_every), ("val_every", val_every), ("ckpt_every", ckpt_every)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1 step (got {value}).")

    # ---- where do we start? a new run, or the latest checkpoint
    state = None
    existing = list_checkpoints(ckpt_dir)
    if resume and existing:
        state = read_checkpoint(existing[-1][1])
        if state["model"] != model_name:
            raise CheckpointError(
                f"{existing[-1][1]} is a {state['model']!r} run; resume it with `voclab train {state['model']}`."
            )
        cfg = _check_resume_config(module, model_name, cfg, state, existing[-1][1])
    elif existing:
        raise TrainingError(
            f"{out_dir} already holds checkpoints up to step {existing[-1][0]}. Pass --resume "
            "(resume=True) to continue that run, or choose another --out; nothing was overwritten."
        )
    if cfg is None:
        cfg = module.Config()
    mel = mel_config_of(cfg)
    if state is not None:
        MelConfig.from_dict(dict(state["mel"])).require_match(mel, what="the resumed run's config")
    train_info = dict(state.get("train", {})) if state is not None else {}
    if steps is None:
        steps = train_info.get("steps")
        if steps is None:
            raise ConfigError("Pass steps (--steps N): the global step to train until.")
    if state is not None and "seed" in train_info:  # a resumed run keeps its seed (its data order)
        if seed is not None and seed != train_info["seed"]:
            warnings.warn(f"resuming with the run's seed {train_info['seed']} (not {seed}).", stacklevel=2)
        seed = int(train_info["seed"])
    elif seed is None:
        seed = int(getattr(cfg, "seed", 0) or 0)
    if state is not None:
        if train_info.get("world_size", dist_info.world_size) != dist_info.world_size:
            warnings.warn(
                f"the run was trained with {train_info['world_size']} process(es), now {dist_info.world_size}: "
                "training goes on, but the data order is not the one the run would have seen.", stacklevel=2)
    for needed in ("batch_size", "segment_size"):
        if not hasattr(cfg, needed):
            raise ConfigError(f"{model_name}'s Config has no {needed!r} field, which voclab.train needs.")
    if cfg.batch_size % dist_info.world_size:
        raise ConfigError(
            f"batch_size={cfg.batch_size} is the global batch and must divide evenly over "
            f"{dist_info.world_size} processes; use a multiple of {dist_info.world_size}."
        )
    local_batch = cfg.batch_size // dist_info.world_size
    if num_workers is None:
        num_workers = 0 if device.type == "cpu" else max(1, min(4, (os.cpu_count() or 2) // dist_info.world_size - 1))

    # ---- data: random segments for training, whole clips for validation
    train_files, val_files = split_files(data_dir, val_clips)
    dataset = AudioSegments(train_files, mel, cfg.segment_size, normalize=normalize, seed=seed,
                            gain_range=getattr(cfg, "random_gain", None), min_items=cfg.batch_size)
    if state is not None and train_info.get("train_files", len(dataset.files)) != len(dataset.files):
        warnings.warn(
            f"the run trained on {train_info['train_files']} files, the data folder now gives "
            f"{len(dataset.files)}: training goes on, but the data order is not the one the run would have seen.",
            stacklevel=2)
    sampler = torch.utils.data.DistributedSampler(
        dataset, num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=True, seed=seed, drop_last=True)
    steps_per_epoch = len(sampler) // local_batch
    clips = []
    if is_main:
        for path in val_files:
            try:
                reference, log_mel = load_clip_for_validation(path, mel, normalize=normalize)
            except VoclabError as err:  # a bad validation clip costs a warning, not the run
                warnings.warn(f"skipping validation clip {path.name}: {err}", stacklevel=3)
                continue
            clips.append((clip_name(path, data_dir), reference, log_mel))

    # ---- networks, optimizers, schedulers (and their saved states)
    # every rank seeds differently for its own random stream; DDP copies rank 0's weights
    _seed_everything(seed + dist_info.rank)
    raw = module.build(cfg)
    for net in raw.values():
        net.to(device)
    optimizers, schedulers = module.make_optimizers(raw, cfg)
    step = epoch = epoch_step = 0
    best_val = None
    if state is not None:
        if set(state["modules"]) != set(raw):
            raise CheckpointError(f"the checkpoint holds networks {sorted(state['modules'])}, the model builds {sorted(raw)}.")
        for name, net in raw.items():
            net.load_state_dict(state["modules"][name])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        step, epoch, epoch_step = int(state["step"]), int(state["epoch"]), int(state.get("epoch_step", 0))
        best_val = state.get("best_val")
        ranks = state.get("rng_ranks")
        if ranks is not None and len(ranks) == dist_info.world_size:
            set_rng_state(ranks[dist_info.rank])
        elif dist_info.rank == 0:
            set_rng_state(state["rng"])
        if epoch_step >= steps_per_epoch:  # the training files changed since the checkpoint
            epoch, epoch_step = epoch + 1, 0

    # ---- wrappers: DDP first, then torch.compile around it (DDPOptimizer splits the graph at buckets)
    nets = dict(raw)
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        for name, net in raw.items():
            if any(p.requires_grad for p in net.parameters()):
                nets[name] = DDP(net, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        if device.type != "cuda" and is_main:
            warnings.warn("--compile is meant for CUDA; on CPU it needs a C compiler and is slow to start.",
                          stacklevel=2)
        backend = compile if isinstance(compile, str) else "inductor"
        nets = {name: torch.compile(net, backend=backend) for name, net in nets.items()}
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed segment sizes: let cuDNN pick the fastest kernels
    if bf16:
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("this GPU has no bfloat16 support; drop --bf16.")

        def autocast():
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext

    # ---- logging (rank 0 only)
    display = _Progress(progress and is_main)
    log = writer = None
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        stale = remove_stale_temporaries(ckpt_dir)
        if stale:
            display.note(f"removed {len(stale)} temporary file(s) of an interrupted save: {', '.join(p.name for p in stale)}")
        (out_dir / "config.json").write_text(json.dumps(
            {"model": model_name, **config_to_dict(cfg), "_mel_settings": mel.to_dict()}, indent=2) + "\n",
            encoding="utf-8")
        # rows after the starting step belong to training that is redone (or to a run that never saved)
        log = _JsonlLog(out_dir / "log.jsonl", resume_step=step)
        writer = _tensorboard(out_dir / "tensorboard", purge_step=step + 1 if state is not None else None) \
            if tensorboard else None
        for name, reference, _ in clips:
            target = out_dir / "samples" / "reference" / f"{name}.wav"
            if not target.exists():
                save(target, reference, mel.sample_rate)
        log.write({"type": "event", "event": "resume" if state is not None else "start", "step": step,
                   "time": time.time(), "model": model_name, "device": str(device),
                   "world_size": dist_info.world_size, "bf16": bf16, "compile": bool(compile),
                   "train_files": len(dataset.files), "val_clips": [c[0] for c in clips],
                   "steps_per_epoch": steps_per_epoch, "target_steps": steps,
                   **({"discarded_log_rows": log.dropped} if log.dropped else {})})
        if resume and state is None:
            display.note(f"--resume: no checkpoint in {ckpt_dir} yet, so this is a new run")
        what = f"resuming {out_dir} at step {step}" if state is not None else f"training {model_name} in {out_dir}"
        display.note(f"{what}: {len(dataset.files)} training files, {len(clips)} validation clips, "
                     f"batch {cfg.batch_size} on {dist_info.world_size} x {device}, {steps_per_epoch} steps/epoch")

    def checkpoint_state(rank_rngs: list | None) -> dict:
        content = {
            "format": FORMAT,
            "voclab_version": __version__,
            "model": model_name,
            "config": config_to_dict(cfg),
            "mel": mel.to_dict(),
            "step": step,
            "epoch": epoch,
            "epoch_step": epoch_step,
            "modules": {name: unwrap(net).state_dict() for name, net in raw.items()},
            "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
            "schedulers": {name: sch.state_dict() for name, sch in schedulers.items()},
            "rng": rng_state(),
            "best_val": best_val,
            "train": {"seed": seed, "world_size": dist_info.world_size, "batch_size": cfg.batch_size,
                      "steps": steps, "train_files": len(dataset.files), "normalize": normalize,
                      "val_clips": [c[0] for c in clips]},
        }
        if rank_rngs is not None:  # DDP: every rank's random state, so each continues its own stream
            content["rng_ranks"] = rank_rngs
        return _to_cpu(content)

    def save_step_checkpoint() -> Path | None:
        # every rank takes part in gathering the random states; rank 0 writes
        rank_rngs = None
        if dist_info.enabled:
            import torch.distributed as dist

            gathered = [None] * dist_info.world_size
            dist.all_gather_object(gathered, _to_cpu(rng_state()))
            rank_rngs = gathered
        if not is_main:
            return None
        path = save_atomic(checkpoint_state(rank_rngs), ckpt_dir / f"step_{step:08d}.pt")
        prune_checkpoints(ckpt_dir, keep_last)
        log.write({"type": "event", "event": "checkpoint", "step": step, "time": time.time(), "path": str(path)})
        return path

    # ---- Ctrl-C (single process): finish the step, save, stop; a second Ctrl-C stops at once
    stop = {"requested": False}
    previous_handler = None
    if not dist_info.enabled and threading.current_thread() is threading.main_thread():
        def on_interrupt(signum, frame):
            if stop["requested"]:
                raise KeyboardInterrupt
            stop["requested"] = True

        previous_handler = signal.signal(signal.SIGINT, on_interrupt)

    last_checkpoint = existing[-1][1] if state is not None else None
    last_val = None
    window: dict[str, float] = {}
    window_steps, window_start = 0, time.perf_counter()
    mean_losses: dict[str, float] = {}
    rate = 0.0
    start_step = step
    outcome = "done"
    try:
        if step >= steps and is_main:
            display.note(f"{out_dir} is already at step {step} (target {steps}): nothing to do.")
        while step < steps and not stop["requested"]:
            # one epoch: the sampler's order for this epoch, minus the batches a resumed run already did
            sampler.set_epoch(epoch)
            dataset.set_epoch(epoch)
            order = list(sampler)[epoch_step * local_batch:]
            loader = torch.utils.data.DataLoader(
                dataset, batch_size=local_batch, sampler=order, drop_last=True, num_workers=num_workers,
                pin_memory=device.type == "cuda", persistent_workers=False,
                # its own generator: creating a loader must not draw from the training random stream
                generator=torch.Generator().manual_seed(seed * 100_003 + epoch),
            )
            for batch in loader:
                batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
                losses = module.train_step(nets, optimizers, batch, cfg, autocast=autocast)
                step += 1
                epoch_step += 1
                losses = {key: float(value) for key, value in losses.items()}
                bad = [key for key, value in losses.items() if not math.isfinite(value)]
                if bad:
                    where = f" The last good checkpoint is {last_checkpoint}." if last_checkpoint else ""
                    raise TrainingError(
                        f"{', '.join(bad)} became {losses[bad[0]]} at step {step}: training diverged.{where} "
                        "Try a lower learning rate, or drop --bf16."
                    )
                for key, value in losses.items():
                    window[key] = window.get(key, 0.0) + value
                window_steps += 1
                if epoch_step == steps_per_epoch:  # the epoch is over: schedulers step once per epoch
                    epoch, epoch_step = epoch + 1, 0
                    for scheduler in schedulers.values():
                        scheduler.step()
                finishing = step >= steps or stop["requested"]

                if is_main and (step % log_every == 0 or finishing):
                    elapsed = time.perf_counter() - window_start
                    rate = window_steps / max(elapsed, 1e-9)
                    mean_losses = {key: total / window_steps for key, total in window.items()}
                    lrs = {name: opt.param_groups[0]["lr"] for name, opt in optimizers.items()}
                    log.write({"type": "train", "step": step, "time": time.time(), "epoch": epoch,
                               "losses": mean_losses, "lr": lrs, "steps_per_s": rate})
                    if writer is not None:
                        for key, value in mean_losses.items():
                            writer.add_scalar(f"train/{key}", value, step)
                        for name, value in lrs.items():
                            writer.add_scalar(f"lr/{name}", value, step)
                        writer.add_scalar("train/steps_per_s", rate, step)
                    shown = " ".join(f"{key} {value:.4g}" for key, value in mean_losses.items())
                    best = f" | val {best_val:.4f} (best)" if best_val is not None else ""
                    display.update(f"step {step}/{steps} | epoch {epoch} | {shown} | {rate:.2f} steps/s{best}")
                    window, window_steps, window_start = {}, 0, time.perf_counter()

                improved = False
                if is_main and clips and (step % val_every == 0 or finishing):
                    per_clip = _validate(module, unwrap(nets["generator"]), clips, mel, device, step,
                                         out_dir / "samples", writer)
                    last_val = float(np.mean(list(per_clip.values())))
                    improved = best_val is None or last_val < best_val
                    if improved:
                        best_val = last_val
                    log.write({"type": "val", "step": step, "time": time.time(), "log_mel_l1": last_val,
                               "clips": per_clip, "best": improved})
                    if writer is not None:
                        writer.add_scalar("val/log_mel_l1", last_val, step)
                    display.note(f"step {step}: validation log-mel L1 {last_val:.4f}"
                                 + (" (best so far)" if improved else f" (best {best_val:.4f})"))

                saved = None
                if step % ckpt_every == 0 or finishing:
                    saved = save_step_checkpoint()
                    last_checkpoint = saved or last_checkpoint
                if improved:  # best.pt: the same contents as a step file (a link to it when there is one)
                    if saved is not None:
                        link_atomic(saved, ckpt_dir / BEST)
                    else:
                        save_atomic(checkpoint_state(None), ckpt_dir / BEST)
                if finishing:
                    break
        if stop["requested"]:
            outcome = "interrupted"
            if is_main:
                display.note(f"interrupted: stopped after step {step}; continue with --resume.")
    except BaseException as err:
        outcome = f"{type(err).__name__}: {err}"
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        display.close()
        if writer is not None:
            writer.close()
        if log is not None:
            seconds = time.perf_counter() - started
            log.write({"type": "event", "event": "end", "step": step, "time": time.time(), "seconds": seconds,
                       "outcome": outcome})
            log.close()
    if dist_info.enabled:
        import torch.distributed as dist

        dist.barrier()  # no rank leaves (and tears the group down) while rank 0 still writes
    seconds = time.perf_counter() - started
    done = step - start_step
    return RunSummary(
        run_dir=out_dir, step=step, epoch=epoch, losses=mean_losses, val=last_val, best_val=best_val,
        checkpoint=last_checkpoint, seconds=seconds,
        steps_per_second=done / seconds if seconds > 0 else 0.0,
        modules={name: unwrap(net) for name, net in nets.items()},
    )
