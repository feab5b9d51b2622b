"""The input gradient of a stride-1 correlation as a correlation (the grad-input-flip theorem).

With stride 1, A^T g is the correlation of g, zero-padded by (d(k - 1) - p_lo, n + p_lo - o)
per axis, with the kernel whose channel axes are swapped within each group and whose spatial
axes are reversed.  The CPU Winograd path and the GPU backend compute it so; the functions
work on NumPy and CuPy arrays alike.
"""

from __future__ import annotations

from collections.abc import Sequence
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
                 in zip(kernel_size, dilation, pads, input_size, output_size))


__all__ = ["gradient_pads", "swap_and_flip"]
