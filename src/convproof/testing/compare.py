"""Agreement of two arrays within the precision of the user's dtypes.

    error(got, want) = max |got - want| / max(1, max |want|)      (inf for other shapes or NaN)

The tolerance is the relative precision expected of a sum of a few dozen products in the
check's dtype: ~1e-10 for float64, ~1e-4 for float32.  Outputs of a coarser floating dtype are
refused (:func:`coarser`); wider ones (longdouble) are compared at the check's dtype.  An
implementation that returns float64 numbers but computes in float32 (or float16, bfloat16)
agrees only within that dtype's tolerance; :func:`lower_precision` says so instead of looking
for a fault.  Where the outputs do not show the coarser dtype (a float32 convolution plus a
float64 bias; TF32 arithmetic, whose sums are float32 numbers), :func:`precision_note` names it
as a likely cause before the diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RELATIVE_TOLERANCE = {"float64": 1e-10, "float32": 1e-4, "float16": 1e-2}
FLOAT32_TOLERANCE = RELATIVE_TOLERANCE["float32"]
TF32_LEVEL = 3e-3  # the largest relative error of TF32 arithmetic (10-bit mantissa) on the checks
TF32 = ("TF32, which PyTorch uses by default for float32 convolutions on NVIDIA GPUs since "
        "Ampere (cuDNN rounds the inputs to a 10-bit mantissa); disable it with "
        "torch.backends.cudnn.allow_tf32 = False (and torch.backends.cuda.matmul.allow_tf32 = "
        "False for matrix products)")


def tolerance(dtype: np.dtype) -> float:
    """The relative tolerance of a check in ``dtype`` (float32 or float64)."""
    return RELATIVE_TOLERANCE[np.dtype(dtype).name]


def coarser(got: np.dtype, dtype: np.dtype) -> bool:
    """Whether ``got`` is a floating dtype less precise than ``dtype`` (float16 or float32 in a
    float64 check); longdouble never is."""
    return got.kind == "f" and np.finfo(got).resolution > np.finfo(dtype).resolution


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


LOWER_DTYPES = (("float32", FLOAT32_TOLERANCE, "check it with dtype=np.float32 if that is "
                 "meant"),
                ("float16 or bfloat16", RELATIVE_TOLERANCE["float16"], "the checks compare at "
                 "float32 precision at least, so compute in float32 or float64"))


def _bfloat16_numbers(array: np.ndarray) -> bool:
    """Whether every entry is a bfloat16 number: a float32 number with 16 zero low bits."""
    with np.errstate(over="ignore"):
        single = array.astype(np.float32)
    return bool(np.array_equal(single, array)
                and not (single.view(np.uint32) & 0xFFFF).any())


def rounded_to(outputs: Sequence[np.ndarray], name: str) -> bool:
    """Whether every output value is a number of the dtype ``name`` (for "float16 or
    bfloat16": every output of one of the two)."""
    if name == "float16 or bfloat16":
        return all(rounded_to([o], "float16") or _bfloat16_numbers(o) for o in outputs)
    with np.errstate(over="ignore"):  # a value beyond the dtype's range is no number of it
        return all(np.array_equal(o, o.astype(name).astype(o.dtype)) for o in outputs)


def lower_precision(worst: float, tol: float, dtype: np.dtype, outputs: Sequence[np.ndarray]
                    ) -> str | None:
    """The message for outputs that miss ``tol`` but agree within the tolerance of a coarser
    dtype than the check's ``dtype`` and are all numbers of that dtype (float32, float16 or
    bfloat16): a small error in outputs that no coarser arithmetic rounded is a fault, or
    :func:`precision_note`'s."""
    for name, limit, remedy in LOWER_DTYPES:
        if tol < limit and worst <= limit and rounded_to(outputs, name):
            return (f"your function agrees only within {name} precision (worst relative error "
                    f"{worst:.1e}, tolerance {tol:.0e}): it computes in {name} although its "
                    f"inputs and outputs are {np.dtype(dtype)}; {remedy}")
    return None


def within_tf32(worst: float, dtype: np.dtype, products: bool) -> bool:
    """Whether the worst error of a float32 check of sums of ``products`` is TF32's."""
    return products and np.dtype(dtype) == np.float32 and worst <= TF32_LEVEL


def precision_note(worst: float, tol: float, dtype: np.dtype, products: bool,
                   right_on_tf32_numbers: bool = True) -> str | None:
    """A likely cause to name before the diagnosis of outputs that miss ``tol`` by little:
    float32 arithmetic somewhere in a float64 check, TF32 arithmetic in a float32 check of
    sums of ``products`` (a convolution, not a pooling), unless the function errs as much on
    inputs that TF32 holds exactly (not ``right_on_tf32_numbers``): there TF32's products are
    exact, and only TF32 applied to values computed from the inputs, or arithmetic below
    float32 precision, errs so."""
    if np.dtype(dtype) == np.float64 and worst <= FLOAT32_TOLERANCE:
        return (f"your function agrees within float32 precision (worst relative error "
                f"{worst:.1e}, tolerance {tol:.0e}) but not all its outputs are float32 numbers: "
                "it may compute a step in float32 (a float32 intermediate, weight or "
                "constant), or have a small fault")
    if within_tf32(worst, dtype, products) and right_on_tf32_numbers:
        return (f"your function agrees within about 1e-3 (worst relative error {worst:.1e}, "
                f"tolerance {tol:.0e}), the error of TF32 arithmetic: a likely cause is {TF32}")
    if within_tf32(worst, dtype, products):
        return (f"your function agrees within about 1e-3 (worst relative error {worst:.1e}, "
                f"tolerance {tol:.0e}) and errs as much on inputs that TF32 holds exactly, "
                "where TF32 products are exact: TF32 rounding of the inputs does not explain "
                "it; it computes below float32 precision (a float16 or bfloat16 accumulator or "
                "intermediate), applies TF32 to values it computes (a Winograd or FFT "
                "algorithm in TF32), or has a small fault")
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
