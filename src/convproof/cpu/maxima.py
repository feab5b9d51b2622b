"""The max over pooling windows with PyTorch's rules, and the routing of its subgradient.

A window is a product of per-axis windows.  Along one axis, tap t of output i sits at input
position start[i] + step·t, counted where it lies inside the input (and inside the window of
an adaptive pool).  PyTorch visits the taps in row-major order; its running max starts at -inf
with index -1 and is replaced wherever a counted tap has

    x > max,   or x is NaN,   or no tap has been taken yet,

so ties keep the first position, a NaN wins (the last NaN of the window) and an all -inf window
points at its first counted position.  A window without any counted position (possible only in
the padding, with dilation) keeps -inf and index -1.

The same rule applied one axis at a time, last axis first, gives the same max and position:
within a row the rule picks the first maximum (or the last NaN), and across rows the row maxima
compete by the same rule in row order.  So the taps cost sum_a T_a passes, not prod_a T_a.
Along one axis the rule is computed in three vectorized sweeps over the taps: the max
(np.maximum propagates NaN), then the first tap equal to it (taps visited backwards, each
overwriting), then, only where the max is NaN, the last NaN tap.  Indices are flat row-major
indices into the input's spatial dims, int64.

Backward (the pooling-backward theorem): grad_x[b, c, idx[b, c, i]] += g[b, c, i], summed where
windows overlap; index -1 receives nothing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..spec import PoolSpec
from . import threads


@dataclass(frozen=True)
class Strided:
    """Windows of a strided pool along one axis: tap t of output i at s·i - p + d·t."""

    n: int
    o: int
    taps: int
    stride: int
    padding: int
    dilation: int

    @property
    def starts(self) -> np.ndarray:
        return self.stride * np.arange(self.o) - self.padding

    @property
    def step(self) -> int:
        return self.dilation

    def reaching(self) -> range:
        """The taps t that some output reads inside the input, d·t - p + s·i in [0, n) for an
        i < o: a kernel far wider than the input, its padding as wide, reads few of them."""
        s, d, p = self.stride, self.dilation, self.padding
        low = max(0, -((s * (self.o - 1) - p) // d))  # ceil((p - s (o - 1)) / d)
        return range(low, max(low, min(self.taps, (self.n - 1 + p) // d + 1)))

    def sweep(self) -> Iterator[tuple[int, slice, slice, None]]:
        """(t, outputs whose tap t is inside the input, their input positions, None) for every
        tap that reaches the input (the outputs may be none)."""
        s, d = self.stride, self.dilation
        for t in self.reaching():
            offset = d * t - self.padding  # input position of tap t of output 0
            first = max(0, -(offset // s))
            last = max(first, min(self.o, (self.n - 1 - offset) // s + 1))
            inputs = slice(offset + s * first, offset + s * (last - 1) + 1, s)
            yield t, slice(first, last), inputs if last > first else slice(0, 0), None


@dataclass(frozen=True)
class Listed:
    """Windows given by tables (adaptive pools): tap t of output i at pos[i, t], counted where
    counted[i, t]; pos[i, t] = start[i] + t."""

    pos: np.ndarray
    counted: np.ndarray

    @property
    def starts(self) -> np.ndarray:
        return self.pos[:, 0]

    @property
    def step(self) -> int:
        return 1

    @property
    def o(self) -> int:
        return self.pos.shape[0]

    @property
    def taps(self) -> int:
        return self.pos.shape[1]

    def reaching(self) -> range:
        return range(self.taps)

    def sweep(self) -> Iterator[tuple[int, slice, np.ndarray, np.ndarray]]:
        """(t, every output, the positions of tap t, whether each is counted)."""
        for t in range(self.pos.shape[1]):
            yield t, slice(None), self.pos[:, t], self.counted[:, t]


Windows = Strided | Listed


def along(axis: int, index: slice | np.ndarray) -> tuple:
    """``index`` on one axis, everything on the axes before it."""
    return (slice(None),) * axis + (index,)


class _Reader:
    """The values of one axis read tap by tap, -inf where a tap is not counted.

    A strided pool along the last (contiguous) axis first splits it into its s phases
    (one copy), so that every tap is a contiguous slice of one phase.
    """

    def __init__(self, values: np.ndarray, axis: int, windows: Windows):
        self.values, self.axis = values, axis
        self.phases = None
        if isinstance(windows, Strided) and windows.stride > 1 and axis == values.ndim - 1:
            self.phases = [np.ascontiguousarray(values[..., p::windows.stride])  # those
                           for p in range(min(windows.stride, values.shape[-1]))]  # holding x

    def __call__(self, inputs, counted: np.ndarray | None) -> np.ndarray:
        if isinstance(inputs, slice):
            if self.phases is None or inputs.start == inputs.stop:
                return self.values[along(self.axis, inputs)]
            step = inputs.step
            return self.phases[inputs.start % step][..., inputs.start // step:
                                                    (inputs.stop - 1) // step + 1]
        tap = np.take(self.values, inputs, axis=self.axis, mode="clip")
        mask = counted.reshape((-1,) + (1,) * (self.values.ndim - 1 - self.axis))
        return np.where(mask, tap, -np.inf).astype(self.values.dtype, copy=False)


def _index_dtype(taps: int) -> np.dtype:
    return np.dtype(np.int8 if taps < 2**7 else np.int32 if taps < 2**31 else np.int64)


def _running_max(values: np.ndarray, axis: int, windows: Windows
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Max over the windows of one axis and the tap where it sits (-1: no counted tap).

    The tap is the number of taps before the first one equal to the max,
    Σ_t [no tap u ≤ t equals the max], counted with boolean arithmetic (no masked stores) from
    the first tap that reaches the input (those before it are counted at once); where none
    equals it (NaN, or nothing counted) the last NaN tap is taken, else -1.
    """
    read = _Reader(values, axis, windows)
    shape = values.shape[:axis] + (windows.o,) + values.shape[axis + 1:]
    best = np.full(shape, -np.inf, dtype=values.dtype)
    for _, outputs, inputs, counted in windows.sweep():
        part = best[along(axis, outputs)]
        np.maximum(part, read(inputs, counted), out=part)
    chosen = np.full(shape, windows.reaching().start, dtype=_index_dtype(windows.taps))
    missing = np.ones(shape, dtype=np.bool_)
    for _, outputs, inputs, counted in windows.sweep():
        part = missing[along(axis, outputs)]
        np.greater(part, read(inputs, counted) == best[along(axis, outputs)], out=part)
        np.add(chosen, missing, out=chosen)
    if missing.any():
        chosen[missing] = -1
        for t, outputs, inputs, counted in windows.sweep():
            where = along(axis, outputs)
            chosen[where] = np.where(np.isnan(read(inputs, counted)), t, chosen[where])
    return best, chosen


def _select(taps: np.ndarray, axis: int, windows: Windows, chosen: np.ndarray) -> np.ndarray:
    """taps (an earlier axis' tap indices, before this axis is reduced) at this axis' chosen
    tap: Σ_t [chosen = t] · taps[tap t], in the small index dtype."""
    read = _Reader(taps, axis, windows)
    selected = np.zeros(chosen.shape, dtype=taps.dtype)
    for t, outputs, inputs, counted in windows.sweep():
        where = along(axis, outputs)
        selected[where] += (chosen[where] == t) * read(inputs, None if counted is None
                                                       else np.ones_like(counted))
    return selected


BLOCK_BYTES = 3 * 2**20
"""Input bytes per block of channels: a block's sweeps (its phases, running max and taps)
then stay in a core's cache (8 x 64 planes of 112 x 112, 3x3/2, two threads: 23-25 ms
unblocked, 16 ms in blocks of 7-10 channels; benchmarks/NOTES.md)."""


def window_max(x: np.ndarray, windows: Sequence[Windows]) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max of x over the window of i (one Windows per spatial axis), with the
    flat index: the channels cut over the threads, each part in blocks of BLOCK_BYTES of x."""
    shape = (*x.shape[:2], *(win.o for win in windows))
    y, indices = np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=np.int64)

    def one_block(channels: slice) -> None:
        y[:, channels], indices[:, channels] = _window_max(x[:, channels], windows)

    threads.blocks(one_block, x.shape[1], x[:, :1].nbytes, BLOCK_BYTES, x.size)
    return y, indices


def _window_max(x: np.ndarray, windows: Sequence[Windows]) -> tuple[np.ndarray, np.ndarray]:
    """The max of :func:`window_max` over all of x.

    The axes are reduced last first, each carrying the taps chosen along the axes before;
    the flat index is Σ_a (start_a[i_a] + step_a · tap_a) · stride_a, -1 for empty windows.
    """
    values, taps = x, []
    for axis in reversed(range(2, x.ndim)):
        win = windows[axis - 2]
        values, chosen = _running_max(values, axis, win)
        taps = [chosen, *(_select(t, axis, win, chosen) for t in taps)]
    strides = [math.prod(x.shape[axis + 1:]) for axis in range(2, x.ndim)]
    starts = functools.reduce(np.add.outer, [win.starts * stride
                                             for win, stride in zip(windows, strides)])
    flat = np.empty(values.shape, dtype=np.int64)
    flat[...] = starts
    for win, tap, stride in zip(windows, taps, strides):
        flat += np.multiply(tap, win.step * stride, dtype=np.int64)
    empty = [tap < 0 for tap in taps]
    if any(e.any() for e in empty):
        flat[np.logical_or.reduce(empty)] = -1
    _first_zero(values, flat, x)
    return values, flat


def _first_zero(values: np.ndarray, flat: np.ndarray, x: np.ndarray) -> None:
    """A max of 0 takes the sign of the zero at its index, the first of the window: np.maximum
    keeps either operand of a tie between 0.0 and -0.0."""
    zero = values == 0
    if zero.any():
        planes = x.reshape(*x.shape[:2], -1)
        at_index = np.take_along_axis(planes, flat.reshape(*flat.shape[:2], -1), axis=2)
        values[zero] = at_index.reshape(values.shape)[zero]


ROUTE_BINS = 2**18
"""Input positions routed to by one np.add.at (float32: 1 MiB, in a core's cache).  8 x 64
planes of 112 x 112, two threads: 3.7 ms against 4.7-5.9 for one np.bincount (float64 bins)
per such group (2**18 to 2**20 best of 2**16 to 2**22; benchmarks/NOTES.md item 55)."""


def max_pool_backward(g: np.ndarray, indices: np.ndarray, input_size: Sequence[int],
                      spec: PoolSpec | None = None, returned: bool = False) -> np.ndarray:
    """grad_x[b, c, j] = sum of g[b, c, i] over the outputs i whose max sits at flat index j.

    The flat indices say where every error goes; ``spec`` (the pooling window, which a GPU
    backend uses to gather instead of scatter) and whether max_pool ``returned`` them are not
    needed here.

    One np.add.at over (plane, j) per group of planes of at most ROUTE_BINS positions, the
    groups cut over the threads; index -1 routes nothing.  np.add.at adds in the order of the
    outputs, in the dtype of g, as PyTorch's CPU loop does (the same bits).
    """
    length = math.prod(input_size)
    flat_g = g.reshape(-1, math.prod(g.shape[2:]))
    flat_indices = indices.reshape(flat_g.shape)
    grad = np.empty((flat_g.shape[0], length), dtype=g.dtype)

    def route(planes: slice) -> None:
        block, index, errors = grad[planes], flat_indices[planes], flat_g[planes]
        block.fill(0)
        target = index + np.arange(len(index), dtype=np.int64)[:, None] * length
        if index.min(initial=0) < 0:
            kept = index >= 0
            target, errors = target[kept], errors[kept]
        np.add.at(block.reshape(-1), target.reshape(-1), errors.reshape(-1))

    threads.blocks(route, flat_g.shape[0], length, ROUTE_BINS, g.size)
    return grad.reshape(*g.shape[:2], *input_size)
