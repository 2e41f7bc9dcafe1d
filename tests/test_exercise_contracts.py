"""What every exercise of every notebook promises, tested once for all of them.

- the exercises registered for a notebook are exactly the ones its solution notebook checks
  with ``voclab.check("name", ...)``;
- voclab's reference passes its own check, on several inputs;
- each mistake an exercise lists is recognised, with its message.

What differs between exercises (how a stub of a class looks, what a correct solution
written differently is, what the references stand for) stays in ``test_nbNN_checks.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from voclab import checks
from voclab.checks import check_exercise, get_exercise

SOLUTIONS = sorted((Path(__file__).resolve().parents[1] / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"""voclab\.check\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")

checks._load_specs()  # every notebook's spec module
# the course's exercises only: test_checks.py registers toys of its own
NAMES = sorted(name for name, exercise in checks.EXERCISES.items() if exercise.notebook in {p.stem for p in SOLUTIONS})
MISTAKES = [(name, index) for name in NAMES for index in range(len(get_exercise(name).mistakes))]


def checked_in(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {name for cell in cells if cell["cell_type"] == "code" for name in CHECK_CALL.findall("".join(cell["source"]))}


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_registered_exercises_are_the_ones_the_notebook_checks(notebook):
    registered = {name for name, exercise in checks.EXERCISES.items() if exercise.notebook == notebook.stem}
    assert registered == checked_in(notebook)


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_own_check(name):
    result = check_exercise(name, get_exercise(name).reference)
    assert result.status == "passed", result.message
    assert result.n_cases >= 3


@pytest.mark.parametrize("name,index", MISTAKES, ids=[f"{n}-{i}" for n, i in MISTAKES])
def test_each_listed_mistake_is_recognised(name, index):
    wrong, message = get_exercise(name).mistakes[index]
    result = check_exercise(name, wrong)
    assert result.status == "failed"
    assert message in result.message, result.message


def test_every_exercise_lists_at_least_one_mistake():
    assert [name for name in NAMES if not get_exercise(name).mistakes] == []


# --------------------------------------------------------------------------------------
# what the engine promises every exercise (issue 10 §1): each mistake, and its message
# --------------------------------------------------------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from voclab.checks import Case, Exercise, is_stub  # noqa: E402
from voclab.models import wavenet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _notebook_code(notebook: str, defines: str) -> str:
    """The code of the solution notebook's cell that defines ``defines``, without its check line."""
    cells = json.loads((ROOT / "solutions" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and f"def {defines}(" in "".join(c["source"]))
    return source.split(f"\n{defines} = voclab.check")[0]


GUMBEL_MAX = '''
def sample_categorical(logits, temperature=1.0, generator=None):
    """Gumbel-max: argmax(logits / T − log(−log U)) — another valid sampler, which draws other numbers."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp_min(1e-12)
    return (logits / temperature - torch.log(-torch.log(u))).argmax(dim=-1)
'''


def test_a_correct_answer_never_fails_because_of_an_earlier_correct_answer():
    """Notebook 03: the learner's Gumbel-max sampler passed exercise 5; the notebook's own
    generate_cached, which calls it through its globals, must pass exercise 6."""
    namespace = {"math": math, "np": np, "torch": torch, "F": F, "nn": nn,
                 "mu_law_encode": wavenet.mu_law_encode, "mu_law_decode": wavenet.mu_law_decode}
    exec(GUMBEL_MAX, namespace)
    assert check_exercise("sample_categorical", namespace["sample_categorical"]).status == "passed"
    gumbel = namespace["sample_categorical"]
    exec(_notebook_code("03_wavenet", "generate_cached"), namespace)
    result = check_exercise("generate_cached", namespace["generate_cached"])
    assert result.status == "passed", result.message
    assert namespace["sample_categorical"] is gumbel  # the learner's own is put back


class _ReflectUpsampler(nn.Module):
    """A ConditionUpsampler that pads by reflection, with a padding PyTorch does not implement for 4-D input."""

    def __init__(self, upsample_scales):
        super().__init__()
        self.upsample_scales = list(upsample_scales)
        self.up_layers = nn.ModuleList(nn.Conv2d(1, 1, (1, 2 * s + 1), bias=False) for s in self.upsample_scales)
        for s, conv in zip(self.upsample_scales, self.up_layers):
            nn.init.constant_(conv.weight, 1 / (2 * s + 1))

    def forward(self, c):
        h = c.unsqueeze(1)
        for s, conv in zip(self.upsample_scales, self.up_layers):
            h = conv(F.pad(h.repeat_interleave(s, dim=-1), (s, s), mode="reflect"))  # NotImplementedError
        return h.squeeze(1)


def test_pytorchs_own_not_implemented_error_is_a_failure_not_not_done():
    result = check_exercise("ConditionUpsampler", _ReflectUpsampler)
    assert result.status == "failed", result.message
    assert "raised NotImplementedError" in result.message and "not done" not in result.message


def _stub_raising(message):
    def stub(*args, **kwargs):
        raise NotImplementedError(*([message] if message is not None else []))
    return stub


@pytest.mark.parametrize("message, status", [
    ("Exercise sample_categorical: your code here", "not done"),
    ("Exercise sample_categorical: replace this line with your code", "not done"),  # notebooks made before
    ("Exercise ConditionUpsampler.forward: replace this line with your code", "not done"),  # a method, with its class
    ("Exercise forward: replace this line with your code", "not done"),  # learner notebooks made before
    ("Exercise: replace this line with your code", "not done"),
    (None, "failed"),  # a bare NotImplementedError is the learner's own
    ("reflection padding is not implemented for this shape", "failed"),
])
def test_only_the_stubs_own_message_means_not_done(message, status):
    result = check_exercise("sample_categorical", _stub_raising(message))
    assert result.status == status, result.message
    if status == "failed":
        assert "raised NotImplementedError" in result.message


STUB_LINE = re.compile(r'raise NotImplementedError\("(Exercise [^"]*)"\)')


def test_every_stub_of_the_learner_notebooks_is_recognised_and_names_its_class():
    stubs = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        stubs += [m for c in cells if c["cell_type"] == "code" for m in STUB_LINE.findall("".join(c["source"]))]
    assert stubs and all(is_stub(NotImplementedError(m)) for m in stubs)
    assert "Exercise ConditionUpsampler.forward: your code here" in stubs
    assert not [stub for stub in stubs if stub.startswith("Exercise forward:")]


@torch.no_grad()
def _naive_generate(model, c=None, length=None, temperature=1.0, generator=None):
    """Right samples, no caching: the whole network on every sample drawn so far, for each new one."""
    c_up = model.upsample_net(c) if c is not None else None
    length = length or c_up.shape[-1]
    classes = torch.full((1 if c is None else len(c), 1), 128)
    for t in range(length):
        h, skips = model.first_conv(F.one_hot(classes, model.cfg.quantize_channels).transpose(1, 2).double()), 0
        for layer in model.layers:
            h, skip = layer(h, None if c_up is None else c_up[:, :, : t + 1])
            skips = skips + skip
        logits = model.last_conv_layers(skips * math.sqrt(1 / len(model.layers)))[:, :, -1]
        classes = torch.cat([classes, wavenet.sample_categorical(logits, temperature, generator)[:, None]], dim=1)
    return wavenet.mu_law_decode(classes[:, 1:])


def test_a_generate_cached_that_recomputes_the_past_fails():
    result = check_exercise("generate_cached", _naive_generate)
    assert result.status == "failed", result.message
    assert "recomputes the whole past at each step" in result.message
    assert "keep a queue per layer" in result.message


def _conv(layer, x):
    """``layer(x)`` through its weights, as ``F.conv1d``: no module is called."""
    return F.conv1d(x, layer.weight, layer.bias, dilation=layer.dilation)


@torch.no_grad()
def _naive_generate_through_weights(model, c=None, length=None, temperature=1.0, generator=None):
    """:func:`_naive_generate` with every layer called through its weights (``F.conv1d``)."""
    c_up = model.upsample_net(c) if c is not None else None
    length = length or c_up.shape[-1]
    classes = torch.full((1 if c is None else len(c), 1), 128)
    for t in range(length):
        h = _conv(model.first_conv, F.one_hot(classes, model.cfg.quantize_channels).transpose(1, 2).double())
        skips = 0
        for layer in model.layers:
            a = _conv(layer.conv, F.pad(h, ((layer.kernel_size - 1) * layer.dilation, 0)))
            if c_up is not None:
                a = a + _conv(layer.conv1x1c, c_up[:, :, : t + 1])
            z = layer._gate(a)
            h, skips = (_conv(layer.conv1x1_out, z) + h) * math.sqrt(0.5), skips + _conv(layer.conv1x1_skip, z)
        x = skips * math.sqrt(1 / len(model.layers))
        for part in model.last_conv_layers:
            x = _conv(part, x) if isinstance(part, torch.nn.Conv1d) else part(x)
        classes = torch.cat([classes, wavenet.sample_categorical(x[:, :, -1], temperature, generator)[:, None]], dim=1)
    return wavenet.mu_law_decode(classes[:, 1:])


def test_a_generate_cached_that_recomputes_the_past_through_the_weights_fails():
    # no layer module is ever called: the probe counts the convolutions' operations, not the calls
    result = check_exercise("generate_cached", _naive_generate_through_weights)
    assert result.status == "failed", result.message
    assert "recomputes the whole past at each step" in result.message


def _receptive_field_converting_the_callers_module(module, length, in_channels):
    """The right field, measured after ``module.double()``: the caller's module turns float64."""
    module.double()
    x = torch.randn(1, in_channels, length, dtype=torch.float64, requires_grad=True)
    y = module(x)
    t = y.shape[-1] // 2
    y[0, :, t].sum().backward()
    reached = torch.nonzero(x.grad[0].abs().sum(0)).flatten()
    return int(reached[0]) - t, int(reached[-1]) - t


def test_converting_the_callers_module_in_place_is_named():
    result = check_exercise("empirical_receptive_field", _receptive_field_converting_the_callers_module)
    assert result.status == "failed", result.message
    assert "changed the module it was given (`module`) in place: its weights are now float64" in result.message
    assert "copy.deepcopy(module).double()" in result.message


def _rms(x):
    """The root mean square of ``x``."""
    return float(np.sqrt(np.mean(x**2)))


def _peak_normalise(x):
    """``x`` divided by its largest absolute value."""
    return x / np.abs(x).max()


def _frames(n, hop):
    """How many frames of ``hop`` samples cover ``n`` samples, the first at 0."""
    return 1 + n // hop


@pytest.fixture
def toys():
    specs = [
        Exercise(name="toy_rms", notebook="00_toys", reference=_rms, reference_name="x.rms",
                 cases=lambda: [Case("a quiet ramp", (np.linspace(-0.29, 0.29, 101),))]),
        Exercise(name="toy_peak_normalise", notebook="00_toys", reference=_peak_normalise, reference_name="x.peak",
                 cases=lambda: [Case("20 values", (np.random.default_rng(0).standard_normal(20),))]),
        Exercise(name="toy_frames", notebook="00_toys", reference=_frames, reference_name="x.frames",
                 cases=lambda: [Case("1000 samples, hop 256", (1000, 256))]),
    ]
    for spec in specs:
        checks.register(spec)
    yield
    for spec in specs:
        checks.EXERCISES.pop(spec.name, None)


NUMBERS = re.compile(r"expected (\S+), got (\S+)")


@pytest.mark.parametrize("name, mine", [
    ("toy_rms", lambda x: float(np.sqrt(np.mean(x**2) + 1e-5))),
    ("toy_peak_normalise", lambda x: x / (np.abs(x).max() + 1e-4)),
])
def test_a_slightly_shifted_result_is_named_with_enough_digits(toys, name, mine):
    result = check_exercise(name, mine)
    assert result.status == "failed"
    assert "matches to 3 decimals but not to the tolerance" in result.message, result.message
    assert "an eps/epsilon or clamp that shifts the result slightly?" in result.message
    expected, got = NUMBERS.search(result.message).groups()
    assert expected != got  # enough digits to see the difference


@pytest.mark.parametrize("mine", [lambda n, hop: 1 + n / hop, lambda n, hop: float(1 + n // hop)])
def test_a_float_where_an_int_is_expected(toys, mine):
    result = check_exercise("toy_frames", mine)
    assert result.status == "failed"
    assert "where the int 4 is expected — return an int (e.g. int(...) / math.floor), not a float" in result.message


class _ListedUpsampler(nn.Module):
    """A correct ConditionUpsampler whose layers sit in a plain Python list: PyTorch does not register them."""

    def __init__(self, upsample_scales):
        super().__init__()
        self.upsample_scales = list(upsample_scales)
        self.up_layers = [nn.Conv2d(1, 1, (1, 2 * s + 1), padding=(0, s), bias=False) for s in self.upsample_scales]
        for s, conv in zip(self.upsample_scales, self.up_layers):
            nn.init.constant_(conv.weight, 1 / (2 * s + 1))

    def forward(self, c):
        hop = math.prod(self.upsample_scales)
        reach = sum(s * math.prod(self.upsample_scales[i + 1:]) for i, s in enumerate(self.upsample_scales))
        pad = -(-reach // hop)  # context frames enough for the smoothing's reach
        h = F.pad(c, (pad, pad), mode="replicate").unsqueeze(1)
        for s, conv in zip(self.upsample_scales, self.up_layers):
            h = conv(h.repeat_interleave(s, dim=-1))
        return h[:, 0, :, pad * hop:h.shape[-1] - pad * hop]


class _AliasedUpsampler(_ListedUpsampler):
    """Correct: the layers are registered (nn.ModuleList), and a plain list also points at them."""

    def __init__(self, upsample_scales):
        super().__init__(upsample_scales)
        self.in_order = self.up_layers  # a plain list of layers that are registered below: nothing is lost
        self.up_layers = nn.ModuleList(self.in_order)


def test_layers_in_a_plain_list_are_told_to_use_module_list():
    init = vars(_ListedUpsampler)["__init__"]
    result = check_exercise("ConditionUpsampler", _ListedUpsampler)
    assert result.status == "failed"
    assert "`self.up_layers` is a plain Python list" in result.message
    assert "use nn.ModuleList so PyTorch registers the layers" in result.message
    assert vars(_ListedUpsampler)["__init__"] is init  # the class is left as it was
    assert check_exercise("ConditionUpsampler", _AliasedUpsampler).status == "passed"
