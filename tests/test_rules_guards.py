"""Side conditions of the rules that no other test held: each false claim here was accepted at
level universal with its guard removed (mutation testing of the engine), and must be refused.

Every claim is false at the point its comment names; the rule must refuse the step (or the
normal form the sum), never prove it.
"""

from __future__ import annotations

import pytest
import sympy

from convproof.symbolic import (Claim, Derivation, EqZero, NonNeg, ProofError, Signal, eq, le,
                                load, multi, normal_form, scalar, universal, zsum)
from convproof.symbolic import rules_counting, rules_real, rules_sizes  # noqa: F401 (rules)
from convproof.symbolic.rules import apply_rule, check_instance
from convproof.symbolic.rules_sums import every

x, y, g = Signal("x"), Signal("y"), Signal("g")
a, b, h, i, v = scalar("a b h i v", integer=True)
nonzero = scalar("n", integer=True, nonzero=True)
natural = scalar("q", integer=True, nonnegative=True)
s = scalar("s", integer=True, positive=True)


def refused(claim: Claim, derivation: Derivation) -> str:
    """The message of the refusal (a failed step, or the claim refused when made)."""
    evidence = universal(claim, derivation)
    assert not evidence.ok, f"{claim.name} was proved"
    return evidence.message


@pytest.mark.parametrize("name, lhs, rhs, rule, params", [
    # [-q ≥ 0] is 0 only where -(-q) - 1 ≥ 0: at q = 0 the bracket is 1
    ("a bracket true at zero", NonNeg(-natural) * x[natural], 0, "decide brackets", {}),
    # [s i = s] holds at i = 1: the remainder s is no remainder below the factor s
    ("between equal multiples", EqZero(s * i - s) * x[i], 0, "between multiples",
     dict(factor=s, remainder=s)),
    # the box [a, a] holds one point
    ("a one-point box", zsum(le(a, v) * le(v, a) * x[v], v), 0, "empty box", {}),
    # at h = -2 the left side is 0, the right 1 - 1/mu
    ("a geometric series of any length",
     (1 - sympy.Symbol("mu", positive=True)) * zsum(
         le(0, v) * le(v, h) * sympy.Symbol("mu", positive=True) ** v, v),
     1 - sympy.Symbol("mu", positive=True) ** (h + 1), "geometric series",
     dict(var=v, ratio=sympy.Symbol("mu", positive=True))),
    # floor(a/s) < 0 at s = -1, a = -1 while [a ≥ 0] = 0: the divisor must be at least 1
    ("a floor over a negative divisor", NonNeg(sympy.floor(a / nonzero)) * x[a],
     NonNeg(a) * x[a], "floor bounds", {}),
    # t = -1/2 is in neither case
    ("a case split on a real", x[0],
     NonNeg(sympy.Symbol("t", real=True)) * x[0] + NonNeg(-sympy.Symbol("t", real=True) - 1)
     * x[0], "case split", dict(bracket=NonNeg(sympy.Symbol("t", real=True)))),
    # Mod(1, -2) = -1, floor(1/-1) = -1, max(-1, -1) = -1
    ("a remainder of a negative modulus", NonNeg(sympy.Mod(a, nonzero)) * x[a], x[a],
     "decide brackets", {}),
    ("a floor of a negative divisor", NonNeg(sympy.floor(natural / nonzero)) * x[natural],
     x[natural], "decide brackets", {}),
    ("a max of negatives", NonNeg(sympy.Max(a, b)) * x[a], x[a], "decide brackets", {}),
])
def test_a_rule_refuses_what_its_side_condition_excludes(name, lhs, rhs, rule, params):
    refused(Claim(name, lhs, rhs), Derivation(lhs).by(rule, rhs, **params))


def test_powers_of_a_base_that_may_be_zero_combine_only_positive_exponents():
    """b^-1 b^K = b^(K-1) for b = x0² + a ≥ 0: at x0 = a = 0 the left side has no value."""
    base = x[0] ** 2 + scalar("a0", integer=True, nonnegative=True)
    exponent = scalar("K", integer=True, positive=True)
    lhs, rhs = base ** -1 * base ** exponent * g[0], base ** (exponent - 1) * g[0]
    refused(Claim("b^-1 b^K", lhs, rhs), Derivation(lhs).by("powers of one base", rhs, base=base))


def test_an_entry_hypothesis_is_used_at_integer_indices_only():
    """y[c] = 2c for every c ≥ 0 (c not declared an integer) says nothing of y[1/2]."""
    c = sympy.Symbol("c", nonnegative=True)
    hypothesis = every((c,), y[c], 2 * c)
    half = sympy.Rational(1, 2)
    refused(Claim("y at a half", y[half], 1, hypotheses=(hypothesis,)),
            Derivation(y[half]).by("entry hypothesis", 1, equation=hypothesis))


def test_a_bracket_pins_its_variable_only_where_its_slope_is_nonzero():
    """Σ_v [p v = 0] x_v sums over every v at p = 0: no finite support."""
    with pytest.raises(ProofError, match="not finitely supported"):
        normal_form(zsum(eq(natural * v, 0) * x[v], v))


def test_a_known_result_needs_its_lemmas_hypotheses():
    """k_h k_w = 2 holds under the lemma's table sizes only, not for every kernel."""
    lemma = load("efficiency-counts").claims["table stored: convolution"]
    claim = Claim("every kernel has two taps", lemma.lhs, lemma.rhs)
    message = refused(claim, Derivation(claim.lhs).by(
        "known result", claim.rhs, theorem="efficiency-counts",
        claim="table stored: convolution", instance={}, context=lambda e: e))
    assert "neither holds for this instance nor is a hypothesis of the claim" in message


def test_refusals_that_name_their_reason():
    """Guards whose removal left the result sound, but the reason unsaid."""
    with pytest.raises(ProofError, match="several brackets pin"):
        apply_rule("Kronecker delta", zsum(eq(v, a) * eq(v, b) * x[v], v), var=v)
    with pytest.raises(ProofError, match="multi-index"):  # a scalar set to a multi-index
        check_instance(scalar("c_scalar", integer=True), multi("i_m"))
    total = sympy.Eq(zsum(le(0, v) * le(v, h) * y[v], v), 1, evaluate=False)
    _, count = apply_rule("sum hypothesis", zsum(le(0, v) * le(v, h) * v * y[v], v),
                          equation=total)
    assert count == 0  # a coefficient of v is no multiple of the sum
