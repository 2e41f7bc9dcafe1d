"""Notebook 04's exercise checks: each named mistake, written as a learner would write it, gets
its own message; correct alternatives pass; the learner notebook's stub is "not done"."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from voclab.checks import check_exercise, get_exercise


def stub(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"Exercise {name}: your code here")
    return fn


NAMES = ["phase_shuffle", "UpsampleLayer", "gradient_penalty", "wgan_critic_loss", "wgan_generator_loss"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_stub_is_not_done(name):
    exercise = get_exercise(name)
    assert exercise.notebook == "04_wavegan"
    assert check_exercise(name, exercise.reference).status == "passed"
    assert check_exercise(name, stub(name)).status == "not done"


# --------------------------------------------------------------------------- phase_shuffle


def _shift(x, k, mode="reflect"):
    length = x.shape[-1]
    if k > 0:
        return F.pad(x, (k, 0), mode=mode)[..., :length]
    if k < 0:
        return F.pad(x, (0, -k), mode=mode)[..., -k:]
    return x


def ps_loop(x, n=2, per_example=False):
    if n == 0:
        return x
    ks = torch.randint(-n, n + 1, (x.shape[0] if per_example else 1,))
    return torch.cat([_shift(x[b:b + 1], int(ks[b] if per_example else ks[0])) for b in range(len(x))])


def ps_index(x, n=2, per_example=False):
    """Another correct way: reflect-pad n on both sides, then gather a window per example."""
    if n == 0:
        return x
    ks = torch.randint(-n, n + 1, (x.shape[0] if per_example else 1,)).expand(x.shape[0])
    padded = F.pad(x, (n, n), mode="reflect")
    return torch.stack([padded[b, :, n - int(ks[b]): n - int(ks[b]) + x.shape[-1]] for b in range(len(x))])


def ps_inverted(x, n=2, per_example=False):
    use_phase_shuffle = n == 0
    if use_phase_shuffle:
        return ps_loop(x, n, per_example)
    return x


def ps_zeros(x, n=2, per_example=False):
    if n == 0:
        return x
    ks = torch.randint(-n, n + 1, (x.shape[0] if per_example else 1,))
    return torch.cat([_shift(x[b:b + 1], int(ks[b] if per_example else ks[0]), mode="constant")
                      for b in range(len(x))])


def ps_always_per_example(x, n=2, per_example=False):
    if n == 0:
        return x
    ks = torch.randint(-n, n + 1, (x.shape[0],))
    return torch.cat([_shift(x[b:b + 1], int(ks[b])) for b in range(len(x))])


def ps_never_per_example(x, n=2, per_example=False):
    if n == 0:
        return x
    return _shift(x, int(torch.randint(-n, n + 1, (1,))))


def ps_no_crop(x, n=2, per_example=False):
    if n == 0:
        return x
    k = int(torch.randint(-n, n + 1, (1,)))
    return F.pad(x, (max(k, 0), max(-k, 0)), mode="reflect")


@pytest.mark.parametrize("fn", [ps_loop, ps_index])
def test_phase_shuffle_correct_versions_pass(fn):
    assert check_exercise("phase_shuffle", fn).status == "passed"


@pytest.mark.parametrize("fn, words", [
    (ps_inverted, "never shifts"),
    (ps_zeros, "zero-padded"),
    (ps_always_per_example, "ONE shift per call"),
    (ps_never_per_example, "each example needs its own shift"),
    (ps_no_crop, "longer than the input"),
])
def test_phase_shuffle_mistakes_are_named(fn, words):
    result = check_exercise("phase_shuffle", fn)
    assert result.status == "failed"
    assert words in result.message


# --------------------------------------------------------------------------- UpsampleLayer


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_len=25, stride=4, padding="tf", crop="start"):
        super().__init__()
        self.stride, self.crop = stride, crop
        pad = (kernel_len - stride) // 2 if padding == "tf" else padding
        self.up = nn.ConvTranspose1d(in_channels, out_channels, kernel_len, stride, padding=pad)

    def forward(self, x):
        y = self.up(x)
        n = self.stride * x.shape[-1]
        return {"start": y[..., :n], "end": y[..., -n:], "none": y}[self.crop]


class UpFullCrop(nn.Module):
    """Another correct way: no padding, then slice TF's window out of the full output."""

    def __init__(self, in_channels, out_channels, kernel_len=25, stride=4):
        super().__init__()
        self.stride, self.before = stride, (kernel_len - stride) // 2
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_len, stride)

    def forward(self, x):
        return self.conv(x)[..., self.before: self.before + self.stride * x.shape[-1]]


def _up(**kw):
    def build(in_channels, out_channels, kernel_len=25, stride=4):
        return Up(in_channels, out_channels, kernel_len, stride, **kw)
    return build


@pytest.mark.parametrize("build", [_up(), UpFullCrop])
def test_upsample_correct_versions_pass(build):
    assert check_exercise("UpsampleLayer", build).status == "passed"


@pytest.mark.parametrize("build, words", [
    (_up(crop="none"), "one sample too long"),
    (_up(padding=0, crop="none"), "no padding and no crop"),
    (_up(padding=0), "no padding: PyTorch"),
    (_up(crop="end"), "you kept the last"),
    (_up(padding=12), "padding = kernel // 2"),
    (_up(padding=11), "shifts the output by one sample"),
])
def test_upsample_mistakes_are_named(build, words):
    result = check_exercise("UpsampleLayer", build)
    assert result.status == "failed"
    assert words in result.message


# --------------------------------------------------------------------------- gradient_penalty


def gp(critic, real, fake, *, alpha=None, create_graph=True, per_example=True, shared=False):
    if alpha is None:
        alpha = torch.rand(1 if shared else real.shape[0])
    elif shared:
        alpha = alpha[:1]
    x_hat = (real.detach() + alpha[:, None, None] * (fake.detach() - real.detach())).requires_grad_()
    scores = critic(x_hat)
    (g,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=create_graph)
    norms = g.view(len(g), -1).norm(dim=1) if per_example else g.norm()
    return ((norms - 1) ** 2).mean()


def test_gradient_penalty_correct_version_passes():
    assert check_exercise("gradient_penalty", gp).status == "passed"


@pytest.mark.parametrize("kw, words", [
    (dict(create_graph=False), "create_graph=True"),
    (dict(per_example=False), "one norm over the whole batch"),
    (dict(shared=True), "one interpolation weight for the whole batch"),
])
def test_gradient_penalty_mistakes_are_named(kw, words):
    def wrong(critic, real, fake, *, alpha=None):
        return gp(critic, real, fake, alpha=alpha, **kw)
    result = check_exercise("gradient_penalty", wrong)
    assert result.status == "failed"
    assert words in result.message


# --------------------------------------------------------------------------- the losses


def test_losses_correct_versions_pass():
    assert check_exercise("wgan_critic_loss", lambda real_scores, fake_scores:
                          torch.mean(fake_scores - real_scores)).status == "passed"
    assert check_exercise("wgan_generator_loss", lambda fake_scores: -torch.mean(fake_scores)).status == "passed"


@pytest.mark.parametrize("name, fn, words", [
    ("wgan_critic_loss", lambda real_scores, fake_scores: real_scores.mean() - fake_scores.mean(), "sign"),
    ("wgan_critic_loss", lambda real_scores, fake_scores: fake_scores.mean() - real_scores.detach().mean(),
     "no gradient reaches `real_scores`"),
    ("wgan_critic_loss", lambda real_scores, fake_scores: fake_scores.detach().mean() - real_scores.mean(),
     "no gradient reaches `fake_scores`"),
    ("wgan_critic_loss", lambda real_scores, fake_scores: F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean(),
     "hinge"),
    ("wgan_generator_loss", lambda fake_scores: fake_scores.mean(), "sign"),
    ("wgan_generator_loss", lambda fake_scores: -fake_scores.sum(), "summed"),
    ("wgan_generator_loss", lambda fake_scores: torch.tensor(-fake_scores.detach().numpy().mean()),
     "no gradient reaches `fake_scores`"),
])
def test_loss_mistakes_are_named(name, fn, words):
    result = check_exercise(name, fn)
    assert result.status == "failed"
    assert words in result.message
