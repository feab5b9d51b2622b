"""The pointwise functions of the layers, and their exact values at concrete points.

Every symbol and signal entry of these proofs is a real number (sizes and indices integers):

    relu(u) = max(u, 0)                     [u > 0] = Positive(u)  (0 at u = 0, as PyTorch)
    sigmoid(u) = 1 / (1 + e^(-u))           tanh(u) = (e^u - e^(-u)) / (e^u + e^(-u))
    softmax(z)_i = e^(z_i) / Σ_j e^(z_j)    (a defined signal, see :func:`softmax`)

:func:`exact_value` evaluates an expression of the proofs at concrete sizes, entries and
finite laws, exactly (sympy numbers, never floats); :func:`evaluated` turns that into the
evidence that kills a wrong statement: its two sides differ at a stated point.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy import Expr, Function, Indexed, S, Symbol

from .language import (Bracket, DefinedName, Signal, SignalName, in_range, is_multi,
                       meets_assumptions, zsum)
from .normal import NoPoints, ProofError, Term, linear_coefficient, expand_terms, support_order
from .proof import Claim, Evidence
from .rules import differentiated_by_cases, unfold_all
from .rules_expectation import LAWS, MATCHED, Expectation, FiniteLaw, check_member


class Positive(Function):
    """[u > 0] for a real u: 1 if u > 0, else 0 (so [0 > 0] = 0)."""

    nargs = 1
    is_nonnegative = True

    @classmethod
    def eval(cls, u):
        if u.is_number and u.is_extended_real:  # a sign SymPy cannot decide stays unevaluated
            return {True: S.One, False: S.Zero}.get(u.is_positive)
        return None

    def _latex(self, printer) -> str:
        return r"\left[" + printer._print(self.args[0]) + r" > 0\right]"


def relu(u) -> Expr:
    """max(u, 0)."""
    return sympy.Max(u, 0)


def sigmoid(u) -> Expr:
    """1 / (1 + e^(-u))."""
    return 1 / (1 + sympy.exp(-u))


def tanh(u) -> Expr:
    """(e^u - e^(-u)) / (e^u + e^(-u))."""
    return (sympy.exp(u) - sympy.exp(-u)) / (sympy.exp(u) + sympy.exp(-u))


def softmax(z: Signal, classes: Expr, name: str = "softmax") -> Signal:
    """softmax(z)_i = e^(z_i) / Σ_j [0 ≤ j ≤ K - 1] e^(z_j) over K classes."""
    j = sympy.Symbol("j_s", integer=True)
    return Signal(name, rf"\operatorname{{softmax}}({z.latex})",
                  lambda i: sympy.exp(z[i]) / zsum(in_range(j, classes) * sympy.exp(z[j]), j),
                  arity=1)


# --------------------------------------------------------------------------------------------
# Exact values at concrete points
# --------------------------------------------------------------------------------------------

@dataclass
class Values:
    """A concrete point: numbers for symbols, entries of input signals, finite laws of random
    signals (each entry drawn independently from its finite law)."""

    symbols: dict[Symbol, Any]
    entries: dict[str, dict[tuple, Any]] = field(default_factory=dict)
    laws: dict[str, FiniteLaw] = field(default_factory=dict)
    note: str = ""

    def describe(self) -> str:
        parts = [f"{s}={v}" for s, v in self.symbols.items()]
        parts += [f"{name}={dict(values)}" for name, values in self.entries.items()]
        parts += [f"{name}~{dict(zip(law.values, law.probabilities))}"
                  for name, law in self.laws.items()]
        return ", ".join(parts) + (f" ({self.note})" if self.note else "")


@functools.lru_cache(maxsize=4096)
def _terms(expr: Expr) -> tuple[Term, ...]:
    return tuple(expand_terms(expr))


@functools.lru_cache(maxsize=4096)
def _order(term: Term) -> tuple:
    order = support_order(term)
    for var, _, _ in order:
        if is_multi(var):
            raise ProofError(f"exact values are taken for scalar indices; {var} is a multi-index")
    return tuple((var, kind, tuple((linear_coefficient(e, var), e) for e in arguments))
                 for var, kind, arguments in order)


def _number(expr: Expr, scope: dict) -> Expr:
    value = sympy.sympify(expr).xreplace(scope)
    if value.free_symbols:
        raise ProofError(f"no value for {', '.join(sorted(map(str, value.free_symbols)))}")
    return value


class _Evaluator:
    """Sums enumerated over their supports; atoms evaluated recursively."""

    def __init__(self, point: Values):
        self.point = point
        self.memo: dict[tuple, Expr] = {}
        self.exact: dict = {}  # random signal -> its finite law is the declared law itself

    def value(self, expr: Expr, scope: dict, outcome: dict) -> Expr:
        total = S.Zero
        for term in _terms(expr):
            brackets = [a for a in term.atoms if isinstance(a, Bracket)]
            factors = [a for a in term.atoms if not isinstance(a, Bracket)]
            for inner in self._support(_order(term), 0, dict(scope)):
                # a false bracket is a strong zero (outside the support); any other factor is
                # evaluated, so that 0 · (an undefined value: log 0, 0^(-1/2)) stays nan
                if any(self.atom(b, inner, outcome) == 0 for b in brackets):
                    continue
                value = _number(term.coeff, inner)
                for atom in factors:
                    value *= self.atom(atom, inner, outcome)
                total += value
        return total

    def _support(self, order: tuple, position: int, scope: dict):
        if position == len(order):
            yield scope
            return
        var, kind, bounds = order[position]
        if kind == "pinned":
            slope, e = bounds[0]
            q = -_number(e - slope * var, scope) / _number(slope, scope)
            candidates = [int(q)] if q.is_Integer else []
        else:
            low, high = -math.inf, math.inf
            for slope, e in bounds:
                a, rest = _number(slope, scope), _number(e - slope * var, scope)
                if a > 0:
                    low = max(low, int(sympy.ceiling(-rest / a)))
                else:
                    high = min(high, int(sympy.floor(rest / -a)))
            candidates = range(int(low), int(high) + 1) if low <= high else []
        for candidate in candidates:
            scope[var] = sympy.Integer(candidate)
            yield from self._support(order, position + 1, scope)
        scope.pop(var, None)

    def _key(self, entry: Indexed, scope: dict) -> tuple[Symbol, tuple]:
        """(the signal's name symbol, the index): two random signals of one name stay two."""
        index = tuple(_number(i, scope) for i in entry.indices)
        if not all(i.is_Integer for i in index):
            raise ProofError(f"entry {entry} at the non-integer index {index}")
        return entry.base.label, tuple(int(i) for i in index)

    def _law(self, base) -> FiniteLaw:
        """The finite law drawn for a random signal, checked against its declared law."""
        name = base.label.name
        if name not in self.point.laws:
            raise ProofError(f"no finite law given for the random signal {name}")
        if base not in self.exact:
            self.exact[base] = check_member(self.point.laws[name], LAWS[base],
                                            self.point.symbols, name)
        return self.point.laws[name]

    def _within_matched_moments(self, argument: Expr, bases: set) -> None:
        """A finite law that stands for its law only up to MATCHED moments serves only
        polynomials of at most that degree in the signal's entries."""
        for base in bases:
            if self.exact[base]:
                continue
            entries = [a for a in argument.atoms(Indexed) if a.base == base]
            expanded = sympy.expand(argument)
            if not (expanded.is_polynomial(*entries)
                    and sympy.Poly(expanded, *entries).total_degree() <= MATCHED):
                raise ProofError(f"the finite law of {base.label.name} stands for "
                                 f"{LAWS[base].name} only up to E[X^{MATCHED}]: {argument} "
                                 "needs more")

    def atom(self, atom: Expr, scope: dict, outcome: dict) -> Expr:
        if isinstance(atom, Indexed):
            label, index = self._key(atom, scope)
            name = label.name
            if atom.base in LAWS:
                if (label, index) not in outcome:
                    raise ProofError(f"the random entry {name}{list(index)} occurs outside E")
                return outcome[(label, index)]
            if index not in self.point.entries.get(name, {}):
                raise ProofError(f"no value for the entry {name}{list(index)}")
            return sympy.sympify(self.point.entries[name][index])
        if isinstance(atom, Expectation):
            return self.expectation(atom.args[0], scope, outcome)
        if isinstance(atom, Bracket):
            value = _number(atom, scope)
            if value not in (0, 1):
                raise ProofError(f"cannot decide the bracket {atom}")
            return value
        key = (atom, tuple((s, scope[s]) for s in sorted(atom.free_symbols & set(scope), key=str)),
               tuple(sorted(outcome.items(), key=str)))
        if key not in self.memo:
            arguments = [self.value(a, scope, outcome) for a in atom.args]
            # a function of a value that has none is undefined (SymPy makes nan^0 = 1); a
            # literal nan, Heaviside's value at 0 where it has none, is no such value
            undefined = any(v.is_finite is not True and v != a
                            for a, v in zip(atom.args, arguments))
            self.memo[key] = S.NaN if undefined else atom.func(*arguments)
        return self.memo[key]

    def _random_entries(self, expr: Expr, scope: dict, found: dict) -> None:
        for term in _terms(expr):
            for inner in self._support(_order(term), 0, dict(scope)):
                for atom in term.atoms:
                    if isinstance(atom, Indexed) and atom.base in LAWS:
                        found[self._key(atom, inner)] = atom.base
                    elif not isinstance(atom, (Indexed, Bracket, Expectation)):
                        for argument in atom.args:  # (an inner E draws its own entries)
                            self._random_entries(argument, inner, found)

    def expectation(self, argument: Expr, scope: dict, outcome: dict) -> Expr:
        found: dict[tuple, Any] = {}
        self._random_entries(argument, scope, found)
        keys = list(found)  # E[...] is a number: it draws all its entries, outer draws aside
        total = S.Zero
        choices = [self._law(found[key]).outcomes() for key in keys]
        self._within_matched_moments(argument, set(found.values()))
        for combination in itertools.product(*choices):
            probability = sympy.Mul(*(p for _, p in combination))
            drawn = {**outcome, **{key: v for key, (v, _) in zip(keys, combination)}}
            total += probability * self.value(argument, scope, drawn)
        return total


def exact_value(expr: Expr, point: Values) -> Expr:
    """The exact value of ``expr`` at ``point``: definitions unfolded, derivatives taken, sums
    enumerated over their supports, E taken over the finite laws."""
    expr = differentiated_by_cases(unfold_all(sympy.sympify(expr)))
    # the symbols' values go in term by term, as the entries' do: put into the expression
    # first, k = 0 would make k·log(x0²) 0 before log 0 is seen
    symbols = {s: sympy.sympify(v) for s, v in point.symbols.items()}
    return _Evaluator(point).value(expr, symbols, {})


def _nonzero_number(value: Expr) -> bool:
    value = sympy.expand(value)
    return value.is_finite is True and value.is_zero is False


def _with_hypotheses(claim: Claim, point: Values) -> tuple[Values, list[str]]:
    """The point with the symbols that hypotheses define (and the point leaves unset) filled
    in; then every hypothesis, every nonzero condition and every symbol's assumptions must
    hold there."""
    foreign = [s for s in point.symbols
               if not isinstance(s, Symbol) or isinstance(s, (SignalName, DefinedName))]
    if foreign:  # a signal's name set to a number would turn its entries into nonsense
        return point, [f"{s!r} is no size or scalar symbol: a signal's entries go in entries"
                       for s in foreign]
    symbols, problems = dict(point.symbols), []
    defining = [h for h in claim.hypotheses if isinstance(h.lhs, Symbol)]
    for _ in defining:  # in any order: each pass sets what the symbols known so far give
        for h in defining:
            needed = h.rhs.atoms(Symbol) - {e.base.label for e in h.rhs.atoms(Indexed)}
            if h.lhs not in symbols and needed <= set(symbols):
                symbols[h.lhs] = exact_value(h.rhs, Values(symbols, point.entries))
    at = Values(symbols, point.entries, point.laws, point.note)
    for h in claim.hypotheses:
        if isinstance(h.lhs, sympy.Lambda):
            problems.append(f"the hypothesis {h} holds for every value of "
                            f"{', '.join(map(str, h.lhs.variables))}: a point cannot check it")
        elif sympy.expand(exact_value(h.lhs, at) - exact_value(h.rhs, at)) != 0:
            problems.append(f"the hypothesis {h.lhs} = {h.rhs} does not hold")
    problems += [f"the claim is stated where {u} ≠ 0, and {u} is 0 or has no value here"
                 for u in claim.nonzero if not _nonzero_number(exact_value(u, at))]
    problems += [f"the entry {name}{list(index)} = {value} is not real"
                 for name, values in point.entries.items() for index, value in values.items()
                 if sympy.sympify(value).is_real is not True]
    given = [(str(s), v) for s, v in point.symbols.items()]
    given += [(f"{name}{list(index)}", v) for name, values in point.entries.items()
              for index, v in values.items()]
    given += [(f"the law of {name}", v) for name, law in point.laws.items()
              for v in (*law.values, *law.probabilities)]
    problems += [f"{what} = {value} is a float, not an exact number" for what, value in given
                 if sympy.sympify(value).has(sympy.Float)]
    for symbol, value in symbols.items():
        if not meets_assumptions(symbol, value):
            problems.append(f"{symbol} = {value} breaks its assumptions")
        elif not meets_assumptions(symbol, value, strict=True):  # (√2+1)(√2-1) + 5/2: 7/2
            problems.append(f"{symbol} = {value} is not a real number that provably meets "
                            "its assumptions")
    return at, problems


def evaluated(claim: Claim, points: list[Values], title: str = "") -> Evidence:
    """Evidence that ``claim`` holds at each concrete point, both sides evaluated exactly.

    It fails at the first point where the sides differ (a counterexample to a wrong
    statement), and at a point where the difference is not a rational number (nan where a
    derivative's cases meet, an irrational value): what cannot be decided exactly is no pass.
    Values must be exact numbers (a float would round the difference away) and there must be
    a point at all.
    """
    started = time.perf_counter()
    if not points:
        raise NoPoints("a check at concrete points needs at least one point")
    for point in points:
        at, problems = _with_hypotheses(claim, point)
        if problems:
            raise ProofError(f"at {point.describe()}: " + "; ".join(problems))
        left, right = exact_value(claim.lhs, at), exact_value(claim.rhs, at)
        difference = sympy.expand(left - right)
        if not difference.is_Rational:
            return Evidence("certified", title or claim.name, False,
                            f"undecided at {point.describe()}: {left} against {right} cannot be "
                            "compared exactly", time.perf_counter() - started, claim)
        if difference != 0:
            return Evidence("certified", title or claim.name, False,
                            f"at {point.describe()}: left side {left}, right side {right}",
                            time.perf_counter() - started, claim)
    return Evidence("certified", title or claim.name, True,
                    f"exact at {len(points)} concrete points", time.perf_counter() - started,
                    claim)


__all__ = ["Positive", "relu", "sigmoid", "tanh", "softmax", "Values", "exact_value",
           "evaluated"]
