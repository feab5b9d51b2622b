"""Diagnosis: which known fault, or which pair of faults, explains what an implementation did.

The implementation's outputs on a probe batch are compared with the predictions of the correct
model, of every single fault of the family, then of every pair: first the output shape, then
the float64 reference (fast), and last the derived matrices, which must agree too.  When no
model fits, the first mismatching output is shown with its expected expression, printed from
the derived matrix row, beside what the implementation computes there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from .compare import close, mismatches
from .derived import derive, element, sum_text
from .faults import FaultFunction, axis_names, pairs, singles, size_formula
from .models import Fault, Model
from .probe import EXTRA, recover


BATCH_DEPENDENT = ("your function is right on the probe batch but not on the random batch: its "
                   "output depends on the batch (its size or its other elements)")


class Candidate(Protocol):
    faults: tuple[Fault, ...]

    def output_shape(self, batch: int) -> tuple[int, ...]: ...

    def predict(self, args: tuple[Any, ...], exact: bool) -> np.ndarray: ...


def _distinct(models: Iterable[Candidate], seen: set) -> Iterator[Candidate]:
    """Each model not seen before (two variants may describe the same operation)."""
    for model in models:
        if model not in seen:
            seen.add(model)
            yield model


Probe = tuple[tuple[Any, ...], np.ndarray]  # (arguments, the implementation's output)


def _fits(model: Candidate, probe: Probe, screen: Probe, tol: float) -> bool:
    """Same shape, same outputs on ``screen`` by the reference, then on ``probe`` by the
    derived matrices."""
    try:
        if model.output_shape(probe[1].shape[0]) != probe[1].shape:
            return False
        return (close(screen[1], model.predict(screen[0], exact=False), tol)
                and close(probe[1], model.predict(probe[0], exact=True), tol))
    except ValueError:  # a faulty geometry the reference refuses (reflect padding too wide...)
        return False


def find(base: Candidate, family: Sequence[FaultFunction], probe: Probe, tol: float,
         screen: Probe | None = None) -> list[Candidate]:
    """The models whose outputs on the probe's arguments are the probe's outputs: the correct
    one if it fits, else every single fault that fits (some are the same operation in other
    words), else the first pair that fits that is no single fault; [] when none does.  A
    candidate is screened first on ``screen`` (a few of the probe's inputs: fast)."""
    screen = probe if screen is None else screen
    if _fits(base, probe, screen, tol):
        return [base]
    found = [model for model in singles(base, family) if _fits(model, probe, screen, tol)]
    if found:
        return found
    seen = {base, *singles(base, family)}
    return next(([model] for model in _distinct(pairs(base, family), seen)
                 if _fits(model, probe, screen, tol)), [])


def _faults_text(faults: Sequence[Fault]) -> str:
    if len(faults) == 1:
        return faults[0].message
    return "two faults at once: " + "; ".join(f"({n}) {fault.message}"
                                             for n, fault in enumerate(faults, start=1))


def describe(models: Sequence[Candidate]) -> str:
    """The diagnosis as users read it: the first fault (or two numbered), then up to two other
    faults that give the very same outputs."""
    texts = list(dict.fromkeys(_faults_text(model.faults) for model in models))
    return texts[0] + "".join(f"\n  the same outputs come from: {text}" for text in texts[1:3])


# --------------------------------------------------------------------------------------------
# When no fault fits: show the first mismatch
# --------------------------------------------------------------------------------------------

def batched(shape: tuple[int, ...]) -> str:
    """A batched shape with N for its batch size (that of the probes is no concern of users)."""
    return f"({', '.join(['N', *map(str, shape[1:])])})"


def shape_difference(model: Model, got: tuple[int, ...], want: tuple[int, ...],
                     name: str) -> str:
    """Which axes differ, with the size formula of each spatial one."""
    text = f"{name} has shape {batched(got)}, expected {batched(want)}"
    if len(got) != len(want):
        return f"{text} ({len(want)} dims: N, C, then {len(want) - 2} spatial)"
    names = axis_names(len(want) - 2)
    lines = [f"{names[axis]}: {size_formula(model, axis)}, you return {g}"
             for axis, (g, w) in enumerate(zip(got[2:], want[2:])) if g != w]
    return "; ".join([text, *lines])


def _weight_name(value: float, w: np.ndarray, tol: float) -> str | None:
    """The weight symbol whose value ``value`` is, when exactly one is."""
    hits = np.flatnonzero(np.abs(w.ravel() - value) <= tol * max(1.0, abs(value)))
    return element("w", np.unravel_index(hits[0], w.shape)) if len(hits) == 1 else None


def _named(value: float, w: np.ndarray, b: np.ndarray | None, channel: int, tol: float) -> str:
    """A coefficient as users wrote it: 0, a weight w[...], the bias b[o], or a number."""
    if abs(value) <= tol:
        return "0"
    if b is not None and abs(b[channel] - value) <= tol * max(1.0, abs(value)):
        return element("b", (channel,))
    return _weight_name(value, w, tol) or f"{value:.4g}"


def _differences(received: np.ndarray, expected: np.ndarray, args: tuple[Any, ...],
                 in_shape: tuple[int, ...], input_name: str, channel: int, tol: float) -> str:
    """Where a recovered row (one coefficient per input entry, then the constant term)
    differs from the expected row."""
    _, w, b = args
    last = len(received) - 1
    parts = []
    for col in np.flatnonzero(np.abs(received - expected) > tol):
        source = ("the constant term" if col == last else
                  f"{element(input_name, (0, *np.unravel_index(col, in_shape)))} times")
        bias = b if col == last else None
        parts.append(f"{source} {_named(received[col], w, bias, channel, tol)} (expected "
                     f"{_named(expected[col], w, bias, channel, tol)})")
    shown = "; ".join(parts[:4])
    return shown if len(parts) <= 4 else f"{shown}; ... ({len(parts)} differences)"


def explain_linear(model: Model, args: tuple[Any, ...], got: np.ndarray, tol: float,
                   names: tuple[str, str]) -> str:
    """No fault fits a linear model: the first output that differs on the impulses, with its
    expected expression (from the derived matrix) and what the implementation computes."""
    want = model.predict(args, exact=True)
    if got.shape != want.shape:
        return "no known fault explains it: " + shape_difference(model, got.shape, want.shape,
                                                                 names[0])
    in_shape = args[0].shape[1:]
    probes = 1 + math.prod(in_shape)
    bad = mismatches(got, want, tol)
    if not bad[:probes].any():
        sample = int(np.argmax(bad.reshape(len(bad), -1).any(axis=1)))
        index = np.unravel_index(int(np.argmax(bad[sample])), want.shape[1:])
        return (f"your function is right on every impulse but not on a random input (at "
                f"{element(names[0], (sample, *index))}: {got[(sample, *index)]:.6g}, expected "
                f"{want[(sample, *index)]:.6g}): it is not linear in {names[1]}, or batch "
                "elements affect each other")
    position = int(np.argmax(bad[:probes].reshape(probes, -1).any(axis=0)))
    index = (0, *np.unravel_index(position, want.shape[1:]))
    derivation = derive(model.kind, model.spec, (model.in_channels, *model.size))
    channel = index[1]
    bias = [element("b", (channel,))] if model.bias else []
    expected = sum_text(derivation.row_terms(index, names[1]) + bias)
    rows = [np.append(*(part[position] for part in recover(outputs[:probes], in_shape)))
            for outputs in (got, want)]
    sample = probes  # the first random input
    return (f"no known fault explains it; first difference at {element(names[0], index)}:\n"
            f"    expected {element(names[0], index)} = {expected}\n"
            f"    your function has {_differences(*rows, args, in_shape, names[1], channel, tol)}"
            f"\n    (on a random input: {got[(sample, *index[1:])]:.6g}, expected "
            f"{want[(sample, *index[1:])]:.6g})")


def explain_values(got: np.ndarray, want: np.ndarray, tol: float, name: str,
                   expression: Callable[[tuple[int, ...]], str], batch: bool = True) -> str:
    """No fault fits: the first entry that differs, its expected expression(index) and values
    (``batch``: the first axis of the outputs is the batch)."""
    if got.shape != want.shape:
        shapes = (batched(got.shape), batched(want.shape)) if batch else (got.shape, want.shape)
        return f"no known fault explains it: {name} has shape {shapes[0]}, expected {shapes[1]}"
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(mismatches(got, want, tol))),
                                                   want.shape))
    return (f"no known fault explains it; first difference at {element(name, index)}:\n"
            f"    expected {element(name, index)} = {expression(index)} = {want[index]:.6g}\n"
            f"    your function returns {got[index]:.6g}")


def diagnose_linear(model: Model, family: Sequence[FaultFunction], args: tuple[Any, ...],
                    got: np.ndarray, tol: float, names: tuple[str, str]) -> str:
    """The diagnosis of a linear operation from its outputs on an :func:`.probe.impulses` batch,
    screening candidates on the batch's random inputs."""
    tail = (args[0][-EXTRA:], *args[1:])
    found = find(model, family, (args, got), tol, screen=(tail, got[-EXTRA:]))
    if not found:
        return explain_linear(model, args, got, tol, names)
    if not found[0].faults:
        return BATCH_DEPENDENT
    return describe(found)
