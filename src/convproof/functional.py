"""PyTorch-style convolution and pooling on NumPy arrays (and on CuPy arrays, on a GPU).

Each operation is written once for any number of spatial dims (``conv(..., dims=2)``) and
published under its 1-D, 2-D and 3-D names (``conv1d``, ``conv2d``, ``conv3d``).  This module
validates the arguments (through :mod:`convproof.spec` and :mod:`convproof.arrays`), resolves
the padding to per-dim (lo, hi) pairs, decides the compute dtype (float32 stays float32; float64
and integers are computed in float64; either byte order; NumPy subclasses such as np.matrix
as plain arrays, masked arrays refused, as their mask would be ignored), adds the bias,
accepts unbatched inputs (C, *spatial) as PyTorch does, and composes every operation from the
zero-padding primitives of a backend chosen by the array type: :mod:`convproof.cpu` for NumPy
arrays, :mod:`convproof.gpu` (imported on first use) for CuPy arrays.  The rules, with A the
zero-padded correlation and P_M the padding map of mode M:

    padded conv         conv_M(x) = A (P_M x)                  (A with no padding of its own)
    true convolution    convolve(x, w) = conv(x, flip(w))      (the flip-equivalence theorem)
    transposed conv     convT_M(g) = P_M^T A^T g               (the adjoint of conv_M)
    input gradient      dL/dx = convT_M(g) at the forward input size
    weight gradient     dL/dw = correlate_weight_grad(P_M x, g)

Semantics are PyTorch's (torch.nn.functional, torch.nn.grad), extended: ``padding`` also takes
per-dim (lo, hi) pairs, "same" for any stride (output ceil(n/s), the odd pixel at the end) and
"full", and every ``padding_mode`` works for the transposed convolution too.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import sympy

from . import cpu
from .arrays import array_module, compute_dtype, plain_array
from .spec import (ConvSpec, Pads, PoolSpec, check_flag, check_padding_fits, concrete,
                   conv_spec_for, padded_size, per_dim, shape_argument, spatial_axes)

Array = Any
"""A NumPy array (computed by :mod:`convproof.cpu`) or a CuPy array (:mod:`convproof.gpu`)."""

__all__ = [
    "adaptive_avg_pool", "adaptive_avg_pool1d", "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_backward", "adaptive_avg_pool_backward", "adaptive_max_pool",
    "adaptive_max_pool1d", "adaptive_max_pool1d_backward", "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward", "adaptive_max_pool3d", "adaptive_max_pool3d_backward",
    "adaptive_max_pool_backward", "avg_pool", "avg_pool1d", "avg_pool1d_backward", "avg_pool2d",
    "avg_pool2d_backward", "avg_pool3d", "avg_pool3d_backward", "avg_pool_backward", "conv",
    "conv1d", "conv1d_input", "conv1d_weight", "conv2d", "conv2d_input", "conv2d_weight",
    "conv3d", "conv3d_input", "conv3d_weight", "conv_input", "conv_transpose",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_weight", "convolve",
    "convolve1d", "convolve2d", "convolve3d", "max_pool", "max_pool1d", "max_pool1d_backward",
    "max_pool2d", "max_pool2d_backward", "max_pool3d", "max_pool3d_backward",
    "max_pool_backward",
]


# --------------------------------------------------------------------------------------------
# Arrays: backend, compute dtype, batch axis, shapes
# --------------------------------------------------------------------------------------------

def _backend(named: dict[str, Any]) -> ModuleType:
    """convproof.cpu for NumPy arrays, convproof.gpu for CuPy arrays; never a mix of both."""
    modules = {name: array_module(a).__name__ for name, a in named.items() if a is not None}
    if len(set(modules.values())) > 1:
        found = ", ".join(f"{name} is a {module} array" for name, module in modules.items())
        raise TypeError(f"all arrays must be on the same device, but {found}")
    if "cupy" in modules.values():
        return importlib.import_module("convproof.gpu")
    return cpu


def _cast(**named: Any) -> tuple[ModuleType, list[Any]]:
    """The backend, and each array in the compute dtype (an absent bias stays ``None``); a
    NumPy subclass (np.matrix) as a plain ndarray, a masked array refused (its mask would be
    ignored)."""
    for name, array in named.items():
        if array is None and name != "bias":
            raise TypeError(f"{name} must be an array (NumPy or CuPy), got None")
    named = {name: plain_array(a, name) for name, a in named.items()}
    backend = _backend(named)
    dtype = compute_dtype(named, backend.FLOAT_DTYPES)
    return backend, [None if a is None else a.astype(dtype, copy=False) for a in named.values()]


def _add_batch(array: Array, unbatched: bool, name: str = "input") -> Array:
    """(C, *spatial) -> (1, C, *spatial) for an unbatched input, none of whose axes may be
    empty (reported in the caller's shape, before the batch axis is added)."""
    if not unbatched:
        return array
    if 0 in array.shape:
        raise ValueError(f"{name} has an empty axis {tuple(array.shape).index(0)}: shape "
                         f"{tuple(array.shape)}")
    return array[None]


def _drop_batch(array: Array, unbatched: bool) -> Array:
    return array[0] if unbatched else array


def _check_shape(name: str, array: Array, expected: Sequence[int], unbatched: bool,
                 context: str = "") -> None:
    """``name`` must have the ``expected`` (batched) shape; the message shows the caller's."""
    expected = tuple(expected)
    if array.shape != expected:
        shown, got = (expected[1:], array.shape[1:]) if unbatched else (expected, array.shape)
        raise ValueError(f"{name} must have shape {shown}{context}, got {got}")


# --------------------------------------------------------------------------------------------
# Convolution rules
# --------------------------------------------------------------------------------------------

def _no_pads(dims: int) -> Pads:
    return ((0, 0),) * dims


def _explicit_padding(backend: ModuleType, x: Array, spec: ConvSpec, pads: Pads
                      ) -> tuple[Array, Pads]:
    """conv_M(x) = A(P_M x): zeros padding is left to A itself, any other mode applied first."""
    if spec.padding_mode == "zeros":
        return x, pads
    return backend.pad(x, pads, spec.padding_mode), _no_pads(spec.dims)


def _adjoint(backend: ModuleType, g: Array, w: Array, spec: ConvSpec, pads: Pads,
             size: Sequence[int]) -> Array:
    """convT_M(g) = P_M^T A^T g, with A^T g on the padded size n + p_lo + p_hi."""
    if spec.padding_mode == "zeros":
        return backend.correlate_input_grad(g, w, spec.stride, pads, spec.dilation, spec.groups,
                                            tuple(size))
    padded = padded_size(size, pads)
    z_pad = backend.correlate_input_grad(g, w, spec.stride, _no_pads(spec.dims), spec.dilation,
                                         spec.groups, padded)
    return backend.pad_adjoint(z_pad, pads, spec.padding_mode, tuple(size))


def _flip(w: Array, dims: int) -> Array:
    """flip(w)[o, c, m] = w[o, c, k - 1 - m]: every spatial axis reversed, channels untouched."""
    return w[(Ellipsis, *(slice(None, None, -1),) * dims)]


def _add_bias(y: Array, bias: Array | None) -> Array:
    """y[b, o, i] + bias[o]."""
    if bias is not None:
        y += bias.reshape(-1, *(1,) * (y.ndim - 2))
    return y


def _concrete(**sizes: Any) -> None:
    """Sizes of an operation on arrays are numbers: a spec may hold SymPy symbols (the
    proofs'), an array may not; a TypeError names the first that is one."""
    def entries(value: Any) -> list[Any]:
        if isinstance(value, (list, tuple)):
            return [v for item in value for v in entries(item)]
        return [value]
    for name, value in sizes.items():
        if any(isinstance(v, sympy.Basic) and not v.is_Integer for v in entries(value)):
            what = "integers" if isinstance(value, (list, tuple)) else "an integer"
            raise TypeError(f"{name} must be {what} to compute on arrays, got {value}")


def _numeric(spec: ConvSpec | PoolSpec) -> ConvSpec | PoolSpec:
    """``spec`` once its sizes are numbers (:func:`_concrete`)."""
    names = ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups")
    _concrete(**{name: getattr(spec, name) for name in names if hasattr(spec, name)})
    return spec


def _numeric_spec(*shapes: Any, **options: Any) -> ConvSpec:
    """conv_spec_for, for arrays: the options are numbers before they are checked together."""
    _concrete(**options)
    return _numeric(conv_spec_for(*shapes, **options))


def _correlation(input: Array, weight: Array, bias: Array | None, dims: int, flip: bool,
                 **options: Any) -> Array:
    """conv_M(x) + bias, with the kernel flipped for the true convolution."""
    backend, (x, w, b) = _cast(input=input, weight=weight, bias=bias)
    unbatched = x.ndim == dims + 1
    x = _add_batch(x, unbatched)
    spec = _numeric_spec(x.shape, w.shape, None if b is None else b.shape, dims=dims, **options)
    spec.output_size(x.shape[2:])  # the kernel fits; reflect/circular padding fits the input
    x, pads = _explicit_padding(backend, x, spec, spec.pads(x.shape[2:]))
    y = backend.correlate(x, _flip(w, dims) if flip else w, spec.stride, pads, spec.dilation,
                          spec.groups)
    return _drop_batch(_add_bias(y, b), unbatched)


def conv(input: Array, weight: Array, bias: Array | None = None,
         stride: int | Sequence[int] = 1, padding: int | str | Sequence[Any] = 0,
         dilation: int | Sequence[int] = 1, groups: int = 1, padding_mode: str = "zeros",
         *, dims: int) -> Array:
    """N-D cross-correlation ("conv" in deep learning), as in PyTorch:

        y[b, o, i] = bias[o] + sum_{c' < Ci} sum_m w[o, c', m] x_pad[b, g Ci + c', s i + d m]

    input (N, C_in, *n) or unbatched (C_in, *n), weight (C_out, C_in/groups, *k), bias (C_out,);
    Ci = C_in/groups, g = o // (C_out/groups) the group of output channel o, x_pad the input
    padded with ``padding_mode`` (zeros, reflect, replicate, circular).  ``padding``: an int, a
    per-dim tuple, per-dim (lo, hi) pairs, "valid", "same" (output ceil(n/s) for any stride,
    the odd pixel at the end) or "full" (d(k - 1) on both sides).  Output size per dim:
    floor((n + p_lo + p_hi - d(k - 1) - 1)/s) + 1; trailing rows no window reaches are dropped.
    """
    return _correlation(input, weight, bias, dims, False, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)


def convolve(input: Array, weight: Array, bias: Array | None = None,
             stride: int | Sequence[int] = 1, padding: int | str | Sequence[Any] = 0,
             dilation: int | Sequence[int] = 1, groups: int = 1, padding_mode: str = "zeros",
             *, dims: int) -> Array:
    """N-D true convolution (the kernel reversed), same arguments and shapes as ``conv``:

        y[b, o, i] = bias[o] + sum_{c' < Ci} sum_m w[o, c', m] x_pad[b, g Ci + c', s i + d (k-1-m)]

    computed as conv(x, flip(w)), flip reversing every spatial axis of w (flip-equivalence).
    """
    return _correlation(input, weight, bias, dims, True, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv_transpose(input: Array, weight: Array, bias: Array | None = None,
                   stride: int | Sequence[int] = 1, padding: int | str | Sequence[Any] = 0,
                   output_padding: int | Sequence[int] = 0, groups: int = 1,
                   dilation: int | Sequence[int] = 1, padding_mode: str = "zeros",
                   *, dims: int) -> Array:
    """N-D transposed convolution: the adjoint of the conv with the same arguments, plus bias.

        z_pad[b, g Co + c', s i + d m] += w[o, c', m] x[b, o, i]    (o in group g)
        y[b, c] = (P^T z_pad)[b, c] + bias[c]

    input (N, C_in, *m) or unbatched, weight (C_in, C_out/groups, *k) as in PyTorch, bias
    (C_out,); output (N, C_out, *t) with t = (m - 1)s - p_lo - p_hi + d(k - 1) + a + 1 and
    a = output_padding in [0, max(s, d)).  For zeros padding P^T crops [p_lo, p_lo + t); for
    reflect, replicate and circular (which PyTorch lacks) P^T folds what lands on the padded
    border back onto the pixels the border copies.  padding="same" needs stride 1.
    """
    backend, (x, w, b) = _cast(input=input, weight=weight, bias=bias)
    unbatched = x.ndim == dims + 1
    x = _add_batch(x, unbatched)
    spec = _numeric_spec(x.shape, w.shape, None if b is None else b.shape, dims=dims,
                         transposed=True, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, padding_mode=padding_mode, output_padding=output_padding)
    size = spec.transposed_output_size(x.shape[2:])
    pads = spec.transposed_pads()
    check_padding_fits(spec.padding_mode, pads, size, "transposed output size")
    return _drop_batch(_add_bias(_adjoint(backend, x, w, spec, pads, size), b), unbatched)


def _gradient_spec(input_shape: Sequence[int], weight_shape: Sequence[int], g: Array,
                   unbatched: bool, dims: int, **options: Any) -> ConvSpec:
    """The forward ConvSpec, with grad_output checked against the forward output shape."""
    spec = _numeric_spec(input_shape, weight_shape, dims=dims, **options)
    expected = (input_shape[0], spec.out_channels, *spec.output_size(input_shape[2:]))
    shown = tuple(input_shape[1:]) if unbatched else tuple(input_shape)
    _check_shape("grad_output", g, expected, unbatched,
                 f" (the conv output for an input of shape {shown}, weight {tuple(weight_shape)})")
    return spec


def conv_input(input_size: Sequence[int], weight: Array, grad_output: Array,
               stride: int | Sequence[int] = 1, padding: int | str | Sequence[Any] = 0,
               dilation: int | Sequence[int] = 1, groups: int = 1, padding_mode: str = "zeros",
               *, dims: int) -> Array:
    """N-D conv gradient with respect to the input, as torch.nn.grad (argument order too):

        dL/dx = P^T z_pad,   z_pad[b, g Ci + c', s i + d m] += w[o, c', m] g[b, o, i]

    the transposed conv of g = grad_output whose output_padding restores ``input_size``
    (N, C_in, *n), or (C_in, *n) with an unbatched grad_output; input rows that the forward
    floor rule skipped get zero gradient.
    """
    backend, (w, g) = _cast(weight=weight, grad_output=grad_output)
    unbatched = g.ndim == dims + 1
    size = (shape_argument("input_size", input_size, "(C_in, *spatial)", dims + 1)
            if unbatched else shape_argument("input_size", input_size, "(N, C_in, *spatial)",
                                             dims + 2, batched=True))
    size, g = ((1, *size) if unbatched else size), _add_batch(g, unbatched, "grad_output")
    spec = _gradient_spec(size, w.shape, g, unbatched, dims, stride=stride, padding=padding,
                          dilation=dilation, groups=groups, padding_mode=padding_mode)
    grad = _adjoint(backend, g, w, spec, spec.pads(size[2:]), size[2:])
    return _drop_batch(grad, unbatched)


def conv_weight(input: Array, weight_size: Sequence[int], grad_output: Array,
                stride: int | Sequence[int] = 1, padding: int | str | Sequence[Any] = 0,
                dilation: int | Sequence[int] = 1, groups: int = 1, padding_mode: str = "zeros",
                *, dims: int) -> Array:
    """N-D conv gradient with respect to the weight, as torch.nn.grad (argument order too):

        dL/dw[o, c', m] = sum_b sum_i g[b, o, i] x_pad[b, g Ci + c', s i + d m]

    for a weight of shape ``weight_size`` = (C_out, C_in/groups, *k) and g = grad_output.
    """
    backend, (x, g) = _cast(input=input, grad_output=grad_output)
    unbatched = x.ndim == dims + 1
    x, g = _add_batch(x, unbatched), _add_batch(g, unbatched, "grad_output")
    weight_size = shape_argument("weight_size", weight_size, "(C_out, C_in/groups, *k)",
                                 dims + 2)
    spec = _gradient_spec(x.shape, weight_size, g, unbatched, dims, stride=stride,
                          padding=padding, dilation=dilation, groups=groups,
                          padding_mode=padding_mode)
    x, pads = _explicit_padding(backend, x, spec, spec.pads(x.shape[2:]))
    return backend.correlate_weight_grad(x, g, spec.stride, pads, spec.dilation, spec.groups,
                                         weight_size[2:])


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------

def _pool_rank(x: Array, dims: int) -> bool:
    """Whether the pooling input is unbatched (C, *spatial); refuses any other rank and an
    empty spatial axis (there is no window to pool; an empty batch or channel axis is fine)."""
    if x.ndim not in (dims + 1, dims + 2):
        axes = spatial_axes(dims)
        raise ValueError(f"input must have {dims + 2} dims (N, C, {axes}) or {dims + 1} "
                         f"(C, {axes}) for {dims}-D pooling, got shape {x.shape}")
    for axis in range(x.ndim - dims, x.ndim):
        if x.shape[axis] < 1:
            raise ValueError(f"input has an empty axis {axis}: shape {tuple(x.shape)}")
    return x.ndim == dims + 1


def _pool_spec(kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any,
               dims: int) -> PoolSpec:
    return _numeric(PoolSpec(per_dim("kernel_size", kernel_size, dims, 1), stride, padding,
                             dilation, ceil_mode))


def _pooled_shape(x: Array, spec: PoolSpec) -> tuple[int, ...]:
    """(N, C, *o): the output shape, once the kernel is known to fit the padded input."""
    return (*x.shape[:2], *spec.output_size(x.shape[2:]))


def _adaptive_size(output_size: Any, sizes: Sequence[int]) -> tuple[int, ...]:
    """An int or a per-dim tuple; a None entry keeps that input size (as PyTorch)."""
    if isinstance(output_size, (list, tuple)) and len(output_size) == len(sizes):
        output_size = tuple(n if o is None else o for o, n in zip(output_size, sizes))
    return tuple(concrete(f"output_size[{axis}]", o) for axis, o in
                 enumerate(per_dim("output_size", output_size, len(sizes), 1)))


def max_pool(input: Array, kernel_size: int | Sequence[int],
             stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
             dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
             return_indices: bool = False, *, dims: int) -> Any:
    """N-D max pooling, as in PyTorch; with ``return_indices`` also the int64 flat indices.

        y[b, c, i] = max over m < k with 0 <= s i - p + d m < n of x[b, c, s i - p + d m]

    input (N, C, *n) or unbatched (C, *n); stride defaults to kernel_size; padding (implicit
    -inf) at most half the kernel; ceil_mode adds a last window that starts inside the input or
    the left padding.  Ties keep the first position in row-major window order, a NaN wins;
    indices are row-major over the input's spatial dims.
    """
    check_flag("return_indices", return_indices)
    backend, (x,) = _cast(input=input)
    unbatched = _pool_rank(x, dims)
    spec = _pool_spec(kernel_size, stride, padding, dilation, ceil_mode, dims)
    x = _add_batch(x, unbatched)
    spec.output_size(x.shape[2:])  # the window fits the padded input
    y, indices = backend.max_pool(x, spec)
    y, indices = _drop_batch(y, unbatched), _drop_batch(indices, unbatched)
    return (y, indices) if return_indices else y


def max_pool_backward(grad_output: Array, input: Array, kernel_size: int | Sequence[int],
                      stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                      dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
                      *, indices: Array | None = None, dims: int) -> Array:
    """N-D max pooling backward: the subgradient routed to each window's arg-max,

        grad_x[b, c, idx[b, c, i]] += grad_output[b, c, i]    (summed where windows overlap)

    with idx the indices of ``max_pool`` on ``input`` (same arguments): found again, or
    ``indices`` as ``max_pool(..., return_indices=True)`` returned them (a training step's
    forward saves them; each is routed where it points).
    """
    backend, (g, x) = _cast(grad_output=grad_output, input=input)
    unbatched = _pool_rank(x, dims)
    g, x = _add_batch(g, unbatched, "grad_output"), _add_batch(x, unbatched)
    spec = _pool_spec(kernel_size, stride, padding, dilation, ceil_mode, dims)
    _check_shape("grad_output", g, _pooled_shape(x, spec), unbatched)
    if indices is not None:
        indices = _saved_indices(indices, g, x, unbatched)
        return _drop_batch(backend.max_pool_backward(g, indices, x.shape[2:], spec), unbatched)
    _, indices = backend.max_pool(x, spec)
    return _drop_batch(backend.max_pool_backward(g, indices, x.shape[2:], spec, returned=True),
                       unbatched)


def _saved_indices(indices: Any, g: Array, x: Array, unbatched: bool) -> Array:
    """Indices a max pooling returned, checked for its backward: integers on the device of
    ``g``, of its shape, each -1 (an empty window) or a flat index into x's spatial axes; a
    NumPy subclass (np.matrix) as a plain ndarray, a masked array refused (plain_array)."""
    indices = plain_array(indices, "indices")
    _backend({"grad_output": g, "indices": indices})
    if getattr(getattr(indices, "dtype", None), "kind", None) not in ("i", "u"):
        raise TypeError(f"indices must be an integer array, as max_pool(..., "
                        f"return_indices=True) returns, got "
                        f"{getattr(indices, 'dtype', None) or type(indices).__name__}")
    indices = _add_batch(indices, unbatched, "indices")
    _check_shape("indices", indices, g.shape, unbatched, " (that of grad_output)")
    length = math.prod(x.shape[2:])
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < -1 or high >= length:
            raise ValueError(f"indices holds {low if low < -1 else high}, outside [-1, "
                             f"{length}) for an input of spatial shape {tuple(x.shape[2:])}")
    return indices.astype(np.int64, copy=False)


def avg_pool(input: Array, kernel_size: int | Sequence[int],
             stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
             ceil_mode: bool = False, count_include_pad: bool = True, *, dims: int) -> Array:
    """N-D average pooling, as in PyTorch:

        y[b, c, i] = (1 / D_i) sum over m < k with 0 <= s i - p + m < n of x[b, c, s i - p + m]

    D_i = the product over dims of the window length clipped to [-p, n + p) (count_include_pad)
    or of the number of its positions inside the input.  input (N, C, *n) or unbatched.
    """
    check_flag("count_include_pad", count_include_pad)
    backend, (x,) = _cast(input=input)
    unbatched = _pool_rank(x, dims)
    spec = _pool_spec(kernel_size, stride, padding, 1, ceil_mode, dims)
    x = _add_batch(x, unbatched)
    spec.output_size(x.shape[2:])  # the window fits the padded input
    return _drop_batch(backend.avg_pool(x, spec, count_include_pad), unbatched)


def avg_pool_backward(grad_output: Array, input: Array, kernel_size: int | Sequence[int],
                      stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                      ceil_mode: bool = False, count_include_pad: bool = True,
                      *, dims: int) -> Array:
    """N-D average pooling backward, the adjoint of ``avg_pool`` (same arguments):

        grad_x[b, c, s i - p + m] += grad_output[b, c, i] / D_i    (positions inside the input)
    """
    check_flag("count_include_pad", count_include_pad)
    backend, (g, x) = _cast(grad_output=grad_output, input=input)
    unbatched = _pool_rank(x, dims)
    g, x = _add_batch(g, unbatched, "grad_output"), _add_batch(x, unbatched)
    spec = _pool_spec(kernel_size, stride, padding, 1, ceil_mode, dims)
    _check_shape("grad_output", g, _pooled_shape(x, spec), unbatched)
    grad = backend.avg_pool_backward(g, spec, count_include_pad, x.shape[2:])
    return _drop_batch(grad, unbatched)


def adaptive_avg_pool(input: Array, output_size: int | Sequence[int | None], *,
                      dims: int) -> Array:
    """N-D adaptive average pooling, as in PyTorch:

        y[b, c, i] = mean of x[b, c, j] over j in W_i,  W_i = [floor(i n/o), ceil((i + 1) n/o))

    per dim; ``output_size`` (o) an int or a per-dim tuple, None keeping that input size.
    """
    backend, (x,) = _cast(input=input)
    unbatched = _pool_rank(x, dims)
    out = _adaptive_size(output_size, x.shape[-dims:])
    return _drop_batch(backend.adaptive_avg_pool(_add_batch(x, unbatched), out), unbatched)


def adaptive_avg_pool_backward(grad_output: Array, input: Array, *, dims: int) -> Array:
    """N-D adaptive average pooling backward (the output size is that of grad_output):

        grad_x[b, c, j] += grad_output[b, c, i] / |window i|   for every window i holding j
    """
    backend, (g, x) = _cast(grad_output=grad_output, input=input)
    unbatched = _pool_rank(x, dims)
    lead = x.shape[:-dims]
    if g.ndim != x.ndim or g.shape[:-dims] != lead:
        raise ValueError(f"grad_output must have shape {lead} + {dims} output sizes, as the "
                         f"input of shape {x.shape}, got {g.shape}")
    if 0 in g.shape[-dims:]:
        raise ValueError(f"grad_output has an empty output axis: shape {tuple(g.shape)}")
    _adaptive_size(g.shape[-dims:], x.shape[-dims:])
    g, x = _add_batch(g, unbatched, "grad_output"), _add_batch(x, unbatched)
    return _drop_batch(backend.adaptive_avg_pool_backward(g, x.shape[2:]), unbatched)


def adaptive_max_pool(input: Array, output_size: int | Sequence[int | None],
                      return_indices: bool = False, *, dims: int) -> Any:
    """N-D adaptive max pooling, as in PyTorch:

        y[b, c, i] = max of x[b, c, j] over j in W_i,  W_i = [floor(i n/o), ceil((i + 1) n/o))

    per dim, with the int64 flat indices if ``return_indices`` (ties and NaN as in
    ``max_pool``); ``output_size`` (o) an int or a per-dim tuple, None keeping that input size.
    """
    check_flag("return_indices", return_indices)
    backend, (x,) = _cast(input=input)
    unbatched = _pool_rank(x, dims)
    out = _adaptive_size(output_size, x.shape[-dims:])
    y, indices = backend.adaptive_max_pool(_add_batch(x, unbatched), out)
    y, indices = _drop_batch(y, unbatched), _drop_batch(indices, unbatched)
    return (y, indices) if return_indices else y


def adaptive_max_pool_backward(grad_output: Array, input: Array,
                               output_size: int | Sequence[int | None], *,
                               indices: Array | None = None, dims: int) -> Array:
    """N-D adaptive max pooling backward: the subgradient routed to each window's arg-max,

        grad_x[b, c, idx[b, c, i]] += grad_output[b, c, i]

    with idx the indices of ``adaptive_max_pool`` on ``input`` (same ``output_size``): found
    again, or ``indices`` as ``adaptive_max_pool(..., return_indices=True)`` returned them.
    """
    backend, (g, x) = _cast(grad_output=grad_output, input=input)
    unbatched = _pool_rank(x, dims)
    g, x = _add_batch(g, unbatched, "grad_output"), _add_batch(x, unbatched)
    out = _adaptive_size(output_size, x.shape[2:])
    _check_shape("grad_output", g, (*x.shape[:2], *out), unbatched)
    if indices is not None:
        indices = _saved_indices(indices, g, x, unbatched)
        return _drop_batch(backend.adaptive_max_pool_backward(g, indices, x.shape[2:]),
                           unbatched)
    _, indices = backend.adaptive_max_pool(x, out)
    return _drop_batch(backend.adaptive_max_pool_backward(g, indices, x.shape[2:],
                                                          returned=True), unbatched)


# --------------------------------------------------------------------------------------------
# The 1-D, 2-D and 3-D names
# --------------------------------------------------------------------------------------------

def _specialize(generic: Callable[..., Any], name: str, dims: int) -> Callable[..., Any]:
    """``generic(..., dims=dims)`` named ``name``, with its own signature and docstring."""
    signature = inspect.signature(generic)
    public = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.name != "dims"])

    def operation(*args: Any, **kwargs: Any) -> Any:
        try:
            public.bind(*args, **kwargs)
        except TypeError as exc:  # an unknown or missing argument, under the public name
            raise TypeError(f"{name}(): {exc}") from None
        return generic(*args, **kwargs, dims=dims)

    operation.__signature__ = public
    operation.__annotations__ = {k: v for k, v in generic.__annotations__.items() if k != "dims"}
    operation.__name__ = operation.__qualname__ = name
    operation.__module__ = __name__
    operation.__doc__ = generic.__doc__.replace("N-D", f"{dims}-D", 1)
    return operation


def _variants(generic: Callable[..., Any], template: str) -> tuple[Callable[..., Any], ...]:
    """The 1-D, 2-D and 3-D functions of ``generic``, named by ``template`` ("conv{}d")."""
    return tuple(_specialize(generic, template.format(dims), dims) for dims in (1, 2, 3))


conv1d, conv2d, conv3d = _variants(conv, "conv{}d")
convolve1d, convolve2d, convolve3d = _variants(convolve, "convolve{}d")
conv_transpose1d, conv_transpose2d, conv_transpose3d = _variants(conv_transpose,
                                                                 "conv_transpose{}d")
conv1d_input, conv2d_input, conv3d_input = _variants(conv_input, "conv{}d_input")
conv1d_weight, conv2d_weight, conv3d_weight = _variants(conv_weight, "conv{}d_weight")
max_pool1d, max_pool2d, max_pool3d = _variants(max_pool, "max_pool{}d")
avg_pool1d, avg_pool2d, avg_pool3d = _variants(avg_pool, "avg_pool{}d")
adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = _variants(
    adaptive_avg_pool, "adaptive_avg_pool{}d")
adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = _variants(
    adaptive_max_pool, "adaptive_max_pool{}d")
max_pool1d_backward, max_pool2d_backward, max_pool3d_backward = _variants(
    max_pool_backward, "max_pool{}d_backward")
avg_pool1d_backward, avg_pool2d_backward, avg_pool3d_backward = _variants(
    avg_pool_backward, "avg_pool{}d_backward")
adaptive_avg_pool1d_backward, adaptive_avg_pool2d_backward, adaptive_avg_pool3d_backward = (
    _variants(adaptive_avg_pool_backward, "adaptive_avg_pool{}d_backward"))
adaptive_max_pool1d_backward, adaptive_max_pool2d_backward, adaptive_max_pool3d_backward = (
    _variants(adaptive_max_pool_backward, "adaptive_max_pool{}d_backward"))
