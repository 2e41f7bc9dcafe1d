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

An unconditional model (WaveGAN: ``KIND = "unconditional"`` in its module) has no mel: its
``"mel"`` entry is ``None`` and its config carries the sample rate, the slice length and the
latent distribution; :meth:`Checkpoint.generate` samples it, and :meth:`Checkpoint.vocode`
refuses it (and the other way round), naming the command to use instead. A pitched model
(GANSynth: ``KIND = "pitched"``) is the same, plus a ``"specgram"`` entry: the resolved
:class:`~voclab.specgram.SpecgramConfig` of its pictures, with which they are turned into
audio (a later change of the preset named in its config cannot change what it plays), and
:meth:`Checkpoint.generate` takes a ``pitch``.

Notebook: 04_wavegan, 05_gansynth, 06_melgan, 07_hifigan, 08_shootout (``load_checkpoint`` gives a ready generator).
"""

from __future__ import annotations

import dataclasses
import errno
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

from ._torchfile import load_tensors
from .config import build_config, resolve_model
from .errors import CheckpointError, ConfigError, ShapeError
from .models import model_kind
from .spectral import MelConfig

__all__ = [
    "FORMAT",
    "Checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "slim_checkpoint",
    "read_official",
    "import_official",
    "official_layout",
    "tensor_bytes",
    "CHUNK_FRAMES",
    "save_atomic",
    "link_atomic",
    "resolve_checkpoint",
    "list_checkpoints",
    "prune_checkpoints",
    "unwrap",
    "rng_state",
    "set_rng_state",
    "latents_from_seeds",
    "inference_weights",
]

FORMAT = "voclab-checkpoint/1"
CHECKPOINT_DIR = "checkpoints"
BEST = "best.pt"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")
#: mel frames the generator is given at once by :meth:`Checkpoint.vocode` (11.9 s at 22.05 kHz, hop 256)
CHUNK_FRAMES = 1024


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
    except BaseException as err:
        written = _size_or_zero(tmp)
        Path(tmp).unlink(missing_ok=True)
        if _disk_full(err):  # torch re-raises a full disk as "unexpected pos": one clear line instead
            raise CheckpointError(_disk_full_message(obj, path, written)) from None
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself survive a power cut
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def _size_or_zero(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _disk_full(err: BaseException | None) -> bool:
    """Whether ``err`` or an error it was raised while handling is "no space left" (or over quota)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        err = err.__cause__ or err.__context__
    return False


def tensor_bytes(obj: Any) -> int:
    """Bytes of the tensors in ``obj`` (nested dicts, lists, tuples), each storage counted once.

    About the size ``torch.save`` writes: the file adds a few kB of structure.

    Notebook: 07_hifigan.

    Parameters
    ----------
    obj : any

    Returns
    -------
    nbytes : int
    """
    storages: dict[tuple, int] = {}
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            storages[(item.device.type, storage.data_ptr())] = storage.nbytes()
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return sum(storages.values())


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _disk_full_message(obj: Any, path: Path, written: int) -> str:
    needed = max(tensor_bytes(obj), written)
    try:
        free = f"{_megabytes(shutil.disk_usage(path.parent).free)} are free"
    except OSError:
        free = "the free space could not be read"
    kept = "the previous file there is unchanged" if path.exists() else "nothing was written there"
    return (f"No space left on the disk while saving {path}: it needs about {_megabytes(needed)} (its tensors; "
            f"{_megabytes(written)} were written before the disk filled) and {free} in {path.parent}. The partial "
            f"file was removed and {kept}. Free some space (delete old checkpoints or runs; "
            "`voclab train --keep-last` keeps fewer, `voclab slim` makes a generator-only copy to share) "
            "and try again.")


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


def latents_from_seeds(module, cfg, seeds, *, device: str | torch.device = "cpu") -> torch.Tensor:
    """One latent per seed, from an unconditional model's own distribution (``module.sample_latents``).

    Latent ``i`` depends on ``seeds[i]`` alone (a CPU generator seeded with it), so one clip can be
    made again without the others: the previews of a run (seeds 0, 1, …) are what
    ``voclab generate CKPT --seed 0`` writes, on any device.

    Notebook: 04_wavegan.

    Parameters
    ----------
    module : ModuleType
        An unconditional model module (with ``sample_latents``).
    cfg : its Config
    seeds : iterable of int
    device : str or torch.device

    Returns
    -------
    z : torch.Tensor [shape=(len(seeds), latent_dim)]
    """
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ConfigError("latents_from_seeds needs at least one seed.")
    z = [module.sample_latents(cfg, 1, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
    return torch.cat(z).to(device)  # (n, latent_dim)


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


def read_checkpoint(path: str | Path, map_location: Any = "cpu", *, generator_only: bool = False,
                    mmap: bool = False) -> dict:
    """Load and check a checkpoint's contents with ``torch.load(weights_only=True)``.

    By default the whole training state is required (``--resume`` reads checkpoints this
    way), so a generator-only checkpoint written by :func:`slim_checkpoint` is refused with
    a message that says so.

    Notebook: 07_hifigan.

    Parameters
    ----------
    path : str or Path
        A checkpoint file (or anything :func:`resolve_checkpoint` accepts).
    map_location : str or torch.device
    generator_only : bool
        The caller needs the generator only (vocoding): accept a slim checkpoint too.
    mmap : bool
        Map the file into memory: tensors are read from disk only when used, so vocoding
        from a full checkpoint never reads its discriminators and optimizer states.

    Returns
    -------
    state : dict
        The checkpoint's contents (see the module docstring).

    Raises
    ------
    voclab.errors.CheckpointError
        Missing, empty, truncated, damaged, not a PyTorch file, an official HiFi-GAN file,
        not a voclab checkpoint, a newer format, or (without ``generator_only``) a slim one.
    """
    path = resolve_checkpoint(path)
    others = [p.name for _, p in list_checkpoints(path.parent) if p != path]
    hint = f"Other checkpoints in that folder: {', '.join(others[-3:])}." if others else ""
    state = load_tensors(path, what="voclab checkpoint", advice=hint, mmap=mmap, map_location=map_location)
    if not isinstance(state, dict) or "format" not in state:
        if isinstance(state, dict) and "generator" in state:
            raise CheckpointError(
                f"{path} looks like an official jik876/hifi-gan generator checkpoint (g_XXXXXXXX), not a voclab "
                "checkpoint: vocode with it directly (voclab vocode reads its config.json beside it), convert it with "
                "`voclab import g_XXXXXXXX --config config.json -o OUT.pt`, or train on from it with "
                "`voclab train hifigan --init-official g_XXXXXXXX [do_XXXXXXXX]`."
            )
        if isinstance(state, dict) and {"mpd", "msd"} <= set(state):
            raise CheckpointError(
                f"{path} looks like an official jik876/hifi-gan discriminator checkpoint (do_XXXXXXXX), which "
                "holds no generator; vocode with its g_XXXXXXXX file and "
                "voclab.models.hifigan.load_official_generator, or train on from both with "
                "`voclab train hifigan --init-official g_XXXXXXXX do_XXXXXXXX`."
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
    if not generator_only and state.get("slim"):
        raise CheckpointError(
            f"{path} is a generator-only checkpoint (written by `voclab slim`): it has no discriminator, "
            "optimizer or random state, so training cannot continue from it. Resume from the full checkpoint "
            "it was slimmed from; this one is for `voclab vocode` and voclab.checkpoint.load_checkpoint."
        )
    return state


def check_chunk_frames(chunk_frames) -> None:
    """Refuse a ``chunk_frames`` that is not a positive whole number of frames or ``None``."""
    if chunk_frames is not None and (isinstance(chunk_frames, bool) or not isinstance(chunk_frames, (int, np.integer))
                                     or chunk_frames < 1):
        raise ConfigError(f"chunk_frames must be a positive number of mel frames (or None: no chunks), "
                          f"got {chunk_frames!r}.")


@dataclass
class Checkpoint:
    """A loaded checkpoint: the generator ready for inference, and what it was trained with.

    Notebook: 06_melgan, 07_hifigan, 08_shootout.

    Attributes
    ----------
    model : str
        The model's name (``"hifigan"``, ``"melgan"``, ``"wavegan"``).
    cfg : dataclass
        The model's ``Config``.
    mel : MelConfig or None
        The mel settings the generator expects; ``None`` for an unconditional model.
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
    mel: MelConfig | None
    generator: torch.nn.Module
    step: int
    epoch: int
    best_val: float | None
    path: Path
    module: Any = field(repr=False)
    voclab_version: str = ""
    state: dict = field(repr=False, default_factory=dict)

    @property
    def kind(self) -> str:
        """``"vocoder"`` (mel → audio: :meth:`vocode`), ``"unconditional"`` (latents → audio: :meth:`generate`)
        or ``"pitched"`` (latents and a pitch → a note: :meth:`generate`)."""
        return model_kind(self.module)

    @property
    def pitch_range(self) -> tuple[int, int] | None:
        """``(pitch_min, pitch_max)``: the MIDI pitches a pitched model can be asked for; ``None`` for another kind."""
        if self.kind != "pitched":
            return None
        return int(self.cfg.pitch_min), int(self.cfg.pitch_max)

    def _check_generate(self, n, seed, pitch) -> None:
        """Refuse what :meth:`generate` cannot do, before any work."""
        if self.kind == "vocoder":
            raise CheckpointError(
                f"{self.path} is a {self.model} vocoder: it turns mel spectrograms into audio and cannot make audio "
                f"from nothing. Vocode with it instead: voclab vocode {self.path} RECORDING.wav -o OUT_DIR "
                "(in Python: load_checkpoint(path).vocode(mel))."
            )
        if pitch is not None and self.kind == "unconditional":
            raise ConfigError(f"{self.path} is an unconditional {self.model}: it makes audio from random latents "
                              "alone and takes no pitch; drop --pitch (pitch-conditional models take it).")
        if pitch is not None:
            low, high = self.pitch_range
            if isinstance(pitch, bool) or not isinstance(pitch, (int, np.integer)) or not low <= pitch <= high:
                raise ConfigError(f"--pitch {pitch!r} is outside the MIDI range {low}-{high} this {self.model} was "
                                  f"built for (pitch_min-pitch_max of its config): pick a pitch in {low}-{high}.")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n (-n) is the number of clips to make: a whole number of at least 1 (got {n!r}).")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed (--seed) must be a whole number >= 0 (got {seed!r}).")

    def pitches(self, n: int = 1, *, seed: int = 0, pitch: int | None = None) -> np.ndarray:
        """The MIDI pitch of each note :meth:`generate` makes with the same arguments (a pitched model).

        With ``pitch`` every note has it; without, each seed's latent draws its pitch from the
        training pitch histogram the generator carries (``module.latent_pitches``).

        Notebook: 05_gansynth.

        Parameters
        ----------
        n : int
        seed : int
        pitch : int, optional

        Returns
        -------
        pitches : np.ndarray [shape=(n,), dtype=int64]

        Raises
        ------
        voclab.errors.CheckpointError
            Not a pitched model.
        voclab.errors.ConfigError
            As :meth:`generate`.
        """
        if self.kind != "pitched":
            raise CheckpointError(f"{self.path} is a{'n' if self.kind == 'unconditional' else ''} {self.kind} "
                                  f"{self.model}: its clips have no pitch.")
        self._check_generate(n, seed, pitch)
        if pitch is not None:
            return np.full(int(n), int(pitch), dtype=np.int64)
        z = latents_from_seeds(self.module, self.cfg, range(seed, seed + n))
        return self.module.latent_pitches(self.generator, z).cpu().numpy().astype(np.int64)

    @property
    def sample_rate(self) -> int:
        """The rate of the audio the generator makes (the mel's, or an unconditional model's config's)."""
        return int(self.mel.sample_rate) if self.mel is not None else int(self.cfg.sample_rate)

    def generate(self, n: int = 1, *, seed: int = 0, pitch: int | None = None) -> np.ndarray:
        """Sample an unconditional or pitched model: the audio of the seeds ``seed, seed + 1, …, seed + n − 1``.

        Each clip's latent comes from its own seed (:func:`latents_from_seeds`): the same seed
        gives the same clip, alone or in a batch, and a run's previews are seeds 0, 1, … (a
        pitched run's preview ``i`` is seed ``i`` at the pitch in its file name). A pitched
        model plays every note at ``pitch``, or, without one, at the pitch each seed draws
        from the training histogram (:meth:`pitches`).

        Notebook: 04_wavegan, 05_gansynth.

        Parameters
        ----------
        n : int
            Clips.
        seed : int
            Seed of the first clip.
        pitch : int, optional
            A MIDI pitch, for pitched models (within :attr:`pitch_range`); an unconditional one refuses it.

        Returns
        -------
        audio : np.ndarray [shape=(n, samples), dtype=float32]

        Raises
        ------
        voclab.errors.CheckpointError
            A vocoder checkpoint (use :meth:`vocode`).
        voclab.errors.ConfigError
            ``n`` < 1, a negative seed, a pitch for an unconditional model, or a pitch outside
            a pitched model's range (the message names it).
        """
        self._check_generate(n, seed, pitch)
        device = next(self.generator.parameters()).device
        pitched = {} if self.kind == "unconditional" else {"pitch": None if pitch is None else int(pitch)}
        out = []
        for start in range(seed, seed + n, 64):
            z = latents_from_seeds(self.module, self.cfg, range(start, min(start + 64, seed + n)), device=device)
            with torch.inference_mode():
                out.append(self.module.validation_audio(self.generator, z, **pitched).float().cpu().numpy()[:, 0])
        return np.concatenate(out)

    @property
    def context_frames(self) -> int | None:
        """Mel frames on each side of a frame that can change its audio (the generator's reach),
        from the model's ``receptive_field_frames(cfg)``; ``None`` for a model without one
        (WaveNet generates sample by sample: it is always vocoded whole)."""
        reach = getattr(self.module, "receptive_field_frames", None)
        return int(reach(self.cfg)) if callable(reach) else None

    def _generate(self, mel: np.ndarray) -> np.ndarray:
        """``(B, n_mels, frames)`` → ``(B, samples)`` in one pass of the generator."""
        device = next(self.generator.parameters()).device
        with torch.inference_mode():
            audio = self.module.validation_audio(self.generator, torch.as_tensor(mel, device=device))
        return audio.float().cpu().numpy()[:, 0]

    def vocode(self, mel, *, chunk_frames: int | None = CHUNK_FRAMES) -> np.ndarray:
        """Mel ``(n_mels, frames)`` or ``(B, n_mels, frames)`` → audio ``(samples,)`` or ``(B, samples)``.

        The generator's memory grows with the length of the mel (a HiFi-GAN V1 in one pass over
        60 s of audio: 1.56 GB peak RSS on a CPU, 1.06 GB of it for the generation), so a mel
        longer than ``chunk_frames`` is vocoded in chunks of ``chunk_frames`` frames, each with
        :attr:`context_frames` more frames on either side (the generator's reach: 13 for V1),
        of which only the centre's audio is kept (60 s in chunks of 1024: 0.77 GB peak RSS).
        The centre sees exactly the frames it sees in one pass, so the result equals the
        one-pass audio up to float rounding: max |difference| ≤ 6e-8, measured with random
        V1 and V3 generators (16 and 32 channels, and a full-size V1) on three shipped speech
        clips in chunks of 16, 64 and 100 frames; the tests allow 1e-5. Models without a
        :attr:`context_frames` (MelGAN, WaveNet) are vocoded whole.

        Notebook: 07_hifigan, 08_shootout.

        Parameters
        ----------
        mel : array_like [shape=(n_mels, frames) or (B, n_mels, frames)]
        chunk_frames : int or None
            Frames per chunk (default 1024: 11.9 s at 22.05 kHz with hop 256); ``None``
            vocodes the whole mel in one pass.

        Returns
        -------
        audio : np.ndarray [shape=(samples,) or (B, samples), dtype=float32]
        """
        if self.kind != "vocoder":
            what = ("an unconditional" if self.kind == "unconditional" else "a pitch-conditional (pitched)")
            made = "random latents" if self.kind == "unconditional" else "random latents and a pitch"
            raise CheckpointError(
                f"{self.path} is {what} {self.model}: it makes audio from {made}, not from mel "
                f"spectrograms, so it cannot vocode. Sample it instead: voclab generate {self.path} -n 16 -o OUT_DIR "
                "(in Python: load_checkpoint(path).generate(16))."
            )
        mel = np.asarray(mel, dtype=np.float32)
        single = mel.ndim == 2
        batch = mel[None] if single else mel
        frames, context = batch.shape[-1], self.context_frames
        check_chunk_frames(chunk_frames)
        if chunk_frames is None or context is None or frames <= chunk_frames:
            audio = self._generate(batch)
        else:
            chunk_frames, hop = int(chunk_frames), self.mel.hop_length
            audio = np.empty((batch.shape[0], frames * hop), dtype=np.float32)
            for start in range(0, frames, chunk_frames):
                stop = min(start + chunk_frames, frames)
                lo, hi = max(0, start - context), min(frames, stop + context)
                piece = self._generate(np.ascontiguousarray(batch[..., lo:hi]))
                if piece.shape[-1] != (hi - lo) * hop:
                    raise ShapeError(f"{self.model}'s generator gave {piece.shape[-1]} samples for {hi - lo} frames, "
                                     f"not frames × hop = {(hi - lo) * hop}: vocode it with chunk_frames=None.")
                audio[:, start * hop:stop * hop] = piece[:, (start - lo) * hop:(stop - lo) * hop]
        return audio[0] if single else audio


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint's generator for vocoding or a notebook.

    Notebook: 04_wavegan, 06_melgan, 07_hifigan, 08_shootout.

    Parameters
    ----------
    path : str or Path
        A checkpoint file, a run folder (its latest checkpoint), ``RUN_DIR/best``,
        ``pretrained:NAME``: a published generator (see :mod:`voclab.pretrained`), or an
        official file, converted by :func:`read_official`: a HiFi-GAN ``g_XXXXXXXX`` with its
        ``config.json`` beside it, or a MelGAN ``netG.pt``.
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
    voclab.errors.ConfigError, voclab.errors.DataError
        ``pretrained:NAME``: an unknown name, its package not installed, or a damaged file.

    Examples
    --------
    >>> ckpt = load_checkpoint("runs/hifigan_v1/best")         # doctest: +SKIP
    >>> audio = ckpt.vocode(mel)                                # doctest: +SKIP
    >>> ckpt = load_checkpoint("pretrained:hifigan-v1-universal")  # doctest: +SKIP
    """
    if isinstance(path, str) and path.startswith("pretrained:"):
        from .pretrained import PREFIX
        from .pretrained import load_checkpoint as load_pretrained

        return load_pretrained(path[len(PREFIX):], device)
    path = resolve_checkpoint(path)
    # mmap: only the generator's tensors are read from disk, not the discriminators and optimizer
    # states that make up most of a training checkpoint
    try:
        state = read_checkpoint(path, generator_only=True, mmap=True)
    except CheckpointError as not_voclab:
        # an official HiFi-GAN g_ or MelGAN netG.pt is converted on the fly; anything else keeps its error
        try:
            content = load_tensors(path, what="checkpoint", mmap=True)
        except CheckpointError:
            content = None
        if official_layout(content) is None:
            raise not_voclab
        state = read_official(path, content=content)
    module = resolve_model(state["model"])
    cfg = build_config(module, state["model"], dict(state["config"]))
    cfg = _with_saved_specgram(cfg, state, path)
    mel = None  # an unconditional model has none
    if model_kind(module) == "vocoder" or state["mel"] is not None:
        try:
            mel = MelConfig.from_dict(dict(state["mel"]))
        except Exception as err:  # noqa: BLE001
            raise CheckpointError(f"{path}: its mel settings are invalid ({err}).") from None
    # a model's build_generator skips building (and initialising) discriminators we would throw away
    build_generator = getattr(module, "build_generator", None)
    generator = build_generator(cfg) if callable(build_generator) else module.build(cfg)["generator"]
    weights = _inference_weights(state, cfg)
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


def _with_saved_specgram(cfg: Any, state: dict, path: Path) -> Any:
    """A pitched model's config with the picture settings its checkpoint saved (not today's preset of that name)."""
    saved = state.get("specgram")
    if saved is None or not hasattr(cfg, "specgram"):
        return cfg
    from .specgram import SpecgramConfig

    try:
        settings = SpecgramConfig.from_dict(dict(saved))
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: its specgram settings are invalid ({err}).") from None
    return dataclasses.replace(cfg, specgram=settings.to_dict())


def inference_weights(modules, cfg: Any, step: int) -> str:
    """Which generator weights to listen to at ``step``: ``"generator"`` or ``"generator_ema"``.

    A moving average of the weights (WaveNet, GANSynth) remembers about ``1 / (1 − ema_decay)``
    steps: before that many it still carries the random start, afterwards it is the better
    generator. :func:`load_checkpoint`, :func:`slim_checkpoint` and the training loop's
    validation all choose with this rule, so ``best.pt`` is chosen by the weights that
    ``voclab generate`` and ``voclab vocode`` load from it.

    Notebook: 05_gansynth, 07_hifigan.

    Parameters
    ----------
    modules : collection of str
        The names of the networks (a checkpoint's ``"modules"`` or the loop's dict).
    cfg : the model's Config
        Its ``ema_decay`` (0 or none: no average).
    step : int
        Optimizer steps trained.

    Returns
    -------
    name : str

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> inference_weights({"generator": 0, "generator_ema": 0}, SimpleNamespace(ema_decay=0.999), 1001)
    'generator_ema'
    >>> inference_weights({"generator": 0, "generator_ema": 0}, SimpleNamespace(ema_decay=0.999), 999)
    'generator'
    """
    decay = getattr(cfg, "ema_decay", 0.0) or 0.0
    if "generator_ema" in modules and decay > 0 and int(step) >= 1 / (1 - decay):
        return "generator_ema"
    return "generator"


def _inference_weights(state: dict, cfg: Any) -> str:
    """Which of the checkpoint's generator weights to vocode with: ``"generator"`` or ``"generator_ema"``."""
    return inference_weights(state.get("modules", {}), cfg, int(state["step"]))


def slim_checkpoint(source: str | Path, destination: str | Path) -> Path:
    """Write a generator-only copy of a checkpoint, for vocoding and sharing: ``voclab slim``.

    A training checkpoint carries the discriminators and both Adam states (two moments
    per weight): a HiFi-GAN V1 checkpoint is about 1 GB, and one with a tiny generator
    still 850 MB, of which the generator is a few MB. The slim file keeps what
    :func:`load_checkpoint` and ``voclab vocode`` need — model name, config, mel settings,
    step, voclab version and the generator weights they would use (the moving average
    when :func:`load_checkpoint` would pick it) — and is marked ``"slim"``, so
    ``voclab train --resume`` refuses it with a clear message instead of failing later.
    It is written atomically (:func:`save_atomic`); ``source`` is read with ``mmap``, so the
    rest of it is never read.

    Notebook: 07_hifigan.

    Parameters
    ----------
    source : str or Path
        A checkpoint file, a run folder (its latest checkpoint), or ``RUN_DIR/best``.
    destination : str or Path
        The new file (an existing file is replaced; ``source`` itself works too).

    Returns
    -------
    path : Path
        ``destination``.

    Raises
    ------
    voclab.errors.CheckpointError
        ``source`` is not a readable voclab checkpoint, or has no generator weights.
    voclab.errors.ConfigError
        ``destination`` is a folder.

    Examples
    --------
    >>> slim_checkpoint("runs/hifigan/best", "hifigan_lj.pt")   # doctest: +SKIP
    """
    source, destination = resolve_checkpoint(source), Path(destination)
    if destination.is_dir():
        raise ConfigError(f"{destination} is a folder: pass the new file's name, e.g. {destination / source.name}.")
    state = read_checkpoint(source, generator_only=True, mmap=True)
    cfg = build_config(resolve_model(state["model"]), state["model"], dict(state["config"]))
    weights = _inference_weights(state, cfg)
    if weights not in state["modules"]:
        raise CheckpointError(f"{source} has no generator weights (its networks: {sorted(state['modules'])}).")
    slim = {key: state[key] for key in ("format", "voclab_version", "model", "config", "mel", "specgram", "step",
                                         "epoch", "best_val") if key in state}
    slim["modules"] = {"generator": state["modules"][weights]}
    slim["slim"] = {"from": source.name, "weights": weights}
    return save_atomic(slim, destination)


# --------------------------------------------------------------------------- official files


def official_layout(content: Any) -> str | None:
    """Which official implementation wrote a loaded file, told by its keys.

    ``{'generator': state_dict}``: a jik876/hifi-gan ``g_XXXXXXXX`` (``"hifigan"``); a bare
    state dict of ``model.N.…`` tensors with a weight-normed first conv ``model.1.weight_v``:
    a descriptinc/melgan-neurips ``netG.pt`` (``"melgan"``); anything else (a voclab
    checkpoint too): ``None``.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    content : Any
        What ``torch.load`` gave.

    Returns
    -------
    layout : {"hifigan", "melgan"} or None

    Examples
    --------
    >>> official_layout({"generator": {"conv_pre.weight_v": torch.zeros(1)}})
    'hifigan'
    >>> official_layout({"format": FORMAT}) is None
    True
    """
    if not isinstance(content, dict) or "format" in content:
        return None
    generator = content.get("generator")
    if isinstance(generator, dict) and generator and all(isinstance(v, torch.Tensor) for v in generator.values()):
        return "hifigan"
    keys = {str(key).removeprefix("module.") for key in content}
    if ("model.1.weight_v" in keys and all(k.startswith("model.") for k in keys)
            and all(isinstance(v, torch.Tensor) for v in content.values())):
        return "melgan"
    return None


def read_official(path: str | Path, *, config: str | Path | None = None, content: Any = None) -> dict:
    """An official generator file as a generator-only voclab checkpoint (what :func:`slim_checkpoint` writes).

    Two layouts are told apart by their keys (:func:`official_layout`):

    - a jik876/hifi-gan ``g_XXXXXXXX`` (``{'generator': state_dict}``) with the run's
      ``config.json`` (``config``, else the ``config.json`` beside the file), loaded by
      :func:`voclab.models.hifigan.load_official_generator`; its mel settings are the config's;
      the step is the file name's counter + 1 (the official file after ``step`` updates);
    - a descriptinc/melgan-neurips ``netG.pt`` (the bare generator state dict), loaded by
      :func:`voclab.models.melgan.load_official_generator`; the file carries no mel settings,
      so voclab's ``"melgan"`` :class:`MelConfig` — the official ``Audio2Mel``'s — is attached,
      which ``state["imported"]["note"]`` says; the step is unknown (0).

    The weights keep their weight norm (a voclab checkpoint's generator is built with it; the
    vocoding code folds it away). ``state["imported"]`` records the source file and layout.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    path : str or Path
        The official file.
    config : str or Path, optional
        HiFi-GAN only: its ``config.json`` (default: ``config.json`` in the file's folder).
    content : Any, optional
        The file's contents when already loaded (read with ``torch.load(weights_only=True)``).

    Returns
    -------
    state : dict
        A voclab checkpoint (format :data:`FORMAT`, marked ``"slim"``): save it with
        :func:`save_atomic`, or use :func:`import_official`.

    Raises
    ------
    voclab.errors.CheckpointError
        The file is unreadable or of neither official layout, its weights do not fit, or a
        HiFi-GAN file has no ``config`` and no ``config.json`` beside it (the message says
        where to put one).
    voclab.errors.ConfigError
        A HiFi-GAN ``config`` that is missing or does not fit the weights; ``config`` given
        for a MelGAN file.
    """
    from . import __version__
    from .models import hifigan, melgan

    path = Path(path)
    if content is None:
        if not path.is_file():
            raise CheckpointError(f"No file at {path}: pass an official HiFi-GAN g_XXXXXXXX or MelGAN netG.pt.")
        content = load_tensors(path, what="official generator file", mmap=True)
    layout = official_layout(content)
    if layout is None:
        raise CheckpointError(
            f"{path} is neither an official HiFi-GAN generator (g_XXXXXXXX: {{'generator': state_dict}}) nor an "
            "official MelGAN one (netG.pt: a state dict of model.N.weight_g / weight_v); a voclab checkpoint "
            "needs no import: vocode with it directly.")
    if layout == "hifigan":
        if config is None and not (path.parent / "config.json").is_file():
            raise CheckpointError(
                f"{path} is an official HiFi-GAN generator, which comes with the config.json of its run, and there is "
                f"none at {path.parent / 'config.json'}: put the run's config.json beside it, or convert it with "
                f"`voclab import {path} --config CONFIG.json -o OUT.pt` (jik876/hifi-gan publishes config_v1.json, "
                "config_v2.json and config_v3.json); in Python: voclab.models.hifigan.load_official_generator(path, "
                "'config.json'); to train on from it: `voclab train hifigan --init-official g_XXXXXXXX [do_XXXXXXXX]`.")
        config = Path(config) if config is not None else path.parent / "config.json"
        generator, cfg, mel = hifigan.load_official_generator(content, config)
        match = re.fullmatch(r"g_(\d+)", path.name)
        step, note = (int(match.group(1)) + 1 if match else 0), ""
        source = {"config": str(config)}
    else:
        if config is not None:
            raise ConfigError(f"{path} is an official MelGAN generator: it takes no --config (its architecture is read "
                              "from its weights, its mel settings are voclab's 'melgan' preset).")
        generator = melgan.load_official_generator(content, remove_weight_norm=False)
        cfg = melgan.config_from_official(content)
        mel, step, source = cfg.mel_config, 0, {}
        note = (f"{path.name} carries no mel settings: voclab's 'melgan' MelConfig is attached, the official "
                f"Audio2Mel's ({mel.sample_rate} Hz, n_fft {mel.n_fft}, hop {mel.hop_length}, {mel.n_mels} mels, "
                f"{mel.fmin:g}-{mel.fmax:g} Hz, {mel.log} with floor {mel.log_floor:g}); mels made otherwise will "
                "sound wrong.")
    return {
        "format": FORMAT, "voclab_version": __version__, "model": layout, "config": cfg.to_dict(),
        "mel": mel.to_dict(), "step": step, "epoch": 0, "best_val": None,
        "modules": {"generator": generator.state_dict()},
        "slim": {"from": path.name, "weights": "generator"},
        "imported": {"from": path.name, "layout": f"official {layout}", "note": note, **source},
    }


def import_official(source: str | Path, destination: str | Path, *, config: str | Path | None = None) -> Path:
    """Convert an official HiFi-GAN ``g_XXXXXXXX`` or MelGAN ``netG.pt`` into a voclab checkpoint: ``voclab import``.

    The result is what :func:`slim_checkpoint` writes (generator only, with its config and
    :class:`MelConfig`; see :func:`read_official`), written atomically; ``voclab vocode`` and
    :func:`load_checkpoint` read it like any voclab checkpoint.

    Notebook: 06_melgan, 07_hifigan.

    Parameters
    ----------
    source : str or Path
        The official file.
    destination : str or Path
        The voclab checkpoint to write (an existing file is replaced).
    config : str or Path, optional
        HiFi-GAN only: the run's ``config.json`` (default: the one beside ``source``).

    Returns
    -------
    path : Path
        ``destination``.

    Raises
    ------
    voclab.errors.CheckpointError, voclab.errors.ConfigError
        As :func:`read_official`; or ``destination`` is a folder.

    Examples
    --------
    >>> import_official("LJ_V1/g_02500000", "hifigan_lj.pt")       # doctest: +SKIP
    >>> import_official("logs/netG.pt", "melgan.pt")                # doctest: +SKIP
    """
    destination = Path(destination)
    if destination.is_dir():
        raise ConfigError(f"{destination} is a folder: pass the new file's name, e.g. {destination / 'imported.pt'}.")
    return save_atomic(read_official(source, config=config), destination)


# --------------------------------------------------------------------------- a notebook's generator


def save_generator(generator: torch.nn.Module, model: str, cfg: Any, path: str | Path, *, step: int,
                   example_mel=None, note: str = "") -> Path:
    """Save a generator trained in a notebook as a generator-only voclab checkpoint.

    Notebooks 06 and 07 train their generators in a plain loop, from the learner's own
    classes; saved this way (in ``runs/NAME/checkpoints/best.pt``) they join the shoot-out of
    notebook 08 (:func:`voclab.shootout.find_runs`) and ``voclab vocode`` like any run of
    ``voclab train``. The weights go into voclab's generator of ``cfg`` — by name when the
    learner's modules have voclab's names, else layer by layer in the order ``forward`` uses
    them (:func:`voclab.checks.load_weights_by_use`, on ``example_mel``) — and the two must
    then give the same audio from ``example_mel``, so a file that would vocode differently is
    never written. Written atomically, in the format :func:`slim_checkpoint` writes.

    Notebook: 06_melgan, 07_hifigan (read back in 08_shootout).

    Parameters
    ----------
    generator : torch.nn.Module
        The trained generator (weight norm kept or folded, as voclab's of ``cfg``).
    model : str
        ``"hifigan"``, ``"melgan"`` or ``"wavenet"``.
    cfg : the model's Config
        The architecture and the mel settings the generator was trained with.
    path : str or Path
        The file to write (its folders are made).
    step : int
        Optimizer steps behind it: the shoot-out labels it with them.
    example_mel : array_like [shape=(1, n_mels, frames)], optional
        A log mel to check the copy on (and to pair layers by use). Without it the learner's
        state-dict keys must be voclab's.
    note : str
        Where it comes from, kept in the file.

    Returns
    -------
    path : Path

    Raises
    ------
    voclab.errors.CheckpointError
        The generator does not fit voclab's of ``cfg`` (another architecture, other sizes), or
        the copy vocodes ``example_mel`` differently.

    Examples
    --------
    >>> save_generator(G_small, "hifigan", SMALL, "runs/nb07/checkpoints/best.pt", step=1000,
    ...                example_mel=val_mel)                        # doctest: +SKIP
    """
    from . import __version__
    from .checks import load_weights_by_use

    module = resolve_model(model)
    cfg = build_config(module, model, cfg.to_dict()) if dataclasses.is_dataclass(cfg) else cfg
    build_generator = getattr(module, "build_generator", None)
    voclab_generator = build_generator(cfg) if build_generator else module.build(cfg)["generator"]
    generator = generator.cpu().eval()
    try:
        voclab_generator.load_state_dict(generator.state_dict())
    except RuntimeError:
        if example_mel is None:
            raise CheckpointError(f"save_generator: the generator's weights do not have the names of voclab's "
                                  f"{model} generator; pass example_mel= so they can be paired by use.") from None
        load_weights_by_use(voclab_generator, generator, torch.as_tensor(example_mel).float())
    if example_mel is not None:
        mel = torch.as_tensor(example_mel).float()
        with torch.no_grad():
            mine, copy = generator(mel), voclab_generator.eval()(mel)
        if mine.shape != copy.shape or not torch.allclose(mine, copy, atol=1e-4):
            raise CheckpointError(f"save_generator: voclab's {model} generator of this config does not vocode like "
                                  "the one given (another architecture or size?); check cfg.")
    state = {"format": FORMAT, "voclab_version": __version__, "model": model, "config": cfg.to_dict(),
             "mel": cfg.mel_config.to_dict(), "step": int(step), "epoch": 0, "best_val": None,
             "modules": {"generator": voclab_generator.state_dict()},
             "slim": {"from": "a notebook", "weights": "generator"}, "note": note}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_atomic(state, path)
