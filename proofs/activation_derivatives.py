"""activation-derivatives: the derivatives of ReLU, sigmoid and tanh.

Each is differentiated exactly from its definition (entries x_j of a signal, [j = j'] the
delta of ∂x_j/∂x_j'):

    relu(x) = max(x, 0) = (x + |x|)/2       relu'(x) = [x > 0]          for x ≠ 0
    sigmoid(x) = 1/(1 + e^(-x))            sigmoid' = sigmoid·(1 - sigmoid)
    tanh(x) = (e^x - e^(-x))/(e^x + e^(-x))     tanh' = 1 - tanh²

For ReLU, |x| = sqrt(x²) has the derivative x/|x| = 2[x > 0] - 1 where x ≠ 0.  At x = 0 ReLU has
no derivative: its one-sided derivatives are 0 and 1, and relu(u) - s·u = (1 - s) relu(u) +
s relu(-u) ≥ 0 for every u shows that each s ∈ [0, 1] is a subgradient at 0.  The library, as
PyTorch, uses s = 0, i.e. relu'(0) = [0 > 0] = 0.

For sigmoid and tanh the derivative and the stated form are equal as rational functions of
e^x and e^(-x), with positive denominators 1 + e^(-x) and e^x + e^(-x).
"""

from __future__ import annotations

import sympy

from convproof.symbolic import Claim, Derivation, Signal, Theorem, eq, scalar, universal
from convproof.symbolic.language import Partial
from convproof.symbolic.operators_layers import Positive, Values, evaluated, relu, sigmoid, tanh
from convproof.symbolic import rules_real  # noqa: F401  (registers the rules)

j, j1 = scalar("j j'")
slope = sympy.Symbol("s", real=True)
x = Signal("x")
sig = Signal("sigmoid", r"\sigma", lambda j_: sigmoid(x[j_]), arity=1)
th = Signal("tanh", r"\tanh", lambda j_: tanh(x[j_]), arity=1)
delta = eq(j, j1)

THEOREM = Theorem(
    "activation-derivatives", "Derivatives of ReLU, sigmoid and tanh",
    r"\operatorname{relu}'(x) = [x > 0]\ (x \ne 0),\quad \sigma' = \sigma(1 - \sigma),\quad"
    r"\tanh' = 1 - \tanh^2",
)

RELU = THEOREM.export(Claim("relu", Partial(relu(x[j]), x[j1]), delta * Positive(x[j]),
                            text="for x_j ≠ 0, where relu is differentiable",
                            nonzero=(x[j],)))
SUBGRADIENT = THEOREM.export(Claim(
    "subgradients at 0", relu(x[j]) - slope * x[j],
    (1 - slope) * relu(x[j]) + slope * relu(-x[j]),
    text="for s ∈ [0, 1] the right side is ≥ 0: relu(u) ≥ relu(0) + s·u for every u"))
SIGMOID = THEOREM.export(Claim("sigmoid", Partial(sig[j], x[j1]), delta * sig[j] * (1 - sig[j])))
TANH = THEOREM.export(Claim("tanh", Partial(th[j], x[j1]), delta * (1 - th[j] ** 2)))


@THEOREM.evidence
def rectifier():
    root = sympy.sqrt(x[j] ** 2)
    derivative = (
        Derivation(RELU.lhs, "relu'(x) = [x > 0]")
        .by("positive part", Partial((x[j] + root) / 2, x[j1]), "max(x, 0) = (x + |x|)/2")
        .by("differentiate", delta / 2 + delta * root / x[j] / 2,
            "∂|x|/∂x = ∂sqrt(x²)/∂x = sqrt(x²)/x")
        .by("sign", delta / 2 + delta * (2 * Positive(x[j]) - 1) / 2,
            "|x|/x = 2[x > 0] - 1 for x ≠ 0")
        .by("algebra", RELU.rhs, "")
    )
    subgradient = (
        Derivation(SUBGRADIENT.lhs, "the subgradients of relu at 0")
        .by("positive part", (x[j] + root) / 2 - slope * x[j], "max(u, 0) = (u + |u|)/2")
        .back("positive part", SUBGRADIENT.rhs,
              "(1 - s)(u + |u|)/2 + s(|u| - u)/2 = (u + |u|)/2 - s·u")
    )
    return [universal(RELU, derivative), universal(SUBGRADIENT, subgradient)]


@THEOREM.evidence
def logistic():
    decay = sympy.exp(-x[j])
    proof = (
        Derivation(SIGMOID.lhs, "σ' = σ(1 - σ)")
        .by("differentiate", delta * decay / (1 + decay) ** 2, "the chain rule for 1/(1 + e^(-x))")
        .by("rational arithmetic", delta * sigmoid(x[j]) * (1 - sigmoid(x[j])),
            "e^(-x)/(1 + e^(-x))² = 1/(1 + e^(-x)) - 1/(1 + e^(-x))²",
            equals=delta * sigmoid(x[j]) * (1 - sigmoid(x[j])))
        .back("definition", SIGMOID.rhs, "fold σ back", signals=(sig,))
    )
    return universal(SIGMOID, proof)


@THEOREM.evidence
def hyperbolic():
    up, down = sympy.exp(x[j]), sympy.exp(-x[j])
    proof = (
        Derivation(TANH.lhs, "tanh' = 1 - tanh²")
        .by("differentiate", delta * up / (up + down) + delta * down / (up + down)
            - delta * (up - down) ** 2 / (up + down) ** 2,
            "the quotient rule: (e^x - e^(-x))' = e^x + e^(-x), (e^x + e^(-x))' = e^x - e^(-x)")
        .by("rational arithmetic", delta * (1 - tanh(x[j]) ** 2),
            "(a + b)² - (a - b)² over (a + b)², a = e^x, b = e^(-x)",
            equals=delta * (1 - tanh(x[j]) ** 2))
        .back("definition", TANH.rhs, "fold tanh back", signals=(th,))
    )
    return universal(TANH, proof)


# --------------------------------------------------------------------------------------------
# Wrong statements, at points where e^x is rational (x = 0, x = log 2)
# --------------------------------------------------------------------------------------------

def _at(value) -> Values:
    return Values({j: 0, j1: 0}, {"x": {(0,): value}}, note=f"x = {value}")


@THEOREM.mutant("sigmoid' = σ(1 + σ)")
def sigmoid_plus():
    return evaluated(Claim("sigmoid", SIGMOID.lhs, delta * sig[j] * (1 + sig[j])), [_at(0)])


@THEOREM.mutant("tanh' = 1 + tanh²")
def tanh_plus():
    return evaluated(Claim("tanh", TANH.lhs, delta * (1 + th[j] ** 2)), [_at(sympy.log(2))])


@THEOREM.mutant("relu' = 1 everywhere")
def relu_identity():
    return evaluated(Claim("relu", RELU.lhs, delta), [_at(-1)])


prove = THEOREM.prove
render = THEOREM.render
