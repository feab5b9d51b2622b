"""separable-kernels: rank-1 kernels are two 1-D passes; emboss and sharpen are not rank 1.

A 2-D kernel K is separable when K = u ⊗ v, K[a, b] = u[a]·v[b] (rank 1).  Then for every
image x (zero extended: x̃[j₁, j₂] = [j ∈ [0, n₁) × [0, n₂)] x[j₁, j₂]) and padding (p₁, p₂)

    corr₂(x, u ⊗ v)[i₁, i₂] = Σ_{m₁, m₂} u[m₁] v[m₂] x̃[i₁ + m₁ - p₁, i₂ + m₂ - p₂]
                            = cols(rows(x, u), v)[i₁, i₂]:

a 1-D correlation with u down every column, then one with v along every row: k₁ + k₂
multiplications per pixel instead of k₁·k₂ (6 instead of 9 for 3×3).  The named 3×3 kernels of
the notes factor as (u along the rows axis, v along the columns axis):

    vertical   [[1,0,-1]]×3            = (1, 1, 1) ⊗ (1, 0, -1)
    horizontal                         = (1, 0, -1) ⊗ (1, 1, 1)
    Sobel x    [[-1,0,1],[-2,0,2],...] = (1, 2, 1) ⊗ (-1, 0, 1)
    Sobel y    (the transpose)         = (-1, 0, 1) ⊗ (1, 2, 1)
    Scharr x   [[-3,0,3],[-10,0,10],.] = (3, 10, 3) ⊗ (-1, 0, 1)
    Scharr y   (the transpose)         = (-1, 0, 1) ⊗ (3, 10, 3)
    edge       [[1,0,-1],[2,0,-2],...] = (1, 2, 1) ⊗ (1, 0, -1)
    box blur   1/9·ones                = (1, 1, 1)/3 ⊗ (1, 1, 1)/3
    Gaussian   1/16·[[1,2,1],[2,4,2],[1,2,1]] = (1, 2, 1)/4 ⊗ (1, 2, 1)/4.

Every 2×2 minor of an outer product vanishes (K[a,b]K[c,d] = u_a v_b u_c v_d = K[a,d]K[c,b]),
so one nonzero minor refutes separability.  Emboss [[-2,-1,0],[-1,1,1],[0,1,2]] has det = -4:
rank 3.  Sharpen [[0,-1,0],[-1,5,-1],[0,-1,0]] has the minor 0·5 - (-1)(-1) = -1 and equal first
and last rows: rank 2, the sum of two separable kernels (0, 1, 0) ⊗ (-1, 5, -1) +
(1, 0, 1) ⊗ (0, -1, 0), i.e. two pairs of 1-D passes.

The notes' layout is loose: the Gaussian's factor 1/16 prints as "6" and the box blur's 1/9 is
split over the rows; sharpen stands beside the "Edge Detection" heading, but it is the sharpen
kernel (identity plus a Laplacian), and it is not separable.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import sympy
from sympy.combinatorics import Permutation

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, refuted, scalar, universal, zsum)

n1, n2, k1, k2 = scalar("n_1 n_2 k_1 k_2", positive=True)
p1, p2 = scalar("p_1 p_2", nonnegative=True)
i1, i2, j2, m1, m2, a, b_, c_, d_ = scalar("i_1 i_2 j_2 m_1 m_2 a b c d")
image = Signal("x")


def padded(j1_: sympy.Expr, j2_: sympy.Expr) -> sympy.Expr:
    """x̃[j₁, j₂] = [0 ≤ j₁ < n₁][0 ≤ j₂ < n₂] x[j₁, j₂]."""
    return in_range(j1_, n1) * in_range(j2_, n2) * image[j1_, j2_]


def correlation_2d(kernel: Signal, name: str) -> Signal:
    """corr₂(x, K)[i₁, i₂] = Σ_{m₁, m₂} [m ∈ K] K[m₁, m₂] x̃[i₁ + m₁ - p₁, i₂ + m₂ - p₂]."""
    return Signal(name, rf"\operatorname{{corr}}_2(x, {kernel.latex})",
                  lambda i1_, i2_: zsum(in_range(m1, k1) * in_range(m2, k2) * kernel[m1, m2]
                                        * padded(i1_ + m1 - p1, i2_ + m2 - p2), m1, m2), arity=2)


def rows_pass(u: Signal, name: str) -> Signal:
    """rows(x, u)[i₁, j₂] = Σ_{m₁} [m₁ ∈ K₁] u[m₁] x̃[i₁ + m₁ - p₁, j₂]: u down every column."""
    return Signal(name, rf"\operatorname{{rows}}(x, {u.latex})",
                  lambda i1_, j2_: zsum(in_range(m1, k1) * u[m1] * padded(i1_ + m1 - p1, j2_), m1),
                  arity=2)


def columns_pass(z: Signal, v: Signal, name: str) -> Signal:
    """cols(z, v)[i₁, i₂] = Σ_{m₂} [m₂ ∈ K₂] v[m₂] z[i₁, i₂ + m₂ - p₂]: v along every row."""
    return Signal(name, rf"\operatorname{{cols}}({z.latex}, "
                  rf"{v.latex})",
                  lambda i1_, i2_: zsum(in_range(m2, k2) * v[m2] * z[i1_, i2_ + m2 - p2], m2),
                  arity=2)


def outer(u: Signal, v: Signal, name: str) -> Signal:
    """(u ⊗ v)[a, b] = u[a]·v[b]."""
    return Signal(name, rf"{u.latex} \otimes {v.latex}",
                  lambda a_, b1_: u[a_] * v[b1_], arity=2)


def matrix_signal(name: str, rows: list[list]) -> Signal:
    """A concrete kernel: K[a, b] = Σ over its nonzero entries K_ab·[a = α][b = β]."""
    return Signal(name, rf"K_{{\text{{{name}}}}}", lambda a_, b1_: sympy.Add(*(
        sympy.Rational(value) * eq(a_, row) * eq(b1_, col) for row, values in enumerate(rows)
        for col, value in enumerate(values) if value != 0)), arity=2)


def vector_signal(name: str, values: list) -> Signal:
    """A concrete 1-D kernel: u[a] = Σ over its nonzero entries u_α·[a = α]."""
    return Signal(name, rf"u_{{\text{{{name}}}}}", lambda a_: sympy.Add(*(
        sympy.Rational(value) * eq(a_, index) for index, value in enumerate(values)
        if value != 0)), arity=1)


def _shown(values: list) -> str:
    """(1/3, 1/3, 1/3): a factor's entries as fractions."""
    return "(" + ", ".join(str(v) for v in values) + ")"


def _scaled(values: list, scale: Fraction) -> list:
    return [Fraction(v) * scale for v in values]


# name: (u, v) with K = u ⊗ v; the matrices are those of the notes
FACTORS = {
    "vertical": ([1, 1, 1], [1, 0, -1]),
    "horizontal": ([1, 0, -1], [1, 1, 1]),
    "sobel_x": ([1, 2, 1], [-1, 0, 1]),
    "sobel_y": ([-1, 0, 1], [1, 2, 1]),
    "scharr_x": ([3, 10, 3], [-1, 0, 1]),
    "scharr_y": ([-1, 0, 1], [3, 10, 3]),
    "edge": ([1, 2, 1], [1, 0, -1]),
    "box": (_scaled([1, 1, 1], Fraction(1, 3)), _scaled([1, 1, 1], Fraction(1, 3))),
    "gaussian": (_scaled([1, 2, 1], Fraction(1, 4)), _scaled([1, 2, 1], Fraction(1, 4))),
}
KERNELS = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr_x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "scharr_y": [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    "edge": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "box": [[Fraction(1, 9)] * 3 for _ in range(3)],
    "gaussian": [[Fraction(v, 16) for v in row] for row in ([1, 2, 1], [2, 4, 2], [1, 2, 1])],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
SHARPEN_TERMS = (([0, 1, 0], [-1, 5, -1]), ([1, 0, 1], [0, -1, 0]))

u_sym, v_sym, kernel_sym = Signal("u"), Signal("v"), Signal("K")
rank_one = outer(u_sym, v_sym, "u⊗v")
two_pass = columns_pass(rows_pass(u_sym, "rows(x,u)"), v_sym, "cols(rows(x,u),v)")
full = correlation_2d(rank_one, "corr2(x,u⊗v)")

THEOREM = Theorem(
    "separable-kernels", "Separable kernels are two 1-D passes",
    r"\operatorname{corr}_2(x, u \otimes v) = \operatorname{cols}(\operatorname{rows}(x, u), v);"
    r"\ \text{Sobel, Scharr, box, Gaussian are rank 1; emboss (rank 3), sharpen (rank 2) are not}",
    notes=("the notes print the Gaussian's factor 1/16 as '6' and split the box blur's 1/9 over "
           "the rows; the matrices are 1/16·[[1,2,1],[2,4,2],[1,2,1]] and 1/9·ones(3, 3)",
           "sharpen [[0,-1,0],[-1,5,-1],[0,-1,0]] stands beside 'Edge Detection' in the notes; it "
           "is the sharpen kernel, of rank 2, and not separable (nor is emboss, rank 3)"),
)

OUTPUT = {i1: in_range(i1, n1 + 2 * p1 - k1 + 1), i2: in_range(i2, n2 + 2 * p2 - k2 + 1)}
ENTRIES = {a: in_range(a + 1, 5), b_: in_range(b_ + 1, 5)}  # the 3×3 box with a margin
MINOR_INDICES = {s: in_range(s, 3) for s in (a, b_, c_, d_)}
TWO_PASSES = THEOREM.export(Claim(
    "two passes", full[i1, i2], two_pass[i1, i2], indices=OUTPUT,
    text="a rank-1 kernel u ⊗ v correlates as u down the columns, then v along the rows",
))
MINORS = THEOREM.export(Claim(
    "minors of an outer product", rank_one[a, b_] * rank_one[c_, d_],
    rank_one[a, d_] * rank_one[c_, b_],
    text="every 2×2 minor of u ⊗ v vanishes: a kernel with a nonzero minor is not separable",
))


@THEOREM.evidence
def two_passes():
    window = in_range(m1, k1) * in_range(m2, k2)
    read = padded(i1 + m1 - p1, i2 + m2 - p2)
    proof = (
        Derivation(TWO_PASSES.lhs, "corr₂(x, u ⊗ v) = cols(rows(x, u), v)")
        .by("definition", zsum(window * u_sym[m1] * v_sym[m2] * read, m1, m2),
            "unfold the 2-D correlation and K[m₁, m₂] = u[m₁] v[m₂]")
        .by("swap sums", zsum(in_range(m2, k2) * v_sym[m2]
                              * zsum(in_range(m1, k1) * u_sym[m1] * read, m1), m2),
            "v[m₂] does not depend on m₁: sum over m₁ first")
        .back("definition", TWO_PASSES.rhs,
              "the inner sum is rows(x, u) at (i₁, i₂ + m₂ - p₂); the outer one the pass along "
              "the rows")
    )
    return universal(TWO_PASSES, proof)


@THEOREM.evidence
def minors():
    proof = (
        Derivation(MINORS.lhs, "K[a,b]K[c,d] = K[a,d]K[c,b] for K = u ⊗ v")
        .by("definition", u_sym[a] * v_sym[b_] * u_sym[c_] * v_sym[d_], "unfold u ⊗ v")
        .back("definition", MINORS.rhs, "u_a v_d u_c v_b: the same four factors")
    )
    return universal(MINORS, proof)


def _signals(name: str) -> tuple[Signal, Signal, Signal]:
    u_values, v_values = FACTORS[name]
    return (matrix_signal(name, KERNELS[name]), vector_signal(f"{name}_u", u_values),
            vector_signal(f"{name}_v", v_values))


_IMAGES = [Point({n1: 4, n2: 5, p1: 0, p2: 1, k1: 3, k2: 3}, 1),
           Point({n1: 3, n2: 3, p1: 1, p2: 1, k1: 3, k2: 3}, 1)]
_NO_SIZES = Point({}, 1, note="the 3×3 kernel")


def _factor_claim(name: str) -> Claim:
    kernel, u, v = _signals(name)
    return Claim(f"{name} = u ⊗ v", kernel[a, b_], u[a] * v[b_], indices=ENTRIES)


def _passes_claim(name: str) -> Claim:
    kernel, u, v = _signals(name)
    return Claim(f"{name} in two passes", correlation_2d(kernel, f"corr2({name})")[i1, i2],
                 columns_pass(rows_pass(u, f"rows({name})"), v, f"cols({name})")[i1, i2],
                 indices=OUTPUT)


@THEOREM.evidence
def rank_one_kernels():
    evidence = []
    for name in FACTORS:
        evidence.append(certified(_factor_claim(name), [_NO_SIZES],
                                  f"{name} = {_shown(FACTORS[name][0])} ⊗ "
                                  f"{_shown(FACTORS[name][1])}"))
        evidence.append(certified(_passes_claim(name), _IMAGES,
                                  f"{name}: the 2-D correlation is two 1-D passes, exact"))
    return evidence


def _entries(name: str) -> dict:
    return {"K": {(row, col): value for row, values in enumerate(KERNELS[name])
                  for col, value in enumerate(values)}}


def determinant(kernel: Signal) -> sympy.Expr:
    """det K = Σ_σ sgn(σ) Π_a K[a, σ(a)] for a 3×3 kernel."""
    return sympy.Add(*(Permutation(list(sigma)).signature()
                       * kernel[0, sigma[0]] * kernel[1, sigma[1]] * kernel[2, sigma[2]]
                       for sigma in itertools.permutations(range(3))))


SEPARABLE = Claim("rank at most 1", kernel_sym[a, b_] * kernel_sym[c_, d_],
                  kernel_sym[a, d_] * kernel_sym[c_, b_], indices=MINOR_INDICES,
                  text="every 2×2 minor of K vanishes (what separability requires)")
SINGULAR = Claim("rank at most 2", determinant(kernel_sym), sympy.S.Zero,
                 text="det K = 0")


@THEOREM.evidence
def not_separable():
    return [refuted(SEPARABLE, _NO_SIZES, _entries("emboss"), "emboss is not separable"),
            refuted(SINGULAR, _NO_SIZES, _entries("emboss"), "emboss has rank 3: det = -4"),
            refuted(SEPARABLE, _NO_SIZES, _entries("sharpen"), "sharpen is not separable")]


@THEOREM.evidence
def sharpen_rank_two():
    (u1, v1), (u2, v2) = SHARPEN_TERMS
    first = [vector_signal(f"sharpen_{k}", values) for k, values in (("u1", u1), ("v1", v1))]
    second = [vector_signal(f"sharpen_{k}", values) for k, values in (("u2", u2), ("v2", v2))]
    sharpen = matrix_signal("sharpen", KERNELS["sharpen"])
    claim = Claim("sharpen = u₁ ⊗ v₁ + u₂ ⊗ v₂", sharpen[a, b_],
                  first[0][a] * first[1][b_] + second[0][a] * second[1][b_], indices=ENTRIES)
    return certified(claim, [_NO_SIZES], "sharpen has rank 2: (0,1,0)⊗(-1,5,-1) + "
                                         "(1,0,1)⊗(0,-1,0)")


@THEOREM.mutant("emboss is separable with its middle row and column as factors")
def emboss_factored():
    kernel = matrix_signal("emboss", KERNELS["emboss"])
    u, v = vector_signal("emboss_u", [-1, 1, 1]), vector_signal("emboss_v", [-1, 1, 1])
    return certified(Claim("emboss = u ⊗ v", kernel[a, b_], u[a] * v[b_], indices=ENTRIES),
                     [_NO_SIZES])


@THEOREM.mutant("Sobel x with its factors swapped between the axes")
def sobel_transposed():
    kernel, u, v = _signals("sobel_x")
    return certified(Claim("sobel_x = v ⊗ u", kernel[a, b_], v[a] * u[b_], indices=ENTRIES),
                     [_NO_SIZES])


@THEOREM.mutant("the second 1-D pass runs along the same axis as the first")
def same_axis_twice():
    kernel, u, v = _signals("gaussian")
    rows = rows_pass(u, "rows(gauss)")
    along_rows = Signal("rows(rows(gauss))", "r", lambda i1_, i2_: zsum(
        in_range(m2, k2) * v[m2] * rows[i1_ + m2 - p1, i2_ + 1 - p2], m2), arity=2)
    claim = Claim("gaussian in two passes", correlation_2d(kernel, "corr2(gauss)")[i1, i2],
                  along_rows[i1, i2], indices=OUTPUT)
    return certified(claim, _IMAGES[:1])


prove = THEOREM.prove
render = THEOREM.render
