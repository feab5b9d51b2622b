"""layer-equivariance: bias, activations and compositions keep translation equivariance.

A map F of signals on Z^D is equivariant when F(τ_t x) = τ_t F(x), (τ_t x)[j] = x[j - t].
With unit stride (infinite signals, any dilation, channels and groups):

- a per-channel bias is:        (τ_t y + β)[b, g, o, i] = (τ_t (y + β))[b, g, o, i], since
  β[g, o] does not depend on the position;
- an activation φ applied entry by entry is: φ((τ_t y)[i]) = φ(y[i - t]) = (τ_t φ(y))[i];
- a composition of equivariant maps is: F(G(τ_t x)) = F(τ_t G(x)) = τ_t F(G(x));

so a conv layer L(x) = φ(corr(x) + β) is equivariant (corr by translation-equivariance), and
so is a stack L_2(L_1(x)) of two layers: the shift passes through layer 1 (translation-
equivariance, inside φ and inside the sum of layer 2) and then through layer 2's index map.
For stacks of any depth, by induction on the number of layers: a conv layer after any map G
with G(τ_t x) = τ_t G(x) is equivariant, L(G(τ_t x)) = τ_t L(G(x)) (the claim's hypothesis,
z' = τ_t z for every entry, moves each entry the layer reads), and with no layers G is the
identity, whose outputs x and τ_t x satisfy that hypothesis by the definition of τ_t.
φ is an undefined function: nothing about it is used beyond its being applied entrywise.
A bias that depends on the position, or a stride above 1, breaks equivariance (mutants).
"""

from __future__ import annotations

import sympy

from convproof.proofs.translation_equivariance import (UNIT_STRIDE, corr, corr_moved,
                                                       moved, output_moved, st, t, w, x)
from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, multi, scalar,
                                universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, g, i, infinite_correlation, m, o,
                                          shifted)
from convproof.symbolic.rules_sums import every

phi, phi_2 = sympy.Function("phi"), sympy.Function("phi_2")
bias, bias_2 = Signal("beta", r"\beta"), Signal("beta_2", r"\beta_2")
y = Signal("y")


def activated(signal: Signal, name: str, function=phi) -> Signal:
    """φ(y)[b, g, o, i] = φ(y[b, g, o, i])."""
    return Signal(name, rf"\varphi({signal.latex})",
                  lambda b_, g_, o_, i_: function(signal[b_, g_, o_, i_]), arity=4)


def biased(signal: Signal, name: str, offsets: Signal = bias) -> Signal:
    """(y + β)[b, g, o, i] = y[b, g, o, i] + β[g, o]."""
    return Signal(name, rf"{signal.latex} + \beta",
                  lambda b_, g_, o_, i_: signal[b_, g_, o_, i_] + offsets[g_, o_], arity=4)


def conv_layer(correlated: Signal, name: str, function=phi, offsets: Signal = bias) -> Signal:
    """L(x)[b, g, o, i] = φ(corr(x)[b, g, o, i] + β[g, o])."""
    return Signal(name, r"\varphi(\operatorname{corr}(x) + \beta)", lambda b_, g_, o_, i_:
                  function(correlated[b_, g_, o_, i_] + offsets[g_, o_]), arity=4)


OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}

moved_y = shifted(y, t, name="tau(y)")
act_moved, act = activated(moved_y, "phi(tau y)"), activated(y, "phi(y)")
bias_moved, plain_biased = biased(moved_y, "tau y + beta"), biased(y, "y + beta")
layer_moved, layer = conv_layer(corr_moved, "L(tau x)"), conv_layer(corr, "L(x)")
layer_shifted = shifted(layer, t, name="tau L(x)")

# a second layer: its input channels are the first layer's outputs
st_2 = Setting(n=st.n, k=multi("k_2", positive=True), s=multi("s_2", positive=True),
               d=multi("d_2", positive=True), p=multi("p_2", nonnegative=True),
               q=multi("q_2", nonnegative=True), batch=st.batch, groups=st.groups,
               c_in=st.c_out, c_out=scalar("C_2", positive=True))
w_2 = Signal("w_2")
UNIT_STRIDE_2 = sympy.Eq(st_2.s, 1, evaluate=False)
corr_2_moved = infinite_correlation(layer_moved, w_2, st_2, name="corr_2(L(tau x))")
corr_2 = infinite_correlation(layer, w_2, st_2, name="corr_2(L(x))")
net_moved = conv_layer(corr_2_moved, "N(tau x)", phi_2, bias_2)
net = conv_layer(corr_2, "N(x)", phi_2, bias_2)
net_shifted = shifted(net, t, name="tau N(x)")

# a layer after any equivariant map: the induction step for stacks of any depth
below, below_moved = Signal("z"), Signal("z'")  # what the maps below give for x and for τ_t x
any_b, any_g, any_c, any_j = (*scalar("b' g' c'"), multi("j'"))
EQUIVARIANT_BELOW = every((any_b, any_g, any_c, any_j), below_moved[any_b, any_g, any_c, any_j],
                          below[any_b, any_g, any_c, any_j - t])
"""The maps below are equivariant: z'[b, g, c, j] = z[b, g, c, j - t] for every b, g, c, j."""
after_moved_corr = infinite_correlation(below_moved, w, st, name="corr(z')")
after_plain_corr = infinite_correlation(below, w, st, name="corr(z)")
after_moved = conv_layer(after_moved_corr, "L(z')")
after_plain = conv_layer(after_plain_corr, "L(z)")
after_shifted = shifted(after_plain, t, name="tau L(z)")

THEOREM = Theorem(
    "layer-equivariance", "Bias, activations and compositions stay equivariant",
    r"\varphi(\operatorname{corr}(\tau_t x) + \beta) = \tau_t\, \varphi(\operatorname{corr}(x)"
    r" + \beta);\quad L(G(\tau_t x)) = \tau_t L(G(x))\ \text{for every equivariant } G,"
    r"\ \text{so stacks of any depth}\quad\text{(unit strides)}",
    depends=("translation-equivariance",),
)


def _commutes(name: str, lhs: Signal, rhs: Signal, text: str, hypotheses=()) -> Claim:
    return THEOREM.export(Claim(name, lhs[b, g, o, i], rhs[b, g, o, i], hypotheses=hypotheses,
                                indices=OUTPUT, text=text))


act_shifted = shifted(act, t, name="tau phi(y)")
bias_shifted = shifted(plain_biased, t, name="tau(y + beta)")
ACTIVATION = _commutes("activation", act_moved, act_shifted,
                       "an entrywise φ commutes with every shift")
BIAS = _commutes("bias", bias_moved, bias_shifted,
                 "a per-channel bias commutes with every shift")
LAYER = _commutes("conv layer", layer_moved, layer_shifted, "φ(corr(x) + β), unit stride",
                  (UNIT_STRIDE,))
STACK = _commutes("two layers", net_moved, net_shifted, "two conv layers, unit strides",
                  (UNIT_STRIDE, UNIT_STRIDE_2))


NO_LAYERS = THEOREM.export(Claim(
    "no layers", moved[b, g, c, i], x[b, g, c, i - t],
    text="the input itself: (τ_t x)[j] = x[j - t], the hypothesis below for a stack of 0 layers"))
AFTER = _commutes("a layer after an equivariant map", after_moved, after_shifted,
                  "φ(corr(z) + β) with unit stride, after any map z = G(x) with "
                  "G(τ_t x) = τ_t G(x): by induction from no layers, a stack of any depth",
                  (EQUIVARIANT_BELOW, UNIT_STRIDE))


@THEOREM.evidence
def pointwise():
    proofs = []
    for claim, made, plain, moved_plain, entry in (
            (ACTIVATION, act_moved, act, act_shifted, phi),
            (BIAS, bias_moved, plain_biased, bias_shifted, lambda e: e + bias[g, o])):
        proof = (
            Derivation(claim.lhs, claim.name)
            .by("definition", entry(moved_y[b, g, o, i]), f"unfold the {claim.name}",
                signals=(made,))
            .by("definition", entry(y[b, g, o, i - t]), "unfold the shift", signals=(moved_y,))
            .back("definition", plain[b, g, o, i - t], f"the {claim.name} at i - t",
                  signals=(plain,))
            .back("definition", claim.rhs, "that is the moved output", signals=(moved_plain,))
        )
        proofs.append(universal(claim, proof))
    return proofs


@THEOREM.evidence
def one_layer():
    outer = lambda e: phi(e + bias[g, o])  # noqa: E731
    proof = (
        Derivation(LAYER.lhs, "L(τ_t x) = τ_t L(x)")
        .by("definition", outer(corr_moved[b, g, o, i]), "unfold the layer",
            signals=(layer_moved,))
        .by("known result", outer(output_moved[b, g, o, i]),
            "translation-equivariance: corr(τ_t x) = τ_t corr(x), inside φ(· + β)",
            theorem="translation-equivariance", claim="infinite signals",
            instance={}, context=outer)
        .by("definition", outer(corr[b, g, o, i - t]), "unfold the moved correlation",
            signals=(output_moved,))
        .back("definition", layer[b, g, o, i - t], "the layer at i - t", signals=(layer,))
        .back("definition", LAYER.rhs, "that is the moved layer output", signals=(layer_shifted,))
    )
    return universal(LAYER, proof)


@THEOREM.evidence
def two_layers():
    read = st_2.input_index(i, m)
    read_back = st_2.input_index(i - t, m)
    unit_read = i + st_2.d * m - st_2.p

    def outer(inner):
        """φ_2(Σ_c Σ_m [c ∈ C][m ∈ K_2] w_2[g, o, c, m]·inner(c, m) + β_2[g, o])."""
        return phi_2(zsum(st_2.inputs(c) * st_2.taps(m) * w_2[g, o, c, m] * inner, c, m)
                     + bias_2[g, o])

    def first(signal_entry):
        return phi(signal_entry + bias[g, c])

    proof = (
        Derivation(STACK.lhs, "N(τ_t x) = τ_t N(x)")
        .by("definition", phi_2(corr_2_moved[b, g, o, i] + bias_2[g, o]),
            "unfold the second layer", signals=(net_moved,))
        .by("definition", outer(layer_moved[b, g, c, read]),
            "unfold its correlation: tap m reads position s_2·i + d_2·m - p_2 of layer 1",
            signals=(corr_2_moved,))
        .by("definition", outer(first(corr_moved[b, g, c, read])), "unfold the first layer",
            signals=(layer_moved,))
        .by("known result", outer(first(output_moved[b, g, c, read])),
            "translation-equivariance at channel c and position s_2·i + d_2·m - p_2",
            theorem="translation-equivariance", claim="infinite signals",
            instance={o: c, i: read}, context=lambda e: outer(phi(e + bias[g, c])))
        .by("definition", outer(first(corr[b, g, c, read - t])), "unfold the moved correlation",
            signals=(output_moved,))
        .by("hypothesis", outer(first(corr[b, g, c, unit_read - t])), "unit stride of layer 2",
            equation=UNIT_STRIDE_2)
        .back("hypothesis", outer(first(corr[b, g, c, read_back])),
              "which is the position that output i - t of layer 2 reads", equation=UNIT_STRIDE_2)
        .back("definition", outer(layer[b, g, c, read_back]), "fold the first layer",
              signals=(layer,))
        .back("definition", phi_2(corr_2[b, g, o, i - t] + bias_2[g, o]),
              "fold the second correlation at i - t", signals=(corr_2,))
        .back("definition", net[b, g, o, i - t], "fold the second layer", signals=(net,))
        .back("definition", STACK.rhs, "that is the moved output", signals=(net_shifted,))
    )
    return universal(STACK, proof)


def _after(claim: Claim, below_rule: sympy.Eq) -> Derivation:
    """L(z') = τ_t L(z): the hypothesis moves every entry of z' that the layer reads."""
    def outer(entry):
        """φ(Σ_c Σ_m [c ∈ C][m ∈ K] w[g, o, c, m]·entry(read of tap m) + β[g, o])."""
        return phi(zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * entry, c, m) + bias[g, o])

    read, read_back = st.input_index(i, m), st.input_index(i - t, m)
    unit_read = i + st.d * m - st.p
    return (
        Derivation(claim.lhs, "L(z') = τ_t L(z) when z' = τ_t z")
        .by("definition", phi(after_moved_corr[b, g, o, i] + bias[g, o]), "unfold the layer",
            signals=(after_moved,))
        .by("definition", outer(below_moved[b, g, c, read]), "unfold its correlation",
            signals=(after_moved_corr,))
        .by("entry hypothesis", outer(below[b, g, c, read - t]),
            "the maps below are equivariant: z'[b, g, c, j] = z[b, g, c, j - t]",
            equation=below_rule)
        .by("hypothesis", outer(below[b, g, c, unit_read - t]), "unit stride",
            equation=UNIT_STRIDE)
        .back("hypothesis", outer(below[b, g, c, read_back]),
              "which is the position that output i - t reads", equation=UNIT_STRIDE)
        .back("definition", phi(after_plain_corr[b, g, o, i - t] + bias[g, o]),
              "fold the correlation at i - t", signals=(after_plain_corr,))
        .back("definition", after_plain[b, g, o, i - t], "fold the layer",
              signals=(after_plain,))
        .back("definition", claim.rhs, "that is the moved output", signals=(after_shifted,))
    )


@THEOREM.evidence
def any_depth():
    base = Derivation(NO_LAYERS.lhs, "τ_t x").by(
        "definition", NO_LAYERS.rhs, "unfold the shift", signals=(moved,))
    return [universal(NO_LAYERS, base), universal(AFTER, _after(AFTER, EQUIVARIANT_BELOW))]


def _points(stride: int = 1, shift: int = 1) -> list:
    points = conv_points(st, dims=(1,), limit={1: 1})
    for point in points:
        point.values[st.s], point.values[t] = (stride,), (shift,)
        point.label.update(s=(stride,), t=(shift,))
    return points


@THEOREM.mutant("conv layer with the output moved the wrong way (by -t)")
def wrong_direction():
    claim = Claim("conv layer", LAYER.lhs, layer[b, g, o, i + t], indices=OUTPUT)
    return certified(claim, _points())


@THEOREM.mutant("conv layer with a bias that depends on the position")
def positional_bias():
    bias_map = Signal("beta_pos", r"\beta")
    def entry(correlated):
        return lambda b_, g_, o_, i_: phi(correlated[b_, g_, o_, i_] + bias_map[g_, o_, i_])
    moved_layer = Signal("L'(tau x)", "L'", entry(corr_moved), arity=4)
    plain_layer = Signal("L'(x)", "L'", entry(corr), arity=4)
    claim = Claim("conv layer", moved_layer[b, g, o, i], plain_layer[b, g, o, i - t],
                  indices=OUTPUT)
    return certified(claim, _points())


@THEOREM.mutant("a layer after a map that moves its output the other way (z' = τ_-t z)")
def below_moved_back():
    backwards = every((any_b, any_g, any_c, any_j), below_moved[any_b, any_g, any_c, any_j],
                      below[any_b, any_g, any_c, any_j + t])
    claim = Claim(AFTER.name, AFTER.lhs, AFTER.rhs, hypotheses=(backwards, UNIT_STRIDE),
                  indices=OUTPUT)
    return universal(claim, _after(claim, backwards))


@THEOREM.mutant("conv layer with stride 2 moved by one pixel")
def strided_layer():
    claim = Claim("conv layer", LAYER.lhs, LAYER.rhs, indices=OUTPUT)
    return certified(claim, _points(stride=2))



prove = THEOREM.prove
render = THEOREM.render
