"""output-size: a convolution has floor((n + p + q - d(k - 1) - 1)/s) + 1 window positions.

Along one axis, with input size n, padding (p, q) = (p_lo, p_hi), kernel k, dilation d and
stride s, the window of output u covers the padded positions s·u ... s·u + d(k - 1).  It lies
inside the padded input [0, n + p + q - 1] when s·u ≤ X, X = n + p + q - d(k - 1) - 1, so when
the kernel fits (X ≥ 0) the number of window positions is

    #{u ≥ 0 : s·u + d(k - 1) ≤ n + p + q - 1} = floor(X/s) + 1,

which is ConvSpec.output_size.  Proof: s·u ≤ X iff u ≤ floor(X/s), and [0, floor(X/s)] has
floor(X/s) + 1 points.  An N-d output is the product of its axes.  With unit stride the
library's padding strings give: "valid" (p = q = 0) n - d(k - 1), "same" (p + q = d(k - 1),
the odd pixel after) n, "full" (p = q = d(k - 1)) n + d(k - 1); with d = 1 these are the notes'
m - k + 1, m and m + k - 1.

The 7×7 input and 3×3 kernel of the notes: stride 1 gives 5, stride 2 gives 3, stride 3 gives
2 (the notes' (N - F)/stride + 1 = 7/3 "doesn't fit": the floor rule keeps 2 windows and leaves
X mod s = 1 trailing row unused, ConvSpec(strict=True) refuses that layout), dilation 2 gives 3.
"""

from __future__ import annotations

import sympy
from sympy import Expr

from convproof.spec import ConvSpec
from convproof.symbolic import (Claim, Derivation, Point, Theorem, certified, le, scalar,
                                universal, zsum)
from convproof.symbolic.operators import Setting
from convproof.symbolic import rules_counting, rules_sizes  # noqa: F401  (rules used below)


def axis_setting() -> Setting:
    """The sizes of one axis as scalar symbols: per-axis counting needs a total order."""
    return Setting(n=scalar("n", positive=True), k=scalar("k", positive=True),
                   s=scalar("s", positive=True), d=scalar("d", positive=True),
                   p=scalar("p", nonnegative=True), q=scalar("q", nonnegative=True),
                   a=scalar("a", nonnegative=True))


def axis_point(st: Setting, n, k, s, d, p, q, note: str = "", more: dict | None = None) -> Point:
    """A grid point for one axis; ``more`` gives further symbols their values."""
    more = more or {}
    values = {st.n: n, st.k: k, st.s: s, st.d: d, st.p: p, st.q: q, **more}
    label = {"n": n, "k": k, "s": s, "d": d, "p": p, "q": q,
             **{str(symbol): value for symbol, value in more.items()}}
    return Point(values, 1, note=note, label=label)


st = axis_setting()
u = scalar("u")  # a window position: a summation variable, so no sign assumption
span_end = st.d * (st.k - 1)          # the last tap's offset within a window
excess = st.n + st.p + st.q - span_end - 1   # X: the last start position of a window


def window_positions(setting: Setting, position=u) -> Expr:
    """#{u ≥ 0 : s·u + d(k - 1) ≤ n + p + q - 1}: the windows inside the padded input."""
    last = setting.n + setting.p + setting.q - 1
    return zsum(le(0, position) * le(setting.s * position + setting.d * (setting.k - 1), last),
                position)


def kernel_fits(setting: Setting) -> Expr:
    """[d(k - 1) + 1 ≤ n + p + q]: the window fits in the padded input."""
    return le(setting.d * (setting.k - 1) + 1, setting.n + setting.p + setting.q)


THEOREM = Theorem(
    "output-size", "The number of window positions",
    r"\#\{u \ge 0 : s u + d(k-1) \le n + p + q - 1\} = "
    r"\left\lfloor \frac{n + p + q - d(k-1) - 1}{s} \right\rfloor + 1"
    r"\quad\text{where } d(k-1) + 1 \le n + p + q",
    notes=(
        "The notes' output size (N - F)/stride + 1 has no floor: for N = 7, F = 3, stride 3 it "
        "gives 2.33; the number of windows is floor((N - F)/stride) + 1 = 2, one row unused.",
        "With I on {0, ..., n}² and 'same' borders, K ∗ I has (n + 1) × (n + 1) entries, not "
        "n × n; with stride 2 it has ceil((n + 1)/2) per axis, 'half the size' only up to that "
        "rounding and only with 'same' padding.",
    ),
)

COUNT = THEOREM.export(Claim(
    "window positions", kernel_fits(st) * window_positions(st), kernel_fits(st) * st.out,
    text="one axis, every size, stride, dilation and padding where the kernel fits",
))


def _string_claim(name: str, padding: str, rhs: Expr) -> Claim:
    """The output size with the library's padding string, unit stride."""
    lo, hi = ConvSpec(1, 1, (st.k,), stride=1, padding=padding, dilation=(st.d,)).pads((st.n,))[0]
    hypotheses = (sympy.Eq(st.s, 1, evaluate=False), sympy.Eq(st.p, lo, evaluate=False),
                  sympy.Eq(st.q, hi, evaluate=False))
    return THEOREM.export(Claim(name, st.out, rhs, hypotheses=hypotheses,
                                text=f'unit stride, padding="{padding}"'))


VALID = _string_claim("valid", "valid", st.n - span_end)
SAME = _string_claim("same", "same", st.n)
FULL = _string_claim("full", "full", st.n + span_end)

expected_out, expected_unused = scalar("o r")
EXAMPLES = Claim("the 7×7 examples", st.out, expected_out,
                 text="7×7 input, 3×3 kernel: strides 1, 2, 3 and dilation 2")
UNUSED = Claim("rows left unused", st.unused, expected_unused,
               text="7×7 input, 3×3 kernel: the rows no window reaches")
_NOTES = [  # (stride, dilation, windows, unused rows): 5, 3, 2 (one row unused), 3
    (1, 1, 5, 0), (2, 1, 3, 0), (3, 1, 2, 1), (1, 2, 3, 0),
]


def example_points() -> list[Point]:
    return [axis_point(st, 7, 3, s, d, 0, 0, f"stride {s}, dilation {d}",
                       {expected_out: out, expected_unused: rows})
            for s, d, out, rows in _NOTES]


def grid() -> list[Point]:
    """Sizes where the kernel fits, every stride 1-3 and dilation 1-2."""
    axes = [(5, 3, 1, 1, 1, 1), (6, 2, 2, 1, 0, 1), (7, 3, 3, 1, 2, 0), (5, 2, 1, 2, 1, 0),
            (8, 3, 2, 2, 2, 1), (4, 1, 3, 2, 0, 0), (7, 3, 3, 2, 1, 2), (3, 2, 1, 1, 0, 2),
            (1, 4, 2, 1, 2, 1), (9, 2, 3, 3, 0, 0)]
    return [axis_point(st, *axis) for axis in axes] + example_points()


@THEOREM.evidence
def counting():
    last_start = sympy.floor(excess / st.s)
    proof = (
        Derivation(COUNT.lhs, "count the windows inside the padded input")
        .back("floor bounds", kernel_fits(st) * zsum(le(0, u) * le(u, last_start), u),
              "s·u ≤ X iff u ≤ floor(X/s) (s ≥ 1), with X = n + p + q - d(k - 1) - 1")
        .by("count an interval", kernel_fits(st) * le(-1, last_start) * (last_start + 1),
            "the interval [0, floor(X/s)] has floor(X/s) + 1 points", var=u)
        .by("floor bounds", kernel_fits(st) * le(-st.s, excess) * (last_start + 1),
            "floor(X/s) ≥ -1 iff X ≥ -s")
        .by("implied bracket", kernel_fits(st) * (last_start + 1),
            "X ≥ 0 (the kernel fits) gives X ≥ -s")
    )
    return universal(COUNT, proof)


def _unit_stride_steps(claim: Claim, padding: str, result: Expr) -> Derivation:
    stride, low, high = claim.hypotheses
    unit = st.n + st.p + st.q - span_end
    return (
        Derivation(claim.lhs, f'the output size with padding "{padding}"')
        .by("hypothesis", unit, "unit stride: floor(X/1) + 1 = X + 1", equation=stride)
        .by("hypothesis", unit.subs(st.p, low.rhs), f"p_lo = {low.rhs}", equation=low)
        .by("hypothesis", unit.subs({st.p: low.rhs, st.q: high.rhs}), f"p_hi = {high.rhs}",
            equation=high)
        .by("algebra", result, "collect the sizes")
    )


@THEOREM.evidence
def padding_strings():
    return [universal(claim, _unit_stride_steps(claim, padding, claim.rhs))
            for claim, padding in ((VALID, "valid"), (SAME, "same"), (FULL, "full"))]


@THEOREM.evidence
def certificates():
    return [certified(COUNT, grid(), "the count, exact on a grid and the notes' examples"),
            certified(EXAMPLES, example_points(), "the notes' 7×7 examples: 5, 3, 2 and 3"),
            certified(UNUSED, example_points(), "stride 3 leaves one row unused, the others none")]


@THEOREM.mutant("the notes' output size (N - F)/stride + 1, without the floor")
def without_floor():
    return certified(Claim("examples", st.out, excess / st.s + 1), example_points())


@THEOREM.mutant("output size with the dilation left out of the span")
def dilation_ignored():
    wrong = sympy.floor((st.n + st.p + st.q - st.k) / st.s) + 1
    return certified(Claim("examples", st.out, wrong), example_points())


@THEOREM.mutant("windows counted up to one position past the padded input")
def overhanging_window():
    overhang = zsum(le(0, u) * le(st.s * u + span_end, st.n + st.p + st.q), u)
    return certified(Claim("count", kernel_fits(st) * overhang, COUNT.rhs), grid())


prove = THEOREM.prove
render = THEOREM.render
