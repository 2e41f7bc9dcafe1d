"""Checkpoints that survive a crash, load safely and carry their mel settings.

A checkpoint is one ``torch.save`` file, ``RUN_DIR/checkpoints/step_00001234.pt``, holding
only tensors and plain Python values, so ``torch.load(path, weights_only=True)`` reads it
without running any pickled code::

    {"format": "voclab-checkpoint/1", "voclab_version": "0.1.0",
     "model": "hifigan", "config": {...}, "mel": {...MelConfig.to_dict()...},
     "step": 1234, "epoch": 5, "epoch_step": 17,
     "modules": {"generator": state_dict, "discriminator": state_dict},
     "optimizers": {...}, "schedulers": {...},
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...], "numpy": {...}, "python": [...]},
     "rng_ranks": [...] (DDP only), "best_val": 0.41 or None,
     "train": {"seed": 0, "world_size": 1, "val_clips": [...], ...}}

Files are written atomically — to a temporary file in the same folder, flushed and
fsync'ed, then renamed over the target with ``os.replace`` — so killing the process at
any moment leaves the previous checkpoint intact and never a half-written ``step_*.pt``.
Saved weights never carry DDP's ``module.`` or ``torch.compile``'s ``_orig_mod.``
prefixes: :func:`unwrap` removes the wrappers first.

Notebook: 06_melgan, 07_hifigan, 08_shootout (``load_checkpoint`` gives a ready generator).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import build_config, resolve_model
from .errors import CheckpointError
from .spectral import MelConfig

__all__ = [
    "FORMAT",
    "Checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_atomic",
    "link_atomic",
    "resolve_checkpoint",
    "list_checkpoints",
    "prune_checkpoints",
    "unwrap",
    "rng_state",
    "set_rng_state",
]

FORMAT = "voclab-checkpoint/1"
CHECKPOINT_DIR = "checkpoints"
BEST = "best.pt"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: the mode open() would give a new file
_FILE_MODE = 0o666 & ~_umask()


# --------------------------------------------------------------------------- writing


def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` so that a crash or ``kill -9`` never leaves half a file there.

    The data go to a temporary file in the same folder (same file system, so the rename
    is atomic), are flushed and fsync'ed to disk, and the file is renamed over ``path``
    with :func:`os.replace`; the folder is fsync'ed too so the rename itself is durable.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    obj : any
        What to save (for checkpoints: tensors and plain Python values only).
    path : str or Path

    Returns
    -------
    path : Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the leading dot and the .tmp suffix keep it from ever matching step_*.pt
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; a checkpoint is an ordinary file (0644 by umask)
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself survive a power cut
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def link_atomic(source: str | Path, path: str | Path) -> Path:
    """Make ``path`` a second name of the checkpoint ``source`` (a copy where links are impossible).

    ``best.pt`` is usually the step checkpoint just written: a hard link costs no time
    and no disk, and deleting the step file later leaves ``best.pt`` intact. The new name
    appears atomically (link or copy to a temporary name, then :func:`os.replace`).

    Notebook: 07_hifigan.

    Parameters
    ----------
    source, path : str or Path

    Returns
    -------
    path : Path
    """
    source, path = Path(source), Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # file systems without hard links
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 24)
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """The ``step_*.pt`` files of a checkpoint folder as ``(step, path)``, oldest first.

    Temporary files of an interrupted save (``.step_*.pt.*.tmp``) never match.

    Notebook: 07_hifigan.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    checkpoints : list of (int, Path)
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _STEP_FILE.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(folder: str | Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` step checkpoints (``best.pt`` is never touched).

    Notebook: 07_hifigan.

    Parameters
    ----------
    folder : str or Path
    keep_last : int

    Returns
    -------
    removed : list of Path
    """
    steps = list_checkpoints(folder)
    removed = [path for _, path in steps[: max(len(steps) - max(keep_last, 1), 0)]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files a killed save left behind (they are never checkpoints)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.glob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


# --------------------------------------------------------------------------- wrappers and RNG


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers.

    Saving the unwrapped module keeps ``module.`` and ``_orig_mod.`` out of the state
    dict keys, so a checkpoint from 8 GPUs loads on a laptop.

    Notebook: 07_hifigan.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    module : torch.nn.Module
    """
    while True:
        if isinstance(module, torch.nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod") and isinstance(module._orig_mod, torch.nn.Module):
            module = module._orig_mod
        else:
            return module


def rng_state() -> dict:
    """Every random state training touches, as tensors and plain values (``weights_only``-safe).

    Notebook: 07_hifigan.

    Returns
    -------
    state : dict
        ``{"torch": ByteTensor, "cuda": [ByteTensor per device], "numpy": {...}, "python": [...]}``.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": [int(version), [int(v) for v in internal], gauss],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured.

    Notebook: 07_hifigan.

    Parameters
    ----------
    state : dict

    Returns
    -------
    None
    """
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32),
                         numpy_state["pos"], numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        saved = state["cuda"]
        if len(saved) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(saved)
        else:  # another number of GPUs: restore the ones we have
            for index in range(min(len(saved), torch.cuda.device_count())):
                torch.cuda.set_rng_state(saved[index], index)


# --------------------------------------------------------------------------- reading


def resolve_checkpoint(path: str | Path) -> Path:
    """Turn what a user typed into one checkpoint file.

    Accepts a checkpoint file; a run folder or its ``checkpoints/`` folder (the latest
    step); or ``.../latest`` and ``.../best`` inside either.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    path : Path
        An existing file.

    Raises
    ------
    voclab.errors.CheckpointError
        Nothing there, or a folder without checkpoints.
    """
    path = Path(path)
    if path.is_file():
        return path
    keyword = None
    if not path.exists() and path.name in ("latest", "best", "latest.pt"):
        keyword, path = ("best" if path.name == "best" else "latest"), path.parent
    if path.is_dir():
        folder = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
        if keyword == "best":
            if (folder / BEST).is_file():
                return folder / BEST
            raise CheckpointError(
                f"{folder} has no {BEST} yet (it is written after the first validation); use 'latest'."
            )
        steps = list_checkpoints(folder)
        if steps:
            return steps[-1][1]
        if (folder / BEST).is_file():
            return folder / BEST
        raise CheckpointError(
            f"No checkpoints in {str(folder)!r} (looked for step_*.pt and {BEST}). Has the run "
            "saved one yet? Checkpoints are written every --ckpt-every steps and at the end."
        )
    raise CheckpointError(f"No checkpoint at {str(path)!r}: pass a .pt file, a run folder, or RUN_DIR/latest.")


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict:
    """Load and check a checkpoint's contents with ``torch.load(weights_only=True)``.

    Notebook: 07_hifigan.

    Parameters
    ----------
    path : str or Path
        A checkpoint file (or anything :func:`resolve_checkpoint` accepts).
    map_location : str or torch.device

    Returns
    -------
    state : dict
        The checkpoint's contents (see the module docstring).

    Raises
    ------
    voclab.errors.CheckpointError
        Missing, truncated, damaged, not a voclab checkpoint, or a newer format.
    """
    path = resolve_checkpoint(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - every failure means "not a usable checkpoint"
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            reason = ("it contains pickled Python objects, which voclab checkpoints never do; voclab "
                      "does not unpickle untrusted code")
        else:
            reason = f"damaged or truncated ({first})"
        others = [p.name for _, p in list_checkpoints(path.parent) if p != path]
        hint = f" Other checkpoints in that folder: {', '.join(others[-3:])}." if others else ""
        raise CheckpointError(f"{path} is not a readable voclab checkpoint: {reason}.{hint}") from None
    if not isinstance(state, dict) or "format" not in state:
        if isinstance(state, dict) and "generator" in state and "format" not in state:
            raise CheckpointError(
                f"{path} looks like an official jik876/hifi-gan checkpoint (g_XXXXXXXX), not a voclab "
                "checkpoint; voclab loads only its own format (voclab-checkpoint/1)."
            )
        raise CheckpointError(f"{path} is not a voclab checkpoint (no 'format' entry).")
    if state["format"] != FORMAT:
        raise CheckpointError(
            f"{path} has format {state['format']!r}; this voclab reads {FORMAT!r}. Upgrade voclab "
            "(pip install -U voclab) or use a checkpoint written by this version."
        )
    missing = [k for k in ("model", "config", "mel", "step", "modules") if k not in state]
    if missing:
        raise CheckpointError(f"{path} is an incomplete voclab checkpoint: it lacks {missing}.")
    return state


@dataclass
class Checkpoint:
    """A loaded checkpoint: the generator ready for inference, and what it was trained with.

    Notebook: 06_melgan, 07_hifigan, 08_shootout.

    Attributes
    ----------
    model : str
        The model's name (``"hifigan"``, ``"melgan"``).
    cfg : dataclass
        The model's ``Config``.
    mel : MelConfig
        The mel settings the generator expects.
    generator : torch.nn.Module
        In eval mode, on the requested device.
    step, epoch : int
    best_val : float or None
        Lowest validation log-mel L1 of the run so far.
    path : Path
    module : ModuleType
        The model module (for ``validation_audio``).
    state : dict
        Everything in the file.
    """

    model: str
    cfg: Any
    mel: MelConfig
    generator: torch.nn.Module
    step: int
    epoch: int
    best_val: float | None
    path: Path
    module: Any = field(repr=False)
    voclab_version: str = ""
    state: dict = field(repr=False, default_factory=dict)

    def vocode(self, mel) -> np.ndarray:
        """Mel ``(n_mels, frames)`` or ``(B, n_mels, frames)`` → audio ``(samples,)`` or ``(B, samples)``."""
        device = next(self.generator.parameters()).device
        mel_tensor = torch.as_tensor(np.asarray(mel, dtype=np.float32), device=device)
        single = mel_tensor.ndim == 2
        with torch.inference_mode():
            audio = self.module.validation_audio(self.generator, mel_tensor[None] if single else mel_tensor)
        audio = audio.float().cpu().numpy()[:, 0]  # (B, samples)
        return audio[0] if single else audio


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint's generator for vocoding or a notebook.

    Notebook: 06_melgan, 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path
        A checkpoint file, a run folder (its latest checkpoint), or ``RUN_DIR/best``.
    device : str or torch.device

    Returns
    -------
    checkpoint : Checkpoint
        With the moving average of the generator's weights (``generator_ema``, WaveNet)
        when the checkpoint has one and the run is at least ``1 / (1 − ema_decay)`` steps
        old; otherwise with the trained weights themselves.

    Raises
    ------
    voclab.errors.CheckpointError
        Unreadable or foreign file, or weights that do not fit the model it names.

    Examples
    --------
    >>> ckpt = load_checkpoint("runs/hifigan_v1/best")         # doctest: +SKIP
    >>> audio = ckpt.vocode(mel)                                # doctest: +SKIP
    """
    path = resolve_checkpoint(path)
    state = read_checkpoint(path)
    module = resolve_model(state["model"])
    cfg = build_config(module, state["model"], dict(state["config"]))
    try:
        mel = MelConfig.from_dict(dict(state["mel"]))
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: its mel settings are invalid ({err}).") from None
    generator = module.build(cfg)["generator"]
    weights = "generator"
    decay = getattr(cfg, "ema_decay", 0.0)
    # A moving average of the weights (WaveNet) remembers about 1 / (1 − decay) steps: before that
    # many it still carries the random start, afterwards it is the better generator to listen to.
    if "generator_ema" in state.get("modules", {}) and decay > 0 and int(state["step"]) >= 1 / (1 - decay):
        weights = "generator_ema"
    try:
        generator.load_state_dict(state["modules"][weights])
    except (KeyError, RuntimeError) as err:
        raise CheckpointError(
            f"{path}: the saved generator does not fit {state['model']!r} with the saved config "
            f"({str(err).splitlines()[0][:200]}). Was the model file changed since it was trained?"
        ) from None
    generator.to(device).eval()
    return Checkpoint(
        model=state["model"], cfg=cfg, mel=mel, generator=generator, step=int(state["step"]),
        epoch=int(state.get("epoch", 0)), best_val=state.get("best_val"), path=path, module=module,
        voclab_version=str(state.get("voclab_version", "")), state=state,
    )
