"""Hypotheses that contradict one another: under them every claim holds, so a claim refuses them.

The hypotheses a = e with a symbol or an entry on the left are read as far as they give
numbers: a = b joins a and b, and a = e gives a the value of e once every symbol and
entry of e outside a sum, a derivative or an expectation has one (round after round, so that
chains of them are followed: t = u + 1, u = 0).  A contradiction is then a symbol or entry
given two numbers, a symbol given one its assumptions deny (or an expression whose
assumptions deny them: p = -q for positive p and q), a = e whose sides differ by a
nonzero number as they stand (t = t + 1), or a hypothesis for every index that gives another
number than a hypothesis at a point or another hypothesis for every index, or that makes the
sides of another hypothesis differ by a number; and one side of any kind given two numbers (a
sum = 1 and = 2).  Numbers count as different where SymPy proves
their difference nonzero ((1 + √2)² and 3 + 2√2 are one number written two ways; 1 and √2 are
two).  What this does not find is not refused, and what it finds is no proof of anything.
"""

from __future__ import annotations

import itertools

import sympy
from sympy import Expr, Indexed, Lambda, Symbol

from .language import (OF_THE_ENTRIES, ProofError, ZSum, fresh, meets_assumptions,
                       substitute)
from .rules_sums import _entry_values, entry_hypothesis  # the rules' own readings

BINDERS = (ZSum, Lambda, *OF_THE_ENTRIES)
"""Nodes whose insides are left as they are: their variables are not the hypotheses'."""

TRIED = (0, 1, 2, 3, -1, -2, -3)
"""Values at which two hypotheses for every index are compared (one both admit)."""


def _tried(*variables: Symbol) -> list[int]:
    """The values of TRIED that every one of ``variables`` admits."""
    return [v for v in TRIED if all(meets_assumptions(q, v, strict=True) for q in variables)]


def _replaced(expr: Expr, values: dict[Expr, Expr], numbers: dict[Expr, Expr]) -> Expr:
    """``expr`` with its symbols and entries outside BINDERS given their ``values``, an
    entry's indices first and by ``numbers`` alone (t = 0 makes x[t] the entry x[0]; s = y[s]
    must not nest y in its own index round after round)."""
    if isinstance(expr, BINDERS) or not isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, Indexed):
        expr = expr.base[tuple(_replaced(index, numbers, numbers) for index in expr.indices)]
    if expr in values:
        return values[expr]
    if not expr.args or isinstance(expr, Indexed):
        return expr
    return expr.func(*(_replaced(arg, values, numbers) for arg in expr.args))


def _number(expr: Expr) -> bool:
    """A finite number: rational, or irrational where SymPy decides it (√2, π); a Lambda
    without free symbols (Lambda(w, w)) is none."""
    return isinstance(expr, Expr) and not isinstance(expr, BINDERS) and expr.is_number \
        and expr.is_finite is True


def _nonzero(gap: Expr) -> bool:
    """A number that SymPy proves nonzero (undecided counts as zero)."""
    return _number(gap) and gap.is_zero is False


def _differ(a: Expr, b: Expr) -> bool:
    """a and b are numbers that SymPy proves different."""
    return _number(a) and _number(b) and _nonzero(sympy.expand(a - b))


class Reading:
    """The values the hypotheses a = e give, and the classes a = b joins."""

    def __init__(self, equations: list[tuple[Expr, Expr]]) -> None:
        self.equations = equations
        self.values: dict[Expr, Expr] = {}
        self.parent: dict[Expr, Expr] = {}

    def find(self, atom: Expr) -> Expr:
        while self.parent.get(atom, atom) != atom:
            atom = self.parent[atom]
        return atom

    def standing(self, expr: Expr) -> Expr:
        """``expr`` with the values known, and every other atom as its class's first."""
        known = {**{atom: self.find(atom) for atom in self.parent}, **self.values}
        known.update({atom: self.values[top] for atom, top in known.items()
                      if top in self.values})
        return sympy.expand(_replaced(expr, known, self.values))

    def value(self, expr: Expr) -> Expr | None:
        """:meth:`standing`, or None where SymPy cannot put the values in (Max(z, 0) at
        z = i): that expression gives nothing, and the other checks still run."""
        try:
            return self.standing(expr)
        except EVALUATION_ERRORS:
            return None

    def read(self) -> str | None:
        """Round after round until no value is added: a contradiction, or None."""
        for _ in range(len(self.equations) + 1):
            added = False
            for lhs, rhs in self.equations:
                try:
                    left, right = self.standing(lhs), self.standing(rhs)
                except EVALUATION_ERRORS:  # this one gives nothing; the others may
                    continue
                if isinstance(left, (Symbol, Indexed)) and isinstance(right, (Symbol, Indexed)):
                    if self.find(left) != self.find(right):
                        self.parent[self.find(left)], added = self.find(right), True
                    continue
                if _nonzero(sympy.expand(left - right)):
                    return f"{lhs} = {rhs}, whose sides the hypotheses make {left} and {right}"
                for atom, other in ((left, right), (right, left)):
                    if isinstance(atom, (Symbol, Indexed)) and _number(other) \
                            and self.values.get(atom) != other:
                        self.values[atom], added = other, True
            if not added:
                return None
        return None

    def assigned(self) -> dict[Expr, Expr]:
        """Every symbol and entry the hypotheses give a rational number, with that number (an
        entry with its indices as they stand: x[0] for x[t] where t = 0)."""
        atoms = {*self.parent, *self.parent.values(), *self.values}
        return {self.entry(atom): value for atom in atoms
                if _number(value := self.value(atom))}

    def entry(self, atom: Expr) -> Expr:
        """A symbol as it is, an entry with its indices as they stand."""
        if isinstance(atom, Indexed):
            return atom.base[tuple(self.standing(index) for index in atom.indices)]
        return atom


EVALUATION_ERRORS = (ZeroDivisionError, TypeError, ValueError)
"""What SymPy raises putting a value in (t = u mod 0; Max(z, 0) at z = i): nothing is read."""


def contradiction(hypotheses: tuple[sympy.Eq, ...]) -> str | None:
    """What makes ``hypotheses`` contradictory (module docstring), or None; hypotheses that
    SymPy cannot evaluate where a value is put in count as not contradictory."""
    try:
        return _contradiction(hypotheses)
    except EVALUATION_ERRORS:
        return None


def _contradiction(hypotheses: tuple[sympy.Eq, ...]) -> str | None:
    said: dict[Expr, tuple[Expr, Expr]] = {}
    for h in hypotheses:  # one side of any kind given two numbers (a sum = 1 and = 2)
        if isinstance(h.rhs, Expr) and _number(h.rhs) and not isinstance(h.lhs, Lambda):
            side = _bound_renamed(h.lhs)  # Σ_j x_j and Σ_k x_k are one sum
            if side in said and _differ(said[side][1], h.rhs):
                first_side, first = said[side]
                return (f"{h.lhs} = {first} and {h.rhs}" if first_side == h.lhs
                        else f"{first_side} = {first} and {h.lhs} = {h.rhs}")
            said.setdefault(side, (h.lhs, h.rhs))
    equations = [(h.lhs, h.rhs) for h in hypotheses
                 if isinstance(h.lhs, (Symbol, Indexed)) and isinstance(h.rhs, Expr)
                 and not isinstance(h.rhs, Lambda)]
    every = [(h.lhs, h.rhs) for h in hypotheses
             if isinstance(h.lhs, Lambda) and isinstance(h.rhs, Lambda)]
    reading = Reading(equations)
    found = reading.read()
    if found:
        return found
    assigned = reading.assigned()
    for atom, value in assigned.items():
        if isinstance(atom, Symbol) and not meets_assumptions(atom, value):
            return f"{atom} = {value}, which its assumptions deny"
    for lhs, rhs in equations:  # p = -p or p = -q - 5 for positive p and q
        value = reading.value(rhs) if isinstance(lhs, Symbol) else None
        if value is not None and not meets_assumptions(lhs, value):
            return f"{lhs} = {rhs}, a value ({value}) that the assumptions of {lhs} deny"
    for pattern, value in every:
        found = _at_points(reading, assigned, pattern, value)
        if found:
            return found
    for k, (pattern, value) in enumerate(every):
        for other, other_value in every[k + 1:]:
            found = _two_for_every(pattern, value, other, other_value)
            if found:
                return found
    for pattern, value in every:
        for other, other_value in every:
            if other is not pattern:
                found = _overlap(reading, pattern, value, other, other_value)
                if found:
                    return found
    return _through_entries(reading, hypotheses)


def _through_entries(reading: Reading, hypotheses: tuple[sympy.Eq, ...]) -> str | None:
    """A hypothesis a = e whose sides, every entry y[e] replaced by a hypothesis y[q] = f(q)
    for every q (the rule's own replacement), differ by a nonzero number as they stand
    (y[q] = 0 for every q against Σ_j [0 ≤ j ≤ 1] y_j = 1)."""
    entries = [h for h in hypotheses if isinstance(h.lhs, Lambda)
               and isinstance(h.lhs.expr, Indexed) and isinstance(h.rhs, Lambda)]
    for h in hypotheses:
        if not entries or isinstance(h.lhs, Lambda) or isinstance(h.rhs, Lambda) \
                or not isinstance(h.rhs, Expr):
            continue
        sides = [h.lhs, h.rhs]
        for equation in entries:
            try:
                sides = [entry_hypothesis(side, equation)[0] for side in sides]
            except ProofError:  # one the rule cannot read (y[0] for every q) gives nothing
                continue
        gap = reading.value(sympy.expand(sides[0] - sides[1]))
        if _nonzero(gap):
            return f"{h.lhs} = {h.rhs}, whose sides the hypotheses for every index make differ " \
                   f"by {gap}"
    return None


_BOUND: dict[tuple, Symbol] = {}


def _bound_renamed(expr: Expr, depth: int = 0) -> Expr:
    """``expr`` with the variable of each sum named by its depth, kind and assumptions alone."""
    if isinstance(expr, ZSum):
        kind = (depth, type(expr.var), tuple(sorted(expr.var.assumptions0.items())))
        var = _BOUND.setdefault(kind, fresh(expr.var))  # a multi-index stays one
        return ZSum(_bound_renamed(substitute(expr.body, {expr.var: var}), depth + 1), var)
    if not isinstance(expr, sympy.Basic) or not expr.args or isinstance(expr, Lambda):
        return expr
    return expr.func(*(_bound_renamed(arg, depth) for arg in expr.args))


def _overlap(reading: Reading, pattern: Lambda, value: Lambda, other: Lambda,
             other_value: Lambda) -> str | None:
    """y[q, 0] = f(q) for every q against y[0, r] = g(r) for every r: at each point of TRIED
    that q admits (at most three variables), the entry the first gives, read by the second."""
    if not isinstance(other.expr, Indexed) or len(pattern.variables) > 3:
        return None
    for point in itertools.product(*map(_tried, pattern.variables)):
        at = dict(zip(pattern.variables, point))
        entry = substitute(pattern.expr, at)
        there = _entry_values(other.expr, entry, other.variables) \
            if isinstance(entry, Indexed) else None
        if there is None or len(there) != len(other.variables):
            continue
        first = reading.value(substitute(value.expr, at))
        second = reading.value(substitute(other_value.expr, there))
        if _differ(first, second):
            return (f"{pattern.expr} = {value.expr} and {other.expr} = {other_value.expr} "
                    f"for every value of their indices: {entry} = {first} and {second}")
    return None


def _at_points(reading: Reading, assigned: dict[Expr, Expr], pattern: Lambda,
               value: Lambda) -> str | None:
    """y[q] = f(q) for every q against y[e] = c at a point e that q admits, f(e) ≠ c."""
    for atom, number in assigned.items():
        if not isinstance(atom, Indexed) or not isinstance(pattern.expr, Indexed):
            continue
        at = _entry_values(pattern.expr, atom, pattern.variables)
        if at is None or len(at) != len(pattern.variables):
            continue
        there = reading.value(substitute(value.expr, at))  # a sum over q keeps its q
        if _differ(there, number):
            return (f"{atom} = {number}, where the hypothesis for every "
                    f"{', '.join(map(str, pattern.variables))} gives {there}")
    return None


def _two_for_every(pattern: Lambda, value: Lambda, other: Lambda,
                   other_value: Lambda) -> str | None:
    """y[q] = f(q) and y[r] = g(r) for every q and r (alike up to the names of their sums'
    variables), with f - g a nonzero number, or nonzero at a point of TRIED that both q and r
    admit (q + 1 against 2q + 1 at q = 1; at most three variables)."""
    if len(pattern.variables) != len(other.variables):
        return None
    mine, theirs, shared = {}, {}, []
    for q, r in zip(pattern.variables, other.variables):
        both = _tried(q, r)
        if not both:
            return None
        mine[q] = theirs[r] = dummy = sympy.Dummy(q.name)  # a name of neither: none caught
        shared.append((dummy, both))
    if _bound_renamed(substitute(other.expr, theirs)) != _bound_renamed(
            substitute(pattern.expr, mine)):
        return None
    first, second = substitute(value.expr, mine), substitute(other_value.expr, theirs)
    gap = sympy.expand(first - second)
    points = itertools.product(*(both for _, both in shared)) if len(shared) <= 3 else ()
    if _nonzero(gap) or any(
            _nonzero(sympy.expand(substitute(gap, dict(zip(mine.values(), point)))))
            for point in points):
        named = substitute(second, {dummy: q for q, dummy in mine.items()})
        return f"{pattern.expr} = {value.expr} and {named}"
    return None
