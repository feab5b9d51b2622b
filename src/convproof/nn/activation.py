"""Pointwise activations y = f(x), with dL/dx = f'(x) g (``activation-derivatives``).

    ReLU     f(x) = max(x, 0)            f'(x) = [x > 0]   (the subgradient 0 at x = 0, and 1
                                                           at x = nan, as PyTorch)
    Tanh     f(x) = tanh x               f'(x) = 1 - f(x)^2
    Sigmoid  f(x) = 1 / (1 + e^(-x))     f'(x) = f(x) (1 - f(x))
"""

from __future__ import annotations

from ..arrays import array_module
from .module import Array, Module, as_input


class _Pointwise(Module):
    """Skeleton: forward y = function(x); backward dL/dx = derivative(x, y) * g."""

    def function(self, x: Array) -> Array:
        raise NotImplementedError

    def derivative(self, x: Array, y: Array) -> Array:
        raise NotImplementedError

    def forward(self, x: Array) -> Array:
        x = as_input(x)
        y = self.function(x)
        self.remember(y, input=x, result=y)
        return y

    def backward(self, grad_output: Array) -> Array:
        saved = self.recall(grad_output)
        return grad_output * self.derivative(saved["input"], saved["result"])


class ReLU(_Pointwise):
    """max(x, 0); derivative [x > 0], read as not [x ≤ 0] so that, as in PyTorch, the
    gradient passes where x is nan (and y too)."""

    def function(self, x: Array) -> Array:
        return array_module(x).maximum(x, 0)

    def derivative(self, x: Array, y: Array) -> Array:
        return ~(x <= 0)


class Tanh(_Pointwise):
    """tanh x; derivative 1 - tanh^2 x."""

    def function(self, x: Array) -> Array:
        return array_module(x).tanh(x)

    def derivative(self, x: Array, y: Array) -> Array:
        return 1 - y * y


class Sigmoid(_Pointwise):
    """1 / (1 + e^(-x)), evaluated without overflow as e^(-|x|) based; derivative s (1 - s)."""

    def function(self, x: Array) -> Array:
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))  # in (0, 1]: no overflow for any x
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def derivative(self, x: Array, y: Array) -> Array:
        return y * (1 - y)
