"""The standard grid of certificates: concrete convolutions over 1-3 dims.

Every stride 1-3 and dilation 1-2 occurs on every number of dims, with asymmetric paddings,
kernels of 1-3 taps, groups 1-2 and a few channels; sizes are those where the kernel fits.
"""

from __future__ import annotations

import itertools

from .certificates import Point
from .operators import Setting

# per-axis (n, k, s, d, p, q): size, taps, stride, dilation, padding before and after
_AXES = [
    (5, 3, 1, 1, 1, 1),
    (6, 2, 2, 1, 0, 1),
    (7, 3, 3, 1, 2, 0),
    (5, 2, 1, 2, 1, 0),
    (8, 3, 2, 2, 2, 1),
    (4, 1, 3, 2, 0, 0),
    (7, 3, 3, 2, 1, 2),
    (3, 2, 1, 1, 0, 2),
]
_CHANNELS = [(1, 1, 1, 1), (1, 2, 2, 1), (2, 1, 2, 3), (2, 2, 1, 2)]  # (B, G, C_i, C_o)


def conv_points(
    st: Setting,
    dims: tuple[int, ...] = (1, 2, 3),
    limit: dict | None = None,
) -> list[Point]:
    """Grid points for the sizes of ``st``: ``limit[D]`` choices of per-axis sizes in each
    number of dims D of ``dims``, with batch, groups and channels rotating."""
    limit = limit or {1: len(_AXES), 2: 6, 3: 3}
    points = []
    for d in dims:
        combos = list(itertools.combinations(range(len(_AXES)), d))
        step = max(1, len(combos) // limit[d])
        for count, chosen in enumerate(combos[::step][: limit[d]]):
            axes = [_AXES[c] for c in chosen]
            b, g, ci, co = _CHANNELS[(count + d) % len(_CHANNELS)]
            per_axis = {
                sym: tuple(ax[k] for ax in axes)
                for k, sym in enumerate((st.n, st.k, st.s, st.d, st.p, st.q))
            }
            values = {**per_axis, st.batch: b, st.groups: g, st.c_in: ci, st.c_out: co}
            label = {
                "n": per_axis[st.n],
                "k": per_axis[st.k],
                "s": per_axis[st.s],
                "d": per_axis[st.d],
                "p": per_axis[st.p],
                "q": per_axis[st.q],
                "B": b,
                "G": g,
                "C_i": ci,
                "C_o": co,
            }
            points.append(Point(values, d, label=label))
    return points
