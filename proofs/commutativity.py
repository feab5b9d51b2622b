"""commutativity: true convolution commutes; correlation reverses.

For finitely supported signals f, g on Z^D (f zero outside a box [l_f, h_f], g outside
[l_g, h_g]), with (f ∗ g)[t] = Σ_u f[u] g[t - u] and corr(f, g)[t] = Σ_u f[t + u] g[u]:

    (f ∗ g)[t] = (g ∗ f)[t]                 (u -> t - u, a bijection of Z^D)
    corr(f, g)[t] = corr(g, f)[-t]          (u -> u - t)

and corr(f, g) ≠ corr(g, f) in general: with f = δ_1, g = δ_0 in 1-D, corr(f, g) = δ_1 while
corr(g, f) = δ_{-1}.  Which argument is the input and which the kernel matters for a
correlation layer, not for a convolution.

The notes write the cross-correlation S(i, j) = Σ_m Σ_n I(i + m, j + n) K(m, n) as "(K ∗ I)",
with the convolution's symbol; it is corr(I, K), and by the reversal above it is not (K ∗ I)
nor corr(K, I) (their (f ⋆ g)(t) = ∫ f(τ) g(t + τ) dτ is corr(g, f) in this argument order).
"""

from __future__ import annotations

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, box, certified, multi,
                                refuted, universal, zsum)
from convproof.symbolic.operators_fourier import convolve, correlate, supported

t, u = multi("t u")
low_f, high_f, low_g, high_g = multi("l_f h_f l_g h_g")
f_in, g_in = Signal("f"), Signal("g")
f = supported(f_in, low_f, high_f, name="f~")
g = supported(g_in, low_g, high_g, name="g~")
f_conv_g, g_conv_f = convolve(f, g), convolve(g, f)
f_corr_g, g_corr_f = correlate(f, g), correlate(g, f)

THEOREM = Theorem(
    "commutativity", "Convolution commutes, correlation reverses",
    r"(f \ast g)_t = (g \ast f)_t,\qquad \operatorname{corr}(f, g)_t = "
    r"\operatorname{corr}(g, f)_{-t} \ne \operatorname{corr}(g, f)_t",
    notes=("the notes write the cross-correlation Σ I(i + m, j + n) K(m, n) as (K ∗ I), with the "
           "convolution symbol; it is corr(I, K), and corr(I, K) ≠ corr(K, I): the order of the "
           "arguments of a correlation matters",
           "the notes define f ∗ g(x) = ∫ f(y) g(x - y) dμ(y) for any measure μ and f, g ∈ "
           "L²(μ); commutativity (y → x - y) needs μ invariant under translations and "
           "reflection, as the Lebesgue measure on ℝ^d or the counting measure on ℤ^d here: "
           "with μ = δ₀, f ∗ g(x) = f(0) g(x) but g ∗ f(x) = g(0) f(x) (and g(x - y) of a class "
           "of L²(δ₀) is not even defined for x ≠ 0)",),
)

CONV_SUPPORT = {t: box(t, low_f + low_g, high_f + high_g)}
CORR_SUPPORT = {t: box(t, low_f - high_g, high_f - low_g)}
CONVOLUTION = THEOREM.export(Claim(
    "convolution commutes", f_conv_g[t], g_conv_f[t], indices=CONV_SUPPORT,
    text="for finitely supported signals on Z^D, any number of dims",
))
CORRELATION = THEOREM.export(Claim(
    "correlation reverses", f_corr_g[t], g_corr_f[-t], indices=CORR_SUPPORT,
    text="swapping the arguments of a correlation reflects its output",
))
COMMUTES = Claim("correlation commutes", f_corr_g[t], g_corr_f[t], indices=CORR_SUPPORT,
                 text="false: a correlation does not commute")


f_at, g_at = f.definition, g.definition  # f~[e] = [l_f ≤ e ≤ h_f] f[e], likewise g~


@THEOREM.evidence
def convolution_commutes():
    proof = (
        Derivation(CONVOLUTION.lhs, "f ∗ g = g ∗ f")
        .by("definition", zsum(f_at(u) * g_at(t - u), u), "unfold f ∗ g and the supports")
        .by("change of index", zsum(f_at(t - u) * g_at(u), u),
            "u -> t - u is a bijection of Z^D", var=u, to=t - u)
        .back("definition", CONVOLUTION.rhs, "Σ_u g[u] f[t - u] is g ∗ f")
    )
    return universal(CONVOLUTION, proof)


@THEOREM.evidence
def correlation_reverses():
    proof = (
        Derivation(CORRELATION.lhs, "corr(f, g)[t] = corr(g, f)[-t]")
        .by("definition", zsum(f_at(t + u) * g_at(u), u), "unfold corr(f, g) and the supports")
        .by("change of index", zsum(f_at(u) * g_at(u - t), u),
            "u -> u - t is a bijection of Z^D", var=u, to=u - t)
        .back("definition", CORRELATION.rhs, "Σ_u g[-t + u] f[u] is corr(g, f) at -t")
    )
    return universal(CORRELATION, proof)


def _points(dims=(1, 2)) -> list[Point]:
    """Supports of different sizes and offsets, 1-D and 2-D."""
    boxes = {1: [((0,), (2,), (0,), (1,)), ((-1,), (1,), (2,), (4,)), ((1,), (1,), (0,), (3,))],
             2: [((0, 1), (1, 2), (-1, 0), (1, 1))]}
    return [Point(dict(zip((low_f, high_f, low_g, high_g), values)), d)
            for d in dims for values in boxes[d]]


@THEOREM.evidence
def certificates():
    return [certified(CONVOLUTION, _points(), "f ∗ g = g ∗ f exact with symbolic entries"),
            certified(CORRELATION, _points(), "corr(f, g)[t] = corr(g, f)[-t] exact")]


WITNESS = Point({low_f: (0,), high_f: (1,), low_g: (0,), high_g: (1,)}, 1,
                note="f = δ_1, g = δ_0 on [0, 1]")


@THEOREM.evidence
def not_commutative():
    entries = {"f": {(1,): 1}, "g": {(0,): 1}}
    return refuted(COMMUTES, WITNESS, entries, "corr(f, g) ≠ corr(g, f): δ_1 against δ_{-1}")


@THEOREM.mutant("correlation commutes")
def correlation_commutes():
    return certified(COMMUTES, _points((1,)))


@THEOREM.mutant("convolution reverses like a correlation: (f ∗ g)[t] = (g ∗ f)[-t]")
def convolution_reverses():
    claim = Claim("convolution reverses", f_conv_g[t], g_conv_f[-t], indices=CONV_SUPPORT)
    return certified(claim, _points((1,)))


@THEOREM.mutant("correlation is convolution (the kernel needs no flip)")
def correlation_is_convolution():
    claim = Claim("no flip", f_corr_g[t], f_conv_g[t], indices=CORR_SUPPORT)
    return certified(claim, _points((1,)))


prove = THEOREM.prove
render = THEOREM.render
