"""Adaptive average and max pooling on NumPy: window i is [floor(i n/o), ceil((i+1) n/o)) per axis.

The average is separable: along one axis it is the (o, n) matrix

    M[i, j] = 1 / |window i|   for j in window i,   else 0,

so y = x x_1 M_1 x_2 M_2 ... (one GEMM per axis) and its adjoint applies the transposes M^T.
For small outputs the whole map is one GEMM with M_1 ⊗ M_2 ⊗ ... on the flattened positions,
which needs no transposed copy of x; global pooling is one sum per plane, and its backward
one broadcast copy (7.6 ms for 256 x 2048 planes of 7 x 7 on two threads, where the
Kronecker GEMM, one column wide, took 39).
Where windows are smaller than the plane, the products with the zeros of M would spread a nan
or ±inf entry over the whole plane (0·inf = nan): such an input, or gradient, is averaged a
window at a time instead.
The max visits tap t of window i at floor(i n/o) + t while t < |window i|, by the rules of
:mod:`.maxima`; its backward is the same index routing as max pooling.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from ..arrays import all_finite
from ..spec import adaptive_windows
from . import threads
from .maxima import Listed, window_max


def _windows(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each of the o windows over n positions."""
    bounds = np.array(adaptive_windows(n, o), dtype=np.int64)
    return bounds[:, 0], bounds[:, 1] - bounds[:, 0]


def _table(n: int, o: int) -> Listed:
    """pos[i, t] = floor(i n/o) + t, counted while t < |window i|."""
    starts, lengths = _windows(n, o)
    taps = np.arange(lengths.max())
    return Listed(starts[:, None] + taps, taps < lengths[:, None])


def _mean_matrix(n: int, o: int, dtype: np.dtype) -> np.ndarray:
    """M[i, j] = 1 / |window i| for j in window i: the (o, n) matrix of one axis."""
    starts, lengths = _windows(n, o)
    j = np.arange(n)
    inside = (j >= starts[:, None]) & (j < (starts + lengths)[:, None])
    return (inside / lengths[:, None]).astype(dtype)


KRONECKER_OUTPUTS = 64
"""Output positions up to which the pool is one GEMM with the Kronecker product of the axes."""


def _kronecker(input_size: Sequence[int], output_size: Sequence[int], dtype: np.dtype
               ) -> np.ndarray | None:
    """M_1 ⊗ M_2 ⊗ ... (prod(o), prod(n)) for a small output, else None."""
    if math.prod(output_size) > KRONECKER_OUTPUTS:
        return None
    axes = [_mean_matrix(n, o, np.float64) for n, o in zip(input_size, output_size)]
    return functools.reduce(np.kron, axes).astype(dtype)


def _window_slices(input_size: Sequence[int], output_size: Sequence[int]
                   ) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...], int]]:
    """(i, the slices of window i, its size) for every output position i."""
    tables = [adaptive_windows(n, o) for n, o in zip(input_size, output_size)]
    for index in itertools.product(*map(range, output_size)):
        bounds = [tables[axis][i] for axis, i in enumerate(index)]
        yield index, tuple(slice(*b) for b in bounds), math.prod(b - a for a, b in bounds)


def _means_by_window(x: np.ndarray, output_size: Sequence[int]) -> np.ndarray:
    """y[..., i] = mean of x[..., window i], a window at a time."""
    y = np.empty((*x.shape[:2], *output_size), dtype=x.dtype)
    spatial = tuple(range(2, x.ndim))
    for index, window, _ in _window_slices(x.shape[2:], output_size):
        y[(Ellipsis, *index)] = x[(Ellipsis, *window)].mean(axis=spatial)
    return y


def _means_adjoint_by_window(g: np.ndarray, input_size: Sequence[int]) -> np.ndarray:
    """grad[..., window i] += g[..., i] / |window i|, a window at a time."""
    grad = np.zeros((*g.shape[:2], *input_size), dtype=g.dtype)
    spread = (Ellipsis, *(None,) * len(input_size))
    for index, window, size in _window_slices(input_size, g.shape[2:]):
        grad[(Ellipsis, *window)] += g[(Ellipsis, *index)][spread] / g.dtype.type(size)
    return grad


def _contract(x: np.ndarray, axis: int, matrix: np.ndarray) -> np.ndarray:
    """y[..., i, ...] = sum_j matrix[i, j] x[..., j, ...] along ``axis``, as one GEMM."""
    moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    product = threads.matmul(moved.reshape(-1, moved.shape[-1]), matrix.T)
    return np.moveaxis(product.reshape(*moved.shape[:-1], matrix.shape[0]), -1, axis)


def adaptive_avg_pool(x: np.ndarray, output_size: Sequence[int]) -> np.ndarray:
    """y[b, c, i] = mean of x[b, c, j] over the window of i (a product of per-axis windows)."""
    flat = np.ascontiguousarray(x).reshape(x.shape[0] * x.shape[1], math.prod(x.shape[2:]))
    if all(o == 1 for o in output_size):  # global: one sum per plane, planes over threads
        means = np.empty(flat.shape[0], dtype=x.dtype)
        threads.run(lambda planes: np.einsum("pj->p", flat[planes], out=means[planes]),
                    flat.shape[0], flat.size)
        means *= x.dtype.type(1 / flat.shape[1])
        return means.reshape(*x.shape[:2], *output_size)
    if not all_finite(x):
        return _means_by_window(x, output_size)
    matrix = _kronecker(x.shape[2:], output_size, x.dtype)
    if matrix is not None:
        return threads.matmul(flat, matrix.T).reshape(*x.shape[:2], *output_size)
    for axis, (n, o) in enumerate(zip(x.shape[2:], output_size), start=2):
        x = _contract(x, axis, _mean_matrix(n, o, x.dtype))
    return np.ascontiguousarray(x)


def adaptive_avg_pool_backward(g: np.ndarray, input_size: Sequence[int]) -> np.ndarray:
    """grad[b, c, j] = sum over the windows i holding j of g[b, c, i] / |window i|."""
    if all(o == 1 for o in g.shape[2:]):  # global: g / |plane| copied over each plane
        size = math.prod(input_size)
        means = g.reshape(*g.shape[:2], 1) * g.dtype.type(1 / size)
        planes = threads.copy(np.broadcast_to(means, (*g.shape[:2], size)))
        return planes.reshape(*g.shape[:2], *input_size)
    if not all_finite(g):
        return _means_adjoint_by_window(g, input_size)
    matrix = _kronecker(input_size, g.shape[2:], g.dtype)
    if matrix is not None:
        flat = np.ascontiguousarray(g).reshape(g.shape[0] * g.shape[1], math.prod(g.shape[2:]))
        return threads.matmul(flat, matrix).reshape(*g.shape[:2], *input_size)
    for axis, n in enumerate(input_size, start=2):
        g = _contract(g, axis, _mean_matrix(n, g.shape[axis], g.dtype).T)
    return np.ascontiguousarray(g)


def adaptive_max_pool(x: np.ndarray, output_size: Sequence[int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max of x[b, c, j] over the window of i, with its flat index."""
    return window_max(x, [_table(n, o) for n, o in zip(x.shape[2:], output_size)])
