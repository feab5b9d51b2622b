"""Convolution layers, 1-D to 3-D, and their transposes; backward by the functional gradients.

Conv (cross-correlation), with x_M the input padded in ``padding_mode`` M, Ci = C_in/groups,
g(o) the group of output channel o:

    y[b, o, i] = bias[o] + sum_{c' < Ci, m} w[o, c', m] x_M[b, g(o) Ci + c', s i + d m]

    dL/dx     = convT_M(g)               the transposed conv at the input size (conv*_input)
    dL/dw     = sum_{b, i} g[b, o, i] x_M[b, g(o) Ci + c', s i + d m]         (conv*_weight)
    dL/dbias  = sum_{b, i} g[b, o, i]

The transposed conv y = convT_M(x) + bias is the adjoint of that conv (``transposed-is-adjoint``),
so its derivatives are the conv itself, <convT_M(x), g> = <x, conv_M(g)>:

    dL/dx = conv_M(g, w)[..., :m]        dL/dw = conv*_weight(g, w.shape, x)

with m the transposed conv's input size; conv_M(g) covers m + floor(a/s) positions when the
output_padding a reaches a whole stride, and the rows past m (zeros of x) add nothing.
Weights are (C_out, C_in/groups, *k) for conv and (C_in, C_out/groups, *k) for the transposed
conv, as in PyTorch; both initialize as PyTorch does, weight and bias ~ U(-b, b),
b = 1/sqrt(weight.shape[1] * prod(k)) (``init.fan_in_uniform``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional
from ..arrays import array_module, float_dtype
from ..spec import ConvSpec, check_flag, per_dim, spatial_axes
from . import init
from .module import Array, Module, Parameter, as_generator, check_input


def _sum_but_channels(g: Array) -> Array:
    """sum over batch and positions: (N, C, *o) -> (C,)."""
    return g.sum(axis=(0, *range(2, g.ndim)))


class _Convolution(Module):
    """What conv and transposed conv share: the spec, the parameters and their initialization.

    The subclass sets in_channels, out_channels and padding before calling ``_build``.
    """

    dims: int
    transposed = False

    def _build(self, spec: ConvSpec, bias: bool, rng: Any, dtype: Any) -> None:
        bias = check_flag("bias", bias)
        self.spec = spec
        self.kernel_size = spec.kernel_size
        self.stride, self.dilation = spec.stride, spec.dilation
        self.groups, self.padding_mode = spec.groups, spec.padding_mode
        generator = as_generator(rng)
        dtype = float_dtype(dtype)
        weight = np.empty(spec.weight_shape, dtype=dtype)
        self.weight = Parameter(init.fan_in_uniform(weight, rng=generator))
        fan_in = init.fans(spec.weight_shape)[0]
        bias_values = np.empty(self.out_channels, dtype=dtype)
        self.bias = Parameter(init.fan_in_uniform(bias_values, fan_in, generator)) if bias else None

    def _options(self) -> dict[str, Any]:
        s = self.spec
        return dict(stride=s.stride, padding=s.padding, dilation=s.dilation, groups=s.groups,
                    padding_mode=s.padding_mode, dims=self.dims)

    def _check(self, x: Any) -> Array:
        layout = f"(N, {self.in_channels}, {spatial_axes(self.dims)})"
        return check_input(self, x, {self.dims + 2: layout}, self.in_channels)

    def _bias_grad(self, g: Array) -> None:
        if self.bias is not None:
            self.bias.accumulate(_sum_but_channels(g))

    def extra_repr(self) -> str:
        s = self.spec
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={s.kernel_size}, "
                f"stride={s.stride}, padding={self.padding!r}")
        if any(d != 1 for d in s.dilation):
            text += f", dilation={s.dilation}"
        if self.transposed and any(a != 0 for a in s.output_padding):
            text += f", output_padding={s.output_padding}"
        if s.groups != 1:
            text += f", groups={s.groups}"
        if self.bias is None:
            text += ", bias=False"
        if s.padding_mode != "zeros":
            text += f", padding_mode={s.padding_mode!r}"
        return text


class _ConvNd(_Convolution):
    """N-D conv layer (cross-correlation) with PyTorch's arguments; see the module docstring."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, rng: Any = None,
                 dtype: Any = np.float32) -> None:
        kernel = per_dim("kernel_size", kernel_size, self.dims, 1)
        spec = ConvSpec(in_channels, out_channels, kernel, stride, padding, dilation, groups,
                        padding_mode)
        self.in_channels, self.out_channels, self.padding = in_channels, out_channels, padding
        self._build(spec, bias, rng, dtype)

    def forward(self, x: Array) -> Array:
        x = self._check(x)
        bias = None if self.bias is None else self.bias.data
        y = functional.conv(x, self.weight.data, bias, **self._options())
        self.remember(y, input=x)
        return y

    def backward(self, grad_output: Array) -> Array:
        x, w = self.recall(grad_output)["input"], self.weight.data
        self.weight.accumulate(functional.conv_weight(x, w.shape, grad_output,
                                                      **self._options()))
        self._bias_grad(grad_output)
        return functional.conv_input(x.shape, w, grad_output, **self._options())


class _ConvTransposeNd(_Convolution):
    """N-D transposed conv layer, the adjoint of the conv with the same arguments."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", *, rng: Any = None,
                 dtype: Any = np.float32) -> None:
        kernel = per_dim("kernel_size", kernel_size, self.dims, 1)
        # the forward conv of which this layer is the adjoint maps out_channels to in_channels
        spec = ConvSpec(out_channels, in_channels, kernel, stride, padding, dilation, groups,
                        padding_mode, output_padding)
        spec.transposed_pads()  # refuses padding="same" with a stride
        self.in_channels, self.out_channels, self.padding = in_channels, out_channels, padding
        self.output_padding = spec.output_padding
        self._build(spec, bias, rng, dtype)

    def forward(self, x: Array) -> Array:
        x = self._check(x)
        bias = None if self.bias is None else self.bias.data
        y = functional.conv_transpose(x, self.weight.data, bias,
                                      output_padding=self.output_padding, **self._options())
        self.remember(y, input=x)
        return y

    def backward(self, grad_output: Array) -> Array:
        x, w = self.recall(grad_output)["input"], self.weight.data
        grad_input = functional.conv(grad_output, w, **self._options())
        size = x.shape[2:]
        x_extended = _extend(x, grad_input.shape[2:])
        self.weight.accumulate(functional.conv_weight(grad_output, w.shape, x_extended,
                                                      **self._options()))
        self._bias_grad(grad_output)
        return grad_input[(Ellipsis, *(slice(0, n) for n in size))]


def _extend(x: Array, size: tuple[int, ...]) -> Array:
    """x followed by zeros up to the spatial ``size`` (itself when it has that size)."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    extended = array_module(x).zeros((*x.shape[:2], *size), dtype=x.dtype)
    extended[(Ellipsis, *(slice(0, n) for n in x.shape[2:]))] = x
    return extended


class Conv1d(_ConvNd):
    """1-D conv layer: input (N, C_in, L), weight (C_out, C_in/groups, k)."""

    dims = 1


class Conv2d(_ConvNd):
    """2-D conv layer: input (N, C_in, H, W), weight (C_out, C_in/groups, k_h, k_w)."""

    dims = 2


class Conv3d(_ConvNd):
    """3-D conv layer: input (N, C_in, D, H, W), weight (C_out, C_in/groups, k_d, k_h, k_w)."""

    dims = 3


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed conv layer: input (N, C_in, L), weight (C_in, C_out/groups, k)."""

    dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed conv layer: input (N, C_in, H, W), weight (C_in, C_out/groups, k_h, k_w)."""

    dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed conv layer: input (N, C_in, D, H, W), weight (C_in, C_out/groups, *k)."""

    dims = 3
