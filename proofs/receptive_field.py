"""receptive-field: a stack of L layers sees r_L = 1 + Σ_l d_l(k_l - 1)·Π_{i<l} s_i inputs.

Along one axis, let the first layers map their output position v onto the input positions
[J·v + f, J·v + f + r - 1]: a receptive field of r pixels whose start moves by the jump J
per output position.  A further layer (kernel k, stride s, dilation d, padding p) reads, for
its output u, the positions v_m = s·u + d·m - p of taps m = 0 ... k - 1 (the forward index
map).  Every tap's field lies between the first tap's start and the last tap's end:

    [0 ≤ m ≤ k - 1]·[J·v_0 + f ≤ J·v_m + f]·[J·v_m + f + r - 1 ≤ J·v_{k-1} + f + r - 1]
        = [0 ≤ m ≤ k - 1],

so the new field is [J·v_0 + f, J·v_{k-1} + f + r - 1], of

    r' = r + d(k - 1)·J pixels, with jump J' = J·s and offset f' = f - J·p.

From r_0 = 1, J_1 = 1 the jumps are J_l = Π_{i<l} s_i and, by induction on L,

    r_L = R(L) := 1 + Σ_l [1 ≤ l ≤ L] d_l(k_l - 1) J_l:

R(0) = 1 (an empty sum) and R(L + 1) = R(L) + d_{L+1}(k_{L+1} - 1) J_{L+1}, the same
recursion as r_L.  The field is the span from the first to the last pixel read; with a
dilation larger than the field below it, pixels inside the span are skipped.
"""

from __future__ import annotations

import sympy
from sympy import Expr

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, le, scalar, universal, zsum)
from convproof.symbolic.indexmaps import forward_input_index
from convproof.symbolic import rules_sums  # noqa: F401  (registers the rules used below)

k, s, d, jump, field = scalar("k s d J r", positive=True)
p = scalar("p", nonnegative=True)
offset, u, m = scalar("f u m")
layers = scalar("L", nonnegative=True)
layer = scalar("l")
kernels, strides, dilations, jumps = (Signal(name) for name in ("k_l", "s_l", "d_l", "J_l"))


def read(tap) -> Expr:
    """v_m = s·u + d·m - p: the position of the layer below that tap m of output u reads."""
    return forward_input_index(u, tap, s, d, p)


def first(v) -> Expr:
    """The first input pixel of position v of the layer below: J·v + f."""
    return jump * v + offset


def last(v) -> Expr:
    """The last input pixel of position v of the layer below: J·v + f + r - 1."""
    return jump * v + offset + field - 1


def stacked(count) -> Expr:
    """R(L) = 1 + Σ_l [1 ≤ l ≤ L] d_l(k_l - 1) J_l."""
    return 1 + zsum(le(1, layer) * le(layer, count) * dilations[layer] * (kernels[layer] - 1)
                    * jumps[layer], layer)


THEOREM = Theorem(
    "receptive-field", "The receptive field of stacked layers",
    r"r_L = 1 + \sum_{l=1}^{L} d_l (k_l - 1) \prod_{i<l} s_i,\qquad "
    r"r' = r + d(k-1) J,\ J' = J s",
    notes=("The receptive field is the span from the first to the last input pixel read; "
           "a dilation larger than the field below it leaves pixels of that span unread.",),
)

EXTREMES = THEOREM.export(Claim(
    "extreme taps", in_range(m, k) * le(first(read(0)), first(read(m)))
    * le(last(read(m)), last(read(k - 1))), in_range(m, k),
    text="every tap's field lies between the first tap's start and the last tap's end",
))
EXTENT = THEOREM.export(Claim(
    "one more layer", last(read(k - 1)) - first(read(0)) + 1, field + d * (k - 1) * jump,
    text="r' = r + d(k - 1)·J",
))
JUMP = THEOREM.export(Claim(
    "the jump", first(read(0)).subs(u, u + 1) - first(read(0)), jump * s,
    text="J' = J·s: the next output's field starts J·s pixels later",
))
BASE = THEOREM.export(Claim("no layers", stacked(0), 1, text="R(0) = 1"))
STEP = THEOREM.export(Claim(
    "one more term", stacked(layers + 1),
    stacked(layers) + dilations[layers + 1] * (kernels[layers + 1] - 1) * jumps[layers + 1],
    text="R(L + 1) = R(L) + d_{L+1}(k_{L+1} - 1) J_{L+1}: the recursion of r_L",
))


@THEOREM.evidence
def one_layer():
    extremes = (
        Derivation(EXTREMES.lhs, "the taps' fields lie between the extreme taps")
        .by("implied bracket", EXTREMES.rhs,
            "J·v_m - J·v_0 = J·d·m ≥ 0 and J·v_{k-1} - J·v_m = J·d·(k - 1 - m) ≥ 0 for taps "
            "0 ≤ m ≤ k - 1")
    )
    extent = Derivation(EXTENT.lhs, "the new field").by(
        "algebra", EXTENT.rhs, "(J·(v_0 + d(k - 1)) + f + r - 1) - (J·v_0 + f) + 1")
    step = Derivation(JUMP.lhs, "the new jump").by(
        "algebra", JUMP.rhs, "J·(s·(u + 1) - p) - J·(s·u - p)")
    return [universal(EXTREMES, extremes), universal(EXTENT, extent), universal(JUMP, step)]


@THEOREM.evidence
def induction():
    base = Derivation(BASE.lhs, "R(0)").by("empty box", 1, "no l has 1 ≤ l ≤ 0")
    term = dilations[layers + 1] * (kernels[layers + 1] - 1) * jumps[layers + 1]
    step = (
        Derivation(STEP.lhs, "R(L + 1)")
        .by("split the last term", stacked(layers) + zsum(
            le(1, layer) * eq(layer, layers + 1) * dilations[layer] * (kernels[layer] - 1)
            * jumps[layer], layer), "l ≤ L + 1 is l ≤ L or l = L + 1", var=layer)
        .by("Kronecker delta", stacked(layers) + le(0, layers) * term, "the term l = L + 1",
            var=layer)
        .by("decide brackets", STEP.rhs, "1 ≤ L + 1 since L ≥ 0")
    )
    return [universal(BASE, base), universal(STEP, step)]


# --------------------------------------------------------------------------------------------
# Stacks of a given depth: the recursion unrolled against the closed form
# --------------------------------------------------------------------------------------------

def unrolled(depth: int) -> Expr:
    """r_L from r_0 = 1, J = 1 by r' = r + d(k - 1)·J, J' = J·s, layer after layer."""
    size, step = sympy.S.One, sympy.S.One
    for index in range(1, depth + 1):
        size += dilations[index] * (kernels[index] - 1) * step
        step *= strides[index]
    return size


def closed_form(depth: int, below=lambda index: range(1, index), dilated: bool = True) -> Expr:
    """1 + Σ_{l ≤ L} d_l(k_l - 1) Π_{i<l} s_i (``below`` says which strides the product takes)."""
    return 1 + sympy.Add(*(
        (dilations[index] if dilated else 1) * (kernels[index] - 1)
        * sympy.Mul(*(strides[i] for i in below(index))) for index in range(1, depth + 1)))


DEPTHS = (1, 2, 3, 4)


def _depth_point(depth: int) -> Point:
    """The sizes are entries of k_l, s_l, d_l: a depth is the only value a point gives."""
    return Point({}, 1, label={"L": depth})


def _depth_claim(depth: int, rhs: Expr) -> Claim:
    return Claim(f"{depth} layers", unrolled(depth), rhs, text=f"a stack of {depth} layers")


@THEOREM.evidence
def stacks():
    return [certified(_depth_claim(depth, closed_form(depth)), [_depth_point(depth)],
                      f"{depth} layers: exact for all kernels, strides and dilations")
            for depth in DEPTHS]


@THEOREM.mutant("receptive field with the product over i ≤ l")
def product_too_long():
    wrong = closed_form(3, below=lambda index: range(1, index + 1))
    return certified(_depth_claim(3, wrong), [_depth_point(3)])


@THEOREM.mutant("receptive field without the dilation")
def dilation_missing():
    return certified(_depth_claim(3, closed_form(3, dilated=False)), [_depth_point(3)])


prove = THEOREM.prove
render = THEOREM.render
