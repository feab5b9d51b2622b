"""same-padding: "same" padding keeps ceil(n/s) positions, the odd pixel after.

Along one axis with kernel k, dilation d and D = d(k - 1), ConvSpec pads "same" as follows.

Unit stride: p_lo = floor(D/2), p_hi = D - p_lo, so the total is D and

    p_hi - p_lo = D mod 2:

the odd pixel of an even span goes at the end; the output keeps n positions (output-size).

Stride s: with c = ceil(n/s) and e = (c - 1)s + D + 1 - n, the total padding is
max(0, e) = [e ≥ 0]·e (never negative) and the output has c positions:

    floor((n + max(0, e) - D - 1)/s) + 1 = ceil(n/s).

Proof by cases.  If e ≥ 0 the padded input has exactly (c - 1)s + D + 1 positions, the span of
c windows.  If e < 0 no padding is needed: (c - 1)s ≤ n - D - 1 (that is e < 0) and
n - D - 1 ≤ cs - 1 (since n ≤ s·ceil(n/s) and D ≥ 0), so floor((n - D - 1)/s) = c - 1.
Without the max a negative total would crop the input.
"""

from __future__ import annotations

import sympy

from convproof.proofs.output_size import axis_point, axis_setting
from convproof.spec import ConvSpec, ceil_div
from convproof.symbolic import Claim, Derivation, Theorem, certified, le, lt, universal
from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rules used below)

st = axis_setting()
span_end = st.d * (st.k - 1)   # D


def same_spec(stride) -> ConvSpec:
    return ConvSpec(1, 1, (st.k,), stride=stride, padding="same", dilation=(st.d,))


UNIT = same_spec(1)
STRIDED = same_spec((st.s,))
(low_1, high_1), = UNIT.pads((st.n,))
(low_s, high_s), = STRIDED.pads((st.n,))
windows = ceil_div(st.n, st.s)                       # c = ceil(n/s), as the library writes it
needed = (windows - 1) * st.s + span_end + 1 - st.n  # e

THEOREM = Theorem(
    "same-padding", '"Same" padding: the total, the odd pixel and ceil(n/s) outputs',
    r"s = 1:\ p_{hi} - p_{lo} = d(k-1) \bmod 2;\quad \left\lfloor \frac{n + \max(0, e) - d(k-1)"
    r" - 1}{s} \right\rfloor + 1 = \lceil n/s \rceil,"
    r"\ e = (\lceil n/s \rceil - 1)s + d(k-1) + 1 - n",
    depends=("output-size",),
    notes=(
        "The notes pad (F - 1)/2 on each side, which is an integer only for odd F; for an even "
        "kernel the library puts the odd pixel after (p_lo = floor((F - 1)/2)).",
    ),
)

ODD_PIXEL = THEOREM.export(Claim(
    "the odd pixel at the end", high_1 - low_1, sympy.Mod(span_end, 2),
    text="unit stride: p_hi - p_lo = d(k - 1) mod 2, 0 or 1",
))
TOTAL = THEOREM.export(Claim(
    "total padding", low_s + high_s, le(0, needed) * needed,
    text="stride s: the total padding max(0, e) is e where e ≥ 0 and none otherwise",
))
OUTPUT = THEOREM.export(Claim(
    "ceil(n/s) outputs", STRIDED.output_size((st.n,))[0], sympy.ceiling(st.n / st.s),
    text="stride s: the output has ceil(n/s) positions",
))


@THEOREM.evidence
def padding():
    odd = Derivation(ODD_PIXEL.lhs, "p_hi - p_lo with p_lo = floor(D/2)").back(
        "division with remainder", ODD_PIXEL.rhs, "D - 2·floor(D/2) is the remainder of D mod 2")
    total = Derivation(TOTAL.lhs, "the total padding").by(
        "max as cases", TOTAL.rhs, "max(0, e) is e where e ≥ 0, else 0")
    return [universal(ODD_PIXEL, odd), universal(TOTAL, total)]


@THEOREM.evidence
def output():
    unpadded = sympy.floor((st.n - span_end - 1) / st.s)
    padded = st.n + le(0, needed) * needed - span_end - 1
    proof = (
        Derivation(OUTPUT.lhs, "the number of windows with 'same' padding")
        .by("max as cases", sympy.floor(padded / st.s) + 1, "max(0, e) = [e ≥ 0]·e")
        .by("case split", le(0, needed) * windows + lt(needed, 0) * (unpadded + 1),
            "e ≥ 0: the padded size is (c - 1)s + D + 1, and floor((c - 1)s/s) + 1 = c; "
            "e < 0: no padding", bracket=le(0, needed))
        .by("floor value", (le(0, needed) + lt(needed, 0)) * windows,
            "e < 0 gives (c - 1)s ≤ n - D - 1, and n ≤ s·ceil(n/s) gives n - D - 1 ≤ cs - 1",
            value=windows - 1)
        .back("case split", windows, "both cases give c", bracket=le(0, needed))
        .by("ceil as floor", sympy.floor((st.n + st.s - 1) / st.s),
            "c = -floor(-n/s) = floor((n + s - 1)/s)")
        .back("ceil as floor", OUTPUT.rhs, "which is ceil(n/s)")
    )
    return universal(OUTPUT, proof)


_AXES = [(5, 3, 1, 1), (7, 3, 2, 1), (8, 1, 3, 1), (7, 2, 3, 1), (9, 3, 2, 2), (4, 4, 3, 1),
         (6, 2, 1, 1), (10, 5, 4, 1), (3, 3, 2, 3)]  # (n, k, s, d)


def grid() -> list:
    """Even and odd spans, totals with and without the max, strides 1-4."""
    return [axis_point(st, n, k, s, d, 0, 0) for n, k, s, d in _AXES]


@THEOREM.evidence
def certificates():
    return [certified(claim, grid(), f"{claim.name}, exact on a grid")
            for claim in (ODD_PIXEL, TOTAL, OUTPUT)]


@THEOREM.mutant("'same' padding with the odd pixel at the start")
def odd_pixel_first():
    first = ceil_div(span_end, 2)
    return certified(Claim("odd pixel", (span_end - first) - first, ODD_PIXEL.rhs), grid())


@THEOREM.mutant("'same' total padding without the max: (ceil(n/s) - 1)s + d(k - 1) + 1 - n")
def total_without_max():
    return certified(Claim("total", TOTAL.lhs, needed), grid())


@THEOREM.mutant("'same' padding keeps floor(n/s) positions")
def floor_outputs():
    return certified(Claim("outputs", OUTPUT.lhs, sympy.floor(st.n / st.s)), grid())


prove = THEOREM.prove
render = THEOREM.render
