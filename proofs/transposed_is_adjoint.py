"""transposed-is-adjoint: the transposed convolution is the adjoint of the convolution.

For every input x, weight w and output-shaped y, with stride s, dilation d, padding (p, q),
groups G and output_padding a = (n + p + q - d(k - 1) - 1) mod s:

    ⟨corr(x), y⟩ = ⟨x, convT(y)⟩,

so the matrix of convT is the transpose Aᵀ of the banded matrix A of corr.  The output_padding
is what makes the sizes correspond: the floor rule of the output size forgets
(n + p + q - d(k - 1) - 1) mod s trailing rows of the input, and a gives them back.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, le, universal,
                                zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, correlation, g, i, input_inner, j, m, o,
                                          output_inner, transposed)

st = Setting()
x, w, y = Signal("x"), Signal("w"), Signal("y")
corr = correlation(x, w, st)
convT = transposed(y, w, st)
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)

THEOREM = Theorem(
    "transposed-is-adjoint", "The transposed convolution is the adjoint of the convolution",
    r"\langle \operatorname{corr}(x), y\rangle = \langle x, \operatorname{conv}^{T}(y)\rangle"
    r"\quad\text{for } a = (n + p + q - d(k-1) - 1) \bmod s",
)

ADJOINT = THEOREM.export(Claim(
    "adjoint", output_inner(lambda *ix: corr[ix], y, st), input_inner(lambda *ix: x[ix], convT, st),
    hypotheses=(OUTPUT_PADDING,),
    text="for all x, w, y of matching shapes, every stride, dilation, padding and group count",
))

THEOREM.signals["convT"] = convT
THEOREM.certifiable = ADJOINT

@THEOREM.evidence
def derivation():
    outer = st.batches(b) * st.group_box(g)
    window = st.outputs(o) * st.positions(i) * st.taps(m)
    read = st.input_index(i, m)  # the input position that tap m of output i reads
    terms = w[g, o, c, m] * y[b, g, o, i]
    gathered = outer * st.inputs(c) * st.pixels(j) * x[b, g, c, j]
    scatter = zsum(window * terms * eq(j, read), o, i, m)
    reduced_size = st.transposed_size.subs(st.a, st.unused)
    proof = (
        Derivation(ADJOINT.lhs, "⟨corr(x), y⟩ unfolded and regrouped by input position")
        .by("definition",
            zsum(outer * window * st.inputs(c) * terms * st.pixels(read) * x[b, g, c, read],
                 b, g, o, i, c, m),
            "unfold corr(x): each output i sums the taps m and channels c of its window",
            signals=(corr,))
        .back("Kronecker delta",
              zsum(outer * window * st.inputs(c) * terms * eq(j, read) * st.pixels(j)
                   * x[b, g, c, j], b, g, o, i, c, m, j),
              "name the input position j = s·i + d·m - p that tap m of output i reads", var=j)
        .by("swap sums", zsum(gathered * scatter, b, g, c, j),
            "gather, for each input position j, every (o, i, m) that reads it")
        .back("division with remainder",
              zsum(gathered * le(j, reduced_size - 1) * scatter, b, g, c, j),
              "(o - 1)s + ((n + p + q - d(k-1) - 1) mod s) = n + p + q - d(k-1) - 1, so the "
              "transposed size n' equals n and its box adds nothing")
        .back("hypothesis",
              zsum(gathered * le(j, st.transposed_size - 1) * scatter, b, g, c, j),
              "a is the number of rows the floor rule left out", equation=OUTPUT_PADDING)
        .back("definition", ADJOINT.rhs, "fold the scatter back into convT(y)", signals=(convT,))
    )
    return universal(ADJOINT, proof)


@THEOREM.evidence
def certificate():
    return certified(ADJOINT, conv_points(st), "exact on the standard grid, groups included")


@THEOREM.mutant("the adjoint without the output padding (a = 0 always)")
def no_output_padding():
    claim = Claim("adjoint", ADJOINT.lhs, ADJOINT.rhs,
                  hypotheses=(sympy.Eq(st.a, 0, evaluate=False),))
    return certified(claim, conv_points(st, dims=(1,)))


@THEOREM.mutant("a transposed convolution that scatters with the flipped kernel")
def flipped_scatter():
    def entry(b_, g_, c_, j_):
        return le(0, j_) * le(j_, st.transposed_size - 1) * zsum(
            st.outputs(o) * st.positions(i) * st.taps(m) * w[g_, o, c_, st.k - 1 - m]
            * y[b_, g_, o, i] * eq(j_, st.input_index(i, m)), o, i, m)
    flipped = Signal("convT_flipped", r"\operatorname{conv}^{T}_{\text{flip}}", entry, arity=4)
    claim = Claim("adjoint", ADJOINT.lhs, input_inner(lambda *ix: x[ix], flipped, st),
                  hypotheses=(OUTPUT_PADDING,))
    return certified(claim, conv_points(st, dims=(1, 2)))


prove = THEOREM.prove
render = THEOREM.render
