"""Rules for sums over a box of symbolic size: empty boxes, peeling, geometric series;
and the rules that use a hypothesis of a sum or of an entry.

A box of one scalar index v is the pair of brackets [l ≤ v][v ≤ h]; it has h - l + 1 points
when h - l + 1 ≥ 0 and none when h < l (sizes are symbols, so both are proved, never assumed;
counting a box is the rule "count an interval" of :mod:`.rules_counting`).

    empty box             Σ_v [l ≤ v ≤ h] f(v) = 0                 h - l + 1 ≤ 0
    split the last term   [v ≤ h] = [v ≤ h - 1] + [v = h]          v, h integers
    geometric series      (1 - μ) Σ_v [l ≤ v ≤ h] μ^(v+β) = μ^(l+β) - μ^(h+1+β)
                                                                   0 ≤ l + β, h - l + 1 ≥ 0
    sum hypothesis        Σ_v [box] y[v] → c                       Σ_v [box] y[v] = c assumed
                                                                   (for every value of some
                                                                   indices: :func:`every`)
    entry hypothesis      y[e] → f(e)                              y[a] = f(a) for every a

A multi-index box has Π (h_a - l_a + 1) points: per-axis products are stated with scalar
indices, one axis at a time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import sympy
from sympy import Expr, Symbol

from .language import OF_THE_ENTRIES, EqZero, NonNeg, ZSum, is_multi, substitute
from .normal import (ProofError, Term, expand_terms, integer_valued, linear_coefficient,
                     provably_nonneg)
from .rules import (RuleResult, bound_named, check_instance, map_terms, mixes_kinds,
                    rule, terms_to_expr)


def _bounds(term: Term, var: Symbol) -> tuple[list, list, list]:
    """The lower bounds l of [v - l ≥ 0], the upper bounds h of [h - v ≥ 0] (slopes ±1) and
    the other atoms that involve v."""
    lower, upper, others = [], [], []
    for atom in term.atoms:
        if var not in atom.free_symbols:
            continue
        slope = linear_coefficient(atom.args[0], var) if isinstance(atom, NonNeg) else None
        if slope == 1:
            lower.append((sympy.expand(var - atom.args[0]), atom))
        elif slope == -1:
            upper.append((sympy.expand(atom.args[0] + var), atom))
        else:
            others.append(atom)
    return lower, upper, others


def _box(term: Term, var: Symbol) -> tuple[Expr, Expr, tuple] | None:
    """(l, h, the two brackets) if v occurs in exactly one box and nowhere else but the
    coefficient."""
    lower, upper, others = _bounds(term, var)
    if others or len(lower) != 1 or len(upper) != 1 or is_multi(var):
        return None
    return lower[0][0], upper[0][0], (lower[0][1], upper[0][1])


def _without(term: Term, var: Symbol, brackets: tuple, coeff: Expr) -> Term:
    atoms = tuple(a for a in term.atoms if not any(a is b for b in brackets))
    return Term(coeff, atoms, tuple(v for v in term.bound if v != var))


@rule("empty box", "Σ_v [l ≤ v ≤ h] f(v) = 0 when h - l + 1 ≤ 0")
def empty(expr: Expr) -> RuleResult:
    def rewrite(term: Term) -> Term | None:
        for v in term.bound:
            lower, upper, _ = _bounds(term, v)
            if any(provably_nonneg(sympy.expand(l - h - 1)) for l, _ in lower for h, _ in upper):
                return Term(sympy.S.Zero, term.atoms, term.bound)
        return None

    return map_terms(expr, rewrite)


@rule("split the last term", "[v ≤ h] = [v ≤ h - 1] + [v = h] for integers: the sum up to h is "
      "the sum up to h - 1 plus the term at h")
def split_last(expr: Expr, var: Symbol) -> RuleResult:
    terms, count_ = [], 0
    for term in expand_terms(expr):
        v = bound_named(term, var)
        upper = _bounds(term, v)[1] if v is not None and not is_multi(v) else []
        if not upper:
            terms.append(term)
            continue
        high, bracket = upper[0]
        if mixes_kinds(v, high):
            raise ProofError(f"split the last term: the scalar {var} cannot be bounded by the "
                             f"multi-index {high}")
        if not integer_valued(high):
            raise ProofError(f"split the last term: the bound {high} of {var} is not provably "
                             "an integer, so the sum need not end with a term at it")
        rest = tuple(a for a in term.atoms if a is not bracket)
        terms.append(Term(term.coeff, rest + (NonNeg(sympy.expand(high - 1 - v)),), term.bound))
        terms.append(Term(term.coeff, rest + (EqZero(sympy.expand(high - v)),), term.bound))
        count_ += 1
    return terms_to_expr(terms), count_


def _power_of(coeff: Expr, ratio: Expr, var: Symbol) -> tuple[Expr, Expr] | None:
    """coeff = ratio^(var + β) · rest with β an integer and rest free of var: (β, rest)."""
    for factor in sympy.Mul.make_args(coeff):
        base, exponent = factor.as_base_exp()
        if base == ratio and var in exponent.free_symbols:
            beta = sympy.expand(exponent - var)
            rest = coeff / factor
            if var not in beta.free_symbols and var not in rest.free_symbols and beta.is_integer:
                return beta, rest
    return None


def _without_factor(expr: Expr, factor: Expr) -> Expr | None:
    """expr / factor when ``factor`` (or its negative) is one of the factors of expr."""
    for f in sympy.Mul.make_args(expr):
        for sign_ in (1, -1):
            if sympy.expand(f - sign_ * factor) == 0:
                return sign_ * (expr / f)  # -1·(m - 1) would become 1 - m, not cancel
    return None


@rule("geometric series", "(1 - μ) Σ_v [l ≤ v ≤ h] μ^(v+β) = μ^(l+β) - μ^(h+1+β) for "
      "0 ≤ l + β and h - l + 1 ≥ 0 (the sum telescopes)")
def geometric(expr: Expr, var: Symbol, ratio: Expr) -> RuleResult:
    """The coefficient must carry the factor 1 - μ, so no division by 1 - μ is made."""
    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var)
        box = _box(term, v) if v is not None else None
        found = _power_of(term.coeff, ratio, v) if box is not None else None
        if found is None:
            return None
        (low, high, brackets), (beta, rest) = box, found
        reduced = _without_factor(rest, 1 - ratio)
        if reduced is None:
            raise ProofError(f"the coefficient {rest} lacks the factor 1 - {ratio}")
        if not (integer_valued(low) and integer_valued(high)):
            raise ProofError(f"geometric series: the bounds {low}, {high} of {var} are not "
                             "provably integers")
        for condition in (low + beta, high - low + 1):
            if not provably_nonneg(sympy.expand(condition)):
                raise ProofError(f"{condition} ≥ 0 is not provable")
        telescoped = ratio ** sympy.expand(low + beta) - ratio ** sympy.expand(high + 1 + beta)
        return _without(term, v, brackets, reduced * telescoped)

    return map_terms(expr, rewrite)


def every(variables: tuple[Symbol, ...], lhs: Expr, rhs: Expr) -> sympy.Eq:
    """The hypothesis lhs = rhs for every integer value of ``variables`` that their assumptions
    admit (every w ≥ 0 for a nonnegative w): Lambda(variables, lhs) = Lambda(variables, rhs)."""
    return sympy.Eq(sympy.Lambda(variables, lhs), sympy.Lambda(variables, rhs), evaluate=False)


def _sides(equation: sympy.Eq) -> tuple[Expr, Expr, tuple[Symbol, ...]]:
    """(lhs, rhs, the variables a hypothesis of :func:`every` holds for; none for a plain one)."""
    lhs, rhs = equation.lhs, equation.rhs
    if not isinstance(lhs, sympy.Lambda):
        return lhs, rhs, ()
    if not isinstance(rhs, sympy.Lambda) or rhs.variables != lhs.variables:
        raise ProofError(f"{equation}: both sides must be functions of the same variables")
    return lhs.expr, rhs.expr, lhs.variables


def _instances(wanted: list[Expr], mine: Counter,
               variables: tuple[Symbol, ...]) -> Iterator[dict[Symbol, Expr]]:
    """The values of ``variables`` read off ``mine`` where a wanted entry has one of them as a
    whole index: every combination, for the caller to check (entries are few)."""
    options = {q: set() for q in variables}
    entries = [other for other in mine if isinstance(other, sympy.Indexed)]
    for atom in (a for a in wanted if isinstance(a, sympy.Indexed)):
        for other in entries:
            if atom.base == other.base and len(atom.indices) == len(other.indices):
                for index, value in zip(atom.indices, other.indices):
                    if index in options:
                        options[index].add(value)
    for values in itertools.product(*(sorted(options[q], key=str) for q in variables)):
        yield dict(zip(variables, values))


def _admitted(variable: Symbol, value: Expr) -> bool:
    """The value respects the assumptions of the variable (a hypothesis for every w ≥ 0 says
    nothing at w = -1)."""
    try:
        check_instance(variable, value)
    except ProofError:
        return False
    return True


@rule("sum hypothesis", "replace the sum Σ_v [box] y[v] by its value c, by a hypothesis "
      "Σ_v [box] y[v] = c of the claim (one that holds for every value of some indices, at "
      "the values the term's entries give them)")
def sum_hypothesis(expr: Expr, equation: sympy.Eq) -> RuleResult:
    lhs, rhs, variables = _sides(equation)
    pattern = expand_terms(lhs)
    if len(pattern) != 1 or len(pattern[0].bound) != 1 or pattern[0].coeff != 1:
        raise ProofError(f"{lhs} is not a plain sum over one index")
    (p_var,) = pattern[0].bound

    def value_for(term: Term, v: Symbol) -> Expr | None:
        """The hypothesis' value where its sum is the term's sum over v, else None."""
        if v in term.coeff.free_symbols or is_multi(v) != is_multi(p_var):
            return None
        mine = Counter(a for a in term.atoms if v in a.free_symbols)
        wanted = [a.xreplace({p_var: v}) for a in pattern[0].atoms]
        for values in _instances(wanted, mine, variables):
            if any(v in value.free_symbols or not _fits(q, value)
                   for q, value in values.items()):
                continue
            if Counter(substitute(a, values) for a in wanted) == mine:
                return substitute(rhs, values)
        return None

    def rewrite(term: Term) -> Term | None:
        """Every sum of the term that the hypothesis states, replaced by its value."""
        changed = term
        for v in term.bound:
            value = value_for(changed, v)
            if value is not None:
                atoms = tuple(a for a in changed.atoms if v not in a.free_symbols)
                changed = Term(changed.coeff * value, atoms,
                               tuple(u for u in changed.bound if u != v))
        return None if changed is term else changed

    return map_terms(expr, rewrite)


def _fits(variable: Symbol, value: Expr) -> bool:
    """The value may stand for the variable of a hypothesis for every value: an integer of the
    same kind (multi-index or channel index) that the variable's assumptions admit."""
    return integer_valued(value) and not mixes_kinds(variable, value) \
        and _admitted(variable, value)


def _entry_values(pattern: sympy.Indexed, entry: sympy.Indexed,
                  variables: tuple[Symbol, ...]) -> dict[Symbol, Expr] | None:
    """The values of ``variables`` that make ``pattern`` the ``entry``, else None."""
    if entry.base != pattern.base or len(entry.indices) != len(pattern.indices):
        return None
    values: dict[Symbol, Expr] = {}
    for index, value in zip(pattern.indices, entry.indices):
        if index in variables:
            if values.setdefault(index, value) != value or not _fits(index, value):
                return None
    for index, value in zip(pattern.indices, entry.indices):  # z[a, a + 1]: a + 1 at that a
        if sympy.expand(substitute(index, values) - value) != 0:
            return None
    return values


@rule("entry hypothesis", "replace every entry y[e] by f(e), by a hypothesis y[a] = f(a) of "
      "the claim for every value of the indices a (that their assumptions admit); entries in a "
      "derivative or an expectation stay (they are its variables, not values)")
def entry_hypothesis(expr: Expr, equation: sympy.Eq) -> RuleResult:
    lhs, rhs, variables = _sides(equation)
    if not isinstance(lhs, sympy.Indexed) or not set(variables) <= set(lhs.indices):
        raise ProofError(f"{equation}: the left side must be an entry whose indices include "
                         "every variable of the hypothesis")
    named = (lhs.free_symbols | rhs.free_symbols) - set(variables)  # the claim's own symbols
    count = 0

    def replace(node: Expr, bound: frozenset) -> Expr:
        nonlocal count
        if isinstance(node, ZSum):
            return ZSum(replace(node.body, bound | {node.var}), node.var)
        if isinstance(node, OF_THE_ENTRIES):
            return node
        if isinstance(node, sympy.Indexed):
            values = _entry_values(lhs, node, variables)
            if values is not None:
                if named & bound:
                    captured = ", ".join(sorted(map(str, named & bound)))
                    raise ProofError(f"{node} lies in a sum over {captured}, which the "
                                     f"hypothesis {equation} names freely")
                count += 1
                return substitute(rhs, values)
        if not node.args:
            return node
        return node.func(*(replace(arg, bound) for arg in node.args))

    return replace(expr, frozenset()), count


__all__ = ["empty", "split_last", "geometric", "every", "sum_hypothesis", "entry_hypothesis"]
