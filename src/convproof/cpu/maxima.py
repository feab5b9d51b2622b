"""The max over pooling windows with PyTorch's rules, and the routing of its subgradient.

A window is a product of per-axis windows, given per spatial axis by a table: pos[i, t] is the
input position of tap t of output i and counted[i, t] whether it takes part (inside the input,
inside an adaptive window).  PyTorch visits the taps in row-major order; its running max starts
at -inf with index -1 and is replaced wherever a counted tap has

    x > max,   or x is NaN,   or no tap has been taken yet,

so ties keep the first position, a NaN wins (the last NaN of the window) and an all -inf window
points at its first counted position.  A window without any counted position (possible only in
the padding, with dilation) keeps -inf and index -1.

The same rule applied one axis at a time, last axis first, gives the same max and position:
within a row the rule picks the first maximum (or the last NaN), and across rows the row maxima
compete by the same rule in row order.  So the taps cost sum_a T_a passes, not prod_a T_a.
Indices are flat row-major indices into the input's spatial dims, int64.

Backward (the pooling-backward theorem): grad_x[b, c, idx[b, c, i]] += g[b, c, i], summed where
windows overlap; index -1 receives nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Table = tuple[np.ndarray, np.ndarray]
"""One axis of a pooling window: pos[i, t] (int) and counted[i, t] (bool), shape (o, T)."""


def _running_max(values: np.ndarray, axis: int, table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Max over the windows of one axis and the position (along that axis) where it sits."""
    pos, counted = table
    n = values.shape[axis]
    along = (-1,) + (1,) * (values.ndim - 1 - axis)
    shape = values.shape[:axis] + (pos.shape[0],) + values.shape[axis + 1:]
    best = np.full(shape, -np.inf, dtype=values.dtype)
    position = np.full(shape, -1, dtype=np.int64)
    for t in range(pos.shape[1]):
        tap = np.take(values, np.clip(pos[:, t], 0, n - 1), axis=axis)
        take = (tap > best) | np.isnan(tap) | (position < 0)
        take &= counted[:, t].reshape(along)
        np.copyto(best, tap, where=take)
        np.copyto(position, pos[:, t].reshape(along), where=take)
    return best, position


def window_max(x: np.ndarray, tables: Sequence[Table]) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max of x over the window of i (one table per spatial axis), flat index."""
    sizes = x.shape[2:]
    values, coords = x, []
    for axis in reversed(range(2, x.ndim)):
        values, position = _running_max(values, axis, tables[axis - 2])
        chosen = np.maximum(position, 0)
        coords = [position, *(np.take_along_axis(c, chosen, axis=axis) for c in coords)]
    strides = [math.prod(sizes[axis + 1:]) for axis in range(len(sizes))]
    flat = sum(c * stride for c, stride in zip(coords, strides))
    empty = np.logical_or.reduce([c < 0 for c in coords])
    return values, np.where(empty, -1, flat)


def max_pool_backward(g: np.ndarray, indices: np.ndarray, input_size: Sequence[int]
                      ) -> np.ndarray:
    """grad_x[b, c, j] = sum of g[b, c, i] over the outputs i whose max sits at flat index j."""
    planes, length = g.shape[0] * g.shape[1], math.prod(input_size)
    offsets = np.arange(planes, dtype=np.int64).reshape(g.shape[:2] + (1,) * (g.ndim - 2))
    target = indices + offsets * length
    routed = indices >= 0
    grad = np.bincount(target[routed], weights=g[routed], minlength=planes * length)
    return grad.astype(g.dtype, copy=False).reshape(*g.shape[:2], *input_size)
