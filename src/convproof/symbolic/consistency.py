"""Hypotheses that contradict one another: under them every claim holds, so a claim refuses them.

The hypotheses a = b between symbols and entries join them into classes of equal values; a
class set to two rational numbers, a symbol set to a number its assumptions deny, a = e with
a - e a nonzero number once each symbol or entry stands for its class (t = t + 1; t = s + 1,
s = t), and a hypothesis for every index against one at a point (y[q] = 0 for every q ≥ 0,
y[0] = 1) are contradictions.  Numbers are compared only where they are rational: (1 + √2)²
and 3 + 2√2 are one number written two ways.  What this does not find is not refused, and
what it finds is no proof of anything.
"""

from __future__ import annotations

import sympy
from sympy import Expr, Indexed, Lambda, Symbol

from .language import meets_assumptions, substitute


class Classes:
    """Symbols and entries joined by the hypotheses a = b, each class with its numbers."""

    def __init__(self) -> None:
        self.parent: dict[Expr, Expr] = {}
        self.numbers: dict[Expr, list[tuple[Expr, Expr]]] = {}
        self.seen: set[Expr] = set()

    def find(self, atom: Expr) -> Expr:
        while self.parent.get(atom, atom) != atom:
            atom = self.parent[atom]
        return atom

    def join(self, a: Expr, b: Expr) -> None:
        self.seen |= {a, b}
        self.parent[self.find(a)] = self.find(b)

    def set(self, atom: Expr, number: Expr) -> None:
        self.seen.add(atom)
        self.numbers.setdefault(atom, []).append((atom, number))

    def members(self, top: Expr) -> list[Expr]:
        return [atom for atom in self.seen if self.find(atom) == top]

    def values(self) -> dict[Expr, list[tuple[Expr, Expr]]]:
        """Class representative -> (atom, number) of every number its members are set to."""
        merged: dict[Expr, list[tuple[Expr, Expr]]] = {}
        for atom, pairs in self.numbers.items():
            merged.setdefault(self.find(atom), []).extend(pairs)
        return merged

    def standing(self, expr: Expr) -> Expr:
        """``expr`` with every symbol and entry replaced by its class's rational number, or
        by the class's representative."""
        known = {top: next((n for _, n in pairs if n.is_Rational), top)
                 for top, pairs in self.values().items()}
        return substitute(expr, {a: known.get(self.find(a), self.find(a))
                                 for a in expr.atoms(Symbol, Indexed)})


def _atom(expr: Expr) -> bool:
    return isinstance(expr, (Symbol, Indexed))


def contradiction(hypotheses: tuple[sympy.Eq, ...]) -> str | None:
    """What makes ``hypotheses`` contradictory (module docstring), or None."""
    classes, relations, every = Classes(), [], []
    # an entry's index set to a number is that number: t = 0 makes x[t] the entry x[0]
    indices = {h.lhs: h.rhs for h in hypotheses
               if isinstance(h.lhs, Symbol) and isinstance(h.rhs, Expr) and h.rhs.is_Integer}
    for h in hypotheses:
        lhs, rhs = (substitute(side, indices) if isinstance(side, Indexed) else side
                    for side in (h.lhs, h.rhs))
        if isinstance(lhs, Lambda) and isinstance(rhs, Lambda):
            every.append((lhs, rhs))
        elif not _atom(lhs) or not isinstance(rhs, Expr) or isinstance(rhs, Lambda):
            continue
        elif _atom(rhs):
            classes.join(lhs, rhs)
        elif rhs.is_number:
            classes.set(lhs, rhs)
        else:
            relations.append((lhs, rhs))
    for top, pairs in classes.values().items():
        for atom in classes.members(top):  # p = m, m = -1 for a positive p
            for _, number in pairs:
                if isinstance(atom, Symbol) and not meets_assumptions(atom, number):
                    return f"{atom} = {number}, which its assumptions deny"
        rational = sorted({number for _, number in pairs if number.is_Rational})
        if len(rational) > 1:
            return f"{pairs[0][0]} = " + " and ".join(map(str, rational))
    for lhs, rhs in relations:
        gap = sympy.expand(classes.standing(lhs) - classes.standing(rhs))
        if gap.is_Rational and gap != 0:
            return f"{lhs} = {rhs}, which differ by {gap}"
    for pattern, value in every:
        found = _against_a_point(classes, pattern, value)
        if found:
            return found
    return None


def _against_a_point(classes: Classes, pattern: Lambda, value: Lambda) -> str | None:
    """y[q] = f(q) for every q against y[e] = c at a point e that q admits, f(e) ≠ c."""
    entry, variables = pattern.expr, pattern.variables
    if not isinstance(entry, Indexed) or not set(variables) <= set(entry.indices):
        return None
    for pairs in classes.values().values():
        for atom, number in pairs:
            if not (isinstance(atom, Indexed) and atom.base == entry.base
                    and len(atom.indices) == len(entry.indices) and number.is_Rational):
                continue
            at = dict(zip(entry.indices, atom.indices))
            if any(q not in variables and at[q] != q for q in entry.indices) or not all(
                    at[q].is_Integer and meets_assumptions(q, at[q], strict=True)
                    for q in variables):
                continue
            there = classes.standing(substitute(value.expr, {q: at[q] for q in variables}))
            if there.is_Rational and there != number:
                return f"{atom} = {number}, where the hypothesis for every " \
                       f"{', '.join(map(str, variables))} gives {there}"
    return None
