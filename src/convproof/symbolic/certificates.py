"""Certificates (a claim exact on every point of a grid) and refutations (a witness).

A grid point gives every size a value: a tuple per multi-size (one entry per axis, so the
number of axes is the point's dimension) and an int per scalar.  The claim's hypotheses
(symbol = value) are evaluated at the point and must hold there.  Free output indices of the
claim range over their boxes; both sides are evaluated exactly with symbolic entries
(:mod:`.evaluate`) and compared term by term.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Indexed, Symbol

from .evaluate import Instance, Poly, _Scalar, refuse_ambiguous_keys
from .language import Signal, is_multi, meets_assumptions, multi_positions, zsum
from .normal import NoPoints, ProofError
from .proof import Claim, Evidence, hidden_symbols
from .rules import differentiate, unfold_all
from .rules_expectation import LAWS, Expectation

_MARK = Signal("@at")


@dataclass
class Point:
    """Values of the sizes of a claim: tuples for multi-sizes, ints for scalars."""

    values: dict[Symbol, Any]
    dims: int
    note: str = ""
    label: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.dims, (bool, np.bool_)) or not isinstance(self.dims, (int, np.integer)) \
                or self.dims < 1:
            raise ProofError(f"a point's dims is the number of its spatial axes, a positive "
                             f"int, not {self.dims!r}")
        self.dims = int(self.dims)
        self.values = exact_values(self.values)

    def describe(self) -> str:
        shown = self.label or {str(s): v for s, v in self.values.items()}
        text = ", ".join(f"{name}={_show(v)}" for name, v in shown.items())
        if self.note:
            return f"{text} ({self.note})" if text else self.note
        return text or "no sizes"


def exact_values(values: dict[Symbol, Any]) -> dict[Symbol, Any]:
    """A point's values as Python ints and Fractions, a multi-size's (a tuple, list or 1-D
    array) as a tuple of them; anything else is refused (n = 1e20 as a float certified
    (n + 1) x0 = n x0, and an int64 2^62 wrapped around in 2n x0)."""
    for symbol in values:
        if not isinstance(symbol, Symbol):
            raise ProofError(f"a point gives values to size symbols, not to {symbol!r}")
    return {symbol: tuple(map(_exact, value)) if isinstance(value, (tuple, list))
            or getattr(value, "ndim", 0) == 1 else _exact(value)
            for symbol, value in values.items()}


def _exact(value: Any) -> int | Fraction:
    """An integer (NumPy's too) or an exact fraction, as a Python int or Fraction."""
    if isinstance(value, (bool, np.bool_)):
        raise ProofError(f"a point's value {value!r} is a truth value, not a size")
    if isinstance(value, sympy.Rational):
        value = Fraction(int(value.p), int(value.q))
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else value
    try:
        return operator.index(value)
    except TypeError:
        raise ProofError(f"a point's values are exact integers or fractions, not {value!r} "
                         f"({type(value).__name__}; int(v) for an integral float)") from None


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + (",)" if len(value) == 1 else ")")
    return str(value)


def value_at(expr: Expr, point: Point) -> Any:
    """An integer expression of the sizes at ``point`` (a tuple if it involves multi-sizes)."""
    expr = sympy.sympify(expr)
    sizes, shapes = _sizes_of(point)
    if shapes:
        raise ProofError("; ".join(shapes))
    scalar = _Scalar(expr, list(sizes), point.dims)
    try:
        values = scalar.axes(sizes)
    except ZeroDivisionError:
        raise ProofError(f"{expr} divides by 0 at {point.describe()}") from None
    values = tuple(int(v) if getattr(v, "denominator", 1) == 1 else v for v in values)
    return values if scalar.multi else values[0]


def _with_hypotheses(claim: Claim, point: Point) -> tuple[dict, list[str]]:
    values, problems = _sizes_of(point)
    if problems:
        return values, problems
    for h in claim.hypotheses:
        if set(claim.indices) & (h.lhs.free_symbols | h.rhs.free_symbols):
            problems.append(f"the hypothesis {h.lhs} = {h.rhs} is about a free index, which a "
                            "point runs over its whole box: state it in the box")
            continue
        if not isinstance(h.lhs, Symbol):
            problems.append(f"the hypothesis {h.lhs} = {h.rhs} is not about a size: a point of "
                            "sizes cannot check it")
            continue
        value = value_at(h.rhs, Point(values, point.dims))
        if is_multi(h.lhs) and not isinstance(value, tuple):
            value = (value,) * point.dims
        if not is_multi(h.lhs) and isinstance(value, tuple):  # c = n: n = (c, ..., c)
            if len(set(value)) != 1:
                problems.append(f"hypothesis {h.lhs} = {h.rhs} fails: the right side "
                                f"{_show(value)} is not one value on every axis")
                continue
            value = value[0]
        if h.lhs in values and values[h.lhs] != value:
            problems.append(
                f"hypothesis {h.lhs} = {h.rhs} fails: {h.lhs} = {_show(values[h.lhs])}, "
                f"the right side is {_show(value)}"
            )
        values[h.lhs] = value
    for u in claim.nonzero:
        if u.atoms(Indexed) or set(claim.indices) & u.free_symbols:
            problems.append(f"the claim is stated where {u} ≠ 0, about entries or a free "
                            "index: a point of sizes cannot check it")
        elif 0 in _components(value_at(u, Point(values, point.dims))):
            problems.append(f"the claim is stated where {u} ≠ 0, and {u} = 0 here")
    problems += [f"{symbol} = {_show(value)} breaks its assumptions"
                 for symbol, value in values.items() if not meets_assumptions(symbol, value)]
    return values, problems


def _sizes_of(point: Point) -> tuple[dict, list[str]]:
    """The point's values read again (a Point is mutable), and what is wrong with their
    shapes."""
    values = exact_values(point.values)
    return values, [problem for symbol, value in values.items()
                    if (problem := _shape_problem(symbol, value, point.dims))]


def _shape_problem(symbol: Symbol, value: Any, dims: int) -> str:
    """What is wrong with the shape of a size's value: a multi-size takes one per axis."""
    if is_multi(symbol) and not isinstance(value, tuple):
        return f"{symbol} is a multi-size: give it one value per axis, not {_show(value)}"
    if isinstance(value, tuple) and len(value) != dims:
        return f"{symbol} = {_show(value)} has {len(value)} values for {dims} axes"
    return ""


def _components(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def unmet_hypotheses(claim: Claim, point: Point) -> list[str]:
    """The claim's hypotheses that do not hold at ``point``, each as a sentence."""
    return _with_hypotheses(claim, point)[1]


def _wrapped(claim: Claim) -> tuple[Expr, Expr]:
    """Both sides unfolded; free indices summed over their boxes with a marker entry @at[...]."""
    lhs, rhs = (differentiate(unfold_all(side))[0] for side in (claim.lhs, claim.rhs))
    names = {str(e.base.label) for side in (lhs, rhs) for e in side.atoms(Indexed)}
    names |= {str(f.func) for side in (lhs, rhs) for f in side.atoms(sympy.Function)}
    reserved = sorted(name for name in names if name.startswith("@"))
    if reserved:  # a signal or a function @at would share the marker's keys
        raise ProofError(f"names starting with @ are the certificates' own: "
                         f"{', '.join(reserved)}")
    if claim.indices:
        variables = tuple(claim.indices)
        marker = _MARK[variables] if len(variables) > 1 else _MARK[variables[0]]
        boxes = sympy.Mul(*claim.indices.values())
        lhs, rhs = zsum(boxes * lhs * marker, *variables), zsum(boxes * rhs * marker, *variables)
    return lhs, rhs


class _Sides:
    """Both sides of a claim compiled once for a number of dims, evaluated at many points; a
    point that breaks a hypothesis or an assumption is not evaluated, and one where the exact
    evaluation finds no integer (a size the point omits, an entry inside a bracket or an
    index, a division by 0) is refused."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.compiled: list[Instance] = []  # at the first point that is evaluated

    def _compile(self, values: dict, dims: int) -> None:
        claim, free = self.claim, list(values)
        sides = _wrapped(claim)
        if any(side.atoms(Expectation) for side in sides):
            raise ProofError("an expectation has no value at a grid point (random signals of "
                             "one name would merge): check it with values at points")
        refuse_ambiguous_keys(*sides)  # both sides' entries share one set of keys
        widened = multi_positions(*sides)  # x[0] beside x[i] is the origin on both sides
        self.compiled = [Instance(side, free, dims, values, widened) for side in sides]
        box = zsum(sympy.Mul(*claim.indices.values()), *claim.indices) if claim.indices else 1
        self.indices = Instance(box, free, dims, values)

    def __call__(self, point: Point) -> tuple[Poly, Poly, list[str]]:
        try:
            values, problems = _with_hypotheses(self.claim, point)
            if problems:
                return {}, {}, problems
            if not self.compiled:
                self._compile(values, point.dims)
            left, right = (side(values) for side in self.compiled)
            empty = not self.indices(values)  # Σ over the box of 1: no index
        except (KeyError, ZeroDivisionError) as error:
            raise _cannot_evaluate(self.claim, point, error) from None
        if empty:
            problems.append(f"the box of {', '.join(map(str, self.claim.indices))} holds no "
                            "index here: nothing to compare")
        return left, right, problems


def _cannot_evaluate(claim: Claim, point: Point, error: Exception) -> ProofError:
    """The refusal of a point where the exact evaluation raised ``error``."""
    what = (f"{error.args[0]} has no integer value there (a size the point omits, or a "
            "signal entry inside a bracket or an index)" if isinstance(error, KeyError)
            else "it divides by 0 there (a divisor or modulus that is 0 at this point)")
    return ProofError(f"a certificate cannot evaluate {claim.name!r} at {point.describe()}: "
                      f"{what}")


def sides_at(claim: Claim, point: Point) -> tuple[Poly, Poly, list[str]]:
    """Both sides of the claim at one point (free indices marked by @at[...])."""
    return _Sides(claim)(point)


def format_poly(poly: Poly, limit: int = 6) -> str:
    if not poly:
        return "0"
    parts = []
    for monomial, coeff in sorted(poly.items())[:limit]:
        factors = "·".join(
            f"{name}[{','.join(map(str, index))}]" for name, index in monomial if name != "@at"
        )
        parts.append(f"{coeff}·{factors}" if coeff != 1 and factors else (factors or str(coeff)))
    more = f" + ... ({len(poly) - limit} more terms)" if len(poly) > limit else ""
    return " + ".join(parts) + more


def _split_by_index(poly: Poly) -> dict[tuple, Poly]:
    by_index: dict[tuple, Poly] = {}
    for monomial, coeff in poly.items():
        at = tuple(index for name, index in monomial if name == "@at")
        rest = tuple((name, index) for name, index in monomial if name != "@at")
        by_index.setdefault(at, {})[rest] = coeff
    return by_index


def only_zeros(left: Poly, right: Poly) -> bool:
    """Both sides 0 at every index: the point compares 0 = 0 only (a conv whose windows all
    lie in the padding, say), true of a wrong claim as much as of a right one."""
    return not left and not right


def grid_summary(claim: Claim, points: list[Point]) -> str:
    """N grid points (1-D, 2-D): N counts the points that differ in a size the claim reads
    (its sides, hypotheses, nonzero conditions and index boxes, the definitions and random
    laws they reach); points that differ only in others repeat a case."""
    sides = (claim.lhs, claim.rhs)
    read = set().union(*(side.free_symbols | hidden_symbols(side) for side in sides),
                       *(h.free_symbols for h in claim.hypotheses),
                       *(u.free_symbols for u in claim.nonzero),
                       *(sympy.sympify(box).free_symbols for box in claim.indices.values()),
                       claim.indices)
    cases = {(p.dims, frozenset((s, repr(v)) for s, v in p.values.items() if s in read))
             for p in points}  # by symbol: two symbols may print alike
    repeated = "" if len(cases) == len(points) else (
        f", of {len(points)} given: the others differ only in sizes the claim does not read")
    dims = ", ".join(f"{d}-D" for d in sorted({p.dims for p in points}))
    return f"{len(cases)} grid point{'s' if len(cases) > 1 else ''} ({dims}{repeated})"


def compares_nothing(points: list[Point]) -> str:
    """The failure of a grid whose every point has only zeros on both sides."""
    return (f"both sides are 0 at every index of all {len(points)} grid points: the grid "
            "compares nothing")


def compare(left: Poly, right: Poly, problems: list[str], point: Point) -> tuple[bool, str]:
    """(True, "") when the sides at ``point`` are equal and nothing is wrong with the point;
    else False and the first difference or problem."""
    if problems:
        return False, f"at {point.describe()}: " + "; ".join(problems)
    if left == right:
        return True, ""
    left_at, right_at = _split_by_index(left), _split_by_index(right)
    for at in sorted(set(left_at) | set(right_at)):
        a, b = left_at.get(at, {}), right_at.get(at, {})
        if a != b:
            where = f" at index {at[0] if len(at) == 1 else at}" if at else ""
            return False, (
                f"at {point.describe()}{where}: left side {format_poly(a)}, "
                f"right side {format_poly(b)}{_as_written(a, b)}"
            )
    return False, f"at {point.describe()}: the sides differ{_as_written(left, right)}"


def _as_written(*polys: Poly) -> str:
    """Where a side holds functions of entries (max, sqrt, exp of a sum), which are compared
    as written, a difference refutes nothing: say so."""
    if all(_is_entry_index(index) for poly in polys for monomial in poly
           for _, index in monomial):
        return ""
    return (" (functions of the entries are compared as written, so this refutes nothing: "
            "an identity between them, max(0, a) = (a + |a|)/2 say, is not decided here)")


def certified(claim: Claim, points: list[Point], title: str = "") -> Evidence:
    """Evidence that ``claim`` holds exactly at every point of the grid, at least one of which
    compares more than 0 = 0."""
    started = time.perf_counter()
    if not points:
        raise NoPoints("a certificate needs at least one grid point")
    strays = [point for point in points if not isinstance(point, Point)]
    if strays:
        raise TypeError(f"points must be Points (sizes and index boxes), got "
                        f"{type(strays[0]).__name__}")

    def evidence(ok: bool, message: str) -> Evidence:
        return Evidence("certified", title or claim.name, ok, message,
                        time.perf_counter() - started, claim, grid=points)

    compiled: dict[int, _Sides] = {}
    informative = False
    for point in points:
        if point.dims not in compiled:
            compiled[point.dims] = _Sides(claim)
        left, right, problems = compiled[point.dims](point)
        ok, message = compare(left, right, problems, point)
        if not ok:
            return evidence(False, message)
        informative = informative or not only_zeros(left, right)
    if not informative:
        return evidence(False, compares_nothing(points))
    return evidence(True, f"exact on {grid_summary(claim, points)}")


def numeric_value(poly: Poly, entries: dict[str, dict]) -> Fraction:
    """The value of a polynomial at concrete entries: entries[name] maps an index tuple to a
    number; indices it does not list are zero (so an impulse is {(0,): 1}).  A monomial's
    factor that is a function of entries (exp of a sum, say) has no value here: refused."""
    total = Fraction(0)
    for monomial, coeff in poly.items():
        term = Fraction(coeff)
        for name, index in monomial:
            if not _is_entry_index(index):
                raise ProofError(f"a witness gives values to signal entries, not to {name} of "
                                 f"{index}: evaluate the claim's functions at its entries first")
            if name not in entries:
                raise ProofError(f"the witness gives no entries of {name}")
            term *= witness_value(entries[name].get(index, 0), name, index)
        total += term
    return total


def witness_value(value: Any, name: str, index: tuple) -> Fraction:
    """A witness entry as an exact fraction (a float as the binary number it is); inf and nan
    are refused."""
    try:  # a NumPy float (a long double too) exactly, not rounded to a double first
        return Fraction(*value.as_integer_ratio()) if isinstance(value, np.floating) \
            else Fraction(value)
    except (OverflowError, ValueError):
        raise ProofError(f"the witness entry {name}{list(index)} = {value!r} is no finite "
                         "number") from None
    except TypeError:
        raise ProofError(f"the witness entry {name}{list(index)} = {value!r} is no number "
                         "read exactly (an int, a float or a Fraction)") from None


def _is_entry_index(index: tuple) -> bool:
    """An entry's index: integers (or tuples of them, for a multi-index); the key of a function
    of entries holds the polynomials of its arguments instead."""
    return all(isinstance(i, int) or (isinstance(i, tuple) and i != ()  # exp(0)'s key: ((),)
                                      and all(isinstance(a, int) for a in i))
               for i in index)


def entries_of(name: str, array) -> dict[str, dict]:
    """Witness entries of a NumPy array (its index tuples as keys), each the exact number it
    holds (float32 0.1 is 13421773/134217728)."""
    entries = {index: witness_value(v, name, index) for index, v in np.ndenumerate(array)}
    return {name: {index: int(v) if v.denominator == 1 else v for index, v in entries.items()}}


def check_witness(claim: Claim, entries: dict[str, Any]) -> None:
    """A witness names signals and gives their entries by index tuples (an array goes through
    :func:`entries_of`); a key of another kind would be read as no entry at all.  A random
    signal's entries take only its law's outcomes, so a number of the witness would refute
    nothing: such a claim is checked with values at points (:func:`.operators_layers.evaluated`)."""
    if not isinstance(entries, dict):
        raise ProofError(f"a witness is a dict of signal name -> {{index tuple: value}}, not "
                         f"{type(entries).__name__}")
    for name, values in entries.items():
        if not isinstance(values, dict):
            raise ProofError(f"the witness entries of {name} are a dict of index tuples, not "
                             f"{type(values).__name__} (entries_of turns an array into one)")
        keys = [key for key in values if not (isinstance(key, tuple) and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))
            for i in key))]
        if keys:
            raise ProofError(f"the witness entry {name}[{keys[0]!r}] is not keyed by a tuple of "
                             "ints")
    for side in (claim.lhs, claim.rhs):
        random = sorted({str(e.base.label) for e in unfold_all(side).atoms(Indexed)
                         if e.base in LAWS})
        if random:
            raise ProofError(f"{', '.join(random)} draw their entries from a law: a witness's "
                             "numbers need not be outcomes of it (check it at points instead)")


def refuted(claim: Claim, point: Point, entries: dict[str, Any], title: str = "") -> Evidence:
    """Evidence that ``claim`` is false: at ``point`` with these entries the sides differ."""
    started = time.perf_counter()
    check_witness(claim, entries)
    left, right, problems = sides_at(claim, point)
    if problems:
        raise ProofError("; ".join(problems))
    differences = {}
    for at, (a, b) in _paired(left, right).items():
        va, vb = numeric_value(a, entries), numeric_value(b, entries)
        if va != vb:
            differences[at] = (va, vb)
    ok = bool(differences)
    first = next(iter(sorted(differences.items())), None)
    where = (first[0][0] if len(first[0]) == 1 else first[0]) if first else None
    message = (
        f"counterexample at {point.describe()}: "
        + (f"index {where} gives {first[1][0]} against {first[1][1]}" if first else "")
        if ok
        else f"no difference at {point.describe()}: the witness does not refute the claim"
    )
    return Evidence(
        "refuted",
        title or claim.name,
        ok,
        message,
        time.perf_counter() - started,
        claim,
        grid=[point],
        witness={"entries": entries, "differences": differences},
    )


def _paired(left: Poly, right: Poly) -> dict[tuple, tuple[Poly, Poly]]:
    a, b = _split_by_index(left), _split_by_index(right)
    return {at: (a.get(at, {}), b.get(at, {})) for at in set(a) | set(b)}
