"""WaveGAN: the paper's sizes, a phase shuffle that really shuffles, WGAN-GP per example, the step, the data.

Issue 11 §1. Everything runs on tiny networks (d = 2, 2048 samples) or on the meta device.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn

from voclab.checkpoint import latents_from_seeds, load_checkpoint, read_checkpoint
from voclab.config import load_config
from voclab.datasets import AudioSlices, peak_normalize
from voclab.errors import ConfigError, ShapeError
from voclab.models import model_kind
from voclab.models import wavegan as W
from voclab.train import train

QUIET = {"tensorboard": False, "progress": False}
TINY = ["dim=2", "slice_len=2048", "batch_size=3", "n_critic=2", "preview_n=2", "ndb_samples=24", "ndb_bins=4"]


def tiny(**changes) -> W.Config:
    return W.Config(dim=2, slice_len=2048, batch_size=3, n_critic=2, **changes)


def write_hits(folder, n=12, sr=16000, seed=0):
    """Synthetic one-shot hits of different lengths (some shorter than a slice): decaying tones and noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        length = int(rng.integers(sr // 16, sr // 4))
        t = np.arange(length) / sr
        body = np.sin(2 * np.pi * rng.uniform(60, 400) * t) if i % 2 else rng.normal(0, 0.5, length)
        sf.write(folder / f"hit_{i:02d}.wav", (0.7 * body * np.exp(-t * rng.uniform(10, 40))).astype(np.float32), sr)
    return folder


# --------------------------------------------------------------------------- the paper's networks


def test_paper_size_parameter_counts():
    with torch.device("meta"):  # no memory, no time: only the shapes
        modules = W.build(load_config("wavegan", "wavegan"))
        assert W.count_parameters(modules["generator"]) == 19_065_345
        assert W.count_parameters(modules["discriminator"]) == 17_427_969
        assert W.count_parameters(W.Generator(upsample="nn")) == 19_065_345  # nearest + conv: the same weights
        assert W.count_parameters(W.Generator(post_filter_len=512)) == 19_065_345 + 512  # 512 taps, no bias
        assert W.count_parameters(W.Discriminator(use_batchnorm=True)) == 17_427_969 + 2 * (128 + 256 + 512 + 1024)
    # the same count from the official layer list: dense 100 -> 16·1024, then five k25 transposed convs
    widths = [1024, 512, 256, 128, 64, 1]
    expected = 100 * 16 * 1024 + 16 * 1024 + sum(a * b * 25 + b for a, b in zip(widths[:-1], widths[1:]))
    assert expected == 19_065_345


@pytest.mark.parametrize("slice_len", W.SLICE_LENGTHS)
@pytest.mark.parametrize("upsample", ["zeros", "nn"])
def test_every_slice_length_gives_exactly_that_many_samples(slice_len, upsample):
    G = W.Generator(dim=1, slice_len=slice_len, upsample=upsample, post_filter_len=16)
    D = W.Discriminator(dim=1, slice_len=slice_len)
    audio = G(W.sample_latents(W.Config(), 2))
    assert audio.shape == (2, 1, slice_len) and D(audio).shape == (2,)
    start, channels, strides = W.layout(slice_len, 1)
    assert start * np.prod(strides) == slice_len
    # the official repo's longer slices: one more layer each, the last of stride 2 for 32768
    assert len(strides) == (6 if slice_len > 16384 else 5)
    assert strides[-1] == (2 if slice_len == 32768 else 4)


def test_transposed_conv_is_cropped_as_tensorflows_same_padding():
    layer = W.UpsampleLayer(3, 2, kernel_len=25, stride=4)
    full = F.conv_transpose1d(x := torch.randn(2, 3, 7), layer.conv.weight, layer.conv.bias, stride=4)  # 4·6 + 25
    # TF keeps stride · T samples from (kernel − stride) // 2 = 10 on
    torch.testing.assert_close(layer(x), full[..., 10:10 + 28])
    odd = W.UpsampleLayer(3, 2, kernel_len=25, stride=2)  # 32768's last layer: 23 extra, 11 before
    full = F.conv_transpose1d(x, odd.conv.weight, odd.conv.bias, stride=2)
    torch.testing.assert_close(odd(x), full[..., 11:11 + 14])


def test_weights_start_as_tensorflows_layers_do():
    G = W.Generator(dim=2, slice_len=2048)
    assert all(not m.bias.detach().any() for m in G.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose1d)))
    w = G.upconvs[0].conv.weight.detach()  # Glorot uniform: |w| <= sqrt(6 / ((in + out) · k))
    assert float(w.abs().max()) <= (6 / ((32 + 16) * 25)) ** 0.5


@pytest.mark.parametrize("change, words", [
    ("slice_len=10000", "slice_len must be one of 1024, 2048, 4096, 8192, 16384, 32768, 65536"),
    ("upsample=linear", "upsample must be 'zeros'"),
    ("latent_distribution=gauss", "latent_distribution must be 'uniform'"),
    ("dim=0", "dim must be a positive integer"),
    ("n_critic=0", "n_critic must be a positive integer"),
    ("ndb_bins=1", "ndb_bins must be an integer >= 2"),
    ("random_gain=[1, 0.5]", "random_gain must be (low, high)"),
])
def test_bad_configs_are_refused_by_name(change, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_config("wavegan", "wavegan_small", [change])


def test_wrong_latents_are_a_shape_error():
    with pytest.raises(ShapeError, match="sample_latents"):
        W.Generator(dim=2, slice_len=2048)(torch.zeros(2, 1, 100))


def test_latents_come_from_the_models_distribution_and_their_seeds():
    z = W.sample_latents(W.Config(), 4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 100) and float(z.min()) >= -1 and float(z.max()) <= 1
    assert abs(float(z.mean())) < 0.01 and abs(float(z.var()) - 1 / 3) < 0.01  # U(−1, 1)
    normal = W.sample_latents(W.Config(latent_distribution="normal"), 4000)
    assert float(normal.abs().max()) > 1 and abs(float(normal.var()) - 1) < 0.02
    cfg = W.Config()
    together = latents_from_seeds(W, cfg, [5, 6, 7])
    assert torch.equal(together[1:2], latents_from_seeds(W, cfg, [6]))  # a clip depends on its seed alone


# --------------------------------------------------------------------------- phase shuffle


def test_shift_with_reflection_mirrors_the_edge():
    x = torch.arange(8.0).view(1, 1, 8)
    assert W.shift_with_reflection(x, 3).flatten().tolist() == [3, 2, 1, 0, 1, 2, 3, 4]
    assert W.shift_with_reflection(x, -3).flatten().tolist() == [3, 4, 5, 6, 7, 6, 5, 4]
    assert torch.equal(W.shift_with_reflection(x, 0), x)
    batch = torch.randn(4, 3, 16)
    shifts = torch.tensor([-2, 0, 1, 2])
    per_example = W.shift_with_reflection(batch, shifts)
    for b, k in enumerate(shifts.tolist()):
        assert torch.equal(per_example[b], W.shift_with_reflection(batch[b:b + 1], k)[0])


def _shift_of(out: torch.Tensor, x: torch.Tensor, n: int) -> list[int]:
    """Which shift in [−n, n] turned each example of x into out (ValueError when none did)."""
    found = []
    for b in range(len(x)):
        matches = [k for k in range(-n, n + 1) if torch.equal(out[b], W.shift_with_reflection(x[b:b + 1], k)[0])]
        if not matches:
            raise ValueError("not a reflected shift")
        found.append(matches[0])
    return found


def test_phase_shuffle_shifts_reflects_and_reaches_every_shift():
    torch.manual_seed(0)
    x = torch.randn(5, 3, 32)
    seen = []
    for _ in range(300):
        out = W.phase_shuffle(x, 2)
        assert out.shape == x.shape
        shifts = _shift_of(out, x, 2)  # a reflected shift of the input: never zeros, never another length
        assert len(set(shifts)) == 1  # the official way: one shift for the whole batch
        seen.append(shifts[0])
    counts = np.bincount(np.array(seen) + 2, minlength=5)
    assert (counts > 0).all(), f"shifts never drawn: {counts}"  # all of −2 … 2 happen
    assert counts.min() >= 30  # about uniform: 60 expected of each
    assert sum(k != 0 for k in seen) >= 200  # it shifts (the popular port's inverted flag never does)
    # the edge is a mirror image, not zeros
    edge = W.phase_shuffle(torch.arange(1.0, 9.0).view(1, 1, 8), 2)
    assert float(edge.min()) > 0


def test_per_example_phase_shuffle_draws_a_shift_for_each_example():
    torch.manual_seed(1)
    x = torch.randn(6, 2, 32)
    differing = sum(len(set(_shift_of(W.phase_shuffle(x, 2, per_example=True), x, 2))) > 1 for _ in range(20))
    assert differing >= 15
    assert torch.equal(W.phase_shuffle(x, 0), x)


def test_phase_shuffle_runs_in_training_mode_only():
    torch.manual_seed(0)
    D = W.Discriminator(dim=2, slice_len=2048)
    x = torch.randn(3, 1, 2048)
    with torch.no_grad():
        D.eval()  # the critic without its regulariser, e.g. to probe it with shifted inputs
        assert torch.equal(D(x), D(x))
        D.train()  # training: every call draws new shifts, so the same input scores differently
        scores = torch.stack([D(x) for _ in range(8)])
        assert float((scores - scores[0]).abs().max()) > 0
        off = W.Discriminator(dim=2, slice_len=2048, phase_shuffle=0).train()  # what a port that never shuffles does
        assert torch.equal(off(x), off(x))
    assert [m.n for m in D.modules() if isinstance(m, W.PhaseShuffle)] == [2, 2, 2, 2]  # after the first four layers


def test_phase_shuffle_is_reproducible_and_refuses_too_short_maps():
    x = torch.randn(2, 2, 16)
    torch.manual_seed(3)
    a = W.phase_shuffle(x, 2, per_example=True)
    torch.manual_seed(3)
    assert torch.equal(a, W.phase_shuffle(x, 2, per_example=True))  # the CPU stream a checkpoint saves
    with pytest.raises(ShapeError, match="needs more than 2 samples"):
        W.phase_shuffle(torch.randn(1, 1, 2), 2)


# --------------------------------------------------------------------------- WGAN-GP


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its gradient is w everywhere, so the penalty is (‖w‖ − 1)²."""

    def __init__(self, length: int, norm: float):
        super().__init__()
        self.w = nn.Parameter(torch.full((1, 1, length), norm / length ** 0.5))

    def forward(self, x):
        return (x * self.w).sum(dim=(1, 2))


def test_gradient_penalty_of_a_linear_critic():
    critic = LinearCritic(16, norm=3.0)
    real, fake = torch.randn(4, 1, 16), torch.randn(4, 1, 16)
    assert abs(W.gradient_penalty(critic, real, fake).item() - 4.0) < 1e-5  # (3 − 1)²


def test_gradient_penalty_takes_one_norm_per_example():
    def critic(x):  # D(x) = ½‖x‖²: its gradient at x is x itself
        return 0.5 * (x ** 2).sum(dim=(1, 2))

    real = torch.zeros(2, 1, 4)
    fake = torch.tensor([[[0.5, 0, 0, 0]], [[3.0, 0, 0, 0]]])
    alpha = torch.ones(2)  # x̂ = fake: gradient norms 0.5 and 3
    ours = W.gradient_penalty(critic, real, fake, alpha=alpha).item()
    assert abs(ours - ((0.5 - 1) ** 2 + (3 - 1) ** 2) / 2) < 1e-6  # 2.125
    # the mistake: one norm over the whole batch's gradient
    x = fake.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    whole_batch = float((grad.norm() - 1) ** 2)
    assert abs(whole_batch - ours) > 1.0


def test_gradient_penalty_reaches_the_critics_weights():
    critic = LinearCritic(16, norm=3.0)
    W.gradient_penalty(critic, torch.randn(4, 1, 16), torch.randn(4, 1, 16)).backward()
    # d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖: only there with create_graph=True
    expected = 2 * (3.0 - 1) * critic.w.detach() / 3.0
    torch.testing.assert_close(critic.w.grad, expected)


def test_gradient_penalty_interpolates_each_example_with_its_own_weight_and_detaches():
    seen = []
    scale = nn.Parameter(torch.tensor(2.0))

    def critic(x):
        seen.append(x.detach().clone())
        return scale * x.sum(dim=(1, 2))

    real = torch.zeros(6, 1, 8, requires_grad=True)
    fake = torch.ones(6, 1, 8, requires_grad=True)
    torch.manual_seed(0)
    penalty = W.gradient_penalty(critic, real, fake)
    weights = seen[0][:, 0, :]  # x̂ = real + α (fake − real) = α here
    assert torch.equal(weights, weights[:, :1].expand_as(weights))  # one weight per example ...
    assert len(set(weights[:, 0].tolist())) == 6  # ... each its own
    penalty.backward()
    assert real.grad is None and fake.grad is None  # a term of the critic's loss only
    assert scale.grad is not None
    seen.clear()
    W.gradient_penalty(critic, real, fake, alpha=torch.tensor([0, 1, 0, 1, 0, 1.0]))
    assert seen[0][:, 0, 0].tolist() == [0, 1, 0, 1, 0, 1]
    with pytest.raises(ShapeError, match="one interpolation weight per example"):
        W.gradient_penalty(critic, real, fake, alpha=torch.rand(6, 1, 1))


def test_wasserstein_losses():
    assert float(W.discriminator_loss(torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 1.0]))) == -3.0
    assert float(W.generator_loss(torch.tensor([-1.0, 3.0]))) == -1.0


# --------------------------------------------------------------------------- the step


def _step_setup(cfg):
    torch.manual_seed(0)
    modules = W.build(cfg)
    optimizers, schedulers = W.make_optimizers(modules, cfg)
    batch = {"audio": torch.rand(cfg.n_critic * cfg.batch_size, 1, cfg.slice_len) * 2 - 1}
    return modules, optimizers, batch


def test_train_step_updates_the_critic_n_critic_times_and_the_generator_once():
    cfg = tiny()
    modules, optimizers, batch = _step_setup(cfg)
    before = {name: [p.detach().clone() for p in m.parameters()] for name, m in modules.items()}
    losses = W.train_step(modules, optimizers, batch, cfg)
    assert set(losses) == {"loss_d", "wasserstein", "gradient_penalty", "loss_g"}
    assert all(np.isfinite(v) for v in losses.values())
    assert abs(losses["loss_d"] - (-losses["wasserstein"] + cfg.gp_lambda * losses["gradient_penalty"])) < 1e-4
    for name, m in modules.items():
        for (key, p), old in zip(m.named_parameters(), before[name]):
            if name == "discriminator" and key == "output.bias":
                # a Wasserstein critic's last bias adds to real and fake scores alike: its gradient is 0
                assert torch.equal(p, old)
            else:
                assert not torch.equal(p, old), f"{name}.{key} not updated"
    steps = {name: {int(s["step"]) for s in opt.state.values()} for name, opt in optimizers.items()}
    assert steps == {"discriminator": {cfg.n_critic}, "generator": {1}}
    with pytest.raises(ShapeError, match="n_critic=2 batches"):
        W.train_step(modules, optimizers, {"audio": torch.zeros(5, 1, 2048)}, cfg)


def test_train_step_under_bf16_keeps_the_waveform_and_losses_in_float32():
    cfg = tiny(post_filter=True, post_filter_len=32)
    modules, optimizers, batch = _step_setup(cfg)
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    losses = W.train_step(modules, optimizers, batch, cfg, autocast=autocast)
    assert all(np.isfinite(v) for v in losses.values())
    with autocast():
        assert modules["generator"](torch.zeros(2, 100)).dtype == torch.float32


def test_nn_upsampling_and_batch_norm_train_too():
    cfg = tiny(upsample="nn", use_batchnorm=True, phase_shuffle_per_example=True)
    modules, optimizers, batch = _step_setup(cfg)
    assert all(np.isfinite(v) for v in W.train_step(modules, optimizers, batch, cfg).values())


def test_wavegan_is_an_unconditional_model():
    assert model_kind(W) == "unconditional" and W.batches_per_step(tiny()) == 2


# --------------------------------------------------------------------------- data


def test_slices_from_the_start_padded_and_reproducible(tmp_path):
    write_hits(tmp_path / "hits", n=3)
    files = sorted((tmp_path / "hits").glob("*.wav"))
    first = AudioSlices(files, 16000, 8192, first_slice=True)
    y, _ = sf.read(files[0], dtype="float32")
    item = first[0]["audio"]
    assert item.shape == (1, 8192)
    expected = np.pad(peak_normalize(y), (0, 8192 - len(y)))[:8192]
    np.testing.assert_allclose(item[0].numpy(), expected, atol=1e-6)
    crops = AudioSlices(files, 16000, 512, seed=3)  # longer clips: a random offset, a pure function of the seed
    a = [crops[i]["audio"] for i in range(3)]
    crops.set_epoch(1)
    assert any(not torch.equal(x, crops[i]["audio"]) for i, x in enumerate(a))
    crops.set_epoch(0)
    assert all(torch.equal(x, crops[i]["audio"]) for i, x in enumerate(a))
    reference = first.reference()
    assert reference.shape == (3, 8192) and np.allclose(reference[0], expected, atol=1e-6)


def test_augmentation_transposes_delays_and_scales(tmp_path):
    sr, f0 = 16000, 1000.0
    t = np.arange(sr // 2) / sr
    sf.write(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), sr)
    files = [tmp_path / "tone.wav"]
    shifted = AudioSlices(files, sr, 4096, first_slice=True, pitch_shift=2.0, min_items=12)
    peaks = []
    for i in range(12):
        spectrum = np.abs(np.fft.rfft(shifted[i]["audio"][0].numpy() * np.hanning(4096)))
        peaks.append(np.argmax(spectrum) * sr / 4096)
    assert min(peaks) > f0 * 2 ** (-2.2 / 12) and max(peaks) < f0 * 2 ** (2.2 / 12)  # within ±2 semitones
    assert max(peaks) - min(peaks) > 50  # and not all the same
    delayed = AudioSlices(files, sr, 4096, first_slice=True, time_shift=200, min_items=12)
    starts = [int(np.argmax(np.abs(delayed[i]["audio"][0].numpy()) > 1e-4)) for i in range(12)]
    assert max(starts) > 1 and max(starts) <= 201
    quiet = AudioSlices(files, sr, 4096, first_slice=True, gain_range=(0.1, 0.2), min_items=6)
    assert all(0.09 < float(quiet[i]["audio"].abs().max()) < 0.2 for i in range(6))
    assert np.allclose(quiet.reference()[0], AudioSlices(files, sr, 4096, first_slice=True).reference()[0])


# --------------------------------------------------------------------------- through the shared loop


def test_resume_is_bitwise_exact(tmp_path):
    data = write_hits(tmp_path / "hits")
    cfg = load_config("wavegan", "wavegan_small", TINY)
    common = dict(log_every=1, val_every=2, ckpt_every=100, **QUIET)
    train("wavegan", cfg, data, tmp_path / "straight", steps=4, **common)
    train("wavegan", cfg, data, tmp_path / "split", steps=3, **common)  # stops mid-epoch (2 steps an epoch)
    assert train("wavegan", None, data, tmp_path / "split", steps=4, resume=True, **common).step == 4
    a, b = (torch.load(tmp_path / run / "checkpoints" / "step_00000004.pt", weights_only=True)
            for run in ("straight", "split"))
    for name in a["modules"]:
        for key, value in a["modules"][name].items():
            assert torch.equal(value, b["modules"][name][key]), f"{name}.{key} differs after resuming"
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    rows = {run: [json.loads(line) for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
            for run in ("straight", "split")}
    losses = {run: {r["step"]: r["losses"] for r in rows[run] if r["type"] == "train"} for run in rows}
    assert losses["split"] == losses["straight"] and sorted(losses["split"]) == [1, 2, 3, 4]


def test_validation_writes_previews_and_best_follows_ndb(tmp_path, monkeypatch):
    import voclab.metrics

    data = write_hits(tmp_path / "hits")
    scores = iter([3, 1, 2])
    calls = []

    def fake_ndb(real, generated, k=50, *, sample_rate=16000, seed=0):
        calls.append((np.shape(real), np.shape(generated), k, sample_rate))

        class Result:
            bins = next(scores)

        Result.k = k
        return Result

    monkeypatch.setattr(voclab.metrics, "ndb", fake_ndb)
    cfg = load_config("wavegan", "wavegan_small", TINY)
    summary = train("wavegan", cfg, data, tmp_path / "run", steps=3, log_every=1, val_every=1, ckpt_every=1,
                    **QUIET)
    # 12 real first slices (k = min(4, 12 // 2)) against the 24 fixed latents, at the config's rate
    assert calls == [((12, 2048), (24, 2048), 4, 16000)] * 3
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    val = [r for r in rows if r["type"] == "val"]
    assert [(r["ndb"], r["best"]) for r in val] == [(3, True), (1, True), (2, False)]
    assert summary.best_val == 1 and summary.val_metric == "ndb"
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["step"] == 2  # lower NDB is better
    for step in (1, 2, 3):
        previews = sorted(p.name for p in (tmp_path / "run" / "samples" / f"step_{step:06d}").iterdir())
        assert previews == ["seed_0000.wav", "seed_0001.wav"]
    audio, sr = sf.read(tmp_path / "run" / "samples" / "step_000003" / "seed_0001.wav", dtype="float32")
    assert sr == 16000 and audio.shape == (2048,)
    ckpt = load_checkpoint(tmp_path / "run")  # the previews are seeds 0, 1 of the checkpoint's generator
    np.testing.assert_allclose(ckpt.generate(2, seed=0)[1], audio, atol=1e-4)
    assert ckpt.mel is None and ckpt.sample_rate == 16000 and ckpt.kind == "unconditional"
    state = read_checkpoint(tmp_path / "run")
    assert (state["config"]["sample_rate"], state["config"]["slice_len"], state["config"]["latent_distribution"],
            state["config"]["latent_dim"]) == (16000, 2048, "uniform", 100)
    assert sorted(p.name for p in (tmp_path / "run" / "samples" / "reference").iterdir()) == ["real_00.wav",
                                                                                            "real_01.wav"]


def test_validation_with_the_real_ndb(tmp_path):
    data = write_hits(tmp_path / "hits")
    cfg = load_config("wavegan", "wavegan_small", TINY)
    summary = train("wavegan", cfg, data, tmp_path / "run", steps=1, **QUIET)
    row = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
           if '"val"' in line][-1]
    assert row["ndb_k"] == 4 and 0 <= row["ndb"] <= 4 and summary.val == row["ndb"]


def test_an_unconditional_model_takes_no_mels(tmp_path):
    data = write_hits(tmp_path / "hits", n=4)
    with pytest.raises(ConfigError, match="takes no mels"):
        train("wavegan", load_config("wavegan", "wavegan_small", TINY), data, tmp_path / "run", steps=1,
              mels_dir=tmp_path, **QUIET)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, data: str, out: str, results: str) -> None:
    import os
    import warnings

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = load_config("wavegan", "wavegan_small", TINY[:2] + ["batch_size=4"] + TINY[3:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = train("wavegan", cfg, data, out, steps=3, log_every=1, val_every=2, ckpt_every=100, **QUIET)
    torch.save({"step": summary.step, "modules": {k: m.state_dict() for k, m in summary.modules.items()}},
               f"{results}/rank{rank}.pt")


def test_ddp_with_the_gradient_penalty_keeps_the_ranks_in_step(tmp_path):
    """The penalty's double backward goes through DDP-wrapped critics: both ranks must end with one set of weights."""
    import torch.multiprocessing as mp

    data = write_hits(tmp_path / "hits")
    (tmp_path / "results").mkdir()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(data), str(tmp_path / "run"), str(tmp_path / "results")),
             nprocs=2, join=True)
    ranks = [torch.load(tmp_path / "results" / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["step"] == ranks[1]["step"] == 3
    for name, params in ranks[0]["modules"].items():
        for key, value in params.items():
            assert torch.equal(value, ranks[1]["modules"][name][key]), f"ranks disagree on {name}.{key}"


def test_compiled_networks_train_the_penalty_runs_the_critic_uncompiled(tmp_path):
    """torch.compile's autograd has no double backward: the gradient penalty must not go through it."""
    import warnings

    data = write_hits(tmp_path / "hits", n=4)
    cfg = load_config("wavegan", "wavegan_small", TINY + ["phase_shuffle_per_example=true"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = train("wavegan", cfg, data, tmp_path / "run", steps=1, compile="aot_eager", **QUIET)
    assert summary.step == 1 and all(np.isfinite(v) for v in summary.losses.values())


def test_public_functions_are_documented():
    import inspect
    import re

    for name in W.__all__:
        obj = getattr(W, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "Notebook: 04_wavegan" in doc, f"wavegan.{name} does not name its notebook"
        if inspect.isfunction(obj):
            for section in ("Parameters", "Returns"):
                assert re.search(rf"^{section}\n-+\s*$", doc, re.MULTILINE), f"wavegan.{name}: no {section}"
