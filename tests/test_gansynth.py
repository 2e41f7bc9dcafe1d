"""GANSynth: the paper's sizes from the official layer list, progressive fade-in, the layers of ProGAN, the step.

Everything runs on tiny networks (2 × 4 → 8 × 16 pictures, at most 16 channels) or on the meta device.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import re

import pytest
import torch
import torch.nn.functional as F

from voclab.errors import ConfigError, DataError, ShapeError
from voclab.models import gansynth as GS


def tiny(**changes) -> GS.Config:
    """2 × 4, 4 × 8, 8 × 16; channels 16, 16, 8; stages of 8 images; batch 2."""
    values = {"start_shape": (2, 4), "num_resolutions": 3, "fmap_base": 64, "fmap_max": 16, "latent_dim": 8,
              "batch_size": 2, "stable_images": 8, "fade_images": 8, "total_images": 64, "specgram": "course"}
    values.update(changes)
    return GS.Config(**values)


def tiny_batch(cfg: GS.Config, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    spec = torch.rand(cfg.batch_size, 2, *cfg.final_shape, generator=g) * 2 - 1
    pitch = torch.randint(cfg.pitch_min, cfg.pitch_max + 1, (cfg.batch_size,), generator=g)
    return {"spec": spec, "pitch": pitch}


# --------------------------------------------------------------------------- the paper's networks


def official_counts(start=(2, 16), resolutions=7, latent=256, pitches=61, base=4096, fmap_max=256):
    """G and D parameters from the layer list of magenta's networks.py / network_functions.py (non-simple arch):
    each layer (kh, kw, c_in, c_out) has kh·kw·c_in·c_out weights and c_out biases."""
    nf = [int(min(base / 2 ** b, fmap_max)) for b in range(resolutions + 1)]  # nf[0] … nf[7]
    h, w = start
    g_layers = [(h, w, latent + pitches, nf[1]), (3, 3, nf[1], nf[1])]  # block 1: padded (h, w) conv, 3 × 3
    for b in range(2, resolutions + 1):  # upscale, conv0, conv1
        g_layers += [(3, 3, nf[b - 1], nf[b]), (3, 3, nf[b], nf[b])]
    g_layers += [(1, 1, nf[b], 2) for b in range(1, resolutions + 1)]  # to_rgb of every block
    d_layers = [(1, 1, 2, nf[b]) for b in range(1, resolutions + 1)]  # from_rgb of every block
    for b in range(resolutions, 1, -1):  # conv0 → nf(b), conv1 → nf(b − 1), downscale
        d_layers += [(3, 3, nf[b], nf[b]), (3, 3, nf[b], nf[b - 1])]
    d_layers += [(3, 3, nf[1] + 1, nf[1]), (h, w, nf[1], nf[0])]  # after minibatch stddev
    d_layers += [(1, 1, nf[0], 1), (1, 1, nf[0], pitches)]  # custom_dense logits, classification_logits

    def count(layers):
        return sum(kh * kw * c_in * c_out + c_out for kh, kw, c_in, c_out in layers)

    return count(g_layers), count(d_layers)


def test_paper_size_parameter_counts():
    g_expected, d_expected = official_counts()
    assert (g_expected, d_expected) == (7_311_246, 6_831_230)  # about 7.3 M and 6.8 M, as the reference says
    with torch.device("meta"):  # shapes only: no memory, no time
        modules = GS.build(GS.Config())
    assert GS.count_parameters(modules["generator"]) == g_expected
    assert GS.count_parameters(modules["discriminator"]) == d_expected
    assert GS.count_parameters(modules["generator_ema"]) == 0  # frozen: never trained, only averaged
    assert sum(p.numel() for p in modules["generator_ema"].parameters()) == g_expected
    # the official "L" start (4 × 8) changes only the first conv of G and the last of D
    g_low, d_low = official_counts(start=(4, 8))
    with torch.device("meta"):
        assert GS.count_parameters(GS.Generator(start_shape=(4, 8))) == g_low
        assert GS.count_parameters(GS.Discriminator(start_shape=(4, 8))) == d_low


def test_paper_config_values():
    cfg = GS.Config()
    assert cfg.channels == [256, 256, 256, 256, 128, 64, 32]
    assert [GS.num_filters(b) for b in range(8)] == [256, 256, 256, 256, 256, 128, 64, 32]
    assert cfg.final_shape == (128, 1024) and cfg.start_shape == (2, 16)
    assert (cfg.latent_dim, cfg.n_pitches, cfg.pitch_min, cfg.pitch_max) == (256, 61, 24, 84)
    assert (cfg.gp_lambda, cfg.drift_weight, cfg.ac_weight) == (10.0, 0.001, 10.0)
    assert (cfg.learning_rate, cfg.betas, cfg.batch_size, cfg.ema_decay) == (8e-4, (0.0, 0.99), 8, 0.999)
    assert (cfg.stable_images, cfg.fade_images, cfg.total_images) == (800_000, 800_000, 11_000_000)
    assert GS.batches_per_step(cfg) == 1 and GS.KIND == "pitched"
    assert GS.Config(**cfg.to_dict()) == cfg  # JSON round trip (lists back to tuples)


def test_bad_configs_are_refused():
    for bad in ({"num_resolutions": 0}, {"pitch_max": 10}, {"kernel_size": 4}, {"betas": (1.0, 0.5)},
                {"ema_decay": 1.0}, {"start_shape": (2,)}, {"fade_images": -1}, {"ac_weight": -1.0}):
        with pytest.raises(ConfigError):
            GS.Config(**bad)
    with pytest.raises(ConfigError, match="stage"):
        tiny().shape_at(3)


# --------------------------------------------------------------------------- ProGAN's layers


def test_pixel_norm_gives_unit_rms_over_channels():
    x = torch.randn(3, 17, 4, 5, generator=torch.Generator().manual_seed(0)) * 7 + 2
    rms = GS.pixel_norm(x).pow(2).mean(dim=1).sqrt()  # (3, 4, 5): one per pixel
    torch.testing.assert_close(rms, torch.ones_like(rms), rtol=1e-5, atol=1e-5)
    # the direction of each pixel's vector is kept
    cos = F.cosine_similarity(GS.pixel_norm(x), x, dim=1)
    torch.testing.assert_close(cos, torch.ones_like(cos))


def test_equalized_learning_rate_scales_at_run_time():
    torch.manual_seed(0)
    conv = GS.EqualizedConv2d(64, 32, 3)
    assert conv.scale == pytest.approx(math.sqrt(2 / (64 * 9)))  # He, gain √2 before a LeakyReLU
    with torch.no_grad():  # stored as N(0, 1), biases 0
        assert abs(float(conv.weight.std()) - 1) < 0.02 and float(conv.bias.abs().max()) == 0
    x = torch.randn(2, 64, 4, 8)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1))
    # the outputs' gain 1: "to RGB", the score and the pitch logits
    assert GS.EqualizedConv2d(32, 2, 1, slope=1.0).scale == pytest.approx(1 / math.sqrt(32))
    assert GS.EqualizedLinear(256, 61).scale == pytest.approx(1 / math.sqrt(256))
    G = GS.Generator(latent_dim=8, start_shape=(2, 4), num_resolutions=2, fmap_base=64, fmap_max=16)
    assert G.blocks[0].conv0.scale == pytest.approx(math.sqrt(2 / (2 * 4 * (8 + 61))))  # the padded (h, w) conv
    assert G.to_rgb[1].scale == pytest.approx(1 / math.sqrt(16))
    # the same relative step for every layer: scaling the stored weight by (1 + ε) scales the layer's weight so
    with torch.no_grad():
        before = conv(x) - conv.bias.view(1, -1, 1, 1)
        conv.weight.mul_(1.1)
        torch.testing.assert_close(conv(x) - conv.bias.view(1, -1, 1, 1), before * 1.1, rtol=1e-4, atol=1e-5)


def test_minibatch_stddev_adds_one_channel_of_batch_deviation():
    x = torch.randn(5, 3, 2, 4, generator=torch.Generator().manual_seed(0))
    out = GS.minibatch_stddev(x)
    assert out.shape == (5, 4, 2, 4)
    torch.testing.assert_close(out[:, :3], x)
    expected = torch.sqrt(x.var(dim=0, unbiased=False) + 1e-6).mean()  # population variance, as tf.nn.moments
    torch.testing.assert_close(out[:, 3], expected.expand(5, 2, 4))
    same = GS.minibatch_stddev(x[:1].expand(5, -1, -1, -1))  # no variety: sqrt(1e-6)
    torch.testing.assert_close(same[:, 3], torch.full((5, 2, 4), 1e-3))


# --------------------------------------------------------------------------- progressive growing


def test_shapes_at_every_stage():
    torch.manual_seed(0)
    cfg = tiny()
    modules = GS.build(cfg)
    G, D = modules["generator"], modules["discriminator"]
    z = GS.sample_latents(cfg, 3, generator=torch.Generator().manual_seed(1))
    pitch = torch.tensor([24, 60, 84])
    for stage, shape in enumerate([(2, 4), (4, 8), (8, 16)]):
        assert cfg.shape_at(stage) == shape
        for alpha in (0.0, 0.5, 1.0):
            if stage == 0 and alpha < 1:
                continue
            fake = G(z[:, :-1], pitch, stage, alpha)
            assert fake.shape == (3, 2, *shape) and fake.dtype == torch.float32
            assert float(fake.detach().abs().max()) < 1  # tanh
            score, logits = D(fake, stage, alpha)
            assert score.shape == (3,) and logits.shape == (3, 61)  # the AC head: 61 pitch classes
        full = GS.generate_specgram(G, z, stage=stage)
        assert full.shape == (3, 2, 8, 16)  # always upsampled to the final size
        factor = 2 ** (2 - stage)
        torch.testing.assert_close(F.avg_pool2d(full, factor), G(z[:, :-1], pitch_of(G, z), stage, 1.0))
    with pytest.raises(ShapeError, match="stage 1"):
        D(torch.zeros(3, 2, 8, 16), 1, 1.0)
    with pytest.raises(ConfigError, match="stage"):
        G(z[:, :-1], pitch, 3, 1.0)


def pitch_of(G, z):
    """The pitches generate_specgram gives latents with no pitch asked for."""
    cfg = GS.Config(latent_dim=G.latent_dim)
    return GS.pitches_from_draws(z[:, -1], G.pitch_counts, cfg)


def test_generator_fade_in():
    torch.manual_seed(0)
    cfg = tiny()
    G = GS.build_generator(cfg)
    noise, pitch = torch.randn(4, 8), torch.tensor([30, 40, 50, 60])
    for stage in (1, 2):
        previous = G(noise, pitch, stage - 1, 1.0)
        # α = 0: exactly the previous stage's picture, nearest-neighbour upsampled
        torch.testing.assert_close(G(noise, pitch, stage, 0.0), F.interpolate(previous, scale_factor=2), rtol=0,
                                   atol=0)
        new = G(noise, pitch, stage, 1.0)
        half = G(noise, pitch, stage, 0.5)
        torch.testing.assert_close(half, 0.5 * new + 0.5 * F.interpolate(previous, scale_factor=2))
        # α = 1: the new block alone, whatever the previous "to RGB" does
        with torch.no_grad():
            G.to_rgb[stage - 1].weight.add_(1.0)
        torch.testing.assert_close(G(noise, pitch, stage, 1.0), new, rtol=0, atol=0)
        assert not torch.equal(G(noise, pitch, stage, 0.0), F.interpolate(previous, scale_factor=2))


def test_discriminator_fade_in():
    torch.manual_seed(0)
    cfg = tiny()
    D = GS.build(cfg)["discriminator"]
    for stage in (1, 2):
        x = torch.rand(4, 2, *cfg.shape_at(stage)) * 2 - 1
        # α = 0: the previous stage's discriminator on the box-downsampled picture
        old_score, old_logits = D(F.avg_pool2d(x, 2), stage - 1, 1.0)
        score, logits = D(x, stage, 0.0)
        torch.testing.assert_close(score, old_score, rtol=0, atol=0)
        torch.testing.assert_close(logits, old_logits, rtol=0, atol=0)
        # α = 1: the new "from RGB" and block alone
        new_score, _ = D(x, stage, 1.0)
        with torch.no_grad():
            D.from_rgb[stage - 1].weight.add_(1.0)
        torch.testing.assert_close(D(x, stage, 1.0)[0], new_score, rtol=0, atol=0)


def test_blend_real_downsamples_and_fades_like_the_official_blend_images():
    cfg = tiny()
    x = torch.rand(2, 2, 8, 16, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(GS.blend_real(x, 2, 1.0, cfg), x)
    torch.testing.assert_close(GS.blend_real(x, 0, 1.0, cfg), F.avg_pool2d(x, 4))
    torch.testing.assert_close(GS.blend_real(x, 1, 1.0, cfg), F.avg_pool2d(x, 2))
    torch.testing.assert_close(GS.blend_real(x, 1, 0.0, cfg), F.interpolate(F.avg_pool2d(x, 4), scale_factor=2))
    # the official blend works at full size: α · up(down(x, s)) + (1 − α) · up(down(x, 2s)); box-downsampling
    # it to the stage's size gives this function's result
    alpha = 0.3
    official = (alpha * F.interpolate(F.avg_pool2d(x, 2), scale_factor=2)
                + (1 - alpha) * F.interpolate(F.avg_pool2d(x, 4), scale_factor=4))
    torch.testing.assert_close(GS.blend_real(x, 1, alpha, cfg), F.avg_pool2d(official, 2))
    with pytest.raises(ShapeError):
        GS.blend_real(x[:, :, :4], 1, 1.0, cfg)


def test_stage_schedule():
    cfg = tiny()  # 3 resolutions, 8 images per stable and per fade-in stage
    expected = {0: (0, 1.0), 7: (0, 1.0), 8: (1, 0.0), 10: (1, 0.25), 15: (1, 0.875), 16: (1, 1.0), 23: (1, 1.0),
                24: (2, 0.0), 28: (2, 0.5), 32: (2, 1.0), 40: (2, 1.0), 10 ** 9: (2, 1.0)}
    for seen, (stage, alpha) in expected.items():
        assert GS.stage_at(seen, cfg) == (stage, pytest.approx(alpha)), seen
    # the paper's run: 7 stable and 6 fade-in stages of 800 k images, the rest at 128 × 1024
    paper = GS.Config()
    assert GS.stage_at(799_999, paper) == (0, 1.0)
    assert GS.stage_at(6 * 800_000 + 5 * 800_000 + 400_000, paper) == (6, 0.5)  # halfway into the last fade-in
    assert GS.stage_at(9_600_000, paper) == (6, 1.0)
    # α never goes backwards and the stage never shrinks
    points = [GS.stage_at(i, cfg) for i in range(50)]
    assert all(a <= b for a, b in itertools.pairwise(points))
    # without fade-in, each resolution starts at full weight
    assert GS.stage_at(8, tiny(fade_images=0)) == (1, 1.0)
    with pytest.raises(ConfigError):
        GS.stage_at(-1, cfg)


# --------------------------------------------------------------------------- latents and pitches


def test_latents_and_pitch_draws():
    cfg = tiny()
    z = GS.sample_latents(cfg, 5, generator=torch.Generator().manual_seed(3))
    assert z.shape == (5, 9)
    torch.testing.assert_close(z, GS.sample_latents(cfg, 5, generator=torch.Generator().manual_seed(3)))
    small = GS.Config(pitch_min=60, pitch_max=63)
    draws = torch.rand(20_000, generator=torch.Generator().manual_seed(0))
    pitches = GS.pitches_from_draws(draws, [1, 0, 3, 0], small)
    assert set(pitches.tolist()) == {60, 62}  # a pitch with no notes is never drawn
    assert abs(float((pitches == 62).float().mean()) - 0.75) < 0.02
    uniform = GS.sample_pitches(small, 20_000, generator=torch.Generator().manual_seed(1))
    assert set(uniform.tolist()) == {60, 61, 62, 63}
    for bad in ([1, 2], [1, -1, 0, 0], [0, 0, 0, 0]):
        with pytest.raises(ConfigError, match="histogram"):
            GS.pitches_from_draws(draws, bad, small)


def test_pitch_histogram_lives_in_the_generator():
    torch.manual_seed(0)
    cfg = tiny()
    modules = GS.build(cfg)
    counts = GS.set_pitch_histogram(modules, [60] * 3 + [72], cfg)
    assert counts[60 - 24] == 3 and counts[72 - 24] == 1 and counts.sum() == 4
    for name in ("generator", "generator_ema"):
        torch.testing.assert_close(modules[name].pitch_counts, counts)
        assert "pitch_counts" in modules[name].state_dict()  # saved in checkpoints
    z = GS.sample_latents(cfg, 64, generator=torch.Generator().manual_seed(0))
    assert set(pitch_of(modules["generator"], z).tolist()) == {60, 72}
    with pytest.raises(DataError, match="outside"):
        GS.set_pitch_histogram(modules, [60, 90], cfg)
    with pytest.raises(DataError):
        GS.set_pitch_histogram(modules, [], cfg)


def test_pitch_out_of_range_and_bad_latents_are_clear_errors():
    torch.manual_seed(0)
    G = GS.build_generator(tiny())
    with pytest.raises(ConfigError, match="24–84"):
        GS.generate_specgram(G, torch.zeros(2, 9), pitch=100)
    with pytest.raises(ShapeError, match="pitch"):
        GS.generate_specgram(G, torch.zeros(2, 8))  # noise alone: no pitch draw
    with pytest.raises(ShapeError):
        GS.generate_specgram(G, torch.zeros(2, 5), pitch=60)
    one = GS.generate_specgram(G, torch.zeros(2, 8), pitch=60, stage=1, alpha=1.0)
    each = GS.generate_specgram(G, torch.zeros(2, 8), pitch=torch.tensor([60, 60]), stage=1, alpha=1.0)
    torch.testing.assert_close(one, each)


# --------------------------------------------------------------------------- the step


def test_penalty_is_the_official_one_on_full_size_denormalised_pictures():
    from voclab.models.wavegan import gradient_penalty

    torch.manual_seed(0)
    cfg = tiny(normaliser_slopes=(0.0661371661726, 0.8))
    D = GS.build(cfg)["discriminator"]
    offsets = torch.tensor([0.113718730221, 0.0]).view(1, 2, 1, 1)  # the official normaliser's
    slopes = torch.tensor(cfg.normaliser_slopes).view(1, 2, 1, 1)
    for stage, fade in ((0, 1.0), (1, 0.5), (2, 1.0)):
        s = 2 ** (2 - stage)

        def critic(x, stage=stage, fade=fade):
            return D(x, stage, fade)[0]

        def to_full(x, s=s):  # what tf-gan differentiates: full size (nearest up, as G's output), data's units
            return (F.interpolate(x, scale_factor=s) - offsets) / slopes

        def critic_full(y, s=s, critic=critic):  # the official critic normalises and box-downsamples
            return critic(F.avg_pool2d(y * slopes + offsets, s))

        real = torch.rand(3, 2, *cfg.shape_at(stage)) * 2 - 1
        fake = torch.rand(3, 2, *cfg.shape_at(stage)) * 2 - 1
        weights = torch.rand(3)
        official = gradient_penalty(critic_full, to_full(real), to_full(fake), alpha=weights)
        ours = GS.progressive_gradient_penalty(critic, real, fake, stage, cfg, alpha=weights)
        torch.testing.assert_close(ours, official, rtol=1e-4, atol=1e-6)
        plain = gradient_penalty(critic, real, fake, alpha=weights)
        assert abs(float(plain.detach()) - float(ours.detach())) > 0.01  # the units matter


def test_train_step_updates_both_networks_and_the_average():
    torch.manual_seed(0)
    cfg = tiny()
    modules = GS.build(cfg)
    optimizers, schedulers = GS.make_optimizers(modules, cfg)
    assert schedulers == {} and set(optimizers) == {"generator", "discriminator"}
    assert optimizers["generator"].defaults["lr"] == 8e-4 and optimizers["generator"].defaults["betas"] == (0, 0.99)
    start = {name: copy.deepcopy(m.state_dict()) for name, m in modules.items()}
    losses = GS.train_step(modules, optimizers, tiny_batch(cfg), cfg, images_seen=12)  # fading in 4 × 8
    assert set(losses) == {"loss_d", "wasserstein", "gradient_penalty", "drift", "ac_real", "loss_g", "ac_fake",
                           "stage", "alpha"}
    assert all(math.isfinite(v) for v in losses.values())
    assert (losses["stage"], losses["alpha"]) == (1.0, 0.5)
    assert losses["ac_real"] == pytest.approx(losses["ac_real"]) and losses["ac_real"] > 0
    G, D, ema = modules["generator"], modules["discriminator"], modules["generator_ema"]
    # the blocks in use moved; blocks beyond the stage get no gradient and stay as they were
    assert not torch.equal(G.blocks[1].conv0.weight, start["generator"]["blocks.1.conv0.weight"])
    assert not torch.equal(D.blocks[0].conv0.weight, start["discriminator"]["blocks.0.conv0.weight"])
    assert not torch.equal(D.classifier.weight, start["discriminator"]["classifier.weight"])
    assert torch.equal(G.blocks[2].conv0.weight, start["generator"]["blocks.2.conv0.weight"])
    # the moving average: 0.999 · start + 0.001 · trained, and the counters copied
    for name, value in ema.named_parameters():
        expected = torch.lerp(start["generator_ema"][name], dict(G.named_parameters())[name].detach(), 0.001)
        torch.testing.assert_close(value, expected)
    assert not torch.equal(ema.blocks[1].conv0.weight, start["generator_ema"]["blocks.1.conv0.weight"])
    assert not torch.equal(ema.blocks[1].conv0.weight, G.blocks[1].conv0.weight)
    for G_ in (G, ema):
        assert (int(G_.images_seen), int(G_.stage), float(G_.alpha)) == (14, 1, 0.5)
    # the next step reads the counter: 14 images seen → α = 0.75
    assert GS.train_step(modules, optimizers, tiny_batch(cfg, 1), cfg)["alpha"] == 0.75
    assert int(G.images_seen) == 16


def test_adam_starts_afresh_where_a_stage_begins():
    torch.manual_seed(0)
    cfg = tiny()
    modules = GS.build(cfg)
    optimizers, _ = GS.make_optimizers(modules, cfg)
    step_count = lambda: int(next(iter(optimizers["discriminator"].state.values()))["step"])
    GS.train_step(modules, optimizers, tiny_batch(cfg), cfg, images_seen=2)
    GS.train_step(modules, optimizers, tiny_batch(cfg), cfg)
    assert step_count() == 2
    GS.train_step(modules, optimizers, tiny_batch(cfg), cfg, images_seen=8)  # fade-in to 4 × 8 begins
    assert step_count() == 1
    GS.train_step(modules, optimizers, tiny_batch(cfg), cfg)
    assert step_count() == 2
    no_reset = tiny(reset_adam_per_stage=False)
    GS.train_step(modules, optimizers, tiny_batch(cfg), no_reset, images_seen=16)  # stable 4 × 8 begins
    assert step_count() == 3


def test_resume_mid_stage_equals_an_uninterrupted_run():
    cfg = tiny()
    batches = [tiny_batch(cfg, seed) for seed in range(4)]

    def fresh():
        torch.manual_seed(0)
        modules = GS.build(cfg)
        return modules, GS.make_optimizers(modules, cfg)[0]

    modules, optimizers = fresh()
    straight = [GS.train_step(modules, optimizers, batch, cfg, images_seen=10 if i == 0 else None)
                for i, batch in enumerate(batches)]

    modules, optimizers = fresh()
    for i, batch in enumerate(batches[:2]):
        GS.train_step(modules, optimizers, batch, cfg, images_seen=10 if i == 0 else None)
    saved = ({n: copy.deepcopy(m.state_dict()) for n, m in modules.items()},
             {n: copy.deepcopy(o.state_dict()) for n, o in optimizers.items()}, torch.get_rng_state())
    torch.manual_seed(123)  # a new process: other weights, another random stream
    modules = GS.build(cfg)
    optimizers = GS.make_optimizers(modules, cfg)[0]
    for name, state in saved[0].items():
        modules[name].load_state_dict(state)
    for name, state in saved[1].items():
        optimizers[name].load_state_dict(state)
    torch.set_rng_state(saved[2])
    assert int(modules["generator"].images_seen) == 14  # mid fade-in: the counter came back with the weights
    resumed = [GS.train_step(modules, optimizers, batch, cfg) for batch in batches[2:]]
    assert resumed == straight[2:]
    assert [(r["stage"], r["alpha"]) for r in resumed] == [(1.0, 0.75), (1.0, 1.0)]  # into the stable stage, Adam anew


def test_train_step_refuses_bad_batches():
    torch.manual_seed(0)
    cfg = tiny()
    modules = GS.build(cfg)
    optimizers, _ = GS.make_optimizers(modules, cfg)
    batch = tiny_batch(cfg)
    with pytest.raises(ShapeError, match="spec"):
        GS.train_step(modules, optimizers, {"audio": batch["spec"]}, cfg)
    with pytest.raises(ShapeError, match="pitch"):
        GS.train_step(modules, optimizers, {**batch, "pitch": batch["pitch"][:1]}, cfg)
    with pytest.raises(DataError, match="outside"):
        GS.train_step(modules, optimizers, {**batch, "pitch": torch.tensor([12, 60])}, cfg)
    with pytest.raises(ShapeError):
        GS.train_step(modules, optimizers, {**batch, "spec": batch["spec"][..., :8]}, cfg)


def test_validation_audio_through_the_specgram_inverse():
    specgram = pytest.importorskip("voclab.specgram")
    torch.manual_seed(0)
    course = specgram.SpecgramConfig.preset("course")
    # a tiny network whose final picture, after three doublings, is the course preset's
    _, frames, bins = course.shape
    cfg = GS.Config(start_shape=(frames // 8, bins // 8), num_resolutions=4, fmap_base=32, fmap_max=8, latent_dim=8,
                    specgram="course", slice_len=course.audio_length)
    assert (2, *cfg.final_shape) == course.shape
    G = GS.build_generator(cfg)
    z = GS.sample_latents(cfg, 2, generator=torch.Generator().manual_seed(0))
    audio = GS.validation_audio(G, z)
    assert audio.shape == (2, 1, course.audio_length) and bool(torch.isfinite(audio).all())
    assert GS.validation_audio(G, z, pitch=60).shape == (2, 1, course.audio_length)


def test_public_functions_are_documented():
    for name in GS.__all__:
        obj = getattr(GS, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "Notebook: 05_gansynth" in doc, f"gansynth.{name} does not name its notebook"
        sections = ("Parameters", "Returns") if inspect.isfunction(obj) else ("Parameters",)
        for section in sections:
            assert re.search(rf"^{section}\n-+\s*$", doc, re.MULTILINE), f"gansynth.{name}: no {section}"
