"""Exercise checks of notebook 04, WaveGAN and phase shuffle.

The learner writes phase shuffle, one upsampling layer of the generator (a transposed
convolution with TF's "same" crop: exactly 4× longer), WGAN-GP's gradient penalty and the two
Wasserstein losses. The references are :mod:`voclab.models.wavegan`'s own functions and its
:class:`~voclab.models.wavegan.UpsampleLayer`.

* ``phase_shuffle`` draws its shifts from torch's global random stream, which the check seeds
  alike for the learner and the reference; each case calls it several times in a row, so
  several shifts (and both signs) are compared, not one lucky draw.
* ``gradient_penalty`` is run on a small non-linear critic, and the check also backpropagates
  the penalty into the critic's weights: a penalty computed without ``create_graph=True`` has
  the right value and trains nothing, and the check says so.
* The losses are checked for the gradients that reach the scores (:class:`Differentiable`).

Notebook: 04_wavegan.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import wavegan
from . import Case, Differentiable, Exercise, build_alike, load_weights_by_use, register

NOTEBOOK = "04_wavegan"

_TOLERANCE = dict(rtol=1e-5, atol=1e-6)
_MODULE_TOLERANCE = dict(rtol=1e-4, atol=1e-5)


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


# =========================================================================== exercise 1: phase_shuffle


def _phase_shuffle(x, n=2, per_example=False):
    """The reference with the exercise's signature (positional ``per_example``)."""
    return wavegan.phase_shuffle(x, n, per_example=per_example)


#: calls per case: the seeded stream gives several shifts in a row (both signs, 0 among them)
_CALLS = 8


def _run_phase_shuffle(fn, x, n=2, per_example=False):
    outputs = []
    for _ in range(_CALLS):
        out = fn(x.clone(), n, per_example)
        if not isinstance(out, torch.Tensor):
            return out
        outputs.append(out)
    if any(o.shape != outputs[0].shape for o in outputs):
        return outputs[0]
    return torch.stack(outputs)  # (calls, B, C, T)


def _draws(x, n, per_example):
    return torch.randint(-n, n + 1, (x.shape[0] if per_example else 1,))


def _shift_each(x, shifts, pad_mode="reflect"):
    out = []
    length = x.shape[-1]
    for b in range(x.shape[0]):
        k = int(shifts[b % len(shifts)])
        xb = x[b:b + 1]
        if k > 0:
            xb = F.pad(xb, (k, 0), mode=pad_mode)[..., :length]
        elif k < 0:
            xb = F.pad(xb, (0, -k), mode=pad_mode)[..., -k:]
        out.append(xb)
    return torch.cat(out)


def _ps_zero_padding(x, n=2, per_example=False):
    if n == 0:
        return x
    return _shift_each(x, _draws(x, n, per_example), pad_mode="constant")


def _ps_never(x, n=2, per_example=False):
    if n == 0:  # the inverted condition: shuffle only when there is nothing to shuffle
        return _shift_each(x, _draws(x, n, per_example))
    return x


def _ps_per_example_always(x, n=2, per_example=False):
    if n == 0:
        return x
    return _shift_each(x, torch.randint(-n, n + 1, (x.shape[0],)))


def _ps_batch_always(x, n=2, per_example=False):
    if n == 0:
        return x
    return _shift_each(x, torch.randint(-n, n + 1, (1,)))


def _ps_uncropped(x, n=2, per_example=False):
    if n == 0:
        return x
    k = int(_draws(x, n, False)[0])
    return F.pad(x, (max(k, 0), max(-k, 0)), mode="reflect")


def _ps_circular(x, n=2, per_example=False):
    if n == 0:
        return x
    shifts = _draws(x, n, per_example)
    return torch.cat([torch.roll(x[b:b + 1], int(shifts[b % len(shifts)]), dims=-1)
                      for b in range(x.shape[0])])


def _ps_upper_exclusive(x, n=2, per_example=False):
    if n == 0:
        return x
    return _shift_each(x, torch.randint(-n, n, (x.shape[0] if per_example else 1,)))


def _phase_shuffle_cases():
    ramp = torch.arange(12.0).view(1, 1, 12)
    return [
        Case("a ramp 0…11, n=2 (see the reflection at the edge)", (ramp, 2)),
        Case("3 examples × 4 channels × 32 samples, n=2, one shift for the batch",
             (_randn(3, 4, 32, seed=1), 2)),
        Case("3 examples × 4 channels × 32 samples, n=2, per_example=True",
             (_randn(3, 4, 32, seed=2), 2, True)),
        Case("2 examples × 2 channels × 16 samples, n=4", (_randn(2, 2, 16, seed=3), 4)),
        Case("n=0: nothing to shuffle, the input comes back", (_randn(2, 3, 10, seed=4), 0)),
    ]


def _phase_shuffle_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other sizes and shift ranges than the public ones."""
    return [
        Case("5 examples × 1 channel × 64 samples, n=1", (_randn(5, 1, 64, seed=11), 1)),
        Case("4 examples × 2 channels × 20 samples, n=3, per_example=True", (_randn(4, 2, 20, seed=12), 3, True)),
        Case("1 example × 8 channels × 9 samples, n=4", (_randn(1, 8, 9, seed=13), 4)),
    ]


register(Exercise(
    name="phase_shuffle",
    notebook=NOTEBOOK,
    reference=_phase_shuffle,
    cases=_phase_shuffle_cases,
    hidden_cases=_phase_shuffle_hidden_cases,
    run=_run_phase_shuffle,
    reference_name="voclab.models.wavegan.phase_shuffle",
    hint="If n == 0 return x. Draw k = torch.randint(-n, n + 1, (B if per_example else 1,)); "
         "for k > 0 F.pad(x, (k, 0), mode='reflect')[..., :T], for k < 0 "
         "F.pad(x, (0, -k), mode='reflect')[..., -k:].",
    compare=_TOLERANCE,
    mistakes=[
        (_ps_never,
         "your shuffle never shifts anything when n > 0 — the condition is inverted (the bug of a "
         "popular PyTorch port: `use_phase_shuffle = shift_factor == 0`). Shuffle when n > 0"),
        (_ps_zero_padding,
         "you zero-padded: the edge gets silence where it should get a mirror image of the signal "
         "(mode='reflect'), and the discriminator can spot the zeros"),
        (_ps_circular,
         "torch.roll wraps the end of the signal round to its start; phase shuffle reflect-pads "
         "one side and crops the other"),
        (_ps_per_example_always,
         "each example got its own shift although per_example is False: the official code draws ONE "
         "shift per call, shared by the whole batch"),
        (_ps_batch_always,
         "with per_example=True each example needs its own shift: draw B of them"),
        (_ps_uncropped,
         "the output is longer than the input: after padding |k| samples on one side, crop back to T"),
        (_ps_upper_exclusive,
         "k never reaches +n: torch.randint's upper bound is exclusive — use randint(-n, n + 1, …)"),
    ],
))


# =========================================================================== exercise 2: UpsampleLayer


class _UpsampleReference(wavegan.UpsampleLayer):
    """voclab's transposed-convolution layer with the exercise's signature."""

    def __init__(self, in_channels, out_channels, kernel_len=25, stride=4):
        super().__init__(in_channels, out_channels, kernel_len, stride, "zeros")


class _UpsampleVariant(nn.Module):
    """A wrong upsampling layer: a transposed conv with another padding and crop."""

    def __init__(self, in_channels, out_channels, kernel_len=25, stride=4, *, padding=None,
                 crop="start"):
        super().__init__()
        self.stride, self.crop = stride, crop
        padding = (kernel_len - stride) // 2 if padding is None else padding(kernel_len, stride)
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_len, stride=stride,
                                       padding=padding)

    def forward(self, x):
        y = self.conv(x)
        length = x.shape[-1] * self.stride
        if self.crop == "start":
            return y[..., :length]
        if self.crop == "end":
            return y[..., -length:]
        return y


def _upsample_variant(**changes):
    def build(in_channels, out_channels, kernel_len=25, stride=4):
        return _UpsampleVariant(in_channels, out_channels, kernel_len, stride, **changes)
    return build


def _run_module(fn, *args, x):
    module, expected = build_alike(fn, _UpsampleReference, *args)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__}")
    load_weights_by_use(module, expected, x)
    with torch.no_grad():
        return module(x)


def _upsample_cases():
    return [
        Case("8 → 4 channels, kernel 25, stride 4, 16 positions (the paper's first layer, narrow)",
             (8, 4), dict(x=_randn(2, 8, 16, seed=11))),
        Case("4 → 1 channel (the last layer), 5 positions", (4, 1), dict(x=_randn(1, 4, 5, seed=12))),
        Case("a single position (the first dense output of a 1024-sample model)",
             (6, 3), dict(x=_randn(1, 6, 1, seed=13))),
        Case("kernel 24 (kernel − stride even: no extra sample to crop), 7 positions",
             (4, 2, 24, 4), dict(x=_randn(1, 4, 7, seed=14))),
        Case("stride 2 (the last layer of a 32768-sample model), 9 positions",
             (4, 2, 25, 2), dict(x=_randn(1, 4, 9, seed=15))),
    ]


def _upsample_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): strides 3 and 8, short kernels (8, 16) and a batch of 3;
    the public layers have kernels 24 and 25, strides 4 and 2. With kernel 8 and stride 3, (kernel − stride) // 2
    = 2 while kernel // 2 − stride // 2 = 3: the two paddings agree on every public layer, not here."""
    return [
        Case("kernel 8, stride 3 (kernel − stride = 5, odd), a batch of 3, 6 positions",
             (3, 5, 8, 3), dict(x=_randn(3, 3, 6, seed=21))),
        Case("kernel 16, stride 8, 2 → 1 channel, 4 positions", (2, 1, 16, 8), dict(x=_randn(1, 2, 4, seed=22))),
        Case("kernel 4 = stride 4 (the kernels do not overlap), 10 positions",
             (5, 2, 4, 4), dict(x=_randn(2, 5, 10, seed=23))),
    ]


register(Exercise(
    name="UpsampleLayer",
    notebook=NOTEBOOK,
    reference=_UpsampleReference,
    cases=_upsample_cases,
    hidden_cases=_upsample_hidden_cases,
    run=_run_module,
    reference_name="voclab.models.wavegan.UpsampleLayer",
    hint="self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_len, stride=stride, "
         "padding=(kernel_len - stride) // 2); forward returns self.conv(x)[..., :stride * T].",
    compare=_MODULE_TOLERANCE,
    mistakes=[
        (_upsample_variant(crop="none"),
         "the output is one sample too long: with kernel − stride odd (25 − 4 = 21) the transposed conv "
         "gives 4T + 1 samples; crop to stride · T, keeping the start as TF does"),
        (_upsample_variant(padding=lambda k, s: 0, crop="none"),
         "no padding and no crop: a transposed conv returns all stride·(T − 1) + kernel samples "
         "(85 from 16 positions), the kernel's tails included; TF's 'same' keeps stride · T of them: "
         "padding=(kernel_len - stride) // 2, then crop to stride · T"),
        (_upsample_variant(padding=lambda k, s: 0),
         "no padding: PyTorch's transposed conv then returns all stride·(T − 1) + kernel samples, the "
         "kernel's tails included; TF's 'same' drops (kernel − stride) // 2 at the start: "
         "padding=(kernel_len - stride) // 2, then crop to stride · T"),
        (_upsample_variant(crop="end"),
         "you kept the last stride · T samples; TF's 'same' drops the smaller half, "
         "(kernel − stride) // 2 = 10 samples, at the start and the extra one at the end: [..., :stride * T]"),
        (_upsample_variant(padding=lambda k, s: (k - s + 1) // 2),
         "padding (kernel − stride + 1) // 2 (11 for kernel 25, stride 4) shifts the output by one sample; "
         "TF's 'same' puts the smaller half first: padding=(kernel_len - stride) // 2 (10 there)"),
        (_upsample_variant(padding=lambda k, s: k // 2),
         "padding = kernel // 2 = 12 is a convolution's 'same'; for a transposed conv with stride 4 it is "
         "(kernel − stride) // 2 = 10"),
    ],
))


# =========================================================================== exercise 3: gradient_penalty


class _Critic(nn.Module):
    """A small non-linear critic: its gradient depends on the input (unlike a linear one's).

    It reads clips of ``channels`` channels and returns ``(B,)`` scores, or ``(B, 1)`` with
    ``column=True`` (a final ``nn.Linear(…, 1)`` left unsqueezed gives those).
    """

    def __init__(self, length, seed, *, channels=1, column=False):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv1d(channels, 3, 5, padding=2)
        self.column = column
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(3, channels, 5, generator=generator))
            self.conv.bias.copy_(0.1 * torch.randn(3, generator=generator))
        self.weight = nn.Parameter(torch.randn(3, length, generator=generator) / length ** 0.5)

    def forward(self, x):
        scores = (torch.tanh(self.conv(x)) * self.weight).sum(dim=(1, 2))  # (B,)
        return scores[:, None] if self.column else scores


def _run_penalty(fn, critic, real, fake, **kwargs):
    critic.zero_grad()
    penalty = fn(critic, real, fake, **kwargs)
    if not isinstance(penalty, torch.Tensor):
        return penalty
    if penalty.requires_grad:
        (grad,) = torch.autograd.grad(penalty, critic.weight, allow_unused=True)
    else:
        grad = None
    if grad is None:
        grad = torch.zeros_like(critic.weight)
    return {"penalty": penalty.detach(), "gradient reaching the critic's weights": grad}


def _gp_cases():
    length = 64

    def make(batch, seed, scale=0.5):
        return (_Critic(length, seed), _randn(batch, 1, length, seed=seed + 1, scale=scale),
                _randn(batch, 1, length, seed=seed + 2, scale=scale))

    return [
        Case("a batch of 4, weights α drawn inside (torch.rand)", make(4, 21)),
        Case("a batch of 3, given α = [0, 0.5, 1] (x̂ = real, the midpoint, fake)", make(3, 31),
             dict(alpha=torch.tensor([0.0, 0.5, 1.0]))),
        Case("a batch of 6, α drawn inside, louder clips", make(6, 41, scale=2.0)),
        Case("a batch of 1", make(1, 51)),
    ]


def _gp_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): stereo clips, a critic with (B, 1) scores and a longer
    clip; the public clips are mono, 64 samples, scored (B,). On mono clips a norm over the last axis alone,
    grads.norm(dim=-1), equals the per-example norm; on stereo clips it does not. A hand-made
    grad_outputs=torch.ones(B) instead of .sum() fails on (B, 1) scores."""
    def clips(batch, channels, length, seed):
        return (_randn(batch, channels, length, seed=seed, scale=0.5),
                _randn(batch, channels, length, seed=seed + 1, scale=0.5))

    return [
        Case("stereo clips (B, 2, T): the norm runs over both channels, a batch of 3, α drawn inside",
             (_Critic(48, 81, channels=2), *clips(3, 2, 48, 82))),
        Case("a critic that returns (B, 1) scores, a batch of 5, given α",
             (_Critic(64, 91, column=True), *clips(5, 1, 64, 92)),
             dict(alpha=torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9]))),
        Case("a batch of 2 clips of 200 samples, α drawn inside", (_Critic(200, 101), *clips(2, 1, 200, 102))),
    ]


def _gp_variant(*, per_example=True, create_graph=True, shared_alpha=False):
    def wrong(critic, real, fake, *, alpha=None):
        real, fake = real.detach(), fake.detach()
        batch = real.shape[0]
        if alpha is None:
            alpha = torch.rand(1 if shared_alpha else batch)
        elif shared_alpha:
            alpha = alpha[:1]
        weight = alpha.view(-1, 1, 1)
        x_hat = (real + weight * (fake - real)).requires_grad_(True)
        (grads,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
        if per_example:
            norms = grads.flatten(1).norm(2, dim=1)
        else:
            norms = grads.norm(2)
        return ((norms - 1.0) ** 2).mean()
    return wrong


def _gp_reference(critic, real, fake, *, alpha=None):
    return wavegan.gradient_penalty(critic, real, fake, alpha=alpha)


register(Exercise(
    name="gradient_penalty",
    notebook=NOTEBOOK,
    reference=_gp_reference,
    cases=_gp_cases,
    hidden_cases=_gp_hidden_cases,
    run=_run_penalty,
    reference_name="voclab.models.wavegan.gradient_penalty",
    hint="alpha = torch.rand(B) if None; x̂ = (real + α·(fake − real)).requires_grad_(True) with α "
         "viewed as (B, 1, 1); g = torch.autograd.grad(critic(x̂).sum(), x̂, create_graph=True)[0]; "
         "return ((g.flatten(1).norm(dim=1) − 1) ** 2).mean().",
    compare=dict(rtol=1e-4, atol=1e-6),
    mistakes=[
        (_gp_variant(create_graph=False),
         "the value is right but no gradient reaches the critic's weights: pass create_graph=True to "
         "torch.autograd.grad, else the penalty is a constant to the optimiser and trains nothing"),
        (_gp_variant(per_example=False),
         "you took one norm over the whole batch; the Lipschitz constraint is per example: "
         "grads.flatten(1).norm(dim=1), then ((norms − 1) ** 2).mean()"),
        (_gp_variant(shared_alpha=True),
         "one interpolation weight for the whole batch: each example needs its own α_b ~ U(0, 1), "
         "torch.rand(B), viewed as (B, 1, 1)"),
    ],
))


# =========================================================================== exercises 4-5: the losses


def _scores(n, seed, offset=0.0, scale=3.0):
    return offset + _randn(n, seed=seed, scale=scale)


def _critic_loss_cases():
    return [
        Case("8 real and 8 fake scores around 0", (_scores(8, 61), _scores(8, 62))),
        Case("real scores high, fake scores low (a confident critic)",
             (_scores(5, 63, offset=20.0), _scores(5, 64, offset=-20.0))),
        Case("a batch of 1", (_scores(1, 65), _scores(1, 66))),
    ]


def _critic_loss_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other batch sizes (64, 2), float64 scores, and fakes
    scored above the reals (a loss above 0); the public batches are 8, 5 and 1 of float32."""
    return [
        Case("a batch of 64 scores, spread widely (×10)",
             (_scores(64, 111, scale=10.0), _scores(64, 112, scale=10.0))),
        Case("float64 scores, a batch of 3", (_scores(3, 113).double(), _scores(3, 114).double())),
        Case("a batch of 2 fakes scored above the reals (a critic fooled: the loss is above 0)",
             (_scores(2, 115, offset=-5.0), _scores(2, 116, offset=5.0))),
    ]


def _critic_loss(real_scores, fake_scores):
    return wavegan.discriminator_loss(real_scores, fake_scores)


def _generator_loss(fake_scores):
    return wavegan.generator_loss(fake_scores)


register(Exercise(
    name="wgan_critic_loss",
    notebook=NOTEBOOK,
    reference=_critic_loss,
    cases=_critic_loss_cases,
    hidden_cases=_critic_loss_hidden_cases,
    reference_name="voclab.models.wavegan.discriminator_loss",
    hint="fake_scores.mean() − real_scores.mean(): the critic lowers the scores of fakes and raises "
         "those of real audio (the penalty is added by the training step).",
    compare=_TOLERANCE,
    differentiable=[
        Differentiable("real_scores", missing="the critic would never learn to raise the scores of real "
                       "audio: keep real_scores in the graph"),
        Differentiable("fake_scores", missing="the critic would never learn to lower the scores of fakes: "
                       "keep fake_scores in the graph (the training step detaches the generated audio, "
                       "not the scores)"),
    ],
    mistakes=[
        (lambda real_scores, fake_scores: real_scores.mean() - fake_scores.mean(),
         "the sign is flipped: the critic minimises mean D(G(z)) − mean D(x)"),
        (lambda real_scores, fake_scores: F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean(),
         "that is the original GAN's (non-saturating) cross-entropy; WGAN's critic loss has no "
         "sigmoid and no log: mean D(G(z)) − mean D(x)"),
        (lambda real_scores, fake_scores: F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean(),
         "that is the hinge loss (MelGAN's, notebook 06); WGAN-GP's critic uses the plain difference "
         "of means"),
    ],
))


def _generator_loss_cases():
    return [
        Case("8 fake scores around 0", (_scores(8, 71),)),
        Case("fake scores far below 0 (the critic is sure)", (_scores(6, 72, offset=-30.0),)),
        Case("a batch of 1", (_scores(1, 73),)),
    ]


def _generator_loss_hidden_cases():
    """Hidden inputs (grading only, see voclab.grade): other batch sizes (64, 2), float64 scores and scores far
    above 0; the public batches are 8, 6 and 1 of float32 scores around or below 0."""
    return [
        Case("a batch of 64 scores, spread widely (×10)", (_scores(64, 121, scale=10.0),)),
        Case("float64 scores, a batch of 3", (_scores(3, 122).double(),)),
        Case("a batch of 2 scores far above 0 (the critic is fooled)", (_scores(2, 123, offset=30.0),)),
    ]


register(Exercise(
    name="wgan_generator_loss",
    notebook=NOTEBOOK,
    reference=_generator_loss,
    cases=_generator_loss_cases,
    hidden_cases=_generator_loss_hidden_cases,
    reference_name="voclab.models.wavegan.generator_loss",
    hint="−fake_scores.mean(): the generator raises the critic's scores of its audio.",
    compare=_TOLERANCE,
    differentiable=[Differentiable("fake_scores", missing="the generator would get no gradient at all: "
                                   "the loss is cut from the graph (a .detach(), .item() or numpy)")],
    mistakes=[
        (lambda fake_scores: fake_scores.mean(),
         "the sign is flipped: the generator minimises −mean D(G(z)), i.e. pushes its scores up"),
        (lambda fake_scores: F.softplus(-fake_scores).mean(),
         "that is the non-saturating GAN loss, −log σ(D(G(z))); WGAN's generator loss is −mean D(G(z))"),
        (lambda fake_scores: -fake_scores.sum(),
         "you summed over the batch; take the mean, so the step size does not grow with the batch"),
    ],
))
