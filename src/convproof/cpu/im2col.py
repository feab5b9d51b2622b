"""The im2col path: zero-padded N-d correlation as one GEMM per group, and its two adjoints.

It computes every correlation (any dims, stride, dilation, groups); the other paths of
:mod:`.conv` are faster where they apply.

With groups G, Ci = C_in/G, Co = C_out/G, K = prod(k) taps and the im2col buffer
cols_g[(c', m), (b, i)] = x_pad[b, g*Ci + c', s*i + d*m] (see :mod:`.unfold`), the
im2col-factorization theorem and its transposes read, per group g:

    forward        Y_g  = W_g cols_g          W_g[o', (c', m)] = w[g*Co + o', c', m]
    weight grad    dW_g = G_g cols_g^T        G_g[o', (b, i)]  = grad_y[b, g*Co + o', i]
    input grad     C_g  = W_g^T G_g, then col2im:
                   z_pad[b, g*Ci + c', s*i + d*m] += C_g[(c', m), (b, i)]

Layouts: forward and input gradient take one GEMM per sample and group, one stacked
``matmul`` call, on operands in the (N, C, P) layout of the arrays (the forward's product
lands in the output, the input gradient reads g as it is); the weight gradient contracts over
(b, i) in one GEMM per group, and so do the forward and input gradient of small images under
large weights (:func:`.unfold.side_by_side`), the forward's product then copied out by
sample.  The batch is processed in blocks that keep every buffer within
``unfold.UNFOLD_BUFFER_BYTES``, and within a few times the matrix that every block's GEMM
reads again (the forward's weights, the weight gradient's sum) where that is small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..spec import Pads, padded_size
from . import threads, unfold, workspace
from .padding import pad


REREAD_BLOCK = 8
"""A block holds this many times the bytes of the matrix that every block's GEMM reads again
(the forward's weights; the weight gradient's running sum dW, added to by every block), and
at least ``unfold.CACHED_BLOCK_BYTES``: small blocks keep the unfold in the caches until its
GEMM, large ones pay for reading that matrix again.  Two threads, median ms, the unfold's
default blocks -> these: forward 3x3/2 16->64 at 112x112 (37 KB of weights) 6.6 -> 5.5,
32->64 12.9 -> 11.8, 56->64 21.4 -> 19.3, 5x5 32->64 at 32x32 8.4 -> 7.3, 3x3/2 128->128 at
56x56 (590 KB) 13.1 -> 12.5 (in 2 MiB blocks 15.9 -> 17.1), the 7x7/2 stem 16.1-16.3 ->
15.0-15.4; weight gradient: the stem (37 KB) 18.7 -> 16.7, 5x5 64->64 at 56x56 (410 KB) 39.0
-> 32.9, 3x3/2 128->128 14.7 -> 13.5; 3x3/2 512->512 at 14x14 (9.4 MB, N = 32) keeps 32 MiB
blocks, in 2 MiB ones 55.3 -> 66.9 (benchmarks/NOTES.md, items 29 and 45)."""


def _block_limit(reread: np.ndarray) -> int:
    """Bytes of a block: REREAD_BLOCK times those of ``reread``, the matrix that every block's
    GEMM reads again, at least ``unfold.CACHED_BLOCK_BYTES`` (and at most the unfold's
    default, :func:`.unfold.blocks`)."""
    return max(unfold.CACHED_BLOCK_BYTES, REREAD_BLOCK * reread.nbytes)


def _weight_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """W[g, o', (c', m)] = w[g*Co + o', c', m], contiguous whatever the strides of ``w``."""
    return np.ascontiguousarray(w).reshape(groups, w.shape[0] // groups, -1)


def _position_bytes(in_channels: int, out_channels: int, kernel_size: Sequence[int],
                    dtype: np.dtype) -> int:
    """Bytes per output position of the largest GEMM buffer (unfolded input or output)."""
    return max(in_channels * math.prod(kernel_size), out_channels) * np.dtype(dtype).itemsize


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int, out: np.ndarray | None = None
              ) -> np.ndarray:
    """y[b, o, i] = sum_{c', m} w[o, c', m] x_pad[b, g*Ci + c', s*i + d*m] (x zero-padded),
    into ``out`` if given."""
    windows = unfold.Windows(pad(x, pads, "zeros"), w.shape[2:], stride, dilation)
    batch, out_size = x.shape[0], windows.out_size
    weights = _weight_matrix(w, groups)
    in_place = out is not None and out.flags.c_contiguous
    y = out if in_place else np.empty((batch, w.shape[0], *out_size), dtype=x.dtype)
    step = _position_bytes(x.shape[1], w.shape[0], w.shape[2:], x.dtype)
    side_by_side = unfold.side_by_side(batch, math.prod(out_size), weights)
    for samples, rows in unfold.blocks(batch, out_size, step, _block_limit(weights)):
        count = samples.stop - samples.start
        # a block holds whole lines of y (C-contiguous), so its positions merge into one
        # axis of a view: the product lands in place, rows prod(out_size) apart
        target = y[samples, :, rows].reshape(count, groups, weights.shape[1], -1)
        if side_by_side:
            cols = unfold.unfold(windows, samples, rows, groups)
            product = workspace.matmul("product", weights, cols)
            threads.copy(unfold.samples_first(product, count), out=target)
        else:
            cols = unfold.unfold(windows, samples, rows, groups, per_sample=True)
            threads.matmul(weights, cols, out=target)
    if out is not None and not in_place:
        return threads.copy(y, out=out)
    return y


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int,
                          kernel_size: Sequence[int]) -> np.ndarray:
    """dw[o, c', m] = sum_b sum_i g[b, o, i] x_pad[b, g*Ci + c', s*i + d*m]."""
    windows = unfold.Windows(pad(x, pads, "zeros"), kernel_size, stride, dilation)
    out_channels, out_size = g.shape[1], g.shape[2:]
    # accumulated as dW_g^T = cols_g G_g^T, (Ci*K, Co): the faster operand order for BLAS
    grad_t = np.zeros((groups, x.shape[1] // groups * math.prod(kernel_size),
                       out_channels // groups), dtype=x.dtype)
    step = _position_bytes(x.shape[1], out_channels, kernel_size, x.dtype)
    for samples, rows in unfold.blocks(x.shape[0], out_size, step, _block_limit(grad_t)):
        g_block = unfold.channels_first(g[samples, :, rows], groups)
        grad_t += threads.matmul(unfold.unfold(windows, samples, rows, groups),
                                 g_block.transpose(0, 2, 1))
    grad = grad_t.transpose(0, 2, 1).reshape(out_channels, x.shape[1] // groups, *kernel_size)
    return np.ascontiguousarray(grad)


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         out: np.ndarray | None = None) -> np.ndarray:
    """A^T g: z_pad[b, g*Ci + c', s*i + d*m] += w[o, c', m] g[b, o, i], cropped to ``input_size``
    (into ``out`` if given).

    Positions of z_pad that no window reaches (the rows the floor rule dropped, or the
    output_padding of a transposed conv) stay zero.
    """
    kernel_size, out_size = w.shape[2:], g.shape[2:]
    in_channels = w.shape[1] * groups
    padded = padded_size(input_size, pads)
    z_pad = np.zeros((g.shape[0], in_channels, *padded), dtype=g.dtype)
    weights_t = _weight_matrix(w, groups).transpose(0, 2, 1)
    step = _position_bytes(in_channels, w.shape[0], kernel_size, g.dtype)
    side_by_side = unfold.side_by_side(g.shape[0], math.prod(out_size), weights_t)
    for samples, rows in unfold.blocks(g.shape[0], out_size, step):
        batch, positions = samples.stop - samples.start, unfold.block_positions(rows, out_size)
        if side_by_side:  # C_g[(c', m), (b, i)], then b moved first
            cols = workspace.matmul("cols", weights_t,
                                    unfold.channels_first(g[samples, :, rows], groups))
            cols = np.moveaxis(cols.reshape(groups, -1, *kernel_size, batch, *positions),
                               2 + len(kernel_size), 0)
        else:
            g_block = np.ascontiguousarray(g[samples, :, rows]).reshape(batch, groups, -1,
                                                                         math.prod(positions))
            cols = workspace.matmul("cols", weights_t, g_block)
        cols = cols.reshape(batch, in_channels, *kernel_size, *positions)
        first = (rows.start, *(0,) * (len(out_size) - 1))
        # col2im, one kernel tap at a time: within a tap the positions s*i + d*m are distinct.
        for tap in np.ndindex(*kernel_size):
            target = tuple(unfold.strided(d * m + s * i0, count, s) for d, m, s, i0, count
                           in zip(dilation, tap, stride, first, positions))
            z_pad[(samples, slice(None), *target)] += cols[(slice(None), slice(None), *tap)]
    crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(input_size, pads))
    z = z_pad[(slice(None), slice(None), *crop)]
    if out is not None:
        np.copyto(out, z)
        return out
    return np.ascontiguousarray(z)
