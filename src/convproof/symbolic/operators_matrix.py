"""Operators of the matrix theorems: circulant, locally connected, tiled and lowered forms.

In the notation of :mod:`.operators` (x̃ the zero extension, s·i + d·m - p the read position):

    C[g, o, c, i, j]  = [j ∈ N] Σ_m [m ∈ K] w[g, o, c, m] [n | j - (s·i + d·m - p)]   circular pad
    U[g, o, c, i, j]  = Σ_m [m ∈ K] u[g, o, c, i, m] [j = s·i + d·m - p]          unshared matrix
    unshared(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] u[g, o, c, i, m] x̃[b, g, c, s·i + d·m - p]
    tie_t(v)[g, o, c, i, m] = v[g, o, c, i mod t, m]                          tiled weights
    col[b, g, c, m, i] = x̃[b, g, c, s·i + d·m - p]                            im2col (lowering)

A locally connected (unshared) layer has one kernel per output position; a tiled layer
cycles through t kernels (per axis: the kernel of position i is i mod t); the convolution
shares one.  The 2-D counting theorems use :class:`Plane`, one scalar symbol per axis, since
the number of points of a box of multi-indices is a product over axes that Z^D cannot write.
"""

from __future__ import annotations

import sympy
from sympy import Expr

from .language import Divides, Signal, eq, in_range, product, scalar, zsum
from .operators import Setting, c, m


def circulant(w: Signal, st: Setting, name: str = "C") -> Signal:
    """C[g, o, c, i, j] = [j ∈ N] Σ_m [m ∈ K] w[g, o, c, m] [n | j - (s·i + d·m - p)]: circular
    padding folds every read position onto the one column of [0, n - 1] congruent to it."""
    def entry(g_, o_, c_, i_, j_):
        return st.pixels(j_) * zsum(st.taps(m) * w[g_, o_, c_, m]
                                    * Divides(st.n, j_ - st.input_index(i_, m)), m)
    return Signal(name, name, entry, arity=5)


def unshared_matrix(u: Signal, st: Setting, name: str = "U") -> Signal:
    """U[g, o, c, i, j] = Σ_m [m ∈ K] u[g, o, c, i, m] [j = s·i + d·m - p]: the banded matrix
    whose row i has its own kernel u[·, ·, ·, i, ·]."""
    return Signal(name, name, lambda g_, o_, c_, i_, j_: zsum(
        st.taps(m) * u[g_, o_, c_, i_, m] * eq(j_, st.input_index(i_, m)), m), arity=5)


def unshared_correlation(x: Signal, u: Signal, st: Setting, name: str = "unshared") -> Signal:
    """y[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] u[g, o, c, i, m] x̃[b, g, c, s·i + d·m - p]."""
    def entry(b_, g_, o_, i_):
        j_ = st.input_index(i_, m)
        return zsum(st.inputs(c) * st.taps(m) * u[g_, o_, c, i_, m] * st.pixels(j_)
                    * x[b_, g_, c, j_], c, m)
    return Signal(name, rf"\operatorname{{unshared}}({x.latex})", entry, arity=4)


def tied(v: Signal, period: Expr, name: str = "tie") -> Signal:
    """tie_t(v)[g, o, c, i, m] = v[g, o, c, i mod t, m]: output position i uses kernel i mod t."""
    return Signal(name, rf"\operatorname{{tie}}({v.latex})",
                  lambda g_, o_, c_, i_, m_: v[g_, o_, c_, sympy.Mod(i_, period), m_], arity=5)


def tiled_correlation(x: Signal, v: Signal, st: Setting, period: Expr,
                      name: str = "tiled") -> Signal:
    """y[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] v[g, o, c, i mod t, m] x̃[b, g, c, s·i + d·m - p]:
    the unshared correlation of the tied kernels."""
    def entry(b_, g_, o_, i_):
        j_ = st.input_index(i_, m)
        return zsum(st.inputs(c) * st.taps(m) * v[g_, o_, c, sympy.Mod(i_, period), m]
                    * st.pixels(j_) * x[b_, g_, c, j_], c, m)
    return Signal(name, rf"\operatorname{{tiled}}({x.latex})", entry, arity=4)


def im2col(x: Signal, st: Setting, name: str = "col") -> Signal:
    """col[b, g, c, m, i] = x̃[b, g, c, s·i + d·m - p]: row (c, m), column (b, i) of the
    lowered input of group g."""
    def entry(b_, g_, c_, m_, i_):
        j_ = st.input_index(i_, m_)
        return st.pixels(j_) * x[b_, g_, c_, j_]
    return Signal(name, rf"\operatorname{{im2col}}({x.latex})", entry, arity=5)


class Plane:
    """The sizes of a valid (unpadded) convolution, one scalar symbol per axis (default h, w).

    Per axis a: input n_a, output o_a, taps k_a, stride s_a, dilation d_a and the rows
    r_a ≥ 0 that the floor rule leaves unused, tied by the hypotheses

        n_a = s_a(o_a - 1) + d_a(k_a - 1) + 1 + r_a,

    the output size o = floor((n - d(k - 1) - 1)/s) + 1 read backwards (0 ≤ r < s).  Then
    every tap of every output reads inside the input.
    """

    def __init__(self, axes: tuple[str, ...] = ("h", "w")):
        self.axes = axes
        self.n = self.per_axis("n", positive=True)
        self.o = self.per_axis("o", positive=True)
        self.k = self.per_axis("k", positive=True)
        self.s = self.per_axis("s", positive=True)
        self.d = self.per_axis("d", positive=True)
        self.r = self.per_axis("r", nonnegative=True)
        self.i, self.j, self.m = (self.per_axis(letter) for letter in "ijm")
        self.valid = tuple(
            sympy.Eq(n, s * (o - 1) + d * (k - 1) + 1 + r, evaluate=False)
            for n, o, k, s, d, r in zip(self.n, self.o, self.k, self.s, self.d, self.r))
        self.hits = Signal("N", "N", self._hits, arity=2 * len(axes))

    def per_axis(self, letter: str, **assumptions) -> tuple:
        """One scalar symbol letter_a per axis a."""
        return tuple(scalar(f"{letter}_{axis}", **assumptions) for axis in self.axes)

    @staticmethod
    def box(indices, sizes) -> Expr:
        """Π_a [0 ≤ index_a ≤ size_a - 1]."""
        return product(in_range(v, size) for v, size in zip(indices, sizes))

    def positions(self, i=None) -> Expr:
        return self.box(i or self.i, self.o)

    def pixels(self, j=None) -> Expr:
        return self.box(j or self.j, self.n)

    def taps(self, m=None) -> Expr:
        return self.box(m or self.m, self.k)

    def reads(self, i, m) -> tuple[Expr, ...]:
        """s_a·i_a + d_a·m_a per axis: the pixel that tap m of output i reads (no padding)."""
        return tuple(s * ia + d * ma for s, d, ia, ma in zip(self.s, self.d, i, m))

    def _hits(self, *indices) -> Expr:
        """N[i, j] = Σ_m [m ∈ K] Π_a [j_a = s_a i_a + d_a m_a]: how many taps of output i read
        pixel j, the pattern of the banded matrix A (A with every weight 1)."""
        i, j = indices[:len(self.axes)], indices[len(self.axes):]
        lands = product(eq(ja, read) for ja, read in zip(j, self.reads(i, self.m)))
        return zsum(self.taps() * lands, *self.m)


__all__ = ["circulant", "unshared_matrix", "unshared_correlation", "tied", "tiled_correlation",
           "im2col", "Plane"]
