"""adam-bias-correction: Adam's moment estimates, their bias, and the notes' update.

Adam keeps v_k = μ v_(k-1) + (1 - μ) g_k and r_k = ρ r_(k-1) + (1 - ρ) g_k² with v_0 = r_0 = 0.
Unrolled,

    v_k = (1 - μ) Σ_{i=1}^{k} μ^(k-i) g_i,

which is proved to satisfy the recursion (split off the term i = k) and the start v_0 = 0 (an
empty sum); by induction on k it is the only sequence that does.  For stationary gradients
(E[g_i] = E[g] for every step i, no independence needed):

    E[v_k] = (1 - μ) Σ_{t=0}^{k-1} μ^t · E[g] = (1 - μ^k)·E[g]        (the sum telescopes)

so v̂_k = v_k / (1 - μ^k) is unbiased for k ≥ 1 and 0 < μ < 1 (μ = 0 is v_k = g_k, nothing to
correct); likewise E[r_k] = (1 - ρ^k)E[g²] and r̂_k = r_k / (1 - ρ^k) is unbiased for E[g²].

The notes update w -= η (v̂ + ε)/(sqrt(r̂) + ε), with ε added to the first moment as well; the
standard update, which the library implements, is w -= η v̂/(sqrt(r̂) + ε).  The two differ by
exactly η ε/(sqrt(r̂) + ε); when every gradient is zero (v̂ = r̂ = 0) the notes' update still
moves every weight by η per step, the standard one does not move it.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, box, eq, le, scalar, universal,
                                zsum)
from convproof.symbolic.operators_layers import Values, evaluated
from convproof.symbolic.rules_expectation import E, FiniteLaw, random_signal, stationary
from convproof.symbolic import rules_real, rules_sums  # noqa: F401  (registers the rules)

mu, rho = sympy.symbols("mu rho", positive=True)
g_mean, g_square = sympy.symbols("gbar g^2", real=True)
k = scalar("k", positive=True)
i, t = scalar("i t")
grad = random_signal("g", stationary(g_mean, g_square))


def moment(name: str, latex: str, decay, power: int) -> Signal:
    """(1 - decay) Σ_{i=1}^{k} decay^(k-i) g_i^power."""
    return Signal(name, latex, lambda k_: (1 - decay) * zsum(
        box(i, 1, k_) * decay ** (k_ - i) * grad[i] ** power, i), arity=1)


first, second = moment("v", "v", mu, 1), moment("r", "r", rho, 2)
first_hat = Signal("vhat", r"\hat{v}", lambda k_: first[k_] / (1 - mu ** k_), arity=1)
second_hat = Signal("rhat", r"\hat{r}", lambda k_: second[k_] / (1 - rho ** k_), arity=1)

eta, eps = sympy.symbols("eta epsilon", positive=True)
v_hat = sympy.Symbol("vhat", real=True)
r_hat = sympy.Symbol("rhat", nonnegative=True)
notes_step = eta * (v_hat + eps) / (sympy.sqrt(r_hat) + eps)
standard_step = eta * v_hat / (sympy.sqrt(r_hat) + eps)
NO_FIRST = sympy.Eq(v_hat, 0, evaluate=False)
NO_SECOND = sympy.Eq(r_hat, 0, evaluate=False)

THEOREM = Theorem(
    "adam-bias-correction", "Adam's bias correction makes the moment estimates unbiased",
    r"\mathbb{E}[v_k] = (1 - \mu^k)\,\mathbb{E}[g],\quad \hat{v}_k = \frac{v_k}{1 - \mu^k}:"
    r"\ \mathbb{E}[\hat{v}_k] = \mathbb{E}[g];\quad w \mathrel{-}= \eta\,\frac{\hat{v}}"
    r"{\sqrt{\hat{r}} + \epsilon}",
    notes=("the notes' Adam update adds ε to the first moment, η(v̂ + ε)/(sqrt(r̂) + ε); the "
           "standard update (the library's) is η v̂/(sqrt(r̂) + ε): they differ by "
           "η ε/(sqrt(r̂) + ε), and with zero gradients the notes' update still moves w by η",),
)

START = THEOREM.export(Claim("start", first[0], sympy.S.Zero, text="v_0 = 0"))
STEP = THEOREM.export(Claim("recursion", first[k], mu * first[k - 1] + (1 - mu) * grad[k],
                            text="the unrolled v_k satisfies Adam's recursion for k ≥ 1"))
MEAN = THEOREM.export(Claim("bias", E(first[k]), (1 - mu ** k) * g_mean,
                            text="stationary gradients, E[g_i] = E[g]"))
UNBIASED = THEOREM.export(Claim("unbiased", E(first_hat[k]), g_mean))
SECOND = THEOREM.export(Claim("second moment", E(second_hat[k]), g_square,
                              text="E[g_i²] = E[g²]: r̂ is unbiased for E[g²]"))
GAP = THEOREM.export(Claim("the notes' update", notes_step - standard_step,
                           eta * eps / (sympy.sqrt(r_hat) + eps)))
STILL = THEOREM.export(Claim("zero gradients", notes_step, eta, hypotheses=(NO_FIRST, NO_SECOND),
                             text="v̂ = r̂ = 0: the notes' update still moves w by η"))


@THEOREM.evidence
def recursion():
    tail = zsum(box(i, 1, k - 1) * mu ** (k - i) * grad[i], i)
    start = (
        Derivation(START.lhs, "v_0 = 0")
        .by("definition", (1 - mu) * zsum(box(i, 1, 0) * mu ** (-i) * grad[i], i), "unfold v_0",
            signals=(first,))
        .by("empty box", START.rhs, "no i has 1 ≤ i ≤ 0")
    )
    step = (
        Derivation(STEP.lhs, "v_k = μ v_(k-1) + (1 - μ) g_k")
        .by("definition", (1 - mu) * zsum(box(i, 1, k) * mu ** (k - i) * grad[i], i),
            "unfold v_k", signals=(first,))
        .by("split the last term",
            (1 - mu) * (tail + zsum(le(1, i) * eq(i, k) * mu ** (k - i) * grad[i], i)),
            "the sum up to k is the sum up to k - 1 plus the term i = k", var=i)
        .by("Kronecker delta", (1 - mu) * tail + (1 - mu) * le(1, k) * grad[k], "i = k", var=i)
        .by("decide brackets", (1 - mu) * tail + (1 - mu) * grad[k], "k ≥ 1")
        .back("powers of one base",
              mu * (1 - mu) * zsum(box(i, 1, k - 1) * mu ** (k - 1 - i) * grad[i], i)
              + (1 - mu) * grad[k], "μ^(k-i) = μ·μ^(k-1-i)", base=mu)
        .back("definition", STEP.rhs, "that is μ·v_(k-1)", signals=(first,))
    )
    return [universal(START, start), universal(STEP, step)]


def _mean_steps(proof: Derivation, moment_: Signal, decay, value, outer) -> Derivation:
    """outer(E[moment_k]) down to outer((1 - decay^k)·value)."""
    power = 1 if moment_ is first else 2
    return (
        proof
        .by("definition", outer(E((1 - decay) * zsum(box(i, 1, k) * decay ** (k - i)
                                                      * grad[i] ** power, i))),
            "unfold the moment", signals=(moment_,))
        .by("linearity of expectation",
            outer((1 - decay) * zsum(box(i, 1, k) * decay ** (k - i) * E(grad[i] ** power), i)),
            "E is linear; the decay is not random")
        .by("moments of the law",
            outer((1 - decay) * value * zsum(box(i, 1, k) * decay ** (k - i), i)),
            "stationary gradients: every step has the same moment")
        .by("change of index",
            outer((1 - decay) * value * zsum(box(t, 0, k - 1) * decay ** t, t)),
            "t = k - i counts the steps back from k", var=i, to=k - t, new=t)
        .by("geometric series", outer((1 - decay ** k) * value),
            "(1 - μ)(1 + μ + ... + μ^(k-1)) = 1 - μ^k", var=t, ratio=decay)
    )


@THEOREM.evidence
def bias():
    return universal(MEAN, _mean_steps(Derivation(MEAN.lhs, "E[v_k] = (1 - μ^k) E[g]"),
                                       first, mu, g_mean, lambda e: e))


@THEOREM.evidence
def corrected():
    proofs = []
    for claim, hat, moment_, decay, value in ((UNBIASED, first_hat, first, mu, g_mean),
                                               (SECOND, second_hat, second, rho, g_square)):
        proof = (
            Derivation(claim.lhs, f"E[{hat.name}_k] = {value}")
            .by("definition", E(moment_[k] / (1 - decay ** k)), "unfold the correction",
                signals=(hat,))
            .by("linearity of expectation", E(moment_[k]) / (1 - decay ** k),
                "1 - decay^k is not random")
        )
        corrected_by = 1 - decay ** k
        proof = (_mean_steps(proof, moment_, decay, value, lambda e, by=corrected_by: e / by)
                 .by("algebra", claim.rhs, "the correction cancels the bias (k ≥ 1, decay < 1)"))
        proofs.append(universal(claim, proof))
    return proofs


@THEOREM.evidence
def notes_update():
    gap = Derivation(GAP.lhs, "the two updates").by(
        "algebra", GAP.rhs, "the numerators differ by η ε")
    still = (
        Derivation(STILL.lhs, "the notes' update with zero gradients")
        .by("hypothesis", eta * eps / (sympy.sqrt(r_hat) + eps), "v̂ = 0", equation=NO_FIRST)
        .by("hypothesis", eta * eps / eps, "r̂ = 0", equation=NO_SECOND)
        .by("algebra", STILL.rhs, "ε/ε = 1")
    )
    return [universal(GAP, gap), universal(STILL, still)]


# --------------------------------------------------------------------------------------------
# Wrong statements: μ = 1/2, gradients ∈ {1, 3} with probability 1/2 each (E[g] = 2)
# --------------------------------------------------------------------------------------------

_STEPS = Values({mu: sympy.Rational(1, 2), g_mean: 2, g_square: 5, k: 2},
                laws={"g": FiniteLaw((1, 3), (sympy.Rational(1, 2),) * 2)}, note="E[g] = 2")


@THEOREM.mutant("bias correction by 1 - μ instead of 1 - μ^k")
def wrong_power():
    return evaluated(Claim("unbiased", E(first[k] / (1 - mu)), g_mean), [_STEPS])


@THEOREM.mutant("no bias correction: E[v_k] = E[g]")
def uncorrected():
    return evaluated(Claim("bias", E(first[k]), g_mean), [_STEPS])


@THEOREM.mutant("the notes' update equals the standard one")
def same_update():
    point = Values({eta: 1, eps: 1, v_hat: 0, r_hat: 4})
    return evaluated(Claim("the notes' update", notes_step, standard_step), [point])


prove = THEOREM.prove
render = THEOREM.render
