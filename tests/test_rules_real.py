"""Rules of real algebra: each rule's output equals its input, exactly, at random concrete
values; and the cases each rule must refuse (a sign it cannot certify, a wrong identity)."""

from __future__ import annotations

import pytest
import sympy
from sympy import Rational, exp, log, sqrt

from convproof.symbolic import Signal, equivalent, in_range, le, scalar, zsum
from convproof.symbolic.language import Partial
from convproof.symbolic.normal import ProofError
from convproof.symbolic.operators_layers import Positive, Values, exact_value, relu, sigmoid
from convproof.symbolic.rules import apply_rule
from convproof.symbolic.rules_real import NONNEGATIVE, POSITIVE, sign

j, k, i = scalar("j k i")
K = scalar("K", positive=True)
size = scalar("N", nonnegative=True)
c = sympy.Symbol("c", real=True)
mu = sympy.Symbol("mu", positive=True)
x, z, g = Signal("x"), Signal("z"), Signal("g")
total = zsum(in_range(j, K) * exp(z[j]), j)


def rational(rng, low=-9, high=10) -> Rational:
    return Rational(int(rng.integers(low, high)), int(rng.integers(1, 5)))


def logits(rng, count: int) -> dict:
    """z entries log(a) for random positive integers a: e^z is then an exact integer."""
    return {(t,): log(int(rng.integers(1, 7))) for t in range(count)}


def same_value(rule: str, expr, point: Values, **params):
    out, count = apply_rule(rule, expr, **params)
    assert count > 0
    difference = sympy.expand(exact_value(expr, point) - exact_value(out, point))
    assert difference == 0 or sympy.expand(sympy.exp(difference)) == 1  # e^d = 1: logarithms
    return out


def test_sign_certificates():
    assert sign(exp(-x[j])) == POSITIVE
    assert sign(1 + exp(-x[j])) == POSITIVE
    assert sign(x[j] ** 2) == NONNEGATIVE
    assert sign(x[j]) is None and sign(x[j] - 1) is None
    assert sign(total) == POSITIVE
    assert sign(zsum(in_range(j, size) * exp(z[j]), j)) == NONNEGATIVE  # N may be 0
    assert sign(relu(x[j]) + c ** 2) == NONNEGATIVE
    spread = Signal("s", "s", lambda c_: zsum(in_range(k, K) * (x[k] - x[0]) ** 2, k), arity=1)
    assert sign(spread[0] + mu) == POSITIVE


def test_powers_of_one_base(rng):
    base = 1 + x[0] ** 2
    expr = base ** Rational(-1, 2) * zsum(in_range(j, K) * g[j] * base ** Rational(-1, 2), j) \
        + mu * mu ** (k - 1) * g[0]
    count = int(rng.integers(1, 4))
    point = Values({K: count, k: int(rng.integers(1, 4)), mu: rational(rng, 1)},
                   {"x": {(0,): int(rng.integers(-5, 6))},
                    "g": {(t,): int(rng.integers(-9, 10)) for t in range(count)}})
    out = same_value("powers of one base", expr, point, base=base)
    assert equivalent(out, base ** -1 * zsum(in_range(j, K) * g[j], j) + mu * mu ** (k - 1) * g[0])
    out = same_value("powers of one base", out, point, base=mu)
    assert equivalent(out, base ** -1 * zsum(in_range(j, K) * g[j], j) + mu ** k * g[0])


def test_powers_refuse_a_base_of_unknown_sign():
    with pytest.raises(ProofError, match="not provably"):
        apply_rule("powers of one base", sqrt(x[0]) * zsum(in_range(j, K) * sqrt(x[0]) * g[j], j),
                   base=x[0])


def test_powers_of_any_base_combine_for_exponents_at_least_zero(rng):
    """x^i x^k = x^(i+k) for integers i, k ≥ 0 whatever x (0^0 = 1): the brackets of the term
    give i, k ≥ 0, and a base named by a summation variable stands for it."""
    expr = zsum(in_range(i, K) * in_range(k, K) * x[j] ** i * x[j] ** k * g[i], i, k) \
        + zsum(in_range(j, K) * x[j] ** j * x[j] ** 2 * g[j], j)
    count = int(rng.integers(1, 4))
    at = int(rng.integers(0, count))
    point = Values({K: count, j: at},
                   {"x": {(t,): int(rng.integers(-5, 1)) for t in range(count)},  # 0 and < 0
                    "g": {(t,): int(rng.integers(-9, 10)) for t in range(count)}})
    out = same_value("powers of one base", expr, point, base=x[j])
    assert equivalent(out, zsum(in_range(i, K) * in_range(k, K) * x[j] ** (i + k) * g[i], i, k)
                      + zsum(in_range(j, K) * x[j] ** (j + 2) * g[j], j))


def test_powers_of_a_base_of_unknown_sign_refuse_exponents_that_may_be_negative():
    """x^(i-1) x^i with only i ≥ 0 known: i = 0, x = 0 gives 0^(-1)·0^0, not 0^(-1)."""
    with pytest.raises(ProofError, match="nor are the exponents"):
        apply_rule("powers of one base",
                   zsum(in_range(i, K) * x[0] ** (i - 1) * x[0] ** i * g[i], i), base=x[0])
    with pytest.raises(ProofError, match="nor are the exponents"):
        apply_rule("powers of one base", x[0] ** k * x[0] ** 2, base=x[0])  # k of any sign


def test_powers_take_the_sign_of_the_summation_variable_not_of_its_namesake():
    """A base x[u]² + u given with u > 0 stands for the summed u, which may be 0 (then
    b^(-1)·b^K is undefined at b = 0, b^(K-1) is not)."""
    positive = sympy.Symbol("j", integer=True, positive=True)
    expr = zsum(in_range(j, K) * (x[j] ** 2 + j) ** -1 * (x[j] ** 2 + j) ** K * g[j], j)
    with pytest.raises(ProofError, match="not provably nonnegative"):
        apply_rule("powers of one base", expr, base=x[positive] ** 2 + positive)


def test_power_of_a_product(rng):
    expr = zsum(in_range(j, K) * 3 * exp(z[j]) * exp(-c), j) ** -1 * exp(z[0])
    count = int(rng.integers(1, 4))
    point = Values({K: count, c: log(int(rng.integers(1, 5)))}, {"z": logits(rng, count)})
    out = same_value("power of a product", expr, point)
    assert equivalent(out, exp(c) * exp(z[0]) / (3 * total))


def test_power_of_a_product_refuses_a_factor_of_unknown_sign():
    with pytest.raises(ProofError, match="not provably positive"):
        apply_rule("power of a product", zsum(in_range(j, K) * c * exp(z[j]), j) ** -1)


def test_logarithm_laws(rng):
    softmax = Signal("p", "p", lambda i_: exp(z[i_]) / total, arity=1)
    expr = log(softmax[k]) + log(zsum(in_range(j, K) * exp(-c) * exp(z[j]), j))
    count = int(rng.integers(1, 4))
    point = Values({K: count, k: int(rng.integers(0, count)), c: log(int(rng.integers(1, 5)))},
                   {"z": logits(rng, count)})
    out = same_value("logarithm laws", expr, point)
    assert equivalent(out, z[k] - c)


def test_logarithm_refuses_factors_of_unknown_sign():
    with pytest.raises(ProofError, match="not provably positive"):
        apply_rule("logarithm laws", log(x[j] * exp(z[j])))


def test_exponential_laws(rng):
    expr = exp(z[0] + z[1] - c) * g[0]
    point = Values({c: log(int(rng.integers(1, 5)))}, {"z": logits(rng, 2), "g": {(0,): 7}})
    out = same_value("exponential laws", expr, point)
    assert out == exp(z[0]) * exp(z[1]) * exp(-c) * g[0]


def test_chain_rule_through_a_kept_definition(rng):
    square = Signal("u", "u", lambda _: zsum(in_range(k, K) * x[k] ** 2, k), arity=1)
    outer = Signal("F", "F", lambda i_: x[i_] * square[0] + square[0] ** 2, arity=1)
    count = int(rng.integers(1, 4))
    point = Values({K: count, j: int(rng.integers(0, count)), i: int(rng.integers(0, count))},
                   {"x": {(t,): rational(rng) for t in range(count)}})
    out = same_value("chain rule", Partial(outer[i], x[j]), point, keep=(square,))
    assert out.has(Partial(square[0], x[j]))


def test_chain_rule_refuses_inputs_and_kept_entries():
    square = Signal("u", "u", lambda _: x[0] ** 2, arity=1)
    with pytest.raises(ProofError, match="only defined signals"):
        apply_rule("chain rule", Partial(x[0] * g[0], x[0]), keep=(g,))
    with pytest.raises(ProofError, match="entry of a defined signal"):
        apply_rule("chain rule", Partial(square[0] * x[0], square[0]), keep=(square,))


def test_chain_rule_leaves_a_free_symbol_of_a_definition_free(rng):
    """Σ_t [0 ≤ t ≤ K - 1] ∂D[0]/∂x[t] with D[q] = x[q + t] and t free in D: the sum's t is
    renamed before D is unfolded (it read x[0 + t_summed], and the sum became K)."""
    t = scalar("t")
    shifted = Signal("shifted_by_t", "D", lambda q: x[q + t], arity=1)
    square = Signal("squared_for_chain", "U", lambda q: x[q] ** 2, arity=1)
    expr = zsum(in_range(t, K) * Partial(shifted[0], x[t]), t)
    for _ in range(8):
        count = int(rng.integers(1, 4))
        point = Values({K: count, t: int(rng.integers(-4, 5))},
                       {"x": {(q,): rational(rng) for q in range(-4, 9)}})
        same_value("chain rule", expr, point, keep=(square,))


def test_logarithm_laws_leave_a_free_symbol_of_a_definition_free(rng):
    """Σ_t [0 ≤ t ≤ K - 1] log P[0] with P[q] = e^(x[q + t]) is K·x[t] for the free t, not
    Σ_t x[t] (the log's argument was unfolded under the sum's own t)."""
    t = scalar("t")
    exponential = Signal("exp_shifted_by_t", "P", lambda q: exp(x[q + t]), arity=1)
    expr = zsum(in_range(t, K) * log(exponential[0]), t)
    for _ in range(8):
        point = Values({K: int(rng.integers(1, 4)), t: int(rng.integers(-4, 5))},
                       {"x": {(q,): rational(rng) for q in range(-4, 9)}})
        same_value("logarithm laws", expr, point)


def test_a_factor_with_the_summation_variable_stays_in_its_sum():
    """In log Σ_j [box] e^j e^(z[j]) the factor e^j is no constant: it is not taken out (it
    left the sum with j free)."""
    inner = zsum(in_range(j, K) * exp(j) * exp(z[j]), j)
    for rule, expr in (("logarithm laws", log(inner)), ("power of a product", inner ** -1)):
        out, count = apply_rule(rule, expr)
        assert count == 0 and equivalent(out, expr)


def test_the_sign_of_an_entry_reads_its_definition_without_capture():
    """S[q] = Σ_j [0 ≤ j][2j ≤ q] e^(z[j]) at q = j + K (a free j) is 0 for j + K < 0: only
    nonnegative (the certificate read S at the summed j, where the box is never empty)."""
    partial_sums = Signal("partial_exp_sums", "S",
                          lambda q: zsum(sympy.Mul(le(0, j), le(2 * j, q)) * exp(z[j]), j),
                          arity=1)
    assert sign(partial_sums[j + K]) == NONNEGATIVE
    assert exact_value(partial_sums[j + K], Values({j: -5, K: 1}, {"z": {}})) == 0


def test_positive_part(rng):
    expr = relu(x[0]) - relu(-x[0]) + relu(x[1] - 2) ** 2
    point = Values({}, {"x": {(0,): rational(rng), (1,): rational(rng)}})
    out = same_value("positive part", expr, point)
    assert not out.has(sympy.Max)


def test_sign_of_a_nonzero_entry(rng):
    root = sqrt(x[0] ** 2)
    expr = g[0] * x[0] / root + root / x[0]
    nonzero = rational(rng, 1) * (-1) ** int(rng.integers(0, 2))
    point = Values({}, {"x": {(0,): nonzero}, "g": {(0,): 5}})
    out = same_value("sign", expr, point, nonzero=(x[0],))
    assert out.has(Positive(x[0]))


def test_sign_needs_the_entry_and_its_root():
    assert apply_rule("sign", sqrt(x[0] ** 2) * x[1])[1] == 0


def test_rational_arithmetic_decides_field_identities():
    derivative = exp(-x[j]) / (1 + exp(-x[j])) ** 2
    wanted = sigmoid(x[j]) * (1 - sigmoid(x[j]))
    assert apply_rule("rational arithmetic", derivative, equals=wanted) == (wanted, 1)
    with pytest.raises(ProofError, match="not equal"):
        apply_rule("rational arithmetic", derivative, equals=sigmoid(x[j]) * (1 + sigmoid(x[j])))


def test_rational_arithmetic_refuses_sums_and_unsigned_denominators():
    with pytest.raises(ProofError, match="pointwise"):
        apply_rule("rational arithmetic", total, equals=total)
    with pytest.raises(ProofError, match="not provably positive"):
        apply_rule("rational arithmetic", 1 / x[j], equals=1 / x[j])
    size = scalar("n", positive=True)
    with pytest.raises(ProofError, match="denominator n - 1 is not provably positive"):
        apply_rule("rational arithmetic", x[0] * (size ** 2 - 1) / (size - 1),
                   equals=(size + 1) * x[0])


def test_sign_and_positive_part_need_a_real_argument():
    """log x0 over sqrt(log² x0) is 1 at x0 = -1 (log(-1) = iπ), where [log x0 > 0] has no
    value; max(0, u) = (u + sqrt(u²))/2 likewise holds for real u only."""
    u = log(x[0])
    assert apply_rule("sign", u * (u ** 2) ** Rational(-1, 2))[1] == 0
    assert apply_rule("positive part", sympy.Max(0, sqrt(x[0])))[1] == 0
    assert apply_rule("sign", x[0] * (x[0] ** 2) ** Rational(-1, 2), nonzero=(x[0],))[1] == 1
    assert apply_rule("positive part", sympy.Max(0, x[0]))[1] == 1


def test_sign_needs_its_argument_nonzero():
    """u/|u| has no value at u = 0.  Read as -1 there, x0/|x0| folded into y0 = -x0 gave 1 the
    other way, and 2[x0 > 0] - 1 = 1 - 2[-x0 > 0] (false at x0 = 0) was proved."""
    from convproof.symbolic import Claim, Derivation, universal
    y = Signal("y_negated", definition=lambda a: -x[a], arity=1)
    over_root = (x[0] ** 2) ** Rational(-1, 2)
    lhs, rhs = 2 * Positive(x[0]) - 1, 1 - 2 * Positive(-x[0])
    proof = (Derivation(lhs)
             .back("sign", x[0] * over_root)
             .back("definition", -y[0] * (y[0] ** 2) ** Rational(-1, 2), signals=(y,))
             .by("sign", -(2 * Positive(y[0]) - 1))
             .by("definition", rhs, signals=(y,)))
    refused = universal(Claim("two completions", lhs, rhs), proof)
    assert not refused.ok and "has no value at" in refused.message
    with pytest.raises(ProofError, match="nonzero="):
        apply_rule("sign", x[0] * over_root)
    # stated where x0 ≠ 0 (and so y0 = -x0 ≠ 0), the claim holds and the same chain proves it
    where = Claim("two completions", lhs, rhs, nonzero=(x[0],))
    assert not universal(where, proof).ok  # y0 is not x0: the condition must name it
    assert universal(Claim("two completions", lhs, rhs, nonzero=(x[0], y[0])), proof).ok


def test_a_signal_name_alone_is_no_real_number():
    """The label of a signal, written as a plain symbol, may be complex: log e^(X + x0) = X + x0
    is false at X = 2πi, x0 = 0."""
    from convproof.symbolic.rules_real import _real
    label = x.base.label
    assert not _real(label + x[0]) and _real(x[0] + c)
    with pytest.raises(ProofError, match="needs a real u"):
        apply_rule("logarithm laws", log(exp(label + x[0])))
    assert sign(exp(label + x[0])) is None
