"""translation-equivariance: a unit-stride correlation commutes with translations.

For a signal on all of Z^D (no border) and the shift (τ_t x)[j] = x[j - t]:

    corr(τ_t x) = τ_t corr(x),

for every multi-index t: any number of dims, every dilation and channel count.  With circular
padding the same holds on the finite signal with the rotation (ρ_t x)[j] = x[(j - t) mod n], when
the output has the input's size (unit stride, p + q = d(k - 1)):

    circ(ρ_t x) = ρ_t circ(x).

Zero padding breaks this at the border (zero-padding-border); a stride s keeps it only for
shifts by multiples of s (strided-equivariance).
"""

from __future__ import annotations

import sympy

from convproof.symbolic import Claim, Derivation, Signal, Theorem, certified, multi, universal, zsum
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import (Setting, b, c, circular_correlation, circular_shift, g,
                                          i, infinite_correlation, m, o, shifted)

st = Setting()
t = multi("t")
x, w = Signal("x"), Signal("w")
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
SAME_SIZE = sympy.Eq(st.q, st.d * (st.k - 1) - st.p, evaluate=False)

moved = shifted(x, t)
corr = infinite_correlation(x, w, st)
corr_moved = infinite_correlation(moved, w, st, name="corr_inf_tau")
output_moved = shifted(corr, t, name="tau(corr)")

rotated = circular_shift(x, t, st)
circ = circular_correlation(x, w, st)
circ_rotated = circular_correlation(rotated, w, st, name="circ_rho")

THEOREM = Theorem(
    "translation-equivariance", "Convolution commutes with translations",
    r"\operatorname{corr}(\tau_t x) = \tau_t \operatorname{corr}(x),\qquad"
    r"\operatorname{circ}(\rho_t x) = \rho_t \operatorname{circ}(x)"
    r"\quad\text{for } s = 1\ (\text{circ: } p + q = d(k-1))",
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
INFINITE = THEOREM.export(Claim(
    "infinite signals", corr_moved[b, g, o, i], output_moved[b, g, o, i],
    hypotheses=(UNIT_STRIDE,), indices=OUTPUT,
    text="signals on all of Z^D, unit stride, any shift t, dilation, channels",
))
CIRCULAR = THEOREM.export(Claim(
    "circular padding", circ_rotated[b, g, o, i], circ[b, g, o, sympy.Mod(i - t, st.n)],
    hypotheses=(UNIT_STRIDE, SAME_SIZE), indices=OUTPUT,
    text="circular padding, unit stride, output of the input's size",
))


@THEOREM.evidence
def infinite_signals():
    window = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    proof = (
        Derivation(INFINITE.lhs, "corr(τ_t x) = τ_t corr(x)")
        .by("definition", zsum(window * moved[b, g, c, st.input_index(i, m)], c, m),
            "unfold the correlation of the moved signal", signals=(corr_moved,))
        .by("definition", zsum(window * x[b, g, c, st.input_index(i, m) - t], c, m),
            "unfold the shift: tap m reads s·i + d·m - p - t", signals=(moved,))
        .by("hypothesis", zsum(window * x[b, g, c, i - t + st.d * m - st.p], c, m),
            "unit stride", equation=UNIT_STRIDE)
        .back("hypothesis", zsum(window * x[b, g, c, st.input_index(i - t, m)], c, m),
              "which is the read position of output i - t", equation=UNIT_STRIDE)
        .back("definition", corr[b, g, o, i - t], "fold the correlation at i - t", signals=(corr,))
        .back("definition", INFINITE.rhs, "that is the moved output", signals=(output_moved,))
    )
    return universal(INFINITE, proof)


@THEOREM.evidence
def circular():
    window = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    wrap = lambda j_: sympy.Mod(j_, st.n)  # noqa: E731
    proof = (
        Derivation(CIRCULAR.lhs, "circ(ρ_t x) = ρ_t circ(x)")
        .by("definition", zsum(window * rotated[b, g, c, wrap(st.input_index(i, m))], c, m),
            "unfold the circular correlation of the rotated signal", signals=(circ_rotated,))
        .by("definition", zsum(window * x[b, g, c, wrap(wrap(st.input_index(i, m)) - t)], c, m),
            "unfold the rotation", signals=(rotated,))
        .by("hypothesis", zsum(window * x[b, g, c, wrap(i + st.d * m - st.p - t)], c, m),
            "unit stride; ((a mod n) - t) mod n = (a - t) mod n", equation=UNIT_STRIDE)
        .back("hypothesis",
              zsum(window * x[b, g, c, wrap(st.input_index(wrap(i - t), m))], c, m),
              "((i - t) mod n + d·m - p) mod n = (i - t + d·m - p) mod n", equation=UNIT_STRIDE)
        .back("definition", CIRCULAR.rhs, "fold the circular correlation at (i - t) mod n",
              signals=(circ,))
    )
    return universal(CIRCULAR, proof)


def _shift_points(claim_dims=(1, 2, 3)):
    """Grid points with unit stride, every shift 0..3 along the axes, output of input size."""
    points = []
    for k, point in enumerate(conv_points(st, dims=claim_dims)):
        values = dict(point.values)
        values[st.s] = (1,) * point.dims
        values[st.q] = tuple(d * (kk - 1) - p
                             for d, kk, p in zip(values[st.d], values[st.k], values[st.p]))
        if min(values[st.q]) < 0:
            continue
        values[t] = tuple((k + a) % 4 for a in range(point.dims))
        points.append(type(point)(values, point.dims, label={**point.label, "s": values[st.s],
                                                             "q": values[st.q], "t": values[t]}))
    return points


@THEOREM.evidence
def certificate():
    return certified(CIRCULAR, _shift_points(), "circular case exact on the unit-stride grid")


@THEOREM.mutant("circular equivariance with the output rotated the wrong way")
def wrong_direction():
    claim = Claim("circular", CIRCULAR.lhs, circ[b, g, o, sympy.Mod(i + t, st.n)],
                  hypotheses=CIRCULAR.hypotheses, indices=OUTPUT)
    return certified(claim, _shift_points((1, 2)))


prove = THEOREM.prove
render = THEOREM.render
