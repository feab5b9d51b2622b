"""zero-padding-border: with zero padding, equivariance holds exactly away from the border.

For a finite input moved within its frame, (σ_t x)[j] = [j ∈ N] x̃[j - t] (what leaves the
frame is lost, what enters is zero), and unit stride:

    W(i)·corr(σ_t x)[i] = W(i)·corr(x)[i - t],

where W(i) = [p ≤ i][i - p + d(k - 1) ≤ n - 1] says that every tap of output i reads inside the
input.  Only the window of output i has to be inside: the window of i - t may reach into the
padding, since x̃ is zero there just as the moved frame is (the catalog's "both windows" is
more than needed; requiring only the window of i - t is wrong, see the mutant).  Where the
window of i reaches into the padding, it reads zeros where the unmoved output reads moved-out
pixels, and the identity fails: the witness is a 4-pixel ramp moved by one, read with padding 1.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, le, multi,
                                refuted, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import Setting, b, c, correlation, framed_shift, g, i, m, o

st = Setting()
t = multi("t")
x, w = Signal("x"), Signal("w")
UNIT_STRIDE = sympy.Eq(st.s, 1, evaluate=False)
moved = framed_shift(x, t, st)
corr = correlation(x, w, st)
corr_moved = correlation(moved, w, st, name="corr_sigma")


def inside(position):
    """W(i) = [p ≤ i][i - p + d(k - 1) ≤ n - 1]: the whole window of output i is in the input."""
    return le(st.p, position) * le(position - st.p + st.d * (st.k - 1), st.n - 1)


THEOREM = Theorem(
    "zero-padding-border", "Zero padding keeps equivariance only away from the border",
    r"W(i)\, \operatorname{corr}(\sigma_t x)_i = W(i)\, \operatorname{corr}(x)_{i-t}"
    r"\quad\text{for } s = 1",
)
OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
INTERIOR = THEOREM.export(Claim(
    "interior", inside(i) * corr_moved[b, g, o, i], inside(i) * corr[b, g, o, i - t],
    hypotheses=(UNIT_STRIDE,), indices=OUTPUT,
    text="unit stride, any shift, dilation and channels: equal wherever the window of i is inside",
))
EVERYWHERE = Claim("everywhere", corr_moved[b, g, o, i], corr[b, g, o, i - t], indices=OUTPUT)


@THEOREM.evidence
def interior():
    tap = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    read = st.input_index(i, m)
    unit_read = i + st.d * m - st.p
    moved_in = st.pixels(unit_read - t) * x[b, g, c, unit_read - t]
    proof = (
        Derivation(INTERIOR.lhs, "equal where the window of i is inside")
        .by("definition", inside(i) * zsum(tap * st.pixels(read) * moved[b, g, c, read], c, m),
            "unfold the correlation of the moved input", signals=(corr_moved,))
        .by("definition",
            inside(i) * zsum(tap * st.pixels(read) * st.pixels(read - t) * x[b, g, c, read - t],
                             c, m),
            "unfold the move: pixels that left the frame are gone", signals=(moved,))
        .by("hypothesis", inside(i) * zsum(tap * st.pixels(unit_read) * moved_in, c, m),
            "unit stride", equation=UNIT_STRIDE)
        .by("implied bracket", inside(i) * zsum(tap * moved_in, c, m),
            "inside the window every read position lies in [0, n - 1]: "
            "i + d·m - p = (i - p) + d·m ≥ 0 and n - 1 - (i + d·m - p) = "
            "(n - 1 - (i - p + d(k-1))) + d(k - 1 - m) ≥ 0")
        .back("hypothesis",
              inside(i) * zsum(tap * st.pixels(st.input_index(i - t, m))
                               * x[b, g, c, st.input_index(i - t, m)], c, m),
              "unit stride: the unmoved correlation at i - t reads s·(i - t) + d·m - p",
              equation=UNIT_STRIDE)
        .back("definition", INTERIOR.rhs, "fold the correlation at i - t", signals=(corr,))
    )
    return universal(INTERIOR, proof)


@THEOREM.evidence
def certificate():
    points = []
    for k, point in enumerate(conv_points(st, dims=(1, 2))):
        point.values[st.s] = (1,) * point.dims
        point.values[t] = tuple((k + a) % 3 - 1 for a in range(point.dims))
        point.label.update(s=point.values[st.s], t=point.values[t])
        points.append(point)
    return certified(INTERIOR, points, "exact on the unit-stride grid, shifts -1..1")


@THEOREM.evidence
def border_witness():
    point = Point({st.n: (4,), st.k: (3,), st.s: (1,), st.d: (1,), st.p: (1,), st.q: (1,),
                   t: (1,), st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1}, 1,
                  note="x = (1, 2, 3, 4) moved by 1, w = (1, 1, 1), padding 1")
    entries = {"x": {(0, 0, 0, j): j + 1 for j in range(4)},
               "w": {(0, 0, 0, m_): 1 for m_ in range(3)}}
    return refuted(EVERYWHERE, point, entries, "at the border the moved output differs")


@THEOREM.mutant("equivariance claimed where the window of i - t is inside (instead of i)")
def wrong_window():
    claim = Claim("interior", inside(i - t) * corr_moved[b, g, o, i],
                  inside(i - t) * corr[b, g, o, i - t], hypotheses=(UNIT_STRIDE,), indices=OUTPUT)
    point = Point({st.n: (6,), st.k: (3,), st.s: (1,), st.d: (1,), st.p: (1,), st.q: (1,), t: (2,),
                   st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1}, 1)
    return certified(claim, [point])


prove = THEOREM.prove
render = THEOREM.render
