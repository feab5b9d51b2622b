"""grad-weight: the weight gradient correlates the input with the error.

With the error G = ∂L/∂y (see grad-bias for the chain rule in the form ∂⟨y, G⟩/∂θ):

    ∂⟨corr(x), G⟩ / ∂w[g, o, c, m] = Σ_b Σ_i G[b, g, o, i] · x̃[b, g, c, s·i + d·m - p].

Read with m as the output position and i as the tap, this is again a correlation, of the
input with the error: stride d, dilation s (the error is "dilated by the stride"), padding p,
and the batch summed like a channel.  Kernels reuse the forward index map with s and d swapped.
"""

from __future__ import annotations

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, scalar,
                                universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.indexmaps import forward_input_index
from convproof.symbolic.language import Partial, multi
from convproof.symbolic.operators import (Setting, b, c, correlation, g, i, m, o, output_inner,
                                          weight_gradient)

st = Setting()
x, w, grad = Signal("x"), Signal("w"), Signal("G")
corr = correlation(x, w, st)
grad_w = weight_gradient(x, grad, st)
g1, o1, c1 = scalar("g' o' c'")
m1 = multi("m'")
loss = output_inner(lambda *ix: corr[ix], grad, st)
def _swapped_entry(g_, o_, c_, m_):
    """Output m at stride d, tap i at dilation s: the read position d·m + s·i - p."""
    read = forward_input_index(m_, i, st.d, st.s, st.p)
    return st.inputs(c_) * st.taps(m_) * zsum(
        st.batches(b) * st.positions(i) * grad[b, g_, o_, i] * st.pixels(read) * x[b, g_, c_, read],
        b, i)


role_swap = Signal("xcorr", r"\operatorname{corr}_{d,s}(x, G)", _swapped_entry, arity=4)

THEOREM = Theorem(
    "grad-weight", "The weight gradient correlates the input with the error",
    r"\frac{\partial L}{\partial w_{o,c,m}} = "
    r"\sum_{b}\sum_{i} G_{b,o,i}\, \tilde{x}_{b,c,s i + d m - p}",
    notes=("The notes' 'pad X with half the kernels' width' holds for stride 1, an odd kernel "
           "and 'same' padding ((k - 1)/2 on each side); in general x is padded as in the "
           "forward pass (p before, q after) and read at s·i + d·m - p, as above.",
           "The notes compute the kernel gradient as X_s ⋆ E with their ⋆, (f ⋆ g)(x) = "
           "Σ_τ f(τ) g(x + τ): (X ⋆ E)(m) = Σ_τ X[τ] E[m + τ] = ∂L/∂w[-m], the gradient "
           "reversed.  It is E ⋆ X: ∂L/∂w[m] = Σ_i E[i] X[i + m] (stride 1, unit dilation and "
           "no padding; in general as above).",),
)
THEOREM.expressions["input_index"] = st.input_index(i, m)

WEIGHT = THEOREM.export(Claim(
    "weight gradient", Partial(loss, w[g1, o1, c1, m1]),
    st.group_box(g1) * st.outputs(o1) * grad_w[g1, o1, c1, m1],
    text="for every error G, input, stride, dilation, zero padding and group count",
    indices={g1: st.group_box(g1), o1: st.outputs(o1), c1: st.inputs(c1), m1: st.taps(m1)},
))
SWAP = THEOREM.export(Claim(
    "a correlation", grad_w[g1, o1, c1, m1], role_swap[g1, o1, c1, m1],
    text="the weight gradient is the correlation of x with G at stride d and dilation s",
))


@THEOREM.evidence
def derivation():
    outer = st.batches(b) * st.positions(i)
    read = st.input_index(i, m)
    read1 = st.input_index(i, m1)
    proof = (
        Derivation(WEIGHT.lhs, "∂⟨corr(x), G⟩/∂w")
        .by("differentiate",
            zsum(outer * st.group_box(g) * st.outputs(o) * grad[b, g, o, i]
                 * zsum(st.inputs(c) * st.taps(m) * eq(g, g1) * eq(o, o1) * eq(c, c1) * eq(m, m1)
                        * st.pixels(read) * x[b, g, c, read], c, m), b, g, o, i),
            "only the entries of w differ: ∂w[g,o,c,m]/∂w[g',o',c',m'] = [g=g'][o=o'][c=c'][m=m']")
        .by("Kronecker delta",
            zsum(outer * st.group_box(g1) * st.outputs(o) * grad[b, g1, o, i]
                 * zsum(st.inputs(c) * st.taps(m) * eq(o, o1) * eq(c, c1) * eq(m, m1)
                        * st.pixels(read) * x[b, g1, c, read], c, m), b, o, i),
            "g = g'", var=g)
        .by("Kronecker delta",
            zsum(outer * st.group_box(g1) * st.outputs(o1) * grad[b, g1, o1, i]
                 * zsum(st.inputs(c) * st.taps(m) * eq(c, c1) * eq(m, m1)
                        * st.pixels(read) * x[b, g1, c, read], c, m), b, i),
            "o = o'", var=o)
        .by("Kronecker delta",
            zsum(outer * st.group_box(g1) * st.outputs(o1) * grad[b, g1, o1, i]
                 * zsum(st.inputs(c1) * st.taps(m) * eq(m, m1)
                        * st.pixels(read) * x[b, g1, c1, read], m), b, i),
            "c = c'", var=c)
        .by("Kronecker delta",
            st.group_box(g1) * st.outputs(o1) * st.inputs(c1) * st.taps(m1)
            * zsum(outer * grad[b, g1, o1, i] * st.pixels(read1) * x[b, g1, c1, read1], b, i),
            "m = m'", var=m)
        .back("definition", WEIGHT.rhs, "that is ∇w[g', o', c', m']", signals=(grad_w,))
    )
    return universal(WEIGHT, proof)


@THEOREM.evidence
def role_swap_proof():
    read = forward_input_index(m1, i, st.d, st.s, st.p)
    proof = (
        Derivation(SWAP.lhs, "∇w as a correlation of x with G")
        .by("definition",
            st.inputs(c1) * st.taps(m1) * zsum(st.batches(b) * st.positions(i) * grad[b, g1, o1, i]
                                               * st.pixels(read) * x[b, g1, c1, read], b, i),
            "s·i + d·m - p is the read position of output m at stride d, tap i at dilation s",
            signals=(grad_w,))
        .back("definition", SWAP.rhs, "a correlation of x with G", signals=(role_swap,))
    )
    return universal(SWAP, proof)


@THEOREM.evidence
def certificate():
    return certified(WEIGHT, conv_points(st), "exact on the standard grid")


@THEOREM.mutant("weight gradient with the stride applied to the tap instead of the position")
def swapped_roles():
    wrong = Signal("gradw_wrong", "∇w'", lambda g_, o_, c_, m_: st.inputs(c_) * st.taps(m_) * zsum(
        st.batches(b) * st.positions(i) * grad[b, g_, o_, i]
        * st.pixels(forward_input_index(i, m_, st.d, st.s, st.p))
        * x[b, g_, c_, forward_input_index(i, m_, st.d, st.s, st.p)], b, i), arity=4)
    claim = Claim("weight gradient", WEIGHT.lhs,
                  st.group_box(g1) * st.outputs(o1) * wrong[g1, o1, c1, m1], indices=WEIGHT.indices)
    return certified(claim, conv_points(st, dims=(1, 2)))


@THEOREM.mutant("weight gradient without the dilation")
def no_dilation():
    wrong = Signal("gradw_nodil", "∇w'", lambda g_, o_, c_, m_: st.inputs(c_) * st.taps(m_) * zsum(
        st.batches(b) * st.positions(i) * grad[b, g_, o_, i]
        * st.pixels(st.s * i + m_ - st.p) * x[b, g_, c_, st.s * i + m_ - st.p], b, i), arity=4)
    claim = Claim("weight gradient", WEIGHT.lhs,
                  st.group_box(g1) * st.outputs(o1) * wrong[g1, o1, c1, m1], indices=WEIGHT.indices)
    return certified(claim, conv_points(st, dims=(1, 2)))


prove = THEOREM.prove
render = THEOREM.render
