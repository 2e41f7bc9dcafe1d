"""Tests of the exercise check engine (voclab.check / voclab.checks).

The exercises here are toys registered by the tests themselves, so these tests do not
depend on the notebook spec modules (voclab/checks/nbNN.py). Besides the verdicts and
diagnoses: the gradient checks of loss exercises (Exercise.differentiable), how module
exercises give the learner's module voclab's weights (load_weights_by_use, build_alike), and
how the learner's code is kept from derailing the notebook (a time limit, sys.exit and
KeyboardInterrupt, global settings put back) -- the infinite loops run in a fresh interpreter
or kernel under a hard limit, so that a regression fails instead of hanging.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

import voclab
from voclab import checks
from voclab.checks import Case, Compare, Exercise, ReferenceFunction, check, check_exercise, diagnose
from voclab.errors import ConfigError

# --------------------------------------------------------------------------------------
# toy references (module level, so the stand-in they produce can be pickled)
# --------------------------------------------------------------------------------------


def normalise(x):
    """Scale ``x`` so that its largest absolute value is 1."""
    return x / np.abs(x).max()


def dft(x):
    """The DFT divided by the length (a normalised spectrum)."""
    return np.fft.fft(x) / len(x)


def spectrum(x):
    """The one-sided complex spectrum."""
    return np.fft.rfft(x)


def split(x):
    """Return (magnitude, phase) of a complex array."""
    return np.abs(x), np.angle(x)


def codes(x):
    """Quantise [-1, 1] to 8 integer levels."""
    return np.clip(np.round((x + 1) / 2 * 7), 0, 7).astype(np.int64)


def noisy(x):
    """Add seeded noise (checks that random generators are seeded alike)."""
    return x + 0.1 * np.random.randn(*x.shape)


def torch_square(x):
    return x * x


def _normalise_cases():
    rng = np.random.default_rng(0)
    return [
        Case("16 random values", (rng.standard_normal(16),)),
        Case("a (4, 8) array", (rng.standard_normal((4, 8)),)),
        Case("the largest value is negative", (np.array([0.5, -4.0, 1.0, 2.0, 0.25, 3.0]),)),
    ]


@pytest.fixture
def toys():
    names = []

    def add(**spec):
        spec.setdefault("notebook", "00_toys")
        spec.setdefault("hint", "Divide by the largest absolute value.")
        exercise = checks.register(Exercise(**spec))
        names.append(exercise.name)
        return exercise

    add(
        name="toy_normalise",
        reference=normalise,
        cases=_normalise_cases,
        reference_name="tests.test_checks.normalise",
        mistakes=[(lambda x: x / x.max(), "you divided by max(x), not by max(|x|): negative peaks count too")],
    )
    add(
        name="toy_dft",
        reference=dft,
        cases=lambda: [Case("64 random values", (np.random.default_rng(1).standard_normal(64),))],
        reference_name="tests.test_checks.dft",
    )
    add(
        name="toy_spectrum",
        reference=spectrum,
        cases=lambda: [Case("32 random values", (np.random.default_rng(2).standard_normal(32),))],
        reference_name="tests.test_checks.spectrum",
    )
    add(
        name="toy_split",
        reference=split,
        cases=lambda: [Case("a complex vector", (np.exp(1j * np.arange(8.0)) * np.arange(1, 9),))],
        reference_name="tests.test_checks.split",
    )
    add(
        name="toy_codes",
        reference=codes,
        cases=lambda: [Case("a ramp", (np.linspace(-1, 1, 20),))],
        reference_name="tests.test_checks.codes",
    )
    add(
        name="toy_noisy",
        reference=noisy,
        cases=lambda: [Case("zeros", (np.zeros(10),)), Case("a ramp", (np.arange(5.0),))],
        reference_name="tests.test_checks.noisy",
    )
    add(
        name="toy_torch_square",
        reference=torch_square,
        cases=lambda: [Case("a tensor", (torch.arange(6.0).reshape(2, 3),))],
        reference_name="tests.test_checks.torch_square",
    )
    yield add
    for name in names:
        checks.EXERCISES.pop(name, None)


# --------------------------------------------------------------------------------------
# verdicts
# --------------------------------------------------------------------------------------


def test_correct_function_passes_and_is_returned(toys, capsys):
    def mine(x):
        return x / np.max(np.abs(x))

    result = check_exercise("toy_normalise", mine)
    assert result.status == "passed"
    assert result.use is mine
    assert result.message == "PASSED ✓ toy_normalise: public checks passed (3 inputs)."
    assert voclab.check("toy_normalise", mine) is mine
    assert capsys.readouterr().out.strip() == result.message


def test_not_done_returns_the_reference(toys, capsys):
    def mine(x):
        raise NotImplementedError("Exercise mine: replace this line with your code")

    result = check_exercise("toy_normalise", mine)
    assert result.status == "not done"
    assert result.message == (
        "NOT DONE toy_normalise is not done yet — the cells below use voclab's reference "
        "(tests.test_checks.normalise) so you can go on."
    )
    use = check("toy_normalise", mine)
    assert "not done yet" in capsys.readouterr().out
    assert isinstance(use, ReferenceFunction)
    assert "reference" in use.__name__ and "voclab" in use.__doc__
    assert "Scale ``x``" in use.__doc__  # the reference's own doc follows
    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(use(x), normalise(x))
    assert pickle.loads(pickle.dumps(use))(x).tolist() == normalise(x).tolist()


def test_rechecking_the_reference_says_not_done(toys):
    def mine(x):
        raise NotImplementedError

    use = check_exercise("toy_normalise", mine).use
    again = check_exercise("toy_normalise", use)
    assert again.status == "not done" and "still voclab's reference" in again.message


def _failed(name, fn):
    result = check_exercise(name, fn)
    assert result.status == "failed", result.message
    assert isinstance(result.use, ReferenceFunction)
    assert result.message.startswith(f"FAILED ✗ {name}: ")
    assert "Hint:" in result.message and "voclab's reference" in result.message
    return result


def test_off_by_one_shape(toys):
    result = _failed("toy_normalise", lambda x: normalise(x)[..., :-1])
    assert "shape (15,) instead of (16,)" in result.message
    assert "off by one" in result.diagnosis and "one too few" in result.diagnosis
    assert "on input 1 (16 random values)" in result.message


def test_other_shape_problems(toys):
    assert "transposed" in _failed("toy_normalise", lambda x: normalise(x).T if x.ndim == 2 else normalise(x)).diagnosis
    assert "extra axis of size 1" in _failed("toy_normalise", lambda x: normalise(x)[None]).diagnosis
    assert "shape" in _failed("toy_normalise", lambda x: normalise(x)[:3]).diagnosis


def test_sign_flip(toys):
    result = _failed("toy_normalise", lambda x: -normalise(x))
    assert "sign flipped" in result.diagnosis


def test_scale_factor_is_reported(toys):
    assert "wrong scale" in (d := _failed("toy_normalise", lambda x: 2.5 * normalise(x)).diagnosis)
    assert "2.5" in d and "normalisation" not in d


def test_missing_normalisation_names_the_size(toys):
    d = _failed("toy_dft", lambda x: np.fft.fft(x)).diagnosis
    assert "wrong scale" in d and "64" in d and "missing normalisation" in d
    d = _failed("toy_dft", lambda x: np.fft.fft(x) / len(x) ** 2).diagnosis
    assert "extra normalisation" in d
    d = _failed("toy_dft", lambda x: np.fft.fft(x, norm="ortho")).diagnosis
    assert "√64" in d


def test_shift_by_one_sample(toys):
    d = _failed("toy_normalise", lambda x: np.roll(normalise(x), 1, axis=-1)).diagnosis
    assert "shifted by one sample" in d and "late" in d
    d = _failed("toy_normalise", lambda x: np.roll(normalise(x), -1, axis=-1)).diagnosis
    assert "shifted by one sample" in d and "early" in d


def test_real_instead_of_complex(toys):
    d = _failed("toy_spectrum", lambda x: np.abs(np.fft.rfft(x))).diagnosis
    assert "complex" in d and "magnitude" in d
    d = _failed("toy_normalise", lambda x: normalise(x).astype(complex)).diagnosis
    assert "complex dtype" in d and "real" in d


def test_conjugate(toys):
    assert "conjugate" in _failed("toy_spectrum", lambda x: np.conj(np.fft.rfft(x))).diagnosis


def test_integer_vs_float(toys):
    d = _failed("toy_codes", lambda x: codes(x).astype(float)).diagnosis
    assert "integers" in d
    d = _failed("toy_normalise", lambda x: (normalise(x) * 0).astype(int)).diagnosis
    assert "integer values" in d


def test_constant_offset_off_by_one(toys):
    d = _failed("toy_codes", lambda x: codes(x) + 1).diagnosis
    assert "constant offset" in d and "off by one" in d


def test_nan_in_output(toys):
    def mine(x):
        y = normalise(x)
        y[..., 2] = np.nan
        return y

    d = _failed("toy_normalise", mine).diagnosis
    assert "NaN" in d and "index 2" in d


def test_generic_value_difference(toys):
    def mine(x):
        y = normalise(x).copy()
        y[..., 5] += 0.3
        return y

    d = _failed("toy_normalise", mine).diagnosis
    assert d.startswith("values differ: max abs error 0.3")
    assert "at index 5" in d and "1 of 16 values" in d


def test_exception_is_one_line_with_type_message_and_line(toys):
    def mine(x):
        message = "boom: bad things" + chr(10) + "more detail"
        raise ValueError(message)

    result = _failed("toy_normalise", mine)
    assert "raised ValueError: boom: bad things" in result.diagnosis
    assert "more detail" not in result.message
    assert "`raise ValueError(message)`" in result.diagnosis  # the learner's line is quoted
    assert "Traceback" not in result.message
    assert "Hint: Divide by the largest absolute value." in result.message


def test_known_mistake_message(toys):
    result = _failed("toy_normalise", lambda x: x / x.max())
    assert "negative peaks count too" in result.diagnosis


def test_missing_return(toys):
    def mine(x):
        x / np.abs(x).max()

    assert "`return` statement is missing" in _failed("toy_normalise", mine).diagnosis


def test_wrong_number_of_outputs(toys):
    assert "returned 1 output" in _failed("toy_split", lambda z: np.abs(z)).diagnosis
    assert "3 outputs where 2" in _failed("toy_split", lambda z: (np.abs(z), np.angle(z), z)).diagnosis
    d = _failed("toy_split", lambda z: (np.abs(z), -np.angle(z))).diagnosis
    assert d.startswith("output[1]: sign flipped")


def test_in_place_change_of_an_input(toys):
    def mine(x):
        x /= np.abs(x).max()
        return x

    d = _failed("toy_normalise", mine).diagnosis
    assert "in place" in d and "`x`" in d


def test_random_generators_are_seeded_alike_and_restored(toys):
    def mine(x):
        return x + 0.1 * np.random.randn(*x.shape)

    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    assert check_exercise("toy_noisy", mine).status == "passed"
    assert (np.random.get_state()[1] == before).all()


def test_torch_tensors(toys):
    assert check_exercise("toy_torch_square", lambda x: x**2).status == "passed"
    d = _failed("toy_torch_square", lambda x: (x * x).numpy()).diagnosis
    assert "torch tensor is expected" in d
    d = _failed("toy_torch_square", lambda x: (x * x).T).diagnosis
    assert "transposed" in d
    d = _failed("toy_torch_square", lambda x: x * x * 2).diagnosis
    assert "wrong scale" in d and "2" in d


def test_strict_dtype(toys):
    toys(name="toy_strict", reference=normalise, cases=_normalise_cases, reference_name="x.normalise",
         compare=Compare(strict_dtype=True))
    d = _failed("toy_strict", lambda x: normalise(x).astype(np.float32)).diagnosis
    assert "dtype float32 instead of float64" in d
    assert check_exercise("toy_normalise", lambda x: normalise(x).astype(np.float32)).status == "passed"


def test_broken_reference_is_reported_as_voclab_bug(toys):
    def broken(x):
        raise RuntimeError("oops")

    toys(name="toy_broken", reference=broken, cases=_normalise_cases, reference_name="x.broken")
    mine = lambda x: x  # noqa: E731
    result = check_exercise("toy_broken", mine)
    assert result.status == "error" and result.use is mine and "bug in voclab" in result.message


def test_class_exercise_with_custom_run(toys):
    class Doubler(torch.nn.Module):
        def forward(self, x):
            return 2 * x

    def run(cls, x):
        return cls()(x)

    toys(name="toy_module", reference=Doubler, cases=lambda: [Case("a tensor", (torch.ones(3),))],
         reference_name="x.Doubler", run=run)

    class Mine(torch.nn.Module):
        def forward(self, x):
            raise NotImplementedError("Exercise Mine.forward: replace this line with your code")

    result = check_exercise("toy_module", Mine)
    assert result.status == "not done" and result.use is Doubler


# --------------------------------------------------------------------------------------
# misuse gets a ConfigError, not a traceback from deep inside
# --------------------------------------------------------------------------------------


def test_unknown_exercise_name(toys):
    with pytest.raises(ConfigError) as info:
        check("toy_normalize", normalise)
    assert "Did you mean 'toy_normalise'?" in str(info.value)
    assert "toy_dft" in str(info.value)


def test_function_result_instead_of_function(toys):
    with pytest.raises(ConfigError, match="function itself"):
        check("toy_normalise", normalise(np.ones(3)))
    with pytest.raises(ConfigError, match="swapped"):
        check(normalise, "toy_normalise")


def test_bad_specs_are_refused():
    with pytest.raises(ConfigError):
        Exercise(name="x y", notebook="00", reference=normalise, cases=list)
    with pytest.raises(ConfigError):
        Exercise(name="x", notebook="00", reference=3, cases=list)
    with pytest.raises(ConfigError):
        checks.register("not an exercise")


def mean_power(x):
    return float(np.mean(x**2))


def test_scalar_outputs(toys):
    toys(name="toy_power", reference=mean_power, reference_name="x.mean_power",
         cases=lambda: [Case("50 values", (np.linspace(-1, 1, 50),))])
    d = _failed("toy_power", lambda x: float(np.sum(x**2))).diagnosis
    assert "wrong scale" in d and "50" in d and "missing normalisation" in d
    assert "sign flipped" in _failed("toy_power", lambda x: -mean_power(x)).diagnosis
    d = _failed("toy_power", lambda x: mean_power(x) + 0.1).diagnosis
    assert d.startswith("values differ: abs error 0.1")
    assert "torch tensor" not in d


def test_diagnose_directly():
    assert diagnose(np.ones(3), np.ones(3)) is None
    assert diagnose((1.0, [np.ones(2)]), (1.0, [np.ones(2)])) is None
    assert "sign flipped" in diagnose(-np.arange(1.0, 4.0), np.arange(1.0, 4.0))
    assert "missing keys" in diagnose({"a": 1}, {"a": 1, "b": 2})
    assert "off by one" in diagnose(np.zeros((3, 5)), np.zeros((3, 4)))
    assert "transposed" in diagnose(np.zeros((5, 3)), np.zeros((3, 5)))
    assert diagnose("abc", "abd").startswith("returned 'abc'")


# --------------------------------------------------------------------------------------
# gradients of loss exercises (Exercise.differentiable)
# --------------------------------------------------------------------------------------


def squared_error(pred, target):
    """A toy loss."""
    return ((pred - target) ** 2).mean()


def pull(pred, target):
    """A toy loss whose gradient reaches ``pred`` only: the target is detached."""
    return ((pred - target.detach()) ** 2).mean()


def summed_losses(preds, target):
    """A toy loss over a list of predictions."""
    return sum(((p - target) ** 2).mean() for p in preds)


@pytest.fixture
def losses(toys):
    toys(name="toy_loss", reference=squared_error, reference_name="x.squared_error",
         cases=lambda: [Case("8 values", (torch.linspace(-2, 2, 8), torch.linspace(0, 1, 8))),
                        Case("equal inputs (the loss is 0)", (torch.ones(3), torch.ones(3)))],
         differentiable=["pred"])
    toys(name="toy_pull", reference=pull, reference_name="x.pull",
         cases=lambda: [Case("8 values", (torch.linspace(-2, 2, 8), torch.linspace(0, 1, 8)))],
         differentiable=["pred", checks.Differentiable("target", unexpected="the target is a constant: detach it")])
    toys(name="toy_list_loss", reference=summed_losses, reference_name="x.summed_losses",
         cases=lambda: [Case("three predictions", ([torch.arange(4.0), -torch.arange(4.0), torch.ones(4)],
                                                   torch.zeros(4)))],
         differentiable=[checks.Differentiable("preds", missing="every prediction must learn")])
    return toys


def test_a_correct_loss_written_differently_passes(losses):
    assert check_exercise("toy_loss", lambda p, t: torch.nn.functional.mse_loss(p, t)).status == "passed"
    assert check_exercise("toy_pull", lambda p, t: torch.nn.functional.mse_loss(p, t.detach())).status == "passed"
    assert check_exercise("toy_list_loss", lambda ps, t: torch.stack([((p - t) ** 2).mean() for p in ps]).sum()
                          ).status == "passed"


@pytest.mark.parametrize("cut", [
    lambda p, t: ((p.detach() - t) ** 2).mean(),
    lambda p, t: torch.tensor(((p - t) ** 2).mean().item()),
    lambda p, t: torch.from_numpy((((p - t) ** 2).mean()).detach().numpy().copy()),
], ids=["detach", "item", "numpy"])
def test_a_loss_cut_from_the_graph_fails_with_the_right_value(losses, cut):
    d = _failed("toy_loss", cut).diagnosis
    assert d.startswith("no gradient reaches `p`: the loss is cut from the graph")  # in the learner's names
    assert ".detach()" in d and "numpy" in d and "torch.no_grad()" in d


def test_numpy_on_a_tensor_that_requires_grad_is_explained(losses):
    d = _failed("toy_loss", lambda p, t: torch.tensor(np.mean((p.numpy() - t.numpy()) ** 2))).diagnosis
    assert "raised RuntimeError" in d and "when its tensor inputs require grad" in d
    assert "a numpy round trip cuts the loss from the graph" in d


def test_a_zero_gradient_through_a_non_differentiable_path_fails(losses):
    d = _failed("toy_loss", lambda p, t: ((p - t) ** 2).mean().detach() + 0 * p.sum()).diagnosis
    assert d.startswith("no gradient reaches `p`: the loss is cut")


def test_a_gradient_with_other_values_is_diagnosed(losses):
    def half_the_gradient(pred, target):
        loss = ((pred - target) ** 2).mean()
        return loss.detach() + 0.5 * (loss - loss.detach())

    d = _failed("toy_loss", half_the_gradient).diagnosis
    assert d.startswith("the value is right, but its gradient with respect to `pred` is not: wrong scale")
    assert "your gradient ≈ 0.5 ×" in d


def test_a_gradient_stopped_at_some_values_is_located(losses):
    def stops_below_zero(pred, target):  # the right value; no gradient where pred < 0
        return ((torch.where(pred < 0, pred.detach(), pred) - target) ** 2).mean()

    d = _failed("toy_loss", stops_below_zero).diagnosis
    assert "your gradient is zero at 4 of 8 values where the reference's is not" in d


def test_a_gradient_that_reaches_a_target_fails_in_the_learners_names(losses):
    d = _failed("toy_pull", lambda x, y: ((x - y) ** 2).mean()).diagnosis
    assert d == ("a gradient reaches `y`, which voclab's reference treats as a constant: "
                 "the target is a constant: detach it")


def test_a_gradient_missing_from_one_item_of_a_list_names_it(losses):
    d = _failed("toy_list_loss", lambda ps, t: sum(((p.detach() if i == 1 else p) - t).pow(2).mean()
                                                   for i, p in enumerate(ps))).diagnosis
    assert d == "no gradient reaches `ps[1]`: every prediction must learn"


def test_a_wrong_value_is_reported_before_the_gradient(losses):
    d = _failed("toy_loss", lambda p, t: 2 * ((p.detach() - t) ** 2).mean()).diagnosis
    assert d.startswith("values differ")


def test_a_loss_of_zero_is_not_compared(losses):
    losses(name="toy_zero_loss", reference=squared_error, reference_name="x.squared_error",
           cases=lambda: [Case("equal inputs", (torch.ones(3), torch.ones(3)))], differentiable=["pred"])
    assert check_exercise("toy_zero_loss", lambda p, t: ((p.detach() - t) ** 2).mean()).status == "passed"


def test_differentiable_arguments_must_be_the_references():
    with pytest.raises(ConfigError, match="no argument named 'y_hat'"):
        Exercise(name="x", notebook="00", reference=squared_error, cases=list, differentiable=["y_hat"])


# --------------------------------------------------------------------------------------
# module exercises: load_weights_by_use and build_alike
# --------------------------------------------------------------------------------------

nn = torch.nn
wn = torch.nn.utils.parametrizations.weight_norm


class _Reference(nn.Module):
    """conv → tanh, then two 1×1 convs that read the same tensor (an output and a skip)."""

    def __init__(self):
        super().__init__()
        self.conv = wn(nn.Conv1d(3, 4, 3, padding=1))
        self.out = nn.Conv1d(4, 4, 1)
        self.skip = nn.Conv1d(4, 4, 1)

    def forward(self, x):
        z = torch.tanh(self.conv(x))
        return self.out(z) + x[:, :1], self.skip(z)


class _Renamed(nn.Module):
    """The same network: other names, created in another order, the skip used first, old weight norm."""

    def __init__(self):
        super().__init__()
        self.b = nn.Conv1d(4, 4, 1)
        self.a = nn.Conv1d(4, 4, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.nn.utils.weight_norm is deprecated, still correct
            self.first = torch.nn.utils.weight_norm(nn.Conv1d(3, 4, 3, padding=1))

    def forward(self, x):
        z = torch.tanh(self.first(x))
        skip = self.b(z)
        return self.a(z) + x[:, :1], skip


def _equal_outputs(a, b, x):
    with torch.no_grad():
        return all(torch.allclose(u, v, atol=1e-6) for u, v in zip(a(x), b(x)))


def test_load_weights_by_name_when_the_names_agree():
    torch.manual_seed(0)
    mine, reference, x = _Reference(), _Reference(), torch.randn(2, 3, 9)
    assert checks.load_weights_by_use(mine, reference, x) == "names"
    assert _equal_outputs(mine, reference, x)


def test_load_weights_by_use_pairs_other_names_orders_and_weight_norm_apis():
    torch.manual_seed(0)
    mine, reference, x = _Renamed(), _Reference(), torch.randn(2, 3, 9)
    before = {k: v.clone() for k, v in reference.state_dict().items()}
    assert not _equal_outputs(mine, reference, x)
    assert checks.load_weights_by_use(mine, reference, x) == "use"
    assert _equal_outputs(mine, reference, x)  # the two 1×1 convs read one tensor: settled by the output
    assert all(torch.equal(before[k], v) for k, v in reference.state_dict().items())


def test_load_weights_by_use_copies_spectral_norms_vectors():
    torch.manual_seed(0)
    reference = nn.Sequential(torch.nn.utils.parametrizations.spectral_norm(nn.Conv1d(2, 3, 3)), nn.Tanh())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = nn.ModuleDict({"c": torch.nn.utils.spectral_norm(nn.Conv1d(2, 3, 3))})
    mine.forward = lambda x: torch.tanh(mine["c"](x))
    x = torch.randn(1, 2, 8)
    before = {k: v.clone() for k, v in reference.state_dict().items()}
    assert checks.load_weights_by_use(mine, reference, x) == "use"
    assert all(torch.equal(before[k], v) for k, v in reference.state_dict().items())  # its u and v put back
    torch.testing.assert_close(mine(x), reference(x))  # training mode: one power iteration each, from the same u


def test_modules_that_cannot_be_paired_are_left_alone():
    torch.manual_seed(0)
    reference, x = _Reference(), torch.randn(2, 3, 9)
    no_norm = nn.Conv1d(3, 4, 3, padding=1)
    plain = _Reference()
    plain.conv = no_norm  # a missing weight norm: other tensors
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    assert checks.load_weights_by_use(plain, reference, x) is None
    assert all(torch.equal(before[k], v) for k, v in plain.state_dict().items())

    class Broken(_Renamed):
        def forward(self, x):
            self.first(x)
            raise RuntimeError("shapes do not fit")

    broken = Broken()
    before = {k: v.clone() for k, v in broken.state_dict().items()}
    assert checks.load_weights_by_use(broken, reference, x) is None  # its own forward will say why
    assert all(torch.equal(before[k], v) for k, v in broken.state_dict().items())


def test_build_alike_builds_both_from_one_random_state():
    torch.manual_seed(3)
    mine, reference = checks.build_alike(_Reference, _Reference)
    assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), reference.state_dict().values()))


# --------------------------------------------------------------------------------------
# the learner's code cannot derail the notebook: time limit, sys.exit, KeyboardInterrupt,
# global state
# --------------------------------------------------------------------------------------

# A toy exercise and learner functions for the scripts run in a fresh interpreter: an
# infinite loop must fail the check, not hang the test, so these run under a hard limit.
_TOY_SCRIPT = '''
import json, os, signal, sys, time
import numpy as np
from voclab import checks
from voclab.checks import Case, Exercise, ReferenceFunction, check_exercise

def double(x):
    return 2 * x

def toy(name, **spec):
    return checks.register(Exercise(name=name, notebook="00_toys", reference=double, reference_name="x.double",
                                    cases=lambda: [Case("three values", (np.arange(3.0),)), Case("one", (np.ones(1),))],
                                    hint="Multiply by 2.", **spec))

def forever(x):
    while True:
        pass

def report(result):
    return dict(status=result.status, message=result.message, reference=isinstance(result.use, ReferenceFunction))

def alarm_state():
    return dict(handler=signal.getsignal(signal.SIGALRM) is signal.SIG_DFL,
                timer=signal.getitimer(signal.ITIMER_REAL)[0])

toy("toy_double")
out = {}
'''


def _run_isolated(tmp_path, body: str, limit: float = 90.0, **env) -> dict:
    """Run ``_TOY_SCRIPT`` + ``body`` in a fresh interpreter, killed after ``limit`` s (a hang
    fails the test instead of stopping the suite); return the JSON it prints last."""
    import json
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k != "VOCLAB_CHECK_TIMEOUT"} | env
    script = tmp_path / "learner.py"  # a file, so that the check can quote the line it stopped
    script.write_text(_TOY_SCRIPT + body + "\nprint(json.dumps(out))\n")
    try:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=limit,
                              env=environ, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the check did not stop the learner's function: killed after {limit:g} s")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _checked(name, fn, **kwargs):
    """``check_exercise``, failing the test (not ending the session) if anything escapes it."""
    try:
        return check_exercise(name, fn, **kwargs)
    except BaseException as exc:  # noqa: BLE001 -- SystemExit/KeyboardInterrupt must not end pytest
        pytest.fail(f"{type(exc).__name__} escaped the check: {exc!r}")


needs_alarm = pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"),
                                 reason="the time limit needs signal.setitimer (not on Windows)")


@needs_alarm
def test_an_infinite_loop_fails_after_the_time_limit_and_the_code_after_runs(tmp_path):
    out = _run_isolated(tmp_path, '''
def swallows(x):  # catches what the check raises once, then returns the right answer
    try:
        while True:
            time.sleep(0.01)
    except BaseException:
        return 2 * x

start = time.monotonic()
out["loop"] = report(check_exercise("toy_double", forever))
out["seconds"] = time.monotonic() - start
out["swallowed"] = report(check_exercise("toy_double", swallows))
out["after"] = alarm_state()
out["passes"] = report(check_exercise("toy_double", double))
''', VOCLAB_CHECK_TIMEOUT="0.5")
    loop = out["loop"]
    assert loop["status"] == "failed" and loop["reference"], loop
    assert "took longer than 0.5 s" in loop["message"] and "infinite loop" in loop["message"]
    assert "was stopped (at line" in loop["message"]  # where: `while True:` or `pass`
    assert "`while True:`" in loop["message"] or "`pass`" in loop["message"]
    assert "VOCLAB_CHECK_TIMEOUT" in loop["message"] and "on input 1 (three values)" in loop["message"]
    assert "the cells below use voclab's reference (x.double)" in loop["message"]
    assert out["seconds"] < 20
    assert out["swallowed"]["status"] == "failed" and "took longer than 0.5 s" in out["swallowed"]["message"]
    assert out["after"] == {"handler": True, "timer": 0.0}  # the alarm is cancelled, its handler put back
    assert out["passes"]["status"] == "passed"


@needs_alarm
def test_the_time_limit_comes_from_the_argument_the_environment_or_the_exercise(tmp_path):
    out = _run_isolated(tmp_path, '''
toy("toy_quick", timeout=0.3)
out["exercise"] = report(check_exercise("toy_quick", forever))
os.environ["VOCLAB_CHECK_TIMEOUT"] = "0.4"
out["environment"] = report(check_exercise("toy_quick", forever))
out["argument"] = report(check_exercise("toy_quick", forever, timeout=0.2))
def slow(x):  # 0.3 s per input: within a limit of 1 s per input, though 0.6 s in all
    time.sleep(0.3)
    return 2 * x
out["slow"] = report(check_exercise("toy_quick", slow, timeout=1))
import contextlib, io, voclab
shown = io.StringIO()
with contextlib.redirect_stdout(shown):
    voclab.check("toy_quick", forever, timeout=0.25)  # the notebook's entry point passes it on
out["voclab.check"] = shown.getvalue()
''')
    assert "took longer than 0.3 s" in out["exercise"]["message"]
    assert "took longer than 0.4 s" in out["environment"]["message"]
    assert "took longer than 0.2 s" in out["argument"]["message"]
    assert out["slow"]["status"] == "passed", out["slow"]["message"]
    assert "took longer than 0.25 s" in out["voclab.check"]


@needs_alarm
def test_nested_checks_keep_their_own_time_limits(tmp_path):
    out = _run_isolated(tmp_path, '''
def outer_ok(x):  # checks an infinite loop with a short limit inside, then answers
    inner = check_exercise("toy_double", forever, timeout=0.3)
    out.setdefault("inner", report(inner))
    return 2 * x

def outer_stuck(x):  # the outer limit runs out while the inner check (limit 60 s) is running
    return check_exercise("toy_double", forever, timeout=60).use(x)

out["outer_ok"] = report(check_exercise("toy_double", outer_ok, timeout=30))
start = time.monotonic()
out["outer_stuck"] = report(check_exercise("toy_double", outer_stuck, timeout=0.5))
out["seconds"] = time.monotonic() - start
out["after"] = alarm_state()
''')
    assert out["inner"]["status"] == "failed" and "took longer than 0.3 s" in out["inner"]["message"]
    assert out["outer_ok"]["status"] == "passed", out["outer_ok"]["message"]
    assert out["outer_stuck"]["status"] == "failed" and "took longer than 0.5 s" in out["outer_stuck"]["message"]
    assert out["seconds"] < 20
    assert out["after"] == {"handler": True, "timer": 0.0}


def test_a_bad_time_limit_is_refused(toys, monkeypatch):
    monkeypatch.setenv("VOCLAB_CHECK_TIMEOUT", "ten seconds")
    with pytest.raises(ConfigError, match="VOCLAB_CHECK_TIMEOUT"):
        check_exercise("toy_normalise", normalise)
    monkeypatch.delenv("VOCLAB_CHECK_TIMEOUT")
    with pytest.raises(ConfigError, match="number of seconds"):
        check_exercise("toy_normalise", normalise, timeout="10")
    with pytest.raises(ConfigError, match="timeout"):
        Exercise(name="x", notebook="00", reference=normalise, cases=list, timeout=-1)


def test_sys_exit_in_the_function_fails_the_check(toys):
    import sys

    def mine(x):
        if x.ndim > 1:
            sys.exit("2-D input not supported")
        return x / np.abs(x).max()

    result = _checked("toy_normalise", mine)
    assert result.status == "failed" and isinstance(result.use, ReferenceFunction), result.message
    assert "your function called sys.exit()" in result.message and "on input 2" in result.message
    assert "`return`" in result.message and "sys.exit(\"2-D input not supported\")" in result.message


def test_a_keyboard_interrupt_raised_by_the_function_fails_the_check(toys):
    def mine(x):
        raise KeyboardInterrupt

    result = _checked("toy_normalise", mine)
    assert result.status == "failed" and isinstance(result.use, ReferenceFunction), result.message
    assert "raised KeyboardInterrupt" in result.message


@pytest.mark.skipif(not hasattr(__import__("os"), "kill") or __import__("sys").platform == "win32",
                    reason="sends itself SIGINT")
def test_pressing_stop_still_stops_the_check(toys, capsys):
    import os
    import signal
    import time

    def mine(x):  # as if the learner pressed Jupyter's stop button while it runs
        torch.set_grad_enabled(False)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return x

    # A kernel (like an interactive python) turns SIGINT into KeyboardInterrupt; a test run started in
    # the background (`cmd &`) inherits SIGINT ignored, so give this test Python's own handler.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            check("toy_normalise", mine)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        torch.set_grad_enabled(True)
        signal.signal(signal.SIGINT, handler)
    assert "toy_normalise: check stopped" in capsys.readouterr().out


def test_global_state_changed_by_the_function_is_reported_and_put_back(toys):
    threads, errors = torch.get_num_threads(), np.geterr()

    def mine(x):
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.set_num_threads(2 if threads == 1 else 1)
        np.seterr(all="ignore")
        return x / np.abs(x).max()

    try:
        result = _checked("toy_normalise", mine)
        restored = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads(), np.geterr())
    finally:
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        torch.set_num_threads(threads)
        np.seterr(**errors)
    assert result.status == "passed" and result.use is mine
    note = result.message.splitlines()[-1]
    for what in ("torch.set_default_dtype", "torch.set_grad_enabled", "torch.set_num_threads", "np.seterr"):
        assert what in note, note
    assert "voclab put them back" in note and "gradient mode (torch.set_grad_enabled: on → off)" in note
    assert restored == (torch.float32, True, threads, errors)

    def fails(x):  # changed and then raised: put back all the same
        torch.set_grad_enabled(False)
        raise ValueError("no")

    try:
        result = _checked("toy_normalise", fails)
        grad = torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    assert result.status == "failed" and grad and "torch.set_grad_enabled" in result.message


def test_a_setting_changed_on_a_later_input_is_reported_too(toys):
    calls = []

    def mine(x):
        calls.append(1)
        if len(calls) == 2:  # the first input passed (and was checked for in-place changes) already
            torch.set_grad_enabled(False)
        return x / np.abs(x).max()

    try:
        result = _checked("toy_normalise", mine)
    finally:
        torch.set_grad_enabled(True)
    assert result.status == "passed" and "torch.set_grad_enabled" in result.message


@needs_alarm
def test_an_infinite_loop_in_a_jupyter_kernel_does_not_stop_the_next_cell():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if "python3" not in pytest.importorskip("jupyter_client.kernelspec").find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel installed")
    cells = [
        ("import os\nimport voclab\nos.environ['VOCLAB_CHECK_TIMEOUT'] = '1'\n"
         "def mu_law_encode(x, mu=255):\n    while True:\n        pass"),
        "mu_law_encode = voclab.check('mu_law_encode', mu_law_encode)",
        "print('next cell ran:', mu_law_encode.__name__)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3")
    try:
        client.execute()
    except nbclient.exceptions.CellTimeoutError:
        pytest.fail("the check hung the kernel: the cell ran past nbclient's timeout")
    # the verdict is a display output in a kernel (plain text + coloured HTML), print() elsewhere
    check_out = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                        for o in notebook.cells[1].outputs)
    assert "took longer than 1 s" in check_out, check_out
    assert check_out.startswith("FAILED ✗ mu_law_encode: "), check_out  # words, readable without an emoji font
    html = "".join(o.get("data", {}).get("text/html", "") for o in notebook.cells[1].outputs)
    assert "background:#cf222e" in html and ">FAILED ✗</span>" in html, html  # and red in JupyterLab
    next_out = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "next cell ran: voclab_reference_mu_law_encode" in next_out, next_out


def test_an_exercise_name_of_another_notebook_is_refused():
    """Names are global: notebook 05's first mel exercise once replaced notebook 01's ``mel_to_linear``."""
    from voclab.checks import nb01  # noqa: F401  (registers notebook 01's exercises)

    taken = checks.EXERCISES["mel_to_linear"]
    clash = Exercise(name="mel_to_linear", notebook="05_gansynth", reference=taken.reference,
                     cases=taken.cases, reference_name="somewhere.else")
    with pytest.raises(ConfigError, match="01_phase_and_griffin_lim"):
        checks.register(clash)
    assert checks.EXERCISES["mel_to_linear"] is taken
    assert checks.register(taken) is taken  # the same notebook again (a reloaded spec module): replaced
