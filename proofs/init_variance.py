"""init-variance: fans, and the weight variance that keeps the signal's variance.

One output of a correlation sums fan_in = C_in·k_h·k_w products w·x (Σ_c Σ_m over the box
[c ∈ C_in][m ∈ K]); one input pixel of the backward pass (unit stride, away from the border)
gathers fan_out = C_out·k_h·k_w products.  (In N-d, k_h·k_w is Π_a k_a, counted one axis at a
time; with groups, C_in and C_out are the channels of one group.)  convproof.nn.init.fans, as
PyTorch, reads both from the weight's shape (C_out, C_in/G, k...): its fan_in is the one above,
its fan_out = C_out·Π k counts all G groups, G times the products a grouped backward pass
gathers, so with groups Xavier's σ² is smaller than the backward condition calls for, exactly as
in PyTorch.

For y = Σ_{j < n} w_j x_j with independent weights of mean 0 and variance σ², independent of
the identically distributed x_j (which need not be independent of each other):

    E[y] = 0,     Var[y] = n·σ²·E[x²]

(E[w_j w_k] = σ²[j = k]: the cross terms vanish).  After a ReLU, x = max(z, 0) with z
symmetric: max(z, 0)² + max(-z, 0)² = z² and z, -z have one law, so E[x²] = E[z²]/2 = Var[z]/2
and

    Var[y] = fan_in·σ²·Var[z]/2:   He: σ² = 2/fan_in keeps Var[y] = Var[z] from layer to layer.

The backward pass is the same sum over fan_out weights: Var[∂L/∂x] = fan_out·σ²·Var[∂L/∂y].
Both conditions, fan_in·σ² = 1 and fan_out·σ² = 1 (linear activations), hold together only if
fan_in = fan_out; Xavier's σ² = 2/(fan_in + fan_out) makes their average hold.
"""

from __future__ import annotations

import sympy
from sympy import Expr

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, eq, in_range, scalar,
                                universal, zsum)
from convproof.symbolic.operators_layers import Values, evaluated, relu
from convproof.symbolic.rules_expectation import (E, FiniteLaw, centered, random_signal,
                                                  stationary, symmetric, variance)
from convproof.symbolic import rules_counting, rules_real  # noqa: F401  (registers the rules)

n_in, n_out, c_in, c_out, k_h, k_w = scalar("fan_in fan_out C_in C_out k_h k_w", positive=True)
c, o, m_h, m_w, j, k = scalar("c o m_h m_w j k")
s2, v, q = sympy.symbols("sigma^2 v q", positive=True)
w = random_signal("w", centered(s2), "w")
x = random_signal("x", stationary(second=q), "x")
z = random_signal("z", symmetric(v), "z")
act = Signal("a", r"\operatorname{relu}(z)", lambda j_: relu(z[j_]), arity=1)


def inputs(v_):
    return in_range(v_, n_in)


y_lin = zsum(inputs(j) * w[j] * x[j], j)
y_relu = zsum(inputs(j) * w[j] * act[j], j)
HE = sympy.Eq(s2, 2 / n_in, evaluate=False)
XAVIER = sympy.Eq(s2, 2 / (n_in + n_out), evaluate=False)

THEOREM = Theorem(
    "init-variance", "Fans and the variance-preserving initializations",
    r"\operatorname{Var}\Big[\sum_{j<\text{fan}_\text{in}} w_j x_j\Big] = \text{fan}_\text{in}"
    r"\,\sigma^2\, \mathbb{E}[x^2],\quad \mathbb{E}[\operatorname{relu}(z)^2] = "
    r"\tfrac{1}{2}\operatorname{Var}[z],\quad \sigma^2_\text{He} = \frac{2}{\text{fan}_\text{in}},"
    r"\quad \sigma^2_\text{Xavier} = \frac{2}{\text{fan}_\text{in} + \text{fan}_\text{out}}",
)

FAN_IN = THEOREM.export(Claim(
    "fan_in", zsum(in_range(c, c_in) * in_range(m_h, k_h) * in_range(m_w, k_w), c, m_h, m_w),
    c_in * k_h * k_w, text="the products w·x in one output of a correlation"))
FAN_OUT = THEOREM.export(Claim(
    "fan_out", zsum(in_range(o, c_out) * in_range(m_h, k_h) * in_range(m_w, k_w), o, m_h, m_w),
    c_out * k_h * k_w, text="the products w·g one input pixel gathers in the backward pass"))
MEAN = THEOREM.export(Claim("mean", E(y_lin), sympy.S.Zero))
LINEAR = THEOREM.export(Claim(
    "variance", variance(y_lin), n_in * s2 * q,
    text="independent weights of mean 0 and variance σ², independent of x, E[x_j²] = q"))
HALF = THEOREM.export(Claim("relu second moment", E(act[j] ** 2), v / 2,
                            text="z symmetric with Var[z] = E[z²] = v"))
RELU = THEOREM.export(Claim("variance after relu", variance(y_relu), n_in * s2 * v / 2))
KEEPS = THEOREM.export(Claim("He", variance(y_relu), v, hypotheses=(HE,),
                             text="σ² = 2/fan_in keeps the variance"))
AVERAGE = THEOREM.export(Claim("Xavier", (n_in * s2 + n_out * s2) / 2, sympy.S.One,
                               hypotheses=(XAVIER,),
                               text="the average of the forward and backward conditions holds"))


@THEOREM.evidence
def fans():
    proofs = []
    for claim, channel in ((FAN_IN, c), (FAN_OUT, o)):
        size = c_in if claim is FAN_IN else c_out
        proofs.append(universal(claim, (
            Derivation(claim.lhs, claim.name)
            .by("count an interval",
                zsum(in_range(channel, size) * in_range(m_h, k_h) * k_w, channel, m_h),
                "k_w taps along the width", var=m_w)
            .by("count an interval", zsum(in_range(channel, size) * k_h * k_w, channel),
                "k_h taps along the height", var=m_h)
            .by("count an interval", claim.rhs, "and the channels", var=channel))))
    return proofs


def _square_and_mean(signal: Signal) -> tuple[Expr, Expr]:
    """E[y²] and E[y] after linearity and independence."""
    both = inputs(j) * inputs(k)
    return (zsum(both * E(w[j] * w[k]) * E(signal[j] * signal[k]), j, k),
            zsum(inputs(j) * E(w[j]) * E(signal[j]), j))


def _variance_steps(proof: Derivation, signal: Signal) -> Derivation:
    """Var[Σ_j w_j s_j] down to Σ_j σ² E[s_j²]."""
    square, mean = _square_and_mean(signal)
    both = inputs(j) * inputs(k)
    return (
        proof
        .by("linearity of expectation",
            zsum(both * E(w[j] * signal[j] * w[k] * signal[k]), j, k)
            - zsum(inputs(j) * E(w[j] * signal[j]), j) ** 2,
            "expand the square; sums and brackets leave E")
        .by("independence", square - mean ** 2, "the weights are independent of the inputs")
        .by("moments of the law", zsum(both * s2 * eq(j, k) * E(signal[j] * signal[k]), j, k),
            "E[w_j w_k] = σ²[j = k] + E[w]² (1 - [j = k]) with E[w] = 0")
        .by("Kronecker delta", zsum(inputs(j) * s2 * E(signal[j] ** 2), j),
            "only the diagonal j = k remains", var=k)
    )


def _relu_steps(proof: Derivation, outer) -> Derivation:
    """outer(E[relu(z)²]) down to outer(v/2)."""
    square, negated = relu(z[j]) ** 2, relu(-z[j]) ** 2
    return (
        proof
        .by("definition", outer(E(square)), "x = max(z, 0)", signals=(act,))
        .by("symmetry", outer((E(square) + E(negated)) / 2),
            "z and -z have the same law", signal=z)
        .back("linearity of expectation", outer(E(square + negated) / 2), "E is linear")
        .by("positive part", outer(E(z[j] ** 2) / 2),
            "max(u, 0)² + max(-u, 0)² = ((u + |u|)² + (|u| - u)²)/4 = u²")
        .by("moments of the law", outer(v / 2), "E[z²] = Var[z] = v: z has mean 0")
    )


@THEOREM.evidence
def mean():
    proof = (
        Derivation(MEAN.lhs, "E[y] = 0")
        .by("linearity of expectation", zsum(inputs(j) * E(w[j] * x[j]), j), "E is linear")
        .by("independence", zsum(inputs(j) * E(w[j]) * E(x[j]), j), "w is independent of x")
        .by("moments of the law", MEAN.rhs, "E[w] = 0")
    )
    return universal(MEAN, proof)


@THEOREM.evidence
def linear():
    proof = (
        _variance_steps(Derivation(LINEAR.lhs, "Var[y] = fan_in σ² E[x²]"), x)
        .by("moments of the law", zsum(inputs(j) * s2 * q, j), "E[x_j²] = q for every j")
        .by("count an interval", LINEAR.rhs, "fan_in terms", var=j)
    )
    return universal(LINEAR, proof)


@THEOREM.evidence
def relu_moment():
    return universal(HALF, _relu_steps(Derivation(HALF.lhs, "E[relu(z)²] = Var[z]/2"),
                                        lambda e: e))


def _after_relu(title: str) -> Derivation:
    steps = _variance_steps(Derivation(RELU.lhs, title), act)
    return (_relu_steps(steps, lambda e: zsum(inputs(j) * s2 * e, j))
            .by("count an interval", RELU.rhs, "fan_in terms", var=j))


@THEOREM.evidence
def after_relu():
    return [universal(RELU, _after_relu("Var[y] = fan_in σ² Var[z]/2")),
            universal(KEEPS, _after_relu("He keeps the variance")
                      .by("hypothesis", KEEPS.rhs, "σ² = 2/fan_in", equation=HE))]


@THEOREM.evidence
def xavier():
    proof = (
        Derivation(AVERAGE.lhs, "Xavier: the average condition")
        .by("hypothesis", (n_in + n_out) / (n_in + n_out), "σ² = 2/(fan_in + fan_out)",
            equation=XAVIER)
        .by("algebra", AVERAGE.rhs, "")
    )
    return universal(AVERAGE, proof)


# --------------------------------------------------------------------------------------------
# Wrong statements: fan_in = 1, fan_out = 2, w = ±1 and z = ±1 with probability 1/2 each
# --------------------------------------------------------------------------------------------

_COINS = Values({n_in: 1, n_out: 2, v: 1, s2: 1},
                laws={"w": FiniteLaw((-1, 1), (sympy.Rational(1, 2),) * 2),
                      "z": FiniteLaw((-1, 1), (sympy.Rational(1, 2),) * 2)},
                note="σ² = 1, Var[z] = 1")


@THEOREM.mutant("He initialization with fan_out")
def he_fan_out():
    claim = Claim("He", KEEPS.lhs, v, hypotheses=(sympy.Eq(s2, 2 / n_out, evaluate=False),))
    return evaluated(claim, [_COINS])


@THEOREM.mutant("variance after ReLU without the factor 1/2")
def relu_not_halved():
    return evaluated(Claim("variance after relu", RELU.lhs, n_in * s2 * v), [_COINS])


@THEOREM.mutant("Xavier with 1/(fan_in + fan_out)")
def xavier_sum():
    wrong = sympy.Eq(s2, 1 / (n_in + n_out), evaluate=False)
    return evaluated(Claim("Xavier", AVERAGE.lhs, 1, hypotheses=(wrong,)),
                     [Values({n_in: 1, n_out: 2})])


prove = THEOREM.prove
render = THEOREM.render
