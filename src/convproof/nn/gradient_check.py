"""Finite-difference check of a backward pass, in float64, with a report of the worst entry.

For the scalar L(x, w) = <f(x; w), R> with a fixed random R (so dL/dy = R), every checked entry
of every input and parameter is compared with the central difference

    numeric_j = (L(.. + eps e_j ..) - L(.. - eps e_j ..)) / (2 eps)      (error O(eps^2))
    analytic  = backward(R)        (the input gradient; parameters: their ``grad``)

and passes when |analytic_j - numeric_j| <= atol + rtol |numeric_j|.  Where L has a kink within
eps of the entry (a ReLU or a max pooling switching sides: the one-sided differences
(L(+eps) - L)/eps and (L - L(-eps))/eps disagree beyond that tolerance), the central difference
averages two slopes; there the entry passes when the analytic gradient matches one of the
one-sided differences, the slope on the side where the entry lies.  The report counts such
entries.  A layer is checked on a
float64 copy, every evaluation starting from the same copy: a random layer (Dropout) draws the
same mask each time, and the caller's layer (its running statistics, its generator) is left
untouched.  A check that runs longer than a few seconds reports its progress.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays import array_module, check_numeric
from ..progress import Ticker, to_stderr
from ..spec import check_flag
from .module import Array, Module, as_host, integer_in, number_in


class GradcheckError(AssertionError):
    """A backward pass disagrees with finite differences; the message is the report."""


@dataclass(frozen=True)
class Comparison:
    """Analytic against numeric gradient of one array, at the checked flat ``entries``."""

    name: str
    shape: tuple[int, ...]
    entries: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    atol: float
    rtol: float
    forward: np.ndarray
    """(L(+eps) - L)/eps at each entry."""
    backward: np.ndarray
    """(L - L(-eps))/eps at each entry."""

    @property
    def errors(self) -> np.ndarray:
        return np.abs(self.analytic - self.numeric)

    def _ratio(self, numeric: np.ndarray) -> np.ndarray:
        return np.abs(self.analytic - numeric) / (self.atol + self.rtol * np.abs(numeric))

    @property
    def kinks(self) -> np.ndarray:
        """Entries within eps of a kink of L: the one-sided differences disagree."""
        scale = np.maximum(np.abs(self.forward), np.abs(self.backward))
        return np.abs(self.forward - self.backward) > self.atol + self.rtol * scale

    @property
    def ratios(self) -> np.ndarray:
        """error / allowed error per entry, against the central difference, or at a kink the
        nearer one-sided difference: the check passes where this is at most 1."""
        one_sided = np.minimum(self._ratio(self.forward), self._ratio(self.backward))
        central = self._ratio(self.numeric)
        return np.where(self.kinks, np.minimum(central, one_sided), central)

    @property
    def ok(self) -> bool:
        return bool(np.all(self.ratios <= 1))

    def describe(self) -> str:
        if self.entries.size == 0:
            return f"{self.name} {self.shape}: no entries"
        worst = int(np.argmax(self.ratios))
        index = tuple(int(i) for i in np.unravel_index(self.entries[worst], self.shape))
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"{self.name} {self.shape}: {verdict}, worst entry {list(index)}: analytic "
                f"{self.analytic[worst]:.10g}, numeric {self.numeric[worst]:.10g}, "
                f"|difference| {self.errors[worst]:.3g} (allowed "
                f"{self.atol + self.rtol * abs(self.numeric[worst]):.3g}); "
                f"{self.entries.size} entries checked{self._at_kinks()}")

    def _at_kinks(self) -> str:
        """How many entries passed by a one-sided difference only."""
        count = int(np.sum(self.kinks & (self._ratio(self.numeric) > 1) & (self.ratios <= 1)))
        return f", {count} of them at a kink (matched a one-sided difference)" if count else ""


@dataclass(frozen=True)
class GradcheckReport:
    """One :class:`Comparison` per input and parameter; ``ok`` when all pass."""

    comparisons: tuple[Comparison, ...]
    eps: float

    @property
    def ok(self) -> bool:
        return all(comparison.ok for comparison in self.comparisons)

    def __str__(self) -> str:
        head = f"gradcheck (float64, central differences, eps={self.eps:g}): " \
               + ("passed" if self.ok else "FAILED")
        return "\n".join([head, *("  " + c.describe() for c in self.comparisons)])


def _entries(size: int, max_entries: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, max_entries, replace=False))


class _Progress(Ticker):
    """Lines for a long check (:class:`Ticker`'s times) naming the array being checked, with
    the time left estimated from the entries done (every entry costs two evaluations)."""

    def __init__(self, report: Callable[[str], None] | None, total: int, arrays: int) -> None:
        super().__init__(report)
        self.total, self.arrays = total, arrays
        self.before = 0  # entries of the arrays already checked

    def __call__(self, index: int, label: str, size: int, done: int) -> None:
        elapsed = self.due()
        if elapsed is None:
            return
        finished = self.before + done
        left = f", about {elapsed * (self.total - finished) / finished:.0f} s left" \
            if finished else ""
        self.report(f"gradcheck [{index + 1}/{self.arrays}] {label}: {done} of {size} entries, "
                    f"{elapsed:.0f} s{left}")

    def next_array(self, size: int) -> None:
        self.before += size


def _numeric(array: Array, entries: np.ndarray, loss: Callable[[], float], base: float,
             eps: float, tick: Callable[[int], None]) -> np.ndarray:
    """L(+eps) and L(-eps) in the given flat entries of ``array`` (restored), as rows
    (central, forward, backward difference), ``base`` = L unperturbed; ``tick(k)`` before the
    k-th entry."""
    flat = array.reshape(-1)  # a view: the arrays checked here are contiguous copies
    plus, minus = np.empty(entries.size), np.empty(entries.size)
    for k, j in enumerate(entries):
        tick(k)
        original = float(flat[j])
        flat[j] = original + eps
        plus[k] = loss()
        flat[j] = original - eps
        minus[k] = loss()
        flat[j] = original
    return np.stack([(plus - minus) / (2 * eps), (plus - base) / eps, (base - minus) / eps])


PROJECTION_STREAM = 0x6772
"""R and the checked entries come from default_rng([seed, PROJECTION_STREAM]): with
default_rng(seed) itself, R equalled a test's x drawn from default_rng(0), and for y = x Wᵀ the
weight gradient xᵀx is symmetric, so a transposed one passed."""

Target = tuple[str, Array, Any]
"""(name, the array perturbed in place, its analytic gradient)."""


def _layer(layer: Module, x: Array) -> tuple[Callable[[], Array], Callable[[Array], list]]:
    """Evaluation and gradients of a layer, on a float64 copy made once (the template)."""
    template = copy.deepcopy(layer).astype(np.float64)
    template.zero_grad()
    for parameter in template.parameters():  # perturbed through a flat view
        parameter.data = array_module(parameter.data).ascontiguousarray(parameter.data)

    def evaluate() -> Array:
        return copy.deepcopy(template).forward(x)

    def gradients(projection: Array) -> list[Target]:
        model = copy.deepcopy(template)
        model.forward(x)
        grad_input = model.backward(projection)
        # perturb the template's parameters; compare with the gradients the model accumulated
        return [("input", x, grad_input)] + [
            (name, p.data, q.grad) for (name, p), (_, q)
            in zip(template.named_parameters(), model.named_parameters())]

    return evaluate, gradients


def _function(fn: Callable[..., Array], backward: Callable[..., Any], arrays: list[Array]
              ) -> tuple[Callable[[], Array], Callable[[Array], list]]:
    """Evaluation and gradients of a function with its backward."""
    def evaluate() -> Array:
        return fn(*arrays)

    def gradients(projection: Array) -> list[Target]:
        grads = backward(projection, *arrays)
        grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
        if len(grads) != len(arrays):
            raise ValueError(f"backward returned {len(grads)} gradients for {len(arrays)} "
                             "inputs")
        names = ["input"] if len(arrays) == 1 else [f"input[{k}]" for k in range(len(arrays))]
        return list(zip(names, arrays, grads))

    return evaluate, gradients


def gradcheck(layer_or_fn: Module | Callable[..., Array], inputs: Array | Sequence[Array], *,
              backward: Callable[..., Any] | None = None, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, max_entries: int | None = None,
              seed: int = 0, raise_on_failure: bool = True,
              progress: Callable[[str], None] | None = to_stderr) -> GradcheckReport:
    """Check a layer's backward (input and parameter gradients), or a function's.

    A :class:`Module` takes one input array.  A function ``fn(*inputs) -> y`` needs
    ``backward(grad_output, *inputs)``, returning the gradient of each input (a tuple, or one
    array for one input).  ``max_entries`` checks at most that many random entries per array
    (all by default), ``seed`` picks which.  Raises :class:`GradcheckError` with the report
    when a check fails, unless ``raise_on_failure=False``; returns the report.  Every entry
    costs two forward evaluations; a check running longer than 2 s reports its progress to
    ``progress`` (a line every 10 s; stderr by default, ``None`` for none).
    """
    eps = number_in("eps", eps, 0, open_low=True)
    atol, rtol = number_in("atol", atol, 0), number_in("rtol", rtol, 0)
    if atol == rtol == 0:
        raise ValueError("atol and rtol are both 0: no difference would be allowed, not even "
                         "the rounding of the central difference")
    if max_entries is not None:
        max_entries = integer_in("max_entries", max_entries, 1)
    raise_on_failure = check_flag("raise_on_failure", raise_on_failure)
    seed = integer_in("seed", seed, 0)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable taking a line, or None, got "
                        f"{type(progress).__name__}")
    arrays = [inputs] if hasattr(inputs, "shape") else list(inputs)
    if not arrays:
        raise ValueError("inputs is empty: there is no gradient to check")
    for k, array in enumerate(arrays):
        check_numeric(f"inputs[{k}]", array)
    arrays = [array_module(a).array(a, dtype=np.float64, order="C") for a in arrays]
    if isinstance(layer_or_fn, Module):
        if len(arrays) != 1:
            raise ValueError(f"a layer takes one input array, got {len(arrays)}")
        if backward is not None:
            raise TypeError("backward is for a function: a layer's backward is its own")
        evaluate, gradients = _layer(layer_or_fn, arrays[0])
    elif callable(layer_or_fn):
        if backward is None:
            raise TypeError("checking a function needs backward(grad_output, *inputs)")
        evaluate, gradients = _function(layer_or_fn, backward, arrays)
    else:
        raise TypeError(f"layer_or_fn must be a Module or a callable, got "
                        f"{type(layer_or_fn).__name__}")
    rng = np.random.default_rng([seed, PROJECTION_STREAM])  # not the stream of the inputs
    y = evaluate()
    if not isinstance(getattr(y, "dtype", None), np.dtype):
        raise TypeError(f"layer_or_fn returned {type(y).__name__}, not an array: return a NumPy "
                        "or CuPy array (0-d for a scalar)")
    projection = array_module(y).asarray(rng.standard_normal(y.shape))

    def loss() -> float:
        return float((evaluate() * projection).sum())

    targets = gradients(projection)
    base = loss()
    checked = [_entries(array.size, max_entries, rng) for _, array, _ in targets]
    if not any(entries.size for entries in checked):
        raise ValueError("every input and parameter is empty: there is no gradient to check")
    tracker = _Progress(progress, sum(e.size for e in checked), len(targets))
    comparisons = []
    for index, ((name, array, grad), entries) in enumerate(zip(targets, checked)):
        if grad is not None and tuple(grad.shape) != tuple(array.shape):
            raise ValueError(f"the gradient of {name} has shape {tuple(grad.shape)}, but "
                             f"{name} has shape {tuple(array.shape)}")
        flat_grad = np.zeros(array.size) if grad is None else as_host(grad).reshape(-1)
        label = f"{name} {tuple(array.shape)}"
        central, ahead, behind = _numeric(
            array, entries, loss, base, eps, functools.partial(tracker, index, label, entries.size))
        tracker.next_array(entries.size)
        comparisons.append(Comparison(name, tuple(array.shape), entries, flat_grad[entries],
                                      central, atol, rtol, ahead, behind))
    report = GradcheckReport(tuple(comparisons), eps)
    if raise_on_failure and not report.ok:
        raise GradcheckError(str(report))
    return report
