"""1x1 (pointwise) correlation on NumPy: a plain GEMM along channels at every pixel.

With a kernel of one tap in every dim (the one-by-one-is-dense theorem) and P positions,
per sample b and group g (Ci = C_in/G, Co = C_out/G):

    forward        y[b, g, :, P] = W_g (Co x Ci) · x_s[b, g, :, P]       x_s = x_pad[s·i]
    input grad     z[b, g, :, P] = W_gᵀ (Ci x Co) · g[b, g, :, P],  scattered back to s·i
    weight grad    dW_g = Σ_b g[b, g] (Co x P) · x_s[b, g]ᵀ (P x Ci)

The (N, C, P) layout of the arrays is already the GEMM layout: no unfold, no transposed copy
(only the stride's subsampling or the padding is copied).  Small images are the exception:
per-sample GEMMs of few columns read large weights from beyond the core's cache once per
sample, so there (:func:`.unfold.side_by_side`) the forward and the input gradient gather
their samples side by side (blocks of GATHERED_COLUMNS columns), and the weight gradient
contracts over (b, i) in one GEMM of transposed copies instead of summing N small GEMMs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ..spec import Pads, padded_size
from . import threads, unfold, workspace
from .padding import pad

GATHERED_COLUMNS = 1024
"""The columns of one GEMM over gathered samples (the samples of a block)."""


def applies(kernel_size: Sequence[int]) -> bool:
    """A kernel of one tap in every dim (dilation then does not matter)."""
    return all(k == 1 for k in kernel_size)


def _sampled(x: np.ndarray, stride: Sequence[int], pads: Pads) -> np.ndarray:
    """x_pad[b, c, s·i] as a contiguous (N, C, *o) array; x itself when s = 1, p = 0."""
    view = pad(x, pads, "zeros")[(Ellipsis, *(slice(None, None, s) for s in stride))]
    return view if view.flags.c_contiguous else threads.copy(view)


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, G·C, *p) -> (N, G, C, P), a view of a contiguous array."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, -1)


def _weights(w: np.ndarray, groups: int) -> np.ndarray:
    """W[g, o', c'] = w[g Co + o', c', 0...]."""
    return np.ascontiguousarray(w).reshape(groups, w.shape[0] // groups, w.shape[1])


def _over_samples(function: Callable[[slice], object], batch: int, macs: int) -> list:
    """[function(samples)]: the whole batch on this thread when there are fewer than
    threads.MIN_MACS multiply-adds, else cut over the threads (:func:`threads.each`)."""
    if macs < threads.MIN_MACS:
        return [function(slice(0, batch))]
    return threads.each(function, batch)


def _product(weights: np.ndarray, operand: np.ndarray) -> np.ndarray:
    """out[b, g] = weights[g] · operand[b, g], (G, R, K) and (N, G, K, P) -> (N, G, R, P).

    One GEMM per sample; for small images under large weights (:func:`.unfold.side_by_side`),
    one per block of samples gathered side by side,
    out[block, g] = (weights[g] · [operand[b, g] for b in block]).
    """
    batch, groups, depth, positions = operand.shape
    if not unfold.side_by_side(batch, positions, weights):
        return threads.matmul(weights, operand)
    rows = weights.shape[1]
    out = np.empty((batch, groups, rows, positions), dtype=np.result_type(weights, operand))
    step = max(1, GATHERED_COLUMNS // positions)

    def blocks(samples: slice) -> None:
        for start in range(samples.start, samples.stop, step):
            block = slice(start, min(start + step, samples.stop))
            gathered = unfold.channels_first(operand[block].reshape(-1, groups * depth,
                                                                    positions), groups)
            product = workspace.matmul("gathered product", weights, gathered)
            np.copyto(out[block], unfold.samples_first(product, block.stop - block.start))

    _over_samples(blocks, batch, batch * groups * rows * depth * positions)
    return out


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int) -> np.ndarray:
    """y[b, g Co + o', i] = Σ_{c'} w[g Co + o', c'] x_pad[b, g Ci + c', s·i]."""
    sampled = _sampled(x, stride, pads)
    y = _product(_weights(w, groups), _grouped(sampled, groups))
    return y.reshape(x.shape[0], w.shape[0], *sampled.shape[2:])


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int,
                         input_size: Sequence[int]) -> np.ndarray:
    """Aᵀ g: z_pad[b, g Ci + c', s·i] = Σ_{o'} w[g Co + o', c'] g[b, g Co + o', i], cropped."""
    z = _product(_weights(w, groups).transpose(0, 2, 1),
                 _grouped(np.ascontiguousarray(g), groups))
    z = z.reshape(g.shape[0], w.shape[1] * groups, *g.shape[2:])
    padded = padded_size(input_size, pads)
    if all(s == 1 for s in stride) and padded == z.shape[2:]:
        z_pad = z
    else:
        z_pad = np.zeros((*z.shape[:2], *padded), dtype=z.dtype)
        z_pad[(Ellipsis, *(slice(0, s * o, s) for s, o in zip(stride, g.shape[2:])))] = z
    crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(input_size, pads))
    return np.ascontiguousarray(z_pad[(slice(None), slice(None), *crop)])


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int,
                          kernel_size: Sequence[int]) -> np.ndarray:
    """dw[g Co + o', c'] = Σ_b Σ_i g[b, g Co + o', i] x_pad[b, g Ci + c', s·i].

    Per sample and summed when the positions outnumber the weights (no copy; the samples cut
    over the threads, each summing its own), else one GEMM contracting (b, i) over transposed
    copies of both operands.
    """
    sampled = _grouped(_sampled(x, stride, pads), groups)
    grads = _grouped(np.ascontiguousarray(g), groups)
    positions = math.prod(sampled.shape[3:])
    if positions * (sampled.shape[2] + grads.shape[2]) >= sampled.shape[2] * grads.shape[2]:
        def partial_sum(samples: slice) -> np.ndarray:
            dw = threads.matmul(grads[samples.start],
                                sampled[samples.start].transpose(0, 2, 1))
            for b in range(samples.start + 1, samples.stop):
                dw += threads.matmul(grads[b], sampled[b].transpose(0, 2, 1))
            return dw

        macs = x.shape[0] * positions * sampled.shape[2] * g.shape[1]
        dw = functools.reduce(np.add, _over_samples(partial_sum, x.shape[0], macs))
    else:
        total = x.shape[0] * positions
        rows = threads.copy(sampled.transpose(1, 2, 0, 3)).reshape(groups, -1, total)
        cols = threads.copy(grads.transpose(1, 2, 0, 3)).reshape(groups, -1, total)
        dw = threads.matmul(cols, rows.transpose(0, 2, 1))
    return dw.reshape(g.shape[1], x.shape[1] // groups, *kernel_size)
