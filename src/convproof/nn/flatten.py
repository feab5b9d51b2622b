"""Flatten: merge the axes start_dim..end_dim into one; backward reshapes g back.

    y[n, (c, h, w)] = x[n, c, h, w]  (row-major order)      dL/dx = reshape(g, shape of x)
"""

from __future__ import annotations

import math

from .module import Array, Module, as_input, integer_in


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` (inclusive), as PyTorch's ``nn.Flatten``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = integer_in("start_dim", start_dim)
        self.end_dim = integer_in("end_dim", end_dim)

    def forward(self, x: Array) -> Array:
        x = as_input(x)
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if not (-x.ndim <= self.start_dim < x.ndim and -x.ndim <= self.end_dim < x.ndim) \
                or start > end:
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) "
                             f"does not fit an input of shape {tuple(x.shape)}")
        merged = math.prod(x.shape[start:end + 1])  # -1 has no size to infer from N = 0
        y = x.reshape(*x.shape[:start], merged, *x.shape[end + 1:])
        self.remember(y, input_shape=x.shape)
        return y

    def backward(self, grad_output: Array) -> Array:
        return grad_output.reshape(self.recall(grad_output)["input_shape"])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
