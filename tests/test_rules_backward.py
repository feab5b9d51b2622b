"""The rules of the backward-pass theorems: each rewrite against exact evaluation, and refusals.

Both sides of every rewrite are evaluated exactly (symbolic entries, integer sizes) at random
values, so a rewrite that changes a single instance fails; the refusals are the cases where
a side condition does not hold or cannot be proved.
"""

from __future__ import annotations

import pytest
import sympy

from convproof.symbolic import (Derivation, NonNeg, ProofError, Signal, le, multi, scalar,
                                zsum)
from convproof.symbolic import rules_backward  # noqa: F401  (registers the rules)
from convproof.symbolic.evaluate import instance
from convproof.symbolic.rules import apply_rule
from convproof.symbolic.rules_backward import unfloored

x = Signal("x")
i, r, t = scalar("i r t")
n, s = scalar("n s", positive=True)
p = scalar("p", nonnegative=True)
I = multi("I")
N, S = multi("N S", positive=True)


def rewritten(name: str, expr):
    result, count = apply_rule(name, expr)
    assert count > 0, f"rule {name!r} did not apply"
    return result


def assert_same_values(before, after, draw, trials: int = 40) -> None:
    for _ in range(trials):
        values, dims = draw()
        assert instance(before, values, dims) == instance(after, values, dims), values


# --------------------------------------------------------------------------------------------
# bound under a floor
# --------------------------------------------------------------------------------------------

def test_floor_bound_below_matches_enumeration(rng):
    """[⌊Y/s⌋ - i ≥ 0] = [Y - s·i ≥ 0], negative Y and i included."""
    before = NonNeg(sympy.floor((n + p - 4) / s) - i) * x[i]
    after = rewritten("bound under a floor", before)
    assert not after.has(sympy.floor)

    def draw():
        return {n: int(rng.integers(1, 9)), p: int(rng.integers(0, 4)),
                s: int(rng.integers(1, 5)), i: int(rng.integers(-4, 6))}, 1
    assert_same_values(before, after, draw)


def test_floor_bound_above_and_a_constant_matches_enumeration(rng):
    """[r + 2 - ⌊(2n - 3)/s⌋ ≥ 0] = [s(r + 2) + s - 1 - (2n - 3) ≥ 0]."""
    before = NonNeg(r + 2 - sympy.floor((2 * n - 3) / s)) * x[r]
    after = rewritten("bound under a floor", before)
    assert after.has(NonNeg) and not after.has(sympy.floor)

    def draw():
        return {n: int(rng.integers(1, 9)), s: int(rng.integers(1, 6)),
                r: int(rng.integers(-6, 6))}, 1
    assert_same_values(before, after, draw)


def test_floor_bound_holds_componentwise_for_multi_indices(rng):
    before = NonNeg(sympy.floor((N - 1) / S) - I) * x[I]
    after = rewritten("bound under a floor", before)

    def draw():
        return {N: tuple(int(v) for v in rng.integers(1, 8, size=2)),
                S: tuple(int(v) for v in rng.integers(1, 4, size=2)),
                I: tuple(int(v) for v in rng.integers(-2, 6, size=2))}, 2
    assert_same_values(before, after, draw)


def test_floor_bound_inside_a_sum_keeps_the_sum(rng):
    before = zsum(le(0, i) * NonNeg(sympy.floor((n - 1) / s) - i) * x[i], i)
    after = rewritten("bound under a floor", before)

    def draw():
        return {n: int(rng.integers(1, 12)), s: int(rng.integers(1, 5))}, 1
    assert_same_values(before, after, draw)


def test_floor_bound_refuses_a_divisor_that_may_be_zero():
    with pytest.raises(ProofError, match="divisor t"):
        apply_rule("bound under a floor", NonNeg(sympy.floor(n / t) - i) * x[i])


def test_floor_bound_refuses_a_fractional_offset():
    with pytest.raises(ProofError, match="integer polynomials"):
        unfloored(sympy.floor(n / s) - i / 2)


def test_floor_bound_applies_nowhere_without_a_floor():
    assert apply_rule("bound under a floor", NonNeg(n - i) * x[i])[1] == 0
    assert unfloored(n - 2 * sympy.floor(n / s)) is None  # a factor 2 is not a plain floor


# --------------------------------------------------------------------------------------------
# implied by the product
# --------------------------------------------------------------------------------------------

def test_size_conditions_imply_position_brackets(rng):
    """u ≥ n - 1 - q and q ≤ n - 1 give u ≥ 0: a fact about sizes alone is used."""
    u, q = scalar("u q")
    before = NonNeg(u) * NonNeg(u + q + 1 - n) * NonNeg(n - 1 - q) * x[u]
    after = rewritten("implied by the product", before)
    assert after == NonNeg(u + q + 1 - n) * NonNeg(n - 1 - q) * x[u]

    def draw():
        return {u: int(rng.integers(-5, 6)), q: int(rng.integers(-2, 6)),
                n: int(rng.integers(1, 7))}, 1
    assert_same_values(before, after, draw)


def test_a_duplicate_bracket_is_dropped_once():
    before = NonNeg(n - i) * NonNeg(n - i) * x[i]
    assert apply_rule("implied by the product", before)[0] == NonNeg(n - i) * x[i]


def test_a_bracket_that_does_not_follow_stays():
    """[u ≥ 0] does not follow from [u + q + 1 - n ≥ 0] alone: a step that drops it fails."""
    u, q = scalar("u q")
    kept = NonNeg(u) * NonNeg(u + q + 1 - n) * x[u]
    assert apply_rule("implied by the product", kept)[1] == 0
    step = Derivation(kept).by("implied by the product", NonNeg(u + q + 1 - n) * x[u])
    (check,) = step.check()
    assert not check.ok and "applies nowhere" in check.message
