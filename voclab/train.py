"""The shared training loop of every reference model: plain PyTorch, readable top to bottom.

A model file (``voclab/models/hifigan.py``, ``melgan.py``, ``wavenet.py``, ``wavegan.py``) holds
its paper: a config, the networks, the losses and one ``train_step``. Its config comes from
:mod:`voclab.config`, its data from :mod:`voclab.datasets`. :func:`train` does the rest, in
the order a reader meets it below:

1. **Set-up** — a new run, a resumed one (the latest checkpoint in the run folder; before the
   first one, its ``config.json``), a fine-tune that starts from a trained generator
   (``init``: ``pretrained:NAME`` or a voclab checkpoint), or one that continues an official
   HiFi-GAN run (``init_official``); the data (random segments of any folder of audio, with
   mels made with the run's :class:`~voclab.spectral.MelConfig` or given by an acoustic
   model, ``mels_dir``); the networks, optimizers and schedulers.
2. **The step** — ``train_step`` on each batch; every scheduler steps once per optimizer
   step, so the learning rate depends on the step alone, never on the size of the folder.
3. **Logging** — a one-line progress display, ``RUN_DIR/log.jsonl`` (and TensorBoard when
   it is installed).
4. **Validation** — the held-out clips vocoded from their mels, scored with log-mel L1 (on
   the model's validation mel: HiFi-GAN's full-band loss mel) and saved as audio.

A vocoder learns mel → audio; an *unconditional* model (WaveGAN) learns latent → audio; a
*pitched* one (GANSynth) latent and pitch → a note. The model module says which (its ``KIND``,
:func:`voclab.models.model_kind`), and the few places where they differ — the data (segments
with mels, slices of short clips, or labelled notes as spectrogram pictures), what is held
out, and validation (log-mel L1 of vocoded clips; previews from fixed latents and the NDB
of the generated distribution; for notes also their pitch accuracy) — sit in three small
classes, ``_VocoderData``, ``_UnconditionalData`` and ``_PitchedData``, chosen once.
Validation listens to the weights ``voclab generate`` and ``voclab vocode`` would load: the
moving average of the generator (``generator_ema``) once the run is ``1 / (1 − ema_decay)``
steps old (:func:`voclab.checkpoint.inference_weights`). A model that takes several real batches per step (WaveGAN's
five critic updates) says so with ``batches_per_step(cfg)``, and the loader stacks them. The
step counter counts ``train_step`` calls (WaveGAN: generator updates, as the official code's).
5. **Checkpoints** — written atomically (:mod:`voclab.checkpoint`); ``--resume`` continues
   bit for bit, Ctrl-C finishes the step and saves.

On GPUs: bf16 autocast (``--bf16``; the models keep their last layer and losses in float32),
``torch.compile`` (``--compile``) and DDP when started by ``torchrun`` (one process per GPU;
the step counter counts optimizer steps, the same number on every rank).

Layout of a run folder::

    RUN_DIR/config.json                  the model config, mel settings and plan (written before the data is read)
    RUN_DIR/.lock                        locked while a trainer runs; names it (pid, host, start)
    RUN_DIR/log.jsonl                    one JSON object per line: train, val and event rows
    RUN_DIR/checkpoints/step_00001234.pt the last --keep-last ones, plus best.pt
    RUN_DIR/samples/reference/<clip>.wav the held-out clips as the model should make them
    RUN_DIR/samples/step_001234/<clip>.wav what the generator made from their mels
    RUN_DIR/samples/step_001234/seed_0000.wav  (unconditional) the audio of the fixed latent of seed 0, ...
    RUN_DIR/samples/reference/real_00.wav      (unconditional) training slices to compare with
    RUN_DIR/samples/step_001234/seed_0000_pitch_060.wav  (pitched) seed 0 asked for MIDI 60, ...
    RUN_DIR/samples/reference/real_00_pitch_060.wav      (pitched) training notes to compare with
    RUN_DIR/tensorboard/                 scalars, audio and mel images (if TensorBoard imports)

One trainer at a time per run folder: :func:`train` locks ``RUN_DIR/.lock`` for the whole run
(rank 0 under DDP) and refuses a folder another process is training in, naming it.

Notebook: 04_wavegan, 05_gansynth, 06_melgan, 07_hifigan (notebooks call :func:`train`; a GPU uses ``voclab train``).
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

try:
    import fcntl
except ImportError:  # Windows: msvcrt locks the run folder instead
    fcntl = None

from . import __version__, pretrained
from .audio import save
from .checkpoint import (
    BEST,
    CHECKPOINT_DIR,
    FORMAT,
    inference_weights,
    latents_from_seeds,
    link_atomic,
    list_checkpoints,
    prune_checkpoints,
    read_checkpoint,
    remove_stale_temporaries,
    resolve_checkpoint,
    rng_state,
    save_atomic,
    set_rng_state,
    unwrap,
)
from .config import (
    build_config,
    config_to_dict,
    load_config,
    mel_config_of,
    resolve_device,
    resolve_model,
    validate_config,
)
from .datasets import (
    AudioSegments,
    AudioSlices,
    LabelledNotes,
    clip_name,
    load_clip_for_validation,
    note_pitches,
    pair_mels,
    split_files,
)
from .errors import CheckpointError, ConfigError, DataError, TrainingError, VoclabError
from .files import write_atomic
from .metrics import log_mel_l1
from .models import model_kind
from .specgram import SpecgramConfig
from .spectral import MelConfig, mel_spectrogram

__all__ = ["train", "RunSummary"]

#: How the loop steps schedulers, recorded in every checkpoint (earlier ones stepped per epoch).
SCHEDULE = "per_optimizer_step"


# ======================================================================================
# Devices and DDP
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
    device = resolve_device(device)
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
# One trainer per run folder
# ======================================================================================

#: The lock file of a run folder; it names the process that holds the lock.
LOCK = ".lock"
_WINDOWS_LOCK_BYTE = 1 << 20  # msvcrt locks a byte range: one past the holder's note, so that stays readable


def _lock_fd(fd: int) -> None:
    """Lock an open file for this process, without waiting: BlockingIOError when another holds it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    import msvcrt  # Windows

    os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        raise BlockingIOError from None


def _unlock_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            import msvcrt

            os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class _RunLock:
    """An exclusive lock on ``RUN_DIR/.lock`` for the whole run: two trainers on one folder would
    overwrite each other's checkpoints and both report success.

    The operating system holds the lock (``flock``; ``msvcrt.locking`` on Windows) and drops it
    when the process ends in any way, ``kill -9`` included: a lock file left behind never
    blocks, so there is no stale lock to clean up. The file only says who holds the lock.
    """

    def __init__(self, fd: int | None = None):
        self.fd = fd

    @classmethod
    def take(cls, out_dir: Path) -> _RunLock:
        path = out_dir / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ConfigError(f"--out {out_dir}: cannot write there ({err.strerror or err}). Choose a folder you "
                              "can write to.") from None
        try:
            _lock_fd(fd)
        except BlockingIOError:
            holder, pid = cls._holder(fd)
            os.close(fd)
            raise TrainingError(
                f"{out_dir} is in use by another trainer ({holder}); a second one would overwrite its checkpoints. "
                f"Wait for it to finish, stop it (Ctrl-C, or kill -INT {pid}: it saves a checkpoint first), or "
                "choose another --out."
            ) from None
        except OSError as err:  # a file system without locks (some network mounts)
            warnings.warn(f"cannot lock {path} ({err}): nothing stops a second trainer on this run folder.",
                          stacklevel=4)
        note = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(note) + "\n").encode("utf-8"))
        return cls(fd)

    @staticmethod
    def _holder(fd: int) -> tuple[str, str]:
        """Who holds the lock, from the note in the lock file, and its pid."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            note = json.loads(os.read(fd, 65536).decode("utf-8"))
            return f"pid {note['pid']} on {note['host']}, since {note['since']}", str(note["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that has not written its name yet", "PID"

    def release(self) -> None:
        if self.fd is None:
            return
        # the file stays: removing it would let a trainer that opened it a moment ago lock a file nobody sees
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        _unlock_fd(self.fd)
        os.close(self.fd)
        self.fd = None


def _lock_run_folder(out_dir: Path, dist_info: _Dist) -> _RunLock:
    """Rank 0 locks the run folder; under DDP every rank learns whether it could, and all stop together."""
    lock, refusal = _RunLock(), None
    if dist_info.is_main:
        try:
            lock = _RunLock.take(out_dir)
        except (ConfigError, TrainingError) as err:
            refusal = err
    if dist_info.enabled:
        import torch.distributed as dist

        shared = [None if refusal is None else (type(refusal).__name__, str(refusal))]
        dist.broadcast_object_list(shared, src=0)
        if shared[0] is not None and refusal is None:
            kind, message = shared[0]
            refusal = (ConfigError if kind == "ConfigError" else TrainingError)(message)
    if refusal is not None:
        raise refusal
    return lock


# ======================================================================================
# Logging: progress line, log.jsonl, TensorBoard
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
# Validation
# ======================================================================================


def _validate(module, generator, clips, score_mel: MelConfig, device: torch.device, step: int,
              samples_dir: Path, writer) -> dict:
    """Vocode each held-out clip from its mel; log-mel L1 (with ``score_mel``) against the real clip; save it."""
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
            per_clip[name] = float(log_mel_l1(reference, made, score_mel))
            save(samples_dir / f"step_{step:06d}" / f"{name}.wav", np.clip(made, -1, 1), score_mel.sample_rate)
            if writer is not None:
                writer.add_audio(f"val/{name}", torch.from_numpy(np.clip(made, -1, 1))[None], step,
                                 sample_rate=score_mel.sample_rate)
                writer.add_image(f"val_mel/{name}", _mel_image(mel_spectrogram(made, score_mel)), step,
                                 dataformats="HW")
    generator.train(was_training)
    return per_clip


def _fork_rng(device: torch.device):
    """Validation must not move the training random stream (resume exactness)."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    return torch.random.fork_rng(devices=devices)


# ======================================================================================
# What a model learns from, and how it is judged: a vocoder, or an unconditional model
# ======================================================================================
#
# The loop below is the same for every model; the few places where a vocoder (mel -> audio)
# and an unconditional model (latent -> audio, WaveGAN) differ live in these two classes, chosen
# once by the model module's KIND (voclab.models.model_kind), never by the model's name.


class _VocoderData:
    """A vocoder: random segments with their mels; validation vocodes whole held-out clips (log-mel L1)."""

    length_field = "segment_size"
    metric = "log_mel_l1"

    def __init__(self, module, cfg):
        self.module, self.cfg = module, cfg
        self.mel = mel_config_of(cfg)
        self.score_mel = module.validation_mel_config(cfg) if hasattr(module, "validation_mel_config") else self.mel
        self.sample_rate = self.mel.sample_rate
        self.clips: list = []

    def check_resumed(self, state: dict) -> None:
        MelConfig.from_dict(dict(state["mel"])).require_match(self.mel, what="the resumed run's config")

    def saved_settings(self) -> dict:
        return {}  # the mel is saved as "mel" already

    def prepare_networks(self, raw: dict, state: dict | None) -> None:
        pass

    def split(self, data_dir: Path, val_clips: int):
        return split_files(data_dir, val_clips)

    def dataset(self, train_files, plan: _Plan, min_items: int):
        return AudioSegments(train_files, self.mel, self.cfg.segment_size, normalize=plan.normalize, seed=plan.seed,
                             gain_range=getattr(self.cfg, "random_gain", None), min_items=min_items,
                             mels_dir=plan.mels_dir)

    def held_out(self, dataset, val_files, plan: _Plan, data_dir: Path) -> list[str]:
        """Load the validation clips (rank 0); their names."""
        val_mels = pair_mels(val_files, plan.mels_dir, self.mel) if plan.mels_dir is not None and val_files else None
        self.clips = _held_out_clips(val_files, val_mels, self.mel, plan.normalize, data_dir)
        return [c[0] for c in self.clips]

    def describe_held_out(self) -> str:
        return f"{len(self.clips)} validation clips"

    def start_fields(self) -> dict:
        return {"val_clips": [c[0] for c in self.clips], "validation_mel": self.score_mel.to_dict()}

    def write_references(self, samples_dir: Path) -> None:
        for name, reference, _ in self.clips:
            target = samples_dir / "reference" / f"{name}.wav"
            if not target.exists():
                save(target, reference, self.sample_rate)

    def validate(self, generator, device, step: int, samples_dir: Path, writer) -> tuple[float | None, dict]:
        if not self.clips:
            return None, {}
        per_clip = _validate(self.module, generator, self.clips, self.score_mel, device, step, samples_dir, writer)
        score = float(np.mean(list(per_clip.values())))
        if writer is not None:
            writer.add_scalar("val/log_mel_l1", score, step)
        return score, {"log_mel_l1": score, "clips": per_clip}

    @staticmethod
    def format(score: float) -> str:
        return f"log-mel L1 {score:.4f}"


class _UnconditionalData:
    """An unconditional model: fixed-length slices of the clips; validation generates from fixed
    latents (previews to listen to) and compares the distribution with the training clips' (NDB)."""

    length_field = "slice_len"
    metric = "ndb"

    def __init__(self, module, cfg):
        for needed in ("sample_rate", "preview_n", "ndb_samples", "ndb_bins"):
            if not hasattr(cfg, needed):
                raise ConfigError(f"{module.__name__} is an unconditional model (KIND), so its Config needs a "
                                  f"{needed!r} field, which voclab.train uses.")
        if not hasattr(module, "sample_latents"):
            raise ConfigError(f"{module.__name__} is an unconditional model (KIND) but has no sample_latents(cfg, n, "
                              "generator=...) (see the protocol in voclab.models).")
        self.module, self.cfg = module, cfg
        self.mel = None
        self.sample_rate = int(cfg.sample_rate)
        self.real = np.zeros((0, 0), np.float32)
        self.k = 0

    def check_resumed(self, state: dict) -> None:
        pass  # no mel settings to compare: the config (sample rate, slice length, latent) is compared whole

    def saved_settings(self) -> dict:
        return {}

    def prepare_networks(self, raw: dict, state: dict | None) -> None:
        pass

    def split(self, data_dir: Path, val_clips: int):
        # nothing is held out: NDB compares what the model makes with the clips it learns from
        return split_files(data_dir, 0)

    def dataset(self, train_files, plan: _Plan, min_items: int):
        cfg = self.cfg
        return AudioSlices(train_files, self.sample_rate, cfg.slice_len, normalize=plan.normalize, seed=plan.seed,
                           first_slice=getattr(cfg, "first_slice", False), gain_range=getattr(cfg, "random_gain", None),
                           pitch_shift=getattr(cfg, "pitch_shift", 0.0), time_shift=getattr(cfg, "time_shift", 0),
                           min_items=min_items)

    def held_out(self, dataset, val_files, plan: _Plan, data_dir: Path) -> list[str]:
        """The real slices NDB compares with (rank 0), and the number of bins they allow."""
        from . import metrics

        self.real = dataset.reference(self.cfg.ndb_samples)  # (n_real, slice_len)
        per_bin = getattr(metrics, "NDB_MIN_PER_BIN", 2)  # ndb's own minimum of real clips per bin
        self.k = min(self.cfg.ndb_bins, len(self.real) // per_bin)
        return []

    def describe_held_out(self) -> str:
        if self.k >= 2:
            fewer = f" (ndb_bins={self.cfg.ndb_bins} needs more real clips)" if self.k < self.cfg.ndb_bins else ""
            return f"validation: {self.cfg.preview_n} previews and NDB with k={self.k} bins{fewer}"
        return f"validation: {self.cfg.preview_n} previews (too few clips for NDB)"

    def start_fields(self) -> dict:
        return {"validation": {"previews": self.cfg.preview_n, "ndb_k": self.k, "ndb_real": len(self.real),
                               "ndb_generated": self.cfg.ndb_samples}}

    def write_references(self, samples_dir: Path) -> None:
        for i, clip in enumerate(self.real[: self.cfg.preview_n]):
            target = samples_dir / "reference" / f"real_{i:02d}.wav"
            if not target.exists():
                save(target, clip, self.sample_rate)

    def validate(self, generator, device, step: int, samples_dir: Path, writer) -> tuple[float | None, dict]:
        """Audio of the seeds 0, 1, …: the first ``preview_n`` written (and to TensorBoard), all scored with NDB."""
        cfg, module = self.cfg, self.module
        count = max(cfg.preview_n, cfg.ndb_samples if self.k >= 2 else 0)
        was_training = generator.training
        generator.eval()
        made = []
        with _fork_rng(device), torch.no_grad():
            for start in range(0, count, 64):
                z = latents_from_seeds(module, cfg, range(start, min(start + 64, count)), device=device)
                made.append(module.validation_audio(generator, z).float()[:, 0].cpu())  # (n, slice_len)
        generator.train(was_training)
        made = torch.cat(made).numpy()  # (count, slice_len)
        folder = samples_dir / f"step_{step:06d}"
        for seed, audio in enumerate(made[: cfg.preview_n]):
            audio = np.clip(audio, -1, 1)
            save(folder / f"seed_{seed:04d}.wav", audio, self.sample_rate)
            if writer is not None:
                writer.add_audio(f"preview/seed_{seed:04d}", torch.from_numpy(audio)[None], step,
                                 sample_rate=self.sample_rate)
        if self.k < 2:
            return None, {}
        from .metrics import ndb  # imported here: a vocoder's run never needs it

        result = ndb(self.real, made[: cfg.ndb_samples], k=self.k, sample_rate=self.sample_rate, seed=0)
        if writer is not None:
            writer.add_scalar("val/ndb", result.bins, step)
        return float(result.bins), {"ndb": int(result.bins), "ndb_k": int(result.k), "ndb_generated": len(made)}

    def format(self, score: float) -> str:
        return f"NDB {int(score)} of {self.k} bins"


class _PitchedData(_UnconditionalData):
    """A pitch-conditional note model (GANSynth): labelled notes as spectrogram pictures; validation
    generates fixed seeds over a sweep of the training pitches (previews), scores the distribution
    with NDB against the training notes and the notes' pitch accuracy.

    ``best.pt`` follows NDB, as for WaveGAN. With too few notes for NDB (fewer than
    ``NDB_MIN_PER_BIN × 2``) it follows pitch accuracy instead — the one score a handful of
    notes still gives — logged as ``1 − accuracy`` so that lower is better, as the loop expects.
    """

    #: Notes asked for at the training pitches whose pitch accuracy each validation measures
    #: (pYIN costs about 0.14 s per 4 s note on one core: voclab.metrics.pitch_accuracy).
    pitch_notes = 64

    def __init__(self, module, cfg):
        super().__init__(module, cfg)
        for needed in ("specgram", "pitch_min", "pitch_max", "slice_len"):
            if not hasattr(cfg, needed):
                raise ConfigError(f"{module.__name__} is a pitched model (KIND), so its Config needs a {needed!r} "
                                  "field, which voclab.train uses.")
        if not hasattr(module, "set_pitch_histogram"):
            raise ConfigError(f"{module.__name__} is a pitched model (KIND) but has no set_pitch_histogram(modules, "
                              "pitches, cfg) (see the protocol in voclab.models).")
        # checks the picture's shape against the networks' when the Config can
        check = getattr(cfg, "specgram_config", None)
        self.specgram = check() if callable(check) else SpecgramConfig.resolve(cfg.specgram)
        if self.specgram.audio_length != cfg.slice_len or self.specgram.sample_rate != cfg.sample_rate:
            raise ConfigError(f"the specgram settings are {self.specgram.audio_length} samples at "
                              f"{self.specgram.sample_rate} Hz; slice_len and sample_rate must be the same.")
        self.data_dir: Path | None = None
        self.pitches: list[int] = []
        self.preview_pitches: list[int] = []
        self.pitch_targets: list[int] = []
        self.real_pitches = np.zeros(0, np.int64)
        self.real_pitch_accuracy: float | None = None
        self.pitch_problem: str | None = None

    @property
    def metric(self) -> str:
        return "ndb" if self.k >= 2 else "pitch_error"

    def check_resumed(self, state: dict) -> None:
        saved = state.get("specgram")
        if saved is None:
            raise CheckpointError("this checkpoint of a pitched model carries no specgram settings, so the pictures "
                                  "it learnt from cannot be checked; start a new run.")
        SpecgramConfig.from_dict(dict(saved)).require_match(self.specgram, what="the resumed run's config")

    def saved_settings(self) -> dict:
        return {"specgram": self.specgram.to_dict()}

    def split(self, data_dir: Path, val_clips: int):
        self.data_dir = data_dir
        return split_files(data_dir, 0)  # NDB compares with the notes it learns from, as for WaveGAN

    def dataset(self, train_files, plan: _Plan, min_items: int):
        notes = LabelledNotes(train_files, note_pitches(self.data_dir, train_files), self.specgram,
                              normalize=plan.normalize, seed=plan.seed, min_items=min_items)
        self.pitches = list(notes.pitches)
        low, high = self.cfg.pitch_min, self.cfg.pitch_max
        outside = sorted({p for p in self.pitches if not low <= p <= high})
        if outside:
            raise DataError(f"{len([p for p in self.pitches if not low <= p <= high])} training note(s) have pitches "
                            f"outside the model's MIDI range {low}-{high} (e.g. {outside[:5]}): widen it "
                            f"(--set pitch_min=... --set pitch_max=...) or leave those notes out of train.txt.")
        return notes

    def prepare_networks(self, raw: dict, state: dict | None) -> None:
        """The training pitch histogram into the generators; a resumed run keeps its checkpoint's."""
        if state is None:
            self.module.set_pitch_histogram(raw, self.pitches, self.cfg)
            return
        counts = getattr(unwrap(raw["generator"]), "pitch_counts", None)
        if counts is not None:
            now = torch.bincount(torch.as_tensor(self.pitches) - self.cfg.pitch_min,
                                 minlength=self.cfg.pitch_max - self.cfg.pitch_min + 1).float()
            if not torch.equal(counts.cpu().float(), now):
                warnings.warn("the data folder's notes now have another pitch histogram than the run's: training "
                              "goes on with the run's (saved in its checkpoint), so generated pitches follow the "
                              "notes it started with.", stacklevel=4)

    def held_out(self, dataset, val_files, plan: _Plan, data_dir: Path) -> list[str]:
        """The real notes NDB compares with (rank 0), the bins they allow, and the pitches validation asks for."""
        from . import metrics

        self.real, self.real_pitches = dataset.reference(self.cfg.ndb_samples)  # (n_real, slice_len), (n_real,)
        per_bin = getattr(metrics, "NDB_MIN_PER_BIN", 2)
        self.k = min(self.cfg.ndb_bins, len(self.real) // per_bin)
        ordered = sorted(self.pitches)  # as often as the histogram has them
        distinct = sorted(set(ordered))
        self.preview_pitches = [distinct[int(i)] for i in
                                np.linspace(0, len(distinct) - 1, self.cfg.preview_n).round().astype(int)]
        n = max(self.cfg.preview_n, min(self.pitch_notes, self.cfg.ndb_samples))
        self.pitch_targets = [ordered[int(i)] for i in np.linspace(0, len(ordered) - 1, n).round().astype(int)]
        picks = np.linspace(0, len(self.real) - 1, min(n, len(self.real))).round().astype(int)
        try:  # the real notes' own score is the ceiling of the generated notes'
            self.real_pitch_accuracy = metrics.pitch_accuracy(self.real[picks], self.real_pitches[picks],
                                                              self.sample_rate).accuracy
        except VoclabError as err:  # notes shorter than pYIN's frame, or pitches too high for the rate
            self.pitch_problem = str(err)
            warnings.warn(f"validation cannot measure pitch accuracy: {err}", stacklevel=4)
        return []

    def describe_held_out(self) -> str:
        sweep = f"{self.cfg.preview_n} previews over MIDI {self.preview_pitches[0]}-{self.preview_pitches[-1]}"
        scores = [f"NDB with k={self.k} bins" if self.k >= 2 else "too few notes for NDB"]
        if self.pitch_problem is None:
            scores.append(f"pitch accuracy of {len(self.pitch_targets)} notes (real notes: "
                          f"{self.real_pitch_accuracy:.0%})")
        best = "NDB" if self.k >= 2 else ("pitch accuracy" if self.pitch_problem is None else "nothing")
        return f"validation: {sweep}, {', '.join(scores)}; best.pt follows {best}"

    def start_fields(self) -> dict:
        return {"validation": {"previews": self.cfg.preview_n, "preview_pitches": self.preview_pitches,
                               "ndb_k": self.k, "ndb_real": len(self.real), "ndb_generated": self.cfg.ndb_samples,
                               "pitch_notes": len(self.pitch_targets) if self.pitch_problem is None else 0,
                               "pitch_accuracy_real": self.real_pitch_accuracy, "best_follows": self.metric},
                "specgram": self.specgram.to_dict()}

    def write_references(self, samples_dir: Path) -> None:
        for i, (note, pitch) in enumerate(zip(self.real[: self.cfg.preview_n], self.real_pitches)):
            target = samples_dir / "reference" / f"real_{i:02d}_pitch_{int(pitch):03d}.wav"
            if not target.exists():
                save(target, note, self.sample_rate)

    def _generate(self, generator, device, count: int, pitches: list[int] | None) -> np.ndarray:
        """Audio of the seeds 0 … count − 1 (at these pitches, or their own draws): ``(count, slice_len)``."""
        made = []
        for start in range(0, count, 64):
            stop = min(start + 64, count)
            z = latents_from_seeds(self.module, self.cfg, range(start, stop), device=device)
            pitch = None if pitches is None else torch.as_tensor(pitches[start:stop], device=device)
            made.append(self.module.validation_audio(generator, z, pitch=pitch).float()[:, 0].cpu())
        return torch.cat(made).numpy()

    def validate(self, generator, device, step: int, samples_dir: Path, writer) -> tuple[float | None, dict]:
        """Previews (seed i at the i-th pitch of the sweep), NDB of the seeds' own pitches, pitch accuracy."""
        cfg = self.cfg
        was_training = generator.training
        generator.eval()
        with _fork_rng(device), torch.no_grad():
            previews = self._generate(generator, device, cfg.preview_n, self.preview_pitches)
            drawn = self._generate(generator, device, cfg.ndb_samples, None) if self.k >= 2 else None
            asked = self._generate(generator, device, len(self.pitch_targets), self.pitch_targets) \
                if self.pitch_problem is None else None
        generator.train(was_training)
        folder = samples_dir / f"step_{step:06d}"
        for seed, (audio, pitch) in enumerate(zip(previews, self.preview_pitches)):
            audio = np.clip(audio, -1, 1)
            save(folder / f"seed_{seed:04d}_pitch_{pitch:03d}.wav", audio, self.sample_rate)
            if writer is not None:
                writer.add_audio(f"preview/seed_{seed:04d}_pitch_{pitch:03d}", torch.from_numpy(audio)[None], step,
                                 sample_rate=self.sample_rate)
        fields: dict = {}
        score = None
        if asked is not None:
            from .metrics import pitch_accuracy

            accuracy = pitch_accuracy(asked, self.pitch_targets, self.sample_rate).accuracy
            fields.update(pitch_accuracy=accuracy, pitch_notes=len(asked))
            score = 1.0 - accuracy
            if writer is not None:
                writer.add_scalar("val/pitch_accuracy", accuracy, step)
        if drawn is not None:
            from .metrics import ndb

            result = ndb(self.real, drawn, k=self.k, sample_rate=self.sample_rate, seed=0)
            fields.update(ndb=int(result.bins), ndb_k=int(result.k), ndb_generated=len(drawn))
            score = float(result.bins)
            if writer is not None:
                writer.add_scalar("val/ndb", result.bins, step)
        return score, fields

    def format(self, score: float) -> str:
        if self.k >= 2:
            return f"NDB {int(score)} of {self.k} bins"
        return f"pitch accuracy {1.0 - score:.0%}"


def _model_data(module, cfg):
    """The vocoder, unconditional or pitched side of the loop, by the model's ``KIND``."""
    kind = model_kind(module)
    return {"vocoder": _VocoderData, "unconditional": _UnconditionalData, "pitched": _PitchedData}[kind](module, cfg)


# ======================================================================================
# The run
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
        Last validation score, lower is better: log-mel L1 (mean over the held-out clips) for a
        vocoder, NDB (statistically different bins) for an unconditional model.
    val_metric : str
        ``"log_mel_l1"``, ``"ndb"``, or ``"pitch_error"`` (1 − pitch accuracy: a pitched model
        with too few notes for NDB).
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
    val_metric: str = "log_mel_l1"

    @property
    def generator(self) -> torch.nn.Module:
        """The trained generator (``modules["generator"]``)."""
        return self.modules["generator"]


@dataclass
class _Position:
    """Where the run is: the counters a checkpoint saves and ``--resume`` restores."""

    step: int = 0
    epoch: int = 0
    epoch_step: int = 0  # batches of the current epoch already trained on
    best_val: float | None = None


def _check_out_dir(out_dir: Path) -> Path:
    """``--out``: a folder (made if missing) in which this process can write, checked before any work."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder: pass the run folder to create (or to resume), "
                          "e.g. --out runs/my_run.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):  # permissions alone would not tell (root, read-only mounts)
            pass
    except OSError as err:
        raise ConfigError(f"--out {out_dir}: cannot write there ({err.strerror or err}). Choose a folder you can "
                          "write to.") from None
    return out_dir


#: The run's config as it started: model, config fields, ``_mel_settings`` and ``_train`` (the plan).
RUN_CONFIG = "config.json"


def _same_config(cfg, saved, out_dir: Path):
    """The saved config of a resumed run; a config given as well must equal it."""
    if cfg is None:
        return saved
    ours, theirs = config_to_dict(cfg), config_to_dict(saved)
    different = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if different:
        detail = ", ".join(f"{k}: run has {theirs.get(k)!r}, given {ours.get(k)!r}" for k in different)
        raise ConfigError(
            f"--resume continues {out_dir} with its saved config, but the config given differs "
            f"({detail}). Drop --config/--set to use the saved one, or start a new run with another --out."
        )
    return cfg


def _saved_run(out_dir: Path) -> dict | None:
    """``RUN_DIR/config.json`` as the run wrote it at its start, or None when there is none."""
    path = out_dir / RUN_CONFIG
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} cannot be read ({err}), so --resume cannot rebuild the run's config. Restore "
                          "the file, or start a new run with another --out.") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("model"), str):
        raise ConfigError(f"{path} is not a voclab run config (no \"model\" entry). Restore the file, or start a new "
                          "run with another --out.")
    return saved


def _starting_checkpoint(module, model_name: str, cfg, out_dir: Path, resume: bool, init_official):
    """Where a run starts: (checkpoint state or None, its path, the config, the saved plan).

    ``--resume`` always rebuilds the run from what it saved: its latest checkpoint, or, when
    it was stopped before its first one, the ``config.json`` written at its start — never
    from the model's defaults.
    """
    existing = list_checkpoints(out_dir / CHECKPOINT_DIR)
    if existing and not resume:
        raise TrainingError(
            f"{out_dir} already holds checkpoints up to step {existing[-1][0]}. Pass --resume "
            "(resume=True) to continue that run, or choose another --out; nothing was overwritten."
        )
    if not existing and not resume:
        return None, None, (cfg if cfg is not None else module.Config()), {}
    if not existing:
        saved = _saved_run(out_dir)
        if saved is None:
            raise TrainingError(
                f"--resume: there is nothing to resume in {out_dir} (no checkpoint and no {RUN_CONFIG}). Start the "
                f"run without --resume: voclab train {model_name} --data DIR --out {out_dir} --steps N "
                "(in Python: resume=False)."
            )
        if saved["model"] != model_name:
            raise ConfigError(f"{out_dir} is a {saved['model']!r} run; resume it with "
                              f"`voclab train {saved['model']} ... --resume`.")
        fields = {k: v for k, v in saved.items() if k != "model" and not k.startswith("_")}
        cfg = _same_config(cfg, build_config(module, model_name, fields), out_dir)
        if "_mel_settings" in saved:  # a preset that changed since the run started must not pass unseen
            MelConfig.from_dict(dict(saved["_mel_settings"])).require_match(mel_config_of(cfg),
                                                                             what=f"the run's {RUN_CONFIG}")
        if "_specgram_settings" in saved:  # the same for a pitched model's pictures
            SpecgramConfig.from_dict(dict(saved["_specgram_settings"])).require_match(
                SpecgramConfig.resolve(cfg.specgram), what=f"the run's {RUN_CONFIG}")
        return None, None, cfg, dict(saved.get("_train") or {})
    path = existing[-1][1]
    if init_official:
        raise ConfigError(f"{out_dir} already holds a run (step {existing[-1][0]}): --init-official starts a new "
                          "run from official weights; drop it to resume, or choose another --out.")
    state = read_checkpoint(path)
    if state["model"] != model_name:
        raise CheckpointError(f"{path} is a {state['model']!r} run; resume it with `voclab train {state['model']}`.")
    saved = build_config(module, model_name, dict(state["config"]))
    return state, path, _same_config(cfg, saved, out_dir), dict(state.get("train", {}))


def _write_run_config(out_dir: Path, model_name: str, cfg, mel: MelConfig | None, plan: _Plan, world_size: int,
                      init, init_official, settings: dict) -> None:
    """``RUN_DIR/config.json``, written (atomically) before the data is read: what --resume rebuilds the run from."""
    train_plan = {"steps": plan.steps, "seed": plan.seed, "normalize": plan.normalize, "world_size": world_size,
                  **({"mels_dir": plan.mels_dir} if plan.mels_dir is not None else {}),
                  **({"init": str(init)} if init else {}),
                  **({"init_official": [str(f) for f in init_official]} if init_official else {})}
    mel_settings = {"_mel_settings": mel.to_dict()} if mel is not None else {}  # an unconditional model has none
    others = {f"_{key}_settings": value for key, value in settings.items()}  # a pitched model's specgram
    write_atomic(out_dir / RUN_CONFIG, json.dumps({"model": model_name, **config_to_dict(cfg), **mel_settings,
                                                   **others, "_train": train_plan}, indent=2) + "\n")


def _schedule_at(schedulers: dict, step: int) -> None:
    """Set every scheduler (and its optimizer's rate) to where ``step`` optimizer steps leave it."""
    for name, scheduler in schedulers.items():
        closed_form = getattr(scheduler, "_get_closed_form_lr", None)  # StepLR, ExponentialLR, ... have one
        if closed_form is None:
            raise ConfigError(f"the {name} scheduler ({type(scheduler).__name__}) cannot be set to step {step}: "
                              "use a scheduler with a closed form (StepLR, ExponentialLR, MultiStepLR).")
        scheduler.last_epoch = step
        for group, lr in zip(scheduler.optimizer.param_groups, closed_form()):
            group["lr"] = lr
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]


def _restore(state: dict, raw: dict, optimizers: dict, schedulers: dict, dist_info: _Dist) -> _Position:
    """Load a checkpoint's weights, optimizer and scheduler states and random states; return its position."""
    if set(state["modules"]) != set(raw):
        raise CheckpointError(f"the checkpoint holds networks {sorted(state['modules'])}, the model builds {sorted(raw)}.")
    for name, net in raw.items():
        net.load_state_dict(state["modules"][name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    position = _Position(int(state["step"]), int(state["epoch"]), int(state.get("epoch_step", 0)), state.get("best_val"))
    if state.get("train", {}).get("schedule") == SCHEDULE:
        for name, scheduler in schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
    elif schedulers:  # an earlier voclab stepped the schedulers once per epoch
        _schedule_at(schedulers, position.step)
        warnings.warn(f"this checkpoint's learning-rate schedulers stepped once per epoch (an older voclab); they "
                      f"now step once per optimizer step, and the run continues at the rate of step {position.step}.",
                      stacklevel=3)
    ranks = state.get("rng_ranks")
    if ranks is not None and len(ranks) == dist_info.world_size:
        set_rng_state(ranks[dist_info.rank])
    elif dist_info.rank == 0:
        set_rng_state(state["rng"])
    return position


def _start_from_official(module, cfg, raw: dict, optimizers: dict, schedulers: dict, files, steps: int) -> _Position:
    """Load an official ``g_`` (+ ``do_``) pair and continue at the official step."""
    loader = getattr(module, "load_official_training_state", None)
    if loader is None:
        raise ConfigError(f"--init-official loads checkpoints of the official HiFi-GAN (jik876/hifi-gan); "
                          f"{module.__name__} has no official format.")
    files = list(files)
    if not 1 <= len(files) <= 2:
        raise ConfigError(f"--init-official takes the official g_XXXXXXXX file and, to continue its run, the "
                          f"do_XXXXXXXX file of the same step (got {len(files)} files).")
    step, epoch = loader(raw, optimizers, cfg, *files)
    if step >= steps:
        raise ConfigError(f"the official checkpoint is at step {step}: --steps ({steps}) is the step to train "
                          f"until, so pass more (e.g. --steps {step + 10_000} for 10 000 more steps).")
    _schedule_at(schedulers, step)
    return _Position(step=step, epoch=epoch)


@dataclass
class _Init:
    """The generator weights a fine-tune starts from (``init``), and what they expect."""

    source: str  # as given: pretrained:NAME or a voclab checkpoint
    model: str
    weights: dict  # voclab key names, weight norm kept (the form a training generator has)
    cfg: object  # the config they were trained with
    use_config: str  # how to ask for that config on the command line
    what: str  # for the log line: where the weights come from, and why the discriminators start fresh


def _read_init(init) -> _Init:
    """The generator weights ``init`` names: a pretrained vocoder or a voclab checkpoint."""
    source = str(init)
    if source.startswith(pretrained.PREFIX):
        name = source[len(pretrained.PREFIX):]
        entry = pretrained._entry(name)
        official = pretrained._verified_state(pretrained._file_of(entry), entry)
        return _Init(source, entry.model, resolve_model(entry.model).official_to_voclab_keys(official),
                     load_config(entry.model, entry.config), f"--config {entry.config}",
                     f"{source} ({entry.trained}); its file carries no discriminators, so they start fresh")
    # an official g_XXXXXXXX is refused here with the advice to pass it to --init-official
    state = read_checkpoint(source, generator_only=True, mmap=True)
    module = resolve_model(state["model"])
    saved = build_config(module, state["model"], dict(state["config"]))
    weights = inference_weights(state["modules"], saved, int(state["step"]))
    run_config = resolve_checkpoint(source).parent.parent / RUN_CONFIG
    return _Init(source, state["model"], state["modules"][weights], saved,
                 f"--config {run_config}" if run_config.is_file() else "the config the checkpoint was trained with",
                 f"{source} (its {weights} at step {state['step']}); --init takes the generator only, so the "
                 "discriminators start fresh (--resume continues a run whole)")


def _check_init(found: _Init, model_name: str, cfg) -> None:
    """Refuse, before the data is read, a run that ``found`` cannot start: another model, other mels."""
    if found.model != model_name:
        raise ConfigError(f"--init {found.source} is a {found.model} generator: fine-tune it with "
                          f"`voclab train {found.model} {found.use_config} --init {found.source} ...`.")
    if getattr(found.cfg, "mel", None) is None:  # an unconditional or pitched model: its shapes say it all
        return
    differences = mel_config_of(found.cfg).diff(mel_config_of(cfg))
    if differences:
        detail = ", ".join(f"{key}: {theirs!r}, this run {ours!r}" for key, (theirs, ours) in differences.items())
        raise ConfigError(f"--init {found.source} was trained on other mels than this run's config makes ({detail}); "
                          f"a fine-tune keeps the mel settings it was trained with: train with {found.use_config}.")


def _start_from_init(found: _Init, raw: dict, cfg) -> _Position:
    """Load ``found``'s generator weights (into the moving average too, when the model keeps one); step 0."""
    expected = raw["generator"].state_dict()
    problems = [f"missing {key}" for key in sorted(set(expected) - set(found.weights))]
    problems += [f"unexpected {key}" for key in sorted(set(found.weights) - set(expected))]
    problems += [f"{key}: {tuple(found.weights[key].shape)}, this run {tuple(value.shape)}"
                 for key, value in expected.items() if key in found.weights and found.weights[key].shape != value.shape]
    if problems:
        variant = getattr(cfg, "variant", None)  # HiFi-GAN names its published generators: V1, V2, V3
        built = f" (a {variant} generator)" if variant else ""
        more = f" … ({len(problems)} in all)" if len(problems) > 3 else ""
        raise ConfigError(f"--init {found.source} does not fit the generator this run's config builds{built}: "
                          f"{'; '.join(problems[:3])}{more}. Train with {found.use_config} (--set may still change "
                          "its training fields: batch size, segment size, learning rate).")
    for name in ("generator", "generator_ema"):
        if name in raw:
            raw[name].load_state_dict(found.weights)
    return _Position()  # a fine-tune: its own step counter, learning-rate schedule and data order from 0


def _wrap(raw: dict, dist_info: _Dist, device: torch.device, compile, is_main: bool) -> dict:
    """DDP first, then ``torch.compile`` around it (DDPOptimizer splits the graph at buckets)."""
    nets = dict(raw)
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        for name, net in raw.items():
            if any(p.requires_grad for p in net.parameters()):
                nets[name] = DDP(net, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        if device.type != "cuda" and is_main:
            warnings.warn("--compile is meant for CUDA; on CPU it needs a C compiler and is slow to start.",
                          stacklevel=3)
        backend = compile if isinstance(compile, str) else "inductor"
        nets = {name: torch.compile(net, backend=backend) for name, net in nets.items()}
    return nets


def _autocast_factory(bf16: bool, device: torch.device):
    """What ``train_step`` calls around its forward passes: bf16 autocast, or nothing."""
    if not bf16:
        return contextlib.nullcontext
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bfloat16 support; drop --bf16.")
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _held_out_clips(val_files, mel_files, mel: MelConfig, normalize: bool, data_dir: Path) -> list:
    """(name, audio, input log-mel) of each validation clip; a bad clip costs a warning, not the run."""
    clips = []
    for path, mel_file in zip(val_files, mel_files or [None] * len(val_files)):
        try:
            reference, log_mel = load_clip_for_validation(path, mel, normalize=normalize, mel_file=mel_file)
        except VoclabError as err:
            warnings.warn(f"skipping validation clip {path.name}: {err}", stacklevel=4)
            continue
        clips.append((clip_name(path, data_dir), reference, log_mel))
    return clips


def _log_train(log, writer, display, position: _Position, steps: int, window: dict, window_steps: int,
               seconds: float, optimizers: dict, data) -> dict:
    """Write one train row (the losses averaged over the window, the learning rates, the speed); return the means."""
    rate = window_steps / max(seconds, 1e-9)
    mean_losses = {key: total / window_steps for key, total in window.items()}
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in optimizers.items()}
    log.write({"type": "train", "step": position.step, "time": time.time(), "epoch": position.epoch,
               "losses": mean_losses, "lr": lrs, "steps_per_s": rate})
    if writer is not None:
        for key, value in mean_losses.items():
            writer.add_scalar(f"train/{key}", value, position.step)
        for name, value in lrs.items():
            writer.add_scalar(f"lr/{name}", value, position.step)
        writer.add_scalar("train/steps_per_s", rate, position.step)
    shown = " ".join(f"{key} {value:.4g}" for key, value in mean_losses.items())
    best = f" | best val {data.format(position.best_val)}" if position.best_val is not None else ""
    display.update(f"step {position.step}/{steps} | epoch {position.epoch} | {shown} | {rate:.2f} steps/s{best}")
    return mean_losses


@dataclass(frozen=True)
class _Plan:
    """What a run trains for and on: fixed at the start, saved in every checkpoint's ``train`` entry."""

    steps: int
    seed: int
    normalize: bool
    mels_dir: str | None
    local_batch: int
    num_workers: int


def _plan(cfg, model_name: str, info: dict, dist_info: _Dist, device: torch.device, *, steps, seed, mels_dir,
          normalize, num_workers, length_field: str = "segment_size") -> _Plan:
    """Fill in what the caller left open: from the resumed run (``info``), else from the config and device."""
    if info:  # a resumed run keeps its seed (its data order), its target, its mels and their normalisation
        if seed is not None and seed != info.get("seed", seed):
            warnings.warn(f"resuming with the run's seed {info['seed']} (not {seed}).", stacklevel=4)
        seed = info.get("seed", seed)
        if info.get("world_size", dist_info.world_size) != dist_info.world_size:
            warnings.warn(f"the run was trained with {info['world_size']} process(es), now {dist_info.world_size}: "
                          "training goes on, but the data order is not the one the run would have seen.", stacklevel=4)
        steps = steps if steps is not None else info.get("steps")
        mels_dir = mels_dir if mels_dir is not None else info.get("mels_dir")
        normalize = normalize if normalize is not None else info.get("normalize")
    if steps is None:
        raise ConfigError("Pass steps (--steps N): the global step to train until.")
    for needed in ("batch_size", length_field):
        if not hasattr(cfg, needed):
            raise ConfigError(f"{model_name}'s Config has no {needed!r} field, which voclab.train needs.")
    if cfg.batch_size % dist_info.world_size:
        raise ConfigError(f"batch_size={cfg.batch_size} is the global batch and must divide evenly over "
                          f"{dist_info.world_size} processes; use a multiple of {dist_info.world_size}.")
    if num_workers is None:  # the CPU's cores train; a GPU is fed by a few loader processes
        num_workers = 0 if device.type == "cpu" else max(1, min(4, (os.cpu_count() or 2) // dist_info.world_size - 1))
    return _Plan(steps=int(steps), seed=int(seed if seed is not None else getattr(cfg, "seed", 0) or 0),
                 normalize=mels_dir is None if normalize is None else bool(normalize),
                 mels_dir=None if mels_dir is None else str(mels_dir),
                 local_batch=cfg.batch_size // dist_info.world_size, num_workers=num_workers)


def _open_run_folder(out_dir: Path, data, position: _Position, resumed: bool, tensorboard: bool,
                     display: _Progress):
    """log.jsonl, TensorBoard and the reference clips of a run folder (rank 0; config.json is written earlier)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = remove_stale_temporaries(out_dir / CHECKPOINT_DIR)
    if stale:
        display.note(f"removed {len(stale)} temporary file(s) of an interrupted save: {', '.join(p.name for p in stale)}")
    # rows after the starting step belong to training that is redone (or to a run that never saved)
    log = _JsonlLog(out_dir / "log.jsonl", resume_step=position.step)
    writer = _tensorboard(out_dir / "tensorboard", purge_step=position.step + 1 if resumed else None) \
        if tensorboard else None
    data.write_references(out_dir / "samples")
    return log, writer


def _checkpoint_contents(model_name: str, cfg, mel: MelConfig | None, position: _Position, raw: dict, optimizers: dict,
                         schedulers: dict, train_info: dict, rank_rngs: list | None, settings: dict) -> dict:
    """Everything a checkpoint holds (see :mod:`voclab.checkpoint`), on the CPU."""
    content = {
        "format": FORMAT,
        "voclab_version": __version__,
        "model": model_name,
        "config": config_to_dict(cfg),
        "mel": mel.to_dict() if mel is not None else None,  # None: an unconditional model (its config has the rate)
        "step": position.step,
        "epoch": position.epoch,
        "epoch_step": position.epoch_step,
        "modules": {name: net.state_dict() for name, net in raw.items()},
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "schedulers": {name: sch.state_dict() for name, sch in schedulers.items()},
        "rng": rng_state(),
        "best_val": position.best_val,
        "train": train_info,
        **settings,  # a pitched model's "specgram": what inverts its pictures
    }
    if rank_rngs is not None:  # DDP: every rank's random state, so each continues its own stream
        content["rng_ranks"] = rank_rngs
    return _to_cpu(content)


def _gather_rngs(dist_info: _Dist) -> list | None:
    """Every rank's random state (each rank must call this; rank 0 saves them), or None without DDP."""
    if not dist_info.enabled:
        return None
    import torch.distributed as dist

    rank_rngs = [None] * dist_info.world_size
    dist.all_gather_object(rank_rngs, _to_cpu(rng_state()))
    return rank_rngs


@contextlib.contextmanager
def _ctrl_c_finishes_the_step(dist_info: _Dist):
    """Yield ``{"requested": bool}``: the first Ctrl-C asks the loop to stop after its step, a second stops at once."""
    stop = {"requested": False}
    if dist_info.enabled or threading.current_thread() is not threading.main_thread():
        yield stop  # torchrun handles signals for its processes
        return

    def on_interrupt(signum, frame):
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def train(
    model_name: str,
    cfg,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    steps: int | None = None,
    device: str = "cpu",
    resume: bool = False,
    init: str | Path | None = None,
    init_official=None,
    mels_dir: str | Path | None = None,
    bf16: bool = False,
    compile: bool | str = False,
    log_every: int = 10,
    val_every: int = 1000,
    ckpt_every: int = 5000,
    keep_last: int = 3,
    seed: int | None = None,
    num_workers: int | None = None,
    val_clips: int = 2,
    normalize: bool | None = None,
    tensorboard: bool = True,
    progress: bool = True,
) -> RunSummary:
    """Train a reference vocoder on a folder of audio; resumable, DDP-aware.

    Runs ``model.train_step`` until the global optimizer step reaches ``steps``. Every
    scheduler steps once per optimizer step. Every ``log_every`` steps a row goes to
    ``RUN_DIR/log.jsonl`` (and TensorBoard); every ``val_every`` steps (and at the end) the
    held-out clips are vocoded from their mels, scored with log-mel L1 on the model's
    validation mel and written to ``RUN_DIR/samples/`` (an unconditional model instead writes
    the audio of its fixed latents and scores NDB against its training slices); every
    ``ckpt_every`` steps (and at the end, and after Ctrl-C) a checkpoint is written atomically.

    Launched by ``torchrun`` (``WORLD_SIZE`` > 1) it runs DDP: each process trains on
    ``cfg.batch_size // world_size`` segments per step (``batch_size`` stays the global
    batch, as in HiFi-GAN's official code), only rank 0 logs, validates and saves, and
    ``step`` counts optimizer steps — the same number on every rank. The run folder must
    be shared by the processes (one machine).

    A pitched note model (GANSynth) trains on a folder with NSynth's labels (``voclab prepare
    --nsynth-fluid``): the training pitches' histogram goes into its generator before the first
    step, and validation writes fixed seeds over a sweep of those pitches and scores NDB and
    pitch accuracy (``best.pt`` follows NDB, or pitch accuracy when the notes are too few
    for NDB). Validation listens to the weights :func:`voclab.checkpoint.load_checkpoint`
    would load (the moving average, where a model keeps one, once it is old enough).

    Notebook: 04_wavegan, 05_gansynth, 06_melgan, 07_hifigan.

    Parameters
    ----------
    model_name : str
        ``"hifigan"``, ``"melgan"``, ``"wavenet"``, ``"wavegan"``, ``"gansynth"`` or a registered model
        (:func:`voclab.models.register_model`).
    cfg : the model's Config or None
        From :func:`voclab.config.load_config`. ``None``: the model's defaults, or the saved
        config when resuming. A resumed run refuses a config that differs from its saved one.
    data_dir : str or Path
        A folder of audio (searched recursively), or one made by ``voclab prepare``
        (its ``train.txt``/``val.txt`` split is used).
    out_dir : str or Path
        The run folder (created). It must not hold checkpoints unless ``resume``, and no other
        trainer may be running in it (``RUN_DIR/.lock``).
    steps : int, optional
        Train until the global step reaches this number (a total, not "this many more").
        ``None`` when resuming: the target of the original run.
    device : {"cpu", "cuda", "cuda:N", "mps"}
    resume : bool
        Continue from the latest checkpoint in ``out_dir``: same step, weights, optimizer and
        scheduler states, random states and data order. A run stopped before its first
        checkpoint starts again at step 0 with the config, target and seed of its
        ``config.json``; a folder with neither is a :class:`~voclab.errors.TrainingError`.
    init : str or Path, optional
        Fine-tune from a trained generator: ``"pretrained:NAME"`` (:mod:`voclab.pretrained`,
        e.g. ``"pretrained:hifigan-v1-universal"``) or a voclab checkpoint (a file, a run
        folder, ``RUN_DIR/best``; the weights :func:`~voclab.checkpoint.load_checkpoint` would
        use). Only the generator is loaded (into the moving average too, when the model keeps
        one): the discriminators and optimizers start fresh, and so do the step counter, the
        learning-rate schedule and the data order (step 0). The config must build the same
        generator and, for a vocoder, the same mels (a :class:`~voclab.errors.ConfigError`
        names the config to use); ``cfg=None`` takes the one the weights were trained with
        (``hifigan_v1`` for the pretrained V1). With ``resume`` on a run that has a
        checkpoint, that checkpoint wins and ``init`` is not used (the log says so).
    init_official : sequence of str or Path, optional
        Start from an official HiFi-GAN run: its ``g_XXXXXXXX`` file and, to continue that
        run (discriminators, optimizers, step), its ``do_XXXXXXXX`` file
        (:func:`voclab.models.hifigan.load_official_training_state`).
    mels_dir : str or Path, optional
        Fine-tune on an acoustic model's ground-truth-aligned mels: ``<stem>.npy`` per
        recording, checked against the run's mel settings and the recordings' lengths
        (:func:`voclab.datasets.pair_mels`). The generator is fed these mels; the losses
        compare with the real recordings.
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
        Whole clips held out for validation (ignored for a ``voclab prepare`` folder, and by an
        unconditional model, which is validated against the clips it trains on).
    normalize : bool, optional
        Peak-normalise each file to 0.95 (HiFi-GAN's data loading). Default: yes, except
        with ``mels_dir`` — the acoustic model made its mels from the recordings as they are.
    tensorboard : bool
        Also write TensorBoard events (when it imports).
    progress : bool
        Show the progress line.

    Returns
    -------
    summary : RunSummary

    Raises
    ------
    voclab.errors.ConfigError
        Before any work: a config value of the wrong type or out of range
        (:func:`voclab.config.validate_config`), ``steps`` < 1, an unknown or missing device,
        an ``out_dir`` that is a file or cannot be written to, ``init`` with ``init_official``,
        an unknown pretrained name. Before the data is read: ``init`` weights of another model
        or trained on other mels; before the first step: weights that do not fit the generator.
    voclab.errors.DataError, voclab.errors.CheckpointError, voclab.errors.TrainingError

    Examples
    --------
    >>> cfg = load_config("hifigan", "hifigan_v2", ["batch_size=4"])         # doctest: +SKIP
    >>> run = train("hifigan", cfg, "data/speech", "runs/v2", steps=200)     # doctest: +SKIP
    >>> run.generator                                                        # doctest: +SKIP
    >>> tuned = train("hifigan", None, "data/speech", "runs/tuned", steps=1000,
    ...               init="pretrained:hifigan-v1-universal")               # doctest: +SKIP
    """
    # every value is checked before the run folder, the data or a network is touched
    module = resolve_model(model_name)
    for name, value in (("log_every", log_every), ("val_every", val_every), ("ckpt_every", ckpt_every)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1 step (got {value}).")
    if steps is not None and not (isinstance(steps, numbers.Integral) and not isinstance(steps, bool) and steps >= 1):
        raise ConfigError(f"steps (--steps) is the global step to train until: a whole number of at least 1 "
                          f"(got {steps!r}).")
    if cfg is not None:
        validate_config(model_name, cfg)
    if init and init_official:
        raise ConfigError("--init starts a fine-tune from a generator, --init-official continues an official "
                          "HiFi-GAN run: pass one of them.")
    if init and str(init).startswith(pretrained.PREFIX):
        pretrained._entry(str(init)[len(pretrained.PREFIX):])  # an unknown name: the known ones, before any work
    resolve_device(device)
    out_dir = _check_out_dir(Path(out_dir))
    dist_info, device = _setup_device(device)
    try:
        lock = _lock_run_folder(out_dir, dist_info)  # before a checkpoint is read: one trainer per run folder
        try:
            return _train(module, model_name, cfg, Path(data_dir), out_dir, dist_info, device,
                          steps=steps, resume=resume, init=init, init_official=init_official, mels_dir=mels_dir,
                          bf16=bf16, compile=compile, log_every=log_every, val_every=val_every,
                          ckpt_every=ckpt_every, keep_last=keep_last, seed=seed, num_workers=num_workers,
                          val_clips=val_clips, normalize=normalize, tensorboard=tensorboard, progress=progress)
        finally:
            lock.release()
    finally:
        if dist_info.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(module, model_name, cfg, data_dir: Path, out_dir: Path, dist_info: _Dist, device: torch.device, *,
           steps, resume, init, init_official, mels_dir, bf16, compile, log_every, val_every, ckpt_every, keep_last,
           seed, num_workers, val_clips, normalize, tensorboard, progress) -> RunSummary:
    started = time.perf_counter()
    is_main = dist_info.is_main
    ckpt_dir = out_dir / CHECKPOINT_DIR

    # ---------------------------------------------------------------- set-up: where the run starts, and on what
    given_cfg = cfg
    state, state_path, cfg, info = _starting_checkpoint(module, model_name, cfg, out_dir, resume, init_official)
    from_saved_config = resume and state is None  # stopped before its first checkpoint: step 0, its own config
    if from_saved_config and not init_official and info.get("init_official"):
        init_official = info["init_official"]  # it started from official weights: so does its restart
    if from_saved_config and not init and info.get("init"):
        init = info["init"]  # the same for a fine-tune
    # --resume with --init: the run's own checkpoint wins (the weights it reached, not the ones it started from)
    init_ignored, init = (init, None) if state is not None and init else (None, init)
    started_from = str(init) if init else info.get("init")  # recorded in config.json and every checkpoint
    found = _read_init(init) if init else None
    if found is not None:
        if given_cfg is None and not from_saved_config:
            cfg = found.cfg  # no --config: the one the weights were trained with
        _check_init(found, model_name, cfg)
    data = _model_data(module, cfg)  # a vocoder (mel -> audio) or an unconditional model (latent -> audio)
    mel = data.mel  # None for an unconditional model
    if state is not None:
        data.check_resumed(state)
    if mels_dir is not None and mel is None:
        raise ConfigError(f"{model_name} is an unconditional model: it learns from audio alone and takes no mels; "
                          "drop --mels." if model_kind(module) == "unconditional" else
                          f"{model_name} is a pitched note model: it learns from labelled notes and takes no mels; "
                          "drop --mels.")
    plan = _plan(cfg, model_name, info, dist_info, device, steps=steps, seed=seed, mels_dir=mels_dir,
                 normalize=normalize, num_workers=num_workers, length_field=data.length_field)
    if is_main:  # before the data is read: a run killed at any moment from here on can be resumed
        _write_run_config(out_dir, model_name, cfg, mel, plan, dist_info.world_size, started_from, init_official,
                          data.saved_settings())

    # ---------------------------------------------------------------- data: random segments (or slices), held-out clips
    # a step may take several real batches (WaveGAN: one per critic update); the loader stacks them
    per_step = int(module.batches_per_step(cfg)) if hasattr(module, "batches_per_step") else 1
    if per_step < 1:
        raise ConfigError(f"{module.__name__}.batches_per_step must be at least 1, got {per_step}.")
    step_batch = plan.local_batch * per_step
    train_files, val_files = data.split(data_dir, val_clips)
    dataset = data.dataset(train_files, plan, min_items=cfg.batch_size * per_step)
    if info.get("train_files", len(dataset.files)) != len(dataset.files):
        warnings.warn(f"the run trained on {info['train_files']} files, the data folder now gives "
                      f"{len(dataset.files)}: training goes on, but the data order is not the one the run would "
                      "have seen.", stacklevel=3)
    sampler = torch.utils.data.DistributedSampler(
        dataset, num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=True, seed=plan.seed, drop_last=True)
    steps_per_epoch = len(sampler) // step_batch
    val_names = data.held_out(dataset, val_files, plan, data_dir) if is_main else []
    train_info = {"seed": plan.seed, "world_size": dist_info.world_size, "batch_size": cfg.batch_size,
                  "steps": plan.steps, "train_files": len(dataset.files), "normalize": plan.normalize,
                  "val_clips": val_names, "schedule": SCHEDULE,
                  **({"mels_dir": plan.mels_dir} if plan.mels_dir is not None else {}),
                  **({"init": started_from} if started_from else {}),
                  **({"init_official": [str(p) for p in init_official]} if init_official else {})}

    # ---------------------------------------------------------------- networks, optimizers, schedulers
    _seed_everything(plan.seed + dist_info.rank)  # each rank its own random stream; DDP copies rank 0's weights
    raw = module.build(cfg)
    for net in raw.values():
        net.to(device)
    optimizers, schedulers = module.make_optimizers(raw, cfg)
    if state is not None:
        position = _restore(state, raw, optimizers, schedulers, dist_info)
        if position.epoch_step >= steps_per_epoch:  # the training files changed since the checkpoint
            position.epoch, position.epoch_step = position.epoch + 1, 0
    elif init_official:
        position = _start_from_official(module, cfg, raw, optimizers, schedulers, init_official, plan.steps)
    elif found is not None:
        position = _start_from_init(found, raw, cfg)
    else:
        position = _Position()
    data.prepare_networks(raw, state)  # a pitched model: the training pitch histogram (a resumed run keeps its own)
    nets = _wrap(raw, dist_info, device, compile, is_main)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed segment sizes: let cuDNN pick the fastest kernels
    autocast = _autocast_factory(bf16, device)

    # ---------------------------------------------------------------- logging (rank 0 only)
    display = _Progress(progress and is_main)
    log = writer = None
    if is_main:
        log, writer = _open_run_folder(out_dir, data, position, state is not None or from_saved_config,
                                       tensorboard, display)
        log.write({"type": "event", "event": "resume" if state is not None else "start", "step": position.step,
                   "time": time.time(), "model": model_name, "device": str(device),
                   "world_size": dist_info.world_size, "bf16": bf16, "compile": bool(compile),
                   "train_files": len(dataset.files), **data.start_fields(),
                   "steps_per_epoch": steps_per_epoch, "target_steps": plan.steps,
                   **({"init_official": train_info["init_official"]} if init_official and state is None else {}),
                   **({"init": found.source} if found is not None else {}),
                   **({"init_ignored": str(init_ignored)} if init_ignored else {}),
                   **({"mels_dir": plan.mels_dir} if plan.mels_dir is not None else {}),
                   **({"restarted_from": RUN_CONFIG} if from_saved_config else {}),
                   **({"discarded_log_rows": log.dropped} if log.dropped else {})})
        if from_saved_config:
            display.note(f"--resume: no checkpoint in {ckpt_dir} yet: starting again at step 0 with the run's saved "
                         f"{RUN_CONFIG}")
        if init_ignored:
            display.note(f"--resume: {out_dir} continues from its own checkpoint ({state_path.name}); "
                         f"--init {init_ignored} only chooses where a new run starts, so it is not used")
        if found is not None:
            display.note(f"fine-tuning from {found.what}; the step counter starts at 0")
        what = (f"resuming {out_dir} at step {position.step}" if state is not None
                else f"training {model_name} in {out_dir}" + (f" from step {position.step}" if position.step else ""))
        batches = f" x {per_step} batches a step" if per_step > 1 else ""
        display.note(f"{what}: {len(dataset.files)} training files, {data.describe_held_out()}, "
                     f"batch {cfg.batch_size}{batches} on {dist_info.world_size} x {device}, "
                     f"{steps_per_epoch} steps/epoch")

    def checkpoint(rank_rngs: list | None) -> dict:
        return _checkpoint_contents(model_name, cfg, mel, position, raw, optimizers, schedulers, train_info, rank_rngs,
                                    data.saved_settings())

    # ---------------------------------------------------------------- the loop
    last_checkpoint, last_val = state_path, None
    window: dict[str, float] = {}
    window_steps, window_start = 0, time.perf_counter()
    mean_losses: dict[str, float] = {}
    start_step = position.step
    outcome = "done"
    try:
        with _ctrl_c_finishes_the_step(dist_info) as stop:
            if position.step >= plan.steps and is_main:
                display.note(f"{out_dir} is already at step {position.step} (target {plan.steps}): nothing to do.")
            while position.step < plan.steps and not stop["requested"]:
                # one epoch: the sampler's order for this epoch, minus the batches a resumed run already did
                sampler.set_epoch(position.epoch)
                dataset.set_epoch(position.epoch)
                loader = torch.utils.data.DataLoader(
                    dataset, batch_size=step_batch, sampler=list(sampler)[position.epoch_step * step_batch:],
                    drop_last=True, num_workers=plan.num_workers, pin_memory=device.type == "cuda",
                    # its own generator: creating a loader must not draw from the training random stream
                    generator=torch.Generator().manual_seed(plan.seed * 100_003 + position.epoch),
                )
                for batch in loader:
                    # the step
                    batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
                    losses = module.train_step(nets, optimizers, batch, cfg, autocast=autocast)
                    for scheduler in schedulers.values():
                        scheduler.step()
                    position.step += 1
                    position.epoch_step += 1
                    losses = {key: float(value) for key, value in losses.items()}
                    bad = [key for key, value in losses.items() if not math.isfinite(value)]
                    if bad:
                        where = f" The last good checkpoint is {last_checkpoint}." if last_checkpoint else ""
                        raise TrainingError(f"{', '.join(bad)} became {losses[bad[0]]} at step {position.step}: "
                                            f"training diverged.{where} Try a lower learning rate, or drop --bf16.")
                    for key, value in losses.items():
                        window[key] = window.get(key, 0.0) + value
                    window_steps += 1
                    if position.epoch_step == steps_per_epoch:
                        position.epoch, position.epoch_step = position.epoch + 1, 0
                    finishing = position.step >= plan.steps or stop["requested"]

                    # logging
                    if is_main and (position.step % log_every == 0 or finishing):
                        mean_losses = _log_train(log, writer, display, position, plan.steps, window, window_steps,
                                                    time.perf_counter() - window_start, optimizers, data)
                        window, window_steps, window_start = {}, 0, time.perf_counter()

                    # validation
                    improved = False
                    if is_main and (position.step % val_every == 0 or finishing):
                        # the weights voclab generate / vocode would load at this step (the EMA once it is old enough)
                        listened = inference_weights(raw, cfg, position.step)
                        score, fields = data.validate(unwrap(nets[listened]), device, position.step,
                                                      out_dir / "samples", writer)
                        fields = {**fields, "weights": listened}
                        if score is not None:  # lower is better: log-mel L1, or NDB's different bins
                            last_val = score
                            improved = position.best_val is None or last_val < position.best_val
                            position.best_val = last_val if improved else position.best_val
                            log.write({"type": "val", "step": position.step, "time": time.time(), **fields,
                                       "best": improved})
                            display.note(f"step {position.step}: validation {data.format(last_val)}"
                                         + (" (best so far)" if improved
                                            else f" (best {data.format(position.best_val)})"))

                    # checkpoints (every rank gathers random states; rank 0 writes); best.pt has a step
                    # file's contents (a link to it when there is one)
                    saved = None
                    if position.step % ckpt_every == 0 or finishing:
                        rank_rngs = _gather_rngs(dist_info)
                        if is_main:
                            saved = save_atomic(checkpoint(rank_rngs), ckpt_dir / f"step_{position.step:08d}.pt")
                            prune_checkpoints(ckpt_dir, keep_last)
                            log.write({"type": "event", "event": "checkpoint", "step": position.step,
                                       "time": time.time(), "path": str(saved)})
                            last_checkpoint = saved
                    if improved:
                        if saved is not None:
                            link_atomic(saved, ckpt_dir / BEST)
                        else:
                            save_atomic(checkpoint(None), ckpt_dir / BEST)
                    if finishing:
                        break
            if stop["requested"]:
                outcome = "interrupted"
                if is_main:
                    display.note(f"interrupted: stopped after step {position.step}; continue with --resume.")
    except BaseException as err:
        outcome = f"{type(err).__name__}: {err}"
        raise
    finally:
        display.close()
        if writer is not None:
            writer.close()
        if log is not None:
            log.write({"type": "event", "event": "end", "step": position.step, "time": time.time(),
                       "seconds": time.perf_counter() - started, "outcome": outcome})
            log.close()
    if dist_info.enabled:
        import torch.distributed as dist

        dist.barrier()  # no rank leaves (and tears the group down) while rank 0 still writes
    seconds = time.perf_counter() - started
    return RunSummary(
        run_dir=out_dir, step=position.step, epoch=position.epoch, losses=mean_losses, val=last_val,
        val_metric=data.metric,
        best_val=position.best_val, checkpoint=last_checkpoint, seconds=seconds,
        steps_per_second=(position.step - start_step) / seconds if seconds > 0 else 0.0,
        modules={name: unwrap(net) for name, net in nets.items()},
    )
