"""Winograd minimal filtering F(m, r) derived by Toom-Cook from Lagrange interpolation.

F(m, r) computes m outputs of an r-tap correlation, y[i] = Σ_{k<r} g[k] d[i + k], from the
n = m + r - 1 inputs of one tile with n multiplications instead of m·r:

    y = Aᵀ [(G g) ⊙ (Bᵀ d)],        Aᵀ: m x n,  G: n x r,  Bᵀ: n x n.

Derivation.  Pair the outputs with arbitrary weights e: Σ_i e[i] y[i] = Σ_u d[u] s[u], where
s[u] = Σ_{i+k=u} e[i] g[k] are the coefficients of the product polynomial s(x) = e(x) g(x) of
degree n - 1 (e(x) = Σ_i e[i] x^i, g(x) = Σ_k g[k] x^k): a correlation is the transpose of a
polynomial multiplication.  Toom-Cook evaluates both factors at n - 1 distinct points x_l and
at infinity (where a polynomial "is" its leading coefficient), multiplies the n values, and
interpolates:

    s(x) = Σ_{l<n-1} e(x_l) g(x_l) L_l(x) + e[m-1] g[r-1] M(x),
    L_l(x) = N_l(x) / D_l,  N_l(x) = Π_{q≠l} (x - x_q),  D_l = N_l(x_l),  M(x) = Π_q (x - x_q),

exact because s - e[m-1] g[r-1] M has degree at most n - 2 and takes the values s(x_l) at the
n - 1 points (Lagrange).  Reading the sum backwards gives the three matrices:

    Aᵀ[i, l] = x_l^i          (evaluation of e; column n-1: [i = m-1], the leading coefficient)
    G[l, k]  = x_l^k / D_l    (evaluation of g with the Lagrange denominator; row n-1: [k = r-1])
    Bᵀ[l, u] = [x^u] N_l(x)   (row n-1: [x^u] M(x))

(computed as Bᵀ = Cᵀ from the interpolation matrix C[u, l] = [x^u] L_l(x), then row l of Bᵀ
scaled by D_l to entries without denominators, coprime integers for rational points, and row
l of G by the inverse factor, which leaves every product (G g)_l (Bᵀ d)_l unchanged).

The 2-D algorithm F(m x m, r x r) nests the 1-D one along each axis:
Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.  Everything here is exact SymPy arithmetic (Rational points,
or symbols for the construction with symbolic points); ``winograd-transform`` proves it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
from sympy import ImmutableMatrix, Rational

X = sympy.Symbol("x")
"""The variable of the polynomials e(x), g(x), s(x)."""


def _magnitudes():
    """1, 1/2, 2, 1/4, 4, ...: powers of two, the smallest exponents first."""
    yield Rational(1)
    for k in itertools.count(1):
        yield Rational(1, 2 ** k)
        yield Rational(2 ** k)


def standard_points(count: int) -> tuple[Rational, ...]:
    """The first ``count`` of 0, 1, -1, 1/2, -1/2, 2, -2, 1/4, -1/4, 4, -4, ...: small
    magnitudes first, each with its negative (the standard choice for Winograd transforms)."""
    signed = itertools.chain.from_iterable((v, -v) for v in _magnitudes())
    return tuple(itertools.islice(itertools.chain([Rational(0)], signed), count))


ACCURATE_POINTS: dict[tuple[int, int], tuple[Rational, ...]] = {
    (4, 3): (Rational(0), Rational(1), Rational(-1), Rational(1, 2), Rational(-2)),
}
"""Point sets with a smaller error amplification than the standard ones: for F(4, 3),
0, ±1, 1/2, -2 gives β/r = 148/15 against 16 for 0, ±1, ±1/2 (see :func:`amplification`)."""


def points_for(m: int, r: int) -> tuple[Rational, ...]:
    """The points the numeric paths use: ``ACCURATE_POINTS`` where listed, else standard."""
    return ACCURATE_POINTS.get((m, r), standard_points(m + r - 2))


def _coefficients(polynomial: sympy.Expr, count: int) -> list[sympy.Expr]:
    """[x^0] p, ..., [x^(count-1)] p."""
    poly = sympy.Poly(sympy.expand(polynomial), X)
    return [poly.coeff_monomial(X ** u) for u in range(count)]


@dataclass(frozen=True)
class Transforms:
    """The matrices of F(m, r) at the finite points ``points`` (and infinity)."""

    m: int
    r: int
    points: tuple[sympy.Expr, ...]
    AT: ImmutableMatrix
    G: ImmutableMatrix
    BT: ImmutableMatrix

    @property
    def n(self) -> int:
        """The tile size m + r - 1, also the number of multiplications per tile."""
        return self.m + self.r - 1

    def replace(self, **matrices: ImmutableMatrix) -> Transforms:
        """The same F(m, r) with some matrices swapped (wrong statements for the engine)."""
        fields = {"AT": self.AT, "G": self.G, "BT": self.BT, **matrices}
        return Transforms(self.m, self.r, self.points, **fields)


def evaluation(points: Sequence[sympy.Expr], size: int) -> ImmutableMatrix:
    """The n x size matrix taking the coefficients of a polynomial of degree size - 1 to its
    values at the points and at infinity: row l = [x_l^k]_k, last row = [k = size - 1]_k."""
    rows = [[p ** k for k in range(size)] for p in points]
    return ImmutableMatrix(rows + [[int(k == size - 1) for k in range(size)]])


def interpolation(points: Sequence[sympy.Expr]) -> ImmutableMatrix:
    """The n x n matrix C with s = C v for every polynomial s of degree n - 1 and v its values
    at the points and at infinity (Lagrange): C[u, l] = [x^u] L_l(x), C[u, n - 1] = [x^u] M(x)."""
    n = len(points) + 1
    columns = []
    for l, point in enumerate(points):
        rest = [q for k, q in enumerate(points) if k != l]
        # L_l(x) = N_l(x) / D_l,  N_l(x) = Π_{q≠l} (x - x_q),  D_l = N_l(x_l)
        columns.append([sympy.cancel(v / sympy.prod([point - q for q in rest]))
                        for v in _coefficients(sympy.prod([X - q for q in rest]), n)])
    columns.append(_coefficients(sympy.prod([X - q for q in points]), n))  # M(x)
    return ImmutableMatrix(columns).T


def check_points(points: Sequence[sympy.Expr], count: int) -> tuple[sympy.Expr, ...]:
    """``count`` distinct interpolation points as exact SymPy values (rationals or symbols),
    or a ValueError."""
    points = tuple(sympy.sympify(p) for p in points)
    if len(points) != count:
        raise ValueError(f"points must hold {count} finite values, got {len(points)}")
    for point in points:
        if point.has(sympy.Float) or point.is_finite is False or point.has(sympy.zoo, sympy.nan):
            raise ValueError(f"points must be finite exact values (Rational or symbols), "
                             f"got {point}")
    if len(set(points)) != len(points):
        raise ValueError(f"points must be distinct, got {points}")
    return points


@functools.cache
def toom_cook(m: int, r: int, points: Sequence[sympy.Expr] | None = None) -> Transforms:
    """Aᵀ, G, Bᵀ of F(m, r) by Lagrange interpolation at ``points`` (n - 1 distinct values,
    Rational or symbols; default :func:`standard_points`) plus the point at infinity:

        Aᵀ = evaluation(points, m)ᵀ,   G = evaluation(points, r),   Bᵀ = interpolation(points)ᵀ

    then row l of Bᵀ scaled to entries without denominators and row l of G by the inverse."""
    if m < 1 or r < 1:
        raise ValueError(f"F(m, r) needs m >= 1 and r >= 1, got m={m}, r={r}")
    n = m + r - 1
    points = check_points(standard_points(n - 1) if points is None else points, n - 1)
    G, BT = evaluation(points, r), interpolation(points).T
    scales = [_row_scale(list(BT.row(l))) for l in range(n)]
    G = ImmutableMatrix(n, r, lambda l, k: sympy.cancel(G[l, k] / scales[l]))
    BT = ImmutableMatrix(n, n, lambda l, u: sympy.cancel(BT[l, u] * scales[l]))
    return Transforms(m, r, points, evaluation(points, m).T, G, BT)


def _row_scale(row: list[sympy.Expr]) -> sympy.Expr:
    """c making c·row free of denominators: coprime integers with the first nonzero entry
    positive for rational rows, the lowest common denominator for symbolic ones.

    Row l of Bᵀ times c and row l of G divided by c leave (G g) ⊙ (Bᵀ d) unchanged; small
    integers in Bᵀ make the data transform, applied to every tile, exact in floating point.
    """
    nonzero = [sympy.cancel(v) for v in row if v != 0]
    common = sympy.lcm_list([sympy.fraction(v)[1] for v in nonzero])
    if not all(v.is_Rational for v in nonzero):
        return common
    scale = common / math.gcd(*(int(v.p) for v in nonzero))
    return scale if nonzero[0] > 0 else -scale


# --------------------------------------------------------------------------------------------
# The growth of the entries with m: why float32 accuracy degrades
# --------------------------------------------------------------------------------------------

def _norm_inf(matrix: ImmutableMatrix) -> Rational:
    """‖M‖_∞: the largest absolute row sum."""
    return max(sum(abs(v) for v in matrix.row(i)) for i in range(matrix.rows))


def condition(matrix: ImmutableMatrix) -> Rational:
    """κ_∞(M) = ‖M‖_∞ ‖M⁺‖_∞ with the exact pseudo-inverse M⁺ (M of full rank)."""
    return _norm_inf(matrix) * _norm_inf(matrix.pinv())


def amplification(t: Transforms) -> Rational:
    """β / r with β = max_i Σ_l |Aᵀ[i, l]| ‖G[l, :]‖_1 ‖Bᵀ[l, :]‖_1: the bound on |y_i| (and so
    on its rounding error) through the tile, for |g|, |d| ≤ 1, over the bound r of the direct
    sum of r products.  Unchanged by the row scaling between G and Bᵀ."""
    rows = [sum(abs(v) for v in t.G.row(l)) * sum(abs(v) for v in t.BT.row(l))
            for l in range(t.n)]
    return max(sum(abs(t.AT[i, l]) * rows[l] for l in range(t.n)) for i in range(t.m)) / t.r


@dataclass(frozen=True)
class Growth:
    """Exact size measures of the transforms of one F(m, r)."""

    m: int
    r: int
    points: tuple[sympy.Expr, ...]
    max_entry: dict[str, Rational]
    condition: dict[str, Rational]
    amplification: Rational

    def as_row(self) -> dict[str, str]:
        """The measures as strings (exact fractions), keyed by the column titles."""
        row = {"F": f"F({self.m},{self.r})", "points": ", ".join(map(str, self.points))}
        row.update({f"max|{k}|": str(v) for k, v in self.max_entry.items()})
        row.update({f"κ∞({k})": str(v) for k, v in self.condition.items()})
        row["β/r"] = str(self.amplification)
        return row


def growth(m: int, r: int, points: Sequence[sympy.Expr] | None = None) -> Growth:
    """max |entry| and κ_∞ of Aᵀ, G, Bᵀ, and the :func:`amplification` β/r, all exact, at
    ``points`` (default: the standard ones)."""
    t = toom_cook(m, r, None if points is None else tuple(points))
    matrices = {"Aᵀ": t.AT, "G": t.G, "Bᵀ": t.BT}
    return Growth(m, r, t.points,
                  {name: max(abs(v) for v in matrix) for name, matrix in matrices.items()},
                  {name: condition(matrix) for name, matrix in matrices.items()},
                  amplification(t))


@functools.cache
def kronecker_gains(m: int, r: int) -> dict[str, float]:
    """How much each 2-D transform of F(m x m, r x r) at ``points_for`` can multiply the
    largest magnitude of what it transforms: ‖M ⊗ M‖_∞ = ‖M‖_∞² for the input (Bᵀ), the
    weight (G), the output (Aᵀ), and the adjoints of the last two (A: the output gradient,
    Gᵀ: the weight gradient), rounded up to floats."""
    t = toom_cook(m, r, points_for(m, r))
    norms = {"input": t.BT, "weight": t.G, "output": t.AT, "gradient": t.AT.T,
             "weight gradient": t.G.T}
    return {name: float(_norm_inf(matrix) ** 2) * (1 + 2**-50) for name, matrix in norms.items()}


def keeps_finite(m: int, r: int, operation: str, largest: dict[str, float], terms: int,
                 limit: float) -> bool:
    """Whether every intermediate value of F(m x m, r x r) stays within ``limit`` for operands
    of at most the ``largest`` magnitudes: for "correlate" (x, w) and "correlate_input_grad"
    (g, w; a correlation again) V ≤ ‖Bᵀ‖² |x|, U ≤ ‖G‖² |w|, M ≤ terms U V (``terms`` the
    channels summed), Y ≤ ‖Aᵀ‖² M; for "correlate_weight_grad" (x, g) V as before,
    Γ ≤ ‖A‖² |g|, dU ≤ terms Γ V (``terms`` the tiles summed), dw ≤ ‖Gᵀ‖² dU.  False where a
    magnitude is nan or infinite (every comparison with nan fails)."""
    gain = kronecker_gains(m, r)
    if operation == "correlate_weight_grad":
        v, gamma = gain["input"] * largest["x"], gain["gradient"] * largest["g"]
        sums = terms * v * gamma
        values = (v, gamma, sums, gain["weight gradient"] * sums)
    else:
        data = largest["x" if operation == "correlate" else "g"]
        v, u = gain["input"] * data, gain["weight"] * largest["w"]
        sums = terms * v * u
        values = (v, u, sums, gain["output"] * sums)
    return all(value <= limit for value in values)


__all__ = [
    "ACCURATE_POINTS",
    "Growth",
    "Transforms",
    "X",
    "amplification",
    "check_points",
    "condition",
    "evaluation",
    "growth",
    "interpolation",
    "keeps_finite",
    "kronecker_gains",
    "points_for",
    "standard_points",
    "toom_cook",
]
