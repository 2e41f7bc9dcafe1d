"""Tests of notebook 02's exercise specifications (voclab/checks/nb02.py).

For every exercise: a stub that raises NotImplementedError is "not done" (and the
reference is handed back), and a correct solution written differently from
the reference passes too, whatever the order in which it creates its layers.
(That every reference passes and every listed mistake is recognised is tested for all
notebooks at once in test_exercise_contracts.py.)
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from voclab import receptive_field
from voclab.checks import check_exercise, get_exercise

EXERCISES = ["causal_pad", "DilatedCausalStack", "receptive_field", "empirical_receptive_field"]

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your code")


class _StubStack(nn.Module):
    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        raise NotImplementedError("Exercise __init__: replace this line with your code")


class _StubForward(nn.Module):
    """__init__ written, forward still the stub: not done either."""

    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d) for d in dilations)

    def forward(self, x):
        raise NotImplementedError("Exercise forward: replace this line with your code")


@pytest.mark.parametrize("name", EXERCISES)
def test_stub_is_not_done_and_hands_back_the_reference(name):
    stub = _StubStack if name == "DilatedCausalStack" else _stub
    result = check_exercise(name, stub)
    assert result.status == "not done", result.message
    assert "not done yet" in result.message
    if name == "DilatedCausalStack":
        assert result.use is receptive_field.DilatedCausalStack  # a class comes back as itself
        assert check_exercise(name, _StubForward).status == "not done"
    else:
        case = get_exercise(name).cases()[0]
        assert result.use(*case.args, **case.kwargs) is not None


def test_the_checks_leave_the_learners_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_exercise("empirical_receptive_field", get_exercise("empirical_receptive_field").reference)
    torch.testing.assert_close(torch.rand(3), expected)


def test_a_stack_that_is_not_a_module_says_so():
    result = check_exercise("DilatedCausalStack", lambda c, k, d: None)
    assert result.status == "failed" and "nn.Module" in result.message


def test_the_measured_fields_agree_with_the_formula():
    """Every module the empirical check measures has the field the formula predicts."""
    expected = [(-15, 0), (-26, 0), (-12, 12), (-13, 13), (-4, 4), (-4, 4), (-8, 8)]
    formula = [receptive_field.receptive_field(2, [1, 2, 4, 8]), receptive_field.receptive_field(3, [1, 3, 9]),
               receptive_field.receptive_field(3, [1, 1, 3, 1, 5, 1]),
               receptive_field.receptive_field([3, 1] * 3, [1, 1, 3, 1, 9, 1]), receptive_field.receptive_field(3, [4]),
               receptive_field.receptive_field(3, [2, 2]), receptive_field.receptive_field(3, [4, 4])]
    exercise = get_exercise("empirical_receptive_field")
    for case, want, size in zip(exercise.cases(), expected, formula, strict=True):
        first, last = exercise.reference(*case.args)
        assert (first, last) == want and last - first + 1 == size


# --------------------------------------------------------------------------- zero inputs and float32 under-measure


def _measured_with(make_input):
    """A learner's measurement: gradients on the input ``make_input`` gives, through a copy of the module
    in that input's dtype."""
    def measure(module, length=1024, in_channels=1):
        x = make_input(1, in_channels, length).requires_grad_()
        y = copy.deepcopy(module).to(x.dtype)(x)
        t = y.shape[-1] // 2
        y[0, :, t].sum().backward()
        reached = (x.grad.abs().sum(dim=(0, 1)) != 0).nonzero().flatten()
        return reached.min().item() - t, reached.max().item() - t
    return measure


@pytest.mark.parametrize("make_input,says", [
    (torch.zeros, "with a zero input every ReLU sits at its kink"),
    (lambda *shape: torch.zeros(*shape, dtype=torch.float64), "with a zero input every ReLU sits at its kink"),
    (torch.randn, "in float32 a tiny gradient"),
    (torch.rand, "in float32 a tiny gradient"),
], ids=["zeros-float32", "zeros-float64", "randn-float32", "rand-float32"])
def test_a_zero_or_float32_input_under_measures_and_is_told_why(make_input, says):
    result = check_exercise("empirical_receptive_field", _measured_with(make_input))
    assert result.status == "failed"
    assert says in result.message and "too small" in result.message, result.message


def test_the_float32_case_loses_the_outer_taps_to_underflow():
    """In float32 the outermost inputs of the faint case get a gradient of exactly 0, in float64 they do not."""
    case = get_exercise("empirical_receptive_field").cases()[-1]
    module, length, channels = case.args
    for dtype, reached in ((torch.float32, False), (torch.float64, True)):
        x = torch.randn(1, channels, length, dtype=dtype, requires_grad=True)
        y = copy.deepcopy(module).to(dtype)(x)
        y[0, :, length // 2].sum().backward()
        assert bool(x.grad[0, 0, length // 2 + 8] != 0) is reached
        assert bool(x.grad[0, 0, length // 2] != 0)  # the middle of the field is seen either way


def test_the_hint_converts_a_copy_of_the_module():
    hint = get_exercise("empirical_receptive_field").hint
    assert "copy.deepcopy(module).double()" in hint and "y = module.double()" not in hint


# --------------------------------------------------------------------------- other correct solutions pass


def _other_causal_pad(x, kernel_size, dilation=1):
    zeros = x.new_zeros(*x.shape[:-1], (kernel_size - 1) * dilation)
    return torch.cat([zeros, x], dim=-1)


class _OtherStack(nn.Module):
    """Written differently: each conv pads both sides itself and the extra right end is cut off."""

    def __init__(self, channels, kernel_size, dilations):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=(kernel_size - 1) * d) for d in dilations)

    def forward(self, x):
        for conv in self.convs:
            length = x.shape[-1]
            x = torch.tanh(conv(x))[..., :length]  # the first `length` outputs see no future sample
        return x


def _other_receptive_field(kernel_size, dilations):
    kernels = [kernel_size] * len(dilations) if isinstance(kernel_size, int) else list(kernel_size)
    field = 1
    for k, d in zip(kernels, dilations):
        field += (k - 1) * d
    return field


def _other_empirical(module, length, in_channels):
    """An impulse test: nudge the middle input sample and see which outputs move."""
    module = copy.deepcopy(module).double().eval()
    x = torch.randn(1, in_channels, length, dtype=torch.float64)
    centre = length // 2
    nudged = x.clone()
    nudged[..., centre] += 1e-3
    with torch.no_grad():
        moved = (module(nudged) - module(x)).abs().sum(dim=(0, 1)).nonzero().flatten()
    # output o moves when input `centre` lies in its field, i.e. centre - o ∈ [first, last]
    return centre - int(moved[-1]), centre - int(moved[0])


def _in_place_double(module, length=1024, in_channels=1):
    """The notebook's recipe on the caller's module itself (converted in place): the same field."""
    x = torch.randn(1, in_channels, length, dtype=torch.float64, requires_grad=True)
    y = module.double()(x)
    t = y.shape[-1] // 2
    y[0, :, t].sum().backward()
    touched = torch.nonzero(x.grad[0].abs().sum(0)).flatten()
    return int(touched[0]) - t, int(touched[-1]) - t


def _uniform_inputs_autograd_grad(module, length=1024, in_channels=1):
    """torch.autograd.grad on uniform float64 inputs, several output channels summed with abs."""
    module = copy.deepcopy(module).to(torch.float64)
    x = torch.rand(1, in_channels, length, dtype=torch.float64, requires_grad=True)
    y = module(x)
    t = y.shape[-1] // 2
    (grad,) = torch.autograd.grad(y[..., t].sum(), x)
    reached = grad.abs().sum(dim=(0, 1)).numpy().nonzero()[0]
    return int(reached[0] - t), int(reached[-1] - t)


@pytest.mark.parametrize("name,solution", [
    ("causal_pad", _other_causal_pad),
    ("DilatedCausalStack", _OtherStack),
    ("DilatedCausalStack", receptive_field.DilatedCausalStack),
    ("receptive_field", _other_receptive_field),
    ("empirical_receptive_field", _other_empirical),
    ("empirical_receptive_field", _uniform_inputs_autograd_grad),
])
def test_a_correct_solution_written_differently_passes(name, solution):
    result = check_exercise(name, solution)
    assert result.status == "passed", result.message


def test_the_right_field_from_a_module_converted_in_place_fails_and_says_why():
    """The field is right, but the caller's module is now float64: the check names it (issue 10 §1)."""
    result = check_exercise("empirical_receptive_field", _in_place_double)
    assert result.status == "failed"
    assert "changed the module it was given" in result.message
    assert "copy.deepcopy(module).double()" in result.message


def test_a_stack_built_from_causal_conv1d_passes():
    class Stack(nn.Module):
        def __init__(self, channels, kernel_size, dilations):
            super().__init__()
            self.layers = nn.ModuleList(receptive_field.CausalConv1d(channels, channels, kernel_size, d)
                                        for d in dilations)

        def forward(self, x):
            for layer in self.layers:
                x = F.tanh(layer(x))
            return x

    assert check_exercise("DilatedCausalStack", Stack).status == "passed"


def test_a_stack_that_creates_its_convs_from_the_last_one_passes():
    """Created last layer first, applied first layer first: voclab's weights load by name, whatever the order."""

    class FromTheTop(nn.Module):
        def __init__(self, channels, kernel_size, dilations):
            super().__init__()
            top_down = [nn.Conv1d(channels, channels, kernel_size, dilation=d) for d in reversed(dilations)]
            self.convs = nn.ModuleList(reversed(top_down))

        def forward(self, x):
            for conv in self.convs:
                x = torch.tanh(conv(F.pad(x, ((conv.kernel_size[0] - 1) * conv.dilation[0], 0))))
            return x

    result = check_exercise("DilatedCausalStack", FromTheTop)
    assert result.status == "passed", result.message
