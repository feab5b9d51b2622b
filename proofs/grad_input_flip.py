"""grad-input-flip: the input gradient is a correlation with the flipped kernel.

With the error G = ∂L/∂y (see grad-bias for the chain rule as ∂⟨y, G⟩/∂θ) and the output
padding a = (n + p + q - d(k - 1) - 1) mod s that restores the input size:

    ∂⟨corr(x), G⟩/∂x = convT(G)                                         (the scatter)
                     = corr_{1,d}(pad_{P,P'}(up_s(G)), flipT(w))         (a correlation)

where up_s inserts s - 1 zeros between entries (u[s·i] = G[i]), the padding is
P = d(k - 1) - p before and P' = d(k - 1) - q + a after, and flipT(w)[g, c, o, m] =
w[g, o, c, k - 1 - m] flips every spatial axis and swaps the in/out channel axes.  When p >
d(k - 1) the "padding" P is negative: a crop (the notes' phrasing assumes it is not).  The
kernels use the gather form of the same sum,

    convT(G)[j] = Σ_o Σ_m w[o, c, m] · [s | j + p - d·m] · G[(j + p - d·m)/s],

one output pixel per thread with no atomic adds.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Divides, Signal, Theorem, certified, eq, le,
                                multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.indexmaps import gather_numerator
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import (Setting, b, c, correlation, g, i, j, m, o, output_inner,
                                          transposed)

st = Setting()
x, w, grad = Signal("x"), Signal("w"), Signal("G")
corr = correlation(x, w, st)
scatter = transposed(grad, w, st)
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)
b1, g1, c1 = scalar("b' g' c'")
j1 = multi("j'")
loss = output_inner(lambda *ix: corr[ix], grad, st)

before = st.d * (st.k - 1) - st.p            # P: the padding before the upsampled error
after = st.d * (st.k - 1) - st.q + st.a      # P': the padding after it
up = Signal("up", r"\operatorname{up}_s(G)", lambda b_, g_, o_, u: zsum(
    st.positions(i) * eq(u, st.s * i) * grad[b_, g_, o_, i], i), arity=4)
padded = Signal("up_pad", r"\operatorname{pad}(\operatorname{up}_s G)",
                lambda b_, g_, o_, u: up[b_, g_, o_, u - before], arity=4)
flip_swap = Signal("flipT", r"\operatorname{flip}^{T}(w)",
                   lambda g_, c_, o_, m_: st.taps(m_) * w[g_, o_, c_, st.k - 1 - m_], arity=4)
flipped_corr = Signal("corr_flipT", r"\operatorname{corr}_{1,d}", lambda b_, g_, c_, j_:
                      le(0, j_) * le(j_, st.transposed_size - 1) * zsum(
                          st.outputs(o) * st.taps(m) * flip_swap[g_, c_, o, m]
                          * padded[b_, g_, o, j_ + st.d * m], o, m), arity=4)
numerator = gather_numerator(j, m, st.d, st.p)
gather = Signal("gather", r"\operatorname{conv}^{T}_{\text{gather}}", lambda b_, g_, c_, j_:
                le(0, j_) * le(j_, st.transposed_size - 1) * zsum(
                    st.outputs(o) * st.taps(m) * w[g_, o, c_, m]
                    * Divides(st.s, gather_numerator(j_, m, st.d, st.p))
                    * st.positions(gather_numerator(j_, m, st.d, st.p) / st.s)
                    * grad[b_, g_, o, gather_numerator(j_, m, st.d, st.p) / st.s], o, m), arity=4)

THEOREM = Theorem(
    "grad-input-flip", "The input gradient correlates the upsampled error with the flipped kernel",
    r"\frac{\partial L}{\partial x} = \operatorname{conv}^{T}(G) = \operatorname{corr}_{1,d}"
    r"\left(\operatorname{pad}_{d(k-1)-p,\,d(k-1)-q+a}(\operatorname{up}_s G),"
    r"\operatorname{flip}^{T}(w)\right),\ a = (n + p + q - d(k-1) - 1) \bmod s",
)
THEOREM.expressions["gather_numerator"] = numerator
THEOREM.expressions["gather_index"] = numerator / st.s

INPUT = {b: st.batches(b), g: st.group_box(g), c: st.inputs(c), j: st.pixels(j)}
GRADIENT = THEOREM.export(Claim(
    "gradient", Partial(loss, x[b1, g1, c1, j1]),
    st.batches(b1) * st.group_box(g1) * st.inputs(c1) * st.pixels(j1) * scatter[b1, g1, c1, j1],
    hypotheses=(OUTPUT_PADDING,),
    indices={b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1), j1: st.pixels(j1)},
    text="the input gradient is the transposed convolution of the error",
))
FLIPPED = THEOREM.export(Claim(
    "flipped correlation", scatter[b, g, c, j], flipped_corr[b, g, c, j], indices=INPUT,
    text="the scatter is a unit-stride correlation of the padded, upsampled error with flipT(w)",
))
GATHER = THEOREM.export(Claim(
    "gather", scatter[b, g, c, j], gather[b, g, c, j], indices=INPUT,
    text="each input pixel gathers the outputs whose taps reach it",
))
LENGTH = THEOREM.export(Claim(
    "length", ((st.out - 1) * st.s + 1) + before + after - st.d * (st.k - 1), st.transposed_size,
    text="the padded, upsampled error is d(k - 1) longer than the transposed output",
))


def through_the_deltas(derivation: Derivation, read: sympy.Expr, reads: str,
                       under: str) -> Derivation:
    """The derivative in x[b', g', c', j'] of Σ w[g, o, c, m] G[b, g, o, i] x[b, g, c, read]:
    the delta of all four indices, b, g and c eliminated, then the read position replaced by
    j' under its delta; ``reads`` and ``under`` say why the first and the last step hold."""
    window = st.outputs(o) * st.positions(i) * st.taps(m)
    terms = w[g1, o, c1, m] * grad[b1, g1, o, i]
    outer = st.batches(b1) * st.group_box(g1) * st.inputs(c1)
    return (
        derivation
        .by("differentiate",
            zsum(st.batches(b) * st.group_box(g) * window * st.inputs(c) * w[g, o, c, m]
                 * grad[b, g, o, i] * st.pixels(read)
                 * eq(b, b1) * eq(g, g1) * eq(c, c1) * eq(read, j1), b, g, o, i, c, m), reads)
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g) * window * st.inputs(c) * w[g, o, c, m]
                 * grad[b1, g, o, i] * st.pixels(read) * eq(g, g1) * eq(c, c1) * eq(read, j1),
                 g, o, i, c, m), "b = b'", var=b)
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g1) * window * st.inputs(c) * w[g1, o, c, m]
                 * grad[b1, g1, o, i] * st.pixels(read) * eq(c, c1) * eq(read, j1), o, i, c, m),
            "g = g'", var=g)
        .by("Kronecker delta",
            outer * zsum(window * terms * st.pixels(read) * eq(read, j1), o, i, m),
            "c = c'", var=c)
        .back("use the delta", outer * zsum(window * terms * st.pixels(j1) * eq(read, j1), o, i, m),
              under, var=j1)
    )


@THEOREM.evidence
def gradient():
    window = st.outputs(o) * st.positions(i) * st.taps(m)
    read = st.input_index(i, m)
    terms = w[g1, o, c1, m] * grad[b1, g1, o, i]
    outer = st.batches(b1) * st.group_box(g1) * st.inputs(c1)
    reduced_size = st.transposed_size.subs(st.a, st.unused)
    proof = (
        through_the_deltas(
            Derivation(GRADIENT.lhs, "∂⟨corr(x), G⟩/∂x"), read,
            "∂x[b, g, c, s·i + d·m - p]/∂x[b', g', c', j'] is the delta of all four indices",
            "under [j' = s·i + d·m - p] the box of the read position is the box of j'")
        .by("linearity", outer * st.pixels(j1) * zsum(window * terms * eq(j1, read), o, i, m),
            "the box of j' does not depend on the sum")
        .back("division with remainder",
              outer * st.pixels(j1) * le(j1, reduced_size - 1)
              * zsum(window * terms * eq(j1, read), o, i, m),
              "with a = (n + p + q - d(k - 1) - 1) mod s the transposed size n' is n")
        .back("hypothesis",
              outer * st.pixels(j1) * le(j1, st.transposed_size - 1)
              * zsum(window * terms * eq(j1, read), o, i, m),
              "a restores the rows the floor rule dropped", equation=OUTPUT_PADDING)
        .back("definition", GRADIENT.rhs, "that is convT(G) at j'", signals=(scatter,))
    )
    return universal(GRADIENT, proof)


@THEOREM.evidence
def flipped_correlation():
    box = le(0, j) * le(j, st.transposed_size - 1)
    window = st.outputs(o) * st.positions(i) * st.taps(m)
    flipped_read = st.input_index(i, st.k - 1 - m)
    proof = (
        Derivation(FLIPPED.lhs, "convT(G) as a correlation with the flipped kernel")
        .by("definition",
            box * zsum(window * w[g, o, c, m] * grad[b, g, o, i] * eq(j, st.input_index(i, m)),
                       o, i, m),
            "unfold the scatter", signals=(scatter,))
        .by("change of index",
            box * zsum(window * w[g, o, c, st.k - 1 - m] * grad[b, g, o, i] * eq(j, flipped_read),
                       o, i, m),
            "m -> k - 1 - m: the taps in reverse order", var=m, to=st.k - 1 - m)
        .back("definition",
              box * zsum(st.outputs(o) * st.positions(i) * st.taps(m) * flip_swap[g, c, o, m]
                         * grad[b, g, o, i] * eq(j, flipped_read), o, i, m),
              "w[g, o, c, k - 1 - m] is flipT(w)[g, c, o, m]: flipped, in/out channels swapped",
              signals=(flip_swap,))
        .back("definition",
              box * zsum(st.outputs(o) * st.taps(m) * flip_swap[g, c, o, m]
                         * up[b, g, o, j + st.d * m - before], o, m),
              "j = s·i + d(k - 1 - m) - p says j + d·m - (d(k - 1) - p) = s·i: the upsampled "
              "error at j + d·m, moved by the padding P = d(k - 1) - p", signals=(up,))
        .back("definition",
              box * zsum(st.outputs(o) * st.taps(m) * flip_swap[g, c, o, m]
                         * padded[b, g, o, j + st.d * m], o, m),
              "the padded, upsampled error", signals=(padded,))
        .back("definition", FLIPPED.rhs, "a unit-stride correlation with dilation d",
              signals=(flipped_corr,))
    )
    return universal(FLIPPED, proof)


@THEOREM.evidence
def gather_form():
    box = le(0, j) * le(j, st.transposed_size - 1)
    window = st.outputs(o) * st.taps(m)
    proof = (
        Derivation(GATHER.lhs, "convT(G) in gather form")
        .by("definition",
            box * zsum(window * st.positions(i) * w[g, o, c, m] * grad[b, g, o, i]
                       * eq(j, st.input_index(i, m)), o, i, m),
            "unfold the scatter", signals=(scatter,))
        .by("Kronecker delta",
            box * zsum(window * w[g, o, c, m] * Divides(st.s, numerator)
                       * st.positions(numerator / st.s) * grad[b, g, o, numerator / st.s], o, m),
            "s·i = j + p - d·m has a solution i iff s divides j + p - d·m", var=i)
        .back("definition", GATHER.rhs, "one output pixel gathers its taps", signals=(gather,))
    )
    return universal(GATHER, proof)


@THEOREM.evidence
def length():
    return universal(LENGTH, Derivation(LENGTH.lhs, "the length of the padded error")
                     .by("algebra", LENGTH.rhs, "(o - 1)s + 1 + 2d(k - 1) - p - q + a - d(k - 1)"))


def _points(limit=None):
    points = conv_points(st, limit=limit)
    for point in points:
        point.values[st.a] = (0,) * point.dims
        point.label["a"] = point.values[st.a]
    return points


@THEOREM.evidence
def certificates():
    return [certified(GRADIENT, conv_points(st), "the gradient, exact on the standard grid"),
            certified(FLIPPED, _points(), "the flipped correlation, exact on the grid (a = 0)"),
            certified(GATHER, _points(), "the gather form, exact on the grid (a = 0)")]


def _box(j_):
    """[0 ≤ j ≤ n' - 1]: the output box of the transposed convolution."""
    return le(0, j_) * le(j_, st.transposed_size - 1)


@THEOREM.mutant("input gradient without the output padding (a = 0 always)")
def no_output_padding():
    claim = Claim("gradient", GRADIENT.lhs, GRADIENT.rhs,
                  hypotheses=(sympy.Eq(st.a, 0, evaluate=False),), indices=GRADIENT.indices)
    return certified(claim, conv_points(st, dims=(1,)))


@THEOREM.mutant("input gradient with the kernel not flipped")
def not_flipped():
    unflipped = Signal("flipT_no", "w'", lambda g_, c_, o_, m_: st.taps(m_) * w[g_, o_, c_, m_],
                       arity=4)
    wrong = Signal("corr_noflip", "r'", lambda b_, g_, c_, j_: _box(j_) * zsum(
        st.outputs(o) * st.taps(m) * unflipped[g_, c_, o, m] * padded[b_, g_, o, j_ + st.d * m],
        o, m), arity=4)
    return certified(Claim("flipped correlation", FLIPPED.lhs, wrong[b, g, c, j], indices=INPUT),
                     _points({1: 8, 2: 2, 3: 1}))


@THEOREM.mutant("input gradient with the upsampling left out")
def no_upsampling():
    plain = Signal("pad_only", "G'", lambda b_, g_, o_, u: st.positions(u - before)
                   * grad[b_, g_, o_, u - before], arity=4)
    wrong = Signal("corr_noup", "r'", lambda b_, g_, c_, j_: _box(j_) * zsum(
        st.outputs(o) * st.taps(m) * flip_swap[g_, c_, o, m] * plain[b_, g_, o, j_ + st.d * m],
        o, m), arity=4)
    return certified(Claim("flipped correlation", FLIPPED.lhs, wrong[b, g, c, j], indices=INPUT),
                     _points({1: 8, 2: 2, 3: 1}))


@THEOREM.mutant("input gradient with the in/out channel axes of the kernel not swapped")
def channels_not_swapped():
    def entry(b_, g_, c_, j_):
        return le(0, j_) * le(j_, st.transposed_size - 1) * zsum(
            st.outputs(o) * st.taps(m) * st.taps(m) * w[g_, c_, o, st.k - 1 - m]
            * padded[b_, g_, o, j_ + st.d * m], o, m)
    wrong = Signal("corr_noswap", "r'", entry, arity=4)
    points = [p for p in _points() if p.values[st.c_in] != p.values[st.c_out]]
    claim = Claim("flipped correlation", FLIPPED.lhs, wrong[b, g, c, j], indices=INPUT)
    return certified(claim, points)


prove = THEOREM.prove
render = THEOREM.render
