"""efficiency-counts: storage and arithmetic of a convolution, its dense and its sparse matrix.

A valid 2-D convolution of an n_h x n_w image with a k_h x k_w kernel (stride s, dilation d,
no padding) has o_h x o_w outputs with n_a = s_a(o_a - 1) + d_a(k_a - 1) + 1 + r_a per axis
(r_a ≥ 0 rows that the floor rule leaves unused).  Its matrix A has the pattern
N[i, j] = Σ_m [m ∈ K][j = s·i + d·m] (A with every weight 1), and N[i, j]² = N[i, j]: two
taps never land on the same entry (d ≥ 1), so N counts the nonzero entries.  Counting the
points of boxes, axis by axis:

    stored floats     convolution  k_h k_w              (the kernel)
                      dense A      o_h o_w n_h n_w
                      sparse A     o_h o_w k_h k_w      (every tap reads inside the input)
    multiply/adds     convolution  o_h o_w (2 k_h k_w - 1)   (k products, k - 1 sums an output)
                      dense A      o_h o_w (2 n_h n_w - 1)
                      sparse A     o_h o_w (2 k_h k_w - 1)   (one product a nonzero, row sums)

The sparse count equals the convolution's because every row of A holds exactly k_h k_w
nonzeros, one per tap.  The notes' table (input 320 x 280, kernel 2 x 1, output 319 x 280) is
the instance: 2 / 319·280·320·280 = 8,003,072,000 > 8e9 / 2·319·280 = 178,640 stored floats,
and 319·280·3 = 267,960 / 319·280·(2·320·280 - 1) = 16,006,054,680 > 16e9 / 267,960
operations.  A layer with G groups has G·C_out/G·C_in/G·k_h k_w weights and C_out biases:
10 filters 5 x 5 x 3 with biases have 10·(5·5·3 + 1) = 760 parameters.

The notes count the values of the sparse form only (a CSR matrix also stores nnz column
indices and o_h o_w + 1 row pointers), and their "w x h x c_input x c_output" parameter count
of a convolution leaves out the biases and the division of the channels by the groups.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Theorem, certified, eq, in_range, scalar,
                                universal, zsum)
from convproof.symbolic import rules_counting  # noqa: F401  (registers "count an interval")
from convproof.symbolic.language import product
from convproof.symbolic.operators import Setting, c, g, o
from convproof.symbolic.operators_matrix import Plane

pl = Plane()
i, j, m = pl.i, pl.j, pl.m
m2 = scalar("m'_h m'_w")
N = pl.hits
rows, columns, taps = pl.positions(), pl.pixels(), pl.taps()
o_count, n_count, k_count = product(pl.o), product(pl.n), product(pl.k)
reads = pl.reads(i, m)
lands = product(eq(ja, read) for ja, read in zip(j, reads))
inside = product(in_range(read, n) for read, n in zip(reads, pl.n))
inside_valid = product(in_range(read, h.rhs) for read, h in zip(reads, pl.valid))
st = Setting()  # the channel and group sizes of the layer

THEOREM = Theorem(
    "efficiency-counts", "Storage and operations: convolution, dense and sparse matrix",
    r"\text{stored: } k,\ o\,n,\ o\,k;\qquad \text{multiply/adds: } o(2k-1),\ o(2n-1),\ o(2k-1)"
    r"\quad\text{(a valid convolution)}",
    notes=("The notes' table counts the floats the sparse matrix stores (178,640), as its "
           "row says; its memory is more: a CSR matrix also stores 178,640 column indices "
           "and 319·280 + 1 row pointers.",
           "The parameter count w × h × c_input × c_output leaves out the c_output biases and, "
           "with groups, is divided by the group count: G·(C_out/G)·(C_in/G)·k_h·k_w + C_out.",
           "The caption of the notes' Figure 11 counts '23 × 28 = 784' pixels: the digit is "
           "28 × 28 = 784 (23 · 28 = 644)."),
)


STORED = {
    "convolution": zsum(taps, *m),
    "dense": zsum(rows * columns, *i, *j),
    "sparse": zsum(rows * columns * N[(*i, *j)], *i, *j),
}
OPERATIONS = {
    "convolution": zsum(rows * (2 * zsum(taps, *m) - 1), *i),
    "dense": zsum(rows * (2 * zsum(columns, *j) - 1), *i),
    "sparse": zsum(rows * (2 * zsum(columns * N[(*i, *j)], *j) - 1), *i),
}
FORMULAS = {
    ("stored", "convolution"): k_count, ("stored", "dense"): o_count * n_count,
    ("stored", "sparse"): o_count * k_count,
    ("operations", "convolution"): o_count * (2 * k_count - 1),
    ("operations", "dense"): o_count * (2 * n_count - 1),
    ("operations", "sparse"): o_count * (2 * k_count - 1),
}
SUMS = {("stored", form): expr for form, expr in STORED.items()}
SUMS.update({("operations", form): expr for form, expr in OPERATIONS.items()})
PARAMETERS = (zsum(st.group_box(g) * st.outputs(o) * st.inputs(c) * taps, g, o, c, *m)
              + zsum(st.group_box(g) * st.outputs(o), g, o))
PARAMETER_COUNT = st.groups * st.c_out * st.c_in * k_count + st.groups * st.c_out

COUNTS = {key: THEOREM.export(Claim(
    f"{key[0]}: {key[1]}", SUMS[key], FORMULAS[key],
    hypotheses=pl.valid if key[1] == "sparse" else (),
    text=f"{key[0]} floats" if key[0] == "stored" else "multiplications and additions",
)) for key in SUMS}
LAYER = THEOREM.export(Claim(
    "parameters", PARAMETERS, PARAMETER_COUNT,
    text="weights of every group and output channel, plus one bias per output channel",
))
ONE_PER_ENTRY = THEOREM.export(Claim(
    "one tap per entry", N[(*i, *j)] ** 2, N[(*i, *j)],
    text="N is 0 or 1: distinct taps of a row land in distinct columns",
))

# The notes' table: input 320 x 280, kernel 2 x 1, output 319 x 280 (unit stride, no padding).
TABLE_SIZES = tuple(sympy.Eq(symbol, value, evaluate=False) for symbol, value in (
    (pl.n[0], 320), (pl.n[1], 280), (pl.k[0], 2), (pl.k[1], 1), (pl.o[0], 319), (pl.o[1], 280)))
TABLE = {("stored", "convolution"): 2, ("stored", "dense"): 8_003_072_000,
         ("stored", "sparse"): 178_640, ("operations", "convolution"): 267_960,
         ("operations", "dense"): 16_006_054_680, ("operations", "sparse"): 267_960}
TABLE_CLAIMS = {key: THEOREM.export(Claim(
    f"table {key[0]}: {key[1]}", FORMULAS[key], sympy.Integer(value), hypotheses=TABLE_SIZES,
    text=f"the notes' table, {key[0]} for the {key[1]} form: {value:,}",
)) for key, value in TABLE.items()}
LAYER_760 = THEOREM.export(Claim(
    "760 parameters", PARAMETER_COUNT, sympy.Integer(760),
    hypotheses=tuple(sympy.Eq(symbol, value, evaluate=False) for symbol, value in (
        (st.groups, 1), (st.c_out, 10), (st.c_in, 3), (pl.k[0], 5), (pl.k[1], 5))),
    text="10 filters 5 x 5 x 3 with a bias each: 10·(5·5·3 + 1) = 760",
))


# --------------------------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------------------------

def _pattern_to_taps(start, context, title: str, conclusion: str) -> Derivation:
    """context(Σ_j [j ∈ N] N[i, j]) = context(Σ_m [m ∈ K] 1): each row holds one entry a tap."""
    first_read = in_range(reads[0], pl.n[0])
    valid_first = in_range(reads[0], pl.valid[0].rhs) * in_range(reads[1], pl.n[1])
    return (
        Derivation(start, title)
        .by("definition", context(zsum(columns * taps * lands, *j, *m)),
            "unfold the pattern: tap m of row i lands on column s·i + d·m", signals=(N,))
        .by("Kronecker delta",
            context(zsum(first_read * in_range(j[1], pl.n[1]) * taps * eq(j[1], reads[1]),
                         j[1], *m)),
            "the column of the tap along the first axis", var=j[0])
        .by("Kronecker delta", context(zsum(taps * inside, *m)),
            "and along the second: each tap lands on one pixel, inside the image or not",
            var=j[1])
        .by("hypothesis", context(zsum(taps * valid_first, *m)), "the size of the first axis",
            equation=pl.valid[0])
        .by("hypothesis", context(zsum(taps * inside_valid, *m)), "and of the second",
            equation=pl.valid[1])
        .by("implied bracket", context(zsum(taps, *m)),
            "every tap reads inside: 0 ≤ s·i + d·m ≤ s(o - 1) + d(k - 1) ≤ n - 1; " + conclusion)
    )


def _counted(proof: Derivation, variables: tuple, result, why: str) -> Derivation:
    return proof.by("count an interval", result, why, var=tuple(variables))


def _derivation(key) -> Derivation:
    kind, form = key
    start, formula = SUMS[key], FORMULAS[key]
    title = f"{kind} for the {form} form"
    if key == ("stored", "convolution"):
        return _counted(Derivation(start, title), m, formula, "k_h·k_w taps")
    if key == ("stored", "dense"):
        return _counted(Derivation(start, title), (*i, *j), formula, "every row meets every column")
    if key == ("stored", "sparse"):
        proof = _pattern_to_taps(start, lambda inner: zsum(rows * inner, *i),
                                 "the nonzeros of A, counted", "one nonzero a tap")
        return _counted(proof, (*i, *m), formula, "o_h·o_w rows of k_h·k_w taps")
    if form == "dense":
        return _counted(Derivation(start, title), (*j, *i), formula,
                        "n products and n - 1 sums for each of the o rows")
    if form == "sparse":
        proof = _pattern_to_taps(start, lambda inner: zsum(rows * (2 * inner - 1), *i),
                                 "a sparse product: one multiply a nonzero, row sums",
                                 "this is the convolution's count")
    else:
        proof = Derivation(start, title)
    return _counted(proof, (*m, *i), formula, "k products and k - 1 sums for each of the o outputs")


@THEOREM.evidence
def counts():
    return [universal(COUNTS[key], _derivation(key)) for key in SUMS]


@THEOREM.evidence
def parameters():
    proof = _counted(Derivation(LAYER.lhs, "the parameters of a layer"), (*m, c, o, g),
                     LAYER.rhs, "per group C_out/G filters of C_in/G·k_h·k_w weights; C_out biases")
    return universal(LAYER, proof)


@THEOREM.evidence
def one_tap_per_entry():
    other = pl.reads(i, m2)
    pattern2 = zsum(pl.taps(m2) * product(eq(ja, read) for ja, read in zip(j, other)), *m2)
    same_column = product(eq(ja, read) for ja, read in zip(j, reads))
    gaps = [eq(d * ma, d * mb) for d, ma, mb in zip(pl.d, m, m2)]
    both = taps * pl.taps(m2) * same_column
    proof = (
        Derivation(ONE_PER_ENTRY.lhs, "two taps never share an entry")
        .by("definition", zsum(taps * lands, *m) * pattern2, "unfold both factors", signals=(N,))
        .by("use the delta", zsum(both * gaps[0] * eq(j[1], other[1]), *m, *m2),
            "both taps land on column j_h", var=j[0])
        .by("use the delta", zsum(both * gaps[0] * gaps[1], *m, *m2),
            "and on column j_w", var=j[1])
        .by("cancel a positive factor", zsum(both * eq(m[0], m2[0]) * gaps[1], *m, *m2),
            "d_h ≥ 1: d_h·m_h = d_h·m'_h says m_h = m'_h", factor=pl.d[0])
        .by("cancel a positive factor", zsum(both * eq(m[0], m2[0]) * eq(m[1], m2[1]), *m, *m2),
            "and likewise along w", factor=pl.d[1])
        .by("Kronecker delta", zsum(taps * same_column * eq(m[1], m2[1]) * pl.taps((m[0], m2[1])),
                                    *m, m2[1]), "m'_h = m_h", var=m2[0])
        .by("Kronecker delta", zsum(taps * same_column, *m), "m'_w = m_w", var=m2[1])
        .back("definition", ONE_PER_ENTRY.rhs, "fold the pattern", signals=(N,))
    )
    return universal(ONE_PER_ENTRY, proof)


def _at_sizes(claim: Claim, title: str) -> Derivation:
    """The claim's formula at its sizes: one hypothesis (size = value) substituted a step."""
    proof, current = Derivation(claim.lhs, title), claim.lhs
    for equation in claim.hypotheses:
        if equation.lhs in current.free_symbols:
            current = current.subs(equation.lhs, equation.rhs)
            proof.by("hypothesis", current, f"{equation.lhs} = {equation.rhs}", equation=equation)
    return proof


@THEOREM.evidence
def notes_table():
    return [universal(TABLE_CLAIMS[key],
                      _at_sizes(TABLE_CLAIMS[key], f"the notes' sizes: {key[0]}, {key[1]}"))
            for key in TABLE]


@THEOREM.evidence
def layer_760():
    return universal(LAYER_760, _at_sizes(LAYER_760, "10 filters 5 x 5 x 3 with biases"))


def _plane_point(o_: tuple, k_: tuple, s_: tuple, d_: tuple, r_: tuple, channels=(1, 2, 3)):
    """A point of the plane's sizes; the input sizes follow from the valid-size relation."""
    values = {}
    for sizes, symbols in ((o_, pl.o), (k_, pl.k), (s_, pl.s), (d_, pl.d), (r_, pl.r)):
        values.update(zip(symbols, sizes))
    for h in pl.valid:
        values[h.lhs] = int(h.rhs.subs(values))
    values.update(zip((st.groups, st.c_out, st.c_in), channels))
    return Point(values, 2)  # the plane: its sizes are scalars, one per axis


POINTS = [_plane_point((3, 2), (2, 3), (1, 2), (2, 1), (0, 1)),
          _plane_point((1, 4), (3, 1), (3, 1), (1, 1), (2, 0), (2, 1, 2))]


@THEOREM.evidence
def certificates():
    claims = [*COUNTS.values(), LAYER]
    return [certified(claim, POINTS, f"{claim.name}, by enumeration") for claim in claims]


@THEOREM.mutant("a convolution needs 2k operations an output (k products and k sums)")
def one_addition_too_many():
    key = ("operations", "convolution")
    return certified(Claim(COUNTS[key].name, SUMS[key], 2 * o_count * k_count), POINTS)


@THEOREM.mutant("o·k nonzeros also when the output keeps the input's size")
def same_size_output():
    key = ("stored", "sparse")
    point = _plane_point((3, 2), (3, 1), (1, 1), (1, 1), (0, 0))
    point.values[pl.n[0]] = 3  # output 3 from input 3: the outer taps would read the padding
    return certified(Claim(COUNTS[key].name, SUMS[key], FORMULAS[key]), [point])


@THEOREM.mutant("parameters of a layer without the biases")
def no_biases():
    return certified(Claim(LAYER.name, PARAMETERS, st.groups * st.c_out * st.c_in * k_count),
                     POINTS)


prove = THEOREM.prove
render = THEOREM.render
