"""The size rules (floor, ceil, max, case split, cyclic change of index) against exact values.

Each rule's output and input are evaluated exactly (convproof.symbolic.evaluate.instance, with
symbolic entries) at random sizes that respect the symbols' assumptions, negative numerators
included; each rule also refuses a rewrite it cannot justify.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy

from convproof.spec import ceil_div
from convproof.symbolic import ProofError, Signal, eq, in_range, le, lt, multi, scalar, zsum
from convproof.symbolic.evaluate import Instance
from convproof.symbolic.rules import apply_rule
from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rules)

n, s, m = scalar("n s m", positive=True)
a = scalar("a", nonnegative=True)
z, u, v = scalar("z u v")           # any integers; u and v are summation variables
x = Signal("x")


def rewritten(name: str, expr, **params):
    result, count = apply_rule(name, expr, **params)
    assert count > 0, f"rule {name} did not apply"
    return result


def random_values(rng) -> dict:
    return {n: int(rng.integers(1, 13)), s: int(rng.integers(1, 5)), m: int(rng.integers(1, 6)),
            a: int(rng.integers(0, 9)), z: int(rng.integers(-12, 13))}


def resolved(poly: dict) -> dict:
    """A floor of an expression with brackets stays an opaque factor ("floor", argument) in
    the exact evaluator; its argument is a number here, so it is replaced by its floor."""
    result: dict = {}
    for monomial, coeff in poly.items():
        factor, rest = Fraction(coeff), []
        for name, index in monomial:
            if name == "floor":
                (argument,) = index
                factor *= math.floor(dict(argument).get((), 0))
            else:
                rest.append((name, index))
        result[tuple(rest)] = result.get(tuple(rest), 0) + factor
    return {key: c for key, c in result.items() if c}


def assert_same(before, after, rng, trials: int = 20, draw=None, dims: int = 1) -> None:
    """Exactly equal values (polynomials in the entries of x) at random sizes."""
    draw = draw or random_values
    first = draw(rng)
    sides = [Instance(side, list(first), dims, first) for side in (before, after)]
    for trial in range(trials):
        values = first if trial == 0 else draw(rng)
        left, right = (resolved(side(values)) for side in sides)
        assert left == right, values


def test_floor_shift(rng):
    expr = sympy.floor((a + s * (m - 1)) / s) + le(0, sympy.floor((z + 3 * s) / s)) * x[0]
    after = rewritten("floor shift", expr)
    assert after.has(sympy.floor(a / s)) and after.has(sympy.floor(z / s))
    assert_same(expr, after, rng)


def test_floor_shift_leaves_a_fractional_quotient():
    _, count = apply_rule("floor shift", sympy.floor((n * s - n) / 2))
    assert count == 0  # (n·s - n)/2 is not an integer polynomial


def test_floor_bounds(rng):
    top = sympy.floor((n + z - 1) / s)
    expr = (zsum(le(0, u) * le(u, top) * x[u], u) + eq(top + 1, m) * x[-1]
            + le(z, top) * x[-2] + le(top, z) * x[-3] + zsum(in_range(v, 4) * le(top, v) * x[v], v))
    after = rewritten("floor bounds", expr)
    assert not after.has(sympy.floor)
    assert_same(expr, after, rng)


def test_floor_bounds_refuses_a_multiple_of_a_floor():
    with pytest.raises(ProofError, match="not ±floor"):
        apply_rule("floor bounds", le(0, 2 * sympy.floor(z / s) - 1))


def test_floor_bounds_refuses_multi_indices():
    k = multi("k", positive=True)
    with pytest.raises(ProofError, match="per-axis"):
        apply_rule("floor bounds", le(0, sympy.floor(k / 2) - 1))


def test_floor_value(rng):
    c = ceil_div(n, s)
    needed = (c - 1) * s + a + 1 - n          # the total of "same" padding before its max
    expr = (lt(a, s) * sympy.floor(a / s) * x[0] + lt(needed, 0) * sympy.floor((n - a - 1) / s)
            * x[1] + sympy.floor((n + s) / s) * x[2])
    after = rewritten("floor value", expr, value=0, floor=sympy.floor(a / s))
    assert_same(expr, after, rng)
    after = rewritten("floor value", after, value=c - 1, floor=sympy.floor((n - a - 1) / s))
    assert_same(expr, after, rng)
    after = rewritten("floor value", after, value=sympy.floor(n / s) + 1,
                      floor=sympy.floor((n + s) / s))
    assert_same(expr, after, rng)
    assert after.atoms(sympy.floor) == {sympy.floor(n / s), sympy.floor(-n / s)}


def test_floor_value_refuses_without_its_bounds():
    with pytest.raises(ProofError, match="cannot show"):
        apply_rule("floor value", sympy.floor(a / s) * x[0], value=0)
    with pytest.raises(ProofError, match="cannot show"):  # wrong where s divides n
        apply_rule("floor value", sympy.floor(n / s) * x[0], value=sympy.floor((n - 1) / s))
    with pytest.raises(ProofError, match="integer"):
        apply_rule("floor value", lt(a, s) * sympy.floor(a / s), value=sympy.Rational(1, 2))


def test_floor_value_takes_no_bracket_that_the_same_step_rewrites(rng):
    """Two floors each bounded only by the other's bracket: A = B = -2 would follow from the
    term as written (it is 0 everywhere), yet both brackets are rewritten and the result is
    x[0] at a = b = 0, s = 1.  One floor after another, each from the brackets as they are
    then, the step stays exact."""
    b = scalar("b", nonnegative=True)
    first, second = sympy.floor((a - 1) / s), sympy.floor((b - 1) / s)
    expr = le(a + s + 1 + second, 0) * le(b + s + 1 + first, 0) * x[0]
    after = rewritten("floor value", expr, value=-2)
    assert len(after.atoms(sympy.floor)) == 1

    def draw(generator):
        return {a: int(generator.integers(0, 9)), b: int(generator.integers(0, 9)),
                s: int(generator.integers(1, 5))}
    assert_same(expr, after, rng, draw=draw)
    assert_same(expr, after, rng, trials=1, draw=lambda _: {a: 0, b: 0, s: 1})


def test_ceil_as_floor(rng):
    expr = sympy.ceiling(z / s) * x[0] + ceil_div(n, s) * x[1] + sympy.ceiling((z - n) / s)
    after = rewritten("ceil as floor", expr)
    assert not after.has(sympy.ceiling)
    assert_same(expr, after, rng)


def test_max_as_cases(rng):
    expr = sympy.floor((n + sympy.Max(0, z - a)) / s) * x[0] + sympy.Max(z, a - n) * x[1]
    after = rewritten("max as cases", expr)
    assert not after.has(sympy.Max)
    assert_same(expr, after, rng)


def test_max_as_cases_refuses_multi_indices():
    k, d = multi("k d", positive=True)
    with pytest.raises(ProofError, match="per-axis"):
        apply_rule("max as cases", sympy.Max(0, k - d))


def test_case_split(rng):
    e = z - a
    expr = sympy.floor((n + le(0, e) * e) / s) * x[0] + lt(e, 0) * x[1] + x[2]
    after = rewritten("case split", expr, bracket=le(0, e))
    assert_same(expr, after, rng)


def test_case_split_refuses_summation_variables_and_multi_indices():
    with pytest.raises(ProofError, match="summation variable"):
        apply_rule("case split", zsum(in_range(u, n) * le(0, u - z) * x[u], u),
                   bracket=le(0, u - z))
    t = multi("t")
    with pytest.raises(ProofError, match="per-axis"):
        apply_rule("case split", x[0], bracket=le(0, t))


def test_cyclic_change_of_index(rng):
    size, shift, offset, i = multi("n", positive=True), multi("t"), multi("c"), multi("i")
    y = Signal("y")
    expr = zsum(in_range(i, size) * x[sympy.Mod(i + offset, size)] * y[sympy.Mod(i - 2, size)]
                * eq(sympy.Mod(i, size), sympy.Mod(offset, size)), i)
    after = rewritten("cyclic change of index", expr, var=i, shift=shift)
    for dims in (1, 2):
        def draw(generator, dims=dims):
            def axes(low, high):
                return tuple(int(q) for q in generator.integers(low, high + 1, size=dims))
            return {size: axes(1, 4), shift: axes(-6, 6), offset: axes(-6, 6)}
        assert_same(expr, after, rng, trials=10, draw=draw, dims=dims)


def test_cyclic_change_of_index_refuses_other_dependence():
    with pytest.raises(ProofError, match="outside"):
        apply_rule("cyclic change of index",
                   zsum(in_range(v, n) * x[sympy.Mod(v + z, n)] * x[v], v), var=v, shift=1)
    with pytest.raises(ProofError, match="starts at"):
        apply_rule("cyclic change of index",
                   zsum(le(1, v) * le(v, n) * x[sympy.Mod(v, n + 1)], v), var=v, shift=1)


def test_cyclic_change_of_index_refuses_a_multi_index_shift_of_a_scalar():
    """v -> (v + t) mod n moves each axis by its own t_a, which permutes no box of a scalar v:
    Σ_v [0 ≤ v ≤ m - 1][v mod m = k] is 0 at m = 2, k = (0, 1), and shifted by t = (0, 1)
    it would be 1."""
    shift, k = multi("t k")
    expr = zsum(in_range(v, m) * eq(sympy.Mod(v, m), k), v)
    with pytest.raises(ProofError, match="holds a multi-index"):
        apply_rule("cyclic change of index", expr, var=v, shift=shift)
    with pytest.raises(ProofError, match="holds a multi-index"):
        apply_rule("cyclic change of index", zsum(in_range(v, n) * x[sympy.Mod(v + z, n)], v),
                   var=v, shift=shift + 1)
