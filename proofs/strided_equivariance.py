"""strided-equivariance: with stride s, shifting the input by s·t shifts the output by t.

For signals on all of Z^D:

    corr(τ_{s·t} x) = τ_t corr(x)        (s·t componentwise),

and a shift that is not a multiple of the stride is not seen as any shift of the output.  With
one tap (no dilation, no padding) and the impulse x = δ_0:

    corr(δ)[i] = [i = 0]·Σ_c w[g, o, c, 0]            (the impulse response, any s),
    corr(τ_t δ) = 0   for t = s·u + ρ, 0 < ρ < s       (s·i - t = s(i - u) - ρ is never 0),

so corr(τ_t δ) = τ_r corr(δ) fails for every r as soon as Σ_c w[g, o, c, 0] ≠ 0: τ_r corr(δ)
is that sum at i = r.  The remainder ρ is taken on every axis; in one dimension that is every
s ∤ t.  The witness evaluates s = 2, w = (1), t = 1 for the natural candidates r = 0 and r = 1
(t/s rounded down and up).
"""

from __future__ import annotations

import sympy
from sympy import Expr

from convproof.symbolic import (Claim, Derivation, Evidence, Point, Signal, Theorem, certified, eq,
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


# On each axis t = s·u + ρ with 0 < ρ < s, written s = ρ + v + 1 (v ≥ 0): every stride s ≥ 2
# and every shift t that s does not divide.
u, rho, v = multi("u"), multi("rho", positive=True), multi("v", nonnegative=True)
REMAINDER = sympy.Eq(t, st.s * u + rho, evaluate=False)
STRIDE = sympy.Eq(st.s, rho + v + 1, evaluate=False)
ONE_TAP = tuple(sympy.Eq(symbol, value, evaluate=False)
                for symbol, value in ((st.k, 1), (st.d, 1), (st.p, 0)))
delta = Signal("delta", r"\delta", lambda b_, g_, c_, j_: eq(j_, 0), arity=4)


def _reads(position: Expr, shift: Expr) -> Expr:
    """(τ_shift δ)[position]: 1 where the read position is the moved impulse."""
    return eq(position - shift, 0)


def _unfolded(shift: Expr) -> Expr:
    """corr(τ_shift δ)[b, g, o, i], unfolded."""
    return zsum(st.inputs(c) * w[g, o, c, m] * st.taps(m) * _reads(st.input_index(i, m), shift),
                c, m)


def _pin_the_only_tap(proof: Derivation, shift: Expr) -> Derivation:
    """Σ_{c,m} w[g,o,c,m]·[0 ≤ m < k]·[s·i + d·m - p = shift]
    = Σ_c w[g,o,c,0]·[s·i = shift] under k = 1, d = 1, p = 0."""
    weight = st.inputs(c) * w[g, o, c, m]
    one_tap, no_dilation, no_padding = ONE_TAP

    def bracket(position: Expr) -> Expr:
        return _reads(position, shift)

    return (
        proof
        .by("hypothesis", zsum(weight * in_range(m, 1) * bracket(st.s * i + st.d * m - st.p),
                               c, m), "one tap", equation=one_tap)
        .by("hypothesis", zsum(weight * in_range(m, 1) * bracket(st.s * i + m - st.p), c, m),
            "no dilation", equation=no_dilation)
        .by("hypothesis", zsum(weight * in_range(m, 1) * bracket(st.s * i + m), c, m),
            "no padding", equation=no_padding)
        .by("antisymmetry", zsum(weight * eq(m, 0) * bracket(st.s * i + m), c, m),
            "0 ≤ m ≤ 0 says m = 0")
        .by("Kronecker delta", zsum(st.inputs(c) * w[g, o, c, 0] * bracket(st.s * i), c),
            "the only tap is m = 0", var=m, value=0)
    )


@THEOREM.evidence
def impulse_response():
    claim = Claim("the impulse response",
                  infinite_correlation(delta, w, st, name="corr_inf_delta")[b, g, o, i],
                  eq(i, 0) * zsum(st.inputs(c) * w[g, o, c, 0], c), hypotheses=ONE_TAP,
                  text="one tap: the impulse comes out at 0, as the sum over channels of the tap")
    proof = _pin_the_only_tap(
        Derivation(claim.lhs, "only output 0 reads the impulse")
        .by("definition", _unfolded(0), "unfold the correlation and the impulse"),
        0,
    ).by("cancel a positive factor", zsum(st.inputs(c) * w[g, o, c, 0] * eq(i, 0), c),
         "s ≥ 1: s·i = 0 says i = 0", factor=st.s)
    return universal(claim, proof)


def _never_read(remainder: Expr, name: str) -> Evidence:
    """corr(τ_t δ) = 0 for t = s·u + remainder, by s·i - t = s(i - u) - remainder ≠ 0."""
    shift = sympy.Eq(t, st.s * u + remainder, evaluate=False)
    shown = sympy.pretty(remainder)
    moved = shifted(delta, t, name="tau_t(delta)")
    claim = Claim(name, infinite_correlation(moved, w, st, name="corr_inf_tau_t_delta")[b, g, o, i],
                  sympy.S.Zero, hypotheses=(shift, STRIDE, *ONE_TAP),
                  text=f"one tap, t = s u + {shown} with s = ρ + v + 1 on every axis: the "
                       "moved impulse is never read")
    tap = st.inputs(c) * w[g, o, c, 0]
    proof = _pin_the_only_tap(
        Derivation(claim.lhs, "the moved impulse is never read")
        .by("definition", _unfolded(t), "unfold the correlation, the shift and the impulse"),
        t,
    ).by(
        "hypothesis", zsum(tap * eq(st.s * i - st.s * u - remainder, 0), c),
        f"t = s u + {shown}", equation=shift,
    ).by(
        "hypothesis", zsum(tap * eq((rho + v + 1) * (i - u) - remainder, 0), c),
        "s = ρ + v + 1", equation=STRIDE,
    ).by(
        "between multiples", sympy.S.Zero,
        f"(ρ + v + 1)(i - u) = {shown} with 0 < ρ < ρ + v + 1: no integer i - u",
        factor=rho + v + 1, remainder=remainder,
    )
    return universal(claim, proof)


@THEOREM.evidence
def no_multiple_is_never_read():
    return _never_read(rho, "a shift that is no multiple of s")


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


@THEOREM.mutant("a shift by a multiple of s said never to be read, as one that is no multiple")
def multiple_never_read():
    return _never_read(sympy.S.Zero, "a shift by a multiple of s")


prove = THEOREM.prove
render = THEOREM.render
