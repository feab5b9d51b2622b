"""matrix-backward: the backward pass of y = W x, and the convolution as its banded instance.

For a matrix W[r, t] (rows r ∈ [0, R - 1], columns t ∈ [0, T - 1]: multi-indices, so any
finite box of index sets) and a batch of inputs X[b, ·], y[b, r] = Σ_t W[r, t] X[b, t].  With
the error E = ∂L/∂y (the chain rule as ∂⟨y, E⟩/∂θ, see grad-bias):

    ∂⟨W X, E⟩/∂X[b, t] = Σ_r W[r, t] E[b, r] = (Wᵀ E)[b, t]         E_{n-1} = Wᵀ E_n
    ∂⟨W X, E⟩/∂W[r, t] = Σ_b E[b, r] X[b, t]  = (E Xᵀ)[r, t]         ∇W = E_n Xᵀ

(per batch element, summed over the batch: ∇W is the sum of the outer products).  The
convolution is the case W = A, the banded matrix of banded-matrix, rows (g, o, i), columns
(g, c, j), A[g, o, c, i, j] = Σ_m [m ∈ K] w[g, o, c, m]·[j = s·i + d·m - p]:

    ∂⟨corr(x), G⟩/∂x = Aᵀ G = convT(G)           (output padding a = (n + p + q - d(k-1) - 1) mod s)
    ∂⟨corr(x), G⟩/∂w[m] = Σ_{i,j} (G xᵀ)[i, j]·∂A[i, j]/∂w[m]
                        = Σ_{i,j} (G xᵀ)[i, j]·[j = s·i + d·m - p]

The second line is where the notes are loose: ∇W = E Xᵀ is the gradient with respect to every
entry of a dense matrix, a full (rows × columns) matrix that is neither banded nor Toeplitz.
The kernel gradient is that matrix pushed back through the band (the adjoint of w ↦ A(w)):
each tap m sums the entries of G xᵀ on its diagonal j = s·i + d·m - p, which is grad-weight's ∇w.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq, in_range,
                                load, multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial, defined_signals, substitute
from convproof.symbolic.operators import (Setting, b, c, g, i, j, m, o, output_inner,
                                          transposed)

# --- the dense matrix ---------------------------------------------------------------------------
R, T = multi("R T", positive=True)
B = scalar("B", positive=True)
r, t = multi("r t")
r1, t1 = multi("r' t'")
b1, g1, o1, c1 = scalar("b' g' o' c'")
W, X, E = Signal("W"), Signal("X"), Signal("E")
WX = Signal("WX", "W X", lambda b_, r_: zsum(in_range(t, T) * W[r_, t] * X[b_, t], t), arity=2)
WtE = Signal("WtE", r"W^{T} E", lambda b_, t_: zsum(in_range(r, R) * W[r, t_] * E[b_, r], r),
             arity=2)
EXt = Signal("EXt", r"E X^{T}", lambda r_, t_: zsum(in_range(b, B) * E[b, r_] * X[b, t_], b),
             arity=2)
dense_loss = zsum(in_range(b, B) * in_range(r, R) * WX[b, r] * E[b, r], b, r)

# --- the convolution: banded-matrix's A ------------------------------------------------------
st = Setting()
x, w, grad, M = Signal("x"), Signal("w"), Signal("G"), Signal("M")
j1, m1 = multi("j' m'")
BANDED = load("banded-matrix")
MATRIX = BANDED.claims["matrix"]
A = BANDED.signals["A"]
corr = MATRIX.lhs.base  # the correlation y = A x is proved about
WEIGHT_GRADIENT = load("grad-weight").claims["weight gradient"]
(grad_w,) = defined_signals(WEIGHT_GRADIENT.rhs)
conv_loss = output_inner(lambda *ix: corr[ix], grad, st)
AtG = Signal("AtG", r"A^{T} G", lambda b_, g_, c_, j_: zsum(
    st.outputs(o) * st.positions(i) * A[g_, o, c_, i, j_] * grad[b_, g_, o, i], o, i), arity=4)
GXt = Signal("GXt", r"G x^{T}", lambda g_, o_, c_, i_, j_: zsum(
    st.batches(b) * grad[b, g_, o_, i_] * x[b, g_, c_, j_], b), arity=5)
convT = transposed(grad, w, st)


def pushed_back(matrix: Signal, name: str, tap=lambda m_: m_) -> Signal:
    """Bᵀ(M)[g, o, c, m] = [m ∈ K] Σ_{i,j} [i ∈ O][j ∈ N] M[g, o, c, i, j] [j = s·i + d·tap(m) - p]:
    the sum of M along the diagonal of tap m (tap(m) = m), the adjoint of w ↦ A(w)."""
    return Signal(name, rf"B^{{T}}({matrix.latex})", lambda g_, o_, c_, m_:
                  st.taps(m_) * zsum(st.positions(i) * st.pixels(j) * matrix[g_, o_, c_, i, j]
                                     * eq(j, st.input_index(i, tap(m_))), i, j), arity=4)


pushback_GXt = pushed_back(GXt, "BtGXt")
pushback_M = pushed_back(M, "BtM")
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)

THEOREM = Theorem(
    "matrix-backward", "The backward pass of a matrix product, and of the banded matrix",
    r"E_{n-1} = W^{T} E_n,\quad \nabla W = E_n X^{T};\quad W = A:\ A^{T} G = "
    r"\operatorname{conv}^{T}(G)\ (a = (n + p + q - d(k-1) - 1) \bmod s),\ "
    r"\nabla w_m = \sum_{i,j} (G x^{T})_{i,j} [j = s i + d m - p]",
    depends=("banded-matrix", "grad-weight"),
    notes=("The notes' ∇W = E_n Xᵀ is the gradient of a dense matrix; for a convolution it is "
           "pushed back through the band: ∇w[m] = Σ_{i,j} (E_n Xᵀ)[i, j]·[j = s·i + d·m - p], "
           "a sum along the diagonal of each tap, and it is summed over the batch.",),
)

DENSE_INDICES = {b1: in_range(b1, B), t1: in_range(t1, T)}
DENSE_BOXES = in_range(b1, B) * in_range(t1, T)
INPUT = THEOREM.export(Claim(
    "input gradient", Partial(dense_loss, X[b1, t1]), DENSE_BOXES * WtE[b1, t1],
    indices=DENSE_INDICES, text="E_{n-1} = Wᵀ E_n for every matrix, batch and error",
))
WEIGHTS = THEOREM.export(Claim(
    "weight gradient", Partial(dense_loss, W[r1, t1]),
    in_range(r1, R) * in_range(t1, T) * EXt[r1, t1],
    indices={r1: in_range(r1, R), t1: in_range(t1, T)},
    text="∇W = E_n Xᵀ, summed over the batch",
))
BOXES = st.batches(b1) * st.group_box(g1) * st.inputs(c1) * st.pixels(j1)
CONV_INPUT = THEOREM.export(Claim(
    "banded input gradient", Partial(conv_loss, x[b1, g1, c1, j1]), BOXES * AtG[b1, g1, c1, j1],
    indices={b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1), j1: st.pixels(j1)},
    text="the input gradient of a convolution is Aᵀ G",
))
TRANSPOSE = THEOREM.export(Claim(
    "Aᵀ is the transposed convolution", st.pixels(j) * AtG[b, g, c, j], convT[b, g, c, j],
    hypotheses=(OUTPUT_PADDING,),
    indices={b: st.batches(b), g: st.group_box(g), c: st.inputs(c), j: st.pixels(j)},
    text="Aᵀ G = convT(G) on the input positions, with the output padding that restores n",
))
WEIGHT_BOXES = st.group_box(g1) * st.outputs(o1) * st.inputs(c1)
CONV_WEIGHT = THEOREM.export(Claim(
    "banded weight gradient", WEIGHT_GRADIENT.lhs, WEIGHT_BOXES * pushback_GXt[g1, o1, c1, m1],
    indices=WEIGHT_GRADIENT.indices,
    text="the kernel gradient is G xᵀ summed along the diagonal of each tap",
))
CHAIN = THEOREM.export(Claim(
    "pushback is the chain rule through A",
    zsum(st.group_box(g) * st.outputs(o) * st.inputs(c) * st.positions(i) * st.pixels(j)
         * M[g, o, c, i, j] * Partial(A[g, o, c, i, j], w[g1, o1, c1, m1]), g, o, c, i, j),
    WEIGHT_BOXES * pushback_M[g1, o1, c1, m1],
    indices={g1: st.group_box(g1), o1: st.outputs(o1), c1: st.inputs(c1), m1: st.taps(m1)},
    text="Σ_{i,j} M[i, j]·∂A[i, j]/∂w[m] = Bᵀ(M)[m] for every M",
))


@THEOREM.evidence
def dense_input():
    body = in_range(r, R) * in_range(t, T) * W[r, t] * E[b, r]
    proof = (
        Derivation(INPUT.lhs, "E_{n-1} = Wᵀ E_n")
        .by("differentiate", zsum(in_range(b, B) * body * eq(b, b1) * eq(t, t1), b, r, t),
            "∂X[b, t]/∂X[b', t'] = [b = b'][t = t']")
        .by("Kronecker delta", zsum(in_range(b1, B) * body.subs(b, b1) * eq(t, t1), r, t),
            "b = b'", var=b)
        .by("Kronecker delta", in_range(b1, B) * in_range(t1, T)
            * zsum(in_range(r, R) * W[r, t1] * E[b1, r], r), "t = t'", var=t)
        .back("definition", INPUT.rhs, "the sum over rows is (Wᵀ E)[b', t']", signals=(WtE,))
    )
    return universal(INPUT, proof)


@THEOREM.evidence
def dense_weight():
    body = in_range(b, B) * in_range(r, R) * in_range(t, T) * X[b, t] * E[b, r]
    proof = (
        Derivation(WEIGHTS.lhs, "∇W = E_n Xᵀ")
        .by("differentiate", zsum(body * eq(r, r1) * eq(t, t1), b, r, t),
            "∂W[r, t]/∂W[r', t'] = [r = r'][t = t']")
        .by("Kronecker delta", zsum(body.subs(r, r1) * eq(t, t1), b, t), "r = r'", var=r)
        .by("Kronecker delta", in_range(r1, R) * in_range(t1, T)
            * zsum(in_range(b, B) * E[b, r1] * X[b, t1], b), "t = t'", var=t)
        .back("definition", WEIGHTS.rhs, "the sum over the batch is (E Xᵀ)[r', t']",
              signals=(EXt,))
    )
    return universal(WEIGHTS, proof)


@THEOREM.evidence
def banded_input():
    outer = st.batches(b) * st.group_box(g) * st.outputs(o) * st.positions(i)
    band = zsum(st.taps(m) * w[g, o, c, m] * eq(j, st.input_index(i, m)), m)
    band1 = substitute(band, {g: g1, c: c1, j: j1})
    column = st.inputs(c) * st.pixels(j)
    rows = st.outputs(o) * st.positions(i)

    def in_loss(entry):
        """∂⟨entry, G⟩/∂x[b', g', c', j'] for an output entry at (b, g, o, i)."""
        return Partial(zsum(outer * entry * grad[b, g, o, i], b, g, o, i), x[b1, g1, c1, j1])

    proof = (
        Derivation(CONV_INPUT.lhs, "∂⟨A x, G⟩/∂x = Aᵀ G")
        .by("known result", in_loss(MATRIX.rhs), "banded-matrix: corr(x) = A x",
            theorem="banded-matrix", claim="matrix", instance={}, context=in_loss)
        .by("differentiate",
            zsum(outer * column * band * grad[b, g, o, i]
                 * eq(b, b1) * eq(g, g1) * eq(c, c1) * eq(j, j1), b, g, o, i, c, j),
            "x enters linearly: ∂x[b, g, c, j]/∂x[b', g', c', j'] is the delta of all four")
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g) * rows * column * band * grad[b1, g, o, i]
                 * eq(g, g1) * eq(c, c1) * eq(j, j1), g, o, i, c, j), "b = b'", var=b)
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g1) * rows * column * substitute(band, {g: g1})
                 * grad[b1, g1, o, i] * eq(c, c1) * eq(j, j1), o, i, c, j), "g = g'", var=g)
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g1) * rows * st.inputs(c1) * st.pixels(j)
                 * substitute(band, {g: g1, c: c1}) * grad[b1, g1, o, i] * eq(j, j1), o, i, j),
            "c = c'", var=c)
        .by("Kronecker delta", BOXES * zsum(rows * band1 * grad[b1, g1, o, i], o, i),
            "j = j'", var=j, value=j1)
        .back("definition", BOXES * zsum(rows * A[g1, o, c1, i, j1] * grad[b1, g1, o, i], o, i),
              "the tap sum is the entry A[g', o, c', i, j']", signals=(A,))
        .back("definition", CONV_INPUT.rhs, "the sum over rows (o, i) is (Aᵀ G)[b', g', c', j']",
              signals=(AtG,))
    )
    return universal(CONV_INPUT, proof)


@THEOREM.evidence
def transpose_is_scatter():
    rows = st.outputs(o) * st.positions(i) * st.taps(m)
    scatter = zsum(rows * w[g, o, c, m] * grad[b, g, o, i] * eq(j, st.input_index(i, m)), o, i, m)
    reduced_size = st.transposed_size.subs(st.a, st.unused)
    proof = (
        Derivation(TRANSPOSE.lhs, "Aᵀ G = convT(G)")
        .by("definition",
            st.pixels(j) * zsum(st.outputs(o) * st.positions(i) * A[g, o, c, i, j]
                                * grad[b, g, o, i], o, i),
            "unfold Aᵀ G: the rows of column (c, j)", signals=(AtG,))
        .by("definition", st.pixels(j) * scatter, "unfold A: each row scatters its taps",
            signals=(A,))
        .back("division with remainder", in_range(j, reduced_size) * scatter,
              "with a = (n + p + q - d(k - 1) - 1) mod s the transposed size n' is n")
        .back("hypothesis", in_range(j, st.transposed_size) * scatter, "the output padding",
              equation=OUTPUT_PADDING)
        .back("definition", TRANSPOSE.rhs, "the transposed convolution", signals=(convT,))
    )
    return universal(TRANSPOSE, proof)


@THEOREM.evidence
def banded_weight():
    read = st.input_index(i, m1)
    error = st.batches(b) * st.positions(i) * grad[b, g1, o1, i]
    proof = (
        Derivation(CONV_WEIGHT.lhs, "∇w = Bᵀ(G xᵀ)")
        .by("known result", WEIGHT_GRADIENT.rhs,
            "grad-weight: the weight gradient", theorem="grad-weight", claim="weight gradient",
            instance={}, context=lambda e: e)
        .by("definition",
            st.group_box(g1) * st.outputs(o1) * st.inputs(c1) * st.taps(m1)
            * zsum(error * st.pixels(read) * x[b, g1, c1, read], b, i),
            "unfold ∇w", signals=(grad_w,))
        .back("Kronecker delta",
              WEIGHT_BOXES * st.taps(m1)
              * zsum(error * st.pixels(j) * x[b, g1, c1, j] * eq(j, read), b, i, j),
              "name the input position j = s·i + d·m' - p that tap m' of output i reads", var=j)
        .back("definition",
              WEIGHT_BOXES * st.taps(m1) * zsum(st.positions(i) * st.pixels(j)
                                                * GXt[g1, o1, c1, i, j] * eq(j, read), i, j),
              "Σ_b G[b, ·, i] x[b, ·, j] is the entry (i, j) of G xᵀ", signals=(GXt,))
        .back("definition", CONV_WEIGHT.rhs, "summed along the diagonal of tap m'",
              signals=(pushback_GXt,))
    )
    return universal(CONV_WEIGHT, proof)


@THEOREM.evidence
def chain_rule():
    boxes = st.group_box(g) * st.outputs(o) * st.inputs(c) * st.positions(i) * st.pixels(j)
    proof = (
        Derivation(CHAIN.lhs, "Σ M·∂A/∂w")
        .by("differentiate",
            zsum(boxes * M[g, o, c, i, j] * zsum(st.taps(m) * eq(g, g1) * eq(o, o1) * eq(c, c1)
                                                  * eq(m, m1) * eq(j, st.input_index(i, m)), m),
                 g, o, c, i, j),
            "∂A[g, o, c, i, j]/∂w[g', o', c', m'] = Σ_m [m ∈ K][(g, o, c, m) = (g', o', c', m')]"
            "[j = s·i + d·m - p]")
        .by("Kronecker delta",
            zsum(boxes * st.taps(m1) * M[g, o, c, i, j] * eq(g, g1) * eq(o, o1)
                 * eq(c, c1) * eq(j, st.input_index(i, m1)), g, o, c, i, j), "m = m'", var=m,
            value=m1)
        .by("Kronecker delta",
            zsum(boxes.subs(g, g1) * st.taps(m1) * M[g1, o, c, i, j] * eq(o, o1) * eq(c, c1)
                 * eq(j, st.input_index(i, m1)), o, c, i, j), "g = g'", var=g)
        .by("Kronecker delta",
            zsum(boxes.subs({g: g1, o: o1}) * st.taps(m1) * M[g1, o1, c, i, j] * eq(c, c1)
                 * eq(j, st.input_index(i, m1)), c, i, j), "o = o'", var=o)
        .by("Kronecker delta",
            WEIGHT_BOXES * st.taps(m1) * zsum(st.positions(i) * st.pixels(j) * M[g1, o1, c1, i, j]
                                              * eq(j, st.input_index(i, m1)), i, j),
            "c = c'", var=c)
        .back("definition", CHAIN.rhs, "the diagonal sum of tap m'", signals=(pushback_M,))
    )
    return universal(CHAIN, proof)


def _dense_points() -> list[Point]:
    return [Point({R: (3,), T: (2,), B: 2}, 1), Point({R: (2,), T: (2,), B: 1}, 1),
            Point({R: (2, 1), T: (1, 2), B: 2}, 2)]


def _conv_points():
    return conv_points(st, dims=(1,), limit={1: 2})


@THEOREM.evidence
def certificates():
    return [certified(INPUT, _dense_points(), "E_{n-1} = Wᵀ E_n on small matrices"),
            certified(WEIGHTS, _dense_points(), "∇W = E_n Xᵀ on small matrices"),
            certified(CONV_WEIGHT, _conv_points()[:1], "∇w = Bᵀ(G xᵀ) at a grid point")]


@THEOREM.mutant("E_{n-1} = W E_n (the matrix not transposed)")
def not_transposed():
    wrong = Signal("WE", "W E", lambda b_, t_: zsum(in_range(r, R) * W[t_, r] * E[b_, r], r),
                   arity=2)
    claim = Claim("input gradient", INPUT.lhs, DENSE_BOXES * wrong[b1, t1], indices=DENSE_INDICES)
    return certified(claim, [Point({R: (2,), T: (2,), B: 1}, 1)])


@THEOREM.mutant("∇W averaged over the batch instead of summed")
def batch_mean():
    claim = Claim("weight gradient", WEIGHTS.lhs, WEIGHTS.rhs / B, indices=WEIGHTS.indices)
    return certified(claim, [Point({R: (2,), T: (2,), B: 2}, 1)])


@THEOREM.mutant("kernel gradient pushed back along the flipped band (true-convolution taps)")
def flipped_band():
    wrong = pushed_back(GXt, "BtGXt_flip", tap=lambda m_: st.k - 1 - m_)
    claim = Claim("banded weight gradient", CONV_WEIGHT.lhs, WEIGHT_BOXES * wrong[g1, o1, c1, m1],
                  indices=CONV_WEIGHT.indices)
    return certified(claim, [p for p in _conv_points() if max(p.values[st.k]) > 1])


prove = THEOREM.prove
render = THEOREM.render
