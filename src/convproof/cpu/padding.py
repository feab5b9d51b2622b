"""The padding maps P (zeros, reflect, replicate, circular) on NumPy, and their transposes P^T.

Per spatial axis of size n with (p_lo, p_hi): x_pad[j] = x[pi(j - p_lo)], j in [0, n + p_lo + p_hi),

    zeros      x_pad[j] = x[t] for 0 <= t < n, else 0
    reflect    pi(t) = |t| on the left, 2(n - 1) - t on the right (no border repeat; p < n)
    replicate  pi(t) = clamp(t, 0, n - 1)
    circular   pi(t) = t mod n (p <= n)

A multi-dim P is the product of the per-axis maps, so P^T folds one axis after the other:
the interior [p_lo, p_lo + n) stays, and each padded border row is added back onto the row
it was copied from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..spec import Pads, padded_size
from . import threads

_NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                "circular": "wrap"}


def pad(x: np.ndarray, pads: Pads, mode: str) -> np.ndarray:
    """P x on the trailing ``len(pads)`` axes; ``x`` itself when every pad is zero."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    if mode == "zeros":
        return canvas(x, [lo for lo, _ in pads],
                      padded_size(x.shape[lead:], pads))
    widths = [(0, 0)] * lead + [(int(lo), int(hi)) for lo, hi in pads]
    return np.pad(x, widths, mode=_NUMPY_MODES[mode])


def canvas(a: np.ndarray, offsets: Sequence[int], sizes: Sequence[int],
           out: np.ndarray | None = None) -> np.ndarray:
    """Zeros of the trailing ``sizes`` with ``a`` placed at ``offsets`` (cropped to fit):
    zero padding by (lo, size - n - lo) per axis, where a negative amount crops.  ``out``, an
    array of that shape whatever it holds, is filled instead of a new one (its border zeroed
    slab by slab, its interior overwritten)."""
    lead = a.ndim - len(sizes)
    fresh = out is None
    if fresh:
        out = np.zeros((*a.shape[:lead], *sizes), dtype=a.dtype)
    inside = [(max(0, -lo), min(n, size - lo))
              for n, lo, size in zip(a.shape[lead:], offsets, sizes)]
    if not all(stop > start for start, stop in inside):
        out[...] = 0
        return out
    target = [slice(start + lo, stop + lo) for (start, stop), lo in zip(inside, offsets)]
    if not fresh:  # zero what lies outside the target, one axis after the other
        for axis, part in enumerate(target):
            before = (slice(None),) * lead + tuple(target[:axis])
            out[(*before, slice(0, part.start))] = 0
            out[(*before, slice(part.stop, None))] = 0
    source = tuple(slice(start, stop) for start, stop in inside)
    threads.copy(a[(Ellipsis, *source)], out=out[(Ellipsis, *target)])
    return out


# --------------------------------------------------------------------------------------------
# P^T along one axis: ``interior`` is the copy of g[p_lo : p_lo + n]; ``left`` = g[:p_lo] and
# ``right`` = g[p_lo + n:] are the border rows to fold back (the axis is the first one here).
# --------------------------------------------------------------------------------------------

def _fold_zeros(interior: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """zeros: the border held no input pixel; P^T only crops."""


def _fold_reflect(interior: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """reflect: border row j < p_lo came from p_lo - j, row p_lo + n + r from n - 2 - r."""
    n = interior.shape[0]
    interior[1:1 + len(left)] += left[::-1]
    interior[n - 1 - len(right):n - 1] += right[::-1]


def _fold_replicate(interior: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """replicate: every left border row is a copy of row 0, every right one of row n - 1."""
    interior[0] += left.sum(axis=0)
    interior[-1] += right.sum(axis=0)


def _fold_circular(interior: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """circular: border row j < p_lo came from n - p_lo + j, row p_lo + n + r from r."""
    n = interior.shape[0]
    interior[n - len(left):] += left
    interior[:len(right)] += right


_FOLDS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = {
    "zeros": _fold_zeros, "reflect": _fold_reflect, "replicate": _fold_replicate,
    "circular": _fold_circular,
}


def pad_adjoint(g: np.ndarray, pads: Pads, mode: str, size: Sequence[int]) -> np.ndarray:
    """P^T g: the gradient of the padded array brought back onto the ``size`` unpadded one."""
    fold = _FOLDS[mode]
    first = g.ndim - len(pads)
    for axis, ((lo, hi), n) in enumerate(zip(pads, size), start=first):
        if lo == 0 and hi == 0:
            continue
        rows = np.moveaxis(g, axis, 0)
        interior = rows[lo:lo + n].copy()
        fold(interior, rows[:lo], rows[lo + n:])
        g = np.moveaxis(interior, 0, axis)
    return np.ascontiguousarray(g)
