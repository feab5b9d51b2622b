"""Agreement of two arrays within the precision of the user's dtypes.

    error(got, want) = max |got - want| / max(1, max |want|)      (inf for other shapes or NaN)

The tolerance is the relative precision expected of a sum of a few dozen products in the
coarsest dtype involved: ~1e-10 for float64, ~1e-4 for float32, ~1e-2 for float16.  An
implementation that returns float64 but computes in float32 (or float16) agrees only within
that dtype's tolerance; :func:`lower_precision` says so instead of looking for a fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


LOWER_DTYPES = (("float32", FLOAT32_TOLERANCE, "check it with dtype=np.float32"),
                ("float16", RELATIVE_TOLERANCE[2], "return float16 outputs (the tolerance "
                 "follows the coarsest dtype returned)"))


def _rounded_to(outputs: Sequence[np.ndarray], name: str) -> bool:
    """Whether every output value is a number of the dtype ``name``."""
    return all(np.array_equal(o, o.astype(name).astype(o.dtype)) for o in outputs)


def lower_precision(worst: float, tol: float, dtype: np.dtype, outputs: Sequence[np.ndarray]
                    ) -> str | None:
    """The message for outputs that miss ``tol`` but agree within the tolerance of a coarser
    dtype than the check's ``dtype``: float32, or float16 where every output value is a
    float16 number (its tolerance is too loose to tell rounding from a fault otherwise)."""
    for name, limit, remedy in LOWER_DTYPES:
        rounded = name == "float32" or _rounded_to(outputs, name)
        if tol < limit and worst <= limit and rounded:
            return (f"your function agrees only within {name} precision (worst relative error "
                    f"{worst:.1e}, tolerance {tol:.0e}): it computes in {name} although its "
                    f"inputs and outputs are {np.dtype(dtype)}; {remedy} if that is meant")
    return None


def not_finite(name: str, array: np.ndarray) -> str | None:
    """'y has 3 entries that are not finite, the first y[0,1,0,2] = nan'; None when every
    entry is finite."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), array.shape))
    return (f"{name} has {np.count_nonzero(bad)} of {array.size} entries that are not finite "
            f"(the first {name}[{','.join(map(str, first))}] = {array[first]}) on finite inputs")
