"""flip-equivalence: a true convolution is a correlation with the flipped kernel.

With flip(w)[g, o, c, m] = w[g, o, c, k - 1 - m] (every spatial axis reversed, rot180 in 2-D;
the channel axes untouched), for every stride, dilation, padding and group count:

    conv(x, w) = corr(x, flip(w)).

And conv is the textbook convolution (x ∗ w)[t] = Σ_m w[m] x̃[t - d·m] read at an offset:

    conv(x, w)[i] = (x ∗ w)[s·i + d(k - 1) - p],

so with unit stride and dilation the offset is k - 1 - p: k - 1 for "valid" (p = 0),
ceil((k - 1)/2) for "same" (p = floor((k - 1)/2), the odd pixel after) and 0 for "full"
(p = k - 1).  Deep-learning "conv" layers compute corr; the weights they learn are the
flipped kernels of the true convolution.
"""

from __future__ import annotations

from convproof.symbolic import Claim, Derivation, Signal, Theorem, certified, universal, zsum
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, convolution, correlation, flipped, g, i,
                                          m, o)

st = Setting()
x, w = Signal("x"), Signal("w")
conv = convolution(x, w, st)
w_flipped = flipped(w, st)
corr_flipped = correlation(x, w_flipped, st, name="corr_flip")

THEOREM = Theorem(
    "flip-equivalence", "Convolution is correlation with the flipped kernel",
    r"\operatorname{conv}(x, w) = \operatorname{corr}(x, \operatorname{flip}(w)),\quad"
    r"\operatorname{flip}(w)_{m} = w_{k-1-m}",
    notes=(
        "The notes call cross-correlation 'just a convolution with transposed kernel K'; it is "
        "a convolution with the flipped kernel, every spatial axis reversed (in 2-D rotated by "
        "180°).  The transpose swaps the axes instead: for the notes' edge detector "
        "[[1, 0, -1], [2, 0, -2], [1, 0, -1]] the transpose is [[1, 2, 1], [0, 0, 0], "
        "[-1, -2, -1]], the flip [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]].",
        "The notes define K on {-k, ..., k}² but sum n₁, n₂ from 1 to k, which drops the taps "
        "at indices ≤ 0; the sums run over the kernel's whole domain, -k to k.",
        "A kernel K(a, b) with a ∈ {-m, ..., m} and b ∈ {-n, ..., n} (the notes' 'filter of "
        "2m × 2n') has (2m + 1) × (2n + 1) taps.",
        "The notes' definition for neural networks sums m over the width's range "
        "{-(w-1)/2, ..., (w-1)/2} and reads it as K's first index and I's row offset, which "
        "range over the height: (K ∗ I)_{i,j,o} = Σ_m Σ_n Σ_c K_{m,n,c,o} I_{iS+m, jS+n, c} "
        "needs m ∈ {-(h-1)/2, ..., (h-1)/2} and n ∈ {-(w-1)/2, ..., (w-1)/2}; with h ≠ w "
        "(a 3 × 5 kernel) the notes' ranges read K outside its domain.",
        "The notes label g(x + τ) in (f ⋆ g)(x) = ∫ f(τ) g(x + τ) dτ the 'flipped kernel' and "
        "say that 'cross correlation flips our kernel automatically': as τ grows, g(x + τ) "
        "runs forward; it is convolution's g(x - τ) that runs backward.  Cross-correlation "
        "reverses nothing, and equals a convolution with the flipped kernel (above).",
    ),
)
THEOREM.expressions["flipped_tap"] = st.k - 1 - m

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
FLIP = THEOREM.export(Claim(
    "flip", conv[b, g, o, i], corr_flipped[b, g, o, i], indices=OUTPUT,
    text="for every input, kernel, stride, dilation, zero padding and group count",
))

t_ = st.input_index(i, st.k - 1)  # the textbook output position that output i is
textbook = Signal("conv_math", r"(x \ast w)", lambda b_, g_, o_, tt: zsum(
    st.inputs(c) * st.taps(m) * w[g_, o_, c, m] * st.pixels(tt - st.d * m)
    * x[b_, g_, c, tt - st.d * m], c, m), arity=4)
OFFSET = THEOREM.export(Claim(
    "offset", conv[b, g, o, i], textbook[b, g, o, t_], indices=OUTPUT,
    text="conv(x, w)[i] is the textbook convolution at s·i + d(k - 1) - p",
))

THEOREM.certifiable = FLIP

read = st.input_index(i, st.k - 1 - m)  # the input position tap m of conv reads
unfolded = zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * st.pixels(read) * x[b, g, c, read],
                c, m)


@THEOREM.evidence
def flip():
    proof = (
        Derivation(FLIP.lhs, "conv(x, w) = corr(x, flip(w))")
        .by("definition", unfolded, "unfold conv: tap m reads s·i + d(k - 1 - m) - p",
            signals=(conv,))
        .by("change of index",
            zsum(st.inputs(c) * st.taps(m) * w[g, o, c, st.k - 1 - m]
                 * st.pixels(st.input_index(i, m)) * x[b, g, c, st.input_index(i, m)], c, m),
            "m -> k - 1 - m is a bijection of the box [0, k - 1]", var=m, to=st.k - 1 - m)
        .back("definition",
              zsum(st.inputs(c) * st.taps(m) * w_flipped[g, o, c, m]
                   * st.pixels(st.input_index(i, m)) * x[b, g, c, st.input_index(i, m)], c, m),
              "w[k - 1 - m] is flip(w)[m]", signals=(w_flipped,))
        .back("definition", FLIP.rhs, "a correlation with flip(w)", signals=(corr_flipped,))
    )
    return universal(FLIP, proof)


@THEOREM.evidence
def offset():
    proof = (
        Derivation(OFFSET.lhs, "the offset to the textbook convolution")
        .by("definition", unfolded, "unfold conv", signals=(conv,))
        .back("definition", OFFSET.rhs,
              "s·i + d(k - 1 - m) - p = (s·i + d(k - 1) - p) - d·m", signals=(textbook,))
    )
    return universal(OFFSET, proof)


@THEOREM.evidence
def certificate():
    return certified(FLIP, conv_points(st), "conv = corr(flip) exact on the standard grid")


@THEOREM.mutant("convolution without the flip (conv = corr with the same kernel)")
def missing_flip():
    claim = Claim("flip", FLIP.lhs, correlation(x, w, st, name="corr_noflip")[b, g, o, i],
                  indices=OUTPUT)
    return certified(claim, conv_points(st, dims=(1, 2)))


@THEOREM.mutant("flip that also reverses the input-channel axis")
def channel_flip():
    both = Signal("flip_both", "w'", lambda g_, o_, c_, m_: st.taps(m_) * st.inputs(c_)
                  * w[g_, o_, st.c_in - 1 - c_, st.k - 1 - m_], arity=4)
    claim = Claim("flip", FLIP.lhs, correlation(x, both, st, name="corr_flip_both")[b, g, o, i],
                  indices=OUTPUT)
    return certified(claim, conv_points(st, dims=(1, 2)))


prove = THEOREM.prove
render = THEOREM.render
