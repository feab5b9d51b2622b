"""The backend functions of :mod:`convproof.functional`, run by the generated kernels on a device.

A device runs kernels: :class:`convproof.gpu.module.CupyDevice` on a GPU (CuPy arrays) or
:class:`convproof.gpu.emulate.Emulator` on the CPU (NumPy arrays, the same kernel sources).
It provides ``xp`` (its array module), ``empty(shape, dtype)`` and ``run(launch)``.  The
:class:`Backend` of a device has the functions and signatures of :mod:`convproof.cpu` (A: the
zero-padded correlation) plus the general operations they are made of, which also take a
padding mode, a bias and an activation:

    conv(x, w, geometry, bias, activation, flip)           act(bias + corr_M(x)) (or conv_M)
    conv_data_grad(g, w, geometry, size, ...)              P_M^T A^T g, the transposed conv
                                                           (zeros: a correlation per phase;
                                                           few inputs: W^T g, then col2im)
    conv_weight_grad(x, g, geometry, tensor_cores)         dL/dw through P_M (a split GEMM)
    pad(x, pads, mode), pad_adjoint(g, pads, mode, size)

Stride-1 3x3 correlations of wide groups run all three passes as Winograd F(4x4, 3x3)
(:mod:`convproof.codegen.winograd`) around the same GEMMs.  Output sizes come from
:class:`~convproof.spec.ConvSpec` and :class:`~convproof.spec.PoolSpec`.  Kernels are built
once per backend and static parameters, and run in their 32-bit variant where every array of
the launch allows it (:meth:`Backend.indexed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ..adjoint import PhaseCorrelation, phase_correlations, swap_and_flip
from ..arrays import FLOAT_DTYPES, largest_magnitude
from ..codegen import kernels as K
from ..codegen import winograd as W
from ..spec import ConvSpec, Pads, PoolSpec, ceil_div, padded_size
from ..symbolic.winograd import keeps_finite
from . import launch as L

Array = Any


class Device(Protocol):
    xp: Any

    def empty(self, shape: Sequence[int], dtype: Any) -> Array: ...

    def run(self, launch: L.Launch) -> None: ...


def _output_size(geometry: K.ConvGeometry, size: Sequence[int]) -> tuple[int, ...]:
    """o = floor((n + p_lo + p_hi - d(k - 1) - 1)/s) + 1 per axis, from ConvSpec."""
    spec = ConvSpec(geometry.groups, geometry.groups, geometry.kernel_size, geometry.stride,
                    geometry.pads, geometry.dilation, geometry.groups)
    return tuple(int(o) for o in spec.output_size(tuple(size)))


def _check_operands(geometry: K.ConvGeometry, *, x: Array | None = None, w: Array | None = None,
                    g: Array | None = None, size: Sequence[int] | None = None,
                    bias: Array | None = None) -> None:
    """The operands of one conv agree with its geometry and with each other: x (N, C_in, *n)
    (or its spatial ``size``, C_in from w), w (C_out, C_in/G, *k), g (N, C_out, *o) with o the
    output size on n, a bias of one value per channel of the output (of C_in, where ``size``
    stands for the transposed conv's); otherwise a kernel would compute another conv, or read
    past an array.  As a transposed conv's output padding allows (less than max(s, d), as in
    PyTorch), n may exceed the smallest size whose output is o: o may fall short of the output
    size on n by up to (max(s, d) - 1) // s."""
    dims, groups = geometry.dims, geometry.groups
    for name, a in (("x", x), ("w", w), ("g", g), ("bias", bias)):
        rank = 1 if name == "bias" else dims + 2
        if a is not None and getattr(a, "ndim", None) != rank:
            raise ValueError(f"{name} of shape {getattr(a, 'shape', type(a).__name__)} is not "
                             f"a {rank}-D array, as the {dims}-D geometry's {name} is")
    if size is not None and len(size) != dims:
        raise ValueError(f"size {tuple(size)} has {len(size)} axes for a {dims}-D geometry")
    x_shape = x.shape if x is not None else (g.shape[0], w.shape[1] * groups, *size)
    c_in = x_shape[1]
    c_out = w.shape[0] if w is not None else g.shape[1]
    if w is not None and tuple(w.shape[2:]) != geometry.kernel_size:
        raise ValueError(f"w of shape {w.shape} does not hold kernels of the geometry's size "
                         f"{geometry.kernel_size}")
    if c_in % groups or c_out % groups or (w is not None and w.shape[1] != c_in // groups):
        raise ValueError(f"{c_in} input channels and {c_out} outputs in {groups} groups do not "
                         f"fit{'' if w is None else f' w of shape {w.shape}'}")
    expected = (x_shape[0], c_out, *_output_size(geometry, x_shape[2:]))
    slack = [(max(s, d) - 1) // s for s, d in zip(geometry.stride, geometry.dilation)]
    if g is not None and (tuple(g.shape[:2]) != expected[:2] or not all(
            o - extra <= given <= o for given, o, extra in zip(g.shape[2:], expected[2:], slack))):
        raise ValueError(f"g of shape {g.shape} is not the shape {expected} of the conv's "
                         f"output on inputs of shape {tuple(x_shape)}"
                         + (f" (less at most {tuple(slack)})" if any(slack) else ""))
    channels = c_in if size is not None else c_out
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f"bias of shape {bias.shape} is not ({channels},)")

DIRECT = 4
"""Groups with at most this many input and output channels (depthwise: one of each) run the
forward as the direct kernel, one thread per output with its C_in/G x taps products in
registers, where a GEMM tile would mostly multiply zeros."""

WIDE = 16
"""A group at least this wide (output channels; for the weight gradient also the columns
C_in/G x taps) fills at least a quarter of a 64-wide tile: its weight gradient runs as the
GEMM and, where allowed, its GEMMs on tensor cores.  Narrower groups (depthwise) keep the
shared tiles of their class (:data:`~convproof.codegen.kernels.TILES`) and one block per
(filter, channel) pair for their weight gradient, which waste no products."""


COLUMN_BYTES = 256 * 2**20
"""The most bytes of columns W^T g that the input gradient by columns holds at once
(:meth:`Backend._data_grad_by_columns` cuts the batch into blocks of samples)."""

WINOGRAD_TILE = 4
"""The output tile m of the Winograd F(m x m, 3 x 3) that stride-1 3x3 correlations of wide
groups take (:meth:`Backend._winograd`): 36 products per 16 outputs instead of 144, at the
points of the CPU path (its float32 error measured in benchmarks/NOTES.md)."""
WINOGRAD_POINTS = (WINOGRAD_TILE + W.KERNEL - 1) ** 2
"""The n² = (m + r - 1)² positions of a transformed tile: 36 for F(4x4, 3x3)."""
KERNEL_TAPS = W.KERNEL ** 2
"""The taps of the 3x3 kernel that Winograd takes."""


def _by_columns(w: Array, groups: int) -> bool:
    """The input gradient goes by the columns W^T g (:meth:`Backend._data_grad_by_columns`)
    where a group has fewer than :data:`WIDE` input channels but at least as many outputs."""
    return w.shape[1] < WIDE <= w.shape[0] // groups


def _with_bias(inputs: list[Array], bias: Array | None) -> list[Array]:
    """The input arrays of a launch, followed by the bias where there is one (the kernels with
    a bias take it after their inputs)."""
    return inputs + ([bias] if bias is not None else [])


class Backend:
    """convproof.cpu's functions (same names and signatures) on the kernels of ``device``."""

    FLOAT_DTYPES = FLOAT_DTYPES

    def __init__(self, device: Device) -> None:
        self.device = device
        self.xp = device.xp
        self.tensor_cores: str | None = None
        """The precision ("tf32", "bf16", "fp16") in which the float32 correlations and their
        gradients run on tensor cores where they are GEMMs of wide groups (:data:`WIDE`);
        None: float32 (see :func:`convproof.gpu.allow_tf32`)."""
        self.winograd = True
        """Whether stride-1 3x3 correlations of wide groups in float32 or float64 run as
        Winograd F(4x4, 3x3) (:meth:`_winograd`); False: always the implicit GEMM."""
        self.index32 = True
        """Whether launches whose arrays allow it run the kernels' 32-bit variants
        (:meth:`indexed`); False: always 64-bit (the GPU benchmark times both)."""
        self._kernels: dict[tuple, K.Kernel] = {}

    def kernel(self, builder: Callable[..., K.Kernel], *args: Any, **options: Any) -> K.Kernel:
        """builder(*args, **options), built once per backend."""
        key = (builder.__name__, args, tuple(sorted(options.items())))
        if key not in self._kernels:
            self._kernels[key] = builder(*args, **options)
        return self._kernels[key]

    def indexed(self, kernel: K.Kernel, *entries: int) -> K.Kernel:
        """``kernel``, or its 32-bit variant (:func:`~convproof.codegen.skeleton.narrow_indices`)
        where every array it touches, of ``entries`` entries each, and any other bound on its
        integers the caller passes among them (the geometry's ``extent``, which bounds the
        positions its padding, stride and dilation form), is at most INDEX32_ELEMENTS (and
        :attr:`index32` allows it)."""
        if not self.index32 or max(entries) > K.INDEX32_ELEMENTS:
            return kernel
        return self.kernel(K.narrow_indices, kernel)

    def _contiguous(self, *arrays: Array) -> list[Array]:
        return [None if a is None else self.xp.ascontiguousarray(a) for a in arrays]

    # -- convolution ----------------------------------------------------------------------------
    def conv(self, x: Array, w: Array, geometry: K.ConvGeometry, bias: Array | None = None,
             activation: str = "identity", flip: bool = False, tensor_cores: str | None = None
             ) -> Array:
        """y = act(bias + corr_M(x, w)), or the true convolution with ``flip``: the implicit
        GEMM, on tensor cores in the precision ``tensor_cores`` names (float32 arrays only);
        where the tiles alone leave the GPU idle, its sum over C_in/G x taps split
        (:func:`~.launch.splits_for`) and the runs added in order with the epilogue.  Groups
        of at most :data:`DIRECT` input and output channels (depthwise) take the direct
        kernel instead, one thread per output; stride-1 3x3 correlations of wide groups run by
        Winograd where :meth:`_takes_winograd` allows (:meth:`_winograd`)."""
        _check_operands(geometry, x=x, w=w, bias=bias)
        x, w, bias = self._contiguous(x, w, bias)
        batch, c_in, *size = x.shape
        c_out, groups = w.shape[0], geometry.groups
        out = _output_size(geometry, size)
        y = self.device.empty((batch, c_out, *out), x.dtype)
        if y.size == 0:  # no samples: nothing to launch
            return y
        if self._takes_winograd(geometry, c_in, c_out, out, "correlate", dict(x=x, w=w),
                                c_in // groups, flip or tensor_cores):
            return self._winograd(x, w, geometry, y, bias, activation)
        arrays = _with_bias([x, w], bias)
        sizes = [batch, c_in, c_out, *size, *out]
        if not tensor_cores and max(c_in, c_out) // groups <= DIRECT:
            kernel = self.kernel(K.conv_forward_direct, geometry, bias=bias is not None,
                                 activation=activation, flip=flip)
            kernel = self.indexed(kernel, x.size, w.size, y.size, geometry.extent(size))
            self.device.run(L.elementwise(kernel, y.size, [*arrays, y, *sizes]))
            return y
        kernel = self.kernel(K.conv_forward, geometry, c_out // groups,
                             bias=bias is not None, activation=activation, flip=flip,
                             tensor_cores=tensor_cores)
        rows = batch * math.prod(out)
        splits = L.splits_for(L.tiles(kernel, rows, c_out // groups, groups),
                              c_in // groups * geometry.taps)
        sums = y if splits == 1 else self.device.empty((splits, *y.shape), x.dtype)
        kernel = self.indexed(kernel, x.size, w.size, sums.size, geometry.extent(size))
        self.device.run(L.gemm(kernel, rows, c_out // groups, groups * splits,
                               [*arrays, sums, *sizes, splits]))
        if splits > 1:
            self._sum_splits(sums, y, bias, activation)
        return y

    def _takes_winograd(self, geometry: K.ConvGeometry, c_in: int, c_out: int,
                        out: Sequence[int], operation: str, operands: dict[str, Array],
                        terms: int, excluded: Any) -> bool:
        """Whether ``operation`` ("correlate" or "correlate_weight_grad") of a 2-D stride-1
        3x3 correlation (any dilation) runs by Winograd: zero padding, groups of at least
        :data:`WIDE` input and output channels, at most MAX_GRID[2] / WINOGRAD_POINTS of them
        (the products' GEMM runs a group per point and group along z), tiles that overhang
        the ``out`` outputs along each axis by at most the output or at most m (:meth:`_tiles`:
        a block of d tiles spans m d outputs, mostly overhang where a dilated output is
        shorter), nothing ``excluded``
        (a flip, tensor cores), :attr:`winograd` on, and ``operands`` (x, w, g by name) whose
        transforms stay finite with ``terms`` terms a sum
        (:func:`~convproof.symbolic.winograd.keeps_finite`): no nan or inf, which the
        transforms would spread over a tile, and no magnitude that they would grow past the
        float type's range where the definition stays inside it."""
        g = geometry
        if not self.winograd or excluded or (g.kernel_size, g.stride, g.mode) != (
                (3, 3), (1, 1), "zeros"):
            return False
        if min(c_in, c_out) // g.groups < WIDE or WINOGRAD_POINTS * g.groups > L.MAX_GRID[2]:
            return False
        m = WINOGRAD_TILE
        if any(ceil_div(o, m * d) * m * d > max(2 * o, o + m) for o, d in zip(out, g.dilation)):
            return False
        largest = {name: largest_magnitude(array) for name, array in operands.items()}
        return keeps_finite(WINOGRAD_TILE, W.KERNEL, operation, largest, terms,
                            float(np.finfo(g.dtype).max))

    @staticmethod
    def _tiles(out: Sequence[int], dilation: Sequence[int]) -> int:
        """The tiles of m x m outputs of :mod:`convproof.codegen.winograd`: per axis, d of
        them (one per residue mod d) in each block of m d outputs."""
        m = WINOGRAD_TILE
        return math.prod(ceil_div(o, m * d) * d for o, d in zip(out, dilation))

    @staticmethod
    def _tile_extent(geometry: K.ConvGeometry, size: Sequence[int]) -> int:
        """A bound on every position the Winograd transforms form, for :meth:`indexed`: a
        tile's first output is below max(2 o, o + m) (:meth:`_takes_winograd`), its last
        input 5 d further; twice the geometry's extent (which is at least o + 4 d + 1)."""
        return 2 * geometry.extent(size)

    def _winograd_input(self, x: Array, geometry: K.ConvGeometry, out: Sequence[int]) -> Array:
        """V = Bᵀ d B of every tile of x: (N, n² C, tiles)."""
        m, dtype = WINOGRAD_TILE, np.dtype(x.dtype)
        batch, c_in, *size = x.shape
        tiles = self._tiles(out, geometry.dilation)
        v = self.device.empty((batch, WINOGRAD_POINTS * c_in, tiles), dtype)
        kernel = self.indexed(self.kernel(W.winograd_input, m, geometry.pads, geometry.dilation,
                                          dtype), x.size, v.size,
                              self._tile_extent(geometry, size))
        self.device.run(L.elementwise(kernel, batch * c_in * tiles,
                                      [x, v, batch, c_in, *size, *out]))
        return v

    @staticmethod
    def _products_geometry(geometry: K.ConvGeometry) -> K.ConvGeometry:
        """The 1x1 correlation of the transformed tiles: one group per position and group."""
        return K.ConvGeometry((1,), (1,), ((0, 0),), (1,), WINOGRAD_POINTS
                              * geometry.groups, dtype=geometry.dtype)

    def _winograd(self, x: Array, w: Array, geometry: K.ConvGeometry, y: Array,
                  bias: Array | None, activation: str) -> Array:
        """y = act(bias + corr(x, w)) by F(m x m, 3 x 3) (:mod:`convproof.codegen.winograd`):
        U = G w Gᵀ and V = Bᵀ d B transformed by kernels, their products M = U V as the
        implicit GEMM of a 1x1 correlation in n² G groups, y = Aᵀ M A with the epilogue."""
        m, dtype = WINOGRAD_TILE, np.dtype(x.dtype)
        batch, c_out, *out = y.shape
        tiles = self._tiles(out, geometry.dilation)
        u = self.device.empty((WINOGRAD_POINTS * c_out, w.shape[1], 1), dtype)
        kernel = self.indexed(self.kernel(W.winograd_weights, m, dtype), w.size, u.size)
        pairs = w.size // KERNEL_TAPS
        self.device.run(L.elementwise(kernel, pairs, [w, u, pairs]))
        v = self._winograd_input(x, geometry, out)
        products = self.conv(v, u, self._products_geometry(geometry))
        kernel = self.indexed(self.kernel(W.winograd_output, m, geometry.dilation, dtype,
                                          bias=bias is not None, activation=activation),
                              products.size, y.size, self._tile_extent(geometry, x.shape[2:]))
        arrays = _with_bias([products], bias) + [y]
        self.device.run(L.elementwise(kernel, batch * c_out * tiles,
                                      [*arrays, batch, c_out, *out]))
        return y

    def _sum_splits(self, parts: Array, out: Array, bias: Array | None = None,
                    activation: str = "identity") -> None:
        """out = act(bias + sum of the ``parts`` along their first axis, in order)."""
        kernel = self.indexed(self.kernel(K.sum_splits, np.dtype(out.dtype),
                                          bias=bias is not None, activation=activation),
                              parts.size)
        channels = [out.shape[1], math.prod(out.shape[2:])] if bias is not None else []
        arrays = _with_bias([parts], bias) + [out]
        self.device.run(L.elementwise(kernel, out.size,
                                      [*arrays, out.size, parts.shape[0], *channels]))

    def conv_data_grad(self, g: Array, w: Array, geometry: K.ConvGeometry, size: Sequence[int],
                       bias: Array | None = None, activation: str = "identity",
                       transposed: bool = False, tensor_cores: str | None = None) -> Array:
        """dx = act(bias + P_M^T A^T g) on the spatial ``size``.  With zero padding, each
        phase of the stride (:func:`~convproof.adjoint.phase_correlations`: the positions of
        one residue mod s) is a stride-1 correlation of g with the phase's taps, swapped and
        flipped (grad-input-flip), run by the implicit GEMM of :meth:`conv` (on tensor cores
        in the precision ``tensor_cores`` allows) and copied into place; with stride 1 there
        is one phase and no copy.  Other padding modes, and an epilogue where no tap reaches
        some phase, take the gather (no atomics, no tensor cores).  Groups with fewer than
        :data:`WIDE` input channels but at least as many output channels go by the columns
        W^T g (:meth:`_data_grad_by_columns`), in every padding mode."""
        _check_operands(geometry, w=w, g=g, size=size, bias=bias)
        c_in = w.shape[1] * geometry.groups
        g, w, bias = self._contiguous(g, w, bias)
        batch, c_out, *out = g.shape
        if _by_columns(w, geometry.groups):
            return self._data_grad_by_columns(g, w, geometry, size, bias, activation,
                                              transposed, tensor_cores)
        if geometry.mode == "zeros":
            phases = phase_correlations(geometry.kernel_size, geometry.stride,
                                        geometry.dilation, geometry.pads, size, out)
            plain = bias is None and activation == "identity"
            if plain or all(phase.reached for phase in phases):
                return self._data_grad_by_phases(g, w, geometry, size, phases, bias,
                                                  activation, tensor_cores)
        kernel = self.kernel(K.conv_backward_data, geometry, transposed=transposed,
                             bias=bias is not None, activation=activation)
        dx = self.device.empty((batch, c_in, *size), g.dtype)
        kernel = self.indexed(kernel, g.size, w.size, dx.size, geometry.extent(size))
        arrays = _with_bias([g, w], bias) + [dx]
        self.device.run(L.elementwise(kernel, dx.size,
                                      [*arrays, batch, c_in, c_out, *size, *out]))
        return dx

    def _data_grad_by_columns(self, g: Array, w: Array, geometry: K.ConvGeometry,
                              size: Sequence[int], bias: Array | None, activation: str,
                              transposed: bool, tensor_cores: str | None) -> Array:
        """dx = act(bias + P_M^T A^T g) for groups with few input but many output channels
        (the 7x7 stem: 3 and 64), where each phase's GEMM would fill a few columns of its
        tiles: the columns cols[b, (c, m), i] = Σ_o w[o, c, m] g[b, o, i] as the implicit GEMM
        of a 1x1 correlation (every tile full), then the gather of :func:`~.kernels.col2im`;
        in blocks of samples whose columns take at most :data:`COLUMN_BYTES`."""
        batch, c_out, *out = g.shape
        groups, ci, taps = geometry.groups, w.shape[1], geometry.taps
        co = c_out // groups
        # w1[(group, c, m), o, 0] = w[group co + o, c, m]: the 1x1 weight of the columns
        w1 = self.xp.ascontiguousarray(
            w.reshape(groups, co, ci * taps).transpose(0, 2, 1).reshape(groups * ci * taps, co, 1))
        products = K.ConvGeometry((1,), (1,), ((0, 0),), (1,), groups, dtype=geometry.dtype)
        positions = math.prod(out)
        per_sample = ci * groups * taps * positions * np.dtype(g.dtype).itemsize
        step = max(1, COLUMN_BYTES // max(1, per_sample))
        kernel = self.kernel(K.col2im, geometry, transposed=transposed, bias=bias is not None,
                             activation=activation)
        dx = self.device.empty((batch, ci * groups, *size), g.dtype)
        for start in range(0, batch, step):
            part = g[start:start + step]
            count = part.shape[0]
            cols = self.conv(part.reshape(count, c_out, positions), w1, products,
                             tensor_cores=tensor_cores)
            block = dx if count == batch else self.device.empty((count, *dx.shape[1:]), g.dtype)
            arrays = _with_bias([cols], bias) + [block]
            self.device.run(L.elementwise(self.indexed(kernel, cols.size, block.size,
                                                       geometry.extent(size)),
                                          block.size, [*arrays, count, ci * groups, c_out,
                                                       *size, *out]))
            if block is not dx:
                dx[start:start + count] = block
        return dx

    def _data_grad_by_phases(self, g: Array, w: Array, geometry: K.ConvGeometry,
                             size: Sequence[int], phases: list[PhaseCorrelation],
                             bias: Array | None, activation: str, tensor_cores: str | None
                             ) -> Array:
        """dx[targets] = act(bias + corr(g[crops] padded, swap_and_flip(w[taps]))) per phase
        (:class:`~convproof.adjoint.PhaseCorrelation`; zero where nothing reaches it)."""
        batch, c_in = g.shape[0], w.shape[1] * geometry.groups
        dx = None if len(phases) == 1 else self.device.empty((batch, c_in, *size), g.dtype)
        for phase in phases:
            if not phase.reached:
                part = self.xp.zeros((batch, c_in, *phase.counts), g.dtype)
            else:
                taps = w[(Ellipsis, *phase.taps)]
                correlation = K.ConvGeometry(taps.shape[2:], (1,) * len(size), phase.pads,
                                             phase.dilation, geometry.groups,
                                             dtype=geometry.dtype)
                part = self.conv(g[(Ellipsis, *phase.crops)],
                                 swap_and_flip(taps, geometry.groups), correlation, bias,
                                 activation, tensor_cores=tensor_cores)
            if dx is None:
                return part
            dx[(Ellipsis, *phase.targets)] = part
        return dx

    def conv_weight_grad(self, x: Array, g: Array, geometry: K.ConvGeometry,
                         tensor_cores: str | None = None) -> Array:
        """dw[o, c, m] = sum_b sum_i g[b, o, i] x_pad[b, g Ci + c, s i + d m - p]: the implicit
        GEMM, its sum over batch x pixels split (:func:`~.launch.splits_for`) and the parts
        added in order, on tensor cores in the precision ``tensor_cores`` allows; where a
        group has fewer than :data:`WIDE` filters or columns (C_in/G x taps), one block per
        (filter, channel) pair for all its taps (no tensor cores), split the same way; by
        Winograd (:meth:`_winograd_weight_grad`) where the
        forward would take it."""
        _check_operands(geometry, x=x, g=g)
        x, g = self._contiguous(x, g)
        batch, c_in, *size = x.shape
        c_out, out = g.shape[1], g.shape[2:]
        groups = geometry.groups
        filters, columns = c_out // groups, c_in // groups * geometry.taps
        if batch * math.prod(out) == 0 or c_out * c_in == 0:  # no terms, or no entries
            return self.xp.zeros((c_out, c_in // groups, *geometry.kernel_size), x.dtype)
        terms = batch * self._tiles(out, geometry.dilation)
        if self._takes_winograd(geometry, c_in, c_out, out, "correlate_weight_grad",
                                dict(x=x, g=g), terms, tensor_cores):
            return self._winograd_weight_grad(x, g, geometry)
        dw = self.device.empty((c_out, c_in // groups, *geometry.kernel_size), x.dtype)
        narrow = min(filters, columns) < WIDE
        if narrow:
            kernel = self.kernel(K.conv_backward_weight, geometry)
            pairs, chunks = c_out * (c_in // groups), K.tap_chunks(geometry.taps)[0]
            blocks = pairs * chunks
        else:
            kernel = self.kernel(K.conv_backward_weight_gemm, geometry,
                                 tensor_cores=tensor_cores)
            blocks = L.tiles(kernel, filters, columns, groups)
        splits = L.splits_for(blocks, batch * math.prod(out))
        partial = dw if splits == 1 else self.device.empty((splits, *dw.shape), x.dtype)
        kernel = self.indexed(kernel, x.size, g.size, partial.size, geometry.extent(size))
        args = [x, g, partial, batch, c_in, c_out, *size, *out, splits]
        self.device.run(L.per_pair(kernel, pairs, chunks, splits, args) if narrow
                        else L.gemm(kernel, filters, columns, groups * splits, args))
        if splits > 1:
            self._sum_splits(partial, dw)
        return dw

    def _winograd_weight_grad(self, x: Array, g: Array, geometry: K.ConvGeometry) -> Array:
        """dw by F(m x m, 3 x 3), the adjoint of :meth:`_winograd` in U: V = Bᵀ d B and
        Γ = A g Aᵀ transformed by kernels, dU[ξ, o, c] = Σ_{b,t} Γ[b, ξ, o, t] V[b, ξ, c, t] as
        the split weight-gradient GEMM of the 1x1 correlation (the same bits on every run),
        then dw = Gᵀ dU G."""
        m, dtype = WINOGRAD_TILE, np.dtype(x.dtype)
        batch, c_out, *out = g.shape
        tiles = self._tiles(out, geometry.dilation)
        v = self._winograd_input(x, geometry, out)
        gt = self.device.empty((batch, WINOGRAD_POINTS * c_out, tiles), dtype)
        kernel = self.indexed(self.kernel(W.winograd_gradient, m, geometry.dilation, dtype),
                              g.size, gt.size, self._tile_extent(geometry, x.shape[2:]))
        self.device.run(L.elementwise(kernel, batch * c_out * tiles,
                                      [g, gt, batch, c_out, *out]))
        du = self.conv_weight_grad(v, gt, self._products_geometry(geometry))
        dw = self.device.empty((c_out, x.shape[1] // geometry.groups, *geometry.kernel_size),
                                dtype)
        kernel = self.indexed(self.kernel(W.winograd_weights_adjoint, m, dtype),
                              du.size, dw.size)
        pairs = dw.size // KERNEL_TAPS
        self.device.run(L.elementwise(kernel, pairs, [du, dw, pairs]))
        return dw

    def _allowed(self, dtype: Any, channels: int) -> str | None:
        """The tensor-core precision :attr:`tensor_cores` allows for a GEMM on arrays of
        ``dtype`` whose groups have ``channels`` output channels (float32, :data:`WIDE`)."""
        wide = np.dtype(dtype) == np.float32 and channels >= WIDE
        return self.tensor_cores if wide else None

    def correlate(self, x: Array, w: Array, stride: Sequence[int], pads: Pads,
                  dilation: Sequence[int], groups: int) -> Array:
        """y[b, o, i] = sum_{c', m} w[o, c', m] x_pad[b, g*Ci + c', s*i + d*m] (x zero-padded);
        float32 on tensor cores when :attr:`tensor_cores` allows it and the groups are wide."""
        geometry = K.ConvGeometry(w.shape[2:], stride, pads, dilation, groups, dtype=x.dtype)
        return self.conv(x, w, geometry,
                         tensor_cores=self._allowed(x.dtype, w.shape[0] // groups))

    def correlate_input_grad(self, g: Array, w: Array, stride: Sequence[int], pads: Pads,
                             dilation: Sequence[int], groups: int,
                             input_size: Sequence[int]) -> Array:
        """A^T g: z_pad[b, g*Ci + c', s*i + d*m] += w[o, c', m] g[b, o, i], cropped; float32
        on tensor cores when :attr:`tensor_cores` allows it and the groups are wide."""
        geometry = K.ConvGeometry(w.shape[2:], stride, pads, dilation, groups, dtype=g.dtype)
        # the GEMM's filters a group: C_in/G by phases, C_in/G x taps by columns
        filters = w.shape[1] * (geometry.taps if _by_columns(w, groups) else 1)
        return self.conv_data_grad(g, w, geometry, input_size,
                                   tensor_cores=self._allowed(g.dtype, filters))

    def correlate_weight_grad(self, x: Array, g: Array, stride: Sequence[int], pads: Pads,
                              dilation: Sequence[int], groups: int,
                              kernel_size: Sequence[int]) -> Array:
        """dw[o, c', m] = sum_b sum_i g[b, o, i] x_pad[b, g*Ci + c', s*i + d*m]; as a GEMM,
        float32 on tensor cores when :attr:`tensor_cores` allows it."""
        geometry = K.ConvGeometry(kernel_size, stride, pads, dilation, groups, dtype=x.dtype)
        return self.conv_weight_grad(x, g, geometry,
                                     tensor_cores=self._allowed(x.dtype, g.shape[1] // groups))

    # -- padding ----------------------------------------------------------------------------------
    def pad(self, x: Array, pads: Pads, mode: str) -> Array:
        """P x on the trailing ``len(pads)`` axes; ``x`` itself when every pad is zero."""
        if all(lo == 0 and hi == 0 for lo, hi in pads):
            return x
        (x,) = self._contiguous(x)
        dims = len(pads)
        size = x.shape[x.ndim - dims:]
        kernel = self.kernel(K.pad_forward, tuple(map(tuple, pads)), mode, x.dtype)
        padded = padded_size(size, pads)
        y = self.device.empty((*x.shape[:x.ndim - dims], *padded), x.dtype)
        planes = math.prod(x.shape[:x.ndim - dims])
        self.device.run(L.elementwise(kernel, y.size, [x, y, planes, *size]))
        return y

    def pad_adjoint(self, g: Array, pads: Pads, mode: str, size: Sequence[int]) -> Array:
        """P^T g: the gradient of the padded array brought back onto the ``size`` unpadded one."""
        (g,) = self._contiguous(g)
        dims = len(pads)
        kernel = self.kernel(K.pad_adjoint, tuple(map(tuple, pads)), mode, g.dtype)
        dx = self.device.empty((*g.shape[:g.ndim - dims], *size), g.dtype)
        planes = math.prod(g.shape[:g.ndim - dims])
        self.device.run(L.elementwise(kernel, dx.size, [g, dx, planes, *size]))
        return dx

    # -- pooling ----------------------------------------------------------------------------------
    def _pool(self, builder: Callable[..., K.Kernel], spec: PoolSpec, x: Array,
              extra: tuple = ()) -> tuple[Array, K.Kernel, tuple[int, ...], int]:
        """x contiguous, the kernel ``builder`` makes of its geometry, the output size, and
        the geometry's extent on x (:meth:`indexed`)."""
        (x,) = self._contiguous(x)
        geometry = K.PoolGeometry.of(spec, x.dtype)
        return (x, self.kernel(builder, geometry, *extra),
                tuple(int(o) for o in spec.output_size(x.shape[2:])),
                geometry.extent(x.shape[2:]))

    def max_pool(self, x: Array, spec: PoolSpec) -> tuple[Array, Array]:
        """y[b, c, i] = max_{t: 0 <= s*i - p + d*t < n} x[b, c, s*i - p + d*t], flat indices."""
        x, kernel, out, extent = self._pool(K.max_pool_forward, spec, x)
        y = self.device.empty((*x.shape[:2], *out), x.dtype)
        index = self.device.empty(y.shape, np.int64)
        planes = x.shape[0] * x.shape[1]
        kernel = self.indexed(kernel, x.size, y.size, extent)
        self.device.run(L.elementwise(kernel, y.size, [x, y, index, planes, *x.shape[2:], *out]))
        return y, index

    def max_pool_backward(self, g: Array, indices: Array, input_size: Sequence[int],
                          spec: PoolSpec | None = None, returned: bool = False) -> Array:
        """grad_x[b, c, j] = sum of g[b, c, i] over the outputs i whose max sits at j.

        With the pooling ``spec`` each input pixel gathers over the windows that hold it, where
        every index lies inside its output's window: ``returned`` by :meth:`max_pool` with
        that spec, or found so by one pass over them; otherwise the indices are routed
        (:meth:`_route`).  Both are deterministic."""
        g, indices = self._contiguous(g, indices)
        planes, out = g.shape[0] * g.shape[1], g.shape[2:]
        dx = self.device.empty((*g.shape[:2], *input_size), g.dtype)
        if spec is None:
            return self._route(g, indices, dx)
        geometry = K.PoolGeometry.of(spec, g.dtype)
        sizes, extent = [planes, *input_size, *out], geometry.extent(input_size)
        if not returned and not self._inside_windows(
                self.kernel(K.max_pool_indices_inside, geometry), indices, sizes, dx.size,
                extent):
            return self._route(g, indices, dx)
        kernel = self.indexed(self.kernel(K.max_pool_backward, geometry), g.size, dx.size,
                              extent)
        self.device.run(L.elementwise(kernel, dx.size, [g, indices, dx, *sizes]))
        return dx

    def _inside_windows(self, kernel: K.Kernel, indices: Array, sizes: list[int],
                        *bounds: int) -> bool:
        """Whether every index is -1 or a position of its output's window: ``kernel`` marks,
        one thread per output, those that are not, and the host waits for their maximum."""
        if indices.size == 0:
            return True
        outside = self.device.empty(indices.shape, np.int64)
        kernel = self.indexed(kernel, indices.size, *bounds)
        self.device.run(L.elementwise(kernel, indices.size, [indices, outside, *sizes]))
        return not int(outside.max())

    def _route(self, g: Array, indices: Array, dx: Array) -> Array:
        """dx[b, c, idx[b, c, i]] += g[b, c, i]: indices of any origin, one thread per plane
        visiting its outputs in order (few threads, each a long loop)."""
        planes = g.shape[0] * g.shape[1]
        kernel = self.indexed(self.kernel(K.route_by_index, g.dtype), g.size, dx.size)
        self.device.run(L.elementwise(kernel, planes, [
            g, indices, dx, planes, math.prod(g.shape[2:]), math.prod(dx.shape[2:])]))
        return dx

    def avg_pool(self, x: Array, spec: PoolSpec, count_include_pad: bool) -> Array:
        """y[b, c, i] = (1 / D_i) sum_{t < k} x_0[b, c, s*i - p + t]."""
        x, kernel, out, extent = self._pool(K.avg_pool_forward, spec, x, (count_include_pad,))
        y = self.device.empty((*x.shape[:2], *out), x.dtype)
        planes = x.shape[0] * x.shape[1]
        kernel = self.indexed(kernel, x.size, y.size, extent)
        self.device.run(L.elementwise(kernel, y.size, [x, y, planes, *x.shape[2:], *out]))
        return y

    def avg_pool_backward(self, g: Array, spec: PoolSpec, count_include_pad: bool,
                          input_size: Sequence[int]) -> Array:
        """grad[b, c, s*i - p + t] += g[b, c, i] / D_i (inside the input)."""
        (g,) = self._contiguous(g)
        geometry = K.PoolGeometry.of(spec, g.dtype)
        kernel = self.kernel(K.avg_pool_backward, geometry, count_include_pad)
        dx = self.device.empty((*g.shape[:2], *input_size), g.dtype)
        planes = g.shape[0] * g.shape[1]
        kernel = self.indexed(kernel, g.size, dx.size, geometry.extent(input_size))
        self.device.run(L.elementwise(kernel, dx.size,
                                      [g, dx, planes, *input_size, *g.shape[2:]]))
        return dx

    @staticmethod
    def _window_products(size: Sequence[int], out: Sequence[int]) -> list[int]:
        """(o + 1)(n + 1) per axis: a bound on the products o·t and n·(i + 1) that adaptive
        windows compute, which a 32-bit variant must hold too (:meth:`indexed`)."""
        return [(o + 1) * (n + 1) for n, o in zip(size, out)]

    def adaptive_avg_pool(self, x: Array, output_size: Sequence[int]) -> Array:
        """y[b, c, i] = mean of x[b, c, j] over the window of i."""
        (x,) = self._contiguous(x)
        dims = x.ndim - 2
        kernel = self.kernel(K.adaptive_avg_pool_forward, dims, x.dtype)
        y = self.device.empty((*x.shape[:2], *output_size), x.dtype)
        planes = x.shape[0] * x.shape[1]
        kernel = self.indexed(kernel, x.size, y.size,
                              *self._window_products(x.shape[2:], output_size))
        self.device.run(L.elementwise(kernel, y.size,
                                      [x, y, planes, *x.shape[2:], *output_size]))
        return y

    def adaptive_avg_pool_backward(self, g: Array, input_size: Sequence[int]) -> Array:
        """grad[b, c, j] = sum over the windows i holding j of g[b, c, i] / |window i|."""
        (g,) = self._contiguous(g)
        kernel = self.kernel(K.adaptive_avg_pool_backward, g.ndim - 2, g.dtype)
        dx = self.device.empty((*g.shape[:2], *input_size), g.dtype)
        planes = g.shape[0] * g.shape[1]
        kernel = self.indexed(kernel, g.size, dx.size,
                              *self._window_products(input_size, g.shape[2:]))
        self.device.run(L.elementwise(kernel, dx.size,
                                      [g, dx, planes, *input_size, *g.shape[2:]]))
        return dx

    def adaptive_max_pool(self, x: Array, output_size: Sequence[int]) -> tuple[Array, Array]:
        """y[b, c, i] = max of x[b, c, j] over the window of i, with its flat index."""
        (x,) = self._contiguous(x)
        kernel = self.kernel(K.adaptive_max_pool_forward, x.ndim - 2, x.dtype)
        y = self.device.empty((*x.shape[:2], *output_size), x.dtype)
        index = self.device.empty(y.shape, np.int64)
        planes = x.shape[0] * x.shape[1]
        kernel = self.indexed(kernel, x.size, y.size,
                              *self._window_products(x.shape[2:], output_size))
        self.device.run(L.elementwise(kernel, y.size,
                                      [x, y, index, planes, *x.shape[2:], *output_size]))
        return y, index

    def adaptive_max_pool_backward(self, g: Array, indices: Array,
                                   input_size: Sequence[int], returned: bool = False) -> Array:
        """grad_x[b, c, j] = sum of g[b, c, i] over the windows i whose max sits at j: each
        pixel gathers over the windows that hold it where every index lies inside its window
        (``returned`` by :meth:`adaptive_max_pool`, or found so by one pass over them), else
        the indices are routed (:meth:`_route`)."""
        g, indices = self._contiguous(g, indices)
        dims = g.ndim - 2
        dx = self.device.empty((*g.shape[:2], *input_size), g.dtype)
        sizes = [g.shape[0] * g.shape[1], *input_size, *g.shape[2:]]
        bounds = self._window_products(input_size, g.shape[2:])
        if not returned and not self._inside_windows(
                self.kernel(K.adaptive_max_pool_indices_inside, dims, g.dtype), indices, sizes,
                dx.size, *bounds):
            return self._route(g, indices, dx)
        kernel = self.indexed(self.kernel(K.adaptive_max_pool_backward, dims, g.dtype), g.size,
                              dx.size, *bounds)
        self.device.run(L.elementwise(kernel, dx.size, [g, indices, dx, *sizes]))
        return dx


__all__ = ["Backend", "Device"]
