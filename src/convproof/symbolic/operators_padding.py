"""Padding maps on one axis, their matrices and their transposes (the folds of the gradient).

One axis of size n padded by p before and q after has L = n + p + q positions; position j
copies x[π(j - p)] (zeros: nothing outside [p, p + n - 1]).  Each mode is a few *pieces*, a box
of positions and the source pixel read there:

    zeros      [p, p + n - 1] -> j - p
    replicate  [0, p - 1] -> 0          [p, p + n - 1] -> j - p   [p + n, L - 1] -> n - 1
    reflect    [0, p - 1] -> p - j      [p, p + n - 1] -> j - p   [p + n, L - 1] -> 2(n - 1) + p - j
    circular   [0, p - 1] -> j - p + n  [p, p + n - 1] -> j - p   [p + n, L - 1] -> j - p - n

valid where one reflection or wrap suffices: reflect needs p, q ≤ n - 1 (the border pixel is
not repeated), circular p, q ≤ n (spec.check_padding_fits).  Then

    pad(x)[j] = Σ_pieces [j ∈ box] x[source(j)] = Σ_u P[j, u] x[u],   P[j, u] = [π(j - p) = u],
    (Pᵀ g)[u] = Σ_j P[j, u] g[j] = Σ_pieces [source⁻¹(u) ∈ box] g[source⁻¹(u)]   (bijective)
                                            + [u = c] Σ_{j ∈ box} g[j]          (constant c).

An N-d padding is the product of the per-axis maps (pad the axes one after the other), so
its transpose is the product of the per-axis transposes.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import sympy
from sympy import Expr

from ..spec import check_padding_fits
from . import indexmaps
from .language import Signal, box, eq, le, product, scalar, zsum

MODES = ("zeros", "replicate", "reflect", "circular")
j_ = scalar("j")  # the bound position of a fold over a constant piece


@dataclass(frozen=True)
class Piece:
    """Padded positions low ≤ j ≤ high read x[source(j)]; source has slope ±1 or is constant."""

    low: Expr
    high: Expr
    source: Callable[[Expr], Expr]

    def box(self, position: Expr) -> Expr:
        return box(position, self.low, self.high)

    def inverse(self, pixel: Expr) -> Expr | None:
        """The position j with source(j) = pixel, or None for a constant source."""
        slope = sympy.expand(self.source(j_ + 1) - self.source(j_))
        if slope == 0:
            return None
        return sympy.expand((pixel - self.source(0)) / slope)


@dataclass(frozen=True)
class Axis:
    """One padded axis: size n, padding (p, q), its pieces and where they are valid."""

    mode: str
    n: Expr
    p: Expr
    q: Expr
    pieces: tuple[Piece, ...]

    @property
    def length(self) -> Expr:
        return self.n + self.p + self.q

    @property
    def validity(self) -> Expr:
        """[p ≤ n - 1][q ≤ n - 1] for reflect, [p ≤ n][q ≤ n] for circular, else 1."""
        slack = {"reflect": 1, "circular": 0}.get(self.mode)
        if slack is None:
            return sympy.S.One
        return le(self.p, self.n - slack) * le(self.q, self.n - slack)


def axis(mode: str, n: Expr, p: Expr, q: Expr) -> Axis:
    """The pieces of a padding mode on an axis of size n padded by (p, q)."""
    end = n + p + q - 1
    inside = Piece(p, p + n - 1, lambda j: j - p)
    borders = {
        "zeros": (),
        "replicate": (Piece(0, p - 1, lambda j: sympy.S.Zero), Piece(p + n, end, lambda j: n - 1)),
        "reflect": (Piece(0, p - 1, lambda j: p - j),
                    Piece(p + n, end, lambda j: 2 * (n - 1) + p - j)),
        "circular": (Piece(0, p - 1, lambda j: j - p + n), Piece(p + n, end, lambda j: j - p - n)),
    }
    if mode not in borders:
        raise ValueError(f"padding mode must be one of {', '.join(MODES)}, got {mode!r}")
    return Axis(mode, n, p, q, (inside,) + borders[mode])


def padded(x: Signal, ax: Axis, lead: int = 0, name: str | None = None) -> Signal:
    """pad(x)[..., j] = Σ_pieces [j ∈ box] x[..., source(j)] on the last of 1 + lead indices."""
    def entry(*indices):
        *front, j = indices
        return sympy.Add(*(piece.box(j) * x[(*front, piece.source(j))] for piece in ax.pieces))
    return Signal(name or f"pad_{ax.mode}({x.name})",
                  rf"\operatorname{{pad}}_{{\text{{{ax.mode}}}}}({x.latex})",
                  entry, arity=lead + 1)


def padding_matrix(ax: Axis, name: str | None = None) -> Signal:
    """P[j, u] = Σ_pieces [j ∈ box][u = source(j)]: the matrix of the padding."""
    return Signal(name or f"P_{ax.mode}", rf"P_{{\text{{{ax.mode}}}}}", lambda j, u: sympy.Add(
        *(piece.box(j) * eq(u, piece.source(j)) for piece in ax.pieces)), arity=2)


def fold_pieces(g_entry: Callable[[Expr], Expr], ax: Axis, pixel: Expr) -> list[Expr]:
    """(Pᵀ g)[pixel], one term per piece: a bijective piece gives back one entry, a constant
    one sums its whole box onto its pixel."""
    terms = []
    for piece in ax.pieces:
        position = piece.inverse(pixel)
        if position is None:
            terms.append(eq(pixel, piece.source(j_)) * zsum(piece.box(j_) * g_entry(j_), j_))
        else:
            terms.append(piece.box(position) * g_entry(position))
    return terms


def fold_terms(g_entry: Callable[[Expr], Expr], ax: Axis, pixel: Expr) -> Expr:
    """(Pᵀ g)[pixel] = the sum of :func:`fold_pieces`."""
    return sympy.Add(*fold_pieces(g_entry, ax, pixel))


def folded(g: Signal, ax: Axis, lead: int = 0, name: str | None = None) -> Signal:
    """(Pᵀ g)[..., u] on the last of 1 + lead indices (see :func:`fold_terms`)."""
    def entry(*indices):
        *front, u = indices
        return fold_terms(lambda j: g[(*front, j)], ax, u)
    return Signal(name or f"fold_{ax.mode}({g.name})",
                  rf"P_{{\text{{{ax.mode}}}}}^{{T}} {g.latex}", entry,
                  arity=lead + 1)


def fits(mode: str, pads, sizes) -> bool:
    """Whether spec.check_padding_fits accepts the padding (one reflection or wrap)."""
    try:
        check_padding_fits(mode, pads, sizes)
    except ValueError:
        return False
    return True


def table(term: Callable[[int, int], Expr], ax: Axis, grid: list[tuple[int, int, int]]) -> Expr:
    """Σ over the grid of (n₀, p₀, q₀) of [n = n₀][p = p₀][q = q₀]·Σ_t term(t + p₀, π(t)), with
    π = indexmaps.padding_source (t runs over -p₀ ... n₀ + q₀ - 1; zeros skips the t it drops):
    the index maps of the library, written as one expression at each size of the grid."""
    terms = []
    for n0, p0, q0 in grid:
        here = product((eq(ax.n, n0), eq(ax.p, p0), eq(ax.q, q0)))
        for t in range(-p0, n0 + q0):
            source = indexmaps.padding_source(ax.mode, t, n0)
            if source is not None:
                terms.append(here * term(t + p0, source))
    return sympy.Add(*terms)


__all__ = ["MODES", "Piece", "Axis", "axis", "padded", "padding_matrix", "fold_pieces",
           "fold_terms", "folded", "fits", "table"]
