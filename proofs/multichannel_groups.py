"""multichannel-groups: the matrix of a multi-channel conv is a block matrix of banded blocks.

Order the rows of the matrix by (batch, group, output channel, position) and the columns by
(batch, group, input channel, pixel); the flat channels are g·C_out/G + o and g·C_in/G + c.
Then, with A the banded matrix of banded-matrix (one banded block A[g, o, c] per pair of
channels of a group):

    corr(x)[b, g, o, ·] = Σ_c [c ∈ C_in] A[g, o, c] x[b, g, c, ·]          (blocks summed over c)

    ∂corr(x)[b, g, o, i]/∂x[b', g', c', j'] = [b = b'][g = g'][c' ∈ C_in][j' ∈ N]·A[g, o, c', i, j']

The Jacobian is the matrix of the (linear) conv: it vanishes between different samples and
between different groups, so the matrix is block-diagonal with one block per (sample, group),
and each such block is a C_out/G x C_in/G array of banded blocks.  Depthwise convolution,
C_in/G = C_out/G = 1, is the extreme case: the only nonzero block of group g is (o, c') =
(0, 0), one banded block per channel on the diagonal:

    [o ∈ C_out]·∂corr(x)[b, g, o, i]/∂x[b', g', c', j']
        = [o = 0][c' = 0][b = b'][g = g'][j' ∈ N]·A[g, 0, 0, i, j'].
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Signal, Theorem, certified, eq, le, load,
                                multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import Setting, b, c, g, i, j, m, o
from convproof.proofs.banded_matrix import corr, x

st = Setting()
A = load("banded-matrix").signals["A"]
w = Signal("w")
b1, g1, c1 = scalar("b' g' c'")
j1 = multi("j'")
block = Signal("P", r"A_{o,c} x_c", lambda b_, g_, o_, c_, i_: zsum(
    st.pixels(j) * A[g_, o_, c_, i_, j] * x[b_, g_, c_, j], j), arity=5)
ONE_CHANNEL = (sympy.Eq(st.c_in, 1, evaluate=False), sympy.Eq(st.c_out, 1, evaluate=False))

THEOREM = Theorem(
    "multichannel-groups", "Channels and groups as a block matrix of banded blocks",
    r"\frac{\partial \operatorname{corr}(x)_{b,g,o,i}}{\partial x_{b',g',c',j'}}"
    r" = [b = b'][g = g'][c' \in C_{in}][j' \in N]\, A_{g,o,c',i,j'}",
    depends=("banded-matrix",),
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
ENTRY = {**OUTPUT, b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1), j1: st.pixels(j1)}
BLOCKS = THEOREM.export(Claim(
    "blocks", corr[b, g, o, i], zsum(st.inputs(c) * block[b, g, o, c, i], c), indices=OUTPUT,
    text="output channel o is the sum over input channels c of the banded block A[o, c] times x_c",
))
jacobian = Partial(corr[b, g, o, i], x[b1, g1, c1, j1])
block_diagonal = eq(b, b1) * eq(g, g1) * st.inputs(c1) * st.pixels(j1)
JACOBIAN = THEOREM.export(Claim(
    "block diagonal", jacobian, block_diagonal * A[g, o, c1, i, j1], indices=ENTRY,
    text="the matrix entry between (b, g, o, i) and (b', g', c', j'): zero across samples and "
         "groups, the banded block A[g, o, c'] inside a group",
))
DEPTHWISE = THEOREM.export(Claim(
    "depthwise", st.outputs(o) * jacobian,
    eq(o, 0) * eq(c1, 0) * eq(b, b1) * eq(g, g1) * st.pixels(j1) * A[g, 0, 0, i, j1],
    hypotheses=ONE_CHANNEL, indices=ENTRY,
    text="one channel per group: a single banded block per channel, on the diagonal",
))


@THEOREM.evidence
def blocks():
    proof = (
        Derivation(BLOCKS.lhs, "output channels sum the per-channel blocks")
        .by("known result",
            zsum(st.inputs(c) * st.pixels(j) * A[g, o, c, i, j] * x[b, g, c, j], c, j),
            "banded-matrix: corr(x) = A x", theorem="banded-matrix", claim="matrix", instance={},
            context=lambda entry: entry)
        .back("definition", BLOCKS.rhs,
              "the inner sum over pixels is the block product A[o, c] x_c", signals=(block,))
    )
    return universal(BLOCKS, proof)


def _jacobian(prefix) -> Derivation:
    """prefix·∂corr(x)[b, g, o, i]/∂x[b', g', c', j'] = prefix·[b = b'][g = g'][c' ∈ C][j' ∈ N]·A
    by differentiation."""
    read = st.input_index(i, m)
    tap = st.taps(m) * w[g, o, c1, m]
    return (
        Derivation(prefix * jacobian, "the matrix entry of the multi-channel conv")
        .by("differentiate",
            prefix * zsum(st.inputs(c) * st.taps(m) * w[g, o, c, m] * st.pixels(read)
                          * eq(b, b1) * eq(g, g1) * eq(c, c1) * eq(read, j1), c, m),
            "∂x[b, g, c, s·i + d·m - p]/∂x[b', g', c', j'] is the delta of all four indices")
        .by("Kronecker delta",
            prefix * st.inputs(c1) * eq(b, b1) * eq(g, g1)
            * zsum(tap * st.pixels(read) * eq(read, j1), m),
            "only the input channel c = c' remains", var=c)
        .back("use the delta",
              prefix * st.inputs(c1) * eq(b, b1) * eq(g, g1)
              * zsum(tap * st.pixels(j1) * eq(read, j1), m),
              "under [j' = s·i + d·m - p] the box of the read position is the box of j'", var=j1)
        .back("definition", prefix * block_diagonal * A[g, o, c1, i, j1],
              "the sum over taps is the banded block A[g, o, c', i, j']", signals=(A,))
    )


@THEOREM.evidence
def block_diagonal_matrix():
    return universal(JACOBIAN, _jacobian(sympy.S.One))


def single(channel):
    """[0 ≤ channel ≤ 0]: the box of a group with one channel."""
    return le(0, channel) * le(channel, 0)


@THEOREM.evidence
def depthwise():
    one_in, one_out = ONE_CHANNEL
    entry = eq(b, b1) * eq(g, g1) * st.pixels(j1)
    proof = _jacobian(st.outputs(o))
    proof.title = "depthwise: one banded block per channel"
    (proof
     .by("hypothesis", st.outputs(o) * entry * single(c1) * A[g, o, c1, i, j1],
         "one input channel per group", equation=one_in)
     .by("antisymmetry", st.outputs(o) * entry * eq(c1, 0) * A[g, o, c1, i, j1],
         "0 ≤ c' ≤ 0 says c' = 0")
     .by("hypothesis", single(o) * entry * eq(c1, 0) * A[g, o, c1, i, j1],
         "one output channel per group", equation=one_out)
     .by("antisymmetry", eq(o, 0) * eq(c1, 0) * entry * A[g, o, c1, i, j1],
         "0 ≤ o ≤ 0 says o = 0")
     .by("use the delta", eq(o, 0) * eq(c1, 0) * entry * A[g, 0, c1, i, j1], "o = 0", var=o)
     .by("use the delta", DEPTHWISE.rhs, "c' = 0", var=c1))
    return universal(DEPTHWISE, proof)


def _depthwise_points(limit: dict, groups: int) -> list:
    """Grid points with one input and one output channel per group."""
    points = conv_points(st, dims=tuple(limit), limit=limit)
    for point in points:
        point.values[st.c_in] = point.values[st.c_out] = point.label["C_i"] = point.label["C_o"] = 1
        point.values[st.groups] = point.label["G"] = groups
    return points


@THEOREM.evidence
def certificates():
    return [certified(BLOCKS, conv_points(st, dims=(1,), limit={1: 4}),
                      "blocks summed over channels, exact on a 1-D grid"),
            certified(JACOBIAN, conv_points(st, dims=(1,), limit={1: 6}),
                      "the block-diagonal matrix, exact on a 1-D grid"),
            certified(DEPTHWISE, _depthwise_points({1: 3}, 3),
                      "depthwise, three groups of one channel")]


@THEOREM.mutant("groups coupled: the matrix is not block-diagonal across groups")
def groups_coupled():
    claim = Claim("block diagonal", jacobian, eq(b, b1) * st.inputs(c1) * st.pixels(j1)
                  * A[g, o, c1, i, j1], indices=ENTRY)
    return certified(claim, [p for p in conv_points(st, dims=(1,)) if p.values[st.groups] > 1])


@THEOREM.mutant("blocks with the channel axes swapped (A[c, o] instead of A[o, c])")
def channels_swapped():
    swapped = Signal("P_swap", "P'", lambda b_, g_, o_, c_, i_: zsum(
        st.pixels(j) * A[g_, c_, o_, i_, j] * x[b_, g_, c_, j], j), arity=5)
    claim = Claim("blocks", corr[b, g, o, i], zsum(st.inputs(c) * swapped[b, g, o, c, i], c),
                  indices=OUTPUT)
    return certified(claim, conv_points(st, dims=(1,), limit={1: 4}))


@THEOREM.mutant("depthwise blocks shared by every channel (A[0, 0, 0] for all g)")
def shared_depthwise():
    claim = Claim("depthwise", DEPTHWISE.lhs,
                  eq(o, 0) * eq(c1, 0) * eq(b, b1) * eq(g, g1) * st.pixels(j1) * A[0, 0, 0, i, j1],
                  hypotheses=ONE_CHANNEL, indices=ENTRY)
    return certified(claim, _depthwise_points({1: 2}, 2))


prove = THEOREM.prove
render = THEOREM.render
