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

From r_0 = 1 and J_1 = 1 the fields and jumps of the stack follow layer after layer,

    r_l = r_{l-1} + d_l(k_l - 1)·J_l (l ≥ 1),    J_{l+1} = J_l·s_l,

so J_l = Π_{i<l} s_i (the product, by its recursive definition), and by induction on L

    r_L = R(L) := 1 + Σ_l [1 ≤ l ≤ L] d_l(k_l - 1) J_l:

r_0 = 1 = R(0) (an empty sum), and from r_L = R(L), r_{L+1} = R(L) + d_{L+1}(k_{L+1} - 1)
J_{L+1} = R(L + 1) (the sum's last term split off).  Stacks of 1 to 4 layers are also
unrolled against the closed form with the product written out.  The field is the span from
the first to the last pixel read; with a dilation larger than the field below it, pixels
inside the span are skipped.
"""

from __future__ import annotations

import sympy
from sympy import Expr

from convproof.symbolic import (Claim, Derivation, Point, Signal, Theorem, certified, eq,
                                in_range, induction, le, scalar, universal, zsum)
from convproof.symbolic.indexmaps import forward_input_index
from convproof.symbolic.rules_sums import every

k, s, d, jump, field = scalar("k s d J r", positive=True)
p = scalar("p", nonnegative=True)
offset, u, m = scalar("f u m")
layers = scalar("L", nonnegative=True)
layer = scalar("l")
above = scalar("q", positive=True)
kernels, strides, dilations, jumps, fields = (
    Signal(f"{name}_l", name) for name in ("k", "s", "d", "J", "r"))


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


def added(index) -> Expr:
    """d_l(k_l - 1)·J_l: what layer l adds to the field below it."""
    return dilations[index] * (kernels[index] - 1) * jumps[index]


NO_LAYERS = sympy.Eq(fields[0], 1, evaluate=False)
LAYER_AFTER_LAYER = every((above,), fields[above], fields[above - 1] + added(above))
STACK = THEOREM.export(Claim(
    "the stack", fields[layers], stacked(layers), hypotheses=(NO_LAYERS, LAYER_AFTER_LAYER),
    text="the field r_L of L layers, r_0 = 1 and r_l = r_{l-1} + d_l(k_l - 1)·J_l by 'one "
         "more layer', with the jumps J_1 = 1, J_{l+1} = J_l·s_l by 'the jump': "
         "J_l = Π_{i<l} s_i",
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


def by_induction(claim: Claim) -> list:
    """The stack's field from one layer to the next (:data:`STACK`; a wrong claim fails)."""
    empty = le(1, layer) * le(layer, 0) * added(layer)
    base = (
        Derivation(fields[0], "no layers")
        .by("entry hypothesis", 1, "r_0 = 1", equation=NO_LAYERS)
        .back("empty box", 1 + zsum(empty, layer), "no l has 1 ≤ l ≤ 0")
    )
    assumed = sympy.Eq(claim.lhs, claim.rhs, evaluate=False)
    last = le(1, layer) * eq(layer, layers + 1) * added(layer)
    step = (
        Derivation(fields[layers + 1], "one more layer")
        .by("entry hypothesis", fields[layers] + added(layers + 1),
            "r_{L+1} = r_L + d_{L+1}(k_{L+1} - 1)·J_{L+1}", equation=LAYER_AFTER_LAYER)
        .by("entry hypothesis", stacked(layers) + added(layers + 1),
            "the claim for L layers", equation=assumed)
        .back("decide brackets", stacked(layers) + le(0, layers) * added(layers + 1),
              "1 ≤ L + 1 since L ≥ 0")
        .back("Kronecker delta", stacked(layers) + zsum(last, layer), "the term l = L + 1",
              var=layer)
        .back("split the last term", stacked(layers + 1),
              "l ≤ L + 1 is l ≤ L or l = L + 1", var=layer)
    )
    return induction(claim, layers, base, step)


@THEOREM.evidence
def stack():
    return by_induction(STACK)


@THEOREM.mutant("the stack's field without the dilations")
def stack_without_dilations():
    wrong = 1 + zsum(le(1, layer) * le(layer, layers) * (kernels[layer] - 1) * jumps[layer],
                     layer)
    return by_induction(Claim("the stack", fields[layers], wrong, STACK.hypotheses))


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
