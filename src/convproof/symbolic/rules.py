"""The rules of the proof engine: small named rewrites, each valid in the ring Z^D.

A rule maps an expression to a new one and says how often it applied; a proof step names a
rule, and the engine checks that the rule's result equals the step's expression in normal form
(:mod:`.normal`).  A rule that applies nowhere makes its step fail: a step cannot borrow a
rule's name for a change the rule did not make.

Rules that only restate what the normal form already knows (linearity, swapping finite sums,
renaming a bound variable) are the identity here; the normal form checks them, the finite
support of swapped sums included.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from dataclasses import dataclass
from collections.abc import Callable

import sympy
from sympy.polys.polyerrors import BasePolynomialError
from sympy import Expr, Indexed, S, Symbol

from .language import (
    Bracket,
    DefinedName,
    Divides,
    EqZero,
    NonNeg,
    OF_THE_ENTRIES,
    Partial,
    Signal,
    SignalName,
    ZSum,
    defined_signals,
    definition_closure,
    fresh,
    is_multi,
    substitute,
)
from .normal import (
    check_exact,
    integer_valued,
    ProofError,
    Term,
    linear_coefficient,
    expand_terms,
    provably_nonneg,
    provably_nonzero,
    provably_positive,
)

RuleResult = tuple[Expr, int]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    apply: Callable[..., RuleResult]

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.apply)


RULES: dict[str, Rule] = {}


def rule(name: str, description: str):
    """Register a rule under the name proofs refer to it by."""

    def register(function: Callable[..., RuleResult]) -> Callable[..., RuleResult]:
        RULES[name] = Rule(name, description, function)
        return function

    return register


def apply_rule(name: str, expr: Expr, **params) -> RuleResult:
    if name not in RULES:
        raise ProofError(f"unknown rule {name!r}; known: {', '.join(sorted(RULES))}")
    try:
        RULES[name].signature.bind(expr, **params)
    except TypeError as error:  # a parameter missing, misspelt or not the rule's
        raise ProofError(f"rule {name!r}: {error}") from None
    return RULES[name].apply(expr, **params)


# --------------------------------------------------------------------------------------------
# Helpers: rewrite term by term
# --------------------------------------------------------------------------------------------


def terms_to_expr(terms: list[Term]) -> Expr:
    return sympy.Add(*(t.to_expr() for t in terms))


def map_terms(expr: Expr, rewrite: Callable[[Term], Term | None]) -> RuleResult:
    """Apply ``rewrite`` to every term (None = unchanged); count the terms it changed."""
    terms, count = [], 0
    for term in expand_terms(expr):
        new = rewrite(term)
        if new is None:
            terms.append(term)
        else:
            terms.append(new)
            count += 1
    return terms_to_expr(terms), count


def by_its_brackets(rewrite: Callable[[Term], Term | None]) -> Callable[[Term], Term | None]:
    """``rewrite`` of a term by facts its brackets give, which hold at a point of its free
    symbols.  Inside the term, a nested sum (Σ_j in a bracket, an index or the coefficient)
    binds its variable under a fresh name, put back after where that captures nothing, and a
    derivative ∂f/∂x[e] or an expectation E[f] is an opaque symbol, put back after: facts
    about a free j say nothing of a bound j ([0 ≤ j ≤ 3]·[Σ_j floor(j/2) ≥ 3] must not take
    the inner floor(j/2) for floor(3/2)), nor about f near the point or at other outcomes
    ([x0 ≠ 0] is 1 at a point, not near it; [0 ≤ z0 ≤ 1] at one outcome, not under E)."""
    def apart(node: Expr, back: dict, held: dict) -> Expr:
        if isinstance(node, OF_THE_ENTRIES):
            symbol = sympy.Dummy("opaque")
            held[symbol] = node
            return symbol
        if isinstance(node, ZSum):
            var = fresh(node.var)
            back[var] = node.var
            return ZSum(apart(substitute(node.body, {node.var: var}), back, held), var)
        return node.func(*(apart(a, back, held) for a in node.args)) if node.args else node

    def together(node: Expr, back: dict) -> Expr:
        if isinstance(node, ZSum):
            body = together(node.body, back)
            name = back.get(node.var)
            if name is None or name in body.free_symbols:
                return ZSum(body, node.var)
            return ZSum(substitute(body, {node.var: name}), name)
        return node.func(*(together(a, back) for a in node.args)) if node.args else node

    def rewritten(term: Term) -> Term | None:
        back: dict = {}
        held: dict = {}
        new = rewrite(Term(apart(term.coeff, back, held),
                           tuple(apart(a, back, held) for a in term.atoms), term.bound))
        if new is None:
            return None
        # the opaque nodes go back first: a bound name put back must not capture their
        # variables, nor leave the fresh name free inside them
        return Term(together(new.coeff.xreplace(held), back),
                    tuple(together(a.xreplace(held), back) for a in new.atoms), new.bound)

    return rewritten


def refuse_inside_operators(expr: Expr, mapping: dict, source: str) -> None:
    """Refuse to put a value holding signal entries for a symbol inside a derivative or an
    expectation (:data:`~.language.OF_THE_ENTRIES`): an equation v = e of a delta or a
    hypothesis holds at a point, and inside ∂f/∂x[e] or E[f] f is a function of the entries
    ([k = x[0]]·∂(k x[0])/∂x[0] is [k = x[0]]·k, not 2 x[0]; [t = b0]·E[t] is not
    [t = b0]·E[b0])."""
    entries = {symbol: value for symbol, value in mapping.items() if value.atoms(Indexed)}
    if not entries:  # the common case, an unfolding at indices: nothing to look for
        return
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, OF_THE_ENTRIES):
            continue
        held = [value for symbol, value in entries.items()
                if symbol in node.args[0].free_symbols]
        if held:
            raise ProofError(f"{source} would put {held[0]} inside {node}, where it is no "
                             "constant: its argument is a function of the entries")


def bound_named(term: Term, var: Symbol) -> Symbol | None:
    matches = [v for v in term.bound if v.name == var.name]
    if len(matches) > 1:
        raise ProofError(f"two sums over {var.name} in one term: rename one of them")
    if matches and is_multi(matches[0]) != is_multi(var):
        raise ProofError(f"{var} names the sum over {matches[0]}, an index of the other kind "
                         "(multi-index against channel index)")
    return matches[0] if matches else None


def _replace_in_term(
    term: Term, mapping: dict, drop_atom: Expr | None = None, drop_var: Symbol | None = None
) -> Term:
    atoms = tuple(substitute(a, mapping) for a in term.atoms if a is not drop_atom)
    bound = tuple(v for v in term.bound if v != drop_var)
    return Term(substitute(term.coeff, mapping), atoms, bound)


# --------------------------------------------------------------------------------------------
# Definitions and restatements
# --------------------------------------------------------------------------------------------


@rule("definition", "replace the entries of a defined signal by its defining formula")
def unfold(expr: Expr, signals: tuple[Signal, ...] | None = None) -> RuleResult:
    """Unfold the given signals one level (definitions nested inside stay folded; name them
    too), or with ``signals=None`` every definition, repeatedly, down to input signals."""
    if signals is None:
        unfolded = unfold_all(expr)
        return unfolded, int(unfolded != expr)
    by_base = {s.base: s for s in signals}
    for s in signals:
        if s.definition is None:
            raise ProofError(f"{s.name} is an input signal: it has no definition to unfold")

    def replace(node: Expr) -> Expr | None:
        if not (isinstance(node, Indexed) and node.base in by_base):
            return None
        return definition_at(node)

    return _replace_nodes(expr, replace)


def definition_at(entry: Indexed) -> Expr:
    """The definition of a defined signal's entry at its indices, substituted without
    capture (an index j + K into a definition that sums over its own j)."""
    formals, body = Signal.defined[entry.base].body
    if len(formals) != len(entry.indices):
        raise ProofError(f"{entry} has {len(entry.indices)} indices; {entry.base} is defined "
                         f"with {len(formals)}")
    check_exact(body)
    for index in entry.indices:  # the body was read at integers: floor(i0) is i0 there
        if sympy.sympify(index).is_integer is not True:
            raise ProofError(f"{entry} is read at {index}, not provably an integer; "
                             f"{entry.base} is defined at integer indices")
    at = dict(zip(formals, entry.indices))
    # y[a] := ∂(a·x0)/∂x0 is a for every a, but at a = x0 the x0 would become the variable
    refuse_inside_operators(body, at, f"unfolding {entry}")
    return substitute(body, at)


def open_sum(node: ZSum) -> tuple[Symbol, Expr]:
    """The variable and body of a sum, to be rewritten and put back as ZSum(body, var): the
    variable renamed first where a definition in the body holds it free (t in τ_t x under a
    sum over t), so that unfolding the body leaves the definition's symbol free."""
    if node.var not in _held_by_definitions(node.body):
        return node.var, node.body
    var = fresh(node.var)
    return var, substitute(node.body, {node.var: var})


def _replace_nodes(expr: Expr, replace: Callable[[Expr], Expr | None]) -> RuleResult:
    """Replace, top down, every node for which ``replace`` gives a new expression (the
    replacement is not searched again); sums keep their bound variables (:func:`open_sum`).
    Counts the nodes."""
    count = 0

    def walk(node: Expr) -> Expr:
        nonlocal count
        new = replace(node)
        if new is not None:
            count += 1
            return new
        if isinstance(node, ZSum):
            var, body = open_sum(node)
            return ZSum(walk(body), var)
        if not node.args:
            return node
        return node.func(*(walk(a) for a in node.args))

    return walk(expr), count


def _held_by_definitions(expr: Expr) -> set:
    """The free symbols of the definitions of the defined signals whose entries occur in
    ``expr``, and of the definitions those reach (their own index arguments aside)."""
    return set().union(*(_definition_symbols(entry.base) for entry in expr.atoms(Indexed)
                         if entry.base in Signal.defined))


@functools.lru_cache(maxsize=4096)
def _definition_symbols(base: Expr) -> frozenset:
    """The free symbols of f's body and of every body it reaches, f's formals aside (w[i] = t
    under y[i] = w[i]·x[i]: y holds t)."""
    formals, bodies = definition_closure(base)
    return frozenset().union(*(b.free_symbols for b in bodies)) - set(formals)


def unfold_all(expr: Expr) -> Expr:
    """Unfold defined signals until only input signals remain."""
    while signals := defined_signals(expr):
        expr, _ = unfold(expr, signals)
    return expr


def _restatement(expr: Expr) -> RuleResult:
    return expr, 1


for _name, _text in (
    ("linearity", "expand products; sums distribute over sums and constants move out of them"),
    ("swap sums", "exchange finite sums (Fubini; the normal form checks finite support)"),
    ("rename", "rename a bound variable (alpha-equivalence)"),
    ("algebra", "exact polynomial arithmetic on the coefficients"),
):
    rule(_name, _text)(_restatement)


# --------------------------------------------------------------------------------------------
# Derivatives
# --------------------------------------------------------------------------------------------


SMOOTH = (sympy.Pow, sympy.exp, sympy.log, sympy.tanh, sympy.sinh, sympy.cosh, sympy.sin,
          sympy.cos)
"""The functions the chain rule goes through: differentiable wherever they are defined."""


def index_kind(index: Expr) -> int:
    """1 for a multi-index expression, -1 for a channel index, 0 for a constant."""
    symbols = sympy.sympify(index).free_symbols
    return 0 if not symbols else (1 if any(is_multi(s) for s in symbols) else -1)


def other_entries(a: tuple, b: tuple) -> bool:
    """Index tuples that differentiation refuses to compare: another number of indices (never
    one entry), or a multi-index and a channel index at one position (one entry only where
    the multi-index is that channel index on every axis, which is left unstated)."""
    return len(a) != len(b) or any(index_kind(f) * index_kind(e) < 0 for f, e in zip(a, b))


def derivative(expr: Expr, entry: Indexed, cases: bool = False) -> Expr:
    """∂expr/∂entry, exactly: ∂x[f]/∂x[e] = Π_k [f_k = e_k]; sums, products and functions by
    linearity, the product rule and the chain rule.  Functions with cases (Max, Abs...) are
    refused, or with ``cases`` differentiated by case, undefined (nan) where cases meet: that
    serves values at points, never a proof."""
    base = entry.base
    if not any(isinstance(n, Indexed) and n.base == base for n in sympy.preorder_traversal(expr)):
        return S.Zero
    if isinstance(expr, Indexed):
        if (expr.base != base or len(expr.indices) != len(entry.indices)
                or any(n.base == base for index in expr.indices for n in index.atoms(Indexed))):
            raise ProofError(f"{expr} depends on {entry} through its index (or has another "
                             "number of indices): not differentiable")
        if other_entries(expr.indices, entry.indices):
            raise ProofError(f"{expr} and {entry} index one position by a multi-index and a "
                             "channel index: not the same kind of entry")
        return sympy.Mul(
            *(EqZero(sympy.expand(f - e)) for f, e in zip(expr.indices, entry.indices))
        )
    if isinstance(expr, ZSum):
        var, body = expr.var, expr.body
        if var in entry.free_symbols:
            renamed = fresh(var)
            body, var = substitute(body, {var: renamed}), renamed
        return ZSum(derivative(body, entry, cases), var)
    if isinstance(expr, Bracket):
        raise ProofError(
            f"cannot differentiate the bracket {expr}: it is not differentiable in "
            f"{entry} (state the subgradient explicitly)"
        )
    if expr.is_Add:
        return sympy.Add(*(derivative(a, entry, cases) for a in expr.args))
    if expr.is_Mul:
        factors = expr.args
        return sympy.Add(
            *(
                sympy.Mul(*factors[:k], derivative(f, entry, cases), *factors[k + 1 :])
                for k, f in enumerate(factors)
            )
        )
    # chain rule through a smooth function of its arguments (powers included); Max, Abs,
    # floor, sign... have no derivative where their cases meet, and are refused
    if not (isinstance(expr, SMOOTH) or cases):
        raise ProofError(f"{expr.func.__name__} is not differentiable everywhere: state the "
                         "cases (or the subgradient) explicitly")
    holes = [sympy.Dummy(f"u{k}") for k in range(len(expr.args))]
    shape = expr.func(*holes)
    outer = [sympy.diff(shape, hole) for hole in holes]
    if cases:  # undefined where the cases meet, not SymPy's Heaviside(0) = 1/2
        outer = [d.replace(sympy.Heaviside, lambda u, *_: sympy.Heaviside(u, sympy.nan))
                 for d in outer]
    return sympy.Add(
        *(
            d.subs(dict(zip(holes, expr.args))) * derivative(arg, entry, cases)
            for d, arg in zip(outer, expr.args)
        )
    )


@rule("differentiate", "∂x[f]/∂x[e] = [f = e] (componentwise); linearity, product and chain rules")
def differentiate(expr: Expr) -> RuleResult:
    return _differentiated(expr, cases=False)


def differentiated_by_cases(expr: Expr) -> Expr:
    """Every ∂ of ``expr`` taken, functions with cases differentiated case by case (nan where
    the cases meet): for values at points, not for proofs."""
    return _differentiated(expr, cases=True)[0]


def _differentiated(expr: Expr, cases: bool) -> RuleResult:

    def replace(node: Expr) -> Expr | None:
        if not isinstance(node, Partial):
            return None
        inner, _ = _replace_nodes(node.args[0], replace)
        entry = node.args[1]
        if isinstance(entry, Indexed) and entry.base in Signal.defined:
            raise ProofError(f"{entry} is an entry of a defined signal, not a variable: "
                             "differentiate by input entries (or keep it with the chain rule)")
        # every definition is unfolded first: an entry of a defined signal is not a constant
        return derivative(unfold_all(inner), entry, cases)

    return _replace_nodes(expr, replace)


# --------------------------------------------------------------------------------------------
# Summation indices
# --------------------------------------------------------------------------------------------


@rule("change of index", "substitute v = ±v' + t: a bijection of Z^D, so the sum is unchanged")
def reindex(expr: Expr, var: Symbol, to: Expr, new: Symbol | None = None) -> RuleResult:
    to = sympy.sympify(to)
    new = new if new is not None else var
    slope = linear_coefficient(to, new)
    if slope not in (1, -1):
        raise ProofError(
            f"{var} = {to} is not a bijection of the integers (coefficient of "
            f"{new} must be ±1, got {slope})"
        )
    if not integer_valued(sympy.expand(to - slope * new)):
        raise ProofError(f"{var} = {to} is not a bijection of the integers: the shift "
                         f"{sympy.expand(to - slope * new)} is not provably an integer")

    def rewrite(term: Term) -> Term | None:
        old = bound_named(term, var)
        if old is None:
            return None
        if is_multi(new) != is_multi(old) or mixes_kinds(old, to):
            raise ProofError(f"{var} = {to} maps a sum over one kind of index to another "
                             "(multi-index against channel index)")
        target = fresh(new)
        # other summation variables of the term may appear in `to`, named as in the proof
        others = {
            s: b
            for s in to.free_symbols - {new}
            for b in term.bound
            if b != old and b.name == s.name
        }
        image = substitute(to, {new: target, **others})
        mapping = {old: image}
        for part in (term.coeff, *term.atoms):
            refuse_inside_operators(part, mapping, f"the change of index {var} = {to}")
        renamed = _replace_in_term(term, mapping, drop_var=old)
        return Term(renamed.coeff, renamed.atoms, renamed.bound + (target,))

    return map_terms(expr, rewrite)


@rule(
    "Kronecker delta",
    "Σ_v [v = e] f(v) = f(e): the bracket pins v to one value; with a "
    "factor a ≥ 1, Σ_v [a·v = e] f(v) = [a | e] f(e/a)",
)
def delta(expr: Expr, var: Symbol, value: Expr | None = None) -> RuleResult:
    """Eliminate the sum over ``var``; where several brackets pin it, ``value`` says which."""

    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var)
        if v is None:
            return None
        options, fractional = [], []
        for atom in term.atoms:
            if isinstance(atom, EqZero):
                e = atom.args[0]
                slope = linear_coefficient(e, v)
                if slope is not None and slope not in (1, -1) and provably_positive(-slope):
                    e, slope = sympy.expand(-e), sympy.expand(-slope)  # [e = 0] = [-e = 0]
                if slope is None or not (slope in (1, -1) or provably_positive(slope)):
                    continue
                rest = sympy.expand(e - slope * v)
                if v in rest.free_symbols:
                    continue
                if mixes_kinds(v, e):
                    raise ProofError(f"{atom} equates the channel index {v} with a multi-index: "
                                     "it pins no value")
                if not (integer_valued(rest) and integer_valued(slope)):
                    fractional.append(atom)  # Σ_v [v = 1/2] f(v) = 0, not f(1/2)
                    continue
                options.append((sympy.expand(-rest / slope), slope, rest, atom))
        if value is not None:  # the value may name other summation variables of the term
            named = {
                s: b
                for s in sympy.sympify(value).free_symbols
                for b in term.bound
                if b != v and b.name == s.name
            }
            target = substitute(sympy.sympify(value), named)
            options = [option for option in options if sympy.expand(option[0] - target) == 0]
        if len({option[0] for option in options}) > 1:
            raise ProofError(
                f"several brackets pin {var} "
                f"({', '.join(str(option[0]) for option in options)}); say which with value="
            )
        if not options and fractional:
            raise ProofError(f"{fractional[0]} does not pin {var} to a value that is provably "
                             "an integer: the sum may have no term")
        if not options:
            return None
        solution, slope, rest, atom = options[0]
        for part in (term.coeff, *term.atoms):
            refuse_inside_operators(part, {v: solution}, f"the delta {atom}")
        replaced = _replace_in_term(term, {v: solution}, drop_atom=atom, drop_var=v)
        if slope in (1, -1):
            return replaced
        return Term(
            replaced.coeff, replaced.atoms + (Divides(slope, sympy.expand(-rest)),), replaced.bound
        )

    return map_terms(expr, rewrite)


@rule(
    "use the delta",
    "[v = e]·f(v) = [v = e]·f(e): inside a product with the delta, v may be replaced by e "
    "(not inside a derivative where e holds signal entries)",
)
def use_delta(expr: Expr, var: Symbol) -> RuleResult:
    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var) or (var if term.free_in(var) else None)
        if v is None:
            return None
        for atom in term.atoms:
            if isinstance(atom, EqZero):
                slope = linear_coefficient(atom.args[0], v)
                if slope in (1, -1):
                    value = sympy.expand(v - atom.args[0] / slope)
                    if v in value.free_symbols:
                        continue
                    if mixes_kinds(v, value):
                        raise ProofError(f"[{v} = {value}] mixes a multi-index with a channel "
                                         "index")
                    others = [a for a in term.atoms if a is not atom]
                    if (
                        not any(v in a.free_symbols for a in others)
                        and v not in term.coeff.free_symbols
                    ):
                        return None
                    for part in (term.coeff, *others):
                        refuse_inside_operators(part, {v: value}, f"the delta [{v} = {value}]")
                    return Term(
                        substitute(term.coeff, {v: value}),
                        (atom,) + tuple(substitute(a, {v: value}) for a in others),
                        term.bound,
                    )
        return None

    return map_terms(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Iverson-bracket algebra
# --------------------------------------------------------------------------------------------


def polynomial_quotient(e: Expr, factor: Expr) -> Expr | None:
    """e / factor if it is a polynomial (exact division), else None (also where e or factor
    is no polynomial in its symbols: a bracket or a floor inside)."""
    try:
        q, r = sympy.div(
            sympy.expand(e),
            sympy.expand(factor),
            *sorted((sympy.expand(e) * factor).free_symbols, key=str),
        )
    except (BasePolynomialError, ZeroDivisionError):  # a bracket or a floor inside, a
        return None                                    # non-integer constant, or factor 0
    return sympy.expand(q) if r == 0 else None


@rule("cancel a positive factor", "[f·a ≥ 0] = [a ≥ 0] and [f·a = 0] = [a = 0] when f ≥ 1")
def cancel(expr: Expr, factor: Expr) -> RuleResult:
    if not provably_positive(factor):
        raise ProofError(f"cannot cancel {factor}: it is not provably at least 1")

    def rewrite(term: Term) -> Term | None:
        atoms, changed = [], False
        for atom in term.atoms:
            if isinstance(atom, (NonNeg, EqZero)):
                q = polynomial_quotient(atom.args[0], factor)
                if q is not None and q != atom.args[0]:
                    atom, changed = atom.func(q), True
            atoms.append(atom)
        return Term(term.coeff, tuple(atoms), term.bound) if changed else None

    return map_terms(expr, rewrite)


def _decided(atom: Expr) -> Expr | None:
    """The value of a bracket whose truth follows from a positivity certificate."""
    if isinstance(atom, NonNeg):
        e = atom.args[0]
        if provably_nonneg(e):
            return S.One
        if provably_nonneg(-e - 1):
            return S.Zero
    elif isinstance(atom, EqZero):
        e = sympy.expand(atom.args[0])
        if provably_nonzero(e):
            return S.Zero
        constant, rest = e.as_coeff_Add()
        monomials = [term.as_coeff_Mul() for term in sympy.Add.make_args(rest)]
        coefficients = [c for c, _ in monomials]
        integers = all(c.is_Integer and integer_valued(t) for c, t in monomials)
        if rest != 0 and integers and constant.is_Integer:
            if constant % functools.reduce(sympy.igcd, coefficients) != 0:  # parity and the like
                return S.Zero
    elif isinstance(atom, Divides):
        s, e = atom.args
        # over the rationals: i/2 is a quotient, not an integer
        quotient = polynomial_quotient(e, s)
        if quotient is not None and integer_valued(quotient):
            return S.One
    return None


# f·a = ρ with 1 ≤ ρ ≤ f - 1 puts the multiple f·a strictly between 0 and f, so 0 < a < 1:
# no integer a solves it (componentwise for multi-indices, so the product of the axes is 0 too).
@rule("between multiples",
      "[f·a - ρ = 0] = 0 for an integer a when 1 ≤ ρ ≤ f - 1: no multiple of f lies strictly "
      "between 0 and f")
def between_multiples(expr: Expr, factor: Expr, remainder: Expr) -> RuleResult:
    factor, remainder = sympy.sympify(factor), sympy.sympify(remainder)
    if not (integer_valued(factor) and integer_valued(remainder)):
        raise ProofError(f"the factor {factor} and the remainder {remainder} must be integers")
    if not provably_positive(remainder):
        raise ProofError(f"the remainder {remainder} is not provably at least 1")
    if not provably_nonneg(factor - remainder - 1):
        raise ProofError(f"the remainder {remainder} is not provably below the factor {factor}")

    def value_of(atom: Expr) -> Expr | None:
        if isinstance(atom, EqZero):
            for e in (atom.args[0], -atom.args[0]):
                quotient = polynomial_quotient(e + remainder, factor)
                if quotient is not None and integer_valued(quotient):
                    return S.Zero
        return None

    return settle_brackets(expr, value_of)


@rule("antisymmetry", "[e ≥ 0]·[-e ≥ 0] = [e = 0] (componentwise ≤ is antisymmetric)")
def antisymmetry(expr: Expr) -> RuleResult:
    def rewrite(term: Term) -> Term | None:
        """Every pair of opposite brackets of the term, each made one equation."""
        facts = {sympy.expand(a.args[0]): a for a in term.atoms if isinstance(a, NonNeg)}
        paired, equations = set(), []
        for e, atom in facts.items():
            opposite = facts.get(sympy.expand(-e))
            if opposite is not None and atom not in paired:
                paired |= {atom, opposite}
                equations.append(EqZero(e))
        if not equations:
            return None
        atoms = tuple(a for a in term.atoms if a not in paired)
        return Term(term.coeff, atoms + tuple(equations), term.bound)

    return map_terms(expr, rewrite)


@rule("decide brackets", "a bracket whose condition is provably true is 1, provably false 0")
def decide(expr: Expr) -> RuleResult:
    return settle_brackets(expr, lambda atom: _decided(atom) if isinstance(atom, Bracket) else None)


def settle_brackets(expr: Expr, value_of: Callable[[Expr], Expr | None]) -> RuleResult:
    """Replace each atom that ``value_of`` settles (a bracket known to be 0 or 1) by its value."""
    def rewrite(term: Term) -> Term | None:
        atoms, coeff, changed = [], term.coeff, False
        for atom in term.atoms:
            value = value_of(atom)
            if value is None:
                atoms.append(atom)
            else:
                coeff, changed = coeff * value, True
        return Term(coeff, tuple(atoms), term.bound) if changed else None

    return map_terms(expr, rewrite)


@functools.lru_cache(maxsize=65536)
def _multipliers(e: Expr, fact: Expr) -> tuple[Expr, ...]:
    """Candidate nonnegative λ for which λ·fact matches e on some variable's coefficient."""
    candidates = {S.One}
    for var in fact.free_symbols & e.free_symbols:
        a, f = linear_coefficient(e, var), linear_coefficient(fact, var)
        if a is not None and f is not None:
            ratio = sympy.cancel(a / f)
            if sympy.fraction(ratio)[1] == 1 and provably_nonneg(ratio):
                candidates.add(ratio)
    return tuple(sorted(candidates, key=str))


@functools.lru_cache(maxsize=65536)
def _unsigned(e: Expr) -> tuple[tuple[Expr, Expr], ...]:
    """The monomials of e (expanded) that are products of symbols, one of them of unknown sign,
    with their coefficients: a positivity certificate of e - Σ λ·f fails unless they cancel."""
    return tuple((monomial, coeff)
                 for monomial, coeff in sympy.expand(e).as_coefficients_dict().items()
                 if all(isinstance(f, Symbol) or (f.is_Pow and isinstance(f.base, Symbol))
                        for f in sympy.Mul.make_args(monomial))
                 and any(s.is_nonnegative is not True for s in monomial.free_symbols))


def _cancels(e: Expr, combo: tuple[Expr, ...], lambdas: tuple[Expr, ...]) -> bool:
    """False when numeric multipliers leave a monomial of unknown sign in e - Σ λ·f (no
    certificate can exist then); True otherwise, for the full check to decide."""
    if not all(l.is_Number for l in lambdas):
        return True
    rest = dict(_unsigned(e))
    for l, f in zip(lambdas, combo):
        for monomial, coeff in _unsigned(f):
            rest[monomial] = rest.get(monomial, 0) - l * coeff
    return all(value == 0 for value in rest.values())


def follows(e: Expr, facts: list[Expr]) -> bool:
    """e ≥ 0 follows from facts f ≥ 0: e - Σ λ_f f ≥ 0 by a positivity certificate, for
    multipliers λ ≥ 0 (Fourier–Motzkin style; up to three facts)."""
    for size in (1, 2, 3):
        for combo in itertools.combinations(facts, size):
            options = [_multipliers(e, f) for f in combo]
            for lambdas in itertools.product(*options):
                if _cancels(e, combo, lambdas) and \
                        provably_nonneg(e - sum(l * f for l, f in zip(lambdas, combo))):
                    return True
    return False


def _connected(e: Expr, facts: list[Expr]) -> list[Expr]:
    """The facts linked to e through shared symbols, directly or through other facts."""
    symbols, chosen, changed = set(e.free_symbols), [], True
    while changed:
        changed = False
        for f in facts:
            if f not in chosen and f.free_symbols & symbols:
                chosen.append(f)
                symbols |= f.free_symbols
                changed = True
    return chosen


@rule(
    "implied bracket",
    "[e ≥ 0] is dropped when e = Σ λ·f + c for brackets [f ≥ 0] of the same "
    "product, multipliers λ ≥ 0 and c ≥ 0, each provably",
)
def implied(expr: Expr) -> RuleResult:
    def rewrite(term: Term) -> Term | None:
        kept = list(term.atoms)
        for atom in term.atoms:
            if not isinstance(atom, NonNeg):
                continue
            others = [a.args[0] for a in kept if isinstance(a, NonNeg) and a is not atom]
            if follows(atom.args[0], _connected(atom.args[0], others)):  # by brackets that stay
                kept.remove(atom)
        if len(kept) == len(term.atoms):
            return None
        return Term(term.coeff, tuple(kept), term.bound)

    return map_terms(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Integer division
# --------------------------------------------------------------------------------------------


@rule(
    "division with remainder",
    "Y mod s = Y - s·floor(Y/s) for s ≥ 1 (floor then splits off "
    "integer terms: floor(Y/s + t) = floor(Y/s) + t)",
)
def division(expr: Expr) -> RuleResult:
    count = 0

    def rewrite(node: Expr) -> Expr:
        nonlocal count
        if isinstance(node, sympy.Mod) and provably_positive(node.args[1]):
            count += 1
            y, s = node.args
            return y - s * sympy.floor(sympy.expand(y / s))
        return node

    return rewrite_everywhere(expr, rewrite), count


def rewrite_everywhere(expr: Expr, rewrite: Callable[[Expr], Expr]) -> Expr:
    """Rewrite bottom-up, keeping bound variables bound (:func:`open_sum`)."""
    if isinstance(expr, ZSum):
        var, body = open_sum(expr)
        return ZSum(rewrite_everywhere(body, rewrite), var)
    if expr.args:
        expr = expr.func(*(rewrite_everywhere(a, rewrite) for a in expr.args))
    return rewrite(expr)


# --------------------------------------------------------------------------------------------
# Hypotheses and known results
# --------------------------------------------------------------------------------------------


@rule(
    "hypothesis", "substitute a symbol by the expression a hypothesis of the theorem equates it "
    "to (not inside a derivative where that expression holds signal entries)"
)
def hypothesis(expr: Expr, equation: sympy.Eq) -> RuleResult:
    symbol, value = equation.lhs, equation.rhs
    if not isinstance(symbol, Symbol):
        raise ProofError(
            f"a hypothesis used for substitution must read symbol = value, got {equation}"
        )
    if isinstance(symbol, (SignalName, DefinedName)):  # y = x put x into ∂/∂y[0] too
        raise ProofError(f"{symbol} is a signal's name: a hypothesis about its entries reads "
                         "every((a,), y[a], ...) and goes in with 'entry hypothesis'")
    if mixes_kinds(symbol, value):
        raise ProofError(f"the hypothesis {equation} mixes a multi-index with a channel index")
    if symbol not in expr.free_symbols:
        return expr, 0
    refuse_inside_operators(expr, {symbol: value}, f"the hypothesis {equation}")
    return substitute(expr, {symbol: value}), 1


def mixes_kinds(symbol: Symbol, value: Expr) -> bool:
    """symbol = value would equate a multi-index with a channel (scalar) index."""
    value = sympy.sympify(value)
    return bool(value.free_symbols) and \
        is_multi(symbol) != any(is_multi(s) for s in value.free_symbols)


def check_instance(symbol: Symbol, value: Expr) -> None:
    """An instance of a lemma must respect the assumptions of the symbol it replaces."""
    if symbol.is_positive and not provably_positive(value):
        raise ProofError(f"{symbol} = {value}: {symbol} is positive, {value} is not provably so")
    if symbol.is_nonnegative and not provably_nonneg(value):
        raise ProofError(f"{symbol} = {value}: {symbol} is nonnegative, {value} is not provably so")
    if symbol.is_integer and not integer_valued(value):
        raise ProofError(f"{symbol} = {value}: {symbol} is an integer, {value} is not provably one")
    value = sympy.sympify(value)
    for name in SYMPY_FACTS:
        if getattr(symbol, f"is_{name}") is True and getattr(value, f"is_{name}") is not True:
            raise ProofError(f"{symbol} = {value}: {symbol} is {name}, {value} is not provably so")
    # a fact the symbol denies (prime=False, integer=False) that the facts checked above do
    # not already deny: the value must provably lack it (x[p] = 0 for non-prime p, at p = 2)
    checked = {name: True for name in ("positive", "nonnegative", "integer", *SYMPY_FACTS)
               if getattr(symbol, f"is_{name}") is True}
    implied = sympy.Symbol("implied", **checked).assumptions0
    for name, holds in symbol.assumptions0.items():
        if holds is False and implied.get(name) is not False \
                and getattr(value, f"is_{name}") is not False:
            raise ProofError(f"{symbol} = {value}: {symbol} is not {name}, {value} is not "
                             "provably not")
    if mixes_kinds(symbol, value):
        raise ProofError(f"{symbol} = {value} mixes a multi-index with a channel index")


SYMPY_FACTS = ("real", "even", "odd", "negative", "nonpositive", "zero", "prime", "composite",
               "nonzero")
"""The facts an instance's value must have, by SymPy's assumptions, where its symbol has them
(positive, nonnegative and integer go by the engine's own certificates)."""
