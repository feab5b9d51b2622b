"""Scratch arrays kept between calls, per thread.

A fresh array of many megabytes costs a page fault per 4 KiB page on first touch (the kernel
zeroes each page): for the tile buffers of one F(4x4, 3x3) call (~50 MB) that was a third of
the time.  The paths therefore take their internal buffers (never their results) from here:
an array of a given role, shape and dtype is allocated once and reused while it stays among
the most recently used ones, ``LIMIT_BYTES`` in all per thread (as a GPU library keeps its
workspace).  :func:`clear` gives the memory of every thread back.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from . import threads

LIMIT_BYTES = 256 * 2**20
"""The most scratch memory one thread keeps between calls."""


class _Cache:
    """One thread's scratch arrays, most recently used last."""

    def __init__(self) -> None:
        self.arrays: OrderedDict = OrderedDict()


_LOCAL = threading.local()
_EVERY_CACHE: weakref.WeakSet[_Cache] = weakref.WeakSet()
"""The caches of the living threads (a thread's goes with it), for :func:`clear`."""
_EVERY_CACHE_LOCK = threading.Lock()
"""Held while a thread adds its cache to _EVERY_CACHE and while clear() walks it."""


def _cache() -> OrderedDict:
    if not hasattr(_LOCAL, "cache"):
        _LOCAL.cache = _Cache()
        with _EVERY_CACHE_LOCK:
            _EVERY_CACHE.add(_LOCAL.cache)
    return _LOCAL.cache.arrays


def scratch(role: str, shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """An uninitialized array for ``role`` (the same one as last time for the same shape and
    dtype, unless it was evicted).  The least recently used arrays are forgotten until the
    thread keeps at most LIMIT_BYTES, this one too if it is larger: the caller has it for its
    call, and it is not kept after."""
    key = (role, tuple(shape), np.dtype(dtype))
    arrays = _cache()
    if key in arrays:
        arrays.move_to_end(key)
        return arrays[key]
    array = np.empty(shape, dtype=dtype)
    arrays[key] = array
    while sum(a.nbytes for a in arrays.values()) > LIMIT_BYTES:
        arrays.popitem(last=False)
    return array


def copy(role: str, source: np.ndarray) -> np.ndarray:
    """``source`` copied (over the threads) into the scratch array of ``role``."""
    return threads.copy(source, out=scratch(role, source.shape, source.dtype))


def matmul(role: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """threads.matmul(a, b) into the scratch array of ``role``."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return threads.matmul(a, b, out=scratch(role, shape, np.result_type(a, b)))


def clear() -> None:
    """Forget the scratch arrays of every thread (the worker threads of a call cut by samples
    keep theirs too); a call running meanwhile keeps the arrays it holds."""
    with _EVERY_CACHE_LOCK:
        caches = list(_EVERY_CACHE)
    for cache in caches:
        cache.arrays = OrderedDict()
