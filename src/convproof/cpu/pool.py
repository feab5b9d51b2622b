"""Max and average pooling over strided windows on NumPy, with PyTorch's semantics.

Per spatial axis (input n, kernel k, stride s, padding p, dilation d, output o from PoolSpec),
tap t of output i sits at input position s*i - p + d*t:

    max   y[b, c, i] = max over taps inside [0, n) of x[b, c, s*i - p + d*t]   (see .maxima)
    avg   y[b, c, i] = (1 / D_i) sum_{t < k} x_0[b, c, s*i - p + t]       (x_0: zero-padded x)

Both are separable.  The max reduces one axis at a time over its table of tap positions.  For
the average the input is zero-padded once (p before, as much after as ceil_mode windows reach),
so that one tap of all windows along an axis is one strided slice; D_i is a product of per-axis
counts, |[s*i - p, s*i - p + k) ∩ [-p, n + p)| with count_include_pad, else
|[s*i - p, s*i - p + k) ∩ [0, n)|.  The adjoint spreads g / D back through the same slices.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..spec import PoolSpec
from . import maxima, threads
from .maxima import Strided, along, window_max
from .unfold import strided


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a strided pool: tap t of output i at s*i - p + d*t."""

    n: int
    o: int
    k: int
    s: int
    p: int
    d: int

    @property
    def after(self) -> int:
        """Padding after the input that the last window reaches (ceil_mode can pass p)."""
        return max(0, self.s * (self.o - 1) + self.d * (self.k - 1) + 1 - self.n - self.p)

    def tap(self, t: int) -> slice:
        """Tap t of every window, in the coordinates of the padded axis."""
        return strided(self.d * t, self.o, self.s)

    def windows(self) -> Strided:
        """Tap t of output i at s*i - p + d*t, counted where inside the input [0, n)."""
        return Strided(self.n, self.o, self.k, self.s, self.p, self.d)

    def divisor(self, count_include_pad: bool) -> np.ndarray:
        """The per-axis factor of D_i: the window clipped to [-p, n + p), or to [0, n)."""
        start = self.s * np.arange(self.o) - self.p
        if count_include_pad:
            return np.minimum(start + self.k, self.n + self.p) - start
        return np.minimum(start + self.k, self.n) - np.maximum(start, 0)


def _axes(spec: PoolSpec, input_size: Sequence[int]) -> list[_Axis]:
    """The axes, with stride 1 where there is one output: its window starts at -p whatever the
    stride (a stride of 2^63 would overflow the starts, and phases would be made per stride)."""
    return [_Axis(n, o, k, s if o > 1 else 1, p, d) for n, o, k, s, p, d in zip(
        input_size, spec.output_size(input_size), spec.kernel_size, spec.stride, spec.padding,
        spec.dilation)]


def _padded(x: np.ndarray, axes: Sequence[_Axis], value: float) -> np.ndarray:
    widths = [(0, 0), (0, 0)] + [(a.p, a.after) for a in axes]
    return np.pad(x, widths, constant_values=value)


def _divisor(axes: Sequence[_Axis], count_include_pad: bool, dtype: np.dtype) -> np.ndarray:
    """D over the output positions: the outer product of the per-axis counts."""
    factors = np.ix_(*(a.divisor(count_include_pad) for a in axes))
    return functools.reduce(np.multiply, factors).astype(dtype)


def max_pool(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max_{t: 0 <= s*i - p + d*t < n} x[b, c, s*i - p + d*t], with flat indices
    (see :func:`.maxima.window_max`)."""
    return window_max(x, [a.windows() for a in _axes(spec, x.shape[2:])])


def avg_pool(x: np.ndarray, spec: PoolSpec, count_include_pad: bool) -> np.ndarray:
    """y[b, c, i] = (1 / D_i) sum_{t < k} x_0[b, c, s*i - p + t], one axis after the other
    (the channels over the threads in blocks, as for the max)."""
    axes = _axes(spec, x.shape[2:])
    divisor = _divisor(axes, count_include_pad, x.dtype)
    y = np.empty((*x.shape[:2], *(a.o for a in axes)), dtype=x.dtype)

    def one_block(channels: slice) -> None:
        total = _padded(x[:, channels], axes, 0)
        for axis, a in enumerate(axes, start=2):
            total = functools.reduce(np.add, (total[along(axis, a.tap(t))] for t in range(a.k)))
        np.divide(total, divisor, out=y[:, channels])

    threads.blocks(one_block, x.shape[1], x[:, :1].nbytes, maxima.BLOCK_BYTES, x.size)
    return y


def avg_pool_backward(g: np.ndarray, spec: PoolSpec, count_include_pad: bool,
                      input_size: Sequence[int]) -> np.ndarray:
    """The adjoint of :func:`avg_pool`: grad[b, c, s*i - p + t] += g[b, c, i] / D_i (inside)."""
    axes = _axes(spec, input_size)
    divisor = _divisor(axes, count_include_pad, g.dtype)
    grad_x = np.empty((*g.shape[:2], *input_size), dtype=g.dtype)

    def one_block(channels: slice) -> None:
        grad = g[:, channels] / divisor
        for axis, a in enumerate(axes, start=2):
            spread = np.zeros((*grad.shape[:axis], a.p + a.n + a.after, *grad.shape[axis + 1:]),
                              dtype=g.dtype)
            for t in range(a.k):
                spread[along(axis, a.tap(t))] += grad
            grad = spread[along(axis, slice(a.p, a.p + a.n))]
        grad_x[:, channels] = grad

    threads.blocks(one_block, g.shape[1], grad_x[:, :1].nbytes, maxima.BLOCK_BYTES,
                   grad_x.size)
    return grad_x
