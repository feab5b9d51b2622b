"""grad-bias: the bias gradient sums the output error over batch and positions.

Every gradient theorem uses the chain rule in one form: for a loss L of y, with the error
G = ∂L/∂y held fixed, ∂L/∂θ = Σ G · ∂y/∂θ = ∂⟨y, G⟩/∂θ.  For y = corr(x) + bias:

    ∂⟨corr(x) + bias, G⟩ / ∂bias[g, o] = Σ_b Σ_i G[b, g, o, i]

(for each output channel, flat index g·C_out/G + o, within its box).
"""

from __future__ import annotations

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, scalar,
                                universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import (Setting, b, bias_gradient, correlation, g, i, o,
                                          output_inner)

st = Setting()
x, w, grad, bias = Signal("x"), Signal("w"), Signal("G"), Signal("beta", r"\beta")
corr = correlation(x, w, st)
grad_b = bias_gradient(grad, st)
g1, o1 = scalar("g' o'")
loss = output_inner(lambda b_, g_, o_, i_: corr[b_, g_, o_, i_] + bias[g_, o_], grad, st)

THEOREM = Theorem(
    "grad-bias", "The bias gradient sums the error",
    r"\frac{\partial L}{\partial \beta_o} = \sum_{b} \sum_{i} G_{b,o,i}",
)
BIAS = THEOREM.export(Claim(
    "bias gradient", Partial(loss, bias[g1, o1]),
    st.group_box(g1) * st.outputs(o1) * grad_b[g1, o1],
    text="for every error G, input, kernel and size",
    indices={g1: st.group_box(g1), o1: st.outputs(o1)},
))


@THEOREM.evidence
def derivation():
    boxes = st.batches(b) * st.positions(i)
    proof = (
        Derivation(BIAS.lhs, "∂⟨y, G⟩/∂bias")
        .by("differentiate",
            zsum(boxes * st.group_box(g) * st.outputs(o) * eq(g, g1) * eq(o, o1) * grad[b, g, o, i],
                 b, g, o, i),
            "corr(x) does not depend on the bias; ∂bias[g, o]/∂bias[g', o'] = [g = g'][o = o']")
        .by("Kronecker delta",
            zsum(boxes * st.group_box(g1) * st.outputs(o) * eq(o, o1) * grad[b, g1, o, i], b, o, i),
            "only the group g = g' remains", var=g)
        .by("Kronecker delta",
            st.group_box(g1) * st.outputs(o1) * zsum(boxes * grad[b, g1, o1, i], b, i),
            "and the channel o = o'", var=o)
        .back("definition", BIAS.rhs, "that is the sum over batch and positions", signals=(grad_b,))
    )
    return universal(BIAS, proof)


@THEOREM.evidence
def certificate():
    return certified(BIAS, conv_points(st, dims=(1, 2)), "exact on the standard grid")


@THEOREM.mutant("bias gradient divided by the batch size")
def averaged():
    claim = Claim("bias gradient", BIAS.lhs, BIAS.rhs / st.batch, indices=BIAS.indices)
    return certified(claim, [p for p in conv_points(st, dims=(1,)) if p.values[st.batch] > 1])


prove = THEOREM.prove
render = THEOREM.render
