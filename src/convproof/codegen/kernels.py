"""The convolution kernels and the padding kernels, printed from the theorems' expressions.

    conv forward           implicit GEMM (im2col-factorization): rows = batch x output pixels,
                           columns = output channels of a group, reduction = C_in/G x taps;
                           shared-memory tiles of the im2col matrix (never materialized: each
                           entry is x_pad[b, g Ci + c, s·i + d·m - p], banded-matrix) and of
                           the weight; the tile from a table per shape class (:data:`TILES`)
                           or, in TF32, bfloat16 or float16, tensor-core products
                           (:data:`PRECISIONS`)
    conv backward data     one thread per input pixel gathers the taps that reach it
                           (grad-input-flip), and the border positions that P^T folds onto
                           it; the transposed conv is the same kernel with an epilogue;
                           col2im gathers the columns W^T g that a GEMM made instead
    conv backward weight   implicit GEMM dw = G^T im2col(x_pad) (grad-weight): rows = output
                           channels of a group, columns = C_in/G x taps, reduction = batch x
                           output pixels cut into equal splits, each written apart and added
                           in order (:func:`sum_splits`); where a group has too few filters
                           or columns for a tile, one block per (filter, channel) pair that
                           reads g once for all its taps, split the same way, each tap's
                           sums a tree in shared memory.  No atomics: bitwise equal on reruns
    padding P and P^T      x[pi(j - p_lo)] of the mode, and the gather of every padded
                           position onto the pixel it copies

The pooling kernels live in :mod:`.pooling` and are re-exported here, with the kernel record
and the static parameters of :mod:`.skeleton`.  Both GEMMs also come with tensor cores
(``tensor_cores="tf32"``, ``"bf16"`` or ``"fp16"``): the same loads into a 64 x 64 tile,
the products as mma.sync (the one warp-level operation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from string import Template
from typing import Any

import numpy as np
from numpy.typing import DTypeLike
from sympy import Expr

from ..spec import ceil_div
from . import derivations as dv
from .names import c_type, dtype_tag, join, padding_tag
from .pooling import (adaptive_avg_pool_backward, adaptive_avg_pool_forward,
                      adaptive_max_pool_backward, adaptive_max_pool_forward,
                      adaptive_max_pool_indices_inside, avg_pool_backward, avg_pool_forward,
                      max_pool_backward, max_pool_forward, max_pool_indices_inside,
                      route_by_index)
from .skeleton import (ACTIVATIONS, INDEX32_ELEMENTS, THREADS, TILES, ConvGeometry, Kernel, Param,
                       PoolGeometry, Slots, Tile, axes_of, decode, elementwise, epilogue,
                       epilogue_tag, float_params, header, horner, indent, narrow_indices,
                       nest, pad_pairs, product, signature, sizes, slots_for, static_decode,
                       tap_loop, tile_for, var)

# --------------------------------------------------------------------------------------------
# The implicit GEMM: C = A B with A, B in shared-memory tiles, per stage of the reduction
# --------------------------------------------------------------------------------------------

GEMM = Template("""\
extern "C" __global__ void __launch_bounds__($threads) $name(
    $signature)
{
    // setup: $computes
    const int tid = threadIdx.x;
    const long long ci = c_in / $groups, co = c_out / $groups;
    const long long positions = $positions;
    const long long pixels = $pixels;
    const long long reduction = ci * $taps;
    const long long row0 = (long long)blockIdx.x * $bm;
    const long long col0 = (long long)blockIdx.y * $bn;
    const long long group = blockIdx.z / splits, split = blockIdx.z % splits;
$setup
    // this block's run of the sum: [k_begin, k_end), splits runs of whole stages
    const long long chunk = (terms + splits * $bk - 1) / (splits * $bk) * $bk;
    const long long k_begin = split * chunk;
    const long long k_end = k_begin + chunk < terms ? k_begin + chunk : terms;
$declarations
    // fetch(k0): this thread's entries of the stage at k0, from global memory into registers
    $T a_next[$a_loads], b_next[$b_loads];
    const auto fetch = [&](long long k0) {
$fetch
    };
    fetch(k_begin);
    for (long long k0 = k_begin; k0 < k_end; k0 += $bk) {
$stash
        __syncthreads();
        if (k0 + $bk < k_end) fetch(k0 + $bk);  // in flight while this stage is multiplied
$products
        __syncthreads();
    }
    // epilogue: C[row, col], row0 <= row < row0 + $bm, col0 <= col < col0 + $bn
$store
}
""")
"""The skeleton of both GEMMs: tiles tile_a[BK][BM] of A and tile_b[BK][BN] of B, the
block's tile at (row0, col0), reduction = C_in/G x taps, the sum over ``terms`` cut into
``splits`` runs of whole stages (blockIdx.z = group x splits + split).  The operation fills
``setup`` (its sizes and the length ``terms`` of its sum), ``fetch`` (one stage's entries
from global memory into registers: the next stage's loads are in flight while a stage is
multiplied), ``stash`` (the registers into the tiles) and ``write`` (what becomes of
C[row, col] = sum) of :data:`FORWARD` or :data:`WEIGHT_GRADIENT`;
the variant fills ``declarations``, ``products`` and ``store`` (each thread's outputs) of
:data:`SIMT`, or of :data:`TENSOR_CORES` with the products of a precision
(:data:`PRECISIONS`)."""

FORWARD = {
    "computes": "y = im2col(x_pad) W: rows (b, i), columns o, reduction (c, m)",
    "setup": """\
    const long long rows = batch * positions;
    const long long terms = reduction;
    const int a_row = tid % $bm;
    const long long row = row0 + a_row;
    const bool row_ok = row < rows;
$row_decode
    const $T* x_rows = x + (b * c_in + group * ci) * pixels;""",
    "fetch": """\
        // im2col tile: A[(b, i), (c, m)] = x_pad[b, group * ci + c, s*i + d*m - p]
        #pragma unroll
        for (int l = 0; l < $a_loads; ++l) {
            const long long q = k0 + tid / $bm + l * $a_step;
$im2col_entry
            a_next[l] = value;
        }
        // weight tile: B[(c, m), o] = w[group * co + o, c, m]
        #pragma unroll
        for (int l = 0; l < $b_loads; ++l) {
            const int f = tid + l * $threads;
            const long long q = k0 + $b_k, col = col0 + $b_col;
            b_next[l] = (f < $bk * $bn && q < reduction && col < co)
                ? w[(group * co + col) * reduction + q] : ($T)0;
        }""",
    "stash": """\
        #pragma unroll
        for (int l = 0; l < $a_loads; ++l) tile_a[tid / $bm + l * $a_step][a_row] = a_next[l];
        #pragma unroll
        for (int l = 0; l < $b_loads; ++l) {
            const int f = tid + l * $threads;
            if (f < $bk * $bn) tile_b[$b_k][$b_col] = b_next[l];
        }""",
    "write": """\
if (row >= rows || col >= co) continue;
const long long ob = row / positions, pos = row - ob * positions;
const long long oc = group * co + col;
const long long at = (ob * c_out + oc) * positions + pos;
if (splits > 1) {  // a run's raw sum; sum_splits adds the runs and applies the epilogue
    y[split * batch * c_out * positions + at] = sum;
    continue;
}
const $T v = $value;
y[at] = $activation;""",
}
"""y[b, group Co + o, i] = act(bias + sum_{c, m} x_pad[b, group Ci + c, s i + d m - p]
w[group Co + o, c, m]); each thread loads the im2col entries of one row (its tap positions
printed from the derivations).  With splits > 1, y holds the splits' raw sums one after
another, for :func:`sum_splits` to add."""

WEIGHT_GRADIENT = {
    "computes": "dw = G^T im2col(x_pad): rows o, columns (c, m), reduction (b, i) in splits",
    "setup": """\
    const long long terms = batch * positions;
    const int k_lane = tid % $bk, col_lane = tid / $bk;""",
    "fetch": """\
        // this thread's term of the sum, r = (b, i)
        const long long term = k0 + k_lane;
        const bool term_ok = term < k_end;
$row_decode
        // gradient tile: A[r, o] = g[b, group * co + o, i]
        #pragma unroll
        for (int l = 0; l < $a_loads; ++l) {
            const long long o = row0 + col_lane + l * $a_step;
            a_next[l] = (term_ok && o < co) ? g[$g_offset] : ($T)0;
        }
        // im2col tile: B[r, (c, m)] = x_pad[b, group * ci + c, s*i + d*m - p]
        const $T* x_rows = x + (b * c_in + group * ci) * pixels;
        #pragma unroll
        for (int l = 0; l < $b_loads; ++l) {
            const long long q = col0 + col_lane + l * $a_step;
$im2col_entry
            b_next[l] = value;
        }""",
    "stash": """\
        #pragma unroll
        for (int l = 0; l < $a_loads; ++l) tile_a[k_lane][col_lane + l * $a_step] = a_next[l];
        #pragma unroll
        for (int l = 0; l < $b_loads; ++l) tile_b[k_lane][col_lane + l * $a_step] = b_next[l];""",
    "write": """\
if (row >= co || col >= reduction) continue;
partial[(split * c_out + group * co + row) * reduction + col] = sum;""",
}
"""partial[split, group Co + o, (c, m)] = sum over the split's run of terms r = (b, i) of
g[b, group Co + o, i] x_pad[b, group Ci + c, s i + d m - p] (grad-weight); :func:`sum_splits`
adds the runs in order.  Each thread loads the entries of one term r, so neighbouring threads
read neighbouring pixels of g and x."""

WAVEFRONT_BYTES = 128
"""Bytes that shared memory serves a warp per cycle: 32 banks of 4 bytes.  A warp's access
takes as many cycles (wavefronts) as the most distinct words that it asks of one bank."""


def stash_pad(bk: int, width: int, dtype: Any) -> int:
    """Entries added to a shared row of ``width`` that a warp fills reduction index first
    (entry f of a stage at [f % BK][f / BK]: the weight tile of the forward, both tiles of
    the weight gradient), so that every wavefront of those stores falls into distinct banks.

    A wavefront carries P = WAVEFRONT_BYTES / itemsize entries (32 floats, 16 doubles), and
    with rows s = width + pad entries apart, entry (k, c) lies at k s + c.  For BK < P one
    wavefront holds k < BK of P/BK neighbouring columns c, for BK >= P k < P of one column:
    both are distinct modulo P exactly when s = max(1, P/BK) (mod P).  So 64-wide float32
    rows of 16 reduction indices get s = 66; unpadded (s = 64) every one of the 16 indices
    of a column hits the same bank, 16 wavefronts a store instead of 1.
    """
    per_wavefront = WAVEFRONT_BYTES // np.dtype(dtype).itemsize
    return (max(1, per_wavefront // bk) - width) % per_wavefront


def weight_entry(bk: int, indices: int, threads: int) -> tuple[str, str]:
    """C expressions (k, column) of the forward's weight-tile entry that thread ``tid``
    stores in its step ``l``, when each warp stores ``indices`` = R reduction indices of 32/R
    neighbouring columns, reduction index first.  With f = tid + l threads the entry's
    number and D = 32 BK/R the entries of a band of 32/R columns,

        k   = f mod R + R (floor(f/32) mod BK/R)          = tid mod R + R (floor(tid/32) mod BK/R)
        col = floor((f mod 32)/R) + (32/R) floor(f/D)     (floor(f/D) = floor(tid/D) + l threads/D)

    written in tid and l (threads a multiple of D, and threads/32 of BK/R), so that the
    compiler hoists all but l.  Neighbouring lanes read neighbouring weights of one filter."""
    band = 32 * bk // indices
    if threads % band or (threads // 32) % (bk // indices):
        raise ValueError(f"{threads} threads do not cut a {bk}-deep tile into warps of "
                         f"{indices} reduction indices")
    step = 32 // indices * threads // band
    if indices == bk:
        return f"tid % {bk}", f"tid / {bk} + l * {step}"
    return (f"tid % {indices} + {indices} * (tid / 32 % {bk // indices})",
            f"tid % 32 / {indices} + {32 // indices} * (tid / {band}) + l * {step}")


def fragment_pad(precision: str) -> int:
    """Floats added to each shared row of the tensor-core tiles (64 wide) for ``precision``.

    A fragment load reads 4 rows k/8 apart (lane l mod 4) at 8 neighbouring columns (lane
    floor(l/4)) for the mma m16n8k: with rows s floats apart, (k/8) s = 8 (mod 32) puts its 32
    lanes into 32 banks: s = 72 for TF32 (k = 8), 68 for bfloat16 and float16 (k = 16).  The
    forward's weight tile is then stored by warps of 32/pad reduction indices of pad columns
    (:func:`weight_entry`), which those rows also spread over 32 banks."""
    return 64 // PRECISIONS[precision].k


def _pitch(width: int, bk: int, dtype: Any, tensor_cores: str | None) -> int:
    """Entries from one shared row to the next of a tile ``width`` wide: padded for the
    tensor cores' fragment loads (:func:`fragment_pad`), or for the SIMT stores that warps
    fill reduction index first (:func:`stash_pad`)."""
    return width + (fragment_pad(tensor_cores) if tensor_cores else stash_pad(bk, width, dtype))


VECTOR_INDICES = 4
"""Reduction indices a warp stores into the float32 SIMT forward's weight tile (of 8
neighbouring columns each) where a thread reads whole 16-byte vectors of it (TN a multiple
of 4 floats); its rows are then :func:`vector_pad` apart."""


def vector_pad(width: int) -> int:
    """Floats added to each row of the float32 SIMT forward's weight tile: rows s = width +
    pad apart with s = 8 (mod 32), so that warps storing 4 reduction indices of 8 neighbouring
    columns (:func:`weight_entry`) fill 32 banks, and s a multiple of 4, so that every row
    starts on 16 bytes and a thread's TN neighbouring weights are whole 16-byte loads."""
    return (8 - width) % 32


SIMT = {
    "declarations": """\
    __shared__ __align__(16) $T tile_a[$bk][$a_pitch];
    __shared__ __align__(16) $T tile_b[$bk][$b_pitch];
    $T acc[$tm][$tn];
    for (int r = 0; r < $tm; ++r)
        for (int u = 0; u < $tn; ++u)
            acc[r][u] = 0;
    const int ty = tid % $row_threads, tx = tid / $row_threads;""",
    "products": """\
        #pragma unroll
        for (int kk = 0; kk < $bk; ++kk) {
            $T a[$tm], v[$tn];
            for (int r = 0; r < $tm; ++r) a[r] = tile_a[kk][ty * $tm + r];
            for (int u = 0; u < $tn; ++u) v[u] = tile_b[kk][tx * $tn + u];
            for (int r = 0; r < $tm; ++r)
                for (int u = 0; u < $tn; ++u)
                    acc[r][u] += a[r] * v[u];
        }""",
    "store": """\
    #pragma unroll
    for (int f = 0; f < $tm * $tn; ++f) {
        const int r = f / $tn, u = f % $tn;
        const long long row = row0 + ty * $tm + r;
        const long long col = col0 + tx * $tn + u;
        const $T sum = acc[r][u];
$write
    }""",
}
"""Each thread multiplies a TM x TN micro-tile of neighbouring rows and columns, read from
shared memory as whole vectors (16-byte loads where the rows start on 16 bytes: the im2col
tile's, and the float32 weight tile's at :func:`vector_pad`): TM floats take TM/4 loads."""

TENSOR_CORES = {
    "declarations": """\
    __shared__ float tile_a[$bk][$a_pitch];  // padded: fragment loads and stores in 32 banks
    __shared__ float tile_b[$bk][$b_pitch];
    float acc[2][4][4];
    for (int mi = 0; mi < 2; ++mi)
        for (int ni = 0; ni < 4; ++ni)
            for (int e = 0; e < 4; ++e)
                acc[mi][ni][e] = 0;
    const int warp = tid / 32, lane_id = tid % 32;
    const int lane_row = lane_id / 4, lane_k = lane_id % 4;
    const int warp_row = (warp % $row_warps) * 32, warp_col = (warp / $row_warps) * 32;""",
    "store": """\
    #pragma unroll
    for (int f = 0; f < 32; ++f) {
        const int mi = f / 16, ni = f / 4 % 4, e = f % 4;
        const long long row = row0 + warp_row + mi * 16 + lane_row + (e / 2) * 8;
        const long long col = col0 + warp_col + ni * 8 + lane_k * 2 + e % 2;
        const float sum = acc[mi][ni][e];
$write
    }""",
}
"""Each warp multiplies a 32 x 32 part of the tile as 2 x 4 tensor-core products m16n8k
(float sums), its inputs rounded as they leave shared memory.  Lane l = 4 r + k holds (the PTX
fragment layout) D rows r, r + 8 at columns 2k, 2k + 1; its A and B parts depend on the
precision (:data:`PRECISIONS`)."""

TF32_PRODUCTS = """\
        // m16n8k8: A rows r, r + 8 at columns k, k + 4; B rows k, k + 4 at column r
        #pragma unroll
        for (int ks = 0; ks < $bk; ks += 8) {
            unsigned a[2][4], v[4][2];
            for (int mi = 0; mi < 2; ++mi) {
                const int r = warp_row + mi * 16 + lane_row;
                a[mi][0] = cp_tf32(tile_a[ks + lane_k][r]);
                a[mi][1] = cp_tf32(tile_a[ks + lane_k][r + 8]);
                a[mi][2] = cp_tf32(tile_a[ks + lane_k + 4][r]);
                a[mi][3] = cp_tf32(tile_a[ks + lane_k + 4][r + 8]);
            }
            for (int ni = 0; ni < 4; ++ni) {
                const int c = warp_col + ni * 8 + lane_row;
                v[ni][0] = cp_tf32(tile_b[ks + lane_k][c]);
                v[ni][1] = cp_tf32(tile_b[ks + lane_k + 4][c]);
            }
            for (int mi = 0; mi < 2; ++mi)
                for (int ni = 0; ni < 4; ++ni)
                    cp_mma_tf32(acc[mi][ni], a[mi], v[ni]);
        }"""
"""One stage's products in TF32 (m16n8k8)."""

PAIR_PRODUCTS = """\
        // m16n8k16, two values a register (the lower k in the low half): A rows r, r + 8 at
        // columns 2k, 2k + 1 and 2k + 8, 2k + 9; B rows 2k, 2k + 1 and 2k + 8, 2k + 9 at column r
        #pragma unroll
        for (int ks = 0; ks < $bk; ks += 16) {
            const int k = ks + 2 * lane_k;
            unsigned a[2][4], v[4][2];
            for (int mi = 0; mi < 2; ++mi) {
                const int r = warp_row + mi * 16 + lane_row;
                a[mi][0] = cp_${precision}x2(tile_a[k][r], tile_a[k + 1][r]);
                a[mi][1] = cp_${precision}x2(tile_a[k][r + 8], tile_a[k + 1][r + 8]);
                a[mi][2] = cp_${precision}x2(tile_a[k + 8][r], tile_a[k + 9][r]);
                a[mi][3] = cp_${precision}x2(tile_a[k + 8][r + 8], tile_a[k + 9][r + 8]);
            }
            for (int ni = 0; ni < 4; ++ni) {
                const int c = warp_col + ni * 8 + lane_row;
                v[ni][0] = cp_${precision}x2(tile_b[k][c], tile_b[k + 1][c]);
                v[ni][1] = cp_${precision}x2(tile_b[k + 8][c], tile_b[k + 9][c]);
            }
            for (int mi = 0; mi < 2; ++mi)
                for (int ni = 0; ni < 4; ++ni)
                    cp_mma_${precision}(acc[mi][ni], a[mi], v[ni]);
        }"""
"""One stage's products in a 16-bit precision (m16n8k16): bf16 or fp16."""

MMA = Template("""\
// d (16 x 8) += a (16 x $k) b ($k x 8): one warp's tensor-core product in $what, float sums.
__device__ __forceinline__ void cp_mma_$precision(float* d, const unsigned* a, const unsigned* b) {
    asm volatile("mma.sync.aligned.m16n8k$k.row.col.f32.$ptx.$ptx.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
""")

PAIR_ROUNDING = Template("""\
// cp_${precision}x2(lo, hi): lo and hi rounded to $what ($mantissa-bit mantissa$beyond;
// nearest, ties to even), lo in the low half.
__device__ __forceinline__ unsigned cp_${precision}x2(float lo, float hi) {
    unsigned bits;
    asm("cvt.rn.${ptx}x2.f32 %0, %1, %2;" : "=r"(bits) : "f"(hi), "f"(lo));
    return bits;
}
""")

TF32_ROUNDING = """\
// cp_tf32(v): the bits of v rounded to TF32 (10-bit mantissa; nearest, ties away from zero).
__device__ __forceinline__ unsigned cp_tf32(float v) {
    unsigned bits;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(bits) : "f"(v));
    return bits;
}
"""


@dataclass(frozen=True)
class Precision:
    """A tensor-core precision: the k of its mma (m16n8k), its PTX type, its name in words,
    the device helper that rounds float32 to it and one stage's products."""

    k: int
    ptx: str
    what: str
    rounding: str
    products: str


PRECISIONS = {
    "tf32": Precision(8, "tf32", "TF32", TF32_ROUNDING, TF32_PRODUCTS),
    "bf16": Precision(16, "bf16", "bfloat16", PAIR_ROUNDING.substitute(
        precision="bf16", ptx="bf16", what="bfloat16", mantissa=7, beyond=""), PAIR_PRODUCTS),
    "fp16": Precision(16, "f16", "float16", PAIR_ROUNDING.substitute(
        precision="fp16", ptx="f16", what="float16", mantissa=10,
        beyond=", beyond 65504 infinite"), PAIR_PRODUCTS),
}
"""What ``tensor_cores=`` accepts: tf32 (10-bit mantissas), bf16 (7-bit, float32's range),
fp16 (10-bit, magnitudes up to 65504)."""


def _helpers(precision: str) -> str:
    """The rounding and the mma of ``precision``, once per translation unit, for the device
    (the CPU emulation supplies its own)."""
    facts = PRECISIONS[precision]
    guard = f"CONVPROOF_{precision.upper()}"
    mma = MMA.substitute(precision=precision, k=facts.k, ptx=facts.ptx, what=facts.what)
    return (f"#ifndef {guard}\n#define {guard}\n#ifdef __CUDA_ARCH__\n"
            f"{facts.rounding}{mma}#endif\n#endif\n")


TENSOR_CORE_PRECISIONS = tuple(PRECISIONS)

TENSOR_CORE_TILE = Tile(64, 64, 16, 4, 8)
"""The tensor-core kernels' tile: 4 warps of 32 x 32 outputs (32 a thread: TM x TN = 4 x 8).
Other tiles of such warps work where their loads divide among the threads
(:func:`tensor_core_tile`)."""


@contextmanager
def tensor_core_tile(tile: Tile) -> Iterator[None]:
    """Tensor-core kernels (forward, weight gradient) built within take ``tile`` (warps of
    32 x 32 outputs, 16 reduction indices a stage) instead of TENSOR_CORE_TILE, to time a
    candidate: a backend keeps the kernels it built, so take a fresh one within."""
    global TENSOR_CORE_TILE
    if tile.bm % 32 or tile.bn % 32 or (tile.tm, tile.tn, tile.bk) != (4, 8, 16):
        raise ValueError(f"a tensor-core tile is made of warps of 32 x 32 outputs (TM x TN = "
                         f"4 x 8) and 16 reduction indices a stage, got {tile}")
    if (tile.bn * tile.bk) % tile.threads:  # each thread of the weight gradient loads a share
        raise ValueError(f"{tile}: its {tile.bk} x {tile.bn} weight-gradient columns do not "
                         f"divide among its {tile.threads} threads (BM must divide 512)")
    for precision in PRECISIONS:  # the forward's weight tile, stored by warps (ValueError)
        weight_entry(tile.bk, 32 // fragment_pad(precision), tile.threads)
    previous, TENSOR_CORE_TILE = TENSOR_CORE_TILE, tile
    try:
        yield
    finally:
        TENSOR_CORE_TILE = previous


def _conv_params(ctype: str, inputs: Sequence[str], bias: bool, output: str, dims: int,
                 extra: Sequence[str] = ()) -> tuple[Param, ...]:
    """inputs, the bias, the output, then batch, c_in, c_out, n0.., o0.. and ``extra``."""
    pointers = [(name, False) for name in inputs] + ([("bias", False)] if bias else [])
    return float_params(ctype, pointers + [(output, True)],
                        ["batch", "c_in", "c_out", *sizes("n", dims), *sizes("o", dims), *extra])


def _check_tensor_cores(tensor_cores: str | None, dtype: np.dtype) -> None:
    if tensor_cores not in (None, *TENSOR_CORE_PRECISIONS):
        raise ValueError(f"tensor_cores must be None or one of {TENSOR_CORE_PRECISIONS}, "
                         f"got {tensor_cores!r}")
    if tensor_cores and np.dtype(dtype) != np.float32:
        raise ValueError(f"tensor_cores={tensor_cores!r} needs float32 arrays, "
                         f"got {np.dtype(dtype).name}")


def _tap_reads(slots: Slots, g: ConvGeometry, plane: str, flip: bool = False,
               read: Callable[[], dv.Derived] = dv.forward_read) -> tuple[list[str], Expr, str]:
    """Reading x_pad at j = s i + d m - p (printed from ``read``; the tap reversed with
    ``flip``) in every axis: the lines that define j and its source pixel, the bracket of the
    read (zeros) and the offset of that pixel in the channel plane ``plane`` of x."""
    reads, condition, sources = slots.padded_reads(g.mode, [
        (var("j", a), slots.forward_position(a, g.axis(a), flip, read)) for a in range(g.dims)])
    return reads, condition, horner(plane, list(zip(sources, sizes("n", g.dims))))


def _im2col_entry(slots: Slots, g: ConvGeometry, valid: str, flip: bool = False,
                  read: Callable[[], dv.Derived] = dv.forward_read) -> str:
    """value = x_pad[b, group Ci + ch, s i + d m - p] at column q = (ch, tap) of the im2col
    row (b, i) where ``valid`` holds (0 elsewhere), read from the group's channel planes
    ``x_rows`` (the positions printed from ``read``)."""
    reads, condition, offset = _tap_reads(slots, g, "ch", flip, read)
    inner = [f"const long long ch = q / {g.taps};", f"const long long tap = q - ch * {g.taps};",
             *static_decode("tap", sizes("m", g.dims), g.kernel_size), *reads,
             slots.guarded(condition, f"value = x_rows[{offset}];")]
    lines = [f"{c_type(g.dtype)} value = 0;", f"if ({valid} && q < reduction) {{",
             *indent(inner, 1).splitlines(), "}"]
    return indent(lines, 3)


def _gemm(name: str, summary: str, g: ConvGeometry, slots: Slots, params: Sequence[Param],
          tile: Tile, operation: dict[str, str], tensor_cores: str | None,
          **values: Any) -> Kernel:
    """The :data:`GEMM` skeleton with the slots of ``operation`` and of the variant."""
    variant = dict(TENSOR_CORES, products=PRECISIONS[tensor_cores].products) if tensor_cores \
        else SIMT
    values.update(
        threads=tile.threads, bm=tile.bm, bn=tile.bn, bk=tile.bk, tm=tile.tm, tn=tile.tn,
        T=c_type(g.dtype), row_threads=tile.bm // tile.tm,
        row_warps=tile.bm // 32, groups=g.groups, taps=g.taps, precision=tensor_cores,
        positions=product(sizes("o", g.dims)), pixels=product(sizes("n", g.dims)))
    values["write"] = indent(Template(operation["write"]).substitute(values).splitlines(), 2)
    slot_text = {slot: Template(text).substitute(values)
                 for slot, text in {**operation, **variant}.items() if slot != "write"}
    body = GEMM.substitute(values, **slot_text, name=name, signature=signature(params))
    kind = f"tensor cores, {tensor_cores.upper()}" if tensor_cores else "shared tiles"
    source = header(name, f"{summary} (implicit GEMM, {kind})", slots.derived,
                    f"{g.describe()}, tile {tile}", c_type(g.dtype))
    source += "\n" + (_helpers(tensor_cores) if tensor_cores else "")
    return Kernel(name, source + body, tuple(params), tile.threads, tuple(slots.derived), tile)


def conv_forward(geometry: ConvGeometry, channels_per_group: int, *, bias: bool = False,
                 activation: str = "identity", flip: bool = False,
                 tensor_cores: str | None = None) -> Kernel:
    """y[b, o, i] = act(bias[o] + sum_{c, m} w[o, c, m] x_pad[b, g Ci + c, s i + d m - p]).

    The true convolution (``flip``) reads s i + d (k - 1 - m) - p (flip-equivalence).  The
    tile comes from the shape class of ``channels_per_group`` = C_out/G; with ``tensor_cores``
    "tf32", "bf16" or "fp16" (float32 only) the products run on tensor cores, x and w rounded
    to that precision, the sums in float32.  The sum over (c, m) is cut into ``splits`` (a
    runtime argument) runs of whole stages, one per block along z; with more than one, y
    receives the runs' raw sums one after another and :func:`sum_splits` adds them and
    applies the epilogue.
    """
    g, dims = geometry, geometry.dims
    _check_tensor_cores(tensor_cores, g.dtype)
    tile = TENSOR_CORE_TILE if tensor_cores else tile_for(channels_per_group)
    ctype, slots = slots_for(g.dtype)
    name = join(f"{'convolve' if flip else 'conv'}{dims}d_fwd", g.tag(),
                epilogue_tag(bias, activation), dtype_tag(g.dtype), tensor_cores or "",
                tile.tag)
    row_decode = decode("row_ok ? row : 0", [("b", "")] + axes_of("i", "o", dims),
                        rest="row_rest")
    value, act = epilogue(slots.pr, bias, activation, "oc", "sum")
    # the im2col tile is filled a row at a time, the weight tile a few reduction indices first
    a_pitch = _pitch(tile.bm, tile.bk, g.dtype, tensor_cores) if tensor_cores else tile.bm
    b_pitch = _pitch(tile.bn, tile.bk, g.dtype, tensor_cores)
    if tensor_cores:
        indices = 32 // fragment_pad(tensor_cores)
    elif g.dtype == np.float32 and tile.tn % VECTOR_INDICES == 0:
        indices, b_pitch = VECTOR_INDICES, tile.bn + vector_pad(tile.bn)
    else:
        indices = tile.bk
    b_k, b_col = weight_entry(tile.bk, indices, tile.threads)
    return _gemm(
        name, "true convolution" if flip else "correlation", g, slots,
        _conv_params(ctype, ["x", "w"], bias, "y", dims, extra=["splits"]), tile, FORWARD,
        tensor_cores,
        row_decode=indent(row_decode, 1), im2col_entry=_im2col_entry(slots, g, "row_ok", flip),
        a_loads=tile.bk * tile.bm // tile.threads, a_step=tile.threads // tile.bm,
        b_loads=ceil_div(tile.bk * tile.bn, tile.threads), value=value, activation=act,
        a_pitch=a_pitch, b_pitch=b_pitch, b_k=b_k,
        b_col=b_col)


def conv_forward_direct(geometry: ConvGeometry, *, bias: bool = False,
                        activation: str = "identity", flip: bool = False) -> Kernel:
    """y[b, o, i] = act(bias[o] + sum_{m, c < Ci} w[o, c, m] x_pad[b, g Ci + c, s i + d m - p])
    with g = o / Co, one thread per output and the sum in registers: for narrow groups
    (depthwise), where a GEMM tile would mostly multiply zeros.  ``flip`` as in
    :func:`conv_forward`.
    """
    g, dims = geometry, geometry.dims
    ctype, slots = slots_for(g.dtype)
    name = join(f"{'convolve' if flip else 'conv'}{dims}d_fwd", g.tag(),
                epilogue_tag(bias, activation), dtype_tag(g.dtype), "direct")
    lines = decode("e", [("b", ""), ("o", "c_out")] + axes_of("i", "o", dims))
    lines += ["const long long group = o / co;",
              f"const {ctype}* x_rows = x + (b * c_in + group * ci) * pixels;",
              f"const {ctype}* w_at = w + o * ci * {g.taps};", f"{ctype} acc = 0;"]
    reads, condition, offset = _tap_reads(slots, g, "ch", flip)
    skip = [] if condition == 1 else [f"if (!({slots.pr.condition(condition)})) continue;"]
    tap = _tap(g)
    inner = [*reads, *skip, "for (long long ch = 0; ch < ci; ++ch)",
             f"    acc += w_at[ch * {g.taps} + {tap}] * x_rows[{offset}];"]
    summary = f"{'true convolution' if flip else 'correlation'} (direct, narrow groups)"
    return _per_output(name, summary, g, slots, ["x", "w"], "y", "o", bias, activation,
                       f"batch * c_out * {product(sizes('o', dims))}", lines,
                       nest([tap_loop(a, g.kernel_size[a], []) for a in range(dims)], inner),
                       f"const long long pixels = {product(sizes('n', dims))};")


def _per_output(name: str, summary: str, g: ConvGeometry, slots: Slots, inputs: Sequence[str],
                output: str, channel: str, bias: bool, activation: str, total: str,
                decode_lines: Sequence[str], body: Sequence[str], size_line: str) -> Kernel:
    """An elementwise conv kernel: the sizes of a group (ci, co) and ``size_line`` first, then
    per element e of ``output`` its ``decode_lines`` and ``body`` (summing into acc) and
    output[e] = act(acc + bias[channel])."""
    ctype = c_type(g.dtype)
    value, act = epilogue(slots.pr, bias, activation, channel)
    setup = [f"const long long ci = c_in / {g.groups}, co = c_out / {g.groups};", size_line]
    return elementwise(name, summary, g.describe(), ctype, slots,
                       _conv_params(ctype, inputs, bias, output, g.dims), total, decode_lines,
                       body, [f"const {ctype} v = {value};", f"{output}[e] = {act};"], setup)


# --------------------------------------------------------------------------------------------
# Convolution backward data (and the transposed convolution): gather, no atomics
# --------------------------------------------------------------------------------------------

def conv_backward_data(geometry: ConvGeometry, *, transposed: bool = False, bias: bool = False,
                       activation: str = "identity") -> Kernel:
    """dx = P^T A^T g, one thread per pixel t of dx (grad-input-flip, gather form):

        dx[b, c, t] = sum over u with pi(u) = t, o, m with [s | u + p - d m] and
                      0 <= (u + p - d m)/s < o_size  of  w[o, c, m] g[b, o, (u + p - d m)/s]

    (u = t alone for zero padding).  ``transposed`` names it conv_transpose and allows the
    bias + activation epilogue.
    """
    g, dims = geometry, geometry.dims
    ctype, slots = slots_for(g.dtype)
    name = join(_data_grad_kind(dims, transposed, bias, activation), g.tag(),
                epilogue_tag(bias, activation), dtype_tag(g.dtype))
    lines = decode("e", [("b", ""), ("c", "c_in")] + axes_of("t", "n", dims))
    lines += ["const long long group = c / ci, c_local = c - group * ci;", f"{ctype} acc = 0;"]
    position = horner("b * c_out + group * co", axes_of("i", "o", dims))
    inner = [f"const {ctype}* g_at = g + {position};",
             f"const {ctype}* w_at = w + (group * co * ci + c_local) * {g.taps} + {_tap(g)};",
             "for (long long o = 0; o < co; ++o)",
             f"    acc += w_at[o * ci * {g.taps}] * g_at[o * positions];"]
    summary = f"{'transposed convolution' if transposed else 'input gradient'} (gather)"
    return _per_output(name, summary, g, slots, ["g", "w"], "dx", "c", bias, activation,
                       f"batch * c_in * {product(sizes('n', dims))}", lines,
                       nest(_gather_levels(slots, g), inner),
                       f"const long long positions = {product(sizes('o', dims))};")


def _data_grad_kind(dims: int, transposed: bool, bias: bool, activation: str) -> str:
    """conv_transpose{D}d or conv{D}d_bwd_data; only the transposed conv takes an epilogue."""
    if (bias or activation != "identity") and not transposed:
        raise ValueError("the bias and activation epilogue belongs to the transposed conv "
                         "(transposed=True), not to the input gradient")
    return f"conv_transpose{dims}d" if transposed else f"conv{dims}d_bwd_data"


def _tap(g: ConvGeometry) -> str:
    """The flat index of tap (m0, m1, ...) of the kernel."""
    return horner("0", [(f"m{a}", str(k)) for a, k in enumerate(g.kernel_size)])


def _gather_levels(slots: Slots, g: ConvGeometry) -> list[tuple[list[str], bool]]:
    """The loops of a gather onto pixel t: the padded positions u that P^T folds onto t, then
    the taps m whose output i = (u + p - d m)/s exists (grad-input-flip)."""
    levels = [slots.candidates(g.mode, a, g.pads[a]) for a in range(g.dims)]
    return levels + [tap_loop(a, g.kernel_size[a], slots.gather(a, g.axis(a), var("u", a)))
                     for a in range(g.dims)]


def col2im(geometry: ConvGeometry, *, transposed: bool = False, bias: bool = False,
           activation: str = "identity") -> Kernel:
    """dx = P^T A^T g from the columns cols[b, (c, m), i] = Σ_o w[o, c, m] g[b, o, i] (the
    channel sums already made, by a GEMM), one thread per pixel t of dx:

        dx[b, c, t] = sum over u with pi(u) = t, m with [s | u + p - d m] and
                      0 <= (u + p - d m)/s < o_size  of  cols[b, (c, m), (u + p - d m)/s]

    (grad-input-flip; u = t alone for zero padding).  ``transposed`` names it conv_transpose
    and allows the bias + activation epilogue."""
    g, dims = geometry, geometry.dims
    ctype, slots = slots_for(g.dtype)
    name = join(_data_grad_kind(dims, transposed, bias, activation), "col2im", g.tag(),
                epilogue_tag(bias, activation), dtype_tag(g.dtype))
    lines = decode("e", [("b", ""), ("c", "c_in")] + axes_of("t", "n", dims))
    lines += [f"{ctype} acc = 0;"]
    column = horner(f"(b * c_in + c) * {g.taps} + {_tap(g)}", axes_of("i", "o", dims))
    summary = (f"{'transposed convolution' if transposed else 'input gradient'} from the "
               "columns W^T g (a gather)")
    value, act = epilogue(slots.pr, bias, activation, "c")
    return elementwise(name, summary, g.describe(), ctype, slots,
                       _conv_params(ctype, ["cols"], bias, "dx", dims),
                       f"batch * c_in * {product(sizes('n', dims))}", lines,
                       nest(_gather_levels(slots, g), [f"acc += cols[{column}];"]),
                       [f"const {ctype} v = {value};", f"dx[e] = {act};"])


# --------------------------------------------------------------------------------------------
# Convolution backward weight: all the taps of one (filter, channel) pair a block (a fixed-order
# tree reduction per tap), or the implicit GEMM; both split over batch x pixels, the parts added
# in order
# --------------------------------------------------------------------------------------------

TAPS_A_BLOCK = 16
"""The most taps one block of the narrow weight gradient accumulates (one register each);
larger kernels take several blocks along y (:func:`tap_chunks`)."""

REDUCTION = Template("""\
extern "C" __global__ void __launch_bounds__($threads) $name(
    $signature)
{
    // setup: the pair (o, c) of this block, its taps [first_tap, first_tap + $chunk) and its
    // run [begin, end) of the terms r = (b, i)
    const int tid = threadIdx.x;
    const long long ci = c_in / $groups, co = c_out / $groups;
    const long long count = batch * $positions;
    const long long c_local = blockIdx.x % ci;
    const long long o = blockIdx.x / ci;
    const long long group = o / co;
    const long long first_tap = $first_tap;
    const long long run = (count + splits - 1) / splits;
    const long long begin = blockIdx.z * run;
    const long long end = begin + run < count ? begin + run : count;
    $T acc[$chunk];
    for (int k = 0; k < $chunk; ++k) acc[k] = 0;
    for (long long r = begin + tid; r < end; r += $threads) {
$term_slot
        #pragma unroll
        for (int k = 0; k < $chunk; ++k) {
            const long long tap = first_tap + k;
$tap_slot
        }
    }
    // epilogue: per tap, the threads' sums added pairwise in a fixed order
    __shared__ $T partial_sums[$threads];
    for (int k = 0; k < $chunk; ++k) {
        partial_sums[tid] = acc[k];
        __syncthreads();
        for (int half = $threads / 2; half > 0; half /= 2) {
            if (tid < half) partial_sums[tid] += partial_sums[tid + half];
            __syncthreads();
        }
        if (tid == 0 && first_tap + k < $taps)
            partial[(blockIdx.z * c_out * ci + blockIdx.x) * $taps + first_tap + k] =
                partial_sums[0];
        __syncthreads();
    }
}
""")


def tap_chunks(taps: int) -> tuple[int, int]:
    """(chunks, chunk): the taps cut into the fewest runs of at most :data:`TAPS_A_BLOCK`,
    of equal length ``chunk`` but the last."""
    chunks = ceil_div(taps, TAPS_A_BLOCK)
    return chunks, ceil_div(taps, chunks)


def conv_backward_weight(geometry: ConvGeometry) -> Kernel:
    """partial[split, o, c, m] = sum over the split's run of terms r = (b, i) of
    g[b, o, i] x_pad[b, g Ci + c, s i + d m - p]  (grad-weight), for groups too narrow for a
    GEMM tile (depthwise).

    One block per pair (o, c) and chunk of taps (:func:`tap_chunks`) along y and split along
    z: each thread reads g[b, o, i] once for all the chunk's taps, and each tap's sums are
    added in a fixed order, so with :func:`sum_splits` the result is the same bit for bit on
    every run.
    """
    g, dims = geometry, geometry.dims
    ctype, slots = slots_for(g.dtype)
    name = join(f"conv{dims}d_bwd_weight", g.tag(), dtype_tag(g.dtype))
    chunks, chunk = tap_chunks(g.taps)
    term = decode("r", [("b", "")] + axes_of("i", "o", dims))
    g_at = horner("b * c_out + o", axes_of("i", "o", dims))
    term.append(f"const {ctype} g_value = g[{g_at}];")
    reads, condition, x_at = _tap_reads(slots, g, "b * c_in + group * ci + c_local",
                                        read=dv.weight_read)
    tap = [*static_decode("tap", sizes("m", dims), g.kernel_size), *reads,
           slots.guarded(condition, f"acc[k] += g_value * x[{x_at}];")]
    if chunks * chunk > g.taps:  # a ragged last chunk
        tap = [f"if (tap < {g.taps}) {{", *indent(tap, 1).splitlines(), "}"]
    params = _conv_params(ctype, ["x", "g"], False, "partial", dims, extra=["splits"])
    source = REDUCTION.substitute(
        name=name, signature=signature(params),
        threads=THREADS, groups=g.groups, positions=product(sizes("o", dims)), taps=g.taps,
        T=ctype, chunk=chunk, first_tap="0" if chunks == 1 else f"blockIdx.y * {chunk}",
        term_slot=indent(term, 2), tap_slot=indent(tap, 3))
    text = header(name, "weight gradient (all taps of a pair a block, fixed-order reductions)",
                  slots.derived, g.describe(), ctype)
    return Kernel(name, text + "\n" + source, params, THREADS, tuple(slots.derived))


WEIGHT_TILE = Tile(64, 64, 16, 4, 4)
"""The weight gradient's GEMM tile: 64 filters x 64 columns (c, m), 16 reduction indices
(b, i) a stage; float32 and float64 (tensor cores: :data:`TENSOR_CORE_TILE`)."""


def conv_backward_weight_gemm(geometry: ConvGeometry, *, tensor_cores: str | None = None
                              ) -> Kernel:
    """partial[split, o, c, m] = sum over the split's run of terms r = (b, i) of
    g[b, o, i] x_pad[b, g Ci + c, s i + d m - p]  (grad-weight).

    The implicit GEMM dw = G^T im2col(x_pad) per group: rows o, columns (c, m), the reduction
    over batch x output pixels cut into ``splits`` (a runtime argument) runs of equal length,
    one per block along z; :func:`sum_splits` adds them in order, so the result is the same
    bit for bit on every run.  With ``tensor_cores`` (float32 only) g and x are rounded to
    that precision and the products run on tensor cores.
    """
    g, dims = geometry, geometry.dims
    _check_tensor_cores(tensor_cores, g.dtype)
    tile = TENSOR_CORE_TILE if tensor_cores else WEIGHT_TILE
    ctype, slots = slots_for(g.dtype)
    name = join(f"conv{dims}d_bwd_weight", g.tag(), dtype_tag(g.dtype), tensor_cores or "",
                tile.tag)
    row_decode = decode("term_ok ? term : 0", [("b", "")] + axes_of("i", "o", dims),
                        rest="term_rest")
    return _gemm(
        name, "weight gradient, split over batch x pixels", g, slots,
        _conv_params(ctype, ["x", "g"], False, "partial", dims, extra=["splits"]),
        tile, WEIGHT_GRADIENT, tensor_cores, row_decode=indent(row_decode, 2),
        g_offset=horner("b * c_out + group * co + o", axes_of("i", "o", dims)),
        im2col_entry=_im2col_entry(slots, g, "term_ok", read=dv.weight_read),
        a_step=tile.threads // tile.bk, a_loads=tile.bm * tile.bk // tile.threads,
        b_loads=tile.bn * tile.bk // tile.threads,
        a_pitch=_pitch(tile.bm, tile.bk, g.dtype, tensor_cores),
        b_pitch=_pitch(tile.bn, tile.bk, g.dtype, tensor_cores))


def sum_splits(dtype: DTypeLike, *, bias: bool = False, activation: str = "identity") -> Kernel:
    """out[e] = act(bias[c] + sum_{s < splits} partial[s, e]), the parts added in the order
    s = 0, 1, ... (no atomics), c = (e / positions) % channels the channel of entry e."""
    ctype, slots = slots_for(dtype)
    name = join("sum_splits", epilogue_tag(bias, activation), dtype_tag(dtype))
    value, act = epilogue(slots.pr, bias, activation, "c")
    params = float_params(ctype, [("partial", False)] + ([("bias", False)] if bias else [])
                          + [("out", True)],
                          ["entries", "splits"] + (["channels", "positions"] if bias else []))
    channel = ["const long long c = (e / positions) % channels;"] if bias else []
    return elementwise(name, "the parts of a split sum, added in order", "none", ctype, slots,
                       params, "entries", [],
                       [f"{ctype} acc = 0;", "for (long long s = 0; s < splits; ++s)",
                        "    acc += partial[s * entries + e];"],
                       [*channel, f"const {ctype} v = {value};", f"out[e] = {act};"])


# --------------------------------------------------------------------------------------------
# Padding P and its transpose P^T
# --------------------------------------------------------------------------------------------

def pad_forward(pads: Sequence[tuple[int, int]], mode: str, dtype: DTypeLike) -> Kernel:
    """x_pad[b, c, j] = x[b, c, pi(j - p_lo)] (zeros: 0 outside the input)."""
    pads = pad_pairs(pads)
    dims = len(pads)
    ctype, slots = slots_for(dtype)
    name = join(f"pad{dims}d", mode, padding_tag(pads), dtype_tag(dtype))
    padded = [f"(n{a} + {lo + hi})" for a, (lo, hi) in enumerate(pads)]
    lines = decode("e", [("plane", "")] + list(zip(sizes("jp", dims), padded)))
    reads, condition, sources = slots.padded_reads(mode, [
        (var("j", a), var("jp", a) - lo) for a, (lo, _) in enumerate(pads)])
    at = horner("plane", list(zip(sources, sizes("n", dims))))
    params = float_params(ctype, [("x", False), ("y", True)], ["planes", *sizes("n", dims)])
    return elementwise(name, "padding", f"padding {pads} ({mode})", ctype, slots, params,
                       f"planes * {product(padded)}", lines, reads,
                       [f"y[e] = ({slots.pr.condition(condition)}) ? x[{at}] : ({ctype})0;"])


def pad_adjoint(pads: Sequence[tuple[int, int]], mode: str, dtype: DTypeLike) -> Kernel:
    """dx[b, c, t] = sum over padded positions u with pi(u) = t of g_pad[b, c, u + p_lo]."""
    pads = pad_pairs(pads)
    dims = len(pads)
    ctype, slots = slots_for(dtype)
    name = join(f"pad{dims}d_adjoint", mode, padding_tag(pads), dtype_tag(dtype))
    lines = decode("e", [("plane", "")] + axes_of("t", "n", dims)) + [f"{ctype} acc = 0;"]
    padded = [(f"u{a} + {lo}", f"(n{a} + {lo + hi})") for a, (lo, hi) in enumerate(pads)]
    levels = [slots.candidates(mode, a, pads[a]) for a in range(dims)]
    params = float_params(ctype, [("g", False), ("dx", True)], ["planes", *sizes("n", dims)])
    return elementwise(name, "transpose of the padding (P^T, a gather)",
                       f"padding {pads} ({mode})", ctype, slots, params,
                       f"planes * {product(sizes('n', dims))}", lines,
                       nest(levels, [f"acc += g[{horner('plane', padded)}];"]), ["dx[e] = acc;"])


__all__ = [
    "ACTIVATIONS", "ConvGeometry", "INDEX32_ELEMENTS", "Kernel", "Param", "PoolGeometry",
    "TENSOR_CORE_PRECISIONS", "THREADS", "TILES", "Tile", "adaptive_avg_pool_backward",
    "adaptive_avg_pool_forward", "adaptive_max_pool_backward", "adaptive_max_pool_forward",
    "adaptive_max_pool_indices_inside", "avg_pool_backward", "avg_pool_forward", "col2im",
    "conv_backward_data", "conv_backward_weight", "conv_backward_weight_gemm", "conv_forward",
    "conv_forward_direct", "max_pool_backward", "max_pool_forward", "max_pool_indices_inside",
    "narrow_indices", "pad_adjoint", "pad_forward", "route_by_index",
    "sum_splits", "tap_chunks", "tensor_core_tile", "tile_for",
]
