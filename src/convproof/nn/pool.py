"""2-D pooling layers; each forward and backward is one call of :mod:`convproof.functional`.

Per window W_i of input positions (strided windows, or adaptive ones
W_i = [floor(i n/o), ceil((i + 1) n/o)) per axis):

    max       y_i = max_{j in W_i} x_j          dL/dx_j = sum_{i : j = argmax W_i} g_i
    average   y_i = (1/D_i) sum_{j in W_i} x_j  dL/dx_j = sum_{i : j in W_i} g_i / D_i

(``pooling-backward``: the max subgradient routes each error to its window's arg-max, summed
where windows overlap; the average is a correlation with a constant kernel, its backward the
transpose).  Inputs are batched, (N, C, H, W).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import functional
from ..spec import PoolSpec, check_flag, per_dim
from .module import Array, Module, check_input


class _Pool2d(Module):
    """Skeleton: forward y = rule(x, **options); backward dL/dx = backward_rule(g, x, **options).

    ``rule`` and ``backward_rule`` are functions of :mod:`convproof.functional`.  A max
    pooling (``saves_indices``) keeps the arg-max indices of its forward for its backward,
    which then routes the errors without finding them again.
    """

    rule: Callable[..., Array]
    backward_rule: Callable[..., Array]
    options: dict[str, Any] = {}
    saves_indices = False

    def pool(self, x: Array) -> Array:
        return self.rule(x, **self.options)

    def pool_backward(self, grad_output: Array, x: Array, **saved: Array) -> Array:
        return self.backward_rule(grad_output, x, **self.options, **saved)

    def forward(self, x: Array) -> Array:
        x = check_input(self, x, {4: "(N, C, H, W)"})
        if self.saves_indices:
            y, indices = self.rule(x, **self.options, return_indices=True)
            self.remember(y, input=x, indices=indices)
        else:
            y = self.pool(x)
            self.remember(y, input=x)
        return y

    def backward(self, grad_output: Array) -> Array:
        saved = self.recall(grad_output)
        extra = {"indices": saved["indices"]} if self.saves_indices else {}
        return self.pool_backward(grad_output, saved["input"], **extra)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in self.options.items())


def _no_indices(return_indices: bool) -> None:
    """PyTorch's return_indices, in its place among the arguments: only False, since a layer's
    forward returns y alone (the indices it keeps route its backward)."""
    check_flag("return_indices", return_indices)
    if return_indices:
        raise ValueError("return_indices=True: a layer's forward returns y alone (its backward "
                         "routes the indices it keeps); functional.max_pool2d(..., "
                         "return_indices=True) returns both")


class MaxPool2d(_Pool2d):
    """y[b, c, i] = max over the taps s i - p + d m inside the input (stride: kernel_size)."""

    rule = staticmethod(functional.max_pool2d)
    backward_rule = staticmethod(functional.max_pool2d_backward)
    saves_indices = True

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False
                 ) -> None:
        _no_indices(return_indices)
        PoolSpec(per_dim("kernel_size", kernel_size, 2, 1), stride, padding, dilation, ceil_mode)
        self.options = dict(kernel_size=kernel_size, stride=stride, padding=padding,
                            dilation=dilation, ceil_mode=ceil_mode)


class AvgPool2d(_Pool2d):
    """y[b, c, i] = (1/D_i) sum over the window s i - p + m (D_i per ``count_include_pad``)."""

    rule = staticmethod(functional.avg_pool2d)
    backward_rule = staticmethod(functional.avg_pool2d_backward)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        PoolSpec(per_dim("kernel_size", kernel_size, 2, 1), stride, padding, 1, ceil_mode)
        count_include_pad = check_flag("count_include_pad", count_include_pad)
        self.options = dict(kernel_size=kernel_size, stride=stride, padding=padding,
                            ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def _output_size(output_size: Any) -> Any:
    """An int or an (H, W) pair whose None entries keep the input size; validated."""
    if isinstance(output_size, (list, tuple)):
        per_dim("output_size", tuple(1 if o is None else o for o in output_size), 2, 1)
        return tuple(output_size)
    per_dim("output_size", output_size, 2, 1)
    return output_size


class AdaptiveAvgPool2d(_Pool2d):
    """y[b, c, i] = mean of x over W_i = [floor(i n/o), ceil((i + 1) n/o)) per axis."""

    rule = staticmethod(functional.adaptive_avg_pool2d)

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        _no_indices(return_indices)
        self.options = dict(output_size=_output_size(output_size))

    def pool_backward(self, grad_output: Array, x: Array) -> Array:
        return functional.adaptive_avg_pool2d_backward(grad_output, x)  # sizes from the arrays


class AdaptiveMaxPool2d(_Pool2d):
    """y[b, c, i] = max of x over W_i = [floor(i n/o), ceil((i + 1) n/o)) per axis."""

    rule = staticmethod(functional.adaptive_max_pool2d)
    backward_rule = staticmethod(functional.adaptive_max_pool2d_backward)
    saves_indices = True

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        _no_indices(return_indices)
        self.options = dict(output_size=_output_size(output_size))


class GlobalAvgPool2d(_Pool2d):
    """y[b, c] = (1/(H W)) sum_{h, w} x[b, c, h, w]: shape (N, C), ready for a Linear layer.

    Backward: dL/dx[b, c, h, w] = g[b, c] / (H W).
    """

    def pool(self, x: Array) -> Array:
        return functional.adaptive_avg_pool2d(x, 1).reshape(x.shape[:2])

    def pool_backward(self, grad_output: Array, x: Array) -> Array:
        return functional.adaptive_avg_pool2d_backward(grad_output.reshape(*x.shape[:2], 1, 1), x)
