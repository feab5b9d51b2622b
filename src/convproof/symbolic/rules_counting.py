"""Counting and residue rules: the per-axis integer facts of the matrix theorems.

Counting the points of an interval (v a *scalar* bound variable, f free of v):

    Σ_v [l ≤ v][v ≤ h] f = (h - l + 1)·[h - l + 1 ≥ 0]·f                 "count an interval"

Residues modulo n ≥ 1 (componentwise for multi-indices, where every statement holds per axis):

    0 ≤ a mod n ≤ n - 1                                                   "remainder bounds"
    [j = a mod n] = [n | a - j]·[0 ≤ j]·[j ≤ n - 1]                       "remainder as congruence"
    [n | e + c·(a mod n)] = [n | e + c·a]          (c an integer)         "reduce modulo"
    [0 ≤ a][a ≤ n - 1]·f(a mod n) = [0 ≤ a][a ≤ n - 1]·f(a)               "reduced residue"

Each rule checks its side conditions with the positivity certificates of :mod:`.normal` and
refuses (ProofError) a rewrite it cannot justify.
"""

from __future__ import annotations

import itertools

import sympy
from sympy import Expr, Mod, S, Symbol

from .language import Bracket, Divides, EqZero, NonNeg, is_multi
from .normal import ProofError, Term, linear_coefficient, provably_nonneg, provably_positive
from .rules import (RuleResult, bound_named, by_its_brackets, follows, index_kind, map_terms,
                    rule, settle_brackets)


def _integer_valued(e: Expr) -> bool:
    """e is an integer: a sum of integer multiples of products of integer symbols, floors,
    ceilings, brackets and remainders of integers (SymPy leaves floor(a/b) undecided)."""
    if e.is_integer:
        return True
    for term in sympy.Add.make_args(sympy.expand(e)):
        coefficient, rest = term.as_coeff_Mul()
        if not coefficient.is_Integer:
            return False
        for factor in sympy.Mul.make_args(rest):
            if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0:
                factor = factor.base
            if isinstance(factor, Mod):
                if not all(arg.is_integer for arg in factor.args):
                    return False
            elif not (factor.is_integer or isinstance(factor, (sympy.floor, sympy.ceiling,
                                                                Bracket))):
                return False
    return True


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------

def _interval(term: Term, v: Symbol) -> tuple[Expr, Expr, list[Expr]]:
    """(l, h, the two brackets) for a term whose only dependence on v is [v - l ≥ 0][h - v ≥ 0]."""
    if v in term.coeff.free_symbols:
        raise ProofError(f"cannot count {v.name}: the coefficient {term.coeff} depends on it")
    lower, upper = [], []
    for atom in dict.fromkeys(term.atoms):  # a repeated bracket is one bracket: [P]·[P] = [P]
        if v not in atom.free_symbols:
            continue
        slope = linear_coefficient(atom.args[0], v) if isinstance(atom, NonNeg) else None
        if slope not in (1, -1):
            raise ProofError(f"cannot count {v.name}: {atom} is not a bound v ≥ l or v ≤ h")
        rest = sympy.expand(atom.args[0] - slope * v)
        if not _integer_valued(rest):
            raise ProofError(f"cannot count {v.name}: the bound {rest} is not provably an integer")
        (lower if slope == 1 else upper).append((atom, -rest if slope == 1 else rest))
    if len(lower) != 1 or len(upper) != 1:
        raise ProofError(f"cannot count {v.name}: it needs exactly one lower and one upper bound, "
                         f"found {len(lower)} and {len(upper)} (drop implied brackets first)")
    return lower[0][1], upper[0][1], [lower[0][0], upper[0][0]]


@rule("count an interval", "Σ_v [l ≤ v][v ≤ h] f = (h - l + 1)·[h - l + 1 ≥ 0]·f for a scalar "
      "v on which f does not depend")
def count_interval(expr: Expr, var: Symbol | tuple[Symbol, ...]) -> RuleResult:
    """Sum out the scalar ``var`` (or several, in turn) where it only occurs in its two bounds.

    Valid for integers l, h: the integers of [l, h] number h - l + 1 when h ≥ l - 1 and none
    otherwise; the bracket is left out where h - l + 1 ≥ 0 is provable.  A multi-index is
    refused: its count is a product over the axes, which the ring Z^D cannot write (state the
    axes with scalar symbols).
    """
    variables = var if isinstance(var, tuple) else (var,)
    total = 0
    for v in variables:
        expr, count = _count_one(expr, v)
        if count == 0:
            raise ProofError(f"there is no sum over {v} to count")
        total += count
    return expr, total


def _count_one(expr: Expr, var: Symbol) -> RuleResult:
    if is_multi(var):
        raise ProofError(f"cannot count the multi-index {var}: count each axis with a scalar")

    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var)
        if v is None:
            return None
        low, high, bounds = _interval(term, v)
        count = sympy.expand(high - low + 1)
        atoms = tuple(a for a in term.atoms if a not in bounds)
        if not provably_nonneg(count):  # the bracket [h - l + 1 ≥ 0] is 1 where provable
            atoms += (NonNeg(count),)
        return Term(term.coeff * count, atoms, tuple(u for u in term.bound if u != v))

    return map_terms(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Residues
# --------------------------------------------------------------------------------------------

def _residues(e: Expr) -> list[Mod]:
    """The remainders a mod n in e of integers a and n with n provably at least 1."""
    found = {node for node in sympy.preorder_traversal(e) if isinstance(node, Mod)}
    return sorted((r for r in found if all(arg.is_integer for arg in r.args)
                   and provably_positive(r.args[1])), key=str)


def _bounded_value(e: Expr) -> Expr | None:
    """1 or 0 if [e ≥ 0] is decided by 0 ≤ a mod n ≤ n - 1 for the remainders in e.

    Each remainder r is written r = u (u ≥ 0) or r = n - 1 - u (u ≥ 0); every actual value
    has both forms, so a positivity certificate for any one choice decides the bracket.
    """
    residues = _residues(e)
    if not residues or len(residues) > 4:
        return None
    for choice in itertools.product((False, True), repeat=len(residues)):
        mapping = {}
        for r, from_top in zip(residues, choice):
            u = sympy.Dummy("u", integer=True, nonnegative=True)
            mapping[r] = r.args[1] - 1 - u if from_top else u
        bounded = sympy.expand(e.xreplace(mapping))
        if provably_nonneg(bounded):
            return S.One
        if provably_nonneg(-bounded - 1):
            return S.Zero
    return None


@rule("remainder bounds", "a bracket decided by 0 ≤ a mod n ≤ n - 1 (n ≥ 1) is 1 or 0")
def remainder_bounds(expr: Expr) -> RuleResult:
    return settle_brackets(
        expr, lambda atom: _bounded_value(atom.args[0]) if isinstance(atom, NonNeg) else None)


def _single_residue(e: Expr) -> tuple[Mod, Expr, Expr] | None:
    """(a mod n, c, rest) with e = c·(a mod n) + rest, c = ±1 and rest free of that remainder."""
    residues = _residues(e)
    if len(residues) != 1:
        return None
    hole = sympy.Dummy("r", integer=True)
    opened = sympy.expand(e.xreplace({residues[0]: hole}))
    slope = linear_coefficient(opened, hole)
    if slope not in (1, -1):
        return None
    return residues[0], slope, sympy.expand(opened - slope * hole)


@rule("remainder as congruence", "[j = a mod n] = [n | a - j][0 ≤ j][j ≤ n - 1] for n ≥ 1")
def remainder_as_congruence(expr: Expr) -> RuleResult:
    """Rewrite every delta that equates a remainder with an expression j.

    Valid for n ≥ 1 and every integer j: a mod n is the one representative of a + nZ in
    [0, n - 1], so it equals j exactly when j ≡ a (mod n) and 0 ≤ j ≤ n - 1.
    """
    def rewrite(term: Term) -> Term | None:
        atoms, changed = [], False
        for atom in term.atoms:
            found = _single_residue(atom.args[0]) if isinstance(atom, EqZero) else None
            if found is None:
                atoms.append(atom)
                continue
            residue, slope, rest = found
            a, n = residue.args
            j = sympy.expand(-slope * rest)  # c·(a mod n) + rest = 0 says a mod n = -c·rest
            if not _integer_valued(j):
                raise ProofError(f"cannot read {atom} as a congruence: {j} is not provably an "
                                 "integer")
            atoms += [Divides(n, sympy.expand(a - j)), NonNeg(j), NonNeg(sympy.expand(n - 1 - j))]
            changed = True
        return Term(term.coeff, tuple(atoms), term.bound) if changed else None

    return map_terms(expr, rewrite)


@rule("reduce modulo", "[n | e + c·(a mod n)] = [n | e + c·a] for n ≥ 1 and an integer c")
def reduce_modulo(expr: Expr) -> RuleResult:
    """Inside a divisibility by n, a remainder modulo the same n may be replaced by its argument.

    Valid because c·(a - a mod n) = c·n·floor(a/n) is a multiple of n (componentwise).
    A coefficient c that is not provably an integer is refused.
    """
    def reduced(atom: Divides) -> Divides | None:
        n, e = atom.args
        residues = [r for r in _residues(e) if sympy.expand(r.args[1] - n) == 0]
        if not residues:
            return None
        for residue in residues:
            hole = sympy.Dummy("r", integer=True)
            opened = sympy.expand(e.xreplace({residue: hole}))
            slope = linear_coefficient(opened, hole)
            if slope is None or not _integer_valued(slope):
                raise ProofError(f"cannot reduce {residue} in {atom}: its coefficient {slope} is "
                                 "not provably an integer")
            e = sympy.expand(opened.xreplace({hole: residue.args[0]}))
        return Divides(n, e)

    def rewrite(term: Term) -> Term | None:
        atoms = [reduced(a) if isinstance(a, Divides) else None for a in term.atoms]
        if all(a is None for a in atoms):
            return None
        return Term(term.coeff, tuple(new if new is not None else old
                                      for new, old in zip(atoms, term.atoms)), term.bound)

    return map_terms(expr, rewrite)


@rule("reduced residue", "a mod n = a where the brackets of the same product give 0 ≤ a ≤ n - 1")
def reduced_residue(expr: Expr) -> RuleResult:
    """Replace a mod n by a in every term whose own brackets prove 0 ≤ a and a ≤ n - 1.

    Valid because the term vanishes outside its brackets and a mod n = a inside them (where
    0 ≤ a ≤ n - 1 also gives n ≥ 1); only brackets free of remainders serve as facts, so they
    are left unchanged by the rewrite.
    """
    def rewrite(term: Term) -> Term | None:
        facts = [a.args[0] for a in term.atoms
                 if isinstance(a, NonNeg) and not a.args[0].has(Mod)]
        found = set()
        for part in (term.coeff, *term.atoms):
            remainders = {node for node in sympy.preorder_traversal(part) if isinstance(node, Mod)}
            found.update(r for r in remainders if follows(r.args[0], facts)
                         and follows(sympy.expand(r.args[1] - 1 - r.args[0]), facts)
                         and index_kind(r) == index_kind(r.args[0]))  # c mod N, N multi: multi
        if not found:
            return None
        mapping = {r: r.args[0] for r in found}
        return Term(term.coeff.xreplace(mapping), tuple(a.xreplace(mapping) for a in term.atoms),
                    term.bound)

    return map_terms(expr, by_its_brackets(rewrite))


__all__ = ["count_interval", "remainder_bounds", "remainder_as_congruence", "reduce_modulo",
           "reduced_residue"]
