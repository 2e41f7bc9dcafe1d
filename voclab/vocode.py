"""Turn mels (or recordings) into audio with a trained checkpoint: ``voclab vocode``.

The top complaint about neural vocoders is a mel made with other settings than the
vocoder was trained on: the result is noise, and nothing says why. So every mel that
comes with its settings is checked against the checkpoint's :class:`MelConfig` and
refused with the differing fields named; a mel of the wrong shape is refused with the
expected ``(n_mels, frames)``.

Inputs
------
``*.wav/.flac/.ogg/.aiff``
    A recording: resampled to the checkpoint's rate, its mel computed with the
    checkpoint's settings (analysis-synthesis: the output has the input's length).
``*.npz``
    Arrays ``mel`` ``(n_mels, frames)`` and ``mel_config`` (a JSON string of
    ``MelConfig.to_dict()``); :func:`save_mel` writes one.
``*.npy``
    A bare ``(n_mels, frames)`` array, with its settings in a sidecar ``<name>.json``
    (a ``MelConfig`` dict). Without a sidecar it is accepted when its band count fits,
    with a warning that its settings could not be checked.

A recording at a lower sample rate than the checkpoint's has nothing above half its rate;
the vocoder fills that band with what it learned, so :func:`vocode` warns
(:class:`BandwidthWarning`). Official generator files are vocoded too (an official HiFi-GAN
``g_XXXXXXXX`` with its ``config.json`` beside it, an official MelGAN ``netG.pt``; see
:func:`voclab.checkpoint.read_official`); what voclab had to assume about one is printed as a
note on stderr.

An unconditional model (WaveGAN) has no mel to start from: :func:`generate` (``voclab
generate``) samples it, and :func:`vocode` refuses it — as :func:`generate` refuses a vocoder —
with the command to use instead. A pitched note model (GANSynth) is sampled the same way, at
one pitch (``--pitch 60``) or at the pitches its seeds draw from the training histogram.

Notebook: 04_wavegan, 05_gansynth, 07_hifigan, 08_shootout.
"""

from __future__ import annotations

import copy
import json
import math
import os
import secrets
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .audio import FORMATS, load, resample, save
from .checkpoint import CHUNK_FRAMES, Checkpoint, check_chunk_frames, load_checkpoint
from .config import resolve_device
from .errors import AudioFileNotFoundError, CheckpointError, ConfigError, UnsupportedFormatError
from .files import write_atomic
from .melfiles import MEL_FORMATS, read_mel, save_mel
from .spectral import mel_spectrogram

# read_mel and save_mel live in voclab.melfiles; they are part of vocoding, so they are here too
__all__ = ["vocode", "generate", "read_mel", "save_mel", "prepare_for_inference", "fast_generator",
           "FAST_TOLERANCE", "FAST_MIN_FRAMES", "check_output_folder",
           "SEEDS_FILE", "BandwidthWarning"]

#: What :func:`generate` writes beside the WAVs: the checkpoint, and the seed of every clip.
SEEDS_FILE = "seeds.json"


class BandwidthWarning(UserWarning):
    """A recording has a lower sample rate than the vocoder: the band above half its rate will be invented.

    Resampling 16 kHz speech to a 22.05 kHz vocoder's rate adds no content above 8 kHz; the
    vocoder, trained on full-band audio, fills the band between the recording's and its own
    Nyquist frequency with whatever its training suggests (the pretrained HiFi-GAN V1 was heard
    doing so). Low-pass the result at the recording's Nyquist frequency, or use a vocoder
    trained at the recording's rate.

    Notebook: 07_hifigan, 08_shootout.
    """


def prepare_for_inference(checkpoint: Checkpoint) -> Checkpoint:
    """Fold the generator's weight norm into plain weights (same output up to rounding, faster).

    The generator's own ``remove_weight_norm`` method is used when it has one, then its model
    module's function, else :func:`voclab.models.remove_weight_norm` (MelGAN's generator, an
    official ``netG.pt`` included, goes that way).

    Weight norm (``w = g · v / ‖v‖``) helps training; at inference time the product can
    be folded into plain weights once.

    Notebook: 07_hifigan.

    Parameters
    ----------
    checkpoint : Checkpoint

    Returns
    -------
    checkpoint : Checkpoint
        The same object, its generator changed in place.
    """
    from .models import remove_weight_norm  # any model: both weight-norm forms, spectral norm left alone

    generator = checkpoint.generator
    if callable(getattr(generator, "remove_weight_norm", None)):
        generator.remove_weight_norm()
    elif callable(getattr(checkpoint.module, "remove_weight_norm", None)):
        checkpoint.module.remove_weight_norm(generator)
    else:
        remove_weight_norm(generator)
    generator.eval()
    return checkpoint


# --------------------------------------------------------------------------- the inference fast path

#: Largest max |fast − plain| that :func:`fast_generator` accepts on its probe mel.
FAST_TOLERANCE = 1e-4
#: Mel frames (all inputs together) from which :func:`vocode` prepares the fast path: preparing it
#: costs about 2 s for V1 (the weights' spectra and the probe; 1.5–2.4 s measured), which 10–20 %
#: of V1's time pays back only from about a minute of audio (4096 frames: 47.6 s at 22.05 kHz, hop 256).
FAST_MIN_FRAMES = 4096


class _FFTConv1d(torch.nn.Module):
    """A stride-1 ``Conv1d`` computed by overlap-save FFT: the same sums, fewer multiplications.

    The signal is cut into overlapping blocks of ``n_fft`` samples; in each block's spectrum the
    channels are mixed by one complex matrix per frequency bin (precomputed from the weights),
    and the last ``n_fft − span`` samples of each block's inverse FFT are the conv's output.
    Short signals go through the conv itself: the FFT's fixed costs win there. Measured ratio
    direct / FFT on 2 EPYC cores (256 channels, k=11, d=1: 0.68 at 512 samples, 1.13 at 1024,
    1.61 at 2048; 128 channels, k=7, d=1: 0.87 at 2048, 1.13 at 4096).
    """

    def __init__(self, conv: torch.nn.Conv1d):
        super().__init__()
        (kernel,), (dilation,), (padding,) = conv.kernel_size, conv.dilation, conv.padding
        weight = conv.weight.detach()  # (out, in, kernel)
        self.conv = conv
        # shortest input for the FFT: long undilated kernels gain sooner than the rest
        self.min_length = 1024 if kernel >= 11 and dilation == 1 else 4096
        self.span = (kernel - 1) * dilation  # samples a kernel reaches beyond its first
        # 4× the span, at least 128: the blocks' overlap stays small and the per-bin matrices few
        self.n_fft = min(512, max(128, 1 << math.ceil(math.log2(4 * self.span))))
        self.padding = padding
        # torch's conv is a correlation: y[t] = Σ_m w[m] x[t + m d] = (h ∗ x)[t + span], h[span − m d] = w[m]
        h = weight.new_zeros(self.n_fft, *weight.shape[:2])  # (n_fft, out, in): the FFT runs down the first axis
        h[self.span - torch.arange(kernel) * dilation] = weight.permute(2, 0, 1)
        self.register_buffer("spectrum", torch.fft.rfft(h, dim=0).contiguous())  # (bins, out, in)
        bias = conv.bias.detach() if conv.bias is not None else weight.new_zeros(weight.shape[0])
        self.register_buffer("bias", bias[:, None].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in, T) -> (B, out, T + 2 pad - span)
        batch, _, length = x.shape
        if length < self.min_length:
            return self.conv(x)
        hop = self.n_fft - self.span  # new output samples per block
        out_length = length + 2 * self.padding - self.span
        blocks = -(-out_length // hop)
        x = F.pad(x, (self.padding, blocks * hop + self.span - length - self.padding))
        spectra = torch.fft.rfft(x.unfold(-1, self.n_fft, hop), dim=-1)  # (B, in, blocks, bins)
        mixed = torch.matmul(self.spectrum, spectra.permute(0, 3, 1, 2).contiguous())  # (B, bins, out, blocks)
        y = torch.fft.irfft(mixed.permute(0, 2, 3, 1).contiguous(), n=self.n_fft, dim=-1)[..., self.span:]
        return y.reshape(batch, -1, blocks * hop)[..., :out_length] + self.bias


def _rewrite_for_speed(module: torch.nn.Module) -> int:
    """Swap, in place, every wide long-kernel conv for its FFT equivalent; count them."""
    swapped = 0
    for name, child in module.named_children():
        if type(child) is torch.nn.Conv1d and child.groups == 1 and child.stride == (1,) \
                and child.padding_mode == "zeros" and not isinstance(child.padding, str) \
                and child.kernel_size[0] >= 7 and min(child.in_channels, child.out_channels) >= 128:
            # narrower or shorter convs ran as fast or faster direct (2 EPYC cores)
            setattr(module, name, _FFTConv1d(child))
            swapped += 1
        else:
            swapped += _rewrite_for_speed(child)
    return swapped


def fast_generator(generator: torch.nn.Module, mel_example=None, *,
                   tolerance: float = FAST_TOLERANCE) -> torch.nn.Module:
    """A copy of a HiFi-GAN generator with its wide long-kernel convs computed by FFT, or the generator itself.

    On a CPU the plain generator (weight norm removed, inference mode: the official code's
    arithmetic) already runs its convs near the machine's peak (oneDNN: ≈ 200 GFLOP/s on two
    EPYC cores, more than a 2048² matrix product's 174), so only less arithmetic makes it
    faster. Here every conv with at least 128 channels in and out and a kernel of 7 or more taps
    (HiFi-GAN V1's and V3's multi-receptive-field convs at the first two stages) is computed by
    overlap-save FFT convolution (Oppenheim & Schafer, *Discrete-Time Signal Processing*, §8.7):
    blocks of 128–256 samples, one complex channel-mixing matrix per frequency bin, so the work
    per sample no longer grows with the kernel length or its dilation (a k=11 conv on 128
    channels × 22,016 samples: 17–38 ms against 37–79 ms direct, quiet or contended). The
    weights' spectra are kept: ≈ 0.5 GB for V1. Signals too short to gain stay on the direct
    conv (see ``_FFTConv1d``).

    Tried and left out, each measured on the whole generator at 2 threads: a polyphase rewrite of
    the transposed convs (0.93–1.04×), MelGAN's two 1×1 convs as in-place matrix products
    (1.03× quiet, 0.98× contended, although a lone 1×1 conv runs twice as fast that way),
    ``torch.jit`` trace + freeze + ``optimize_for_inference`` (1.01–1.08×) and ``torch.compile``
    (1.25× on V2 and 1.01× on MelGAN in one run each, after ≈ 36 s of compiling). V2 and MelGAN
    have no layer this rewrites, so they come back as they are.

    The copy is checked on a probe mel against the generator, and the generator itself is
    returned when they differ by more than ``tolerance``, when nothing in it was rewritten, on
    a device other than the CPU, and for generators of other models.

    Measured (``cd benchmarks && python vocoder_speed.py --threads 2``: 5 s of speech, 2-core AMD
    EPYC shared with other jobs, the two paths interleaved; benchmarks/RESULTS.md): the fast
    path runs the pretrained universal V1 at 1.14× the plain path's speed (the official code's)
    quiet and 1.17× contended, max |difference| 3.2e-6; a random V1 1.11× / 1.15×. That is short
    of the 1.3× issue 13 asks for. V3's convs are too narrow or too short at 5 s to take the FFT
    (0.97× / 0.99×, noise); V2 and MelGAN run plain.

    Notebook: 08_shootout.

    Parameters
    ----------
    generator : torch.nn.Module
        Weight norm removed (:func:`prepare_for_inference`); it is not changed. Only a
        :class:`voclab.models.hifigan.Generator` is rewritten; any other comes back as it is.
    mel_example : array_like or torch.Tensor, optional [shape=(n_mels, frames) or (B, n_mels, frames)]
        The probe for the check; default: 128 frames of seeded noise around a speech mel's level.
    tolerance : float
        Largest max |fast − plain| accepted on the probe.

    Returns
    -------
    generator : torch.nn.Module
        In eval mode: ``(B, n_mels, frames) → (B, 1, frames · hop)``, like the one passed in.

    Examples
    --------
    >>> from voclab.models.hifigan import Config, Generator
    >>> plain = Generator(Config.v3()).remove_weight_norm().eval()
    >>> fast = fast_generator(plain)
    >>> mel = torch.randn(1, 80, 40) - 5
    >>> with torch.inference_mode():
    ...     bool((fast(mel) - plain(mel)).abs().max() <= 1e-4)
    True
    """
    from .models import hifigan

    parameter = next(generator.parameters(), None)
    if not isinstance(generator, hifigan.Generator) or parameter is None or parameter.device.type != "cpu" \
            or parameter.dtype != torch.float32:
        return generator
    if mel_example is None:  # 128 frames: the FFT runs in V1's first-stage k=11 convs and every second-stage one
        noise = torch.Generator().manual_seed(0)
        mel_example = torch.randn(1, generator.n_mels, 128, generator=noise) - 5.0  # log-mel of speech: about -11…2
    mel = torch.as_tensor(mel_example, dtype=torch.float32)
    mel = mel[None] if mel.ndim == 2 else mel
    fast = copy.deepcopy(generator).eval()
    if not _rewrite_for_speed(fast):
        return generator
    with torch.inference_mode():
        difference = (fast(mel) - generator(mel)).abs().max().item()
    return fast if difference <= tolerance else generator


def check_output_folder(out_dir: str | Path) -> Path:
    """Make sure WAVs can be written to ``out_dir``, before any work is done.

    An existing folder must take a new file (one is created and removed again); a folder
    that does not exist yet is not created here (an input refused later leaves nothing
    behind), but the nearest existing folder above it must be a folder that takes one.

    Notebook: 07_hifigan.

    Parameters
    ----------
    out_dir : str or Path

    Returns
    -------
    out_dir : Path

    Raises
    ------
    voclab.errors.ConfigError
        ``out_dir`` (or a folder above it) is a file, or cannot be written to.
    """
    out_dir = Path(out_dir)
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == out_dir else f" (so {out_dir} cannot be created)"
        raise ConfigError(f"The output folder {existing} is a file{where}: pass a folder with -o, e.g. "
                          f"-o {existing.with_suffix('')}_vocoded.")
    try:  # permissions, a read-only file system, a full disk: one empty file tells them all
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".voclab-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"Cannot write to {existing} ({err.strerror or err}): choose another output folder "
                          "with -o, or change its permissions.") from None
    return out_dir


def vocode(checkpoint: str | Path | Checkpoint, inputs, out_dir: str | Path, *, device: str = "cpu",
           chunk_frames: int | None = CHUNK_FRAMES, fast: bool = True) -> list[Path]:
    """Vocode recordings and mel files with a checkpoint; write ``OUT_DIR/<name>.wav``.

    The output folder and every input are checked before anything is loaded or generated,
    so a bad argument stops the command before it has done half the work. Long inputs are
    vocoded in chunks of ``chunk_frames`` mel frames (see :meth:`Checkpoint.vocode`): the
    memory stays bounded and the audio is that of one pass (max |difference| ≤ 6e-8). The
    generator runs on :func:`fast_generator`'s CPU fast path when the inputs together reach
    :data:`FAST_MIN_FRAMES` mel frames and it gives the same audio within 1e-4, else as it is.

    Notebook: 07_hifigan, 08_shootout.

    Parameters
    ----------
    checkpoint : str, Path or Checkpoint
        A checkpoint file (a slim one too), a run folder (latest checkpoint), ``RUN_DIR/best``,
        ``pretrained:NAME``, an official HiFi-GAN ``g_XXXXXXXX`` (with ``config.json`` beside
        it) or MelGAN ``netG.pt``, or a loaded one.
    inputs : str, Path, or sequence of str or Path
        Audio files and ``.npz``/``.npy`` mels (one path alone is one input). A recording
        sampled below the checkpoint's rate is vocoded with a :class:`BandwidthWarning`.
    out_dir : str or Path
    device : {"cpu", "cuda", "cuda:N", "mps"}
    chunk_frames : int or None
        Mel frames per pass of the generator (default 1024: 11.9 s at 22.05 kHz); ``None``:
        each input in one pass.
    fast : bool
        Use :func:`fast_generator` for inputs of :data:`FAST_MIN_FRAMES` frames or more (default);
        ``False``: the plain generator always.

    Returns
    -------
    paths : list of Path
        The written WAV files, in input order.

    Raises
    ------
    voclab.errors.MelMismatchError, voclab.errors.ShapeError, voclab.errors.UnsupportedFormatError,
    voclab.errors.AudioFileNotFoundError, voclab.errors.CheckpointError, voclab.errors.ConfigError
    """
    device = resolve_device(device)  # 'tpu', 'cuda' without a GPU: one clear error before any work
    # one path is one input: iterating over a str would vocode its characters
    inputs = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
    if not inputs:
        raise AudioFileNotFoundError("Nothing to vocode: pass audio files or .npz/.npy mels.")
    check_chunk_frames(chunk_frames)
    out_dir = check_output_folder(out_dir)
    stems: dict[str, Path] = {}
    for path in inputs:
        if path.stem in stems:
            raise ConfigError(f"{stems[path.stem]} and {path} would both write {out_dir / (path.stem + '.wav')}; rename one.")
        stems[path.stem] = path
        if path.suffix.lower() not in FORMATS and path.suffix.lower() not in MEL_FORMATS:
            raise UnsupportedFormatError(
                f"{path.name}: vocode reads audio ({', '.join(sorted(FORMATS))}) or mels (.npz, .npy)."
            )
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, device=device)
    if ckpt.kind != "vocoder":
        what = "an unconditional" if ckpt.kind == "unconditional" else "a pitch-conditional (pitched)"
        made = "random latents" if ckpt.kind == "unconditional" else "random latents and a pitch"
        raise CheckpointError(
            f"{ckpt.path} is {what} {ckpt.model}: it makes audio from {made}, not from mel "
            f"spectrograms, so it cannot vocode. Sample it instead: voclab generate {ckpt.path} -n 16 -o OUT_DIR."
        )
    note = (ckpt.state.get("imported") or {}).get("note")
    if note:  # e.g. the mel settings voclab attached to an official MelGAN file that carries none
        print(f"voclab: note: {note}", file=sys.stderr)
    prepare_for_inference(ckpt)
    mel_cfg = ckpt.mel

    jobs = []  # (name, log_mel, length to trim/pad to or None)
    for path in inputs:
        if path.suffix.lower() in MEL_FORMATS:
            jobs.append((path.stem, read_mel(path, mel_cfg), None))
        else:
            y, sr_in = load(path)
            if sr_in < mel_cfg.sample_rate:
                warnings.warn(BandwidthWarning(
                    f"{path.name} is sampled at {sr_in} Hz, below the checkpoint's {mel_cfg.sample_rate} Hz: it holds "
                    f"nothing above {sr_in / 2:g} Hz, and the vocoder will invent the band {sr_in / 2:g}-"
                    f"{mel_cfg.sample_rate / 2:g} Hz. Low-pass the output at {sr_in / 2:g} Hz, or vocode with a "
                    f"model trained at {sr_in} Hz."), stacklevel=2)
            if sr_in != mel_cfg.sample_rate:
                y = resample(y, sr_in, mel_cfg.sample_rate)
            log_mel = mel_spectrogram(y, mel_cfg)
            frames = max(1, len(y) // mel_cfg.hop_length)
            jobs.append((path.stem, np.asarray(log_mel[:, :frames], dtype=np.float32), len(y)))

    written = []
    plain = ckpt.generator
    if fast and sum(log_mel.shape[-1] for _, log_mel, _ in jobs) >= FAST_MIN_FRAMES:
        ckpt.generator = fast_generator(plain)  # for this call only: a Checkpoint passed in keeps its own
    try:
        for name, log_mel, length in jobs:
            audio = ckpt.vocode(log_mel, chunk_frames=chunk_frames)  # (frames * hop,)
            if length is not None:  # analysis-synthesis: give back as many samples as came in
                audio = audio[:length] if len(audio) >= length else np.pad(audio, (0, length - len(audio)))
            written.append(save(out_dir / f"{name}.wav", np.clip(audio, -1.0, 1.0), mel_cfg.sample_rate))
    finally:
        ckpt.generator = plain
    return written


def generate(checkpoint: str | Path | Checkpoint, n: int, out_dir: str | Path, *, seed: int | None = None,
             pitch: int | None = None, device: str = "cpu") -> list[Path]:
    """Sample an unconditional model (WaveGAN) or a pitched one (GANSynth): ``n`` WAVs and a ``seeds.json`` in ``out_dir``.

    Clip ``i`` is made from the latent of seed ``seed + i`` (:func:`voclab.checkpoint.latents_from_seeds`,
    from the model's own latent distribution), at the checkpoint's sample rate and slice length:
    ``OUT_DIR/<model>_<seed>.wav``. ``seeds.json`` records the checkpoint, its step, the rate, the
    length, the latent distribution and each file's seed, so any clip can be made again
    (``--seed`` with that seed, ``-n 1``). A run's validation previews are seeds 0, 1, …:
    ``--seed 0`` writes them again. Without ``seed`` a random one is drawn (and recorded).
    The output folder and the arguments are checked before the checkpoint is loaded.

    A pitched model's notes are ``OUT_DIR/<model>_<seed>_pitch_<MIDI>.wav``: all at ``pitch``,
    or, without it, each at the pitch its seed draws from the training pitch histogram the
    checkpoint carries; ``seeds.json`` records each clip's pitch and the model's range, and
    ``--seed S --pitch P`` makes one again. A pitch outside the model's range is refused
    with the range.

    Notebook: 04_wavegan, 05_gansynth.

    Parameters
    ----------
    checkpoint : str, Path or Checkpoint
        A checkpoint file (a slim one too), a run folder (latest checkpoint), ``RUN_DIR/best``,
        or a loaded one.
    n : int
        Clips to make.
    out_dir : str or Path
    seed : int, optional
        Seed of the first clip (>= 0).
    pitch : int, optional
        A MIDI pitch for a pitched model (within its ``pitch_min``-``pitch_max``); an unconditional
        model refuses it.
    device : {"cpu", "cuda", "cuda:N", "mps"}

    Returns
    -------
    paths : list of Path
        The WAV files, in seed order.

    Raises
    ------
    voclab.errors.CheckpointError
        A vocoder checkpoint (use ``voclab vocode``), or an unreadable one.
    voclab.errors.ConfigError
        ``n`` < 1, a negative seed, a pitch for an unconditional model or outside a pitched model's
        range, an output folder that cannot be written to.
    """
    device = resolve_device(device)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"-n is the number of clips to make: a whole number of at least 1 (got {n!r}).")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ConfigError(f"--seed must be a whole number >= 0 (got {seed!r}).")
    out_dir = check_output_folder(out_dir)
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, device=device)
    if ckpt.kind == "vocoder":
        raise CheckpointError(
            f"{ckpt.path} is a {ckpt.model} vocoder: it turns mel spectrograms into audio and cannot make audio from "
            f"nothing. Vocode with it instead: voclab vocode {ckpt.path} RECORDING.wav -o {out_dir}."
        )
    if seed is None:
        seed = secrets.randbelow(2**31)
    pitched = ckpt.kind == "pitched"
    pitches = ckpt.pitches(n, seed=int(seed), pitch=pitch) if pitched else None  # checks the range first
    audio = ckpt.generate(n, seed=int(seed), pitch=pitch)  # (n, slice_len)
    written = []
    for i, clip in enumerate(audio):
        name = f"{ckpt.model}_{seed + i:08d}" + (f"_pitch_{int(pitches[i]):03d}" if pitched else "")
        written.append(save(out_dir / f"{name}.wav", np.clip(clip, -1.0, 1.0), ckpt.sample_rate))
    cfg = ckpt.cfg
    record = {
        "checkpoint": str(ckpt.path), "model": ckpt.model, "step": ckpt.step, "sample_rate": ckpt.sample_rate,
        "samples": int(audio.shape[1]), "latent": {"dim": getattr(cfg, "latent_dim", None),
                                                   "distribution": getattr(cfg, "latent_distribution", None)},
        "clips": [{"file": path.name, "seed": seed + i, **({"pitch": int(pitches[i])} if pitched else {})}
                  for i, path in enumerate(written)],
    }
    if pitched:
        record["pitch"] = pitch  # None: each seed drew its own from the training histogram
        record["pitch_range"] = list(ckpt.pitch_range)
    write_atomic(out_dir / SEEDS_FILE, json.dumps(record, indent=2) + "\n")
    return written
