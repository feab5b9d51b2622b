"""Rules about sizes along one axis: floor, ceil and max lemmas; cyclic changes of index.

The size formulas of the library (:class:`convproof.spec.ConvSpec`) are integer expressions in
floor, ceil and max.  The rules below rewrite them exactly.  Each states its identity and the
domain where it holds, checks its side conditions by positivity certificates
(:func:`.normal.provably_nonneg`) and refuses with :class:`ProofError` otherwise.

Most of them need a total order (a floor, a max, a case split), so they accept scalar
symbols only: the componentwise order of Z^D is not total, and an N-d size statement is the
product of its per-axis statements.  The exception is the cyclic change of index, which holds
componentwise on a box of Z^D.  Counting, splitting and emptying intervals are the rules of
:mod:`.rules_counting` and :mod:`.rules_sums`.
"""

from __future__ import annotations

import sympy
from sympy.polys.polyerrors import BasePolynomialError
from sympy import Expr, Symbol

from .language import OF_THE_ENTRIES, EqZero, NonNeg, is_multi, summation_variables
from .normal import (ProofError, Term, integer_valued, linear_coefficient, provably_nonneg,
                     provably_positive)
from .rules import (bound_named, by_its_brackets, map_terms, refuse_inside_operators,
                    rewrite_everywhere, rule)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _per_axis(expr: Expr, what: str) -> None:
    """Refuse multi-indices: the lemma needs the total order of one axis."""
    if any(is_multi(s) for s in sympy.sympify(expr).free_symbols):
        raise ProofError(f"{what} is a per-axis lemma, but {expr} involves a multi-index: "
                         "state it with scalar symbols")


def floor_parts(atom: Expr) -> tuple[Expr, Expr] | None:
    """(A, s) with floor(A/s) = atom, A and s integers and s ≥ 1 provably; else None."""
    if not isinstance(atom, sympy.floor):
        return None
    numerator, denominator = sympy.fraction(sympy.together(atom.args[0]))
    if numerator.is_integer is not True or denominator.is_integer is not True:
        return None
    if not provably_positive(denominator):
        return None
    return sympy.expand(numerator), sympy.expand(denominator)


def _same_floor(a: Expr, b: Expr) -> bool:
    return isinstance(a, sympy.floor) and isinstance(b, sympy.floor) and \
        sympy.expand(a.args[0] - b.args[0]) == 0


def _replace_floor(expr: Expr, target: Expr, value: Expr) -> Expr:
    """Every occurrence of the floor ``target`` (up to expansion of its argument) by value."""
    return rewrite_everywhere(expr, lambda node: value if _same_floor(node, target) else node)


def _lower_floors(e: Expr) -> Expr | None:
    """A lower bound of e free of floors: floor(A/s) is replaced by (A - s + 1)/s where its
    coefficient is provably ≥ 0 and by A/s where it is provably ≤ 0 (floor(A/s) lies in
    [(A - s + 1)/s, A/s] for integers A and s ≥ 1); None if a coefficient's sign is unknown."""
    e = sympy.expand(e)
    if any(f.args[0].has(sympy.floor) for f in e.atoms(sympy.floor)):
        return None  # a floor of a floor: not bounded here
    for atom in sorted(e.atoms(sympy.floor), key=str):
        parts = floor_parts(atom)
        if parts is None:
            return None
        numerator, denominator = parts
        hole = sympy.Dummy("F")
        holed = sympy.expand(_replace_floor(e, atom, hole))
        slope = linear_coefficient(holed, hole)
        if slope is None and hole in holed.free_symbols:
            return None
        if slope is None or provably_nonneg(-slope):
            bound = numerator / denominator
        elif provably_nonneg(slope):
            bound = (numerator - denominator + 1) / denominator
        else:
            return None
        e = sympy.expand(holed.subs(hole, bound))
    return e


def _certainly_nonneg(e: Expr) -> bool:
    """e ≥ 0 for a rational expression: positive denominator, nonnegative numerator."""
    numerator, denominator = sympy.fraction(sympy.together(sympy.expand(e)))
    return provably_positive(denominator) and provably_nonneg(numerator)


def follows_from(e: Expr, facts: list[Expr]) -> bool:
    """e ≥ 0 follows from facts f ≥ 0: e or e - f is nonnegative once its floors are bounded."""
    for candidate in (e, *(e - f for f in facts)):
        lowered = _lower_floors(candidate)
        if lowered is not None and _certainly_nonneg(lowered):
            return True
    return False


def _facts(term: Term) -> list[Expr]:
    return [a.args[0] for a in term.atoms if isinstance(a, NonNeg)]


def _slope_brackets(term: Term, var: Symbol, slope: int) -> list[tuple[Expr, Expr]]:
    """The brackets [slope·var + rest ≥ 0] of the term, as (atom, rest)."""
    found = []
    for atom in term.atoms:
        if isinstance(atom, NonNeg) and var in atom.args[0].free_symbols:
            if linear_coefficient(atom.args[0], var) == slope:
                found.append((atom, sympy.expand(atom.args[0] - slope * var)))
    return found


def _box(term: Term, var: Symbol) -> tuple[Expr, Expr, Expr, Expr]:
    """The unique brackets [var - a ≥ 0] and [b - var ≥ 0] of a term: (lower, a, upper, b)."""
    lower, upper = _slope_brackets(term, var, 1), _slope_brackets(term, var, -1)
    if len(lower) != 1 or len(upper) != 1:
        raise ProofError(f"the sum over {var.name} in {term.to_expr()} is not over one interval "
                         "[a ≤ v][v ≤ b] with unit slopes")
    (low_atom, low_rest), (high_atom, high_rest) = lower[0], upper[0]
    return low_atom, sympy.expand(-low_rest), high_atom, high_rest


# --------------------------------------------------------------------------------------------
# Floor and ceil
# --------------------------------------------------------------------------------------------

@rule("floor shift", "floor((A + s·q)/s) = floor(A/s) + q for s ≥ 1 and an integer q")
def floor_shift(expr: Expr) -> tuple[Expr, int]:
    """Split off the part of the numerator that the denominator divides exactly: valid since
    floor(x + q) = floor(x) + q for every integer q (the quotient must be integer-valued)."""
    count = 0

    def rewrite(node: Expr) -> Expr:
        nonlocal count
        parts = floor_parts(node)
        if parts is None or parts[1] == 1:
            return node
        numerator, denominator = parts
        generators = sorted(numerator.free_symbols | denominator.free_symbols, key=str)
        try:
            (quotient,), remainder = sympy.reduced(numerator, [denominator], *generators)
        except BasePolynomialError:  # a remainder or a floor inside: no polynomial division
            return node
        quotient = sympy.expand(quotient)
        if quotient == 0 or quotient.is_integer is not True:
            return node
        count += 1
        return sympy.floor(sympy.expand(remainder) / denominator) + quotient

    return rewrite_everywhere(expr, rewrite), count


def _floor_in(e: Expr, chosen: Expr | None) -> tuple[Expr, Expr, Expr] | None:
    """e = κ·floor(A/s) + rest with κ = ±1 and rest integer: (floor, κ, rest), or None."""
    floors = [f for f in e.atoms(sympy.floor) if chosen is None or _same_floor(f, chosen)]
    if not floors:
        return None
    if len(floors) > 1:
        raise ProofError(f"several floors in {e}; say which one with floor=")
    atom = floors[0]
    hole = sympy.Dummy("F")
    holed = sympy.expand(_replace_floor(e, atom, hole))
    slope = linear_coefficient(holed, hole)
    rest = sympy.expand(holed - (slope or 0) * hole)
    if slope not in (1, -1) or hole in rest.free_symbols or rest.is_integer is not True:
        raise ProofError(f"{e} is not ±floor(A/s) plus an integer")
    return atom, slope, rest


@rule("floor bounds", "[floor(A/s) ≥ q] = [A ≥ s·q], [floor(A/s) ≤ q] = [A ≤ s·q + s - 1], "
      "[floor(A/s) = q] = [s·q ≤ A ≤ s·q + s - 1] for integers A, q and s ≥ 1")
def floor_bounds(expr: Expr, floor: Expr | None = None) -> tuple[Expr, int]:
    """floor(A/s) ≥ q iff A/s ≥ q; floor(A/s) ≤ q iff A/s < q + 1 iff A ≤ s·q + s - 1
    (integers).  Rewrites the brackets that hold one floor (or the given one)."""
    def rewrite(term: Term) -> Term | None:
        atoms, changed = [], False
        for atom in term.atoms:
            found = _floor_in(atom.args[0], floor) if isinstance(atom, (NonNeg, EqZero)) else None
            if found is None:
                atoms.append(atom)
                continue
            _per_axis(atom.args[0], "floor bounds")
            floor_atom, slope, rest = found
            numerator, denominator = floor_parts(floor_atom) or (None, None)
            if numerator is None:
                raise ProofError(f"{floor_atom} is not floor(A/s) with integers A and s ≥ 1")
            changed = True
            value = -slope * rest  # the bracket compares floor(A/s) with this integer
            at_least = NonNeg(sympy.expand(numerator - denominator * value))
            at_most = NonNeg(sympy.expand(denominator * value + denominator - 1 - numerator))
            if isinstance(atom, EqZero):
                atoms += [at_least, at_most]
            else:
                atoms.append(at_least if slope == 1 else at_most)
        return Term(term.coeff, tuple(atoms), term.bound) if changed else None

    return map_terms(expr, rewrite)


@rule("floor value", "floor(A/s) = q where the brackets of the term give s·q ≤ A ≤ s·q + s - 1")
def floor_value(expr: Expr, value: Expr, floor: Expr | None = None) -> tuple[Expr, int]:
    """Replace floor(A/s) by the integer q in every term whose brackets imply both bounds.
    Without ``floor`` every floor of the term whose bounds follow is replaced, one after
    another, each from the brackets as the replacements before it left them; a term with
    floors none of which (or not the given one) can be shown to equal q is refused."""
    value = sympy.sympify(value)
    if value.is_integer is not True:
        raise ProofError(f"the value {value} of a floor must be an integer")

    def rewrite(term: Term) -> Term | None:
        expression = term.coeff * sympy.Mul(*term.atoms)
        candidates = [f for f in expression.atoms(sympy.floor) - value.atoms(sympy.floor)
                      if (floor is None or _same_floor(f, floor)) and floor_parts(f)]
        if not candidates:
            return None
        coeff, atoms = term.coeff, term.atoms
        for atom in sympy.ordered(candidates):
            numerator, denominator = floor_parts(atom)
            _per_axis(numerator, "floor value")
            # facts from the brackets without this floor as they stand now: those with it are
            # rewritten here, and a bracket cannot vouch for a value that then erases it (two
            # floors could vouch for each other's values, each from the other's bracket)
            facts = [f for f in _facts(Term(coeff, atoms, term.bound))
                     if not any(_same_floor(g, atom) for g in f.atoms(sympy.floor))]
            low = numerator - denominator * value
            high = denominator * value + denominator - 1 - numerator
            if follows_from(low, facts) and follows_from(high, facts):
                coeff = _replace_floor(coeff, atom, value)
                atoms = tuple(_replace_floor(a, atom, value) for a in atoms)
        if (coeff, atoms) == (term.coeff, term.atoms):
            raise ProofError(f"cannot show s·({value}) ≤ A ≤ s·({value}) + s - 1 for a floor "
                             f"floor(A/s) of {term.to_expr()} from its brackets")
        return Term(coeff, atoms, term.bound)

    return map_terms(expr, by_its_brackets(rewrite))


@rule("ceil as floor", "ceil(A/s) = floor((A + s - 1)/s), and -floor(-A/s) = ceil(A/s), for "
      "integers A and s ≥ 1")
def ceil_as_floor(expr: Expr) -> tuple[Expr, int]:
    """ceil(A/s) = floor((A + s - 1)/s) for s ≥ 1: both are the least integer c with s·c ≥ A.
    The form -floor(N/s) that ConvSpec's ceil_div builds (with a negative-looking N) becomes
    floor((-N + s - 1)/s), since -floor(N/s) = ceil(-N/s)."""
    count = 0

    def rewrite(node: Expr) -> Expr:
        nonlocal count
        if isinstance(node, sympy.ceiling):
            parts = floor_parts(sympy.floor(node.args[0]))
            if parts is not None:
                count += 1
                numerator, denominator = parts
                return sympy.floor((numerator + denominator - 1) / denominator)
        if node.is_Mul and len(node.args) == 2 and node.args[0] == -1:
            parts = floor_parts(node.args[1])
            if parts is not None and parts[0].could_extract_minus_sign():
                count += 1
                numerator, denominator = parts
                return sympy.floor((-numerator + denominator - 1) / denominator)
        return node

    return rewrite_everywhere(expr, rewrite), count


# --------------------------------------------------------------------------------------------
# Max and case splits
# --------------------------------------------------------------------------------------------

@rule("max as cases", "max(a, b) = [a ≥ b]·a + [a < b]·b, and max(0, e) = [e ≥ 0]·e, for "
      "integers of one axis")
def max_as_cases(expr: Expr) -> tuple[Expr, int]:
    """The two cases of a max of two integers (a total order: one axis only)."""
    count = 0

    def rewrite(node: Expr) -> Expr:
        nonlocal count
        if not isinstance(node, sympy.Max):
            return node
        if len(node.args) != 2:
            raise ProofError(f"max as cases splits a max of two arguments, got {node}")
        _per_axis(node, "max as cases")
        a, b = node.args
        if a.is_integer is not True or b.is_integer is not True:
            raise ProofError(f"max as cases needs integer arguments, got {node}")
        count += 1
        if a == 0 or b == 0:
            e = b if a == 0 else a
            return NonNeg(sympy.expand(e)) * e
        return NonNeg(sympy.expand(a - b)) * a + NonNeg(sympy.expand(b - a - 1)) * b

    return rewrite_everywhere(expr, rewrite), count


def _assign_bracket(expr: Expr, argument: Expr, value: int) -> Expr:
    """[argument ≥ 0] set to value and its complement [-argument - 1 ≥ 0] to 1 - value."""
    complement = sympy.expand(-argument - 1)

    def rewrite(node: Expr) -> Expr:
        if isinstance(node, NonNeg):
            e = sympy.expand(node.args[0])
            if e == argument:
                return sympy.S(value)
            if e == complement:
                return sympy.S(1 - value)
        return node

    return rewrite_everywhere(expr, rewrite)


@rule("case split", "E = [e ≥ 0]·E|[e≥0]=1 + [e < 0]·E|[e≥0]=0 for a scalar integer e: the "
      "bracket is 0 or 1, and 1 - [e ≥ 0] = [e < 0]")
def case_split(expr: Expr, bracket: Expr) -> tuple[Expr, int]:
    """Split on [e ≥ 0] wherever it occurs (inside floors included).  e must be a scalar
    integer (on Z^D, 1 - [e ≥ 0] is not [e < 0]) free of the summation variables of expr."""
    if not isinstance(bracket, NonNeg):
        raise ProofError(f"a case split needs a bracket [e ≥ 0], got {bracket}")
    argument = sympy.expand(bracket.args[0])
    _per_axis(argument, "case split")
    if argument.is_integer is not True:
        raise ProofError(f"case split on [{argument} ≥ 0]: {argument} is not an integer")
    captured = set(summation_variables(expr)) & argument.free_symbols
    if captured:
        raise ProofError(f"case split on [{argument} ≥ 0]: it depends on the summation "
                         f"variable(s) {', '.join(sorted(map(str, captured)))}")
    if argument.atoms(sympy.Indexed) and expr.atoms(*OF_THE_ENTRIES):
        raise ProofError(f"case split on [{argument} ≥ 0]: a bracket of signal entries holds "
                         "at a point, and the expression differentiates by the entries or "
                         "takes an expectation over them")
    positive = NonNeg(argument) * _assign_bracket(expr, argument, 1)
    negative = NonNeg(sympy.expand(-argument - 1)) * _assign_bracket(expr, argument, 0)
    return positive + negative, 1


# --------------------------------------------------------------------------------------------
# Cyclic change of index
# --------------------------------------------------------------------------------------------

@rule("cyclic change of index", "Σ_{v ∈ [0, n-1]} g((v + c) mod n) = Σ_{v ∈ [0, n-1]} "
      "g((v + t + c) mod n): v -> (v + t) mod n permutes the box (componentwise on Z^D)")
def cyclic_reindex(expr: Expr, var: Symbol, shift: Expr) -> tuple[Expr, int]:
    """The summand may depend on v only through (v + c) mod n (n the box's size)."""
    shift = sympy.sympify(shift)

    def rewrite(term: Term) -> Term | None:
        v = bound_named(term, var)
        if v is None:
            return None
        start, low, end, high = _box(term, v)
        if low != 0:
            raise ProofError(f"cyclic change of index: the box of {var.name} starts at {low}, "
                             "not at 0")
        size = sympy.expand(high + 1)
        if v in shift.free_symbols:
            raise ProofError(f"the shift {shift} depends on {var.name}")
        if not is_multi(v) and any(is_multi(a) for a in shift.free_symbols):
            # (v + t) mod n moves each axis by its own t_a: no permutation of a scalar's box
            raise ProofError(f"cyclic change of index: the shift {shift} of the scalar "
                             f"{var.name} holds a multi-index")
        if not (integer_valued(shift) and integer_valued(size)):
            raise ProofError(f"cyclic change of index: the shift {shift} and the box size {size} "
                             "must be provably integers")
        summand = sympy.Mul(term.coeff, *term.atoms)
        refuse_inside_operators(summand, {v: v + shift}, f"the shift {shift}")
        captured = shift.free_symbols & set(summation_variables(summand))
        if captured:  # moved under Σ_w, a shift holding w would read the sum's w
            raise ProofError(f"cyclic change of index: the shift {shift} holds "
                             f"{', '.join(sorted(map(str, captured)))}, which a sum inside "
                             "the term binds")

        def move(node: Expr) -> Expr:
            if isinstance(node, sympy.Mod) and sympy.expand(node.args[1] - size) == 0 \
                    and linear_coefficient(node.args[0], v) == 1:
                return sympy.Mod(sympy.expand(node.args[0] + shift), size)
            return node

        marker = sympy.Dummy("wrapped")
        rest = [a for a in term.atoms if a is not start and a is not end]
        for part in (term.coeff, *rest):  # both passes below rewrite inner nodes first
            for node in sympy.preorder_traversal(part):
                if isinstance(node, sympy.Mod) and any(
                        isinstance(inner, sympy.Mod) and v in inner.free_symbols
                        for inner in sympy.preorder_traversal(node.args[0])):
                    raise ProofError(f"cyclic change of index: {node} holds a remainder of "
                                     f"{var.name} in another: only (v + c) mod n moves")

        def hide(node: Expr) -> Expr:
            return marker if move(node) is not node else node

        for part in (term.coeff, *rest):
            hidden = rewrite_everywhere(part, hide)
            if v in hidden.free_symbols:
                raise ProofError(f"cyclic change of index: {part} depends on {var.name} outside "
                                 f"({var.name} + c) mod {size}")
        return Term(rewrite_everywhere(term.coeff, move),
                    (start, end) + tuple(rewrite_everywhere(a, move) for a in rest), term.bound)

    return map_terms(expr, rewrite)
