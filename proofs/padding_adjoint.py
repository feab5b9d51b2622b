"""padding-adjoint: padding is a linear map P, and the backward pass through it is Pᵀ.

On one axis of size n padded by p before and q after (L = n + p + q positions), every mode
copies x[π(j - p)] to position j (zeros: only for 0 ≤ j - p ≤ n - 1), so pad(x) = P x with
P[j, u] = [π(j - p) = u], and for every error g

    ∂⟨pad(x), g⟩/∂x[u] = Σ_j P[j, u] g[j] = (Pᵀ g)[u],       ⟨pad(x), g⟩ = ⟨x, Pᵀ g⟩,

where (Pᵀ g)[u] folds the gradient of every padded position back onto the pixel it copies:

    zeros      (Pᵀ g)[u] = [0 ≤ u ≤ n - 1] g[u + p]                                  (a crop)
    replicate  ... + [u = 0] Σ_{j=0}^{p-1} g[j] + [u = n - 1] Σ_{j=p+n}^{L-1} g[j]
    reflect    ... + [1 ≤ u ≤ p] g[p - u] + [n - 1 - q ≤ u ≤ n - 2] g[p + 2(n - 1) - u]
    circular   ... + [n - p ≤ u ≤ n - 1] g[u + p - n] + [0 ≤ u ≤ q - 1] g[u + p + n]

("..." is the crop).  The gradient formula holds for every p and q; the inner-product form
needs the padding to fit, reflect p, q ≤ n - 1 and circular p, q ≤ n (one reflection or wrap),
so that every copied pixel is a pixel of x.  The maps π are those of indexmaps (reflect_source,
replicate_source, circular_source), certified position by position on a grid.  In N dims the
padding is the product of the per-axis maps, P = P_1 ⊗ ... ⊗ P_D, and its transpose the product
of the transposes (proved below for two axes; more axes by induction).

The notes treat the backward pass for zero padding only (a crop); reflect and replicate are
not crops: replicate adds every left-padding gradient to u = 0, reflect adds the gradient of
position p - u to pixel u (the border pixel itself is not mirrored).
"""

from __future__ import annotations

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, scalar, universal, zsum)
from convproof.symbolic import rules_backward  # noqa: F401  (registers "implied by the product")
from convproof.symbolic.indexmaps import PADDING_SOURCE_EXPR
from convproof.symbolic.language import Partial
from convproof.symbolic.operators_padding import (MODES, Axis, Piece, axis, fold_pieces,
                                                  fits, fold_terms, folded, padded,
                                                  padding_matrix, table)

n = scalar("n", positive=True)
p, q = scalar("p q", nonnegative=True)
j, u = scalar("j u")
u1 = scalar("u'")
x, grad = Signal("x"), Signal("g")
AXES = {mode: axis(mode, n, p, q) for mode in MODES}
PADDED = {mode: padded(x, ax) for mode, ax in AXES.items()}
FOLDED = {mode: folded(grad, ax) for mode, ax in AXES.items()}
MATRICES = {mode: padding_matrix(ax) for mode, ax in AXES.items()}

THEOREM = Theorem(
    "padding-adjoint", "Padding is a linear map; its backward pass is the transpose",
    r"\operatorname{pad}(x) = P x,\ P_{j,u} = [\pi(j - p) = u],\quad "
    r"\frac{\partial \langle \operatorname{pad}(x), g\rangle}{\partial x_u} = (P^{T} g)_u",
    notes=("The notes name reflection and replication padding beside zero padding (the "
           "quoted abstract of a padding paper) but give the backward pass for zero padding "
           "only, a crop; reflect and replicate padding are not undone by a crop: "
           "replicate adds all left-padding gradients to pixel 0 (and the right ones to n - 1), "
           "reflect adds the gradient of position p - u to pixel u, 1 ≤ u ≤ p (the border pixel "
           "is not repeated; repeating it is the 'symmetric' mode), circular wraps them around.",),
)


def padded_inner(ax: Axis, entry) -> object:
    """⟨pad(x), g⟩ = Σ_j [0 ≤ j ≤ L - 1] pad(x)[j] g[j]."""
    return zsum(in_range(j, ax.length) * entry(j) * grad[j], j)


def _adjoint_claim(mode: str) -> Claim:
    ax, pad, fold = AXES[mode], PADDED[mode], FOLDED[mode]
    return THEOREM.export(Claim(
        f"{mode}: adjoint", ax.validity * padded_inner(ax, lambda e: pad[e]),
        ax.validity * zsum(in_range(u, n) * x[u] * fold[u], u),
        text=f"⟨pad(x), g⟩ = ⟨x, Pᵀ g⟩ for {mode} padding that fits"))


def _gradient_claim(mode: str) -> Claim:
    pad = PADDED[mode]
    return THEOREM.export(Claim(
        f"{mode}: gradient", Partial(padded_inner(AXES[mode], lambda e: pad[e]), x[u1]),
        FOLDED[mode][u1], indices={u1: in_range(u1, n)},
        text=f"the backward pass through {mode} padding is its explicit fold, every p and q"))


ADJOINTS = {mode: _adjoint_claim(mode) for mode in MODES}
GRADIENTS = {mode: _gradient_claim(mode) for mode in MODES}


def _pieces(ax: Axis, factor, entry) -> object:
    """Σ over the pieces of [j ∈ box]·factor(piece)·entry(source(j))·g[j] (summed over j
    by the caller)."""
    return sum(piece.box(j) * factor(piece) * entry(piece.source(j)) for piece in ax.pieces) \
        * grad[j]


def _adjoint_evidence(mode: str):
    ax, claim = AXES[mode], ADJOINTS[mode]
    V = ax.validity
    pieces = fold_pieces(lambda e: grad[e], ax, u)
    boxed = V * zsum(in_range(u, n) * x[u] * sum(pieces), u)
    proof = (
        Derivation(claim.lhs, f"{mode}: ⟨pad(x), g⟩ = ⟨x, Pᵀ g⟩")
        .by("definition",
            V * zsum(in_range(j, ax.length) * sum(piece.box(j) * x[piece.source(j)]
                                                  for piece in ax.pieces) * grad[j], j),
            "unfold the padding: position j copies x[π(j - p)]", signals=(PADDED[mode],))
        .by("implied bracket", V * zsum(_pieces(ax, lambda piece: 1, lambda s: x[s]), j),
            "each piece lies in [0, L - 1]")
        .back("Kronecker delta",
              V * zsum(_pieces(ax, lambda piece: eq(u, piece.source(j)), lambda s: x[u]), u, j),
              "name the pixel u = π(j - p) that position j copies", var=u)
        .by("Kronecker delta", V * zsum(x[u] * sum(pieces), u),
            "for each pixel u, solve π(j - p) = u on every piece where π moves with j", var=j)
    )
    if mode == "zeros":
        proof.by("algebra", boxed, "the crop reads g[u + p] only for 0 ≤ u ≤ n - 1")
    elif mode == "replicate":
        pixel = [piece.source(j) if piece.inverse(u) is None else u for piece in ax.pieces]
        proof.by("use the delta", V * zsum(sum(x[c] * t for c, t in zip(pixel, pieces)), u),
                 "a border term sits at u = 0 or u = n - 1", var=u)
        proof.back("decide brackets",
                   V * zsum(sum(in_range(c, n) * x[c] * t for c, t in zip(pixel, pieces)), u),
                   "the border pixels 0 and n - 1 are pixels: 0 ≤ n - 1")
        proof.back("use the delta", boxed, "so the pixel box holds there", var=u)
    else:
        proof.back("implied by the product", boxed,
                   "each piece maps into [0, n - 1] when p and q fit: one reflection or wrap")
    proof.back("definition", claim.rhs, "that is ⟨x, Pᵀ g⟩", signals=(FOLDED[mode],))
    return universal(claim, proof)


def _gradient_evidence(mode: str):
    ax, claim = AXES[mode], GRADIENTS[mode]
    copies = _pieces(ax, lambda piece: eq(piece.source(j), u1), lambda s: 1)
    proof = (
        Derivation(claim.lhs, f"{mode}: the backward pass through the padding")
        .by("differentiate", zsum(in_range(j, ax.length) * copies, j),
            "∂x[π(j - p)]/∂x[u'] = [π(j - p) = u']")
        .back("definition", zsum(in_range(j, ax.length) * MATRICES[mode][j, u1] * grad[j], j),
              "Σ_j P[j, u'] g[j] = (Pᵀ g)[u']", signals=(MATRICES[mode],))
        .by("definition", zsum(in_range(j, ax.length) * copies, j),
            "the entries of P, piece by piece", signals=(MATRICES[mode],))
        .by("implied bracket", zsum(copies, j), "each piece lies in [0, L - 1]")
        .by("Kronecker delta", fold_terms(lambda e: grad[e], ax, u1),
            "solve π(j - p) = u' on every piece where π moves with j", var=j)
        .back("definition", claim.rhs, "the fold", signals=(FOLDED[mode],))
    )
    return universal(claim, proof)


@THEOREM.evidence
def adjoints():
    return [_adjoint_evidence(mode) for mode in MODES]


@THEOREM.evidence
def gradients():
    return [_gradient_evidence(mode) for mode in MODES]


# --- two axes: the transpose of a product is the product of the transposes -----------------
N1, N2, L1, L2 = scalar("N_1 N_2 L_1 L_2", positive=True)
j2, u2 = scalar("j_2 u_2")
P1, P2 = Signal("P"), Signal("Q")
both = (in_range(j, L1) * in_range(j2, L2) * in_range(u, N1) * in_range(u2, N2)
        * P1[j, u] * P2[j2, u2])
pad2 = Signal("pad2", r"(P \otimes Q) x", lambda a, c: zsum(
    in_range(u, N1) * in_range(u2, N2) * P1[a, u] * P2[c, u2] * x[u, u2], u, u2), arity=2)
fold2 = Signal("fold2", r"(P^{T} \otimes Q^{T}) g", lambda a, c: zsum(
    in_range(j, L1) * in_range(j2, L2) * P1[j, a] * P2[j2, c] * grad[j, j2], j, j2), arity=2)
PRODUCT = THEOREM.export(Claim(
    "two axes", zsum(in_range(j, L1) * in_range(j2, L2) * pad2[j, j2] * grad[j, j2], j, j2),
    zsum(in_range(u, N1) * in_range(u2, N2) * x[u, u2] * fold2[u, u2], u, u2),
    text="⟨(P ⊗ Q) x, g⟩ = ⟨x, (Pᵀ ⊗ Qᵀ) g⟩ for any per-axis matrices P and Q"))


@THEOREM.evidence
def two_axes():
    proof = (
        Derivation(PRODUCT.lhs, "(P ⊗ Q)ᵀ = Pᵀ ⊗ Qᵀ")
        .by("definition", zsum(both * x[u, u2] * grad[j, j2], j, j2, u, u2),
            "unfold the two-axis padding", signals=(pad2,))
        .back("definition", PRODUCT.rhs, "gather by pixel (u, u₂): the transposes, axis by axis",
              signals=(fold2,))
    )
    return universal(PRODUCT, proof)


# --- the maps of indexmaps, position by position -------------------------------------------
_GRID = [(1, 0, 0), (3, 2, 1), (2, 2, 2), (2, 3, 1), (2, 1, 1), (4, 3, 2), (5, 1, 4)]
"""(n, p, q): p > n, p = n and p < n; reflect takes only p, q < n: five points reach it."""


def _grid(mode: str) -> list[tuple[int, int, int]]:
    """The sizes (n, p, q) of the grid where spec.check_padding_fits accepts the mode."""
    return [(n0, p0, q0) for n0, p0, q0 in _GRID if fits(mode, ((p0, q0),), (n0,))]


def _table_evidence(mode: str, pieces: tuple[Piece, ...] | None = None) -> list:
    """pad(x) and Pᵀ g against the indexmaps tables at every point of the grid."""
    ax = AXES[mode]
    shown = ax if pieces is None else Axis(mode, n, p, q, pieces)
    grid = _grid(mode)
    points = [Point({n: n0, p: p0, q: q0}, 1) for n0, p0, q0 in grid]
    pad_claim = Claim(f"{mode}: π is indexmaps", padded(x, shown, name="pad_t")[j],
                      table(lambda jj, s: eq(j, jj) * x[s], ax, grid),
                      indices={j: in_range(j, ax.length)})
    fold_claim = Claim(f"{mode}: Pᵀ is indexmaps'", fold_terms(lambda e: grad[e], shown, u),
                       table(lambda jj, s: eq(u, s) * grad[jj], ax, grid),
                       indices={u: in_range(u, n)})
    return [certified(pad_claim, points, f"{mode}: the copied pixels are indexmaps.padding_source"),
            certified(fold_claim, points, f"{mode}: the fold gathers what indexmaps copies")]


@THEOREM.evidence
def index_maps():
    return [e for mode in MODES for e in _table_evidence(mode)]


# --- the expressions the kernels print ------------------------------------------------------
position = scalar("t")  # the padded position relative to the input, j - p
for _mode, _source in PADDING_SOURCE_EXPR.items():
    THEOREM.expressions[f"{_mode}_source"] = _source(position, n)


@THEOREM.evidence
def printed_maps():
    """The integer expressions the GPU kernels print read the same pixel as the proved map."""
    evidence = []
    for mode in PADDING_SOURCE_EXPR:
        source = THEOREM.expressions[f"{mode}_source"].subs(position, j - p)
        claim = Claim(f"{mode}: the printed π", PADDED[mode][j], x[source],
                      indices={j: in_range(j, AXES[mode].length)})
        points = [Point({n: n0, p: p0, q: q0}, 1) for n0, p0, q0 in _grid(mode)]
        evidence.append(certified(claim, points, f"{mode}: the printed source expression"))
    return evidence


@THEOREM.mutant("reflect that repeats the border pixel (symmetric mode)")
def symmetric():
    ax = AXES["reflect"]
    repeated = (ax.pieces[0], Piece(0, p - 1, lambda k: p - 1 - k),
                Piece(p + n, ax.length - 1, lambda k: 2 * n - 1 + p - k))
    return _table_evidence("reflect", repeated)


@THEOREM.mutant("replicate padding whose backward pass is the crop (no fold)")
def replicate_crop():
    claim = Claim("replicate: gradient", GRADIENTS["replicate"].lhs, FOLDED["zeros"][u1],
                  indices={u1: in_range(u1, n)})
    return certified(claim, [Point({n: 3, p: 2, q: 1}, 1)])


@THEOREM.mutant("circular padding that wraps the left border from the left end")
def circular_wrong_wrap():
    ax = AXES["circular"]
    wrong = (ax.pieces[0], Piece(0, p - 1, lambda k: k), ax.pieces[2])
    return _table_evidence("circular", wrong)


prove = THEOREM.prove
render = THEOREM.render
