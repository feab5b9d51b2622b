"""toeplitz-structure: unit stride makes the conv matrix Toeplitz; circular padding, circulant.

For unit stride the banded matrix A of banded-matrix is constant along its diagonals:

    A[g, o, c, i, j] = a[g, o, c, j - i],   a[g, o, c, δ] = Σ_m [m ∈ K] w[g, o, c, m] [δ = d·m - p],

so A[i + 1, j + 1] = A[i, j] (the catalog's statement; it is banded-matrix's "shift-invariant
rows" at t = 1).  With multi-indices, i + 1 moves every axis at once; the same lemma at any
t, in particular at the unit vector of one axis, gives the 2-D doubly block-Toeplitz form.
With a stride s > 1 row i + 1 moves s columns, not one (the mutant).

Circular padding reads x[(s·i + d·m - p) mod n]: it is y = C x with

    C[g, o, c, i, j] = [j ∈ N] Σ_m [m ∈ K] w[g, o, c, m] [n | j - (s·i + d·m - p)],

each tap folded onto the one column of [0, n - 1] congruent to its read position.  With unit
stride and q = d(k - 1) - p the output has n rows (C is square) and C is circulant:

    C[(i + t) mod n, (j + t) mod n] = C[i, j]   for i, j ∈ [0, n - 1] and every shift t

(per axis: in 2-D, doubly block circulant).  The catalog's "for s = 1" matters: the Toeplitz
property is a property of unit stride only.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, load, multi,
                                universal, zsum)
from convproof.symbolic import rules_counting  # noqa: F401  (registers the residue rules)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Divides
from convproof.symbolic.operators import (Setting, b, c, circular_correlation, g, i, j, m, o)
from convproof.symbolic.operators_matrix import circulant

st = Setting()
x, w = Signal("x"), Signal("w")
t = multi("t")
A = load("banded-matrix").signals["A"]
C = circulant(w, st)
circ = circular_correlation(x, w, st)
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
SAME_SIZE = sympy.Eq(st.q, st.d * (st.k - 1) - st.p, evaluate=False)
diagonal = Signal("a", "a", lambda g_, o_, c_, d_: zsum(
    st.taps(m) * w[g_, o_, c_, m] * eq(d_, st.d * m - st.p), m), arity=4)


def wrap(e):
    """e mod n, per axis."""
    return sympy.Mod(e, st.n)


THEOREM = Theorem(
    "toeplitz-structure", "Unit stride makes the matrix Toeplitz; circular padding, circulant",
    r"s = 1:\ A_{i+1,j+1} = A_{i,j} = a_{j-i};\qquad "
    r"s = 1,\ p + q = d(k-1):\ C_{(i+t) \bmod n,\,(j+t) \bmod n} = C_{i,j}",
    depends=("banded-matrix",),
)

ENTRY = {g: st.group_box(g), o: st.outputs(o), c: st.inputs(c)}
SHIFT = THEOREM.export(Claim(
    "unit shift", A[g, o, c, i + 1, j + 1], A[g, o, c, i, j], hypotheses=(UNIT_STRIDE,),
    text="unit stride: moving row and column by one leaves the entry unchanged",
))
DIAGONALS = THEOREM.export(Claim(
    "diagonals", A[g, o, c, i, j], diagonal[g, o, c, j - i], hypotheses=(UNIT_STRIDE,),
    text="unit stride: the entry depends on j - i only (the kernel laid along the diagonals)",
))
CIRCULAR = THEOREM.export(Claim(
    "circular matrix", circ[b, g, o, i],
    zsum(st.inputs(c) * st.pixels(j) * C[g, o, c, i, j] * x[b, g, c, j], c, j),
    text="circular padding is y = C x for every stride, dilation, padding and group count",
    indices={b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)},
))
SQUARE = THEOREM.export(Claim(
    "square", st.out, st.n, hypotheses=(UNIT_STRIDE, SAME_SIZE),
    text="with unit stride and p + q = d(k - 1) the output has the input's n rows",
))
square_box = st.pixels(i) * st.pixels(j)
CIRCULANT = THEOREM.export(Claim(
    "circulant", square_box * C[g, o, c, wrap(i + t), wrap(j + t)], square_box * C[g, o, c, i, j],
    hypotheses=(UNIT_STRIDE, SAME_SIZE),
    text="the square matrix of circular padding is circulant: rotating rows and columns together "
         "leaves it unchanged",
    indices={**ENTRY, i: st.pixels(i), j: st.pixels(j)},
))


@THEOREM.evidence
def unit_shift():
    proof = Derivation(SHIFT.lhs, "A[i + 1, j + 1] = A[i, j]").by(
        "known result", SHIFT.rhs,
        "banded-matrix's shift-invariant rows at t = 1; its hypothesis s = 1 is this claim's",
        theorem="banded-matrix", claim="shift-invariant rows", instance={t: 1},
        context=lambda entry: entry)
    return universal(SHIFT, proof)


@THEOREM.evidence
def diagonals():
    tap = st.taps(m) * w[g, o, c, m]
    proof = (
        Derivation(DIAGONALS.lhs, "the entry depends on j - i only")
        .by("definition", zsum(tap * eq(j, st.input_index(i, m)), m), "unfold A", signals=(A,))
        .by("hypothesis", zsum(tap * eq(j, i + st.d * m - st.p), m), "unit stride",
            equation=UNIT_STRIDE)
        .by("algebra", zsum(tap * eq(j - i, st.d * m - st.p), m),
            "j = i + d·m - p says j - i = d·m - p")
        .back("definition", DIAGONALS.rhs, "the kernel on diagonal j - i", signals=(diagonal,))
    )
    return universal(DIAGONALS, proof)


@THEOREM.evidence
def circular_matrix():
    tap = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    read = st.input_index(i, m)
    proof = (
        Derivation(CIRCULAR.lhs, "circular padding as y = C x")
        .by("definition", zsum(tap * x[b, g, c, wrap(read)], c, m),
            "unfold: tap m reads x at (s·i + d·m - p) mod n", signals=(circ,))
        .back("Kronecker delta", zsum(tap * eq(j, wrap(read)) * x[b, g, c, j], c, m, j),
              "name the column j = (s·i + d·m - p) mod n that tap m reads", var=j)
        .by("remainder as congruence",
            zsum(tap * Divides(st.n, read - j) * st.pixels(j) * x[b, g, c, j], c, m, j),
            "j is that remainder exactly when j ≡ s·i + d·m - p (mod n) and 0 ≤ j ≤ n - 1")
        .back("definition", CIRCULAR.rhs, "the sum over taps is C[i, j]", signals=(C,))
    )
    return universal(CIRCULAR, proof)


@THEOREM.evidence
def square():
    reduced = st.out.subs(st.s, 1)
    proof = (
        Derivation(SQUARE.lhs, "the output size")
        .by("hypothesis", reduced, "unit stride: floor(e/1) = e", equation=UNIT_STRIDE)
        .by("hypothesis", SQUARE.rhs, "n + p + q - d(k - 1) with q = d(k - 1) - p",
            equation=SAME_SIZE)
    )
    return universal(SQUARE, proof)


@THEOREM.evidence
def circulant_matrix():
    tap = st.taps(m) * w[g, o, c, m]
    row, column = wrap(i + t), wrap(j + t)
    proof = (
        Derivation(CIRCULANT.lhs, "C[(i + t) mod n, (j + t) mod n] = C[i, j]")
        .by("definition",
            square_box * st.pixels(column)
            * zsum(tap * Divides(st.n, column - st.input_index(row, m)), m),
            "unfold C at the rotated row and column", signals=(C,))
        .by("hypothesis",
            square_box * st.pixels(column)
            * zsum(tap * Divides(st.n, column - row - st.d * m + st.p), m),
            "unit stride", equation=UNIT_STRIDE)
        .by("remainder bounds",
            square_box * zsum(tap * Divides(st.n, column - row - st.d * m + st.p), m),
            "a remainder mod n lies in [0, n - 1]")
        .by("reduce modulo", square_box * zsum(tap * Divides(st.n, j - i - st.d * m + st.p), m),
            "modulo n the remainders are their arguments, and the shift t cancels")
        .back("hypothesis", square_box * zsum(tap * Divides(st.n, j - st.input_index(i, m)), m),
              "unit stride", equation=UNIT_STRIDE)
        .back("definition", CIRCULANT.rhs, "fold C back", signals=(C,))
    )
    return universal(CIRCULANT, proof)


def _circulant_points(limit: dict) -> list:
    """Unit-stride grid points with output size n and shifts -1..2 along the axes."""
    points = []
    for k, point in enumerate(conv_points(st, dims=(1, 2), limit=limit)):
        point.values[st.s] = (1,) * point.dims
        point.values[st.q] = tuple(d * (kk - 1) - p for d, kk, p in
                                   zip(point.values[st.d], point.values[st.k], point.values[st.p]))
        if min(point.values[st.q]) < 0:
            continue
        point.values[t] = tuple((k + a) % 4 - 1 for a in range(point.dims))
        point.label.update(s=point.values[st.s], q=point.values[st.q], t=point.values[t])
        points.append(point)
    return points


@THEOREM.evidence
def certificates():
    return [certified(CIRCULAR, conv_points(st, dims=(1,), limit={1: 4}),
                      "y = C x exact on a 1-D grid"),
            certified(CIRCULANT, _circulant_points({1: 8, 2: 2}),
                      "circulant on unit-stride points")]


def _line_points(stride: int) -> list:
    """1-D grid points with the given stride."""
    points = conv_points(st, dims=(1,), limit={1: 4})
    for point in points:
        point.values[st.s] = point.label["s"] = (stride,)
    return points


@THEOREM.mutant("stride 2 matrix claimed Toeplitz (row i + 1 moved one column)")
def strided_toeplitz():
    claim = Claim("unit shift", SHIFT.lhs, SHIFT.rhs,
                  hypotheses=(sympy.Eq(st.s, 2, evaluate=False),),
                  indices={**ENTRY, i: st.positions(i), j: st.pixels(j)})
    return certified(claim, _line_points(stride=2))


@THEOREM.mutant("circulant with the columns rotated the other way")
def wrong_rotation():
    claim = Claim("circulant", square_box * C[g, o, c, wrap(i + t), wrap(j - t)], CIRCULANT.rhs,
                  hypotheses=CIRCULANT.hypotheses, indices=CIRCULANT.indices)
    return certified(claim, _circulant_points({1: 8, 2: 1}))


@THEOREM.mutant("diagonal index i - j instead of j - i")
def wrong_diagonal():
    claim = Claim("diagonals", DIAGONALS.lhs, diagonal[g, o, c, i - j],
                  hypotheses=DIAGONALS.hypotheses,
                  indices={**ENTRY, i: st.positions(i), j: st.pixels(j)})
    return certified(claim, _line_points(stride=1))


prove = THEOREM.prove
render = THEOREM.render
