"""Pooling windows as defined signals, and witnesses evaluated with exact maxima.

For a signal y on Z (entries y[j]) and a window of a concrete width k, stride s, offset p:

    maxpool(y)[i] = max(y[s·i - p], y[s·i + 1 - p], ..., y[s·i + k - 1 - p])
    relu(y)[i]    = max(0, y[i])

A max is not linear: the normal form keeps Maximum(...) as an opaque atom (two sides agree
only where their arguments agree), and on numbers it is the exact max of rationals.  A witness
against a claim with maxima is evaluated by :func:`exact_sides`: the sides are expanded by the
exact evaluator with symbolic entries, then every Maximum is computed from the values of its
arguments (Fractions, never floats).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import sympy

from .certificates import Point, check_witness, sides_at, witness_value
from .evaluate import Poly, entry_name
from .language import Signal
from .normal import ProofError
from .proof import Claim, Evidence
from .rules import unfold_all


class Maximum(sympy.Function):
    """max(a, b, ...): exact on rational numbers, unevaluated otherwise."""

    @classmethod
    def eval(cls, *args):
        if args and all(a.is_Rational for a in args):
            return max(args)
        return None

    def _latex(self, printer) -> str:
        return r"\max\left(" + ", ".join(printer._print(a) for a in self.args) + r"\right)"


def max_pool(y: Signal, width: int, stride: Any = 1, offset: Any = 0,
             name: str | None = None) -> Signal:
    """maxpool(y)[i] = max_{0 ≤ m < width} y[s·i + m - p]."""
    latex = rf"\operatorname{{maxpool}}({y.latex})"
    return Signal(name or f"maxpool({y.name})", latex, lambda i_: Maximum(
        *(y[stride * i_ + m - offset] for m in range(width))), arity=1)


def relu(y: Signal, name: str | None = None) -> Signal:
    """relu(y)[i] = max(0, y[i])."""
    return Signal(name or f"relu({y.name})", rf"\operatorname{{relu}}({y.latex})",
                  lambda i_: Maximum(0, y[i_]), arity=1)


# --------------------------------------------------------------------------------------------
# Exact values of witnesses with maxima
# --------------------------------------------------------------------------------------------

def _value(poly: Poly, entries: dict[str, dict]) -> Fraction:
    """A polynomial in entries at concrete entries (missing entries are 0); a factor
    ("Maximum", arguments) is the max of its arguments' values.  Any other function is
    refused: it is not an entry, and counting it as a missing one (0) gave wrong witnesses."""
    total = Fraction(0)
    for monomial, coeff in poly.items():
        term = Fraction(coeff)
        for name, index in monomial:
            if name == Maximum.__name__:
                term *= max(_value(dict(argument), entries) for argument in index)
            elif isinstance(index, tuple) and any(isinstance(i, tuple) for i in index):
                raise ProofError(f"cannot evaluate the function {name} in a witness with maxima")
            else:
                term *= witness_value(entries.get(name, {}).get(index, 0), name, index)
        total += term
    return total


def _by_index(poly: Poly) -> dict[tuple, Poly]:
    """Split a side by the marker of its free indices (the certificates' @at entry)."""
    split: dict[tuple, Poly] = {}
    for monomial, coeff in poly.items():
        at = tuple(index for name, index in monomial if name == "@at")
        rest = tuple(factor for factor in monomial if factor[0] != "@at")
        split.setdefault(at[0] if at else (), {})[rest] = coeff
    return split


def _refuse_other_maxima(claim: Claim) -> None:
    """Only this module's Maximum is read as a max: the evaluator keys a function and a signal
    by its printed name, so another function or a signal printed "Maximum" would be one."""
    for side in (claim.lhs, claim.rhs):
        side = unfold_all(side)
        named = {str(f.func) for f in side.atoms(sympy.Function) if f.func is not Maximum}
        named |= {entry_name(entry.base.label) for entry in side.atoms(sympy.Indexed)}
        if Maximum.__name__ in named:
            raise ProofError(f"{side} holds a function or a signal named {Maximum.__name__} "
                             "that is not the max of operators_pool: give it another name")


def exact_sides(claim: Claim, point: Point, entries: dict[str, dict]) -> dict[tuple, tuple]:
    """index -> (left value, right value) of the claim at the point with these entries."""
    _refuse_other_maxima(claim)
    check_witness(claim, entries)
    left, right, problems = sides_at(claim, point)
    if problems:
        raise ProofError("; ".join(problems))
    left_at, right_at = _by_index(left), _by_index(right)
    return {at: (_value(left_at.get(at, {}), entries), _value(right_at.get(at, {}), entries))
            for at in sorted(set(left_at) | set(right_at))}


def refuted_with_maxima(claim: Claim, point: Point, entries: dict[str, dict], title: str = "",
                        expect: dict[tuple, tuple] | None = None) -> Evidence:
    """A refutation of a claim whose sides hold maxima: some index has different values.
    With ``expect`` (index -> (left, right)) the values must also be exactly those."""
    started = time.perf_counter()
    values = exact_sides(claim, point, entries)
    differences = {at: pair for at, pair in values.items() if pair[0] != pair[1]}
    problems = [] if differences else ["the witness does not refute the claim"]
    for at, pair in (expect or {}).items():
        if values.get(at, (Fraction(0), Fraction(0))) != tuple(map(Fraction, pair)):
            problems.append(f"at index {at} the sides are {values.get(at)}, expected {pair}")
    shown = ", ".join(f"{at}: {a} against {b}" for at, (a, b) in differences.items())
    message = "; ".join(problems) or (f"counterexample at {point.describe()}: differs at "
                                      f"{len(differences)} of {len(values)} indices ({shown})")
    return Evidence("refuted", title or claim.name, not problems, message,
                    time.perf_counter() - started, claim, grid=[point],
                    witness={"entries": entries, "differences": differences, "values": values})


__all__ = ["Maximum", "max_pool", "relu", "exact_sides", "refuted_with_maxima"]
