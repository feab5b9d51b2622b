"""pooling-invariance: max pooling is only approximately shift invariant; GAP after circ is exact.

Max pooling of width k and stride s over a signal on Z, maxpool(y)[i] = max_m y[s·i + m - p],
keeps an output under a shift only while the window's maximum stays inside the window and
nothing larger enters: with width 2, stride 2 and y = (1, 2, 3, 4) a shift by one changes
maxpool(y) from (2, 4) to (1, 3).  The notes' Figure 9.8 (from Goodfellow et al.;
width 3, stride 1, a view of four detector outputs): after a shift by one pixel every detector
output of the view changes, (0.1, 1, 0.2, 0.1) becomes (0.3, 0.1, 1, 0.2), but only half of
the pooled outputs do, (1, 1, 1, 0.2) becomes (0.3, 1, 1, 1); it is reproduced exactly on the
detector row (..., 0.2, 0.3 | 0.1, 1, 0.2, 0.1 | 0.1, ...).

Global average pooling after a circular convolution with unit stride and an output of the
input's size (p + q = d(k - 1)) is exactly invariant under every cyclic shift ρ_t:

    GAP(circ(ρ_t x))[b, g, o] = (1/A) Σ_{i ∈ [0, n-1]} circ(x)[b, g, o, (i - t) mod n]
                              = GAP(circ(x))[b, g, o],

since i -> (i - t) mod n permutes the output box (A, the number of positions, can be any
constant).  A CNN is not translation invariant out of the box: conv, ReLU, max pooling and a
dense layer map an impulse and the impulse moved by one pixel to different outputs.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from convproof.proofs.rotation_scale import correlation_1d
from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, box, certified,
                                in_range, multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, circular_correlation, circular_shift,
                                          correlation, framed_shift, g, i, m, o)
from convproof.symbolic.operators_pool import max_pool, refuted_with_maxima, relu
from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rules used below)

# --------------------------------------------------------------------------------------------
# Global average pooling after a circular convolution
# --------------------------------------------------------------------------------------------

st = Setting()
t = multi("t")                        # a shift: a multi-index like the sizes
area = scalar("A", positive=True)     # the number of output positions (any constant works)
x, w = Signal("x"), Signal("w")
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
SAME_SIZE = sympy.Eq(st.q, st.d * (st.k - 1) - st.p, evaluate=False)
rotated = circular_shift(x, t, st)
circ = circular_correlation(x, w, st)
circ_rotated = circular_correlation(rotated, w, st, "circ_rho")


def global_average(y: Signal, name: str) -> Signal:
    """GAP(y)[b, g, o] = (1/A) Σ_i [i ∈ O] y[b, g, o, i] over the output positions O."""
    return Signal(name, rf"\operatorname{{GAP}}({y.latex})",
                  lambda b_, g_, o_: zsum(st.positions(i) * y[b_, g_, o_, i], i) / area, arity=3)


gap, gap_rotated = global_average(circ, "GAP(circ)"), global_average(circ_rotated, "GAP(circ_rho)")

THEOREM = Theorem(
    "pooling-invariance", "Pooling and invariance",
    r"\operatorname{GAP}(\operatorname{circ}(\rho_t x)) = \operatorname{GAP}(\operatorname{circ}"
    r"(x))\ \text{for } s = 1,\ p + q = d(k-1);\quad"
    r" \operatorname{maxpool}(\tau_1 x) \ne \operatorname{maxpool}(x)",
)
CHANNELS = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o)}
GAP_INVARIANT = THEOREM.export(Claim(
    "global average pooling", gap_rotated[b, g, o], gap[b, g, o],
    hypotheses=(UNIT_STRIDE, SAME_SIZE), indices=CHANNELS,
    text="after a circular convolution with unit stride and an output of the input's size",
))


@THEOREM.evidence
def global_average_pooling():
    window = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    wrap = lambda e: sympy.Mod(e, st.n)  # noqa: E731
    unit_read = i + st.d * m - st.p
    n_box = in_range(i, st.n)
    size_from_q = st.n + st.p + st.q - st.d * (st.k - 1)

    def averaged(bracket, index):
        return zsum(bracket * window * x[b, g, c, index], i, c, m) / area

    proof = (
        Derivation(GAP_INVARIANT.lhs, "GAP(circ(ρ_t x))")
        .by("definition", zsum(st.positions(i) * circ_rotated[b, g, o, i], i) / area,
            "unfold the average", signals=(gap_rotated,))
        .by("definition", averaged(st.positions(i), wrap(st.input_index(i, m) - t)),
            "unfold the circular correlation and the rotation: ((a mod n) - t) mod n = "
            "(a - t) mod n", signals=None)
        .by("hypothesis", averaged(in_range(i, size_from_q), wrap(unit_read - t)),
            "unit stride: o = n + p + q - d(k - 1)", equation=UNIT_STRIDE)
        .by("hypothesis", averaged(n_box, wrap(unit_read - t)),
            "p + q = d(k - 1): the output has n positions", equation=SAME_SIZE)
        .by("cyclic change of index", averaged(n_box, wrap(unit_read)),
            "i -> (i + t) mod n permutes [0, n - 1]", var=i, shift=t)
        .back("hypothesis", averaged(in_range(i, size_from_q), wrap(unit_read)),
              "p + q = d(k - 1)", equation=SAME_SIZE)
        .back("hypothesis", averaged(st.positions(i), wrap(st.input_index(i, m))),
              "unit stride", equation=UNIT_STRIDE)
        .back("definition", zsum(st.positions(i) * circ[b, g, o, i], i) / area,
              "fold the circular correlation", signals=(circ,))
        .back("definition", GAP_INVARIANT.rhs, "fold the average", signals=(gap,))
    )
    return universal(GAP_INVARIANT, proof)


def _circular_points(shift: int = 1) -> list:
    """Unit stride, an output of the input's size, a cyclic shift."""
    points = []
    for point in conv_points(st, dims=(1,), limit={1: 8}):
        values = point.values
        values[st.s] = (1,)
        values[st.q] = tuple(dd * (kk - 1) - pp for dd, kk, pp
                             in zip(values[st.d], values[st.k], values[st.p]))
        if min(values[st.q]) >= 0:
            values[t], values[area] = (shift,), 1
            points.append(Point(values, 1, label={**point.label, "t": (shift,)}))
    return points[:1]


@THEOREM.evidence
def certificate():
    return certified(GAP_INVARIANT, _circular_points(), "exact on unit-stride grid points")


# --------------------------------------------------------------------------------------------
# Max pooling: a counterexample and the notes' Figure 9.8
# --------------------------------------------------------------------------------------------

j = scalar("j")
signal = Signal("y")
moved = Signal("tau_1(y)", r"\tau_1 y", lambda a: signal[a - 1], arity=1)


def pooled_claim(width: int, stride: int, offset: int, view: tuple[int, int]) -> Claim:
    """maxpool(τ_1 y) = maxpool(y) on the output positions of the view."""
    before = max_pool(signal, width, stride, offset, name="maxpool(y)")
    after = max_pool(moved, width, stride, offset, name="maxpool(tau_1 y)")
    return Claim("max pooling is shift invariant", after[j], before[j], indices={j: box(j, *view)})


DETECTORS = Claim("the detector outputs do not change", moved[j], signal[j],
                  indices={j: box(j, 0, 3)})
FIGURE_ROW = {-2: "1/5", -1: "3/10", 0: "1/10", 1: "1", 2: "1/5", 3: "1/10", 4: "1/10"}
FIGURE_VIEW = {  # position: (after the shift, before), the two rows of each part of the figure
    "detectors": {0: ("3/10", "1/10"), 1: ("1/10", "1"), 2: ("1", "1/5"), 3: ("1/5", "1/10")},
    "pooled": {0: ("3/10", "1"), 1: ("1", "1"), 2: ("1", "1"), 3: ("1", "1/5")},
}


def _figure_entries() -> dict:
    return {"y": {(position,): Fraction(value) for position, value in FIGURE_ROW.items()}}


def _expected(part: str) -> dict:
    return {(position,): tuple(map(Fraction, pair))
            for position, pair in FIGURE_VIEW[part].items()}


@THEOREM.evidence
def max_pooling():
    ramp = {"y": {(position,): position + 1 for position in range(4)}}
    return [
        refuted_with_maxima(pooled_claim(2, 2, 0, (0, 1)), Point({}, 1, note="y = (1, 2, 3, 4)"),
                            ramp, "max pooling (width 2, stride 2) changes under a shift by one"),
        refuted_with_maxima(DETECTORS, Point({}, 1, note="Figure 9.8"), _figure_entries(),
                            "Figure 9.8: every detector output of the view changes",
                            expect=_expected("detectors")),
        refuted_with_maxima(pooled_claim(3, 1, 1, (0, 3)), Point({}, 1, note="Figure 9.8"),
                            _figure_entries(), "Figure 9.8: only half of the pooled outputs change",
                            expect=_expected("pooled")),
    ]


# --------------------------------------------------------------------------------------------
# A CNN out of the box: conv, ReLU, max pooling, dense
# --------------------------------------------------------------------------------------------

dense = Signal("v")


def network(image: Signal, suffix: str) -> sympy.Expr:
    """Σ_i [0 ≤ i ≤ 2] v[i]·maxpool(relu(corr(image, w)))[i] (width 2, stride 2)."""
    features = relu(correlation_1d(image, w, 2, f"corr({suffix})"), f"relu({suffix})")
    pooled = max_pool(features, 2, 2, name=f"pool({suffix})")
    return zsum(in_range(j, 3) * dense[j] * pooled[j], j)


CNN = Claim("a CNN is translation invariant", network(
    Signal("tau_1(x)", r"\tau_1 x", lambda a: x[a - 1], arity=1), "tau x"),
    network(x, "x"))


@THEOREM.evidence
def cnn_witness():
    entries = {"x": {(2,): 1}, "w": {(0,): 1, (1,): 1}, "v": {(0,): 1, (1,): 2, (2,): 3}}
    return refuted_with_maxima(CNN, Point({}, 1, note="x = δ_2, w = (1, 1), v = (1, 2, 3)"),
                               entries, "conv, ReLU, max pooling and a dense layer: not invariant")


@THEOREM.mutant("global average pooling after a zero-padded conv is shift invariant")
def zero_padded_average():
    framed = framed_shift(x, t, st)
    plain = global_average(correlation(x, w, st), "GAP(corr)")
    moved_average = global_average(correlation(framed, w, st, "corr_sigma"), "GAP(corr_sigma)")
    claim = Claim("zero padding", moved_average[b, g, o], plain[b, g, o], indices=CHANNELS)
    return certified(claim, _circular_points())


@THEOREM.mutant("global average over all positions but the last is shift invariant")
def partial_average():
    def partial(y: Signal, name: str) -> Signal:
        return Signal(name, "GAP'", lambda b_, g_, o_: zsum(
            in_range(i, st.n - 1) * y[b_, g_, o_, i], i) / area, arity=3)
    claim = Claim("partial", partial(circ_rotated, "P(circ_rho)")[b, g, o],
                  partial(circ, "P(circ)")[b, g, o], hypotheses=GAP_INVARIANT.hypotheses,
                  indices=CHANNELS)
    return certified(claim, _circular_points())


@THEOREM.mutant("max pooling (width 3, stride 1) is exactly shift invariant")
def max_pooling_invariant():
    return certified(pooled_claim(3, 1, 1, (0, 3)), [Point({}, 1)])




prove = THEOREM.prove
render = THEOREM.render
