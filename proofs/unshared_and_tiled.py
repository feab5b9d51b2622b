"""unshared-and-tiled: locally connected and tiled convolution, between dense and conv.

A locally connected (unshared) layer gives every output position i its own kernel:

    unshared(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] u[g, o, c, i, m] x̃[b, g, c, s·i + d·m - p],

and a tiled layer with period t cycles through t kernels (per axis): position i uses kernel
i mod t, that is u = tie_t(v) with tie_t(v)[g, o, c, i, m] = v[g, o, c, i mod t, m].  Both are
y = U x with the banded matrix

    U[g, o, c, i, j] = Σ_m [m ∈ K] u[g, o, c, i, m] [j = s·i + d·m - p],

whose row i lives in the window s·i - p ... s·i - p + d(k - 1), like the conv's: the sparsity
survives, the sharing does not.  U is not Toeplitz (the witness: row 1 has another kernel than
row 0), while the tiled matrix repeats after a whole period: U[i + t, j + s·t] = U[i, j].  The
two extremes are the convolution (t = 1: one kernel v[·, ·, ·, 0, ·]) and the unshared layer
(t = o, the output size: i mod o = i for every output).  Parameters, counted per axis:
G·(C_out/G)·(C_in/G)·o_h o_w·k_h k_w unshared and G·(C_out/G)·(C_in/G)·t_h t_w·k_h k_w tiled
(every tile kernel is used when t ≤ o).  All on the grid stated in the report; the identities
are proved universally as well.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq, le,
                                multi, refuted, universal, zsum)
from convproof.symbolic import rules_counting  # noqa: F401  (registers the residue rules)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import product
from convproof.symbolic.operators import Setting, b, c, correlation, g, i, j, m, o
from convproof.symbolic.operators_matrix import (Plane, tied, tiled_correlation,
                                                 unshared_correlation, unshared_matrix)

st = Setting()
t = multi("t", positive=True)
x, u, v = Signal("x"), Signal("u"), Signal("v")
unshared = unshared_correlation(x, u, st)
U = unshared_matrix(u, st)
tiles = tied(v, t)
U_tiled = unshared_matrix(tiles, st, "U_t")
tiled = tiled_correlation(x, v, st, t)
tiled_once = tiled_correlation(x, v, st, sympy.S.One, name="tiled_1")
tiled_everywhere = tiled_correlation(x, v, st, st.out, name="tiled_o")
unshared_v = unshared_correlation(x, v, st, name="unshared_v")
unshared_tied = unshared_correlation(x, tiles, st, name="unshared_tie")
shared = Signal("v_0", "v_0", lambda g_, o_, c_, m_: v[g_, o_, c_, 0, m_], arity=4)
conv = correlation(x, shared, st, name="corr_v0")
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)

THEOREM = Theorem(
    "unshared-and-tiled", "Locally connected and tiled convolution",
    r"U_{i,j} = \sum_m u_{i,m} [j = s i + d m - p],\quad"
    r"\text{tiled: } u_{i,m} = v_{i \bmod t,\, m};\ t = 1: \text{conv},\ t = o: \text{unshared}",
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
ENTRY = {g: st.group_box(g), o: st.outputs(o), c: st.inputs(c)}
window = le(st.s * i - st.p, j) * le(j, st.s * i - st.p + st.d * (st.k - 1))
MATRIX = THEOREM.export(Claim(
    "matrix", unshared[b, g, o, i],
    zsum(st.inputs(c) * st.pixels(j) * U[g, o, c, i, j] * x[b, g, c, j], c, j), indices=OUTPUT,
    text="a locally connected layer is y = U x",
))
BAND = THEOREM.export(Claim(
    "band", U[g, o, c, i, j], window * U[g, o, c, i, j],
    text="row i of U lives in the window of output i, as for the convolution",
))
TIED = THEOREM.export(Claim(
    "tiled", tiled[b, g, o, i], unshared_tied[b, g, o, i], indices=OUTPUT,
    text="a tiled layer is the unshared layer of the tied kernels v[i mod t]",
))
PERIOD = THEOREM.export(Claim(
    "period", U_tiled[g, o, c, i + t, j + st.s * t], U_tiled[g, o, c, i, j],
    text="the tiled matrix repeats after a whole period: t rows down, s·t columns right",
))
CONV = THEOREM.export(Claim(
    "t = 1", tiled_once[b, g, o, i], conv[b, g, o, i], indices=OUTPUT,
    text="with one tile the tiled layer is the convolution with kernel v[0]",
))
UNSHARED = THEOREM.export(Claim(
    "t = o", st.positions(i) * tiled_everywhere[b, g, o, i],
    st.positions(i) * unshared_v[b, g, o, i], indices=OUTPUT,
    text="with as many tiles as outputs the tiled layer is unshared",
))
TOEPLITZ = Claim("Toeplitz", U[g, o, c, i + 1, j + 1], U[g, o, c, i, j], hypotheses=(UNIT_STRIDE,),
                 indices={**ENTRY, i: le(0, i) * le(i, st.out - 2), j: le(0, j) * le(j, st.n - 2)})
TILED_TOEPLITZ = Claim("Toeplitz", U_tiled[g, o, c, i + 1, j + 1], U_tiled[g, o, c, i, j],
                       hypotheses=(UNIT_STRIDE,), indices=TOEPLITZ.indices)

pl = Plane()
periods = pl.per_axis("t", positive=True)
tile_index = pl.per_axis("τ")
channels = st.group_box(g) * st.outputs(o) * st.inputs(c)
blocks = st.groups * st.c_out * st.c_in
UNSHARED_PARAMETERS = THEOREM.export(Claim(
    "unshared parameters", zsum(channels * pl.positions() * pl.taps(), g, o, c, *pl.i, *pl.m),
    blocks * product(pl.o) * product(pl.k), text="one kernel for every output position",
))
TILED_PARAMETERS = THEOREM.export(Claim(
    "tiled parameters",
    zsum(channels * pl.box(tile_index, periods) * pl.taps(), g, o, c, *tile_index, *pl.m),
    blocks * product(periods) * product(pl.k), text="one kernel for every tile position",
))


@THEOREM.evidence
def matrix():
    read = st.input_index(i, m)
    tap = st.inputs(c) * st.taps(m) * u[g, o, c, i, m]
    proof = (
        Derivation(MATRIX.lhs, "unshared(x) = U x")
        .by("definition", zsum(tap * st.pixels(read) * x[b, g, c, read], c, m),
            "unfold: output i applies its own kernel u[i] to its window", signals=(unshared,))
        .back("Kronecker delta", zsum(tap * eq(j, read) * st.pixels(j) * x[b, g, c, j], c, m, j),
              "sum over every input position j, keeping the one tap m reads", var=j)
        .back("definition", MATRIX.rhs, "the sum over m is the entry U[i, j]", signals=(U,))
    )
    return universal(MATRIX, proof)


@THEOREM.evidence
def band():
    tap = st.taps(m) * u[g, o, c, i, m] * eq(j, st.input_index(i, m))
    proof = (
        Derivation(BAND.lhs, "the band of row i")
        .by("definition", zsum(tap, m), "unfold U", signals=(U,))
        .back("cancel a positive factor",
              zsum(tap * le(0, st.d * m) * le(st.d * m, st.d * (st.k - 1)), m),
              "d ≥ 1: 0 ≤ d·m ≤ d(k - 1) says no more than 0 ≤ m ≤ k - 1", factor=st.d)
        .back("use the delta", zsum(tap * window, m),
              "under [j = s·i + d·m - p], the window bounds on j are bounds on d·m", var=j)
        .back("definition", BAND.rhs, "fold U back", signals=(U,))
    )
    return universal(BAND, proof)


def _tiled_sum(kernel) -> object:
    """Σ_c Σ_m [c ∈ C][m ∈ K] kernel(m)·x̃[s·i + d·m - p]."""
    read = st.input_index(i, m)
    return zsum(st.inputs(c) * st.taps(m) * kernel(m) * st.pixels(read) * x[b, g, c, read], c, m)


@THEOREM.evidence
def tied_kernels():
    proof = (
        Derivation(TIED.lhs, "a tiled layer ties the kernels of an unshared one")
        .by("definition", _tiled_sum(lambda m_: v[g, o, c, sympy.Mod(i, t), m_]),
            "unfold: position i uses kernel i mod t", signals=(tiled,))
        .back("definition", _tiled_sum(lambda m_: tiles[g, o, c, i, m_]),
              "that is the tied kernel tie_t(v)[i]", signals=(tiles,))
        .back("definition", TIED.rhs, "an unshared layer with the tied kernels",
              signals=(unshared_tied,))
    )
    return universal(TIED, proof)


@THEOREM.evidence
def period():
    def entry(read_row, column):
        return zsum(st.taps(m) * v[g, o, c, sympy.Mod(read_row, t), m]
                    * eq(column, st.input_index(read_row, m)), m)

    proof = (
        Derivation(PERIOD.lhs, "one period down and s·t columns right")
        .by("definition", entry(i + t, j + st.s * t), "unfold the tiled matrix and its kernels",
            signals=None)
        .by("algebra", zsum(st.taps(m) * v[g, o, c, sympy.Mod(i, t), m]
                            * eq(j, st.input_index(i, m)), m),
            "(i + t) mod t = i mod t, and j + s·t = s(i + t) + d·m - p says j = s·i + d·m - p")
        .back("definition", PERIOD.rhs, "fold the tiled matrix back", signals=None)
    )
    return universal(PERIOD, proof)


@THEOREM.evidence
def one_tile():
    proof = (
        Derivation(CONV.lhs, "t = 1 is the convolution")
        .by("definition", _tiled_sum(lambda m_: v[g, o, c, 0, m_]),
            "unfold: i mod 1 = 0, every position uses kernel v[0]", signals=(tiled_once,))
        .back("definition", _tiled_sum(lambda m_: shared[g, o, c, m_]), "v[0] is the shared kernel",
              signals=(shared,))
        .back("definition", CONV.rhs, "a correlation with v[0]", signals=(conv,))
    )
    return universal(CONV, proof)


@THEOREM.evidence
def one_tile_per_output():
    box = st.positions(i)
    proof = (
        Derivation(UNSHARED.lhs, "t = o is the unshared layer")
        .by("definition", box * _tiled_sum(lambda m_: v[g, o, c, sympy.Mod(i, st.out), m_]),
            "unfold: position i uses kernel i mod o", signals=(tiled_everywhere,))
        .by("reduced residue", box * _tiled_sum(lambda m_: v[g, o, c, i, m_]),
            "0 ≤ i ≤ o - 1, so i mod o = i")
        .back("definition", UNSHARED.rhs, "the unshared layer with kernels v[i]",
              signals=(unshared_v,))
    )
    return universal(UNSHARED, proof)


@THEOREM.evidence
def parameter_counts():
    count = "count an interval"
    return [universal(UNSHARED_PARAMETERS, Derivation(UNSHARED_PARAMETERS.lhs, "unshared").by(
                count, UNSHARED_PARAMETERS.rhs, "channels, positions and taps, axis by axis",
                var=(*pl.m, *pl.i, c, o, g))),
            universal(TILED_PARAMETERS, Derivation(TILED_PARAMETERS.lhs, "tiled").by(
                count, TILED_PARAMETERS.rhs, "channels, tile positions and taps, axis by axis",
                var=(*pl.m, *tile_index, c, o, g)))]


def _tiled_points(limit: dict) -> list[Point]:
    """Grid points with periods 1..3 along the axes."""
    points = conv_points(st, dims=tuple(limit), limit=limit)
    for k, point in enumerate(points):
        point.values[t] = point.label["t"] = tuple((k + a) % 3 + 1 for a in range(point.dims))
    return points


_WITNESS = Point({st.n: (4,), st.k: (2,), st.s: (1,), st.d: (1,), st.p: (0,), st.q: (0,),
                  t: (2,), st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1}, 1,
                 note="n = 4, k = 2, unit stride; kernel 1 at position 0, 2 at position 1")


@THEOREM.evidence
def certificates():
    line = _tiled_points({1: 4})
    counts = Point({**dict(zip(pl.o, (3, 2))), **dict(zip(pl.k, (2, 1))),
                    **dict(zip(periods, (2, 2))), st.groups: 2, st.c_out: 2, st.c_in: 1}, 2)
    return [certified(MATRIX, line, "y = U x"),
            certified(TIED, line, "tiled = unshared with tied kernels"),
            certified(CONV, line, "t = 1 is the convolution"),
            certified(UNSHARED, line, "t = o is the unshared layer"),
            certified(UNSHARED_PARAMETERS, [counts], "unshared parameters, by enumeration"),
            certified(TILED_PARAMETERS, [counts], "tiled parameters, by enumeration"),
            refuted(TOEPLITZ, _WITNESS, {"u": {(0, 0, 0, 0, 0): 1, (0, 0, 0, 1, 0): 2}},
                    "the unshared matrix is not Toeplitz"),
            refuted(TILED_TOEPLITZ, _WITNESS, {"v": {(0, 0, 0, 0, 0): 1, (0, 0, 0, 1, 0): 2}},
                    "nor is the tiled matrix (t = 2)")]


@THEOREM.mutant("tiled kernel of position i is floor(i/t) (blocks) instead of i mod t")
def blocks_not_cycles():
    blocked = Signal("tiled_blocks", "y'", lambda b_, g_, o_, i_: zsum(
        st.inputs(c) * st.taps(m) * v[g_, o_, c, sympy.floor(i_ / t), m]
        * st.pixels(st.input_index(i_, m)) * x[b_, g_, c, st.input_index(i_, m)], c, m), arity=4)
    claim = Claim("tiled", blocked[b, g, o, i], TIED.rhs, indices=OUTPUT)
    return certified(claim, _tiled_points({1: 8}))


@THEOREM.mutant("tiled matrix repeating after t columns instead of s·t")
def period_without_stride():
    claim = Claim("period", U_tiled[g, o, c, i + t, j + t], U_tiled[g, o, c, i, j],
                  indices={**ENTRY, i: st.positions(i), j: st.pixels(j)})
    return certified(claim, [p for p in _tiled_points({1: 8}) if max(p.values[st.s]) > 1])


@THEOREM.mutant("unshared parameters without the output channels")
def unshared_count_without_outputs():
    claim = Claim("unshared parameters", UNSHARED_PARAMETERS.lhs,
                  st.groups * st.c_in * product(pl.o) * product(pl.k))
    point = Point({**dict(zip(pl.o, (2, 1))), **dict(zip(pl.k, (1, 2))), st.groups: 1,
                   st.c_out: 3, st.c_in: 2}, 1)
    return certified(claim, [point])


prove = THEOREM.prove
render = THEOREM.render
