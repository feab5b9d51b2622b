"""seed-banded-example: the notes' 5 x 5 matrix W and bias w0 of a 1-D convolution.

The notes write a 1-D convolution of an input of length 5 with the kernel (k1, k2, k3) and the
shared bias b as the fully connected layer W x + w0 with

        [ 0  0  0  0  0 ]          [ 0 ]
        [ k1 k2 k3 0  0 ]          [ b ]
    W = [ 0  k1 k2 k3 0 ],    w0 = [ b ].
        [ 0  0  k1 k2 k3]          [ b ]
        [ 0  0  0  0  0 ]          [ 0 ]

Derivation.  The valid correlation (no padding) has o = 5 - 3 + 1 = 3 outputs and, by
banded-matrix, the 3 x 5 matrix A[i, j] = Σ_m w[m] [j = i + m] with w = (k1, k2, k3).  The
notes keep the input length: they place output i at row i + h (h = 1) of a 5-row matrix,

    E[r, j] = Σ_i [i ∈ O][r = i + h] A[i, j],      e0[r] = Σ_i [i ∈ O][r = i + h] b,

and every bias with it; rows 0 and 4 receive no output, so they are zero in W and in w0.
They are the rows whose window does not fit: a "same" conv (zero padding h on both sides)
would compute them from the padding, [k2 k3 0 0 0] and [0 0 0 k1 k2].  In general, for an
odd kernel k = 2h + 1 with unit stride and dilation,

    [j ∈ N] E[r, j] = [h ≤ r ≤ n - 1 - h] [j ∈ N] S[r, j],

where S is the banded matrix with padding h: the notes' matrix is the "same" matrix with the
rows whose window reaches into the padding set to zero.  This is NOT the "same" zero padding
that a footnote of the same notes names for out-of-range pixels (there, border rows are not
zero): the notes' W x + w0 is the valid convolution written at length n.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq, in_range,
                                le, load, multi, universal, zsum)
from convproof.symbolic.operators import Setting, b, c, g, i, j, m, o
from convproof.proofs.banded_matrix import banded, corr

h = multi("h", nonnegative=True)  # the row of output 0, and the padding of the "same" conv
r = multi("r")
st = Setting()
same = Setting(p=h, q=h)
x, w, bias = Signal("x"), Signal("w"), Signal("bias", "b")
A = load("banded-matrix").signals["A"]
S = banded(w, same, "S")


def lifted(row, i_):
    """[i ∈ O][r = i + h]: output i is written at row i + h."""
    return st.positions(i_) * eq(row, i_ + h)


E = Signal("E", "E", lambda g_, o_, c_, r_, j_: zsum(lifted(r_, i) * A[g_, o_, c_, i, j_], i),
           arity=5)
e0 = Signal("e0", "w_0", lambda g_, o_, r_: zsum(lifted(r_, i) * bias[g_, o_], i), arity=3)

# The notes' matrices, typed from the notes: kernel (k1, k2, k3) = w[0, 0, 0, 0..2], bias b.
k1, k2, k3 = (w[0, 0, 0, tap] for tap in range(3))
b_ = bias[0, 0]
W_NOTES = ((0, 0, 0, 0, 0),
           (k1, k2, k3, 0, 0),
           (0, k1, k2, k3, 0),
           (0, 0, k1, k2, k3),
           (0, 0, 0, 0, 0))
BIAS_NOTES = (0, b_, b_, b_, 0)
SAME_BORDER = ((k2, k3, 0, 0, 0),  # what "same" padding computes in the two zero rows
               (0, 0, 0, 0, 0),
               (0, 0, 0, 0, 0),
               (0, 0, 0, 0, 0),
               (0, 0, 0, k1, k2))


def matrix(rows, row, column):
    """Σ over the nonzero entries (r0, j0) of [row = r0][column = j0]·entry."""
    return sympy.Add(*(eq(row, r0) * eq(column, j0) * entry for r0, line in enumerate(rows)
                       for j0, entry in enumerate(line) if entry != 0))


def vector(entries, row):
    return sympy.Add(*(eq(row, r0) * entry for r0, entry in enumerate(entries) if entry != 0))


THEOREM = Theorem(
    "seed-banded-example", "The notes' 5 x 5 matrix of a 1-D convolution",
    r"W = \begin{bmatrix} 0&0&0&0&0\\ k_1&k_2&k_3&0&0\\ 0&k_1&k_2&k_3&0\\ 0&0&k_1&k_2&k_3\\"
    r" 0&0&0&0&0 \end{bmatrix},\quad w_0 = (0, b, b, b, 0)^T",
    depends=("banded-matrix",),
    notes=("The notes' W keeps the input length 5 and has zero first and last rows: it is the "
           "valid correlation (3 outputs) written at rows 1..3, not \"same\" zero padding, whose "
           "border rows are [k2 k3 0 0 0] and [0 0 0 k1 k2].",),
)

NOTES = {st.n: (5,), st.k: (3,), st.s: (1,), st.d: (1,), st.p: (0,), st.q: (0,), h: (1,),
         st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1}
SQUARE = {r: in_range(r, st.n), j: in_range(j, st.n)}
ODD_SAME = (sympy.Eq(st.s, 1, evaluate=False), sympy.Eq(st.d, 1, evaluate=False),
            sympy.Eq(st.p, 0, evaluate=False), sympy.Eq(st.q, 0, evaluate=False),
            sympy.Eq(st.k, 2 * h + 1, evaluate=False))

# Certified at the notes' sizes (the literal matrices have those sizes):
W = Claim("W", matrix(W_NOTES, r, j), E[0, 0, 0, r, j], indices=SQUARE,
          text="the notes' W is the valid banded matrix with output i at row i + 1")
W0 = Claim("w0", vector(BIAS_NOTES, r), e0[0, 0, r], indices={r: in_range(r, st.n)},
           text="the notes' w0 is the shared bias lifted with the outputs")
SAME_ROWS = Claim("same padding", st.pixels(j) * S[0, 0, 0, r, j],
                  matrix(W_NOTES, r, j) + matrix(SAME_BORDER, r, j), indices=SQUARE,
                  text="\"same\" padding would fill the two zero rows")
LAYER = THEOREM.export(Claim(
    "lifted layer",
    zsum(lifted(r, i) * (corr[b, g, o, i] + bias[g, o]), i),
    zsum(st.inputs(c) * st.pixels(j) * E[g, o, c, r, j] * x[b, g, c, j], c, j) + e0[g, o, r],
    text="the convolution with bias, written at rows i + h, is the affine map E x + e0",
    indices={b: st.batches(b), g: st.group_box(g), o: st.outputs(o), r: in_range(r, st.n)},
))
INTERIOR = THEOREM.export(Claim(
    "interior rows", st.pixels(j) * E[g, o, c, r, j],
    le(h, r) * le(r, st.n - 1 - h) * st.pixels(j) * S[g, o, c, r, j], hypotheses=ODD_SAME,
    text="odd kernel, unit stride: E is the \"same\" matrix without the rows whose window "
         "reaches into the padding",
    indices={g: st.group_box(g), o: st.outputs(o), c: st.inputs(c), **SQUARE},
))


@THEOREM.evidence
def notes_example():
    point = Point(dict(NOTES), 1, note="the notes' example: n = 5, kernel (k1, k2, k3), h = 1")
    return [certified(W, [point], "W from the banded matrix"),
            certified(W0, [point], "w0 from the lifted bias"),
            certified(SAME_ROWS, [point], "the rows \"same\" padding would add"),
            certified(LAYER, [point], "E x + e0 at the notes' sizes"),
            certified(INTERIOR, [point, *_odd_kernels()],
                      "E as the interior of the \"same\" matrix, odd kernels")]


def _odd_kernels() -> list[Point]:
    """Unit stride, no padding, k = 2h + 1 per axis: (n, k) = (7, 5), (4, 1), (6, 3) x (5, 1)."""
    shapes = [((7,), (5,)), ((4,), (1,)), ((6, 5), (3, 1))]
    points = []
    for n, k in shapes:
        ones, zeros = (1,) * len(n), (0,) * len(n)
        values = {st.n: n, st.k: k, st.s: ones, st.d: ones, st.p: zeros, st.q: zeros,
                  h: tuple((kk - 1) // 2 for kk in k), st.batch: 1, st.groups: 2, st.c_in: 2,
                  st.c_out: 1}
        points.append(Point(values, len(n)))
    return points


@THEOREM.evidence
def lifted_layer():
    def context(entry):
        return zsum(lifted(r, i) * (entry + bias[g, o]), i)

    banded_x = zsum(st.inputs(c) * st.pixels(j) * A[g, o, c, i, j] * x[b, g, c, j], c, j)
    proof = (
        Derivation(LAYER.lhs, "the lifted layer is affine")
        .by("known result", context(banded_x), "banded-matrix: corr(x) = A x",
            theorem="banded-matrix", claim="matrix", instance={}, context=context)
        .by("swap sums",
            zsum(st.inputs(c) * st.pixels(j) * zsum(lifted(r, i) * A[g, o, c, i, j], i)
                 * x[b, g, c, j], c, j) + zsum(lifted(r, i) * bias[g, o], i),
            "the sum over outputs i moves inside, next to A")
        .back("definition", LAYER.rhs, "the lifted matrix E and the lifted bias e0",
              signals=(E, e0))
    )
    return universal(LAYER, proof)


@THEOREM.evidence
def interior_rows():
    s_, d_, p_, q_, k_ = ODD_SAME
    taps = le(0, m) * le(m, 2 * h)
    window = le(0, r - h) * le(r - h, st.n - 2 * h - 1)
    proof = (
        Derivation(INTERIOR.lhs, "the notes' matrix inside the \"same\" matrix")
        .by("definition",
            st.pixels(j) * zsum(lifted(r, i) * st.taps(m) * w[g, o, c, m]
                                * eq(j, st.input_index(i, m)), i, m),
            "unfold E and A", signals=None)
        .by("Kronecker delta",
            st.pixels(j) * st.positions(r - h) * zsum(st.taps(m) * w[g, o, c, m]
                                                      * eq(j, st.input_index(r - h, m)), m),
            "the output lifted to row r is i = r - h", var=i, value=r - h)
        .by("hypothesis",
            st.pixels(j) * in_range(r - h, st.out.subs(st.s, 1))
            * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r - h + st.d * m - st.p), m),
            "unit stride", equation=s_)
        .by("hypothesis",
            st.pixels(j) * in_range(r - h, st.n + st.p + st.q - st.k + 1)
            * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r - h + m - st.p), m),
            "no dilation", equation=d_)
        .by("hypothesis",
            st.pixels(j) * in_range(r - h, st.n + st.q - st.k + 1)
            * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r - h + m), m), "no padding", equation=p_)
        .by("hypothesis",
            st.pixels(j) * in_range(r - h, st.n - st.k + 1)
            * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r - h + m), m), "none at the end either",
            equation=q_)
        .by("hypothesis", st.pixels(j) * window * zsum(taps * w[g, o, c, m] * eq(j, r - h + m), m),
            "k = 2h + 1: the valid conv has n - 2h outputs", equation=k_)
        .by("algebra", le(h, r) * le(r, st.n - 1 - h) * st.pixels(j)
            * zsum(taps * w[g, o, c, m] * eq(j, r + m - h), m),
            "0 ≤ r - h ≤ n - 2h - 1 says h ≤ r ≤ n - 1 - h")
        .back("hypothesis", le(h, r) * le(r, st.n - 1 - h) * st.pixels(j)
              * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r + m - h), m),
              "the taps 0 ≤ m ≤ 2h are the kernel's", equation=k_)
        .back("hypothesis", le(h, r) * le(r, st.n - 1 - h) * st.pixels(j)
              * zsum(st.taps(m) * w[g, o, c, m] * eq(j, r + st.d * m - h), m),
              "no dilation", equation=d_)
        .back("hypothesis", le(h, r) * le(r, st.n - 1 - h) * st.pixels(j)
              * zsum(st.taps(m) * w[g, o, c, m] * eq(j, same.input_index(r, m)), m),
              "the read position of row r with padding h", equation=s_)
        .back("definition", INTERIOR.rhs, "that is S[r, j], the \"same\" matrix", signals=(S,))
    )
    return universal(INTERIOR, proof)


def _notes_point() -> list[Point]:
    return [Point(dict(NOTES), 1)]


@THEOREM.mutant("the notes' W is the \"same\" zero-padding matrix")
def same_padding():
    claim = Claim("W", matrix(W_NOTES, r, j), st.pixels(j) * S[0, 0, 0, r, j], indices=SQUARE)
    return certified(claim, _notes_point())


@THEOREM.mutant("output i written at row i (no lift)")
def no_lift():
    top = Signal("E_top", "E'", lambda g_, o_, c_, r_, j_: zsum(
        st.positions(i) * eq(r_, i) * A[g_, o_, c_, i, j_], i), arity=5)
    return certified(Claim("W", matrix(W_NOTES, r, j), top[0, 0, 0, r, j], indices=SQUARE),
                     _notes_point())


@THEOREM.mutant("bias b on every row")
def bias_everywhere():
    return certified(Claim("w0", vector((b_,) * 5, r), e0[0, 0, r], indices={r: in_range(r, st.n)}),
                     _notes_point())


prove = THEOREM.prove
render = THEOREM.render
