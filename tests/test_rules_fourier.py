"""The torus and character rules: each against exact evaluation, and their refusals.

A rule's output and input are evaluated exactly at random sizes (symbolic entries); the
characters are replaced by their values in the cyclotomic field Q(ζ_M), whose arithmetic is
itself checked against floating-point roots of unity.
"""

from __future__ import annotations

import cmath

import numpy as np
import pytest
import sympy

from convproof.symbolic import (Claim, Point, ProofError, Signal, in_range, le, multi, scalar,
                                zsum)
from convproof.symbolic.evaluate import instance
from convproof.symbolic.operators_fourier import (Character, character_entry, cyclotomic_zero,
                                                  dft, with_characters)
from convproof.symbolic.rules import apply_rule, unfold_all
from convproof.symbolic.rules_fourier import integer_multiple

n = multi("n", positive=True)
kappa, t, j, r, v = multi("kappa t j r v")
x, w = Signal("x"), Signal("w")


def random_values(rng, dims: int) -> dict:
    """A period n, a frequency κ and free indices t, v (one entry per axis)."""
    def axes(low, high):
        return tuple(int(a) for a in rng.integers(low, high + 1, size=dims))
    return {n: axes(1, 5), kappa: axes(-3, 5), t: axes(-6, 6), v: axes(-3, 3)}


def rewritten(name: str, expr, **params):
    result, count = apply_rule(name, expr, **params)
    assert count > 0, f"rule {name} did not apply"
    return result


def exact(expr, values: dict) -> dict:
    """The exact value: characters as roots of unity, the rest as polynomials in entries."""
    entries = unfold_all(expr).replace(lambda e: isinstance(e, Character),
                                       lambda e: character_entry(*e.args))
    dims = len(values[n])
    return with_characters(instance(entries, values, dims), dims, int(np.lcm.reduce(values[n])))


def assert_same(a, b, rng, trials: int = 6) -> None:
    for trial in range(trials):
        values = random_values(rng, dims=1 + trial % 3)
        left, right = exact(a, values), exact(b, values)
        period = np.lcm.reduce(values[n])
        for monomial in set(left) | set(right):
            one, other = left.get(monomial, {}), right.get(monomial, {})
            difference = {e: one.get(e, 0) - other.get(e, 0) for e in set(one) | set(other)}
            assert cyclotomic_zero(difference, int(period)), f"differ at {values}: {monomial}"


# --------------------------------------------------------------------------------------------
# The cyclotomic arithmetic of the certificates
# --------------------------------------------------------------------------------------------

def test_cyclotomic_zero_is_exact():
    assert cyclotomic_zero({0: 1, 1: 1, 2: 1}, 3)        # 1 + ζ₃ + ζ₃² = 0
    assert cyclotomic_zero({0: 1, 2: 1}, 4)              # 1 + i² = 0
    assert not cyclotomic_zero({0: 1, 1: 1}, 3)
    assert not cyclotomic_zero({1: 1, 5: -1}, 8)         # ζ₈ ≠ ζ₈⁵ = -ζ₈


def test_exact_dft_matches_floating_point(rng):
    """F(x)[κ] = Σ_j x[j] exp(2πi κ·j/n), exactly, against NumPy's inverse FFT (times n)."""
    for dims in (1, 2):
        sizes = tuple(int(a) for a in rng.integers(2, 6, size=dims))
        data = rng.integers(-9, 10, size=sizes)
        transform = dft(x, n, character_entry, name="F_test")
        expected = np.fft.ifftn(data) * data.size
        for index in np.ndindex(*sizes):
            value = exact(transform[kappa], {n: sizes, kappa: index})
            period = int(np.lcm.reduce(sizes))
            number = sum(complex(float(c)) * cmath.exp(2j * cmath.pi * e / period)
                         * int(data[tuple(key[1])]) for (key,), vector in value.items()
                         for e, c in vector.items())
            assert abs(number - expected[index]) < 1e-9


def test_integer_multiple():
    assert integer_multiple(n * r, n) == r
    assert integer_multiple(2 * n, n) == 2
    assert integer_multiple(n * r + 1, n) is None
    assert integer_multiple(sympy.Rational(1, 2) * n, n) is None
    assert integer_multiple(n * sympy.Symbol("f"), n) is None  # not known to be an integer


# --------------------------------------------------------------------------------------------
# One period and the remainder in its box
# --------------------------------------------------------------------------------------------

def test_one_period_is_sound(rng):
    for slope, shift in ((n, t + j), (-n, t - j), (2 * n, t)):
        period = slope if slope != -n else n
        box = le(0, shift + slope * r) * le(shift + slope * r, period - 1)
        expr = zsum(in_range(j, n) * x[j] * zsum(box, r), j)
        result = rewritten("one period", expr, var=r)
        assert not result.has(r)
        assert_same(expr, result, rng)


def test_one_period_with_scalar_variables(rng):
    a, period = scalar("a q")
    size = scalar("m", positive=True)
    brackets = le(0, a + size * period) * le(a + size * period, size - 1)
    expr = zsum(in_range(a, size) * x[a] * zsum(brackets, period), a)
    result = rewritten("one period", expr, var=period)
    for value in (1, 2, 5):
        assert instance(expr, {size: value}, 1) == instance(result, {size: value}, 1)


q = scalar("q")


@pytest.mark.parametrize("summand, variable, message", [
    (le(0, t + n * r) * le(t + n * r, n - 1) * x[r], r, "nowhere else"),
    (le(0, t + n * r) * le(t + n * r, n - 2), r, "do not span"),
    (le(0, t + t * r) * le(t + t * r, t - 1), r, "not provably"),
    (le(0, t + n * q) * le(t + n * q, n - 1), q, "cannot bound"),
])
def test_one_period_refuses(summand, variable, message):
    """A sum over r that is not exactly one period (or not only brackets) is refused; with a
    scalar q shared by the axes of a multi-index the count would be wrong, so it is refused."""
    with pytest.raises(ProofError, match=message):
        apply_rule("one period", zsum(in_range(j, n) * x[j] * zsum(summand, variable), j),
                   var=variable)


def test_remainder_in_its_box_is_sound(rng):
    box = le(0, t - j - n * r) * le(t - j - n * r, n - 1)
    for index in (sympy.Mod(t - j, n), sympy.Mod(t - j + 2 * n, n)):
        expr = zsum(in_range(j, n) * box * x[j] * w[index], j, r)
        result = rewritten("remainder in its box", expr)
        assert not result.has(sympy.Mod)
        for trial in range(6):
            values = random_values(rng, 1 + trial % 3)
            dims = len(values[n])
            assert instance(expr, values, dims) == instance(result, values, dims)


@pytest.mark.parametrize("index, upper", [
    (sympy.Mod(t - j + 1, n), n - 1),   # not the remainder of the boxed quantity
    (sympy.Mod(t - j, n), n - 2),       # a box shorter than one period
])
def test_remainder_outside_its_box_is_not_rewritten(index, upper):
    box = le(0, t - j - n * r) * le(t - j - n * r, upper)
    expr = zsum(in_range(j, n) * box * x[j] * w[index], j, r)
    _, count = apply_rule("remainder in its box", expr)
    assert count == 0


# --------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------

def test_character_of_a_sum_is_sound(rng):
    expr = zsum(in_range(j, n) * x[j] * Character(n, kappa, j + t - 2 * v), j)
    result = rewritten("character of a sum", expr, var=j)
    assert len(result.atoms(Character)) == 2  # χ(κ, j)·χ(κ, t - 2v)
    assert_same(expr, result, rng)
    merged = rewritten("character of a sum", result, var=t)
    assert_same(expr, merged, rng)


def test_periodic_character_is_sound(rng):
    expr = zsum(in_range(j, n) * x[j] * Character(n, kappa, j + n * v + 3 * n - t), j)
    result = rewritten("periodic character", expr)
    assert not result.has(v)
    assert_same(expr, result, rng)


def test_character_rules_apply_nowhere_without_a_match():
    expr = zsum(in_range(j, n) * x[j] * Character(n, kappa, j), j)
    assert apply_rule("character of a sum", expr, var=j)[1] == 0
    assert apply_rule("periodic character", expr)[1] == 0


def test_periodic_character_refuses_unproved_side_conditions():
    maybe_zero = multi("z", nonnegative=True)
    with pytest.raises(ProofError, match="period"):
        apply_rule("periodic character", x[j] * Character(maybe_zero, kappa, j + maybe_zero * v))
    real = sympy.Symbol("f")  # a frequency not known to be an integer
    with pytest.raises(ProofError, match="frequency"):
        apply_rule("periodic character", x[j] * Character(n, real, j + n * v))


def test_torus_certificates_keep_each_characters_period():
    """chi[κ, j] dropped its period: F_2n(x)[κ] = F_n(x)[κ] for x on [0, n - 1] was certified
    (n = 2, κ = 1, x = (0, 1): i against -1)."""
    from convproof.symbolic.operators_fourier import supported, torus_certified
    x = Signal("x")
    on_n = supported(x, 0, n - 1, name="x_n")
    claim = Claim("F_2n = F_n", dft(on_n, 2 * n, character_entry, name="F_2n")[kappa],
                  dft(on_n, n, character_entry, name="F_n")[kappa],
                  indices={kappa: in_range(kappa, n)})
    evidence = torus_certified(claim, [Point({n: (s,)}, 1) for s in (1, 2, 3)])
    assert not evidence.ok and "exp(2πi/4)" in evidence.message
    same = Claim("F_n = F_n", dft(on_n, n, character_entry, name="F_n")[kappa],
                 dft(x, n, character_entry, name="F_x")[kappa],
                 indices={kappa: in_range(kappa, n)})
    assert torus_certified(same, [Point({n: (s,)}, 1) for s in (1, 2, 3)]).ok


def test_torus_certificates_refuse_a_frequency_without_a_value_per_axis():
    """A constant frequency in 2-D was read (1, j0) for κ, j0 lost: F_n(x)[1] = Σ x[j] was
    certified at n = (1, m), where F(x)[(1, 1)] = -1 for x = [[0, 1]] and Σ x = 1."""
    from convproof.symbolic.operators_fourier import torus_certified
    x = Signal("x")
    claim = Claim("F(x)[1] = Σ x", dft(x, n, character_entry, name="F_exact")[1],
                  zsum(in_range(t, n) * x[t], t))
    with pytest.raises(ProofError, match="one value per axis"):
        torus_certified(claim, [Point({n: (1, 2)}, 2)])
