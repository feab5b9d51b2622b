"""Running a check: random trials of every problem, the comparison, and the failure report.

A check draws standard-normal inputs for each of its problems (``trials`` times), calls the
user's function, and compares every output with the expected one within the tolerance of the
dtypes.  On the first difference it raises :class:`EquivalenceError` with a diagnosis, the
shapes and the seed: outputs that are not finite, or that agree only within the precision of
a coarser dtype (float32, float16), are named as such; otherwise the check probes the
function and names the fault.  A check that agrees returns a :class:`CheckResult`.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from .compare import error, lower_precision, not_finite, tolerance
from .interop import Caller, describe_shapes
from .outcome import CheckResult, EquivalenceError

Arrays = tuple[np.ndarray | None, ...]


class Check(Protocol):
    """One operation to check: its problems, how to draw inputs, what to expect, how to tell
    what went wrong."""

    name: str
    arguments: tuple[str, ...]
    outputs: tuple[str, ...]
    problems: Sequence[Any]

    def draw(self, problem: Any, rng: np.random.Generator) -> Arrays: ...

    def expected(self, problem: Any, args: Arrays) -> tuple[np.ndarray, ...]: ...

    def diagnose(self, problem: Any, call: Caller, rng: np.random.Generator, dtype: np.dtype,
                 tol: float, args: Arrays, got: tuple[np.ndarray, ...]) -> str: ...


def cast(arrays: Arrays, dtype: np.dtype) -> Arrays:
    return tuple(None if a is None else np.asarray(a, dtype=dtype) for a in arrays)


def _integer(name: str, value: Any, minimum: int, wanted: str) -> int:
    """An integer of Python or NumPy (not a bool) of at least ``minimum``, or a ValueError."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return operator.index(value)


def _options(dtype: Any, trials: Any, seed: Any) -> tuple[np.dtype, int, int]:
    """Validated dtype, trials and seed (a fresh seed when None)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    trials = _integer("trials", trials, 1, "a positive integer")
    if seed is None:
        seed = secrets.randbits(32)
    return dtype, trials, _integer("seed", seed, 0, "a non-negative integer or None")


def run(check: Check, fn: Callable[..., Any], *, trials: int, dtype: Any,
        backend: str | Callable[[np.ndarray], Any], seed: int | None) -> CheckResult:
    """Compare ``fn`` with the expected outputs on ``trials`` random draws of every problem."""
    __tracebackhide__ = True
    dtype, trials, seed = _options(dtype, trials, seed)
    call = Caller(fn, check.name, check.arguments, check.outputs, backend)
    rng = np.random.default_rng(seed)
    worst, calls, tol = 0.0, 0, tolerance([dtype])
    for problem in check.problems:
        for _ in range(trials):
            args = cast(check.draw(problem, rng), dtype)
            got = call(*args)
            want = check.expected(problem, cast(args, np.float64))
            tol = tolerance([dtype, *call.dtypes])
            errors = [error(g, w) for g, w in zip(got, want)]
            calls += 1
            if max(errors) > tol:
                diagnosis = (_not_finite(check.outputs, got)
                             or lower_precision(max(errors), tol, dtype, got)
                             or check.diagnose(problem, call, rng, dtype, tol,
                                               cast(args, np.float64), got))
                shapes = (f"{describe_shapes(check.arguments, args)} -> "
                          f"{describe_shapes(check.outputs, want)}")
                raise EquivalenceError(f"{check.name}: {diagnosis}\n  checked on {shapes}; "
                                       f"seed={seed} reproduces this check")
            worst = max(worst, *errors)
    return CheckResult(check.name, calls, worst, tol, seed)


def _not_finite(names: Sequence[str], arrays: Sequence[np.ndarray]) -> str | None:
    """The message for the first output with an entry that is nan or inf, if any."""
    return next(filter(None, map(not_finite, names, arrays)), None)


def flag(name: str, value: Any) -> bool:
    """A True/False option, or a TypeError naming it."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def operation_name(base: str, options: dict[str, Any], defaults: dict[str, Any]) -> str:
    """'conv2d(stride=2, padding=1)': the options that differ from their defaults."""
    given = [f"{key}={value!r}" for key, value in options.items()
             if key not in defaults or defaults[key] != value]
    return f"{base}({', '.join(given)})"
