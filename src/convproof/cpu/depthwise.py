"""Depthwise correlation on NumPy (groups = C_in, one input channel per group), tap by tap.

With M = C_out / C_in output channels per input channel and w[c M + j, 0, m] the kernel,

    forward        y[b, c M + j, i] = Σ_m w[c M + j, 0, m] x_pad[b, c, s·i + d·m]
    input grad     z_pad[b, c, s·i + d·m] += Σ_j w[c M + j, 0, m] g[b, c M + j, i]
    weight grad    dw[c M + j, 0, m] = Σ_b Σ_i g[b, c M + j, i] x_pad[b, c, s·i + d·m]

Every channel has its own kernel, so there is no GEMM to make: each formula is a loop over
the prod(k) taps whose body is one vectorized multiply-add over every (b, c, j, i).  To make
that body one long contiguous run per channel plane, x_pad is split into its polyphase
components (the stride-subsampling identity: s·i + d·m = s·(i + q) + r with d·m = s·q + r),
each flattened row-major with the pitch P of its rows: tap m then reads phase r at the flat
offset Σ_a q_a P_a, the same for every output.  The output is computed on that pitch too (a
few columns past the output width are computed and cut) and the planes go in cache-sized
blocks.  The input gradient of a stride-1 depthwise correlation is the depthwise correlation
of the padded gradient with the flipped kernel (grad-input-flip); with a larger stride it is
scattered tap by tap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..spec import Pads, ceil_div
from . import threads, workspace
from .padding import canvas
from .unfold import window_count

BLOCK_BYTES = 2 * 2**20
"""Bytes of output per block of channel planes (one plane at least): fewer, longer sweeps
beat blocks that fit the 1 MiB L2 of a core here (each NumPy call costs microseconds)."""


def applies(in_channels: int, groups: int, weight_shape: Sequence[int]) -> bool:
    """One input channel per group."""
    return groups == in_channels and weight_shape[1] == 1


class Phases:
    """x_pad as its polyphase components, flattened: (s1 s2 ..., N·C, prod(S) + tail).

    Component r holds x_pad[..., s·j + r] for j < S = ceil(padded / s) (zeros past x_pad);
    ``tail`` zeros let the last output row read its taps past the end of the plane.
    """

    def __init__(self, x: np.ndarray, pads: Pads, stride: Sequence[int],
                 kernel: Sequence[int], dilation: Sequence[int]):
        self.stride, self.dilation = tuple(stride), tuple(dilation)
        padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)]
        self.out_size = window_count(padded, kernel, stride, dilation)
        self.sizes = tuple(ceil_div(n, s) for n, s in zip(padded, stride))
        self.pitches = [math.prod(self.sizes[a + 1:]) for a in range(len(self.sizes))]
        self.length = self.out_size[0] * self.pitches[0]
        self.tap_offsets = [self.offset(tap) for tap in np.ndindex(*kernel)]
        tail = self.tap_offsets[-1][1] + self.pitches[0]
        planes, area = x.shape[0] * x.shape[1], math.prod(self.sizes)
        self.flat = workspace.scratch("phases", (math.prod(stride), planes, area + tail),
                                      x.dtype)
        self.flat[:, :, area:] = 0  # the tail; canvas() zeroes the rest around x
        source = x.reshape(planes, *x.shape[2:])
        for index, phase in enumerate(np.ndindex(*stride)):
            # x_pad[s·j + r] = x[s·j + r - lo]: x from (r - lo) mod s on, placed at its j
            starts = [(r - lo) % s for r, (lo, _), s in zip(phase, pads, stride)]
            offsets = [(start + lo - r) // s for start, r, (lo, _), s
                       in zip(starts, phase, pads, stride)]
            sampled = source[(slice(None), *(slice(t, None, s) for t, s in zip(starts, stride)))]
            canvas(sampled, offsets, self.sizes,
                   out=self.flat[index, :, :area].reshape(planes, *self.sizes))

    def offset(self, tap: Sequence[int]) -> tuple[int, int]:
        """(component, flat offset) of tap m: d·m = s·q + r per axis."""
        parts = [divmod(d * m, s) for m, s, d in zip(tap, self.stride, self.dilation)]
        component = np.ravel_multi_index([r for _, r in parts], self.stride)
        return int(component), sum(q * p for (q, _), p in zip(parts, self.pitches))

    def taps(self, planes: slice) -> list[np.ndarray]:
        """x_pad[plane, s·i + d·m] for every output i on the pitch grid, (planes, length),
        for each tap m of the kernel in row-major order."""
        return [self.flat[component, planes, start:start + self.length]
                for component, start in self.tap_offsets]

    def crop(self, wide: np.ndarray) -> np.ndarray:
        """(..., length) on the pitch grid -> (..., *out_size), a view."""
        shaped = wide.reshape(*wide.shape[:-1], self.out_size[0], *self.sizes[1:])
        return shaped[(Ellipsis, *(slice(0, o) for o in self.out_size[1:]))]


def _plane_blocks(planes: slice, plane_bytes: int) -> list[slice]:
    """``planes`` in blocks of at most BLOCK_BYTES (one plane at least)."""
    step = max(1, BLOCK_BYTES // max(1, plane_bytes))
    return [slice(start, min(start + step, planes.stop))
            for start in range(planes.start, planes.stop, step)]


def _planes(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``out`` as an array of ``shape`` (a view) where it is C-contiguous, else a new one."""
    if out is not None and out.flags.c_contiguous:
        return out.reshape(shape)
    return np.empty(shape, dtype=dtype)


def _result(planes: np.ndarray, out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """The result of ``shape`` computed into ``planes``, in ``out`` if one was given."""
    if out is None:
        return planes.reshape(shape)
    if not np.may_share_memory(planes, out):  # planes is new, not a view of out
        np.copyto(out, planes.reshape(shape))
    return out


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int, out: np.ndarray | None = None
              ) -> np.ndarray:
    """y[b, c M + j, i] = Σ_m w[c M + j, 0, m] x_pad[b, c, s·i + d·m], into ``out`` if given."""
    batch, channels = x.shape[:2]
    kernel_size = w.shape[2:]
    phases = Phases(np.ascontiguousarray(x), pads, stride, kernel_size, dilation)
    multiplier = w.shape[0] // channels
    # the kernel of each plane (b, c): (N·C, M, prod(k)), channel c's repeated per sample
    weights = np.broadcast_to(w.reshape(1, channels, multiplier, -1),
                              (batch, channels, multiplier, math.prod(kernel_size)))
    weights = weights.reshape(batch * channels, multiplier, -1)
    y = _planes(out, (batch * channels, multiplier, *phases.out_size), x.dtype)

    def part(planes: slice) -> None:
        blocks = _plane_blocks(planes, multiplier * phases.length * x.dtype.itemsize)
        size = blocks[0].stop - blocks[0].start
        block = workspace.scratch("block", (size, multiplier, phases.length), x.dtype)
        term = workspace.scratch("term", block.shape, x.dtype)
        for rows in blocks:
            count = rows.stop - rows.start
            for index, values in enumerate(phases.taps(rows)):
                np.multiply(values[:, None], weights[rows, :, index:index + 1],
                            out=term[:count] if index else block[:count])
                if index:
                    block[:count] += term[:count]
            np.copyto(y[rows], phases.crop(block[:count]))

    threads.run(part, batch * channels, y.size)
    return _result(y, out, (batch, channels * multiplier, *phases.out_size))


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         out: np.ndarray | None = None) -> np.ndarray:
    """Aᵀ g: z_pad[b, c, s·i + d·m] += Σ_j w[c M + j, 0, m] g[b, c M + j, i], cropped (into
    ``out`` if given).

    With d·m = s·q + r, tap m adds into component r of z_pad shifted by q:
    Z_r[j] += w[m] g[j - q], a gather from g laid out on the pitch of the components (with
    a zero margin for the shifts), so each tap is again one contiguous multiply-add.
    """
    kernel_size, out_size = w.shape[2:], g.shape[2:]
    batch, channels, planes = g.shape[0], groups, g.shape[0] * groups
    multiplier = w.shape[0] // channels
    padded = [n + lo + hi for n, (lo, hi) in zip(input_size, pads)]
    sizes = [ceil_div(n, s) for n, s in zip(padded, stride)]
    pitches = [math.prod(sizes[a + 1:]) for a in range(len(sizes))]
    area = math.prod(sizes)
    taps = [[divmod(d * m, s) for m, s, d in zip(tap, stride, dilation)]
            for tap in np.ndindex(*kernel_size)]
    shifts = [sum(q * p for (q, _), p in zip(parts, pitches)) for parts in taps]
    components = [int(np.ravel_multi_index([r for _, r in parts], stride)) for parts in taps]
    margin = max(shifts)
    # g on the pitch grid after the margin, zero elsewhere: (N·C, M, margin + area)
    spread = workspace.scratch("spread", (planes, multiplier, margin + area), g.dtype)
    spread.fill(0)
    grid = spread[:, :, margin:].reshape(planes, multiplier, *sizes)
    threads.copy(np.ascontiguousarray(g).reshape(planes, multiplier, *out_size),
                 out=grid[(Ellipsis, *(slice(0, o) for o in out_size))])
    weights = np.broadcast_to(w.reshape(1, channels, multiplier, -1),
                              (batch, channels, multiplier, len(taps)))
    weights = weights.reshape(planes, multiplier, -1)
    parts = workspace.scratch("parts", (math.prod(stride), planes, area), g.dtype)
    parts.fill(0)

    def part(rows: slice) -> None:
        blocks = _plane_blocks(rows, area * multiplier * g.dtype.itemsize)
        term = workspace.scratch("term", (blocks[0].stop - blocks[0].start, multiplier, area),
                                 g.dtype)
        for block in blocks:
            count = block.stop - block.start
            for index, (shift, component) in enumerate(zip(shifts, components)):
                values = spread[block, :, margin - shift:margin - shift + area]
                np.multiply(values, weights[block, :, index:index + 1], out=term[:count])
                parts[component, block] += term[:count].sum(axis=1) if multiplier > 1 \
                    else term[:count, 0]

    threads.run(part, planes, parts.size)
    # z_pad[s·j + r] = Z_r[j]: interleave the components, then keep [lo, lo + n)
    dims = len(sizes)
    shaped = parts.reshape(*stride, planes, *sizes)
    order = (dims, *(v for a in range(dims) for v in (dims + 1 + a, a)))
    z_pad = shaped.transpose(order).reshape(planes, *(s * n for s, n in zip(stride, sizes)))
    crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(input_size, pads))
    z = _planes(out, (planes, *input_size), g.dtype)
    threads.copy(z_pad[(slice(None), *crop)], out=z)
    return _result(z, out, (batch, channels, *input_size))


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int,
                          kernel_size: Sequence[int]) -> np.ndarray:
    """dw[c M + j, 0, m] = Σ_b Σ_i g[b, c M + j, i] x_pad[b, c, s·i + d·m]."""
    batch, channels = x.shape[:2]
    out_size = g.shape[2:]
    phases = Phases(np.ascontiguousarray(x), pads, stride, kernel_size, dilation)
    multiplier = g.shape[1] // channels
    # g on the pitch grid, zero past the output: (N·C, M, length)
    wide = workspace.scratch("wide", (batch * channels, multiplier, phases.length), g.dtype)
    wide.fill(0)
    threads.copy(np.ascontiguousarray(g).reshape(batch * channels, multiplier, *out_size),
                 out=phases.crop(wide))
    # per plane and tap, one dot product over the pitch grid; the planes go in cache-sized
    # blocks so that g and the taps are read from memory once
    dots = np.empty((batch * channels, multiplier, math.prod(kernel_size)), dtype=x.dtype)

    def part(rows: slice) -> None:
        for planes in _plane_blocks(rows, wide[0].nbytes):
            for count, values in enumerate(phases.taps(planes)):
                dots[planes, :, count] = np.einsum("pjl,pl->pj", wide[planes], values)

    threads.run(part, batch * channels, wide.size)
    dw = dots.reshape(batch, channels * multiplier, -1).sum(axis=0)
    return dw.reshape(g.shape[1], 1, *kernel_size)
