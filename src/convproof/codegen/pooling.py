"""The pooling kernels: max and average, strided and adaptive, forward and backward.

A pooling kernel is a window iterator and a reduction.  The windows:

    strided    tap m of output i reads s·i + d·m - p (banded-matrix's forward read), counted
               where it lies inside the input; the windows that hold pixel t are the taps m
               with [s | t + p - d·m] and 0 <= (t + p - d·m)/s < o (grad-input-flip's gather)
    adaptive   window i is [floor(i n/o), ceil((i + 1) n/o)) per axis (spec.adaptive_windows);
               the windows that hold t start at i = floor(t o/n)

The reductions, one thread per output (forward) or per input pixel (backward, a gather: no
atomics, a fixed order):

    max        the first maximum in row-major tap order, a NaN wins, with its flat index
    max, back  dx[t] = sum of g[i] over the windows i holding t whose arg-max is t
    mean       (1/D_i) sum of the window; D_i from the window (count_include_pad or not)
    mean, back dx[t] = sum of g[i]/D_i over the windows i holding t
    inside     outside[i] = 0 where idx[i] is -1 or a position of window i, else 1: whether
               the gather above routes every saved index
    route      dx[idx[i]] += g[i] plane by plane in order (indices outside their windows)
"""

from __future__ import annotations

from collections.abc import Callable
from string import Template

import numpy as np
import sympy

from ..symbolic.language import in_range
from . import derivations as dv
from .names import c_type, dtype_tag, join
from .skeleton import (THREADS, Kernel, Param, PoolGeometry, Slots, axes_of, decode, elementwise,
                       float_params, header, horner, index_param, ints, nest, product, signature,
                       sizes, slots_for, tap_loop, var)

NEGATIVE_INFINITY = {"float": "-__int_as_float(0x7f800000)",
                     "double": "-__longlong_as_double(0x7ff0000000000000LL)"}
"""-inf from its bits (+inf negated), written without the name of an integer type, which the
32-bit variants rename (:func:`~.skeleton.narrow_indices`)."""

Loops = Callable[[list[str]], list[str]]
"""Loops around a body: the taps of one window, or the windows that hold one pixel."""


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------

def _strided_window(slots: Slots, pool: PoolGeometry) -> Loops:
    """Row-major taps m of the window of output i, positions j outside the input skipped."""
    def loops(body: list[str]) -> list[str]:
        levels = []
        for a in range(pool.dims):
            j = var("j", a)
            position = slots.forward_position(a, pool.axis(a))
            levels.append(tap_loop(a, pool.kernel_size[a], [
                f"const long long {j} = {slots.pr.index(position)};",
                f"if (!({slots.pr.condition(in_range(j, var('n', a)))})) continue;"]))
        return nest(levels, body)
    return loops


def _strided_windows_of(slots: Slots, pool: PoolGeometry) -> Loops:
    """The outputs i whose window holds pixel t (the gather of grad-input-flip)."""
    def loops(body: list[str]) -> list[str]:
        return nest([tap_loop(a, pool.kernel_size[a], slots.gather(a, pool.axis(a), var("t", a)))
                     for a in range(pool.dims)], body)
    return loops


_I, _N, _O = (sympy.Symbol(name, integer=True) for name in ("i", "n", "o"))
ADAPTIVE_WINDOW = dv.Derived("spec.adaptive_windows", "window",
                             sympy.Tuple(sympy.floor(_I * _N / _O),
                                         sympy.ceiling((_I + 1) * _N / _O)))
"""The adaptive window [start, end) of output i, as :func:`convproof.spec.adaptive_windows`."""
ADAPTIVE_FIRST = dv.Derived("adaptive windows", "first_window",
                            sympy.floor(sympy.Symbol("t", integer=True) * _O / _N))
"""The first window that holds pixel t: the least i with ceil((i + 1) n/o) > t."""


def _bounds(slots: Slots, axis: int) -> tuple[str, str]:
    """start and end of the adaptive window i{axis}."""
    start, end = slots.use(ADAPTIVE_WINDOW).args
    values = dict(i=var("i", axis), n=var("n", axis), o=var("o", axis))
    return (slots.pr.index(dv.per_axis(start, **values)),
            slots.pr.index(dv.per_axis(end, **values)))


def _adaptive_window(slots: Slots, dims: int) -> Loops:
    def loops(body: list[str]) -> list[str]:
        levels = []
        for a in range(dims):
            start, end = _bounds(slots, a)
            levels.append(([f"const long long end{a} = {end};",
                            f"for (long long j{a} = {start}; j{a} < end{a}; ++j{a}) {{"], True))
        return nest(levels, body)
    return loops


def _adaptive_windows_of(slots: Slots, dims: int) -> Loops:
    """The windows i that hold pixel t, per axis from the first one on."""
    def loops(body: list[str]) -> list[str]:
        levels = []
        for a in range(dims):
            first = dv.per_axis(slots.use(ADAPTIVE_FIRST), t=var("t", a), n=var("n", a),
                                o=var("o", a))
            start, end = _bounds(slots, a)
            levels.append(([f"for (long long i{a} = {slots.pr.index(first)}; i{a} < o{a}; "
                            f"++i{a}) {{",
                            f"    if ({start} > t{a}) break;",
                            f"    if ({end} <= t{a}) continue;"], True))
        return nest(levels, body)
    return loops


def _spatial_dims(dims: int) -> int:
    """The number of spatial axes of an adaptive pooling: an int of 1 or more."""
    return ints((dims,), "dims", minimum=1)[0]


def _adaptive_size(slots: Slots, dims: int) -> str:
    """|window i|: the product of end - start over the axes."""
    return " * ".join("({1} - {0})".format(*_bounds(slots, a)) for a in range(dims))


# --------------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------------

def _params(ctype: str, arrays: list[tuple[str, str]], dims: int) -> tuple[Param, ...]:
    """Arrays as (name, kind) with kind in in|out|index_in|index_out, then the sizes."""
    made = []
    for name, kind in arrays:
        if kind.startswith("index"):
            made.append(index_param(name, kind == "index_out"))
        else:
            made += float_params(ctype, [(name, kind == "out")], [])
    return tuple(made) + float_params(ctype, [], ["planes", *sizes("n", dims), *sizes("o", dims)])


def _over_outputs(dims: int) -> tuple[str, list[str]]:
    return f"planes * {product(sizes('o', dims))}", decode("e", [("plane", "")] +
                                                           axes_of("i", "o", dims))


def _over_pixels(dims: int) -> tuple[str, list[str]]:
    return f"planes * {product(sizes('n', dims))}", decode("e", [("plane", "")] +
                                                           axes_of("t", "n", dims))


def _max_over(name: str, summary: str, static: str, ctype: str, slots: Slots, dims: int,
              window: Loops) -> Kernel:
    """y[i] = the first maximum of the window in row-major order (a NaN wins), index[i] its
    flat position; -inf and -1 for a window with no position inside the input."""
    total, lines = _over_outputs(dims)
    lines += [f"const {ctype}* x_plane = x + plane * {product(sizes('n', dims))};",
              f"{ctype} best = {NEGATIVE_INFINITY[ctype]};", "long long arg = -1;"]
    body = [f"const long long at = {horner('0', axes_of('j', 'n', dims))};",
            f"const {ctype} value = x_plane[at];",
            "if (value > best || value != value || arg < 0) {", "    best = value;",
            "    arg = at;", "}"]
    params = _params(ctype, [("x", "in"), ("y", "out"), ("index", "index_out")], dims)
    return elementwise(name, summary, static, ctype, slots, params, total, lines, window(body),
                       ["y[e] = best;", "index[e] = arg;"])


def _routed(name: str, summary: str, static: str, ctype: str, slots: Slots, dims: int,
            windows_of: Loops) -> Kernel:
    """dx[t] = sum of g[i] over the windows i that hold t and whose arg-max is t."""
    total, lines = _over_pixels(dims)
    lines += [f"const long long pixel = {horner('0', axes_of('t', 'n', dims))};",
              f"{ctype} acc = 0;"]
    body = [f"const long long at = {horner('plane', axes_of('i', 'o', dims))};",
            "if (index[at] == pixel) acc += g[at];"]
    params = _params(ctype, [("g", "in"), ("index", "index_in"), ("dx", "out")], dims)
    return elementwise(name, summary, static, ctype, slots, params, total, lines,
                       windows_of(body), ["dx[e] = acc;"])


def _inside(name: str, summary: str, static: str, ctype: str, slots: Slots, dims: int,
            window: Loops) -> Kernel:
    """outside[i] = 0 where index[i] is -1 or a position of window i, else 1."""
    total, lines = _over_outputs(dims)
    lines += ["const long long wanted = index[e];", "bool inside = wanted < 0;"]
    body = [f"if ({horner('0', axes_of('j', 'n', dims))} == wanted) inside = true;"]
    params = _params(ctype, [("index", "index_in"), ("outside", "index_out")], dims)
    return elementwise(name, summary, static, ctype, slots, params, total, lines, window(body),
                       ["outside[e] = inside ? 0 : 1;"])


def _mean_over(name: str, summary: str, static: str, ctype: str, slots: Slots, dims: int,
               window: Loops, divisor: str) -> Kernel:
    """y[i] = (sum of the window) / D_i."""
    total, lines = _over_outputs(dims)
    lines += [f"const {ctype}* x_plane = x + plane * {product(sizes('n', dims))};",
              f"{ctype} acc = 0;"]
    body = [f"acc += x_plane[{horner('0', axes_of('j', 'n', dims))}];"]
    params = _params(ctype, [("x", "in"), ("y", "out")], dims)
    return elementwise(name, summary, static, ctype, slots, params, total, lines, window(body),
                       [f"y[e] = acc / ({ctype})({divisor});"])


def _mean_adjoint(name: str, summary: str, static: str, ctype: str, slots: Slots, dims: int,
                  windows_of: Loops, divisor: str) -> Kernel:
    """dx[t] = sum of g[i] / D_i over the windows i that hold t."""
    total, lines = _over_pixels(dims)
    lines.append(f"{ctype} acc = 0;")
    body = [f"acc += g[{horner('plane', axes_of('i', 'o', dims))}] / ({ctype})({divisor});"]
    params = _params(ctype, [("g", "in"), ("dx", "out")], dims)
    return elementwise(name, summary, static, ctype, slots, params, total, lines,
                       windows_of(body), ["dx[e] = acc;"])


# --------------------------------------------------------------------------------------------
# Strided pooling
# --------------------------------------------------------------------------------------------

def max_pool_forward(pool: PoolGeometry) -> Kernel:
    """y[b, c, i] = max over taps inside the input of x[b, c, s i + d m - p], with the flat
    index of the max: ties keep the first tap in row-major order, a NaN wins (PyTorch)."""
    _, slots = slots_for(pool.dtype)
    return _max_over(join(f"max_pool{pool.dims}d_fwd", pool.tag(), dtype_tag(pool.dtype)),
                     "max pooling with arg-max", pool.describe(), c_type(pool.dtype), slots,
                     pool.dims, _strided_window(slots, pool))


def max_pool_backward(pool: PoolGeometry) -> Kernel:
    """dx[b, c, t] = sum of g[b, c, i] over the windows i that hold t and whose arg-max is t."""
    _, slots = slots_for(pool.dtype)
    return _routed(join(f"max_pool{pool.dims}d_bwd", pool.tag(), dtype_tag(pool.dtype)),
                   "max pooling backward (gather over the windows of each pixel)",
                   pool.describe(), c_type(pool.dtype), slots, pool.dims,
                   _strided_windows_of(slots, pool))


def max_pool_indices_inside(pool: PoolGeometry) -> Kernel:
    """outside[b, c, i] = 0 where index[b, c, i] is -1 or a position of window i, else 1."""
    _, slots = slots_for(pool.dtype)
    return _inside(join(f"max_pool{pool.dims}d_indices_inside", pool.tag(),
                        dtype_tag(pool.dtype)),
                   "max pooling: the saved indices inside their windows", pool.describe(),
                   c_type(pool.dtype), slots, pool.dims, _strided_window(slots, pool))


def _divisor(slots: Slots, pool: PoolGeometry, count_include_pad: bool) -> str:
    """D_i: per axis |[start, start + k) ∩ [-p, n + p)| (count_include_pad) or ∩ [0, n), with
    start = s i - p the window's first position (the forward read at tap 0).  The factors
    are multiplied in double: a window of k^dims taps padded around a small input fits the
    32-bit variant's extent, not its product (46,342² wraps an int, 2,097,153³ a long long),
    and a double holds every product below 2^53 exactly."""
    factors = []
    for a in range(pool.dims):
        static = pool.axis(a)
        start = dv.per_axis(slots.use(dv.forward_read()), i=var("i", a), m=0, s=static["s"],
                            d=static["d"], p=static["p"])
        n, k = var("n", a), static["k"]
        low, high = (-static["p"], n + static["p"]) if count_include_pad else (0, n)
        factors.append(sympy.Min(start + k, high) - sympy.Max(start, low))
    return " * ".join(f"(double)({slots.pr.index(factor)})" for factor in factors)


def _avg(pool: PoolGeometry, count_include_pad: bool, direction: str) -> tuple[str, str]:
    if any(d != 1 for d in pool.dilation):
        raise ValueError(f"average pooling has no dilation, got dilation {pool.dilation}")
    name = join(f"avg_pool{pool.dims}d_{direction}", pool.tag(),
                "cip" if count_include_pad else "nocip", dtype_tag(pool.dtype))
    return name, f"{pool.describe()}, count_include_pad {count_include_pad}"


def avg_pool_forward(pool: PoolGeometry, count_include_pad: bool) -> Kernel:
    """y[b, c, i] = (1/D_i) sum over taps inside the input of x[b, c, s i + m - p]."""
    name, static = _avg(pool, count_include_pad, "fwd")
    _, slots = slots_for(pool.dtype)
    return _mean_over(name, "average pooling", static, c_type(pool.dtype), slots, pool.dims,
                      _strided_window(slots, pool), _divisor(slots, pool, count_include_pad))


def avg_pool_backward(pool: PoolGeometry, count_include_pad: bool) -> Kernel:
    """dx[b, c, t] = sum over the windows i that hold t of g[b, c, i] / D_i."""
    name, static = _avg(pool, count_include_pad, "bwd")
    _, slots = slots_for(pool.dtype)
    return _mean_adjoint(name, "average pooling backward (gather)", static, c_type(pool.dtype),
                         slots, pool.dims, _strided_windows_of(slots, pool),
                         _divisor(slots, pool, count_include_pad))


# --------------------------------------------------------------------------------------------
# Adaptive pooling
# --------------------------------------------------------------------------------------------

_ADAPTIVE = "none (window sizes at run time)"


def adaptive_avg_pool_forward(dims: int, dtype: np.dtype) -> Kernel:
    """y[b, c, i] = mean of x[b, c, j] over the adaptive window of i."""
    dims = _spatial_dims(dims)
    ctype, slots = slots_for(dtype)
    return _mean_over(join(f"adaptive_avg_pool{dims}d_fwd", dtype_tag(dtype)),
                      "adaptive average pooling", _ADAPTIVE, ctype, slots, dims,
                      _adaptive_window(slots, dims), _adaptive_size(slots, dims))


def adaptive_avg_pool_backward(dims: int, dtype: np.dtype) -> Kernel:
    """dx[b, c, t] = sum over the adaptive windows i that hold t of g[b, c, i] / |window i|."""
    dims = _spatial_dims(dims)
    ctype, slots = slots_for(dtype)
    return _mean_adjoint(join(f"adaptive_avg_pool{dims}d_bwd", dtype_tag(dtype)),
                         "adaptive average pooling backward (gather)", _ADAPTIVE, ctype, slots,
                         dims, _adaptive_windows_of(slots, dims), _adaptive_size(slots, dims))


def adaptive_max_pool_forward(dims: int, dtype: np.dtype) -> Kernel:
    """y[b, c, i] = max of x[b, c, j] over the adaptive window of i, with its flat index."""
    dims = _spatial_dims(dims)
    ctype, slots = slots_for(dtype)
    return _max_over(join(f"adaptive_max_pool{dims}d_fwd", dtype_tag(dtype)),
                     "adaptive max pooling with arg-max", _ADAPTIVE, ctype, slots, dims,
                     _adaptive_window(slots, dims))


def adaptive_max_pool_backward(dims: int, dtype: np.dtype) -> Kernel:
    """dx[b, c, t] = sum of g[b, c, i] over the adaptive windows i that hold t with arg-max t."""
    dims = _spatial_dims(dims)
    ctype, slots = slots_for(dtype)
    return _routed(join(f"adaptive_max_pool{dims}d_bwd", dtype_tag(dtype)),
                   "adaptive max pooling backward (gather)", _ADAPTIVE, ctype, slots, dims,
                   _adaptive_windows_of(slots, dims))


def adaptive_max_pool_indices_inside(dims: int, dtype: np.dtype) -> Kernel:
    """outside[b, c, i] = 0 where index[b, c, i] is -1 or a position of adaptive window i."""
    dims = _spatial_dims(dims)
    ctype, slots = slots_for(dtype)
    return _inside(join(f"adaptive_max_pool{dims}d_indices_inside", dtype_tag(dtype)),
                   "adaptive max pooling: the saved indices inside their windows", _ADAPTIVE,
                   ctype, slots, dims, _adaptive_window(slots, dims))


# --------------------------------------------------------------------------------------------
# Routing by flat indices, plane by plane (max pooling backward from indices outside their
# windows, which the gather does not route)
# --------------------------------------------------------------------------------------------

ROUTE = Template("""\
extern "C" __global__ void $name(
    $signature)
{
    for (long long plane = (long long)blockIdx.x * blockDim.x + threadIdx.x; plane < planes;
         plane += (long long)gridDim.x * blockDim.x) {
        $T* dx_plane = dx + plane * pixels;
        for (long long t = 0; t < pixels; ++t) dx_plane[t] = 0;
        for (long long i = 0; i < positions; ++i) {
            const long long at = plane * positions + i;
            if (index[at] >= 0) dx_plane[index[at]] += g[at];
        }
    }
}
""")


def route_by_index(dtype: np.dtype) -> Kernel:
    """dx[b, c, idx[b, c, i]] += g[b, c, i], one thread per (b, c) plane visiting i in order:
    deterministic without atomics, for indices of any origin (few threads, each a long
    serial loop: for indices that the gather over windows would not route)."""
    ctype = c_type(dtype)
    name = join("route_by_index", dtype_tag(dtype))
    params = (float_params(ctype, [("g", False)], []) + (index_param("index", False),)
              + float_params(ctype, [("dx", True)], ["planes", "positions", "pixels"]))
    body = ROUTE.substitute(name=name, signature=signature(params), T=ctype)
    text = header(name, "routing by flat index, one thread per plane", (),
                  "none (sizes at run time)", ctype)
    return Kernel(name, text + "\n" + body, params, THREADS, ())


__all__ = [
    "ADAPTIVE_FIRST", "ADAPTIVE_WINDOW", "adaptive_avg_pool_backward",
    "adaptive_avg_pool_forward", "adaptive_max_pool_backward", "adaptive_max_pool_forward",
    "adaptive_max_pool_indices_inside", "avg_pool_backward", "avg_pool_forward",
    "max_pool_backward", "max_pool_forward", "max_pool_indices_inside", "route_by_index",
]
