"""The proof engine: its normal form, the soundness of every rule, and its refusals.

Each rule is checked the way a skeptic would: on random instances, the rule's output and its
input are evaluated exactly (symbolic entries, concrete sizes) and must be the same polynomial.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy

from convproof.symbolic import (
    Claim,
    Derivation,
    Divides,
    EqZero,
    NonNeg,
    ProofError,
    Signal,
    eq,
    equivalent,
    in_range,
    le,
    multi,
    normal_form,
    scalar,
    universal,
    zsum,
)
from convproof.symbolic import rules_fourier, rules_sums  # noqa: F401  (register their rules)
from convproof.symbolic.evaluate import instance
from convproof.symbolic.language import Partial, ZSum
from convproof.symbolic.rules import RULES, apply_rule

n, k, s, d = multi("n k s d", positive=True)
p = multi("p", nonnegative=True)
i, j, m, u = multi("i j m u")
x, w = Signal("x"), Signal("w")


def random_sizes(rng, dims: int) -> dict:
    """Concrete sizes for n, k, s, d, p and a free index i (tuples: one entry per axis)."""

    def axes(low, high):
        return tuple(int(v) for v in rng.integers(low, high + 1, size=dims))

    return {
        n: axes(4, 7),
        k: axes(1, 3),
        s: axes(1, 3),
        d: axes(1, 2),
        p: axes(0, 2),
        i: axes(0, 3),
    }


def same_everywhere(a, b, rng, trials: int = 6) -> None:
    """a and b have the same exact value at random sizes, in 1-3 dims."""
    for trial in range(trials):
        values = random_sizes(rng, dims=1 + trial % 3)
        left, right = instance(a, values, len(values[n])), instance(b, values, len(values[n]))
        assert left == right, f"differ at {values}: {left} != {right}"


def corr(index):
    """Σ_m [m ∈ K] w[m] x̃[s·index + d·m - p]."""
    read = s * index + d * m - p
    return zsum(in_range(m, k) * w[m] * in_range(read, n) * x[read], m)


# --------------------------------------------------------------------------------------------
# The normal form
# --------------------------------------------------------------------------------------------


def test_bound_variables_are_renamed_consistently():
    assert equivalent(
        corr(i),
        zsum(in_range(u, k) * w[u] * in_range(s * i + d * u - p, n) * x[s * i + d * u - p], u),
    )


def test_finite_sums_commute_and_distribute():
    body = in_range(m, k) * in_range(j, n) * eq(j, s * i + d * m - p) * w[m] * x[j]
    assert equivalent(zsum(body, m, j), zsum(body, j, m))
    assert equivalent(
        zsum(in_range(m, k) * (w[m] + 2 * x[m]), m),
        zsum(in_range(m, k) * w[m], m) + 2 * zsum(in_range(m, k) * x[m], m),
    )


def test_index_expressions_are_expanded():
    assert equivalent(x[s * (i + 1)], x[s * i + s])
    assert not equivalent(x[s * (i + 1)], x[s * i + 1])


def test_brackets_are_idempotent_and_oriented():
    assert equivalent(in_range(i, n) ** 2 * x[i], in_range(i, n) * x[i])
    assert equivalent(EqZero(i - j), EqZero(j - i))
    assert not equivalent(NonNeg(i - j), NonNeg(j - i))


@pytest.mark.parametrize("expr", [zsum(x[j], j), zsum(le(0, j) * x[j], j), zsum(w[k], m)])
def test_sums_without_finite_support_are_refused(expr):
    with pytest.raises(ProofError, match="not finitely supported|diverges"):
        normal_form(expr)


def test_a_summation_variable_with_a_sign_assumption_is_refused():
    positive = multi("v", positive=True)
    with pytest.raises(ProofError, match="sign or parity assumption"):
        normal_form(zsum(in_range(positive, k) * x[positive], positive))


def test_defined_signals_with_one_name_stay_distinct():
    first = Signal("y", definition=lambda a: x[a], arity=1)
    second = Signal("y", definition=lambda a: w[a], arity=1)
    assert not equivalent(first[i], second[i])


# --------------------------------------------------------------------------------------------
# Every rule against exact evaluation
# --------------------------------------------------------------------------------------------


def rewritten(name: str, expr, **params):
    result, count = apply_rule(name, expr, **params)
    assert count > 0, f"rule {name} did not apply"
    return result


def test_change_of_index_is_sound(rng):
    t = multi("t")
    for to in (m + 2, -m + k - 1, m - 1):
        same_everywhere(corr(i), rewritten("change of index", corr(i), var=m, to=to), rng)
    with pytest.raises(ProofError, match="bijection"):
        apply_rule("change of index", corr(i), var=m, to=2 * m + t)


def test_kronecker_delta_is_sound(rng):
    expr = zsum(
        in_range(m, k) * w[m] * zsum(eq(j, s * i + d * m - p) * in_range(j, n) * x[j], j), m
    )
    same_everywhere(expr, rewritten("Kronecker delta", expr, var=j), rng)
    scaled = zsum(in_range(m, k) * w[m] * zsum(in_range(u, n) * eq(s * u, i + d * m) * x[u], u), m)
    result = rewritten("Kronecker delta", scaled, var=u)
    assert result.has(Divides)
    same_everywhere(scaled, result, rng)


def test_using_a_delta_is_sound(rng):
    expr = zsum(in_range(m, k) * w[m] * eq(j, s * i + d * m - p) * le(s * i - p, j) * x[j], m)
    values_j = {j: (3,)}
    result = rewritten("use the delta", expr, var=j)
    for _ in range(4):
        values = {**random_sizes(rng, 1), **values_j}
        assert instance(expr, values, 1) == instance(result, values, 1)


def test_bracket_rules_are_sound(rng):
    expr = zsum(in_range(m, k) * le(0, d * m) * le(d * m, d * (k - 1)) * w[m] * x[i + m], m)
    same_everywhere(expr, rewritten("cancel a positive factor", expr, factor=d), rng)
    implied = zsum(le(0, i - p) * in_range(m, k) * le(0, i + d * m - p) * w[m] * x[i + m], m)
    result = rewritten("implied bracket", implied)
    assert len(result.atoms(NonNeg)) < len(implied.atoms(NonNeg))
    same_everywhere(implied, result, rng)
    box_point = zsum(le(0, m) * le(m, 0) * w[m] * x[i + m], m)
    same_everywhere(box_point, rewritten("antisymmetry", box_point), rng)
    two_points = zsum(le(i, m) * le(m, i) * le(k - 1, j) * le(j, k - 1) * w[m] * x[j], m, j)
    both = rewritten("antisymmetry", two_points)  # every pair of one product at once
    assert not both.atoms(NonNeg) and len(both.atoms(EqZero)) == 2
    same_everywhere(two_points, both, rng)
    odd = zsum(in_range(m, k) * w[m] * eq(2 * m - 1, 0), m)
    assert rewritten("decide brackets", odd) == 0


def test_cancel_refuses_a_factor_that_may_be_zero():
    maybe_zero = multi("z", nonnegative=True)
    with pytest.raises(ProofError, match="not provably at least 1"):
        apply_rule("cancel a positive factor", le(0, maybe_zero * i), factor=maybe_zero)


def test_between_multiples_is_sound(rng):
    """[f·(i - m) = ρ] is 0 wherever 1 ≤ ρ ≤ f - 1, checked at drawn ρ, v, i with f = ρ + v + 1
    (f ≥ 2), on 1-3 axes."""
    rho, v = multi("rho", positive=True), multi("v", nonnegative=True)
    factor = rho + v + 1
    expr = zsum(in_range(m, k) * w[m] * x[i + m] * eq(factor * (i - m) - rho, 0), m)
    assert rewritten("between multiples", expr, factor=factor, remainder=rho) == 0
    for trial in range(12):
        dims = 1 + trial % 3
        values = {**random_sizes(rng, dims),
                  rho: tuple(int(r) for r in rng.integers(1, 4, size=dims)),
                  v: tuple(int(r) for r in rng.integers(0, 3, size=dims))}
        assert instance(expr, values, dims) == instance(sympy.S.Zero, values, dims)
    flipped = eq(rho - factor * i, 0) * x[i]
    assert rewritten("between multiples", flipped, factor=factor, remainder=rho) == 0


def test_between_multiples_refuses_what_does_not_follow():
    rho, v = multi("rho", positive=True), multi("v", nonnegative=True)
    bracket = eq(s * i - rho, 0) * x[i]
    with pytest.raises(ProofError, match="not provably at least 1"):  # ρ = 0 is a multiple
        apply_rule("between multiples", eq(s * i, 0) * x[i], factor=s, remainder=0)
    with pytest.raises(ProofError, match="not provably below"):  # s = 1 divides everything
        apply_rule("between multiples", bracket, factor=s, remainder=rho)
    with pytest.raises(ProofError, match="must be integers"):
        apply_rule("between multiples", bracket, factor=rho + v + 1, remainder=rho / 2)
    # [(ρ + v + 1)·i/2 = ρ] holds at ρ = 1, v = 0, i = 1: i/2 is no integer, so it stays
    half = eq((rho + v + 1) * i / 2 - rho, 0) * x[i]
    point = {rho: (1,), v: (0,), i: (1,)}
    assert instance(half, point, 1) != instance(sympy.S.Zero, point, 1)
    _refused(Claim("half", half, sympy.S.Zero),
             Derivation(half).by("between multiples", sympy.S.Zero, factor=rho + v + 1,
                                 remainder=rho))


def test_division_with_remainder_is_sound(rng):
    size = sympy.Mod(n + p - 1, s) + s * sympy.floor((n + p - 1) / s)
    expr = zsum(in_range(m, size) * x[m], m)
    result = rewritten("division with remainder", expr)
    same_everywhere(expr, result, rng)
    assert equivalent(result, zsum(in_range(m, n + p - 1) * x[m], m))


def test_derivatives_are_exact(rng):
    energy = zsum(in_range(m, k) * x[m] ** 2 * w[m], m)
    result = rewritten("differentiate", Partial(energy, x[j]))
    expected = zsum(in_range(m, k) * 2 * x[m] * w[m] * eq(m, j), m)
    assert equivalent(result, expected)
    defined = Signal("y", definition=lambda a: x[a] * w[a], arity=1)
    assert equivalent(rewritten("differentiate", Partial(defined[i], w[j])), x[i] * eq(i, j))


# --------------------------------------------------------------------------------------------
# Derivations refuse what does not follow
# --------------------------------------------------------------------------------------------


def test_a_wrong_step_fails_and_names_the_difference():
    claim = Claim("wrong", corr(i), corr(i + 1))
    proof = Derivation(claim.lhs).by("change of index", corr(i + 1), var=m, to=m + 1)
    evidence = universal(claim, proof)
    assert not evidence.ok and "differ" in evidence.message


def test_a_rule_that_applies_nowhere_fails_the_step():
    claim = Claim("same", corr(i), corr(i))
    evidence = universal(claim, Derivation(claim.lhs).by("Kronecker delta", corr(i), var=j))
    assert not evidence.ok and "applies nowhere" in evidence.message


def test_a_hypothesis_must_belong_to_the_claim():
    claim = Claim("assumed", corr(i), corr(i).subs(s, 1))
    step = Derivation(claim.lhs).by(
        "hypothesis", claim.rhs, equation=sympy.Eq(s, 1, evaluate=False)
    )
    assert not universal(claim, step).ok


def test_every_rule_is_registered_with_a_description():
    assert {
        "definition",
        "linearity",
        "swap sums",
        "change of index",
        "Kronecker delta",
        "use the delta",
        "cancel a positive factor",
        "decide brackets",
        "implied bracket",
        "antisymmetry",
        "between multiples",
        "division with remainder",
        "hypothesis",
        "differentiate",
        "known result",
    } <= set(RULES)
    assert all(rule.description for rule in RULES.values())


def test_scalar_and_multi_symbols_are_distinct():
    c = scalar("c")
    assert not equivalent(x[c], x[multi("c")])


# --------------------------------------------------------------------------------------------
# False statements that once passed: each must fail, with a counterexample shown here
# --------------------------------------------------------------------------------------------

v, r, t = scalar("v r t")
i0 = scalar("i0")


def _refused(claim: Claim, proof: Derivation) -> str:
    """The message of a refused proof (a ProofError raised by the check counts as refusal)."""
    try:
        evidence = universal(claim, proof)
    except ProofError as error:
        return str(error)
    assert not evidence.ok, f"{claim.name} was accepted"
    return evidence.message


def test_divisibility_by_a_number_is_not_decided_by_rational_division():
    """[2 | i] is not 1: at i = 1 the left side is 0 and the right side x[1]."""
    claim = Claim("every integer is even", Divides(2, i0) * x[i0], x[i0])
    assert instance(claim.lhs, {i0: 1}, 1) != instance(claim.rhs, {i0: 1}, 1)
    message = _refused(claim, Derivation(claim.lhs).by("decide brackets", claim.rhs))
    assert "applies nowhere" in message
    even = Claim("twice an integer is even", Divides(2, 2 * i0) * x[i0], x[i0])
    assert universal(even, Derivation(even.lhs).by("decide brackets", even.rhs)).ok


def test_a_free_symbol_is_not_captured_by_the_canonical_names():
    """Σ_m [m ∈ K] y[m, ν0] with a free symbol named like the normal form's bound names."""
    y, size, nu = Signal("y"), scalar("K", positive=True), scalar("ν0")
    free = zsum(in_range(v, size) * y[v, nu], v)
    diagonal = zsum(in_range(v, size) * y[v, v], v)
    assert instance(free, {size: 2, nu: 5}, 1) != instance(diagonal, {size: 2, nu: 5}, 1)
    assert not equivalent(free, diagonal)


def test_a_scalar_variable_is_not_bounded_by_a_multi_index_bracket():
    """Σ_v [v = i] x[i] with v scalar, i a multi-index: 0 at i = (0, 1), not x[0, 1]."""
    claim = Claim("pinned on every axis", zsum(eq(v, i) * x[i], v), x[i])
    message = _refused(claim, Derivation(claim.lhs).by("Kronecker delta", x[i], var=v))
    assert "scalar variable is not bounded by a multi-index bracket" in message
    h = multi("h")
    split = Claim("split", zsum(NonNeg(v) * NonNeg(h - v) * x[i], v),
                  zsum(NonNeg(v) * NonNeg(h - 1 - v) * x[i], v)
                  + zsum(NonNeg(v) * EqZero(h - v) * x[i], v))
    assert "not finitely supported" in _refused(
        split, Derivation(split.lhs).by("split the last term", split.rhs, var=v))
    with pytest.raises(ProofError, match="multi-index bracket"):
        instance(claim.lhs, {i: (0, 1)}, 2)


def test_rules_for_integers_refuse_fractional_values():
    """Each is false at j = 1 (a half): the left side below is 0 or x[0], the right not."""
    j0 = scalar("j0")
    half = sympy.Rational(1, 2)
    cases = {
        "one period": (zsum(NonNeg(j0 * half + r) * NonNeg(-j0 * half - r) * x[j0], r),
                       x[j0], {"var": r}),
        "split the last term": (
            zsum(NonNeg(v) * NonNeg(j0 * half - v) * x[v], v),
            zsum(NonNeg(v) * NonNeg(j0 * half - 1 - v) * x[v], v)
            + zsum(NonNeg(v) * EqZero(j0 * half - v) * x[v], v), {"var": v}),
        "change of index": (zsum(in_range(v, 1) * x[0], v),
                            zsum(in_range(v + half, 1) * x[0], v), {"var": v, "to": v + half}),
        "Kronecker delta": (zsum(EqZero(v - j0 * half) * x[j0], v), x[j0], {"var": v}),
    }
    for rule_name, (lhs, rhs, params) in cases.items():
        assert instance(lhs, {j0: 1}, 1) != instance(rhs, {j0: 1}, 1), rule_name
        proof = Derivation(lhs).by(rule_name, rhs, **params)
        message = _refused(Claim(rule_name, lhs, rhs), proof)
        assert "integer" in message, (rule_name, message)


def test_a_known_result_is_used_in_a_context_with_a_hole_only():
    """corr(f, g)[t] = corr(g, f)[-t] is proved; a 'context' that reads the entry's index
    would turn it into t = -t."""
    t_ = multi("t")
    claim = Claim("t equals -t", t_, -t_)
    proof = Derivation(t_).by("known result", -t_, theorem="commutativity",
                              claim="correlation reverses", instance={},
                              context=lambda e: e.args[1])
    assert "not an expression with a hole" in _refused(claim, proof)


def test_more_rules_refuse_what_does_not_follow():
    """A second round of false statements, each shown false at a point first."""
    from convproof.symbolic import le
    from convproof.symbolic import rules_real, rules_sizes  # noqa: F401
    j0, size = scalar("j0"), scalar("n", positive=True)
    H, I = multi("H I")
    half, mu = sympy.Rational(1, 2), sympy.Symbol("mu", positive=True)
    floor = sympy.floor(j0 / 2)
    cases = [
        # [2/i = 1] is not 0 at i = 2: parity needs integer terms
        ("decide brackets", EqZero(2 / v - 1) * x[j0], sympy.S.Zero, {}, {v: 2, j0: 0}),
        # the brackets that pin floor(j/2) = 0 cannot be rewritten by it (0 at j = 2)
        ("floor value", NonNeg(2 * floor) * NonNeg(-2 * floor) * x[j0], x[j0], {"value": 0},
         {j0: 2}),
        # v -> v + 1/2 does not permute [0, n - 1]
        ("cyclic change of index", zsum(in_range(v, size) * sympy.Mod(v, size), v),
         zsum(in_range(v, size) * sympy.Mod(v + half, size), v), {"var": v, "shift": half},
         {size: 1}),
        # [v ≤ H] for a scalar v and H = (1, 2) is not [v ≤ H - 1] + [v = H]
        ("split the last term", zsum(eq(v, j0) * NonNeg(H - v) * x[j0], v),
         zsum(eq(v, j0) * NonNeg(H - 1 - v) * x[j0], v)
         + zsum(eq(v, j0) * EqZero(H - v) * x[j0], v),
         {"var": v}, {H: (1, 2), j0: 1}),
        # [v = I] with v scalar and I = (1, 1) does not make x[v] the entry x[I]
        ("use the delta", EqZero(v - I) * x[v], EqZero(v - I) * x[I], {"var": v},
         {v: 1, I: (1, 1)}),
    ]
    for rule_name, lhs, rhs, params, point in cases:
        dims = 2 if any(isinstance(value, tuple) for value in point.values()) else 1
        assert instance(lhs, point, dims) != instance(rhs, point, dims), rule_name
        _refused(Claim(rule_name, lhs, rhs), Derivation(lhs).by(rule_name, rhs, **params))
    # [n/2, n/2] holds no integer at n = 1: the sum is 0, the right side 3/8
    geometric = (1 - mu) * zsum(le(size * half, v) * le(v, size * half) * mu ** v, v)
    telescoped = mu ** (size * half) - mu ** (size * half + 1)
    assert telescoped.subs({size: 1, mu: sympy.Rational(1, 4)}) == sympy.Rational(3, 8)
    _refused(Claim("geometric", geometric, telescoped),
             Derivation(geometric).by("geometric series", telescoped, var=v, ratio=mu))
    # log e^u = u only for real u: at k = 4, log e^(2πi) = 0
    u = sympy.I * sympy.pi * t / 2
    assert "needs a real u" in _refused(Claim("log exp", sympy.log(sympy.exp(u)), u),
                                        Derivation(sympy.log(sympy.exp(u))).by("logarithm laws", u))
    # a box without an integer point sums to 0: not positive
    empty = zsum(le(sympy.Rational(1, 3), v) * le(v, sympy.Rational(2, 3)) * sympy.exp(x[v]), v)
    assert rules_real.sign(empty) != rules_real.POSITIVE


def test_the_chain_rule_refuses_intermediates_that_may_coincide():
    """h[a] = x[a] kept as an intermediate: ∂(h[i] + h[j])/∂x[k] summed over h[i] and h[j]
    would count the entry twice where i = j (4 instead of 2 at i = j = k = 0)."""
    from convproof.symbolic import rules_real  # noqa: F401
    from convproof.symbolic.language import Partial
    h = Signal("h", definition=lambda a: x[a], arity=1)
    i1, j1, k1 = scalar("i1 j1 k1")
    lhs = Partial(h[i1] + h[j1], x[k1])
    with pytest.raises(ProofError, match="may be one entry"):
        apply_rule("chain rule", lhs, keep=(h,))
    apart = Partial(h[i1] + h[i1 + 1], x[k1])
    assert apply_rule("chain rule", apart, keep=(h,))[1] == 1


def test_a_symbol_free_in_a_definition_is_not_captured_by_a_sum():
    """h[a] = x[a + q] with q free: under Σ_q the unfolded x[a + q] keeps the outer q, so
    h[0] = x[0] (false at q = 1 for x an impulse at 1) no longer follows."""
    q = scalar("q")
    h = Signal("h", definition=lambda a: x[a + q], arity=1)
    proof = (Derivation(h[0])
             .back("Kronecker delta", zsum(eq(q, 0) * h[0], q), var=q)
             .by("definition", zsum(eq(q, 0) * x[q], q))
             .by("Kronecker delta", x[0], var=q))
    assert "differ" in _refused(Claim("h[0] = x[0]", h[0], x[0]), proof)
    unfolded, _ = apply_rule("definition", zsum(eq(q, 0) * h[0], q), signals=(h,))
    assert instance(unfolded, {q: 1}, 1) == instance(x[1], {}, 1)


@pytest.mark.parametrize("rule", ["differentiate", "chain rule", "logarithm laws"])
def test_a_symbol_free_in_a_definition_two_levels_down_is_not_captured(rule):
    """w[a] = q and y[a] = w[a]·x[a] (or e^{w[a]}): y holds q through w; under Σ_q the
    unfolding of y, then of w, left q captured: Σ_{0≤q≤1} ∂y0/∂x0 = Σ_{0≤q≤1} q was proved
    (at q = 0, where w = 0, the left side is 0, the right side 1)."""
    from convproof.symbolic import rules_real  # noqa: F401  (its rules)
    q = scalar("q")
    w_ = Signal("w_q", definition=lambda a: q + 0 * a, arity=1)
    box = le(0, q) * le(q, 1)
    if rule == "logarithm laws":
        y = Signal("y_exp", definition=lambda a: sympy.exp(w_[a]), arity=1)
        left, right, params = zsum(box * x[0] * sympy.log(y[0]), q), zsum(box * x[0] * q, q), {}
    else:
        y = Signal("y_wx", definition=lambda a: w_[a] * x[a], arity=1)
        left, right = zsum(box * Partial(y[0], x[0]), q), zsum(box * q, q)
        params = {"keep": (Signal("h_x", definition=lambda a: x[a], arity=1),)} \
            if rule == "chain rule" else {}
    proof = Derivation(left).by(rule, right, **params)
    assert "differ" in _refused(Claim("captured", left, right), proof)


def test_a_known_result_is_not_used_inside_a_sum_over_a_symbol_of_its_definitions():
    """translation-equivariance's circular case holds for every shift t, which is hidden in
    circ(ρ_t x)'s definition: a context summing over t would claim that rotating does nothing."""
    from convproof.symbolic import load
    lemma = load("translation-equivariance").claims["circular padding"]
    shift = next(s for s in lemma.rhs.free_symbols if s.name == "t")
    proof = Derivation(zsum(eq(shift, 0) * lemma.lhs, shift)).by(
        "known result", zsum(eq(shift, 0) * lemma.rhs, shift), theorem="translation-equivariance",
        claim="circular padding", instance={}, context=lambda e: zsum(eq(shift, 0) * e, shift))
    claim = Claim("rotation", proof.start, proof.steps[-1].expr, lemma.hypotheses)
    assert "the context binds ['t']" in _refused(claim, proof)


def test_a_known_result_is_the_exported_statement_not_an_instance_of_the_same_name(monkeypatch):
    """A theorem that proves only the instance k = 0 of its export x[j + k] = x[j] cannot
    lend the export: x[j + 1] = x[j] is false for an impulse."""
    from convproof.symbolic import Theorem
    from convproof.symbolic.proof import THEOREMS
    monkeypatch.setitem(THEOREMS, "grad-bias", THEOREMS.get("grad-bias"))  # restored after
    k_, j_ = scalar("k_ j_")
    lemma = Theorem("grad-bias", "a false export", "x[j + k] = x[j]")
    shift = lemma.export(Claim("shift", x[j_ + k_], x[j_]))
    at_zero = shift.instantiate({k_: 0})
    lemma.evidence(lambda: universal(at_zero, Derivation(at_zero.lhs).by("algebra", at_zero.rhs)))
    proof = Derivation(x[j_ + 1]).by("known result", x[j_], theorem="grad-bias", claim="shift",
                                     instance={k_: 1}, context=lambda e: e)
    assert "not proved universally" in _refused(Claim("moved", x[j_ + 1], x[j_]), proof)


def test_a_known_result_refuses_an_instance_holding_entries_inside_its_expectations():
    """dropout-expectation's E[y_j] = x_j holds for each j: at j = [z0 ≥ 0] the E averages
    over z0 too, (x0 + x1)/2, while x_J is x0 or x1 (E[y_J] = x_J had been proved)."""
    from convproof.symbolic import load
    from convproof.symbolic.rules_expectation import centered, random_signal
    mean = load("dropout-expectation").claims["expectation"]
    j_ = next(s for s in mean.lhs.free_symbols if str(s) == "j")
    signal = next(iter(mean.rhs.atoms(sympy.Indexed))).base
    z = random_signal("z_index", centered(1))
    index = NonNeg(z[0])
    left, right = mean.lhs.xreplace({j_: index}), signal[index]
    proof = Derivation(left).by("known result", right, theorem="dropout-expectation",
                                claim="expectation", instance={j_: index}, context=lambda e: e)
    assert "where it is no constant" in _refused(Claim("random index", left, right), proof)


def test_a_known_result_refuses_a_context_summing_over_its_argument(monkeypatch):
    """The lemma n = m (under n = m) in h ↦ Σ_h [0 ≤ h ≤ 1] x_h w_n + h w_1 turned
    Σ_n x_n w_n into Σ_m x_m w_n: at n = m = 0, x = (1, 1), w = (1, 0), 1 against 2."""
    from convproof.symbolic import Theorem
    from convproof.symbolic.proof import THEOREMS
    monkeypatch.setitem(THEOREMS, "grad-bias", THEOREMS.get("grad-bias"))  # restored after
    n_, m_ = scalar("n_ m_")
    same = sympy.Eq(n_, m_, evaluate=False)
    lemma = Theorem("grad-bias", "n = m", "n = m under n = m")
    equal = lemma.export(Claim("equal", n_, m_, hypotheses=(same,)))
    lemma.evidence(lambda: universal(equal, Derivation(n_).by("hypothesis", m_, equation=same)))
    context = lambda h: zsum(le(0, h) * le(h, 1) * x[h] * w[n_], h) + h * w[1]  # noqa: E731
    proof = Derivation(context(n_)).by("known result", context(m_), theorem="grad-bias",
                                       claim="equal", instance={}, context=context)
    claim = Claim("summed", context(n_), context(m_), hypotheses=(same,))
    assert "sums over its argument" in _refused(claim, proof)


def test_differentiating_by_an_entry_of_a_defined_signal_is_refused():
    """With h[a] = 3·x[a], ∂h[0]/∂h[0] came out 0 (h unfolded everywhere but in the variable)."""
    from convproof.symbolic.language import Partial
    h = Signal("h3", definition=lambda a: 3 * x[a], arity=1)
    with pytest.raises(ProofError, match="entry of a defined signal, not a variable"):
        apply_rule("differentiate", Partial(h[0], h[0]))


def test_a_definition_unfolded_at_the_bound_variable_keeps_its_free_symbol():
    """h[a] = x[a + q]: Σ_q [q = 0] h[q] unfolds to Σ_q [q = 0] x[q + q'] with the outer q
    kept apart, not x[2q] (which made h[0] = x[0] follow; false at q = 1)."""
    q = scalar("q")
    h = Signal("h", definition=lambda a: x[a + q], arity=1)
    proof = (Derivation(h[0])
             .back("Kronecker delta", zsum(eq(q, 0) * h[q], q), var=q)
             .by("definition", zsum(eq(q, 0) * x[2 * q], q))
             .by("Kronecker delta", x[0], var=q))
    assert "differ" in _refused(Claim("h[0] = x[0]", h[0], x[0]), proof)


def test_a_known_result_instantiates_symbols_only():
    """Instantiating the entry corr(f, g)[t] itself to 0 would prove 0 = corr(g, f)[-t]."""
    from convproof.symbolic import load
    lemma = load("commutativity").claims["correlation reverses"]
    proof = Derivation(sympy.S.Zero).by(
        "known result", lemma.rhs, theorem="commutativity", claim="correlation reverses",
        instance={lemma.lhs: 0}, context=lambda e: e)
    message = _refused(Claim("zero", sympy.S.Zero, lemma.rhs), proof)
    assert "an instance replaces symbols" in message


def test_a_sum_hypothesis_over_a_scalar_does_not_rewrite_a_sum_over_a_multi_index():
    """Σ_p [0 ≤ p < n] y[p] = c (p scalar) says nothing of the n×n box of a multi-index v:
    in 2-D with n = 2 and y = 1, c = 2 while the box sums to 4."""
    size, c = scalar("n", positive=True), sympy.Symbol("c")
    hypothesis = sympy.Eq(zsum(in_range(v, size) * x[v], v), c, evaluate=False)
    box = zsum(in_range(u, size) * x[u], u)
    claim = Claim("multi sum", box, c, hypotheses=(hypothesis,))
    evidence = universal(claim, Derivation(box).by("sum hypothesis", c, equation=hypothesis))
    assert not evidence.ok and "applies nowhere" in evidence.message


def test_derivatives_through_indices_and_cases_are_refused():
    """∂x[floor(y[0])]/∂y[0] is 0 on [0, 1), not [floor(y[0]) = 0]; ∂max(a, a + b², a + c²)/∂a
    is 1, not the 3/2 that Heaviside(0) = 1/2 summed to at a = b = c = 0."""
    from convproof.symbolic.language import Partial
    from convproof.symbolic.operators_layers import Values, exact_value
    y = Signal("y")
    with pytest.raises(ProofError, match="through its index"):
        apply_rule("differentiate", Partial(x[sympy.floor(y[0])], y[0]))
    with pytest.raises(ProofError, match="another number of indices"):
        apply_rule("differentiate", Partial(x[0, 1], x[0]))
    top = sympy.Max(x[0], x[0] + x[1] ** 2, x[0] + x[2] ** 2)
    with pytest.raises(ProofError, match="Max is not differentiable everywhere"):
        apply_rule("differentiate", Partial(top, x[0]))
    at_a_tie = exact_value(Partial(top, x[0]), Values({}, {"x": {(0,): 0, (1,): 0, (2,): 0}}))
    assert at_a_tie is sympy.nan
    apart = exact_value(Partial(top, x[0]), Values({}, {"x": {(0,): 0, (1,): 1, (2,): 2}}))
    assert apart == 1


def test_a_complex_power_or_exponential_is_not_positive():
    """2^(i k) and e^(i k) lie on the unit circle: log(2^(ik)·3^(ij)) = log 2^(ik) + log 3^(ij)
    fails at k = j = 2."""
    from convproof.symbolic import rules_real
    k_, j_ = scalar("k_ j_")
    first, second = 2 ** (sympy.I * k_), 3 ** (sympy.I * j_)
    assert rules_real.sign(first) is None and rules_real.sign(sympy.exp(sympy.I * k_)) is None
    assert rules_real.sign(2 ** k_) == rules_real.POSITIVE
    split = sympy.log(first) + sympy.log(second)
    proof = Derivation(sympy.log(first * second)).by("logarithm laws", split)
    assert "not provably positive" in _refused(Claim("split", sympy.log(first * second), split),
                                               proof)


def test_a_piecewise_shift_is_no_change_of_index():
    """v -> v + [v > 0] has derivative 1 almost everywhere but skips 1: over [0, 2] it turns
    x0 + x1 + x2 into x0 + x2."""
    from convproof.symbolic import le
    from convproof.symbolic.normal import linear_coefficient
    step = sympy.Piecewise((1, v > 0), (0, True))
    lhs = zsum(le(0, v) * le(v, 2) * x[v], v)
    rhs = zsum(le(0, v + step) * le(v + step, 2) * x[v + step], v)
    _refused(Claim("not a bijection", lhs, rhs),
             Derivation(lhs).by("change of index", rhs, var=v, to=v + step))
    assert linear_coefficient(v + step, v) is None
    assert linear_coefficient(v + x[v], v) is None  # SymPy's derivative there is nan
    assert linear_coefficient(3 * v - t, v) == 3


# --------------------------------------------------------------------------------------------
# Values at points: exact, or no verdict that passes
# --------------------------------------------------------------------------------------------


def test_values_at_points_pass_only_on_an_exact_agreement():
    """exp(1) = 3 and a derivative at a kink (nan) cannot be compared exactly: no pass."""
    from convproof.symbolic.language import Partial
    from convproof.symbolic.operators_layers import Values, evaluated, relu
    at_one = Values({}, {"x": {(0,): 1}})
    assert not evaluated(Claim("e = 3", sympy.exp(x[0]), 3), [at_one]).ok
    kink = Partial(relu(x[0]), x[0])
    assert not evaluated(Claim("relu' = 7", kink, 7), [Values({}, {"x": {(0,): 0}})]).ok
    assert evaluated(Claim("2^2", x[0] ** 2, 4), [Values({}, {"x": {(0,): 2}})]).ok


def test_values_at_points_refuse_floats_and_no_points():
    """Floats rounded the difference away: relu(x[0] + x[1]) = x[0] passed at x = (1e20, 1.0)
    (the sides are 10^20 + 1 and 10^20), and no point at all passed 0 = 1."""
    from convproof.symbolic import NoPoints
    from convproof.symbolic.operators_layers import Values, evaluated, relu
    claim = Claim("relu(x0 + x1) = x0", relu(x[0] + x[1]), x[0])
    with pytest.raises(ProofError, match=r"x\[1\] = 1.0 is a float, not an exact number"):
        evaluated(claim, [Values({}, {"x": {(0,): 1e20, (1,): 1.0}})])
    assert not evaluated(claim, [Values({}, {"x": {(0,): 10**20, (1,): 1}})]).ok
    with pytest.raises(NoPoints):
        evaluated(Claim("0 = 1", sympy.S.Zero, sympy.S.One), [])


def test_only_the_engine_refusing_a_mutant_kills_it():
    """Any exception counted as a kill: a mutant whose check met no grid point, or whose
    builder had a typo (NameError), was 'killed' with nothing checked."""
    from convproof.symbolic.certificates import Point, certified
    from convproof.symbolic.proof import Mutant

    def refused():
        raise ProofError("the sum diverges")

    def typo():
        raise NameError("name 'gird' is not defined")

    wrong = Claim("x0 = 2 x0", x[0], 2 * x[0])
    outcomes = {name: Mutant(name, "test", build).run() for name, build in [
        ("refused", refused), ("typo", typo), ("no points", lambda: certified(wrong, [])),
        ("refuted", lambda: certified(wrong, [Point({}, 1)]))]}
    assert outcomes["refused"]["killed"] and outcomes["refuted"]["killed"]
    assert not outcomes["typo"]["killed"] and "NameError" in outcomes["typo"]["by"]
    assert not outcomes["no points"]["killed"] and "NoPoints" in outcomes["no points"]["by"]


def test_expectations_draw_what_they_should():
    """E[E[b]·b] = E[b]² (the inner E is a number), and two random signals of one name are
    two independent signals: E[b1·b2] = 1/4 for fair coins, not 1/2."""
    from convproof.symbolic.operators_layers import Values, exact_value
    from convproof.symbolic.rules_expectation import E, FiniteLaw, bernoulli, random_signal
    half = sympy.Rational(1, 2)
    b1, b2 = random_signal("b", bernoulli(half)), random_signal("b", bernoulli(half))
    point = Values({}, {}, {"b": FiniteLaw((0, 1), (half, half))})
    assert exact_value(E(E(b1[0]) * b1[0]), point) == sympy.Rational(1, 4)
    assert exact_value(E(b1[0] * b2[0]), point) == sympy.Rational(1, 4)
    assert exact_value(E(b1[0] * b1[0]), point) == half


def test_a_finite_law_stands_for_its_law_only_as_far_as_it_matches():
    """{±√3: 1/6, 0: 2/3} has the moments of N(0, 1) up to the fourth, not E[X⁶] = 15."""
    from convproof.symbolic.operators_layers import Values, exact_value
    from convproof.symbolic.rules_expectation import E, FiniteLaw, normal, random_signal
    g = random_signal("g", normal(1))
    root = sympy.sqrt(3)
    three = FiniteLaw((-root, 0, root), (sympy.Rational(1, 6), sympy.Rational(2, 3),
                                         sympy.Rational(1, 6)))
    point = Values({}, {}, {"g": three})
    assert exact_value(E(g[0] ** 4), point) == 3
    with pytest.raises(ProofError, match="only up to E"):
        exact_value(E(g[0] ** 6), point)
    with pytest.raises(ValueError, match="must be non-negative"):
        FiniteLaw((0, 1, 2, 3), tuple(sympy.Rational(p, 10) for p in (9, 3, -3, 1)))


def test_points_keep_their_hypotheses_and_assumptions():
    """A point that breaks a hypothesis or a symbol's assumption is refused, not evaluated
    (n = m + 1, m = 3 at m = 0 made n = 1 'hold'; n = -3 'refuted' Σ_{i<n} 1 = n)."""
    from convproof.symbolic.operators_layers import Values, evaluated
    n_, m_ = scalar("n_ m_")
    hypotheses = (sympy.Eq(n_, m_ + 1, evaluate=False), sympy.Eq(m_, 3, evaluate=False))
    with pytest.raises(ProofError, match="the hypothesis m_ = 3 does not hold"):
        evaluated(Claim("n = 1", n_, 1, hypotheses=hypotheses), [Values({m_: 0})])
    assert not evaluated(Claim("n = 1", n_, 1, hypotheses=hypotheses), [Values({})]).ok
    size = scalar("size", positive=True)
    with pytest.raises(ProofError, match="breaks its assumptions"):
        evaluated(Claim("count", zsum(in_range(v, size), v), size), [Values({size: -3})])


def test_a_witness_with_maxima_refuses_other_functions():
    """min(a, 0) + max(0, a) = a is true: Min may not count as a missing entry (0)."""
    from convproof.symbolic.certificates import Point
    from convproof.symbolic.operators_pool import Maximum, refuted_with_maxima
    true = Claim("min + max", sympy.Min(x[0], 0) + Maximum(0, x[0]), x[0])
    with pytest.raises(ProofError, match="cannot evaluate the function Min"):
        refuted_with_maxima(true, Point({}, 1), {"x": {(0,): -1}})


def test_a_delta_across_index_kinds_pins_nothing():
    """Σ_v [0 ≤ v ≤ 5][v = i] x[i] is 0 at i = (0, 1) (no v is both 0 and 1), not x[0, 1]."""
    i = multi("i")
    lhs = zsum(le(0, v) * le(v, 5) * eq(v, i) * x[i], v)
    rhs = le(0, i) * le(i, 5) * x[i]
    evidence = universal(Claim("scalar pinned to a multi-index", lhs, rhs),
                         Derivation(lhs).by("Kronecker delta", rhs, var=v))
    assert not evidence.ok and "pins no value" in evidence.message


def test_a_known_result_takes_integers_for_integer_symbols():
    """m = 3/2 in 'one of the s sizes' (m a positive integer) gave floor(2/2) + 1 = 3/2."""
    from convproof.symbolic import load
    lemma = load("transposed-output-size").claims["one of the s sizes"]
    a, m, s = (next(x for x in lemma.lhs.free_symbols | lemma.rhs.free_symbols if x.name == n)
               for n in "ams")
    claim = Claim("two equals three halves", sympy.Integer(2), sympy.Rational(3, 2))
    proof = Derivation(claim.lhs).by(
        "known result", claim.rhs, theorem="transposed-output-size", claim="one of the s sizes",
        instance={m: sympy.Rational(3, 2), a: 1, s: 2}, context=lambda e: e)
    evidence = universal(claim, proof)
    assert not evidence.ok and "is not provably one" in evidence.message


def test_an_even_power_of_a_complex_base_is_not_nonnegative():
    """log((1 + z²)²) = 2 log(1 + z²) fails at z = 2i (log 9 against 2 log 3 + 2πi)."""
    from convproof.symbolic import rules_real
    z = sympy.Symbol("z")
    base = 1 + (x[0] + 2 * sympy.I) ** 2
    assert rules_real.sign(base) is None and rules_real.sign(1 + z**2) is None
    assert rules_real.sign(1 + x[0] ** 2) == "positive"
    lhs, rhs = sympy.log(base**2), 2 * sympy.log(base)
    evidence = universal(Claim("log a² = 2 log a", lhs, rhs),
                         Derivation(lhs).by("logarithm laws", rhs))
    assert not evidence.ok and "not provably positive" in evidence.message


def test_certificates_keep_the_symbols_assumptions():
    """size = -3 'refuted' Σ_{0≤v<size} 1 = size, and with size = 0 'certified' that sum = 0."""
    from convproof.symbolic.certificates import Point, certified, refuted
    size = scalar("size", positive=True)
    count = zsum(in_range(v, size), v)
    with pytest.raises(ProofError, match="size = -3 breaks its assumptions"):
        refuted(Claim("count", count, size), Point({size: -3}, 1), {})
    wrong = certified(Claim("zero", count, sympy.S.Zero), [Point({size: -3}, 1)])
    assert not wrong.ok and "breaks its assumptions" in wrong.message
    assert certified(Claim("count", count, size), [Point({size: 3}, 1), Point({size: 1}, 1)]).ok


def test_a_canonical_name_put_in_free_is_refused():
    """The normal form renames bound variables to shared canonical dummies; one taken out of
    a normal form and written free was captured: Σ_a [0 ≤ a ≤ 1] x[a] x[ν0] 'equalled'
    Σ_a [0 ≤ a ≤ 1] x[a]², and the false step passed as algebra."""
    a = scalar("a")
    (_, (_, representative)), = normal_form(zsum(in_range(a, 2) * x[a], a)).terms.items()
    nu0 = representative.bound[0]
    lhs, rhs = zsum(in_range(a, 2) * x[a] * x[nu0], a), zsum(in_range(a, 2) * x[a] ** 2, a)
    with pytest.raises(ProofError, match="bound variable occurs free"):
        equivalent(lhs, rhs)
    assert not universal(Claim("captured", lhs, rhs), Derivation(lhs).by("algebra", rhs)).ok


def test_a_witness_refutes_through_signal_entries_only():
    """e^(x[0]) e^(x[1]) = e^(x[0] + x[1]) holds; a witness that gave the functions of entries
    values of their own (exp of anything = 2) 'refuted' it, 4 against 2.  Such a factor has no
    value at a witness: refused, as is a witness that lacks a signal."""
    from convproof.symbolic.certificates import Point, refuted
    x = Signal("x")
    true = Claim("exp law", sympy.exp(x[0]) * sympy.exp(x[1]), sympy.exp(x[0] + x[1]))
    with pytest.raises(ProofError, match="signal entries, not to exp"):
        refuted(true, Point({}, 1), {"x": {(0,): 0, (1,): 0}})
    with pytest.raises(ProofError, match="no entries of x"):
        refuted(Claim("impulse", x[0], 2 * x[0]), Point({}, 1), {})


def test_an_entry_at_a_non_integer_index_is_refused_on_every_path():
    """x[n/2] at n = 1 has no value (there is no entry x[1/2]); both evaluators refuse it,
    with a function of entries in the term or without."""
    x, n = Signal("x"), scalar("n", positive=True)
    for expr in (x[n / 2], x[n / 2] * sympy.Max(x[0], 0)):
        with pytest.raises(ProofError, match="non-integer index 1/2"):
            instance(expr, {n: 1}, 1)
    assert instance(x[n / 2], {n: 2}, 1) == {(("x", (1,)),): 1}


def test_a_certificate_shows_the_indices_it_checks():
    """A certificate checks a claim at the free indices in their boxes only: the report says
    which (x[i] = x[i]·[0 ≤ i ≤ n - 1] holds there, not at i = -1)."""
    from convproof.report.html import _evidence as html
    from convproof.report.markdown import _evidence as markdown
    from convproof.report.sections import _evidence as view_of
    from convproof.symbolic.certificates import Point, certified
    x, n, i = Signal("x"), scalar("n", positive=True), scalar("i")
    claim = Claim("inside", x[i], x[i] * in_range(i, n), indices={i: in_range(i, n)})
    evidence = certified(claim, [Point({n: 3}, 1)])
    assert evidence.ok
    for printer in (html, markdown):
        assert "for the indices in" in printer(view_of(evidence))


def test_entries_indexed_by_other_kinds_are_not_one_entry():
    """∂x[i]/∂x[j] with i a multi-index and j a channel index: in 2-D x[j] is the entry x[(j,)],
    never x[(i0, i1)], so the derivative is 0, not [i = j]."""
    i, j = multi("i"), scalar("j")
    assert instance(x[j], {j: 1}, 2) != instance(x[i], {i: (1, 1)}, 2)
    with pytest.raises(ProofError, match="not the same kind of entry"):
        apply_rule("differentiate", Partial(x[i], x[j]))


def test_a_change_of_index_keeps_the_kind_of_index():
    """Σ_u [0 ≤ u ≤ 1] x[u] over a multi-index is 4 terms in 2-D, Σ_v over a channel index 2."""
    u = multi("u")
    lhs, rhs = zsum(le(0, u) * le(u, 1) * x[u], u), zsum(le(0, v) * le(v, 1) * x[v], v)
    evidence = universal(Claim("reindexed", lhs, rhs),
                         Derivation(lhs).by("change of index", rhs, var=u, to=v, new=v))
    assert not evidence.ok and "one kind of index to another" in evidence.message


def test_a_rule_finds_its_sum_only_among_indices_of_the_named_kind():
    """'count an interval' named a channel index u and counted the multi-index u: Σ_u [0 ≤ u ≤
    1] x[0] is 2^D x[0], not 2 x[0]."""
    from convproof.symbolic import rules_counting  # noqa: F401  (registers the rule)
    u = multi("u")
    lhs = zsum(le(0, u) * le(u, 1) * x[0], u)
    evidence = universal(Claim("counted", lhs, 2 * x[0]),
                         Derivation(lhs).by("count an interval", 2 * x[0], var=scalar("u")))
    assert not evidence.ok and "an index of the other kind" in evidence.message


def test_entries_of_other_kinds_are_independent_in_moments():
    """b[0] and b[0, 0] are two fair coins: E[b[0] b[0, 0]] = 1/4, not E[b²] = 1/2."""
    from convproof.symbolic.rules_expectation import E, bernoulli, random_signal
    half = sympy.Rational(1, 2)
    b = random_signal("b", bernoulli(half))
    lhs = E(b[0] * b[0, 0])
    wrong = universal(Claim("one entry", lhs, half),
                      Derivation(lhs).by("moments of the law", half))
    assert not wrong.ok
    quarter = universal(Claim("two entries", lhs, half / 2),
                        Derivation(lhs).by("moments of the law", half / 2))
    assert quarter.ok, quarter.message


def test_a_delta_with_a_multi_index_slope_pins_no_channel_index():
    """Σ_v [0 ≤ v ≤ 5][s v = c] x[v] is 0 at s = (1, 2), c = 2 (v = 2 and 2v = 2), not x[2, 1]."""
    s, c = multi("s", positive=True), scalar("c")
    lhs = zsum(le(0, v) * le(v, 5) * eq(s * v, c) * x[v], v)
    rhs = le(0, c / s) * le(c / s, 5) * Divides(s, c) * x[c / s]
    evidence = universal(Claim("pinned by s", lhs, rhs),
                         Derivation(lhs).by("Kronecker delta", rhs, var=v))
    assert not evidence.ok and "pins no value" in evidence.message


def test_a_certificate_over_an_empty_box_compares_nothing_and_fails():
    """x[i] = 0 for i in [1, 0] (no i) was 'exact on 1 grid point'."""
    from convproof.symbolic.certificates import Point, certified
    i, n = multi("i"), scalar("n", positive=True)
    empty = certified(Claim("x = 0", x[i], sympy.S.Zero, indices={i: le(1, i) * le(i, 0)}),
                      [Point({}, 1)])
    assert not empty.ok and "holds no index here" in empty.message
    same = certified(Claim("x = x", x[i], x[i], indices={i: in_range(i, n)}),
                     [Point({n: 2}, 1), Point({n: 3}, 2)])
    assert same.ok, same.message


def test_a_point_of_sizes_cannot_check_a_hypothesis_about_entries():
    """'Σ_{v<n} y[v] = c given Σ_{v<n} y[v] = c' is true: y = (1, 1), c = 5 breaks the
    hypothesis and may not refute it."""
    from convproof.symbolic.certificates import Point, refuted
    y, n, c = Signal("y"), scalar("n", positive=True), scalar("c")
    total = zsum(in_range(v, n) * y[v], v)
    claim = Claim("the sum is c", total, c,
                  hypotheses=(sympy.Eq(total, c, evaluate=False),))
    with pytest.raises(ProofError, match="is not about a size"):
        refuted(claim, Point({n: 2, c: 5}, 1), {"y": {(0,): 1, (1,): 1}})


def test_values_at_points_keep_zero_times_undefined_undefined():
    """relu'(0) with relu = (x + √(x²))/2 has no value (one-sided 0 and 1), nor has
    x log x² at 0: 0 · (0^(-1/2) or log 0) may not count as 0."""
    from convproof.symbolic.operators_layers import Values, evaluated
    origin = Values({}, {"x": {(0,): 0}})
    absolute = sympy.sqrt(x[0] ** 2)
    for claim in (Claim("|x|'(0) = 0", Partial(absolute, x[0]), sympy.S.Zero),
                  Claim("relu'(0) = 1/2", Partial((x[0] + absolute) / 2, x[0]),
                        sympy.Rational(1, 2)),
                  Claim("x log x² = 0 at 0", x[0] * sympy.log(x[0] ** 2), sympy.S.Zero)):
        evidence = evaluated(claim, [origin])
        assert not evidence.ok and "undecided" in evidence.message, claim.name
    assert evaluated(Claim("x² at 1", x[0] ** 2, sympy.S.One), [Values({}, {"x": {(0,): 1}})]).ok


def test_floor_value_drops_facts_with_its_floor_in_any_form():
    """[⌊(j+1)/s⌋ = 0] written with the floor's argument expanded still holds the floor:
    [..](⌊(j+1)/s⌋ + 1) x[j] is 0 at s = 1, j = 5, not x[5]."""
    from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rule)
    j, s = scalar("j"), scalar("s", positive=True)
    raw, expanded = sympy.floor((j + 1) / s), sympy.floor(sympy.expand((j + 1) / s))
    lhs = NonNeg(s * expanded) * NonNeg(-s * expanded) * (raw + 1) * x[j]
    evidence = universal(Claim("floor pinned", lhs, x[j]),
                         Derivation(lhs).by("floor value", x[j], value=0))
    assert not evidence.ok and "cannot show" in evidence.message


def test_a_cyclic_change_of_index_refuses_nested_remainders():
    """Σ_{v<3} x[(v + ⌊(v mod 3)/2⌋) mod 3] = 2 x0 + x1, shifting only the inner remainder gives
    x0 + 2 x2."""
    from convproof.symbolic import rules_sizes  # noqa: F401
    n = scalar("n", positive=True)
    box = le(0, v) * le(v, n - 1)

    def inner(e):
        return sympy.floor(sympy.Mod(e, n) / 2)
    lhs = zsum(box * x[sympy.Mod(v + inner(v), n)], v)
    rhs = zsum(box * x[sympy.Mod(v + inner(v + 1), n)], v)
    evidence = universal(Claim("nested", lhs, rhs),
                         Derivation(lhs).by("cyclic change of index", rhs, var=v, shift=1))
    assert not evidence.ok and "only (v + c) mod n moves" in evidence.message


def test_one_divides_only_integers():
    """[1 | j/2] is 0 at j = 1: with s = 1, [s | j/2] x[j] is not x[j]."""
    j, s = scalar("j"), scalar("s", positive=True)
    assert Divides(1, j / 2) != 1 and Divides(1, j) == 1
    h = sympy.Eq(s, 1, evaluate=False)
    lhs = Divides(s, j / 2) * x[j]
    evidence = universal(Claim("one divides", lhs, x[j], hypotheses=(h,)),
                         Derivation(lhs).by("hypothesis", x[j], equation=h))
    assert not evidence.ok


def test_the_interpreted_evaluator_checks_divisibility_on_every_axis():
    """[s | c] at s = (2, 3), c = 2 is 0 (3 does not divide 2), with an opaque factor too; at
    c = 6 it is 1 (a grid where both sides are 0 everywhere would compare nothing)."""
    from convproof.symbolic.certificates import Point, certified
    s, c = multi("s", positive=True), scalar("c")
    act = sympy.exp(x[0])
    point, divisible = Point({s: (2, 3), c: 2}, 2), Point({s: (2, 3), c: 6}, 2)
    assert not certified(Claim("false", Divides(s, c) * act, act), [point]).ok
    true = Claim("true", Divides(s, c) * act, Divides(s, c + s) * act)
    assert certified(true, [point, divisible]).ok
    assert not certified(Claim("false", Divides(s, c) * act, 0 * act), [point, divisible]).ok


def test_a_reduced_residue_keeps_the_kind_of_the_index():
    """c mod N with N a multi-index is the entry x[(c mod N0, c mod N1)]; c is x[(c,)]."""
    from convproof.symbolic import rules_counting  # noqa: F401
    c, size = scalar("c"), multi("N", positive=True)
    box = le(0, c) * le(c, size - 1)
    lhs = box * x[sympy.Mod(c, size)]
    evidence = universal(Claim("reduced", lhs, box * x[c]),
                         Derivation(lhs).by("reduced residue", box * x[c]))
    assert not evidence.ok


def test_a_constant_index_beside_a_multi_index_is_the_constant_multi_index():
    """The rules read x[0] beside x[u] as x[(0, ..., 0)]; so do the certificates now (they read
    x[(0,)], refuting in 2-D what the rules proved).  Alone, x[0] stays one axis."""
    from convproof.symbolic.certificates import Point, certified, refuted
    u = multi("u")
    origin = zsum(eq(u, 0) * x[u], u)
    claim = Claim("origin", origin, x[0])
    assert universal(claim, Derivation(origin).by("Kronecker delta", x[0], var=u)).ok
    assert certified(claim, [Point({}, 1), Point({}, 2), Point({}, 3)]).ok
    assert not refuted(claim, Point({}, 2), {"x": {(0, 0): 1}}).ok
    assert refuted(Claim("not the origin", origin, x[1]), Point({}, 2), {"x": {(0, 0): 1}}).ok
    assert instance(x[0], {}, 2) == {(("x", (0,)),): 1}


def test_a_channel_index_beside_a_multi_index_may_name_the_same_entry():
    """In 1-D b[c] and b[i] are one entry where c = i0: E[b[c] b[i]] is not 1/4 throughout,
    it is ½[i = c] + ¼(1 - [i = c])."""
    from convproof.symbolic.rules_expectation import E, bernoulli, random_signal
    half, i, c = sympy.Rational(1, 2), multi("i"), scalar("c")
    b = random_signal("b", bernoulli(half))
    lhs = E(b[c] * b[i])
    assert not universal(Claim("independent", lhs, half / 2),
                         Derivation(lhs).by("moments of the law", half / 2)).ok
    rhs = half * EqZero(i - c) + half / 2 * (1 - EqZero(i - c))
    assert universal(Claim("one entry where i = c", lhs, rhs),
                     Derivation(lhs).by("moments of the law", rhs)).ok


def test_a_root_of_a_possibly_negative_integer_is_not_real():
    """log e^(4√t) = 4√t fails at t = -1 ((4 - 2π)i against 4i); 2^√t is not positive."""
    from convproof.symbolic import rules_real
    t = scalar("t")
    u = 4 * sympy.sqrt(t)
    evidence = universal(Claim("log e^u = u", sympy.log(sympy.exp(u)), u),
                         Derivation(sympy.log(sympy.exp(u))).by("logarithm laws", u))
    assert not evidence.ok and "needs a real u" in evidence.message
    assert rules_real.sign(sympy.exp(u)) is None and rules_real.sign(2 ** sympy.sqrt(t)) is None
    n = scalar("n", positive=True)
    assert rules_real.sign(sympy.exp(sympy.sqrt(n))) == "positive"


def test_an_activation_reads_a_constant_index_as_the_whole_claim_does():
    """max(0, Σ_v [v = 0] x[v]) = max(0, x[0]): inside the max x[0] is the origin too, so a
    2-D certificate holds and x(0, 0) = 5 refutes nothing."""
    from convproof.symbolic.certificates import Point, certified
    from convproof.symbolic.operators_pool import Maximum, refuted_with_maxima
    u = multi("u")
    claim = Claim("max at the origin", Maximum(0, zsum(eq(u, 0) * x[u], u)), Maximum(0, x[0]))
    assert certified(claim, [Point({}, 1), Point({}, 2)]).ok
    assert not refuted_with_maxima(claim, Point({}, 2), {"x": {(0, 0): 5}}).ok


def test_only_functions_known_to_keep_reals_real_are_real():
    """acos(1000) = 7.6i: log e^acos(x0) = acos(x0) and log(b²) = 2 log b with
    b = 1 + acos²(x0) (-0.73 at x0 = 2) are refused; exp, tanh and Max stay real."""
    from convproof.symbolic import rules_real
    u = sympy.acos(x[0])
    evidence = universal(Claim("log e^acos", sympy.log(sympy.exp(u)), u),
                         Derivation(sympy.log(sympy.exp(u))).by("logarithm laws", u))
    assert not evidence.ok and "needs a real u" in evidence.message
    assert rules_real.sign(1 + u**2) is None and rules_real.sign(sympy.exp(u)) is None
    assert rules_real.sign(1 + sympy.tanh(x[0]) ** 2) == "positive"
    assert rules_real.sign(sympy.exp(sympy.Max(x[0], x[1]))) == "positive"


def test_an_entry_at_a_random_index_has_no_law_of_its_own():
    """E[w[w0]] for w i.i.d. Bernoulli(q) is q² (w[w0] is w0 where w0 = 0, else w1), not q."""
    from convproof.symbolic.rules_expectation import E, bernoulli, random_signal
    q = sympy.Symbol("q", positive=True)
    w = random_signal("w", bernoulli(q))
    lhs = E(w[w[0]])
    evidence = universal(Claim("E[w[w0]] = q", lhs, q),
                         Derivation(lhs).by("moments of the law", q))
    assert not evidence.ok and "applies nowhere" in evidence.message


def test_certificates_refuse_expectations():
    """Two random signals named w, a fair coin and a standard normal, were one key at a grid
    point: E[coin] = E[gauss] (1/2 = 0) was 'exact on 2 grid points'."""
    from convproof.symbolic.certificates import Point, certified
    from convproof.symbolic.rules_expectation import E, bernoulli, normal, random_signal
    coin = random_signal("w", bernoulli(sympy.Rational(1, 2)))
    gauss = random_signal("w_gauss", normal(1))
    with pytest.raises(ProofError, match="an expectation has no value at a grid point"):
        certified(Claim("E[coin] = E[gauss]", E(coin[0]), E(gauss[0])), [Point({}, 1)])


def test_certificates_keep_random_signals_of_one_name_apart():
    """A certificate keyed entries by their printed name: z[0]·z'[0] = z[0]² was certified
    for a fair coin z and a standard normal z', both named z (at z = 1, z' = 0.94 the sides
    are 0.94 and 1; the rules prove E of the two sides 0 and 1/2).  A claim now refuses two
    signals that print alike."""
    from convproof.symbolic.certificates import Point, certified
    from convproof.symbolic.rules_expectation import bernoulli, normal, random_signal
    coin = random_signal("z", bernoulli(sympy.Rational(1, 2)))
    gauss = random_signal("z", normal(1))
    for lhs, rhs in ((coin[0] * gauss[0], coin[0] ** 2), (Signal("z")[0], gauss[0])):
        with pytest.raises(ProofError, match="print as z"):
            Claim("merged", lhs, rhs)
    other = random_signal("z_other", normal(1))
    assert certified(Claim("two names", coin[0] * other[0], other[0] * coin[0]),
                     [Point({}, 1)]).ok


def test_certificates_refuse_entries_with_different_numbers_of_indices():
    """Keys flatten indices: in 2-D x[i] at i = (0, 0) and x[0, 0] shared one key, and
    Σ_i [i = 0] x[i] = x[0, 0] was certified (for the rules they are different entries)."""
    from convproof.symbolic.certificates import Point, certified
    i, x = multi("i"), Signal("x")
    with pytest.raises(ProofError, match=r"different numbers of indices apart: x \(1, 2"):
        certified(Claim("arity", zsum(eq(i, 0) * x[i], i), x[0, 0]), [Point({}, 2)])


def test_a_known_result_keeps_every_assumption_of_its_symbols():
    """c is real in 'log-sum-exp': c = 2πi made log S = 2πi + log S (0 = 2πi at K = 1, z = 0)."""
    from convproof.symbolic import load
    lemma = load("softmax-xent-gradient").claims["log-sum-exp"]
    c = next(s for s in lemma.rhs.free_symbols if s.name == "c")
    value = 2 * sympy.pi * sympy.I
    rhs = lemma.rhs.subs(c, value)
    proof = Derivation(lemma.lhs).by("known result", rhs, theorem="softmax-xent-gradient",
                                     claim="log-sum-exp", instance={c: value},
                                     context=lambda h: h)
    evidence = universal(Claim("log S = 2πi + log S", lemma.lhs, rhs), proof)
    assert not evidence.ok and "c is real" in evidence.message


def test_points_keep_every_assumption_and_the_kind_of_each_symbol():
    """e even at e = 1 certified [2 | e] x0 = 0; a channel index given (0,) compared a tuple
    with 0; an entry 2πi is not a real entry."""
    from convproof.symbolic.certificates import Point, certified
    from convproof.symbolic.operators_layers import Values, evaluated
    e = scalar("e", even=True)
    wrong = certified(Claim("[2 | e] x0 = 0", Divides(2, e) * x[0], sympy.S.Zero),
                      [Point({e: 1}, 1)])
    assert not wrong.ok and "breaks its assumptions" in wrong.message
    n, c = multi("n", nonnegative=True), scalar("c")
    pinned = Claim("[c = 0] x0 = 0", EqZero(c) * x[0], sympy.S.Zero,
                   hypotheses=(sympy.Eq(c, n, evaluate=False),))
    assert not certified(pinned, [Point({n: (0, 0)}, 2)]).ok
    assert not certified(Claim("[c = 0] x0 = 0", EqZero(c) * x[0], sympy.S.Zero),
                         [Point({c: (0,)}, 1)]).ok
    logexp = Claim("log e^x = x", sympy.log(sympy.exp(x[0])), x[0])
    with pytest.raises(ProofError, match="is not real"):
        evaluated(logexp, [Values({}, {"x": {(0,): 2 * sympy.pi * sympy.I}})])
    assert evaluated(logexp, [Values({}, {"x": {(0,): 3}})]).ok


def _capture_cases() -> list:
    """False claims that a rule reading the brackets about a free j would prove by rewriting
    inside a Σ_j nested in a bracket, where j is bound: (rule, params, left, right)."""
    from convproof.symbolic import rules_counting, rules_sizes  # noqa: F401  (their rules)
    j, n = scalar("j"), scalar("n", positive=True)
    halves = zsum(le(0, j) * le(j, 3) * sympy.floor(j / 2), j)  # 0 + 0 + 1 + 1 = 2
    ones = zsum(le(0, j) * le(j, 3), j)  # 4
    remainders = zsum(le(0, j) * le(j, n) * sympy.Mod(j, n), j)  # n(n - 1)/2
    residues = zsum(le(0, j) * le(j, n) * j, j)  # n(n + 1)/2
    box = le(0, j) * le(j, n - 1)
    return [
        ("floor value", {"value": 1}, le(2, j) * le(j, 3) * NonNeg(halves - 3),
         le(2, j) * le(j, 3) * NonNeg(ones - 3)),  # at j = 2: 0 against 1
        *((name, {}, box * NonNeg(remainders - n * (n + 1) / 2),
           box * NonNeg(residues - n * (n + 1) / 2))  # at n = 1, j = 0: 0 against 1
          for name in ("reduced residue", "remainder in its box")),
    ]


@pytest.mark.parametrize("name, params, left, right", _capture_cases(),
                         ids=lambda case: case if isinstance(case, str) else "")
def test_a_rule_takes_no_fact_about_a_free_j_for_a_sum_over_j(name, params, left, right):
    evidence = universal(Claim("false", left, right), Derivation(left).by(name, right, **params))
    assert not evidence.ok


def test_a_rule_rewrites_the_free_j_and_leaves_a_sum_over_j_as_it_was():
    """The free floor(j/2) takes its value from [2 ≤ j ≤ 3]; the nested Σ_j keeps its floor
    and its variable's name."""
    from convproof.symbolic import rules_sizes  # noqa: F401  (its rules)
    j = scalar("j")
    nested = NonNeg(zsum(le(0, j) * le(j, 3) * sympy.floor(j / 2), j) - 3)
    after, count = apply_rule("floor value", le(2, j) * le(j, 3) * sympy.floor(j / 2) * nested,
                              value=1)
    assert count == 1 and after == le(2, j) * le(j, 3) * nested


def test_an_equation_at_a_point_is_not_used_inside_a_derivative():
    """[k = x[0]]·k = [k = x[0]]·2k and n = 2n under n = x[0], by moving the point's value
    into ∂(k x[0])/∂x[0], which is k there, not 2 x[0]."""
    from convproof.symbolic.language import Partial
    k_, n_ = scalar("k_ n_")
    delta = EqZero(k_ - x[0])
    proof = (Derivation(delta * k_)
             .back("differentiate", delta * Partial(k_ * x[0], x[0]))
             .by("use the delta", delta * Partial(x[0] * x[0], x[0]), var=k_)
             .by("differentiate", delta * 2 * x[0])
             .back("use the delta", delta * 2 * k_, var=k_))
    assert "no constant" in _refused(Claim("doubled", delta * k_,
                                                           delta * 2 * k_), proof)
    at = sympy.Eq(n_, x[0])
    proof = (Derivation(n_)
             .back("differentiate", Partial(n_ * x[0], x[0]))
             .by("hypothesis", Partial(x[0] * x[0], x[0]), equation=at)
             .by("differentiate", 2 * x[0])
             .back("hypothesis", 2 * n_, equation=at))
    assert "no constant" in _refused(Claim("doubled", n_, 2 * n_, hypotheses=(at,)), proof)


def test_a_known_result_under_hypotheses_is_not_used_inside_a_derivative(monkeypatch):
    """x[0] = 0 under x[0] = 0 holds at a point: in ∂(·)/∂x[0] it would give 1 = 0."""
    from convproof.symbolic import Theorem
    from convproof.symbolic.language import Partial
    from convproof.symbolic.proof import THEOREMS
    monkeypatch.setitem(THEOREMS, "grad-bias", THEOREMS.get("grad-bias"))  # restored after
    at_zero = sympy.Eq(x[0], 0, evaluate=False)
    lemma = Theorem("grad-bias", "a lemma at a point", "x[0] = 0 under x[0] = 0")
    zero = lemma.export(Claim("zero", x[0], sympy.S.Zero, hypotheses=(at_zero,)))
    lemma.evidence(lambda: universal(zero, Derivation(x[0]).by("entry hypothesis", sympy.S.Zero,
                                                               equation=at_zero)))
    proof = (Derivation(sympy.S.One)
             .back("differentiate", Partial(x[0], x[0]))
             .by("known result", Partial(sympy.S.Zero, x[0]), theorem="grad-bias", claim="zero",
                 instance={}, context=lambda e: Partial(e, x[0]))
             .by("differentiate", sympy.S.Zero))
    assert "inside a derivative" in _refused(
        Claim("one is zero", sympy.S.One, sympy.S.Zero, hypotheses=(at_zero,)), proof)


def _point_brackets_in_derivatives() -> list:
    """False claims that move a bracket of entries, true at a point only, into or out of a
    derivative (P = [x0 ≠ 0]: P·x0 = x0 everywhere, so ∂(P·x0)/∂x0 = 1): (claim, derivation)."""
    from convproof.symbolic import rules_counting, rules_sizes  # noqa: F401  (their rules)
    from convproof.symbolic.language import Partial
    v_, w_ = scalar("v_ w_")
    P = NonNeg(-EqZero(x[0]))  # [x0 ≠ 0]
    Q = NonNeg(-EqZero(x[0] - 2))  # [x0 ≠ 2]
    a_ = x[0] + 2 * Q
    near_two = NonNeg(x[0] - 2) * NonNeg(2 - x[0]) * NonNeg(-2 * Q)
    box = NonNeg(a_) * NonNeg(2 - a_)
    cases = []

    def case(lhs, rhs, rule_name, **params):
        cases.append((Claim("false", lhs, rhs), Derivation(lhs).by(rule_name, rhs, **params)))

    split = P * Partial(x[0], x[0]) + NonNeg(EqZero(x[0]) - 1) * Partial(sympy.S.Zero, x[0])
    cases.append((Claim("false", Partial(P * x[0], x[0]), P),
                  Derivation(Partial(P * x[0], x[0])).by("case split", split, bracket=P)
                  .by("differentiate", P)))  # 1 against 0 at x0 = 0
    case(zsum(NonNeg(v_) * NonNeg(-v_) * Partial(v_ * x[0], x[0]), v_),
         zsum(NonNeg(w_ + P) * NonNeg(-w_ - P) * Partial((w_ + P) * x[0], x[0]), w_),
         "change of index", var=v_, to=w_ + P, new=w_)  # 0 against 1 at x0 = 0
    case(Partial(x[EqZero(x[0])] * x[0], x[0]),
         EqZero(EqZero(x[0])) * x[0] + x[EqZero(x[0])], "differentiate")  # 0 against x1
    case(NonNeg(-P) * Partial(sympy.floor((P + 1) / 2) * x[0], x[0]),
         NonNeg(-P) * Partial(sympy.S.Zero, x[0]), "floor value", value=0)  # 1 against 0
    case(zsum(EqZero(v_ - P) * Partial(v_ * x[0], x[0]), v_), Partial(P * x[0], x[0]),
         "Kronecker delta", var=v_)  # 0 against 1 at x0 = 0
    case(near_two * Partial(sympy.Mod(a_, 3) * (x[0] - 2), x[0]),
         near_two * Partial(a_ * (x[0] - 2), x[0]), "reduced residue")  # 1 against 4
    case(box * Partial(sympy.Mod(a_, 3) * (x[0] - 2), x[0]),
         box * Partial(a_ * (x[0] - 2), x[0]), "remainder in its box")  # 1 against 4
    return cases


@pytest.mark.parametrize("claim, proof", _point_brackets_in_derivatives(),
                         ids=lambda case: case.steps[0].rule if hasattr(case, "steps") else "")
def test_a_bracket_of_entries_is_no_constant_inside_a_derivative(claim, proof):
    _refused(claim, proof)


def _point_facts_in_expectations() -> list:
    """False claims that use a fact of one outcome (a bracket or a delta of random entries)
    inside E[...], which averages over every outcome: (claim, derivation).  z = ±1 with
    probability 1/2 each has mean 0 and variance 1: at z0 = 1 the left sides below are
    E[z0 mod 2] = 1 against 0; b Bernoulli(1/2) at b0 = t = 1: E[t] = 1 against 1/2."""
    from convproof.symbolic import rules_counting  # noqa: F401  (its rules)
    from convproof.symbolic.rules_expectation import E, bernoulli, centered, random_signal
    from convproof.symbolic.rules_sums import every
    z = random_signal("z", centered(1))
    b = random_signal("b", bernoulli(sympy.Rational(1, 2)))
    t = sympy.Symbol("t", real=True)
    unit = le(0, z[0]) * le(z[0], 1)
    residue = unit * E(sympy.Mod(z[0], 2))
    cases = [(Claim("false", residue, sympy.S.Zero),
              Derivation(residue).by(rule_name, unit * E(z[0])).by("moments of the law", 0))
             for rule_name in ("reduced residue", "remainder in its box")]
    delta = EqZero(t - b[0])
    cases.append((Claim("false", delta * E(t), delta / 2),
                  Derivation(delta * E(t)).by("use the delta", delta * E(b[0]), var=t)
                  .by("moments of the law", delta / 2)))
    bracket, other = NonNeg(NonNeg(z[0]) - 1), NonNeg(-NonNeg(z[0]))  # [z0 ≥ 0], [z0 < 0]
    mixed = E(z[0] ** 2 * bracket + x[0] * other)  # 1/2 at x0 = 0, against 1 or 0
    cases.append((Claim("false", mixed, bracket + other * x[0]),
                  Derivation(mixed).by("case split", bracket * E(z[0] ** 2) + other * E(x[0]),
                                       bracket=bracket)
                  .by("moments of the law", bracket + other * E(x[0]))
                  .by("linearity of expectation", bracket + other * x[0])))
    v_ = scalar("v_")  # (v + [z0 ≥ 0]) mod 2 permutes {0, 1} at one outcome, not under E
    squares = [zsum(le(0, v_) * le(v_, 1) * E(z[sympy.Mod(v_ + shift, 2)] * z[0]) ** 2, v_)
               for shift in (0, NonNeg(z[0]))]  # 1 against 1/2 for z = ±1
    cases.append((Claim("false", *squares), Derivation(squares[0]).by(
        "cyclic change of index", squares[1], var=v_, shift=NonNeg(z[0]))))
    y, a_ = Signal("y"), scalar("a_")  # y is no random signal: y[a] = b[a] at one outcome
    drawn = every((a_,), y[a_], b[a_])
    cases.append((Claim("false", E(y[0]), sympy.Rational(1, 2), hypotheses=(drawn,)),
                  Derivation(E(y[0])).by("entry hypothesis", E(b[0]), equation=drawn)
                  .by("moments of the law", sympy.Rational(1, 2))))  # E[y0] = y0 = 1 at b0 = 1
    return cases


@pytest.mark.parametrize("claim, proof", _point_facts_in_expectations(),
                         ids=lambda case: case.steps[0].rule if hasattr(case, "steps") else "")
def test_a_fact_of_one_outcome_is_not_used_inside_an_expectation(claim, proof):
    _refused(claim, proof)


def test_an_instance_cannot_reach_a_symbol_of_a_random_signals_law():
    """adam-bias-correction's "bias" is E[v_k] = (1 - μ^k) ḡ with ḡ the mean of g's law:
    E[v_k] = (1 - μ^k)·7 for every ḡ is false (0 against 7/2 at ḡ = 0, μ = 1/2, k = 1)."""
    import sys

    from convproof.symbolic.proof import load
    theorem = load("adam-bias-correction")
    module = sys.modules["convproof.proofs.adam_bias_correction"]
    lemma = theorem.claims["bias"]
    rhs = (1 - module.mu ** module.k) * 7
    proof = Derivation(lemma.lhs).by("known result", rhs, theorem="adam-bias-correction",
                                     claim="bias", instance={module.g_mean: 7},
                                     context=lambda hole: hole)
    assert "a random signal's law" in _refused(Claim("false", lemma.lhs, rhs), proof)


def test_the_chain_rule_differentiates_by_input_entries_only():
    """With y = 2x, ∂(y0²)/∂y0 is 2 y0, not the 0 that unfolding y first would give."""
    from convproof.symbolic import rules_real  # noqa: F401  (its rules)
    y = Signal("y", definition=lambda i: 2 * x[i], arity=1)
    h = Signal("h", definition=lambda i: x[i] + 1, arity=1)
    lhs = Partial(y[0] ** 2, y[0])
    proof = Derivation(lhs).by("chain rule", sympy.S.Zero, keep=(h,))
    assert "entry of a defined signal" in _refused(Claim("false", lhs, sympy.S.Zero), proof)


def test_an_entry_is_real_where_its_definition_is():
    """ys = √x: ys0² + 1 = x0 + 1 is 0 at x0 = -1, so (ys0⁴ - 1)/(ys0² + 1) = ys0² - 1 is
    0/0 against -2 there; 'rational arithmetic' must not find its denominator positive."""
    from convproof.symbolic import rules_real  # noqa: F401  (its rules)
    ys = Signal("ys", definition=lambda i: sympy.sqrt(x[i]), arity=1)
    lhs, rhs = (ys[0] ** 4 - 1) / (ys[0] ** 2 + 1), ys[0] ** 2 - 1
    proof = Derivation(lhs).by("rational arithmetic", rhs, equals=rhs)
    assert "not provably positive" in _refused(Claim("false", lhs, rhs), proof)


@pytest.mark.parametrize("inside", ["bracket", "remainder"])
def test_cancelling_a_factor_that_is_no_polynomial_is_refused(inside):
    """A bracket or a remainder in the factor: no polynomial division, a refused step (it
    raised SymPy's PolynomialError out of the check)."""
    n_, k_, m_ = scalar("n_ k_ m_", positive=True)
    factor = n_ + NonNeg(k_) if inside == "bracket" else sympy.Mod(k_, n_) + 1
    lhs = NonNeg(factor * m_) * x[0]
    proof = Derivation(lhs).by("cancel a positive factor", NonNeg(m_) * x[0], factor=factor)
    assert "applies nowhere" in _refused(Claim("true but not by this rule", lhs, lhs), proof)


def test_a_sign_sympy_cannot_decide_leaves_the_bracket_undecided():
    """e^x0 - 1 at x0 = 10^-3000 is positive, but SymPy's sign of it is None: [u > 0] was 0
    there, which certified [e^x0 - 1 > 0] = [-x0 > 0]; now it is undecided, a failure."""
    from convproof.symbolic.operators_layers import Positive, Values, evaluated
    point = Values({}, {"x": {(0,): sympy.Rational(1, 10**3000)}})
    for wrong in (Positive(-x[0]), Positive(x[0])):
        evidence = evaluated(Claim("undecided", Positive(sympy.exp(x[0]) - 1), wrong), [point])
        assert not evidence.ok and "undecided" in evidence.message


@pytest.mark.parametrize("relation", [sympy.Lt, sympy.Ge, sympy.Ne])
def test_a_hypothesis_is_an_equation(relation):
    """n < k read as n = k had proved and certified x[n] = x[k] (false at n = 2, k = 3)."""
    n_, k_ = scalar("n_ k_")
    with pytest.raises(ProofError, match="is no equation"):
        Claim("x[n] = x[k]", x[n_], x[k_], hypotheses=(relation(n_, k_),))


def test_a_float_is_refused_in_claims_and_steps():
    """Float coefficients were added with rounding: (1e20 + 1)·x[i] = 1e20·x[i] passed
    'algebra' (false by x[i])."""
    big = sympy.Float("1e20")
    with pytest.raises(ProofError, match="floating-point"):
        Claim("rounded", big * x[i] + x[i], big * x[i])
    exact = sympy.Integer(10) ** 20
    claim = Claim("exact", exact * x[i] + x[i], (exact + 1) * x[i])
    assert universal(claim, Derivation(claim.lhs).by("algebra", claim.rhs)).ok
    via_float = Derivation(claim.lhs).by("algebra", big * x[i] + x[i]).by("algebra", claim.rhs)
    assert "floating-point" in _refused(claim, via_float)


def test_sympys_own_binders_are_refused():
    """substitute and the normal form see only ZSum's variables: 'hypothesis' t = j put into
    SymPy's Σ_{j=0}^{1} x_j y_t captured j (2 against 1 at t = j = 0, x = (1, 1), y = (1, 0));
    a definition unfolding to a Sum, or a Derivative, Subs or Integral, is refused alike."""
    t_, j_ = scalar("t_ j_")
    captured = sympy.Eq(t_, j_, evaluate=False)
    with pytest.raises(ProofError, match="binds a variable the way SymPy does"):
        Claim("capture", sympy.Sum(x[j_] * w[t_], (j_, 0, 1)),
              sympy.Sum(x[j_] * w[j_], (j_, 0, 1)), hypotheses=(captured,))
    for binder in (sympy.Derivative(t_ ** 2 * x[0], t_), sympy.Subs(t_ * x[0], t_, 1),
                   sympy.Integral(t_ * x[0], (t_, 0, 1)), sympy.Limit(t_ + j_, t_, 0),
                   sympy.Integral(t_, j_),  # indefinite: Integral(y, x) = Integral(x, x), y = x
                   sympy.Product(x[j_], (j_, 0, 2)),
                   sympy.Lambda(t_, t_ * x[0]),
                   sympy.Sum(x[j_] * w[t_], (j_, 0, j_))):  # j free through its limit too
        with pytest.raises(ProofError, match="binds a variable"):
            Claim("binder", binder, x[0])
    summed = Signal("summed", definition=lambda a: sympy.Sum(x[a + j_], (j_, 0, 1)), arity=1)
    with pytest.raises(ProofError, match="binds a variable"):
        Claim("unfolded", summed[j_], x[j_] + x[2 * j_])
    via = Derivation(x[j_]).by("algebra", sympy.Sum(x[j_], (t_, 0, 0))).by("algebra", x[j_])
    assert "binds a variable" in _refused(Claim("via a Sum", x[j_], x[j_]), via)


def test_floats_are_refused_in_instances_laws_points_and_definitions_as_unfolded():
    """1 + 1e20 rounds to 1e20: a Float reached the comparison through a 'known result'
    instance (x0 = x0 + η proved), a law's parameter (E[z0²] x0 + x0 - 10^20 x0 = 0 proved),
    a certificate's point ((n + 1) x0 = n x0 certified at n = 1e20; an int64 2^62 wrapped), and
    a definition that changed after its first check (it is read once: the change is not seen)."""
    from convproof.symbolic import Point, certified, load
    from convproof.symbolic.rules_expectation import centered
    lemma = load("adam-bias-correction").claims["the notes' update"]
    named = {str(s): s for s in lemma.lhs.free_symbols | lemma.rhs.free_symbols}
    eta = named["eta"]
    proof = Derivation(x[0]).by(
        "known result", x[0] + eta, theorem="adam-bias-correction", claim="the notes' update",
        instance={named["vhat"]: sympy.Float(1e20), named["epsilon"]: 1, named["rhat"]: 0},
        context=lambda e: e + x[0])
    assert "floating-point" in _refused(Claim("x0 = x0 + eta", x[0], x[0] + eta), proof)
    with pytest.raises(ProofError, match="floating-point"):
        centered(1e20)
    size = scalar("size", positive=True)
    for value in (1e20, np.float64(1e20)):
        with pytest.raises(ProofError, match="exact integers or fractions"):
            certified(Claim("rounded", (size + 1) * x[0], size * x[0]), [Point({size: value}, 1)])
    wrapped = certified(Claim("wrapped", 2 * size * x[0], -2 * size * x[0]),
                        [Point({size: np.int64(2**62)}, 1)])
    assert not wrapped.ok
    scale = [sympy.Integer(10) ** 20]
    changing = Signal("y_scaled", definition=lambda a: scale[0] * x[a], arity=1)
    assert universal(Claim("exact", changing[0], scale[0] * x[0]), Derivation(changing[0]).by(
        "definition", scale[0] * x[0], signals=(changing,))).ok
    scale[0] = sympy.Float(1e20)
    left = Partial(changing[0] + x[0], x[0]) - sympy.Integer(10) ** 20
    assert "differ by 1" in _refused(Claim("changed", left, sympy.S.Zero),
                                     Derivation(left).by("differentiate", sympy.S.Zero))
    assert not changing.body[1].has(sympy.Float)


def test_a_link_inside_an_expectation_checks_the_same_every_time():
    """A bracket inside E[...] was oriented ([v = 0] or [-v = 0]) by the hash of the outer
    sum's fresh variable, before its canonical name: rechecking one accepted 'Kronecker
    delta' link was refused 6 times in 8."""
    from convproof.symbolic.rules_expectation import E, centered, random_signal
    z = random_signal("z_orient", centered(1))
    v_, w_ = scalar("v_ w_")
    size = scalar("size", positive=True)
    start = zsum(eq(v_, w_) * in_range(v_, size) * E(EqZero(v_) * z[v_]) * x[v_], v_, w_)
    result, _ = apply_rule("Kronecker delta", start, var=v_)
    link = Derivation(start).by("Kronecker delta", result, var=v_)
    verdicts = {link.check()[0].ok for _ in range(12)}
    assert verdicts == {True}


def test_a_float_or_binder_inside_a_definition_is_refused():
    """y[a] = 1e20·x[a] (a Float): 'differentiate' unfolded y and SymPy rounded 1e20 + 1, which
    proved ∂(y0 + x0)/∂x0 - 10^20 = 0 (it is 1); a binder two definitions down likewise."""
    from convproof.symbolic import rules_real  # noqa: F401  (its rules)
    rounded = Signal("y_float", definition=lambda a: sympy.Float(1e20) * x[a], arity=1)
    left = Partial(rounded[0] + x[0], x[0]) - sympy.Integer(10) ** 20
    with pytest.raises(ProofError, match="floating-point"):
        Claim("rounded away", left, sympy.S.Zero)
    t_ = scalar("t_")
    inner = Signal("y_limit", definition=lambda a: sympy.Limit(t_ * x[a], t_, 1), arity=1)
    outer = Signal("y_outer", definition=lambda a: 2 * inner[a], arity=1)
    with pytest.raises(ProofError, match="binds a variable"):
        Claim("nested binder", outer[0], 2 * x[0])


def test_a_claim_side_is_an_expression_and_a_rule_takes_its_own_parameters():
    """True = True, a missing 'equation' and 'assumed' given to 'linearity' raised TypeError
    out of universal(); they are refusals."""
    with pytest.raises(ProofError, match="truth value"):
        Claim("booleans", sympy.S.true, sympy.S.true)
    with pytest.raises(ProofError, match="truth value"):
        Claim("relation", sympy.Eq(x[0], 1), sympy.S.true)
    claim = Claim("x = x", x[0], x[0])
    assert "missing a required argument: 'equation'" in _refused(
        claim, Derivation(x[0]).by("hypothesis", x[0]))
    assert "unexpected keyword argument 'assumed'" in _refused(
        claim, Derivation(x[0]).by("linearity", x[0], assumed=()))


def test_a_torus_certificate_that_compares_only_zeros_fails():
    """F(x restricted to j ≥ 4)[κ] = 0 for κ < n holds for n ≤ 4 only because both sides are 0
    there (at n = 5, x = δ_4, κ = 0 the left side is 1)."""
    from convproof.symbolic import Point
    from convproof.symbolic.operators_fourier import character_entry, dft, torus_certified
    size, kappa = multi("size", positive=True), multi("kappa")
    above = Signal("above_four", r"x_{\ge 4}", lambda u: le(4, u) * x[u], arity=1)
    claim = Claim("zero", dft(above, size, character_entry, name="F")[kappa], sympy.S.Zero,
                  indices={kappa: in_range(kappa, size)})
    evidence = torus_certified(claim, [Point({size: (s,)}, 1) for s in (1, 2, 3, 4)])
    assert not evidence.ok and "compares nothing" in evidence.message
    assert not torus_certified(claim, [Point({size: (5,)}, 1)]).ok


def test_signals_and_functions_that_print_alike_are_refused_by_certificates():
    """The keys are printed names: f(x0) = f(x0) with two different f was certified."""
    from convproof.symbolic import Point, certified
    pairs = [(sympy.Function("f")(x[0]), sympy.Function("f", real=True)(x[0])),
             (type("relu", (sympy.Function,), {})(x[0]),
              type("relu", (sympy.Function,), {})(x[0])),
             (sympy.IndexedBase("x")[0], x[0]),  # refused by the claim first
             # Max is no Function subclass: F = Function('Max') against max was certified
             (sympy.Function("Max")(x[0], x[1]), sympy.Max(x[0], x[1]))]
    for left, right in pairs:
        with pytest.raises(ProofError, match="print alike|print as"):
            certified(Claim("two unknowns", left, right), [Point({}, 1)])


def test_a_certificate_refuses_what_it_cannot_evaluate():
    """A size the point omits, or an entry inside a bracket, raised KeyError out of certified."""
    from convproof.symbolic import Point, certified
    size, v_ = scalar("size", positive=True), scalar("v_")
    for claim, point in ((Claim("omitted", x[size], x[size]), Point({}, 1)),
                         (Claim("entry in a bracket", zsum(EqZero(2 * v_ - x[0]) * x[0], v_),
                                zsum(EqZero(2 * v_ - x[0]) * x[0], v_)), Point({}, 1))):
        with pytest.raises(ProofError, match="has no integer value there"):
            certified(claim, [point])


def test_a_certificate_says_that_functions_compared_as_written_refute_nothing():
    """max(0, a) = (a + |a|)/2 is true; the certificate fails it, and must not read as a
    refutation; a difference of plain entries carries no such remark."""
    from convproof.symbolic import Point, certified
    undecided = certified(Claim("max", sympy.Max(0, x[0]), (x[0] + sympy.Abs(x[0])) / 2),
                          [Point({}, 1)])
    assert not undecided.ok and "compared as written, so this refutes nothing" in undecided.message
    wrong = certified(Claim("twice", 2 * x[0], x[0]), [Point({}, 1)])
    assert not wrong.ok and "refutes nothing" not in wrong.message


def test_certificates_refuse_what_would_certify_a_false_claim_or_refute_a_true_one():
    """A signal named @at shared the free-index marker's keys (A[1 - i] = 2[i = 0] A[1] was
    certified); evaluated took (√2 + 1)(√2 - 1) + 5/2 for an integer (2n = 7 held) and u = i
    for a real symbol (u² + 1 = 0 held); refuted read a hypothesis i = 0 about a free index
    as a size, then ran i over its box (x[i] = x[0] 'refuted')."""
    from convproof.symbolic import Point, certified, refuted
    from convproof.symbolic.operators_layers import Values, evaluated
    i_ = scalar("i_")
    marker = Signal("@at")
    claim = Claim("marker", marker[1 - i_], 2 * EqZero(i_) * marker[1],
                  indices={i_: in_range(i_, 2)})
    with pytest.raises(ProofError, match="names starting with @ are the certificates' own"):
        certified(claim, [Point({}, 1)])
    size, u_ = scalar("size", positive=True), sympy.Symbol("u_")  # u_: no assumption
    half = (sympy.sqrt(2) + 1) * (sympy.sqrt(2) - 1) + sympy.Rational(5, 2)
    for wrong, value in ((Claim("2n = 7", 2 * size, 7), {size: half}),
                         (Claim("u² + 1 = 0", u_ ** 2 + 1, 0), {u_: sympy.I})):
        with pytest.raises(ProofError, match="not a real number that provably meets"):
            evaluated(wrong, [Values(value)])
    pinned = Claim("x[i] = x[0]", x[i_], x[0], hypotheses=(sympy.Eq(i_, 0, evaluate=False),),
                   indices={i_: in_range(i_, size)})
    with pytest.raises(ProofError, match="is about a free index"):
        refuted(pinned, Point({size: 2}, 1), {"x": {(1,): 1}})


def test_certificates_refuse_what_they_cannot_evaluate_cleanly():
    """A Python int as a side, a divisor 0, an infinite witness entry and a point breaking an
    assumption raised AttributeError, ZeroDivisionError, OverflowError and ValueError."""
    from convproof.symbolic import Point, certified, refuted
    size, k_ = scalar("size", positive=True), scalar("k_", nonnegative=True)
    assert not certified(Claim("int side", x[0] - x[0], 0), [Point({}, 1)]).ok  # 0 = 0 only
    with pytest.raises(ProofError, match="divides by 0"):
        certified(Claim("x0/k", x[0] / k_, x[0] / k_), [Point({k_: 0}, 1)])
    with pytest.raises(ProofError, match="no finite number"):
        refuted(Claim("x0 = 0", x[0], 0), Point({}, 1), {"x": {(0,): float("inf")}})
    broken = certified(Claim("slope", zsum(in_range(k_, 2) * x[size * k_], k_),
                             zsum(in_range(k_, 2) * x[size * k_], k_)), [Point({size: 0}, 1)])
    assert not broken.ok and "size = 0 breaks its assumptions" in broken.message
    assert certified(Claim("x[n]", x[size], x[size]), [Point({size: sympy.Rational(4, 2)}, 1),
                                                      Point({size: 2}, 1)]).message.startswith(
        "exact on 1 grid point")
    point = Point({size: 3}, 1)
    point.values[size] = 1e20  # a Point is mutable: its values are read again
    with pytest.raises(ProofError, match="exact integers or fractions"):
        certified(Claim("rounded", (size + 1) * x[0], size * x[0]), [point])
    sizes = multi("sizes", positive=True)
    assert certified(Claim("x[n]", x[sizes], x[sizes]), [Point({sizes: np.array([2, 3])}, 2)]).ok
    with pytest.raises(ProofError, match="no number read exactly"):
        refuted(Claim("x0 = 0", x[0], 0), Point({}, 1), {"x": {(0,): sympy.sqrt(2)}})


def test_a_certificate_counts_the_cases_its_claim_reads():
    """Points that differ only in a size the claim does not read repeat one case."""
    from convproof.symbolic import Point, certified
    n_, q_ = scalar("n_ q_", positive=True)
    grid = [Point({n_: 2, q_: q}, 1) for q in (1, 2, 3)] + [Point({n_: 3, q_: 1}, 1)]
    evidence = certified(Claim("x[n] + x[n] = 2 x[n]", 2 * x[n_], x[n_] + x[n_]), grid)
    assert evidence.ok
    assert evidence.message == ("exact on 2 grid points (1-D, of 4 given: the others differ "
                                "only in sizes the claim does not read)")


@pytest.mark.parametrize("parity", ["even", "odd"])
def test_a_new_summation_variable_carries_no_parity(parity):
    """Σ_v [0 ≤ v ≤ 1] (-1)^v x0 is 0; renamed to an even w, SymPy took (-1)^w for 1 and the
    sum became 2 x0 (-2 x0 for an odd w)."""
    from convproof.symbolic import rules_counting  # noqa: F401  (its rules)
    v_, w_ = scalar("v_"), sympy.Symbol("w_", integer=True, **{parity: True})
    sign = 1 if parity == "even" else -1
    box = le(0, v_) * le(v_, 1)
    lhs = zsum(box * (-1) ** v_ * x[0], v_)
    proof = (Derivation(lhs).by("change of index", sign * zsum(box * x[0], v_), var=v_, to=w_,
                                new=w_)
             .by("count an interval", sign * 2 * x[0], var=v_))
    assert "parity" in _refused(Claim("false", lhs, sign * 2 * x[0]), proof)


def test_a_cyclic_shift_is_not_captured_by_a_sum_inside_the_term():
    """The shift ν0 (the normal form's name of a nested sum's variable) moved under Σ_w read
    that sum's w: Σ_v exp(Σ_{w<2} x[(v + w) mod 3]) exp(y[v mod 3]) became the same with
    v + 2w (3e against 1 + e + e² at x = δ0, y = δ1)."""
    from convproof.symbolic.normal import _canonical_symbol
    v_, w_ = scalar("v_ w_")
    y = Signal("y")

    def side(c):
        inner = [zsum(le(0, w_) * le(w_, top) * z[sympy.Mod(v_ + c * w_, 3)], w_)
                 for top, z in ((1, x), (0, y))]
        return zsum(le(0, v_) * le(v_, 2) * sympy.exp(inner[0]) * sympy.exp(inner[1]), v_)

    nested = _canonical_symbol(0, False, 0)
    proof = Derivation(side(1)).by("cyclic change of index", side(2), var=v_, shift=nested)
    assert "which a sum inside the term binds" in _refused(Claim("false", side(1), side(2)),
                                                           proof)


def test_steps_a_rule_cannot_take_are_refusals_not_crashes():
    """A remainder under 'floor shift' (SymPy's PolynomialError), a derivative under
    'symmetry' (a derivative by -g[0]), a defined signal without its arity."""
    from convproof.symbolic import rules_sizes  # noqa: F401  (its rules)
    from convproof.symbolic.rules_expectation import E, normal, random_signal
    k_, q_, n_ = scalar("k_ q_ n_", positive=True)
    lhs = sympy.floor((sympy.Mod(k_, n_) + n_ * q_) / n_) * x[0]
    rhs = (sympy.floor(sympy.Mod(k_, n_) / n_) + q_) * x[0]
    assert "applies nowhere" in _refused(Claim("by floor shift", lhs, rhs),
                                         Derivation(lhs).by("floor shift", rhs))
    g = random_signal("g", normal(1))
    cube = E(Partial(g[0] ** 3, g[0]))
    proof = Derivation(cube).by("symmetry", cube, signal=g)
    assert "holds a derivative" in _refused(Claim("by symmetry", cube, cube), proof)
    with pytest.raises(ValueError, match="needs its arity"):
        Signal("no_arity", "a", lambda i_: x[i_])


def test_a_known_result_under_hypotheses_is_not_used_inside_an_expectation(monkeypatch):
    """b[0] = 0 under b[0] = 0 holds at one outcome: in E[·] it would give 1/2 = 0."""
    from convproof.symbolic import Theorem
    from convproof.symbolic.proof import THEOREMS
    from convproof.symbolic.rules_expectation import E, bernoulli, random_signal
    monkeypatch.setitem(THEOREMS, "grad-bias", THEOREMS.get("grad-bias"))  # restored after
    b = random_signal("b", bernoulli(sympy.Rational(1, 2)))
    at_zero = sympy.Eq(b[0], 0, evaluate=False)
    lemma = Theorem("grad-bias", "a lemma at an outcome", "b[0] = 0 under b[0] = 0")
    zero = lemma.export(Claim("zero", b[0], sympy.S.Zero, hypotheses=(at_zero,)))
    lemma.evidence(lambda: universal(zero, Derivation(b[0]).by("entry hypothesis", sympy.S.Zero,
                                                               equation=at_zero)))
    half = sympy.Rational(1, 2)
    proof = (Derivation(half)
             .back("moments of the law", E(b[0]))
             .by("known result", E(sympy.S.Zero), theorem="grad-bias", claim="zero",
                 instance={}, context=E)
             .by("linearity of expectation", sympy.S.Zero))
    assert "or an expectation" in _refused(
        Claim("a half is zero", half, sympy.S.Zero, hypotheses=(at_zero,)), proof)


def test_a_grid_counts_the_sizes_a_definition_reads():
    """q is read only inside y's definition: three values of q are three cases."""
    from convproof.symbolic import Point, certified
    q_ = scalar("q_", positive=True)
    y = Signal("q_times_x", "y", lambda i_: q_ * x[i_], arity=1)
    claim = Claim("y = q x", y[0], q_ * x[0])
    assert certified(claim, [Point({q_: q}, 1) for q in (1, 2, 3)]).message == (
        "exact on 3 grid points (1-D)")
    assert certified(claim, [Point({q_: 2}, 1)]).message == "exact on 1 grid point (1-D)"


def test_a_row_of_the_data_transform_starts_positive():
    """One nonzero entry -1/2: its scale is -2, not the 2 a negative gcd gave."""
    from convproof.symbolic.winograd import toom_cook
    t = toom_cook(2, 2, (0, -1))
    for row in range(t.BT.rows):
        first = next(v for v in t.BT.row(row) if v != 0)
        assert first > 0 and all(v.is_Integer for v in t.BT.row(row))


@pytest.mark.parametrize("rule_name, make, params", [
    ("periodic character", lambda k_, m_, n_: _character(n_, k_, m_ + sympy.Mod(k_, n_)), {}),
    ("cancel a positive factor", lambda k_, m_, n_: NonNeg(sympy.Rational(1, 2)), {"factor": 2}),
    ("decide brackets", lambda k_, m_, n_: Divides(2, sympy.Rational(1, 2)), {}),
    ("between multiples", lambda k_, m_, n_: EqZero(sympy.Rational(1, 2)),
     {"factor": 2, "remainder": 1}),
], ids=["periodic character", "cancel a positive factor", "decide brackets",
        "between multiples"])
def test_no_polynomial_division_is_a_step_the_rule_does_not_take(rule_name, make, params):
    """A remainder inside, or a bracket of a non-integer constant: SymPy's division raised
    PolynomialError or ComputationFailed out of the rule; now it applies nowhere."""
    from convproof.symbolic import rules_fourier  # noqa: F401, F811  (its rules)
    k_, m_ = scalar("k_ m_")
    n_ = scalar("n_", positive=True)
    expr = make(k_, m_, n_) * x[0]
    assert apply_rule(rule_name, expr, **params) == (expr, 0)


def _character(n_, k_, argument):
    from convproof.symbolic.operators_fourier import Character
    return Character(n_, k_, argument)


def test_a_definition_is_read_once():
    """A callable that answered x[i] for its first two calls and 2 x[i] after them proved
    x0 = 2 x0 by folding y0 and unfolding it again; the definition is now fixed."""
    calls = []

    def changing(a):
        calls.append(a)
        return x[a] if len(calls) <= 2 else 2 * x[a]

    y = Signal("y_changing", definition=changing, arity=1)
    proof = (Derivation(x[0]).back("definition", y[0], signals=(y,))
             .by("definition", 2 * x[0], signals=(y,)))
    assert "differ by" in _refused(Claim("x0 = 2 x0", x[0], 2 * x[0]), proof)
    with pytest.raises(AttributeError):
        y.definition = lambda a: 2 * x[a]
    with pytest.raises(ProofError, match="has 2 indices"):
        apply_rule("definition", y.base[0, 1], signals=(y,))


def test_deciding_a_bracket_with_modulus_zero_fails_cleanly():
    """[0 | c] reached sympy.div(..., 0): ZeroDivisionError escaped universal."""
    c_ = scalar("c_")
    lhs = Divides(0, c_) * x[0]
    evidence = universal(Claim("[0 | c]", lhs, x[0]), Derivation(lhs).by("decide brackets", x[0]))
    assert not evidence.ok


def test_a_lemma_stated_where_an_entry_is_nonzero_needs_that_where_it_is_used():
    """relu' = [x > 0] holds for x ≠ 0; used backwards in a claim about every x it would bring
    the undefined ∂relu(x)/∂x at x = 0 into the chain."""
    from convproof.symbolic import load
    relu_claim = load("activation-derivatives").claims["relu"]
    entry, = relu_claim.nonzero
    step = dict(theorem="activation-derivatives", claim="relu", instance={},
                context=lambda e: e, reverse=True)
    proof = Derivation(relu_claim.rhs).by("known result", relu_claim.lhs, **step)
    everywhere = Claim("back", relu_claim.rhs, relu_claim.lhs)
    assert "holds where" in _refused(everywhere, proof)
    assert universal(Claim("back", relu_claim.rhs, relu_claim.lhs, nonzero=(-entry,)), proof).ok
    summed = Derivation(zsum(relu_claim.rhs, *entry.free_symbols)).by(
        "known result", zsum(relu_claim.lhs, *entry.free_symbols), **{
            **step, "context": lambda e: zsum(e, *entry.free_symbols)})
    assert "binds" in _refused(Claim("summed", summed.start, summed.end, nonzero=(entry,)),
                               summed)


def test_points_outside_where_a_claim_is_stated_are_refused():
    from convproof.symbolic import Point, certified
    from convproof.symbolic.operators_layers import Values, evaluated
    size = scalar("size", positive=True)
    with pytest.raises(ProofError, match="stated where x\\[0\\] ≠ 0, and x\\[0\\] is 0 or has"):
        evaluated(Claim("x0/x0", x[0] / x[0], 1, nonzero=(x[0],)),
                  [Values({}, {"x": {(0,): 0}})])
    about_entries = certified(Claim("x0", x[0], x[0], nonzero=(x[0],)), [Point({}, 1)])
    assert not about_entries.ok and "a point of sizes cannot check it" in about_entries.message
    off = certified(Claim("size", size * x[0], size * x[0], nonzero=(size - 2,)),
                    [Point({size: 2}, 1)])
    assert not off.ok and "size - 2 = 0 here" in off.message
    with pytest.raises(ProofError, match="tuple of expressions"):
        Claim("one", x[0], x[0], nonzero=x[0])


def test_certificates_keep_denied_assumptions():
    """A symbol declared integer=False (or prime=False) took 2: floor(t) x0 = t x0 was
    certified, and [p = 2] x0 = x0 too, both false wherever the symbols may be."""
    from convproof.symbolic import Point, certified
    from convproof.symbolic.operators_layers import Values, evaluated
    t_ = sympy.Symbol("t_", integer=False)
    p_ = scalar("p_", prime=False)
    broken = certified(Claim("floor", sympy.floor(t_) * x[0], t_ * x[0]), [Point({t_: 2}, 1)])
    assert not broken.ok and "breaks its assumptions" in broken.message
    assert not certified(Claim("prime", EqZero(p_ - 2) * x[0], x[0]), [Point({p_: 2}, 1)]).ok
    with pytest.raises(ProofError, match="breaks its assumptions"):
        evaluated(Claim("floor", sympy.floor(t_) * x[0], t_ * x[0]),
                  [Values({t_: 2}, {"x": {(0,): 1}})])
    assert not evaluated(Claim("floor", sympy.floor(t_) * x[0], t_ * x[0]),
                         [Values({t_: sympy.Rational(5, 2)}, {"x": {(0,): 1}})]).ok


def test_witnesses_are_the_numbers_they_hold():
    """A function of an empty sum took the witness's value for exp(0) (a true claim
    refuted); a long double was rounded to a double before it was compared; entries_of read
    float32 0.1 as 1/10."""
    from convproof.symbolic import Point, refuted
    from convproof.symbolic.certificates import entries_of, witness_value
    size, v_ = scalar("size", nonnegative=True), scalar("v_")
    empty = Claim("e^0 = 1", sympy.exp(zsum(in_range(v_, size) * x[v_], v_)), 1)
    for witness in ({"exp": {}}, {"exp": {((),): 2}}):
        with pytest.raises(ProofError, match="not to exp|exp.* not keyed by a tuple of ints"):
            refuted(empty, Point({size: 0}, 1), witness)
    close = sympy.Integer(1) + sympy.Rational(1, 2 ** 60)
    wide = np.longdouble(1) + np.longdouble(2) ** -60
    if wide != 1:  # a platform whose long double is wider than a double
        assert not refuted(Claim("x0", x[0], close), Point({}, 1), {"x": {(0,): wide}}).ok
    assert witness_value(np.float32(0.1), "x", (0,)) == Fraction(13421773, 134217728)
    assert entries_of("x", np.array([0.1, 2.0], np.float32)) == {
        "x": {(0,): Fraction(13421773, 134217728), (1,): 2}}


def test_maxima_are_read_only_from_their_own_function():
    """A function printed Maximum that computes a min was evaluated as a max: the true
    min(min(a, 1), 2) = min(a, 1) was refuted at a = 0."""
    from convproof.symbolic import Point
    from convproof.symbolic.operators_pool import refuted_with_maxima
    impostor = type("Maximum", (sympy.Function,), {})
    claim = Claim("min", impostor(impostor(x[0], 1), 2), impostor(x[0], 1))
    with pytest.raises(ProofError, match="not the max of operators_pool"):
        refuted_with_maxima(claim, Point({}, 1), {"x": {(0,): 0}})
    named = Signal("Maximum")
    with pytest.raises(ProofError, match="not the max of operators_pool"):
        refuted_with_maxima(Claim("M", named[0], 2 * named[0]), Point({}, 1),
                            {"Maximum": {(0,): 1}})


def test_a_torus_grid_whose_values_are_all_zero_compares_nothing():
    """Σ_j χ_n(1, j) x0 is 0 for n ≥ 2 but no empty polynomial: added to a claim that compares
    nothing on n = 2, 3, 4, it made that grid count as informative."""
    from convproof.symbolic import Point
    from convproof.symbolic.operators_fourier import character_entry, dft, torus_certified
    size, kappa, j_ = multi("size", positive=True), multi("kappa"), multi("j_")
    above = Signal("above_four_padded", r"x_{\ge 4}", lambda u: le(4, u) * x[u], arity=1)
    roots = zsum(in_range(j_, size) * character_entry(size, 1, j_) * x[0], j_)
    padded = Claim("zero", dft(above, size, character_entry, name="F")[kappa] + roots,
                   sympy.S.Zero, indices={kappa: in_range(kappa, size)})
    evidence = torus_certified(padded, [Point({size: (s,)}, 1) for s in (2, 3, 4)])
    assert not evidence.ok and "compares nothing" in evidence.message


def test_points_of_the_wrong_shape_are_refused():
    from convproof.symbolic import Point, certified
    sizes, m_ = multi("sizes", positive=True), scalar("m_", nonnegative=True)
    k_ = scalar("k_", positive=True)
    for dims in (0, -1, True, 1.0):
        with pytest.raises(ProofError, match="dims is the number of its spatial axes"):
            Point({}, dims)
    with pytest.raises(ProofError, match="to size symbols"):
        Point({"n": 2}, 1)
    claim = Claim("x[n]", x[sizes], x[sizes])
    one = certified(claim, [Point({sizes: 3}, 2)])
    assert not one.ok and "one value per axis" in one.message
    three = certified(claim, [Point({sizes: (2, 3, 4)}, 2)])
    assert not three.ok and "3 values for 2 axes" in three.message
    divided = Claim("x_k", x[k_], x[k_], hypotheses=(sympy.Eq(k_, 6 / m_, evaluate=False),))
    with pytest.raises(ProofError, match="divides by 0"):
        certified(divided, [Point({m_: 0}, 1)])


def test_a_dummy_the_engine_has_not_made_yet_is_refused():
    """Dummy(name, dummy_index=...) set one ahead is the symbol a renamed sum variable
    becomes next: Σ_t x_t x_D = Σ_t x_t² passed 'algebra' (3 against 5 at x = (1, 2), D = 0),
    and x0 = D passed 'rational arithmetic' through its generator t0."""
    t_ = scalar("t_")
    ahead = sympy.Dummy("t_", dummy_index=sympy.Dummy().dummy_index + 1, **t_.assumptions0)
    with pytest.raises(ProofError, match="has not handed out yet"):
        Claim("captured", zsum(in_range(t_, 2) * x[t_] * x[ahead], t_),
              zsum(in_range(t_, 2) * x[t_] ** 2, t_))
    made = sympy.Dummy("made_")
    assert universal(Claim("made", x[made], x[made]), Derivation(x[made])).ok
    forging = Signal("forging", definition=lambda a: x[sympy.Dummy(
        "t_", dummy_index=sympy.Dummy().dummy_index + 2, integer=True)] * x[a], arity=1)
    with pytest.raises(ProofError, match="has not handed out yet"):
        Claim("forged in a body", forging[0], forging[0])


def test_a_dummy_made_to_be_a_definitions_formal_index_stays_another_symbol():
    """D = Dummy("i0", dummy_index=<the next one>) was the formal index the body was read at:
    y[i] = x[i] - x[D] collapsed to 0, and y_j = 0 was proved."""
    j_ = scalar("j_")
    y = Signal("y_forged_formal", definition=lambda a: x[a] - x[forged], arity=1)
    forged = sympy.Dummy("i0", dummy_index=sympy.Dummy().dummy_index + 1, integer=True)
    assert y.body[1] != 0
    assert "differ by" in _refused(Claim("y_j = 0", y[j_], 0),
                                   Derivation(y[j_]).by("definition", 0))
    with pytest.raises(TypeError, match="x is an input signal: it has no definition"):
        assert x.body is None  # raises before


def test_a_definition_through_itself_is_refused():
    """r[i] = x[i] + r[i - 1] made 'sign' recurse without end and 'differentiate' loop."""
    r = Signal("r_itself", definition=lambda a: x[a] + r[a - 1], arity=1)
    with pytest.raises(ProofError, match="defined through itself"):
        Claim("recursive", Partial(r[0], x[0]), 1)
    s_ = Signal("s_mutual", definition=lambda a: 2 * q[a], arity=1)
    q = Signal("q_mutual", definition=lambda a: x[a] + s_[a + 1], arity=1)
    with pytest.raises(ProofError, match="defined through itself"):
        Claim("mutual", q[0], q[0])


def test_a_definition_cannot_be_replaced():
    y = Signal("y_fixed", definition=lambda a: x[a], arity=1)
    for attribute in ("definition", "body"):
        with pytest.raises(AttributeError):
            setattr(y, attribute, (lambda a: 2 * x[a]) if attribute == "definition" else ((), 0))


def test_a_function_named_like_the_free_index_marker_is_refused():
    """A function printed @at was taken for the marker of the free indices and stripped: the
    true |x0|² = x0² was 'refuted' at x0 = 1."""
    from convproof.symbolic import Point, refuted
    marked = type("@at", (sympy.Function,), {})
    with pytest.raises(ProofError, match="names starting with @ are the certificates' own"):
        refuted(Claim("|x0|² = x0²", marked(x[0]) ** 2, x[0] ** 2), Point({}, 1),
                {"x": {(0,): 1}})


def test_a_witness_is_refused_where_its_numbers_mean_nothing():
    """z² = z holds for a Bernoulli z, and was 'refuted' by z0 = 2, which the law never draws;
    a witness keyed by ints was read as no entries; an array had no .get."""
    from convproof.symbolic import Point, refuted
    from convproof.symbolic.evaluate import entry_name
    from convproof.symbolic.operators_pool import refuted_with_maxima
    from convproof.symbolic.rules_expectation import bernoulli, random_signal
    z = random_signal("z_witness", bernoulli(sympy.Rational(1, 2)))
    coin = {entry_name(z.base.label): {(0,): 2}}
    for refute in (refuted, refuted_with_maxima):
        with pytest.raises(ProofError, match="draw their entries from a law"):
            refute(Claim("z² = z", z[0] ** 2, z[0]), Point({}, 1), coin)
    claim = Claim("x0 = 1 - x1", x[0], 1 - x[1])
    with pytest.raises(ProofError, match="not keyed by a tuple of ints"):
        refuted(claim, Point({}, 1), {"x": {0: 1, 1: 0}})
    with pytest.raises(ProofError, match="entries_of turns an array into one"):
        refuted(claim, Point({}, 1), {"x": np.array([1, 0])})


def test_a_symbol_that_declares_its_assumptions_as_attributes_keeps_them():
    """A Symbol subclass with is_positive = True has no assumptions0: p = -3 was taken, and
    Σ_v [0 ≤ p v ≤ 6] x_v + x_9 = x_9 certified (it is x_-2 + x_-1 + x_0 + x_9 there)."""
    from convproof.symbolic import Point, certified

    class PositiveInteger(sympy.Symbol):
        is_positive = True
        is_integer = True

    p_, v_ = PositiveInteger("p_"), scalar("v_")
    claim = Claim("box", zsum(le(0, p_ * v_) * le(p_ * v_, 6) * x[v_], v_) + x[9], x[9])
    broken = certified(claim, [Point({p_: -3}, 1)])
    assert not broken.ok and "breaks its assumptions" in broken.message


def test_values_at_points_keep_undefined_values_undefined_through_symbols():
    """With k = 0 put into the expression first, k·log(x0²) was 0 at x0 = 0, where log 0 has
    no value; relu'(0)^0 was 1 (SymPy's nan^0); a nonzero condition 1/x0 with no value at
    x0 = 0 let the point be evaluated; a signal's name among the symbols raised
    AttributeError."""
    from convproof.symbolic.operators_layers import Positive, Values, evaluated, relu
    k_ = sympy.Symbol("k_", real=True)
    at_zero = Values({k_: 0}, {"x": {(0,): 0}})
    for left, right in ((k_ * sympy.log(x[0] ** 2), 0), (Partial(relu(x[0]), x[0]) ** k_, 1)):
        evidence = evaluated(Claim("undefined", left, right), [at_zero])
        assert not evidence.ok and "nan against" in evidence.message
    assert evaluated(Claim("defined", k_ * sympy.log(x[0] ** 2 + 1), 0), [at_zero]).ok
    either = Claim("either", Positive(x[0]) + Positive(-x[0]), 1, nonzero=(1 / x[0],))
    with pytest.raises(ProofError, match="is 0 or has no value here"):
        evaluated(either, [Values({}, {"x": {(0,): 0}})])
    with pytest.raises(ProofError, match="no size or scalar symbol"):
        evaluated(Claim("x0", x[0], x[0]), [Values({x.base.label: 5}, {"x": {(0,): 1}})])


def test_sizes_are_read_cleanly_or_refused():
    from convproof.symbolic import Point, certified
    from convproof.symbolic.certificates import grid_summary, value_at
    m_ = scalar("m_", nonnegative=True)
    sizes = multi("sizes_", positive=True)
    with pytest.raises(ProofError, match="divides by 0"):
        value_at(1 / m_, Point({m_: 0}, 1))
    for wrong in ((1,), (1, 2, 3)):
        point = Point({sizes: (1, 2)}, 2)
        point.values[sizes] = wrong
        with pytest.raises(ProofError, match="values for 2 axes"):
            value_at(sizes, point)
    with pytest.raises(ProofError, match="maps free index symbols to their boxes"):
        Claim("c", x[0], x[0], indices={2: 1})
    n_one, n_two = scalar("n_alike", positive=True), scalar("n_alike", integer=True)
    claim = Claim("two n", x[n_one] + x[n_two], x[n_one] + x[n_two])
    assert grid_summary(claim, [Point({n_one: 2, n_two: 3}, 1),
                                Point({n_one: 3, n_two: 2}, 1)]).startswith("2 grid points")
    assert certified(claim, [Point({n_one: 2, n_two: 3}, 1)]).ok


@pytest.mark.parametrize("factor", [sympy.oo, -sympy.oo, sympy.zoo, sympy.nan])
def test_a_step_parameter_holding_an_infinity_is_refused(factor):
    """oo passed for 'at least 1', and [n - 3 ≥ 0]·x0 = x0 was proved (false at n = 0);
    nan raised a TypeError out of the check."""
    count = scalar("count")
    claim = Claim("cancel", le(3, count) * x[0], x[0])
    proof = Derivation(claim.lhs).by("cancel a positive factor", x[0], factor=factor)
    evidence = universal(claim, proof)
    assert not evidence.ok and "infinity or nan" in evidence.message


def test_zero_divides_only_zero():
    """[s | e] at s = 0 raised ZeroDivisionError out of the rules that put the 0 in."""
    v, t = scalar("v t")
    assert Divides(0, 3) == 0 and Divides(0, 0) == 1 and Divides(0, -2) == 0
    assert Divides(0, v) == EqZero(v)
    for claim, rule, params in (
            (Claim("hypothesis", Divides(t, 3) * x[0], 0,
                   hypotheses=(sympy.Eq(t, 0, evaluate=False),)),
             "hypothesis", {"equation": sympy.Eq(t, 0, evaluate=False)}),
            (Claim("delta", zsum(eq(v, 0) * Divides(v, 3) * x[v], v), 0), "Kronecker delta",
             {"var": v}),
            (Claim("zero", zsum(eq(v, 0) * Divides(v, 0) * x[v], v), x[0]), "Kronecker delta",
             {"var": v})):
        assert universal(claim, Derivation(claim.lhs).by(rule, claim.rhs, **params)).ok
    assert instance(Divides(t, v) * x[0], {t: 0, v: 0}, 1) == instance(x[0], {}, 1)
    assert not instance(Divides(t, v) * x[0], {t: 0, v: 3}, 1)


def test_hypotheses_that_contradict_each_other_are_refused():
    """Under n = 1 and n = 2, x0 = 2·x0 was proved; under p = m, m = -1 (p positive) x0 = 0."""
    count, other = scalar("count other")
    positive = scalar("positive", positive=True)
    for hypotheses, said in (((count, 1), (count, 2)), "count = 1 and 2"), \
            (((positive, other), (other, -1)), "positive = -1, which its assumptions deny"):
        with pytest.raises(ProofError, match=said):
            Claim("vacuous", x[0], 2 * x[0],
                  hypotheses=tuple(sympy.Eq(a, v, evaluate=False) for a, v in hypotheses))
    Claim("consistent", x[0], x[0], hypotheses=(sympy.Eq(count, 1, evaluate=False),
                                                sympy.Eq(other, count, evaluate=False)))
    with pytest.raises(ProofError, match=r"x\[0\] = 0 and 1"):  # an entry alike
        Claim("vacuous", w[0], 2 * w[0], hypotheses=(sympy.Eq(x[0], 0, evaluate=False),
                                                     sympy.Eq(x[0], 1, evaluate=False)))
    t, u_ = scalar("t u_")
    q_ = scalar("q_", nonnegative=True)

    def eqs(*pairs):
        return tuple(sympy.Eq(a, b, evaluate=False) for a, b in pairs)
    for hypotheses in (eqs((x[0], 0), (x[0], w[0]), (w[0], 1)),  # through entries
                       eqs((t, u_), (u_, t), (t, 1), (u_, 2)),  # a cycle
                       eqs((t, u_ + 1), (u_, t)), eqs((t, t + 1),), eqs((x[0], x[0] + 1),),
                       (rules_sums.every((q_,), w[q_], sympy.S.Zero), *eqs((w[0], 1))),
                       eqs((t, 0), (x[t], 1), (x[0], 0)),
                       eqs((positive, t - 1), (t, 0)),  # through a relation: positive = -1
                       eqs((t, u_ + 1), (u_, count + 1), (count, 0), (t, 5)),  # a chain of them
                       (rules_sums.every((q_,), w[q_], sympy.S.Zero),
                        rules_sums.every((q_,), w[q_], sympy.S.One)),
                       (rules_sums.every((q_,), w[q_], sympy.S.Zero), *eqs((w[0], t), (t, 1))),
                       eqs((t, 1), (t, sympy.sqrt(2))),  # irrational numbers compared too
                       eqs((count, sympy.sqrt(2)),),  # an integer symbol
                       eqs((zsum(le(0, j) * le(j, 1) * x[j], j), 1),
                           (zsum(le(0, j) * le(j, 1) * x[j], j), 2))):  # a sum set twice
        with pytest.raises(ProofError, match="contradict each other"):
            Claim("vacuous", x[5], 2 * x[5], hypotheses=hypotheses)
    Claim("consistent", x[5], x[5], hypotheses=eqs((t, u_ + 1), (u_, 2), (t, 3)))
    diagonal = Signal("diagonal")
    a_, b_ = scalar("a_ b_", nonnegative=True)
    for hypotheses in (  # an identity matrix; a sum over j beside x[j] at a free j; a derivative
            (rules_sums.every((q_,), diagonal[q_, q_], sympy.S.One), *eqs((diagonal[0, 1], 0))),
            (rules_sums.every((q_,), diagonal[q_, q_ + 1], sympy.S.Zero),
             *eqs((diagonal[0, a_ + 1], 1))),
            eqs((x[j], 0), (t, zsum(le(0, j) * le(j, 1) * x[j], j)), (t, 1)),
            eqs((x[0], 1), (t, Partial(x[0] ** 2, x[0])), (t, 2)),
            eqs((t, sympy.Mod(u_, count)), (count, 0), (u_, 1)),  # no value: nothing read
            eqs((t, diagonal[t, t]), *((scalar(f"extra{k}"), k) for k in range(30))),
            (sympy.Eq(sympy.Lambda(q_, w[q_]), sympy.Lambda(q_, q_), evaluate=False),),
            eqs((sympy.Symbol("z"), sympy.I), (t, sympy.Max(sympy.Symbol("z"), 0))),  # raised
            (rules_sums.every((q_,), w[q_], zsum(le(0, q_) * le(q_, 2) * x[q_], q_)),
             *eqs((w[5], 1))),  # the sum's own q is not the hypothesis's
            (rules_sums.every((t,), w[t], sympy.S.Zero),  # t free below, bound here
             rules_sums.every((q_,), w[q_], eq(q_, t)), *eqs((t, -1)))):
        Claim("consistent", x[5], x[5], hypotheses=hypotheses)  # at once: t = A[t, t] nested
    positive_q = scalar("positive_q", positive=True)
    Claim("consistent", x[5], x[5],
          hypotheses=(rules_sums.every((positive_q,), w[positive_q], sympy.S.Zero),
                      *eqs((w[0], 1))))
    root, real = 1 + sympy.sqrt(2), sympy.Symbol("real", positive=True)
    Claim("consistent", x[0], x[0], hypotheses=(  # one number written two ways
        sympy.Eq(real, root ** 2, evaluate=False),
        sympy.Eq(real, 3 + 2 * sympy.sqrt(2), evaluate=False)))


def test_more_contradictory_hypotheses_are_refused():
    """Found by an attack on the engine: a value the assumptions of its symbol deny through an
    expression (p = -q for positive p and q), one sum given two numbers under two names of its
    variable, two hypotheses for every index that overlap at one entry (y[q, 0] = 0 and
    y[0, r] = 1); each proved 1 = 0."""
    positive, other = scalar("positive other", positive=True)
    q_, r_, j_, k_ = scalar("q_ r_ j_ k_")
    grid = Signal("grid")

    def eqs(*pairs):
        return tuple(sympy.Eq(a, b, evaluate=False) for a, b in pairs)
    for hypotheses, said in (
            (eqs((positive, -positive)), "assumptions of positive deny"),
            (eqs((positive, -other - 5)), "assumptions of positive deny"),
            (eqs((zsum(le(0, j_) * le(j_, 1) * x[j_], j_), 1),
                 (zsum(le(0, k_) * le(k_, 1) * x[k_], k_), 2)), "= 1 and "),
            ((rules_sums.every((q_,), grid[q_, 0], sympy.S.Zero),
              rules_sums.every((r_,), grid[0, r_], sympy.S.One)), r"grid\[0, 0\] = 0 and 1"),
            ((rules_sums.every((q_,), x[q_], sympy.S.Zero),  # through a sum of the entries
              *eqs((zsum(le(0, j_) * le(j_, 1) * x[j_], j_), 1))), "differ by -1"),
            ((rules_sums.every((q_,), zsum(le(0, j_) * le(j_, 1) * grid[q_, j_], j_), q_ + 1),
              rules_sums.every((q_,), zsum(le(0, j_) * le(j_, 1) * grid[q_, j_], j_),
                               2 * q_ + 1)), "= q_ \\+ 1 and 2\\*q_ \\+ 1"),  # at q = 1
            ((rules_sums.every((q_,), zsum(le(0, j_) * le(j_, 1) * grid[q_, j_], j_), 1),
              rules_sums.every((r_,), zsum(le(0, k_) * le(k_, 1) * grid[r_, k_], k_), 2)),
             "= 1 and 2")):
        with pytest.raises(ProofError, match=said):
            Claim("vacuous", sympy.S.One, sympy.S.Zero, hypotheses=hypotheses)
    z_ = sympy.Symbol("z_complex")  # SymPy cannot put z = i into Max(z, 0): the rest is read
    with pytest.raises(ProofError, match="contradict each other"):
        Claim("vacuous", sympy.S.One, sympy.S.Zero, hypotheses=(
            *eqs((z_, sympy.I), (positive, sympy.Max(z_, 0))),
            rules_sums.every((q_,), grid[q_, 0], sympy.S.Zero),
            rules_sums.every((q_,), grid[q_, 0], sympy.S.One)))
    from convproof.symbolic import multi
    jm = multi("jm_")  # Σ over Z^D and Σ over the diagonal: two sums, two numbers
    Claim("consistent", x[5], x[5], hypotheses=eqs(
        (zsum(le(0, jm) * le(jm, 1) * w[jm], jm), 1), (zsum(le(0, j_) * le(j_, 1) * w[j_], j_), 2)))
    nonneg = scalar("nonneg", nonnegative=True)
    Claim("consistent", x[5], x[5], hypotheses=(  # overlapping and agreeing; q admits no 0
        *eqs((positive, other + 5), (nonneg, positive - 1)),
        rules_sums.every((q_,), grid[q_, 0], q_), rules_sums.every((r_,), grid[0, r_], r_),
        rules_sums.every((positive,), grid[positive, 1], sympy.S.One),
        rules_sums.every((r_,), grid[0, r_ + 1], sympy.S.Zero)))
    Claim("consistent", x[5], x[5], hypotheses=(  # a Lambda beside: IndexError escaped
        rules_sums.every((q_,), w[q_], sympy.S.One),
        sympy.Eq(w[0] + 1, sympy.Lambda(q_, q_), evaluate=False)))
    Claim("consistent", x[5], x[5], hypotheses=(  # the sum of two entries equal to 2
        rules_sums.every((q_,), w[q_], sympy.Integer(2)),
        *eqs((zsum(le(0, j_) * le(j_, 1) * w[j_], j_), 4))))


def test_symbols_and_signals_the_rules_would_misread_are_refused():
    """Found by an attack on the engine: SymPy decides KroneckerDelta(a, b) = 0 for a symbol
    below and one above the Fermi level, whatever their values (Σ_v [v = a] δ(v, b) x_v = 0
    was proved); entries of an imaginary base were taken for reals (log e^c0 = c0); a base with
    a shape is another signal that prints as x (∂x_s0/∂x0 = 0 beside x_s0 = x0 certified); and
    two signals that print alike in one claim."""
    below, above = sympy.Symbol("a", below_fermi=True), sympy.Symbol("b", above_fermi=True)
    with pytest.raises(ProofError, match="assumption (below|above)_fermi"):
        Claim("fermi", sympy.KroneckerDelta(below, above, evaluate=False) * x[0], sympy.S.Zero)
    for base in (sympy.IndexedBase("c", imaginary=True), sympy.IndexedBase("c", shape=(4,)),
                 sympy.IndexedBase(sympy.Symbol("c", positive=True)),
                 sympy.IndexedBase("c", offset=1), sympy.IndexedBase("c", strides=(1,))):
        with pytest.raises(ProofError, match="shape, strides, an offset or assumptions"):
            Claim("foreign", sympy.log(sympy.exp(base[0])), base[0])
        (check,) = Derivation(x[0]).by("algebra", base[0]).check()  # a step's expression too
        assert not check.ok and "shape, strides, an offset or assumptions" in check.message
    with pytest.raises(ProofError, match="two signals of 'alike' print as x"):
        Claim("alike", x[0], sympy.IndexedBase("x")[0])
    Claim("one signal", x[0], Signal("x")[0])  # made twice, one input signal


def test_a_rule_by_brackets_keeps_a_derivative_in_a_nested_sum_bound():
    """The sum's variable, renamed apart and back, was renamed back in the sum but not in the
    derivative inside it (hidden as an opaque symbol then): the ∂ read a free variable."""
    from convproof.symbolic import rules_counting  # noqa: F401  (registers the rule)
    t, v = scalar("t v")
    inner = zsum(le(0, v) * le(v, 1) * Partial(x[v] ** 2, x[v]), v)
    start = le(0, t) * le(t, 1) * sympy.Mod(t, 2) * sympy.Max(0, inner) * x[5]
    result, count = apply_rule("reduced residue", start)
    (total,) = [node for node in sympy.preorder_traversal(result) if isinstance(node, ZSum)]
    (derivative,) = total.body.atoms(Partial)
    assert count and derivative.args[1].indices == (total.var,)


def test_a_law_no_distribution_has_is_refused_or_not_read_as_one():
    """Moments alone are linear; E[f] ≥ 0 from f ≥ 0 needs a distribution: centered(-2) made
    E[z0²] = -2, and log((1 + E[z0²])²) = 2 log(1 + E[z0²]) passed ('logarithm laws')."""
    from convproof.symbolic import rules_real  # noqa: F401  (registers the rule)
    from convproof.symbolic.rules_expectation import (E, bernoulli, centered, random_signal,
                                                      stationary)
    for law in (lambda: centered(-2), lambda: bernoulli(3), lambda: bernoulli(-1),
                lambda: stationary(mean=1, second=0)):
        with pytest.raises(ProofError, match="no distribution is"):
            law()
    for variance, proved in ((sympy.Symbol("t_real", real=True), False),
                             (sympy.Symbol("t_positive", positive=True), True)):
        z = random_signal(f"z_{variance}", centered(variance))
        a = 1 + E(z[0] ** 2)
        claim = Claim("log of a square", sympy.log(a ** 2), 2 * sympy.log(a))
        assert universal(claim, Derivation(claim.lhs).by("logarithm laws", claim.rhs)).ok \
            == proved
    assert stationary(mean=sympy.Symbol("m_real", real=True)).exists_provably
    # E[X] = i√2 with E[X²] = -2: a variance of 0, yet no real entries have it (a review)
    with pytest.raises(ProofError, match="moments of real entries are real"):
        stationary(mean=sympy.I * sympy.sqrt(2), second=-2)
    unknown = sympy.Symbol("s_unknown")  # complex for all SymPy knows: i√2 is one value
    assert not stationary(mean=unknown, second=unknown ** 2).exists_provably


def test_a_definition_is_read_at_integer_indices_only():
    """floor(i0) is i0 where the body was read (at integer formals): fl[1/2] = x0/2 passed."""
    floored = Signal("floored", definition=lambda a: sympy.floor(a) * x[0], arity=1)
    real = sympy.Symbol("real", real=True)
    for index in (sympy.Rational(1, 2), real, x[1]):
        claim = Claim("floor", floored[index], index * x[0])
        evidence = universal(claim, Derivation(floored[index]).by("definition", index * x[0]))
        assert not evidence.ok and "not provably an integer" in evidence.message
    t = scalar("t")
    claim = Claim("integer", floored[t + 1], (t + 1) * x[0])
    assert universal(claim, Derivation(floored[t + 1]).by("definition", (t + 1) * x[0])).ok


def test_the_engine_refuses_arguments_of_other_types_by_name():
    """Found by an attack on the engine: AttributeError, TypeError or SympifyError escaped."""
    from convproof.symbolic import certified, induction
    t = scalar("t")
    claim = Claim("c", x[0], x[0])
    for kwargs, said in ((dict(hypotheses=None), "tuple of equations, not None"),
                         (dict(hypotheses=((t, 1),)), r"hypothesis \(t, 1\) of 'c' is no"),
                         (dict(hypotheses=("t = 1",)), "hypothesis 't = 1' of 'c' is no"),
                         (dict(indices=[t]), r"boxes, not \[t\]"),
                         (dict(nonzero=("1/",)), "a nonzero condition of 'c' is '1/'"),
                         (dict(indices={t: "1/"}), "an index box of 'c' is '1/'")):
        with pytest.raises(ProofError, match=said):
            Claim("c", x[0], x[0], **kwargs)
    with pytest.raises(ProofError, match="the left side of 'c' is 'x\\['"):
        Claim("c", "x[", x[0])
    with pytest.raises(ProofError, match="step 1 is '1/'"):
        Derivation(x[0]).by("algebra", "1/")
    with pytest.raises(TypeError, match="rule_name must be a str, got list"):
        Derivation(x[0]).by(["algebra"], x[0])
    with pytest.raises(TypeError, match="derivation must be a Derivation, got NoneType"):
        universal(claim, None)
    with pytest.raises(TypeError, match="base must be a Derivation, got NoneType"):
        induction(claim, scalar("n", nonnegative=True), None, Derivation(x[0]))
    with pytest.raises(TypeError, match="points must be Points"):
        certified(claim, [{}])


def test_a_claim_holding_an_infinity_is_refused():
    """[0 ≤ oo·t]·x0 = x0 was proved by deciding the bracket, which is nan at t = 0."""
    t = scalar("t")
    with pytest.raises(ProofError, match="infinity or nan"):
        Claim("infinite", le(0, sympy.oo * t) * x[0], x[0])
    from convproof.symbolic.normal import provably_nonneg
    assert not provably_nonneg(sympy.oo * scalar("t", nonnegative=True))


def test_a_known_result_cannot_instantiate_a_symbol_its_conditions_hold(monkeypatch):
    """A lemma n = 1 under w[0] = 1, with w[i] := n, was used at n = 5 (5 = 1 under
    w[0] = 1, which n = 1 satisfies); [n > 0] = 1 where z[0] := n is nonzero, at n = 0."""
    from convproof.symbolic import Theorem, rules_real  # noqa: F401  (registers "sign")
    from convproof.symbolic.operators_layers import Positive
    from convproof.symbolic.proof import THEOREMS
    monkeypatch.setitem(THEOREMS, "grad-bias", THEOREMS.get("grad-bias"))  # restored after
    count = scalar("count", nonnegative=True)
    held = Signal("held", definition=lambda a: count, arity=1)
    one = sympy.Eq(held[0], 1, evaluate=False)
    lemma = Theorem("grad-bias", "lemmas with a hidden symbol", "n = 1 under w[0] = 1")
    claims = (lemma.export(Claim("hypothesis", count, 1, hypotheses=(one,))),
              lemma.export(Claim("nonzero", Positive(count), 1, nonzero=(held[0],))))
    u = held[0]
    lemma.evidence(lambda: [
        universal(claims[0], Derivation(count).back("definition", held[0])
                  .by("entry hypothesis", 1, equation=one)),
        universal(claims[1], Derivation(Positive(count))
                  .by("algebra", ((2 * Positive(count) - 1) + 1) / 2)
                  .back("definition", ((2 * Positive(u) - 1) + 1) / 2)
                  .back("sign", (u * (u ** 2) ** sympy.Rational(-1, 2) + 1) / 2)
                  .by("definition", sympy.S.One))])
    assert all(e.ok for e in lemma.prove().evidence)
    for claim, value, conditions in ((claims[0], 5, dict(hypotheses=(one,))),
                                     (claims[1], 0, dict(nonzero=(held[0],)))):
        start = claim.lhs.subs(count, value)
        stated = Claim("used", start, 1, **conditions)
        proof = Derivation(start).by("known result", 1, theorem="grad-bias", claim=claim.name,
                                     instance={count: value}, context=lambda e: e)
        assert "inside a definition" in _refused(stated, proof)


def test_a_law_s_moments_hold_only_its_declared_symbols():
    """A law with E[X^2] = n and no symbols declared kept n general under an instance."""
    from convproof.symbolic.rules_expectation import Law
    count = scalar("count", nonnegative=True)
    with pytest.raises(ProofError, match="count not among its symbols"):
        Law("undeclared", {0: 1, 1: 0, 2: count}.get, True, False, frozenset())
    Law("declared", {0: 1, 1: 0, 2: count}.get, True, False, frozenset({count}))


def test_what_a_rule_cannot_take_fails_its_step_instead_of_raising():
    """A Kronecker delta's value {oo} raised TypeError out of the check, and a known result's
    context that gives an equation raised too; a box of a claim's index that is a truth value
    or a Lambda crashed a certificate."""
    v = scalar("v")
    claim = Claim("delta", zsum(eq(v, 0) * x[v], v), x[0])
    evidence = universal(claim, Derivation(claim.lhs).by("Kronecker delta", x[0], var=v,
                                                          value={sympy.oo}))
    assert not evidence.ok and "infinity or nan" in evidence.message
    evidence = universal(claim, Derivation(claim.lhs).by("Kronecker delta", x[0], var=v,
                                                          value={1}))
    assert not evidence.ok and "the check of rule 'Kronecker delta' raised" in evidence.message
    from convproof.symbolic import load
    lemma = load("commutativity").claims["correlation reverses"]
    proof = Derivation(lemma.lhs).by("known result", lemma.rhs, theorem="commutativity",
                                     claim="correlation reverses", instance={},
                                     context=lambda e: sympy.Eq(e, 1))
    evidence = universal(Claim("equation", lemma.lhs, lemma.rhs), proof)
    assert not evidence.ok and "step 1" in evidence.message
    for box in (sympy.true, sympy.Lambda(v, v)):
        with pytest.raises(ProofError, match="boxes"):
            Claim("boxed", x[v], x[v], indices={v: box})


def test_a_claim_reads_its_hypotheses_once():
    """A list of hypotheses changed after the claim was made changed what it said."""
    t = scalar("t")
    given = [sympy.Eq(t, 1, evaluate=False)]
    claim = Claim("once", t, 1, hypotheses=given)
    given.append(sympy.Eq(t, 2, evaluate=False))
    assert claim.hypotheses == (sympy.Eq(t, 1, evaluate=False),)


def test_a_definition_is_not_unfolded_at_an_entry_its_operators_would_take_in():
    """y[a] := ∂(a·x0)/∂x0 is a for every a, and z[a] := E[a·m0] is a/2; unfolded at a = x0
    and a = m0 the entry became the variable: y[x0] = 2·x0 and z[m0] = 1/2 were proved, and
    certified (at x0 = 1, y[1] = 1; at m0 = 0, z[0] = 0).  Indices are integers now, so the
    entries come in through a bracket: y[[x0 ≥ 0]] = ∂([x0 ≥ 0]·x0)/∂x0 is not [x0 ≥ 0]."""
    from convproof.symbolic import Point, certified
    from convproof.symbolic.rules_expectation import E, bernoulli, random_signal
    m_ = random_signal("m_unfold", bernoulli(sympy.Rational(1, 2)))
    slope = Signal("slope", definition=lambda a: Partial(a * x[0], x[0]), arity=1)
    mean = Signal("mean", definition=lambda a: E(a * m_[0]), arity=1)
    for claim, steps in (
            (Claim("slope", slope[NonNeg(x[0])], 2 * x[0]),
             [("definition", Partial(NonNeg(x[0]) * x[0], x[0]))]),
            (Claim("mean", mean[NonNeg(m_[0])], sympy.Rational(1, 2)),
             [("definition", E(NonNeg(m_[0]) * m_[0]))])):
        proof = Derivation(claim.lhs)
        for rule_name, expr in steps:
            proof.by(rule_name, expr)
        assert "would put" in _refused(claim, proof)
    with pytest.raises(ProofError, match="would put"):
        certified(Claim("slope", slope[NonNeg(x[0])], 2 * x[0]), [Point({}, 1)])
    t = scalar("t")
    assert universal(Claim("slope at t", slope[t], t),  # at a symbol it unfolds as before
                     Derivation(slope[t]).by("definition", Partial(t * x[0], x[0]))
                     .by("differentiate", t)).ok


def test_a_signal_is_refused_where_its_definition_cannot_be_read():
    """A definition of another arity, one that gives a relation or a string, and an arity
    of 1.0 raised TypeError out of Claim or certified; iterating a signal never ended."""
    for definition, arity in ((lambda a: x[a], 2), (lambda a: a >= 0, 1), (lambda a: "x", 1)):
        with pytest.raises(ProofError, match="definition of"):
            Claim("odd", Signal("odd", definition=definition, arity=arity)[(0,) * arity], 0)
    with pytest.raises(ValueError, match="arity"):
        Signal("half", definition=lambda a: x[a], arity=1.0)
    with pytest.raises(TypeError, match="not iterable"):
        list(x)
