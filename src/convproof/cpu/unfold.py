"""im2col on NumPy: every window of a padded input as one strided view, copied in bounded blocks.

The window view has one axis per output position and one per kernel tap,

    V[b, c, i, m] = x_pad[b, c, s*i + d*m]          (i, m multi-indices over the spatial dims)

and costs no memory.  Its copy in GEMM layout (the unfold buffer) holds C*K floats per output
position (K = prod(k)), so it is made in blocks: several samples of the batch at once, or, when
one sample alone is too large, a range of rows along the first output axis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import threads, workspace

UNFOLD_BUFFER_BYTES = 64 * 2**20
"""Upper bound on one unfold buffer (and on the GEMM blocks beside it), in bytes; shared by
the threads when a call is cut by samples (:func:`threads.each`)."""


CACHED_BLOCK_BYTES = 2 * 2**20
"""Blocks of this many bytes per thread keep a block's buffers in a core's caches from one
library call to the next (the unfold or tile gather, the GEMMs, the copy out).  Winograd
takes them where U, which every block's GEMMs read again, is small
(:func:`.winograd._tile_blocks`); im2col's blocks are at least this large, and larger with
the matrix that its blocks read again (:func:`.im2col._block_limit`)."""


SMALL_IMAGE = 64
"""Images of fewer output positions put their samples' columns side by side in one GEMM
where the weights are large (:func:`side_by_side`).  Measured on 2 cores, float32, N = 32
(benchmarks/NOTES.md, item 47): 1x1 512->1024 25% faster at 16 positions, no gain at 64 or
100, 2-5% slower at 144-196; 3x3/2 512->512 at 14x14 (49 positions) 14% faster, 256->256
at 28x28 (196) 0-3% slower."""

GATHER_WEIGHT_BYTES = 2**20
"""Small images are put side by side only where one group's weight matrix holds at least
this many bytes (a core's L2 here): smaller weights stay in the cache from one sample's GEMM
to the next.  Measured at 7x7, N = 32, float32, 1x1: 128->128 (64 KiB) 26% slower side by
side, 256->256 (256 KiB) 4% faster, 512->512 and 256->1024 (1 MiB) 3-7%, 512->2048 (4 MiB)
9%."""


def side_by_side(batch: int, positions: int, weights: np.ndarray) -> bool:
    """Whether the forward (or input gradient) GEMMs of a batch of images of ``positions``
    output positions each take the samples' columns side by side rather than one GEMM per
    sample: a GEMM that narrow reads its whole weight matrix (``weights[g]``) again for
    little work.  Small images (SMALL_IMAGE) under large weights (GATHER_WEIGHT_BYTES)."""
    return (batch > 1 and positions < SMALL_IMAGE
            and weights[0].size * weights.itemsize >= GATHER_WEIGHT_BYTES)


def window_view(x_pad: np.ndarray, kernel_size: Sequence[int], stride: Sequence[int],
                dilation: Sequence[int]) -> np.ndarray:
    """V[b, c, i..., m...] = x_pad[b, c, s*i + d*m]: shape (N, C, *o, *k), a view, no copy.

    The output size o = floor((n_pad - d(k - 1) - 1)/s) + 1 per dim comes out of the view.
    """
    dims = len(kernel_size)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    view = sliding_window_view(x_pad, span, axis=tuple(range(2, 2 + dims)))
    positions = tuple(slice(None, None, s) for s in stride)
    taps = tuple(slice(None, None, d) for d in dilation)
    return view[(slice(None), slice(None), *positions, *taps)]


PHASE_GAIN = 4
"""Windows holding at least this many times the elements of x_pad are read from its
polyphase components (see :class:`Windows`)."""


def _axis_phases(k: int, s: int, d: int) -> list[tuple[int, slice, int, int]]:
    """(r, taps, q0, step) per residue r of d*m mod s along one axis: the taps m = m0 +
    t*s/g (g = gcd(d, s)), for which d*m = s*(q0 + t*d/g) + r."""
    g = math.gcd(d, s)
    return [((d * m0) % s, slice(m0, k, s // g), (d * m0) // s, d // g)
            for m0 in range(min(s // g, k))]


class Windows:
    """The windows V[b, c, i..., m...] = x_pad[b, c, s*i + d*m] of a padded input, as views.

    With stride 1 they are one view of x_pad.  With a stride, neighbouring positions i lie s
    elements apart, so copying the windows reads memory in steps; where the windows hold at
    least PHASE_GAIN times the elements of x_pad (the 7x7/2 stem: 12x), x_pad is first
    split into its polyphase components x^(r)[j] = x_pad[s*j + r] (one strided copy), from
    which every tap with d*m = s*q + r reads x^(r)[i + q], contiguous in i.
    ``pieces``: (tap slices, view of shape (N, C, *o, *taps)) covering every tap once.
    """

    def __init__(self, x_pad: np.ndarray, kernel_size: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int]):
        self.kernel_size = tuple(kernel_size)
        self.out_size = window_count(x_pad.shape[2:], kernel_size, stride, dilation)
        self.channels, self.dtype = x_pad.shape[1], x_pad.dtype
        gain = math.prod(kernel_size) * math.prod(self.out_size) / math.prod(x_pad.shape[2:])
        if all(s == 1 for s in stride) or gain < PHASE_GAIN:
            everything = (slice(None),) * len(kernel_size)
            self.pieces = [(everything, window_view(x_pad, kernel_size, stride, dilation))]
            return
        self.pieces = []
        axes = [_axis_phases(k, s, d) for k, s, d in zip(kernel_size, stride, dilation)]
        for index, phase in enumerate(itertools.product(*axes)):
            residues = tuple(slice(r, None, s) for (r, *_), s in zip(phase, stride))
            component = x_pad[(slice(None), slice(None), *residues)]
            component = threads.copy(component, out=workspace.scratch(
                f"phase {index}", component.shape, component.dtype))
            shifted = component[(slice(None), slice(None), *(slice(q0, None)
                                                             for _, _, q0, _ in phase))]
            counts = [len(range(k)[taps]) for (_, taps, _, _), k in zip(phase, kernel_size)]
            view = window_view(shifted, counts, (1,) * len(counts), [step for *_, step in phase])
            positions = tuple(slice(0, o) for o in self.out_size)
            self.pieces.append((tuple(taps for _, taps, _, _ in phase),
                                view[(slice(None), slice(None), *positions)]))


def window_count(padded: Sequence[int], kernel_size: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int]) -> tuple[int, ...]:
    """floor((n_pad - d(k - 1) - 1)/s) + 1 per dim: the windows that fit a padded extent (the
    output size of ConvSpec, for sizes it has already validated)."""
    return tuple((n - d * (k - 1) - 1) // s + 1
                 for n, k, s, d in zip(padded, kernel_size, stride, dilation))


def strided(start: int, count: int, step: int) -> slice:
    """The positions start + step*i, i < count, as a slice."""
    return slice(start, start + step * (count - 1) + 1, step)


def polyphase(residue: int, low: int, step: int) -> tuple[slice, int]:
    """The polyphase component x_pad^(r)[j] = x_pad[step·j + r] of x_pad = x after ``low``
    pads, read from x: its positions t (t + low = r mod step) as a slice of x, and the j of
    the first one."""
    start = (residue - low) % step
    return slice(start, None, step), (start + low - residue) // step


def blocks(batch: int, out_size: Sequence[int], bytes_per_position: int,
           limit: int | None = None) -> Iterator[tuple[slice, slice]]:
    """(samples, rows of the first output axis) blocks of at most ``limit`` bytes each, and
    at most (by default exactly) UNFOLD_BUFFER_BYTES, of which each thread of
    :func:`threads.each` gets an equal share.

    A block never holds less than one row of one sample, however large that row is.
    """
    share = UNFOLD_BUFFER_BYTES // threads.sharing()
    limit = share if limit is None else min(limit, share)
    row_bytes = max(1, bytes_per_position * math.prod(out_size[1:]))
    rows_per_block = max(1, limit // row_bytes)
    rows = out_size[0]
    if rows_per_block >= rows:
        samples = rows_per_block // rows
        for start in range(0, batch, samples):
            yield slice(start, min(start + samples, batch)), slice(0, rows)
        return
    for sample in range(batch):
        for start in range(0, rows, rows_per_block):
            yield slice(sample, sample + 1), slice(start, min(start + rows_per_block, rows))


def block_positions(rows: slice, out_size: Sequence[int]) -> tuple[int, ...]:
    """The output positions a block covers: its rows along the first axis, all of the others."""
    return (rows.stop - rows.start, *out_size[1:])


def channels_first(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, G*C, *p) -> (G, C, N*P), P = prod(p): one GEMM operand per group, a contiguous
    copy, or ``a`` itself for one C-contiguous sample (then with the copy's strides: BLAS
    gives the same bits for both, whatever the layout of the array ``a`` was cut from)."""
    batch, channels = a.shape[:2]
    if batch == 1 and a[0].flags.c_contiguous:
        return a[0].reshape(-1).reshape(groups, channels // groups, -1)
    grouped = a.reshape(batch, groups, channels // groups, -1)
    matrix = workspace.copy("channels first", grouped.transpose(1, 2, 0, 3))
    return matrix.reshape(groups, channels // groups, -1)


def samples_first(matrix: np.ndarray, batch: int) -> np.ndarray:
    """(G, R, N*P) -> (N, G, R, P), a view: the layout of :func:`channels_first` undone."""
    return np.moveaxis(matrix.reshape(*matrix.shape[:2], batch, -1), 2, 0)


def unfold(windows: Windows, samples: slice, rows: slice, groups: int,
           per_sample: bool = False) -> np.ndarray:
    """The im2col buffer of one block: (G, Ci*K, n*P) with rows (c', m) and columns (b, i),

        cols[g, (c', m), (b, i)] = x_pad[b, g*Ci + c', s*i + d*m],

    or with ``per_sample`` one such matrix per sample, (n, G, Ci*K, P).
    """
    dims = len(windows.kernel_size)
    batch, channels = samples.stop - samples.start, windows.channels
    positions = block_positions(rows, windows.out_size)
    grouping = (groups, channels // groups)
    at_positions, at_taps = range(3, 3 + dims), range(3 + dims, 3 + 2 * dims)
    if per_sample:  # (b, g, c', i..., m...) -> (b, g, c', m..., i...)
        shape = (batch, *grouping, *windows.kernel_size, *positions)
        order, lead = (0, 1, 2, *at_taps, *at_positions), 3
    else:  # (b, g, c', i..., m...) -> (g, c', m..., b, i...)
        shape = (*grouping, *windows.kernel_size, batch, *positions)
        order, lead = (1, 2, *at_taps, 0, *at_positions), 2
    cols = workspace.scratch("cols", shape, windows.dtype)
    for taps, view in windows.pieces:
        block = view[samples, :, rows]
        grouped = block.reshape(batch, *grouping, *block.shape[2:])
        threads.copy(grouped.transpose(order), out=cols[(*(slice(None),) * lead, *taps)])
    if per_sample:
        return cols.reshape(batch, groups, -1, math.prod(positions))
    return cols.reshape(groups, channels // groups * math.prod(windows.kernel_size), -1)
