"""The input gradient of a correlation as stride-1 correlations (the grad-input-flip theorem).

With stride 1, A^T g is the correlation of g, zero-padded by (d(k - 1) - p_lo, n + p_lo - o)
per axis, with the kernel whose channel axes are swapped within each group and whose spatial
axes are reversed.  With stride s, each residue r of the padded positions j = s q + r is such a
correlation with the taps m that reach it (d m = r mod s, :func:`gradient_phases`,
:func:`phase_correlations`).  The CPU paths (winograd at stride 1, phases at larger strides)
and the GPU backend compute it so; the functions work on NumPy and CuPy arrays alike.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .spec import Pads


def swap_and_flip(w: Any, groups: int) -> Any:
    """w'[g Ci + c', o', k - 1 - m] = w[g Co + o', c', m] for every spatial axis, a view."""
    out_channels, per_group, *kernel = w.shape
    grouped = w.reshape(groups, out_channels // groups, per_group, *kernel).swapaxes(1, 2)
    swapped = grouped.reshape(groups * per_group, out_channels // groups, *kernel)
    return swapped[(Ellipsis, *(slice(None, None, -1),) * len(kernel))]


def gradient_pads(kernel_size: Sequence[int], dilation: Sequence[int], pads: Pads,
                  input_size: Sequence[int], output_size: Sequence[int]) -> Pads:
    """(d(k - 1) - p_lo, n + p_lo - o) per axis: the padding of g that gives exactly the
    ``input_size`` positions of A^T g (negative where it would crop)."""
    return tuple((d * (k - 1) - lo, n + lo - o) for k, d, (lo, _), n, o
                 in zip(kernel_size, dilation, pads, input_size, output_size, strict=True))


@dataclass(frozen=True)
class Phase:
    """The positions t = start + s u (u < count) of the input gradient along one axis: those
    whose padded position t + p_lo has one residue r mod s.  There

        dx[start + s u] = sum_{e < taps} w[first + step e] g_pad[u + dilation (taps - 1 - e)],

    g_pad being g padded by ``pads`` (cropped where negative): the correlation of g_pad with
    the phase's taps reversed, at ``dilation``."""

    start: int
    count: int
    first: int
    step: int
    taps: int
    dilation: int
    pads: tuple[int, int]


def gradient_phases(k: int, s: int, d: int, p_lo: int, n: int, o: int) -> list[Phase]:
    """The phases of one axis (kernel k, stride s, dilation d, padding p_lo, input n, output o)
    that hold input positions, in the order of r.

    dx_pad[j] = sum over s i + d m = j of w[m] g[i].  With j = s q + r the taps are those with
    d m = r (mod s): none unless G = gcd(d, s) divides r, else m = m0 + (s/G) e, m0 = (r/G)
    (d/G)^-1 mod s/G, and then i = q - h - (d/G) e with h = (d m0 - r)/s >= 0, a true
    convolution of g with those taps at dilation d/G, i.e. a correlation with them reversed,
    g padded by h + (d/G)(taps - 1) - q_min before (q_min = ceil((p_lo - r)/s), the first q
    whose j lies in the input) and to ``count`` outputs after.  Only the residues of the
    input's positions are visited: at most min(s, n) of them."""
    common = math.gcd(d, s)
    step, dilation = s // common, d // common
    phases = []
    residues = range(s) if n >= s else sorted({j % s for j in range(p_lo, p_lo + n)})
    for r in residues:
        q_min = -((r - p_lo) // s)
        count = (p_lo + n - 1 - r) // s - q_min + 1
        if count <= 0:
            continue
        first = (r // common) * pow(dilation, -1, step) % step if r % common == 0 else k
        taps = max(0, -(-(k - first) // step))
        shift = (d * first - r) // s
        before = shift + dilation * (taps - 1) - q_min
        after = count + dilation * (taps - 1) - o - before
        phases.append(Phase(s * q_min + r - p_lo, count, first, step, taps, dilation,
                            (before, after)))
    return phases


def _phase_views(combo: Sequence[Phase], out: Sequence[int]
                 ) -> tuple[tuple[slice, ...], Pads] | None:
    """For one phase per axis (``combo``) and g's spatial size ``out``: the part of g the
    phase reads (its negative pads cropped) and the padding of that part; None where no tap
    or no entry of g reaches the phase (it is zero there)."""
    crops, pads = [], []
    for phase, o in zip(combo, out):
        lo, hi = phase.pads
        start = max(0, -lo)
        stop = max(start, o - max(0, -hi))
        if phase.taps == 0 or stop == start:
            return None
        crops.append(slice(start, stop))
        pads.append((max(lo, 0), max(hi, 0)))
    return tuple(crops), tuple(pads)


@dataclass(frozen=True)
class PhaseCorrelation:
    """One phase per axis of the input gradient, as a stride-1 correlation:

        dx[targets] = corr(g[crops] zero-padded by pads, swap_and_flip(w[taps])) at dilation,

    or zero where ``reached`` is False (no tap or no entry of g reaches those positions; crops
    and pads are then empty)."""

    targets: tuple[slice, ...]
    counts: tuple[int, ...]
    taps: tuple[slice, ...]
    dilation: tuple[int, ...]
    crops: tuple[slice, ...]
    pads: Pads

    @property
    def reached(self) -> bool:
        return bool(self.crops)


def phase_correlations(kernel_size: Sequence[int], stride: Sequence[int],
                       dilation: Sequence[int], pads: Pads, input_size: Sequence[int],
                       output_size: Sequence[int]) -> list[PhaseCorrelation]:
    """Every combination of the axes' :func:`gradient_phases`: together their targets hold
    each input position once.  With stride 1 there is one, over the whole input."""
    axes = [gradient_phases(k, s, d, lo, n, o) for k, s, d, (lo, _), n, o
            in zip(kernel_size, stride, dilation, pads, input_size, output_size, strict=True)]
    correlations = []
    for combo in itertools.product(*axes):
        crops, phase_pads = _phase_views(combo, output_size) or ((), ())
        correlations.append(PhaseCorrelation(
            tuple(slice(p.start, p.start + s * (p.count - 1) + 1, s)
                  for p, s in zip(combo, stride)),
            tuple(p.count for p in combo), tuple(slice(p.first, None, p.step) for p in combo),
            tuple(p.dilation for p in combo), crops, phase_pads))
    return correlations


__all__ = ["Phase", "PhaseCorrelation", "gradient_pads", "gradient_phases", "phase_correlations",
           "swap_and_flip"]
