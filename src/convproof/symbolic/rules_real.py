"""Rules of real algebra: powers, logarithms, exponentials, positive parts, rational identities.

Every symbol and signal entry stands for a real number.  The side conditions of the rules (a
base is positive, a denominator is not zero) are proved by :func:`sign`, a syntactic
certificate: exponentials are positive, even powers and brackets nonnegative, sums and
products of nonnegative terms nonnegative, a sum over a nonempty box of positive terms
positive, and symbols have the signs they are declared with.

    b^p · b^q = b^(p+q)                     b > 0 (b ≥ 0 if p, q > 0;          powers of one base
                                            any b if p, q integers ≥ 0)
    (f·A)^p = f^p · A^p                     f > 0 a coefficient, A > 0          power of a product
    log(a·b) = log a + log b, log e^u = u, log b^p = p log b      a, b > 0      logarithm laws
    e^(a + b) = e^a · e^b                                                       exponential laws
    ∂F/∂x = ∂G/∂x + Σ_u ∂G/∂u · ∂u/∂x        F(x) = G(x, u(x)), u kept folded     chain rule
    max(u, 0) = (u + sqrt(u²)) / 2                                              positive part
    u/sqrt(u²) = sqrt(u²)/u = 2[u > 0] - 1    u ≠ 0 (provably, or where the claim is)      sign
    P/Q = P'/Q' as rational functions of the atoms, every denominator positive   rational arithmetic
"""

from __future__ import annotations

import itertools
from collections import Counter

import sympy
from sympy import Expr, Indexed, S, Symbol

from .language import (Bracket, NonNeg, Partial, Signal, ZSum, defined_signals, product,
                       summation_variables)
from .normal import (ProofError, Term, linear_coefficient, expand_terms, normal_form,
                     integer_valued, nonzero_where, provably_nonneg, provably_nonzero)
from .operators_layers import Positive
from .rules import (RuleResult, definition_at, derivative, follows, map_terms, open_sum, rule,
                    unfold, unfold_all)
from .rules_expectation import LAWS, Expectation, random_signals_in

POSITIVE, NONNEGATIVE = "positive", "nonnegative"


# --------------------------------------------------------------------------------------------
# Signs
# --------------------------------------------------------------------------------------------

def _weakest(signs: list[str | None]) -> str | None:
    if None in signs:
        return None
    return POSITIVE if all(s == POSITIVE for s in signs) else NONNEGATIVE


REAL_FUNCTIONS = (sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.sinh, sympy.cosh,
                  sympy.tanh, sympy.Abs, sympy.Max, sympy.Min, sympy.floor, sympy.ceiling,
                  sympy.sign, sympy.Mod, Bracket)
"""Functions that are real on real arguments (a logarithm also needs a positive one)."""


def _real(u: Expr) -> bool:
    """u is real: no imaginary unit, every symbol real (input signals' entries are, a
    defined signal's where its definition is), every root or other fractional power of a
    nonnegative base and every logarithm of a positive one (√t with an integer t is 2i at
    t = -4)."""
    entries = u.atoms(Indexed)  # a signal's name alone is a symbol like any other
    plain = u.xreplace({entry: sympy.Dummy(real=True) for entry in entries})
    if u.has(sympy.I) or not all(s.is_real for s in plain.atoms(Symbol)):
        return False
    if not all(_real(definition_at(entry)) for entry in entries
               if entry.base in Signal.defined):
        return False
    if not all(isinstance(f, REAL_FUNCTIONS) for f in u.atoms(sympy.Function)):
        return False  # acos(1000) = 7.6i: only functions known to keep real arguments real
    roots = [p.base for p in u.atoms(sympy.Pow) if not p.exp.is_Integer]
    return all(sign(base) in (POSITIVE, NONNEGATIVE) for base in roots) and \
        all(sign(log.args[0]) == POSITIVE for log in u.atoms(sympy.log))


def _power_sign(base: Expr, exponent: Expr) -> str | None:
    below = sign(base)
    if exponent.is_Integer:
        if exponent > 0 and exponent % 2 == 0:  # (2i)^2 = -4: only a real base squares up
            return POSITIVE if below == POSITIVE else (NONNEGATIVE if _real(base) else None)
        if exponent > 0:
            return below
        return POSITIVE if below == POSITIVE else None
    if below == POSITIVE and _real(exponent):  # 2^(i k) lies on the unit circle
        return POSITIVE
    if below == NONNEGATIVE and exponent.is_Rational and exponent > 0:
        return NONNEGATIVE
    return None


def _sum_sign(total: ZSum) -> str | None:
    """Σ_v body: nonnegative if the body is; positive if besides a box [l ≤ v ≤ h] with integer
    bounds and h ≥ l provably (nonempty) the body is a product of positive factors."""
    var, factors = total.var, sympy.Mul.make_args(total.body)
    brackets = [f for f in factors if isinstance(f, NonNeg) and var in f.free_symbols]
    others = [f for f in factors if f not in brackets]
    rest = _weakest([sign(f) for f in others])
    if rest is None:
        return None
    slopes = {linear_coefficient(b.args[0], var): b.args[0] for b in brackets}
    if rest == POSITIVE and len(brackets) == 2 and set(slopes) == {1, -1}:
        low, high = var - slopes[1], slopes[-1] + var
        integers = integer_valued(low) and integer_valued(high)  # [1/3, 2/3] holds no integer
        if integers and provably_nonneg(sympy.expand(high - low)):
            return POSITIVE
    return NONNEGATIVE


def sign(e: Expr) -> str | None:
    """"positive", "nonnegative", or None when no certificate is found (e is real)."""
    e = sympy.sympify(e)
    if e.is_Rational:
        return POSITIVE if e > 0 else NONNEGATIVE if e == 0 else None
    if e.is_Symbol:
        return POSITIVE if e.is_positive else NONNEGATIVE if e.is_nonnegative else None
    if isinstance(e, Indexed) and e.base in Signal.defined:
        return sign(definition_at(e))
    if isinstance(e, (Bracket, Positive, sympy.Abs)):
        return NONNEGATIVE
    if isinstance(e, sympy.exp):
        return POSITIVE if _real(e.args[0]) else None
    if e.is_Pow:
        return _power_sign(*e.args)
    if e.is_Mul:
        return _weakest([sign(f) for f in e.args])
    if e.is_Add:
        signs = [sign(a) for a in e.args]
        if None in signs:
            return None
        return POSITIVE if POSITIVE in signs else NONNEGATIVE
    if isinstance(e, ZSum):
        return _sum_sign(e)
    if isinstance(e, sympy.Max):
        signs = [sign(a) for a in e.args]
        return POSITIVE if POSITIVE in signs else NONNEGATIVE if NONNEGATIVE in signs else None
    if isinstance(e, Expectation):  # E of a nonnegative f, where a distribution has the law
        exists = all(LAWS[base].exists_provably for base in random_signals_in(e.args[0]))
        return sign(e.args[0]) if exists else None
    return None


def _require_positive(e: Expr, what: str) -> None:
    if sign(e) != POSITIVE:
        raise ProofError(f"{what} {e} is not provably positive")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _rewrite_counting(expr: Expr, rewrite) -> tuple[Expr, int]:
    """Rewrite nodes bottom-up (bound variables stay bound); count the rewrites."""
    count = 0

    def walk(node: Expr) -> Expr:
        nonlocal count
        if isinstance(node, ZSum):
            var, body = open_sum(node)
            return ZSum(walk(body), var)
        if node.args:
            node = node.func(*(walk(a) for a in node.args))
        new = rewrite(node)
        if new is None:
            return node
        count += 1
        return new

    return walk(sympy.sympify(expr)), count


def constant_factor(expr: Expr) -> tuple[Expr, Expr] | None:
    """expr = f · rest with f the coefficient factor common to all its terms (f ≠ 1; negative
    numbers stay in rest)."""
    terms = expand_terms(expr)
    shared = None
    for term in terms:  # a factor with a summation variable (μ^j in Σ_j) is not common
        factors = Counter(f for f in sympy.Mul.make_args(term.coeff)
                          if (not f.is_Number or f > 0) and not f.free_symbols & set(term.bound))
        shared = factors if shared is None else shared & factors
    if not shared:
        return None
    f = product(base ** k for base, k in shared.items())
    rest = sympy.Add(*(Term(term.coeff / f, term.atoms, term.bound).to_expr() for term in terms))
    return f, rest


# --------------------------------------------------------------------------------------------
# Powers
# --------------------------------------------------------------------------------------------

def _natural(exponent: Expr, facts: list[Expr]) -> bool:
    """The exponent is an integer ≥ 0, by its assumptions or by the brackets [f ≥ 0] of its
    term (where a bracket is 0 the term is 0 whatever the power)."""
    return integer_valued(exponent) and (provably_nonneg(exponent) or follows(exponent, facts))


@rule("powers of one base", "b^p · b^q = b^(p+q) for a base b > 0 (b ≥ 0 when every exponent "
      "is positive; any base when every exponent is an integer ≥ 0, with b^0 = 1)")
def powers(expr: Expr, base: Expr) -> RuleResult:
    """Combine, in every term, the powers of ``base`` among its atoms and among the factors
    of its coefficient (``base`` is given unexpanded, so that its sign can be certified; it
    is matched by normal form, its symbols named like a summation variable of the term standing
    for that variable)."""
    canonical = normal_form(base).to_expr()

    def rewrite(term: Term) -> Term | None:
        here = canonical.xreplace({s: v for s in canonical.free_symbols for v in term.bound
                                   if v.name == s.name})
        kind = sign(here)  # of the summation variables, not of the symbols named like them
        facts = [a.args[0] for a in term.atoms if isinstance(a, NonNeg)]

        def exponent(factor: Expr) -> Expr | None:
            if factor == here:
                return S.One
            if factor.is_Pow and factor.base == here:
                return factor.exp
            return None

        def combined(factors: tuple) -> tuple[tuple, Expr] | None:
            matched = [exponent(f) for f in factors if exponent(f) is not None]
            if len(matched) < 2:
                return None
            if kind != POSITIVE and not all(_natural(e, facts) for e in matched):
                if kind is None:
                    raise ProofError(f"the base {base} is not provably nonnegative, nor are "
                                     f"the exponents {matched} provably integers ≥ 0")
                if not all(e.is_positive for e in matched):
                    raise ProofError(f"{base} may be 0: only positive powers of it combine")
            return tuple(f for f in factors if exponent(f) is None), here ** sum(matched)

        atoms, coeff = combined(term.atoms), combined(sympy.Mul.make_args(term.coeff))
        if atoms is None and coeff is None:
            return None
        new_atoms = term.atoms if atoms is None else atoms[0] + (atoms[1],)
        new_coeff = term.coeff if coeff is None else sympy.Mul(*coeff[0]) * coeff[1]
        return Term(new_coeff, new_atoms, term.bound)

    return map_terms(expr, rewrite)


@rule("power of a product", "(f·A)^p = f^p · A^p for a positive coefficient f and A > 0 "
      "(A ≠ 0 suffices for an integer p)")
def power_of_product(expr: Expr) -> RuleResult:
    """Move the coefficient factor common to the terms of a power's base out of the power."""
    def rewrite(term: Term) -> Term | None:
        atoms, coeff, changed = [], term.coeff, False
        for atom in term.atoms:
            split = constant_factor(atom.base) if atom.is_Pow and atom.exp.is_Rational else None
            if split is None:
                atoms.append(atom)
                continue
            f, rest = split
            _require_positive(f, "the factor")
            if not atom.exp.is_Integer:
                _require_positive(rest, "the base")
            elif sign(rest) != POSITIVE:
                raise ProofError(f"the base {rest} is not provably nonzero")
            coeff, changed = coeff * f ** atom.exp, True
            atoms.append(rest ** atom.exp)
        return Term(coeff, tuple(atoms), term.bound) if changed else None

    return map_terms(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Logarithms and exponentials
# --------------------------------------------------------------------------------------------

def _log_of_factor(factor: Expr) -> Expr:
    if isinstance(factor, sympy.exp):
        if not _real(factor.args[0]):
            raise ProofError(f"log e^u = u needs a real u, not {factor.args[0]}")
        return factor.args[0]
    if factor.is_Pow and factor.exp.is_Rational:
        _require_positive(factor.base, "the base")
        return factor.exp * sympy.log(factor.base)
    _require_positive(factor, "the factor")
    return sympy.log(factor)


@rule("logarithm laws", "log(a·b) = log a + log b for a, b > 0; log e^u = u for real u; "
      "log b^p = p·log b for b > 0")
def logarithm(expr: Expr) -> RuleResult:
    """Split the logarithm of a product of positive factors (definitions in it unfolded; a
    coefficient common to the terms of a sum is a factor)."""
    def rewrite(node: Expr) -> Expr | None:
        if not isinstance(node, sympy.log):
            return None
        argument = unfold_all(node.args[0])
        factors = list(sympy.Mul.make_args(argument))
        if len(factors) == 1 and not isinstance(argument, sympy.exp) and not argument.is_Pow:
            split = constant_factor(argument)
            if split is None:
                return None
            factors = list(sympy.Mul.make_args(split[0])) + [split[1]]
        return sympy.Add(*(_log_of_factor(f) for f in factors))

    return _rewrite_counting(expr, rewrite)


@rule("exponential laws", "e^(a + b) = e^a · e^b")
def exponential(expr: Expr) -> RuleResult:
    def rewrite(node: Expr) -> Expr | None:
        if isinstance(node, sympy.exp) and node.args[0].is_Add:
            return product(sympy.exp(a) for a in node.args[0].args)
        return None

    return _rewrite_counting(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Derivatives through intermediate quantities
# --------------------------------------------------------------------------------------------

def _unfold_except(expr: Expr, kept: set) -> Expr:
    while signals := [s for s in defined_signals(expr) if s.base not in kept]:
        expr, _ = unfold(expr, tuple(signals))
    return expr


def _apart(u: Indexed, other: Indexed) -> bool:
    """Two entries of one signal whose indices differ provably in some position."""
    return any(provably_nonzero(sympy.expand(a - b)) for a, b in zip(u.indices, other.indices))


@rule("chain rule", "∂F/∂x = ∂G/∂x + Σ_u ∂G/∂u · ∂u/∂x for F(x) = G(x, u(x)): the entries u of "
      "the kept definitions are intermediate variables")
def chain_rule(expr: Expr, keep: tuple[Signal, ...]) -> RuleResult:
    """Differentiate with the entries of ``keep`` held as variables of their own, plus one
    term per entry u: ∂G/∂u times the total derivative ∂u/∂x (left unevaluated).  Every
    entry u must have free indices (a finite, explicit list of intermediate variables)."""
    kept = {s.base for s in keep}
    if any(s.definition is None for s in keep):
        raise ProofError("only defined signals can be kept as intermediate variables")
    count = 0

    def walk(node: Expr) -> Expr:
        nonlocal count
        if isinstance(node, Partial):
            count += 1
            body, entry = _unfold_except(node.args[0], kept), node.args[1]
            if isinstance(entry, Indexed) and entry.base in Signal.defined:
                raise ProofError(f"{entry} is an entry of a defined signal, not a variable: "
                                 "differentiate by input entries")
            bound = set(summation_variables(body))
            used = {n for n in sympy.preorder_traversal(body)
                    if isinstance(n, Indexed) and n.base in kept}
            for u in used:
                if u.free_symbols & bound:
                    raise ProofError(f"the intermediate {u} has a summation index")
            for u, other in itertools.combinations(sorted(used, key=str), 2):
                if u.base == other.base and not _apart(u, other):
                    raise ProofError(f"the intermediates {u} and {other} may be one entry: "
                                     "the sum over them would count it twice")
            return derivative(body, entry) + sympy.Add(
                *(derivative(body, u) * Partial(u, entry) for u in sorted(used, key=str)))
        if isinstance(node, ZSum):
            var, body = open_sum(node)
            return ZSum(walk(body), var)
        if not node.args:
            return node
        return node.func(*(walk(a) for a in node.args))

    return walk(sympy.sympify(expr)), count


# --------------------------------------------------------------------------------------------
# Positive parts and signs
# --------------------------------------------------------------------------------------------

@rule("positive part", "max(u, 0) = (u + sqrt(u²))/2 for real u")
def positive_part(expr: Expr) -> RuleResult:
    def rewrite(node: Expr) -> Expr | None:
        if isinstance(node, sympy.Max) and len(node.args) == 2 and S.Zero in node.args:
            u = node.args[1] if node.args[0] == 0 else node.args[0]
            return (u + sympy.sqrt(u ** 2)) / 2 if _real(u) else None  # sqrt((2i)²) = 2i
        return None

    return _rewrite_counting(expr, rewrite)


def _sign_pair(atoms: list) -> tuple[Expr, Expr, Expr] | None:
    """(u, a, b) for atoms a·b = u·(u²)^(-1/2) or (u²)^(1/2)·u^(-1), u itself an atom."""
    for root in atoms:
        if not (root.is_Pow and root.exp in (S.Half, -S.Half) and root.base.is_Pow
                and root.base.exp == 2):
            continue
        u = root.base.base
        partner = u if root.exp == -S.Half else u ** -1
        if partner in atoms and partner is not root:
            return u, root, partner
    return None


@rule("sign", "u·(u²)^(-1/2) = (u²)^(1/2)/u = 2[u > 0] - 1 for real u ≠ 0: provably, or "
      "where the claim is stated")
def sign_rule(expr: Expr, nonzero: tuple = ()) -> RuleResult:
    """In every term, an atom u over |u| = sqrt(u²) (or |u| over u) is the sign of u.  At
    u = 0 the left side has no value: reading it as -1 there, u = x0 and u = -x0 (folded into
    another signal) would give x0/|x0| the values -1 and 1, so u must be nonzero."""
    def rewrite(term: Term) -> Term | None:
        atoms = list(term.atoms)
        found = _sign_pair(atoms)
        if found is None or not _real(found[0]):  # log x0 / sqrt(log² x0) at x0 = -1 is 1
            return None
        u, root, partner = found
        if not nonzero_where(u, nonzero):
            raise ProofError(f"{u}/|{u}| has no value at {u} = 0: state the claim where "
                             f"{u} ≠ 0 (Claim(..., nonzero=({u},)))")
        atoms.remove(root)
        atoms.remove(partner)
        return Term(term.coeff, tuple(atoms) + (2 * Positive(u) - 1,), term.bound)

    return map_terms(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Rational identities
# --------------------------------------------------------------------------------------------

class _Generators:
    """Atoms as the generators of a field of rational functions."""

    def __init__(self):
        self.symbols: dict[Expr, sympy.Dummy] = {}

    def of(self, key: Expr) -> sympy.Dummy:
        return self.symbols.setdefault(key, sympy.Dummy(f"t{len(self.symbols)}"))

    def rational(self, expr: Expr) -> Expr:
        value = S.Zero
        for term in expand_terms(expr):
            if term.bound:
                raise ProofError(f"{term.to_expr()} is a sum: rational arithmetic is pointwise")
            value += term.coeff * product(self.atom(a) for a in term.atoms)
        return value

    def atom(self, atom: Expr) -> Expr:
        """A power with a negative or fractional exponent of a positive base: the base as a
        rational function (or its root as a generator) to that power; any other atom: a
        generator."""
        if atom.is_Pow and atom.exp.is_Rational and not (atom.exp.is_Integer and atom.exp > 0):
            _require_positive(atom.base, "the base")
            p, q = atom.exp.p, atom.exp.q
            if q == 1:
                return self.rational(atom.base) ** p
            return self.of(sympy.Pow(atom.base, sympy.Rational(1, q), evaluate=False)) ** p
        return self.of(atom)


@rule("rational arithmetic", "an identity of rational functions of the atoms (entries, "
      "exponentials, roots of positive bases), every denominator provably positive")
def rational(expr: Expr, equals: Expr) -> RuleResult:
    """expr = equals when their difference cancels as a rational function of the atoms (each
    distinct atom a free generator, each root b^(1/q) of a positive b a generator): valid
    wherever the denominators, all positive, are defined: those of the coefficients too, as
    written (cancelled, (n² - 1)/(n - 1) = n + 1 would hide that n = 1 is no value of the
    left side)."""
    for side in (expr, equals):
        for power in sympy.sympify(side).atoms(sympy.Pow):
            if power.exp.is_negative:
                _require_positive(power.base, "the denominator")
    generators = _Generators()
    difference = generators.rational(expr) - generators.rational(equals)
    if sympy.cancel(sympy.together(difference)) != 0:
        raise ProofError("the two sides are not equal as rational functions of their atoms")
    return equals, 1


__all__ = ["sign", "POSITIVE", "NONNEGATIVE", "constant_factor", "powers", "power_of_product",
           "logarithm", "exponential", "chain_rule", "positive_part", "sign_rule", "rational"]
