"""Rules of the torus Z^D/nZ^D and of its characters.

Each rule holds componentwise in Z^D (a bracket or a sum over a multi-index is the product of
its axes) and refuses, with a ProofError, where its side conditions are not provable:

- "one period": Σ_r [0 ≤ e + a·r ≤ a - 1] = 1 for a ≥ 1 (exactly one r per axis);
- "remainder in its box": under [0 ≤ e ≤ a - 1], (e + a·q) mod a = e for an integer q;
- "character of a sum": χ_n(κ, a + b) = χ_n(κ, a)·χ_n(κ, b);
- "periodic character": χ_n(κ, j + n∘r) = χ_n(κ, j) for integers κ and r.

The characters are the opaque :class:`~.operators_fourier.Character`; these two identities of
exp(2πi⟨κ, j/n⟩) are all that the proofs know about them.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import Expr, Indexed, Symbol

from .language import NonNeg, is_multi
from .normal import ProofError, Term, integer_valued, linear_coefficient, provably_positive
from .operators_fourier import Character
from .rules import RuleResult, bound_named, by_its_brackets, map_terms, polynomial_quotient, rule


def integer_multiple(e: Expr, a: Expr) -> Expr | None:
    """q with e = a·q, if q is a polynomial with integer coefficients in integer symbols."""
    e, a = sympy.expand(e), sympy.expand(a)
    if e == 0:
        return sympy.S.Zero
    generators = sorted(e.free_symbols | a.free_symbols, key=str)
    if not generators:
        quotient = e / a
        return quotient if quotient.is_Integer else None
    if not all(s.is_integer for s in generators):
        return None
    quotient = polynomial_quotient(e, a)
    if quotient is None:
        return None
    coefficients = sympy.Poly(quotient, *generators).coeffs()
    return sympy.expand(quotient) if all(c.is_Integer for c in coefficients) else None


def _per_axis(var: Symbol, e: Expr) -> bool:
    """A scalar variable cannot serve a multi-index bracket: its one value is shared by the
    axes, so the sum over it does not split into per-axis sums."""
    return is_multi(var) or not any(is_multi(s) for s in e.free_symbols)


# --------------------------------------------------------------------------------------------
# The torus: one period, remainders
# --------------------------------------------------------------------------------------------

@rule("one period", "Σ_r [0 ≤ e + a·r ≤ a - 1] f = f for a ≥ 1 when r occurs nowhere else: "
      "exactly one r (per axis) brings e into [0, a - 1]")
def one_period(expr: Expr, var: Symbol) -> RuleResult:
    """Per axis, the integers r with 0 ≤ e + a·r ≤ a - 1 are exactly r = -floor(e/a) (or its
    negative for slope -a): the bracket sum is 1, and a sum over Z^D is the product of its
    axes.  Refuses a variable that occurs in anything but the two brackets."""
    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var)
        if v is None:
            return None
        with_v = [a for a in term.atoms if v in a.free_symbols]
        if v in term.coeff.free_symbols or len(with_v) != 2 or \
                not all(isinstance(a, NonNeg) for a in with_v):
            raise ProofError(f"one period: {var} must occur in exactly two brackets "
                             f"[0 ≤ e + a·{var} ≤ a - 1] and nowhere else, in {term.to_expr()}")
        low, high = (a.args[0] for a in with_v)
        slope = linear_coefficient(low, v)
        if slope is None or linear_coefficient(high, v) != sympy.expand(-slope):
            raise ProofError(f"one period: the brackets are not linear in {var} with "
                             "opposite slopes")
        period = slope if provably_positive(slope) else sympy.expand(-slope)
        if not provably_positive(period):
            raise ProofError(f"one period: the slope {slope} of {var} is not provably ±a, a ≥ 1")
        if sympy.expand(low + high - (period - 1)) != 0:
            raise ProofError(f"one period: the brackets {low} ≥ 0, {high} ≥ 0 do not span one "
                             f"period {period}")
        if not integer_valued(low):
            raise ProofError(f"one period: {low} is not provably an integer (for an integer e "
                             f"exactly one {var} brings e + a·{var} into [0, a - 1]; for a "
                             "fraction there may be none)")
        if not _per_axis(v, low):
            raise ProofError(f"one period: the scalar {var} cannot bound the multi-index {low}")
        atoms = tuple(a for a in term.atoms if a not in with_v)
        return Term(term.coeff, atoms, tuple(b for b in term.bound if b != v))

    return map_terms(expr, rewrite)


def _period_boxes(term: Term) -> list[tuple[Expr, Expr]]:
    """The pairs (e, a) with brackets [e ≥ 0][a - 1 - e ≥ 0] in the term and a ≥ 1."""
    brackets = [a.args[0] for a in term.atoms if isinstance(a, NonNeg)]
    boxes = []
    for low in brackets:
        for high in brackets:
            size = sympy.expand(low + high + 1)
            if low is not high and provably_positive(size):
                boxes.append((low, size))
    return boxes


@rule("remainder in its box", "[0 ≤ e ≤ a - 1]·f((e + a·q) mod a) = [0 ≤ e ≤ a - 1]·f(e) for "
      "a ≥ 1 and an integer q: inside the box, e is the remainder")
def remainder_in_box(expr: Expr) -> RuleResult:
    """Every E mod a whose E differs from the e of a box [0 ≤ e ≤ a - 1] of the same product
    by a·q (q an integer polynomial) becomes e: the remainder is unique per axis."""
    def rewrite(term: Term) -> Term | None:
        boxes = _period_boxes(term)
        changed = False

        def reduce(node: Expr) -> Expr:
            nonlocal changed
            value, modulus = node.args
            for low, size in boxes:
                same_period = sympy.expand(size - modulus) == 0
                if same_period and integer_multiple(value - low, modulus) is not None:
                    changed = True
                    return low
            return node

        def walk(e: Expr) -> Expr:
            return e.replace(lambda n: isinstance(n, sympy.Mod), reduce)

        atoms = tuple(walk(a) if isinstance(a, Indexed) or a.has(sympy.Mod) else a
                      for a in term.atoms)
        coeff = walk(term.coeff)
        return Term(coeff, atoms, term.bound) if changed else None

    return map_terms(expr, by_its_brackets(rewrite))


# --------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------

def _rewrite_characters(expr: Expr,
                        rewrite: Callable[[Term, Character], Expr | None]) -> RuleResult:
    """Apply ``rewrite`` to every character in the coefficients (where the normal form keeps
    them); count the characters it changed."""
    count = 0

    def per_term(term: Term) -> Term | None:
        nonlocal count
        before = count

        def visit(node: Character) -> Expr:
            nonlocal count
            new = rewrite(term, node)
            if new is None:
                return node
            count += 1
            return new

        coeff = term.coeff.replace(lambda n: isinstance(n, Character), visit)
        return Term(coeff, term.atoms, term.bound) if count > before else None

    result, _ = map_terms(expr, per_term)
    return result, count


@rule("character of a sum", "χ_n(κ, a + b) = χ_n(κ, a)·χ_n(κ, b): the terms of the argument "
      "that contain the variable are split off")
def character_of_sum(expr: Expr, var: Symbol) -> RuleResult:
    """exp(2πi⟨κ, (a + b)/n⟩) = exp(2πi⟨κ, a/n⟩)·exp(2πi⟨κ, b/n⟩): valid for all a, b."""
    def rewrite(term: Term, character: Character) -> Expr | None:
        n, kappa, argument = character.args
        parts = sympy.Add.make_args(sympy.expand(argument))
        with_var = [p for p in parts if any(s.name == var.name for s in p.free_symbols)]
        if not with_var or len(with_var) == len(parts):
            return None
        split = sympy.Add(*with_var)
        return Character(n, kappa, split) * Character(n, kappa, sympy.expand(argument - split))

    return _rewrite_characters(expr, rewrite)


@rule("periodic character", "χ_n(κ, j + n∘r) = χ_n(κ, j) for integers κ and r: the terms of the "
      "argument that are integer multiples of n are dropped")
def periodic_character(expr: Expr) -> RuleResult:
    """exp(2πi κ_a (j_a + n_a r_a)/n_a) = exp(2πi κ_a j_a/n_a)·exp(2πi κ_a r_a) and κ_a r_a is an
    integer.  Refuses where κ is not an integer polynomial or n is not provably ≥ 1."""
    def rewrite(term: Term, character: Character) -> Expr | None:
        n, kappa, argument = character.args
        parts = sympy.Add.make_args(sympy.expand(argument))
        kept = [p for p in parts if integer_multiple(p, n) is None]
        if len(kept) == len(parts):
            return None
        if not provably_positive(n):
            raise ProofError(f"periodic character: the period {n} is not provably at least 1")
        if kappa != 0 and integer_multiple(kappa, 1) is None:
            raise ProofError(f"periodic character: the frequency {kappa} is not an integer")
        return Character(n, kappa, sympy.Add(*kept))

    return _rewrite_characters(expr, rewrite)


__all__ = ["integer_multiple", "one_period", "remainder_in_box", "character_of_sum",
           "periodic_character"]
