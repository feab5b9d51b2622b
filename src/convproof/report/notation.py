"""How the report writes a product: sign, Iverson brackets, other factors, sums last.

Both printers (:mod:`.latex`, :mod:`.mathml`) lay a product out the same way:

    -2 · [0 ≤ m ≤ k - 1] [j = s i + d m - p] · w_m x_j · Σ_c (...)

- brackets first, and [a ≤ b][b ≤ c] written as the chain [a ≤ b ≤ c] (the same number:
  both brackets are 1 exactly when a ≤ b ≤ c);
- a sum over Z^D last, so that no other factor reads as part of its body; when a product has
  several sums, all but the last are parenthesized by the printer.

A sum of very many terms (a Winograd transform multiplied out) is shown by its first terms and
the number of the others: the proof checked all of them, the reader needs a few.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import sympy
from sympy import Expr

from ..symbolic.language import Divides, EqZero, NonNeg, Partial, ZSum, _split_sides
from ..symbolic.proof import Claim

LESS_EQUAL, EQUAL, DIVIDES = "≤", "=", "∣"
MAX_TERMS = 12  # terms of a long sum that the report shows


@dataclass
class Chain:
    """A bracket [e0 rel e1 rel e2 ...]: terms and the relation between neighbours."""

    terms: list[Expr]
    relation: str


@dataclass
class Product:
    """A product split for printing: coefficient, brackets, plain factors, sums."""

    coefficient: Expr
    brackets: list[Chain]
    plain: Expr
    sums: list[ZSum]


def bracket_chain(bracket: Expr) -> Chain:
    """[e ≥ 0] as [left ≤ right], [e = 0] as [left = right], [s | e] as [s ∣ e]."""
    if isinstance(bracket, Divides):
        return Chain(list(bracket.args), DIVIDES)
    left, right = _split_sides(bracket.args[0])
    return Chain([left, right], LESS_EQUAL if isinstance(bracket, NonNeg) else EQUAL)


def chained(brackets: list[Expr]) -> list[Chain]:
    """The brackets of one product, each [a ≤ b] joined to a chain that ends at a or starts
    at b: [a ≤ b][b ≤ c] = [a ≤ b ≤ c]."""
    chains: list[Chain] = []
    for bracket in brackets:
        chain = bracket_chain(bracket)
        if chain.relation == LESS_EQUAL:
            left, right = chain.terms
            joined = next((c for c in chains if c.relation == LESS_EQUAL
                           and (c.terms[-1] == left or c.terms[0] == right)), None)
            if joined is not None:
                if joined.terms[-1] == left:
                    joined.terms.append(right)
                else:
                    joined.terms.insert(0, left)
                continue
        chains.append(chain)
    return chains


def fenced_base(base: Expr) -> bool:
    """A base that a power's exponent would not read as a whole: a sum over Z^D or a
    derivative (Σ and ∂ bind looser than a power), or a symbol printed with its own
    superscript (σ² squared, not σ²²)."""
    return isinstance(base, (ZSum, Partial)) or (isinstance(base, sympy.Symbol)
                                                 and "^" in base.name)


def power_of_an_operator(expr: sympy.Pow) -> bool:
    """Whether ``expr`` raises a :func:`fenced_base` to a power the printers write as an
    exponent, so that the base needs parentheses, (Σ_j a_j)², not Σ_j a_j²: every exponent
    but a negative number (a fraction 1/(...)) and 1/q (a root)."""
    exponent = expr.exp
    fraction_or_root = exponent.is_Rational and (exponent.is_negative or exponent.p == 1)
    return fenced_base(expr.base) and not fraction_or_root


def plain_operand(expr: Expr) -> bool:
    """A number (not a negative one), symbol or entry: the operand of a mod that needs no
    parentheses (−j mod n reads as −(j mod n), x_i Σ_j x_j mod 3 as a sum of remainders)."""
    return (expr.is_Atom and not (expr.is_Number and expr.is_negative)) \
        or isinstance(expr, sympy.Indexed)


def remainder(expr: Expr) -> bool:
    """A Mod, which binds looser than its neighbours in a product or a sum: 2 (a mod s) Σ."""
    return isinstance(expr, sympy.Mod)


def split_product(expr: sympy.Mul) -> Product | None:
    """The product's parts, or None when it has neither a bracket nor a sum (the printer's
    own layout is then used)."""
    coefficient, rest = expr.as_coeff_Mul()
    factors = sympy.Mul.make_args(rest)
    brackets = [f for f in factors if isinstance(f, (NonNeg, EqZero, Divides))]
    sums = [f for f in factors if isinstance(f, ZSum)]
    if not brackets and not sums:
        return None
    plain = sympy.Mul(*(f for f in factors if f not in brackets and f not in sums))
    return Product(coefficient, chained(brackets), plain, sums)


def leading_terms(expr: Expr, limit: int | None,
                  ordered: Callable[[Expr], list[Expr]]) -> tuple[Expr, int]:
    """(the first ``limit`` terms of a sum in printing order, how many more there are);
    an expression that is not a longer sum comes back whole, with 0."""
    expr = sympy.sympify(expr)
    if limit is None or not expr.is_Add or len(expr.args) <= limit:
        return expr, 0
    terms = ordered(expr)
    return sympy.Add(*terms[:limit], evaluate=False), len(terms) - limit


def checked_indices(kind: str, claim) -> Expr | None:
    """The boxes a certificate ranges the claim's free indices over, as one product of
    brackets (the claim is checked there only); None for other evidence or no such indices."""
    if kind != "certified" or not claim.indices:
        return None
    return sympy.Mul(*claim.indices.values())


def conditions(claim: Claim) -> list[tuple[str, sympy.Rel]]:
    """What a claim assumes, each as (words, relation): its hypotheses, then u ≠ 0 for each
    expression it is stated where it is nonzero."""
    return [*map(hypothesis_parts, claim.hypotheses),
            *(("", sympy.Ne(u, 0, evaluate=False)) for u in claim.nonzero)]


def hypothesis_parts(hypothesis: sympy.Eq) -> tuple[str, sympy.Eq]:
    """("for all w, q ≥ 1: ", lhs = rhs) for a hypothesis that holds for every value of some
    indices that their assumptions admit (Lambda sides,
    :func:`~convproof.symbolic.rules_sums.every`); ("", h) otherwise."""
    lhs, rhs = hypothesis.lhs, hypothesis.rhs
    if not isinstance(lhs, sympy.Lambda):
        return "", hypothesis
    names = ", ".join(map(_with_bound, lhs.variables))
    return f"for all {names}: ", sympy.Eq(lhs.expr, rhs.expr, evaluate=False)


def _with_bound(index: sympy.Symbol) -> str:
    """An index with the values its assumptions admit: q ≥ 1 for a positive one."""
    bound = " ≥ 1" if index.is_positive else " ≥ 0" if index.is_nonnegative else ""
    return f"{index}{bound}"
