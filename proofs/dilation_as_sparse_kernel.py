"""dilation-as-sparse-kernel: a dilated kernel is an undilated kernel with zeros between taps.

For a kernel w of k taps and dilation d, let w_d be the kernel of d(k - 1) + 1 taps

    w_d[u] = Σ_m [u = d·m][m ∈ K] w[m]        (w_d[d·m] = w[m], zero elsewhere).

Then, for every stride s, zero padding (p, q), group and channel count, in any number of dims:

    corr_{s, d}(x, w) = corr_{s, 1}(x, w_d),

with the same output size (the window span d(k - 1) + 1 is the same).  w_d is zero off the
multiples of d ([d | u]: d - 1 zeros between consecutive taps, per axis) and outside
[0, d(k - 1)].  The notes' "a kernel of size five with the second and fourth elements zero is a
dilated kernel of size three" is the case k = 3, d = 2.  A kernel of d·k taps (d - 1 trailing
zeros) computes the same sums but changes the output size; one of d(k - 1) taps loses the last
tap (see the mutant).

The notes call "the number of zeros we intersperse between the weights" the dilation rate and
label a 3×3 kernel with one zero between taps "dilation 1".  In the convention of this library,
of PyTorch and of the notes' own example (a 3×3 filter with dilation 2 on a 7×7 input gives
3×3 outputs: span 5), dilation d puts d - 1 zeros between taps; d zeros is the mutant "taps
spaced by d + 1".
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Divides, Evidence, Signal, Theorem, box,
                                certified, eq, multi, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.operators import Setting, b, c, correlation, g, i, m, o

st = Setting()
span = st.d * (st.k - 1) + 1
sparse_setting = Setting(k=span, d=sympy.S.One)
u = multi("u")
x, w = Signal("x"), Signal("w")


def sparse(weight: Signal, spacing, name: str = "w_d") -> Signal:
    """w_d[g, o, c, u] = Σ_m [u = spacing·m][m ∈ K] w[g, o, c, m]."""
    return Signal(name, r"w_{d}", lambda g_, o_, c_, u_: zsum(
        eq(u_, spacing * m) * st.taps(m) * weight[g_, o_, c_, m], m), arity=4)


w_sparse = sparse(w, st.d)
dilated = correlation(x, w, st, name="corr_d")
undilated = correlation(x, w_sparse, sparse_setting, name="corr_w_d")

THEOREM = Theorem(
    "dilation-as-sparse-kernel", "A dilated kernel is a sparse undilated kernel",
    r"\operatorname{corr}_{s,d}(x, w) = \operatorname{corr}_{s,1}(x, w_d),\quad "
    r"w_d[u] = \sum_m [u = d m][m \in K]\, w[m],\ \ d(k-1)+1 \text{ taps}",
    notes=("the notes call the number of zeros interspersed between the weights the dilation "
           "rate (and label one zero between taps 'dilation 1'); with dilation d as in PyTorch "
           "and in the notes' 7×7, 3×3, dilation 2 example there are d - 1 zeros between taps",),
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
TAPS = {g: st.group_box(g), o: st.outputs(o), c: st.inputs(c), u: box(u, -1, span)}
SPARSE = THEOREM.export(Claim(
    "sparse kernel", dilated[b, g, o, i], undilated[b, g, o, i], indices=OUTPUT,
    text="every stride, dilation, zero padding, group and channel count, any number of dims",
))
SAME_SIZE = THEOREM.export(Claim(
    "same output size", st.out, sparse_setting.out,
    text="the dilated and the sparse kernel have the same window span d(k - 1) + 1",
))
ZEROS = THEOREM.export(Claim(
    "zeros between taps", w_sparse[g, o, c, u], Divides(st.d, u) * w_sparse[g, o, c, u],
    indices=TAPS, text="w_d vanishes off the multiples of d",
))
SUPPORT = THEOREM.export(Claim(
    "taps", w_sparse[g, o, c, u], box(u, 0, span - 1) * w_sparse[g, o, c, u], indices=TAPS,
    text="w_d vanishes outside [0, d(k - 1)]: d(k - 1) + 1 taps",
))
ENTRIES = THEOREM.export(Claim(
    "entries", w_sparse[g, o, c, st.d * m], st.taps(m) * w[g, o, c, m],
    indices={g: st.group_box(g), o: st.outputs(o), c: st.inputs(c), m: box(m, -1, st.k)},
    text="w_d[d·m] = w[m] for the taps m of w",
))


@THEOREM.evidence
def sparse_kernel():
    tap = st.inputs(c) * st.taps(m) * w[g, o, c, m]
    read = st.input_index(i, m)
    sparse_read = st.s * i + u - st.p
    proof = (
        Derivation(SPARSE.lhs, "corr_{s,d}(x, w) = corr_{s,1}(x, w_d)")
        .by("definition", zsum(tap * st.pixels(read) * x[b, g, c, read], c, m),
            "unfold the dilated correlation: tap m reads s·i + d·m - p", signals=(dilated,))
        .back("implied bracket",
              zsum(box(st.d * m, 0, span - 1) * tap * st.pixels(read) * x[b, g, c, read], c, m),
              "0 ≤ d·m ≤ d(k - 1) follows from 0 ≤ m ≤ k - 1 (multiply by d ≥ 1)")
        .back("Kronecker delta",
              zsum(st.inputs(c) * sparse_setting.taps(u) * eq(u, st.d * m) * st.taps(m)
                   * w[g, o, c, m] * st.pixels(sparse_read) * x[b, g, c, sparse_read], c, u, m),
              "name the position u = d·m of tap m in the sparse kernel: it reads s·i + u - p",
              var=u)
        .back("definition", SPARSE.rhs,
              "Σ_m [u = d·m][m ∈ K] w[m] is w_d[u]: a correlation with dilation 1")
    )
    return universal(SPARSE, proof)


@THEOREM.evidence
def same_size():
    return universal(SAME_SIZE, Derivation(SAME_SIZE.lhs, "the output sizes").by(
        "algebra", SAME_SIZE.rhs, "1·((d(k - 1) + 1) - 1) = d(k - 1)"))


def _through_the_delta(claim: Claim, rule: str, bracket, why: str) -> Evidence:
    """w_d[u] = bracket(u)·w_d[u]: the bracket holds at u = d·m for every tap m (by ``rule``),
    and [u = d·m] carries it over to u."""
    terms = st.taps(m) * w[g, o, c, m]
    proof = (
        Derivation(claim.lhs, claim.text)
        .by("definition", zsum(eq(u, st.d * m) * terms, m), "unfold w_d", signals=(w_sparse,))
        .back(rule, zsum(eq(u, st.d * m) * bracket(st.d * m) * terms, m), why)
        .back("use the delta", zsum(eq(u, st.d * m) * bracket(u) * terms, m),
              "under [u = d·m] the bracket of d·m is the bracket of u", var=u)
        .back("definition", claim.rhs, "fold w_d back", signals=(w_sparse,))
    )
    return universal(claim, proof)


@THEOREM.evidence
def zeros_between_taps():
    return _through_the_delta(ZEROS, "decide brackets", lambda e: Divides(st.d, e),
                              "d divides d·m")


@THEOREM.evidence
def taps():
    return _through_the_delta(SUPPORT, "implied bracket", lambda e: box(e, 0, span - 1),
                              "0 ≤ d·m ≤ d(k - 1) on the taps of w")


@THEOREM.evidence
def entries():
    m1 = multi("m'")
    proof = (
        Derivation(ENTRIES.lhs, "w_d[d·m] = w[m]")
        .by("definition", zsum(eq(st.d * m, st.d * m1) * st.taps(m1) * w[g, o, c, m1], m1),
            "unfold w_d at d·m", signals=(w_sparse,))
        .by("cancel a positive factor",
            zsum(eq(m, m1) * st.taps(m1) * w[g, o, c, m1], m1),
            "d·m = d·m' says m = m' (d ≥ 1)", factor=st.d)
        .by("Kronecker delta", ENTRIES.rhs, "the only tap is m' = m", var=m1)
    )
    return universal(ENTRIES, proof)


def _points(dims=(1, 2)):
    return conv_points(st, dims=dims, limit={1: 4, 2: 2})


@THEOREM.evidence
def certificates():
    return [certified(SPARSE, _points(), "dilated = sparse undilated, exact on the grid"),
            certified(ZEROS, _points((1,)), "zeros between taps, exact"),
            certified(SUPPORT, _points((1,)), "d(k - 1) + 1 taps, exact")]


def _dilated_points():
    return [p for p in _points((1,)) if max(p.values[st.d]) > 1]


@THEOREM.mutant("taps spaced by d + 1: d zeros between taps, the notes' reading of the rate")
def wide_spacing():
    wrong = sparse(w, st.d + 1, name="w_d+1")
    spread = Setting(k=(st.d + 1) * (st.k - 1) + 1, d=sympy.S.One)
    claim = Claim("sparse kernel", SPARSE.lhs,
                  correlation(x, wrong, spread, name="corr_w_d+1")[b, g, o, i], indices=OUTPUT)
    return certified(claim, _dilated_points())


@THEOREM.mutant("a sparse kernel of d(k - 1) taps (the last tap cut)")
def short_kernel():
    short = Setting(k=st.d * (st.k - 1), d=sympy.S.One)
    claim = Claim("sparse kernel", SPARSE.lhs,
                  correlation(x, w_sparse, short, name="corr_w_short")[b, g, o, i],
                  indices=OUTPUT)
    return certified(claim, [p for p in _dilated_points() if max(p.values[st.k]) > 1])


@THEOREM.mutant("w_d[u] = w[u] on the multiples of d (no division of the index by d)")
def undivided_index():
    claim = Claim("entries", ENTRIES.lhs, st.taps(st.d * m) * w[g, o, c, st.d * m],
                  indices=ENTRIES.indices)
    return certified(claim, _dilated_points())


prove = THEOREM.prove
render = THEOREM.render
