"""Winograd F(m x m, 3 x 3): the transforms of the winograd-transform theorem as kernels.

With Aᵀ (m x n), G (n x 3) and Bᵀ (n x n), n = m + 2, exact at the points the theorem proves
for the numeric paths (:func:`.derivations.winograd_transforms`), the m x m output tile t of a
stride-1 3x3 correlation of dilation δ, outputs i_t + δ (0..m-1, 0..m-1), is

    Y[b, o, t] = Aᵀ [ Σ_c U[o, c] ⊙ V[b, c, t] ] A,   U = G w[o, c] Gᵀ,   V = Bᵀ d[b, c, t] B,
    d[b, c, t] = x_pad[b, c, i_t + δ (0..n-1, 0..n-1)]

(the outputs of one residue mod δ are a dense correlation of the input's positions of that
residue: each tile holds outputs δ apart, :func:`_tile_counts`).

At each position ξ of the n x n transformed tile the channel sum is a product of matrices,

    M[b, ξ, o, t] = Σ_c U[ξ, o, c] V[b, ξ, c, t],

a 1x1 correlation of V (N, n² C, tiles) with U (n² K, C/G, 1) in n² G groups: the implicit
GEMM of :func:`.kernels.conv_forward` runs it.  Around it three kernels:

    winograd_weights  U[ξ, o, c] = Σ_{a,b} G[ξ1, a] G[ξ2, b] w[o, c, a, b]
    winograd_input    V[b, ξ, c, t] = Σ_{a,b} Bᵀ[ξ1, a] Bᵀ[ξ2, b] x_pad[b, c, i_t + δ (a, b)]
    winograd_output   y[b, o, i_t + δ (i, j)] = act(bias[o] + Σ_ξ Aᵀ[i, ξ1] Aᵀ[j, ξ2] M[b, ξ, o, t])

The weight gradient is the adjoint in U: with Γ = A g Aᵀ per output tile, dU[ξ, o, c] =
Σ_{b,t} Γ[b, ξ, o, t] V[b, ξ, c, t] is the 1x1 correlation's weight gradient (the split GEMM
of :func:`.kernels.conv_backward_weight_gemm`), and dw = Gᵀ dU G:

    winograd_gradient         Γ[b, ξ, o, t] = Σ_{i,j} Aᵀ[i, ξ1] Aᵀ[j, ξ2] g[b, o, i_t + δ (i, j)]
    winograd_weights_adjoint  dw[o, c, a, b] = Σ_ξ G[ξ1, a] G[ξ2, b] dU[ξ, o, c]

Each applies its Kronecker product one factor at a time (2n instead of n² terms a value), as
straight-line sums of the exact entries (zeros dropped, ±1 without a product), rounded once
to the kernel's float type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy
from numpy.typing import DTypeLike

from . import derivations as dv
from .names import collapsed, dtype_tag, join, padding_tag
from .skeleton import (Kernel, Slots, decode, elementwise, epilogue, epilogue_tag, float_params,
                       horner, ints, pad_pairs, slots_for, var)

KERNEL = 3
"""The kernel size r of F(m, r) these kernels are made for."""


def _dilation(dilation: Sequence[int]) -> tuple[int, int]:
    """The dilation of a 2-D 3x3 kernel: two ints of 1 or more."""
    values = ints(dilation, "dilation", minimum=1)
    if len(values) != 2:
        raise ValueError(f"dilation takes 2 values (the kernels are 2-D), got {values}")
    return values


def _literal(value: sympy.Rational, ctype: str) -> str:
    """``value`` rounded to the kernel's float type, as an exact C literal."""
    if ctype == "float":
        return f"{float(np.float32(float(value)))!r}f"
    return repr(float(value))


def combination(coefficients: Sequence[sympy.Rational], terms: Sequence[str],
                ctype: str) -> str:
    """Σ_i c_i terms_i as C: zero coefficients dropped, ±1 without a product (0 if none)."""
    text = ""
    for c, term in zip(coefficients, terms):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        product = term if abs(c) == 1 else f"{_literal(abs(c), ctype)} * {term}"
        text = f"-{product}" if not text and sign == "-" else (
            product if not text else f"{text} {sign} {product}")
    return text or f"({ctype})0"


def _apply_twice(matrix: sympy.Matrix, source: str, half: str, out: Callable, ctype: str,
                 width: int) -> list[str]:
    """out(α, β) = Σ_{a,b} M[α, a] M[β, b] source[a][b] for source (width x width), one
    factor at a time: half[α][b] = Σ_a M[α, a] source[a][b], then the rows of ``half``."""
    rows = matrix.shape[0]
    lines = [f"{ctype} {half}[{rows}][{width}];"]
    for alpha in range(rows):
        for b in range(width):
            terms = [f"{source}[{a}][{b}]" for a in range(width)]
            lines.append(f"{half}[{alpha}][{b}] = "
                         f"{combination(matrix.row(alpha), terms, ctype)};")
    for alpha in range(rows):
        for beta in range(rows):
            terms = [f"{half}[{alpha}][{b}]" for b in range(width)]
            lines.append(out(alpha, beta, combination(matrix.row(beta), terms, ctype)))
    return lines


def _transform_slots(m: int, dtype: DTypeLike
                     ) -> tuple[str, Slots, tuple[sympy.Matrix, ...]]:
    """A transform kernel's C float type, its slots, and Aᵀ, G, Bᵀ of F(m, 3) recorded as
    its derivations."""
    ctype, slots = slots_for(dtype)
    return ctype, slots, tuple(slots.use(d) for d in dv.winograd_transforms(m, KERNEL))


def _tile_counts(m: int, dilation: Sequence[int]) -> list[str]:
    """tiles0 x tiles1: along an axis of dilation d, each block of m d neighbouring outputs
    holds d tiles of m outputs d apart, one per residue mod d (so a dilated correlation is a
    dense one on each residue); ceil(o / (m d)) d tiles, the last ones overhanging."""
    counts = [f"tiles{a} = (o{a} + {m * d - 1}) / {m * d} * {d}" for a, d in enumerate(dilation)]
    return [f"const long long {', '.join(counts)};", "const long long tiles = tiles0 * tiles1;"]


def _tile_decode(channel: str, channels: str) -> list[str]:
    """Thread e as (b, channel, t0, t1) of the tile grid, and t = t0 tiles1 + t1."""
    return decode("e", [("b", ""), (channel, channels), ("t0", "tiles0"), ("t1", "tiles1")]) \
        + ["const long long t = t0 * tiles1 + t1;"]


def _origins(name: str, m: int, dilation: Sequence[int]) -> str:
    """The first output of tile (t0, t1) along each axis: m d floor(t / d) + t mod d."""
    firsts = [f"{name}{a} = {m} * t{a}" if d == 1 else
              f"{name}{a} = {m * d} * (t{a} / {d}) + t{a} % {d}" for a, d in enumerate(dilation)]
    return f"const long long {', '.join(firsts)};"


def winograd_weights(m: int, dtype: DTypeLike) -> Kernel:
    """U[ξ, e] = Σ_{a,b} G[ξ1, a] G[ξ2, b] w[e, a, b] for the e = (o, c) of a 3x3 weight:
    U laid out (n² K, C/G) as the weight of the 1x1 correlation in n² G groups."""
    ctype, slots, (_, G, _) = _transform_slots(m, dtype)
    n = G.shape[0]
    name = join(f"winograd_weights_f{m}x{m}_k3x3", dtype_tag(dtype))
    params = float_params(ctype, [("w", False), ("u", True)], ["entries"])
    read = [f"{ctype} d[{KERNEL}][{KERNEL}];",
            "#pragma unroll",
            f"for (int a = 0; a < {KERNEL}; ++a)",
            f"    for (int b = 0; b < {KERNEL}; ++b) d[a][b] = w[e * {KERNEL * KERNEL} + a * "
            f"{KERNEL} + b];"]
    lines = _apply_twice(G, "d", "h", lambda alpha, beta, value:
                         f"u[{alpha * n + beta} * entries + e] = {value};", ctype, KERNEL)
    return elementwise(name, f"the weight transform of F({m}x{m}, 3x3), U = G w Gᵀ",
                       f"F({m}x{m}, 3x3)", ctype, slots, params, "entries", [], read, lines)


def winograd_input(m: int, pads: Sequence[tuple[int, int]], dilation: Sequence[int],
                   dtype: DTypeLike) -> Kernel:
    """V[b, ξ, c, t] = Σ_{a,b} Bᵀ[ξ1, a] Bᵀ[ξ2, b] x_pad[b, c, i_t + d (a, b)] for the tiles t
    of the output (:func:`_tile_counts`; i_t the first output of tile t), x zero-padded by
    ``pads`` (the reads from banded-matrix: j = s·i + d·m - p at s = 1, i = i_t, m the offset
    in the tile's inputs)."""
    pads, dilation = pad_pairs(pads, 2), _dilation(dilation)
    ctype, slots, (_, _, BT) = _transform_slots(m, dtype)
    n = BT.shape[0]
    name = join(f"winograd_input_f{m}x{m}_k3x3", padding_tag(pads), f"d{collapsed(dilation)}",
                dtype_tag(dtype))
    static = [dict(k=KERNEL, s=1, d=d, p=lo) for (lo, _), d in zip(pads, dilation)]
    reads, condition, sources = slots.padded_reads(
        "zeros", [(var("j", a), slots.forward_position(a, static[a])) for a in range(2)])
    params = float_params(ctype, [("x", False), ("v", True)],
                          ["batch", "c_in", "n0", "n1", "o0", "o1"])
    gather = ["const long long plane = b * c_in + c;",
              _origins("i", m, dilation),
              f"{ctype} d[{n}][{n}];",
              "#pragma unroll",
              f"for (int m0 = 0; m0 < {n}; ++m0) {{",
              "    #pragma unroll",
              f"    for (int m1 = 0; m1 < {n}; ++m1) {{",
              *(f"        {line}" for line in reads),
              f"        d[m0][m1] = ({slots.pr.condition(condition)}) ? "
              f"x[{horner('plane', [(sources[0], 'n0'), (sources[1], 'n1')])}] : ({ctype})0;",
              "    }", "}"]

    def store(alpha: int, beta: int, value: str) -> str:
        return f"v[((b * {n * n} + {alpha * n + beta}) * c_in + c) * tiles + t] = {value};"

    lines = _apply_twice(BT, "d", "h", store, ctype, n)
    return elementwise(
        name, f"the input transform of F({m}x{m}, 3x3), V = Bᵀ d B", f"F({m}x{m}, 3x3), "
        f"padding {pads}, dilation {dilation}", ctype, slots, params, "batch * c_in * tiles",
        _tile_decode("c", "c_in"), gather, lines,
        setup=_tile_counts(m, dilation))


def winograd_output(m: int, dilation: Sequence[int], dtype: DTypeLike, *, bias: bool = False,
                    activation: str = "identity") -> Kernel:
    """y[b, o, i_t + d (i, j)] = act(bias[o] + Σ_ξ Aᵀ[i, ξ1] Aᵀ[j, ξ2] M[b, ξ, o, t]) where
    i_t + d (i, j) < o (i_t the first output of tile t; the last tiles overhang the output)."""
    dilation = _dilation(dilation)
    ctype, slots, (AT, _, _) = _transform_slots(m, dtype)
    n = AT.shape[1]
    name = join(f"winograd_output_f{m}x{m}_k3x3", f"d{collapsed(dilation)}",
                epilogue_tag(bias, activation), dtype_tag(dtype))
    value, act = epilogue(slots.pr, bias, activation, "o", "sum")
    params = float_params(ctype, [("products", False)] + ([("bias", False)] if bias else [])
                          + [("y", True)], ["batch", "c_out", "o0", "o1"])
    read = [f"{ctype} s[{n}][{n}];"] + [
        f"s[{xi // n}][{xi % n}] = products[((b * {n * n} + {xi}) * c_out + o) * tiles + t];"
        for xi in range(n * n)]

    def store(i: int, j: int, sum_: str) -> str:
        row, column = f"r0 + {dilation[0] * i}", f"r1 + {dilation[1] * j}"
        at = horner("b * c_out + o", [(row, "o0"), (column, "o1")])
        return (f"if ({row} < o0 && {column} < o1) {{ const {ctype} sum = {sum_}; "
                f"const {ctype} v = {value}; y[{at}] = {act}; }}")

    lines = [_origins("r", m, dilation), *_apply_twice(AT, "s", "h", store, ctype, n)]
    return elementwise(
        name, f"the output transform of F({m}x{m}, 3x3), Y = Aᵀ M A",
        f"F({m}x{m}, 3x3), dilation {dilation}", ctype, slots, params, "batch * c_out * tiles",
        _tile_decode("o", "c_out"), read, lines,
        setup=_tile_counts(m, dilation))


def winograd_gradient(m: int, dilation: Sequence[int], dtype: DTypeLike) -> Kernel:
    """The adjoint of :func:`winograd_output` for the weight gradient:
    Γ[b, ξ, o, t] = Σ_{i,j} Aᵀ[i, ξ1] Aᵀ[j, ξ2] g[b, o, i_t + d (i, j)] (zero past the
    output), laid out (N, n² K, tiles) as the 1x1 correlation's output gradient."""
    dilation = _dilation(dilation)
    ctype, slots, (AT, _, _) = _transform_slots(m, dtype)
    n = AT.shape[1]
    name = join(f"winograd_gradient_f{m}x{m}_k3x3", f"d{collapsed(dilation)}",
                dtype_tag(dtype))
    params = float_params(ctype, [("g", False), ("gt", True)], ["batch", "c_out", "o0", "o1"])
    row, column = f"r0 + {dilation[0]} * i", f"r1 + {dilation[1]} * j"
    read = [_origins("r", m, dilation), f"{ctype} d[{m}][{m}];",
            "#pragma unroll", f"for (int i = 0; i < {m}; ++i)", "    #pragma unroll",
            f"    for (int j = 0; j < {m}; ++j)",
            f"        d[i][j] = ({row} < o0 && {column} < o1) ? "
            f"g[{horner('b * c_out + o', [(row, 'o0'), (column, 'o1')])}] : ({ctype})0;"]

    def store(alpha: int, beta: int, value: str) -> str:
        return f"gt[((b * {n * n} + {alpha * n + beta}) * c_out + o) * tiles + t] = {value};"

    return elementwise(
        name, f"the output transform's adjoint of F({m}x{m}, 3x3), Γ = A g Aᵀ",
        f"F({m}x{m}, 3x3)", ctype, slots, params, "batch * c_out * tiles",
        _tile_decode("o", "c_out"), read,
        _apply_twice(AT.T, "d", "h", store, ctype, m), setup=_tile_counts(m, dilation))


def winograd_weights_adjoint(m: int, dtype: DTypeLike) -> Kernel:
    """The adjoint of :func:`winograd_weights`: dw[e, a, b] = Σ_ξ G[ξ1, a] G[ξ2, b] dU[ξ, e]
    for the e = (o, c) of a 3x3 weight, dU laid out (n² K, C/G) as the 1x1 weight gradient."""
    ctype, slots, (_, G, _) = _transform_slots(m, dtype)
    n = G.shape[0]
    name = join(f"winograd_weights_adjoint_f{m}x{m}_k3x3", dtype_tag(dtype))
    params = float_params(ctype, [("du", False), ("dw", True)], ["entries"])
    read = [f"{ctype} d[{n}][{n}];"] + [
        f"d[{xi // n}][{xi % n}] = du[{xi} * entries + e];" for xi in range(n * n)]
    lines = _apply_twice(G.T, "d", "h", lambda a, b, value:
                         f"dw[e * {KERNEL * KERNEL} + {a * KERNEL + b}] = {value};", ctype, n)
    return elementwise(name, f"the weight transform's adjoint of F({m}x{m}, 3x3), "
                       "dw = Gᵀ dU G", f"F({m}x{m}, 3x3)", ctype, slots, params, "entries",
                       [], read, lines)


__all__ = ["KERNEL", "combination", "winograd_gradient", "winograd_input", "winograd_output",
           "winograd_weights", "winograd_weights_adjoint"]
