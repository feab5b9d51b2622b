"""conv-arithmetic-relations: the 15 relationships of Dumoulin & Visin as corollaries.

"A guide to convolution arithmetic for deep learning" states fifteen output-size relations.
Here, in the library's terms: the input size i is n, the symmetric padding is p_lo = p_hi = p,
o is the number of window positions (output-size), and the transposed convolution of a conv
is ConvSpec.transposed_output_size of the same spec, on an input of i' = m positions, with
output_padding a (transposed-output-size).  Relations 1-7 and 15 (the kernel fits):

     1. s = 1, p = 0:             o = (i - k) + 1
     2. s = 1:                    o = (i - k) + 2p + 1
     3. s = 1, k = 2h + 1, p = h: o = i                          ("half" or "same")
     4. s = 1, p = k - 1:         o = i + (k - 1)                ("full")
     5. p = 0:                    o = floor((i - k)/s) + 1
     6.                           o = floor((i + 2p - k)/s) + 1
     7. pooling, no padding:      o = floor((i - k)/s) + 1       (PoolSpec.output_size)
    15. dilation d:               o = floor((i + 2p - k - (k - 1)(d - 1))/s) + 1

Relations 8-14, the transposed conv (a = 0 unless stated), each with the direct conv it
equals (k' = k, s' = 1, padding p' on the input, stretched by s - 1 zeros between units when
s > 1, that is (i' - 1)s + 1 positions, and a further a zeros at the end in 14):

     8. s = 1, p = 0:             p' = k - 1,      o' = i' + (k - 1)
     9. s = 1:                    p' = k - p - 1,  o' = i' + (k - 1) - 2p
    10. s = 1, k = 2h + 1, p = h: p' = p,          o' = i'
    11. s = 1, p = k - 1:         p' = 0,          o' = i' - (k - 1)
    12. p = 0 (s | i - k):        p' = k - 1,      o' = s(i' - 1) + k
    13. s | i + 2p - k:           p' = k - p - 1,  o' = s(i' - 1) + k - 2p
    14. a = (i + 2p - k) mod s:   p' = k - p - 1,  o' = s(i' - 1) + a + k - 2p,
        and with i' = o(i) this is i: the transposed conv restores the input size.

The divisibility conditions of 12 and 13 say that (i + 2p - k) mod s = 0, i.e. that a = 0 is
the output padding of 14 that restores i.  Where p' = k - p - 1 is used, p ≤ k - 1 (a
negative padding would be a crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr

from convproof.proofs.output_size import (axis_point, axis_setting, kernel_fits,
                                          window_positions)
from convproof.spec import ConvSpec, PoolSpec
from convproof.symbolic import Claim, Derivation, Theorem, certified, scalar, universal
from convproof.symbolic.language import substitute
from convproof.symbolic.normal import provably_nonneg
from convproof.symbolic import rules_sizes  # noqa: F401  (registers the rules used below)

st = axis_setting()
n, k, s, d, p, a = st.n, st.k, st.s, st.d, st.p, st.a
m = scalar("m", positive=True)                        # i': the transposed conv's input size
h = scalar("h", nonnegative=True)                      # half the span of an odd kernel
padded = scalar("P", nonnegative=True)                # p': the direct conv's padding
symmetric = {st.q: p}

THEOREM = Theorem(
    "conv-arithmetic-relations", "The fifteen relationships of convolution arithmetic",
    r"o = \left\lfloor \frac{i + 2p - k - (k-1)(d-1)}{s} \right\rfloor + 1,\quad "
    r"o' = s(i' - 1) + a + k - 2p,\ \text{and their special cases}",
    depends=("output-size", "transposed-output-size"),
)


def _eq(symbol, value) -> sympy.Eq:
    return sympy.Eq(symbol, value, evaluate=False)


HYPOTHESES = {  # the conditions of the relations, as substitutions with their reading
    "d=1": (_eq(d, 1), "no dilation"), "s=1": (_eq(s, 1), "unit stride"),
    "p=0": (_eq(p, 0), "no padding"), "a=0": (_eq(a, 0), "no output padding"),
    "k odd": (_eq(k, 2 * h + 1), "an odd kernel k = 2h + 1"),
    "p=h": (_eq(p, h), "half padding p = h = floor(k/2)"),
    "p=k-1": (_eq(p, k - 1), "full padding p = k - 1"),
    "p'=k-1": (_eq(padded, k - 1), "p' = k - 1"),
    "p'=k-p-1": (_eq(padded, k - p - 1), "p' = k - p - 1"),
    "p'=h": (_eq(padded, h), "p' = p = h"), "p'=0": (_eq(padded, 0), "p' = 0"),
}


@dataclass
class Relation:
    """A relationship: its conditions, its formula and, for 8-14, the equivalent direct conv."""

    number: int
    conditions: tuple[str, ...]
    formula: Expr
    direct: tuple[str, ...] = ()   # the conditions on the direct conv's padding p'
    stretched: bool = False        # the direct conv reads the input stretched by s
    extra: Expr = 0                # zeros added at the end of the stretched input


def _specialise(expr: Expr, conditions) -> Expr:
    for name in conditions:
        equation, _ = HYPOTHESES[name]
        expr = substitute(expr, {equation.lhs: equation.rhs})
    return expr


def _with_hypotheses(proof: Derivation, conditions) -> Derivation:
    """One step per condition, each substituting its symbol."""
    for name in conditions:
        equation, why = HYPOTHESES[name]
        proof.by("hypothesis", substitute(proof.end, {equation.lhs: equation.rhs}), why,
                 equation=equation)
    return proof


def _claim(name: str, lhs: Expr, rhs: Expr, conditions, text: str) -> Claim:
    hypotheses = tuple(HYPOTHESES[c][0] for c in conditions)
    return THEOREM.export(Claim(name, lhs, rhs, hypotheses=hypotheses, text=text))


# --------------------------------------------------------------------------------------------
# Relations 1-7 and 15: the number of window positions
# --------------------------------------------------------------------------------------------

positions = substitute(kernel_fits(st) * window_positions(st), symmetric)
fits = substitute(kernel_fits(st), symmetric)
pooled = PoolSpec((k,), stride=(s,)).output_size((n,))[0]

FORWARD = [
    Relation(1, ("d=1", "s=1", "p=0"), (n - k) + 1),
    Relation(2, ("d=1", "s=1"), (n - k) + 2 * p + 1),
    Relation(3, ("d=1", "s=1", "k odd", "p=h"), n),
    Relation(4, ("d=1", "s=1", "p=k-1"), n + (k - 1)),
    Relation(5, ("d=1", "p=0"), sympy.floor((n - k) / s) + 1),
    Relation(6, ("d=1",), sympy.floor((n + 2 * p - k) / s) + 1),
    Relation(7, ("d=1", "p=0"), pooled),
    Relation(15, (), sympy.floor((n + 2 * p - k - (k - 1) * (d - 1)) / s) + 1),
]


def _decided(bracket: Expr) -> bool:
    """The kernel-fits bracket holds whatever the sizes under the relation's conditions."""
    return bracket == 1 or provably_nonneg(bracket.args[0])


def _forward_claim(relation: Relation) -> Claim:
    """#positions = [fits]·formula (the bracket left out where the conditions decide it)."""
    bracket = _specialise(fits, relation.conditions)
    rhs = relation.formula if _decided(bracket) else bracket * relation.formula
    return _claim(f"relation {relation.number}", positions, rhs, relation.conditions,
                  f"Dumoulin & Visin, relationship {relation.number}")


FORWARD_CLAIMS = [_forward_claim(relation) for relation in FORWARD]


@THEOREM.evidence
def forward_relations():
    evidence = []
    for relation, claim in zip(FORWARD, FORWARD_CLAIMS):
        proof = Derivation(claim.lhs, f"relationship {relation.number}").by(
            "known result", substitute(kernel_fits(st) * st.out, symmetric),
            "output-size: the windows number floor((n + p + q - d(k - 1) - 1)/s) + 1",
            theorem="output-size", claim="window positions", instance=symmetric,
            context=lambda e: e)
        _with_hypotheses(proof, relation.conditions)
        bracket = _specialise(fits, relation.conditions)
        if bracket != 1 and _decided(bracket):
            proof.by("decide brackets", proof.end.xreplace({bracket: 1}),
                     "under these conditions the kernel always fits")
        proof.by("algebra", claim.rhs, "collect the terms")
        evidence.append(universal(claim, proof))
    return evidence


# --------------------------------------------------------------------------------------------
# Relations 8-14: the transposed convolution and the direct conv it equals
# --------------------------------------------------------------------------------------------

# D&V's transposed relations have no dilation: the library's transposed size with d = 1
undilated = ConvSpec(1, 1, (k,), stride=(s,), padding=((p, p),), output_padding=(a,))
transposed = undilated.transposed_output_size((m,))[0]
stretched = (m - 1) * s + 1

TRANSPOSED = [
    Relation(8, ("s=1", "p=0", "a=0"), m + (k - 1), direct=("p'=k-1",)),
    Relation(9, ("s=1", "a=0"), m + (k - 1) - 2 * p, direct=("p'=k-p-1",)),
    Relation(10, ("s=1", "a=0", "k odd", "p=h"), m, direct=("k odd", "p'=h")),
    Relation(11, ("s=1", "a=0", "p=k-1"), m - (k - 1), direct=("p'=0",)),
    Relation(12, ("p=0", "a=0"), s * (m - 1) + k, direct=("p'=k-1",), stretched=True),
    Relation(13, ("a=0",), s * (m - 1) + k - 2 * p, direct=("p'=k-p-1",), stretched=True),
    Relation(14, (), s * (m - 1) + a + k - 2 * p, direct=("p'=k-p-1",), stretched=True,
             extra=a),
]


def direct_size(relation: Relation) -> Expr:
    """The output size of the direct conv: k' = k, s' = 1, padding (p', p' + extra)."""
    spec = ConvSpec(1, 1, (k,), stride=1, padding=((padded, padded + relation.extra),))
    return spec.output_size((stretched if relation.stretched else m,))[0]


TRANSPOSED_CLAIMS = [
    (_claim(f"relation {r.number}", transposed, r.formula, r.conditions,
            f"Dumoulin & Visin, relationship {r.number}: the transposed convolution"),
     _claim(f"relation {r.number}, direct", direct_size(r), r.formula, r.direct,
            f"relationship {r.number}: the direct convolution of the same size"))
    for r in TRANSPOSED
]

unused = substitute(st.unused, symmetric)   # (i + 2p - d(k - 1) - 1) mod s
RESTORE = THEOREM.export(Claim(
    "relation 14, restored", substitute(st.transposed_size, {**symmetric, a: unused}), n,
    text="with a = (i + 2p - d(k - 1) - 1) mod s, (i + 2p - k) mod s for d = 1, the "
         "transposed conv of o(i) positions has i positions",
))


@THEOREM.evidence
def transposed_relations():
    evidence = []
    for relation, (claim, direct) in zip(TRANSPOSED, TRANSPOSED_CLAIMS):
        for made, conditions, what in ((claim, relation.conditions, "the transposed conv"),
                                       (direct, relation.direct, "the direct conv")):
            proof = _with_hypotheses(
                Derivation(made.lhs, f"relationship {relation.number}: {what}"), conditions)
            proof.by("algebra", made.rhs, "collect the terms")
            evidence.append(universal(made, proof))
    return evidence


@THEOREM.evidence
def restored():
    proof = Derivation(RESTORE.lhs, "relationship 14 restores the input size").by(
        "known result", n, "transposed-output-size: a = X mod s gives back n",
        theorem="transposed-output-size", claim="restores the input size",
        instance={**symmetric, a: unused}, context=lambda e: e)
    return universal(RESTORE, proof)


def grid() -> list:
    """Symmetric paddings, strides 1-3, dilations 1-2, where the kernel fits."""
    axes = [(5, 3, 1, 1, 1), (6, 2, 2, 1, 0), (7, 3, 3, 1, 2), (5, 2, 1, 2, 1), (8, 3, 2, 2, 2),
            (4, 1, 3, 2, 0), (9, 4, 3, 1, 1), (6, 3, 2, 1, 1)]
    return [axis_point(st, size, kk, ss, dd, pp, pp) for size, kk, ss, dd, pp in axes]


@THEOREM.evidence
def certificates():
    return [certified(FORWARD_CLAIMS[-1], grid(), "relationship 15, exact on a grid"),
            certified(RESTORE, grid(), "relationship 14 restores i, exact on a grid")]


@THEOREM.mutant("relationship 14 without the extra zeros: a = 0 restores the input size")
def without_extra_zeros():
    claim = Claim("restored", substitute(st.transposed_size, {**symmetric, a: 0}), n)
    return certified(claim, grid())


@THEOREM.mutant("relationship 9 with p' = k - p (one pixel too many)")
def padding_off_by_one():
    claim = Claim("direct", direct_size(TRANSPOSED[1]), TRANSPOSED[1].formula,
                  hypotheses=(_eq(padded, k - p),))
    points = [axis_point(st, 5, kk, 1, 1, pp, pp, more={m: size})
              for kk, pp, size in ((3, 1, 4), (4, 2, 2), (2, 0, 3))]
    return certified(claim, points)


@THEOREM.mutant("relationship 3 for an even kernel k = 2h: the output keeps i positions")
def even_half_padding():
    claim = Claim("relation 3", positions, n, hypotheses=(
        _eq(d, 1), _eq(s, 1), _eq(k, 2 * h), _eq(p, h)))
    points = [axis_point(st, size, 2 * half, 1, 1, half, half, more={h: half})
              for size, half in ((5, 1), (6, 2))]
    return certified(claim, points)


prove = THEOREM.prove
render = THEOREM.render
