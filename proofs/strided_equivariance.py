"""strided-equivariance: with stride s, shifting the input by s·t shifts the output by t.

For signals on all of Z^D:

    corr(τ_{s·t} x) = τ_t corr(x)        (s·t componentwise),

and a shift that is not a multiple of the stride is not seen as any shift of the output: with
s = 2, one tap w = (1) and the impulse x = δ_0, corr(x) = δ_0 while corr(τ_1 x) = 0 identically
(2i - 1 = 0 has no integer solution), so corr(τ_1 x) = τ_r corr(x) fails for every r; the
witness is evaluated for the natural candidates r = 0 and r = 1 (t/s rounded down and up).
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, multi, refuted, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, g, i, infinite_correlation, m, o,
                                          shifted)

st = Setting()
t = multi("t")
x, w = Signal("x"), Signal("w")
corr = infinite_correlation(x, w, st)
moved = shifted(x, st.s * t, name="tau_st(x)")
corr_moved = infinite_correlation(moved, w, st, name="corr_inf_tau_st")
output_moved = shifted(corr, t, name="tau_t(corr)")

THEOREM = Theorem(
    "strided-equivariance", "Strided convolution sees only shifts by multiples of the stride",
    r"\operatorname{corr}_s(\tau_{s t} x) = \tau_t \operatorname{corr}_s(x);\quad"
    r"\text{for } s \nmid t \text{ no output shift matches}",
    notes=("The notes' 'if we move the object in the input, its representation will move the "
           "same amount in the output' holds for stride 1; with stride s a shift by s·t moves "
           "the output by t, and a shift that is no multiple of s matches no output shift.",),
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
MULTIPLE = THEOREM.export(Claim(
    "multiples of the stride", corr_moved[b, g, o, i], output_moved[b, g, o, i], indices=OUTPUT,
    text="signals on all of Z^D, any stride, dilation, channels and shift t",
))


@THEOREM.evidence
def multiples():
    window = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    proof = (
        Derivation(MULTIPLE.lhs, "corr(τ_{s·t} x) = τ_t corr(x)")
        .by("definition", zsum(window * moved[b, g, c, st.input_index(i, m)], c, m),
            "unfold the correlation of the moved signal", signals=(corr_moved,))
        .by("definition", zsum(window * x[b, g, c, st.input_index(i, m) - st.s * t], c, m),
            "unfold the shift by s·t", signals=(moved,))
        .by("algebra", zsum(window * x[b, g, c, st.input_index(i - t, m)], c, m),
            "s·i + d·m - p - s·t = s·(i - t) + d·m - p")
        .back("definition", corr[b, g, o, i - t], "the read position of output i - t",
              signals=(corr,))
        .back("definition", MULTIPLE.rhs, "that is the moved output", signals=(output_moved,))
    )
    return universal(MULTIPLE, proof)


# The witness: s = 2, one tap, shift by 1, the impulse at 0.
_WITNESS = {st.n: (4,), st.k: (1,), st.s: (2,), st.d: (1,), st.p: (0,), st.q: (0,),
            st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1}
one_shift = shifted(x, 1, name="tau_1(x)")
corr_one = infinite_correlation(one_shift, w, st, name="corr_inf_tau_1")


def _claim_for(shift_out: int) -> Claim:
    out = shifted(corr, shift_out, name=f"tau_{shift_out}(corr)")
    return Claim(f"output shift {shift_out}", corr_one[b, g, o, i], out[b, g, o, i],
                 indices={b: st.batches(b), g: st.group_box(g), o: st.outputs(o),
                          i: st.positions(i)})


@THEOREM.evidence
def odd_shift_vanishes():
    """For the impulse, the output of the input moved by one is zero: [2i - 1 = 0] never holds."""
    delta = Signal("delta", r"\delta", lambda b_, g_, c_, j_: eq(j_, 0), arity=4)
    moved_delta = shifted(delta, 1, name="tau_1(delta)")
    lhs = infinite_correlation(moved_delta, w, st, name="corr_tau_1_delta")[b, g, o, i]
    stride, taps, dilation, padding = (sympy.Eq(symbol, value, evaluate=False) for symbol, value
                                       in ((st.s, 2), (st.k, 1), (st.d, 1), (st.p, 0)))
    claim = Claim("impulse moved by one", lhs, sympy.S.Zero,
                  hypotheses=(stride, taps, dilation, padding),
                  text="stride 2, one tap: the impulse moved by one is never read")
    weight = st.inputs(c) * w[g, o, c, m]
    proof = (
        Derivation(claim.lhs, "the moved impulse is never read")
        .by("definition", zsum(weight * st.taps(m) * eq(st.input_index(i, m) - 1, 0), c, m),
            "unfold the correlation, the shift and the impulse")
        .by("hypothesis", zsum(weight * st.taps(m) * eq(2 * i + st.d * m - st.p - 1, 0), c, m),
            "stride 2", equation=stride)
        .by("hypothesis", zsum(weight * in_range(m, 1) * eq(2 * i + st.d * m - st.p - 1, 0), c, m),
            "one tap", equation=taps)
        .by("hypothesis", zsum(weight * in_range(m, 1) * eq(2 * i + m - st.p - 1, 0), c, m),
            "no dilation", equation=dilation)
        .by("hypothesis", zsum(weight * in_range(m, 1) * eq(2 * i + m - 1, 0), c, m),
            "no padding", equation=padding)
        .by("antisymmetry", zsum(weight * eq(m, 0) * eq(2 * i + m - 1, 0), c, m),
            "0 ≤ m ≤ 0 says m = 0")
        .by("Kronecker delta", zsum(st.inputs(c) * w[g, o, c, 0] * eq(2 * i - 1, 0), c),
            "the only tap is m = 0", var=m, value=0)
        .by("decide brackets", sympy.S.Zero, "2i - 1 is odd: [2i - 1 = 0] = 0")
    )
    return universal(claim, proof)


@THEOREM.evidence
def witness():
    point = Point(dict(_WITNESS), 1, note="stride 2, one tap, shift 1, x = δ_0, w = (1)")
    entries = {"x": {(0, 0, 0, 0): 1}, "w": {(0, 0, 0, 0): 1}}
    return [refuted(_claim_for(shift_out), point, entries,
                    f"a shift by 1 is not an output shift by {shift_out}") for shift_out in (0, 1)]


@THEOREM.evidence
def certificate():
    points = conv_points(st, dims=(1, 2))
    for k, point in enumerate(points):
        point.values[t] = tuple((k + a) % 3 for a in range(point.dims))
        point.label["t"] = point.values[t]
    return certified(MULTIPLE, points, "exact on the standard grid with shifts 0..2")


@THEOREM.mutant("strided equivariance with the input moved by t instead of s·t")
def unscaled_shift():
    moved_t = shifted(x, t, name="tau_t(x)")
    claim = Claim("multiples", infinite_correlation(moved_t, w, st, name="corr_tau_t")[b, g, o, i],
                  output_moved[b, g, o, i], indices=OUTPUT)
    points = [p for p in conv_points(st, dims=(1,)) if max(p.values[st.s]) > 1]
    for point in points:
        point.values[t] = (1,)
    return certified(claim, points)


prove = THEOREM.prove
render = THEOREM.render
