"""Large copies and element-wise sweeps split over threads.

NumPy releases the GIL inside its copy and ufunc loops, so the layout changes of the CPU paths
(an unfold, a tile gather, a transposed output) and the element-wise sweeps (pooling, the
depthwise taps) can run on every core, as the BLAS GEMMs beside them do, instead of on one.
Work is cut along an axis long enough to give every thread a part; every part is computed
exactly as the whole would be (the result is the same bits whatever the number of threads).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ELEMENTS = 1 << 16
"""Copies smaller than this run on the calling thread alone."""


def count() -> int:
    """The threads to use: NumPy's BLAS threads where threadpoolctl can tell, else the cores
    this process may run on."""
    try:
        from threadpoolctl import threadpool_info
        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        if blas:
            return max(1, blas[0])
    except ImportError:
        pass
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


_THREADS = count()
_POOL = ThreadPoolExecutor(max_workers=_THREADS - 1) if _THREADS > 1 else None
if _POOL is not None:
    atexit.register(_POOL.shutdown, wait=False)


def _split_axis(shape: tuple[int, ...]) -> int | None:
    """The first axis with at least one index per thread."""
    return next((axis for axis, n in enumerate(shape) if n >= _THREADS), None)


def parts(length: int) -> list[slice]:
    """[0, length) cut into at most one contiguous part per thread."""
    bounds = np.linspace(0, length, min(_THREADS, max(length, 1)) + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def run(function: Callable[[slice], None], length: int, elements: int = MIN_ELEMENTS) -> None:
    """function(part) for the parts of [0, length), one per thread, all done on return; on
    the calling thread alone when the work is smaller than MIN_ELEMENTS ``elements``."""
    pieces = parts(length)
    if _POOL is None or len(pieces) < 2 or elements < MIN_ELEMENTS:
        for piece in pieces:
            function(piece)
        return
    futures = [_POOL.submit(function, piece) for piece in pieces[1:]]
    function(pieces[0])
    for future in futures:
        future.result()


def copy(source: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out[...] = source (a new C-contiguous array when ``out`` is None), over the threads."""
    if out is None:
        out = np.empty(source.shape, dtype=source.dtype)
    source = np.broadcast_to(source, out.shape)
    axis = _split_axis(out.shape)
    if _POOL is None or out.size < MIN_ELEMENTS or axis is None:
        np.copyto(out, source)
        return out
    lead = (slice(None),) * axis
    run(lambda part: np.copyto(out[(*lead, part)], source[(*lead, part)]), out.shape[axis])
    return out
