"""Exact instances: an expression at concrete sizes, with symbolic signal entries.

The value of an expression whose sizes are numbers is a polynomial in the signal entries
(linear for a convolution, bilinear in input and kernel for the banded matrix), kept as a
sparse dict {monomial: exact coefficient}; a monomial is a sorted tuple of entry keys
(signal name, index tuple).  Multi-indices take a tuple value, one integer per axis, and every
index expression is evaluated axis by axis.  Arithmetic is exact: Python integers and
Fractions, compiled from the SymPy expressions, never floats.
"""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction
from typing import Any
from collections.abc import Callable, Iterable

import sympy
from sympy import Expr, Indexed, Symbol

from .language import Bracket, Divides, EqZero, NonNeg, is_multi, multi_positions
from .normal import (
    ProofError,
    Term,
    linear_coefficient,
    expand_terms,
    provably_positive,
    support_order,
)

Poly = dict[tuple, Any]
Value = Any  # int, or a tuple of ints for a multi-index


# --------------------------------------------------------------------------------------------
# Exact compilation of integer expressions
# --------------------------------------------------------------------------------------------


def _source(expr: Expr, names: dict[Symbol, str]) -> str:
    if expr in names:
        return names[expr]
    if expr.is_Integer:
        return f"({int(expr)})"
    if expr.is_Rational:
        return f"_F({expr.p}, {expr.q})"
    if expr.is_Add:
        return "(" + " + ".join(_source(a, names) for a in expr.args) + ")"
    if expr.is_Mul:
        return "(" + " * ".join(_source(a, names) for a in expr.args) + ")"
    if expr.is_Pow and expr.exp.is_Integer:
        base = _source(expr.base, names)
        if expr.exp < 0:
            return f"(_F(1) / {base} ** {-int(expr.exp)})"
        return f"({base} ** {int(expr.exp)})"
    if expr.func in (sympy.floor, sympy.ceiling):
        numerator, denominator = sympy.fraction(sympy.together(expr.args[0]))
        if numerator.is_integer and denominator.is_integer:  # exact integer division
            n, d = _source(numerator, names), _source(denominator, names)
            return f"({n} // {d})" if expr.func is sympy.floor else f"(-((-{n}) // {d}))"
    simple = {
        sympy.floor: "_floor",
        sympy.ceiling: "_ceil",
        sympy.Mod: "_mod",
        sympy.Max: "max",
        sympy.Min: "min",
        sympy.Abs: "abs",
    }
    if expr.func in simple:
        return f"{simple[expr.func]}(" + ", ".join(_source(a, names) for a in expr.args) + ")"
    raise ProofError(f"cannot evaluate {expr} exactly ({type(expr).__name__})")


def divides(s: int | Fraction, e: int | Fraction) -> bool:
    """[s | e]: e = k·s for an integer k (so 0 divides only 0)."""
    return e == 0 if s == 0 else e % s == 0


_NAMESPACE = {"_F": Fraction, "_floor": math.floor, "_ceil": math.ceil, "_mod": lambda a, b: a % b,
              "_divides": divides}


def compile_exact(expr: Expr, symbols: list[Symbol]) -> Callable[..., Any]:
    """A Python function of ``symbols`` computing ``expr`` exactly (ints and Fractions)."""
    names = {s: f"a{i}" for i, s in enumerate(symbols)}
    missing = sympy.sympify(expr).free_symbols - set(names)
    if missing:
        raise ProofError(f"no value for {', '.join(sorted(map(str, missing)))} in {expr}")
    code = f"lambda {', '.join(names.values())}: {_source(sympy.sympify(expr), names)}"
    return eval(code, dict(_NAMESPACE))


def _integral(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if value.denominator == 1 else None


def _entry_index(value: Any, name: str) -> int:
    """An index of an entry of ``name``, which must be an integer (x[n/2] at n = 1 is none)."""
    integral = _integral(value)
    if integral is None:
        raise ProofError(f"entry of {name} at a non-integer index {value}")
    return integral


_NAMESPACE["_entry_index"] = _entry_index


# --------------------------------------------------------------------------------------------
# Evaluation of one term
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _integer_polynomial(expr: Expr) -> bool:
    """No division in expr: integer coefficients, no negative powers."""
    return not any(p.exp.is_negative for p in expr.atoms(sympy.Pow)) and all(
        r.is_Integer for r in expr.atoms(sympy.Rational))


def _over_integer(expr: Expr) -> tuple[Expr, Expr]:
    """expr as numerator / denominator with both integer-valued, or (expr, 1)."""
    if _integer_polynomial(expr):
        return expr, sympy.S.One
    numerator, denominator = sympy.fraction(sympy.together(expr))
    if denominator == 1 or not (numerator.is_integer and denominator.is_integer):
        return expr, sympy.S.One
    return numerator, denominator


def _quotient(a: int, b: int):
    """a / b exactly: an int when b divides a, else a Fraction."""
    q, r = divmod(a, b)
    return q if r == 0 else Fraction(a, b)


_NAMESPACE["_q"] = _quotient


@functools.lru_cache(maxsize=65536)
def _axis_function(expr: Expr, symbols: tuple[Symbol, ...], dims: int) -> Callable:
    """expr compiled to a function of the symbols' values returning its per-axis values."""
    numerator, denominator = _over_integer(expr)
    axes = range(dims) if any(is_multi(s) for s in symbols) else [None]
    parts = []
    for axis in axes:
        names = {s: f"v[{i}][{axis}]" if is_multi(s) else f"v[{i}]" for i, s in enumerate(symbols)}
        top = _source(numerator, names)
        parts.append(top if denominator == 1 else f"_q({top}, {_source(denominator, names)})")
    return eval(f"lambda v: ({', '.join(parts)},)", dict(_NAMESPACE))


class _Scalar:
    """An expression compiled for ``dims`` axes: ``axes(env)`` is the tuple of its per-axis
    values (one value if it involves no multi-index).  A rational expression is compiled as
    one integer numerator over one integer denominator, so that the arithmetic stays in ints."""

    def __init__(self, expr: Expr, symbols: list[Symbol], dims: int):
        expr = sympy.sympify(expr)
        self.symbols = [s for s in symbols if s in expr.free_symbols]
        missing = expr.free_symbols - set(self.symbols)
        if missing:
            raise ProofError(f"no value for {', '.join(sorted(map(str, missing)))} in {expr}")
        self.multi = any(is_multi(s) for s in self.symbols)
        self.function = _axis_function(expr, tuple(self.symbols), dims)

    def axes(self, env: dict) -> tuple:
        return self.function([env[s] for s in self.symbols])


class _TermEvaluator:
    """Enumerates the support of one term and adds its value to a polynomial."""

    def __init__(self, term: Term, free: list[Symbol], dims: int, sizes: dict,
                 widened: frozenset = frozenset()):
        self.term, self.dims, self.widened = term, dims, widened
        symbols = list(free) + list(term.bound)
        scalar = lambda e: _Scalar(e, symbols, dims)  # noqa: E731
        self.order = []
        satisfied = set()  # bracket arguments that the enumeration satisfies by construction
        for var, kind, arguments in support_order(term, cost=_box_cost(sizes, dims)):
            satisfied.update(arguments)
            solvers = []
            for e in arguments:
                slope = linear_coefficient(e, var)
                solvers.append((scalar(slope), scalar(sympy.expand(e - slope * var))))
            self.order.append((var, kind, solvers))
        self.brackets = []
        self.entries = []
        self.opaque = []
        for atom in term.atoms:
            if isinstance(atom, (NonNeg, EqZero)) and atom.args[0] in satisfied:
                continue
            if isinstance(atom, Bracket):
                self.brackets.append((type(atom), [scalar(a) for a in atom.args]))
            elif isinstance(atom, Indexed):
                arity = len(atom.indices)
                wide = [(atom.base.label, arity, k) in widened for k in range(arity)]
                self.entries.append((entry_name(atom.base.label),
                                     [scalar(i) for i in atom.indices],
                                     wide))
            else:
                self.opaque.append(atom)
        self.free_symbols = symbols
        _refuse_multi_coefficient(term)
        self.coeff = scalar(term.coeff)

    def _candidates(self, var: Symbol, kind: str, solvers, env: dict) -> Iterable[Value]:
        axes = self.dims if is_multi(var) else 1
        if kind == "pinned":
            slope, rest = (s.axes(env) for s in solvers[0])
            values = []
            for axis in range(axes):
                q, r = divmod(-rest[axis % len(rest)], slope[axis % len(slope)])
                if r != 0:
                    return ()
                values.append(int(q))
            return (tuple(values),) if is_multi(var) else (values[0],)
        low, high = [-math.inf] * axes, [math.inf] * axes
        for slope_s, rest_s in solvers:
            slope, rest = slope_s.axes(env), rest_s.axes(env)
            for axis in range(axes):
                a, r = slope[axis % len(slope)], rest[axis % len(rest)]
                if a > 0:
                    low[axis] = max(low[axis], -(r // a))
                else:
                    high[axis] = min(high[axis], r // -a)
        if any(lo > hi for lo, hi in zip(low, high)):
            return ()
        ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(low, high)]
        return itertools.product(*ranges) if is_multi(var) else ranges[0]

    def _bracket(self, kind: type, args: list[_Scalar], env: dict) -> bool:
        values = [a.axes(env) for a in args]
        if kind is NonNeg:
            return all(v >= 0 for v in values[0])
        if kind is EqZero:
            return all(v == 0 for v in values[0])
        if kind is Divides:
            s, e = values
            axes = max(len(s), len(e))  # a channel value stands for every axis of the other
            s, e = (s * axes if len(s) == 1 else s), (e * axes if len(e) == 1 else e)
            return all(divides(sv, ev) for sv, ev in zip(s, e))
        raise ProofError(f"unknown bracket {kind.__name__}")

    def _entry_key(self, name: str, indices: list[_Scalar], wide: list[bool], env: dict
                   ) -> tuple:
        key = []
        for index, widened in zip(indices, wide):
            values = index.axes(env)
            for value in values * self.dims if widened and len(values) == 1 else values:
                key.append(_entry_index(value, name))
        return (name, tuple(key))

    def add_to(self, poly: Poly, env: dict) -> None:
        def assign(position: int) -> None:
            if position == len(self.order):
                self._accumulate(poly, env)
                return
            var, kind, solvers = self.order[position]
            for value in self._candidates(var, kind, solvers, env):
                env[var] = value
                assign(position + 1)
            env.pop(var, None)

        assign(0)

    def _accumulate(self, poly: Poly, env: dict) -> None:
        if not all(self._bracket(kind, args, env) for kind, args in self.brackets):
            return
        coeff = self.coeff.axes(env)[0]
        if coeff == 0:
            return
        keys = [self._entry_key(name, indices, wide, env)
                for name, indices, wide in self.entries]
        for atom in self.opaque:
            keys.append(_opaque_key(atom, env, self.dims, self.widened))
        monomial = tuple(sorted(keys))
        total = poly.get(monomial, 0) + coeff
        if total == 0:
            poly.pop(monomial, None)
        else:
            poly[monomial] = total


def _refuse_multi_coefficient(term: Term) -> None:
    """A coefficient is one number, so it cannot depend on a multi-index (one value per axis)."""
    if any(is_multi(s) for s in term.coeff.free_symbols):
        raise ProofError(
            f"the coefficient {term.coeff} depends on a multi-index; "
            "state per-axis quantities with scalar symbols"
        )


class _CompiledTerm:
    """One term compiled to a Python function: nested loops over its support (pinned
    variables solved by divmod, boxed ones ranged), the remaining brackets as comparisons,
    and the monomial key built in place.  Every value is an int or an exact Fraction."""

    def __init__(self, term: Term, free: list[Symbol], dims: int, sizes: dict,
                 widened: frozenset = frozenset()):
        self.dims = dims
        self.free = [s for s in free]
        _refuse_multi_coefficient(term)
        order = support_order(term, cost=_box_cost(sizes, dims))
        satisfied = {e for _, _, arguments in order for e in arguments}
        lines, depth = [], 1
        names: dict[Symbol, Any] = {}

        def axis_names(symbol: Symbol) -> list[str]:
            return names[symbol] if is_multi(symbol) else [names[symbol]] * dims

        def code(expr: Expr, axis: int) -> str:
            expr = sympy.sympify(expr)
            numerator, denominator = _over_integer(expr)
            mapping = {s: (names[s][axis] if is_multi(s) else names[s]) for s in expr.free_symbols}
            top = _source(numerator, mapping)
            return top if denominator == 1 else f"_q({top}, {_source(denominator, mapping)})"

        def multi_expr(expr: Expr) -> bool:
            return any(is_multi(s) for s in sympy.sympify(expr).free_symbols)

        def emit(line: str) -> None:
            lines.append("    " * depth + line)

        for k, s in enumerate(self.free):
            if is_multi(s):
                names[s] = [f"f{k}_{a}" for a in range(dims)]
                emit(f"{', '.join(names[s])}, = values[{k}]")
            else:
                names[s] = f"f{k}"
                emit(f"f{k} = values[{k}]")
        for position, (var, kind, arguments) in enumerate(order):
            axes = range(dims) if is_multi(var) else [0]
            names[var] = [f"b{position}_{a}" for a in axes] if is_multi(var) else f"b{position}"
            for axis in axes:
                target = names[var][axis] if is_multi(var) else names[var]
                slopes = [linear_coefficient(e, var) for e in arguments]
                rests = [sympy.expand(e - a * var) for e, a in zip(arguments, slopes)]
                if kind == "pinned":
                    emit(
                        f"{target}, _r = divmod(-({code(rests[0], axis)}), {code(slopes[0], axis)})"
                    )
                    emit("if _r:")
                    emit("    continue" if depth > 1 else "    return")
                    # a pinned variable has one value: no loop, keep the depth
                else:
                    lows = [
                        f"-(({code(r, axis)}) // ({code(a, axis)}))"
                        for a, r in zip(slopes, rests)
                        if provably_positive(a)
                    ]
                    highs = [
                        f"({code(r, axis)}) // ({code(-a, axis)})"
                        for a, r in zip(slopes, rests)
                        if not provably_positive(a)
                    ]
                    low = lows[0] if len(lows) == 1 else f"max({', '.join(lows)})"
                    high = highs[0] if len(highs) == 1 else f"min({', '.join(highs)})"
                    emit(f"for {target} in range({low}, {high} + 1):")
                    depth += 1
        checks = []
        for atom in term.atoms:
            if isinstance(atom, (NonNeg, EqZero)) and atom.args[0] in satisfied:
                continue
            if isinstance(atom, (NonNeg, EqZero)):
                e = atom.args[0]
                op = ">= 0" if isinstance(atom, NonNeg) else "== 0"
                axes = range(dims) if multi_expr(e) else [0]
                checks += [f"({code(e, a)}) {op}" for a in axes]
            elif isinstance(atom, Divides):
                s_, e = atom.args
                axes = range(dims) if multi_expr(e) or multi_expr(s_) else [0]
                checks += [f"_divides({code(s_, a)}, {code(e, a)})" for a in axes]
        if checks:
            emit(f"if not ({' and '.join(checks)}):")
            emit("    continue" if depth > 1 else "    return")
        entries = []
        for atom in term.atoms:
            if isinstance(atom, Indexed):
                parts = []
                arity = len(atom.indices)
                name = entry_name(atom.base.label)
                for position, index in enumerate(atom.indices):
                    wide = multi_expr(index) or (atom.base.label, arity, position) in widened
                    axes = range(dims) if wide else [0]
                    checked = not _integer_polynomial(sympy.sympify(index))  # n/2 may not be
                    parts += [f"_entry_index({code(index, a)}, {name!r})" if checked
                              else code(index, a) for a in axes]
                entries.append((name, f"({name!r}, ({', '.join(parts)},))"))
        static = len({name for name, _ in entries}) == len(entries)
        ordered = [source for _, source in sorted(entries)] if static else [s for _, s in entries]
        key = f"({', '.join(ordered)},)" if static else f"tuple(sorted(({', '.join(ordered)},)))"
        if not entries:
            key = "()"
        emit(f"_key = {key}")
        emit(f"_c = {code(term.coeff, 0)}")
        emit("_t = poly.get(_key, 0) + _c")
        emit("if _t:")
        emit("    poly[_key] = _t")
        emit("else:")
        emit("    poly.pop(_key, None)")
        source = "def run(values, poly):\n" + "\n".join(lines) + "\n"
        namespace = dict(_NAMESPACE)
        exec(compile(source, "<convproof term>", "exec"), namespace)
        self.run = namespace["run"]
        self.source = source

    def add_to(self, poly: Poly, env: dict) -> None:
        values = []
        for s in self.free:
            value = env[s]
            if any(
                not isinstance(v, int) and getattr(v, "denominator", 1) != 1
                for v in (value if isinstance(value, tuple) else (value,))
            ):
                raise ProofError(f"{s} must take integer values, got {value}")
            values.append(value)
        self.run(values, poly)


def _box_cost(sizes: dict, dims: int) -> Callable:
    """Rank elimination options by how many values they enumerate at the given sizes:
    a pinned variable costs 1, a box its number of points (unknown if it depends on other
    bound variables), so the evaluator sums over kernel taps, not over all input pixels."""

    def cost(option) -> float:
        var, kind, arguments = option
        if kind == "pinned":
            return 0
        if any(s not in sizes for e in arguments for s in e.free_symbols if s != var):
            return math.inf
        low, high = [], []
        for e in arguments:
            slope = linear_coefficient(e, var)
            rest = _Scalar(sympy.expand(e - slope * var), list(sizes), dims).axes(sizes)
            slope = _Scalar(slope, list(sizes), dims).axes(sizes)
            (low if slope[0] > 0 else high).append((slope, rest))
        count = 1
        for axis in range(dims if is_multi(var) else 1):
            lo = max(math.ceil(Fraction(-r[axis % len(r)]) / s[axis % len(s)]) for s, r in low)
            hi = min(math.floor(Fraction(r[axis % len(r)]) / -s[axis % len(s)]) for s, r in high)
            count *= max(0, hi - lo + 1)
        return count

    return cost


def _opaque_key(atom: Expr, env: dict, dims: int, widened: frozenset) -> tuple:
    """A function of entries (an activation of a sum, say) evaluates to a symbolic key; its
    arguments read the entry positions ``widened`` as the whole claim does."""
    values = {s: v for s, v in env.items() if s in atom.free_symbols}
    args = tuple(tuple(sorted(instance(a, values, dims, widened).items())) for a in atom.args)
    return (str(atom.func), args)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def _compiled(term: Term, free: list[Symbol], dims: int, sizes: dict, widened: frozenset):
    """The compiled evaluator of a term, or the interpreted one for opaque atoms."""
    if any(not isinstance(a, (Indexed, NonNeg, EqZero, Divides)) for a in term.atoms):
        return _TermEvaluator(term, free, dims, sizes, widened)
    return _CompiledTerm(term, free, dims, sizes, widened)


def entry_name(label: Expr) -> str:
    """The name under which a certificate keys the entries of a signal: its printed name,
    made unique where the label is a Dummy (two random signals may print alike, and the rules
    keep them apart)."""
    return f"{label.name}@{label.dummy_index}" if isinstance(label, sympy.Dummy) else str(label)


def refuse_ambiguous_keys(*exprs: Expr) -> None:
    """Keys flatten an entry's indices axis by axis, so x[i] at a 2-D multi-index and x[0, 0]
    would share one; for the rules they are different entries (another number of indices is
    never one entry).  A signal read with two numbers of indices is therefore refused, and so
    are two signals or two functions that print alike (an entry is keyed by
    :func:`entry_name`, a function of entries by its printed name)."""
    arities: dict[Expr, set[int]] = {}
    named: dict[str, set] = {}
    for expr in map(sympy.sympify, exprs):
        for atom in expr.atoms(Indexed):
            arities.setdefault(atom.base.label, set()).add(len(atom.indices))
            named.setdefault(entry_name(atom.base.label), set()).add(atom.base.label)
        for node in sympy.preorder_traversal(expr):  # Function('Max') prints as Max does
            if not node.is_Atom:
                named.setdefault(str(node.func), set()).add(node.func)
    mixed = sorted(f"{label} ({', '.join(map(str, sorted(counts)))} indices)"
                   for label, counts in arities.items() if len(counts) > 1)
    if mixed:
        raise ProofError(f"a certificate cannot tell entries with different numbers of indices "
                         f"apart: {'; '.join(mixed)}")
    shared = sorted(name for name, objects in named.items() if len(objects) > 1)
    if shared:
        raise ProofError(f"a certificate cannot tell apart two signals or functions that print "
                         f"alike: {', '.join(shared)}")


class Instance:
    """``expr`` compiled once, then evaluated for many values of its free symbols.  An entry
    position in ``widened`` (:func:`~.language.multi_positions`; by default those of ``expr``)
    reads a constant or channel index e as the multi-index (e, ..., e)."""

    def __init__(self, expr: Expr, free: list[Symbol], dims: int, sizes: dict | None = None,
                 widened: frozenset | None = None):
        self.dims = dims
        self.free = list(free)
        sizes = sizes or {}
        refuse_ambiguous_keys(expr)
        widened = multi_positions(expr) if widened is None else widened
        self.evaluators = [_compiled(t, self.free, dims, sizes, widened)
                           for t in expand_terms(expr)]

    def __call__(self, values: dict[Symbol, Value]) -> Poly:
        poly: Poly = {}
        for evaluator in self.evaluators:
            evaluator.add_to(poly, dict(values))
        return poly


def instance(expr: Expr, values: dict[Symbol, Value], dims: int,
             widened: frozenset | None = None) -> Poly:
    """The exact value of ``expr`` with every free symbol given a value (``widened`` as for
    :class:`Instance`)."""
    return Instance(expr, list(values), dims, values, widened)(values)
