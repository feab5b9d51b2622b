"""Diagnosis: which known fault, or which pair of faults, explains what an implementation did.

The implementation's outputs on a probe batch are compared with the predictions of the correct
model, of every single fault of the family, then of every pair: first the output shape, then
the float64 reference (fast), and last the derived matrices, which must agree too.  When no
model fits, the first mismatching output is shown with its expected expression, printed from
the derived matrix row, beside what the implementation computes there.

Before any matching the probe outputs must be fit for it: finite, the same for a sample alone
as in the batch, and (for a linear operation) affine.  An implementation that returns float64
numbers that are all float32 numbers is matched again at float32's tolerance, and the diagnosis
says that it computes in float32.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from .compare import (FLOAT32_TOLERANCE, TF32, TF32_LEVEL, close, mismatches, not_finite,
                      rounded_to)
from .derived import derive, element, sum_text
from .faults import FaultFunction, axis_names, pairs, singles, size_formula
from .models import Fault, Model
from .interop import Caller
from .probe import EXTRA, recover


BATCH_DEPENDENT = ("your function is right on the probe batch but not on the random inputs it "
                   "was checked on (below): its output depends on the batch (its size or its "
                   "other elements), on the values (large or mostly zero), or on earlier calls "
                   "(state kept between calls)")
LOWER_PRECISION = ("it agrees only within float32 precision: it computes in float32 or lower "
                   "although its inputs and outputs are float64 (check it with dtype=np.float32 "
                   "if that is meant)")


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


def match(base: Candidate, family: Sequence[FaultFunction], probe: Probe, tol: float,
          screen: Probe | None = None) -> str | None:
    """The diagnosis of :func:`find`'s models, None when none fits.  Where none fits at ``tol``
    but one does at float32's tolerance and the outputs are float32 numbers, the diagnosis adds
    that the function computes in float32: the fault shows through its rounding."""
    found, lower = find(base, family, probe, tol, screen), False
    if not found and tol < FLOAT32_TOLERANCE and rounded_to([probe[1]], "float32"):
        found, lower = find(base, family, probe, FLOAT32_TOLERANCE, screen), True
    if not found:
        return None
    if not found[0].faults:
        return LOWER_PRECISION if lower else BATCH_DEPENDENT
    return describe(found) + (f"\n  and {LOWER_PRECISION}" if lower else "")


def probe_trouble(call: Caller, probes: tuple[Any, ...], batched: Sequence[int],
                  outputs: np.ndarray, output: int, name: str) -> str | None:
    """What makes the outputs of a probe batch unfit for matching, if anything: an entry that
    is not finite, or outputs of the batch's last EXTRA samples that change when those samples
    are passed alone (``batched``: the arguments with the batch axis; ``output``: which output
    of the function ``outputs`` is).  Only errors above float32's tolerance count."""
    infinite = not_finite(name, outputs)
    if infinite:
        return f"on the probe inputs {infinite}"
    if len(outputs) != len(probes[batched[0]]):
        return None  # not one output per sample: the shape tells (find, then explain)
    alone = call(*(a[-EXTRA:] if i in batched else a for i, a in enumerate(probes)))[output]
    if close(alone, outputs[-EXTRA:], FLOAT32_TOLERANCE):
        return None
    return (f"your function gives other outputs for the same {EXTRA} samples in a batch of "
            f"{len(outputs)} than alone: its output for a sample depends on the other samples of "
            "the batch (or on state kept between calls)")


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
    """A batched shape with N for its batch size."""
    return f"({', '.join(['N', *map(str, shape[1:])])})"


def shape_pair(got: tuple[int, ...], want: tuple[int, ...], batch: bool = True
               ) -> tuple[str, str]:
    """The two shapes as users read them: with N where both have the batch axis first (the
    size of a probe batch is no concern of users), else as they are."""
    if not batch:
        return str(got), str(want)
    if got[:1] == want[:1]:
        return batched(got), batched(want)
    return str(got), f"{want} for a batch of {want[0]}"


def shape_difference(got: tuple[int, ...], want: tuple[int, ...], name: str,
                     formula: Callable[[int], str]) -> str:
    """Which axes differ, with the size formula(axis) of each spatial one."""
    text = "{} has shape {}, expected {}".format(name, *shape_pair(got, want))
    if len(got) != len(want):
        return f"{text} ({len(want)} dims: N, C, then {len(want) - 2} spatial)"
    names = axis_names(len(want) - 2)
    lines = [f"{names[axis]}: {formula(axis)}, you return {g}"
             for axis, (g, w) in enumerate(zip(got[2:], want[2:])) if g != w]
    return "; ".join([text, *lines])


def _weight_name(value: float, w: np.ndarray, tol: float) -> str | None:
    """The weight symbol whose value ``value`` is, when exactly one is."""
    hits = np.flatnonzero(np.abs(w.ravel() - value) <= tol * max(1.0, abs(value)))
    return element("w", np.unravel_index(hits[0], w.shape)) if len(hits) == 1 else None


def _named(value: float, w: np.ndarray, b: np.ndarray | None, channel: int, tol: float
           ) -> str | None:
    """A coefficient as users wrote it: 0, a weight w[...], the bias b[o] (or b[o] +1e-06 when
    it is off by a little); None for another number."""
    if abs(value) <= tol:
        return "0"
    if b is not None and abs(b[channel] - value) <= tol * max(1.0, abs(value)):
        return element("b", (channel,))
    if b is not None and abs(b[channel] - value) <= 1e-3 * max(1.0, abs(value)):
        return f"{element('b', (channel,))} {value - b[channel]:+.2g}"  # b off by a little
    return _weight_name(value, w, tol)


def _differences(received: np.ndarray, expected: np.ndarray, args: tuple[Any, ...],
                 in_shape: tuple[int, ...], input_name: str, channel: int, tol: float) -> str:
    """Where a recovered row (one coefficient per input entry, then the constant term)
    differs from the expected row; numbers with the digits that tell them apart, a named
    expected coefficient with its value beside a number."""
    _, w, b = args
    last = len(received) - 1
    parts = []
    for col in np.flatnonzero(np.abs(received - expected) > tol):
        source = ("the constant term" if col == last else
                  f"{element(input_name, (0, *np.unravel_index(col, in_shape)))} times")
        bias = b if col == last else None
        values = received[col], expected[col]
        texts = digits(*values)
        got, want = (_named(value, w, bias, channel, tol) for value in values)
        if got is None and want not in (None, "0"):
            want = f"{want} = {texts[1]}"
        parts.append(f"{source} {got or texts[0]} (expected {want or texts[1]})")
    shown = "; ".join(parts[:4])
    return shown if len(parts) <= 4 else f"{shown}; ... ({len(parts)} differences)"


def _not_affine(got: np.ndarray, x: np.ndarray, probes: int
                ) -> tuple[tuple[int, ...], float] | None:
    """The first output on a random input (x[probes:]) that the affine map recovered from the
    outputs on the zero input and the impulses does not predict, and the prediction; None when
    it predicts them all.  Only errors above float32's tolerance count."""
    matrix, offset = recover(got[:probes], x.shape[1:])
    randoms = x[probes:].reshape(len(x) - probes, -1)
    predicted = (randoms @ matrix.T + offset).reshape(got[probes:].shape)
    bad = mismatches(got[probes:], predicted, FLOAT32_TOLERANCE)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
    return (probes + index[0], *index[1:]), float(predicted[index])


SHAPE_UNEXPLAINED = "no known fault explains it: "
"""How a diagnosis begins whose probe returned an output of another shape (told on the probe's
batch, which the runner tells again on the caller's)."""


def explain_linear(model: Model, args: tuple[Any, ...], got: np.ndarray, tol: float,
                   names: tuple[str, str]) -> str:
    """No fault fits a linear model: the first output that differs on the impulses, with its
    expected expression (from the derived matrix) and what the implementation computes."""
    want = model.predict(args, exact=True)
    if got.shape != want.shape:
        return SHAPE_UNEXPLAINED + shape_difference(
            got.shape, want.shape, names[0], functools.partial(size_formula, model))
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
    unpredicted = _not_affine(got, args[0], probes)
    if unpredicted is not None:
        index, predicted = unpredicted
        return (f"your function is not linear in {names[1]}: on a random input its outputs are "
                f"not the sums its impulse responses predict (at {element(names[0], index)}: "
                f"{got[index]:.6g}, predicted {predicted:.6g}, expected {want[index]:.6g}); it "
                "is nonlinear, or batch elements affect each other")
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
            "\n    (on a random input: {}, expected {})".format(
                *digits(got[(sample, *index[1:])], want[(sample, *index[1:])])))


def digits(got: float, want: float) -> tuple[str, str]:
    """The two numbers with enough significant digits (6 to 15) to tell them apart."""
    for count in (6, 9, 12, 15):
        texts = f"{got:.{count}g}", f"{want:.{count}g}"
        if texts[0] != texts[1]:
            break
    return texts


def explain_values(got: np.ndarray, want: np.ndarray, tol: float, name: str,
                   expression: Callable[[tuple[int, ...]], str], batch: bool = True) -> str:
    """No fault fits: the first entry that differs, its expected expression(index) and values
    (``batch``: the first axis of the outputs is the batch)."""
    if got.shape != want.shape:
        return (SHAPE_UNEXPLAINED + "{} has shape {}, expected {}"
                .format(name, *shape_pair(got.shape, want.shape, batch)))
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(mismatches(got, want, tol))),
                                                   want.shape))
    returned, wanted = digits(got[index], want[index])
    return (f"no known fault explains it; first difference at {element(name, index)}:\n"
            f"    expected {element(name, index)} = {expression(index)} = {wanted}\n"
            f"    your function returns {returned}")


def diagnose_linear(model: Model, family: Sequence[FaultFunction], args: tuple[Any, ...],
                    got: np.ndarray, tol: float, names: tuple[str, str]) -> str:
    """The diagnosis of a linear operation from its outputs on an :func:`.probe.impulses` batch,
    screening candidates on the batch's random inputs."""
    tail = (args[0][-EXTRA:], *args[1:])
    found = match(model, family, (args, got), tol, screen=(tail, got[-EXTRA:]))
    if found is None and FLOAT32_TOLERANCE <= tol < TF32_LEVEL:  # a float32 check: TF32 too?
        rounded = match(model, family, (args, got), TF32_LEVEL, screen=(tail, got[-EXTRA:]))
        if rounded not in (None, BATCH_DEPENDENT):
            found = (f"{rounded}\n  and beside that its error is TF32's (within "
                     f"{TF32_LEVEL:.0e}, not {tol:.0e}): a likely cause is {TF32}")
    return found or explain_linear(model, args, got, tol, names)
