"""The expression language of the proofs: sums over Z^D, Iverson brackets, signals.

Every sum runs over all of Z^D and every range is an Iverson bracket (Knuth's convention):

    sum_{m=0}^{k-1} f(m)  is written  Σ_m [0 ≤ m][m ≤ k - 1] f(m).

Then a change of summation index is a bijection of Z^D with nothing to adjust, eliminating a
Kronecker delta needs no bound arithmetic, and swapping two sums is Fubini for finitely
supported summands (checked by the normal form).

Indices and sizes are *multi-indices*: symbols made by :func:`multi` stand for elements of Z^D,
with +, ·, ≤, = and divisibility acting componentwise (a commutative ring with a componentwise
order).  Channel indices are ordinary integer symbols.  Every rule of the engine holds in that
ring, so a proof written with multi-indices holds for every number of spatial dims at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sympy
from sympy import Dummy, Expr, Function, Indexed, IndexedBase, S, Symbol
from sympy.core.assumptions import _assume_defined


# --------------------------------------------------------------------------------------------
# Symbols
# --------------------------------------------------------------------------------------------


class Multi:
    """Marker of symbols that stand for multi-indices (elements of Z^D)."""

    def _latex(self, printer) -> str:
        return printer._print_Symbol(Symbol(self.name))


class MultiSymbol(Multi, Symbol):
    """A multi-index or multi-size: componentwise arithmetic in Z^D."""


class MultiDummy(Multi, Dummy):
    """A fresh bound multi-index (made when renaming apart)."""


def multi(names: str, **assumptions) -> tuple[MultiSymbol, ...] | MultiSymbol:
    """Multi-index symbols; sizes pass ``positive=True``, paddings ``nonnegative=True``."""
    assumptions.setdefault("integer", True)
    made = tuple(MultiSymbol(name, **assumptions) for name in names.split())
    return made[0] if len(made) == 1 else made


def scalar(names: str, **assumptions) -> tuple[Symbol, ...] | Symbol:
    """Ordinary integer symbols (channels, groups, batch indices)."""
    assumptions.setdefault("integer", True)
    made = tuple(Symbol(name, **assumptions) for name in names.split())
    return made[0] if len(made) == 1 else made


def is_multi(symbol: Symbol) -> bool:
    return isinstance(symbol, Multi)


class ProofError(Exception):
    """An expression the engine refuses (divergent sum, malformed statement, ...)."""


def refuse_unmade_dummies(expr: Expr) -> None:
    """A Dummy is the engine's fresh symbol: one whose index SymPy has not handed out yet
    (Dummy("t", dummy_index=...) set ahead) would be the symbol that a renamed sum variable
    becomes next, and that sum would capture it (Σ_t x_t x_D = Σ_t x_t² was proved)."""
    unmade = Dummy._base_dummy_index + Dummy._count
    ahead = sorted(str(d) for d in expr.atoms(Dummy) if d.dummy_index >= unmade)
    if ahead:
        raise ProofError(f"{', '.join(ahead)}: a Dummy whose index SymPy has not handed out "
                         "yet is one the engine would make; use a Symbol")


def meets_assumptions(symbol: Symbol, value: Any, strict: bool = False) -> bool:
    """``value`` (a number, an expression, or a tuple of them per axis for a multi-index)
    breaks none of the assumptions that ``symbol`` carries, held or denied (integer, positive,
    even, real, integer=False, ...; undecided counts as met: only a value that provably breaks
    one is refused); with ``strict``, it is real and provably meets each of them."""
    if isinstance(value, tuple):
        return is_multi(symbol) and all(meets_assumptions(symbol, part, strict)
                                        for part in value)
    value = sympy.sympify(value)
    if strict and value.is_real is not True:
        return False
    # every fact the symbol answers, a subclass's own is_positive = True among them
    facts = {name: getattr(symbol, f"is_{name}") for name in _assume_defined}
    return all(getattr(value, f"is_{name}") is holds if strict else
               getattr(value, f"is_{name}") is not (not holds)
               for name, holds in facts.items() if holds is not None)


def multi_positions(*exprs: Expr) -> frozenset[tuple[Symbol, int, int]]:
    """(signal label, number of indices, position) of every entry position that some entry of
    ``exprs`` indexes by a multi-index.  There a constant or channel index e stands for the
    multi-index (e, ..., e), as the rules read it (x[0] where x[i] is also written is the
    origin); elsewhere it is one axis."""
    return frozenset((entry.base.label, len(entry.indices), position)
                     for expr in exprs
                     for entry in sympy.sympify(expr).atoms(Indexed)
                     for position, index in enumerate(entry.indices)
                     if any(is_multi(s) for s in sympy.sympify(index).free_symbols))


def fresh(symbol: Symbol) -> Dummy:
    """A new bound variable of the same kind and assumptions as ``symbol``."""
    cls = MultiDummy if is_multi(symbol) else Dummy
    return cls(symbol.name, **symbol.assumptions0)


# --------------------------------------------------------------------------------------------
# Sums over Z^D
# --------------------------------------------------------------------------------------------


class ZSum(Expr):
    """Σ_{var ∈ Z^D} body: a sum over all integers (a bracket in the body bounds it)."""

    is_commutative = True

    def __new__(cls, body, var):
        body = sympy.sympify(body)
        if body == 0:
            return S.Zero
        return Expr.__new__(cls, body, var)

    @property
    def body(self) -> Expr:
        return self.args[0]

    @property
    def var(self) -> Symbol:
        return self.args[1]

    @property
    def free_symbols(self) -> set:
        return self.body.free_symbols - {self.var}

    def _latex(self, printer) -> str:
        body = printer._print(self.body)
        if self.body.is_Add:
            body = rf"\left({body}\right)"
        return rf"\sum_{{{printer._print(self.var)}}} {body}"

    def _sympystr(self, printer) -> str:
        return f"Σ_{printer._print(self.var)}({printer._print(self.body)})"


def zsum(body, *variables: Symbol) -> Expr:
    """Σ_{v1} Σ_{v2} ... body, the first variable outermost."""
    for var in reversed(variables):
        body = ZSum(body, var)
    return body


class Partial(Expr):
    """∂ expr / ∂ entry, unevaluated until the rule "differentiate" computes it."""

    is_commutative = True

    def __new__(cls, expr, entry):
        if not isinstance(entry, Indexed):
            raise TypeError(f"a derivative is taken with respect to a signal entry, got {entry}")
        return Expr.__new__(cls, sympy.sympify(expr), entry)

    @property
    def free_symbols(self) -> set:
        return self.args[0].free_symbols | self.args[1].free_symbols

    def _latex(self, printer) -> str:
        entry, body = printer._print(self.args[1]), printer._print(self.args[0])
        return r"\frac{\partial}{\partial " + entry + r"} \left(" + body + r"\right)"

    def _sympystr(self, printer) -> str:
        return f"∂({printer._print(self.args[0])})/∂{printer._print(self.args[1])}"


class Expectation(sympy.Function):
    """E[X]: the expectation of a random expression (unevaluated; the rules move it)."""

    nargs = 1
    is_commutative = True

    def _latex(self, printer) -> str:
        return r"\mathbb{E}\left[" + printer._print(self.args[0]) + r"\right]"

    def _sympystr(self, printer) -> str:
        return f"E[{printer._print(self.args[0])}]"


OF_THE_ENTRIES = (Partial, Expectation)
"""The operators whose argument is a function of the signal entries, not its value at one
point of them: a fact that holds at a point (a bracket, a delta, an equation of the entries)
says nothing inside them."""


# --------------------------------------------------------------------------------------------
# Iverson brackets
# --------------------------------------------------------------------------------------------


class Bracket(Function):
    """An Iverson bracket: 1 where its condition holds, else 0 (decided only on numbers)."""

    is_integer = True
    is_nonnegative = True
    is_commutative = True


class NonNeg(Bracket):
    """[e ≥ 0]."""

    nargs = 1

    @classmethod
    def eval(cls, e):
        if e.is_Integer:
            return S.One if e >= 0 else S.Zero

    def _latex(self, printer) -> str:
        left, right = _split_sides(self.args[0])
        return rf"\left[{printer._print(left)} \le {printer._print(right)}\right]"


class EqZero(Bracket):
    """[e = 0], the Kronecker delta of e."""

    nargs = 1

    @classmethod
    def eval(cls, e):
        if e.is_Integer:
            return S.One if e == 0 else S.Zero

    def _latex(self, printer) -> str:
        left, right = _split_sides(self.args[0])
        return rf"\left[{printer._print(left)} = {printer._print(right)}\right]"


class Divides(Bracket):
    """[s | e]: s divides e, e = k·s for an integer k (componentwise for multi-indices), so
    [0 | e] = [e = 0]."""

    nargs = 2

    @classmethod
    def eval(cls, s, e):
        if s == 0:
            return EqZero(e)
        if s.is_Integer and e.is_Integer:
            return S.One if e % s == 0 else S.Zero
        if s == 1 and e.is_integer:  # [1 | 1/2] = 0
            return S.One

    def _latex(self, printer) -> str:
        return rf"\left[{printer._print(self.args[0])} \mid {printer._print(self.args[1])}\right]"


def _split_sides(e: Expr) -> tuple[Expr, Expr]:
    """Write e ≥ 0 (or e = 0) as left ≤ right: negative terms left, constants right."""
    left = right = S.Zero
    for term in sympy.Add.make_args(_shallow(e)):
        if term.could_extract_minus_sign():
            left -= term
        else:
            right += term
    constant = left.as_coeff_Add()[0]
    if constant != 0 and not left.is_Number:
        left, right = left - constant, right - constant
    return left, right


def _shallow(e: Expr) -> Expr:
    """Expanded, but with function arguments (floors, mods) kept as written, for display;
    the normal form expands them fully when it compares."""
    return sympy.expand(e, deep=False)


def le(a, b) -> Expr:
    """[a ≤ b]."""
    return NonNeg(_shallow(b - a))


def lt(a, b) -> Expr:
    """[a < b] = [a + 1 ≤ b] on integers."""
    return NonNeg(_shallow(b - a - 1))


def eq(a, b) -> Expr:
    """[a = b]."""
    return EqZero(_shallow(a - b))


def box(index, low, high) -> Expr:
    """[low ≤ index ≤ high]: membership of a (multi-)index in a box."""
    return le(low, index) * le(index, high)


def in_range(index, size) -> Expr:
    """[0 ≤ index ≤ size - 1]."""
    return box(index, 0, size - 1)


# --------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------


class SignalName(Symbol):
    """The name of an input signal, with its own LaTeX form; inputs of one name are one
    signal (they are universally quantified, so sharing them is harmless).  SymPy caches
    symbols by name, so one name has one LaTeX form: another is refused, not printed for
    every claim that holds the name (which proof file loaded last would decide it)."""

    def __new__(cls, name: str, latex: str | None = None):
        obj = Symbol.__new__(cls, name)
        form = latex or name
        if getattr(obj, "_latex_form", form) != form:
            raise ValueError(f"the signal {name!r} is printed {obj._latex_form!r} already, "
                             f"not {form!r}: give a signal printed otherwise its own name")
        obj._latex_form = form
        return obj

    def _latex(self, printer) -> str:
        return self._latex_form


class DefinedName(Dummy):
    """The name of a defined signal: unique, so two definitions that share a name are never
    confused (it prints as name@id)."""

    def __new__(cls, name: str, latex: str | None = None):
        obj = Dummy.__new__(cls, name)
        obj._latex_form = latex or name
        return obj

    def _latex(self, printer) -> str:
        return self._latex_form

    def _sympystr(self, printer) -> str:
        return f"{self.name}@{self.dummy_index}"


class Formal(Dummy):
    """A formal index of a definition: of its own class, so that no Dummy made with the index
    it gets (Dummy("i0", dummy_index=...) before the body is read) is the same symbol."""


class Signal:
    """An array of entries ``s[i0, i1, ...]``: a free input, or defined by a formula.

    A defined signal carries ``definition(*indices) -> expression``; the rule
    ``unfold`` replaces its entries by the formula.
    """

    defined: dict[IndexedBase, Signal] = {}

    def __init__(
        self,
        name: str,
        latex: str | None = None,
        definition: Callable[..., Expr] | None = None,
        arity: int | None = None,
    ):
        if definition is not None and arity is None:
            raise ValueError(f"the defined signal {name} needs its arity (the number of "
                             "indices its definition takes)")
        if arity is not None and (isinstance(arity, bool) or not isinstance(arity, int)
                                  or arity < 0):
            raise ValueError(f"the arity of {name} is a number of indices, not {arity!r}")
        label = (DefinedName if definition is not None else SignalName)(name, latex)
        self.base = IndexedBase(label)
        self._definition = definition
        self._body: tuple[tuple[Symbol, ...], Expr] | None = None
        self.arity = arity
        if definition is not None:
            Signal.defined[self.base] = self

    @property
    def definition(self) -> Callable[..., Expr] | None:
        """The defining formula (None for an input), fixed when the signal is made."""
        return self._definition

    @property
    def body(self) -> tuple[tuple[Symbol, ...], Expr]:
        """(formal indices, the definition at them), read once: every unfolding sees one
        formula (a callable that answered 2·x[i] from its third call on would prove x0 = 2 x0)."""
        if self._definition is None:
            raise TypeError(f"{self.name} is an input signal: it has no definition")
        if self._body is None:
            formals = tuple(Formal(f"i{k}", integer=True) for k in range(self.arity or 0))
            try:
                body = sympy.sympify(self._definition(*formals), strict=True)
            except (TypeError, sympy.SympifyError) as error:  # its arity or its answer
                raise ProofError(f"the definition of {self.name} at {self.arity} indices: "
                                 f"{error}") from None
            if not isinstance(body, Expr):  # a relation belongs in a bracket
                raise ProofError(f"the definition of {self.name} gives {body!r}, not an "
                                 "expression")
            refuse_unmade_dummies(body)
            self._body = formals, body
        return self._body

    @property
    def name(self) -> str:
        return self.base.label.name

    @property
    def latex(self) -> str:
        """The LaTeX form the report prints for the signal."""
        return self.base.label._latex_form

    def __getitem__(self, index) -> Indexed:
        index = index if isinstance(index, tuple) else (index,)
        if self.arity is not None and len(index) != self.arity:
            raise ValueError(f"{self.name} takes {self.arity} indices, got {len(index)}")
        return self.base[tuple(sympy.sympify(i) for i in index)]

    __iter__ = None  # indexable, not a sequence: iterating read s[0], s[1], ... without end

    def __repr__(self) -> str:
        return f"Signal({self.name!r})"


def signals_of(expr: Expr) -> set[IndexedBase]:
    return {node.base for node in sympy.preorder_traversal(expr) if isinstance(node, Indexed)}


def defined_signals(expr: Expr) -> tuple[Signal, ...]:
    """The defined signals whose entries occur in ``expr``."""
    return tuple(Signal.defined[base] for base in signals_of(expr) if base in Signal.defined)


def definitions_reached(expr: Expr) -> list[Expr]:
    """The bodies of every defined signal that ``expr`` reaches, directly or through others."""
    bodies, seen, frontier = [], set(), [expr]
    while frontier:
        for signal in defined_signals(frontier.pop()):
            if signal.base not in seen:
                seen.add(signal.base)
                _, body = signal.body
                bodies.append(body)
                frontier.append(body)
    return bodies


def definition_closure(base: Expr) -> tuple[tuple[Symbol, ...], list[Expr]]:
    """(the formals of a defined signal, its body at them followed by every body it reaches)."""
    formals, body = Signal.defined[base].body
    return formals, [body, *definitions_reached(body)]


# --------------------------------------------------------------------------------------------
# Substitution that respects bound variables
# --------------------------------------------------------------------------------------------


def substitute(expr: Expr, mapping: dict) -> Expr:
    """Replace free symbols by expressions, renaming bound variables (of sums, and of the
    Lambda of a hypothesis for every value) that would capture."""
    mapping = {k: sympy.sympify(v) for k, v in mapping.items() if k != v}
    if not mapping:
        return expr
    return _substitute(sympy.sympify(expr), mapping)


def _substitute(expr: Expr, mapping: dict) -> Expr:
    if isinstance(expr, ZSum):
        var, body = expr.var, expr.body
        inner = {k: v for k, v in mapping.items() if k != var}
        if any(var in v.free_symbols for v in inner.values()):
            renamed = fresh(var)
            body, var = _substitute(body, {var: renamed}), renamed
        return ZSum(_substitute(body, inner), var) if inner else ZSum(body, var)
    if isinstance(expr, sympy.Lambda):  # a hypothesis for every value of its variables
        variables, body = expr.variables, expr.expr
        inner = {k: v for k, v in mapping.items() if k not in variables}
        clashing = {q: fresh(q) for q in variables
                    if any(q in v.free_symbols for v in inner.values())}
        if clashing:
            body = _substitute(body, clashing)
            variables = tuple(clashing.get(q, q) for q in variables)
        return sympy.Lambda(variables, _substitute(body, inner) if inner else body)
    if expr in mapping:
        return mapping[expr]
    if not expr.args or not (expr.free_symbols & set(mapping)):
        return expr
    return expr.func(*(_substitute(arg, mapping) for arg in expr.args))


def rename_bound(expr: Expr, names: Iterable[Symbol]) -> Expr:
    """Give bound variables of ``expr`` that clash with ``names`` fresh names."""
    clashing = set(names)

    def walk(node):
        if isinstance(node, ZSum):
            var, body = node.var, walk(node.body)
            if var in clashing:
                renamed = fresh(var)
                body, var = substitute(body, {var: renamed}), renamed
            return ZSum(body, var)
        if not node.args:
            return node
        return node.func(*(walk(arg) for arg in node.args))

    return walk(expr)


def summation_variables(expr: Expr) -> list[Symbol]:
    return [node.var for node in sympy.preorder_traversal(expr) if isinstance(node, ZSum)]


def product(factors: Iterable) -> Expr:
    result = S.One
    for factor in factors:
        result *= factor
    return result


__all__ = [
    "Partial",
    "Expectation",
    "OF_THE_ENTRIES",
    "Multi",
    "MultiSymbol",
    "MultiDummy",
    "multi",
    "scalar",
    "is_multi",
    "meets_assumptions",
    "multi_positions",
    "fresh",
    "ZSum",
    "zsum",
    "Bracket",
    "NonNeg",
    "EqZero",
    "Divides",
    "le",
    "lt",
    "eq",
    "box",
    "in_range",
    "SignalName",
    "DefinedName",
    "Signal",
    "signals_of",
    "defined_signals",
    "substitute",
    "rename_bound",
    "summation_variables",
    "product",
]
