"""The strided input gradient as stride-1 correlations, one per phase of the stride.

A^T g sends g[b, o, i] to the padded positions s*i + d*m.  col2im (:mod:`.im2col`) adds the
taps one at a time into strided views of a zero-padded canvas and crops it.  Split by the
residue r of the padded position mod s instead (:func:`~convproof.adjoint.phase_correlations`,
grad-input-flip): the input positions of one residue receive exactly the taps with
d*m = r (mod s), so each phase is a stride-1 correlation of g with those taps swapped and
flipped,

    dx[targets] = corr(g[crops] zero-padded by pads, swap_and_flip(w[taps])) at dilation,

written once into its positions: no canvas, no crop, no read-modify-write, the same
multiply-adds, and each correlation takes the fastest path that fits it (3x3 stride 2: three
im2col GEMMs over 2x2, 2x1 and 1x2 windows and one 1x1 GEMM).  The copies move: the phases
unfold g (taps x C_out/G rows per position) where col2im adds up C_in/G x taps rows, and the
phases' GEMMs are C_in/G rows tall where col2im's are C_in/G x taps.  So the phases pay for
many input channels and no more output channels than input ones (the 3-channel stem keeps
col2im, 7x faster there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..adjoint import phase_correlations, swap_and_flip
from ..spec import Pads
from . import conv, threads

WIDE = 64
"""Calls with at least this many input channels, and no more output channels, take the
phases when the stride exceeds 1.  Measured (2 threads, N = 8, ms, col2im -> phases), 3x3
stride 2: 128 -> 128 at 56x56 20.9 -> 15.7, in 4 groups 14.6 -> 9.7, in 8 groups 11.5 ->
8.1; 256 -> 128 at 28x28 15.3 -> 11.4; 128 -> 64 16.9 -> 10.6; 64 -> 64 6.3 -> 6.0; 32 -> 32
3.2 -> 3.1; 16 -> 16 1.7 -> 2.6; 64 -> 128 9.0 -> 10.0; 4x4 stride 2, 128 -> 128 at 28x28
8.3 -> 8.1, 128 -> 256 16.0 -> 22.1; the stem (7x7/2, 3 -> 64 at 224x224) 22 -> 163."""


def prefers(in_channels: int, out_channels: int, stride: Sequence[int]) -> bool:
    """Whether the phases beat col2im: a stride above 1, at least WIDE input channels and
    at most as many output channels."""
    return any(s > 1 for s in stride) and WIDE <= in_channels and out_channels <= in_channels


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         out: np.ndarray | None = None) -> np.ndarray:
    """A^T g, cropped to ``input_size`` (into ``out`` if given): one stride-1 correlation per
    phase of the stride, each computed by :func:`.conv.correlate` and copied into the phase's
    positions (zero where no tap reaches them)."""
    dims = len(input_size)
    shape = (g.shape[0], w.shape[1] * groups, *input_size)
    z = np.empty(shape, dtype=g.dtype) if out is None else out
    for phase in phase_correlations(w.shape[2:], stride, dilation, pads, input_size,
                                    g.shape[2:]):
        target = z[(Ellipsis, *phase.targets)]
        if not phase.reached:
            target.fill(0)
            continue
        taps = swap_and_flip(w[(Ellipsis, *phase.taps)], groups)
        part = conv.correlate(g[(Ellipsis, *phase.crops)], taps, (1,) * dims, phase.pads,
                              phase.dilation, groups)
        threads.copy(part, out=target)
    return z
