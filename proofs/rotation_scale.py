"""rotation-scale: conv commutes with a rotation only if the kernel turns too; not with scaling.

On signals over Z^2 (unit stride, no padding), corr(x, w)[i] = Σ_m [m ∈ K] w[m] x[i + m] with
the k × k kernel box K.  The rotation by 90° moves the pixel at (j0, j1) to R(j0, j1) =
(j1, -j0), so (rot x)[u0, u1] = x[-u1, u0], and rot⁻¹ w = w∘R, supported on R⁻¹K:

    corr(rot x, w) = rot corr(x, rot⁻¹ w),

by the change of index m = R·m' (m0 = m1', m1 = -m0'), a bijection of Z^2.  With the same
kernel it fails: the Sobel kernel, which is not invariant under the rotation, and an impulse
are a witness.  Scaling is not seen either: for the decimation (S x)[j] = x[2j],
corr(S x, w)[i] = Σ_m w[m] x[2i + 2m] reads every other pixel of the window, which is S of the
correlation with the kernel dilated by 2, not S corr(x, w) (witness: w = (1, 2), x = δ_1).
"""

from __future__ import annotations

import numpy as np
from sympy import Expr

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, box, certified,
                                in_range, refuted, scalar, universal, zsum)
from convproof.symbolic.certificates import entries_of

k = scalar("k", positive=True)
i0, i1, m0, m1, v0, v1 = scalar("i0 i1 m0 m1 v0 v1")
x, w = Signal("x"), Signal("w")
SOBEL = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])


def kernel_box(a, b) -> Expr:
    """[(a, b) ∈ [0, k - 1]^2]: the support of a k × k kernel."""
    return in_range(a, k) * in_range(b, k)


def rotated_box(a, b) -> Expr:
    """[R(a, b) ∈ [0, k - 1]^2] with R(a, b) = (b, -a): the support of rot⁻¹ w."""
    return kernel_box(b, -a)


def correlation_2d(signal: Signal, kernel: Signal, support, name: str) -> Signal:
    """corr(x, w)[i0, i1] = Σ_{m0, m1} support(m0, m1) w[m0, m1] x[i0 + m0, i1 + m1]."""
    return Signal(name, rf"\operatorname{{corr}}({signal.latex})",
                  lambda a, b: zsum(support(m0, m1) * kernel[m0, m1] * signal[a + m0, b + m1],
                                    m0, m1), arity=2)


def rotation(signal: Signal, name: str) -> Signal:
    """(rot y)[u0, u1] = y[-u1, u0]: the pixel at (j0, j1) moves to (j1, -j0)."""
    return Signal(name, rf"\operatorname{{rot}}({signal.latex})",
                  lambda a, b: signal[-b, a], arity=2)


def correlation_1d(signal: Signal, kernel: Signal, taps, name: str, dilation=1) -> Signal:
    """corr(x, w)[i] = Σ_m [0 ≤ m ≤ k - 1] w[m] x[i + d·m] on Z (unit stride)."""
    return Signal(name, rf"\operatorname{{corr}}({signal.latex})",
                  lambda a: zsum(in_range(m0, taps) * kernel[m0] * signal[a + dilation * m0], m0),
                  arity=1)


rot_x = rotation(x, "rot(x)")
w_back = Signal("rot^-1(w)", r"\operatorname{rot}^{-1}(w)", lambda a, b: w[b, -a], arity=2)
lhs_signal = correlation_2d(rot_x, w, kernel_box, "corr(rot x, w)")
turned = correlation_2d(x, w_back, rotated_box, "corr(x, rot^-1 w)")
rhs_signal = rotation(turned, "rot corr(x, rot^-1 w)")
same_kernel = rotation(correlation_2d(x, w, kernel_box, "corr(x, w)"), "rot corr(x, w)")

decimated = Signal("S(x)", "S x", lambda a: x[2 * a], arity=1)
corr_decimated = correlation_1d(decimated, w, k, "corr(Sx, w)")
decimated_corr = Signal("S corr(x, w)", r"S \operatorname{corr}(x, w)", lambda a: correlation_1d(
    x, w, k, "corr(x, w)")[2 * a], arity=1)
dilated = correlation_1d(x, w, k, "corr_2(x, w)", dilation=2)
decimated_dilated = Signal("S corr_2(x, w)", r"S \operatorname{corr}_2(x, w)",
                           lambda a: dilated[2 * a], arity=1)

OUTPUT = {i0: box(i0, 1 - k, k - 1), i1: box(i1, 1 - k, k - 1)}

THEOREM = Theorem(
    "rotation-scale", "Rotations need the kernel rotated along; scaling is not commuted",
    r"\operatorname{corr}(\operatorname{rot} x, w) = \operatorname{rot}\operatorname{corr}(x, "
    r"\operatorname{rot}^{-1} w);\quad \operatorname{corr}(\operatorname{rot} x, w) \ne "
    r"\operatorname{rot}\operatorname{corr}(x, w);\quad \operatorname{corr}(S x, w) \ne "
    r"S \operatorname{corr}(x, w)\quad\text{(on } \mathbb{Z}^2\text{, unit stride, one channel)}",
)
ROTATION = THEOREM.export(Claim(
    "rotation", lhs_signal[i0, i1], rhs_signal[i0, i1], indices=OUTPUT,
    text="2-D signals on Z^2, a k × k kernel: rotate the input, or the output with the kernel",
))
SCALING = THEOREM.export(Claim(
    "decimation", corr_decimated[i0], decimated_dilated[i0], indices={i0: box(i0, -k, k)},
    text="decimating the input = decimating the output of the kernel dilated by 2",
))


@THEOREM.evidence
def rotation_with_kernel():
    read = lambda a, b: x[-(i1 + b), i0 + a]  # noqa: E731  (rot x at (i0 + a, i1 + b))
    proof = (
        Derivation(ROTATION.lhs, "corr(rot x, w) = rot corr(x, rot⁻¹ w)")
        .by("definition", zsum(kernel_box(m0, m1) * w[m0, m1] * rot_x[i0 + m0, i1 + m1], m0, m1),
            "unfold the correlation of the rotated input", signals=(lhs_signal,))
        .by("definition", zsum(kernel_box(m0, m1) * w[m0, m1] * read(m0, m1), m0, m1),
            "unfold the rotation: (rot x)[u0, u1] = x[-u1, u0]", signals=(rot_x,))
        .by("change of index", zsum(kernel_box(v1, m1) * w[v1, m1] * read(v1, m1), v1, m1),
            "m0 = v1", var=m0, to=v1, new=v1)
        .by("change of index", zsum(rotated_box(v0, v1) * w[v1, -v0] * x[-i1 + v0, i0 + v1],
                                    v0, v1),
            "m1 = -v0: together m = R·v, a bijection of Z^2", var=m1, to=-v0, new=v0)
        .back("definition", zsum(rotated_box(v0, v1) * w_back[v0, v1] * x[-i1 + v0, i0 + v1],
                                 v0, v1),
              "w[R·v] is (rot⁻¹ w)[v]", signals=(w_back,))
        .back("definition", turned[-i1, i0], "the correlation with rot⁻¹ w at R⁻¹ i",
              signals=(turned,))
        .back("definition", ROTATION.rhs, "that is its rotation at i", signals=(rhs_signal,))
    )
    return universal(ROTATION, proof)


@THEOREM.evidence
def scaling_with_dilation():
    proof = (
        Derivation(SCALING.lhs, "corr(S x, w) = S corr_2(x, w)")
        .by("definition", zsum(in_range(m0, k) * w[m0] * decimated[i0 + m0], m0),
            "unfold the correlation of the decimated input", signals=(corr_decimated,))
        .by("definition", zsum(in_range(m0, k) * w[m0] * x[2 * i0 + 2 * m0], m0),
            "unfold the decimation: tap m reads x[2i + 2m]", signals=(decimated,))
        .back("definition", dilated[2 * i0], "the kernel dilated by 2, read at 2i",
              signals=(dilated,))
        .back("definition", SCALING.rhs, "decimated", signals=(decimated_dilated,))
    )
    return universal(SCALING, proof)


@THEOREM.evidence
def certificate():
    points = [Point({k: size}, 1, label={"k": size}) for size in (1, 2, 3)]
    return certified(ROTATION, points, "exact for kernels of 1 × 1 to 3 × 3")


@THEOREM.evidence
def witnesses():
    impulse = {"x": {(0, 0): 1}}
    rotation_claim = Claim("rotation without turning the kernel", lhs_signal[i0, i1],
                           same_kernel[i0, i1], indices=OUTPUT)
    scaling_claim = Claim("scaling", corr_decimated[i0], decimated_corr[i0],
                          indices={i0: box(i0, -k, k)})
    return [
        refuted(rotation_claim, Point({k: 3}, 1, note="Sobel kernel, impulse at the origin"),
                {**entries_of("w", SOBEL), **impulse}, "not equivariant to 90° rotation"),
        refuted(scaling_claim, Point({k: 2}, 1, note="w = (1, 2), x = δ_1"),
                {"w": {(0,): 1, (1,): 2}, "x": {(1,): 1}}, "not equivariant to scaling by 2"),
    ]


@THEOREM.mutant("rotation equivariance with the kernel not rotated")
def kernel_kept():
    claim = Claim("rotation", ROTATION.lhs, same_kernel[i0, i1], indices=OUTPUT)
    return certified(claim, [Point({k: 2}, 1, label={"k": 2})])


@THEOREM.mutant("rotation equivariance with the kernel rotated the wrong way (rot w)")
def kernel_turned_forward():
    w_forward = Signal("rot(w)", r"\operatorname{rot}(w)", lambda a, b: w[-b, a], arity=2)
    forward = correlation_2d(x, w_forward, lambda a, b: kernel_box(-b, a), "corr(x, rot w)")
    claim = Claim("rotation", ROTATION.lhs, rotation(forward, "rot corr(x, rot w)")[i0, i1],
                  indices=OUTPUT)
    return certified(claim, [Point({k: 2}, 1, label={"k": 2})])


@THEOREM.mutant("decimation commutes with the undilated correlation")
def scaling_commutes():
    claim = Claim("decimation", SCALING.lhs, decimated_corr[i0], indices=SCALING.indices)
    return certified(claim, [Point({k: 2}, 1, label={"k": 2})])


prove = THEOREM.prove
render = THEOREM.render
