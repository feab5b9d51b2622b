"""Running a check: random trials of every problem, the comparison, and the failure report.

A check runs ``trials`` random draws of each of its problems (the fixed ones, then those drawn
from the seed), calls the user's function, and compares every output with the expected one
within the tolerance of the check's dtype.  The trials take turns (:data:`TRIALS`): a batch of
4 or 5 of standard-normal values in fresh C-contiguous arrays; a batch of 1 with the input x
scaled by 1e6, in channels-last views; a batch of 3 with x mostly zero (a ReLU's output), in
strided and cropped views, after which the function is called again on the same arrays refilled
in place with a new draw.  On the first difference it raises :class:`EquivalenceError` with a
diagnosis, the shapes and the seed: outputs right on fresh C-contiguous copies of the same
inputs (the layout or the refill at fault), outputs of another shape that are not finite
either (with the size formula), outputs that are not finite, or that agree only within the
precision of a coarser dtype (float32, float16 or bfloat16), are named as such; otherwise the
check probes the function and names the fault, after a likely cause for an error at the level
of float32 or TF32 arithmetic.  A check that agrees returns a :class:`CheckResult`.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..arrays import float_dtype
from ..rounding import round_to_tf32
from ..progress import Ticker, to_stderr
from ..spec import check_flag
from .compare import (TF32_LEVEL, error, lower_precision, not_finite, precision_note, tolerance,
                      within_tf32)
from .diagnose import BATCH_DEPENDENT, SHAPE_UNEXPLAINED
from .interop import LAYOUTS, Caller, describe_shapes
from .outcome import CheckResult, EquivalenceError

Arrays = tuple[np.ndarray | None, ...]


class Check(Protocol):
    """One operation to check: its problems, how to draw inputs, what to expect, how to tell
    what went wrong."""

    name: str
    arguments: tuple[str, ...]
    outputs: tuple[str, ...]
    problems: Sequence[Any]
    products: bool  # whether the outputs are sums of products (which TF32 arithmetic rounds)

    def drawn(self, rng: np.random.Generator) -> Sequence[Any]: ...

    def draw(self, problem: Any, rng: np.random.Generator, batch: int) -> Arrays: ...

    def expected(self, problem: Any, args: Arrays) -> tuple[np.ndarray, ...]: ...

    def diagnose(self, problem: Any, call: Caller, rng: np.random.Generator, dtype: np.dtype,
                 tol: float, args: Arrays, got: tuple[np.ndarray, ...]) -> str: ...

    def shape_difference(self, problem: Any, output: int, got: tuple[int, ...],
                         want: tuple[int, ...]) -> str: ...


@dataclass(frozen=True)
class Trial:
    """How a trial's inputs are drawn: the batch, drawn from ``batches`` = [low, high), the
    first input x times ``scale`` or mostly zero (``sparse``: max(x - 0.5, 0)), their memory
    ``layout``, and whether the function is called once more on the same arrays refilled in
    place (``refill``)."""

    batches: tuple[int, int]
    scale: float = 1.0
    sparse: bool = False
    layout: str = "contiguous"
    refill: bool = False

    def inputs(self, args: Arrays) -> Arrays:
        x = args[0] * self.scale
        return (np.maximum(x - 0.5, 0.0) if self.sparse else x, *args[1:])

    def notes(self) -> str:
        """', x times 1e+06' or ', x mostly zero (a ReLU's output)': what is unusual in x."""
        return ((f", x times {self.scale:.0e}" if self.scale != 1 else "")
                + (", x mostly zero (a ReLU's output)" if self.sparse else ""))


TRIALS = (Trial((4, 6)), Trial((1, 2), scale=1e6, layout="channels-last"),
          Trial((3, 4), sparse=True, layout="strided", refill=True))
REFILLED = ("your function returns other outputs when called again on the same arrays refilled "
            "in place with new values than on fresh copies of them: it keeps state keyed by the "
            "array objects or their memory (a cache of a prepacked weight, say), so a caller "
            "who updates an array in place (an optimiser step) gets outputs of the old values")


def cast(arrays: Arrays, dtype: np.dtype) -> Arrays:
    """Each array as a NumPy array of ``dtype`` (None stays None)."""
    return tuple(None if a is None else np.asarray(a, dtype=dtype) for a in arrays)


def _integer(name: str, value: Any, minimum: int, wanted: str) -> int:
    """An integer of Python or NumPy (not a bool) of at least ``minimum``, or a ValueError
    naming the parameter."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be {wanted}, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return number


def _options(dtype: Any, trials: Any, seed: Any) -> tuple[np.dtype, int, int]:
    """Validated dtype, trials and seed (a fresh seed when None)."""
    dtype = float_dtype(dtype)
    trials = _integer("trials", trials, 1, "a positive integer")
    if seed is None:
        seed = secrets.randbits(32)
    return dtype, trials, _integer("seed", seed, 0, "a non-negative integer or None")


class Progress(Ticker):
    """Lines for a long check (:class:`Ticker`'s times) with the calls of the user's function
    made and the time left, estimated from them."""

    def __init__(self, report: Callable[[str], None] | None, name: str, planned: int) -> None:
        if report is not None and not callable(report):
            raise TypeError(f"progress must be a callable taking a line, or None, got "
                            f"{report!r}")
        super().__init__(report)
        self.name, self.planned = name, planned

    def __call__(self, calls: int) -> None:
        elapsed = self.due() if calls else None
        if elapsed is None:
            return
        left = elapsed * max(self.planned - calls, 0) / calls
        self.report(f"{self.name}: {calls} of {self.planned} calls of your function, "
                    f"{elapsed:.0f} s, about {left:.0f} s left")


def run(check: Check, fn: Callable[..., Any], *, trials: int, dtype: Any,
        backend: str | Callable[[np.ndarray], Any], seed: int | None,
        progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Compare ``fn`` with the expected outputs on ``trials`` random draws of every problem;
    a check running longer than 2 s reports its progress to ``progress`` (a line between
    calls, at most every 10 s; stderr by default, None for none)."""
    __tracebackhide__ = True
    dtype, trials, seed = _options(dtype, trials, seed)
    call = Caller(fn, check.name, check.arguments, check.outputs, backend, dtype)
    rng = np.random.default_rng(seed)
    problems = [*check.problems, *check.drawn(rng)]
    planned = sum(1 + TRIALS[turn % len(TRIALS)].refill for number in range(len(problems))
                  for turn in range(number, number + trials))
    tick = Progress(progress, check.name, planned)
    worst, calls, tol = 0.0, 0, tolerance(dtype)
    for number, problem in enumerate(problems):
        for turn in range(number, number + trials):
            tick(calls)
            trial = TRIALS[turn % len(TRIALS)]
            batch = int(rng.integers(*trial.batches))
            args = cast(trial.inputs(check.draw(problem, rng, batch)), dtype)
            got = call(*args, layout=trial.layout)
            worst = max(worst, _compare(check, call, problem, trial, args, got, rng, seed))
            calls += 1
            if trial.refill:
                args = cast(trial.inputs(check.draw(problem, rng, batch)), dtype)
                got = call.again(*args)
                if got is not None:
                    worst = max(worst, _compare(check, call, problem, trial, args, got, rng,
                                                seed, refilled=True))
                    calls += 1
    return CheckResult(check.name, calls, worst, tol, seed)


def _compare(check: Check, call: Caller, problem: Any, trial: Trial, args: Arrays,
             got: tuple[np.ndarray, ...], rng: np.random.Generator, seed: int,
             refilled: bool = False) -> float:
    """The worst error of ``got``; an EquivalenceError with the diagnosis above tolerance."""
    __tracebackhide__ = True
    tol = tolerance(call.dtype)
    want = check.expected(problem, cast(args, np.float64))
    worst = max(error(g, w) for g, w in zip(got, want))
    if worst <= tol:
        return worst
    layout = trial.layout if call.layouts else "contiguous"
    diagnosis = (_on_fresh_copies(call, args, want, layout, refilled)
                 or _wrong_shape(check, problem, got, want)
                 or _not_finite(check.outputs, got)
                 or lower_precision(worst, tol, call.dtype, got)
                 or _probed(check, problem, call, rng, worst, tol, args, got, want))
    shapes = (f"{describe_shapes(check.arguments, args)} -> "
              f"{describe_shapes(check.outputs, want)}{LAYOUTS[layout]}{trial.notes()}"
              + (", called again on the same arrays refilled in place" if refilled else ""))
    raise EquivalenceError(f"{check.name}: {diagnosis}\n  checked on {shapes}; "
                           f"seed={seed} reproduces this check")


def _on_fresh_copies(call: Caller, args: Arrays, want: tuple[np.ndarray, ...], layout: str,
                     refilled: bool) -> str | None:
    """The diagnosis when a call on fresh C-contiguous copies of ``args`` agrees although the
    call on arrays in ``layout`` (or refilled in place) did not."""
    if layout == "contiguous" and not refilled:
        return None
    fresh = call(*args)
    if max(error(g, w) for g, w in zip(fresh, want)) > tolerance(call.dtype):
        return None
    if refilled:
        return REFILLED
    return (f"your function is wrong on inputs that are not C-contiguous{LAYOUTS[layout]} "
            "but right on C-contiguous copies of them: it reads memory as if C-contiguous "
            "(strides computed from the shape, a raw pointer, as_strided), or as if the "
            "spatial axes were one (a row's stride taken as the width times a column's, as "
            "when as_strided or a pointer merges H and W); use the arrays' strides, or copy "
            "them with np.ascontiguousarray (tensor.contiguous())")


def _right_on_tf32_numbers(check: Check, problem: Any, call: Caller, args: Arrays) -> bool:
    """Whether the function is right, at float32's tolerance, on ``args`` rounded to TF32
    numbers (a 10-bit mantissa): products of those are exact in float32, so TF32 arithmetic
    errs there as float32 sums do, and a float16 accumulator still does not.  A function that
    fails on them otherwise counts as right: the probe tells nothing."""
    rounded = cast(tuple(None if a is None else round_to_tf32(a) for a in args), call.dtype)
    try:
        got = call(*rounded)
    except EquivalenceError:
        return True
    want = check.expected(problem, cast(rounded, np.float64))
    return max(error(g, w) for g, w in zip(got, want)) <= tolerance(call.dtype)


def _probed(check: Check, problem: Any, call: Caller, rng: np.random.Generator, worst: float,
            tol: float, args: Arrays, got: Sequence[np.ndarray], want: Sequence[np.ndarray]
            ) -> str:
    """The diagnosis from probing, after a note on the precision it may lack.  An error within
    TF32's is probed at TF32's tolerance: there, a fault still shows, while the rounding of
    random inputs (impulses are exact) is no evidence of a nonlinear function.  A function
    right on the probe batch, yet with an output of another shape here, is told its shape; one
    that fails on a probe (a batch too large for it, say) is told its error and the probe's."""
    tf32 = within_tf32(worst, call.dtype, check.products)
    note = precision_note(worst, tol, call.dtype, check.products,
                          tf32 and _right_on_tf32_numbers(check, problem, call, args))
    level = TF32_LEVEL if tf32 else tol
    try:
        probed = check.diagnose(problem, call, rng, call.dtype, level, cast(args, np.float64),
                                got)
    except EquivalenceError as failed:
        probed = (f"your function is wrong (worst relative error {worst:.1e}, tolerance "
                  f"{tol:.0e}), and its fault could not be named: on a probe "
                  f"{str(failed).removeprefix(f'{call.operation}: ')}")
    wrong = next((k for k, (g, w) in enumerate(zip(got, want)) if g.shape != w.shape), None)
    if probed.startswith(SHAPE_UNEXPLAINED) and wrong is not None:  # told on this batch
        probed = SHAPE_UNEXPLAINED + check.shape_difference(problem, wrong, got[wrong].shape,
                                                            want[wrong].shape)
    if probed == BATCH_DEPENDENT:
        if wrong is not None:
            shape = check.shape_difference(problem, wrong, got[wrong].shape, want[wrong].shape)
            probed = (f"{shape}; yet right on the probe batch: the shape depends on the batch "
                      "size (a batch axis squeezed away, say)")
        elif note is not None and level != tol:
            probed = None  # right within TF32's tolerance: the note says it all
    return "\n  ".join(filter(None, (note, probed)))


def _not_finite(names: Sequence[str], arrays: Sequence[np.ndarray]) -> str | None:
    """The message for the first output with an entry that is nan or inf, if any."""
    return next(filter(None, map(not_finite, names, arrays)), None)


def _wrong_shape(check: Check, problem: Any, got: Sequence[np.ndarray],
                 want: Sequence[np.ndarray]) -> str | None:
    """Outputs returned in another order (each of another's shape); else the first output of
    another shape, with the size formula of each axis that differs, when an output is not
    finite too (its extra entries, say): probing would show only those."""
    shapes, wanted = [g.shape for g in got], [w.shape for w in want]
    if len(got) > 1 and shapes != wanted and sorted(shapes) == sorted(wanted):
        return (f"your function returns its outputs in another order: shapes "
                f"{', '.join(map(str, shapes))} where ({', '.join(check.outputs)}) have shapes "
                f"{', '.join(map(str, wanted))}; return ({', '.join(check.outputs)})")
    infinite = _not_finite(check.outputs, got)
    wrong = next((output for output, (g, w) in enumerate(zip(got, want))
                  if g.shape != w.shape), None)
    if infinite is None or wrong is None:
        return None
    return (f"{check.shape_difference(problem, wrong, got[wrong].shape, want[wrong].shape)}"
            f"\n  and {infinite}")


flag = check_flag
"""A True/False option, or a TypeError naming it."""


def operation_name(base: str, options: dict[str, Any], defaults: dict[str, Any]) -> str:
    """'conv2d(stride=2, padding=1)': the options that differ from their defaults."""
    given = [f"{key}={value!r}" for key, value in options.items()
             if key not in defaults or defaults[key] != value]
    return f"{base}({', '.join(given)})"
