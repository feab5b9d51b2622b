"""one-by-one-is-dense: a 1 x 1 convolution is a fully connected layer along the channels.

With one tap (k = 1 on every axis) the only tap is m = 0, and the convolution applies the
C_out/G x C_in/G matrix W_fc[o, c] = w[g, o, c, 0] to the channel vector of one pixel:

    corr(x)[b, g, o, i] = dense(x)[b, g, o, s·i - p],
    dense(x)[b, g, o, j] = Σ_c [c ∈ C_in] W_fc[g, o, c] x̃[b, g, c, j],

for every stride, dilation (it has nothing to dilate) and padding.  With s = 1 and p = 0 this
is the dense layer at every pixel, y[·, i] = W_fc x[·, i], and the matrix of the conv is
W_fc ⊗ I (Kronecker product with the identity over the pixels):

    ∂corr(x)[b, g, o, i]/∂x[b', g', c', j']
        = [b = b'][g = g'][c' ∈ C_in][j' ∈ N][j' = i]·W_fc[g, o, c'].
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, le, multi,
                                scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import Setting, b, c, correlation, g, i, m, o

st = Setting()
x, w = Signal("x"), Signal("w")
corr = correlation(x, w, st)
b1, g1, c1 = scalar("b' g' c'")
j1 = multi("j'")
w_fc = Signal("W_fc", r"W_{\mathrm{fc}}", lambda g_, o_, c_: w[g_, o_, c_, 0], arity=3)
dense = Signal("dense", r"\operatorname{dense}(x)", lambda b_, g_, o_, j_: zsum(
    st.inputs(c) * w_fc[g_, o_, c] * st.pixels(j_) * x[b_, g_, c, j_], c), arity=4)
ONE_TAP = sympy.Eq(st.k, 1, evaluate=False)
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
NO_PADDING = sympy.Eq(st.p, 0, evaluate=False)

THEOREM = Theorem(
    "one-by-one-is-dense", "A 1 x 1 convolution is a dense layer at every pixel",
    r"k = 1:\ \operatorname{corr}(x)_{b,g,o,i} = \sum_{c} w_{g,o,c,0}\, \tilde{x}_{b,g,c,s i - p}",
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
STRIDED = THEOREM.export(Claim(
    "one tap", corr[b, g, o, i], dense[b, g, o, st.s * i - st.p], hypotheses=(ONE_TAP,),
    indices=OUTPUT, text="one tap: the dense layer at the pixel s·i - p, any stride and padding",
))
PIXELWISE = THEOREM.export(Claim(
    "every pixel", corr[b, g, o, i], dense[b, g, o, i],
    hypotheses=(ONE_TAP, UNIT_STRIDE, NO_PADDING), indices=OUTPUT,
    text="one tap, unit stride, no padding: the dense layer at every pixel",
))
KRONECKER = THEOREM.export(Claim(
    "kronecker", Partial(corr[b, g, o, i], x[b1, g1, c1, j1]),
    eq(b, b1) * eq(g, g1) * st.inputs(c1) * st.pixels(j1) * eq(j1, i) * w_fc[g, o, c1],
    hypotheses=(ONE_TAP, UNIT_STRIDE, NO_PADDING),
    indices={**OUTPUT, b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1),
             j1: st.pixels(j1)},
    text="the matrix of a 1 x 1 conv is W_fc ⊗ I: the same dense block at every pixel",
))


def _only_tap(start, first: str, factor, title: str, **params) -> Derivation:
    """start = Σ_c Σ_m [c ∈ C][m ∈ K]·factor(m, s·i + d·m - p) by the rule ``first`` (unfold
    or differentiate), then reduced to the one tap m = 0 and summed over it."""
    def summand(taps):
        return zsum(st.inputs(c) * taps * factor(m, st.input_index(i, m)), c, m)

    only = st.s * i - st.p
    return (
        Derivation(start, title)
        .by(first, summand(le(0, m) * le(m, st.k - 1)), "the sum over channels and taps",
            **params)
        .by("hypothesis", summand(le(0, m) * le(m, 0)), "one tap", equation=ONE_TAP)
        .by("antisymmetry", summand(eq(m, 0)), "0 ≤ m ≤ 0 says m = 0")
        .by("Kronecker delta", zsum(st.inputs(c) * factor(0, only), c),
            "the only tap m = 0 reads s·i - p", var=m, value=0)
    )


def _read(tap, read):
    return w[g, o, c, tap] * st.pixels(read) * x[b, g, c, read]


def _to_dense(title: str) -> Derivation:
    """corr(x)[b, g, o, i] = dense(x)[b, g, o, s·i - p] under k = 1."""
    only = st.s * i - st.p
    return (
        _only_tap(corr[b, g, o, i], "definition", _read, title, signals=(corr,))
        .back("definition",
              zsum(st.inputs(c) * w_fc[g, o, c] * st.pixels(only) * x[b, g, c, only], c),
              "w[g, o, c, 0] is W_fc[g, o, c]", signals=(w_fc,))
        .back("definition", dense[b, g, o, only], "the dense layer at that pixel",
              signals=(dense,))
    )


@THEOREM.evidence
def one_tap():
    return universal(STRIDED, _to_dense("a 1 x 1 conv reads one pixel"))


@THEOREM.evidence
def every_pixel():
    proof = (_to_dense("with unit stride and no padding, the dense layer at every pixel")
             .by("hypothesis", dense[b, g, o, i - st.p], "unit stride", equation=UNIT_STRIDE)
             .by("hypothesis", PIXELWISE.rhs, "no padding", equation=NO_PADDING))
    return universal(PIXELWISE, proof)


@THEOREM.evidence
def kronecker():
    deltas = eq(b, b1) * eq(g, g1)

    def entry(tap, read):
        return w[g, o, c, tap] * st.pixels(read) * deltas * eq(c, c1) * eq(read, j1)

    inner = st.inputs(c1) * w[g, o, c1, 0] * deltas
    proof = (
        _only_tap(KRONECKER.lhs, "differentiate", entry, "the matrix W_fc ⊗ I")
        .by("Kronecker delta",
            inner * st.pixels(st.s * i - st.p) * eq(st.s * i - st.p, j1),
            "only the input channel c = c' remains", var=c)
        .by("hypothesis", inner * st.pixels(i - st.p) * eq(i - st.p, j1), "unit stride",
            equation=UNIT_STRIDE)
        .by("hypothesis", inner * st.pixels(i) * eq(i, j1), "no padding", equation=NO_PADDING)
        .back("use the delta", inner * st.pixels(j1) * eq(j1, i),
              "under [j' = i] the box of i is the box of j'", var=j1)
        .back("definition", KRONECKER.rhs, "w[g, o, c', 0] is W_fc[g, o, c']", signals=(w_fc,))
    )
    return universal(KRONECKER, proof)


def _one_tap_points(limit: int = 4) -> list:
    """1-D grid points with k = 1 (the tap index 0 is one axis)."""
    points = conv_points(st, dims=(1,), limit={1: limit})
    for point in points:
        point.values[st.k] = point.label["k"] = (1,)
    return points


def _pixelwise_points() -> list:
    points = _one_tap_points()
    for point in points:
        point.values[st.s], point.values[st.p] = (1,), (0,)
        point.label.update(s=(1,), p=(0,))
    return points


@THEOREM.evidence
def certificates():
    return [certified(STRIDED, _one_tap_points(8), "one tap, exact on a 1-D grid"),
            certified(KRONECKER, _pixelwise_points(), "W_fc ⊗ I, exact on a 1-D grid")]


@THEOREM.mutant("1 x 1 conv that also reads the next pixel")
def neighbour():
    claim = Claim("every pixel", PIXELWISE.lhs, dense[b, g, o, i + 1],
                  hypotheses=PIXELWISE.hypotheses, indices=OUTPUT)
    return certified(claim, _pixelwise_points())


@THEOREM.mutant("dense layer with the weight matrix transposed (w[g, c, o, 0])")
def transposed_weights():
    transposed = Signal("dense_T", "dense'", lambda b_, g_, o_, j_: zsum(
        st.inputs(c) * w[g_, c, o_, 0] * st.pixels(j_) * x[b_, g_, c, j_], c), arity=4)
    claim = Claim("every pixel", PIXELWISE.lhs, transposed[b, g, o, i],
                  hypotheses=PIXELWISE.hypotheses, indices=OUTPUT)
    return certified(claim, _pixelwise_points())


@THEOREM.mutant("strided 1 x 1 conv that ignores the stride (pixel i - p)")
def stride_ignored():
    claim = Claim("one tap", STRIDED.lhs, dense[b, g, o, i - st.p], hypotheses=STRIDED.hypotheses,
                  indices=OUTPUT)
    return certified(claim, [p for p in _one_tap_points(8) if p.values[st.s] != (1,)])


prove = THEOREM.prove
render = THEOREM.render
