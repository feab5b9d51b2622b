"""Agreement of two arrays within the precision of the user's dtypes.

    error(got, want) = max |got - want| / max(1, max |want|)      (inf for other shapes or NaN)

The tolerance is the relative precision expected of a sum of a few dozen products in the
coarsest dtype involved: ~1e-10 for float64, ~1e-4 for float32, ~1e-2 for float16.  An
implementation that returns float64 but computes in float32 agrees only within float32's
tolerance; :func:`lower_precision` says so instead of looking for a fault.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

RELATIVE_TOLERANCE = {8: 1e-10, 4: 1e-4, 2: 1e-2}
FLOAT32_TOLERANCE = RELATIVE_TOLERANCE[4]


def tolerance(dtypes: Iterable[np.dtype]) -> float:
    """The relative tolerance of the coarsest floating dtype among ``dtypes``."""
    return max(RELATIVE_TOLERANCE.get(np.dtype(d).itemsize, 1e-2) for d in dtypes)


def error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max(1, max |want|); inf for other shapes or a value not finite."""
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    difference = np.abs(got.astype(np.float64) - want)
    worst = float(difference.max())
    if not np.isfinite(worst):
        return float("inf")
    return worst / max(1.0, float(np.abs(want).max()))


def mismatches(got: np.ndarray, want: np.ndarray, tol: float) -> np.ndarray:
    """A boolean mask of the entries that differ by more than tol · max(1, max |want|)."""
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    return ~(np.abs(got.astype(np.float64) - want) <= tol * scale)


def close(got: np.ndarray, want: np.ndarray, tol: float) -> bool:
    """The same shape and every entry within the tolerance."""
    return error(got, want) <= tol


def lower_precision(worst: float, tol: float) -> str | None:
    """The message for outputs that miss ``tol`` but agree within float32's tolerance."""
    if not tol < FLOAT32_TOLERANCE or worst > FLOAT32_TOLERANCE:
        return None
    return (f"your function agrees only within float32 precision (worst relative error "
            f"{worst:.1e}, tolerance {tol:.0e}): it computes in float32 or lower although its "
            "inputs and outputs are float64; check it with dtype=np.float32 if that is meant")


def not_finite(name: str, array: np.ndarray) -> str | None:
    """'y has 3 entries that are not finite, the first y[0,1,0,2] = nan'; None when every
    entry is finite."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), array.shape))
    return (f"{name} has {np.count_nonzero(bad)} of {array.size} entries that are not finite "
            f"(the first {name}[{','.join(map(str, first))}] = {array[first]}) on finite inputs")
