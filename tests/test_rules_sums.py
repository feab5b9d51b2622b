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
from convproof.symbolic.proof import universal
from convproof.symbolic.rules_sums import every

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


def test_geometric_series_divides_its_factor_out_exactly():
    """(m - 1)·Σ_v [n - 1 ≤ v ≤ n] m^v = m^(n+1) - m^(n-1), defined at m = 1 as the left side
    is: dividing by the factor, not by a -1·(m - 1) that SymPy turns into 1 - m, which left
    (1 - m)/(m - 1) behind, 0/0 at m = 1."""
    ratio = sympy.Symbol("m", real=True)
    expr = (ratio - 1) * zsum(le(n - 1, t) * le(t, n) * ratio ** t * g[n], t)
    out, count = apply_rule("geometric series", expr, var=t, ratio=ratio)
    assert count == 1
    assert sympy.expand(out - (ratio ** (n + 1) - ratio ** (n - 1)) * g[n]) == 0
    assert out.xreplace({ratio: 1, n: 1}) == 0


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
    assert universal(claim, proof).ok
    bare = Claim("normalized", expr, x[0] - y[0])
    assert not universal(bare, proof).ok


def _inverse_pair(rng, count: int) -> tuple[dict, dict]:
    """Entries of a random invertible count x count integer matrix E and of C = E⁻¹."""
    while True:
        E = sympy.Matrix(count, count, lambda a, b: int(rng.integers(-3, 4)))
        if E.det() != 0:
            break
    C = E.inv()
    return ({(a, b): C[a, b] for a in range(count) for b in range(count)},
            {(a, b): E[a, b] for a in range(count) for b in range(count)})


a_, b_, w, v = scalar("a b w v")
C_, E_ = Signal("C"), Signal("E")
INVERSE = every((a_, b_), zsum(in_range(v, n) * C_[a_, v] * E_[v, b_], v),
                eq(a_, b_) * in_range(b_, n))


def test_a_hypothesis_for_every_index_is_used_at_the_term_s_indices(rng):
    """Σ_v C[a, v] E[v, b] = [a = b] for all a, b in the box: inside sums over w and j the
    rule reads a = w, b = j (summation variables of the term) and b = 0 (a number)."""
    count = int(rng.integers(1, 4))
    inverse, matrix = _inverse_pair(rng, count)
    expr = zsum(in_range(w, n) * in_range(j, n) * x[w] * y[j]
                * zsum(in_range(v, n) * C_[w, v] * E_[v, j], v), w, j) \
        + zsum(in_range(v, n) * C_[0, v] * E_[v, 0], v)
    point = Values({n: count}, {"C": inverse, "E": matrix,
                                "x": entries(rng, count), "y": entries(rng, count)})
    out = same_value("sum hypothesis", expr, point, equation=INVERSE)
    assert equivalent(out, zsum(in_range(w, n) * in_range(j, n) * eq(w, j) * x[w] * y[j], w, j)
                      + le(0, n - 1))
    twice = zsum(in_range(w, n) * x[w] * zsum(in_range(v, n) * C_[w, v] * E_[v, 0], v)
                 * zsum(in_range(t, n) * C_[0, t] * E_[t, w], t), w)  # two sums of one term
    assert equivalent(same_value("sum hypothesis", twice, point, equation=INVERSE),
                      zsum(in_range(w, n) * x[w] * eq(w, 0) * le(0, n - 1) * eq(0, w)
                           * in_range(w, n), w))
    claim = Claim("inverse", expr, out, hypotheses=(INVERSE,))
    assert universal(claim, Derivation(expr).by(
        "sum hypothesis", out, equation=INVERSE)).ok
    assert not universal(Claim("inverse", expr, out), Derivation(expr).by(
        "sum hypothesis", out, equation=INVERSE)).ok


def test_a_hypothesis_for_every_index_refuses_what_it_does_not_say():
    """An index that is the summed one itself (Σ_v C[v, v] E[v, b] is a trace, not an entry
    of C E), entries that match no instance, and sides of different variables."""
    trace = zsum(in_range(v, n) * C_[v, v] * E_[v, 0], v)
    assert apply_rule("sum hypothesis", trace, equation=INVERSE)[1] == 0
    other = zsum(in_range(v, n) * C_[0, v] * E_[v + 1, 0], v)
    assert apply_rule("sum hypothesis", other, equation=INVERSE)[1] == 0
    mixed = sympy.Eq(sympy.Lambda((a_, b_), INVERSE.lhs.expr), sympy.Lambda((b_, a_), eq(a_, b_)),
                     evaluate=False)
    with pytest.raises(ProofError, match="same variables"):
        apply_rule("sum hypothesis", trace, equation=mixed)


def test_a_hypothesis_for_every_index_captures_nothing_and_keeps_its_signs():
    """Its right side's own sum over t stays apart from a free t of the term it is used at
    (z[t, t] would be a diagonal); a hypothesis for every w ≥ 0 says nothing at an index of
    unknown sign; a lemma's instance renames the hypothesis' variable rather than capture."""
    z = Signal("z")
    own_sum = every((w,), zsum(in_range(v, n) * y[v, w], v), zsum(in_range(t, n) * z[t, w], t))
    out = apply_rule("sum hypothesis", zsum(in_range(v, n) * y[v, t], v), equation=own_sum)[0]
    assert equivalent(out, zsum(in_range(j, n) * z[j, t], j))
    natural = sympy.Symbol("w", integer=True, nonnegative=True)
    only_natural = every((natural,), zsum(in_range(v, n) * y[v, natural], v), sympy.S.One)
    assert apply_rule("sum hypothesis", zsum(in_range(v, n) * y[v, t], v),
                      equation=only_natural)[1] == 0
    assert apply_rule("sum hypothesis", zsum(in_range(v, n) * y[v, k], v),  # k ≥ 1
                      equation=only_natural)[1] == 1
    lemma = Claim("column", zsum(in_range(v, n) * y[v, 0], v), 0,
                  hypotheses=(every((a_,), zsum(in_range(v, n) * y[v, a_], v), 0),))
    (instance,) = lemma.instantiate({n: a_}).hypotheses
    (renamed,) = instance.lhs.variables
    assert renamed != a_ and equivalent(
        instance.lhs.expr, zsum(in_range(v, a_) * y[v, renamed], v))


def test_a_claim_with_a_hypothesis_for_every_index_is_not_checked_at_points():
    """No point can check "for all w, j": a certificate on a grid fails and an exact check at
    concrete values refuses, each saying so."""
    from convproof.symbolic import Point, certified
    from convproof.symbolic.operators_layers import evaluated
    claim = Claim("inverse", zsum(in_range(v, n) * C_[0, v] * E_[v, 0], v), sympy.S.One,
                  hypotheses=(INVERSE,))
    evidence = certified(claim, [Point({n: 2}, 1)])
    assert not evidence.ok and "a point of sizes cannot check it" in evidence.message
    inverse, matrix = {(0, 0): 1}, {(0, 0): 1}
    with pytest.raises(ProofError, match="holds for every value of a, b: a point cannot"):
        evaluated(claim, [Values({n: 1}, {"C": inverse, "E": matrix})])


z_, z_moved = Signal("z"), Signal("z'")
c_, q_ = scalar("c q")
MOVED = every((c_, q_), z_moved[c_, q_], z_[c_, q_ - t])
"""z'[c, q] = z[c, q - t] for every c, q: z' is z moved by t."""


def test_an_entry_hypothesis_replaces_every_entry_it_states(rng):
    """Inside sums and functions, at indices that are summation variables or expressions of
    them: z'[c, i + m] becomes z[c, i + m - t]."""
    shift = int(rng.integers(-3, 4))
    expr = sympy.exp(zsum(in_range(c_, k) * in_range(j, n) * x[j] * z_moved[c_, i + j], c_, j)) \
        + z_moved[0, 2]
    out = apply_rule("entry hypothesis", expr, equation=MOVED)
    assert out[1] == 2 and equivalent(out[0], sympy.exp(zsum(
        in_range(c_, k) * in_range(j, n) * x[j] * z_[c_, i + j - t], c_, j)) + z_[0, 2 - t])
    base = {(a, b): int(rng.integers(-9, 10)) for a in range(-1, 4) for b in range(-12, 12)}
    moved = {(a, b): base[(a, b - shift)] for a in range(-1, 4) for b in range(-6, 6)}
    point = Values({k: 2, n: 3, i: int(rng.integers(-2, 3)), t: shift},
                   {"x": entries(rng, 3), "z": base, "z'": moved})
    assert exact_value(expr, point) == exact_value(out[0], point)  # z' is z moved there


def test_an_entry_hypothesis_refuses_capture_signs_and_other_shapes():
    with pytest.raises(ProofError, match="lies in a sum over t"):  # its own t, not the claim's
        apply_rule("entry hypothesis", zsum(in_range(t, n) * z_moved[0, t], t), equation=MOVED)
    natural = sympy.Symbol("q", integer=True, nonnegative=True)
    only_natural = every((c_, natural), z_moved[c_, natural], z_[c_, natural - t])
    assert apply_rule("entry hypothesis", z_moved[0, i], equation=only_natural)[1] == 0
    assert apply_rule("entry hypothesis", z_moved[0, k], equation=only_natural)[1] == 1
    with pytest.raises(ProofError, match="must be an entry"):
        apply_rule("entry hypothesis", z_moved[0, i],
                   equation=every((c_,), zsum(in_range(q_, n) * z_moved[c_, q_], q_), 0))
    claim = Claim("moved", z_moved[0, i], z_[0, i - t])
    proof = Derivation(claim.lhs).by("entry hypothesis", claim.rhs, equation=MOVED)
    assert not universal(claim, proof).ok  # the claim does not assume it
    assumed = Claim("moved", z_moved[0, i], z_[0, i - t], hypotheses=(MOVED,))
    assert universal(assumed, proof).ok


def test_an_entry_hypothesis_instantiates_its_whole_pattern_and_leaves_derivatives():
    """z[a, a + 1] = x[a] says nothing of z[b, a + 1] for another b; a free s of the pattern
    is not a summed s; an entry in a derivative is its variable, not a value."""
    from convproof.symbolic.language import Partial
    a, b = scalar("a b")
    diagonal = every((a,), z_[a, a + 1], x[a])
    assert apply_rule("entry hypothesis", z_[b, a + 1], equation=diagonal)[1] == 0
    assert equivalent(apply_rule("entry hypothesis", z_[b, b + 1], equation=diagonal)[0], x[b])
    column = every((c_,), z_[c_, i], x[c_])  # i: the claim's own i
    with pytest.raises(ProofError, match="lies in a sum over i"):
        apply_rule("entry hypothesis", zsum(in_range(i, n) * z_[0, i], i), equation=column)
    with pytest.raises(ProofError, match="lies in a sum over i"):
        apply_rule("entry hypothesis", zsum(in_range(i, n) * x[i], i),
                   equation=sympy.Eq(x[i], 7, evaluate=False))
    derivative = Partial(z_moved[0, 0] * z_[0, -t], z_moved[0, 0])
    assert apply_rule("entry hypothesis", derivative, equation=MOVED)[1] == 0


def test_a_hypothesis_is_used_only_where_its_variables_are_admitted():
    """x[w] = 0 for every integer w that is not prime says nothing at w = 2: 'entry
    hypothesis' used it there (x = [w = 2] meets it, with x[2] = 1), as 'known result' did a
    lemma about a non-prime p at p = 2; only the assumptions a symbol holds were checked."""
    from convproof.symbolic.rules import check_instance
    not_prime = sympy.Symbol("w_np", integer=True, prime=False)
    H = every((not_prime,), x[not_prime], 0)
    refused = universal(Claim("x2 = 0", x[2], 0, hypotheses=(H,)),
                        Derivation(x[2]).by("entry hypothesis", 0, equation=H))
    assert not refused.ok
    assert universal(Claim("x4 = 0", x[4], 0, hypotheses=(H,)),
                     Derivation(x[4]).by("entry hypothesis", 0, equation=H)).ok
    for symbol, value in ((not_prime, 2), (sympy.Symbol("u_ni", integer=False), 0),
                          (sympy.Symbol("c_nc", integer=True, composite=False), 4)):
        with pytest.raises(ProofError, match="is not \\w+, .* provably not"):
            check_instance(symbol, value)
    check_instance(sympy.Symbol("u_ni", integer=False), Rational(5, 2))
    check_instance(n, k + 1)  # what a positive integer denies follows from what it holds


def test_a_hypothesis_about_a_signal_name_is_refused():
    """y = x put x into ∂x[0]/∂y[0] too, and 0 = 1 was proved from it."""
    from convproof.symbolic.language import Partial
    names = sympy.Eq(y.base.label, x.base.label, evaluate=False)
    proof = (Derivation(sympy.S.Zero).back("differentiate", Partial(x[0], y[0]))
             .by("hypothesis", Partial(x[0], x[0]), equation=names)
             .by("differentiate", sympy.S.One))
    refused = universal(Claim("zero is one", 0, 1, hypotheses=(names,)), proof)
    assert not refused.ok and "is a signal's name" in refused.message
