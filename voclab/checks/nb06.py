"""Exercise checks of notebook 06, MelGAN.

The learner builds MelGAN's pieces: one upsampling stage of the generator, the residual
block, the discriminators' downsampling between scales and the three losses. Modules are
checked by building the learner's and voclab's (:func:`~voclab.checks.build_alike`),
giving the learner's voclab's weights (:func:`~voclab.checks.load_weights_by_use`: by name,
or else by the order in which the two ``forward`` methods use the layers -- the residual
block may add its two paths in either order), running both on fixed inputs and comparing
the outputs and the parameter count. So the layers may be created in any order. The losses
are checked for their gradients too: the discriminator's reaches the real and the fake
scores, feature matching's reaches the fake features only (the real ones are targets).

The references are ``voclab.models.melgan``'s own building blocks (``ResnetBlock``, the
losses, the discriminator's ``AvgPool1d``) or, for the upsampling stage that
:class:`~voclab.models.melgan.Generator` builds inline, the same two layers.

Every exercise also has hidden inputs (``hidden_cases``, run only by ``voclab grade``): other
channel counts, ratios, dilations, lengths, scales and batch sizes, float64 where the exercise
admits it, and a 2-sample clip that tells a hand-written edge fix of ``downsample`` apart.

Notebook: 06_melgan.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ..models import melgan
from . import Case, Differentiable, Exercise, build_alike, load_weights_by_use, register

NOTEBOOK = "06_melgan"

#: how module outputs are compared (float32 convolutions; sums in another order are fine)
_MODULE_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
_LOSS_TOLERANCE = dict(rtol=1e-5, atol=1e-6)


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


def _count_with_gains(module: nn.Module) -> int:
    """Every trainable number, weight-norm gains included (a missing weight norm shows here)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _run_module(reference, build, *args, x):
    """Build ``build(*args)`` next to ``reference(*args)``, give it voclab's weights, run it on ``x``;
    output and size. Bound to a reference with ``functools.partial`` to make an exercise's ``run``."""
    module, expected = build_alike(build, reference, *args)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__} — return the module itself")
    load_weights_by_use(module, expected, x)
    with torch.no_grad():
        y = module(x)
    return {"output": y, "parameters": _count_with_gains(module)}


# =========================================================================== exercise 1: upsample_layer


def _upsample_layer(in_channels, ratio):
    return nn.Sequential(
        nn.LeakyReLU(0.2),
        weight_norm(nn.ConvTranspose1d(
            in_channels, in_channels // 2, kernel_size=2 * ratio, stride=ratio,
            padding=ratio // 2 + ratio % 2, output_padding=ratio % 2,
        )),
    )


def _upsample_variant(*, kernel=lambda r: 2 * r, padding=lambda r: r // 2 + r % 2,
                      output_padding=lambda r: r % 2, activation=lambda: nn.LeakyReLU(0.2),
                      halve=True, norm=True):
    """A wrong upsampling stage: the reference with one ingredient changed."""
    def build(in_channels, ratio):
        conv = nn.ConvTranspose1d(
            in_channels, in_channels // 2 if halve else in_channels, kernel_size=kernel(ratio),
            stride=ratio, padding=padding(ratio), output_padding=output_padding(ratio),
        )
        layers = ([activation()] if activation is not None else []) + [weight_norm(conv) if norm else conv]
        return nn.Sequential(*layers)
    return build


def _upsample_cases():
    return [
        Case("16 channels, ratio 8 (the first stages' factor), 5 frames",
             (16, 8), dict(x=_randn(2, 16, 5, seed=1))),
        Case("8 channels, ratio 2 (the last stages' factor), 7 frames", (8, 2), dict(x=_randn(1, 8, 7, seed=2))),
        Case("6 channels, odd ratio 3 (output_padding matters), 4 frames",
             (6, 3), dict(x=_randn(1, 6, 4, seed=3))),
        Case("4 channels, odd ratio 5, a single frame", (4, 5), dict(x=_randn(1, 4, 1, seed=4))),
        Case("64 channels, ratio 4, 3 frames", (64, 4), dict(x=_randn(1, 64, 3, seed=5))),
    ]


def _upsample_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): an odd channel count (5 // 2 = 2 out), an odd
    ratio larger than any public one (7) with a batch of 3, and an even one (10) on a single frame."""
    return [
        Case("5 channels (odd: 5 // 2 = 2 out), ratio 2, 6 frames", (5, 2), dict(x=_randn(1, 5, 6, seed=6))),
        Case("2 channels, odd ratio 7, a batch of 3, 2 frames", (2, 7), dict(x=_randn(3, 2, 2, seed=7))),
        Case("4 channels, even ratio 10, a single frame", (4, 10), dict(x=_randn(1, 4, 1, seed=8))),
    ]

register(Exercise(
    name="upsample_layer",
    notebook=NOTEBOOK,
    reference=_upsample_layer,
    cases=_upsample_cases,
    hidden_cases=_upsample_hidden_cases,
    run=partial(_run_module, _upsample_layer),
    reference_name="voclab.models.melgan.Generator's upsampling stage",
    hint="nn.Sequential(nn.LeakyReLU(0.2), weight_norm(nn.ConvTranspose1d(in_channels, in_channels // 2, "
         "kernel_size=2 * ratio, stride=ratio, padding=ratio // 2 + ratio % 2, output_padding=ratio % 2))).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_upsample_variant(kernel=lambda r: r, padding=lambda r: 0, output_padding=lambda r: 0),
         "kernel_size = ratio: each frame is pasted into its own block of `ratio` samples, with no overlap "
         "between neighbours; MelGAN uses kernel_size = 2 · ratio"),
        (_upsample_variant(kernel=lambda r: r),
         "kernel_size = ratio; MelGAN uses kernel_size = 2 · ratio (and then the padding formula gives "
         "exactly ratio × frames samples)"),
        (_upsample_variant(output_padding=lambda r: 0),
         "output_padding is missing: with an odd ratio the output is one sample short — "
         "use output_padding = ratio % 2"),
        (_upsample_variant(padding=lambda r: r // 2),
         "padding = ratio // 2 is right only for even ratios: use ratio // 2 + ratio % 2 "
         "(with output_padding = ratio % 2)"),
        (_upsample_variant(halve=False),
         "the channels are not halved: the transposed conv goes from in_channels to in_channels // 2"),
        (_upsample_variant(activation=None),
         "the LeakyReLU(0.2) before the transposed conv is missing"),
        (_upsample_variant(activation=lambda: nn.LeakyReLU()),
         "nn.LeakyReLU() has slope 0.01; MelGAN uses nn.LeakyReLU(0.2)"),
        (_upsample_variant(activation=lambda: nn.ReLU()),
         "ReLU instead of LeakyReLU(0.2): MelGAN's activations let negative values through with slope 0.2"),
        (_upsample_variant(norm=False),
         "the transposed conv has no weight norm: wrap it in torch.nn.utils.parametrizations.weight_norm "
         "(it adds one gain per input channel)"),
    ],
))


# =========================================================================== exercise 2: ResidualBlock


class _ResidualVariant(nn.Module):
    """A wrong residual block: MelGAN's with one ingredient changed."""

    def __init__(self, channels, dilation, *, shortcut="conv", pad="reflect", dilate=True, first_activation=True,
                 slope=0.2, norm=True):
        super().__init__()
        wn = weight_norm if norm else (lambda m: m)
        dilation = dilation if dilate else 1  # "not dilated": the dilation ignored everywhere
        if pad == "reflect":
            padding_layer, conv_padding = nn.ReflectionPad1d(dilation), 0
        else:
            padding_layer, conv_padding = nn.Identity(), dilation
        layers = [nn.LeakyReLU(slope)] if first_activation else []
        layers += [
            padding_layer,
            wn(nn.Conv1d(channels, channels, kernel_size=3, dilation=dilation, padding=conv_padding)),
            nn.LeakyReLU(slope),
            wn(nn.Conv1d(channels, channels, kernel_size=1)),
        ]
        self.block = nn.Sequential(*layers)
        self.shortcut = wn(nn.Conv1d(channels, channels, kernel_size=1)) if shortcut == "conv" else nn.Identity()

    def forward(self, x):
        return self.shortcut(x) + self.block(x)


def _residual_variant(**changes):
    def build(channels, dilation):
        return _ResidualVariant(channels, dilation, **changes)
    return build


def _residual_cases():
    return [
        Case("8 channels, dilation 1, 20 samples", (8, 1), dict(x=_randn(2, 8, 20, seed=11))),
        Case("8 channels, dilation 3, 16 samples", (8, 3), dict(x=_randn(1, 8, 16, seed=12))),
        Case("4 channels, dilation 9, 30 samples", (4, 9), dict(x=_randn(1, 4, 30, seed=13))),
        Case("32 channels, dilation 9, 64 samples (the last stage's width)",
             (32, 9), dict(x=_randn(1, 32, 64, seed=14))),
    ]


def _residual_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): an extreme dilation (27, the next power of 3),
    an even one (2), one channel, a batch of 3 and the shortest input a reflect pad of 1 admits."""
    return [
        Case("16 channels, dilation 27, 40 samples, a batch of 3", (16, 27), dict(x=_randn(3, 16, 40, seed=15))),
        Case("1 channel, even dilation 2, 5 samples", (1, 2), dict(x=_randn(1, 1, 5, seed=16))),
        Case("2 channels, dilation 1, 2 samples (the shortest a reflect pad of 1 admits)",
             (2, 1), dict(x=_randn(2, 2, 2, seed=17))),
    ]

register(Exercise(
    name="ResidualBlock",
    notebook=NOTEBOOK,
    reference=melgan.ResnetBlock,
    cases=_residual_cases,
    hidden_cases=_residual_hidden_cases,
    run=partial(_run_module, melgan.ResnetBlock),
    reference_name="voclab.models.melgan.ResnetBlock",
    hint="self.block = nn.Sequential(LeakyReLU(0.2), ReflectionPad1d(dilation), WN Conv1d(k=3, dilation), "
         "LeakyReLU(0.2), WN Conv1d(k=1)) and self.shortcut = WN Conv1d(k=1); "
         "forward returns self.shortcut(x) + self.block(x).",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_residual_variant(shortcut="identity"),
         "your shortcut is the identity; MelGAN's official code uses a learned, weight-normed 1×1 conv "
         "(self.shortcut = weight_norm(nn.Conv1d(channels, channels, 1)))"),
        (_residual_variant(pad="zeros"),
         "you zero-padded inside the conv (padding=dilation); MelGAN reflect-pads the input with "
         "nn.ReflectionPad1d(dilation) and the conv itself has no padding"),
        (_residual_variant(dilate=False),
         "the k=3 conv is not dilated: pass dilation=dilation to it (and reflect-pad by dilation)"),
        (_residual_variant(first_activation=False),
         "the block starts with the conv; MelGAN's starts with LeakyReLU(0.2) (pre-activation)"),
        (_residual_variant(slope=0.01),
         "nn.LeakyReLU() has slope 0.01; MelGAN uses nn.LeakyReLU(0.2)"),
        (_residual_variant(norm=False),
         "no weight norm: wrap each conv in torch.nn.utils.parametrizations.weight_norm"),
    ],
))


# =========================================================================== exercise 3: downsample


def _downsample(x):
    return F.avg_pool1d(x, kernel_size=4, stride=2, padding=1, count_include_pad=False)


def _downsample_cases():
    ramp = torch.linspace(-1.0, 1.0, 16).reshape(1, 1, 16)
    return [
        Case("a batch of 2 noise clips, 64 samples", (_randn(2, 1, 64, seed=21, scale=0.3),)),
        Case("an odd length, 33 samples", (_randn(1, 1, 33, seed=22, scale=0.3),)),
        Case("a constant signal (the edges must stay at the constant)", (torch.full((1, 1, 10), 0.5),)),
        Case("a ramp from −1 to 1, 16 samples", (ramp,)),
    ]


def _downsample_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): 2 samples (one window with padding on both
    sides: the mean of the 2 real ones), a batch of 3 odd-length clips and float64 samples. The first
    catches an edge fix written by hand (the zero-padded mean × 4/3 at the first and the last
    output), which the public lengths, all with two or more windows, cannot tell apart."""
    return [
        Case("2 samples (one window, padded on both sides: the mean of the 2)",
             (torch.tensor([[[0.6, -0.2]]]),)),
        Case("a batch of 3 noise clips, 101 samples", (_randn(3, 1, 101, seed=23, scale=0.3),)),
        Case("float64 noise, 8 samples", (_randn(1, 1, 8, seed=24, scale=0.3).double(),)),
    ]

register(Exercise(
    name="downsample",
    notebook=NOTEBOOK,
    reference=_downsample,
    cases=_downsample_cases,
    hidden_cases=_downsample_hidden_cases,
    reference_name="voclab.models.melgan.Discriminator.downsample",
    hint="F.avg_pool1d(x, kernel_size=4, stride=2, padding=1, count_include_pad=False) "
         "(or the nn.AvgPool1d module with the same arguments).",
    compare=dict(rtol=1e-5, atol=1e-6),
    mistakes=[
        (lambda x: F.avg_pool1d(x, 4, stride=2, padding=1, count_include_pad=True),
         "at the edges you averaged the zeros of the padding too: pass count_include_pad=False, so an "
         "edge window averages only the 3 real samples it covers"),
        (lambda x: x[..., ::2],
         "you kept every other sample; without averaging first, frequencies above the new Nyquist "
         "frequency fold back (alias). Average 4 neighbours, then step by 2"),
        (lambda x: F.avg_pool1d(x, 2, stride=2),
         "a window of 2 samples: MelGAN averages 4 neighbours (kernel 4, stride 2, padding 1)"),
        (lambda x: F.avg_pool1d(x, 4, stride=2),
         "no padding: the output loses a sample at the end; pass padding=1 (and count_include_pad=False)"),
        (lambda x: F.avg_pool1d(x, 4, stride=4),
         "stride 4 quarters the rate; each scale halves it: stride 2"),
    ],
))


# =========================================================================== exercises 4-6: losses


def _maps(seed, *, scales=3, channels=(16, 64, 256, 1024, 1024, 1024), length=2048, batch=2,
          score_scale=1.5, offset=0.0):
    """Lists (one per scale) of feature maps shaped like a MelGAN discriminator's, score last.

    Scale i is 2^i times shorter, and each strided layer divides the length by 4 (at least 1).
    Channels are scaled down to keep the inputs small; only the structure matters.
    """
    generator = torch.Generator().manual_seed(seed)
    outputs = []
    for i in range(scales):
        n = max(length // 2 ** i, 4)
        maps, t = [], n
        for j, c in enumerate(channels):
            if 1 <= j <= len(channels) - 2:  # the strided layers; the k5 layer keeps the length
                t = max(t // 4, 1)
            maps.append(0.5 * torch.randn(batch, max(c // 16, 1), t, generator=generator))
        maps.append(offset + score_scale * torch.randn(batch, 1, t, generator=generator))
        outputs.append(maps)
    return outputs


#: what a discriminator loss with one side cut from the graph would train
_REAL_SCORES_CUT = ("the value is right, but the discriminator would learn from the fake scores only — keep the real "
                    "scores in the graph (for the discriminator's step the training loop detaches the generated audio, "
                    "never the scores)")
_FAKE_SCORES_CUT = ("the value is right, but the discriminator would learn from the real scores only — keep the fake "
                    "scores in the graph (the training loop detaches the generated audio before the discriminator "
                    "scores it; the scores keep their graph)")


def _hinge_d_cases():
    return [
        Case("3 scales × 7 maps, scores around 0 (some beyond ±1)", (_maps(31), _maps(32))),
        Case("real scores ≥ 1 and fake ≤ −1 everywhere (beyond the margins: the loss is 0)",
             (_maps(33, offset=3.0, score_scale=0.5), _maps(34, offset=-3.0, score_scale=0.5))),
        Case("real scores low and fake scores high (the discriminator is fooled)",
             (_maps(35, offset=-0.5), _maps(36, offset=0.5))),
        Case("a single scale, batch of 1", (_maps(37, scales=1, batch=1), _maps(38, scales=1, batch=1))),
    ]


def _hinge_d_variant(term_real, term_fake, reduce=sum, which=-1):
    def wrong(real_scores, fake_scores):
        terms = [term_real(r[which]).mean() + term_fake(f[which]).mean()
                 for r, f in zip(real_scores, fake_scores)]
        return reduce(terms) if reduce is sum else reduce(torch.stack(terms))
    return wrong


def _hinge_d_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other numbers of scales and batch sizes."""
    return [
        Case("2 scales, a batch of 3", (_maps(41, scales=2, batch=3), _maps(42, scales=2, batch=3))),
        Case("4 scales, scores spread widely (×4)",
             (_maps(43, scales=4, score_scale=4.0), _maps(44, scales=4, score_scale=4.0))),
    ]


register(Exercise(
    name="hinge_discriminator_loss",
    notebook=NOTEBOOK,
    reference=melgan.discriminator_loss,
    cases=_hinge_d_cases,
    hidden_cases=_hinge_d_hidden_cases,
    reference_name="voclab.models.melgan.discriminator_loss",
    hint="For each scale take the score map, scale[-1]: relu(1 − real).mean() + relu(1 + fake).mean(); "
         "add the scales up and return a torch scalar.",
    compare=_LOSS_TOLERANCE,
    differentiable=[Differentiable("real", missing=_REAL_SCORES_CUT),
                    Differentiable("fake", missing=_FAKE_SCORES_CUT)],
    mistakes=[
        (_hinge_d_variant(lambda r: F.relu(1 + r), lambda f: F.relu(1 - f)),
         "real and fake are swapped: the discriminator pushes real scores above +1 "
         "(relu(1 − D(x))) and fake scores below −1 (relu(1 + D(G(s))))"),
        (_hinge_d_variant(lambda r: 1 - r, lambda f: 1 + f),
         "the max(0, ·) is missing: without the ReLU it is a Wasserstein-style loss, and scores "
         "beyond the margins keep being pushed"),
        (_hinge_d_variant(lambda r: F.relu(1 - r), lambda f: F.relu(1 + f), reduce=torch.mean),
         "you averaged over the scales; MelGAN adds the three discriminators' losses up"),
        (_hinge_d_variant(lambda r: F.relu(1 - r), lambda f: F.relu(1 + f), which=0),
         "you used the first feature map; each scale's score map is the last entry, scale[-1]"),
        (_hinge_d_variant(lambda r: (1 - r) ** 2, lambda f: f ** 2),
         "that is the least-squares GAN loss (HiFi-GAN's); MelGAN uses the hinge loss"),
    ],
))


def _hinge_g_cases():
    return [
        Case("3 scales × 7 maps, scores around 0", (_maps(41),)),
        Case("scores far below −1 (the discriminator is sure they are fake)",
             (_maps(42, offset=-3.0, score_scale=0.5),)),
        Case("scores far above +1 (no margin for the generator: the loss keeps falling)",
             (_maps(43, offset=3.0, score_scale=0.5),)),
        Case("a single scale, batch of 1", (_maps(44, scales=1, batch=1),)),
    ]


def _hinge_g_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other numbers of scales and batch sizes, score
    maps of a single time step, float64 maps."""
    return [
        Case("2 scales, a batch of 3", (_maps(45, scales=2, batch=3),)),
        Case("5 scales of short clips (every score map 1 time step long)",
             (_maps(46, scales=5, length=64),)),
        Case("float64 maps, 4 scales, scores spread widely (×4)",
             ([[m.double() for m in scale] for scale in _maps(47, scales=4, score_scale=4.0)],)),
    ]

register(Exercise(
    name="hinge_generator_loss",
    notebook=NOTEBOOK,
    reference=melgan.generator_adversarial_loss,
    cases=_hinge_g_cases,
    hidden_cases=_hinge_g_hidden_cases,
    reference_name="voclab.models.melgan.generator_adversarial_loss",
    hint="Sum over the scales of −scale[-1].mean(): the generator wants the scores of its audio high, "
         "with no margin and no ReLU.",
    compare=_LOSS_TOLERANCE,
    differentiable=["fake"],
    mistakes=[
        (lambda fake: sum(scale[-1].mean() for scale in fake),
         "the sign is flipped: the generator minimises −D(G(s)), i.e. it pushes the scores up"),
        (lambda fake: sum(F.relu(1 - scale[-1]).mean() for scale in fake),
         "you gave the generator a hinge, max(0, 1 − D(G(s))); in MelGAN (as in SAGAN's hinge GAN) the "
         "generator's loss is plain −D(G(s)), with no margin"),
        (lambda fake: torch.stack([-scale[-1].mean() for scale in fake]).mean(),
         "you averaged over the scales; MelGAN adds the three discriminators' terms up"),
        (lambda fake: sum(((1 - scale[-1]) ** 2).mean() for scale in fake),
         "that is the least-squares GAN loss (HiFi-GAN's); MelGAN uses −D(G(s))"),
        (lambda fake: sum(-scale[0].mean() for scale in fake),
         "you used the first feature map; the score map is the last entry, scale[-1]"),
    ],
))


def _fm_cases():
    return [
        Case("3 scales × 7 maps, real and fake features differ", (_maps(51), _maps(52))),
        Case("identical real and fake features (the loss is 0)", (_maps(53), _maps(53))),
        Case("fake = real except the score maps (the scores must not count)",
             (_maps(54), [[*scale[:-1], scale[-1] + 5.0] for scale in _maps(54)])),
        Case("2 scales of a 2-layer discriminator (5 maps each), n_layers_D=2",
             (_maps(55, scales=2, channels=(16, 64, 256, 512)),
              _maps(56, scales=2, channels=(16, 64, 256, 512))), dict(n_layers_D=2)),
    ]


def _fm_variant(*, include_score=False, weight=None, per_map=F.l1_loss, factor=1.0, average=False):
    def wrong(real_features, fake_features, n_layers_D=4):
        w = (4.0 / (n_layers_D + 1)) / len(real_features) if weight is None else weight(n_layers_D, real_features)
        terms = []
        for real, fake in zip(real_features, fake_features):
            maps = list(zip(real, fake)) if include_score else list(zip(real[:-1], fake[:-1]))
            terms += [per_map(f, r.detach()) for r, f in maps]
        total = torch.stack(terms).mean() if average else w * sum(terms)
        return factor * total
    return wrong


def _fm_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): one scale of a 1-layer discriminator
    (n_layers_D=1, num_D=1), 4 scales with a batch of 1, and a constant offset between real and fake."""
    return [
        Case("1 scale of a 1-layer discriminator (4 maps), n_layers_D=1",
             (_maps(57, scales=1, channels=(16, 64, 256)), _maps(58, scales=1, channels=(16, 64, 256))),
             dict(n_layers_D=1)),
        Case("4 scales, a batch of 1", (_maps(59, scales=4, batch=1), _maps(60, scales=4, batch=1))),
        Case("fake = real + 0.25 on every map (each term 0.25; the scores differ too but do not count)",
             (_maps(61), [[m + 0.25 for m in scale] for scale in _maps(61)])),
    ]

register(Exercise(
    name="feature_matching_loss",
    notebook=NOTEBOOK,
    reference=melgan.feature_matching_loss,
    cases=_fm_cases,
    hidden_cases=_fm_hidden_cases,
    reference_name="voclab.models.melgan.feature_matching_loss",
    hint="w = 4 / (n_layers_D + 1) / len(real_features); add w · F.l1_loss(fake_map, real_map.detach()) "
         "over every scale and every map but the last (the score), scale[:-1].",
    compare=_LOSS_TOLERANCE,
    differentiable=[
        Differentiable("real", unexpected=(
            "the real features are targets: detach them, F.l1_loss(fake_map, real_map.detach()) — otherwise the "
            "generator's loss also trains the discriminator, pulling its features of real audio towards the fakes'")),
        Differentiable("fake", missing=(
            "feature matching trains the generator through the fake features: detach the real ones only")),
    ],
    mistakes=[
        (_fm_variant(include_score=True),
         "you included the score maps; feature matching uses every map but the last (scale[:-1])"),
        (_fm_variant(factor=10.0),
         "you multiplied by λ_feat = 10 here; the training loop applies it: "
         "loss_g = adversarial + 10 · feature_matching"),
        (_fm_variant(weight=lambda n, maps: 1.0),
         "the weights are missing: every map counts w = 4 / (n_layers_D + 1) · 1 / num_D "
         "(0.8 / 3 with MelGAN's settings), as in the official train.py"),
        (_fm_variant(weight=lambda n, maps: 4.0 / (n + 1)),
         "the 1 / num_D factor is missing: w = 4 / (n_layers_D + 1) · 1 / len(real_features)"),
        (_fm_variant(weight=lambda n, maps: 1.0 / len(maps)),
         "the 4 / (n_layers_D + 1) factor is missing: w = 4 / (n_layers_D + 1) · 1 / num_D"),
        (_fm_variant(average=True),
         "you averaged over all maps; the official code weighs each map by w = 4 / (n_layers_D + 1) / num_D, "
         "so one scale's weights add up to 4.8 with MelGAN's settings"),
        (_fm_variant(per_map=F.mse_loss),
         "you used a squared error; feature matching in MelGAN is an L1 distance (F.l1_loss)"),
    ],
))
