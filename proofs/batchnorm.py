"""batchnorm: batch normalization, its closed-form backward, and its folding into a conv.

Per channel c the statistics run over the M = B·|positions| entries of (batch, positions),
flattened into one index j ∈ [0, M - 1] (a bijection; M a symbol):

    μ = (1/M) Σ_j x_j,   σ² = (1/M) Σ_j (x_j - μ)²,   r = (σ² + ε)^(-1/2)
    x̂_j = (x_j - μ)·r,   y_j = γ x̂_j + β

With the error g = ∂L/∂y held fixed (the chain rule as ∂⟨y, g⟩/∂θ, see grad-bias):

    ∂L/∂x_i = (γ r / M)·(M g_i - Σ_j g_j - x̂_i Σ_j g_j x̂_j)
    ∂L/∂γ = Σ_j g_j x̂_j,          ∂L/∂β = Σ_j g_j

The mean terms come from μ and σ² depending on every x_i.  The rule "chain rule" keeps μ and
σ² as intermediate variables (∂x̂_j/∂μ = -r, ∂x̂_j/∂σ² = -(x_j - μ)(σ² + ε)^(-3/2)/2), the rule
"differentiate" takes ∂μ/∂x_i = [i ∈ box]/M and ∂σ²/∂x_i through their definitions, where
Σ_l (x_l - μ) = Σ_l x_l - M·μ = 0 counts the box, and the powers of σ² + ε combine
(r³ = (σ² + ε)^(-3/2)).  Channels do not mix: the loss of channel c has the factor [c = c'] in
its derivative by x[c', ·], so the gradient of the sum over channels is the formula of c'.

In inference mode μ and σ² are running estimates (constants), so BN after a correlation is one
correlation with w' = w·γ r and b' = (b - μ)·γ r + β per output channel.

The notes normalize as (x̃ - α)/β with a trainable β > 0: that is γ x̂ + β' with γ = 1/β and
β' = -α/β, the affine form (γ, β) that PyTorch and the library use.
"""

from __future__ import annotations

import sympy
from sympy import Rational

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, scalar, universal, zsum)
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import Setting, b, c as channel, correlation, g, i, o, m
from convproof.symbolic.operators_layers import Values, evaluated
from convproof.symbolic import rules_counting, rules_real  # noqa: F401  (registers the rules)

M = scalar("M", positive=True)
eps = sympy.Symbol("epsilon", positive=True)
c, c1, i1 = scalar("c c' i'")
j, k, l, k1, l1, l2 = scalar("j k l k_1 l_1 l_2")
x, grad = Signal("x"), Signal("g")
gamma, beta = Signal("gamma", r"\gamma"), Signal("beta", r"\beta")


def within(v):
    """[0 ≤ v ≤ M - 1]: the (batch, position) entries of one channel."""
    return in_range(v, M)


mean = Signal("mu", r"\mu", lambda c_: zsum(within(k) * x[c_, k], k) / M, arity=1)
var = Signal("sigma2", r"\sigma^2",
             lambda c_: zsum(within(l) * (x[c_, l] - mean[c_]) ** 2, l) / M, arity=1)
inv_std = Signal("r", "r", lambda c_: (var[c_] + eps) ** Rational(-1, 2), arity=1)
xhat = Signal("xhat", r"\hat{x}", lambda c_, j_: (x[c_, j_] - mean[c_]) * inv_std[c_], arity=2)
out = Signal("y", "y", lambda c_, j_: gamma[c_] * xhat[c_, j_] + beta[c_], arity=2)
loss = zsum(within(j) * grad[c, j] * out[c, j], j)

mu_ = zsum(within(k) * x[c, k], k) / M  # μ written out
same = eq(c, c1)
sum_g = zsum(within(j) * grad[c, j], j)

THEOREM = Theorem(
    "batchnorm", "Batch normalization and its closed-form backward",
    r"\frac{\partial L}{\partial x_i} = \frac{\gamma}{M\sqrt{\sigma^2 + \epsilon}}"
    r"\Big(M g_i - \sum_j g_j - \hat{x}_i \sum_j g_j \hat{x}_j\Big),\quad"
    r"\frac{\partial L}{\partial \gamma} = \sum_j g_j \hat{x}_j,\quad"
    r"\frac{\partial L}{\partial \beta} = \sum_j g_j",
    notes=("the notes' normalization (x̃ - α)/β with a trainable β > 0 is the affine form "
           "γ x̂ + β' with γ = 1/β, β' = -α/β; the library uses PyTorch's (γ, β)",
           "the notes divide by the standard deviation σ alone, so a channel that is constant "
           "over the batch and the pixels gives 0/0; the library divides by √(σ² + ε) with "
           "ε > 0 (PyTorch's 1e-5), as above",),
)

INPUT = THEOREM.export(Claim(
    "input gradient", Partial(loss, x[c1, i1]),
    same * within(i1) * gamma[c] * inv_std[c] / M
    * (M * grad[c, i1] - sum_g - xhat[c, i1] * zsum(within(j) * grad[c, j] * xhat[c, j], j)),
    text="for every input, error, γ, β, ε > 0 and number M of entries per channel",
))
SCALE = THEOREM.export(Claim(
    "scale gradient", Partial(loss, gamma[c1]),
    same * zsum(within(j) * grad[c, j] * xhat[c, j], j)))
SHIFT = THEOREM.export(Claim("shift gradient", Partial(loss, beta[c1]), same * sum_g))

alpha, beta_n, gamma_s, beta_s = sympy.symbols("alpha beta_n gamma' beta'", real=True)
SCALE_IS = sympy.Eq(gamma_s, 1 / beta_n, evaluate=False)
SHIFT_IS = sympy.Eq(beta_s, -alpha / beta_n, evaluate=False)
NOTES = THEOREM.export(Claim(
    "the notes' form", (xhat[c, j] - alpha) / beta_n, gamma_s * xhat[c, j] + beta_s,
    hypotheses=(SCALE_IS, SHIFT_IS), text="(x̂ - α)/β = γ x̂ + β' with γ = 1/β, β' = -α/β"))


@THEOREM.evidence
def input_gradient():
    root = (var[c] + eps) ** Rational(-1, 2)
    cube = (var[c] + eps) ** Rational(-3, 2)
    through_mean = -zsum(within(j) * grad[c, j] * gamma[c] * root, j)
    through_var = -zsum(within(j) * grad[c, j] * gamma[c] * (x[c, j] - mean[c]) * cube, j) / 2
    direct = zsum(within(j) * grad[c, j] * gamma[c] * same * eq(j, i1) * root, j)
    d_mean = zsum(within(k1) * same * eq(k1, i1), k1) / M
    d_mean_at = same * within(i1) / M

    def d_var(centre, delta_mean):
        return zsum(within(l1) * 2 * (x[c, l1] - centre) * (same * eq(l1, i1) - delta_mean),
                    l1) / M

    def d_var_at(centre):
        return 2 / M * same * within(i1) * (x[c, i1] - centre)

    centred = zsum(within(j) * grad[c, j] * gamma[c] * (x[c, j] - mu_), j)
    closed = same * within(i1) * gamma[c] / M

    def closed_form(centre, r):
        return closed * r * (M * grad[c, i1] - sum_g
                             - (x[c, i1] - centre) * r * zsum(within(j) * grad[c, j]
                                                              * (x[c, j] - centre) * r, j))

    proof = (
        Derivation(INPUT.lhs, "∂L/∂x through the batch statistics")
        .by("chain rule",
            direct + through_mean * Partial(mean[c], x[c1, i1])
            + through_var * Partial(var[c], x[c1, i1]),
            "x̂_j = (x_j - μ)(σ² + ε)^(-1/2) depends on x_i directly and through μ and σ²: "
            "∂x̂_j/∂μ = -r, ∂x̂_j/∂σ² = -(x_j - μ)(σ² + ε)^(-3/2)/2", keep=(mean, var))
        .by("differentiate", direct + through_mean * d_mean + through_var * d_var(mu_, d_mean),
            "∂μ/∂x_i = (1/M) Σ_k [k = i] and ∂σ²/∂x_i = (2/M) Σ_l (x_l - μ)([l = i] - ∂μ/∂x_i)")
        .by("Kronecker delta",
            direct + through_mean * d_mean_at + through_var * d_var(mu_, d_mean_at),
            "∂μ/∂x_i = [i in the box]/M", var=k1)
        .by("Kronecker delta",
            direct + through_mean * d_mean_at + through_var * (
                d_var_at(mu_) - 2 / M * d_mean_at * (zsum(within(l1) * x[c, l1], l1)
                                                     - zsum(within(l2) * mu_, l2))),
            "the term l = i of ∂σ²/∂x_i", var=l1)
        .by("count an interval", direct + through_mean * d_mean_at + through_var * d_var_at(mu_),
            "Σ_l (x_l - μ) = Σ_l x_l - M·μ = 0: the box of l has M points", var=l2)
        .by("definition",
            direct - zsum(within(j) * grad[c, j] * gamma[c] * root, j) * d_mean_at
            - zsum(within(j) * grad[c, j] * gamma[c] * (x[c, j] - mu_) * cube, j) / 2
            * d_var_at(mu_),
            "write μ out everywhere", signals=(mean,))
        .by("Kronecker delta",
            same * within(i1) * gamma[c] * grad[c, i1] * root - d_mean_at * root * gamma[c]
            * sum_g - centred * cube * d_var_at(mu_) / 2,
            "the term j = i of Σ_j g_j ∂x̂_j/∂x_i", var=j)
        .back("powers of one base", closed_form(mu_, root),
              "r·r·r = (σ² + ε)^(-3/2), as σ² + ε > 0", base=var[c] + eps)
        .back("definition", closed_form(mean[c], root), "fold μ back", signals=(mean,))
        .back("definition", closed_form(mean[c], inv_std[c]), "fold r back", signals=(inv_std,))
        .back("definition", INPUT.rhs, "fold x̂ back", signals=(xhat,))
    )
    return universal(INPUT, proof)


@THEOREM.evidence
def affine_gradients():
    spread = eps + zsum(within(l) * (x[c, l] - mu_) ** 2, l) / M
    centred = zsum(within(j) * grad[c, j] * same * (x[c, j] - mu_) * spread ** Rational(-1, 2), j)
    scale = (Derivation(SCALE.lhs, "∂L/∂γ")
             .by("differentiate", centred, "y_j = γ x̂_j + β is linear in γ")
             .back("definition", SCALE.rhs, "fold x̂ back"))
    shift = (Derivation(SHIFT.lhs, "∂L/∂β")
             .by("differentiate", zsum(within(j) * grad[c, j] * same, j), "∂y_j/∂β = 1")
             .by("linearity", SHIFT.rhs, "[c = c'] does not depend on j"))
    return [universal(SCALE, scale), universal(SHIFT, shift)]


@THEOREM.evidence
def notes_form():
    proof = (
        Derivation(NOTES.lhs, "(x̂ - α)/β as an affine map")
        .by("algebra", xhat[c, j] / beta_n - alpha / beta_n, "divide both terms by β")
        .back("hypothesis", gamma_s * xhat[c, j] - alpha / beta_n, "γ = 1/β", equation=SCALE_IS)
        .back("hypothesis", NOTES.rhs, "β' = -α/β", equation=SHIFT_IS)
    )
    return universal(NOTES, proof)


# --------------------------------------------------------------------------------------------
# Inference mode: BN after a correlation is a correlation
# --------------------------------------------------------------------------------------------

st = Setting()
xc, w, bias = Signal("x"), Signal("w"), Signal("bias", "b")
run_mean, run_var = Signal("mu_run", r"\bar\mu"), Signal("var_run", r"\bar\sigma^2")
gain, shift = Signal("gamma", r"\gamma"), Signal("beta", r"\beta")
corr = correlation(xc, w, st)


def _scale(g_, o_):
    return gain[g_, o_] * (run_var[g_, o_] + eps) ** Rational(-1, 2)


bn_conv = Signal("bn_conv", r"\operatorname{BN}(\operatorname{corr}(x) + b)", lambda b_, g_, o_, i_:
                 (corr[b_, g_, o_, i_] + bias[g_, o_] - run_mean[g_, o_]) * _scale(g_, o_)
                 + shift[g_, o_], arity=4)
w_fold = Signal("w_fold", "w'", lambda g_, o_, c__, m_: w[g_, o_, c__, m_] * _scale(g_, o_),
                arity=4)
b_fold = Signal("b_fold", "b'", lambda g_, o_: (bias[g_, o_] - run_mean[g_, o_]) * _scale(g_, o_)
                + shift[g_, o_], arity=2)
corr_fold = correlation(xc, w_fold, st, name="corr_fold")
OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
FOLD = THEOREM.export(Claim(
    "folding", bn_conv[b, g, o, i], corr_fold[b, g, o, i] + b_fold[g, o], indices=OUTPUT,
    text="with running statistics, BN after corr (any stride, dilation, padding, groups) is "
         "one correlation with w' = w·γ/sqrt(σ² + ε), b' = (b - μ)·γ/sqrt(σ² + ε) + β"))


def _window(weight):
    read = st.input_index(i, m)
    return zsum(st.inputs(channel) * st.taps(m) * weight * st.pixels(read)
                * xc[b, g, channel, read], channel, m)


@THEOREM.evidence
def folding():
    proof = (
        Derivation(FOLD.lhs, "BN(corr(x) + b) = corr'(x) + b'")
        .by("definition",
            (_window(w[g, o, channel, m]) + bias[g, o] - run_mean[g, o]) * _scale(g, o)
            + shift[g, o],
            "unfold BN and the correlation")
        .by("linearity",
            _window(w[g, o, channel, m] * _scale(g, o))
            + (bias[g, o] - run_mean[g, o]) * _scale(g, o) + shift[g, o],
            "the per-channel scale γ/sqrt(σ² + ε) moves into the sum")
        .back("definition", _window(w_fold[g, o, channel, m]) + b_fold[g, o],
              "that is w' inside the window, and b'", signals=(w_fold, b_fold))
        .back("definition", FOLD.rhs, "a correlation with w'", signals=(corr_fold,))
    )
    return universal(FOLD, proof)


def _fold_point() -> Point:
    """One output channel of a 1-D conv with two taps (ε = 1)."""
    sizes = {st.n: (3,), st.k: (2,), st.s: (1,), st.d: (1,), st.p: (0,), st.q: (0,)}
    return Point({**sizes, st.batch: 1, st.groups: 1, st.c_in: 1, st.c_out: 1, eps: 1}, 1)


# --------------------------------------------------------------------------------------------
# Wrong statements
# --------------------------------------------------------------------------------------------

# one channel of M = 2 entries x = (0, 2): μ = 1, σ² = 1; with ε = 3, r = 1/2 exactly
_POINT = Values({M: 2, c: 0, c1: 0, i1: 0, eps: 3},
                {"x": {(0, 0): 0, (0, 1): 2}, "g": {(0, 0): 1, (0, 1): 3},
                 "gamma": {(0,): 5}, "beta": {(0,): 7}}, note="μ = 1, σ² = 1, r = 1/2")


@THEOREM.mutant("backward without the mean terms (μ and σ² treated as constants)")
def constant_statistics():
    claim = Claim("input gradient", INPUT.lhs,
                  same * within(i1) * gamma[c] * inv_std[c] * grad[c, i1])
    return evaluated(claim, [_POINT])


@THEOREM.mutant("backward with the variance term but without the mean term")
def no_mean_term():
    claim = Claim("input gradient", INPUT.lhs, same * within(i1) * gamma[c] * inv_std[c] / M * (
        M * grad[c, i1] - xhat[c, i1] * zsum(within(j) * grad[c, j] * xhat[c, j], j)))
    return evaluated(claim, [_POINT])


@THEOREM.mutant("folding without the running mean")
def fold_without_mean():
    wrong = Signal("b_nomean", "b'", lambda g_, o_: bias[g_, o_] * _scale(g_, o_) + shift[g_, o_],
                   arity=2)
    claim = Claim("folding", FOLD.lhs, corr_fold[b, g, o, i] + wrong[g, o], indices=OUTPUT)
    return certified(claim, [_fold_point()])


prove = THEOREM.prove
render = THEOREM.render
