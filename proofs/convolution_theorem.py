"""convolution-theorem: the DFT diagonalizes circular convolution.

On the torus Z^D/nZ^D, with N = [0, n - 1], (x ⊛ w)[t] = Σ_j [j ∈ N] x[j] w[(t - j) mod n] and
F(x)[κ] = Σ_j [j ∈ N] x[j] χ_n(κ, j), χ_n(κ, j) = ω^{⟨j, κ/n⟩} = Π_a exp(2πi κ_a j_a / n_a):

    F(x ⊛ w)[κ] = F(x)[κ] · F(w)[κ]        for every integer κ and every number of dims.

Why: write (t - j) mod n as t - j - n∘r for the one r (per axis) that lands in N; then
u = t - j - n∘r runs over N, t = u + j + n∘r, and χ_n(κ, u + j + n∘r) = χ_n(κ, u)·χ_n(κ, j):
the character turns the sum of indices into a product (multiplicative) and forgets whole
periods (periodic).  Those two facts are all the proof knows of χ (rules_fourier).  So circular
convolution by w is, in the Fourier basis, multiplication by F(w): the matrix of x ↦ x ⊛ w (a
circulant, see toeplitz-structure) is diagonalized by the DFT with eigenvalues F(w)[κ].

Two readings to avoid.  A circular correlation, c[t] = Σ_j x[j] w[(j - t) mod n] (what a
"conv" layer with circular padding computes, up to its offset), has the transform
F(c)[κ] = F(x)[κ]·F(w)[-κ], which is F(x)·conj(F(w)) for real w, not F(x)·F(w).  And F(x)·F(w)
gives the wrapped convolution: the linear one needs both signals zero padded to a period
n ≥ n_x + n_w - 1 first.  Both wrong readings are mutants, and fail.
"""

from __future__ import annotations

import sympy

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, eq, in_range, multi,
                                universal, zsum)
from convproof.symbolic import rules_fourier  # noqa: F401  (registers the rules used below)
from convproof.symbolic.operators_fourier import (Character, character_entry, circular_convolve,
                                                  dft, torus_certified)

n = multi("n", positive=True)
kappa, t, j, r, u = multi("kappa t j r u")
x, w = Signal("x"), Signal("w")
circ = circular_convolve(x, w, n)
transform = dft(circ, n, name="F(x(*)w)")
transform_x, transform_w = dft(x, n), dft(w, n)

THEOREM = Theorem(
    "convolution-theorem", "The DFT diagonalizes circular convolution",
    r"\mathcal{F}(x \circledast w)_\kappa = \mathcal{F}(x)_\kappa\,\mathcal{F}(w)_\kappa,\quad"
    r"\mathcal{F}(x)_\kappa = \sum_{j \in N} x_j\, \omega^{\langle j, \kappa/n \rangle}",
)

DIAGONAL = THEOREM.export(Claim(
    "diagonal", transform[kappa], transform_x[kappa] * transform_w[kappa],
    text="for every period n, frequency κ and signals x, w on the torus, in any number of dims",
))


@THEOREM.evidence
def diagonalized():
    chi = lambda e: Character(n, kappa, e)  # noqa: E731
    period = in_range(t - j - n * r, n)  # [0 ≤ t - j - n∘r ≤ n - 1]: the r of the remainder
    after = in_range(u + j + n * r, n)
    proof = (
        Derivation(DIAGONAL.lhs, "F(x ⊛ w) = F(x)·F(w)")
        .by("definition",
            zsum(in_range(t, n) * chi(t) * in_range(j, n) * x[j] * w[sympy.Mod(t - j, n)], t, j),
            "unfold the transform and the circular convolution")
        .back("one period",
              zsum(in_range(t, n) * chi(t) * in_range(j, n) * period * x[j]
                   * w[sympy.Mod(t - j, n)], t, j, r),
              "exactly one r (per axis) puts t - j - n∘r in [0, n - 1]", var=r)
        .by("remainder in its box",
            zsum(in_range(t, n) * chi(t) * in_range(j, n) * period * x[j] * w[t - j - n * r],
                 t, j, r),
            "that t - j - n∘r is (t - j) mod n")
        .back("Kronecker delta",
              zsum(in_range(t, n) * chi(t) * in_range(j, n) * eq(u, t - j - n * r)
                   * in_range(u, n) * x[j] * w[u], t, j, r, u),
              "name the index u = t - j - n∘r that w is read at", var=u)
        .by("Kronecker delta",
            zsum(after * chi(u + j + n * r) * in_range(j, n) * in_range(u, n) * x[j] * w[u],
                 j, r, u),
            "sum over t instead: t = u + j + n∘r", var=t)
        .by("periodic character",
            zsum(after * chi(u + j) * in_range(j, n) * in_range(u, n) * x[j] * w[u], j, r, u),
            "χ has period n in its second argument")
        .by("one period", zsum(chi(u + j) * in_range(j, n) * in_range(u, n) * x[j] * w[u], j, u),
            "for each u and j exactly one r puts u + j + n∘r in [0, n - 1]", var=r)
        .by("character of a sum",
            zsum(chi(u) * chi(j) * in_range(j, n) * in_range(u, n) * x[j] * w[u], j, u),
            "χ turns the sum u + j into a product", var=u)
        .back("definition", DIAGONAL.rhs, "the sum over j and u is the product of two transforms",
              signals=(transform_x, transform_w))
    )
    return universal(DIAGONAL, proof)


def _transform(signal: Signal, label: str) -> Signal:
    return dft(signal, n, character_entry, name=f"F_exact({label})")


def _against_product(signal: Signal, label: str) -> Claim:
    """F(signal)[κ] = F(x)[κ]·F(w)[κ] with χ as entries chi[n, κ, j], for certificates in Q(ζ)."""
    return Claim("diagonal", _transform(signal, label)[kappa],
                 _transform(x, "x")[kappa] * _transform(w, "w")[kappa],
                 indices={kappa: in_range(kappa, n)})


def _points(dims=(1, 2)) -> list[Point]:
    sizes = {1: [(1,), (2,), (3,), (4,), (6,)], 2: [(2, 3), (3, 3)]}
    return [Point({n: size}, d) for d in dims for size in sizes[d]]


@THEOREM.evidence
def certificate():
    return torus_certified(_against_product(circ, "x(*)w"), _points(),
                           "exact with χ_n(κ, j) = ζ^(κ·j·M/n) in the cyclotomic field Q(ζ_M)")


@THEOREM.mutant("circular correlation in place of convolution (w read at (j - t) mod n)")
def correlation():
    wrong = Signal("x(*)w_corr", "c", lambda t_: zsum(
        in_range(j, n) * x[j] * w[sympy.Mod(j - t_, n)], j), arity=1)
    return torus_certified(_against_product(wrong, "corr"), _points((1,)))


@THEOREM.mutant("pointwise product in place of convolution: F(x·w) = F(x)·F(w)")
def pointwise_product():
    wrong = Signal("x.w", "x w", lambda t_: x[t_] * w[t_], arity=1)
    return torus_certified(_against_product(wrong, "prod"), _points((1,)))


@THEOREM.mutant("linear convolution without wrap-around, cut to [0, n - 1]")
def linear_convolution():
    wrong = Signal("x*w_cut", "c", lambda t_: zsum(
        in_range(j, n) * x[j] * in_range(t_ - j, n) * w[t_ - j], j), arity=1)
    return torus_certified(_against_product(wrong, "lin"), _points((1,)))


prove = THEOREM.prove
render = THEOREM.render
