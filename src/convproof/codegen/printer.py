"""CudaPrinter: SymPy's C99 printer in the dialect of the generated kernels.

The kernels print the index expressions that the theorems export (s·i + d·m - p, j + p - d·m,
(j + p - d·m)/s, the padding maps) and the Iverson brackets that guard them.  Integer
expressions follow the rules of the proofs, not C's:

    floor(a/b), a/b      cp_floordiv(a, b)   mathematical floor (C's / truncates toward zero);
                         a quotient a/b only occurs under a bracket [b | a], where it is exact
    ceiling(a/b)         cp_ceildiv(a, b)    (floor and ceiling of one quotient or of an integer;
                                             of anything else, and a fraction alone, refused)
    Mod(a, b)            cp_mod(a, b)        the result has the sign of b (C's % is a remainder)
    Abs, Min, Max        cp_abs, cp_min, cp_max
    a**3                 (a*a*a)             integer powers multiply (C's pow is a double)
    l < r, l = r, ...    (L < R), (L == R)   l - r over one positive denominator: its numerator
                                             R - L, the negative terms moved to the left side
    [e >= 0], [e = 0]    (l <= r), (l == r)  with the negative terms of e moved to the left side
    [s | e]              (cp_mod(e, s) == 0)
    a product of brackets    the conjunction ((c1) && (c2) && ...)

A sum with a quotient term prints over one denominator, a + (b - cp_mod(b, n))/n as
cp_floordiv(a*n + b - cp_mod(b, n), n): the numerator must fit the index type, as the indices
a kernel computes do.  Every index variable of a kernel is ``long long`` (64-bit), or ``int``
throughout in its 32-bit variant (:func:`~.skeleton.narrow_indices`), so every printed index
expression is evaluated in that width (the helpers are templates over it).  Real expressions
(the activation epilogue) print their literals in the kernel's float type: ``0.0f`` for float,
``0.0`` for double.
"""

from __future__ import annotations

import sympy
from sympy import Add, Expr, Mul
from sympy.printing.c import C99CodePrinter

from ..symbolic.language import Bracket, Divides, EqZero, NonNeg

PRELUDE = r"""#ifndef CONVPROOF_PRELUDE
#define CONVPROOF_PRELUDE
// Integer functions with the semantics of the proofs (C's / truncates and % is a remainder):
// floor division, ceiling division and a modulo whose result has the sign of the divisor.
// Templates over the operands' types: a kernel's indices are int or long long throughout,
// its literals int, and the result has the type of a / b.
template <typename A, typename B>
__device__ __forceinline__ auto cp_floordiv(A a, B b) -> decltype(a / b) {
    const auto q = a / b;
    return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}
template <typename A, typename B>
__device__ __forceinline__ auto cp_ceildiv(A a, B b) -> decltype(a / b) {
    return -cp_floordiv(-a, b);
}
template <typename A, typename B>
__device__ __forceinline__ auto cp_mod(A a, B b) -> decltype(a % b) {
    const auto r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
template <typename A>
__device__ __forceinline__ A cp_abs(A a) { return a < 0 ? -a : a; }
template <typename A, typename B>
__device__ __forceinline__ auto cp_min(A a, B b) -> decltype(a + b) { return a < b ? a : b; }
template <typename A, typename B>
__device__ __forceinline__ auto cp_max(A a, B b) -> decltype(a + b) { return a > b ? a : b; }
#endif
"""

REAL_TYPES = ("float", "double")


def _sides(e: Expr) -> tuple[Expr, Expr]:
    """e as left and right with e = right - left: the terms with a minus sign go left."""
    left = Add(*(-term for term in Add.make_args(sympy.expand(e))
                 if term.could_extract_minus_sign()))
    return left, sympy.expand(e + left)


class CudaPrinter(C99CodePrinter):
    """Integer index arithmetic in the kernel's index type with floor semantics; brackets as C
    conditions.

    ``real`` ("float" or "double") is the float type of the kernel: real literals print as
    ``1.0f`` or ``1.0`` and real Abs/Min/Max as fabsf/fminf/fmaxf or fabs/fmin/fmax.
    """

    printmethod = "_cudacode"
    language = "CUDA"
    _default_settings = {**C99CodePrinter._default_settings, "real": "float"}

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__(settings or {})
        if self._settings["real"] not in REAL_TYPES:
            raise ValueError(f"real must be one of {REAL_TYPES}, got {self._settings['real']!r}")

    # -- entry points -------------------------------------------------------------------------
    def index(self, expr: Expr) -> str:
        """An integer index expression (every symbol an integer)."""
        return self.doprint(sympy.sympify(expr))

    def condition(self, expr: Expr) -> str:
        """A product of Iverson brackets as a C condition; "true" for the empty product."""
        expr = sympy.sympify(expr)
        if expr == 1:
            return "true"
        return " && ".join(self._print(factor) for factor in Mul.make_args(expr))

    def real(self, expr: Expr) -> str:
        """A real expression, its numbers printed as literals of the kernel's float type."""
        expr = sympy.sympify(expr)
        return self.doprint(expr.xreplace({n: sympy.Float(n) for n in expr.atoms(sympy.Number)}))

    # -- numbers --------------------------------------------------------------------------------
    @property
    def _is_float(self) -> bool:
        return self._settings["real"] == "float"

    def _print_Float(self, expr: sympy.Float) -> str:
        text = repr(float(expr))
        return f"{text}f" if self._is_float else text

    # -- integer arithmetic ---------------------------------------------------------------------
    def _integer(self, expr: Expr) -> bool:
        return all(symbol.is_integer for symbol in expr.free_symbols)

    def _quotient(self, expr: Expr, function: str) -> str | None:
        """num/den with den != 1 as function(num, den); None without a denominator."""
        numerator, denominator = sympy.fraction(sympy.together(expr))
        if denominator == 1:
            return None
        return f"{function}({self._print(numerator)}, {self._print(denominator)})"

    def _print_Add(self, expr: Add, order: str | None = None) -> str:
        if self._integer(expr):
            quotient = self._quotient(expr, "cp_floordiv")
            if quotient is not None:
                return quotient
        return super()._print_Add(expr, order)

    def _print_Mul(self, expr: Mul) -> str:
        if all(isinstance(factor, Bracket) for factor in expr.args):
            return f"({' && '.join(self._print(factor) for factor in expr.args)})"
        if self._integer(expr):
            quotient = self._quotient(expr, "cp_floordiv")
            if quotient is not None:
                return quotient
        return super()._print_Mul(expr)

    def _print_Pow(self, expr: sympy.Pow) -> str:
        """An integer power as a product, a negative one as the floor of its quotient."""
        if not self._integer(expr):
            return super()._print_Pow(expr)
        base, exponent = expr.args
        if exponent.is_Integer and exponent > 0:
            return f"({'*'.join([self.parenthesize(base, 50)] * int(exponent))})"
        return self._quotient(expr, "cp_floordiv") or super()._print_Pow(expr)

    def _print_Relational(self, expr: sympy.core.relational.Relational) -> str:
        """An integer comparison l op r as R op L, with R - L the numerator of l - r over one
        positive denominator (a fraction's floor would not compare the same)."""
        if not self._integer(expr.lhs - expr.rhs):
            return super()._print_Relational(expr)
        numerator, denominator = sympy.fraction(sympy.together(expr.lhs - expr.rhs))
        if not denominator.is_positive:
            if expr.rel_op not in ("==", "!=") or not denominator.is_nonzero:
                raise ValueError(f"cannot print {expr}: the sign of its denominator "
                                 f"{denominator} is not known")
        left, right = _sides(numerator)
        return f"({self._print(right)} {expr.rel_op} {self._print(left)})"

    def _print_floor(self, expr: Expr) -> str:
        return self._rounded(expr, "cp_floordiv")

    def _print_ceiling(self, expr: Expr) -> str:
        return self._rounded(expr, "cp_ceildiv")

    def _rounded(self, expr: Expr, function: str) -> str:
        """floor or ceiling of one quotient, or of an integer; ceiling(max(a/7, b/2)) would
        print the floors of the fractions inside (a quotient outside a floor is exact)."""
        (argument,) = expr.args
        quotient = self._quotient(argument, function)
        if quotient is not None:
            return quotient
        if argument.is_integer:
            return self._print(argument)
        raise ValueError(f"cannot print {expr}: its argument is neither one quotient nor an "
                         "integer")

    def _print_Rational(self, expr: sympy.Rational) -> str:
        """An integer; a fraction alone (max(1/5, a)) would print as a double."""
        if expr.q != 1:
            raise ValueError(f"cannot print the fraction {expr} in integer arithmetic: a "
                             "quotient prints as the floor division of a sum over it")
        return super()._print_Rational(expr)

    def _print_Mod(self, expr: sympy.Mod) -> str:
        a, b = expr.args
        return f"cp_mod({self._print(a)}, {self._print(b)})"

    def _nested(self, function: str, args: tuple[Expr, ...]) -> str:
        first, *rest = args
        return self._print(first) if not rest else (
            f"{function}({self._print(first)}, {self._nested(function, tuple(rest))})")

    def _print_Abs(self, expr: sympy.Abs) -> str:
        if self._integer(expr):
            return f"cp_abs({self._print(expr.args[0])})"
        return f"{'fabsf' if self._is_float else 'fabs'}({self._print(expr.args[0])})"

    def _print_Min(self, expr: sympy.Min) -> str:
        function = "cp_min" if self._integer(expr) else ("fminf" if self._is_float else "fmin")
        return self._nested(function, expr.args)

    def _print_Max(self, expr: sympy.Max) -> str:
        function = "cp_max" if self._integer(expr) else ("fmaxf" if self._is_float else "fmax")
        return self._nested(function, expr.args)

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        """(c1) ? (e1) : ((c2) ? (e2) : ...), the last piece's condition being True."""
        *pieces, (last, _) = expr.args
        text = self._print(last)
        for value, cond in reversed(pieces):
            text = f"(({self._print(cond)}) ? ({self._print(value)}) : ({text}))"
        return text

    # -- Iverson brackets -----------------------------------------------------------------------
    def _print_NonNeg(self, expr: NonNeg) -> str:
        """[e >= 0]; with a denominator as 0 <= floor(e), which holds exactly when e >= 0."""
        e = expr.args[0]
        if sympy.fraction(sympy.together(e))[1] != 1:
            return f"(0 <= {self._print(e)})"
        left, right = _sides(e)
        return f"({self._print(left)} <= {self._print(right)})"

    def _print_EqZero(self, expr: EqZero) -> str:
        """[e = 0]; with a denominator, [numerator = 0]."""
        left, right = _sides(sympy.fraction(sympy.together(expr.args[0]))[0])
        return f"({self._print(left)} == {self._print(right)})"

    def _print_Divides(self, expr: Divides) -> str:
        s, e = expr.args
        return f"(cp_mod({self._print(e)}, {self._print(s)}) == 0)"


def printer(real: str) -> CudaPrinter:
    """The printer of a kernel whose float type is ``real`` ("float" or "double")."""
    return CudaPrinter({"real": real})


__all__ = ["CudaPrinter", "PRELUDE", "REAL_TYPES", "printer"]
