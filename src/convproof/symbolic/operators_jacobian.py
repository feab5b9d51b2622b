"""Exact entries of an operator at concrete sizes: compiled once, evaluated at many points.

    entries(point)[index] = the value of expr at that index, a polynomial in the signal
    entries {monomial: coefficient}, for every index tuple in the boxes.

With expr = ∂F(u)[out]/∂u[in] (a :class:`Partial`, computed by the rule "differentiate") the
entries are the Jacobian matrix of F, J[out, in], with symbolic weights.
"""

from __future__ import annotations

from sympy import Expr

from .certificates import Point
from .evaluate import Instance, Poly
from .language import Signal, product, zsum
from .rules import differentiate, unfold_all

_AT = Signal("@entry")


class Entries:
    """Σ_{indices} [boxes]·expr·@entry[indices], compiled for the dims of ``first``."""

    def __init__(self, expr: Expr, indices: dict, first: Point):
        variables = tuple(indices)
        marked = differentiate(unfold_all(expr))[0] * product(indices.values()) * _AT[variables]
        self.dims = first.dims
        self.instance = Instance(zsum(marked, *variables), list(first.values), first.dims,
                                 first.values)

    def __call__(self, point: Point) -> dict[tuple, Poly]:
        if point.dims != self.dims:
            raise ValueError(f"compiled for {self.dims} dims, the point has {point.dims}")
        entries: dict[tuple, Poly] = {}
        for monomial, coefficient in self.instance(point.values).items():
            at = next(index for name, index in monomial if name == _AT.name)
            rest = tuple(key for key in monomial if key[0] != _AT.name)
            entries.setdefault(at, {})[rest] = coefficient
        return entries


def substituted(poly: Poly, values: dict[str, dict]) -> Poly:
    """The polynomial with the entries of the named signals replaced by their values (an index
    a table does not list is 0), the other entries kept symbolic."""
    result: Poly = {}
    for monomial, coefficient in poly.items():
        kept, factor = [], coefficient
        for name, index in monomial:
            if name in values:
                factor *= values[name].get(index, 0)
            else:
                kept.append((name, index))
        if factor:
            key = tuple(kept)
            result[key] = result.get(key, 0) + factor
    return {key: value for key, value in result.items() if value}


__all__ = ["Entries", "substituted"]
