"""Tests of notebook 06's exercise specifications (voclab/checks/nb06.py).

For every exercise: a stub that raises NotImplementedError is "not done" (and the
reference is handed back), and a correct solution written differently from
the reference passes too. The references the spec module builds itself are compared
with the parts of voclab.models.melgan they stand for. A residual block may create its layers
in any order and add its paths either way; a loss with the right value fails when its gradient
misses an input it must reach, or reaches the real features it must leave alone.
(That every reference passes and every listed mistake is recognised is tested for all
notebooks at once in test_exercise_contracts.py.)
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from voclab.checks import check_exercise, get_exercise, nb06
from voclab.models import melgan

EXERCISES = [
    "upsample_layer",
    "ResidualBlock",
    "downsample",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "feature_matching_loss",
]

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your code")


class _StubBlock(nn.Module):
    def __init__(self, channels, dilation):
        super().__init__()
        raise NotImplementedError("Exercise __init__: replace this line with your code")


@pytest.mark.parametrize("name", EXERCISES)
def test_stub_is_not_done_and_hands_back_the_reference(name):
    stub = _StubBlock if name == "ResidualBlock" else _stub
    result = check_exercise(name, stub)
    assert result.status == "not done", result.message
    assert "not done yet" in result.message
    if name == "ResidualBlock":
        assert result.use is melgan.ResnetBlock  # a class comes back as itself
    else:
        assert result.use(*get_exercise(name).cases()[0].args) is not None


# --------------------------------------------------------------------------- the references are MelGAN's


def test_upsample_reference_is_the_generators_stage():
    G = melgan.Generator()
    stages = [m for m in G.model if isinstance(m, nn.ConvTranspose1d)]
    channels = 512
    for conv, ratio in zip(stages, [8, 8, 2, 2]):
        ours = nb06._upsample_layer(channels, ratio)
        assert isinstance(ours[0], nn.LeakyReLU) and ours[0].negative_slope == 0.2
        mine = ours[1]
        for attribute in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding"):
            assert getattr(mine, attribute) == getattr(conv, attribute), attribute
        channels //= 2


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 8])
@pytest.mark.parametrize("frames", [1, 4, 7])
def test_upsample_output_is_ratio_times_longer(ratio, frames):
    out = nb06._upsample_layer(4, ratio)(torch.randn(1, 4, frames))
    assert out.shape == (1, 2, ratio * frames)


def test_assembling_the_references_in_order_gives_melgans_generator():
    """The notebook builds the generator from the learner's parts and compares: seeded alike, equal."""
    def build():
        channels = 512
        layers = [nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(80, channels, kernel_size=7))]
        for ratio in [8, 8, 2, 2]:
            layers.append(nb06._upsample_layer(channels, ratio))
            channels //= 2
            layers += [melgan.ResnetBlock(channels, 3 ** j) for j in range(3)]
        layers += [nn.LeakyReLU(0.2), nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(channels, 1, kernel_size=7)),
                   nn.Tanh()]
        return nn.Sequential(*layers)

    mel = torch.randn(1, 80, 6)
    torch.manual_seed(3)
    mine = build()
    torch.manual_seed(3)
    reference = melgan.Generator()
    with torch.no_grad():
        torch.testing.assert_close(mine(mel), reference(mel))
    assert melgan.count_parameters(mine) == melgan.count_parameters(reference) == 4_260_257


def test_downsample_reference_is_the_discriminators():
    x = torch.randn(2, 1, 101)
    torch.testing.assert_close(nb06._downsample(x), melgan.Discriminator(num_D=2).downsample(x))


def test_loss_inputs_are_shaped_like_discriminator_outputs():
    real = nb06._maps(1)
    d = melgan.Discriminator()
    with torch.no_grad():
        outputs = d(torch.zeros(1, 1, 2048))
    assert len(real) == len(outputs) == 3
    for mine, theirs in zip(real, outputs):
        assert len(mine) == len(theirs) == 7
        assert [m.shape[-1] for m in mine] == [t.shape[-1] for t in theirs]
        assert mine[-1].shape[1] == theirs[-1].shape[1] == 1


def test_hinge_case_beyond_the_margins_is_zero():
    real, fake = get_exercise("hinge_discriminator_loss").cases()[1].args
    assert melgan.discriminator_loss(real, fake).item() == 0.0


# --------------------------------------------------------------------------- other correct solutions pass


def _old_style_weight_norm(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.nn.utils.weight_norm is deprecated, still correct
        return torch.nn.utils.weight_norm(module)


class _OtherResidualBlock(nn.Module):
    """Written differently: F.pad in forward, the old weight-norm API, no Sequential."""

    def __init__(self, channels, dilation):
        super().__init__()
        self.dilation = dilation
        self.conv = _old_style_weight_norm(nn.Conv1d(channels, channels, 3, dilation=dilation))
        self.mix = _old_style_weight_norm(nn.Conv1d(channels, channels, 1))
        self.skip = _old_style_weight_norm(nn.Conv1d(channels, channels, 1))

    def forward(self, x):
        h = F.pad(F.leaky_relu(x, 0.2), (self.dilation, self.dilation), mode="reflect")
        return self.mix(F.leaky_relu(self.conv(h), 0.2)) + self.skip(x)


def _other_upsample_layer(in_channels, ratio):
    conv = nn.ConvTranspose1d(in_channels, in_channels // 2, 2 * ratio, ratio,
                              padding=(ratio + 1) // 2, output_padding=ratio % 2)
    return nn.Sequential(nn.LeakyReLU(negative_slope=0.2), _old_style_weight_norm(conv))


def _other_downsample(x):
    return nn.AvgPool1d(4, 2, 1, count_include_pad=False)(x)


def _other_hinge_d(real_scores, fake_scores):
    total = torch.zeros(())
    for real, fake in zip(real_scores, fake_scores):
        total = total + torch.clamp(1 - real[-1], min=0).mean() + torch.clamp(1 + fake[-1], min=0).mean()
    return total


def _other_hinge_g(fake_scores):
    return -torch.stack([scale[-1].mean() for scale in fake_scores]).sum()


def _other_fm(real_features, fake_features, n_layers_D=4):
    weight = 4 / (n_layers_D + 1) / len(real_features)
    return sum(weight * (f - r.detach()).abs().mean()
               for real, fake in zip(real_features, fake_features)
               for r, f in zip(real[:-1], fake[:-1]))


@pytest.mark.parametrize("name,solution", [
    ("upsample_layer", _other_upsample_layer),
    ("ResidualBlock", _OtherResidualBlock),
    ("downsample", _other_downsample),
    ("hinge_discriminator_loss", _other_hinge_d),
    ("hinge_generator_loss", _other_hinge_g),
    ("feature_matching_loss", _other_fm),
])
def test_a_correct_solution_written_differently_passes(name, solution):
    result = check_exercise(name, solution)
    assert result.status == "passed", result.message
    assert result.use is solution


def test_a_loss_returned_as_a_float_is_refused():
    result = check_exercise("hinge_generator_loss", lambda fake: float(_other_hinge_g(fake)))
    assert result.status == "failed" and "torch tensor" in result.message


def test_a_module_exercise_that_returns_no_module_says_so():
    result = check_exercise("upsample_layer", lambda c, r: None)
    assert result.status == "failed" and "nn.Module" in result.message


# --------------------------------------------------------------------------- the order of creation does not matter


class _ShortcutFirst(nn.Module):
    """The reference's names; the shortcut created first and the paths added the other way round."""

    def __init__(self, channels, dilation):
        super().__init__()
        self.shortcut = weight_norm(nn.Conv1d(channels, channels, kernel_size=1))
        self.block = nn.Sequential(
            nn.LeakyReLU(0.2), nn.ReflectionPad1d(dilation),
            weight_norm(nn.Conv1d(channels, channels, kernel_size=3, dilation=dilation)),
            nn.LeakyReLU(0.2), weight_norm(nn.Conv1d(channels, channels, kernel_size=1)))

    def forward(self, x):
        return self.block(x) + self.shortcut(x)


class _BlockPlusShortcut(nn.Module):
    """Other names, the 1×1 shortcut created first and used last: block(x) + shortcut(x).

    The two 1×1 convs have the same shape, and the order of use pairs this block's 1×1 conv with
    the reference's shortcut (used first there): what each is fed tells them apart.
    """

    def __init__(self, channels, dilation):
        super().__init__()
        self.skip = weight_norm(nn.Conv1d(channels, channels, kernel_size=1))
        self.pad = nn.ReflectionPad1d(dilation)
        self.dilated = weight_norm(nn.Conv1d(channels, channels, kernel_size=3, dilation=dilation))
        self.mix = weight_norm(nn.Conv1d(channels, channels, kernel_size=1))

    def forward(self, x):
        block = self.mix(F.leaky_relu(self.dilated(self.pad(F.leaky_relu(x, 0.2))), 0.2))
        return block + self.skip(x)


@pytest.mark.parametrize("block", [_ShortcutFirst, _BlockPlusShortcut], ids=["shortcut first", "other names"])
def test_a_residual_block_written_block_plus_shortcut_passes(block):
    result = check_exercise("ResidualBlock", block)
    assert result.status == "passed", result.message


# --------------------------------------------------------------------------- gradients of the losses


def _failed_with(name, fn):
    result = check_exercise(name, fn)
    assert result.status == "failed", result.message
    return result.diagnosis


def test_a_hinge_loss_with_the_real_scores_detached_fails():
    def detached_real(real_scores, fake_scores):
        return _other_hinge_d([[m.detach() for m in scale] for scale in real_scores], fake_scores)

    d = _failed_with("hinge_discriminator_loss", detached_real)
    assert d.startswith("no gradient reaches `real_scores`: the value is right, but the discriminator would learn "
                        "from the fake scores only")


def test_feature_matching_without_detaching_the_real_features_fails():
    def not_detached(real_features, fake_features, n_layers_D=4):
        weight = 4 / (n_layers_D + 1) / len(real_features)
        return sum(weight * F.l1_loss(f, r) for real, fake in zip(real_features, fake_features)
                   for r, f in zip(real[:-1], fake[:-1]))

    d = _failed_with("feature_matching_loss", not_detached)
    assert d.startswith("a gradient reaches `real_features`, which voclab's reference treats as a constant: "
                        "the real features are targets: detach them")


def test_feature_matching_with_the_fake_features_detached_fails():
    d = _failed_with("feature_matching_loss",
                     lambda real, fake, n_layers_D=4: _other_fm(fake, real, n_layers_D))  # detaches the fakes
    assert d.startswith("no gradient reaches `fake`: feature matching trains the generator through the fake features")


def test_a_generator_loss_cut_from_the_graph_fails():
    d = _failed_with("hinge_generator_loss", lambda fake_scores: _other_hinge_g(fake_scores).detach())
    assert d.startswith("no gradient reaches `fake_scores`: the loss is cut from the graph")
