"""Signals on Z^D and on the discrete torus: the convolution algebra and its Fourier transform.

A signal here has one multi-index (no batch or channel axes).  On Z^D:

    supp(f)[u]    = [l ≤ u ≤ h] f[u]                      f restricted to the box [l, h]
    (f ∗ g)[t]    = Σ_u f[u] g[t - u]                     true (full) convolution
    corr(f, g)[t] = Σ_u f[t + u] g[u]                     correlation: g slides over f

(corr(x, w) is what a deep-learning "conv" computes with unit stride and no padding; the notes'
(f ⋆ g)(t) = ∫ f(τ) g(t + τ) dτ is corr(g, f) in this argument order).  On the torus Z^D/nZ^D,
with N = [0, n - 1] the box of one period:

    (x ⊛ w)[t]    = Σ_j [j ∈ N] x[j] w[(t - j) mod n]       circular convolution
    F(x)[κ]       = Σ_j [j ∈ N] x[j] χ_n(κ, j)              discrete Fourier transform

with the character χ_n(κ, j) = Π_a exp(2πi κ_a j_a / n_a) = ω^{⟨j, κ/n⟩}.  The proofs treat χ as
an opaque function (:class:`Character`) with exactly the properties they need, each a rule of
:mod:`.rules_fourier`.  Certificates give it its exact value in the cyclotomic field Q(ζ_M),
M = lcm(n_a), where ζ_M = exp(2πi/M): χ_n(κ, j) = ζ_M^{Σ_a κ_a j_a M/n_a}, and two values are
equal when their difference, a polynomial in ζ, is divisible by the cyclotomic polynomial Φ_M.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from fractions import Fraction

import sympy
from sympy import Expr

from .certificates import Point, compares_nothing, grid_summary, sides_at
from .evaluate import Poly
from .language import Signal, box, in_range, multi, zsum
from .normal import NoPoints, ProofError
from .proof import Claim, Evidence


# --------------------------------------------------------------------------------------------
# Signals on Z^D
# --------------------------------------------------------------------------------------------

def supported(f: Signal, low: Expr, high: Expr, name: str | None = None) -> Signal:
    """supp(f)[u] = [low ≤ u ≤ high] f[u]: a finitely supported signal on Z^D."""
    return Signal(name or f"supp({f.name})", f.latex,
                  lambda u_: box(u_, low, high) * f[u_], arity=1)


def convolve(f: Signal, g: Signal, name: str | None = None) -> Signal:
    """(f ∗ g)[t] = Σ_u f[u] g[t - u]."""
    latex = rf"({f.latex} \ast {g.latex})"
    return Signal(name or f"({f.name}*{g.name})", latex,
                  lambda t_: zsum(f[_U] * g[t_ - _U], _U), arity=1)


def correlate(f: Signal, g: Signal, name: str | None = None) -> Signal:
    """corr(f, g)[t] = Σ_u f[t + u] g[u]."""
    latex = rf"\operatorname{{corr}}({f.latex}, {g.latex})"
    return Signal(name or f"corr({f.name},{g.name})", latex,
                  lambda t_: zsum(f[t_ + _U] * g[_U], _U), arity=1)


# --------------------------------------------------------------------------------------------
# The torus: circular convolution, characters, the DFT
# --------------------------------------------------------------------------------------------

class Character(sympy.Function):
    """χ_n(κ, j) = Π_a exp(2πi κ_a j_a / n_a), opaque to the engine.  Its rules:
    χ_n(κ, a + b) = χ_n(κ, a)·χ_n(κ, b) and χ_n(κ, j + n∘r) = χ_n(κ, j) for integers r, κ."""

    nargs = 3

    def _latex(self, printer) -> str:
        n, kappa, j = (printer._print(a) for a in self.args)
        return rf"\chi_{{{n}}}\left({kappa}, {j}\right)"

    def _sympystr(self, printer) -> str:
        n, kappa, j = (printer._print(a) for a in self.args)
        return f"χ_{n}({kappa}, {j})"


CharacterMaker = Callable[[Expr, Expr, Expr], Expr]


def circular_convolve(x: Signal, w: Signal, n: Expr, name: str | None = None) -> Signal:
    """(x ⊛ w)[t] = Σ_j [j ∈ N] x[j] w[(t - j) mod n]."""
    latex = rf"({x.latex} \circledast {w.latex})"
    return Signal(name or f"({x.name}(*){w.name})", latex, lambda t_: zsum(
        in_range(_J, n) * x[_J] * w[sympy.Mod(t_ - _J, n)], _J), arity=1)


def dft(x: Signal, n: Expr, character: CharacterMaker = Character,
        name: str | None = None) -> Signal:
    """F(x)[κ] = Σ_j [j ∈ N] x[j] χ_n(κ, j); ``character`` stands in for χ (certificates pass
    a signal whose entries they replace by roots of unity)."""
    return Signal(name or f"F({x.name})", rf"\mathcal{{F}}({x.latex})",
                  lambda k_: zsum(in_range(_J, n) * x[_J] * character(n, k_, _J), _J), arity=1)


# bound variables of the definitions (the engine renames them where they could clash)
_U, _J = multi("u j")


# --------------------------------------------------------------------------------------------
# Exact values of the characters: the cyclotomic field Q(ζ_M)
# --------------------------------------------------------------------------------------------

CHARACTER_ENTRIES = Signal("chi", r"\chi")


def character_entry(n: Expr, kappa: Expr, j: Expr) -> Expr:
    """χ_n(κ, j) as an entry chi[n, κ, j] of a signal, for exact evaluation (the period is
    part of the entry: χ_n and χ_2n are different numbers)."""
    return CHARACTER_ENTRIES[n, kappa, j]


Cyclotomic = dict[int, Fraction]  # exponent e (mod M) -> coefficient of ζ_M^e


def _character(key: tuple[int, ...], dims: int) -> tuple[tuple[int, ...], ...]:
    """(n, κ, j) of an entry chi[n, κ, j] in ``dims`` dims: one value per axis of each."""
    if len(key) != 3 * dims:
        raise ProofError(f"a character chi[n, κ, j] needs one value per axis of each of n, κ "
                         f"and j in {dims}-D, got the {len(key)} values {key} (write them as "
                         "multi-indices)")
    n, kappa, j = key[:dims], key[dims:2 * dims], key[2 * dims:]
    if any(size <= 0 for size in n):
        raise ProofError(f"a character's period must be positive, got n = {n}")
    return n, kappa, j


def character_period(dims: int, *polys: Poly) -> int:
    """M: the least common multiple of the periods of every character in ``polys``, so that
    each is a power of ζ_M."""
    name = CHARACTER_ENTRIES.name
    return math.lcm(1, *(size for poly in polys for monomial in poly
                         for entry, key in monomial if entry == name
                         for size in _character(key, dims)[0]))


def _exponent(key: tuple[int, ...], dims: int, m: int) -> int:
    """The exponent of ζ_M in chi[n, κ, j] = Π_a ζ_{n_a}^{κ_a j_a}."""
    n, kappa, j = _character(key, dims)
    return sum(k_ * j_ * (m // n_) for k_, j_, n_ in zip(kappa, j, n)) % m


def with_characters(poly: Poly, dims: int, m: int) -> dict[tuple, Cyclotomic]:
    """Replace every chi[n, κ, j] factor of a polynomial by its root of unity, a power of
    ζ_M (M a multiple of every period, :func:`character_period`): the result maps each
    remaining monomial to its coefficient in Q(ζ_M) (a sparse vector over powers of ζ)."""
    name = CHARACTER_ENTRIES.name
    values: dict[tuple, Cyclotomic] = {}
    for monomial, coeff in poly.items():
        exponent = sum(_exponent(key, dims, m) for entry, key in monomial if entry == name) % m
        rest = tuple(factor for factor in monomial if factor[0] != name)
        vector = values.setdefault(rest, {})
        vector[exponent] = vector.get(exponent, 0) + Fraction(coeff)
    return values


def cyclotomic_zero(value: Cyclotomic, m: int) -> bool:
    """Σ_e c_e ζ_M^e = 0 exactly: the polynomial Σ c_e z^e is divisible by Φ_M(z)."""
    z = sympy.Symbol("z")
    polynomial = sympy.Poly(sum((sympy.Rational(c.numerator, c.denominator) * z ** e
                                 for e, c in value.items()), sympy.S.Zero), z, domain=sympy.QQ)
    return polynomial.rem(sympy.Poly(sympy.cyclotomic_poly(m, z), z, domain=sympy.QQ)).is_zero


def _difference(a: Cyclotomic, b: Cyclotomic) -> Cyclotomic:
    keys = set(a) | set(b)
    return {e: a.get(e, 0) - b.get(e, 0) for e in keys if a.get(e, 0) != b.get(e, 0)}


def _describe(monomial: tuple) -> str:
    at = [index for entry, index in monomial if entry == "@at"]
    rest = "·".join(f"{entry}[{','.join(map(str, index))}]" for entry, index in monomial
                    if entry != "@at")
    where = f"at index {at[0] if len(at[0]) > 1 else at[0][0]}, " if at else ""
    return f"{where}in the term of {rest or '1'},"


def _show_cyclotomic(value: Cyclotomic) -> str:
    return " + ".join(f"({c})·ζ^{e}" for e, c in sorted(value.items()))


def torus_certified(claim: Claim, points: list[Point], title: str = "") -> Evidence:
    """Evidence that ``claim`` (written with :func:`character_entry` for χ) holds exactly at
    every point: both sides evaluated with symbolic entries, each character chi[n, κ, j] in
    Q(ζ_M) with its own period n at the point (M their least common multiple)."""
    started = time.perf_counter()
    if not points:
        raise NoPoints("a certificate needs at least one grid point")
    informative = False
    for point in points:
        left, right, problems = sides_at(claim, point)
        if problems:
            return Evidence("certified", title or claim.name, False,
                            f"at {point.describe()}: " + "; ".join(problems),
                            time.perf_counter() - started, claim, grid=points)
        m = character_period(point.dims, left, right)
        left_values = with_characters(left, point.dims, m)
        right_values = with_characters(right, point.dims, m)
        for monomial in sorted(set(left_values) | set(right_values)):
            difference = _difference(left_values.get(monomial, {}), right_values.get(monomial, {}))
            if difference and not cyclotomic_zero(difference, m):
                return Evidence("certified", title or claim.name, False,
                                f"at {point.describe()}: {_describe(monomial)} the coefficients "
                                f"differ by {_show_cyclotomic(difference)} ≠ 0 "
                                f"(ζ = exp(2πi/{m}))",
                                time.perf_counter() - started, claim, grid=points)
        # informative where some coefficient is nonzero in Q(ζ): Σ_j χ(1, j) x0 is a
        # polynomial that is 0 there
        informative = informative or any(coefficients and not cyclotomic_zero(coefficients, m)
                                         for side in (left_values, right_values)
                                         for coefficients in side.values())
    if not informative:
        return Evidence("certified", title or claim.name, False, compares_nothing(points),
                        time.perf_counter() - started, claim, grid=points)
    return Evidence("certified", title or claim.name, True,
                    f"exact in Q(ζ) on {grid_summary(claim, points)}",
                    time.perf_counter() - started, claim, grid=points)


__all__ = ["supported", "convolve", "correlate", "Character", "circular_convolve", "dft",
           "CHARACTER_ENTRIES", "character_entry", "character_period", "with_characters",
           "cyclotomic_zero",
           "torus_certified"]
