"""Fully connected layer: y = x W^T + b over the last axis, W of shape (out, in).

    y[n, o] = sum_i x[n, i] W[o, i] + b[o]          (n: every leading index)

    dL/dx = g W,     dL/dW = g^T x,     dL/db = sum_n g[n, :]

(``matrix-backward``: E_{l-1} = W^T E_l and grad W = E_l X^T, written for row-vector batches.)
Initialization as PyTorch: W and b ~ U(-1/sqrt(in), 1/sqrt(in)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import float_dtype
from ..spec import check_flag
from . import init
from .module import Array, Module, Parameter, as_generator, as_input, integer_in


class Linear(Module):
    """y = x W^T + b for x of shape (..., in_features); W (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: Any = None, dtype: Any = np.float32) -> None:
        in_features = integer_in("in_features", in_features, 1)
        out_features = integer_in("out_features", out_features, 1)
        bias = check_flag("bias", bias)
        dtype = float_dtype(dtype)
        self.in_features, self.out_features = in_features, out_features
        generator = as_generator(rng)
        weight = np.empty((out_features, in_features), dtype=dtype)
        self.weight = Parameter(init.fan_in_uniform(weight, rng=generator))
        self.bias = (Parameter(init.fan_in_uniform(np.empty(out_features, dtype=dtype),
                                                   in_features, generator))
                     if bias else None)

    def forward(self, x: Array) -> Array:
        x = as_input(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects input of shape (..., {self.in_features}), "
                             f"got shape {tuple(x.shape)}")
        y = x @ self.weight.data.T
        if self.bias is not None:
            y = y + self.bias.data
        self.remember(y, input=x)
        return y

    def backward(self, grad_output: Array) -> Array:
        x = self.recall(grad_output)["input"]
        g = grad_output
        rows_g, rows_x = g.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        self.weight.accumulate(rows_g.T @ rows_x)
        if self.bias is not None:
            self.bias.accumulate(rows_g.sum(axis=0))
        return g @ self.weight.data

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
