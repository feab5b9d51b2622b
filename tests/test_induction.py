"""Proofs by induction: the case n0 and the step from n to n + 1, with the claim at n as the
step's one extra hypothesis, and the refusals that keep the conclusion sound."""

from __future__ import annotations

import pytest
import sympy

from convproof.symbolic import (Claim, Derivation, ProofError, Signal, eq, induction, le, multi,
                                scalar, zsum)
from convproof.symbolic.rules_sums import every

n = scalar("n", nonnegative=True)
l_ = scalar("l")
q = scalar("q", positive=True)
x, y = Signal("x"), Signal("y")

EMPTY = sympy.Eq(y[0], 0, evaluate=False)
RUNNING = every((q,), y[q], y[q - 1] + x[q])


def partial_sum(count, low=1) -> sympy.Expr:
    """Σ_l [low ≤ l ≤ count] x[l]."""
    return zsum(le(low, l_) * le(l_, count) * x[l_], l_)


PARTIAL = Claim("running sum", y[n], partial_sum(n), hypotheses=(EMPTY, RUNNING))


def base(claim: Claim = PARTIAL) -> Derivation:
    return (Derivation(y[0]).by("entry hypothesis", 0, equation=EMPTY)
            .back("empty box", partial_sum(0)))


def step(claim: Claim = PARTIAL) -> Derivation:
    assumed = sympy.Eq(claim.lhs, claim.rhs, evaluate=False)
    return (
        Derivation(y[n + 1])
        .by("entry hypothesis", y[n] + x[n + 1], equation=RUNNING)
        .by("entry hypothesis", partial_sum(n) + x[n + 1], equation=assumed)
        .back("decide brackets", partial_sum(n) + le(0, n) * x[n + 1])
        .back("Kronecker delta", partial_sum(n) + zsum(le(1, l_) * eq(l_, n + 1) * x[l_], l_),
              var=l_)
        .back("split the last term", partial_sum(n + 1), var=l_)
    )


def test_a_running_sum_is_the_partial_sum_by_induction():
    evidence = induction(PARTIAL, n, base(), step())
    assert [e.ok for e in evidence] == [True, True, True]
    case, after, conclusion = evidence
    assert case.claim.lhs == y[0] and after.claim.lhs == y[n + 1]
    assert sympy.Eq(y[n], partial_sum(n), evaluate=False) in after.claim.hypotheses
    assert conclusion.kind == "universal" and conclusion.claim is PARTIAL
    assert "by induction on n" in conclusion.message


def test_a_false_claim_fails_at_its_first_value():
    wrong = Claim("from 0", y[n], partial_sum(n, low=0), hypotheses=(EMPTY, RUNNING))
    case, after, conclusion = induction(wrong, n, base(wrong), step(wrong))
    assert not case.ok and not conclusion.ok
    assert "the case" in conclusion.message


def test_the_step_may_not_assume_the_claim_at_n_plus_one():
    circular = (Derivation(y[n + 1])
                .by("entry hypothesis", partial_sum(n + 1),
                    equation=sympy.Eq(y[n], partial_sum(n), evaluate=False)))
    *_, conclusion = induction(PARTIAL, n, base(), circular)
    assert not conclusion.ok and "the step failed" in conclusion.message
    with_own_conclusion = (Derivation(y[n + 1])
                           .by("entry hypothesis", partial_sum(n + 1),
                               equation=sympy.Eq(y[n + 1], partial_sum(n + 1), evaluate=False)))
    *_, conclusion = induction(PARTIAL, n, base(), with_own_conclusion)
    assert not conclusion.ok


def test_the_case_may_not_use_the_induction_hypothesis():
    assumed = sympy.Eq(PARTIAL.lhs, PARTIAL.rhs, evaluate=False)
    shortcut = Derivation(y[0]).by("entry hypothesis", partial_sum(0), equation=assumed)
    case, _, conclusion = induction(PARTIAL, n, shortcut, step())
    assert not case.ok and not conclusion.ok


def test_a_positive_variable_starts_at_one():
    m = scalar("m", positive=True)
    claim = Claim("from one", y[m], partial_sum(m), hypotheses=(EMPTY, RUNNING))
    case, *_ = induction(claim, m, base(), step())
    assert case.claim.lhs == y[1] and not case.ok  # the base proved y[0], not y[1]


class Positive(sympy.Symbol):
    """Its assumptions those of a nonnegative integer, its is_positive True: the case was
    n = 0 while the rules read n ≥ 1 in the step."""

    is_positive = True


@pytest.mark.parametrize("variable", [
    Positive("n", integer=True, nonnegative=True), sympy.Dummy("n", integer=True, even=True),
    scalar("n", integer=True), scalar("n", nonnegative=True, even=True),
    scalar("n", nonnegative=True, integer=False), multi("n", nonnegative=True), y[0]],
    ids=["a subclass", "an even dummy", "any integer", "even", "not an integer", "multi-index",
         "an entry"])
def test_only_a_nonnegative_or_positive_integer_symbol_is_inducted_on(variable):
    with pytest.raises(ProofError, match="induction runs over"):
        induction(PARTIAL, variable, base(), step())


def test_the_variable_occurs_only_in_the_two_sides():
    in_hypothesis = Claim("bound", y[n], partial_sum(n),
                          hypotheses=(EMPTY, RUNNING, sympy.Eq(scalar("a"), n, evaluate=False)))
    defined = Signal("z", definition=lambda t: x[t] * n, arity=1)
    in_definition = Claim("defined", y[n] + defined[0], partial_sum(n) + defined[0],
                          hypotheses=(EMPTY, RUNNING))
    in_nonzero = Claim("nonzero", y[n], partial_sum(n), hypotheses=(EMPTY, RUNNING),
                       nonzero=(n + 1,))
    in_box = Claim("box", y[n], partial_sum(n), hypotheses=(EMPTY, RUNNING),
                   indices={l_: le(0, l_) * le(l_, n)})
    # through a definition a nonzero condition or a box reaches: z[0] ≠ 0 meant n ≠ 0 in the
    # step, so the step from 0 to 1 was never proved
    reached = Signal("reached", definition=lambda t: n, arity=1)
    in_reached_nonzero = Claim("reached nonzero", y[n], partial_sum(n),
                               hypotheses=(EMPTY, RUNNING), nonzero=(reached[0],))
    in_reached_box = Claim("reached box", y[n], partial_sum(n), hypotheses=(EMPTY, RUNNING),
                           indices={l_: le(0, l_) * le(l_, reached[0])})
    for claim in (in_hypothesis, in_definition, in_nonzero, in_box, in_reached_nonzero,
                  in_reached_box):
        with pytest.raises(ProofError, match="beyond its two sides"):
            induction(claim, n, base(), step())
    with pytest.raises(ProofError, match="does not occur"):
        induction(Claim("constant", y[0], 0), n, base(), step())


def test_a_hypothesis_for_every_n_keeps_its_variable_bound():
    """every((n,), ...) binds its own n: the case and the step read it unchanged."""
    running = every((n,), y[n + 1], y[n] + x[n + 1])
    claim = Claim("bound n", y[n], partial_sum(n), hypotheses=(EMPTY, running))
    assumed = sympy.Eq(claim.lhs, claim.rhs, evaluate=False)
    case, after, _ = induction(claim, n, base(), step())
    assert case.claim.hypotheses == after.claim.hypotheses[:-1] == (EMPTY, running)
    assert after.claim.hypotheses[-1] == assumed
