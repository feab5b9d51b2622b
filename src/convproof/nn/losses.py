"""Losses as (value, gradient) pairs: the gradient is dL/d(prediction), ready for ``backward``.

Softmax cross-entropy over logits z (N, C) and targets y, class indices (N,) or probabilities
(N, C) (one-hot, smoothed, or mixed by MixUp/CutMix), with the stable log-sum-exp
lse(z) = max z + log sum_c exp(z_c - max z):

    L = (1/N) sum_n sum_c y_nc (lse(z_n) - z_nc)
    dL/dz_nc = (1/N) (softmax(z_n)_c sum_c' y_nc' - y_nc) = (1/N) (softmax(z_n) - y_n)_c

the last form when each y_n sums to 1 (``softmax-xent-gradient``).  A class the target gives
weight 0 adds 0 to L even where its log-probability is -inf (a logit of -inf, or one that
underflows beside a huge one), as the limit y log p -> 0 says; PyTorch's probability targets
give nan there.  Mean squared error:

    L = (1/K) sum_k (p_k - t_k)^2,      dL/dp_k = 2 (p_k - t_k) / K

``reduction="sum"`` drops the 1/N (1/K); the mean of no samples is nan, as in PyTorch.  Values
are scalars of the input's dtype: NumPy scalars, or 0-d arrays on the GPU.
"""

from __future__ import annotations

import math

import numpy as np

from ..arrays import array_module, plain_array
from .module import Array, as_input

REDUCTIONS = ("mean", "sum")


def log_softmax(logits: Array, axis: int = -1) -> Array:
    """z - lse(z) along ``axis``, lse(z) = max z + log sum exp(z - max z)."""
    logits = as_input(logits, "logits")
    xp = array_module(logits)
    with np.errstate(over="ignore"):  # z - max z below the range is -inf: exp gives its 0
        shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits: Array, axis: int = -1) -> Array:
    """exp(z - lse(z)) along ``axis``: positive, summing to 1."""
    return array_module(logits).exp(log_softmax(logits, axis))


def _reduction(reduction: str, count: int) -> float:
    """The factor of the sum: 1/count for a mean (nan for a mean of nothing, as in PyTorch)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if reduction == "sum":
        return 1.0
    return 1.0 / count if count else math.nan


def _target_distribution(target: Array, logits: Array) -> Array:
    """Class indices (N,) as one-hot rows, or probabilities (N, C) as they are."""
    xp = array_module(logits)
    batch, classes = logits.shape
    target = plain_array(target, "target")
    if getattr(target, "dtype", None) is not None and target.dtype.kind in "iu":
        if target.shape != (batch,):
            raise ValueError(f"target class indices must have shape ({batch},), got "
                             f"{tuple(target.shape)}")
        low, high = (int(target.min()), int(target.max())) if batch else (0, 0)
        if low < 0 or high >= classes:
            raise ValueError(f"target holds class {low if low < 0 else high}, outside "
                             f"[0, {classes}) for logits of shape {logits.shape}")
        return xp.eye(classes, dtype=logits.dtype)[xp.asarray(target)]
    target = as_input(target, "target")
    if target.shape != logits.shape:
        floats = f" of dtype {target.dtype} (class indices are integers)" if target.shape == (
            batch,) else ""
        raise ValueError(f"target must be class indices ({batch},) or probabilities of the "
                         f"shape of logits {logits.shape}, got {tuple(target.shape)}{floats}")
    return target


def softmax_cross_entropy(logits: Array, target: Array, reduction: str = "mean"
                          ) -> tuple[Array, Array]:
    """(L, dL/dz) of the cross-entropy of softmax(z) against ``target``; see the module doc."""
    z = as_input(logits, "logits")
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {tuple(z.shape)}")
    y = _target_distribution(target, z)
    scale = _reduction(reduction, z.shape[0])
    xp = array_module(z)
    log_p = log_softmax(z)
    loss = -(y * xp.where(y == 0, 0, log_p)).sum() * scale
    grad = (xp.exp(log_p) * y.sum(axis=1, keepdims=True) - y) * scale
    return loss.astype(z.dtype), grad.astype(z.dtype)


def mean_squared_error(prediction: Array, target: Array, reduction: str = "mean"
                       ) -> tuple[Array, Array]:
    """(L, dL/dp) of L = (1/K) sum_k (p_k - t_k)^2 over all K entries."""
    p, t = as_input(prediction, "prediction"), as_input(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"target must have the shape of prediction {p.shape}, "
                         f"got {tuple(t.shape)}")
    scale = _reduction(reduction, p.size)
    difference = p - t  # in the wider dtype of the two; L and dL/dp in the prediction's
    return ((difference * difference).sum() * scale).astype(p.dtype), \
        (difference * (2 * scale)).astype(p.dtype)
