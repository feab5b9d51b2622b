"""dropout-expectation: inverted dropout keeps the expectation; its variance.

In training each entry is kept with probability 1 - p (m_j ~ Bernoulli(1 - p), independent)
and the kept entries are scaled by 1/(1 - p), for 0 ≤ p < 1:

    y_j = m_j x_j / (1 - p),     E[y_j] = x_j,     Var[y_j] = x_j² p / (1 - p),
    ∂L/∂x_j = g_j m_j / (1 - p)

The scale is what makes E[y] equal to the output of eval mode (y = x): E[m] = 1 - p, and
E[m²] = E[m] = 1 - p (m ∈ {0, 1}) gives the variance.

The notes scale by 1/(1 - p) in training, as here (inverted dropout).  Their footnote
"simulated by setting the respective convolution weights to zero" is loose: dropout zeroes
activations, one mask entry per activation; a convolution weight is shared by every position
of a feature map, so zeroing it would drop a connection everywhere at once.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, eq, in_range, scalar,
                                universal, zsum)
from convproof.symbolic.language import Partial
from convproof.symbolic.operators_layers import Values, evaluated
from convproof.symbolic.rules_expectation import (E, FiniteLaw, bernoulli, random_signal,
                                                  variance)

p = sympy.Symbol("p", nonnegative=True)
n = scalar("n", positive=True)
j, j1 = scalar("j j'")
x, grad = Signal("x"), Signal("g")
mask = random_signal("m", bernoulli(1 - p))
y = Signal("y", "y", lambda j_: mask[j_] * x[j_] / (1 - p), arity=1)

THEOREM = Theorem(
    "dropout-expectation", "Inverted dropout keeps the expectation",
    r"y = \frac{m \odot x}{1 - p},\ m_j \sim \operatorname{Bernoulli}(1 - p):\quad"
    r"\mathbb{E}[y_j] = x_j,\quad \operatorname{Var}[y_j] = \frac{p}{1 - p}\, x_j^2",
    notes=("dropout zeroes activations, not convolution weights (the notes' footnote): a "
           "weight is shared by every position, an activation mask entry is not",),
)

MEAN = THEOREM.export(Claim("expectation", E(y[j]), x[j],
                            text="for every input x and drop probability 0 ≤ p < 1"))
SPREAD = THEOREM.export(Claim("variance", variance(y[j]), x[j] ** 2 * p / (1 - p)))
BACKWARD = THEOREM.export(Claim(
    "backward", Partial(zsum(in_range(j, n) * grad[j] * y[j], j), x[j1]),
    in_range(j1, n) * grad[j1] * mask[j1] / (1 - p), text="the same mask scales the error"))


@THEOREM.evidence
def expectation():
    proof = (
        Derivation(MEAN.lhs, "E[y] = x")
        .by("definition", E(mask[j] * x[j] / (1 - p)), "unfold y", signals=(y,))
        .by("linearity of expectation", x[j] / (1 - p) * E(mask[j]),
            "x and p are not random")
        .by("moments of the law", x[j] / (1 - p) * (1 - p), "E[m] = 1 - p")
        .by("algebra", MEAN.rhs, "the scale cancels the keep probability")
    )
    return universal(MEAN, proof)


@THEOREM.evidence
def spread():
    proof = (
        Derivation(SPREAD.lhs, "Var[y] = E[y²] - E[y]²")
        .by("definition",
            E(mask[j] ** 2 * x[j] ** 2 / (1 - p) ** 2) - E(mask[j] * x[j] / (1 - p)) ** 2,
            "unfold y", signals=(y,))
        .by("linearity of expectation",
            x[j] ** 2 / (1 - p) ** 2 * E(mask[j] ** 2) - (x[j] / (1 - p) * E(mask[j])) ** 2,
            "x and p are not random")
        .by("moments of the law", x[j] ** 2 / (1 - p) ** 2 * (1 - p) - x[j] ** 2,
            "E[m²] = E[m] = 1 - p, since m ∈ {0, 1}")
        .by("algebra", SPREAD.rhs, "x²/(1 - p) - x² = x² p/(1 - p)")
    )
    return universal(SPREAD, proof)


@THEOREM.evidence
def backward():
    proof = (
        Derivation(BACKWARD.lhs, "∂L/∂x")
        .by("differentiate", zsum(in_range(j, n) * grad[j] * mask[j] * eq(j, j1) / (1 - p), j),
            "y_j depends on x_j only; the mask is held fixed (it was drawn in the forward pass)")
        .by("Kronecker delta", BACKWARD.rhs, "j = j'", var=j)
    )
    return universal(BACKWARD, proof)


# --------------------------------------------------------------------------------------------
# Wrong statements, refuted with a coin for the mask and x = 3
# --------------------------------------------------------------------------------------------

def _coin_flip(name: str, keep) -> Values:
    """x = 3 at j = 0; the mask entry is 1 with probability ``keep``."""
    return Values({p: sympy.Rational(1, 2), j: 0}, {"x": {(0,): 3}},
                  {name: FiniteLaw((0, 1), (1 - keep, keep))}, note=f"keep probability {keep}")


@THEOREM.mutant("dropout without the 1/(1 - p) scale")
def unscaled():
    claim = Claim("expectation", E(mask[j] * x[j]), x[j])
    return evaluated(claim, [_coin_flip("m", sympy.Rational(1, 2))])


@THEOREM.mutant("dropout that keeps with probability p instead of 1 - p")
def keep_p():
    wrong = random_signal("m_p", bernoulli(p))
    claim = Claim("expectation", E(wrong[j] * x[j] / (1 - p)), x[j])
    point = _coin_flip("m_p", sympy.Rational(1, 3))
    point.symbols[p] = sympy.Rational(1, 3)
    return evaluated(claim, [point])


@THEOREM.mutant("variance x² p, the scale forgotten")
def variance_without_scale():
    claim = Claim("variance", SPREAD.lhs, x[j] ** 2 * p)
    return evaluated(claim, [_coin_flip("m", sympy.Rational(1, 2))])


prove = THEOREM.prove
render = THEOREM.render
