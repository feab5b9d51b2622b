"""Data augmentation for (N, C, H, W) image batches, drawn afresh per call from a seeded generator.

Every function takes ``rng`` (a NumPy Generator, a seed, or None) and draws its random numbers
on the host (a few per image); the images stay NumPy or CuPy arrays.  Call them once per
training iteration, so that each epoch sees different versions of the data:

    translation   y[n, c, h, w] = x[n, c, h - dy_n, w - dx_n]  (zeros where that leaves the
                  image), dy_n, dx_n uniform integers in [-max_shift, max_shift]
    flip          y[n, c, h, w] = x[n, c, h, W - 1 - w] for a random half (probability p)
    MixUp         y = lam x + (1 - lam) x[perm],  t = lam t + (1 - lam) t[perm],
                  lam ~ Beta(alpha, alpha) per batch, perm a random permutation
    CutMix        y = x outside a box B, x[perm] inside it, t = lam t + (1 - lam) t[perm] with
                  lam = 1 - |B| / (H W); B has side ratios sqrt(1 - lam0), lam0 ~ Beta(alpha,
                  alpha), a uniform centre, clipped to the image

MixUp and CutMix mix the targets too, so they take probabilities (N, K) (``one_hot`` of the
labels) and return the mixed ones; softmax cross-entropy accepts such targets.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..arrays import array_module, float_dtype, plain_array
from ..spec import check_flag
from .module import Array, as_generator, as_input, integer_in


def _images(images: Any) -> Array:
    images = as_input(images, "images")
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    return images


def _probabilities(targets: Any, images: Array) -> Array:
    targets = as_input(targets, "targets")
    if targets.ndim != 2 or targets.shape[0] != images.shape[0]:
        raise ValueError(f"targets must be probabilities of shape ({images.shape[0]}, K) "
                         f"(use one_hot on class labels), got {tuple(targets.shape)}")
    return targets


def _alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) \
            or not 0 < alpha < math.inf:
        raise ValueError(f"alpha must be a finite positive number, got {alpha!r}")
    return float(alpha)


def one_hot(labels: Any, classes: int, dtype: Any = np.float32) -> Array:
    """t[n, k] = [labels[n] = k] for a vector of integer labels in [0, classes); t is float32
    or float64."""
    classes, dtype = integer_in("classes", classes, 1), float_dtype(dtype)
    labels = plain_array(labels, "labels")
    xp = array_module(labels)
    if getattr(labels, "dtype", np.dtype(float)).kind not in "iu":
        raise TypeError(f"labels must be an integer array, got {type(labels).__name__} "
                        f"of dtype {getattr(labels, 'dtype', None)}")
    if labels.ndim != 1:
        raise ValueError(f"labels must be a vector (N,), got shape {tuple(labels.shape)}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got values from "
                         f"{int(labels.min())} to {int(labels.max())}")
    return xp.eye(classes, dtype=dtype)[labels]


def random_translation(images: Any, max_shift: int, rng: Any = None) -> Array:
    """Shift each image by its own (dy, dx) in [-max_shift, max_shift]^2, filling with zeros."""
    x = _images(images)
    max_shift = integer_in("max_shift", max_shift, 0)
    xp, (batch, channels, height, width) = array_module(x), x.shape
    shifts = as_generator(rng).integers(-max_shift, max_shift + 1, size=(2, batch))
    s = max_shift
    padded = xp.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
    # y[n, c, h, w] = x[n, c, h - dy, w - dx] = padded[n, c, h - dy + s, w - dx + s]
    rows = xp.asarray(np.arange(height)[None, :] - shifts[0][:, None] + s)
    cols = xp.asarray(np.arange(width)[None, :] - shifts[1][:, None] + s)
    n = xp.arange(batch)[:, None, None, None]
    c = xp.arange(channels)[None, :, None, None]
    return padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]


def horizontal_flip(images: Any, p: float = 0.5, rng: Any = None) -> Array:
    """Mirror each image left-right with probability ``p``."""
    x = _images(images)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    flip = as_generator(rng).random(x.shape[0]) < p
    xp = array_module(x)
    return xp.where(xp.asarray(flip)[:, None, None, None], x[..., ::-1], x)


def mixup(images: Any, targets: Any, alpha: float = 0.2, rng: Any = None
          ) -> tuple[Array, Array]:
    """(lam x + (1 - lam) x[perm], lam t + (1 - lam) t[perm]), lam ~ Beta(alpha, alpha)."""
    x = _images(images)
    t = _probabilities(targets, x)
    generator = as_generator(rng)
    lam = float(generator.beta(_alpha(alpha), alpha))
    perm = array_module(x).asarray(generator.permutation(x.shape[0]))
    return lam * x + (1 - lam) * x[perm], lam * t + (1 - lam) * t[perm]


def cutmix(images: Any, targets: Any, alpha: float = 1.0, rng: Any = None
           ) -> tuple[Array, Array]:
    """Paste a random box of x[perm] into x; targets mixed by the pasted area fraction."""
    x = _images(images)
    t = _probabilities(targets, x)
    generator = as_generator(rng)
    height, width = x.shape[2:]
    ratio = np.sqrt(1 - generator.beta(_alpha(alpha), alpha))
    centre_h, centre_w = generator.integers(height), generator.integers(width)
    half_h, half_w = int(height * ratio) // 2, int(width * ratio) // 2
    top, bottom = max(centre_h - half_h, 0), min(centre_h + half_h, height)
    left, right = max(centre_w - half_w, 0), min(centre_w + half_w, width)
    perm = array_module(x).asarray(generator.permutation(x.shape[0]))
    mixed = x.copy()
    mixed[:, :, top:bottom, left:right] = x[perm, :, top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / (height * width)
    return mixed, lam * t + (1 - lam) * t[perm]


def minibatches(count: int, batch_size: int, rng: Any = None, shuffle: bool = True
                ) -> Iterator[np.ndarray]:
    """Index arrays that cover range(count) once in batches, in a fresh random order (in order
    with ``shuffle=False``); the arguments are checked at the call, before the first batch."""
    count, batch_size = integer_in("count", count, 0), integer_in("batch_size", batch_size, 1)
    shuffle = check_flag("shuffle", shuffle)
    order = as_generator(rng).permutation(count) if shuffle else np.arange(count)
    return (order[start:start + batch_size] for start in range(0, count, batch_size))
