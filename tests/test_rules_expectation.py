"""The expectation calculus: each rule's output equals its input, evaluated exactly over finite
laws that satisfy the declared ones (drawn at random); and the cases each rule must refuse."""

from __future__ import annotations

import pytest
import sympy
from sympy import Rational

from convproof.symbolic import Signal, in_range, scalar, zsum
from convproof.symbolic.normal import ProofError
from convproof.symbolic.operators_layers import Values, exact_value, relu
from convproof.symbolic.rules import apply_rule
from convproof.symbolic.rules_expectation import (E, Expectation, FiniteLaw, bernoulli, centered,
                                                  check_member, entries_moment, normal,
                                                  random_signal, stationary, symmetric, variance)

j, k = scalar("j k")
n = scalar("n", positive=True)
q, s2, v = sympy.symbols("q sigma2 v", positive=True)
x = Signal("x")
HALF = (Rational(1, 2), Rational(1, 2))


def fraction(rng, low=1, high=9) -> Rational:
    return Rational(int(rng.integers(low, high)), 10)


def indices(rng, coincide: bool) -> dict:
    """Values for j and k: equal or different, as asked."""
    first = int(rng.integers(0, 3))
    return {j: first, k: first if coincide else first + int(rng.integers(1, 3))}


def coin(q_) -> FiniteLaw:
    return FiniteLaw((0, 1), (1 - q_, q_))


def both_sides(rule: str, expr, point: Values, **params):
    """The rule's output (it must apply) and the exact values of input and output."""
    out, count = apply_rule(rule, expr, **params)
    assert count > 0
    return out, exact_value(expr, point), exact_value(out, point)


def test_linearity_moves_sums_coefficients_and_inputs_out(rng):
    m = random_signal("m", bernoulli(q))
    a, b = (int(rng.choice([-1, 1]) * rng.integers(1, 6)) for _ in range(2))  # a random part
    expr = E(zsum(in_range(j, n) * (a * m[j] * x[j] + b * m[j] ** 2), j) + 3 * x[0])
    size, q_ = int(rng.integers(1, 4)), fraction(rng)
    point = Values({n: size, q: q_}, {"x": {(t,): int(rng.integers(-9, 10)) for t in range(size)}},
                   {"m": coin(q_)})
    out, before, after = both_sides("linearity of expectation", expr, point)
    assert before == after
    assert out.has(Expectation) and not any(e.args[0].has(x[0]) for e in out.atoms(Expectation))


def test_linearity_leaves_a_bare_random_product():
    m = random_signal("m", bernoulli(q))
    assert apply_rule("linearity of expectation", E(m[j] * m[k]))[1] == 0


@pytest.mark.parametrize("coincide", [True, False])
def test_independence_splits_distinct_signals(rng, coincide):
    w, z = random_signal("w", centered(s2)), random_signal("z", bernoulli(q))
    expr = E(w[j] * z[j] * w[k] * z[0])
    a, q_ = int(rng.integers(1, 4)), fraction(rng)
    point = Values({s2: a ** 2, q: q_, **indices(rng, coincide)},
                   laws={"w": FiniteLaw((-a, a), HALF), "z": coin(q_)})
    out, before, after = both_sides("independence", expr, point)
    assert before == after
    assert len(out.atoms(Expectation)) == 2


def test_independence_does_not_split_one_signal():
    w = random_signal("w", centered(s2))
    assert apply_rule("independence", E(w[j] * w[k]))[1] == 0


@pytest.mark.parametrize("coincide", [True, False])
@pytest.mark.parametrize("powers", [(1, 2), (2, 2), (1, 1), (3, 1)])
def test_moments_of_independent_entries(rng, powers, coincide):
    m = random_signal("m", bernoulli(q))
    q_ = fraction(rng)
    point = Values({q: q_, **indices(rng, coincide)}, laws={"m": coin(q_)})
    expr = E(m[j] ** powers[0] * m[k] ** powers[1])
    out, before, after = both_sides("moments of the law", expr, point)
    assert before == after and not out.has(Expectation)


@pytest.mark.parametrize("coincide", [True, False])
def test_moments_of_a_centered_and_a_normal_law(rng, coincide):
    w, g = random_signal("w", centered(s2)), random_signal("g", normal(1))
    a = int(rng.integers(1, 5))
    point = Values({s2: a ** 2, **indices(rng, coincide)},
                   laws={"w": FiniteLaw((-a, a), HALF),
                         # mean 0, E[X²] = 1, E[X⁴] = 3: the moments of N(0, 1) up to the fourth
                         "g": FiniteLaw((-sympy.sqrt(3), 0, sympy.sqrt(3)),
                                        (Rational(1, 6), Rational(2, 3), Rational(1, 6)))})
    expr = E(w[j] * w[k]) + 5 * E(g[j] ** 4) - E(g[j] * g[k] ** 3)
    _, before, after = both_sides("moments of the law", expr, point)
    assert before == after


def test_moments_refuse_what_the_law_leaves_open():
    w, xs = random_signal("w", centered(s2)), random_signal("x", stationary(second=q))
    assert apply_rule("moments of the law", E(w[j] ** 3))[1] == 0
    assert apply_rule("moments of the law", E(xs[j] * xs[k]))[1] == 0
    with pytest.raises(ProofError, match="does not fix E"):
        entries_moment(centered(s2), {(j,): 3}, "w")
    with pytest.raises(ProofError, match="not independent"):
        entries_moment(stationary(second=q), {(j,): 1, (k,): 1}, "x")


@pytest.mark.parametrize("coincide", [True, False])
def test_symmetry_averages_the_flipped_expectation(rng, coincide):
    z, w = random_signal("z", symmetric(v)), random_signal("w", bernoulli(q))
    expr = E(relu(z[j]) ** 2 * w[k]) + E(z[j] * relu(-z[k]))
    a, b, q_ = int(rng.integers(1, 4)), int(rng.integers(4, 7)), fraction(rng)
    law = FiniteLaw((-b, -a, a, b), (Rational(1, 4),) * 4)
    point = Values({v: law.moment(2), q: q_, **indices(rng, coincide)},
                   laws={"z": law, "w": coin(q_)})
    _, before, after = both_sides("symmetry", expr, point, signal=z)
    assert before == after


def test_symmetry_flips_the_entries_inside_an_index_too():
    """F(z) = z[z[0]]·z[1]·z[0]: F(-z) = -z[-z[0]]·z[1]·z[0], not -F(z), so E[F] = 0 does not
    follow (it is 1/2 for entries +1 or -1 with probability 1/2 each)."""
    z = random_signal("z", symmetric(1))
    flipped, _ = apply_rule("symmetry", E(z[z[0]] * z[1] * z[0]), signal=z)
    assert flipped == (E(z[z[0]] * z[1] * z[0]) + E(-z[-z[0]] * z[1] * z[0])) / 2


def test_symmetry_refuses_a_law_that_is_not_symmetric():
    m = random_signal("m", bernoulli(q))
    with pytest.raises(ProofError, match="symmetric"):
        apply_rule("symmetry", E(m[j]), signal=m)


def test_variance_is_second_moment_minus_squared_mean():
    m = random_signal("m", bernoulli(q))
    assert variance(m[j]) == E(m[j] ** 2) - E(m[j]) ** 2


def test_finite_laws_are_checked_against_their_declaration():
    with pytest.raises(ProofError, match="declared law"):
        check_member(FiniteLaw((-1, 1), HALF), centered(s2), {s2: 4}, "w")
    with pytest.raises(ProofError, match="not symmetric"):
        check_member(FiniteLaw((-1, 2), (Rational(2, 3), Rational(1, 3))), symmetric(2), {}, "z")
    with pytest.raises(ValueError, match="do not sum to 1"):
        FiniteLaw((0, 1), (Rational(1, 2), Rational(1, 3)))


def test_random_signals_of_one_name_are_distinct():
    first, second = random_signal("u", bernoulli(q)), random_signal("u", centered(s2))
    assert first.base != second.base


def test_a_law_takes_no_entries_as_parameters():
    """m ~ Bernoulli(z0) with z random tied m to z, which the rules take as independent:
    E[m0 z0] = E[m0] E[z0] was proved (1/2 against 1/4), and E[m0] = z0 too."""
    from convproof.symbolic.rules_expectation import random_signal, symmetric
    z = random_signal("z_parameter", bernoulli(Rational(1, 2)))
    for make in (lambda: bernoulli(z[0]), lambda: symmetric(1 + z[0] ** 2),
                 lambda: centered(x[0] ** 2)):
        with pytest.raises(ProofError, match="not entries of signals"):
            make()


def test_a_law_made_by_hand_cannot_contradict_itself():
    """A law declared symmetric with mean 1 proved 1 = 0 through 'symmetry'."""
    from convproof.symbolic.rules_expectation import Law
    with pytest.raises(ProofError, match="is symmetric, so E\\[X\\^1\\] = 0, not 1"):
        Law("lopsided", {0: 1, 1: 1}.get, True, True, frozenset())
    with pytest.raises(ProofError, match="E\\[X\\^0\\] = 1, not 2"):
        Law("heavy", {0: 2}.get, True, False, frozenset())
    assert Law("open", {0: 1}.get, True, True, frozenset()).declared(3) is None


def test_a_law_s_moments_are_read_once_and_checked_where_read():
    """A symmetric law with E[X^9] = 1 (past the moments checked at once), a moment that
    answered 0 and then 1, one given as another signal's entry, and one that raised or was
    no number: 1 = 0 was proved with the first three, the others crashed."""
    from convproof.symbolic.rules_expectation import Law, random_signal
    odd = Law("late", {0: 1, 9: 1}.get, True, True, frozenset())
    with pytest.raises(ProofError, match="is symmetric, so E\\[X\\^9\\] = 0, not 1"):
        odd.declared(9)
    answers = iter((0, 1))
    fickle = Law("fickle", lambda k: next(answers) if k == 1 else {0: 1}.get(k), True, False,
                 frozenset())
    assert fickle.declared(1) == 0 and fickle.declared(1) == 0
    z = random_signal("z_moment", bernoulli(Rational(1, 2)))
    with pytest.raises(ProofError, match="no entry of a signal"):
        Law("tied", {0: 1, 1: z[0]}.get, True, False, frozenset())
    with pytest.raises(ProofError, match="gives no E\\[X\\^1\\]: KeyError"):
        Law("raising", lambda k: {0: 1}[k], True, False, frozenset())
    with pytest.raises(ProofError, match="E\\[X\\^1\\]"):
        Law("listed", {0: 1, 1: [0]}.get, True, False, frozenset())
    with pytest.raises(ProofError, match="gives no E\\[X\\^8\\]"):
        Law("named", {0: 1, 8: "eight"}.get, True, False, frozenset()).declared(8)
