"""Rules of the backward-pass theorems: a bound under a floor, and brackets implied by size
conditions.

A strided output has o = ⌊X/s⌋ + 1 positions (X = n + p + q - d(k - 1) - 1), so its box
reads [i ≤ ⌊X/s⌋].  For integers i and s ≥ 1 that bracket says exactly s·i ≤ X: the
positions of a strided output are those whose s·i lies in the unit-stride output.

A padding that fits (p ≤ n - 1, say) is a bracket on sizes only; it still bounds positions:
u ≥ n - 1 - q and q ≤ n - 1 give u ≥ 0.  The rule "implied bracket" only combines brackets
that share a symbol with the one it drops; "implied by the product" uses them all.
"""

from __future__ import annotations

import sympy
from sympy.polys.polyerrors import BasePolynomialError
from sympy import Expr

from .language import NonNeg
from .normal import ProofError, Term, provably_positive
from .rules import RuleResult, follows, map_terms, rule


def _integral_polynomial(e: Expr) -> bool:
    """e is a polynomial with integer coefficients in integer symbols: an integer."""
    e = sympy.expand(e)
    if any(not s.is_integer for s in e.free_symbols):
        return False
    if e.has(sympy.floor, sympy.ceiling, sympy.Mod):
        return False
    try:
        return all(c.is_Integer for c in sympy.Poly(e, *e.free_symbols).coeffs()) \
            if e.free_symbols else e.is_Integer
    except BasePolynomialError:
        return False


def _floor_free(e: Expr) -> tuple[Expr, int, Expr] | None:
    """e = c·⌊Y/s⌋ + r with c = ±1 and r free of floors: (floor atom, c, r), else None."""
    floors = [f for f in sympy.expand(e).atoms(sympy.floor)]
    if len(floors) != 1:
        return None
    floor = floors[0]
    c = sympy.expand(e).coeff(floor)
    r = sympy.expand(e - c * floor)
    if c not in (1, -1) or r.has(sympy.floor):
        return None
    return floor, int(c), r


def unfloored(e: Expr) -> Expr | None:
    """The argument of an equivalent bracket without the floor, or None if e has none.

    For integers r and Y, s ≥ 1 (componentwise for multi-indices):
        ⌊Y/s⌋ + r ≥ 0   ⟺   Y + s·r ≥ 0             (⌊z⌋ ≥ -r ⟺ z ≥ -r for integer r),
        r - ⌊Y/s⌋ ≥ 0   ⟺   s·r + s - 1 - Y ≥ 0     (⌊z⌋ ≤ r ⟺ z < r + 1, and Y, s·r are integers).
    Raises ProofError when the side conditions are not provable.
    """
    found = _floor_free(e)
    if found is None:
        return None
    floor, sign, rest = found
    top, bottom = sympy.fraction(sympy.together(floor.args[0]))
    if not provably_positive(bottom):
        raise ProofError(f"cannot remove the floor of {floor}: its divisor {bottom} is not "
                         "provably at least 1")
    if not (_integral_polynomial(top) and _integral_polynomial(bottom)
            and _integral_polynomial(rest)):
        raise ProofError(f"cannot remove the floor from [{e} ≥ 0]: {top}, {bottom} and {rest} "
                         "must be integer polynomials")
    if sign == 1:
        return sympy.expand(top + bottom * rest)
    return sympy.expand(bottom * rest + bottom - 1 - top)


@rule("bound under a floor", "[⌊Y/s⌋ + r ≥ 0] = [Y + s·r ≥ 0] and [r - ⌊Y/s⌋ ≥ 0] = "
      "[s·r + s - 1 - Y ≥ 0] for integers Y, r and s ≥ 1")
def bound_under_floor(expr: Expr) -> RuleResult:
    """Rewrite every bracket [±⌊Y/s⌋ + r ≥ 0] of every term without its floor."""
    count = 0

    def rewrite(term: Term) -> Term | None:
        nonlocal count
        atoms, changed = [], False
        for atom in term.atoms:
            if isinstance(atom, NonNeg):
                plain = unfloored(atom.args[0])
                if plain is not None:
                    atom, changed = NonNeg(plain), True
                    count += 1
            atoms.append(atom)
        return Term(term.coeff, tuple(atoms), term.bound) if changed else None

    result, _ = map_terms(expr, rewrite)
    return result, count


@rule("implied by the product", "[e ≥ 0] is dropped when e = Σ λ·f + c for brackets [f ≥ 0] of "
      "the same product, any of them (size conditions included), λ ≥ 0 and c ≥ 0, each provably")
def implied_by_product(expr: Expr) -> RuleResult:
    """Drop every bracket [e ≥ 0] that follows from the other brackets [f ≥ 0] that stay in its
    product: e - Σ λ_f·f ≥ 0 by a positivity certificate, with at most three f and λ_f ≥ 0.
    Sound because each f ≥ 0 wherever the product is nonzero."""
    count = 0

    def rewrite(term: Term) -> Term | None:
        nonlocal count
        kept = list(term.atoms)
        for atom in term.atoms:
            if not isinstance(atom, NonNeg):
                continue
            others = list(kept)
            others.remove(atom)  # one occurrence: an equal copy may stay as a fact
            if follows(atom.args[0], [a.args[0] for a in others if isinstance(a, NonNeg)]):
                kept.remove(atom)
                count += 1
        return Term(term.coeff, tuple(kept), term.bound) if len(kept) < len(term.atoms) else None

    result, _ = map_terms(expr, rewrite)
    return result, count


__all__ = ["bound_under_floor", "unfloored", "implied_by_product"]
