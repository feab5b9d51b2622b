"""transposed-output-size: the output_padding a picks one of the s sizes a conv maps alike.

The transposed convolution of a conv (k, s, d, p, q) maps m positions to

    t(m, a) = (m - 1)s - p - q + d(k - 1) + a + 1            (ConvSpec.transposed_output_size).

The forward conv maps the s consecutive input sizes n with (m - 1)s ≤ X(n) ≤ (m - 1)s + s - 1,
X(n) = n + p + q - d(k - 1) - 1, to the same output size m.  They are exactly t(m, a) for
a = 0, ..., s - 1:

    [a ≤ s - 1] · o(t(m, a)) = [a ≤ s - 1] · m,
    [o(n) = m] = Σ_{r=0}^{s-1} [n = t(m, r)]       (each such n is reached by exactly one a),

and a = X(n) mod s (the rows the floor rule dropped) gives back n: t(o(n), a) = n.

The catalog (like PyTorch) allows a < max(s, d).  For s ≤ a < d the size t(m, a) is one the
forward conv maps to a different output size, so that transposed conv is not the adjoint of a
conv with that input: with s = 1, d = 2, k = 2 and a = 1, t(3, 1) = 6 but o(6) = 4.
"""

from __future__ import annotations

import sympy

from convproof.proofs.output_size import axis_point, axis_setting
from convproof.symbolic import (Claim, Derivation, Theorem, certified, eq, in_range, lt, refuted,
                                scalar, universal, zsum)
from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rules used below)

st = axis_setting()
m = scalar("m", positive=True)   # the transposed conv's input size (a forward output size)
r = scalar("r")                   # an output padding as a summation variable
spec = st.spec


def forward(size):
    """o(n) = floor((n + p + q - d(k - 1) - 1)/s) + 1, from ConvSpec.output_size."""
    return spec.output_size((size,))[0]


transposed = spec.transposed_output_size((m,))[0]   # t(m, a)
excess = st.n + st.p + st.q - st.d * (st.k - 1) - 1  # X(n)
UNUSED_ROWS = sympy.Eq(st.a, st.unused, evaluate=False)

THEOREM = Theorem(
    "transposed-output-size", "Output padding selects one of the sizes a conv maps alike",
    r"t(m, a) = (m-1)s - p - q + d(k-1) + a + 1;\quad [a < s]\, o(t(m, a)) = [a < s]\, m;"
    r"\quad [o(n) = m] = \sum_{r=0}^{s-1} [n = t(m, r)]",
    depends=("output-size",),
    notes=(
        "Not the notes but the catalog: its range a ∈ [0, max(s, d)) is too wide: for "
        "s ≤ a < d the transposed output is a size that the forward conv maps to a different "
        "output size (s = 1, d = 2, k = 2, a = 1: t(3, 1) = 6, o(6) = 4); only a ∈ [0, s) "
        "selects one of the input sizes of the same output size.  convproof.functional accepts "
        "a < max(s, d), as PyTorch does; such a transposed conv is then no conv's input "
        "gradient at its own size.",
    ),
)

ONE_OF_S = THEOREM.export(Claim(
    "one of the s sizes", lt(st.a, st.s) * forward(transposed), lt(st.a, st.s) * m,
    text="for 0 ≤ a < s the forward conv maps t(m, a) back to m",
))
REACHED = THEOREM.export(Claim(
    "every size reached once", eq(forward(st.n), m),
    zsum(in_range(r, st.s) * eq(st.n, transposed.subs(st.a, r)), r),
    text="each input size with output m is t(m, a) for exactly one a in [0, s)",
))
RESTORES = THEOREM.export(Claim(
    "restores the input size", st.transposed_size, st.n, hypotheses=(UNUSED_ROWS,),
    text="with a = X(n) mod s the transposed conv of o(n) positions has n",
))
below_max = lt(st.a, sympy.Max(st.s, st.d))
LOOSE = Claim("the catalog's range a < max(s, d)", below_max * forward(transposed), below_max * m)


@THEOREM.evidence
def one_of_s():
    proof = (
        Derivation(ONE_OF_S.lhs, "the forward size of t(m, a)")
        .by("floor shift", lt(st.a, st.s) * (sympy.floor(st.a / st.s) + m),
            "X(t(m, a)) = (m - 1)s + a, and floor(((m - 1)s + a)/s) = floor(a/s) + m - 1")
        .by("floor value", ONE_OF_S.rhs, "0 ≤ a ≤ s - 1 gives floor(a/s) = 0", value=0)
    )
    return universal(ONE_OF_S, proof)


@THEOREM.evidence
def every_size_reached():
    low = (m - 1) * st.s
    proof = (
        Derivation(REACHED.lhs, "the input sizes with output size m")
        .by("floor bounds", sympy.Mul(*(lt(low - 1, excess), lt(excess, low + st.s))),
            "floor(X/s) + 1 = m iff (m - 1)s ≤ X ≤ (m - 1)s + s - 1")
        .back("Kronecker delta", REACHED.rhs,
              "n = t(m, r) pins r = X(n) - (m - 1)s, which lies in [0, s - 1]", var=r)
    )
    return universal(REACHED, proof)


@THEOREM.evidence
def restores():
    proof = (
        Derivation(RESTORES.lhs, "t(o(n), a) with a = X(n) mod s")
        .by("hypothesis", RESTORES.lhs.subs(st.a, st.unused), "a = X(n) mod s",
            equation=UNUSED_ROWS)
        .by("division with remainder", st.n,
            "X mod s = X - s·floor(X/s), and (o - 1)s = s·floor(X/s): the sum is X + p + q - "
            "d(k - 1) + 1 = n")
    )
    return universal(RESTORES, proof)


_AXES = [(5, 3, 1, 1, 1, 1), (6, 2, 2, 1, 0, 1), (7, 3, 3, 1, 2, 0), (5, 2, 1, 2, 1, 0),
         (8, 3, 2, 3, 2, 1), (9, 2, 3, 2, 0, 0)]


def grid() -> list:
    """Small sizes, strides 1-3, dilations 1-3, every output padding below max(s, d)."""
    return [axis_point(st, *axis, more={st.a: a, m: size}) for axis in _AXES
            for a in range(max(axis[2], axis[3])) for size in (1, 2, 4)]


def forward_grid() -> list:
    """The same sizes for claims about a forward input size n (a is set by a hypothesis)."""
    return [axis_point(st, *axis) for axis in _AXES]


@THEOREM.evidence
def certificates():
    points = [p for p in grid() if p.values[st.a] < p.values[st.s]]
    return [certified(ONE_OF_S, points, "exact for every a < s on a grid"),
            certified(REACHED, points, "exact on the same grid"),
            certified(RESTORES, forward_grid(), "exact on the grid")]


@THEOREM.evidence
def catalog_range():
    point = axis_point(st, 6, 2, 1, 2, 0, 0, "stride 1, dilation 2, output padding 1",
                       {st.a: 1, m: 3})
    return refuted(LOOSE, point, {}, "a = 1 < max(s, d) = 2 gives a size mapped to 4, not 3")


@THEOREM.mutant("the catalog's range: every a < max(s, d) selects a size mapped to m")
def catalog_range_mutant():
    return certified(LOOSE, grid())


@THEOREM.mutant("the transposed conv without the output padding restores the input size")
def without_output_padding():
    claim = Claim("restores", st.transposed_size.subs(st.a, 0), st.n)
    return certified(claim, forward_grid())


@THEOREM.mutant("the transposed size m·s instead of (m - 1)s")
def one_stride_too_many():
    claim = Claim("one of s", lt(st.a, st.s) * forward(transposed + st.s), ONE_OF_S.rhs)
    return certified(claim, grid())


prove = THEOREM.prove
render = THEOREM.render
