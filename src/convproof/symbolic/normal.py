"""The normal form that decides every proof step.

An expression is expanded into a sum of *terms*

    coefficient · atom_1 · ... · atom_r   summed over bound variables B,

where atoms are signal entries x[...], Iverson brackets and opaque function applications, and
the coefficient is a polynomial (or rational function) in symbols.  Two expressions are equal
when their normal forms have the same terms with exactly equal coefficients.  The normal form
performs only these steps, each valid in the ring Z^D of multi-indices:

- expansion and linearity: Σ(a + b) = Σa + Σb, constants move out of sums;
- integer-linear index expressions are expanded (s(i + 1) and si + s are the same index);
- a bracket is 0/1, so [P]·[P] = [P];
- Fubini for finite sums: the order of the sums of a term is irrelevant *provided* its
  summand has finite support, which is checked: the bound variables must admit an order in
  which each one is pinned by a delta [a v = e] (a ≠ 0) or boxed by [v ≥ l][v ≤ h] in terms
  of free symbols and the variables before it; otherwise the normal form refuses the term;
- bound variables are renamed canonically (alpha-equivalence).
Nothing else: no simplify(), no assumption-based guessing, no floating point.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import sympy
from sympy import Expr, Indexed, S, Symbol
from sympy.core.assumptions import _assume_defined

from .language import (
    Bracket,
    Divides,
    EqZero,
    MultiDummy,
    NonNeg,
    ZSum,
    defined_signals,
    definition_closure,
    fresh,
    is_multi,
    ProofError,
    product,
    refuse_unmade_dummies,
    signals_of,
    substitute,
)


class NoPoints(ProofError):
    """A check given no point to check at: it decides nothing, so it is no pass (for a
    theorem) and kills no mutant."""


# --------------------------------------------------------------------------------------------
# Terms
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """coeff · Π atoms, summed over ``bound`` (bound variables are fresh Dummies)."""

    coeff: Expr
    atoms: tuple[Expr, ...]
    bound: tuple[Symbol, ...]

    def free_in(self, var: Symbol) -> bool:
        return var in self.coeff.free_symbols or any(var in a.free_symbols for a in self.atoms)

    def to_expr(self) -> Expr:
        body = self.coeff * product(self.atoms)
        for var in reversed(self.bound):
            body = ZSum(body, var)
        return body


def _is_atomic(expr: Expr) -> bool:
    """Does ``expr`` contain something that is not plain coefficient arithmetic?"""
    return expr.has(Indexed, Bracket, ZSum)


def _canonical_atom(atom: Expr) -> Expr:
    if isinstance(atom, Indexed):
        return atom.base[tuple(sympy.expand(i) for i in atom.indices)]
    if isinstance(atom, Bracket):
        return atom.func(*(sympy.expand(a) for a in atom.args))
    # an opaque function of something atomic: its arguments get their own normal form
    return atom.func(
        *(
            normal_form(a).to_expr()
            if isinstance(a, Expr) and _is_atomic(a)
            else sympy.expand(a)
            if isinstance(a, Expr)
            else a
            for a in atom.args
        )
    )


def _product(left: list[Term], right: list[Term]) -> list[Term]:
    result = []
    for a in left:
        for b in right:
            clash = set(a.bound) & set(b.bound)
            if clash:
                renaming = {v: fresh(v) for v in clash}
                b = Term(
                    substitute(b.coeff, renaming),
                    tuple(substitute(x, renaming) for x in b.atoms),
                    tuple(renaming.get(v, v) for v in b.bound),
                )
            result.append(Term(a.coeff * b.coeff, a.atoms + b.atoms, a.bound + b.bound))
    return result


NARROWING = ("nonnegative", "positive", "nonpositive", "negative", "zero", "nonzero", "even",
             "odd", "prime", "composite")
"""Assumptions that hold for some integers only (a plain integer symbol leaves each None)."""


def _check_summation_variable(var: Symbol) -> None:
    """A sum runs over all of Z^D: its variable may carry no sign, parity or range assumption
    (SymPy would use (-1)^v = 1 for an even v)."""
    if not isinstance(var, Symbol) or var.is_integer is not True:
        raise ProofError(f"summation variable {var} must be an integer symbol")
    if any(getattr(var, f"is_{fact}") is not None for fact in NARROWING):
        raise ProofError(
            f"summation variable {var} carries a sign or parity assumption; the sum runs "
            "over all integers and its range belongs in a bracket"
        )


def expand_terms(expr: Expr) -> list[Term]:
    """Expand into terms; bound variables become fresh Dummies keeping their names."""
    expr = sympy.sympify(expr)
    if not _is_atomic(expr):
        return [Term(expr, (), ())]
    if expr.is_Add:
        return [t for arg in expr.args for t in expand_terms(arg)]
    if expr.is_Mul:
        terms = [Term(S.One, (), ())]
        for factor in expr.args:
            terms = _product(terms, expand_terms(factor))
        return terms
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        factor = expand_terms(expr.base)
        terms = factor
        for _ in range(int(expr.exp) - 1):
            terms = _product(terms, factor)
        return terms
    if isinstance(expr, ZSum):
        _check_summation_variable(expr.var)
        var = fresh(expr.var)
        terms = []
        for t in expand_terms(substitute(expr.body, {expr.var: var})):
            if t.coeff == 0:
                continue
            if not t.free_in(var):
                raise ProofError(
                    f"the sum over {expr.var} of {t.to_expr()} diverges: "
                    f"its summand does not depend on {expr.var}"
                )
            terms.append(Term(t.coeff, t.atoms, t.bound + (var,)))
        return terms
    atom = _canonical_atom(expr)
    if atom.is_Number:
        return [Term(atom, (), ())]
    return [Term(S.One, (atom,), ())]


# --------------------------------------------------------------------------------------------
# Facts about signs (sound, syntactic)
# --------------------------------------------------------------------------------------------


def _nonneg_generator(g: Expr) -> Expr | None:
    """A replacement for generator g by a nonnegative quantity, or None if its sign is unknown.

    Positive integer symbols become 1 + t, nonnegative ones stay; brackets, Mod(a, b) with b
    positive and Max(0, ...) are nonnegative; floor(a/b) is nonnegative if a is and b > 0.
    """
    if isinstance(g, Symbol):
        if g.is_integer and g.is_positive:
            return 1 + sympy.Dummy(g.name, nonnegative=True)
        if g.is_nonnegative:
            return g
        return None
    if isinstance(g, Bracket):
        return sympy.Dummy("bracket", nonnegative=True)
    if isinstance(g, sympy.Mod) and provably_positive(g.args[1]):
        return sympy.Dummy("mod", nonnegative=True)
    if isinstance(g, sympy.Max) and any(provably_nonneg(a) for a in g.args):
        return sympy.Dummy("max", nonnegative=True)
    if isinstance(g, sympy.floor):
        numerator, denominator = g.args[0].as_numer_denom()
        if provably_nonneg(numerator) and provably_positive(denominator):
            return sympy.Dummy("floor", nonnegative=True)
    return None


INFINITIES = (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan)
"""What no claim, step or certificate of positivity may hold: oo·t is nan at t = 0."""


@functools.lru_cache(maxsize=65536)
def provably_nonneg(e: Expr) -> bool:
    """e ≥ 0 by a positivity certificate: after writing each positive integer symbol as
    1 + t (t ≥ 0), e is a polynomial with nonnegative coefficients in nonnegative quantities."""
    e = sympy.expand(sympy.sympify(e))
    if e.has(*INFINITIES):
        return False
    if e.is_Number:
        return bool(e >= 0)
    generators = set()
    for term in sympy.Add.make_args(e):
        for factor in sympy.Mul.make_args(term):
            base = (
                factor.base
                if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0
                else factor
            )
            if not base.is_Number:
                generators.add(base)
    replacement = {}
    for g in generators:
        r = _nonneg_generator(g)
        if r is None:
            return False
        replacement[g] = r
    shifted = sympy.expand(e.xreplace(replacement))
    return (
        all(coeff >= 0 for coeff in sympy.Poly(shifted, *shifted.free_symbols).coeffs())
        if shifted.free_symbols
        else bool(shifted >= 0)
    )


def provably_positive(e: Expr) -> bool:
    """e ≥ 1 for integer-valued e, i.e. e - 1 ≥ 0 by a positivity certificate."""
    return provably_nonneg(sympy.sympify(e) - 1)


def provably_nonzero(e: Expr) -> bool:
    return provably_positive(e) or provably_positive(-e)


def nonzero_where(e: Expr, nonzero: tuple[Expr, ...]) -> bool:
    """e ≠ 0 where a claim is stated: provably, or ±e is one of the expressions it is stated
    where they are not 0 (:attr:`~.proof.Claim.nonzero`)."""
    if provably_nonzero(e):
        return True
    forms = (normal_form(e), normal_form(-e))
    return any(normal_form(u) in forms for u in nonzero)


def integer_valued(e: Expr) -> bool:
    """e is an integer for every value of its (integer) symbols, as SymPy's assumptions
    establish it: i + 2·j, s·i, floor(n/s) are; i/2 and (j + p)/s are not known to be."""
    return sympy.expand(sympy.sympify(e)).is_integer is True


# --------------------------------------------------------------------------------------------
# Finite support: the order in which bound variables are pinned or boxed
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def linear_coefficient(e: Expr, var: Symbol) -> Expr | None:
    """The coefficient a of var if e = a·var + rest is linear in var (rest free of var), else
    None.  The rest is checked, not assumed: a Piecewise of var has derivative 0, and an
    entry indexed by var the derivative nan."""
    a = sympy.expand(sympy.diff(e, var))
    if a == 0 or var in a.free_symbols or a.has(sympy.nan):
        return None
    if var in sympy.expand(e - a * var).free_symbols:
        return None
    return a


def _bounds(var: Symbol, others: set, brackets: list) -> tuple[str, list[Expr]] | None:
    """How ``var`` is bounded by brackets free of the still-unordered variables ``others``.
    A scalar variable is never bounded by a multi-index bracket: that bracket holds on every
    axis at once, so it would tie the axes together rather than bound one value."""
    usable = [
        b
        for b in brackets
        if var in b.args[0].free_symbols and not (b.args[0].free_symbols & others)
        and (is_multi(var) or not any(is_multi(s) for s in b.args[0].free_symbols))
    ]
    for b in usable:
        if isinstance(b, EqZero):
            slope = linear_coefficient(b.args[0], var)
            if slope is not None and provably_nonzero(slope):
                return "pinned", [b.args[0]]
    lower, upper = [], []
    for b in usable:
        slope = linear_coefficient(b.args[0], var) if isinstance(b, NonNeg) else None
        if slope is not None and provably_positive(slope):
            lower.append(b.args[0])
        elif slope is not None and provably_positive(-slope):
            upper.append(b.args[0])
    return ("boxed", lower + upper) if lower and upper else None


def support_order(term: Term, cost=None) -> list[tuple[Symbol, str, list[Expr]]]:
    """An order of the bound variables with, for each, how it is bounded.

    Each entry is (var, "pinned", [delta argument]) or (var, "boxed", [bracket arguments of
    its lower and upper bounds]), every bound in terms of free symbols and earlier variables.
    Raises ProofError if the summand is not finitely supported by its brackets.  ``cost``
    ranks the candidates of a round (default: pinned before boxed, then by name).
    """
    unknown = set(term.bound)
    brackets = [a for a in term.atoms if isinstance(a, (NonNeg, EqZero))]
    order = []
    while unknown:
        options = []
        for var in sorted(unknown, key=lambda v: v.name):
            found = _bounds(var, unknown - {var}, brackets)
            if found:
                options.append((var, *found))
        if not options:
            names = ", ".join(sorted(v.name for v in unknown))
            mixed = any(not is_multi(v) and v in b.args[0].free_symbols
                        and any(is_multi(s) for s in b.args[0].free_symbols)
                        for v in unknown for b in brackets)
            raise ProofError(
                f"the sum over {names} in {term.to_expr()} is not finitely "
                "supported: no bracket pins or boxes it"
                + (" (a scalar variable is not bounded by a multi-index bracket)"
                   if mixed else "")
            )
        pick = min(options, key=cost or (lambda option: option[1] != "pinned"))
        order.append(pick)
        unknown.discard(pick[0])
    return order


# --------------------------------------------------------------------------------------------
# Canonical naming and the normal form
# --------------------------------------------------------------------------------------------


_CANONICAL: set[Symbol] = set()
"""Every canonical name made so far: none may occur free in an expression to normalize."""


@functools.cache
def _canonical_symbol(position: int, multi_index: bool, level: int = 0) -> Symbol:
    """The canonical name of the position-th bound variable of a term; ``level`` keeps the
    names of a term apart from those of the sums nested inside its atoms.  A dummy (one per
    position, kind and level) so that no free symbol of the same name can be captured; one
    taken out of a normal form and put in free is refused (:func:`normal_form`)."""
    tag = f"{level}." if level else ""
    if multi_index:
        symbol = MultiDummy(f"μ{tag}{position}", integer=True)
    else:
        symbol = sympy.Dummy(f"ν{tag}{position}", integer=True)
    _CANONICAL.add(symbol)
    return symbol


def _nesting(expr: Expr) -> int:
    """How deep sums nest inside ``expr``."""
    if isinstance(expr, ZSum):
        return 1 + _nesting(expr.body)
    return max((_nesting(a) for a in expr.args), default=0)


def _orient(atom: Expr) -> Expr:
    """[e = 0] = [-e = 0] and [s | e] = [s | -e]: pick one sign, the same for equal atoms
    (by structural hash: deterministic within a process, which is where keys are compared);
    inside an opaque atom too, whose brackets were oriented before its outer sum's variable
    got its canonical name (E[[v - w = 0] x_w] under Σ_v)."""
    if isinstance(atom, EqZero):
        return min(atom, EqZero(sympy.expand(-atom.args[0])), key=hash)
    if isinstance(atom, Divides):
        s, e = atom.args
        return min(atom, Divides(s, sympy.expand(-e)), key=hash)
    if atom.has(EqZero, Divides):
        return atom.replace(lambda node: isinstance(node, (EqZero, Divides)), _orient)
    return atom


def _ordered(atoms) -> tuple[Expr, ...]:
    """Atoms in hash order, ties (hash collisions: in CPython hash(-1) == hash(-2)) broken by
    SymPy's structural sort key, so that equal multisets always give equal tuples."""
    atoms = sorted(atoms, key=hash)
    for start in range(len(atoms) - 1):
        if hash(atoms[start]) == hash(atoms[start + 1]):
            return tuple(sorted(atoms, key=lambda a: (hash(a), sympy.default_sort_key(a))))
    return tuple(atoms)


def _atoms_key(atoms: tuple[Expr, ...], renaming: dict) -> tuple[Expr, ...]:
    """The atoms under a renaming, in a canonical order: equal multisets give equal tuples."""
    return _ordered(_orient(substitute(a, renaming)) for a in atoms)


def _signature(var: Symbol, term: Term) -> tuple:
    """How ``var`` sits in the term, blind to the names of the other bound variables."""
    star = Symbol("★")
    blind = {v: Symbol("•") for v in term.bound if v != var}
    blind[var] = star
    return (
        is_multi(var),
        tuple(hash(a) for a in _atoms_key(term.atoms, blind)),
        hash(substitute(term.coeff, blind)),
    )


def canonical(term: Term) -> tuple[tuple, Expr, Term]:
    """(key, coefficient, representative) of a term under canonical bound-variable names."""
    groups: dict[tuple, list[Symbol]] = {}
    for var in term.bound:
        groups.setdefault(_signature(var, term), []).append(var)
    ordered_groups = [groups[k] for k in sorted(groups)]
    level = max((_nesting(a) for a in term.atoms), default=0)
    best = None
    for choice in itertools.product(*(itertools.permutations(g) for g in ordered_groups)):
        order = [v for group in choice for v in group]
        renaming = {v: _canonical_symbol(i, is_multi(v), level) for i, v in enumerate(order)}
        atoms = _atoms_key(term.atoms, renaming)
        coeff = substitute(term.coeff, renaming)
        rank = (tuple(hash(a) for a in atoms), hash(sympy.expand(coeff)))
        if best is not None and rank == best[0] and atoms != best[1][1]:  # a hash collision
            rank = (
                best[0]
                if (
                    tuple(map(sympy.default_sort_key, atoms))
                    >= tuple(map(sympy.default_sort_key, best[1][1]))
                )
                else ()
            )
        if best is None or rank < best[0]:
            best = (rank, (len(order), atoms), coeff, renaming, order)
    _, key, coeff, renaming, order = best
    representative = Term(
        S.One,
        tuple(_orient(substitute(a, renaming)) for a in term.atoms),
        tuple(renaming[v] for v in order),
    )
    return key, coeff, representative


def _simplify_atoms(term: Term) -> Term | None:
    """Collapse repeated brackets ([P]^2 = [P]) and drop the term if a bracket is 0."""
    atoms, seen = [], set()
    for atom in term.atoms:
        if atom == 0:
            return None
        if atom == 1:
            continue
        if isinstance(atom, Bracket):
            key = _orient(atom)
            if key in seen:
                continue
            seen.add(key)
        atoms.append(atom)
    return Term(term.coeff, tuple(atoms), term.bound)


def _simplified(coefficient: Expr) -> Expr:
    """The coefficient expanded, and reduced over a common denominator only if it has one
    (exact polynomial / rational-function arithmetic either way)."""
    expanded = sympy.expand(coefficient)
    if any(p.exp.is_negative for p in expanded.atoms(sympy.Pow)):
        return sympy.cancel(expanded)
    return expanded


def is_zero(coefficient: Expr) -> bool:
    """Exact test: the coefficient is the zero polynomial / rational function."""
    return _simplified(coefficient) == 0


class NormalForm:
    """A canonical sum of terms; ``==`` is the exact equality of proofs."""

    def __init__(self, terms: list[Term]):
        combined: dict[tuple, list] = {}
        for term in terms:
            term = _simplify_atoms(term)
            if term is None or term.coeff == 0:
                continue
            support_order(term)
            key, coeff, representative = canonical(term)
            if key in combined:
                combined[key][0] += coeff
            else:
                combined[key] = [coeff, representative]
        self.terms = {}
        for key, (coeff, representative) in combined.items():
            coeff = _simplified(coeff)
            if coeff != 0:
                self.terms[key] = (coeff, representative)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NormalForm):
            return NotImplemented
        return not self.difference(other)

    def difference(self, other: NormalForm) -> list[Expr]:
        """The terms of self - other that do not cancel (empty when equal)."""
        left = []
        for key in self.terms.keys() | other.terms.keys():
            c1, r = self.terms.get(key, (S.Zero, None))
            c2, r2 = other.terms.get(key, (S.Zero, None))
            if not is_zero(c1 - c2):
                rep = r or r2
                left.append(Term(c1 - c2, rep.atoms, rep.bound).to_expr())
        return left

    def to_expr(self) -> Expr:
        return sympy.Add(*(Term(c, r.atoms, r.bound).to_expr() for c, r in self.terms.values()))

    def __repr__(self) -> str:
        return f"NormalForm({self.to_expr()})"


def check_exact(*exprs: Expr) -> None:
    """What a proof compares, with the definitions it reaches, holds exact numbers (1e20 + 1
    rounds to 1e20 as a Float) and binds variables only by ZSum (a hypothesis t = j put into
    SymPy's Σ_j x_j y_t captures j, which substitute cannot see)."""
    for expr in map(sympy.sympify, exprs):
        _check_exact(expr)
        for signal in defined_signals(expr):
            _check_definition(signal.base)


@functools.lru_cache(maxsize=4096)
def _check_definition(base: Expr) -> None:
    """check_exact of a defined signal's body and of every body it reaches, none of which
    may reach the signal again (r[i] = x[i] + r[i - 1] would unfold without end)."""
    for part in definition_closure(base)[1]:
        if base in signals_of(part):
            raise ProofError(f"{base} is defined through itself: a definition unfolds to "
                             "input signals in finitely many steps")
        _check_exact(part)


STANDARD_ASSUMPTIONS = frozenset(_assume_defined)
"""SymPy's own assumptions (integer, positive, real, ...), the only ones a symbol may carry:
the rules read those, while SymPy decides KroneckerDelta(i, j) = 0 from its physics flags
(below_fermi, above_fermi) alone, whatever i and j are."""


def _refuse_foreign_atoms(expr: Expr) -> None:
    """A symbol with an assumption outside STANDARD_ASSUMPTIONS, or a signal whose base has a
    shape, strides, an offset or assumptions: a signal's entries are real numbers, and its
    name alone says which signal it is (the rules, its law and its definition key the
    base, so x with a shape would be another signal that prints as x)."""
    for symbol in expr.atoms(Symbol):
        foreign = sorted(set(symbol.assumptions0) - STANDARD_ASSUMPTIONS)
        if foreign:
            raise ProofError(f"the symbol {symbol} carries the assumption {foreign[0]}, which "
                             "the rules do not read")
    for base in expr.atoms(sympy.IndexedBase):
        if base.args != (base.label,) or base.offset != 0 or base.strides is not None \
                or set(base.assumptions0) - {"commutative"} \
                or set(base.label.assumptions0) - {"commutative"}:
            raise ProofError(f"the signal {base} has a shape, strides, an offset or "
                             "assumptions: a signal is its name, its entries real numbers")


@functools.lru_cache(maxsize=4096)  # a step's target is the next step's source
def _check_exact(expr: Expr) -> None:
    refuse_unmade_dummies(expr)
    _refuse_foreign_atoms(expr)
    if expr.has(sympy.Float):
        raise ProofError(f"{expr} holds a floating-point number; write it exactly "
                         "(sympy.Rational(1, 3), not 1/3)")
    binder = _foreign_binder(expr)
    if binder is not None:
        raise ProofError(f"{binder} binds a variable the way SymPy does; a proof sums with zsum "
                         "and differentiates with Partial")


SYMPY_BINDERS = (sympy.Derivative, sympy.Integral, sympy.Sum, sympy.Product, sympy.Subs,
                 sympy.Limit)
"""SymPy's own binders, refused whatever their form: a Derivative's and an indefinite
Integral's variable stays free, so Integral(y, x) = Integral(x, x) under y = x was proved."""


def _foreign_binder(expr: Expr) -> Expr | None:
    """A node other than ZSum that binds a variable: one of SYMPY_BINDERS, one with bound
    symbols (Sum(x_j, (j, 0, j)) keeps j free through its limit), or one whose arguments hold a
    free symbol that it does not (a Lambda, ...)."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, ZSum) or not node.args:
            continue
        if isinstance(node, SYMPY_BINDERS) or getattr(node, "bound_symbols", ()):
            return node
        if set().union(*(a.free_symbols for a in node.args)) - node.free_symbols:
            return node
    return None


@functools.lru_cache(maxsize=4096)
def normal_form(expr: Expr) -> NormalForm:
    """The normal form of ``expr`` (memoized: a derivation compares each expression twice).
    A canonical bound-variable name free in ``expr`` is refused: the renaming would make a
    bound variable of it (Σ_a x[a] x[ν0] would be Σ_a x[a]²)."""
    expr = sympy.sympify(expr)
    captured = _CANONICAL.intersection(expr.free_symbols)
    if captured:
        raise ProofError(f"{', '.join(sorted(map(str, captured)))}: a normal form's bound "
                         f"variable occurs free in {expr}")
    return NormalForm(expand_terms(expr))


def equivalent(a: Expr, b: Expr) -> bool:
    return normal_form(a) == normal_form(b)
