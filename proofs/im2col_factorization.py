"""im2col-factorization: a convolution is one matrix product per group (the GEMM lowering).

Lower the input of group g to the matrix with rows (c, m) (input channel, tap) and columns
(b, i) (sample, output position),

    im2col(x)[(c, m), (b, i)] = x̃[b, g, c, s·i + d·m - p],

and lay the weights out as W_mat[o, (c, m)] = w[g, o, c, m].  Then

    corr(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] W_mat[o, (c, m)] · im2col(x)[(c, m), (b, i)],

a product of a (C_out/G) x (C_in/G·Π k) matrix with a (C_in/G·Π k) x (B·Π o) matrix, for
every stride, dilation, zero padding and group count; flattening (c, m) and (b, i) in
row-major order is a bijection, so the double index is one GEMM index.  Read transposed (rows
= sample x output pixel, columns = output channel, reduction = channel x tap) it is the
implicit GEMM of the kernels, which never store im2col(x): they read x̃ at the exported index
s·i + d·m - p, inside the input where [0 ≤ s·i + d·m - p ≤ n - 1] and zero elsewhere.
"""

from __future__ import annotations

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, in_range, universal,
                                zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import Setting, b, c, correlation, g, i, m, o
from convproof.symbolic.operators_matrix import im2col

st = Setting()
x, w = Signal("x"), Signal("w")
corr = correlation(x, w, st)
col = im2col(x, st)
w_mat = Signal("W_mat", r"W_{\mathrm{mat}}", lambda g_, o_, c_, m_: w[g_, o_, c_, m_], arity=4)
read = st.input_index(i, m)

THEOREM = Theorem(
    "im2col-factorization", "Convolution as a matrix product (im2col and GEMM)",
    r"\operatorname{corr}(x)_{b,g,o,i} = \sum_{(c,m)} W_{\mathrm{mat}}[o,(c,m)]\,"
    r"\operatorname{im2col}(x)[(c,m),(b,i)],\quad"
    r"\operatorname{im2col}(x)[(c,m),(b,i)] = \tilde{x}_{b,g,c,s i + d m - p}",
)
THEOREM.expressions["im2col_index"] = read
THEOREM.expressions["im2col_inside"] = in_range(read, st.n)
THEOREM.signals["im2col"] = col

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}


def gemm(weights: Signal, lowered: Signal):
    """Σ_c Σ_m [c ∈ C_in][m ∈ K] W[o, (c, m)]·L[(c, m), (b, i)] for group g."""
    return zsum(st.inputs(c) * st.taps(m) * weights[g, o, c, m] * lowered[b, g, c, m, i], c, m)


FACTORIZATION = THEOREM.export(Claim(
    "gemm", corr[b, g, o, i], gemm(w_mat, col), indices=OUTPUT,
    text="for every input, kernel, stride, dilation, zero padding and group count",
))
THEOREM.certifiable = FACTORIZATION


@THEOREM.evidence
def factorization():
    proof = (
        Derivation(FACTORIZATION.lhs, "corr(x) = W_mat · im2col(x)")
        .by("definition",
            zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * st.pixels(read) * x[b, g, c, read],
                 c, m),
            "unfold corr(x): channel c and tap m of output i read x̃ at s·i + d·m - p",
            signals=(corr,))
        .back("definition",
              zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * col[b, g, c, m, i], c, m),
              "that read is the entry of im2col(x) in row (c, m), column (b, i)", signals=(col,))
        .back("definition", FACTORIZATION.rhs,
              "w[g, o, c, m] is the entry of W_mat in row o, column (c, m)", signals=(w_mat,))
    )
    return universal(FACTORIZATION, proof)


@THEOREM.evidence
def certificate():
    return certified(FACTORIZATION, conv_points(st, dims=(1, 2), limit={1: 4, 2: 2}),
                     "W_mat · im2col(x) exact on a grid")


def _refuted_by_grid(lowered: Signal, weights: Signal = w_mat):
    claim = Claim("gemm", corr[b, g, o, i], gemm(weights, lowered), indices=OUTPUT)
    return certified(claim, conv_points(st, dims=(1,), limit={1: 8}))


@THEOREM.mutant("im2col with the roles of position and tap swapped (s·m + d·i - p)")
def roles_swapped():
    return _refuted_by_grid(Signal("col_swap", "L'", lambda b_, g_, c_, m_, i_: st.pixels(
        st.input_index(m_, i_)) * x[b_, g_, c_, st.input_index(m_, i_)], arity=5))


@THEOREM.mutant("im2col without the zero padding (reads x outside the input)")
def no_padding_box():
    return _refuted_by_grid(Signal("col_nobox", "L'", lambda b_, g_, c_, m_, i_:
                                   x[b_, g_, c_, st.input_index(i_, m_)], arity=5))


@THEOREM.mutant("W_mat with the channel axes swapped (w[g, c, o, m])")
def weights_transposed():
    swapped = Signal("W_swap", "W'", lambda g_, o_, c_, m_: w[g_, c_, o_, m_], arity=4)
    return _refuted_by_grid(col, swapped)


prove = THEOREM.prove
render = THEOREM.render
