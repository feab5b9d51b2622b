"""Array dtype rules shared by the reference, the functional API and the layers.

float32 and float64 are computed in their own precision, in either byte order (a non-native
one is converted); integer inputs are computed exactly as float64 would (they are converted);
bool, complex, object and string arrays are refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as float32 or float64; anything else (None included, which NumPy would read
    as float64) is a TypeError naming it."""
    is_type = isinstance(dtype, (str, np.dtype, type))
    try:  # a value such as np.float64(2) or an array would give its own dtype: not a dtype
        resolved = np.dtype(dtype) if is_type else None
    except TypeError:
        resolved = None
    if resolved is None or resolved not in FLOAT_DTYPES:  # None == float64 for NumPy
        shown = (repr(dtype) if resolved is None or isinstance(dtype, str)
                 else f"{resolved.str} (not native byte order)" if not resolved.isnative
                 else resolved.name)
        raise TypeError(f"dtype must be float32 or float64, got {shown}")
    return resolved


def array_module(array: Any) -> ModuleType:
    """NumPy for NumPy arrays, CuPy for CuPy arrays (without importing CuPy otherwise)."""
    module = type(array).__module__
    if module.startswith("cupy"):
        import cupy

        return cupy
    return np


def cupy_module(needed_by: str = "convproof's GPU backend") -> Any:
    """CuPy, or an ImportError saying what needs it and how to install it: the GPU backend
    needs it, nothing else in convproof does."""
    try:
        import cupy
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs CuPy and a CUDA device: install convproof[cuda12] or "
            "convproof[cuda13] (NumPy arrays keep working without it)") from exc
    return cupy


def check_numeric(name: str, array: Any) -> np.dtype:
    """The dtype of ``array`` in native byte order if it is real and numeric, else a TypeError
    naming it."""
    try:
        dtype = np.dtype(array.dtype).newbyteorder("=")
    except (AttributeError, TypeError):  # no dtype, or one of another library (a tensor)
        raise TypeError(f"{name} must be an array (NumPy or CuPy), got {type(array).__name__}"
                        ) from None
    if dtype.kind not in "iuf":
        raise TypeError(
            f"{name} has dtype {dtype}, which is not a real number type (use float32 or float64)"
        )
    return dtype


FINITE_CHECK_BYTES = 1 << 20
"""all_finite and largest_magnitude read a NumPy array in runs of first-axis entries of about
this many bytes: its second reduction finds each run in cache."""


def _runs(array: Any) -> Iterator[Any]:
    """``array`` whole where it is small (a weight: one call) or not a NumPy array (on a GPU
    every run would wait for the device), else its runs of first-axis entries of about
    FINITE_CHECK_BYTES."""
    if array.ndim == 0 or array.nbytes <= FINITE_CHECK_BYTES or not isinstance(array, np.ndarray):
        yield array
        return
    run = max(1, FINITE_CHECK_BYTES // max(1, array[0].nbytes))
    for start in range(0, len(array), run):
        yield array[start:start + run]


def largest_magnitude(array: Any) -> float:
    """max |entry| = max(-min, max) (0 for no entries; nan where an entry is nan): two
    reductions a run, no temporary array, and on a GPU two waits for the device in all.
    Integers in Python's ints: |int8(-128)| would wrap to -128 in the array's own type."""
    if array.size == 0:
        return 0.0
    number = float if array.dtype.kind == "f" else int
    largest = 0.0
    for part in _runs(array):
        low, high = number(part.min()), number(part.max())
        if high != high:  # nan, which min and max both propagate
            return high
        largest = max(largest, -low, high)
    return float(largest)


def all_finite(array: Any) -> bool:
    """Whether every entry is finite (no nan, no ±inf): max |entry| is."""
    return array.dtype.kind != "f" or math.isfinite(largest_magnitude(array))


def plain_array(x: Any, name: str) -> Any:
    """``x`` with a NumPy subclass (np.matrix, whose ``*`` is a matrix product) as a plain
    ndarray; a masked array is a TypeError that calls it ``name`` (convproof would ignore its
    mask); anything else as it is."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, whose mask convproof would ignore: pass "
                        f"{name}.filled(value) or {name}.data")
    return np.asarray(x) if isinstance(x, np.ndarray) else x


def compute_dtype(
    named_arrays: dict[str, Any], allowed: tuple[np.dtype, ...] = FLOAT_DTYPES
) -> np.dtype:
    """The precision to compute in: float64 if any input is float64 or integer, else float32.

    A floating dtype outside ``allowed`` (float16 on the CPU) is refused with its name.
    """
    result = np.dtype(np.float32)
    for name, array in named_arrays.items():
        if array is None:
            continue
        dtype = check_numeric(name, array)
        if dtype.kind == "f" and dtype not in allowed:
            names = ", ".join(str(d) for d in allowed)
            raise TypeError(f"{name} has dtype {dtype}; supported here: {names}")
        if dtype != np.float32:
            result = np.dtype(np.float64)
    return result
