"""Weight initializers: fill a Parameter (or an array) in place from a seeded generator.

Fans, for a weight of shape (C_out, C_in, k_1, ..., k_D) (a linear layer: D = 0):

    fan_in  = C_in  * k_1 * ... * k_D          fan_out = C_out * k_1 * ... * k_D

(the ``init-variance`` theorem).  With W_ij independent, zero mean and variance sigma^2, a layer
y = W x keeps Var y = fan_in sigma^2 E[x^2]; under ReLU, E[x^2] = Var(pre-activation) / 2, so

    He (Kaiming)     sigma^2 = 2 / fan_in               keeps the forward variance under ReLU
    Xavier (Glorot)  sigma^2 = 2 / (fan_in + fan_out)   balances forward and backward variance

A transposed conv stores its weight as (C_in, C_out/G, k...): the fans read from that layout
are those of the conv it transposes, as in PyTorch.  Each of its outputs sums about
(C_in / G) prod(k) / prod(stride) products: the fan_out above at stride 1 and G = 1, which
``he_normal(w, mode="fan_out")`` divides by (with G groups that fan_out is G times the count).

A uniform law U(-b, b) has variance b^2 / 3, hence the uniform bounds b = sqrt(3) sigma.
Layers default to :func:`fan_in_uniform`, PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
for weights and biases, so that a freshly built layer is distributed as PyTorch's.  Values are
drawn on the host by a NumPy generator (``rng``: a Generator, a seed, or None for a fresh one)
and copied into the array, NumPy or CuPy, in its dtype.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..arrays import array_module, check_numeric
from .module import Parameter, as_generator, number_in

FAN_MODES = ("fan_in", "fan_out")


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) = (C_in * prod(k), C_out * prod(k)) of a weight (C_out, C_in, *k)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"fans need a weight of at least 2 dims (C_out, C_in, *k), got shape "
                         f"{shape}")
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_))
               and n > 0 for n in shape):
        raise ValueError(f"fans need a shape of positive ints, got {shape}")
    receptive = math.prod(shape[2:])
    return int(shape[1] * receptive), int(shape[0] * receptive)


def _weight_fans(tensor: Any) -> tuple[int, int]:
    """The fans of a weight given as a Parameter or a floating array."""
    return fans(_floating_array(tensor).shape)


def _floating_array(target: Any) -> Any:
    """The array of a Parameter or the floating array itself, else a TypeError."""
    array = target.data if isinstance(target, Parameter) else target
    dtype = check_numeric("tensor", array)
    if dtype.kind != "f":
        raise TypeError(f"tensor must be a floating array, got dtype {dtype}")
    if not getattr(array.flags, "writeable", True):  # CuPy's flags do not say: writable
        raise ValueError(f"tensor of shape {tuple(array.shape)} is read-only: initialization "
                         "writes it in place")
    return array


def _fill(target: Any, draw: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
          rng: Any, within: tuple[float, float] | None = None) -> Any:
    """target[...] = draw(generator, shape), on the device and in the dtype of ``target``;
    a ValueError where a value drawn in float64 overflows that dtype.  ``within`` = (low,
    high): the values stay in [low, high) after the cast (a float64 draw just under 1 rounds
    to 1.0 in float32), moved to the dtype's nearest number inside."""
    array = _floating_array(target)
    values = draw(as_generator(rng), tuple(array.shape))
    with np.errstate(over="ignore"):
        cast = np.asarray(values, dtype=array.dtype)
    if not np.isfinite(cast).all():
        raise ValueError(f"values up to {np.abs(values).max():.3g} overflow the tensor's dtype "
                         f"{array.dtype} (largest {np.finfo(array.dtype).max:.3g})")
    if within is not None:
        cast = np.clip(cast, *_inside(within, array.dtype))
    array[...] = array_module(array).asarray(cast)
    return array


def _inside(interval: tuple[float, float], dtype: np.dtype) -> tuple[np.generic, np.generic]:
    """The least and the greatest number of ``dtype`` in [low, high) (compared as Python
    floats: NumPy compares a float32 with a float in float32); a ValueError if there is none."""
    low, high = (np.asarray(end, dtype=dtype)[()] for end in interval)
    if float(low) < interval[0]:
        low = np.nextafter(low, dtype.type(np.inf))
    if float(high) >= interval[1]:
        high = np.nextafter(high, dtype.type(-np.inf))
    if low > high:
        raise ValueError(f"no {dtype} number lies in [low, high) = [{interval[0]!r}, "
                         f"{interval[1]!r})")
    return low, high


def _positive(name: str, value: Any) -> float:
    """A finite real number above 0, else a ValueError naming it."""
    return number_in(name, value, 0, open_low=True)


def _finite(name: str, value: Any) -> float:
    """A finite real number, else a ValueError naming it."""
    return number_in(name, value, -math.inf, open_low=True)


def constant(tensor: Any, value: float = 0.1) -> Any:
    """w = value everywhere (0.1 by default: a bias that keeps ReLUs active at the start)."""
    value = _finite("value", value)
    return _fill(tensor, lambda _, shape: np.full(shape, value), None)


def uniform(tensor: Any, low: float = 0.0, high: float = 1.0, rng: Any = None) -> Any:
    """w ~ U[low, high), by default [0, 1)."""
    low, high = _finite("low", low), _finite("high", high)
    if not high > low:
        raise ValueError(f"high must exceed low, got low={low!r}, high={high!r}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite number, got low={low!r}, high={high!r}")
    return _fill(tensor, lambda g, shape: g.uniform(low, high, shape), rng, (low, high))


def normal(tensor: Any, std: float = 1.0, rng: Any = None) -> Any:
    """w ~ N(0, std^2)."""
    std = _positive("std", std)
    return _fill(tensor, lambda g, shape: g.normal(0.0, std, shape), rng)


def xavier_normal(tensor: Any, gain: float = 1.0, rng: Any = None) -> Any:
    """w ~ N(0, sigma^2), sigma = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _weight_fans(tensor)
    return normal(tensor, _positive("gain", gain) * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def xavier_uniform(tensor: Any, gain: float = 1.0, rng: Any = None) -> Any:
    """w ~ U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)) (variance 2 / (fan_in + fan_out))."""
    fan_in, fan_out = _weight_fans(tensor)
    bound = _positive("gain", gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(tensor, -bound, bound, rng)


def _he_fan(tensor: Any, mode: str) -> int:
    """The fan He's variance divides by: ``mode`` is "fan_in" or "fan_out"."""
    if mode not in FAN_MODES:
        raise ValueError(f"mode must be one of {FAN_MODES}, got {mode!r}")
    return _weight_fans(tensor)[FAN_MODES.index(mode)]


def he_normal(tensor: Any, rng: Any = None, mode: str = "fan_in") -> Any:
    """w ~ N(0, sigma^2), sigma = sqrt(2 / fan) (He, for ReLU networks; fan_in by default)."""
    return normal(tensor, math.sqrt(2.0 / _he_fan(tensor, mode)), rng)


def he_uniform(tensor: Any, rng: Any = None, mode: str = "fan_in") -> Any:
    """w ~ U(-b, b), b = sqrt(6 / fan) (variance 2 / fan; fan_in by default)."""
    bound = math.sqrt(6.0 / _he_fan(tensor, mode))
    return uniform(tensor, -bound, bound, rng)


def fan_in_uniform(tensor: Any, fan_in: int | None = None, rng: Any = None) -> Any:
    """w ~ U(-b, b), b = 1 / sqrt(fan_in): PyTorch's default for conv and linear layers.

    ``fan_in`` defaults to that of ``tensor``; a bias passes its weight's.
    """
    if fan_in is None:
        fan_in = _weight_fans(tensor)[0]
    elif not isinstance(fan_in, numbers.Integral) or isinstance(fan_in, (bool, np.bool_)) \
            or fan_in < 1:
        raise ValueError(f"fan_in must be a positive int or None, got {fan_in!r}")
    bound = 1.0 / math.sqrt(fan_in)
    return uniform(tensor, -bound, bound, rng)
