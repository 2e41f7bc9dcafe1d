"""Exercise checks of notebook 07, HiFi-GAN.

The learner builds HiFi-GAN's three new ideas: the residual block of the generator's
multi-receptive-field fusion (``ResBlock1``) and the fusion itself (``mrf``), the fold
of a waveform into a (T/p, p) image that every period discriminator starts with
(``period_reshape``), and the losses (least-squares GAN for both networks, and the mel
L1 on the full-band loss mel).

Modules are checked as in notebook 06: the ``run`` function builds the learner's module
and voclab's (:func:`~voclab.checks.build_alike`), gives the learner's voclab's weights
(:func:`~voclab.checks.load_weights_by_use`: by name, or else by the order in which the two
``forward`` methods use the convolutions), feeds both the same input and compares the
outputs *and* the number of trainable numbers (so a missing weight norm shows). So the
convolutions may be created in any order -- all the dilated ones first, or pair by pair --
and named in any way. The losses are checked for their gradients too: the
discriminator's reaches the real and the fake scores, the mel loss's reaches ``y_hat``.

The references are :mod:`voclab.models.hifigan`'s own code: ``ResBlock1``, the MRF line
of ``Generator.forward``, ``DiscriminatorP.to_2d``, ``discriminator_loss``,
``generator_adversarial_loss`` and ``mel_l1``.

Notebook: 07_hifigan.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .. import spectral
from ..models import hifigan
from . import Case, Differentiable, Exercise, build_alike, load_weights_by_use, register

NOTEBOOK = "07_hifigan"

#: float32 convolutions and mels: sums in another order are fine
_MODULE_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
_LOSS_TOLERANCE = dict(rtol=1e-5, atol=1e-6)
_MEL_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
_SLOPE = hifigan.LRELU_SLOPE  # 0.1


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


def _count_with_gains(module: nn.Module) -> int:
    """Every trainable number, weight-norm gains included (a missing weight norm shows here)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# =========================================================================== exercise 1a: ResBlock1


def _padding_problem(module: nn.Module) -> str | None:
    """Describe the first Conv1d whose padding changes the length, or None."""
    for conv in module.modules():
        if not isinstance(conv, nn.Conv1d) or isinstance(conv.padding, str):
            continue  # padding="same" keeps the length by construction
        k, d, p = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
        if 2 * p != (k - 1) * d:  # the engine shows the first 160 characters: keep it short
            tail = "; (k−1) // 2 fits dilation 1 only" if p == (k - 1) // 2 else ""
            return (f"conv(kernel_size={k}, dilation={d}) has padding={p}: the residual sum needs "
                    f"'same' padding (k−1)·d // 2 = {(k - 1) * d // 2}{tail}")
    return None


def _run_block(build, channels, kernel_size, dilations, *, x):
    """Build ``build(channels, kernel_size, dilations)``, give it voclab's weights, run it on ``x``."""
    module, reference = build_alike(build, hifigan.ResBlock1, channels, kernel_size, dilations)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__} — a class whose instances are modules")
    load_weights_by_use(module, reference, x)
    with torch.no_grad():
        try:
            y = module(x)
        except NotImplementedError:  # a RuntimeError too: the stub of the learner notebook
            raise
        except RuntimeError:
            problem = _padding_problem(module)
            if problem:
                raise ValueError(problem) from None
            raise
    return {"output": y, "parameters": _count_with_gains(module)}


class _ResBlockVariant(nn.Module):
    """A wrong ResBlock1: the reference with one ingredient changed."""

    def __init__(self, channels, kernel_size, dilations, *, second=True, second_dilated=False,
                 slope=_SLOPE, norm=True, residual="each", first_activation=True):
        super().__init__()
        wn = weight_norm if norm else (lambda m: m)

        def conv(d):
            return wn(nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=(kernel_size - 1) * d // 2))

        self.convs1 = nn.ModuleList(conv(d) for d in dilations)
        self.convs2 = nn.ModuleList(conv(d if second_dilated else 1) for d in dilations) if second else None
        self.slope, self.residual, self.first_activation = slope, residual, first_activation

    def forward(self, x):
        h = x
        for i, c1 in enumerate(self.convs1):
            u = F.leaky_relu(h, self.slope) if self.first_activation else h
            u = c1(u)
            if self.convs2 is not None:
                u = self.convs2[i](F.leaky_relu(u, self.slope))
            h = h + u if self.residual == "each" else u
        return x + h if self.residual == "once" else h


def _block_variant(**changes):
    def build(channels, kernel_size, dilations):
        return _ResBlockVariant(channels, kernel_size, dilations, **changes)
    return build


def _block_cases():
    return [
        Case("8 channels, kernel 3, dilations (1, 3, 5) — V1's first block, 40 samples",
             (8, 3, [1, 3, 5]), dict(x=_randn(2, 8, 40, seed=1))),
        Case("4 channels, kernel 7, dilations (1, 3, 5), 64 samples",
             (4, 7, [1, 3, 5]), dict(x=_randn(1, 4, 64, seed=2))),
        Case("4 channels, kernel 11, dilations (1, 3, 5), 30 samples (shorter than the receptive field)",
             (4, 11, [1, 3, 5]), dict(x=_randn(1, 4, 30, seed=3))),
        Case("6 channels, kernel 5, two dilations (2, 6)", (6, 5, [2, 6]), dict(x=_randn(1, 6, 50, seed=4))),
        Case("2 channels, kernel 3, a single unit with dilation 1", (2, 3, [1]), dict(x=_randn(1, 2, 9, seed=5))),
    ]


def _block_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): four units, a batch of 3, padding wider than the
    clip and a one-sample clip, where the public blocks have one to three units on 9 to 64 samples."""
    return [
        Case("16 channels, kernel 3, four dilations (1, 2, 4, 8), a batch of 3, 37 samples",
             (16, 3, [1, 2, 4, 8]), dict(x=_randn(3, 16, 37, seed=6))),
        Case("3 channels, kernel 5, dilations (1, 8) on 6 samples: the padding (16) is wider than the clip",
             (3, 5, [1, 8]), dict(x=_randn(2, 3, 6, seed=7))),
        Case("1 channel, kernel 9, dilation 3, a single sample", (1, 9, [3]), dict(x=_randn(1, 1, 1, seed=8))),
    ]


register(Exercise(
    name="ResBlock1",
    notebook=NOTEBOOK,
    reference=hifigan.ResBlock1,
    cases=_block_cases,
    hidden_cases=_block_hidden_cases,
    run=_run_block,
    reference_name="voclab.models.hifigan.ResBlock1",
    hint="__init__: self.convs1 = ModuleList of weight-normed Conv1d(channels, channels, kernel_size, "
         "dilation=d, padding=(kernel_size − 1)·d // 2), one per d, and self.convs2, the same with dilation 1. "
         "forward: for each pair, x = x + c2(lrelu(c1(lrelu(x, 0.1)), 0.1)).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_block_variant(second=False),
         ("each unit has only the dilated conv: ResBlock1 follows it with a second, dilation-1 conv "
          "(LReLU → dilated conv → LReLU → conv → add). One conv per unit is V3's ResBlock2")),
        (_block_variant(second_dilated=True),
         "the second conv of each unit is dilated too; in ResBlock1 only the first is, the second has dilation 1"),
        (_block_variant(slope=0.2),
         "LeakyReLU slope 0.2 is MelGAN's; HiFi-GAN's ResBlocks use 0.1"),
        (_block_variant(slope=0.01),
         "F.leaky_relu's default slope is 0.01; HiFi-GAN's ResBlocks use 0.1 (F.leaky_relu(x, 0.1))"),
        (_block_variant(norm=False),
         ("no weight norm: wrap each Conv1d in torch.nn.utils.parametrizations.weight_norm "
          "(the output is the same at initialisation, but the gains g are missing from the parameters)")),
        (_block_variant(residual="none"),
         "the residual connection is missing: each unit adds its output to its input, x = x + unit(x)"),
        (_block_variant(residual="once"),
         "you added the input once, after all the units; ResBlock1 adds a residual around every unit"),
        (_block_variant(first_activation=False),
         "each unit starts with the conv; HiFi-GAN's units start with LeakyReLU(0.1) (pre-activation)"),
    ],
))


# =========================================================================== exercise 1b: mrf


def _mrf(x, resblocks):
    """The MRF line of ``hifigan.Generator.forward``: the mean of the blocks' outputs."""
    return sum(block(x) for block in resblocks) / len(resblocks)


def _blocks(kind, channels, kernels, dilations, seed):
    torch.manual_seed(seed)
    block = hifigan.ResBlock1 if kind == "1" else hifigan.ResBlock2
    return nn.ModuleList(block(channels, k, d) for k, d in zip(kernels, dilations))


def _mrf_cases():
    v1 = [[1, 3, 5]] * 3
    return [
        Case("three ResBlock1 with kernels 3, 7, 11 (V1's MRF), 8 channels",
             (_randn(2, 8, 48, seed=21), _blocks("1", 8, [3, 7, 11], v1, seed=22))),
        Case("three ResBlock2 with kernels 3, 5, 7 (V3's MRF)",
             (_randn(1, 4, 40, seed=23), _blocks("2", 4, [3, 5, 7], [[1, 2], [2, 6], [3, 12]], seed=24))),
        Case("two blocks given as a plain Python list", (_randn(1, 4, 20, seed=25),
                                                         list(_blocks("1", 4, [3, 5], v1[:2], seed=26)))),
        Case("a single block (the MRF is that block)", (_randn(1, 2, 16, seed=27), _blocks("1", 2, [3], v1[:1], seed=28))),
    ]


def _mrf_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): four blocks (a mean over 4), the two block kinds
    mixed in one list, a batch of 3 and a one-sample input, where the public ones average 1 to 3 blocks."""
    mixed = [*_blocks("1", 16, [5], [[1, 3, 5]], seed=32), *_blocks("2", 16, [9], [[1, 3]], seed=33)]
    return [
        Case("four ResBlock2 with kernels 3, 5, 7, 9, a batch of 3, 25 samples",
             (_randn(3, 4, 25, seed=29), _blocks("2", 4, [3, 5, 7, 9], [[1, 3]] * 4, seed=30))),
        Case("a ResBlock1 and a ResBlock2 in one plain list, 16 channels", (_randn(1, 16, 33, seed=31), mixed)),
        Case("two blocks on a single sample",
             (_randn(2, 3, 1, seed=34), _blocks("1", 3, [3, 7], [[1, 3, 5]] * 2, seed=35))),
    ]


register(Exercise(
    name="mrf",
    notebook=NOTEBOOK,
    reference=_mrf,
    cases=_mrf_cases,
    hidden_cases=_mrf_hidden_cases,
    reference_name="voclab.models.hifigan.Generator (the MRF step of forward)",
    hint="Run every block on the same input x and average: sum(block(x) for block in resblocks) / len(resblocks).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (lambda x, blocks: sum(block(x) for block in blocks),
         ("you added the blocks' outputs up; the MRF takes their mean (divide by len(resblocks)) so the "
          "scale does not grow with the number of kernels")),
        (lambda x, blocks: _chain(x, blocks),
         ("you chained the blocks (each fed the previous one's output); in the MRF they run in parallel "
          "on the same input and their outputs are averaged")),
        (lambda x, blocks: blocks[-1](x),
         "you returned the last block's output only; average all of them"),
        (lambda x, blocks: blocks[0](x),
         "you returned the first block's output only; average all of them"),
        (lambda x, blocks: x + sum(block(x) for block in blocks) / len(blocks),
         "you added the input again; each ResBlock already has its residual connections — return just the mean"),
    ],
))


def _chain(x, blocks):
    for block in blocks:
        x = block(x)
    return x


# =========================================================================== exercise 2: period_reshape


def _period_reshape(x, period):
    """``hifigan.DiscriminatorP.to_2d`` for a given period."""
    return hifigan.DiscriminatorP.to_2d(SimpleNamespace(period=period), x)


def _reshape_variant(*, mode="reflect", where="end", layout="rows", whole_period=False, truncate=False):
    def wrong(x, period):
        b, c, t = x.shape
        if truncate:
            x = x[..., : t - t % period]
        else:
            n_pad = period - t % period if whole_period else -t % period
            if n_pad:
                pad = (0, n_pad) if where == "end" else (n_pad, 0)
                x = F.pad(x, pad, mode=mode) if mode != "constant" else F.pad(x, pad)
        rows = x.shape[-1] // period
        if layout == "rows":
            return x.reshape(b, c, rows, period)
        if layout == "transposed":
            return x.reshape(b, c, rows, period).transpose(-1, -2)
        return x.reshape(b, c, period, rows).transpose(-1, -2)  # "chunks": p contiguous pieces
    return wrong


def _ramp(n: int, batch: int = 1) -> torch.Tensor:
    return torch.arange(1.0, n + 1).repeat(batch, 1).reshape(batch, 1, n)


def _reshape_cases():
    return [
        Case("the ramp 1…12, period 3 (12 is a multiple of 3: no padding)", (_ramp(12), 3)),
        Case("the ramp 1…10, period 3 (two samples of padding)", (_ramp(10), 3)),
        Case("a batch of 2 noise clips, 100 samples, period 7", (_randn(2, 1, 100, seed=31), 7)),
        Case("23 samples, period 11 (MPD's longest)", (_randn(1, 1, 23, seed=32), 11)),
        Case("9 samples, period 2", (_ramp(9), 2)),
        Case("16 samples, period 5 (four samples of padding)", (_randn(1, 1, 16, seed=33), 5)),
    ]


def _reshape_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other lengths, periods and batches."""
    return [
        Case("the ramp 1…7, period 7 (one row)", (_ramp(7), 7)),
        Case("the ramp 1…5, period 3 (one sample of padding)", (_ramp(5), 3)),
        Case("a batch of 3 noise clips, 50 samples, period 13", (_randn(3, 1, 50, seed=41), 13)),
        Case("a batch of 2 ramps 1…4, period 2", (_ramp(4, batch=2), 2)),
    ]


register(Exercise(
    name="period_reshape",
    notebook=NOTEBOOK,
    reference=_period_reshape,
    cases=_reshape_cases,
    hidden_cases=_reshape_hidden_cases,
    reference_name="voclab.models.hifigan.DiscriminatorP.to_2d",
    hint="n_pad = (−T) mod p; x = F.pad(x, (0, n_pad), mode='reflect'); return x.view(B, 1, (T + n_pad) // p, p) "
         "— row i holds samples i·p … i·p + p − 1, so column j holds samples j, j + p, j + 2p, …",
    compare=dict(rtol=0, atol=0),
    mistakes=[
        (_reshape_variant(mode="constant"),
         ("you padded with zeros; the MPD reflect-pads (F.pad(x, (0, n_pad), mode='reflect')) so the last row "
          "does not end in an artificial silence")),
        (_reshape_variant(mode="replicate"),
         "you repeated the last sample (replicate); the MPD reflect-pads: mode='reflect'"),
        (_reshape_variant(where="start"),
         "you padded at the start; the MPD pads at the end, F.pad(x, (0, n_pad), mode='reflect')"),
        (_reshape_variant(layout="transposed"),
         ("the shape is (B, 1, p, T/p) — transposed: the image has T/p rows (time, one period per row) and "
          "p columns (the phase within the period): view(B, 1, T // p, p)")),
        (_reshape_variant(layout="chunks"),
         ("your column j holds a contiguous chunk of the signal; it must hold every p-th sample, j, j + p, "
          "j + 2p, …: view(B, 1, T // p, p) does that, without a transpose")),
        (_reshape_variant(whole_period=True),
         "you padded a whole period when T is already a multiple of p; pad (−T) mod p samples, i.e. none then"),
        (_reshape_variant(truncate=True),
         "you dropped the last T mod p samples; the MPD keeps them and reflect-pads up to the next multiple of p"),
    ],
))


# =========================================================================== exercise 3: LSGAN losses


#: score lengths of the 8 sub-discriminators on a short clip: MPD (periods 2…11), then MSD's 3 scales
_SCORE_LENGTHS = (8, 9, 10, 14, 11, 32, 17, 9)


def _scores(seed, *, batch=2, offset=0.5, scale=0.6, lengths=_SCORE_LENGTHS):
    generator = torch.Generator().manual_seed(seed)
    return [offset + scale * torch.randn(batch, n, generator=generator) for n in lengths]


#: what a discriminator loss with one side cut from the graph would train
_REAL_SCORES_CUT = ("the value is right, but the discriminators would learn from the fake scores only — keep the "
                    "real scores in the graph (for the discriminators' step the training loop detaches the generated "
                    "audio, never the scores)")
_FAKE_SCORES_CUT = ("the value is right, but the discriminators would learn from the real scores only — keep the "
                    "fake scores in the graph (the training loop detaches the generated audio before the "
                    "discriminators score it; the scores keep their graph)")


def _lsgan_d_cases():
    return [
        Case("8 sub-discriminators (5 MPD + 3 MSD), scores around 0.5", (_scores(41), _scores(42))),
        Case("a perfect discriminator: every real score 1, every fake score 0 (the loss is 0)",
             ([torch.ones(2, n) for n in _SCORE_LENGTHS], [torch.zeros(2, n) for n in _SCORE_LENGTHS])),
        Case("a fooled discriminator: real scores near 0, fake near 1",
             (_scores(43, offset=0.0, scale=0.2), _scores(44, offset=1.0, scale=0.2))),
        Case("one discriminator, batch of 1", (_scores(45, batch=1, lengths=(5,)), _scores(46, batch=1, lengths=(5,)))),
    ]


def _maps(seed, *, batch, lengths, dtype=torch.float32):
    """Score maps of shape (batch, 1, n), as MelGAN-style discriminators give them."""
    return [score[:, None].to(dtype) for score in _scores(seed, batch=batch, lengths=lengths)]


def _lsgan_d_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): 5 and 3 sub-discriminators, batches of 4 and 3,
    score maps of shape (B, 1, T) in float64, and 1 × 1 scores far from both targets, where the public
    ones are 8 (or 1) flat float32 score tensors. The maps catch a mean taken as ``.mean(-1).mean(0)``
    (scores assumed (B, T)): it returns shape (1,), not a scalar."""
    return [
        Case("the 5 MPD sub-discriminators only, a batch of 4",
             (_scores(47, batch=4, lengths=(6, 7, 9, 12, 10)), _scores(48, batch=4, lengths=(6, 7, 9, 12, 10)))),
        Case("3 float64 score maps of shape (B, 1, T), a batch of 3",
             (_maps(49, batch=3, lengths=(16, 8, 4), dtype=torch.float64),
              _maps(50, batch=3, lengths=(16, 8, 4), dtype=torch.float64))),
        Case("two 1 × 1 scores: real −3, fake 3 (each term 16 and 9)",
             ([torch.full((1, 1), -3.0)] * 2, [torch.full((1, 1), 3.0)] * 2)),
    ]


def _lsgan_d_variant(term_real, term_fake, reduce="sum"):
    def wrong(real_scores, fake_scores):
        terms = [term_real(r).mean() + term_fake(f).mean() for r, f in zip(real_scores, fake_scores)]
        return sum(terms) if reduce == "sum" else torch.stack(terms).mean()
    return wrong


register(Exercise(
    name="lsgan_discriminator_loss",
    notebook=NOTEBOOK,
    reference=hifigan.discriminator_loss,
    cases=_lsgan_d_cases,
    hidden_cases=_lsgan_d_hidden_cases,
    reference_name="voclab.models.hifigan.discriminator_loss",
    hint="For each sub-discriminator k: mean((1 − real_k)²) + mean(fake_k²); add the k terms up and return a torch scalar.",
    compare=_LOSS_TOLERANCE,
    differentiable=[Differentiable("real_scores", missing=_REAL_SCORES_CUT),
                    Differentiable("fake_scores", missing=_FAKE_SCORES_CUT)],
    mistakes=[
        (_lsgan_d_variant(lambda r: r ** 2, lambda f: (1 - f) ** 2),
         ("the targets are swapped: the discriminator pushes real scores to 1, (1 − D(x))², and fake scores "
          "to 0, D(G(s))²")),
        (_lsgan_d_variant(lambda r: (1 - r) ** 2, lambda f: f ** 2, reduce="mean"),
         "you averaged over the sub-discriminators; HiFi-GAN adds the 8 terms up (5 MPD + 3 MSD)"),
        (_lsgan_d_variant(lambda r: (1 - r).abs(), lambda f: f.abs()),
         "the squares are missing: least-squares GAN uses (1 − D(x))² and D(G(s))², not absolute values"),
        (_lsgan_d_variant(lambda r: F.relu(1 - r), lambda f: F.relu(1 + f)),
         "that is the hinge loss (MelGAN's); HiFi-GAN uses least squares: (1 − D(x))² + D(G(s))²"),
        (_lsgan_d_variant(lambda r: F.softplus(-r), lambda f: F.softplus(f)),
         "that is the original (cross-entropy) GAN loss; HiFi-GAN uses least squares: (1 − D(x))² + D(G(s))²"),
        (_lsgan_d_variant(lambda r: (1 - r) ** 2, lambda f: 0 * f),
         "only the real term: add mean(D(G(s))²), which pushes the fake scores to 0"),
        (_lsgan_d_variant(lambda r: (1 - r) ** 2, lambda f: (1 + f) ** 2),
         "the fake target is −1 here; HiFi-GAN's LSGAN uses the targets 1 (real) and 0 (fake): D(G(s))²"),
    ],
))


def _lsgan_g_cases():
    return [
        Case("8 sub-discriminators, fake scores around 0.5", (_scores(51),)),
        Case("scores all 1: the discriminators are fooled (the loss is 0)", ([torch.ones(2, n) for n in _SCORE_LENGTHS],)),
        Case("scores near 0: the discriminators are sure", (_scores(52, offset=0.0, scale=0.2),)),
        Case("one discriminator, batch of 1", (_scores(53, batch=1, lengths=(5,)),)),
    ]


def _lsgan_g_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): 5 and 3 sub-discriminators, batches of 4 and 3,
    scores beyond the target 1, float64 score maps of shape (B, 1, T) and a single 1 × 1 score. The maps
    catch a mean taken as ``.mean(-1).mean(0)`` (scores assumed (B, T)): it returns shape (1,)."""
    return [
        Case("the 5 MPD sub-discriminators, a batch of 4, scores around 1.5 (past the target)",
             (_scores(54, batch=4, offset=1.5, lengths=(6, 7, 9, 12, 10)),)),
        Case("3 float64 score maps of shape (B, 1, T), a batch of 3",
             (_maps(55, batch=3, lengths=(16, 8, 4), dtype=torch.float64),)),
        Case("one 1 × 1 score of 0 (the loss is 1)", ([torch.zeros(1, 1)],)),
    ]


register(Exercise(
    name="lsgan_generator_loss",
    notebook=NOTEBOOK,
    reference=hifigan.generator_adversarial_loss,
    cases=_lsgan_g_cases,
    hidden_cases=_lsgan_g_hidden_cases,
    reference_name="voclab.models.hifigan.generator_adversarial_loss",
    hint="For each sub-discriminator k: mean((1 − fake_k)²); add the terms up. The generator wants its scores to be 1.",
    compare=_LOSS_TOLERANCE,
    differentiable=["fake_scores"],
    mistakes=[
        (lambda fake: sum((f ** 2).mean() for f in fake),
         ("you pushed the fake scores to 0 — that is the discriminator's target for fakes; the generator "
          "wants them at 1: mean((1 − D(G(s)))²)")),
        (lambda fake: torch.stack([((1 - f) ** 2).mean() for f in fake]).mean(),
         "you averaged over the sub-discriminators; HiFi-GAN adds the 8 terms up"),
        (lambda fake: sum(-f.mean() for f in fake),
         "−D(G(s)) is the hinge/Wasserstein generator loss (MelGAN's); HiFi-GAN's is least squares, (1 − D(G(s)))²"),
        (lambda fake: sum((1 - f).abs().mean() for f in fake),
         "the square is missing: mean((1 − D(G(s)))²)"),
        (lambda fake: sum(F.softplus(-f).mean() for f in fake),
         "that is the cross-entropy (non-saturating) GAN loss; HiFi-GAN's is least squares, (1 − D(G(s)))²"),
    ],
))


# =========================================================================== exercise 4: mel_l1_loss


def _mel_l1_loss(y, y_hat, mel_cfg):
    """``hifigan.mel_l1`` with the target mel computed from ``y``."""
    target = spectral.mel_spectrogram(y.squeeze(1).float(), mel_cfg)
    return hifigan.mel_l1(y_hat, target, mel_cfg)


def _mel_variant(*, cfg=None, distance=F.l1_loss, log=True, weight=1.0, waveform=False):
    def wrong(y, y_hat, mel_cfg):
        if waveform:
            return F.l1_loss(y_hat, y)
        use = mel_cfg if cfg is None else cfg
        a = spectral.mel_spectrogram(y_hat.squeeze(1), use, log=log)
        b = spectral.mel_spectrogram(y.squeeze(1), use, log=log)
        return weight * distance(a, b)
    return wrong


def _voice(n, *, sr=22050, f0=140.0, seed=0):
    """A buzzy harmonic tone with a little noise: energy up to the Nyquist frequency."""
    t = torch.arange(n) / sr
    y = sum(torch.sin(2 * math.pi * f0 * k * t + k) / k for k in range(1, 40) if f0 * k < sr / 2)
    return 0.2 * y + _randn(n, seed=seed, scale=0.01)


def _hiss_above(n, cutoff_hz, *, sr=22050, seed=0):
    """White noise high-passed at ``cutoff_hz`` (an FFT brick wall)."""
    spectrum = torch.fft.rfft(_randn(n, seed=seed))
    spectrum[: int(cutoff_hz / sr * n)] = 0
    return torch.fft.irfft(spectrum, n)


def _mel_cases():
    loss_mel = hifigan.Config().loss_mel_config  # full band: 0 to 11025 Hz
    n = 4096
    voice = torch.stack([_voice(n, seed=1), _voice(n, f0=210.0, seed=2)])[:, None]  # (2, 1, T)
    noisy = voice + _randn(2, 1, n, seed=3, scale=0.02)
    hissy = voice + 0.05 * _hiss_above(n, 8500.0, seed=4).reshape(1, 1, n)
    return [
        Case("two 0.19 s voices and a noisier copy, HiFi-GAN's loss mel (0–11025 Hz)", (voice, noisy, loss_mel)),
        Case("a copy with hiss above 8.5 kHz only (invisible to the 8 kHz input mel)", (voice, hissy, loss_mel)),
        Case("the same clip twice (the loss is 0)", (voice, voice.clone(), loss_mel)),
        Case("the copy at half the level (ln 2 ≈ 0.69 per bin, where above the floor)", (voice, 0.5 * voice, loss_mel)),
        Case("MelGAN's mel settings (log10): the loss follows mel_cfg", (voice, noisy, spectral.MelConfig.preset("melgan"))),
    ]


def _mel_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): a batch of 1 of odd length, a silent clip (its
    log-mel sits at the floor) and ParallelWaveGAN's mel (80–7600 Hz, floor 1e-10, centred frames),
    where the public ones are a batch of 2 of 4096 samples with HiFi-GAN's and MelGAN's mels."""
    loss_mel = hifigan.Config().loss_mel_config
    n = 2999
    voice = _voice(n, f0=110.0, seed=5).reshape(1, 1, n)
    quiet = torch.stack([_voice(1500, f0=180.0, seed=6), torch.zeros(1500)])[:, None]
    return [
        Case("one clip of 2999 samples (an odd length), a batch of 1, against a noisier copy",
             (voice, voice + _randn(1, 1, n, seed=7, scale=0.02), loss_mel)),
        Case("a batch of 2: silence against a hum at −40 dB, a hum against silence (log-mels at the floor)",
             (quiet.flip(0), 0.01 * quiet, loss_mel)),
        Case("ParallelWaveGAN's mel (80–7600 Hz, log10 with floor 1e-10, centred frames)",
             (voice, 0.5 * voice + _randn(1, 1, n, seed=8, scale=0.001), spectral.MelConfig.preset("pwg"))),
    ]


register(Exercise(
    name="mel_l1_loss",
    notebook=NOTEBOOK,
    reference=_mel_l1_loss,
    cases=_mel_cases,
    hidden_cases=_mel_hidden_cases,
    reference_name="voclab.models.hifigan.mel_l1",
    hint="mel_spectrogram(y.squeeze(1), mel_cfg) and mel_spectrogram(y_hat.squeeze(1), mel_cfg) are log-mels; "
         "return F.l1_loss of the two (the mean absolute difference). Pass mel_cfg: the default is the 8 kHz input mel.",
    compare=_MEL_TOLERANCE,
    differentiable=["y_hat"],
    mistakes=[
        (_mel_variant(cfg=spectral.MelConfig()),
         ("you computed the mels with MelConfig() — the 8 kHz *input* mel — instead of mel_cfg, the full-band "
          "loss mel: mel_spectrogram(y, mel_cfg). Without it nothing stops the generator from hissing above 8 kHz")),
        (_mel_variant(distance=F.mse_loss),
         ("you used a squared error; HiFi-GAN's mel loss is an L1 distance (F.l1_loss), which is less swayed by "
          "a few loud bins")),
        (_mel_variant(log=False),
         ("you compared mel *magnitudes*; the loss compares log-mels (mel_spectrogram's default log=True), so "
          "quiet bands count as much as loud ones")),
        (_mel_variant(weight=45.0),
         "you multiplied by λ_mel = 45 here; the training loop applies the weight: g_loss = adv + 2·fm + 45·mel_l1"),
        (_mel_variant(distance=lambda a, b: (a - b).abs().sum()),
         ("you summed the absolute differences; take their mean (F.l1_loss), so the loss does not grow with "
          "the clip's length")),
        (_mel_variant(waveform=True),
         ("you compared the waveforms; the loss compares log-mel spectrograms — a waveform L1 punishes phase "
          "differences the ear does not hear")),
    ],
))
