"""The index expressions the kernels print, fetched from the theorems that prove them.

Each kernel asks for its expressions here at emission time, so a changed theorem changes the
kernel.  The theorems state them with multi-index symbols (s, d, p, k, i, j, m: elements of
Z^D); a kernel prints them once per spatial axis, each symbol replaced by its value along that
axis: a static integer (stride, dilation, padding, kernel size) or a C variable (i0, m1, ...).

    banded-matrix      input_index       s·i + d·m - p       the forward read position
    grad-weight        input_index       s·i + d·m - p       the weight gradient's read position
    flip-equivalence   flipped_tap       k - 1 - m           the tap of the flipped kernel
    grad-input-flip    gather_numerator  j + p - d·m         s·i for the output i that tap m of
                       gather_index      (j + p - d·m)/s     input j reaches, if [s | j + p - d·m]
    padding-adjoint    <mode>_source     pi(t)               the pixel that padded position t
                                                             copies (reflect, replicate, circular)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr

from ..symbolic import ProofError, load

PADDING_THEOREM = "padding-adjoint"


@dataclass(frozen=True)
class Derived:
    """An expression and where it comes from (a theorem id and its key, or a module)."""

    source: str
    key: str
    expr: Expr

    def line(self) -> str:
        """One line of the provenance comment at the top of a kernel (a matrix by rows)."""
        expr = self.expr.tolist() if isinstance(self.expr, sympy.MatrixBase) else self.expr
        return f"{self.source:18s} {self.key:17s} {sympy.sstr(expr)}"


def theorem_expression(theorem_id: str, key: str) -> Derived:
    """THEOREM.expressions[key] of a catalog theorem."""
    expressions = load(theorem_id).expressions
    if key not in expressions:
        raise ProofError(f"theorem {theorem_id} exports no expression {key!r} "
                         f"(it exports {sorted(expressions)})")
    return Derived(theorem_id, key, expressions[key])


def forward_read() -> Derived:
    """j = s·i + d·m - p: the input position that tap m of output i reads (conv and pooling)."""
    return theorem_expression("banded-matrix", "input_index")


def weight_read() -> Derived:
    """s·i + d·m - p as the weight gradient reads it."""
    return theorem_expression("grad-weight", "input_index")


def flipped_tap() -> Derived:
    """k - 1 - m."""
    return theorem_expression("flip-equivalence", "flipped_tap")


def gather_numerator() -> Derived:
    """j + p - d·m."""
    return theorem_expression("grad-input-flip", "gather_numerator")


def gather_index() -> Derived:
    """(j + p - d·m)/s, an integer under the bracket [s | j + p - d·m]."""
    return theorem_expression("grad-input-flip", "gather_index")


WINOGRAD_THEOREM = "winograd-transform"


def winograd_transforms(m: int, r: int = 3) -> tuple[Derived, Derived, Derived]:
    """Aᵀ (m x n), G (n x r) and Bᵀ (n x n) of F(m, r), n = m + r - 1, exact, at the points
    the winograd-transform theorem proves for the numeric paths (``points_for``)."""
    from ..symbolic.winograd import points_for, toom_cook

    made = toom_cook(m, r, points_for(m, r))
    return tuple(Derived(WINOGRAD_THEOREM, f"{name} of F({m}, {r})", matrix)
                 for name, matrix in (("AT", made.AT), ("G", made.G), ("BT", made.BT)))


def padding_source(mode: str) -> Derived:
    """pi(t) of a padding mode, in the multi-index symbols t (position) and n (input size)."""
    exported = load(PADDING_THEOREM).expressions
    key = f"{mode}_source"
    if key not in exported:
        modes = sorted(name.removesuffix("_source") for name in exported
                       if name.endswith("_source"))
        raise ValueError(f"padding mode {mode!r} has no source map; expected one of {modes}")
    return Derived(PADDING_THEOREM, key, exported[key])


def per_axis(expr: Expr, **values: int | Expr) -> Expr:
    """``expr`` along one axis: every symbol replaced by ``values[name]``.

    A symbol without a value is an error: the kernel would print a name it never declares.
    """
    unbound = sorted(s.name for s in expr.free_symbols if s.name not in values)
    if unbound:
        raise ValueError(f"the expression {expr} uses {', '.join(unbound)}, which the kernel "
                         f"does not bind (it binds {', '.join(sorted(values))})")
    return expr.xreplace({s: sympy.sympify(values[s.name]) for s in expr.free_symbols})


def variable(name: str, axis: int | None = None) -> sympy.Symbol:
    """The C variable ``name`` (``name{axis}`` along an axis), an integer symbol."""
    return sympy.Symbol(name if axis is None else f"{name}{axis}", integer=True)


__all__ = ["Derived", "forward_read", "weight_read", "flipped_tap", "gather_numerator",
           "gather_index", "padding_source", "per_axis", "theorem_expression", "variable",
           "winograd_transforms"]
