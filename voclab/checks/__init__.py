"""Exercise checks: ``voclab.check(name, fn)``, the checks that teach and never block.

Every exercise cell of the course ends with one line::

    griffin_lim = voclab.check("griffin_lim", griffin_lim)

:func:`check` runs the learner's function on several inputs (edge cases included),
compares each result with voclab's reference implementation and prints one short verdict:

* ``PASSED ✓ griffin_lim: public checks passed (5 inputs).`` -- the learner's function is
  returned, and the cells below use it;
* ``NOT DONE griffin_lim is not done yet — ...`` -- the function still raises the stub's own
  ``NotImplementedError("Exercise griffin_lim: your code here")`` (the
  learner notebook's; see :func:`is_stub`): voclab's reference is returned instead, so the
  rest of the notebook runs with correct values. Any other exception -- PyTorch's own
  ``NotImplementedError`` for an unsupported padding mode included -- is a failure;
* ``FAILED ✗ griffin_lim: <what is wrong> on input k (<description>).`` followed by a hint --
  the reference is returned too, and the note says so.

Each verdict begins with its status in words (:data:`STATUS_LABELS`), so it reads without an
emoji font (Debian's Chromium showed the emoji ✅, ⏳ and ❌ as one and the same empty box; ✓ and ✗
are in DejaVu Sans). In a Jupyter kernel the label is also coloured (green, amber, red) in an HTML
output whose plain-text form is the same line (see :func:`show_verdict`).

**Grading mode.** When the environment variable :data:`GRADE_LOG_ENV` (``VOCLAB_GRADE_LOG``)
names a file, :func:`check` appends one JSON line per call to it -- the exercise, its status,
diagnosis and hint -- and, once the public checks pass, runs the exercise's
``hidden_cases`` (inputs the learner notebook never shows) and records their result too.
``voclab grade`` (:mod:`voclab.grade`) sets it.

"What is wrong" is diagnosed generically on numpy arrays, torch tensors, Python numbers
and tuples/lists/dicts of these: a missing ``return``, the wrong number of outputs, a shape
that is off by one or transposed, a real result where a complex one is expected (or
integers where floats are), NaN/Inf, a flipped sign, a constant scale factor (with a word
about normalisation when the factor is a size of the input), a one-sample shift, an input
changed in place, a known mistake listed by the exercise, a float returned where an int is
expected, values that agree to three decimals but not to the tolerance (an eps or a clamp),
or else the largest error and where it is.

A learner's correct answer never fails because of an earlier correct answer: while an
exercise is checked, the learner's own functions of the notebook's *earlier* exercises that
it calls through its globals (``sample_categorical`` inside ``generate_cached``) are voclab's
references (see :func:`_earlier_references`) -- a different but valid sampler draws other
numbers, and the samples could not be compared.

Two kinds of exercise need more than equal values:

* a **loss** must also pass its gradient on: an exercise names its differentiable arguments
  (:class:`Differentiable`), and once the values agree the check backpropagates the
  learner's loss and the reference's and compares the gradients that reach each of them --
  a ``.detach()`` or a numpy round trip gives the right number and a loss that trains
  nothing, and the check says so;
* a **module** (a class the learner writes) is built next to voclab's
  (:func:`build_alike`) and given voclab's weights before it runs
  (:func:`load_weights_by_use`): by name when the names agree, else layer by layer in the
  order the two ``forward`` methods use them -- so neither the order in which the learner
  creates the layers nor their names matter, only what the module computes. A module that
  keeps layers with parameters in a plain Python list (not registered: the optimiser would
  never see them) fails with advice to use ``nn.ModuleList``.

Some properties are not values: an exercise may add an :class:`Audit`, run once every input
passes -- notebook 03 checks that cached generation does the same work per sample whatever
the length (with :func:`counting_work`).

The learner's code cannot derail the notebook (see :func:`check_exercise`): it runs under
a time limit per input (:data:`DEFAULT_TIMEOUT`, ``Exercise.timeout``, the environment
variable :data:`TIMEOUT_ENV`), so an infinite loop fails the check instead of hanging the
kernel; a ``sys.exit()`` or a ``KeyboardInterrupt`` it raises fails the check too (the stop
button still stops it); and the global settings it changes (torch's default dtype, grad
mode, thread count, numpy's error handling) are put back and named in the verdict.

Each exercise is an :class:`Exercise` registered with :func:`register`. The specification
modules ``voclab/checks/nbNN.py`` (one per notebook, see :data:`SPEC_MODULES`) register
theirs when imported; :func:`check` imports them on first need.

Notebook: every exercise notebook (01-07).
"""

from __future__ import annotations

import cmath
import copy
import dataclasses
import difflib
import functools
import importlib
import inspect
import itertools
import linecache
import math
import os
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = [
    "Audit",
    "Case",
    "Compare",
    "Differentiable",
    "Exercise",
    "Result",
    "ReferenceFunction",
    "EXERCISES",
    "SPEC_MODULES",
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "GRADE_LOG_ENV",
    "STATUS_LABELS",
    "show_verdict",
    "record_grade",
    "register",
    "get_exercise",
    "check_exercise",
    "check",
    "diagnose",
    "is_stub",
    "build_alike",
    "load_weights_by_use",
    "counting_work",
]

#: Modules that define and register the exercises of each notebook, imported lazily.
SPEC_MODULES: list[str] = [f"voclab.checks.nb{n:02d}" for n in range(1, 9)]

#: The registry: exercise name -> :class:`Exercise`.
EXERCISES: dict[str, "Exercise"] = {}

_STATUSES = ("passed", "not done", "failed", "error")

#: Seconds the learner's function may run on one input before the check stops it: some
#: 60 times the slowest reference input on a busy 2-core machine, room for honest slow code.
DEFAULT_TIMEOUT: float = 30.0

#: The environment variable that sets the time limit of every exercise, in seconds (it wins
#: over ``Exercise.timeout``; ``0`` turns the limit off). Read at each check, so a notebook
#: cell can set it: ``os.environ["VOCLAB_CHECK_TIMEOUT"] = "120"``.
TIMEOUT_ENV = "VOCLAB_CHECK_TIMEOUT"

#: The environment variable of grading mode: the path of a JSON-lines file that every
#: :func:`check` call appends its result to (public and hidden inputs); see :mod:`voclab.grade`.
GRADE_LOG_ENV = "VOCLAB_GRADE_LOG"

#: The words each verdict begins with, by status: readable without an emoji font.
STATUS_LABELS: dict[str, str] = {
    "passed": "PASSED ✓",
    "not done": "NOT DONE",
    "failed": "FAILED ✗",
    "error": "CHECK ERROR",
    "stopped": "STOPPED",
}

#: Colours of the labels in a notebook's HTML output (GitHub's green, amber, red, grey).
_LABEL_COLOURS = {"passed": "#1a7f37", "not done": "#9a6700", "failed": "#cf222e", "error": "#6e7781",
                  "stopped": "#6e7781"}


# ======================================================================================
# specifications
# ======================================================================================


@dataclass(frozen=True)
class Case:
    """One input on which a learner's function is compared with the reference.

    Parameters
    ----------
    description : str
        A few words shown to the learner when this input fails, e.g. ``"a 0.1 s sine,
        n_iter=0"``. Say what makes the case special (an edge case, a size, an option).
    args : tuple
        Positional arguments of the call.
    kwargs : mapping
        Keyword arguments of the call.

    Notes
    -----
    The arguments are deep-copied before every call, so neither the learner's function
    nor the reference can change them for the other (an in-place change of an array
    argument is itself reported, see :func:`check_exercise`).
    """

    description: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.args, tuple):
            object.__setattr__(self, "args", tuple(self.args))


@dataclass(frozen=True)
class Compare:
    """How outputs are compared.

    Parameters
    ----------
    rtol, atol : float
        Tolerances of :func:`numpy.allclose`: ``|out - ref| <= atol + rtol * |ref|``
        element-wise. NaN equals NaN where the reference itself has NaN.
    strict_dtype : bool
        If True, the exact dtype must match (``float32`` vs ``float64`` fails). By default
        only the dtype *family* must match: bool, integer, real floating, complex.
    """

    rtol: float = 1e-5
    atol: float = 1e-6
    strict_dtype: bool = False


@dataclass(frozen=True)
class Differentiable:
    """An argument of a loss exercise whose gradient is checked, and what to say when it is wrong.

    For each input whose values pass, :func:`check_exercise` turns every floating-point
    tensor of this argument (in nested lists, tuples and dicts too) into a leaf that
    requires grad, calls the learner's function and the reference, backpropagates both
    outputs and compares the gradients: the learner's must reach the argument where the
    reference's does, must not reach it where the reference's does not (a target the
    reference detaches), and must be close to the reference's.

    Parameters
    ----------
    argument : str
        The name of the reference's parameter, e.g. ``"y_hat"``.
    missing : str
        Said after "no gradient reaches `argument`: " when the reference's gradient reaches
        the argument and the learner's does not -- what training then loses, e.g. "the
        discriminator would learn from the fakes only". By default: the loss is cut from
        the graph (a ``.detach()``, ``.item()``, numpy or ``torch.no_grad()``).
    unexpected : str
        Said when the learner's gradient reaches the argument and the reference's does
        not, e.g. "the real features are targets: detach them". By default: it is a
        constant here, detach it.

    Notes
    -----
    Loss exercises of notebooks 06 and 07 (and later ones) use it. A plain string in
    :attr:`Exercise.differentiable` stands for ``Differentiable(string)``.
    """

    argument: str
    missing: str = ""
    unexpected: str = ""


@dataclass(frozen=True)
class Audit:
    """A check of *how* the learner's function works, run once its values pass on every input.

    Equal values do not show everything: cached generation that recomputes the whole past
    gives exactly the right samples, only ever slower. An audit runs the learner's function
    again (under the same time limit, with the same stand-ins for earlier exercises) and
    says what is wrong.

    Parameters
    ----------
    description : str
        What the audit runs, shown in parentheses after a failure, e.g. ``"16 and 32 samples
        of a 6-layer probe model, counting the inputs of its layers"``.
    run : callable
        ``run(fn) -> str or None``: what is wrong (one line that says what to do), or None.
        An exception raised by ``fn`` fails the check with its message.

    Notes
    -----
    Notebook 03's ``generate_cached`` uses one (with :func:`counting_work`).
    """

    description: str
    run: Callable[[Callable], str | None]


@dataclass
class Exercise:
    """The specification of one exercise: what to compare, on which inputs, with which hint.

    Parameters
    ----------
    name : str
        The exercise name, as the learner writes it in ``voclab.check(name, fn)``;
        by convention the name of the function the learner writes.
    notebook : str
        The notebook it belongs to, e.g. ``"01_phase_and_griffin_lim"``.
    reference : callable
        voclab's implementation, with the same signature as the learner's function.
        It is what :func:`check` returns when the learner's version is missing or wrong.
    cases : callable
        ``cases() -> list[Case]``: builds the inputs (a function, so that arrays are
        made only when a check runs). Include edge cases; each needs a description.
        ``(description, args, kwargs)`` tuples are accepted too.
    reference_name : str
        The dotted name shown to the learner, e.g. ``"voclab.phase.griffin_lim"``.
    hint : str
        One sentence shown when the check fails.
    compare : Compare or dict
        Tolerances and dtype strictness (a dict is turned into :class:`Compare`).
    mistakes : sequence of (callable, str)
        Known wrong variants with the reference's signature and the message to show when
        the learner's output equals that variant's output -- e.g. Griffin-Lim run one
        iteration too few: ``(lambda S, n_iter=32: griffin_lim(S, n_iter - 1),
        "one iteration too few: does your loop run n_iter times?")``.
    seed : int or None
        Random generators (``random``, ``numpy.random``, ``torch``) are seeded with this
        before each call of the learner's function, the reference and the mistakes, so
        that randomised functions can be compared; their previous state is restored after.
        ``None`` leaves them alone.
    run : callable or None
        ``run(fn, *args, **kwargs) -> output``: how a case calls the function. The default
        is ``fn(*args, **kwargs)``. Use it for exercises that are classes (build the module
        with :func:`build_alike`, give it voclab's weights with :func:`load_weights_by_use`,
        return its forward output) or that need a wrapper.
    differentiable : sequence of str or Differentiable
        The arguments of a loss through which gradients are checked (see
        :class:`Differentiable`), by the reference's parameter names, e.g.
        ``("real_scores", "fake_scores")``. Empty: values only.
    timeout : float or None
        Seconds the learner's function may run on one input before the check stops it and
        fails (see :func:`check_exercise`). None: :data:`DEFAULT_TIMEOUT`. Raise it for an
        exercise whose honest solutions are slow; :data:`TIMEOUT_ENV` overrides it.
    audit : Audit or None
        A further check run once every case passes (see :class:`Audit`).
    hidden_cases : callable or None
        ``hidden_cases() -> list[Case]``, like ``cases``: inputs that run only in grading
        mode (:data:`GRADE_LOG_ENV`), after the public cases pass, and are never shown in the
        learner notebook -- other sizes and edge cases, so that passing the public checks is
        not the whole grade (see :mod:`voclab.grade`).
    """

    name: str
    notebook: str
    reference: Callable
    cases: Callable[[], Sequence[Case]]
    reference_name: str = ""
    hint: str = ""
    compare: Compare = field(default_factory=Compare)
    mistakes: Sequence[tuple[Callable, str]] = ()
    seed: int | None = 0
    run: Callable | None = None
    differentiable: Sequence[str | Differentiable] = ()
    timeout: float | None = None
    audit: Audit | None = None
    hidden_cases: Callable[[], Sequence[Case]] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError(f"Exercise name must be a Python identifier, got {self.name!r}.")
        if not callable(self.reference):
            raise ConfigError(f"Exercise {self.name!r}: reference must be callable.")
        if not callable(self.cases):
            raise ConfigError(
                f"Exercise {self.name!r}: cases must be a function returning a list of Case."
            )
        if self.hidden_cases is not None and not callable(self.hidden_cases):
            raise ConfigError(
                f"Exercise {self.name!r}: hidden_cases must be None or a function returning a list of Case."
            )
        if isinstance(self.compare, Mapping):
            self.compare = Compare(**self.compare)
        if self.timeout is not None and not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ConfigError(f"Exercise {self.name!r}: timeout must be a positive number of seconds or None, "
                              f"got {self.timeout!r}.")
        if self.audit is not None and not (isinstance(self.audit, Audit) and callable(self.audit.run)):
            raise ConfigError(f"Exercise {self.name!r}: audit must be an Audit(description, run).")
        for item in self.mistakes:
            if not (isinstance(item, tuple) and len(item) == 2 and callable(item[0])):
                raise ConfigError(
                    f"Exercise {self.name!r}: each mistake is a (wrong_callable, message) pair."
                )
        self.differentiable = tuple(d if isinstance(d, Differentiable) else Differentiable(d)
                                    for d in self.differentiable)
        if self.differentiable:
            try:
                parameters = inspect.signature(self.reference).parameters
            except (TypeError, ValueError):
                raise ConfigError(f"Exercise {self.name!r}: differentiable arguments need a reference "
                                  "whose signature can be read.") from None
            unknown = [d.argument for d in self.differentiable if d.argument not in parameters]
            if unknown:
                raise ConfigError(f"Exercise {self.name!r}: the reference has no argument named "
                                  f"{', '.join(map(repr, unknown))} (differentiable).")
        if not self.reference_name:
            ref = self.reference
            self.reference_name = f"{getattr(ref, '__module__', 'voclab')}.{getattr(ref, '__qualname__', self.name)}"


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to :data:`EXERCISES` and return it.

    Exercise names are global (``voclab.check("name", fn)`` names no notebook), so a name
    another notebook already uses is refused; the same notebook registering it again (a
    reloaded spec module) replaces it.

    Spec modules call it at import time::

        register(Exercise(name="griffin_lim", notebook="01_phase_and_griffin_lim",
                          reference=phase.griffin_lim, cases=_gl_cases,
                          reference_name="voclab.phase.griffin_lim",
                          hint="Alternate: keep the magnitude, take the phase of the re-analysed signal."))
    """
    if not isinstance(exercise, Exercise):
        raise ConfigError(f"register() takes an Exercise, got {type(exercise).__name__}.")
    earlier = EXERCISES.get(exercise.name)
    if earlier is not None and earlier.notebook != exercise.notebook:
        raise ConfigError(f"exercise {exercise.name!r} of notebook {exercise.notebook} has the name of an exercise "
                          f"of notebook {earlier.notebook}: exercise names are global, pick another.")
    EXERCISES[exercise.name] = exercise
    return exercise


def _load_specs() -> None:
    for module in SPEC_MODULES:
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a notebook without a spec module yet
            if exc.name != module:
                raise


def get_exercise(name: str) -> Exercise:
    """Return the registered exercise ``name``; raise :class:`~voclab.errors.ConfigError` if unknown.

    The spec modules are imported first if ``name`` is not registered yet. The error
    lists the known names and suggests the closest one.
    """
    if name not in EXERCISES:
        _load_specs()
    if name in EXERCISES:
        return EXERCISES[name]
    known = sorted(EXERCISES)
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(known) if known else "(none registered)"
    raise ConfigError(f"voclab has no exercise named {name!r}.{guess} Known exercises: {listing}.")


# ======================================================================================
# results and the reference stand-in
# ======================================================================================


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`check_exercise`.

    Attributes
    ----------
    status : str
        ``"passed"``, ``"not done"``, ``"failed"`` or ``"error"`` (the check itself could
        not run: a bug in voclab, reported as such; the learner's function is used).
    message : str
        The verdict :func:`check` prints (one to three short lines).
    use : callable
        What later cells should use: the learner's function if it passed, else voclab's
        reference (a :class:`ReferenceFunction`, or the reference class itself).
    name : str
        The exercise name.
    case : int or None
        1-based number of the input that failed (or raised), else None.
    diagnosis : str
        The "what is wrong" part of a failure ("" otherwise).
    n_cases : int
        How many inputs the exercise has.
    """

    status: str
    message: str
    use: Callable
    name: str = ""
    case: int | None = None
    diagnosis: str = ""
    n_cases: int = 0


class ReferenceFunction:
    """voclab's reference implementation standing in for an unfinished exercise.

    Calls go straight to the reference; ``__name__`` and ``__doc__`` say what it is,
    ``inspect.signature`` shows the reference's signature, and instances pickle when the
    reference does (so they work with multiprocessing data loaders).
    """

    def __init__(self, exercise: Exercise):
        ref = exercise.reference
        self.__wrapped__ = ref
        self.exercise = exercise.name
        self.reference_name = exercise.reference_name
        self.__name__ = self.__qualname__ = f"voclab_reference_{exercise.name}"
        self.__module__ = getattr(ref, "__module__", __name__)
        self.__doc__ = (
            f"voclab's reference implementation of ``{exercise.name}`` ({exercise.reference_name}), "
            f"used in place of your own until it passes ``voclab.check({exercise.name!r}, ...)``.\n\n"
            + (inspect.getdoc(ref) or "")
        )

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<voclab's reference for {self.exercise}: {self.reference_name}>"


def _reference_for(exercise: Exercise) -> Callable:
    if isinstance(exercise.reference, type):
        return exercise.reference  # a class: returned as is, so isinstance/subclassing work
    return ReferenceFunction(exercise)


# ======================================================================================
# values: kinds, conversion, description
# ======================================================================================


def _torch():
    return sys.modules.get("torch")


def _is_tensor(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def _kind(x) -> str:
    if x is None:
        return "none"
    if _is_tensor(x):
        return "tensor"
    if isinstance(x, np.ndarray):
        return "array"
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return "scalar"
    if isinstance(x, (list, tuple)):
        return "sequence"
    if isinstance(x, Mapping):
        return "mapping"
    return "object"


_NUMERIC = ("tensor", "array", "scalar")


def _to_numpy(x) -> np.ndarray:
    if _is_tensor(x):
        t = x.detach().cpu()
        if t.is_complex():
            t = t.resolve_conj()
        if t.dtype == _torch().bfloat16:
            t = t.float()
        return t.numpy()
    return np.asarray(x)


def _describe(x) -> str:
    kind = _kind(x)
    if kind == "none":
        return "None"
    if kind == "tensor":
        return f"a torch tensor of shape {tuple(x.shape)}"
    if kind == "array":
        return f"a numpy array of shape {x.shape}"
    if kind == "sequence":
        return f"a {type(x).__name__} of {len(x)}"
    if isinstance(x, bool):
        return "a bool"
    if isinstance(x, (int, np.integer)):
        return "an int"
    if isinstance(x, (float, np.floating)):
        return "a float"
    if isinstance(x, (complex, np.complexfloating)):
        return "a complex number"
    return f"a {type(x).__name__}"


def _family(dtype: np.dtype) -> str:
    kind = np.dtype(dtype).kind
    return {"b": "bool", "i": "integer", "u": "integer", "f": "float", "c": "complex"}.get(kind, "other")


def _fmt(v: float) -> str:
    if isinstance(v, complex):
        return f"{v.real:.4g}{v.imag:+.4g}j"
    if v != 0 and abs(abs(v) - 1) < 0.01:
        return f"{v:.6g}"
    return f"{v:.4g}"


def _fmt_index(index: tuple) -> str:
    return str(index[0]) if len(index) == 1 else str(tuple(int(i) for i in index))


# ======================================================================================
# the diagnosis
# ======================================================================================


@dataclass
class _Context:
    compare: Compare
    sizes: tuple[int, ...] = ()

    @property
    def loose(self) -> float:
        """Relative (norm) error under which a diagnosis "explains" the output."""
        return max(10 * self.compare.rtol, 1e-3)


def _input_sizes(args: tuple, kwargs: Mapping, ref_out) -> tuple[int, ...]:
    sizes: set[int] = set()

    def visit(x, depth=0):
        if depth > 3:
            return
        kind = _kind(x)
        if kind in ("tensor", "array"):
            sizes.update(int(n) for n in x.shape if n > 1)
        elif kind == "scalar" and isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 1:
            sizes.add(int(x))
        elif kind == "sequence":
            for item in x:
                visit(item, depth + 1)
        elif kind == "mapping":
            for item in x.values():
                visit(item, depth + 1)

    for item in (*args, *kwargs.values()):
        visit(item)
    visit(ref_out)
    return tuple(sorted(sizes))


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (0 for two zero arrays)."""
    a = a.astype(np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64)
    b = b.astype(a.dtype)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)


def _close(out: np.ndarray, ref: np.ndarray, compare: Compare) -> bool:
    if out.shape != ref.shape:
        return False
    if out.dtype.kind == "b" or ref.dtype.kind == "b":
        return bool(np.array_equal(out, ref))
    try:
        return bool(np.allclose(out, ref, rtol=compare.rtol, atol=compare.atol, equal_nan=True))
    except TypeError:
        return bool(np.array_equal(out, ref))


def _shape_message(o: np.ndarray, r: np.ndarray) -> str:
    msg = f"shape {tuple(o.shape)} instead of {tuple(r.shape)}"
    if o.ndim == r.ndim:
        diffs = [i for i in range(o.ndim) if o.shape[i] != r.shape[i]]
        if o.ndim >= 2 and o.shape == r.shape[::-1]:
            return msg + " — transposed (the axes are in reverse order)"
        if len(diffs) == 1 and abs(o.shape[diffs[0]] - r.shape[diffs[0]]) == 1:
            axis = diffs[0]
            more = "one too many" if o.shape[axis] > r.shape[axis] else "one too few"
            return msg + f" — off by one along axis {axis} ({more}: check a length or padding formula)"
        if sorted(o.shape) == sorted(r.shape):
            return msg + " — the axes are in the wrong order (a transpose/permute missing or extra)"
        return msg
    if tuple(n for n in o.shape if n != 1) == tuple(n for n in r.shape if n != 1):
        if o.ndim > r.ndim:
            return msg + " — an extra axis of size 1 (squeeze it)"
        return msg + " — a missing axis of size 1 (add it with [None] / unsqueeze)"
    if o.size == r.size:
        return msg + " — the same number of values in another layout (a reshape or view is off)"
    return msg


def _dtype_message(o: np.ndarray, r: np.ndarray, ctx: _Context) -> str | None:
    fo, fr = _family(o.dtype), _family(r.dtype)
    if fo == fr:
        if ctx.compare.strict_dtype and o.dtype != r.dtype:
            return f"dtype {o.dtype} instead of {r.dtype} (this exercise needs the exact dtype)"
        return None
    if fr == "complex":
        msg = f"real values ({o.dtype}) where complex ones are expected"
        if o.shape == r.shape and _rel_err(o.astype(float), np.abs(r)) < ctx.loose:
            msg += " — it looks like the magnitude |·|: the phase was dropped"
        return msg
    if fo == "complex":
        if fr in ("float", "integer") and np.allclose(o.imag, 0, atol=ctx.compare.atol):
            return "complex dtype (with zero imaginary part) where real values are expected — take the real part"
        if o.shape == r.shape and _rel_err(np.abs(o), r.astype(float)) < ctx.loose:
            return "complex values where real ones are expected — their magnitude is right: take np.abs / .abs()"
        return f"complex values ({o.dtype}) where real ones are expected"
    if fr == "float" and fo in ("integer", "bool"):
        return (f"integer values ({o.dtype}) where floating-point ones are expected "
                "— from an integer division (//) or a cast to int")
    if fr == "integer" and fo == "float":
        return (f"floating-point values ({o.dtype}) where integers ({r.dtype}) are expected "
                "— round, then cast (.astype(np.int64) / .long())")
    if fr == "bool":
        return f"{o.dtype} values where booleans (a mask) are expected"
    return f"dtype {o.dtype} where {r.dtype} is expected"


def _nonfinite_message(o: np.ndarray, r: np.ndarray) -> str | None:
    if o.dtype.kind not in "fc":
        return None
    for test, label in ((np.isnan, "NaN"), (np.isinf, "Inf")):
        bad = test(o) & ~test(r) if r.dtype.kind in "fc" else test(o)
        if bad.any():
            first = _fmt_index(np.unravel_index(int(np.argmax(bad)), o.shape)) if o.ndim else "()"
            cause = "a log of 0" if label == "NaN" else "an overflow"
            return (f"the output contains {label} ({int(bad.sum())} of {o.size} values, first at index {first}) "
                    f"— look for a division by zero or {cause}")
    return None


def _normalisation_note(c: float, sizes: tuple[int, ...]) -> str:
    if not sizes or c == 0:
        return ""
    candidates = [(float(n), str(n)) for n in sizes] + [(math.sqrt(n), f"√{n}") for n in sizes]
    for value, label in candidates:
        if value <= 1:
            continue
        if abs(abs(c) - value) <= 1e-3 * value:
            return f" — looks like a missing normalisation (a division by {label}, from a size of the input)"
        if abs(abs(c) * value - 1) <= 1e-3:
            return f" — looks like an extra normalisation (divided by {label} once too often)"
    return ""


def _digits(value: float, difference: float) -> int:
    """Significant digits that show a difference of ``difference`` in a number of size ``value``."""
    if difference <= 0 or not math.isfinite(difference) or value == 0 or not math.isfinite(value):
        return 6
    return int(min(17, max(6, math.ceil(math.log10(abs(value) / difference)) + 2)))


def _tiny_difference_message(of: np.ndarray, rf: np.ndarray, ctx: _Context) -> str | None:
    """Values that agree to three decimals (or three significant digits) but not to the
    tolerance: a small eps, a clamp or a float32 step shifts the result slightly. Shown with
    enough digits to see the difference ("expected 0.1676, got 0.1676" explains nothing)."""
    err = np.abs(of - rf)
    flat = int(np.argmax(err))
    max_err = float(err.flat[flat])
    scale = float(np.abs(rf).max()) if rf.size else 0.0
    if not (max_err > 0 and scale > 0 and _rel_err(of, rf) < 1e-3):
        return None
    if max_err <= 5e-4:
        agree = "matches to 3 decimals"
    elif max_err <= 5e-4 * scale:
        agree = "matches to 3 significant digits"
    else:
        return None
    want, got = rf.flat[flat], of.flat[flat]
    if np.iscomplexobj(rf) or np.iscomplexobj(of):
        want, got = _fmt(complex(want)), _fmt(complex(got))
    else:
        digits = _digits(float(want), max_err)
        want, got = f"{float(want):.{digits}g}", f"{float(got):.{digits}g}"
    where = "" if of.size == 1 else f" at index {_fmt_index(np.unravel_index(flat, of.shape))}"
    offset = of - rf
    shift = ""
    if of.size > 1 and not np.iscomplexobj(offset) and float(np.ptp(offset)) <= 1e-3 * max_err:
        shift = f" (every value is off by {float(offset.mean()):+.3g})"
    tolerance = f"rtol {ctx.compare.rtol:g}, atol {ctx.compare.atol:g}"
    return (f"{agree} but not to the tolerance ({tolerance}): expected {want}, got {got}{where}{shift} "
            "— an eps/epsilon or clamp that shifts the result slightly? Use the exact formula")


def _value_message(o: np.ndarray, r: np.ndarray, ctx: _Context) -> str:
    """Explain why two arrays of the same shape and dtype family are not close."""
    loose = ctx.loose
    of = o.astype(np.complex128 if np.iscomplexobj(o) else np.float64)
    rf = r.astype(np.complex128 if np.iscomplexobj(r) else np.float64)
    finite = np.isfinite(rf).all() and np.isfinite(of).all()
    ref_norm2 = float(np.vdot(rf, rf).real) if finite else 0.0
    if finite and ref_norm2 > 0 and o.size == 1 and not np.iscomplexobj(rf) and not np.iscomplexobj(of):
        ratio = float(of.flat[0] / rf.flat[0])  # a single number: only clear-cut ratios are named
        if abs(ratio + 1) < 1e-3:
            return f"sign flipped: {_fmt(float(of.flat[0]))} instead of {_fmt(float(rf.flat[0]))}"
        note = _normalisation_note(ratio, ctx.sizes)
        if note:
            return f"wrong scale: the output ≈ {_fmt(ratio)} × the expected value" + note
    if finite and ref_norm2 > 0 and o.size > 1:
        c = complex(np.vdot(rf, of) / ref_norm2)
        if abs(c.imag) <= 1e-9 * max(abs(c), 1e-300):
            c = c.real
        if c != 0 and _rel_err(of, c * rf) < loose:
            if isinstance(c, float) and abs(c + 1) < 1e-3:
                return "sign flipped: the output ≈ −1 × the expected values"
            if isinstance(c, complex):
                if abs(abs(c) - 1) < 1e-3:
                    return (f"a constant phase offset of {cmath.phase(c):.3g} rad "
                            "(the output ≈ e^(iφ) × the expected values)")
                return f"wrong complex scale: the output ≈ ({_fmt(c)}) × the expected values"
            if abs(c - 1) >= 1e-3:
                return (f"wrong scale: the output ≈ {_fmt(c)} × the expected values"
                        + _normalisation_note(c, ctx.sizes))
    if finite and o.dtype.kind in "fc" and r.dtype.kind in "fc":
        # before the look-alikes below: a nearly right output also looks like its own
        # transpose, conjugate or shift when the expected values are symmetric, real or smooth
        found = _tiny_difference_message(of, rf, ctx)
        if found:
            return found
    if finite and np.iscomplexobj(rf) and _rel_err(of, np.conj(rf)) < loose:
        return "the complex conjugate of the expected values (the sign of the phase/imaginary part is flipped)"
    if finite and o.ndim >= 2 and o.shape[-1] == o.shape[-2] and _rel_err(of, np.swapaxes(rf, -1, -2)) < loose:
        return "transposed: the output ≈ the expected values with the last two axes swapped"
    if finite and o.ndim >= 1 and o.shape[-1] >= 4:
        n = o.shape[-1]
        for k in range(1, min(3, n - 3) + 1):
            if _rel_err(rf[..., k:], rf[..., :-k]) < 10 * loose:
                continue  # the expected signal looks the same shifted: no conclusion
            steps = "one sample" if k == 1 else f"{k} samples"
            if _rel_err(of[..., k:], rf[..., :-k]) < loose:
                return (f"shifted by {steps} along the last axis (the output is {k} step{'s' * (k > 1)} late) "
                        "— an off-by-one in an index, a slice or the padding")
            if _rel_err(of[..., :-k], rf[..., k:]) < loose:
                return (f"shifted by {steps} along the last axis (the output is {k} step{'s' * (k > 1)} early) "
                        "— an off-by-one in an index, a slice or the padding")
    if finite and o.size > 1:
        offset = of - rf
        mean = complex(offset.mean()) if np.iscomplexobj(offset) else float(offset.mean())
        spread = float(np.abs(offset - mean).max())
        if abs(mean) > ctx.compare.atol and spread <= ctx.compare.atol + ctx.compare.rtol * float(np.abs(rf).max()):
            one = " (off by one)" if abs(abs(mean) - 1) < 1e-6 else ""
            return f"a constant offset: the output ≈ the expected values {'+' if np.real(mean) >= 0 else '−'} {_fmt(abs(mean))}{one}"
    # the generic report
    err = np.abs(of - rf)
    err = np.where(np.isnan(err), np.inf, err)
    flat = int(np.argmax(err))
    index = np.unravel_index(flat, o.shape) if o.ndim else ()
    max_err = float(err.flat[flat])
    scale = float(np.nanmax(np.abs(rf))) if rf.size and np.isfinite(rf).any() else 0.0
    rel = max_err / scale if scale > 0 else float("inf")
    bad = ~np.isclose(of, rf, rtol=ctx.compare.rtol, atol=ctx.compare.atol, equal_nan=True)
    got, want = of.flat[flat], rf.flat[flat]
    got = _fmt(complex(got) if np.iscomplexobj(of) else float(got))
    want = _fmt(complex(want) if np.iscomplexobj(rf) else float(want))
    if o.size == 1:
        return f"values differ: abs error {max_err:.3g} (relative {rel:.3g}): expected {want}, got {got}"
    return (f"values differ: max abs error {max_err:.3g} (relative {rel:.3g}) at index {_fmt_index(index)}, "
            f"where {want} is expected and {got} was returned; {int(bad.sum())} of {o.size} values are off")


def _diagnose(out, ref, ctx: _Context, path: str) -> str | None:
    prefix = f"{path}: " if path else ""
    rk, ok = _kind(ref), _kind(out)
    if ok == "none" and rk != "none":
        return prefix + "returned None — the `return` statement is missing"
    if rk == "sequence" and ok in ("array", "tensor") and all(_kind(x) == "scalar" for x in ref):
        rk, ref = "array", np.asarray(ref)
    if rk == "sequence":
        n = len(ref)
        if ok != "sequence":
            return (prefix + f"returned 1 output ({_describe(out)}) where {n} are expected "
                    f"(return them as a {type(ref).__name__}: `return a, b`)")
        if len(out) != n:
            return prefix + f"returned {len(out)} outputs where {n} are expected"
        for i, (o, r) in enumerate(zip(out, ref)):
            found = _diagnose(o, r, ctx, f"{path or 'output'}[{i}]")
            if found:
                return found
        return None
    if rk == "mapping":
        if ok != "mapping":
            return prefix + f"returned {_describe(out)} where a dict is expected"
        if set(out) != set(ref):
            missing, extra = sorted(map(str, set(ref) - set(out))), sorted(map(str, set(out) - set(ref)))
            parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
            return prefix + "dict " + " and ".join(parts)
        for key in ref:
            found = _diagnose(out[key], ref[key], ctx, f"{path or 'output'}[{key!r}]")
            if found:
                return found
        return None
    if rk in _NUMERIC:
        if ok not in _NUMERIC:
            return prefix + f"returned {_describe(out)} where {_describe(ref)} is expected"
        if rk == "scalar" and _is_int(ref):
            # a count, a length, an index: a float there breaks range(), slicing and shapes later
            if isinstance(out, (float, np.floating)):
                return (prefix + f"returned the float {float(out)!r} where the int {int(ref)} is expected "
                        "— return an int (e.g. int(...) / math.floor), not a float")
            if ok == "tensor" and out.numel() == 1:
                return (prefix + f"returned {_describe(out)} where the int {int(ref)} is expected "
                        "— return a Python int (int(...) or .item())")
        if (rk == "tensor") != (ok == "tensor"):
            if rk == "tensor":
                return (prefix + f"returned {_describe(out)} where a torch tensor is expected "
                        "— stay in torch (torch functions, torch.from_numpy) so gradients and devices work")
            return (prefix + f"returned {_describe(out)} where {_describe(ref)} is expected "
                    "— convert with .detach().cpu().numpy()")
        o, r = _to_numpy(out), _to_numpy(ref)
        if o.shape != r.shape:
            return prefix + _shape_message(o, r)
        found = _dtype_message(o, r, ctx) or _nonfinite_message(o, r)
        if found:
            return prefix + found
        if _close(o, r, ctx.compare):
            return None
        if o.dtype.kind == "b" or r.dtype.kind == "b":
            wrong = int((o != r).sum())
            return prefix + f"{wrong} of {o.size} boolean values differ"
        return prefix + _value_message(o, r, ctx)
    # anything else: compare with ==
    if ok != rk and not (isinstance(out, type(ref)) or isinstance(ref, type(out))):
        return prefix + f"returned {_describe(out)} where {_describe(ref)} is expected"
    try:
        equal = out == ref
        equal = bool(np.all(equal)) if not isinstance(equal, bool) else equal
    except Exception:
        equal = out is ref
    if equal:
        return None
    return prefix + f"returned {_short_repr(out)} where {_short_repr(ref)} is expected"


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _short_repr(x, limit: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diagnose(out, ref, *, compare: Compare | None = None, sizes: Sequence[int] = ()) -> str | None:
    """Say what is wrong with ``out`` compared with the expected ``ref``, or None if they match.

    Works on numpy arrays, torch tensors, Python/numpy scalars and (nested) tuples, lists
    and dicts of these; anything else is compared with ``==``.

    Parameters
    ----------
    out : object
        What the learner's function returned.
    ref : object
        What the reference returned on the same input.
    compare : Compare, optional
        Tolerances (default :class:`Compare()`).
    sizes : sequence of int
        Sizes found in the input (lengths, ``n_fft``...): a scale factor equal to one of
        them, or to its square root, is reported as a normalisation problem.

    Returns
    -------
    message : str or None
        One line such as ``"shape (10, 4) instead of (10, 5) — off by one along axis 1 (one
        too few: ...)"``, ``"sign flipped: ..."``, ``"wrong scale: the output ≈ 512 × the
        expected values — looks like a missing normalisation ..."`` or ``"values differ: max
        abs error ... at index ..."``; prefixed with ``output[i]: `` inside a tuple.

    Examples
    --------
    >>> import numpy as np
    >>> diagnose(-np.arange(1.0, 4.0), np.arange(1.0, 4.0))
    'sign flipped: the output ≈ −1 × the expected values'
    >>> diagnose(np.ones(3), np.ones(3)) is None
    True
    """
    return _diagnose(out, ref, _Context(compare or Compare(), tuple(sizes)), "")


# ======================================================================================
# running a case
# ======================================================================================


@contextmanager
def _seeded(seed: int | None):
    if seed is None:
        yield
        return
    torch = _torch()
    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state = torch.random.get_rng_state() if torch is not None else None
    random.seed(seed)
    np.random.seed(seed)
    if torch is not None:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        _CLEANING[0] += 1  # a time limit running out here would leave the generators seeded
        try:
            random.setstate(py_state)
            np.random.set_state(np_state)
            if torch_state is not None:
                torch.random.set_rng_state(torch_state)
        finally:
            _CLEANING[0] -= 1


def _invoke(exercise: Exercise, fn: Callable, args: tuple, kwargs: dict):
    with _seeded(exercise.seed):
        if exercise.run is not None:
            return exercise.run(fn, *args, **kwargs)
        return fn(*args, **kwargs)


def _call(exercise: Exercise, fn: Callable, case: Case):
    """Call ``fn`` on deep copies of the case's arguments; return (output, args, kwargs) used."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(dict(case.kwargs))
    return _invoke(exercise, fn, args, kwargs), args, kwargs


# ======================================================================================
# the learner's code under watch: a time limit, the stop button, global settings
# ======================================================================================


class _TimedOut(BaseException):
    """Raised in the main thread (from SIGALRM) when the learner's code runs over its limit.

    A BaseException, so that the learner's own ``except Exception`` does not swallow it.
    """

    def __init__(self, watch: "_Watch"):
        super().__init__(f"over the time limit of {watch.seconds:g} s")
        self.watch = watch


class _Stopped(BaseException):
    """The learner's call ran over its time limit or tried to end the program: ``what`` says
    so (the "what is wrong" of a failed check), ``advice`` what to do (a line of its own)."""

    def __init__(self, what: str, advice: str = ""):
        super().__init__(what)
        self.what, self.advice = what, advice


#: The watches of the calls running now, outermost first (a learner's function may run a check).
_WATCHES: list["_Watch"] = []
#: Above 0 while the engine cleans up after the learner's code (see :func:`_quiet`).
_CLEANING = [0]
#: SIGALRM and SIGINT handlers from before the outermost watch, put back when it ends.
_BEFORE: dict[str, Any] = {}
#: After a time limit has run out, the alarm fires again this often (seconds) until the call
#: ends: the learner's code may have caught it once (a bare ``except:``).
_REPEAT = 0.25


def _timeout_for(exercise: Exercise, timeout: float | None) -> float | None:
    """The time limit of one call, in seconds, or None for none.

    The ``timeout`` argument wins, then the environment variable :data:`TIMEOUT_ENV`, then
    ``exercise.timeout``, then :data:`DEFAULT_TIMEOUT`; 0 or less (or infinity) means none.
    """
    if timeout is None:
        text = os.environ.get(TIMEOUT_ENV, "").strip()
        if text:
            try:
                timeout = float(text)
            except ValueError:
                raise ConfigError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds: set it to e.g. 120, "
                                  "or to 0 for no time limit.") from None
    if timeout is None:
        timeout = exercise.timeout if exercise.timeout is not None else DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout):
        raise ConfigError(f"The time limit of a check must be a number of seconds (0: none), got {timeout!r}.")
    return float(timeout) if 0 < timeout < math.inf else None


def _on_main_thread() -> bool:
    # signal handlers can only be set from the main thread, which also receives the signals
    return threading.current_thread() is threading.main_thread()


def _arm() -> None:
    """Set the timer for the nearest deadline of the timed watches (repeating, see _REPEAT)."""
    deadlines = [w.deadline for w in _WATCHES if w.deadline is not None]
    if deadlines:
        signal.setitimer(signal.ITIMER_REAL, max(min(deadlines) - time.monotonic(), 1e-3), _REPEAT)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _quiet(frame) -> bool:
    """True while the engine sets up or cleans up after the learner's code: an exception raised
    there would leave a timer, a handler or a setting behind, so the handlers only take note and
    the watch's exit reports it (or the repeating alarm fires again in the learner's code)."""
    return _CLEANING[0] > 0 or (frame is not None and frame.f_code in _QUIET_CODE)


def _on_alarm(signum, frame) -> None:
    now = time.monotonic()
    due = [w for w in _WATCHES if w.deadline is not None and w.deadline <= now + 1e-3]
    if not due:  # early (a timer of the outer watch, re-armed): wait for the nearest deadline
        _arm()
        return
    for w in due:
        w.expired = True
    if not _quiet(frame):
        raise _TimedOut(due[0])  # the outermost watch that ran over: its check reports it


def _on_interrupt(signum, frame) -> None:
    # a SIGINT (Jupyter's stop button, Ctrl-C) arrived while the learner's code ran: every
    # watch remembers it, so that the KeyboardInterrupt it becomes is passed on, not judged
    for w in _WATCHES:
        w.interrupted = True
    if _quiet(frame):
        return  # the watch's exit raises it once it has cleaned up
    _BEFORE["int"](signum, frame)  # Python's (and ipykernel's) raises KeyboardInterrupt
    for w in _WATCHES:  # this one chose not to interrupt
        w.interrupted = False


def _settings() -> list[tuple[str, Callable, Callable, Callable]]:
    """The global settings a learner's function must not change: (name, get, set, show)."""
    items: list[tuple[str, Callable, Callable, Callable]] = [
        ("numpy's error handling (np.seterr)", np.geterr, lambda v: np.seterr(**v),
         lambda v: ", ".join(f"{k}={v[k]}" for k in sorted(v))),
    ]
    torch = _torch()
    if torch is not None:
        items += [
            ("torch's default dtype (torch.set_default_dtype)", torch.get_default_dtype,
             torch.set_default_dtype, lambda v: str(v).replace("torch.", "")),
            ("gradient mode (torch.set_grad_enabled)", torch.is_grad_enabled, torch.set_grad_enabled,
             lambda v: "on" if v else "off"),
            ("torch's number of threads (torch.set_num_threads)", torch.get_num_threads,
             torch.set_num_threads, str),
        ]
        if hasattr(torch, "get_default_device"):
            items.append(("torch's default device (torch.set_default_device)", torch.get_default_device,
                          torch.set_default_device, str))
    return items


class _Watch:
    """One call of the learner's code: under a time limit, watching for the stop button, with
    the global settings it changes put back.

    ``with _Watch(seconds, changed):`` around the call. On the main thread of a system with
    ``signal.setitimer`` (Linux, macOS) a SIGALRM raises :class:`_TimedOut` in the learner's
    code after ``seconds``; Python code is stopped at once, a long C call (one torch op) when
    it returns. Elsewhere (Windows, a thread, a timer someone else has set) the call runs
    without a limit, silently. Watches nest (a check inside a learner's function): one timer
    serves the nearest deadline. ``changed`` collects ``{setting: "before → after"}``.
    """

    def __init__(self, seconds: float | None, changed: dict[str, str]):
        self.seconds, self.changed = seconds, changed
        self.deadline: float | None = None
        self.expired = self.interrupted = False

    def __enter__(self) -> "_Watch":
        self.saved = [(name, get(), get, set_, show) for name, get, set_, show in _settings()]
        if not _on_main_thread():
            return self
        outermost = not _WATCHES
        if outermost:
            _BEFORE.clear()
            interrupt = signal.getsignal(signal.SIGINT)
            if callable(interrupt):  # SIG_IGN / SIG_DFL: no SIGINT can become a KeyboardInterrupt
                _BEFORE["int"] = interrupt
                signal.signal(signal.SIGINT, _on_interrupt)
            # someone else's timer (pytest-timeout, the learner's own alarm) is left alone: no limit
            if hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
                _BEFORE["alarm"] = signal.signal(signal.SIGALRM, _on_alarm)
        _WATCHES.append(self)
        if self.seconds is not None and "alarm" in _BEFORE:
            self.deadline = time.monotonic() + self.seconds
            _arm()
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        _CLEANING[0] += 1  # from here on the handlers only take note (see _quiet)
        try:
            if self in _WATCHES:
                _WATCHES.remove(self)
                if "alarm" in _BEFORE:
                    _arm()  # the outer watches' deadline, or off
                if not _WATCHES:
                    if "alarm" in _BEFORE:
                        signal.signal(signal.SIGALRM, _BEFORE["alarm"])
                    if "int" in _BEFORE:
                        signal.signal(signal.SIGINT, _BEFORE["int"])
                    _BEFORE.clear()
            for name, before, get, set_, show in self.saved:
                try:
                    now = get()
                    if now != before:
                        set_(before)
                        if isinstance(now, dict):  # np.geterr(): only the entries that changed
                            before = {k: v for k, v in before.items() if now.get(k) != v}
                            now = {k: now[k] for k in before if k in now}
                        self.changed.setdefault(name, f"{show(before)} → {show(now)}")
                except Exception:  # a setting that cannot be read or set back: leave it
                    pass
        finally:
            _CLEANING[0] -= 1
        if self.interrupted:  # the user pressed stop: pass it on (even if the learner's code caught it)
            if isinstance(exc, KeyboardInterrupt):
                return False
            raise KeyboardInterrupt
        if isinstance(exc, _TimedOut) and exc.watch is not self:
            return False  # an outer watch ran over: its check reports it
        if self.expired and not isinstance(exc, _TimedOut):
            raise _TimedOut(self)  # the learner's code caught it, or it fired during clean-up
        return False


#: The code run while a watch is set up or cleaned up, where the handlers must not raise
#: (the first lines of __exit__ run before _CLEANING goes up).
_QUIET_CODE = frozenset({_Watch.__enter__.__code__, _Watch.__exit__.__code__, _arm.__code__,
                         _settings.__code__, _seeded.__wrapped__.__code__})


def _watched(seconds: float | None, changed: dict[str, str], fn: Callable, call: Callable, *args):
    """``call(*args)`` (which runs the learner's ``fn``) under a :class:`_Watch`.

    Raises :class:`_Stopped` when the call ran over ``seconds`` or raised ``SystemExit``
    or a ``KeyboardInterrupt`` of its own; a KeyboardInterrupt from a SIGINT is passed on.
    """
    watch = _Watch(seconds, changed)
    try:
        with watch:
            return call(*args)
    except _TimedOut as exc:
        if exc.watch is not watch:
            raise
        raise _Stopped(
            f"your function took longer than {seconds:g} s and was stopped{_where(exc, fn, ' (at ')}",
            "Likely an infinite loop (a `while` whose condition never turns false, an index never updated) "
            "or far too slow (a Python loop over every sample where one array operation would do). "
            f"If it is only slow, allow more time: os.environ[\"{TIMEOUT_ENV}\"] = \"120\" (seconds).") from None
    except SystemExit as exc:
        where = _where(exc, fn)  # the line shows the call; without it, say what it was given
        given = f" (with {exc.code!r})" if exc.code is not None and not where else ""
        raise _Stopped(
            f"your function called sys.exit(){given}{where}",
            "That ends the whole program: give back the result with `return`, and report a problem "
            "by raising an exception such as ValueError.") from None
    except KeyboardInterrupt as exc:
        # Told apart by where it comes from: a SIGINT that arrived during the call (the stop
        # button, Ctrl-C) marks the watch, and that KeyboardInterrupt stops the whole check
        # as the user asked (check() says so, and a "run all" stops). One raised by the
        # learner's code itself (`raise KeyboardInterrupt`) fails the check like any other
        # exception. Where no SIGINT can be seen (a thread, SIGINT ignored) all count as the latter.
        if watch.interrupted:
            raise
        raise _Stopped(
            f"your function raised KeyboardInterrupt{_where(exc, fn)}",
            "That exception means someone pressed stop: report a problem by raising an exception "
            "such as ValueError.") from None


# ======================================================================================
# gradients of loss exercises
# ======================================================================================

_CUT = ("the loss is cut from the graph — a `.detach()`, `.item()`, a numpy round trip or `torch.no_grad()`; "
        "compute it with torch operations on the tensors you were given")
_CONSTANT = "it is a constant target here: detach it (`.detach()`), so the loss does not train what produced it"


def _as_leaves(value, path: str, leaves: list):
    """``value`` with each floating-point tensor in it (nested lists, tuples, dicts) replaced by
    a fresh leaf that requires grad; ``(path, leaf)`` pairs are appended to ``leaves``."""
    if _is_tensor(value) and value.is_floating_point():
        leaf = value.detach().clone().requires_grad_(True)
        leaves.append((path, leaf))
        return leaf
    if isinstance(value, (list, tuple)):
        items = [_as_leaves(item, f"{path}[{i}]", leaves) for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        return {key: _as_leaves(item, f"{path}[{key!r}]", leaves) for key, item in value.items()}
    return value


def _gradients(exercise: Exercise, fn: Callable, case: Case):
    """Backpropagate ``fn``'s output with the differentiable arguments made leaves that require grad.

    Returns ``{argument: [(path, grad or None), ...]}``, or None when the output does not
    require grad at all (nothing to backpropagate: the graph is cut). Outputs that are not
    scalars are summed first.
    """
    args, kwargs = list(copy.deepcopy(case.args)), copy.deepcopy(dict(case.kwargs))
    names = list(inspect.signature(exercise.reference).parameters)
    leaves: dict[str, list] = {}
    for item in exercise.differentiable:
        found: list = []
        index = names.index(item.argument)
        if item.argument in kwargs:
            kwargs[item.argument] = _as_leaves(kwargs[item.argument], item.argument, found)
        elif index < len(args):
            args[index] = _as_leaves(args[index], item.argument, found)
        leaves[item.argument] = found  # an argument left at its default has no leaves
    out = _invoke(exercise, fn, tuple(args), kwargs)
    if not (_is_tensor(out) and out.requires_grad):
        return None
    out.sum().backward()
    return {name: [(path, leaf.grad) for path, leaf in found] for name, found in leaves.items()}


def _flows(grad) -> bool:
    return grad is not None and bool((grad != 0).any())


def _gradient_difference(grad, expected, compare: Compare) -> str | None:
    """Say how a gradient differs from the reference's (with :func:`diagnose`), or None."""
    o, r = _to_numpy(grad), _to_numpy(expected)
    if _close(o, r, compare):
        return None
    stopped = (o == 0) & (r != 0)
    if stopped.any() and _close(o[~stopped], r[~stopped], compare):
        return (f"your gradient is zero at {int(stopped.sum())} of {o.size} values where the reference's is not "
                "— a clamp, a mask, a comparison or a rounding stops it there")
    return diagnose(o, r, compare=compare).replace("the output", "your gradient")


def _labels(exercise: Exercise, fn: Callable) -> dict[str, str]:
    """How the learner calls each differentiable argument: the name at the same position in
    their own signature (the reference's name when that cannot be read)."""
    names = list(inspect.signature(exercise.reference).parameters)
    try:
        mine = [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        mine = []
    labels = {}
    for item in exercise.differentiable:
        index = names.index(item.argument)
        labels[item.argument] = mine[index] if index < len(mine) else item.argument
    return labels


def _gradient_message(exercise: Exercise, fn: Callable, grads, expected: dict) -> str | None:
    """Compare the learner's gradients (None: the output does not require grad) with the reference's.

    A gradient missing where the reference's flows is reported first, then one flowing
    where the reference's does not, then gradients with other values; arguments are named
    as in the learner's signature.
    """
    labels = _labels(exercise, fn)
    reached = [item.argument for item in exercise.differentiable
               if any(_flows(g) for _, g in expected[item.argument])]
    if grads is None:
        if not reached:
            return None
        return f"no gradient reaches {' or '.join(f'`{labels[name]}`' for name in reached)}: {_CUT}"

    def triples(item):  # (where, learner's gradient, reference's gradient) per leaf
        return [(labels[item.argument] + path[len(item.argument):], g, r)
                for (path, g), (_, r) in zip(grads[item.argument], expected[item.argument])]

    def where(item, wrong, of):  # the whole argument, one item of it, or the first of several
        if len(wrong) == len(of) and len(of) > 1:
            return f"`{labels[item.argument]}`"
        return f"`{wrong[0][0]}`" + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else "")

    for item in exercise.differentiable:
        should = [t for t in triples(item) if _flows(t[2])]
        missing = [t for t in should if not _flows(t[1])]
        if missing:
            return f"no gradient reaches {where(item, missing, should)}: {item.missing or _CUT}"
    for item in exercise.differentiable:
        flowing = [t for t in triples(item) if _flows(t[1])]
        extra = [t for t in flowing if t[2] is None]
        if extra:
            return (f"a gradient reaches {where(item, extra, flowing)}, which voclab's reference treats as a "
                    f"constant: {item.unexpected or _CONSTANT}")
    for item in exercise.differentiable:
        for where, g, r in triples(item):
            found = None if g is None or r is None else _gradient_difference(g, r, exercise.compare)
            if found:
                return f"the value is right, but its gradient with respect to `{where}` is not: {found}"
    return None


def _gradient_exception(exc: BaseException, fn: Callable) -> str:
    what = _exception_summary(exc, fn) + " when its tensor inputs require grad, as in training"
    if "numpy" in str(exc):
        what += " — a numpy round trip cuts the loss from the graph: compute it with torch operations"
    return what


def _is_zero(value) -> bool:
    return _kind(value) in _NUMERIC and not np.any(_to_numpy(value))


def _same_value(a, b) -> bool:
    try:
        x, y = _to_numpy(a), _to_numpy(b)
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "fc":
            return bool(np.array_equal(x, y, equal_nan=True))
        return bool(np.array_equal(x, y))
    except Exception:
        return True  # cannot tell: do not accuse


def _module_changed(before, after) -> str | None:
    """How the copy ``after`` of the module ``before`` was changed in place, or None."""
    import torch

    if not isinstance(before, torch.nn.Module):
        return None
    if not isinstance(after, torch.nn.Module):
        return "it was replaced"
    old, new = before.state_dict(), after.state_dict()
    for key, value in old.items():
        if key not in new:
            return f"its {key} is gone"
        if new[key].dtype != value.dtype:
            return f"its weights are now {str(new[key].dtype).replace('torch.', '')}, not " \
                   f"{str(value.dtype).replace('torch.', '')}"
        if new[key].shape != value.shape or not torch.equal(new[key].cpu(), value.cpu()):
            return f"its {key} changed"
    return None


def _mutated(case: Case, args: tuple, kwargs: dict) -> list[int | str]:
    changed: list[int | str] = []
    for i, (before, after) in enumerate(zip(case.args, args)):
        if (_kind(before) in ("array", "tensor") and not _same_value(before, after)) or _module_changed(before, after):
            changed.append(i)
    for key, before in case.kwargs.items():
        after = kwargs.get(key)
        if (_kind(before) in ("array", "tensor") and not _same_value(before, after)) or _module_changed(before, after):
            changed.append(key)
    return changed


def _mutation_message(exercise: Exercise, case: Case, args: tuple, kwargs: dict, which: list[int | str]) -> str:
    names = _argument_names(exercise, case, which)
    for item in which:
        before = case.args[item] if isinstance(item, int) else case.kwargs[item]
        after = args[item] if isinstance(item, int) else kwargs.get(item)
        how = _module_changed(before, after)
        if how:
            return (f"right output, but your function changed the module it was given ({names}) in place: {how}. "
                    "Methods like .double(), .to() and .float() convert the module itself, so the caller's model "
                    "changes too — work on a copy: copy.deepcopy(module).double()")
    return f"right output, but your function changed its input {names} in place — work on a copy"


def _argument_names(exercise: Exercise, case: Case, which: list[int | str]) -> str:
    try:
        params = list(inspect.signature(exercise.reference).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for item in which:
        if isinstance(item, int):
            names.append(f"`{params[item]}`" if item < len(params) else f"argument {item + 1}")
        else:
            names.append(f"`{item}`")
    return " and ".join(names)


def _exception_summary(exc: BaseException, fn: Callable) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    if len(detail) > 160:
        detail = detail[:159] + "…"
    summary = f"raised {type(exc).__name__}" + (f": {detail}" if detail else "")
    return summary + _where(exc, fn)


def _where(exc: BaseException, fn: Callable, opening: str = " (") -> str:
    """``" (line 3: `while True:`)"``: the last line of the learner's file (the one that defines
    ``fn``, a function or a class) that the traceback of ``exc`` passes through; "" if none."""
    functions = [fn, getattr(fn, "__func__", None)]
    if isinstance(fn, type):  # a module exercise: the file of its own methods
        functions += [v for c in fn.__mro__ if c.__module__ == fn.__module__ for v in vars(c).values()]
    files = {f.__code__.co_filename for f in functions if hasattr(f, "__code__")}
    tb, where = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in files:
            where = (tb.tb_lineno, tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    if not where:
        return ""
    line = linecache.getline(where[1], where[0]).strip()
    return f"{opening}line {where[0]}" + (f": `{line}`" if line else "") + ")"


# ======================================================================================
# module exercises: the learner's module with voclab's weights
# ======================================================================================

#: At most this many pairings of equal layers on parallel branches are tried (see load_weights_by_use).
PERMUTATION_LIMIT = 24


def build_alike(build: Callable, reference: Callable, *args, **kwargs):
    """Build the learner's module and voclab's from the same random state.

    voclab's is built first, inside :func:`torch.random.fork_rng`, so the learner's is
    then built from the very state voclab's saw: where :func:`load_weights_by_use` cannot
    pair the two, they still have today's seeded weights, which agree when the layers are
    created in the same order.

    Parameters
    ----------
    build : callable
        The learner's class (or function returning a module).
    reference : callable
        voclab's class (or function) with the same signature.
    *args, **kwargs
        The constructor's arguments.

    Returns
    -------
    module, expected : torch.nn.Module
        The learner's module and voclab's.

    Notes
    -----
    The ``run`` of every module exercise (notebooks 02, 03, 06, 07) starts with it.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        expected = reference(*args, **kwargs)
    return build(*args, **kwargs), expected


def _tensors_by_role(module) -> dict[tuple[str, str], Any]:
    """The parameters and persistent buffers ``module`` owns directly, keyed ``(kind, role)``.

    Parametrized tensors are keyed as the old-style hooks name them, so that either API
    pairs with the other: weight norm's ``parametrizations.weight.original0/original1`` are
    ``weight_g``/``weight_v``, spectral norm's ``original`` is ``weight_orig`` and its
    power-iteration vectors ``_u``/``_v`` are the buffers ``weight_u``/``weight_v``.
    """
    from torch.nn.utils import parametrize

    transient = getattr(module, "_non_persistent_buffers_set", set())
    found = {("parameter", n): t for n, t in module.named_parameters(recurse=False)}
    found.update({("buffer", n): t for n, t in module.named_buffers(recurse=False) if n not in transient})
    if parametrize.is_parametrized(module):
        for name, chain in module.parametrizations.items():
            norm = type(chain[0]).__name__ == "_WeightNorm"
            for kind, items in (("parameter", chain.named_parameters(recurse=False)),
                                ("buffer", chain.named_buffers(recurse=False))):
                for n, t in items:
                    if norm:
                        role = {"original0": f"{name}_g", "original1": f"{name}_v"}[n]
                    else:
                        role = n.replace("original", f"{name}_orig")
                    found[(kind, role)] = t
            for i, step in enumerate(chain):
                for n, t in step.named_buffers():
                    found[("buffer", f"{name}_{i if i else ''}{n.lstrip('_')}")] = t
    return found


def _owners(module) -> list:
    """``(module, tensors by role)`` for every sub-module that owns tensors directly, in
    registration order; a parametrization's own modules belong to the module they parametrize."""
    from torch.nn.utils import parametrize

    inside = {id(m) for top in module.modules() if parametrize.is_parametrized(top)
              for m in top.parametrizations.modules()}
    owners = []
    for m in module.modules():
        tensors = {} if id(m) in inside else _tensors_by_role(m)
        if tensors:
            owners.append((m, tensors))
    return owners


def _signature(tensors: dict) -> tuple:
    return tuple(sorted((kind, role, tuple(t.shape)) for (kind, role), t in tensors.items()))


def _flat_tensors(value) -> list:
    if _is_tensor(value):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _flat_tensors(item)]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in _flat_tensors(item)]
    return []


def _fingerprint(args) -> tuple:
    """What a layer was fed, small enough to keep for every layer of a generator: per tensor
    its shape, its norm and at most 64 values spread over it."""
    prints = []
    for t in _flat_tensors(args):
        flat = t.detach().flatten().double()
        prints.append((tuple(t.shape), float(flat.norm()), flat[:: max(1, flat.numel() // 64)][:64].clone()))
    return tuple(prints)


def _same_input(a, b) -> bool:
    """Whether two fingerprints show the same input, up to float32 rounding (unused layers: never)."""
    if a is None or b is None or len(a) != len(b):
        return False
    return all(sa == sb and math.isclose(na, nb, rel_tol=1e-3, abs_tol=1e-5)
               and bool(np.allclose(va.numpy(), vb.numpy(), rtol=1e-3, atol=1e-5))
               for (sa, na, va), (sb, nb, vb) in zip(a, b))


def _run_recording(module, owners: list, inputs: tuple, on_first_use=None):
    """Run ``module(*inputs)`` without gradients, with a forward pre-hook on every owner.

    Returns the output and ``{id(owner): fingerprint of its first input}`` in order of
    first use. ``on_first_use(owner, fingerprint)`` runs before the owner's first forward
    (before weight norm's own hook, so that weights it sets are the ones used).
    """
    import torch

    seen: dict[int, tuple] = {}

    def hook(m, args):
        if id(m) not in seen:
            seen[id(m)] = _fingerprint(args)
            if on_first_use is not None:
                on_first_use(m, seen[id(m)])

    handles = [m.register_forward_pre_hook(hook, prepend=True) for m, _ in owners]
    try:
        with torch.no_grad():
            out = module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return out, seen


def _copy(pairs, values: dict) -> None:
    """For each ``(tensors by role, source)`` pair, copy ``values[id(source)]`` into the tensors, role by role."""
    import torch

    with torch.no_grad():
        for mine, theirs in pairs:
            for role, t in mine.items():
                t.copy_(values[id(theirs)][role])


def _output_error(out, expected) -> float:
    """The largest relative (norm) error between the tensors of two outputs (inf if they do not fit)."""
    a, b = _flat_tensors(out), _flat_tensors(expected)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return math.inf
    return max((_rel_err(_to_numpy(x), _to_numpy(y)) for x, y in zip(a, b)), default=0.0)


def load_weights_by_use(module, reference, *inputs) -> str | None:
    """Give ``module`` the weights of ``reference``, matching layers by name or else by use.

    A learner's module computes the right thing when, with the reference's weights, it
    gives the reference's output -- whatever the order in which it created its layers and
    whatever it named them. This finds which layer of ``module`` plays the part of which
    layer of ``reference`` and copies the weights (parameters and buffers):

    1. if the state-dict keys and shapes are the reference's, by name (``load_state_dict``);
    2. otherwise by use: both run on ``inputs`` with a forward pre-hook on every sub-module
       that owns tensors directly (a weight-normed or spectral-normed conv counts as one,
       whichever API made it). voclab's layers are listed in the order of their first use;
       when a layer of ``module`` is first used, it is paired with the first unpaired layer
       of the reference with the same tensors (roles and shapes) -- preferring one that was
       fed the same input -- and given its weights before it runs. So the layers before it
       already compute the reference's values, and a layer on a parallel branch
       (``block(x) + shortcut(x)`` against ``shortcut(x) + block(x)``) finds its partner by
       what it is fed. Layers of the reference with the same tensors that are fed the same
       input (two 1×1 convs reading one tensor) cannot be told apart that way: their
       pairings are permuted (at most :data:`PERMUTATION_LIMIT` tries) and the one whose
       output is closest to the reference's is kept;
    3. if the two cannot be paired (another number of layers, other shapes, a weight norm
       missing on one side) or ``module`` fails on ``inputs``, it is left as it was.

    Parameters
    ----------
    module : torch.nn.Module
        The learner's module; its tensors are overwritten in place.
    reference : torch.nn.Module
        voclab's module, built with the same arguments. It is run but left as it was:
        buffers its forward updates (spectral norm's power iteration, batch statistics)
        are put back, and the tensors copied are the ones it had before.
    *inputs
        The arguments of ``forward`` (tensors, or None where the forward accepts it).

    Returns
    -------
    how : str or None
        ``"names"``, ``"use"``, or None when ``module`` was left as it was.

    Notes
    -----
    Every module exercise (notebooks 02, 03, 06, 07) runs the learner's module after this,
    so a listed mistake that keeps the layers (a wrong slope, padding or dilation) is
    judged with the reference's weights, and one that changes them (a missing weight norm
    or layer) with the seeded weights of :func:`build_alike`, where the parameter count
    shows it. Notebook 07 also uses it to give the learner's HiFi-GAN generator V1's weights.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> class Mine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.second, self.first = nn.Linear(3, 3), nn.Linear(2, 3)
    ...     def forward(self, x):
    ...         return self.second(torch.tanh(self.first(x)))
    >>> reference = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3))
    >>> mine, x = Mine(), torch.randn(4, 2)
    >>> load_weights_by_use(mine, reference, x)
    'use'
    >>> torch.equal(mine(x), reference(x))
    True
    """
    theirs, mine = reference.state_dict(), module.state_dict()
    if theirs.keys() == mine.keys() and all(theirs[k].shape == mine[k].shape for k in theirs):
        module.load_state_dict(theirs)
        return "names"
    my_owners, their_owners = _owners(module), _owners(reference)
    signature = {id(m): _signature(t) for m, t in my_owners + their_owners}
    if Counter(signature[id(m)] for m, _ in my_owners) != Counter(signature[id(m)] for m, _ in their_owners):
        return None
    values = {id(m): {role: t.detach().clone() for role, t in tensors.items()} for m, tensors in their_owners}
    before = {id(m): {role: t.detach().clone() for role, t in tensors.items()} for m, tensors in my_owners}
    expected, fed = _run_recording(reference, their_owners, inputs)
    _copy([(tensors, m) for m, tensors in their_owners], values)  # buffers its forward updated
    order = list(fed)
    ranked = sorted(their_owners, key=lambda o: order.index(id(o[0])) if id(o[0]) in fed else len(order))
    free = [m for m, _ in ranked]
    tensors_of = {id(m): t for m, t in my_owners + their_owners}
    partner: dict[int, Any] = {}

    def pair(m, fingerprint):
        candidates = [r for r in free if signature[id(r)] == signature[id(m)]]
        same = [r for r in candidates if _same_input(fingerprint, fed.get(id(r)))]
        partner[id(m)] = (same or candidates)[0]
        free.remove(partner[id(m)])
        _copy([(tensors_of[id(m)], partner[id(m)])], values)

    try:
        _run_recording(module, my_owners, inputs, on_first_use=pair)
    except Exception:  # the learner's forward fails: its own run will say why
        _copy([(tensors, m) for m, tensors in my_owners], before)
        return None
    for m, _ in my_owners:
        if id(m) not in partner:  # never called (its tensors used directly, or not at all)
            pair(m, None)

    def load(assignment):  # again after the run: a forward may have changed buffers
        _copy([(tensors_of[id(m)], assignment[id(m)]) for m, _ in my_owners], values)

    load(partner)
    groups = _fed_alike(ranked, fed, signature)
    if groups:  # layers the inputs cannot tell apart: keep the pairing closest to the reference's output
        mine_of = {id(partner[id(m)]): m for m, _ in my_owners}
        best, best_error = partner, math.inf
        for choice in itertools.islice(itertools.product(*map(itertools.permutations, groups)), PERMUTATION_LIMIT):
            assignment = dict(partner)
            for group, permuted in zip(groups, choice):
                for r, new in zip(group, permuted):
                    assignment[id(mine_of[id(r)])] = new
            load(assignment)
            error = _output_error(_run_recording(module, [], inputs)[0], expected)
            if error < best_error:
                best, best_error = assignment, error
            if error <= 1e-5:
                break
        load(best)
    return "use"


def _fed_alike(ranked: list, fed: dict, signature: dict) -> list[list]:
    """Groups (of two or more) of reference layers with the same tensors that were fed the same
    input, or were both never called: a pairing by use cannot tell them apart."""
    groups: list[list] = []
    for r, _ in ranked:
        for group in groups:
            a, b = fed.get(id(group[0])), fed.get(id(r))
            if signature[id(group[0])] == signature[id(r)] and ((a is None and b is None) or _same_input(a, b)):
                group.append(r)
                break
        else:
            groups.append([r])
    return [group for group in groups if len(group) > 1]


# ======================================================================================
# the learner's notebook: the stub, earlier exercises, the modules it builds, its work
# ======================================================================================

#: The message of the learner notebook's stub (tools/make_learner_notebooks.py): "Exercise
#: ConditionUpsampler.forward: your code here", the older "Exercise forward: ..." or a bare
#: "Exercise: ...", and the older ending "replace this line with your code" (notebooks made before).
_STUB_MESSAGE = re.compile(r"Exercise(?: [^\n]*)?: (?:your code here|replace this line with your code)")


def is_stub(exc: BaseException) -> bool:
    """Whether ``exc`` is the stub of a learner notebook: ``NotImplementedError("Exercise <name>:
    your code here")`` (or the older ``"...: replace this line with your code"``).

    Only that means "not done yet": a ``NotImplementedError`` of PyTorch's own
    (``F.pad(x, ..., mode="reflect")`` on a shape it does not support) or a bare one is a
    failure like any other exception, with its message.

    Notebook: every exercise notebook (01-07).
    """
    return isinstance(exc, NotImplementedError) and bool(_STUB_MESSAGE.fullmatch(str(exc).strip()))


def _earlier_exercises(exercise: Exercise) -> list[Exercise]:
    """The function exercises registered before ``exercise`` for the same notebook (the
    notebook's order). Classes are left out: a learner's module passes with voclab's weights,
    and later code may use its own attribute names."""
    same = [e for e in EXERCISES.values() if e.notebook == exercise.notebook]
    position = next((i for i, e in enumerate(same) if e is exercise), len(same))
    return [e for e in same[:position] if not isinstance(e.reference, type)]


def _namespaces(fn: Callable) -> list[dict]:
    """The global namespaces ``fn``'s own code looks names up in (a notebook's): of the function
    under its decorators (``inspect.unwrap``: not the decorator library's), of a
    ``functools.partial``'s or bound method's function, of a class's own methods. voclab's
    modules are left out: their names are voclab's already."""
    found: dict[int, dict] = {}

    def visit(f, depth=0):
        if f is None or depth > 8:
            return
        if isinstance(f, functools.partial):
            visit(f.func, depth + 1)
        elif isinstance(f, (staticmethod, classmethod)) or inspect.ismethod(f):
            visit(f.__func__, depth + 1)
        elif isinstance(f, type):
            for c in f.__mro__:
                if c.__module__ == f.__module__:
                    for v in vars(c).values():
                        if inspect.isfunction(v) or isinstance(v, (staticmethod, classmethod)):
                            visit(v, depth + 1)
        else:
            try:
                f = inspect.unwrap(f)
            except ValueError:  # a cycle of __wrapped__
                pass
            g = getattr(f, "__globals__", None)
            if isinstance(g, dict) and not str(g.get("__name__", "")).startswith("voclab"):
                found[id(g)] = g

    visit(fn)
    return list(found.values())


@contextmanager
def _earlier_references(exercise: Exercise, fn: Callable):
    """While ``fn`` is checked, voclab's references stand in its namespace for the learner's own
    functions of the notebook's earlier exercises.

    A learner's correct answer must never fail because of an earlier correct answer:
    ``generate_cached`` calls the learner's ``sample_categorical``, which passed exercise 5
    with another valid sampler (Gumbel-max draws other numbers than ``torch.multinomial``),
    and the samples would then differ from the reference's. The names are set in the
    namespace itself -- not in a copy of the function -- so decorators (``@torch.no_grad()``)
    and the learner's helpers that call them see the references too; they are put back
    afterwards, whatever happens. Only callables are replaced, and only where the name holds
    something other than voclab's reference already.
    """
    saved: list[tuple[dict, str, Any]] = []
    earlier = _earlier_exercises(exercise)
    if earlier:
        for namespace in _namespaces(fn):
            for other in earlier:
                value = namespace.get(other.name)
                if value is None or not callable(value) or isinstance(value, (type, ReferenceFunction)):
                    continue
                if value is other.reference:
                    continue
                saved.append((namespace, other.name, value))
                namespace[other.name] = _reference_for(other)
    try:
        yield
    finally:
        _CLEANING[0] += 1  # a time limit running out here would leave voclab's functions behind
        try:
            for namespace, name, value in reversed(saved):
                namespace[name] = value
        finally:
            _CLEANING[0] -= 1


@contextmanager
def _instances_of(fn: Callable, found: list):
    """Append to ``found`` every instance of the learner's module class ``fn`` built meanwhile.

    The check looks at the modules after the run (their layers, their parameters: see
    :func:`_unregistered_layers`); the spec's ``run`` builds and drops them. ``fn.__init__``
    is wrapped for the time of the call and put back after; anything but an ``nn.Module``
    class is left alone.
    """
    torch = _torch()
    if torch is None or not isinstance(fn, type) or not issubclass(fn, torch.nn.Module):
        yield
        return
    own = "__init__" in vars(fn)
    original = fn.__init__

    @functools.wraps(original)
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if type(self) is fn or isinstance(self, fn):
            found.append(self)

    fn.__init__ = init
    try:
        yield
    finally:
        _CLEANING[0] += 1
        try:
            if own:
                fn.__init__ = original
            else:
                del fn.__init__
        finally:
            _CLEANING[0] -= 1


def _unregistered_layers(modules: Sequence) -> str | None:
    """Say so when one of the learner's modules keeps layers with parameters in a plain Python
    list or tuple: PyTorch does not register them, so ``.parameters()`` (the optimiser),
    ``.to()``, ``.double()`` and ``state_dict`` miss them -- the module has fewer parameters
    than voclab's, however right its output."""
    torch = _torch()
    for module in modules:
        try:
            registered = {id(p) for p in module.parameters()}
            for prefix, sub in module.named_modules():
                for attr, value in vars(sub).items():
                    if not isinstance(value, (list, tuple)):
                        continue
                    layers = [x for x in value if isinstance(x, torch.nn.Module)]
                    lost = {id(p): p.numel() for x in layers for p in x.parameters() if id(p) not in registered}
                    if not lost:
                        continue
                    mine, missing = sum(p.numel() for p in module.parameters()), sum(lost.values())
                    where = f"self.{prefix + '.' if prefix else ''}{attr}"
                    return (f"`{where}` is a plain Python {type(value).__name__} of layers: PyTorch does not "
                            f"register them, so your module has {mine:,} parameters instead of {mine + missing:,} "
                            "(the optimiser and .to() would skip the rest) — use nn.ModuleList so PyTorch "
                            "registers the layers")
        except Exception:  # a module that cannot be inspected: say nothing
            continue
    return None


@contextmanager
def counting_work(module):
    """Count the work done while the block runs: floating-point operations, and the lengths fed to ``module``'s layers.

    ``work["flops"]`` counts every convolution and matrix product the block computes
    (:class:`torch.utils.flop_counter.FlopCounterMode`), however it is called: through
    ``module``'s layers or through their weights (``F.conv1d(x, layer.conv.weight)``).
    A forward pre-hook on every ``Conv1d``, ``Conv2d``, ``ConvTranspose1d`` and ``Linear`` of
    ``module`` adds the length of each input it is fed -- the time axis (last) of a conv's
    input, the number of rows of a linear layer's -- to ``work["length"]``, and each call to
    ``work["calls"]``. Cached generation computes one new column per layer and sample, so its
    work per sample is the same for 100 samples as for 200; the naive algorithm reruns the
    network on the whole past (up to the receptive field), so its work per sample grows.

    Yields
    ------
    work : dict
        ``{"length": int, "calls": int, "flops": int}``; ``flops`` is filled in when the
        block ends, the others while it runs.

    Notes
    -----
    Notebook 03 (``generate_cached``'s :class:`Audit`).

    Examples
    --------
    >>> import torch
    >>> conv = torch.nn.Conv1d(2, 2, 1)
    >>> with counting_work(conv) as work:
    ...     _ = conv(torch.zeros(1, 2, 5)), conv(torch.zeros(1, 2, 3))
    >>> work
    {'length': 8, 'calls': 2, 'flops': 64}
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    work = {"length": 0, "calls": 0, "flops": 0}

    def hook(layer, args):
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and x.dim() >= 1:
            rows = isinstance(layer, torch.nn.Linear)
            work["length"] += int(x.numel() // max(x.shape[-1], 1)) if rows else int(x.shape[-1])
            work["calls"] += 1

    kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose1d, torch.nn.Linear)
    layers = [m for m in module.modules() if isinstance(m, kinds)]
    handles = [m.register_forward_pre_hook(hook) for m in layers]
    flop_counter = FlopCounterMode(display=False)
    try:
        with flop_counter:
            yield work
    finally:
        work["flops"] = int(flop_counter.get_total_flops())
        for handle in handles:
            handle.remove()


# ======================================================================================
# the public entry points
# ======================================================================================


def _validate(name, fn) -> None:
    if callable(name) and isinstance(fn, str):
        raise ConfigError(
            f"The arguments are swapped: write voclab.check({fn!r}, {getattr(name, '__name__', 'your_function')})."
        )
    if not isinstance(name, str):
        raise ConfigError(
            f"voclab.check needs the exercise name as a string first, e.g. voclab.check('griffin_lim', griffin_lim); "
            f"got {_describe(name)}."
        )
    if not callable(fn):
        raise ConfigError(
            f"voclab.check({name!r}, ...) needs the function itself, not its result or its name: "
            f"write voclab.check({name!r}, {name}) — no parentheses after {name}. Got {_describe(fn)}."
        )


def _fallback_note(exercise: Exercise) -> str:
    return f"the cells below use voclab's reference ({exercise.reference_name}) so you can go on."


def check_exercise(name: str, fn: Callable, *, timeout: float | None = None, hidden: bool = False) -> Result:
    """Compare the learner's ``fn`` with the reference of exercise ``name`` on every case.

    Each case calls both on deep copies of its arguments, with the random generators
    seeded alike (see :class:`Exercise`). The first case whose output differs stops the
    check with a diagnosis (see :func:`diagnose`); a known mistake of the exercise, when
    it matches, replaces the generic diagnosis. A function that returns the right values
    but changes an array argument in place (when the reference does not) fails too, and
    so does a loss with the right values whose gradients do not match the reference's
    (see :class:`Differentiable`; cases where the reference's loss is exactly 0 are not
    compared, since at a minimum the gradient is zero or, at a kink, only a subgradient).
    A module class that keeps layers in a plain list fails, whatever its output (see
    :func:`_unregistered_layers`). Once every case passes, the exercise's :class:`Audit`
    runs, if it has one.

    While it runs, the learner's own functions of the notebook's earlier exercises are
    voclab's references in ``fn``'s namespace (see :func:`_earlier_references`): a correct
    answer does not fail because an earlier correct answer computes differently.

    The learner's code cannot derail the notebook. Each call of it runs under a time limit
    (see ``timeout``): an infinite loop is stopped and fails the check, with the line where
    it was stopped (on the main thread of Linux and macOS, through ``SIGALRM``; elsewhere,
    or while someone else's ``ITIMER_REAL`` timer runs, there is no limit). A ``sys.exit()``
    or a ``KeyboardInterrupt`` it raises fails the check too, while a KeyboardInterrupt from
    the stop button (a SIGINT during the call) is passed on, so the cell stops as asked. The
    global settings it changes -- numpy's error handling, torch's default dtype, grad mode,
    thread count and default device -- are put back after each call and named in a note
    under the verdict; the random generators are put back already (see ``Exercise.seed``).

    Parameters
    ----------
    name : str
        The exercise name (e.g. ``"griffin_lim"``).
    fn : callable
        The learner's function (the function itself, not its result).
    timeout : float, optional
        Seconds ``fn`` may run on one input (0: no limit). By default the environment
        variable :data:`TIMEOUT_ENV` (``VOCLAB_CHECK_TIMEOUT``), else ``Exercise.timeout``,
        else :data:`DEFAULT_TIMEOUT` (30 s).
    hidden : bool
        Check on the exercise's ``hidden_cases`` instead of its public cases (grading mode,
        see :func:`record_grade`); the audit does not run again.

    Returns
    -------
    Result
        ``status`` is ``"passed"`` (``use`` is ``fn``), ``"not done"`` (``fn`` raised the
        learner notebook's stub, see :func:`is_stub`, or is voclab's reference itself),
        ``"failed"`` (wrong output, another exception -- any other ``NotImplementedError``
        included --, a failed :class:`Audit`, over the time limit, ``sys.exit()``) -- in these two ``use``
        is the reference -- or ``"error"`` when the check itself broke (``use`` is ``fn``);
        ``message`` is the verdict.

    Raises
    ------
    voclab.errors.ConfigError
        If ``name`` is not a registered exercise (the message suggests the closest name
        and lists them all), ``fn`` is not callable, or :data:`TIMEOUT_ENV` is not a number.
    KeyboardInterrupt
        When the user interrupts the check (Jupyter's stop button).
    """
    _validate(name, fn)
    exercise = get_exercise(name)
    if hidden:
        if exercise.hidden_cases is None:
            raise ConfigError(f"exercise {name!r} has no hidden_cases to check.")
        exercise = dataclasses.replace(exercise, cases=exercise.hidden_cases, hidden_cases=None, audit=None)
    seconds = _timeout_for(exercise, timeout)
    changed: dict[str, str] = {}
    with _earlier_references(exercise, fn):
        result = _check_cases(exercise, fn, seconds, changed)
    if changed:
        result = dataclasses.replace(result, message=result.message + "\n" + _settings_note(changed))
    return result


def _settings_note(changed: dict[str, str]) -> str:
    items = [f"{name[:-1]}: {change})" for name, change in changed.items()]
    listing = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    them = "it" if len(items) == 1 else "them"
    return (f"   Note: your function changed {listing}; voclab put {them} back after each call — "
            "leave global settings alone in a function, or put them back before it returns "
            "(`with torch.no_grad():` does that for gradient mode).")


def _check_cases(exercise: Exercise, fn: Callable, seconds: float | None, changed: dict[str, str]) -> Result:
    """The body of :func:`check_exercise`: the learner's calls run under :func:`_watched`."""
    name = exercise.name
    reference = _reference_for(exercise)
    note = _fallback_note(exercise)

    def not_done(case=None) -> Result:
        return Result("not done", f"{STATUS_LABELS['not done']} {name} is not done yet — {note}", reference, name, case)

    if isinstance(fn, ReferenceFunction):
        return Result(
            "not done",
            f"{STATUS_LABELS['not done']} {name} is still voclab's reference here: run the cell that defines your own {name} "
            f"first, then this check again. Meanwhile {note}",
            fn, name,
        )

    def internal(what: str, exc: BaseException) -> Result:
        detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return Result(
            "error",
            f"{STATUS_LABELS['error']} {name}: voclab's check could not run ({what}: {detail}). This is a bug in voclab, "
            f"not in your code; your function is used as it is.",
            fn, name,
        )

    try:
        cases = [c if isinstance(c, Case) else Case(*c) for c in exercise.cases()]
    except Exception as exc:
        return internal("building the inputs failed", exc)

    for k, case in enumerate(cases, start=1):
        try:
            expected, _, _ = _call(exercise, exercise.reference, case)
        except Exception as exc:
            return internal(f"the reference failed on input {k}", exc)
        built: list = []  # the learner's modules this call builds, looked at afterwards
        try:
            with _instances_of(fn, built):
                out, args, kwargs = _watched(seconds, changed, fn, _call, exercise, fn, case)
        except _Stopped as stop:
            return _failed(exercise, k, case, stop.what, reference, len(cases), stop.advice)
        except Exception as exc:
            if is_stub(exc):
                return not_done(k)
            # the layers kept in a plain list are the cause of whatever went wrong (a dtype, a device)
            what = _unregistered_layers(built) or _exception_summary(exc, fn)
            return _failed(exercise, k, case, what, reference, len(cases))
        try:
            ctx = _Context(exercise.compare, _input_sizes(case.args, case.kwargs, expected))
            what = _diagnose(out, expected, ctx, "")
            if what is not None:
                what = _known_mistake(exercise, case, out, ctx) or what
            else:
                mutated = _mutated(case, args, kwargs)  # not `changed`: that one collects the settings
                if mutated:
                    _, ref_args, ref_kwargs = _call(exercise, exercise.reference, case)
                    if not _mutated(case, ref_args, ref_kwargs):
                        what = _mutation_message(exercise, case, args, kwargs, mutated)
            what = _unregistered_layers(built) or what  # even with the right output: nothing would train them
        except Exception as exc:
            return internal(f"comparing the outputs of input {k} failed", exc)
        advice = ""
        if what is None and exercise.differentiable and not _is_zero(expected):
            # a loss of exactly 0 sits at its minimum: a zero gradient, or a subgradient only
            # where the loss has a kink (L1 of equal inputs) -- nothing to compare there
            try:
                expected_grads = _gradients(exercise, exercise.reference, case)
                if expected_grads is None:
                    raise ConfigError("the reference's output does not require grad")
            except Exception as exc:
                return internal(f"the reference's gradients on input {k} failed", exc)
            try:
                grads = _watched(seconds, changed, fn, _gradients, exercise, fn, case)
            except _Stopped as stop:
                what, advice = stop.what, stop.advice
            except Exception as exc:
                what = _gradient_exception(exc, fn)
            else:
                try:
                    what = _gradient_message(exercise, fn, grads, expected_grads)
                except Exception as exc:
                    return internal(f"comparing the gradients of input {k} failed", exc)
        if what is not None:
            return _failed(exercise, k, case, what, reference, len(cases), advice)
    if exercise.audit is not None:
        audit, advice = exercise.audit, ""
        try:
            what = _watched(seconds, changed, fn, audit.run, fn)
        except _Stopped as stop:
            what, advice = stop.what, stop.advice
        except Exception as exc:
            what = _exception_summary(exc, fn)
        if what is not None:
            return _failed(exercise, None, None, what, reference, len(cases), advice, where=audit.description)
    plural = "input" if len(cases) == 1 else "inputs"
    return Result("passed", f"{STATUS_LABELS['passed']} {name}: public checks passed ({len(cases)} {plural}).", fn, name,
                  n_cases=len(cases))


def _known_mistake(exercise: Exercise, case: Case, out, ctx: _Context) -> str | None:
    for wrong, message in exercise.mistakes:
        try:
            wrong_out, _, _ = _call(exercise, wrong, case)
            if _diagnose(out, wrong_out, ctx, "") is None:
                return message
        except Exception:
            continue
    return None


def _failed(exercise: Exercise, k: int | None, case: Case | None, what: str, reference: Callable, n: int,
            advice: str = "", where: str = "") -> Result:
    """The failed :class:`Result`: what is wrong on input ``k`` (or, with ``where``, in an audit)."""
    place = f"({where})" if case is None else f"on input {k} ({case.description})"
    lines = [f"{STATUS_LABELS['failed']} {exercise.name}: {what.rstrip('. ')} {place}."]
    if advice:
        lines.append(f"   {advice}")
    if exercise.hint:
        lines.append(f"   Hint: {exercise.hint}")
    note = _fallback_note(exercise)
    lines.append(f"   Until it passes, {note}")
    return Result("failed", "\n".join(lines), reference, exercise.name, k, what, n)


def check(name: str, fn: Callable, *, timeout: float | None = None) -> Callable:
    """Check a learner's exercise function; return the function the next cells should use.

    This is ``voclab.check``. Write, at the end of an exercise cell::

        griffin_lim = voclab.check("griffin_lim", griffin_lim)

    Parameters
    ----------
    name : str
        The exercise name, e.g. ``"griffin_lim"`` (an unknown name raises
        :class:`~voclab.errors.ConfigError` that suggests the closest known one).
    fn : callable
        Your function -- the function itself, without calling it.
    timeout : float, optional
        Seconds your function may run on one input before the check stops it (0: no limit).
        By default the environment variable ``VOCLAB_CHECK_TIMEOUT``, else the exercise's
        own limit, else 30 s.

    Returns
    -------
    callable
        ``fn`` when it passes every public check; otherwise voclab's reference (its
        ``__name__`` and ``__doc__`` say so), so that the rest of the notebook runs with
        correct values.

    Notes
    -----
    Prints one verdict that begins with its status in words: ``PASSED ✓``, ``NOT DONE`` (your
    function still raises the stub's ``NotImplementedError("Exercise ...: your code here")``),
    ``FAILED ✗`` what is wrong on which input, with a hint (coloured in a notebook, see
    :func:`show_verdict`). The checks
    are *public*: passing them means your function agrees with the reference on these
    inputs, not that it is right on every input.

    Your function cannot derail the notebook: an infinite loop is stopped after the time
    limit and a ``sys.exit()`` fails the check (the reference is returned, as for any failure);
    global settings it changes (default dtype, grad mode...) are put back, with a note. The
    stop button still stops the cell (``STOPPED``), leaving your function in place.

    In grading mode (the environment variable ``VOCLAB_GRADE_LOG`` names a file, as
    ``voclab grade`` sets it) the result is also appended to that file, with the result of
    the exercise's hidden inputs once the public ones pass (see :func:`record_grade`).

    See Also
    --------
    check_exercise : the same check, returning a :class:`Result` instead of printing.
    """
    try:
        result = check_exercise(name, fn, timeout=timeout)
    except KeyboardInterrupt:  # the stop button: the cell stops, and says where things stand
        show_verdict("stopped", f"{STATUS_LABELS['stopped']} {name}: check stopped — you interrupted it; "
                                f"{name} is still your own, unchecked function. Run this cell again to check it.")
        raise
    show_verdict(result.status, result.message)
    log = os.environ.get(GRADE_LOG_ENV, "").strip()
    if log:
        record_grade(log, result, fn, timeout=timeout)
    return result.use


def show_verdict(status: str, message: str) -> None:
    """Show a verdict: plain text, and in a Jupyter kernel its status label coloured too.

    The plain text is ``message`` itself, which begins with the status in words
    (:data:`STATUS_LABELS`), so it reads in any font, in a terminal and in a log. In a Jupyter
    kernel the verdict is one output with two forms: the same text (``text/plain``, what
    nbconvert's text export and a terminal client show) and HTML (what JupyterLab shows) in
    which the label is white on green (passed), amber (not done), red (failed) or grey.

    Notebook: every exercise notebook (01-08).

    Parameters
    ----------
    status : str
        A key of :data:`STATUS_LABELS` (``"passed"``, ``"not done"``, ``"failed"``, ``"error"``,
        ``"stopped"``).
    message : str
        The verdict, beginning with ``STATUS_LABELS[status]``.

    Examples
    --------
    >>> show_verdict("passed", "PASSED ✓ toy: public checks passed (3 inputs).")  # outside Jupyter
    PASSED ✓ toy: public checks passed (3 inputs).
    """
    shell = None
    if "ipykernel" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        print(message)
        return
    import html

    from IPython.display import display

    label = STATUS_LABELS.get(status, "")
    rest = message[len(label):] if label and message.startswith(label) else message
    colour = _LABEL_COLOURS.get(status, "#6e7781")
    badge = (f'<span style="background:{colour};color:#fff;font-weight:bold;padding:0 0.4em;'
             f'border-radius:3px">{html.escape(label)}</span>') if label and rest is not message else ""
    body = f'<pre style="white-space:pre-wrap;margin:0">{badge}{html.escape(rest)}</pre>'
    display({"text/plain": message, "text/html": body}, raw=True)


def record_grade(path: str | os.PathLike, result: Result, fn: Callable, *, timeout: float | None = None) -> dict:
    """Append one check's result to a grading log (JSON lines); run the hidden inputs first.

    :func:`check` calls it in grading mode (:data:`GRADE_LOG_ENV`). When the public checks
    passed and the exercise has ``hidden_cases``, ``fn`` is checked again on them (the same
    comparison, time limit and stand-ins for earlier exercises as the public inputs); their
    result is recorded under ``"hidden"`` and never printed in the notebook.

    Notebook: none -- ``voclab grade`` (:mod:`voclab.grade`) reads the log.

    Parameters
    ----------
    path : str or os.PathLike
        The log file; created if missing, appended to otherwise.
    result : Result
        What :func:`check_exercise` found on the public inputs.
    fn : callable
        The learner's function, for the hidden inputs.
    timeout : float, optional
        As for :func:`check_exercise`.

    Returns
    -------
    dict
        The record written: ``exercise``, ``notebook``, ``status``, ``message``, ``diagnosis``,
        ``case``, ``n_cases``, ``hint`` and ``hidden`` (None, or a dict with ``status``,
        ``message``, ``diagnosis``, ``case``, ``n_cases``).

    Examples
    --------
    >>> record = record_grade("grade.jsonl", check_exercise("receptive_field", my_rf), my_rf)  # doctest: +SKIP
    >>> record["status"], record["hidden"]["status"]  # doctest: +SKIP
    ('passed', 'failed')
    """
    import json

    exercise = get_exercise(result.name)
    hidden = None
    if result.status == "passed" and exercise.hidden_cases is not None:
        outcome = check_exercise(result.name, fn, timeout=timeout, hidden=True)
        hidden = {"status": outcome.status, "message": outcome.message, "diagnosis": outcome.diagnosis,
                  "case": outcome.case, "n_cases": outcome.n_cases}
    record = {"exercise": result.name, "notebook": exercise.notebook, "status": result.status,
              "message": result.message, "diagnosis": result.diagnosis, "case": result.case,
              "n_cases": result.n_cases, "hint": exercise.hint, "hidden": hidden}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record
