"""stride-is-subsampling: a strided convolution is a unit-stride one, sub-sampled.

With X = n + p + q - d(k - 1) - 1, the unit-stride correlation corr_1 has o_1 = X + 1 output
positions and the strided one corr_s has o_s = ⌊X/s⌋ + 1.  The sizes match because

    i ∈ O_s   ⟺   i ≥ 0 and s·i ∈ O_1                   (i ≤ ⌊X/s⌋ ⟺ s·i ≤ X),

so o_s = ⌊(o_1 - 1)/s⌋ + 1 is the number of multiples of s in [0, o_1 - 1].  Then

    corr_s(x) = sub_s(corr_1(x)),        sub_s(y)[i] = y[s·i],
    convT_s(G) = convT_1(up_s(G)),       up_s(G)[u] = Σ_i [i ∈ O_s][u = s·i] G[i],

where convT_s is the transposed convolution with output padding a = X mod s (the backward of
corr_s, grad-input-flip) and convT_1 its unit-stride version (a = 0; both return n positions).
The second line is the first one transposed: up_s is the adjoint of sub_s,
⟨sub_s y, G⟩ = ⟨y, up_s G⟩, so (sub_s ∘ corr_1)ᵀ = corr_1ᵀ ∘ sub_sᵀ = convT_1 ∘ up_s.  The
notes' "upsampling followed by transposed convolution" is this order: first up_s, then convT_1.
Sub-sampling computes o_1 outputs to keep o_s of them: the identity, not the implementation.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, le, multi,
                                universal, zsum)
from convproof.symbolic import rules_backward  # noqa: F401  (registers "bound under a floor")
from convproof.symbolic.certificates import value_at
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, correlation, g, i, j, m, o,
                                          output_inner, transposed)
from convproof.symbolic.operators_sampling import subsampled, unit_stride, upsampled

st = Setting()
unit = unit_stride(st)
x, w, y, grad = Signal("x"), Signal("w"), Signal("y"), Signal("G")
u = multi("u")
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)
X = unit.out - 1  # n + p + q - d(k - 1) - 1: the last unit-stride position

corr_s = correlation(x, w, st, name="corr_s")
corr_1 = correlation(x, w, unit, name="corr_1")
dense = Signal("y_1", r"\operatorname{corr}_1(x)",
               lambda b_, g_, o_, u_: unit.positions(u_) * corr_1[b_, g_, o_, u_], arity=4)
sub = subsampled(dense, st)
sub_y = subsampled(y, st, name="sub_y")
up = upsampled(grad, st)
convT_s = transposed(grad, w, st, name="convT_s")
convT_1 = transposed(up, w, unit, name="convT_1")

THEOREM = Theorem(
    "stride-is-subsampling", "A strided convolution is a sub-sampled unit-stride convolution",
    r"\operatorname{corr}_s = \operatorname{sub}_s \circ \operatorname{corr}_1,\quad "
    r"\operatorname{conv}^T_s = \operatorname{conv}^T_1 \circ \operatorname{up}_s\ "
    r"(a = (n + p + q - d(k-1) - 1) \bmod s),\quad "
    r"i \in O_s \iff 0 \le i,\ s i \le o_1 - 1",
    depends=("grad-input-flip",),
    notes=("The notes' 'upsampling followed by transposed convolution' is exact with the sizes: "
           "up_s places the o_s = floor((o_1 - 1)/s) + 1 errors at the multiples of s in the "
           "o_1 unit-stride positions, and the strided transposed convolution needs the output "
           "padding a = (n + p + q - d(k - 1) - 1) mod s to return n positions.",),
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
INPUT = {b: st.batches(b), g: st.group_box(g), c: st.inputs(c), j: st.pixels(j)}

SIZES = THEOREM.export(Claim(
    "sizes", st.positions(i), le(0, i) * le(st.s * i, X),
    text="the strided positions are the i ≥ 0 with s·i a unit-stride position",
))
COUNT = THEOREM.export(Claim(
    "count", st.out, sympy.floor((unit.out - 1) / st.s) + 1,
    text="o_s = ⌊(o_1 - 1)/s⌋ + 1: the multiples of s in [0, o_1 - 1]",
))
FORWARD = THEOREM.export(Claim(
    "forward", st.positions(i) * corr_s[b, g, o, i], sub[b, g, o, i], indices=OUTPUT,
    text="corr_s(x) = sub_s(corr_1(x)) for every stride, dilation, zero padding and group count",
))
ADJOINT = THEOREM.export(Claim(
    "up is the transpose of sub", output_inner(lambda *ix: sub_y[ix], grad, st),
    output_inner(lambda *ix: y[ix], up, unit),
    text="⟨sub_s y, G⟩ over the strided outputs = ⟨y, up_s G⟩ over the unit-stride outputs",
))
BACKWARD = THEOREM.export(Claim(
    "backward", convT_s[b, g, c, j], convT_1[b, g, c, j], hypotheses=(OUTPUT_PADDING,),
    indices=INPUT,
    text="convT_s(G) = convT_1(up_s(G)) with the output padding that restores n",
))

THEOREM.certifiable = FORWARD


def _floor_free_box(index):
    """[0 ≤ i][s·i ≤ X]: the strided box with the floor removed."""
    return le(0, index) * le(st.s * index, X)


@THEOREM.evidence
def sizes():
    return [
        universal(SIZES, Derivation(SIZES.lhs, "the strided box").by(
            "bound under a floor", SIZES.rhs, "i ≤ ⌊X/s⌋ ⟺ s·i ≤ X for s ≥ 1")),
        universal(COUNT, Derivation(COUNT.lhs, "the number of strided positions").by(
            "algebra", COUNT.rhs, "o_1 - 1 = X")),
    ]


@THEOREM.evidence
def forward():
    read = st.input_index(i, m)
    window = zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * st.pixels(read) * x[b, g, c, read],
                  c, m)
    inside = le(0, st.s * i) * le(st.s * i, X)  # s·i ∈ O_1
    proof = (
        Derivation(FORWARD.lhs, "corr_s(x) = sub_s(corr_1(x))")
        .by("definition", st.positions(i) * window, "unfold corr_s", signals=(corr_s,))
        .by("bound under a floor", _floor_free_box(i) * window, "i ≤ ⌊X/s⌋ ⟺ s·i ≤ X")
        .back("cancel a positive factor", _floor_free_box(i) * inside * window,
              "0 ≤ s·i says 0 ≤ i (s ≥ 1): so s·i is a unit-stride position", factor=st.s)
        .back("bound under a floor", st.positions(i) * inside * window, "fold the strided box")
        .back("definition", st.positions(i) * inside * corr_1[b, g, o, st.s * i],
              "unit stride reads 1·(s·i) + d·m - p: the window of corr_1 at s·i",
              signals=(corr_1,))
        .back("definition", st.positions(i) * dense[b, g, o, st.s * i],
              "corr_1 within its box", signals=(dense,))
        .back("definition", FORWARD.rhs, "keep every s-th entry", signals=(sub,))
    )
    return universal(FORWARD, proof)


@THEOREM.evidence
def adjoint():
    outer = st.batches(b) * st.group_box(g) * st.outputs(o)
    entries = y[b, g, o, st.s * i] * grad[b, g, o, i]
    landed = unit.positions(u) * eq(u, st.s * i) * y[b, g, o, u] * grad[b, g, o, i]
    proof = (
        Derivation(ADJOINT.lhs, "⟨sub_s y, G⟩ = ⟨y, up_s G⟩")
        .by("definition", zsum(outer * st.positions(i) * entries, b, g, o, i),
            "unfold sub_s", signals=(sub_y,))
        .by("bound under a floor", zsum(outer * _floor_free_box(i) * entries, b, g, o, i),
            "i ≤ ⌊X/s⌋ ⟺ s·i ≤ X")
        .back("cancel a positive factor",
              zsum(outer * _floor_free_box(i) * le(0, st.s * i) * entries, b, g, o, i),
              "0 ≤ s·i says 0 ≤ i (s ≥ 1)", factor=st.s)
        .back("Kronecker delta", zsum(outer * _floor_free_box(i) * landed, b, g, o, i, u),
              "name the unit-stride position u = s·i that output i is taken from", var=u)
        .back("bound under a floor", zsum(outer * st.positions(i) * landed, b, g, o, i, u),
              "fold the strided box")
        .back("definition", ADJOINT.rhs, "Σ_i [i ∈ O_s][u = s·i] G[i] is up_s(G)[u]",
              signals=(up,))
    )
    return universal(ADJOINT, proof)


@THEOREM.evidence
def backward():
    taps = st.outputs(o) * st.taps(m) * w[g, o, c, m]
    strided = taps * grad[b, g, o, i] * eq(j, st.input_index(i, m))
    landed = taps * unit.positions(u) * eq(u, st.s * i) * grad[b, g, o, i] \
        * eq(j, unit.input_index(u, m))
    pixels = le(0, j) * le(j, st.n - 1)  # the n positions both transposes return
    proof = (
        Derivation(BACKWARD.lhs, "convT_s(G) = convT_1(up_s(G))")
        .by("definition",
            le(0, j) * le(j, st.transposed_size - 1) * zsum(st.positions(i) * strided, o, i, m),
            "unfold the strided scatter", signals=(convT_s,))
        .by("hypothesis",
            le(0, j) * le(j, st.transposed_size.subs(st.a, st.unused) - 1)
            * zsum(st.positions(i) * strided, o, i, m),
            "the output padding a = X mod s", equation=OUTPUT_PADDING)
        .by("division with remainder", pixels * zsum(st.positions(i) * strided, o, i, m),
            "s·⌊X/s⌋ + (X mod s) = X: the strided transpose returns n positions")
        .by("bound under a floor", pixels * zsum(_floor_free_box(i) * strided, o, i, m),
            "i ≤ ⌊X/s⌋ ⟺ s·i ≤ X")
        .back("cancel a positive factor",
              pixels * zsum(_floor_free_box(i) * le(0, st.s * i) * strided, o, i, m),
              "0 ≤ s·i says 0 ≤ i (s ≥ 1): the error lands inside the unit-stride output",
              factor=st.s)
        .back("Kronecker delta",
              pixels * zsum(_floor_free_box(i) * le(0, st.s * i) * eq(u, st.s * i) * strided,
                            o, i, m, u),
              "name the unit-stride position u = s·i where error i lands", var=u)
        .back("use the delta", pixels * zsum(_floor_free_box(i) * landed, o, i, m, u),
              "under [u = s·i], s·i is u: in the box and in the scatter", var=u)
        .back("bound under a floor", pixels * zsum(st.positions(i) * landed, o, i, m, u),
              "fold the strided box")
        .back("definition",
              pixels * zsum(taps * unit.positions(u) * up[b, g, o, u]
                            * eq(j, unit.input_index(u, m)), o, u, m),
              "Σ_i [i ∈ O_s][u = s·i] G[i] is up_s(G)[u]", signals=(up,))
        .back("definition", BACKWARD.rhs, "the unit-stride scatter of up_s(G), n positions",
              signals=(convT_1,))
    )
    return universal(BACKWARD, proof)


def _points(dims=(1,), limit=None):
    return conv_points(st, dims=dims, limit=limit or {1: 3, 2: 1})


@THEOREM.evidence
def certificate():
    return certified(FORWARD, _points(), "corr_s = sub_s ∘ corr_1 on the grid")


@THEOREM.mutant("the strided box kept as [0 ≤ i ≤ o_1 - 1] (o_1 outputs for every stride)")
def unit_box():
    claim = Claim("sizes", SIZES.lhs, le(0, i) * le(i, X), indices={i: le(0, i) * le(i, X)})
    return certified(claim, [p for p in _points() if max(p.values[st.s]) > 1])


@THEOREM.mutant("backward that up-samples the error to s·i + 1 (off by one)")
def shifted_upsampling():
    wrong_up = Signal("up_off", "u'", lambda b_, g_, o_, u_: zsum(
        st.positions(i) * eq(u_, st.s * i + 1) * grad[b_, g_, o_, i], i), arity=4)
    wrong = transposed(wrong_up, w, unit, name="convT_1_off")
    claim = Claim("backward", BACKWARD.lhs, wrong[b, g, c, j], hypotheses=BACKWARD.hypotheses,
                  indices=INPUT)
    return certified(claim, _points())


@THEOREM.mutant("backward without output padding (a = 0 for the strided transpose)")
def no_output_padding():
    claim = Claim("backward", BACKWARD.lhs, BACKWARD.rhs,
                  hypotheses=(sympy.Eq(st.a, 0, evaluate=False),), indices=INPUT)
    dropped = [p for p in conv_points(st, dims=(1,)) if value_at(st.unused, p) != (0,)]
    return certified(claim, dropped[:1])


prove = THEOREM.prove
render = THEOREM.render
