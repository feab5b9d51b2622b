"""Sums over boxes of symbolic size: each rule's output equals its input, exactly, at random
sizes and entries; and the boxes each rule must refuse."""

from __future__ import annotations

import pytest
import sympy
from sympy import Rational

from convproof.symbolic import (Claim, Derivation, Signal, box, eq, equivalent, in_range, le,
                                multi, scalar, zsum)
from convproof.symbolic.normal import ProofError
from convproof.symbolic.operators_layers import Values, exact_value
from convproof.symbolic.rules import apply_rule
from convproof.symbolic.rules_sums import universal_under_hypotheses

i, j, t = scalar("i j t")
n, k = scalar("n k", positive=True)
free = scalar("N")
mu = sympy.Symbol("mu", positive=True)
x, g, y = Signal("x"), Signal("g"), Signal("y")


def entries(rng, count: int, shift: int = 0) -> dict:
    return {(s,): int(rng.integers(-9, 10)) for s in range(shift, count + shift)}


def same_value(rule: str, expr, point: Values, **params):
    out, count = apply_rule(rule, expr, **params)
    assert count > 0
    assert exact_value(expr, point) == exact_value(out, point)
    return out


def test_empty_box(rng):
    expr = zsum(box(i, k + 1, k) * g[i], i) + x[0]
    steps = int(rng.integers(1, 5))
    point = Values({k: steps}, {"x": {(0,): int(rng.integers(-9, 10))}})
    assert equivalent(same_value("empty box", expr, point), x[0])
    assert apply_rule("empty box", zsum(box(i, 1, free) * g[i], i))[1] == 0


def test_split_the_last_term(rng):
    expr = zsum(box(i, 1, k) * mu ** (k - i) * g[i], i)
    steps = int(rng.integers(1, 5))
    point = Values({k: steps, mu: Rational(int(rng.integers(1, 9)), 10)},
                   {"g": entries(rng, steps, 1)})
    out = same_value("split the last term", expr, point, var=i)
    assert equivalent(out, zsum(box(i, 1, k - 1) * mu ** (k - i) * g[i], i)
                      + zsum(le(1, i) * eq(i, k) * mu ** (k - i) * g[i], i))


def test_split_refuses_multi_indices():
    u, h = multi("u h")
    assert apply_rule("split the last term", zsum(box(u, 0, h) * x[u], u), var=u)[1] == 0


def test_geometric_series(rng):
    expr = (1 - mu) * zsum(box(t, 0, k - 1) * mu ** t * x[0], t)
    point = Values({k: int(rng.integers(1, 6)), mu: Rational(int(rng.integers(1, 9)), 10)},
                   {"x": {(0,): int(rng.integers(-9, 10))}})
    out = same_value("geometric series", expr, point, var=t, ratio=mu)
    assert equivalent(out, (1 - mu ** k) * x[0])


def test_geometric_series_refuses():
    with pytest.raises(ProofError, match="lacks the factor"):
        apply_rule("geometric series", zsum(box(t, 0, k - 1) * mu ** t, t), var=t, ratio=mu)
    with pytest.raises(ProofError, match="not provable"):
        apply_rule("geometric series", (1 - mu) * zsum(box(t, -1, k - 1) * mu ** t, t),
                   var=t, ratio=mu)


def test_sum_hypothesis(rng):
    normalized = sympy.Eq(zsum(in_range(i, n) * y[i], i), 1, evaluate=False)
    expr = x[0] * zsum(in_range(j, n) * y[j], j) - y[0]
    weights = [int(w) for w in rng.integers(1, 9, size=int(rng.integers(1, 5)))]
    point = Values({n: len(weights)}, {"x": {(0,): int(rng.integers(-9, 10))},
                                       "y": {(s,): Rational(w, sum(weights))
                                             for s, w in enumerate(weights)}})
    out = same_value("sum hypothesis", expr, point, equation=normalized)  # y sums to 1 there
    assert equivalent(out, x[0] - y[0])
    claim = Claim("normalized", expr, x[0] - y[0], hypotheses=(normalized,))
    proof = Derivation(expr).by("sum hypothesis", out, equation=normalized)
    assert universal_under_hypotheses(claim, proof).ok
    bare = Claim("normalized", expr, x[0] - y[0])
    assert not universal_under_hypotheses(bare, proof).ok
