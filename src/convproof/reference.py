"""The float64 oracle: convolution and pooling written straight from their sum definitions.

Everything fast in convproof (CPU paths, GPU kernels, layers) is tested against this module, so
it shares no code with them: only :mod:`convproof.spec` (validation and sizes) and
:func:`convproof.arrays.check_numeric` (dtypes).  Inputs of any real numeric dtype are converted
to float64 and results are float64.  Arrays are batched, ``(N, C, *spatial)`` with 1, 2 or 3
spatial dims; a conv takes its number of dims from the weight, a pool from the input.

Notation, per spatial axis (a multi-dim map applies the same map on every axis): input size n,
kernel k, stride s, dilation d, padding (p_lo, p_hi), groups G with Ci = C_in/G input and
Co = C_out/G output channels per group; output channel o belongs to group g = o // Co.

    padding      x_pad[j] = x[pi(j - p_lo)],  j in [0, n + p_lo + p_hi)
    correlation  y[b, o, i] = bias[o] + sum_{c'<Ci} sum_m w[o, c', m] x_pad[b, g Ci + c', s i + d m]

The loops run over groups and kernel taps m; inside one tap the output positions are a strided
slice and the channels one ``einsum``: slow, but every index is the formula's.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .arrays import check_numeric
from .spec import (
    ConvSpec,
    Pads,
    PoolSpec,
    check_flag,
    check_padding_mode,
    adaptive_windows,
    check_padding_fits,
    conv_spec_for,
    normalize_padding,
    per_dim,
    shape_argument,
)

__all__ = [
    "adaptive_avg_pool", "adaptive_avg_pool_backward", "adaptive_max_pool",
    "adaptive_max_pool_backward", "avg_pool", "avg_pool_backward", "conv", "conv_bias_grad",
    "conv_input_grad", "conv_transpose", "conv_weight_grad", "convolve", "max_pool",
    "max_pool_backward", "pad", "pad_adjoint",
]


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

def _float64(name: str, array: Any) -> np.ndarray:
    """``array`` as float64, after checking that its dtype is a real number type."""
    check_numeric(name, array)
    return np.asarray(array, dtype=np.float64)


def _spatial_dims(name: str, shape: Sequence[int], layout: str) -> int:
    """Number of spatial dims of a batched array or a weight: its rank less 2, in 1..3."""
    if not 3 <= len(shape) <= 5:
        raise ValueError(f"{name} must have 3, 4 or 5 dims {layout}, got shape {tuple(shape)}")
    return len(shape) - 2


def _check_shape(name: str, array: np.ndarray, expected: Sequence[int]) -> None:
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {array.shape}")


def _window(start: int, count: int, step: int) -> slice:
    """The positions start + step * i for i in [0, count)."""
    return slice(start, start + step * (count - 1) + 1, step)


def _along(vector: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A 1-D array shaped to broadcast along ``axis`` of an ``ndim``-dim array."""
    shape = [1] * ndim
    shape[axis] = vector.size
    return vector.reshape(shape)


# --------------------------------------------------------------------------------------------
# Padding: x_pad[j] = x[pi(j - p_lo)] per axis, and its transpose
# --------------------------------------------------------------------------------------------

def _zeros_source(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """zeros: x_pad[j] = x[t] where 0 <= t < n, else 0."""
    inside = (t >= 0) & (t < n)
    return np.where(inside, t, 0), inside


def _reflect_source(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """reflect: r = t mod 2(n - 1); pi(t) = r if r < n else 2(n - 1) - r (n = 1: 0)."""
    if n == 1:
        return np.zeros_like(t), np.ones(t.shape, bool)
    period = 2 * (n - 1)
    r = t % period
    return np.where(r < n, r, period - r), np.ones(t.shape, bool)


def _replicate_source(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """replicate: pi(t) = clamp(t, 0, n - 1)."""
    return np.clip(t, 0, n - 1), np.ones(t.shape, bool)


def _circular_source(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """circular: pi(t) = t mod n."""
    return t % n, np.ones(t.shape, bool)


_SOURCES: dict[str, Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]] = {
    "zeros": _zeros_source, "reflect": _reflect_source,
    "replicate": _replicate_source, "circular": _circular_source,
}


def _padding_maps(mode: str, pads: Pads, sizes: Sequence[int]
                  ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per trailing axis (counted from the end): source index pi(j - p_lo) and where it is kept."""
    for back, ((lo, hi), n) in enumerate(zip(pads, sizes), start=-len(pads)):
        source, kept = _SOURCES[mode](np.arange(n + lo + hi) - lo, n)
        yield back, source, kept


def _pads_argument(pads: Any, ndim: int) -> Pads:
    if not isinstance(pads, (list, tuple)) or not 1 <= len(pads) <= ndim:
        raise ValueError(f"pads must be a tuple of (lo, hi) pairs, one per trailing spatial axis "
                         f"(at most {ndim}), got {pads!r}")
    return normalize_padding(tuple(pads), len(pads))


def pad(x: Any, pads: Any, mode: str = "zeros") -> np.ndarray:
    """P x: x_pad[..., j] = x[..., pi(j - p_lo)] on each of the trailing ``len(pads)`` axes.

    ``pads`` holds one (lo, hi) pair (or one int for lo = hi) per trailing axis; pi is the
    index map of ``mode``: zeros (0 outside [0, n)), reflect (t mod 2(n-1) folded back, the
    border not repeated; needs p < n), replicate (clamp to [0, n-1]), circular (t mod n;
    needs p <= n).
    """
    x = _float64("x", x)
    pads = _pads_argument(pads, x.ndim)
    mode = check_padding_mode(mode)
    sizes = x.shape[x.ndim - len(pads):]
    if 0 in sizes:
        raise ValueError(f"x has an empty axis {x.ndim - len(pads) + sizes.index(0)} among the "
                         f"padded ones: shape {x.shape}")
    check_padding_fits(mode, pads, sizes)
    for back, source, kept in _padding_maps(mode, pads, sizes):
        x = np.take(x, source, axis=back)
        if not kept.all():
            x = np.where(_along(kept, x.ndim + back, x.ndim), x, 0.0)
    return x


def pad_adjoint(g: Any, pads: Any, mode: str, size: Sequence[int]) -> np.ndarray:
    """P^T g: z[..., t] = sum over j with pi(j - p_lo) = t (and kept) of g[..., j], per axis.

    The transpose of :func:`pad`; ``size`` is the unpadded size of the trailing axes.  For zeros
    it crops [p_lo, p_lo + n); for the other modes it also folds the gradient of each border
    pixel back onto the input pixel it was copied from.
    """
    g = _float64("g", g)
    pads = _pads_argument(pads, g.ndim)
    mode = check_padding_mode(mode)
    dims = len(pads)
    if not isinstance(size, (list, tuple)):
        raise TypeError(f"size must be a tuple of {dims} spatial sizes, got {size!r}")
    size = tuple(int(n) for n in per_dim("size", tuple(size), dims, 1))
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    if g.shape[g.ndim - dims:] != padded:
        raise ValueError(f"g must end in the padded shape {padded} (size {size} plus pads "
                         f"{pads}), got shape {g.shape}")
    check_padding_fits(mode, pads, size)
    for (back, source, kept), n in zip(_padding_maps(mode, pads, size), size):
        folded = np.zeros(g.shape[:g.ndim + back] + (n,) + g.shape[g.ndim + back + 1:])
        lead = (slice(None),) * (g.ndim + back)
        np.add.at(folded, (*lead, source[kept]), np.compress(kept, g, axis=back))
        g = folded
    return g


# --------------------------------------------------------------------------------------------
# Convolution: forward, true convolution, transposed convolution, gradients
# --------------------------------------------------------------------------------------------

_WEIGHT_LAYOUT = "(C_out, C_in/groups, *kernel)"


def _group_taps(spec: ConvSpec, out_size: Sequence[int], reverse: bool = False
                ) -> Iterator[tuple[slice, slice, tuple[int, ...], tuple[slice, ...]]]:
    """For every group g and kernel tap m: the group's input channels [g Ci, (g+1) Ci), output
    channels [g Co, (g+1) Co), the tap m, and the x_pad positions s i + d m (i < out_size)
    that it meets; with ``reverse`` the positions s i + d (k - 1 - m) of the true convolution.
    """
    ci, co = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    for group in range(spec.groups):
        in_block = slice(group * ci, (group + 1) * ci)
        out_block = slice(group * co, (group + 1) * co)
        for m in itertools.product(*(range(k) for k in spec.kernel_size)):
            taps = (k - 1 - j if reverse else j for j, k in zip(m, spec.kernel_size))
            window = tuple(_window(d * t, o, s) for t, o, s, d in
                           zip(taps, out_size, spec.stride, spec.dilation))
            yield in_block, out_block, m, window


def _add_bias(y: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """y[b, o, i] + bias[o]."""
    return y if bias is None else y + bias.reshape((-1,) + (1,) * (y.ndim - 2))


def _forward(x: Any, w: Any, bias: Any, reverse: bool, **options: Any) -> np.ndarray:
    """The sum y[b, o, i] = bias[o] + sum_{c', m} w[o, c', m] x_pad[b, g Ci + c', s i + d m~],
    m~ = m (correlation) or k - 1 - m (``reverse``: true convolution)."""
    x, w = _float64("input", x), _float64("weight", w)
    bias = None if bias is None else _float64("bias", bias)
    dims = _spatial_dims("weight", w.shape, _WEIGHT_LAYOUT)
    spec = conv_spec_for(x.shape, w.shape, None if bias is None else bias.shape, dims=dims,
                         **options)
    out_size = spec.output_size(x.shape[2:])
    x_pad = pad(x, spec.pads(x.shape[2:]), spec.padding_mode)
    y = np.zeros((x.shape[0], spec.out_channels, *out_size))
    for cin, cout, m, window in _group_taps(spec, out_size, reverse):
        y[:, cout] += np.einsum("oc,bc...->bo...", w[(cout, slice(None), *m)],
                                x_pad[(slice(None), cin, *window)])
    return _add_bias(y, bias)


def conv(x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros") -> np.ndarray:
    """Cross-correlation (``conv`` in deep learning), x (N, C_in, *n), w (C_out, C_in/G, *k).

        y[b, o, i] = bias[o] + sum_{c' < Ci} sum_m w[o, c', m] x_pad[b, g Ci + c', s i + d m]

    with g = o // Co and x_pad = :func:`pad` (x, pads, padding_mode); the output size is
    floor((n + p_lo + p_hi - d(k - 1) - 1) / s) + 1 per axis.
    """
    return _forward(x, w, bias, False, stride=stride, padding=padding, dilation=dilation,
                    groups=groups, padding_mode=padding_mode)


def convolve(x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
             dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros") -> np.ndarray:
    """True convolution, same arguments as :func:`conv`: the tap index runs backwards.

        y[b, o, i] = bias[o] + sum_{c'} sum_m w[o, c', m] x_pad[b, g Ci + c', s i + d (k - 1 - m)]

    which is conv(x, flip(w)) with flip reversing every spatial axis of w.
    """
    return _forward(x, w, bias, True, stride=stride, padding=padding, dilation=dilation,
                    groups=groups, padding_mode=padding_mode)


def _adjoint(g: np.ndarray, w: np.ndarray, spec: ConvSpec, pads: Pads,
             size: Sequence[int]) -> np.ndarray:
    """A^T g for the conv A of ``spec`` on inputs of spatial ``size``:

        z_pad[b, g Ci + c', s i + d m] += w[o, c', m] g[b, o, i]   (o in group g)
        z = P^T z_pad
    """
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    z_pad = np.zeros((g.shape[0], spec.in_channels, *padded))
    for cin, cout, m, window in _group_taps(spec, g.shape[2:]):
        z_pad[(slice(None), cin, *window)] += np.einsum("oc,bo...->bc...",
                                                        w[(cout, slice(None), *m)], g[:, cout])
    return pad_adjoint(z_pad, pads, spec.padding_mode, size)


def conv_transpose(x: Any, w: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                   padding_mode: str = "zeros") -> np.ndarray:
    """Transposed convolution: the adjoint of the conv with the same arguments, plus bias.

    In the forward conv's names: x (N, C_out, *m), w (C_out, C_in/G, *k), bias (C_in,);
    output (N, C_in, *t) with
    t = (m - 1) s - p_lo - p_hi + d (k - 1) + a + 1, a = output_padding in [0, max(s, d)):

        z_pad[b, g Ci + c', s i + d m] += w[o, c', m] x[b, o, i]     (size t + p_lo + p_hi)
        z = P^T z_pad,   y[b, c] = z[b, c] + bias[c]

    For zeros padding P^T crops [p_lo, p_lo + t).  For reflect, replicate and circular padding
    (which PyTorch's transposed convolutions do not offer) this defines the transposed conv as
    the adjoint of the padded conv: P^T folds the values scattered onto the padded border back
    onto the pixels that the border was copied from.
    """
    x, w = _float64("input", x), _float64("weight", w)
    bias = None if bias is None else _float64("bias", bias)
    dims = _spatial_dims("weight", w.shape, "(C_in, C_out/groups, *kernel)")
    spec = conv_spec_for(x.shape, w.shape, None if bias is None else bias.shape, dims=dims,
                         transposed=True, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, padding_mode=padding_mode, output_padding=output_padding)
    size = spec.transposed_output_size(x.shape[2:])
    return _add_bias(_adjoint(x, w, spec, spec.transposed_pads(), size), bias)


def _grad_spec(x_shape: Sequence[int], w_shape: Sequence[int], grad_output: np.ndarray,
               dims: int, **options: Any) -> ConvSpec:
    """The ConvSpec of a forward conv, with grad_output checked against its output shape."""
    spec = conv_spec_for(x_shape, w_shape, dims=dims, **options)
    _check_shape("grad_output", grad_output,
                 (x_shape[0], spec.out_channels, *spec.output_size(x_shape[2:])))
    return spec


def conv_input_grad(input_size: Sequence[int], w: Any, grad_output: Any, stride: Any = 1,
                    padding: Any = 0, dilation: Any = 1, groups: int = 1,
                    padding_mode: str = "zeros") -> np.ndarray:
    """dL/dx of y = conv(x, w) for x of shape ``input_size`` = (N, C_in, *n), g = dL/dy:

        dL/dx = A^T g = P^T z_pad,  z_pad[b, g Ci + c', s i + d m] += w[o, c', m] g[b, o, i]

    i.e. the transposed conv of g with the output_padding a = ConvSpec.output_padding_for(m, n)
    that restores the full size n (padded rows that no window reaches get zero gradient).
    """
    w, grad_output = _float64("weight", w), _float64("grad_output", grad_output)
    dims = _spatial_dims("weight", w.shape, _WEIGHT_LAYOUT)
    input_size = shape_argument("input_size", input_size, "(N, C_in, *spatial)", dims + 2,
                                batched=True)
    spec = _grad_spec(input_size, w.shape, grad_output, dims, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, padding_mode=padding_mode)
    return _adjoint(grad_output, w, spec, spec.pads(input_size[2:]), input_size[2:])


def conv_weight_grad(x: Any, weight_size: Sequence[int], grad_output: Any, stride: Any = 1,
                     padding: Any = 0, dilation: Any = 1, groups: int = 1,
                     padding_mode: str = "zeros") -> np.ndarray:
    """dL/dw of y = conv(x, w) for w of shape ``weight_size`` = (C_out, C_in/G, *k):

        gw[o, c', m] = sum_b sum_i g[b, o, i] x_pad[b, g Ci + c', s i + d m]
    """
    x, grad_output = _float64("input", x), _float64("grad_output", grad_output)
    weight_size = shape_argument("weight_size", weight_size, _WEIGHT_LAYOUT)
    dims = _spatial_dims("weight_size", weight_size, _WEIGHT_LAYOUT)
    spec = _grad_spec(x.shape, weight_size, grad_output, dims, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, padding_mode=padding_mode)
    x_pad = pad(x, spec.pads(x.shape[2:]), spec.padding_mode)
    grad = np.zeros(weight_size)
    for cin, cout, m, window in _group_taps(spec, grad_output.shape[2:]):
        g, x_window = grad_output[:, cout], x_pad[(slice(None), cin, *window)]
        # einsum's own loop, not BLAS's: a BLAS may skip the terms that multiply a zero,
        # where the sum's inf·0 is nan
        grad[(cout, slice(None), *m)] = np.einsum(
            "boi,bci->oc", g.reshape(*g.shape[:2], -1), x_window.reshape(*x_window.shape[:2], -1))
    return grad


def conv_bias_grad(grad_output: Any) -> np.ndarray:
    """dL/dbias: gb[o] = sum_b sum_i g[b, o, i]."""
    grad_output = _float64("grad_output", grad_output)
    dims = _spatial_dims("grad_output", grad_output.shape, "(N, C_out, *spatial)")
    return grad_output.sum(axis=(0, *range(2, dims + 2)))


# --------------------------------------------------------------------------------------------
# Pooling.  A pool is given per axis by a window table: pos[i, j] is the input position of tap
# j of output i, valid[i, j] says whether it takes part.  Taps run in row-major window order.
# --------------------------------------------------------------------------------------------

Table = tuple[np.ndarray, np.ndarray]
_INPUT_LAYOUT = "(N, C, *spatial)"


def _strided_table(n: int, o: int, k: int, s: int, p: int, d: int) -> Table:
    """pos[i, m] = s i - p + d m, m < k; valid where 0 <= pos < n (outside: implicit padding).
    The starts s i - p in Python's ints: a stride past 2^63 has one output, at i = 0."""
    starts = np.array([s * i - p for i in range(o)], dtype=np.int64)
    pos = starts[:, None] + d * np.arange(k)[None, :]
    return pos, (pos >= 0) & (pos < n)


def _adaptive_table(n: int, o: int) -> Table:
    """pos[i, j] = floor(i n / o) + j, valid while pos < ceil((i + 1) n / o)."""
    windows = np.array(adaptive_windows(n, o))
    pos = windows[:, :1] + np.arange(int((windows[:, 1] - windows[:, 0]).max()))[None, :]
    return pos, pos < windows[:, 1:]


def _open_grid(vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Vector a reshaped to run along axis a of an array over (i_0, i_1, ...) (np.ix_ would turn
    boolean vectors into indices)."""
    return [_along(v, axis, len(vectors)) for axis, v in enumerate(vectors)]


def _taps(tables: Sequence[Table], size: Sequence[int]
          ) -> Iterator[tuple[tuple[Any, ...], np.ndarray, np.ndarray]]:
    """For every tap (j_0, j_1, ...) in row-major order: the index of x at the tap's positions
    for all outputs at once, where those positions are valid, and their flat input index."""
    for tap in itertools.product(*(range(pos.shape[1]) for pos, _ in tables)):
        columns = _open_grid([np.clip(pos[:, j], 0, n - 1)
                              for (pos, _), j, n in zip(tables, tap, size)])
        valid = functools.reduce(np.logical_and,
                                 _open_grid([ok[:, j] for (_, ok), j in zip(tables, tap)]))
        yield (Ellipsis, *columns), valid, np.ravel_multi_index(columns, size)


def _outer_product(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """v_0[i_0] v_1[i_1] ... as an array over (i_0, i_1, ...)."""
    return functools.reduce(np.multiply, _open_grid(vectors))


def _inside_counts(tables: Sequence[Table]) -> np.ndarray:
    """The number of valid positions of every window, as an array over the outputs."""
    return _outer_product([valid.sum(axis=1) for _, valid in tables])


def _max_over(x: np.ndarray, tables: Sequence[Table]) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max over valid taps of x[b, c, pos[i, j]], with the flat index of the max.

    PyTorch's rule, tap by tap: the running max is replaced where x > max or x is NaN, so ties
    keep the first position and a NaN wins (the last NaN in the window).  A window with no
    valid position (only possible in the padding, with dilation) gives -inf and index -1.
    """
    shape = x.shape[:2] + tuple(pos.shape[0] for pos, _ in tables)
    best, index = np.full(shape, -np.inf), np.full(shape, -1, dtype=np.int64)
    for where, valid, flat in _taps(tables, x.shape[2:]):
        value = x[where]
        take = valid & ((value > best) | np.isnan(value) | (index < 0))
        best, index = np.where(take, value, best), np.where(take, flat, index)
    return best, index


def _route(grad_output: np.ndarray, index: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """grad_input[b, c, index[b, c, i]] += grad_output[b, c, i] (summed where windows overlap)."""
    _check_shape("grad_output", grad_output, index.shape)
    length = math.prod(shape[2:])
    base = np.arange(shape[0] * shape[1]).reshape(shape[:2] + (1,) * (index.ndim - 2)) * length
    kept = index >= 0
    grad = np.bincount((base + index)[kept], weights=grad_output[kept],
                       minlength=shape[0] * shape[1] * length)
    return grad.astype(np.float64, copy=False).reshape(shape)  # int64 when nothing is routed


def _mean_over(x: np.ndarray, tables: Sequence[Table], divisor: np.ndarray) -> np.ndarray:
    """y[b, c, i] = (sum over valid taps of x[b, c, pos[i, j]]) / divisor[i]."""
    total = np.zeros(x.shape[:2] + divisor.shape)
    for where, valid, _ in _taps(tables, x.shape[2:]):
        total += np.where(valid, x[where], 0.0)
    return total / divisor


def _mean_adjoint(grad_output: np.ndarray, tables: Sequence[Table], divisor: np.ndarray,
                  shape: Sequence[int]) -> np.ndarray:
    """The transpose of :func:`_mean_over`: grad[b, c, pos[i, j]] += g[b, c, i] / divisor[i]."""
    _check_shape("grad_output", grad_output, tuple(shape[:2]) + divisor.shape)
    grad = np.zeros(shape)
    share = grad_output / divisor
    for where, valid, _ in _taps(tables, shape[2:]):
        np.add.at(grad, where, np.where(valid, share, 0.0))
    return grad


def _pool_dims(x: np.ndarray) -> int:
    """The spatial dims of a pooling input (N, C, *spatial), none of them empty."""
    dims = _spatial_dims("input", x.shape, _INPUT_LAYOUT)
    for axis in range(2, x.ndim):
        if x.shape[axis] < 1:
            raise ValueError(f"input has an empty axis {axis}: shape {x.shape}")
    return dims


def _pool_spec(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> PoolSpec:
    dims = _pool_dims(x)
    return PoolSpec(per_dim("kernel_size", kernel_size, dims, 1), stride, padding, dilation,
                    ceil_mode)


def _strided_tables(x: np.ndarray, spec: PoolSpec) -> list[Table]:
    out_size = spec.output_size(x.shape[2:])
    return [_strided_table(n, o, k, s, p, d) for n, o, k, s, p, d in zip(
        x.shape[2:], out_size, spec.kernel_size, spec.stride, spec.padding, spec.dilation)]


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling with PyTorch semantics, returning (values, flat indices as int64).

        y[b, c, i] = max_{m < k, 0 <= s i - p + d m < n} x[b, c, s i - p + d m]

    (positions outside the input are ignored: implicit -inf padding; output size from PoolSpec,
    floor or ceil_mode).  The index is row-major over the input's spatial dims; ties keep the
    first position in row-major window order; a NaN is the max, as in PyTorch.
    """
    x = _float64("input", x)
    spec = _pool_spec(x, kernel_size, stride, padding, dilation, ceil_mode)
    return _max_over(x, _strided_tables(x, spec))


def max_pool_backward(grad_output: Any, x: Any, kernel_size: Any, stride: Any = None,
                      padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> np.ndarray:
    """grad_input[b, c, idx[b, c, i]] += grad_output[b, c, i], idx = the max_pool indices."""
    grad_output = _float64("grad_output", grad_output)
    _, index = max_pool(x, kernel_size, stride, padding, dilation, ceil_mode)
    return _route(grad_output, index, np.shape(x))


def _avg_pool_parts(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
                    count_include_pad: bool) -> tuple[list[Table], np.ndarray]:
    """The window tables of an average pool and its divisor over the output positions.

    Per axis the window of output i is [s i - p, s i - p + k); the divisor is the product over
    axes of its length clipped to [-p, n + p) (count_include_pad) or of the number of its
    positions inside [0, n).
    """
    count_include_pad = check_flag("count_include_pad", count_include_pad)
    spec = _pool_spec(x, kernel_size, stride, padding, 1, ceil_mode)
    tables = _strided_tables(x, spec)
    if count_include_pad:
        lengths = [np.minimum(pos[:, 0] + k, n + p) - pos[:, 0] for (pos, _), n, k, p
                   in zip(tables, x.shape[2:], spec.kernel_size, spec.padding)]
        return tables, _outer_product(lengths)
    return tables, _inside_counts(tables)


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
             ceil_mode: bool = False, count_include_pad: bool = True) -> np.ndarray:
    """Average pooling with PyTorch semantics (no dilation):

        y[b, c, i] = (1 / D_i) sum_{m < k, 0 <= s i - p + m < n} x[b, c, s i - p + m]

    D_i = prod over axes of |[s i - p, s i - p + k) ∩ [-p, n + p)| with count_include_pad,
    else of |[s i - p, s i - p + k) ∩ [0, n)|.
    """
    x = _float64("input", x)
    tables, divisor = _avg_pool_parts(x, kernel_size, stride, padding, ceil_mode,
                                      count_include_pad)
    return _mean_over(x, tables, divisor)


def avg_pool_backward(grad_output: Any, x: Any, kernel_size: Any, stride: Any = None,
                      padding: Any = 0, ceil_mode: bool = False,
                      count_include_pad: bool = True) -> np.ndarray:
    """The adjoint of :func:`avg_pool`: grad[b, c, s i - p + m] += g[b, c, i] / D_i (inside)."""
    x, grad_output = _float64("input", x), _float64("grad_output", grad_output)
    tables, divisor = _avg_pool_parts(x, kernel_size, stride, padding, ceil_mode,
                                      count_include_pad)
    return _mean_adjoint(grad_output, tables, divisor, x.shape)


def _adaptive_tables(x: np.ndarray, output_size: Any) -> list[Table]:
    """Window tables for ``output_size``: an int or a per-dim tuple, None keeping the input size."""
    dims = _pool_dims(x)
    if isinstance(output_size, (list, tuple)) and len(output_size) == dims:
        output_size = tuple(n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    out_size = per_dim("output_size", output_size, dims, 1)
    return [_adaptive_table(n, int(o)) for n, o in zip(x.shape[2:], out_size)]


def adaptive_avg_pool(x: Any, output_size: Any) -> np.ndarray:
    """y[b, c, i] = mean of x[b, c, j] over j in [floor(i n / o), ceil((i + 1) n / o)) per axis."""
    x = _float64("input", x)
    tables = _adaptive_tables(x, output_size)
    return _mean_over(x, tables, _inside_counts(tables))


def adaptive_avg_pool_backward(grad_output: Any, x: Any) -> np.ndarray:
    """The adjoint: grad[b, c, j] += g[b, c, i] / |window i| for j in window i; o = g's size."""
    x, grad_output = _float64("input", x), _float64("grad_output", grad_output)
    if grad_output.ndim != x.ndim:
        batch, channels = x.shape[:2]
        raise ValueError(f"grad_output must have {x.ndim} dims ({batch}, {channels}, "
                         f"*output_size) like the input, got shape {grad_output.shape}")
    tables = _adaptive_tables(x, tuple(grad_output.shape[2:]))
    return _mean_adjoint(grad_output, tables, _inside_counts(tables), x.shape)


def adaptive_max_pool(x: Any, output_size: Any) -> tuple[np.ndarray, np.ndarray]:
    """y[b, c, i] = max of x[b, c, j] over the adaptive window of i, with its flat index
    (ties: first in row-major order; NaN propagates), as :func:`max_pool`."""
    x = _float64("input", x)
    return _max_over(x, _adaptive_tables(x, output_size))


def adaptive_max_pool_backward(grad_output: Any, x: Any, output_size: Any) -> np.ndarray:
    """grad_input[b, c, idx[b, c, i]] += grad_output[b, c, i], idx = adaptive_max_pool's."""
    grad_output = _float64("grad_output", grad_output)
    _, index = adaptive_max_pool(x, output_size)
    return _route(grad_output, index, np.shape(x))
