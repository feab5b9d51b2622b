"""banded-matrix: a convolution is multiplication by a banded matrix.

N-d correlation with stride s, dilation d and zero padding (p, q) is y = A x with

    A[g, o, c, i, j] = Σ_m [m ∈ K] w[g, o, c, m] · [j = s·i + d·m - p],

and row i of A is nonzero only in the columns s·i - p ... s·i - p + d(k - 1): the window of
output i.  With multi-indices i, j every number of dims is covered at once; for unit stride A
does not change when i and j move together (A[i + t, j + t] = A[i, j]), which in 2-D, along
the two axes in turn, is the doubly block-Toeplitz structure: Toeplitz blocks (the inner axis)
arranged as a block-Toeplitz matrix (the outer axis).
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, le, multi,
                                universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import Setting, b, c, correlation, g, i, j, m, o

st = Setting()
x, w = Signal("x"), Signal("w")
corr = correlation(x, w, st)


def banded(weight: Signal, setting: Setting, name: str = "A") -> Signal:
    """A[g, o, c, i, j] = Σ_m [m ∈ K] w[g, o, c, m] [j = s·i + d·m - p]."""
    return Signal(name, name, lambda g_, o_, c_, i_, j_: zsum(
        setting.taps(m) * weight[g_, o_, c_, m] * eq(j_, setting.input_index(i_, m)), m), arity=5)


A = banded(w, st)
t = multi("t")
read = st.input_index(i, m)

THEOREM = Theorem(
    "banded-matrix", "Convolution is multiplication by a banded matrix",
    r"\operatorname{corr}(x) = A x,\quad A_{i,j} = \sum_{m} w_m [j = s i + d m - p],"
    r"\quad A_{i,j} \ne 0 \Rightarrow s i - p \le j \le s i - p + d(k-1)",
)
THEOREM.expressions["input_index"] = read

MATRIX = THEOREM.export(Claim(
    "matrix", corr[b, g, o, i],
    zsum(st.inputs(c) * st.pixels(j) * A[g, o, c, i, j] * x[b, g, c, j], c, j),
    text="y = A x for every input, kernel, stride, dilation, zero padding and group count",
    indices={b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)},
))
BAND = THEOREM.export(Claim(
    "band", A[g, o, c, i, j],
    le(st.s * i - st.p, j) * le(j, st.s * i - st.p + st.d * (st.k - 1)) * A[g, o, c, i, j],
    text="outside the window of output i, row i of A is zero",
))
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
TOEPLITZ = THEOREM.export(Claim(
    "shift-invariant rows", A[g, o, c, i + t, j + t], A[g, o, c, i, j], hypotheses=(UNIT_STRIDE,),
    text="with unit stride, moving row and column together leaves A unchanged",
))

THEOREM.signals["A"] = A
THEOREM.certifiable = MATRIX

@THEOREM.evidence
def matrix_form():
    proof = (
        Derivation(MATRIX.lhs, "corr(x) = A x")
        .by("definition",
            zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * st.pixels(read) * x[b, g, c, read],
                 c, m),
            "unfold corr(x)", signals=(corr,))
        .back("Kronecker delta",
              zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * eq(j, read) * st.pixels(j)
                   * x[b, g, c, j], c, m, j),
              "sum over every input position j, keeping the one tap m reads", var=j)
        .back("definition", MATRIX.rhs, "the bracket sum over m is the entry A[i, j]", signals=(A,))
    )
    return universal(MATRIX, proof)


@THEOREM.evidence
def band():
    tap = st.taps(m) * w[g, o, c, m] * eq(j, read)
    window = le(st.s * i - st.p, j) * le(j, st.s * i - st.p + st.d * (st.k - 1))
    proof = (
        Derivation(BAND.lhs, "the band of row i")
        .by("definition", zsum(tap, m), "unfold A", signals=(A,))
        .back("cancel a positive factor",
              zsum(tap * le(0, st.d * m) * le(st.d * m, st.d * (st.k - 1)), m),
              "d ≥ 1: 0 ≤ d·m ≤ d(k - 1) says no more than 0 ≤ m ≤ k - 1", factor=st.d)
        .back("use the delta", zsum(tap * window, m),
              "under [j = s·i + d·m - p], the window bounds on j are bounds on d·m", var=j)
        .back("definition", BAND.rhs, "fold A back", signals=(A,))
    )
    return universal(BAND, proof)


@THEOREM.evidence
def shift_invariance():
    proof = (
        Derivation(TOEPLITZ.lhs, "unit stride: A[i + t, j + t] = A[i, j]")
        .by("definition",
            zsum(st.taps(m) * w[g, o, c, m] * eq(j + t, st.input_index(i + t, m)), m),
            "unfold A at (i + t, j + t)", signals=(A,))
        .by("hypothesis", zsum(st.taps(m) * w[g, o, c, m] * eq(j + t, i + t + st.d * m - st.p), m),
            "unit stride", equation=UNIT_STRIDE)
        .by("algebra", zsum(st.taps(m) * w[g, o, c, m] * eq(j, i + st.d * m - st.p), m),
            "t cancels: the bracket only sees j - i")
        .back("hypothesis", zsum(st.taps(m) * w[g, o, c, m] * eq(j, read), m),
              "unit stride", equation=UNIT_STRIDE)
        .back("definition", TOEPLITZ.rhs, "fold A back", signals=(A,))
    )
    return universal(TOEPLITZ, proof)


@THEOREM.evidence
def certificate():
    return certified(MATRIX, conv_points(st), "y = A x exact on the standard grid")


@THEOREM.mutant("banded matrix with the tap index reversed (a true convolution)")
def reversed_taps():
    wrong = Signal("A_rev", "A'", lambda g_, o_, c_, i_, j_: zsum(
        st.taps(m) * w[g_, o_, c_, m] * eq(j_, st.input_index(i_, st.k - 1 - m)), m), arity=5)
    claim = Claim("matrix", MATRIX.lhs,
                  zsum(st.inputs(c) * st.pixels(j) * wrong[g, o, c, i, j] * x[b, g, c, j], c, j),
                  indices=MATRIX.indices)
    return certified(claim, conv_points(st, dims=(1, 2)))


@THEOREM.mutant("banded matrix with the padding offset by one at the start")
def padding_off_by_one():
    wrong = Signal("A_pad", "A'", lambda g_, o_, c_, i_, j_: zsum(
        st.taps(m) * w[g_, o_, c_, m] * eq(j_, st.input_index(i_, m) + 1), m), arity=5)
    claim = Claim("matrix", MATRIX.lhs,
                  zsum(st.inputs(c) * st.pixels(j) * wrong[g, o, c, i, j] * x[b, g, c, j], c, j),
                  indices=MATRIX.indices)
    return certified(claim, conv_points(st, dims=(1, 2)))


@THEOREM.mutant("band that ends one column early")
def short_band():
    claim = Claim("band", BAND.lhs,
                  le(st.s * i - st.p, j) * le(j, st.s * i - st.p + st.d * (st.k - 1) - 1)
                  * A[g, o, c, i, j],
                  indices={g: st.group_box(g), o: st.outputs(o), c: st.inputs(c),
                           i: st.positions(i), j: st.pixels(j)})
    return certified(claim, conv_points(st, dims=(1,)))


prove = THEOREM.prove
render = THEOREM.render
