"""softmax-xent-gradient: the gradient of cross-entropy after softmax is softmax - y.

Over K classes (a symbol), with softmax(z)_i = e^(z_i)/Σ_j e^(z_j) and CE = -Σ_i y_i log
softmax(z)_i:

    log softmax(z)_i = z_i - log Σ_j e^(z_j)
    ∂CE/∂z_k = softmax(z)_k · Σ_i y_i - y_k  =  softmax(z)_k - y_k   when Σ_i y_i = 1

(one-hot, smoothed or mixed targets alike).  Subtracting any real c from every logit changes
nothing, softmax(z - c) = softmax(z), and

    log Σ_j e^(z_j) = c + log Σ_j e^(z_j - c):

with c = max_j z_j every exponent is ≤ 0, which is the stable log-sum-exp the library uses.
"""

from __future__ import annotations

import sympy
from sympy import exp, log

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, eq, in_range, scalar,
                                universal, zsum)
from convproof.symbolic.language import Partial
from convproof.symbolic.operators_layers import Values, evaluated, softmax
from convproof.symbolic import rules_real, rules_sums  # noqa: F401  (register their rules)

K = scalar("K", positive=True)
i, j, k = scalar("i j k")
shift = sympy.Symbol("c", real=True)
z, y = Signal("z"), Signal("y")
probabilities = softmax(z, K)
moved = Signal("z_c", "z - c", lambda i_: z[i_] - shift, arity=1)
probabilities_moved = softmax(moved, K, name="softmax_c")


def classes(v):
    return in_range(v, K)


total = zsum(classes(j) * exp(z[j]), j)
mass = zsum(classes(i) * y[i], i)
entropy = -zsum(classes(i) * y[i] * log(probabilities[i]), i)
NORMALIZED = sympy.Eq(mass, 1, evaluate=False)

THEOREM = Theorem(
    "softmax-xent-gradient", "Cross-entropy after softmax has the gradient softmax - y",
    r"\frac{\partial}{\partial z_k}\Big(-\sum_i y_i \log \operatorname{softmax}(z)_i\Big) = "
    r"\operatorname{softmax}(z)_k - y_k\quad \Big(\sum_i y_i = 1\Big)",
)

LOG_SOFTMAX = THEOREM.export(Claim("log-softmax", log(probabilities[k]), z[k] - log(total)))
GENERAL = THEOREM.export(Claim(
    "any targets", Partial(entropy, z[k]), classes(k) * (probabilities[k] * mass - y[k]),
    text="for every logit vector z and target vector y"))
GRADIENT = THEOREM.export(Claim(
    "probability targets", Partial(entropy, z[k]), classes(k) * (probabilities[k] - y[k]),
    hypotheses=(NORMALIZED,), text="for targets that sum to 1"))
SHIFTED = THEOREM.export(Claim("shift", probabilities_moved[k], probabilities[k],
                               text="subtracting c from every logit"))
STABLE = THEOREM.export(Claim(
    "log-sum-exp", log(total), shift + log(zsum(classes(j) * exp(z[j] - shift), j)),
    text="for every real c; c = max z bounds every exponent by 0"))


@THEOREM.evidence
def log_softmax():
    return universal(LOG_SOFTMAX, Derivation(LOG_SOFTMAX.lhs, "log softmax").by(
        "logarithm laws", LOG_SOFTMAX.rhs, "log(e^z/S) = z - log S, S > 0"))


def _gradient(title: str) -> Derivation:
    inverse = total ** -1
    return (
        Derivation(GENERAL.lhs, title)
        .by("logarithm laws", Partial(-zsum(classes(i) * y[i] * (z[i] - log(total)), i), z[k]),
            "log softmax(z)_i = z_i - log Σ_j e^(z_j)")
        .by("differentiate",
            -zsum(classes(i) * y[i] * eq(i, k), i)
            + zsum(classes(i) * y[i] * inverse * zsum(classes(j) * exp(z[j]) * eq(j, k), j), i),
            "∂z_i/∂z_k = [i = k], ∂ log S/∂z_k = e^(z_k)/S")
        .by("Kronecker delta",
            -classes(k) * y[k]
            + zsum(classes(i) * y[i] * inverse * zsum(classes(j) * exp(z[j]) * eq(j, k), j), i),
            "i = k", var=i)
        .by("Kronecker delta", -classes(k) * y[k] + mass * inverse * classes(k) * exp(z[k]),
            "j = k", var=j)
        .back("definition", GENERAL.rhs, "e^(z_k)/S is softmax(z)_k", signals=(probabilities,))
    )


@THEOREM.evidence
def gradient():
    return [universal(GENERAL, _gradient("∂CE/∂z for any targets")),
            universal(GRADIENT, _gradient("∂CE/∂z = softmax - y").by(
                "sum hypothesis", GRADIENT.rhs, "the targets sum to 1", equation=NORMALIZED))]


@THEOREM.evidence
def invariance():
    shifted_total = zsum(classes(j) * exp(z[j] - shift), j)
    moved_proof = (
        Derivation(SHIFTED.lhs, "softmax(z - c) = softmax(z)")
        .by("definition", exp(z[k] - shift) / shifted_total, "unfold softmax(z - c)")
        .by("exponential laws",
            exp(z[k]) * exp(-shift) / zsum(classes(j) * exp(z[j]) * exp(-shift), j),
            "e^(z - c) = e^z e^(-c)")
        .by("power of a product", exp(z[k]) / total, "e^(-c) leaves the sum and cancels")
        .back("definition", SHIFTED.rhs, "that is softmax(z)_k", signals=(probabilities,))
    )
    stable_proof = (
        Derivation(STABLE.lhs, "the stable log-sum-exp")
        .back("logarithm laws", shift + log(zsum(classes(j) * exp(z[j]) * exp(-shift), j)),
              "log(e^(-c) S) = -c + log S")
        .back("exponential laws", STABLE.rhs, "e^(z - c) = e^z e^(-c)")
    )
    return [universal(SHIFTED, moved_proof), universal(STABLE, stable_proof)]


# --------------------------------------------------------------------------------------------
# Wrong statements: K = 2 classes, z = (0, log 2), so softmax(z) = (1/3, 2/3)
# --------------------------------------------------------------------------------------------

def _point(targets) -> Values:
    return Values({K: 2, k: 0}, {"z": {(0,): 0, (1,): sympy.log(2)},
                                 "y": {(0,): targets[0], (1,): targets[1]}})


@THEOREM.mutant("gradient y - softmax (sign flipped)")
def flipped():
    claim = Claim("probability targets", GRADIENT.lhs, classes(k) * (y[k] - probabilities[k]),
                  hypotheses=(NORMALIZED,))
    return evaluated(claim, [_point((1, 0))])


@THEOREM.mutant("softmax - y for targets that do not sum to 1")
def unnormalized():
    claim = Claim("any targets", GRADIENT.lhs, GRADIENT.rhs)
    return evaluated(claim, [_point((1, 1))])


@THEOREM.mutant("stable softmax that subtracts c in the numerator only")
def numerator_only():
    claim = Claim("shift", exp(z[k] - shift) / total, probabilities[k])
    point = _point((1, 0))
    point.symbols[shift] = sympy.log(2)
    return evaluated(claim, [point])


prove = THEOREM.prove
render = THEOREM.render
