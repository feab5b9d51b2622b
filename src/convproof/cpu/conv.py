"""Zero-padded N-d correlation on NumPy and its two adjoints, by the fastest path that fits.

Each path is its own module with the same three functions (correlate, correlate_input_grad,
correlate_weight_grad, or the ones it offers) and a rule saying when it computes a problem:

    pointwise   kernels of one tap: a plain GEMM per sample            (pointwise.py)
    depthwise   one input channel per group: a loop over the taps      (depthwise.py)
    phases      strided input gradients: a stride-1 correlation per phase  (phases.py)
    winograd    2-D 3x3, stride 1, any dilation: F(4x4, 3x3), GEMMs    (winograd.py)
    im2col      every correlation: unfold + one GEMM per group         (im2col.py)

The first path in that order that fits and that its cost rule prefers computes the call
(unless it would compute terms the definition lacks with an operand holding nan or ±inf: then
im2col, see :func:`choose`);
``path=`` forces one by name, and a path that cannot compute the problem is refused with a
ValueError naming it and the problem; ``with forced(name):`` makes every call that the path
can compute take it (the tests run every path through the functional API this way).

A large winograd, phases or im2col call is cut by samples over the threads
(:func:`threads.each`): each thread runs the whole chain of copies and GEMMs for its samples
with a single-threaded BLAS, which beats one chain whose GEMMs and copies are split and wait
for each other (1.1-1.8x on 2 cores, benchmarks/NOTES.md); the weight gradient sums the
parts' results.
The depthwise path cuts its channels over the threads itself.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from ..arrays import all_finite, largest_magnitude
from ..spec import Pads, padded_size
from . import depthwise, im2col, phases, pointwise, threads, unfold, winograd

OPERATIONS = ("correlate", "correlate_input_grad", "correlate_weight_grad")

SPLIT_MACS = 1 << 22
"""Calls of fewer multiply-adds are not cut by samples (their BLAS and copies still use the
threads); nor are those whose GEMMs would be narrower than SPLIT_WIDTH (see _by_samples)."""
SPLIT_WIDTH = 4


@dataclass(frozen=True)
class Problem:
    """What a path needs to know to decide: the sizes of one correlation."""

    batch: int
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    out_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int

    @property
    def positions(self) -> int:
        """Output positions over the whole batch."""
        return self.batch * math.prod(self.out_size)

    @property
    def macs(self) -> int:
        """Multiply-adds of the direct sum."""
        per_position = self.in_channels // self.groups * math.prod(self.kernel_size)
        return self.positions * self.out_channels * per_position

    def describe(self) -> str:
        return (f"kernel {self.kernel_size}, stride {self.stride}, dilation {self.dilation}, "
                f"groups {self.groups}, {self.in_channels} -> {self.out_channels} channels")


def _winograd_keeps_finite(p: Problem, operation: str, largest: dict[str, float],
                           dtype: np.dtype) -> bool:
    """:func:`winograd.keeps_finite` with the terms each sum adds: the channels of a group
    (C_in/G; C_out/G for the input gradient), or for the weight gradient its tiles (at most
    the batch's output positions)."""
    terms = {"correlate": p.in_channels // p.groups,
             "correlate_input_grad": p.out_channels // p.groups}.get(operation, p.positions)
    return winograd.keeps_finite(operation, largest, terms, dtype)


def _winograd_preferred(p: Problem) -> bool:
    """F(4x4, 3x3) pays its weight transform back when the output positions are at least
    twice the larger channel count per group (about one 4x4 tile per 8 channels)."""
    return p.positions >= 2 * max(p.in_channels, p.out_channels) // p.groups


@dataclass(frozen=True)
class Path:
    name: str
    module: ModuleType
    fits: Callable[[Problem], bool]
    prefers: Callable[[Problem], bool] = lambda problem: True
    operations: tuple[str, ...] = OPERATIONS
    by_samples: bool = False
    """Cut the batch over the threads (its functions then take ``out=`` in the forward and
    the input gradient); else one call whose BLAS and copies use the threads."""
    extra_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """operation -> the operands whose entries it multiplies in terms the definition does not
    have (zeros times them, or mixed by a transform; see :func:`choose`)."""
    keeps_finite: Callable[[Problem, str, dict[str, float], np.dtype], bool] | None = None
    """For a path whose transforms can grow values: whether its intermediates stay finite for
    operands of the given largest magnitudes (then it also decides the finiteness check)."""


PATHS: dict[str, Path] = {path.name: path for path in (
    Path("pointwise", pointwise, lambda p: pointwise.applies(p.kernel_size)),
    Path("depthwise", depthwise, lambda p: depthwise.applies(p.in_channels, p.groups),
         extra_terms={"correlate_input_grad": ("w",), "correlate_weight_grad": ("x",)}),
    Path("phases", phases, lambda p: True,
         lambda p: phases.prefers(p.in_channels, p.out_channels, p.stride),
         operations=("correlate_input_grad",), by_samples=True,
         extra_terms={"correlate_input_grad": ("w",)}),
    Path("winograd", winograd, lambda p: winograd.applies(p.kernel_size, p.stride),
         _winograd_preferred, by_samples=True,
         extra_terms={"correlate": ("x", "w"), "correlate_input_grad": ("g", "w"),
                      "correlate_weight_grad": ("x", "g")},
         keeps_finite=_winograd_keeps_finite),
    Path("im2col", im2col, lambda p: True, by_samples=True),
)}


_FORCED: list[str] = []


@contextlib.contextmanager
def forced(path: str) -> Iterator[None]:
    """Within the block, every call that ``path`` can compute takes it (for tests that run the
    whole functional API, padding modes included, through one path)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
    _FORCED.append(path)
    try:
        yield
    finally:
        _FORCED.pop()


def choose(problem: Problem, operation: str, path: str | None = None,
           operands: dict[str, np.ndarray] | None = None) -> Path:
    """The path that computes ``operation`` for ``problem``: ``path`` if given, else the
    :func:`forced` one where it can, else the first that fits and is preferred.

    A path that computes ``operation`` with terms the definition does not have is not chosen
    by itself where the ``operands`` (by name: x, w, g) in those terms have an entry that is
    nan or ±inf, since 0·inf = nan: Winograd's transforms mix the n x n inputs of a tile (one
    inf makes every output of its tiles nan, where the definition makes only the outputs whose
    windows read it non-finite, and keeps ±inf); the depthwise weight gradient reads x over the
    extra columns of a row's pitch, and the depthwise and phases input gradients multiply w by
    a zero-padded gradient.  Winograd's transforms also multiply magnitudes (by up to 196 for
    the input), so it is not chosen either where finite operands are large enough to overflow
    an intermediate that the definition does not compute (:func:`winograd.keeps_finite`).
    im2col takes the definition's terms.
    """
    if path is None:
        if _FORCED:
            chosen = PATHS[_FORCED[-1]]
            if operation in chosen.operations and chosen.fits(problem):
                return chosen
        chosen = next(p for p in PATHS.values() if operation in p.operations
                      and p.fits(problem) and p.prefers(problem))
        mixed = chosen.extra_terms.get(operation, ())
        if operands and mixed and not _safe(chosen, problem, operation,
                                            {name: operands[name] for name in mixed}):
            return PATHS["im2col"]
        return chosen
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
    chosen = PATHS[path]
    if operation not in chosen.operations or not chosen.fits(problem):
        raise ValueError(f"path={path!r} does not compute {operation} for {problem.describe()}")
    return chosen


def _safe(path: Path, problem: Problem, operation: str, mixed: dict[str, np.ndarray]) -> bool:
    """Whether ``path`` may compute ``operation`` on the operands it mixes: all finite, and
    for a path that grows values (:attr:`Path.keeps_finite`) small enough to stay finite."""
    if path.keeps_finite is None:
        return all(all_finite(array) for array in mixed.values())
    largest = {name: largest_magnitude(array) for name, array in mixed.items()}
    return path.keeps_finite(problem, operation, largest, np.result_type(*mixed.values()))


def _by_samples(path: Path, problem: Problem) -> bool:
    """Whether to cut the batch over the threads (:func:`threads.each`): for a path whose
    chain of copies and GEMMs gains from it, when each thread gets a sample, enough
    multiply-adds to repay the start, and GEMMs at least SPLIT_WIDTH times wider (positions)
    than tall (channels): narrower ones run slower on one thread each than whole on all, and
    every thread pays the weights' transform."""
    if not (path.by_samples and problem.macs >= SPLIT_MACS and threads.splits(problem.batch)):
        return False
    per_thread = problem.positions // len(threads.parts(problem.batch))
    channels = max(problem.in_channels, problem.out_channels) // problem.groups
    return per_thread >= SPLIT_WIDTH * channels


def _problem(batch: int, in_channels: int, out_channels: int, kernel_size: Sequence[int],
             out_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
             groups: int) -> Problem:
    return Problem(batch, in_channels, out_channels, tuple(kernel_size), tuple(out_size),
                   tuple(stride), tuple(dilation), groups)


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int, *, path: str | None = None) -> np.ndarray:
    """y[b, o, i] = sum_{c', m} w[o, c', m] x_pad[b, g*Ci + c', s*i + d*m] (x zero-padded)."""
    padded = padded_size(x.shape[2:], pads)
    out_size = unfold.window_count(padded, w.shape[2:], stride, dilation)
    if x.shape[0] == 0:  # no samples: nothing to compute
        return np.zeros((0, w.shape[0], *out_size), dtype=x.dtype)
    problem = _problem(x.shape[0], x.shape[1], w.shape[0], w.shape[2:], out_size, stride,
                       dilation, groups)
    chosen = choose(problem, "correlate", path, dict(x=x, w=w))
    if not _by_samples(chosen, problem):
        return chosen.module.correlate(x, w, stride, pads, dilation, groups)
    y = np.empty((x.shape[0], w.shape[0], *out_size), dtype=x.dtype)
    threads.each(lambda samples: chosen.module.correlate(
        x[samples], w, stride, pads, dilation, groups, out=y[samples]), x.shape[0])
    return y


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         *, path: str | None = None) -> np.ndarray:
    """A^T g: z_pad[b, g*Ci + c', s*i + d*m] += w[o, c', m] g[b, o, i], cropped to ``input_size``.

    Positions of z_pad that no window reaches (the rows the floor rule dropped, or the
    output_padding of a transposed conv) stay zero.
    """
    if g.shape[0] == 0:
        return np.zeros((0, w.shape[1] * groups, *input_size), dtype=g.dtype)
    problem = _problem(g.shape[0], w.shape[1] * groups, w.shape[0], w.shape[2:], g.shape[2:],
                       stride, dilation, groups)
    chosen = choose(problem, "correlate_input_grad", path, dict(g=g, w=w))
    if not _by_samples(chosen, problem):
        return chosen.module.correlate_input_grad(g, w, stride, pads, dilation, groups,
                                                  input_size)
    z = np.empty((g.shape[0], problem.in_channels, *input_size), dtype=g.dtype)
    threads.each(lambda samples: chosen.module.correlate_input_grad(
        g[samples], w, stride, pads, dilation, groups, input_size, out=z[samples]), g.shape[0])
    return z


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int, kernel_size: Sequence[int],
                          *, path: str | None = None) -> np.ndarray:
    """dw[o, c', m] = sum_b sum_i g[b, o, i] x_pad[b, g*Ci + c', s*i + d*m]."""
    if x.shape[0] == 0:  # a sum over no samples
        return np.zeros((g.shape[1], x.shape[1] // groups, *kernel_size), dtype=x.dtype)
    problem = _problem(x.shape[0], x.shape[1], g.shape[1], kernel_size, g.shape[2:], stride,
                       dilation, groups)
    chosen = choose(problem, "correlate_weight_grad", path, dict(x=x, g=g))
    if not _by_samples(chosen, problem):
        return chosen.module.correlate_weight_grad(x, g, stride, pads, dilation, groups,
                                                   kernel_size)
    partials = threads.each(lambda samples: chosen.module.correlate_weight_grad(
        x[samples], g[samples], stride, pads, dilation, groups, kernel_size), x.shape[0])
    return functools.reduce(np.add, partials)
