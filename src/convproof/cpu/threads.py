"""Large copies and element-wise sweeps split over threads.

NumPy releases the GIL inside its copy and ufunc loops, so the layout changes of the CPU paths
(an unfold, a tile gather, a transposed output) and the element-wise sweeps (pooling, the
depthwise taps) can run on every core, as the BLAS GEMMs beside them do, instead of on one.
Work is cut along an axis long enough to give every thread a part; every part is computed
exactly as the whole would be (the result is the same bits whatever the number of threads).

A whole layer can also be cut by samples (:func:`each`): every thread then runs the complete
chain of copies and GEMMs for its samples with a single-threaded BLAS, so no thread waits for
the other between two library calls and each works in its own core's cache.

The paths' GEMMs go through :func:`matmul`, whose BLAS calls are single-threaded too, cut
over the threads where the caller is not itself a part: BLAS's own worker threads would spin
for ~0.1 s after each threaded GEMM, on the cores that the next copy needs.
"""

from __future__ import annotations

import atexit
import functools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from threadpoolctl import ThreadpoolController

MIN_ELEMENTS = 1 << 16
"""Copies smaller than this run on the calling thread alone."""

MIN_MACS = 1 << 20
"""GEMMs of fewer multiply-adds run on the calling thread alone."""


@functools.cache
def _blas_controllers() -> tuple:
    """threadpoolctl's handles on NumPy's BLAS: the loaded BLAS libraries that NumPy's wheel
    carries where it carries one (another package's BLAS, such as SciPy's, is left alone),
    else every loaded one; empty when none is found (then no call is cut by samples)."""
    loaded = ThreadpoolController().select(user_api="blas").lib_controllers
    home = os.path.dirname(np.__file__)
    folders = (home, home + ".libs")  # numpy/ and, in a wheel, numpy.libs/
    own = [lib for lib in loaded if os.path.dirname(lib.filepath).startswith(folders)]
    return tuple(own or loaded)


def blas() -> str:
    """NumPy's BLAS as threadpoolctl sees it: 'openblas 0.3.31 (SkylakeX kernels)'."""
    libraries = _blas_controllers()
    if not libraries:
        return "unknown"
    info = libraries[0].info()
    kernels = f" ({info['architecture']} kernels)" if info.get("architecture") else ""
    return f"{info['internal_api']} {info['version']}{kernels}"


def count() -> int:
    """The threads to use: NumPy's BLAS threads where threadpoolctl finds its library, else
    the cores this process may run on."""
    blas = [library.get_num_threads() for library in _blas_controllers()]
    if blas:
        return max(1, blas[0])
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


_THREADS = count()
_POOL: ThreadPoolExecutor | None = None


def _start_pool() -> None:
    """The pool of the other threads' parts.  A process forked from this one (a
    multiprocessing or DataLoader worker) has none of its threads, so it starts its own: the
    parent's would queue every part for threads that do not exist there."""
    global _POOL
    _POOL = ThreadPoolExecutor(max_workers=_THREADS - 1) if _THREADS > 1 else None
    if _POOL is not None:
        atexit.register(_POOL.shutdown, wait=False)


_start_pool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_start_pool)


_LOCAL = threading.local()
"""``inside``: this thread runs one part of :func:`run` or :func:`each` (its copies are not
split again)."""


def _inside() -> bool:
    return getattr(_LOCAL, "inside", False)


def _as_part(function: Callable[[slice], object], piece: slice) -> object:
    _LOCAL.inside = True
    try:
        return function(piece)
    finally:
        _LOCAL.inside = False


def sharing() -> int:
    """How many parts of :func:`run` or :func:`each` run at once beside this thread's (1
    outside of one)."""
    return _THREADS if _inside() else 1


def _split_axis(shape: tuple[int, ...]) -> int | None:
    """The first axis with at least one index per thread."""
    return next((axis for axis, n in enumerate(shape) if n >= _THREADS), None)


def parts(length: int) -> list[slice]:
    """[0, length) cut into at most one contiguous part per thread."""
    bounds = np.linspace(0, length, min(_THREADS, max(length, 1)) + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def blocks(function: Callable[[slice], None], length: int, item_size: int, budget: int,
           elements: int = MIN_ELEMENTS) -> None:
    """function(block) for the blocks of [0, length) of budget // item_size items (one at
    least): each thread's part (see :func:`run`) in such blocks, one after the other (a
    block's passes then stay in cache)."""
    step = max(1, budget // max(1, item_size))

    def part(span: slice) -> None:
        for start in range(span.start, span.stop, step):
            function(slice(start, min(start + step, span.stop)))

    run(part, length, elements)


def _on_pool(function: Callable[[slice], object], pieces: list[slice]) -> list:
    """[function(piece) for piece in pieces], the first on this thread and the others on the
    pool, each marked as a part; every one is over on return (or on an exception)."""
    futures = [_POOL.submit(_as_part, function, piece) for piece in pieces[1:]]
    try:
        first = _as_part(function, pieces[0])
    finally:
        wait(futures)
    return [first] + [future.result() for future in futures]


def run(function: Callable[[slice], None], length: int, elements: int = MIN_ELEMENTS) -> None:
    """function(part) for the parts of [0, length), one per thread, all done on return; on
    the calling thread alone when the work is smaller than MIN_ELEMENTS ``elements``.  A part
    runs its own copies unsplit (the pool's threads are busy with the other parts)."""
    pieces = parts(length)
    if _POOL is None or len(pieces) < 2 or elements < MIN_ELEMENTS or _inside():
        for piece in pieces:
            function(piece)
        return
    _on_pool(function, pieces)


def copy(source: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out[...] = source (a new C-contiguous array when ``out`` is None), over the threads."""
    if out is None:
        out = np.empty(source.shape, dtype=source.dtype)
    source = np.broadcast_to(source, out.shape)
    axis = _split_axis(out.shape)
    if _POOL is None or out.size < MIN_ELEMENTS or axis is None or _inside():
        np.copyto(out, source)
        return out
    lead = (slice(None),) * axis
    run(lambda part: np.copyto(out[(*lead, part)], source[(*lead, part)]), out.shape[axis])
    return out


# --------------------------------------------------------------------------------------------
# One part of a layer per thread, each with a single-threaded BLAS
# --------------------------------------------------------------------------------------------

class _SerialBlas:
    """Within ``with SERIAL_BLAS:``, BLAS runs every call on the calling thread.

    The setting is process-wide, and OpenBLAS ignores it from any thread but the main one once
    the main thread has made it.  So the thread that finds it free takes it: it sets one
    thread and gives BLAS its thread count back when it leaves its outermost block.  Other
    threads entering meanwhile (the parts of :func:`each`, whose caller holds it) change
    nothing: were they to give the count back, OpenBLAS might ignore them and stay serial."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None
        self.depth = 0
        self.saved: list[int] = []

    def __enter__(self) -> None:
        with self.lock:
            if self.owner is None:
                saved = [library.get_num_threads() for library in _blas_controllers()]
                _set_blas_threads([1] * len(saved), saved)
                self.saved, self.depth, self.owner = saved, 1, threading.get_ident()
            elif self.owner == threading.get_ident():
                self.depth += 1

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            if self.owner != threading.get_ident():
                return
            self.depth -= 1
            if self.depth == 0:
                try:
                    _set_blas_threads(self.saved, self.saved)
                finally:
                    self.owner = None


def _set_blas_threads(counts: list[int], saved: list[int]) -> None:
    """Each BLAS library's thread count from ``counts``; interrupted midway (Ctrl-C within
    threadpoolctl's calls), the ``saved`` counts once more before the interrupt goes on, so
    that BLAS is not left on one thread for the rest of the process."""
    try:
        for library, count in zip(_blas_controllers(), counts):
            library.set_num_threads(count)
    except BaseException:
        for library, count in zip(_blas_controllers(), saved):
            library.set_num_threads(count)
        raise


SERIAL_BLAS = _SerialBlas()


def splits(length: int) -> bool:
    """Whether :func:`each` would run more than one part of [0, length) at once."""
    return (_POOL is not None and length >= 2 and not _inside()
            and bool(_blas_controllers()))


def each(function: Callable[[slice], object], length: int) -> list:
    """[function(part) for the parts of [0, length)], one part per thread, each run with a
    single-threaded BLAS and unsplit copies; in order on the calling thread alone when
    :func:`splits` says no."""
    if not splits(length):
        return [function(slice(0, length))]
    with SERIAL_BLAS:  # every part is over before BLAS gets its threads back
        return _on_pool(function, parts(length))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out[..., i, j] = Σ_k a[..., i, k] b[..., k, j] (np.matmul) with a single-threaded BLAS,
    cut over the threads along the leading batch axis when it has an index per thread, else
    along the longer of the product's rows and columns.

    Measured on 2 cores (benchmarks/NOTES.md, item 43): OpenBLAS's worker, woken by a threaded
    GEMM, spins ~0.1 s on the core that the next copy over the threads runs on."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    rows, depth, columns = a.shape[-2], a.shape[-1], b.shape[-1]
    if out is None:
        out = np.empty((*batch, rows, columns), dtype=np.result_type(a, b))
    if _inside():  # a part of each(), whose BLAS is serial already
        return np.matmul(a, b, out=out)
    with SERIAL_BLAS:
        if (_POOL is None or not _blas_controllers()
                or math.prod(batch) * rows * depth * columns < MIN_MACS):
            np.matmul(a, b, out=out)
        elif batch and batch[0] >= _THREADS:
            a = np.broadcast_to(a, (*batch, rows, depth))
            b = np.broadcast_to(b, (*batch, depth, columns))
            _on_pool(lambda part: np.matmul(a[part], b[part], out=out[part]), parts(batch[0]))
        elif rows >= columns:
            _on_pool(lambda part: np.matmul(a[..., part, :], b, out=out[..., part, :]),
                     parts(rows))
        else:
            _on_pool(lambda part: np.matmul(a, b[..., part], out=out[..., part]),
                     parts(columns))
    return out
