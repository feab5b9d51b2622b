"""associativity: stacked convolutions are one convolution with the convolved kernel.

For finitely supported signals on Z^D, true convolution is associative:

    ((x ∗ a) ∗ b)[t] = (x ∗ (a ∗ b))[t].

For the correlations a network stacks (signals on Z^D, channels and groups; layer 1 with
stride s₁, dilation d₁, padding offset p₁, k₁ taps and C_m output channels, layer 2 with s₂, d₂,
p₂, k₂ taps):

    corr₂(corr₁(x, a), b) = corr(x, c)   with stride s₁s₂, dilation 1, offset p₁ + s₁p₂ and

    c[o, c', r] = Σ_h Σ_m Σ_n [h ∈ C_m][m ∈ K₁][n ∈ K₂][r = d₁m + s₁d₂n] a[h, c', m] b[o, h, n],

a kernel of d₁(k₁ - 1) + s₁d₂(k₂ - 1) + 1 taps (the receptive field of the two layers).  The
first layer's stride dilates the second kernel.  With s₁ = d₁ = d₂ = 1 (any s₂) the kernel is
the full convolution of the kernels, summed over the middle channels,

    c[o, c', r] = Σ_h (a[h, c', ·] ∗ b[o, h, ·])[r],   k₁ + k₂ - 1 taps:

two stacked 3×3 layers are one 5×5 layer whose kernel is a ∗ b (the correlation of the
kernels, a ⋆ b, is wrong: see the mutant).  On finite inputs this holds exactly for "valid"
layers (no padding: the second layer only reads what the first computed); zero padding of the
middle layer inserts zeros where the single layer reads x, so the two differ at the border.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Evidence, Point, Signal, Theorem, box,
                                certified, eq, in_range, multi, scalar, universal, zsum)
from convproof.symbolic.operators import Setting, b, c, g, i, infinite_correlation, m, o
from convproof.symbolic.operators_fourier import convolve, supported

# ((x ∗ a) ∗ b) on Z^D ------------------------------------------------------------------------
t, u, v, w_ = multi("t u v w")
corners = multi("l_x h_x l_a h_a l_b h_b")
x_fin = supported(Signal("x"), *corners[0:2], name="x~")
a_fin = supported(Signal("a"), *corners[2:4], name="a~")
b_fin = supported(Signal("b"), *corners[4:6], name="b~")
xa = convolve(x_fin, a_fin, name="x*a")
xa_b = convolve(xa, b_fin, name="(x*a)*b")
ab = convolve(a_fin, b_fin, name="a*b")
x_ab = convolve(x_fin, ab, name="x*(a*b)")

# stacked correlations -------------------------------------------------------------------------
k1, k2, s1, s2, d1, d2 = multi("k_1 k_2 s_1 s_2 d_1 d_2", positive=True)
p1, p2 = multi("p_1 p_2", nonnegative=True)
c_mid = scalar("C_m", positive=True)
h = scalar("h")
n_, r = multi("n r")
first = Setting(k=k1, s=s1, d=d1, p=p1, c_out=c_mid)
second = Setting(k=k2, s=s2, d=d2, p=p2, c_in=c_mid)
taps = d1 * (k1 - 1) + s1 * d2 * (k2 - 1) + 1
single = Setting(k=taps, s=s1 * s2, d=sympy.S.One, p=p1 + s1 * p2)
x, ker_a, ker_b = Signal("x"), Signal("a"), Signal("b")
hidden = infinite_correlation(x, ker_a, first, name="y")
stacked = infinite_correlation(hidden, ker_b, second, name="z")


def composite_kernel(spacing: sympy.Expr, name: str = "c") -> Signal:
    """c[g, o, c', r] = Σ_h Σ_m Σ_n [h ∈ C_m][m ∈ K₁][n ∈ K₂][r = d₁m + spacing·n]
    a[g, h, c', m] b[g, o, h, n]; the theorem's spacing of the second kernel is s₁d₂."""
    return Signal(name, name, lambda g_, o_, c_, r_: zsum(
        in_range(h, c_mid) * first.taps(m) * second.taps(n_) * eq(r_, d1 * m + spacing * n_)
        * ker_a[g_, h, c_, m] * ker_b[g_, o_, h, n_], h, m, n_), arity=4)


composite = composite_kernel(s1 * d2)
merged = infinite_correlation(x, composite, single, name="corr_c")
kernels_convolved = Signal("a*b", r"a \ast b", lambda g_, o_, c_, r_: zsum(
    in_range(h, c_mid) * first.taps(m) * second.taps(r_ - m) * ker_a[g_, h, c_, m]
    * ker_b[g_, o_, h, r_ - m], h, m), arity=4)

UNIT = tuple(sympy.Eq(symbol, 1, evaluate=False) for symbol in (s1, d1, d2))
unit_layer = Setting(k=k1 + k2 - 1, s=s2, d=sympy.S.One, p=p1 + p2)
merged_unit = infinite_correlation(x, kernels_convolved, unit_layer, name="corr_a*b")

THEOREM = Theorem(
    "associativity", "Stacked convolutions are one convolution with the convolved kernel",
    r"(x \ast a) \ast b = x \ast (a \ast b),\qquad "
    r"\operatorname{corr}(\operatorname{corr}(x, a), b) = \operatorname{corr}(x, a \ast b)"
    r"\ \ (s_1 = d_1 = d_2 = 1,\ k = k_1 + k_2 - 1)",
)

OUTPUT = {b: first.batches(b), g: first.group_box(g), o: second.outputs(o), i: in_range(i, 2)}
TRUE = THEOREM.export(Claim(
    "convolution is associative", xa_b[t], x_ab[t],
    indices={t: box(t, corners[0] + corners[2] + corners[4], corners[1] + corners[3] + corners[5])},
    text="for finitely supported signals on Z^D, any number of dims",
))
STACKED = THEOREM.export(Claim(
    "stacked correlations", stacked[b, g, o, i], merged[b, g, o, i], indices=OUTPUT,
    text="two correlation layers on Z^D (any strides, dilations, offsets, channels, groups) "
         "are one correlation with the composite kernel c",
))
STACKED_UNIT = THEOREM.export(Claim(
    "two layers are one", stacked[b, g, o, i], merged_unit[b, g, o, i], hypotheses=UNIT,
    indices=OUTPUT,
    text="with s₁ = d₁ = d₂ = 1, two layers are one layer of k₁ + k₂ - 1 taps with kernel a ∗ b "
         "(two 3×3 are one 5×5)",
))
KERNEL = THEOREM.export(Claim(
    "the kernel is a * b", composite[g, o, c, r], kernels_convolved[g, o, c, r], hypotheses=UNIT,
    text="with s₁ = d₁ = d₂ = 1 the composite kernel is the full convolution of the kernels",
))
KERNEL_ENTRIES = {g: first.group_box(g), o: second.outputs(o), c: first.inputs(c),
                  r: box(r, -1, taps)}
SIZE = THEOREM.export(Claim(
    "kernel size", composite[g, o, c, r], box(r, 0, taps - 1) * composite[g, o, c, r],
    indices=KERNEL_ENTRIES,
    text="the composite kernel has d₁(k₁ - 1) + s₁d₂(k₂ - 1) + 1 taps (k₁ + k₂ - 1 for unit "
         "strides and dilations)",
))


@THEOREM.evidence
def true_convolution():
    x_at, a_at, b_at = x_fin.definition, a_fin.definition, b_fin.definition
    proof = (
        Derivation(TRUE.lhs, "(x ∗ a) ∗ b = x ∗ (a ∗ b)")
        .by("definition", zsum(x_at(v) * a_at(u - v) * b_at(t - u), u, v),
            "unfold both convolutions and the supports")
        .back("Kronecker delta", zsum(eq(w_, u - v) * x_at(v) * a_at(w_) * b_at(t - u), u, v, w_),
              "name the tap w = u - v of a", var=w_)
        .by("Kronecker delta", zsum(x_at(v) * a_at(w_) * b_at(t - v - w_), v, w_),
            "sum over w instead of u: u = v + w", var=u)
        .back("definition", TRUE.rhs, "Σ_w a[w] b[(t - v) - w] is (a ∗ b)[t - v]")
    )
    return universal(TRUE, proof)


def _layers(reach: sympy.Expr) -> sympy.Expr:
    """The two layers' sums with x read at ``reach``."""
    return (in_range(h, c_mid) * second.taps(n_) * first.inputs(c) * first.taps(m)
            * ker_b[g, o, h, n_] * ker_a[g, h, c, m] * x[b, g, c, reach])


def _name_the_offset(proof: Derivation, before: sympy.Expr, offset: sympy.Expr,
                     last_tap: sympy.Expr, after: sympy.Expr, why: str) -> Derivation:
    """Bound the combined offset of taps m and n by [0, last_tap] (implied by their boxes),
    then name it r: x, read at ``before``, is read at ``after`` (in terms of r)."""
    return (
        proof.back("implied bracket",
                   zsum(box(offset, 0, last_tap) * _layers(before), h, n_, c, m),
                   f"0 ≤ {why} ≤ {last_tap} follows from the boxes of m and n")
        .back("Kronecker delta",
              zsum(eq(r, offset) * box(r, 0, last_tap) * _layers(after), h, n_, c, m, r),
              f"name the offset r = {why}: x is read at {after}", var=r)
    )


@THEOREM.evidence
def stacked_correlations():
    reach = s1 * (s2 * i + d2 * n_ - p2) + d1 * m - p1
    proof = Derivation(STACKED.lhs, "corr₂(corr₁(x, a), b) = corr(x, c)").by(
        "definition", zsum(_layers(reach), h, n_, c, m),
        "unfold both layers: tap n of layer 2 reads y at s₂i + d₂n - p₂, tap m of layer 1 "
        "reads x at s₁(s₂i + d₂n - p₂) + d₁m - p₁")
    proof = _name_the_offset(proof, reach, d1 * m + s1 * d2 * n_, taps - 1,
                             single.input_index(i, r), "d₁m + s₁d₂n")
    proof.back("definition", STACKED.rhs,
               "the sum over h, m, n at fixed r is the composite kernel c[r]")
    return universal(STACKED, proof)


@THEOREM.evidence
def two_layers_are_one():
    def layers(tap_first, stride_first, tap_second):
        return zsum(_layers(stride_first * (s2 * i + tap_second * n_ - p2) + tap_first * m - p1),
                    h, n_, c, m)
    read = s2 * i + r - p1 - p2
    proof = (
        Derivation(STACKED_UNIT.lhs, "unit s₁, d₁, d₂: corr₂(corr₁(x, a), b) = corr(x, a ∗ b)")
        .by("definition", layers(d1, s1, d2), "unfold both layers")
        .by("hypothesis", layers(1, s1, d2), "d₁ = 1", equation=UNIT[1])
        .by("hypothesis", layers(1, 1, d2), "s₁ = 1", equation=UNIT[0])
        .by("hypothesis", layers(1, 1, 1), "d₂ = 1: x is read at s₂i + (m + n) - p₁ - p₂",
            equation=UNIT[2])
    )
    proof = _name_the_offset(proof, s2 * i + n_ - p2 + m - p1, m + n_, k1 + k2 - 2, read,
                             "m + n")
    proof.by("Kronecker delta",
             zsum(box(r, 0, k1 + k2 - 2) * in_range(h, c_mid) * second.taps(r - m)
                  * first.inputs(c) * first.taps(m) * ker_b[g, o, h, r - m] * ker_a[g, h, c, m]
                  * x[b, g, c, read], h, c, m, r),
             "n = r - m", var=n_)
    proof.back("definition", STACKED_UNIT.rhs,
               "Σ_h Σ_m a[h, c, m] b[o, h, r - m] is (a ∗ b)[r]: one layer of k₁ + k₂ - 1 taps")
    return universal(STACKED_UNIT, proof)


@THEOREM.evidence
def convolved_kernel():
    def body(tap_first, tap_second):
        return zsum(in_range(h, c_mid) * first.taps(m) * second.taps(n_)
                    * eq(r, tap_first * m + tap_second * n_) * ker_a[g, h, c, m]
                    * ker_b[g, o, h, n_], h, m, n_)
    proof = (
        Derivation(KERNEL.lhs, "unit strides: c = a ∗ b")
        .by("definition", body(d1, s1 * d2), "unfold the composite kernel", signals=(composite,))
        .by("hypothesis", body(1, s1 * d2), "d₁ = 1", equation=UNIT[1])
        .by("hypothesis", body(1, d2), "s₁ = 1", equation=UNIT[0])
        .by("hypothesis", body(1, 1), "d₂ = 1", equation=UNIT[2])
        .by("Kronecker delta",
            zsum(in_range(h, c_mid) * first.taps(m) * second.taps(r - m) * ker_a[g, h, c, m]
                 * ker_b[g, o, h, r - m], h, m),
            "r = m + n leaves n = r - m", var=n_)
        .back("definition", KERNEL.rhs, "the full convolution of the kernels, summed over h",
              signals=(kernels_convolved,))
    )
    return universal(KERNEL, proof)


@THEOREM.evidence
def kernel_size():
    terms = (in_range(h, c_mid) * first.taps(m) * second.taps(n_) * eq(r, d1 * m + s1 * d2 * n_)
             * ker_a[g, h, c, m] * ker_b[g, o, h, n_])
    proof = (
        Derivation(SIZE.lhs, "the taps of the composite kernel")
        .by("definition", zsum(terms, h, m, n_), "unfold c", signals=(composite,))
        .back("implied bracket", zsum(box(d1 * m + s1 * d2 * n_, 0, taps - 1) * terms, h, m, n_),
              "0 ≤ d₁m + s₁d₂n ≤ d₁(k₁ - 1) + s₁d₂(k₂ - 1) on the boxes of m and n")
        .back("use the delta", zsum(box(r, 0, taps - 1) * terms, h, m, n_),
              "under [r = d₁m + s₁d₂n] that is the box of r", var=r)
        .back("definition", SIZE.rhs, "fold c back", signals=(composite,))
    )
    return universal(SIZE, proof)


def _convolution_points(dims=(1, 2)) -> list[Point]:
    boxes = {1: [((0,), (2,), (0,), (1,), (0,), (1,)), ((-1,), (1,), (1,), (2,), (0,), (2,))],
             2: [((0, 0), (1, 2), (0, 1), (1, 1), (-1, 0), (0, 1))]}
    return [Point(dict(zip(corners, values)), d) for d in dims for values in boxes[d]]


# per axis (k₁, s₁, d₁, p₁, k₂, s₂, d₂, p₂) and (B, G, C_i, C_m, C_o)
_LAYERS = [(3, 1, 1, 1, 3, 1, 1, 1), (2, 2, 1, 0, 3, 1, 2, 1), (3, 1, 2, 0, 2, 2, 1, 0),
           (2, 3, 1, 1, 2, 1, 1, 0)]
_CHANNELS = [(1, 1, 1, 1, 1), (1, 2, 1, 2, 1), (2, 1, 2, 1, 2)]
_SYMBOLS = (k1, s1, d1, p1, k2, s2, d2, p2)


def _layer_points(rows: list[tuple[int, ...]], dims: int = 1) -> list[Point]:
    """1-D points from each row, or 2-D points from each row and the next (cyclically)."""
    shapes = [tuple(rows[(k + a) % len(rows)] for a in range(dims)) for k in range(len(rows))]
    points = []
    for count, axes in enumerate(shapes):
        batch, groups, c_in, mid, c_out = _CHANNELS[count % len(_CHANNELS)]
        values = {sym: tuple(axis[k] for axis in axes) for k, sym in enumerate(_SYMBOLS)}
        values.update({first.batch: batch, first.groups: groups, first.c_in: c_in, c_mid: mid,
                       second.c_out: c_out})
        points.append(Point(values, len(axes)))
    return points


@THEOREM.evidence
def certificates():
    return [certified(TRUE, _convolution_points(), "(x ∗ a) ∗ b = x ∗ (a ∗ b) exact"),
            certified(STACKED, _layer_points(_LAYERS), "stacked layers = one layer, exact"),
            certified(STACKED_UNIT, _layer_points([_LAYERS[0]], dims=2),
                      "3×3 on 3×3 is one 5×5 with kernel a ∗ b, exact in 2-D")]


def _one_layer_with(kernel: Signal, layer: Setting, row: tuple[int, ...]) -> Evidence:
    """Certify 'the two layers are one layer with this kernel' where the row's sizes fit."""
    merged_wrong = infinite_correlation(x, kernel, layer, name=f"corr_{kernel.name}")
    claim = Claim("stacked", stacked[b, g, o, i], merged_wrong[b, g, o, i], indices=OUTPUT)
    return certified(claim, _layer_points([row]))


@THEOREM.mutant("the merged kernel is the correlation of the kernels (a ⋆ b)")
def correlated_kernels():
    wrong = Signal("a.b", "a ⋆ b", lambda g_, o_, c_, r_: zsum(
        in_range(h, c_mid) * first.taps(m) * second.taps(m + r_) * ker_a[g_, h, c_, m]
        * ker_b[g_, o_, h, m + r_], h, m), arity=4)
    return _one_layer_with(wrong, unit_layer, _LAYERS[0])


@THEOREM.mutant("the first stride does not dilate the second kernel: r = d₁m + d₂n")
def undilated_second_kernel():
    return _one_layer_with(composite_kernel(d2, name="c'"), single, _LAYERS[1])


@THEOREM.mutant("the merged kernel has k₁ + k₂ - 2 taps")
def short_kernel():
    claim = Claim("kernel size", SIZE.lhs, box(r, 0, k1 + k2 - 3) * composite[g, o, c, r],
                  indices=KERNEL_ENTRIES)
    return certified(claim, _layer_points([_LAYERS[0]]))


prove = THEOREM.prove
render = THEOREM.render
