"""Tests of voclab.receptive_field: causal padding, dilated stacks, the formula, the measurement."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from voclab.errors import ConfigError, ShapeError, VoclabError
from voclab.receptive_field import (
    ARCHITECTURES,
    CausalConv1d,
    DilatedCausalStack,
    ReceptiveField,
    causal_pad,
    conv_stack_parameters,
    empirical_receptive_field,
    plot_receptive_field,
    receptive_field,
    wavenet_dilations,
)


def test_causal_pad_puts_the_zeros_on_the_left():
    x = torch.arange(1.0, 4.0).reshape(1, 1, 3)
    assert causal_pad(x, 3, 2).tolist() == [[[0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]]]
    assert torch.equal(causal_pad(x, 1), x)


@pytest.mark.parametrize("bad", [torch.zeros(5), torch.zeros(2, 5)])
def test_causal_pad_refuses_a_tensor_without_batch_and_channel_axes(bad):
    with pytest.raises(ShapeError, match=r"\(batch, channels, time\)"):
        causal_pad(bad, 2)


@pytest.mark.parametrize("kernel_size,dilation", [(0, 1), (2, 0), (2.5, 1), (2, -1)])
def test_causal_pad_refuses_bad_sizes(kernel_size, dilation):
    with pytest.raises(ConfigError):
        causal_pad(torch.zeros(1, 1, 4), kernel_size, dilation)


@pytest.mark.parametrize("kernel_size,dilation", [(2, 1), (3, 4), (5, 2)])
def test_causal_conv_keeps_the_length_and_ignores_the_future(kernel_size, dilation):
    torch.manual_seed(0)
    conv = CausalConv1d(2, 3, kernel_size, dilation)
    x = torch.randn(1, 2, 40)
    y = conv(x)
    assert y.shape == (1, 3, 40)
    changed = x.clone()
    changed[..., 25:] += 1.0  # the future of sample 24
    assert torch.equal(conv(changed)[..., :25], y[..., :25])
    assert not torch.equal(conv(changed)[..., 25], y[..., 25])
    span = (kernel_size - 1) * dilation
    changed = x.clone()
    changed[..., 24 - span] += 1.0  # the oldest sample output 24 still sees
    assert not torch.equal(conv(changed)[..., 24], y[..., 24])


def test_causal_conv_is_a_conv1d_with_the_same_initialisation():
    torch.manual_seed(1)
    mine = CausalConv1d(3, 4, 3, 2)
    torch.manual_seed(1)
    plain = nn.Conv1d(3, 4, 3, dilation=2)
    torch.testing.assert_close(mine.weight, plain.weight)
    x = torch.randn(1, 3, 20)
    torch.testing.assert_close(mine(x), plain(causal_pad(x, 3, 2)))


def test_stack_structure_and_receptive_field():
    stack = DilatedCausalStack(4, 2, [1, 2, 4, 8])
    assert [c.dilation[0] for c in stack.convs] == [1, 2, 4, 8]
    assert stack.receptive_field == 16
    assert stack(torch.zeros(2, 4, 30)).shape == (2, 4, 30)
    relu_stack = DilatedCausalStack(1, 3, [1], activation=nn.ReLU())
    assert relu_stack(-torch.ones(1, 1, 5) * 100).abs().max() >= 0  # an nn.Module activation runs


@pytest.mark.parametrize("dilations", [[], 4, [1, 0]])
def test_stack_refuses_bad_dilations(dilations):
    with pytest.raises(ConfigError):
        DilatedCausalStack(2, 2, dilations)


@pytest.mark.parametrize("kernel_size,dilations,expected", [
    (2, [1, 2, 4, 8], 16),
    (2, wavenet_dilations(30, 3), 3070),         # the WaveNet paper's example pattern
    (3, wavenet_dilations(30, 3), 6139),         # Tacotron 2's 30 layers / 3 cycles with k = 3
    (3, wavenet_dilations(24, 4), 505),          # r9y9's MoL recipe
    (3, [1, 1, 3, 1, 5, 1], 25),                 # HiFi-GAN ResBlock1
    (7, [1, 1, 3, 1, 5, 1], 73),
    (11, [1, 1, 3, 1, 5, 1], 121),
    ([3, 1, 3, 1, 3, 1], [1, 1, 3, 1, 9, 1], 27),  # MelGAN's residual stack
    (5, [], 1),
])
def test_formula(kernel_size, dilations, expected):
    assert receptive_field(kernel_size, dilations) == expected


def test_formula_refuses_mismatched_kernels_and_a_bare_number():
    with pytest.raises(ConfigError, match="one kernel size per"):
        receptive_field([3, 3], [1, 2, 4])
    with pytest.raises(ConfigError, match=r"write \[4\]"):
        receptive_field(3, 4)


def test_wavenet_dilations():
    assert wavenet_dilations(6, 2) == [1, 2, 4, 1, 2, 4]
    assert wavenet_dilations(3, 1, base=3) == [1, 3, 9]
    assert max(wavenet_dilations(30, 3)) == 512
    with pytest.raises(ConfigError, match="divides 30"):
        wavenet_dilations(30, 4)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_measures_what_the_formula_says(name):
    arch = ARCHITECTURES[name]
    measured = empirical_receptive_field(arch.build())
    assert measured.size == arch.receptive_field
    if arch.causal:
        assert measured == ReceptiveField(1 - arch.receptive_field, 0)
    else:
        assert measured.first == -measured.last


def test_architecture_numbers_match_the_facts():
    fields = {name: a.receptive_field for name, a in ARCHITECTURES.items()}
    assert fields == {"wavenet_paper_example": 3070, "tacotron2_layout_k3": 6139, "r9y9_mol": 505,
                      "hifigan_resblock1_k3": 25, "hifigan_resblock1_k7": 73, "hifigan_resblock1_k11": 121,
                      "melgan_residual_stack": 27}
    assert round(ARCHITECTURES["r9y9_mol"].milliseconds(), 1) == 22.9      # at its own 22.05 kHz
    assert round(ARCHITECTURES["r9y9_mol"].milliseconds(22050), 1) == 22.9


def test_architecture_labels_say_what_the_sources_say():
    """The paper's example pattern is labelled as one; Tacotron 2 gives the layers, not the kernel."""
    example = ARCHITECTURES["wavenet_paper_example"]
    assert "example" in example.name and "example" in example.source
    assert example.sample_rate is None  # an example pattern has no rate of its own
    with pytest.raises(ConfigError, match="no sample rate"):
        example.milliseconds()
    assert example.milliseconds(16000) == 1000 * 3070 / 16000
    tacotron = ARCHITECTURES["tacotron2_layout_k3"]
    assert "Tacotron 2's WaveNet" not in tacotron.name  # not the paper's network: its kernel is r9y9's
    assert "k=3" in tacotron.name and "r9y9" in tacotron.name
    assert "no kernel size" in tacotron.source and "24 kHz" in tacotron.source
    assert tacotron.sample_rate == 24000  # Tacotron 2's WaveNet generates at 24 kHz
    assert round(tacotron.milliseconds(), 1) == 255.8
    assert {a.sample_rate for k, a in ARCHITECTURES.items() if k.startswith(("r9y9", "hifigan", "melgan"))} \
        == {22050}


# --------------------------------------------------------------------------- what a field costs


@pytest.mark.parametrize("channels,kernel_sizes,dilations,bias", [
    (128, [2] * 3, [1, 2, 4], True),       # the dilated stack, 3 of its layers at full width
    (5, [3, 3, 3, 3], [1, 1, 1, 1], True),
    (4, [7], [1], False),
])
def test_parameter_formula_equals_the_parameters_of_a_built_stack(channels, kernel_sizes, dilations, bias):
    stack = DilatedCausalStack(channels, kernel_sizes[0], dilations)
    if not bias:
        for conv in stack.convs:
            conv.bias = None
    built = sum(p.numel() for p in stack.parameters())
    assert conv_stack_parameters(channels, kernel_sizes, bias=bias) == built


def test_parameter_formula_equals_a_built_wide_conv_and_ignores_the_dilation():
    wide = nn.Conv1d(16, 16, 257)  # one wide convolution, RF 257
    assert conv_stack_parameters(16, [257]) == sum(p.numel() for p in wide.parameters())
    for d in (1, 8, 512):
        stack = DilatedCausalStack(16, 2, [d])
        assert sum(p.numel() for p in stack.parameters()) == conv_stack_parameters(16, [2])


def test_the_three_ways_to_see_3070_samples():
    """Notebook 02's table: the dilated stack, plain layers and one wide conv, all with RF 3070."""
    dilated = wavenet_dilations(30, 3)
    rf = receptive_field(2, dilated)
    plain_layers = rf - 1  # each undilated kernel-2 layer adds 1 sample
    assert rf == receptive_field(2, [1] * plain_layers) == receptive_field([rf], [1]) == 3070
    counts = (conv_stack_parameters(128, [2] * 30), conv_stack_parameters(128, [2] * plain_layers),
              conv_stack_parameters(128, [rf]))
    assert counts == (986_880, 100_957_824, 50_299_008)
    assert counts[0] < 1_000_000 < counts[2] < counts[1]


@pytest.mark.parametrize("bad", [2, [2, 0], [2.5]])
def test_parameter_count_refuses_a_bare_number_and_bad_sizes(bad):
    with pytest.raises(ConfigError):
        conv_stack_parameters(8, bad)
    with pytest.raises(ConfigError):
        conv_stack_parameters(0, [2])


def test_measurement_of_a_field_with_gaps_and_of_an_off_centre_conv():
    assert empirical_receptive_field(nn.Conv1d(1, 1, 3, dilation=4, padding=4)) == (-4, 4)
    assert empirical_receptive_field(nn.Conv1d(1, 1, 5, padding=1)) == (-1, 3)  # sees more of the future


def test_measurement_survives_relus_and_leaves_the_module_alone():
    torch.manual_seed(0)
    stack = DilatedCausalStack(3, 3, [1, 2, 4], activation=torch.relu)
    before = {k: v.clone() for k, v in stack.state_dict().items()}
    assert empirical_receptive_field(stack, length=100).size == 15
    assert all(torch.equal(before[k], v) for k, v in stack.state_dict().items())
    assert next(stack.parameters()).dtype == torch.float32


def test_measurement_can_fail():
    """A module whose weights are all zero reaches nothing: the measurement says so instead of guessing."""
    conv = nn.Conv1d(1, 1, 3, padding=1)
    nn.init.zeros_(conv.weight)
    with pytest.raises(VoclabError, match="weights zero"):
        empirical_receptive_field(conv)
    torch.manual_seed(0)
    relus = DilatedCausalStack(4, 2, [1, 2, 4, 8], activation=torch.relu)
    with torch.no_grad():
        for layer in relus.convs:
            layer.bias.fill_(-0.1)  # every ReLU off: notebook 02's question 4
    with pytest.raises(VoclabError, match="ReLU"):
        empirical_receptive_field(relus)
    with pytest.raises(ConfigError, match="in_channels"):
        empirical_receptive_field(lambda x: x)
    with pytest.raises(ShapeError):
        empirical_receptive_field(lambda x: x.sum(), in_channels=1)


def test_plots():
    fig, axes = plt.subplots(3, 1)
    ax = plot_receptive_field(2, [1, 2, 4, 8], axes[0], sample_rate=16000)
    assert ax.get_title() == "k=2, dilations 1,2,4,8: receptive field 16 samples = 1.00 ms at 16 kHz"
    assert len(ax.lines) == 2 + 4 + 8 + 16  # one line per edge of the cone: each node has k = 2 inputs
    plot_receptive_field(3, [1, 1, 3, 1, 5, 1], axes[1], causal=False)
    deep = plot_receptive_field(3, wavenet_dilations(24, 4), axes[2], sample_rate=22050)
    assert "505 samples = 22.90 ms" in deep.get_title()
    assert len(deep.patches) == 24  # compact: one span bar per layer
    plt.close(fig)
