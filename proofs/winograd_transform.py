"""winograd-transform: Winograd minimal filtering F(m, r) is exact.

F(m, r) computes the m outputs of an r-tap correlation y[u] = Σ_{k<r} g[k] d[u + k] at the
tile u = t, ..., t + m - 1 from its n = m + r - 1 inputs d[t], ..., d[t + n - 1] as

    y[t + i] = (Aᵀ [(G g) ⊙ (Bᵀ d_t)])[i],

with Aᵀ (m x n), G (n x r), Bᵀ (n x n) derived by Toom-Cook in
:func:`convproof.symbolic.winograd.toom_cook`: evaluation at n - 1 points (0, ±1, ±1/2, ±2, ...)
and at infinity, interpolation by Lagrange's formula.  The 2-D algorithm nests it along both
axes: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, i.e. vec Y = (Aᵀ ⊗ Aᵀ)[((G ⊗ G) vec g) ⊙ ((Bᵀ ⊗ Bᵀ) vec d)].

What is proved, each by a derivation whose every link the engine checks exactly (a rule
applied, then normal forms compared: polynomial identities with exact rational, or
rational-function, coefficients):

- **for all m, r ≥ 1** (symbolic sizes), F(m, r) and its 2-D nesting F(m x m, r x r), every
  tile offset, all entries d, g and all points x_0, ..., x_{n-2}, with Aᵀ[i, l] = E_m[l, i],
  G[l, k] = E_r[l, k]/c[l] and Bᵀ[l, w] = c[l] C[w, l], where
  E_s[l, j] = [0 ≤ j ≤ s - 1]·([l ≤ n - 2] x_l^j + [l = n - 1][j = s - 1]) evaluates a
  polynomial of degree s - 1 at the points and at infinity, under the hypothesis that C
  interpolates: Σ_l C[w, l] E_n[l, j] = [w = j]·[0 ≤ j ≤ n - 1] for all integers w, j (C is
  the inverse of E_n, a Vandermonde matrix with the row of infinity, and 0 outside the n x n
  box; it exists exactly when the points are distinct).  The hypothesis is checked at the
  points of every instance below (C E_n = I exactly, the table ``interpolation`` in the
  evidence details).  The rows of G may be divided and those of Bᵀ multiplied by any
  nonzero scales c[l] (hypothesis c̄[l] = 1/c[l]), as ``toom_cook`` does (``_row_scale``:
  integer rows of Bᵀ for rational points);
- for each F(m, r) in ``ONE_DIM`` (F(2,3), F(4,3), F(6,3), F(2,5), F(3,2)) at the standard
  points, and F(4,3) also at 0, ±1, 1/2, -2 (``points_for``: the points the CPU path uses, with
  a smaller error amplification): the identity with the matrices of ``toom_cook`` for every
  tile offset t and all entries d, g (symbolic signals), every output of the tile at once
  (paired with arbitrary weights e: Σ_i e[i] y[t + i] = Σ_i e[i] Y[t, i] for all e);
- F(2,3) with symbolic points x_0, x_1, x_2: the construction itself, for all distinct points;
- F(2x2, 3x3) and F(4x4, 3x3) (the latter at the points of the CPU path): the 2-D nesting,
  derived from the 1-D identity along one axis and then the other;
- the multiplication count: U ⊙ V in Y multiplies once per point, and counting the points of
  its sum gives n = m + r - 1 per tile instead of m·r (n² instead of m²r² in 2-D), a saving of
  (m - 1)(r - 1), and (m - 1)(r - 1)(mr + m + r - 1) in 2-D, for all m, r.

The argument, in prose: pairing with e turns the correlation into the coefficients s of the
polynomial product e(x) g(x) (degree n - 1) read against d; a polynomial of degree n - 1 is
determined by its values at n - 1 distinct points and its leading coefficient (its "value at
infinity"), so s is the interpolation of the n products e(x_l) g(x_l) (polynomial
multiplication modulo M(x) = Π (x - x_l), plus the leading term); regrouping the sums gives
Aᵀ, G, Bᵀ.

The price is numerical: the entries of the transforms grow with m (``growth`` in the evidence
details lists max |entry|, κ_∞ of Aᵀ, G, Bᵀ and the error amplification β/r for m = 2..8,
exact: β/r = 8/3, 16, 203/9, ..., 2752/9 for F(2,3), F(4,3), F(6,3), ..., F(8,3)); rounding
errors grow with them, which is why float32 paths use a small m (F(4x4, 3x3) on the CPU,
chosen by its measured float32 error, benchmarks/NOTES.md).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from sympy import ImmutableMatrix, Symbol

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, box, eq, in_range, le, scalar,
                                universal, zsum)
from convproof.symbolic import rules_counting, rules_real  # noqa: F401  (register their rules)
from convproof.symbolic.rules_sums import every
from convproof.symbolic.winograd import (Transforms, evaluation, growth, interpolation,
                                         points_for, standard_points, toom_cook)

ONE_DIM = ((2, 3), (4, 3), (6, 3), (2, 5), (3, 2))
TWO_DIM = ((2, 3), (4, 3))
"""F(m, r) proved at the standard points, and at the points of ``points_for`` (the ones the
numeric paths use) where those differ; the 2-D nesting at the points of ``points_for``."""
GROWTH_M = range(2, 9)

d, g, e = Signal("d"), Signal("g"), Signal("e")
t, t1, t2 = scalar("t t_1 t_2")
m_, r_ = scalar("m r", positive=True)

THEOREM = Theorem(
    "winograd-transform", "Winograd minimal filtering F(m, r) is exact",
    r"y = A^{T}\left[(G g) \odot (B^{T} d)\right],\quad "
    r"Y = A^{T}\left[(G g G^{T}) \odot (B^{T} d B)\right] A\ \text{for all } m, r \ge 1"
    r"\quad\text{with } A^{T} = E_m^{T},\ G = \bar{c} E_r,\ B^{T} = c\, C^{T},\ C E_n = I,"
    r"\ c \bar{c} = 1;\ "
    r"\text{the matrices of } F(2,3), F(4,3), F(6,3), F(2,5), F(3,2), F(2{\times}2, 3{\times}3), "
    r"F(4{\times}4, 3{\times}3)\text{, every tile offset and entry}",
)


def _sum(terms) -> sympy.Expr:
    return sympy.Add(*terms)


class _Entry(sympy.Function):
    """Entry of a tabulated signal: its formula, evaluated once the table indices are numbers."""

    @classmethod
    def eval(cls, name, *indices):
        formula, offsets = _TABLES[name.name]
        if all(index.is_Integer for index in indices[offsets:]):
            return formula(*indices[:offsets], *(int(index) for index in indices[offsets:]))
        return None


_TABLES: dict[str, tuple] = {}


def tabulated(name: str, latex: str, formula, arity: int, offsets: int = 0) -> Signal:
    """A signal defined entry by entry: ``formula(*offsets, *table indices)``.

    The first ``offsets`` indices may be any expression (tile offsets); the others are numbers
    when the entry is unfolded (the rule substitutes them into the formula's placeholders).
    """
    _TABLES[name] = (formula, offsets)
    key = sympy.Symbol(name)
    return Signal(name, latex, lambda *index: _Entry(key, *index), arity=arity)


def _symbolic(tr: Transforms) -> bool:
    return not all(p.is_Rational for p in tr.points)


def _where(tr: Transforms) -> str:
    """How a claim names its points: none for the standard ones."""
    if _symbolic(tr):
        return " at symbolic points"
    if tr.points == standard_points(tr.n - 1):
        return ""
    return " at " + ", ".join(map(str, tr.points))


def _named(tr: Transforms, tag: str) -> str:
    """A signal-name suffix unique to the transforms (and a tag for wrong statements)."""
    return f"{tr.m}_{tr.r}{_where(tr).replace(' ', '')}{tag}"


@functools.cache
def _correlation(r: int, dims: int) -> Signal:
    """y[u] = Σ_{k<r} g[k] d[u + k] along every axis: the r-tap correlation (no border)."""
    def entry(*u):
        return _sum(g[k] * d[tuple(a + b for a, b in zip(u, k))]
                    for k in itertools.product(range(r), repeat=dims))
    return Signal(f"corr{r}x{dims}", rf"\operatorname{{corr}}_{{{r}}}", entry, arity=dims)


# --------------------------------------------------------------------------------------------
# 1-D: F(m, r)
# --------------------------------------------------------------------------------------------

class OneDim:
    """The signals of F(m, r): U = G g, V = Bᵀ d_t and the tile Y = Aᵀ (U ⊙ V).

    ``flip`` reads the kernel reversed (a wrong statement: that is the true convolution).
    """

    def __init__(self, tr: Transforms, flip: bool = False, tag: str = ""):
        self.tr = tr
        m, r, n = tr.m, tr.r, tr.n
        name = _named(tr, tag)
        tap = (lambda k: r - 1 - k) if flip else (lambda k: k)
        self.U = tabulated(f"U{name}", "G g", lambda l: _sum(
            tr.G[l, k] * g[tap(k)] for k in range(r)), arity=1)
        self.V = tabulated(f"V{name}", r"B^{T} d", lambda o, l: _sum(
            tr.BT[l, j] * d[o + j] for j in range(n)), arity=2, offsets=1)
        self.Y = tabulated(f"Y{name}", r"A^{T}(U \odot V)", lambda o, i: _sum(
            tr.AT[i, l] * self.U[l] * self.V[o, l] for l in range(n)), arity=2, offsets=1)
        points = ", ".join(map(str, tr.points))
        self.claim = Claim(
            f"F({m},{r}){_where(tr)}",
            _sum(e[i] * _correlation(r, 1)[t + i] for i in range(m)),
            _sum(e[i] * self.Y[t, i] for i in range(m)),
            text=f"the {m} outputs of a {r}-tap correlation at every tile offset t, for all "
                 "entries of d and g"
                 + (f", for all distinct points {points}" if _symbolic(tr) else ""))


def one_dim_derivation(sides: OneDim) -> Derivation:
    """Σ_i e[i] y[t + i] → product polynomial → Lagrange → regrouped into Aᵀ, G, Bᵀ."""
    tr = sides.tr
    m, r, n = tr.m, tr.r, tr.n
    E_m, E_r, C = evaluation(tr.points, m), evaluation(tr.points, r), interpolation(tr.points)
    values_e = [_sum(E_m[l, i] * e[i] for i in range(m)) for l in range(n)]
    values_g = [_sum(E_r[l, k] * g[k] for k in range(r)) for l in range(n)]
    product = [_sum(e[i] * g[u - i] for i in range(m) if 0 <= u - i < r) for u in range(n)]
    return (
        Derivation(sides.claim.lhs, f"{sides.claim.name} by Toom-Cook")
        .by("definition", _sum(e[i] * g[k] * d[t + i + k] for i in range(m) for k in range(r)),
            "unfold the correlation", signals=(_correlation(r, 1),))
        .by("algebra", _sum(d[t + u] * product[u] for u in range(n)),
            "collect by u = i + k: s[u] = Σ_{i+k=u} e[i] g[k] is the coefficient of x^u in "
            "the product polynomial e(x) g(x), of degree n - 1")
        .by("algebra", _sum(values_e[l] * values_g[l]
                            * _sum(C[u, l] * d[t + u] for u in range(n)) for l in range(n)),
            "Lagrange: s(x) = Σ_l e(x_l) g(x_l) L_l(x) + e[m-1] g[r-1] M(x), the values at the "
            "points and at infinity (the leading coefficients); gathered by point l")
        .by("algebra", _sum(_sum(tr.AT[i, l] * e[i] for i in range(m))
                            * _sum(tr.G[l, k] * g[k] for k in range(r))
                            * _sum(tr.BT[l, u] * d[t + u] for u in range(n)) for l in range(n)),
            "Aᵀ = (evaluation of e)ᵀ, G = evaluation of g / c_l, Bᵀ = c_l Cᵀ: the row scale "
            "c_l cancels in the product")
        .back("definition", _sum(_sum(tr.AT[i, l] * e[i] for i in range(m))
                                 * sides.U[l] * sides.V[t, l] for l in range(n)),
              "name U = G g and V = Bᵀ d_t", signals=(sides.U, sides.V))
        .by("swap sums", _sum(e[i] * _sum(tr.AT[i, l] * sides.U[l] * sides.V[t, l]
                                          for l in range(n)) for i in range(m)),
            "gather the terms of each output i")
        .back("definition", sides.claim.rhs, "Y = Aᵀ (U ⊙ V)", signals=(sides.Y,))
    )


def _one_dim_evidence(tr: Transforms):
    sides = OneDim(tr)
    return universal(THEOREM.export(sides.claim), one_dim_derivation(sides))


INSTANCES = tuple((m, r, standard_points(m + r - 2)) for m, r in ONE_DIM) + tuple(
    (m, r, points_for(m, r)) for m, r in ONE_DIM if points_for(m, r) != standard_points(m + r - 2)
) + ((2, 3, sympy.symbols("x_0 x_1 x_2")),)
"""(m, r, points) of the instances proved with their own matrices: every F(m, r) of
``ONE_DIM`` at the standard points, at the points of ``points_for`` where those differ, and
F(2,3) at three symbolic points (the construction is exact for all distinct points)."""


@THEOREM.evidence
def one_dimensional():
    return [_one_dim_evidence(toom_cook(m, r, chosen)) for m, r, chosen in INSTANCES]


# --------------------------------------------------------------------------------------------
# F(m, r) and F(m x m, r x r) for all m and r: Toom-Cook from the interpolation hypothesis
# --------------------------------------------------------------------------------------------

x_, C_ = Signal("x"), Signal("C")
n_ = m_ + r_ - 1
"""n = m + r - 1: the tile, the degree of e(x) g(x) plus one, the number of points with ∞."""


def evaluation_of(degree: sympy.Expr, name: str) -> Signal:
    """E[l, j] = [0 ≤ j ≤ degree]·([l ≤ n - 2]·x_l^j + [l = n - 1]·[j = degree]): the value of
    the monomial x^j of a polynomial of that degree at point l, the last "point" ∞ reading its
    leading coefficient."""
    return Signal(name, name, lambda point, power: box(power, 0, degree) * (
        le(point, n_ - 2) * x_[point] ** power
        + eq(point, n_ - 1) * eq(power, degree)), arity=2)


E_m_, E_r_, E_n_ = (evaluation_of(m_ - 1, "E_m"), evaluation_of(r_ - 1, "E_r"),
                    evaluation_of(n_ - 1, "E_n"))
_w, _j, _l = scalar("w j l")
INTERPOLATES = every((_w, _j), zsum(in_range(_l, n_) * C_[_w, _l] * E_n_[_l, _j], _l),
                     eq(_w, _j) * in_range(_j, n_))
"""C interpolates: Σ_l C[w, l] E_n[l, j] = [w = j]·[0 ≤ j ≤ n - 1] for all w, j."""
scale, unscale = Signal("scale", "c"), Signal("unscale", r"\bar{c}")
SCALED = every((_l,), unscale[_l], 1 / scale[_l])
"""The rows of Bᵀ are multiplied by scales c[l] and those of G divided by them: c̄[l] = 1/c[l]
for every l (so c[l] ≠ 0)."""


@dataclass(frozen=True)
class Axis:
    """The indices of one axis: output i, tap k, power j of x, input w, point l, tile offset t."""

    i: Symbol
    k: Symbol
    j: Symbol
    w: Symbol
    l: Symbol
    t: Symbol

    @classmethod
    def named(cls, suffix: str) -> Axis:
        return cls(*scalar(" ".join(f"{name}{suffix}" for name in "ikjwlt")))


@dataclass(frozen=True)
class Part:
    """One axis' share of a term: its factor, where it reads e, g and d (d at t + ``d``), and
    the indices it sums over."""

    factor: sympy.Expr
    e: sympy.Expr
    g: sympy.Expr
    d: sympy.Expr
    bound: tuple[Symbol, ...]


@functools.cache
def axis_stages(a: Axis) -> dict[int, list[Part]]:
    """The 1-D derivation, one axis' share of each line (numbered as its steps): the finite
    points and ∞ become separate parts at line 8, one again at line 19."""
    taps = in_range(a.i, m_) * in_range(a.k, r_)
    read = in_range(a.w, n_)
    finite = taps * read * C_[a.w, a.l] * box(a.l, 0, n_ - 2)
    at_infinity = read * C_[a.w, n_ - 1]
    point_bound, infinity_bound = (a.i, a.k, a.w, a.l), (a.i, a.k, a.w)

    def point(factor: sympy.Expr) -> Part:
        return Part(finite * factor, a.i, a.k, a.w, point_bound)

    def infinity(factor: sympy.Expr, e_at: sympy.Expr | None = None,
                 g_at: sympy.Expr | None = None, bound: tuple = infinity_bound) -> Part:
        return Part(factor * at_infinity, a.i if e_at is None else e_at,
                    a.k if g_at is None else g_at, a.w, bound)

    power = point(x_[a.l] ** (a.i + a.k))
    split = point(in_range(a.l, n_) * x_[a.l] ** a.i * x_[a.l] ** a.k)
    leading = infinity(1, m_ - 1, r_ - 1, (a.w,))
    sizes = le(0, m_ - 1) * le(0, r_ - 1) * le(0, n_ - 1)
    return {
        1: [Part(taps, a.i, a.k, a.i + a.k, (a.i, a.k))],
        2: [Part(taps * box(a.i + a.k, 0, n_ - 1), a.i, a.k, a.i + a.k, (a.i, a.k))],
        3: [Part(taps * eq(a.j, a.i + a.k) * box(a.j, 0, n_ - 1), a.i, a.k, a.j,
                 (a.i, a.k, a.j))],
        4: [Part(taps * eq(a.j, a.i + a.k) * box(a.j, 0, n_ - 1) * read * eq(a.w, a.j), a.i,
                 a.k, a.w, (a.i, a.k, a.j, a.w))],
        5: [Part(taps * eq(a.j, a.i + a.k) * read * zsum(
            in_range(a.l, n_) * C_[a.w, a.l] * E_n_[a.l, a.j], a.l), a.i, a.k, a.w,
            (a.i, a.k, a.j, a.w))],
        6: [Part(taps * read * in_range(a.l, n_) * C_[a.w, a.l]
                 * E_n_[a.l, a.i + a.k], a.i, a.k, a.w, point_bound)],
        7: [Part(taps * read * in_range(a.l, n_) * C_[a.w, a.l]
                 * box(a.i + a.k, 0, n_ - 1) * (le(a.l, n_ - 2) * x_[a.l] ** (a.i + a.k)
                                                  + eq(a.l, n_ - 1) * eq(a.i + a.k, n_ - 1)),
                 a.i, a.k, a.w, point_bound)],
        8: [power, Part(taps * read * C_[a.w, a.l] * in_range(a.l, n_)
                        * eq(a.l, n_ - 1) * eq(a.i + a.k, n_ - 1), a.i, a.k, a.w, point_bound)],
        9: [power, infinity(taps * le(0, n_ - 1) * eq(a.i + a.k, n_ - 1))],
        10: [power, infinity(in_range(a.i, m_) * le(0, n_ - 1) * le(0, n_ - 1 - a.i)
                             * le(m_ - 1, a.i), g_at=n_ - 1 - a.i, bound=(a.i, a.w))],
        11: [power, infinity(le(0, a.i) * eq(a.i, m_ - 1) * le(0, n_ - 1)
                             * le(0, n_ - 1 - a.i), g_at=n_ - 1 - a.i, bound=(a.i, a.w))],
        12: [power, infinity(sizes, m_ - 1, r_ - 1, (a.w,))],
        13: [power, leading],
        14: [point(in_range(a.l, n_) * x_[a.l] ** (a.i + a.k)), leading],
        15: [split, leading],
        16: [split, infinity(sizes, m_ - 1, r_ - 1, (a.w,))],
        17: [split, infinity(in_range(a.i, m_) * le(0, r_ - 1) * le(0, n_ - 1)
                             * eq(a.i, m_ - 1), g_at=r_ - 1, bound=(a.i, a.w))],
        18: [split, infinity(taps * le(0, n_ - 1) * eq(a.i, m_ - 1) * eq(a.k, r_ - 1))],
        19: [Part(taps * read * C_[a.w, a.l] * in_range(a.l, n_)
                  * (le(a.l, n_ - 2) * x_[a.l] ** a.i + eq(a.l, n_ - 1) * eq(a.i, m_ - 1))
                  * (le(a.l, n_ - 2) * x_[a.l] ** a.k + eq(a.l, n_ - 1) * eq(a.k, r_ - 1)),
                  a.i, a.k, a.w, point_bound)],
        20: [Part(taps * read * C_[a.w, a.l] * in_range(a.l, n_) * E_m_[a.l, a.i]
                  * E_r_[a.l, a.k], a.i, a.k, a.w, point_bound)],
        21: [Part(taps * read * C_[a.w, a.l] * in_range(a.l, n_) * E_m_[a.l, a.i]
                  * E_r_[a.l, a.k] * unscale[a.l] * scale[a.l], a.i, a.k, a.w, point_bound)],
    }


@dataclass(frozen=True)
class Link:
    """A step of the derivation that takes every axis to line ``line``: once for all axes, or
    (``each``) once per axis, ``params`` given the axis."""

    rule: str
    line: int
    why: str
    backwards: bool = False
    each: bool = False
    params: Callable[[Axis], dict] = lambda a: {}


LINKS = (
    Link("implied bracket", 2, "0 ≤ i + k ≤ m + r - 2 = n - 1", backwards=True),
    Link("Kronecker delta", 3, "name the power j = i + k of x in e(x) g(x)", backwards=True,
         each=True, params=lambda a: {"var": a.j}),
    Link("Kronecker delta", 4, "name the input w = j read", backwards=True, each=True,
         params=lambda a: {"var": a.w}),
    Link("sum hypothesis", 5, "C interpolates: [w = j] = Σ_l C[w, l] E_n[l, j] for "
         "0 ≤ j ≤ n - 1", backwards=True, params=lambda a: {"equation": INTERPOLATES}),
    Link("Kronecker delta", 6, "j = i + k: the monomial x^(i+k) evaluated at point l",
         each=True, params=lambda a: {"var": a.j}),
    Link("definition", 7, "at a point its value x_l^(i+k); at ∞ 1 if i + k = n - 1 (the "
         "leading coefficient)", params=lambda a: {"signals": (E_n_,)}),
    Link("implied bracket", 8, "i + k lies in [0, n - 1], and l ≤ n - 2 implies l ≤ n - 1"),
    Link("Kronecker delta", 9, "∞ is the point l = n - 1", each=True,
         params=lambda a: {"var": a.l}),
    Link("Kronecker delta", 10, "k = n - 1 - i", each=True, params=lambda a: {"var": a.k}),
    Link("antisymmetry", 11, "k ≤ r - 1 is i ≥ m - 1: with i ≤ m - 1, i = m - 1"),
    Link("Kronecker delta", 12, "i = m - 1: the leading coefficients", each=True,
         params=lambda a: {"var": a.i}),
    Link("decide brackets", 13, "m, r ≥ 1"),
    Link("implied bracket", 14, "l ≤ n - 2 implies l ≤ n - 1", backwards=True),
    Link("powers of one base", 15, "x_l^(i+k) = x_l^i x_l^k for i, k ≥ 0: evaluation is "
         "multiplicative", backwards=True, each=True, params=lambda a: {"base": x_[a.l]}),
    Link("decide brackets", 16, "m, r ≥ 1", backwards=True),
    Link("Kronecker delta", 17, "write e[m - 1] as Σ_i [i = m - 1] e[i]", backwards=True,
         each=True, params=lambda a: {"var": a.i}),
    Link("Kronecker delta", 18, "at ∞ the product of the leading coefficients e[m - 1] g[r - 1]",
         backwards=True, each=True, params=lambda a: {"var": a.k}),
    Link("Kronecker delta", 19, "the cross terms need l ≤ n - 2 and l = n - 1 at once: they "
         "vanish", backwards=True, each=True, params=lambda a: {"var": a.l}),
    Link("definition", 20, "the values of x^i and x^k at point l", backwards=True,
         params=lambda a: {"signals": (E_m_, E_r_)}),
    Link("entry hypothesis", 21, "c̄[l] = 1/c[l]: the scales of the rows of G and Bᵀ cancel in "
         "each product (G g)_l (Bᵀ d)_l", backwards=True, params=lambda a: {"equation": SCALED}),
)
"""The steps from line 1 (the correlation unfolded) to line 21 (the transforms unfolded)."""


def _line(axes: Sequence[Axis], lines: Sequence[int]) -> sympy.Expr:
    """Σ over the parts of every axis at its line: Π factor · e[...] g[...] d[t + ...]."""
    total = []
    for parts in itertools.product(*(axis_stages(a)[line] for a, line in zip(axes, lines))):
        body = sympy.Mul(*(p.factor for p in parts)) * e[tuple(p.e for p in parts)] \
            * g[tuple(p.g for p in parts)] * d[tuple(a.t + p.d for a, p in zip(axes, parts))]
        total.append(zsum(body, *(v for p in parts for v in p.bound)))
    return _sum(total)


def hadamard_box(points: Sequence[Symbol]) -> sympy.Expr:
    """[0 ≤ l ≤ n - 1] on every axis: the points at which Y = Aᵀ (U ⊙ V) multiplies U[l] by
    V[t, l], one product each."""
    return sympy.Mul(*(in_range(l, n_) for l in points))


class General:
    """The signals of F(m, r), or of F(m x m, r x r) with ``dims=2``, for symbolic m, r and
    points: Aᵀ[i, l] = E_m[l, i], G[l, k] = c̄[l] E_r[l, k], Bᵀ[l, w] = c[l] C[w, l] along
    every axis, U = G g (Gᵀ), V = Bᵀ d_t (B), Y = Aᵀ (U ⊙ V) (A), under the hypotheses that C
    interpolates and c̄ = 1/c (any nonzero row scales, as ``toom_cook`` takes).

    ``flip`` reads the kernel reversed and ``untransposed`` applies C where Cᵀ belongs (wrong
    statements)."""

    def __init__(self, dims: int = 1, flip: bool = False, untransposed: bool = False,
                 tag: str = ""):
        self.axes = axes = tuple(Axis.named("" if dims == 1 else f"_{a + 1}")
                                 for a in range(dims))
        taps, outputs = [a.k for a in axes], [a.i for a in axes]
        reads, chosen = [a.w for a in axes], [a.l for a in axes]
        tap = (lambda k_: r_ - 1 - k_) if flip else (lambda k_: k_)
        entry = (lambda w, l: C_[l, w]) if untransposed else (lambda w, l: C_[w, l])

        def boxes(indices, bound) -> sympy.Expr:
            return sympy.Mul(*(in_range(v, bound) for v in indices))

        self.corr = Signal("corr" + tag, r"\operatorname{corr}", lambda *u: zsum(
            boxes(taps, r_) * g[tuple(taps)] * d[tuple(o + tap(k_) for o, k_ in zip(u, taps))],
            *taps), arity=dims)
        self.U = Signal("U" + tag, "G g" if dims == 1 else "G g G^{T}", lambda *ls: zsum(
            boxes(taps, r_) * sympy.Mul(*(E_r_[p, k_] * unscale[p] for p, k_ in zip(ls, taps)))
            * g[tuple(taps)], *taps), arity=dims)
        self.V = Signal("V" + tag, r"B^{T} d" if dims == 1 else r"B^{T} d B", lambda *at: zsum(
            boxes(reads, n_)
            * sympy.Mul(*(scale[p] * entry(w, p) for w, p in zip(reads, at[dims:])))
            * d[tuple(o + w for o, w in zip(at[:dims], reads))], *reads), arity=2 * dims)
        self.Y = Signal("Y" + tag, r"A^{T}(U \odot V)" + ("" if dims == 1 else "A"), lambda *at:
                        zsum(hadamard_box(chosen)
                             * sympy.Mul(*(E_m_[p, i_] for p, i_ in zip(chosen, at[dims:])))
                             * self.U[tuple(chosen)] * self.V[(*at[:dims], *chosen)], *chosen),
                        arity=2 * dims)
        corner = [a.t for a in axes]
        # the right side with Y unfolded: Σ_i Σ_l Aᵀ[i, l] e[i] U[l] V[t, l]
        self.folded = zsum(boxes(outputs, m_) * hadamard_box(chosen) * sympy.Mul(*(
            E_m_[p, i_] for p, i_ in zip(chosen, outputs))) * e[tuple(outputs)]
            * self.U[tuple(chosen)] * self.V[(*corner, *chosen)], *outputs, *chosen)
        self.name = "F(m,r)" if dims == 1 else "F(m x m,r x r)"
        self.claim = Claim(
            f"{self.name} for all m, r",
            zsum(boxes(outputs, m_) * e[tuple(outputs)]
                 * self.corr[tuple(o + i_ for o, i_ in zip(corner, outputs))], *outputs),
            zsum(boxes(outputs, m_) * e[tuple(outputs)] * self.Y[(*corner, *outputs)],
                 *outputs),
            hypotheses=(INTERPOLATES, SCALED),
            text=f"the {'m' if dims == 1 else 'm x m'} outputs of an "
                 f"{'r' if dims == 1 else 'r x r'}-tap correlation at every tile offset, for "
                 "all m, r ≥ 1, all entries of d and g and all points x_0, ..., x_{n-2} "
                 "(n = m + r - 1) at which C interpolates: Σ_l C[w, l] E_n[l, j] = "
                 "[w = j]·[0 ≤ j ≤ n - 1] for all w, j, i.e. C inverts the evaluation E_n at "
                 "the points and at ∞ (it exists exactly when the points are distinct: "
                 "Vandermonde), and any nonzero scales c of the rows of Bᵀ, by which the rows "
                 "of G are divided")


def general_derivation(s: General) -> Derivation:
    """Σ_i e[i] y[t + i] = Σ_w d[t + w] Σ_l C[w, l]·(the value of e(x) g(x) at point l), which
    is Σ_l (E_m e)[l] (E_r g)[l] (Cᵀ d_t)[l]: the product is evaluated factor by factor.  In
    2-D every step is taken along each axis (the steps of one rule on one axis's indices one
    after the other, the others for both axes at once)."""
    axes, dims = s.axes, len(s.axes)
    lines = [1] * dims
    proof = Derivation(s.claim.lhs, f"{s.name} by Toom-Cook, for all m and r").by(
        "definition", _line(axes, lines), "unfold the correlation", signals=(s.corr,))
    for link in LINKS:
        for chosen in (range(dims) if link.each else [None]):
            for axis in (range(dims) if chosen is None else [chosen]):
                lines[axis] = link.line
            where = f" (axis {chosen + 1})" if chosen is not None and dims > 1 else ""
            step = proof.back if link.backwards else proof.by
            step(link.rule, _line(axes, lines), link.why + where,
                 **link.params(axes[chosen or 0]))
    return (
        proof.back("definition", s.folded, "U = G g = (c̄ E_r) g and V = Bᵀ d_t = (c Cᵀ) d_t "
                   "along every axis", signals=(s.U, s.V))
        .back("definition", s.claim.rhs, "Y = Aᵀ (U ⊙ V) with Aᵀ = E_mᵀ", signals=(s.Y,))
    )


def _interpolation_rows() -> list[dict[str, str]]:
    """The hypothesis at the points of every instance below: C·E_n = I, in exact arithmetic
    (rational functions of the points for symbolic ones)."""
    rows = []
    for m, r, chosen in INSTANCES:
        C, E = interpolation(chosen), evaluation(chosen, m + r - 1)
        product = (C * E).applyfunc(sympy.cancel)
        rows.append({"F": f"F({m},{r})", "points": ", ".join(map(str, chosen)),
                     "C E_n = I": "yes" if product == sympy.eye(m + r - 1) else "NO"})
    return rows


@THEOREM.evidence
def all_sizes():
    """F(m, r) and F(m x m, r x r) for symbolic m, r, points and interpolation matrix, and the
    hypothesis at the points of every instance."""
    made = []
    for dims in (1, 2):
        sides = General(dims)
        made.append(universal(THEOREM.export(sides.claim), general_derivation(sides)))
    made[0].details["interpolation"] = rows = _interpolation_rows()
    if any(row["C E_n = I"] != "yes" for row in rows):
        made[0].ok = False
        made[0].message = "C does not interpolate at some instance's points"
    return made


# --------------------------------------------------------------------------------------------
# 2-D: F(m x m, r x r), one axis after the other
# --------------------------------------------------------------------------------------------

class TwoDim:
    """The signals of F(m x m, r x r): U = G (g Gᵀ), V = Bᵀ (d B), Y = Aᵀ (U ⊙ V) A.

    The products are defined one axis at a time, with the halfway signals g Gᵀ and d B (and
    e A, A (e A) for the output weights): the derivation meets them on its way.  ``right``
    is the matrix applied to d on the right (B = (Bᵀ)ᵀ; a wrong statement puts another one).
    """

    def __init__(self, tr: Transforms, right: ImmutableMatrix | None = None, tag: str = ""):
        self.tr, name = tr, "2d" + _named(tr, tag)
        m, r, n = tr.m, tr.r, tr.n
        B = tr.BT.T if right is None else right
        self.e2 = tabulated(f"eA{name}", r"e A", lambda i1, l2: _sum(
            tr.AT[i2, l2] * e[i1, i2] for i2 in range(m)), arity=2)
        self.g2 = tabulated(f"gG{name}", r"g G^{T}", lambda k1, l2: _sum(
            tr.G[l2, k2] * g[k1, k2] for k2 in range(r)), arity=2)
        self.d2 = tabulated(f"dB{name}", r"d B", lambda u1, o2, l2: _sum(
            B[j2, l2] * d[u1, o2 + j2] for j2 in range(n)), arity=3, offsets=2)
        self.e12 = tabulated(f"AeA{name}", r"A^{T} e A", lambda l1, l2: _sum(
            tr.AT[i1, l1] * self.e2[i1, l2] for i1 in range(m)), arity=2)
        self.U = tabulated(f"U{name}", r"G g G^{T}", lambda l1, l2: _sum(
            tr.G[l1, k1] * self.g2[k1, l2] for k1 in range(r)), arity=2)
        self.V = tabulated(f"V{name}", r"B^{T} d B", lambda o1, o2, l1, l2: _sum(
            tr.BT[l1, j1] * self.d2[o1 + j1, o2, l2] for j1 in range(n)), arity=4, offsets=2)
        self.Y = tabulated(f"Y{name}", r"A^{T}(U \odot V)A", lambda o1, o2, i1, i2: _sum(
            tr.AT[i1, l1] * tr.AT[i2, l2] * self.U[l1, l2] * self.V[o1, o2, l1, l2]
            for l1 in range(n) for l2 in range(n)), arity=4, offsets=2)
        tile = [(i1, i2) for i1 in range(m) for i2 in range(m)]
        self.claim = Claim(
            f"F({m}x{m},{r}x{r}){_where(tr)}",
            _sum(e[i1, i2] * _correlation(r, 2)[t1 + i1, t2 + i2] for i1, i2 in tile),
            _sum(e[i1, i2] * self.Y[t1, t2, i1, i2] for i1, i2 in tile),
            text=f"the {m}x{m} outputs of a {r}x{r} correlation at every tile offset (t_1, t_2), "
                 "for all entries of d and g")


def two_dim_derivation(s: TwoDim) -> Derivation:
    """Σ e Y: the 1-D identity along axis 2 for each (i1, k1), then along axis 1 for each l2."""
    tr = s.tr
    m, r, n = tr.m, tr.r, tr.n
    rows = [(i1, k1, l2) for i1 in range(m) for k1 in range(r) for l2 in range(n)]
    points = [(l1, l2) for l1 in range(n) for l2 in range(n)]
    return (
        Derivation(s.claim.lhs, f"{s.claim.name} by nesting F({m},{r})")
        .by("definition", _sum(e[i1, i2] * g[k1, k2] * d[t1 + i1 + k1, t2 + i2 + k2]
                               for i1 in range(m) for i2 in range(m)
                               for k1 in range(r) for k2 in range(r)),
            "unfold the 2-D correlation", signals=(_correlation(r, 2),))
        .by("algebra", _sum(_sum(tr.AT[i2, l2] * e[i1, i2] for i2 in range(m))
                            * _sum(tr.G[l2, k2] * g[k1, k2] for k2 in range(r))
                            * _sum(tr.BT[l2, j2] * d[t1 + i1 + k1, t2 + j2] for j2 in range(n))
                            for i1, k1, l2 in rows),
            f"F({m},{r}) along axis 2, for each row pair (i1, k1)")
        .back("definition", _sum(s.e2[i1, l2] * s.g2[k1, l2] * s.d2[t1 + i1 + k1, t2, l2]
                                 for i1, k1, l2 in rows),
              "name the row transforms e A, g Gᵀ, d B", signals=(s.e2, s.g2, s.d2))
        .by("algebra", _sum(_sum(tr.AT[i1, l1] * s.e2[i1, l2] for i1 in range(m))
                            * _sum(tr.G[l1, k1] * s.g2[k1, l2] for k1 in range(r))
                            * _sum(tr.BT[l1, j1] * s.d2[t1 + j1, t2, l2] for j1 in range(n))
                            for l1, l2 in points),
            f"F({m},{r}) along axis 1, for each column point l2")
        .back("definition", _sum(s.e12[l1, l2] * s.U[l1, l2] * s.V[t1, t2, l1, l2]
                                 for l1, l2 in points),
              "name the column transforms: U = G (g Gᵀ), V = Bᵀ (d B)",
              signals=(s.e12, s.U, s.V))
        .by("definition", _sum(tr.AT[i1, l1] * s.e2[i1, l2] * s.U[l1, l2] * s.V[t1, t2, l1, l2]
                               for l1, l2 in points for i1 in range(m)),
            "unfold the output weights Aᵀ (e A)", signals=(s.e12,))
        .by("definition", _sum(tr.AT[i1, l1] * tr.AT[i2, l2] * e[i1, i2] * s.U[l1, l2]
                               * s.V[t1, t2, l1, l2] for l1, l2 in points
                               for i1 in range(m) for i2 in range(m)),
            "and e A", signals=(s.e2,))
        .back("definition", s.claim.rhs, "gather the terms of each output: Y = Aᵀ (U ⊙ V) A",
              signals=(s.Y,))
    )


@THEOREM.evidence
def two_dimensional():
    made = []
    for m, r in TWO_DIM:
        sides = TwoDim(toom_cook(m, r, points_for(m, r)))
        made.append(universal(THEOREM.export(sides.claim), two_dim_derivation(sides)))
    return made


# --------------------------------------------------------------------------------------------
# Multiplications per tile, and the price: the growth of the transforms
# --------------------------------------------------------------------------------------------

PLANE = Axis.named(""), Axis.named("_2")
SAVED = THEOREM.export(Claim(
    "multiplications saved", m_ * r_ - zsum(hadamard_box([PLANE[0].l]), PLANE[0].l),
    (m_ - 1) * (r_ - 1),
    text="F(m, r) multiplies once per point l of U ⊙ V in Y (the sum over l counted) against "
         "m·r for the direct sum: (m - 1)(r - 1) fewer, for all m, r ≥ 1",
))
SAVED_2D = THEOREM.export(Claim(
    "multiplications saved in 2-D",
    (m_ * r_) ** 2 - zsum(hadamard_box([a.l for a in PLANE]), *(a.l for a in PLANE)),
    (m_ - 1) * (r_ - 1) * (m_ * r_ + m_ + r_ - 1),
    text="F(m x m, r x r) multiplies once per pair of points of U ⊙ V in Y against m²r²: "
         "(m - 1)(r - 1)(mr + m + r - 1) fewer, for all m, r ≥ 1",
))


def _count_table() -> list[dict[str, str]]:
    rows = []
    for m, r in ONE_DIM:
        n = m + r - 1
        rows.append({"F": f"F({m},{r})", "direct": str(m * r), "Winograd": str(n),
                     "2-D direct": str((m * r) ** 2), "2-D Winograd": str(n * n),
                     "2-D saving": f"{sympy.Rational(m * r, n) ** 2}x"})
    return rows


@THEOREM.evidence
def multiplications():
    made = []
    for claim, points in ((SAVED, PLANE[:1]), (SAVED_2D, PLANE)):
        axes = len(points)
        proof = (
            Derivation(claim.lhs, claim.name)
            .by("count an interval", (m_ * r_) ** axes - n_ ** axes,
                "n = m + r - 1 points on each axis", var=tuple(a.l for a in points))
            .by("algebra", claim.rhs, "expand both sides: the same polynomial in m and r")
        )
        made.append(universal(claim, proof))
    made[0].details["multiplications"] = _count_table()
    rows = [growth(m, 3) for m in GROWTH_M] + [growth(4, 3, points_for(4, 3))]
    made[0].details["growth"] = [row.as_row() for row in rows]
    return made


# --------------------------------------------------------------------------------------------
# Wrong statements the engine must refuse
# --------------------------------------------------------------------------------------------

@THEOREM.mutant("F(2,3) with one wrong entry of Bᵀ")
def wrong_entry():
    tr = toom_cook(2, 3)
    BT = tr.BT.as_mutable()
    BT[1, 2] += 1
    sides = OneDim(tr.replace(BT=ImmutableMatrix(BT)), tag="_wrong")
    return universal(sides.claim, one_dim_derivation(sides))


@THEOREM.mutant("F(2x2,3x3) without the transpose on the right: Bᵀ d Bᵀ")
def missing_transpose():
    tr = toom_cook(2, 3)
    sides = TwoDim(tr, right=tr.BT, tag="_noT")
    return universal(sides.claim, two_dim_derivation(sides))


@THEOREM.mutant("F(2,3) applied with the kernel flipped")
def flipped_kernel():
    sides = OneDim(toom_cook(2, 3), flip=True, tag="_flip")
    return universal(sides.claim, one_dim_derivation(sides))


@THEOREM.mutant("F(m,r) for all m, r with the kernel flipped")
def general_flipped():
    sides = General(flip=True, tag="_flip")
    return universal(sides.claim, general_derivation(sides))


@THEOREM.mutant("F(m,r) for all m, r with C where Cᵀ belongs: Bᵀ = C")
def general_untransposed():
    sides = General(untransposed=True, tag="_noT")
    return universal(sides.claim, general_derivation(sides))


@THEOREM.mutant("F(m x m,r x r) for all m, r with C where Cᵀ belongs on both axes")
def general_untransposed_2d():
    sides = General(2, untransposed=True, tag="_noT2")
    return universal(sides.claim, general_derivation(sides))


prove = THEOREM.prove
render = THEOREM.render
