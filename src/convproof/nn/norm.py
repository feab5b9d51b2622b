"""Batch normalization over (batch, positions) per channel, with its closed-form backward.

For channel c, over the M = N * prod(spatial) entries x_j of that channel in the batch:

    mu = (1/M) sum_j x_j,   var = (1/M) sum_j (x_j - mu)^2,   r = 1 / sqrt(var + eps)
    xhat_j = (x_j - mu) r,  y_j = gamma xhat_j + beta

Backward (``batchnorm`` theorem): with gh_j = g_j gamma = dL/dxhat_j, the mean terms come from
mu and var depending on every x_j,

    dL/dx_j = (r / M) (M gh_j - sum_k gh_k - xhat_j sum_k gh_k xhat_k)
    dL/dgamma = sum_j g_j xhat_j,      dL/dbeta = sum_j g_j

Running statistics, as PyTorch (momentum f = 0.1; ``momentum=None``: the cumulative average
f = 1 / batches seen), with the *unbiased* variance:

    running_mean <- (1 - f) running_mean + f mu
    running_var  <- (1 - f) running_var  + f var M / (M - 1)

In eval mode the running statistics replace mu and var, so y is affine in x and
dL/dx_j = g_j gamma / sqrt(running_var + eps).  The notes' form (xtilde - alpha)/beta is the
same layer with gamma = 1/beta and beta' = -alpha/beta.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import array_module, float_dtype
from ..spec import check_flag
from .module import Array, Module, Parameter, check_input, integer_in, number_in


class _BatchNorm(Module):
    """Per-channel normalization of (N, C, *spatial) inputs; see the module docstring."""

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")
    layouts: dict[int, str]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 dtype: Any = np.float32) -> None:
        num_features = integer_in("num_features", num_features, 1)
        eps = number_in("eps", eps, 0.0, open_low=True)
        if momentum is not None:
            momentum = number_in("momentum", momentum, 0.0, 1.0, open_high=False,
                                 alternative=" or None")
        affine = check_flag("affine", affine)
        track_running_stats = check_flag("track_running_stats", track_running_stats)
        dtype = float_dtype(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.running_mean = np.zeros(num_features, dtype=dtype)
            self.running_var = np.ones(num_features, dtype=dtype)
            self.num_batches_tracked = 0

    def _channel_shape(self, x: Array) -> tuple[int, ...]:
        return (1, self.num_features, *(1,) * (x.ndim - 2))

    def _update_running(self, mean: Array, var: Array, count: int) -> None:
        self.num_batches_tracked += 1
        f = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        unbiased = var * (count / (count - 1))
        self.running_mean = ((1 - f) * self.running_mean + f * mean).astype(
            self.running_mean.dtype)
        self.running_var = ((1 - f) * self.running_var + f * unbiased).astype(
            self.running_var.dtype)

    def forward(self, x: Array) -> Array:
        x = check_input(self, x, self.layouts, self.num_features)
        xp = array_module(x)
        axes = (0, *range(2, x.ndim))
        count = x.size // self.num_features
        batch_statistics = self.training or not self.track_running_stats
        if batch_statistics:
            if count < 2:
                raise ValueError(f"{type(self).__name__} needs more than one value per channel "
                                 f"to compute batch statistics, got input of shape {x.shape}")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if self.training and self.track_running_stats:
                self._update_running(mean, var, count)
        else:
            mean, var = self.running_mean, self.running_var
        shape = self._channel_shape(x)
        inv_std = (1 / xp.sqrt(var + self.eps)).reshape(shape)
        x_hat = (x - mean.reshape(shape)) * inv_std
        y = x_hat
        if self.affine:
            y = x_hat * self.weight.data.reshape(shape) + self.bias.data.reshape(shape)
        self.remember(y, x_hat=x_hat, inv_std=inv_std, batch_statistics=batch_statistics)
        return y

    def backward(self, grad_output: Array) -> Array:
        saved = self.recall(grad_output)
        x_hat, inv_std = saved["x_hat"], saved["inv_std"]
        g = grad_output
        axes = (0, *range(2, g.ndim))
        shape = self._channel_shape(g)
        if self.affine:
            self.weight.accumulate((g * x_hat).sum(axis=axes))
            self.bias.accumulate(g.sum(axis=axes))
            g = g * self.weight.data.reshape(shape)
        if not saved["batch_statistics"]:
            return g * inv_std
        count = g.size // self.num_features
        sum_g = g.sum(axis=axes).reshape(shape)
        sum_g_xhat = (g * x_hat).sum(axis=axes).reshape(shape)
        return (inv_std / count) * (count * g - sum_g - x_hat * sum_g_xhat)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) features or (N, C, L) sequences, per channel C."""

    layouts = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) feature maps, per channel C (statistics over N, H, W)."""

    layouts = {4: "(N, C, H, W)"}
