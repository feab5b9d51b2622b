"""Winograd F(m x m, 3 x 3): stride-1 3x3 correlations on NumPy as batched BLAS GEMMs.

With the transforms of the winograd-transform theorem (Aᵀ: m x n, G: n x 3, Bᵀ: n x n,
n = m + 2, from :func:`convproof.symbolic.winograd.toom_cook`), the m x m output tile at
(m t1, m t2) of a correlation with zero-padded input x_pad is

    Y[o, tile] = Aᵀ [ Σ_c (G w[o, c] Gᵀ) ⊙ (Bᵀ d[c, tile] B) ] A,
    d[c, tile] = x_pad[c, m t1 : m t1 + n, m t2 : m t2 + n].

The channel sum moves inside the Hadamard product, so at each of the n² positions ξ of the
transformed tile it is one GEMM over channels (P tiles, per group):

    M[ξ] (K x P) = U[ξ] (K x C) · V[ξ] (C x P),  U = (G ⊗ G) vec w,  V = (Bᵀ ⊗ Bᵀ) vec d,
    vec Y = (Aᵀ ⊗ Aᵀ) M.

Layouts make every product a large GEMM: the tiles are gathered as X (n², C·P), so that
V[ξ] (C, P) is contiguous; the n² channel GEMMs are one matmul over the leading axis.  A
Kronecker product is applied one factor at a time (:func:`_kron_apply`): (Bᵀ ⊗ Bᵀ) X is n
GEMMs Bᵀ (n x n) · X[a] (n x C·P) and one Bᵀ · (n x n·C·P), 2n instead of n² multiply-adds
per value (1.5-2.1x faster than the n² x n² GEMM, benchmarks/NOTES.md); likewise (Aᵀ ⊗ Aᵀ) M,
whose result (m, K·P, m) keeps each tile's columns last for the copy into the output
(:func:`_output_transform`).  Tiles are processed in blocks of
samples or tile rows so that no buffer exceeds ``unfold.UNFOLD_BUFFER_BYTES``, or
``unfold.CACHED_BLOCK_BYTES`` where U is small (see :func:`_tile_blocks`), and a block's
chain (gather, transforms, channel GEMMs) passes its arrays back and forth between two flat
buffers (:func:`_buffers`; three for the weight gradient).

The input gradient of a stride-1 correlation is again a stride-1 3x3 correlation (the
grad-input-flip theorem): the gradient, padded by (d(k - 1) - p_lo, n + p_lo - o) along each
axis (:func:`~convproof.adjoint.gradient_pads`), correlated with the spatially flipped kernel
whose in/out channel axes are swapped.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..adjoint import gradient_pads, swap_and_flip
from ..spec import Pads, ceil_div, padded_size
from . import threads, unfold, workspace
from .padding import canvas

KERNEL = 3
"""The kernel size these transforms are derived for (r in F(m, r))."""

TILE = 4
"""The output tile m: F(4x4, 3x3) at the points 0, ±1, 1/2, -2, chosen by its float32 error
against the float64 reference (4-13x the direct sum's; F(6x6, 3x3) 18-46x for a GEMM only 21%
smaller, benchmarks/NOTES.md)."""


@functools.cache
def transforms(m: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Aᵀ, G, Bᵀ) of F(m, 3) in ``dtype``, from the exact derivation at the points of
    :func:`convproof.symbolic.winograd.points_for`."""
    from ..symbolic.winograd import points_for, toom_cook

    exact = toom_cook(m, KERNEL, points_for(m, KERNEL))
    return tuple(np.array(matrix.tolist(), dtype=np.float64).astype(dtype)
                 for matrix in (exact.AT, exact.G, exact.BT))


@functools.cache
def weight_kronecker(m: int, dtype: np.dtype) -> np.ndarray:
    """G ⊗ G of F(m x m, 3 x 3) in ``dtype`` (n² x 9: the weights are few, one GEMM suits)."""
    G = transforms(m, np.dtype(np.float64))[1]
    return np.kron(G, G).astype(dtype)


def _kron_apply(matrix: np.ndarray, values: np.ndarray, spare: np.ndarray, out: np.ndarray
                ) -> np.ndarray:
    """(M ⊗ M) values for M (r x q) and values (q², ...) -> (r², ...), one factor at a time,

        half[a, β] = Σ_b M[β, b] values[(a, b)],   result[(α, β)] = Σ_a M[α, a] half[a, β],

    with ``half`` in the flat buffer ``spare`` and the result in ``out`` (which may hold
    ``values``: they are read before it is written)."""
    rows, size = matrix.shape
    stacked = values.reshape(size, size, -1)
    half = threads.matmul(matrix, stacked, out=_view(spare, (size, rows, stacked.shape[-1])))
    result = threads.matmul(matrix, half.reshape(size, -1),
                            out=_view(out, (rows, rows * stacked.shape[-1])))
    return result.reshape(rows * rows, *values.shape[1:])


def _output_transform(AT: np.ndarray, products: np.ndarray, spare: np.ndarray,
                      out: np.ndarray) -> np.ndarray:
    """Y[a, q, b] = Σ_{α, β} Aᵀ[a, α] Aᵀ[b, β] M[(α, β), q] for M (n², ...) with q the
    flattened rest: (Aᵀ ⊗ Aᵀ) M one factor at a time, the second as (q x n) · (n x m) so that
    a tile's columns b come last, whole tile rows then being contiguous in Y as in y (the
    scatter of 3x3 64->64 at 56x56 is 0.35 -> 0.20 ms a sample; benchmarks/NOTES.md).  The
    half-way product goes to the flat buffer ``spare``, Y to ``out`` (which may hold M)."""
    m, n = AT.shape
    columns = products.size // (n * n)
    half = threads.matmul(AT, products.reshape(n, n * columns),
                          out=_view(spare, (m, n * columns)))
    return threads.matmul(half.reshape(m, n, columns).transpose(0, 2, 1), AT.T,
                          out=_view(out, (m, columns, m)))


def _view(buffer: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The first prod(shape) elements of the flat ``buffer`` as an array of ``shape``."""
    return buffer[:math.prod(shape)].reshape(shape)


def _buffers(count: int, blocks: list[tuple[slice, slice]], tiles_across: int, values: int,
             dtype: np.dtype) -> list[np.ndarray]:
    """``count`` flat scratch buffers, each large enough for ``values`` numbers a tile of the
    largest block (the first).  A block's chain passes its arrays from one buffer to the
    other, so it touches two or three buffers instead of one per step (3x3 64->64 at 56x56
    forward, two threads: 8.8 -> 7.4 ms at the 25th percentile; benchmarks/NOTES.md)."""
    samples, rows = blocks[0]
    size = values * (samples.stop - samples.start) * (rows.stop - rows.start) * tiles_across
    return [workspace.scratch(f"winograd buffer {index}", (size,), dtype)
            for index in range(count)]


FEW_TILES = 4
"""Images of at most this many tiles (outputs up to 8 x 8) are gathered samples last: the
tile gather then copies runs of N instead of runs of 2 tiles (3x3 512->512 at 7x7, N = 32,
two threads: 32.6 -> 27.6 ms; at 9 tiles a sample 2-5%, at 16 slower; benchmarks/NOTES.md)."""


CACHED_WEIGHT_BYTES = 4 * 2**20
"""Blocks of ``unfold.CACHED_BLOCK_BYTES`` where U (or dL/dU) is at most this large: the
block's tiles, transforms and products then stay in the core's caches from one GEMM to the
next.  One thread, 3x3 64->64 at 56x56 (U 0.6 MB), 4 samples: 10.2-11.2 ms in 64 MiB blocks,
7.3-8.5 in 2 MiB (one sample), 8.5-9.7 in 1 MiB; 128->128 at 28x28 (U 2.4 MB), 8 samples:
17.2-17.9, 15.4-17.8, 14.1-15.5.  Larger U is read from memory again by every block's GEMMs,
so small blocks lose there (256->256 at 14x14: 29.0-30.8 ms, 32.8-35.9 in 2 MiB blocks;
benchmarks/NOTES.md)."""


def _tile_blocks(batch: int, tiles: tuple[int, int], in_channels: int, out_channels: int,
                 groups: int, n: int, dtype: np.dtype) -> list[tuple[slice, slice]]:
    """The (samples, tile rows) blocks of :func:`.unfold.blocks` for n² x max(C_in, C_out)
    values a tile: of ``unfold.CACHED_BLOCK_BYTES`` where U (n² x C_out x C_in/G) fits
    CACHED_WEIGHT_BYTES, else of the unfold's default size."""
    itemsize = np.dtype(dtype).itemsize
    weights = n * n * out_channels * (in_channels // groups) * itemsize
    limit = unfold.CACHED_BLOCK_BYTES if weights <= CACHED_WEIGHT_BYTES else None
    return list(unfold.blocks(batch, tiles, n * n * max(in_channels, out_channels) * itemsize,
                              limit))


def keeps_finite(operation: str, largest: dict[str, float], terms: int, dtype: np.dtype
                 ) -> bool:
    """Whether every intermediate of ``operation`` (x, w, g by name: their largest
    magnitudes) stays within ``dtype``'s range, ``terms`` the terms of each sum
    (:func:`convproof.symbolic.winograd.keeps_finite`)."""
    from ..symbolic.winograd import keeps_finite as bound

    return bound(TILE, KERNEL, operation, largest, terms, float(np.finfo(dtype).max))


def applies(kernel_size: Sequence[int], stride: Sequence[int]) -> bool:
    """Whether F(m x m, 3 x 3) computes this correlation: 2-D, 3x3, stride 1 (any dilation)."""
    return tuple(kernel_size) == (KERNEL, KERNEL) and tuple(stride) == (1, 1)


def _weight_transform(w: np.ndarray, groups: int, kron_g: np.ndarray) -> np.ndarray:
    """U[ξ, g, o', c'] = ((G ⊗ G) vec w[g Co + o', c'])[ξ], shape (n², G, Co, Ci): a view of
    one (n² x 9) · (9 x Ci) GEMM per output channel, stored (G, Co, n², Ci).  Each U[ξ, g]
    is then a (Co, Ci) matrix with rows n²·Ci apart, which BLAS reads as it is, and the
    GEMMs write n² rows at a time instead of n² rows a whole U apart (512->512: 8.9 -> 5.9
    ms, one thread; the channels cut over the threads by :func:`.threads.matmul` 5.0 -> 2.8
    ms on two; benchmarks/NOTES.md)."""
    out_channels, per_group = w.shape[:2]
    taps = np.ascontiguousarray(w).reshape(out_channels, per_group, KERNEL * KERNEL)
    transformed = workspace.matmul("weights", kron_g, taps.transpose(0, 2, 1))
    shaped = transformed.reshape(groups, out_channels // groups, -1, per_group)
    return shaped.transpose(2, 0, 1, 3)


def _padded_block(x: np.ndarray, samples: slice, rows: slice, pads: Pads, m: int,
                  tiles_across: int, samples_last: bool = False) -> np.ndarray:
    """x_pad[samples, :, m·rows.start : m·rows.stop + 2, : m·tiles_across + 2], zero outside x,
    stored (N, C, rows, columns), or with ``samples_last`` (rows, columns, C, N) and returned
    as a view of the first order.

    Negative pads crop; rows past the padded input (the last partial tile) are zero too.
    """
    (top, _), (left, _) = pads
    sizes = (m * (rows.stop - rows.start) + KERNEL - 1, m * tiles_across + KERNEL - 1)
    count, channels = samples.stop - samples.start, x.shape[1]
    if samples_last:
        out = workspace.scratch("block", (*sizes, channels, count), x.dtype).transpose(3, 2, 0, 1)
    else:
        out = workspace.scratch("block", (count, channels, *sizes), x.dtype)
    return canvas(x[samples], (top - m * rows.start, left), sizes, out=out)


BY_CHANNEL = (1, 0, 2, 3)
"""X[(a, b), c, (s, t1, t2)]: each V[ξ] a (C, P) matrix, the forward's GEMM operand."""
BY_CHANNEL_SAMPLES_LAST = (1, 2, 3, 0)
"""X[(a, b), c, (t1, t2, s)]: the same from a block stored samples last (few tiles a sample)."""
BY_POSITION = (0, 2, 3, 1)
"""X[(a, b), (s, t1, t2), c]: each V[ξ] a (P, C) matrix, the operand the weight gradient's
GEMMs read fastest."""


def _gather(block: np.ndarray, m: int, out: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """X[(a, b), ...] = block[s, c, m t1 + a, m t2 + b] with the axes (s, c, t1, t2) in
    ``order`` after (a, b): shape (n², C·P)."""
    n = m + KERNEL - 1
    windows = sliding_window_view(block, (n, n), axis=(2, 3))[:, :, ::m, ::m]
    tiles = windows.transpose(4, 5, *order)
    return threads.copy(tiles, out=_view(out, tiles.shape)).reshape(n * n, -1)


def _split(region: np.ndarray, tiles: tuple[int, int], sizes: tuple[int, int]) -> np.ndarray:
    """The (..., T1·a, T2·b) view ``region`` as (..., T1, a, T2, b), without a copy."""
    *lead, rows, cols = region.strides
    (t1, t2), (a, b) = tiles, sizes
    return as_strided(region, (*region.shape[:-2], t1, a, t2, b),
                      (*lead, a * rows, rows, b * cols, cols))


def _scatter(y: np.ndarray, tiles: np.ndarray, first_row: int) -> None:
    """y[:, :, first_row + m t1 + a, m t2 + b] = tiles[:, :, t1, a, t2, b], inside y only.

    Whole tiles in one copy per axis part: the full tiles, then the partial last one.
    """
    m = tiles.shape[3]
    rows = min(tiles.shape[2] * m, y.shape[2] - first_row)
    cols = y.shape[3]
    for r_tiles, r_size, r_at in _parts(rows, m):
        for c_tiles, c_size, c_at in _parts(cols, m):
            region = y[:, :, first_row + r_at:first_row + r_at + r_tiles * r_size,
                       c_at:c_at + c_tiles * c_size]
            source = tiles[:, :, r_at // m:r_at // m + r_tiles, :r_size,
                           c_at // m:c_at // m + c_tiles, :c_size]
            threads.copy(source, out=_split(region, (r_tiles, c_tiles), (r_size, c_size)))


def _parts(length: int, m: int) -> list[tuple[int, int, int]]:
    """(tile count, rows per tile, start) of the whole tiles and of the partial last tile."""
    whole, rest = divmod(length, m)
    parts = [(whole, m, 0)] if whole else []
    return parts + [(1, rest, whole * m)] if rest else parts


def _correlate(x: np.ndarray, w: np.ndarray, pads: Pads, groups: int, tile: int,
               out: np.ndarray | None = None) -> np.ndarray:
    """y[b, o, i] = Σ_{c', m} w[o, c', m] x_pad[b, g Ci + c', i + m] for a 3x3 kernel, by
    F(tile x tile, 3 x 3), into ``out`` if given (any view of the output's shape); ``pads``
    may be negative (a crop)."""
    batch, channels, height, width = x.shape
    out_channels = w.shape[0]
    padded = padded_size((height, width), pads)
    out_size = unfold.window_count(padded, (KERNEL, KERNEL), (1, 1), (1, 1))
    tiles = tuple(ceil_div(o, tile) for o in out_size)
    n = tile + KERNEL - 1
    AT, _, BT = transforms(tile, x.dtype)
    weights = _weight_transform(w, groups, weight_kronecker(tile, x.dtype))
    y = np.empty((batch, out_channels, *out_size), dtype=x.dtype) if out is None else out
    blocks = _tile_blocks(batch, tiles, channels, out_channels, groups, n, x.dtype)
    first, second = _buffers(2, blocks, tiles[1], n * n * max(channels, out_channels), x.dtype)
    samples_last = tiles[0] * tiles[1] <= FEW_TILES
    for samples, rows in blocks:
        count = samples.stop - samples.start
        block = _padded_block(x, samples, rows, pads, tile, tiles[1], samples_last)
        order = BY_CHANNEL_SAMPLES_LAST if samples_last else BY_CHANNEL
        data = _kron_apply(BT, _gather(block, tile, first, order), spare=second, out=first)
        data = data.reshape(n * n, groups, channels // groups, -1)
        products = threads.matmul(weights, data, out=_view(second, (
            n * n, groups, out_channels // groups, data.shape[-1])))
        values = _output_transform(AT, products, spare=first, out=second)
        positions = (count, rows.stop - rows.start, tiles[1])  # (s, t1, t2), P's order
        if samples_last:
            shaped = values.reshape(tile, out_channels, *positions[1:], count, tile)
            by_sample = shaped.transpose(4, 1, 2, 0, 3, 5)
        else:
            shaped = values.reshape(tile, out_channels, *positions, tile)
            by_sample = shaped.transpose(2, 1, 3, 0, 4, 5)
        _scatter(y[samples], by_sample, tile * rows.start)
    return y


def _output_tiles(g: np.ndarray, samples: slice, rows: slice, m: int, tiles_across: int,
                  out: np.ndarray) -> np.ndarray:
    """G[a, (o, s, t1, t2), b] = g[s, o, m t1 + a, m t2 + b] (zero past the output), shape
    (m, K·P, m): the layout :func:`_output_transform` returns, read in runs of whole rows."""
    sizes = (m * (rows.stop - rows.start), m * tiles_across)
    block = canvas(g[samples], (-m * rows.start, 0), sizes, out=workspace.scratch(
        "output block", (samples.stop - samples.start, g.shape[1], *sizes), g.dtype))
    shaped = block.reshape(*block.shape[:2], rows.stop - rows.start, m, tiles_across, m)
    tiles = shaped.transpose(3, 1, 0, 2, 4, 5)
    return threads.copy(tiles, out=_view(out, tiles.shape)).reshape(m, -1, m)


def _output_transform_adjoint(AT: np.ndarray, tiles: np.ndarray, spare: np.ndarray,
                              out: np.ndarray) -> np.ndarray:
    """dM[(α, β), q] = Σ_{a, b} Aᵀ[a, α] Aᵀ[b, β] G[a, q, b], the adjoint of
    :func:`_output_transform`, for G (m, q, m): shape (n², q), through ``spare`` into ``out``
    (which may hold G)."""
    m, n = AT.shape
    columns = tiles.shape[1]
    half = threads.matmul(AT.T, tiles.transpose(0, 2, 1), out=_view(spare, (m, n, columns)))
    result = threads.matmul(AT.T, half.reshape(m, n * columns), out=_view(out, (n, n * columns)))
    return result.reshape(n * n, columns)


def _accumulate_grad_u(x: np.ndarray, g: np.ndarray, pads: Pads, groups: int, tile: int,
                       grad_u: np.ndarray) -> None:
    """grad_u += Σ_tiles dM[ξ] V[ξ]ᵀ (see :func:`correlate_weight_grad`)."""
    batch, channels = x.shape[:2]
    out_channels = g.shape[1]
    tiles = tuple(ceil_div(o, tile) for o in g.shape[2:])
    n = tile + KERNEL - 1
    AT, _, BT = transforms(tile, x.dtype)
    blocks = _tile_blocks(batch, tiles, channels, out_channels, groups, n, x.dtype)
    inputs, spare, outputs = _buffers(3, blocks, tiles[1], n * n * max(channels, out_channels),
                                      x.dtype)
    for samples, rows in blocks:
        block = _padded_block(x, samples, rows, pads, tile, tiles[1])
        tiles_by_position = _gather(block, tile, inputs, BY_POSITION)
        data = _kron_apply(BT, tiles_by_position, spare=spare, out=inputs)
        output_tiles = _output_tiles(g, samples, rows, tile, tiles[1], out=outputs)
        grads = _output_transform_adjoint(AT, output_tiles, spare=spare, out=outputs)
        grads = grads.reshape(n * n, groups, out_channels // groups, -1)
        grad_u += threads.matmul(grads, data.reshape(n * n, -1, groups, channels // groups)
                                 .transpose(0, 2, 1, 3))


# --------------------------------------------------------------------------------------------
# Dilation d: d1·d2 undilated correlations on the polyphase components
#
#   y[d i' + a] = Σ_m w[m] x_pad[d (i' + m) + a] = corr(x_pad^(a), w)[i'],
#   x_pad^(a)[j] = x_pad[d j + a] = x[d j + a - p_lo]
#
# so phase a reads the strided view x[(a - p_lo) mod d :: d] (placed at its own padding) and
# its outputs are y[a :: d].  The phases share the weights, so they go through F(m x m, 3 x 3)
# as one batch (each zero-padded to the largest phase's extent, the outputs past a phase's own
# count computed and dropped): one weight transform and GEMMs d1·d2 times wider than per phase.
# --------------------------------------------------------------------------------------------

def _phases(pads: Pads, dilation: Sequence[int], out_size: Sequence[int]
            ) -> Iterator[tuple[tuple[slice, ...], tuple[int, ...], tuple[slice, ...]]]:
    """For each phase with outputs, a < min(d, o) per axis (a dilation far beyond the output
    has d phases, nearly all empty): (its input view, where that view starts in x_pad^(a), its
    output view), per axis."""
    for phase in itertools.product(*(range(min(d, o)) for d, o in zip(dilation, out_size))):
        parts = [unfold.polyphase(a, lo, d) for a, d, (lo, _) in zip(phase, dilation, pads)]
        yield (tuple(inputs for inputs, _ in parts), tuple(first for _, first in parts),
               tuple(slice(a, None, d) for a, d in zip(phase, dilation)))


def _out_size(size: Sequence[int], pads: Pads, dilation: Sequence[int]) -> tuple[int, ...]:
    padded = padded_size(size, pads)
    return unfold.window_count(padded, (KERNEL, KERNEL), (1, 1), dilation)


def _phase_outputs(out_size: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    """The outputs of the largest phase along each axis: ceil(o / d)."""
    return tuple(ceil_div(o, d) for o, d in zip(out_size, dilation))


def _stacked_inputs(x: np.ndarray, pads: Pads, dilation: Sequence[int],
                    out_size: Sequence[int]) -> tuple[np.ndarray, list[tuple[slice, ...]]]:
    """The phases x_pad^(a), each on the largest phase's padded extent, stacked along the
    batch: (phases·N, C, *(ceil(o/d) + 2)); and the output view of each phase."""
    phases = list(_phases(pads, dilation, out_size))
    extent = [o + KERNEL - 1 for o in _phase_outputs(out_size, dilation)]
    stacked = workspace.scratch("dilation phases", (len(phases), *x.shape[:2], *extent), x.dtype)
    for index, (inputs, offsets, _) in enumerate(phases):
        canvas(x[(Ellipsis, *inputs)], offsets, extent, out=stacked[index])
    return stacked.reshape(-1, *stacked.shape[2:]), [outputs for *_, outputs in phases]


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int, tile: int = TILE,
              out: np.ndarray | None = None) -> np.ndarray:
    """y[b, o, i] = Σ_{c', m} w[o, c', m] x_pad[b, g Ci + c', i + d·m] for a 3x3 kernel and
    stride 1, by F(tile x tile, 3 x 3), into ``out`` if given; ``pads`` may be negative (a
    crop)."""
    if tuple(dilation) == (1, 1):
        return _correlate(x, w, pads, groups, tile, out=out)
    out_size = _out_size(x.shape[2:], pads, dilation)
    y = np.empty((x.shape[0], w.shape[0], *out_size), dtype=x.dtype) if out is None else out
    stacked, outputs = _stacked_inputs(x, pads, dilation, out_size)
    results = _correlate(stacked, w, ((0, 0), (0, 0)), groups, tile)
    for index, phase in enumerate(outputs):
        target = y[(Ellipsis, *phase)]
        found = results[index * x.shape[0]:(index + 1) * x.shape[0]]
        threads.copy(found[(Ellipsis, *(slice(0, n) for n in target.shape[2:]))], out=target)
    return y


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int, kernel_size: Sequence[int],
                          tile: int = TILE) -> np.ndarray:
    """dL/dw of the stride-1 3x3 correlation: the adjoint in w of the Winograd identity,

        vec dw = (G ⊗ G)ᵀ Σ_tiles dU,   dU[ξ] (K x C) = dM[ξ] (K x P) · V[ξ]ᵀ (P x C),
        dM = (Aᵀ ⊗ Aᵀ)ᵀ vec g_tile,      V = (Bᵀ ⊗ Bᵀ) vec d_tile,

    exact because y is that linear function of U = (G ⊗ G) vec w for every w (the polyphase
    components of a dilation stacked as one batch, their gradients zero past each phase's
    outputs)."""
    channels, out_channels = x.shape[1], g.shape[1]
    n = tile + KERNEL - 1
    grad_u = np.zeros((n * n, groups, out_channels // groups, channels // groups), dtype=x.dtype)
    if tuple(dilation) == (1, 1):
        _accumulate_grad_u(x, g, pads, groups, tile, grad_u)
    else:
        stacked, outputs = _stacked_inputs(x, pads, dilation, g.shape[2:])
        sizes = _phase_outputs(g.shape[2:], dilation)
        grads = workspace.scratch("phase grads", (len(outputs), *g.shape[:2], *sizes), g.dtype)
        for index, phase in enumerate(outputs):
            canvas(g[(Ellipsis, *phase)], (0, 0), sizes, out=grads[index])
        _accumulate_grad_u(stacked, grads.reshape(-1, *grads.shape[2:]), ((0, 0), (0, 0)),
                           groups, tile, grad_u)
    # dw[(o, c'), t] = Σ_ξ grad_u[ξ, (o, c')] (G ⊗ G)[ξ, t]: the product lands in w's layout
    dw = threads.matmul(grad_u.reshape(n * n, -1).T, weight_kronecker(tile, x.dtype))
    return dw.reshape(out_channels, channels // groups, KERNEL, KERNEL)


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         tile: int = TILE, out: np.ndarray | None = None) -> np.ndarray:
    """Aᵀ g of the stride-1 3x3 correlation: correlate(g, swap_and_flip(w)) with the padding
    (d(k - 1) - p_lo, n + p_lo - o) per axis, which gives exactly the ``input_size`` rows."""
    grad_pads = gradient_pads(w.shape[2:], dilation, pads, input_size, g.shape[2:])
    return correlate(g, swap_and_flip(w, groups), stride, grad_pads, dilation, groups, tile,
                     out=out)
