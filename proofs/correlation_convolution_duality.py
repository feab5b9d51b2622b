"""correlation-convolution-duality: the backward-data pass of a correlation is a convolution.

Let U = pad_{P,P'}(up_s G) be the error up-sampled by the stride and padded by P = d(k - 1) - p
before and P' = d(k - 1) - q + a after (grad-input-flip), and wᵀ[g, c, o, m] = w[g, o, c, m]
the kernel with its channel axes swapped and its taps in place.  With unit stride and
dilation d,

    forward corr(x, w)  ⟹  ∂L/∂x[j] = Σ_o Σ_m wᵀ[g, c, o, m]·U[j + d(k - 1 - m)]   (a convolution)
    forward conv(x, w)  ⟹  ∂L/∂x[j] = Σ_o Σ_m wᵀ[g, c, o, m]·U[j + d·m]            (a correlation)

for every stride, dilation, zero padding and group count, with a = (n + p + q - d(k-1) - 1) mod s.
The first sum is the textbook convolution (U ∗ wᵀ)[t] = Σ_m wᵀ[m] U[t - d·m] read at
t = j + d(k - 1), as in flip-equivalence.  Why: grad-input-flip writes the backward of a
correlation as a correlation with the flipped kernel, and moving the flip from the kernel to
the read position makes it a convolution; a forward convolution reads tap m at
s·i + d(k - 1 - m) - p, so its error is gathered without a flip.  Both identities are also
checked entry by entry at concrete sizes in jacobian-crosscheck.

The notes' "if cross-correlation was used in the forward pass only the channel dimension needs
to be flipped" is loose: the channel axes are swapped (transposed), not reversed, and the
spatial flip disappears only because the backward pass is then a true convolution, which flips
by itself; computed with a correlation, the backward still needs the spatially flipped kernel.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, in_range, load,
                                multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import (Setting, b, c, convolution, g, i, j, m, o,
                                          output_inner)
from convproof.proofs import grad_input_flip as flip_proof

st = Setting()
x, w, grad = Signal("x"), Signal("w"), Signal("G")
b1, g1, c1 = scalar("b' g' c'")
j1 = multi("j'")
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)
GRADIENT = load("grad-input-flip").claims["gradient"]
padded = flip_proof.padded  # U = pad_{P,P'}(up_s G)
swapped = Signal("swapT", r"w^{T}", lambda g_, c_, o_, m_: st.taps(m_) * w[g_, o_, c_, m_], arity=4)


def unit_stride_pass(kernel: Signal, tap, name: str, latex: str) -> Signal:
    """r[b, g, c, j] = [j ∈ N'] Σ_o Σ_m [o ∈ C_out][m ∈ K] v[g, c, o, m]·U[b, g, o, j + d·tap(m)]:
    tap(m) = m is a correlation of U with v, tap(m) = k - 1 - m a true convolution."""
    return Signal(name, latex, lambda b_, g_, c_, j_: in_range(j_, st.transposed_size) * zsum(
        st.outputs(o) * st.taps(m) * kernel[g_, c_, o, m] * padded[b_, g_, o, j_ + st.d * tap(m)],
        o, m), arity=4)


convolved = unit_stride_pass(swapped, lambda m_: st.k - 1 - m_, "conv_swapT",
                             r"\operatorname{conv}_{1,d}(U, w^{T})")
correlated = unit_stride_pass(swapped, lambda m_: m_, "corr_swapT",
                              r"\operatorname{corr}_{1,d}(U, w^{T})")
conv = convolution(x, w, st)
conv_loss = output_inner(lambda *ix: conv[ix], grad, st)

THEOREM = Theorem(
    "correlation-convolution-duality",
    "The backward pass of a correlation is a convolution, and vice versa",
    r"\frac{\partial \langle \operatorname{corr}(x, w), G\rangle}{\partial x} = "
    r"\operatorname{conv}_{1,d}(U, w^{T}),\quad \frac{\partial \langle \operatorname{conv}(x, w),"
    r" G\rangle}{\partial x} = \operatorname{corr}_{1,d}(U, w^{T})"
    r"\quad(a = (n + p + q - d(k-1) - 1) \bmod s)",
    depends=("grad-input-flip",),
    notes=("The notes say that with cross-correlation in the forward pass 'only the channel "
           "dimension needs to be flipped': the in/out channel axes are swapped, not reversed, "
           "and the spatial flip is dropped only when the backward pass is computed as a true "
           "convolution; computed as a correlation it still needs the flipped kernel.",),
)

INDICES = {b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1), j1: st.pixels(j1)}
BOXES = st.batches(b1) * st.group_box(g1) * st.inputs(c1) * st.pixels(j1)
CORRELATION = THEOREM.export(Claim(
    "correlation forward", GRADIENT.lhs, BOXES * convolved[b1, g1, c1, j1],
    hypotheses=(OUTPUT_PADDING,), indices=INDICES,
    text="forward correlation: the input gradient is a true convolution with wᵀ",
))
CONVOLUTION = THEOREM.export(Claim(
    "convolution forward", Partial(conv_loss, x[b1, g1, c1, j1]),
    BOXES * correlated[b1, g1, c1, j1],
    hypotheses=(OUTPUT_PADDING,), indices=INDICES,
    text="forward true convolution: the input gradient is a correlation with wᵀ",
))


@THEOREM.evidence
def correlation_forward():
    box = in_range(j1, st.transposed_size)
    flipped_taps = st.outputs(o) * st.taps(m) * w[g1, o, c1, st.k - 1 - m]
    proof = (
        Derivation(CORRELATION.lhs, "the backward of a correlation")
        .by("known result", GRADIENT.rhs, "grad-input-flip: the gradient is convT(G)",
            theorem="grad-input-flip", claim="gradient", instance={}, context=lambda e: e)
        .by("known result", BOXES * flip_proof.flipped_corr[b1, g1, c1, j1],
            "grad-input-flip: convT(G) is a correlation of U with the flipped kernel",
            theorem="grad-input-flip", claim="flipped correlation",
            instance={b: b1, g: g1, c: c1, j: j1}, context=lambda e: BOXES * e)
        .by("definition",
            BOXES * box * zsum(st.outputs(o) * st.taps(m) * flip_proof.flip_swap[g1, c1, o, m]
                               * padded[b1, g1, o, j1 + st.d * m], o, m),
            "unfold the correlation", signals=(flip_proof.flipped_corr,))
        .by("definition",
            BOXES * box * zsum(flipped_taps * padded[b1, g1, o, j1 + st.d * m], o, m),
            "the flipped, channel-swapped kernel: w[g, o, c, k - 1 - m]",
            signals=(flip_proof.flip_swap,))
        .by("change of index",
            BOXES * box * zsum(st.outputs(o) * st.taps(m) * w[g1, o, c1, m]
                               * padded[b1, g1, o, j1 + st.d * (st.k - 1 - m)], o, m),
            "m -> k - 1 - m: the flip moves from the kernel to the read position",
            var=m, to=st.k - 1 - m)
        .back("definition",
              BOXES * box * zsum(st.outputs(o) * st.taps(m) * swapped[g1, c1, o, m]
                                 * padded[b1, g1, o, j1 + st.d * (st.k - 1 - m)], o, m),
              "w[g, o, c, m] is wᵀ[g, c, o, m]: channels swapped, taps in place",
              signals=(swapped,))
        .back("definition", CORRELATION.rhs, "a unit-stride true convolution of U with wᵀ",
              signals=(convolved,))
    )
    return universal(CORRELATION, proof)


@THEOREM.evidence
def convolution_forward():
    read = st.input_index(i, st.k - 1 - m)
    window = st.outputs(o) * st.positions(i) * st.taps(m)
    terms = w[g1, o, c1, m] * grad[b1, g1, o, i]
    reduced_size = st.transposed_size.subs(st.a, st.unused)
    gathered = zsum(window * terms * eq(j1, read), o, i, m)
    upsampled = zsum(st.outputs(o) * st.taps(m) * w[g1, o, c1, m]
                     * flip_proof.up[b1, g1, o, j1 + st.d * m - flip_proof.before], o, m)
    proof = (
        flip_proof.through_the_deltas(
            Derivation(CONVOLUTION.lhs, "the backward of a true convolution"), read,
            "tap m of output i reads x[s·i + d(k - 1 - m) - p]: the delta of all four indices",
            "under the delta the read position is j'")
        .by("linearity", BOXES * gathered, "the box of j' leaves the sum")
        .back("division with remainder", BOXES * in_range(j1, reduced_size) * gathered,
              "with a = (n + p + q - d(k - 1) - 1) mod s the transposed size n' is n")
        .back("hypothesis", BOXES * in_range(j1, st.transposed_size) * gathered,
              "the output padding", equation=OUTPUT_PADDING)
        .back("definition", BOXES * in_range(j1, st.transposed_size) * upsampled,
              "s·i = j' + d·m - (d(k - 1) - p): error i sits at j' + d·m - P in up_s(G)",
              signals=(flip_proof.up,))
        .back("definition",
              BOXES * in_range(j1, st.transposed_size) * zsum(
                  st.outputs(o) * st.taps(m) * swapped[g1, c1, o, m]
                  * padded[b1, g1, o, j1 + st.d * m], o, m),
              "padded by P, with the channel-swapped kernel", signals=(padded, swapped))
        .back("definition", CONVOLUTION.rhs, "a unit-stride correlation of U with wᵀ",
              signals=(correlated,))
    )
    return universal(CONVOLUTION, proof)


def _points():
    return conv_points(st, dims=(1,), limit={1: 3})


@THEOREM.mutant("backward of a correlation as a convolution with the kernel flipped as well")
def flipped_twice():
    wrong = unit_stride_pass(flip_proof.flip_swap, lambda m_: st.k - 1 - m_, "conv_flipT", "r'")
    claim = Claim("correlation forward", CORRELATION.lhs, BOXES * wrong[b1, g1, c1, j1],
                  hypotheses=CORRELATION.hypotheses, indices=INDICES)
    return certified(claim, [p for p in _points() if max(p.values[st.k]) > 1][:1])


@THEOREM.mutant("backward of a true convolution claimed to be a convolution again")
def convolution_again():
    claim = Claim("convolution forward", CONVOLUTION.lhs, BOXES * convolved[b1, g1, c1, j1],
                  hypotheses=CONVOLUTION.hypotheses, indices=INDICES)
    return certified(claim, [p for p in _points() if max(p.values[st.k]) > 1][:1])


@THEOREM.mutant("channel axes kept (w[g, c, o, m] instead of wᵀ)")
def channels_kept():
    kept = Signal("w_kept", "w'", lambda g_, c_, o_, m_: st.taps(m_) * w[g_, c_, o_, m_], arity=4)
    wrong = unit_stride_pass(kept, lambda m_: st.k - 1 - m_, "conv_kept", "r'")
    claim = Claim("correlation forward", CORRELATION.lhs, BOXES * wrong[b1, g1, c1, j1],
                  hypotheses=CORRELATION.hypotheses, indices=INDICES)
    points = [p for p in conv_points(st) if p.values[st.c_in] != p.values[st.c_out]]
    return certified(claim, points[:1])


prove = THEOREM.prove
render = THEOREM.render
