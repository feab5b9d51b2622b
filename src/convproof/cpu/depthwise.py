"""Depthwise correlation on NumPy (groups = C_in, one input channel per group), tap by tap.

With M = C_out / C_in output channels per input channel and w[c M + j, 0, m] the kernel,

    forward        y[b, c M + j, i] = Σ_m w[c M + j, 0, m] x_pad[b, c, s·i + d·m]
    input grad     z_pad[b, c, s·i + d·m] += Σ_j w[c M + j, 0, m] g[b, c M + j, i]
    weight grad    dw[c M + j, 0, m] = Σ_b Σ_i g[b, c M + j, i] x_pad[b, c, s·i + d·m]

Every channel has its own kernel, so there is no GEMM to make: each formula is a loop over
the prod(k) taps whose body is one vectorized multiply-add.  To make that body one long
contiguous run per channel, x_pad is split into its polyphase components (the
stride-subsampling identity: s·i + d·m = s·(i + q) + r with d·m = s·q + r), each flattened
row-major with the pitch P of its rows, and the N sample planes of a channel are laid one
after another in a single row (:class:`Grid`): tap m then reads component r at the flat
offset Σ_a q_a P_a, the same for every output of every sample.  The outputs are computed on
that grid too (the few rows and columns of each plane past the output size are computed and
dropped).  The channels go over the threads, and in blocks that stay in a core's cache from
the copy in to the copy out, so x and y cross the memory bus once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from ..spec import Pads, ceil_div, padded_size
from . import threads, workspace
from .unfold import polyphase, window_count

BLOCK_BYTES = 2**20
"""Bytes of output (on the grid) per block of channels, one channel at least: the block's
input, output and product then stay in the 2 MiB L2 of a core here."""


def applies(in_channels: int, groups: int) -> bool:
    """One input channel per group."""
    return groups == in_channels


def _window(planes: np.ndarray, offsets: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """planes[..., J + offsets] for J < ``shape`` (the trailing axes), a view."""
    return planes[(Ellipsis, *(slice(j, j + n) for j, n in zip(offsets, shape)))]


class Grid:
    """One channel's x_pad as rows: component r (of the polyphase components that some tap
    reads, at most prod(k) of the s1 s2 ... there are) holds x_pad[b, s·J + r] at
    b·prod(S) + Σ_a J_a P_a, for J < S = ceil(padded / s), followed by ``tail`` zeros that the
    last outputs' taps read past the end."""

    def __init__(self, batch: int, input_size: Sequence[int], pads: Pads,
                 stride: Sequence[int], kernel: Sequence[int], dilation: Sequence[int]):
        self.batch, self.pads, self.stride = batch, pads, tuple(stride)
        padded = padded_size(input_size, pads)
        self.out_size = window_count(padded, kernel, stride, dilation)
        self.sizes = tuple(ceil_div(n, s) for n, s in zip(padded, stride))
        pitches = [math.prod(self.sizes[a + 1:]) for a in range(len(self.sizes))]
        self.row = batch * math.prod(self.sizes)
        numbered: dict[tuple[int, ...], int] = {}  # the components r some tap reads
        self.taps = []  # (number of r, flat offset Σ_a q_a P_a) of each tap: d·m = s·q + r
        for tap in np.ndindex(*kernel):
            parts = [divmod(d * m, s) for m, s, d in zip(tap, stride, dilation)]
            residue = tuple(r for _, r in parts)
            self.taps.append((numbered.setdefault(residue, len(numbered)),
                              sum(q * p for (q, _), p in zip(parts, pitches))))
        self.residues = list(numbered)
        self.tail = max(offset for _, offset in self.taps)

    def _phases(self) -> Iterator[tuple[int, tuple[slice, ...], list[int]]]:
        """(index of component r, the x positions it holds, as slices, and the J of the first
        one), for the components some tap reads: a stride beyond the input has as many
        components as the stride, and all but these hold positions no tap reads."""
        for index, phase in enumerate(self.residues):
            parts = [polyphase(r, lo, s) for r, (lo, _), s in zip(phase, self.pads, self.stride)]
            yield index, tuple(sampled for sampled, _ in parts), [first for _, first in parts]

    def planes(self, rows: np.ndarray) -> np.ndarray:
        """(..., row) -> (..., N, *S), a view."""
        return rows.reshape(*rows.shape[:-1], self.batch, *self.sizes)

    def split(self, x: np.ndarray) -> np.ndarray:
        """x (N, k, *input_size) -> its channels as rows, (components, k, row + tail)."""
        rows = workspace.scratch("components", (len(self.residues), x.shape[1],
                                                self.row + self.tail), x.dtype)
        rows.fill(0)  # one sweep in cache beats zeroing the borders slab by slab
        by_channel = x.swapaxes(0, 1)
        for index, sampled, offsets in self._phases():
            source = by_channel[(Ellipsis, *sampled)]
            target = self.planes(rows[index, :, :self.row])
            np.copyto(_window(target, offsets, source.shape[2:]), source)
        return rows

    def merge(self, components: np.ndarray, out: np.ndarray) -> None:
        """The inverse of split: out (N, k, *input_size) = x from (components, k, row), zero
        in the components that no tap reads."""
        if len(self.residues) < math.prod(self.stride):
            out.fill(0)
        by_channel = out.swapaxes(0, 1)
        for index, sampled, offsets in self._phases():
            target = by_channel[(Ellipsis, *sampled)]
            found = self.planes(components[index])
            np.copyto(target, _window(found, offsets, target.shape[2:]))

    def spread(self, g: np.ndarray, margin: int) -> np.ndarray:
        """g (N, k, M, *o) on the grid after ``margin`` zeros: (k, M, margin + row), zero past
        o (the output size, or less where a transposed conv's output_padding adds rows that
        no window reaches)."""
        count, multiplier = g.shape[1:3]
        rows = workspace.scratch("spread", (count, multiplier, margin + self.row), g.dtype)
        rows.fill(0)
        target = self.planes(rows[:, :, margin:])
        np.copyto(_window(target, [0] * len(self.sizes), g.shape[3:]), np.moveaxis(g, 0, 2))
        return rows

    def crop(self, rows: np.ndarray) -> np.ndarray:
        """(k, M, row) on the grid -> (N, k, M, *out_size), a view."""
        cropped = self.planes(rows)[(Ellipsis, *(slice(0, o) for o in self.out_size))]
        return np.moveaxis(cropped, 2, 0)


def _by_channel(a: np.ndarray, channels: int) -> np.ndarray:
    """(N, C·M, ...) -> (N, C, M, ...), a view (splitting an axis never copies)."""
    return a.reshape(a.shape[0], channels, a.shape[1] // channels, *a.shape[2:])


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
              dilation: Sequence[int], groups: int, out: np.ndarray | None = None
              ) -> np.ndarray:
    """y[b, c M + j, i] = Σ_m w[c M + j, 0, m] x_pad[b, c, s·i + d·m], into ``out`` if given."""
    batch, channels = x.shape[:2]
    grid = Grid(batch, x.shape[2:], pads, stride, w.shape[2:], dilation)
    multiplier = w.shape[0] // channels
    weights = w.reshape(channels, multiplier, -1)
    y = out if out is not None else np.empty((batch, w.shape[0], *grid.out_size), x.dtype)
    outputs = _by_channel(y, channels)

    def one_block(block: slice) -> None:
        count = block.stop - block.start
        rows = grid.split(x[:, block])
        total = workspace.scratch("total", (count, multiplier, grid.row), x.dtype)
        term = workspace.scratch("term", total.shape, x.dtype)
        for index, (component, offset) in enumerate(grid.taps):
            values = rows[component, :, None, offset:offset + grid.row]
            np.multiply(values, weights[block, :, index, None], out=term if index else total)
            if index:
                total += term
        np.copyto(outputs[:, block], grid.crop(total))

    threads.blocks(one_block, channels, multiplier * grid.row * x.dtype.itemsize, BLOCK_BYTES,
                   y.size)
    return y


def correlate_input_grad(g: np.ndarray, w: np.ndarray, stride: Sequence[int], pads: Pads,
                         dilation: Sequence[int], groups: int, input_size: Sequence[int],
                         out: np.ndarray | None = None) -> np.ndarray:
    """Aᵀ g: z_pad[b, c, s·i + d·m] += Σ_j w[c M + j, 0, m] g[b, c M + j, i], cropped (into
    ``out`` if given).

    With d·m = s·q + r, tap m adds into component r of z_pad shifted by q:
    Z_r[J] += w[m] g[J - q], a gather from g laid out on the grid (after a zero margin for
    the shifts; the grid's zeros past the output size catch the other planes' rows), so each
    tap is again one contiguous multiply-add.
    """
    batch, channels = g.shape[0], groups
    multiplier = w.shape[0] // channels
    grid = Grid(batch, input_size, pads, stride, w.shape[2:], dilation)
    weights = w.reshape(channels, multiplier, -1)
    grads = _by_channel(g, channels)
    z = out if out is not None else np.empty((batch, channels, *input_size), g.dtype)

    def one_block(block: slice) -> None:
        count = block.stop - block.start
        spread = grid.spread(grads[:, block], grid.tail)
        sums = workspace.scratch("sums", (len(grid.residues), count, grid.row), g.dtype)
        term = workspace.scratch("term", (count, multiplier, grid.row), g.dtype)
        written = set()
        for index, (component, offset) in enumerate(grid.taps):
            start = grid.tail - offset
            np.multiply(spread[:, :, start:start + grid.row], weights[block, :, index, None],
                        out=term)
            added = term.sum(axis=1) if multiplier > 1 else term[:, 0]
            if component in written:
                sums[component] += added
            else:
                np.copyto(sums[component], added)
                written.add(component)
        grid.merge(sums, z[:, block])

    threads.blocks(one_block, channels, multiplier * grid.row * g.dtype.itemsize, BLOCK_BYTES,
                   z.size)
    return z


def correlate_weight_grad(x: np.ndarray, g: np.ndarray, stride: Sequence[int], pads: Pads,
                          dilation: Sequence[int], groups: int,
                          kernel_size: Sequence[int]) -> np.ndarray:
    """dw[c M + j, 0, m] = Σ_b Σ_i g[b, c M + j, i] x_pad[b, c, s·i + d·m]: per channel and
    tap one BLAS dot product over the grid (g is zero past the output size there)."""
    batch, channels = x.shape[:2]
    multiplier = g.shape[1] // channels
    grid = Grid(batch, x.shape[2:], pads, stride, kernel_size, dilation)
    grads = _by_channel(g, channels)
    dw = np.empty((channels, multiplier, len(grid.taps)), dtype=x.dtype)

    def one_block(block: slice) -> None:
        rows = grid.split(x[:, block])
        spread = grid.spread(grads[:, block], 0)
        for index, (component, offset) in enumerate(grid.taps):
            values = rows[component, :, offset:offset + grid.row, None]
            np.matmul(spread, values, out=dw[block, :, index:index + 1])

    with threads.SERIAL_BLAS:  # each dot on its thread: the same sums however it is cut
        threads.blocks(one_block, channels, multiplier * grid.row * x.dtype.itemsize,
                       BLOCK_BYTES, x.size)
    return dw.reshape(g.shape[1], 1, *kernel_size)
