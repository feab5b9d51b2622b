"""The counting and residue rules: each rewrite against exact evaluation, and its refusals.

Every rule's output and input are evaluated exactly (symbolic entries, integer sizes) at
random values, negative ones included where the statement allows them, so a rewrite that
changes the value of a single instance fails.
"""

from __future__ import annotations

import pytest
import sympy

from convproof.symbolic import (Claim, Derivation, Divides, ProofError, Signal, ZSum, eq,
                                in_range, le, multi, scalar, universal, zsum)
from convproof.symbolic import rules_counting  # noqa: F401  (registers the rules)
from convproof.symbolic.evaluate import instance
from convproof.symbolic.rules import apply_rule

x = Signal("x")
a, e, lo, hi = scalar("a e l h")
u, v = scalar("u v")
n = scalar("n", positive=True)
A, E = multi("A E")
N = multi("N", positive=True)
J = multi("J")


def rewritten(name: str, expr, **params):
    result, count = apply_rule(name, expr, **params)
    assert count > 0, f"rule {name!r} did not apply"
    return result


def assert_same_values(before, after, draw, trials: int = 25) -> None:
    """before and after agree exactly at ``trials`` random points drawn by ``draw()``."""
    for _ in range(trials):
        values, dims = draw()
        assert instance(before, values, dims) == instance(after, values, dims), values


def scalars(rng, *symbols, low=-6, high=6):
    return {s: int(rng.integers(low, high + 1)) for s in symbols}


def axes(rng, dims, low, high):
    return tuple(int(value) for value in rng.integers(low, high + 1, size=dims))


# --------------------------------------------------------------------------------------------
# count an interval
# --------------------------------------------------------------------------------------------

def test_counting_an_interval_matches_enumeration(rng):
    """Σ_v [l ≤ v ≤ h] x[a] = (h - l + 1)[h ≥ l - 1] x[a], empty intervals included."""
    before = zsum(le(lo, v) * le(v, hi) * x[a], v)
    after = rewritten("count an interval", before, var=v)
    assert not after.has(ZSum)
    assert_same_values(before, after, lambda: (scalars(rng, lo, hi, a), 1))


def test_counting_with_bounds_that_depend_on_an_outer_sum(rng):
    """Σ_u Σ_v [0 ≤ u ≤ a][u + e ≤ v ≤ h] x[u]: the count of v depends on u."""
    before = zsum(in_range(u, a) * le(u + e, v) * le(v, hi) * x[u], u, v)
    after = rewritten("count an interval", before, var=v)
    assert_same_values(before, after, lambda: (scalars(rng, a, e, hi, low=-3, high=7), 1))


def test_counting_several_variables_in_turn(rng):
    before = 3 * zsum(in_range(u, a) * in_range(v, hi) * x[e], u, v) - zsum(in_range(u, a), u)
    after = rewritten("count an interval", before, var=(u, v))
    assert not after.has(ZSum)
    assert_same_values(before, after, lambda: (scalars(rng, a, hi, e, low=-2, high=8), 1))


def test_counting_up_to_a_floor(rng):
    """Bounds may be any integers, floors included: Σ_v [e ≤ v ≤ floor((h - 1)/n)] x[a]."""
    before = zsum(le(e, v) * le(v, sympy.floor((hi - 1) / n)) * x[a], v)
    after = rewritten("count an interval", before, var=v)
    assert_same_values(before, after, lambda: ({**scalars(rng, e, hi, a, low=-8, high=12),
                                                n: int(rng.integers(1, 4))}, 1))


def test_counting_leaves_out_a_provably_true_bracket():
    count = rewritten("count an interval", zsum(in_range(v, n), v), var=v)
    assert sympy.expand(count - n) == 0


@pytest.mark.parametrize("summand, reason", [
    (v * in_range(v, n), "coefficient"),                              # f depends on v
    (le(0, v) * le(a, v) * le(v, hi), "exactly one lower"),           # two lower bounds
    (le(0, 2 * v) * le(v, hi), "is not a bound"),                     # slope 2
    (in_range(v, n) * x[v], "is not a bound"),                        # v in an entry
    (le(n / 2, v) * le(v, hi), "not provably an integer"),            # a bound between integers
])
def test_counting_refuses_what_it_cannot_count(summand, reason):
    with pytest.raises(ProofError, match=reason):
        apply_rule("count an interval", zsum(summand, v), var=v)


def test_counting_refuses_a_multi_index_and_a_missing_sum():
    with pytest.raises(ProofError, match="multi-index"):
        apply_rule("count an interval", zsum(in_range(J, N), J), var=J)
    with pytest.raises(ProofError, match="no sum over u"):
        apply_rule("count an interval", zsum(in_range(v, n), v), var=(v, u))


# --------------------------------------------------------------------------------------------
# Residues
# --------------------------------------------------------------------------------------------

def draw_residue_point(rng):
    dims = int(rng.integers(1, 4))
    return {A: axes(rng, dims, -9, 9), E: axes(rng, dims, -9, 9), N: axes(rng, dims, 1, 5),
            J: axes(rng, dims, -3, 7)}, dims


def test_remainder_bounds_decide_the_brackets_they_decide(rng):
    r = sympy.Mod(A, N)
    before = le(0, r) * le(r, N - 1) * x[J] + le(N, r) * x[E] + le(2, r) * x[A]
    after = rewritten("remainder bounds", before)
    assert after.has(le(2, r)) and not after.has(le(N, r))  # [r ≥ 2] is not decided
    assert_same_values(before, after, lambda: draw_residue_point(rng))


def test_remainder_as_congruence(rng):
    """[j = a mod n] = [n | a - j][0 ≤ j ≤ n - 1], also as a delta that pins a sum."""
    for before in (eq(J, sympy.Mod(A, N)) * x[J],
                   zsum(eq(sympy.Mod(A + E, N), J) * x[J], J)):
        after = rewritten("remainder as congruence", before)
        assert after.has(Divides)
        assert_same_values(before, after, lambda: draw_residue_point(rng))


def test_reduce_modulo(rng):
    """[n | e + c·(a mod n)] = [n | e + c·a] for integer c, negative c included."""
    before = Divides(N, E - 3 * sympy.Mod(A, N)) * x[J] + Divides(N, sympy.Mod(A + J, N) + E) * x[A]
    after = rewritten("reduce modulo", before)
    assert not after.has(sympy.Mod)
    assert_same_values(before, after, lambda: draw_residue_point(rng))


def test_reduced_residue(rng):
    """[0 ≤ a ≤ n - 1]·x[a mod n] = [0 ≤ a ≤ n - 1]·x[a], the bound on n implied."""
    box = le(0, A) * le(A, N - 1)
    before = box * x[sympy.Mod(A, N)] + le(0, A) * x[sympy.Mod(A, N) + E]
    after = rewritten("reduced residue", before)
    assert after.has(x[A]) and after.has(x[sympy.Mod(A, N) + E])  # half a box is not enough
    assert_same_values(before, after, lambda: draw_residue_point(rng))


def test_residue_rules_refuse_fractions():
    with pytest.raises(ProofError, match="not provably an integer"):
        apply_rule("reduce modulo", Divides(N, E + sympy.Rational(1, 2) * sympy.Mod(A, N)))
    with pytest.raises(ProofError, match="not provably an integer"):
        apply_rule("remainder as congruence", eq(sympy.Mod(A, N), E / 2) * x[J])
    # the remainder of a fraction may exceed n - 1: its brackets are left undecided
    assert apply_rule("remainder bounds", le(sympy.Mod(A / 2, N), N - 1) * x[J])[1] == 0


def test_residue_rules_need_a_positive_modulus():
    """A modulus that is not provably ≥ 1 (a plain integer symbol) is left alone, so a step
    that leans on the rule fails instead of passing."""
    modulus = multi("M")
    claim = Claim("no modulus", eq(J, sympy.Mod(A, modulus)) * x[J],
                  Divides(modulus, A - J) * le(0, J) * le(J, modulus - 1) * x[J])
    proof = Derivation(claim.lhs).by("remainder as congruence", claim.rhs)
    evidence = universal(claim, proof)
    assert not evidence.ok and "applies nowhere" in evidence.message
    for name in ("remainder bounds", "reduced residue"):
        assert apply_rule(name, le(sympy.Mod(A, modulus), modulus - 1) * x[J])[1] == 0
