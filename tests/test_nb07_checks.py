"""Tests of notebook 07's exercise specifications (voclab/checks/nb07.py).

For every exercise: a stub that raises NotImplementedError is "not done" (and the
reference is handed back), and a correct solution written differently from
the reference passes too. The references the spec module writes itself are compared with
the parts of voclab.models.hifigan they stand for, and the receptive fields the notebook
measures are pinned. A block is judged with voclab's weights whatever the order in which it
creates its convs, and a loss with the right value fails when no gradient reaches its inputs.
(That every reference passes and every listed mistake is recognised is tested for all
notebooks at once in test_exercise_contracts.py.)
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from voclab.checks import check_exercise, get_exercise, nb07
from voclab.models import hifigan
from voclab.spectral import MelConfig, mel_spectrogram

EXERCISES = [
    "ResBlock1",
    "mrf",
    "period_reshape",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "mel_l1_loss",
]

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your code")


class _StubBlock(nn.Module):
    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        raise NotImplementedError("Exercise __init__: replace this line with your code")


@pytest.mark.parametrize("name", EXERCISES)
def test_stub_is_not_done_and_hands_back_the_reference(name):
    stub = _StubBlock if name == "ResBlock1" else _stub
    result = check_exercise(name, stub)
    assert result.status == "not done", result.message
    assert "not done yet" in result.message
    if name == "ResBlock1":
        assert result.use is hifigan.ResBlock1  # a class comes back as itself
    else:
        assert result.use(*get_exercise(name).cases()[0].args) is not None


class _StubForward(nn.Module):
    """__init__ written, forward still the stub: not done either."""

    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d) for d in dilations)

    def forward(self, x):
        raise NotImplementedError("Exercise forward: replace this line with your code")


def test_a_block_with_only_forward_left_is_not_done():
    assert check_exercise("ResBlock1", _StubForward).status == "not done"


def test_the_padding_mistake_is_explained():
    """(k − 1) // 2 is 'same' only for dilation 1: the residual sum fails, and the check says why."""

    def build(channels, kernel_size, dilations):
        return nb07._ResBlockVariant(channels, kernel_size, dilations)

    class WrongPadding(nb07._ResBlockVariant):
        def __init__(self, channels, kernel_size, dilations):
            super().__init__(channels, kernel_size, dilations)
            for conv in list(self.convs1) + list(self.convs2):
                conv.padding = ((kernel_size - 1) // 2,)

    assert check_exercise("ResBlock1", build).status == "passed"
    result = check_exercise("ResBlock1", WrongPadding)
    assert result.status == "failed"
    assert "has padding=1: the residual sum needs 'same' padding (k−1)·d // 2 = 3" in result.message
    assert "(k−1) // 2 fits dilation 1 only" in result.message


def test_a_block_that_is_not_a_module_says_so():
    result = check_exercise("ResBlock1", lambda c, k, d: None)
    assert result.status == "failed" and "nn.Module" in result.message


# --------------------------------------------------------------------------- the references are HiFi-GAN's


def test_resblock_reference_is_the_generators_block():
    cfg = hifigan.Config.v1()
    generator = hifigan.Generator(cfg)
    block = generator.resblocks[0]
    assert isinstance(block, hifigan.ResBlock1)
    torch.manual_seed(0)
    mine = hifigan.ResBlock1(256, 3, [1, 3, 5])
    assert [c.dilation[0] for c in mine.convs1] == [1, 3, 5]
    assert [c.dilation[0] for c in mine.convs2] == [1, 1, 1]
    assert nb07._count_with_gains(mine) == nb07._count_with_gains(block)


def test_assembling_the_references_in_order_gives_hifigans_generator():
    """The notebook builds the generator from the learner's ResBlock1 and mrf: seeded alike, equal."""
    cfg = hifigan.Config.v2()

    class Assembled(nn.Module):
        def __init__(self):
            super().__init__()
            ch = cfg.upsample_initial_channel
            wn = torch.nn.utils.parametrizations.weight_norm
            self.conv_pre = wn(nn.Conv1d(80, ch, 7, padding=3))
            self.ups = nn.ModuleList(
                wn(nn.ConvTranspose1d(ch // 2**i, ch // 2 ** (i + 1), k, u, padding=(k - u) // 2))
                for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)))
            self.resblocks = nn.ModuleList(
                hifigan.ResBlock1(ch // 2 ** (i + 1), k, d) for i in range(len(self.ups))
                for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes))
            self.conv_post = wn(nn.Conv1d(ch // 2 ** len(self.ups), 1, 7, padding=3))

        def forward(self, mel):
            x = self.conv_pre(mel)
            n = len(cfg.resblock_kernel_sizes)
            for i, up in enumerate(self.ups):
                x = nb07._mrf(up(F.leaky_relu(x, 0.1)), self.resblocks[i * n:(i + 1) * n])
            return torch.tanh(self.conv_post(F.leaky_relu(x)))

    mel = torch.randn(1, 80, 5)
    torch.manual_seed(7)
    mine = Assembled()
    torch.manual_seed(7)
    reference = hifigan.Generator(cfg)
    with torch.no_grad():
        torch.testing.assert_close(mine(mel), reference(mel))
    assert set(mine.state_dict()) == set(reference.state_dict())


@pytest.mark.parametrize("kernel_size,expected", [(3, 25), (7, 73), (11, 121)])
def test_resblock1_receptive_fields(kernel_size, expected):
    """The numbers the notebook measures with a gradient: 1 + (k − 1) · Σ (d + 1)."""
    torch.manual_seed(0)
    block = hifigan.ResBlock1(2, kernel_size, [1, 3, 5])
    x = torch.zeros(1, 2, 301, requires_grad=True)
    block(x)[0, :, 150].sum().backward()
    touched = (x.grad.abs().sum(dim=(0, 1)) > 0).nonzero().flatten()
    assert int(touched[-1] - touched[0] + 1) == expected == 1 + (kernel_size - 1) * (1 + 3 + 5 + 3)


@pytest.mark.parametrize("period", [2, 3, 5, 7, 11])
@pytest.mark.parametrize("length", [33, 44, 100])
def test_period_reshape_reference_is_the_discriminators(period, length):
    x = torch.randn(2, 1, length)
    folded = nb07._period_reshape(x, period)
    assert folded.shape == (2, 1, -(-length // period), period)
    torch.testing.assert_close(folded.flatten(2)[..., :length], x)  # row-major: the samples in order
    d = hifigan.DiscriminatorP.__new__(hifigan.DiscriminatorP)
    d.period = period
    torch.testing.assert_close(hifigan.DiscriminatorP.to_2d(d, x), folded)


def test_lsgan_perfect_discriminator_and_fooled_discriminators_give_zero():
    real, fake = get_exercise("lsgan_discriminator_loss").cases()[1].args
    assert hifigan.discriminator_loss(real, fake).item() == 0.0
    (ones,) = get_exercise("lsgan_generator_loss").cases()[1].args
    assert hifigan.generator_adversarial_loss(ones).item() == 0.0


def test_mel_reference_is_hifigans_and_the_hiss_case_separates_the_two_mels():
    y, y_hat, cfg = get_exercise("mel_l1_loss").cases()[1].args
    assert cfg == MelConfig.preset("hifigan_loss") == hifigan.Config().loss_mel_config
    full = nb07._mel_l1_loss(y, y_hat, cfg)
    target = mel_spectrogram(y.squeeze(1), cfg)
    torch.testing.assert_close(full, hifigan.mel_l1(y_hat, target, cfg))
    narrow = nb07._mel_l1_loss(y, y_hat, MelConfig())
    assert full > 5 * narrow  # hiss above 8.5 kHz is (almost) invisible to the 8 kHz input mel


# --------------------------------------------------------------------------- other correct solutions pass


def _old_style_weight_norm(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.nn.utils.weight_norm is deprecated, still correct
        return torch.nn.utils.weight_norm(module)


class _OtherResBlock1(nn.Module):
    """Written differently: padding='same', the old weight-norm API, nn.LeakyReLU modules."""

    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        self.convs1 = nn.ModuleList(
            _old_style_weight_norm(nn.Conv1d(channels, channels, kernel_size, dilation=d, padding="same"))
            for d in dilations)
        self.convs2 = nn.ModuleList(
            _old_style_weight_norm(nn.Conv1d(channels, channels, kernel_size, padding="same"))
            for _ in dilations)
        self.act = nn.LeakyReLU(negative_slope=0.1)

    def forward(self, x):
        for dilated, plain in zip(self.convs1, self.convs2):
            x = plain(self.act(dilated(self.act(x)))) + x
        return x


def _other_mrf(x, resblocks):
    return torch.stack([block(x) for block in resblocks]).mean(dim=0)


def _other_period_reshape(x, period):
    b, c, t = x.shape
    if t % period:
        x = torch.cat([x, x.flip(-1)[..., 1:period - t % period + 1]], dim=-1)  # reflect by hand
    return x.reshape(b, c, -1, period)


def _other_lsgan_d(real_scores, fake_scores):
    return sum(F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))
               for r, f in zip(real_scores, fake_scores))


def _other_lsgan_g(fake_scores):
    return torch.stack([((f - 1) ** 2).mean() for f in fake_scores]).sum()


def _other_mel_l1(y, y_hat, mel_cfg):
    return (mel_spectrogram(y_hat, mel_cfg) - mel_spectrogram(y, mel_cfg)).abs().mean()  # (B, 1, n_mels, frames)


@pytest.mark.parametrize("name,solution", [
    ("ResBlock1", _OtherResBlock1),
    ("mrf", _other_mrf),
    ("period_reshape", _other_period_reshape),
    ("lsgan_discriminator_loss", _other_lsgan_d),
    ("lsgan_generator_loss", _other_lsgan_g),
    ("mel_l1_loss", _other_mel_l1),
])
def test_a_correct_solution_written_differently_passes(name, solution):
    result = check_exercise(name, solution)
    assert result.status == "passed", result.message
    assert result.use is solution


def test_a_loss_returned_as_a_float_is_refused():
    result = check_exercise("lsgan_generator_loss", lambda fake: float(_other_lsgan_g(fake)))
    assert result.status == "failed" and "torch tensor" in result.message


# --------------------------------------------------------------------------- the order of creation does not matter


def _wn_conv(channels, kernel_size, dilation):
    return torch.nn.utils.parametrizations.weight_norm(
        nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=(kernel_size - 1) * dilation // 2))


class _PairByPair(nn.Module):
    """The reference's names, but the convs created pair by pair in one loop."""

    def __init__(self, channels, kernel_size, dilations, slope=0.1):
        super().__init__()
        self.convs1, self.convs2, self.slope = nn.ModuleList(), nn.ModuleList(), slope
        for d in dilations:
            self.convs1.append(_wn_conv(channels, kernel_size, d))
            self.convs2.append(_wn_conv(channels, kernel_size, 1))

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, self.slope)), self.slope))
        return x


class _Units(nn.Module):
    """Other names, the same architecture: one ModuleDict per unit, created pair by pair."""

    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        self.units = nn.ModuleList(
            nn.ModuleDict({"dilated": _wn_conv(channels, kernel_size, d), "plain": _wn_conv(channels, kernel_size, 1)})
            for d in dilations)

    def forward(self, x):
        for unit in self.units:
            x = x + unit["plain"](F.leaky_relu(unit["dilated"](F.leaky_relu(x, 0.1)), 0.1))
        return x


@pytest.mark.parametrize("block", [_PairByPair, _Units], ids=["pair by pair", "other names"])
def test_a_resblock1_created_in_another_order_passes(block):
    result = check_exercise("ResBlock1", block)
    assert result.status == "passed", result.message


def test_a_mistake_is_recognised_whatever_the_order_of_creation():
    """Judged with voclab's weights, a block created pair by pair with MelGAN's slope is told so."""
    result = check_exercise("ResBlock1", lambda c, k, d: _PairByPair(c, k, d, slope=0.2))
    assert result.status == "failed" and "LeakyReLU slope 0.2 is MelGAN's" in result.message


# --------------------------------------------------------------------------- gradients of the losses


def _failed_with(name, fn):
    result = check_exercise(name, fn)
    assert result.status == "failed", result.message
    return result.diagnosis


def test_a_mel_loss_on_a_detached_y_hat_fails_with_the_gradient_diagnosis():
    d = _failed_with("mel_l1_loss", lambda y, y_hat, mel_cfg: nb07._mel_l1_loss(y, y_hat.detach(), mel_cfg))
    assert d.startswith("no gradient reaches `y_hat`: the loss is cut from the graph")


def test_a_mel_loss_through_numpy_fails():
    def numpy_round_trip(y, y_hat, mel_cfg):
        mels = [mel_spectrogram(v.squeeze(1).detach().cpu().numpy(), mel_cfg) for v in (y_hat, y)]
        return F.l1_loss(*map(torch.from_numpy, mels))

    assert _failed_with("mel_l1_loss", numpy_round_trip).startswith("no gradient reaches `y_hat`: the loss is cut")

    def numpy_without_detach(y, y_hat, mel_cfg):
        mels = [mel_spectrogram(v.squeeze(1).numpy(), mel_cfg) for v in (y_hat, y)]
        return F.l1_loss(*map(torch.from_numpy, mels))

    assert "a numpy round trip cuts the loss from the graph" in _failed_with("mel_l1_loss", numpy_without_detach)


def test_a_discriminator_loss_with_the_real_scores_detached_fails():
    d = _failed_with("lsgan_discriminator_loss",
                     lambda real, fake: _other_lsgan_d([r.detach() for r in real], fake))
    assert d.startswith("no gradient reaches `real`: the value is right, but the discriminators would learn "
                        "from the fake scores only")


def test_a_generator_loss_returned_through_item_fails():
    d = _failed_with("lsgan_generator_loss", lambda fake_scores: torch.tensor(_other_lsgan_g(fake_scores).item()))
    assert d.startswith("no gradient reaches `fake_scores`: the loss is cut from the graph")
