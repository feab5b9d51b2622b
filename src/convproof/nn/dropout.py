"""Inverted dropout: each entry kept with probability 1 - p and scaled by 1/(1 - p) in training.

With keep mask k_j ~ Bernoulli(1 - p), independent of x,

    y_j = x_j k_j / (1 - p)          dL/dx_j = g_j k_j / (1 - p)

so E[y_j] = x_j and Var[y_j] = x_j^2 p / (1 - p) (``dropout-expectation``): the scale makes the
expected activation in training equal to the activation in eval mode, where y = x and
dL/dx = g.  p = 1 drops everything (y = 0).  The mask is drawn from a seeded NumPy generator
(``rng``); on CuPy arrays that generator seeds a CuPy one, so the mask is drawn on the device.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..arrays import array_module
from .module import Array, Module, as_generator, as_input


def uniform_like(x: Array, rng: np.random.Generator) -> Array:
    """u ~ U[0, 1) of the shape of ``x``, on its device, drawn from (or seeded by) ``rng``."""
    xp = array_module(x)
    if xp is np:
        return rng.random(x.shape)
    return xp.random.default_rng(int(rng.integers(2**63))).random(x.shape)


class Dropout(Module):
    """Inverted dropout, drop probability ``p`` (PyTorch's ``nn.Dropout``), seeded by ``rng``."""

    def __init__(self, p: float = 0.5, *, rng: Any = None) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = as_generator(rng)

    def forward(self, x: Array) -> Array:
        x = as_input(x)
        if not self.training or self.p == 0:
            self.remember(x, scale=None)
            return x
        keep = uniform_like(x, self.rng) >= self.p
        scale = (keep * (1 / (1 - self.p)) if self.p < 1 else keep * 0).astype(x.dtype)
        self.remember(x, scale=scale)
        return x * scale

    def backward(self, grad_output: Array) -> Array:
        scale = self.recall(grad_output)["scale"]
        return grad_output if scale is None else grad_output * scale

    def extra_repr(self) -> str:
        return f"p={self.p}"
